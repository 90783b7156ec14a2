/* Fuzz target: a snapshot's data.mdb as an auditor receives it from any
 * node — possibly a faulty one. LMDB trusts the file it maps (an offset or
 * page number out of place is a wild read), so evote-audit checks the meta
 * pages (data_file_check) and every page the B-trees reach
 * (data_file_walk) before chain_store_open_readonly maps it; then it
 * reads everything. Whatever the bytes, that path must refuse with a reason
 * or read — never crash. The input is the whole file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "chain_store.h"
#include "data_file.h"
#include "evote.pb-c.h"
#include "fuzz.h"
#include "ledger.h"

static const char *dir;

static void init(void)
{
    if (dir == NULL)
        dir = fuzz_tmpdir("snapshot");
}

static int each_block(void *ctx, uint64_t height, const uint8_t *block, size_t block_len, const uint8_t *cert,
                      size_t cert_len)
{
    size_t *n = ctx;
    Evote__V1__Block *b = evote__v1__block__unpack(NULL, block_len, block);
    (void)height;
    (void)cert;
    (void)cert_len;
    if (b != NULL)
        evote__v1__block__free_unpacked(b, NULL);
    return ++*n < 100000 ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[128], why[256];
    data_file_info info;
    chain_store *s = NULL;
    store_error serr;
    FILE *f;
    int e = 0;

    init();
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    /* As evote-audit: a file whose meta pages pass must pass the page walk too. */
    if (data_file_check(path, &info, &e, why, sizeof why) == DATA_FILE_OK &&
        !data_file_walk(path, info.page_size, info.last_page, why, sizeof why))
        return 0;
    if (chain_store_open_readonly(dir, NULL, &s, &serr) == STORE_OK) {
        uint64_t tip = 0, at = 0;
        uint8_t hash[CRYPTO_HASH_LEN], id[CRYPTO_HASH_LEN] = {0}, *p = NULL;
        size_t n = 0, len = 0;
        uint32_t index;
        Evote__V1__TxResult result;
        if (chain_store_tip(s, &tip, hash, NULL) == STORE_OK && chain_store_iterate(s, 1, each_block, &n) == STORE_OK) {
            for (uint64_t h = 1; h <= tip && h <= 8; h++) {
                if (chain_store_get_block(s, h, &p, &len) == STORE_OK)
                    free(p);
                if (chain_store_get_cert(s, h, &p, &len) == STORE_OK)
                    free(p);
            }
        }
        if (chain_store_get_consensus_meta(s, &p, &len) == STORE_OK)
            free(p);
        if (chain_store_get_new_view(s, &p, &len) == STORE_OK)
            free(p);
        if (chain_store_find_checkpoint(s, 1, &at, &p, &len) == STORE_OK)
            free(p);
        if (chain_store_find_tx(s, id, &at, &index, &result) == STORE_OK)
            (void)index;
        if (chain_store_get_state(s, (const uint8_t *)"e/x", 3, &p, &len) == STORE_OK)
            free(p);
        chain_store_destroy(&s);
    }
    return 0;
}

/* ------------------------------------------------------------------ seeds */

static uint8_t chain_id[CRYPTO_CHAIN_ID_LEN];

static uint8_t *fake_tx(uint64_t nonce, size_t *len)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__Notice notice = EVOTE__V1__NOTICE__INIT;
    Evote__V1__Envelope env = EVOTE__V1__ENVELOPE__INIT;
    uint8_t text[40], signer[32], sig[64], *b, *out;
    size_t bl;

    memset(text, 'v', sizeof text);
    memset(signer, 0x42, sizeof signer);
    memset(sig, 0x17, sizeof sig);
    notice.topic = (char *)"fuzz";
    notice.text.data = text;
    notice.text.len = sizeof text;
    body.chain_id.data = chain_id;
    body.chain_id.len = sizeof chain_id;
    body.nonce = nonce;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_NOTICE;
    body.notice = &notice;
    bl = evote__v1__tx_body__get_packed_size(&body);
    b = malloc(bl);
    evote__v1__tx_body__pack(&body, b);
    env.kind = EVOTE__V1__KIND__KIND_TX;
    env.body.data = b;
    env.body.len = bl;
    env.signer.data = signer;
    env.signer.len = sizeof signer;
    env.signature.data = sig;
    env.signature.len = sizeof sig;
    *len = evote__v1__envelope__get_packed_size(&env);
    out = malloc(*len);
    evote__v1__envelope__pack(&env, out);
    free(b);
    return out;
}

static int append(chain_store *s, uint64_t height, uint8_t prev[CRYPTO_HASH_LEN])
{
    Evote__V1__Batch batch = EVOTE__V1__BATCH__INIT;
    Evote__V1__CommitCertificate cert = EVOTE__V1__COMMIT_CERTIFICATE__INIT;
    ProtobufCBinaryData txs[3];
    uint8_t ids[3][CRYPTO_HASH_LEN], digest[CRYPTO_HASH_LEN], hash[CRYPTO_HASH_LEN], *bytes, *block = NULL, *cb;
    Evote__V1__TxResult results[3] = {EVOTE__V1__TX_RESULT__TX_RESULT_OK, EVOTE__V1__TX_RESULT__TX_RESULT_OK,
                                      EVOTE__V1__TX_RESULT__TX_RESULT_NOT_AUTHORIZED};
    chain_store_append_args a;
    chain_store_state_change st = {(const uint8_t *)"e/x", 3, (const uint8_t *)"state", 5, 0};
    size_t blen, block_len = 0, cl;
    int ok = 0;

    for (int i = 0; i < 3; i++) {
        txs[i].data = fake_tx(height * 10 + (uint64_t)i, &txs[i].len);
        envelope_txid(txs[i].data, txs[i].len, ids[i]);
    }
    batch.chain_id.data = chain_id;
    batch.chain_id.len = sizeof chain_id;
    batch.seq = height;
    batch.timestamp_ms = 1700000000000ull + height;
    batch.txs = txs;
    batch.n_txs = 3;
    blen = evote__v1__batch__get_packed_size(&batch);
    bytes = malloc(blen);
    evote__v1__batch__pack(&batch, bytes);
    crypto_tagged_hash(CRYPTO_TAG_BATCH, bytes, blen, digest);
    cert.seq = height;
    cert.digest.data = digest;
    cert.digest.len = sizeof digest;
    cl = evote__v1__commit_certificate__get_packed_size(&cert);
    cb = malloc(cl);
    evote__v1__commit_certificate__pack(&cert, cb);
    if (ledger_block_assemble(chain_id, height, prev, batch.timestamp_ms, bytes, blen, results, 3, &block, &block_len,
                              hash) == LEDGER_OK) {
        memset(&a, 0, sizeof a);
        a.block = block;
        a.block_len = block_len;
        a.cert = cb;
        a.cert_len = cl;
        a.tx_ids = (const uint8_t(*)[CRYPTO_HASH_LEN])ids;
        a.tx_results = results;
        a.n_txs = 3;
        a.state = &st;
        a.n_state = 1;
        ok = chain_store_append(s, &a) == STORE_OK;
        memcpy(prev, hash, CRYPTO_HASH_LEN);
    }
    for (int i = 0; i < 3; i++)
        free(txs[i].data);
    free(bytes);
    free(block);
    free(cb);
    return ok;
}

void fuzz_seeds(fuzz_emit emit, void *ctx)
{
    char path[128];
    chain_store *s = NULL;
    store_error why;
    uint8_t prev[CRYPTO_HASH_LEN];
    FILE *f;

    init();
    crypto_tagged_hash("fuzz/chain", (const uint8_t *)"c", 1, chain_id);
    memcpy(prev, chain_id, sizeof prev);
    if (chain_store_open(dir, chain_id, NULL, &s, &why) != STORE_OK)
        return;
    for (uint64_t h = 1; h <= 3; h++)
        if (!append(s, h, prev))
            fprintf(stderr, "fuzz_snapshot: cannot append block %llu\n", (unsigned long long)h);
    chain_store_destroy(&s);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    f = fopen(path, "rb");
    if (f != NULL) {
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        emit(ctx, buf, n);
    }
}
