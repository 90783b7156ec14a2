/* peer_net: the CURVE-encrypted mesh between validators. One ROUTER receives
 * from every peer; one DEALER per peer sends, so each peer has its own bounded
 * queue. A ZAP handler admits only the validator set's keys and stamps each
 * connection with the sender's index (User-Id), which is what recv reports.
 *
 * One internal thread answers ZAP requests and reads the socket monitors; it
 * touches only its own sockets (ZAP, monitors, control pipe) and atomics. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "net_internal.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN "evote-peers"
#define CTRL_ENDPOINT "inproc://evote-peer-net-ctrl"
#define HANDSHAKE_IVL_MS 10000
#define RECV_DROP_BUDGET 64 /* dropped messages per recv before yielding */

typedef struct {
    atomic_int connected;
    /* Bytes of the messages handed to libzmq for this peer that libzmq has
     * not released yet: added when a message is made, taken off by
     * release() when libzmq lets it go (written to the connection, or
     * dropped when the socket closes). */
    atomic_size_t queued;
    atomic_uint_fast64_t sent;
    atomic_uint_fast64_t dropped_queue_full;
    atomic_uint_fast64_t received;
    atomic_uint_fast64_t handshake_failures;
} peer_slot;

struct peer_net {
    void *ctx;
    void *router;
    void **dealers;      /* n entries, NULL at self */
    void *zap;           /* owned by the internal thread once it runs */
    void *ctrl_owner;    /* owner's end of the stop pipe */
    void *ctrl_thread;   /* thread's end */
    void **mons;         /* n + 1: mons[i] watches dealers[i], mons[n] the router */
    pthread_t thread;
    int thread_started;
    zmq_pollitem_t *items; /* the thread's poll set: ctrl, ZAP, monitors */
    uint32_t *item_owner;  /* for a monitor item: the index it watches */

    net_validator *validators;
    uint32_t n, self;
    uint8_t secret_key[NET_CURVE_KEY_LEN];
    uint8_t public_key[NET_CURVE_KEY_LEN];
    size_t max_msg_size;
    size_t down_queue_bytes, queue_bytes;
    int linger_ms;
    char listen_endpoint[NET_MAX_ENDPOINT + 1];
    char last_error[256];

    peer_slot *peers;
    atomic_uint_fast64_t sent, received, dropped_queue_full, dropped_oversized, dropped_malformed,
        dropped_unauthenticated, refused_unknown_key, inbound_handshake_failed, inbound_disconnects;
};

static void count(atomic_uint_fast64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t read_counter(const atomic_uint_fast64_t *c)
{
    return (uint64_t)atomic_load_explicit((atomic_uint_fast64_t *)c, memory_order_relaxed);
}

static void set_last_error(peer_net *self, const char *what)
{
    int e = zmq_errno();
    snprintf(self->last_error, sizeof self->last_error, "%s: %s", what, zmq_strerror(e));
}

/* ----------------------------------------------------------- internal thread */

/* Parses the User-Id we give admitted peers: the decimal validator index. */
static int parse_index(const char *s, uint32_t n, uint32_t *out)
{
    uint32_t v = 0;
    size_t len;
    if (s == NULL)
        return 0;
    len = strlen(s);
    if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v >= n)
        return 0;
    *out = v;
    return 1;
}

static void send_frame(void *sock, const void *data, size_t len, int more)
{
    /* A failed reply only means libzmq closed the ZAP pipe (shutdown). */
    (void)zmq_send(sock, data, len, more ? ZMQ_SNDMORE : 0);
}

/* ZAP (RFC 27): admit a CURVE client whose public key is one of the other
 * validators', and name it by its index. Everything else gets 400. The
 * request is read whole whatever its shape, and always answered. */
static void zap_handle(peer_net *self)
{
    enum { MAX_FRAMES = 8 };
    zmq_msg_t frames[MAX_FRAMES];
    int nf = 0, more = 1;
    char user_id[16] = "";
    const char *status = "400", *text = "unknown CURVE key";
    int admitted = 0;

    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->zap, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (nf < MAX_FRAMES)
            frames[nf++] = m;
        else
            zmq_msg_close(&m);
    }
    if (nf < 2) { /* not even a request id: nothing sensible to answer */
        for (int i = 0; i < nf; i++)
            zmq_msg_close(&frames[i]);
        return;
    }
    /* version, request id, domain, address, routing id, mechanism, key */
    if (nf == 7 && zmq_msg_size(&frames[0]) == 3 && memcmp(zmq_msg_data(&frames[0]), "1.0", 3) == 0 &&
        zmq_msg_size(&frames[5]) == 5 && memcmp(zmq_msg_data(&frames[5]), "CURVE", 5) == 0 &&
        zmq_msg_size(&frames[6]) == NET_CURVE_KEY_LEN) {
        const uint8_t *key = zmq_msg_data(&frames[6]);
        for (uint32_t i = 0; i < self->n; i++) {
            if (i != self->self && memcmp(key, self->validators[i].curve_public, NET_CURVE_KEY_LEN) == 0) {
                snprintf(user_id, sizeof user_id, "%u", i);
                status = "200";
                text = "OK";
                admitted = 1;
                break;
            }
        }
    }
    if (!admitted)
        count(&self->refused_unknown_key);
    send_frame(self->zap, "1.0", 3, 1);
    send_frame(self->zap, zmq_msg_data(&frames[1]), zmq_msg_size(&frames[1]), 1);
    send_frame(self->zap, status, 3, 1);
    send_frame(self->zap, text, strlen(text), 1);
    send_frame(self->zap, user_id, strlen(user_id), 1);
    send_frame(self->zap, "", 0, 0);
    for (int i = 0; i < nf; i++)
        zmq_msg_close(&frames[i]);
}

/* One monitor event: [uint16 event, uint32 value][endpoint]. `index` is the
 * peer a DEALER monitor watches, or n for the ROUTER's. */
static void monitor_handle(peer_net *self, uint32_t index)
{
    zmq_msg_t m;
    uint16_t event = 0;
    int first = 1, more = 1;

    while (more) {
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->mons[index], 0) < 0) {
            zmq_msg_close(&m);
            return;
        }
        if (first && zmq_msg_size(&m) >= 6)
            memcpy(&event, zmq_msg_data(&m), sizeof event);
        first = 0;
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    if (index == self->n) {
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL || event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
            event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            count(&self->inbound_handshake_failed);
        else if (event == ZMQ_EVENT_DISCONNECTED)
            count(&self->inbound_disconnects);
        return;
    }
    peer_slot *p = &self->peers[index];
    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        atomic_store(&p->connected, 1);
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        count(&p->handshake_failures);
        atomic_store(&p->connected, 0);
        break;
    case ZMQ_EVENT_DISCONNECTED:
    case ZMQ_EVENT_CLOSED:
    case ZMQ_EVENT_MONITOR_STOPPED:
        atomic_store(&p->connected, 0);
        break;
    default:
        break;
    }
}

static void *thread_main(void *arg)
{
    peer_net *self = arg;
    zmq_pollitem_t *items = self->items;
    uint32_t *owner = self->item_owner;
    size_t nitems = 0;

    items[nitems++] = (zmq_pollitem_t){.socket = self->ctrl_thread, .events = ZMQ_POLLIN};
    items[nitems++] = (zmq_pollitem_t){.socket = self->zap, .events = ZMQ_POLLIN};
    for (uint32_t i = 0; i <= self->n; i++) {
        if (self->mons[i] == NULL)
            continue;
        owner[nitems] = i;
        items[nitems++] = (zmq_pollitem_t){.socket = self->mons[i], .events = ZMQ_POLLIN};
    }
    for (;;) {
        int rc = zmq_poll(items, (int)nitems, -1);
        if (rc < 0) {
            /* Never leave on an error: with its handler gone libzmq would
             * admit any CURVE key. Retry; while we wait, handshakes wait. */
            if (zmq_errno() != EINTR) {
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
            continue;
        }
        if (items[0].revents & ZMQ_POLLIN)
            break;
        if (items[1].revents & ZMQ_POLLIN)
            zap_handle(self);
        for (size_t k = 2; k < nitems; k++)
            if (items[k].revents & ZMQ_POLLIN)
                monitor_handle(self, owner[k]);
    }
    zmq_close(self->zap);
    self->zap = NULL;
    return NULL;
}

/* ------------------------------------------------------------- construction */

static net_err check_config(const peer_net_config *cfg, net_error *why)
{
    net_curve_keypair kp;
    net_err err;

    if (cfg->validators == NULL || cfg->n < 1 || cfg->n > NET_MAX_VALIDATORS) {
        net_why(why, 0, "the validator set must have 1 to %d validators (got %u)", NET_MAX_VALIDATORS, cfg->n);
        return NET_ERR_CONFIG;
    }
    if (cfg->self >= cfg->n) {
        net_why(why, 0, "own index %u is outside the validator set of %u", cfg->self, cfg->n);
        return NET_ERR_CONFIG;
    }
    if (cfg->sndhwm < 0 || cfg->reconnect_ivl_ms < 0 || cfg->reconnect_ivl_max_ms < 0 ||
        cfg->heartbeat_ivl_ms < 0 || cfg->heartbeat_timeout_ms < 0 || cfg->linger_ms < 0 ||
        cfg->max_msg_size > (size_t)INT64_MAX) {
        net_why(why, 0, "negative or out-of-range transport setting");
        return NET_ERR_CONFIG;
    }
    for (uint32_t i = 0; i < cfg->n; i++) {
        const net_validator *v = &cfg->validators[i];
        if (memchr(v->endpoint, '\0', sizeof v->endpoint) == NULL || !net_endpoint_ok(v->endpoint, 0)) {
            net_why(why, 0, "validator %u: endpoint is not tcp://host:port", i);
            return NET_ERR_ENDPOINT;
        }
        for (uint32_t j = 0; j < i; j++)
            if (memcmp(v->curve_public, cfg->validators[j].curve_public, NET_CURVE_KEY_LEN) == 0) {
                net_why(why, 0, "validators %u and %u have the same CURVE public key", j, i);
                return NET_ERR_CONFIG;
            }
    }
    if (cfg->listen != NULL && cfg->listen[0] != '\0' && !net_endpoint_ok(cfg->listen, 1)) {
        net_why(why, 0, "listen endpoint '%.256s' is not tcp://host:port", cfg->listen);
        return NET_ERR_ENDPOINT;
    }
    err = net_curve_keypair_from_secret(cfg->curve_secret, &kp);
    if (err != NET_OK) {
        net_why(why, zmq_errno(), "cannot derive the CURVE public key");
        return err;
    }
    if (memcmp(kp.public_key, cfg->validators[cfg->self].curve_public, NET_CURVE_KEY_LEN) != 0) {
        net_curve_keypair_wipe(&kp);
        net_why(why, 0, "the CURVE secret key does not belong to validator %u (its public key in the "
                        "genesis differs): wrong curve_key file?", cfg->self);
        return NET_ERR_CONFIG;
    }
    net_curve_keypair_wipe(&kp);
    return NET_OK;
}

/* Options every mesh socket shares: heartbeats and handshake limit. */
static int set_common(void *sock, const peer_net_config *cfg)
{
    int ivl = cfg->heartbeat_ivl_ms ? cfg->heartbeat_ivl_ms : NET_DEFAULT_HEARTBEAT_IVL_MS;
    int timeout = cfg->heartbeat_timeout_ms ? cfg->heartbeat_timeout_ms : NET_DEFAULT_HEARTBEAT_TIMEOUT_MS;
    int ttl = timeout > 6553500 ? 6553500 : timeout;
    int64_t max = (int64_t)(cfg->max_msg_size ? cfg->max_msg_size : NET_DEFAULT_MAX_MSG_SIZE);

    return net_set_int(sock, ZMQ_HEARTBEAT_IVL, ivl) || net_set_int(sock, ZMQ_HEARTBEAT_TIMEOUT, timeout) ||
           net_set_int(sock, ZMQ_HEARTBEAT_TTL, ttl) || net_set_int(sock, ZMQ_HANDSHAKE_IVL, HANDSHAKE_IVL_MS) ||
           zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof max);
}

/* Creates a monitor for sock and connects a PAIR to it (before any traffic,
 * so no event is lost). Returns: the PAIR, or NULL. */
static void *open_monitor(void *ctx, void *sock, uint32_t index)
{
    char ep[64];
    void *pair;
    int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                 ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CLOSED | ZMQ_EVENT_MONITOR_STOPPED;

    snprintf(ep, sizeof ep, "inproc://evote-peer-mon-%u", index);
    if (zmq_socket_monitor(sock, ep, events) != 0)
        return NULL;
    pair = zmq_socket(ctx, ZMQ_PAIR);
    if (pair == NULL)
        return NULL;
    if (net_set_int(pair, ZMQ_LINGER, 0) != 0 || zmq_connect(pair, ep) != 0) {
        zmq_close(pair);
        return NULL;
    }
    return pair;
}

static net_err zmq_fail(net_error *why, const char *what)
{
    int e = zmq_errno();
    net_why(why, e, "%s: %s", what, zmq_strerror(e));
    return e == ENOMEM ? NET_ERR_NOMEM : NET_ERR_ZMQ;
}

net_err peer_net_new(const peer_net_config *cfg, peer_net **out, net_error *why)
{
    peer_net *self;
    net_err err;
    const char *listen;
    size_t ep_len = sizeof(((peer_net *)0)->listen_endpoint);
    int linger;

    if (why != NULL) {
        why->zmq_errno = 0;
        why->detail[0] = '\0';
    }
    if (out == NULL)
        return NET_ERR_CONFIG;
    *out = NULL;
    if (cfg == NULL) {
        net_why(why, 0, "no configuration");
        return NET_ERR_CONFIG;
    }
    if (!net_has_curve()) {
        net_why(why, 0, "libzmq has no CURVE support");
        return NET_ERR_NO_CURVE;
    }
    err = check_config(cfg, why);
    if (err != NET_OK)
        return err;

    self = calloc(1, sizeof *self);
    if (self == NULL)
        return NET_ERR_NOMEM;
    self->n = cfg->n;
    self->self = cfg->self;
    self->max_msg_size = cfg->max_msg_size ? cfg->max_msg_size : NET_DEFAULT_MAX_MSG_SIZE;
    self->linger_ms = cfg->linger_ms ? cfg->linger_ms : NET_DEFAULT_LINGER_MS;
    self->down_queue_bytes = cfg->down_queue_bytes ? cfg->down_queue_bytes : NET_DEFAULT_DOWN_QUEUE_BYTES;
    self->queue_bytes = cfg->queue_bytes ? cfg->queue_bytes : NET_DEFAULT_QUEUE_BYTES;
    linger = self->linger_ms;
    memcpy(self->secret_key, cfg->curve_secret, NET_CURVE_KEY_LEN);
    memcpy(self->public_key, cfg->validators[cfg->self].curve_public, NET_CURVE_KEY_LEN);
    self->validators = calloc(cfg->n, sizeof *self->validators);
    self->dealers = calloc(cfg->n, sizeof *self->dealers);
    self->mons = calloc(cfg->n + 1, sizeof *self->mons);
    self->peers = calloc(cfg->n, sizeof *self->peers);
    self->items = calloc(cfg->n + 3, sizeof *self->items);
    self->item_owner = calloc(cfg->n + 3, sizeof *self->item_owner);
    if (self->validators == NULL || self->dealers == NULL || self->mons == NULL || self->peers == NULL ||
        self->items == NULL || self->item_owner == NULL) {
        err = NET_ERR_NOMEM;
        goto fail;
    }
    memcpy(self->validators, cfg->validators, cfg->n * sizeof *self->validators);
    for (uint32_t i = 0; i < cfg->n; i++)
        self->validators[i].endpoint[NET_MAX_ENDPOINT] = '\0';

    self->ctx = zmq_ctx_new();
    if (self->ctx == NULL) {
        err = zmq_fail(why, "cannot create a ZeroMQ context");
        goto fail;
    }
    /* The ZAP handler is bound before the ROUTER exists, so no handshake can
     * ever run without it (libzmq would then admit any key). */
    self->zap = zmq_socket(self->ctx, ZMQ_REP);
    if (self->zap == NULL || net_set_int(self->zap, ZMQ_LINGER, 0) || zmq_bind(self->zap, ZAP_ENDPOINT)) {
        err = zmq_fail(why, "cannot bind the ZAP handler");
        goto fail;
    }
    self->ctrl_thread = zmq_socket(self->ctx, ZMQ_PAIR);
    self->ctrl_owner = zmq_socket(self->ctx, ZMQ_PAIR);
    if (self->ctrl_thread == NULL || self->ctrl_owner == NULL || net_set_int(self->ctrl_thread, ZMQ_LINGER, 0) ||
        net_set_int(self->ctrl_owner, ZMQ_LINGER, 0) || zmq_bind(self->ctrl_thread, CTRL_ENDPOINT) ||
        zmq_connect(self->ctrl_owner, CTRL_ENDPOINT)) {
        err = zmq_fail(why, "cannot create the internal control pipe");
        goto fail;
    }

    /* The ROUTER: CURVE server, inbound size limit, nothing to linger. */
    self->router = zmq_socket(self->ctx, ZMQ_ROUTER);
    if (self->router == NULL || set_common(self->router, cfg) || net_set_int(self->router, ZMQ_LINGER, 0) ||
        net_set_int(self->router, ZMQ_CURVE_SERVER, 1) ||
        zmq_setsockopt(self->router, ZMQ_CURVE_SECRETKEY, self->secret_key, NET_CURVE_KEY_LEN) ||
        zmq_setsockopt(self->router, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN))) {
        err = zmq_fail(why, "cannot set up the peer ROUTER socket");
        goto fail;
    }
    self->mons[self->n] = open_monitor(self->ctx, self->router, self->n);
    if (self->mons[self->n] == NULL) {
        err = zmq_fail(why, "cannot monitor the peer ROUTER socket");
        goto fail;
    }

    /* One DEALER per peer: CURVE client that verifies the peer's server key,
     * bounded queue, reconnect with back-off. ZMQ_IMMEDIATE stays off: while
     * a peer reconnects its queue keeps up to sndhwm messages and
     * down_queue_bytes (send_one), which a PBFT replica coming back wants (a
     * brief flap must not cost the PREPAREs of a round); beyond that the
     * send is dropped and counted. */
    for (uint32_t i = 0; i < self->n; i++) {
        void *d;
        if (i == self->self)
            continue;
        d = zmq_socket(self->ctx, ZMQ_DEALER);
        self->dealers[i] = d;
        if (d == NULL || set_common(d, cfg) || net_set_int(d, ZMQ_LINGER, linger) ||
            net_set_int(d, ZMQ_SNDHWM, cfg->sndhwm ? cfg->sndhwm : NET_DEFAULT_SNDHWM) ||
            net_set_int(d, ZMQ_RCVHWM, 1) || net_set_int(d, ZMQ_IMMEDIATE, 0) ||
            net_set_int(d, ZMQ_RECONNECT_IVL, cfg->reconnect_ivl_ms ? cfg->reconnect_ivl_ms
                                                                    : NET_DEFAULT_RECONNECT_IVL_MS) ||
            net_set_int(d, ZMQ_RECONNECT_IVL_MAX, cfg->reconnect_ivl_max_ms ? cfg->reconnect_ivl_max_ms
                                                                            : NET_DEFAULT_RECONNECT_IVL_MAX_MS) ||
            zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, self->validators[i].curve_public, NET_CURVE_KEY_LEN) ||
            zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, self->public_key, NET_CURVE_KEY_LEN) ||
            zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, self->secret_key, NET_CURVE_KEY_LEN)) {
            err = zmq_fail(why, "cannot set up a peer DEALER socket");
            goto fail;
        }
        self->mons[i] = open_monitor(self->ctx, d, i);
        if (self->mons[i] == NULL) {
            err = zmq_fail(why, "cannot monitor a peer DEALER socket");
            goto fail;
        }
    }

    if (pthread_create(&self->thread, NULL, thread_main, self) != 0) {
        net_why(why, 0, "cannot start the peer network thread");
        err = NET_ERR_THREAD;
        goto fail;
    }
    self->thread_started = 1; /* the ZAP socket is the thread's now; it closes it */

    listen = (cfg->listen != NULL && cfg->listen[0] != '\0') ? cfg->listen : self->validators[self->self].endpoint;
    if (zmq_bind(self->router, listen) != 0) {
        int e = zmq_errno();
        err = net_bind_err(e);
        net_why(why, e, "cannot bind %s: %s%s", listen, zmq_strerror(e),
                err == NET_ERR_BIND ? " — is another evoted running, or is the address not this machine's?" : "");
        goto fail;
    }
    if (zmq_getsockopt(self->router, ZMQ_LAST_ENDPOINT, self->listen_endpoint, &ep_len) != 0)
        snprintf(self->listen_endpoint, sizeof self->listen_endpoint, "%s", listen);

    for (uint32_t i = 0; i < self->n; i++) {
        if (i == self->self)
            continue;
        if (zmq_connect(self->dealers[i], self->validators[i].endpoint) != 0) {
            int e = zmq_errno();
            err = e == ENOMEM ? NET_ERR_NOMEM : NET_ERR_ENDPOINT;
            net_why(why, e, "validator %u: cannot connect to %s: %s", i, self->validators[i].endpoint,
                    zmq_strerror(e));
            goto fail;
        }
    }
    *out = self;
    return NET_OK;

fail:
    peer_net_destroy(&self);
    return err;
}

void peer_net_destroy(peer_net **pself)
{
    peer_net *self;

    if (pself == NULL || *pself == NULL)
        return;
    self = *pself;
    /* The ROUTER goes first, while the ZAP handler still answers: no
     * handshake can ever complete unauthenticated. */
    if (self->router != NULL)
        zmq_close(self->router);
    if (self->dealers != NULL)
        for (uint32_t i = 0; i < self->n; i++)
            if (self->dealers[i] != NULL)
                zmq_close(self->dealers[i]);
    if (self->thread_started) {
        char stop = 1;
        (void)zmq_send(self->ctrl_owner, &stop, 1, 0);
        pthread_join(self->thread, NULL);
    }
    if (self->zap != NULL)
        zmq_close(self->zap);
    if (self->mons != NULL)
        for (uint32_t i = 0; i <= self->n; i++)
            if (self->mons[i] != NULL)
                zmq_close(self->mons[i]);
    if (self->ctrl_owner != NULL)
        zmq_close(self->ctrl_owner);
    if (self->ctrl_thread != NULL)
        zmq_close(self->ctrl_thread);
    if (self->ctx != NULL) {
        while (zmq_ctx_term(self->ctx) != 0 && zmq_errno() == EINTR)
            ;
    }
    crypto_wipe(self->secret_key, sizeof self->secret_key);
    free(self->validators);
    free(self->dealers);
    free(self->mons);
    free(self->peers);
    free(self->items);
    free(self->item_owner);
    free(self);
    *pself = NULL;
}

/* ------------------------------------------------------------------ methods */

void *peer_net_poll_socket(peer_net *self)
{
    return self->router;
}

const char *peer_net_listen_endpoint(const peer_net *self)
{
    return self->listen_endpoint;
}

uint32_t peer_net_self(const peer_net *self)
{
    return self->self;
}

/* Reads and discards the rest of a multi-part message. */
static void drain_more(void *sock)
{
    int more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
}

net_err peer_net_recv(peer_net *self, uint32_t *from, uint8_t **bytes, size_t *len)
{
    for (int dropped = 0; dropped < RECV_DROP_BUDGET; dropped++) {
        zmq_msg_t id, body;
        uint32_t index;
        size_t size;

        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, self->router, ZMQ_DONTWAIT) < 0) {
            int e = zmq_errno();
            zmq_msg_close(&id);
            if (e == EAGAIN || e == EINTR)
                return NET_ERR_AGAIN;
            set_last_error(self, "peer receive");
            return e == ENOMEM ? NET_ERR_NOMEM : NET_ERR_ZMQ;
        }
        if (!zmq_msg_more(&id)) { /* a ROUTER always prefixes the routing id */
            zmq_msg_close(&id);
            count(&self->dropped_malformed);
            continue;
        }
        zmq_msg_close(&id);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&body, self->router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&body);
            count(&self->dropped_malformed);
            continue;
        }
        if (zmq_msg_more(&body)) {
            zmq_msg_close(&body);
            drain_more(self->router);
            count(&self->dropped_malformed);
            continue;
        }
        size = zmq_msg_size(&body);
        if (size == 0) {
            zmq_msg_close(&body);
            count(&self->dropped_malformed);
            continue;
        }
        if (!parse_index(zmq_msg_gets(&body, "User-Id"), self->n, &index) || index == self->self) {
            zmq_msg_close(&body);
            count(&self->dropped_unauthenticated);
            continue;
        }
        *bytes = malloc(size);
        if (*bytes == NULL) {
            zmq_msg_close(&body);
            snprintf(self->last_error, sizeof self->last_error, "peer receive: out of memory for %zu bytes", size);
            return NET_ERR_NOMEM;
        }
        memcpy(*bytes, zmq_msg_data(&body), size);
        zmq_msg_close(&body);
        *len = size;
        *from = index;
        count(&self->received);
        count(&self->peers[index].received);
        return NET_OK;
    }
    return NET_ERR_AGAIN;
}

/* One outgoing message's bytes, shared by every peer it goes to. Each
 * destination gets its own zmq message over the same bytes (zmq_msg_init_data)
 * with its own release hint, so that the bytes count against each peer's
 * queue until libzmq is done with that peer's copy; the last release frees
 * the buffer. */
typedef struct out_buf out_buf;
typedef struct {
    out_buf *buf;
    peer_slot *peer;
} out_ref;
struct out_buf {
    atomic_uint refs;
    size_t len;
    uint8_t *data;
    out_ref ref[]; /* one per destination */
};

static out_buf *out_buf_new(const uint8_t *bytes, size_t len, uint32_t destinations)
{
    out_buf *b = malloc(sizeof *b + destinations * sizeof(out_ref) + len);
    if (b == NULL)
        return NULL;
    atomic_init(&b->refs, 1); /* the sender's own, dropped by out_buf_put */
    b->len = len;
    b->data = (uint8_t *)&b->ref[destinations];
    memcpy(b->data, bytes, len);
    return b;
}

static void out_buf_put(out_buf *b)
{
    if (atomic_fetch_sub(&b->refs, 1) == 1)
        free(b);
}

/* libzmq's free function: runs on its I/O thread, or on ours when a send
 * fails or a socket closes. */
static void release(void *data, void *hint)
{
    out_ref *r = hint;
    (void)data;
    atomic_fetch_sub(&r->peer->queued, r->buf->len);
    out_buf_put(r->buf);
}

/* Queues b's bytes for peer i (destination slot k of b) without blocking.
 * Each peer's queue has a budget in bytes as well as sndhwm messages (a
 * PRE-PREPARE carries its batch, so 1,000 messages can be gigabytes):
 * queue_bytes while it is connected, the smaller down_queue_bytes while it
 * is not (measured before this budget existed: +45 MB on the primary within
 * a minute of one validator's death). Past it, the message is dropped and
 * counted; the peer fetches what it missed. */
static net_err send_one(peer_net *self, uint32_t i, out_buf *b, uint32_t k)
{
    peer_slot *p = &self->peers[i];
    size_t budget = atomic_load(&p->connected) ? self->queue_bytes : self->down_queue_bytes;
    size_t queued = atomic_load(&p->queued);
    zmq_msg_t msg;
    int e;

    if (b->len > budget || queued > budget - b->len)
        goto full;
    b->ref[k].buf = b;
    b->ref[k].peer = p;
    atomic_fetch_add(&b->refs, 1);
    atomic_fetch_add(&p->queued, b->len);
    if (zmq_msg_init_data(&msg, b->data, b->len, release, &b->ref[k]) != 0) {
        atomic_fetch_sub(&p->queued, b->len);
        out_buf_put(b);
        set_last_error(self, "peer send");
        return NET_ERR_NOMEM;
    }
    if (zmq_msg_send(&msg, self->dealers[i], ZMQ_DONTWAIT) >= 0) {
        count(&self->sent);
        count(&p->sent);
        return NET_OK;
    }
    e = zmq_errno();
    zmq_msg_close(&msg); /* release() gives the bytes back */
    if (e == EAGAIN)
        goto full;
    set_last_error(self, "peer send");
    return e == ENOMEM ? NET_ERR_NOMEM : NET_ERR_ZMQ;
full:
    count(&self->dropped_queue_full);
    count(&p->dropped_queue_full);
    return NET_ERR_QUEUE_FULL;
}

static net_err check_payload(peer_net *self, const uint8_t *bytes, size_t len)
{
    if (bytes == NULL || len == 0)
        return NET_ERR_EMPTY;
    if (len > self->max_msg_size) {
        count(&self->dropped_oversized);
        return NET_ERR_TOO_LARGE;
    }
    return NET_OK;
}

net_err peer_net_send(peer_net *self, uint32_t to, const uint8_t *bytes, size_t len)
{
    out_buf *b;
    net_err err;

    if (to >= self->n || to == self->self)
        return NET_ERR_BAD_INDEX;
    err = check_payload(self, bytes, len);
    if (err != NET_OK)
        return err;
    if ((b = out_buf_new(bytes, len, 1)) == NULL) {
        set_last_error(self, "peer send");
        return NET_ERR_NOMEM;
    }
    err = send_one(self, to, b, 0);
    out_buf_put(b);
    return err;
}

net_err peer_net_broadcast(peer_net *self, const uint8_t *bytes, size_t len)
{
    out_buf *b;
    net_err err, result = NET_OK;

    err = check_payload(self, bytes, len);
    if (err != NET_OK)
        return err;
    if ((b = out_buf_new(bytes, len, self->n)) == NULL) {
        set_last_error(self, "peer broadcast");
        return NET_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < self->n; i++) {
        if (i == self->self)
            continue;
        err = send_one(self, i, b, i);
        if (err == NET_ERR_QUEUE_FULL && result == NET_OK)
            result = err;
        else if (err != NET_OK && err != NET_ERR_QUEUE_FULL)
            result = err;
    }
    out_buf_put(b);
    return result;
}

int peer_net_connected(const peer_net *self, uint32_t index)
{
    if (index >= self->n || index == self->self)
        return 0;
    return atomic_load(&self->peers[index].connected) ? 1 : 0;
}

uint32_t peer_net_connected_count(const peer_net *self)
{
    uint32_t c = 0;
    for (uint32_t i = 0; i < self->n; i++)
        c += (uint32_t)peer_net_connected(self, i);
    return c;
}

void peer_net_get_stats(const peer_net *self, peer_net_stats *out)
{
    out->sent = read_counter(&self->sent);
    out->received = read_counter(&self->received);
    out->dropped_queue_full = read_counter(&self->dropped_queue_full);
    out->queued_bytes = 0;
    for (uint32_t i = 0; i < self->n; i++)
        out->queued_bytes += atomic_load(&((peer_net *)self)->peers[i].queued);
    out->dropped_oversized = read_counter(&self->dropped_oversized);
    out->dropped_malformed = read_counter(&self->dropped_malformed);
    out->dropped_unauthenticated = read_counter(&self->dropped_unauthenticated);
    out->refused_unknown_key = read_counter(&self->refused_unknown_key);
    out->inbound_handshake_failed = read_counter(&self->inbound_handshake_failed);
    out->inbound_disconnects = read_counter(&self->inbound_disconnects);
    out->peers_connected = peer_net_connected_count(self);
}

void peer_net_get_peer_stats(const peer_net *self, uint32_t index, peer_net_peer_stats *out)
{
    memset(out, 0, sizeof *out);
    if (index >= self->n || index == self->self)
        return;
    const peer_slot *p = &self->peers[index];
    out->connected = peer_net_connected(self, index);
    out->sent = read_counter(&p->sent);
    out->dropped_queue_full = read_counter(&p->dropped_queue_full);
    out->queued_bytes = atomic_load((atomic_size_t *)&p->queued);
    out->received = read_counter(&p->received);
    out->handshake_failures = read_counter(&p->handshake_failures);
}

const char *peer_net_last_error(const peer_net *self)
{
    return self->last_error;
}
