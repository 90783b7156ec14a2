/* The trustees' key ceremony on chain (Feldman DKG, ballot_crypto.h dkg_*):
 * encryption keys (round 1), dealings (round 2), complaints judged by anyone,
 * and the derivation of the election key Y and the verification keys X_j
 * from the qualified dealers when an authority ends the ceremony. */
#include <stdlib.h>
#include <string.h>

#include "election_internal.h"

#define R(x) EVOTE__V1__TX_RESULT__TX_RESULT_##x

/* A dealing as stored under 'D': status || t commitments || n shares. */
static size_t dealing_len(uint32_t t, uint32_t n)
{
    return 1 + (size_t)t * EC_POINT_LEN + (size_t)n * DKG_SHARE_LEN;
}

/* Out: *v (malloc'ed) and *len, or *v NULL when dealer i has not dealt. */
static election_err load_dealing(const state_view *sv, const Evote__V1__ElectionRecord *rec, uint32_t i,
                                 uint8_t **v)
{
    uint8_t key[KEY_EI_LEN];
    size_t len;
    int r;

    key_ei(key, ELECTION_KEY_DEALING, rec->election_hash.data, i);
    r = state_get(sv, key, sizeof key, v, &len);
    if (r < 0)
        return get_err(r);
    if (r == 0) {
        *v = NULL;
        return ELECTION_OK;
    }
    if (len != dealing_len(rec->definition->threshold, (uint32_t)rec->definition->n_trustees) ||
        ((*v)[0] != ELECTION_DEALING_QUALIFIED && (*v)[0] != ELECTION_DEALING_DISQUALIFIED)) {
        free(*v);
        *v = NULL;
        return ELECTION_ERR_CORRUPT;
    }
    return ELECTION_OK;
}

/* Parses the t commitments of a stored dealing. */
static election_err dealing_commitments(const uint8_t *v, uint32_t t, ec_point *out)
{
    for (uint32_t k = 0; k < t; k++)
        if (ec_point_parse(&out[k], v + 1 + (size_t)k * EC_POINT_LEN, 0) != BC_OK)
            return ELECTION_ERR_CORRUPT;
    return ELECTION_OK;
}

/* Version 1: which dealers trustee j confirmed it checked and found good:
 * a bitmap of DKG_MAX_TRUSTEES + 1 bits under (K, E, j); dealer i is bit i.
 * (A complaint that holds disqualifies its dealer, which then needs no
 * check; one that is refuted changes nothing.) Out: bits (all clear when
 * nothing is stored). */
#define CHECKED_LEN ((DKG_MAX_TRUSTEES + 8) / 8)

static election_err load_checked(const state_view *sv, const Evote__V1__ElectionRecord *rec, uint32_t j,
                                 uint8_t bits[CHECKED_LEN])
{
    uint8_t key[KEY_EI_LEN], *v = NULL;
    size_t len;
    int r;

    memset(bits, 0, CHECKED_LEN);
    key_ei(key, ELECTION_KEY_CHECKED, rec->election_hash.data, j);
    r = state_get(sv, key, sizeof key, &v, &len);
    if (r < 0)
        return get_err(r);
    if (r == 1) {
        if (len != CHECKED_LEN) {
            free(v);
            return ELECTION_ERR_CORRUPT;
        }
        memcpy(bits, v, CHECKED_LEN);
    }
    free(v);
    return ELECTION_OK;
}

/* Marks dealers[0..count) as checked by trustee j. */
static election_err mark_checked(const state_view *sv, const Evote__V1__ElectionRecord *rec, uint32_t j,
                                 const uint32_t *dealers, size_t count)
{
    uint8_t bits[CHECKED_LEN], key[KEY_EI_LEN];
    election_err err = load_checked(sv, rec, j, bits);

    if (err != ELECTION_OK)
        return err;
    for (size_t k = 0; k < count; k++)
        bits[dealers[k] / 8] |= (uint8_t)(1u << (dealers[k] % 8));
    key_ei(key, ELECTION_KEY_CHECKED, rec->election_hash.data, j);
    return changes_set(sv->tx, key, sizeof key, bits, CHECKED_LEN, 0) ? ELECTION_OK : ELECTION_ERR_NOMEM;
}

/* The common start of a trustee step before the key exists: the election,
 * the signer's trustee index. Out: *rec (NULL when *res is set). */
static election_err trustee_step(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                                 const ProtobufCBinaryData *id, Evote__V1__ElectionRecord **rec, uint32_t *j,
                                 Evote__V1__TxResult *res)
{
    uint8_t e[ELECTION_HASH_LEN];
    election_err err;

    election_hash(ctx->chain_id, id->data, id->len, e);
    err = load_record(sv, e, rec);
    if (err != ELECTION_OK)
        return err;
    if (*rec == NULL) {
        *res = R(UNKNOWN_ELECTION);
        return ELECTION_OK;
    }
    *j = record_trustee(*rec, tx->signer);
    if (*j == 0)
        *res = R(NOT_TRUSTEE);
    else if ((*rec)->election_key.len != 0)
        *res = R(WRONG_PHASE); /* the ceremony is over */
    else
        return ELECTION_OK;
    evote__v1__election_record__free_unpacked(*rec, NULL);
    *rec = NULL;
    return ELECTION_OK;
}

/* Round 1: trustee j publishes EK_j. */
static election_err rule_encryption_key(const state_view *sv, const Evote__V1__TrusteeDealing *d,
                                        const Evote__V1__ElectionRecord *rec, uint32_t j, const uint8_t *tx_id,
                                        Evote__V1__TxResult *res)
{
    uint8_t key[KEY_EI_LEN], *v;
    size_t len;
    ec_point ek;
    int r;

    key_ei(key, ELECTION_KEY_ENCRYPTION, rec->election_hash.data, j);
    r = state_get(sv, key, sizeof key, &v, &len);
    free(v);
    if (r < 0)
        return get_err(r);
    if (r == 1) {
        *res = R(ALREADY_SUBMITTED);
        return ELECTION_OK;
    }
    if (d->encryption_key.len != EC_POINT_LEN || ec_point_parse(&ek, d->encryption_key.data, 0) != BC_OK) {
        *res = R(BAD_POINT);
        return ELECTION_OK;
    }
    *res = R(OK);
    if (!changes_set(sv->tx, key, sizeof key, d->encryption_key.data, EC_POINT_LEN, 0))
        return ELECTION_ERR_NOMEM;
    /* Version 1: where the signed key is, for dealers to check what a node
     * serves them against the trustee's own signature. */
    key_ei(key, ELECTION_KEY_EK_TX, rec->election_hash.data, j);
    if (rec->definition->ceremony_version >= 1 && !changes_set(sv->tx, key, sizeof key, tx_id, CRYPTO_HASH_LEN, 0))
        return ELECTION_ERR_NOMEM;
    return ELECTION_OK;
}

/* Round 2: dealer i's commitments, proof of knowledge and encrypted shares.
 * Every trustee's EK must be on chain first, so that every share has its
 * recipient's key. The shares themselves are checked by their recipients,
 * who complain when one is wrong; from ceremony version 1 on, the proof that
 * the dealer knows each share's ephemeral key is checked here. */
static election_err rule_deal(const election_ctx *ctx, const state_view *sv, const Evote__V1__TrusteeDealing *d,
                              const Evote__V1__ElectionRecord *rec, uint32_t i, const uint8_t *tx_id,
                              Evote__V1__TxResult *res)
{
    const uint32_t n = (uint32_t)rec->definition->n_trustees, t = rec->definition->threshold;
    uint8_t key[KEY_EI_LEN], *v = NULL, *buf = NULL;
    ec_point *pts = NULL;
    election_err err;
    bc_err berr;

    if (rec->definition->ceremony_version >= 1 && rec->definition->ceremony_end_height != 0 &&
        ctx->height > rec->definition->ceremony_end_height) {
        *res = R(WRONG_PHASE); /* too late: the others could not check it before the complaints' end */
        return ELECTION_OK;
    }
    err = load_dealing(sv, rec, i, &v);
    free(v);
    if (err != ELECTION_OK)
        return err;
    if (v != NULL) {
        *res = R(ALREADY_SUBMITTED);
        return ELECTION_OK;
    }
    for (uint32_t j = 1; j <= n; j++) {
        size_t len;
        int r;
        key_ei(key, ELECTION_KEY_ENCRYPTION, rec->election_hash.data, j);
        r = state_get(sv, key, sizeof key, &v, &len);
        free(v);
        if (r < 0)
            return get_err(r);
        if (r == 0) {
            *res = R(WRONG_PHASE); /* round 1 is not complete */
            return ELECTION_OK;
        }
    }
    if (d->n_commitments != t || d->n_encrypted_shares != n || d->proof.len != BC_PROOF_DLEQ_LEN) {
        *res = R(MALFORMED);
        return ELECTION_OK;
    }
    for (uint32_t j = 1; j <= n; j++) {
        size_t want = j == i ? 0 : DKG_SHARE_LEN;
        if (d->encrypted_shares[j - 1].len != want) {
            *res = R(MALFORMED);
            return ELECTION_OK;
        }
    }
    for (uint32_t k = 0; k < t; k++)
        if (d->commitments[k].len != EC_POINT_LEN) {
            *res = R(MALFORMED);
            return ELECTION_OK;
        }
    if (rec->definition->ceremony_version >= 1) {
        /* Each share's E must be its dealer's own (dkg.c: else a complaint
         * about it would decrypt somebody else's share for everyone). */
        if (d->n_share_proofs != n) {
            *res = R(MALFORMED);
            return ELECTION_OK;
        }
        for (uint32_t j = 1; j <= n; j++) {
            size_t want = j == i ? 0 : DKG_SHARE_PROOF_LEN;
            if (d->share_proofs[j - 1].len != want) {
                *res = R(MALFORMED);
                return ELECTION_OK;
            }
            if (j == i)
                continue;
            berr = dkg_share_proof_verify(rec->election_hash.data, i, j, d->encrypted_shares[j - 1].data,
                                          d->share_proofs[j - 1].data);
            if (berr != BC_OK) {
                *res = (berr == BC_ERR_POINT_INVALID || berr == BC_ERR_POINT_INFINITY) ? R(BAD_POINT) : R(BAD_PROOF);
                return ELECTION_OK;
            }
        }
    }
    buf = calloc(1, dealing_len(t, n));
    pts = malloc(t * sizeof *pts);
    if (buf == NULL || pts == NULL) {
        err = ELECTION_ERR_NOMEM;
        goto done;
    }
    buf[0] = ELECTION_DEALING_QUALIFIED;
    for (uint32_t k = 0; k < t; k++)
        memcpy(buf + 1 + (size_t)k * EC_POINT_LEN, d->commitments[k].data, EC_POINT_LEN);
    berr = dkg_verify_commitments(rec->election_hash.data, i, t, buf + 1, (size_t)t * EC_POINT_LEN, d->proof.data,
                                  pts);
    if (berr == BC_ERR_NOMEM) {
        err = ELECTION_ERR_NOMEM;
        goto done;
    }
    if (berr != BC_OK) {
        *res = (berr == BC_ERR_POINT_INVALID || berr == BC_ERR_POINT_INFINITY) ? R(BAD_POINT) : R(BAD_PROOF);
        goto done;
    }
    for (uint32_t j = 1; j <= n; j++)
        if (j != i)
            memcpy(buf + 1 + (size_t)t * EC_POINT_LEN + (size_t)(j - 1) * DKG_SHARE_LEN,
                   d->encrypted_shares[j - 1].data, DKG_SHARE_LEN);
    key_ei(key, ELECTION_KEY_DEALING, rec->election_hash.data, i);
    if (!changes_set(sv->tx, key, sizeof key, buf, dealing_len(t, n), 0)) {
        err = ELECTION_ERR_NOMEM;
        goto done;
    }
    /* Version 1: where the signed dealing is, for the trustees to check
     * what a node serves them against the dealer's own signature. */
    key_ei(key, ELECTION_KEY_DEALING_TX, rec->election_hash.data, i);
    if (rec->definition->ceremony_version >= 1 && !changes_set(sv->tx, key, sizeof key, tx_id, CRYPTO_HASH_LEN, 0))
        err = ELECTION_ERR_NOMEM;
    else
        *res = R(OK);
done:
    free(buf);
    free(pts);
    return err;
}

/* Round 3 (version 1): trustee j found the shares of these dealers good.
 * Each must have dealt (and not be j): a confirmation covers only what is
 * on chain. */
static election_err rule_checked(const state_view *sv, const Evote__V1__TrusteeDealing *d,
                                 const Evote__V1__ElectionRecord *rec, uint32_t j, Evote__V1__TxResult *res)
{
    const uint32_t n = (uint32_t)rec->definition->n_trustees;
    uint32_t dealers[DKG_MAX_TRUSTEES];
    size_t count = 0;

    if (rec->definition->ceremony_version < 1 || d->n_checked > n) {
        *res = R(MALFORMED);
        return ELECTION_OK;
    }
    for (size_t k = 0; k < d->n_checked; k++) {
        uint32_t i = d->checked[k];
        uint8_t *v = NULL;
        election_err err;
        if (i == 0 || i > n || i == j) {
            *res = R(MALFORMED);
            return ELECTION_OK;
        }
        err = load_dealing(sv, rec, i, &v);
        free(v);
        if (err != ELECTION_OK)
            return err;
        if (v == NULL) {
            *res = R(WRONG_PHASE); /* nothing of dealer i to check yet */
            return ELECTION_OK;
        }
        dealers[count++] = i;
    }
    *res = R(OK);
    return mark_checked(sv, rec, j, dealers, count);
}

election_err rule_dealing(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                          Evote__V1__TxResult *res)
{
    const Evote__V1__TrusteeDealing *d = tx->body->trustee_dealing;
    Evote__V1__ElectionRecord *rec = NULL;
    uint32_t j = 0;
    election_err err = trustee_step(ctx, tx, sv, &d->election_id, &rec, &j, res);

    if (err != ELECTION_OK || rec == NULL)
        return err;
    if (d->n_checked != 0)
        err = rule_checked(sv, d, rec, j, res);
    else if (d->encryption_key.len != 0)
        err = d->n_commitments == 0 && d->n_encrypted_shares == 0 && d->proof.len == 0
                  ? rule_encryption_key(sv, d, rec, j, tx->id, res)
                  : (*res = R(MALFORMED), ELECTION_OK);
    else
        err = rule_deal(ctx, sv, d, rec, j, tx->id, res);
    evote__v1__election_record__free_unpacked(rec, NULL);
    return err;
}

/* Trustee j says dealer i's share to it is wrong. Anyone can judge: the
 * complaint reveals the ECDH point with a proof, so validators decrypt the
 * share and check it against i's commitments. A complaint that holds
 * disqualifies i (its polynomial is left out of Y); a refuted one changes
 * nothing. */
election_err rule_complaint(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                            Evote__V1__TxResult *res)
{
    const Evote__V1__TrusteeComplaint *c = tx->body->trustee_complaint;
    Evote__V1__ElectionRecord *rec = NULL;
    uint8_t key[KEY_EI_LEN], *dealing = NULL, *ek = NULL;
    ec_point *pts = NULL;
    uint32_t j = 0, i, t, n;
    size_t len;
    election_err err = trustee_step(ctx, tx, sv, &c->election_id, &rec, &j, res);
    bc_err berr;
    int r;

    if (err != ELECTION_OK || rec == NULL)
        return err;
    t = rec->definition->threshold;
    n = (uint32_t)rec->definition->n_trustees;
    i = c->accused.len == CRYPTO_PUBKEY_LEN ? record_trustee(rec, c->accused.data) : 0;
    if (i == 0) {
        *res = R(NOT_TRUSTEE);
        goto done;
    }
    if (i == j || c->evidence.len != DKG_COMPLAINT_LEN) {
        *res = R(MALFORMED);
        goto done;
    }
    err = load_dealing(sv, rec, i, &dealing);
    if (err != ELECTION_OK)
        goto done;
    if (dealing == NULL) {
        *res = R(WRONG_PHASE); /* nothing to complain about yet */
        goto done;
    }
    key_ei(key, ELECTION_KEY_ENCRYPTION, rec->election_hash.data, j);
    r = state_get(sv, key, sizeof key, &ek, &len);
    if (r < 0) {
        err = get_err(r);
        goto done;
    }
    if (r == 0 || len != EC_POINT_LEN) {
        err = ELECTION_ERR_CORRUPT; /* a dealing exists only after every EK */
        goto done;
    }
    pts = malloc(t * sizeof *pts);
    if (pts == NULL) {
        err = ELECTION_ERR_NOMEM;
        goto done;
    }
    err = dealing_commitments(dealing, t, pts);
    if (err != ELECTION_OK)
        goto done;
    berr = dkg_complaint_verify(rec->election_hash.data, i, j, ek,
                                dealing + 1 + (size_t)t * EC_POINT_LEN + (size_t)(j - 1) * DKG_SHARE_LEN, pts, t,
                                c->evidence.data);
    if (berr == BC_OK) {
        *res = R(OK);
        if (dealing[0] != ELECTION_DEALING_DISQUALIFIED) {
            dealing[0] = ELECTION_DEALING_DISQUALIFIED;
            key_ei(key, ELECTION_KEY_DEALING, rec->election_hash.data, i);
            if (!changes_set(sv->tx, key, sizeof key, dealing, dealing_len(t, n), 0))
                err = ELECTION_ERR_NOMEM;
        }
    } else if (berr == BC_ERR_COMPLAINT_FALSE) {
        *res = R(COMPLAINT_REFUTED);
    } else if (berr == BC_ERR_NOMEM) {
        err = ELECTION_ERR_NOMEM;
    } else {
        *res = (berr == BC_ERR_POINT_INVALID || berr == BC_ERR_POINT_INFINITY) ? R(BAD_POINT) : R(BAD_PROOF);
    }
done:
    free(dealing);
    free(ek);
    free(pts);
    evote__v1__election_record__free_unpacked(rec, NULL);
    return err;
}

election_err ceremony_checks_missing(const state_view *sv, const Evote__V1__ElectionRecord *rec, int *covered,
                                     uint32_t *trustee, uint32_t *dealer)
{
    const uint32_t n = (uint32_t)rec->definition->n_trustees;
    uint8_t dealt[CHECKED_LEN] = {0};

    *covered = 1;
    for (uint32_t i = 1; i <= n; i++) {
        uint8_t *v = NULL;
        election_err err = load_dealing(sv, rec, i, &v);
        if (err != ELECTION_OK)
            return err;
        if (v != NULL && v[0] == ELECTION_DEALING_QUALIFIED) /* a disqualified one needs no check */
            dealt[i / 8] |= (uint8_t)(1u << (i % 8));
        free(v);
    }
    for (uint32_t j = 1; j <= n; j++) {
        uint8_t bits[CHECKED_LEN];
        election_err err = load_checked(sv, rec, j, bits);
        if (err != ELECTION_OK)
            return err;
        for (uint32_t i = 1; i <= n; i++)
            if (i != j && (dealt[i / 8] >> (i % 8) & 1) && !(bits[i / 8] >> (i % 8) & 1)) {
                *covered = 0;
                if (trustee)
                    *trustee = j;
                if (dealer)
                    *dealer = i;
                return ELECTION_OK;
            }
    }
    return ELECTION_OK;
}

/* ElectionControl OPEN: the end of the ceremony. Allowed once every trustee
 * has dealt (complaints should be in by then: the authority waits for the
 * trustees to check their shares), or after ceremony_end_height. */
election_err rule_open(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                       Evote__V1__ElectionRecord *rec, Evote__V1__TxResult *res)
{
    const uint32_t n = (uint32_t)rec->definition->n_trustees, t = rec->definition->threshold;
    const size_t slots = record_slots(rec);
    uint8_t *dealing = NULL, y_enc[EC_POINT_LEN];
    uint8_t (*x_enc)[EC_POINT_LEN] = NULL;
    ProtobufCBinaryData *x_bin = NULL;
    uint32_t *qualified = NULL, nq = 0, dealt = 0;
    ec_point *commitments = NULL, y;
    tally_state *tally = NULL;
    election_err err = ELECTION_OK;

    (void)tx;
    if (rec->election_key.len != 0 || record_closed(rec, ctx)) {
        *res = R(WRONG_PHASE);
        return ELECTION_OK;
    }
    qualified = malloc(n * sizeof *qualified);
    commitments = malloc((size_t)n * t * sizeof *commitments);
    x_enc = malloc(n * sizeof *x_enc);
    x_bin = malloc(n * sizeof *x_bin);
    tally = malloc(sizeof *tally);
    if (!qualified || !commitments || !x_enc || !x_bin || !tally) {
        err = ELECTION_ERR_NOMEM;
        goto done;
    }
    for (uint32_t i = 1; i <= n; i++) {
        err = load_dealing(sv, rec, i, &dealing);
        if (err != ELECTION_OK)
            goto done;
        if (dealing == NULL)
            continue;
        dealt++;
        if (dealing[0] == ELECTION_DEALING_QUALIFIED) {
            err = dealing_commitments(dealing, t, commitments + (size_t)nq * t);
            if (err != ELECTION_OK)
                goto done;
            qualified[nq++] = i;
        }
        free(dealing);
        dealing = NULL;
    }
    if (dealt < n && !(rec->definition->ceremony_end_height != 0 &&
                       ctx->height > rec->definition->ceremony_end_height)) {
        *res = R(WRONG_PHASE);
        goto done;
    }
    if (rec->definition->ceremony_version >= 1 &&
        !(rec->definition->complaint_end_height != 0 && ctx->height > rec->definition->complaint_end_height)) {
        /* Every trustee must have checked every dealing on chain (found it
         * good, or complained): else a dealer that deals bad shares last
         * would stay qualified, and the tally could not be decrypted
         * without it. */
        int covered = 1;
        err = ceremony_checks_missing(sv, rec, &covered, NULL, NULL);
        if (err != ELECTION_OK)
            goto done;
        if (!covered) {
            *res = R(WRONG_PHASE);
            goto done;
        }
    }
    if (nq < t || dkg_joint_key(&y, commitments, nq, t) != BC_OK) {
        *res = R(CEREMONY_FAILED);
        goto done;
    }
    for (uint32_t j = 1; j <= n; j++) {
        ec_point x;
        if (dkg_verification_key(&x, j, commitments, nq, t) != BC_OK || x.infinity) {
            *res = R(CEREMONY_FAILED);
            goto done;
        }
        ec_point_encode(x_enc[j - 1], &x);
        x_bin[j - 1].data = x_enc[j - 1];
        x_bin[j - 1].len = EC_POINT_LEN;
    }
    ec_point_encode(y_enc, &y);
    ProtobufCBinaryData saved_key = rec->election_key, *saved_x = rec->verification_keys;
    size_t saved_nx = rec->n_verification_keys, saved_nq = rec->n_qualified;
    uint32_t *saved_q = rec->qualified;
    rec->election_key.data = y_enc;
    rec->election_key.len = EC_POINT_LEN;
    rec->verification_keys = x_bin;
    rec->n_verification_keys = n;
    rec->qualified = qualified;
    rec->n_qualified = nq;
    rec->key_height = ctx->height;
    err = store_record(sv, rec);
    if (err == ELECTION_OK && ctx->cache != NULL) {
        /* Ready the verifier now, so the mempool can precheck ballots as
         * soon as this block is in: an optimization only, failure is fine. */
        election_verifier *v = NULL;
        const election_verifier *used;
        if (verifier_build(rec, &v) == ELECTION_OK && cache_insert(ctx->cache, &v, &used) != ELECTION_OK)
            verifier_destroy(&v);
    }
    /* Put back what the unpacker allocated: it frees the record. */
    rec->election_key = saved_key;
    rec->verification_keys = saved_x;
    rec->n_verification_keys = saved_nx;
    rec->qualified = saved_q;
    rec->n_qualified = saved_nq;
    if (err != ELECTION_OK)
        goto done;
    /* The empty tally: every option's ciphertext is (infinity, infinity). */
    tally->counted = tally->accepted = 0;
    tally->slots = slots;
    for (size_t s = 0; s < slots; s++) {
        ec_point_set_infinity(&tally->cts[s].a);
        ec_point_set_infinity(&tally->cts[s].b);
    }
    err = store_tally(sv, rec->election_hash.data, tally);
    *res = R(OK);
done:
    free(dealing);
    free(qualified);
    free(commitments);
    free(x_enc);
    free(x_bin);
    free(tally);
    return err;
}
