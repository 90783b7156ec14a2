/* Transaction decoding and stateless validation: everything about a
 * transaction that can be decided without the chain's state. What depends
 * on state (is the voter registered, is the election open) is decided by
 * deterministic execution and recorded as a result code. */
#include <stdlib.h>
#include <string.h>

#include "ballot_crypto.h"
#include "ledger.h"
#include "wire_check.h"

const char *ledger_strerror(ledger_err err)
{
    switch (err) {
    case LEDGER_OK: return "success";
    case LEDGER_ERR_ENVELOPE: return "the transaction envelope is invalid";
    case LEDGER_ERR_BODY_MALFORMED:
        return "the transaction body is truncated, not an evote transaction, or has fields this version does not "
               "know (made by a newer evote? upgrade the validators first)";
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
    case LEDGER_ERR_NOT_AUTHORIZED:
        return "the signer may not sign this kind of transaction: notices, election definitions, opening and "
               "closing, and voter registrations are signed by an election authority of the genesis, attestations "
               "by a validator; it was not accepted";
    case LEDGER_ERR_RULES:
        return "the election rules refuse it";
    case LEDGER_ERR_STATE:
        return "the election state in the chain store cannot be read or is damaged: the block was not stored; check the disk and the log, restore from a snapshot if it persists";
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
    case LEDGER_ERR_NOT_AUTHORIZED: return EVOTE__V1__TX_RESULT__TX_RESULT_NOT_AUTHORIZED;
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

/* Election payloads: sizes and ranges only. What needs the election's state
 * (is the signer a trustee, does the ballot fit the questions) and every
 * cryptographic check is src/election's, at execution. */
#define ELECTION_TX_MAX_SLOTS BC_MAX_OPTIONS  /* options over all questions */
#define ELECTION_TX_MAX_BALLOT (32 * 1024)    /* > the largest 64-option ballot */

static int election_create_ok(const Evote__V1__ElectionCreate *e)
{
    size_t slots = 0;

    if (!len_in(e->election_id.len, 1, LEDGER_MAX_ID) || strlen(e->title) > LEDGER_MAX_TITLE)
        return 0;
    if (!len_in(e->n_questions, 1, BC_MAX_QUESTIONS))
        return 0;
    for (size_t q = 0; q < e->n_questions; q++) {
        const Evote__V1__Question *qu = e->questions[q];
        if (!len_in(qu->n_options, 1, BC_MAX_OPTIONS) || strlen(qu->text) > LEDGER_MAX_TITLE)
            return 0;
        for (size_t o = 0; o < qu->n_options; o++)
            if (strlen(qu->options[o]) > LEDGER_MAX_TITLE)
                return 0;
        if (qu->max_selections == 0 || qu->min_selections > qu->max_selections ||
            qu->max_selections > qu->n_options)
            return 0;
        slots += qu->n_options;
    }
    if (slots > ELECTION_TX_MAX_SLOTS)
        return 0;
    if (!keys_ok(e->trustees, e->n_trustees, DKG_MAX_TRUSTEES) || e->n_trustees == 0)
        return 0;
    if (e->close_height != 0 && e->close_height < e->open_height)
        return 0;
    if (e->close_time_ms != 0 && e->close_time_ms < e->open_time_ms)
        return 0;
    return e->threshold <= e->n_trustees; /* 0: the default 2f+1 */
}

static int all_len(const ProtobufCBinaryData *v, size_t n, size_t len, int empty_ok)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].len != len && !(empty_ok && v[i].len == 0))
            return 0;
    return 1;
}

/* Round 1 carries only the encryption key; round 2 only the dealing;
 * round 3 only the dealers checked. */
static int trustee_dealing_ok(const Evote__V1__TrusteeDealing *d)
{
    if (!len_in(d->election_id.len, 1, LEDGER_MAX_ID))
        return 0;
    if (d->n_checked != 0) {
        if (d->n_checked > DKG_MAX_TRUSTEES || d->encryption_key.len != 0 || d->n_commitments != 0 ||
            d->n_encrypted_shares != 0 || d->proof.len != 0 || d->n_share_proofs != 0)
            return 0;
        for (size_t k = 0; k < d->n_checked; k++)
            if (!len_in(d->checked[k], 1, DKG_MAX_TRUSTEES))
                return 0;
        return 1;
    }
    if (d->encryption_key.len != 0)
        return d->encryption_key.len == EC_POINT_LEN && d->n_commitments == 0 &&
               d->n_encrypted_shares == 0 && d->proof.len == 0 && d->n_share_proofs == 0;
    return len_in(d->n_commitments, 1, DKG_MAX_TRUSTEES) &&
           all_len(d->commitments, d->n_commitments, EC_POINT_LEN, 0) &&
           len_in(d->n_encrypted_shares, 1, DKG_MAX_TRUSTEES) &&
           all_len(d->encrypted_shares, d->n_encrypted_shares, DKG_SHARE_LEN, 1) &&
           d->n_share_proofs <= DKG_MAX_TRUSTEES &&
           all_len(d->share_proofs, d->n_share_proofs, DKG_SHARE_PROOF_LEN, 1) &&
           d->proof.len == BC_PROOF_DLEQ_LEN;
}

/* Stateless range checks per payload. */
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
               b->ballot->n_selections == 0 && b->ballot->n_proofs == 0 &&
               len_in(b->ballot->encrypted_ballot.len, 1, ELECTION_TX_MAX_BALLOT);
    case EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING:
        return trustee_dealing_ok(b->trustee_dealing);
    case EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_COMPLAINT:
        return len_in(b->trustee_complaint->election_id.len, 1, LEDGER_MAX_ID) &&
               b->trustee_complaint->accused.len == CRYPTO_PUBKEY_LEN &&
               b->trustee_complaint->evidence.len == DKG_COMPLAINT_LEN;
    case EVOTE__V1__TX_BODY__PAYLOAD_PARTIAL_DECRYPTION:
        return len_in(b->partial_decryption->election_id.len, 1, LEDGER_MAX_ID) &&
               len_in(b->partial_decryption->n_shares, 1, ELECTION_TX_MAX_SLOTS) &&
               all_len(b->partial_decryption->shares, b->partial_decryption->n_shares, BC_PARTIAL_LEN, 0) &&
               b->partial_decryption->n_proofs == 0;
    case EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_ATTESTATION:
        return len_in(b->election_attestation->election_id.len, 1, LEDGER_MAX_ID) &&
               b->election_attestation->election_key.len == EC_POINT_LEN &&
               b->election_attestation->definition_hash.len == CRYPTO_HASH_LEN &&
               b->election_attestation->signature.len == CRYPTO_SIG_LEN &&
               (b->election_attestation->result_hash.len == 0 ||
                b->election_attestation->result_hash.len == CRYPTO_HASH_LEN);
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
    /* Judged before it is admitted: not one field this version does not
     * know (unpacking keeps each, at an allocation apiece; a newer client's
     * field would be ignored here and the transaction mean something else
     * to a newer validator). Committed blocks are taken as they are. */
    body = verify && pb_wire_unknown(&evote__v1__tx_body__descriptor, env->body.data, env->body.len, 0) != 0
               ? NULL
               : evote__v1__tx_body__unpack(NULL, env->body.len, env->body.data);
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
