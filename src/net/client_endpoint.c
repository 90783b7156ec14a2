/* client_endpoint: the ROUTER where voters, officials and the CLI send
 * requests, with REQ-compatible framing ([empty][body] behind the routing
 * id). Optional CURVE encryption without client authentication: clients
 * prove themselves by the signatures inside their requests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "net_internal.h"

struct client_endpoint {
    void *ctx;
    void *router;
    size_t max_msg_size;
    char endpoint[NET_MAX_ENDPOINT + 1];
    client_endpoint_stats stats;
};

static net_err fail_zmq(net_error *why, const char *what)
{
    int e = zmq_errno();
    net_why(why, e, "%s: %s", what, zmq_strerror(e));
    return e == ENOMEM ? NET_ERR_NOMEM : NET_ERR_ZMQ;
}

net_err client_endpoint_new(const client_endpoint_config *cfg, client_endpoint **out, net_error *why)
{
    client_endpoint *self;
    size_t ep_len = NET_MAX_ENDPOINT + 1;
    int64_t max;
    int hwm, linger;
    net_err err;

    if (why != NULL) {
        why->zmq_errno = 0;
        why->detail[0] = '\0';
    }
    if (out == NULL)
        return NET_ERR_CONFIG;
    *out = NULL;
    if (cfg == NULL || cfg->hwm < 0 || cfg->linger_ms < 0 || cfg->max_msg_size > (size_t)INT64_MAX) {
        net_why(why, 0, "invalid client endpoint configuration");
        return NET_ERR_CONFIG;
    }
    if (!net_endpoint_ok(cfg->endpoint, 1)) {
        net_why(why, 0, "client endpoint '%.256s' is not tcp://host:port", cfg->endpoint ? cfg->endpoint : "");
        return NET_ERR_ENDPOINT;
    }
    if (cfg->curve && !net_has_curve()) {
        net_why(why, 0, "libzmq has no CURVE support");
        return NET_ERR_NO_CURVE;
    }
    self = calloc(1, sizeof *self);
    if (self == NULL)
        return NET_ERR_NOMEM;
    self->max_msg_size = cfg->max_msg_size ? cfg->max_msg_size : NET_DEFAULT_CLIENT_MAX_MSG_SIZE;
    max = (int64_t)self->max_msg_size;
    hwm = cfg->hwm ? cfg->hwm : NET_DEFAULT_CLIENT_HWM;
    linger = cfg->linger_ms ? cfg->linger_ms : NET_DEFAULT_LINGER_MS;

    self->ctx = zmq_ctx_new();
    if (self->ctx == NULL) {
        err = fail_zmq(why, "cannot create a ZeroMQ context");
        goto fail;
    }
    self->router = zmq_socket(self->ctx, ZMQ_ROUTER);
    /* ROUTER_MANDATORY: a reply to a client that left fails (EHOSTUNREACH)
     * instead of vanishing, so it is counted. */
    if (self->router == NULL || net_set_int(self->router, ZMQ_LINGER, linger) ||
        net_set_int(self->router, ZMQ_SNDHWM, hwm) || net_set_int(self->router, ZMQ_RCVHWM, hwm) ||
        net_set_int(self->router, ZMQ_ROUTER_MANDATORY, 1) ||
        zmq_setsockopt(self->router, ZMQ_MAXMSGSIZE, &max, sizeof max)) {
        err = fail_zmq(why, "cannot set up the client ROUTER socket");
        goto fail;
    }
    if (cfg->curve && (net_set_int(self->router, ZMQ_CURVE_SERVER, 1) ||
                       zmq_setsockopt(self->router, ZMQ_CURVE_SECRETKEY, cfg->curve_secret, NET_CURVE_KEY_LEN))) {
        err = fail_zmq(why, "cannot set the client endpoint's CURVE key");
        goto fail;
    }
    if (zmq_bind(self->router, cfg->endpoint) != 0) {
        int e = zmq_errno();
        err = net_bind_err(e);
        net_why(why, e, "cannot bind %s: %s%s", cfg->endpoint, zmq_strerror(e),
                err == NET_ERR_BIND ? " — is another evoted running, or is the address not this machine's?" : "");
        goto fail;
    }
    if (zmq_getsockopt(self->router, ZMQ_LAST_ENDPOINT, self->endpoint, &ep_len) != 0)
        snprintf(self->endpoint, sizeof self->endpoint, "%s", cfg->endpoint);
    *out = self;
    return NET_OK;

fail:
    client_endpoint_destroy(&self);
    return err;
}

void client_endpoint_destroy(client_endpoint **pself)
{
    client_endpoint *self;
    if (pself == NULL || *pself == NULL)
        return;
    self = *pself;
    if (self->router != NULL)
        zmq_close(self->router);
    if (self->ctx != NULL)
        while (zmq_ctx_term(self->ctx) != 0 && zmq_errno() == EINTR)
            ;
    free(self);
    *pself = NULL;
}

void *client_endpoint_poll_socket(client_endpoint *self)
{
    return self->router;
}

const char *client_endpoint_endpoint(const client_endpoint *self)
{
    return self->endpoint;
}

/* Reads the rest of a message, discarding it. */
static void drain(void *sock, int more)
{
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

/* Reads one frame. Returns: 1 and *more, or 0 (nothing / error, in errno). */
static int read_frame(void *sock, zmq_msg_t *m, int *more)
{
    zmq_msg_init(m);
    if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(m);
        return 0;
    }
    *more = zmq_msg_more(m);
    return 1;
}

net_err client_endpoint_recv(client_endpoint *self, client_request *req)
{
    for (int budget = 0; budget < 64; budget++) {
        zmq_msg_t id, delim, body;
        int more = 0;
        size_t size;

        if (!read_frame(self->router, &id, &more)) {
            int e = zmq_errno();
            if (e == EAGAIN || e == EINTR)
                return NET_ERR_AGAIN;
            return e == ENOMEM ? NET_ERR_NOMEM : NET_ERR_ZMQ;
        }
        size = zmq_msg_size(&id);
        if (!more || size == 0 || size > NET_MAX_ROUTING_ID) {
            zmq_msg_close(&id);
            drain(self->router, more);
            self->stats.dropped_malformed++;
            continue;
        }
        if (!read_frame(self->router, &delim, &more)) {
            zmq_msg_close(&id);
            self->stats.dropped_malformed++;
            continue;
        }
        if (!more || zmq_msg_size(&delim) != 0) {
            zmq_msg_close(&delim);
            zmq_msg_close(&id);
            drain(self->router, more);
            self->stats.dropped_malformed++;
            continue;
        }
        zmq_msg_close(&delim);
        if (!read_frame(self->router, &body, &more)) {
            zmq_msg_close(&id);
            self->stats.dropped_malformed++;
            continue;
        }
        if (more || zmq_msg_size(&body) == 0) {
            zmq_msg_close(&body);
            zmq_msg_close(&id);
            drain(self->router, more);
            self->stats.dropped_malformed++;
            continue;
        }
        req->len = zmq_msg_size(&body);
        req->data = malloc(req->len);
        if (req->data == NULL) {
            zmq_msg_close(&body);
            zmq_msg_close(&id);
            return NET_ERR_NOMEM;
        }
        memcpy(req->data, zmq_msg_data(&body), req->len);
        {
            const char *addr = zmq_msg_gets(&body, "Peer-Address");
            snprintf(req->address, sizeof req->address, "%s", addr != NULL ? addr : "");
        }
        memcpy(req->reply.id, zmq_msg_data(&id), size);
        req->reply.id_len = (uint8_t)size;
        req->reply.slot = 0;
        zmq_msg_close(&body);
        zmq_msg_close(&id);
        self->stats.received++;
        return NET_OK;
    }
    return NET_ERR_AGAIN;
}

net_err client_endpoint_reply(client_endpoint *self, const client_reply_handle *to, const uint8_t *bytes,
                              size_t len)
{
    zmq_msg_t msg;

    if (bytes == NULL || len == 0)
        return NET_ERR_EMPTY;
    if (len > NET_DEFAULT_CLIENT_MAX_MSG_SIZE) /* what a client takes (max_msg_size bounds requests) */
        return NET_ERR_TOO_LARGE;
    if (to == NULL || to->id_len == 0) {
        self->stats.reply_failed++;
        return NET_ERR_PEER_GONE;
    }
    /* The routing id decides: with ROUTER_MANDATORY a gone client fails here,
     * and once the first frame is taken the rest of the message is too. */
    if (zmq_send(self->router, to->id, to->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno();
        self->stats.reply_failed++;
        if (e == EHOSTUNREACH)
            return NET_ERR_PEER_GONE;
        if (e == EAGAIN)
            return NET_ERR_QUEUE_FULL;
        return NET_ERR_ZMQ;
    }
    if (zmq_send(self->router, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        self->stats.reply_failed++;
        return NET_ERR_ZMQ;
    }
    if (zmq_msg_init_size(&msg, len) != 0) {
        (void)zmq_send(self->router, "", 0, ZMQ_DONTWAIT); /* end the started message */
        self->stats.reply_failed++;
        return NET_ERR_NOMEM;
    }
    memcpy(zmq_msg_data(&msg), bytes, len);
    if (zmq_msg_send(&msg, self->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        self->stats.reply_failed++;
        return NET_ERR_ZMQ;
    }
    self->stats.replied++;
    return NET_OK;
}

void client_endpoint_get_stats(const client_endpoint *self, client_endpoint_stats *out)
{
    *out = self->stats;
}
