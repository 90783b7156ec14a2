/* Batches and blocks: the check a replica makes before it prepares a
 * proposal, deterministic execution of a committed batch into result codes,
 * and assembly of the block that links the executed batch into the chain. */
#include <stdlib.h>
#include <string.h>

#include "ledger.h"

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, CRYPTO_HASH_LEN);
}

static uint64_t abs_diff(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

ledger_err ledger_batch_check(const uint8_t *batch, size_t len, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                              uint64_t seq, uint64_t now_ms, uint64_t max_skew_ms, uint32_t max_txs,
                              mempool *mp, size_t *bad_tx)
{
    Evote__V1__Batch *b;
    uint8_t (*ids)[CRYPTO_HASH_LEN] = NULL;
    ledger_err err = LEDGER_OK;

    if (bad_tx)
        *bad_tx = 0;
    b = evote__v1__batch__unpack(NULL, len, batch);
    if (b == NULL)
        return LEDGER_ERR_BATCH_MALFORMED;
    if (b->chain_id.len != CRYPTO_CHAIN_ID_LEN || memcmp(b->chain_id.data, chain_id, CRYPTO_CHAIN_ID_LEN) != 0 ||
        b->seq != seq) {
        err = LEDGER_ERR_BATCH_SEQ;
    } else if (b->n_txs > max_txs) {
        err = LEDGER_ERR_BATCH_SIZE;
    } else if (!(b->n_txs == 0 && b->timestamp_ms == 0) && abs_diff(b->timestamp_ms, now_ms) > max_skew_ms) {
        /* An empty batch stamped 0 is a null request (view change): it takes
         * the previous block's time. Anything else must be near our clock,
         * or a faulty primary could move block time (and close polls). */
        err = LEDGER_ERR_BATCH_TIME;
    } else if (b->n_txs > 0) {
        ids = malloc(b->n_txs * sizeof *ids);
        if (ids == NULL)
            err = LEDGER_ERR_NOMEM;
    }
    for (size_t i = 0; err == LEDGER_OK && i < b->n_txs; i++) {
        envelope_txid(b->txs[i].data, b->txs[i].len, ids[i]);
        if (mp != NULL && mempool_is_verified(mp, ids[i]))
            continue;
        ledger_tx *tx = NULL;
        if (ledger_tx_decode(b->txs[i].data, b->txs[i].len, chain_id, &tx, NULL) != LEDGER_OK) {
            err = LEDGER_ERR_BATCH_TX;
            if (bad_tx)
                *bad_tx = i;
        } else if (mp != NULL) {
            mempool_add_verified(mp, b->txs[i].data, b->txs[i].len, ids[i]);
        }
        ledger_tx_destroy(&tx);
    }
    if (err == LEDGER_OK && b->n_txs > 1) {
        qsort(ids, b->n_txs, sizeof *ids, cmp_id);
        for (size_t i = 1; i < b->n_txs; i++)
            if (memcmp(ids[i - 1], ids[i], CRYPTO_HASH_LEN) == 0) {
                err = LEDGER_ERR_BATCH_DUPLICATE;
                break;
            }
    }
    free(ids);
    evote__v1__batch__free_unpacked(b, NULL);
    return err;
}

static int is_authority(void *arg, const uint8_t *pubkey)
{
    return genesis_is_authority(arg, pubkey);
}

static int validator_index(void *arg, const uint8_t *pubkey)
{
    return genesis_validator_index(arg, pubkey);
}

int ledger_signer_may_sign(const genesis *g, const Evote__V1__TxBody *body,
                           const uint8_t signer[CRYPTO_PUBKEY_LEN])
{
    switch (body->payload_case) {
    case EVOTE__V1__TX_BODY__PAYLOAD_NOTICE:
    case EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CREATE:
    case EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CONTROL:
    case EVOTE__V1__TX_BODY__PAYLOAD_VOTER_REGISTRATION:
        return genesis_is_authority(g, signer);
    case EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_ATTESTATION:
        return genesis_validator_index(g, signer) >= 0;
    default:
        return 1;
    }
}

/* The result of one decoded transaction against the chain's state.
 * Returns: 1, or 0 when the election state failed (a local failure). */
static int execute_tx(const genesis *g, const ledger_tx *tx, const ledger_chain_view *view, uint64_t block_time,
                      Evote__V1__TxResult *result)
{
    election_ctx ectx;
    election_tx etx;
    election_err err;

    if (tx->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_NOTICE) {
        *result = ledger_signer_may_sign(g, tx->body, tx->envelope->signer.data)
                      ? EVOTE__V1__TX_RESULT__TX_RESULT_OK
                      : EVOTE__V1__TX_RESULT__TX_RESULT_NOT_AUTHORIZED;
        return 1;
    }
    if (view == NULL || view->state == NULL || view->changes == NULL ||
        !election_is_election_payload(tx->body)) {
        *result = EVOTE__V1__TX_RESULT__TX_RESULT_UNKNOWN_ELECTION;
        return 1;
    }
    memset(&ectx, 0, sizeof ectx);
    ectx.chain_id = g->chain_id;
    ectx.height = view->height;
    ectx.time_ms = block_time;
    ectx.is_authority = is_authority;
    ectx.validator_index = validator_index;
    ectx.authority_arg = (void *)g;
    ectx.cache = view->cache;
    memset(&etx, 0, sizeof etx);
    etx.body = tx->body;
    etx.signer = tx->envelope->signer.data;
    etx.id = tx->id;
    if (view->ballot_verdict != NULL &&
        tx->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_BALLOT &&
        view->ballot_verdict(view->ctx, tx->id, &etx.ballot_cts, &etx.n_ballot_cts))
        etx.ballot_verified = 1;
    err = election_apply(&ectx, &etx, view->state, view->changes, result);
    return err == ELECTION_OK;
}

/* The ids of a batch seen so far, for its duplicates: an open-addressing
 * table of indexes into ids (+1; 0 is an empty slot), at most half full.
 * Ids are hash outputs, so their first bytes place them. */
static size_t seen_size(size_t n_txs)
{
    size_t size = 16;
    while (size < 2 * n_txs)
        size *= 2;
    return size;
}

/* Returns: 1 when ids[i] equals an earlier ids[j]; records i otherwise. */
static int seen_before(uint32_t *seen, size_t mask, const uint8_t (*ids)[CRYPTO_HASH_LEN], size_t i)
{
    uint64_t h;
    memcpy(&h, ids[i], sizeof h);
    for (size_t at = (size_t)h & mask;; at = (at + 1) & mask) {
        if (seen[at] == 0) {
            seen[at] = (uint32_t)i + 1;
            return 0;
        }
        if (memcmp(ids[seen[at] - 1], ids[i], CRYPTO_HASH_LEN) == 0)
            return 1;
    }
}

ledger_err ledger_execute_batch(const genesis *g, const uint8_t *batch, size_t len, const ledger_chain_view *view,
                                uint32_t max_txs, Evote__V1__TxResult *results, size_t *n)
{
    Evote__V1__Batch *b = evote__v1__batch__unpack(NULL, len, batch);
    uint8_t (*ids)[CRYPTO_HASH_LEN];
    uint32_t *seen;
    size_t seen_mask;
    int owned; /* ids is ours, not the caller's view->ids_out */
    uint64_t block_time;

    *n = 0;
    if (b == NULL)
        return LEDGER_ERR_BATCH_MALFORMED;
    if (b->n_txs > max_txs) {
        evote__v1__batch__free_unpacked(b, NULL);
        return LEDGER_ERR_BATCH_SIZE;
    }
    owned = view == NULL || view->ids_out == NULL;
    ids = owned ? malloc((b->n_txs ? b->n_txs : 1) * sizeof *ids) : view->ids_out;
    seen_mask = seen_size(b->n_txs) - 1;
    seen = calloc(seen_mask + 1, sizeof *seen);
    if (ids == NULL || seen == NULL) {
        if (owned)
            free(ids);
        free(seen);
        evote__v1__batch__free_unpacked(b, NULL);
        return LEDGER_ERR_NOMEM;
    }
    if (view != NULL && view->changes != NULL)
        election_changes_clear(view->changes); /* this block's changes only */
    /* The block's time, as ledger_block_assemble will record it. */
    block_time = b->timestamp_ms;
    if (view != NULL && view->prev_timestamp_ms > block_time)
        block_time = view->prev_timestamp_ms;
    for (size_t i = 0; i < b->n_txs; i++) {
        ledger_tx *tx = NULL;
        crypto_err detail = CRYPTO_OK;
        ledger_err err = ledger_tx_decode_committed(b->txs[i].data, b->txs[i].len, g->chain_id, &tx, &detail);
        int dup;

        if (err == LEDGER_OK)
            memcpy(ids[i], tx->id, CRYPTO_HASH_LEN); /* the same hash, already made */
        else
            envelope_txid(b->txs[i].data, b->txs[i].len, ids[i]);
        dup = seen_before(seen, seen_mask, ids, i);
        if (err != LEDGER_OK)
            results[i] = ledger_result_for(err, detail);
        else if (dup || (view && view->tx_committed && view->tx_committed(view->ctx, ids[i])))
            results[i] = EVOTE__V1__TX_RESULT__TX_RESULT_DUPLICATE;
        else if (!execute_tx(g, tx, view, block_time, &results[i])) {
            ledger_tx_destroy(&tx);
            if (owned)
                free(ids);
            free(seen);
            evote__v1__batch__free_unpacked(b, NULL);
            if (view->changes != NULL)
                election_changes_clear(view->changes);
            return LEDGER_ERR_STATE;
        }
        ledger_tx_destroy(&tx);
    }
    *n = b->n_txs;
    if (owned)
        free(ids);
    free(seen);
    evote__v1__batch__free_unpacked(b, NULL);
    return LEDGER_OK;
}

ledger_err ledger_results_hash(const Evote__V1__TxResult *results, size_t n, uint8_t out[CRYPTO_HASH_LEN])
{
    uint8_t *packed = malloc(n ? 4 * n : 1);
    if (packed == NULL)
        return LEDGER_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)results[i];
        packed[4 * i] = (uint8_t)v;
        packed[4 * i + 1] = (uint8_t)(v >> 8);
        packed[4 * i + 2] = (uint8_t)(v >> 16);
        packed[4 * i + 3] = (uint8_t)(v >> 24);
    }
    crypto_tagged_hash(CRYPTO_TAG_RESULTS, packed, 4 * n, out);
    free(packed);
    return LEDGER_OK;
}

ledger_err ledger_block_assemble(const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], uint64_t height,
                                 const uint8_t prev_hash[CRYPTO_HASH_LEN], uint64_t prev_timestamp_ms,
                                 const uint8_t *batch, size_t batch_len, const Evote__V1__TxResult *results,
                                 size_t n_results, uint8_t **block, size_t *block_len,
                                 uint8_t hash[CRYPTO_HASH_LEN])
{
    return ledger_block_assemble_ids(chain_id, height, prev_hash, prev_timestamp_ms, batch, batch_len, NULL,
                                     results, n_results, block, block_len, hash);
}

ledger_err ledger_block_assemble_ids(const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], uint64_t height,
                                     const uint8_t prev_hash[CRYPTO_HASH_LEN], uint64_t prev_timestamp_ms,
                                     const uint8_t *batch, size_t batch_len, const uint8_t (*known)[CRYPTO_HASH_LEN],
                                     const Evote__V1__TxResult *results, size_t n_results, uint8_t **block,
                                     size_t *block_len, uint8_t hash[CRYPTO_HASH_LEN])
{
    Evote__V1__BlockHeader h = EVOTE__V1__BLOCK_HEADER__INIT;
    Evote__V1__Block blk = EVOTE__V1__BLOCK__INIT;
    uint8_t digest[CRYPTO_HASH_LEN], root[CRYPTO_HASH_LEN], rhash[CRYPTO_HASH_LEN];
    uint8_t (*ids)[CRYPTO_HASH_LEN] = NULL;
    uint8_t *hbytes = NULL, *out = NULL;
    size_t hlen, olen;
    ledger_err err = LEDGER_OK;
    Evote__V1__Batch *b;

    *block = NULL;
    *block_len = 0;
    b = evote__v1__batch__unpack(NULL, batch_len, batch);
    if (b == NULL)
        return LEDGER_ERR_BATCH_MALFORMED;
    if (b->seq != height || b->n_txs != n_results) {
        evote__v1__batch__free_unpacked(b, NULL);
        return LEDGER_ERR_BATCH_SEQ;
    }
    if (known == NULL) {
        ids = malloc((b->n_txs ? b->n_txs : 1) * sizeof *ids);
        if (ids == NULL) {
            evote__v1__batch__free_unpacked(b, NULL);
            return LEDGER_ERR_NOMEM;
        }
        for (size_t i = 0; i < b->n_txs; i++)
            envelope_txid(b->txs[i].data, b->txs[i].len, ids[i]);
        known = (const uint8_t(*)[CRYPTO_HASH_LEN])ids;
    }
    crypto_merkle_root(known, b->n_txs, root);
    crypto_tagged_hash(CRYPTO_TAG_BATCH, batch, batch_len, digest);
    if (ledger_results_hash(results, n_results, rhash) != LEDGER_OK) {
        err = LEDGER_ERR_NOMEM;
        goto done;
    }

    h.chain_id.data = (uint8_t *)chain_id;
    h.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    h.height = height;
    h.prev_hash.data = (uint8_t *)prev_hash;
    h.prev_hash.len = CRYPTO_HASH_LEN;
    h.batch_digest.data = digest;
    h.batch_digest.len = sizeof digest;
    h.tx_root.data = root;
    h.tx_root.len = sizeof root;
    h.results_hash.data = rhash;
    h.results_hash.len = sizeof rhash;
    h.timestamp_ms = b->timestamp_ms > prev_timestamp_ms ? b->timestamp_ms : prev_timestamp_ms;
    h.tx_count = (uint32_t)b->n_txs;
    hlen = evote__v1__block_header__get_packed_size(&h);
    hbytes = malloc(hlen);
    if (hbytes == NULL) {
        err = LEDGER_ERR_NOMEM;
        goto done;
    }
    evote__v1__block_header__pack(&h, hbytes);
    crypto_tagged_hash(CRYPTO_TAG_BLOCK, hbytes, hlen, hash);

    blk.header.data = hbytes;
    blk.header.len = hlen;
    blk.batch.data = (uint8_t *)batch;
    blk.batch.len = batch_len;
    blk.results = (Evote__V1__TxResult *)results;
    blk.n_results = n_results;
    olen = evote__v1__block__get_packed_size(&blk);
    out = malloc(olen);
    if (out == NULL) {
        err = LEDGER_ERR_NOMEM;
        goto done;
    }
    evote__v1__block__pack(&blk, out);
    *block = out;
    *block_len = olen;
done:
    free(hbytes);
    free(ids);
    evote__v1__batch__free_unpacked(b, NULL);
    return err;
}
