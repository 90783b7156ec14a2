/* View changes (Castro & Liskov, TOCS 2002, section 4.4) and what a replica
 * remembers across a crash.
 *
 * A backup whose request timer expires stops accepting messages of its view
 * and broadcasts VIEW-CHANGE(v+1) with its last stable checkpoint (and the
 * 2f+1 CHECKPOINTs proving it) and, for every seq above it, the prepared
 * certificate of the highest view it saw. The primary of v+1 gathers 2f+1
 * valid VIEW-CHANGEs (V) and computes the O-set: for each seq between the
 * highest stable checkpoint in V (min-s) and the highest prepared seq in V
 * (max-s), a PRE-PREPARE in v+1 for the batch prepared in the highest view,
 * or for a null batch if none was. It broadcasts NEW-VIEW(V, O); every
 * replica checks V and recomputes O itself before it accepts. A batch that
 * committed anywhere was prepared by 2f+1 replicas, so at least one of any
 * 2f+1 VIEW-CHANGEs carries its certificate, and O keeps it at its seq: no
 * committed block is ever lost or reordered. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void vc_slot_clear(vc_slot *s)
{
    free(s->env);
    if (s->vc != NULL)
        evote__v1__view_change__free_unpacked(s->vc, NULL);
    for (size_t i = 0; i < s->n_batches; i++)
        free(s->batches[i]);
    free(s->batches);
    free(s->batch_lens);
    memset(s, 0, sizeof *s);
}

/* The facts of one prepared certificate, once checked. */
typedef struct {
    uint64_t view, seq;
    uint8_t digest[CRYPTO_HASH_LEN];
} proof_facts;

/* Checks one PreparedProof: a PRE-PREPARE signed by the primary of its view
 * (older than new_view), and 2f PREPAREs for the same (view, seq, digest)
 * from distinct backups. */
static int proof_valid(replica *r, const Evote__V1__PreparedProof *p, uint64_t new_view, uint64_t stable,
                       proof_facts *out)
{
    uint8_t seen[REPLICA_MAX_N] = {0};
    uint32_t good = 0;
    msg m;
    int ok = 0;

    /* Each envelope costs a signature check: no more than a replica each
     * (a faulty one could send one signature copied 80,000 times). */
    if (p->n_prepares > r->cfg.n)
        return 0;
    if (p->pre_prepare == NULL || !msg_open_nested(r, p->pre_prepare, EVOTE__V1__KIND__KIND_PRE_PREPARE, &m))
        return 0;
    {
        const Evote__V1__PrePrepare *pp = m.body;
        if (pp->digest.len == CRYPTO_HASH_LEN && m.signer == primary_of(r, pp->view) && pp->view < new_view &&
            pp->seq > stable && pp->seq <= stable + r->cfg.window) {
            out->view = pp->view;
            out->seq = pp->seq;
            memcpy(out->digest, pp->digest.data, CRYPTO_HASH_LEN);
            ok = 1;
        }
    }
    msg_free(&m);
    if (!ok)
        return 0;
    for (size_t i = 0; i < p->n_prepares && good < 2 * r->f; i++) {
        if (!msg_open_nested(r, p->prepares[i], EVOTE__V1__KIND__KIND_PREPARE, &m))
            continue;
        const Evote__V1__Prepare *q = m.body;
        if (!seen[m.signer] && m.signer != primary_of(r, out->view) && q->view == out->view &&
            q->seq == out->seq && q->digest.len == CRYPTO_HASH_LEN &&
            memcmp(q->digest.data, out->digest, CRYPTO_HASH_LEN) == 0) {
            seen[m.signer] = 1;
            good++;
        }
        msg_free(&m);
    }
    return good >= 2 * r->f;
}

/* Checks a VIEW-CHANGE's proofs: its stable checkpoint, and each prepared
 * certificate (at most one per seq, all within its window). */
static int vc_valid(replica *r, const Evote__V1__ViewChange *vc)
{
    uint8_t d[CRYPTO_HASH_LEN];
    uint64_t *seqs;
    int ok = 1;

    if (!checkpoint_proof_valid(r, vc->stable_seq, vc->checkpoint_proof, vc->n_checkpoint_proof, d))
        return 0;
    if (vc->n_prepared > r->cfg.window)
        return 0;
    seqs = calloc(vc->n_prepared ? vc->n_prepared : 1, sizeof *seqs);
    if (seqs == NULL)
        return 0;
    for (size_t i = 0; i < vc->n_prepared && ok; i++) {
        proof_facts pf;
        if (!proof_valid(r, vc->prepared[i], vc->new_view, vc->stable_seq, &pf)) {
            ok = 0;
            break;
        }
        for (size_t k = 0; k < i; k++)
            if (seqs[k] == pf.seq)
                ok = 0;
        seqs[i] = pf.seq;
    }
    free(seqs);
    return ok;
}

/* The O-set, as both the new primary and every backup compute it from V. */
typedef struct {
    uint64_t min_s, max_s;
    size_t stable_vc;               /* index in V of a VC with stable_seq = min_s */
    uint8_t (*digest)[CRYPTO_HASH_LEN]; /* [max_s - min_s] */
    uint8_t *is_null;
    uint64_t *best_view;
} oset;

static void oset_free(oset *o)
{
    free(o->digest);
    free(o->is_null);
    free(o->best_view);
    memset(o, 0, sizeof *o);
}

static int oset_compute(replica *r, Evote__V1__ViewChange *const *v, size_t nv, oset *o)
{
    size_t count;

    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < nv; i++) {
        if (v[i]->stable_seq > o->min_s || i == 0) {
            if (i == 0 || v[i]->stable_seq > o->min_s) {
                o->min_s = v[i]->stable_seq;
                o->stable_vc = i;
            }
        }
    }
    o->max_s = o->min_s;
    for (size_t i = 0; i < nv; i++) {
        for (size_t k = 0; k < v[i]->n_prepared; k++) {
            Evote__V1__Envelope *e = v[i]->prepared[k]->pre_prepare;
            Evote__V1__PrePrepare *pp = evote__v1__pre_prepare__unpack(NULL, e->body.len, e->body.data);
            if (pp == NULL)
                return 0;
            if (pp->seq > o->max_s)
                o->max_s = pp->seq;
            evote__v1__pre_prepare__free_unpacked(pp, NULL);
        }
    }
    if (o->max_s - o->min_s > r->cfg.window)
        return 0;
    count = (size_t)(o->max_s - o->min_s);
    o->digest = calloc(count ? count : 1, sizeof *o->digest);
    o->is_null = calloc(count ? count : 1, 1);
    o->best_view = calloc(count ? count : 1, sizeof *o->best_view);
    if (o->digest == NULL || o->is_null == NULL || o->best_view == NULL) {
        oset_free(o);
        return 0;
    }
    memset(o->is_null, 1, count ? count : 1);
    for (size_t i = 0; i < nv; i++) {
        for (size_t k = 0; k < v[i]->n_prepared; k++) {
            Evote__V1__Envelope *e = v[i]->prepared[k]->pre_prepare;
            Evote__V1__PrePrepare *pp = evote__v1__pre_prepare__unpack(NULL, e->body.len, e->body.data);
            size_t at;
            if (pp == NULL) {
                oset_free(o);
                return 0;
            }
            if (pp->seq > o->min_s) {
                at = (size_t)(pp->seq - o->min_s - 1);
                /* Highest view wins; equal views cannot disagree among
                 * valid certificates, but break ties deterministically. */
                if (o->is_null[at] || pp->view > o->best_view[at] ||
                    (pp->view == o->best_view[at] && memcmp(pp->digest.data, o->digest[at], CRYPTO_HASH_LEN) < 0)) {
                    o->is_null[at] = 0;
                    o->best_view[at] = pp->view;
                    memcpy(o->digest[at], pp->digest.data, CRYPTO_HASH_LEN);
                }
            }
            evote__v1__pre_prepare__free_unpacked(pp, NULL);
        }
    }
    for (size_t at = 0; at < count; at++) {
        if (o->is_null[at]) {
            uint8_t *nb;
            size_t nl;
            if (!replica_null_batch(r->cfg.chain_id, o->min_s + 1 + at, &nb, &nl)) {
                oset_free(o);
                return 0;
            }
            batch_digest(nb, nl, o->digest[at]);
            free(nb);
        }
    }
    return 1;
}

/* A batch with this digest, from attachments, the VIEW-CHANGEs we hold, or
 * our own log. Returns a malloc'ed copy or NULL. */
static uint8_t *find_batch(replica *r, const uint8_t digest[CRYPTO_HASH_LEN], const Evote__V1__PeerMessage *pm,
                           size_t *len)
{
    uint8_t d[CRYPTO_HASH_LEN];

    if (pm != NULL) {
        for (size_t i = 0; i < pm->n_batches; i++) {
            batch_digest(pm->batches[i].data, pm->batches[i].len, d);
            if (memcmp(d, digest, CRYPTO_HASH_LEN) == 0) {
                *len = pm->batches[i].len;
                return dup_bytes(pm->batches[i].data, pm->batches[i].len);
            }
        }
    }
    for (uint32_t w = 0; w < r->cfg.window; w++) {
        entry *e = &r->log[w];
        if (e->seq == 0)
            continue;
        if (e->has_proof && memcmp(e->proof_digest, digest, CRYPTO_HASH_LEN) == 0) {
            size_t bl;
            uint8_t *b = entry_proof_batch(r, e, &bl);
            if (b != NULL) {
                *len = bl;
                return dup_bytes(b, bl);
            }
        }
        if (e->has_pp && e->batch != NULL && memcmp(e->digest, digest, CRYPTO_HASH_LEN) == 0) {
            *len = e->batch_len;
            return dup_bytes(e->batch, e->batch_len);
        }
    }
    for (uint32_t i = 0; i < r->cfg.n; i++) {
        vc_slot *s = &r->vcs[i];
        for (size_t k = 0; k < s->n_batches; k++) {
            batch_digest(s->batches[k], s->batch_lens[k], d);
            if (memcmp(d, digest, CRYPTO_HASH_LEN) == 0) {
                *len = s->batch_lens[k];
                return dup_bytes(s->batches[k], s->batch_lens[k]);
            }
        }
    }
    return NULL;
}

/* Builds own VIEW-CHANGE for r->view (as a PeerMessage with the batches of
 * the certificates it carries). */
static int vc_build(replica *r, uint8_t **out, size_t *out_len, uint8_t **env_out, size_t *env_len_out)
{
    Evote__V1__ViewChange vc = EVOTE__V1__VIEW_CHANGE__INIT;
    Evote__V1__Envelope **ck = NULL;
    Evote__V1__PreparedProof **pp = NULL;
    uint8_t **batches = NULL;
    size_t *blens = NULL, nck = 0, npp = 0, nb = 0;
    uint8_t *env = NULL;
    size_t env_len;
    int ok = 0;

    ck = calloc(r->n_stable_proof + 1, sizeof *ck);
    pp = calloc(r->cfg.window + 1, sizeof *pp);
    batches = calloc(r->cfg.window + 1, sizeof *batches);
    blens = calloc(r->cfg.window + 1, sizeof *blens);
    if (ck == NULL || pp == NULL || batches == NULL || blens == NULL)
        goto out;
    for (size_t i = 0; i < r->n_stable_proof; i++) {
        ck[nck] = evote__v1__envelope__unpack(NULL, r->stable_proof_lens[i], r->stable_proof[i]);
        if (ck[nck] != NULL)
            nck++;
    }
    for (uint64_t s = r->h + 1; s <= r->h + r->cfg.window; s++) {
        entry *e = log_entry(r, s, 0);
        if (e == NULL || !e->has_proof)
            continue;
        pp[npp] = evote__v1__prepared_proof__unpack(NULL, e->proof_len, e->proof);
        if (pp[npp] == NULL)
            continue;
        npp++;
    }
    {
        /* Attach the batches of seqs not executed here (newest first, within
         * the message budget); executed ones are in the block stores. */
        size_t budget = REPLICA_MAX_ATTACHED;
        for (uint64_t s = r->h + r->cfg.window; s > r->h && s > r->last_executed; s--) {
            entry *e = log_entry(r, s, 0);
            size_t bl;
            uint8_t *b;
            if (e == NULL || !e->has_proof || (b = entry_proof_batch(r, e, &bl)) == NULL || bl > budget)
                continue;
            batches[nb] = b;
            blens[nb++] = bl;
            budget -= bl;
        }
    }
    vc.chain_id.data = r->cfg.chain_id;
    vc.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    vc.new_view = r->view;
    vc.stable_seq = r->h;
    vc.n_checkpoint_proof = nck;
    vc.checkpoint_proof = ck;
    vc.n_prepared = npp;
    vc.prepared = pp;
    vc.replica = r->cfg.id;
    if (!msg_seal(r, EVOTE__V1__KIND__KIND_VIEW_CHANGE, &vc.base, &env, &env_len))
        goto out;
    ok = msg_wrap(env, env_len, batches, blens, nb, out, out_len);
    if (ok && env_out != NULL) {
        *env_out = env;
        *env_len_out = env_len;
        env = NULL;
    }
out:
    free(env);
    for (size_t i = 0; i < nck; i++)
        evote__v1__envelope__free_unpacked(ck[i], NULL);
    for (size_t i = 0; i < npp; i++)
        evote__v1__prepared_proof__free_unpacked(pp[i], NULL);
    free(ck);
    free(pp);
    free(batches);
    free(blens);
    return ok;
}

/* Keeps a checked VIEW-CHANGE as the latest from its sender, with the
 * attachments its certificates name. */
static void vc_store(replica *r, uint32_t who, const uint8_t *env, size_t env_len, Evote__V1__ViewChange *vc,
                     const Evote__V1__PeerMessage *pm)
{
    vc_slot *s = &r->vcs[who];
    vc_slot_clear(s);
    s->view = vc->new_view;
    s->env = dup_bytes(env, env_len);
    s->len = env_len;
    s->vc = vc;
    if (pm != NULL && pm->n_batches > 0 && pm->n_batches <= r->cfg.window) {
        s->batches = calloc(pm->n_batches, sizeof *s->batches);
        s->batch_lens = calloc(pm->n_batches, sizeof *s->batch_lens);
        if (s->batches != NULL && s->batch_lens != NULL) {
            for (size_t i = 0; i < pm->n_batches; i++) {
                s->batches[s->n_batches] = dup_bytes(pm->batches[i].data, pm->batches[i].len);
                if (s->batches[s->n_batches] != NULL)
                    s->batch_lens[s->n_batches++] = pm->batches[i].len;
            }
        }
    }
}

static void enter_view(replica *r, uint64_t view, const oset *o, const Evote__V1__ViewChange *stable_vc,
                       uint8_t *const *pp_envs, const size_t *pp_lens, uint8_t **batches, size_t *batch_lens,
                       const uint8_t *nv_msg, size_t nv_len)
{
    replica_action a = {0};

    if (r->status == STATUS_NORMAL && view > r->view)
        backoff(r); /* straight from a lower view (it missed the view change): as if it had asked */
    r->view = view;
    r->status = STATUS_NORMAL;
    r->stats.view_changes++;
    view_timer_forget(r);
    r->retransmit_now = r->cfg.retransmit_ms; /* a view entered: progress */
    if (r->view_timer_on) {
        cancel_timer(r, REPLICA_TIMER_VIEW);
        r->view_timer_on = 0;
    }
    for (uint32_t w = 0; w < r->cfg.window; w++)
        if (r->log[w].seq != 0)
            entry_reset_view(r, &r->log[w]);
    free(r->new_view_msg);
    r->new_view_msg = nv_msg != NULL ? dup_bytes(nv_msg, nv_len) : NULL;
    r->new_view_len = r->new_view_msg != NULL ? nv_len : 0;
    if (r->new_view_msg != NULL) {
        /* Stored once, apart from the meta (it can be megabytes). */
        replica_action p = {0};
        p.type = REPLICA_ACT_PERSIST_NEW_VIEW;
        p.view = view;
        p.bytes = dup_bytes(r->new_view_msg, r->new_view_len);
        p.len = r->new_view_len;
        if (p.bytes != NULL)
            push_action(r, &p);
    }
    if (o->min_s > r->h && stable_vc != NULL) {
        uint8_t d[CRYPTO_HASH_LEN];
        uint8_t **envs = calloc(stable_vc->n_checkpoint_proof + 1, sizeof *envs);
        size_t *lens = calloc(stable_vc->n_checkpoint_proof + 1, sizeof *lens), ne = 0;
        if (envs != NULL && lens != NULL &&
            checkpoint_proof_valid(r, stable_vc->stable_seq, stable_vc->checkpoint_proof,
                                   stable_vc->n_checkpoint_proof, d)) {
            for (size_t i = 0; i < stable_vc->n_checkpoint_proof; i++) {
                lens[ne] = evote__v1__envelope__get_packed_size(stable_vc->checkpoint_proof[i]);
                envs[ne] = malloc(lens[ne]);
                if (envs[ne] == NULL)
                    break;
                evote__v1__envelope__pack(stable_vc->checkpoint_proof[i], envs[ne]);
                ne++;
            }
            adopt_stable(r, o->min_s, d, envs, lens, ne);
        }
        for (size_t i = 0; i < ne; i++)
            free(envs[i]);
        free(envs);
        free(lens);
    }
    for (uint64_t s = o->min_s + 1; s <= o->max_s; s++) {
        size_t at = (size_t)(s - o->min_s - 1);
        entry *e = log_entry(r, s, 1);
        if (e == NULL)
            continue;
        e->pp_env = dup_bytes(pp_envs[at], pp_lens[at]);
        e->pp_len = pp_lens[at];
        e->batch = batches[at];
        e->batch_len = batch_lens[at];
        batches[at] = NULL;
        memcpy(e->digest, o->digest[at], CRYPTO_HASH_LEN);
        e->has_pp = e->pp_env != NULL; /* e->batch may be NULL: fetched if it commits */
        if (!e->has_pp)
            continue;
        if (s > r->last_executed)
            persist_batch(r, s, e->digest, e->batch, e->batch_len);
        send_prepare(r, e);
        check_prepared(r, e);
    }
    /* The new primary continues right after the O-set: what an earlier view
     * proposed above max-s never prepared anywhere that counts, and its seqs
     * are free again. */
    r->view_base = o->max_s;
    r->seq_next = o->max_s + 1;
    if (r->seq_next <= r->h)
        r->seq_next = r->h + 1;
    if (r->seq_next <= r->last_executed)
        r->seq_next = r->last_executed + 1;
    r->meta_dirty = 1;
    a.type = REPLICA_ACT_VIEW_CHANGED;
    a.view = view;
    push_action(r, &a);
    try_execute(r);
}

/* Primary of the target view: with 2f+1 VIEW-CHANGEs, make the NEW-VIEW. */
static void maybe_new_view(replica *r)
{
    Evote__V1__ViewChange *v[REPLICA_MAX_N];
    Evote__V1__Envelope *venv[REPLICA_MAX_N], **oenv = NULL;
    Evote__V1__NewView nv = EVOTE__V1__NEW_VIEW__INIT;
    uint8_t **pp_envs = NULL, **batches = NULL, *env = NULL, *pm = NULL;
    size_t *pp_lens = NULL, *batch_lens = NULL, nvc = 0, count = 0, env_len, pm_len;
    oset o;
    int have_o = 0;

    if (r->status != STATUS_VIEW_CHANGE || primary_of(r, r->view) != r->cfg.id || r->vcs[r->cfg.id].view != r->view)
        return;
    for (uint32_t i = 0; i < r->cfg.n && nvc < 2 * r->f + 1; i++) {
        if (r->vcs[i].view == r->view && r->vcs[i].vc != NULL) {
            v[nvc] = r->vcs[i].vc;
            venv[nvc] = evote__v1__envelope__unpack(NULL, r->vcs[i].len, r->vcs[i].env);
            if (venv[nvc] == NULL)
                goto out;
            nvc++;
        }
    }
    if (nvc < 2 * r->f + 1)
        goto out;
    if (!oset_compute(r, v, nvc, &o))
        goto out;
    have_o = 1;
    count = (size_t)(o.max_s - o.min_s);
    pp_envs = calloc(count + 1, sizeof *pp_envs);
    pp_lens = calloc(count + 1, sizeof *pp_lens);
    batches = calloc(count + 1, sizeof *batches);
    batch_lens = calloc(count + 1, sizeof *batch_lens);
    oenv = calloc(count + 1, sizeof *oenv);
    if (pp_envs == NULL || pp_lens == NULL || batches == NULL || batch_lens == NULL || oenv == NULL)
        goto out;
    for (size_t at = 0; at < count; at++) {
        Evote__V1__PrePrepare pp = EVOTE__V1__PRE_PREPARE__INIT;
        uint64_t seq = o.min_s + 1 + at;
        if (o.is_null[at]) {
            if (!replica_null_batch(r->cfg.chain_id, seq, &batches[at], &batch_lens[at]))
                goto out;
        } else {
            batches[at] = find_batch(r, o.digest[at], NULL, &batch_lens[at]); /* NULL: not attached */
        }
        pp.chain_id.data = r->cfg.chain_id;
        pp.chain_id.len = CRYPTO_CHAIN_ID_LEN;
        pp.view = r->view;
        pp.seq = seq;
        pp.digest.data = o.digest[at];
        pp.digest.len = CRYPTO_HASH_LEN;
        pp.replica = r->cfg.id;
        if (!msg_seal(r, EVOTE__V1__KIND__KIND_PRE_PREPARE, &pp.base, &pp_envs[at], &pp_lens[at]))
            goto out;
        oenv[at] = evote__v1__envelope__unpack(NULL, pp_lens[at], pp_envs[at]);
        if (oenv[at] == NULL)
            goto out;
    }
    nv.chain_id.data = r->cfg.chain_id;
    nv.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    nv.view = r->view;
    nv.n_view_changes = nvc;
    nv.view_changes = venv;
    nv.n_pre_prepares = count;
    nv.pre_prepares = oenv;
    nv.replica = r->cfg.id;
    if (!msg_seal(r, EVOTE__V1__KIND__KIND_NEW_VIEW, &nv.base, &env, &env_len))
        goto out;
    {
        /* Attach each non-null batch once. */
        uint8_t **att = calloc(count + 1, sizeof *att);
        size_t *attl = calloc(count + 1, sizeof *attl), na = 0;
        if (att == NULL || attl == NULL) {
            free(att);
            free(attl);
            goto out;
        }
        size_t budget = REPLICA_MAX_ATTACHED;
        for (size_t at = count; at-- > 0;) { /* the newest first: least likely executed anywhere */
            if (o.is_null[at] || batches[at] == NULL || batch_lens[at] > budget)
                continue;
            att[na] = batches[at];
            attl[na++] = batch_lens[at];
            budget -= batch_lens[at];
        }
        if (!msg_wrap(env, env_len, att, attl, na, &pm, &pm_len)) {
            free(att);
            free(attl);
            goto out;
        }
        free(att);
        free(attl);
    }
    broadcast(r, EVOTE__V1__KIND__KIND_NEW_VIEW, dup_bytes(pm, pm_len), pm_len);
    {
        const Evote__V1__ViewChange *sv = v[o.stable_vc];
        enter_view(r, r->view, &o, sv, pp_envs, pp_lens, batches, batch_lens, pm, pm_len);
    }
out:
    for (size_t i = 0; i < nvc; i++)
        evote__v1__envelope__free_unpacked(venv[i], NULL);
    for (size_t at = 0; at < count && oenv != NULL; at++)
        if (oenv[at] != NULL)
            evote__v1__envelope__free_unpacked(oenv[at], NULL);
    for (size_t at = 0; at < count; at++) {
        if (pp_envs != NULL)
            free(pp_envs[at]);
        if (batches != NULL)
            free(batches[at]);
    }
    free(oenv);
    free(pp_envs);
    free(pp_lens);
    free(batches);
    free(batch_lens);
    free(env);
    free(pm);
    if (have_o)
        oset_free(&o);
}

/* The NEW-VIEW timer runs only once 2f+1 replicas (this one included) ask
 * for the view (Castro & Liskov 4.5.2): a replica alone never races ahead
 * to views nobody else will join. */
static void arm_vc_timer(replica *r)
{
    uint32_t asking = 0;
    if (r->status != STATUS_VIEW_CHANGE || r->view_timer_on)
        return;
    for (uint32_t i = 0; i < r->cfg.n; i++)
        asking += r->vcs[i].view >= r->view; /* a later VIEW-CHANGE still asks to leave ours */
    if (asking < 2 * r->f + 1)
        return;
    set_timer(r, REPLICA_TIMER_VIEW, r->timeout_ms);
    r->view_timer_on = 1;
}

void start_view_change(replica *r, uint64_t new_view, int rotation)
{
    uint8_t *pm, *env;
    size_t pm_len, env_len;
    Evote__V1__ViewChange *vc;

    if (new_view <= r->view)
        return;
    r->status = STATUS_VIEW_CHANGE;
    r->view = new_view;
    if (!rotation)
        backoff(r);
    view_timer_forget(r);
    for (uint32_t w = 0; w < r->cfg.window; w++)
        if (r->log[w].seq != 0)
            entry_reset_view(r, &r->log[w]);
    if (r->view_timer_on) {
        cancel_timer(r, REPLICA_TIMER_VIEW);
        r->view_timer_on = 0;
    }
    r->meta_dirty = 1;
    if (!vc_build(r, &pm, &pm_len, &env, &env_len))
        return;
    free(r->my_vc);
    r->my_vc = pm;
    r->my_vc_len = pm_len;
    broadcast(r, EVOTE__V1__KIND__KIND_VIEW_CHANGE, dup_bytes(pm, pm_len), pm_len);
    {
        Evote__V1__Envelope *e = evote__v1__envelope__unpack(NULL, env_len, env);
        vc = e ? evote__v1__view_change__unpack(NULL, e->body.len, e->body.data) : NULL;
        if (e)
            evote__v1__envelope__free_unpacked(e, NULL);
    }
    if (vc != NULL) {
        Evote__V1__PeerMessage *own = evote__v1__peer_message__unpack(NULL, pm_len, pm);
        vc_store(r, r->cfg.id, env, env_len, vc, own);
        if (own)
            evote__v1__peer_message__free_unpacked(own, NULL);
    }
    free(env);
    /* A rotation is routine: every honest replica, the next primary too,
     * asks for the view within a few message delays. If after T/4 2f+1
     * ask and the next primary has said nothing, it is down: its turn is
     * skipped (replica_on_timer) instead of waiting the whole T. */
    r->rotation_probe = rotation;
    r->vc_rotation = rotation;
    if (rotation) {
        set_timer(r, REPLICA_TIMER_VIEW, r->timeout_ms / 4 ? r->timeout_ms / 4 : 1);
        r->view_timer_on = 1;
    }
    arm_vc_timer(r);
    maybe_new_view(r);
}

/* f+1 replicas already in views above ours: one of them is honest, so our
 * view is lost; join the highest view f+1 of them have reached. */
static void maybe_jump(replica *r)
{
    uint64_t views[REPLICA_MAX_N];
    size_t nv = 0;

    for (uint32_t i = 0; i < r->cfg.n; i++)
        if (i != r->cfg.id && r->vcs[i].view > r->view)
            views[nv++] = r->vcs[i].view;
    if (nv < r->f + 1)
        return;
    /* The (f+1)-th highest. */
    for (size_t i = 0; i < nv; i++)
        for (size_t k = i + 1; k < nv; k++)
            if (views[k] > views[i]) {
                uint64_t t = views[i];
                views[i] = views[k];
                views[k] = t;
            }
    /* Others left the term this replica also executed to its end (its own
     * checkpoint is not stable yet), or skipped the turn of a next primary
     * that is down while this replica still waits for it: routine, not
     * trouble (no back-off). */
    start_view_change(r, views[r->f],
                      views[r->f] == r->view + 1 &&
                          (r->status == STATUS_NORMAL ? r->last_executed >= term_end(r) : r->vc_rotation));
}

void on_view_change(replica *r, msg *m, const Evote__V1__PeerMessage *pm)
{
    Evote__V1__ViewChange *vc = m->body;

    if (vc->new_view < r->view || (vc->new_view == r->view && r->status == STATUS_NORMAL)) {
        /* A replica still asking for a view we are in: it missed NEW-VIEW. */
        if (vc->new_view == r->view && r->new_view_msg != NULL && m->signer != r->cfg.id) {
            uint8_t *copy = dup_bytes(r->new_view_msg, r->new_view_len);
            if (copy != NULL)
                send_to(r, m->signer, EVOTE__V1__KIND__KIND_NEW_VIEW, copy, r->new_view_len);
        }
        r->stats.dropped_out_of_range++;
        return;
    }
    if (r->vcs[m->signer].view >= vc->new_view)
        return; /* already have it (or a later one) */
    if (!vc_valid(r, vc)) {
        r->stats.dropped_bad_proof++;
        return;
    }
    vc_store(r, m->signer, m->env, m->env_len, vc, pm);
    m->body = NULL; /* the slot owns the parsed body now */
    if (vc->new_view > r->peer_view[m->signer])
        r->peer_view[m->signer] = vc->new_view;
    maybe_jump(r);
    arm_vc_timer(r);
    maybe_new_view(r);
}

void on_new_view(replica *r, msg *m, const Evote__V1__PeerMessage *pm, const uint8_t *raw, size_t raw_len)
{
    const Evote__V1__NewView *nv = m->body;
    Evote__V1__ViewChange *v[REPLICA_MAX_N];
    msg vm[REPLICA_MAX_N];
    uint8_t seen[REPLICA_MAX_N] = {0};
    uint8_t **pp_envs = NULL, **batches = NULL;
    size_t *pp_lens = NULL, *batch_lens = NULL, nvc = 0, count = 0;
    oset o;
    int have_o = 0, ok = 0;

    if (m->signer != primary_of(r, nv->view)) {
        r->stats.dropped_wrong_role++;
        return;
    }
    if (nv->view < r->view || (nv->view == r->view && r->status == STATUS_NORMAL)) {
        r->stats.dropped_out_of_range++;
        return;
    }
    if (nv->n_view_changes > r->cfg.n)
        goto bad;
    for (size_t i = 0; i < nv->n_view_changes; i++) {
        if (!msg_open_nested(r, nv->view_changes[i], EVOTE__V1__KIND__KIND_VIEW_CHANGE, &vm[nvc]))
            goto bad;
        nvc++;
        v[nvc - 1] = vm[nvc - 1].body;
        if (seen[vm[nvc - 1].signer] || v[nvc - 1]->new_view != nv->view || !vc_valid(r, v[nvc - 1]))
            goto bad;
        seen[vm[nvc - 1].signer] = 1;
    }
    if (nvc < 2 * r->f + 1)
        goto bad;
    if (!oset_compute(r, v, nvc, &o))
        goto bad;
    have_o = 1;
    count = (size_t)(o.max_s - o.min_s);
    if (nv->n_pre_prepares != count)
        goto bad;
    pp_envs = calloc(count + 1, sizeof *pp_envs);
    pp_lens = calloc(count + 1, sizeof *pp_lens);
    batches = calloc(count + 1, sizeof *batches);
    batch_lens = calloc(count + 1, sizeof *batch_lens);
    if (pp_envs == NULL || pp_lens == NULL || batches == NULL || batch_lens == NULL)
        goto out;
    for (size_t at = 0; at < count; at++) {
        msg pm_msg;
        const Evote__V1__PrePrepare *pp;
        int good;
        if (!msg_open_nested(r, nv->pre_prepares[at], EVOTE__V1__KIND__KIND_PRE_PREPARE, &pm_msg))
            goto bad;
        pp = pm_msg.body;
        good = pm_msg.signer == m->signer && pp->view == nv->view && pp->seq == o.min_s + 1 + at &&
               pp->digest.len == CRYPTO_HASH_LEN && memcmp(pp->digest.data, o.digest[at], CRYPTO_HASH_LEN) == 0;
        if (good) {
            pp_envs[at] = pm_msg.owned;
            pp_lens[at] = pm_msg.env_len;
            pm_msg.owned = NULL;
        }
        msg_free(&pm_msg);
        if (!good)
            goto bad;
        if (o.is_null[at]) {
            if (!replica_null_batch(r->cfg.chain_id, o.min_s + 1 + at, &batches[at], &batch_lens[at]))
                goto out;
        } else {
            /* May be missing: the digest is what we vote on, and a batch
             * we lack when it commits comes by state transfer. */
            batches[at] = find_batch(r, o.digest[at], pm, &batch_lens[at]);
        }
    }
    ok = 1;
    enter_view(r, nv->view, &o, v[o.stable_vc], pp_envs, pp_lens, batches, batch_lens, raw, raw_len);
    goto out;
bad:
    r->stats.dropped_bad_proof++;
out:
    (void)ok;
    for (size_t i = 0; i < nvc; i++)
        msg_free(&vm[i]);
    for (size_t at = 0; at < count; at++) {
        if (pp_envs != NULL)
            free(pp_envs[at]);
        if (batches != NULL)
            free(batches[at]);
    }
    free(pp_envs);
    free(pp_lens);
    free(batches);
    free(batch_lens);
    if (have_o)
        oset_free(&o);
}

/* --------------------------------------------------------------- the meta */

/* The meta is written often (each time this replica signs a vote), so it is
 * encoded directly from the bytes the replica already holds — envelopes and
 * proofs as received or signed — instead of unpacking and repacking them:
 * protobuf's wire form of a repeated message field is just tag, length and
 * the message's bytes. It names batches by digest only: each batch went to
 * storage once (PERSIST_BATCH) and callbacks.load_batch brings it back. */
typedef struct {
    uint8_t *p; /* NULL: only count */
    size_t len;
} wbuf;

static void wb_raw(wbuf *w, const void *b, size_t n)
{
    if (w->p != NULL && n > 0)
        memcpy(w->p + w->len, b, n);
    w->len += n;
}

static void wb_varint(wbuf *w, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    wb_raw(w, b, n);
}

static void wb_uint(wbuf *w, uint32_t field, uint64_t v)
{
    if (v == 0)
        return; /* proto3 default: absent */
    wb_varint(w, (uint64_t)field << 3);
    wb_varint(w, v);
}

static void wb_bytes(wbuf *w, uint32_t field, const uint8_t *b, size_t n)
{
    if (b == NULL)
        return;
    wb_varint(w, ((uint64_t)field << 3) | 2);
    wb_varint(w, n);
    wb_raw(w, b, n);
}

static void meta_encode(replica *r, wbuf *w)
{
    int primary = r->status == STATUS_NORMAL && primary_of(r, r->view) == r->cfg.id;

    wb_uint(w, 1, r->view);
    wb_uint(w, 2, r->h);
    for (size_t i = 0; i < r->n_stable_proof; i++)
        wb_bytes(w, 3, r->stable_proof[i], r->stable_proof_lens[i]);
    /* One pass over the log (repeated fields may interleave on the wire).
     * Own votes and batches of stored seqs are not needed again: a
     * PRE-PREPARE for an executed seq is never voted on (on_pre_prepare),
     * and the block store holds the batch. Stored, not executed: this meta
     * goes to storage with the first block of the event that wrote it, so
     * a crash before its later blocks are stored restarts from this meta
     * at that first block, and the votes for the others must be here. */
    for (uint32_t slot = 0; slot < r->cfg.window; slot++) {
        entry *e = &r->log[slot];
        if (e->seq <= r->h)
            continue;
        if (e->has_proof)
            wb_bytes(w, 4, e->proof, e->proof_len);
        if (e->seq <= r->last_stored)
            continue;
        if (primary && e->has_pp)
            wb_bytes(w, 5, e->pp_env, e->pp_len);
        wb_bytes(w, 5, e->my_prepare, e->my_prepare_len);
        wb_bytes(w, 5, e->my_commit, e->my_commit_len);
    }
    if (r->status == STATUS_VIEW_CHANGE && r->vcs[r->cfg.id].view == r->view)
        wb_bytes(w, 5, r->vcs[r->cfg.id].env, r->vcs[r->cfg.id].len);
    wb_uint(w, 6, r->last_executed);
    /* Field 8 (the NEW-VIEW) is no longer written: PERSIST_NEW_VIEW stores
     * it once; a meta from an older version that has it is still read. */
    if (r->status == STATUS_NORMAL)
        wb_uint(w, 9, r->view_base);
}

int meta_build(replica *r, uint8_t **out, size_t *len)
{
    wbuf w = {NULL, 0};
    meta_encode(r, &w);
    *len = w.len;
    *out = malloc(w.len ? w.len : 1);
    if (*out == NULL)
        return 0;
    w.p = *out;
    w.len = 0;
    meta_encode(r, &w);
    return 1;
}

/* The batch a prepared certificate names, from memory or (after a restart)
 * from storage through load_batch. */
uint8_t *entry_proof_batch(replica *r, entry *e, size_t *len)
{
    if (e->proof_is_batch) {
        *len = e->batch_len;
        return e->batch;
    }
    if (e->proof_batch == NULL && r->cb.load_batch != NULL) {
        uint8_t *b = NULL, d[CRYPTO_HASH_LEN];
        size_t bl = 0;
        if (r->cb.load_batch(r->cb.ctx, e->seq, e->proof_digest, &b, &bl) && b != NULL) {
            batch_digest(b, bl, d);
            if (memcmp(d, e->proof_digest, CRYPTO_HASH_LEN) == 0) {
                e->proof_batch = b;
                e->proof_batch_len = bl;
            } else {
                free(b);
            }
        }
    }
    *len = e->proof_batch_len;
    return e->proof_batch;
}


/* Restores what this replica signed before a crash, so it never signs a
 * conflicting message after it: its view (and whether it was changing
 * view), its stable checkpoint, its prepared certificates, and its own
 * PRE-PREPAREs, PREPAREs and COMMITs of the current view. Everything is
 * re-checked as if it came from the network: a damaged meta is refused. */
/* Returns: 1 when bytes are a PeerMessage carrying a NEW-VIEW of `view`,
 * signed by that view's primary (as it came from the network). */
static int new_view_for(replica *r, const uint8_t *bytes, size_t len, uint64_t view)
{
    Evote__V1__PeerMessage *pm = evote__v1__peer_message__unpack(NULL, len, bytes);
    msg m;
    int ok = 0;

    if (pm == NULL)
        return 0;
    if (msg_open(r, pm->envelope.data, pm->envelope.len, EVOTE__V1__KIND__KIND_NEW_VIEW, &m)) {
        ok = ((const Evote__V1__NewView *)m.body)->view == view && m.signer == primary_of(r, view);
        msg_free(&m);
    }
    evote__v1__peer_message__free_unpacked(pm, NULL);
    return ok;
}

int meta_restore(replica *r, const uint8_t *bytes, size_t len, const uint8_t *nv, size_t nv_len)
{
    Evote__V1__ConsensusMeta *cm = evote__v1__consensus_meta__unpack(NULL, len, bytes);
    uint8_t d[CRYPTO_HASH_LEN];
    int ok = 0;

    if (cm == NULL)
        return 0;
    if (!checkpoint_proof_valid(r, cm->stable_seq, cm->checkpoint_proof, cm->n_checkpoint_proof, d))
        goto out;
    r->view = cm->view;
    r->view_base = cm->view_base;
    if (cm->stable_seq > 0) {
        uint8_t **envs = calloc(cm->n_checkpoint_proof, sizeof *envs);
        size_t *lens = calloc(cm->n_checkpoint_proof, sizeof *lens), ne = 0;
        if (envs == NULL || lens == NULL) {
            free(envs);
            free(lens);
            goto out;
        }
        for (size_t i = 0; i < cm->n_checkpoint_proof; i++) {
            lens[ne] = evote__v1__envelope__get_packed_size(cm->checkpoint_proof[i]);
            envs[ne] = malloc(lens[ne]);
            if (envs[ne] == NULL)
                break;
            evote__v1__envelope__pack(cm->checkpoint_proof[i], envs[ne]);
            ne++;
        }
        adopt_stable(r, cm->stable_seq, d, envs, lens, ne);
        for (size_t i = 0; i < ne; i++)
            free(envs[i]);
        free(envs);
        free(lens);
        /* replica_new decides from storage what to fetch; replica_start asks. */
        r->fetch_target = 0;
        r->fetching = 0;
        {
            replica_action a;
            while (replica_pop_action(r, &a))
                replica_action_clear(&a);
        }
    }
    for (size_t i = 0; i < cm->n_prepared; i++) {
        proof_facts pf;
        entry *e;
        if (!proof_valid(r, cm->prepared[i], UINT64_MAX, r->h, &pf))
            goto out;
        e = log_entry(r, pf.seq, 1);
        if (e == NULL)
            continue;
        e->proof_len = evote__v1__prepared_proof__get_packed_size(cm->prepared[i]);
        e->proof = malloc(e->proof_len);
        if (e->proof == NULL)
            goto out;
        evote__v1__prepared_proof__pack(cm->prepared[i], e->proof);
        e->has_proof = 1;
        e->proof_view = pf.view;
        memcpy(e->proof_digest, pf.digest, CRYPTO_HASH_LEN);
    }
    for (size_t i = 0; i < cm->n_sent; i++) {
        msg m;
        if (!msg_open_nested(r, cm->sent[i], EVOTE__V1__KIND__KIND_UNSPECIFIED, &m))
            goto out;
        if (m.signer != r->cfg.id) {
            msg_free(&m);
            goto out;
        }
        switch (m.kind) {
        case EVOTE__V1__KIND__KIND_PRE_PREPARE: {
            const Evote__V1__PrePrepare *pp = m.body;
            entry *e = pp->view == r->view ? log_entry(r, pp->seq, 1) : NULL;
            /* Whatever happens to the batch, this seq is taken: a restarted
             * primary must never pre-prepare it again. */
            if (pp->view == r->view && pp->seq >= r->seq_next)
                r->seq_next = pp->seq + 1;
            if (e != NULL && !e->has_pp && pp->digest.len == CRYPTO_HASH_LEN) {
                e->pp_env = m.owned;
                e->pp_len = m.env_len;
                m.owned = NULL;
                memcpy(e->digest, pp->digest.data, CRYPTO_HASH_LEN);
                e->has_pp = 1;
                if (r->cb.load_batch != NULL &&
                    !r->cb.load_batch(r->cb.ctx, pp->seq, e->digest, &e->batch, &e->batch_len)) {
                    e->batch = NULL; /* fetched by state transfer once it commits */
                    e->batch_len = 0;
                }
            }
            break;
        }
        case EVOTE__V1__KIND__KIND_PREPARE:
        case EVOTE__V1__KIND__KIND_COMMIT: {
            int is_p = m.kind == EVOTE__V1__KIND__KIND_PREPARE;
            uint64_t v = is_p ? ((Evote__V1__Prepare *)m.body)->view : ((Evote__V1__Commit *)m.body)->view;
            uint64_t s = is_p ? ((Evote__V1__Prepare *)m.body)->seq : ((Evote__V1__Commit *)m.body)->seq;
            const ProtobufCBinaryData *dg = is_p ? &((Evote__V1__Prepare *)m.body)->digest
                                                 : &((Evote__V1__Commit *)m.body)->digest;
            entry *e = v == r->view ? log_entry(r, s, 1) : NULL;
            vote *own;
            if (e == NULL || dg->len != CRYPTO_HASH_LEN)
                break;
            own = is_p ? &e->prepares[r->cfg.id] : &e->commits[r->cfg.id];
            if (own->env != NULL)
                break;
            own->env = dup_bytes(m.env, m.env_len);
            own->len = m.env_len;
            memcpy(own->digest, dg->data, CRYPTO_HASH_LEN);
            if (is_p) {
                e->my_prepare = m.owned;
                e->my_prepare_len = m.env_len;
                e->sent_prepare = 1;
            } else {
                e->my_commit = m.owned;
                e->my_commit_len = m.env_len;
                e->sent_commit = 1;
            }
            m.owned = NULL;
            break;
        }
        case EVOTE__V1__KIND__KIND_VIEW_CHANGE: {
            Evote__V1__ViewChange *vc = m.body;
            if (vc->new_view == r->view) {
                uint8_t **att = calloc(r->cfg.window + 1, sizeof *att);
                size_t *attl = calloc(r->cfg.window + 1, sizeof *attl), na = 0;
                r->status = STATUS_VIEW_CHANGE;
                if (att != NULL && attl != NULL) {
                    for (uint64_t s = r->h + 1; s <= r->h + r->cfg.window; s++) {
                        entry *e = log_entry(r, s, 0);
                        if (e != NULL && e->has_proof && (att[na] = entry_proof_batch(r, e, &attl[na])) != NULL)
                            na++;
                    }
                    free(r->my_vc);
                    r->my_vc = NULL;
                    if (msg_wrap(m.env, m.env_len, att, attl, na, &r->my_vc, &r->my_vc_len)) {
                        Evote__V1__PeerMessage *own = evote__v1__peer_message__unpack(NULL, r->my_vc_len, r->my_vc);
                        vc_store(r, r->cfg.id, m.env, m.env_len, vc, own);
                        m.body = NULL;
                        if (own)
                            evote__v1__peer_message__free_unpacked(own, NULL);
                    }
                }
                free(att);
                free(attl);
            }
            break;
        }
        default:
            break;
        }
        msg_free(&m);
    }
    /* The NEW-VIEW that started our view: relayed to replicas that missed
     * it (they may not accept messages of this view without it). */
    if (r->status == STATUS_NORMAL && cm->new_view.len > 0) { /* a meta of an older version */
        nv = cm->new_view.data;
        nv_len = cm->new_view.len;
    }
    if (r->status == STATUS_NORMAL && nv != NULL && nv_len > 0 && new_view_for(r, nv, nv_len, r->view)) {
        r->new_view_msg = dup_bytes(nv, nv_len);
        r->new_view_len = r->new_view_msg ? nv_len : 0;
    }
    ok = 1;
out:
    evote__v1__consensus_meta__free_unpacked(cm, NULL);
    return ok;
}
