/* Test-only: damages a COPY of a chain store the way an attacker with write
 * access to a validator's disk would, writing with LMDB directly (or raw
 * bytes for `flip`), so that tests/cluster/audit.sh can check evote-audit
 * catches each change. Prints the height it changed (and the tx id when one
 * transaction is concerned).
 *
 *   audit_tamper DIR ballot        flip a byte of the first accepted ballot's ciphertext
 *   audit_tamper DIR remove        remove the first ballot from its block
 *   audit_tamper DIR swap H1 H2    exchange the blocks stored at two heights
 *   audit_tamper DIR cert H        drop one COMMIT from the certificate at H (2f left)
 *   audit_tamper DIR result        add 1 to the first count of the first published result
 *   audit_tamper DIR checkpoint    drop one signature from the first kept checkpoint proof (2f left)
 *   audit_tamper DIR flip SEED     flip one byte at a seeded random place inside a live block record */
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consensus.pb-c.h"
#include "crypto.h"
#include "evote.pb-c.h"

static MDB_env *env;
static MDB_txn *txn;
static MDB_dbi blocks, certs, state, meta;

static void die(const char *what, int rc)
{
    fprintf(stderr, "audit_tamper: %s: %s\n", what, mdb_strerror(rc));
    exit(2);
}

static void be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void open_env(const char *dir, unsigned flags)
{
    int rc;
    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 8)) ||
        (rc = mdb_env_set_mapsize(env, (size_t)1 << 30)) || (rc = mdb_env_open(env, dir, flags | MDB_NOLOCK, 0600)))
        die(dir, rc);
    if ((rc = mdb_txn_begin(env, NULL, flags & MDB_RDONLY, &txn)) ||
        (rc = mdb_dbi_open(txn, "blocks", 0, &blocks)) || (rc = mdb_dbi_open(txn, "certs", 0, &certs)) ||
        (rc = mdb_dbi_open(txn, "state", 0, &state)) || (rc = mdb_dbi_open(txn, "meta", 0, &meta)))
        die("open databases", rc);
}

static void commit(void)
{
    int rc = mdb_txn_commit(txn);
    if (rc)
        die("commit", rc);
    mdb_env_close(env);
}

static void put_block(uint64_t h, const Evote__V1__Block *b)
{
    uint8_t key[8], *buf;
    size_t len = evote__v1__block__get_packed_size(b);
    MDB_val k = {8, key}, v;
    int rc;
    buf = malloc(len);
    evote__v1__block__pack(b, buf);
    be64(key, h);
    v.mv_size = len;
    v.mv_data = buf;
    if ((rc = mdb_put(txn, blocks, &k, &v, 0)))
        die("put block", rc);
    free(buf);
}

/* The first ballot transaction with result OK: its height, block, batch, index. */
static int first_ballot(uint64_t *h, Evote__V1__Block **bo, Evote__V1__Batch **bto, size_t *idx)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, blocks, &c);
    for (rc = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        Evote__V1__Block *b = evote__v1__block__unpack(NULL, v.mv_size, v.mv_data);
        Evote__V1__Batch *bt = b ? evote__v1__batch__unpack(NULL, b->batch.len, b->batch.data) : NULL;
        for (size_t i = 0; bt && i < bt->n_txs && i < b->n_results; i++) {
            Evote__V1__Envelope *e = evote__v1__envelope__unpack(NULL, bt->txs[i].len, bt->txs[i].data);
            Evote__V1__TxBody *body = e ? evote__v1__tx_body__unpack(NULL, e->body.len, e->body.data) : NULL;
            int is = body && body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_BALLOT &&
                     b->results[i] == EVOTE__V1__TX_RESULT__TX_RESULT_OK;
            if (body)
                evote__v1__tx_body__free_unpacked(body, NULL);
            if (e)
                evote__v1__envelope__free_unpacked(e, NULL);
            if (is) {
                *h = get_be64(k.mv_data);
                *bo = b;
                *bto = bt;
                *idx = i;
                mdb_cursor_close(c);
                return 1;
            }
        }
        if (bt)
            evote__v1__batch__free_unpacked(bt, NULL);
        if (b)
            evote__v1__block__free_unpacked(b, NULL);
    }
    mdb_cursor_close(c);
    return 0;
}

static void set_batch(Evote__V1__Block *b, Evote__V1__Batch *bt, uint8_t **keep)
{
    size_t len = evote__v1__batch__get_packed_size(bt);
    *keep = malloc(len);
    evote__v1__batch__pack(bt, *keep);
    b->batch.data = *keep;
    b->batch.len = len;
}

int main(int argc, char **argv)
{
    const char *dir, *mode;
    if (argc < 3) {
        fprintf(stderr, "usage: audit_tamper DIR ballot|remove|swap H1 H2|cert H|result|checkpoint|flip SEED\n");
        return 2;
    }
    dir = argv[1];
    mode = argv[2];
    if (strcmp(mode, "ballot") == 0 || strcmp(mode, "remove") == 0) {
        uint64_t h;
        size_t i;
        Evote__V1__Block *b;
        Evote__V1__Batch *bt;
        uint8_t id[CRYPTO_HASH_LEN], *nb;
        char hex[2 * CRYPTO_HASH_LEN + 1];
        open_env(dir, 0);
        if (!first_ballot(&h, &b, &bt, &i)) {
            fprintf(stderr, "audit_tamper: no accepted ballot in %s\n", dir);
            return 2;
        }
        envelope_txid(bt->txs[i].data, bt->txs[i].len, id);
        crypto_hex(id, CRYPTO_HASH_LEN, hex);
        if (mode[0] == 'b') {
            /* the ballot's first ciphertext point ends ~40 bytes before the
             * envelope's end of body: flip one byte in its middle, found
             * by parsing */
            Evote__V1__Envelope *e = evote__v1__envelope__unpack(NULL, bt->txs[i].len, bt->txs[i].data);
            Evote__V1__TxBody *body = evote__v1__tx_body__unpack(NULL, e->body.len, e->body.data);
            const uint8_t *ct = body->ballot->encrypted_ballot.data;
            uint8_t *at = memmem(bt->txs[i].data, bt->txs[i].len, ct, 33);
            at[20] ^= 0x01;
            evote__v1__tx_body__free_unpacked(body, NULL);
            evote__v1__envelope__free_unpacked(e, NULL);
        } else {
            memmove(&bt->txs[i], &bt->txs[i + 1], (bt->n_txs - i - 1) * sizeof bt->txs[0]);
            bt->n_txs--;
            memmove(&b->results[i], &b->results[i + 1], (b->n_results - i - 1) * sizeof b->results[0]);
            b->n_results--;
        }
        set_batch(b, bt, &nb);
        put_block(h, b);
        commit();
        printf("%" PRIu64 " %s\n", h, hex);
        return 0;
    }
    if (strcmp(mode, "swap") == 0 && argc == 5) {
        uint64_t h1 = strtoull(argv[3], NULL, 10), h2 = strtoull(argv[4], NULL, 10);
        uint8_t k1[8], k2[8], *c1, *c2;
        MDB_val a = {8, k1}, b = {8, k2}, v1, v2;
        int rc;
        open_env(dir, 0);
        be64(k1, h1);
        be64(k2, h2);
        if ((rc = mdb_get(txn, blocks, &a, &v1)) || (rc = mdb_get(txn, blocks, &b, &v2)))
            die("get blocks", rc);
        c1 = malloc(v1.mv_size);
        c2 = malloc(v2.mv_size);
        memcpy(c1, v1.mv_data, v1.mv_size);
        memcpy(c2, v2.mv_data, v2.mv_size);
        v1.mv_data = c2, v2.mv_data = c1;
        size_t s = v1.mv_size;
        v1.mv_size = v2.mv_size, v2.mv_size = s;
        if ((rc = mdb_put(txn, blocks, &a, &v1, 0)) || (rc = mdb_put(txn, blocks, &b, &v2, 0)))
            die("put blocks", rc);
        commit();
        printf("%" PRIu64 "\n", h1 < h2 ? h1 : h2);
        return 0;
    }
    if (strcmp(mode, "cert") == 0 && argc == 4) {
        uint64_t h = strtoull(argv[3], NULL, 10);
        uint8_t key[8], *buf;
        MDB_val k = {8, key}, v;
        Evote__V1__CommitCertificate *c;
        int rc;
        open_env(dir, 0);
        be64(key, h);
        if ((rc = mdb_get(txn, certs, &k, &v)))
            die("get cert", rc);
        c = evote__v1__commit_certificate__unpack(NULL, v.mv_size, v.mv_data);
        c->n_commits--; /* 2f+1 -> 2f (the dropped envelope leaks: a test tool) */
        v.mv_size = evote__v1__commit_certificate__get_packed_size(c);
        buf = malloc(v.mv_size);
        evote__v1__commit_certificate__pack(c, buf);
        v.mv_data = buf;
        if ((rc = mdb_put(txn, certs, &k, &v, 0)))
            die("put cert", rc);
        commit();
        printf("%" PRIu64 "\n", h);
        return 0;
    }
    if (strcmp(mode, "result") == 0) {
        MDB_cursor *cur;
        MDB_val k, v;
        int rc;
        open_env(dir, 0);
        if ((rc = mdb_cursor_open(txn, state, &cur)))
            die("cursor", rc);
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            if (k.mv_size == 33 && ((uint8_t *)k.mv_data)[0] == 'R')
                break;
        if (rc)
            die("no published result", rc);
        Evote__V1__ElectionResult *r = evote__v1__election_result__unpack(NULL, v.mv_size, v.mv_data);
        uint8_t kcopy[33], *buf;
        memcpy(kcopy, k.mv_data, 33);
        mdb_cursor_close(cur);
        r->counts[0]++;
        v.mv_size = evote__v1__election_result__get_packed_size(r);
        buf = malloc(v.mv_size);
        evote__v1__election_result__pack(r, buf);
        v.mv_data = buf;
        k.mv_data = kcopy;
        if ((rc = mdb_put(txn, state, &k, &v, 0)))
            die("put result", rc);
        commit();
        printf("%" PRIu64 "\n", r->height);
        return 0;
    }
    if (strcmp(mode, "checkpoint") == 0) {
        static const char prefix[] = "checkpoint/";
        uint8_t kcopy[sizeof prefix - 1 + 8], *buf;
        Evote__V1__CheckpointProof *cp;
        MDB_val k = {sizeof prefix - 1, (void *)prefix}, v;
        MDB_cursor *cur;
        int rc;
        open_env(dir, 0);
        if ((rc = mdb_cursor_open(txn, meta, &cur)))
            die("cursor", rc);
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc || k.mv_size != sizeof kcopy || memcmp(k.mv_data, prefix, sizeof prefix - 1) != 0)
            die("no kept checkpoint proof", rc ? rc : MDB_NOTFOUND);
        memcpy(kcopy, k.mv_data, sizeof kcopy);
        mdb_cursor_close(cur);
        cp = evote__v1__checkpoint_proof__unpack(NULL, v.mv_size, v.mv_data);
        if (cp == NULL || cp->n_checkpoints == 0)
            die("the kept checkpoint proof does not parse", MDB_CORRUPTED);
        cp->n_checkpoints--; /* 2f+1 -> 2f (the dropped one leaks: a test tool) */
        v.mv_size = evote__v1__checkpoint_proof__get_packed_size(cp);
        buf = malloc(v.mv_size);
        evote__v1__checkpoint_proof__pack(cp, buf);
        v.mv_data = buf;
        k.mv_data = kcopy;
        k.mv_size = sizeof kcopy;
        if ((rc = mdb_put(txn, meta, &k, &v, 0)))
            die("put checkpoint proof", rc);
        commit();
        printf("%" PRIu64 "\n", cp->seq);
        return 0;
    }
    if (strcmp(mode, "flip") == 0 && argc == 4) {
        unsigned seed = (unsigned)strtoul(argv[3], NULL, 10);
        MDB_cursor *cur;
        MDB_val k, v;
        uint64_t n = 0, pick, h = 0;
        off_t off = 0;
        int rc, fd;
        char file[4096];
        uint8_t byte;
        open_env(dir, MDB_RDONLY);
        if ((rc = mdb_cursor_open(txn, blocks, &cur)))
            die("cursor", rc);
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            n++;
        srand(seed);
        pick = (uint64_t)rand() % n;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && pick > 0; pick--)
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        h = get_be64(k.mv_data);
        /* Where the record lies in the file. Not by searching for its bytes:
         * a compacted copy leaves stale bytes after a value in its overflow
         * page, and they may repeat a live record (flipping those changes
         * nothing). The map is page-aligned, so the page holding the value
         * (its leaf page, or its first overflow page) starts at the value's
         * address rounded down to the page size, and that page's header
         * begins with its page number. */
        MDB_stat ms;
        if ((rc = mdb_env_stat(env, &ms)))
            die("stat", rc);
        size_t vlen = v.mv_size, pos = (size_t)rand() % v.mv_size, psize = ms.ms_psize;
        const uint8_t *page = (const uint8_t *)((uintptr_t)v.mv_data & ~(uintptr_t)(psize - 1));
        uint64_t pgno;
        memcpy(&pgno, page, sizeof pgno); /* mp_pgno, native order */
        off = (off_t)(pgno * psize + (uint64_t)((const uint8_t *)v.mv_data - page) + pos);
        uint8_t *val = malloc(vlen), *data = malloc(vlen);
        if (val == NULL || data == NULL) {
            fprintf(stderr, "audit_tamper: out of memory\n");
            return 2;
        }
        memcpy(val, v.mv_data, vlen);
        mdb_cursor_close(cur);
        mdb_txn_abort(txn);
        mdb_env_close(env);
        snprintf(file, sizeof file, "%s/data.mdb", dir);
        fd = open(file, O_RDWR);
        if (fd < 0 || pread(fd, data, vlen, off - (off_t)pos) != (ssize_t)vlen) {
            perror(file);
            return 2;
        }
        if (memcmp(data, val, vlen) != 0) {
            fprintf(stderr, "audit_tamper: the block record at height %" PRIu64 " is not at page %" PRIu64
                    " of the file\n", h, pgno);
            return 2;
        }
        byte = data[pos];
        free(data);
        free(val);
        byte ^= (uint8_t)(1u << (rand() % 8));
        if (pwrite(fd, &byte, 1, off) != 1) {
            perror(file);
            return 2;
        }
        close(fd);
        printf("%" PRIu64 " %lld\n", h, (long long)off);
        return 0;
    }
    fprintf(stderr, "audit_tamper: unknown mode %s\n", mode);
    return 2;
}
