/* Unit tests of the election commands' pure parts (voter files, choices)
 * and of the node's election API calls (src/node/api_election.c) over a
 * real chain store. The CLI and the API file are compiled in here: they
 * belong to the evote and evoted programs, not to a library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <zmq.h>

#include "../../src/cli/client_util.c"
#include "../../src/cli/cmd_election.c"
#include "../../src/node/api_election.c"

/* evote.c's, which this test does not link. */
int cli_wants_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/evote-test-cli-election-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *write_file(const char *name, const char *text)
{
    static char path[128];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* A valid x-only key: the public key of a fresh signing key, in hex. */
static void fresh_pub_hex(char hex[65], uint8_t pub[32])
{
    signing_key *k = NULL;
    assert_int_equal(signing_key_generate(&k), CRYPTO_OK);
    signing_key_pubkey(k, pub);
    crypto_hex(pub, 32, hex);
    signing_key_destroy(&k);
}

/* ------------------------------------------------------------ voter files */

static void test_voter_file_skips_blanks_and_comments(void **state)
{
    char a[65], b[65], text[512];
    uint8_t pa[32], pb[32], (*keys)[32] = NULL;
    size_t n = 0;
    (void)state;
    fresh_pub_hex(a, pa);
    fresh_pub_hex(b, pb);
    snprintf(text, sizeof text, "# the roll\n\n  %s  \r\n%s", a, b); /* CRLF, spaces, no final newline */
    assert_int_equal(cli_read_voter_file("t", write_file("roll", text), &keys, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(keys[0], pa, 32);
    assert_memory_equal(keys[1], pb, 32);
    free(keys);
}

static void test_voter_file_refuses_a_bad_line_and_an_empty_file(void **state)
{
    char a[65], text[512];
    uint8_t pa[32], (*keys)[32] = NULL;
    size_t n = 0;
    (void)state;
    fresh_pub_hex(a, pa);
    snprintf(text, sizeof text, "%s\n%.63s\n", a, a); /* a short line */
    assert_int_equal(cli_read_voter_file("t", write_file("short", text), &keys, &n), EXIT_FAILED);
    assert_null(keys);
    snprintf(text, sizeof text, "%s\nzz%s\n", a, a + 2); /* not hex */
    assert_int_equal(cli_read_voter_file("t", write_file("nothex", text), &keys, &n), EXIT_FAILED);
    /* 64 hex digits that are no x coordinate on the curve (p itself is out of range) */
    assert_int_equal(cli_read_voter_file("t",
                                         write_file("offcurve", "ffffffffffffffffffffffffffffffffffffffffffffffff"
                                                                "fffffffefffffc2f\n"),
                                         &keys, &n),
                     EXIT_FAILED);
    assert_int_equal(cli_read_voter_file("t", write_file("empty", "# nobody\n\n"), &keys, &n), EXIT_FAILED);
    assert_int_equal(cli_read_voter_file("t", "/nonexistent/roll", &keys, &n), EXIT_FAILED);
}

/* ----------------------------------------------------------------- choices */

static void test_selection_by_option_text(void **state)
{
    char *opts[3] = {"Ada", "Grace", "Edsger"};
    Evote__V1__Question q = EVOTE__V1__QUESTION__INIT;
    uint8_t sel[3];
    (void)state;
    q.text = "Mayor";
    q.options = opts;
    q.n_options = 3;
    q.min_selections = q.max_selections = 1;
    assert_int_equal(cli_parse_selection("t", &q, 0, "Grace", sel), 1);
    assert_int_equal(sel[0], 0);
    assert_int_equal(sel[1], 1);
    assert_int_equal(sel[2], 0);
    assert_int_equal(cli_parse_selection("t", &q, 0, "Nobody", sel), 0);
    assert_int_equal(cli_parse_selection("t", &q, 0, "Ada,Grace", sel), 0); /* exactly one */
    assert_int_equal(cli_parse_selection("t", &q, 0, "", sel), 0);
    /* approval 0..2 */
    q.min_selections = 0;
    q.max_selections = 2;
    assert_int_equal(cli_parse_selection("t", &q, 0, " Ada , Edsger ", sel), 1);
    assert_int_equal(sel[0], 1);
    assert_int_equal(sel[1], 0);
    assert_int_equal(sel[2], 1);
    assert_int_equal(cli_parse_selection("t", &q, 0, "", sel), 1); /* none is allowed */
    assert_int_equal(sel[0] + sel[1] + sel[2], 0);
    assert_int_equal(cli_parse_selection("t", &q, 0, "Ada,Ada", sel), 0);
    assert_int_equal(cli_parse_selection("t", &q, 0, "Ada,Grace,Edsger", sel), 0);
    assert_int_equal(cli_parse_selection("t", &q, 0, "Ada,,Grace", sel), 0);
}

static void test_times_parse_as_utc(void **state)
{
    uint64_t ms = 0;
    (void)state;
    assert_int_equal(parse_time_ms("t", "--open-time", "2027-05-02T08:00:00Z", &ms), 1);
    assert_int_equal(ms, 1809244800000ull);
    assert_int_equal(parse_time_ms("t", "--open-time", "2027-05-02 08:00", &ms), 1);
    assert_int_equal(ms, 1809244800000ull);
    assert_int_equal(parse_time_ms("t", "--open-time", "1809244800123", &ms), 1);
    assert_int_equal(ms, 1809244800123ull);
    assert_int_equal(parse_time_ms("t", "--open-time", "tomorrow", &ms), 0);
    assert_int_equal(parse_time_ms("t", "--open-time", "2027-05-02T08:00:00+02", &ms), 0);
}

/* ------------------------------------------------------- the node's API */

static const uint8_t chain_id[32] = {7, 7, 7};

static chain_store *open_store(void)
{
    char path[128];
    chain_store *s = NULL;
    snprintf(path, sizeof path, "%s/store", dir);
    assert_int_equal(chain_store_open(path, chain_id, NULL, &s, NULL), STORE_OK);
    return s;
}

/* Runs one call. Returns: 1 handled (resp filled), 0 not an election call. */
static int call(chain_store *s, Evote__V1__ApiRequest *req, Evote__V1__ApiResponse *resp, void **scratch)
{
    evote__v1__api_response__init(resp);
    *scratch = NULL;
    req->request_id = 42;
    return api_election_handle(s, chain_id, NULL, req, resp, scratch);
}

/* Election "mayor": one question, Ada or Grace, one trustee; no key. */
typedef struct {
    Evote__V1__ElectionRecord rec;
    Evote__V1__ElectionCreate def;
    Evote__V1__Question q, *qp;
    char *opts[2];
    uint8_t tpub[32], e[32];
    ProtobufCBinaryData tkey;
} mayor;

static void mayor_init(mayor *m)
{
    char thex[65];
    evote__v1__election_record__init(&m->rec);
    evote__v1__election_create__init(&m->def);
    evote__v1__question__init(&m->q);
    m->qp = &m->q;
    m->opts[0] = "Ada";
    m->opts[1] = "Grace";
    fresh_pub_hex(thex, m->tpub);
    m->tkey = (ProtobufCBinaryData){32, m->tpub};
    election_hash(chain_id, (const uint8_t *)"mayor", 5, m->e);
    m->def.election_id = (ProtobufCBinaryData){5, (uint8_t *)"mayor"};
    m->def.title = "Mayor";
    m->def.threshold = 1;
    m->def.trustees = &m->tkey;
    m->def.n_trustees = 1;
    m->q.text = "Mayor";
    m->q.options = m->opts;
    m->q.n_options = 2;
    m->q.min_selections = m->q.max_selections = 1;
    m->def.questions = &m->qp;
    m->def.n_questions = 1;
    m->rec.definition = &m->def;
    m->rec.election_hash = (ProtobufCBinaryData){32, m->e};
}

static void test_api_get_election_and_state(void **state)
{
    chain_store *s = open_store();
    mayor m;
    Evote__V1__ElectionRecord *rec = &m.rec;
    const uint8_t *e = m.e;
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__GetElection ge = EVOTE__V1__GET_ELECTION__INIT;
    Evote__V1__GetState gs = EVOTE__V1__GET_STATE__INIT;
    Evote__V1__GetResult gr = EVOTE__V1__GET_RESULT__INIT;
    Evote__V1__GetTip tip = EVOTE__V1__GET_TIP__INIT;
    Evote__V1__ApiResponse resp;
    uint8_t key[33], raw[3] = {1, 2, 3}, packed[512], nkey[37];
    chain_store_state_change ch[2];
    void *scratch = NULL;
    size_t len;
    (void)state;

    mayor_init(&m);
    rec->voters_registered = 12;
    len = evote__v1__election_record__pack(rec, packed);
    key[0] = 'E';
    memcpy(key + 1, e, 32);
    key_ej(nkey, 'N', e, 1);
    ch[0] = (chain_store_state_change){key, sizeof key, packed, len, 0};
    ch[1] = (chain_store_state_change){nkey, sizeof nkey, raw, sizeof raw, 0};
    assert_int_equal(chain_store_put_state(s, ch, 2), STORE_OK);

    /* GetElection: the record, no tally before the key exists */
    ge.election_id = (ProtobufCBinaryData){5, (uint8_t *)"mayor"};
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_ELECTION;
    req.get_election = &ge;
    assert_int_equal(call(s, &req, &resp, &scratch), 1);
    assert_int_equal(resp.request_id, 42);
    assert_int_equal(resp.status, EVOTE__V1__API_STATUS__API_STATUS_OK);
    assert_non_null(resp.election);
    assert_int_equal(resp.election->voters_registered, 12);
    assert_string_equal(resp.election->definition->title, "Mayor");
    assert_null(resp.election_tally);
    {   /* it packs: what node.c does next */
        size_t n = evote__v1__api_response__get_packed_size(&resp);
        uint8_t *buf = malloc(n);
        assert_non_null(buf);
        assert_int_equal(evote__v1__api_response__pack(&resp, buf), n);
        free(buf);
    }
    api_election_scratch_free(&scratch);
    assert_null(scratch);

    ge.election_id = (ProtobufCBinaryData){5, (uint8_t *)"mayom"};
    assert_int_equal(call(s, &req, &resp, &scratch), 1);
    assert_int_equal(resp.status, EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND);
    api_election_scratch_free(&scratch);
    ge.election_id = (ProtobufCBinaryData){0, NULL};
    assert_int_equal(call(s, &req, &resp, &scratch), 1);
    assert_int_equal(resp.status, EVOTE__V1__API_STATUS__API_STATUS_BAD_REQUEST);
    api_election_scratch_free(&scratch);

    /* GetResult: the election exists, the result does not yet */
    gr.election_id = (ProtobufCBinaryData){5, (uint8_t *)"mayor"};
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_RESULT;
    req.get_result = &gr;
    assert_int_equal(call(s, &req, &resp, &scratch), 1);
    assert_int_equal(resp.status, EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND);
    assert_non_null(strstr(resp.reason, "no result yet"));
    api_election_scratch_free(&scratch);

    /* GetState: raw bytes, absent keys, bad keys */
    gs.key = (ProtobufCBinaryData){sizeof nkey, nkey};
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_STATE;
    req.get_state = &gs;
    assert_int_equal(call(s, &req, &resp, &scratch), 1);
    assert_int_equal(resp.status, EVOTE__V1__API_STATUS__API_STATUS_OK);
    assert_int_equal(resp.state_value.len, 3);
    assert_memory_equal(resp.state_value.data, raw, 3);
    api_election_scratch_free(&scratch);
    nkey[36] = 2;
    assert_int_equal(call(s, &req, &resp, &scratch), 1);
    assert_int_equal(resp.status, EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND);
    api_election_scratch_free(&scratch);
    gs.key = (ProtobufCBinaryData){0, NULL};
    assert_int_equal(call(s, &req, &resp, &scratch), 1);
    assert_int_equal(resp.status, EVOTE__V1__API_STATUS__API_STATUS_BAD_REQUEST);
    api_election_scratch_free(&scratch);

    /* Not an election call: untouched, nothing to free */
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_TIP;
    req.get_tip = &tip;
    assert_int_equal(call(s, &req, &resp, &scratch), 0);
    assert_null(scratch);
    assert_int_equal(resp.status, EVOTE__V1__API_STATUS__API_STATUS_UNSPECIFIED);
    chain_store_destroy(&s);
}

static void test_api_track_unknown_and_malformed_codes(void **state)
{
    chain_store *s = open_store();
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__Track tq = EVOTE__V1__TRACK__INIT;
    Evote__V1__ApiResponse resp;
    uint8_t code[32] = {1};
    void *scratch = NULL;
    (void)state;

    tq.code = (ProtobufCBinaryData){32, code};
    req.call_case = EVOTE__V1__API_REQUEST__CALL_TRACK;
    req.track = &tq;
    assert_int_equal(call(s, &req, &resp, &scratch), 1);
    assert_int_equal(resp.status, EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND);
    assert_null(resp.tx);
    api_election_scratch_free(&scratch);
    tq.code = (ProtobufCBinaryData){31, code};
    assert_int_equal(call(s, &req, &resp, &scratch), 1);
    assert_int_equal(resp.status, EVOTE__V1__API_STATUS__API_STATUS_BAD_REQUEST);
    api_election_scratch_free(&scratch);
    chain_store_destroy(&s);
}


/* ---------------------------------------------- pipelined --voters casting */

/* A node's client API as evote vote --voters sees it, over a real ZeroMQ
 * ROUTER (client_endpoint), answering by the ballot's first byte: 'B' is
 * BUSY twice and then accepted, 'R' REJECTED with a reason, anything else
 * accepted; a commit query is answered PENDING once (as a node whose waiter
 * table is full does), then COMMITTED. mute = 1: receives, never answers. */
#define PIPE_VOTERS 300
typedef struct {
    client_endpoint *ep;
    int mute;
    int commits;    /* GetTx: 1 committed at once, -1 never (a node that keeps it to itself), 0 pending once,
                       2 unknown until submitted twice (a node that restarted and forgot it), then committed */
    volatile int stop;
    pthread_mutex_t lock;    /* held by its thread while it reads an answer below: set them with fake_answer */
    const uint8_t *election; /* GetElection: this packed ApiResponse (request id set) */
    size_t election_len;
    const uint8_t *result;   /* GetResult: the same */
    size_t result_len;
    const uint8_t *block;    /* GetBlock: the same */
    size_t block_len;
    int lagging;             /* Submit of a ballot starting with 'L': REJECTED by this node's state,
                                which a later block may change (later_may_accept); otherwise accepted */
    int answer_tip;          /* GetTip: answered with height tip_height */
    int read_busy;           /* GetTip: the first ones answered BUSY with retry_after_ms = read_wait */
    uint32_t read_wait;
    volatile uint64_t tip_height;
    uint8_t ids[PIPE_VOTERS][32];
    int busy[PIPE_VOTERS], accepted[PIPE_VOTERS], asked[PIPE_VOTERS];
    size_t n_ids, submits, requests, lost_replies;
} fake_node;

static size_t fake_index(fake_node *f, const uint8_t id[32])
{
    for (size_t i = 0; i < f->n_ids; i++)
        if (memcmp(f->ids[i], id, 32) == 0)
            return i;
    memcpy(f->ids[f->n_ids], id, 32);
    return f->n_ids++;
}

/* On the fake node's thread: the answer set for a call, unpacked (NULL:
 * none set). No cmocka assertion off the test's thread: an answer that
 * does not unpack aborts. */
static Evote__V1__ApiResponse *fake_unpack(fake_node *f, const uint8_t *const *what, const size_t *what_len)
{
    Evote__V1__ApiResponse *el = NULL;
    pthread_mutex_lock(&f->lock);
    if (*what != NULL && (el = evote__v1__api_response__unpack(NULL, *what_len, *what)) == NULL)
        abort();
    pthread_mutex_unlock(&f->lock);
    return el;
}

static void *fake_node_run(void *arg)
{
    fake_node *f = arg;
    while (!f->stop) {
        zmq_pollitem_t it = {.socket = client_endpoint_poll_socket(f->ep), .events = ZMQ_POLLIN};
        client_request rq;
        if (zmq_poll(&it, 1, 20) <= 0)
            continue;
        while (client_endpoint_recv(f->ep, &rq) == NET_OK) {
            Evote__V1__ApiRequest *req = evote__v1__api_request__unpack(NULL, rq.len, rq.data);
            Evote__V1__ApiResponse r = EVOTE__V1__API_RESPONSE__INIT;
            Evote__V1__TxStatus ts = EVOTE__V1__TX_STATUS__INIT;
            Evote__V1__NodeStatus ns = EVOTE__V1__NODE_STATUS__INIT;
            uint8_t id[32], out[4096];
            Evote__V1__ApiResponse *el = NULL;
            size_t i;
            f->requests++;
            if (req == NULL || f->mute) {
                if (req)
                    evote__v1__api_request__free_unpacked(req, NULL);
                free(rq.data);
                continue;
            }
            r.request_id = req->request_id;
            r.reason = "";
            if (req->call_case == EVOTE__V1__API_REQUEST__CALL_SUBMIT) {
                const ProtobufCBinaryData *tx = &req->submit->tx;
                f->submits++;
                envelope_txid(tx->data, tx->len, id);
                i = fake_index(f, id);
                if (tx->data[0] == 'B' && f->busy[i] < 2) {
                    f->busy[i]++;
                    r.status = EVOTE__V1__API_STATUS__API_STATUS_BUSY;
                    r.reason = "the mempool is full: retry later";
                } else if (tx->data[0] == 'R') {
                    r.status = EVOTE__V1__API_STATUS__API_STATUS_REJECTED;
                    r.reason = "the ballot was refused: this key is not on the election's roll";
                } else if (tx->data[0] == 'L' && f->lagging) {
                    r.status = EVOTE__V1__API_STATUS__API_STATUS_REJECTED;
                    r.reason = "the ballot was refused: this key is not on the election's roll, as this "
                               "validator's chain has it at height 3";
                    r.later_may_accept = 1;
                } else {
                    f->accepted[i]++;
                    r.status = EVOTE__V1__API_STATUS__API_STATUS_OK;
                    r.tx_id = (ProtobufCBinaryData){32, f->ids[i]};
                }
            } else if (req->call_case == EVOTE__V1__API_REQUEST__CALL_GET_TX && req->get_tx->id.len == 32 &&
                       f->commits == 2 && f->accepted[fake_index(f, req->get_tx->id.data)] < 2) {
                r.status = EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND; /* forgotten */
            } else if (req->call_case == EVOTE__V1__API_REQUEST__CALL_GET_TX && req->get_tx->id.len == 32) {
                i = fake_index(f, req->get_tx->id.data);
                ts.id = (ProtobufCBinaryData){32, f->ids[i]};
                ts.state = f->commits < 0                       ? EVOTE__V1__TX_STATE__TX_STATE_PENDING
                           : f->commits == 0 && f->asked[i] == 0 ? EVOTE__V1__TX_STATE__TX_STATE_PENDING
                                                                 : EVOTE__V1__TX_STATE__TX_STATE_COMMITTED;
                f->asked[i]++;
                ts.height = 7;
                ts.result = EVOTE__V1__TX_RESULT__TX_RESULT_OK;
                r.status = EVOTE__V1__API_STATUS__API_STATUS_OK;
                r.tx = &ts;
            } else if (req->call_case == EVOTE__V1__API_REQUEST__CALL_GET_ELECTION && (el = fake_unpack(f, &f->election, &f->election_len)) != NULL) {
                el->request_id = req->request_id;
            } else if (req->call_case == EVOTE__V1__API_REQUEST__CALL_GET_RESULT && (el = fake_unpack(f, &f->result, &f->result_len)) != NULL) {
                el->request_id = req->request_id;
            } else if (req->call_case == EVOTE__V1__API_REQUEST__CALL_GET_TIP && f->read_busy > 0) {
                f->read_busy--;
                r.status = EVOTE__V1__API_STATUS__API_STATUS_BUSY;
                r.reason = "too many reads from 127.0.0.1";
                r.retry_after_ms = f->read_wait;
            } else if (req->call_case == EVOTE__V1__API_REQUEST__CALL_GET_TIP && f->answer_tip) {
                ns.height = f->tip_height;
                r.status = EVOTE__V1__API_STATUS__API_STATUS_OK;
                r.node = &ns;
            } else if (req->call_case == EVOTE__V1__API_REQUEST__CALL_GET_BLOCK && (el = fake_unpack(f, &f->block, &f->block_len)) != NULL) {
                el->request_id = req->request_id;
            } else {
                r.status = EVOTE__V1__API_STATUS__API_STATUS_BAD_REQUEST;
            }
            /* No cmocka assertion off the test's thread (it would jump
             * into the test's stack): a bug aborts; a reply to a client
             * that has gone (a late retry) is dropped. */
            if (evote__v1__api_response__get_packed_size(el ? el : &r) > sizeof out)
                abort();
            evote__v1__api_response__pack(el ? el : &r, out);
            if (client_endpoint_reply(f->ep, &rq.reply, out, evote__v1__api_response__get_packed_size(el ? el : &r)) !=
                NET_OK)
                f->lost_replies++;
            if (el != NULL)
                evote__v1__api_response__free_unpacked(el, NULL);
            evote__v1__api_request__free_unpacked(req, NULL);
            free(rq.data);
        }
    }
    return NULL;
}

static void fake_node_start_c(fake_node *f, int mute, int commits, pthread_t *t)
{
    client_endpoint_config cfg;
    memset(f, 0, sizeof *f);
    memset(&cfg, 0, sizeof cfg);
    /* Each test is a command of its own: node_call's memory of the nodes
     * that did not answer earlier in the command starts empty (a node of
     * an earlier test may have had this one's port). */
    n_unanswered = 0;
    cfg.endpoint = "tcp://127.0.0.1:*";
    assert_int_equal(client_endpoint_new(&cfg, &f->ep, NULL), NET_OK);
    f->mute = mute;
    f->commits = commits;
    pthread_mutex_init(&f->lock, NULL);
    assert_int_equal(pthread_create(t, NULL, fake_node_run, f), 0);
}

/* Sets what a running fake node answers to a call: pointer and length
 * together, as its thread may be answering a late retry of an earlier
 * call right now. */
static void fake_answer(fake_node *f, const uint8_t **what, size_t *what_len, const uint8_t *bytes, size_t len)
{
    pthread_mutex_lock(&f->lock);
    *what = bytes;
    *what_len = len;
    pthread_mutex_unlock(&f->lock);
}

static void fake_node_start(fake_node *f, int mute, pthread_t *t)
{
    fake_node_start_c(f, mute, 0, t);
}

static void fake_node_stop(fake_node *f, pthread_t t)
{
    f->stop = 1;
    pthread_join(t, NULL);
    client_endpoint_destroy(&f->ep);
    pthread_mutex_destroy(&f->lock);
}

/* stderr into a file of the test directory, until captured_text() puts it
 * back and hands out what was written. */
typedef struct {
    char path[128];
    FILE *f;
    int saved;
} captured;

static void capture_stderr(captured *c, const char *name)
{
    snprintf(c->path, sizeof c->path, "%s/%s", dir, name);
    fflush(stderr);
    c->saved = dup(2);
    c->f = fopen(c->path, "w");
    assert_non_null(c->f);
    dup2(fileno(c->f), 2);
}

static void captured_text(captured *c, char *text, size_t size)
{
    size_t got;
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    fclose(c->f);
    c->f = fopen(c->path, "r");
    assert_non_null(c->f);
    got = fread(text, 1, size - 1, c->f);
    text[got] = '\0';
    fclose(c->f);
}

/* A --voters batch of n ballots over the given nodes, as the pipeline
 * tests drive it: 40-byte stand-ins whose first byte (kind(i)) tells the
 * fake nodes how to answer and whose second (salt, + i / 256) keeps them
 * unique (the pipeline sends ballot i to node i % n_nodes first). A
 * silent node is given up after 3 s; a window of 8, far fewer than the
 * ballots, must turn over. */
static void pipe_batch_init(batch *b, const char *const *nodes, size_t n_nodes, size_t n, char (*kind)(size_t i),
                            uint8_t salt)
{
    memset(b, 0, sizeof *b);
    b->cmd = "vote";
    b->path = "voters.txt";
    for (size_t k = 0; k < n_nodes; k++)
        b->nodes[k] = nodes[k];
    b->n_nodes = n_nodes;
    b->timeout_ms = 5000;
    b->silence_ms = 3000;
    b->wait_ms = 20000;
    b->window = 8;
    b->busy_limit_ms = 20000;
    b->n = n;
    b->v = calloc(b->n, sizeof *b->v);
    assert_non_null(b->v);
    for (size_t i = 0; i < b->n; i++) {
        batch_voter *bv = &b->v[i];
        bv->line = i + 1;
        bv->key_path = "voter.key";
        bv->tx_len = 40;
        bv->tx = malloc(bv->tx_len);
        assert_non_null(bv->tx);
        memset(bv->tx, (int)(i & 0xff), bv->tx_len);
        bv->tx[0] = (uint8_t)kind(i);
        bv->tx[1] = (uint8_t)(salt + (i >> 8));
        envelope_txid(bv->tx, bv->tx_len, bv->code);
        bv->state = BV_TO_SUBMIT;
    }
}

/* Ballot 150 rejected, every seventh busy twice, the rest accepted. */
static char busy_kind(size_t i)
{
    return i == PIPE_VOTERS / 2 ? 'R' : i % 7 == 0 ? 'B' : 'x';
}

/* Ballot 7 rejected for good, the rest refused by a lagging node. */
static char lagging_kind(size_t i)
{
    return i == 7 ? 'R' : 'L';
}

/* Every ballot is accepted exactly once and its commit seen, through busy
 * answers, a commit query answered "pending", and a node that never answers
 * (its ballots go to the live one); the one rejected ballot in the middle is
 * reported with the node's reason and never counted. */
static void test_pipelined_cast_retries_busy_and_reports_a_rejection(void **state)
{
    static fake_node live, mute;
    pthread_t tl, tm;
    batch b;
    captured c;
    char text[65536];
    size_t rejected_at = PIPE_VOTERS / 2;
    (void)state;

    fake_node_start(&live, 0, &tl);
    fake_node_start(&mute, 1, &tm);
    {
        const char *nodes[2] = {client_endpoint_endpoint(live.ep),
                                client_endpoint_endpoint(mute.ep)}; /* voters 1, 3, 5... go here first */
        pipe_batch_init(&b, nodes, 2, PIPE_VOTERS, busy_kind, 0);
    }
    capture_stderr(&c, "stderr.txt");
    assert_int_equal(batch_pipeline(&b), 1);
    captured_text(&c, text, sizeof text);
    fake_node_stop(&live, tl);
    fake_node_stop(&mute, tm);
    assert_non_null(strstr(text, "voters.txt line 151 (voter.key)"));
    assert_non_null(strstr(text, "rejected the ballot: the ballot was refused: this key is not on the election's roll"));
    assert_non_null(strstr(text, "answered nothing for 3 s"));
    assert_true(mute.requests > 0);
    for (size_t i = 0; i < b.n; i++) {
        batch_voter *bv = &b.v[i];
        if (i == rejected_at) {
            assert_int_equal(bv->state, BV_REJECTED);
            assert_false(bv->accepted);
            continue;
        }
        assert_int_equal(bv->state, BV_DONE);
        assert_true(bv->accepted);
        assert_int_equal(bv->node, 0);
        assert_int_equal(bv->ans.state, EVOTE__V1__TX_STATE__TX_STATE_COMMITTED);
        assert_int_equal(bv->ans.result, EVOTE__V1__TX_RESULT__TX_RESULT_OK);
        assert_null(bv->tx);
    }
    /* Each ballot reached the live node's mempool once; busy ones were retried. */
    assert_int_equal(live.n_ids, PIPE_VOTERS);
    for (size_t i = 0; i < live.n_ids; i++)
        assert_true(live.accepted[i] <= 1);
    assert_int_equal(b.busy_answers, 2 * ((PIPE_VOTERS + 6) / 7));
    assert_true(b.last_commit > 0);
    free(b.v);
}

/* A node whose state refused a ballot in a way a later block may change
 * (later_may_accept: it may not have executed the voter's registration
 * yet) is followed by the next node, which takes it; each node refuses a
 * ballot once at most, and one that every node refuses is reported
 * rejected, as is a refusal no later block changes ('R'). */
static void test_pipelined_cast_asks_the_next_node_after_a_lagging_refusal(void **state)
{
    enum { N = 40 };
    static fake_node lag1, lag2, live, mute;
    pthread_t t1, t2, tl, tm;
    batch b;
    captured c;
    char text[65536];
    (void)state;

    fake_node_start_c(&lag1, 0, 1, &t1);
    fake_node_start_c(&lag2, 0, 1, &t2);
    fake_node_start_c(&live, 0, 1, &tl);
    fake_node_start_c(&mute, 1, 1, &tm);
    lag1.lagging = lag2.lagging = 1;
    for (int round = 0; round < 3; round++) {
        const char *nodes[3] = {client_endpoint_endpoint(lag1.ep),
                                client_endpoint_endpoint(round == 2 ? mute.ep : lag2.ep),
                                client_endpoint_endpoint(live.ep)};
        /* round 1: only lagging nodes; round 2: a lagging node and one that
         * never answers (set aside after 3 s: the refusals stand) */
        pipe_batch_init(&b, nodes, round == 0 ? 3 : 2, N, lagging_kind, (uint8_t)round);
        capture_stderr(&c, "stderr-lag.txt");
        assert_int_equal(batch_pipeline(&b), 1);
        captured_text(&c, text, sizeof text);
        for (size_t i = 0; i < b.n; i++) {
            batch_voter *bv = &b.v[i];
            if (i == 7) {
                assert_int_equal(bv->state, BV_REJECTED);
                assert_int_equal(bv->refused_by, 0);
            } else if (round == 0) {
                assert_int_equal(bv->state, BV_DONE);
                assert_int_equal(bv->node, 2);
                assert_int_equal(bv->refused_by & 4, 0);
            } else if (round == 1) {
                assert_int_equal(bv->state, BV_REJECTED);
                assert_int_equal(bv->refused_by, 3); /* each lagging node once */
            } else {
                assert_int_equal(bv->state, BV_REJECTED);
                assert_int_equal(bv->refused_by, 1);
            }
            free(bv->tx);
        }
        assert_non_null(strstr(text, "a validator further on may accept it: trying the next node"));
        if (round == 2)
            assert_non_null(strstr(text, "rejected by every node that answers"));
        free(b.v);
    }
    assert_int_equal(live.n_ids, N - 1); /* every 'L' ballot of round 0 reached the live node */
    fake_node_stop(&lag1, t1);
    fake_node_stop(&lag2, t2);
    fake_node_stop(&live, tl);
    fake_node_stop(&mute, tm);
}

/* Runs submit_tx_answer with stderr captured. Out: the text. */
static int submit_captured(const node_opts *o, const uint8_t *tx, size_t len, long wait_ms, tx_answer *ans,
                           char *text, size_t size)
{
    captured c;
    int rc;

    capture_stderr(&c, "submit-stderr.txt");
    rc = submit_tx_answer(o, tx, len, wait_ms, ans);
    captured_text(&c, text, size);
    return rc;
}

/* A node that accepted the transaction and then no longer knows it (it
 * restarted before the commit) gets the same bytes again, and the wait goes
 * on: the command succeeds, saying what it did. */
static void test_submit_sends_a_forgotten_transaction_again(void **state)
{
    static fake_node forgetful;
    pthread_t t;
    node_opts o;
    tx_answer ans;
    uint8_t tx[40];
    char text[8192];
    (void)state;

    fake_node_start_c(&forgetful, 0, 2, &t);
    memset(tx, 'f', sizeof tx);
    node_opts_init(&o, "notice");
    o.timeout_ms = 500;
    assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(forgetful.ep)), 1);
    assert_int_equal(submit_captured(&o, tx, sizeof tx, 3000, &ans, text, sizeof text), 0);
    assert_int_equal(ans.state, EVOTE__V1__TX_STATE__TX_STATE_COMMITTED);
    assert_int_equal(forgetful.submits, 2);
    assert_non_null(strstr(text, "now says it has never seen it (did it restart?): sending the same bytes again"));
    fake_node_stop(&forgetful, t);
}

/* Nodes that do not answer: each is asked once per call (one --timeout
 * each), not once more in the pass that puts earlier failures last. */
static void test_a_silent_node_is_asked_once_per_call(void **state)
{
    static fake_node m1, m2;
    pthread_t t1, t2;
    node_opts o;
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__GetTip gt = EVOTE__V1__GET_TIP__INIT;
    Evote__V1__ApiResponse *resp = NULL;
    (void)state;

    fake_node_start(&m1, 1, &t1);
    fake_node_start(&m2, 1, &t2);
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_TIP;
    req.get_tip = &gt;
    node_opts_init(&o, "tip");
    o.timeout_ms = 200;
    assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(m1.ep)), 1);
    assert_int_equal(node_call(&o, &req, 0, &resp), EXIT_FAILED);
    assert_null(resp);
    assert_int_equal(m1.requests, 1);
    /* Asked again by the command's next call: it is the only node. */
    assert_int_equal(node_call(&o, &req, 0, &resp), EXIT_FAILED);
    assert_int_equal(m1.requests, 2);

    /* Two silent nodes: once each per call, the one that failed in an
     * earlier call last. */
    assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(m2.ep)), 1);
    assert_int_equal(node_call(&o, &req, 0, &resp), EXIT_FAILED);
    assert_int_equal(m1.requests, 3);
    assert_int_equal(m2.requests, 1);
    fake_node_stop(&m1, t1);
    fake_node_stop(&m2, t2);
}

/* A read over the address's budget is answered BUSY with the wait
 * (retry_after_ms): the client waits that long and asks again, within its
 * --timeout; a wait beyond the timeout hands the BUSY answer back at once. */
static void test_a_read_over_budget_waits_as_told(void **state)
{
    static fake_node f;
    pthread_t t;
    node_opts o;
    Evote__V1__ApiResponse *resp = NULL;
    double t0;
    (void)state;

    fake_node_start_c(&f, 0, 1, &t);
    f.answer_tip = 1;
    f.tip_height = 42;
    f.read_busy = 3;
    f.read_wait = 40;
    node_opts_init(&o, "status");
    o.timeout_ms = 2000;
    assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(f.ep)), 1);
    t0 = cli_mono_s();
    assert_int_equal(ask_node_status(&o, 1, &resp), 0);
    assert_true(cli_mono_s() - t0 >= 0.11); /* three waits of 40 ms */
    assert_int_equal(resp->status, EVOTE__V1__API_STATUS__API_STATUS_OK);
    assert_int_equal(resp->node->height, 42);
    assert_int_equal(f.read_busy, 0);
    evote__v1__api_response__free_unpacked(resp, NULL);

    f.read_busy = 1;
    f.read_wait = 60000; /* beyond --timeout: not waited for */
    t0 = cli_mono_s();
    {
        Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
        Evote__V1__GetTip gt = EVOTE__V1__GET_TIP__INIT;
        req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_TIP;
        req.get_tip = &gt;
        assert_int_equal(node_call(&o, &req, 0, &resp), 0);
    }
    assert_true(cli_mono_s() - t0 < 30.0); /* not the 60 s it was told: --timeout is 2 s */
    assert_int_equal(resp->status, EVOTE__V1__API_STATUS__API_STATUS_BUSY);
    assert_int_equal(resp->retry_after_ms, 60000);
    evote__v1__api_response__free_unpacked(resp, NULL);
    fake_node_stop(&f, t);
}

/* --node given three times: the first never answers, the second accepts the
 * transaction but never commits it (a validator that keeps it to itself:
 * it never reaches the others), the third commits it. The same bytes go on
 * to the next node each time and the command succeeds; any other request
 * goes on past the silent one too; with the second alone the command
 * reports the transaction pending. */
static void test_submit_goes_on_to_the_next_node_until_one_commits(void **state)
{
    static fake_node mute, keeper, live;
    pthread_t tm, tk, tl;
    node_opts o;
    tx_answer ans;
    uint8_t tx[40];
    char text[8192], want[300];
    (void)state;

    fake_node_start_c(&mute, 1, 0, &tm);
    fake_node_start_c(&keeper, 0, -1, &tk);
    fake_node_start_c(&live, 0, 1, &tl);
    memset(tx, 'x', sizeof tx);
    node_opts_init(&o, "notice");
    o.timeout_ms = 500;
    assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(mute.ep)), 1);
    assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(keeper.ep)), 1);
    assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(live.ep)), 1);
    assert_int_equal(o.n_alt, 2);

    assert_int_equal(submit_captured(&o, tx, sizeof tx, 200, &ans, text, sizeof text), 0);
    assert_int_equal(ans.state, EVOTE__V1__TX_STATE__TX_STATE_COMMITTED);
    assert_true(mute.requests >= 1);
    assert_int_equal(keeper.submits, 1);
    assert_int_equal(live.submits, 1);
    assert_memory_equal(keeper.ids[0], live.ids[0], 32); /* the same transaction */
    snprintf(want, sizeof want, "sending the same transaction through %s", client_endpoint_endpoint(keeper.ep));
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "sending the same transaction through %s", client_endpoint_endpoint(live.ep));
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "accepted the transaction but did not commit it within 200 ms"));

    /* Any request: a node that does not answer is followed by the next. */
    {
        Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
        Evote__V1__GetTx get = EVOTE__V1__GET_TX__INIT;
        Evote__V1__ApiResponse *resp = NULL;
        node_opts two;
        node_opts_init(&two, "tx");
        two.timeout_ms = 300;
        assert_int_equal(node_opt(&two, OPT_NODE, client_endpoint_endpoint(mute.ep)), 1);
        assert_int_equal(node_opt(&two, OPT_NODE, client_endpoint_endpoint(live.ep)), 1);
        get.id = (ProtobufCBinaryData){32, live.ids[0]};
        req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_TX;
        req.get_tx = &get;
        assert_int_equal(node_call(&two, &req, 0, &resp), 0);
        assert_non_null(resp->tx);
        assert_int_equal(resp->tx->state, EVOTE__V1__TX_STATE__TX_STATE_COMMITTED);
        evote__v1__api_response__free_unpacked(resp, NULL);
    }

    /* A --node that is no endpoint stops the command at once (exit 2). */
    node_opts_init(&o, "notice");
    assert_int_equal(node_opt(&o, OPT_NODE, "foo"), 1);
    assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(live.ep)), 1);
    assert_int_equal(submit_captured(&o, tx, sizeof tx, 200, &ans, text, sizeof text), EXIT_USAGE);
    assert_non_null(strstr(text, "--node 'foo' is not an endpoint"));
    assert_null(strstr(text, "sending the same transaction"));
    assert_int_equal(live.submits, 1); /* only the earlier one */

    /* The keeper alone: accepted, then pending, and the command fails. */
    node_opts_init(&o, "notice");
    o.timeout_ms = 500;
    assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(keeper.ep)), 1);
    assert_int_equal(submit_captured(&o, tx, sizeof tx, 200, &ans, text, sizeof text), EXIT_FAILED);
    assert_int_equal(ans.state, EVOTE__V1__TX_STATE__TX_STATE_PENDING);
    assert_non_null(strstr(text, "accepted but not committed within 200 ms"));
    assert_null(strstr(text, "sending the same transaction"));

    /* A node that refuses by its state, which a later block may change, is
     * followed by the next --node; alone, it is the answer. */
    {
        static fake_node lag;
        pthread_t tg;
        uint8_t ltx[40];
        fake_node_start_c(&lag, 0, 1, &tg);
        lag.lagging = 1;
        memset(ltx, 'L', sizeof ltx);
        node_opts_init(&o, "vote");
        o.timeout_ms = 500;
        assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(lag.ep)), 1);
        assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(live.ep)), 1);
        assert_int_equal(submit_captured(&o, ltx, sizeof ltx, 200, &ans, text, sizeof text), 0);
        assert_int_equal(ans.state, EVOTE__V1__TX_STATE__TX_STATE_COMMITTED);
        assert_int_equal(lag.submits, 1);
        assert_int_equal(live.submits, 2);
        assert_non_null(strstr(text, "as this validator's chain has it at height 3; a validator further on may "
                                     "accept it: trying the next --node"));
        node_opts_init(&o, "vote");
        o.timeout_ms = 500;
        assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(lag.ep)), 1);
        assert_int_equal(submit_captured(&o, ltx, sizeof ltx, 200, &ans, text, sizeof text), EXIT_FAILED);
        assert_int_equal(lag.submits, 2);
        assert_null(strstr(text, "trying the next"));
        /* A refusal no later block changes is final, other --node or not. */
        memset(ltx, 'R', sizeof ltx);
        node_opts_init(&o, "vote");
        o.timeout_ms = 500;
        assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(lag.ep)), 1);
        assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(live.ep)), 1);
        assert_int_equal(submit_captured(&o, ltx, sizeof ltx, 200, &ans, text, sizeof text), EXIT_FAILED);
        assert_int_equal(live.submits, 2);
        fake_node_stop(&lag, tg);
    }

    fake_node_stop(&mute, tm);
    fake_node_stop(&keeper, tk);
    fake_node_stop(&live, tl);
}

/* GetElection's answer from the store holding rec and, when att_len > 0,
 * the attestations att ('A' || E), packed. Out: *len. */
static uint8_t *election_answer(chain_store *s, const Evote__V1__ElectionRecord *rec, const uint8_t *att,
                                size_t att_len, size_t *len, size_t *n_att)
{
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__GetElection ge = EVOTE__V1__GET_ELECTION__INIT;
    Evote__V1__ApiResponse resp;
    uint8_t key[33], akey[33], tkey[33], packed[1024], *out;
    uint8_t tally[ELECTION_TALLY_HEADER + 2 * ELGAMAL_CT_STATE_LEN] = {0}; /* 2 options, empty sums */
    chain_store_state_change ch[3];
    size_t plen = evote__v1__election_record__pack(rec, packed);
    void *scratch = NULL;

    key[0] = 'E';
    memcpy(key + 1, rec->election_hash.data, 32);
    akey[0] = 'A';
    memcpy(akey + 1, rec->election_hash.data, 32);
    ch[0] = (chain_store_state_change){key, sizeof key, packed, plen, 0};
    ch[1] = (chain_store_state_change){akey, sizeof akey, att, att_len, att_len == 0};
    tkey[0] = 'T';
    memcpy(tkey + 1, rec->election_hash.data, 32);
    ch[2] = (chain_store_state_change){tkey, sizeof tkey, tally, sizeof tally, 0};
    assert_int_equal(chain_store_put_state(s, ch, 3), STORE_OK);
    ge.election_id = rec->definition->election_id;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_ELECTION;
    req.get_election = &ge;
    assert_int_equal(call(s, &req, &resp, &scratch), 1);
    if (resp.status != EVOTE__V1__API_STATUS__API_STATUS_OK)
        fail_msg("GetElection: %s", resp.reason);
    *n_att = resp.n_key_attestations;
    *len = evote__v1__api_response__get_packed_size(&resp);
    out = malloc(*len);
    assert_non_null(out);
    evote__v1__api_response__pack(&resp, out);
    api_election_scratch_free(&scratch);
    return out;
}

/* GetResult's answer from the store holding res and the result
 * attestations att ('Q' || E), packed. Out: *len. */
static uint8_t *result_answer(chain_store *s, const uint8_t e[32], const Evote__V1__ElectionResult *res,
                              const uint8_t *att, size_t att_len, size_t *len)
{
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__GetResult gr = EVOTE__V1__GET_RESULT__INIT;
    Evote__V1__ApiResponse resp;
    uint8_t rkey[33], qkey[33], packed[256], *out;
    chain_store_state_change ch[2];
    void *scratch = NULL;

    rkey[0] = 'R';
    qkey[0] = 'Q';
    memcpy(rkey + 1, e, 32);
    memcpy(qkey + 1, e, 32);
    ch[0] = (chain_store_state_change){rkey, 33, packed, evote__v1__election_result__pack(res, packed), 0};
    ch[1] = (chain_store_state_change){qkey, 33, att, att_len, att_len == 0};
    assert_int_equal(chain_store_put_state(s, ch, 2), STORE_OK);
    gr.election_id = (ProtobufCBinaryData){5, (uint8_t *)"mayor"};
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_RESULT;
    req.get_result = &gr;
    assert_int_equal(call(s, &req, &resp, &scratch), 1);
    assert_int_equal(resp.status, EVOTE__V1__API_STATUS__API_STATUS_OK);
    *len = evote__v1__api_response__get_packed_size(&resp);
    out = malloc(*len);
    assert_non_null(out);
    evote__v1__api_response__pack(&resp, out);
    api_election_scratch_free(&scratch);
    return out;
}

/* Appends validator v's attestation of rec (with res: of the result) to
 * att (*len bytes so far). */
static void add_attestation(uint8_t *att, size_t *len, const signing_key *k, uint32_t v,
                            const Evote__V1__ElectionRecord *rec, const Evote__V1__ElectionResult *res)
{
    election_attest_msg m;
    if (res != NULL)
        assert_true(election_result_attest_msg(rec, res, &m));
    else
        assert_true(election_key_attest_msg(rec, &m));
    att[*len] = (uint8_t)(v >> 24);
    att[*len + 1] = (uint8_t)(v >> 16);
    att[*len + 2] = (uint8_t)(v >> 8);
    att[*len + 3] = (uint8_t)v;
    assert_int_equal(signing_key_sign(k, m.tag, m.msg, m.len, att + *len + 4), CRYPTO_OK);
    *len += ELECTION_ATTEST_ENTRY_LEN;
}

/* A genesis of 4 validators (f = 1) named board0..3, with fresh keys. */
static void four_validators(genesis *g, genesis_validator gv[4], signing_key *vk[4])
{
    memset(g, 0, sizeof *g);
    memcpy(g->chain_id, chain_id, 32);
    g->n = 4;
    g->f = 1;
    g->validators = gv;
    for (int v = 0; v < 4; v++) {
        assert_int_equal(signing_key_generate(&vk[v]), CRYPTO_OK);
        signing_key_pubkey(vk[v], gv[v].pubkey);
        snprintf(gv[v].name, sizeof gv[v].name, "board%d", v);
    }
}

/* A fake node that answers GetElection with answer (len bytes). */
static void election_node_start(fake_node *f, const uint8_t *answer, size_t len, pthread_t *t)
{
    fake_node_start_c(f, 0, 1, t); /* clears *f: the answer after it */
    fake_answer(f, &f->election, &f->election_len, answer, len);
}

/* From now on f answers GetElection with rec, as stored in s; the answer
 * is kept in keep[] (freed by the caller once f stops: a late retry of an
 * earlier call may read the one before). */
static void serve_record(fake_node *f, chain_store *s, const Evote__V1__ElectionRecord *rec, uint8_t **keep,
                         size_t *n_keep)
{
    size_t len, n_att;
    uint8_t *ans = election_answer(s, rec, NULL, 0, &len, &n_att);
    keep[(*n_keep)++] = ans;
    fake_answer(f, &f->election, &f->election_len, ans, len);
}

/* A fake node answering GetElection with a mayor election's record and
 * GetTip, and the options of a command that asks it. */
typedef struct {
    chain_store *s;
    mayor m;
    fake_node f;
    pthread_t t;
    node_opts o;
    uint8_t *keep[8]; /* the answers served (serve_record) */
    size_t n_keep;
} mayor_node;

/* Starts x's node on x->m's record as it is (set its definition first). */
static void mayor_node_start(mayor_node *x, const char *cmd)
{
    fake_node_start_c(&x->f, 0, 1, &x->t);
    serve_record(&x->f, x->s, &x->m.rec, x->keep, &x->n_keep);
    x->f.answer_tip = 1;
    node_opts_init(&x->o, cmd);
    x->o.timeout_ms = 500;
    assert_int_equal(node_opt(&x->o, OPT_NODE, client_endpoint_endpoint(x->f.ep)), 1);
}

static void mayor_node_stop(mayor_node *x)
{
    fake_node_stop(&x->f, x->t);
    while (x->n_keep > 0)
        free(x->keep[--x->n_keep]);
    chain_store_destroy(&x->s);
}

/* fetch_vouched_election through a (then b, when not NULL), stderr in text. */
static int vouched_from(const genesis *g, const uint8_t e[32], fake_node *a, fake_node *b,
                        Evote__V1__ApiResponse **got, char *text, size_t size)
{
    node_opts o;
    captured c;
    int rc;

    node_opts_init(&o, "vote");
    o.timeout_ms = 500;
    assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(a->ep)), 1);
    if (b != NULL)
        assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(b->ep)), 1);
    capture_stderr(&c, "vouch");
    rc = fetch_vouched_election(&o, g, "mayor", e, VOTE_REFUSAL, got);
    captured_text(&c, text, size);
    return rc;
}

/* A voter's client encrypts only to a key and definition that f+1
 * validators of its genesis vouch for. A faulty validator that serves a key
 * of its own (attested by itself alone), or the chain's key with an option
 * list edited under the honest attestations, is refused after the wait; with
 * an honest node among the --node endpoints the client finds it. The same
 * for a result (evote result --genesis): a forged count served with the
 * honest attestations is refused. The attestations travel from the store
 * through the node's API. */
static void test_clients_trust_only_a_key_or_result_that_f_plus_1_validators_vouch_for(void **state)
{
    static fake_node faulty, edited, honest;
    pthread_t tf, te, th;
    chain_store *s = open_store();
    signing_key *vk[4];
    genesis_validator gv[4];
    genesis g;
    mayor m;
    Evote__V1__ElectionRecord *rec = &m.rec;
    const uint8_t *e = m.e;
    Evote__V1__ApiResponse *got = NULL;
    char *swapped[2] = {"Grace", "Ada"}, text[8192];
    uint8_t y[33], y_own[33], att[4 * ELECTION_ATTEST_ENTRY_LEN];
    uint8_t *honest_bytes, *faulty_bytes, *edited_bytes, *result_bytes, *forged_bytes, *nokey_bytes;
    ProtobufCBinaryData vkey = {33, y};
    size_t att_len = 0, n_att, honest_len, edited_len, faulty_len, result_len, forged_len, nokey_len;
    (void)state;

    four_validators(&g, gv, vk);
    mayor_init(&m);
    y[0] = 2;
    memcpy(y + 1, m.tpub, 32); /* bytes are all the attestation looks at */
    y_own[0] = 3;
    memcpy(y_own + 1, m.tpub, 32);

    /* A node that says the key does not exist yet. */
    nokey_bytes = election_answer(s, rec, NULL, 0, &nokey_len, &n_att);
    rec->verification_keys = &vkey;
    rec->n_verification_keys = 1;
    /* The chain's key, attested by validators 1 and 2. */
    rec->election_key = (ProtobufCBinaryData){33, y};
    add_attestation(att, &att_len, vk[1], 1, rec, NULL);
    add_attestation(att, &att_len, vk[2], 2, rec, NULL);
    honest_bytes = election_answer(s, rec, att, att_len, &honest_len, &n_att);
    assert_int_equal(n_att, 2);
    /* The same attestations under an edited option list. */
    m.q.options = swapped;
    edited_bytes = election_answer(s, rec, att, att_len, &edited_len, &n_att);
    m.q.options = m.opts;
    /* Validator 0's own key, attested by itself, twice. */
    rec->election_key = (ProtobufCBinaryData){33, y_own};
    att_len = 0;
    add_attestation(att, &att_len, vk[0], 0, rec, NULL);
    add_attestation(att, &att_len, vk[0], 0, rec, NULL);
    faulty_bytes = election_answer(s, rec, att, att_len, &faulty_len, &n_att);
    assert_int_equal(n_att, 2);
    /* The result, attested by validators 1 and 2; and a forged count
     * served with those same attestations. */
    rec->election_key = (ProtobufCBinaryData){33, y};
    {
        uint64_t counts[2] = {3, 4}, forged[2] = {4, 3};
        uint32_t trustees[1] = {1};
        Evote__V1__ElectionResult res = EVOTE__V1__ELECTION_RESULT__INIT;
        res.counts = counts;
        res.n_counts = 2;
        res.ballots_counted = 7;
        res.trustees = trustees;
        res.n_trustees = 1;
        res.height = 40;
        att_len = 0;
        add_attestation(att, &att_len, vk[1], 1, rec, &res);
        add_attestation(att, &att_len, vk[2], 2, rec, &res);
        result_bytes = result_answer(s, e, &res, att, att_len, &result_len);
        res.counts = forged;
        forged_bytes = result_answer(s, e, &res, att, att_len, &forged_len);
    }
    chain_store_destroy(&s);

    election_node_start(&faulty, faulty_bytes, faulty_len, &tf);
    election_node_start(&edited, edited_bytes, edited_len, &te);
    election_node_start(&honest, honest_bytes, honest_len, &th);
    vouch_wait_ms = 900;

    /* The faulty node alone: refused after the wait. */
    assert_int_equal(vouched_from(&g, e, &faulty, NULL, &got, text, sizeof text), EXIT_FAILED);
    assert_null(got);
    assert_non_null(strstr(text, "waiting for the others"));
    assert_non_null(strstr(text, "only 1 of the 4 validators vouch for the key of election 'mayor'"));
    assert_true(faulty.requests >= 2); /* asked again during the wait */

    /* Edited options under honest attestations: nobody vouches. */
    assert_int_equal(vouched_from(&g, e, &edited, NULL, &got, text, sizeof text), EXIT_FAILED);
    assert_non_null(strstr(text, "only 0 of the 4 validators"));

    /* "No key yet" from the first node, the honest one next: it is found.
     * (The edited node plays the one without a key.) */
    fake_answer(&edited, &edited.election, &edited.election_len, nokey_bytes, nokey_len);
    assert_int_equal(vouched_from(&g, e, &edited, &honest, &got, text, sizeof text), 0);
    assert_non_null(got);
    assert_memory_equal(got->election->election_key.data, y, 33);
    evote__v1__api_response__free_unpacked(got, NULL);
    /* ... and from every node: the caller is told there is no key. */
    assert_int_equal(vouched_from(&g, e, &edited, NULL, &got, text, sizeof text), 0);
    assert_int_equal(got->election->election_key.len, 0);
    evote__v1__api_response__free_unpacked(got, NULL);
    fake_answer(&edited, &edited.election, &edited.election_len, edited_bytes, edited_len);

    /* Faulty first, then an honest node: the client goes on to it. */
    assert_int_equal(vouched_from(&g, e, &faulty, &honest, &got, text, sizeof text), 0);
    assert_non_null(got);
    assert_memory_equal(got->election->election_key.data, y, 33);
    assert_string_equal(got->election->definition->questions[0]->options[0], "Ada");
    assert_int_equal(key_vouchers(&g, got, NULL), 2);
    evote__v1__api_response__free_unpacked(got, NULL);

    /* With another genesis (other validator keys) nothing counts. */
    {
        genesis other = g;
        genesis_validator ov[4];
        memcpy(ov, gv, sizeof ov);
        ov[1].pubkey[0] ^= 1;
        ov[2] = ov[3];
        other.validators = ov;
        assert_int_equal(vouched_from(&other, e, &honest, NULL, &got, text, sizeof text), EXIT_FAILED);
        assert_non_null(strstr(text, "only 0 of the 4 validators"));
    }

    /* evote result --genesis: a forged count (the honest attestations
     * with it) is refused; from the honest node, vouched for by 2. */
    fake_answer(&edited, &edited.election, &edited.election_len, honest_bytes, honest_len); /* the honest election... */
    fake_answer(&edited, &edited.result, &edited.result_len, forged_bytes, forged_len); /* ...and a forged result */
    fake_answer(&honest, &honest.result, &honest.result_len, result_bytes, result_len);
    {
        vouch_ctx v = {"mayor", e, NULL, NULL};
        node_opts o;
        captured c;
        node_opts_init(&o, "result");
        o.timeout_ms = 500;
        assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(edited.ep)), 1);
        capture_stderr(&c, "result1");
        assert_int_equal(vouched_fetch(&o, &g, result_round, vouch_drop, &v, "the result", "not showing it"),
                         EXIT_FAILED);
        captured_text(&c, text, sizeof text);
        assert_non_null(strstr(text, "only 0 of the 4 validators vouch for the result"));
        assert_null(v.el);
        assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(honest.ep)), 1);
        capture_stderr(&c, "result2");
        assert_int_equal(vouched_fetch(&o, &g, result_round, vouch_drop, &v, "the result", "not showing it"), 0);
        captured_text(&c, text, sizeof text);
        assert_non_null(v.res);
        assert_int_equal(v.res->result->counts[0], 3);
        assert_int_equal(result_vouchers(&g, v.el, v.res, NULL), 2);
        vouch_drop(&v);
    }

    fake_node_stop(&faulty, tf);
    fake_node_stop(&edited, te);
    fake_node_stop(&honest, th);
    free(result_bytes);
    free(forged_bytes);
    free(nokey_bytes);
    free(honest_bytes);
    free(edited_bytes);
    free(faulty_bytes);
    for (int v = 0; v < 4; v++)
        signing_key_destroy(&vk[v]);
}

/* evote register stops before submitting past the roll's deadline: the
 * node's height at or past a deadline by height (the next block would be
 * refused), this computer's clock a minute past one by time; an election
 * the node does not know is left to the chain. */
static void test_register_stops_past_the_roll_deadline(void **state)
{
    mayor_node x = {.s = open_store()};
    captured c;
    char text[1024];
    (void)state;

    mayor_init(&x.m);
    x.m.def.registration_end_height = 10;
    mayor_node_start(&x, "register");
    x.f.tip_height = 9; /* the next block, 10, still takes registrations */
    assert_int_equal(roll_frozen(&x.o, "mayor"), 0);
    x.f.tip_height = 10;
    capture_stderr(&c, "roll1");
    assert_int_equal(roll_frozen(&x.o, "mayor"), 1);
    captured_text(&c, text, sizeof text);
    assert_non_null(strstr(text, "frozen after height 10"));
    assert_non_null(strstr(text, "nothing submitted"));

    x.m.def.registration_end_height = 0;
    x.m.def.registration_end_time_ms = wall_clock_ms() - 30000; /* within the minute: the chain decides */
    serve_record(&x.f, x.s, &x.m.rec, x.keep, &x.n_keep);
    assert_int_equal(roll_frozen(&x.o, "mayor"), 0);
    x.m.def.registration_end_time_ms = wall_clock_ms() - 120000;
    serve_record(&x.f, x.s, &x.m.rec, x.keep, &x.n_keep);
    capture_stderr(&c, "roll2");
    assert_int_equal(roll_frozen(&x.o, "mayor"), 1);
    captured_text(&c, text, sizeof text);
    assert_non_null(strstr(text, "was frozen at"));

    /* Frozen when the polls open (the default): not before the key is on
     * chain, nor while the next block is below the opening height. */
    x.m.def.registration_end_time_ms = 0;
    x.m.def.roll_frozen_at_opening = 1;
    x.m.def.open_height = 12;
    serve_record(&x.f, x.s, &x.m.rec, x.keep, &x.n_keep);
    x.f.tip_height = 20;
    assert_int_equal(roll_frozen(&x.o, "mayor"), 0); /* no election key yet */
    {
        uint8_t y[33] = {0x02, 0x79, 0xbe, 0x66, 0x7e, 0xf9, 0xdc, 0xbb, 0xac, 0x55, 0xa0, 0x62,
                         0x95, 0xce, 0x87, 0x0b, 0x07, 0x02, 0x9b, 0xfc, 0xdb, 0x2d, 0xce,
                         0x28, 0xd9, 0x59, 0xf2, 0x81, 0x5b, 0x16, 0xf8, 0x17, 0x98}; /* G */
        ProtobufCBinaryData vkey = {sizeof y, y};
        x.m.rec.election_key = vkey;
        x.m.rec.verification_keys = &vkey;
        x.m.rec.n_verification_keys = 1;
        serve_record(&x.f, x.s, &x.m.rec, x.keep, &x.n_keep);
        x.m.rec.election_key = (ProtobufCBinaryData){0, NULL};
        x.m.rec.n_verification_keys = 0;
    }
    x.f.tip_height = 10;
    assert_int_equal(roll_frozen(&x.o, "mayor"), 0); /* the next block, 11, still takes them */
    x.f.tip_height = 11;
    capture_stderr(&c, "roll4");
    assert_int_equal(roll_frozen(&x.o, "mayor"), 1);
    captured_text(&c, text, sizeof text);
    assert_non_null(strstr(text, "are open"));
    assert_non_null(strstr(text, "--registration-until-close"));

    fake_answer(&x.f, &x.f.election, &x.f.election_len, NULL, 0); /* a node that does not know it: not ours to say */
    capture_stderr(&c, "roll3");
    assert_int_equal(roll_frozen(&x.o, "mayor"), 0);
    captured_text(&c, text, sizeof text);
    assert_int_equal(x.f.submits, 0);
    mayor_node_stop(&x);
}

/* evote election open, where the roll freezes at the opening: an empty roll
 * is refused (nobody could vote), unless allowed; otherwise its size is
 * said. Not while the opening height is ahead, nor once opened. */
static void test_open_refuses_to_freeze_an_empty_roll(void **state)
{
    mayor_node x = {.s = open_store()};
    captured c;
    char text[1024];
    (void)state;

    mayor_init(&x.m);
    x.m.def.roll_frozen_at_opening = 1;
    mayor_node_start(&x, "election open");
    x.f.tip_height = 10;
    capture_stderr(&c, "empty1");
    assert_int_equal(empty_roll(&x.o, "mayor", 0), 1);
    captured_text(&c, text, sizeof text);
    assert_non_null(strstr(text, "nobody is on the roll"));
    assert_non_null(strstr(text, "--allow-empty-roll"));
    capture_stderr(&c, "empty2");
    assert_int_equal(empty_roll(&x.o, "mayor", 1), 0);
    captured_text(&c, text, sizeof text);
    assert_non_null(strstr(text, "frozen with the polls' opening: 0 voters"));

    x.m.rec.voters_registered = 5;
    serve_record(&x.f, x.s, &x.m.rec, x.keep, &x.n_keep);
    capture_stderr(&c, "empty3");
    assert_int_equal(empty_roll(&x.o, "mayor", 0), 0);
    captured_text(&c, text, sizeof text);
    assert_non_null(strstr(text, "5 voters registered"));

    /* The opening height ahead of the next block: voters may still come. */
    x.m.rec.voters_registered = 0;
    x.m.def.open_height = 50;
    serve_record(&x.f, x.s, &x.m.rec, x.keep, &x.n_keep);
    capture_stderr(&c, "empty4");
    assert_int_equal(empty_roll(&x.o, "mayor", 0), 0);
    captured_text(&c, text, sizeof text);
    assert_int_equal(text[0], '\0');
    x.f.tip_height = 49;
    assert_int_equal(empty_roll(&x.o, "mayor", 0), 1);

    /* A roll that stays open while votes are cast. */
    x.m.def.roll_frozen_at_opening = 0;
    serve_record(&x.f, x.s, &x.m.rec, x.keep, &x.n_keep);
    assert_int_equal(empty_roll(&x.o, "mayor", 0), 0);
    assert_int_equal(x.f.submits, 0);
    mayor_node_stop(&x);
}

/* evote track --genesis: the ballot must be in the batch the certificate
 * signs, at its index, for this chain and height. */
static void test_track_proves_the_ballot_is_in_the_certified_batch(void **state)
{
    Evote__V1__Batch b = EVOTE__V1__BATCH__INIT;
    ProtobufCBinaryData txs[2] = {{5, (uint8_t *)"tx-one"}, {5, (uint8_t *)"tx-two"}};
    uint8_t packed[256], digest[32], code[32], other_chain[32] = {9};
    size_t len;
    char why[200];
    (void)state;

    b.chain_id = (ProtobufCBinaryData){32, (uint8_t *)chain_id};
    b.seq = 7;
    b.txs = txs;
    b.n_txs = 2;
    len = evote__v1__batch__pack(&b, packed);
    crypto_tagged_hash(CRYPTO_TAG_BATCH, packed, len, digest);
    envelope_txid(txs[1].data, txs[1].len, code);

    assert_true(batch_holds_tx(packed, len, digest, 32, chain_id, 7, 1, code, NULL, why, sizeof why));
    assert_false(batch_holds_tx(packed, len, digest, 32, chain_id, 7, 0, code, NULL, why, sizeof why));
    assert_non_null(strstr(why, "transaction 0 of the certified batch is another one"));
    assert_false(batch_holds_tx(packed, len, digest, 32, chain_id, 7, 2, code, NULL, why, sizeof why));
    assert_non_null(strstr(why, "none at index 2"));
    assert_false(batch_holds_tx(packed, len, digest, 32, chain_id, 8, 1, code, NULL, why, sizeof why));
    assert_non_null(strstr(why, "not this chain's block at height 8"));
    assert_false(batch_holds_tx(packed, len, digest, 32, other_chain, 7, 1, code, NULL, why, sizeof why));
    digest[0] ^= 1; /* a batch the certificate does not sign */
    assert_false(batch_holds_tx(packed, len, digest, 32, chain_id, 7, 1, code, NULL, why, sizeof why));
    assert_non_null(strstr(why, "not the one its commit certificate signs"));
    assert_false(batch_holds_tx(packed, len, digest, 31, chain_id, 7, 1, code, NULL, why, sizeof why));
}

/* A TrackStatement on code by validator v, signed with k, in resp (its
 * bytes in buf). */
static void statement_in(Evote__V1__ApiResponse *resp, uint8_t *buf, uint8_t sig[64], const signing_key *k,
                         uint32_t v, const uint8_t *chain, const uint8_t code[32], int status, uint64_t height,
                         int closed, const uint8_t *replaced_by)
{
    Evote__V1__TrackStatement st = EVOTE__V1__TRACK_STATEMENT__INIT;
    size_t len;
    st.chain_id = (ProtobufCBinaryData){32, (uint8_t *)chain};
    st.code = (ProtobufCBinaryData){32, (uint8_t *)code};
    st.validator = v;
    st.height = height;
    st.status = status;
    st.polls_closed = closed;
    if (replaced_by != NULL)
        st.replaced_by = (ProtobufCBinaryData){32, (uint8_t *)replaced_by};
    len = evote__v1__track_statement__pack(&st, buf);
    assert_int_equal(signing_key_sign(k, ELECTION_TRACK_STATEMENT_TAG, buf, len, sig), CRYPTO_OK);
    evote__v1__api_response__init(resp);
    resp->track_statement = (ProtobufCBinaryData){len, buf};
    resp->track_signature = (ProtobufCBinaryData){64, sig};
}

/* evote track, revoting: a node's COUNTED counts only as a statement signed
 * by the genesis validator it names, for this chain and this code; f+1
 * distinct validators make a proof (final when they all saw the polls
 * closed); a validator counts once however often it is asked; a signed
 * REPLACED is a dispute. */
static void test_track_statements_prove_counted_from_f_plus_1_validators(void **state)
{
    const int COUNTED = EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_COUNTED;
    const int REPLACED = EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_REPLACED;
    signing_key *vk[4];
    genesis_validator gv[4];
    genesis g;
    Evote__V1__ApiResponse r;
    uint8_t buf[256], sig[64], code[32] = {0xc0, 0xde}, other[32] = {0x0e}, chain2[32] = {9};
    track_statement st;
    counted_votes cv;
    char why[160];
    (void)state;

    four_validators(&g, gv, vk);
    assert_int_equal(statement_check(&g, code, (evote__v1__api_response__init(&r), &r), &st, why, sizeof why), 0);

    statement_in(&r, buf, sig, vk[2], 2, chain_id, code, COUNTED, 930, 0, NULL);
    assert_int_equal(statement_check(&g, code, &r, &st, why, sizeof why), 1);
    assert_int_equal(st.validator, 2);
    assert_int_equal(st.height, 930);
    assert_int_equal(st.status, COUNTED);
    assert_int_equal(st.polls_closed, 0);
    memset(&cv, 0, sizeof cv);
    counted_add(&cv, &st, &r);
    counted_add(&cv, &st, &r); /* asked twice (two endpoints of one validator): once */
    assert_int_equal(cv.counted, 1);
    /* the signed bytes are kept as evidence, as received */
    assert_int_equal(cv.evidence[2].len, r.track_statement.len);
    assert_memory_equal(cv.evidence[2].bytes, r.track_statement.data, r.track_statement.len);
    assert_memory_equal(cv.evidence[2].sig, sig, 64);
    assert_true(cv.counted < g.f + 1);

    /* Faults: signed by another than the one named, a flipped byte, another
     * code or chain, an unknown validator, REPLACED without the replacement,
     * garbage. */
    statement_in(&r, buf, sig, vk[1], 0, chain_id, code, COUNTED, 930, 0, NULL);
    assert_int_equal(statement_check(&g, code, &r, &st, why, sizeof why), -1);
    assert_non_null(strstr(why, "not signed by board0"));
    statement_in(&r, buf, sig, vk[0], 0, chain_id, code, COUNTED, 930, 0, NULL);
    buf[r.track_statement.len - 1] ^= 1;
    assert_int_equal(statement_check(&g, code, &r, &st, why, sizeof why), -1);
    statement_in(&r, buf, sig, vk[0], 0, chain_id, other, COUNTED, 930, 0, NULL);
    assert_int_equal(statement_check(&g, code, &r, &st, why, sizeof why), -1);
    assert_non_null(strstr(why, "another ballot"));
    statement_in(&r, buf, sig, vk[0], 0, chain2, code, COUNTED, 930, 0, NULL);
    assert_int_equal(statement_check(&g, code, &r, &st, why, sizeof why), -1);
    assert_non_null(strstr(why, "another chain"));
    statement_in(&r, buf, sig, vk[0], 7, chain_id, code, COUNTED, 930, 0, NULL);
    assert_int_equal(statement_check(&g, code, &r, &st, why, sizeof why), -1);
    assert_non_null(strstr(why, "not in the genesis"));
    statement_in(&r, buf, sig, vk[0], 0, chain_id, code, REPLACED, 930, 0, NULL);
    assert_int_equal(statement_check(&g, code, &r, &st, why, sizeof why), -1);
    r.track_statement = (ProtobufCBinaryData){3, (uint8_t *)"\xff\xff\xff"};
    assert_int_equal(statement_check(&g, code, &r, &st, why, sizeof why), -1);
    assert_int_equal(cv.counted, 1); /* none of those was added */

    /* A second validator: f+1 = 2, a proof up to the lower height; with the
     * polls closed at both, final. */
    statement_in(&r, buf, sig, vk[3], 3, chain_id, code, COUNTED, 925, 1, NULL);
    assert_int_equal(statement_check(&g, code, &r, &st, why, sizeof why), 1);
    counted_add(&cv, &st, &r);
    assert_int_equal(cv.counted, 2);
    assert_int_equal(cv.as_of, 925);
    assert_int_equal(cv.final, 1);
    statement_in(&r, buf, sig, vk[0], 0, chain_id, code, COUNTED, 940, 1, NULL);
    assert_int_equal(statement_check(&g, code, &r, &st, why, sizeof why), 1);
    counted_add(&cv, &st, &r);
    assert_int_equal(cv.final, 2);
    assert_false(cv.conflict);

    /* One validator signing REPLACED: a dispute, named. */
    statement_in(&r, buf, sig, vk[1], 1, chain_id, code, REPLACED, 941, 1, other);
    assert_int_equal(statement_check(&g, code, &r, &st, why, sizeof why), 1);
    assert_true(st.has_replaced_by);
    counted_add(&cv, &st, &r);
    assert_true(cv.conflict);
    assert_int_equal(cv.conflict_by, 1);
    assert_memory_equal(cv.conflict_code, other, 32);
    for (int v = 0; v < 4; v++)
        signing_key_destroy(&vk[v]);
}

/* A signed CHECKPOINT(chain_id, seq, digest) by k, serialized. */
static ProtobufCBinaryData checkpoint_env(const signing_key *k, uint64_t seq, const uint8_t digest[32])
{
    Evote__V1__Checkpoint c = EVOTE__V1__CHECKPOINT__INIT;
    uint8_t body[128], *env = NULL;
    size_t blen, elen = 0;
    c.chain_id = (ProtobufCBinaryData){32, (uint8_t *)chain_id};
    c.seq = seq;
    c.state_digest = (ProtobufCBinaryData){32, (uint8_t *)digest};
    blen = evote__v1__checkpoint__pack(&c, body);
    assert_int_equal(envelope_seal(EVOTE__V1__KIND__KIND_CHECKPOINT, body, blen, k, &env, &elen), CRYPTO_OK);
    return (ProtobufCBinaryData){elen, env};
}

/* checkpoint_certifies with a proof of the n envelopes for seq 12. */
static int certify(const genesis *g, ProtobufCBinaryData *envs, size_t n, uint64_t height, const uint8_t *hdr,
                   size_t hlen, const ProtobufCBinaryData *headers, size_t n_headers, uint32_t *signers, char *why)
{
    Evote__V1__CheckpointProof cp = EVOTE__V1__CHECKPOINT_PROOF__INIT;
    uint8_t *packed;
    uint64_t seq = 0;
    size_t plen;
    int ok;
    cp.seq = 12;
    cp.checkpoints = envs;
    cp.n_checkpoints = n;
    packed = malloc(evote__v1__checkpoint_proof__get_packed_size(&cp) + 1);
    assert_non_null(packed);
    plen = evote__v1__checkpoint_proof__pack(&cp, packed);
    ok = checkpoint_certifies(g, height, hdr, hlen, packed, plen, headers, n_headers, &seq, signers, why, 200);
    if (ok)
        assert_int_equal(seq, 12);
    free(packed);
    return ok;
}

/* evote track --genesis: a block's results are certified when the headers
 * above it link up to a checkpoint that 2f+1 validators of the genesis
 * signed; a broken link, a short quorum, another chain's or another block's
 * checkpoint certify nothing. */
static void test_checkpoint_proof_certifies_a_block_and_nothing_else(void **state)
{
    signing_key *vk[4];
    genesis_validator gv[4];
    genesis g;
    uint8_t hdr[3][128], prev[32], top[32], other[32];
    size_t hlen[3];
    ProtobufCBinaryData envs[4], headers[2];
    uint32_t signers = 0;
    char why[200];
    (void)state;

    four_validators(&g, gv, vk);
    /* Headers at heights 10, 11, 12, each linked to the one below. */
    memset(prev, 0x11, sizeof prev);
    for (int i = 0; i < 3; i++) {
        Evote__V1__BlockHeader h = EVOTE__V1__BLOCK_HEADER__INIT;
        h.chain_id = (ProtobufCBinaryData){32, (uint8_t *)chain_id};
        h.height = 10 + (uint64_t)i;
        h.prev_hash = (ProtobufCBinaryData){32, prev};
        hlen[i] = evote__v1__block_header__pack(&h, hdr[i]);
        crypto_tagged_hash(CRYPTO_TAG_BLOCK, hdr[i], hlen[i], prev);
    }
    memcpy(top, prev, 32);
    headers[0] = (ProtobufCBinaryData){hlen[1], hdr[1]};
    headers[1] = (ProtobufCBinaryData){hlen[2], hdr[2]};
    for (int v = 0; v < 4; v++)
        envs[v] = checkpoint_env(vk[v], 12, top);

    assert_true(certify(&g, envs, 3, 10, hdr[0], hlen[0], headers, 2, &signers, why));
    assert_int_equal(signers, 3);
    /* The block above (11) is certified by the same proof, one header up. */
    assert_true(certify(&g, envs, 3, 11, hdr[1], hlen[1], headers + 1, 1, &signers, why));
    /* Another block at 10 (its header differs): the link breaks. */
    hdr[0][hlen[0] - 1] ^= 1;
    assert_false(certify(&g, envs, 3, 10, hdr[0], hlen[0], headers, 2, &signers, why));
    assert_non_null(strstr(why, "does not follow"));
    hdr[0][hlen[0] - 1] ^= 1;
    /* Headers missing. */
    assert_false(certify(&g, envs, 3, 10, hdr[0], hlen[0], headers, 1, &signers, why));
    /* 2f signatures, or one validator three times: not a quorum. */
    assert_false(certify(&g, envs, 2, 10, hdr[0], hlen[0], headers, 2, &signers, why));
    assert_non_null(strstr(why, "only 2 validators"));
    {
        ProtobufCBinaryData same[3] = {envs[0], envs[0], envs[0]};
        assert_false(certify(&g, same, 3, 10, hdr[0], hlen[0], headers, 2, &signers, why));
    }
    /* Signatures on another block hash. */
    memset(other, 0x22, sizeof other);
    {
        ProtobufCBinaryData wrong[3];
        for (int v = 0; v < 3; v++)
            wrong[v] = checkpoint_env(vk[v], 12, other);
        assert_false(certify(&g, wrong, 3, 10, hdr[0], hlen[0], headers, 2, &signers, why));
        assert_int_equal(signers, 0);
        for (int v = 0; v < 3; v++)
            free(wrong[v].data);
    }
    for (int v = 0; v < 4; v++) {
        free(envs[v].data);
        signing_key_destroy(&vk[v]);
    }
}

/* A signed COMMIT(chain_id, view, seq, digest) by validator v (key k). */
static Evote__V1__Envelope *commit_env_view(const signing_key *k, uint32_t v, uint64_t view, uint64_t seq,
                                            const uint8_t digest[32])
{
    Evote__V1__Commit c = EVOTE__V1__COMMIT__INIT;
    Evote__V1__Envelope *e;
    uint8_t body[128], *env = NULL;
    size_t blen, elen = 0;
    c.chain_id = (ProtobufCBinaryData){32, (uint8_t *)chain_id};
    c.view = view;
    c.seq = seq;
    c.digest = (ProtobufCBinaryData){32, (uint8_t *)digest};
    c.replica = v;
    blen = evote__v1__commit__pack(&c, body);
    assert_int_equal(envelope_seal(EVOTE__V1__KIND__KIND_COMMIT, body, blen, k, &env, &elen), CRYPTO_OK);
    e = evote__v1__envelope__unpack(NULL, elen, env);
    assert_non_null(e);
    free(env);
    return e;
}

/* A signed COMMIT(chain_id, view 0, seq, digest) by validator v (key k). */
static Evote__V1__Envelope *commit_env(const signing_key *k, uint32_t v, uint64_t seq, const uint8_t digest[32])
{
    return commit_env_view(k, v, 0, seq, digest);
}

/* cert_signers of a view-0 certificate for seq 10 of the n COMMITs. */
static void signers_of(const genesis *g, Evote__V1__Envelope **commits, size_t n, const uint8_t digest[32],
                       signers_t *sg)
{
    Evote__V1__CommitCertificate cc = EVOTE__V1__COMMIT_CERTIFICATE__INIT;
    ProtobufCBinaryData cert;
    cc.seq = 10;
    cc.digest = (ProtobufCBinaryData){32, (uint8_t *)digest};
    cc.commits = commits;
    cc.n_commits = n;
    cert.data = malloc(evote__v1__commit_certificate__get_packed_size(&cc));
    assert_non_null(cert.data);
    cert.len = evote__v1__commit_certificate__pack(&cc, cert.data);
    cert_signers(&cert, g, 10, sg);
    free(cert.data);
}

/* The client counts a certificate's signers with the check evoted and
 * evote-audit use: a COMMIT of another view than the certificate's, a
 * forged one, a stranger's or a repeated one is not a signer. */
static void test_certificate_signers_are_counted_as_consensus_counts_them(void **state)
{
    signing_key *vk[4], *stranger;
    genesis_validator gv[4];
    genesis g;
    uint8_t digest[32] = {0x42};
    Evote__V1__Envelope *c[6];
    signers_t sg;
    (void)state;

    four_validators(&g, gv, vk);
    assert_int_equal(signing_key_generate(&stranger), CRYPTO_OK);
    c[0] = commit_env(vk[0], 0, 10, digest);
    c[1] = commit_env(vk[1], 1, 10, digest);
    c[2] = commit_env(vk[2], 2, 10, digest);
    c[3] = commit_env_view(vk[3], 3, 1, 10, digest); /* view 1 */
    c[4] = commit_env(stranger, 3, 10, digest);
    c[5] = commit_env(vk[1], 1, 10, digest);

    signers_of(&g, c, 3, digest, &sg);
    assert_int_equal(sg.valid, 3);
    assert_int_equal(sg.n, 3);
    assert_string_equal(sg.names[2], "board2");

    {
        Evote__V1__Envelope *mixed[4] = {c[0], c[1], c[3], c[4]};
        Evote__V1__Envelope *twice[3] = {c[0], c[1], c[5]};
        signers_of(&g, mixed, 4, digest, &sg);
        assert_int_equal(sg.valid, 2); /* board3's COMMIT is for view 1: not a quorum */
        assert_int_equal(sg.n, 4);
        assert_string_equal(sg.names[0], "board0");
        assert_string_equal(sg.names[1], "board1");
        assert_string_equal(sg.names[2], "board3 (NOT FOR THIS BLOCK)");
        assert_string_equal(sg.names[3], "(not a validator)");
        signers_of(&g, twice, 3, digest, &sg);
        assert_int_equal(sg.valid, 2);
        assert_int_equal(sg.n, 2); /* board1 listed once */
    }
    c[2]->signature.data[3] ^= 1;
    signers_of(&g, c, 3, digest, &sg);
    assert_int_equal(sg.valid, 2);
    assert_string_equal(sg.names[2], "board2 (BAD SIGNATURE)");
    {
        Evote__V1__CommitCertificate cc = EVOTE__V1__COMMIT_CERTIFICATE__INIT;
        ProtobufCBinaryData cert;
        c[2]->signature.data[3] ^= 1;
        cc.seq = 10;
        cc.digest = (ProtobufCBinaryData){32, digest};
        cc.commits = c;
        cc.n_commits = 3;
        cert.data = malloc(evote__v1__commit_certificate__get_packed_size(&cc));
        assert_non_null(cert.data);
        cert.len = evote__v1__commit_certificate__pack(&cc, cert.data);
        cert_signers(&cert, &g, 11, &sg); /* asked for block 11 */
        assert_int_equal(sg.valid, 0);
        assert_string_equal(sg.names[0], "board0 (NOT FOR THIS BLOCK)");
        free(cert.data);
    }
    for (int i = 0; i < 6; i++)
        evote__v1__envelope__free_unpacked(c[i], NULL);
    signing_key_destroy(&stranger);
    for (int v = 0; v < 4; v++)
        signing_key_destroy(&vk[v]);
}

/* A GetBlock answer for block 10 (one transaction, "tx-one", result OK,
 * certified by 3 COMMITs); with n_cp > 0 also the proof of the checkpoint
 * at 11 (n_cp signatures over the hash of header 11) and header 11.
 * Out: *len; the id of the transaction. Returns: the packed ApiResponse. */
static uint8_t *block_answer(signing_key *vk[4], size_t n_cp, size_t *len, uint8_t id[32])
{
    Evote__V1__ApiResponse r = EVOTE__V1__API_RESPONSE__INIT;
    Evote__V1__Batch b = EVOTE__V1__BATCH__INIT;
    Evote__V1__BlockHeader h10 = EVOTE__V1__BLOCK_HEADER__INIT, h11 = EVOTE__V1__BLOCK_HEADER__INIT;
    Evote__V1__Block blk = EVOTE__V1__BLOCK__INIT;
    Evote__V1__CommitCertificate cc = EVOTE__V1__COMMIT_CERTIFICATE__INIT;
    Evote__V1__CheckpointProof cp = EVOTE__V1__CHECKPOINT_PROOF__INIT;
    Evote__V1__TxResult results[1] = {EVOTE__V1__TX_RESULT__TX_RESULT_OK};
    Evote__V1__Envelope *commits[3];
    ProtobufCBinaryData tx = {6, (uint8_t *)"tx-one"}, envs[4], hdr11;
    uint8_t bbytes[256], hb10[256], hb11[256], digest[32], rh[32], prev[32] = {7}, top[32], *cert, *proof, *out;
    size_t batch_len, l10, l11, cert_len, proof_len;

    b.chain_id = (ProtobufCBinaryData){32, (uint8_t *)chain_id};
    b.seq = 10;
    b.txs = &tx;
    b.n_txs = 1;
    batch_len = evote__v1__batch__pack(&b, bbytes);
    crypto_tagged_hash(CRYPTO_TAG_BATCH, bbytes, batch_len, digest);
    envelope_txid(tx.data, tx.len, id);
    assert_int_equal(ledger_results_hash(results, 1, rh), LEDGER_OK);
    h10.chain_id = (ProtobufCBinaryData){32, (uint8_t *)chain_id};
    h10.height = 10;
    h10.prev_hash = (ProtobufCBinaryData){32, prev};
    h10.batch_digest = (ProtobufCBinaryData){32, digest};
    h10.results_hash = (ProtobufCBinaryData){32, rh};
    h10.tx_count = 1;
    l10 = evote__v1__block_header__pack(&h10, hb10);
    crypto_tagged_hash(CRYPTO_TAG_BLOCK, hb10, l10, top);
    h11.chain_id = h10.chain_id;
    h11.height = 11;
    h11.prev_hash = (ProtobufCBinaryData){32, top};
    l11 = evote__v1__block_header__pack(&h11, hb11);
    crypto_tagged_hash(CRYPTO_TAG_BLOCK, hb11, l11, top);

    blk.header = (ProtobufCBinaryData){l10, hb10};
    blk.batch = (ProtobufCBinaryData){batch_len, bbytes};
    blk.results = results;
    blk.n_results = 1;
    for (uint32_t v = 0; v < 3; v++)
        commits[v] = commit_env(vk[v], v, 10, digest);
    cc.seq = 10;
    cc.digest = (ProtobufCBinaryData){32, digest};
    cc.commits = commits;
    cc.n_commits = 3;
    cert = malloc(evote__v1__commit_certificate__get_packed_size(&cc));
    assert_non_null(cert);
    cert_len = evote__v1__commit_certificate__pack(&cc, cert);
    for (size_t v = 0; v < n_cp; v++)
        envs[v] = checkpoint_env(vk[v], 11, top);
    cp.seq = 11;
    cp.checkpoints = envs;
    cp.n_checkpoints = n_cp;
    proof = malloc(evote__v1__checkpoint_proof__get_packed_size(&cp) + 1);
    assert_non_null(proof);
    proof_len = evote__v1__checkpoint_proof__pack(&cp, proof);
    hdr11 = (ProtobufCBinaryData){l11, hb11};

    r.status = EVOTE__V1__API_STATUS__API_STATUS_OK;
    r.reason = "";
    r.block = &blk;
    r.certificate = (ProtobufCBinaryData){cert_len, cert};
    if (n_cp > 0) {
        r.checkpoint_proof = (ProtobufCBinaryData){proof_len, proof};
        r.headers = &hdr11;
        r.n_headers = 1;
    }
    *len = evote__v1__api_response__get_packed_size(&r);
    out = malloc(*len);
    assert_non_null(out);
    evote__v1__api_response__pack(&r, out);
    for (size_t v = 0; v < n_cp; v++)
        free(envs[v].data);
    for (int v = 0; v < 3; v++)
        evote__v1__envelope__free_unpacked(commits[v], NULL);
    free(cert);
    free(proof);
    return out;
}

/* prove_tx (evote track/tx --genesis) through a and then, when a sends no
 * checkpoint proof, b. Out: *p. */
static void prove_from(const genesis *g, fake_node *a, fake_node *b, const uint8_t id[32], tx_proof *p)
{
    node_opts o;
    node_opts_init(&o, "track");
    o.timeout_ms = 1000;
    assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(a->ep)), 1);
    if (b != NULL)
        assert_int_equal(node_opt(&o, OPT_NODE, client_endpoint_endpoint(b->ep)), 1);
    prove_tx(&o, g, 10, 0, id, NULL, p);
}

/* A node that keeps the checkpoint proof to itself cannot keep a result
 * from being certified: the client asks the other --node, and the proof
 * checks itself whoever sends it. A proof with 2f signatures from there
 * certifies nothing (and says why); with no other node, "not yet". */
static void test_a_withheld_checkpoint_proof_is_fetched_from_another_node(void **state)
{
    signing_key *vk[4];
    genesis_validator gv[4];
    genesis g;
    fake_node a, b;
    pthread_t ta, tb;
    uint8_t id[32], *bare, *full, *short_q;
    size_t bare_len, full_len, short_len;
    tx_proof p;
    (void)state;

    four_validators(&g, gv, vk);
    bare = block_answer(vk, 0, &bare_len, id);
    full = block_answer(vk, 3, &full_len, id);
    short_q = block_answer(vk, 2, &short_len, id);
    fake_node_start_c(&a, 0, 1, &ta);
    fake_answer(&a, &a.block, &a.block_len, bare, bare_len);
    fake_node_start_c(&b, 0, 1, &tb);
    fake_answer(&b, &b.block, &b.block_len, full, full_len);

    prove_from(&g, &a, NULL, id, &p); /* the withholding node alone */
    assert_int_equal(p.sg.valid, 3);
    assert_int_equal(p.included, 1);
    assert_int_equal(p.certified, 0);

    prove_from(&g, &a, &b, id, &p);
    assert_int_equal(p.included, 1);
    assert_int_equal(p.certified, 1);
    assert_int_equal(p.cp_seq, 11);
    assert_int_equal(p.cp_signers, 3);
    assert_int_equal(p.result, EVOTE__V1__TX_RESULT__TX_RESULT_OK);

    fake_answer(&b, &b.block, &b.block_len, short_q, short_len);
    prove_from(&g, &a, &b, id, &p);
    assert_int_equal(p.included, 1);
    assert_int_equal(p.certified, -1);
    assert_non_null(strstr(p.why, "only 2 validators of the genesis signed the checkpoint at seq 11"));

    fake_node_stop(&a, ta);
    fake_node_stop(&b, tb);
    free(bare);
    free(full);
    free(short_q);
    for (int v = 0; v < 4; v++)
        signing_key_destroy(&vk[v]);
}

/* --node: a plain endpoint, or KEY@ENDPOINT with a validator's CURVE key. */
static void test_node_spec_names_a_curve_key_or_none(void **state)
{
    net_curve_keypair kp;
    char z85[NET_CURVE_Z85_LEN + 1], spec[128];
    uint8_t key[NET_CURVE_KEY_LEN];
    const char *ep;
    int curve;
    (void)state;

    assert_int_equal(node_spec_split("tcp://127.0.0.1:7200", &ep, key, &curve), 1);
    assert_string_equal(ep, "tcp://127.0.0.1:7200");
    assert_int_equal(curve, 0);
    assert_int_equal(net_curve_keypair_generate(&kp), NET_OK);
    net_z85_encode(kp.public_key, z85);
    snprintf(spec, sizeof spec, "%s@tcp://10.0.0.1:7300", z85);
    assert_int_equal(node_spec_split(spec, &ep, key, &curve), 1);
    assert_string_equal(ep, "tcp://10.0.0.1:7300");
    assert_int_equal(curve, 1);
    assert_memory_equal(key, kp.public_key, NET_CURVE_KEY_LEN);
    assert_int_equal(node_spec_split("zz@tcp://10.0.0.1:7300", &ep, key, &curve), 0);
    snprintf(spec, sizeof spec, "%.39s@tcp://10.0.0.1:7300", z85); /* a key one character short */
    assert_int_equal(node_spec_split(spec, &ep, key, &curve), 0);
    net_curve_keypair_wipe(&kp);
}

/* evote vote warns of a plain connection to another machine, not of the
 * loopback or a CURVE endpoint (nothing is sent: the function only looks
 * at the --node value). */
static void test_vote_warns_of_a_plain_remote_node(void **state)
{
    net_curve_keypair kp;
    char z85[NET_CURVE_Z85_LEN + 1], spec[128], text[1024];
    captured c;
    (void)state;

    assert_int_equal(net_curve_keypair_generate(&kp), NET_OK);
    net_z85_encode(kp.public_key, z85);
    snprintf(spec, sizeof spec, "%s@tcp://192.0.2.1:7300", z85);
    capture_stderr(&c, "plain");
    warn_plain_remote("vote", "tcp://127.0.0.1:7200");
    warn_plain_remote("vote", "tcp://[::1]:7200");
    warn_plain_remote("vote", spec);
    captured_text(&c, text, sizeof text);
    assert_string_equal(text, "");
    capture_stderr(&c, "plain2");
    warn_plain_remote("vote", "tcp://192.0.2.1:7200");
    captured_text(&c, text, sizeof text);
    assert_non_null(strstr(text, "warning: tcp://192.0.2.1:7200 is a plain TCP connection"));
    assert_non_null(strstr(text, "--node KEY@ENDPOINT"));
    net_curve_keypair_wipe(&kp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_voter_file_skips_blanks_and_comments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_voter_file_refuses_a_bad_line_and_an_empty_file, setup, teardown),
        cmocka_unit_test(test_selection_by_option_text),
        cmocka_unit_test(test_times_parse_as_utc),
        cmocka_unit_test_setup_teardown(test_api_get_election_and_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_track_unknown_and_malformed_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_cast_retries_busy_and_reports_a_rejection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_cast_asks_the_next_node_after_a_lagging_refusal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_submit_goes_on_to_the_next_node_until_one_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_sends_a_forgotten_transaction_again, setup, teardown),
        cmocka_unit_test(test_track_proves_the_ballot_is_in_the_certified_batch),
        cmocka_unit_test(test_checkpoint_proof_certifies_a_block_and_nothing_else),
        cmocka_unit_test(test_a_withheld_checkpoint_proof_is_fetched_from_another_node),
        cmocka_unit_test(test_certificate_signers_are_counted_as_consensus_counts_them),
        cmocka_unit_test(test_node_spec_names_a_curve_key_or_none),
        cmocka_unit_test(test_track_statements_prove_counted_from_f_plus_1_validators),
        cmocka_unit_test(test_a_read_over_budget_waits_as_told),
        cmocka_unit_test(test_a_silent_node_is_asked_once_per_call),
        cmocka_unit_test_setup_teardown(test_register_stops_past_the_roll_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_to_freeze_an_empty_roll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vote_warns_of_a_plain_remote_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clients_trust_only_a_key_or_result_that_f_plus_1_validators_vouch_for, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
