/* The metrics snapshot turned into text: Prometheus exposition and the
 * /healthz verdict (pure functions of the struct), plus the two cheap
 * protobuf peeks the event loop uses to count messages and ballots. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#ifndef EVOTE_VERSION
#define EVOTE_VERSION "unknown"
#endif

/* ------------------------------------------------------------ health */

int metrics_health(const metrics_snapshot *s, uint64_t now_mono_ms, char *buf, size_t len)
{
    uint32_t need = 2 * s->f;

    if (s->published_mono_ms == 0) {
        snprintf(buf, len, "unhealthy: starting (the event loop has not reported yet)");
        return 0;
    }
    if (now_mono_ms > s->published_mono_ms && now_mono_ms - s->published_mono_ms > METRICS_STALL_MS) {
        snprintf(buf, len, "unhealthy: event loop stalled for %" PRIu64 " s",
                 (now_mono_ms - s->published_mono_ms) / 1000);
        return 0;
    }
    if (!s->store_ok) {
        snprintf(buf, len, "unhealthy: the chain store cannot be read (data directory removed or damaged?)");
        return 0;
    }
    if (s->peers_connected < need) {
        snprintf(buf, len, "unhealthy: connected to %" PRIu32 " of %" PRIu32 " peers (need %" PRIu32 ")",
                 s->peers_connected, s->n > 0 ? s->n - 1 : 0, need);
        return 0;
    }
    snprintf(buf, len, "ok height=%" PRIu64 " view=%" PRIu64 " peers=%" PRIu32 "/%" PRIu32, s->height, s->view,
             s->peers_connected, s->n > 0 ? s->n - 1 : 0);
    return 1;
}

/* ------------------------------------------------------------ render */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
__attribute__((format(printf, 2, 3)))
static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->oom)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n;
        char *p = realloc(t->p, cap);
        if (p == NULL) {
            t->oom = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
}

static void family(text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(text *t, const char *name, const char *help, uint64_t v)
{
    family(t, name, "gauge", help);
    put(t, "%s %" PRIu64 "\n", name, v);
}

static void counter(text *t, const char *name, const char *help, uint64_t v)
{
    family(t, name, "counter", help);
    put(t, "%s %" PRIu64 "\n", name, v);
}

int metrics_escape_label(const char *v, char *buf, size_t len)
{
    size_t k = 0;
    if (len == 0)
        return 0;
    for (; *v; v++) {
        const char *rep = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
        size_t need = rep ? 2 : 1;
        if (k + need >= len) {
            buf[k] = '\0';
            return 0;
        }
        if (rep) {
            buf[k++] = rep[0];
            buf[k++] = rep[1];
        } else {
            buf[k++] = *v;
        }
    }
    buf[k] = '\0';
    return 1;
}

/* "KIND_PRE_PREPARE" -> "pre_prepare" (prefix dropped, lower case); NULL
 * for a value the schema does not name. */
static const char *enum_label(const ProtobufCEnumDescriptor *d, int value, const char *prefix, char *buf,
                              size_t len)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, value);
    const char *name;
    size_t k = 0, pl = strlen(prefix);

    if (ev == NULL || len == 0)
        return NULL;
    name = ev->name;
    if (strncmp(name, prefix, pl) == 0)
        name += pl;
    for (; *name && k + 1 < len; name++)
        buf[k++] = (*name >= 'A' && *name <= 'Z') ? (char)(*name - 'A' + 'a') : *name;
    buf[k] = '\0';
    return buf;
}

static void messages(text *t, const char *name, const char *help, const uint64_t *by_kind)
{
    char label[64];
    family(t, name, "counter", help);
    for (int k = 0; k < METRICS_KINDS; k++) {
        /* Every consensus kind always appears (rate() needs the zero);
         * transactions and unreadable messages only once seen. */
        int always = k >= EVOTE__V1__KIND__KIND_PRE_PREPARE && k <= EVOTE__V1__KIND__KIND_SUSPECT;
        const char *l = k == 0 ? "unreadable" : enum_label(&evote__v1__kind__descriptor, k, "KIND_", label, sizeof label);
        if (l == NULL)
            l = "unknown";
        if (always || by_kind[k] > 0)
            put(t, "%s{type=\"%s\"} %" PRIu64 "\n", name, l, by_kind[k]);
    }
}

static const char *result_label(int r, char *buf, size_t len)
{
    const char *l = enum_label(&evote__v1__tx_result__descriptor, r, "TX_RESULT_", buf, len);
    if (l == NULL)
        snprintf(buf, len, "code_%d", r);
    return buf;
}

char *metrics_render(const metrics_snapshot *s, uint64_t now_mono_ms, size_t *len)
{
    text t = {malloc(8192), 0, 8192, 0};
    char name[140], chain[140], label[64], health[160];
    int healthy = metrics_health(s, now_mono_ms, health, sizeof health);

    if (t.p == NULL)
        return NULL;
    t.p[0] = '\0';
    metrics_escape_label(s->name, name, sizeof name);
    metrics_escape_label(s->chain, chain, sizeof chain);

    family(&t, "evote_build_info", "gauge", "Always 1; labels: evote version, this validator's name, the chain name.");
    put(&t, "evote_build_info{version=\"" EVOTE_VERSION "\",node=\"%s\",chain=\"%s\"} 1\n", name, chain);
    gauge(&t, "evote_healthy", "1 when /healthz answers 200 (see README, Health and metrics), else 0.",
          (uint64_t)healthy);
    gauge(&t, "evote_validator_index", "This validator's index in the genesis (0..n-1).", s->self);
    gauge(&t, "evote_validators", "Validators in the genesis (n = 3f+1).", s->n);
    gauge(&t, "evote_fault_tolerance", "Faulty validators tolerated (f).", s->f);

    gauge(&t, "evote_height", "Height of the last block this validator executed and stored.", s->height);
    gauge(&t, "evote_view", "Current PBFT view.", s->view);
    gauge(&t, "evote_primary", "Validator index of the current view's primary (view mod n).", s->primary);
    gauge(&t, "evote_is_primary", "1 when this validator is the current primary, else 0.",
          (uint64_t)(s->primary == s->self));
    gauge(&t, "evote_stable_checkpoint", "Sequence number of the last stable checkpoint.", s->stable_checkpoint);
    counter(&t, "evote_view_changes_total", "Views this validator entered since it started.", s->view_changes);
    counter(&t, "evote_primary_terms_ended_total",
            "Views this validator left because the primary's term ended (primary_term: routine rotation).",
            s->terms_ended);
    counter(&t, "evote_blocks_committed_total", "Blocks executed and stored since start.", s->blocks_committed);
    counter(&t, "evote_committed_transactions_total", "Transactions in the blocks committed since start.",
            s->txs_committed);
    family(&t, "evote_committed_transaction_results_total", "counter",
           "Transactions committed since start, by the result code recorded in the block.");
    for (int r = 0; r < METRICS_RESULTS; r++)
        if (r == EVOTE__V1__TX_RESULT__TX_RESULT_OK || s->committed_by_result[r] > 0)
            put(&t, "evote_committed_transaction_results_total{result=\"%s\"} %" PRIu64 "\n",
                result_label(r, label, sizeof label), s->committed_by_result[r]);
    counter(&t, "evote_committed_ballots_total", "Ballots committed with result OK since start.",
            s->ballots_committed);
    family(&t, "evote_last_commit_timestamp_seconds", "gauge",
           "Unix time when this validator last committed a block (0: none since start).");
    put(&t, "evote_last_commit_timestamp_seconds %.3f\n", (double)s->last_commit_unix_ms / 1000.0);

    gauge(&t, "evote_mempool_transactions", "Verified transactions waiting for a block.", s->mempool_pending);
    gauge(&t, "evote_mempool_capacity", "Transactions the mempool holds at most (queued + pending).",
          s->mempool_capacity);
    gauge(&t, "evote_mempool_bytes", "Transaction bytes the mempool holds (queued, being verified, pending).",
          s->mempool_bytes);
    gauge(&t, "evote_mempool_max_bytes", "Transaction bytes the mempool holds at most (mempool_max_mb).",
          s->mempool_max_bytes);
    gauge(&t, "evote_verification_queue_depth",
          "Transactions waiting for (or in) signature and proof verification on the worker threads.",
          s->verify_queue);
    counter(&t, "evote_mempool_submitted_total",
            "Transactions offered to the mempool (from clients and forwarded by peers).", s->mempool_submitted);
    counter(&t, "evote_mempool_accepted_total", "Transactions that passed verification and entered the mempool.",
            s->mempool_accepted);
    counter(&t, "evote_mempool_verified_total",
            "Transactions this validator decoded and checked: on the verify workers (signature, a "
            "ballot's proofs), or on the event loop for a proposal the workers could not take; a copy "
            "already pending or just committed is not checked again.",
            s->mempool_verified);
    family(&t, "evote_verification_sampled_total", "counter",
           "Verifications timed on their worker's CPU clock (one in 16), by kind: ballot, or any other tx.");
    put(&t, "evote_verification_sampled_total{kind=\"tx\"} %" PRIu64 "\n", s->verify_timed[0]);
    put(&t, "evote_verification_sampled_total{kind=\"ballot\"} %" PRIu64 "\n", s->verify_timed[1]);
    family(&t, "evote_verification_sampled_cpu_seconds_total", "counter",
           "Worker CPU time of those verifications (decode, signature, a ballot's proofs), by kind.");
    put(&t, "evote_verification_sampled_cpu_seconds_total{kind=\"tx\"} %.6f\n", (double)s->verify_timed_ns[0] / 1e9);
    put(&t, "evote_verification_sampled_cpu_seconds_total{kind=\"ballot\"} %.6f\n",
        (double)s->verify_timed_ns[1] / 1e9);
    family(&t, "evote_mempool_rejected_total", "counter",
           "Transactions refused before a block, by reason (ballot reasons: the ballot's result code).");
    {
        static const int always[] = {EVOTE__V1__TX_RESULT__TX_RESULT_BAD_SIGNATURE,
                                     EVOTE__V1__TX_RESULT__TX_RESULT_WRONG_CHAIN,
                                     EVOTE__V1__TX_RESULT__TX_RESULT_MALFORMED};
        for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
            put(&t, "evote_mempool_rejected_total{reason=\"%s\"} %" PRIu64 "\n",
                result_label(always[i], label, sizeof label), s->rejected_by_result[always[i]]);
        put(&t, "evote_mempool_rejected_total{reason=\"duplicate\"} %" PRIu64 "\n",
            s->rejected_duplicate + s->rejected_by_result[EVOTE__V1__TX_RESULT__TX_RESULT_DUPLICATE]);
        put(&t, "evote_mempool_rejected_total{reason=\"busy\"} %" PRIu64 "\n", s->rejected_busy);
        put(&t, "evote_mempool_rejected_total{reason=\"too_large\"} %" PRIu64 "\n", s->rejected_too_large);
        put(&t, "evote_mempool_rejected_total{reason=\"out_of_memory\"} %" PRIu64 "\n", s->rejected_nomem);
        for (int r = 0; r < METRICS_RESULTS; r++) {
            int listed = r == EVOTE__V1__TX_RESULT__TX_RESULT_DUPLICATE;
            for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
                listed |= r == always[i];
            if (!listed && s->rejected_by_result[r] > 0)
                put(&t, "evote_mempool_rejected_total{reason=\"%s\"} %" PRIu64 "\n",
                    result_label(r, label, sizeof label), s->rejected_by_result[r]);
        }
    }

    counter(&t, "evote_client_reads_limited_total",
            "Client API reads answered BUSY because their address asked more than client_read_rate allows.",
            s->client_reads_limited);
    counter(&t, "evote_client_refusals_limited_total",
            "Client transactions answered BUSY unchecked because their address got more refused than "
            "client_refusal_rate allows.",
            s->client_refusals_limited);
    counter(&t, "evote_mempool_second_looks_total",
            "Client transactions the state here refused for a reason a block on its way could change, "
            "held for a second look before the answer.",
            s->second_looks);
    counter(&t, "evote_mempool_swept_total",
            "Pending transactions dropped because the state came to refuse them for good (passed on while "
            "this validator's chain was behind); also counted in evote_mempool_rejected_total.",
            s->mempool_swept);
    counter(&t, "evote_fetched_blocks_total",
            "Blocks executed that came from other validators by state transfer (catching up).",
            s->fetched_blocks);
    family(&t, "evote_ballot_verdicts_total", "counter",
           "Ballots executed, by where their proofs' verdict came from: the mempool's workers (workers), "
           "checked on every core just before executing a block fetched by state transfer (catch_up), or "
           "none (execution checked them itself on one core, or refused them before their proofs).");
    put(&t, "evote_ballot_verdicts_total{source=\"workers\"} %" PRIu64 "\n", s->ballot_verdicts[0]);
    put(&t, "evote_ballot_verdicts_total{source=\"catch_up\"} %" PRIu64 "\n", s->ballot_verdicts[1]);
    put(&t, "evote_ballot_verdicts_total{source=\"none\"} %" PRIu64 "\n", s->ballot_verdicts[2]);
    family(&t, "evote_store_writes_total", "counter",
           "Durable writes to the chain store (each one LMDB transaction and its fsync), by what they "
           "hold: a block with its certificate, transaction index and state changes (block), or the "
           "consensus state written before the messages that depend on it (consensus).");
    put(&t, "evote_store_writes_total{kind=\"block\"} %" PRIu64 "\n", s->store_writes[0]);
    put(&t, "evote_store_writes_total{kind=\"consensus\"} %" PRIu64 "\n", s->store_writes[1]);
    family(&t, "evote_store_write_seconds_total", "counter",
           "Wall-clock time of those writes, by kind. The event loop does nothing else meanwhile: a "
           "slow disk shows here first (divide by evote_store_writes_total for the mean).");
    put(&t, "evote_store_write_seconds_total{kind=\"block\"} %.6f\n", (double)s->store_write_ns[0] / 1e9);
    put(&t, "evote_store_write_seconds_total{kind=\"consensus\"} %.6f\n", (double)s->store_write_ns[1] / 1e9);
    gauge(&t, "evote_peers_connected", "Other validators this one is connected to (authenticated).",
          s->peers_connected);
    family(&t, "evote_peer_messages_dropped_total", "counter", "Messages to peers dropped before sending, by reason.");
    put(&t, "evote_peer_messages_dropped_total{reason=\"queue_full\"} %" PRIu64 "\n", s->peer_dropped_queue_full);
    put(&t, "evote_peer_messages_dropped_total{reason=\"oversized\"} %" PRIu64 "\n", s->peer_dropped_oversized);
    gauge(&t, "evote_peer_queued_bytes",
          "Bytes waiting in the queues to the other validators (a slow or absent one holds them).",
          s->peer_queued_bytes);
    messages(&t, "evote_consensus_messages_received_total",
             "Messages received from validators, by type (request_batch: forwarded transactions).",
             s->msgs_received);
    messages(&t, "evote_consensus_messages_sent_total",
             "Messages sent to validators, by type; a broadcast counts once per destination.", s->msgs_sent);

    gauge(&t, "evote_store_used_bytes", "Bytes of the LMDB chain store in use (pages up to the last used one).",
          s->store_used_bytes);
    gauge(&t, "evote_store_map_size_bytes", "Current LMDB map size (grows with the chain).", s->store_map_bytes);
    gauge(&t, "evote_store_file_size_bytes", "Size of the chain store file data.mdb.", s->store_file_bytes);

    if (s->have_rss) {
        gauge(&t, "evote_process_resident_memory_bytes", "Resident set size of evoted (VmRSS).", s->rss_bytes);
        gauge(&t, "evote_process_resident_anon_memory_bytes", "Anonymous resident memory of evoted (RssAnon).",
              s->rss_anon_bytes);
    }
    family(&t, "evote_process_start_time_seconds", "gauge", "Unix time when evoted started.");
    put(&t, "evote_process_start_time_seconds %.3f\n", (double)s->start_unix_ms / 1000.0);
    family(&t, "evote_uptime_seconds", "gauge", "Seconds since evoted started.");
    put(&t, "evote_uptime_seconds %.3f\n",
        (double)(now_mono_ms > s->start_mono_ms ? now_mono_ms - s->start_mono_ms : 0) / 1000.0);
    family(&t, "evote_metrics_snapshot_age_seconds", "gauge",
           "Age of the event loop's last snapshot (it publishes every 100 ms to 1 s; large: stalled).");
    put(&t, "evote_metrics_snapshot_age_seconds %.3f\n",
        (double)(s->published_mono_ms && now_mono_ms > s->published_mono_ms ? now_mono_ms - s->published_mono_ms
                                                                             : 0) /
            1000.0);

    if (t.oom) {
        free(t.p);
        return NULL;
    }
    *len = t.len;
    return t.p;
}

/* ------------------------------------------------------ protobuf peeks */

static const uint8_t *varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; p < end && shift < 64; shift += 7, p++) {
        *v |= (uint64_t)(*p & 0x7f) << shift;
        if ((*p & 0x80) == 0)
            return p + 1;
    }
    return NULL;
}

/* Finds field `field` of a message. Out: *val (varint) or *sub, *sub_len
 * (length-delimited). Returns: its wire type, or -1 when absent/garbled. */
static int find_field(const uint8_t *p, size_t len, uint32_t field, uint64_t *val, const uint8_t **sub,
                      size_t *sub_len)
{
    const uint8_t *end = p + len;
    while (p != NULL && p < end) {
        uint64_t tag, v;
        if ((p = varint(p, end, &tag)) == NULL)
            return -1;
        switch (tag & 7) {
        case 0:
            if ((p = varint(p, end, &v)) == NULL)
                return -1;
            if ((tag >> 3) == field) {
                *val = v;
                return 0;
            }
            break;
        case 1:
            if ((size_t)(end - p) < 8)
                return -1;
            p += 8;
            break;
        case 2:
            if ((p = varint(p, end, &v)) == NULL || v > (uint64_t)(end - p))
                return -1;
            if ((tag >> 3) == field) {
                *sub = p;
                *sub_len = (size_t)v;
                return 2;
            }
            p += v;
            break;
        case 5:
            if ((size_t)(end - p) < 4)
                return -1;
            p += 4;
            break;
        default:
            return -1;
        }
    }
    return -1;
}

int metrics_peer_message_kind(const uint8_t *bytes, size_t len)
{
    const uint8_t *env;
    size_t env_len;
    uint64_t kind = 0, unused;

    /* PeerMessage.envelope = 1; Envelope.kind = 1 */
    if (bytes == NULL || find_field(bytes, len, 1, &unused, &env, &env_len) != 2)
        return 0;
    if (find_field(env, env_len, 1, &kind, &env, &env_len) != 0 || kind >= METRICS_KINDS)
        return 0;
    return (int)kind;
}

static int tx_is_ballot(const uint8_t *bytes, size_t len)
{
    const uint8_t *body, *ballot;
    size_t body_len, ballot_len;
    uint64_t unused;

    /* Envelope.body = 2; TxBody.ballot = 14 */
    return find_field(bytes, len, 2, &unused, &body, &body_len) == 2 &&
           find_field(body, body_len, EVOTE__V1__TX_BODY__PAYLOAD_BALLOT, &unused, &ballot, &ballot_len) == 2;
}

void metrics_note_block(metrics_snapshot *s, const ProtobufCBinaryData *txs, size_t n_txs,
                        const Evote__V1__TxResult *results, size_t n_results, uint64_t now_unix_ms)
{
    s->blocks_committed++;
    s->txs_committed += n_txs;
    s->last_commit_unix_ms = now_unix_ms;
    for (size_t i = 0; i < n_results; i++) {
        if ((unsigned)results[i] < METRICS_RESULTS)
            s->committed_by_result[results[i]]++;
        if (i < n_txs && results[i] == EVOTE__V1__TX_RESULT__TX_RESULT_OK && tx_is_ballot(txs[i].data, txs[i].len))
            s->ballots_committed++;
    }
}
