/* Unit tests of src/node/metrics.c: the Prometheus text exposition is
 * valid (every sample belongs to a family with # HELP and # TYPE, names and
 * labels are well-formed, values are numbers), labels are escaped, the
 * health verdict says why, and the protobuf peeks count what they should. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus.pb-c.h"
#include "evote.pb-c.h"
#include "metrics.h"

static void filled(metrics_snapshot *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "node1");
    snprintf(s->chain, sizeof s->chain, "national-2027");
    s->self = 1;
    s->n = 4;
    s->f = 1;
    s->start_mono_ms = 1000;
    s->start_unix_ms = 1795808029754ull;
    s->height = 42;
    s->view = 3;
    s->primary = 3;
    s->view_changes = 3;
    s->terms_ended = 2;
    s->blocks_committed = 40;
    s->txs_committed = 4000;
    s->ballots_committed = 3990;
    s->committed_by_result[EVOTE__V1__TX_RESULT__TX_RESULT_OK] = 3990;
    s->committed_by_result[EVOTE__V1__TX_RESULT__TX_RESULT_NOT_REGISTERED] = 10;
    s->last_commit_unix_ms = 1795808090001ull;
    s->msgs_received[EVOTE__V1__KIND__KIND_PREPARE] = 80;
    s->msgs_received[0] = 2;
    s->msgs_sent[EVOTE__V1__KIND__KIND_COMMIT] = UINT64_MAX;
    s->mempool_pending = 7;
    s->mempool_capacity = 20000;
    s->mempool_bytes = 2310;
    s->mempool_max_bytes = 64u << 20;
    s->verify_queue = 5;
    s->mempool_submitted = 4100;
    s->mempool_accepted = 4050;
    s->mempool_verified = 4060;
    s->rejected_by_result[EVOTE__V1__TX_RESULT__TX_RESULT_BAD_SIGNATURE] = 11;
    s->rejected_by_result[EVOTE__V1__TX_RESULT__TX_RESULT_BAD_PROOF] = 3;
    s->rejected_busy = 4;
    s->rejected_duplicate = 9;
    s->peers_connected = 3;
    s->peer_queued_bytes = 3 << 20;
    s->store_ok = 1;
    s->store_used_bytes = 1 << 20;
    s->store_map_bytes = 64 << 20;
    s->store_file_bytes = 2 << 20;
    s->have_rss = 1;
    s->rss_bytes = 50 << 20;
    s->rss_anon_bytes = 30 << 20;
    s->published_mono_ms = 60000;
    s->store_writes[0] = 40;
    s->store_write_ns[0] = 1500000000; /* 1.5 s */
}

static int is_name(const char *p, size_t len)
{
    if (len == 0 || !(isalpha((unsigned char)p[0]) || p[0] == '_' || p[0] == ':'))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!(isalnum((unsigned char)p[i]) || p[i] == '_' || p[i] == ':'))
            return 0;
    return 1;
}

/* Checks the labels of one sample: {a="x",b="y\"z"}. Returns: the position
 * after '}', or NULL when malformed. */
static const char *labels(const char *p)
{
    p++; /* '{' */
    while (*p != '}') {
        const char *n = p;
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        if (!is_name(n, (size_t)(p - n)) || *p++ != '=' || *p++ != '"')
            return NULL;
        while (*p != '"') {
            if (*p == '\0' || *p == '\n')
                return NULL;
            if (*p == '\\') {
                p++;
                if (*p != '\\' && *p != '"' && *p != 'n')
                    return NULL;
            }
            p++;
        }
        p++;
        if (*p == ',')
            p++;
        else if (*p != '}')
            return NULL;
    }
    return p + 1;
}

/* A small exposition-format checker: every sample's family was declared by
 * # HELP then # TYPE before it, no family twice, names evote_*, counters
 * *_total, values finite numbers, the text ends with a newline. Returns
 * the number of samples. */
static int check_exposition(const char *text)
{
    char families[128][512], types[128][512], help_for[512] = "";
    int nf = 0, samples = 0;
    const char *line = text;

    assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
    while (*line) {
        const char *end = strchr(line, '\n');
        char buf[512];
        size_t len = (size_t)(end - line);
        assert_true(len < sizeof buf);
        memcpy(buf, line, len);
        buf[len] = '\0';
        line = end + 1;
        if (strncmp(buf, "# HELP ", 7) == 0) {
            char *sp = strchr(buf + 7, ' ');
            assert_non_null(sp);
            assert_true(strlen(sp + 1) > 10); /* a real sentence */
            *sp = '\0';
            assert_true(is_name(buf + 7, strlen(buf + 7)));
            snprintf(help_for, sizeof help_for, "%s", buf + 7);
        } else if (strncmp(buf, "# TYPE ", 7) == 0) {
            char *sp = strchr(buf + 7, ' ');
            assert_non_null(sp);
            *sp = '\0';
            if (strcmp(help_for, buf + 7) != 0)
                fail_msg("# TYPE %s without its # HELP just before", buf + 7);
            for (int i = 0; i < nf; i++)
                if (strcmp(families[i], buf + 7) == 0)
                    fail_msg("family %s declared twice", buf + 7);
            assert_true(strcmp(sp + 1, "counter") == 0 || strcmp(sp + 1, "gauge") == 0);
            assert_true(nf < 128);
            snprintf(families[nf], sizeof families[nf], "%s", buf + 7);
            snprintf(types[nf], sizeof types[nf], "%s", sp + 1);
            nf++;
            help_for[0] = '\0';
        } else {
            const char *p = buf, *value;
            char *endp;
            double v;
            assert_true(buf[0] != '#');
            while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
                p++;
            assert_true(is_name(buf, (size_t)(p - buf)));
            if (strncmp(buf, "evote_", 6) != 0)
                fail_msg("metric without the evote_ prefix: %s", buf);
            /* It belongs to the family declared last. */
            assert_true(nf > 0);
            if (strncmp(buf, families[nf - 1], strlen(families[nf - 1])) != 0 ||
                (size_t)(p - buf) != strlen(families[nf - 1]))
                fail_msg("sample %s outside its family (last declared: %s)", buf, families[nf - 1]);
            if (strcmp(types[nf - 1], "counter") == 0)
                assert_non_null(strstr(families[nf - 1], "_total"));
            if (*p == '{') {
                p = labels(p);
                if (p == NULL)
                    fail_msg("malformed labels: %s", buf);
            }
            assert_int_equal(*p, ' ');
            value = p + 1;
            v = strtod(value, &endp);
            if (*endp != '\0' || endp == value || !isfinite(v) || v < 0)
                fail_msg("not a number: %s", buf);
            samples++;
        }
    }
    return samples;
}

/* The value of the sample that starts with `prefix ` ("name" or
 * "name{labels}"); -1 when absent. */
static double sample(const char *text, const char *prefix)
{
    char key[200];
    const char *p;
    snprintf(key, sizeof key, "\n%s ", prefix);
    p = strstr(text, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

static void test_render_is_valid_exposition_with_help_and_type(void **state)
{
    metrics_snapshot s;
    size_t len = 0;
    char *text;
    (void)state;
    filled(&s);
    text = metrics_render(&s, 61000, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    assert_true(check_exposition(text) > 40);
    free(text);

    /* An empty snapshot (a node that just started) is valid too. */
    memset(&s, 0, sizeof s);
    text = metrics_render(&s, 5, &len);
    assert_non_null(text);
    check_exposition(text);
    free(text);
}

static void test_render_names_every_metric_with_its_value(void **state)
{
    static const char *names[] = {
        "evote_height", "evote_view", "evote_primary", "evote_is_primary", "evote_view_changes_total",
        "evote_primary_terms_ended_total",
        "evote_blocks_committed_total", "evote_committed_transactions_total", "evote_committed_ballots_total",
        "evote_last_commit_timestamp_seconds", "evote_mempool_transactions", "evote_verification_queue_depth",
        "evote_peers_connected", "evote_peer_queued_bytes", "evote_store_used_bytes", "evote_store_map_size_bytes",
        "evote_store_file_size_bytes", "evote_process_resident_memory_bytes",
        "evote_process_resident_anon_memory_bytes", "evote_uptime_seconds", "evote_healthy",
        "evote_store_writes_total{kind=\"block\"}", "evote_store_write_seconds_total{kind=\"consensus\"}",
    };
    metrics_snapshot s;
    size_t len;
    char *text;
    (void)state;
    filled(&s);
    text = metrics_render(&s, 61000, &len);
    assert_non_null(text);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (sample(text, names[i]) < 0)
            fail_msg("%s missing", names[i]);
    assert_true(sample(text, "evote_height") == 42);
    assert_true(sample(text, "evote_is_primary") == 0); /* primary 3, self 1 */
    assert_true(sample(text, "evote_healthy") == 1);
    assert_true(sample(text, "evote_committed_ballots_total") == 3990);
    assert_true(sample(text, "evote_uptime_seconds") == 60);
    assert_true(sample(text, "evote_peer_queued_bytes") == 3 << 20);
    assert_true(sample(text, "evote_mempool_verified_total") == 4060);
    assert_true(sample(text, "evote_store_writes_total{kind=\"block\"}") == 40);
    assert_non_null(strstr(text, "\nevote_store_write_seconds_total{kind=\"block\"} 1.500000\n"));
    assert_non_null(strstr(text, "\nevote_last_commit_timestamp_seconds 1795808090.001\n"));
    assert_non_null(strstr(text, "\nevote_consensus_messages_sent_total{type=\"commit\"} 18446744073709551615\n"));
    assert_true(sample(text, "evote_consensus_messages_received_total{type=\"prepare\"}") == 80);
    assert_true(sample(text, "evote_consensus_messages_received_total{type=\"pre_prepare\"}") == 0);
    assert_true(sample(text, "evote_consensus_messages_received_total{type=\"view_change\"}") == 0);
    assert_true(sample(text, "evote_consensus_messages_received_total{type=\"new_view\"}") == 0);
    assert_true(sample(text, "evote_consensus_messages_received_total{type=\"checkpoint\"}") == 0);
    assert_true(sample(text, "evote_consensus_messages_received_total{type=\"unreadable\"}") == 2);
    assert_true(sample(text, "evote_mempool_rejected_total{reason=\"bad_signature\"}") == 11);
    assert_true(sample(text, "evote_mempool_rejected_total{reason=\"wrong_chain\"}") == 0);
    assert_true(sample(text, "evote_mempool_rejected_total{reason=\"malformed\"}") == 0);
    assert_true(sample(text, "evote_mempool_rejected_total{reason=\"busy\"}") == 4);
    assert_true(sample(text, "evote_mempool_bytes") == 2310);
    assert_true(sample(text, "evote_mempool_max_bytes") == 64 << 20);
    assert_true(sample(text, "evote_mempool_rejected_total{reason=\"duplicate\"}") == 9);
    assert_true(sample(text, "evote_mempool_rejected_total{reason=\"bad_proof\"}") == 3); /* a ballot's reason */
    assert_true(sample(text, "evote_committed_transaction_results_total{result=\"not_registered\"}") == 10);
    assert_true(sample(text, "evote_committed_transaction_results_total{result=\"ok\"}") == 3990);
    free(text);

    /* RSS unknown: left out rather than reported as 0. */
    s.have_rss = 0;
    text = metrics_render(&s, 61000, &len);
    assert_non_null(text);
    assert_null(strstr(text, "evote_process_resident_memory_bytes"));
    free(text);
}

static void test_label_values_are_escaped(void **state)
{
    metrics_snapshot s;
    char buf[16];
    size_t len;
    char *text;
    (void)state;
    filled(&s);
    snprintf(s.name, sizeof s.name, "a\"b\\c\nd");
    text = metrics_render(&s, 61000, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "node=\"a\\\"b\\\\c\\nd\""));
    check_exposition(text);
    free(text);

    assert_true(metrics_escape_label("plain", buf, sizeof buf));
    assert_string_equal(buf, "plain");
    assert_false(metrics_escape_label("0123456789\"\"\"\"\"", buf, sizeof buf)); /* does not fit */
    assert_true(strlen(buf) < sizeof buf);
}

static void test_health_says_why(void **state)
{
    metrics_snapshot s;
    char line[200];
    (void)state;
    filled(&s);
    assert_true(metrics_health(&s, 61000, line, sizeof line));
    assert_string_equal(line, "ok height=42 view=3 peers=3/3");

    s.peers_connected = 2; /* 2f = 2: still serving */
    assert_true(metrics_health(&s, 61000, line, sizeof line));
    s.peers_connected = 1;
    assert_false(metrics_health(&s, 61000, line, sizeof line));
    assert_string_equal(line, "unhealthy: connected to 1 of 3 peers (need 2)");

    s.peers_connected = 3;
    assert_false(metrics_health(&s, 60000 + 12500, line, sizeof line));
    assert_string_equal(line, "unhealthy: event loop stalled for 12 s");
    assert_true(metrics_health(&s, 60000 + METRICS_STALL_MS, line, sizeof line));

    s.store_ok = 0;
    assert_false(metrics_health(&s, 61000, line, sizeof line));
    assert_non_null(strstr(line, "chain store"));

    s.published_mono_ms = 0;
    assert_false(metrics_health(&s, 61000, line, sizeof line));
    assert_non_null(strstr(line, "starting"));
}

static uint8_t *pack_envelope(Evote__V1__Kind kind, const uint8_t *body, size_t body_len, size_t *len)
{
    Evote__V1__Envelope e = EVOTE__V1__ENVELOPE__INIT;
    uint8_t signer[32] = {1}, sig[64] = {2}, *out;
    e.kind = kind;
    e.body.data = (uint8_t *)body;
    e.body.len = body_len;
    e.signer.data = signer;
    e.signer.len = sizeof signer;
    e.signature.data = sig;
    e.signature.len = sizeof sig;
    *len = evote__v1__envelope__get_packed_size(&e);
    out = malloc(*len);
    assert_non_null(out);
    evote__v1__envelope__pack(&e, out);
    return out;
}

static void test_peer_message_kind_is_peeked(void **state)
{
    Evote__V1__PeerMessage pm = EVOTE__V1__PEER_MESSAGE__INIT;
    ProtobufCBinaryData batch;
    uint8_t body[40] = {0x0a, 0x02, 0x01, 0x02}, garbage[3] = {0xff, 0xff, 0xff};
    uint8_t *env, *bytes;
    size_t env_len, len;
    (void)state;

    for (int kind = EVOTE__V1__KIND__KIND_PRE_PREPARE; kind <= EVOTE__V1__KIND__KIND_REQUEST_BATCH; kind++) {
        env = pack_envelope((Evote__V1__Kind)kind, body, sizeof body, &env_len);
        pm.envelope.data = env;
        pm.envelope.len = env_len;
        batch.data = body;
        batch.len = sizeof body;
        pm.n_batches = kind == EVOTE__V1__KIND__KIND_PRE_PREPARE ? 1 : 0;
        pm.batches = &batch;
        len = evote__v1__peer_message__get_packed_size(&pm);
        bytes = malloc(len);
        assert_non_null(bytes);
        evote__v1__peer_message__pack(&pm, bytes);
        assert_int_equal(metrics_peer_message_kind(bytes, len), kind);
        assert_int_equal(metrics_peer_message_kind(bytes, len / 2), 0); /* truncated */
        free(bytes);
        free(env);
    }
    assert_int_equal(metrics_peer_message_kind(garbage, sizeof garbage), 0);
    assert_int_equal(metrics_peer_message_kind(NULL, 0), 0);
    assert_int_equal(metrics_peer_message_kind(body, 0), 0);
}

static uint8_t *pack_tx(int ballot, size_t *len)
{
    Evote__V1__TxBody b = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__Notice notice = EVOTE__V1__NOTICE__INIT;
    Evote__V1__Ballot bal = EVOTE__V1__BALLOT__INIT;
    uint8_t chain[32] = {7}, eid[4] = "city", enc[100] = {9}, *body, *env;
    size_t body_len;
    b.chain_id.data = chain;
    b.chain_id.len = sizeof chain;
    b.nonce = 5;
    if (ballot) {
        bal.election_id.data = eid;
        bal.election_id.len = sizeof eid;
        bal.encrypted_ballot.data = enc;
        bal.encrypted_ballot.len = sizeof enc;
        b.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_BALLOT;
        b.ballot = &bal;
    } else {
        notice.topic = "polling";
        b.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_NOTICE;
        b.notice = &notice;
    }
    body_len = evote__v1__tx_body__get_packed_size(&b);
    body = malloc(body_len);
    assert_non_null(body);
    evote__v1__tx_body__pack(&b, body);
    env = pack_envelope(EVOTE__V1__KIND__KIND_TX, body, body_len, len);
    free(body);
    return env;
}

static void test_block_counts_transactions_results_and_ballots(void **state)
{
    metrics_snapshot s;
    ProtobufCBinaryData txs[4];
    Evote__V1__TxResult results[4] = {
        EVOTE__V1__TX_RESULT__TX_RESULT_OK, EVOTE__V1__TX_RESULT__TX_RESULT_OK,
        EVOTE__V1__TX_RESULT__TX_RESULT_NOT_REGISTERED, EVOTE__V1__TX_RESULT__TX_RESULT_OK};
    (void)state;
    memset(&s, 0, sizeof s);
    txs[0].data = pack_tx(1, &txs[0].len); /* ballot, OK: counts */
    txs[1].data = pack_tx(0, &txs[1].len); /* notice */
    txs[2].data = pack_tx(1, &txs[2].len); /* ballot refused at execution */
    txs[3].data = pack_tx(1, &txs[3].len); /* ballot, OK */
    metrics_note_block(&s, txs, 4, results, 4, 1234567);
    assert_int_equal(s.blocks_committed, 1);
    assert_int_equal(s.txs_committed, 4);
    assert_int_equal(s.ballots_committed, 2);
    assert_int_equal(s.committed_by_result[EVOTE__V1__TX_RESULT__TX_RESULT_OK], 3);
    assert_int_equal(s.committed_by_result[EVOTE__V1__TX_RESULT__TX_RESULT_NOT_REGISTERED], 1);
    assert_int_equal(s.last_commit_unix_ms, 1234567);
    metrics_note_block(&s, NULL, 0, NULL, 0, 1234999); /* an empty block */
    assert_int_equal(s.blocks_committed, 2);
    assert_int_equal(s.txs_committed, 4);
    for (int i = 0; i < 4; i++)
        free(txs[i].data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_is_valid_exposition_with_help_and_type),
        cmocka_unit_test(test_render_names_every_metric_with_its_value),
        cmocka_unit_test(test_label_values_are_escaped),
        cmocka_unit_test(test_health_says_why),
        cmocka_unit_test(test_peer_message_kind_is_peeked),
        cmocka_unit_test(test_block_counts_transactions_results_and_ballots),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
