/* Unit tests of src/ledger: the transaction boundary. A transaction from the
 * network either becomes a validated ledger_tx or is refused with the
 * specific reason (and the result code a block would record). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ledger.h"

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

static void test_strerror_covers_every_code(void **state)
{
    (void)state;
    for (int e = LEDGER_OK; e <= LEDGER_ERR_NOMEM; e++)
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
        cmocka_unit_test(test_signed_garbage_body_is_refused_as_malformed),
        cmocka_unit_test(test_transaction_without_payload_is_refused),
        cmocka_unit_test(test_fields_out_of_range_are_refused),
        cmocka_unit_test(test_strerror_covers_every_code),
    };
    return cmocka_run_group_tests_name("ledger", tests, setup, teardown);
}
