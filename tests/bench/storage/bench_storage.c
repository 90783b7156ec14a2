/* bench_storage: durable block appends per second through the chain store,
 * against raw LMDB doing the same puts of the same bytes into the same
 * named databases with one durable commit per block. The difference is what
 * the store adds: parsing the block, hashing the batch and the transaction
 * ids, the Merkle root and results hash, the tip and duplicate checks.
 *
 * Usage: bench_storage [data-dir]   (default: a new directory under /tmp,
 * removed at the end). Prints figures; never fails because a machine is slow.
 *        bench_storage --long BLOCKS [data-dir]: one store grown to BLOCKS
 * blocks of 1000 transactions, the append cost per tenth of it (how it grows
 * with the chain).
 *
 * Transactions are well-formed KIND_TX envelopes of ~250 bytes with dummy
 * signatures (the store never verifies signatures, and signing 100k
 * transactions would only slow the set-up). Certificates hold 3 COMMIT
 * envelopes of ~180 bytes (2f+1 for n = 4). */
#include <errno.h>
#include <ftw.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chain_store.h"
#include "consensus.pb-c.h"
#include "ledger.h"

typedef struct {
    uint8_t *block, *cert, *meta;
    size_t block_len, cert_len, meta_len;
    uint8_t (*ids)[CRYPTO_HASH_LEN];
    Evote__V1__TxResult *results;
    size_t n;
    uint8_t hash[CRYPTO_HASH_LEN];
    uint64_t height, timestamp_ms;
} bench_block;

static uint8_t chain_id[CRYPTO_CHAIN_ID_LEN];
static uint64_t nonce_counter;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "bench_storage: out of memory\n");
        exit(2);
    }
    return p;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the whole process (all threads): the store's own cost, free
 * of the disk's and the neighbours' noise. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A KIND_TX envelope around a notice TxBody, about 250 bytes in all. */
static uint8_t *fake_tx(size_t *len)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__Notice notice = EVOTE__V1__NOTICE__INIT;
    Evote__V1__Envelope env = EVOTE__V1__ENVELOPE__INIT;
    uint8_t text[90], signer[32], sig[64], *b, *out;
    size_t bl;

    memset(text, 'v', sizeof text);
    memset(signer, 0x42, sizeof signer);
    memset(sig, 0x17, sizeof sig);
    notice.topic = (char *)"benchmark";
    notice.text.data = text;
    notice.text.len = sizeof text;
    body.chain_id.data = chain_id;
    body.chain_id.len = sizeof chain_id;
    body.nonce = ++nonce_counter;
    body.created_ms = 1700000000000ull;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_NOTICE;
    body.notice = &notice;
    bl = evote__v1__tx_body__get_packed_size(&body);
    b = xmalloc(bl);
    evote__v1__tx_body__pack(&body, b);
    env.kind = EVOTE__V1__KIND__KIND_TX;
    env.body.data = b;
    env.body.len = bl;
    env.signer.data = signer;
    env.signer.len = sizeof signer;
    env.signature.data = sig;
    env.signature.len = sizeof sig;
    *len = evote__v1__envelope__get_packed_size(&env);
    out = xmalloc(*len);
    evote__v1__envelope__pack(&env, out);
    free(b);
    return out;
}

static void make_cert(uint64_t seq, const uint8_t digest[CRYPTO_HASH_LEN], bench_block *bb)
{
    Evote__V1__CommitCertificate cert = EVOTE__V1__COMMIT_CERTIFICATE__INIT;
    Evote__V1__Envelope env[3], *envp[3];
    uint8_t body[3][96], signer[32], sig[64];
    size_t body_len[3];

    memset(signer, 0x33, sizeof signer);
    memset(sig, 0x44, sizeof sig);
    for (int i = 0; i < 3; i++) {
        Evote__V1__Commit c = EVOTE__V1__COMMIT__INIT;
        c.chain_id.data = chain_id;
        c.chain_id.len = sizeof chain_id;
        c.view = 0;
        c.seq = seq;
        c.digest.data = (uint8_t *)digest;
        c.digest.len = CRYPTO_HASH_LEN;
        c.replica = (uint32_t)i;
        body_len[i] = evote__v1__commit__pack(&c, body[i]);
        evote__v1__envelope__init(&env[i]);
        env[i].kind = EVOTE__V1__KIND__KIND_COMMIT;
        env[i].body.data = body[i];
        env[i].body.len = body_len[i];
        env[i].signer.data = signer;
        env[i].signer.len = sizeof signer;
        env[i].signature.data = sig;
        env[i].signature.len = sizeof sig;
        envp[i] = &env[i];
    }
    cert.seq = seq;
    cert.digest.data = (uint8_t *)digest;
    cert.digest.len = CRYPTO_HASH_LEN;
    cert.commits = envp;
    cert.n_commits = 3;
    bb->cert_len = evote__v1__commit_certificate__get_packed_size(&cert);
    bb->cert = xmalloc(bb->cert_len);
    evote__v1__commit_certificate__pack(&cert, bb->cert);
}

static void make_meta(uint64_t height, bench_block *bb)
{
    Evote__V1__ConsensusMeta m = EVOTE__V1__CONSENSUS_META__INIT;
    m.view = 3;
    m.stable_seq = height - height % 64;
    m.last_executed = height;
    bb->meta_len = evote__v1__consensus_meta__get_packed_size(&m);
    bb->meta = xmalloc(bb->meta_len);
    evote__v1__consensus_meta__pack(&m, bb->meta);
}

/* Builds `count` linked blocks of n transactions. */
static bench_block *make_chain(size_t count, size_t n)
{
    bench_block *blocks = calloc(count, sizeof *blocks);
    uint8_t prev[CRYPTO_HASH_LEN];
    uint64_t ts = 1700000000000ull;

    if (blocks == NULL) {
        fprintf(stderr, "bench_storage: out of memory\n");
        exit(2);
    }
    memcpy(prev, chain_id, sizeof prev);
    for (size_t k = 0; k < count; k++) {
        bench_block *bb = &blocks[k];
        Evote__V1__Batch batch = EVOTE__V1__BATCH__INIT;
        ProtobufCBinaryData *txs = xmalloc(n * sizeof *txs);
        uint8_t *bytes, digest[CRYPTO_HASH_LEN];
        size_t blen;

        bb->n = n;
        bb->height = k + 1;
        bb->ids = xmalloc(n * sizeof *bb->ids);
        bb->results = xmalloc(n * sizeof *bb->results);
        for (size_t i = 0; i < n; i++) {
            txs[i].data = fake_tx(&txs[i].len);
            envelope_txid(txs[i].data, txs[i].len, bb->ids[i]);
            bb->results[i] = EVOTE__V1__TX_RESULT__TX_RESULT_OK;
        }
        batch.chain_id.data = chain_id;
        batch.chain_id.len = sizeof chain_id;
        batch.seq = bb->height;
        batch.timestamp_ms = ts += 500;
        batch.txs = txs;
        batch.n_txs = n;
        blen = evote__v1__batch__get_packed_size(&batch);
        bytes = xmalloc(blen);
        evote__v1__batch__pack(&batch, bytes);
        if (ledger_block_assemble(chain_id, bb->height, prev, ts - 500, bytes, blen, bb->results, n, &bb->block,
                                  &bb->block_len, bb->hash) != LEDGER_OK) {
            fprintf(stderr, "bench_storage: ledger_block_assemble failed\n");
            exit(2);
        }
        bb->timestamp_ms = ts;
        crypto_tagged_hash(CRYPTO_TAG_BATCH, bytes, blen, digest);
        make_cert(bb->height, digest, bb);
        make_meta(bb->height, bb);
        memcpy(prev, bb->hash, sizeof prev);
        for (size_t i = 0; i < n; i++)
            free(txs[i].data);
        free(txs);
        free(bytes);
    }
    return blocks;
}

static void free_chain(bench_block *blocks, size_t count)
{
    for (size_t k = 0; k < count; k++) {
        free(blocks[k].block);
        free(blocks[k].cert);
        free(blocks[k].meta);
        free(blocks[k].ids);
        free(blocks[k].results);
    }
    free(blocks);
}

/* ------------------------------------------------------------ raw LMDB */

typedef struct {
    MDB_env *env;
    MDB_dbi blocks, hashes, txs, certs, state, meta;
} raw_env;

static int raw_open(raw_env *r, const char *dir)
{
    const char *names[] = {"blocks", "hashes", "txs", "certs", "state", "meta"};
    MDB_dbi *dbis[] = {&r->blocks, &r->hashes, &r->txs, &r->certs, &r->state, &r->meta};
    MDB_txn *txn;
    int rc;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return errno;
    if ((rc = mdb_env_create(&r->env)) != 0 || (rc = mdb_env_set_maxdbs(r->env, 8)) != 0 ||
        (rc = mdb_env_set_mapsize(r->env, CHAIN_STORE_DEFAULT_MAP)) != 0 ||
        (rc = mdb_env_open(r->env, dir, MDB_NOTLS, 0600)) != 0)
        return rc;
    if ((rc = mdb_txn_begin(r->env, NULL, 0, &txn)) != 0)
        return rc;
    for (int i = 0; i < 6; i++)
        if ((rc = mdb_dbi_open(txn, names[i], MDB_CREATE, dbis[i])) != 0) {
            mdb_txn_abort(txn);
            return rc;
        }
    return mdb_txn_commit(txn);
}

static void be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* The same puts as chain_store_append: block, cert, hash, each tx, meta,
 * tip; one durable commit. Grows the map like the store would. */
static int raw_append(raw_env *r, const bench_block *b)
{
    for (;;) {
        MDB_txn *txn;
        uint8_t hk[8], tip[48], loc[16];
        MDB_val k, v;
        int rc = mdb_txn_begin(r->env, NULL, 0, &txn);
        if (rc != 0)
            return rc;
        be64(hk, b->height);
        k.mv_data = hk, k.mv_size = 8;
        v.mv_data = b->block, v.mv_size = b->block_len;
        rc = mdb_put(txn, r->blocks, &k, &v, MDB_APPEND);
        v.mv_data = b->cert, v.mv_size = b->cert_len;
        if (rc == 0)
            rc = mdb_put(txn, r->certs, &k, &v, MDB_APPEND);
        k.mv_data = (void *)b->hash, k.mv_size = 32;
        v.mv_data = hk, v.mv_size = 8;
        if (rc == 0)
            rc = mdb_put(txn, r->hashes, &k, &v, MDB_NOOVERWRITE);
        for (size_t i = 0; rc == 0 && i < b->n; i++) {
            be64(loc, b->height);
            be32(loc + 8, (uint32_t)i);
            be32(loc + 12, (uint32_t)b->results[i]);
            k.mv_data = b->ids[i], k.mv_size = 32;
            v.mv_data = loc, v.mv_size = 16;
            rc = mdb_put(txn, r->txs, &k, &v, MDB_NOOVERWRITE);
        }
        k.mv_data = (void *)"consensus", k.mv_size = 9;
        v.mv_data = b->meta, v.mv_size = b->meta_len;
        if (rc == 0)
            rc = mdb_put(txn, r->meta, &k, &v, 0);
        be64(tip, b->height);
        memcpy(tip + 8, b->hash, 32);
        be64(tip + 40, b->timestamp_ms);
        k.mv_data = (void *)"tip", k.mv_size = 3;
        v.mv_data = tip, v.mv_size = sizeof tip;
        if (rc == 0)
            rc = mdb_put(txn, r->meta, &k, &v, 0);
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
        if (rc == MDB_MAP_FULL) {
            MDB_envinfo info;
            mdb_env_info(r->env, &info);
            if ((rc = mdb_env_set_mapsize(r->env, info.me_mapsize * 2)) != 0)
                return rc;
            continue;
        }
        return rc;
    }
}

/* --------------------------------------------------------------- run */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Appends one bench block through the chain store. Returns: 0, or 1 after
 * saying why. */
static int store_append(chain_store *s, const bench_block *b)
{
    chain_store_append_args a;
    store_err err;
    memset(&a, 0, sizeof a);
    a.block = b->block;
    a.block_len = b->block_len;
    a.cert = b->cert;
    a.cert_len = b->cert_len;
    a.tx_ids = (const uint8_t(*)[CRYPTO_HASH_LEN])b->ids;
    a.tx_results = b->results;
    a.n_txs = b->n;
    a.consensus_meta = b->meta;
    a.consensus_meta_len = b->meta_len;
    if ((err = chain_store_append(s, &a)) != STORE_OK) {
        char msg[512];
        chain_store_explain(s, err, msg, sizeof msg);
        fprintf(stderr, "bench_storage: append: %s\n", msg);
        return 1;
    }
    return 0;
}

/* Appends `count` blocks of n transactions to a fresh store and a fresh raw
 * environment, alternating in ten slices so that both see the same disk
 * weather. Prints one line. */
static int run(const char *root, size_t n, size_t count)
{
    char sdir[600], rdir[600];
    bench_block *blocks = make_chain(count, n);
    chain_store *s = NULL;
    store_error why;
    raw_env raw;
    double t_store = 0, t_raw = 0, c_store = 0, c_raw = 0;
    size_t bytes = 0;
    store_err err;
    int rc;

    snprintf(sdir, sizeof sdir, "%s/store-%zu", root, n);
    snprintf(rdir, sizeof rdir, "%s/raw-%zu", root, n);
    if ((err = chain_store_open(sdir, chain_id, NULL, &s, &why)) != STORE_OK) {
        fprintf(stderr, "bench_storage: %s: %s\n", why.detail, store_strerror(err));
        free_chain(blocks, count);
        return 1;
    }
    if ((rc = raw_open(&raw, rdir)) != 0) {
        fprintf(stderr, "bench_storage: raw LMDB at %s: %s\n", rdir, mdb_strerror(rc));
        chain_store_destroy(&s);
        free_chain(blocks, count);
        return 1;
    }
    for (size_t k = 0; k < count; k++)
        bytes += blocks[k].block_len + blocks[k].cert_len + blocks[k].meta_len;
    /* Alternate block by block, and which of the two goes first, so both
     * see the same disk weather (other processes share this disk). */
    for (size_t k = 0; k < count; k++) {
        for (int turn = 0; turn < 2; turn++) {
            int raw_now = (turn == 0) == (k % 2 == 0);
            double t0 = now_s(), c0 = cpu_s();
            if (raw_now) {
                if ((rc = raw_append(&raw, &blocks[k])) != 0) {
                    fprintf(stderr, "bench_storage: raw append: %s\n", mdb_strerror(rc));
                    goto out;
                }
                t_raw += now_s() - t0;
                c_raw += cpu_s() - c0;
                continue;
            }
            if (store_append(s, &blocks[k]) != 0) {
                rc = 1;
                goto out;
            }
            t_store += now_s() - t0;
            c_store += cpu_s() - c0;
        }
    }
    {
        double r_store = (double)count / t_store, r_raw = (double)count / t_raw;
        printf("%5zu tx/block %5zu blocks %6.1f KiB/block | store %7.1f blocks/s %8.0f tx/s | raw LMDB %7.1f "
               "blocks/s | ratio %5.1f%% %s | CPU ms/block store %.3f raw %.3f\n",
               n, count, (double)bytes / (double)count / 1024.0, r_store, r_store * (double)n, r_raw,
               100.0 * r_store / r_raw, r_store / r_raw >= 0.8 ? "(>= 80%: met)    " : "(>= 80%: NOT met)",
               1e3 * c_store / (double)count, 1e3 * c_raw / (double)count);
        fflush(stdout);
    }
    rc = 0;
out:
    chain_store_destroy(&s);
    mdb_env_close(raw.env);
    free_chain(blocks, count);
    return rc;
}

/* Each named database's pages (what a validator's working set is made of). */
static void print_db_sizes(const char *dir)
{
    static const char *const names[] = {"blocks", "hashes", "txs", "certs", "state", "meta"};
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;

    if (mdb_env_create(&env) != MDB_SUCCESS)
        return;
    mdb_env_set_maxdbs(env, 8);
    mdb_env_set_mapsize(env, (size_t)64 << 30);
    if (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK, 0600) != MDB_SUCCESS ||
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != MDB_SUCCESS) {
        mdb_env_close(env);
        return;
    }
    printf("  its databases:");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        MDB_dbi dbi;
        MDB_stat st;
        if (mdb_dbi_open(txn, names[i], 0, &dbi) != MDB_SUCCESS || mdb_stat(txn, dbi, &st) != MDB_SUCCESS)
            continue;
        printf(" %s %.1f MiB (%zu entries, %zu leaf pages)%s", names[i],
               (double)(st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) * st.ms_psize / 1048576.0,
               st.ms_entries, st.ms_leaf_pages, i + 1 < sizeof names / sizeof names[0] ? ";" : "\n");
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

/* One store grown to `count` blocks of n transactions: the append cost per
 * slice of `count / 10` blocks, to show how it grows with the chain (the
 * transaction index takes random keys). Prints one line per slice. */
static int run_long(const char *root, size_t n, size_t count)
{
    char sdir[600];
    const size_t slice = count >= 10 ? count / 10 : 1;
    bench_block *blocks = make_chain(count, n);
    chain_store *s = NULL;
    store_error why;
    store_err err;
    int rc = 0;

    snprintf(sdir, sizeof sdir, "%s/long-%zu", root, n);
    if ((err = chain_store_open(sdir, chain_id, NULL, &s, &why)) != STORE_OK) {
        fprintf(stderr, "bench_storage: %s: %s\n", why.detail, store_strerror(err));
        free_chain(blocks, count);
        return 1;
    }
    printf("  one store grown to %zu blocks of %zu tx (%zu tx):\n", count, n, count * n);
    for (size_t k0 = 0; k0 < count && rc == 0; k0 += slice) {
        size_t k1 = k0 + slice < count ? k0 + slice : count;
        double t0 = now_s(), c0 = cpu_s();
        for (size_t k = k0; k < k1; k++) {
            if (store_append(s, &blocks[k]) != 0) {
                rc = 1;
                break;
            }
        }
        double wall = now_s() - t0, cpu = cpu_s() - c0;
        struct stat st;
        char file[640];
        snprintf(file, sizeof file, "%s/data.mdb", sdir);
        double mib = stat(file, &st) == 0 ? (double)st.st_size / 1048576.0 : 0;
        if (rc == 0)
            printf("    tx %8zu..%-8zu  %6.2f ms/block wall, CPU %6.2f ms/block = %5.2f us/tx  data.mdb %6.0f MiB\n",
                   k0 * n, k1 * n, 1e3 * wall / (double)(k1 - k0), 1e3 * cpu / (double)(k1 - k0),
                   1e6 * cpu / (double)((k1 - k0) * n), mib);
        fflush(stdout);
    }
    chain_store_destroy(&s);
    if (rc == 0)
        print_db_sizes(sdir);
    free_chain(blocks, count);
    return rc;
}

int main(int argc, char **argv)
{
    char root[512];
    int rc = 0;
    size_t long_blocks = 0;
    struct {
        size_t n, count;
    } sizes[] = {{1, 1000}, {100, 300}, {1000, 100}};

    if (argc > 2 && strcmp(argv[1], "--long") == 0) {
        /* bench_storage --long BLOCKS [data-dir]: 1000-tx blocks into one store */
        char *end;
        unsigned long long v = strtoull(argv[2], &end, 10);
        if (*end != '\0' || v == 0 || v > 100000) {
            fprintf(stderr, "bench_storage: --long takes a number of blocks, 1..100000\n");
            return 2;
        }
        long_blocks = (size_t)v;
        argc -= 2;
        argv += 2;
    }
    if (argc > 1) {
        snprintf(root, sizeof root, "%s/evote-bench-storage-XXXXXX", argv[1]);
    } else {
        snprintf(root, sizeof root, "/tmp/evote-bench-storage-XXXXXX");
    }
    if (mkdtemp(root) == NULL) {
        fprintf(stderr, "bench_storage: cannot create a directory like %s: %s\n", root, strerror(errno));
        return 1;
    }
    crypto_tagged_hash(CRYPTO_TAG_GENESIS, (const uint8_t *)"bench", 5, chain_id);
    printf("bench_storage: durable appends (one fsync'ed LMDB commit per block) in %s\n", root);
    printf("  each tx ~250 B; certificate 3 commits; consensus meta every block; raw LMDB = same puts, same bytes, no checks\n");
    if (long_blocks)
        rc = run_long(root, 1000, long_blocks);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0] && rc == 0 && !long_blocks; i++)
        rc = run(root, sizes[i].n, sizes[i].count);
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
