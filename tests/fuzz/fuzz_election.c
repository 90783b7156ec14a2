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

#include "fuzz.h"
#include "fuzz_exec.h"

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

static void note_change(void *ctx, const uint8_t *key, size_t kl, const uint8_t *v, size_t vl, int del)
{
    outcome *o = ctx;
    uint64_t h[3] = {kl, del ? 0 : vl, (uint64_t)del};
    fuzz_buf_put(&o->dump, h, sizeof h);
    fuzz_buf_put(&o->dump, key, kl);
    fuzz_buf_put(&o->dump, v, del ? 0 : vl);
}

static void note(void *ctx, Evote__V1__TxResult r)
{
    note_result(ctx, r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    outcome a = {0}, b = {0};
    fuzz_exec_out oa = {note, note_change, &a}, ob = {note, note_change, &b};
    uint8_t chain_id[32];

    if (fuzz_exec_election(data, size, 0, &oa, chain_id) && fuzz_exec_election(data, size, 1, &ob, chain_id) &&
        (a.n != b.n || (a.n > 0 && memcmp(a.results, b.results, a.n * sizeof *a.results) != 0) ||
         a.dump.len != b.dump.len || (a.dump.len > 0 && memcmp(a.dump.p, b.dump.p, a.dump.len) != 0)))
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
