/* One validator's ballot pipeline, in process, with the machine to itself:
 * what a validator sustains when nothing else (the other validators, the
 * voters' encryption) shares its cores. A benchmark, not a test.
 *
 *   bench_validator --genesis G --data DIR --keys K1,K2,K3 --ballots FILE
 *                   [--workers N]
 *
 * DIR is a copy of a stopped validator's data directory holding an open
 * election whose voters are registered; FILE holds sealed ballots, one signed
 * transaction in hex per line ('evote vote --voters V --encrypt-only FILE');
 * K1..K3 are 2f+1 validator keys of the genesis (they sign each block's
 * commit certificate). The timed run, as evoted does it:
 *   - every ballot into the mempool: envelope signature and the ballot's
 *     proofs checked on N worker threads (default: one per core);
 *   - meanwhile the main thread takes what is verified as a batch (at most
 *     the genesis's max_batch_txs), checks it as a backup does
 *     (ledger_batch_check), executes it with the election rules
 *     (ledger_execute_batch), assembles the block, signs a commit
 *     certificate (2f+1 real COMMIT envelopes over the batch digest) and
 *     appends block, certificate, results and state changes to the LMDB
 *     chain store (chain_store_append, durable), then commits the mempool.
 * Not in it: the network, and PBFT's PREPARE/COMMIT rounds.
 * Prints ballots/s, the CPU time per ballot, and ballots/s per core. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "chain_store.h"
#include "consensus.pb-c.h"
#include "crypto.h"
#include "election.h"
#include "ledger.h"
#include "replica.h"

#define MAX_BATCH_BYTES (2u * 1024u * 1024u) /* as evoted's proposals */
#define MAX_SIGNERS 3

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_validator: %s\n", what);
    exit(1);
}

typedef struct {
    chain_store *store;
    mempool *mp;
} ctx_t;

static int state_get(void *c, const uint8_t *key, size_t key_len, uint8_t **value, size_t *len)
{
    store_err e = chain_store_get_state(((ctx_t *)c)->store, key, key_len, value, len);
    return e == STORE_OK ? 1 : e == STORE_ERR_NOT_FOUND ? 0 : -1;
}

static int tx_committed(void *c, const uint8_t id[CRYPTO_HASH_LEN])
{
    return chain_store_find_tx(((ctx_t *)c)->store, id, NULL, NULL, NULL) == STORE_OK;
}

static int ballot_verdict(void *c, const uint8_t id[CRYPTO_HASH_LEN], const elgamal_ct **cts, size_t *n)
{
    return mempool_ballot_verdict(((ctx_t *)c)->mp, id, cts, n);
}

static int cb_verify(void *c, const uint8_t pubkey[CRYPTO_PUBKEY_LEN], const char *tag, const uint8_t *msg,
                     size_t len, const uint8_t sig[CRYPTO_SIG_LEN])
{
    (void)c;
    return crypto_verify(pubkey, tag, msg, len, sig) == CRYPTO_OK;
}

/* Reads FILE: one hex transaction per line. */
static size_t read_ballots(const char *path, uint8_t ***txs, size_t **lens)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, n = 0, lcap = 0;
    ssize_t got;

    if (f == NULL) {
        fprintf(stderr, "bench_validator: cannot open %s: %s\n", path, strerror(errno));
        exit(1);
    }
    *txs = NULL;
    *lens = NULL;
    while ((got = getline(&line, &lcap, f)) != -1) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        if (got == 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            *txs = realloc(*txs, cap * sizeof **txs);
            *lens = realloc(*lens, cap * sizeof **lens);
            if (*txs == NULL || *lens == NULL)
                die("out of memory");
        }
        (*lens)[n] = (size_t)got / 2;
        (*txs)[n] = malloc((*lens)[n] ? (*lens)[n] : 1);
        if ((*txs)[n] == NULL)
            die("out of memory");
        if (got % 2 != 0 || crypto_unhex(line, (*txs)[n], (*lens)[n]) != CRYPTO_OK) {
            fprintf(stderr, "bench_validator: %s line %zu is not a hex transaction\n", path, n + 1);
            exit(1);
        }
        n++;
    }
    free(line);
    fclose(f);
    return n;
}

/* A commit certificate for (view 0, seq, digest of batch) signed by keys. */
static void make_cert(const genesis *g, signing_key **keys, size_t nk, uint64_t seq, const uint8_t *batch,
                      size_t batch_len, uint8_t **out, size_t *out_len)
{
    Evote__V1__CommitCertificate cert = EVOTE__V1__COMMIT_CERTIFICATE__INIT;
    Evote__V1__Envelope *envs[MAX_SIGNERS];
    uint8_t *sealed[MAX_SIGNERS], digest[CRYPTO_HASH_LEN], body[256];
    size_t sealed_len[MAX_SIGNERS];

    crypto_tagged_hash(CRYPTO_TAG_BATCH, batch, batch_len, digest);
    for (size_t i = 0; i < nk; i++) {
        Evote__V1__Commit c = EVOTE__V1__COMMIT__INIT;
        uint8_t pub[CRYPTO_PUBKEY_LEN];
        int idx;
        size_t blen;
        signing_key_pubkey(keys[i], pub);
        idx = genesis_validator_index(g, pub);
        if (idx < 0)
            die("a --keys key is not a validator of this genesis");
        c.chain_id.data = (uint8_t *)g->chain_id;
        c.chain_id.len = CRYPTO_CHAIN_ID_LEN;
        c.view = 0;
        c.seq = seq;
        c.digest.data = digest;
        c.digest.len = CRYPTO_HASH_LEN;
        c.replica = (uint32_t)idx;
        blen = evote__v1__commit__get_packed_size(&c);
        if (blen > sizeof body)
            die("a COMMIT does not fit");
        evote__v1__commit__pack(&c, body);
        if (envelope_seal(EVOTE__V1__KIND__KIND_COMMIT, body, blen, keys[i], &sealed[i], &sealed_len[i]) != CRYPTO_OK)
            die("cannot sign a COMMIT");
        envs[i] = evote__v1__envelope__unpack(NULL, sealed_len[i], sealed[i]);
        if (envs[i] == NULL)
            die("a COMMIT envelope does not parse");
    }
    cert.view = 0;
    cert.seq = seq;
    cert.digest.data = digest;
    cert.digest.len = CRYPTO_HASH_LEN;
    cert.commits = envs;
    cert.n_commits = nk;
    *out_len = evote__v1__commit_certificate__get_packed_size(&cert);
    *out = malloc(*out_len);
    if (*out == NULL)
        die("out of memory");
    evote__v1__commit_certificate__pack(&cert, *out);
    for (size_t i = 0; i < nk; i++) {
        evote__v1__envelope__free_unpacked(envs[i], NULL);
        free(sealed[i]);
    }
}

int main(int argc, char **argv)
{
    const char *genesis_path = NULL, *data = NULL, *keys_arg = NULL, *ballots = NULL;
    unsigned workers = 0;
    signing_key *keys[MAX_SIGNERS] = {0};
    size_t nk = 0, n, verdicts = 0, committed = 0, rejected = 0, blocks = 0, counted = 0, other = 0;
    uint8_t **txs;
    size_t *lens;
    genesis *g = NULL;
    genesis_error gwhy;
    chain_store *store = NULL;
    store_error swhy;
    election_cache *cache = NULL;
    election_changes *changes = election_changes_new();
    mempool *mp = NULL;
    ctx_t ctx;
    election_state_reader rd;
    ledger_tx *first = NULL;
    mempool_tx *taken;
    Evote__V1__TxResult *results;
    uint8_t (*ids)[CRYPTO_HASH_LEN];
    double t0, c0, t1, c1, exec_s = 0, store_s = 0;
    uint64_t h0;
    int cert_checked = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--genesis") == 0)
            genesis_path = argv[i + 1];
        else if (strcmp(argv[i], "--data") == 0)
            data = argv[i + 1];
        else if (strcmp(argv[i], "--keys") == 0)
            keys_arg = argv[i + 1];
        else if (strcmp(argv[i], "--ballots") == 0)
            ballots = argv[i + 1];
        else if (strcmp(argv[i], "--workers") == 0)
            workers = (unsigned)atoi(argv[i + 1]);
        else
            die("usage: bench_validator --genesis G --data DIR --keys K1,K2,K3 --ballots FILE [--workers N]");
    }
    if (genesis_path == NULL || data == NULL || keys_arg == NULL || ballots == NULL || changes == NULL)
        die("usage: bench_validator --genesis G --data DIR --keys K1,K2,K3 --ballots FILE [--workers N]");
    if (genesis_load(genesis_path, &g, &gwhy) != LEDGER_OK)
        die("cannot load the genesis");
    {
        char *list = strdup(keys_arg), *save = NULL;
        for (char *k = strtok_r(list, ",", &save); k != NULL && nk < MAX_SIGNERS; k = strtok_r(NULL, ",", &save))
            if (signing_key_load(k, &keys[nk++]) != CRYPTO_OK)
                die("cannot load a --keys file");
        free(list);
    }
    if (nk != 2 * ((g->n - 1) / 3) + 1)
        die("--keys must name 2f+1 validator keys (3 for 4 validators)");
    if (chain_store_open(data, g->chain_id, NULL, &store, &swhy) != STORE_OK) {
        fprintf(stderr, "bench_validator: chain store %s: %s\n", data, swhy.detail);
        return 1;
    }
    n = read_ballots(ballots, &txs, &lens);
    if (n == 0)
        die("no ballot in --ballots");
    ctx.store = store;
    rd.get = state_get;
    rd.ctx = &ctx;
    /* The election's verifier, as a running validator has it in its cache. */
    if (ledger_tx_decode(txs[0], lens[0], g->chain_id, &first, NULL) != LEDGER_OK ||
        first->body->payload_case != EVOTE__V1__TX_BODY__PAYLOAD_BALLOT)
        die("the first line of --ballots is not a ballot of this chain");
    if (election_cache_new(g->chain_id, &cache) != ELECTION_OK ||
        election_cache_load(cache, &rd, first->body->ballot->election_id.data,
                            first->body->ballot->election_id.len) != ELECTION_OK)
        die("the election of the ballots is not open in this chain store");
    ledger_tx_destroy(&first);
    if (mempool_new(g->chain_id, n + 16, workers, &mp) != LEDGER_OK)
        die("cannot start the mempool");
    mempool_set_elections(mp, cache);
    ctx.mp = mp;
    taken = calloc(g->max_batch_txs, sizeof *taken);
    results = calloc(g->max_batch_txs, sizeof *results);
    ids = calloc(g->max_batch_txs, sizeof *ids);
    if (taken == NULL || results == NULL || ids == NULL)
        die("out of memory");
    {
        uint8_t hash[CRYPTO_HASH_LEN];
        uint64_t ts;
        if (chain_store_tip(store, &h0, hash, &ts) != STORE_OK)
            die("cannot read the tip");
    }

    t0 = mono_s();
    c0 = cpu_s();
    size_t next = 0; /* submitted so far: as a client would, until "busy" */
    while (committed + rejected < n) {
        mempool_verdict v[256];
        size_t got, k;
        struct pollfd pfd = {.fd = mempool_fd(mp), .events = POLLIN};

        while (next < n) {
            ledger_err se = mempool_submit(mp, txs[next], lens[next], next + 1);
            if (se == LEDGER_ERR_BUSY)
                break; /* the verification queue is long enough: later */
            if (se != LEDGER_OK)
                die("the mempool refused a submission");
            next++;
        }

        while ((got = mempool_poll_verdicts(mp, v, 256)) > 0)
            for (size_t i = 0; i < got; i++) {
                verdicts++;
                if (v[i].err != LEDGER_OK)
                    rejected++;
            }
        k = mempool_take(mp, g->max_batch_txs, MAX_BATCH_BYTES, taken);
        if (k == 0) {
            if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
                die("poll failed");
            if (pfd.revents & POLLIN) {
                uint64_t cnt;
                ssize_t r = read(pfd.fd, &cnt, sizeof cnt); /* the eventfd: clear it */
                (void)r;
            }
            continue;
        }
        {
            Evote__V1__Batch b = EVOTE__V1__BATCH__INIT;
            ProtobufCBinaryData *bd = calloc(k, sizeof *bd);
            uint8_t tip_hash[CRYPTO_HASH_LEN], hash[CRYPTO_HASH_LEN], *batch, *block = NULL, *cert = NULL;
            size_t batch_len, block_len = 0, cert_len = 0, nres = 0, n_state, bad = 0;
            uint64_t tip, tip_ts, seq;
            ledger_chain_view view;
            chain_store_append_args args;
            chain_store_state_change *state = NULL;
            double te;

            if (bd == NULL || chain_store_tip(store, &tip, tip_hash, &tip_ts) != STORE_OK)
                die("cannot read the tip");
            seq = tip + 1;
            for (size_t i = 0; i < k; i++)
                bd[i] = (ProtobufCBinaryData){taken[i].len, (uint8_t *)taken[i].bytes};
            b.chain_id.data = (uint8_t *)g->chain_id;
            b.chain_id.len = CRYPTO_CHAIN_ID_LEN;
            b.seq = seq;
            b.timestamp_ms = wall_ms();
            b.n_txs = k;
            b.txs = bd;
            batch_len = evote__v1__batch__get_packed_size(&b);
            batch = malloc(batch_len);
            if (batch == NULL)
                die("out of memory");
            evote__v1__batch__pack(&b, batch);
            te = mono_s();
            if (ledger_batch_check(batch, batch_len, g->chain_id, seq, wall_ms(), 30000, g->max_batch_txs, mp,
                                   &bad) != LEDGER_OK)
                die("the batch does not pass ledger_batch_check");
            make_cert(g, keys, nk, seq, batch, batch_len, &cert, &cert_len);
            if (!cert_checked) { /* once: the certificate is a real one */
                replica_callbacks cb = {.verify = cb_verify};
                uint8_t(*pubs)[CRYPTO_PUBKEY_LEN] = genesis_pubkeys(g);
                if (pubs == NULL)
                    die("out of memory");
                if (!replica_certificate_valid(g->n, (const uint8_t(*)[CRYPTO_PUBKEY_LEN])pubs, g->chain_id, &cb,
                                               cert, cert_len, seq, batch, batch_len))
                    die("the commit certificate made here is not valid");
                free(pubs);
                cert_checked = 1;
            }
            memset(&view, 0, sizeof view);
            view.tx_committed = tx_committed;
            view.ctx = &ctx;
            view.state = &rd;
            view.cache = cache;
            view.changes = changes;
            view.ballot_verdict = ballot_verdict;
            view.height = seq;
            view.prev_timestamp_ms = tip_ts;
            election_changes_clear(changes);
            if (ledger_execute_batch(g, batch, batch_len, &view, g->max_batch_txs, results, &nres) != LEDGER_OK ||
                ledger_block_assemble(g->chain_id, seq, tip_hash, tip_ts, batch, batch_len, results, nres, &block,
                                      &block_len, hash) != LEDGER_OK)
                die("cannot execute the batch");
            exec_s += mono_s() - te;
            for (size_t i = 0; i < k; i++) {
                memcpy(ids[i], taken[i].id, CRYPTO_HASH_LEN);
                if (results[i] == EVOTE__V1__TX_RESULT__TX_RESULT_OK)
                    counted++;
                else
                    other++;
            }
            n_state = election_changes_count(changes);
            if (n_state > 0 && (state = calloc(n_state, sizeof *state)) == NULL)
                die("out of memory");
            for (size_t i = 0; i < n_state; i++)
                election_changes_at(changes, i, &state[i].key, &state[i].key_len, &state[i].value,
                                    &state[i].value_len, &state[i].del);
            memset(&args, 0, sizeof args);
            args.block = block;
            args.block_len = block_len;
            args.cert = cert;
            args.cert_len = cert_len;
            args.tx_ids = (const uint8_t(*)[CRYPTO_HASH_LEN])ids;
            args.tx_results = results;
            args.n_txs = nres;
            args.state = state;
            args.n_state = n_state;
            te = mono_s();
            if (chain_store_append(store, &args) != STORE_OK)
                die("cannot append the block");
            store_s += mono_s() - te;
            mempool_commit(mp, (const uint8_t(*)[CRYPTO_HASH_LEN])ids, k);
            committed += k;
            blocks++;
            election_changes_clear(changes);
            free(state);
            free(block);
            free(cert);
            free(batch);
            free(bd);
        }
    }
    t1 = mono_s();
    c1 = cpu_s();
    {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        double wall = t1 - t0, cpu = c1 - c0;
        printf("one validator's pipeline, in process: %zu ballots (%zu refused by the mempool) in %zu blocks "
               "(heights %" PRIu64 "..%" PRIu64 "), %zu counted, %zu other results\n",
               n, rejected, blocks, h0 + 1, h0 + blocks, counted, other);
        printf("  %.2f s: %.0f ballots/s on %ld cores (mempool workers: %s); main thread: batch check + execute "
               "%.2f s, LMDB append %.2f s\n",
               wall, (double)committed / wall, cores, workers ? "as given" : "one per core", exec_s, store_s);
        printf("  CPU %.2f s = %.3f ms per ballot = %.0f ballots/s per core, %.0f ballots/s on %ld idle cores "
               "(the load-independent figure)\n",
               cpu, 1000 * cpu / (double)committed, (double)committed / cpu, (double)cores * (double)committed / cpu,
               cores);
    }
    for (size_t i = 0; i < n; i++)
        free(txs[i]);
    free(txs);
    free(lens);
    free(taken);
    free(results);
    free(ids);
    mempool_destroy(&mp);
    election_cache_destroy(&cache);
    election_changes_destroy(&changes);
    chain_store_destroy(&store);
    for (size_t i = 0; i < nk; i++)
        signing_key_destroy(&keys[i]);
    genesis_destroy(&g);
    return counted == n ? 0 : 1;
}
