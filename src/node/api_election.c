/* The election calls of the client API: GetElection, GetResult, Track,
 * GetState. Each reads the chain store (its own LMDB read transaction per
 * read, never blocking the writer) through the election rules' read
 * helpers, so the client sees exactly what execution recorded. */
#include <stdlib.h>
#include <string.h>

#include "api_election.h"
#include "ballot_crypto.h"
#include "election.h"

#define MAX_STATE_KEY 256

/* What one answer points to, freed after the response is packed. */
typedef struct {
    Evote__V1__ElectionRecord *rec;
    Evote__V1__ElectionResult *res;
    Evote__V1__TrackingRecord *track;
    Evote__V1__ElectionTally tally;
    Evote__V1__TxStatus tx;
    uint8_t code[CRYPTO_HASH_LEN];
    ProtobufCBinaryData cts[ELECTION_MAX_SLOTS];
    uint8_t ct_bytes[ELECTION_MAX_SLOTS][ELGAMAL_CT_LEN];
    uint8_t *cert;
    uint8_t *value;
    uint8_t *att_value;            /* 'A' or 'Q' || E: the attestations' entries */
    uint8_t *statement;            /* Track: the packed TrackStatement */
    uint8_t signature[CRYPTO_SIG_LEN];
    Evote__V1__KeyAttestation *atts;
    Evote__V1__KeyAttestation **att_ptrs;
} api_scratch;

/* election_state_reader over the chain store. */
static int api_state_get(void *ctx, const uint8_t *key, size_t key_len, uint8_t **value, size_t *len)
{
    store_err err = chain_store_get_state(ctx, key, key_len, value, len);
    if (err == STORE_OK)
        return 1;
    *value = NULL;
    *len = 0;
    return err == STORE_ERR_NOT_FOUND ? 0 : -1;
}

static void api_status(Evote__V1__ApiResponse *resp, Evote__V1__ApiStatus st, const char *reason)
{
    resp->status = st;
    resp->reason = (char *)reason;
}

/* For a read helper's failure. Returns: 1 (the call is answered). */
static int api_answer_err(Evote__V1__ApiResponse *resp, election_err err, const char *not_found)
{
    switch (err) {
    case ELECTION_ERR_NOT_FOUND: api_status(resp, EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND, not_found); break;
    case ELECTION_ERR_NOMEM:
        api_status(resp, EVOTE__V1__API_STATUS__API_STATUS_INTERNAL, "the node is out of memory: try again later");
        break;
    case ELECTION_ERR_CORRUPT:
        api_status(resp, EVOTE__V1__API_STATUS__API_STATUS_INTERNAL,
                   "a stored election value does not parse: this node's data directory is damaged; ask another "
                   "node");
        break;
    default:
        api_status(resp, EVOTE__V1__API_STATUS__API_STATUS_INTERNAL,
                   "the node cannot read its state database (its log says why): try again or ask another node");
        break;
    }
    return 1;
}

static int api_id_ok(const ProtobufCBinaryData *id, Evote__V1__ApiResponse *resp)
{
    if (id->len >= 1 && id->len <= ELECTION_MAX_ID)
        return 1;
    api_status(resp, EVOTE__V1__API_STATUS__API_STATUS_BAD_REQUEST, "an election id is 1 to 64 bytes");
    return 0;
}

/* The validators' signatures on the key (result 0) or the result (1), for
 * the client to count. Returns: 1, or 0 after answering an error. */
static int api_attestations(const election_state_reader *rd, const uint8_t *chain_id, const ProtobufCBinaryData *id,
                            int result, Evote__V1__ApiResponse *resp, api_scratch *s)
{
    size_t len = 0, n;
    election_err err = election_get_attestations(rd, chain_id, id->data, id->len, result, &s->att_value, &len);

    if (err != ELECTION_OK) {
        api_answer_err(resp, err, "");
        return 0;
    }
    n = len / ELECTION_ATTEST_ENTRY_LEN;
    if (n == 0)
        return 1;
    s->atts = calloc(n, sizeof *s->atts);
    s->att_ptrs = calloc(n, sizeof *s->att_ptrs);
    if (s->atts == NULL || s->att_ptrs == NULL) {
        api_answer_err(resp, ELECTION_ERR_NOMEM, "");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = s->att_value + i * ELECTION_ATTEST_ENTRY_LEN;
        evote__v1__key_attestation__init(&s->atts[i]);
        s->atts[i].validator = election_attestation_validator(p);
        s->atts[i].signature.data = (uint8_t *)p + 4;
        s->atts[i].signature.len = CRYPTO_SIG_LEN;
        s->att_ptrs[i] = &s->atts[i];
    }
    if (result) {
        resp->result_attestations = s->att_ptrs;
        resp->n_result_attestations = n;
    } else {
        resp->key_attestations = s->att_ptrs;
        resp->n_key_attestations = n;
    }
    return 1;
}

static int api_get_election(const election_state_reader *rd, const uint8_t *chain_id, const Evote__V1__GetElection *q,
                        Evote__V1__ApiResponse *resp, api_scratch *s)
{
    elgamal_ct cts[ELECTION_MAX_SLOTS];
    uint64_t counted = 0, accepted = 0;
    size_t slots = 0;
    election_err err;

    if (!api_id_ok(&q->election_id, resp))
        return 1;
    err = election_get(rd, chain_id, q->election_id.data, q->election_id.len, &s->rec);
    if (err != ELECTION_OK)
        return api_answer_err(resp, err, "no election with this id on the chain (yet)");
    err = election_get_tally(rd, chain_id, q->election_id.data, q->election_id.len, &counted, &accepted, cts,
                             ELECTION_MAX_SLOTS, &slots);
    if (err == ELECTION_OK) {
        evote__v1__election_tally__init(&s->tally);
        s->tally.ballots_counted = counted;
        s->tally.ballots_accepted = accepted;
        s->tally.slots = (uint32_t)slots;
        for (size_t i = 0; i < slots; i++) {
            elgamal_encode(s->ct_bytes[i], &cts[i]);
            s->cts[i].data = s->ct_bytes[i];
            s->cts[i].len = ELGAMAL_CT_LEN;
        }
        s->tally.ciphertexts = s->cts;
        s->tally.n_ciphertexts = slots;
        resp->election_tally = &s->tally;
    } else if (err != ELECTION_ERR_NOT_FOUND) { /* NOT_FOUND: no key yet, no tally */
        return api_answer_err(resp, err, "");
    }
    if (!api_attestations(rd, chain_id, &q->election_id, 0, resp, s))
        return 1;
    resp->election = s->rec;
    api_status(resp, EVOTE__V1__API_STATUS__API_STATUS_OK, "");
    return 1;
}

static int api_get_result(const election_state_reader *rd, const uint8_t *chain_id, const Evote__V1__GetResult *q,
                      Evote__V1__ApiResponse *resp, api_scratch *s)
{
    election_err err;

    if (!api_id_ok(&q->election_id, resp))
        return 1;
    err = election_get_result(rd, chain_id, q->election_id.data, q->election_id.len, &s->res);
    if (err == ELECTION_ERR_NOT_FOUND) {
        /* Say which: no such election, or no result yet. */
        err = election_get(rd, chain_id, q->election_id.data, q->election_id.len, &s->rec);
        if (err == ELECTION_OK)
            return api_answer_err(resp, ELECTION_ERR_NOT_FOUND,
                              "no result yet: it is recorded once the polls are closed and t trustees have "
                              "posted valid partial decryptions");
        return api_answer_err(resp, err, "no election with this id on the chain (yet)");
    }
    if (err != ELECTION_OK)
        return api_answer_err(resp, err, "");
    if (!api_attestations(rd, chain_id, &q->election_id, 1, resp, s))
        return 1;
    resp->result = s->res;
    api_status(resp, EVOTE__V1__API_STATUS__API_STATUS_OK, "");
    return 1;
}

/* Signs what this validator's chain says of an accepted ballot as a
 * TrackStatement at its tip's height. The event loop that answers this is
 * the store's only writer and answers between blocks, so the tip, the
 * tracking record and the election read here are of one height. Out:
 * resp->track_statement and track_signature, or nothing. */
static void sign_statement(chain_store *store, const election_state_reader *rd, const uint8_t chain_id[32],
                           const api_signer *who, Evote__V1__ApiResponse *resp, api_scratch *s)
{
    const Evote__V1__TrackingRecord *tr = s->track;
    Evote__V1__ElectionRecord *rec = NULL;
    Evote__V1__TrackStatement st = EVOTE__V1__TRACK_STATEMENT__INIT;
    uint64_t height, time_ms;
    size_t len;

    if (who == NULL || who->key == NULL || tr == NULL || chain_store_tip(store, &height, NULL, &time_ms) != STORE_OK ||
        election_get(rd, chain_id, tr->election_id.data, tr->election_id.len, &rec) != ELECTION_OK)
        return;
    st.chain_id.data = (uint8_t *)chain_id;
    st.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    st.code.data = s->code;
    st.code.len = CRYPTO_HASH_LEN;
    st.validator = who->validator;
    st.height = height;
    st.status = tr->status;
    st.replaced_by = tr->replaced_by;
    st.polls_closed = election_polls_closed_after(rec, height, time_ms) ? 1 : 0;
    evote__v1__election_record__free_unpacked(rec, NULL);
    len = evote__v1__track_statement__get_packed_size(&st);
    s->statement = malloc(len ? len : 1);
    if (s->statement == NULL)
        return;
    evote__v1__track_statement__pack(&st, s->statement);
    if (signing_key_sign(who->key, ELECTION_TRACK_STATEMENT_TAG, s->statement, len, s->signature) != CRYPTO_OK)
        return;
    resp->track_statement.data = s->statement;
    resp->track_statement.len = len;
    resp->track_signature.data = s->signature;
    resp->track_signature.len = CRYPTO_SIG_LEN;
}

static int api_track(chain_store *store, const election_state_reader *rd, const uint8_t chain_id[32],
                     const api_signer *who, const Evote__V1__Track *q, Evote__V1__ApiResponse *resp,
                     api_scratch *s)
{
    uint64_t height = 0;
    uint32_t index = 0;
    Evote__V1__TxResult result = EVOTE__V1__TX_RESULT__TX_RESULT_UNSPECIFIED;
    size_t cert_len = 0;
    election_err err;
    store_err serr;

    if (q->code.len != CRYPTO_HASH_LEN) {
        api_status(resp, EVOTE__V1__API_STATUS__API_STATUS_BAD_REQUEST,
                   "a tracking code is 32 bytes (64 hex digits, as evote vote printed it)");
        return 1;
    }
    memcpy(s->code, q->code.data, CRYPTO_HASH_LEN);
    serr = chain_store_find_tx(store, s->code, &height, &index, &result);
    if (serr == STORE_ERR_NOT_FOUND) {
        api_status(resp, EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND,
                   "no transaction with this tracking code is in the chain: a ballot just cast is in a block "
                   "within seconds; otherwise check the code");
        return 1;
    }
    if (serr != STORE_OK)
        return api_answer_err(resp, ELECTION_ERR_STATE, "");
    evote__v1__tx_status__init(&s->tx);
    s->tx.id.data = s->code;
    s->tx.id.len = CRYPTO_HASH_LEN;
    s->tx.state = EVOTE__V1__TX_STATE__TX_STATE_COMMITTED;
    s->tx.height = height;
    s->tx.index = index;
    s->tx.result = result;
    resp->tx = &s->tx;
    err = election_track(rd, s->code, &s->track);
    if (err == ELECTION_OK) {
        resp->tracking = s->track;
        sign_statement(store, rd, chain_id, who, resp, s);
    } else if (err != ELECTION_ERR_NOT_FOUND) /* NOT_FOUND: the ballot was refused, result says why */
        return api_answer_err(resp, err, "");
    if (chain_store_get_cert(store, height, &s->cert, &cert_len) == STORE_OK) {
        resp->certificate.data = s->cert;
        resp->certificate.len = cert_len;
    }
    api_status(resp, EVOTE__V1__API_STATUS__API_STATUS_OK, "");
    return 1;
}

static int api_get_state(chain_store *store, const Evote__V1__GetState *q, Evote__V1__ApiResponse *resp, api_scratch *s)
{
    size_t len = 0;
    store_err err;

    if (q->key.len == 0 || q->key.len > MAX_STATE_KEY) {
        api_status(resp, EVOTE__V1__API_STATUS__API_STATUS_BAD_REQUEST, "a state key is 1 to 256 bytes");
        return 1;
    }
    err = chain_store_get_state(store, q->key.data, q->key.len, &s->value, &len);
    if (err == STORE_ERR_NOT_FOUND) {
        api_status(resp, EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND, "no such key in the state (yet)");
        return 1;
    }
    if (err != STORE_OK)
        return api_answer_err(resp, ELECTION_ERR_STATE, "");
    resp->state_value.data = s->value;
    resp->state_value.len = len;
    api_status(resp, EVOTE__V1__API_STATUS__API_STATUS_OK, "");
    return 1;
}

int api_election_handle(chain_store *store, const uint8_t chain_id[32], const api_signer *who,
                        const Evote__V1__ApiRequest *req, Evote__V1__ApiResponse *resp, void **scratch)
{
    election_state_reader rd = {api_state_get, store};
    api_scratch *s;

    switch (req->call_case) {
    case EVOTE__V1__API_REQUEST__CALL_GET_ELECTION:
    case EVOTE__V1__API_REQUEST__CALL_GET_RESULT:
    case EVOTE__V1__API_REQUEST__CALL_TRACK:
    case EVOTE__V1__API_REQUEST__CALL_GET_STATE: break;
    default: return 0;
    }
    resp->request_id = req->request_id;
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        api_status(resp, EVOTE__V1__API_STATUS__API_STATUS_INTERNAL, "the node is out of memory: try again later");
        return 1;
    }
    *scratch = s;
    switch (req->call_case) {
    case EVOTE__V1__API_REQUEST__CALL_GET_ELECTION: return api_get_election(&rd, chain_id, req->get_election, resp, s);
    case EVOTE__V1__API_REQUEST__CALL_GET_RESULT: return api_get_result(&rd, chain_id, req->get_result, resp, s);
    case EVOTE__V1__API_REQUEST__CALL_TRACK: return api_track(store, &rd, chain_id, who, req->track, resp, s);
    default: return api_get_state(store, req->get_state, resp, s);
    }
}

void api_election_scratch_free(void **scratch)
{
    api_scratch *s;
    if (scratch == NULL || *scratch == NULL)
        return;
    s = *scratch;
    if (s->rec != NULL)
        evote__v1__election_record__free_unpacked(s->rec, NULL);
    if (s->res != NULL)
        evote__v1__election_result__free_unpacked(s->res, NULL);
    if (s->track != NULL)
        evote__v1__tracking_record__free_unpacked(s->track, NULL);
    free(s->cert);
    free(s->value);
    free(s->att_value);
    free(s->statement);
    free(s->atts);
    free(s->att_ptrs);
    free(s);
    *scratch = NULL;
}
