/* tests/sim: n PBFT replicas (consensus/) in one process over a simulated
 * network and clock, all driven by one seed.
 *
 * One run: clients submit requests for a while; meanwhile the network loses,
 * delays, duplicates and reorders messages, partitions form and heal,
 * replicas crash (possibly in the middle of carrying out an event's actions)
 * and restart from what they persisted, and up to f replicas are Byzantine
 * (equivocating primary, conflicting votes, forged signatures, replays,
 * silence, garbage, a NEW-VIEW with a bad O-set, a primary that stalls
 * after proposing, one that never proposes); proposals may be checked "on
 * worker threads", their verdict coming later. At the heal time every
 * fault stops. Checked throughout: SAFETY — no two honest replicas execute
 * different batches at one seq, and a replica's executed blocks survive its
 * restarts. Checked at the end: LIVENESS — every request was executed by
 * every honest replica within a bounded simulated time after healing.
 *
 * --scenario runs a fixed plan instead (plan_scenario: a slow but honest
 * cluster, a silent / stalling / non-proposing primary, restarts under
 * load, a laggard on an idle cluster), with its own checks on top
 * (scenario_check: how many views, how soon the primary was replaced,
 * whether all end in one view, how soon all requests executed).
 *
 *   sim [--n N] [--seeds FIRST:COUNT] [--scenario NAME|all] [--real-crypto] [--verbose]
 *   SIM_SEED=s   run that one seed with its trace
 *   SIM_LONG=k   run k seeds (from a random start, printed)
 *
 * A failure prints the seed, the fault plan and the last events; re-running
 * the seed reproduces the run exactly (no wall clock, no global randomness). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus.pb-c.h"
#include "crypto.h"
#include "evote.pb-c.h"
#include "replica.h"

#define MAXN 16
#define MAX_REQ 4096
/* The simulated replicas' timers (node_boot). */
#define SIM_TIMEOUT_MS 400
#define SIM_RETRANSMIT_MS 150

/* ------------------------------------------------------------ randomness */

static uint64_t rng_state;
static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint64_t rnd_below(uint64_t n) { return n ? rnd() % n : 0; }
static int chance(double p) { return (double)(rnd() >> 11) / (double)(1ull << 53) < p; }

/* ----------------------------------------------------------------- trace */

#define TRACE_LINES 400
static char trace_buf[TRACE_LINES][200];
static size_t trace_next;
static int verbose;
static uint64_t now_ms;

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((format(printf, 1, 2)))
static void trace(const char *fmt, ...)
{
    va_list ap;
    char *line = trace_buf[trace_next++ % TRACE_LINES];
    int k = snprintf(line, 200, "%8" PRIu64 " ", now_ms);
    va_start(ap, fmt);
    vsnprintf(line + k, (size_t)(200 - k), fmt, ap);
    va_end(ap);
    if (verbose)
        printf("%s\n", line);
}

static void trace_dump(void)
{
    size_t start = trace_next > TRACE_LINES ? trace_next - TRACE_LINES : 0;
    for (size_t i = start; i < trace_next; i++)
        fprintf(stderr, "  %s\n", trace_buf[i % TRACE_LINES]);
}

/* ------------------------------------------------------------ the world */

typedef enum {
    BYZ_NONE = 0,
    BYZ_EQUIVOCATE,   /* as primary: different PRE-PREPAREs to different replicas */
    BYZ_CONFLICT,     /* conflicting PREPAREs/COMMITs to different replicas */
    BYZ_FORGE,        /* messages with bad signatures or claiming to be others */
    BYZ_REPLAY,       /* replays old messages of anyone */
    BYZ_SILENT,       /* receives, never sends (a silent primary) */
    BYZ_BAD_NEW_VIEW, /* as new primary: a NEW-VIEW with a wrong O-set */
    BYZ_GARBAGE,      /* random bytes and truncated messages */
    BYZ_STALL,        /* from W.stall_at: PRE-PREPAREs to only 2f backups, no COMMIT, no
                         blocks served (proposes, but nothing it proposes can commit) */
    BYZ_IGNORE,       /* never proposes, otherwise honest (votes, checkpoints: alive,
                         but ignores the requests) */
    BYZ_CENSOR,       /* as primary: proposes, but never a request whose number is a
                         multiple of 3 (commits the others, so no timer runs out) */
    BYZ_KINDS
} byz_kind;

static const char *byz_name[] = {"none",   "equivocate", "conflict",     "forge", "replay",
                                 "silent", "bad-new-view", "garbage",    "stall", "ignore",
                                 "censor"};

/* Scenarios: a fixed fault plan (the seed still drives delays and
 * requests) with its own check, on top of safety and liveness. */
typedef enum {
    SC_RANDOM = 0,      /* the random fault plan */
    SC_SLOW,            /* every message (and the check of every proposal) slower than the base
                           timeout for a long stretch: few view changes */
    SC_SILENT,          /* the first primary never sends anything: a view change within a bound */
    SC_STALL,           /* the first primary stalls after a while (BYZ_STALL): idem */
    SC_IGNORE,          /* the first primary never proposes: idem */
    SC_RESTART,         /* a backup crashes and restarts under load: nobody changes view */
    SC_RESTART_PRIMARY, /* the primary crashes and restarts under load: all end in one view */
    SC_IDLE_LAGGARD,    /* a backup cut off, idle, while the others commit requests it never
                           hears of; healed on an idle cluster: it must catch up anyway */
    SC_LONE_LAG,        /* everything sent to one backup takes 2..3 T for a long stretch under
                           load: its timer runs out alone, and nobody may change view */
    SC_CENSOR,          /* the first primary leaves a third of the requests out: with primary
                           rotation, each waits one term at most; nobody suspects anyone */
    SC_DEAD_TURN,       /* rotation with a backup down for good: its turns are skipped after
                           T/4, not waited for T */
    SC_KINDS
} scenario_kind;

static const char *scenario_name[] = {"random",  "slow",    "silent",          "stall",
                                      "ignore",  "restart", "restart-primary", "idle-laggard",
                                      "lone-lag", "censor", "dead-turn"};

typedef struct {
    uint8_t *batch;
    size_t batch_len;
    uint8_t hash[32];
} stored_block;

typedef struct {
    replica *r;
    int alive;
    int byz;                 /* byz_kind */
    uint8_t secret[32];      /* the fake signature key */
    /* "Disk": what survives a crash. */
    stored_block *blocks;    /* [1..height] */
    uint8_t **certs;
    size_t *cert_lens;
    uint64_t height, cap;
    uint8_t *meta;
    size_t meta_len;
    uint8_t *new_view;       /* PERSIST_NEW_VIEW: the last one, on "disk" */
    size_t new_view_len;
    struct {                 /* PERSIST_BATCH: pending batches on "disk" */
        uint64_t seq;
        uint8_t digest[32];
        uint8_t *batch;
        size_t len;
    } pending[256];
    size_t n_pending;
    /* Timers: generation per timer id; an event fires only if current. */
    uint64_t timer_gen[4];
    /* Requests: what this replica's mempool has seen and proposed. */
    uint8_t proposed[MAX_REQ];
    uint8_t done[MAX_REQ];   /* requests in its chain (derived from blocks) */
    int crash_mid;           /* crash after this many actions of the next event (-1: no) */
    uint32_t incarnation;    /* boots so far: a verdict for an earlier process is void */
    uint64_t first_view_at;  /* when it first entered a view above 0 (0: never) */
    uint8_t unheard[MAX_REQ]; /* SC_IDLE_LAGGARD: submitted while it was cut off: not in its mempool */
} node;

typedef enum {
    EV_DELIVER = 1,
    EV_TIMER,
    EV_SUBMIT,
    EV_CRASH,
    EV_RESTART,
    EV_PARTITION,
    EV_HEAL,
    EV_RESTART_ALL,
    EV_VERDICT /* the embedder's (slow) check of a proposal is done: seq in gen, digest in bytes */
} ev_type;

typedef struct {
    uint64_t at, order;
    ev_type type;
    uint32_t to, from;
    uint32_t timer;
    uint64_t gen;
    uint8_t *bytes;
    size_t len;
} event;

static struct {
    uint32_t n, f;
    uint8_t chain_id[32];
    uint8_t pubkeys[MAXN][32];
    node nodes[MAXN];
    event *heap;
    size_t n_heap, cap_heap;
    uint64_t order;
    /* Network. */
    double loss, dup;
    uint32_t max_delay;
    uint32_t min_delay;  /* every delivery takes at least this (SC_SLOW) */
    uint32_t validate_ms; /* > 0: proposals are checked "on worker threads", taking up to this */
    uint64_t stall_at;   /* BYZ_STALL starts stalling then */
    uint32_t lag_to;     /* > 0: messages to replica lag_to - 1 take lag_ms..1.5 lag_ms more, */
    uint64_t lag_from, lag_until; /* sent in [lag_from, lag_until) (SC_LONE_LAG) */
    uint32_t lag_ms;
    int scenario;        /* scenario_kind */
    uint32_t term_checkpoints; /* replica_config.term_checkpoints of every replica */
    int fifo;            /* links keep order, as TCP does (the random plans reorder freely) */
    uint64_t link_last[MAXN][MAXN]; /* with fifo: the last delivery time on each link */
    uint64_t all_done_at; /* when every honest replica had executed every request (0: never) */
    int partition[MAXN]; /* side of each replica; messages cross only on one side */
    int faults_on;
    /* Requests. */
    uint32_t n_req;
    uint64_t req_nonce[MAX_REQ];
    uint8_t submitted[MAX_REQ];
    uint64_t submitted_at[MAX_REQ], executed_at[MAX_REQ]; /* executed_at: first honest replica */
    uint32_t sub_order[MAX_REQ], n_sub_order; /* requests in the order they were submitted (a mempool's FIFO) */
    /* Safety: the first digest executed at each seq. */
    uint8_t (*decided)[32];
    uint8_t *decided_set;
    uint64_t decided_cap;
    /* Replays: a pool of messages seen on the wire. */
    uint8_t *seen[64];
    size_t seen_len[64];
    size_t n_seen;
    int real_crypto;
    signing_key *real_key[MAXN];
    char failure[512];
    uint64_t messages;
} W;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
    va_list ap;
    if (W.failure[0])
        return;
    va_start(ap, fmt);
    vsnprintf(W.failure, sizeof W.failure, fmt, ap);
    va_end(ap);
    trace("FAILURE: %s", W.failure);
}

/* --------------------------------------------------------- event queue */

static int ev_less(const event *a, const event *b)
{
    return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static void push_event(event e)
{
    size_t i;
    if (W.n_heap == W.cap_heap) {
        W.cap_heap = W.cap_heap ? W.cap_heap * 2 : 1024;
        W.heap = realloc(W.heap, W.cap_heap * sizeof *W.heap);
        if (W.heap == NULL)
            abort();
    }
    e.order = W.order++;
    i = W.n_heap++;
    while (i > 0 && ev_less(&e, &W.heap[(i - 1) / 2])) {
        W.heap[i] = W.heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    W.heap[i] = e;
}

static int pop_event(event *out)
{
    event last;
    size_t i = 0;
    if (W.n_heap == 0)
        return 0;
    *out = W.heap[0];
    last = W.heap[--W.n_heap];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= W.n_heap)
            break;
        if (c + 1 < W.n_heap && ev_less(&W.heap[c + 1], &W.heap[c]))
            c++;
        if (!ev_less(&W.heap[c], &last))
            break;
        W.heap[i] = W.heap[c];
        i = c;
    }
    if (W.n_heap > 0)
        W.heap[i] = last;
    return 1;
}

/* ------------------------------------------------------------ fake crypto */

static void fake_sig(const uint8_t secret[32], const char *tag, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    uint8_t h[32], buf[64];
    crypto_tagged_hash(tag, msg, len, h);
    memcpy(buf, secret, 32);
    memcpy(buf + 32, h, 32);
    crypto_tagged_hash("sim/sig", buf, 64, sig);
    memcpy(sig + 32, h, 32);
}

static int sim_sign(void *ctx, const char *tag, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    node *nd = ctx;
    uint32_t id = (uint32_t)(nd - W.nodes);
    if (W.real_crypto)
        return signing_key_sign(W.real_key[id], tag, msg, len, sig) == CRYPTO_OK;
    fake_sig(nd->secret, tag, msg, len, sig);
    return 1;
}

static int sim_verify(void *ctx, const uint8_t pub[32], const char *tag, const uint8_t *msg, size_t len,
                      const uint8_t sig[64])
{
    uint8_t want[64];
    (void)ctx;
    if (W.real_crypto)
        return crypto_verify(pub, tag, msg, len, sig) == CRYPTO_OK;
    for (uint32_t i = 0; i < W.n; i++) {
        if (memcmp(W.pubkeys[i], pub, 32) == 0) {
            fake_sig(W.nodes[i].secret, tag, msg, len, want);
            return memcmp(want, sig, 64) == 0;
        }
    }
    return 0;
}

/* A batch is acceptable when it parses, is for this chain and seq, and every
 * request in it is one a client submitted. */
static int batch_ok(uint64_t seq, const uint8_t *batch, size_t len)
{
    Evote__V1__Batch *b = evote__v1__batch__unpack(NULL, len, batch);
    int ok;
    if (b == NULL)
        return 0;
    ok = b->seq == seq && b->chain_id.len == 32 && memcmp(b->chain_id.data, W.chain_id, 32) == 0;
    for (size_t i = 0; ok && i < b->n_txs; i++) {
        uint32_t id;
        if (b->txs[i].len != 12 || memcmp(b->txs[i].data, "req:", 4) != 0) {
            ok = 0;
            break;
        }
        memcpy(&id, b->txs[i].data + 4, 4);
        ok = id < W.n_req;
    }
    evote__v1__batch__free_unpacked(b, NULL);
    return ok;
}

/* With W.validate_ms, like evoted, whose mempool workers check a proposal's
 * signatures while the event loop goes on: the verdict comes later
 * (EV_VERDICT, replica_on_batch_validated). */
static int sim_validate(void *ctx, uint64_t seq, const uint8_t *batch, size_t len)
{
    node *nd = ctx;
    event e = {0};

    if (W.validate_ms == 0 || nd == NULL)
        return batch_ok(seq, batch, len);
    e.type = EV_VERDICT;
    e.to = (uint32_t)(nd - W.nodes);
    e.from = nd->incarnation;
    e.gen = seq;
    e.at = now_ms + 1 + rnd_below(W.validate_ms);
    e.bytes = malloc(33);
    crypto_tagged_hash(CRYPTO_TAG_BATCH, batch, len, e.bytes);
    e.bytes[32] = (uint8_t)batch_ok(seq, batch, len);
    e.len = 33;
    push_event(e);
    return REPLICA_VALIDATE_LATER;
}

/* -------------------------------------------------------------- network */

static void net_send(uint32_t from, uint32_t to, const uint8_t *bytes, size_t len)
{
    event e = {0};
    int copies = 1;

    if (to == from || to >= W.n)
        return;
    W.messages++;
    if (W.n_seen < 64) {
        W.seen[W.n_seen] = malloc(len);
        memcpy(W.seen[W.n_seen], bytes, len);
        W.seen_len[W.n_seen++] = len;
    } else if (chance(0.05)) {
        size_t k = rnd_below(64);
        free(W.seen[k]);
        W.seen[k] = malloc(len);
        memcpy(W.seen[k], bytes, len);
        W.seen_len[k] = len;
    }
    if (W.faults_on) {
        if (W.partition[from] != W.partition[to])
            return;
        if (chance(W.loss))
            return;
        if (chance(W.dup))
            copies = 2;
    }
    for (int c = 0; c < copies; c++) {
        e.type = EV_DELIVER;
        e.from = from;
        e.to = to;
        e.at = now_ms + 1 + (W.faults_on ? W.min_delay + rnd_below(W.max_delay) : rnd_below(5));
        if (W.lag_to == to + 1 && now_ms >= W.lag_from && now_ms < W.lag_until)
            e.at += W.lag_ms + rnd_below(W.lag_ms / 2);
        if (W.fifo) { /* never before what the link carried earlier (ties keep push order) */
            if (e.at < W.link_last[from][to])
                e.at = W.link_last[from][to];
            W.link_last[from][to] = e.at;
        }
        e.bytes = malloc(len);
        memcpy(e.bytes, bytes, len);
        e.len = len;
        push_event(e);
    }
}

/* ------------------------------------------------------ Byzantine output */

/* Re-signs a changed body as replica `id` and wraps it with batches. */
static uint8_t *byz_reseal(uint32_t id, Evote__V1__Kind kind, const ProtobufCMessage *body, uint8_t **batches,
                           size_t *blens, size_t nb, size_t *out_len)
{
    Evote__V1__Envelope e = EVOTE__V1__ENVELOPE__INIT;
    Evote__V1__PeerMessage pm = EVOTE__V1__PEER_MESSAGE__INIT;
    ProtobufCBinaryData bd[8];
    size_t blen = protobuf_c_message_get_packed_size(body), elen;
    uint8_t *b = malloc(blen + 1), sig[64], *env, *out;

    protobuf_c_message_pack(body, b);
    sim_sign(&W.nodes[id], crypto_kind_tag(kind), b, blen, sig);
    e.kind = kind;
    e.body.data = b;
    e.body.len = blen;
    e.signer.data = W.pubkeys[id];
    e.signer.len = 32;
    e.signature.data = sig;
    e.signature.len = 64;
    elen = evote__v1__envelope__get_packed_size(&e);
    env = malloc(elen);
    evote__v1__envelope__pack(&e, env);
    for (size_t i = 0; i < nb && i < 8; i++) {
        bd[i].data = batches[i];
        bd[i].len = blens[i];
    }
    pm.envelope.data = env;
    pm.envelope.len = elen;
    pm.n_batches = nb < 8 ? nb : 8;
    pm.batches = bd;
    *out_len = evote__v1__peer_message__get_packed_size(&pm);
    out = malloc(*out_len);
    evote__v1__peer_message__pack(&pm, out);
    free(b);
    free(env);
    return out;
}

/* A Byzantine replica's version of one outgoing message to `to`. Returns a
 * malloc'ed replacement, or NULL to send the original. *drop = 1 to send
 * nothing. */
static uint8_t *byz_mutate(uint32_t id, uint32_t to, const uint8_t *bytes, size_t len, size_t *out_len, int *drop)
{
    node *nd = &W.nodes[id];
    Evote__V1__PeerMessage *pm;
    Evote__V1__Envelope *env;
    uint8_t *out = NULL;

    *drop = 0;
    switch (nd->byz) {
    case BYZ_SILENT:
        *drop = 1;
        return NULL;
    case BYZ_GARBAGE:
        if (chance(0.3)) {
            size_t gl = 1 + rnd_below(len < 200 ? len : 200);
            out = malloc(gl);
            if (chance(0.5)) {
                memcpy(out, bytes, gl); /* truncated */
            } else {
                for (size_t i = 0; i < gl; i++)
                    out[i] = (uint8_t)rnd();
            }
            *out_len = gl;
            return out;
        }
        return NULL;
    case BYZ_REPLAY:
        if (W.n_seen > 0 && chance(0.5)) {
            size_t k = rnd_below(W.n_seen);
            uint8_t *copy = malloc(W.seen_len[k]); /* net_send may replace the pool entry */
            memcpy(copy, W.seen[k], W.seen_len[k]);
            net_send(id, to, copy, W.seen_len[k]);
            free(copy);
        }
        return NULL;
    default:
        break;
    }
    pm = evote__v1__peer_message__unpack(NULL, len, bytes);
    if (pm == NULL)
        return NULL;
    env = evote__v1__envelope__unpack(NULL, pm->envelope.len, pm->envelope.data);
    if (env == NULL) {
        evote__v1__peer_message__free_unpacked(pm, NULL);
        return NULL;
    }
    if (nd->byz == BYZ_STALL && now_ms >= W.stall_at) {
        /* Its PRE-PREPAREs reach 2f backups only, and it never COMMITs: those
         * 2f prepare and commit, but 2f COMMITs are one short of a quorum.
         * (It commits, with its own: it serves no blocks either.) */
        uint32_t after = (to + W.n - id) % W.n; /* 1..n-1: position after the stalling replica */
        if (env->kind == EVOTE__V1__KIND__KIND_COMMIT || env->kind == EVOTE__V1__KIND__KIND_STATE_RESPONSE ||
            (env->kind == EVOTE__V1__KIND__KIND_PRE_PREPARE && after > 2 * W.f))
            *drop = 1;
    } else if (nd->byz == BYZ_EQUIVOCATE && env->kind == EVOTE__V1__KIND__KIND_PRE_PREPARE && to % 2 == 1) {
        Evote__V1__PrePrepare *pp = evote__v1__pre_prepare__unpack(NULL, env->body.len, env->body.data);
        Evote__V1__Batch *b = pm->n_batches ? evote__v1__batch__unpack(NULL, pm->batches[0].len, pm->batches[0].data)
                                            : NULL;
        if (pp != NULL && b != NULL) {
            uint8_t *nb, d[32];
            size_t nl;
            b->timestamp_ms += 1 + rnd_below(1000); /* another batch for the same seq */
            nl = evote__v1__batch__get_packed_size(b);
            nb = malloc(nl);
            evote__v1__batch__pack(b, nb);
            uint8_t *keep = pp->digest.data;
            crypto_tagged_hash(CRYPTO_TAG_BATCH, nb, nl, d);
            pp->digest.data = d;
            out = byz_reseal(id, env->kind, &pp->base, &nb, &nl, 1, out_len);
            pp->digest.data = keep;
            free(nb);
        }
        if (pp)
            evote__v1__pre_prepare__free_unpacked(pp, NULL);
        if (b)
            evote__v1__batch__free_unpacked(b, NULL);
    } else if (nd->byz == BYZ_CONFLICT &&
               (env->kind == EVOTE__V1__KIND__KIND_PREPARE || env->kind == EVOTE__V1__KIND__KIND_COMMIT) &&
               chance(0.5)) {
        uint8_t d[32];
        for (int i = 0; i < 32; i++)
            d[i] = (uint8_t)rnd();
        if (env->kind == EVOTE__V1__KIND__KIND_PREPARE) {
            Evote__V1__Prepare *p = evote__v1__prepare__unpack(NULL, env->body.len, env->body.data);
            if (p) {
                uint8_t *keep = p->digest.data;
                p->digest.data = d;
                out = byz_reseal(id, env->kind, &p->base, NULL, NULL, 0, out_len);
                p->digest.data = keep;
                evote__v1__prepare__free_unpacked(p, NULL);
            }
        } else {
            Evote__V1__Commit *c = evote__v1__commit__unpack(NULL, env->body.len, env->body.data);
            if (c) {
                uint8_t *keep = c->digest.data;
                c->digest.data = d;
                out = byz_reseal(id, env->kind, &c->base, NULL, NULL, 0, out_len);
                c->digest.data = keep;
                evote__v1__commit__free_unpacked(c, NULL);
            }
        }
    } else if (nd->byz == BYZ_FORGE && chance(0.5)) {
        /* Flip a byte of the signature, or claim another replica's key. */
        uint8_t *keep_sig = env->signature.data, sig[64], *keep_signer = env->signer.data;
        size_t el;
        uint8_t *eb;
        memcpy(sig, env->signature.data, env->signature.len == 64 ? 64 : 0);
        if (chance(0.5)) {
            sig[rnd_below(64)] ^= 1;
            env->signature.data = sig;
        } else {
            env->signer.data = W.pubkeys[(id + 1 + rnd_below(W.n - 1)) % W.n];
        }
        el = evote__v1__envelope__get_packed_size(env);
        eb = malloc(el);
        evote__v1__envelope__pack(env, eb);
        env->signature.data = keep_sig;
        env->signer.data = keep_signer;
        {
            uint8_t *keep_env = pm->envelope.data;
            size_t keep_len = pm->envelope.len;
            pm->envelope.data = eb;
            pm->envelope.len = el;
            *out_len = evote__v1__peer_message__get_packed_size(pm);
            out = malloc(*out_len);
            evote__v1__peer_message__pack(pm, out);
            pm->envelope.data = keep_env;
            pm->envelope.len = keep_len;
        }
        free(eb);
    } else if (nd->byz == BYZ_BAD_NEW_VIEW && env->kind == EVOTE__V1__KIND__KIND_NEW_VIEW) {
        Evote__V1__NewView *nv = evote__v1__new_view__unpack(NULL, env->body.len, env->body.data);
        if (nv != NULL) {
            size_t keep_pp = nv->n_pre_prepares, keep_vc = nv->n_view_changes;
            if (nv->n_pre_prepares > 0 && chance(0.5)) {
                nv->n_pre_prepares--; /* drop the last re-proposed batch */
            } else {
                /* Re-propose something else at a new seq: append a forged PP
                 * by copying the first one (wrong seq/digest for O). */
                if (nv->n_pre_prepares > 0) {
                    Evote__V1__PrePrepare *pp = evote__v1__pre_prepare__unpack(
                        NULL, nv->pre_prepares[0]->body.len, nv->pre_prepares[0]->body.data);
                    if (pp) {
                        uint8_t d[32];
                        for (int i = 0; i < 32; i++)
                            d[i] = (uint8_t)rnd();
                        uint8_t *keep = pp->digest.data;
                        pp->digest.data = d;
                        size_t bl = evote__v1__pre_prepare__get_packed_size(pp);
                        uint8_t *bb = malloc(bl), sig[64];
                        evote__v1__pre_prepare__pack(pp, bb);
                        sim_sign(nd, crypto_kind_tag(EVOTE__V1__KIND__KIND_PRE_PREPARE), bb, bl, sig);
                        free(nv->pre_prepares[0]->body.data);
                        nv->pre_prepares[0]->body.data = bb;
                        nv->pre_prepares[0]->body.len = bl;
                        memcpy(nv->pre_prepares[0]->signature.data, sig, 64);
                        pp->digest.data = keep;
                        evote__v1__pre_prepare__free_unpacked(pp, NULL);
                    }
                } else if (nv->n_view_changes > 0) {
                    nv->n_view_changes--; /* too few VIEW-CHANGEs */
                }
            }
            {
                uint8_t **bs = malloc((pm->n_batches + 1) * sizeof *bs);
                size_t *bl = malloc((pm->n_batches + 1) * sizeof *bl);
                for (size_t i = 0; i < pm->n_batches; i++) {
                    bs[i] = pm->batches[i].data;
                    bl[i] = pm->batches[i].len;
                }
                out = byz_reseal(id, env->kind, &nv->base, bs, bl, pm->n_batches, out_len);
                free(bs);
                free(bl);
            }
            nv->n_pre_prepares = keep_pp; /* so every element is freed */
            nv->n_view_changes = keep_vc;
            evote__v1__new_view__free_unpacked(nv, NULL);
        }
    }
    evote__v1__envelope__free_unpacked(env, NULL);
    evote__v1__peer_message__free_unpacked(pm, NULL);
    return out;
}

static void node_send(uint32_t from, uint32_t to, const uint8_t *bytes, size_t len)
{
    if (W.nodes[from].byz != BYZ_NONE) {
        size_t ol = 0;
        int drop;
        uint8_t *o = byz_mutate(from, to, bytes, len, &ol, &drop);
        if (drop)
            return;
        if (o != NULL) {
            net_send(from, to, o, ol);
            free(o);
            return;
        }
    }
    net_send(from, to, bytes, len);
}

/* ----------------------------------------------------------- one replica */

static void prune_pending(node *nd);

static void mark_batch(node *nd, const uint8_t *batch, size_t len)
{
    Evote__V1__Batch *b = evote__v1__batch__unpack(NULL, len, batch);
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n_txs; i++) {
        uint32_t id;
        if (b->txs[i].len == 12) {
            memcpy(&id, b->txs[i].data + 4, 4);
            if (id < W.n_req) {
                nd->done[id] = 1;
                if (W.executed_at[id] == 0 && nd->byz == BYZ_NONE)
                    W.executed_at[id] = now_ms;
            }
        }
    }
    evote__v1__batch__free_unpacked(b, NULL);
}

/* The embedder's extra checkpoints (replica_on_executed): evote makes every
 * block without transactions one; the simulator makes about one block in
 * eight one, chosen by its hash, so that stable checkpoints between the
 * multiples of K meet view changes, restarts and state transfer. Every
 * replica computes the same answer for the same block. */
static int extra_checkpoint(const uint8_t hash[32]) { return (hash[31] & 7) == 0; }

static void block_hash(const uint8_t prev[32], const uint8_t *batch, size_t len, uint8_t out[32])
{
    uint8_t buf[64];
    memcpy(buf, prev, 32);
    crypto_tagged_hash(CRYPTO_TAG_BATCH, batch, len, buf + 32);
    crypto_tagged_hash("sim/block", buf, 64, out);
}

static int node_is_honest(uint32_t i) { return W.nodes[i].byz == BYZ_NONE; }

static void record_execution(uint32_t id, uint64_t seq, const uint8_t *batch, size_t len)
{
    uint8_t d[32];
    crypto_tagged_hash(CRYPTO_TAG_BATCH, batch, len, d);
    if (!node_is_honest(id))
        return;
    if (seq >= W.decided_cap) {
        uint64_t cap = seq * 2 + 64;
        W.decided = realloc(W.decided, cap * 32);
        W.decided_set = realloc(W.decided_set, cap);
        memset(W.decided_set + W.decided_cap, 0, cap - W.decided_cap);
        W.decided_cap = cap;
    }
    if (!W.decided_set[seq]) {
        W.decided_set[seq] = 1;
        memcpy(W.decided[seq], d, 32);
    } else if (memcmp(W.decided[seq], d, 32) != 0) {
        fail("SAFETY: replica %u executed a different batch at seq %" PRIu64, id, seq);
    }
}

static void serve_blocks(uint32_t id, uint32_t to, uint64_t from, uint64_t through)
{
    node *nd = &W.nodes[id];
    const uint8_t *blocks[64], *certs[64];
    size_t blens[64], clens[64], count = 0;
    uint8_t *packed[64];

    if (through > nd->height)
        through = nd->height;
    for (uint64_t s = from; s <= through && count < 64; s++) {
        Evote__V1__Block b = EVOTE__V1__BLOCK__INIT;
        b.batch.data = nd->blocks[s].batch;
        b.batch.len = nd->blocks[s].batch_len;
        blens[count] = evote__v1__block__get_packed_size(&b);
        packed[count] = malloc(blens[count] + 1);
        evote__v1__block__pack(&b, packed[count]);
        blocks[count] = packed[count];
        certs[count] = nd->certs[s];
        clens[count] = nd->cert_lens[s];
        count++;
    }
    trace("r%u serves r%u blocks %" PRIu64 "..%" PRIu64 " (%zu)", id, to, from, through, count);
    if (count > 0)
        (void)replica_serve(nd->r, to, blocks, blens, certs, clens, count);
    for (size_t i = 0; i < count; i++)
        free(packed[i]);
}

static void crash(uint32_t id);

/* Carries out the replica's actions, in order. */
static void drain(uint32_t id)
{
    node *nd = &W.nodes[id];
    replica_action a;
    int done = 0;

    while (nd->alive && replica_pop_action(nd->r, &a)) {
        if (nd->crash_mid >= 0 && done++ >= nd->crash_mid) {
            replica_action_clear(&a);
            trace("r%u crashes in the middle of its actions", id);
            crash(id);
            return;
        }
        switch (a.type) {
        case REPLICA_ACT_SEND:
            if (getenv("SIM_TIMERS"))
                trace("r%u sends %zu bytes to r%u", id, a.len, a.to);
            node_send(id, a.to, a.bytes, a.len);
            break;
        case REPLICA_ACT_BROADCAST:
            for (uint32_t k = 0; k < W.n; k++)
                if (k != id)
                    node_send(id, k, a.bytes, a.len);
            break;
        case REPLICA_ACT_SET_TIMER: {
            event e = {0};
            if (getenv("SIM_TIMERS"))
                trace("r%u sets timer %d +%u", id, a.timer, a.delay_ms);
            e.type = EV_TIMER;
            e.to = id;
            e.timer = a.timer;
            e.gen = ++nd->timer_gen[a.timer];
            e.at = now_ms + a.delay_ms;
            push_event(e);
            break;
        }
        case REPLICA_ACT_CANCEL_TIMER:
            nd->timer_gen[a.timer]++;
            break;
        case REPLICA_ACT_EXECUTE: {
            uint8_t prev[32];
            if (a.seq != nd->height + 1) {
                fail("replica %u asked to execute seq %" PRIu64 " with height %" PRIu64, id, a.seq, nd->height);
                break;
            }
            if (!replica_certificate_valid(W.n, (const uint8_t(*)[32])W.pubkeys, W.chain_id,
                                           &(replica_callbacks){.sign = sim_sign, .verify = sim_verify, .validate_batch = sim_validate},
                                           a.certificate, a.certificate_len, a.seq, a.batch, a.batch_len) &&
                node_is_honest(id))
                fail("replica %u executes seq %" PRIu64 " with an invalid certificate", id, a.seq);
            if (nd->height + 1 >= nd->cap) {
                nd->cap = nd->cap ? nd->cap * 2 : 64;
                nd->blocks = realloc(nd->blocks, nd->cap * sizeof *nd->blocks);
                nd->certs = realloc(nd->certs, nd->cap * sizeof *nd->certs);
                nd->cert_lens = realloc(nd->cert_lens, nd->cap * sizeof *nd->cert_lens);
            }
            memcpy(prev, nd->height ? nd->blocks[nd->height].hash : W.chain_id, 32);
            nd->height++;
            nd->blocks[nd->height].batch = a.batch;
            nd->blocks[nd->height].batch_len = a.batch_len;
            block_hash(prev, a.batch, a.batch_len, nd->blocks[nd->height].hash);
            nd->certs[nd->height] = a.certificate;
            nd->cert_lens[nd->height] = a.certificate_len;
            a.batch = NULL;
            a.certificate = NULL;
            record_execution(id, a.seq, nd->blocks[nd->height].batch, nd->blocks[nd->height].batch_len);
            mark_batch(nd, nd->blocks[nd->height].batch, nd->blocks[nd->height].batch_len);
            prune_pending(nd);
            trace("r%u executes seq %" PRIu64 " (view %" PRIu64 ")", id, a.seq, a.view);
            replica_on_executed(nd->r, a.seq, nd->blocks[nd->height].hash,
                                extra_checkpoint(nd->blocks[nd->height].hash));
            break;
        }
        case REPLICA_ACT_PERSIST_BATCH:
            if (nd->n_pending == 256) { /* never expected: the window is 16 */
                fail("replica %u keeps more than 256 pending batches", id);
                break;
            }
            nd->pending[nd->n_pending].seq = a.seq;
            memcpy(nd->pending[nd->n_pending].digest, a.digest, 32);
            nd->pending[nd->n_pending].batch = a.batch;
            nd->pending[nd->n_pending].len = a.batch_len;
            nd->n_pending++;
            a.batch = NULL;
            break;
        case REPLICA_ACT_PERSIST_META:
            free(nd->meta);
            nd->meta = a.bytes;
            nd->meta_len = a.len;
            a.bytes = NULL;
            break;
        case REPLICA_ACT_PERSIST_NEW_VIEW:
            free(nd->new_view);
            nd->new_view = a.bytes;
            nd->new_view_len = a.len;
            a.bytes = NULL;
            break;
        case REPLICA_ACT_SERVE_BLOCKS:
            serve_blocks(id, a.to, a.from, a.through);
            break;
        case REPLICA_ACT_SUSPECTED:
            trace("r%u suspects the primary of view %" PRIu64, id, a.view);
            break;
        case REPLICA_ACT_VIEW_CHANGED:
            trace("r%u enters view %" PRIu64, id, a.view);
            if (a.view > 0 && nd->first_view_at == 0)
                nd->first_view_at = now_ms;
            memset(nd->proposed, 0, sizeof nd->proposed); /* the mempool takes back what it gave */
            break;
        }
        replica_action_clear(&a);
    }
    if (nd->alive)
        nd->crash_mid = -1;
}

static void chain_marks(const node *nd, uint8_t *mark)
{
    memcpy(mark, nd->done, W.n_req);
}

/* The embedder's loop after every event: tell the replica whether requests
 * wait, and let a primary propose. */
static void pump(uint32_t id)
{
    node *nd = &W.nodes[id];
    uint8_t mark[MAX_REQ];
    uint64_t seq;
    int pending = 0;

    if (!nd->alive)
        return;
    drain(id);
    if (!nd->alive)
        return;
    chain_marks(nd, mark);
    for (uint32_t q = 0; q < W.n_req; q++)
        if (!mark[q] && W.submitted[q] && !nd->unheard[q])
            pending = 1;
    replica_on_pending(nd->r, pending);
    drain(id);
    while (nd->alive && nd->byz != BYZ_IGNORE && replica_can_propose(nd->r, &seq)) {
        Evote__V1__Batch b = EVOTE__V1__BATCH__INIT;
        ProtobufCBinaryData txs[8];
        uint8_t reqbytes[8][12];
        size_t nt = 0, len;
        uint8_t *bytes;
        for (uint32_t o = 0; o < W.n_sub_order && nt < 8; o++) { /* oldest first, as the mempool */
            uint32_t q = W.sub_order[o];
            if (mark[q] || nd->proposed[q] || !W.submitted[q] || nd->unheard[q])
                continue;
            if (nd->byz == BYZ_CENSOR && q % 3 == 0)
                continue;
            memcpy(reqbytes[nt], "req:", 4);
            memcpy(reqbytes[nt] + 4, &q, 4);
            memcpy(reqbytes[nt] + 8, &W.req_nonce[q], 4);
            txs[nt].data = reqbytes[nt];
            txs[nt].len = 12;
            nd->proposed[q] = 1;
            nt++;
        }
        if (nt == 0)
            break;
        b.chain_id.data = W.chain_id;
        b.chain_id.len = 32;
        b.seq = seq;
        b.timestamp_ms = now_ms + 1;
        b.n_txs = nt;
        b.txs = txs;
        len = evote__v1__batch__get_packed_size(&b);
        bytes = malloc(len);
        evote__v1__batch__pack(&b, bytes);
        if (!replica_propose(nd->r, seq, bytes, len)) {
            free(bytes);
            break;
        }
        trace("r%u proposes seq %" PRIu64 " with %zu requests", id, seq, nt);
        free(bytes);
        drain(id);
    }
}

static int sim_load_batch(void *ctx, uint64_t seq, const uint8_t digest[32], uint8_t **batch, size_t *len)
{
    node *nd = ctx;
    uint8_t d[32];
    for (size_t i = 0; i < nd->n_pending; i++) {
        if (nd->pending[i].seq == seq && memcmp(nd->pending[i].digest, digest, 32) == 0) {
            *batch = malloc(nd->pending[i].len);
            memcpy(*batch, nd->pending[i].batch, nd->pending[i].len);
            *len = nd->pending[i].len;
            return 1;
        }
    }
    if (seq == 0 || seq > nd->height)
        return 0;
    crypto_tagged_hash(CRYPTO_TAG_BATCH, nd->blocks[seq].batch, nd->blocks[seq].batch_len, d);
    if (memcmp(d, digest, 32) != 0)
        return 0;
    *batch = malloc(nd->blocks[seq].batch_len);
    memcpy(*batch, nd->blocks[seq].batch, nd->blocks[seq].batch_len);
    *len = nd->blocks[seq].batch_len;
    return 1;
}

static void prune_pending(node *nd)
{
    size_t k = 0;
    for (size_t i = 0; i < nd->n_pending; i++) {
        if (nd->pending[i].seq <= nd->height)
            free(nd->pending[i].batch);
        else
            nd->pending[k++] = nd->pending[i];
    }
    nd->n_pending = k;
}

static void node_boot(uint32_t id)
{
    node *nd = &W.nodes[id];
    replica_config cfg = {0};
    replica_callbacks cb = {.sign = sim_sign, .verify = sim_verify, .validate_batch = sim_validate,
                            .load_batch = sim_load_batch, .ctx = nd};
    replica_restore rs = {0};
    replica_err err;

    cfg.n = W.n;
    cfg.id = id;
    cfg.pubkeys = (const uint8_t(*)[32])W.pubkeys;
    memcpy(cfg.chain_id, W.chain_id, 32);
    cfg.checkpoint_interval = 8;
    cfg.window = 16;
    cfg.max_inflight = 3;
    cfg.view_change_timeout_ms = SIM_TIMEOUT_MS;
    cfg.retransmit_ms = SIM_RETRANSMIT_MS;
    cfg.max_blocks_per_fetch = 16;
    cfg.term_checkpoints = W.term_checkpoints;
    rs.last_executed = nd->height;
    if (nd->height) {
        memcpy(rs.last_hash, nd->blocks[nd->height].hash, 32);
        rs.tip_is_checkpoint = extra_checkpoint(rs.last_hash);
    }
    rs.meta = nd->meta;
    rs.meta_len = nd->meta_len;
    rs.new_view = nd->new_view;
    rs.new_view_len = nd->new_view_len;
    err = replica_new(&cfg, &cb, &rs, &nd->r);
    if (err != REPLICA_OK) {
        fail("replica %u cannot start: %s", id, replica_strerror(err));
        return;
    }
    nd->alive = 1;
    nd->incarnation++;
    nd->crash_mid = -1;
    memset(nd->timer_gen, 0, sizeof nd->timer_gen);
    memset(nd->proposed, 0, sizeof nd->proposed);
    replica_start(nd->r);
    pump(id);
}

static void crash(uint32_t id)
{
    node *nd = &W.nodes[id];
    if (!nd->alive)
        return;
    nd->alive = 0;
    replica_destroy(&nd->r);
    for (int t = 0; t < 4; t++)
        nd->timer_gen[t] += 1000; /* pending timers die with the process */
    trace("r%u crashed at height %" PRIu64, id, nd->height);
}

/* ------------------------------------------------------------------ a run */

typedef struct {
    uint64_t seed;
    int byz;            /* 0: none */
    uint32_t byz_id;
    int crashes;
    int partitions;
    int scenario;           /* scenario_kind */
    /* What the scenario checks at the end (besides safety and liveness). */
    uint64_t view_by;       /* > 0: every honest replica entered a view above 0 by then */
    uint64_t max_view;      /* no honest replica went above this view */
    uint64_t done_by;       /* > 0: every honest replica executed every request by then */
    int one_view;           /* every honest replica ends in one view, not changing view */
    uint64_t max_wait;      /* > 0: every request executed (first honest replica) within this of its
                               submission */
    uint64_t max_wait_before;   /* ... for the requests submitted before this */
    uint64_t max_wait_after;    /* ... and at or after this */
} plan;

static void world_free(void)
{
    for (uint32_t i = 0; i < W.n; i++) {
        node *nd = &W.nodes[i];
        replica_destroy(&nd->r);
        for (uint64_t s = 1; s <= nd->height; s++) {
            free(nd->blocks[s].batch);
            free(nd->certs[s]);
        }
        free(nd->blocks);
        free(nd->certs);
        free(nd->cert_lens);
        free(nd->meta);
        free(nd->new_view);
        for (size_t k = 0; k < nd->n_pending; k++)
            free(nd->pending[k].batch);
    }
    for (size_t i = 0; i < W.n_heap; i++)
        free(W.heap[i].bytes);
    free(W.heap);
    free(W.decided);
    free(W.decided_set);
    for (size_t i = 0; i < W.n_seen; i++)
        free(W.seen[i]);
    for (uint32_t i = 0; i < W.n; i++)
        signing_key_destroy(&W.real_key[i]);
}

/* Requests: count of them, at random times in [from, until). */
static void submit_requests(uint32_t count, uint64_t from, uint64_t until)
{
    W.n_req = count;
    for (uint32_t q = 0; q < W.n_req; q++) {
        event s = {0};
        s.type = EV_SUBMIT;
        s.at = q == 0 ? from : from + rnd_below(until - from);
        s.to = q;
        W.req_nonce[q] = rnd();
        push_event(s);
    }
}

static void crash_at(uint32_t who, uint64_t at, uint64_t restart_at, int mid)
{
    event cr = {0}, rs = {0};
    cr.type = EV_CRASH;
    cr.to = who;
    cr.at = at;
    cr.gen = mid;
    rs.type = EV_RESTART;
    rs.to = who;
    rs.at = restart_at;
    push_event(cr);
    push_event(rs);
}

/* The random fault plan: loss, duplication, delays, partitions, crashes
 * (also in the middle of an event), power cuts, one Byzantine replica. */
static void plan_random(plan *pl, uint64_t *submit_until, uint64_t *heal_at)
{
    uint32_t n = W.n;

    W.loss = chance(0.3) ? 0.0 : (double)rnd_below(20) / 100.0;
    W.dup = (double)rnd_below(10) / 100.0;
    W.max_delay = 5 + (uint32_t)rnd_below(chance(0.2) ? 600 : 60);
    if (chance(0.3))
        W.validate_ms = 1 + (uint32_t)rnd_below(300);
    if (chance(0.5)) {
        pl->byz = 1 + (int)rnd_below(BYZ_KINDS - 1);
        pl->byz_id = (uint32_t)rnd_below(n);
        if (chance(0.5) && (pl->byz == BYZ_EQUIVOCATE || pl->byz == BYZ_SILENT || pl->byz == BYZ_STALL ||
                            pl->byz == BYZ_IGNORE))
            pl->byz_id = 0; /* the first primary */
        if (pl->byz == BYZ_BAD_NEW_VIEW)
            pl->byz_id = 1; /* primary of view 1 */
        W.nodes[pl->byz_id].byz = pl->byz;
    }
    /* Primary rotation on half the seeds (a term of 1..3 checkpoints); a
     * censoring primary is only ever replaced by it. */
    if (chance(0.5) || pl->byz == BYZ_CENSOR)
        W.term_checkpoints = 1 + (uint32_t)rnd_below(3);
    pl->crashes = (int)rnd_below(4);
    pl->partitions = (int)rnd_below(3);
    *submit_until = 3000 + rnd_below(4000);
    *heal_at = *submit_until + rnd_below(3000);
    W.stall_at = rnd_below(*heal_at);
    trace("seed %" PRIu64 " n=%u loss=%.2f dup=%.2f delay<%u check<%u byz=%s@r%u crashes=%d partitions=%d term=%u",
          pl->seed, n, W.loss, W.dup, W.max_delay, W.validate_ms, byz_name[pl->byz], pl->byz_id, pl->crashes,
          pl->partitions, W.term_checkpoints);

    /* Requests at random times until submit_until. */
    submit_requests(20 + (uint32_t)rnd_below(80), 0, *submit_until);
    /* Crashes of honest replicas (never more than f faulty at once with the
     * Byzantine one: crashes then only hit... the Byzantine one's peers if
     * no Byzantine). */
    for (int c = 0; c < pl->crashes; c++) {
        uint32_t who = (uint32_t)rnd_below(n);
        uint64_t at, back;
        if (pl->byz && W.f < 2)
            break; /* n=4: f = 1, taken by the Byzantine replica */
        at = rnd_below(*heal_at);
        back = at + 1 + rnd_below(*heal_at - at + 2000);
        crash_at(who, at, back > *heal_at ? *heal_at : back, chance(0.3)); /* 0.3: in the middle of an event */
    }
    for (int p = 0; p < pl->partitions; p++) {
        event pe = {0}, he = {0};
        pe.type = EV_PARTITION;
        pe.at = rnd_below(*heal_at);
        pe.gen = rnd();
        he.type = EV_HEAL;
        he.at = pe.at + rnd_below(3000);
        if (he.at > *heal_at)
            he.at = *heal_at;
        push_event(pe);
        push_event(he);
    }
    if (chance(0.2)) { /* every replica restarts at once (a power cut) */
        event ra = {0};
        ra.type = EV_RESTART_ALL;
        ra.at = rnd_below(*heal_at + 2000);
        push_event(ra);
    }
}

/* The scenarios' plans. T is the base timeout (SIM_TIMEOUT_MS); the
 * bounds below are what replica.c's timer rules promise (see update_timers
 * there), plus a few message delays. */
static void plan_scenario(plan *pl, uint64_t *submit_until, uint64_t *heal_at)
{
    const uint64_t T = SIM_TIMEOUT_MS;
    uint64_t t0;

    W.max_delay = 5 + (uint32_t)rnd_below(56); /* a normal network: 1..60 ms */
    switch (pl->scenario) {
    case SC_SLOW:
        /* Every message takes 1.25T..2T and, on half the seeds, every
         * proposal's check up to T more, for 30 s: a block takes 4..7 T. An
         * honest, slow cluster: after the timeout has grown to fit, views
         * stay; requests all execute. */
        W.min_delay = (uint32_t)(T + T / 4);
        W.max_delay = (uint32_t)(3 * T / 4);
        if (chance(0.5))
            W.validate_ms = (uint32_t)T;
        *submit_until = 30000;
        *heal_at = *submit_until + 1000;
        submit_requests(150 + (uint32_t)rnd_below(100), 0, *submit_until);
        pl->max_view = 3; /* was 20 or so with a timeout back to T at every execution */
        pl->one_view = 1;
        break;
    case SC_SILENT:
    case SC_IGNORE:
        /* The primary of view 0 never sends anything / never proposes (but
         * votes and checkpoints): the first request is at t0, every backup
         * waits for it from then, and must have moved on within T (no
         * progress, no extension) and the view change's messages. */
        pl->byz = pl->scenario == SC_SILENT ? BYZ_SILENT : BYZ_IGNORE;
        pl->byz_id = 0;
        W.nodes[0].byz = pl->byz;
        t0 = 500 + rnd_below(1000);
        *submit_until = t0 + 4000;
        *heal_at = *submit_until + 1000;
        submit_requests(30 + (uint32_t)rnd_below(30), t0, *submit_until);
        pl->view_by = t0 + T + 10 * W.max_delay + 100;
        pl->one_view = 1;
        break;
    case SC_STALL:
        /* The primary of view 0 works for a while, then proposes blocks
         * that cannot commit (BYZ_STALL). The next seq's timer is armed at
         * the latest when the last good block executes, shortly after
         * W.stall_at; it may be extended at most 3 times (4T in all). */
        pl->byz = BYZ_STALL;
        pl->byz_id = 0;
        W.nodes[0].byz = BYZ_STALL;
        W.stall_at = 2000 + rnd_below(2000);
        *submit_until = W.stall_at + 6000;
        *heal_at = *submit_until + 1000;
        submit_requests(100 + (uint32_t)rnd_below(100), 0, *submit_until);
        pl->view_by = W.stall_at + 4 * T + 20 * W.max_delay + 200;
        pl->one_view = 1;
        break;
    case SC_RESTART:
    case SC_RESTART_PRIMARY:
        /* Under steady load, a backup (or the primary) crashes and restarts
         * seconds later, far behind (the others went through several
         * checkpoints). The restarted replica must catch up without asking
         * alone for a new view: with a backup, no replica ever leaves view
         * 0; with the primary, the others change view once (maybe twice,
         * if the timers of the first new view were too short) and the
         * restarted one joins them. */
        {
            uint32_t who = pl->scenario == SC_RESTART ? 1 + (uint32_t)rnd_below(W.n - 1) : 0;
            uint64_t at = 2000 + rnd_below(2000);
            *submit_until = at + 12000;
            *heal_at = *submit_until + 1000;
            submit_requests(800 + (uint32_t)rnd_below(800), 0, *submit_until);
            crash_at(who, at, at + 2000 + rnd_below(4000), 0);
            pl->crashes = 1;
            pl->max_view = pl->scenario == SC_RESTART ? 0 : 2;
            pl->one_view = 1;
        }
        break;
    case SC_IDLE_LAGGARD:
        /* The last replica hears the first requests, executes them, then is
         * cut off (idle: nothing waits there) while the others commit more
         * requests it never hears of; the network heals once all is quiet.
         * Nothing new will be sent: it must ask by itself, within a few
         * idle probes (16 retransmit periods each). */
        {
            event pe = {0};
            *submit_until = 8000;
            *heal_at = *submit_until + 1000;
            W.n_req = 0;
            submit_requests(10 + (uint32_t)rnd_below(10), 0, 1500);
            {
                uint32_t first = W.n_req, more = 20 + (uint32_t)rnd_below(20);
                for (uint32_t q = first; q < first + more; q++) {
                    event sv = {0};
                    sv.type = EV_SUBMIT;
                    sv.at = 3000 + rnd_below(*submit_until - 3000);
                    sv.to = q;
                    W.req_nonce[q] = rnd();
                    push_event(sv);
                }
                W.n_req = first + more;
            }
            pe.type = EV_PARTITION;
            pe.at = 2500;
            pe.gen = 1ull << (W.n - 1);
            push_event(pe);
            pl->partitions = 1;
            pl->done_by = *heal_at + 3ull * 16 * SIM_RETRANSMIT_MS + 1000;
            pl->max_view = 0;
            pl->one_view = 1;
        }
        break;
    case SC_LONE_LAG:
        /* Under steady load, everything sent to the last replica takes 2T
         * to 3T more for 8 s, then the network is normal again. Its view
         * timer runs out while nobody else's does; it may suspect the
         * primary, but alone it must not leave the view (it could never
         * come back to it): no replica ever leaves view 0, and once the lag
         * is gone it is in step again. */
        W.lag_to = W.n;
        W.lag_from = 1000;
        W.lag_until = 9000;
        W.lag_ms = (uint32_t)(2 * T);
        *submit_until = 12000;
        *heal_at = *submit_until + 1000;
        submit_requests(400 + (uint32_t)rnd_below(400), 0, *submit_until);
        pl->max_view = 0;
        pl->one_view = 1;
        break;
    case SC_CENSOR:
        /* Under steady load the primary of view 0 (and of every view it is
         * primary of again) leaves every third request out and commits the
         * rest, so while others come no view timer runs out. Its term (2
         * checkpoints, 16 seqs) ends, and the next primary proposes what
         * waited. With SIM_NO_ROTATION=1 (term_checkpoints = 0) the
         * censored requests wait until the load ends (10 s): every seed
         * fails. */
        pl->byz = BYZ_CENSOR;
        pl->byz_id = 0;
        W.nodes[0].byz = BYZ_CENSOR;
        W.term_checkpoints = getenv("SIM_NO_ROTATION") ? 0 : 2;
        W.fifo = 1; /* a NEW-VIEW reaches a backup before its primary's PRE-PREPAREs, as on TCP */
        *submit_until = 10000;
        *heal_at = *submit_until + 1000;
        submit_requests(300 + (uint32_t)rnd_below(300), 0, *submit_until);
        /* While requests keep coming, 3 s covers a term of the censor (16
         * seqs take up to 1.6 s here) and the rotation after it. When only
         * requests it ignores wait (a lull in the load, or its end), it
         * proposes nothing and the view timers run out as for any idle
         * primary (up to 4 T, then the view change). */
        pl->max_wait = 3000;
        pl->max_wait_before = *submit_until - 3000;
        pl->done_by = *submit_until + 5000;
        pl->one_view = 1;
        break;
    case SC_DEAD_TURN:
        /* Terms of one checkpoint interval (8 seqs) under steady load; the
         * last replica crashes at t=1000 and stays down until the end. At
         * each of its turns 2f+1 ask for its view and it says nothing: after
         * T/4 they skip it. Past the crash, no request may wait more than
         * 3 s. Waiting the whole T at each dead turn (and doubling it, as
         * for a failed primary) fails this on every seed. */
        W.term_checkpoints = 1;
        W.fifo = 1;
        *submit_until = 12000;
        *heal_at = *submit_until + 1000;
        submit_requests(400 + (uint32_t)rnd_below(300), 0, *submit_until);
        crash_at(W.n - 1, 1000, *heal_at, 0);
        pl->crashes = 1;
        pl->max_wait = 3000;
        pl->max_wait_after = 3000; /* past the crash (maybe of a primary: a view change) */
        pl->max_wait_before = *submit_until;
        pl->one_view = 1;
        break;
    default:
        break;
    }
    trace("seed %" PRIu64 " n=%u scenario %s: delay %u..%u check<%u byz=%s@r%u", pl->seed, W.n,
          scenario_name[pl->scenario], W.min_delay + 1, W.min_delay + W.max_delay, W.validate_ms, byz_name[pl->byz],
          pl->byz_id);
}

/* The scenario's own promises, at the end of a run that kept safety and
 * liveness. */
static void scenario_check(const plan *pl)
{
    uint64_t view = UINT64_MAX;
    for (uint32_t q = 0; q < W.n_req && pl->max_wait > 0 && !W.failure[0]; q++)
        if (W.submitted_at[q] < pl->max_wait_before && W.submitted_at[q] >= pl->max_wait_after &&
            W.executed_at[q] - W.submitted_at[q] > pl->max_wait)
            fail("TOO SLOW: request %u waited %" PRIu64 " ms (submitted at t=%" PRIu64 "); the bound was %" PRIu64
                 " ms", q, W.executed_at[q] - W.submitted_at[q], W.submitted_at[q], pl->max_wait);
    for (uint32_t i = 0; i < W.n && !W.failure[0]; i++) {
        const node *nd = &W.nodes[i];
        uint64_t v;
        if (!node_is_honest(i) || nd->r == NULL)
            continue;
        v = replica_view(nd->r);
        if (pl->done_by > 0 && (W.all_done_at == 0 || W.all_done_at > pl->done_by))
            fail("TOO SLOW: every request executed everywhere at t=%" PRIu64 "; the bound was t=%" PRIu64,
                 W.all_done_at, pl->done_by);
        else if (pl->view_by > 0 && (nd->first_view_at == 0 || nd->first_view_at > pl->view_by))
            fail("TOO SLOW: replica %u left view 0 at t=%" PRIu64 " (0: never); the bound was t=%" PRIu64, i,
                 nd->first_view_at, pl->view_by);
        else if (v > pl->max_view)
            fail("VIEW CHURN: replica %u is in view %" PRIu64 "; at most %" PRIu64 " expected", i, v, pl->max_view);
        else if (pl->one_view && replica_in_view_change(nd->r))
            fail("APART: replica %u ends asking for view %" PRIu64 " (a view change nobody else joined)", i, v);
        else if (pl->one_view && view != UINT64_MAX && v != view)
            fail("APART: replica %u ends in view %" PRIu64 ", another honest one in view %" PRIu64, i, v, view);
        view = v;
    }
}

static int run(uint64_t seed, uint32_t n, int real_crypto, int scenario, plan *pl)
{
    uint64_t submit_until = 0, heal_at = 0, deadline, events = 0;
    event e;
    int ok;

    memset(&W, 0, sizeof W);
    memset(trace_buf, 0, sizeof trace_buf);
    trace_next = 0;
    now_ms = 0;
    rng_state = seed * 0x2545F4914F6CDD1Dull + 7;
    W.n = n;
    W.f = (n - 1) / 3;
    W.real_crypto = real_crypto;
    for (int i = 0; i < 32; i++)
        W.chain_id[i] = (uint8_t)rnd();
    for (uint32_t i = 0; i < n; i++) {
        for (int k = 0; k < 32; k++)
            W.nodes[i].secret[k] = (uint8_t)rnd();
        if (real_crypto) {
            uint8_t sk[32];
            memcpy(sk, W.nodes[i].secret, 32);
            sk[0] &= 0x7f; /* below the group order */
            sk[31] |= 1;
            if (signing_key_from_secret(sk, &W.real_key[i]) != CRYPTO_OK)
                abort();
            signing_key_pubkey(W.real_key[i], W.pubkeys[i]);
        } else {
            for (int k = 0; k < 32; k++)
                W.pubkeys[i][k] = (uint8_t)rnd();
        }
    }
    memset(pl, 0, sizeof *pl);
    pl->seed = seed;
    pl->scenario = scenario;
    pl->max_view = UINT64_MAX;
    W.scenario = scenario;
    W.faults_on = 1;
    if (scenario == SC_RANDOM)
        plan_random(pl, &submit_until, &heal_at);
    else
        plan_scenario(pl, &submit_until, &heal_at);
    deadline = heal_at + 60000;
    {
        event he = {0};
        he.type = EV_HEAL;
        he.at = heal_at;
        he.gen = 1; /* the final heal: every fault ends */
        push_event(he);
    }
    for (uint32_t i = 0; i < n; i++)
        node_boot(i);

    while (!W.failure[0] && pop_event(&e)) {
        if (++events > 3000000)
            fail("RUNAWAY: more than 3,000,000 events (t=%" PRIu64 ")", now_ms);
        if (e.at > deadline) {
            free(e.bytes);
            break;
        }
        now_ms = e.at;
        switch (e.type) {
        case EV_DELIVER:
            if (W.nodes[e.to].alive) {
                replica_on_message(W.nodes[e.to].r, e.from, e.bytes, e.len);
                pump(e.to);
            }
            break;
        case EV_TIMER:
            if (W.nodes[e.to].alive && W.nodes[e.to].timer_gen[e.timer] == e.gen) {
                uint64_t v = replica_view(W.nodes[e.to].r);
                char d[400] = "";
                if (e.timer == REPLICA_TIMER_VIEW)
                    replica_describe(W.nodes[e.to].r, d, sizeof d);
                replica_on_timer(W.nodes[e.to].r, (replica_timer)e.timer);
                if (replica_view(W.nodes[e.to].r) != v) /* what it waited for, when it gave up */
                    trace("r%u asks for view %" PRIu64 ", its view timer ran out: %s", e.to,
                          replica_view(W.nodes[e.to].r), d);
                pump(e.to);
            }
            break;
        case EV_VERDICT:
            if (W.nodes[e.to].alive && W.nodes[e.to].incarnation == e.from) {
                replica_on_batch_validated(W.nodes[e.to].r, e.gen, e.bytes, e.bytes[32]);
                pump(e.to);
            }
            break;
        case EV_SUBMIT:
            if (!W.submitted[e.to])
                W.sub_order[W.n_sub_order++] = e.to;
            W.submitted[e.to] = 1;
            W.submitted_at[e.to] = now_ms;
            if (W.scenario == SC_IDLE_LAGGARD) /* the client is on replica 0's side */
                for (uint32_t i = 0; i < n; i++)
                    W.nodes[i].unheard[e.to] = W.faults_on && W.partition[i] != W.partition[0];
            for (uint32_t i = 0; i < n; i++)
                pump(i);
            break;
        case EV_CRASH:
            if (!W.faults_on)
                break;
            /* Keep at most f replicas down at once. */
            {
                uint32_t down = pl->byz ? 1 : 0; /* the Byzantine one counts as faulty */
                for (uint32_t i = 0; i < n; i++)
                    down += !W.nodes[i].alive;
                if (W.nodes[e.to].byz)
                    break;
                if (down >= W.f || !W.nodes[e.to].alive)
                    break;
            }
            if (e.gen) {
                W.nodes[e.to].crash_mid = (int)rnd_below(4);
                trace("r%u will crash during its next event", e.to);
            } else {
                crash(e.to);
            }
            break;
        case EV_RESTART:
            if (!W.nodes[e.to].alive) {
                uint64_t before = W.nodes[e.to].height;
                trace("r%u restarts at height %" PRIu64, e.to, before);
                node_boot(e.to);
            }
            break;
        case EV_RESTART_ALL:
            trace("every replica restarts at once");
            for (uint32_t i = 0; i < n; i++)
                crash(i);
            for (uint32_t i = 0; i < n; i++)
                node_boot(i);
            break;
        case EV_PARTITION:
            if (W.faults_on) {
                uint64_t bits = e.gen;
                for (uint32_t i = 0; i < n; i++)
                    W.partition[i] = (int)((bits >> i) & 1);
                trace("partition formed");
            }
            break;
        case EV_HEAL:
            memset(W.partition, 0, sizeof W.partition);
            if (e.gen) {
                W.faults_on = 0;
                for (uint32_t i = 0; i < n; i++)
                    if (!W.nodes[i].alive) {
                        trace("r%u restarts at heal", i);
                        node_boot(i);
                    } else {
                        W.nodes[i].crash_mid = -1;
                    }
                trace("network healed: faults end");
            } else {
                trace("partition healed");
            }
            break;
        }
        free(e.bytes);
        if (!W.faults_on && now_ms > submit_until) {
            /* Done when every honest replica has executed every request. */
            int all = 1;
            for (uint32_t i = 0; i < n && all; i++) {
                uint8_t mark[MAX_REQ];
                if (!node_is_honest(i))
                    continue;
                chain_marks(&W.nodes[i], mark);
                for (uint32_t q = 0; q < W.n_req; q++)
                    if (!mark[q])
                        all = 0;
            }
            if (all && W.all_done_at == 0)
                W.all_done_at = now_ms;
            /* With rotation the last request may complete a term: let that
             * rotation (and a skipped turn) settle before the end checks. */
            if (all && (W.term_checkpoints == 0 || now_ms >= W.all_done_at + 3000))
                break;
        }
    }
    if (!W.failure[0]) {
        /* Liveness and agreement at the end. */
        for (uint32_t i = 0; i < n; i++) {
            uint8_t mark[MAX_REQ];
            if (!node_is_honest(i))
                continue;
            chain_marks(&W.nodes[i], mark);
            for (uint32_t q = 0; q < W.n_req; q++)
                if (!mark[q]) {
                    fail("LIVENESS: replica %u never executed request %u (height %" PRIu64 ", view %" PRIu64
                         ") by t=%" PRIu64,
                         i, q, W.nodes[i].height, W.nodes[i].r ? replica_view(W.nodes[i].r) : 0, now_ms);
                    break;
                }
        }
    }
    if (!W.failure[0])
        scenario_check(pl);
    ok = W.failure[0] == 0;
    return ok;
}

static replica_stats totals;
static uint64_t byz_runs[BYZ_KINDS];

static void add_totals(void)
{
    for (uint32_t i = 0; i < W.n; i++) {
        replica_stats st;
        if (W.nodes[i].r == NULL || !node_is_honest(i))
            continue;
        replica_get_stats(W.nodes[i].r, &st);
        totals.received += st.received;
        totals.dropped_malformed += st.dropped_malformed;
        totals.dropped_bad_signature += st.dropped_bad_signature;
        totals.dropped_wrong_sender += st.dropped_wrong_sender;
        totals.dropped_out_of_range += st.dropped_out_of_range;
        totals.dropped_wrong_role += st.dropped_wrong_role;
        totals.dropped_conflicting += st.dropped_conflicting;
        totals.dropped_bad_digest += st.dropped_bad_digest;
        totals.dropped_bad_proof += st.dropped_bad_proof;
        totals.rejected_batches += st.rejected_batches;
        totals.state_transfers += st.state_transfers;
        totals.view_changes += st.view_changes;
        totals.rotations += st.rotations;
        totals.stable_checkpoints += st.stable_checkpoints;
        totals.stable_extra += st.stable_extra;
    }
}

static void print_summary(uint64_t seed)
{
    uint64_t maxh = 0, maxv = 0;
    for (uint32_t i = 0; i < W.n; i++) {
        if (W.nodes[i].height > maxh)
            maxh = W.nodes[i].height;
        if (W.nodes[i].r && replica_view(W.nodes[i].r) > maxv)
            maxv = replica_view(W.nodes[i].r);
    }
    printf("seed %" PRIu64 ": ok, height %" PRIu64 ", view %" PRIu64 ", %" PRIu64 " messages, t=%" PRIu64 " ms\n",
           seed, maxh, maxv, W.messages, now_ms);
}

int main(int argc, char **argv)
{
    uint32_t n = 4;
    uint64_t first = 0, count = 100, failures = 0, runs = 0;
    int real = 0, sc_first = SC_RANDOM, sc_last = SC_RANDOM;
    const char *env_seed = getenv("SIM_SEED"), *env_long = getenv("SIM_LONG");

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            n = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
            char *colon;
            first = strtoull(argv[++i], &colon, 10);
            if (*colon == ':')
                count = strtoull(colon + 1, NULL, 10);
        } else if (strcmp(argv[i], "--real-crypto") == 0)
            real = 1;
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = 1;
        else if (strcmp(argv[i], "--scenario") == 0 && i + 1 < argc) {
            const char *name = argv[++i];
            sc_first = -1;
            if (strcmp(name, "all") == 0) {
                sc_first = SC_RANDOM + 1;
                sc_last = SC_KINDS - 1;
            }
            for (int k = 0; k < SC_KINDS; k++)
                if (strcmp(name, scenario_name[k]) == 0)
                    sc_first = sc_last = k;
            if (sc_first < 0) {
                fprintf(stderr, "sim: unknown scenario %s (random, slow, silent, stall, ignore, restart, "
                                "restart-primary, idle-laggard, lone-lag, all)\n",
                        name);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: sim [--n N] [--seeds FIRST:COUNT] [--scenario NAME|all] [--real-crypto] "
                            "[--verbose]\n");
            return 2;
        }
    }
    if (n < 4 || n > MAXN || (n - 1) % 3 != 0) {
        fprintf(stderr, "sim: n must be 3f+1 between 4 and %d\n", MAXN);
        return 2;
    }
    if (env_seed != NULL) {
        first = strtoull(env_seed, NULL, 10);
        count = 1;
        verbose = verbose || getenv("SIM_QUIET") == NULL;
    } else if (env_long != NULL) {
        first = (uint64_t)time(NULL) * 1000;
        count = strtoull(env_long, NULL, 10);
        printf("sim: long mode, seeds %" PRIu64 "..%" PRIu64 "\n", first, first + count - 1);
    }
    for (uint64_t s = first; s < first + count; s++) {
        for (int sc = sc_first; sc <= sc_last; sc++) {
            plan pl;
            int ok = run(s, n, real, sc, &pl);
            runs++;
            if (!ok) {
                failures++;
                fprintf(stderr, "sim: FAILED seed %" PRIu64 " (n=%u%s%s%s): %s\n", s, n, real ? ", real crypto" : "",
                        sc ? ", scenario " : "", sc ? scenario_name[sc] : "", W.failure);
                trace_dump();
                for (uint32_t i = 0; i < n; i++) {
                    replica_stats st;
                    if (W.nodes[i].r == NULL) {
                        fprintf(stderr, "  r%u: down\n", i);
                        continue;
                    }
                    replica_get_stats(W.nodes[i].r, &st);
                    fprintf(stderr,
                            "  r%u%s: view %" PRIu64 "%s h=%" PRIu64 " executed=%" PRIu64 " | recv %" PRIu64
                            " malformed %" PRIu64 " badsig %" PRIu64 " sender %" PRIu64 " range %" PRIu64
                            " role %" PRIu64
                            " conflict %" PRIu64 " digest %" PRIu64 " proof %" PRIu64 " rejected %" PRIu64
                            " transfers %" PRIu64 "\n",
                            i, W.nodes[i].byz ? " (byzantine)" : "", replica_view(W.nodes[i].r),
                            replica_in_view_change(W.nodes[i].r) ? " (changing)" : "", replica_stable_seq(W.nodes[i].r),
                            replica_last_executed(W.nodes[i].r), st.received, st.dropped_malformed,
                            st.dropped_bad_signature, st.dropped_wrong_sender, st.dropped_out_of_range,
                            st.dropped_wrong_role, st.dropped_conflicting, st.dropped_bad_digest, st.dropped_bad_proof,
                            st.rejected_batches, st.state_transfers);
                    {
                        char d[2048];
                        replica_describe(W.nodes[i].r, d, sizeof d);
                        fprintf(stderr, "      %s\n", d);
                    }
                }
                fprintf(stderr, "sim: reproduce with SIM_SEED=%" PRIu64 " %s --n %u%s%s%s\n", s, argv[0], n,
                        real ? " --real-crypto" : "", sc ? " --scenario " : "", sc ? scenario_name[sc] : "");
            } else if (count == 1) {
                print_summary(s);
            }
            add_totals();
            byz_runs[pl.byz]++;
            world_free();
        }
    }
    printf("sim: honest replicas received %" PRIu64 " messages; dropped: malformed %" PRIu64 ", bad signature %" PRIu64
           ", wrong sender %" PRIu64 ", out of range %" PRIu64 ", wrong role %" PRIu64 ", conflicting %" PRIu64
           ", bad digest %" PRIu64 ", bad proof %" PRIu64 "; batches refused %" PRIu64 "; views entered %" PRIu64
           " (%" PRIu64 " left at a term's end); blocks by state transfer %" PRIu64 "; stable checkpoints %" PRIu64
           " (%" PRIu64 " between multiples of K)\n",
           totals.received, totals.dropped_malformed, totals.dropped_bad_signature, totals.dropped_wrong_sender,
           totals.dropped_out_of_range, totals.dropped_wrong_role, totals.dropped_conflicting,
           totals.dropped_bad_digest, totals.dropped_bad_proof, totals.rejected_batches, totals.view_changes,
           totals.rotations, totals.state_transfers, totals.stable_checkpoints, totals.stable_extra);
    printf("sim: runs per Byzantine behaviour:");
    for (int k = 0; k < BYZ_KINDS; k++)
        printf(" %s %" PRIu64, byz_name[k], byz_runs[k]);
    printf("\n");
    printf("sim: n=%u, %" PRIu64 " runs, %" PRIu64 " failed\n", n, runs, failures);
    return failures ? 1 : 0;
}
