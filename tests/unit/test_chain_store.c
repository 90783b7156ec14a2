/* Unit tests of storage/: the LMDB chain store, on real LMDB files in
 * temporary directories. Blocks are real: assembled by the ledger from real
 * batches of signed transactions; certificates are real protobufs (their
 * signatures do not matter to the store). Crash, disk-full and snapshot
 * tests run the store in forked children and threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chain_store.h"
#include "consensus.pb-c.h"
#include "data_file.h"
#include "ledger.h"

#define MIB ((size_t)1 << 20)

static signing_key *key;

/* ------------------------------------------------------------ fixtures */

static int setup(void **state)
{
    (void)state;
    return signing_key_generate(&key) == CRYPTO_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    signing_key_destroy(&key);
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

typedef struct {
    char root[64];    /* mkdtemp directory, removed by tmp_done */
    char store[128];  /* root/store */
} tmp_t;

/* The directory of the running test, removed by cleanup() even when the
 * test fails half-way. */
static char current_root[64];

static void tmp_init(tmp_t *t)
{
    strcpy(t->root, "/tmp/evote-store-test-XXXXXX");
    assert_non_null(mkdtemp(t->root));
    strcpy(current_root, t->root);
    snprintf(t->store, sizeof t->store, "%s/store", t->root);
}

static void tmp_path(const tmp_t *t, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", t->root, name);
}

static void tmp_done(tmp_t *t)
{
    chmod(t->root, 0700);
    rm_rf(t->root);
    current_root[0] = '\0';
}

static int cleanup(void **state)
{
    (void)state;
    if (current_root[0]) {
        chmod(current_root, 0700);
        rm_rf(current_root);
        current_root[0] = '\0';
    }
    return 0;
}

/* ------------------------------------------------------ chain builder */

/* What a node knows to build the next block. */
typedef struct {
    uint8_t chain_id[CRYPTO_CHAIN_ID_LEN];
    uint64_t height;
    uint8_t hash[CRYPTO_HASH_LEN];
    uint64_t timestamp_ms;
    uint64_t nonce;
} chain_t;

typedef struct {
    uint8_t *block;
    size_t block_len;
    uint8_t *cert;
    size_t cert_len;
    uint8_t (*ids)[CRYPTO_HASH_LEN];
    Evote__V1__TxResult *results;
    size_t n;
    uint8_t hash[CRYPTO_HASH_LEN];
    uint64_t height;
    uint64_t timestamp_ms;
    uint8_t *meta;
    size_t meta_len;
    uint8_t state_key[16];
    uint8_t state_val[8];
    chain_store_state_change change;
} blk_t;

static void chain_init(chain_t *c, const char *name)
{
    memset(c, 0, sizeof *c);
    crypto_tagged_hash(CRYPTO_TAG_GENESIS, (const uint8_t *)name, strlen(name), c->chain_id);
    memcpy(c->hash, c->chain_id, CRYPTO_HASH_LEN);
    if (crypto_random(&c->nonce, sizeof c->nonce) != CRYPTO_OK)
        c->nonce = (uint64_t)time(NULL);
}

/* A signed notice transaction of about `size` bytes for this chain. */
static void make_tx(chain_t *c, size_t size, uint8_t **out, size_t *len)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__Notice notice = EVOTE__V1__NOTICE__INIT;
    uint8_t *text = malloc(size ? size : 1);
    assert_non_null(text);
    memset(text, 'a' + (int)(c->nonce % 26), size);
    notice.topic = (char *)"storage test";
    notice.text.data = text;
    notice.text.len = size;
    body.chain_id.data = c->chain_id;
    body.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    body.nonce = c->nonce++;
    body.created_ms = 1700000000000ull;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_NOTICE;
    body.notice = &notice;
    assert_int_equal(ledger_tx_seal(&body, key, out, len), CRYPTO_OK);
    free(text);
}

static void pack_cert(uint64_t view, uint64_t seq, const uint8_t digest[CRYPTO_HASH_LEN], uint8_t **out, size_t *len)
{
    Evote__V1__CommitCertificate cert = EVOTE__V1__COMMIT_CERTIFICATE__INIT;
    Evote__V1__Envelope env[3], *envp[3];
    uint8_t body[3][52], signer[32], sig[64];
    memset(signer, 0x11, sizeof signer);
    memset(sig, 0x22, sizeof sig);
    for (int i = 0; i < 3; i++) {
        evote__v1__envelope__init(&env[i]);
        memset(body[i], i, sizeof body[i]);
        env[i].kind = EVOTE__V1__KIND__KIND_COMMIT;
        env[i].body.data = body[i];
        env[i].body.len = sizeof body[i];
        env[i].signer.data = signer;
        env[i].signer.len = sizeof signer;
        env[i].signature.data = sig;
        env[i].signature.len = sizeof sig;
        envp[i] = &env[i];
    }
    cert.view = view;
    cert.seq = seq;
    cert.digest.data = (uint8_t *)digest;
    cert.digest.len = CRYPTO_HASH_LEN;
    cert.commits = envp;
    cert.n_commits = 3;
    *len = evote__v1__commit_certificate__get_packed_size(&cert);
    *out = malloc(*len);
    assert_non_null(*out);
    evote__v1__commit_certificate__pack(&cert, *out);
}

static void pack_meta(uint64_t view, uint64_t last_executed, uint8_t **out, size_t *len)
{
    Evote__V1__ConsensusMeta m = EVOTE__V1__CONSENSUS_META__INIT;
    m.view = view;
    m.stable_seq = last_executed - last_executed % 64;
    m.last_executed = last_executed;
    *len = evote__v1__consensus_meta__get_packed_size(&m);
    *out = malloc(*len ? *len : 1);
    assert_non_null(*out);
    evote__v1__consensus_meta__pack(&m, *out);
}

static uint64_t meta_last_executed(const uint8_t *bytes, size_t len)
{
    Evote__V1__ConsensusMeta *m = evote__v1__consensus_meta__unpack(NULL, len, bytes);
    uint64_t v;
    assert_non_null(m);
    v = m->last_executed;
    evote__v1__consensus_meta__free_unpacked(m, NULL);
    return v;
}

static void batch_digest_of(const uint8_t *block, size_t len, uint8_t digest[CRYPTO_HASH_LEN])
{
    Evote__V1__Block *b = evote__v1__block__unpack(NULL, len, block);
    assert_non_null(b);
    crypto_tagged_hash(CRYPTO_TAG_BATCH, b->batch.data, b->batch.len, digest);
    evote__v1__block__free_unpacked(b, NULL);
}

/* Builds a block of n transactions of ~tx_size bytes on chain c at `height`
 * linking to prev (normally c->height + 1 and c->hash), with its
 * certificate, meta and one state change. Does not advance c. */
static void make_block_at(chain_t *c, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], uint64_t height,
                          const uint8_t prev[CRYPTO_HASH_LEN], size_t n, size_t tx_size, blk_t *b)
{
    Evote__V1__Batch batch = EVOTE__V1__BATCH__INIT;
    ProtobufCBinaryData *txs = calloc(n ? n : 1, sizeof *txs);
    uint8_t *bb, digest[CRYPTO_HASH_LEN];
    size_t blen;

    assert_non_null(txs);
    memset(b, 0, sizeof *b);
    b->n = n;
    b->ids = calloc(n ? n : 1, sizeof *b->ids);
    b->results = calloc(n ? n : 1, sizeof *b->results);
    assert_non_null(b->ids);
    assert_non_null(b->results);
    for (size_t i = 0; i < n; i++) {
        make_tx(c, tx_size, &txs[i].data, &txs[i].len);
        envelope_txid(txs[i].data, txs[i].len, b->ids[i]);
        b->results[i] = EVOTE__V1__TX_RESULT__TX_RESULT_OK;
    }
    batch.chain_id.data = (uint8_t *)chain_id;
    batch.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    batch.seq = height;
    batch.timestamp_ms = c->timestamp_ms + 1000;
    batch.txs = txs;
    batch.n_txs = n;
    blen = evote__v1__batch__get_packed_size(&batch);
    bb = malloc(blen);
    assert_non_null(bb);
    evote__v1__batch__pack(&batch, bb);
    assert_int_equal(ledger_block_assemble(chain_id, height, prev, c->timestamp_ms, bb, blen, b->results, n,
                                           &b->block, &b->block_len, b->hash),
                     LEDGER_OK);
    crypto_tagged_hash(CRYPTO_TAG_BATCH, bb, blen, digest);
    pack_cert(0, height, digest, &b->cert, &b->cert_len);
    pack_meta(1, height, &b->meta, &b->meta_len);
    b->height = height;
    b->timestamp_ms = batch.timestamp_ms;
    memcpy(b->state_key, "height-of-chain", 16);
    memcpy(b->state_val, &height, sizeof height);
    b->change.key = b->state_key;
    b->change.key_len = sizeof b->state_key;
    b->change.value = b->state_val;
    b->change.value_len = sizeof b->state_val;
    for (size_t i = 0; i < n; i++)
        free(txs[i].data);
    free(txs);
    free(bb);
}

static void make_block(chain_t *c, size_t n, size_t tx_size, blk_t *b)
{
    make_block_at(c, c->chain_id, c->height + 1, c->hash, n, tx_size, b);
}

static void blk_free(blk_t *b)
{
    free(b->block);
    free(b->cert);
    free(b->ids);
    free(b->results);
    free(b->meta);
    memset(b, 0, sizeof *b);
}

static chain_store_append_args blk_args(blk_t *b)
{
    chain_store_append_args a;
    memset(&a, 0, sizeof a);
    a.block = b->block;
    a.block_len = b->block_len;
    a.cert = b->cert;
    a.cert_len = b->cert_len;
    a.tx_ids = (const uint8_t(*)[CRYPTO_HASH_LEN])b->ids;
    a.tx_results = b->results;
    a.n_txs = b->n;
    a.state = &b->change;
    a.n_state = 1;
    a.consensus_meta = b->meta;
    a.consensus_meta_len = b->meta_len;
    return a;
}

static store_err append_blk(chain_store *s, blk_t *b)
{
    chain_store_append_args a = blk_args(b);
    return chain_store_append(s, &a);
}

static void advance(chain_t *c, const blk_t *b)
{
    c->height = b->height;
    memcpy(c->hash, b->hash, CRYPTO_HASH_LEN);
    c->timestamp_ms = b->timestamp_ms;
}

/* Builds and appends `count` blocks; fails the test on any error. */
static void grow_chain(chain_store *s, chain_t *c, size_t count, size_t n, size_t tx_size)
{
    for (size_t i = 0; i < count; i++) {
        blk_t b;
        make_block(c, n, tx_size, &b);
        assert_int_equal(append_blk(s, &b), STORE_OK);
        advance(c, &b);
        blk_free(&b);
    }
}

static chain_store *open_store(const char *dir, const chain_t *c, size_t initial, size_t max)
{
    chain_store *s = NULL;
    store_error why;
    chain_store_config cfg = {initial, max};
    store_err err = chain_store_open(dir, c->chain_id, &cfg, &s, &why);
    if (err != STORE_OK)
        fail_msg("open %s: %s (%s)", dir, store_strerror(err), why.detail);
    return s;
}

/* Rebuilds the block with its header changed by mut (the block then hashes
 * differently, as a forger's would). */
static void mutate_header(blk_t *b, void (*mut)(Evote__V1__BlockHeader *h, void *ctx), void *ctx)
{
    Evote__V1__Block *blk = evote__v1__block__unpack(NULL, b->block_len, b->block);
    Evote__V1__BlockHeader *h;
    uint8_t *hb, *nb;
    size_t hl, nl;
    assert_non_null(blk);
    h = evote__v1__block_header__unpack(NULL, blk->header.len, blk->header.data);
    assert_non_null(h);
    mut(h, ctx);
    hl = evote__v1__block_header__get_packed_size(h);
    hb = malloc(hl);
    assert_non_null(hb);
    evote__v1__block_header__pack(h, hb);
    free(blk->header.data);
    blk->header.data = hb;
    blk->header.len = hl;
    nl = evote__v1__block__get_packed_size(blk);
    nb = malloc(nl);
    assert_non_null(nb);
    evote__v1__block__pack(blk, nb);
    crypto_tagged_hash(CRYPTO_TAG_BLOCK, hb, hl, b->hash);
    evote__v1__block_header__free_unpacked(h, NULL);
    evote__v1__block__free_unpacked(blk, NULL);
    free(b->block);
    b->block = nb;
    b->block_len = nl;
}

/* ------------------------------------------------- consistency checker */

typedef struct {
    chain_store *s;
    const uint8_t *chain_id;
    uint64_t expect;          /* next height expected */
    uint8_t prev[CRYPTO_HASH_LEN];
    uint64_t prev_ts;
    int failed;
    char why[160];
} verify_t;

static int verify_one(void *ctx, uint64_t height, const uint8_t *block, size_t block_len, const uint8_t *cert,
                      size_t cert_len)
{
    verify_t *v = ctx;
    Evote__V1__Block *b = evote__v1__block__unpack(NULL, block_len, block);
    Evote__V1__BlockHeader *h = NULL;
    Evote__V1__Batch *batch = NULL;
    Evote__V1__CommitCertificate *c = evote__v1__commit_certificate__unpack(NULL, cert_len, cert);
    uint8_t hash[CRYPTO_HASH_LEN], digest[CRYPTO_HASH_LEN];

#define VFAIL(...)                                               \
    do {                                                         \
        snprintf(v->why, sizeof v->why, __VA_ARGS__);            \
        v->failed = 1;                                           \
        goto out;                                                \
    } while (0)
    if (b == NULL || c == NULL)
        VFAIL("height %llu: block or certificate does not parse", (unsigned long long)height);
    h = evote__v1__block_header__unpack(NULL, b->header.len, b->header.data);
    batch = evote__v1__batch__unpack(NULL, b->batch.len, b->batch.data);
    if (h == NULL || batch == NULL)
        VFAIL("height %llu: header or batch does not parse", (unsigned long long)height);
    if (height != v->expect || h->height != height)
        VFAIL("height %llu: expected %llu (header says %llu)", (unsigned long long)height,
              (unsigned long long)v->expect, (unsigned long long)h->height);
    if (h->prev_hash.len != 32 || memcmp(h->prev_hash.data, v->prev, 32) != 0)
        VFAIL("height %llu: prev_hash does not link", (unsigned long long)height);
    if (h->chain_id.len != 32 || memcmp(h->chain_id.data, v->chain_id, 32) != 0)
        VFAIL("height %llu: wrong chain id", (unsigned long long)height);
    crypto_tagged_hash(CRYPTO_TAG_BATCH, b->batch.data, b->batch.len, digest);
    if (c->seq != height || c->digest.len != 32 || memcmp(c->digest.data, digest, 32) != 0)
        VFAIL("height %llu: certificate does not match", (unsigned long long)height);
    if (h->timestamp_ms < v->prev_ts)
        VFAIL("height %llu: time goes backwards", (unsigned long long)height);
    crypto_tagged_hash(CRYPTO_TAG_BLOCK, b->header.data, b->header.len, hash);
    {
        uint8_t *again = NULL;
        size_t alen = 0;
        uint64_t at = 0;
        store_err e = chain_store_get_block_by_hash(v->s, hash, &again, &alen, &at);
        int same = e == STORE_OK && at == height && alen == block_len && memcmp(again, block, alen) == 0;
        free(again);
        if (!same)
            VFAIL("height %llu: block hash index disagrees (%s)", (unsigned long long)height, store_strerror(e));
    }
    for (size_t i = 0; i < batch->n_txs; i++) {
        uint8_t id[32];
        uint64_t th = 0;
        uint32_t idx = 0;
        Evote__V1__TxResult r;
        envelope_txid(batch->txs[i].data, batch->txs[i].len, id);
        if (b->results[i] == EVOTE__V1__TX_RESULT__TX_RESULT_DUPLICATE)
            continue;
        if (chain_store_find_tx(v->s, id, &th, &idx, &r) != STORE_OK || th != height || idx != i ||
            r != b->results[i])
            VFAIL("height %llu: transaction %zu not indexed", (unsigned long long)height, i);
    }
    memcpy(v->prev, hash, 32);
    v->prev_ts = h->timestamp_ms;
    v->expect++;
out:
    if (batch)
        evote__v1__batch__free_unpacked(batch, NULL);
    if (h)
        evote__v1__block_header__free_unpacked(h, NULL);
    if (b)
        evote__v1__block__free_unpacked(b, NULL);
    if (c)
        evote__v1__commit_certificate__free_unpacked(c, NULL);
    return v->failed;
#undef VFAIL
}

/* Checks every height 1..tip: present, linked, certified, indexed; the tip
 * record names the last block; the meta and state agree with the tip.
 * Returns: the tip height. */
static uint64_t verify_chain(chain_store *s)
{
    verify_t v;
    uint64_t tip, ts;
    uint8_t tip_hash[32], cid[32];
    uint8_t *m = NULL;
    size_t ml = 0;

    chain_store_chain_id(s, cid);
    memset(&v, 0, sizeof v);
    v.s = s;
    v.chain_id = cid;
    v.expect = 1;
    memcpy(v.prev, cid, 32);
    assert_int_equal(chain_store_tip(s, &tip, tip_hash, &ts), STORE_OK);
    assert_int_equal(chain_store_iterate(s, 1, verify_one, &v), STORE_OK);
    if (v.failed)
        fail_msg("chain inconsistent: %s", v.why);
    /* Blocks 1..tip, none beyond (the snapshot of iterate may see a later
     * tip than ours if a writer runs: allow that). */
    assert_true(v.expect - 1 >= tip);
    if (v.expect - 1 == tip) {
        assert_memory_equal(tip_hash, v.prev, 32);
        assert_int_equal(ts, v.prev_ts);
    }
    if (tip > 0 && chain_store_get_consensus_meta(s, &m, &ml) == STORE_OK) {
        assert_true(meta_last_executed(m, ml) >= tip);
        free(m);
    }
    return tip;
}

/* ----------------------------------------------------------- the tests */

static void test_append_then_read_back_by_height_hash_tx_and_iterate(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    blk_t b[3];
    uint8_t *out = NULL, hash[32], cid[32];
    size_t len = 0;
    uint64_t h = 0, ts = 0;
    uint32_t idx = 0;
    Evote__V1__TxResult r;
    (void)state;

    tmp_init(&t);
    chain_init(&c, "read back");
    s = open_store(t.store, &c, 0, 0);
    assert_int_equal(chain_store_tip(s, &h, hash, &ts), STORE_OK);
    assert_int_equal(h, 0);
    assert_memory_equal(hash, c.chain_id, 32);
    chain_store_chain_id(s, cid);
    assert_memory_equal(cid, c.chain_id, 32);

    for (int i = 0; i < 3; i++) {
        make_block(&c, (size_t)i * 2, 200, &b[i]); /* 0, 2 and 4 transactions */
        assert_int_equal(append_blk(s, &b[i]), STORE_OK);
        advance(&c, &b[i]);
    }
    assert_int_equal(chain_store_tip(s, &h, hash, &ts), STORE_OK);
    assert_int_equal(h, 3);
    assert_memory_equal(hash, b[2].hash, 32);
    assert_int_equal(ts, b[2].timestamp_ms);

    assert_int_equal(chain_store_get_block(s, 2, &out, &len), STORE_OK);
    assert_int_equal(len, b[1].block_len);
    assert_memory_equal(out, b[1].block, len);
    free(out);
    /* The header alone: exactly the bytes whose hash is the block hash. */
    {
        uint8_t hh[32];
        Evote__V1__Block *blk = evote__v1__block__unpack(NULL, b[1].block_len, b[1].block);
        assert_non_null(blk);
        assert_int_equal(chain_store_get_header(s, 2, &out, &len), STORE_OK);
        assert_int_equal(len, blk->header.len);
        assert_memory_equal(out, blk->header.data, len);
        crypto_tagged_hash(CRYPTO_TAG_BLOCK, out, len, hh);
        assert_memory_equal(hh, b[1].hash, 32);
        free(out);
        evote__v1__block__free_unpacked(blk, NULL);
        assert_int_equal(chain_store_get_header(s, 4, &out, &len), STORE_ERR_NOT_FOUND);
        assert_null(out);
    }
    assert_int_equal(chain_store_get_block_by_hash(s, b[2].hash, &out, &len, &h), STORE_OK);
    assert_int_equal(h, 3);
    assert_memory_equal(out, b[2].block, len);
    free(out);
    assert_int_equal(chain_store_get_cert(s, 3, &out, &len), STORE_OK);
    assert_int_equal(len, b[2].cert_len);
    assert_memory_equal(out, b[2].cert, len);
    free(out);
    assert_int_equal(chain_store_find_tx(s, b[2].ids[3], &h, &idx, &r), STORE_OK);
    assert_int_equal(h, 3);
    assert_int_equal(idx, 3);
    assert_int_equal(r, EVOTE__V1__TX_RESULT__TX_RESULT_OK);
    assert_int_equal(chain_store_get_state(s, b[2].state_key, sizeof b[2].state_key, &out, &len), STORE_OK);
    assert_int_equal(len, 8);
    assert_memory_equal(out, b[2].state_val, 8);
    free(out);
    assert_int_equal(chain_store_get_consensus_meta(s, &out, &len), STORE_OK);
    assert_int_equal(meta_last_executed(out, len), 3);
    free(out);

    /* Absent things are NOT_FOUND, with the outputs cleared. */
    assert_int_equal(chain_store_get_block(s, 4, &out, &len), STORE_ERR_NOT_FOUND);
    assert_null(out);
    assert_int_equal(chain_store_get_cert(s, 0, &out, &len), STORE_ERR_NOT_FOUND);
    assert_int_equal(chain_store_find_tx(s, c.chain_id, &h, &idx, &r), STORE_ERR_NOT_FOUND);
    assert_int_equal(chain_store_get_block_by_hash(s, c.chain_id, &out, &len, &h), STORE_ERR_NOT_FOUND);

    assert_int_equal(verify_chain(s), 3);
    for (int i = 0; i < 3; i++)
        blk_free(&b[i]);
    chain_store_destroy(&s);
    assert_null(s);
    chain_store_destroy(&s); /* harmless on NULL */

    /* Reopen: everything is still there. */
    s = open_store(t.store, &c, 0, 0);
    assert_int_equal(verify_chain(s), 3);
    chain_store_destroy(&s);
    tmp_done(&t);
}

typedef struct {
    uint64_t from, seen;
    uint64_t stop_at;
} count_ctx;

static int count_blocks(void *ctx, uint64_t height, const uint8_t *block, size_t block_len, const uint8_t *cert,
                        size_t cert_len)
{
    count_ctx *cc = ctx;
    (void)block;
    (void)block_len;
    (void)cert;
    (void)cert_len;
    assert_int_equal(height, cc->from + cc->seen);
    cc->seen++;
    return cc->stop_at && height >= cc->stop_at;
}

static void test_iterate_starts_at_the_given_height_and_stops_when_asked(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    count_ctx cc = {4, 0, 0};
    (void)state;
    tmp_init(&t);
    chain_init(&c, "iterate");
    s = open_store(t.store, &c, 0, 0);
    grow_chain(s, &c, 10, 0, 0);
    assert_int_equal(chain_store_iterate(s, 4, count_blocks, &cc), STORE_OK);
    assert_int_equal(cc.seen, 7);
    cc = (count_ctx){1, 0, 5};
    assert_int_equal(chain_store_iterate(s, 0, count_blocks, &cc), STORE_OK);
    assert_int_equal(cc.seen, 5);
    cc = (count_ctx){11, 0, 0};
    assert_int_equal(chain_store_iterate(s, 11, count_blocks, &cc), STORE_OK);
    assert_int_equal(cc.seen, 0);
    chain_store_destroy(&s);
    tmp_done(&t);
}

/* Asserts the store is exactly at c (nothing changed by a refusal), then
 * that a good block still appends. */
static void assert_unchanged_then_good_block_appends(chain_store *s, chain_t *c)
{
    uint64_t h;
    uint8_t hash[32], *out = NULL;
    size_t len;
    blk_t good;
    assert_int_equal(chain_store_tip(s, &h, hash, NULL), STORE_OK);
    assert_int_equal(h, c->height);
    assert_memory_equal(hash, c->hash, 32);
    assert_int_equal(chain_store_get_block(s, c->height + 1, &out, &len), STORE_ERR_NOT_FOUND);
    assert_int_equal(chain_store_get_cert(s, c->height + 1, &out, &len), STORE_ERR_NOT_FOUND);
    if (c->height > 0) {
        assert_int_equal(chain_store_get_consensus_meta(s, &out, &len), STORE_OK);
        assert_int_equal(meta_last_executed(out, len), c->height);
        free(out);
    }
    make_block(c, 1, 100, &good);
    assert_int_equal(append_blk(s, &good), STORE_OK);
    advance(c, &good);
    blk_free(&good);
    assert_int_equal(verify_chain(s), c->height);
}

static void test_block_that_does_not_link_to_the_tip_is_refused_and_nothing_changes(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    blk_t b;
    uint8_t other[32];
    (void)state;
    tmp_init(&t);
    chain_init(&c, "links");
    s = open_store(t.store, &c, 0, 0);
    /* At height 1 the block must link to the chain id. */
    memset(other, 0x5a, sizeof other);
    make_block_at(&c, c.chain_id, 1, other, 2, 100, &b);
    assert_int_equal(append_blk(s, &b), STORE_ERR_PREV_HASH);
    blk_free(&b);
    assert_unchanged_then_good_block_appends(s, &c);
    grow_chain(s, &c, 2, 1, 100);
    make_block_at(&c, c.chain_id, c.height + 1, other, 2, 100, &b);
    assert_int_equal(append_blk(s, &b), STORE_ERR_PREV_HASH);
    /* Its transactions were not indexed. */
    assert_int_equal(chain_store_find_tx(s, b.ids[0], NULL, NULL, NULL), STORE_ERR_NOT_FOUND);
    blk_free(&b);
    assert_unchanged_then_good_block_appends(s, &c);
    chain_store_destroy(&s);
    tmp_done(&t);
}

static void test_block_at_a_height_other_than_tip_plus_one_is_refused(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    blk_t b;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "heights");
    s = open_store(t.store, &c, 0, 0);
    grow_chain(s, &c, 3, 0, 0);
    make_block_at(&c, c.chain_id, c.height + 2, c.hash, 1, 100, &b); /* a gap */
    assert_int_equal(append_blk(s, &b), STORE_ERR_HEIGHT);
    blk_free(&b);
    make_block_at(&c, c.chain_id, c.height, c.hash, 1, 100, &b); /* the tip again */
    assert_int_equal(append_blk(s, &b), STORE_ERR_HEIGHT);
    blk_free(&b);
    assert_unchanged_then_good_block_appends(s, &c);
    chain_store_destroy(&s);
    tmp_done(&t);
}

static void test_block_of_another_chain_is_refused(void **state)
{
    tmp_t t;
    chain_t c, other;
    chain_store *s;
    blk_t b;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "mine");
    chain_init(&other, "theirs");
    s = open_store(t.store, &c, 0, 0);
    make_block_at(&other, other.chain_id, 1, c.chain_id, 1, 100, &b);
    assert_int_equal(append_blk(s, &b), STORE_ERR_WRONG_CHAIN);
    blk_free(&b);
    assert_unchanged_then_good_block_appends(s, &c);
    chain_store_destroy(&s);
    tmp_done(&t);
}

static void set_digest(Evote__V1__BlockHeader *h, void *ctx)
{
    (void)ctx;
    h->batch_digest.data[0] ^= 1;
}

static void set_tx_count(Evote__V1__BlockHeader *h, void *ctx)
{
    h->tx_count = *(uint32_t *)ctx;
}

static void test_block_whose_batch_digest_is_wrong_is_refused(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    blk_t b;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "digest");
    s = open_store(t.store, &c, 0, 0);
    grow_chain(s, &c, 1, 1, 100);
    make_block(&c, 2, 100, &b);
    mutate_header(&b, set_digest, NULL);
    assert_int_equal(append_blk(s, &b), STORE_ERR_BATCH_DIGEST);
    blk_free(&b);
    assert_unchanged_then_good_block_appends(s, &c);
    chain_store_destroy(&s);
    tmp_done(&t);
}

static void test_tx_count_that_disagrees_with_ids_or_results_is_refused(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    blk_t b;
    chain_store_append_args a;
    uint32_t n = 3;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "counts");
    s = open_store(t.store, &c, 0, 0);
    grow_chain(s, &c, 1, 1, 100);

    make_block(&c, 2, 100, &b);
    mutate_header(&b, set_tx_count, &n); /* header says 3, batch holds 2 */
    assert_int_equal(append_blk(s, &b), STORE_ERR_TX_COUNT);
    blk_free(&b);

    make_block(&c, 2, 100, &b);
    a = blk_args(&b);
    a.n_txs = 1; /* one id for two transactions */
    assert_int_equal(chain_store_append(s, &a), STORE_ERR_TX_COUNT);
    a = blk_args(&b);
    {
        uint8_t ids[2][32];
        memcpy(ids[0], b.ids[1], 32);
        memcpy(ids[1], b.ids[0], 32); /* swapped */
        a.tx_ids = (const uint8_t(*)[32])ids;
        assert_int_equal(chain_store_append(s, &a), STORE_ERR_TX_MISMATCH);
    }
    a = blk_args(&b);
    {
        Evote__V1__TxResult r[2] = {EVOTE__V1__TX_RESULT__TX_RESULT_OK, EVOTE__V1__TX_RESULT__TX_RESULT_MALFORMED};
        a.tx_results = r; /* not what the block records */
        assert_int_equal(chain_store_append(s, &a), STORE_ERR_TX_MISMATCH);
    }
    blk_free(&b);
    assert_unchanged_then_good_block_appends(s, &c);
    chain_store_destroy(&s);
    tmp_done(&t);
}

static void test_certificate_for_another_seq_or_digest_is_refused(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    blk_t b;
    uint8_t digest[32];
    (void)state;
    tmp_init(&t);
    chain_init(&c, "certs");
    s = open_store(t.store, &c, 0, 0);
    grow_chain(s, &c, 2, 1, 100);
    make_block(&c, 1, 100, &b);
    batch_digest_of(b.block, b.block_len, digest);

    free(b.cert);
    pack_cert(0, b.height + 1, digest, &b.cert, &b.cert_len);
    assert_int_equal(append_blk(s, &b), STORE_ERR_CERT_SEQ);

    free(b.cert);
    digest[5] ^= 0x80;
    pack_cert(0, b.height, digest, &b.cert, &b.cert_len);
    assert_int_equal(append_blk(s, &b), STORE_ERR_CERT_DIGEST);

    free(b.cert);
    b.cert = malloc(4);
    memcpy(b.cert, "\xff\xff\xff\xff", 4);
    b.cert_len = 4;
    assert_int_equal(append_blk(s, &b), STORE_ERR_CERT_MALFORMED);

    /* Garbage block and meta are refused too. */
    {
        chain_store_append_args a = blk_args(&b);
        uint8_t junk[5] = {0xff, 0xff, 0xff, 0xff, 0xff};
        a.block = junk;
        a.block_len = sizeof junk;
        assert_int_equal(chain_store_append(s, &a), STORE_ERR_BLOCK_MALFORMED);
    }
    blk_free(&b);
    make_block(&c, 1, 100, &b);
    {
        chain_store_append_args a = blk_args(&b);
        uint8_t junk[3] = {0x0a, 0x05, 0x01};
        a.consensus_meta = junk;
        a.consensus_meta_len = sizeof junk;
        assert_int_equal(chain_store_append(s, &a), STORE_ERR_META_MALFORMED);
    }
    blk_free(&b);
    assert_unchanged_then_good_block_appends(s, &c);
    chain_store_destroy(&s);
    tmp_done(&t);
}

/* A batch with one transaction already committed at height 1. */
static void make_block_repeating(chain_t *c, const uint8_t *tx, size_t tx_len, Evote__V1__TxResult result,
                                 blk_t *b)
{
    Evote__V1__Batch batch = EVOTE__V1__BATCH__INIT;
    ProtobufCBinaryData txs[2];
    uint8_t *fresh, *bb, digest[32];
    size_t flen, blen;

    memset(b, 0, sizeof *b);
    make_tx(c, 50, &fresh, &flen);
    txs[0].data = fresh;
    txs[0].len = flen;
    txs[1].data = (uint8_t *)tx;
    txs[1].len = tx_len;
    b->n = 2;
    b->ids = calloc(2, sizeof *b->ids);
    b->results = calloc(2, sizeof *b->results);
    envelope_txid(fresh, flen, b->ids[0]);
    envelope_txid(tx, tx_len, b->ids[1]);
    b->results[0] = EVOTE__V1__TX_RESULT__TX_RESULT_OK;
    b->results[1] = result;
    batch.chain_id.data = c->chain_id;
    batch.chain_id.len = 32;
    batch.seq = c->height + 1;
    batch.timestamp_ms = c->timestamp_ms + 1;
    batch.txs = txs;
    batch.n_txs = 2;
    blen = evote__v1__batch__get_packed_size(&batch);
    bb = malloc(blen);
    evote__v1__batch__pack(&batch, bb);
    assert_int_equal(ledger_block_assemble(c->chain_id, c->height + 1, c->hash, c->timestamp_ms, bb, blen,
                                           b->results, 2, &b->block, &b->block_len, b->hash),
                     LEDGER_OK);
    crypto_tagged_hash(CRYPTO_TAG_BATCH, bb, blen, digest);
    pack_cert(0, c->height + 1, digest, &b->cert, &b->cert_len);
    pack_meta(1, c->height + 1, &b->meta, &b->meta_len);
    b->height = c->height + 1;
    b->timestamp_ms = batch.timestamp_ms;
    memcpy(b->state_key, "height-of-chain", 16);
    b->change.key = b->state_key;
    b->change.key_len = 16;
    b->change.value = b->state_val;
    b->change.value_len = 8;
    free(fresh);
    free(bb);
}

/* Batches of 64 KiB and more are hashed on a helper thread while the write
 * transaction fills; a failed check must still abort it. */
static void test_large_block_checked_alongside_the_write_is_still_refused_when_wrong(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    blk_t b;
    chain_store_append_args a;
    uint8_t (*swapped)[32];
    (void)state;
    tmp_init(&t);
    chain_init(&c, "large blocks");
    s = open_store(t.store, &c, 0, 0);
    grow_chain(s, &c, 1, 40, 2000);

    make_block(&c, 40, 2000, &b);
    assert_true(b.block_len > 80 * 1024);
    mutate_header(&b, set_digest, NULL);
    assert_int_equal(append_blk(s, &b), STORE_ERR_BATCH_DIGEST);
    blk_free(&b);

    make_block(&c, 40, 2000, &b);
    swapped = malloc(40 * sizeof *swapped);
    assert_non_null(swapped);
    memcpy(swapped, b.ids, 40 * sizeof *swapped);
    memcpy(swapped[0], b.ids[1], 32);
    memcpy(swapped[1], b.ids[0], 32);
    a = blk_args(&b);
    a.tx_ids = (const uint8_t(*)[32])swapped;
    assert_int_equal(chain_store_append(s, &a), STORE_ERR_TX_MISMATCH);
    assert_int_equal(chain_store_find_tx(s, b.ids[5], NULL, NULL, NULL), STORE_ERR_NOT_FOUND);
    free(swapped);
    {
        uint8_t digest[32];
        batch_digest_of(b.block, b.block_len, digest);
        digest[0] ^= 1;
        free(b.cert);
        pack_cert(0, b.height, digest, &b.cert, &b.cert_len);
        assert_int_equal(append_blk(s, &b), STORE_ERR_CERT_DIGEST);
    }
    blk_free(&b);
    assert_unchanged_then_good_block_appends(s, &c);
    grow_chain(s, &c, 2, 40, 2000);
    assert_int_equal(verify_chain(s), c.height);
    chain_store_destroy(&s);
    tmp_done(&t);
}

static void test_transaction_already_in_the_chain_is_refused_unless_marked_duplicate(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    blk_t first, again;
    uint8_t *tx;
    size_t tx_len;
    uint64_t h;
    uint32_t idx;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "duplicates");
    s = open_store(t.store, &c, 0, 0);

    /* Block 1's second transaction is tx, executed OK. */
    make_tx(&c, 80, &tx, &tx_len);
    make_block_repeating(&c, tx, tx_len, EVOTE__V1__TX_RESULT__TX_RESULT_OK, &first);
    assert_int_equal(append_blk(s, &first), STORE_OK);
    advance(&c, &first);

    /* The same transaction again, claimed OK: refused. */
    make_block_repeating(&c, tx, tx_len, EVOTE__V1__TX_RESULT__TX_RESULT_OK, &again);
    assert_int_equal(append_blk(s, &again), STORE_ERR_DUPLICATE_TX);
    assert_int_equal(chain_store_find_tx(s, again.ids[0], NULL, NULL, NULL), STORE_ERR_NOT_FOUND);
    blk_free(&again);
    assert_unchanged_then_good_block_appends(s, &c);

    /* Executed as TX_RESULT_DUPLICATE: the block is recorded, and the index
     * still names the first occurrence. */
    make_block_repeating(&c, tx, tx_len, EVOTE__V1__TX_RESULT__TX_RESULT_DUPLICATE, &again);
    assert_int_equal(append_blk(s, &again), STORE_OK);
    advance(&c, &again);
    assert_int_equal(chain_store_find_tx(s, first.ids[1], &h, &idx, NULL), STORE_OK);
    assert_int_equal(h, 1);
    assert_int_equal(idx, 1);
    assert_int_equal(verify_chain(s), c.height);
    blk_free(&again);
    blk_free(&first);
    free(tx);
    chain_store_destroy(&s);
    tmp_done(&t);
}

static void test_open_with_another_chain_id_is_refused(void **state)
{
    tmp_t t;
    chain_t c, other;
    chain_store *s = NULL;
    store_error why;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "first chain");
    chain_init(&other, "second chain");
    s = open_store(t.store, &c, 0, 0);
    grow_chain(s, &c, 2, 1, 50);
    chain_store_destroy(&s);
    assert_int_equal(chain_store_open(t.store, other.chain_id, NULL, &s, &why), STORE_ERR_FOREIGN_CHAIN);
    assert_null(s);
    assert_non_null(strstr(why.detail, t.store));
    assert_int_equal(chain_store_open_readonly(t.store, other.chain_id, &s, &why), STORE_ERR_FOREIGN_CHAIN);
    assert_null(s);
    /* The right chain still opens, read-write and read-only. */
    s = open_store(t.store, &c, 0, 0);
    assert_int_equal(verify_chain(s), 2);
    chain_store_destroy(&s);
    assert_int_equal(chain_store_open_readonly(t.store, NULL, &s, &why), STORE_OK);
    assert_int_equal(verify_chain(s), 2);
    chain_store_destroy(&s);
    tmp_done(&t);
}

/* ---------------------------------------------------- damaged files */

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n ? (size_t)n : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Puts `data` as dir/data.mdb and expects both opens to fail with err,
 * naming the path, leaving the file's bytes alone. */
static void expect_open_fails(const char *dir, const chain_t *c, const uint8_t *data, size_t len, store_err err)
{
    char file[256];
    chain_store *s = NULL;
    store_error why;
    uint8_t *after;
    size_t alen;

    rm_rf(dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    write_file(file, data, len);
    assert_int_equal(chain_store_open_readonly(dir, NULL, &s, &why), err);
    assert_null(s);
    assert_non_null(strstr(why.detail, dir));
    assert_int_equal(chain_store_open(dir, c->chain_id, NULL, &s, &why), err);
    assert_null(s);
    assert_non_null(strstr(why.detail, dir));
    after = read_file(file, &alen);
    assert_int_equal(alen, len);
    if (len)
        assert_memory_equal(after, data, len);
    free(after);
}

static void test_garbage_or_foreign_data_file_gives_a_clear_error(void **state)
{
    tmp_t t;
    chain_t c;
    uint8_t *junk;
    size_t n = 64 * 1024, elf_len;
    uint8_t *elf;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "garbage");
    junk = malloc(n);
    assert_non_null(junk);
    assert_int_equal(crypto_random(junk, n), CRYPTO_OK);
    expect_open_fails(t.store, &c, junk, n, STORE_ERR_CORRUPT);
    memset(junk, 0, n);
    expect_open_fails(t.store, &c, junk, n, STORE_ERR_CORRUPT);
    expect_open_fails(t.store, &c, (const uint8_t *)"hello, world\n", 13, STORE_ERR_CORRUPT);
    /* A foreign file: this test program itself. */
    elf = read_file("/proc/self/exe", &elf_len);
    expect_open_fails(t.store, &c, elf, elf_len < n ? elf_len : n, STORE_ERR_CORRUPT);
    free(elf);
    /* Random bytes behind a real LMDB magic number. */
    {
        uint32_t magic = 0xBEEFC0DEu, version = 1;
        assert_int_equal(crypto_random(junk, n), CRYPTO_OK);
        memcpy(junk + 16, &magic, 4);
        memcpy(junk + 20, &version, 4);
        expect_open_fails(t.store, &c, junk, n, STORE_ERR_CORRUPT);
    }
    free(junk);
    tmp_done(&t);
}

static void test_lmdb_file_of_another_program_is_not_a_chain_store(void **state)
{
    tmp_t t;
    chain_t c;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {5, (void *)"hello"}, v = {5, (void *)"world"};
    chain_store *s = NULL;
    store_error why;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "foreign lmdb");
    assert_int_equal(mkdir(t.store, 0700), 0);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_open(env, t.store, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_int_equal(chain_store_open(t.store, c.chain_id, NULL, &s, &why), STORE_ERR_NOT_CHAIN_STORE);
    assert_int_equal(chain_store_open_readonly(t.store, NULL, &s, &why), STORE_ERR_NOT_CHAIN_STORE);
    assert_null(s);
    tmp_done(&t);
}

static void test_truncated_copy_gives_a_clear_error_at_every_cut(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    char snap[128], file[256], cut_dir[128];
    uint8_t *full;
    size_t len;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "truncated");
    s = open_store(t.store, &c, 0, 0);
    grow_chain(s, &c, 40, 4, 300);
    tmp_path(&t, "snap", snap, sizeof snap);
    assert_int_equal(chain_store_snapshot(s, snap), STORE_OK);
    chain_store_destroy(&s);
    snprintf(file, sizeof file, "%s/data.mdb", snap);
    full = read_file(file, &len);
    assert_true(len > 8 * 4096);
    tmp_path(&t, "cut", cut_dir, sizeof cut_dir);
    {
        size_t cuts[] = {1, 100, 4095, 4096, 4096 + 200, 8192, 8192 + 1, len / 3, len / 2, len - 4096, len - 1};
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
            expect_open_fails(cut_dir, &c, full, cuts[i], STORE_ERR_CORRUPT);
    }
    /* The whole copy opens and is consistent. */
    {
        chain_store *ro = NULL;
        store_error why;
        assert_int_equal(chain_store_open_readonly(snap, c.chain_id, &ro, &why), STORE_OK);
        assert_int_equal(verify_chain(ro), 40);
        chain_store_destroy(&ro);
    }
    free(full);
    tmp_done(&t);
}

static void test_read_only_open_of_an_empty_directory_says_no_store(void **state)
{
    tmp_t t;
    chain_store *s = NULL;
    store_error why;
    (void)state;
    tmp_init(&t);
    assert_int_equal(chain_store_open_readonly(t.root, NULL, &s, &why), STORE_ERR_NO_STORE);
    assert_int_equal(chain_store_open_readonly(t.store, NULL, &s, &why), STORE_ERR_NO_STORE);
    assert_null(s);
    assert_int_equal(access(t.store, F_OK), -1); /* not created */
    tmp_done(&t);
}

/* ------------------------------------------------------ read-only */

typedef struct {
    char name[256];
    uint8_t digest[32];
    struct timespec mtime;
    off_t size;
} file_print;

static size_t fingerprint(const char *dir, file_print *out, size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    struct stat st;
    assert_non_null(d);
    assert_int_equal(stat(dir, &st), 0);
    memset(out, 0, max * sizeof *out);
    strcpy(out[n].name, ".");
    out[n].mtime = st.st_mtim;
    n++;
    while ((e = readdir(d)) != NULL && n < max) {
        char p[512];
        uint8_t *bytes;
        size_t len;
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        assert_int_equal(stat(p, &st), 0);
        snprintf(out[n].name, sizeof out[n].name, "%s", e->d_name);
        out[n].mtime = st.st_mtim;
        out[n].size = st.st_size;
        bytes = read_file(p, &len);
        crypto_tagged_hash("test/file", bytes, len, out[n].digest);
        free(bytes);
        n++;
    }
    closedir(d);
    return n;
}

static void test_read_only_open_changes_no_byte(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s, *ro = NULL;
    char snap[128], file[256];
    file_print before[8], after[8];
    size_t nb, na;
    store_error why;
    blk_t b;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "read only");
    s = open_store(t.store, &c, 0, 0);
    grow_chain(s, &c, 12, 3, 200);
    tmp_path(&t, "snap", snap, sizeof snap);
    assert_int_equal(chain_store_snapshot(s, snap), STORE_OK);
    chain_store_destroy(&s);

    /* A read-only snapshot, as an auditor receives it. (Root ignores the
     * modes, so the fingerprint is what proves nothing was written.) */
    snprintf(file, sizeof file, "%s/data.mdb", snap);
    chmod(file, 0400);
    chmod(snap, 0500);
    nb = fingerprint(snap, before, 8);
    usleep(20000); /* so that any write would move an mtime */
    assert_int_equal(chain_store_open_readonly(snap, c.chain_id, &ro, &why), STORE_OK);
    assert_int_equal(verify_chain(ro), 12);
    make_block(&c, 1, 10, &b);
    assert_int_equal(append_blk(ro, &b), STORE_ERR_READ_ONLY);
    assert_int_equal(chain_store_put_consensus_meta(ro, b.meta, b.meta_len), STORE_ERR_READ_ONLY);
    assert_int_equal(chain_store_put_state(ro, &b.change, 1), STORE_ERR_READ_ONLY);
    blk_free(&b);
    chain_store_destroy(&ro);
    na = fingerprint(snap, after, 8);
    assert_int_equal(na, nb);
    assert_int_equal(nb, 2); /* ".", data.mdb: no lock file was created */
    for (size_t i = 0; i < nb; i++) {
        assert_string_equal(after[i].name, before[i].name);
        assert_memory_equal(after[i].digest, before[i].digest, 32);
        assert_int_equal(after[i].size, before[i].size);
        assert_int_equal(after[i].mtime.tv_sec, before[i].mtime.tv_sec);
        assert_int_equal(after[i].mtime.tv_nsec, before[i].mtime.tv_nsec);
    }
    tmp_done(&t);
}

/* ------------------------------------------------------ map size */

static void test_map_grows_from_one_mebibyte_through_many_appends(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "growth");
    s = open_store(t.store, &c, 1 * MIB, 0);
    assert_int_equal(chain_store_map_size(s), 1 * MIB);
    grow_chain(s, &c, 60, 10, 2000);  /* ~1.2 MB of 20 KiB blocks */
    grow_chain(s, &c, 20, 40, 2000);  /* ~1.6 MB of 80 KiB blocks, checked on a helper thread */
    assert_true(chain_store_map_size(s) >= 4 * MIB);
    assert_int_equal(verify_chain(s), 80);
    chain_store_destroy(&s);
    /* Reopened with the small initial size, the grown map is kept. */
    s = open_store(t.store, &c, 1 * MIB, 0);
    assert_true(chain_store_map_size(s) >= 4 * MIB);
    assert_int_equal(verify_chain(s), 80);
    chain_store_destroy(&s);
    tmp_done(&t);
}

static void test_map_at_its_maximum_refuses_with_map_full_and_keeps_the_chain(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    blk_t b;
    store_err err = STORE_OK;
    int appended = 0;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "map full");
    s = open_store(t.store, &c, 1 * MIB, 2 * MIB);
    while (appended < 200) {
        make_block(&c, appended % 2 ? 40 : 10, 2000, &b); /* inline and helper-thread checks */
        err = append_blk(s, &b);
        if (err != STORE_OK)
            break;
        advance(&c, &b);
        blk_free(&b);
        appended++;
    }
    assert_int_equal(err, STORE_ERR_MAP_FULL);
    assert_true(appended > 10);
    assert_int_equal(chain_store_map_size(s), 2 * MIB);
    /* Refused whole: the tip is the last good block, all readable. */
    assert_int_equal(chain_store_find_tx(s, b.ids[0], NULL, NULL, NULL), STORE_ERR_NOT_FOUND);
    assert_int_equal(verify_chain(s), c.height);
    assert_int_equal(append_blk(s, &b), STORE_ERR_MAP_FULL); /* still full */
    chain_store_destroy(&s);
    /* Given a larger maximum, the same block goes in. */
    s = open_store(t.store, &c, 1 * MIB, 8 * MIB);
    assert_int_equal(append_blk(s, &b), STORE_OK);
    advance(&c, &b);
    blk_free(&b);
    assert_int_equal(verify_chain(s), c.height);
    chain_store_destroy(&s);
    tmp_done(&t);
}

/* ----------------------------------------------------- disk full */

/* In a child: fill the file size limit, expect DISK_FULL with the chain
 * untouched, then lift the limit and append again. Exit status says where
 * it failed (0 = all as expected). */
static int disk_full_child(const char *dir, const char *name)
{
    chain_t c;
    chain_store *s = NULL;
    store_error why;
    struct rlimit rl;
    struct stat st;
    char file[256];
    blk_t b;
    store_err err = STORE_OK;
    uint64_t tip_before = 0, tip_after = 0;

    signal(SIGXFSZ, SIG_IGN);
    chain_init(&c, name);
    if (chain_store_open(dir, c.chain_id, NULL, &s, &why) != STORE_OK)
        return 10;
    if (chain_store_tip(s, &c.height, c.hash, &c.timestamp_ms) != STORE_OK)
        return 11;
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    if (stat(file, &st) != 0)
        return 12;
    getrlimit(RLIMIT_FSIZE, &rl);
    rl.rlim_cur = (rlim_t)st.st_size + 8192;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 13;
    for (int i = 0; i < 200; i++) {
        make_block(&c, 8, 2000, &b);
        tip_before = c.height;
        err = append_blk(s, &b);
        if (err != STORE_OK)
            break;
        advance(&c, &b);
        blk_free(&b);
    }
    if (err != STORE_ERR_DISK_FULL)
        return 14;
    if (chain_store_tip(s, &tip_after, NULL, NULL) != STORE_OK || tip_after != tip_before)
        return 15;
    if (chain_store_find_tx(s, b.ids[0], NULL, NULL, NULL) != STORE_ERR_NOT_FOUND)
        return 16;
    /* Space returns: the same store, without reopening, takes the block. */
    rl.rlim_cur = RLIM_INFINITY;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 17;
    if (append_blk(s, &b) != STORE_OK)
        return 18;
    blk_free(&b);
    chain_store_destroy(&s);
    return 0;
}

static void test_full_disk_refuses_with_disk_full_and_the_chain_survives(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    pid_t pid;
    int status;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "disk full");
    s = open_store(t.store, &c, 0, 0);
    grow_chain(s, &c, 5, 2, 300);
    chain_store_destroy(&s); /* LMDB: one open per process; the child opens its own */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(disk_full_child(t.store, "disk full"));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    s = open_store(t.store, &c, 0, 0);
    assert_true(verify_chain(s) > 5);
    chain_store_destroy(&s);
    tmp_done(&t);
}

/* --------------------------------------------------- crash atomicity */

static void crash_child(const char *dir, const char *name, int progress_fd)
{
    chain_t c;
    chain_store *s = NULL;
    store_error why;
    chain_init(&c, name);
    if (chain_store_open(dir, c.chain_id, NULL, &s, &why) != STORE_OK)
        _exit(20);
    if (chain_store_tip(s, &c.height, c.hash, &c.timestamp_ms) != STORE_OK)
        _exit(21);
    for (;;) {
        blk_t b;
        make_block(&c, c.height % 3, 300, &b);
        if (append_blk(s, &b) != STORE_OK)
            _exit(22);
        advance(&c, &b);
        blk_free(&b);
        if (write(progress_fd, "b", 1) < 0) { /* the parent waits for the first block */
        }
        /* A view change between blocks, in its own transaction. */
        if (c.height % 5 == 0) {
            uint8_t *m;
            size_t ml;
            pack_meta(2, c.height, &m, &ml);
            if (chain_store_put_consensus_meta(s, m, ml) != STORE_OK)
                _exit(23);
            free(m);
        }
    }
}

static void test_killed_writer_leaves_the_chain_at_a_block_boundary(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    uint64_t last = 0;
    (void)state;
    print_message("crash test seed %u\n", seed);
    srand(seed);
    tmp_init(&t);
    chain_init(&c, "crash");
    s = open_store(t.store, &c, 256 * 1024, 0); /* small: growth happens under the kills too */
    chain_store_destroy(&s);
    for (int round = 0; round < 20; round++) {
        int progress[2];
        pid_t pid;
        int status;
        uint64_t tip;
        char got;
        assert_int_equal(pipe(progress), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(progress[0]);
            crash_child(t.store, "crash", progress[1]);
        }
        close(progress[1]);
        /* Kill it at a random moment after it appended at least one block,
         * however slow the machine is today. */
        if (read(progress[0], &got, 1) != 1)
            fail_msg("seed %u round %d: the writer died before its first block", seed, round);
        usleep((useconds_t)(rand() % 30000));
        kill(pid, SIGKILL);
        close(progress[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status))
            fail_msg("seed %u round %d: child exited with %d", seed, round, WEXITSTATUS(status));
        s = open_store(t.store, &c, 256 * 1024, 0);
        tip = verify_chain(s);
        if (tip < last)
            fail_msg("seed %u round %d: tip went back from %llu to %llu", seed, round, (unsigned long long)last,
                     (unsigned long long)tip);
        if (tip > 0) {
            uint8_t *m = NULL, *v = NULL;
            size_t ml, vl;
            assert_int_equal(chain_store_get_consensus_meta(s, &m, &ml), STORE_OK);
            assert_int_equal(meta_last_executed(m, ml), tip); /* moved with the block */
            assert_int_equal(chain_store_get_state(s, (const uint8_t *)"height-of-chain", 16, &v, &vl), STORE_OK);
            assert_int_equal(vl, 8);
            assert_memory_equal(v, &tip, 8);
            free(m);
            free(v);
        }
        last = tip;
        chain_store_destroy(&s);
    }
    print_message("crash test: %llu blocks over 20 kills\n", (unsigned long long)last);
    assert_true(last > 0);
    tmp_done(&t);
}

/* ---------------------------------------------------- hot snapshots */

typedef struct {
    chain_store *s;
    chain_t c;
    uint64_t target;
    volatile int stop;
    store_err err;
} appender;

static void *append_thread(void *arg)
{
    appender *ap = arg;
    while (!ap->stop && ap->c.height < ap->target) {
        blk_t b;
        make_block(&ap->c, 3, 1500, &b);
        ap->err = append_blk(ap->s, &b);
        if (ap->err != STORE_OK) {
            blk_free(&b);
            break;
        }
        advance(&ap->c, &b);
        blk_free(&b);
    }
    return NULL;
}

static void wait_height(chain_store *s, uint64_t h)
{
    uint64_t tip = 0;
    for (int i = 0; i < 20000 && tip < h; i++) {
        assert_int_equal(chain_store_tip(s, &tip, NULL, NULL), STORE_OK);
        usleep(1000);
    }
    assert_true(tip >= h);
}

static void test_hot_snapshot_while_appending_opens_read_only_and_is_consistent(void **state)
{
    tmp_t t;
    appender ap;
    pthread_t th;
    char snap[128], snap2[128];
    chain_store *ro = NULL;
    store_error why;
    uint64_t snap_tip, tip;
    (void)state;
    tmp_init(&t);
    memset(&ap, 0, sizeof ap);
    chain_init(&ap.c, "snapshot");
    ap.s = open_store(t.store, &ap.c, 1 * MIB, 0); /* the map grows during the copy */
    ap.target = 150;
    assert_int_equal(pthread_create(&th, NULL, append_thread, &ap), 0);
    wait_height(ap.s, 20);
    tmp_path(&t, "snap", snap, sizeof snap);
    assert_int_equal(chain_store_snapshot(ap.s, snap), STORE_OK);
    /* Readers run alongside the writer. */
    assert_int_equal(chain_store_tip(ap.s, &tip, NULL, NULL), STORE_OK);
    assert_true(verify_chain(ap.s) >= tip);
    /* A second snapshot into the same (now non-empty) directory is refused. */
    assert_int_equal(chain_store_snapshot(ap.s, snap), STORE_ERR_SNAPSHOT_DIR);
    tmp_path(&t, "snap2", snap2, sizeof snap2);
    wait_height(ap.s, 60);
    assert_int_equal(chain_store_snapshot(ap.s, snap2), STORE_OK);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(ap.err, STORE_OK);

    assert_int_equal(chain_store_open_readonly(snap, ap.c.chain_id, &ro, &why), STORE_OK);
    snap_tip = verify_chain(ro);
    assert_true(snap_tip >= 20 && snap_tip <= 150);
    chain_store_destroy(&ro);
    assert_int_equal(chain_store_open_readonly(snap2, ap.c.chain_id, &ro, &why), STORE_OK);
    assert_true(verify_chain(ro) >= 60);
    chain_store_destroy(&ro);
    assert_int_equal(verify_chain(ap.s), 150);
    chain_store_destroy(&ap.s);
    tmp_done(&t);
}

static void test_mdb_copy_of_a_live_store_opens_read_only_and_is_consistent(void **state)
{
    tmp_t t;
    appender ap;
    pthread_t th;
    char copy[128], cmd[512];
    chain_store *ro = NULL;
    store_error why;
    (void)state;
    if (access("/usr/bin/mdb_copy", X_OK) != 0) {
        print_message("skipped: /usr/bin/mdb_copy is absent (install lmdb-utils)\n");
        skip();
    }
    tmp_init(&t);
    memset(&ap, 0, sizeof ap);
    chain_init(&ap.c, "mdb_copy");
    ap.s = open_store(t.store, &ap.c, 0, 0);
    ap.target = 120;
    assert_int_equal(pthread_create(&th, NULL, append_thread, &ap), 0);
    wait_height(ap.s, 20);
    tmp_path(&t, "copy", copy, sizeof copy);
    assert_int_equal(mkdir(copy, 0700), 0);
    snprintf(cmd, sizeof cmd, "/usr/bin/mdb_copy '%s' '%s'", t.store, copy);
    assert_int_equal(system(cmd), 0);
    ap.stop = 1;
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(ap.err, STORE_OK);
    assert_int_equal(chain_store_open_readonly(copy, ap.c.chain_id, &ro, &why), STORE_OK);
    assert_true(verify_chain(ro) >= 20);
    chain_store_destroy(&ro);
    chain_store_destroy(&ap.s);
    tmp_done(&t);
}

/* Copies src/name to dst/name (dst created when absent). */
static void copy_into(const char *src, const char *dst, const char *name)
{
    char from[256], to[256];
    uint8_t *bytes;
    size_t len;
    (void)mkdir(dst, 0700);
    snprintf(from, sizeof from, "%s/%s", src, name);
    snprintf(to, sizeof to, "%s/%s", dst, name);
    bytes = read_file(from, &len);
    write_file(to, bytes, len);
    free(bytes);
}

static int exists_in(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* Flips a bit in the page number the main tree's root page records about
 * itself (a sound data.mdb before). Returns: the file's new bytes. */
static uint8_t *damage_main_root(const char *file, size_t *len)
{
    data_file_info info;
    char reason[256];
    int e;
    uint8_t *bytes;
    assert_int_equal(data_file_check(file, &info, &e, reason, sizeof reason), DATA_FILE_OK);
    bytes = read_file(file, len);
    bytes[info.root[1] * info.page_size] ^= 0x40;
    write_file(file, bytes, *len);
    return bytes;
}

/* A restored backup (a data.mdb without lock.mdb) is checked like an
 * auditor's snapshot before the store opens it read-write: seal, then every
 * page of its trees. A damaged copy is refused with what to do, untouched. */
static void test_restored_copy_is_checked_before_use(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    store_error why;
    char snap[128], dir[128], file[256], reason[256];
    uint8_t *before, *after;
    size_t blen, alen;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "restore");
    s = open_store(t.store, &c, 0, 0);
    grow_chain(s, &c, 30, 10, 200);
    assert_string_equal(chain_store_arrival(s), ""); /* a new store: nothing to check */
    tmp_path(&t, "snap", snap, sizeof snap);
    assert_int_equal(chain_store_snapshot(s, snap), STORE_OK);
    assert_int_equal(data_file_seal_write(snap, reason, sizeof reason), 1);
    chain_store_destroy(&s);
    s = open_store(t.store, &c, 0, 0); /* its own store, reopened: lock.mdb is there */
    assert_string_equal(chain_store_arrival(s), "");
    chain_store_destroy(&s);

    /* A sealed snapshot, restored: checked, the seal removed, usable. But
     * first opened with another chain's genesis (the wrong backup): refused,
     * and left as it came — seal kept, no lock.mdb — so the next open
     * checks it again. */
    tmp_path(&t, "restored", dir, sizeof dir);
    copy_into(snap, dir, "data.mdb");
    copy_into(snap, dir, DATA_FILE_SEAL_NAME);
    {
        chain_t other;
        chain_init(&other, "another chain");
        assert_int_equal(chain_store_open(dir, other.chain_id, NULL, &s, &why), STORE_ERR_FOREIGN_CHAIN);
        assert_null(s);
        assert_true(exists_in(dir, DATA_FILE_SEAL_NAME));
        assert_false(exists_in(dir, "lock.mdb"));
    }
    s = open_store(dir, &c, 0, 0);
    assert_non_null(strstr(chain_store_arrival(s), "seal matched"));
    assert_false(exists_in(dir, DATA_FILE_SEAL_NAME));
    assert_int_equal(verify_chain(s), 30);
    grow_chain(s, &c, 1, 10, 200);
    chain_store_destroy(&s);
    s = open_store(dir, &c, 0, 0);
    assert_string_equal(chain_store_arrival(s), "");
    assert_int_equal(verify_chain(s), 31);
    chain_store_destroy(&s);

    /* A copy without a seal (mdb_copy's): the page walk alone. */
    tmp_path(&t, "unsealed", dir, sizeof dir);
    copy_into(snap, dir, "data.mdb");
    s = open_store(dir, &c, 0, 0);
    assert_non_null(strstr(chain_store_arrival(s), "no seal"));
    chain_store_destroy(&s);

    /* A copy whose seal does not match: refused, nothing changed. */
    tmp_path(&t, "badseal", dir, sizeof dir);
    copy_into(snap, dir, "data.mdb");
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    before = read_file(file, &blen);
    before[blen - 1] ^= 1; /* the last page: a byte LMDB may never read */
    write_file(file, before, blen);
    copy_into(snap, dir, DATA_FILE_SEAL_NAME);
    assert_int_equal(chain_store_open(dir, c.chain_id, NULL, &s, &why), STORE_ERR_CORRUPT);
    assert_null(s);
    assert_non_null(strstr(why.detail, "restore another backup"));
    assert_true(exists_in(dir, DATA_FILE_SEAL_NAME));
    assert_false(exists_in(dir, "lock.mdb"));
    after = read_file(file, &alen);
    assert_int_equal(alen, blen);
    assert_memory_equal(after, before, blen);
    free(after);
    free(before);

    /* A copy with a damaged tree page, no seal: the walk refuses it before
     * LMDB maps it. */
    tmp_path(&t, "damaged", dir, sizeof dir);
    copy_into(snap, dir, "data.mdb");
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    before = damage_main_root(file, &blen);
    assert_int_equal(chain_store_open(dir, c.chain_id, NULL, &s, &why), STORE_ERR_CORRUPT);
    assert_null(s);
    assert_non_null(strstr(why.detail, "says it is page"));
    assert_non_null(strstr(why.detail, "restore another backup"));
    assert_false(exists_in(dir, "lock.mdb"));
    after = read_file(file, &alen);
    assert_memory_equal(after, before, blen);
    free(after);
    free(before);
    tmp_done(&t);
}

/* A whole data directory copied in, lock.mdb included, and an older copy
 * written over data.mdb in place (same inode) are checked too: the id file
 * the last read-write open left beside data.mdb names another file, or a
 * later state of it. The directory's own store, reopened, is not. */
static void test_copy_with_its_lock_file_is_checked_too(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    store_error why;
    char dir[128], file[256];
    uint8_t *old;
    size_t old_len, len;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "whole copy");
    s = open_store(t.store, &c, 0, 0);
    grow_chain(s, &c, 20, 10, 200);
    chain_store_destroy(&s);
    assert_true(exists_in(t.store, "data.mdb.id"));
    s = open_store(t.store, &c, 0, 0);
    assert_string_equal(chain_store_arrival(s), ""); /* its own: no check */
    chain_store_destroy(&s);

    /* The whole directory, as cp -r would copy it. */
    tmp_path(&t, "whole", dir, sizeof dir);
    copy_into(t.store, dir, "data.mdb");
    copy_into(t.store, dir, "lock.mdb");
    copy_into(t.store, dir, "data.mdb.id");
    s = open_store(dir, &c, 0, 0);
    assert_non_null(strstr(chain_store_arrival(s), "lock.mdb came with it"));
    assert_int_equal(verify_chain(s), 20);
    chain_store_destroy(&s);
    s = open_store(dir, &c, 0, 0); /* its own from now on */
    assert_string_equal(chain_store_arrival(s), "");
    chain_store_destroy(&s);

    /* The same, with a damaged tree page: refused before LMDB maps it. */
    tmp_path(&t, "whole-damaged", dir, sizeof dir);
    copy_into(t.store, dir, "data.mdb");
    copy_into(t.store, dir, "lock.mdb");
    copy_into(t.store, dir, "data.mdb.id");
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    free(damage_main_root(file, &len));
    assert_int_equal(chain_store_open(dir, c.chain_id, NULL, &s, &why), STORE_ERR_CORRUPT);
    assert_null(s);
    assert_non_null(strstr(why.detail, "lock.mdb came with it"));
    assert_non_null(strstr(why.detail, "restore another backup"));

    /* An older state written over the live file in place. */
    snprintf(file, sizeof file, "%s/data.mdb", t.store);
    old = read_file(file, &old_len);
    s = open_store(t.store, &c, 0, 0);
    grow_chain(s, &c, 5, 10, 200);
    chain_store_destroy(&s);
    s = open_store(t.store, &c, 0, 0); /* the id file now has the 25-block state */
    chain_store_destroy(&s);
    write_file(file, old, old_len); /* fopen "wb": the same inode */
    free(old);
    s = open_store(t.store, &c, 0, 0);
    assert_non_null(strstr(chain_store_arrival(s), "earlier state"));
    assert_int_equal(verify_chain(s), 20);
    chain_store_destroy(&s);
    tmp_done(&t);
}

static void test_consensus_meta_is_stored_on_its_own_and_read_back(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    uint8_t *m, *out = NULL;
    size_t ml, len;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "meta");
    s = open_store(t.store, &c, 0, 0);
    assert_int_equal(chain_store_get_consensus_meta(s, &out, &len), STORE_ERR_NOT_FOUND);
    pack_meta(7, 0, &m, &ml);
    assert_int_equal(chain_store_put_consensus_meta(s, m, ml), STORE_OK);
    free(m);
    grow_chain(s, &c, 2, 0, 0);
    pack_meta(9, 2, &m, &ml);
    assert_int_equal(chain_store_put_consensus_meta(s, m, ml), STORE_OK);
    chain_store_destroy(&s);
    s = open_store(t.store, &c, 0, 0);
    assert_int_equal(chain_store_get_consensus_meta(s, &out, &len), STORE_OK);
    assert_int_equal(len, ml);
    assert_memory_equal(out, m, ml);
    free(out);
    free(m);
    assert_int_equal(chain_store_put_consensus_meta(s, (const uint8_t *)"\xff\xff", 2), STORE_ERR_META_MALFORMED);
    chain_store_destroy(&s);
    tmp_done(&t);
}

/* The NEW-VIEW of the replica's view: kept apart from the meta, replaced
 * by the next one, survives a reopen; a write never touches the meta. */
static void test_new_view_is_kept_apart_from_the_meta(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    Evote__V1__PeerMessage pm = EVOTE__V1__PEER_MESSAGE__INIT;
    uint8_t *m, *out = NULL, nv1[64], nv2[96];
    size_t ml, len;
    (void)state;
    tmp_init(&t);
    chain_init(&c, "new-view");
    s = open_store(t.store, &c, 0, 0);
    assert_int_equal(chain_store_get_new_view(s, &out, &len), STORE_ERR_NOT_FOUND);
    pack_meta(3, 0, &m, &ml);
    assert_int_equal(chain_store_put_consensus_meta(s, m, ml), STORE_OK);
    memset(nv1, 0, sizeof nv1);
    pm.envelope.data = (uint8_t *)"view 1";
    pm.envelope.len = 6;
    assert_true(evote__v1__peer_message__get_packed_size(&pm) <= sizeof nv1);
    len = evote__v1__peer_message__pack(&pm, nv1);
    assert_int_equal(chain_store_put_new_view(s, nv1, len), STORE_OK);
    pm.envelope.data = (uint8_t *)"view 2, a longer one";
    pm.envelope.len = 20;
    assert_true(evote__v1__peer_message__get_packed_size(&pm) <= sizeof nv2);
    evote__v1__peer_message__pack(&pm, nv2);
    assert_int_equal(chain_store_put_new_view(s, nv2, evote__v1__peer_message__get_packed_size(&pm)), STORE_OK);
    assert_int_equal(chain_store_put_new_view(s, (const uint8_t *)"\xff\xff", 2), STORE_ERR_META_MALFORMED);
    assert_int_equal(chain_store_put_new_view(s, NULL, 0), STORE_ERR_BAD_ARG);
    chain_store_destroy(&s);
    s = open_store(t.store, &c, 0, 0);
    assert_int_equal(chain_store_get_new_view(s, &out, &len), STORE_OK);
    assert_int_equal(len, evote__v1__peer_message__get_packed_size(&pm));
    assert_memory_equal(out, nv2, len);
    free(out);
    assert_int_equal(chain_store_get_consensus_meta(s, &out, &len), STORE_OK);
    assert_int_equal(len, ml);
    assert_memory_equal(out, m, ml);
    free(out);
    free(m);
    chain_store_destroy(&s);
    tmp_done(&t);
}

static void test_state_keys_are_put_deleted_and_bounded(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    uint8_t big[600], *out = NULL;
    size_t len;
    chain_store_state_change ch[2] = {
        {(const uint8_t *)"election/1", 10, (const uint8_t *)"open", 4, 0},
        {(const uint8_t *)"election/2", 10, (const uint8_t *)"", 0, 0},
    };
    (void)state;
    tmp_init(&t);
    chain_init(&c, "state");
    s = open_store(t.store, &c, 0, 0);
    assert_int_equal(chain_store_put_state(s, ch, 2), STORE_OK);
    assert_int_equal(chain_store_get_state(s, ch[0].key, 10, &out, &len), STORE_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(out, "open", 4);
    free(out);
    assert_int_equal(chain_store_get_state(s, ch[1].key, 10, &out, &len), STORE_OK);
    assert_int_equal(len, 0);
    assert_null(out);
    ch[0].del = 1;
    assert_int_equal(chain_store_put_state(s, ch, 1), STORE_OK);
    assert_int_equal(chain_store_get_state(s, ch[0].key, 10, &out, &len), STORE_ERR_NOT_FOUND);
    assert_int_equal(chain_store_put_state(s, ch, 1), STORE_OK); /* deleting an absent key is fine */
    memset(big, 'k', sizeof big);
    ch[0].key = big;
    ch[0].key_len = sizeof big;
    ch[0].del = 0;
    assert_int_equal(chain_store_put_state(s, ch, 1), STORE_ERR_KEY_SIZE);
    ch[0].key_len = 0;
    assert_int_equal(chain_store_put_state(s, ch, 1), STORE_ERR_KEY_SIZE);
    chain_store_destroy(&s);
    tmp_done(&t);
}

/* Collects the first byte of each key seen (at most 8). */
typedef struct {
    char first[9];
    size_t n;
} seen_keys;

static int see_key(void *ctx, const uint8_t *k, size_t k_len, const uint8_t *value, size_t value_len)
{
    seen_keys *seen = ctx;
    (void)value;
    (void)value_len;
    if (k_len > 0 && seen->n < 8)
        seen->first[seen->n++] = (char)k[0];
    return 0;
}

/* Iterating the state from a key skips every key below it (the node's
 * election scan starts at 'E', past one key per ballot). */
static void test_state_iterates_from_a_key(void **state)
{
    tmp_t t;
    chain_t c;
    chain_store *s;
    seen_keys all = {{0}, 0}, from_e = {{0}, 0}, past = {{0}, 0};
    chain_store_state_change ch[5] = {
        {(const uint8_t *)"V1", 2, (const uint8_t *)"v", 1, 0}, {(const uint8_t *)"C1", 2, (const uint8_t *)"c", 1, 0},
        {(const uint8_t *)"E2", 2, (const uint8_t *)"e", 1, 0}, {(const uint8_t *)"A1", 2, (const uint8_t *)"a", 1, 0},
        {(const uint8_t *)"E1", 2, (const uint8_t *)"e", 1, 0},
    };
    (void)state;
    tmp_init(&t);
    chain_init(&c, "iterate");
    s = open_store(t.store, &c, 0, 0);
    assert_int_equal(chain_store_put_state(s, ch, 5), STORE_OK);
    assert_int_equal(chain_store_iterate_state(s, see_key, &all), STORE_OK);
    assert_string_equal(all.first, "ACEEV");
    assert_int_equal(chain_store_iterate_state_from(s, (const uint8_t *)"E", 1, see_key, &from_e), STORE_OK);
    assert_string_equal(from_e.first, "EEV");
    assert_int_equal(chain_store_iterate_state_from(s, (const uint8_t *)"Z", 1, see_key, &past), STORE_OK);
    assert_int_equal(past.n, 0);
    assert_int_equal(chain_store_iterate_state_from(s, NULL, 1, see_key, &past), STORE_ERR_BAD_ARG);
    chain_store_destroy(&s);
    tmp_done(&t);
}

static void test_every_error_has_a_sentence(void **state)
{
    char buf[512];
    (void)state;
    for (int e = STORE_OK; e <= STORE_ERR_LMDB; e++) {
        const char *m = store_strerror((store_err)e);
        assert_non_null(m);
        assert_true(strlen(m) > 5);
        assert_null(strstr(m, "unknown chain store error"));
    }
    assert_non_null(strstr(store_strerror(STORE_ERR_DISK_FULL), "free space"));
    chain_store_explain(NULL, STORE_ERR_MAP_FULL, buf, sizeof buf);
    assert_non_null(strstr(buf, "maximum"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_append_then_read_back_by_height_hash_tx_and_iterate, cleanup),
        cmocka_unit_test_teardown(test_iterate_starts_at_the_given_height_and_stops_when_asked, cleanup),
        cmocka_unit_test_teardown(test_block_that_does_not_link_to_the_tip_is_refused_and_nothing_changes, cleanup),
        cmocka_unit_test_teardown(test_block_at_a_height_other_than_tip_plus_one_is_refused, cleanup),
        cmocka_unit_test_teardown(test_block_of_another_chain_is_refused, cleanup),
        cmocka_unit_test_teardown(test_block_whose_batch_digest_is_wrong_is_refused, cleanup),
        cmocka_unit_test_teardown(test_tx_count_that_disagrees_with_ids_or_results_is_refused, cleanup),
        cmocka_unit_test_teardown(test_certificate_for_another_seq_or_digest_is_refused, cleanup),
        cmocka_unit_test_teardown(test_large_block_checked_alongside_the_write_is_still_refused_when_wrong, cleanup),
        cmocka_unit_test_teardown(test_transaction_already_in_the_chain_is_refused_unless_marked_duplicate, cleanup),
        cmocka_unit_test_teardown(test_open_with_another_chain_id_is_refused, cleanup),
        cmocka_unit_test_teardown(test_garbage_or_foreign_data_file_gives_a_clear_error, cleanup),
        cmocka_unit_test_teardown(test_lmdb_file_of_another_program_is_not_a_chain_store, cleanup),
        cmocka_unit_test_teardown(test_truncated_copy_gives_a_clear_error_at_every_cut, cleanup),
        cmocka_unit_test_teardown(test_read_only_open_of_an_empty_directory_says_no_store, cleanup),
        cmocka_unit_test_teardown(test_read_only_open_changes_no_byte, cleanup),
        cmocka_unit_test_teardown(test_consensus_meta_is_stored_on_its_own_and_read_back, cleanup),
        cmocka_unit_test_teardown(test_new_view_is_kept_apart_from_the_meta, cleanup),
        cmocka_unit_test_teardown(test_state_keys_are_put_deleted_and_bounded, cleanup),
        cmocka_unit_test_teardown(test_state_iterates_from_a_key, cleanup),
        cmocka_unit_test_teardown(test_map_grows_from_one_mebibyte_through_many_appends, cleanup),
        cmocka_unit_test_teardown(test_map_at_its_maximum_refuses_with_map_full_and_keeps_the_chain, cleanup),
        cmocka_unit_test_teardown(test_full_disk_refuses_with_disk_full_and_the_chain_survives, cleanup),
        cmocka_unit_test_teardown(test_killed_writer_leaves_the_chain_at_a_block_boundary, cleanup),
        cmocka_unit_test_teardown(test_hot_snapshot_while_appending_opens_read_only_and_is_consistent, cleanup),
        cmocka_unit_test_teardown(test_mdb_copy_of_a_live_store_opens_read_only_and_is_consistent, cleanup),
        cmocka_unit_test_teardown(test_restored_copy_is_checked_before_use, cleanup),
        cmocka_unit_test_teardown(test_copy_with_its_lock_file_is_checked_too, cleanup),
        cmocka_unit_test_teardown(test_every_error_has_a_sentence, cleanup),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
