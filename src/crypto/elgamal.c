/* Exponential ElGamal under the election key and the threshold decryption of
 * a tally: partial decryptions with proofs, Lagrange coefficients at 0 and
 * the combination M = b − Σ λ_j·D_j = m·G. */
#include <string.h>

#include "ballot_crypto.h"

void elgamal_encrypt_with(elgamal_ct *ct, const ec_point *y, uint64_t m, const ec_scalar *r)
{
    /* b = r·Y + (m+1)·G − G: the same operations whatever m is (m·G would
     * be the point at infinity for m = 0, a different code path that a
     * timing observer of the voter's device could tell apart). */
    ec_scalar m1;
    ec_point ry, mg, ng;
    /* m + 1 without a branch on m (the counts encrypted here are small) */
    ec_scalar_from_u64(&m1, m + 1);
    ec_point_mul_base(&ct->a, r);
    ec_point_mul(&ry, y, r);
    ec_point_mul_base(&mg, &m1);
    ec_point_neg(&ng, ec_generator());
    const ec_point *parts[3] = {&ry, &mg, &ng};
    ec_point_sum(&ct->b, parts, 3);
    ec_scalar_wipe(&m1);
    crypto_wipe(&ry, sizeof ry);
    crypto_wipe(&mg, sizeof mg);
}

bc_err elgamal_encrypt(elgamal_ct *ct, const ec_point *y, uint64_t m, ec_scalar *r_out)
{
    ec_scalar r;
    if (y->infinity)
        return BC_ERR_POINT_INFINITY;
    bc_err err = ec_scalar_random(&r);
    if (err != BC_OK)
        return err;
    elgamal_encrypt_with(ct, y, m, &r);
    if (r_out)
        *r_out = r;
    ec_scalar_wipe(&r);
    return BC_OK;
}

void elgamal_add(elgamal_ct *out, const elgamal_ct *x, const elgamal_ct *y)
{
    elgamal_ct t;
    ec_point_add(&t.a, &x->a, &y->a);
    ec_point_add(&t.b, &x->b, &y->b);
    *out = t;
}

void elgamal_decrypt_point(ec_point *out, const elgamal_ct *ct, const ec_scalar *x)
{
    ec_point xa;
    ec_point_mul(&xa, &ct->a, x);
    ec_point_sub(out, &ct->b, &xa);
}

void elgamal_encode(uint8_t out[ELGAMAL_CT_LEN], const elgamal_ct *ct)
{
    ec_point_encode(out, &ct->a);
    ec_point_encode(out + EC_POINT_LEN, &ct->b);
}

bc_err elgamal_parse(elgamal_ct *out, const uint8_t in[ELGAMAL_CT_LEN], int allow_infinity)
{
    bc_err err = ec_point_parse(&out->a, in, allow_infinity);
    if (err != BC_OK)
        return err;
    return ec_point_parse(&out->b, in + EC_POINT_LEN, allow_infinity);
}

void elgamal_encode_state(uint8_t out[ELGAMAL_CT_STATE_LEN], const elgamal_ct *ct)
{
    ec_point_encode_uncompressed(out, &ct->a);
    ec_point_encode_uncompressed(out + EC_POINT_UNCOMPRESSED_LEN, &ct->b);
}

bc_err elgamal_parse_state(elgamal_ct *out, const uint8_t in[ELGAMAL_CT_STATE_LEN],
                           int allow_infinity)
{
    bc_err err = ec_point_parse_uncompressed(&out->a, in, allow_infinity);
    if (err != BC_OK)
        return err;
    return ec_point_parse_uncompressed(&out->b, in + EC_POINT_UNCOMPRESSED_LEN, allow_infinity);
}

/* ------------------------------------------------------------ accumulator */

static void sum_flush(elgamal_sum *acc)
{
    const ec_point *pa[ELGAMAL_SUM_BATCH + 1], *pb[ELGAMAL_SUM_BATCH + 1];
    pa[0] = &acc->total.a;
    pb[0] = &acc->total.b;
    for (size_t i = 0; i < acc->pending; i++) {
        pa[i + 1] = &acc->a[i];
        pb[i + 1] = &acc->b[i];
    }
    elgamal_ct t;
    ec_point_sum(&t.a, pa, acc->pending + 1);
    ec_point_sum(&t.b, pb, acc->pending + 1);
    acc->total = t;
    acc->pending = 0;
}

void elgamal_sum_init(elgamal_sum *acc)
{
    ec_point_set_infinity(&acc->total.a);
    ec_point_set_infinity(&acc->total.b);
    acc->pending = 0;
}

void elgamal_sum_add(elgamal_sum *acc, const elgamal_ct *ct)
{
    acc->a[acc->pending] = ct->a;
    acc->b[acc->pending] = ct->b;
    if (++acc->pending == ELGAMAL_SUM_BATCH)
        sum_flush(acc);
}

void elgamal_sum_result(elgamal_sum *acc, elgamal_ct *out)
{
    sum_flush(acc);
    *out = acc->total;
}

/* ------------------------------------------------- threshold decryption */

/* election id (32) || Y (33) || trustee (4, BE) || slot (4, BE) */
#define PARTIAL_PREFIX_LEN (BC_ELECTION_ID_LEN + EC_POINT_LEN + 8)

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void partial_prefix(uint8_t out[PARTIAL_PREFIX_LEN], const bc_partial_ctx *ctx)
{
    memcpy(out, ctx->election_id, BC_ELECTION_ID_LEN);
    memcpy(out + BC_ELECTION_ID_LEN, ctx->y_enc, EC_POINT_LEN);
    put_u32(out + BC_ELECTION_ID_LEN + EC_POINT_LEN, ctx->trustee);
    put_u32(out + BC_ELECTION_ID_LEN + EC_POINT_LEN + 4, ctx->slot);
}

bc_err bc_tally_partial_decrypt(const bc_partial_ctx *ctx, const ec_scalar *x_j,
                                const ec_point *x_pub, const elgamal_ct *tally,
                                uint8_t out[BC_PARTIAL_LEN])
{
    uint8_t prefix[PARTIAL_PREFIX_LEN];
    ec_point d;
    partial_prefix(prefix, ctx);
    ec_point_mul(&d, &tally->a, x_j);
    ec_point_encode(out, &d);
    return bc_proof_dleq_prove(BC_TAG_DECRYPTION, prefix, sizeof prefix, &tally->a, x_pub, &d, x_j,
                               out + EC_POINT_LEN);
}

bc_err bc_tally_partial_verify(const bc_partial_ctx *ctx, const ec_point *x_pub,
                               const elgamal_ct *tally, const uint8_t *in, size_t len,
                               ec_point *d)
{
    uint8_t prefix[PARTIAL_PREFIX_LEN];
    if (len != BC_PARTIAL_LEN)
        return BC_ERR_LENGTH;
    if (x_pub->infinity)
        return BC_ERR_POINT_INFINITY;
    /* D is infinity exactly when a is (x_j != 0); anything else is caught by the proof. */
    bc_err err = ec_point_parse(d, in, 1);
    if (err != BC_OK)
        return err;
    partial_prefix(prefix, ctx);
    return bc_proof_dleq_verify(BC_TAG_DECRYPTION, prefix, sizeof prefix, &tally->a, x_pub, d,
                                in + EC_POINT_LEN, BC_ERR_PROOF_DECRYPTION);
}

bc_err bc_lagrange_at_zero(ec_scalar *out, const uint32_t *indices, size_t count, size_t which)
{
    /* λ_j = Π_{m != j} m / (m − j), all mod n. */
    if (count == 0 || which >= count)
        return BC_ERR_ARGUMENT;
    ec_scalar num, den, xj;
    ec_scalar_from_u64(&num, 1);
    ec_scalar_from_u64(&den, 1);
    ec_scalar_from_u64(&xj, indices[which]);
    if (indices[which] == 0)
        return BC_ERR_TRUSTEE_INDEX;
    for (size_t k = 0; k < count; k++) /* any index twice: no polynomial goes through them */
        for (size_t m = k + 1; m < count; m++)
            if (indices[k] == indices[m])
                return BC_ERR_TRUSTEE_INDEX;
    for (size_t k = 0; k < count; k++) {
        if (k == which)
            continue;
        if (indices[k] == 0)
            return BC_ERR_TRUSTEE_INDEX;
        ec_scalar xm, diff;
        ec_scalar_from_u64(&xm, indices[k]);
        ec_scalar_mul(&num, &num, &xm);
        ec_scalar_sub(&diff, &xm, &xj);
        ec_scalar_mul(&den, &den, &diff);
    }
    ec_scalar inv;
    bc_err err = ec_scalar_inverse(&inv, &den);
    if (err != BC_OK)
        return BC_ERR_TRUSTEE_INDEX;
    ec_scalar_mul(out, &num, &inv);
    return BC_OK;
}

bc_err bc_tally_combine(ec_point *m_out, const elgamal_ct *tally, uint32_t t,
                        const uint32_t *indices, const ec_point *shares, size_t count)
{
    if (t == 0 || t > DKG_MAX_TRUSTEES || count > DKG_MAX_TRUSTEES)
        return BC_ERR_ARGUMENT;
    if (count < t)
        return BC_ERR_THRESHOLD;
    ec_point terms[DKG_MAX_TRUSTEES + 1];
    const ec_point *ptrs[DKG_MAX_TRUSTEES + 1];
    terms[0] = tally->b;
    ptrs[0] = &terms[0];
    for (size_t j = 0; j < count; j++) {
        ec_scalar lambda;
        bc_err err = bc_lagrange_at_zero(&lambda, indices, count, j);
        if (err != BC_OK)
            return err;
        ec_scalar_neg(&lambda, &lambda);
        ec_point_mul_public(&terms[j + 1], &shares[j], &lambda);
        ptrs[j + 1] = &terms[j + 1];
    }
    ec_point_sum(m_out, ptrs, count + 1);
    return BC_OK;
}
