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
    struct entry *prev, *next; /* in ready or taken */
    struct entry *hnext;       /* hash chain */
} entry;

typedef struct {
    entry *head, *tail;
} entry_list;

typedef struct job {
    uint8_t *bytes;
    size_t len;
    uint64_t ticket;
    struct job *next;
} job;

typedef struct verdict_node {
    mempool_verdict v;
    struct verdict_node *next;
} verdict_node;

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
    size_t n_busy; /* jobs a worker is verifying right now */
    verdict_node *verdicts_head, *verdicts_tail;
    entry **buckets;
    size_t n_buckets; /* power of two */
    entry_list ready, taken;
    size_t n_pending;
    int efd;
    mempool_stats stats;
    election_cache *elections; /* ballots are checked here when set */
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

static void hash_remove(mempool *mp, entry *e)
{
    entry **p = &mp->buckets[bucket_of(mp, e->id)];
    while (*p && *p != e)
        p = &(*p)->hnext;
    if (*p)
        *p = e->hnext;
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

/* Called with the lock held: record the outcome of one verification. */
static void settle(mempool *mp, job *j, ledger_tx *tx, ledger_err err, crypto_err detail,
                   verdict_node *vn, elgamal_ct *cts, size_t n_cts)
{
    vn->v.ticket = j->ticket;
    vn->v.err = err;
    vn->v.detail = detail;
    vn->v.duplicate = 0;
    if (err == LEDGER_OK) {
        memcpy(vn->v.id, tx->id, CRYPTO_HASH_LEN);
        if (find(mp, tx->id)) {
            vn->v.duplicate = 1;
            mp->stats.duplicates++;
        } else {
            entry *e = insert_pending(mp, tx->id, j->bytes, j->len);
            if (e == NULL) {
                vn->v.err = LEDGER_ERR_NOMEM;
            } else {
                j->bytes = NULL;     /* ownership moved to the entry */
                e->ballot_cts = cts; /* ownership moves too (NULL: not a checked ballot) */
                e->n_ballot_cts = n_cts;
                cts = NULL;
            }
        }
    }
    free(cts); /* not kept (refused, duplicate) */
    if (vn->v.err != LEDGER_OK && vn->v.err <= LEDGER_ERR_BALLOT)
        mp->stats.rejected[vn->v.err]++;
    push_verdict(mp, vn);
}

static void *worker(void *arg)
{
    mempool *mp = arg;
    pthread_mutex_lock(&mp->lock);
    for (;;) {
        while (!mp->stopping && mp->jobs_head == NULL)
            pthread_cond_wait(&mp->work, &mp->lock);
        if (mp->stopping)
            break;
        job *j = mp->jobs_head;
        mp->jobs_head = j->next;
        if (mp->jobs_head == NULL)
            mp->jobs_tail = NULL;
        mp->n_jobs--;
        mp->n_busy++;
        pthread_mutex_unlock(&mp->lock);

        /* Already verified here (a copy forwarded again, a client retry, a
         * transaction the block check verified): never verify it twice. */
        uint8_t id[CRYPTO_HASH_LEN];
        envelope_txid(j->bytes, j->len, id);
        pthread_mutex_lock(&mp->lock);
        if (find(mp, id) != NULL) {
            verdict_node *dn = calloc(1, sizeof *dn);
            mp->n_busy--;
            mp->stats.duplicates++;
            if (dn != NULL) {
                dn->v.ticket = j->ticket;
                dn->v.err = LEDGER_OK;
                dn->v.duplicate = 1;
                memcpy(dn->v.id, id, CRYPTO_HASH_LEN);
                push_verdict(mp, dn);
            }
            pthread_mutex_unlock(&mp->lock);
            if (dn != NULL)
                signal_verdicts(mp);
            free(j->bytes);
            free(j);
            pthread_mutex_lock(&mp->lock);
            continue;
        }
        pthread_mutex_unlock(&mp->lock);

        ledger_tx *tx = NULL;
        crypto_err detail = CRYPTO_OK;
        ledger_err err = ledger_tx_decode(j->bytes, j->len, mp->chain_id, &tx, &detail);
        verdict_node *vn = calloc(1, sizeof *vn);
        Evote__V1__TxResult ballot = EVOTE__V1__TX_RESULT__TX_RESULT_UNSPECIFIED;
        elgamal_ct *cts = NULL;
        size_t n_cts = 0;

        /* A ballot's proofs are the expensive part of the whole chain:
         * checked here, on the workers, once; execution reuses the verdict. */
        if (err == LEDGER_OK && mp->elections != NULL &&
            tx->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_BALLOT) {
            elgamal_ct buf[ELECTION_MAX_SLOTS];
            ballot = election_precheck_ballot(mp->elections, tx->body, tx->envelope->signer.data, buf,
                                              ELECTION_MAX_SLOTS, &n_cts);
            if (ballot == EVOTE__V1__TX_RESULT__TX_RESULT_OK) {
                cts = malloc((n_cts ? n_cts : 1) * sizeof *cts);
                if (cts != NULL)
                    memcpy(cts, buf, n_cts * sizeof *cts);
            } else if (ballot != EVOTE__V1__TX_RESULT__TX_RESULT_UNSPECIFIED) {
                err = LEDGER_ERR_BALLOT; /* can never be valid */
            }
        }
        if (vn != NULL)
            vn->v.ballot = ballot;

        pthread_mutex_lock(&mp->lock);
        mp->n_busy--;
        if (vn != NULL)
            settle(mp, j, tx, err, detail, vn, cts, n_cts);
        else
            free(cts);
        pthread_mutex_unlock(&mp->lock);
        /* Without memory for a verdict the client sees no answer and will
         * time out; the transaction is not kept either way. */
        if (vn != NULL)
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
    mp->threads = calloc(workers, sizeof *mp->threads);
    mp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&mp->lock, NULL);
    pthread_cond_init(&mp->work, NULL);
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
    pthread_mutex_destroy(&mp->lock);
    free(mp->buckets);
    free(mp->threads);
    free(mp);
    *pmp = NULL;
}

int mempool_fd(const mempool *mp)
{
    return mp->efd;
}

/* Called with the lock held. A client's transaction (ticket != 0) also
 * waits for its verdict behind at most MEMPOOL_QUEUE_MIN verifications (or
 * MEMPOOL_QUEUE_PER_WORKER per worker, if more): beyond, "busy" pushes back
 * at once instead of letting the queue (and every client's wait) grow. */
static int full(const mempool *mp, uint64_t ticket)
{
    size_t queued = mp->n_jobs + mp->n_busy, limit = (size_t)mp->n_threads * MEMPOOL_QUEUE_PER_WORKER;
    if (limit < MEMPOOL_QUEUE_MIN)
        limit = MEMPOOL_QUEUE_MIN;
    return queued + mp->n_pending >= mp->capacity || (ticket != 0 && queued >= limit);
}

ledger_err mempool_submit(mempool *mp, const uint8_t *bytes, size_t len, uint64_t ticket)
{
    job *j;
    uint8_t *copy;
    /* Refusing costs nothing when full: a flood of retries must not eat the
     * time the validator needs for consensus. */
    pthread_mutex_lock(&mp->lock);
    if (full(mp, ticket)) {
        mp->stats.submitted++;
        mp->stats.busy++;
        pthread_mutex_unlock(&mp->lock);
        return LEDGER_ERR_BUSY;
    }
    pthread_mutex_unlock(&mp->lock);
    j = malloc(sizeof *j);
    copy = malloc(len ? len : 1);
    if (j == NULL || copy == NULL) {
        free(j);
        free(copy);
        return LEDGER_ERR_NOMEM;
    }
    if (len)
        memcpy(copy, bytes, len);
    j->bytes = copy;
    j->len = len;
    j->ticket = ticket;
    j->next = NULL;
    pthread_mutex_lock(&mp->lock);
    mp->stats.submitted++;
    if (full(mp, ticket)) {
        mp->stats.busy++;
        pthread_mutex_unlock(&mp->lock);
        free(copy);
        free(j);
        return LEDGER_ERR_BUSY;
    }
    if (mp->jobs_tail)
        mp->jobs_tail->next = j;
    else
        mp->jobs_head = j;
    mp->jobs_tail = j;
    mp->n_jobs++;
    pthread_cond_signal(&mp->work);
    pthread_mutex_unlock(&mp->lock);
    return LEDGER_OK;
}

ledger_err mempool_submit_first(mempool *mp, const uint8_t *bytes, size_t len, uint64_t ticket)
{
    job *j = malloc(sizeof *j);
    uint8_t *copy = malloc(len ? len : 1);
    if (j == NULL || copy == NULL) {
        free(j);
        free(copy);
        return LEDGER_ERR_NOMEM;
    }
    if (len)
        memcpy(copy, bytes, len);
    j->bytes = copy;
    j->len = len;
    j->ticket = ticket;
    pthread_mutex_lock(&mp->lock);
    mp->stats.submitted++;
    j->next = mp->jobs_head;
    mp->jobs_head = j;
    if (mp->jobs_tail == NULL)
        mp->jobs_tail = j;
    mp->n_jobs++;
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
    pthread_mutex_unlock(&mp->lock);
    if (more)
        signal_verdicts(mp);
    return n;
}

size_t mempool_take(mempool *mp, size_t max_txs, size_t max_bytes, mempool_tx *out)
{
    size_t n = 0, bytes = 0;
    pthread_mutex_lock(&mp->lock);
    while (n < max_txs && mp->ready.head) {
        entry *e = mp->ready.head;
        if (n > 0 && bytes + e->len > max_bytes)
            break;
        list_unlink(&mp->ready, e);
        list_push_back(&mp->taken, e);
        e->taken = 1;
        out[n].bytes = e->bytes;
        out[n].len = e->len;
        out[n].id = e->id;
        bytes += e->len;
        n++;
    }
    pthread_mutex_unlock(&mp->lock);
    return n;
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
    }
    pthread_mutex_unlock(&mp->lock);
}

void mempool_commit(mempool *mp, const uint8_t (*ids)[CRYPTO_HASH_LEN], size_t n)
{
    pthread_mutex_lock(&mp->lock);
    for (size_t i = 0; i < n; i++) {
        entry *e = find(mp, ids[i]);
        if (e == NULL)
            continue;
        hash_remove(mp, e);
        list_unlink(e->taken ? &mp->taken : &mp->ready, e);
        mp->n_pending--;
        free(e->bytes);
        free(e->ballot_cts);
        free(e);
    }
    pthread_mutex_unlock(&mp->lock);
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
    pthread_mutex_lock(&mp->lock);
    if (find(mp, id) == NULL && (copy = malloc(len ? len : 1)) != NULL) {
        if (len)
            memcpy(copy, bytes, len);
        if (insert_pending(mp, id, copy, len) == NULL)
            free(copy);
    }
    pthread_mutex_unlock(&mp->lock);
}

void mempool_get_stats(mempool *mp, mempool_stats *out)
{
    pthread_mutex_lock(&mp->lock);
    *out = mp->stats;
    out->queued = mp->n_jobs + mp->n_busy;
    out->pending = mp->n_pending;
    pthread_mutex_unlock(&mp->lock);
}

void mempool_set_elections(mempool *mp, election_cache *cache)
{
    pthread_mutex_lock(&mp->lock);
    mp->elections = cache;
    pthread_mutex_unlock(&mp->lock);
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
    if (e != NULL && e->ballot_cts != NULL) {
        *cts = e->ballot_cts;
        *n = e->n_ballot_cts;
        ok = 1;
    }
    pthread_mutex_unlock(&mp->lock);
    return ok;
}
