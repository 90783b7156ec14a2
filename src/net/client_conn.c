/* client_conn: a blocking request/reply connection to a client endpoint, for
 * the CLI and tests. A DEALER speaking REQ framing; after a timeout the socket
 * is thrown away so a late reply can never answer the next request. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "net_internal.h"

struct client_conn {
    void *ctx;
    void *sock; /* NULL after a timeout until the next call */
    char endpoint[NET_MAX_ENDPOINT + 1];
    int curve;
    uint8_t server_public[NET_CURVE_KEY_LEN];
    int timeout_ms;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_socket(client_conn *self)
{
    if (self->sock != NULL) {
        net_set_int(self->sock, ZMQ_LINGER, 0);
        zmq_close(self->sock);
        self->sock = NULL;
    }
}

/* Opens a fresh DEALER (with a fresh ephemeral CURVE key pair). */
static net_err open_socket(client_conn *self, net_error *why)
{
    int64_t max = (int64_t)NET_DEFAULT_CLIENT_MAX_MSG_SIZE;
    net_curve_keypair kp;
    net_err err;
    int e;

    self->sock = zmq_socket(self->ctx, ZMQ_DEALER);
    if (self->sock == NULL || net_set_int(self->sock, ZMQ_LINGER, 0) ||
        zmq_setsockopt(self->sock, ZMQ_MAXMSGSIZE, &max, sizeof max) ||
        net_set_int(self->sock, ZMQ_RECONNECT_IVL, 100) || net_set_int(self->sock, ZMQ_RECONNECT_IVL_MAX, 1000))
        goto zmq_failed;
    if (self->curve) {
        err = net_curve_keypair_generate(&kp);
        if (err != NET_OK) {
            close_socket(self);
            net_why(why, 0, "cannot draw a CURVE key pair");
            return err;
        }
        e = zmq_setsockopt(self->sock, ZMQ_CURVE_SERVERKEY, self->server_public, NET_CURVE_KEY_LEN) ||
            zmq_setsockopt(self->sock, ZMQ_CURVE_PUBLICKEY, kp.public_key, NET_CURVE_KEY_LEN) ||
            zmq_setsockopt(self->sock, ZMQ_CURVE_SECRETKEY, kp.secret_key, NET_CURVE_KEY_LEN);
        net_curve_keypair_wipe(&kp);
        if (e)
            goto zmq_failed;
    }
    if (zmq_connect(self->sock, self->endpoint) != 0) {
        e = zmq_errno();
        close_socket(self);
        net_why(why, e, "cannot connect to %s: %s", self->endpoint, zmq_strerror(e));
        return e == ENOMEM ? NET_ERR_NOMEM : NET_ERR_ENDPOINT;
    }
    return NET_OK;

zmq_failed:
    e = zmq_errno();
    close_socket(self);
    net_why(why, e, "cannot set up the client socket: %s", zmq_strerror(e));
    return e == ENOMEM ? NET_ERR_NOMEM : NET_ERR_ZMQ;
}

net_err client_conn_new(const char *endpoint, const uint8_t *server_curve_public, int timeout_ms,
                        client_conn **out, net_error *why)
{
    client_conn *self;
    net_err err;

    if (why != NULL) {
        why->zmq_errno = 0;
        why->detail[0] = '\0';
    }
    if (out == NULL)
        return NET_ERR_CONFIG;
    *out = NULL;
    if (timeout_ms <= 0) {
        net_why(why, 0, "the timeout must be positive");
        return NET_ERR_CONFIG;
    }
    if (!net_endpoint_ok(endpoint, 0)) {
        net_why(why, 0, "'%.256s' is not tcp://host:port", endpoint ? endpoint : "");
        return NET_ERR_ENDPOINT;
    }
    if (server_curve_public != NULL && !net_has_curve()) {
        net_why(why, 0, "libzmq has no CURVE support");
        return NET_ERR_NO_CURVE;
    }
    self = calloc(1, sizeof *self);
    if (self == NULL)
        return NET_ERR_NOMEM;
    strcpy(self->endpoint, endpoint);
    self->timeout_ms = timeout_ms;
    if (server_curve_public != NULL) {
        self->curve = 1;
        memcpy(self->server_public, server_curve_public, NET_CURVE_KEY_LEN);
    }
    self->ctx = zmq_ctx_new();
    if (self->ctx == NULL) {
        int e = zmq_errno();
        net_why(why, e, "cannot create a ZeroMQ context: %s", zmq_strerror(e));
        free(self);
        return NET_ERR_ZMQ;
    }
    err = open_socket(self, why);
    if (err != NET_OK) {
        client_conn_destroy(&self);
        return err;
    }
    *out = self;
    return NET_OK;
}

void client_conn_destroy(client_conn **pself)
{
    client_conn *self;
    if (pself == NULL || *pself == NULL)
        return;
    self = *pself;
    close_socket(self);
    if (self->ctx != NULL)
        while (zmq_ctx_term(self->ctx) != 0 && zmq_errno() == EINTR)
            ;
    free(self);
    *pself = NULL;
}

static net_err read_reply(client_conn *self, uint8_t **resp, size_t *resp_len);

/* Waits until sock is readable or the deadline passes. Returns: 1, 0 on
 * timeout, -1 on error. */
static int wait_readable(void *sock, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
        int rc;
        if (left <= 0)
            return 0;
        rc = zmq_poll(&item, 1, (long)left);
        if (rc < 0) {
            if (zmq_errno() == EINTR)
                continue;
            return -1;
        }
        if (rc > 0 && (item.revents & ZMQ_POLLIN))
            return 1;
    }
}

net_err client_conn_send(client_conn *self, const uint8_t *req, size_t len)
{
    net_err err;

    if (req == NULL || len == 0)
        return NET_ERR_EMPTY;
    if (len > NET_DEFAULT_CLIENT_MAX_MSG_SIZE)
        return NET_ERR_TOO_LARGE;
    if (self->sock == NULL) {
        err = open_socket(self, NULL);
        if (err != NET_OK)
            return err;
    }
    /* A DEALER's queue to its one endpoint exists from connect on, so these
     * sends do not block even before the connection is up. A request is two
     * frames: ZeroMQ queues a multi-part message whole or not at all. */
    if (zmq_send(self->sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(self->sock, req, len, ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno();
        close_socket(self);
        return e == EAGAIN ? NET_ERR_QUEUE_FULL : (e == ENOMEM ? NET_ERR_NOMEM : NET_ERR_ZMQ);
    }
    return NET_OK;
}

void *client_conn_poll_socket(client_conn *self)
{
    return self->sock;
}

void client_conn_reset(client_conn *self)
{
    close_socket(self);
}

net_err client_conn_recv(client_conn *self, int wait_ms, uint8_t **resp, size_t *resp_len)
{
    int rc;

    if (self->sock == NULL)
        return NET_ERR_TIMEOUT;
    rc = wait_readable(self->sock, now_ms() + (wait_ms > 0 ? wait_ms : 0));
    if (rc == 0 && wait_ms <= 0) { /* a zero wait: one non-blocking look */
        zmq_pollitem_t item = {.socket = self->sock, .events = ZMQ_POLLIN};
        rc = zmq_poll(&item, 1, 0);
        rc = rc < 0 ? -1 : (rc > 0 && (item.revents & ZMQ_POLLIN) ? 1 : 0);
    }
    if (rc == 0)
        return NET_ERR_TIMEOUT;
    if (rc < 0) {
        close_socket(self);
        return NET_ERR_ZMQ;
    }
    return read_reply(self, resp, resp_len);
}

net_err client_conn_call(client_conn *self, const uint8_t *req, size_t len, uint8_t **resp, size_t *resp_len)
{
    int64_t deadline = now_ms() + self->timeout_ms;
    net_err err;
    int rc;

    err = client_conn_send(self, req, len);
    if (err != NET_OK)
        return err == NET_ERR_QUEUE_FULL ? NET_ERR_TIMEOUT : err;
    rc = wait_readable(self->sock, deadline);
    if (rc <= 0) {
        close_socket(self);
        return rc == 0 ? NET_ERR_TIMEOUT : NET_ERR_ZMQ;
    }
    return read_reply(self, resp, resp_len);
}

/* Reads one reply from a readable socket; a malformed one costs the socket
 * (the rest of it is discarded with it). */
static net_err read_reply(client_conn *self, uint8_t **resp, size_t *resp_len)
{
    zmq_msg_t delim, body;

    /* The reply must be exactly [empty][non-empty body]. */
    zmq_msg_init(&delim);
    if (zmq_msg_recv(&delim, self->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&delim);
        close_socket(self);
        return NET_ERR_ZMQ;
    }
    if (zmq_msg_size(&delim) != 0 || !zmq_msg_more(&delim)) {
        zmq_msg_close(&delim);
        close_socket(self); /* also discards the rest of the bad reply */
        return NET_ERR_MALFORMED;
    }
    zmq_msg_close(&delim);
    zmq_msg_init(&body);
    if (zmq_msg_recv(&body, self->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&body);
        close_socket(self);
        return NET_ERR_ZMQ;
    }
    if (zmq_msg_more(&body) || zmq_msg_size(&body) == 0) {
        zmq_msg_close(&body);
        close_socket(self);
        return NET_ERR_MALFORMED;
    }
    *resp_len = zmq_msg_size(&body);
    *resp = malloc(*resp_len);
    if (*resp == NULL) {
        zmq_msg_close(&body);
        return NET_ERR_NOMEM;
    }
    memcpy(*resp, zmq_msg_data(&body), *resp_len);
    zmq_msg_close(&body);
    return NET_OK;
}
