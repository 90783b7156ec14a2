/* Unit tests of src/ledger: the transaction boundary. A transaction from the
 * network either becomes a validated ledger_tx or is refused with the
 * specific reason (and the result code a block would record). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger.h"
#include "wire_check.h"

static uint8_t chain_id[32];
static signing_key *key;

static int setup(void **state)
{
    (void)state;
    crypto_tagged_hash("evote/v1/genesis", (const uint8_t *)"test chain", 10, chain_id);
    return signing_key_generate(&key) == CRYPTO_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    signing_key_destroy(&key);
    return 0;
}

typedef struct {
    uint8_t *bytes;
    size_t len;
} buf_t;

static buf_t seal(const Evote__V1__TxBody *body)
{
    buf_t b;
    assert_int_equal(ledger_tx_seal(body, key, &b.bytes, &b.len), CRYPTO_OK);
    return b;
}

/* A notice transaction with this chain id. */
static void notice_body(Evote__V1__TxBody *body, Evote__V1__Notice *notice, const char *text)
{
    evote__v1__tx_body__init(body);
    evote__v1__notice__init(notice);
    notice->topic = (char *)"polling stations";
    notice->text.data = (uint8_t *)text;
    notice->text.len = strlen(text);
    body->chain_id.data = chain_id;
    body->chain_id.len = sizeof chain_id;
    body->nonce = 42;
    body->payload_case = EVOTE__V1__TX_BODY__PAYLOAD_NOTICE;
    body->notice = notice;
}

static ledger_err decode(buf_t b, crypto_err *detail)
{
    ledger_tx *tx = NULL;
    ledger_err err = ledger_tx_decode(b.bytes, b.len, chain_id, &tx, detail);
    if (err == LEDGER_OK)
        assert_non_null(tx);
    else
        assert_null(tx);
    ledger_tx_destroy(&tx);
    return err;
}

static void test_valid_notice_decodes_with_its_id(void **state)
{
    Evote__V1__TxBody body;
    Evote__V1__Notice notice;
    ledger_tx *tx = NULL;
    uint8_t id[32];
    (void)state;
    notice_body(&body, &notice, "station 12 moves to the town hall");
    buf_t b = seal(&body);
    assert_int_equal(ledger_tx_decode(b.bytes, b.len, chain_id, &tx, NULL), LEDGER_OK);
    envelope_txid(b.bytes, b.len, id);
    assert_memory_equal(tx->id, id, 32);
    assert_int_equal(tx->body->payload_case, EVOTE__V1__TX_BODY__PAYLOAD_NOTICE);
    assert_string_equal(tx->body->notice->topic, "polling stations");
    assert_int_equal(tx->body->nonce, 42);
    ledger_tx_destroy(&tx);
    assert_null(tx);
    free(b.bytes);
}

static void test_transaction_for_another_chain_is_refused(void **state)
{
    Evote__V1__TxBody body;
    Evote__V1__Notice notice;
    uint8_t other[32];
    crypto_err detail;
    (void)state;
    notice_body(&body, &notice, "hello");
    memcpy(other, chain_id, 32);
    other[0] ^= 1;
    body.chain_id.data = other;
    buf_t b = seal(&body);
    assert_int_equal(decode(b, &detail), LEDGER_ERR_WRONG_CHAIN);
    assert_int_equal(ledger_result_for(LEDGER_ERR_WRONG_CHAIN, detail), EVOTE__V1__TX_RESULT__TX_RESULT_WRONG_CHAIN);
    free(b.bytes);
    body.chain_id.len = 31;
    b = seal(&body);
    assert_int_equal(decode(b, &detail), LEDGER_ERR_CHAIN_ID_LENGTH);
    free(b.bytes);
    body.chain_id.len = 0;
    b = seal(&body);
    assert_int_equal(decode(b, &detail), LEDGER_ERR_CHAIN_ID_LENGTH);
    free(b.bytes);
}

static void test_signature_by_another_key_is_refused_as_bad_signature(void **state)
{
    Evote__V1__TxBody body;
    Evote__V1__Notice notice;
    signing_key *other = NULL;
    uint8_t other_pub[32];
    crypto_err detail;
    (void)state;
    notice_body(&body, &notice, "hello");
    buf_t b = seal(&body);
    Evote__V1__Envelope *env = evote__v1__envelope__unpack(NULL, b.len, b.bytes);
    assert_non_null(env);
    assert_int_equal(signing_key_generate(&other), CRYPTO_OK);
    signing_key_pubkey(other, other_pub);
    memcpy(env->signer.data, other_pub, 32);
    evote__v1__envelope__pack(env, b.bytes);
    assert_int_equal(decode(b, &detail), LEDGER_ERR_ENVELOPE);
    assert_int_equal(detail, CRYPTO_ERR_BAD_SIGNATURE);
    assert_int_equal(ledger_result_for(LEDGER_ERR_ENVELOPE, detail), EVOTE__V1__TX_RESULT__TX_RESULT_BAD_SIGNATURE);
    evote__v1__envelope__free_unpacked(env, NULL);
    signing_key_destroy(&other);
    free(b.bytes);
}

static void test_wrong_signature_length_is_refused(void **state)
{
    Evote__V1__TxBody body;
    Evote__V1__Notice notice;
    crypto_err detail;
    (void)state;
    notice_body(&body, &notice, "hello");
    buf_t b = seal(&body);
    Evote__V1__Envelope *env = evote__v1__envelope__unpack(NULL, b.len, b.bytes);
    env->signature.len = 32;
    buf_t x = {malloc(evote__v1__envelope__get_packed_size(env)), evote__v1__envelope__get_packed_size(env)};
    evote__v1__envelope__pack(env, x.bytes);
    assert_int_equal(decode(x, &detail), LEDGER_ERR_ENVELOPE);
    assert_int_equal(detail, CRYPTO_ERR_SIGNATURE_LENGTH);
    assert_int_equal(ledger_result_for(LEDGER_ERR_ENVELOPE, detail), EVOTE__V1__TX_RESULT__TX_RESULT_MALFORMED);
    evote__v1__envelope__free_unpacked(env, NULL);
    free(x.bytes);
    free(b.bytes);
}

static void test_truncated_and_garbage_transactions_are_refused(void **state)
{
    Evote__V1__TxBody body;
    Evote__V1__Notice notice;
    crypto_err detail;
    uint8_t junk[300];
    (void)state;
    notice_body(&body, &notice, "a notice long enough to cut in many places");
    buf_t b = seal(&body);
    for (size_t cut = 0; cut < b.len; cut++) {
        buf_t t = {malloc(cut ? cut : 1), cut};
        memcpy(t.bytes, b.bytes, cut);
        assert_int_equal(decode(t, &detail), LEDGER_ERR_ENVELOPE);
        free(t.bytes);
    }
    srand(11);
    for (int round = 0; round < 1000; round++) {
        buf_t t = {junk, 1 + (size_t)rand() % sizeof junk};
        for (size_t i = 0; i < t.len; i++)
            junk[i] = (uint8_t)rand();
        assert_int_not_equal(decode(t, &detail), LEDGER_OK);
    }
    free(b.bytes);
}

static void test_signed_garbage_body_is_refused_as_malformed(void **state)
{
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12};
    buf_t b;
    (void)state;
    assert_int_equal(envelope_seal(EVOTE__V1__KIND__KIND_TX, garbage, sizeof garbage, key, &b.bytes, &b.len), CRYPTO_OK);
    assert_int_equal(decode(b, NULL), LEDGER_ERR_BODY_MALFORMED);
    free(b.bytes);
    /* a well-signed consensus message is not a transaction */
    assert_int_equal(envelope_seal(EVOTE__V1__KIND__KIND_PREPARE, garbage, 0, key, &b.bytes, &b.len), CRYPTO_OK);
    crypto_err detail;
    assert_int_equal(decode(b, &detail), LEDGER_ERR_ENVELOPE);
    assert_int_equal(detail, CRYPTO_ERR_WRONG_KIND);
    free(b.bytes);
}

/* Signs raw TxBody bytes. */
static buf_t seal_raw(const uint8_t *raw, size_t len)
{
    buf_t b;
    assert_int_equal(envelope_seal(EVOTE__V1__KIND__KIND_TX, raw, len, key, &b.bytes, &b.len), CRYPTO_OK);
    return b;
}

/* A field this version does not know, anywhere in the body, gets the
 * transaction refused before it is unpacked (each costs protobuf-c an
 * allocation; a million of them, a tenth of a second and hundreds of MB);
 * a committed block's transaction is taken as it is. The scan itself:
 * counts, packed numbers, truncation. */
static void test_unknown_fields_in_a_transaction_are_refused(void **state)
{
    Evote__V1__TxBody body;
    Evote__V1__Notice notice;
    uint8_t raw[512], nb[256];
    size_t len, nlen;
    ledger_tx *tx = NULL;
    buf_t b;
    (void)state;

    notice_body(&body, &notice, "hello");
    len = evote__v1__tx_body__pack(&body, raw);
    b = seal_raw(raw, len);
    assert_int_equal(decode(b, NULL), LEDGER_OK); /* the control */
    free(b.bytes);
    /* Field 1000 (a varint) at the top. */
    raw[len] = 0xc0, raw[len + 1] = 0x3e, raw[len + 2] = 0x01;
    assert_int_equal(pb_wire_unknown(&evote__v1__tx_body__descriptor, raw, len + 3, 0), 1);
    b = seal_raw(raw, len + 3);
    assert_int_equal(decode(b, NULL), LEDGER_ERR_BODY_MALFORMED);
    assert_int_equal(ledger_tx_decode_committed(b.bytes, b.len, chain_id, &tx, NULL), LEDGER_OK);
    ledger_tx_destroy(&tx);
    free(b.bytes);
    /* Inside the notice (TxBody field 10): the scan looks into messages. */
    nlen = evote__v1__notice__pack(&notice, nb);
    nb[nlen] = 0xc0, nb[nlen + 1] = 0x3e, nb[nlen + 2] = 0x01;
    nlen += 3;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD__NOT_SET;
    len = evote__v1__tx_body__pack(&body, raw);
    raw[len++] = (10 << 3) | 2;
    raw[len++] = (uint8_t)nlen;
    memcpy(raw + len, nb, nlen);
    len += nlen;
    assert_int_equal(pb_wire_unknown(&evote__v1__tx_body__descriptor, raw, len, 5), 1);
    b = seal_raw(raw, len);
    assert_int_equal(decode(b, NULL), LEDGER_ERR_BODY_MALFORMED);
    free(b.bytes);
    /* Counting stops past max; truncation and a known field's wrong wire
     * type are not encodings of the message. */
    {
        uint8_t many[3 * 40];
        for (int i = 0; i < 40; i++)
            many[3 * i] = 0xc0, many[3 * i + 1] = 0x3e, many[3 * i + 2] = 0x01;
        assert_int_equal(pb_wire_unknown(&evote__v1__tx_body__descriptor, many, sizeof many, 16), 17);
        assert_int_equal(pb_wire_unknown(&evote__v1__tx_body__descriptor, many, sizeof many - 1, 100), -1);
        const uint8_t nonce_as_bytes[] = {(2 << 3) | 2, 1, 0};
        assert_int_equal(pb_wire_unknown(&evote__v1__tx_body__descriptor, nonce_as_bytes, 3, 16), -1);
        const uint8_t overlong[] = {(2 << 3) | 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
        assert_int_equal(pb_wire_unknown(&evote__v1__tx_body__descriptor, overlong, sizeof overlong, 16), -1);
        assert_int_equal(pb_wire_unknown(&evote__v1__tx_body__descriptor, NULL, 0, 0), 0);
    }
}

static void test_transaction_without_payload_is_refused(void **state)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    (void)state;
    body.chain_id.data = chain_id;
    body.chain_id.len = 32;
    buf_t b = seal(&body);
    assert_int_equal(decode(b, NULL), LEDGER_ERR_NO_PAYLOAD);
    free(b.bytes);
}

static void test_fields_out_of_range_are_refused(void **state)
{
    Evote__V1__TxBody body;
    Evote__V1__Notice notice;
    char topic[LEDGER_MAX_TOPIC + 2];
    (void)state;
    notice_body(&body, &notice, "x");
    memset(topic, 't', sizeof topic - 1);
    topic[sizeof topic - 1] = '\0';
    notice.topic = topic;
    buf_t b = seal(&body);
    assert_int_equal(decode(b, NULL), LEDGER_ERR_FIELD_RANGE);
    free(b.bytes);
    topic[LEDGER_MAX_TOPIC] = '\0'; /* exactly the limit is fine */
    b = seal(&body);
    assert_int_equal(decode(b, NULL), LEDGER_OK);
    free(b.bytes);

    /* voter registration with a 31-byte key */
    Evote__V1__VoterRegistration reg = EVOTE__V1__VOTER_REGISTRATION__INIT;
    uint8_t k1[32] = {1}, k2[32] = {2};
    ProtobufCBinaryData keys[2] = {{32, k1}, {31, k2}};
    reg.election_id.data = (uint8_t *)"e1";
    reg.election_id.len = 2;
    reg.voter_keys = keys;
    reg.n_voter_keys = 2;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_VOTER_REGISTRATION;
    body.voter_registration = &reg;
    b = seal(&body);
    assert_int_equal(decode(b, NULL), LEDGER_ERR_FIELD_RANGE);
    free(b.bytes);
    keys[1].len = 32;
    b = seal(&body);
    assert_int_equal(decode(b, NULL), LEDGER_OK);
    free(b.bytes);
    reg.election_id.len = 0; /* an election id is required */
    b = seal(&body);
    assert_int_equal(decode(b, NULL), LEDGER_ERR_FIELD_RANGE);
    free(b.bytes);

    /* ballot with a point that is not 33 bytes */
    Evote__V1__Ballot ballot = EVOTE__V1__BALLOT__INIT;
    Evote__V1__Ciphertext ct = EVOTE__V1__CIPHERTEXT__INIT, *cts[1] = {&ct};
    uint8_t point[33] = {2};
    ct.r.data = point;
    ct.r.len = 33;
    ct.c.data = point;
    ct.c.len = 32;
    ballot.election_id.data = (uint8_t *)"e1";
    ballot.election_id.len = 2;
    ballot.selections = cts;
    ballot.n_selections = 1;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_BALLOT;
    body.ballot = &ballot;
    b = seal(&body);
    assert_int_equal(decode(b, NULL), LEDGER_ERR_FIELD_RANGE);
    free(b.bytes);

    /* election whose threshold exceeds its trustees */
    Evote__V1__ElectionCreate ec = EVOTE__V1__ELECTION_CREATE__INIT;
    Evote__V1__Question q = EVOTE__V1__QUESTION__INIT, *qs[1] = {&q};
    char *options[3] = {"A", "B", "C"};
    ProtobufCBinaryData trustees[1] = {{32, k1}};
    q.text = "Who?";
    q.options = options;
    q.n_options = 3;
    q.min_selections = 1;
    q.max_selections = 1;
    ec.election_id.data = (uint8_t *)"e1";
    ec.election_id.len = 2;
    ec.title = "Test";
    ec.questions = qs;
    ec.n_questions = 1;
    ec.trustees = trustees;
    ec.n_trustees = 1;
    ec.threshold = 2;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CREATE;
    body.election_create = &ec;
    b = seal(&body);
    assert_int_equal(decode(b, NULL), LEDGER_ERR_FIELD_RANGE);
    free(b.bytes);
    ec.threshold = 1;
    b = seal(&body);
    assert_int_equal(decode(b, NULL), LEDGER_OK);
    free(b.bytes);
    q.max_selections = 4; /* more than the options */
    b = seal(&body);
    assert_int_equal(decode(b, NULL), LEDGER_ERR_FIELD_RANGE);
    free(b.bytes);
}


/* ------------------------------------------------------------- genesis */

static const char *curve_keys[4] = {
    "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
    "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6", "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"};

/* A genesis text with n validators (fresh keys) and one authority; extra
 * lines are appended verbatim. Returns malloc'ed text. */
static char *genesis_text(int n, const char *extra)
{
    size_t cap = 8192;
    char *t = malloc(cap), hex[65];
    uint8_t pub[32];
    size_t used = (size_t)snprintf(t, cap, "# test chain\nevote-genesis-v1\nchain_name test-2026\n");
    for (int i = 0; i < n; i++) {
        signing_key *k = NULL;
        assert_int_equal(signing_key_generate(&k), CRYPTO_OK);
        signing_key_pubkey(k, pub);
        crypto_hex(pub, 32, hex);
        signing_key_destroy(&k);
        char curve[41];
        memcpy(curve, curve_keys[i % 4], 41);
        curve[0] = "abcdefghij"[i / 4]; /* distinct keys beyond four */
        used += (size_t)snprintf(t + used, cap - used, "validator v%d %s %s tcp://127.0.0.1:%d\n", i,
                                 hex, curve, 7100 + i);
    }
    signing_key_pubkey(key, pub);
    crypto_hex(pub, 32, hex);
    used += (size_t)snprintf(t + used, cap - used, "authority commission %s  # the national commission\n", hex);
    snprintf(t + used, cap - used, "%s", extra ? extra : "");
    return t;
}

static ledger_err parse_text(const char *t, genesis **g, genesis_error *why)
{
    return genesis_parse((const uint8_t *)t, strlen(t), g, why);
}

/* '#' is a Z85 character: inside a CURVE key it is not a comment. */
static void test_genesis_curve_key_may_contain_a_hash_sign(void **state)
{
    genesis *g = NULL;
    genesis_error why;
    char *t = genesis_text(4, NULL);
    char *k = strstr(t, curve_keys[1] + 1); /* genesis_text changes the first character */
    (void)state;
    assert_non_null(k);
    k[3] = '#';
    assert_int_equal(parse_text(t, &g, &why), LEDGER_OK);
    assert_int_equal(g->validators[1].curve_z85[4], '#');
    genesis_destroy(&g);
    free(t);
}

static void test_genesis_parses_validators_authorities_and_chain_id(void **state)
{
    char *t = genesis_text(4, "checkpoint_interval 16\n");
    genesis *g = NULL;
    genesis_error why;
    uint8_t want[32], pub[32];
    (void)state;
    assert_int_equal(parse_text(t, &g, &why), LEDGER_OK);
    assert_int_equal(g->n, 4);
    assert_int_equal(g->f, 1);
    assert_string_equal(g->chain_name, "test-2026");
    assert_int_equal(g->checkpoint_interval, 16);
    assert_int_equal(g->max_batch_txs, 2000);
    assert_int_equal(g->primary_term, 16); /* the default: rotation on */
    assert_string_equal(g->validators[2].name, "v2");
    assert_string_equal(g->validators[3].endpoint, "tcp://127.0.0.1:7103");
    assert_int_equal(g->n_authorities, 1);
    crypto_tagged_hash(CRYPTO_TAG_GENESIS, (const uint8_t *)t, strlen(t), want);
    assert_memory_equal(g->chain_id, want, 32);
    assert_int_equal(genesis_validator_index(g, g->validators[3].pubkey), 3);
    signing_key_pubkey(key, pub);
    assert_true(genesis_is_authority(g, pub));
    assert_int_equal(genesis_validator_index(g, pub), -1);
    assert_false(genesis_is_authority(g, g->validators[0].pubkey));
    genesis_destroy(&g);
    assert_null(g);
    free(t);
}

static void test_genesis_edit_even_a_comment_changes_the_chain_id(void **state)
{
    char *t = genesis_text(4, NULL);
    genesis *a = NULL, *b = NULL;
    (void)state;
    assert_int_equal(parse_text(t, &a, NULL), LEDGER_OK);
    t[2] = 'T'; /* "# test" -> "# Test" */
    assert_int_equal(parse_text(t, &b, NULL), LEDGER_OK);
    assert_memory_not_equal(a->chain_id, b->chain_id, 32);
    genesis_destroy(&a);
    genesis_destroy(&b);
    free(t);
}

static void expect_genesis_refused(const char *t, ledger_err want, unsigned line, const char *words)
{
    genesis *g = NULL;
    genesis_error why;
    assert_int_equal(parse_text(t, &g, &why), want);
    assert_null(g);
    if (line)
        assert_int_equal(why.line, line);
    if (strstr(why.reason, words) == NULL)
        fail_msg("reason '%s' does not mention '%s'", why.reason, words);
}

static void test_genesis_with_bad_entries_is_refused_with_line_and_reason(void **state)
{
    char *t = genesis_text(4, NULL), *bad = malloc(strlen(t) + 400);
    (void)state;
    expect_genesis_refused("", LEDGER_ERR_GENESIS_SYNTAX, 0, "empty");
    expect_genesis_refused("hello\n", LEDGER_ERR_GENESIS_SYNTAX, 1, "evote-genesis-v1");
    expect_genesis_refused("evote-genesis-v1\n", LEDGER_ERR_GENESIS_SYNTAX, 0, "chain_name");

    sprintf(bad, "%sfrobnicate 1\n", t);
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_SYNTAX, 9, "unknown entry");
    sprintf(bad, "%schain_name other\n", t);
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_SYNTAX, 9, "twice");
    sprintf(bad, "%scheckpoint_interval 0\n", t);
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_SYNTAX, 9, "checkpoint_interval");
    sprintf(bad, "%scheckpoint_interval 12x\n", t);
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_SYNTAX, 9, "checkpoint_interval");
    sprintf(bad, "%sprimary_term 1001\n", t);
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_SYNTAX, 9, "primary_term takes a number from 0 to 1000");
    sprintf(bad, "%sauthority x 1234\n", t);
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_SYNTAX, 9, "64 hex");
    sprintf(bad, "%sauthority a b c d e f g\n", t);
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_SYNTAX, 9, "too many fields");

    /* corrupt one validator line at a time: key, curve key, endpoint */
    strcpy(bad, t);
    char *v1 = strstr(bad, "validator v1 ");
    v1[13] = 'z';
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_SYNTAX, 5, "Schnorr public key");
    strcpy(bad, t);
    v1 = strstr(bad, "validator v1 ");
    v1[13 + 64 + 1 + 5] = ' ';
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_SYNTAX, 5, "");
    strcpy(bad, t);
    v1 = strstr(bad, "validator v1 ");
    v1[13 + 64 + 1 + 5] = '~'; /* not in the Z85 alphabet */
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_SYNTAX, 5, "Z85");
    strcpy(bad, t);
    v1 = strstr(bad, "tcp://127.0.0.1:7101");
    memcpy(v1, "udp", 3);
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_SYNTAX, 5, "tcp://host:port");
    strcpy(bad, t);
    v1 = strstr(bad, "tcp://127.0.0.1:7101");
    memcpy(v1 + 16, "9999", 4); /* port 99999 */
    strcpy(v1 + 16, "99999\n");
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_SYNTAX, 5, "tcp://host:port");

    /* NUL byte */
    strcpy(bad, t);
    bad[10] = '\0';
    genesis *g = NULL;
    assert_int_equal(genesis_parse((const uint8_t *)bad, strlen(t), &g, NULL), LEDGER_ERR_GENESIS_SYNTAX);
    assert_null(g);
    free(bad);
    free(t);
}

static void test_genesis_validator_count_must_be_3f_plus_1(void **state)
{
    (void)state;
    for (int n = 1; n <= 8; n++) {
        char *t = genesis_text(n, NULL);
        genesis *g = NULL;
        genesis_error why;
        ledger_err err = parse_text(t, &g, &why);
        if (n == 4 || n == 7) { /* n = 1 is 3f+1 with f = 0: no fault tolerance, refused */
            assert_int_equal(err, LEDGER_OK);
            assert_int_equal(g->f, (uint32_t)(n - 1) / 3);
        } else {
            assert_int_equal(err, LEDGER_ERR_GENESIS_VALIDATORS);
            assert_non_null(strstr(why.reason, "3f+1"));
        }
        genesis_destroy(&g);
        free(t);
    }
}

static void test_genesis_duplicates_and_off_curve_keys_are_refused(void **state)
{
    char *t = genesis_text(4, NULL), *bad = malloc(strlen(t) + 400);
    char key0[65], *v0, *v1;
    (void)state;
    /* validator 1 gets validator 0's Schnorr key */
    strcpy(bad, t);
    v0 = strstr(bad, "validator v0 ") + 13;
    v1 = strstr(bad, "validator v1 ") + 13;
    memcpy(key0, v0, 64);
    key0[64] = '\0';
    memcpy(v1, key0, 64);
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_VALIDATORS, 0, "same Schnorr key");
    /* same name */
    strcpy(bad, t);
    v1 = strstr(bad, "validator v1 ");
    v1[11] = '0';
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_VALIDATORS, 0, "appears twice");
    /* same endpoint */
    strcpy(bad, t);
    v1 = strstr(bad, ":7101");
    v1[4] = '0';
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_VALIDATORS, 0, "same endpoint");
    /* x = 2^256-1 is not a field element */
    strcpy(bad, t);
    v1 = strstr(bad, "validator v1 ") + 13;
    memset(v1, 'f', 64);
    expect_genesis_refused(bad, LEDGER_ERR_GENESIS_VALIDATORS, 0, "not a point");
    free(bad);
    free(t);
}

static void test_genesis_load_reads_a_file_and_reports_a_missing_one(void **state)
{
    char path[] = "/tmp/evote-genesis-XXXXXX";
    char *t = genesis_text(4, NULL);
    genesis *g = NULL;
    genesis_error why;
    int fd = mkstemp(path);
    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    assert_int_equal(genesis_load(path, &g, &why), LEDGER_OK);
    assert_int_equal(g->n, 4);
    genesis_destroy(&g);
    unlink(path);
    assert_int_equal(genesis_load(path, &g, &why), LEDGER_ERR_GENESIS_READ);
    assert_non_null(strstr(why.reason, "No such file"));
    assert_int_equal(genesis_load("/tmp", &g, &why), LEDGER_ERR_GENESIS_READ);
    free(t);
}

/* -------------------------------------------------------------- blocks */

/* A serialized Batch of the given transactions. */
static buf_t make_batch(const uint8_t *chain, uint64_t seq, uint64_t ts, buf_t *txs, size_t n)
{
    Evote__V1__Batch b = EVOTE__V1__BATCH__INIT;
    ProtobufCBinaryData *items = calloc(n ? n : 1, sizeof *items);
    buf_t out;
    for (size_t i = 0; i < n; i++) {
        items[i].data = txs[i].bytes;
        items[i].len = txs[i].len;
    }
    b.chain_id.data = (uint8_t *)chain;
    b.chain_id.len = 32;
    b.seq = seq;
    b.timestamp_ms = ts;
    b.txs = items;
    b.n_txs = n;
    out.len = evote__v1__batch__get_packed_size(&b);
    out.bytes = malloc(out.len ? out.len : 1);
    evote__v1__batch__pack(&b, out.bytes);
    free(items);
    return out;
}

static buf_t notice_by(signing_key *k, const uint8_t *chain, uint64_t nonce)
{
    Evote__V1__TxBody body;
    Evote__V1__Notice notice;
    buf_t b;
    notice_body(&body, &notice, "n");
    body.chain_id.data = (uint8_t *)chain;
    body.nonce = nonce;
    assert_int_equal(ledger_tx_seal(&body, k, &b.bytes, &b.len), CRYPTO_OK);
    return b;
}

static void free_bufs(buf_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(b[i].bytes);
}

static void test_batch_check_accepts_a_good_proposal(void **state)
{
    buf_t txs[3] = {notice_by(key, chain_id, 1), notice_by(key, chain_id, 2), notice_by(key, chain_id, 3)};
    buf_t b = make_batch(chain_id, 5, 1000000, txs, 3);
    buf_t empty = make_batch(chain_id, 6, 0, NULL, 0);
    (void)state;
    assert_int_equal(ledger_batch_check(b.bytes, b.len, chain_id, 5, 1000500, 1000, 10, NULL, NULL), LEDGER_OK);
    /* a null request (empty, stamped 0) is fine whatever the clock says */
    assert_int_equal(ledger_batch_check(empty.bytes, empty.len, chain_id, 6, 99999999, 1000, 10, NULL, NULL), LEDGER_OK);
    free(b.bytes);
    free(empty.bytes);
    free_bufs(txs, 3);
}

static void test_batch_check_refuses_what_a_faulty_primary_proposes(void **state)
{
    uint8_t other[32] = {9};
    buf_t txs[3] = {notice_by(key, chain_id, 1), notice_by(key, chain_id, 2), notice_by(key, chain_id, 3)};
    size_t bad = 99;
    buf_t b;
    (void)state;
    /* another seq, another chain */
    b = make_batch(chain_id, 5, 1000, txs, 3);
    assert_int_equal(ledger_batch_check(b.bytes, b.len, chain_id, 6, 1000, 1000, 10, NULL, NULL), LEDGER_ERR_BATCH_SEQ);
    assert_int_equal(ledger_batch_check(b.bytes, b.len, other, 5, 1000, 1000, 10, NULL, NULL), LEDGER_ERR_BATCH_SEQ);
    /* too many */
    assert_int_equal(ledger_batch_check(b.bytes, b.len, chain_id, 5, 1000, 1000, 2, NULL, NULL), LEDGER_ERR_BATCH_SIZE);
    /* clock skew both ways */
    assert_int_equal(ledger_batch_check(b.bytes, b.len, chain_id, 5, 2001, 1000, 10, NULL, NULL), LEDGER_ERR_BATCH_TIME);
    assert_int_equal(ledger_batch_check(b.bytes, b.len, chain_id, 5, 0, 999, 10, NULL, NULL), LEDGER_ERR_BATCH_TIME);
    free(b.bytes);
    /* a forged transaction in the middle */
    txs[1].bytes[txs[1].len - 1] ^= 1;
    b = make_batch(chain_id, 5, 1000, txs, 3);
    assert_int_equal(ledger_batch_check(b.bytes, b.len, chain_id, 5, 1000, 1000, 10, NULL, &bad), LEDGER_ERR_BATCH_TX);
    assert_int_equal(bad, 1);
    free(b.bytes);
    txs[1].bytes[txs[1].len - 1] ^= 1;
    /* the same transaction twice */
    buf_t twice[3] = {txs[0], txs[1], txs[0]};
    b = make_batch(chain_id, 5, 1000, twice, 3);
    assert_int_equal(ledger_batch_check(b.bytes, b.len, chain_id, 5, 1000, 1000, 10, NULL, NULL), LEDGER_ERR_BATCH_DUPLICATE);
    free(b.bytes);
    /* garbage */
    assert_int_equal(ledger_batch_check((const uint8_t *)"\xff\xff\xff", 3, chain_id, 5, 1000, 1000, 10, NULL, NULL),
                     LEDGER_ERR_BATCH_MALFORMED);
    free_bufs(txs, 3);
}

static int committed_nonce_9(void *ctx, const uint8_t id[32])
{
    return memcmp(ctx, id, 32) == 0;
}

static int empty_state(void *ctx, const uint8_t *k, size_t kl, uint8_t **v, size_t *l)
{
    (void)ctx, (void)k, (void)kl, (void)v, (void)l;
    return 0;
}

static int broken_state(void *ctx, const uint8_t *k, size_t kl, uint8_t **v, size_t *l)
{
    (void)ctx, (void)k, (void)kl, (void)v, (void)l;
    return -1;
}

static buf_t election_create_by(const signing_key *k, const uint8_t *chain, uint64_t nonce)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__ElectionCreate ec = EVOTE__V1__ELECTION_CREATE__INIT;
    Evote__V1__Question q = EVOTE__V1__QUESTION__INIT, *qs[1] = {&q};
    char *options[2] = {"yes", "no"};
    uint8_t trustee[32];
    ProtobufCBinaryData trustees[1] = {{32, trustee}};
    buf_t b;

    signing_key_pubkey(k, trustee);
    q.text = "Adopt the budget?";
    q.options = options;
    q.n_options = 2;
    q.min_selections = 1;
    q.max_selections = 1;
    ec.election_id.data = (uint8_t *)"referendum-2027";
    ec.election_id.len = 15;
    ec.title = "Budget referendum";
    ec.questions = qs;
    ec.n_questions = 1;
    ec.open_height = 10;
    ec.close_height = 20;
    ec.trustees = trustees;
    ec.n_trustees = 1;
    ec.threshold = 1;
    body.chain_id.data = (uint8_t *)chain;
    body.chain_id.len = 32;
    body.nonce = nonce;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CREATE;
    body.election_create = &ec;
    assert_int_equal(ledger_tx_seal(&body, k, &b.bytes, &b.len), CRYPTO_OK);
    return b;
}

/* The stateless part of the authority rules, which the mempool applies:
 * authority payloads need an authority of the genesis, attestations a
 * validator, and the rest any key (their rules check the election's state;
 * test_election has the rules' own refusals). */
static void test_signer_may_sign_follows_the_authority_rules(void **state)
{
    char *t = genesis_text(4, NULL); /* `key` is its only authority */
    genesis *g = NULL;
    signing_key *stranger = NULL;
    uint8_t auth[32], other[32];
    const uint8_t *validator;
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    static const Evote__V1__TxBody__PayloadCase authority_only[] = {
        EVOTE__V1__TX_BODY__PAYLOAD_NOTICE, EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CREATE,
        EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CONTROL, EVOTE__V1__TX_BODY__PAYLOAD_VOTER_REGISTRATION};
    static const Evote__V1__TxBody__PayloadCase anyone[] = {
        EVOTE__V1__TX_BODY__PAYLOAD_BALLOT, EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING,
        EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_COMPLAINT, EVOTE__V1__TX_BODY__PAYLOAD_PARTIAL_DECRYPTION};
    (void)state;
    assert_int_equal(parse_text(t, &g, NULL), LEDGER_OK);
    assert_int_equal(signing_key_generate(&stranger), CRYPTO_OK);
    signing_key_pubkey(key, auth);
    signing_key_pubkey(stranger, other);
    validator = g->validators[2].pubkey;
    for (size_t i = 0; i < sizeof authority_only / sizeof authority_only[0]; i++) {
        body.payload_case = authority_only[i];
        assert_true(ledger_signer_may_sign(g, &body, auth));
        assert_false(ledger_signer_may_sign(g, &body, other));
        assert_false(ledger_signer_may_sign(g, &body, validator)); /* a validator is no authority */
    }
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_ATTESTATION;
    assert_true(ledger_signer_may_sign(g, &body, validator));
    assert_false(ledger_signer_may_sign(g, &body, auth)); /* an authority is no validator */
    assert_false(ledger_signer_may_sign(g, &body, other));
    for (size_t i = 0; i < sizeof anyone / sizeof anyone[0]; i++) {
        body.payload_case = anyone[i];
        assert_true(ledger_signer_may_sign(g, &body, other));
    }
    signing_key_destroy(&stranger);
    genesis_destroy(&g);
    free(t);
}

/* Election payloads go to src/election: their result codes come from the
 * rules, their state changes collect in view.changes, and a state that
 * cannot be read stops the block instead of recording a wrong code. */
static void test_execution_hands_election_payloads_to_the_rules(void **state)
{
    char *t = genesis_text(4, NULL); /* `key` is its only authority */
    genesis *g = NULL;
    signing_key *stranger = NULL;
    election_state_reader empty = {empty_state, NULL}, broken = {broken_state, NULL};
    ledger_chain_view view;
    Evote__V1__TxResult r[2];
    size_t n = 0;
    (void)state;
    assert_int_equal(parse_text(t, &g, NULL), LEDGER_OK);
    assert_int_equal(signing_key_generate(&stranger), CRYPTO_OK);
    buf_t txs[2] = {election_create_by(key, g->chain_id, 1), election_create_by(stranger, g->chain_id, 2)};
    buf_t b = make_batch(g->chain_id, 1, 1000, txs, 2);

    memset(&view, 0, sizeof view);
    view.changes = election_changes_new();
    assert_non_null(view.changes);
    /* No state given: nothing to run them against. */
    assert_int_equal(ledger_execute_batch(g, b.bytes, b.len, &view, 10, r, &n), LEDGER_OK);
    assert_int_equal(r[0], EVOTE__V1__TX_RESULT__TX_RESULT_UNKNOWN_ELECTION);
    /* With a state: the authority's election is created, the stranger's refused. */
    view.state = &empty;
    view.height = 1;
    assert_int_equal(ledger_execute_batch(g, b.bytes, b.len, &view, 10, r, &n), LEDGER_OK);
    assert_int_equal(n, 2);
    assert_int_equal(r[0], EVOTE__V1__TX_RESULT__TX_RESULT_OK);
    assert_int_equal(r[1], EVOTE__V1__TX_RESULT__TX_RESULT_NOT_AUTHORIZED);
    assert_true(election_changes_count(view.changes) > 0);
    /* A state that cannot be read: the block is not executed, no changes. */
    view.state = &broken;
    assert_int_equal(ledger_execute_batch(g, b.bytes, b.len, &view, 10, r, &n), LEDGER_ERR_STATE);
    assert_int_equal(election_changes_count(view.changes), 0);
    election_changes_destroy(&view.changes);
    free(b.bytes);
    free_bufs(txs, 2);
    signing_key_destroy(&stranger);
    genesis_destroy(&g);
    free(t);
}

/* A batch of 40 where the last 20 repeat the first 20 in another order:
 * every repeat is a DUPLICATE, whatever the order, and the ids execution
 * hands out (ids_out) are the transactions' ids, which give the same block
 * as ledger_block_assemble hashing them itself. */
static void test_execution_duplicates_and_ids_out(void **state)
{
    char *t = genesis_text(4, NULL);
    genesis *g = NULL;
    enum { HALF = 20 };
    buf_t txs[2 * HALF];
    uint8_t ids[2 * HALF][CRYPTO_HASH_LEN], want[CRYPTO_HASH_LEN];
    Evote__V1__TxResult r[2 * HALF];
    size_t n = 0;
    (void)state;
    assert_int_equal(parse_text(t, &g, NULL), LEDGER_OK);
    for (size_t i = 0; i < HALF; i++)
        txs[i] = notice_by(key, g->chain_id, 100 + i);
    for (size_t i = 0; i < HALF; i++)
        txs[HALF + i] = txs[(7 * i + 3) % HALF]; /* a permutation: 7 and 20 are coprime */
    buf_t b = make_batch(g->chain_id, 1, 1000, txs, 2 * HALF);
    ledger_chain_view view = {.ids_out = ids};
    assert_int_equal(ledger_execute_batch(g, b.bytes, b.len, &view, 2 * HALF, r, &n), LEDGER_OK);
    assert_int_equal(n, 2 * HALF);
    for (size_t i = 0; i < 2 * HALF; i++) {
        assert_int_equal(r[i], i < HALF ? EVOTE__V1__TX_RESULT__TX_RESULT_OK : EVOTE__V1__TX_RESULT__TX_RESULT_DUPLICATE);
        envelope_txid(txs[i].bytes, txs[i].len, want);
        assert_memory_equal(ids[i], want, CRYPTO_HASH_LEN);
    }
    uint8_t prev[CRYPTO_HASH_LEN] = {1}, h1[CRYPTO_HASH_LEN], h2[CRYPTO_HASH_LEN];
    uint8_t *blk1 = NULL, *blk2 = NULL;
    size_t len1 = 0, len2 = 0;
    assert_int_equal(ledger_block_assemble(g->chain_id, 1, prev, 0, b.bytes, b.len, r, n, &blk1, &len1, h1),
                     LEDGER_OK);
    assert_int_equal(ledger_block_assemble_ids(g->chain_id, 1, prev, 0, b.bytes, b.len,
                                               (const uint8_t(*)[CRYPTO_HASH_LEN])ids, r, n, &blk2, &len2, h2),
                     LEDGER_OK);
    assert_int_equal(len1, len2);
    assert_memory_equal(blk1, blk2, len1);
    assert_memory_equal(h1, h2, CRYPTO_HASH_LEN);
    free(blk1);
    free(blk2);
    free(b.bytes);
    free_bufs(txs, HALF);
    genesis_destroy(&g);
    free(t);
}

static void test_execution_records_state_dependent_result_codes(void **state)
{
    char *t = genesis_text(4, NULL); /* `key` is its only authority */
    genesis *g = NULL;
    signing_key *stranger = NULL;
    uint8_t other[32] = {9}, committed_id[32];
    (void)state;
    assert_int_equal(parse_text(t, &g, NULL), LEDGER_OK);
    assert_int_equal(signing_key_generate(&stranger), CRYPTO_OK);
    buf_t txs[6] = {
        notice_by(key, g->chain_id, 1),      /* OK */
        notice_by(stranger, g->chain_id, 2), /* not an authority */
        notice_by(key, g->chain_id, 1),      /* same bytes? no: new signature */
        notice_by(key, other, 3),            /* another chain */
        notice_by(key, g->chain_id, 9),      /* already committed */
        {NULL, 0},
    };
    txs[5] = txs[0]; /* the very same envelope again */
    envelope_txid(txs[4].bytes, txs[4].len, committed_id);
    ledger_chain_view view = {.tx_committed = committed_nonce_9, .ctx = committed_id};
    buf_t b = make_batch(g->chain_id, 1, 1000, txs, 6);
    Evote__V1__TxResult r[6];
    size_t n = 0;
    assert_int_equal(ledger_execute_batch(g, b.bytes, b.len, &view, 10, r, &n), LEDGER_OK);
    assert_int_equal(n, 6);
    assert_int_equal(r[0], EVOTE__V1__TX_RESULT__TX_RESULT_OK);
    assert_int_equal(r[1], EVOTE__V1__TX_RESULT__TX_RESULT_NOT_AUTHORIZED);
    assert_int_equal(r[2], EVOTE__V1__TX_RESULT__TX_RESULT_OK); /* re-signed: a distinct transaction */
    assert_int_equal(r[3], EVOTE__V1__TX_RESULT__TX_RESULT_WRONG_CHAIN);
    assert_int_equal(r[4], EVOTE__V1__TX_RESULT__TX_RESULT_DUPLICATE);
    assert_int_equal(r[5], EVOTE__V1__TX_RESULT__TX_RESULT_DUPLICATE);
    /* the same batch gives the same codes (determinism) */
    Evote__V1__TxResult again[6];
    assert_int_equal(ledger_execute_batch(g, b.bytes, b.len, &view, 10, again, &n), LEDGER_OK);
    assert_memory_equal(r, again, sizeof r);
    assert_int_equal(ledger_execute_batch(g, b.bytes, b.len, &view, 5, again, &n), LEDGER_ERR_BATCH_SIZE);
    free(b.bytes);
    free_bufs(txs, 5);
    signing_key_destroy(&stranger);
    genesis_destroy(&g);
    free(t);
}

static void test_block_links_to_parent_and_commits_to_batch_and_results(void **state)
{
    buf_t txs[3] = {notice_by(key, chain_id, 1), notice_by(key, chain_id, 2), notice_by(key, chain_id, 3)};
    buf_t b = make_batch(chain_id, 7, 5000, txs, 3);
    Evote__V1__TxResult r[3] = {EVOTE__V1__TX_RESULT__TX_RESULT_OK, EVOTE__V1__TX_RESULT__TX_RESULT_DUPLICATE,
                                EVOTE__V1__TX_RESULT__TX_RESULT_OK};
    uint8_t prev[32] = {7}, hash[32], want[32], ids[3][32];
    uint8_t *blk;
    size_t len;
    (void)state;
    assert_int_equal(ledger_block_assemble(chain_id, 7, prev, 4000, b.bytes, b.len, r, 3, &blk, &len, hash), LEDGER_OK);
    Evote__V1__Block *block = evote__v1__block__unpack(NULL, len, blk);
    assert_non_null(block);
    assert_int_equal(block->batch.len, b.len);
    assert_memory_equal(block->batch.data, b.bytes, b.len);
    assert_int_equal(block->n_results, 3);
    assert_int_equal(block->results[1], EVOTE__V1__TX_RESULT__TX_RESULT_DUPLICATE);
    crypto_tagged_hash(CRYPTO_TAG_BLOCK, block->header.data, block->header.len, want);
    assert_memory_equal(hash, want, 32);
    Evote__V1__BlockHeader *h = evote__v1__block_header__unpack(NULL, block->header.len, block->header.data);
    assert_non_null(h);
    assert_int_equal(h->height, 7);
    assert_memory_equal(h->prev_hash.data, prev, 32);
    assert_memory_equal(h->chain_id.data, chain_id, 32);
    assert_int_equal(h->timestamp_ms, 5000);
    assert_int_equal(h->tx_count, 3);
    crypto_tagged_hash(CRYPTO_TAG_BATCH, b.bytes, b.len, want);
    assert_memory_equal(h->batch_digest.data, want, 32);
    for (int i = 0; i < 3; i++)
        envelope_txid(txs[i].bytes, txs[i].len, ids[i]);
    crypto_merkle_root((const uint8_t(*)[32])ids, 3, want);
    assert_memory_equal(h->tx_root.data, want, 32);
    assert_int_equal(ledger_results_hash(r, 3, want), LEDGER_OK);
    assert_memory_equal(h->results_hash.data, want, 32);
    /* another result code gives another block hash */
    uint8_t *blk2, hash2[32];
    size_t len2;
    r[1] = EVOTE__V1__TX_RESULT__TX_RESULT_OK;
    assert_int_equal(ledger_block_assemble(chain_id, 7, prev, 4000, b.bytes, b.len, r, 3, &blk2, &len2, hash2), LEDGER_OK);
    assert_memory_not_equal(hash, hash2, 32);
    free(blk2);
    evote__v1__block_header__free_unpacked(h, NULL);
    evote__v1__block__free_unpacked(block, NULL);
    free(blk);
    /* block time never goes backwards */
    assert_int_equal(ledger_block_assemble(chain_id, 7, prev, 9000, b.bytes, b.len, r, 3, &blk, &len, hash), LEDGER_OK);
    block = evote__v1__block__unpack(NULL, len, blk);
    h = evote__v1__block_header__unpack(NULL, block->header.len, block->header.data);
    assert_int_equal(h->timestamp_ms, 9000);
    evote__v1__block_header__free_unpacked(h, NULL);
    evote__v1__block__free_unpacked(block, NULL);
    free(blk);
    /* wrong height or result count */
    assert_int_equal(ledger_block_assemble(chain_id, 8, prev, 0, b.bytes, b.len, r, 3, &blk, &len, hash), LEDGER_ERR_BATCH_SEQ);
    assert_int_equal(ledger_block_assemble(chain_id, 7, prev, 0, b.bytes, b.len, r, 2, &blk, &len, hash), LEDGER_ERR_BATCH_SEQ);
    assert_null(blk);
    free(b.bytes);
    free_bufs(txs, 3);
}

static void test_strerror_covers_every_code(void **state)
{
    (void)state;
    for (int e = LEDGER_OK; e <= LEDGER_ERR_BATCH_DUPLICATE; e++)
        assert_string_not_equal(ledger_strerror((ledger_err)e), "unknown ledger error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_notice_decodes_with_its_id),
        cmocka_unit_test(test_transaction_for_another_chain_is_refused),
        cmocka_unit_test(test_signature_by_another_key_is_refused_as_bad_signature),
        cmocka_unit_test(test_wrong_signature_length_is_refused),
        cmocka_unit_test(test_truncated_and_garbage_transactions_are_refused),
        cmocka_unit_test(test_unknown_fields_in_a_transaction_are_refused),
        cmocka_unit_test(test_signed_garbage_body_is_refused_as_malformed),
        cmocka_unit_test(test_transaction_without_payload_is_refused),
        cmocka_unit_test(test_fields_out_of_range_are_refused),
        cmocka_unit_test(test_genesis_parses_validators_authorities_and_chain_id),
        cmocka_unit_test(test_genesis_curve_key_may_contain_a_hash_sign),
        cmocka_unit_test(test_genesis_edit_even_a_comment_changes_the_chain_id),
        cmocka_unit_test(test_genesis_with_bad_entries_is_refused_with_line_and_reason),
        cmocka_unit_test(test_genesis_validator_count_must_be_3f_plus_1),
        cmocka_unit_test(test_genesis_duplicates_and_off_curve_keys_are_refused),
        cmocka_unit_test(test_genesis_load_reads_a_file_and_reports_a_missing_one),
        cmocka_unit_test(test_batch_check_accepts_a_good_proposal),
        cmocka_unit_test(test_batch_check_refuses_what_a_faulty_primary_proposes),
        cmocka_unit_test(test_execution_records_state_dependent_result_codes),
        cmocka_unit_test(test_execution_duplicates_and_ids_out),
        cmocka_unit_test(test_execution_hands_election_payloads_to_the_rules),
        cmocka_unit_test(test_signer_may_sign_follows_the_authority_rules),
        cmocka_unit_test(test_block_links_to_parent_and_commits_to_batch_and_results),
        cmocka_unit_test(test_strerror_covers_every_code),
    };
    return cmocka_run_group_tests_name("ledger", tests, setup, teardown);
}
