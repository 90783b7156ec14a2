/* Unit tests of the ballot cryptography: the group layer's edge cases (zero,
 * the order, the point at infinity), ElGamal, the ballot proofs and their
 * binding to election, voter and option, whole ballots, the key ceremony
 * with complaints, threshold decryption of a tally, and the bounded dlog. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ballot_crypto.h"

/* ------------------------------------------------------------- helpers */

static const uint8_t order_n[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
};

static ec_scalar scalar_u64(uint64_t v)
{
    ec_scalar s;
    ec_scalar_from_u64(&s, v);
    return s;
}

static ec_scalar random_scalar(void)
{
    ec_scalar s;
    assert_int_equal(ec_scalar_random(&s), BC_OK);
    return s;
}

static ec_point base_mul(const ec_scalar *s)
{
    ec_point p;
    ec_point_mul_base(&p, s);
    return p;
}

static ec_point random_point(void)
{
    ec_scalar s = random_scalar();
    return base_mul(&s);
}

static ec_scalar n_minus(uint8_t k)
{
    ec_scalar s;
    memcpy(s.b, order_n, 32);
    s.b[31] = (uint8_t)(s.b[31] - k); /* n ends in 0x41: no borrow for k <= 0x41 */
    return s;
}

/* A key pair standing in for a joint election key. */
typedef struct {
    ec_scalar x;
    ec_point y;
    uint8_t y_enc[EC_POINT_LEN];
} keypair;

static keypair make_keypair(void)
{
    keypair k;
    k.x = random_scalar();
    k.y = base_mul(&k.x);
    ec_point_encode(k.y_enc, &k.y);
    return k;
}

static void fill(uint8_t *p, size_t len, uint8_t v)
{
    memset(p, v, len);
}

static uint64_t decrypt_small(const elgamal_ct *ct, const ec_scalar *x)
{
    ec_point m;
    dlog_table *t = NULL;
    uint64_t v = UINT64_MAX;
    elgamal_decrypt_point(&m, ct, x);
    assert_int_equal(dlog_table_new(&t, 100000), BC_OK);
    assert_int_equal(dlog_solve(t, &m, &v), BC_OK);
    dlog_table_destroy(&t);
    return v;
}

/* ------------------------------------------------------------- scalars */

static void test_scalar_parse_accepts_below_order_and_refuses_order_and_above(void **state)
{
    (void)state;
    ec_scalar s;
    uint8_t in[32];
    fill(in, 32, 0);
    assert_int_equal(ec_scalar_parse(&s, in), BC_OK);
    assert_true(ec_scalar_is_zero(&s));
    assert_int_equal(ec_scalar_parse(&s, order_n), BC_ERR_SCALAR_RANGE);
    fill(in, 32, 0xff);
    assert_int_equal(ec_scalar_parse(&s, in), BC_ERR_SCALAR_RANGE);
    ec_scalar nm1 = n_minus(1);
    assert_int_equal(ec_scalar_parse(&s, nm1.b), BC_OK);
    assert_memory_equal(s.b, nm1.b, 32);
    ec_scalar one = scalar_u64(1);
    assert_int_equal(ec_scalar_parse(&s, one.b), BC_OK);
}

static void test_scalar_reduce_wraps_order_and_above(void **state)
{
    (void)state;
    ec_scalar s, expect;
    uint8_t in[32];
    ec_scalar_reduce(&s, order_n);
    assert_true(ec_scalar_is_zero(&s));
    memcpy(in, order_n, 32);
    in[31] = 0x42; /* n + 1 */
    ec_scalar_reduce(&s, in);
    expect = scalar_u64(1);
    assert_true(ec_scalar_equal(&s, &expect));
    fill(in, 32, 0xff); /* 2^256 − 1 − n = 0x14551231950b75fc4402da1732fc9bebe */
    ec_scalar_reduce(&s, in);
    static const uint8_t want[32] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                                     0x45, 0x51, 0x23, 0x19, 0x50, 0xb7, 0x5f, 0xc4,
                                     0x40, 0x2d, 0xa1, 0x73, 0x2f, 0xc9, 0xbe, 0xbe};
    assert_memory_equal(s.b, want, 32);
    ec_scalar nm1 = n_minus(1);
    ec_scalar_reduce(&s, nm1.b);
    assert_true(ec_scalar_equal(&s, &nm1));
    fill(in, 32, 0);
    ec_scalar_reduce(&s, in);
    assert_true(ec_scalar_is_zero(&s));
}

static void test_scalar_arithmetic_handles_zero_results(void **state)
{
    (void)state;
    ec_scalar zero, one = scalar_u64(1), nm1 = n_minus(1), r, x = random_scalar();
    ec_scalar_zero(&zero);
    ec_scalar_add(&r, &nm1, &one); /* (n − 1) + 1 = 0 */
    assert_true(ec_scalar_is_zero(&r));
    ec_scalar_add(&r, &x, &zero);
    assert_true(ec_scalar_equal(&r, &x));
    ec_scalar_add(&r, &zero, &x);
    assert_true(ec_scalar_equal(&r, &x));
    ec_scalar_mul(&r, &x, &zero);
    assert_true(ec_scalar_is_zero(&r));
    ec_scalar_mul(&r, &zero, &x);
    assert_true(ec_scalar_is_zero(&r));
    ec_scalar_neg(&r, &zero);
    assert_true(ec_scalar_is_zero(&r));
    ec_scalar_neg(&r, &one);
    assert_true(ec_scalar_equal(&r, &nm1));
    ec_scalar_sub(&r, &x, &x);
    assert_true(ec_scalar_is_zero(&r));
    ec_scalar_mul(&r, &nm1, &nm1); /* (−1)(−1) = 1 */
    assert_true(ec_scalar_equal(&r, &one));
}

static void test_scalar_inverse_of_one_minus_one_and_random(void **state)
{
    (void)state;
    ec_scalar one = scalar_u64(1), nm1 = n_minus(1), inv, prod, zero;
    assert_int_equal(ec_scalar_inverse(&inv, &one), BC_OK);
    assert_true(ec_scalar_equal(&inv, &one));
    assert_int_equal(ec_scalar_inverse(&inv, &nm1), BC_OK);
    assert_true(ec_scalar_equal(&inv, &nm1));
    for (int i = 0; i < 8; i++) {
        ec_scalar x = random_scalar();
        assert_int_equal(ec_scalar_inverse(&inv, &x), BC_OK);
        ec_scalar_mul(&prod, &inv, &x);
        assert_true(ec_scalar_equal(&prod, &one));
    }
    ec_scalar two = scalar_u64(2);
    assert_int_equal(ec_scalar_inverse(&inv, &two), BC_OK);
    ec_scalar_mul(&prod, &inv, &two);
    assert_true(ec_scalar_equal(&prod, &one));
    ec_scalar_zero(&zero);
    assert_int_equal(ec_scalar_inverse(&inv, &zero), BC_ERR_SCALAR_ZERO);
}

/* -------------------------------------------------------------- points */

static void test_point_infinity_from_zero_times_g_and_cancelling_sum(void **state)
{
    (void)state;
    ec_scalar zero;
    ec_scalar_zero(&zero);
    ec_point inf = base_mul(&zero), p = random_point(), np, r;
    assert_true(inf.infinity);
    ec_point_neg(&np, &p);
    ec_point_add(&r, &p, &np);
    assert_true(r.infinity);
    ec_point_sub(&r, &p, &p);
    assert_true(r.infinity);
    ec_point_add(&r, &inf, &p);
    assert_true(ec_point_equal(&r, &p));
    ec_point_add(&r, &p, &inf);
    assert_true(ec_point_equal(&r, &p));
    ec_point_add(&r, &inf, &inf);
    assert_true(r.infinity);
    ec_point_neg(&r, &inf);
    assert_true(r.infinity);
    ec_scalar x = random_scalar();
    ec_point_mul(&r, &inf, &x);
    assert_true(r.infinity);
    ec_point_mul(&r, &p, &zero);
    assert_true(r.infinity);
    /* (n − 1)·G + G = infinity */
    ec_scalar nm1 = n_minus(1), one = scalar_u64(1);
    ec_point a = base_mul(&nm1), g = base_mul(&one);
    ec_point_add(&r, &a, &g);
    assert_true(r.infinity);
    /* a sum of many that cancels, and one whose middle passes through infinity */
    const ec_point *pts[5] = {&p, &np, &g, &inf, &a};
    ec_point_sum(&r, pts, 5);
    assert_true(r.infinity);
    const ec_point *pts2[4] = {&p, &np, &inf, &g};
    ec_point_sum(&r, pts2, 4);
    assert_true(ec_point_equal(&r, &g));
    ec_point_sum(&r, pts, 0);
    assert_true(r.infinity);
}

static void test_point_encoding_round_trip_and_infinity_refused_where_not_allowed(void **state)
{
    (void)state;
    uint8_t enc[EC_POINT_LEN], zeros[EC_POINT_LEN];
    ec_point p = random_point(), q, inf;
    ec_point_encode(enc, &p);
    assert_true(enc[0] == 2 || enc[0] == 3);
    assert_int_equal(ec_point_parse(&q, enc, 0), BC_OK);
    assert_true(ec_point_equal(&p, &q));
    ec_point_set_infinity(&inf);
    ec_point_encode(enc, &inf);
    fill(zeros, sizeof zeros, 0);
    assert_memory_equal(enc, zeros, EC_POINT_LEN);
    assert_int_equal(ec_point_parse(&q, zeros, 1), BC_OK);
    assert_true(q.infinity);
    assert_int_equal(ec_point_parse(&q, zeros, 0), BC_ERR_POINT_INFINITY);
    /* not points: bad prefix, x not on the curve (x = 0 is not), x >= p */
    ec_point_encode(enc, &p);
    enc[0] = 4;
    assert_int_equal(ec_point_parse(&q, enc, 1), BC_ERR_POINT_INVALID);
    fill(enc, sizeof enc, 0);
    enc[0] = 2;
    assert_int_equal(ec_point_parse(&q, enc, 1), BC_ERR_POINT_INVALID);
    fill(enc, sizeof enc, 0xff);
    enc[0] = 3;
    assert_int_equal(ec_point_parse(&q, enc, 1), BC_ERR_POINT_INVALID);
    fill(enc, sizeof enc, 0);
    enc[32] = 1; /* zero prefix, nonzero body */
    assert_int_equal(ec_point_parse(&q, enc, 1), BC_ERR_POINT_INVALID);
}

static void test_uncompressed_state_encoding_round_trip_and_refusals(void **state)
{
    (void)state;
    keypair k = make_keypair();
    elgamal_ct ct, back;
    uint8_t enc[ELGAMAL_CT_STATE_LEN];
    assert_int_equal(elgamal_encrypt(&ct, &k.y, 1, NULL), BC_OK);
    elgamal_encode_state(enc, &ct);
    assert_int_equal(enc[0], 4);
    assert_int_equal(elgamal_parse_state(&back, enc, 0), BC_OK);
    assert_true(ec_point_equal(&back.a, &ct.a) && ec_point_equal(&back.b, &ct.b));
    /* the hybrid form 06/07 of the same point is a second encoding: refused */
    uint8_t hybrid[ELGAMAL_CT_STATE_LEN];
    memcpy(hybrid, enc, sizeof hybrid);
    hybrid[0] = (uint8_t)(6 | (enc[64] & 1));
    assert_int_equal(elgamal_parse_state(&back, hybrid, 0), BC_ERR_POINT_INVALID);
    /* y changed: off the curve */
    memcpy(hybrid, enc, sizeof hybrid);
    hybrid[64] ^= 1;
    assert_int_equal(elgamal_parse_state(&back, hybrid, 0), BC_ERR_POINT_INVALID);
    /* infinity only where allowed */
    ec_point inf;
    uint8_t p65[EC_POINT_UNCOMPRESSED_LEN], zeros[EC_POINT_UNCOMPRESSED_LEN];
    ec_point_set_infinity(&inf);
    ec_point_encode_uncompressed(p65, &inf);
    fill(zeros, sizeof zeros, 0);
    assert_memory_equal(p65, zeros, sizeof zeros);
    assert_int_equal(ec_point_parse_uncompressed(&inf, p65, 0), BC_ERR_POINT_INFINITY);
    assert_int_equal(ec_point_parse_uncompressed(&inf, p65, 1), BC_OK);
    assert_true(inf.infinity);
}

typedef void (*lincomb_fn)(ec_point *, const ec_scalar *, const ec_scalar *, const ec_point *);

static void check_lincomb(lincomb_fn f)
{
    for (int i = 0; i < 16; i++) {
        ec_scalar a = random_scalar(), b = random_scalar();
        ec_point p = random_point(), fast, s1, s2, slow;
        f(&fast, &a, &b, &p);
        ec_point_mul_base(&s1, &a);
        ec_point_mul(&s2, &p, &b);
        ec_point_add(&slow, &s1, &s2);
        assert_true(ec_point_equal(&fast, &slow));
    }
    /* a·G + b·(k·G) with a = −b·k is infinity */
    ec_scalar k = random_scalar(), b = random_scalar(), a, zero;
    ec_point p = base_mul(&k), r, inf;
    ec_scalar_mul(&a, &b, &k);
    ec_scalar_neg(&a, &a);
    f(&r, &a, &b, &p);
    assert_true(r.infinity);
    ec_scalar_zero(&zero);
    f(&r, &zero, &zero, &p);
    assert_true(r.infinity);
    ec_point_set_infinity(&inf);
    f(&r, &a, &b, &inf);
    ec_point expect = base_mul(&a);
    assert_true(ec_point_equal(&r, &expect));
    f(&r, &zero, &b, &p);
    ec_point_mul(&expect, &p, &b);
    assert_true(ec_point_equal(&r, &expect));
    /* P = G: a·G + b·G, doubling inside the sum when a = b */
    f(&r, &a, &a, ec_generator());
    ec_scalar two = scalar_u64(2), a2;
    ec_scalar_mul(&a2, &a, &two);
    expect = base_mul(&a2);
    assert_true(ec_point_equal(&r, &expect));
}

static void test_lincomb_matches_constant_time_path_and_reaches_infinity(void **state)
{
    (void)state;
    check_lincomb(ec_point_lincomb_public);
    check_lincomb(ec_point_lincomb_recovery);
    ec_scalar zero;
    ec_point p = random_point(), r;
    ec_scalar_zero(&zero);
    ec_point_mul_public(&r, &p, &zero);
    assert_true(r.infinity);
}

static void test_three_term_lincomb_with_a_fixed_base(void **state)
{
    (void)state;
    ec_scalar y = random_scalar(), a = random_scalar(), s = random_scalar(), b = random_scalar();
    ec_point ypt = base_mul(&y), p = random_point(), r, t1, t2, t3, expect;
    ec_fixed_base *tab = NULL;
    assert_int_equal(ec_fixed_base_new(&tab, &ypt), BC_OK);
    ec_point_lincomb_fixed_public(&r, &a, tab, &s, &b, &p);
    ec_point_mul_base(&t1, &a);
    ec_point_mul(&t2, &ypt, &s);
    ec_point_mul(&t3, &p, &b);
    ec_point_add(&expect, &t1, &t2);
    ec_point_add(&expect, &expect, &t3);
    assert_true(ec_point_equal(&r, &expect));
    /* cancelling: a·G + s·Y + b·P = 0 with P = Y, b = −s, a = 0 */
    ec_scalar ns;
    ec_scalar_neg(&ns, &s);
    ec_point_lincomb_fixed_public(&r, NULL, tab, &s, &ns, &ypt);
    assert_true(r.infinity);
    /* a·G + s·Y with s·y = −a */
    ec_scalar want;
    ec_scalar_mul(&want, &s, &y);
    ec_scalar_neg(&want, &want);
    ec_point_lincomb_fixed_public(&r, &want, tab, &s, NULL, NULL);
    assert_true(r.infinity);
    ec_point_lincomb_fixed_public(&r, NULL, NULL, NULL, NULL, NULL);
    assert_true(r.infinity);
    ec_fixed_base_destroy(&tab);
}

static void test_fixed_base_table_matches_multiplication(void **state)
{
    (void)state;
    ec_point p = random_point(), inf, r, expect;
    ec_fixed_base *t = NULL;
    ec_point_set_infinity(&inf);
    assert_int_equal(ec_fixed_base_new(&t, &inf), BC_ERR_POINT_INFINITY);
    assert_null(t);
    assert_int_equal(ec_fixed_base_new(&t, &p), BC_OK);
    ec_scalar cases[8];
    ec_scalar_zero(&cases[0]);
    cases[1] = scalar_u64(1);
    cases[2] = n_minus(1);
    cases[3] = scalar_u64(0x100); /* a zero low window */
    cases[4] = scalar_u64(0xff);
    for (int i = 5; i < 8; i++)
        cases[i] = random_scalar();
    cases[7].b[3] = 0; /* a zero window in the middle */
    for (int i = 0; i < 8; i++) {
        ec_fixed_base_mul(&r, t, &cases[i]);
        ec_point_mul(&expect, &p, &cases[i]);
        assert_true(ec_point_equal(&r, &expect));
    }
    ec_fixed_base_destroy(&t);
    assert_null(t);
}

/* ------------------------------------------------------------- ElGamal */

static void test_elgamal_round_trip_with_a_single_key(void **state)
{
    (void)state;
    keypair k = make_keypair();
    const uint64_t values[] = {0, 1, 2, 5, 1000, 99999};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        elgamal_ct ct, back;
        uint8_t enc[ELGAMAL_CT_LEN];
        assert_int_equal(elgamal_encrypt(&ct, &k.y, values[i], NULL), BC_OK);
        assert_false(ct.a.infinity);
        assert_false(ct.b.infinity);
        elgamal_encode(enc, &ct);
        assert_int_equal(elgamal_parse(&back, enc, 0), BC_OK);
        assert_int_equal(decrypt_small(&back, &k.x), values[i]);
    }
    /* homomorphic: E(3) + E(4) decrypts to 7; E(m) + E(−m-ish) cancels to infinity */
    elgamal_ct c3, c4, sum;
    assert_int_equal(elgamal_encrypt(&c3, &k.y, 3, NULL), BC_OK);
    assert_int_equal(elgamal_encrypt(&c4, &k.y, 4, NULL), BC_OK);
    elgamal_add(&sum, &c3, &c4);
    assert_int_equal(decrypt_small(&sum, &k.x), 7);
    elgamal_ct neg3;
    ec_point_neg(&neg3.a, &c3.a);
    ec_point_neg(&neg3.b, &c3.b);
    elgamal_add(&sum, &c3, &neg3);
    assert_true(sum.a.infinity && sum.b.infinity);
    uint8_t enc[ELGAMAL_CT_LEN];
    elgamal_encode(enc, &sum);
    elgamal_ct back;
    assert_int_equal(elgamal_parse(&back, enc, 0), BC_ERR_POINT_INFINITY);
    assert_int_equal(elgamal_parse(&back, enc, 1), BC_OK);
    assert_int_equal(decrypt_small(&back, &k.x), 0);
    /* the accumulator agrees with pairwise addition, across several batches */
    elgamal_sum *acc = malloc(sizeof *acc);
    assert_non_null(acc);
    elgamal_sum_init(acc);
    uint64_t total = 0;
    for (int i = 0; i < 300; i++) {
        elgamal_ct c;
        assert_int_equal(elgamal_encrypt(&c, &k.y, (uint64_t)(i % 3), NULL), BC_OK);
        elgamal_sum_add(acc, &c);
        total += (uint64_t)(i % 3);
    }
    elgamal_sum_result(acc, &sum);
    assert_int_equal(decrypt_small(&sum, &k.x), total);
    elgamal_sum_init(acc);
    elgamal_sum_result(acc, &sum);
    assert_true(sum.a.infinity && sum.b.infinity);
    free(acc);
}

/* ------------------------------------------------------ selection proofs */

typedef struct {
    keypair k;
    uint8_t election[32], voter[32];
    elgamal_ct ct;
    uint8_t ct_enc[ELGAMAL_CT_LEN];
    ec_scalar r;
    uint8_t proof[BC_PROOF_SELECTION_LEN];
} sel_fixture;

static bc_err sel_verify(const sel_fixture *f, const uint8_t *election, const uint8_t *voter,
                         uint32_t option, const elgamal_ct *ct, const uint8_t *ct_enc,
                         const uint8_t *proof)
{
    bc_proof_ctx ctx = {election, f->k.y_enc, voter, 0, option};
    return bc_proof_range_verify(BC_TAG_SELECTION, &ctx, &f->k.y, ct, ct_enc, 0, 1, proof,
                                 BC_ERR_PROOF_SELECTION);
}

static void sel_make(sel_fixture *f, uint64_t m, uint32_t claimed)
{
    f->k = make_keypair();
    fill(f->election, 32, 0xe1);
    fill(f->voter, 32, 0x77);
    assert_int_equal(elgamal_encrypt(&f->ct, &f->k.y, m, &f->r), BC_OK);
    elgamal_encode(f->ct_enc, &f->ct);
    bc_proof_ctx ctx = {f->election, f->k.y_enc, f->voter, 0, 2};
    assert_int_equal(bc_proof_range_prove(BC_TAG_SELECTION, &ctx, &f->k.y, &f->ct, f->ct_enc, 0, 1,
                                          claimed, &f->r, f->proof),
                     BC_OK);
}

static void test_selection_proof_verifies_for_zero_and_one(void **state)
{
    (void)state;
    for (uint32_t m = 0; m <= 1; m++) {
        sel_fixture f;
        sel_make(&f, m, m);
        assert_int_equal(sel_verify(&f, f.election, f.voter, 2, &f.ct, f.ct_enc, f.proof), BC_OK);
    }
}

static void test_selection_proof_fails_for_two(void **state)
{
    (void)state;
    sel_fixture f;
    /* the prover refuses to claim 2 ... */
    f.k = make_keypair();
    bc_proof_ctx ctx = {f.election, f.k.y_enc, f.voter, 0, 2};
    fill(f.election, 32, 1);
    fill(f.voter, 32, 2);
    assert_int_equal(elgamal_encrypt(&f.ct, &f.k.y, 2, &f.r), BC_OK);
    elgamal_encode(f.ct_enc, &f.ct);
    assert_int_equal(bc_proof_range_prove(BC_TAG_SELECTION, &ctx, &f.k.y, &f.ct, f.ct_enc, 0, 1, 2,
                                          &f.r, f.proof),
                     BC_ERR_SELECTION);
    /* ... and an encryption of 2 passed off as 1 or 0 does not verify */
    for (uint32_t claim = 0; claim <= 1; claim++) {
        sel_make(&f, 2, claim);
        assert_int_equal(sel_verify(&f, f.election, f.voter, 2, &f.ct, f.ct_enc, f.proof),
                         BC_ERR_PROOF_SELECTION);
    }
}

static void test_selection_proof_fails_for_a_modified_ciphertext(void **state)
{
    (void)state;
    sel_fixture f;
    sel_make(&f, 1, 1);
    elgamal_ct other;
    uint8_t other_enc[ELGAMAL_CT_LEN];
    /* b + G: now an encryption of 2 */
    ec_scalar one = scalar_u64(1);
    ec_point g = base_mul(&one);
    other = f.ct;
    ec_point_add(&other.b, &f.ct.b, &g);
    elgamal_encode(other_enc, &other);
    assert_int_equal(sel_verify(&f, f.election, f.voter, 2, &other, other_enc, f.proof),
                     BC_ERR_PROOF_SELECTION);
    /* b − G: an encryption of 0, valid in itself, but not the one proven */
    ec_point_sub(&other.b, &f.ct.b, &g);
    elgamal_encode(other_enc, &other);
    assert_int_equal(sel_verify(&f, f.election, f.voter, 2, &other, other_enc, f.proof),
                     BC_ERR_PROOF_SELECTION);
    /* a re-randomized ciphertext */
    assert_int_equal(elgamal_encrypt(&other, &f.k.y, 1, NULL), BC_OK);
    elgamal_encode(other_enc, &other);
    assert_int_equal(sel_verify(&f, f.election, f.voter, 2, &other, other_enc, f.proof),
                     BC_ERR_PROOF_SELECTION);
}

static void test_selection_proof_fails_for_a_modified_challenge_or_response(void **state)
{
    (void)state;
    sel_fixture f;
    sel_make(&f, 0, 0);
    for (size_t at = 0; at < BC_PROOF_SELECTION_LEN; at += 16) {
        uint8_t bad[BC_PROOF_SELECTION_LEN];
        memcpy(bad, f.proof, sizeof bad);
        bad[at] ^= 0x01;
        bc_err err = sel_verify(&f, f.election, f.voter, 2, &f.ct, f.ct_enc, bad);
        assert_true(err == BC_ERR_PROOF_SELECTION || err == BC_ERR_SCALAR_RANGE);
    }
    /* swapping the two branches' challenges keeps the sum but breaks the proof */
    uint8_t swapped[BC_PROOF_SELECTION_LEN];
    memcpy(swapped, f.proof + 64, 64);
    memcpy(swapped + 64, f.proof, 64);
    assert_int_equal(sel_verify(&f, f.election, f.voter, 2, &f.ct, f.ct_enc, swapped),
                     BC_ERR_PROOF_SELECTION);
    /* a challenge >= n is refused as a scalar */
    uint8_t big[BC_PROOF_SELECTION_LEN];
    memcpy(big, f.proof, sizeof big);
    memcpy(big, order_n, 32);
    assert_int_equal(sel_verify(&f, f.election, f.voter, 2, &f.ct, f.ct_enc, big),
                     BC_ERR_SCALAR_RANGE);
}

static void test_selection_proof_is_bound_to_voter_election_and_option(void **state)
{
    (void)state;
    sel_fixture f;
    sel_make(&f, 1, 1);
    uint8_t other[32];
    fill(other, 32, 0x78);
    assert_int_equal(sel_verify(&f, f.election, other, 2, &f.ct, f.ct_enc, f.proof),
                     BC_ERR_PROOF_SELECTION);
    assert_int_equal(sel_verify(&f, other, f.voter, 2, &f.ct, f.ct_enc, f.proof),
                     BC_ERR_PROOF_SELECTION);
    assert_int_equal(sel_verify(&f, f.election, f.voter, 1, &f.ct, f.ct_enc, f.proof),
                     BC_ERR_PROOF_SELECTION);
    /* another election key (same election id) */
    sel_fixture g = f;
    g.k = make_keypair();
    assert_int_equal(sel_verify(&g, f.election, f.voter, 2, &f.ct, f.ct_enc, f.proof),
                     BC_ERR_PROOF_SELECTION);
    /* the original still verifies */
    assert_int_equal(sel_verify(&f, f.election, f.voter, 2, &f.ct, f.ct_enc, f.proof), BC_OK);
}

/* ------------------------------------------------------ ballots and counts */

static bc_election *make_election(const uint8_t *id, const keypair *k, const bc_question *q,
                                  size_t count)
{
    bc_election *e = NULL;
    assert_int_equal(bc_election_new(&e, id, k->y_enc, q, count), BC_OK);
    return e;
}

static uint8_t *encrypt_ballot(const bc_election *e, const uint8_t *voter, const uint8_t *sel)
{
    size_t size = bc_ballot_size(e);
    uint8_t *b = malloc(size);
    assert_non_null(b);
    assert_int_equal(bc_ballot_encrypt(e, voter, sel, bc_election_slots(e), b, size), BC_OK);
    return b;
}

static void test_exactly_one_count_rejects_a_ballot_with_two_selections(void **state)
{
    (void)state;
    keypair k = make_keypair();
    uint8_t id[32], voter[32];
    fill(id, 32, 9);
    fill(voter, 32, 5);
    bc_question one = {3, 1, 1}, two = {3, 2, 2};
    bc_election *e1 = make_election(id, &k, &one, 1), *e2 = make_election(id, &k, &two, 1);
    const uint8_t double_vote[3] = {1, 1, 0}, single[3] = {0, 0, 1}, none[3] = {0, 0, 0};
    uint8_t *buf = malloc(bc_ballot_size(e1));
    assert_int_equal(bc_ballot_encrypt(e1, voter, double_vote, 3, buf, bc_ballot_size(e1)),
                     BC_ERR_SELECTION);
    assert_int_equal(bc_ballot_encrypt(e1, voter, none, 3, buf, bc_ballot_size(e1)),
                     BC_ERR_SELECTION);
    free(buf);
    /* A cheater builds a valid "exactly 2" ballot (same election id, key,
     * voter, same size) and submits it where exactly 1 is allowed: every 0/1
     * proof holds, the count proof does not. */
    uint8_t *cheat = encrypt_ballot(e2, voter, double_vote);
    size_t fault = 99;
    assert_int_equal(bc_ballot_verify(e2, voter, cheat, bc_ballot_size(e2), NULL, NULL), BC_OK);
    assert_int_equal(bc_ballot_verify(e1, voter, cheat, bc_ballot_size(e1), NULL, &fault),
                     BC_ERR_PROOF_COUNT);
    assert_int_equal(fault, 0);
    uint8_t *good = encrypt_ballot(e1, voter, single);
    assert_int_equal(bc_ballot_verify(e1, voter, good, bc_ballot_size(e1), NULL, NULL), BC_OK);
    free(cheat);
    free(good);
    bc_election_destroy(&e1);
    bc_election_destroy(&e2);
    assert_null(e1);
}

static void test_count_proof_copied_from_another_voters_ballot_is_rejected(void **state)
{
    (void)state;
    keypair k = make_keypair();
    uint8_t id[32], alice[32], bob[32];
    fill(id, 32, 0x31);
    fill(alice, 32, 0xa1);
    fill(bob, 32, 0xb0);
    bc_question q = {3, 1, 1};
    bc_election *e = make_election(id, &k, &q, 1);
    const uint8_t sel[3] = {0, 1, 0};
    uint8_t *a = encrypt_ballot(e, alice, sel), *b = encrypt_ballot(e, bob, sel);
    size_t size = bc_ballot_size(e);
    /* Bob keeps his ciphertexts and 0/1 proofs but takes Alice's count proof */
    memcpy(b + size - BC_PROOF_DLEQ_LEN, a + size - BC_PROOF_DLEQ_LEN, BC_PROOF_DLEQ_LEN);
    assert_int_equal(bc_ballot_verify(e, bob, b, size, NULL, NULL), BC_ERR_PROOF_COUNT);
    /* Alice's whole ballot under Bob's key */
    assert_int_equal(bc_ballot_verify(e, bob, a, size, NULL, NULL), BC_ERR_PROOF_SELECTION);
    assert_int_equal(bc_ballot_verify(e, alice, a, size, NULL, NULL), BC_OK);
    free(a);
    free(b);
    bc_election_destroy(&e);
}

static void test_approval_count_accepts_zero_to_limit_and_rejects_more(void **state)
{
    (void)state;
    keypair k = make_keypair();
    uint8_t id[32], voter[32];
    fill(id, 32, 3);
    fill(voter, 32, 4);
    bc_question upto2 = {3, 0, 2}, from1to3 = {3, 1, 3};
    bc_election *e = make_election(id, &k, &upto2, 1), *wide = make_election(id, &k, &from1to3, 1);
    assert_int_equal(bc_ballot_size(e), bc_ballot_size(wide));
    const uint8_t sels[4][3] = {{0, 0, 0}, {0, 1, 0}, {1, 0, 1}, {1, 1, 1}};
    for (int i = 0; i < 3; i++) {
        uint8_t *b = encrypt_ballot(e, voter, sels[i]);
        elgamal_ct cts[3];
        assert_int_equal(bc_ballot_verify(e, voter, b, bc_ballot_size(e), cts, NULL), BC_OK);
        for (int o = 0; o < 3; o++)
            assert_int_equal(decrypt_small(&cts[o], &k.x), sels[i][o]);
        free(b);
    }
    uint8_t buf[4096];
    assert_true(bc_ballot_size(e) <= sizeof buf);
    assert_int_equal(bc_ballot_encrypt(e, voter, sels[3], 3, buf, bc_ballot_size(e)),
                     BC_ERR_SELECTION);
    /* three selections proven within 1..3, submitted where 0..2 is the rule */
    uint8_t *cheat = encrypt_ballot(wide, voter, sels[3]);
    assert_int_equal(bc_ballot_verify(wide, voter, cheat, bc_ballot_size(wide), NULL, NULL), BC_OK);
    assert_int_equal(bc_ballot_verify(e, voter, cheat, bc_ballot_size(e), NULL, NULL),
                     BC_ERR_PROOF_COUNT);
    free(cheat);
    bc_election_destroy(&e);
    bc_election_destroy(&wide);
}

static void test_whole_ballot_with_two_questions_encrypts_and_verifies(void **state)
{
    (void)state;
    keypair k = make_keypair();
    uint8_t id[32], voter[32], other[32];
    fill(id, 32, 0x11);
    fill(voter, 32, 0x22);
    fill(other, 32, 0x23);
    bc_question qs[2] = {{3, 1, 1}, {4, 0, 2}};
    bc_election *e = make_election(id, &k, qs, 2);
    assert_int_equal(bc_election_slots(e), 7);
    assert_int_equal(bc_ballot_size(e), 7 * (ELGAMAL_CT_LEN + BC_PROOF_SELECTION_LEN) +
                                            BC_PROOF_DLEQ_LEN + BC_PROOF_RANGE_LEN(0, 2));
    const uint8_t sel[7] = {0, 1, 0, 1, 0, 0, 1};
    uint8_t *b = encrypt_ballot(e, voter, sel);
    size_t size = bc_ballot_size(e), fault = 0;
    elgamal_ct cts[7];
    assert_int_equal(bc_ballot_verify(e, voter, b, size, cts, &fault), BC_OK);
    for (int i = 0; i < 7; i++)
        assert_int_equal(decrypt_small(&cts[i], &k.x), sel[i]);
    /* parsing only gives the same ciphertexts */
    elgamal_ct parsed[7];
    assert_int_equal(bc_ballot_ciphertexts(e, b, size, parsed), BC_OK);
    for (int i = 0; i < 7; i++)
        assert_true(ec_point_equal(&parsed[i].a, &cts[i].a) &&
                    ec_point_equal(&parsed[i].b, &cts[i].b));
    assert_int_equal(bc_ballot_ciphertexts(e, b, size + 1, parsed), BC_ERR_LENGTH);
    /* copied to another voter: refused */
    assert_int_equal(bc_ballot_verify(e, other, b, size, NULL, &fault), BC_ERR_PROOF_SELECTION);
    /* another election (same key): refused */
    uint8_t id2[32];
    fill(id2, 32, 0x12);
    bc_election *e2 = make_election(id2, &k, qs, 2);
    assert_int_equal(bc_ballot_verify(e2, voter, b, size, NULL, NULL), BC_ERR_PROOF_SELECTION);
    bc_election_destroy(&e2);
    /* wrong number of ciphertexts */
    assert_int_equal(bc_ballot_verify(e, voter, b, size - 1, NULL, NULL), BC_ERR_LENGTH);
    assert_int_equal(bc_ballot_verify(e, voter, b, size - (ELGAMAL_CT_LEN + BC_PROOF_SELECTION_LEN),
                                      NULL, NULL),
                     BC_ERR_LENGTH);
    /* a malformed point in option 5 (question 2, option 1) */
    size_t at = 4 * (ELGAMAL_CT_LEN + BC_PROOF_SELECTION_LEN);
    at += 3 * (ELGAMAL_CT_LEN + BC_PROOF_SELECTION_LEN) + BC_PROOF_DLEQ_LEN -
          3 * (ELGAMAL_CT_LEN + BC_PROOF_SELECTION_LEN); /* q1 ends after 3 items + its proof */
    uint8_t saved = b[at];
    b[at] = 0x05;
    assert_int_equal(bc_ballot_verify(e, voter, b, size, NULL, &fault), BC_ERR_POINT_INVALID);
    assert_int_equal(fault, 4);
    b[at] = saved;
    /* an infinity ciphertext component is refused */
    uint8_t keep[EC_POINT_LEN];
    memcpy(keep, b, EC_POINT_LEN);
    memset(b, 0, EC_POINT_LEN);
    assert_int_equal(bc_ballot_verify(e, voter, b, size, NULL, &fault), BC_ERR_POINT_INFINITY);
    assert_int_equal(fault, 0);
    memcpy(b, keep, EC_POINT_LEN);
    /* a tampered count proof of question 2 */
    b[size - 1] ^= 1;
    assert_int_equal(bc_ballot_verify(e, voter, b, size, NULL, &fault), BC_ERR_PROOF_COUNT);
    assert_int_equal(fault, 1);
    b[size - 1] ^= 1;
    assert_int_equal(bc_ballot_verify(e, voter, b, size, NULL, NULL), BC_OK);
    /* bad selections */
    const uint8_t two[7] = {2, 0, 0, 0, 0, 0, 0};
    assert_int_equal(bc_ballot_encrypt(e, voter, two, 7, b, size), BC_ERR_SELECTION);
    free(b);
    bc_election_destroy(&e);
}

static void test_every_single_byte_corruption_of_a_ballot_is_refused(void **state)
{
    (void)state;
    keypair k = make_keypair();
    uint8_t id[32], voter[32];
    fill(id, 32, 0x41);
    fill(voter, 32, 0x42);
    bc_question q = {3, 1, 1};
    bc_election *e = make_election(id, &k, &q, 1);
    const uint8_t sel[3] = {1, 0, 0};
    uint8_t *b = encrypt_ballot(e, voter, sel);
    size_t size = bc_ballot_size(e);
    for (size_t at = 0; at < size; at++) {
        uint8_t saved = b[at];
        b[at] ^= (uint8_t)(1u << (at % 8));
        bc_err err = bc_ballot_verify(e, voter, b, size, NULL, NULL);
        assert_int_not_equal(err, BC_OK);
        assert_true(err == BC_ERR_POINT_INVALID || err == BC_ERR_POINT_INFINITY ||
                    err == BC_ERR_SCALAR_RANGE || err == BC_ERR_PROOF_SELECTION ||
                    err == BC_ERR_PROOF_COUNT);
        b[at] = saved;
    }
    assert_int_equal(bc_ballot_verify(e, voter, b, size, NULL, NULL), BC_OK);
    free(b);
    bc_election_destroy(&e);
}

static void test_election_definition_is_checked(void **state)
{
    (void)state;
    keypair k = make_keypair();
    uint8_t id[32], zeros[EC_POINT_LEN];
    fill(id, 32, 1);
    fill(zeros, sizeof zeros, 0);
    bc_election *e = NULL;
    bc_question none = {0, 0, 0}, inverted = {3, 2, 1}, toomany = {3, 0, 4},
                big = {BC_MAX_OPTIONS + 1, 1, 1}, ok = {3, 1, 1};
    assert_int_equal(bc_election_new(&e, id, k.y_enc, &none, 1), BC_ERR_QUESTION);
    assert_int_equal(bc_election_new(&e, id, k.y_enc, &inverted, 1), BC_ERR_QUESTION);
    assert_int_equal(bc_election_new(&e, id, k.y_enc, &toomany, 1), BC_ERR_QUESTION);
    assert_int_equal(bc_election_new(&e, id, k.y_enc, &big, 1), BC_ERR_QUESTION);
    assert_int_equal(bc_election_new(&e, id, k.y_enc, &ok, 0), BC_ERR_QUESTION);
    assert_int_equal(bc_election_new(&e, id, zeros, &ok, 1), BC_ERR_POINT_INFINITY);
    assert_null(e);
}

/* ------------------------------------------------------------ key ceremony */

typedef struct {
    uint32_t n, t;
    uint8_t id[32];
    ec_scalar ek[DKG_MAX_TRUSTEES + 1];
    uint8_t ek_pub[DKG_MAX_TRUSTEES + 1][EC_POINT_LEN];
    ec_point *commit;        /* n × t, dealer i at (i−1)·t */
    uint8_t *shares;         /* [dealer][recipient] DKG_SHARE_LEN, 1-based */
    ec_scalar x[DKG_MAX_TRUSTEES + 1];
    ec_point xpub[DKG_MAX_TRUSTEES + 1];
    ec_point y;
} ceremony;

static uint8_t *share_at(ceremony *c, uint32_t dealer, uint32_t j)
{
    return c->shares + ((size_t)(dealer - 1) * c->n + (j - 1)) * DKG_SHARE_LEN;
}

/* Runs the whole ceremony, all honest. */
static ceremony *run_ceremony(uint32_t n, uint32_t t)
{
    ceremony *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->n = n;
    c->t = t;
    fill(c->id, 32, 0xdd);
    c->commit = calloc((size_t)n * t, sizeof(ec_point));
    c->shares = calloc((size_t)n * n, DKG_SHARE_LEN);
    assert_non_null(c->commit);
    assert_non_null(c->shares);
    for (uint32_t j = 1; j <= n; j++)
        assert_int_equal(dkg_encryption_keypair(&c->ek[j], c->ek_pub[j]), BC_OK);
    ec_scalar *own = calloc((size_t)n * n, sizeof(ec_scalar)); /* [j][i] s_ij */
    assert_non_null(own);
    for (uint32_t i = 1; i <= n; i++) {
        dkg_dealer *d = NULL;
        assert_int_equal(dkg_dealer_new(&d, c->id, n, t, i), BC_OK);
        uint8_t *cm = malloc((size_t)t * EC_POINT_LEN), pok[BC_PROOF_DLEQ_LEN];
        assert_int_equal(dkg_dealer_commitments(d, cm, pok), BC_OK);
        assert_int_equal(dkg_verify_commitments(c->id, i, t, cm, (size_t)t * EC_POINT_LEN, pok,
                                                &c->commit[(size_t)(i - 1) * t]),
                         BC_OK);
        /* the proof of knowledge is bound to the dealer index */
        if (i < n) {
            ec_point tmp[DKG_MAX_TRUSTEES];
            assert_int_equal(dkg_verify_commitments(c->id, i + 1, t, cm, (size_t)t * EC_POINT_LEN,
                                                    pok, tmp),
                             BC_ERR_PROOF_KNOWLEDGE);
        }
        for (uint32_t j = 1; j <= n; j++) {
            if (j == i) {
                assert_int_equal(dkg_dealer_share(d, j, &own[(size_t)(j - 1) * n + (i - 1)]),
                                 BC_OK);
                continue;
            }
            uint8_t pok_e[DKG_SHARE_PROOF_LEN];
            assert_int_equal(dkg_dealer_encrypt_share(d, j, c->ek_pub[j], share_at(c, i, j), pok_e),
                             BC_OK);
            assert_int_equal(dkg_share_proof_verify(c->id, i, j, share_at(c, i, j), pok_e), BC_OK);
        }
        free(cm);
        dkg_dealer_destroy(&d);
        assert_null(d);
    }
    for (uint32_t j = 1; j <= n; j++) {
        for (uint32_t i = 1; i <= n; i++) {
            if (i == j)
                continue;
            assert_int_equal(dkg_receive_share(c->id, i, j, &c->ek[j], share_at(c, i, j),
                                               &c->commit[(size_t)(i - 1) * t], t,
                                               &own[(size_t)(j - 1) * n + (i - 1)]),
                             BC_OK);
        }
        dkg_secret_share(&c->x[j], &own[(size_t)(j - 1) * n], n);
        assert_int_equal(dkg_verification_key(&c->xpub[j], j, c->commit, n, t), BC_OK);
        ec_point check = base_mul(&c->x[j]);
        assert_true(ec_point_equal(&check, &c->xpub[j]));
    }
    assert_int_equal(dkg_joint_key(&c->y, c->commit, n, t), BC_OK);
    crypto_wipe(own, (size_t)n * n * sizeof(ec_scalar));
    free(own);
    return c;
}

static void ceremony_free(ceremony *c)
{
    free(c->commit);
    free(c->shares);
    free(c);
}

/* Any t shares interpolate the joint secret: Σ λ_j x_j · G = Y. */
static void check_interpolation(ceremony *c, const uint32_t *idx, size_t count, int expect_ok)
{
    ec_scalar secret, lambda, term;
    ec_scalar_zero(&secret);
    for (size_t k = 0; k < count; k++) {
        assert_int_equal(bc_lagrange_at_zero(&lambda, idx, count, k), BC_OK);
        ec_scalar_mul(&term, &lambda, &c->x[idx[k]]);
        ec_scalar_add(&secret, &secret, &term);
    }
    ec_point p = base_mul(&secret);
    assert_int_equal(ec_point_equal(&p, &c->y), expect_ok);
}

static void test_key_ceremony_four_trustees_threshold_three(void **state)
{
    (void)state;
    ceremony *c = run_ceremony(4, 3);
    const uint32_t a[3] = {1, 2, 3}, b[3] = {2, 3, 4}, d[3] = {4, 1, 3}, two[2] = {1, 2};
    check_interpolation(c, a, 3, 1);
    check_interpolation(c, b, 3, 1);
    check_interpolation(c, d, 3, 1);
    check_interpolation(c, two, 2, 0);
    ceremony_free(c);
}

static void test_key_ceremony_seven_trustees_threshold_five(void **state)
{
    (void)state;
    ceremony *c = run_ceremony(7, 5);
    const uint32_t a[5] = {1, 2, 3, 4, 5}, b[5] = {7, 6, 5, 4, 3}, four[4] = {1, 3, 5, 7};
    check_interpolation(c, a, 5, 1);
    check_interpolation(c, b, 5, 1);
    check_interpolation(c, four, 4, 0);
    ceremony_free(c);
}

static void test_key_ceremony_parameters_are_checked(void **state)
{
    (void)state;
    uint8_t id[32];
    fill(id, 32, 1);
    dkg_dealer *d = NULL;
    assert_int_equal(dkg_dealer_new(&d, id, 4, 5, 1), BC_ERR_THRESHOLD);
    assert_int_equal(dkg_dealer_new(&d, id, 4, 0, 1), BC_ERR_THRESHOLD);
    assert_int_equal(dkg_dealer_new(&d, id, 4, 3, 0), BC_ERR_TRUSTEE_INDEX);
    assert_int_equal(dkg_dealer_new(&d, id, 4, 3, 5), BC_ERR_TRUSTEE_INDEX);
    assert_null(d);
    const uint32_t dup[3] = {1, 2, 1}, zero[2] = {0, 1};
    ec_scalar l;
    assert_int_equal(bc_lagrange_at_zero(&l, dup, 3, 0), BC_ERR_TRUSTEE_INDEX);
    /* a repeated index that is not the one asked about */
    const uint32_t dup_others[3] = {1, 2, 2};
    assert_int_equal(bc_lagrange_at_zero(&l, dup_others, 3, 0), BC_ERR_TRUSTEE_INDEX);
    assert_int_equal(bc_lagrange_at_zero(&l, zero, 2, 1), BC_ERR_TRUSTEE_INDEX);
    /* a single share with t = 1 is its own secret: λ = 1 */
    const uint32_t solo[1] = {3};
    ec_scalar one = scalar_u64(1);
    assert_int_equal(bc_lagrange_at_zero(&l, solo, 1, 0), BC_OK);
    assert_true(ec_scalar_equal(&l, &one));
}

static void test_corrupted_share_is_detected_and_the_complaint_convinces_an_observer(void **state)
{
    (void)state;
    ceremony *c = run_ceremony(4, 3);
    const uint32_t dealer = 2, victim = 3;
    const ec_point *cm = &c->commit[(size_t)(dealer - 1) * c->t];
    /* dealer 2 sends trustee 3 a wrong share, correctly encrypted */
    ec_scalar wrong = random_scalar(), s;
    uint8_t bad[DKG_SHARE_LEN], complaint[DKG_COMPLAINT_LEN];
    assert_int_equal(dkg_encrypt_share_value(c->id, dealer, victim, &wrong, c->ek_pub[victim], bad,
                                             NULL),
                     BC_OK);
    assert_int_equal(dkg_receive_share(c->id, dealer, victim, &c->ek[victim], bad, cm, c->t, &s),
                     BC_ERR_SHARE_INVALID);
    assert_int_equal(dkg_complaint_make(c->id, dealer, victim, &c->ek[victim], bad, complaint),
                     BC_OK);
    /* an observer, with public data only, upholds the complaint */
    assert_int_equal(dkg_complaint_verify(c->id, dealer, victim, c->ek_pub[victim], bad, cm, c->t,
                                          complaint),
                     BC_OK);
    /* a tampered complaint (wrong shared point) is itself refused */
    uint8_t forged[DKG_COMPLAINT_LEN];
    memcpy(forged, complaint, sizeof forged);
    ec_point other = random_point();
    ec_point_encode(forged, &other);
    assert_int_equal(dkg_complaint_verify(c->id, dealer, victim, c->ek_pub[victim], bad, cm, c->t,
                                          forged),
                     BC_ERR_PROOF_COMPLAINT);
    /* the complaint is bound to the dealer and the complainer */
    assert_int_equal(dkg_complaint_verify(c->id, 1, victim, c->ek_pub[victim], bad,
                                          &c->commit[0], c->t, complaint),
                     BC_ERR_PROOF_COMPLAINT);
    /* a share whose ciphertext was altered fails its tag; the complaint holds */
    uint8_t altered[DKG_SHARE_LEN];
    memcpy(altered, share_at(c, dealer, victim), DKG_SHARE_LEN);
    altered[EC_POINT_LEN + 5] ^= 0x40;
    assert_int_equal(dkg_receive_share(c->id, dealer, victim, &c->ek[victim], altered, cm, c->t,
                                       &s),
                     BC_ERR_SHARE_MAC);
    assert_int_equal(dkg_complaint_make(c->id, dealer, victim, &c->ek[victim], altered, complaint),
                     BC_OK);
    assert_int_equal(dkg_complaint_verify(c->id, dealer, victim, c->ek_pub[victim], altered, cm,
                                          c->t, complaint),
                     BC_OK);
    /* a share encrypted for another recipient fails the tag as well */
    assert_int_equal(dkg_receive_share(c->id, dealer, 4, &c->ek[4], share_at(c, dealer, victim), cm,
                                       c->t, &s),
                     BC_ERR_SHARE_MAC);
    ceremony_free(c);
}

static void test_false_complaint_against_an_honest_dealer_is_refuted(void **state)
{
    (void)state;
    ceremony *c = run_ceremony(4, 3);
    const uint32_t dealer = 1, liar = 4;
    const ec_point *cm = &c->commit[0];
    uint8_t complaint[DKG_COMPLAINT_LEN];
    const uint8_t *good = share_at(c, dealer, liar);
    assert_int_equal(dkg_complaint_make(c->id, dealer, liar, &c->ek[liar], good, complaint), BC_OK);
    assert_int_equal(dkg_complaint_verify(c->id, dealer, liar, c->ek_pub[liar], good, cm, c->t,
                                          complaint),
                     BC_ERR_COMPLAINT_FALSE);
    ceremony_free(c);
}

/* -------------------------------------------------- tally and decryption */

static void test_tally_of_fifty_ballots_decrypts_with_any_three_of_four_trustees(void **state)
{
    (void)state;
    ceremony *c = run_ceremony(4, 3);
    uint8_t id[32], y_enc[EC_POINT_LEN];
    memcpy(id, c->id, 32);
    ec_point_encode(y_enc, &c->y);
    bc_question q = {3, 1, 1};
    bc_election *e = NULL;
    assert_int_equal(bc_election_new(&e, id, y_enc, &q, 1), BC_OK);
    uint64_t expect[3] = {0, 0, 0};
    elgamal_sum *acc = malloc(3 * sizeof *acc);
    assert_non_null(acc);
    for (int o = 0; o < 3; o++)
        elgamal_sum_init(&acc[o]);
    uint8_t *b = malloc(bc_ballot_size(e));
    for (int v = 0; v < 50; v++) {
        uint8_t voter[32], sel[3] = {0, 0, 0};
        fill(voter, 32, (uint8_t)v);
        int choice = (v * 7 + v / 3) % 3;
        if (v < 2)
            choice = 2; /* option 0 gets a nonzero count, option 2 the largest */
        sel[choice] = 1;
        expect[choice]++;
        assert_int_equal(bc_ballot_encrypt(e, voter, sel, 3, b, bc_ballot_size(e)), BC_OK);
        elgamal_ct cts[3];
        assert_int_equal(bc_ballot_verify(e, voter, b, bc_ballot_size(e), cts, NULL), BC_OK);
        for (int o = 0; o < 3; o++)
            elgamal_sum_add(&acc[o], &cts[o]);
    }
    free(b);
    elgamal_ct tally[3];
    for (int o = 0; o < 3; o++)
        elgamal_sum_result(&acc[o], &tally[o]);
    free(acc);
    /* every trustee posts a partial decryption per option; anyone verifies */
    ec_point d[5][3];
    for (uint32_t j = 1; j <= 4; j++) {
        for (uint32_t o = 0; o < 3; o++) {
            bc_partial_ctx pc = {id, y_enc, j, o};
            uint8_t part[BC_PARTIAL_LEN];
            assert_int_equal(bc_tally_partial_decrypt(&pc, &c->x[j], &c->xpub[j], &tally[o], part),
                             BC_OK);
            assert_int_equal(bc_tally_partial_verify(&pc, &c->xpub[j], &tally[o], part,
                                                     sizeof part, &d[j][o]),
                             BC_OK);
            /* bound to the trustee and the slot */
            bc_partial_ctx wrong_slot = {id, y_enc, j, (o + 1) % 3};
            ec_point tmp;
            assert_int_equal(bc_tally_partial_verify(&wrong_slot, &c->xpub[j], &tally[o], part,
                                                     sizeof part, &tmp),
                             BC_ERR_PROOF_DECRYPTION);
        }
    }
    dlog_table *t = NULL;
    assert_int_equal(dlog_table_new(&t, 50), BC_OK);
    const uint32_t subsets[4][3] = {{1, 2, 3}, {1, 2, 4}, {1, 3, 4}, {2, 3, 4}};
    for (int s = 0; s < 4; s++) {
        for (int o = 0; o < 3; o++) {
            ec_point shares[3], m;
            for (int k = 0; k < 3; k++)
                shares[k] = d[subsets[s][k]][o];
            assert_int_equal(bc_tally_combine(&m, &tally[o], 3, subsets[s], shares, 3), BC_OK);
            uint64_t count = 999;
            assert_int_equal(dlog_solve(t, &m, &count), BC_OK);
            assert_int_equal(count, expect[o]);
        }
    }
    /* all four together give the same */
    const uint32_t all[4] = {1, 2, 3, 4};
    for (int o = 0; o < 3; o++) {
        ec_point shares[4] = {d[1][o], d[2][o], d[3][o], d[4][o]}, m;
        uint64_t count = 999;
        assert_int_equal(bc_tally_combine(&m, &tally[o], 3, all, shares, 4), BC_OK);
        assert_int_equal(dlog_solve(t, &m, &count), BC_OK);
        assert_int_equal(count, expect[o]);
    }
    /* two of four are not enough: refused for t = 3, and a caller that lies
     * about the threshold gets a point that is not the count */
    const uint32_t pair[2] = {1, 2};
    for (int o = 0; o < 3; o++) {
        ec_point shares[2] = {d[1][o], d[2][o]}, m;
        uint64_t count = 999;
        assert_int_equal(bc_tally_combine(&m, &tally[o], 3, pair, shares, 2), BC_ERR_THRESHOLD);
        assert_int_equal(bc_tally_combine(&m, &tally[o], 2, pair, shares, 2), BC_OK);
        bc_err err = dlog_solve(t, &m, &count);
        assert_true(err == BC_ERR_DLOG_NOT_FOUND || count != expect[o]);
    }
    dlog_table_destroy(&t);
    bc_election_destroy(&e);
    ceremony_free(c);
}

static void test_bad_partial_decryption_proof_is_rejected(void **state)
{
    (void)state;
    ceremony *c = run_ceremony(4, 3);
    uint8_t y_enc[EC_POINT_LEN];
    ec_point_encode(y_enc, &c->y);
    elgamal_ct ct;
    assert_int_equal(elgamal_encrypt(&ct, &c->y, 7, NULL), BC_OK);
    bc_partial_ctx pc = {c->id, y_enc, 2, 0};
    uint8_t part[BC_PARTIAL_LEN];
    ec_point d;
    assert_int_equal(bc_tally_partial_decrypt(&pc, &c->x[2], &c->xpub[2], &ct, part), BC_OK);
    assert_int_equal(bc_tally_partial_verify(&pc, &c->xpub[2], &ct, part, sizeof part, &d), BC_OK);
    /* D replaced by D + G, proof kept */
    ec_scalar one = scalar_u64(1);
    ec_point g = base_mul(&one), d2;
    ec_point_add(&d2, &d, &g);
    uint8_t bad[BC_PARTIAL_LEN];
    memcpy(bad, part, sizeof bad);
    ec_point_encode(bad, &d2);
    assert_int_equal(bc_tally_partial_verify(&pc, &c->xpub[2], &ct, bad, sizeof bad, &d),
                     BC_ERR_PROOF_DECRYPTION);
    /* trustee 3's verification key with trustee 2's share */
    bc_partial_ctx pc3 = {c->id, y_enc, 3, 0};
    assert_int_equal(bc_tally_partial_verify(&pc3, &c->xpub[3], &ct, part, sizeof part, &d),
                     BC_ERR_PROOF_DECRYPTION);
    /* a partial decryption made with the wrong secret */
    assert_int_equal(bc_tally_partial_decrypt(&pc, &c->x[1], &c->xpub[2], &ct, bad), BC_OK);
    assert_int_equal(bc_tally_partial_verify(&pc, &c->xpub[2], &ct, bad, sizeof bad, &d),
                     BC_ERR_PROOF_DECRYPTION);
    /* a flipped response byte, a truncated share, a point that is not one */
    memcpy(bad, part, sizeof bad);
    bad[BC_PARTIAL_LEN - 1] ^= 1;
    assert_int_equal(bc_tally_partial_verify(&pc, &c->xpub[2], &ct, bad, sizeof bad, &d),
                     BC_ERR_PROOF_DECRYPTION);
    assert_int_equal(bc_tally_partial_verify(&pc, &c->xpub[2], &ct, part, sizeof part - 1, &d),
                     BC_ERR_LENGTH);
    memcpy(bad, part, sizeof bad);
    bad[0] = 7;
    assert_int_equal(bc_tally_partial_verify(&pc, &c->xpub[2], &ct, bad, sizeof bad, &d),
                     BC_ERR_POINT_INVALID);
    /* a tally with a = infinity (an empty sum): D is infinity and still proven */
    elgamal_ct empty;
    ec_point_set_infinity(&empty.a);
    ec_point_set_infinity(&empty.b);
    assert_int_equal(bc_tally_partial_decrypt(&pc, &c->x[2], &c->xpub[2], &empty, part), BC_OK);
    assert_int_equal(bc_tally_partial_verify(&pc, &c->xpub[2], &empty, part, sizeof part, &d),
                     BC_OK);
    assert_true(d.infinity);
    ceremony_free(c);
}

/* ------------------------------------------------------------------ BSGS */

static void test_bsgs_finds_zero_one_bound_and_refuses_bound_plus_one(void **state)
{
    (void)state;
    const uint64_t bounds[] = {1, 2, 1000, 10000000};
    for (size_t bi = 0; bi < sizeof bounds / sizeof bounds[0]; bi++) {
        uint64_t bound = bounds[bi], m;
        dlog_table *t = NULL;
        assert_int_equal(dlog_table_new(&t, bound), BC_OK);
        uint64_t probes[8] = {0, 1, bound, bound - 1, bound / 2, 0, 0, 0};
        uint8_t rnd[24];
        assert_int_equal(crypto_random(rnd, sizeof rnd), CRYPTO_OK);
        for (int k = 0; k < 3; k++) {
            uint64_t v = 0;
            memcpy(&v, rnd + 8 * k, 8);
            probes[5 + k] = v % (bound + 1);
        }
        for (int k = 0; k < 8; k++) {
            ec_scalar s = scalar_u64(probes[k]);
            ec_point p = base_mul(&s);
            assert_int_equal(dlog_solve(t, &p, &m), BC_OK);
            assert_int_equal(m, probes[k]);
        }
        ec_scalar s = scalar_u64(bound + 1);
        ec_point p = base_mul(&s);
        assert_int_equal(dlog_solve(t, &p, &m), BC_ERR_DLOG_NOT_FOUND);
        /* (−1)·G = (n − 1)·G is not small either */
        ec_scalar nm1 = n_minus(1);
        p = base_mul(&nm1);
        assert_int_equal(dlog_solve(t, &p, &m), BC_ERR_DLOG_NOT_FOUND);
        dlog_table_destroy(&t);
        assert_null(t);
    }
}

static void test_strerror_covers_every_code(void **state)
{
    (void)state;
    for (int e = BC_OK; e <= BC_ERR_DLOG_NOT_FOUND; e++) {
        const char *s = bc_strerror((bc_err)e);
        assert_non_null(s);
        assert_string_not_equal(s, "Unknown ballot cryptography error.");
    }
    assert_string_equal(bc_strerror((bc_err)999), "Unknown ballot cryptography error.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalar_parse_accepts_below_order_and_refuses_order_and_above),
        cmocka_unit_test(test_scalar_reduce_wraps_order_and_above),
        cmocka_unit_test(test_scalar_arithmetic_handles_zero_results),
        cmocka_unit_test(test_scalar_inverse_of_one_minus_one_and_random),
        cmocka_unit_test(test_point_infinity_from_zero_times_g_and_cancelling_sum),
        cmocka_unit_test(test_point_encoding_round_trip_and_infinity_refused_where_not_allowed),
        cmocka_unit_test(test_uncompressed_state_encoding_round_trip_and_refusals),
        cmocka_unit_test(test_lincomb_matches_constant_time_path_and_reaches_infinity),
        cmocka_unit_test(test_three_term_lincomb_with_a_fixed_base),
        cmocka_unit_test(test_fixed_base_table_matches_multiplication),
        cmocka_unit_test(test_elgamal_round_trip_with_a_single_key),
        cmocka_unit_test(test_selection_proof_verifies_for_zero_and_one),
        cmocka_unit_test(test_selection_proof_fails_for_two),
        cmocka_unit_test(test_selection_proof_fails_for_a_modified_ciphertext),
        cmocka_unit_test(test_selection_proof_fails_for_a_modified_challenge_or_response),
        cmocka_unit_test(test_selection_proof_is_bound_to_voter_election_and_option),
        cmocka_unit_test(test_exactly_one_count_rejects_a_ballot_with_two_selections),
        cmocka_unit_test(test_count_proof_copied_from_another_voters_ballot_is_rejected),
        cmocka_unit_test(test_approval_count_accepts_zero_to_limit_and_rejects_more),
        cmocka_unit_test(test_whole_ballot_with_two_questions_encrypts_and_verifies),
        cmocka_unit_test(test_every_single_byte_corruption_of_a_ballot_is_refused),
        cmocka_unit_test(test_election_definition_is_checked),
        cmocka_unit_test(test_key_ceremony_four_trustees_threshold_three),
        cmocka_unit_test(test_key_ceremony_seven_trustees_threshold_five),
        cmocka_unit_test(test_key_ceremony_parameters_are_checked),
        cmocka_unit_test(test_corrupted_share_is_detected_and_the_complaint_convinces_an_observer),
        cmocka_unit_test(test_false_complaint_against_an_honest_dealer_is_refuted),
        cmocka_unit_test(test_tally_of_fifty_ballots_decrypts_with_any_three_of_four_trustees),
        cmocka_unit_test(test_bad_partial_decryption_proof_is_rejected),
        cmocka_unit_test(test_bsgs_finds_zero_one_bound_and_refuses_bound_plus_one),
        cmocka_unit_test(test_strerror_covers_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
