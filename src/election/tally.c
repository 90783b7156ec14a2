/* Threshold decryption of the tally: each trustee's partial decryption is
 * checked against its verification key X_j; the t-th valid one lets every
 * validator combine the shares (Lagrange at zero), solve the bounded
 * discrete logs and record the counts. */
#include <stdlib.h>
#include <string.h>

#include "election_internal.h"

#define R(x) EVOTE__V1__TX_RESULT__TX_RESULT_##x

/* The stored shares of trustee j ('P'), or *found 0. */
static election_err load_partial(const state_view *sv, const uint8_t *e, uint32_t j, size_t slots, ec_point *d,
                                 int *found)
{
    uint8_t key[KEY_EI_LEN], *v;
    size_t len;
    int r;

    *found = 0;
    key_ei(key, ELECTION_KEY_PARTIAL, e, j);
    r = state_get(sv, key, sizeof key, &v, &len);
    if (r < 0)
        return get_err(r);
    if (r == 0)
        return ELECTION_OK;
    if (len != slots * EC_POINT_LEN) {
        free(v);
        return ELECTION_ERR_CORRUPT;
    }
    if (d != NULL)
        for (size_t s = 0; s < slots; s++)
            if (ec_point_parse(&d[s], v + s * EC_POINT_LEN, 1) != BC_OK) {
                free(v);
                return ELECTION_ERR_CORRUPT;
            }
    free(v);
    *found = 1;
    return ELECTION_OK;
}

/* The count: combine the shares of the first t trustees (ascending index)
 * that posted, solve each option's m with m·G = M, bound = ballots counted. */
static election_err derive_result(const election_ctx *ctx, const state_view *sv,
                                  const Evote__V1__ElectionRecord *rec, const tally_state *tally,
                                  Evote__V1__TxResult *res)
{
    const uint32_t n = (uint32_t)rec->definition->n_trustees, t = rec->definition->threshold;
    const uint8_t *e = rec->election_hash.data;
    uint32_t *idx = malloc(t * sizeof *idx);
    ec_point *shares = malloc((size_t)t * tally->slots * sizeof *shares); /* [trustee][slot] */
    ec_point *col = malloc(t * sizeof *col);
    uint64_t counts[ELECTION_MAX_SLOTS];
    dlog_table *table = NULL;
    uint32_t got = 0;
    election_err err = ELECTION_OK;

    if (!idx || !shares || !col) {
        err = ELECTION_ERR_NOMEM;
        goto done;
    }
    for (uint32_t j = 1; j <= n && got < t; j++) {
        int found;
        err = load_partial(sv, e, j, tally->slots, shares + (size_t)got * tally->slots, &found);
        if (err != ELECTION_OK)
            goto done;
        if (found)
            idx[got++] = j;
    }
    if (got < t) {
        *res = R(OK); /* not yet: wait for more trustees */
        goto done;
    }
    if (dlog_table_new(&table, tally->counted) != BC_OK) {
        err = ELECTION_ERR_NOMEM;
        goto done;
    }
    for (size_t s = 0; s < tally->slots; s++) {
        ec_point m;
        for (uint32_t k = 0; k < t; k++)
            col[k] = shares[(size_t)k * tally->slots + s];
        if (bc_tally_combine(&m, &tally->cts[s], t, idx, col, t) != BC_OK ||
            dlog_solve(table, &m, &counts[s]) != BC_OK) {
            /* Cannot happen with shares whose proofs verified against X_j;
             * refuse the share that triggered it rather than record nonsense. */
            *res = R(BAD_PROOF);
            goto done;
        }
    }
    {
        Evote__V1__ElectionResult result = EVOTE__V1__ELECTION_RESULT__INIT;
        uint8_t key[KEY_E_LEN], *buf;
        size_t len;
        result.counts = counts;
        result.n_counts = tally->slots;
        result.ballots_counted = tally->counted;
        result.trustees = idx;
        result.n_trustees = t;
        result.height = ctx->height;
        len = evote__v1__election_result__get_packed_size(&result);
        buf = malloc(len ? len : 1);
        if (buf == NULL) {
            err = ELECTION_ERR_NOMEM;
            goto done;
        }
        evote__v1__election_result__pack(&result, buf);
        key_e(key, ELECTION_KEY_RESULT, e);
        if (!changes_set(sv->tx, key, sizeof key, buf, len, 0))
            err = ELECTION_ERR_NOMEM;
        free(buf);
        *res = R(OK);
    }
done:
    dlog_table_destroy(&table);
    free(idx);
    free(shares);
    free(col);
    return err;
}

election_err rule_partial(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                          Evote__V1__TxResult *res)
{
    const Evote__V1__PartialDecryption *p = tx->body->partial_decryption;
    Evote__V1__ElectionRecord *rec = NULL;
    uint8_t e[ELECTION_HASH_LEN], key[KEY_EI_LEN], *v = NULL;
    uint8_t dbuf[ELECTION_MAX_SLOTS * EC_POINT_LEN];
    tally_state *tally = NULL;
    ec_point x;
    size_t slots, len;
    uint32_t j;
    election_err err;
    int found, r;

    election_hash(ctx->chain_id, p->election_id.data, p->election_id.len, e);
    err = load_record(sv, e, &rec);
    if (err != ELECTION_OK)
        return err;
    if (rec == NULL) {
        *res = R(UNKNOWN_ELECTION);
        return ELECTION_OK;
    }
    slots = record_slots(rec);
    j = record_trustee(rec, tx->signer);
    if (j == 0) {
        *res = R(NOT_TRUSTEE);
        goto done;
    }
    if (rec->election_key.len == 0) {
        *res = R(NO_ELECTION_KEY);
        goto done;
    }
    if (!record_closed(rec, ctx)) {
        *res = R(WRONG_PHASE);
        goto done;
    }
    key_e(key, ELECTION_KEY_RESULT, e);
    r = state_get(sv, key, KEY_E_LEN, &v, &len);
    free(v);
    if (r < 0) {
        err = get_err(r);
        goto done;
    }
    if (r == 1) {
        *res = R(WRONG_PHASE); /* counted already */
        goto done;
    }
    err = load_partial(sv, e, j, slots, NULL, &found);
    if (err != ELECTION_OK)
        goto done;
    if (found) {
        *res = R(ALREADY_SUBMITTED);
        goto done;
    }
    if (p->n_shares != slots || p->n_proofs != 0) {
        *res = R(BALLOT_SHAPE);
        goto done;
    }
    if (rec->verification_keys[j - 1].len != EC_POINT_LEN ||
        ec_point_parse(&x, rec->verification_keys[j - 1].data, 0) != BC_OK) {
        err = ELECTION_ERR_CORRUPT;
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
    for (size_t s = 0; s < slots; s++) {
        bc_partial_ctx pc = {e, rec->election_key.data, j, (uint32_t)s};
        ec_point d;
        bc_err berr = bc_tally_partial_verify(&pc, &x, &tally->cts[s], p->shares[s].data, p->shares[s].len, &d);
        if (berr != BC_OK) {
            *res = berr == BC_ERR_LENGTH ? R(BALLOT_SHAPE) : ballot_result_for(berr);
            goto done;
        }
        ec_point_encode(dbuf + s * EC_POINT_LEN, &d);
    }
    key_ei(key, ELECTION_KEY_PARTIAL, e, j);
    if (!changes_set(sv->tx, key, sizeof key, dbuf, slots * EC_POINT_LEN, 0)) {
        err = ELECTION_ERR_NOMEM;
        goto done;
    }
    err = derive_result(ctx, sv, rec, tally, res);
done:
    free(tally);
    evote__v1__election_record__free_unpacked(rec, NULL);
    return err;
}
