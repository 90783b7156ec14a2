/* bench_cluster_load: the load generator of the cluster benchmark
 * (tests/bench/cluster/run.sh). Not a test, not installed.
 *
 *   bench_cluster_load verify [--ms MS]
 *       Times crypto_verify (BIP340, a ~250-byte message) in a loop on one
 *       core for MS milliseconds (default 2000) and prints
 *         VERIFY per_s=N us=U
 *
 *   bench_cluster_load decode [--ms MS]
 *       What a validator's mempool worker does for each transaction
 *       (ledger_tx_decode: unpack, chain id, transaction id, signature) on
 *       4,096 pre-signed ~250-byte notices in turn, on one core for MS
 *       milliseconds (default 2000); the cost is this thread's CPU time,
 *       as the workers' own sampled timing is, so the two compare:
 *         DECODE per_s=N us=U
 *
 *   bench_cluster_load load --genesis G --key K --nodes EP[,EP...] --observe EP
 *                           [--duration S] [--rate R] [--count N] [--window W]
 *                           [--threads T] [--drain S] [--busy-pause MS]
 *                           [--timeout MS] [--blocks-log FILE] [--size B]
 *       Pre-signs N notices (~B bytes each, default 250) with the key K on
 *       T threads (before anything is timed), then submits them spread
 *       round-robin over the nodes, at most W requests in flight per node
 *       (default 500), at R transactions/s (0 = as fast as the nodes
 *       answer) for S seconds (or until the N transactions are sent).
 *       Each node gets a raw DEALER socket speaking REQ framing
 *       [empty][ApiRequest] -> [empty][ApiResponse]; replies are matched by
 *       request_id (= transaction index + 1). BUSY is retried (on any node)
 *       after MS ms (default 20), and the node that answered BUSY gets no
 *       request for MS ms, as a polite client would do; a request without answer after the
 *       timeout (default 5000 ms) counts as a timeout and the node is not
 *       used again.
 *
 *       Commit latency: an observer thread polls GetTip on the --observe
 *       node every 2 ms; for each new block it fetches the block (GetBlock),
 *       hashes every transaction of its batch and stamps each of ours with
 *       the observation time. latency = observation time - time of the
 *       FIRST SubmitTx of that transaction (so BUSY retries count against
 *       it). It is measured for every transaction committed, not a sample.
 *       Throughput counts our transactions observed committed within the
 *       submission window (and, separately, after a warm-up).
 *       With --blocks-log, every block observed is written as
 *         WALL_MS HEIGHT TX_COUNT OURS BLOCK_TIMESTAMP_MS
 *       (WALL_MS = CLOCK_REALTIME of the observation).
 *
 *       The last line is machine-readable:
 *         RESULT committed_tps=X steady_tps=X accepted_tps=X p50_ms=X p90_ms=X
 *                p99_ms=X max_ms=X ok=N busy=N rejected=N timeouts=N
 *                committed=N uncommitted=N blocks=N gen_cpu_us_per_tx=X
 *       (gen_cpu_us_per_tx: this process's CPU time from the first
 *       submission to the end of the drain, per committed transaction)
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "api.pb-c.h"
#include "crypto.h"
#include "evote.pb-c.h"
#include "ledger.h"
#include "net.h"

#define MAX_NODES 16
#define RING_BITS 21
#define RING_SIZE (1u << RING_BITS)

enum { ST_FRESH = 0, ST_INFLIGHT, ST_OK, ST_REJECTED, ST_TIMEOUT, ST_BUSYWAIT };

typedef struct {
    uint8_t *bytes;
    uint32_t len;
    uint8_t state;
    uint8_t node;
    uint8_t id[CRYPTO_HASH_LEN];
    uint64_t first_send_us; /* 0: never sent */
    uint64_t sent_us;       /* current attempt; for BUSYWAIT: when to retry */
    uint64_t commit_us;     /* written by the observer only */
} btx;

typedef struct {
    uint64_t mono_us;
    uint64_t wall_ms;
    uint64_t height;
    uint64_t n_txs;
    uint64_t ours;
    uint64_t ts_ms;
} block_rec;

static btx *txs;
static size_t n_txs;
static uint32_t *table; /* open addressing: tx index + 1, 0 = empty */
static size_t table_mask;

static atomic_int stop_observer;
static atomic_uint_fast64_t committed_ours;
static atomic_int observer_failed;
static block_rec *blocks;
static size_t n_blocks, cap_blocks;
static pthread_mutex_t blocks_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t cpu_us(void) /* this process, all threads */
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_us(uint64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (p == NULL) {
        fprintf(stderr, "bench_cluster_load: out of memory\n");
        exit(1);
    }
    return p;
}

static uint64_t id_key(const uint8_t *id)
{
    uint64_t k;
    memcpy(&k, id, sizeof k);
    return k;
}

static void table_insert(size_t idx)
{
    size_t h = (size_t)id_key(txs[idx].id) & table_mask;
    while (table[h] != 0)
        h = (h + 1) & table_mask;
    table[h] = (uint32_t)(idx + 1);
}

static long table_find(const uint8_t *id)
{
    size_t h = (size_t)id_key(id) & table_mask;
    while (table[h] != 0) {
        size_t i = table[h] - 1;
        if (memcmp(txs[i].id, id, CRYPTO_HASH_LEN) == 0)
            return (long)i;
        h = (h + 1) & table_mask;
    }
    return -1;
}

/* ---------------------------------------------------------------- verify */

static int cmd_verify(int argc, char **argv)
{
    long ms = 2000;
    signing_key *key = NULL;
    uint8_t pub[CRYPTO_PUBKEY_LEN], sig[CRYPTO_SIG_LEN], msg[250];
    uint64_t n = 0, t0, t;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc)
            ms = strtol(argv[++i], NULL, 10);
    }
    if (signing_key_generate(&key) != CRYPTO_OK) {
        fprintf(stderr, "bench_cluster_load verify: cannot make a key\n");
        return 1;
    }
    memset(msg, 0x5a, sizeof msg);
    signing_key_pubkey(key, pub);
    if (signing_key_sign(key, "evote/v1/tx", msg, sizeof msg, sig) != CRYPTO_OK) {
        fprintf(stderr, "bench_cluster_load verify: cannot sign\n");
        return 1;
    }
    t0 = mono_us();
    do {
        for (int k = 0; k < 100; k++) {
            if (crypto_verify(pub, "evote/v1/tx", msg, sizeof msg, sig) != CRYPTO_OK) {
                fprintf(stderr, "bench_cluster_load verify: signature does not verify\n");
                return 1;
            }
        }
        n += 100;
        t = mono_us();
    } while (t - t0 < (uint64_t)ms * 1000u);
    printf("VERIFY per_s=%.0f us=%.2f\n", (double)n * 1e6 / (double)(t - t0), (double)(t - t0) / (double)n);
    signing_key_destroy(&key);
    return 0;
}

/* ------------------------------------------------------------------ sign */

typedef struct {
    const signing_key *key;
    const uint8_t *chain_id;
    size_t from, to;
    size_t text_len;
    uint64_t nonce_base;
    int failed;
} sign_job;

static void *sign_main(void *arg)
{
    sign_job *j = arg;
    uint8_t text[4096];
    Evote__V1__Notice notice = EVOTE__V1__NOTICE__INIT;
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;

    memset(text, 'x', sizeof text);
    notice.topic = "bench";
    notice.text.data = text;
    notice.text.len = j->text_len;
    body.chain_id.data = (uint8_t *)j->chain_id;
    body.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_NOTICE;
    body.notice = &notice;
    for (size_t i = j->from; i < j->to; i++) {
        uint8_t *out = NULL;
        size_t len = 0;
        body.nonce = j->nonce_base + i;
        body.created_ms = wall_ms();
        if (ledger_tx_seal(&body, j->key, &out, &len) != CRYPTO_OK) {
            j->failed = 1;
            return NULL;
        }
        txs[i].bytes = out;
        txs[i].len = (uint32_t)len;
        envelope_txid(out, len, txs[i].id);
    }
    return NULL;
}

/* The notice text length that makes a signed notice ~size bytes (at most
 * 4000 bytes of text): an empty one is signed once to learn the rest.
 * Returns: 0, or -1 when signing failed. */
static int notice_text_len(const signing_key *key, const uint8_t *chain_id, long size, size_t *out)
{
    uint8_t *probe = NULL;
    size_t base_len;
    Evote__V1__Notice notice = EVOTE__V1__NOTICE__INIT;
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;

    notice.topic = "bench";
    notice.text.data = (uint8_t *)"";
    body.chain_id.data = (uint8_t *)chain_id;
    body.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    body.nonce = UINT64_C(1) << 62;
    body.created_ms = wall_ms();
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_NOTICE;
    body.notice = &notice;
    if (ledger_tx_seal(&body, key, &probe, &base_len) != CRYPTO_OK)
        return -1;
    free(probe);
    *out = 0;
    if ((size_t)size > base_len + 2)
        *out = (size_t)size - base_len - 2; /* text bytes + its length byte(s) */
    if (*out > 4000)
        *out = 4000;
    return 0;
}

/* ---------------------------------------------------------------- decode */

static uint64_t thread_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmd_decode(int argc, char **argv)
{
    enum { N_TXS = 4096 };
    long ms = 2000;
    signing_key *key = NULL;
    uint8_t chain_id[CRYPTO_CHAIN_ID_LEN];
    sign_job job;
    uint64_t n = 0, t0, c0, c1;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc)
            ms = strtol(argv[++i], NULL, 10);
    }
    memset(chain_id, 0x42, sizeof chain_id);
    if (signing_key_generate(&key) != CRYPTO_OK) {
        fprintf(stderr, "bench_cluster_load decode: cannot make a key\n");
        return 1;
    }
    /* ~250 bytes each, as the load's notices, signed the same way */
    n_txs = N_TXS;
    txs = xcalloc(n_txs, sizeof *txs);
    memset(&job, 0, sizeof job);
    job.key = key;
    job.chain_id = chain_id;
    job.to = n_txs;
    job.nonce_base = UINT64_C(1) << 61; /* nonces as long as the load's random ones */
    if (notice_text_len(key, chain_id, 250, &job.text_len) != 0 || (sign_main(&job), job.failed)) {
        fprintf(stderr, "bench_cluster_load decode: cannot sign\n");
        goto out;
    }
    t0 = mono_us();
    c0 = thread_cpu_us();
    do {
        for (int k = 0; k < 100; k++, n++) {
            ledger_tx *tx = NULL;
            if (ledger_tx_decode(txs[n % n_txs].bytes, txs[n % n_txs].len, chain_id, &tx, NULL) != LEDGER_OK) {
                fprintf(stderr, "bench_cluster_load decode: a notice does not decode\n");
                goto out;
            }
            ledger_tx_destroy(&tx);
        }
    } while (mono_us() - t0 < (uint64_t)ms * 1000u);
    c1 = thread_cpu_us();
    printf("DECODE per_s=%.0f us=%.2f bytes=%" PRIu32 "\n", (double)n * 1e6 / (double)(c1 - c0),
           (double)(c1 - c0) / (double)n, txs[0].len);
    rc = 0;
out:
    for (size_t i = 0; i < n_txs; i++)
        free(txs[i].bytes);
    free(txs);
    txs = NULL;
    n_txs = 0;
    signing_key_destroy(&key);
    return rc;
}

/* -------------------------------------------------------------- observer */

typedef struct {
    const char *endpoint;
    FILE *log;
} observer_args;

static int api_call(client_conn *c, Evote__V1__ApiRequest *req, Evote__V1__ApiResponse **out)
{
    size_t len = evote__v1__api_request__get_packed_size(req), rlen = 0;
    uint8_t *buf = xcalloc(1, len), *resp = NULL;
    net_err err;

    *out = NULL;
    evote__v1__api_request__pack(req, buf);
    for (int tries = 0;; tries++) {
        err = client_conn_call(c, buf, len, &resp, &rlen);
        if (err != NET_OK)
            break;
        *out = evote__v1__api_response__unpack(NULL, rlen, resp);
        free(resp);
        resp = NULL;
        /* Over the address's read budget (client_read_rate): wait as told. */
        if (*out == NULL || (*out)->status != EVOTE__V1__API_STATUS__API_STATUS_BUSY ||
            (*out)->retry_after_ms == 0 || tries >= 1000)
            break;
        usleep(1000u * (*out)->retry_after_ms);
        evote__v1__api_response__free_unpacked(*out, NULL);
        *out = NULL;
    }
    free(buf);
    return *out != NULL;
}

static int get_height(client_conn *c, uint64_t *height)
{
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__GetTip gt = EVOTE__V1__GET_TIP__INIT;
    Evote__V1__ApiResponse *r = NULL;
    int ok;

    req.request_id = 1;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_TIP;
    req.get_tip = &gt;
    if (!api_call(c, &req, &r))
        return 0;
    ok = r->status == EVOTE__V1__API_STATUS__API_STATUS_OK && r->node != NULL;
    if (ok)
        *height = r->node->height;
    evote__v1__api_response__free_unpacked(r, NULL);
    return ok;
}

static int fetch_block(client_conn *c, uint64_t h, FILE *log)
{
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__GetBlock gb = EVOTE__V1__GET_BLOCK__INIT;
    Evote__V1__ApiResponse *r = NULL;
    Evote__V1__Batch *b = NULL;
    Evote__V1__BlockHeader *hd = NULL;
    block_rec rec;
    uint64_t now;

    req.request_id = h + 2;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_BLOCK;
    req.get_block = &gb;
    gb.height = h;
    if (!api_call(c, &req, &r))
        return 0;
    now = mono_us();
    memset(&rec, 0, sizeof rec);
    rec.mono_us = now;
    rec.wall_ms = wall_ms();
    rec.height = h;
    if (r->status != EVOTE__V1__API_STATUS__API_STATUS_OK || r->block == NULL ||
        (b = evote__v1__batch__unpack(NULL, r->block->batch.len, r->block->batch.data)) == NULL) {
        evote__v1__api_response__free_unpacked(r, NULL);
        return 0;
    }
    hd = evote__v1__block_header__unpack(NULL, r->block->header.len, r->block->header.data);
    if (hd != NULL)
        rec.ts_ms = hd->timestamp_ms;
    rec.n_txs = b->n_txs;
    for (size_t i = 0; i < b->n_txs; i++) {
        uint8_t id[CRYPTO_HASH_LEN];
        long k;
        envelope_txid(b->txs[i].data, b->txs[i].len, id);
        k = table_find(id);
        if (k >= 0 && txs[k].commit_us == 0) {
            txs[k].commit_us = now;
            rec.ours++;
        }
    }
    atomic_fetch_add(&committed_ours, rec.ours);
    if (log != NULL)
        fprintf(log, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", rec.wall_ms, rec.height,
                rec.n_txs, rec.ours, rec.ts_ms);
    pthread_mutex_lock(&blocks_lock);
    if (n_blocks == cap_blocks) {
        cap_blocks = cap_blocks ? cap_blocks * 2 : 1024;
        blocks = realloc(blocks, cap_blocks * sizeof *blocks);
        if (blocks == NULL) {
            fprintf(stderr, "bench_cluster_load: out of memory\n");
            exit(1);
        }
    }
    blocks[n_blocks++] = rec;
    pthread_mutex_unlock(&blocks_lock);
    if (hd != NULL)
        evote__v1__block_header__free_unpacked(hd, NULL);
    evote__v1__batch__free_unpacked(b, NULL);
    evote__v1__api_response__free_unpacked(r, NULL);
    return 1;
}

static void *observer_main(void *arg)
{
    observer_args *a = arg;
    client_conn *c = NULL;
    net_error why;
    uint64_t last = 0, height = 0;
    int have_base = 0;

    if (client_conn_new(a->endpoint, NULL, 3000, &c, &why) != NET_OK) {
        fprintf(stderr, "bench_cluster_load: observer cannot connect to %s: %s\n", a->endpoint, why.detail);
        atomic_store(&observer_failed, 1);
        return NULL;
    }
    while (!atomic_load(&stop_observer)) {
        if (!get_height(c, &height)) {
            sleep_us(20000);
            continue;
        }
        if (!have_base) {
            last = height; /* blocks before the run are not ours */
            have_base = 1;
        }
        if (height <= last) {
            sleep_us(2000);
            continue;
        }
        while (last < height && !atomic_load(&stop_observer)) {
            if (!fetch_block(c, last + 1, a->log)) {
                sleep_us(20000);
                break;
            }
            last++;
        }
    }
    client_conn_destroy(&c);
    return NULL;
}

/* ------------------------------------------------------------------ load */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const uint64_t *v, size_t n, double p)
{
    size_t k;
    if (n == 0)
        return -1;
    k = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[k] / 1000.0;
}

static int cmd_load(int argc, char **argv)
{
    static const struct option opts[] = {
        {"genesis", required_argument, NULL, 'g'},   {"key", required_argument, NULL, 'k'},
        {"nodes", required_argument, NULL, 'n'},     {"observe", required_argument, NULL, 'o'},
        {"duration", required_argument, NULL, 'd'},  {"rate", required_argument, NULL, 'r'},
        {"count", required_argument, NULL, 'c'},     {"window", required_argument, NULL, 'w'},
        {"threads", required_argument, NULL, 't'},   {"drain", required_argument, NULL, 'D'},
        {"busy-pause", required_argument, NULL, 'b'}, {"timeout", required_argument, NULL, 'T'},
        {"blocks-log", required_argument, NULL, 'l'}, {"size", required_argument, NULL, 's'},
        {0, 0, 0, 0}};
    const char *genesis_path = NULL, *key_path = NULL, *nodes_arg = NULL, *observe = NULL, *log_path = NULL;
    double duration = 60, rate = 0, drain = 15;
    long count = 0, window = 500, threads = 2, busy_pause_ms = 20, timeout_ms = 5000, size = 250;
    char *eps[MAX_NODES];
    size_t n_nodes = 0;
    genesis *g = NULL;
    genesis_error gwhy;
    signing_key *key = NULL;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'g': genesis_path = optarg; break;
        case 'k': key_path = optarg; break;
        case 'n': nodes_arg = optarg; break;
        case 'o': observe = optarg; break;
        case 'd': duration = strtod(optarg, NULL); break;
        case 'r': rate = strtod(optarg, NULL); break;
        case 'c': count = strtol(optarg, NULL, 10); break;
        case 'w': window = strtol(optarg, NULL, 10); break;
        case 't': threads = strtol(optarg, NULL, 10); break;
        case 'D': drain = strtod(optarg, NULL); break;
        case 'b': busy_pause_ms = strtol(optarg, NULL, 10); break;
        case 'T': timeout_ms = strtol(optarg, NULL, 10); break;
        case 'l': log_path = optarg; break;
        case 's': size = strtol(optarg, NULL, 10); break;
        default: return 2;
        }
    }
    if (genesis_path == NULL || key_path == NULL || nodes_arg == NULL || observe == NULL || duration <= 0 ||
        window < 1 || threads < 1 || threads > 64) {
        fprintf(stderr, "bench_cluster_load load: --genesis, --key, --nodes and --observe are required\n");
        return 2;
    }
    {
        char *copy = strdup(nodes_arg), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t && n_nodes < MAX_NODES; t = strtok_r(NULL, ",", &save))
            eps[n_nodes++] = strdup(t);
        free(copy);
    }
    if (count <= 0)
        count = (long)((rate > 0 ? rate : 15000) * duration * 1.02) + 1000;
    if (count >= (long)RING_SIZE * 2) {
        fprintf(stderr, "bench_cluster_load: --count too large\n");
        return 2;
    }
    if (genesis_load(genesis_path, &g, &gwhy) != LEDGER_OK) {
        fprintf(stderr, "bench_cluster_load: %s: %s\n", genesis_path, gwhy.reason);
        return 1;
    }
    if (signing_key_load(key_path, &key) != CRYPTO_OK) {
        fprintf(stderr, "bench_cluster_load: cannot load %s\n", key_path);
        return 1;
    }

    /* ---- pre-sign */
    n_txs = (size_t)count;
    txs = xcalloc(n_txs, sizeof *txs);
    {
        size_t text_len = 0;
        pthread_t th[64];
        sign_job jobs[64];
        uint64_t nonce_base, t0, t1;

        if (notice_text_len(key, g->chain_id, size, &text_len) != 0) {
            fprintf(stderr, "bench_cluster_load: cannot sign\n");
            return 1;
        }
        if (crypto_random(&nonce_base, sizeof nonce_base) != CRYPTO_OK)
            nonce_base = wall_ms() << 20;
        nonce_base &= (UINT64_C(1) << 62) - 1; /* leave room for + i */
        t0 = mono_us();
        for (long i = 0; i < threads; i++) {
            jobs[i].key = key;
            jobs[i].chain_id = g->chain_id;
            jobs[i].from = n_txs * (size_t)i / (size_t)threads;
            jobs[i].to = n_txs * (size_t)(i + 1) / (size_t)threads;
            jobs[i].text_len = text_len;
            jobs[i].nonce_base = nonce_base;
            jobs[i].failed = 0;
            if (pthread_create(&th[i], NULL, sign_main, &jobs[i]) != 0) {
                fprintf(stderr, "bench_cluster_load: cannot start a thread\n");
                return 1;
            }
        }
        for (long i = 0; i < threads; i++) {
            pthread_join(th[i], NULL);
            if (jobs[i].failed) {
                fprintf(stderr, "bench_cluster_load: signing failed\n");
                return 1;
            }
        }
        t1 = mono_us();
        printf("presigned          %zu notices of %" PRIu32 " bytes in %.1f s on %ld threads\n", n_txs, txs[0].len,
               (double)(t1 - t0) / 1e6, threads);
        size_t tsize = 1;
        while (tsize < n_txs * 2)
            tsize <<= 1;
        table = xcalloc(tsize, sizeof *table);
        table_mask = tsize - 1;
        for (size_t i = 0; i < n_txs; i++)
            table_insert(i);
        fflush(stdout);
    }

    /* ---- sockets */
    void *zctx = zmq_ctx_new();
    void *socks[MAX_NODES];
    long outstanding[MAX_NODES] = {0};
    int dead[MAX_NODES] = {0};
    uint32_t *rings[MAX_NODES];
    size_t rhead[MAX_NODES] = {0}, rtail[MAX_NODES] = {0};
    zmq_pollitem_t items[MAX_NODES];
    for (size_t n = 0; n < n_nodes; n++) {
        int hwm = 1000000, linger = 0;
        socks[n] = zmq_socket(zctx, ZMQ_DEALER);
        zmq_setsockopt(socks[n], ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(socks[n], ZMQ_RCVHWM, &hwm, sizeof hwm);
        zmq_setsockopt(socks[n], ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_connect(socks[n], eps[n]) != 0) {
            fprintf(stderr, "bench_cluster_load: cannot connect to %s: %s\n", eps[n], zmq_strerror(zmq_errno()));
            return 1;
        }
        rings[n] = xcalloc(RING_SIZE, sizeof(uint32_t));
        items[n].socket = socks[n];
        items[n].fd = 0;
        items[n].events = ZMQ_POLLIN;
        items[n].revents = 0;
    }

    /* ---- observer */
    FILE *log = NULL;
    if (log_path != NULL && (log = fopen(log_path, "w")) == NULL) {
        fprintf(stderr, "bench_cluster_load: cannot write %s\n", log_path);
        return 1;
    }
    observer_args oa = {observe, log};
    pthread_t obs;
    if (pthread_create(&obs, NULL, observer_main, &oa) != 0) {
        fprintf(stderr, "bench_cluster_load: cannot start the observer\n");
        return 1;
    }
    sleep_us(300000); /* let the observer take its base height and the DEALERs connect */

    /* ---- submit */
    uint32_t *retryq = xcalloc(n_txs, sizeof(uint32_t));
    size_t rq_head = 0, rq_tail = 0; /* ring over n_txs entries; each tx in it at most once */
    size_t next_fresh = 0, rr = 0;
    uint64_t n_ok = 0, n_busy = 0, n_rejected = 0, n_timeout = 0, n_late = 0, n_other = 0, n_sends = 0;
    size_t buf_cap = 65536;
    uint8_t *buf = xcalloc(1, buf_cap);
    char first_reject[256] = "";
    uint64_t t_start = mono_us(), cpu_start = cpu_us();
    uint64_t t_end = t_start + (uint64_t)(duration * 1e6);
    uint64_t t_giveup = 0, last_scan = t_start;
    uint64_t pause_us = (uint64_t)busy_pause_ms * 1000u, tmo_us = (uint64_t)timeout_ms * 1000u;
    uint64_t t_last_send = t_start;
    uint64_t last_reply[MAX_NODES];
    uint64_t busy_until[MAX_NODES] = {0}; /* a node that answered BUSY gets nothing new before */
    uint64_t *answer_us = xcalloc(n_txs, sizeof *answer_us); /* send -> OK answer, per accepted tx */
    size_t n_answer = 0;
    for (size_t n = 0; n < n_nodes; n++)
        last_reply[n] = t_start;

    for (;;) {
        uint64_t now = mono_us();
        long total_out = 0;
        int submitting = now < t_end && (next_fresh < n_txs || rq_head != rq_tail);

        if (submitting) {
            for (;;) {
                size_t idx;
                int from_retry = 0;
                if (rq_head != rq_tail && txs[retryq[rq_head % n_txs]].sent_us <= now) {
                    idx = retryq[rq_head % n_txs];
                    from_retry = 1;
                } else if (next_fresh < n_txs &&
                           (rate <= 0 || (double)next_fresh < rate * (double)(now - t_start) / 1e6)) {
                    idx = next_fresh;
                } else {
                    break;
                }
                size_t pick = n_nodes;
                for (size_t k = 0; k < n_nodes; k++) {
                    size_t n = (rr + k) % n_nodes;
                    if (!dead[n] && outstanding[n] < window && rtail[n] - rhead[n] < RING_SIZE &&
                        busy_until[n] <= now) {
                        pick = n;
                        break;
                    }
                }
                if (pick == n_nodes)
                    break;
                rr = pick + 1;
                Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
                Evote__V1__SubmitTx st = EVOTE__V1__SUBMIT_TX__INIT;
                req.request_id = idx + 1;
                req.call_case = EVOTE__V1__API_REQUEST__CALL_SUBMIT;
                req.submit = &st;
                st.tx.data = txs[idx].bytes;
                st.tx.len = txs[idx].len;
                size_t len = evote__v1__api_request__get_packed_size(&req);
                if (len > buf_cap) {
                    fprintf(stderr, "bench_cluster_load: request too large\n");
                    return 1;
                }
                evote__v1__api_request__pack(&req, buf);
                if (zmq_send(socks[pick], "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) != 0 ||
                    zmq_send(socks[pick], buf, len, ZMQ_DONTWAIT) != (int)len) {
                    /* the node's queue is full: try later (nothing was sent, or the
                     * delimiter went alone, which ZeroMQ completes or drops atomically) */
                    break;
                }
                n_sends++;
                if (from_retry)
                    rq_head++;
                else
                    next_fresh++;
                txs[idx].state = ST_INFLIGHT;
                txs[idx].node = (uint8_t)pick;
                txs[idx].sent_us = now;
                if (txs[idx].first_send_us == 0)
                    txs[idx].first_send_us = now;
                t_last_send = now;
                outstanding[pick]++;
                rings[pick][rtail[pick]++ & (RING_SIZE - 1)] = (uint32_t)idx;
            }
        }
        for (size_t n = 0; n < n_nodes; n++)
            total_out += outstanding[n];
        if (!submitting) {
            if (t_giveup == 0)
                t_giveup = now + tmo_us;
            if (total_out == 0 || now >= t_giveup)
                break;
        }
        int poll_ms = (submitting && rate > 0) ? 1 : 10;
        if (zmq_poll(items, (int)n_nodes, poll_ms) < 0 && zmq_errno() != EINTR) {
            fprintf(stderr, "bench_cluster_load: zmq_poll: %s\n", zmq_strerror(zmq_errno()));
            return 1;
        }
        now = mono_us();
        for (size_t n = 0; n < n_nodes; n++) {
            for (;;) {
                zmq_msg_t m;
                int more;
                size_t mlen;
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, socks[n], ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close(&m);
                    break;
                }
                more = zmq_msg_more(&m);
                mlen = zmq_msg_size(&m);
                if (mlen == 0 && more) { /* the delimiter: the reply follows */
                    zmq_msg_close(&m);
                    zmq_msg_init(&m);
                    if (zmq_msg_recv(&m, socks[n], 0) < 0) {
                        zmq_msg_close(&m);
                        break;
                    }
                }
                Evote__V1__ApiResponse *r =
                    evote__v1__api_response__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
                zmq_msg_close(&m);
                if (r == NULL) {
                    n_other++;
                    continue;
                }
                size_t idx = (size_t)(r->request_id - 1);
                if (r->request_id == 0 || idx >= n_txs || txs[idx].state != ST_INFLIGHT || txs[idx].node != n) {
                    n_late++;
                } else {
                    outstanding[n]--;
                    last_reply[n] = now;
                    switch (r->status) {
                    case EVOTE__V1__API_STATUS__API_STATUS_OK:
                        txs[idx].state = ST_OK;
                        answer_us[n_answer++] = now - txs[idx].sent_us;
                        n_ok++;
                        break;
                    case EVOTE__V1__API_STATUS__API_STATUS_BUSY:
                        n_busy++;
                        busy_until[n] = now + pause_us;
                        txs[idx].state = ST_BUSYWAIT;
                        txs[idx].sent_us = now + pause_us;
                        retryq[rq_tail++ % n_txs] = (uint32_t)idx;
                        break;
                    case EVOTE__V1__API_STATUS__API_STATUS_REJECTED:
                        n_rejected++;
                        txs[idx].state = ST_REJECTED;
                        if (first_reject[0] == 0)
                            snprintf(first_reject, sizeof first_reject, "%s", r->reason ? r->reason : "?");
                        break;
                    default:
                        n_other++;
                        txs[idx].state = ST_REJECTED;
                        if (first_reject[0] == 0)
                            snprintf(first_reject, sizeof first_reject, "status %d: %s", (int)r->status,
                                     r->reason ? r->reason : "?");
                        break;
                    }
                }
                evote__v1__api_response__free_unpacked(r, NULL);
            }
        }
        if (now - last_scan > 100000) {
            last_scan = now;
            for (size_t n = 0; n < n_nodes; n++) {
                while (rhead[n] != rtail[n]) {
                    size_t idx = rings[n][rhead[n] & (RING_SIZE - 1)];
                    if (txs[idx].state == ST_INFLIGHT && txs[idx].node == n) {
                        if (now - txs[idx].sent_us < tmo_us)
                            break;
                        txs[idx].state = ST_TIMEOUT;
                        outstanding[n]--;
                        n_timeout++;
                        if (!dead[n] && now - last_reply[n] >= tmo_us) {
                            fprintf(stderr, "bench_cluster_load: %s has not answered for %ld ms: not used any more\n",
                                    eps[n], timeout_ms);
                            dead[n] = 1;
                        }
                    }
                    rhead[n]++;
                }
            }
        }
    }
    uint64_t t_stop = mono_us();
    /* whatever is still in flight is a timeout */
    for (size_t i = 0; i < n_txs; i++)
        if (txs[i].state == ST_INFLIGHT) {
            txs[i].state = ST_TIMEOUT;
            n_timeout++;
        }
    uint64_t n_unsent = 0, n_busy_dropped = 0;
    for (size_t i = 0; i < n_txs; i++) {
        if (txs[i].state == ST_FRESH)
            n_unsent++;
        else if (txs[i].state == ST_BUSYWAIT)
            n_busy_dropped++;
    }
    /* the window: the whole submission time, or until the last send when
     * the pre-signed transactions ran out before the end */
    uint64_t win_end = t_end < t_stop ? t_end : t_stop;
    if (next_fresh >= n_txs && t_last_send < win_end)
        win_end = t_last_send;
    double window_s = (double)(win_end - t_start) / 1e6;
    if (window_s <= 0)
        window_s = 1e-3;
    uint64_t t_win_end = t_start + (uint64_t)(window_s * 1e6);

    /* ---- drain: wait for the accepted transactions to commit */
    uint64_t drain_end = mono_us() + (uint64_t)(drain * 1e6);
    while (atomic_load(&committed_ours) < n_ok && mono_us() < drain_end && !atomic_load(&observer_failed))
        sleep_us(10000);
    atomic_store(&stop_observer, 1);
    pthread_join(obs, NULL);
    uint64_t gen_cpu = cpu_us() - cpu_start;
    if (log != NULL)
        fclose(log);

    /* ---- figures */
    uint64_t *lat = xcalloc(n_txs, sizeof *lat);
    size_t n_lat = 0;
    uint64_t in_window = 0, in_steady = 0, committed = 0;
    double warm = duration / 6 < 5 ? duration / 6 : 5;
    uint64_t t_warm = t_start + (uint64_t)(warm * 1e6);
    for (size_t i = 0; i < n_txs; i++) {
        if (txs[i].commit_us == 0)
            continue;
        committed++;
        if (txs[i].first_send_us != 0 && txs[i].commit_us >= txs[i].first_send_us)
            lat[n_lat++] = txs[i].commit_us - txs[i].first_send_us;
        if (txs[i].commit_us <= t_win_end) {
            in_window++;
            if (txs[i].commit_us >= t_warm)
                in_steady++;
        }
    }
    qsort(lat, n_lat, sizeof *lat, cmp_u64);
    uint64_t blocks_in_window = 0, txs_blocks_window = 0, blocks_all = 0;
    for (size_t b = 0; b < n_blocks; b++) {
        blocks_all++;
        if (blocks[b].mono_us >= t_start && blocks[b].mono_us <= t_win_end) {
            blocks_in_window++;
            txs_blocks_window += blocks[b].n_txs;
        }
    }
    double committed_tps = (double)in_window / window_s;
    double steady_tps = window_s > warm ? (double)in_steady / (window_s - warm) : committed_tps;
    double accepted_tps = (double)n_ok / window_s;

    if (rate > 0)
        printf("target rate        %.0f tx/s\n", rate);
    else
        printf("target rate        as fast as possible\n");
    printf("submission window  %.1f s (%zu nodes, window %ld in flight per node)\n", window_s, n_nodes, window);
    printf("submit answers     ok %" PRIu64 ", busy %" PRIu64 " (retried after %ld ms), rejected %" PRIu64
           ", other %" PRIu64 ", timeouts %" PRIu64 ", late %" PRIu64 "\n",
           n_ok, n_busy, busy_pause_ms, n_rejected, n_other, n_timeout, n_late);
    qsort(answer_us, n_answer, sizeof *answer_us, cmp_u64);
    printf("submit answer time p50 %.1f ms, p99 %.1f ms, max %.1f ms (SubmitTx -> OK: mempool verification queue)\n",
           pct_ms(answer_us, n_answer, 0.5), pct_ms(answer_us, n_answer, 0.99), pct_ms(answer_us, n_answer, 1.0));
    printf("not submitted      %" PRIu64 " never sent, %" PRIu64 " still BUSY at the end\n", n_unsent, n_busy_dropped);
    if (first_reject[0])
        printf("first refusal      %s\n", first_reject);
    printf("accepted           %.0f tx/s\n", accepted_tps);
    printf("committed          %.0f tx/s over the window (%" PRIu64 " tx), %.0f tx/s after %.0f s warm-up\n",
           committed_tps, in_window, steady_tps, warm);
    printf("committed total    %" PRIu64 " of %" PRIu64 " accepted (after %.0f s drain max); %" PRIu64
           " accepted never seen committed\n",
           committed, n_ok, drain, n_ok > committed ? n_ok - committed : 0);
    printf("blocks             %" PRIu64 " in the window (%.0f tx/block avg, all txs), %" PRIu64 " observed in all\n",
           blocks_in_window, blocks_in_window ? (double)txs_blocks_window / (double)blocks_in_window : 0.0,
           blocks_all);
    printf("commit latency     p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (%zu tx, first submit -> "
           "block seen on %s)\n",
           pct_ms(lat, n_lat, 0.5), pct_ms(lat, n_lat, 0.9), pct_ms(lat, n_lat, 0.99), pct_ms(lat, n_lat, 1.0),
           n_lat, observe);
    printf("generator CPU      %.1f s from the first submission to the end of the drain = %.0f us per committed "
           "tx (submitting, answers, observer; pre-signing excluded)\n",
           (double)gen_cpu / 1e6, committed ? (double)gen_cpu / (double)committed : 0.0);
    printf("RESULT committed_tps=%.0f steady_tps=%.0f accepted_tps=%.0f p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f "
           "max_ms=%.1f ok=%" PRIu64 " busy=%" PRIu64 " rejected=%" PRIu64 " timeouts=%" PRIu64
           " committed=%" PRIu64 " uncommitted=%" PRIu64 " blocks=%" PRIu64 " gen_cpu_us_per_tx=%.0f\n",
           committed_tps, steady_tps, accepted_tps, pct_ms(lat, n_lat, 0.5), pct_ms(lat, n_lat, 0.9),
           pct_ms(lat, n_lat, 0.99), pct_ms(lat, n_lat, 1.0), n_ok, n_busy, n_rejected, n_timeout, committed,
           n_ok > committed ? n_ok - committed : 0, blocks_in_window,
           committed ? (double)gen_cpu / (double)committed : 0.0);
    fflush(stdout);
    (void)n_sends;
    for (size_t n = 0; n < n_nodes; n++)
        zmq_close(socks[n]);
    zmq_ctx_term(zctx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_cluster_load verify [--ms MS]\n"
                        "       bench_cluster_load decode [--ms MS]\n"
                        "       bench_cluster_load load --genesis G --key K --nodes EP,... --observe EP "
                        "[--duration S] [--rate R] [--count N] [--window W] [--threads T] [--drain S] "
                        "[--busy-pause MS] [--timeout MS] [--blocks-log FILE] [--size B]\n");
        return 2;
    }
    if (strcmp(argv[1], "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "decode") == 0)
        return cmd_decode(argc - 1, argv + 1);
    if (strcmp(argv[1], "load") == 0)
        return cmd_load(argc - 1, argv + 1);
    fprintf(stderr, "bench_cluster_load: unknown command '%s'\n", argv[1]);
    return 2;
}
