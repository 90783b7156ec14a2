/* evote net: the ZeroMQ transport of a validator. The one header of src/net.
 *
 *  - peer_net: the mesh between validators. One ROUTER (CURVE server) bound at
 *    this validator's endpoint receives; one DEALER (CURVE client) per other
 *    validator sends, so a slow or dead peer only fills its own bounded queue.
 *    A ZAP handler admits only the validator set's CURVE keys and names the
 *    sender: the index a message is delivered "from" is the one proven by the
 *    CURVE handshake, never anything the payload says.
 *  - client_endpoint: the ROUTER where clients (voters, officials, the CLI)
 *    send requests; client_conn: the client side of it (CLI, tests).
 *  - CURVE keys: Z85 text, key pairs, secret key files (mode 0600).
 *
 * Payloads are opaque bytes here (an Envelope, a client request): parsing and
 * signature checks belong to the callers. Every function that can fail
 * returns a net_err and is marked warn_unused_result; nothing here asserts on
 * network input, and no secret key ever appears in an error string.
 *
 * Threads: see "Threading" at peer_net and client_endpoint below. In short,
 * each object is used by one thread at a time (its owner); peer_net runs one
 * small internal thread of its own, which callers never see. */
#ifndef EVOTE_NET_H
#define EVOTE_NET_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/* ------------------------------------------------------------------ errors */

typedef enum {
    NET_OK = 0,
    NET_ERR_AGAIN,            /* nothing to receive now (not a failure) */
    NET_ERR_NOMEM,
    NET_ERR_NO_CURVE,         /* libzmq built without CURVE (libsodium) */
    NET_ERR_CONFIG,           /* the configuration given is inconsistent (see net_error.detail) */
    NET_ERR_ENDPOINT,         /* an endpoint is not a valid "tcp://host:port" */
    NET_ERR_BIND,             /* cannot bind the listening endpoint */
    NET_ERR_ZMQ,              /* an unexpected ZeroMQ failure (see the zmq errno) */
    NET_ERR_THREAD,           /* cannot start the internal thread */
    NET_ERR_BAD_INDEX,        /* no such validator, or this validator itself */
    NET_ERR_EMPTY,            /* an empty message (never sent or delivered) */
    NET_ERR_TOO_LARGE,        /* over the configured message size limit */
    NET_ERR_QUEUE_FULL,       /* the peer's send queue is full: the message was dropped */
    NET_ERR_PEER_GONE,        /* the client disconnected: the reply cannot be delivered */
    NET_ERR_TIMEOUT,          /* no reply within the timeout */
    NET_ERR_MALFORMED,        /* a reply that is not one evote frame */
    NET_ERR_BAD_Z85,          /* text is not 40 Z85 characters encoding a 32-byte key */
    NET_ERR_KEY_FILE_OPEN,    /* cannot open or read the CURVE key file */
    NET_ERR_KEY_FILE_MODE,    /* CURVE key file readable by group or others */
    NET_ERR_KEY_FILE_SIZE,    /* not the size of an evote CURVE key file */
    NET_ERR_KEY_FILE_FORMAT,  /* right size, but not an evote CURVE key file */
    NET_ERR_KEY_FILE_WRITE,   /* cannot create or write the key file */
    NET_ERR_KEY_FILE_EXISTS,  /* refusing to overwrite an existing key file */
} net_err;

/* Returns: a sentence an operator understands, saying what went wrong and,
 * where there is one, what to do. Never NULL. */
const char *net_strerror(net_err err);

/* Where a constructor failed, for the log: the ZeroMQ errno (0 when not a
 * ZeroMQ failure) and a sentence naming the endpoint or index involved, e.g.
 * "cannot bind tcp://0.0.0.0:7101: Address already in use — is another
 * evoted running?". Never contains a secret key. */
typedef struct {
    int zmq_errno;
    char detail[384];
} net_error;

/* -------------------------------------------------------------- CURVE keys */

#define NET_CURVE_KEY_LEN 32 /* a Curve25519 key, binary */
#define NET_CURVE_Z85_LEN 40 /* the same key as Z85 text (without the NUL) */

/* A CURVE key pair. The secret is plain memory: wipe it with
 * net_curve_keypair_wipe() when done (peer_net and client_endpoint keep their
 * own copies). */
typedef struct {
    uint8_t public_key[NET_CURVE_KEY_LEN];
    uint8_t secret_key[NET_CURVE_KEY_LEN];
} net_curve_keypair;

/* Returns: 1 when this libzmq has CURVE support (zmq_has("curve")), else 0. */
int net_has_curve(void);

/* Encodes a 32-byte key as Z85. Out: out, 40 characters and a NUL. */
void net_z85_encode(const uint8_t key[NET_CURVE_KEY_LEN], char out[NET_CURVE_Z85_LEN + 1]);

/* Decodes exactly 40 Z85 characters (the form of a CURVE key in the genesis).
 * Returns: NET_OK or NET_ERR_BAD_Z85 (wrong length, a character outside Z85,
 * or a group that overflows 32 bits). Out: out (unchanged on error). */
EVOTE_WARN_UNUSED net_err net_z85_decode(const char *text, uint8_t out[NET_CURVE_KEY_LEN]);

/* Draws a new key pair from libsodium (zmq_curve_keypair).
 * Returns: NET_OK, NET_ERR_NO_CURVE or NET_ERR_ZMQ. Out: *out. */
EVOTE_WARN_UNUSED net_err net_curve_keypair_generate(net_curve_keypair *out);

/* Completes a key pair from its secret (any 32 bytes are a Curve25519 secret).
 * Returns: NET_OK, NET_ERR_NO_CURVE or NET_ERR_ZMQ. Out: *out. */
EVOTE_WARN_UNUSED net_err net_curve_keypair_from_secret(const uint8_t secret[NET_CURVE_KEY_LEN],
                                                        net_curve_keypair *out);

/* Overwrites the key pair with zeros (the compiler cannot elide it). */
void net_curve_keypair_wipe(net_curve_keypair *kp);

/* Reads a CURVE secret key file written by net_curve_secret_save(): one line
 * "evote-curve-secret-v1 <40 Z85 characters>\n". Refuses a file the group or
 * others can read (NET_ERR_KEY_FILE_MODE), one that is not a regular file or
 * has the wrong size (NET_ERR_KEY_FILE_SIZE), a wrong header or bad Z85
 * (NET_ERR_KEY_FILE_FORMAT); NET_ERR_KEY_FILE_OPEN when it cannot be read.
 * The file's bytes are wiped from memory.
 * Out: *out, the key pair (public key derived from the secret). */
EVOTE_WARN_UNUSED net_err net_curve_secret_load(const char *path, net_curve_keypair *out);

/* Writes the secret key to `path`, created with mode 0600 (O_EXCL: an
 * existing file is never overwritten: NET_ERR_KEY_FILE_EXISTS) and fsync'ed.
 * Returns: NET_OK, NET_ERR_KEY_FILE_EXISTS or NET_ERR_KEY_FILE_WRITE. */
EVOTE_WARN_UNUSED net_err net_curve_secret_save(const net_curve_keypair *kp, const char *path);

/* --------------------------------------------------------------- peer_net */

#define NET_MAX_ENDPOINT 256
#define NET_MAX_VALIDATORS 100
#define NET_DEFAULT_MAX_MSG_SIZE CRYPTO_MAX_ENVELOPE /* 16 MiB */
#define NET_DEFAULT_SNDHWM 1000
#define NET_DEFAULT_DOWN_QUEUE_BYTES ((size_t)8 << 20) /* 8 MiB */
#define NET_DEFAULT_QUEUE_BYTES ((size_t)32 << 20)     /* 32 MiB */
#define NET_DEFAULT_RECONNECT_IVL_MS 100
/* A restarted validator's first answers (the blocks it missed) come over
 * its peers' connections to it: their back-off is how long it waits before
 * catching up. A connection attempt every 0.5 s to a peer that is down
 * costs nothing worth saving. */
#define NET_DEFAULT_RECONNECT_IVL_MAX_MS 500
#define NET_DEFAULT_HEARTBEAT_IVL_MS 1000
#define NET_DEFAULT_HEARTBEAT_TIMEOUT_MS 3000
#define NET_DEFAULT_LINGER_MS 100

/* One validator as the transport knows it: its CURVE public key and where it
 * listens. A validator's index is its position in peer_net_config.validators
 * (genesis order). */
typedef struct {
    uint8_t curve_public[NET_CURVE_KEY_LEN];
    char endpoint[NET_MAX_ENDPOINT + 1]; /* "tcp://host:port" */
} net_validator;

/* Zero-initialize, then fill validators, n, self and curve_secret; every
 * other field left 0 takes its NET_DEFAULT_* value. */
typedef struct {
    const net_validator *validators;  /* n entries, copied by peer_net_new */
    uint32_t n;                       /* 1..NET_MAX_VALIDATORS */
    uint32_t self;                    /* this validator's index, < n */
    uint8_t curve_secret[NET_CURVE_KEY_LEN]; /* must match validators[self].curve_public */
    const char *listen;               /* bind here; NULL or "" = validators[self].endpoint
                                         (e.g. "tcp://0.0.0.0:7101" behind NAT) */
    size_t max_msg_size;              /* larger inbound messages cut the connection */
    int sndhwm;                       /* messages queued per peer before drops */
    size_t down_queue_bytes;          /* bytes queued for a peer that is not connected
                                         before drops (sndhwm counts messages: 1,000
                                         batches would be hundreds of MB) */
    size_t queue_bytes;               /* the same for a connected peer that reads
                                         slowly (a stopped process, a slow link) */
    int reconnect_ivl_ms;             /* first retry after a lost connection ... */
    int reconnect_ivl_max_ms;         /* ... doubling up to this */
    int heartbeat_ivl_ms;             /* ZMTP PING interval */
    int heartbeat_timeout_ms;         /* no traffic for this long: connection dead */
    int linger_ms;                    /* how long destroy waits to flush queues */
} peer_net_config;

/* Counters since peer_net_new, readable from any thread (for /metrics). */
typedef struct {
    uint64_t sent;                    /* messages queued to peers */
    uint64_t received;                /* messages delivered by peer_net_recv */
    uint64_t dropped_queue_full;      /* sends dropped: the peer's queue was full */
    uint64_t queued_bytes;            /* handed to ZeroMQ, not yet on the wire (all peers) */
    uint64_t dropped_oversized;       /* sends refused locally: over max_msg_size */
    uint64_t dropped_malformed;       /* received multi-part or empty, dropped */
    uint64_t dropped_unauthenticated; /* received without a valid User-Id (never expected) */
    uint64_t refused_unknown_key;     /* CURVE handshakes refused by ZAP (key not in the set) */
    uint64_t inbound_handshake_failed;/* inbound connections that failed the handshake
                                         (unknown key, garbage, wrong server key) */
    uint64_t inbound_disconnects;     /* inbound connections closed: peer left, heartbeat
                                         timeout, or a protocol violation such as a
                                         message over max_msg_size */
    uint32_t peers_connected;         /* outbound connections with a completed handshake */
} peer_net_stats;

/* Per-peer counters (index != self). */
typedef struct {
    int connected;                    /* 1 when our connection to it is up and authenticated */
    uint64_t sent;
    uint64_t dropped_queue_full;
    uint64_t queued_bytes;            /* handed to ZeroMQ for it, not yet on the wire */
    uint64_t received;
    uint64_t handshake_failures;      /* our connection to it failed the handshake */
} peer_net_peer_stats;

typedef struct peer_net peer_net;

/* Threading and ownership:
 *  - peer_net creates and owns its ZeroMQ context; nothing else may use it.
 *    That context's ZAP handler ("inproc://zeromq.zap.01") is peer_net's.
 *  - peer_net_new starts one internal thread that answers ZAP requests and
 *    reads the socket monitors (connection state, counters). It needs no
 *    servicing by the owner and stops in peer_net_destroy.
 *  - Every other function (send, broadcast, recv, the poll socket) must be
 *    called by one thread at a time — the owner's event loop. Only
 *    peer_net_get_stats, peer_net_get_peer_stats, peer_net_connected and
 *    peer_net_connected_count may be called from any thread.
 *  - The owner polls peer_net_poll_socket() for ZMQ_POLLIN in its own
 *    zmq_poll() and then drains peer_net_recv() until NET_ERR_AGAIN. */

/* Binds the ROUTER, starts the ZAP handler and connects a DEALER to every
 * other validator (connections complete in the background and are retried
 * forever with back-off).
 * Returns: NET_OK; NET_ERR_NO_CURVE; NET_ERR_CONFIG (n or self out of range,
 *   duplicate keys, the secret does not match validators[self]); NET_ERR_ENDPOINT;
 *   NET_ERR_BIND (address in use or not local); NET_ERR_NOMEM; NET_ERR_THREAD;
 *   NET_ERR_ZMQ.
 * In: cfg (copied: the caller may wipe cfg->curve_secret afterwards).
 * Out: *out, destroyed with peer_net_destroy; NULL on error. *why (may be NULL)
 *   explains a failure. */
EVOTE_WARN_UNUSED net_err peer_net_new(const peer_net_config *cfg, peer_net **out, net_error *why);

/* Closes every socket (queued messages get linger_ms to leave), stops the
 * internal thread, wipes the secret key, frees, and sets *self to NULL. */
void peer_net_destroy(peer_net **self);

/* Returns: the socket to put in the owner's zmq_poll with ZMQ_POLLIN; only
 * for polling, never for reading or writing. */
void *peer_net_poll_socket(peer_net *self);

/* Returns: the endpoint the ROUTER is bound at (the real port when the
 * listen endpoint asked for "*"). */
const char *peer_net_listen_endpoint(const peer_net *self);

/* Returns: this validator's index. */
uint32_t peer_net_self(const peer_net *self);

/* Takes one message from an authenticated validator, without blocking.
 * Multi-part and empty messages, and any without a valid authenticated
 * sender, are dropped and counted on the way.
 * Returns: NET_OK; NET_ERR_AGAIN when nothing is waiting (also after a run of
 *   dropped messages, so one flood cannot starve the caller: poll again);
 *   NET_ERR_NOMEM; NET_ERR_ZMQ.
 * Out: *from, the sender's validator index as proven by its CURVE key;
 *   *bytes (malloc'ed, the caller frees) and *len >= 1. */
EVOTE_WARN_UNUSED net_err peer_net_recv(peer_net *self, uint32_t *from, uint8_t **bytes, size_t *len);

/* Queues one message to validator `to`, without blocking.
 * Returns: NET_OK; NET_ERR_QUEUE_FULL (dropped and counted: the peer is slow
 *   or down); NET_ERR_TOO_LARGE (over max_msg_size, counted); NET_ERR_EMPTY;
 *   NET_ERR_BAD_INDEX (to >= n or to == self); NET_ERR_NOMEM; NET_ERR_ZMQ. */
EVOTE_WARN_UNUSED net_err peer_net_send(peer_net *self, uint32_t to, const uint8_t *bytes, size_t len);

/* Queues one message to every other validator, without blocking (the bytes
 * are copied once and shared between the queues).
 * Returns: NET_OK when every queue took it; NET_ERR_QUEUE_FULL when at least
 *   one peer's queue was full (those are counted; the others got it);
 *   NET_ERR_TOO_LARGE; NET_ERR_EMPTY; NET_ERR_NOMEM; NET_ERR_ZMQ. */
EVOTE_WARN_UNUSED net_err peer_net_broadcast(peer_net *self, const uint8_t *bytes, size_t len);

/* Returns: 1 when our connection to validator `index` has completed its
 * CURVE handshake and is up, 0 otherwise (also for self or out of range). */
int peer_net_connected(const peer_net *self, uint32_t index);

/* Returns: how many other validators we are connected to ("peers connected"). */
uint32_t peer_net_connected_count(const peer_net *self);

/* Out: *out, a snapshot of the counters. */
void peer_net_get_stats(const peer_net *self, peer_net_stats *out);

/* Out: *out, the counters of one peer (all zero for self or out of range). */
void peer_net_get_peer_stats(const peer_net *self, uint32_t index, peer_net_peer_stats *out);

/* Returns: a sentence about the last NET_ERR_ZMQ/NET_ERR_NOMEM from a method
 * (with zmq_strerror), "" if none. Valid until the next call on self. */
const char *peer_net_last_error(const peer_net *self);

/* --------------------------------------------------------- client_endpoint */

#define NET_DEFAULT_CLIENT_MAX_MSG_SIZE CRYPTO_MAX_ENVELOPE
#define NET_DEFAULT_CLIENT_HWM 10000
#define NET_MAX_ROUTING_ID 255

typedef struct {
    const char *endpoint;       /* e.g. "tcp://127.0.0.1:7201"; "...:*" picks a port */
    int curve;                  /* 1: CURVE server (encryption; any client key accepted) */
    uint8_t curve_secret[NET_CURVE_KEY_LEN]; /* the server's secret when curve = 1 */
    size_t max_msg_size;        /* the largest request, 0 = NET_DEFAULT_CLIENT_MAX_MSG_SIZE; larger cuts the
                                   connection (a reply may be up to NET_DEFAULT_CLIENT_MAX_MSG_SIZE) */
    int hwm;                    /* 0 = NET_DEFAULT_CLIENT_HWM, queued per client each way */
    int linger_ms;              /* 0 = NET_DEFAULT_LINGER_MS */
} client_endpoint_config;

/* Where to send a reply: the client's connection. Opaque; copy it freely and
 * keep it as long as needed (a reply after the client left fails cleanly). */
typedef struct {
    uint8_t id[NET_MAX_ROUTING_ID];
    uint8_t id_len;
    uint8_t slot;               /* 0 from client_endpoint_recv; the embedder's mark of which
                                   endpoint the request came through (evoted: 1 = CURVE) */
} client_reply_handle;

typedef struct {
    uint8_t *data;              /* malloc'ed; the caller frees */
    size_t len;                 /* >= 1 */
    client_reply_handle reply;
    char address[64];           /* the client's IP address as ZeroMQ reports it ("" when unknown) */
} client_request;

typedef struct {
    uint64_t received;
    uint64_t replied;
    uint64_t dropped_malformed; /* not [empty delimiter][non-empty body] */
    uint64_t reply_failed;      /* client gone or its queue full */
} client_endpoint_stats;

typedef struct client_endpoint client_endpoint;

/* Wire framing, REQ-compatible: a request is two frames, an empty delimiter
 * and the request bytes; the reply is the same. client_conn speaks it, and so
 * does any ZeroMQ REQ socket.
 *
 * Threading: client_endpoint owns its own ZeroMQ context (separate from
 * peer_net's, so the ZAP handler of the validator mesh never sees clients);
 * all calls from one thread at a time. In CURVE mode no ZAP handler is bound
 * in that context, so libzmq accepts every client key: encryption without
 * client authentication (clients prove themselves by their signatures). */

/* Binds the client ROUTER.
 * Returns: NET_OK, NET_ERR_NO_CURVE, NET_ERR_CONFIG, NET_ERR_ENDPOINT, NET_ERR_BIND,
 *   NET_ERR_NOMEM, NET_ERR_ZMQ. Out: *out (NULL on error); *why (may be NULL). */
EVOTE_WARN_UNUSED net_err client_endpoint_new(const client_endpoint_config *cfg, client_endpoint **out,
                                              net_error *why);

/* Closes the socket and the context, frees, sets *self to NULL. */
void client_endpoint_destroy(client_endpoint **self);

/* Returns: the socket to poll for ZMQ_POLLIN (only for polling). */
void *client_endpoint_poll_socket(client_endpoint *self);

/* Returns: the bound endpoint (with the real port when "*" was asked). */
const char *client_endpoint_endpoint(const client_endpoint *self);

/* Takes one request without blocking; malformed ones are dropped and counted.
 * Returns: NET_OK, NET_ERR_AGAIN (nothing waiting), NET_ERR_NOMEM, NET_ERR_ZMQ.
 * Out: *req (req->data malloc'ed, the caller frees). */
EVOTE_WARN_UNUSED net_err client_endpoint_recv(client_endpoint *self, client_request *req);

/* Sends a reply without blocking.
 * Returns: NET_OK; NET_ERR_PEER_GONE (the client disconnected);
 *   NET_ERR_QUEUE_FULL (the client does not read); NET_ERR_TOO_LARGE;
 *   NET_ERR_EMPTY; NET_ERR_ZMQ. */
EVOTE_WARN_UNUSED net_err client_endpoint_reply(client_endpoint *self, const client_reply_handle *to,
                                                const uint8_t *bytes, size_t len);

void client_endpoint_get_stats(const client_endpoint *self, client_endpoint_stats *out);

/* ------------------------------------------------------------- client_conn */

typedef struct client_conn client_conn;

/* A blocking request/reply connection to a client endpoint, for the CLI and
 * tests. Owns its own ZeroMQ context; one thread at a time.
 * In: endpoint; server_curve_public: the endpoint's CURVE public key, or NULL
 *   for a plain endpoint (with a key, an ephemeral client key pair is drawn);
 *   timeout_ms > 0, how long one call waits for its reply.
 * Returns: NET_OK, NET_ERR_NO_CURVE, NET_ERR_ENDPOINT, NET_ERR_CONFIG,
 *   NET_ERR_NOMEM, NET_ERR_ZMQ. Out: *out; *why (may be NULL). */
EVOTE_WARN_UNUSED net_err client_conn_new(const char *endpoint, const uint8_t *server_curve_public,
                                          int timeout_ms, client_conn **out, net_error *why);

void client_conn_destroy(client_conn **self);

/* Sends one request and waits up to the timeout for its reply. After a
 * timeout the socket is discarded and the next call opens a fresh one, so a
 * late reply to an old request is never taken for the answer to a new one.
 * Returns: NET_OK; NET_ERR_TIMEOUT; NET_ERR_EMPTY; NET_ERR_TOO_LARGE (request
 *   over 16 MiB); NET_ERR_MALFORMED (reply not one evote frame); NET_ERR_NOMEM;
 *   NET_ERR_ZMQ.
 * Out: *resp (malloc'ed, the caller frees) and *resp_len >= 1. */
EVOTE_WARN_UNUSED net_err client_conn_call(client_conn *self, const uint8_t *req, size_t len,
                                           uint8_t **resp, size_t *resp_len);

/* Pipelined use (many requests in flight on one connection, e.g. casting
 * many ballots): client_conn_send queues a request without waiting;
 * client_conn_recv takes the next reply, whichever request it answers — the
 * caller matches replies to requests by ApiResponse.request_id and decides
 * what a missing reply means. Same thread rule as client_conn_call; do not
 * mix client_conn_call with requests still in flight.
 *
 * Queues one request. Returns: NET_OK; NET_ERR_QUEUE_FULL (the send queue is
 * full: too many requests the node has not read; the socket is discarded, so
 * the requests still in flight will get no reply here); NET_ERR_EMPTY;
 * NET_ERR_TOO_LARGE; NET_ERR_NOMEM; NET_ERR_ZMQ. */
EVOTE_WARN_UNUSED net_err client_conn_send(client_conn *self, const uint8_t *req, size_t len);

/* Waits up to wait_ms (0: just looks) for the next reply.
 * Returns: NET_OK; NET_ERR_TIMEOUT (none yet; the socket is kept);
 *   NET_ERR_MALFORMED, NET_ERR_ZMQ (the socket is discarded); NET_ERR_NOMEM.
 * Out: *resp (malloc'ed, the caller frees), *resp_len >= 1. */
EVOTE_WARN_UNUSED net_err client_conn_recv(client_conn *self, int wait_ms, uint8_t **resp, size_t *resp_len);

/* Returns: the socket to put in a zmq_poll for ZMQ_POLLIN (only for
 * polling), or NULL when none is open (before a send, after a discard). */
void *client_conn_poll_socket(client_conn *self);

/* Discards the socket: replies to requests in flight are never delivered
 * (use when giving up on them, e.g. before resending elsewhere). */
void client_conn_reset(client_conn *self);

#endif
