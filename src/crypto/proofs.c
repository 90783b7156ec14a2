/* Zero-knowledge proofs of a ballot and the DLEQ/Schnorr proofs of the
 * trustees, all non-interactive with the strong Fiat-Shamir form: the
 * challenge hashes the whole statement (election, key, who proves, where,
 * the ciphertexts) and every commitment. Also the whole-ballot encrypt and
 * verify that validators run on every ballot. */
#include <stdlib.h>
#include <string.h>

#include "ballot_crypto.h"

#define MAX_BRANCHES (BC_MAX_OPTIONS + 1)
#define NO_OPTION 0xFFFFFFFFu /* the "option" of a question's count proof */
#define SEL_ITEM_LEN (ELGAMAL_CT_LEN + BC_PROOF_SELECTION_LEN)
/* election id || Y || voter || question || option || lo || hi || ciphertext */
#define RANGE_HEAD_LEN (BC_ELECTION_ID_LEN + EC_POINT_LEN + BC_VOTER_LEN + 16 + ELGAMAL_CT_LEN)
#define MAX_PREFIX 256

struct bc_election {
    uint8_t id[BC_ELECTION_ID_LEN];
    uint8_t y_enc[EC_POINT_LEN];
    ec_point y;
    ec_fixed_base *ytab; /* multiples of Y: the verifier's most frequent multiplication */
    size_t slots, size, count;
    bc_question q[];
};

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void challenge(ec_scalar *c, const char *tag, const uint8_t *msg, size_t len)
{
    uint8_t h[CRYPTO_HASH_LEN];
    crypto_tagged_hash(tag, msg, len, h);
    ec_scalar_reduce(c, h);
}

/* Constant-time select: out = mask ? a : b (mask 0xff or 0). */
static void scalar_select(ec_scalar *out, const ec_scalar *a, const ec_scalar *b, uint8_t mask)
{
    for (size_t i = 0; i < EC_SCALAR_LEN; i++)
        out->b[i] = (uint8_t)((a->b[i] & mask) | (b->b[i] & (uint8_t)~mask));
}

static uint8_t mask_eq(uint32_t x, uint32_t y)
{
    uint32_t d = x ^ y;
    /* 0xff when d == 0, without a branch */
    return (uint8_t)(((d | (0u - d)) >> 31) - 1u);
}

/* Multiplication of a fixed point by a public scalar, by table when there is one. */
static void ymul(ec_point *out, const ec_point *y, const ec_fixed_base *tab, const ec_scalar *s)
{
    if (tab)
        ec_fixed_base_mul(out, tab, s);
    else
        ec_point_mul_public(out, y, s);
}

/* ------------------------------------------------ disjunctive (range) proof */

static void range_head(uint8_t *buf, const bc_proof_ctx *ctx, uint32_t lo, uint32_t hi,
                       const uint8_t ct_enc[ELGAMAL_CT_LEN])
{
    uint8_t *p = buf;
    memcpy(p, ctx->election_id, BC_ELECTION_ID_LEN);
    p += BC_ELECTION_ID_LEN;
    memcpy(p, ctx->y_enc, EC_POINT_LEN);
    p += EC_POINT_LEN;
    memcpy(p, ctx->voter, BC_VOTER_LEN);
    p += BC_VOTER_LEN;
    put_u32(p, ctx->question);
    put_u32(p + 4, ctx->option);
    put_u32(p + 8, lo);
    put_u32(p + 12, hi);
    p += 16;
    memcpy(p, ct_enc, ELGAMAL_CT_LEN);
}

/* out = C − v·G for the public value v. */
static void minus_vg(ec_point *out, const ec_point *c, uint32_t v)
{
    ec_scalar s;
    ec_point vg;
    if (v == 1) { /* the common case: exactly one selection */
        ec_point_sub(out, c, ec_generator());
        return;
    }
    ec_scalar_from_u64(&s, v);
    ec_point_mul_base(&vg, &s);
    ec_point_sub(out, c, &vg);
}

bc_err bc_proof_range_prove(const char *tag, const bc_proof_ctx *ctx, const ec_point *y,
                            const elgamal_ct *ct, const uint8_t ct_enc[ELGAMAL_CT_LEN], uint32_t lo,
                            uint32_t hi, uint32_t m, const ec_scalar *r, uint8_t *proof)
{
    /* Cramer-Damgård-Schoenmakers OR-proof of "C − v·G = r·Y and R = r·G"
     * for some v in lo..hi. Each branch i (v = lo + i) gets commitments
     *   A_i = z'·G − c'·R,  B_i = z'·Y − c'·(C − v·G)
     * with random c', z' for the simulated branches, and for the real one
     * c' = d random, z' = w + d·r, which gives A = w·G, B = w·Y: every branch
     * runs the same operations, so timing does not tell which one is real. */
    if (hi < lo || hi - lo >= MAX_BRANCHES)
        return BC_ERR_ARGUMENT;
    if (m < lo || m > hi)
        return BC_ERR_SELECTION;
    const uint32_t nv = hi - lo + 1, k = m - lo;
    uint8_t buf[RANGE_HEAD_LEN + MAX_BRANCHES * 2 * EC_POINT_LEN];
    ec_scalar cs[MAX_BRANCHES], zs[MAX_BRANCHES], w, t;
    bc_err err = ec_scalar_random(&w);
    for (uint32_t i = 0; i < nv && err == BC_OK; i++) {
        err = ec_scalar_random(&cs[i]);
        if (err == BC_OK)
            err = ec_scalar_random(&zs[i]);
    }
    if (err != BC_OK)
        goto out;
    range_head(buf, ctx, lo, hi, ct_enc);
    for (uint32_t i = 0; i < nv; i++) {
        ec_point p1, p2, cv;
        ec_scalar zp, nc;
        uint8_t mask = mask_eq(i, k);
        ec_scalar_mul(&t, &cs[i], r);
        ec_scalar_add(&t, &t, &w);
        scalar_select(&zp, &t, &zs[i], mask);
        ec_scalar_neg(&nc, &cs[i]);
        ec_point_mul_base(&p1, &zp);
        ec_point_mul(&p2, &ct->a, &nc);
        ec_point_add(&p1, &p1, &p2);
        ec_point_encode(buf + RANGE_HEAD_LEN + i * 2 * EC_POINT_LEN, &p1);
        minus_vg(&cv, &ct->b, lo + i);
        ec_point_mul(&p1, y, &zp);
        ec_point_mul(&p2, &cv, &nc);
        ec_point_add(&p1, &p1, &p2);
        ec_point_encode(buf + RANGE_HEAD_LEN + i * 2 * EC_POINT_LEN + EC_POINT_LEN, &p1);
        ec_scalar_wipe(&zp);
    }
    ec_scalar c, others, mine, ck, zk;
    challenge(&c, tag, buf, RANGE_HEAD_LEN + nv * 2 * EC_POINT_LEN);
    /* others = Σ_i c_i − c_k, with c_k picked by a branch-free scan */
    ec_scalar_zero(&others);
    ec_scalar_zero(&mine);
    for (uint32_t i = 0; i < nv; i++) {
        ec_scalar_add(&others, &others, &cs[i]);
        scalar_select(&mine, &cs[i], &mine, mask_eq(i, k));
    }
    ec_scalar_sub(&others, &others, &mine);
    ec_scalar_sub(&ck, &c, &others);
    ec_scalar_mul(&zk, &ck, r);
    ec_scalar_add(&zk, &zk, &w);
    for (uint32_t i = 0; i < nv; i++) {
        ec_scalar oc, oz;
        uint8_t mask = mask_eq(i, k);
        scalar_select(&oc, &ck, &cs[i], mask);
        scalar_select(&oz, &zk, &zs[i], mask);
        memcpy(proof + i * 64, oc.b, 32);
        memcpy(proof + i * 64 + 32, oz.b, 32);
    }
    ec_scalar_wipe(&ck);
    ec_scalar_wipe(&zk);
    ec_scalar_wipe(&others);
    ec_scalar_wipe(&mine);
out:
    crypto_wipe(cs, sizeof cs);
    crypto_wipe(zs, sizeof zs);
    ec_scalar_wipe(&w);
    ec_scalar_wipe(&t);
    return err;
}

static bc_err range_verify(const char *tag, const bc_proof_ctx *ctx, const ec_point *y,
                           const ec_fixed_base *ytab, const elgamal_ct *ct,
                           const uint8_t ct_enc[ELGAMAL_CT_LEN], uint32_t lo, uint32_t hi,
                           const uint8_t *proof, bc_err fail)
{
    if (hi < lo || hi - lo >= MAX_BRANCHES)
        return BC_ERR_ARGUMENT;
    const uint32_t nv = hi - lo + 1;
    uint8_t buf[RANGE_HEAD_LEN + MAX_BRANCHES * 2 * EC_POINT_LEN];
    ec_scalar sum, c;
    ec_scalar_zero(&sum);
    range_head(buf, ctx, lo, hi, ct_enc);
    for (uint32_t i = 0; i < nv; i++) {
        ec_scalar ci, zi, nc, cv;
        ec_point p1, p2;
        if (ec_scalar_parse(&ci, proof + i * 64) != BC_OK ||
            ec_scalar_parse(&zi, proof + i * 64 + 32) != BC_OK)
            return BC_ERR_SCALAR_RANGE;
        ec_scalar_add(&sum, &sum, &ci);
        ec_scalar_neg(&nc, &ci);
        /* A_i = z·G − c·R */
        ec_point_lincomb_public(&p1, &zi, &nc, &ct->a);
        ec_point_encode(buf + RANGE_HEAD_LEN + i * 2 * EC_POINT_LEN, &p1);
        /* B_i = z·Y − c·(C − v·G) = (c·v)·G + z·Y − c·C */
        ec_scalar_from_u64(&cv, lo + i);
        ec_scalar_mul(&cv, &cv, &ci);
        if (ytab) {
            ec_point_lincomb_fixed_public(&p1, &cv, ytab, &zi, &nc, &ct->b);
        } else {
            ec_point_lincomb_public(&p1, &cv, &nc, &ct->b);
            ymul(&p2, y, NULL, &zi);
            ec_point_add(&p1, &p1, &p2);
        }
        ec_point_encode(buf + RANGE_HEAD_LEN + i * 2 * EC_POINT_LEN + EC_POINT_LEN, &p1);
    }
    challenge(&c, tag, buf, RANGE_HEAD_LEN + nv * 2 * EC_POINT_LEN);
    return ec_scalar_equal(&c, &sum) ? BC_OK : fail;
}

bc_err bc_proof_range_verify(const char *tag, const bc_proof_ctx *ctx, const ec_point *y,
                             const elgamal_ct *ct, const uint8_t ct_enc[ELGAMAL_CT_LEN], uint32_t lo,
                             uint32_t hi, const uint8_t *proof, bc_err fail)
{
    return range_verify(tag, ctx, y, NULL, ct, ct_enc, lo, hi, proof, fail);
}

/* ------------------------------------------------------------ DLEQ, Schnorr */

/* transcript: prefix || B || X1 || X2 || A1 || A2 */
bc_err bc_proof_dleq_prove(const char *tag, const uint8_t *prefix, size_t prefix_len,
                           const ec_point *b, const ec_point *x1, const ec_point *x2,
                           const ec_scalar *x, uint8_t proof[BC_PROOF_DLEQ_LEN])
{
    uint8_t buf[MAX_PREFIX + 5 * EC_POINT_LEN];
    if (prefix_len > MAX_PREFIX)
        return BC_ERR_ARGUMENT;
    ec_scalar w, c, z;
    bc_err err = ec_scalar_random(&w);
    if (err != BC_OK)
        return err;
    ec_point a1, a2;
    ec_point_mul_base(&a1, &w);
    ec_point_mul(&a2, b, &w);
    uint8_t *p = buf;
    memcpy(p, prefix, prefix_len);
    p += prefix_len;
    ec_point_encode(p, b);
    ec_point_encode(p + EC_POINT_LEN, x1);
    ec_point_encode(p + 2 * EC_POINT_LEN, x2);
    ec_point_encode(p + 3 * EC_POINT_LEN, &a1);
    ec_point_encode(p + 4 * EC_POINT_LEN, &a2);
    challenge(&c, tag, buf, prefix_len + 5 * EC_POINT_LEN);
    ec_scalar_mul(&z, &c, x);
    ec_scalar_add(&z, &z, &w);
    memcpy(proof, c.b, 32);
    memcpy(proof + 32, z.b, 32);
    ec_scalar_wipe(&w);
    ec_scalar_wipe(&z);
    return BC_OK;
}

/* btab: multiples of B when B is the election key, or NULL. */
static bc_err dleq_verify(const char *tag, const uint8_t *prefix, size_t prefix_len,
                          const ec_point *b, const ec_fixed_base *btab, const ec_point *x1,
                          const ec_point *x2, const uint8_t proof[BC_PROOF_DLEQ_LEN], bc_err fail)
{
    uint8_t buf[MAX_PREFIX + 5 * EC_POINT_LEN];
    if (prefix_len > MAX_PREFIX)
        return BC_ERR_ARGUMENT;
    ec_scalar c, z, nc, c2;
    if (ec_scalar_parse(&c, proof) != BC_OK || ec_scalar_parse(&z, proof + 32) != BC_OK)
        return BC_ERR_SCALAR_RANGE;
    ec_scalar_neg(&nc, &c);
    ec_point a1, a2, t;
    ec_point_lincomb_public(&a1, &z, &nc, x1); /* z·G − c·X1 */
    if (btab) {                                /* z·B − c·X2 */
        ec_point_lincomb_fixed_public(&a2, NULL, btab, &z, &nc, x2);
    } else {
        ymul(&a2, b, NULL, &z);
        ec_point_mul_public(&t, x2, &nc);
        ec_point_add(&a2, &a2, &t);
    }
    uint8_t *p = buf;
    memcpy(p, prefix, prefix_len);
    p += prefix_len;
    ec_point_encode(p, b);
    ec_point_encode(p + EC_POINT_LEN, x1);
    ec_point_encode(p + 2 * EC_POINT_LEN, x2);
    ec_point_encode(p + 3 * EC_POINT_LEN, &a1);
    ec_point_encode(p + 4 * EC_POINT_LEN, &a2);
    challenge(&c2, tag, buf, prefix_len + 5 * EC_POINT_LEN);
    return ec_scalar_equal(&c, &c2) ? BC_OK : fail;
}

bc_err bc_proof_dleq_verify(const char *tag, const uint8_t *prefix, size_t prefix_len,
                            const ec_point *b, const ec_point *x1, const ec_point *x2,
                            const uint8_t proof[BC_PROOF_DLEQ_LEN], bc_err fail)
{
    return dleq_verify(tag, prefix, prefix_len, b, NULL, x1, x2, proof, fail);
}

/* transcript: prefix || X || A */
bc_err bc_proof_schnorr_prove(const char *tag, const uint8_t *prefix, size_t prefix_len,
                              const ec_point *x_pub, const ec_scalar *x,
                              uint8_t proof[BC_PROOF_DLEQ_LEN])
{
    uint8_t buf[MAX_PREFIX + 2 * EC_POINT_LEN];
    if (prefix_len > MAX_PREFIX)
        return BC_ERR_ARGUMENT;
    ec_scalar w, c, z;
    ec_point a;
    bc_err err = ec_scalar_random(&w);
    if (err != BC_OK)
        return err;
    ec_point_mul_base(&a, &w);
    memcpy(buf, prefix, prefix_len);
    ec_point_encode(buf + prefix_len, x_pub);
    ec_point_encode(buf + prefix_len + EC_POINT_LEN, &a);
    challenge(&c, tag, buf, prefix_len + 2 * EC_POINT_LEN);
    ec_scalar_mul(&z, &c, x);
    ec_scalar_add(&z, &z, &w);
    memcpy(proof, c.b, 32);
    memcpy(proof + 32, z.b, 32);
    ec_scalar_wipe(&w);
    ec_scalar_wipe(&z);
    return BC_OK;
}

bc_err bc_proof_schnorr_verify(const char *tag, const uint8_t *prefix, size_t prefix_len,
                               const ec_point *x_pub, const uint8_t proof[BC_PROOF_DLEQ_LEN],
                               bc_err fail)
{
    uint8_t buf[MAX_PREFIX + 2 * EC_POINT_LEN];
    if (prefix_len > MAX_PREFIX)
        return BC_ERR_ARGUMENT;
    ec_scalar c, z, nc, c2;
    ec_point a;
    if (ec_scalar_parse(&c, proof) != BC_OK || ec_scalar_parse(&z, proof + 32) != BC_OK)
        return BC_ERR_SCALAR_RANGE;
    ec_scalar_neg(&nc, &c);
    ec_point_lincomb_public(&a, &z, &nc, x_pub);
    memcpy(buf, prefix, prefix_len);
    ec_point_encode(buf + prefix_len, x_pub);
    ec_point_encode(buf + prefix_len + EC_POINT_LEN, &a);
    challenge(&c2, tag, buf, prefix_len + 2 * EC_POINT_LEN);
    return ec_scalar_equal(&c, &c2) ? BC_OK : fail;
}

/* ------------------------------------------------------------ elections */

static size_t count_proof_len(const bc_question *q)
{
    return q->min == q->max ? BC_PROOF_DLEQ_LEN : BC_PROOF_RANGE_LEN(q->min, q->max);
}

bc_err bc_election_new(bc_election **out, const uint8_t id[BC_ELECTION_ID_LEN],
                       const uint8_t y[EC_POINT_LEN], const bc_question *questions, size_t count)
{
    *out = NULL;
    if (count == 0 || count > BC_MAX_QUESTIONS)
        return BC_ERR_QUESTION;
    ec_point yp;
    bc_err err = ec_point_parse(&yp, y, 0);
    if (err != BC_OK)
        return err;
    size_t slots = 0, size = 0;
    for (size_t i = 0; i < count; i++) {
        const bc_question *q = &questions[i];
        if (q->options == 0 || q->options > BC_MAX_OPTIONS || q->min > q->max ||
            q->max > q->options)
            return BC_ERR_QUESTION;
        slots += q->options;
        size += q->options * SEL_ITEM_LEN + count_proof_len(q);
    }
    bc_election *e = calloc(1, sizeof *e + count * sizeof(bc_question));
    if (!e)
        return BC_ERR_NOMEM;
    memcpy(e->id, id, BC_ELECTION_ID_LEN);
    memcpy(e->y_enc, y, EC_POINT_LEN);
    e->y = yp;
    e->slots = slots;
    e->size = size;
    e->count = count;
    memcpy(e->q, questions, count * sizeof(bc_question));
    err = ec_fixed_base_new(&e->ytab, &e->y);
    if (err != BC_OK) {
        free(e);
        return err;
    }
    *out = e;
    return BC_OK;
}

void bc_election_destroy(bc_election **e)
{
    if (!e || !*e)
        return;
    ec_fixed_base_destroy(&(*e)->ytab);
    free(*e);
    *e = NULL;
}

const ec_point *bc_election_key(const bc_election *e)
{
    return &e->y;
}

size_t bc_election_slots(const bc_election *e)
{
    return e->slots;
}

size_t bc_ballot_size(const bc_election *e)
{
    return e->size;
}

/* election id || Y || voter || question || NO_OPTION || k */
#define EXACT_PREFIX_LEN (BC_ELECTION_ID_LEN + EC_POINT_LEN + BC_VOTER_LEN + 12)

static void exact_prefix(uint8_t *buf, const bc_election *e, const uint8_t *voter, uint32_t q,
                         uint32_t k)
{
    memcpy(buf, e->id, BC_ELECTION_ID_LEN);
    memcpy(buf + BC_ELECTION_ID_LEN, e->y_enc, EC_POINT_LEN);
    memcpy(buf + BC_ELECTION_ID_LEN + EC_POINT_LEN, voter, BC_VOTER_LEN);
    put_u32(buf + BC_ELECTION_ID_LEN + EC_POINT_LEN + BC_VOTER_LEN, q);
    put_u32(buf + BC_ELECTION_ID_LEN + EC_POINT_LEN + BC_VOTER_LEN + 4, NO_OPTION);
    put_u32(buf + BC_ELECTION_ID_LEN + EC_POINT_LEN + BC_VOTER_LEN + 8, k);
}

/* sum of a question's ciphertexts */
static void sum_cts(elgamal_ct *sum, const elgamal_ct *cts, size_t count)
{
    const ec_point *pa[BC_MAX_OPTIONS], *pb[BC_MAX_OPTIONS];
    for (size_t i = 0; i < count; i++) {
        pa[i] = &cts[i].a;
        pb[i] = &cts[i].b;
    }
    ec_point_sum(&sum->a, pa, count);
    ec_point_sum(&sum->b, pb, count);
}

bc_err bc_ballot_encrypt(const bc_election *e, const uint8_t voter[BC_VOTER_LEN],
                         const uint8_t *selections, size_t nselections, uint8_t *out,
                         size_t out_len)
{
    if (nselections != e->slots || out_len != e->size)
        return BC_ERR_ARGUMENT;
    /* Check everything before spending randomness. */
    size_t slot = 0;
    for (size_t qi = 0; qi < e->count; qi++) {
        uint32_t n = 0;
        for (uint32_t o = 0; o < e->q[qi].options; o++, slot++) {
            if (selections[slot] > 1)
                return BC_ERR_SELECTION;
            n += selections[slot];
        }
        if (n < e->q[qi].min || n > e->q[qi].max)
            return BC_ERR_SELECTION;
    }
    bc_err err = BC_OK;
    uint8_t *p = out;
    elgamal_ct cts[BC_MAX_OPTIONS];
    ec_scalar r, rsum;
    slot = 0;
    for (size_t qi = 0; qi < e->count && err == BC_OK; qi++) {
        const bc_question *q = &e->q[qi];
        uint32_t n = 0;
        ec_scalar_zero(&rsum);
        bc_proof_ctx ctx = {e->id, e->y_enc, voter, (uint32_t)qi, 0};
        for (uint32_t o = 0; o < q->options && err == BC_OK; o++, slot++) {
            err = elgamal_encrypt(&cts[o], &e->y, selections[slot], &r);
            if (err != BC_OK)
                break;
            elgamal_encode(p, &cts[o]);
            ctx.option = o;
            err = bc_proof_range_prove(BC_TAG_SELECTION, &ctx, &e->y, &cts[o], p, 0, 1,
                                       selections[slot], &r, p + ELGAMAL_CT_LEN);
            ec_scalar_add(&rsum, &rsum, &r);
            n += selections[slot];
            p += SEL_ITEM_LEN;
        }
        if (err != BC_OK)
            break;
        elgamal_ct sum;
        sum_cts(&sum, cts, q->options);
        if (q->min == q->max) {
            uint8_t prefix[EXACT_PREFIX_LEN];
            ec_point x2;
            exact_prefix(prefix, e, voter, (uint32_t)qi, q->min);
            minus_vg(&x2, &sum.b, q->min);
            err = bc_proof_dleq_prove(BC_TAG_COUNT_EXACT, prefix, sizeof prefix, &e->y, &sum.a,
                                      &x2, &rsum, p);
        } else {
            uint8_t sum_enc[ELGAMAL_CT_LEN];
            elgamal_encode(sum_enc, &sum);
            ctx.option = NO_OPTION;
            err = bc_proof_range_prove(BC_TAG_COUNT_RANGE, &ctx, &e->y, &sum, sum_enc, q->min,
                                       q->max, n, &rsum, p);
        }
        p += count_proof_len(q);
    }
    ec_scalar_wipe(&r);
    ec_scalar_wipe(&rsum);
    if (err != BC_OK)
        crypto_wipe(out, out_len);
    return err;
}

bc_err bc_ballot_verify(const bc_election *e, const uint8_t voter[BC_VOTER_LEN],
                        const uint8_t *ballot, size_t len, elgamal_ct *cts_out, size_t *fault)
{
    size_t dummy;
    if (!fault)
        fault = &dummy;
    *fault = 0;
    if (len != e->size)
        return BC_ERR_LENGTH;
    const uint8_t *p = ballot;
    size_t slot = 0;
    elgamal_ct local[BC_MAX_OPTIONS];
    for (size_t qi = 0; qi < e->count; qi++) {
        const bc_question *q = &e->q[qi];
        elgamal_ct *cts = cts_out ? cts_out + slot : local;
        bc_proof_ctx ctx = {e->id, e->y_enc, voter, (uint32_t)qi, 0};
        const uint8_t *items = p;
        /* Parse every point of the question once, before any proof work. */
        for (uint32_t o = 0; o < q->options; o++) {
            bc_err err = elgamal_parse(&cts[o], p, 0);
            if (err != BC_OK) {
                *fault = slot + o;
                return err;
            }
            p += SEL_ITEM_LEN;
        }
        for (uint32_t o = 0; o < q->options; o++) {
            const uint8_t *it = items + o * SEL_ITEM_LEN;
            ctx.option = o;
            bc_err err = range_verify(BC_TAG_SELECTION, &ctx, &e->y, e->ytab, &cts[o], it, 0, 1,
                                      it + ELGAMAL_CT_LEN, BC_ERR_PROOF_SELECTION);
            if (err != BC_OK) {
                *fault = slot + o;
                return err;
            }
        }
        elgamal_ct sum;
        bc_err err;
        sum_cts(&sum, cts, q->options);
        if (q->min == q->max) {
            uint8_t prefix[EXACT_PREFIX_LEN];
            ec_point x2;
            exact_prefix(prefix, e, voter, (uint32_t)qi, q->min);
            minus_vg(&x2, &sum.b, q->min);
            err = dleq_verify(BC_TAG_COUNT_EXACT, prefix, sizeof prefix, &e->y, e->ytab, &sum.a,
                              &x2, p, BC_ERR_PROOF_COUNT);
        } else {
            uint8_t sum_enc[ELGAMAL_CT_LEN];
            elgamal_encode(sum_enc, &sum);
            ctx.option = NO_OPTION;
            err = range_verify(BC_TAG_COUNT_RANGE, &ctx, &e->y, e->ytab, &sum, sum_enc, q->min,
                               q->max, p, BC_ERR_PROOF_COUNT);
        }
        if (err != BC_OK) {
            *fault = qi;
            return err;
        }
        p += count_proof_len(q);
        slot += q->options;
    }
    return BC_OK;
}

bc_err bc_ballot_ciphertexts(const bc_election *e, const uint8_t *ballot, size_t len,
                             elgamal_ct *cts)
{
    if (len != e->size)
        return BC_ERR_LENGTH;
    const uint8_t *p = ballot;
    size_t slot = 0;
    for (size_t qi = 0; qi < e->count; qi++) {
        for (uint32_t o = 0; o < e->q[qi].options; o++, slot++) {
            bc_err err = elgamal_parse(&cts[slot], p, 0);
            if (err != BC_OK)
                return err;
            p += SEL_ITEM_LEN;
        }
        p += count_proof_len(&e->q[qi]);
    }
    return BC_OK;
}
