/* bench_consensus: how fast the PBFT replica state machines of consensus/ run
 * when nothing else costs anything. n replicas live in one process; every
 * SEND/BROADCAST goes into one FIFO and is delivered at once (no delays, no
 * loss); an EXECUTE is answered by replica_on_executed with a fake block
 * hash; the primary (replica 0, view 0) proposes a batch of 100 small
 * transactions whenever replica_can_propose lets it. Timers are never fired
 * (nothing is ever late), so the run stays in view 0.
 *
 * Signatures, three ways (the callbacks of replica_callbacks):
 *   fake-hash   sig = H("bench/sig", secret_i || H(tag, msg)) || H(tag, msg),
 *               verified by recomputing it: a cheap keyed hash (3 SHA-256 per
 *               sign or verify) that still binds the message and the signer;
 *   fake-const  sig = pubkey_i || pubkey_i, verified by comparing 64 bytes:
 *               binds nothing, costs nothing, so the figure is consensus
 *               logic (parsing, bookkeeping, digests, meta) alone;
 *   schnorr     real BIP340 keys: signing_key_sign / crypto_verify.
 * validate_batch accepts everything (transaction rules belong to src/ledger).
 *
 * It prints committed blocks/s, protocol messages processed/s (calls to
 * replica_on_message over all replicas) and messages/s per core, against
 * process CPU time (CLOCK_PROCESS_CPUTIME_ID). The benchmark is one thread,
 * so per core is the same figure. Target (issue 3): >= 200,000 messages/s
 * per core with a fake verifier.
 *
 * Usage: bench_consensus [--blocks4 N] [--blocks7 N] [--real N] [--only fake-hash|fake-const|schnorr] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus.pb-c.h"
#include "crypto.h"
#include "evote.pb-c.h"
#include "replica.h"

#define MAXN 7
#define TXS_PER_BATCH 100
#define TX_LEN 48
#define TARGET_MSGS_PER_S 200000.0

typedef enum { SIG_FAKE_HASH, SIG_FAKE_CONST, SIG_SCHNORR } sig_mode;

static const char *mode_name(sig_mode m)
{
    switch (m) {
    case SIG_FAKE_HASH: return "fake-hash";
    case SIG_FAKE_CONST: return "fake-const";
    case SIG_SCHNORR: return "schnorr";
    }
    return "?";
}

/* A message in flight: one buffer shared by the n-1 deliveries of a
 * broadcast, freed by the last one. */
typedef struct {
    uint32_t refs;
    size_t len;
    uint8_t *data;
} shared_buf;

typedef struct {
    uint32_t from, to;
    shared_buf *buf;
} delivery;

static struct {
    uint32_t n;
    sig_mode mode;
    uint8_t chain_id[CRYPTO_CHAIN_ID_LEN];
    uint8_t pubkeys[MAXN][CRYPTO_PUBKEY_LEN];
    uint8_t secrets[MAXN][32];
    signing_key *keys[MAXN];
    uint32_t ids[MAXN]; /* callback ctx of replica i points at ids[i] */
    replica *r[MAXN];
    uint64_t executed[MAXN];

    delivery *q; /* ring buffer */
    size_t q_cap, q_head, q_len;

    uint64_t messages, metas, meta_bytes, serves, signs, verifies, bytes_delivered;
    int failed;
} B;

/* ------------------------------------------------------------ signatures */

static void fake_hash_sig(const uint8_t secret[32], const char *tag, const uint8_t *msg, size_t len,
                          uint8_t sig[CRYPTO_SIG_LEN])
{
    uint8_t h[32], buf[64];
    crypto_tagged_hash(tag, msg, len, h);
    memcpy(buf, secret, 32);
    memcpy(buf + 32, h, 32);
    crypto_tagged_hash("bench/sig", buf, sizeof buf, sig);
    memcpy(sig + 32, h, 32);
}

static int bench_sign(void *ctx, const char *tag, const uint8_t *msg, size_t len, uint8_t sig[CRYPTO_SIG_LEN])
{
    uint32_t id = *(const uint32_t *)ctx;
    B.signs++;
    switch (B.mode) {
    case SIG_FAKE_HASH: fake_hash_sig(B.secrets[id], tag, msg, len, sig); return 1;
    case SIG_FAKE_CONST:
        memcpy(sig, B.pubkeys[id], 32);
        memcpy(sig + 32, B.pubkeys[id], 32);
        return 1;
    case SIG_SCHNORR: return signing_key_sign(B.keys[id], tag, msg, len, sig) == CRYPTO_OK;
    }
    return 0;
}

static int bench_verify(void *ctx, const uint8_t pub[CRYPTO_PUBKEY_LEN], const char *tag, const uint8_t *msg,
                        size_t len, const uint8_t sig[CRYPTO_SIG_LEN])
{
    uint8_t want[CRYPTO_SIG_LEN];
    (void)ctx;
    B.verifies++;
    switch (B.mode) {
    case SIG_FAKE_HASH:
        for (uint32_t i = 0; i < B.n; i++) {
            if (memcmp(B.pubkeys[i], pub, 32) == 0) {
                fake_hash_sig(B.secrets[i], tag, msg, len, want);
                return memcmp(want, sig, CRYPTO_SIG_LEN) == 0;
            }
        }
        return 0;
    case SIG_FAKE_CONST: return memcmp(sig, pub, 32) == 0 && memcmp(sig + 32, pub, 32) == 0;
    case SIG_SCHNORR: return crypto_verify(pub, tag, msg, len, sig) == CRYPTO_OK;
    }
    return 0;
}

static int bench_validate(void *ctx, uint64_t seq, const uint8_t *batch, size_t len)
{
    (void)ctx;
    (void)seq;
    (void)batch;
    (void)len;
    return 1;
}

/* ------------------------------------------------------------------ FIFO */

static void enqueue(uint32_t from, uint32_t to, shared_buf *b)
{
    if (B.q_len == B.q_cap) {
        size_t cap = B.q_cap ? 2 * B.q_cap : 1024;
        delivery *nq = malloc(cap * sizeof *nq);
        if (nq == NULL) {
            fprintf(stderr, "bench_consensus: out of memory\n");
            exit(1);
        }
        for (size_t i = 0; i < B.q_len; i++)
            nq[i] = B.q[(B.q_head + i) % B.q_cap];
        free(B.q);
        B.q = nq;
        B.q_cap = cap;
        B.q_head = 0;
    }
    B.q[(B.q_head + B.q_len) % B.q_cap] = (delivery){from, to, b};
    B.q_len++;
}

static shared_buf *take_bytes(replica_action *a, uint32_t refs)
{
    shared_buf *b = malloc(sizeof *b);
    if (b == NULL) {
        fprintf(stderr, "bench_consensus: out of memory\n");
        exit(1);
    }
    b->refs = refs;
    b->len = a->len;
    b->data = a->bytes;
    a->bytes = NULL;
    return b;
}

static void release(shared_buf *b)
{
    if (--b->refs == 0) {
        free(b->data);
        free(b);
    }
}

/* Carries out replica id's actions in order. An EXECUTE is answered at once,
 * and what that produces is carried out in the same loop. */
static void drain(uint32_t id)
{
    replica_action a;

    while (replica_pop_action(B.r[id], &a)) {
        switch (a.type) {
        case REPLICA_ACT_SEND:
            enqueue(id, a.to, take_bytes(&a, 1));
            break;
        case REPLICA_ACT_BROADCAST: {
            shared_buf *b = take_bytes(&a, B.n - 1);
            for (uint32_t to = 0; to < B.n; to++)
                if (to != id)
                    enqueue(id, to, b);
            break;
        }
        case REPLICA_ACT_EXECUTE: {
            uint8_t hash[CRYPTO_HASH_LEN] = {0};
            if (a.seq != B.executed[id] + 1) {
                fprintf(stderr, "bench_consensus: replica %u executed seq %" PRIu64 " after %" PRIu64 "\n", id,
                        a.seq, B.executed[id]);
                B.failed = 1;
            }
            B.executed[id] = a.seq;
            /* A fake block hash, the same at every replica for a seq. */
            memcpy(hash, &a.seq, sizeof a.seq);
            memcpy(hash + 8, "bench-block-hash", 16);
            replica_on_executed(B.r[id], a.seq, hash, 0);
            break;
        }
        case REPLICA_ACT_PERSIST_META:
            B.metas++;
            B.meta_bytes += a.len;
            break;
        case REPLICA_ACT_SERVE_BLOCKS:
            B.serves++;
            break;
        default: /* timers: nothing is ever late here */
            break;
        }
        replica_action_clear(&a);
    }
}

/* ----------------------------------------------------------------- batches */

/* A Batch of TXS_PER_BATCH transactions of TX_LEN bytes for seq. Out: malloc'ed. */
static uint8_t *make_batch(uint64_t seq, size_t *len)
{
    static uint8_t txbytes[TXS_PER_BATCH][TX_LEN];
    ProtobufCBinaryData txs[TXS_PER_BATCH];
    Evote__V1__Batch b = EVOTE__V1__BATCH__INIT;
    uint8_t *out;

    for (uint32_t i = 0; i < TXS_PER_BATCH; i++) {
        memset(txbytes[i], 'x', TX_LEN);
        memcpy(txbytes[i], &seq, sizeof seq);
        memcpy(txbytes[i] + 8, &i, sizeof i);
        txs[i].data = txbytes[i];
        txs[i].len = TX_LEN;
    }
    b.chain_id.data = B.chain_id;
    b.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    b.seq = seq;
    b.timestamp_ms = 1700000000000ull + seq;
    b.n_txs = TXS_PER_BATCH;
    b.txs = txs;
    *len = evote__v1__batch__get_packed_size(&b);
    out = malloc(*len);
    if (out == NULL) {
        fprintf(stderr, "bench_consensus: out of memory\n");
        exit(1);
    }
    evote__v1__batch__pack(&b, out);
    return out;
}

/* -------------------------------------------------------------------- run */

static double seconds(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void setup(uint32_t n, sig_mode mode)
{
    memset(&B, 0, sizeof B);
    B.n = n;
    B.mode = mode;
    crypto_tagged_hash("bench/chain", (const uint8_t *)"evote-bench", 11, B.chain_id);
    for (uint32_t i = 0; i < n; i++) {
        B.ids[i] = i;
        crypto_tagged_hash("bench/secret", (const uint8_t *)&i, sizeof i, B.secrets[i]);
        if (mode == SIG_SCHNORR) {
            if (signing_key_generate(&B.keys[i]) != CRYPTO_OK) {
                fprintf(stderr, "bench_consensus: cannot generate a key\n");
                exit(1);
            }
            signing_key_pubkey(B.keys[i], B.pubkeys[i]);
        } else {
            crypto_tagged_hash("bench/pub", (const uint8_t *)&i, sizeof i, B.pubkeys[i]);
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        replica_config cfg = {0};
        replica_callbacks cb = {.sign = bench_sign, .verify = bench_verify, .validate_batch = bench_validate, .ctx = &B.ids[i]};
        replica_err err;

        cfg.n = n;
        cfg.id = i;
        cfg.pubkeys = (const uint8_t(*)[CRYPTO_PUBKEY_LEN])B.pubkeys;
        memcpy(cfg.chain_id, B.chain_id, CRYPTO_CHAIN_ID_LEN);
        err = replica_new(&cfg, &cb, NULL, &B.r[i]);
        if (err != REPLICA_OK) {
            fprintf(stderr, "bench_consensus: replica_new: %s\n", replica_strerror(err));
            exit(1);
        }
        replica_start(B.r[i]);
        drain(i);
    }
}

static void teardown(void)
{
    while (B.q_len > 0) {
        release(B.q[B.q_head].buf);
        B.q_head = (B.q_head + 1) % B.q_cap;
        B.q_len--;
    }
    free(B.q);
    for (uint32_t i = 0; i < B.n; i++) {
        replica_destroy(&B.r[i]);
        signing_key_destroy(&B.keys[i]);
    }
}

/* Runs n replicas until every one has executed `blocks` blocks, and prints
 * the figures. Returns 1 if every replica executed every block in order. */
static int run(uint32_t n, sig_mode mode, uint64_t blocks)
{
    double cpu0, wall0, cpu, wall;
    uint64_t proposed = 0, dropped = 0, sent[11] = {0}, recv[11] = {0};
    uint64_t d_range = 0, d_conflict = 0, d_other = 0;
    replica_stats st;
    double msgs_s, blocks_s;

    setup(n, mode);
    cpu0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
    wall0 = seconds(CLOCK_MONOTONIC);
    for (;;) {
        uint64_t seq;
        while (proposed < blocks && replica_can_propose(B.r[0], &seq)) {
            size_t len;
            uint8_t *batch = make_batch(seq, &len);
            int ok = replica_propose(B.r[0], seq, batch, len);
            free(batch);
            if (!ok) {
                fprintf(stderr, "bench_consensus: replica_propose refused seq %" PRIu64 "\n", seq);
                B.failed = 1;
                break;
            }
            proposed++;
            drain(0);
        }
        if (B.q_len == 0)
            break;
        {
            delivery d = B.q[B.q_head];
            B.q_head = (B.q_head + 1) % B.q_cap;
            B.q_len--;
            replica_on_message(B.r[d.to], d.from, d.buf->data, d.buf->len);
            B.messages++;
            B.bytes_delivered += d.buf->len;
            release(d.buf);
            drain(d.to);
        }
    }
    cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    wall = seconds(CLOCK_MONOTONIC) - wall0;

    for (uint32_t i = 0; i < n; i++) {
        replica_get_stats(B.r[i], &st);
        dropped += st.dropped_malformed + st.dropped_bad_signature + st.dropped_wrong_sender +
                   st.dropped_wrong_chain + st.dropped_out_of_range + st.dropped_wrong_role +
                   st.dropped_conflicting + st.dropped_bad_digest + st.dropped_bad_proof + st.rejected_batches;
        d_range += st.dropped_out_of_range;
        d_conflict += st.dropped_conflicting;
        for (int k = 0; k < 11; k++) {
            sent[k] += st.by_kind_sent[k];
            recv[k] += st.by_kind_received[k];
        }
        if (replica_last_executed(B.r[i]) != blocks || B.executed[i] != blocks) {
            char desc[1024];
            replica_describe(B.r[i], desc, sizeof desc);
            fprintf(stderr, "bench_consensus: replica %u executed %" PRIu64 " of %" PRIu64 ": %s\n", i,
                    B.executed[i], blocks, desc);
            B.failed = 1;
        }
    }
    msgs_s = (double)B.messages / cpu;
    blocks_s = (double)blocks / cpu;
    printf("n=%u, %s signatures: %" PRIu64 " blocks of %d txs (%d bytes each), %.3f s CPU (%.3f s wall)\n", n,
           mode_name(mode), blocks, TXS_PER_BATCH, TX_LEN, cpu, wall);
    printf("  committed blocks/s:              %10.0f\n", blocks_s);
    printf("  protocol messages processed/s:   %10.0f  (%" PRIu64 " replica_on_message calls, %.1f per block)\n",
           msgs_s, B.messages, (double)B.messages / (double)blocks);
    printf("  messages/s per core:             %10.0f  (single-threaded: the same figure)\n", msgs_s);
    printf("  signatures made %" PRIu64 ", verified %" PRIu64 " (%.0f verifications/s); "
           "PERSIST_META %" PRIu64 " (avg %.0f bytes); delivered %.1f MB; dropped %" PRIu64 "\n",
           B.signs, B.verifies, (double)B.verifies / cpu, B.metas,
           B.metas ? (double)B.meta_bytes / (double)B.metas : 0.0, (double)B.bytes_delivered / 1e6, dropped);
    d_other = dropped - d_range - d_conflict;
    printf("  received per block: pre-prepare %.2f prepare %.2f commit %.2f checkpoint %.2f state-request %.2f; "
           "dropped: out of range %" PRIu64 ", conflicting %" PRIu64 ", other %" PRIu64 "\n",
           (double)recv[EVOTE__V1__KIND__KIND_PRE_PREPARE] / (double)blocks,
           (double)recv[EVOTE__V1__KIND__KIND_PREPARE] / (double)blocks,
           (double)recv[EVOTE__V1__KIND__KIND_COMMIT] / (double)blocks,
           (double)recv[EVOTE__V1__KIND__KIND_CHECKPOINT] / (double)blocks,
           (double)recv[EVOTE__V1__KIND__KIND_STATE_REQUEST] / (double)blocks, d_range, d_conflict, d_other);
    (void)sent;
    if (mode != SIG_SCHNORR)
        printf("  target >= %.0f messages/s per core: %s\n", TARGET_MSGS_PER_S,
               msgs_s >= TARGET_MSGS_PER_S ? "met" : "NOT MET");
    teardown();
    return B.failed == 0;
}

int main(int argc, char **argv)
{
    uint64_t blocks4 = 20000, blocks7 = 10000, real = 300;
    const char *only = NULL;
    int ok = 1;

    setvbuf(stdout, NULL, _IOLBF, 0); /* each figure shows as soon as it is known */
    for (int i = 1; i < argc; i += 2) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val != NULL && strcmp(argv[i], "--blocks4") == 0)
            blocks4 = strtoull(val, NULL, 10);
        else if (val != NULL && strcmp(argv[i], "--blocks7") == 0)
            blocks7 = strtoull(val, NULL, 10);
        else if (val != NULL && strcmp(argv[i], "--real") == 0)
            real = strtoull(val, NULL, 10);
        else if (val != NULL && strcmp(argv[i], "--only") == 0)
            only = val;
        else {
            fprintf(stderr, "usage: bench_consensus [--blocks4 N] [--blocks7 N] [--real N] "
                            "[--only fake-hash|fake-const|schnorr]\n");
            return 2;
        }
    }
    printf("bench_consensus: PBFT replicas in one process, FIFO delivery, no delays; "
           "primary proposes %d txs per block; default config (K=64, window 128, 4 in flight)\n",
           TXS_PER_BATCH);
    for (sig_mode m = SIG_FAKE_HASH; m <= SIG_FAKE_CONST; m++) {
        if (only != NULL && strcmp(only, mode_name(m)) != 0)
            continue;
        if (blocks4 > 0)
            ok &= run(4, m, blocks4);
        if (blocks7 > 0)
            ok &= run(7, m, blocks7);
    }
    if ((only == NULL || strcmp(only, "schnorr") == 0) && real > 0)
        ok &= run(4, SIG_SCHNORR, real);
    if (!ok) {
        fprintf(stderr, "bench_consensus: a run did not complete correctly\n");
        return 1;
    }
    return 0;
}
