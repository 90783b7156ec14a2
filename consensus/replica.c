/* The PBFT replica: normal case (PRE-PREPARE, PREPARE, COMMIT, in-order
 * execution), checkpoints and garbage collection, state transfer, timers.
 * View changes are in view_change.c.
 *
 * A request's path, for a reader following it: the primary's embedder calls
 * replica_propose() with a batch; propose() logs it and broadcasts a
 * PRE-PREPARE. A backup's on_pre_prepare() checks it (view, primary, window,
 * digest, validate_batch), logs it and broadcasts a PREPARE. on_prepare()
 * collects votes; check_prepared() fires at the pre-prepare plus 2f matching
 * PREPAREs from distinct backups and broadcasts a COMMIT. on_commit()
 * collects 2f+1 matching COMMITs; try_execute() hands committed batches out
 * in sequence order, each with its commit certificate. The embedder stores
 * the block and calls replica_on_executed(), which every K seqs broadcasts a
 * CHECKPOINT; 2f+1 matching ones make it stable and move the window. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *replica_strerror(replica_err err)
{
    switch (err) {
    case REPLICA_OK: return "ok";
    case REPLICA_ERR_CONFIG:
        return "consensus configuration is invalid: the validator count must be 3f+1 (4, 7, 10, ...), "
               "this validator's index must be in the genesis, and every key valid";
    case REPLICA_ERR_NOMEM: return "out of memory";
    case REPLICA_ERR_META:
        return "the stored consensus state does not parse or belongs to another chain: the data "
               "directory may be damaged or from another chain; restore it from a snapshot";
    }
    return "unknown consensus error";
}

/* ------------------------------------------------------------------ actions */

void push_action(replica *r, const replica_action *a)
{
    if (r->n_acts == r->cap_acts) {
        size_t cap = r->cap_acts ? r->cap_acts * 2 : 64;
        replica_action *na;
        if (r->head_acts > 0) { /* compact before growing */
            memmove(r->acts, r->acts + r->head_acts, (r->n_acts - r->head_acts) * sizeof *r->acts);
            r->n_acts -= r->head_acts;
            r->event_mark = r->event_mark > r->head_acts ? r->event_mark - r->head_acts : 0;
            r->head_acts = 0;
        }
        if (r->n_acts == r->cap_acts) {
            na = realloc(r->acts, cap * sizeof *na);
            if (na == NULL) { /* cannot queue: drop, as a lost message would be */
                replica_action tmp = *a;
                replica_action_clear(&tmp);
                return;
            }
            r->acts = na;
            r->cap_acts = cap;
        }
    }
    r->acts[r->n_acts++] = *a;
}

/* A batch this replica pre-prepared or prepared must survive a crash: it
 * goes to storage, once, before the vote that depends on it leaves. */
void persist_batch(replica *r, uint64_t seq, const uint8_t digest[CRYPTO_HASH_LEN], const uint8_t *batch,
                   size_t len)
{
    replica_action a = {0};
    if (batch == NULL)
        return;
    a.type = REPLICA_ACT_PERSIST_BATCH;
    a.seq = seq;
    memcpy(a.digest, digest, CRYPTO_HASH_LEN);
    a.batch = dup_bytes(batch, len);
    a.batch_len = len;
    if (a.batch != NULL)
        push_action(r, &a);
}

void replica_action_clear(replica_action *a)
{
    free(a->bytes);
    free(a->batch);
    free(a->certificate);
    memset(a, 0, sizeof *a);
}

int replica_pop_action(replica *r, replica_action *out)
{
    if (r->head_acts == r->n_acts) {
        r->head_acts = r->n_acts = 0;
        return 0;
    }
    *out = r->acts[r->head_acts++];
    return 1;
}

void send_to(replica *r, uint32_t to, Evote__V1__Kind kind, uint8_t *bytes, size_t len)
{
    replica_action a = {0};
    if (bytes == NULL || to == r->cfg.id || to >= r->cfg.n) {
        free(bytes);
        return;
    }
    a.type = REPLICA_ACT_SEND;
    a.to = to;
    a.bytes = bytes;
    a.len = len;
    r->stats.by_kind_sent[kind]++;
    push_action(r, &a);
}

void broadcast(replica *r, Evote__V1__Kind kind, uint8_t *bytes, size_t len)
{
    replica_action a = {0};
    if (bytes == NULL)
        return;
    a.type = REPLICA_ACT_BROADCAST;
    a.bytes = bytes;
    a.len = len;
    r->stats.by_kind_sent[kind]++;
    push_action(r, &a);
}

void set_timer(replica *r, replica_timer t, uint32_t ms)
{
    replica_action a = {0};
    a.type = REPLICA_ACT_SET_TIMER;
    a.timer = t;
    a.delay_ms = ms;
    push_action(r, &a);
}

void cancel_timer(replica *r, replica_timer t)
{
    replica_action a = {0};
    a.type = REPLICA_ACT_CANCEL_TIMER;
    a.timer = t;
    push_action(r, &a);
}

/* Every event ends here: if the event changed what must survive a crash,
 * a PERSIST_META goes in front of the actions this event produced. */
static void end_event(replica *r)
{
    replica_action a = {0};
    size_t mark = r->event_mark;

    maybe_rotate(r);
    update_timers(r);
    if (!r->meta_dirty)
        return;
    r->meta_dirty = 0;
    if (!meta_build(r, &a.bytes, &a.len))
        return;
    a.type = REPLICA_ACT_PERSIST_META;
    push_action(r, &a); /* grows the queue if needed, then rotate into place */
    if (mark < r->head_acts)
        mark = r->head_acts;
    if (mark < r->n_acts - 1) {
        replica_action last = r->acts[r->n_acts - 1];
        memmove(r->acts + mark + 1, r->acts + mark, (r->n_acts - 1 - mark) * sizeof *r->acts);
        r->acts[mark] = last;
    }
}

static void begin_event(replica *r)
{
    r->event_mark = r->n_acts;
}

/* ---------------------------------------------------------------------- log */

static void vote_clear(vote *v)
{
    free(v->env);
    v->env = NULL;
    v->len = 0;
}

void entry_reset_view(replica *r, entry *e)
{
    for (uint32_t i = 0; i < r->cfg.n; i++) {
        vote_clear(&e->prepares[i]);
        vote_clear(&e->commits[i]);
    }
    free(e->pp_env);
    if (e->proof_is_batch) { /* the certificate keeps the bytes */
        e->proof_batch = e->batch;
        e->proof_batch_len = e->batch_len;
        e->proof_is_batch = 0;
    } else {
        free(e->batch);
    }
    free(e->my_prepare);
    free(e->my_commit);
    free(e->val_env);
    free(e->val_batch);
    e->val_env = e->val_batch = NULL;
    e->val_env_len = e->val_batch_len = 0;
    e->pp_env = e->batch = e->my_prepare = e->my_commit = NULL;
    e->pp_len = e->batch_len = e->my_prepare_len = e->my_commit_len = 0;
    e->has_pp = e->prepared = e->committed = e->sent_prepare = e->sent_commit = 0;
}

void entry_free(replica *r, entry *e)
{
    entry_reset_view(r, e);
    free(e->proof);
    free(e->proof_batch);
    e->proof = e->proof_batch = NULL;
    e->proof_len = e->proof_batch_len = 0;
    e->has_proof = 0;
    memset(e->helped, 0, sizeof e->helped);
    e->seq = 0;
}

/* The entry for seq, which must be inside the window (h, h+L]. */
entry *log_entry(replica *r, uint64_t seq, int create)
{
    entry *e;
    if (seq <= r->h || seq > r->h + r->cfg.window)
        return NULL;
    e = &r->log[seq % r->cfg.window];
    if (e->seq == seq)
        return e;
    if (!create)
        return NULL;
    if (e->seq != 0)
        entry_free(r, e);
    e->seq = seq;
    if (seq > r->top_seq)
        r->top_seq = seq;
    return e;
}

/* ---------------------------------------------------------------- lifecycle */

static int config_valid(const replica_config *c)
{
    if (c->n < 4 || c->n > REPLICA_MAX_N || (c->n - 1) % 3 != 0 || c->id >= c->n || c->pubkeys == NULL)
        return 0;
    for (uint32_t i = 0; i < c->n; i++)
        for (uint32_t j = i + 1; j < c->n; j++)
            if (memcmp(c->pubkeys[i], c->pubkeys[j], CRYPTO_PUBKEY_LEN) == 0)
                return 0;
    return 1;
}

replica_err replica_new(const replica_config *cfg, const replica_callbacks *cb, const replica_restore *restore,
                        replica **out)
{
    replica *r;
    uint32_t n;

    *out = NULL;
    if (cfg == NULL || cb == NULL || cb->sign == NULL || cb->verify == NULL || cb->validate_batch == NULL ||
        !config_valid(cfg))
        return REPLICA_ERR_CONFIG;
    n = cfg->n;
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return REPLICA_ERR_NOMEM;
    r->cfg = *cfg;
    r->cb = *cb;
    if (r->cfg.checkpoint_interval == 0)
        r->cfg.checkpoint_interval = 64;
    if (r->cfg.window == 0)
        r->cfg.window = 2 * r->cfg.checkpoint_interval;
    if (r->cfg.window < r->cfg.checkpoint_interval)
        r->cfg.window = r->cfg.checkpoint_interval;
    if (r->cfg.max_inflight == 0)
        r->cfg.max_inflight = 4;
    if (r->cfg.view_change_timeout_ms == 0)
        r->cfg.view_change_timeout_ms = 1000;
    if (r->cfg.retransmit_ms == 0)
        r->cfg.retransmit_ms = r->cfg.view_change_timeout_ms / 2 ? r->cfg.view_change_timeout_ms / 2 : 1;
    if (r->cfg.max_blocks_per_fetch == 0)
        r->cfg.max_blocks_per_fetch = 64;
    r->f = (n - 1) / 3;
    r->timeout_ms = r->cfg.view_change_timeout_ms;
    r->retransmit_now = r->fetch_now = r->cfg.retransmit_ms;
    r->pubkeys = malloc(n * sizeof *r->pubkeys);
    r->log = calloc(r->cfg.window, sizeof *r->log);
    r->ckpts = calloc((size_t)n * CKPT_KEEP, sizeof *r->ckpts);
    r->vcs = calloc(n, sizeof *r->vcs);
    r->peer_view = calloc(n, sizeof *r->peer_view);
    r->helped_stable = calloc(n, sizeof *r->helped_stable);
    r->peer_commit = calloc(n, sizeof *r->peer_commit);
    r->peer_suspect = calloc(n, sizeof *r->peer_suspect);
    r->peer_active = calloc(n, sizeof *r->peer_active);
    r->nv_sent_view = calloc(n, sizeof *r->nv_sent_view);
    r->nv_sent_from = calloc(n, sizeof *r->nv_sent_from);
    if (r->pubkeys == NULL || r->log == NULL || r->ckpts == NULL || r->vcs == NULL || r->peer_view == NULL ||
        r->helped_stable == NULL || r->peer_commit == NULL || r->peer_suspect == NULL || r->peer_active == NULL ||
        r->nv_sent_view == NULL || r->nv_sent_from == NULL)
        goto nomem;
    memcpy(r->pubkeys, cfg->pubkeys, n * sizeof *r->pubkeys);
    r->cfg.pubkeys = (const uint8_t(*)[CRYPTO_PUBKEY_LEN])r->pubkeys;
    for (uint32_t i = 0; i < r->cfg.window; i++) {
        r->log[i].prepares = calloc(n, sizeof(vote));
        r->log[i].commits = calloc(n, sizeof(vote));
        if (r->log[i].prepares == NULL || r->log[i].commits == NULL)
            goto nomem;
    }
    memcpy(r->last_hash, cfg->chain_id, CRYPTO_HASH_LEN);
    if (restore != NULL) {
        r->last_executed = r->last_stored = restore->last_executed;
        if (restore->last_executed > 0)
            memcpy(r->last_hash, restore->last_hash, CRYPTO_HASH_LEN);
        r->tip_ckpt = restore->last_executed > 0 && restore->tip_is_checkpoint;
        r->probing = restore->last_executed > 0 || restore->meta != NULL;
        r->recovering = r->probing;
        if (restore->meta != NULL && !meta_restore(r, restore->meta, restore->meta_len, restore->new_view, restore->new_view_len)) {
            replica_destroy(&r);
            return REPLICA_ERR_META;
        }
    }
    if (r->h > r->last_executed) /* stable proof ahead of storage: fetch up to it */
        r->fetch_target = r->h;
    {
        /* Never below what storage or a restored PRE-PREPARE already used:
         * a restarted primary must not assign a seq twice. */
        uint64_t floor = (r->last_executed > r->h ? r->last_executed : r->h) + 1;
        if (r->seq_next < floor)
            r->seq_next = floor;
    }
    *out = r;
    return REPLICA_OK;
nomem:
    replica_destroy(&r);
    return REPLICA_ERR_NOMEM;
}

void replica_destroy(replica **self)
{
    replica *r;
    replica_action a;

    if (self == NULL || *self == NULL)
        return;
    r = *self;
    if (r->log != NULL) {
        for (uint32_t i = 0; i < r->cfg.window; i++) {
            if (r->log[i].prepares != NULL && r->log[i].commits != NULL)
                entry_free(r, &r->log[i]);
            free(r->log[i].prepares);
            free(r->log[i].commits);
        }
    }
    if (r->ckpts != NULL)
        for (size_t i = 0; i < (size_t)r->cfg.n * CKPT_KEEP; i++)
            free(r->ckpts[i].env);
    for (size_t i = 0; i < r->n_stable_proof; i++)
        free(r->stable_proof[i]);
    free(r->stable_proof);
    free(r->stable_proof_lens);
    free(r->own_ckpt_env);
    if (r->vcs != NULL)
        for (uint32_t i = 0; i < r->cfg.n; i++)
            vc_slot_clear(&r->vcs[i]);
    free(r->vcs);
    free(r->my_vc);
    free(r->new_view_msg);
    free(r->peer_view);
    free(r->helped_stable);
    free(r->peer_commit);
    free(r->peer_suspect);
    free(r->peer_active);
    free(r->nv_sent_view);
    free(r->nv_sent_from);
    while (replica_pop_action(r, &a))
        replica_action_clear(&a);
    free(r->acts);
    free(r->log);
    free(r->ckpts);
    free(r->pubkeys);
    free(r);
    *self = NULL;
}

uint64_t replica_view(const replica *r) { return r->view; }
uint32_t replica_primary(const replica *r) { return primary_of(r, r->view); }
int replica_in_view_change(const replica *r) { return r->status == STATUS_VIEW_CHANGE; }
uint64_t replica_last_executed(const replica *r) { return r->last_executed; }
static uint64_t committing_seq(const replica *r);
uint64_t replica_known_seq(const replica *r)
{
    uint64_t s = committing_seq(r);
    if (r->fetch_target > s)
        s = r->fetch_target;
    return s > r->last_executed ? s : r->last_executed;
}

int replica_catching_up(const replica *r)
{
    return r->recovering || r->fetch_target > r->last_executed;
}
uint64_t replica_stable_seq(const replica *r) { return r->h; }

uint64_t replica_stable_proof(const replica *r, uint8_t *const **envs, const size_t **lens, size_t *n)
{
    *envs = r->stable_proof;
    *lens = r->stable_proof_lens;
    *n = r->n_stable_proof;
    return r->n_stable_proof ? r->h : 0;
}
uint64_t replica_term_end(const replica *r) { return term_end(r); }

/* ------------------------------------------------------------ rotation */

/* The last seq the current view's primary may propose: the checkpoint
 * term_checkpoints intervals past the first one at or above the view's
 * start (a full term even when a view change started it between
 * checkpoints). Every replica that entered the view computes the same
 * (view_base comes from the NEW-VIEW), so a backup can refuse a
 * PRE-PREPARE beyond it. */
uint64_t term_end(const replica *r)
{
    uint64_t k = r->cfg.checkpoint_interval;
    if (r->cfg.term_checkpoints == 0)
        return UINT64_MAX;
    return ((r->view_base + k - 1) / k + r->cfg.term_checkpoints) * k;
}

/* The term's last checkpoint is stable: the primary is done, and every
 * honest replica sees this at the same seq, so each moves to the next view
 * on its own. Nothing above the term's end was proposed, so the
 * VIEW-CHANGEs carry no prepared batch and the NEW-VIEW re-proposes none.
 * Not a sign of trouble: the view-change timeout does not grow. */
void maybe_rotate(replica *r)
{
    if (r->status != STATUS_NORMAL || r->cfg.term_checkpoints == 0 || r->h < term_end(r))
        return;
    r->stats.rotations++;
    start_view_change(r, r->view + 1, 1);
}
void replica_get_stats(const replica *r, replica_stats *out) { *out = r->stats; }

size_t replica_inflight_batches(const replica *r, const uint8_t **batches, size_t *lens, size_t max)
{
    size_t k = 0;
    for (uint32_t w = 0; w < r->cfg.window && k < max; w++) {
        const entry *e = &r->log[w];
        if (e->seq > r->last_executed && e->seq > r->h && e->has_pp && e->batch != NULL) {
            batches[k] = e->batch;
            lens[k++] = e->batch_len;
        }
    }
    return k;
}

void replica_describe(const replica *r, char *buf, size_t len)
{
    size_t at = 0;
    int k = snprintf(buf, len, "view %llu%s primary %u h %llu executed %llu next %llu fetch %d/%llu pending %d |",
                     (unsigned long long)r->view, r->status == STATUS_VIEW_CHANGE ? " (changing)" : "",
                     primary_of(r, r->view), (unsigned long long)r->h, (unsigned long long)r->last_executed,
                     (unsigned long long)r->seq_next, r->fetching, (unsigned long long)r->fetch_target, r->pending);
    if (k < 0 || (size_t)k >= len)
        return;
    at = (size_t)k;
    if (r->cfg.term_checkpoints != 0 && at + 32 < len) {
        k = snprintf(buf + at, len - at, " term-end %llu |", (unsigned long long)term_end(r));
        if (k < 0)
            return;
        at += (size_t)k;
    }
    for (uint32_t w = 0; w < r->cfg.window && at + 64 < len; w++) {
        const entry *e = &r->log[w];
        uint32_t p = 0, c = 0;
        if (e->seq == 0)
            continue;
        for (uint32_t i = 0; i < r->cfg.n; i++) {
            p += e->prepares[i].env != NULL;
            c += e->commits[i].env != NULL;
        }
        k = snprintf(buf + at, len - at, " %llu:%s%s%s%s p%u c%u", (unsigned long long)e->seq, e->has_pp ? "pp" : "--",
                     e->prepared ? "P" : "", e->committed ? "C" : "", e->has_proof ? "*" : "", p, c);
        if (k < 0)
            return;
        at += (size_t)k;
    }
}

static void send_state_request(replica *r, uint64_t through);

static void own_checkpoint(replica *r, uint64_t seq, const uint8_t block_hash[CRYPTO_HASH_LEN]);

void replica_start(replica *r)
{
    begin_event(r);
    /* Storage ends on a checkpoint seq not yet stable: sign it again. The
     * CHECKPOINT sent before the crash may have been lost with the others'
     * memory (all restarted at once); if every replica stopped at the top
     * of its window, that checkpoint is the only way the window moves. */
    if (r->last_executed > r->h && (r->last_executed % r->cfg.checkpoint_interval == 0 || r->tip_ckpt))
        own_checkpoint(r, r->last_executed, r->last_hash);
    if (r->probing || r->fetch_target > r->last_executed)
        send_state_request(r, r->fetch_target > r->last_executed ? r->fetch_target : 0);
    end_event(r);
}

/* ------------------------------------------------------------- normal case */

int replica_can_propose(const replica *r, uint64_t *seq)
{
    if (r->status != STATUS_NORMAL || primary_of(r, r->view) != r->cfg.id)
        return 0;
    if (r->fetch_target > r->last_executed) /* behind: cannot judge what is new */
        return 0;
    if (r->seq_next > r->h + r->cfg.window || r->seq_next > term_end(r))
        return 0;
    if (r->seq_next - 1 - r->last_executed >= r->cfg.max_inflight && r->seq_next - 1 >= r->last_executed)
        return 0;
    *seq = r->seq_next;
    return 1;
}

static uint8_t *seal_vote(replica *r, Evote__V1__Kind kind, uint64_t seq, const uint8_t digest[CRYPTO_HASH_LEN],
                          size_t *len)
{
    uint8_t *env = NULL;
    Evote__V1__Prepare p = EVOTE__V1__PREPARE__INIT;
    Evote__V1__Commit c = EVOTE__V1__COMMIT__INIT;
    const ProtobufCMessage *body;

    if (kind == EVOTE__V1__KIND__KIND_PREPARE) {
        p.chain_id.data = r->cfg.chain_id;
        p.chain_id.len = CRYPTO_CHAIN_ID_LEN;
        p.view = r->view;
        p.seq = seq;
        p.digest.data = (uint8_t *)digest;
        p.digest.len = CRYPTO_HASH_LEN;
        p.replica = r->cfg.id;
        body = &p.base;
    } else {
        c.chain_id.data = r->cfg.chain_id;
        c.chain_id.len = CRYPTO_CHAIN_ID_LEN;
        c.view = r->view;
        c.seq = seq;
        c.digest.data = (uint8_t *)digest;
        c.digest.len = CRYPTO_HASH_LEN;
        c.replica = r->cfg.id;
        body = &c.base;
    }
    if (!msg_seal(r, kind, body, &env, len))
        return NULL;
    return env;
}

static void broadcast_env(replica *r, Evote__V1__Kind kind, const uint8_t *env, size_t len, uint8_t *batch,
                          size_t batch_len)
{
    uint8_t *pm;
    size_t pm_len;
    if (msg_wrap(env, len, &batch, &batch_len, batch ? 1 : 0, &pm, &pm_len))
        broadcast(r, kind, pm, pm_len);
}

static void send_env(replica *r, uint32_t to, Evote__V1__Kind kind, const uint8_t *env, size_t len, uint8_t *batch,
                     size_t batch_len)
{
    uint8_t *pm;
    size_t pm_len;
    if (msg_wrap(env, len, &batch, &batch_len, batch ? 1 : 0, &pm, &pm_len))
        send_to(r, to, kind, pm, pm_len);
}

int replica_propose(replica *r, uint64_t seq, const uint8_t *batch, size_t len)
{
    Evote__V1__PrePrepare pp = EVOTE__V1__PRE_PREPARE__INIT;
    uint64_t next;
    entry *e;
    int ok = 0;

    begin_event(r);
    if (!replica_can_propose(r, &next) || next != seq || batch == NULL || len == 0)
        goto out;
    e = log_entry(r, seq, 1);
    if (e == NULL)
        goto out;
    if (e->has_proof && e->proof_view == r->view) {
        /* Prepared in this view already (only a lost meta could bring this
         * about): never another batch for it. */
        uint8_t d[CRYPTO_HASH_LEN];
        batch_digest(batch, len, d);
        if (memcmp(d, e->proof_digest, CRYPTO_HASH_LEN) != 0) {
            r->stats.dropped_conflicting++;
            goto out;
        }
    }
    entry_reset_view(r, e);
    batch_digest(batch, len, e->digest);
    pp.chain_id.data = r->cfg.chain_id;
    pp.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    pp.view = r->view;
    pp.seq = seq;
    pp.digest.data = e->digest;
    pp.digest.len = CRYPTO_HASH_LEN;
    pp.replica = r->cfg.id;
    e->batch = dup_bytes(batch, len);
    if (e->batch == NULL || !msg_seal(r, EVOTE__V1__KIND__KIND_PRE_PREPARE, &pp.base, &e->pp_env, &e->pp_len)) {
        entry_reset_view(r, e);
        goto out;
    }
    e->batch_len = len;
    e->has_pp = 1;
    r->seq_next = seq + 1;
    r->meta_dirty = 1;
    persist_batch(r, seq, e->digest, e->batch, e->batch_len);
    broadcast_env(r, EVOTE__V1__KIND__KIND_PRE_PREPARE, e->pp_env, e->pp_len, e->batch, e->batch_len);
    check_prepared(r, e);
    ok = 1;
out:
    end_event(r);
    return ok;
}

void send_prepare(replica *r, entry *e)
{
    if (e->sent_prepare || primary_of(r, r->view) == r->cfg.id)
        return;
    e->my_prepare = seal_vote(r, EVOTE__V1__KIND__KIND_PREPARE, e->seq, e->digest, &e->my_prepare_len);
    if (e->my_prepare == NULL)
        return;
    e->sent_prepare = 1;
    r->meta_dirty = 1;
    /* Own vote counts like anyone's. */
    e->prepares[r->cfg.id].env = dup_bytes(e->my_prepare, e->my_prepare_len);
    if (e->prepares[r->cfg.id].env != NULL) {
        e->prepares[r->cfg.id].len = e->my_prepare_len;
        memcpy(e->prepares[r->cfg.id].digest, e->digest, CRYPTO_HASH_LEN);
    }
    broadcast_env(r, EVOTE__V1__KIND__KIND_PREPARE, e->my_prepare, e->my_prepare_len, NULL, 0);
}

static uint32_t count_votes(const replica *r, const vote *votes, const uint8_t digest[CRYPTO_HASH_LEN],
                            uint32_t skip)
{
    uint32_t c = 0;
    for (uint32_t i = 0; i < r->cfg.n; i++)
        if (i != skip && votes[i].env != NULL && memcmp(votes[i].digest, digest, CRYPTO_HASH_LEN) == 0)
            c++;
    return c;
}

/* Prepared: the pre-prepare and 2f matching PREPAREs from distinct backups.
 * The certificate is kept (it goes into VIEW-CHANGE messages), and COMMIT is
 * sent. */
void check_prepared(replica *r, entry *e)
{
    Evote__V1__PreparedProof proof = EVOTE__V1__PREPARED_PROOF__INIT;
    Evote__V1__Envelope *pp_env = NULL, *prep[REPLICA_MAX_N];
    uint32_t primary = primary_of(r, r->view), np = 0;
    size_t len;
    uint8_t *bytes;

    if (!e->has_pp || e->prepared)
        goto commit;
    if (count_votes(r, e->prepares, e->digest, primary) < 2 * r->f)
        return;
    /* Build the proof from the exact envelopes. */
    pp_env = evote__v1__envelope__unpack(NULL, e->pp_len, e->pp_env);
    if (pp_env == NULL)
        return;
    for (uint32_t i = 0; i < r->cfg.n && np < 2 * r->f; i++) {
        if (i == primary || e->prepares[i].env == NULL ||
            memcmp(e->prepares[i].digest, e->digest, CRYPTO_HASH_LEN) != 0)
            continue;
        prep[np] = evote__v1__envelope__unpack(NULL, e->prepares[i].len, e->prepares[i].env);
        if (prep[np] == NULL)
            goto out;
        np++;
    }
    proof.pre_prepare = pp_env;
    proof.n_prepares = np;
    proof.prepares = prep;
    len = evote__v1__prepared_proof__get_packed_size(&proof);
    bytes = malloc(len);
    if (bytes == NULL)
        goto out;
    evote__v1__prepared_proof__pack(&proof, bytes);
    free(e->proof);
    free(e->proof_batch);
    e->proof = bytes;
    e->proof_len = len;
    /* Prepared on a digest whose batch this replica lacks (a NEW-VIEW's
     * re-proposal with the batch not attached): no batch, not an empty
     * one, or a later view would re-propose and execute "it". Otherwise
     * the certificate's batch is this view's: shared, not copied. */
    e->proof_batch = NULL;
    e->proof_batch_len = e->batch != NULL ? e->batch_len : 0;
    e->proof_is_batch = e->batch != NULL;
    e->has_proof = 1;
    e->proof_view = r->view;
    memcpy(e->proof_digest, e->digest, CRYPTO_HASH_LEN);
    e->prepared = 1;
    r->meta_dirty = 1;
out:
    if (pp_env != NULL)
        evote__v1__envelope__free_unpacked(pp_env, NULL);
    for (uint32_t i = 0; i < np; i++)
        evote__v1__envelope__free_unpacked(prep[i], NULL);
commit:
    if (!e->prepared)
        return;
    if (!e->sent_commit) {
        e->my_commit = seal_vote(r, EVOTE__V1__KIND__KIND_COMMIT, e->seq, e->digest, &e->my_commit_len);
        if (e->my_commit == NULL)
            return;
        e->sent_commit = 1;
        r->meta_dirty = 1;
        e->commits[r->cfg.id].env = dup_bytes(e->my_commit, e->my_commit_len);
        if (e->commits[r->cfg.id].env != NULL) {
            e->commits[r->cfg.id].len = e->my_commit_len;
            memcpy(e->commits[r->cfg.id].digest, e->digest, CRYPTO_HASH_LEN);
        }
        broadcast_env(r, EVOTE__V1__KIND__KIND_COMMIT, e->my_commit, e->my_commit_len, NULL, 0);
    }
    if (!e->committed && count_votes(r, e->commits, e->digest, UINT32_MAX) >= 2 * r->f + 1) {
        e->committed = 1;
        try_execute(r);
    }
}

static int certificate_build(replica *r, entry *e, uint8_t **out, size_t *len)
{
    Evote__V1__CommitCertificate c = EVOTE__V1__COMMIT_CERTIFICATE__INIT;
    Evote__V1__Envelope *envs[REPLICA_MAX_N];
    size_t ne = 0;
    int ok = 0;

    for (uint32_t i = 0; i < r->cfg.n && ne < 2 * r->f + 1; i++) {
        if (e->commits[i].env == NULL || memcmp(e->commits[i].digest, e->digest, CRYPTO_HASH_LEN) != 0)
            continue;
        envs[ne] = evote__v1__envelope__unpack(NULL, e->commits[i].len, e->commits[i].env);
        if (envs[ne] == NULL)
            goto out;
        ne++;
    }
    c.view = r->view;
    c.seq = e->seq;
    c.digest.data = e->digest;
    c.digest.len = CRYPTO_HASH_LEN;
    c.n_commits = ne;
    c.commits = envs;
    *len = evote__v1__commit_certificate__get_packed_size(&c);
    *out = malloc(*len);
    if (*out != NULL) {
        evote__v1__commit_certificate__pack(&c, *out);
        ok = 1;
    }
out:
    for (size_t i = 0; i < ne; i++)
        evote__v1__envelope__free_unpacked(envs[i], NULL);
    return ok;
}

static void executed_in_time(replica *r);

static void emit_execute(replica *r, uint64_t seq, uint8_t *batch, size_t batch_len, uint8_t *cert, size_t cert_len,
                         int fetched)
{
    replica_action a = {0};
    a.type = REPLICA_ACT_EXECUTE;
    a.fetched = fetched;
    a.seq = seq;
    a.view = r->view;
    a.batch = batch;
    a.batch_len = batch_len;
    a.certificate = cert;
    a.certificate_len = cert_len;
    r->last_executed = seq;
    r->stats.executed++;
    if (r->view_timer_on && r->status == STATUS_NORMAL) {
        executed_in_time(r);
        cancel_timer(r, REPLICA_TIMER_VIEW); /* restarted by update_timers if still waiting */
        r->view_timer_on = 0;
    }
    push_action(r, &a);
}

/* Hands out committed batches in sequence order. */
void try_execute(replica *r)
{
    for (;;) {
        entry *e = log_entry(r, r->last_executed + 1, 0);
        uint8_t *batch, *cert;
        size_t cert_len;

        if (e == NULL || !e->committed)
            return;
        if (e->batch == NULL) { /* agreed on by digest (NEW-VIEW): fetch the block */
            want_blocks(r, e->seq);
            return;
        }
        batch = dup_bytes(e->batch, e->batch_len);
        if (batch == NULL || !certificate_build(r, e, &cert, &cert_len)) {
            free(batch);
            return;
        }
        emit_execute(r, e->seq, batch, e->batch_len, cert, cert_len, 0);
    }
}

/* The envelope of a message is kept as the vote of its signer. A second,
 * different vote by the same replica in the same view is equivocation:
 * dropped and counted; the first one stands. */
static int record_vote(replica *r, vote *v, const msg *m, const uint8_t digest[CRYPTO_HASH_LEN])
{
    if (v->env != NULL) {
        if (memcmp(v->digest, digest, CRYPTO_HASH_LEN) != 0)
            r->stats.dropped_conflicting++;
        return 0;
    }
    v->env = dup_bytes(m->env, m->env_len);
    if (v->env == NULL)
        return 0;
    v->len = m->env_len;
    memcpy(v->digest, digest, CRYPTO_HASH_LEN);
    return 1;
}

/* A peer that lags sends PRE-PREPAREs or PREPAREs (its retransmissions) for
 * seqs this replica is already past: help it with own COMMIT (same view,
 * once per peer and seq) or the stable checkpoint proof (below h, once per
 * peer and checkpoint). A late COMMIT is no sign of lag — every replica's
 * last COMMIT arrives after the others executed — and answers are never
 * answered, so two replicas cannot keep each other busy. */
static void help_laggard(replica *r, uint32_t to, uint64_t view, uint64_t seq, int is_commit)
{
    if (to == r->cfg.id || is_commit)
        return;
    if (seq <= r->h) {
        if (r->helped_stable[to] >= r->h)
            return;
        r->helped_stable[to] = r->h;
        for (size_t i = 0; i < r->n_stable_proof; i++)
            send_env(r, to, EVOTE__V1__KIND__KIND_CHECKPOINT, r->stable_proof[i], r->stable_proof_lens[i], NULL, 0);
        return;
    }
    if (view == r->view && seq <= r->last_executed) {
        entry *e = log_entry(r, seq, 0);
        if (e != NULL && e->my_commit != NULL && !e->helped[to]) {
            e->helped[to] = 1;
            send_env(r, to, EVOTE__V1__KIND__KIND_COMMIT, e->my_commit, e->my_commit_len, NULL, 0);
        }
    }
}

static int digest_field_ok(const ProtobufCBinaryData *d)
{
    return d->len == CRYPTO_HASH_LEN;
}

static void accept_pre_prepare(replica *r, entry *e, uint8_t *env, size_t env_len, uint8_t *batch, size_t batch_len,
                               const uint8_t digest[CRYPTO_HASH_LEN]);

static void on_pre_prepare(replica *r, uint32_t from, msg *m, const Evote__V1__PeerMessage *pm)
{
    const Evote__V1__PrePrepare *b = m->body;
    uint8_t d[CRYPTO_HASH_LEN];
    const uint8_t *batch = NULL;
    size_t batch_len = 0;
    entry *e;

    if (!digest_field_ok(&b->digest)) {
        r->stats.dropped_malformed++;
        return;
    }
    if (m->signer != primary_of(r, b->view)) {
        r->stats.dropped_wrong_role++;
        return;
    }
    if (b->view != r->view || r->status != STATUS_NORMAL) {
        if (b->view < r->view)
            help_laggard(r, from, b->view, b->seq, 0);
        r->stats.dropped_out_of_range++;
        return;
    }
    if (b->seq <= r->h || b->seq > r->h + r->cfg.window) {
        help_laggard(r, from, b->view, b->seq, 0);
        r->stats.dropped_out_of_range++;
        return;
    }
    if (b->seq > term_end(r)) { /* past the primary's term: the next primary's */
        r->stats.dropped_out_of_range++;
        return;
    }
    if (b->seq <= r->last_executed) { /* decided already: never vote again */
        help_laggard(r, from, b->view, b->seq, 0);
        return;
    }
    e = log_entry(r, b->seq, 1);
    if (e->has_pp) {
        if (memcmp(e->digest, b->digest.data, CRYPTO_HASH_LEN) != 0)
            r->stats.dropped_conflicting++; /* an equivocating primary */
        else if (b->seq <= r->last_executed)
            help_laggard(r, from, b->view, b->seq, 0);
        return;
    }
    for (size_t i = 0; i < pm->n_batches; i++) {
        batch_digest(pm->batches[i].data, pm->batches[i].len, d);
        if (memcmp(d, b->digest.data, CRYPTO_HASH_LEN) == 0) {
            batch = pm->batches[i].data;
            batch_len = pm->batches[i].len;
            break;
        }
    }
    if (batch == NULL) {
        r->stats.dropped_bad_digest++;
        return;
    }
    /* A backup that already voted in this view for this seq (restored from
     * its meta after a crash) must not vote for anything else; nor for
     * another batch than one prepared in this view (the certificate is
     * kept even where the votes are not). */
    if ((e->my_prepare != NULL && memcmp(e->prepares[r->cfg.id].digest, b->digest.data, CRYPTO_HASH_LEN) != 0) ||
        (e->has_proof && e->proof_view == b->view && memcmp(e->proof_digest, b->digest.data, CRYPTO_HASH_LEN) != 0)) {
        r->stats.dropped_conflicting++;
        return;
    }
    if (e->val_env != NULL) { /* this seq's proposal is being validated */
        if (memcmp(e->val_digest, b->digest.data, CRYPTO_HASH_LEN) != 0)
            r->stats.dropped_conflicting++;
        return;
    }
    int valid = r->cb.validate_batch(r->cb.ctx, b->seq, batch, batch_len);
    uint8_t *env_copy = dup_bytes(m->env, m->env_len), *batch_copy = dup_bytes(batch, batch_len);
    if (env_copy == NULL || batch_copy == NULL || (valid != 1 && valid != REPLICA_VALIDATE_LATER)) {
        if (valid != 1 && valid != REPLICA_VALIDATE_LATER)
            r->stats.rejected_batches++;
        free(env_copy);
        free(batch_copy);
        return;
    }
    if (valid == REPLICA_VALIDATE_LATER) { /* replica_on_batch_validated goes on */
        e->val_env = env_copy;
        e->val_env_len = m->env_len;
        e->val_batch = batch_copy;
        e->val_batch_len = batch_len;
        memcpy(e->val_digest, b->digest.data, CRYPTO_HASH_LEN);
        return;
    }
    accept_pre_prepare(r, e, env_copy, m->env_len, batch_copy, batch_len, b->digest.data);
}

/* A validated PRE-PREPARE enters the log (taking env and batch): the batch
 * is persisted, then this backup PREPAREs. */
static void accept_pre_prepare(replica *r, entry *e, uint8_t *env, size_t env_len, uint8_t *batch, size_t batch_len,
                               const uint8_t digest[CRYPTO_HASH_LEN])
{
    e->pp_env = env;
    e->batch = batch;
    e->pp_len = env_len;
    e->batch_len = batch_len;
    memcpy(e->digest, digest, CRYPTO_HASH_LEN);
    e->has_pp = 1;
    persist_batch(r, e->seq, e->digest, e->batch, e->batch_len);
    /* Votes that arrived first for another digest stay, and are simply not
     * counted for this one. */
    send_prepare(r, e);
    check_prepared(r, e);
}

void replica_on_batch_validated(replica *r, uint64_t seq, const uint8_t digest[CRYPTO_HASH_LEN], int ok)
{
    entry *e;
    begin_event(r);
    e = log_entry(r, seq, 0);
    /* A view change since (entry_reset_view), a moved window or another
     * proposal: the verdict is about nothing this replica still holds. */
    if (e != NULL && e->val_env != NULL && memcmp(e->val_digest, digest, CRYPTO_HASH_LEN) == 0) {
        uint8_t *env = e->val_env, *batch = e->val_batch;
        size_t env_len = e->val_env_len, batch_len = e->val_batch_len;
        e->val_env = e->val_batch = NULL;
        e->val_env_len = e->val_batch_len = 0;
        if (!ok)
            r->stats.rejected_batches++;
        if (ok && r->status == STATUS_NORMAL && !e->has_pp && seq > r->last_executed &&
            (e->my_prepare == NULL || memcmp(e->prepares[r->cfg.id].digest, digest, CRYPTO_HASH_LEN) == 0)) {
            accept_pre_prepare(r, e, env, env_len, batch, batch_len, digest);
        } else {
            free(env);
            free(batch);
        }
    }
    end_event(r);
}

static void on_vote(replica *r, uint32_t from, msg *m)
{
    int is_prepare = m->kind == EVOTE__V1__KIND__KIND_PREPARE;
    uint64_t view, seq;
    const ProtobufCBinaryData *digest;
    entry *e;

    if (is_prepare) {
        const Evote__V1__Prepare *b = m->body;
        view = b->view;
        seq = b->seq;
        digest = &b->digest;
    } else {
        const Evote__V1__Commit *b = m->body;
        view = b->view;
        seq = b->seq;
        digest = &b->digest;
    }
    if (!digest_field_ok(digest)) {
        r->stats.dropped_malformed++;
        return;
    }
    if (is_prepare && m->signer == primary_of(r, view)) {
        r->stats.dropped_wrong_role++; /* the primary's vote is its PRE-PREPARE */
        return;
    }
    /* How far each replica has committed in our view, window or not: the
     * view timer's evidence that the cluster goes on without us. */
    if (!is_prepare && view == r->view && r->status == STATUS_NORMAL && seq > r->peer_commit[m->signer])
        r->peer_commit[m->signer] = seq;
    if (view != r->view || r->status != STATUS_NORMAL || seq <= r->h || seq > r->h + r->cfg.window) {
        if (view <= r->view)
            help_laggard(r, from, view, seq, !is_prepare);
        r->stats.dropped_out_of_range++;
        return;
    }
    e = log_entry(r, seq, 1);
    if (seq <= r->last_executed && e->committed) {
        help_laggard(r, from, view, seq, !is_prepare);
        return;
    }
    if (!record_vote(r, is_prepare ? &e->prepares[m->signer] : &e->commits[m->signer], m, digest->data))
        return;
    if (!is_prepare && !e->has_pp && e->val_env == NULL &&
        count_votes(r, e->commits, digest->data, UINT32_MAX) >= 2 * r->f + 1)
        want_blocks(r, seq); /* committed elsewhere, and we never got its batch */
    check_prepared(r, e);
}

/* ------------------------------------------------------------- checkpoints */

int checkpoint_proof_valid(replica *r, uint64_t seq, Evote__V1__Envelope **envs, size_t n,
                           uint8_t digest_out[CRYPTO_HASH_LEN])
{
    uint8_t seen[REPLICA_MAX_N] = {0};
    uint32_t good = 0;
    int have = 0;

    if (seq == 0)
        return n == 0;
    if (n > r->cfg.n) /* each costs a signature check: at most one a replica */
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = evote__v1__envelope__get_packed_size(envs[i]);
        uint8_t *bytes = malloc(len);
        msg m;
        if (bytes == NULL)
            return 0;
        evote__v1__envelope__pack(envs[i], bytes);
        if (msg_open(r, bytes, len, EVOTE__V1__KIND__KIND_CHECKPOINT, &m)) {
            const Evote__V1__Checkpoint *c = m.body;
            if (c->seq == seq && c->state_digest.len == CRYPTO_HASH_LEN && !seen[m.signer] &&
                (!have || memcmp(digest_out, c->state_digest.data, CRYPTO_HASH_LEN) == 0)) {
                memcpy(digest_out, c->state_digest.data, CRYPTO_HASH_LEN);
                have = 1;
                seen[m.signer] = 1;
                good++;
            }
            msg_free(&m);
        }
        free(bytes);
    }
    return good >= 2 * r->f + 1;
}

/* The stable checkpoint moves to seq: drop the log up to it. */
void adopt_stable(replica *r, uint64_t seq, const uint8_t digest[CRYPTO_HASH_LEN], uint8_t *const *proof,
                  const size_t *proof_lens, size_t n_proof)
{
    uint8_t **np;
    size_t *nl;

    if (seq <= r->h)
        return;
    np = calloc(n_proof ? n_proof : 1, sizeof *np);
    nl = calloc(n_proof ? n_proof : 1, sizeof *nl);
    if (np == NULL || nl == NULL) {
        free(np);
        free(nl);
        return;
    }
    for (size_t i = 0; i < n_proof; i++) {
        np[i] = dup_bytes(proof[i], proof_lens[i]);
        nl[i] = proof_lens[i];
    }
    for (size_t i = 0; i < r->n_stable_proof; i++)
        free(r->stable_proof[i]);
    free(r->stable_proof);
    free(r->stable_proof_lens);
    r->stable_proof = np;
    r->stable_proof_lens = nl;
    r->n_stable_proof = n_proof;
    memcpy(r->stable_digest, digest, CRYPTO_HASH_LEN);
    for (uint32_t i = 0; i < r->cfg.window; i++)
        if (r->log[i].seq != 0 && r->log[i].seq <= seq)
            entry_free(r, &r->log[i]);
    r->h = seq;
    r->stats.stable_checkpoints++;
    r->stats.stable_extra += seq % r->cfg.checkpoint_interval != 0;
    if (r->seq_next <= seq)
        r->seq_next = seq + 1;
    if (r->last_executed < seq)
        want_blocks(r, seq);
    r->meta_dirty = 1;
}

/* A CHECKPOINT, kept as the latest few per replica. 2f+1 matching ones make
 * it stable; f+1 for a seq beyond our own execution mean we are behind. */
static void on_checkpoint(replica *r, msg *m)
{
    const Evote__V1__Checkpoint *c = m->body;
    ckpt_msg *mine = &r->ckpts[(size_t)m->signer * CKPT_KEEP], *slot = NULL;
    uint8_t *proof[REPLICA_MAX_N];
    size_t lens[REPLICA_MAX_N], np = 0;
    uint32_t ahead = 0;

    /* Any seq: besides every K-th block, the embedder may make a block a
     * checkpoint (replica_on_executed). Only 2f+1 matching ones count. */
    if (c->state_digest.len != CRYPTO_HASH_LEN || c->seq == 0) {
        r->stats.dropped_malformed++;
        return;
    }
    if (c->seq <= r->h)
        return;
    for (int k = 0; k < CKPT_KEEP; k++) {
        if (mine[k].seq == c->seq)
            return; /* one checkpoint per replica per seq; a second is ignored */
        if (slot == NULL || mine[k].seq < slot->seq)
            slot = &mine[k];
    }
    if (slot->seq > c->seq)
        return; /* older than everything kept */
    free(slot->env);
    slot->env = dup_bytes(m->env, m->env_len);
    if (slot->env == NULL) {
        slot->seq = 0;
        return;
    }
    slot->len = m->env_len;
    slot->seq = c->seq;
    memcpy(slot->digest, c->state_digest.data, CRYPTO_HASH_LEN);

    for (uint32_t i = 0; i < r->cfg.n; i++) {
        const ckpt_msg *ci = &r->ckpts[(size_t)i * CKPT_KEEP];
        int counted_ahead = 0;
        for (int k = 0; k < CKPT_KEEP; k++) {
            if (ci[k].seq == c->seq && memcmp(ci[k].digest, c->state_digest.data, CRYPTO_HASH_LEN) == 0) {
                proof[np] = ci[k].env;
                lens[np++] = ci[k].len;
            }
            if (!counted_ahead && ci[k].seq >= c->seq && ci[k].seq > r->last_executed) {
                ahead++;
                counted_ahead = 1;
            }
        }
    }
    if (np >= 2 * r->f + 1) {
        if (r->last_executed >= c->seq && r->own_ckpt_seq == c->seq &&
            memcmp(r->own_ckpt_digest, c->state_digest.data, CRYPTO_HASH_LEN) != 0)
            r->stats.dropped_bad_proof++; /* we diverged: never adopt a state we do not have */
        else
            adopt_stable(r, c->seq, c->state_digest.data, proof, lens, 2 * r->f + 1);
    } else if (ahead >= r->f + 1 && c->seq > r->last_executed) {
        want_blocks(r, c->seq);
    }
}

void replica_on_executed(replica *r, uint64_t seq, const uint8_t block_hash[CRYPTO_HASH_LEN], int checkpoint)
{
    begin_event(r);
    if (seq == 0 || seq > r->last_executed)
        goto out;
    if (seq > r->last_stored)
        r->last_stored = seq;
    if (seq == r->last_executed)
        memcpy(r->last_hash, block_hash, CRYPTO_HASH_LEN);
    if ((seq % r->cfg.checkpoint_interval != 0 && !checkpoint) || seq <= r->own_ckpt_seq)
        goto out;
    own_checkpoint(r, seq, block_hash);
out:
    end_event(r);
}

/* Signs and broadcasts this replica's CHECKPOINT for seq (a multiple of K,
 * or an extra checkpoint) and counts it like anyone's. */
static void own_checkpoint(replica *r, uint64_t seq, const uint8_t block_hash[CRYPTO_HASH_LEN])
{
    Evote__V1__Checkpoint c = EVOTE__V1__CHECKPOINT__INIT;
    uint8_t *env;
    size_t len;
    msg m;

    c.chain_id.data = r->cfg.chain_id;
    c.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    c.seq = seq;
    c.state_digest.data = (uint8_t *)block_hash;
    c.state_digest.len = CRYPTO_HASH_LEN;
    c.replica = r->cfg.id;
    if (!msg_seal(r, EVOTE__V1__KIND__KIND_CHECKPOINT, &c.base, &env, &len))
        return;
    free(r->own_ckpt_env);
    r->own_ckpt_env = env;
    r->own_ckpt_len = len;
    r->own_ckpt_seq = seq;
    memcpy(r->own_ckpt_digest, block_hash, CRYPTO_HASH_LEN);
    broadcast_env(r, EVOTE__V1__KIND__KIND_CHECKPOINT, env, len, NULL, 0);
    /* Count our own like anyone's. */
    memset(&m, 0, sizeof m);
    m.kind = EVOTE__V1__KIND__KIND_CHECKPOINT;
    m.signer = r->cfg.id;
    m.env = env;
    m.env_len = len;
    m.body = &c;
    on_checkpoint(r, &m);
}

/* ---------------------------------------------------------- state transfer */

static void send_state_request(replica *r, uint64_t through)
{
    Evote__V1__StateRequest q = EVOTE__V1__STATE_REQUEST__INIT;
    uint8_t *env;
    size_t len;

    r->fetch_peer = (r->fetch_peer + 1) % r->cfg.n;
    if (r->fetch_peer == r->cfg.id)
        r->fetch_peer = (r->fetch_peer + 1) % r->cfg.n;
    q.chain_id.data = r->cfg.chain_id;
    q.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    q.from_height = r->last_executed + 1;
    q.to_height = through;
    q.replica = r->cfg.id;
    if (msg_seal(r, EVOTE__V1__KIND__KIND_STATE_REQUEST, &q.base, &env, &len)) {
        send_env(r, r->fetch_peer, EVOTE__V1__KIND__KIND_STATE_REQUEST, env, len, NULL, 0);
        free(env);
    }
    r->fetching = 1;
    set_timer(r, REPLICA_TIMER_FETCH, r->fetch_now);
    r->fetch_on = 1;
}

/* Evidence that seq is committed somewhere: fetch up to it unless the log
 * will get there by itself. */
void want_blocks(replica *r, uint64_t through)
{
    if (through <= r->last_executed)
        return;
    if (through > r->fetch_target)
        r->fetch_target = through;
    if (!r->fetching)
        send_state_request(r, r->fetch_target);
}

static void fetch_done(replica *r)
{
    r->probing = 0;
    r->fetch_now = r->cfg.retransmit_ms;
    r->fetching = 0;
    if (r->fetch_on) {
        cancel_timer(r, REPLICA_TIMER_FETCH);
        r->fetch_on = 0;
    }
    if (r->seq_next <= r->last_executed)
        r->seq_next = r->last_executed + 1;
}

static void on_state_request(replica *r, uint32_t from, msg *m)
{
    const Evote__V1__StateRequest *q = m->body;
    replica_action a = {0};
    uint64_t through;

    if (m->signer != from || from == r->cfg.id) {
        r->stats.dropped_wrong_sender++;
        return;
    }
    /* A replica asking is restarting or behind: it may not know the view.
     * Not twice for the same question, though: a NEW-VIEW can be large, and
     * an idle replica asks every few seconds (update_timers); one that lost
     * the answer gets it from the next peer it asks. */
    if (r->status == STATUS_NORMAL && r->new_view_msg != NULL &&
        (r->nv_sent_view[from] != r->view || r->nv_sent_from[from] != q->from_height)) {
        uint8_t *copy = dup_bytes(r->new_view_msg, r->new_view_len);
        if (copy != NULL)
            send_to(r, from, EVOTE__V1__KIND__KIND_NEW_VIEW, copy, r->new_view_len);
        r->nv_sent_view[from] = r->view;
        r->nv_sent_from[from] = q->from_height;
    }
    if (r->own_ckpt_env != NULL && r->own_ckpt_seq >= q->from_height)
        send_env(r, from, EVOTE__V1__KIND__KIND_CHECKPOINT, r->own_ckpt_env, r->own_ckpt_len, NULL, 0);
    if (q->from_height == 0 || q->from_height > r->last_executed)
        return;
    through = q->from_height + r->cfg.max_blocks_per_fetch - 1;
    if (q->to_height != 0 && q->to_height < through)
        through = q->to_height;
    if (through > r->last_executed)
        through = r->last_executed;
    if (through < q->from_height)
        return;
    a.type = REPLICA_ACT_SERVE_BLOCKS;
    a.to = from;
    a.from = q->from_height;
    a.through = through;
    push_action(r, &a);
}

static void on_state_response(replica *r, msg *m)
{
    const Evote__V1__StateResponse *s = m->body;
    uint64_t before = r->last_executed;

    for (size_t i = 0; i < s->n_blocks; i++) {
        const Evote__V1__CertifiedBlock *cb = s->blocks[i];
        const Evote__V1__CommitCertificate *c;
        uint8_t *cert, *batch;
        size_t cert_len;

        if (cb->block == NULL || cb->certificate == NULL) {
            r->stats.dropped_malformed++;
            break;
        }
        c = cb->certificate;
        if (c->seq <= r->last_executed)
            continue;
        if (c->seq != r->last_executed + 1)
            break;
        cert_len = evote__v1__commit_certificate__get_packed_size(c);
        cert = malloc(cert_len);
        if (cert == NULL)
            break;
        evote__v1__commit_certificate__pack(c, cert);
        {
            uint8_t d[CRYPTO_HASH_LEN];
            replica_cert_report rep;
            batch_digest(cb->block->batch.data, cb->block->batch.len, d);
            if (!replica_certificate_check(r->cfg.n, r->cfg.pubkeys, r->cfg.chain_id, &r->cb, cert, cert_len,
                                           c->seq, d, &rep)) {
                free(cert);
                r->stats.dropped_bad_proof++;
                break;
            }
            if (rep.signers != rep.n_commits) {
                /* What a faulty peer added beside the 2f+1 is not kept: a
                 * stored certificate holds only COMMITs that count, as one
                 * this replica builds does (the auditor relies on it). */
                Evote__V1__Envelope *keep[REPLICA_MAX_N];
                Evote__V1__CommitCertificate clean = *c;
                size_t nk = 0;
                for (size_t k = 0; k < rep.n_listed; k++)
                    if (rep.listed[k].status == REPLICA_COMMIT_COUNTED)
                        keep[nk++] = c->commits[k];
                clean.commits = keep;
                clean.n_commits = nk;
                free(cert);
                cert_len = evote__v1__commit_certificate__get_packed_size(&clean);
                cert = malloc(cert_len);
                if (cert == NULL)
                    break;
                evote__v1__commit_certificate__pack(&clean, cert);
            }
        }
        batch = dup_bytes(cb->block->batch.data, cb->block->batch.len);
        if (batch == NULL) {
            free(cert);
            break;
        }
        r->stats.state_transfers++;
        emit_execute(r, c->seq, batch, cb->block->batch.len, cert, cert_len, 1);
        /* The log's entry for it (if any) is done. */
        {
            entry *e = log_entry(r, c->seq, 0);
            if (e != NULL && !e->committed && e->has_pp && memcmp(e->digest, c->digest.data, CRYPTO_HASH_LEN) == 0)
                e->committed = 1;
        }
    }
    if (r->last_executed > before) {
        r->fetch_now = r->cfg.retransmit_ms;
        try_execute(r);
    }
    if (r->last_executed < r->fetch_target || (r->probing && r->last_executed > before)) {
        if (r->last_executed > before) /* that peer has more: ask it again */
            r->fetch_peer = (r->fetch_peer + r->cfg.n - 1) % r->cfg.n;
        send_state_request(r, r->fetch_target > r->last_executed ? r->fetch_target : 0);
        return;
    }
    fetch_done(r);
}

/* ------------------------------------------------------------------ timers
 *
 * THE VIEW TIMER (Castro & Liskov's request timer, TOCS 2002 section 4.4).
 * A replica that waits — requests in its mempool, or a proposal not yet
 * executed — expects the next seq to execute within T; when it does not,
 * it asks for a view change. Taken literally (T fixed, doubled only while
 * view changes fail, back to the base at the first execution), an honest
 * cluster whose blocks take longer than T — a saturated machine checking
 * 850 signatures per proposal, 2 MiB batches, a 2 Mbit/s link — changes
 * view over and over, and a replica whose timer happens to run out first
 * asks alone for a view nobody else wants (PBFT never takes it back to a
 * lower view: it stays out of the quorum until the next real view change).
 * Three rules keep T fitted to the cluster's real pace while a faulty
 * primary is still replaced within a bound:
 *
 * 1. A back-off that decays slowly (backoff, executed_in_time). T doubles
 *    when this replica leaves a view for a higher one, and when a wait
 *    ended by an execution lasted more than T/2 (extended or not): T was
 *    tight for the cluster's pace, and is raised before it fails, not
 *    after. Up to TIMEOUT_MAX times the configured timeout. Progress does
 *    not bring it straight back: T halves, never below the configured
 *    timeout, only after DECAY_RUN executions in a row that each came
 *    within T/4 of the wait's start (the halved T still has twice the
 *    margin those blocks needed); waits between T/4 and T/2 change
 *    nothing. The timer runs in steps (T/4, T/2, T) to tell. Under a load
 *    that makes blocks take 3 s, T climbs to 8 s and stays there.
 *
 * 2. Visible progress extends the wait, boundedly (extend_view_timer).
 *    When T runs out, the replica looks for evidence that the seq it waits
 *    for is moving: the primary's PRE-PREPARE for it is here (even while
 *    its batch is still being checked: the first time), or since the last
 *    look it got new matching PREPAREs or COMMITs for it or committed it
 *    (its batch still to fetch), or f+1 other replicas COMMITted newer
 *    seqs in this view (the cluster goes on and this replica lags behind:
 *    it asks a peer for blocks instead). Then it waits once more as long
 *    as the first wait, at most MAX_EXTENSIONS times for one seq in one
 *    view, each time for something new that only a primary proposing for
 *    real can cause; heartbeats, checkpoints and votes on other seqs are
 *    no progress. A replica that has restarted waits, asking peers for
 *    what it missed, until it has heard from 2f others (a quorum with
 *    itself): until then it cannot tell a silent primary from its own
 *    isolation or lag (these waits are not counted; it still joins a view
 *    change that f+1 others ask for).
 *
 * 3. The wait for a NEW-VIEW (armed once 2f+1 ask for the view) takes two
 *    message delays after the last VIEW-CHANGE the new primary needed: if
 *    that primary asked for the view too, it is alive, and the wait is
 *    extended once. And a replica never gives up a view that f+1 others
 *    already work in (PRE-PREPAREs, PREPAREs, COMMITs of it: one of them
 *    honest, so its NEW-VIEW exists): it asks one of them for it instead.
 *
 * 4. Leaving a view takes f+1 (suspect_primary). When T runs out with no
 *    extension left, the replica broadcasts a SUSPECT for the view, which
 *    binds it to nothing: it goes on voting in the view. It sends its
 *    VIEW-CHANGE only once f+1 replicas, itself included, suspect the view
 *    (or asked for a later one): then at least one other replica saw the
 *    primary fail too. A replica that lags alone, or waits alone for
 *    requests only it holds, stays in the quorum instead of dropping out
 *    by asking alone for a view nobody else wants (which it could never
 *    take back). It suspects again each time T runs out. A faulty primary
 *    makes every honest backup's timer run out: 2f of them suspect, and
 *    the view changes one message delay later than before.
 *
 * So a primary that sends nothing, or proposes nothing while requests
 * wait (whatever else it sends), is left T after a backup starts waiting;
 * one that proposes but lets nothing commit, at most (1 + MAX_EXTENSIONS)
 * T after the last execution; a new primary that never sends its NEW-VIEW,
 * after 2T. T is at most TIMEOUT_MAX times the configured timeout, and
 * comes back towards it by halves as soon as blocks are fast again. The
 * cost: after a slow stretch a faulty primary is detected more slowly (T
 * is larger), which PBFT's liveness argument allows (T grows until it
 * exceeds the real delays; safety never depends on timers). */

#define TIMEOUT_MAX 32   /* T never exceeds 32 times the configured timeout */
#define DECAY_RUN 32     /* timely executions in a row before T halves */
#define MAX_EXTENSIONS 3 /* extensions of the view timer for one seq in one view */
#define IDLE_PROBE 16    /* an idle replica probes a peer every 16 retransmit periods (8 s) */

/* T doubles (rule 1): when this replica leaves a view for a higher one —
 * whether its own timer ran out or it followed f+1 others, so that the
 * replicas' T stay close — and when a wait needed an extension. */
void backoff(replica *r)
{
    uint64_t cap = (uint64_t)r->cfg.view_change_timeout_ms * TIMEOUT_MAX, t = (uint64_t)r->timeout_ms * 2;
    if (cap > UINT32_MAX / 2)
        cap = UINT32_MAX / 2;
    r->timeout_ms = (uint32_t)(t < cap ? t : cap);
    r->timely_run = 0;
}

/* A new view: the view timer's bookkeeping (extensions granted, peers'
 * commits) was about the old one. */
void view_timer_forget(replica *r)
{
    r->vt_seq = 0;
    r->vt_level = 0;
    r->vt_extensions = 0;
    r->vt_live = 0;
    r->view_timer_stage = 0;
    r->vc_extended = 0;
    memset(r->peer_commit, 0, r->cfg.n * sizeof *r->peer_commit);
}

/* Retransmissions and state-transfer retries back off while they do not
 * help, doubling up to T/2, and start again from the setting on progress:
 * on a slow link a block that takes 20 s is not re-sent 40 times, a lost
 * message is still re-sent soon, and twice within any wait. (Not simply
 * T/2: blocks that wait for a retransmission would take longer as T grows,
 * and T would grow with them.) */
static uint32_t slower(const replica *r, uint32_t ms)
{
    uint64_t cap = r->timeout_ms / 2, t = (uint64_t)ms * 2;
    if (cap < r->cfg.retransmit_ms)
        cap = r->cfg.retransmit_ms;
    return (uint32_t)(t < cap ? t : cap);
}

/* How far seq has come in this view, as a count that only grows: the
 * primary's PRE-PREPARE (accepted, or its batch being checked) 1, each
 * matching PREPARE and COMMIT (own included) 1 more, committed (its batch
 * still to fetch) 1 more. 0: nothing from the primary for it. */
static int progress_of(const replica *r, uint64_t seq)
{
    const entry *e;
    int k;
    if (seq <= r->h || seq > r->h + r->cfg.window)
        return 0;
    e = &r->log[seq % r->cfg.window];
    if (e->seq != seq || (!e->has_pp && e->val_env == NULL))
        return 0;
    k = 1 + e->committed;
    if (e->has_pp)
        k += (int)(count_votes(r, e->prepares, e->digest, UINT32_MAX) +
                   count_votes(r, e->commits, e->digest, UINT32_MAX));
    return k;
}

/* The highest seq that f+1 other replicas have COMMITted in this view (at
 * least one of them honest, so the primary does get seqs prepared). */
static uint64_t committing_seq(const replica *r)
{
    uint64_t top[REPLICA_MAX_N];
    uint32_t k = 0;

    for (uint32_t i = 0; i < r->cfg.n; i++) {
        uint64_t v = r->peer_commit[i];
        uint32_t at = k++;
        if (i == r->cfg.id) {
            k--;
            continue;
        }
        while (at > 0 && top[at - 1] < v) { /* keep top[] sorted, highest first */
            top[at] = top[at - 1];
            at--;
        }
        top[at] = v;
    }
    return k > r->f ? top[r->f] : 0;
}

static int waiting(const replica *r)
{
    uint64_t top = r->h + r->cfg.window;
    if (r->pending)
        return 1;
    if (r->top_seq < top)
        top = r->top_seq;
    for (uint64_t s = r->last_executed + 1; s <= top && s > r->h; s++) {
        const entry *e = &r->log[s % r->cfg.window];
        if (e->seq == s && e->has_pp)
            return 1;
    }
    return 0;
}

/* Starts a wait for the next seq: its first quarter, then the rest. The
 * extensions granted so far for that seq in this view still count. */
static void arm_view_timer(replica *r)
{
    uint64_t s = r->last_executed + 1;
    int level = progress_of(r, s);

    if (r->vt_seq != s) {
        r->vt_seq = s;
        r->vt_level = level;
        r->vt_extensions = 0;
        r->vt_period = r->timeout_ms;
    } else if (level > r->vt_level) {
        r->vt_level = level;
    }
    r->vt_live = committing_seq(r);
    r->view_timer_stage = 0;
    set_timer(r, REPLICA_TIMER_VIEW, r->timeout_ms / 4 ? r->timeout_ms / 4 : 1);
    r->view_timer_on = 1;
}

/* An execution ended a wait. Within T/4: timely, and DECAY_RUN timely
 * ones in a row halve T. Past T/2 (extended or not): T was tight for this
 * cluster's pace, the next waits get 2T. In between: neither. */
static void executed_in_time(replica *r)
{
    int stage = r->view_timer_stage;

    r->view_timer_stage = 0;
    if (stage > 0) {
        r->timely_run = 0;
        if (stage > 1)
            backoff(r);
        return;
    }
    if (++r->timely_run < DECAY_RUN)
        return;
    r->timely_run = 0;
    r->timeout_ms /= 2;
    if (r->timeout_ms < r->cfg.view_change_timeout_ms)
        r->timeout_ms = r->cfg.view_change_timeout_ms;
}

/* T ran out: wait again if there is new evidence of progress (rule 2
 * above). Returns: 1 extended, 0 not (leave the view). */
static int extend_view_timer(replica *r)
{
    uint64_t s = r->last_executed + 1, live = committing_seq(r);
    int level = progress_of(r, s);
    /* The first time, a PRE-PREPARE already there is enough (with several
     * seqs in flight it often came before the previous seq executed, and
     * only the commit round is left); after that, only new progress. */
    int moved = level > r->vt_level || (r->vt_extensions == 0 && level > 0);
    int ahead = live > r->vt_live && live > r->last_executed;

    if (r->recovering) { /* not counted: it has not yet heard from a quorum */
        if (!r->fetching) {
            r->probing = 1;
            send_state_request(r, 0);
        }
        set_timer(r, REPLICA_TIMER_VIEW, r->vt_period);
        r->view_timer_on = 1;
        return 1;
    }
    if (r->vt_seq != s || r->vt_extensions >= MAX_EXTENSIONS || (!moved && !ahead))
        return 0;
    if (level > r->vt_level)
        r->vt_level = level;
    r->vt_extensions++;
    r->vt_live = live;
    if (ahead && !r->fetching) { /* we lag: ask a peer for what it has (certificates: nothing trusted) */
        r->probing = 1;
        send_state_request(r, 0);
    }
    set_timer(r, REPLICA_TIMER_VIEW, r->vt_period);
    r->view_timer_on = 1;
    return 1;
}

void update_timers(replica *r)
{
    int w = waiting(r);

    if (r->status == STATUS_NORMAL) {
        if (w && !r->view_timer_on) {
            arm_view_timer(r);
        } else if (!w && r->view_timer_on) {
            cancel_timer(r, REPLICA_TIMER_VIEW);
            r->view_timer_on = 0;
            r->view_timer_stage = 0;
        }
    }
    if ((w || r->status == STATUS_VIEW_CHANGE) && (!r->retransmit_on || r->retransmit_idle)) {
        set_timer(r, REPLICA_TIMER_RETRANSMIT, r->retransmit_now);
        r->retransmit_on = 1;
        r->retransmit_idle = 0;
    } else if (!r->retransmit_on) {
        /* Idle: nothing waits here, so nothing would tell this replica
         * that the others went on without it (its link was cut while they
         * committed, and they are idle now). Now and then it asks a peer
         * for anything newer: one small message; the peer answers only if
         * it has more (blocks with certificates, or the NEW-VIEW of a view
         * this replica never worked in). */
        uint64_t p = (uint64_t)r->cfg.retransmit_ms * IDLE_PROBE;
        set_timer(r, REPLICA_TIMER_RETRANSMIT, p > UINT32_MAX ? UINT32_MAX : (uint32_t)p);
        r->retransmit_on = 1;
        r->retransmit_idle = 1;
    }
}

static void retransmit(replica *r)
{
    if (r->retransmit_idle) { /* the idle period ran out (update_timers) */
        r->retransmit_idle = 0;
        if (!r->fetching && r->status == STATUS_NORMAL && !waiting(r)) {
            r->probing = 1;
            send_state_request(r, 0);
            return;
        }
    }
    /* Only when stuck: if anything executed since the last tick, the
     * protocol is moving and resending (PRE-PREPAREs carry whole batches)
     * would only add load. */
    if (r->status == STATUS_NORMAL && r->last_executed != r->retransmit_mark) {
        r->retransmit_mark = r->last_executed;
        r->retransmit_now = r->cfg.retransmit_ms;
        return;
    }
    r->retransmit_now = slower(r, r->retransmit_now);
    /* Stuck: maybe because the others went on without us. Ask one peer (a
     * different one each time) for anything newer; its answer carries
     * certificates, so nothing needs trusting. */
    if (!r->fetching) {
        r->probing = 1;
        send_state_request(r, 0);
    }
    if (r->status == STATUS_VIEW_CHANGE) {
        if (r->my_vc != NULL) {
            uint8_t *copy = dup_bytes(r->my_vc, r->my_vc_len);
            if (copy != NULL)
                broadcast(r, EVOTE__V1__KIND__KIND_VIEW_CHANGE, copy, r->my_vc_len);
        }
        return;
    }
    for (uint64_t s = r->last_executed + 1; s <= r->h + r->cfg.window && s > r->h; s++) {
        entry *e = log_entry(r, s, 0);
        if (e == NULL || !e->has_pp || e->committed)
            continue;
        if (primary_of(r, r->view) == r->cfg.id)
            broadcast_env(r, EVOTE__V1__KIND__KIND_PRE_PREPARE, e->pp_env, e->pp_len, e->batch, e->batch_len);
        if (e->my_prepare != NULL)
            broadcast_env(r, EVOTE__V1__KIND__KIND_PREPARE, e->my_prepare, e->my_prepare_len, NULL, 0);
        if (e->my_commit != NULL)
            broadcast_env(r, EVOTE__V1__KIND__KIND_COMMIT, e->my_commit, e->my_commit_len, NULL, 0);
    }
    if (r->own_ckpt_env != NULL && r->own_ckpt_seq > r->h)
        broadcast_env(r, EVOTE__V1__KIND__KIND_CHECKPOINT, r->own_ckpt_env, r->own_ckpt_len, NULL, 0);
}

/* Replicas other than this one that work (normal case) in view v or later. */
/* Whether replica i works in view v: it voted in v (or later) and has not
 * asked for a later view since. One that voted in v once and then asked
 * for v+1 has left v: counting it would let f faulty replicas plus that one
 * keep the others waiting for a NEW-VIEW of v that nobody sends. */
static int works_in(const replica *r, uint32_t i, uint64_t v)
{
    return i != r->cfg.id && r->peer_active[i] >= v && r->vcs[i].view <= r->peer_active[i];
}

static uint32_t active_in(const replica *r, uint64_t v)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->cfg.n; i++)
        k += works_in(r, i, v);
    return k;
}

/* Replicas, this one included, that said their view timer ran out in our
 * view (SUSPECT) or asked for a later view (VIEW-CHANGE). */
static uint32_t suspects(const replica *r)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->cfg.n; i++)
        k += r->peer_suspect[i] == r->view + 1 || r->vcs[i].view > r->view;
    return k;
}

/* Rule 4: once this replica suspects its view and f+1 agree, leave it. */
static void maybe_leave_view(replica *r)
{
    if (r->status == STATUS_NORMAL && r->peer_suspect[r->cfg.id] == r->view + 1 && suspects(r) >= r->f + 1)
        start_view_change(r, r->view + 1, 0);
}

/* The view timer ran out for good (rule 4): say so, and leave the view if
 * f+1 replicas now suspect it; otherwise wait again in it. */
static void suspect_primary(replica *r)
{
    Evote__V1__Suspect s = EVOTE__V1__SUSPECT__INIT;
    replica_action a = {0};
    uint8_t *env;
    size_t len;

    r->peer_suspect[r->cfg.id] = r->view + 1;
    s.chain_id.data = r->cfg.chain_id;
    s.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    s.view = r->view;
    s.replica = r->cfg.id;
    if (msg_seal(r, EVOTE__V1__KIND__KIND_SUSPECT, &s.base, &env, &len)) {
        broadcast_env(r, EVOTE__V1__KIND__KIND_SUSPECT, env, len, NULL, 0);
        free(env);
    }
    r->stats.suspects_sent++;
    a.type = REPLICA_ACT_SUSPECTED;
    a.view = r->view;
    push_action(r, &a);
    maybe_leave_view(r);
    if (r->status == STATUS_NORMAL) {
        set_timer(r, REPLICA_TIMER_VIEW, r->vt_period ? r->vt_period : r->timeout_ms);
        r->view_timer_on = 1;
    }
}

static void on_suspect(replica *r, const msg *m)
{
    const Evote__V1__Suspect *b = m->body;
    if (b->view + 1 > r->peer_suspect[m->signer])
        r->peer_suspect[m->signer] = b->view + 1;
    if (b->view > r->peer_view[m->signer])
        r->peer_view[m->signer] = b->view;
    maybe_leave_view(r);
}

void replica_on_timer(replica *r, replica_timer t)
{
    begin_event(r);
    switch (t) {
    case REPLICA_TIMER_VIEW:
        if (!r->view_timer_on)
            break;
        r->view_timer_on = 0;
        if (r->status == STATUS_NORMAL) {
            if (r->view_timer_stage < 2) { /* T/4, then T/2 passed: on to T/2, then T */
                uint32_t T = r->timeout_ms;
                set_timer(r, REPLICA_TIMER_VIEW, r->view_timer_stage == 0 ? T / 2 - T / 4 : T - T / 2);
                r->view_timer_stage++;
                r->view_timer_on = 1;
                break;
            }
            if (!waiting(r) || extend_view_timer(r))
                break; /* update_timers re-arms the timer if needed */
            suspect_primary(r);
            break;
        }
        if (r->status == STATUS_VIEW_CHANGE && active_in(r, r->view) >= r->f + 1) {
            /* No NEW-VIEW yet, but f+1 others already work in the view we
             * ask for (one of them honest): it started without us. Asking
             * for the next one alone would leave us out; ask for its NEW-VIEW
             * again and wait. */
            if (!r->fetching) {
                uint32_t k = r->fetch_peer;
                do /* one of them, the next after the last asked */
                    k = (k + 1) % r->cfg.n;
                while (!works_in(r, k, r->view));
                r->fetch_peer = (k + r->cfg.n - 1) % r->cfg.n; /* send_state_request moves on to k */
                r->probing = 1;
                send_state_request(r, 0);
            }
            set_timer(r, REPLICA_TIMER_VIEW, r->timeout_ms);
            r->view_timer_on = 1;
            break;
        }
        if (r->status == STATUS_VIEW_CHANGE && r->rotation_probe) {
            uint32_t p = primary_of(r, r->view), asking = 0;
            r->rotation_probe = 0;
            for (uint32_t i = 0; i < r->cfg.n; i++)
                asking += r->vcs[i].view >= r->view;
            if (r->vcs[p].view < r->view && r->peer_active[p] < r->view && asking >= 2 * r->f + 1) {
                /* 2f+1 (us too) left the term behind, and the next primary
                 * has not even asked for its own view: it is down. Only a
                 * quorum can skip (a replica cut off from the others never
                 * sees 2f+1 and waits as usual), so they all skip alike. */
                r->stats.rotations++;
                r->stats.turns_skipped++;
                start_view_change(r, r->view + 1, 1);
                break;
            }
            /* Alive: the rest of the usual wait. Too few others yet: the
             * usual wait starts once 2f+1 ask (never alone, 4.5.2). */
            if (asking >= 2 * r->f + 1) {
                set_timer(r, REPLICA_TIMER_VIEW, r->timeout_ms - r->timeout_ms / 4);
                r->view_timer_on = 1;
            }
            break;
        }
        if (r->status == STATUS_VIEW_CHANGE && !r->vc_extended &&
            (r->vcs[primary_of(r, r->view)].view >= r->view || r->peer_active[primary_of(r, r->view)] >= r->view)) {
            /* Its primary asked for this view too (or works in it): it is
             * alive, and its NEW-VIEW takes two message delays after the
             * last VIEW-CHANGE it needed. Once, T more. */
            r->vc_extended = 1;
            set_timer(r, REPLICA_TIMER_VIEW, r->timeout_ms);
            r->view_timer_on = 1;
            break;
        }
        /* No progress in this view (or no NEW-VIEW for the one asked for). */
        start_view_change(r, r->view + 1, 0);
        break;
    case REPLICA_TIMER_RETRANSMIT:
        r->retransmit_on = 0;
        retransmit(r);
        break;
    case REPLICA_TIMER_FETCH:
        /* No (useful) answer in time: ask the next peer, waiting longer. */
        r->fetch_on = 0;
        if (r->last_executed < r->fetch_target) {
            r->fetch_now = slower(r, r->fetch_now);
            send_state_request(r, r->fetch_target);
        } else {
            fetch_done(r);
        }
        break;
    }
    end_event(r);
}

void replica_on_pending(replica *r, int pending)
{
    begin_event(r);
    r->pending = pending != 0;
    /* Nothing waits any more: what made this replica suspect the primary
     * went through after all. A suspicion kept would let f faulty replicas
     * pull it out of a healthy view at any later time. */
    if (r->status == STATUS_NORMAL && r->peer_suspect[r->cfg.id] == r->view + 1 && !waiting(r))
        r->peer_suspect[r->cfg.id] = 0;
    end_event(r);
}

/* f+1 replicas speak in views above ours: at least one honest replica is
 * there, so our view is over and we missed its NEW-VIEW (a partition, a
 * restart). Ask one of them: a replica answers a STATE_REQUEST with the
 * NEW-VIEW of its view, and we check it like any other. */
static void maybe_learn_view(replica *r, uint32_t from)
{
    uint32_t above = 0;
    for (uint32_t i = 0; i < r->cfg.n; i++)
        above += i != r->cfg.id && r->peer_view[i] > r->view;
    if (r->fetching)
        return;
    /* Or: we ask for view v, and `from` already works in it — its NEW-VIEW
     * is on the way or was lost; asking costs one message, and what comes
     * back is checked like any NEW-VIEW. */
    if ((above < r->f + 1 || r->peer_view[from] <= r->view) &&
        (r->status != STATUS_VIEW_CHANGE || r->peer_active[from] < r->view))
        return;
    r->fetch_peer = (from + r->cfg.n - 1) % r->cfg.n; /* send_state_request moves on to `from` */
    r->probing = 1;
    send_state_request(r, 0);
}


/* ------------------------------------------------------------- dispatcher */

void replica_on_message(replica *r, uint32_t from, const uint8_t *bytes, size_t len)
{
    Evote__V1__PeerMessage *pm;
    msg m;

    begin_event(r);
    r->stats.received++;
    if (from >= r->cfg.n || from == r->cfg.id) {
        r->stats.dropped_wrong_sender++;
        goto out;
    }
    pm = evote__v1__peer_message__unpack(NULL, len, bytes);
    if (pm == NULL || pm->base.n_unknown_fields != 0) {
        r->stats.dropped_malformed++;
        if (pm != NULL)
            evote__v1__peer_message__free_unpacked(pm, NULL);
        goto out;
    }
    if (!msg_open(r, pm->envelope.data, pm->envelope.len, EVOTE__V1__KIND__KIND_UNSPECIFIED, &m)) {
        evote__v1__peer_message__free_unpacked(pm, NULL);
        goto out;
    }
    r->stats.by_kind_received[m.kind]++;
    if (r->recovering && m.signer != r->cfg.id && !r->heard[m.signer]) {
        /* Restarted: until 2f others (a quorum with us) have shown they
         * are there and what they do, a silent primary and our own
         * isolation or lag look the same; we do not ask alone for a view. */
        uint32_t k = 0;
        r->heard[m.signer] = 1;
        for (uint32_t i = 0; i < r->cfg.n; i++)
            k += r->heard[i];
        if (k >= 2 * r->f)
            r->recovering = 0;
    }
    switch (m.kind) {
    case EVOTE__V1__KIND__KIND_PRE_PREPARE: {
        const Evote__V1__PrePrepare *b = m.body;
        if (b->view > r->peer_view[m.signer])
            r->peer_view[m.signer] = b->view;
        if (b->view > r->peer_active[m.signer])
            r->peer_active[m.signer] = b->view;
        on_pre_prepare(r, from, &m, pm);
        maybe_learn_view(r, m.signer);
        break;
    }
    case EVOTE__V1__KIND__KIND_PREPARE:
    case EVOTE__V1__KIND__KIND_COMMIT: {
        uint64_t v = m.kind == EVOTE__V1__KIND__KIND_PREPARE ? ((Evote__V1__Prepare *)m.body)->view
                                                             : ((Evote__V1__Commit *)m.body)->view;
        if (v > r->peer_view[m.signer])
            r->peer_view[m.signer] = v;
        if (v > r->peer_active[m.signer])
            r->peer_active[m.signer] = v;
        on_vote(r, from, &m);
        maybe_learn_view(r, m.signer);
        break;
    }
    case EVOTE__V1__KIND__KIND_CHECKPOINT:
        on_checkpoint(r, &m);
        break;
    case EVOTE__V1__KIND__KIND_VIEW_CHANGE:
        on_view_change(r, &m, pm);
        maybe_leave_view(r); /* a VIEW-CHANGE counts as a suspicion of the views below it */
        break;
    case EVOTE__V1__KIND__KIND_SUSPECT:
        on_suspect(r, &m);
        maybe_learn_view(r, m.signer);
        break;
    case EVOTE__V1__KIND__KIND_NEW_VIEW:
        on_new_view(r, &m, pm, bytes, len);
        break;
    case EVOTE__V1__KIND__KIND_STATE_REQUEST:
        on_state_request(r, from, &m);
        break;
    case EVOTE__V1__KIND__KIND_STATE_RESPONSE:
        if (m.signer != from)
            r->stats.dropped_wrong_sender++;
        else
            on_state_response(r, &m);
        break;
    default:
        r->stats.dropped_malformed++;
        break;
    }
    msg_free(&m);
    evote__v1__peer_message__free_unpacked(pm, NULL);
out:
    end_event(r);
}

int replica_serve(replica *r, uint32_t to, const uint8_t *const *blocks, const size_t *block_lens,
                  const uint8_t *const *certs, const size_t *cert_lens, size_t count)
{
    Evote__V1__StateResponse s = EVOTE__V1__STATE_RESPONSE__INIT;
    Evote__V1__CertifiedBlock **cbs = calloc(count ? count : 1, sizeof *cbs);
    uint8_t *env = NULL;
    size_t len, made = 0;
    int ok = 0;

    begin_event(r);
    if (cbs == NULL)
        goto out;
    for (; made < count; made++) {
        cbs[made] = calloc(1, sizeof **cbs);
        if (cbs[made] == NULL)
            goto out;
        evote__v1__certified_block__init(cbs[made]);
        cbs[made]->block = evote__v1__block__unpack(NULL, block_lens[made], blocks[made]);
        cbs[made]->certificate = evote__v1__commit_certificate__unpack(NULL, cert_lens[made], certs[made]);
        if (cbs[made]->block == NULL || cbs[made]->certificate == NULL) {
            made++;
            goto out;
        }
    }
    s.chain_id.data = r->cfg.chain_id;
    s.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    s.n_blocks = count;
    s.blocks = cbs;
    s.replica = r->cfg.id;
    if (msg_seal(r, EVOTE__V1__KIND__KIND_STATE_RESPONSE, &s.base, &env, &len)) {
        send_env(r, to, EVOTE__V1__KIND__KIND_STATE_RESPONSE, env, len, NULL, 0);
        free(env);
        ok = 1;
    }
out:
    for (size_t i = 0; i < made; i++) {
        if (cbs[i]->block)
            evote__v1__block__free_unpacked(cbs[i]->block, NULL);
        if (cbs[i]->certificate)
            evote__v1__commit_certificate__free_unpacked(cbs[i]->certificate, NULL);
        free(cbs[i]);
    }
    free(cbs);
    end_event(r);
    return ok;
}
