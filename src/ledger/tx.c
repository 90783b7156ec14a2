/* Transaction decoding and stateless validation: everything about a
 * transaction that can be decided without the chain's state. What depends
 * on state (is the voter registered, is the election open) is decided by
 * deterministic execution and recorded as a result code. */
#include <stdlib.h>
#include <string.h>

#include "ledger.h"

const char *ledger_strerror(ledger_err err)
{
    switch (err) {
    case LEDGER_OK: return "success";
    case LEDGER_ERR_ENVELOPE: return "the transaction envelope is invalid";
    case LEDGER_ERR_BODY_MALFORMED: return "the transaction body is truncated or not an evote transaction";
    case LEDGER_ERR_CHAIN_ID_LENGTH: return "the transaction's chain id is not 32 bytes";
    case LEDGER_ERR_WRONG_CHAIN: return "the transaction was signed for another chain (its chain id differs from this chain's genesis)";
    case LEDGER_ERR_NO_PAYLOAD: return "the transaction carries no payload";
    case LEDGER_ERR_FIELD_RANGE: return "a field of the transaction is empty, too long or out of range";
    case LEDGER_ERR_NOMEM: return "out of memory";
    case LEDGER_ERR_GENESIS_READ: return "cannot read the genesis file: check the path in the configuration";
    case LEDGER_ERR_GENESIS_SYNTAX: return "the genesis file is not valid: fix the line named, and make sure every validator holds the same file";
    case LEDGER_ERR_GENESIS_VALIDATORS: return "the genesis file's validator set is not usable: PBFT needs n = 3f+1 distinct validators";
    case LEDGER_ERR_BUSY: return "the node is busy (its mempool is full): retry in a moment";
    case LEDGER_ERR_THREAD: return "cannot start the verification threads: check the process limits (ulimit -u)";
    case LEDGER_ERR_BATCH_MALFORMED: return "the proposed batch is not a valid evote batch";
    case LEDGER_ERR_BATCH_SEQ: return "the proposed batch is for another sequence number or chain";
    case LEDGER_ERR_BATCH_TIME: return "the proposed batch's timestamp is too far from this node's clock (check NTP on every validator)";
    case LEDGER_ERR_BATCH_SIZE: return "the proposed batch has more transactions than the genesis allows";
    case LEDGER_ERR_BATCH_TX: return "the proposed batch contains an invalid transaction";
    case LEDGER_ERR_BATCH_DUPLICATE: return "the proposed batch contains the same transaction twice";
    }
    return "unknown ledger error";
}

Evote__V1__TxResult ledger_result_for(ledger_err err, crypto_err detail)
{
    switch (err) {
    case LEDGER_OK: return EVOTE__V1__TX_RESULT__TX_RESULT_OK;
    case LEDGER_ERR_ENVELOPE:
        return (detail == CRYPTO_ERR_BAD_SIGNATURE || detail == CRYPTO_ERR_BAD_PUBKEY)
                   ? EVOTE__V1__TX_RESULT__TX_RESULT_BAD_SIGNATURE
                   : EVOTE__V1__TX_RESULT__TX_RESULT_MALFORMED;
    case LEDGER_ERR_WRONG_CHAIN:
    case LEDGER_ERR_CHAIN_ID_LENGTH: return EVOTE__V1__TX_RESULT__TX_RESULT_WRONG_CHAIN;
    default: return EVOTE__V1__TX_RESULT__TX_RESULT_MALFORMED;
    }
}

static int len_in(size_t len, size_t lo, size_t hi)
{
    return len >= lo && len <= hi;
}

static int keys_ok(ProtobufCBinaryData *keys, size_t n, size_t max)
{
    if (n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (keys[i].len != CRYPTO_PUBKEY_LEN)
            return 0;
    return 1;
}

static int election_create_ok(const Evote__V1__ElectionCreate *e)
{
    if (!len_in(e->election_id.len, 1, LEDGER_MAX_ID) || strlen(e->title) > LEDGER_MAX_TITLE)
        return 0;
    if (!len_in(e->n_questions, 1, LEDGER_MAX_QUESTIONS))
        return 0;
    for (size_t q = 0; q < e->n_questions; q++) {
        const Evote__V1__Question *qu = e->questions[q];
        if (!len_in(qu->n_options, 1, LEDGER_MAX_OPTIONS))
            return 0;
        if (qu->max_selections == 0 || qu->min_selections > qu->max_selections ||
            qu->max_selections > qu->n_options)
            return 0;
    }
    if (!keys_ok(e->trustees, e->n_trustees, 1000) || e->n_trustees == 0)
        return 0;
    return e->threshold >= 1 && e->threshold <= e->n_trustees;
}

static int ciphertexts_ok(Evote__V1__Ciphertext **c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c[i]->r.len != LEDGER_POINT_LEN || c[i]->c.len != LEDGER_POINT_LEN)
            return 0;
    return 1;
}

/* Stateless range checks per payload. Election payloads get their full
 * cryptographic checks in src/election; here only sizes. */
static int payload_ok(const Evote__V1__TxBody *b)
{
    switch (b->payload_case) {
    case EVOTE__V1__TX_BODY__PAYLOAD_NOTICE:
        return strlen(b->notice->topic) <= LEDGER_MAX_TOPIC &&
               b->notice->text.len <= LEDGER_MAX_TEXT;
    case EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CREATE:
        return election_create_ok(b->election_create);
    case EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CONTROL:
        return len_in(b->election_control->election_id.len, 1, LEDGER_MAX_ID) &&
               (b->election_control->action == EVOTE__V1__ELECTION_CONTROL__ACTION__ACTION_OPEN ||
                b->election_control->action == EVOTE__V1__ELECTION_CONTROL__ACTION__ACTION_CLOSE);
    case EVOTE__V1__TX_BODY__PAYLOAD_VOTER_REGISTRATION:
        return len_in(b->voter_registration->election_id.len, 1, LEDGER_MAX_ID) &&
               b->voter_registration->n_voter_keys > 0 &&
               keys_ok(b->voter_registration->voter_keys, b->voter_registration->n_voter_keys,
                       LEDGER_MAX_REGISTRATIONS);
    case EVOTE__V1__TX_BODY__PAYLOAD_BALLOT:
        return len_in(b->ballot->election_id.len, 1, LEDGER_MAX_ID) &&
               len_in(b->ballot->n_selections, 1, LEDGER_MAX_QUESTIONS * LEDGER_MAX_OPTIONS) &&
               ciphertexts_ok(b->ballot->selections, b->ballot->n_selections);
    case EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING:
        return len_in(b->trustee_dealing->election_id.len, 1, LEDGER_MAX_ID);
    case EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_COMPLAINT:
        return len_in(b->trustee_complaint->election_id.len, 1, LEDGER_MAX_ID) &&
               b->trustee_complaint->accused.len == CRYPTO_PUBKEY_LEN;
    case EVOTE__V1__TX_BODY__PAYLOAD_PARTIAL_DECRYPTION:
        return len_in(b->partial_decryption->election_id.len, 1, LEDGER_MAX_ID);
    default:
        return 0;
    }
}

static ledger_err tx_decode(const uint8_t *bytes, size_t len, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                            int verify, ledger_tx **out, crypto_err *detail)
{
    Evote__V1__Envelope *env = NULL;
    Evote__V1__TxBody *body;
    ledger_tx *tx;
    crypto_err cerr;
    ledger_err err;

    *out = NULL;
    if (detail)
        *detail = CRYPTO_OK;
    cerr = verify ? envelope_open(bytes, len, EVOTE__V1__KIND__KIND_TX, &env)
                  : envelope_parse(bytes, len, EVOTE__V1__KIND__KIND_TX, &env);
    if (cerr != CRYPTO_OK) {
        if (detail)
            *detail = cerr;
        return LEDGER_ERR_ENVELOPE;
    }
    body = evote__v1__tx_body__unpack(NULL, env->body.len, env->body.data);
    if (body == NULL) {
        err = LEDGER_ERR_BODY_MALFORMED;
    } else if (body->chain_id.len != CRYPTO_CHAIN_ID_LEN) {
        err = LEDGER_ERR_CHAIN_ID_LENGTH;
    } else if (memcmp(body->chain_id.data, chain_id, CRYPTO_CHAIN_ID_LEN) != 0) {
        err = LEDGER_ERR_WRONG_CHAIN;
    } else if (body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD__NOT_SET) {
        err = LEDGER_ERR_NO_PAYLOAD;
    } else if (!payload_ok(body)) {
        err = LEDGER_ERR_FIELD_RANGE;
    } else {
        err = LEDGER_OK;
    }
    if (err == LEDGER_OK) {
        tx = calloc(1, sizeof *tx);
        if (tx == NULL) {
            err = LEDGER_ERR_NOMEM;
        } else {
            tx->envelope = env;
            tx->body = body;
            envelope_txid(bytes, len, tx->id);
            *out = tx;
            return LEDGER_OK;
        }
    }
    if (body)
        evote__v1__tx_body__free_unpacked(body, NULL);
    evote__v1__envelope__free_unpacked(env, NULL);
    return err;
}

ledger_err ledger_tx_decode(const uint8_t *bytes, size_t len,
                            const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], ledger_tx **out,
                            crypto_err *detail)
{
    return tx_decode(bytes, len, chain_id, 1, out, detail);
}

ledger_err ledger_tx_decode_committed(const uint8_t *bytes, size_t len,
                                      const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], ledger_tx **out,
                                      crypto_err *detail)
{
    return tx_decode(bytes, len, chain_id, 0, out, detail);
}

void ledger_tx_destroy(ledger_tx **tx)
{
    if (tx == NULL || *tx == NULL)
        return;
    evote__v1__tx_body__free_unpacked((*tx)->body, NULL);
    evote__v1__envelope__free_unpacked((*tx)->envelope, NULL);
    free(*tx);
    *tx = NULL;
}

crypto_err ledger_tx_seal(const Evote__V1__TxBody *body, const signing_key *key, uint8_t **out,
                          size_t *out_len)
{
    size_t len = evote__v1__tx_body__get_packed_size(body);
    uint8_t *buf;
    crypto_err err;

    *out = NULL;
    *out_len = 0;
    if (len > CRYPTO_MAX_ENVELOPE)
        return CRYPTO_ERR_TOO_LARGE;
    buf = malloc(len ? len : 1);
    if (buf == NULL)
        return CRYPTO_ERR_NOMEM;
    evote__v1__tx_body__pack(body, buf);
    err = envelope_seal(EVOTE__V1__KIND__KIND_TX, buf, len, key, out, out_len);
    free(buf);
    return err;
}
