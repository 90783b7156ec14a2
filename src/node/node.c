/* evoted's event loop: see node.h for the shape. A reader following a
 * transaction: client_request() takes a SubmitTx and queues it in the
 * mempool (signature checked on a worker thread); on_verdicts() answers the
 * client and gossips accepted transactions to the other validators
 * (RequestBatch), so whichever validator is primary has them. The primary's
 * propose() builds a Batch for the next seq; the replica runs PBFT; an
 * EXECUTE action reaches execute(), which runs the batch, assembles the
 * block and stores it with its certificate in one LMDB transaction. */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "api.pb-c.h"
#include "api_election.h"
#include "chain_store.h"
#include "consensus.pb-c.h"
#include "fetched.h"
#include "http.h"
#include "ledger.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "node.h"
#include "ratelimit.h"
#include "replica.h"
#include "wire_check.h"

/* A proposal's size: small enough that one block goes through the whole
 * pipeline (3 copies out, validation, two durable writes) well within the
 * view-change timeout on a small machine. */
#define MAX_BATCH_BYTES (2u * 1024u * 1024u)
#define MAX_SERVE_BYTES (2u * 1024u * 1024u) /* one StateResponse: its blocks execute in one event */
#define PEER_TURN_MS 100                       /* peer messages handled per turn of the event loop, at most */
#define MAX_SKEW_MS 30000
#define GOSSIP_MAX 512
#define GOSSIP_MAX_BYTES (4u * 1024u * 1024u) /* one RequestBatch, well under the 16 MiB peer limit */
#define MAX_TX_BYTES (1024u * 1024u)           /* the largest valid transaction is ~350 KB */
#define MAX_WAITERS 10000

typedef struct {
    client_reply_handle reply;
    uint64_t request_id;
    uint8_t id[CRYPTO_HASH_LEN];
    uint64_t deadline;
} waiter;

typedef struct {
    uint64_t ticket;
    client_reply_handle reply;
    uint64_t request_id;
    int from_client;
    char address[64]; /* the client's, for its refusal budget */
} submission;

/* A client's transaction the state gate refused for a reason a block this
 * validator has not executed yet could change (a registration, the
 * election itself): its client is answered only after a second look, once
 * this validator has executed every block it knew to be committed when it
 * refused (after_seq) and is not catching up (restarted and not yet heard
 * from a quorum, or fetching blocks), and not before RECHECK_MIN_MS (time for the COMMITs
 * of a block another validator already executed to arrive). The state's
 * word is then final. Still behind at RECHECK_MS, the client is told this
 * validator is busy catching up (its client asks another): never let
 * through unchecked, or anybody could fill every validator's chain with
 * ballots for elections that do not exist. */
typedef struct {
    uint8_t *bytes;
    size_t len;
    client_reply_handle reply;
    uint64_t request_id;
    uint64_t after_seq;  /* replica_known_seq when refused */
    uint64_t refused_at; /* mono_ms */
    char address[64];
} recheck;

#define MAX_RECHECKS 4096             /* beyond: refused at once */
#define MAX_INFLIGHT_PER_ADDRESS 1024 /* a client's transactions not answered yet, per address */
#define MAX_RECHECK_BYTES (32u << 20) /* their bytes, held outside the mempool's bound */
#define RECHECK_MIN_MS 500
#define RECHECK_MS 2000

/* A proposed batch whose unverified transactions the mempool's workers
 * check, off the event loop; the replica gets the verdict when the last
 * one is in (replica_on_batch_validated). */
#define MAX_VALIDATIONS 64
#define TICKET_VALIDATION (UINT64_C(1) << 63) /* | validation id: not a client's ticket */

typedef struct {
    uint64_t id;
    uint64_t seq;
    uint8_t digest[CRYPTO_HASH_LEN];
    uint8_t *batch;
    size_t len;
    size_t outstanding; /* verdicts still to come */
} validation;

/* An election whose key (or result) this validator attested, or failed
 * to: checked again every ATTEST_RECHECK_MS until the attestation is on
 * chain. */
#define ATTEST_RECHECK_MS 10000
typedef struct {
    uint8_t id[ELECTION_MAX_ID];
    size_t len;
    int result;                  /* 0: the key, 1: the result */
    uint8_t tx[CRYPTO_HASH_LEN]; /* the attestation offered (when has_tx) */
    int has_tx;
    unsigned offers;             /* ATTEST_MAX_OFFERS, then left to the next start */
    uint64_t check_at;           /* mono_ms */
} attest_item;
#define ATTEST_MAX_OFFERS 6

typedef struct {
    int to; /* -1: broadcast */
    uint8_t *bytes;
    size_t len;
} outgoing;

struct node {
    node_config cfg;
    genesis *g;
    uint32_t self;
    signing_key *key;
    chain_store *store;
    election_state_reader state;  /* the election rules' view of the store */
    election_cache *elections;    /* ballot verifiers, shared with execution */
    fetched_ballots *fetched;     /* while a fetched block executes: its ballots checked on every core */
    election_changes *changes;    /* the block being executed */
    mempool *mp;
    rate_table *reads;             /* client_read_rate: each client address's budget */
    rate_table *refusals;          /* client_refusal_rate: each address's refused transactions */
    rate_table *inflight;          /* each address's transactions not answered yet (NULL: no limit) */
    peer_net *net;
    client_endpoint *client;
    client_endpoint *client_curve; /* client_curve_listen, or NULL */
    replica *rep;

    uint64_t timer_at[4]; /* by replica_timer, monotonic ms; 0 = off */

    submission *subs;     /* client submissions waiting for their verdict, in order */
    recheck *rechecks;    /* refusals held for a second look (MAX_RECHECKS entries once used) */
    size_t n_rechecks;
    size_t recheck_bytes;
    uint64_t recheck_at;  /* when the next second look is due (0: none) */
    size_t subs_head, n_subs, cap_subs; /* [subs_head, n_subs) live; ticket 0 = answered */
    uint64_t next_ticket;

    uint64_t logged_vc_view; /* the last view change logged (asked for) */
    uint64_t logged_rotations; /* replica_stats.rotations when it was logged */
    uint64_t logged_skips;     /* replica_stats.turns_skipped when it was logged */
    waiter *waiters;      /* get_tx with wait_ms, until committed or deadline */
    size_t n_waiters;

    uint8_t **gossip;     /* accepted client transactions to send to peers */
    size_t *gossip_lens, n_gossip, gossip_bytes;

    outgoing *out;        /* sends held until the meta is durable */
    size_t n_out, cap_out;
    uint8_t *meta;        /* newest consensus meta not yet written */
    size_t meta_len;
    replica_action *batches; /* PERSIST_BATCH actions not yet written */
    size_t n_batches, cap_batches;

    validation vals[MAX_VALIDATIONS];
    size_t n_vals;
    uint64_t next_val_id;

    uint64_t last_pending_report;
    uint64_t sweep_at;            /* next mempool_sweep (mono ms), 0: nothing pending */
    uint64_t sweep_exec;          /* the last executed seq at the previous sweep() turn */
    uint64_t last_proposed_ms; /* mono_ms of the primary's last proposal */
    uint64_t pace_until;       /* a fuller batch is awaited until then (0: none) */
    uint64_t instance;         /* drawn at start, in every client answer: clients see a restart */
    uint64_t last_exec_ms;     /* mono_ms of the last block executed */
    int tip_checkpoint;        /* the tip is a checkpoint (a K-th or an empty block) */
    uint64_t idle_until;       /* an idle checkpoint is due then (0: none) */
    int fatal;

    attest_item *attests; /* this validator's attestations not yet seen on chain */
    size_t n_attests;
    uint64_t cp_kept;     /* the last stable checkpoint whose proof the store keeps */

    metrics_snapshot m;   /* counters (event loop only), published to http */
    http_server *http;    /* NULL: no http_listen */
    uint64_t last_publish;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ms(void)
{
    return mono_ns() / 1000000u;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void hex8(const uint8_t *h, char out[17])
{
    crypto_hex(h, 8, out);
}

/* ------------------------------------------------------------- callbacks */

static int cb_sign(void *ctx, const char *tag, const uint8_t *msg, size_t len, uint8_t sig[CRYPTO_SIG_LEN])
{
    node *n = ctx;
    return signing_key_sign(n->key, tag, msg, len, sig) == CRYPTO_OK;
}

static int cb_verify(void *ctx, const uint8_t pub[CRYPTO_PUBKEY_LEN], const char *tag, const uint8_t *msg,
                     size_t len, const uint8_t sig[CRYPTO_SIG_LEN])
{
    (void)ctx;
    return crypto_verify(pub, tag, msg, len, sig) == CRYPTO_OK;
}

static int check_batch(node *n, uint64_t seq, const uint8_t *batch, size_t len)
{
    size_t bad = 0;
    ledger_err err = ledger_batch_check(batch, len, n->g->chain_id, seq, wall_ms(), MAX_SKEW_MS,
                                        n->g->max_batch_txs, n->mp, &bad);
    if (err != LEDGER_OK) {
        log_warn("seq=%" PRIu64 " refused the primary's batch: %s (transaction %zu)", seq, ledger_strerror(err),
                 bad);
        return 0;
    }
    return 1;
}

/* A backup checks a proposal. Transactions its mempool has not verified yet
 * go to the workers, ahead of the queue, and the replica waits for the
 * verdict (on_verdicts -> validation_done) while the event loop goes on;
 * the checks themselves are ledger_batch_check's, run once every signature
 * is known. Anything unusual (a malformed batch, no memory) is checked here
 * and now. */
static int cb_validate(void *ctx, uint64_t seq, const uint8_t *batch, size_t len)
{
    node *n = ctx;
    Evote__V1__Batch *b;
    validation *v;
    int sync = 1;

    if (n->n_vals == MAX_VALIDATIONS)
        return check_batch(n, seq, batch, len);
    b = evote__v1__batch__unpack(NULL, len, batch);
    v = &n->vals[n->n_vals];
    memset(v, 0, sizeof *v);
    if (b != NULL && b->seq == seq && b->n_txs <= n->g->max_batch_txs && b->chain_id.len == CRYPTO_CHAIN_ID_LEN &&
        memcmp(b->chain_id.data, n->g->chain_id, CRYPTO_CHAIN_ID_LEN) == 0) {
        v->id = ++n->next_val_id & ~TICKET_VALIDATION;
        for (size_t i = 0; i < b->n_txs; i++) {
            uint8_t id[CRYPTO_HASH_LEN];
            envelope_txid(b->txs[i].data, b->txs[i].len, id);
            if (mempool_is_verified(n->mp, id))
                continue;
            if (mempool_submit_first(n->mp, b->txs[i].data, b->txs[i].len, TICKET_VALIDATION | v->id) == LEDGER_OK)
                v->outstanding++;
        }
        if (v->outstanding > 0 && (v->batch = malloc(len)) != NULL) {
            memcpy(v->batch, batch, len);
            v->len = len;
            v->seq = seq;
            crypto_tagged_hash(CRYPTO_TAG_BATCH, batch, len, v->digest);
            n->n_vals++;
            sync = 0;
        }
        /* else: all verified already (or no memory: the verdicts that come
         * find no validation and are dropped) */
    }
    if (b != NULL)
        evote__v1__batch__free_unpacked(b, NULL);
    return sync ? check_batch(n, seq, batch, len) : REPLICA_VALIDATE_LATER;
}

/* A verdict for a transaction of a proposal being validated. */
static void validation_verdict(node *n, uint64_t ticket)
{
    uint64_t id = ticket & ~TICKET_VALIDATION;
    for (size_t i = 0; i < n->n_vals; i++) {
        validation *v = &n->vals[i];
        if (v->id != id)
            continue;
        if (--v->outstanding == 0) {
            validation done = *v;
            n->vals[i] = n->vals[--n->n_vals];
            /* Every signature is now known to the mempool (or failed, and is
             * checked again here: only a faulty primary pays for that).
             * Unless the seq executed meanwhile (a replica catching up by
             * state transfer): there is nothing to decide, and checking
             * would put the block's transactions back in the mempool
             * (ledger_batch_check adds what it verifies) as requests
             * waiting forever, on which this replica's view timer would
             * fire alone. */
            if (done.seq > replica_last_executed(n->rep))
                replica_on_batch_validated(n->rep, done.seq, done.digest,
                                           check_batch(n, done.seq, done.batch, done.len));
            free(done.batch);
        }
        return;
    }
}

static int cb_load_batch(void *ctx, uint64_t seq, const uint8_t digest[CRYPTO_HASH_LEN], uint8_t **batch,
                         size_t *len)
{
    node *n = ctx;
    uint8_t *block = NULL, d[CRYPTO_HASH_LEN];
    size_t blen = 0;
    Evote__V1__Block *b;
    int ok = 0;

    if (chain_store_get_pending_batch(n->store, seq, digest, batch, len) == STORE_OK)
        return 1;
    if (chain_store_get_block(n->store, seq, &block, &blen) != STORE_OK)
        return 0;
    b = evote__v1__block__unpack(NULL, blen, block);
    if (b != NULL) {
        crypto_tagged_hash(CRYPTO_TAG_BATCH, b->batch.data, b->batch.len, d);
        if (memcmp(d, digest, CRYPTO_HASH_LEN) == 0 && (*batch = malloc(b->batch.len ? b->batch.len : 1)) != NULL) {
            memcpy(*batch, b->batch.data, b->batch.len);
            *len = b->batch.len;
            ok = 1;
        }
        evote__v1__block__free_unpacked(b, NULL);
    }
    free(block);
    return ok;
}

static int ballot_verdict(void *ctx, const uint8_t id[CRYPTO_HASH_LEN], const elgamal_ct **cts, size_t *n)
{
    node *nd = ctx;
    int from = fetched_verdict(nd->fetched, id, cts, n) ? 1 : mempool_ballot_verdict(nd->mp, id, cts, n) ? 0 : 2;
    nd->m.ballot_verdicts[from]++;
    return from < 2;
}

static int state_get(void *ctx, const uint8_t *key, size_t key_len, uint8_t **value, size_t *len)
{
    node *n = ctx;
    store_err e = chain_store_get_state(n->store, key, key_len, value, len);
    return e == STORE_OK ? 1 : e == STORE_ERR_NOT_FOUND ? 0 : -1;
}

static int tx_committed(void *ctx, const uint8_t id[CRYPTO_HASH_LEN])
{
    node *n = ctx;
    return chain_store_find_tx(n->store, id, NULL, NULL, NULL) == STORE_OK;
}

/* The mempool's state gate (on its worker threads): what the state at the
 * tip says of a client's ballot or trustee step (election_admit). A
 * refused one already in the chain passes (the mempool then answers it as
 * a duplicate). Every refusal counts, also those a later block could
 * change: a client's transaction so refused is held for a second look
 * (recheck), never let through on the chance that this validator lacks a
 * block; a forwarded one is dropped only for a final refusal
 * (MEMPOOL_GATE_FINAL_ONLY). */
static Evote__V1__TxResult state_gate(void *ctx, const Evote__V1__TxBody *body, const uint8_t signer[CRYPTO_PUBKEY_LEN],
                                      const uint8_t id[CRYPTO_HASH_LEN], int *final)
{
    node *n = ctx;
    uint64_t height, time_ms;
    uint8_t hash[CRYPTO_HASH_LEN];
    Evote__V1__TxResult r;

    if (!election_admit_asks(body))
        return EVOTE__V1__TX_RESULT__TX_RESULT_OK; /* nothing to ask the state */
    if (chain_store_tip(n->store, &height, hash, &time_ms) != STORE_OK)
        return EVOTE__V1__TX_RESULT__TX_RESULT_UNSPECIFIED;
    /* An empty chain: a new validator that may not have heard from its
     * peers yet (a replaced host fetches the whole chain). */
    r = election_admit(&n->state, n->g->chain_id, body, signer, id, height, time_ms, 1, final);
    if (r != EVOTE__V1__TX_RESULT__TX_RESULT_OK && r != EVOTE__V1__TX_RESULT__TX_RESULT_UNSPECIFIED &&
        tx_committed(n, id))
        return EVOTE__V1__TX_RESULT__TX_RESULT_OK;
    return r;
}

/* Election ids whose record has a key Y (open[i]: and is still open),
 * collected from the state in one read transaction (the cache loads them
 * after it: LMDB allows one read transaction per thread). */
typedef struct {
    uint8_t (*ids)[ELECTION_MAX_ID];
    size_t *lens, n, cap;
    uint8_t *open;
} open_elections;

static int collect_open_election(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *value,
                                 size_t value_len)
{
    open_elections *oe = ctx;
    Evote__V1__ElectionRecord *rec;
    if (key_len == 0 || key[0] < ELECTION_KEY_ELECTION)
        return 0;
    if (key[0] > ELECTION_KEY_ELECTION)
        return 1; /* keys are ordered: no election record after this */
    rec = evote__v1__election_record__unpack(NULL, value_len, value);
    if (rec == NULL)
        return 0; /* execution reports a bad record when it reads it */
    if (rec->election_key.len != 0 && rec->definition != NULL && rec->definition->election_id.len > 0 &&
        rec->definition->election_id.len <= ELECTION_MAX_ID) {
        if (oe->n == oe->cap) {
            size_t cap = oe->cap ? oe->cap * 2 : 8;
            void *ids = realloc(oe->ids, cap * sizeof *oe->ids), *lens = NULL, *open = NULL;
            if (ids != NULL)
                oe->ids = ids;
            lens = ids != NULL ? realloc(oe->lens, cap * sizeof *oe->lens) : NULL;
            if (lens != NULL)
                oe->lens = lens;
            open = lens != NULL ? realloc(oe->open, cap) : NULL;
            if (open == NULL) {
                evote__v1__election_record__free_unpacked(rec, NULL);
                return 1;
            }
            oe->open = open;
            oe->cap = cap;
        }
        memcpy(oe->ids[oe->n], rec->definition->election_id.data, rec->definition->election_id.len);
        oe->open[oe->n] = !rec->closed;
        oe->lens[oe->n++] = rec->definition->election_id.len;
    }
    evote__v1__election_record__free_unpacked(rec, NULL);
    return 0;
}

static void attest_track(node *n, const uint8_t *id, size_t len, int result, unsigned offers);

/* After a restart the ballot verifiers of open elections are loaded at once,
 * so the mempool's workers check ballots' proofs from the first one on
 * (otherwise every ballot waits for execution to check it on the event loop
 * until one ballot of that election has executed). Only an optimization: a
 * failure is logged and changes no result. Every election with a key gets
 * this validator's attestations of its key and result if the chain lacks
 * them (one in the mempool dies with a crash). */
static void load_open_elections(node *n)
{
    open_elections oe = {0};
    size_t loaded = 0, open = 0;
    const uint8_t from = ELECTION_KEY_ELECTION; /* not one key per ballot or voter below it */
    if (chain_store_iterate_state_from(n->store, &from, 1, collect_open_election, &oe) != STORE_OK)
        log_warn("could not list the open elections: ballots are checked at execution until their first block");
    for (size_t i = 0; i < oe.n; i++) {
        if (oe.open[i]) {
            open++;
            if (election_cache_load(n->elections, &n->state, oe.ids[i], oe.lens[i]) == ELECTION_OK)
                loaded++;
        }
        attest_track(n, oe.ids[i], oe.lens[i], 0, 0);
        attest_track(n, oe.ids[i], oe.lens[i], 1, 0);
    }
    if (open > 0)
        log_info("loaded the ballot verifiers of %zu of %zu open elections", loaded, open);
    free(oe.ids);
    free(oe.lens);
    free(oe.open);
}

/* --------------------------------------------------------------- replies */

static void reply(node *n, const client_reply_handle *to, Evote__V1__ApiResponse *resp)
{
    size_t len;
    resp->node_instance = n->instance;
    len = evote__v1__api_response__get_packed_size(resp);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL)
        return;
    evote__v1__api_response__pack(resp, buf);
    if (len == 0) { /* an all-default response still needs one byte on the wire */
        free(buf);
        return;
    }
    if (client_endpoint_reply(to->slot == 1 && n->client_curve != NULL ? n->client_curve : n->client, to, buf, len) !=
        NET_OK)
        log_debug("a client left before its answer");
    free(buf);
}

static void reply_status(node *n, const client_reply_handle *to, uint64_t rid, Evote__V1__ApiStatus st,
                         const char *reason)
{
    Evote__V1__ApiResponse r = EVOTE__V1__API_RESPONSE__INIT;
    r.request_id = rid;
    r.status = st;
    r.reason = (char *)(reason ? reason : "");
    reply(n, to, &r);
}

/* The status of a transaction as this node knows it. */
static void tx_status(node *n, const uint8_t id[CRYPTO_HASH_LEN], Evote__V1__TxStatus *ts)
{
    uint64_t height;
    uint32_t index;
    Evote__V1__TxResult result;

    ts->id.data = (uint8_t *)id;
    ts->id.len = CRYPTO_HASH_LEN;
    if (chain_store_find_tx(n->store, id, &height, &index, &result) == STORE_OK) {
        ts->state = EVOTE__V1__TX_STATE__TX_STATE_COMMITTED;
        ts->height = height;
        ts->index = index;
        ts->result = result;
    } else if (mempool_is_verified(n->mp, id)) {
        ts->state = EVOTE__V1__TX_STATE__TX_STATE_PENDING;
    } else {
        ts->state = EVOTE__V1__TX_STATE__TX_STATE_UNKNOWN;
    }
}

static void reply_tx(node *n, const client_reply_handle *to, uint64_t rid, const uint8_t id[CRYPTO_HASH_LEN])
{
    Evote__V1__ApiResponse r = EVOTE__V1__API_RESPONSE__INIT;
    Evote__V1__TxStatus ts = EVOTE__V1__TX_STATUS__INIT;
    tx_status(n, id, &ts);
    r.request_id = rid;
    r.status = EVOTE__V1__API_STATUS__API_STATUS_OK;
    r.reason = "";
    r.tx = &ts;
    reply(n, to, &r);
}

static int id_cmp(const void *a, const void *b)
{
    return memcmp(a, b, CRYPTO_HASH_LEN);
}

/* Answers the waiters whose transaction is among the block's ids (NULL:
 * none) and those whose deadline passed. A waiter registers only while its
 * transaction is not committed, and every block executed afterwards comes
 * through here, so the block's ids are all that must be looked at: sorted
 * once, no chain store lookup per waiter per block. */
static void answer_waiters(node *n, const uint8_t (*ids)[CRYPTO_HASH_LEN], size_t n_ids)
{
    uint64_t now = mono_ms();
    uint8_t (*sorted)[CRYPTO_HASH_LEN] = NULL;
    size_t k = 0;

    if (n->n_waiters == 0)
        return;
    if (ids != NULL && n_ids > 0) {
        sorted = malloc(n_ids * sizeof *sorted);
        if (sorted != NULL) {
            memcpy(sorted, ids, n_ids * sizeof *sorted);
            qsort(sorted, n_ids, sizeof *sorted, id_cmp);
        }
    }
    for (size_t i = 0; i < n->n_waiters; i++) {
        waiter *w = &n->waiters[i];
        int committed = ids != NULL && n_ids > 0 &&
                        (sorted != NULL ? bsearch(w->id, sorted, n_ids, sizeof *sorted, id_cmp) != NULL
                                        : tx_committed(n, w->id));
        if (committed || now >= w->deadline) {
            reply_tx(n, &w->reply, w->request_id, w->id);
            continue;
        }
        n->waiters[k++] = *w;
    }
    n->n_waiters = k;
    free(sorted);
}

/* ---------------------------------------------------------------- outbox */

static void outbox_add(node *n, int to, uint8_t *bytes, size_t len)
{
    if (n->n_out == n->cap_out) {
        size_t cap = n->cap_out ? n->cap_out * 2 : 64;
        outgoing *o = realloc(n->out, cap * sizeof *o);
        if (o == NULL) {
            free(bytes);
            return;
        }
        n->out = o;
        n->cap_out = cap;
    }
    n->out[n->n_out].to = to;
    n->out[n->n_out].bytes = bytes;
    n->out[n->n_out].len = len;
    n->n_out++;
}

/* The meta first (durable), then the messages that depend on it. */
static void flush(node *n)
{
    if (n->meta != NULL || n->n_batches > 0) {
        chain_store_pending_batch pb[64];
        store_err err = STORE_OK;
        size_t done = 0;
        uint64_t t0 = mono_ns();
        /* One transaction per 64 batches; the meta goes with the last. */
        do {
            size_t k = n->n_batches - done > 64 ? 64 : n->n_batches - done;
            int last = done + k == n->n_batches;
            for (size_t i = 0; i < k; i++) {
                pb[i].seq = n->batches[done + i].seq;
                pb[i].digest = n->batches[done + i].digest;
                pb[i].batch = n->batches[done + i].batch;
                pb[i].len = n->batches[done + i].batch_len;
            }
            err = chain_store_put_consensus(n->store, last ? n->meta : NULL, last ? n->meta_len : 0, pb, k);
            done += k;
        } while (err == STORE_OK && done < n->n_batches);
        n->m.store_writes[1]++;
        n->m.store_write_ns[1] += mono_ns() - t0;
        for (size_t i = 0; i < n->n_batches; i++)
            replica_action_clear(&n->batches[i]);
        n->n_batches = 0;
        if (err != STORE_OK) {
            char why[512];
            chain_store_explain(n->store, err, why, sizeof why);
            log_error("cannot store the consensus state: %s — stopping without sending, so nothing "
                      "signed is forgotten",
                      why);
            n->fatal = 1;
            for (size_t i = 0; i < n->n_out; i++)
                free(n->out[i].bytes);
            n->n_out = 0;
            return;
        }
        free(n->meta);
        n->meta = NULL;
    }
    for (size_t i = 0; i < n->n_out; i++) {
        n->m.msgs_sent[metrics_peer_message_kind(n->out[i].bytes, n->out[i].len)] +=
            n->out[i].to < 0 ? n->g->n - 1 : 1;
        net_err err = n->out[i].to < 0 ? peer_net_broadcast(n->net, n->out[i].bytes, n->out[i].len)
                                       : peer_net_send(n->net, (uint32_t)n->out[i].to, n->out[i].bytes,
                                                       n->out[i].len);
        if (err == NET_ERR_TOO_LARGE)
            log_warn("a %zu-byte consensus message was not sent: %s", n->out[i].len, net_strerror(err));
        else if (err != NET_OK && err != NET_ERR_QUEUE_FULL)
            log_debug("send failed: %s", net_strerror(err));
        free(n->out[i].bytes);
    }
    n->n_out = 0;
}

/* -------------------------------------------------------- checkpoints */

#define PROOF_MAX_HEADERS 1024 /* a proof further than this above a block is not sent */

/* GetBlock with_proof: the kept proof of the first checkpoint at or above
 * height and the headers above the block up to it, into r (the caller
 * frees *proof and each of *headers). Nothing when no checkpoint covers
 * the block yet, this node has not stored up to it, or it is further than
 * PROOF_MAX_HEADERS. */
static void add_checkpoint_proof(node *n, uint64_t height, Evote__V1__ApiResponse *r, uint8_t **proof,
                                 ProtobufCBinaryData **headers)
{
    uint64_t seq = 0, tip = 0;
    size_t plen = 0, k = 0;

    *proof = NULL;
    *headers = NULL;
    if (chain_store_find_checkpoint(n->store, height, &seq, proof, &plen) != STORE_OK ||
        chain_store_tip(n->store, &tip, NULL, NULL) != STORE_OK || seq > tip || seq - height > PROOF_MAX_HEADERS)
        goto none;
    if (seq > height && (*headers = calloc(seq - height, sizeof **headers)) == NULL)
        goto none;
    for (uint64_t h = height + 1; h <= seq; h++, k++)
        if (chain_store_get_header(n->store, h, &(*headers)[k].data, &(*headers)[k].len) != STORE_OK)
            goto none; /* headers only: a few hundred bytes each, whatever the blocks' size */
    r->checkpoint_proof.data = *proof;
    r->checkpoint_proof.len = plen;
    r->headers = *headers;
    r->n_headers = k;
    return;
none:
    if (*headers != NULL)
        for (size_t i = 0; i < k; i++)
            free((*headers)[i].data);
    free(*headers);
    free(*proof);
    *headers = NULL;
    *proof = NULL;
}

/* Keeps each new stable checkpoint's proof in the store: clients ask for it
 * (GetBlock with_proof) to see a block's results certified. */
static void keep_checkpoint(node *n)
{
    Evote__V1__CheckpointProof cp = EVOTE__V1__CHECKPOINT_PROOF__INIT;
    uint8_t *const *envs;
    const size_t *lens;
    size_t count, len;
    uint64_t seq = replica_stable_proof(n->rep, &envs, &lens, &count);
    ProtobufCBinaryData *items;
    uint8_t *buf = NULL;
    store_err err = STORE_ERR_NOMEM;

    if (seq <= n->cp_kept || count == 0)
        return;
    items = calloc(count, sizeof *items);
    if (items != NULL) {
        for (size_t i = 0; i < count; i++)
            items[i] = (ProtobufCBinaryData){lens[i], envs[i]};
        cp.seq = seq;
        cp.checkpoints = items;
        cp.n_checkpoints = count;
        len = evote__v1__checkpoint_proof__get_packed_size(&cp);
        buf = malloc(len ? len : 1);
        if (buf != NULL) {
            evote__v1__checkpoint_proof__pack(&cp, buf);
            err = chain_store_put_checkpoint(n->store, seq, buf, len);
        }
    }
    if (err != STORE_OK) {
        char why[512];
        chain_store_explain(n->store, err, why, sizeof why);
        log_warn("seq=%" PRIu64 " the stable checkpoint's proof was not kept (%s): clients cannot have the "
                 "results of the blocks below it certified by this checkpoint (the next one covers them)",
                 seq, why);
    }
    n->cp_kept = seq;
    free(items);
    free(buf);
}

/* ---------------------------------------------------------- attestations */

static void gossip_add(node *n, const uint8_t *bytes, size_t len);

/* An election id for the log: non-printable bytes as '?'. */
static void printable_id(const uint8_t *id, size_t len, char out[ELECTION_MAX_ID + 1])
{
    size_t i;
    for (i = 0; i < len && i < ELECTION_MAX_ID; i++)
        out[i] = id[i] >= 0x20 && id[i] <= 0x7e ? (char)id[i] : '?';
    out[i] = '\0';
}

/* Signs this validator's attestation of an election's key and definition
 * (result 0) or of its result (1) (election.h) and offers it as a
 * transaction of its own, unless the chain has it already. Voters' clients
 * encrypt only to a key, and `evote result` shows only counts, that f+1
 * validators vouch for. A second one (a race with a restart or a recheck)
 * is refused with ALREADY_SUBMITTED and does no harm.
 * Returns: 0 nothing to do (on chain already, or no key / result yet), 1
 * offered (*txid set), -1 not offered (said why). */
static int attest_election(node *n, const uint8_t *id, size_t len, int result, uint8_t txid[CRYPTO_HASH_LEN])
{
    Evote__V1__ElectionRecord *rec = NULL;
    Evote__V1__ElectionResult *res = NULL;
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__ElectionAttestation att = EVOTE__V1__ELECTION_ATTESTATION__INIT;
    election_attest_msg m;
    uint8_t sig[CRYPTO_SIG_LEN], *have = NULL, *tx = NULL;
    size_t have_len = 0, tx_len = 0;
    char name[ELECTION_MAX_ID + 1];
    const char *what = result ? "its result" : "its key";
    ledger_err lerr;
    election_err err;
    int rc = -1;

    printable_id(id, len, name);
    err = election_get(&n->state, n->g->chain_id, id, len, &rec);
    if (err == ELECTION_OK && rec->election_key.len != 0 && result)
        err = election_get_result(&n->state, n->g->chain_id, id, len, &res);
    if (err == ELECTION_ERR_NOT_FOUND || (err == ELECTION_OK && rec->election_key.len == 0)) {
        rc = 0; /* nothing to attest (yet) */
        goto out;
    }
    if (err != ELECTION_OK) {
        log_warn("election '%s': cannot read it to attest %s (%s); trying again in %d s", name, what,
                 election_strerror(err), ATTEST_RECHECK_MS / 1000);
        goto out;
    }
    if (election_get_attestations(&n->state, n->g->chain_id, id, len, result, &have, &have_len) != ELECTION_OK) {
        log_warn("election '%s': cannot read the attestations of %s; trying again in %d s", name, what,
                 ATTEST_RECHECK_MS / 1000);
        goto out;
    }
    for (size_t i = 0; i < have_len; i += ELECTION_ATTEST_ENTRY_LEN)
        if (election_attestation_validator(have + i) == n->self) {
            rc = 0; /* on the chain already */
            goto out;
        }
    if (!(result ? election_result_attest_msg(rec, res, &m) : election_key_attest_msg(rec, &m)) ||
        signing_key_sign(n->key, m.tag, m.msg, m.len, sig) != CRYPTO_OK)
        goto failed;
    att.election_id.data = (uint8_t *)id;
    att.election_id.len = len;
    att.election_key = rec->election_key;
    att.definition_hash.data = m.msg + ELECTION_HASH_LEN + EC_POINT_LEN;
    att.definition_hash.len = CRYPTO_HASH_LEN;
    if (result) {
        att.result_hash.data = m.msg + ELECTION_ATTEST_MSG_LEN;
        att.result_hash.len = CRYPTO_HASH_LEN;
    }
    att.signature.data = sig;
    att.signature.len = sizeof sig;
    body.chain_id.data = n->g->chain_id;
    body.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    body.created_ms = wall_ms();
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_ATTESTATION;
    body.election_attestation = &att;
    if (crypto_random(&body.nonce, sizeof body.nonce) != CRYPTO_OK ||
        ledger_tx_seal(&body, n->key, &tx, &tx_len) != CRYPTO_OK)
        goto failed;
    lerr = mempool_submit(n->mp, tx, tx_len, 0);
    if (lerr != LEDGER_OK) {
        log_warn("election '%s': this validator's attestation of %s was not queued (%s); offering it "
                 "again in %d s",
                 name, what, ledger_strerror(lerr), ATTEST_RECHECK_MS / 1000);
        goto out;
    }
    gossip_add(n, tx, tx_len);
    envelope_txid(tx, tx_len, txid);
    rc = 1;
    log_info("election '%s': attested %s (clients need f+1 = %u validators' attestations)", name,
             result ? "its result" : "its key and definition", n->g->f + 1);
    goto out;
failed:
    log_warn("election '%s': cannot sign this validator's attestation of %s; trying again in %d s", name, what,
             ATTEST_RECHECK_MS / 1000);
out:
    free(tx);
    free(have);
    if (rec != NULL)
        evote__v1__election_record__free_unpacked(rec, NULL);
    if (res != NULL)
        evote__v1__election_result__free_unpacked(res, NULL);
    return rc;
}

/* Attests an election's key and follows the attestation until it is on
 * chain: one lost with a primary that dropped it, or never queued, is
 * offered again (attest_recheck), up to ATTEST_MAX_OFFERS times. */
static void attest_track(node *n, const uint8_t *id, size_t len, int result, unsigned offers)
{
    uint8_t txid[CRYPTO_HASH_LEN];
    int rc;
    attest_item *it;

    if (offers >= ATTEST_MAX_OFFERS) {
        char name[ELECTION_MAX_ID + 1];
        printable_id(id, len, name);
        log_warn("election '%s': this validator's attestation of %s is still not on the chain after %u "
                 "offers; not offering it again until evoted restarts (look for refused transactions with "
                 "'evote block')",
                 name, result ? "its result" : "its key", offers);
        return;
    }
    rc = attest_election(n, id, len, result, txid);
    if (rc == 0)
        return;
    for (it = n->attests; it < n->attests + n->n_attests; it++)
        if (it->len == len && it->result == result && memcmp(it->id, id, len) == 0)
            break;
    if (it == n->attests + n->n_attests) {
        attest_item *grown = realloc(n->attests, (n->n_attests + 1) * sizeof *grown);
        if (grown == NULL)
            return; /* offered again at the next start */
        n->attests = grown;
        it = &n->attests[n->n_attests++];
        memcpy(it->id, id, len);
        it->len = len;
        it->result = result;
    }
    it->has_tx = rc == 1;
    it->offers = offers + 1;
    if (rc == 1)
        memcpy(it->tx, txid, CRYPTO_HASH_LEN);
    it->check_at = mono_ms() + ATTEST_RECHECK_MS;
}

/* Every ATTEST_RECHECK_MS per election: done once the chain has the
 * attestation; while it waits in the mempool, left alone; otherwise
 * offered again. */
static void attest_recheck(node *n, uint64_t now)
{
    for (size_t i = 0; i < n->n_attests;) {
        attest_item it = n->attests[i];
        const uint8_t *bytes;
        size_t blen;
        if (it.check_at > now) {
            i++;
            continue;
        }
        if (it.has_tx && mempool_get_tx(n->mp, it.tx, &bytes, &blen)) {
            n->attests[i++].check_at = now + ATTEST_RECHECK_MS;
            continue;
        }
        n->attests[i] = n->attests[--n->n_attests];
        attest_track(n, it.id, it.len, it.result, it.offers); /* re-adds it when still not on chain */
    }
}

/* Attests what the block just stored derived: the keys of elections whose
 * record it changed with key_height this seq, and the results it recorded
 * ('R' || E: the record gives the id). */
static void attest_derived(node *n, uint64_t seq)
{
    for (size_t i = 0; i < election_changes_count(n->changes); i++) {
        const uint8_t *k, *v;
        uint8_t *stored = NULL;
        size_t kl, vl, slen = 0;
        int del, result;
        Evote__V1__ElectionRecord *rec;
        election_changes_at(n->changes, i, &k, &kl, &v, &vl, &del);
        if (del || kl != 1 + ELECTION_HASH_LEN || (k[0] != ELECTION_KEY_ELECTION && k[0] != ELECTION_KEY_RESULT))
            continue;
        result = k[0] == ELECTION_KEY_RESULT;
        if (result) { /* the record, as stored */
            uint8_t key[1 + ELECTION_HASH_LEN];
            key[0] = ELECTION_KEY_ELECTION;
            memcpy(key + 1, k + 1, ELECTION_HASH_LEN);
            if (state_get(n, key, sizeof key, &stored, &slen) != 1)
                continue;
            v = stored;
            vl = slen;
        }
        rec = evote__v1__election_record__unpack(NULL, vl, v);
        free(stored);
        if (rec == NULL)
            continue;
        if (rec->election_key.len != 0 && (result || rec->key_height == seq) && rec->definition != NULL &&
            rec->definition->election_id.len >= 1 && rec->definition->election_id.len <= ELECTION_MAX_ID)
            attest_track(n, rec->definition->election_id.data, rec->definition->election_id.len, result, 0);
        evote__v1__election_record__free_unpacked(rec, NULL);
    }
}

/* --------------------------------------------------------------- execute */

static void execute(node *n, replica_action *a)
{
    Evote__V1__TxResult *results = NULL;
    uint8_t (*ids)[CRYPTO_HASH_LEN] = NULL;
    Evote__V1__Batch *batch = NULL;
    uint8_t tip_hash[CRYPTO_HASH_LEN], hash[CRYPTO_HASH_LEN], *block = NULL;
    uint64_t tip, tip_ts, w0;
    size_t nres = 0, block_len = 0;
    ledger_chain_view view;
    chain_store_append_args args;
    chain_store_state_change *state = NULL;
    size_t n_state = 0;
    store_err serr;
    ledger_err lerr;
    char h[17];

    if (chain_store_tip(n->store, &tip, tip_hash, &tip_ts) != STORE_OK || a->seq != tip + 1) {
        log_error("seq=%" PRIu64 " cannot execute: the store's tip is %" PRIu64 " — the data directory does "
                  "not match the consensus state; restore it from a snapshot",
                  a->seq, tip);
        n->fatal = 1;
        return;
    }
    batch = evote__v1__batch__unpack(NULL, a->batch_len, a->batch);
    results = calloc(n->g->max_batch_txs + 1, sizeof *results);
    ids = calloc(n->g->max_batch_txs + 1, sizeof *ids);
    if (batch == NULL || results == NULL || ids == NULL || batch->n_txs > n->g->max_batch_txs) {
        log_error("seq=%" PRIu64 " a committed batch does not parse: this cannot happen with 2f+1 honest "
                  "validators; stopping",
                  a->seq);
        n->fatal = 1;
        goto out;
    }
    memset(&view, 0, sizeof view);
    view.tx_committed = tx_committed;
    view.ctx = n;
    view.state = &n->state;
    view.cache = n->elections;
    view.changes = n->changes;
    view.ballot_verdict = ballot_verdict;
    view.height = a->seq;
    view.prev_timestamp_ms = tip_ts;
    view.ids_out = ids;
    election_changes_clear(n->changes);
    /* A block from state transfer: no verdict here for its ballots yet. */
    if (a->fetched) {
        uint64_t t0 = mono_ms();
        n->m.fetched_blocks++;
        size_t np = fetched_check(n->mp, n->elections, n->g->chain_id, batch, &n->fetched);
        if (np > 0)
            log_debug("seq=%" PRIu64 " a fetched block: %zu ballots' proofs checked on every core in %" PRIu64 " ms",
                      a->seq, np, mono_ms() - t0);
    }
    lerr = ledger_execute_batch(n->g, a->batch, a->batch_len, &view, n->g->max_batch_txs, results, &nres);
    fetched_free(&n->fetched);
    if (lerr == LEDGER_OK)
        lerr = ledger_block_assemble_ids(n->g->chain_id, a->seq, tip_hash, tip_ts, a->batch, a->batch_len,
                                         (const uint8_t(*)[CRYPTO_HASH_LEN])ids, results, nres, &block,
                                         &block_len, hash);
    if (lerr != LEDGER_OK) {
        log_error("seq=%" PRIu64 " cannot execute the committed batch: %s; stopping", a->seq,
                  ledger_strerror(lerr));
        n->fatal = 1;
        goto out;
    }
    n_state = election_changes_count(n->changes);
    if (n_state > 0 && (state = calloc(n_state, sizeof *state)) == NULL) {
        log_error("seq=%" PRIu64 " out of memory for the election state changes; stopping", a->seq);
        n->fatal = 1;
        goto out;
    }
    for (size_t i = 0; i < n_state; i++)
        election_changes_at(n->changes, i, &state[i].key, &state[i].key_len, &state[i].value,
                            &state[i].value_len, &state[i].del);
    memset(&args, 0, sizeof args);
    args.block = block;
    args.block_len = block_len;
    args.cert = a->certificate;
    args.cert_len = a->certificate_len;
    args.tx_ids = (const uint8_t(*)[CRYPTO_HASH_LEN])ids;
    args.tx_results = results;
    args.n_txs = nres;
    args.state = state;
    args.n_state = n_state;
    args.consensus_meta = n->meta;
    args.consensus_meta_len = n->meta_len;
    w0 = mono_ns();
    serr = chain_store_append(n->store, &args);
    n->m.store_writes[0]++;
    n->m.store_write_ns[0] += mono_ns() - w0;
    if (serr != STORE_OK) {
        char why[512];
        chain_store_explain(n->store, serr, why, sizeof why);
        log_error("seq=%" PRIu64 " cannot store the block: %s; stopping (nothing was written)", a->seq, why);
        n->fatal = 1;
        goto out;
    }
    free(n->meta); /* written with the block */
    n->meta = NULL;
    mempool_commit(n->mp, (const uint8_t(*)[CRYPTO_HASH_LEN])ids, batch->n_txs);
    metrics_note_block(&n->m, batch->txs, batch->n_txs, results, nres, wall_ms());
    hex8(hash, h);
    log_info("view=%" PRIu64 " seq=%" PRIu64 " committed block %s with %zu transactions", a->view, a->seq, h,
             batch->n_txs);
    /* Every block without transactions is a checkpoint too, on every
     * replica alike: how a primary certifies a quiet chain's tail
     * (propose_idle_checkpoint). */
    replica_on_executed(n->rep, a->seq, hash, batch->n_txs == 0);
    if (a->seq == replica_last_executed(n->rep)) {
        n->last_exec_ms = mono_ms();
        n->tip_checkpoint = batch->n_txs == 0 || a->seq % n->g->checkpoint_interval == 0;
    }
    answer_waiters(n, (const uint8_t(*)[CRYPTO_HASH_LEN])ids, batch->n_txs);
    attest_derived(n, a->seq); /* the store has the block's changes now */
out:
    if (batch)
        evote__v1__batch__free_unpacked(batch, NULL);
    free(state);
    election_changes_clear(n->changes);
    free(results);
    free(ids);
    free(block);
}

static void serve_blocks(node *n, replica_action *a)
{
    enum { MAX = 64 };
    uint8_t *blocks[MAX], *certs[MAX];
    size_t blens[MAX], clens[MAX], count = 0, bytes = 0;

    for (uint64_t h = a->from; h <= a->through && count < MAX; h++) {
        if (chain_store_get_block(n->store, h, &blocks[count], &blens[count]) != STORE_OK)
            break;
        if (chain_store_get_cert(n->store, h, &certs[count], &clens[count]) != STORE_OK) {
            free(blocks[count]);
            break;
        }
        if (count > 0 && bytes + blens[count] + clens[count] > MAX_SERVE_BYTES) {
            free(blocks[count]); /* the next response carries it */
            free(certs[count]);
            break;
        }
        bytes += blens[count] + clens[count];
        count++;
    }
    if (count > 0 && !replica_serve(n->rep, a->to, (const uint8_t *const *)blocks, blens,
                                    (const uint8_t *const *)certs, clens, count))
        log_warn("cannot serve blocks %" PRIu64 "..%" PRIu64 " to validator %u", a->from, a->through, a->to);
    for (size_t i = 0; i < count; i++) {
        free(blocks[i]);
        free(certs[i]);
    }
}

/* After a view change the mempool gives back what earlier proposals took,
 * except what the new view re-proposes: the primary must never propose a
 * transaction twice. */
static void keep_reproposed_taken(node *n)
{
    const uint8_t *batches[256];
    size_t lens[256], nb = replica_inflight_batches(n->rep, batches, lens, 256);

    for (size_t i = 0; i < nb; i++) {
        Evote__V1__Batch *b = evote__v1__batch__unpack(NULL, lens[i], batches[i]);
        uint8_t(*ids)[CRYPTO_HASH_LEN];
        if (b == NULL)
            continue;
        ids = calloc(b->n_txs ? b->n_txs : 1, sizeof *ids);
        if (ids != NULL) {
            for (size_t t = 0; t < b->n_txs; t++)
                envelope_txid(b->txs[t].data, b->txs[t].len, ids[t]);
            mempool_mark_taken(n->mp, (const uint8_t(*)[CRYPTO_HASH_LEN])ids, b->n_txs);
            free(ids);
        }
        evote__v1__batch__free_unpacked(b, NULL);
    }
}

static void gossip_flush(node *n);

/* This replica's view timer ran out (it sent a SUSPECT). Maybe the primary
 * never got what waits here (a forwarded copy lost on the way): send the
 * oldest waiting transactions to every validator again, as PBFT's clients
 * do when a request times out; a validator that has them pays a lookup. */
static void suspected(node *n, uint64_t view)
{
    mempool_tx *txs = malloc(GOSSIP_MAX * sizeof *txs);
    mempool_stats ms;
    size_t k = txs ? mempool_peek(n->mp, GOSSIP_MAX, GOSSIP_MAX_BYTES, txs) : 0;

    for (size_t i = 0; i < k; i++)
        gossip_add(n, txs[i].bytes, txs[i].len);
    free(txs);
    if (replica_in_view_change(n->rep))
        return; /* f+1 suspect already: the view change says the rest */
    mempool_get_stats(n->mp, &ms);
    log_info("view=%" PRIu64 " suspects the primary: nothing executed in time (executed up to seq %" PRIu64
             ", %zu transactions waiting here, the %zu oldest sent to every validator again); the view changes "
             "once f+1 validators suspect it, until then this one keeps working in it",
             view, replica_last_executed(n->rep), ms.pending, k);
}

/* Primaries' turns that ended (or were skipped) since the last call: one
 * log line, and the metric. Called when a view change shows in settle() and
 * when a view is entered, since both may happen within one turn of the
 * event loop. `view` is the view moved to. Returns: 1 when it logged. */
static int note_turns(node *n, uint64_t view)
{
    replica_stats rs;

    replica_get_stats(n->rep, &rs);
    n->m.terms_ended = rs.rotations;
    if (rs.turns_skipped != n->logged_skips)
        log_warn("view=%" PRIu64 " validator %s, whose turn it is, did not ask for its view with the others: "
                 "it seems down; skipping to view %" PRIu64 ", primary %s",
                 view - 1, n->g->validators[(view - 1) % n->g->n].name, view,
                 n->g->validators[view % n->g->n].name);
    else if (rs.rotations != n->logged_rotations)
        log_info("view=%" PRIu64 " the primary's term ended at seq %" PRIu64
                 " (primary_term in the genesis): moving to view %" PRIu64 ", primary %s",
                 view - 1, replica_stable_seq(n->rep), view, n->g->validators[view % n->g->n].name);
    else
        return 0;
    n->logged_skips = rs.turns_skipped;
    n->logged_rotations = rs.rotations;
    return 1;
}

/* Carries out every action the replica asked for, in order. */
static void drain(node *n)
{
    replica_action a;
    while (!n->fatal && replica_pop_action(n->rep, &a)) {
        switch (a.type) {
        case REPLICA_ACT_SEND:
            outbox_add(n, (int)a.to, a.bytes, a.len);
            a.bytes = NULL;
            break;
        case REPLICA_ACT_BROADCAST:
            outbox_add(n, -1, a.bytes, a.len);
            a.bytes = NULL;
            break;
        case REPLICA_ACT_SET_TIMER:
            n->timer_at[a.timer] = mono_ms() + a.delay_ms;
            break;
        case REPLICA_ACT_CANCEL_TIMER:
            n->timer_at[a.timer] = 0;
            break;
        case REPLICA_ACT_PERSIST_META:
            free(n->meta);
            n->meta = a.bytes;
            n->meta_len = a.len;
            a.bytes = NULL;
            break;
        case REPLICA_ACT_EXECUTE:
            execute(n, &a);
            break;
        case REPLICA_ACT_SERVE_BLOCKS:
            serve_blocks(n, &a);
            break;
        case REPLICA_ACT_PERSIST_BATCH:
            if (n->n_batches == n->cap_batches) {
                size_t cap = n->cap_batches ? 2 * n->cap_batches : 16;
                replica_action *nb = realloc(n->batches, cap * sizeof *nb);
                if (nb == NULL) {
                    log_error("out of memory keeping a batch for storage; stopping");
                    n->fatal = 1;
                    break;
                }
                n->batches = nb;
                n->cap_batches = cap;
            }
            n->batches[n->n_batches++] = a;
            memset(&a, 0, sizeof a); /* the list owns its buffers now */
            break;
        case REPLICA_ACT_SUSPECTED:
            suspected(n, a.view);
            break;
        case REPLICA_ACT_PERSIST_NEW_VIEW: {
            store_err err = chain_store_put_new_view(n->store, a.bytes, a.len);
            if (err != STORE_OK) {
                char why[512];
                chain_store_explain(n->store, err, why, sizeof why);
                log_warn("view=%" PRIu64 " cannot store the NEW-VIEW that started this view: %s; after a "
                         "restart this node cannot pass it on to a validator that missed it (that one "
                         "then asks for a new view: slower, not unsafe)",
                         a.view, why);
            }
            break;
        }
        case REPLICA_ACT_VIEW_CHANGED:
            note_turns(n, a.view); /* a view change may start and end within one turn */
            log_info("view=%" PRIu64 " entered view %" PRIu64 " (primary: validator %u %s)", a.view, a.view,
                     (unsigned)(a.view % n->g->n), n->g->validators[a.view % n->g->n].name);
            mempool_untake_all(n->mp);
            keep_reproposed_taken(n);
            n->m.view_changes++;
            break;
        }
        replica_action_clear(&a);
    }
}

#define PACE_MIN_TXS 512 /* a batch this full goes at once */
#define PACE_WAIT_MS 50  /* otherwise at most this long after the last proposal */

/* Whether the primary waits for a fuller batch: only while a proposal of
 * its own is in flight (so an idle cluster answers at once), fewer than
 * PACE_MIN_TXS transactions are ready, and the last proposal is recent.
 * Each block costs every validator a fixed amount (signatures, a durable
 * LMDB commit); without this, a primary whose event loop is never short of
 * CPU proposes many small blocks. */
static int pace(node *n, uint64_t seq)
{
    mempool_stats ms;
    uint64_t now = mono_ms(), min_txs = n->g->max_batch_txs < PACE_MIN_TXS ? n->g->max_batch_txs : PACE_MIN_TXS;

    n->pace_until = 0;
    if (seq - 1 <= replica_last_executed(n->rep) || now >= n->last_proposed_ms + PACE_WAIT_MS)
        return 0;
    mempool_get_stats(n->mp, &ms);
    if (ms.ready >= min_txs || ms.ready == 0)
        return 0;
    n->pace_until = n->last_proposed_ms + PACE_WAIT_MS;
    return 1;
}

/* Packs a Batch of the k transactions for seq, stamped with our clock,
 * and hands it to the replica. Returns: 1 taken; 0 not (the caller gives
 * the transactions back to the mempool). */
static int propose_batch(node *n, uint64_t seq, const mempool_tx *txs, size_t k)
{
    Evote__V1__Batch b = EVOTE__V1__BATCH__INIT;
    ProtobufCBinaryData *bd = NULL;
    uint8_t *bytes = NULL;
    size_t len;
    int ok = 0;

    if (k > 0 && (bd = calloc(k, sizeof *bd)) == NULL)
        return 0;
    for (size_t i = 0; i < k; i++) {
        bd[i].data = (uint8_t *)txs[i].bytes;
        bd[i].len = txs[i].len;
    }
    b.chain_id.data = n->g->chain_id;
    b.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    b.seq = seq;
    b.timestamp_ms = wall_ms();
    b.n_txs = k;
    b.txs = bd;
    len = evote__v1__batch__get_packed_size(&b);
    bytes = malloc(len);
    if (bytes != NULL) {
        evote__v1__batch__pack(&b, bytes);
        ok = replica_propose(n->rep, seq, bytes, len);
    }
    if (ok) {
        n->last_proposed_ms = mono_ms();
        log_debug("view=%" PRIu64 " seq=%" PRIu64 " proposed %zu transactions", replica_view(n->rep), seq, k);
    }
    free(bytes);
    free(bd);
    return ok;
}

/* A quiet chain's tail. A block's results are certified only by a stable
 * checkpoint at or above it, and checkpoints come every K blocks: without
 * more blocks, the last ones would stay uncertified. So once the primary
 * has had nothing to propose and nothing in flight for idle_checkpoint_ms
 * after a block that is not a checkpoint, it proposes one empty block;
 * every replica checkpoints a block without transactions. Nothing more is
 * proposed until a transaction comes (the empty block is the tip). */
static void propose_idle_checkpoint(node *n)
{
    uint64_t seq, now, due;
    mempool_stats ms;

    n->idle_until = 0;
    if (n->cfg.idle_checkpoint_ms == 0 || n->tip_checkpoint || !replica_can_propose(n->rep, &seq) ||
        seq - 1 != replica_last_executed(n->rep) || replica_last_executed(n->rep) <= replica_stable_seq(n->rep))
        return;
    mempool_get_stats(n->mp, &ms);
    if (ms.ready > 0 || ms.queued > 0) /* transactions come: propose() makes the next block */
        return;
    now = mono_ms();
    due = n->last_exec_ms + n->cfg.idle_checkpoint_ms;
    if (now < due) {
        n->idle_until = due;
        return;
    }
    if (propose_batch(n, seq, NULL, 0)) {
        log_info("view=%" PRIu64 " seq=%" PRIu64 " proposed an empty block: a checkpoint to certify the "
                 "quiet chain's last blocks",
                 replica_view(n->rep), seq);
        drain(n);
    }
}

/* The primary turns pending transactions into batches while it may. */
static void propose(node *n)
{
    uint64_t seq;
    mempool_tx *txs = NULL;

    n->pace_until = 0;
    while (!n->fatal && replica_can_propose(n->rep, &seq) && !pace(n, seq)) {
        size_t k;

        if (txs == NULL && (txs = calloc(n->g->max_batch_txs, sizeof *txs)) == NULL)
            return;
        k = mempool_take(n->mp, n->g->max_batch_txs, MAX_BATCH_BYTES, txs);
        if (k == 0)
            break;
        if (!propose_batch(n, seq, txs, k))
            mempool_untake_all(n->mp);
        drain(n);
    }
    free(txs);
    if (!n->fatal)
        propose_idle_checkpoint(n);
}

/* ---------------------------------------------------------- mempool side */

static void submit(node *n, const uint8_t *bytes, size_t len, const client_reply_handle *to, uint64_t rid,
                   const char *address, int from_client, mempool_gate_mode gate)
{
    uint64_t ticket = from_client ? ++n->next_ticket : 0; /* forwarded ones need no answer */
    ledger_err err;

    if (!from_client) {
        if (mempool_submit_gated(n->mp, bytes, len, 0, gate) != LEDGER_OK)
            log_debug("a forwarded transaction was not queued: the mempool is full");
        return;
    }

    if (n->n_subs == n->cap_subs && n->subs_head > 0) { /* reuse the answered front */
        memmove(n->subs, n->subs + n->subs_head, (n->n_subs - n->subs_head) * sizeof *n->subs);
        n->n_subs -= n->subs_head;
        n->subs_head = 0;
    }
    if (n->n_subs == n->cap_subs) {
        size_t cap = n->cap_subs ? n->cap_subs * 2 : 256;
        submission *s = realloc(n->subs, cap * sizeof *s);
        if (s == NULL) {
            rate_give(n->inflight, address ? address : "", mono_ms(), 1);
            if (from_client)
                reply_status(n, to, rid, EVOTE__V1__API_STATUS__API_STATUS_BUSY, "out of memory: retry later");
            return;
        }
        n->subs = s;
        n->cap_subs = cap;
    }
    err = mempool_submit_gated(n->mp, bytes, len, ticket, gate);
    if (err != LEDGER_OK) {
        rate_give(n->inflight, address ? address : "", mono_ms(), 1); /* answered */
        if (from_client)
            reply_status(n, to, rid,
                         err == LEDGER_ERR_BUSY ? EVOTE__V1__API_STATUS__API_STATUS_BUSY
                                                : EVOTE__V1__API_STATUS__API_STATUS_INTERNAL,
                         ledger_strerror(err));
        return;
    }
    /* Passed on to the other validators once it passed here (on_verdicts):
     * a flood of junk sent to one validator must not cost every validator
     * a verification, nor fill their queues. */
    n->subs[n->n_subs].ticket = ticket;
    n->subs[n->n_subs].reply = *to;
    n->subs[n->n_subs].request_id = rid;
    n->subs[n->n_subs].from_client = 1;
    snprintf(n->subs[n->n_subs].address, sizeof n->subs[n->n_subs].address, "%s", address ? address : "");
    n->n_subs++;
}


/* Gives the refusals held for a second look (recheck) their second look
 * when it is due. Returns: when the next one is due (mono ms), or 0 when
 * none is left. */
static uint64_t run_rechecks(node *n, uint64_t now)
{
    uint64_t done = replica_last_executed(n->rep), known = replica_known_seq(n->rep), next = 0;
    int catching_up = replica_catching_up(n->rep); /* restarted, or fetching what it knows is committed */
    size_t k = 0;

    for (size_t i = 0; i < n->n_rechecks; i++) {
        recheck *rc = &n->rechecks[i];
        uint64_t due = rc->refused_at + RECHECK_MIN_MS, late = rc->refused_at + RECHECK_MS;
        int current = done >= rc->after_seq && !catching_up;
        if (now < due || (!current && now < late)) {
            uint64_t at = now < due ? due : late;
            if (next == 0 || at < next)
                next = at;
            n->rechecks[k++] = *rc;
            continue;
        }
        n->recheck_bytes -= rc->len;
        if (current) { /* every block known at the refusal is in: the state's word is final */
            submit(n, rc->bytes, rc->len, &rc->reply, rc->request_id, rc->address, 1, MEMPOOL_GATE_FINAL);
        } else {
            char why[200];
            snprintf(why, sizeof why,
                     "this validator is catching up (at height %" PRIu64 ", blocks up to %" PRIu64
                     " are committed): it cannot judge this transaction yet; send it to another validator or "
                     "again later",
                     done, known);
            Evote__V1__ApiResponse r = EVOTE__V1__API_RESPONSE__INIT;
            rate_give(n->inflight, rc->address, now, 1); /* answered */
            r.request_id = rc->request_id;
            r.status = EVOTE__V1__API_STATUS__API_STATUS_BUSY;
            r.reason = why;
            r.retry_after_ms = 1000; /* evote sends it again then, within its --timeout */
            reply(n, &rc->reply, &r);
        }
        free(rc->bytes);
    }
    n->n_rechecks = k;
    return next;
}

static void on_verdicts(node *n)
{
    mempool_verdict v[256];
    size_t got;

    while ((got = mempool_poll_verdicts(n->mp, v, 256)) > 0) {
        int forwarded = 0;
        for (size_t i = 0; i < got; i++) {
            /* A transaction forwarded after it was committed (gossip is not
             * ordered with blocks) must not wait in the pool: a backup would
             * take it for a request the primary ignores. */
            if (v[i].err == LEDGER_OK && !v[i].duplicate && tx_committed(n, v[i].id))
                mempool_commit(n->mp, (const uint8_t(*)[CRYPTO_HASH_LEN])v[i].id, 1);
            /* A client's transaction the mempool accepted goes to every
             * other validator (gossip_add); a copy already pending came
             * from a validator that passed it on itself, or from a client
             * here before. */
            if (v[i].ticket != 0 && !(v[i].ticket & TICKET_VALIDATION) && v[i].err == LEDGER_OK &&
                !v[i].duplicate) {
                const uint8_t *bytes;
                size_t len;
                if (mempool_get_tx(n->mp, v[i].id, &bytes, &len)) {
                    gossip_add(n, bytes, len);
                    forwarded = 1;
                }
            }
        }
        /* On their way to the others before their clients hear "accepted". */
        if (forwarded) {
            gossip_flush(n);
            flush(n);
        }
        for (size_t i = 0; i < got; i++) {
            size_t k;
            uint8_t *back = v[i].bytes; /* ours: kept for a recheck, or freed */
            if (v[i].ticket == 0) {
                free(back);
                continue; /* forwarded: nobody to answer */
            }
            if (v[i].ticket & TICKET_VALIDATION) {
                free(back);
                validation_verdict(n, v[i].ticket);
                drain(n);
                continue;
            }
            /* Client submissions only, answered roughly in order: the one
             * we look for is almost always among the first. */
            for (k = n->subs_head; k < n->n_subs && n->subs[k].ticket != v[i].ticket; k++)
                ;
            if (k == n->n_subs) {
                free(back);
                continue;
            }
            submission s = n->subs[k];
            n->subs[k].ticket = 0; /* answered */
            while (n->subs_head < n->n_subs && n->subs[n->subs_head].ticket == 0)
                n->subs_head++;
            if (n->subs_head == n->n_subs)
                n->subs_head = n->n_subs = 0;
            if (back != NULL && n->n_rechecks < MAX_RECHECKS && n->recheck_bytes + v[i].len <= MAX_RECHECK_BYTES &&
                (n->rechecks != NULL || (n->rechecks = calloc(MAX_RECHECKS, sizeof *n->rechecks)) != NULL)) {
                /* Refused by the state as it is here; the blocks on their
                 * way may change that: ask again once they are in. */
                recheck *rc = &n->rechecks[n->n_rechecks++];
                rc->bytes = back;
                rc->len = v[i].len;
                n->recheck_bytes += rc->len;
                rc->reply = s.reply;
                rc->request_id = s.request_id;
                rc->after_seq = replica_known_seq(n->rep);
                rc->refused_at = mono_ms();
                memcpy(rc->address, s.address, sizeof rc->address);
                n->m.second_looks++;
                log_debug("a client's transaction refused at height %" PRIu64 " (%s) is asked again in %d ms, once "
                          "seq %" PRIu64 " is executed",
                          replica_last_executed(n->rep), election_result_text(v[i].rule), RECHECK_MIN_MS,
                          rc->after_seq);
                continue;
            }
            if (back != NULL) { /* no room to hold it: the state's word is final now */
                submit(n, back, v[i].len, &s.reply, s.request_id, s.address, 1, MEMPOOL_GATE_FINAL);
                free(back);
                continue;
            }
            if (v[i].err == LEDGER_OK) {
                Evote__V1__ApiResponse r = EVOTE__V1__API_RESPONSE__INIT;
                rate_give(n->inflight, s.address, mono_ms(), 1); /* answered */
                r.request_id = s.request_id;
                r.status = EVOTE__V1__API_STATUS__API_STATUS_OK;
                r.reason = "";
                r.tx_id.data = v[i].id;
                r.tx_id.len = CRYPTO_HASH_LEN;
                reply(n, &s.reply, &r);
            } else {
                char reason[512], state[200] = "";
                if (v[i].by_state)
                    snprintf(state, sizeof state, ", as this validator's chain has it at height %" PRIu64 "%s",
                             replica_last_executed(n->rep),
                             v[i].rule != EVOTE__V1__TX_RESULT__TX_RESULT_NOT_REGISTERED ? ""
                             : v[i].may_change ? ": a registration not yet committed does not count; vote once it is"
                                               : ": the roll is frozen, so this key cannot vote in this election");
                snprintf(reason, sizeof reason, "%s%s%s%s", ledger_strerror(v[i].err),
                         v[i].err == LEDGER_ERR_ENVELOPE || v[i].err == LEDGER_ERR_RULES ? ": " : "",
                         v[i].err == LEDGER_ERR_ENVELOPE  ? crypto_strerror(v[i].detail)
                         : v[i].err == LEDGER_ERR_RULES ? election_result_text(v[i].rule)
                                                          : "",
                         state);
                {
                    Evote__V1__ApiResponse r = EVOTE__V1__API_RESPONSE__INIT;
                    r.request_id = s.request_id;
                    r.status = EVOTE__V1__API_STATUS__API_STATUS_REJECTED;
                    r.reason = reason;
                    r.later_may_accept = v[i].may_change; /* a validator further on may take it */
                    reply(n, &s.reply, &r);
                }
                /* Counted against its address: one that sends mostly junk
                 * soon gets "busy" before a check (on_client). */
                if (v[i].err != LEDGER_ERR_NOMEM)
                    (void)rate_take(n->refusals, s.address, mono_ms(), 1, NULL);
                rate_give(n->inflight, s.address, mono_ms(), 1);
            }
        }
    }
}

/* Client transactions the mempool accepted go to every other validator, so
 * the primary of any view has them (and backups can tell a primary that
 * ignores them); each receiver verifies them again. Only once they passed
 * here: one answered "busy", refused, or a copy already pending is not
 * forwarded, so that neither a client retrying nor a flood of junk sent to
 * one validator costs every validator a verification. */
static void gossip_add(node *n, const uint8_t *bytes, size_t len)
{
    if (n->gossip_bytes + len > GOSSIP_MAX_BYTES || n->n_gossip == GOSSIP_MAX)
        gossip_flush(n);
    n->gossip[n->n_gossip] = malloc(len ? len : 1);
    if (n->gossip[n->n_gossip] == NULL)
        return;
    memcpy(n->gossip[n->n_gossip], bytes, len);
    n->gossip_lens[n->n_gossip++] = len;
    n->gossip_bytes += len;
}

static void gossip_flush(node *n)
{
    Evote__V1__RequestBatch rb = EVOTE__V1__REQUEST_BATCH__INIT;
    ProtobufCBinaryData bd[GOSSIP_MAX];
    uint8_t *body, *env, *pm;
    size_t blen, elen, pmlen;
    Evote__V1__PeerMessage p = EVOTE__V1__PEER_MESSAGE__INIT;

    if (n->n_gossip == 0)
        return;
    for (size_t i = 0; i < n->n_gossip; i++) {
        bd[i].data = n->gossip[i];
        bd[i].len = n->gossip_lens[i];
    }
    rb.chain_id.data = n->g->chain_id;
    rb.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    rb.n_txs = n->n_gossip;
    rb.txs = bd;
    rb.replica = n->self;
    blen = evote__v1__request_batch__get_packed_size(&rb);
    body = malloc(blen ? blen : 1);
    if (body != NULL) {
        evote__v1__request_batch__pack(&rb, body);
        if (envelope_seal(EVOTE__V1__KIND__KIND_REQUEST_BATCH, body, blen, n->key, &env, &elen) == CRYPTO_OK) {
            p.envelope.data = env;
            p.envelope.len = elen;
            pmlen = evote__v1__peer_message__get_packed_size(&p);
            pm = malloc(pmlen);
            if (pm != NULL) {
                evote__v1__peer_message__pack(&p, pm);
                outbox_add(n, -1, pm, pmlen);
            }
            free(env);
        }
        free(body);
    }
    for (size_t i = 0; i < n->n_gossip; i++)
        free(n->gossip[i]);
    n->n_gossip = 0;
    n->gossip_bytes = 0;
}

/* Transactions a validator forwarded: into the mempool (verified there).
 * What this validator's state refuses for good is dropped before a ballot's
 * proofs are checked (a faulty validator may pass on anything); any other
 * refusal is the block's to record: the sender's state may be newer. */
static int on_request_batch(node *n, uint32_t from, const Evote__V1__PeerMessage *p)
{
    Evote__V1__Envelope *env = NULL;
    Evote__V1__RequestBatch *rb;

    if (envelope_open(p->envelope.data, p->envelope.len, EVOTE__V1__KIND__KIND_REQUEST_BATCH, &env) != CRYPTO_OK)
        return 0;
    if (memcmp(env->signer.data, n->g->validators[from].pubkey, CRYPTO_PUBKEY_LEN) != 0) {
        evote__v1__envelope__free_unpacked(env, NULL);
        return 0;
    }
    rb = evote__v1__request_batch__unpack(NULL, env->body.len, env->body.data);
    if (rb != NULL && rb->chain_id.len == CRYPTO_CHAIN_ID_LEN &&
        memcmp(rb->chain_id.data, n->g->chain_id, CRYPTO_CHAIN_ID_LEN) == 0 && rb->replica == from) {
        for (size_t i = 0; i < rb->n_txs && i < GOSSIP_MAX; i++)
            submit(n, rb->txs[i].data, rb->txs[i].len, NULL, 0, NULL, 0, MEMPOOL_GATE_FINAL_ONLY);
    }
    if (rb)
        evote__v1__request_batch__free_unpacked(rb, NULL);
    evote__v1__envelope__free_unpacked(env, NULL);
    return 1;
}

static void on_peer(node *n, uint32_t from, const uint8_t *bytes, size_t len)
{
    Evote__V1__PeerMessage *p = evote__v1__peer_message__unpack(NULL, len, bytes);
    int kind = 0;

    if (p != NULL && p->envelope.len > 0) {
        /* Peek at the kind: forwarded transactions are the mempool's. */
        Evote__V1__Envelope *e = evote__v1__envelope__unpack(NULL, p->envelope.len, p->envelope.data);
        if (e != NULL) {
            kind = e->kind;
            evote__v1__envelope__free_unpacked(e, NULL);
        }
    }
    n->m.msgs_received[kind > 0 && kind < METRICS_KINDS ? kind : 0]++;
    if (kind == EVOTE__V1__KIND__KIND_REQUEST_BATCH) {
        if (!on_request_batch(n, from, p))
            log_debug("dropped a malformed forwarded batch from validator %u", from);
    } else {
        replica_on_message(n->rep, from, bytes, len);
    }
    if (p)
        evote__v1__peer_message__free_unpacked(p, NULL);
}

/* ------------------------------------------------------------ client API */

static void node_status(node *n, Evote__V1__NodeStatus *st, uint8_t tip_hash[CRYPTO_HASH_LEN])
{
    uint64_t height = 0;
    mempool_stats ms;

    if (chain_store_tip(n->store, &height, tip_hash, NULL) != STORE_OK)
        memset(tip_hash, 0, CRYPTO_HASH_LEN);
    mempool_get_stats(n->mp, &ms);
    st->name = n->cfg.name;
    st->replica = n->self;
    st->n = n->g->n;
    st->view = replica_view(n->rep);
    st->primary = replica_primary(n->rep);
    st->height = height;
    st->tip_hash.data = tip_hash;
    st->tip_hash.len = CRYPTO_HASH_LEN;
    st->peers_connected = peer_net_connected_count(n->net);
    st->mempool_size = ms.pending;
    st->chain_id.data = n->g->chain_id;
    st->chain_id.len = CRYPTO_CHAIN_ID_LEN;
    st->stable_checkpoint = replica_stable_seq(n->rep);
    st->term_end = replica_in_view_change(n->rep) || replica_term_end(n->rep) == UINT64_MAX
                       ? 0
                       : replica_term_end(n->rep);
}

/* What a read costs its address's budget (ratelimit.h): 4 for what costs the
 * node a signature or a walk of up to PROOF_MAX_HEADERS headers (a Track
 * answer, a block with its checkpoint proof), 1 for another read of the
 * store, 0 for a transaction, a transaction's status and the node's status
 * (the mempool bounds the first; the others are answered from memory). */
static uint32_t read_cost(const Evote__V1__ApiRequest *q)
{
    switch (q->call_case) {
    case EVOTE__V1__API_REQUEST__CALL_SUBMIT:
    case EVOTE__V1__API_REQUEST__CALL_GET_TX:
    case EVOTE__V1__API_REQUEST__CALL_GET_TIP:
    case EVOTE__V1__API_REQUEST__CALL_GET_STATUS:
        return 0;
    case EVOTE__V1__API_REQUEST__CALL_GET_BLOCK:
        return q->get_block->with_proof ? 4 : 1;
    case EVOTE__V1__API_REQUEST__CALL_TRACK:
        return 4;
    default:
        return 1;
    }
}

/* A newer client may send a few fields this version does not know (it then
 * answers without what they ask for); more is junk that would cost an
 * allocation each to unpack. */
#define MAX_UNKNOWN_REQUEST_FIELDS 16

static void on_client(node *n, const client_request *req)
{
    int unknown = pb_wire_unknown(&evote__v1__api_request__descriptor, req->data, req->len, MAX_UNKNOWN_REQUEST_FIELDS);
    Evote__V1__ApiRequest *q = unknown < 0 || unknown > MAX_UNKNOWN_REQUEST_FIELDS
                                   ? NULL
                                   : evote__v1__api_request__unpack(NULL, req->len, req->data);
    const client_reply_handle *to = &req->reply;
    uint32_t retry_ms = 0;

    if (q == NULL) {
        reply_status(n, to, 0, EVOTE__V1__API_STATUS__API_STATUS_BAD_REQUEST,
                     "the request is not an evote.v1.ApiRequest: use the evote CLI or the schema in proto/api.proto");
        return;
    }
    if (!rate_take(n->reads, req->address, mono_ms(), read_cost(q), &retry_ms)) {
        char why[200];
        snprintf(why, sizeof why,
                 "too many reads from %s: this validator answers at most %u read units per second per address "
                 "(client_read_rate); retry in %u ms",
                 req->address[0] ? req->address : "your address", n->cfg.client_read_rate, retry_ms ? retry_ms : 1000);
        n->m.client_reads_limited++;
        log_debug("client %s over its read budget", req->address[0] ? req->address : "(no address)");
        {
            Evote__V1__ApiResponse r = EVOTE__V1__API_RESPONSE__INIT;
            r.request_id = q->request_id;
            r.status = EVOTE__V1__API_STATUS__API_STATUS_BUSY;
            r.reason = why;
            r.retry_after_ms = retry_ms ? retry_ms : 1000;
            reply(n, to, &r);
        }
        evote__v1__api_request__free_unpacked(q, NULL);
        return;
    }
    switch (q->call_case) {
    case EVOTE__V1__API_REQUEST__CALL_SUBMIT:
        if (q->submit->tx.len == 0 || q->submit->tx.len > MAX_TX_BYTES) {
            reply_status(n, to, q->request_id, EVOTE__V1__API_STATUS__API_STATUS_REJECTED,
                         "the transaction is empty or larger than 1 MiB: no valid transaction is that large");
            n->m.rejected_too_large++;
            break;
        }
        if (!rate_has(n->refusals, req->address, mono_ms(), 1, &retry_ms)) {
            /* This address's transactions were refused faster than
             * client_refusal_rate: the next is not even checked. */
            char why[300];
            Evote__V1__ApiResponse r = EVOTE__V1__API_RESPONSE__INIT;
            snprintf(why, sizeof why,
                     "too many refused transactions from %s: this validator checks no more from it until its "
                     "refusals are under %u per second (client_refusal_rate); retry in %u ms",
                     req->address[0] ? req->address : "your address", n->cfg.client_refusal_rate,
                     retry_ms ? retry_ms : 1000);
            n->m.client_refusals_limited++;
            r.request_id = q->request_id;
            r.status = EVOTE__V1__API_STATUS__API_STATUS_BUSY;
            r.reason = why;
            r.retry_after_ms = retry_ms ? retry_ms : 1000;
            reply(n, to, &r);
            break;
        }
        if (!rate_take(n->inflight, req->address, mono_ms(), 1, NULL)) {
            /* Refusals are counted when their verdict comes: without a
             * bound on what is in flight, a client that does not wait for
             * answers would have thousands checked before the first one
             * counts. */
            char why[300];
            snprintf(why, sizeof why,
                     "%u transactions from %s are still being checked here: send more once they are answered",
                     MAX_INFLIGHT_PER_ADDRESS, req->address[0] ? req->address : "your address");
            Evote__V1__ApiResponse r = EVOTE__V1__API_RESPONSE__INIT;
            n->m.client_refusals_limited++;
            r.request_id = q->request_id;
            r.status = EVOTE__V1__API_STATUS__API_STATUS_BUSY;
            r.reason = why;
            r.retry_after_ms = 200;
            reply(n, to, &r);
            break;
        }
        submit(n, q->submit->tx.data, q->submit->tx.len, to, q->request_id, req->address, 1,
               MEMPOOL_GATE_ASK); /* gossiped once accepted */
        break;
    case EVOTE__V1__API_REQUEST__CALL_GET_TX: {
        const Evote__V1__GetTx *g = q->get_tx;
        if (g->id.len != CRYPTO_HASH_LEN) {
            reply_status(n, to, q->request_id, EVOTE__V1__API_STATUS__API_STATUS_BAD_REQUEST,
                         "a transaction id is 32 bytes (64 hex digits)");
            break;
        }
        if (g->wait_ms > 0 && !tx_committed(n, g->id.data) && n->n_waiters < MAX_WAITERS) {
            waiter *w = &n->waiters[n->n_waiters++];
            w->reply = *to;
            w->request_id = q->request_id;
            memcpy(w->id, g->id.data, CRYPTO_HASH_LEN);
            w->deadline = mono_ms() + (g->wait_ms > 600000 ? 600000 : g->wait_ms);
            break;
        }
        reply_tx(n, to, q->request_id, g->id.data);
        break;
    }
    case EVOTE__V1__API_REQUEST__CALL_GET_BLOCK: {
        Evote__V1__ApiResponse r = EVOTE__V1__API_RESPONSE__INIT;
        uint8_t *block = NULL, *cert = NULL, *proof = NULL;
        ProtobufCBinaryData *headers = NULL;
        size_t blen = 0, clen = 0;
        if (chain_store_get_block(n->store, q->get_block->height, &block, &blen) != STORE_OK ||
            chain_store_get_cert(n->store, q->get_block->height, &cert, &clen) != STORE_OK) {
            free(block);
            reply_status(n, to, q->request_id, EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND,
                         "no block at that height here yet (see evote status for the height)");
            break;
        }
        r.block = evote__v1__block__unpack(NULL, blen, block);
        r.request_id = q->request_id;
        r.status = r.block ? EVOTE__V1__API_STATUS__API_STATUS_OK : EVOTE__V1__API_STATUS__API_STATUS_INTERNAL;
        r.reason = r.block ? "" : "the stored block does not parse: the data directory is damaged";
        r.certificate.data = cert;
        r.certificate.len = clen;
        if (r.block && q->get_block->with_proof)
            add_checkpoint_proof(n, q->get_block->height, &r, &proof, &headers);
        reply(n, to, &r);
        if (r.block)
            evote__v1__block__free_unpacked(r.block, NULL);
        for (size_t i = 0; i < r.n_headers; i++)
            free(headers[i].data);
        free(headers);
        free(proof);
        free(block);
        free(cert);
        break;
    }
    case EVOTE__V1__API_REQUEST__CALL_GET_TIP:
    case EVOTE__V1__API_REQUEST__CALL_GET_STATUS: {
        Evote__V1__ApiResponse r = EVOTE__V1__API_RESPONSE__INIT;
        Evote__V1__NodeStatus st = EVOTE__V1__NODE_STATUS__INIT;
        uint8_t tip[CRYPTO_HASH_LEN];
        node_status(n, &st, tip);
        r.request_id = q->request_id;
        r.status = EVOTE__V1__API_STATUS__API_STATUS_OK;
        r.reason = "";
        r.node = &st;
        reply(n, to, &r);
        break;
    }
    default: {
        Evote__V1__ApiResponse r = EVOTE__V1__API_RESPONSE__INIT;
        void *scratch = NULL;
        api_signer me = {n->key, n->self};
        if (api_election_handle(n->store, n->g->chain_id, &me, q, &r, &scratch)) {
            reply(n, to, &r);
            api_election_scratch_free(&scratch);
            break;
        }
        api_election_scratch_free(&scratch);
    }
        reply_status(n, to, q->request_id, EVOTE__V1__API_STATUS__API_STATUS_BAD_REQUEST,
                     "unknown call: this evoted speaks evote.v1 (submit, get_tx, get_block, get_tip, get_status)");
        break;
    }
    evote__v1__api_request__free_unpacked(q, NULL);
}

/* --------------------------------------------------------------- metrics */

/* The snapshot /metrics and /healthz serve (see metrics.h): counters kept
 * by the loop as things happen, gauges read here; at most every 100 ms. */
static void metrics_publish(node *n, uint64_t now)
{
    mempool_stats ms;
    peer_net_stats ps;
    metrics_snapshot *m = &n->m;

    if (n->http == NULL || (now - n->last_publish < 100 && n->last_publish != 0))
        return;
    n->last_publish = now;
    m->height = replica_last_executed(n->rep);
    m->view = replica_view(n->rep);
    m->primary = replica_primary(n->rep);
    m->stable_checkpoint = replica_stable_seq(n->rep);
    mempool_get_stats(n->mp, &ms);
    m->mempool_pending = ms.pending;
    m->mempool_bytes = ms.bytes;
    m->mempool_max_bytes = ms.max_bytes;
    m->verify_queue = ms.queued;
    m->mempool_submitted = ms.submitted;
    m->mempool_accepted = ms.accepted;
    m->mempool_verified = ms.verified + ms.verified_inline;
    for (size_t r = 0; r < METRICS_RESULTS && r < LEDGER_TX_RESULT_SLOTS; r++)
        m->rejected_by_result[r] = ms.refused[r];
    m->rejected_busy = ms.busy;
    m->rejected_duplicate = ms.duplicates;
    m->rejected_nomem = ms.rejected[LEDGER_ERR_NOMEM];
    m->mempool_swept = ms.swept;
    for (int k = 0; k < 2; k++) {
        m->verify_timed[k] = ms.timed[k];
        m->verify_timed_ns[k] = ms.timed_ns[k];
    }
    peer_net_get_stats(n->net, &ps);
    m->peers_connected = peer_net_connected_count(n->net);
    m->peer_dropped_queue_full = ps.dropped_queue_full;
    m->peer_dropped_oversized = ps.dropped_oversized;
    m->peer_queued_bytes = ps.queued_bytes;
    m->store_map_bytes = chain_store_map_size(n->store);
    m->store_ok = chain_store_usage(n->store, &m->store_used_bytes, &m->store_file_bytes) == STORE_OK;
    m->published_mono_ms = now;
    http_server_publish(n->http, m);
}

/* Whether the stored block at height (the tip at start) has no
 * transactions, so that the replica signs its checkpoint again if it is
 * not stable yet. Out: *yes. Returns: 0 when the header cannot be read. */
static int tip_is_checkpoint(node *n, uint64_t height, int *yes)
{
    Evote__V1__BlockHeader *h;
    uint8_t *bytes = NULL;
    size_t len = 0;

    *yes = 0;
    if (height == 0)
        return 1;
    if (chain_store_get_header(n->store, height, &bytes, &len) != STORE_OK)
        return 0;
    h = evote__v1__block_header__unpack(NULL, len, bytes);
    free(bytes);
    if (h == NULL)
        return 0;
    *yes = h->tx_count == 0;
    evote__v1__block_header__free_unpacked(h, NULL);
    return 1;
}

/* Identity of the snapshot, and the HTTP server when http_listen is set. */
static int metrics_start(node *n, char *why, size_t why_len)
{
    metrics_snapshot *m = &n->m;

    snprintf(m->name, sizeof m->name, "%s", n->cfg.name);
    snprintf(m->chain, sizeof m->chain, "%s", n->g->chain_name);
    m->self = n->self;
    m->n = n->g->n;
    m->f = n->g->f;
    m->start_mono_ms = mono_ms();
    m->start_unix_ms = wall_ms();
    m->mempool_capacity = n->cfg.mempool_capacity;
    if (n->cfg.http_listen[0] == '\0')
        return 1;
    return http_server_new(n->cfg.http_listen, m, &n->http, why, why_len);
}

/* ------------------------------------------------------------- lifecycle */

/* The genesis and this validator's keys, checked to belong together: its
 * name, Schnorr key and CURVE key must be in the genesis. Out: *g, *self,
 * *key, *curve (the caller frees them, also on failure). Returns: 1, or 0
 * with a sentence for the operator in why. */
static int load_identity(const node_config *cfg, genesis **g, uint32_t *self, signing_key **key,
                         net_curve_keypair *curve, char *why, size_t why_len)
{
    genesis_error gerr;
    uint8_t pub[CRYPTO_PUBKEY_LEN], curve_public[NET_CURVE_KEY_LEN];
    ledger_err lerr;
    crypto_err cerr;
    net_err ne;

    lerr = genesis_load(cfg->genesis, g, &gerr);
    if (lerr != LEDGER_OK) {
        snprintf(why, why_len, "genesis %s: %s%s%s (line %u)", cfg->genesis, ledger_strerror(lerr),
                 gerr.reason[0] ? ": " : "", gerr.reason, gerr.line);
        return 0;
    }
    for (*self = 0; *self < (*g)->n && strcmp((*g)->validators[*self].name, cfg->name) != 0; (*self)++)
        ;
    if (*self == (*g)->n) {
        snprintf(why, why_len, "no validator named '%s' in the genesis %s: check 'name' in the configuration",
                 cfg->name, cfg->genesis);
        return 0;
    }
    cerr = signing_key_load(cfg->key, key);
    if (cerr != CRYPTO_OK) {
        snprintf(why, why_len, "key %s: %s", cfg->key, crypto_strerror(cerr));
        return 0;
    }
    signing_key_pubkey(*key, pub);
    if (memcmp(pub, (*g)->validators[*self].pubkey, CRYPTO_PUBKEY_LEN) != 0) {
        snprintf(why, why_len, "the key in %s is not validator '%s''s key in the genesis: wrong key file?",
                 cfg->key, cfg->name);
        return 0;
    }
    ne = net_curve_secret_load(cfg->curve_key, curve);
    if (ne != NET_OK) {
        snprintf(why, why_len, "CURVE key %s: %s", cfg->curve_key, net_strerror(ne));
        return 0;
    }
    if (net_z85_decode((*g)->validators[*self].curve_z85, curve_public) != NET_OK ||
        memcmp(curve_public, curve->public_key, NET_CURVE_KEY_LEN) != 0) {
        snprintf(why, why_len, "the CURVE key in %s is not validator '%s''s CURVE key in the genesis",
                 cfg->curve_key, cfg->name);
        return 0;
    }
    return 1;
}

int node_check(const node_config *cfg, char *report, size_t report_len, char *why, size_t why_len)
{
    genesis *g = NULL;
    signing_key *key = NULL;
    net_curve_keypair curve;
    store_error serr;
    store_err se;
    uint64_t height = 0;
    uint32_t self = 0;
    char note[256], store[CONFIG_MAX_PATH + 400];
    int ok = 0;

    memset(&curve, 0, sizeof curve);
    if (!load_identity(cfg, &g, &self, &key, &curve, why, why_len))
        goto out;
    se = chain_store_check_dir(cfg->data_dir, g->chain_id, &height, note, sizeof note, &serr);
    if (se == STORE_ERR_NO_STORE)
        snprintf(store, sizeof store, "%s: no chain yet (the validator fetches it from its peers)", cfg->data_dir);
    else if (se == STORE_OK)
        snprintf(store, sizeof store, "%s: this chain, height %" PRIu64 "%s%s", cfg->data_dir, height,
                 note[0] ? "; " : "", note);
    else {
        snprintf(why, why_len, "chain store %s: %s", serr.detail[0] ? serr.detail : cfg->data_dir,
                 store_strerror(se));
        goto out;
    }
    snprintf(report, report_len,
             "validator %s: %u of %u (f=%u), chain %s; keys %s and %s match the genesis\nchain store %s\n"
             "peers at %s, clients at %s%s%s%s%s",
             cfg->name, self, g->n, g->f, g->chain_name, cfg->key, cfg->curve_key, store,
             cfg->peer_listen[0] ? cfg->peer_listen : g->validators[self].endpoint, cfg->client_listen,
             cfg->client_curve_listen[0] ? ", CURVE clients at " : "", cfg->client_curve_listen,
             cfg->http_listen[0] ? ", metrics at " : "", cfg->http_listen);
    ok = 1;
out:
    net_curve_keypair_wipe(&curve);
    signing_key_destroy(&key);
    genesis_destroy(&g);
    return ok;
}

int node_new(const node_config *cfg, node **out, char *why, size_t why_len)
{
    node *n = calloc(1, sizeof *n);
    net_curve_keypair curve;
    net_validator *vals = NULL;
    peer_net_config pc;
    client_endpoint_config cc;
    replica_config rc;
    replica_callbacks cb;
    replica_restore rs;
    store_error serr;
    net_error nerr;
    uint8_t *meta = NULL, *new_view = NULL;
    uint8_t(*pubkeys)[CRYPTO_PUBKEY_LEN] = NULL;
    size_t meta_len = 0;
    ledger_err lerr;
    net_err ne;
    store_err se;
    replica_err re;
    int ok = 0;

    *out = NULL;
    if (n == NULL) {
        snprintf(why, why_len, "out of memory");
        return 0;
    }
    n->cfg = *cfg;
    memset(&curve, 0, sizeof curve);
    if (crypto_random(&n->instance, sizeof n->instance) != CRYPTO_OK || n->instance == 0)
        n->instance = (uint64_t)time(NULL) | 1; /* never 0: 0 means "not told" to a client */
    if (!load_identity(cfg, &n->g, &n->self, &n->key, &curve, why, why_len))
        goto out;
    vals = calloc(n->g->n, sizeof *vals);
    pubkeys = calloc(n->g->n, sizeof *pubkeys);
    n->waiters = calloc(MAX_WAITERS, sizeof *n->waiters);
    n->gossip = calloc(GOSSIP_MAX, sizeof *n->gossip);
    n->gossip_lens = calloc(GOSSIP_MAX, sizeof *n->gossip_lens);
    if (vals == NULL || pubkeys == NULL || n->waiters == NULL || n->gossip == NULL || n->gossip_lens == NULL) {
        snprintf(why, why_len, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < n->g->n; i++) {
        if (net_z85_decode(n->g->validators[i].curve_z85, vals[i].curve_public) != NET_OK) {
            snprintf(why, why_len, "genesis: validator %s's CURVE key is not valid Z85", n->g->validators[i].name);
            goto out;
        }
        snprintf(vals[i].endpoint, sizeof vals[i].endpoint, "%s", n->g->validators[i].endpoint);
        memcpy(pubkeys[i], n->g->validators[i].pubkey, CRYPTO_PUBKEY_LEN);
    }
    se = chain_store_open(cfg->data_dir, n->g->chain_id, NULL, &n->store, &serr);
    if (se != STORE_OK) {
        snprintf(why, why_len, "chain store %s: %s", serr.detail, store_strerror(se));
        goto out;
    }
    if (chain_store_arrival(n->store)[0] != '\0')
        log_info("chain store %s: %s", cfg->data_dir, chain_store_arrival(n->store));
    n->state.get = state_get;
    n->state.ctx = n;
    n->changes = election_changes_new();
    if (n->changes == NULL || election_cache_new(n->g->chain_id, &n->elections) != ELECTION_OK) {
        snprintf(why, why_len, "out of memory (election state)");
        goto out;
    }
    /* inflight: a count more than a rate (taken on arrival, given back with
     * the answer; it refills by 1 a second, in case an answer was lost). */
    if ((n->reads = rate_table_new(cfg->client_read_rate, 0)) == NULL ||
        (n->refusals = rate_table_new(cfg->client_refusal_rate, 0)) == NULL ||
        (cfg->client_refusal_rate != 0 &&
         (n->inflight = rate_table_new(1, MAX_INFLIGHT_PER_ADDRESS)) == NULL)) {
        snprintf(why, why_len, "out of memory");
        goto out;
    }
    lerr = mempool_new(n->g->chain_id, cfg->mempool_capacity, cfg->verify_threads, &n->mp);
    if (lerr != LEDGER_OK) {
        snprintf(why, why_len, "mempool: %s", ledger_strerror(lerr));
        goto out;
    }
    mempool_set_elections(n->mp, n->elections);
    mempool_set_genesis(n->mp, n->g);
    mempool_set_state_gate(n->mp, state_gate, n);
    mempool_set_byte_limit(n->mp, (size_t)cfg->mempool_max_mb << 20);
    mempool_set_committed_check(n->mp, tx_committed, n);
    load_open_elections(n);
    memset(&pc, 0, sizeof pc);
    pc.validators = vals;
    pc.n = n->g->n;
    pc.self = n->self;
    memcpy(pc.curve_secret, curve.secret_key, NET_CURVE_KEY_LEN);
    pc.listen = cfg->peer_listen[0] ? cfg->peer_listen : NULL;
    ne = peer_net_new(&pc, &n->net, &nerr);
    crypto_wipe(pc.curve_secret, sizeof pc.curve_secret);
    if (ne != NET_OK) {
        snprintf(why, why_len, "peer transport: %s: %s", net_strerror(ne), nerr.detail);
        goto out;
    }
    memset(&cc, 0, sizeof cc);
    cc.endpoint = cfg->client_listen;
    cc.max_msg_size = MAX_TX_BYTES + 64 * 1024; /* the largest request: a transaction and its wrapping */
    ne = client_endpoint_new(&cc, &n->client, &nerr);
    if (ne != NET_OK) {
        snprintf(why, why_len, "client API %s: %s: %s", cfg->client_listen, net_strerror(ne), nerr.detail);
        goto out;
    }
    if (cfg->client_curve_listen[0]) {
        /* The same API, CURVE-encrypted with this validator's CURVE key (the
         * genesis publishes its public half): a client that names the key
         * knows it talks to this validator, and nobody on the path reads
         * or changes the traffic. Any client key is accepted. */
        cc.endpoint = cfg->client_curve_listen;
        cc.curve = 1;
        memcpy(cc.curve_secret, curve.secret_key, NET_CURVE_KEY_LEN);
        ne = client_endpoint_new(&cc, &n->client_curve, &nerr);
        crypto_wipe(cc.curve_secret, sizeof cc.curve_secret);
        if (ne != NET_OK) {
            snprintf(why, why_len, "client API (CURVE) %s: %s: %s", cfg->client_curve_listen, net_strerror(ne),
                     nerr.detail);
            goto out;
        }
    }
    memset(&rc, 0, sizeof rc);
    rc.n = n->g->n;
    rc.id = n->self;
    rc.pubkeys = (const uint8_t(*)[CRYPTO_PUBKEY_LEN])pubkeys;
    memcpy(rc.chain_id, n->g->chain_id, CRYPTO_CHAIN_ID_LEN);
    rc.checkpoint_interval = n->g->checkpoint_interval;
    rc.term_checkpoints = n->g->primary_term;
    rc.view_change_timeout_ms = cfg->view_change_timeout_ms;
    rc.retransmit_ms = cfg->view_change_timeout_ms / 2;
    cb.sign = cb_sign;
    cb.verify = cb_verify;
    cb.validate_batch = cb_validate;
    cb.load_batch = cb_load_batch;
    cb.ctx = n;
    memset(&rs, 0, sizeof rs);
    if (chain_store_tip(n->store, &rs.last_executed, rs.last_hash, NULL) != STORE_OK ||
        !tip_is_checkpoint(n, rs.last_executed, &rs.tip_is_checkpoint)) {
        snprintf(why, why_len, "chain store %s: cannot read the tip", cfg->data_dir);
        goto out;
    }
    n->tip_checkpoint = rs.tip_is_checkpoint || (rs.last_executed % n->g->checkpoint_interval) == 0;
    n->last_exec_ms = mono_ms();
    se = chain_store_get_consensus_meta(n->store, &meta, &meta_len);
    if (se == STORE_OK) {
        rs.meta = meta;
        rs.meta_len = meta_len;
    } else if (se != STORE_ERR_NOT_FOUND) {
        snprintf(why, why_len, "chain store %s: %s", cfg->data_dir, store_strerror(se));
        goto out;
    }
    se = chain_store_get_new_view(n->store, &new_view, &rs.new_view_len);
    if (se == STORE_OK) {
        rs.new_view = new_view;
    } else if (se != STORE_ERR_NOT_FOUND) {
        snprintf(why, why_len, "chain store %s: %s", cfg->data_dir, store_strerror(se));
        goto out;
    }
    re = replica_new(&rc, &cb, &rs, &n->rep);
    if (re != REPLICA_OK) {
        snprintf(why, why_len, "consensus: %s", replica_strerror(re));
        goto out;
    }
    if (!metrics_start(n, why, why_len))
        goto out;
    log_info("view=%" PRIu64 " started as validator %u of %u (f=%u), chain %s, height %" PRIu64
             ", peers at %s, clients at %s",
             replica_view(n->rep), n->self, n->g->n, n->g->f, n->g->chain_name, rs.last_executed,
             peer_net_listen_endpoint(n->net), client_endpoint_endpoint(n->client));
    if (n->client_curve != NULL)
        log_info("clients with CURVE at %s (evote --node %s@%s)", client_endpoint_endpoint(n->client_curve),
                 n->g->validators[n->self].curve_z85, client_endpoint_endpoint(n->client_curve));
    if (n->http != NULL)
        log_info("health at http://%s/healthz, metrics at http://%s/metrics", cfg->http_listen, cfg->http_listen);
    ok = 1;
out:
    net_curve_keypair_wipe(&curve);
    free(vals);
    free(pubkeys);
    free(meta);
    free(new_view);
    if (!ok) {
        node_destroy(&n);
        return 0;
    }
    *out = n;
    return 1;
}

void node_destroy(node **self)
{
    node *n;
    if (self == NULL || *self == NULL)
        return;
    n = *self;
    http_server_destroy(&n->http); /* first: its thread reads only its own copy, but stops before all else */
    replica_destroy(&n->rep);
    client_endpoint_destroy(&n->client);
    client_endpoint_destroy(&n->client_curve);
    peer_net_destroy(&n->net);
    mempool_destroy(&n->mp);
    rate_table_destroy(&n->reads);
    rate_table_destroy(&n->refusals);
    rate_table_destroy(&n->inflight);
    free(n->attests);
    election_changes_destroy(&n->changes);
    election_cache_destroy(&n->elections);
    chain_store_destroy(&n->store);
    signing_key_destroy(&n->key);
    genesis_destroy(&n->g);
    for (size_t i = 0; i < n->n_out; i++)
        free(n->out[i].bytes);
    free(n->out);
    if (n->gossip != NULL)
        for (size_t i = 0; i < n->n_gossip; i++)
            free(n->gossip[i]);
    free(n->gossip);
    free(n->gossip_lens);
    free(n->subs);
    for (size_t i = 0; i < n->n_rechecks; i++)
        free(n->rechecks[i].bytes);
    free(n->rechecks);
    free(n->waiters);
    free(n->meta);
    for (size_t i = 0; i < n->n_batches; i++)
        replica_action_clear(&n->batches[i]);
    free(n->batches);
    for (size_t i = 0; i < n->n_vals; i++)
        free(n->vals[i].batch);
    free(n);
    *self = NULL;
}

#define SWEEP_MS 250  /* how often the pending transactions are looked at again */
#define SWEEP_MAX 256 /* at most this many each time */

/* While transactions are pending and no block executed for SWEEP_MS, drops
 * those the state now refuses for good (mempool_sweep), well before the
 * view timer (1 s at least) would fire. Another validator may pass one on
 * while this one's chain is behind (a voter's ballot as its other one
 * commits, a ballot as the polls close); the primary, further on, drops
 * it at the door, so here it would wait for a proposal that never comes.
 * Returns: how many were dropped. */
static size_t sweep(node *n, uint64_t now, size_t pending)
{
    size_t k;

    if (pending == 0) {
        n->sweep_at = 0;
        return 0;
    }
    if (n->sweep_at == 0 || now < n->sweep_at) {
        if (n->sweep_at == 0)
            n->sweep_at = now + SWEEP_MS;
        return 0;
    }
    n->sweep_at = now + SWEEP_MS;
    /* While blocks execute, the view timer starts again at each one: a
     * transaction waiting in vain costs nothing yet, and a busy chain's
     * pending ballots are not worth asking about again. */
    if (replica_last_executed(n->rep) != n->sweep_exec) {
        n->sweep_exec = replica_last_executed(n->rep);
        return 0;
    }
    k = mempool_sweep(n->mp, SWEEP_MAX);
    if (k > 0)
        log_info("dropped %zu pending transaction%s that the chain now refuses for good (a second ballot of a "
                 "voter without revoting, a ballot after the close, a key not on a frozen roll): passed on while "
                 "this validator's chain was behind, they would never be proposed",
                 k, k == 1 ? "" : "s");
    return k;
}

/* One step of the loop after anything happened: let the replica's actions
 * run, tell it whether requests wait, propose if primary, then send. */
static void settle(node *n)
{
    mempool_stats ms;
    uint64_t now = mono_ms();

    drain(n);
    mempool_get_stats(n->mp, &ms);
    if (sweep(n, now, ms.pending) > 0)
        mempool_get_stats(n->mp, &ms);
    if (now - n->last_pending_report >= 50 || ms.pending == 0) {
        replica_on_pending(n->rep, ms.pending > 0);
        n->last_pending_report = now;
        drain(n);
    }
    if (replica_in_view_change(n->rep) && replica_view(n->rep) != n->logged_vc_view) {
        /* One line per view asked for: which replica gave up on which view,
         * and what it was waiting for (the entry of the view is logged by
         * REPLICA_ACT_VIEW_CHANGED). */
        n->logged_vc_view = replica_view(n->rep);
        if (!note_turns(n, n->logged_vc_view))
            log_info("view=%" PRIu64 " asked for a view change to view %" PRIu64 " (executed up to seq %" PRIu64
                     ", %zu transactions waiting here)",
                     n->logged_vc_view - 1, n->logged_vc_view, replica_last_executed(n->rep), ms.pending);
    }
    propose(n);
    gossip_flush(n);
    flush(n);
}

int node_run(node *n, volatile sig_atomic_t *stop)
{
    zmq_pollitem_t items[4];

    replica_start(n->rep);
    settle(n);
    metrics_publish(n, mono_ms());
    while (!*stop && !n->fatal) {
        uint64_t now = mono_ms(), next = now + 1000;
        long timeout;
        int rc;

        for (int t = 1; t <= 3; t++)
            if (n->timer_at[t] != 0 && n->timer_at[t] < next)
                next = n->timer_at[t];
        for (size_t i = 0; i < n->n_waiters; i++)
            if (n->waiters[i].deadline < next)
                next = n->waiters[i].deadline;
        if (n->pace_until != 0 && n->pace_until < next)
            next = n->pace_until;
        if (n->idle_until != 0 && n->idle_until < next)
            next = n->idle_until;
        if (n->recheck_at != 0 && n->recheck_at < next)
            next = n->recheck_at;
        if (n->sweep_at != 0 && n->sweep_at < next)
            next = n->sweep_at;
        timeout = next > now ? (long)(next - now) : 0;
        items[0].socket = peer_net_poll_socket(n->net);
        items[0].fd = 0;
        items[0].events = ZMQ_POLLIN;
        items[1].socket = client_endpoint_poll_socket(n->client);
        items[1].fd = 0;
        items[1].events = ZMQ_POLLIN;
        items[2].socket = NULL;
        items[2].fd = mempool_fd(n->mp);
        items[2].events = ZMQ_POLLIN;
        items[3].socket = n->client_curve != NULL ? client_endpoint_poll_socket(n->client_curve) : NULL;
        items[3].fd = -1;
        items[3].events = n->client_curve != NULL ? ZMQ_POLLIN : 0;
        rc = zmq_poll(items, n->client_curve != NULL ? 4 : 3, timeout);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_error("zmq_poll failed: %s", zmq_strerror(errno));
            return 1;
        }
        /* Peers: drain what is waiting, bounded in count and in time so
         * clients and timers are served too (a validator catching up
         * executes whole fetched blocks per message). */
        uint64_t peers_until = mono_ms() + PEER_TURN_MS;
        for (int k = 0; k < 1000 && mono_ms() < peers_until; k++) {
            uint32_t from;
            uint8_t *bytes;
            size_t len;
            if (peer_net_recv(n->net, &from, &bytes, &len) != NET_OK)
                break;
            on_peer(n, from, bytes, len);
            free(bytes);
            drain(n);
        }
        /* Clients get a bounded share of each turn: a flood of requests (or
         * of retries after "busy") must never starve the consensus messages
         * and timers, or the validators would change view under load. */
        int more[2] = {1, n->client_curve != NULL};
        for (int k = 0; k < 128 && (more[0] || more[1]); k++) {
            client_request req;
            int slot = more[k % 2] ? k % 2 : 1 - k % 2; /* the two endpoints take turns */
            if (client_endpoint_recv(slot ? n->client_curve : n->client, &req) != NET_OK) {
                more[slot] = 0;
                continue;
            }
            req.reply.slot = (uint8_t)slot;
            on_client(n, &req);
            free(req.data);
        }
        on_verdicts(n);
        now = mono_ms();
        for (int t = 1; t <= 3; t++) {
            if (n->timer_at[t] != 0 && n->timer_at[t] <= now) {
                n->timer_at[t] = 0;
                replica_on_timer(n->rep, (replica_timer)t);
                drain(n);
            }
        }
        answer_waiters(n, NULL, 0);
        n->recheck_at = n->n_rechecks > 0 ? run_rechecks(n, mono_ms()) : 0;
        attest_recheck(n, now);
        keep_checkpoint(n);
        settle(n);
        metrics_publish(n, mono_ms());
    }
    if (n->fatal)
        return 1;
    log_info("stopping: height %" PRIu64 ", view %" PRIu64, replica_last_executed(n->rep), replica_view(n->rep));
    return 0;
}
