/* What the client commands share (cmd_client.c, cmd_election.c): options
 * common to every command that talks to a node, printing of what a node
 * sent (made safe for a terminal or JSON), node_call() that sends one
 * ApiRequest and checks the ApiResponse, and submitting a signed
 * transaction with an optional wait for its commit. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.pb-c.h"
#include "consensus.pb-c.h"
#include "replica.h"
#include "cli.h"
#include "crypto.h"
#include "election.h"
#include "ledger.h"
#include "net.h"

void node_opts_init(node_opts *o, const char *cmd)
{
    o->cmd = cmd;
    o->node = DEFAULT_NODE;
    o->timeout_ms = DEFAULT_TIMEOUT_MS;
    o->json = 0;
    o->node_given = 0;
    o->n_alt = 0;
}

/* Parses milliseconds lo..MAX_MS for option `opt`. Returns: 1, or 0 after
 * printing why. */
int parse_ms(const char *cmd, const char *opt, const char *s, long lo, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > MAX_MS) {
        fprintf(stderr, "evote %s: %s takes milliseconds %ld..%ld, not '%s'\n", cmd, opt, lo, MAX_MS, s);
        return 0;
    }
    *out = v;
    return 1;
}

/* Handles the options every client command has. Returns: 1 when c was one
 * of them, 0 when it is not, -1 on a bad value (printed). */
int node_spec_split(const char *spec, const char **endpoint, uint8_t key[NET_CURVE_KEY_LEN], int *curve)
{
    char z85[NET_CURVE_Z85_LEN + 1];

    *endpoint = spec;
    *curve = 0;
    if (strncmp(spec, "tcp://", 6) == 0 || strchr(spec, '@') == NULL)
        return 1;
    if (strlen(spec) <= NET_CURVE_Z85_LEN || spec[NET_CURVE_Z85_LEN] != '@')
        return 0;
    memcpy(z85, spec, NET_CURVE_Z85_LEN);
    z85[NET_CURVE_Z85_LEN] = '\0';
    if (net_z85_decode(z85, key) != NET_OK)
        return 0;
    *endpoint = spec + NET_CURVE_Z85_LEN + 1;
    *curve = 1;
    return 1;
}

net_err node_spec_conn(const char *spec, long timeout_ms, client_conn **out, net_error *why)
{
    uint8_t key[NET_CURVE_KEY_LEN];
    const char *ep;
    int curve;

    if (!node_spec_split(spec, &ep, key, &curve)) {
        if (why != NULL) {
            why->zmq_errno = 0;
            snprintf(why->detail, sizeof why->detail, "the CURVE key before '@' is not 40 Z85 characters");
        }
        return NET_ERR_ENDPOINT;
    }
    return client_conn_new(ep, curve ? key : NULL, (int)timeout_ms, out, why);
}

int node_opt(node_opts *o, int c, const char *arg)
{
    const char *ep;
    uint8_t key[NET_CURVE_KEY_LEN];
    int curve;

    switch (c) {
    case OPT_NODE:
        if (!node_spec_split(arg, &ep, key, &curve)) {
            fprintf(stderr,
                    "evote %s: --node '%s': expected tcp://HOST:PORT, or KEY@tcp://HOST:PORT with KEY the "
                    "validator's CURVE public key from the genesis (40 Z85 characters)\n",
                    o->cmd, arg);
            return -1;
        }
        if (!o->node_given) {
            o->node = arg;
            o->node_given = 1;
        } else if (o->n_alt < NODE_MAX_ALT) {
            o->alt[o->n_alt++] = arg;
        } else {
            fprintf(stderr, "evote %s: at most %d --node\n", o->cmd, NODE_MAX_ALT + 1);
            return -1;
        }
        return 1;
    case OPT_TIMEOUT: return parse_ms(o->cmd, "--timeout", arg, 1, &o->timeout_ms) ? 1 : -1;
    case OPT_JSON: o->json = 1; return 1;
    default: return 0;
    }
}

/* After getopt has said what is wrong. Returns: EXIT_USAGE. */
int usage_error(const char *help)
{
    fputs(help, stderr);
    return EXIT_USAGE;
}

/* Checks that exactly `want` operands follow the options (`what` names the
 * one that may be missing). Returns: 1, or 0 after printing what is wrong
 * and the help. */
int operands_ok(const char *cmd, int argc, char **argv, int want, const char *what, const char *help)
{
    int have = argc - optind;
    if (have == want)
        return 1;
    if (have < want)
        fprintf(stderr, "evote %s: missing %s\n\n", cmd, what);
    else
        fprintf(stderr, "evote %s: unexpected argument '%s'\n\n", cmd, argv[optind + want]);
    fputs(help, stderr);
    return 0;
}

/* Returns: EXIT_USAGE after saying that option `opt` must be given. */
int missing_option(const char *cmd, const char *opt, const char *help)
{
    fprintf(stderr, "evote %s: %s is required\n\n", cmd, opt);
    fputs(help, stderr);
    return EXIT_USAGE;
}

/* ------------------------------------------------------------ printing */

void print_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

void print_bytes_hex(const ProtobufCBinaryData *b)
{
    print_hex(b->data, b->len);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when s starts no
 * valid sequence (overlong forms, surrogates and values past U+10FFFF
 * included). */
size_t utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

/* Text from the network, made safe for a terminal: control characters
 * (C0 and C1) and bytes that are not UTF-8 become '?', and it is cut at
 * size - 1 bytes. Returns: buf. */
const char *clean(const char *s, char *buf, size_t size)
{
    const unsigned char *p;
    size_t i = 0;
    if (s == NULL || *s == '\0')
        s = "(no reason given)";
    p = (const unsigned char *)s;
    while (*p != '\0' && i + 1 < size) {
        size_t n = utf8_seq(p);
        if (n == 0 || *p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] < 0xa0) || i + n >= size) {
            buf[i++] = '?';
            p += n ? n : 1;
        } else {
            memcpy(buf + i, p, n);
            i += n;
            p += n;
        }
    }
    buf[i] = '\0';
    return buf;
}

/* Prints s as a JSON string: quotes, backslashes and control characters
 * escaped, bytes that are not UTF-8 replaced by U+FFFD, so the output is
 * valid JSON whatever the node sent. */
void json_string(const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    putchar('"');
    while (*p != '\0') {
        size_t n = utf8_seq(p);
        if (n == 0) {
            fputs("\\ufffd", stdout);
            p++;
        } else if (*p == '"' || *p == '\\') {
            printf("\\%c", *p++);
        } else if (*p == '\n') {
            fputs("\\n", stdout);
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            printf("\\u%04x", *p++);
        } else {
            fwrite(p, 1, n, stdout);
            p += n;
        }
    }
    putchar('"');
}

void json_hex(const uint8_t *p, size_t n)
{
    putchar('"');
    print_hex(p, n);
    putchar('"');
}

/* Name of an enum value as in the .proto ("TX_RESULT_OK"); a number this
 * evote does not know is written as PREFIX<number>. Returns: name or buf. */
const char *enum_name(const ProtobufCEnumDescriptor *d, int v, const char *prefix, char *buf, size_t size)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    if (ev != NULL)
        return ev->name;
    snprintf(buf, size, "%s%d", prefix, v);
    return buf;
}

#define RESULT_NAME(v, buf) enum_name(&evote__v1__tx_result__descriptor, (int)(v), "TX_RESULT_", buf, sizeof buf)
#define STATUS_NAME(v, buf) enum_name(&evote__v1__api_status__descriptor, (int)(v), "API_STATUS_", buf, sizeof buf)

/* ------------------------------------------------------- talking to a node */

/* Sends req to the node and waits up to o->timeout_ms + extra_ms for the
 * answer. Deals with everything that is not about one command: a bad --node,
 * no answer, a reply that is not an ApiResponse or answers another request,
 * and the statuses no command expects (BAD_REQUEST, INTERNAL, unknown).
 * With --node given again, the next node is asked when one does not answer
 * usably (submit_tx_answer goes further: see there).
 * Returns: 0 with *out (free with evote__v1__api_response__free_unpacked)
 *   when a node answered OK, REJECTED, BUSY or NOT_FOUND; otherwise
 *   EXIT_USAGE or EXIT_FAILED after printing what went wrong and what to do. */
/* The --node endpoints that did not answer (or not usably) earlier in this
 * command: the next calls ask them last, so that one validator down costs
 * a command one --timeout, not one per call. (Compared by text: a caller
 * may hand the same endpoint in another string. node_call runs on a
 * command's main thread only.) */
static const char *unanswered[NODE_MAX_ALT + 1];
static size_t n_unanswered;

static int did_not_answer(const char *node)
{
    for (size_t i = 0; i < n_unanswered; i++)
        if (strcmp(unanswered[i], node) == 0)
            return 1;
    return 0;
}

int node_call(const node_opts *o, Evote__V1__ApiRequest *req, long extra_ms, Evote__V1__ApiResponse **out)
{
    node_opts one = *o;
    int rc = EXIT_FAILED, asked = 0;
    uint8_t failed_now[NODE_MAX_ALT + 1] = {0};

    /* --node given again: a node that does not answer (or not usably) is
     * followed by the next; a bad endpoint is the user's to fix. Those
     * that failed in an earlier call of this command come last (second
     * pass); one that failed in this call is not asked twice. */
    one.n_alt = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k <= o->n_alt; k++) {
            client_conn *conn = NULL;
            const char *node = k == 0 ? o->node : o->alt[k - 1];
            if (did_not_answer(node) != pass || failed_now[k])
                continue;
            one.node = node;
            if (asked++ > 0)
                fprintf(stderr, "evote %s: asking %s instead\n", o->cmd, one.node);
            rc = node_call_conn(&one, &conn, req, extra_ms, out);
            client_conn_destroy(&conn);
            if (rc == 0 || rc == EXIT_USAGE)
                return rc;
            failed_now[k] = 1;
            if (!pass && n_unanswered < sizeof unanswered / sizeof unanswered[0])
                unanswered[n_unanswered++] = node;
        }
    }
    return rc;
}

/* As node_call, over *conn (opened on first use with the timeout
 * o->timeout_ms + extra_ms, kept for the next calls: the caller destroys
 * it). One thread at a time per conn. */
int node_call_conn(const node_opts *o, client_conn **connp, Evote__V1__ApiRequest *req, long extra_ms,
                   Evote__V1__ApiResponse **out)
{
    long timeout_ms = o->timeout_ms + extra_ms, waited_ms = 0;
    Evote__V1__ApiResponse *resp = NULL;
    uint8_t *buf = NULL, *reply = NULL;
    size_t len, reply_len = 0;
    char why_buf[512], name[32];
    net_error why;
    net_err err;
    int rc = EXIT_FAILED;

    *out = NULL;
    if (crypto_random(&req->request_id, sizeof req->request_id) != CRYPTO_OK || req->request_id == 0)
        req->request_id = (uint64_t)time(NULL) | 1; /* only matched against the echo */
    len = evote__v1__api_request__get_packed_size(req);
    buf = malloc(len ? len : 1);
    if (buf == NULL) {
        fprintf(stderr, "evote %s: out of memory\n", o->cmd);
        return EXIT_FAILED;
    }
    evote__v1__api_request__pack(req, buf);

    err = *connp != NULL ? NET_OK : node_spec_conn(o->node, timeout_ms, connp, &why);
    if (err == NET_ERR_ENDPOINT) {
        fprintf(stderr, "evote %s: --node '%s' is not an endpoint like %s\n", o->cmd, o->node, DEFAULT_NODE);
        rc = EXIT_USAGE;
        goto out;
    }
    if (err != NET_OK) {
        fprintf(stderr, "evote %s: cannot open a connection to %s: %s\n", o->cmd, o->node,
                why.detail[0] ? why.detail : net_strerror(err));
        goto out;
    }
again:
    err = client_conn_call(*connp, buf, len, &reply, &reply_len);
    switch (err) {
    case NET_OK: break;
    case NET_ERR_TIMEOUT:
        fprintf(stderr,
                "evote %s: no answer from %s within %ld ms: is evoted running there? (--node must be "
                "its client_listen endpoint, not peer_listen; for its client_curve_listen, KEY@ENDPOINT "
                "with the validator's CURVE public key from the genesis: a wrong key gets no answer)\n",
                o->cmd, o->node, timeout_ms);
        goto out;
    case NET_ERR_MALFORMED:
        fprintf(stderr,
                "evote %s: %s answered with frames that are not an evote reply: is it the client_listen "
                "endpoint of an evoted?\n",
                o->cmd, o->node);
        goto out;
    case NET_ERR_TOO_LARGE:
        fprintf(stderr, "evote %s: the request is %zu bytes, more than the %u a node accepts\n", o->cmd, len,
                NET_DEFAULT_CLIENT_MAX_MSG_SIZE);
        goto out;
    default:
        fprintf(stderr, "evote %s: talking to %s: %s\n", o->cmd, o->node, net_strerror(err));
        goto out;
    }

    resp = evote__v1__api_response__unpack(NULL, reply_len, reply);
    if (resp == NULL) {
        fprintf(stderr,
                "evote %s: %s sent %zu bytes that are not an ApiResponse: is it an evoted client endpoint, "
                "and of the same version as this evote?\n",
                o->cmd, o->node, reply_len);
        goto out;
    }
    if (resp->request_id != req->request_id) {
        fprintf(stderr,
                "evote %s: %s answered request %" PRIu64 " when %" PRIu64 " was asked: the node is faulty; "
                "try again or ask another node\n",
                o->cmd, o->node, resp->request_id, req->request_id);
        goto out;
    }
    /* A read over this address's budget (client_read_rate), or a
     * transaction from an address with too many refused
     * (client_refusal_rate): the node says when it will answer; wait that
     * long, within --timeout. */
    if (resp->status == EVOTE__V1__API_STATUS__API_STATUS_BUSY && resp->retry_after_ms > 0 &&
        waited_ms + (long)resp->retry_after_ms <= timeout_ms) {
        waited_ms += (long)resp->retry_after_ms;
        cli_sleep_ms((long)resp->retry_after_ms);
        evote__v1__api_response__free_unpacked(resp, NULL);
        resp = NULL;
        free(reply);
        reply = NULL;
        goto again;
    }
    switch (resp->status) {
    case EVOTE__V1__API_STATUS__API_STATUS_OK:
    case EVOTE__V1__API_STATUS__API_STATUS_REJECTED:
    case EVOTE__V1__API_STATUS__API_STATUS_BUSY:
    case EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND:
        *out = resp;
        resp = NULL;
        rc = 0;
        break;
    case EVOTE__V1__API_STATUS__API_STATUS_BAD_REQUEST:
        fprintf(stderr,
                "evote %s: %s refused the request as malformed: %s (is evoted the same version as this "
                "evote?)\n",
                o->cmd, o->node, clean(resp->reason, why_buf, sizeof why_buf));
        break;
    case EVOTE__V1__API_STATUS__API_STATUS_INTERNAL:
        fprintf(stderr, "evote %s: %s failed to answer: %s (its log says more)\n", o->cmd, o->node,
                clean(resp->reason, why_buf, sizeof why_buf));
        break;
    default:
        fprintf(stderr, "evote %s: %s answered %s, which this evote does not expect: %s\n", o->cmd, o->node,
                STATUS_NAME(resp->status, name), clean(resp->reason, why_buf, sizeof why_buf));
        break;
    }
out:
    if (resp != NULL)
        evote__v1__api_response__free_unpacked(resp, NULL);
    free(reply);
    free(buf);
    return rc;
}

/* For an answer a command cannot use: an unexpected status or a missing
 * part. Returns: EXIT_FAILED. */
int bad_answer(const node_opts *o, const Evote__V1__ApiResponse *resp, const char *what)
{
    char name[32], why[512];
    if (resp->status != EVOTE__V1__API_STATUS__API_STATUS_OK)
        fprintf(stderr, "evote %s: %s answered %s: %s\n", o->cmd, o->node, STATUS_NAME(resp->status, name),
                clean(resp->reason, why, sizeof why));
    else
        fprintf(stderr, "evote %s: %s answered OK but %s: the node is faulty or of another version\n", o->cmd,
                o->node, what);
    return EXIT_FAILED;
}

/* Asks for the node's status (get_status or get_tip). Returns: 0 with
 * *resp whose node is set, or an exit code after printing why. */
int ask_node_status(const node_opts *o, int tip_only, Evote__V1__ApiResponse **resp)
{
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__GetTip tip = EVOTE__V1__GET_TIP__INIT;
    Evote__V1__GetStatus status = EVOTE__V1__GET_STATUS__INIT;
    int rc;

    if (tip_only) {
        req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_TIP;
        req.get_tip = &tip;
    } else {
        req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_STATUS;
        req.get_status = &status;
    }
    rc = node_call(o, &req, 0, resp);
    if (rc != 0)
        return rc;
    if ((*resp)->status != EVOTE__V1__API_STATUS__API_STATUS_OK || (*resp)->node == NULL) {
        rc = bad_answer(o, *resp, "without the node status");
        evote__v1__api_response__free_unpacked(*resp, NULL);
        *resp = NULL;
    }
    return rc;
}

/* The tip hash: the node's, or at height 0 (no block yet) the chain id,
 * which block 1 links to. Returns: 1, or 0 when the answer has neither. */
int tip_hash(const Evote__V1__NodeStatus *ns, const ProtobufCBinaryData **out)
{
    if (ns->tip_hash.len == CRYPTO_HASH_LEN)
        *out = &ns->tip_hash;
    else if (ns->height == 0 && ns->chain_id.len == CRYPTO_CHAIN_ID_LEN)
        *out = &ns->chain_id;
    else
        return 0;
    return 1;
}


/* ------------------------------------------------------------------- tx */


/* Asks for a transaction's status, letting the node wait up to wait_ms for
 * its commit. NOT_FOUND is taken as UNKNOWN. Returns: 0 with *out, or an
 * exit code after printing why. */
int ask_tx(const node_opts *o, const uint8_t id[CRYPTO_HASH_LEN], long wait_ms, tx_answer *out)
{
    client_conn *conn = NULL;
    int rc = ask_tx_conn(o, &conn, id, wait_ms, out);
    client_conn_destroy(&conn);
    return rc;
}

/* As ask_tx, over *conn (see node_call_conn). */
int ask_tx_conn(const node_opts *o, client_conn **conn, const uint8_t id[CRYPTO_HASH_LEN], long wait_ms,
                tx_answer *out)
{
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__GetTx get = EVOTE__V1__GET_TX__INIT;
    Evote__V1__ApiResponse *resp = NULL;
    const Evote__V1__TxStatus *tx;
    int rc;

    memset(out, 0, sizeof *out);
    get.id.data = (uint8_t *)id;
    get.id.len = CRYPTO_HASH_LEN;
    get.wait_ms = (uint32_t)wait_ms;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_TX;
    req.get_tx = &get;
    rc = node_call_conn(o, conn, &req, wait_ms, &resp);
    if (rc != 0)
        return rc;
    tx = resp->tx;
    if (resp->status == EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND && tx == NULL)
        out->state = EVOTE__V1__TX_STATE__TX_STATE_UNKNOWN;
    else if (resp->status != EVOTE__V1__API_STATUS__API_STATUS_OK || tx == NULL)
        rc = bad_answer(o, resp, "without the transaction status");
    else if (tx->id.len != 0 && !(tx->id.len == CRYPTO_HASH_LEN && memcmp(tx->id.data, id, CRYPTO_HASH_LEN) == 0))
        rc = bad_answer(o, resp, "about another transaction");
    else if (tx->state < EVOTE__V1__TX_STATE__TX_STATE_PENDING || tx->state > EVOTE__V1__TX_STATE__TX_STATE_UNKNOWN)
        rc = bad_answer(o, resp, "with a transaction state this evote does not know");
    else
        *out = (tx_answer){tx->state, tx->height, tx->index, tx->result};
    evote__v1__api_response__free_unpacked(resp, NULL);
    return rc;
}

const char *state_word(Evote__V1__TxState s)
{
    switch (s) {
    case EVOTE__V1__TX_STATE__TX_STATE_PENDING: return "pending";
    case EVOTE__V1__TX_STATE__TX_STATE_COMMITTED: return "committed";
    default: return "unknown";
    }
}


/* --------------------------------------------------------------- submit */

/* Submits one sealed transaction, prints its id, and with wait_ms > 0 waits
 * for its commit and prints "committed at height H, result R" or "pending".
 * Returns: 0 when accepted (and, with a wait, committed with TX_RESULT_OK);
 *   EXIT_FAILED otherwise, after saying why. */
int submit_tx(const node_opts *o, const uint8_t *bytes, size_t len, long wait_ms)
{
    return submit_tx_answer(o, bytes, len, wait_ms, NULL);
}

double cli_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* SubmitTx of the exact bytes to o->node. Returns: as node_call. */
static int submit_call(const node_opts *o, const uint8_t *bytes, size_t len, Evote__V1__ApiResponse **resp)
{
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__SubmitTx submit = EVOTE__V1__SUBMIT_TX__INIT;
    submit.tx.data = (uint8_t *)bytes;
    submit.tx.len = len;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_SUBMIT;
    req.submit = &submit;
    return node_call(o, &req, 0, resp);
}

#define AWAIT_ASK_MS 10000 /* one parked query: also how soon a node that forgot the transaction is seen */
#define AWAIT_AGAIN 3      /* times a forgotten transaction is sent again, or a lost query asked again */

/* Waits up to wait_ms for the commit of the transaction (bytes, id) that
 * o->node accepted. A node restarted meanwhile loses what its mempool held
 * and the query parked in it: the query is asked again (only when this is
 * the last node to try: otherwise the next node is the better bet), and a
 * transaction the node no longer knows is submitted again (the same bytes:
 * it counts once). Out: *tx, the last answer. Returns: 0, or an exit code
 * when the node does not answer. */
static int await_tx(const node_opts *o, const uint8_t *bytes, size_t len, const uint8_t id[CRYPTO_HASH_LEN],
                    long wait_ms, int last, tx_answer *tx)
{
    double deadline = cli_mono_s() + (double)wait_ms / 1000.0;
    int again = 0, lost = 0;

    for (;;) {
        double t0 = cli_mono_s();
        long left = (long)((deadline - t0) * 1000.0), ask = left < 0 ? 0 : left > AWAIT_ASK_MS ? AWAIT_ASK_MS : left;
        int rc = ask_tx(o, id, ask, tx);
        double t1 = cli_mono_s();
        if (rc != 0) {
            if (!last || t1 >= deadline || ++lost > AWAIT_AGAIN)
                return rc;
            fprintf(stderr, "evote %s: asking %s again\n", o->cmd, o->node);
            continue;
        }
        if (tx->state == EVOTE__V1__TX_STATE__TX_STATE_COMMITTED || t1 >= deadline)
            return 0;
        if (tx->state == EVOTE__V1__TX_STATE__TX_STATE_UNKNOWN && again < AWAIT_AGAIN) {
            Evote__V1__ApiResponse *resp = NULL;
            again++;
            fprintf(stderr,
                    "evote %s: %s accepted the transaction but now says it has never seen it (did it restart?): "
                    "sending the same bytes again\n",
                    o->cmd, o->node);
            if (submit_call(o, bytes, len, &resp) == 0) /* what it says is seen by the next query */
                evote__v1__api_response__free_unpacked(resp, NULL);
            continue;
        }
        if (t1 - t0 < (double)ask / 1000.0 * 0.9) /* answered before its wait: the node could not park it */
            cli_sleep_ms(100);
    }
}

/* One node's part of submit_tx_answer. *next = 1 when the next node should
 * be tried: no answer, busy, or not committed (pending, or forgotten) within
 * wait_ms. *id_shown: the id was printed already. */
static int submit_to(const node_opts *o, const uint8_t *bytes, size_t len, long wait_ms, int last, int *id_shown,
                     int *next, tx_answer *out)
{
    Evote__V1__ApiResponse *resp = NULL;
    uint8_t id[CRYPTO_HASH_LEN];
    char why[512], name[32];
    tx_answer tx;
    int rc;

    *next = 0;
    envelope_txid(bytes, len, id);
    rc = submit_call(o, bytes, len, &resp);
    if (rc != 0) {
        *next = !last && rc != EXIT_USAGE; /* a bad --node is the user's to fix, as in node_call */
        return rc;
    }
    switch (resp->status) {
    case EVOTE__V1__API_STATUS__API_STATUS_OK:
        if (resp->tx_id.len != CRYPTO_HASH_LEN)
            rc = bad_answer(o, resp, "without a 32-byte transaction id");
        else if (memcmp(resp->tx_id.data, id, sizeof id) != 0)
            rc = bad_answer(o, resp, "with a transaction id that is not the id of the bytes sent");
        *next = rc != 0 && !last; /* a faulty node: the next may do better */
        break;
    case EVOTE__V1__API_STATUS__API_STATUS_REJECTED:
        /* Refused by that validator's state, which a later block may
         * change (it may not have executed a registration yet): a
         * validator further on may accept the same bytes. */
        *next = resp->later_may_accept && !last;
        fprintf(stderr, "evote %s: %s rejected the transaction: %s%s\n", o->cmd, o->node,
                clean(resp->reason, why, sizeof why),
                *next ? "; a validator further on may accept it: trying the next --node" : "");
        rc = EXIT_FAILED;
        break;
    case EVOTE__V1__API_STATUS__API_STATUS_BUSY:
        fprintf(stderr, "evote %s: %s is busy (its mempool is full): %s; %s\n", o->cmd, o->node,
                clean(resp->reason, why, sizeof why),
                last ? "nothing was submitted, try again later" : "trying the next --node");
        rc = EXIT_FAILED;
        *next = !last;
        break;
    default:
        rc = bad_answer(o, resp, "");
        *next = !last;
        break;
    }
    evote__v1__api_response__free_unpacked(resp, NULL);
    if (rc != 0)
        return rc;
    if (!*id_shown) {
        print_hex(id, sizeof id);
        printf("\n");
        fflush(stdout); /* the id is out even if the wait fails */
        *id_shown = 1;
    }
    if (wait_ms == 0)
        return 0;

    rc = await_tx(o, bytes, len, id, wait_ms, last, &tx);
    if (rc != 0) {
        *next = !last;
        return rc;
    }
    if (out != NULL)
        *out = tx;
    if (tx.state == EVOTE__V1__TX_STATE__TX_STATE_COMMITTED) {
        const char *result = RESULT_NAME(tx.result, name);
        printf("committed at height %" PRIu64 ", result %s\n", tx.height, result);
        if (tx.result != EVOTE__V1__TX_RESULT__TX_RESULT_OK) {
            fprintf(stderr, "evote %s: the transaction is in block %" PRIu64 " but execution refused it (%s): %s\n",
                    o->cmd, tx.height, result, election_result_text(tx.result));
            rc = EXIT_FAILED;
        }
    } else if (!last) {
        fprintf(stderr, "evote %s: %s %s within %ld ms\n", o->cmd, o->node,
                tx.state == EVOTE__V1__TX_STATE__TX_STATE_PENDING ? "accepted the transaction but did not commit it"
                                                                   : "accepted the transaction but now says it has never seen it",
                wait_ms);
        rc = EXIT_FAILED;
        *next = 1;
    } else if (tx.state == EVOTE__V1__TX_STATE__TX_STATE_PENDING) {
        printf("pending\n");
        fprintf(stderr, "evote %s: accepted but not committed within %ld ms: ask later with 'evote tx ID'\n",
                o->cmd, wait_ms);
        rc = EXIT_FAILED;
    } else {
        printf("unknown\n");
        fprintf(stderr,
                "evote %s: %s accepted the transaction but now says it has never seen it (did it restart?): "
                "submit it again\n",
                o->cmd, o->node);
        rc = EXIT_FAILED;
    }
    return rc;
}

int submit_tx_answer(const node_opts *o, const uint8_t *bytes, size_t len, long wait_ms, tx_answer *out)
{
    node_opts one = *o;
    int rc = EXIT_FAILED, id_shown = 0, next = 1;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    one.n_alt = 0;
    for (size_t k = 0; k <= o->n_alt && next; k++) {
        one.node = k == 0 ? o->node : o->alt[k - 1];
        if (k > 0)
            fprintf(stderr, "evote %s: sending the same transaction through %s\n", o->cmd, one.node);
        if (out != NULL)
            memset(out, 0, sizeof *out);
        rc = submit_to(&one, bytes, len, wait_ms, k == o->n_alt, &id_shown, &next, out);
    }
    return rc;
}

/* Reads a whole file ("-" = stdin) of at most max bytes. Returns: 0 with
 * *out (malloc'ed) and *len, or EXIT_FAILED after printing why. */

uint64_t wall_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void format_time(uint64_t ms, char *buf, size_t size)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char day[32];
    if (gmtime_r(&secs, &tm) == NULL || strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm) == 0) {
        snprintf(buf, size, "?");
        return;
    }
    snprintf(buf, size, "%s.%03u UTC", day, (unsigned)(ms % 1000));
}

int cli_append(char **buf, size_t *len, const char *fmt, ...)
{
    char *piece = NULL, *grown;
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vasprintf(&piece, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    grown = realloc(*buf, *len + (size_t)n + 1);
    if (grown == NULL) {
        free(piece);
        return -1;
    }
    memcpy(grown + *len, piece, (size_t)n + 1);
    *buf = grown;
    *len += (size_t)n;
    free(piece);
    return 0;
}

void cli_write_pub_file(const char *secret_path, const char *pub_text, const char *pubkey_cmd)
{
    char *pub_path = NULL;
    FILE *f = NULL;
    int saved = ENOMEM;
    if (asprintf(&pub_path, "%s.pub", secret_path) >= 0) {
        f = fopen(pub_path, "wx");
        saved = errno;
    }
    if (f != NULL) {
        fprintf(f, "%s\n", pub_text);
        if (fclose(f) != 0) {
            saved = errno;
            f = NULL;
        }
    }
    if (f == NULL)
        fprintf(stderr, "evote keygen: warning: could not write %s.pub (%s); the secret key %s is complete, "
                        "'%s %s' prints its public key\n",
                secret_path, strerror(saved), secret_path, pubkey_cmd, secret_path);
    free(pub_path);
}

/* ------------------------------------------- what a block proves (--genesis) */

int cli_load_genesis(const char *cmd, const char *path, genesis **g)
{
    genesis_error gwhy;
    ledger_err lerr;

    memset(&gwhy, 0, sizeof gwhy);
    lerr = genesis_load(path, g, &gwhy);
    if (lerr == LEDGER_OK)
        return 0;
    if (gwhy.line != 0)
        fprintf(stderr, "evote %s: %s line %u: %s\n", cmd, path, gwhy.line, gwhy.reason);
    else
        fprintf(stderr, "evote %s: %s: %s (give the chain's genesis file with --genesis)\n", cmd, path,
                gwhy.reason[0] ? gwhy.reason : ledger_strerror(lerr));
    return EXIT_FAILED;
}

/* Lists a commit certificate's signers (see cli.h): with the genesis,
 * through replica_certificate_check, the one check evoted and evote-audit
 * use too. */
void cert_signers(const ProtobufCBinaryData *certificate, const genesis *g, uint64_t height, signers_t *out)
{
    static const replica_callbacks cb = {.verify = replica_verify_plain};
    uint8_t(*keys)[CRYPTO_PUBKEY_LEN] = NULL;
    replica_cert_report *r = NULL;
    Evote__V1__CommitCertificate *cert;

    memset(out, 0, sizeof *out);
    if (certificate->len == 0)
        return;
    if (g == NULL) { /* no genesis: who the certificate says signed, unchecked */
        cert = evote__v1__commit_certificate__unpack(NULL, certificate->len, certificate->data);
        if (cert == NULL)
            return;
        out->view = cert->view;
        out->seq = cert->seq;
        for (size_t i = 0; i < cert->n_commits && out->n < 128; i++) {
            const Evote__V1__Envelope *env = cert->commits[i];
            char full[2 * CRYPTO_PUBKEY_LEN + 1];
            int dup = 0;
            if (env->signer.len != CRYPTO_PUBKEY_LEN)
                continue;
            for (size_t k = 0; k < i; k++)
                if (cert->commits[k]->signer.len == CRYPTO_PUBKEY_LEN &&
                    memcmp(cert->commits[k]->signer.data, env->signer.data, CRYPTO_PUBKEY_LEN) == 0)
                    dup = 1;
            if (dup)
                continue;
            crypto_hex(env->signer.data, CRYPTO_PUBKEY_LEN, full);
            snprintf(out->names[out->n++], sizeof out->names[0], "%.16s", full);
        }
        evote__v1__commit_certificate__free_unpacked(cert, NULL);
        return;
    }
    keys = genesis_pubkeys(g);
    r = malloc(sizeof *r);
    if (keys == NULL || r == NULL) {
        free(keys);
        free(r);
        return;
    }
    /* The block's own batch digest is checked by the caller (batch_holds_tx). */
    if (!replica_certificate_check(g->n, (const uint8_t(*)[CRYPTO_PUBKEY_LEN])keys, g->chain_id, &cb,
                                   certificate->data, certificate->len, height, NULL, r) &&
        r->fault != REPLICA_CERT_TOO_FEW)
        r->signers = 0;
    out->view = r->view;
    out->seq = r->seq;
    if (r->seq != height)
        r->signers = 0; /* a certificate for another block certifies nothing here */
    out->valid = r->signers;
    for (size_t i = 0; i < r->n_listed && out->n < 128; i++) {
        int32_t v = r->listed[i].validator;
        const char *mark = "";
        switch (r->listed[i].status) {
        case REPLICA_COMMIT_NOT_SIGNED:
        case REPLICA_COMMIT_DUPLICATE: continue; /* listed once, or not a signer at all */
        case REPLICA_COMMIT_STRANGER:
            snprintf(out->names[out->n++], sizeof out->names[0], "(not a validator)");
            continue;
        case REPLICA_COMMIT_COUNTED: mark = r->seq == height ? "" : " (NOT FOR THIS BLOCK)"; break;
        case REPLICA_COMMIT_BAD_SIGNATURE: mark = " (BAD SIGNATURE)"; break;
        case REPLICA_COMMIT_UNPARSABLE:
        case REPLICA_COMMIT_MISMATCH: mark = " (NOT FOR THIS BLOCK)"; break;
        }
        snprintf(out->names[out->n++], sizeof out->names[0], "%s%s", g->validators[v].name, mark);
    }
    free(keys);
    free(r);
}

/* Whether bytes (a block's exact batch) are what digest certifies and
 * holds the transaction whose id is code at index, for chain_id and seq.
 * Pure. Returns: 1, or 0 with why (for a person). */
static int batch_holds_tx(const uint8_t *bytes, size_t len, const uint8_t *digest, size_t digest_len,
                          const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], uint64_t seq, uint32_t index,
                          const uint8_t code[CRYPTO_HASH_LEN], ledger_tx **tx_out, char *why, size_t why_len)
{
    uint8_t d[CRYPTO_HASH_LEN], id[CRYPTO_HASH_LEN];
    Evote__V1__Batch *b;
    int ok = 0;

    crypto_tagged_hash(CRYPTO_TAG_BATCH, bytes, len, d);
    if (digest_len != CRYPTO_HASH_LEN || memcmp(d, digest, CRYPTO_HASH_LEN) != 0) {
        snprintf(why, why_len, "the block's batch is not the one its commit certificate signs");
        return 0;
    }
    b = evote__v1__batch__unpack(NULL, len, bytes);
    if (b == NULL || b->chain_id.len != CRYPTO_CHAIN_ID_LEN ||
        memcmp(b->chain_id.data, chain_id, CRYPTO_CHAIN_ID_LEN) != 0 || b->seq != seq) {
        snprintf(why, why_len, "the certified batch is not this chain's block at height %" PRIu64, seq);
    } else if (index >= b->n_txs) {
        snprintf(why, why_len, "the certified batch has %zu transactions, none at index %" PRIu32, b->n_txs, index);
    } else {
        envelope_txid(b->txs[index].data, b->txs[index].len, id);
        ok = memcmp(id, code, CRYPTO_HASH_LEN) == 0;
        if (!ok)
            snprintf(why, why_len, "transaction %" PRIu32 " of the certified batch is another one", index);
        /* Out: the transaction itself, signature checked (NULL when it does
         * not decode: the chain then recorded it as refused). */
        if (ok && tx_out != NULL &&
            ledger_tx_decode(b->txs[index].data, b->txs[index].len, chain_id, tx_out, NULL) != LEDGER_OK)
            *tx_out = NULL;
    }
    if (b != NULL)
        evote__v1__batch__free_unpacked(b, NULL);
    return ok;
}

/* Whether proof (a CheckpointProof) and headers (the BlockHeader bytes of
 * heights height+1..S) certify header (the exact header bytes of the block
 * at height): the headers link by prev_hash from it up to S, and 2f+1
 * distinct validators of g signed CHECKPOINT(this chain, S, the hash of
 * S's header). Pure. Out: *seq (S), *signers. Returns: 1, or 0 with why. */
static int checkpoint_certifies(const genesis *g, uint64_t height, const uint8_t *header, size_t hlen,
                                const uint8_t *proof, size_t plen, const ProtobufCBinaryData *headers,
                                size_t n_headers, uint64_t *seq, uint32_t *signers, char *why, size_t why_len)
{
    Evote__V1__CheckpointProof *cp = evote__v1__checkpoint_proof__unpack(NULL, plen, proof);
    uint8_t top[CRYPTO_HASH_LEN];
    uint32_t count;
    int ok = 0;

    *signers = 0;
    if (cp == NULL || cp->seq < height || cp->seq - height != n_headers) {
        snprintf(why, why_len, "the checkpoint proof does not parse or does not reach this block");
        goto out;
    }
    *seq = cp->seq;
    crypto_tagged_hash(CRYPTO_TAG_BLOCK, header, hlen, top);
    for (size_t k = 0; k < n_headers; k++) {
        Evote__V1__BlockHeader *h = evote__v1__block_header__unpack(NULL, headers[k].len, headers[k].data);
        int link = h != NULL && h->height == height + 1 + k && h->prev_hash.len == CRYPTO_HASH_LEN &&
                   memcmp(h->prev_hash.data, top, CRYPTO_HASH_LEN) == 0 && h->chain_id.len == CRYPTO_CHAIN_ID_LEN &&
                   memcmp(h->chain_id.data, g->chain_id, CRYPTO_CHAIN_ID_LEN) == 0;
        if (h != NULL)
            evote__v1__block_header__free_unpacked(h, NULL);
        if (!link) {
            snprintf(why, why_len, "the header at height %" PRIu64 " does not follow the one below it",
                     height + 1 + k);
            goto out;
        }
        crypto_tagged_hash(CRYPTO_TAG_BLOCK, headers[k].data, headers[k].len, top);
    }
    count = genesis_checkpoint_signers(g, cp->seq, top, cp->checkpoints, cp->n_checkpoints);
    *signers = count;
    ok = count >= 2 * g->f + 1;
    if (!ok)
        snprintf(why, why_len, "only %" PRIu32 " validators of the genesis signed the checkpoint at seq %" PRIu64
                 " (%" PRIu32 " needed)", count, cp->seq, 2 * g->f + 1);
out:
    if (cp != NULL)
        evote__v1__checkpoint_proof__free_unpacked(cp, NULL);
    return ok;
}

void prove_tx(const node_opts *o, const genesis *g, uint64_t height, uint32_t index, const uint8_t id[CRYPTO_HASH_LEN],
              const ProtobufCBinaryData *certificate, tx_proof *p)
{
    prove_tx_keep(o, g, height, index, id, certificate, p, NULL);
}

void prove_tx_keep(const node_opts *o, const genesis *g, uint64_t height, uint32_t index,
                   const uint8_t id[CRYPTO_HASH_LEN], const ProtobufCBinaryData *certificate, tx_proof *p,
                   ledger_tx **tx_out)
{
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__GetBlock get = EVOTE__V1__GET_BLOCK__INIT;
    Evote__V1__ApiResponse *resp = NULL, *other = NULL;
    const Evote__V1__ApiResponse *proofs;
    Evote__V1__CommitCertificate *cert = NULL;
    Evote__V1__BlockHeader *h = NULL;
    const Evote__V1__Block *b;
    ledger_tx *tx = NULL;
    uint8_t rh[CRYPTO_HASH_LEN];

    memset(p, 0, sizeof *p);
    get.height = height;
    get.with_proof = 1;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_BLOCK;
    req.get_block = &get;
    if (node_call(o, &req, 0, &resp) != 0) {
        snprintf(p->why, sizeof p->why, "the block at height %" PRIu64 " could not be fetched", get.height);
        goto out;
    }
    b = resp->block;
    if (resp->status != EVOTE__V1__API_STATUS__API_STATUS_OK || b == NULL) {
        snprintf(p->why, sizeof p->why, "the node has no block at height %" PRIu64, get.height);
        goto out;
    }
    if (certificate == NULL) { /* the block's own, checked here */
        certificate = &resp->certificate;
        cert_signers(certificate, g, height, &p->sg);
        if (p->sg.valid < 2 * g->f + 1) {
            snprintf(p->why, sizeof p->why, "the block's commit certificate carries %zu valid validator signatures, "
                     "%" PRIu32 " needed", p->sg.valid, 2 * g->f + 1);
            goto out;
        }
    }
    cert = evote__v1__commit_certificate__unpack(NULL, certificate->len, certificate->data);
    if (cert == NULL) {
        snprintf(p->why, sizeof p->why, "the node sent no usable commit certificate");
        goto out;
    }
    p->included = batch_holds_tx(b->batch.data, b->batch.len, cert->digest.data, cert->digest.len, g->chain_id,
                                 get.height, index, id, &tx, p->why, sizeof p->why);
    if (!p->included)
        goto out;
    if (tx != NULL && tx->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_BALLOT &&
        tx->body->ballot->election_id.len <= sizeof p->election) {
        memcpy(p->signer, tx->envelope->signer.data, CRYPTO_PUBKEY_LEN);
        p->is_ballot = 1;
        p->election_len = tx->body->ballot->election_id.len;
        memcpy(p->election, tx->body->ballot->election_id.data, p->election_len);
    }
    /* No proof from this node: any other --node may have one (a proof
     * checks itself, whoever sends it). */
    proofs = resp;
    for (size_t k = 0; k < o->n_alt && proofs->checkpoint_proof.len == 0; k++) {
        node_opts one = *o;
        one.node = o->alt[k];
        one.n_alt = 0;
        if (other != NULL)
            evote__v1__api_response__free_unpacked(other, NULL);
        other = NULL;
        if (node_call(&one, &req, 0, &other) == 0 && other->status == EVOTE__V1__API_STATUS__API_STATUS_OK)
            proofs = other;
    }
    if (proofs->checkpoint_proof.len == 0)
        goto out; /* no checkpoint covers the block yet: its results are the node's word */
    p->certified = -1;
    h = evote__v1__block_header__unpack(NULL, b->header.len, b->header.data);
    if (h == NULL || h->height != get.height || h->batch_digest.len != CRYPTO_HASH_LEN ||
        memcmp(h->batch_digest.data, cert->digest.data, CRYPTO_HASH_LEN) != 0 ||
        ledger_results_hash((const Evote__V1__TxResult *)b->results, b->n_results, rh) != LEDGER_OK ||
        h->results_hash.len != CRYPTO_HASH_LEN || memcmp(h->results_hash.data, rh, CRYPTO_HASH_LEN) != 0 ||
        index >= b->n_results) {
        snprintf(p->why, sizeof p->why, "the block's header does not match its batch and results");
        goto out;
    }
    if (!checkpoint_certifies(g, get.height, b->header.data, b->header.len, proofs->checkpoint_proof.data,
                              proofs->checkpoint_proof.len, proofs->headers, proofs->n_headers, &p->cp_seq,
                              &p->cp_signers, p->why, sizeof p->why))
        goto out;
    p->certified = 1;
    p->result = b->results[index];
out:
    if (h != NULL)
        evote__v1__block_header__free_unpacked(h, NULL);
    if (cert != NULL)
        evote__v1__commit_certificate__free_unpacked(cert, NULL);
    if (other != NULL)
        evote__v1__api_response__free_unpacked(other, NULL);
    if (resp != NULL)
        evote__v1__api_response__free_unpacked(resp, NULL);
    if (tx_out != NULL && p->included)
        *tx_out = tx;
    else
        ledger_tx_destroy(&tx);
}
