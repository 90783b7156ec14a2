/* Verifiers of elections whose key exists, shared by execution and the
 * mempool's worker threads, and the ballot precheck they run: the expensive
 * proof verification, done once, ahead of execution. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "election_internal.h"

#define R(x) EVOTE__V1__TX_RESULT__TX_RESULT_##x

struct election_cache {
    uint8_t chain_id[CRYPTO_CHAIN_ID_LEN];
    pthread_mutex_t mu;
    election_verifier **v;
    size_t n, cap;
};

election_err verifier_build(const Evote__V1__ElectionRecord *rec, election_verifier **out)
{
    const Evote__V1__ElectionCreate *d = rec->definition;
    bc_question qs[BC_MAX_QUESTIONS];
    election_verifier *v;
    bc_err berr;

    *out = NULL;
    if (rec->election_key.len != EC_POINT_LEN || rec->election_hash.len != ELECTION_HASH_LEN ||
        d->n_questions == 0 || d->n_questions > BC_MAX_QUESTIONS)
        return ELECTION_ERR_CORRUPT;
    for (size_t q = 0; q < d->n_questions; q++) {
        qs[q].options = (uint32_t)d->questions[q]->n_options;
        qs[q].min = d->questions[q]->min_selections;
        qs[q].max = d->questions[q]->max_selections;
    }
    v = calloc(1, sizeof *v);
    if (v == NULL)
        return ELECTION_ERR_NOMEM;
    memcpy(v->e, rec->election_hash.data, ELECTION_HASH_LEN);
    berr = bc_election_new(&v->bc, v->e, rec->election_key.data, qs, d->n_questions);
    if (berr != BC_OK) {
        free(v);
        return berr == BC_ERR_NOMEM ? ELECTION_ERR_NOMEM : ELECTION_ERR_CRYPTO;
    }
    v->slots = bc_election_slots(v->bc);
    *out = v;
    return ELECTION_OK;
}

void verifier_destroy(election_verifier **v)
{
    if (v == NULL || *v == NULL)
        return;
    bc_election_destroy(&(*v)->bc);
    free(*v);
    *v = NULL;
}

election_err election_cache_new(const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], election_cache **out)
{
    election_cache *c = calloc(1, sizeof *c);
    *out = NULL;
    if (c == NULL)
        return ELECTION_ERR_NOMEM;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return ELECTION_ERR_NOMEM;
    }
    memcpy(c->chain_id, chain_id, CRYPTO_CHAIN_ID_LEN);
    *out = c;
    return ELECTION_OK;
}

void election_cache_destroy(election_cache **c)
{
    if (c == NULL || *c == NULL)
        return;
    for (size_t i = 0; i < (*c)->n; i++)
        verifier_destroy(&(*c)->v[i]);
    free((*c)->v);
    pthread_mutex_destroy(&(*c)->mu);
    free(*c);
    *c = NULL;
}

static const election_verifier *find_locked(election_cache *c, const uint8_t e[ELECTION_HASH_LEN])
{
    for (size_t i = 0; i < c->n; i++)
        if (memcmp(c->v[i]->e, e, ELECTION_HASH_LEN) == 0)
            return c->v[i];
    return NULL;
}

const election_verifier *cache_find(election_cache *c, const uint8_t e[ELECTION_HASH_LEN])
{
    const election_verifier *v;
    pthread_mutex_lock(&c->mu);
    v = find_locked(c, e);
    pthread_mutex_unlock(&c->mu);
    return v;
}

election_err cache_insert(election_cache *c, election_verifier **v, const election_verifier **used)
{
    election_err err = ELECTION_OK;

    pthread_mutex_lock(&c->mu);
    *used = find_locked(c, (*v)->e);
    if (*used != NULL) {
        verifier_destroy(v); /* another thread was first: the same parameters */
    } else {
        if (c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 8;
            election_verifier **nv = realloc(c->v, cap * sizeof *nv);
            if (nv == NULL)
                err = ELECTION_ERR_NOMEM;
            else {
                c->v = nv;
                c->cap = cap;
            }
        }
        if (err == ELECTION_OK) {
            c->v[c->n++] = *v;
            *used = *v;
            *v = NULL;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return err;
}

election_err election_cache_load(election_cache *c, const election_state_reader *rd, const uint8_t *election_id,
                                 size_t len)
{
    state_view sv = {rd, NULL, NULL};
    Evote__V1__ElectionRecord *rec = NULL;
    election_verifier *v = NULL;
    const election_verifier *used;
    uint8_t e[ELECTION_HASH_LEN];
    election_err err;

    if (c == NULL || election_id == NULL || len == 0 || len > ELECTION_MAX_ID)
        return ELECTION_ERR_ARGUMENT;
    election_hash(c->chain_id, election_id, len, e);
    if (cache_find(c, e) != NULL)
        return ELECTION_OK;
    err = load_record(&sv, e, &rec);
    if (err != ELECTION_OK)
        return err;
    if (rec == NULL || rec->election_key.len == 0)
        err = ELECTION_ERR_NOT_FOUND;
    else
        err = verifier_build(rec, &v);
    if (err == ELECTION_OK)
        err = cache_insert(c, &v, &used);
    verifier_destroy(&v);
    if (rec)
        evote__v1__election_record__free_unpacked(rec, NULL);
    return err;
}

Evote__V1__TxResult election_precheck_ballot(election_cache *c, const Evote__V1__TxBody *body,
                                             const uint8_t signer[CRYPTO_PUBKEY_LEN], elgamal_ct *cts, size_t max,
                                             size_t *n_cts)
{
    const Evote__V1__Ballot *b;
    const election_verifier *v;
    uint8_t e[ELECTION_HASH_LEN];
    bc_err berr;

    if (n_cts)
        *n_cts = 0;
    if (c == NULL || body == NULL || signer == NULL || body->payload_case != EVOTE__V1__TX_BODY__PAYLOAD_BALLOT)
        return R(UNSPECIFIED);
    b = body->ballot;
    if (b->election_id.len < 1 || b->election_id.len > ELECTION_MAX_ID)
        return R(MALFORMED);
    election_hash(c->chain_id, b->election_id.data, b->election_id.len, e);
    v = cache_find(c, e);
    if (v == NULL)
        return R(UNSPECIFIED);
    if (cts != NULL && max < v->slots)
        return R(UNSPECIFIED);
    berr = bc_ballot_verify(v->bc, signer, b->encrypted_ballot.data, b->encrypted_ballot.len, cts, NULL);
    if (berr == BC_ERR_NOMEM || berr == BC_ERR_ARGUMENT)
        return R(UNSPECIFIED);
    if (berr == BC_OK && cts != NULL && n_cts != NULL)
        *n_cts = v->slots;
    return ballot_result_for(berr);
}
