/* What the commands of the evote CLI share: exit codes and the commands that
 * live in their own files (each registered in evote.c's command table). */
#ifndef EVOTE_CLI_H
#define EVOTE_CLI_H

#include <stddef.h>
#include <stdint.h>

#define EXIT_FAILED 1 /* the operation failed */
#define EXIT_USAGE 2  /* the command line is wrong */

/* Returns: 1 when argv has --help or -h. */
int cli_wants_help(int argc, char **argv);

/* evote genesis: keys, configs and genesis file of a local test cluster. */
int cmd_genesis(int argc, char **argv);
/* Returns: 1 when s is a host name, an IPv4 address or a bracketed IPv6
 * address peers can connect to (not 0.0.0.0), else 0. */
int cli_host_ok(const char *s);

/* The genesis ceremony (cmd_ceremony.c). */
/* Pure: from the text of a public-key list (see README, "The genesis
 * ceremony") and an optional --chain-name, the genesis text. Checks every
 * field. Returns: 0 with *genesis_out (malloc'ed), or EXIT_FAILED with err
 * ("line N: what is wrong and what to do"). */
int cli_ceremony_assemble(const char *text, size_t len, const char *chain_name, char **genesis_out, char *err,
                          size_t errsize);
/* Assembles list_path ("-" = stdin) into a new file out_path, then prints it
 * as cli_genesis_show does. Returns: 0 or EXIT_FAILED after saying why. */
int cli_genesis_from_public_keys(const char *list_path, const char *out_path, const char *chain_name);
/* Prints a genesis file's chain id and members. Returns: 0 or EXIT_FAILED. */
int cli_genesis_show(const char *path);
/* evote keygen --curve --out FILE / evote pubkey --curve --key FILE.
 * Returns: 0 or EXIT_FAILED after saying why. */
int cli_curve_keygen(const char *out);
int cli_curve_pubkey(const char *path);

/* The client commands (cmd_client.c): each asks a validator's client
 * endpoint (client_listen) over ZeroMQ, one ApiRequest, one ApiResponse. */
int cmd_status(int argc, char **argv);
int cmd_tip(int argc, char **argv);
int cmd_block(int argc, char **argv);
int cmd_tx(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_notice(int argc, char **argv);

/* ------------------------------------------- client helpers (client_util.c) */

/* Appends printf output to the growing string *buf of *len bytes (kept
 * NUL-terminated; *buf may start NULL). Returns: 0, or -1 out of memory. */
int cli_append(char **buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes secret_path + ".pub" holding pub_text and a newline, never over an
 * existing file. On failure it only warns (the secret key is what matters)
 * and names the command that prints the public key again: pubkey_cmd,
 * e.g. "evote pubkey --key". */
void cli_write_pub_file(const char *secret_path, const char *pub_text, const char *pubkey_cmd);

#include "api.pb-c.h"
#include "ledger.h"
#include "net.h"

#define DEFAULT_NODE "tcp://127.0.0.1:7200"
#define DEFAULT_TIMEOUT_MS 5000L
#define MAX_MS 3600000L /* an hour: --timeout and --wait */

/* What every client command shares: which node, how long to wait for its
 * answer, and how to print. */
#define NODE_MAX_ALT 15 /* --node given again: at most this many more */

typedef struct {
    const char *cmd; /* "status", for messages */
    const char *node;
    long timeout_ms;
    int json;
    int node_given;
    /* --node given again: a submitted transaction goes, the same bytes, to
     * the next of these when a node does not answer, is busy or does not
     * commit it within --wait (one that never forwards it, say). */
    const char *alt[NODE_MAX_ALT];
    size_t n_alt;
} node_opts;

typedef struct {
    size_t n;             /* distinct signers */
    size_t valid;         /* with --genesis: validators whose signature checks */
    uint64_t view, seq;
    char names[128][GENESIS_MAX_NAME + 24];
} signers_t;

/* Loads the chain's genesis file. Returns: 0 with *g, or EXIT_FAILED after
 * saying why (its line). */
int cli_load_genesis(const char *cmd, const char *path, genesis **g);

/* Lists a commit certificate's signers for the block at height (names and
 * signature checks from g when not NULL). */
void cert_signers(const ProtobufCBinaryData *certificate, const genesis *g, uint64_t height, signers_t *out);

/* What a client proved of a committed transaction from its block, with the
 * genesis (prove_tx). */
typedef struct {
    signers_t sg;          /* the block's certificate (when prove_tx checked it) */
    int included;          /* the certified batch holds it at its index */
    int certified;         /* 1: its result is certified by a checkpoint; 0: none yet; -1: a bad proof */
    Evote__V1__TxResult result; /* the certified result */
    uint64_t cp_seq;
    uint32_t cp_signers;
    int is_ballot;         /* when included: a well-signed ballot, of signer and election */
    uint8_t signer[32];
    uint8_t election[64];
    size_t election_len;
    char why[200];
} tx_proof;

/* GetBlock (with the checkpoint proof) at height: the transaction whose id
 * is id is transaction index of the batch the certificate signs (the
 * given one, already checked; NULL: the block's own, checked here for
 * 2f+1 validators of g); and when a kept checkpoint covers the block, its
 * header (tied to the batch by batch_digest) and so its results are
 * certified: p->result is the chain's result code. A node that sends no
 * proof is followed by the other --node (a proof checks itself). */
void prove_tx(const node_opts *o, const genesis *g, uint64_t height, uint32_t index, const uint8_t id[32],
              const ProtobufCBinaryData *certificate, tx_proof *p);
/* prove_tx, and when the batch holds it, *tx_out (may be NULL when it does
 * not decode; ledger_tx_destroy): the transaction, its signature checked. */
void prove_tx_keep(const node_opts *o, const genesis *g, uint64_t height, uint32_t index, const uint8_t id[32],
                   const ProtobufCBinaryData *certificate, tx_proof *p, ledger_tx **tx_out);

/* Option codes shared by the commands' getopt tables. */
enum { OPT_NODE = 'n', OPT_TIMEOUT = 't', OPT_JSON = 'j', OPT_WAIT = 'w' };

/* The getopt entries and the help lines of --node and --timeout. */
#define NODE_OPTIONS {"node", required_argument, NULL, OPT_NODE}, {"timeout", required_argument, NULL, OPT_TIMEOUT}
#define NODE_HELP                                                                      \
    "  --node EP      the node's client endpoint (client_listen in its evoted.conf);\n" \
    "                 default " DEFAULT_NODE ". Given again: a command that submits\n"  \
    "                 sends the transaction on to the next when a node does not\n"      \
    "                 answer, is busy, or has not committed it within --wait (the\n"    \
    "                 same bytes: it counts once); any command asks the next when\n"    \
    "                 a node does not answer. KEY@EP: its client_curve_listen,\n"      \
    "                 encrypted; KEY is the validator's CURVE key in the genesis\n"     \
    "  --timeout MS   how long to wait for the node's answer (default 5000)\n"

/* What a node says of one transaction (a TxStatus, checked). */
typedef struct {
    Evote__V1__TxState state; /* PENDING, COMMITTED or UNKNOWN */
    uint64_t height;          /* when COMMITTED */
    uint32_t index;
    Evote__V1__TxResult result;
} tx_answer;

void node_opts_init(node_opts *o, const char *cmd);
/* A --node value: tcp://HOST:PORT (the plain client_listen), or
 * KEY@tcp://HOST:PORT, KEY the validator's CURVE public key in Z85 as the
 * genesis lists it, for its encrypted client_curve_listen. Pure. Out:
 * *endpoint (inside spec), key and *curve = 1 for the second form.
 * Returns: 1, or 0 when the key does not decode. */
int node_spec_split(const char *spec, const char **endpoint, uint8_t key[NET_CURVE_KEY_LEN], int *curve);
/* client_conn_new for a --node value (node_spec_split): CURVE when it names
 * a key. Returns: as client_conn_new (NET_ERR_ENDPOINT for a bad key). */
net_err node_spec_conn(const char *spec, long timeout_ms, client_conn **out, net_error *why);
/* Parses milliseconds lo..MAX_MS for option `opt`. Returns: 1, or 0 after printing why. */
int parse_ms(const char *cmd, const char *opt, const char *s, long lo, long *out);
/* Handles --node, --timeout, --json. Returns: 1 handled, 0 not one of them, -1 bad value (printed). */
int node_opt(node_opts *o, int c, const char *arg);
/* Prints help to stderr. Returns: EXIT_USAGE. */
int usage_error(const char *help);
/* Returns: 1 when exactly `want` operands follow the options, else 0 after printing why. */
int operands_ok(const char *cmd, int argc, char **argv, int want, const char *what, const char *help);
/* Returns: EXIT_USAGE after saying that `opt` must be given. */
int missing_option(const char *cmd, const char *opt, const char *help);

void print_hex(const uint8_t *p, size_t n);
void print_bytes_hex(const ProtobufCBinaryData *b);
/* Network text made safe for a terminal, cut at size - 1 bytes. Returns: buf. */
const char *clean(const char *s, char *buf, size_t size);
/* Prints s as a valid JSON string. */
void json_string(const char *s);
void json_hex(const uint8_t *p, size_t n);
/* Name of an enum value as in the .proto, or PREFIX<number>. Returns: name or buf. */
const char *enum_name(const ProtobufCEnumDescriptor *d, int v, const char *prefix, char *buf, size_t size);
#define RESULT_NAME(v, buf) enum_name(&evote__v1__tx_result__descriptor, (int)(v), "TX_RESULT_", buf, sizeof buf)
#define STATUS_NAME(v, buf) enum_name(&evote__v1__api_status__descriptor, (int)(v), "API_STATUS_", buf, sizeof buf)
/* Milliseconds since the epoch as "2026-11-27 17:45:00.123 UTC". */
void format_time(uint64_t ms, char *buf, size_t size);
uint64_t wall_clock_ms(void);
/* Seconds on the monotonic clock (for timeouts and rates). */
double cli_mono_s(void);
/* Sleeps ms milliseconds (through signals). */
void cli_sleep_ms(long ms);

/* Sends req and waits up to o->timeout_ms + extra_ms; with --node given
 * again, asks the next node when one does not answer usably. Returns: 0
 * with *out (free with evote__v1__api_response__free_unpacked) when a node
 * answered OK, REJECTED, BUSY or NOT_FOUND; otherwise EXIT_USAGE or
 * EXIT_FAILED after printing what went wrong and what to do. */
int node_call(const node_opts *o, Evote__V1__ApiRequest *req, long extra_ms, Evote__V1__ApiResponse **out);
/* As node_call, over *conn: opened on the first call (with the timeout
 * o->timeout_ms + extra_ms) and kept for the next ones; the caller destroys
 * it with client_conn_destroy. One thread at a time per conn. */
int node_call_conn(const node_opts *o, client_conn **conn, Evote__V1__ApiRequest *req, long extra_ms,
                   Evote__V1__ApiResponse **out);
/* For an answer a command cannot use. Returns: EXIT_FAILED after printing why. */
int bad_answer(const node_opts *o, const Evote__V1__ApiResponse *resp, const char *what);
/* get_status (tip_only 0) or get_tip. Returns: 0 with *resp whose node is set, or an exit code. */
int ask_node_status(const node_opts *o, int tip_only, Evote__V1__ApiResponse **resp);
/* Returns: 1 with *out = the tip hash (the chain id at height 0), 0 when the answer has neither. */
int tip_hash(const Evote__V1__NodeStatus *ns, const ProtobufCBinaryData **out);
/* A transaction's status, letting the node wait up to wait_ms for its commit. Returns: 0 with *out, or an exit code. */
int ask_tx(const node_opts *o, const uint8_t id[32], long wait_ms, tx_answer *out);
int ask_tx_conn(const node_opts *o, client_conn **conn, const uint8_t id[32], long wait_ms, tx_answer *out);
const char *state_word(Evote__V1__TxState s);
/* Submits a sealed transaction, prints its id and, with wait_ms > 0, waits
 * for the commit and prints "committed at height H, result R". Returns: 0
 * when accepted (and, with a wait, committed with TX_RESULT_OK); EXIT_FAILED
 * otherwise, after saying why. submit_tx_answer also hands out what the
 * wait learned (out may be NULL; state UNSPECIFIED when there was no wait). */
int submit_tx(const node_opts *o, const uint8_t *bytes, size_t len, long wait_ms);
/* With --node given more than once, a node that does not answer, is busy, or
 * (with wait_ms > 0) has not committed the transaction within wait_ms, is
 * followed by the next one, with the same bytes; wait_ms applies to each. */
int submit_tx_answer(const node_opts *o, const uint8_t *bytes, size_t len, long wait_ms, tx_answer *out);

/* ---------------------------------------------- election commands (cmd_election.c) */

int cmd_election(int argc, char **argv);
int cmd_register(int argc, char **argv);
int cmd_trustee(int argc, char **argv);
int cmd_vote(int argc, char **argv);
int cmd_track(int argc, char **argv);
int cmd_result(int argc, char **argv);
/* evote voter register (= evote register) | keygen. */
int cmd_voter(int argc, char **argv);

/* Pure parts, exposed for the unit tests. */
/* Reads a voter file: one 64-hex-digit public key per line, blank lines and
 * '#' comments skipped ("-" = stdin). Out: *keys (malloc'ed), *n.
 * Returns: 0, or EXIT_FAILED after naming the file and line. */
int cli_read_voter_file(const char *cmd, const char *path, uint8_t (**keys)[32], size_t *n);
/* Marks in sel (q->n_options bytes) the options named in text (comma-separated
 * option texts, "" = none) and checks their number against the question.
 * Returns: 1, or 0 after saying what is wrong. */
int cli_parse_selection(const char *cmd, const Evote__V1__Question *q, size_t qi, const char *text, uint8_t *sel);

/* evote snapshot (cmd_snapshot.c): a hot copy of a running node's chain store. */
int cmd_snapshot(int argc, char **argv);

#endif
