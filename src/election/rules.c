/* The election rules: dispatch of election_apply, the definition, polls
 * control, voter roll and ballots, plus the state helpers the other rule
 * files share. The key ceremony is in ceremony.c, the tally in tally.c. */
#include <stdlib.h>
#include <string.h>

#include "election_internal.h"

#define R(x) EVOTE__V1__TX_RESULT__TX_RESULT_##x

const char *election_strerror(election_err err)
{
    switch (err) {
    case ELECTION_OK: return "success";
    case ELECTION_ERR_NOMEM: return "out of memory";
    case ELECTION_ERR_STATE: return "reading the election state failed: the block was not executed (retry)";
    case ELECTION_ERR_CORRUPT: return "a stored election value does not parse: the state database is damaged (restore from a snapshot or resync)";
    case ELECTION_ERR_ARGUMENT: return "not an election transaction, or a missing argument";
    case ELECTION_ERR_NOT_FOUND: return "no such election, result or tracking code";
    case ELECTION_ERR_CRYPTO: return "cannot build the election's verifier (its key or questions are unusable)";
    }
    return "unknown election error";
}

const char *election_result_text(Evote__V1__TxResult result)
{
    switch (result) {
    case R(OK): return "accepted";
    case R(MALFORMED): return "the transaction is malformed or a field is out of range";
    case R(BAD_SIGNATURE): return "the signature is invalid";
    case R(WRONG_CHAIN): return "the transaction was made for another chain";
    case R(NOT_AUTHORIZED): return "the signer is not an election authority of this chain";
    case R(DUPLICATE): return "this transaction is already in the chain";
    case R(UNKNOWN_ELECTION): return "no election with this id exists";
    case R(ELECTION_EXISTS): return "an election with this id already exists";
    case R(NOT_OPEN): return "the polls are not open (not yet opened, or closed)";
    case R(NOT_REGISTERED): return "the signing key is not on this election's voter roll";
    case R(ALREADY_VOTED): return "this voter has already voted and the election does not allow revoting";
    case R(BAD_PROOF): return "a zero-knowledge proof does not verify (wrong election, wrong voter, or too many selections)";
    case R(WRONG_PHASE): return "the election is not in the phase this step belongs to";
    case R(NO_ELECTION_KEY): return "the trustees' key ceremony has not produced the election key yet";
    case R(ALREADY_SUBMITTED): return "this trustee already posted this step";
    case R(COMPLAINT_REFUTED): return "the complaint is refuted: the share complained about is correct";
    case R(BALLOT_SHAPE): return "the ballot or shares do not fit the election's questions (wrong number of ciphertexts)";
    case R(BAD_POINT): return "a point is not on the curve (or is the point at infinity)";
    case R(NOT_TRUSTEE): return "the signer (or the accused) is not a trustee of this election";
    case R(CEREMONY_FAILED): return "fewer than the threshold of trustees dealt correctly: the election key cannot be made";
    case R(BAD_DEFINITION): return "the election definition is unusable (trustee keys, threshold, window or options)";
    case R(ATTESTATION_MISMATCH): return "the attestation names another election key or definition than the chain's";
    case R(NOT_CREATOR): return "only the authority that created the election may close its polls before the closing height or time";
    case R(ROLL_CLOSED): return "the election's voter roll is frozen: the polls have opened, or its registration deadline has passed";
    default: return "unknown result";
    }
}

void election_hash(const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], const uint8_t *election_id, size_t len,
                   uint8_t out[ELECTION_HASH_LEN])
{
    uint8_t buf[CRYPTO_CHAIN_ID_LEN + ELECTION_MAX_ID];
    if (len > ELECTION_MAX_ID)
        len = ELECTION_MAX_ID; /* never the case past ledger_tx_decode */
    memcpy(buf, chain_id, CRYPTO_CHAIN_ID_LEN);
    if (len)
        memcpy(buf + CRYPTO_CHAIN_ID_LEN, election_id, len);
    crypto_tagged_hash(ELECTION_TAG, buf, CRYPTO_CHAIN_ID_LEN + len, out);
}

int election_is_election_payload(const Evote__V1__TxBody *body)
{
    switch (body->payload_case) {
    case EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CREATE:
    case EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CONTROL:
    case EVOTE__V1__TX_BODY__PAYLOAD_VOTER_REGISTRATION:
    case EVOTE__V1__TX_BODY__PAYLOAD_BALLOT:
    case EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING:
    case EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_COMPLAINT:
    case EVOTE__V1__TX_BODY__PAYLOAD_PARTIAL_DECRYPTION:
    case EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_ATTESTATION:
        return 1;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------ state helpers */

void key_e(uint8_t out[KEY_E_LEN], char prefix, const uint8_t e[ELECTION_HASH_LEN])
{
    out[0] = (uint8_t)prefix;
    memcpy(out + 1, e, ELECTION_HASH_LEN);
}

void key_ei(uint8_t out[KEY_EI_LEN], char prefix, const uint8_t e[ELECTION_HASH_LEN], uint32_t i)
{
    key_e(out, prefix, e);
    out[KEY_E_LEN] = (uint8_t)(i >> 24);
    out[KEY_E_LEN + 1] = (uint8_t)(i >> 16);
    out[KEY_E_LEN + 2] = (uint8_t)(i >> 8);
    out[KEY_E_LEN + 3] = (uint8_t)i;
}

void key_ev(uint8_t out[KEY_EV_LEN], char prefix, const uint8_t e[ELECTION_HASH_LEN], const uint8_t v[32])
{
    key_e(out, prefix, e);
    memcpy(out + KEY_E_LEN, v, CRYPTO_PUBKEY_LEN);
}

void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

election_err get_err(int r)
{
    return r == -2 ? ELECTION_ERR_NOMEM : ELECTION_ERR_STATE;
}

/* Everything the rules rely on in a stored record, so that a damaged state
 * database is reported (ELECTION_ERR_CORRUPT), never read out of bounds. */
static int record_ok(const Evote__V1__ElectionRecord *r, const uint8_t e[ELECTION_HASH_LEN])
{
    const Evote__V1__ElectionCreate *d = r->definition;
    size_t slots = 0;

    if (d == NULL || r->election_hash.len != ELECTION_HASH_LEN || memcmp(r->election_hash.data, e, ELECTION_HASH_LEN) != 0 ||
        d->n_trustees == 0 || d->n_trustees > DKG_MAX_TRUSTEES || d->threshold == 0 || d->threshold > d->n_trustees ||
        d->n_questions == 0 || d->n_questions > BC_MAX_QUESTIONS)
        return 0;
    for (size_t q = 0; q < d->n_questions; q++) {
        if (d->questions[q]->n_options == 0 || d->questions[q]->n_options > BC_MAX_OPTIONS)
            return 0;
        slots += d->questions[q]->n_options;
    }
    if (slots > ELECTION_MAX_SLOTS)
        return 0;
    for (size_t j = 0; j < d->n_trustees; j++)
        if (d->trustees[j].len != CRYPTO_PUBKEY_LEN)
            return 0;
    if (r->election_key.len == 0)
        return 1;
    if (r->election_key.len != EC_POINT_LEN || r->n_verification_keys != d->n_trustees)
        return 0;
    for (size_t j = 0; j < r->n_verification_keys; j++)
        if (r->verification_keys[j].len != EC_POINT_LEN)
            return 0;
    return 1;
}

election_err load_record(const state_view *sv, const uint8_t e[ELECTION_HASH_LEN], Evote__V1__ElectionRecord **out)
{
    uint8_t key[KEY_E_LEN], *v;
    size_t len;
    int r;

    *out = NULL;
    key_e(key, ELECTION_KEY_ELECTION, e);
    r = state_get(sv, key, sizeof key, &v, &len);
    if (r == 0)
        return ELECTION_OK;
    if (r < 0)
        return get_err(r);
    *out = evote__v1__election_record__unpack(NULL, len, v);
    free(v);
    if (*out == NULL || !record_ok(*out, e)) {
        if (*out)
            evote__v1__election_record__free_unpacked(*out, NULL);
        *out = NULL;
        return ELECTION_ERR_CORRUPT;
    }
    return ELECTION_OK;
}

election_err store_record(const state_view *sv, const Evote__V1__ElectionRecord *rec)
{
    uint8_t key[KEY_E_LEN];
    size_t len = evote__v1__election_record__get_packed_size(rec);
    uint8_t *buf = malloc(len ? len : 1);
    int ok;

    if (buf == NULL)
        return ELECTION_ERR_NOMEM;
    evote__v1__election_record__pack(rec, buf);
    key_e(key, ELECTION_KEY_ELECTION, rec->election_hash.data);
    ok = changes_set(sv->tx, key, sizeof key, buf, len, 0);
    free(buf);
    return ok ? ELECTION_OK : ELECTION_ERR_NOMEM;
}

size_t record_slots(const Evote__V1__ElectionRecord *rec)
{
    size_t n = 0;
    for (size_t q = 0; q < rec->definition->n_questions; q++)
        n += rec->definition->questions[q]->n_options;
    return n;
}

uint32_t record_trustee(const Evote__V1__ElectionRecord *rec, const uint8_t *pubkey)
{
    const Evote__V1__ElectionCreate *d = rec->definition;
    for (size_t j = 0; j < d->n_trustees; j++)
        if (d->trustees[j].len == CRYPTO_PUBKEY_LEN && memcmp(d->trustees[j].data, pubkey, CRYPTO_PUBKEY_LEN) == 0)
            return (uint32_t)j + 1;
    return 0;
}

int record_closed(const Evote__V1__ElectionRecord *rec, const election_ctx *ctx)
{
    const Evote__V1__ElectionCreate *d = rec->definition;
    return rec->closed || (d->close_height != 0 && ctx->height > d->close_height) ||
           (d->close_time_ms != 0 && ctx->time_ms > d->close_time_ms);
}

int election_polls_closed_after(const Evote__V1__ElectionRecord *rec, uint64_t tip_height, uint64_t tip_time_ms)
{
    /* The next block has height tip_height + 1 and a time >= tip_time_ms:
     * the rule must find it closed even at the lowest such time. */
    election_ctx next = {0};
    if (rec == NULL || rec->definition == NULL)
        return 0;
    next.height = tip_height + 1;
    next.time_ms = tip_time_ms;
    return record_closed(rec, &next);
}

static const ProtobufCBinaryData *payload_election_id(const Evote__V1__TxBody *b);
static int roll_closed(const Evote__V1__ElectionRecord *rec, const election_ctx *ctx);

/* election_admit for a ballot, given its election's record. */
static Evote__V1__TxResult admit_ballot(const state_view *sv, const Evote__V1__ElectionRecord *rec,
                                        const uint8_t signer[CRYPTO_PUBKEY_LEN], const uint8_t id[CRYPTO_HASH_LEN],
                                        uint64_t tip_height, uint64_t tip_time_ms, int current, int *final)
{
    uint8_t vkey[KEY_EV_LEN], *voter = NULL;
    size_t vlen = 0;
    Evote__V1__TxResult res = R(OK);
    int r;

    if (rec->election_key.len == 0)
        return current ? R(NO_ELECTION_KEY) : R(OK);
    /* Closed polls stay closed (block time never goes back). */
    if (election_polls_closed_after(rec, tip_height, tip_time_ms)) {
        *final = 1;
        return R(NOT_OPEN);
    }
    if (current && rec->definition->open_height > tip_height + 1)
        return R(NOT_OPEN);
    key_ev(vkey, ELECTION_KEY_VOTER, rec->election_hash.data, signer);
    r = state_get(sv, vkey, sizeof vkey, &voter, &vlen);
    if (r < 0)
        res = R(UNSPECIFIED);
    else if (r == 0) {
        /* A roll frozen for the next block (its registration deadline
         * passed, or the polls opened) is final: no later block adds to
         * it (block time never goes back). */
        election_ctx next = {0};
        next.height = tip_height + 1;
        next.time_ms = tip_time_ms;
        if (roll_closed(rec, &next)) {
            res = R(NOT_REGISTERED);
            *final = 1;
        } else {
            res = current ? R(NOT_REGISTERED) : R(OK);
        }
    } else if (vlen >= 1 + CRYPTO_HASH_LEN && voter[0] == 1 && !rec->definition->revoting_allowed &&
             memcmp(voter + 1, id, CRYPTO_HASH_LEN) != 0) {
        /* A vote that counts stays: without revoting, no later ballot can.
         * The counted ballot itself, sent again, is not refused: it is in
         * the chain (the caller finds it there). */
        res = R(ALREADY_VOTED);
        *final = 1;
    }
    free(voter);
    return res;
}

int election_admit_asks(const Evote__V1__TxBody *body)
{
    switch (body->payload_case) {
    case EVOTE__V1__TX_BODY__PAYLOAD_BALLOT:
    case EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING:
    case EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_COMPLAINT:
    case EVOTE__V1__TX_BODY__PAYLOAD_PARTIAL_DECRYPTION: return 1;
    default: return 0;
    }
}

Evote__V1__TxResult election_admit(const election_state_reader *rd, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                   const Evote__V1__TxBody *body, const uint8_t signer[CRYPTO_PUBKEY_LEN],
                                   const uint8_t id[CRYPTO_HASH_LEN], uint64_t tip_height, uint64_t tip_time_ms,
                                   int current, int *final)
{
    state_view sv = {rd, NULL, NULL};
    Evote__V1__ElectionRecord *rec = NULL;
    const ProtobufCBinaryData *eid;
    uint8_t e[ELECTION_HASH_LEN];
    Evote__V1__TxResult res;
    int ignored;

    if (final == NULL)
        final = &ignored;
    *final = 0;
    if (rd == NULL || chain_id == NULL || body == NULL || signer == NULL || id == NULL)
        return R(UNSPECIFIED);
    if (!election_admit_asks(body))
        return R(OK); /* signed by an authority or a validator (ledger_signer_may_sign) */
    eid = payload_election_id(body);
    if (eid->len < 1 || eid->len > ELECTION_MAX_ID) {
        *final = 1;
        return R(MALFORMED);
    }
    election_hash(chain_id, eid->data, eid->len, e);
    if (load_record(&sv, e, &rec) != ELECTION_OK)
        return R(UNSPECIFIED);
    /* What a later block could still change is refused only by a state
     * known to be current: an election, its key or a registration may be
     * in a block this validator has not stored yet. */
    if (rec == NULL)
        return current ? R(UNKNOWN_ELECTION) : R(OK);
    if (body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_BALLOT)
        res = admit_ballot(&sv, rec, signer, id, tip_height, tip_time_ms, current, final);
    else if (record_trustee(rec, signer) != 0)
        res = R(OK);
    else { /* the trustees are fixed by the definition */
        res = R(NOT_TRUSTEE);
        *final = 1;
    }
    evote__v1__election_record__free_unpacked(rec, NULL);
    return res;
}

election_err load_tally(const state_view *sv, const uint8_t e[ELECTION_HASH_LEN], size_t slots, tally_state *t)
{
    uint8_t key[KEY_E_LEN], *v;
    size_t len;
    int r;

    key_e(key, ELECTION_KEY_TALLY, e);
    r = state_get(sv, key, sizeof key, &v, &len);
    if (r < 0)
        return get_err(r);
    if (r == 0 || slots > ELECTION_MAX_SLOTS || len != ELECTION_TALLY_HEADER + slots * ELGAMAL_CT_STATE_LEN) {
        free(v);
        return ELECTION_ERR_CORRUPT;
    }
    t->counted = get_u64(v);
    t->accepted = get_u64(v + 8);
    t->slots = slots;
    for (size_t s = 0; s < slots; s++)
        if (elgamal_parse_state(&t->cts[s], v + ELECTION_TALLY_HEADER + s * ELGAMAL_CT_STATE_LEN, 1) != BC_OK) {
            free(v);
            return ELECTION_ERR_CORRUPT;
        }
    free(v);
    return ELECTION_OK;
}

election_err store_tally(const state_view *sv, const uint8_t e[ELECTION_HASH_LEN], const tally_state *t)
{
    uint8_t key[KEY_E_LEN];
    uint8_t buf[ELECTION_TALLY_HEADER + ELECTION_MAX_SLOTS * ELGAMAL_CT_STATE_LEN];
    size_t len = ELECTION_TALLY_HEADER + t->slots * ELGAMAL_CT_STATE_LEN;

    put_u64(buf, t->counted);
    put_u64(buf + 8, t->accepted);
    for (size_t s = 0; s < t->slots; s++)
        elgamal_encode_state(buf + ELECTION_TALLY_HEADER + s * ELGAMAL_CT_STATE_LEN, &t->cts[s]);
    key_e(key, ELECTION_KEY_TALLY, e);
    return changes_set(sv->tx, key, sizeof key, buf, len, 0) ? ELECTION_OK : ELECTION_ERR_NOMEM;
}

Evote__V1__TxResult ballot_result_for(bc_err err)
{
    switch (err) {
    case BC_OK: return R(OK);
    case BC_ERR_LENGTH: return R(BALLOT_SHAPE);
    case BC_ERR_POINT_INVALID:
    case BC_ERR_POINT_INFINITY: return R(BAD_POINT);
    default: return R(BAD_PROOF);
    }
}

/* ------------------------------------------------------------ ElectionCreate */

static int definition_ok(const Evote__V1__ElectionCreate *d, uint32_t *t_out)
{
    size_t slots = 0, n = d->n_trustees;

    if (d->election_id.len < 1 || d->election_id.len > ELECTION_MAX_ID || d->n_questions == 0 ||
        d->n_questions > BC_MAX_QUESTIONS)
        return 0;
    for (size_t q = 0; q < d->n_questions; q++) {
        const Evote__V1__Question *qu = d->questions[q];
        if (qu->n_options == 0 || qu->n_options > BC_MAX_OPTIONS || qu->max_selections == 0 ||
            qu->min_selections > qu->max_selections || qu->max_selections > qu->n_options)
            return 0;
        slots += qu->n_options;
    }
    if (slots > ELECTION_MAX_SLOTS || n == 0 || n > DKG_MAX_TRUSTEES)
        return 0;
    for (size_t j = 0; j < n; j++) {
        if (d->trustees[j].len != CRYPTO_PUBKEY_LEN || !crypto_pubkey_valid(d->trustees[j].data))
            return 0;
        for (size_t k = 0; k < j; k++)
            if (memcmp(d->trustees[j].data, d->trustees[k].data, CRYPTO_PUBKEY_LEN) == 0)
                return 0;
    }
    if ((d->close_height != 0 && d->close_height < d->open_height) ||
        (d->close_time_ms != 0 && d->close_time_ms < d->open_time_ms))
        return 0;
    if (d->ceremony_version > ELECTION_CEREMONY_VERSION)
        return 0; /* rules this validator does not know */
    /* Version 1: the window for complaints past the ceremony's end. */
    if (d->ceremony_version == 0 ? d->complaint_end_height != 0
                                 : (d->complaint_end_height != 0) != (d->ceremony_end_height != 0) ||
                                       (d->complaint_end_height != 0 && d->complaint_end_height <= d->ceremony_end_height))
        return 0;
    /* Default: 2f+1 of n = 3f+1, i.e. n - floor((n-1)/3) for any n. */
    *t_out = d->threshold ? d->threshold : (uint32_t)(n - (n - 1) / 3);
    return *t_out >= 1 && *t_out <= n;
}

static election_err rule_create(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                                Evote__V1__TxResult *res)
{
    const Evote__V1__ElectionCreate *d = tx->body->election_create;
    Evote__V1__ElectionRecord rec = EVOTE__V1__ELECTION_RECORD__INIT, *old;
    Evote__V1__ElectionCreate def;
    uint8_t e[ELECTION_HASH_LEN];
    uint32_t t;
    election_err err;

    if (!ctx->is_authority || !ctx->is_authority(ctx->authority_arg, tx->signer)) {
        *res = R(NOT_AUTHORIZED);
        return ELECTION_OK;
    }
    election_hash(ctx->chain_id, d->election_id.data, d->election_id.len, e);
    err = load_record(sv, e, &old);
    if (err != ELECTION_OK)
        return err;
    if (old != NULL) {
        evote__v1__election_record__free_unpacked(old, NULL);
        *res = R(ELECTION_EXISTS);
        return ELECTION_OK;
    }
    if (!definition_ok(d, &t)) {
        *res = R(BAD_DEFINITION);
        return ELECTION_OK;
    }
    def = *d; /* shallow: only the threshold differs */
    def.threshold = t;
    rec.definition = &def;
    rec.election_hash.data = e;
    rec.election_hash.len = sizeof e;
    rec.creator.data = (uint8_t *)tx->signer;
    rec.creator.len = CRYPTO_PUBKEY_LEN;
    rec.created_height = ctx->height;
    err = store_record(sv, &rec);
    *res = R(OK);
    return err;
}

/* ----------------------------------------------------------- ElectionControl */

static election_err rule_control(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                                 Evote__V1__ElectionRecord *rec, Evote__V1__TxResult *res)
{
    if (!ctx->is_authority || !ctx->is_authority(ctx->authority_arg, tx->signer)) {
        *res = R(NOT_AUTHORIZED);
        return ELECTION_OK;
    }
    if (tx->body->election_control->action == EVOTE__V1__ELECTION_CONTROL__ACTION__ACTION_OPEN)
        return rule_open(ctx, tx, sv, rec, res);
    if (tx->body->election_control->action != EVOTE__V1__ELECTION_CONTROL__ACTION__ACTION_CLOSE) {
        *res = R(MALFORMED);
        return ELECTION_OK;
    }
    /* Closing early cuts voters off: one authority of many must not be able
     * to do that to another's election. Opening stays any authority's, so
     * an absent creator cannot keep the polls from opening. */
    if (rec->creator.len != CRYPTO_PUBKEY_LEN || memcmp(rec->creator.data, tx->signer, CRYPTO_PUBKEY_LEN) != 0) {
        *res = R(NOT_CREATOR);
        return ELECTION_OK;
    }
    if (record_closed(rec, ctx)) {
        *res = R(WRONG_PHASE);
        return ELECTION_OK;
    }
    rec->closed = 1;
    rec->closed_height = ctx->height;
    *res = R(OK);
    return store_record(sv, rec);
}

/* --------------------------------------------------------- VoterRegistration */

/* One state key per voter: the roll scales to millions, each lookup O(1)
 * in LMDB. A key already on the roll (or twice in the batch) is skipped:
 * registration is idempotent, so a retried batch does no harm. */
/* Returns: 1 when the roll is frozen for this block: the definition's
 * registration deadline (a height or a block time; a registration AT it
 * still counts) is behind it, or the definition freezes the roll at the
 * opening and the polls are open in it (the key is on chain, from an
 * earlier transaction of this block or before, and the opening height and
 * time are reached). Either only ever goes from 0 to 1 along the chain. */
static int roll_closed(const Evote__V1__ElectionRecord *rec, const election_ctx *ctx)
{
    const Evote__V1__ElectionCreate *d = rec->definition;
    return (d->registration_end_height != 0 && ctx->height > d->registration_end_height) ||
           (d->registration_end_time_ms != 0 && ctx->time_ms > d->registration_end_time_ms) ||
           (d->roll_frozen_at_opening && rec->election_key.len != 0 && ctx->height >= d->open_height &&
            ctx->time_ms >= d->open_time_ms);
}

static election_err rule_register(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                                  Evote__V1__ElectionRecord *rec, Evote__V1__TxResult *res)
{
    const Evote__V1__VoterRegistration *reg = tx->body->voter_registration;
    uint8_t key[KEY_EV_LEN], zero = 0;

    if (!ctx->is_authority || !ctx->is_authority(ctx->authority_arg, tx->signer)) {
        *res = R(NOT_AUTHORIZED);
        return ELECTION_OK;
    }
    if (record_closed(rec, ctx)) {
        *res = R(WRONG_PHASE);
        return ELECTION_OK;
    }
    if (roll_closed(rec, ctx)) {
        *res = R(ROLL_CLOSED);
        return ELECTION_OK;
    }
    for (size_t i = 0; i < reg->n_voter_keys; i++) {
        uint8_t *v;
        size_t len;
        int r;
        if (reg->voter_keys[i].len != CRYPTO_PUBKEY_LEN) {
            *res = R(MALFORMED);
            return ELECTION_OK;
        }
        key_ev(key, ELECTION_KEY_VOTER, rec->election_hash.data, reg->voter_keys[i].data);
        r = state_get(sv, key, sizeof key, &v, &len);
        free(v);
        if (r < 0)
            return get_err(r);
        if (r == 1)
            continue;
        if (!changes_set(sv->tx, key, sizeof key, &zero, 1, 0))
            return ELECTION_ERR_NOMEM;
        rec->voters_registered++;
    }
    *res = R(OK);
    return store_record(sv, rec);
}

/* -------------------------------------------------------------------- Ballot */

/* Out: *v, the verifier of the election (from the cache, or built into *tmp
 * which the caller destroys). */
static election_err get_verifier(const election_ctx *ctx, const Evote__V1__ElectionRecord *rec,
                                 const election_verifier **v, election_verifier **tmp)
{
    election_err err;

    *tmp = NULL;
    *v = ctx->cache ? cache_find(ctx->cache, rec->election_hash.data) : NULL;
    if (*v)
        return ELECTION_OK;
    err = verifier_build(rec, tmp);
    if (err != ELECTION_OK)
        return err;
    if (ctx->cache)
        return cache_insert(ctx->cache, tmp, v);
    *v = *tmp;
    return ELECTION_OK;
}

static election_err put_tracking(const state_view *sv, const uint8_t code[CRYPTO_HASH_LEN],
                                 const Evote__V1__TrackingRecord *tr)
{
    uint8_t key[1 + CRYPTO_HASH_LEN];
    size_t len = evote__v1__tracking_record__get_packed_size(tr);
    uint8_t *buf = malloc(len ? len : 1);
    int ok;

    if (buf == NULL)
        return ELECTION_ERR_NOMEM;
    evote__v1__tracking_record__pack(tr, buf);
    key[0] = ELECTION_KEY_TRACKING;
    memcpy(key + 1, code, CRYPTO_HASH_LEN);
    ok = changes_set(sv->tx, key, sizeof key, buf, len, 0);
    free(buf);
    return ok ? ELECTION_OK : ELECTION_ERR_NOMEM;
}

/* The replaced ballot's tracking record now says so. */
static election_err mark_replaced(const state_view *sv, const uint8_t old[CRYPTO_HASH_LEN],
                                  const uint8_t by[CRYPTO_HASH_LEN])
{
    uint8_t key[1 + CRYPTO_HASH_LEN], *v;
    size_t len;
    Evote__V1__TrackingRecord *tr;
    election_err err;
    int r;

    key[0] = ELECTION_KEY_TRACKING;
    memcpy(key + 1, old, CRYPTO_HASH_LEN);
    r = state_get(sv, key, sizeof key, &v, &len);
    if (r < 0)
        return get_err(r);
    if (r == 0)
        return ELECTION_ERR_CORRUPT;
    tr = evote__v1__tracking_record__unpack(NULL, len, v);
    free(v);
    if (tr == NULL)
        return ELECTION_ERR_CORRUPT;
    tr->status = EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_REPLACED;
    tr->replaced_by.data = (uint8_t *)by;
    tr->replaced_by.len = CRYPTO_HASH_LEN;
    err = put_tracking(sv, old, tr);
    tr->replaced_by.data = NULL; /* not ours to free */
    tr->replaced_by.len = 0;
    evote__v1__tracking_record__free_unpacked(tr, NULL);
    return err;
}

static election_err rule_ballot(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                                Evote__V1__ElectionRecord *rec, Evote__V1__TxResult *res)
{
    const Evote__V1__Ballot *b = tx->body->ballot;
    const Evote__V1__ElectionCreate *d = rec->definition;
    const uint8_t *e = rec->election_hash.data;
    uint8_t vkey[KEY_EV_LEN], *voter = NULL;
    size_t vlen = 0, slots = record_slots(rec);
    const election_verifier *ver;
    election_verifier *tmp = NULL;
    elgamal_ct cts[ELECTION_MAX_SLOTS];
    tally_state *tally = NULL;
    election_err err;
    bc_err berr;
    int r, revote = 0;

    if (rec->election_key.len == 0) {
        *res = R(NO_ELECTION_KEY);
        return ELECTION_OK;
    }
    if (record_closed(rec, ctx) || ctx->height < d->open_height || ctx->time_ms < d->open_time_ms) {
        *res = R(NOT_OPEN);
        return ELECTION_OK;
    }
    key_ev(vkey, ELECTION_KEY_VOTER, e, tx->signer);
    r = state_get(sv, vkey, sizeof vkey, &voter, &vlen);
    if (r < 0)
        return get_err(r);
    if (r == 0) {
        *res = R(NOT_REGISTERED);
        return ELECTION_OK;
    }
    *res = R(OK);
    err = ELECTION_OK;
    if (vlen == 1 && voter[0] == 0) {
        revote = 0;
    } else if (vlen >= 1 + CRYPTO_HASH_LEN && voter[0] == 1) {
        if (!d->revoting_allowed) {
            *res = R(ALREADY_VOTED);
            goto done;
        }
        if (vlen != 1 + CRYPTO_HASH_LEN + slots * ELGAMAL_CT_LEN) {
            err = ELECTION_ERR_CORRUPT;
            goto done;
        }
        revote = 1;
    } else {
        err = ELECTION_ERR_CORRUPT;
        goto done;
    }

    err = get_verifier(ctx, rec, &ver, &tmp);
    if (err != ELECTION_OK)
        goto done;
    if (bc_election_slots(ver->bc) != slots) {
        err = ELECTION_ERR_CORRUPT;
        goto done;
    }
    if (tx->ballot_verified && tx->ballot_cts != NULL && tx->n_ballot_cts == slots) {
        memcpy(cts, tx->ballot_cts, slots * sizeof *cts);
        berr = BC_OK;
    } else if (tx->ballot_verified)
        berr = bc_ballot_ciphertexts(ver->bc, b->encrypted_ballot.data, b->encrypted_ballot.len, cts);
    else
        berr = bc_ballot_verify(ver->bc, tx->signer, b->encrypted_ballot.data, b->encrypted_ballot.len, cts, NULL);
    if (berr == BC_ERR_NOMEM) {
        err = ELECTION_ERR_NOMEM;
        goto done;
    }
    if (berr != BC_OK) {
        *res = ballot_result_for(berr);
        goto done;
    }

    tally = malloc(sizeof *tally);
    if (tally == NULL) {
        err = ELECTION_ERR_NOMEM;
        goto done;
    }
    err = load_tally(sv, e, slots, tally);
    if (err != ELECTION_OK)
        goto done;
    if (revote) {
        /* Take the replaced ballot out of the running tally. */
        for (size_t s = 0; s < slots; s++) {
            elgamal_ct old;
            if (elgamal_parse(&old, voter + 1 + CRYPTO_HASH_LEN + s * ELGAMAL_CT_LEN, 0) != BC_OK) {
                err = ELECTION_ERR_CORRUPT;
                goto done;
            }
            ec_point_sub(&tally->cts[s].a, &tally->cts[s].a, &old.a);
            ec_point_sub(&tally->cts[s].b, &tally->cts[s].b, &old.b);
        }
        err = mark_replaced(sv, voter + 1, tx->id);
        if (err != ELECTION_OK)
            goto done;
    } else {
        tally->counted++;
    }
    tally->accepted++;
    for (size_t s = 0; s < slots; s++)
        elgamal_add(&tally->cts[s], &tally->cts[s], &cts[s]);
    err = store_tally(sv, e, tally);
    if (err != ELECTION_OK)
        goto done;

    /* The voter's record: voted, with which ballot (and, when it may be
     * replaced, the ciphertexts to subtract then). */
    {
        uint8_t rec_v[1 + CRYPTO_HASH_LEN + ELECTION_MAX_SLOTS * ELGAMAL_CT_LEN];
        size_t len = 1 + CRYPTO_HASH_LEN;
        rec_v[0] = 1;
        memcpy(rec_v + 1, tx->id, CRYPTO_HASH_LEN);
        if (d->revoting_allowed) {
            for (size_t s = 0; s < slots; s++)
                elgamal_encode(rec_v + len + s * ELGAMAL_CT_LEN, &cts[s]);
            len += slots * ELGAMAL_CT_LEN;
        }
        if (!changes_set(sv->tx, vkey, sizeof vkey, rec_v, len, 0)) {
            err = ELECTION_ERR_NOMEM;
            goto done;
        }
    }
    {
        Evote__V1__TrackingRecord tr = EVOTE__V1__TRACKING_RECORD__INIT;
        tr.election_id = b->election_id;
        tr.voter.data = (uint8_t *)tx->signer;
        tr.voter.len = CRYPTO_PUBKEY_LEN;
        tr.status = EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_COUNTED;
        tr.height = ctx->height;
        err = put_tracking(sv, tx->id, &tr);
    }
done:
    free(voter);
    free(tally);
    verifier_destroy(&tmp);
    return err;
}

/* ------------------------------------------------------------------ dispatch */

static const ProtobufCBinaryData *payload_election_id(const Evote__V1__TxBody *b)
{
    switch (b->payload_case) {
    case EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CONTROL: return &b->election_control->election_id;
    case EVOTE__V1__TX_BODY__PAYLOAD_VOTER_REGISTRATION: return &b->voter_registration->election_id;
    case EVOTE__V1__TX_BODY__PAYLOAD_BALLOT: return &b->ballot->election_id;
    case EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING: return &b->trustee_dealing->election_id;
    case EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_COMPLAINT: return &b->trustee_complaint->election_id;
    case EVOTE__V1__TX_BODY__PAYLOAD_PARTIAL_DECRYPTION: return &b->partial_decryption->election_id;
    case EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_ATTESTATION: return &b->election_attestation->election_id;
    default: return NULL;
    }
}

static election_err dispatch(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                             Evote__V1__TxResult *res)
{
    const Evote__V1__TxBody *b = tx->body;
    const ProtobufCBinaryData *id;
    Evote__V1__ElectionRecord *rec = NULL;
    uint8_t e[ELECTION_HASH_LEN];
    election_err err;

    if (b->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CREATE)
        return rule_create(ctx, tx, sv, res);
    id = payload_election_id(b);
    if (id == NULL)
        return ELECTION_ERR_ARGUMENT;
    if (id->len < 1 || id->len > ELECTION_MAX_ID) {
        *res = R(MALFORMED);
        return ELECTION_OK;
    }
    election_hash(ctx->chain_id, id->data, id->len, e);
    /* Trustee steps load the record themselves. */
    switch (b->payload_case) {
    case EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING: return rule_dealing(ctx, tx, sv, res);
    case EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_COMPLAINT: return rule_complaint(ctx, tx, sv, res);
    case EVOTE__V1__TX_BODY__PAYLOAD_PARTIAL_DECRYPTION: return rule_partial(ctx, tx, sv, res);
    default: break;
    }
    err = load_record(sv, e, &rec);
    if (err != ELECTION_OK)
        return err;
    if (rec == NULL) {
        *res = R(UNKNOWN_ELECTION);
        return ELECTION_OK;
    }
    switch (b->payload_case) {
    case EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CONTROL: err = rule_control(ctx, tx, sv, rec, res); break;
    case EVOTE__V1__TX_BODY__PAYLOAD_VOTER_REGISTRATION: err = rule_register(ctx, tx, sv, rec, res); break;
    case EVOTE__V1__TX_BODY__PAYLOAD_BALLOT: err = rule_ballot(ctx, tx, sv, rec, res); break;
    case EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_ATTESTATION: err = rule_attest(ctx, tx, sv, rec, res); break;
    default: err = ELECTION_ERR_ARGUMENT; break;
    }
    evote__v1__election_record__free_unpacked(rec, NULL);
    return err;
}

election_err election_apply(const election_ctx *ctx, const election_tx *tx, const election_state_reader *rd,
                            election_changes *block, Evote__V1__TxResult *result)
{
    state_view sv;
    election_err err;

    if (ctx == NULL || tx == NULL || tx->body == NULL || tx->signer == NULL || tx->id == NULL ||
        ctx->chain_id == NULL || block == NULL || result == NULL || !election_is_election_payload(tx->body))
        return ELECTION_ERR_ARGUMENT;
    *result = R(UNSPECIFIED);
    sv.rd = rd;
    sv.block = block;
    sv.tx = election_changes_new();
    if (sv.tx == NULL)
        return ELECTION_ERR_NOMEM;
    err = dispatch(ctx, tx, &sv, result);
    if (err == ELECTION_OK && *result == R(OK) && !changes_merge(block, sv.tx))
        err = ELECTION_ERR_NOMEM; /* block may hold part of the tx: the caller drops the block */
    election_changes_destroy(&sv.tx);
    return err;
}
