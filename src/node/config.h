/* evoted's configuration file: what one validator needs to know about
 * itself (the chain is fixed by the genesis file it names).
 *
 *   # evoted configuration
 *   name = commission                  # this validator's name in the genesis
 *   genesis = genesis.txt              # relative paths: relative to this file
 *   key = commission.key               # Schnorr secret key, mode 0600
 *   curve_key = commission.curve       # CURVE secret key, mode 0600
 *   data_dir = data/commission         # the LMDB chain store
 *   peer_listen = tcp://0.0.0.0:7101   # default: this validator's genesis endpoint
 *   client_listen = tcp://127.0.0.1:7201
 *   client_curve_listen = tcp://0.0.0.0:7301  # the client API again, CURVE-encrypted with
 *                                      # the validator's CURVE key (README, "The
 *                                      # client"); absent or empty: none
 *   log_level = info                   # error | warn | info | debug
 *   mempool_capacity = 20000
 *   mempool_max_mb = 64                # MiB of transactions held at most
 *   verify_threads = 0                 # signature/proof checking threads; 0: one per core
 *   view_change_timeout_ms = 1000
 *   idle_checkpoint_ms = 1000          # as primary, certify a quiet chain's tail
 *                                      # with one empty block after this long
 *                                      # (0: never; README, "Consensus")
 *   http_listen = 127.0.0.1:9100       # /healthz and /metrics (README, "Health and
 *                                      # metrics"); IP:port, [IPv6]:port; absent or
 *                                      # empty: no HTTP server
 */
#ifndef EVOTE_NODE_CONFIG_H
#define EVOTE_NODE_CONFIG_H

#include <stdint.h>
#include <sys/socket.h>

#include "crypto.h"

#define CONFIG_MAX_PATH 4096
#define CONFIG_MAX_ENDPOINT 256

typedef enum { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level;

typedef struct {
    char name[65];
    char genesis[CONFIG_MAX_PATH];
    char key[CONFIG_MAX_PATH];
    char curve_key[CONFIG_MAX_PATH];
    char data_dir[CONFIG_MAX_PATH];
    char peer_listen[CONFIG_MAX_ENDPOINT];   /* "" = the genesis endpoint */
    char client_listen[CONFIG_MAX_ENDPOINT];
    char client_curve_listen[CONFIG_MAX_ENDPOINT]; /* "" = no CURVE client endpoint */
    log_level log_level;
    uint32_t mempool_capacity;
    uint32_t mempool_max_mb;                 /* transaction bytes the mempool holds at most, MiB */
    uint32_t verify_threads;                 /* mempool workers; 0 = one per online core */
    uint32_t view_change_timeout_ms;
    uint32_t idle_checkpoint_ms;             /* 0 = no idle checkpoint */
    char http_listen[CONFIG_MAX_ENDPOINT];   /* "" = no HTTP server */
    uint32_t client_read_rate;               /* read units per second per client address (ratelimit.h;
                                                a burst of twice that); 0 = no limit */
    uint32_t client_refusal_rate;            /* refused transactions per second per client address
                                                before its submissions are answered busy unchecked
                                                (a burst of twice that); 0 = no limit */
} node_config;

#define CONFIG_DEFAULT_CLIENT_READ_RATE 200
#define CONFIG_DEFAULT_CLIENT_REFUSAL_RATE 50

typedef enum {
    CONFIG_OK = 0,
    CONFIG_ERR_READ,     /* cannot read the file */
    CONFIG_ERR_SYNTAX,   /* a line is not "key = value", or a value is out of range */
    CONFIG_ERR_UNKNOWN,  /* unknown key (a typo would otherwise be ignored) */
    CONFIG_ERR_MISSING,  /* a required key is absent */
} config_err;

typedef struct {
    unsigned line;
    char reason[200];
} config_error;

const char *config_strerror(config_err err);

/* Parses the configuration file at path; relative paths inside it are made
 * relative to the file's directory. Required: name, genesis, key, curve_key,
 * data_dir. Out: *out; *why (may be NULL) names the line and reason. */
EVOTE_WARN_UNUSED config_err node_config_load(const char *path, node_config *out, config_error *why);

/* Parses an http_listen value: an IPv4 address and a port ("127.0.0.1:9100",
 * "0.0.0.0:9100") or a bracketed IPv6 address and a port ("[::1]:9100").
 * Host names are refused (the address must not depend on a resolver).
 * Out: *addr, *addr_len (may be NULL). Returns: 1 on success. */
int config_http_address(const char *s, struct sockaddr_storage *addr, socklen_t *addr_len);

/* Parses a log level name. Returns: 1 on success. */
int log_level_parse(const char *s, log_level *out);

#endif
