/* A fetched block's ballot proofs, checked on every core before it is
 * executed (see fetched.h). */
#include <stdlib.h>
#include <string.h>

#include "fetched.h"

typedef struct {
    uint8_t id[CRYPTO_HASH_LEN];
    elgamal_ct *cts; /* NULL: not a ballot, or not passed here */
    size_t n_cts;
} item;

struct fetched_ballots {
    mempool *mp;
    Evote__V1__Batch *batch;
    election_cache *cache;
    const uint8_t *chain_id;
    item *items; /* one per transaction of the batch, in its order */
    size_t n, cursor;
};

/* On any thread: transaction i decoded (its signature is not checked: the
 * batch carries a commit certificate) and, when it is a ballot the mempool
 * has no verdict for, its proofs checked as a mempool worker checks them.
 * (A validator that was down gets the ballots passed on to it meanwhile
 * too, as its peers queued them: its workers may have checked those.) */
static void check_one(void *arg, size_t i)
{
    fetched_ballots *f = arg;
    const ProtobufCBinaryData *raw = &f->batch->txs[i];
    ledger_tx *tx = NULL;
    crypto_err detail = CRYPTO_OK;
    elgamal_ct buf[ELECTION_MAX_SLOTS];
    const elgamal_ct *known;
    size_t n_cts = 0;

    if (ledger_tx_decode_committed(raw->data, raw->len, f->chain_id, &tx, &detail) != LEDGER_OK)
        return;
    if (tx->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_BALLOT &&
        !mempool_ballot_verdict(f->mp, tx->id, &known, &n_cts) &&
        election_precheck_ballot(f->cache, tx->body, tx->envelope->signer.data, buf, ELECTION_MAX_SLOTS,
                                 &n_cts) == EVOTE__V1__TX_RESULT__TX_RESULT_OK &&
        (f->items[i].cts = malloc((n_cts ? n_cts : 1) * sizeof *buf)) != NULL) {
        memcpy(f->items[i].cts, buf, n_cts * sizeof *buf);
        f->items[i].n_cts = n_cts;
        memcpy(f->items[i].id, tx->id, CRYPTO_HASH_LEN);
    }
    ledger_tx_destroy(&tx);
}

size_t fetched_check(mempool *mp, election_cache *cache, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                     const uint8_t *batch, size_t len, fetched_ballots **out)
{
    fetched_ballots *f;
    size_t passed = 0;

    *out = NULL;
    if (cache == NULL || (f = calloc(1, sizeof *f)) == NULL)
        return 0;
    f->mp = mp;
    f->cache = cache;
    f->chain_id = chain_id;
    f->batch = evote__v1__batch__unpack(NULL, len, batch);
    if (f->batch == NULL || f->batch->n_txs == 0 || (f->items = calloc(f->batch->n_txs, sizeof *f->items)) == NULL) {
        fetched_free(&f);
        return 0;
    }
    f->n = f->batch->n_txs;
    mempool_parallel(mp, check_one, f, f->n);
    for (size_t i = 0; i < f->n; i++)
        passed += f->items[i].cts != NULL;
    if (passed == 0) {
        fetched_free(&f);
        return 0;
    }
    *out = f;
    return passed;
}

int fetched_verdict(fetched_ballots *f, const uint8_t id[CRYPTO_HASH_LEN], const elgamal_ct **cts, size_t *n)
{
    if (f == NULL)
        return 0;
    /* Execution asks in the batch's order: the next listed ballot is
     * almost always the one asked for. */
    for (size_t k = 0; k < f->n; k++) {
        size_t i = (f->cursor + k) % f->n;
        if (f->items[i].cts != NULL && memcmp(f->items[i].id, id, CRYPTO_HASH_LEN) == 0) {
            *cts = f->items[i].cts;
            *n = f->items[i].n_cts;
            f->cursor = i + 1;
            return 1;
        }
    }
    return 0;
}

void fetched_free(fetched_ballots **pf)
{
    fetched_ballots *f = *pf;
    if (f == NULL)
        return;
    if (f->items != NULL)
        for (size_t i = 0; i < f->n; i++)
            free(f->items[i].cts);
    free(f->items);
    if (f->batch != NULL)
        evote__v1__batch__free_unpacked(f->batch, NULL);
    free(f);
    *pf = NULL;
}
