/* Fuzz target: an encrypted ballot as a voter's client sends it, checked by
 * bc_ballot_verify (what every validator runs on every ballot) and parsed by
 * bc_ballot_ciphertexts (execution with a cached verdict).
 *
 * The election: two questions, 3 options exactly 1, and 4 options approval
 * 0..2; its key Y = x·G with x known here. Beyond "no crash": a ballot that
 * verifies must decrypt (b - x·a) to 0 or 1 in every slot, within each
 * question's count, and the ciphertexts bc_ballot_ciphertexts returns must
 * be those bc_ballot_verify returned — otherwise abort(). */
#include <stdlib.h>
#include <string.h>

#include "ballot_crypto.h"
#include "fuzz.h"

static const bc_question questions[2] = {{3, 1, 1}, {4, 0, 2}};
static bc_election *election;
static ec_scalar x;
static uint8_t voter[BC_VOTER_LEN];

static void init(void)
{
    uint8_t id[BC_ELECTION_ID_LEN], y[EC_POINT_LEN], xb[EC_SCALAR_LEN];
    ec_point yp;
    if (election != NULL)
        return;
    crypto_tagged_hash("fuzz/election", (const uint8_t *)"e", 1, id);
    crypto_tagged_hash("fuzz/x", (const uint8_t *)"x", 1, xb);
    ec_scalar_reduce(&x, xb);
    ec_point_mul_base(&yp, &x);
    ec_point_encode(y, &yp);
    crypto_tagged_hash("fuzz/voter", (const uint8_t *)"v", 1, voter);
    if (bc_election_new(&election, id, y, questions, 2) != BC_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    elgamal_ct cts[7], again[7];
    size_t fault = 0, slot = 0;

    init();
    if (bc_ballot_ciphertexts(election, data, size, again) != BC_OK ||
        bc_ballot_verify(election, voter, data, size, cts, &fault) != BC_OK)
        return 0;
    for (size_t q = 0; q < 2; q++) {
        uint32_t count = 0;
        for (uint32_t o = 0; o < questions[q].options; o++, slot++) {
            ec_point xa, m;
            if (!ec_point_equal(&cts[slot].a, &again[slot].a) || !ec_point_equal(&cts[slot].b, &again[slot].b))
                abort();
            ec_point_mul(&xa, &cts[slot].a, &x);
            ec_point_sub(&m, &cts[slot].b, &xa);
            if (ec_point_equal(&m, ec_generator()))
                count++;
            else if (!m.infinity)
                abort(); /* a verified selection that is neither 0 nor 1 */
        }
        if (count < questions[q].min || count > questions[q].max)
            abort(); /* a verified question with a count outside min..max */
    }
    return 0;
}

void fuzz_seeds(fuzz_emit emit, void *ctx)
{
    static const uint8_t choices[3][7] = {{1, 0, 0, 0, 0, 0, 0}, {0, 1, 0, 1, 0, 1, 0}, {0, 0, 1, 1, 1, 0, 0}};
    init();
    size_t len = bc_ballot_size(election);
    uint8_t *b = malloc(len);
    if (b == NULL)
        return;
    for (int i = 0; i < 3; i++)
        if (bc_ballot_encrypt(election, voter, choices[i], 7, b, len) == BC_OK)
            emit(ctx, b, len);
    free(b);
}
