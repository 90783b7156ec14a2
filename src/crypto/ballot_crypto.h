/* evote ballot cryptography: the secp256k1 group layer (scalars and points
 * with an explicit point at infinity), exponential ElGamal under the election
 * key, the zero-knowledge proofs of a ballot, the trustees' key ceremony
 * (Feldman/Pedersen DKG with verifiable complaints), threshold decryption and
 * the bounded discrete log that turns a decrypted tally into counts.
 *
 * Pure functions: no I/O, no clock, no global state except one randomized
 * secp256k1 context created on first use (thread-safe). Every function that
 * checks an input returns a bc_err and is EVOTE_WARN_UNUSED; none asserts on
 * input.
 *
 * Naming: ec_* group layer (group.c), elgamal_* (elgamal.c), bc_proof_* and
 * bc_ballot_* (proofs.c), bc_tally_* threshold decryption (elgamal.c),
 * dkg_* key ceremony (dkg.c), dlog_* bounded discrete log (dlog.c).
 *
 * Constant time: operations on secret scalars (encryption randomness, proof
 * nonces, key shares) use libsecp256k1's constant-time tweak_mul and
 * pubkey_create. Functions named *_public or documented "variable time" are
 * for public data only (proof verification, tally, Lagrange combination). */
#ifndef EVOTE_BALLOT_CRYPTO_H
#define EVOTE_BALLOT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <secp256k1.h>

#include "crypto.h"

#define EC_SCALAR_LEN 32 /* big-endian, < n */
#define EC_POINT_LEN 33  /* SEC1 compressed; 33 zero bytes = infinity */
#define ELGAMAL_CT_LEN (2 * EC_POINT_LEN)
#define BC_ELECTION_ID_LEN 32
#define BC_VOTER_LEN 32 /* BIP340 x-only voter key */

/* Limits that bound the work a validator does for one ballot. */
#define BC_MAX_QUESTIONS 64
#define BC_MAX_OPTIONS 64 /* per question */

typedef enum {
    BC_OK = 0,
    BC_ERR_NOMEM,
    BC_ERR_RANDOM,            /* the OS random source failed */
    BC_ERR_ARGUMENT,          /* a caller passed an impossible argument (NULL, bad size, count 0) */
    BC_ERR_SCALAR_RANGE,      /* a 32-byte scalar is >= the group order n */
    BC_ERR_SCALAR_ZERO,       /* a scalar that must be nonzero is zero */
    BC_ERR_POINT_INVALID,     /* 33 bytes that are not a compressed secp256k1 point */
    BC_ERR_POINT_INFINITY,    /* the point at infinity where it is not allowed */
    BC_ERR_LENGTH,            /* a ballot/proof/share has the wrong number of bytes */
    BC_ERR_SELECTION,         /* a selection is not 0 or 1, or the count is not allowed */
    BC_ERR_QUESTION,          /* a question definition is unusable (0 options, bad bounds) */
    BC_ERR_PROOF_SELECTION,   /* the proof that an option encrypts 0 or 1 fails */
    BC_ERR_PROOF_COUNT,       /* the proof that a question's selections sum to an allowed count fails */
    BC_ERR_PROOF_DECRYPTION,  /* a partial decryption's proof of correctness fails */
    BC_ERR_PROOF_KNOWLEDGE,   /* a trustee's proof of knowledge of its secret coefficient fails */
    BC_ERR_PROOF_COMPLAINT,   /* a complaint's proof that the revealed shared key is right fails */
    BC_ERR_SHARE_MAC,         /* an encrypted share fails its authentication tag */
    BC_ERR_SHARE_INVALID,     /* a decrypted share does not match the dealer's commitments */
    BC_ERR_COMPLAINT_FALSE,   /* the share complained about is correct: the complaint is refuted */
    BC_ERR_TRUSTEE_INDEX,     /* a trustee index is 0, above n, or repeated */
    BC_ERR_THRESHOLD,         /* fewer shares than the threshold, or t outside 1..n */
    BC_ERR_DLOG_NOT_FOUND,    /* the decrypted value is not in 0..bound */
} bc_err;

/* Returns: a sentence saying what went wrong. Never NULL. */
const char *bc_strerror(bc_err err);

/* =================================================== group layer (group.c) */

/* A scalar mod n, 32 bytes big-endian, always canonical (< n). Zero is a
 * legal value here (libsecp256k1 refuses it; this layer handles it). */
typedef struct {
    uint8_t b[EC_SCALAR_LEN];
} ec_scalar;

/* A group element. libsecp256k1 has no form for the point at infinity, so it
 * is the flag `infinity` (and then `p` is unused). */
typedef struct {
    int infinity;
    secp256k1_pubkey p;
} ec_point;

/* The process-wide randomized context (created once, thread-safe). */
const secp256k1_context *ec_context(void);

void ec_scalar_zero(ec_scalar *out);
void ec_scalar_from_u64(ec_scalar *out, uint64_t v);
int ec_scalar_is_zero(const ec_scalar *s);
int ec_scalar_equal(const ec_scalar *a, const ec_scalar *b);
/* Strict parse for the wire: BC_ERR_SCALAR_RANGE when in >= n. Zero is accepted. */
EVOTE_WARN_UNUSED bc_err ec_scalar_parse(ec_scalar *out, const uint8_t in[EC_SCALAR_LEN]);
/* Any 32 bytes (a hash) reduced mod n: values >= n lose n, 0 and n give 0. */
void ec_scalar_reduce(ec_scalar *out, const uint8_t in[EC_SCALAR_LEN]);
/* A uniformly random nonzero scalar from the OS. */
EVOTE_WARN_UNUSED bc_err ec_scalar_random(ec_scalar *out);
void ec_scalar_add(ec_scalar *out, const ec_scalar *a, const ec_scalar *b);
void ec_scalar_neg(ec_scalar *out, const ec_scalar *a);
void ec_scalar_sub(ec_scalar *out, const ec_scalar *a, const ec_scalar *b);
void ec_scalar_mul(ec_scalar *out, const ec_scalar *a, const ec_scalar *b);
/* a^-1 mod n by Fermat (a^(n-2)); BC_ERR_SCALAR_ZERO for 0. */
EVOTE_WARN_UNUSED bc_err ec_scalar_inverse(ec_scalar *out, const ec_scalar *a);
void ec_scalar_wipe(ec_scalar *s);

void ec_point_set_infinity(ec_point *out);
/* Returns: the generator G (computed once). */
const ec_point *ec_generator(void);
/* out = s·G (constant time in s); 0·G is infinity. */
void ec_point_mul_base(ec_point *out, const ec_scalar *s);
/* out = s·P (constant time in s, for secret s); infinity when s = 0 or P is. */
void ec_point_mul(ec_point *out, const ec_point *p, const ec_scalar *s);
/* out = a·G + b·P, variable time: public scalars and points only. Runs as
 * ec_point_lincomb_fixed_public with no fixed-base term. */
void ec_point_lincomb_public(ec_point *out, const ec_scalar *a, const ec_scalar *b,
                             const ec_point *p);
/* The same through ECDSA public key recovery (libsecp256k1's Strauss
 * double multiplication); kept for comparison in the benchmark: on the
 * Debian 0.2.0 build it is slower than the table + ladder above. */
void ec_point_lincomb_recovery(ec_point *out, const ec_scalar *a, const ec_scalar *b,
                               const ec_point *p);
/* out = s·P, variable time (public s and P). */
void ec_point_mul_public(ec_point *out, const ec_point *p, const ec_scalar *s);
void ec_point_add(ec_point *out, const ec_point *a, const ec_point *b);
/* out = the sum of `count` points (one field inversion for all of them). */
void ec_point_sum(ec_point *out, const ec_point *const *pts, size_t count);
void ec_point_neg(ec_point *out, const ec_point *a);
void ec_point_sub(ec_point *out, const ec_point *a, const ec_point *b);
int ec_point_equal(const ec_point *a, const ec_point *b);
/* A precomputed table of multiples of one fixed public point (the election
 * key), so that s·P costs about 32 point additions instead of a full
 * multiplication: ~520 KiB, built in ~20 ms. Variable time: public s only. */
typedef struct ec_fixed_base ec_fixed_base;
/* Errors: BC_ERR_POINT_INFINITY, BC_ERR_NOMEM. */
EVOTE_WARN_UNUSED bc_err ec_fixed_base_new(ec_fixed_base **out, const ec_point *p);
void ec_fixed_base_destroy(ec_fixed_base **t);
void ec_fixed_base_mul(ec_point *out, const ec_fixed_base *t, const ec_scalar *s);
/* out = a·G + s·T + b·P, variable time (public data only), where T is the
 * fixed base of table t (t NULL: no such term) and p may be NULL. The G and T
 * terms are table lookups, the P term one ladder multiplication, and all of it
 * one addition of up to 65 points with a single field inversion. The G table
 * (~520 KiB) is built on first use. */
void ec_point_lincomb_fixed_public(ec_point *out, const ec_scalar *a, const ec_fixed_base *t,
                                   const ec_scalar *s, const ec_scalar *b, const ec_point *p);
/* 33-byte compressed encoding; infinity is 33 zero bytes. */
void ec_point_encode(uint8_t out[EC_POINT_LEN], const ec_point *p);
/* BC_ERR_POINT_INVALID for bytes that are not a point; 33 zero bytes give
 * infinity when allow_infinity, else BC_ERR_POINT_INFINITY. */
EVOTE_WARN_UNUSED bc_err ec_point_parse(ec_point *out, const uint8_t in[EC_POINT_LEN],
                                        int allow_infinity);

/* 65-byte uncompressed encoding (04 || x || y; infinity is 65 zero bytes), for
 * a node's own state database only, never the wire: parsing it needs no square
 * root (~0.3 us instead of ~5 us), which matters when a tally re-reads
 * millions of stored ciphertexts. */
#define EC_POINT_UNCOMPRESSED_LEN 65
void ec_point_encode_uncompressed(uint8_t out[EC_POINT_UNCOMPRESSED_LEN], const ec_point *p);
/* Errors: BC_ERR_POINT_INVALID (not 04 || a point on the curve), BC_ERR_POINT_INFINITY. */
EVOTE_WARN_UNUSED bc_err ec_point_parse_uncompressed(ec_point *out,
                                                     const uint8_t in[EC_POINT_UNCOMPRESSED_LEN],
                                                     int allow_infinity);

/* ========================================= exponential ElGamal (elgamal.c) */

/* (a, b) = (r·G, m·G + r·Y). */
typedef struct {
    ec_point a, b;
} elgamal_ct;

/* Encrypts m with randomness r (secret: wiped by the caller). r must be
 * nonzero. Out: ct. */
void elgamal_encrypt_with(elgamal_ct *ct, const ec_point *y, uint64_t m, const ec_scalar *r);
/* Encrypts m with fresh randomness. Out: ct and, when r_out is not NULL, the
 * randomness (needed for the proofs; the caller wipes it). */
EVOTE_WARN_UNUSED bc_err elgamal_encrypt(elgamal_ct *ct, const ec_point *y, uint64_t m,
                                         ec_scalar *r_out);
void elgamal_add(elgamal_ct *out, const elgamal_ct *x, const elgamal_ct *y);
/* Single-key decryption to the point m·G = b − x·a (tests, and the combine step). */
void elgamal_decrypt_point(ec_point *out, const elgamal_ct *ct, const ec_scalar *x);
void elgamal_encode(uint8_t out[ELGAMAL_CT_LEN], const elgamal_ct *ct);
/* A ballot ciphertext: neither component may be infinity (allow_infinity 0);
 * a tally may hold infinity (allow_infinity 1). */
EVOTE_WARN_UNUSED bc_err elgamal_parse(elgamal_ct *out, const uint8_t in[ELGAMAL_CT_LEN],
                                       int allow_infinity);

/* The state-database form of a ciphertext: a and b uncompressed (130 bytes). */
#define ELGAMAL_CT_STATE_LEN (2 * EC_POINT_UNCOMPRESSED_LEN)
void elgamal_encode_state(uint8_t out[ELGAMAL_CT_STATE_LEN], const elgamal_ct *ct);
EVOTE_WARN_UNUSED bc_err elgamal_parse_state(elgamal_ct *out, const uint8_t in[ELGAMAL_CT_STATE_LEN],
                                             int allow_infinity);

/* Sums many ciphertexts with one field inversion per ELGAMAL_SUM_BATCH
 * additions instead of one per addition (a tally of a million ballots). */
#define ELGAMAL_SUM_BATCH 128
typedef struct {
    elgamal_ct total;
    size_t pending;
    ec_point a[ELGAMAL_SUM_BATCH + 1], b[ELGAMAL_SUM_BATCH + 1];
} elgamal_sum;
void elgamal_sum_init(elgamal_sum *acc);
void elgamal_sum_add(elgamal_sum *acc, const elgamal_ct *ct);
/* Out: the total of everything added (infinity components when empty or cancelled). */
void elgamal_sum_result(elgamal_sum *acc, elgamal_ct *out);

/* ======================================================= proofs (proofs.c) */

/* Every proof is non-interactive with the strong Fiat-Shamir form: the
 * challenge is c = tagged_hash("evote/v1/proof/<name>", transcript) mod n,
 * where the transcript holds the election id, the election key Y, who proves
 * (voter key or trustee index), the position (question, option), the
 * statement's points and all commitments.
 *
 * Wire formats (scalars 32 bytes big-endian, < n; points 33 bytes):
 *   selection proof (option encrypts 0 or 1), 128 bytes: c0 || c1 || z0 || z1
 *   range proof (value in lo..hi), (hi−lo+1)·64 bytes: c_lo || z_lo || ... || c_hi || z_hi
 *   DLEQ / Schnorr proof, 64 bytes: c || z
 * Transcripts (u32 big-endian; ct = a || b, 66 bytes):
 *   selection / count-range: election id (32) || Y (33) || voter (32) ||
 *     question (4) || option (4; 0xFFFFFFFF for a count) || lo (4) || hi (4) ||
 *     ct (66; the question's summed ct for a count) || for v = lo..hi:
 *     A_v (33) || B_v (33), where A_v = z_v·G − c_v·a, B_v = z_v·Y − c_v·(b − v·G);
 *     valid iff Σ c_v = challenge.
 *   count-exact (DLEQ, B = Y, X1 = Σa, X2 = Σb − k·G): election id || Y ||
 *     voter || question || 0xFFFFFFFF || k (4) || B || X1 || X2 || A1 || A2,
 *     A1 = z·G − c·X1, A2 = z·B − c·X2; valid iff c = challenge.
 *   decryption (DLEQ, B = a, X1 = X_j, X2 = D_j): election id || Y ||
 *     trustee (4) || slot (4) || B || X1 || X2 || A1 || A2.
 *   dkg-coefficient (Schnorr on A_i0): election id || dealer (4) || t (4) ||
 *     tagged_hash("evote/v1/dkg/commitments", A_i0..A_i,t−1) || A_i0 || A.
 *   dkg-complaint (DLEQ, B = E, X1 = EK_j, X2 = S): election id || dealer (4)
 *     || j (4) || the encrypted share (97) || B || X1 || X2 || A1 || A2. */

/* Wire sizes. */
#define BC_PROOF_SELECTION_LEN 128 /* c0 || c1 || z0 || z1 */
#define BC_PROOF_DLEQ_LEN 64       /* c || z */
#define BC_PROOF_RANGE_LEN(lo, hi) (((size_t)(hi) - (lo) + 1) * 64) /* (c_v || z_v) for v = lo..hi */

/* A question: `options` options, the voter selects between min and max of
 * them (exactly k: min = max = k; approval 0..L: min = 0, max = L). */
typedef struct {
    uint32_t options;
    uint32_t min, max;
} bc_question;

/* What an election's verifier needs, parsed once: validators keep one per
 * open election. Opaque; create with bc_election_new. */
typedef struct bc_election bc_election;

/* In: the election id (32 bytes), the 33-byte election key Y (not infinity),
 * the questions. Out: *out, freed with bc_election_destroy. Builds the table
 * of multiples of Y (~520 KiB, ~20-30 ms): create one per election and keep
 * it; it is read-only afterwards, so all verifier threads may share it.
 * Errors: BC_ERR_POINT_*, BC_ERR_QUESTION, BC_ERR_ARGUMENT, BC_ERR_NOMEM. */
EVOTE_WARN_UNUSED bc_err bc_election_new(bc_election **out, const uint8_t id[BC_ELECTION_ID_LEN],
                                         const uint8_t y[EC_POINT_LEN],
                                         const bc_question *questions, size_t count);
void bc_election_destroy(bc_election **e);
/* Returns: the election key as a point. */
const ec_point *bc_election_key(const bc_election *e);
/* Returns: the total number of options over all questions (= ciphertexts per ballot). */
size_t bc_election_slots(const bc_election *e);
/* Returns: the exact byte length of an encoded ballot for this election. */
size_t bc_ballot_size(const bc_election *e);

/* Encrypts a ballot. In: the voter's x-only key (32 bytes), selections: one
 * byte 0/1 per option, questions in order (bc_election_slots bytes).
 * Out: out (bc_ballot_size bytes).
 * Errors: BC_ERR_SELECTION (not 0/1, or a count outside min..max),
 * BC_ERR_RANDOM, BC_ERR_ARGUMENT.
 *
 * Ballot layout, for each question in order:
 *   for each option: a (33) || b (33) || selection proof (128)
 *   then the count proof: BC_PROOF_DLEQ_LEN when min = max, else
 *   BC_PROOF_RANGE_LEN(min, max). */
EVOTE_WARN_UNUSED bc_err bc_ballot_encrypt(const bc_election *e, const uint8_t voter[BC_VOTER_LEN],
                                           const uint8_t *selections, size_t nselections,
                                           uint8_t *out, size_t out_len);

/* Verifies a ballot completely (what validators run on every ballot): the
 * length, every point, every 0/1 proof, every count proof, all bound to this
 * election and voter. Out: when cts is not NULL (bc_election_slots entries),
 * the parsed ciphertexts, ready for the tally; when fault is not NULL, the
 * slot (option over all questions) or question index where it failed.
 * Errors: BC_ERR_LENGTH, BC_ERR_POINT_INVALID, BC_ERR_POINT_INFINITY,
 * BC_ERR_SCALAR_RANGE, BC_ERR_PROOF_SELECTION, BC_ERR_PROOF_COUNT. */
EVOTE_WARN_UNUSED bc_err bc_ballot_verify(const bc_election *e, const uint8_t voter[BC_VOTER_LEN],
                                          const uint8_t *ballot, size_t len, elgamal_ct *cts,
                                          size_t *fault);

/* Parses a ballot's ciphertexts without checking its proofs: for executing a
 * ballot whose verification verdict is already known (cached by transaction
 * id). Out: cts (bc_election_slots entries). Errors: BC_ERR_LENGTH,
 * BC_ERR_POINT_INVALID, BC_ERR_POINT_INFINITY. */
EVOTE_WARN_UNUSED bc_err bc_ballot_ciphertexts(const bc_election *e, const uint8_t *ballot,
                                               size_t len, elgamal_ct *cts);

/* Building blocks (exposed for tests and for the tally/DKG code). The
 * statement context of a ballot proof: */
typedef struct {
    const uint8_t *election_id; /* 32 bytes */
    const uint8_t *y_enc;       /* 33 bytes */
    const uint8_t *voter;       /* 32 bytes */
    uint32_t question, option;
} bc_proof_ctx;

/* Proves ct encrypts m ∈ {lo..hi} with randomness r (disjunctive
 * Chaum-Pedersen). lo..hi = 0..1 is the selection proof. Out: proof
 * (BC_PROOF_RANGE_LEN(lo, hi) bytes). Errors: BC_ERR_SELECTION, BC_ERR_RANDOM. */
EVOTE_WARN_UNUSED bc_err bc_proof_range_prove(const char *tag, const bc_proof_ctx *ctx,
                                              const ec_point *y, const elgamal_ct *ct,
                                              const uint8_t ct_enc[ELGAMAL_CT_LEN], uint32_t lo,
                                              uint32_t hi, uint32_t m, const ec_scalar *r,
                                              uint8_t *proof);
/* Returns: BC_OK or `fail` (BC_ERR_SCALAR_RANGE for a non-canonical scalar). */
EVOTE_WARN_UNUSED bc_err bc_proof_range_verify(const char *tag, const bc_proof_ctx *ctx,
                                               const ec_point *y, const elgamal_ct *ct,
                                               const uint8_t ct_enc[ELGAMAL_CT_LEN], uint32_t lo,
                                               uint32_t hi, const uint8_t *proof, bc_err fail);

/* DLEQ (Chaum-Pedersen): knowledge of x with X1 = x·G and X2 = x·B.
 * The transcript is tagged_hash(tag, prefix || G-free statement: B, X1, X2 ||
 * commitments). Out: proof (64 bytes: c || z). */
EVOTE_WARN_UNUSED bc_err bc_proof_dleq_prove(const char *tag, const uint8_t *prefix,
                                             size_t prefix_len, const ec_point *b,
                                             const ec_point *x1, const ec_point *x2,
                                             const ec_scalar *x, uint8_t proof[BC_PROOF_DLEQ_LEN]);
EVOTE_WARN_UNUSED bc_err bc_proof_dleq_verify(const char *tag, const uint8_t *prefix,
                                              size_t prefix_len, const ec_point *b,
                                              const ec_point *x1, const ec_point *x2,
                                              const uint8_t proof[BC_PROOF_DLEQ_LEN], bc_err fail);

/* Schnorr proof of knowledge of x with X = x·G (64 bytes: c || z). */
EVOTE_WARN_UNUSED bc_err bc_proof_schnorr_prove(const char *tag, const uint8_t *prefix,
                                                size_t prefix_len, const ec_point *x_pub,
                                                const ec_scalar *x, uint8_t proof[BC_PROOF_DLEQ_LEN]);
EVOTE_WARN_UNUSED bc_err bc_proof_schnorr_verify(const char *tag, const uint8_t *prefix,
                                                 size_t prefix_len, const ec_point *x_pub,
                                                 const uint8_t proof[BC_PROOF_DLEQ_LEN], bc_err fail);

#define BC_TAG_SELECTION "evote/v1/proof/selection"
#define BC_TAG_COUNT_EXACT "evote/v1/proof/count-exact"
#define BC_TAG_COUNT_RANGE "evote/v1/proof/count-range"
#define BC_TAG_DECRYPTION "evote/v1/proof/decryption"
#define BC_TAG_DKG_COEFF "evote/v1/proof/dkg-coefficient"
#define BC_TAG_DKG_COMPLAINT "evote/v1/proof/dkg-complaint"
#define BC_TAG_DKG_SHARE_KEY "evote/v1/proof/dkg-share-key"

/* ============================== threshold decryption of a tally (elgamal.c) */

/* A trustee's partial decryption of one tally ciphertext (a, b): D = x_j·a
 * with a DLEQ proof (G, X_j, a, D), bound to the election, the election key,
 * the trustee index and the slot. Wire: D (33) || proof (64). */
#define BC_PARTIAL_LEN (EC_POINT_LEN + BC_PROOF_DLEQ_LEN)

typedef struct {
    const uint8_t *election_id; /* 32 bytes */
    const uint8_t *y_enc;       /* 33 bytes */
    uint32_t trustee;           /* 1..n */
    uint32_t slot;              /* option index over all questions */
} bc_partial_ctx;

/* In: x_j (the trustee's secret share), X_j = x_j·G, the tally ciphertext.
 * Out: out (BC_PARTIAL_LEN bytes). D is infinity (33 zeros) only when a is. */
EVOTE_WARN_UNUSED bc_err bc_tally_partial_decrypt(const bc_partial_ctx *ctx, const ec_scalar *x_j,
                                                  const ec_point *x_pub, const elgamal_ct *tally,
                                                  uint8_t out[BC_PARTIAL_LEN]);
/* Checks a partial decryption against the trustee's public verification key
 * X_j (dkg_verification_key). Out: d, the share D_j.
 * Errors: BC_ERR_LENGTH, BC_ERR_POINT_*, BC_ERR_SCALAR_RANGE, BC_ERR_PROOF_DECRYPTION. */
EVOTE_WARN_UNUSED bc_err bc_tally_partial_verify(const bc_partial_ctx *ctx, const ec_point *x_pub,
                                                 const elgamal_ct *tally, const uint8_t *in,
                                                 size_t len, ec_point *d);
/* Lagrange coefficient at 0 of trustee indices[which] among `count` distinct
 * nonzero indices. Errors: BC_ERR_TRUSTEE_INDEX (0 or repeated). */
EVOTE_WARN_UNUSED bc_err bc_lagrange_at_zero(ec_scalar *out, const uint32_t *indices, size_t count,
                                             size_t which);
/* M = b − Σ λ_j·D_j over `count` verified shares D_j of trustees indices[j]
 * (any count >= t gives the same M; fewer would give a meaningless point, so
 * they are refused). Errors: BC_ERR_THRESHOLD (count < t), BC_ERR_TRUSTEE_INDEX
 * (0 or repeated), BC_ERR_ARGUMENT. */
EVOTE_WARN_UNUSED bc_err bc_tally_combine(ec_point *m_out, const elgamal_ct *tally, uint32_t t,
                                          const uint32_t *indices, const ec_point *shares,
                                          size_t count);

/* ===================================== bounded discrete log (dlog.c) */

/* Baby-step giant-step table for m·G with m in 0..bound: about sqrt(bound)
 * entries of 16 bytes (10,000,000 → 3,163 baby steps, ~64 KiB). */
typedef struct dlog_table dlog_table;
EVOTE_WARN_UNUSED bc_err dlog_table_new(dlog_table **out, uint64_t bound);
void dlog_table_destroy(dlog_table **t);
/* Out: *m with m·G = p (infinity gives 0). Errors: BC_ERR_DLOG_NOT_FOUND. */
EVOTE_WARN_UNUSED bc_err dlog_solve(const dlog_table *t, const ec_point *p, uint64_t *m);

/* ====================================================== key ceremony (dkg.c) */

/* Trustees are numbered 1..n; threshold t (1 <= t <= n): any t decrypt,
 * t − 1 learn nothing. Each trustee has an encryption key pair (ek, EK = ek·G)
 * for receiving shares; EK travels as 33 bytes.
 *
 * Dealer i publishes: its commitments A_i0..A_i,t−1 (33 bytes each), a
 * Schnorr proof of knowledge of a_i0 (64 bytes), and for each j != i the
 * encrypted share (DKG_SHARE_LEN bytes): E (33) || s_ij ⊕ keystream (32) ||
 * tag (32), and its proof (DKG_SHARE_PROOF_LEN): a Schnorr proof of knowledge
 * of e (E = e·G) bound to the election, dealer and recipient. Without that
 * proof a dealer could post another dealer's E, and the recipient's
 * complaint, which reveals ek_j·E, would decrypt the other dealer's share
 * for everyone. */
#define DKG_SHARE_LEN (EC_POINT_LEN + 32 + 32)
#define DKG_SHARE_PROOF_LEN BC_PROOF_DLEQ_LEN
#define DKG_COMPLAINT_LEN (EC_POINT_LEN + BC_PROOF_DLEQ_LEN) /* S (33) || DLEQ proof (64) */
#define DKG_MAX_TRUSTEES 255

typedef struct dkg_dealer dkg_dealer;

/* A trustee's key pair for receiving shares: ek random, ek_pub = ek·G
 * (33 bytes, published with the trustee's signature before the ceremony). */
EVOTE_WARN_UNUSED bc_err dkg_encryption_keypair(ec_scalar *ek, uint8_t ek_pub[EC_POINT_LEN]);

/* A fresh random polynomial of degree t−1 for trustee `index` of n.
 * Errors: BC_ERR_THRESHOLD, BC_ERR_TRUSTEE_INDEX, BC_ERR_RANDOM, BC_ERR_NOMEM. */
EVOTE_WARN_UNUSED bc_err dkg_dealer_new(dkg_dealer **out, const uint8_t election_id[BC_ELECTION_ID_LEN],
                                        uint32_t n, uint32_t t, uint32_t index);
/* Wipes the polynomial and frees. */
void dkg_dealer_destroy(dkg_dealer **d);
/* Out: commitments (t × 33 bytes) and the proof of knowledge of a_i0 (64 bytes). */
EVOTE_WARN_UNUSED bc_err dkg_dealer_commitments(const dkg_dealer *d, uint8_t *commitments,
                                                uint8_t pok[BC_PROOF_DLEQ_LEN]);
/* Out: s = f_i(j) in clear (the dealer's own share, j = i, is kept this way). */
EVOTE_WARN_UNUSED bc_err dkg_dealer_share(const dkg_dealer *d, uint32_t j, ec_scalar *s);
/* Out: the share for trustee j encrypted to j's encryption key (DKG_SHARE_LEN
 * bytes) and, when pok is not NULL, the proof of its ephemeral key
 * (DKG_SHARE_PROOF_LEN bytes). */
EVOTE_WARN_UNUSED bc_err dkg_dealer_encrypt_share(const dkg_dealer *d, uint32_t j,
                                                  const uint8_t ek_pub[EC_POINT_LEN],
                                                  uint8_t out[DKG_SHARE_LEN],
                                                  uint8_t pok[DKG_SHARE_PROOF_LEN]);
/* Test hook: encrypts an arbitrary scalar as if it were the share for j (a
 * dishonest dealer); pok as above. */
EVOTE_WARN_UNUSED bc_err dkg_encrypt_share_value(const uint8_t election_id[BC_ELECTION_ID_LEN],
                                                 uint32_t dealer, uint32_t j, const ec_scalar *s,
                                                 const uint8_t ek_pub[EC_POINT_LEN],
                                                 uint8_t out[DKG_SHARE_LEN],
                                                 uint8_t pok[DKG_SHARE_PROOF_LEN]);
/* Anyone: checks that dealer i knows the ephemeral secret of its share for
 * trustee j. Errors: BC_ERR_POINT_* (E), BC_ERR_SCALAR_RANGE,
 * BC_ERR_PROOF_KNOWLEDGE. */
EVOTE_WARN_UNUSED bc_err dkg_share_proof_verify(const uint8_t election_id[BC_ELECTION_ID_LEN],
                                                uint32_t dealer, uint32_t j,
                                                const uint8_t share[DKG_SHARE_LEN],
                                                const uint8_t pok[DKG_SHARE_PROOF_LEN]);

/* Anyone: parses dealer i's commitments (t × 33, none infinity) and checks
 * its proof of knowledge. Out: commitments (t points).
 * Errors: BC_ERR_LENGTH, BC_ERR_POINT_*, BC_ERR_SCALAR_RANGE, BC_ERR_PROOF_KNOWLEDGE. */
EVOTE_WARN_UNUSED bc_err dkg_verify_commitments(const uint8_t election_id[BC_ELECTION_ID_LEN],
                                                uint32_t dealer, uint32_t t,
                                                const uint8_t *commitments, size_t len,
                                                const uint8_t pok[BC_PROOF_DLEQ_LEN],
                                                ec_point *out);
/* Trustee j: decrypts dealer i's share with its encryption secret and checks
 * it against i's commitments (s·G = Σ_k j^k·A_ik). Out: s.
 * Errors: BC_ERR_SHARE_MAC, BC_ERR_SCALAR_RANGE, BC_ERR_SHARE_INVALID (then
 * post a complaint), BC_ERR_POINT_INVALID. */
EVOTE_WARN_UNUSED bc_err dkg_receive_share(const uint8_t election_id[BC_ELECTION_ID_LEN],
                                           uint32_t dealer, uint32_t j, const ec_scalar *ek,
                                           const uint8_t share[DKG_SHARE_LEN],
                                           const ec_point *commitments, uint32_t t, ec_scalar *s);
/* Anyone: checks s·G = Σ_k j^k·A_ik. Errors: BC_ERR_SHARE_INVALID. */
EVOTE_WARN_UNUSED bc_err dkg_check_share(const ec_scalar *s, uint32_t j, const ec_point *commitments,
                                         uint32_t t);
/* Trustee j: a complaint against dealer i's share: the ECDH point S = ek·E
 * and a DLEQ proof (G, EK, E, S). Out: out (DKG_COMPLAINT_LEN bytes). */
EVOTE_WARN_UNUSED bc_err dkg_complaint_make(const uint8_t election_id[BC_ELECTION_ID_LEN],
                                            uint32_t dealer, uint32_t j, const ec_scalar *ek,
                                            const uint8_t share[DKG_SHARE_LEN],
                                            uint8_t out[DKG_COMPLAINT_LEN]);
/* Anyone: judges a complaint by trustee j (encryption key ek_pub) against
 * dealer i's share. Returns: BC_OK when the complaint holds (the dealer is
 * at fault: bad tag, non-canonical or wrong share), BC_ERR_COMPLAINT_FALSE
 * when the share is correct (the complaint is refuted), BC_ERR_PROOF_COMPLAINT
 * or BC_ERR_POINT_* / BC_ERR_SCALAR_RANGE when the complaint itself is bad. */
EVOTE_WARN_UNUSED bc_err dkg_complaint_verify(const uint8_t election_id[BC_ELECTION_ID_LEN],
                                              uint32_t dealer, uint32_t j,
                                              const uint8_t ek_pub[EC_POINT_LEN],
                                              const uint8_t share[DKG_SHARE_LEN],
                                              const ec_point *commitments, uint32_t t,
                                              const uint8_t complaint[DKG_COMPLAINT_LEN]);
/* Y = Σ A_i0 over the qualified dealers; `commitments` holds count × t points
 * (dealer after dealer). Errors: BC_ERR_POINT_INFINITY (sum cancels). */
EVOTE_WARN_UNUSED bc_err dkg_joint_key(ec_point *y, const ec_point *commitments, size_t count,
                                       uint32_t t);
/* X_j = Σ_i Σ_k j^k·A_ik, computable by anyone. */
EVOTE_WARN_UNUSED bc_err dkg_verification_key(ec_point *x_pub, uint32_t j,
                                              const ec_point *commitments, size_t count, uint32_t t);
/* x_j = Σ_i s_ij over the qualified dealers (including j's own share). */
void dkg_secret_share(ec_scalar *x_j, const ec_scalar *shares, size_t count);

#endif
