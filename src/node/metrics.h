/* What evoted tells a monitoring system: a snapshot of counters and gauges
 * (a plain struct the event loop fills and publishes), and two pure
 * functions of it — the Prometheus text exposition (format 0.0.4) served at
 * /metrics and the health verdict served at /healthz. Nothing here does I/O
 * or reads the node's internals: src/node/http.c serves a copy of the
 * snapshot from its own thread (README, "Health and metrics"). */
#ifndef EVOTE_NODE_METRICS_H
#define EVOTE_NODE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "evote.pb-c.h"

#define METRICS_KINDS 16   /* envelope kinds (evote.v1.Kind); 0 = unreadable message */
#define METRICS_RESULTS 32 /* transaction result codes (evote.v1.TxResult) */

/* The event loop stalls when its snapshot is older than this (it publishes
 * at least once a second, even when idle). */
#define METRICS_STALL_MS 10000

typedef struct {
    /* Identity, fixed at start. */
    char name[65];
    char chain[65];
    uint32_t self, n, f;
    uint64_t start_mono_ms;          /* when the node started (CLOCK_MONOTONIC) */
    uint64_t start_unix_ms;

    /* Consensus (event loop). */
    uint64_t height;                 /* last executed block */
    uint64_t view, primary, stable_checkpoint;
    uint64_t view_changes;           /* views entered since start */
    uint64_t terms_ended;            /* views left because the primary's term ended (rotation) */
    uint64_t blocks_committed;       /* blocks executed and stored since start */
    uint64_t txs_committed;          /* transactions in those blocks */
    uint64_t ballots_committed;      /* ballots among them that executed with result OK */
    uint64_t committed_by_result[METRICS_RESULTS]; /* those transactions by result code */
    uint64_t last_commit_unix_ms;    /* 0: nothing committed since start */
    uint64_t msgs_received[METRICS_KINDS]; /* peer messages by envelope kind */
    uint64_t msgs_sent[METRICS_KINDS];     /* per destination: a broadcast counts n-1 */

    /* Mempool (copied from mempool_stats, plus what node.c refuses itself). */
    uint64_t mempool_pending, mempool_capacity, verify_queue;
    uint64_t mempool_bytes, mempool_max_bytes;
    uint64_t mempool_submitted, mempool_accepted;
    uint64_t mempool_verified;       /* transactions checked, on the workers or inline (a copy already
                                        known is not checked again) */
    uint64_t rejected_by_result[METRICS_RESULTS]; /* verification refusals by the code a client is told */
    uint64_t rejected_busy;          /* mempool full */
    uint64_t rejected_duplicate;     /* already pending: not queued twice (the client is told OK) */
    uint64_t rejected_too_large;     /* empty or over 1 MiB, refused before the mempool */
    uint64_t rejected_nomem;
    uint64_t verify_timed[2], verify_timed_ns[2]; /* sampled verifications: [0] other, [1] ballots */

    /* Client API. */
    uint64_t client_reads_limited;   /* reads answered BUSY: their address was over client_read_rate */
    uint64_t client_refusals_limited; /* transactions answered BUSY unchecked: their address was over
                                         client_refusal_rate */
    uint64_t second_looks;           /* client transactions the state refused for now, held for a second look */
    uint64_t mempool_swept;          /* pending transactions the state came to refuse for good, dropped */

    /* Blocks executed that came by state transfer (catching up), and every
     * executed ballot by where execution found its proofs' verdict: [0]
     * the mempool's workers (a client's, one passed on, a proposal being
     * validated), [1] checked on every core just before executing a
     * fetched block (fetched_check), [2] none: execution checks the proofs
     * itself, on the event loop, if the rules get that far. */
    uint64_t fetched_blocks;
    uint64_t ballot_verdicts[3];

    /* Durable writes to the chain store, made on the event loop (nothing
     * else runs meanwhile): [0] a block with everything it causes, [1] the
     * consensus state (prepared batches, view) before the messages that
     * depend on it. How many, and their wall-clock time. */
    uint64_t store_writes[2];
    uint64_t store_write_ns[2];

    /* Peers. */
    uint32_t peers_connected;
    uint64_t peer_dropped_queue_full, peer_dropped_oversized;
    uint64_t peer_queued_bytes;      /* waiting in the queues to the other validators */

    /* Chain store. */
    int store_ok;                    /* 0: the store's size could not be read */
    uint64_t store_used_bytes, store_map_bytes, store_file_bytes;

    /* Process, read by the HTTP side at scrape time (have_rss 0: unknown). */
    int have_rss;
    uint64_t rss_bytes, rss_anon_bytes;

    uint64_t published_mono_ms;      /* when the event loop published this; 0 = never */
} metrics_snapshot;

/* The health verdict at now_mono_ms: healthy when the snapshot was
 * published (the node started), is fresher than METRICS_STALL_MS, the store
 * is readable and at least 2f peers are connected. Out: buf, one line
 * without a newline: "ok height=H view=V peers=P/N" or "unhealthy: REASON".
 * Returns: 1 healthy, 0 not. */
int metrics_health(const metrics_snapshot *s, uint64_t now_mono_ms, char *buf, size_t len);

/* The Prometheus text exposition (version 0.0.4) of s at now_mono_ms: every
 * metric with # HELP and # TYPE, names prefixed evote_.
 * Returns: the text (malloc'ed, NUL-terminated, caller frees), its length in
 * *len; NULL when out of memory. */
char *metrics_render(const metrics_snapshot *s, uint64_t now_mono_ms, size_t *len);

/* Writes v as a Prometheus label value (escapes \, " and newline) into buf.
 * Returns: 1, or 0 when it does not fit (buf then holds a truncation). */
int metrics_escape_label(const char *v, char *buf, size_t len);

/* Counting helpers for the event loop (cheap: they read a few bytes). */

/* The envelope kind of a serialized PeerMessage (0 when unreadable). */
int metrics_peer_message_kind(const uint8_t *bytes, size_t len);

/* Counts one executed block: its transactions (serialized envelopes), their
 * result codes, and the ballots among them with result OK. */
void metrics_note_block(metrics_snapshot *s, const ProtobufCBinaryData *txs, size_t n_txs,
                        const Evote__V1__TxResult *results, size_t n_results, uint64_t now_unix_ms);

#endif
