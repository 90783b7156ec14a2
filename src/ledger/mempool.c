/* The mempool: verification on worker threads, then a pending set in
 * arrival order with an index by transaction id.
 *
 * One mutex guards everything; the expensive part (ledger_tx_decode, i.e.
 * the Schnorr verification) runs outside it. Pending entries live on two
 * lists — `ready` (never handed out) and `taken` (in a proposed batch) — so
 * take, untake and commit cost O(what they touch). Verdicts wait in a FIFO
 * and an eventfd tells the event loop there is something to collect. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "ledger.h"

#define MEMPOOL_QUEUE_MIN 1024       /* waiting for a worker, for a client's transaction */
#define MEMPOOL_QUEUE_PER_WORKER 256 /* ~10 ms of verification per worker */

typedef struct entry {
    uint8_t id[CRYPTO_HASH_LEN];
    uint8_t *bytes;
    size_t len;
    elgamal_ct *ballot_cts;    /* a ballot whose proofs passed: its ciphertexts */
    size_t n_ballot_cts;
    int taken;
    int state_decides;         /* election_admit_asks: mempool_sweep may drop it */
    uint64_t asked;            /* the mempool_sweep call (mp->sweeps) that last asked; 0: none */
    struct entry *prev, *next; /* in ready or taken */
    struct entry *hnext;       /* hash chain */
} entry;

typedef struct {
    entry *head, *tail;
} entry_list;

typedef struct job {
    uint8_t id[CRYPTO_HASH_LEN]; /* envelope_txid of bytes */
    uint8_t *bytes;
    size_t len;
    uint64_t ticket;
    mempool_gate_mode gated; /* how the state gate applies (mempool_set_state_gate) */
    struct job *next;
    struct job *busy_next; /* in mempool.busy while a worker verifies it */
} job;

typedef struct verdict_node {
    mempool_verdict v;
    struct verdict_node *next;
} verdict_node;

/* The ids of the last RECENT_MAX committed transactions, so a copy that
 * arrives after its block (gossip is not ordered with blocks) is not
 * verified again: a ring of ids with a chained hash index. */
#define RECENT_MAX 65536u
#define RECENT_NONE UINT32_MAX
typedef struct {
    uint8_t (*ids)[CRYPTO_HASH_LEN]; /* ring, RECENT_MAX entries */
    uint32_t *next;                  /* hash chain through the ring */
    uint32_t *heads;                 /* RECENT_MAX buckets */
    uint32_t n, pos;                 /* entries used; next slot to (over)write */
} recent_set;

struct mempool {
    uint8_t chain_id[CRYPTO_CHAIN_ID_LEN];
    size_t capacity;
    pthread_mutex_t lock;
    pthread_cond_t work;
    int stopping;
    pthread_t *threads;
    unsigned n_threads;
    job *jobs_head, *jobs_tail;
    size_t n_jobs;
    size_t n_fwd_jobs; /* of them, passed on by other validators (ticket 0) */
    size_t n_busy; /* jobs a worker is verifying right now */
    uint64_t timing_seq; /* jobs taken: every MEMPOOL_TIMING_SAMPLE-th is timed */
    job *busy;     /* those jobs */
    pthread_cond_t settled; /* broadcast when a worker settles a job */
    verdict_node *verdicts_head, *verdicts_tail;
    entry **buckets;
    size_t n_buckets; /* power of two */
    entry_list ready, taken;
    size_t n_pending;
    size_t bytes;     /* transaction bytes of jobs (queued or busy) and pending entries */
    size_t max_bytes; /* 0: no byte limit */
    size_t n_taken; /* of n_pending, in a proposed batch */
    int efd;
    int signalled; /* efd written since the last drain (under lock) */
    mempool_stats stats;
    election_cache *elections; /* ballots are checked here when set */
    uint64_t sweeps;           /* mempool_sweep calls */
    const genesis *genesis;    /* signers checked against it when set (ledger_signer_may_sign) */
    recent_set recent;         /* recently committed ids (empty without memory) */
    mempool_state_gate gate;  /* may be NULL */
    void *gate_ctx;
    int (*committed)(void *ctx, const uint8_t id[CRYPTO_HASH_LEN]); /* may be NULL */
    void *committed_ctx;
    /* mempool_parallel's run (one at a time): items par_next.. not started,
     * par_done of par_n returned */
    void (*par_fn)(void *arg, size_t i);
    void *par_arg;
    size_t par_next, par_n, par_done;
};

static void list_push_back(entry_list *l, entry *e)
{
    e->next = NULL;
    e->prev = l->tail;
    if (l->tail)
        l->tail->next = e;
    else
        l->head = e;
    l->tail = e;
}

static void list_unlink(entry_list *l, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        l->tail = e->prev;
    e->prev = e->next = NULL;
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, CRYPTO_HASH_LEN);
}

/* Transaction ids are hash outputs: their first bytes index the table. */
static size_t bucket_of(const mempool *mp, const uint8_t id[CRYPTO_HASH_LEN])
{
    uint64_t h;
    memcpy(&h, id, sizeof h);
    return (size_t)(h & (mp->n_buckets - 1));
}

static entry *find(const mempool *mp, const uint8_t id[CRYPTO_HASH_LEN])
{
    for (entry *e = mp->buckets[bucket_of(mp, id)]; e; e = e->hnext)
        if (memcmp(e->id, id, CRYPTO_HASH_LEN) == 0)
            return e;
    return NULL;
}

static uint32_t recent_bucket(const uint8_t id[CRYPTO_HASH_LEN])
{
    uint32_t h;
    memcpy(&h, id + 8, sizeof h); /* other bytes than the pool's index: either is uniform */
    return h & (RECENT_MAX - 1);
}

static int recent_has(const recent_set *r, const uint8_t id[CRYPTO_HASH_LEN])
{
    if (r->ids == NULL)
        return 0;
    for (uint32_t i = r->heads[recent_bucket(id)]; i != RECENT_NONE; i = r->next[i])
        if (memcmp(r->ids[i], id, CRYPTO_HASH_LEN) == 0)
            return 1;
    return 0;
}

static void recent_add(recent_set *r, const uint8_t id[CRYPTO_HASH_LEN])
{
    uint32_t slot, b;
    if (r->ids == NULL || recent_has(r, id))
        return;
    slot = r->pos;
    if (r->n == RECENT_MAX) { /* the oldest leaves its chain */
        uint32_t *p = &r->heads[recent_bucket(r->ids[slot])];
        while (*p != RECENT_NONE && *p != slot)
            p = &r->next[*p];
        if (*p == slot)
            *p = r->next[slot];
    } else {
        r->n++;
    }
    memcpy(r->ids[slot], id, CRYPTO_HASH_LEN);
    b = recent_bucket(id);
    r->next[slot] = r->heads[b];
    r->heads[b] = slot;
    r->pos = (slot + 1) % RECENT_MAX;
}

static void hash_remove(mempool *mp, entry *e)
{
    entry **p = &mp->buckets[bucket_of(mp, e->id)];
    while (*p && *p != e)
        p = &(*p)->hnext;
    if (*p)
        *p = e->hnext;
}

/* Called with the lock held, after a verdict was queued: returns 1 when the
 * caller must signal the eventfd. Once signalled, the event loop will drain
 * every verdict queued until it takes the lock in mempool_poll_verdicts, so
 * one write per drain is enough (not one syscall and wake-up per verdict). */
static int claim_signal(mempool *mp)
{
    if (mp->signalled)
        return 0;
    mp->signalled = 1;
    return 1;
}

static void signal_verdicts(mempool *mp)
{
    uint64_t one = 1;
    /* eventfd counts; a failed write can only mean the counter is huge,
     * in which case the fd is readable anyway. */
    ssize_t w = write(mp->efd, &one, sizeof one);
    (void)w;
}

/* Called with the lock held. */
static void push_verdict(mempool *mp, verdict_node *vn)
{
    vn->next = NULL;
    if (mp->verdicts_tail)
        mp->verdicts_tail->next = vn;
    else
        mp->verdicts_head = vn;
    mp->verdicts_tail = vn;
}

/* Called with the lock held: a verified transaction joins the pending set
 * (bytes: a malloc'ed copy whose ownership moves to the entry). */
static entry *insert_pending(mempool *mp, const uint8_t id[CRYPTO_HASH_LEN], uint8_t *bytes, size_t len)
{
    entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    memcpy(e->id, id, CRYPTO_HASH_LEN);
    e->bytes = bytes;
    e->len = len;
    size_t b = bucket_of(mp, e->id);
    e->hnext = mp->buckets[b];
    mp->buckets[b] = e;
    list_push_back(&mp->ready, e);
    mp->n_pending++;
    mp->stats.accepted++;
    return e;
}

/* Called with the lock held: record the outcome of one verification.
 * provisional: a refusal the caller will ask about again (not counted). */
static void settle(mempool *mp, job *j, ledger_tx *tx, ledger_err err, crypto_err detail,
                   verdict_node *vn, elgamal_ct *cts, size_t n_cts, int provisional)
{
    vn->v.ticket = j->ticket;
    vn->v.err = err;
    vn->v.detail = detail;
    vn->v.duplicate = 0;
    if (err == LEDGER_OK) {
        memcpy(vn->v.id, tx->id, CRYPTO_HASH_LEN);
        /* Pending already, or committed while it was being verified. */
        if (find(mp, tx->id) || recent_has(&mp->recent, tx->id)) {
            vn->v.duplicate = 1;
            mp->stats.duplicates++;
        } else {
            entry *e = insert_pending(mp, tx->id, j->bytes, j->len);
            if (e == NULL) {
                vn->v.err = LEDGER_ERR_NOMEM;
            } else {
                j->bytes = NULL;     /* ownership moved to the entry */
                e->state_decides = election_admit_asks(tx->body);
                e->ballot_cts = cts; /* ownership moves too (NULL: not a checked ballot) */
                e->n_ballot_cts = n_cts;
                cts = NULL;
            }
        }
    }
    free(cts); /* not kept (refused, duplicate) */
    if (j->bytes != NULL)
        mp->bytes -= j->len; /* not kept: the caller frees them */
    if (vn->v.err != LEDGER_OK && vn->v.err <= LEDGER_ERR_RULES && !provisional)
        mp->stats.rejected[vn->v.err]++;
    if (vn->v.err != LEDGER_OK && vn->v.err != LEDGER_ERR_NOMEM && !provisional) {
        Evote__V1__TxResult r = vn->v.err == LEDGER_ERR_RULES ? vn->v.rule : ledger_result_for(vn->v.err, detail);
        if ((unsigned)r < LEDGER_TX_RESULT_SLOTS)
            mp->stats.refused[r]++;
    }
    push_verdict(mp, vn);
}

/* Called with the lock held: the verdict for a job whose exact bytes need no
 * verification — already pending here (verified then), or committed (checked
 * by the block's execution): accepted, marked duplicate, nothing kept. The
 * job is freed. Returns: 1 when a verdict was queued (signal it). */
static int settle_known(mempool *mp, job *j)
{
    verdict_node *vn = j->ticket != 0 ? calloc(1, sizeof *vn) : NULL;
    mp->bytes -= j->len; /* freed below */
    mp->stats.duplicates++;
    mp->stats.skipped++;
    if (vn != NULL) {
        vn->v.ticket = j->ticket;
        vn->v.err = LEDGER_OK;
        vn->v.duplicate = 1;
        memcpy(vn->v.id, j->id, CRYPTO_HASH_LEN);
        if (mp->verdicts_tail)
            mp->verdicts_tail->next = vn;
        else
            mp->verdicts_head = vn;
        mp->verdicts_tail = vn;
    }
    free(j->bytes);
    free(j);
    return vn != NULL;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker(void *arg)
{
    mempool *mp = arg;
    pthread_mutex_lock(&mp->lock);
    for (;;) {
        while (!mp->stopping && mp->jobs_head == NULL && mp->par_next == mp->par_n)
            pthread_cond_wait(&mp->work, &mp->lock);
        if (mp->stopping)
            break;
        if (mp->par_next < mp->par_n) { /* mempool_parallel's items go first */
            size_t i = mp->par_next++;
            void (*fn)(void *, size_t) = mp->par_fn;
            void *fn_arg = mp->par_arg;
            pthread_mutex_unlock(&mp->lock);
            fn(fn_arg, i);
            pthread_mutex_lock(&mp->lock);
            if (++mp->par_done == mp->par_n)
                pthread_cond_broadcast(&mp->settled);
            continue;
        }
        job *j = mp->jobs_head;
        mp->jobs_head = j->next;
        if (mp->jobs_head == NULL)
            mp->jobs_tail = NULL;
        mp->n_jobs--;
        mp->n_fwd_jobs -= j->ticket == 0;
        /* The same bytes already verified and pending (a client's retry, a
         * ballot sent to two validators and forwarded by both), or
         * committed a moment ago (forwarded copies arriving after the
         * block): the signature and the proofs are not checked again. */
        if (find(mp, j->id) != NULL || recent_has(&mp->recent, j->id)) {
            if (settle_known(mp, j) && claim_signal(mp))
                signal_verdicts(mp);
            continue;
        }
        /* The clock read is a system call: one job in
         * MEMPOOL_TIMING_SAMPLE pays it. */
        int timed = ++mp->timing_seq % MEMPOOL_TIMING_SAMPLE == 0;
        mp->n_busy++;
        j->busy_next = mp->busy;
        mp->busy = j;
        mp->stats.verified++;
        pthread_mutex_unlock(&mp->lock);

        ledger_tx *tx = NULL;
        crypto_err detail = CRYPTO_OK;
        uint64_t t0 = timed ? thread_cpu_ns() : 0;
        ledger_err err = ledger_tx_decode(j->bytes, j->len, mp->chain_id, &tx, &detail);
        verdict_node *vn = calloc(1, sizeof *vn);
        Evote__V1__TxResult rule = EVOTE__V1__TX_RESULT__TX_RESULT_UNSPECIFIED;
        elgamal_ct *cts = NULL;
        size_t n_cts = 0;

        /* A transaction its signer may never sign would only take block
         * space and every validator's disk to record NOT_AUTHORIZED. */
        if (err == LEDGER_OK && mp->genesis != NULL &&
            !ledger_signer_may_sign(mp->genesis, tx->body, tx->envelope->signer.data))
            err = LEDGER_ERR_NOT_AUTHORIZED;
        /* A client's transaction that the chain's state already refuses (a
         * ballot not on the roll, a second one, after the polls closed; a
         * trustee step by someone else), or one another validator passed on
         * that it refuses for good: refused before a ballot's proofs, the
         * expensive part, are checked. */
        int hand_back = 0; /* a refusal a later block may change: the bytes go with the verdict */
        int by_state = 0, may_change = 0;
        if (err == LEDGER_OK && j->gated != MEMPOOL_GATE_NONE && mp->gate != NULL) {
            int final = 0;
            Evote__V1__TxResult g = mp->gate(mp->gate_ctx, tx->body, tx->envelope->signer.data, tx->id, &final);
            if (g != EVOTE__V1__TX_RESULT__TX_RESULT_OK && g != EVOTE__V1__TX_RESULT__TX_RESULT_UNSPECIFIED &&
                (final || j->gated != MEMPOOL_GATE_FINAL_ONLY)) {
                rule = g;
                err = LEDGER_ERR_RULES;
                by_state = 1;
                may_change = !final;
                hand_back = !final && j->gated == MEMPOOL_GATE_ASK;
            }
        }
        /* A ballot's proofs are the expensive part of the whole chain:
         * checked here, on the workers, once; execution reuses the verdict. */
        if (err == LEDGER_OK && mp->elections != NULL &&
            tx->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_BALLOT) {
            elgamal_ct buf[ELECTION_MAX_SLOTS];
            rule = election_precheck_ballot(mp->elections, tx->body, tx->envelope->signer.data, buf,
                                              ELECTION_MAX_SLOTS, &n_cts);
            if (rule == EVOTE__V1__TX_RESULT__TX_RESULT_OK) {
                cts = malloc((n_cts ? n_cts : 1) * sizeof *cts);
                if (cts != NULL)
                    memcpy(cts, buf, n_cts * sizeof *cts);
            } else if (rule != EVOTE__V1__TX_RESULT__TX_RESULT_UNSPECIFIED) {
                err = LEDGER_ERR_RULES; /* can never be valid */
            }
        }
        if (vn != NULL) {
            vn->v.rule = rule;
            vn->v.by_state = by_state;
            vn->v.may_change = may_change;
        }
        uint64_t spent = timed ? thread_cpu_ns() - t0 : 0;

        pthread_mutex_lock(&mp->lock);
        mp->n_busy--;
        for (job **pb = &mp->busy; *pb != NULL; pb = &(*pb)->busy_next)
            if (*pb == j) {
                *pb = j->busy_next;
                break;
            }
        if (timed && err == LEDGER_OK) {
            int kind = rule == EVOTE__V1__TX_RESULT__TX_RESULT_OK;
            mp->stats.timed[kind]++;
            mp->stats.timed_ns[kind] += spent;
        }
        if (vn != NULL) {
            settle(mp, j, tx, err, detail, vn, cts, n_cts, hand_back);
            if (hand_back) { /* not counted any more (settle), now the caller's */
                vn->v.bytes = j->bytes;
                vn->v.len = j->len;
                j->bytes = NULL;
            }
        } else {
            mp->bytes -= j->len; /* not kept */
            free(cts);
        }
        pthread_cond_broadcast(&mp->settled);
        /* Without memory for a verdict the client sees no answer and will
         * time out; the transaction is not kept either way. */
        int sig = vn != NULL && claim_signal(mp);
        pthread_mutex_unlock(&mp->lock);
        if (sig)
            signal_verdicts(mp);
        ledger_tx_destroy(&tx);
        free(j->bytes);
        free(j);
        pthread_mutex_lock(&mp->lock);
    }
    pthread_mutex_unlock(&mp->lock);
    return NULL;
}

ledger_err mempool_new(const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], size_t capacity, unsigned workers,
                       mempool **out)
{
    mempool *mp;
    *out = NULL;
    if (capacity == 0)
        capacity = 1;
    if (workers == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        workers = cores > 0 ? (unsigned)cores : 1;
    }
    mp = calloc(1, sizeof *mp);
    if (mp == NULL)
        return LEDGER_ERR_NOMEM;
    memcpy(mp->chain_id, chain_id, CRYPTO_CHAIN_ID_LEN);
    mp->capacity = capacity;
    mp->n_buckets = 16;
    while (mp->n_buckets < 2 * capacity)
        mp->n_buckets *= 2;
    mp->buckets = calloc(mp->n_buckets, sizeof *mp->buckets);
    mp->recent.ids = malloc(RECENT_MAX * sizeof *mp->recent.ids);
    mp->recent.next = malloc(RECENT_MAX * sizeof *mp->recent.next);
    mp->recent.heads = malloc(RECENT_MAX * sizeof *mp->recent.heads);
    if (mp->recent.ids == NULL || mp->recent.next == NULL || mp->recent.heads == NULL) {
        free(mp->recent.ids); /* an optimisation only: run without it */
        free(mp->recent.next);
        free(mp->recent.heads);
        memset(&mp->recent, 0, sizeof mp->recent);
    } else {
        memset(mp->recent.heads, 0xff, RECENT_MAX * sizeof *mp->recent.heads); /* RECENT_NONE */
    }
    mp->threads = calloc(workers, sizeof *mp->threads);
    mp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&mp->lock, NULL);
    pthread_cond_init(&mp->work, NULL);
    pthread_cond_init(&mp->settled, NULL);
    if (mp->buckets == NULL || mp->threads == NULL || mp->efd < 0) {
        mempool_destroy(&mp);
        return LEDGER_ERR_NOMEM;
    }
    for (unsigned i = 0; i < workers; i++) {
        if (pthread_create(&mp->threads[i], NULL, worker, mp) != 0) {
            mempool_destroy(&mp);
            return LEDGER_ERR_THREAD;
        }
        mp->n_threads++;
    }
    *out = mp;
    return LEDGER_OK;
}

void mempool_destroy(mempool **pmp)
{
    mempool *mp;
    if (pmp == NULL || *pmp == NULL)
        return;
    mp = *pmp;
    pthread_mutex_lock(&mp->lock);
    mp->stopping = 1;
    pthread_cond_broadcast(&mp->work);
    pthread_mutex_unlock(&mp->lock);
    for (unsigned i = 0; i < mp->n_threads; i++)
        pthread_join(mp->threads[i], NULL);
    for (job *j = mp->jobs_head, *n; j; j = n) {
        n = j->next;
        free(j->bytes);
        free(j);
    }
    for (verdict_node *v = mp->verdicts_head, *n; v; v = n) {
        n = v->next;
        free(v->v.bytes);
        free(v);
    }
    entry_list *lists[2] = {&mp->ready, &mp->taken};
    for (int l = 0; l < 2; l++)
        for (entry *e = lists[l]->head, *n; e; e = n) {
            n = e->next;
            free(e->bytes);
            free(e->ballot_cts);
            free(e);
        }
    if (mp->efd >= 0)
        close(mp->efd);
    pthread_cond_destroy(&mp->work);
    pthread_cond_destroy(&mp->settled);
    pthread_mutex_destroy(&mp->lock);
    free(mp->buckets);
    free(mp->threads);
    free(mp->recent.ids);
    free(mp->recent.next);
    free(mp->recent.heads);
    free(mp);
    *pmp = NULL;
}

int mempool_fd(const mempool *mp)
{
    return mp->efd;
}

/* Called with the lock held. A client's transaction (ticket != 0) is
 * refused "busy" once MEMPOOL_QUEUE_MIN client verifications (or
 * MEMPOOL_QUEUE_PER_WORKER per worker, if more) wait: "busy" pushes back
 * at once instead of letting the queue (and every client's wait) grow.
 * What other validators pass on (ticket 0) may take at most half the
 * capacity in the queue, and does not count against clients: else one
 * faulty validator passing on junk fills the queue and every client of
 * this validator is answered busy while it lasts. */
static int full(const mempool *mp, uint64_t ticket, size_t len)
{
    size_t queued = mp->n_jobs + mp->n_busy, limit = (size_t)mp->n_threads * MEMPOOL_QUEUE_PER_WORKER;
    if (limit < MEMPOOL_QUEUE_MIN)
        limit = MEMPOOL_QUEUE_MIN;
    return queued + mp->n_pending >= mp->capacity || (ticket != 0 && queued - mp->n_fwd_jobs >= limit) ||
           (ticket == 0 && mp->n_fwd_jobs >= mp->capacity / 2) ||
           (mp->max_bytes != 0 && mp->bytes + len > mp->max_bytes);
}

/* A job holding a copy of bytes and their transaction id (computed here,
 * outside the lock). Returns: the job, or NULL out of memory. */
static job *job_new(const uint8_t *bytes, size_t len, uint64_t ticket)
{
    job *j = malloc(sizeof *j);
    uint8_t *copy = malloc(len ? len : 1);
    if (j == NULL || copy == NULL) {
        free(j);
        free(copy);
        return NULL;
    }
    if (len)
        memcpy(copy, bytes, len);
    envelope_txid(copy, len, j->id);
    j->bytes = copy;
    j->len = len;
    j->ticket = ticket;
    j->gated = MEMPOOL_GATE_NONE;
    j->next = NULL;
    return j;
}

static void job_free(job *j)
{
    free(j->bytes);
    free(j);
}

static ledger_err submit_job(mempool *mp, const uint8_t *bytes, size_t len, uint64_t ticket, mempool_gate_mode gated)
{
    job *j;
    /* Refusing costs nothing when full: a flood of retries must not eat the
     * time the validator needs for consensus. */
    pthread_mutex_lock(&mp->lock);
    if (full(mp, ticket, len)) {
        mp->stats.submitted++;
        mp->stats.busy++;
        pthread_mutex_unlock(&mp->lock);
        return LEDGER_ERR_BUSY;
    }
    pthread_mutex_unlock(&mp->lock);
    if ((j = job_new(bytes, len, ticket)) == NULL)
        return LEDGER_ERR_NOMEM;
    j->gated = gated;
    pthread_mutex_lock(&mp->lock);
    mp->stats.submitted++;
    if (full(mp, ticket, len)) {
        mp->stats.busy++;
        pthread_mutex_unlock(&mp->lock);
        job_free(j);
        return LEDGER_ERR_BUSY;
    }
    if (mp->jobs_tail)
        mp->jobs_tail->next = j;
    else
        mp->jobs_head = j;
    mp->jobs_tail = j;
    mp->n_jobs++;
    mp->n_fwd_jobs += ticket == 0;
    mp->bytes += len;
    pthread_cond_signal(&mp->work);
    pthread_mutex_unlock(&mp->lock);
    return LEDGER_OK;
}

void mempool_parallel(mempool *mp, void (*fn)(void *arg, size_t i), void *arg, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&mp->lock);
    mp->par_fn = fn;
    mp->par_arg = arg;
    mp->par_next = mp->par_done = 0;
    mp->par_n = n;
    pthread_cond_broadcast(&mp->work);
    while (mp->par_next < n) { /* this thread takes its share too */
        size_t i = mp->par_next++;
        pthread_mutex_unlock(&mp->lock);
        fn(arg, i);
        pthread_mutex_lock(&mp->lock);
        mp->par_done++;
    }
    while (mp->par_done < n) /* the items the workers started */
        pthread_cond_wait(&mp->settled, &mp->lock);
    mp->par_fn = NULL;
    mp->par_arg = NULL;
    mp->par_next = mp->par_n = mp->par_done = 0;
    pthread_mutex_unlock(&mp->lock);
}

ledger_err mempool_submit(mempool *mp, const uint8_t *bytes, size_t len, uint64_t ticket)
{
    return submit_job(mp, bytes, len, ticket, ticket != 0 ? MEMPOOL_GATE_ASK : MEMPOOL_GATE_NONE);
}

ledger_err mempool_submit_gated(mempool *mp, const uint8_t *bytes, size_t len, uint64_t ticket,
                                mempool_gate_mode mode)
{
    return submit_job(mp, bytes, len, ticket, mode);
}

ledger_err mempool_submit_first(mempool *mp, const uint8_t *bytes, size_t len, uint64_t ticket)
{
    job *j = job_new(bytes, len, ticket);
    if (j == NULL)
        return LEDGER_ERR_NOMEM;
    pthread_mutex_lock(&mp->lock);
    mp->stats.submitted++;
    j->next = mp->jobs_head;
    mp->jobs_head = j;
    if (mp->jobs_tail == NULL)
        mp->jobs_tail = j;
    mp->n_jobs++;
    mp->bytes += len; /* counted, never refused: a proposal's transaction */
    pthread_cond_signal(&mp->work);
    pthread_mutex_unlock(&mp->lock);
    return LEDGER_OK;
}

size_t mempool_poll_verdicts(mempool *mp, mempool_verdict *out, size_t max)
{
    size_t n = 0;
    uint64_t count;
    /* Drain the eventfd first: a verdict settled after this read signals
     * again, so none is left unannounced. */
    ssize_t r = read(mp->efd, &count, sizeof count);
    (void)r;
    pthread_mutex_lock(&mp->lock);
    while (n < max && mp->verdicts_head) {
        verdict_node *v = mp->verdicts_head;
        mp->verdicts_head = v->next;
        if (mp->verdicts_head == NULL)
            mp->verdicts_tail = NULL;
        out[n++] = v->v;
        free(v);
    }
    int more = mp->verdicts_head != NULL;
    mp->signalled = more; /* more: signalled again below */
    pthread_mutex_unlock(&mp->lock);
    if (more)
        signal_verdicts(mp);
    return n;
}

/* The oldest pending transactions not handed out yet, up to max_txs and
 * max_bytes (at least one); take: hand them out too. */
static size_t oldest_ready(mempool *mp, size_t max_txs, size_t max_bytes, mempool_tx *out, int take)
{
    size_t n = 0, bytes = 0;
    pthread_mutex_lock(&mp->lock);
    for (entry *e = mp->ready.head, *next; e != NULL && n < max_txs; e = next) {
        next = e->next;
        if (n > 0 && bytes + e->len > max_bytes)
            break;
        if (take) {
            list_unlink(&mp->ready, e);
            list_push_back(&mp->taken, e);
            e->taken = 1;
            mp->n_taken++;
        }
        out[n].bytes = e->bytes;
        out[n].len = e->len;
        out[n].id = e->id;
        bytes += e->len;
        n++;
    }
    pthread_mutex_unlock(&mp->lock);
    return n;
}

size_t mempool_take(mempool *mp, size_t max_txs, size_t max_bytes, mempool_tx *out)
{
    return oldest_ready(mp, max_txs, max_bytes, out, 1);
}

size_t mempool_peek(mempool *mp, size_t max_txs, size_t max_bytes, mempool_tx *out)
{
    return oldest_ready(mp, max_txs, max_bytes, out, 0);
}

void mempool_mark_taken(mempool *mp, const uint8_t (*ids)[CRYPTO_HASH_LEN], size_t n)
{
    pthread_mutex_lock(&mp->lock);
    for (size_t i = 0; i < n; i++) {
        entry *e = find(mp, ids[i]);
        if (e == NULL || e->taken)
            continue;
        list_unlink(&mp->ready, e);
        e->taken = 1;
        mp->n_taken++;
        list_push_back(&mp->taken, e);
    }
    pthread_mutex_unlock(&mp->lock);
}

void mempool_untake_all(mempool *mp)
{
    pthread_mutex_lock(&mp->lock);
    if (mp->taken.head) {
        for (entry *e = mp->taken.head; e; e = e->next)
            e->taken = 0;
        mp->taken.tail->next = mp->ready.head;
        if (mp->ready.head)
            mp->ready.head->prev = mp->taken.tail;
        else
            mp->ready.tail = mp->taken.tail;
        mp->ready.head = mp->taken.head;
        mp->taken.head = mp->taken.tail = NULL;
        mp->n_taken = 0;
    }
    pthread_mutex_unlock(&mp->lock);
}

/* Called with the lock held: a pending entry leaves the pool. */
static void remove_entry(mempool *mp, entry *e)
{
    hash_remove(mp, e);
    list_unlink(e->taken ? &mp->taken : &mp->ready, e);
    if (e->taken)
        mp->n_taken--;
    mp->n_pending--;
    mp->bytes -= e->len;
    free(e->bytes);
    free(e->ballot_cts);
    free(e);
}

#define SWEEP_SCAN 4096 /* entries looked at per mempool_sweep, from the oldest */

size_t mempool_sweep(mempool *mp, size_t max)
{
    entry **cand;
    Evote__V1__TxResult *why;
    size_t n = 0, scanned = 0, dropped = 0;

    if (mp->gate == NULL || max == 0)
        return 0;
    cand = malloc(max * sizeof *cand);
    why = malloc(max * sizeof *why);
    if (cand == NULL || why == NULL) {
        free(cand);
        free(why);
        return 0;
    }
    pthread_mutex_lock(&mp->lock);
    mp->sweeps++;
    for (entry *e = mp->ready.head; e != NULL && n < max && scanned < SWEEP_SCAN; e = e->next, scanned++)
        if (e->state_decides && (e->asked == 0 || mp->sweeps - e->asked >= 2)) {
            e->asked = mp->sweeps;
            cand[n++] = e;
        }
    pthread_mutex_unlock(&mp->lock);
    /* Without the lock: the entries stay, as only the caller's thread
     * removes any (mempool_commit, below); the workers only add. */
    for (size_t i = 0; i < n; i++) {
        ledger_tx *tx = NULL;
        int final = 0;
        why[i] = EVOTE__V1__TX_RESULT__TX_RESULT_OK;
        /* Its signature was checked when it came. */
        if (ledger_tx_decode_committed(cand[i]->bytes, cand[i]->len, mp->chain_id, &tx, NULL) != LEDGER_OK)
            continue;
        Evote__V1__TxResult r = mp->gate(mp->gate_ctx, tx->body, tx->envelope->signer.data, tx->id, &final);
        if (r != EVOTE__V1__TX_RESULT__TX_RESULT_OK && r != EVOTE__V1__TX_RESULT__TX_RESULT_UNSPECIFIED && final)
            why[i] = r;
        ledger_tx_destroy(&tx);
    }
    pthread_mutex_lock(&mp->lock);
    for (size_t i = 0; i < n; i++) {
        if (why[i] == EVOTE__V1__TX_RESULT__TX_RESULT_OK || cand[i]->taken)
            continue; /* taken meanwhile: its block records the refusal */
        if ((unsigned)why[i] < LEDGER_TX_RESULT_SLOTS)
            mp->stats.refused[why[i]]++;
        mp->stats.swept++;
        remove_entry(mp, cand[i]);
        dropped++;
    }
    pthread_mutex_unlock(&mp->lock);
    free(cand);
    free(why);
    return dropped;
}

void mempool_commit(mempool *mp, const uint8_t (*ids)[CRYPTO_HASH_LEN], size_t n)
{
    uint8_t (*queued)[CRYPTO_HASH_LEN] = NULL; /* committed before their verification: sorted */
    size_t n_queued = 0;
    int signal = 0;

    pthread_mutex_lock(&mp->lock);
    if (mp->n_jobs > 0 && n > 0)
        queued = malloc(n * sizeof *queued); /* without it, the jobs are merely verified */
    for (size_t i = 0; i < n; i++) {
        entry *e = find(mp, ids[i]);
        recent_add(&mp->recent, ids[i]);
        if (e == NULL) {
            if (queued != NULL)
                memcpy(queued[n_queued++], ids[i], CRYPTO_HASH_LEN);
            continue;
        }
        remove_entry(mp, e);
    }
    /* Queued copies of what just committed (a forwarded ballot the block
     * executed before a worker reached it) are not verified again: the block's
     * execution checked them. */
    if (n_queued > 0) {
        qsort(queued, n_queued, sizeof *queued, cmp_id);
        for (job **pj = &mp->jobs_head, *prev = NULL; *pj != NULL;) {
            job *j = *pj;
            if (bsearch(j->id, queued, n_queued, sizeof *queued, cmp_id) == NULL) {
                prev = j;
                pj = &j->next;
                continue;
            }
            *pj = j->next;
            if (mp->jobs_tail == j)
                mp->jobs_tail = prev;
            mp->n_jobs--;
            mp->n_fwd_jobs -= j->ticket == 0;
            signal |= settle_known(mp, j);
        }
    }
    signal = signal && claim_signal(mp);
    pthread_mutex_unlock(&mp->lock);
    free(queued);
    if (signal)
        signal_verdicts(mp);
}

int mempool_is_verified(mempool *mp, const uint8_t id[CRYPTO_HASH_LEN])
{
    int found;
    pthread_mutex_lock(&mp->lock);
    found = find(mp, id) != NULL;
    pthread_mutex_unlock(&mp->lock);
    return found;
}

void mempool_add_verified(mempool *mp, const uint8_t *bytes, size_t len, const uint8_t id[CRYPTO_HASH_LEN])
{
    uint8_t *copy;
    int (*committed)(void *, const uint8_t *);
    void *ctx;
    int known;
    /* The pool's own memory first; the chain store (a lookup in LMDB) only
     * for what it does not know. */
    pthread_mutex_lock(&mp->lock);
    mp->stats.verified_inline++;
    known = find(mp, id) != NULL || recent_has(&mp->recent, id);
    committed = mp->committed;
    ctx = mp->committed_ctx;
    pthread_mutex_unlock(&mp->lock);
    if (known || (committed != NULL && committed(ctx, id)))
        return;
    pthread_mutex_lock(&mp->lock);
    if (find(mp, id) == NULL && !recent_has(&mp->recent, id) && (copy = malloc(len ? len : 1)) != NULL) {
        if (len)
            memcpy(copy, bytes, len);
        if (insert_pending(mp, id, copy, len) == NULL)
            free(copy);
        else
            mp->bytes += len;
    }
    pthread_mutex_unlock(&mp->lock);
}

void mempool_get_stats(mempool *mp, mempool_stats *out)
{
    pthread_mutex_lock(&mp->lock);
    *out = mp->stats;
    out->queued = mp->n_jobs + mp->n_busy;
    out->pending = mp->n_pending;
    out->ready = mp->n_pending - mp->n_taken;
    out->bytes = mp->bytes;
    out->max_bytes = mp->max_bytes;
    pthread_mutex_unlock(&mp->lock);
}

void mempool_set_elections(mempool *mp, election_cache *cache)
{
    pthread_mutex_lock(&mp->lock);
    mp->elections = cache;
    pthread_mutex_unlock(&mp->lock);
}

void mempool_set_byte_limit(mempool *mp, size_t max_bytes)
{
    pthread_mutex_lock(&mp->lock);
    mp->max_bytes = max_bytes;
    pthread_mutex_unlock(&mp->lock);
}

void mempool_set_state_gate(mempool *mp, mempool_state_gate fn, void *ctx)
{
    pthread_mutex_lock(&mp->lock);
    mp->gate = fn;
    mp->gate_ctx = ctx;
    pthread_mutex_unlock(&mp->lock);
}

void mempool_set_genesis(mempool *mp, const genesis *g)
{
    pthread_mutex_lock(&mp->lock);
    mp->genesis = g;
    pthread_mutex_unlock(&mp->lock);
}

void mempool_set_committed_check(mempool *mp, int (*fn)(void *ctx, const uint8_t id[CRYPTO_HASH_LEN]),
                                 void *ctx)
{
    pthread_mutex_lock(&mp->lock);
    mp->committed = fn;
    mp->committed_ctx = ctx;
    pthread_mutex_unlock(&mp->lock);
}

static int busy_with(const mempool *mp, const uint8_t id[CRYPTO_HASH_LEN])
{
    for (const job *j = mp->busy; j != NULL; j = j->busy_next)
        if (memcmp(j->id, id, CRYPTO_HASH_LEN) == 0)
            return 1;
    return 0;
}

int mempool_get_tx(mempool *mp, const uint8_t id[CRYPTO_HASH_LEN], const uint8_t **bytes, size_t *len)
{
    entry *e;
    pthread_mutex_lock(&mp->lock);
    e = find(mp, id);
    if (e != NULL) {
        *bytes = e->bytes;
        *len = e->len;
    }
    pthread_mutex_unlock(&mp->lock);
    return e != NULL;
}

int mempool_ballot_verdict(mempool *mp, const uint8_t id[CRYPTO_HASH_LEN], const elgamal_ct **cts, size_t *n)
{
    entry *e;
    int ok = 0;
    pthread_mutex_lock(&mp->lock);
    e = find(mp, id);
    /* A worker verifying this very ballot now: its verdict comes within one
     * verification, the time the caller would spend checking it itself —
     * waiting for it does the work once instead of twice. */
    while (e == NULL && !mp->stopping && busy_with(mp, id)) {
        pthread_cond_wait(&mp->settled, &mp->lock);
        e = find(mp, id);
    }
    if (e != NULL && e->ballot_cts != NULL) {
        *cts = e->ballot_cts;
        *n = e->n_ballot_cts;
        ok = 1;
    }
    pthread_mutex_unlock(&mp->lock);
    return ok;
}
