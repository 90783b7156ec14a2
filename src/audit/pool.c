/* A fixed pool of worker threads for the auditor's parallel part
 * (signatures, certificates, ballot proofs): one parallel loop at a time,
 * indices handed out by an atomic counter, the caller works too. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "audit.h"

struct audit_pool {
    pthread_t *threads;
    unsigned n;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    uint64_t generation;
    unsigned busy;
    int stop;
    void (*fn)(void *, size_t);
    void *ctx;
    size_t total;
    atomic_size_t next;
};

static void drain(audit_pool *p)
{
    size_t i;
    while ((i = atomic_fetch_add(&p->next, 1)) < p->total)
        p->fn(p->ctx, i);
}

static void *worker(void *arg)
{
    audit_pool *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->stop)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        drain(p);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

audit_pool *audit_pool_new(unsigned threads)
{
    audit_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->threads = calloc(threads ? threads : 1, sizeof *p->threads);
    if (p->threads == NULL) {
        audit_pool_destroy(&p);
        return NULL;
    }
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
            break; /* fewer workers: still correct */
        p->n++;
    }
    return p;
}

void audit_pool_destroy(audit_pool **pp)
{
    audit_pool *p = pp ? *pp : NULL;
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p);
    *pp = NULL;
}

void audit_pool_run(audit_pool *p, size_t n, void (*fn)(void *, size_t), void *ctx)
{
    if (n == 0)
        return;
    if (p->n == 0 || n == 1) {
        for (size_t i = 0; i < n; i++)
            fn(ctx, i);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->total = n;
    atomic_store(&p->next, 0);
    p->busy = p->n;
    p->generation++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    drain(p);
    pthread_mutex_lock(&p->mu);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
