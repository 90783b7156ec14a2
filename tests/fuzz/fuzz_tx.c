/* Fuzz target: what anyone may send a validator's client API as a
 * transaction, and what a primary proposes as a batch. The same bytes go to
 *   ledger_tx_decode            a transaction as submitted (signature checked)
 *   ledger_tx_decode_committed  a transaction of a certified batch
 *   fetched_looks_like_ballot   the wire scan that picks a fetched block's
 *                               ballots without decoding them
 *   ledger_batch_check          a proposed batch, before a backup prepares it
 * Beyond "no crash": a transaction that decodes must decode the same way
 * both times (same id, same body), and the scan must see every one that
 * decodes as a ballot, or abort(). */
#include <stdlib.h>
#include <string.h>

#include "evote.pb-c.h"
#include "fetched.h"
#include "fuzz.h"
#include "ledger.h"

static uint8_t chain_id[CRYPTO_CHAIN_ID_LEN];

static void init(void)
{
    crypto_tagged_hash("fuzz/chain", (const uint8_t *)"c", 1, chain_id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ledger_tx *a = NULL, *b = NULL;
    crypto_err detail;
    size_t bad = 0;

    init();
    ledger_err ea = ledger_tx_decode(data, size, chain_id, &a, &detail);
    ledger_err eb = ledger_tx_decode_committed(data, size, chain_id, &b, &detail);
    if (ea == LEDGER_OK) {
        size_t la, lb;
        uint8_t *pa, *pb;
        if (eb != LEDGER_OK || memcmp(a->id, b->id, CRYPTO_HASH_LEN) != 0)
            abort();
        la = evote__v1__tx_body__get_packed_size(a->body);
        lb = evote__v1__tx_body__get_packed_size(b->body);
        pa = malloc(la ? la : 1);
        pb = malloc(lb ? lb : 1);
        if (pa == NULL || pb == NULL)
            abort();
        evote__v1__tx_body__pack(a->body, pa);
        evote__v1__tx_body__pack(b->body, pb);
        if (la != lb || memcmp(pa, pb, la) != 0)
            abort();
        free(pa);
        free(pb);
    }
    if (!fetched_looks_like_ballot(data, size) && eb == LEDGER_OK &&
        b->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_BALLOT)
        abort();
    ledger_tx_destroy(&a);
    ledger_tx_destroy(&b);
    if (ledger_batch_check(data, size, chain_id, 1, 1000, 30000, 16, NULL, &bad) != LEDGER_OK)
        return 0;
    return 0;
}

static uint8_t *notice(const signing_key *key, uint64_t nonce, const char *text, size_t *len)
{
    Evote__V1__Notice n = EVOTE__V1__NOTICE__INIT;
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    uint8_t *out = NULL;
    n.topic = "fuzz";
    n.text.data = (uint8_t *)text;
    n.text.len = strlen(text);
    body.chain_id.data = chain_id;
    body.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    body.nonce = nonce;
    body.created_ms = 1000;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_NOTICE;
    body.notice = &n;
    if (ledger_tx_seal(&body, key, &out, len) != CRYPTO_OK)
        return NULL;
    return out;
}

void fuzz_seeds(fuzz_emit emit, void *ctx)
{
    uint8_t secret[CRYPTO_SECKEY_LEN];
    signing_key *key = NULL;
    uint8_t *t1, *t2;
    size_t l1, l2;

    init();
    crypto_tagged_hash("fuzz/key", (const uint8_t *)"k", 1, secret);
    if (signing_key_from_secret(secret, &key) != CRYPTO_OK)
        return;
    t1 = notice(key, 1, "polling stations open at 8", &l1);
    t2 = notice(key, 2, "and close at 20", &l2);
    {
        /* A ballot's shape (its bytes are not a real ballot: the scan
         * and the decoders look at the wire format only). */
        Evote__V1__Ballot bal = EVOTE__V1__BALLOT__INIT;
        Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
        uint8_t blob[130] = {2}, *out = NULL;
        size_t len;
        bal.election_id.data = (uint8_t *)"city";
        bal.election_id.len = 4;
        bal.encrypted_ballot.data = blob;
        bal.encrypted_ballot.len = sizeof blob;
        body.chain_id.data = chain_id;
        body.chain_id.len = CRYPTO_CHAIN_ID_LEN;
        body.nonce = 3;
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_BALLOT;
        body.ballot = &bal;
        if (ledger_tx_seal(&body, key, &out, &len) == CRYPTO_OK)
            emit(ctx, out, len);
        free(out);
    }
    if (t1 != NULL && t2 != NULL) {
        Evote__V1__Batch batch = EVOTE__V1__BATCH__INIT;
        ProtobufCBinaryData txs[2] = {{l1, t1}, {l2, t2}};
        size_t bl;
        uint8_t *bb;
        emit(ctx, t1, l1);
        batch.chain_id.data = chain_id;
        batch.chain_id.len = CRYPTO_CHAIN_ID_LEN;
        batch.seq = 1;
        batch.timestamp_ms = 1000;
        batch.txs = txs;
        batch.n_txs = 2;
        bl = evote__v1__batch__get_packed_size(&batch);
        bb = malloc(bl);
        if (bb != NULL) {
            evote__v1__batch__pack(&batch, bb);
            emit(ctx, bb, bl);
        }
        free(bb);
    }
    free(t1);
    free(t2);
    signing_key_destroy(&key);
}
