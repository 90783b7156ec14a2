/* Fuzz target: the election rules executing committed transactions
 * (election_apply), as every validator and the auditor do: definitions,
 * registrations, the key ceremony (dealings, complaints), ballots, closing,
 * partial decryptions and the tally.
 *
 * Transactions are decoded as committed ones (ledger_tx_decode_committed:
 * no signature check), so a mutated body still reaches the rules under its
 * signer's key, as if that signer had signed it. Each input runs twice from
 * an empty state: once verifying every ballot in execution, once with the
 * mempool's precheck verdict handed over (as a validator does). The two runs
 * must give the same result code for every transaction and byte-identical
 * state changes for every block — a difference would split the validators'
 * chains — otherwise abort().
 *
 * Input: chain id (32), a (1) authority keys (32 each, a <= 2), v (1)
 * validator keys (32 each, v <= 4), then records until the end: height
 * step (1), u16 length (little-endian), a transaction envelope; each
 * record is one block. Seeds: tests/fuzz/corpus/election/ (a whole election
 * written by tests/unit/test_election with EVOTE_FUZZ_SEED_DIR set). */
#include <stdlib.h>
#include <string.h>

#include "election.h"
#include "fuzz.h"
#include "ledger.h"

typedef struct {
    const uint8_t *auth, *val;
    size_t n_auth, n_val;
} keys;

static int is_authority(void *arg, const uint8_t *pubkey)
{
    const keys *k = arg;
    for (size_t i = 0; i < k->n_auth; i++)
        if (memcmp(k->auth + 32 * i, pubkey, 32) == 0)
            return 1;
    return 0;
}

static int validator_index(void *arg, const uint8_t *pubkey)
{
    const keys *k = arg;
    for (size_t i = 0; i < k->n_val; i++)
        if (memcmp(k->val + 32 * i, pubkey, 32) == 0)
            return (int)i;
    return -1;
}

static int mem_get(void *ctx, const uint8_t *key, size_t key_len, uint8_t **value, size_t *len)
{
    election_changes *kv = ctx;
    const uint8_t *v;
    size_t n;
    if (election_changes_find(kv, key, key_len, &v, &n) != 1)
        return 0;
    *value = malloc(n ? n : 1);
    if (*value == NULL)
        return -1;
    memcpy(*value, v, n);
    *len = n;
    return 1;
}

typedef struct {
    Evote__V1__TxResult *results;
    size_t n, cap;
    fuzz_buf dump; /* every block's changes, serialized */
} outcome;

static void note_result(outcome *o, Evote__V1__TxResult r)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 64;
        o->results = realloc(o->results, o->cap * sizeof *o->results);
        if (o->results == NULL)
            abort();
    }
    o->results[o->n++] = r;
}

static void run(const uint8_t *chain_id, const keys *k, const uint8_t *data, size_t size, int precheck,
                outcome *out)
{
    election_changes *state = election_changes_new(), *block = election_changes_new();
    election_cache *cache = NULL;
    election_state_reader rd = {mem_get, state};
    election_ctx ctx = {chain_id, 0, 1000, is_authority, validator_index, (void *)k, NULL};
    size_t at = 0;

    if (state == NULL || block == NULL || election_cache_new(chain_id, &cache) != ELECTION_OK)
        abort();
    ctx.cache = cache;
    while (size - at >= 3) {
        size_t len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
        ledger_tx *tx = NULL;
        crypto_err detail;
        Evote__V1__TxResult result = EVOTE__V1__TX_RESULT__TX_RESULT_UNSPECIFIED;

        ctx.height += data[at];
        ctx.time_ms += 1000u * data[at];
        at += 3;
        if (len > size - at)
            len = size - at;
        election_changes_clear(block);
        if (ledger_tx_decode_committed(data + at, len, chain_id, &tx, &detail) != LEDGER_OK) {
            note_result(out, EVOTE__V1__TX_RESULT__TX_RESULT_MALFORMED);
        } else if (election_is_election_payload(tx->body)) {
            election_tx etx = {tx->body, tx->envelope->signer.data, tx->id, 0, NULL, 0};
            elgamal_ct cts[ELECTION_MAX_SLOTS];
            size_t ncts = 0;
            if (precheck && tx->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_BALLOT) {
                etx.ballot_verified = election_precheck_ballot(cache, tx->body, etx.signer, cts,
                                                               ELECTION_MAX_SLOTS, &ncts) ==
                                      EVOTE__V1__TX_RESULT__TX_RESULT_OK;
                if (etx.ballot_verified && ctx.height % 2 == 0) {
                    etx.ballot_cts = cts;
                    etx.n_ballot_cts = ncts;
                }
            }
            if (election_apply(&ctx, &etx, &rd, block, &result) != ELECTION_OK)
                result = EVOTE__V1__TX_RESULT__TX_RESULT_UNSPECIFIED; /* a local failure: noted as such */
            note_result(out, result);
            for (size_t i = 0; i < election_changes_count(block); i++) {
                const uint8_t *key, *v;
                size_t kl, vl;
                int del;
                uint64_t h[2];
                election_changes_at(block, i, &key, &kl, &v, &vl, &del);
                if (!del && !election_changes_put(state, key, kl, v, vl))
                    abort();
                h[0] = kl;
                h[1] = vl;
                fuzz_buf_put(&out->dump, h, sizeof h);
                fuzz_buf_put(&out->dump, key, kl);
                fuzz_buf_put(&out->dump, v, vl);
            }
        } else {
            note_result(out, EVOTE__V1__TX_RESULT__TX_RESULT_OK);
        }
        ledger_tx_destroy(&tx);
        at += len;
    }
    election_cache_destroy(&cache);
    election_changes_destroy(&block);
    election_changes_destroy(&state);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    keys k = {0};
    outcome a = {0}, b = {0};
    size_t at = 32;

    if (size < at + 1)
        return 0;
    k.n_auth = data[at++] % 3;
    k.auth = data + at;
    at += 32 * k.n_auth;
    if (size < at + 1)
        return 0;
    k.n_val = data[at++] % 5;
    k.val = data + at;
    at += 32 * k.n_val;
    if (size < at)
        return 0;
    run(data, &k, data + at, size - at, 0, &a);
    run(data, &k, data + at, size - at, 1, &b);
    if (a.n != b.n || (a.n > 0 && memcmp(a.results, b.results, a.n * sizeof *a.results) != 0) ||
        a.dump.len != b.dump.len ||
        (a.dump.len > 0 && memcmp(a.dump.p, b.dump.p, a.dump.len) != 0))
        abort(); /* execution with and without the precheck verdict differ */
    free(a.results);
    free(b.results);
    fuzz_buf_free(&a.dump);
    fuzz_buf_free(&b.dump);
    return 0;
}

void fuzz_seeds(fuzz_emit emit, void *ctx)
{
    /* An empty chain with one authority: the corpus files carry the rest. */
    uint8_t s[32 + 1 + 32 + 1] = {0};
    s[32] = 1;
    emit(ctx, s, sizeof s);
}
