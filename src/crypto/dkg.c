/* The trustees' key ceremony: Feldman-verifiable secret sharing by every
 * trustee (a Pedersen-style DKG without a trusted dealer), shares encrypted
 * to each recipient with ECDH and tagged-hash keystream and MAC, and
 * complaints that anyone can judge: the complainer reveals the ECDH point
 * with a DLEQ proof, so every observer decrypts the same share and checks it.
 *
 * A complaint reveals ek_j·E for the E the accused dealer posted. Were E
 * anybody's choice, a dealer could post another dealer's E (or E + x·G) with
 * garbage, and the complaint would decrypt that other dealer's share for
 * everyone. So each share comes with a proof that its dealer knows e, bound
 * to (election, dealer, recipient) (dkg_share_proof_verify): the revealed
 * point is then e·EK_j, which the dealer could compute anyway. */
#include <stdlib.h>
#include <string.h>

#include "ballot_crypto.h"

#define TAG_SHARE_KEY "evote/v1/dkg/share-key"
#define TAG_SHARE_MAC_KEY "evote/v1/dkg/share-mac-key"
#define TAG_SHARE_MAC "evote/v1/dkg/share-mac"
#define TAG_COMMITMENTS "evote/v1/dkg/commitments"

struct dkg_dealer {
    uint8_t election_id[BC_ELECTION_ID_LEN];
    uint32_t n, t, index;
    ec_scalar a[]; /* a_0..a_{t−1}: f(x) = Σ a_k x^k */
};

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

bc_err dkg_encryption_keypair(ec_scalar *ek, uint8_t ek_pub[EC_POINT_LEN])
{
    ec_point p;
    bc_err err = ec_scalar_random(ek);
    if (err != BC_OK)
        return err;
    ec_point_mul_base(&p, ek);
    ec_point_encode(ek_pub, &p);
    return BC_OK;
}

bc_err dkg_dealer_new(dkg_dealer **out, const uint8_t election_id[BC_ELECTION_ID_LEN], uint32_t n,
                      uint32_t t, uint32_t index)
{
    *out = NULL;
    if (n == 0 || n > DKG_MAX_TRUSTEES || t == 0 || t > n)
        return BC_ERR_THRESHOLD;
    if (index == 0 || index > n)
        return BC_ERR_TRUSTEE_INDEX;
    dkg_dealer *d = calloc(1, sizeof *d + t * sizeof(ec_scalar));
    if (!d)
        return BC_ERR_NOMEM;
    memcpy(d->election_id, election_id, BC_ELECTION_ID_LEN);
    d->n = n;
    d->t = t;
    d->index = index;
    for (uint32_t k = 0; k < t; k++) {
        bc_err err = ec_scalar_random(&d->a[k]);
        if (err != BC_OK) {
            dkg_dealer_destroy(&d);
            return err;
        }
    }
    *out = d;
    return BC_OK;
}

void dkg_dealer_destroy(dkg_dealer **d)
{
    if (!d || !*d)
        return;
    crypto_wipe((*d)->a, (*d)->t * sizeof(ec_scalar));
    free(*d);
    *d = NULL;
}

/* election id || dealer || t || tagged_hash(commitments) */
#define POK_PREFIX_LEN (BC_ELECTION_ID_LEN + 8 + CRYPTO_HASH_LEN)

static void pok_prefix(uint8_t out[POK_PREFIX_LEN], const uint8_t *election_id, uint32_t dealer,
                       uint32_t t, const uint8_t *commitments)
{
    memcpy(out, election_id, BC_ELECTION_ID_LEN);
    put_u32(out + BC_ELECTION_ID_LEN, dealer);
    put_u32(out + BC_ELECTION_ID_LEN + 4, t);
    crypto_tagged_hash(TAG_COMMITMENTS, commitments, (size_t)t * EC_POINT_LEN,
                       out + BC_ELECTION_ID_LEN + 8);
}

bc_err dkg_dealer_commitments(const dkg_dealer *d, uint8_t *commitments,
                              uint8_t pok[BC_PROOF_DLEQ_LEN])
{
    ec_point a0;
    ec_point_set_infinity(&a0);
    for (uint32_t k = 0; k < d->t; k++) {
        ec_point ak;
        ec_point_mul_base(&ak, &d->a[k]);
        ec_point_encode(commitments + (size_t)k * EC_POINT_LEN, &ak);
        if (k == 0)
            a0 = ak;
    }
    uint8_t prefix[POK_PREFIX_LEN];
    pok_prefix(prefix, d->election_id, d->index, d->t, commitments);
    return bc_proof_schnorr_prove(BC_TAG_DKG_COEFF, prefix, sizeof prefix, &a0, &d->a[0], pok);
}

bc_err dkg_dealer_share(const dkg_dealer *d, uint32_t j, ec_scalar *s)
{
    if (j == 0 || j > d->n)
        return BC_ERR_TRUSTEE_INDEX;
    ec_scalar x, acc;
    ec_scalar_from_u64(&x, j);
    acc = d->a[d->t - 1];
    for (uint32_t k = d->t - 1; k-- > 0;) {
        ec_scalar_mul(&acc, &acc, &x);
        ec_scalar_add(&acc, &acc, &d->a[k]);
    }
    *s = acc;
    ec_scalar_wipe(&acc);
    return BC_OK;
}

/* Keys of one share's encryption, from the ECDH point S and the context. */
static void share_keys(const uint8_t s_enc[EC_POINT_LEN], const uint8_t e_enc[EC_POINT_LEN],
                       const uint8_t *election_id, uint32_t dealer, uint32_t j,
                       uint8_t kenc[32], uint8_t kmac[32])
{
    uint8_t buf[2 * EC_POINT_LEN + BC_ELECTION_ID_LEN + 8];
    memcpy(buf, s_enc, EC_POINT_LEN);
    memcpy(buf + EC_POINT_LEN, e_enc, EC_POINT_LEN);
    memcpy(buf + 2 * EC_POINT_LEN, election_id, BC_ELECTION_ID_LEN);
    put_u32(buf + 2 * EC_POINT_LEN + BC_ELECTION_ID_LEN, dealer);
    put_u32(buf + 2 * EC_POINT_LEN + BC_ELECTION_ID_LEN + 4, j);
    crypto_tagged_hash(TAG_SHARE_KEY, buf, sizeof buf, kenc);
    crypto_tagged_hash(TAG_SHARE_MAC_KEY, buf, sizeof buf, kmac);
    crypto_wipe(buf, sizeof buf);
}

/* tag = tagged_hash(TAG_SHARE_MAC, kmac || E || ciphertext) */
static void share_tag(const uint8_t kmac[32], const uint8_t share[DKG_SHARE_LEN], uint8_t tag[32])
{
    uint8_t buf[32 + EC_POINT_LEN + 32];
    memcpy(buf, kmac, 32);
    memcpy(buf + 32, share, EC_POINT_LEN + 32);
    crypto_tagged_hash(TAG_SHARE_MAC, buf, sizeof buf, tag);
    crypto_wipe(buf, sizeof buf);
}

/* election id || dealer || recipient: what a share's proof of its
 * ephemeral key is bound to. */
#define SHARE_PROOF_PREFIX_LEN (BC_ELECTION_ID_LEN + 8)

static void share_proof_prefix(uint8_t out[SHARE_PROOF_PREFIX_LEN], const uint8_t *election_id,
                               uint32_t dealer, uint32_t j)
{
    memcpy(out, election_id, BC_ELECTION_ID_LEN);
    put_u32(out + BC_ELECTION_ID_LEN, dealer);
    put_u32(out + BC_ELECTION_ID_LEN + 4, j);
}

bc_err dkg_encrypt_share_value(const uint8_t election_id[BC_ELECTION_ID_LEN], uint32_t dealer,
                               uint32_t j, const ec_scalar *s, const uint8_t ek_pub[EC_POINT_LEN],
                               uint8_t out[DKG_SHARE_LEN], uint8_t pok[DKG_SHARE_PROOF_LEN])
{
    ec_point ek, e_pub, shared;
    ec_scalar e;
    bc_err err = ec_point_parse(&ek, ek_pub, 0);
    if (err != BC_OK)
        return err;
    err = ec_scalar_random(&e);
    if (err != BC_OK)
        return err;
    ec_point_mul_base(&e_pub, &e);
    if (pok != NULL) {
        uint8_t prefix[SHARE_PROOF_PREFIX_LEN];
        share_proof_prefix(prefix, election_id, dealer, j);
        err = bc_proof_schnorr_prove(BC_TAG_DKG_SHARE_KEY, prefix, sizeof prefix, &e_pub, &e, pok);
        if (err != BC_OK) {
            ec_scalar_wipe(&e);
            return err;
        }
    }
    ec_point_mul(&shared, &ek, &e);
    ec_scalar_wipe(&e);
    uint8_t s_enc[EC_POINT_LEN], kenc[32], kmac[32];
    ec_point_encode(s_enc, &shared);
    ec_point_encode(out, &e_pub);
    share_keys(s_enc, out, election_id, dealer, j, kenc, kmac);
    for (size_t i = 0; i < 32; i++)
        out[EC_POINT_LEN + i] = s->b[i] ^ kenc[i];
    share_tag(kmac, out, out + EC_POINT_LEN + 32);
    crypto_wipe(s_enc, sizeof s_enc);
    crypto_wipe(kenc, sizeof kenc);
    crypto_wipe(kmac, sizeof kmac);
    crypto_wipe(&shared, sizeof shared);
    return BC_OK;
}

bc_err dkg_dealer_encrypt_share(const dkg_dealer *d, uint32_t j, const uint8_t ek_pub[EC_POINT_LEN],
                                uint8_t out[DKG_SHARE_LEN], uint8_t pok[DKG_SHARE_PROOF_LEN])
{
    ec_scalar s;
    bc_err err = dkg_dealer_share(d, j, &s);
    if (err == BC_OK)
        err = dkg_encrypt_share_value(d->election_id, d->index, j, &s, ek_pub, out, pok);
    ec_scalar_wipe(&s);
    return err;
}

bc_err dkg_share_proof_verify(const uint8_t election_id[BC_ELECTION_ID_LEN], uint32_t dealer,
                              uint32_t j, const uint8_t share[DKG_SHARE_LEN],
                              const uint8_t pok[DKG_SHARE_PROOF_LEN])
{
    ec_point e_pub;
    uint8_t prefix[SHARE_PROOF_PREFIX_LEN];
    bc_err err = ec_point_parse(&e_pub, share, 0);
    if (err != BC_OK)
        return err;
    share_proof_prefix(prefix, election_id, dealer, j);
    return bc_proof_schnorr_verify(BC_TAG_DKG_SHARE_KEY, prefix, sizeof prefix, &e_pub, pok,
                                   BC_ERR_PROOF_KNOWLEDGE);
}

bc_err dkg_verify_commitments(const uint8_t election_id[BC_ELECTION_ID_LEN], uint32_t dealer,
                              uint32_t t, const uint8_t *commitments, size_t len,
                              const uint8_t pok[BC_PROOF_DLEQ_LEN], ec_point *out)
{
    if (t == 0 || t > DKG_MAX_TRUSTEES)
        return BC_ERR_THRESHOLD;
    if (dealer == 0 || dealer > DKG_MAX_TRUSTEES)
        return BC_ERR_TRUSTEE_INDEX;
    if (len != (size_t)t * EC_POINT_LEN)
        return BC_ERR_LENGTH;
    for (uint32_t k = 0; k < t; k++) {
        bc_err err = ec_point_parse(&out[k], commitments + (size_t)k * EC_POINT_LEN, 0);
        if (err != BC_OK)
            return err;
    }
    uint8_t prefix[POK_PREFIX_LEN];
    pok_prefix(prefix, election_id, dealer, t, commitments);
    return bc_proof_schnorr_verify(BC_TAG_DKG_COEFF, prefix, sizeof prefix, &out[0], pok,
                                   BC_ERR_PROOF_KNOWLEDGE);
}

/* Σ_k j^k·C_k by Horner's rule (public data). */
static void eval_commitments(ec_point *out, uint32_t j, const ec_point *c, uint32_t t)
{
    ec_scalar x;
    ec_point acc = c[t - 1];
    ec_scalar_from_u64(&x, j);
    for (uint32_t k = t - 1; k-- > 0;) {
        ec_point_mul_public(&acc, &acc, &x);
        ec_point_add(&acc, &acc, &c[k]);
    }
    *out = acc;
}

bc_err dkg_check_share(const ec_scalar *s, uint32_t j, const ec_point *commitments, uint32_t t)
{
    if (t == 0)
        return BC_ERR_THRESHOLD;
    if (j == 0)
        return BC_ERR_TRUSTEE_INDEX;
    ec_point lhs, rhs;
    ec_point_mul_base(&lhs, s);
    eval_commitments(&rhs, j, commitments, t);
    return ec_point_equal(&lhs, &rhs) ? BC_OK : BC_ERR_SHARE_INVALID;
}

/* Decrypts a share given the ECDH point; BC_ERR_SHARE_MAC or
 * BC_ERR_SCALAR_RANGE when the dealer's ciphertext is bad. */
static bc_err open_share(const uint8_t *election_id, uint32_t dealer, uint32_t j,
                         const uint8_t s_enc[EC_POINT_LEN], const uint8_t share[DKG_SHARE_LEN],
                         ec_scalar *s)
{
    uint8_t kenc[32], kmac[32], tag[32], plain[32];
    share_keys(s_enc, share, election_id, dealer, j, kenc, kmac);
    share_tag(kmac, share, tag);
    bc_err err = BC_OK;
    if (!crypto_equal(tag, share + EC_POINT_LEN + 32, 32)) {
        err = BC_ERR_SHARE_MAC;
    } else {
        for (size_t i = 0; i < 32; i++)
            plain[i] = share[EC_POINT_LEN + i] ^ kenc[i];
        err = ec_scalar_parse(s, plain);
    }
    crypto_wipe(kenc, sizeof kenc);
    crypto_wipe(kmac, sizeof kmac);
    crypto_wipe(plain, sizeof plain);
    return err;
}

bc_err dkg_receive_share(const uint8_t election_id[BC_ELECTION_ID_LEN], uint32_t dealer, uint32_t j,
                         const ec_scalar *ek, const uint8_t share[DKG_SHARE_LEN],
                         const ec_point *commitments, uint32_t t, ec_scalar *s)
{
    ec_point e_pub, shared;
    bc_err err = ec_point_parse(&e_pub, share, 0);
    if (err != BC_OK)
        return err;
    ec_point_mul(&shared, &e_pub, ek);
    uint8_t s_enc[EC_POINT_LEN];
    ec_point_encode(s_enc, &shared);
    err = open_share(election_id, dealer, j, s_enc, share, s);
    crypto_wipe(s_enc, sizeof s_enc);
    crypto_wipe(&shared, sizeof shared);
    if (err == BC_OK)
        err = dkg_check_share(s, j, commitments, t);
    if (err != BC_OK)
        ec_scalar_wipe(s);
    return err;
}

/* election id || dealer || j || the encrypted share */
#define COMPLAINT_PREFIX_LEN (BC_ELECTION_ID_LEN + 8 + DKG_SHARE_LEN)

static void complaint_prefix(uint8_t out[COMPLAINT_PREFIX_LEN], const uint8_t *election_id,
                             uint32_t dealer, uint32_t j, const uint8_t share[DKG_SHARE_LEN])
{
    memcpy(out, election_id, BC_ELECTION_ID_LEN);
    put_u32(out + BC_ELECTION_ID_LEN, dealer);
    put_u32(out + BC_ELECTION_ID_LEN + 4, j);
    memcpy(out + BC_ELECTION_ID_LEN + 8, share, DKG_SHARE_LEN);
}

bc_err dkg_complaint_make(const uint8_t election_id[BC_ELECTION_ID_LEN], uint32_t dealer, uint32_t j,
                          const ec_scalar *ek, const uint8_t share[DKG_SHARE_LEN],
                          uint8_t out[DKG_COMPLAINT_LEN])
{
    ec_point e_pub, shared, ek_pub;
    if (ec_point_parse(&e_pub, share, 0) != BC_OK) {
        /* The dealer's ephemeral key is not a point: anyone sees that, the
         * complaint needs no content. */
        memset(out, 0, DKG_COMPLAINT_LEN);
        return BC_OK;
    }
    ec_point_mul(&shared, &e_pub, ek);
    ec_point_mul_base(&ek_pub, ek);
    ec_point_encode(out, &shared);
    uint8_t prefix[COMPLAINT_PREFIX_LEN];
    complaint_prefix(prefix, election_id, dealer, j, share);
    return bc_proof_dleq_prove(BC_TAG_DKG_COMPLAINT, prefix, sizeof prefix, &e_pub, &ek_pub,
                               &shared, ek, out + EC_POINT_LEN);
}

bc_err dkg_complaint_verify(const uint8_t election_id[BC_ELECTION_ID_LEN], uint32_t dealer,
                            uint32_t j, const uint8_t ek_pub[EC_POINT_LEN],
                            const uint8_t share[DKG_SHARE_LEN], const ec_point *commitments,
                            uint32_t t, const uint8_t complaint[DKG_COMPLAINT_LEN])
{
    ec_point e_pub, shared, ek;
    if (ec_point_parse(&e_pub, share, 0) != BC_OK)
        return BC_OK; /* the dealer posted garbage: the complaint holds */
    bc_err err = ec_point_parse(&ek, ek_pub, 0);
    if (err != BC_OK)
        return err;
    err = ec_point_parse(&shared, complaint, 0);
    if (err != BC_OK)
        return err;
    uint8_t prefix[COMPLAINT_PREFIX_LEN];
    complaint_prefix(prefix, election_id, dealer, j, share);
    err = bc_proof_dleq_verify(BC_TAG_DKG_COMPLAINT, prefix, sizeof prefix, &e_pub, &ek, &shared,
                               complaint + EC_POINT_LEN, BC_ERR_PROOF_COMPLAINT);
    if (err != BC_OK)
        return err;
    /* S is proven to be the ECDH point j saw: decrypt exactly as j did. */
    ec_scalar s;
    err = open_share(election_id, dealer, j, complaint, share, &s);
    if (err == BC_OK)
        err = dkg_check_share(&s, j, commitments, t);
    return err == BC_OK ? BC_ERR_COMPLAINT_FALSE : BC_OK;
}

bc_err dkg_joint_key(ec_point *y, const ec_point *commitments, size_t count, uint32_t t)
{
    if (count == 0 || count > DKG_MAX_TRUSTEES || t == 0)
        return BC_ERR_ARGUMENT;
    const ec_point *ptrs[DKG_MAX_TRUSTEES];
    for (size_t i = 0; i < count; i++)
        ptrs[i] = &commitments[i * t];
    ec_point_sum(y, ptrs, count);
    return y->infinity ? BC_ERR_POINT_INFINITY : BC_OK;
}

bc_err dkg_verification_key(ec_point *x_pub, uint32_t j, const ec_point *commitments, size_t count,
                            uint32_t t)
{
    if (count == 0 || count > DKG_MAX_TRUSTEES || t == 0 || t > DKG_MAX_TRUSTEES)
        return BC_ERR_ARGUMENT;
    if (j == 0)
        return BC_ERR_TRUSTEE_INDEX;
    /* Σ_i Σ_k j^k·A_ik = Σ_k j^k·(Σ_i A_ik): sum the dealers first. */
    ec_point c[DKG_MAX_TRUSTEES];
    const ec_point *ptrs[DKG_MAX_TRUSTEES];
    for (uint32_t k = 0; k < t; k++) {
        for (size_t i = 0; i < count; i++)
            ptrs[i] = &commitments[i * t + k];
        ec_point_sum(&c[k], ptrs, count);
    }
    eval_commitments(x_pub, j, c, t);
    return x_pub->infinity ? BC_ERR_POINT_INFINITY : BC_OK;
}

void dkg_secret_share(ec_scalar *x_j, const ec_scalar *shares, size_t count)
{
    ec_scalar acc;
    ec_scalar_zero(&acc);
    for (size_t i = 0; i < count; i++)
        ec_scalar_add(&acc, &acc, &shares[i]);
    *x_j = acc;
    ec_scalar_wipe(&acc);
}
