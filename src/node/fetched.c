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
    const Evote__V1__Batch *batch; /* the caller's */
    election_cache *cache;
    const uint8_t *chain_id;
    item *items; /* one per transaction of the batch, in its order */
    size_t n, cursor;
    size_t *todo, n_todo; /* the indexes of those that look like ballots */
};

/* Wire-format scanning, to tell a ballot from the rest without decoding:
 * a block of 2,000 notices is not worth a decode each. A guess either
 * way is harmless: check_one decodes what it is given, and a ballot left
 * out is checked during execution. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 1;
    }
    return 0;
}

/* The next top-level field of a message at *p (< end). Out: its number,
 * and for a length-delimited one its bytes (*val NULL otherwise).
 * Returns: 1, 0 at the end, -1 when malformed. */
static int wire_next(const uint8_t **p, const uint8_t *end, uint64_t *field, const uint8_t **val, size_t *vlen)
{
    uint64_t key, n;
    if (*p >= end)
        return 0;
    if (!varint(p, end, &key))
        return -1;
    *field = key >> 3;
    *val = NULL;
    switch (key & 7) {
    case 0: /* varint */
        return varint(p, end, &n) ? 1 : -1;
    case 1: /* 64-bit */
        if (end - *p < 8)
            return -1;
        *p += 8;
        return 1;
    case 2: /* length-delimited */
        if (!varint(p, end, &n) || n > (uint64_t)(end - *p))
            return -1;
        *val = *p;
        *vlen = (size_t)n;
        *p += n;
        return 1;
    case 5: /* 32-bit */
        if (end - *p < 4)
            return -1;
        *p += 4;
        return 1;
    default:
        return -1;
    }
}

/* The last length-delimited top-level field number `field` of a message.
 * Returns: 1 and its bytes, 0 when absent or the message malformed. */
static int wire_field(const uint8_t *msg, size_t len, uint64_t field, const uint8_t **val, size_t *vlen)
{
    const uint8_t *p = msg, *v;
    uint64_t f;
    size_t n;
    int r, found = 0;
    while ((r = wire_next(&p, msg + len, &f, &v, &n)) == 1)
        if (f == field && v != NULL) {
            *val = v;
            *vlen = n;
            found = 1;
        }
    return r == 0 && found;
}

/* The field numbers the scan looks for, from the generated descriptors. */
typedef struct {
    uint64_t body, ballot; /* Envelope.body, TxBody.ballot */
} wire_ids;

static int wire_ids_get(wire_ids *w)
{
    const ProtobufCFieldDescriptor *body, *ballot;
    body = protobuf_c_message_descriptor_get_field_by_name(&evote__v1__envelope__descriptor, "body");
    ballot = protobuf_c_message_descriptor_get_field_by_name(&evote__v1__tx_body__descriptor, "ballot");
    if (body == NULL || ballot == NULL)
        return 0;
    w->body = body->id;
    w->ballot = ballot->id;
    return 1;
}

/* Whether a transaction's envelope body carries a Ballot payload. */
static int looks_like_ballot(const wire_ids *w, const uint8_t *tx, size_t len)
{
    const uint8_t *body, *ballot;
    size_t body_len, ballot_len;
    return wire_field(tx, len, w->body, &body, &body_len) && wire_field(body, body_len, w->ballot, &ballot, &ballot_len);
}

int fetched_looks_like_ballot(const uint8_t *tx, size_t len)
{
    wire_ids w;
    return !wire_ids_get(&w) || looks_like_ballot(&w, tx, len);
}

/* On any thread: transaction i, unless the mempool has a verdict for it,
 * decoded (its signature is not checked: the batch carries a commit
 * certificate) and, when it is a ballot, its proofs checked as a mempool
 * worker checks them.
 * (A validator that was down gets the ballots passed on to it meanwhile
 * too, as its peers queued them: its workers may have checked those.) */
static void check_one(void *arg, size_t j)
{
    fetched_ballots *f = arg;
    size_t i = f->todo[j];
    const ProtobufCBinaryData *raw = &f->batch->txs[i];
    ledger_tx *tx = NULL;
    crypto_err detail = CRYPTO_OK;
    elgamal_ct buf[ELECTION_MAX_SLOTS];
    const elgamal_ct *known;
    uint8_t id[CRYPTO_HASH_LEN];
    size_t n_cts = 0;

    /* The id is a hash of the bytes: a ballot the workers checked already
     * is not even decoded. */
    envelope_txid(raw->data, raw->len, id);
    if (mempool_ballot_verdict(f->mp, id, &known, &n_cts) ||
        ledger_tx_decode_committed(raw->data, raw->len, f->chain_id, &tx, &detail) != LEDGER_OK)
        return;
    if (tx->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_BALLOT &&
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
                     const Evote__V1__Batch *batch, fetched_ballots **out)
{
    fetched_ballots *f;
    size_t passed = 0;
    wire_ids w = {0, 0};
    /* Cannot read the descriptors (never): every transaction is decoded. */
    int scan = wire_ids_get(&w);

    *out = NULL;
    if (cache == NULL || batch->n_txs == 0 || (f = calloc(1, sizeof *f)) == NULL)
        return 0;
    f->mp = mp;
    f->cache = cache;
    f->chain_id = chain_id;
    f->batch = batch;
    f->n = batch->n_txs;
    if ((f->items = calloc(f->n, sizeof *f->items)) == NULL || (f->todo = calloc(f->n, sizeof *f->todo)) == NULL) {
        fetched_free(&f);
        return 0;
    }
    for (size_t i = 0; i < f->n; i++)
        if (!scan || looks_like_ballot(&w, batch->txs[i].data, batch->txs[i].len))
            f->todo[f->n_todo++] = i;
    mempool_parallel(mp, check_one, f, f->n_todo);
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
    free(f->todo);
    free(f);
    *pf = NULL;
}
