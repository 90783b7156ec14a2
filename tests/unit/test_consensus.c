/* Unit tests of consensus/: one PBFT replica (id 1 of n = 4, f = 1) driven by
 * hand-made messages. The test holds all four validators' (fake) keys, so it
 * plays the other three replicas — honest or not — and checks the replica's
 * actions and its replica_stats counters after each message.
 *
 * Fake signatures: sig = H("test/sig", secret_i || H(tag, body)) || H(tag, body),
 * checked by recomputing it for the key's owner (unknown keys never verify).
 *
 * A test that calls skip() states the expected behaviour of something
 * consensus/ gets wrong today; the comment above its skip() says what. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus.pb-c.h"
#include "crypto.h"
#include "evote.pb-c.h"
#include "replica.h"

#define N 4
#define ME 1            /* the replica under test */
#define OUTSIDER N      /* a key outside the validator set */
#define WINDOW 128      /* the default window (2K, K = 64) */
#define BAD_SIG 1       /* seal() flag: corrupt the signature */

static uint8_t pubkeys[N + 1][CRYPTO_PUBKEY_LEN];
static uint8_t secrets[N + 1][32];
static uint8_t chain_id[CRYPTO_CHAIN_ID_LEN];
static uint8_t other_chain[CRYPTO_CHAIN_ID_LEN];
static int validate_answer = 1;

/* ------------------------------------------------------------ fake crypto */

static void fake_sig(uint32_t who, const char *tag, const uint8_t *msg, size_t len, uint8_t sig[CRYPTO_SIG_LEN])
{
    uint8_t h[32], buf[64];
    crypto_tagged_hash(tag, msg, len, h);
    memcpy(buf, secrets[who], 32);
    memcpy(buf + 32, h, 32);
    crypto_tagged_hash("test/sig", buf, sizeof buf, sig);
    memcpy(sig + 32, h, 32);
}

/* ctx: the signing replica's id (a uint32_t). */
static int cb_sign(void *ctx, const char *tag, const uint8_t *msg, size_t len, uint8_t sig[CRYPTO_SIG_LEN])
{
    fake_sig(*(const uint32_t *)ctx, tag, msg, len, sig);
    return 1;
}

static unsigned long verify_calls; /* signature checks the replicas asked for */

static int cb_verify(void *ctx, const uint8_t pub[CRYPTO_PUBKEY_LEN], const char *tag, const uint8_t *msg, size_t len,
                     const uint8_t sig[CRYPTO_SIG_LEN])
{
    uint8_t want[CRYPTO_SIG_LEN];
    (void)ctx;
    verify_calls++;
    for (uint32_t i = 0; i < N; i++) {
        if (memcmp(pubkeys[i], pub, CRYPTO_PUBKEY_LEN) == 0) {
            fake_sig(i, tag, msg, len, want);
            return memcmp(want, sig, CRYPTO_SIG_LEN) == 0;
        }
    }
    return 0;
}

static int cb_validate(void *ctx, uint64_t seq, const uint8_t *batch, size_t len)
{
    (void)ctx;
    (void)seq;
    (void)batch;
    (void)len;
    return validate_answer;
}

static uint32_t my_id = ME;
static const replica_callbacks callbacks = {.sign = cb_sign, .verify = cb_verify, .validate_batch = cb_validate, .ctx = &my_id};

/* --------------------------------------------------------------- messages */

/* A Batch for seq; `variant` makes different batches for the same seq.
 * Out: malloc'ed. */
static uint8_t *make_batch(uint64_t seq, int variant, size_t *len)
{
    Evote__V1__Batch b = EVOTE__V1__BATCH__INIT;
    uint8_t tx[16];
    ProtobufCBinaryData txs[1];
    uint8_t *out;

    memset(tx, 't', sizeof tx);
    tx[0] = (uint8_t)variant;
    txs[0].data = tx;
    txs[0].len = sizeof tx;
    b.chain_id.data = chain_id;
    b.chain_id.len = sizeof chain_id;
    b.seq = seq;
    b.timestamp_ms = 1000 + (uint64_t)variant;
    b.n_txs = 1;
    b.txs = txs;
    *len = evote__v1__batch__get_packed_size(&b);
    out = malloc(*len);
    assert_non_null(out);
    evote__v1__batch__pack(&b, out);
    return out;
}

static void digest_of(const uint8_t *batch, size_t len, uint8_t out[CRYPTO_HASH_LEN])
{
    crypto_tagged_hash(CRYPTO_TAG_BATCH, batch, len, out);
}

/* Packs body, signs it as `signer` and wraps it into an Envelope.
 * Out: malloc'ed Envelope bytes. */
static uint8_t *seal(Evote__V1__Kind kind, const ProtobufCMessage *body, uint32_t signer, int flags, size_t *len)
{
    Evote__V1__Envelope e = EVOTE__V1__ENVELOPE__INIT;
    uint8_t sig[CRYPTO_SIG_LEN];
    size_t blen = protobuf_c_message_get_packed_size(body);
    uint8_t *b = malloc(blen ? blen : 1), *out;

    assert_non_null(b);
    protobuf_c_message_pack(body, b);
    fake_sig(signer, crypto_kind_tag(kind), b, blen, sig);
    if (flags & BAD_SIG)
        sig[5] ^= 0x40;
    e.kind = kind;
    e.body.data = b;
    e.body.len = blen;
    e.signer.data = pubkeys[signer];
    e.signer.len = CRYPTO_PUBKEY_LEN;
    e.signature.data = sig;
    e.signature.len = CRYPTO_SIG_LEN;
    *len = evote__v1__envelope__get_packed_size(&e);
    out = malloc(*len);
    assert_non_null(out);
    evote__v1__envelope__pack(&e, out);
    free(b);
    return out;
}

/* PeerMessage{envelope, batches (0 or 1)}. Out: malloc'ed. */
static uint8_t *wrap(const uint8_t *env, size_t env_len, const uint8_t *batch, size_t batch_len, size_t *len)
{
    Evote__V1__PeerMessage pm = EVOTE__V1__PEER_MESSAGE__INIT;
    ProtobufCBinaryData b;
    uint8_t *out;

    pm.envelope.data = (uint8_t *)env;
    pm.envelope.len = env_len;
    if (batch != NULL) {
        b.data = (uint8_t *)batch;
        b.len = batch_len;
        pm.n_batches = 1;
        pm.batches = &b;
    }
    *len = evote__v1__peer_message__get_packed_size(&pm);
    out = malloc(*len ? *len : 1);
    assert_non_null(out);
    evote__v1__peer_message__pack(&pm, out);
    return out;
}

/* Seals body as signer and wraps it with an optional batch. */
static uint8_t *peer_msg(Evote__V1__Kind kind, const ProtobufCMessage *body, uint32_t signer, int flags,
                         const uint8_t *batch, size_t batch_len, size_t *len)
{
    size_t env_len;
    uint8_t *env = seal(kind, body, signer, flags, &env_len);
    uint8_t *pm = wrap(env, env_len, batch, batch_len, len);
    free(env);
    return pm;
}

/* A PRE-PREPARE, PREPARE or COMMIT signed by `signer`, whose body names
 * `claimed` as its sender, for `chain`. */
static uint8_t *agreement_msg(Evote__V1__Kind kind, uint32_t signer, uint32_t claimed, const uint8_t *chain,
                              uint64_t view, uint64_t seq, const uint8_t digest[CRYPTO_HASH_LEN], int flags,
                              const uint8_t *batch, size_t batch_len, size_t *len)
{
    Evote__V1__PrePrepare pp = EVOTE__V1__PRE_PREPARE__INIT;
    Evote__V1__Prepare p = EVOTE__V1__PREPARE__INIT;
    Evote__V1__Commit c = EVOTE__V1__COMMIT__INIT;
    ProtobufCBinaryData ch = {CRYPTO_CHAIN_ID_LEN, (uint8_t *)chain};
    ProtobufCBinaryData dg = {CRYPTO_HASH_LEN, (uint8_t *)digest};
    const ProtobufCMessage *body;

    switch (kind) {
    case EVOTE__V1__KIND__KIND_PRE_PREPARE:
        pp.chain_id = ch;
        pp.view = view;
        pp.seq = seq;
        pp.digest = dg;
        pp.replica = claimed;
        body = &pp.base;
        break;
    case EVOTE__V1__KIND__KIND_PREPARE:
        p.chain_id = ch;
        p.view = view;
        p.seq = seq;
        p.digest = dg;
        p.replica = claimed;
        body = &p.base;
        break;
    default:
        c.chain_id = ch;
        c.view = view;
        c.seq = seq;
        c.digest = dg;
        c.replica = claimed;
        body = &c.base;
        break;
    }
    return peer_msg(kind, body, signer, flags, batch, batch_len, len);
}

static uint8_t *pre_prepare(uint32_t signer, uint64_t view, uint64_t seq, const uint8_t digest[CRYPTO_HASH_LEN],
                            const uint8_t *batch, size_t batch_len, size_t *len)
{
    return agreement_msg(EVOTE__V1__KIND__KIND_PRE_PREPARE, signer, signer, chain_id, view, seq, digest, 0, batch,
                         batch_len, len);
}

static uint8_t *vote_msg(Evote__V1__Kind kind, uint32_t signer, uint64_t view, uint64_t seq,
                         const uint8_t digest[CRYPTO_HASH_LEN], size_t *len)
{
    return agreement_msg(kind, signer, signer, chain_id, view, seq, digest, 0, NULL, 0, len);
}

/* A bare COMMIT envelope (for certificates). Out: malloc'ed Envelope. */
static Evote__V1__Envelope *commit_envelope(uint32_t signer, uint64_t view, uint64_t seq,
                                            const uint8_t digest[CRYPTO_HASH_LEN])
{
    Evote__V1__Commit c = EVOTE__V1__COMMIT__INIT;
    Evote__V1__Envelope *e;
    uint8_t *bytes;
    size_t len;

    c.chain_id.data = chain_id;
    c.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    c.view = view;
    c.seq = seq;
    c.digest.data = (uint8_t *)digest;
    c.digest.len = CRYPTO_HASH_LEN;
    c.replica = signer;
    bytes = seal(EVOTE__V1__KIND__KIND_COMMIT, &c.base, signer, 0, &len);
    e = evote__v1__envelope__unpack(NULL, len, bytes);
    free(bytes);
    assert_non_null(e);
    return e;
}

/* A serialized CommitCertificate for (view, seq, digest) made of the given
 * envelopes. Out: malloc'ed. */
static uint8_t *certificate(uint64_t view, uint64_t seq, const uint8_t digest[CRYPTO_HASH_LEN],
                            Evote__V1__Envelope **commits, size_t n, size_t *len)
{
    Evote__V1__CommitCertificate c = EVOTE__V1__COMMIT_CERTIFICATE__INIT;
    uint8_t *out;

    c.view = view;
    c.seq = seq;
    c.digest.data = (uint8_t *)digest;
    c.digest.len = CRYPTO_HASH_LEN;
    c.n_commits = n;
    c.commits = commits;
    *len = evote__v1__commit_certificate__get_packed_size(&c);
    out = malloc(*len);
    assert_non_null(out);
    evote__v1__commit_certificate__pack(&c, out);
    return out;
}

/* A VIEW-CHANGE for new_view from `signer`, with no stable checkpoint and no
 * prepared certificates. Out: malloc'ed Envelope. */
static Evote__V1__Envelope *empty_view_change(uint32_t signer, uint64_t new_view)
{
    Evote__V1__ViewChange vc = EVOTE__V1__VIEW_CHANGE__INIT;
    Evote__V1__Envelope *e;
    uint8_t *bytes;
    size_t len;

    vc.chain_id.data = chain_id;
    vc.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    vc.new_view = new_view;
    vc.replica = signer;
    bytes = seal(EVOTE__V1__KIND__KIND_VIEW_CHANGE, &vc.base, signer, 0, &len);
    e = evote__v1__envelope__unpack(NULL, len, bytes);
    free(bytes);
    assert_non_null(e);
    return e;
}

/* A NEW-VIEW for view signed by `signer` carrying the VIEW-CHANGEs of
 * vc_signers (an empty O-set). Out: malloc'ed PeerMessage. */
static uint8_t *new_view_msg(uint32_t signer, uint64_t view, const uint32_t *vc_signers, size_t n_vc, size_t *len)
{
    Evote__V1__NewView nv = EVOTE__V1__NEW_VIEW__INIT;
    Evote__V1__Envelope *vcs[N];
    uint8_t *out;

    for (size_t i = 0; i < n_vc; i++)
        vcs[i] = empty_view_change(vc_signers[i], view);
    nv.chain_id.data = chain_id;
    nv.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    nv.view = view;
    nv.n_view_changes = n_vc;
    nv.view_changes = vcs;
    nv.replica = signer;
    out = peer_msg(EVOTE__V1__KIND__KIND_NEW_VIEW, &nv.base, signer, 0, NULL, 0, len);
    for (size_t i = 0; i < n_vc; i++)
        evote__v1__envelope__free_unpacked(vcs[i], NULL);
    return out;
}

/* ---------------------------------------------------------------- actions */

#define MAX_ACTS 128

typedef struct {
    replica_action a[MAX_ACTS];
    size_t n;
} actions;

static void actions_clear(actions *x)
{
    for (size_t i = 0; i < x->n; i++)
        replica_action_clear(&x->a[i]);
    x->n = 0;
}

/* Pops every action the replica has queued (after clearing x). */
static void take(replica *r, actions *x)
{
    replica_action a;
    actions_clear(x);
    while (replica_pop_action(r, &a)) {
        if (x->n < MAX_ACTS)
            x->a[x->n++] = a;
        else
            replica_action_clear(&a);
    }
}

/* The kind of a SEND/BROADCAST's message, or KIND_UNSPECIFIED. */
static Evote__V1__Kind sent_kind(const replica_action *a)
{
    Evote__V1__PeerMessage *pm;
    Evote__V1__Envelope *e;
    Evote__V1__Kind k = EVOTE__V1__KIND__KIND_UNSPECIFIED;

    if (a->type != REPLICA_ACT_SEND && a->type != REPLICA_ACT_BROADCAST)
        return k;
    pm = evote__v1__peer_message__unpack(NULL, a->len, a->bytes);
    if (pm == NULL)
        return k;
    e = evote__v1__envelope__unpack(NULL, pm->envelope.len, pm->envelope.data);
    if (e != NULL) {
        k = e->kind;
        evote__v1__envelope__free_unpacked(e, NULL);
    }
    evote__v1__peer_message__free_unpacked(pm, NULL);
    return k;
}

/* Index of the first BROADCAST (or SEND, when type says so) of kind, or -1. */
static int find_msg(const actions *x, replica_action_type type, Evote__V1__Kind kind)
{
    for (size_t i = 0; i < x->n; i++)
        if (x->a[i].type == type && sent_kind(&x->a[i]) == kind)
            return (int)i;
    return -1;
}

static int find_broadcast(const actions *x, Evote__V1__Kind kind)
{
    return find_msg(x, REPLICA_ACT_BROADCAST, kind);
}

static int find_type(const actions *x, replica_action_type type)
{
    for (size_t i = 0; i < x->n; i++)
        if (x->a[i].type == type)
            return (int)i;
    return -1;
}

/* The body of a broadcast message of that kind (free with
 * protobuf_c_message_free_unpacked), or NULL. */
static void *sent_body(const replica_action *a, const ProtobufCMessageDescriptor *desc)
{
    Evote__V1__PeerMessage *pm = evote__v1__peer_message__unpack(NULL, a->len, a->bytes);
    Evote__V1__Envelope *e;
    void *body = NULL;

    assert_non_null(pm);
    e = evote__v1__envelope__unpack(NULL, pm->envelope.len, pm->envelope.data);
    assert_non_null(e);
    body = protobuf_c_message_unpack(desc, NULL, e->body.len, e->body.data);
    evote__v1__envelope__free_unpacked(e, NULL);
    evote__v1__peer_message__free_unpacked(pm, NULL);
    return body;
}

/* ---------------------------------------------------------------- fixture */

typedef struct {
    replica *r;
    actions acts;
    uint8_t *batch; /* seq 1, variant 0 */
    size_t batch_len;
    uint8_t digest[CRYPTO_HASH_LEN];
    uint8_t *batch2; /* seq 1, variant 1: a different batch for the same seq */
    size_t batch2_len;
    uint8_t digest2[CRYPTO_HASH_LEN];
} fixture;

static replica *new_replica_kt(const replica_restore *restore, uint32_t checkpoint_interval, uint32_t term)
{
    replica_config cfg = {0};
    replica *r = NULL;

    cfg.checkpoint_interval = checkpoint_interval;
    cfg.term_checkpoints = term;
    cfg.n = N;
    cfg.id = ME;
    cfg.pubkeys = (const uint8_t(*)[CRYPTO_PUBKEY_LEN])pubkeys;
    memcpy(cfg.chain_id, chain_id, CRYPTO_CHAIN_ID_LEN);
    assert_int_equal(replica_new(&cfg, &callbacks, restore, &r), REPLICA_OK);
    assert_non_null(r);
    return r;
}

static replica *new_replica_k(const replica_restore *restore, uint32_t checkpoint_interval)
{
    return new_replica_kt(restore, checkpoint_interval, 0);
}

static replica *new_replica(const replica_restore *restore)
{
    return new_replica_k(restore, 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    for (uint32_t i = 0; i <= N; i++) {
        crypto_tagged_hash("test/pub", (const uint8_t *)&i, sizeof i, pubkeys[i]);
        crypto_tagged_hash("test/secret", (const uint8_t *)&i, sizeof i, secrets[i]);
    }
    crypto_tagged_hash("test/chain", (const uint8_t *)"a", 1, chain_id);
    crypto_tagged_hash("test/chain", (const uint8_t *)"b", 1, other_chain);
    validate_answer = 1;
    f->r = new_replica(NULL);
    replica_start(f->r);
    take(f->r, &f->acts);
    actions_clear(&f->acts);
    f->batch = make_batch(1, 0, &f->batch_len);
    digest_of(f->batch, f->batch_len, f->digest);
    f->batch2 = make_batch(1, 1, &f->batch2_len);
    digest_of(f->batch2, f->batch2_len, f->digest2);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    actions_clear(&f->acts);
    replica_destroy(&f->r);
    free(f->batch);
    free(f->batch2);
    free(f);
    return 0;
}

/* Delivers a message (and frees it), then pops the replica's actions. */
static void deliver(fixture *f, replica *r, uint32_t from, uint8_t *bytes, size_t len)
{
    replica_on_message(r, from, bytes, len);
    free(bytes);
    take(r, &f->acts);
}

static replica_stats stats_of(const replica *r)
{
    replica_stats s;
    replica_get_stats(r, &s);
    return s;
}

static uint64_t all_drops(const replica_stats *s)
{
    return s->dropped_malformed + s->dropped_bad_signature + s->dropped_wrong_sender + s->dropped_wrong_chain +
           s->dropped_out_of_range + s->dropped_wrong_role + s->dropped_conflicting + s->dropped_bad_digest +
           s->dropped_bad_proof + s->rejected_batches;
}

/* The primary (0) pre-prepares the fixture's batch at (view 0, seq 1). */
static void primary_pre_prepares(fixture *f)
{
    size_t len;
    uint8_t *m = pre_prepare(0, 0, 1, f->digest, f->batch, f->batch_len, &len);
    deliver(f, f->r, 0, m, len);
}

static void vote_from(fixture *f, Evote__V1__Kind kind, uint32_t signer, const uint8_t digest[CRYPTO_HASH_LEN])
{
    size_t len;
    uint8_t *m = vote_msg(kind, signer, 0, 1, digest, &len);
    deliver(f, f->r, signer, m, len);
}

/* Fires timer t and pops the replica's actions. */
static void fire(fixture *f, replica *r, replica_timer t)
{
    replica_on_timer(r, t);
    take(r, &f->acts);
}

static uint8_t *suspect_msg(uint32_t signer, uint64_t view, size_t *len);
static uint8_t *view_change_msg(uint32_t signer, uint64_t new_view, size_t *len);
static void another_suspects(fixture *f, replica *r, uint64_t view);

/* The delay of the last SET_TIMER of timer t among the actions, or -1. */
static long timer_delay(const actions *x, replica_timer t)
{
    long d = -1;
    for (size_t i = 0; i < x->n; i++)
        if (x->a[i].type == REPLICA_ACT_SET_TIMER && x->a[i].timer == t)
            d = (long)x->a[i].delay_ms;
    return d;
}

/* The view timer passes T/4, then T/2 (its steps: nothing but the next
 * step happens). */
static void view_timer_past_half(fixture *f, replica *r)
{
    for (int i = 0; i < 2; i++) {
        fire(f, r, REPLICA_TIMER_VIEW);
        assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE), -1);
        assert_true(timer_delay(&f->acts, REPLICA_TIMER_VIEW) > 0);
    }
}

/* The view timer runs out (T/4, T/2, then T): pops the actions of the last
 * firing. */
static void view_timer_runs_out(fixture *f, replica *r)
{
    view_timer_past_half(f, r);
    fire(f, r, REPLICA_TIMER_VIEW);
}

/* Seq goes through in view (primary view mod N) with replica ME as a
 * backup: the primary's PRE-PREPARE, a PREPARE from the third backup,
 * COMMITs from both other backups. Asserts that ME executes it. */
static void agree(fixture *f, uint64_t view, uint64_t seq)
{
    uint32_t p = (uint32_t)(view % N), o[2], k = 0;
    uint8_t d[CRYPTO_HASH_LEN], *b, *m;
    size_t bl, len;

    for (uint32_t i = 0; i < N; i++)
        if (i != p && i != ME)
            o[k++] = i;
    b = make_batch(seq, 0, &bl);
    digest_of(b, bl, d);
    m = pre_prepare(p, view, seq, d, b, bl, &len);
    deliver(f, f->r, p, m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, o[0], view, seq, d, &len);
    deliver(f, f->r, o[0], m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, o[0], view, seq, d, &len);
    deliver(f, f->r, o[0], m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, o[1], view, seq, d, &len);
    deliver(f, f->r, o[1], m, len);
    assert_true(find_type(&f->acts, REPLICA_ACT_EXECUTE) >= 0);
    assert_int_equal(replica_last_executed(f->r), seq);
    free(b);
}

/* ------------------------------------------------------------ normal case */

static void test_pre_prepare_from_primary_makes_backup_broadcast_prepare(void **state)
{
    fixture *f = *state;
    Evote__V1__Prepare *p;
    replica_stats s;
    int at;

    primary_pre_prepares(f);
    at = find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE);
    assert_true(at >= 0);
    p = sent_body(&f->acts.a[at], &evote__v1__prepare__descriptor);
    assert_non_null(p);
    assert_int_equal(p->view, 0);
    assert_int_equal(p->seq, 1);
    assert_int_equal(p->replica, ME);
    assert_int_equal(p->digest.len, CRYPTO_HASH_LEN);
    assert_memory_equal(p->digest.data, f->digest, CRYPTO_HASH_LEN);
    evote__v1__prepare__free_unpacked(p, NULL);
    s = stats_of(f->r);
    assert_int_equal(s.received, 1);
    assert_int_equal(all_drops(&s), 0);
    assert_int_equal(s.by_kind_received[EVOTE__V1__KIND__KIND_PRE_PREPARE], 1);
    assert_int_equal(s.by_kind_sent[EVOTE__V1__KIND__KIND_PREPARE], 1);
    /* It now waits for the request: the view timer is armed. */
    assert_true(find_type(&f->acts, REPLICA_ACT_SET_TIMER) >= 0);
}

static void test_pre_prepare_signed_by_backup_is_dropped_wrong_role(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *m = pre_prepare(2, 0, 1, f->digest, f->batch, f->batch_len, &len);
    replica_stats s;

    deliver(f, f->r, 2, m, len);
    s = stats_of(f->r);
    assert_int_equal(s.dropped_wrong_role, 1);
    assert_int_equal(all_drops(&s), 1);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
}

static void test_pre_prepare_with_bad_signature_is_dropped(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *m = agreement_msg(EVOTE__V1__KIND__KIND_PRE_PREPARE, 0, 0, chain_id, 0, 1, f->digest, BAD_SIG, f->batch,
                               f->batch_len, &len);
    replica_stats s;

    deliver(f, f->r, 0, m, len);
    s = stats_of(f->r);
    assert_int_equal(s.dropped_bad_signature, 1);
    assert_int_equal(all_drops(&s), 1);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
}

static void test_signer_outside_validator_set_is_dropped_wrong_sender(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *m = agreement_msg(EVOTE__V1__KIND__KIND_PREPARE, OUTSIDER, 2, chain_id, 0, 1, f->digest, 0, NULL, 0, &len);
    replica_stats s;

    deliver(f, f->r, 2, m, len);
    s = stats_of(f->r);
    assert_int_equal(s.dropped_wrong_sender, 1);
    assert_int_equal(all_drops(&s), 1);
}

static void test_body_naming_another_replica_than_signer_is_dropped_wrong_sender(void **state)
{
    fixture *f = *state;
    size_t len;
    /* Signed by 2, but the body says it is replica 3's vote. */
    uint8_t *m = agreement_msg(EVOTE__V1__KIND__KIND_PREPARE, 2, 3, chain_id, 0, 1, f->digest, 0, NULL, 0, &len);
    replica_stats s;

    deliver(f, f->r, 2, m, len);
    s = stats_of(f->r);
    assert_int_equal(s.dropped_wrong_sender, 1);
    assert_int_equal(all_drops(&s), 1);
    /* Nor may the primary's PRE-PREPARE claim to come from someone else. */
    m = agreement_msg(EVOTE__V1__KIND__KIND_PRE_PREPARE, 0, 2, chain_id, 0, 1, f->digest, 0, f->batch, f->batch_len,
                      &len);
    deliver(f, f->r, 0, m, len);
    s = stats_of(f->r);
    assert_int_equal(s.dropped_wrong_sender, 2);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
}

static void test_message_from_itself_or_unknown_peer_is_dropped_wrong_sender(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *m = pre_prepare(0, 0, 1, f->digest, f->batch, f->batch_len, &len);
    replica_stats s;

    replica_on_message(f->r, ME, m, len);
    replica_on_message(f->r, N, m, len);
    free(m);
    take(f->r, &f->acts);
    s = stats_of(f->r);
    assert_int_equal(s.dropped_wrong_sender, 2);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
}

static void test_vote_relayed_by_another_peer_counts_for_its_signer(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *m;
    uint64_t relayed_counted;
    char desc[512];

    primary_pre_prepares(f);
    /* Replica 2's PREPARE, correctly signed, but arriving from peer 3. */
    m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 2, 0, 1, f->digest, &len);
    deliver(f, f->r, 3, m, len);
    replica_describe(f->r, desc, sizeof desc);
    relayed_counted = strstr(desc, " 1:pp p1 ") == NULL; /* p2: the relayed vote was counted */
    /* The contract (replica.h): a vote counts for the validator that
     * signed it, whoever delivered it — signed messages may be relayed. */
    assert_true(relayed_counted);
    assert_int_equal(stats_of(f->r).dropped_wrong_sender, 0);
}

static void test_wrong_chain_is_dropped(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *m = agreement_msg(EVOTE__V1__KIND__KIND_PRE_PREPARE, 0, 0, other_chain, 0, 1, f->digest, 0, f->batch,
                               f->batch_len, &len);
    replica_stats s;

    deliver(f, f->r, 0, m, len);
    s = stats_of(f->r);
    assert_int_equal(s.dropped_wrong_chain, 1);
    assert_int_equal(all_drops(&s), 1);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
}

static void test_batch_not_matching_digest_is_dropped_bad_digest(void **state)
{
    fixture *f = *state;
    size_t len;
    /* Digest of batch 1, batch 2 attached. */
    uint8_t *m = pre_prepare(0, 0, 1, f->digest, f->batch2, f->batch2_len, &len);
    replica_stats s;

    deliver(f, f->r, 0, m, len);
    /* No batch at all. */
    m = pre_prepare(0, 0, 1, f->digest, NULL, 0, &len);
    deliver(f, f->r, 0, m, len);
    s = stats_of(f->r);
    assert_int_equal(s.dropped_bad_digest, 2);
    assert_int_equal(all_drops(&s), 2);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
    /* The right batch is still taken afterwards. */
    primary_pre_prepares(f);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE) >= 0);
}

static void test_seq_outside_watermarks_is_dropped_out_of_range(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *beyond = make_batch(WINDOW + 1, 0, &len), *zero, *m;
    size_t beyond_len = len, zero_len;
    uint8_t d[CRYPTO_HASH_LEN];
    replica_stats s;

    digest_of(beyond, beyond_len, d);
    m = pre_prepare(0, 0, WINDOW + 1, d, beyond, beyond_len, &len); /* above h + L */
    deliver(f, f->r, 0, m, len);
    zero = make_batch(0, 0, &zero_len);
    digest_of(zero, zero_len, d);
    m = pre_prepare(0, 0, 0, d, zero, zero_len, &len); /* at h = 0 */
    deliver(f, f->r, 0, m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 2, 0, WINDOW + 1, d, &len);
    deliver(f, f->r, 2, m, len);
    s = stats_of(f->r);
    assert_int_equal(s.dropped_out_of_range, 3);
    assert_int_equal(all_drops(&s), 3);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
    free(beyond);
    free(zero);
}

static void test_pre_prepare_for_another_view_is_dropped_out_of_range(void **state)
{
    fixture *f = *state;
    size_t len;
    /* Replica 0 is also the primary of view 4 (4 mod 4), but we are in view 0. */
    uint8_t *m = pre_prepare(0, 4, 1, f->digest, f->batch, f->batch_len, &len);
    replica_stats s;

    deliver(f, f->r, 0, m, len);
    s = stats_of(f->r);
    assert_int_equal(s.dropped_out_of_range, 1);
    assert_int_equal(all_drops(&s), 1);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
    assert_int_equal(replica_view(f->r), 0);
}

static void test_garbage_and_truncated_messages_are_dropped_malformed(void **state)
{
    fixture *f = *state;
    uint8_t junk[300];
    uint8_t *m;
    size_t len;
    uint64_t delivered = 0;
    replica_stats s;

    /* Garbage of every length up to 300 bytes (a fixed pseudo-random pattern). */
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 167u + 13u);
    for (size_t l = 0; l <= sizeof junk; l += 7) {
        replica_on_message(f->r, 0, junk, l);
        delivered++;
    }
    replica_on_message(f->r, 0, NULL, 0);
    delivered++;
    take(f->r, &f->acts);
    s = stats_of(f->r);
    assert_int_equal(s.received, delivered);
    assert_true(s.dropped_malformed > 0);
    assert_int_equal(all_drops(&s), delivered);

    /* Every prefix of a valid PRE-PREPARE message. */
    m = pre_prepare(0, 0, 1, f->digest, f->batch, f->batch_len, &len);
    for (size_t l = 0; l < len; l++) {
        uint8_t *copy = malloc(l ? l : 1); /* exact size, so ASan sees any overread */
        assert_non_null(copy);
        memcpy(copy, m, l);
        replica_on_message(f->r, 0, copy, l);
        free(copy);
        delivered++;
        take(f->r, &f->acts);
        assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
    }
    s = stats_of(f->r);
    assert_int_equal(all_drops(&s), delivered);

    /* A well-formed PeerMessage around a truncated envelope. */
    {
        uint64_t before = stats_of(f->r).dropped_malformed;
        uint8_t *pm_env, *bad;
        size_t pm_len, bad_len;
        Evote__V1__PeerMessage *pm = evote__v1__peer_message__unpack(NULL, len, m);
        assert_non_null(pm);
        pm_env = pm->envelope.data;
        pm_len = pm->envelope.len;
        bad = wrap(pm_env, pm_len - 10, f->batch, f->batch_len, &bad_len);
        deliver(f, f->r, 0, bad, bad_len);
        evote__v1__peer_message__free_unpacked(pm, NULL);
        assert_int_equal(stats_of(f->r).dropped_malformed, before + 1);
    }

    /* The whole message is still accepted: the drops above were about the bytes. */
    deliver(f, f->r, 0, m, len);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE) >= 0);
}

static void test_same_prepare_twice_counts_once(void **state)
{
    fixture *f = *state;
    char desc[512];

    /* Before the PRE-PREPARE, replica 2's PREPARE twice: one vote is logged. */
    vote_from(f, EVOTE__V1__KIND__KIND_PREPARE, 2, f->digest);
    vote_from(f, EVOTE__V1__KIND__KIND_PREPARE, 2, f->digest);
    replica_describe(f->r, desc, sizeof desc);
    assert_non_null(strstr(desc, " 1:-- p1 c0"));
    assert_int_equal(stats_of(f->r).dropped_conflicting, 0);
}

/* Replica 1 restored in `view`, in normal operation, from a hand-made meta
 * (the view, nothing else), with checkpoint interval k and term. */
static replica *replica_in_view(fixture *f, uint64_t view, uint32_t k, uint32_t term)
{
    Evote__V1__ConsensusMeta cm = EVOTE__V1__CONSENSUS_META__INIT;
    replica_restore rs = {0};
    uint8_t *meta;
    size_t meta_len;
    replica *r;

    cm.view = view;
    meta_len = evote__v1__consensus_meta__get_packed_size(&cm);
    meta = malloc(meta_len ? meta_len : 1);
    assert_non_null(meta);
    evote__v1__consensus_meta__pack(&cm, meta);
    rs.meta = meta;
    rs.meta_len = meta_len;
    r = new_replica_kt(&rs, k, term);
    free(meta);
    replica_start(r);
    take(r, &f->acts);
    assert_int_equal(replica_view(r), view);
    return r;
}

/* Replica 1 as the primary of view 1. */
static replica *primary_of_view_1(fixture *f)
{
    replica *p = replica_in_view(f, 1, 0, 0);
    assert_int_equal(replica_primary(p), ME);
    return p;
}

static void test_duplicate_prepares_from_one_backup_do_not_prepare_primary(void **state)
{
    fixture *f = *state;
    uint8_t *batch, *m;
    size_t batch_len, len;
    uint8_t d[CRYPTO_HASH_LEN];
    uint64_t seq = 0;
    replica *p = primary_of_view_1(f);
    int meta_at, pp_at;

    /* The primary's own vote is its PRE-PREPARE, so it needs PREPAREs from
     * 2f = 2 distinct backups; the same backup twice must not do. */
    assert_true(replica_can_propose(p, &seq));
    assert_int_equal(seq, 1);
    batch = make_batch(1, 7, &batch_len);
    digest_of(batch, batch_len, d);
    assert_true(replica_propose(p, 1, batch, batch_len));
    take(p, &f->acts);
    pp_at = find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PRE_PREPARE);
    meta_at = find_type(&f->acts, REPLICA_ACT_PERSIST_META);
    assert_true(pp_at >= 0);
    assert_true(meta_at >= 0 && meta_at < pp_at); /* persisted before it leaves */

    m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 2, 1, 1, d, &len);
    replica_on_message(p, 2, m, len);
    replica_on_message(p, 2, m, len);
    free(m);
    take(p, &f->acts);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_COMMIT), -1);
    assert_int_equal(stats_of(p).by_kind_sent[EVOTE__V1__KIND__KIND_COMMIT], 0);

    m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 3, 1, 1, d, &len);
    deliver(f, p, 3, m, len);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_COMMIT) >= 0);
    actions_clear(&f->acts);
    replica_destroy(&p);
    free(batch);
}

static void test_restored_primary_never_pre_prepares_a_seq_twice(void **state)
{
    fixture *f = *state;
    replica_restore rs = {0};
    uint8_t *batch, *other, *meta;
    size_t batch_len, other_len, meta_len;
    uint64_t seq = 0;
    replica *p = primary_of_view_1(f), *again;
    uint64_t offered;
    int meta_at, conflicting_pp = 0;

    batch = make_batch(1, 7, &batch_len);
    other = make_batch(1, 8, &other_len);
    assert_true(replica_can_propose(p, &seq));
    assert_true(replica_propose(p, seq, batch, batch_len));
    take(p, &f->acts);
    meta_at = find_type(&f->acts, REPLICA_ACT_PERSIST_META);
    assert_true(meta_at >= 0);
    meta = f->acts.a[meta_at].bytes;
    meta_len = f->acts.a[meta_at].len;

    /* Crash after the PRE-PREPARE for (1, 1) left; restart from the meta
     * (storage still empty). */
    rs.meta = meta;
    rs.meta_len = meta_len;
    again = new_replica(&rs);
    replica_destroy(&p);
    replica_start(again);
    {
        replica_action a;
        while (replica_pop_action(again, &a))
            replica_action_clear(&a);
    }
    assert_int_equal(replica_view(again), 1);
    /* Whatever the restarted primary offers, it must not pre-prepare another
     * batch for (view 1, seq 1). */
    offered = replica_can_propose(again, &seq) ? seq : 0;
    if (replica_propose(again, 1, other, other_len)) {
        take(again, &f->acts);
        conflicting_pp = find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PRE_PREPARE) >= 0;
    }
    actions_clear(&f->acts);
    replica_destroy(&again);
    free(batch);
    free(other);
    /* BUG (consensus/replica.c, replica_new): meta_restore sets seq_next past
     * the restored PRE-PREPARE, then replica_new overwrites it with
     * max(last_executed, h) + 1 = 1. The restarted primary offers seq 1
     * again (offered == 1) and replica_propose broadcasts a PRE-PREPARE for
     * another batch at (view 1, seq 1): an honest primary equivocates after a
     * crash. Expected: it offers seq 2 and never re-proposes seq 1 (fixed:
     * replica_new keeps the seq_next the restored meta implies). */
    assert_int_equal(offered, 2);
    assert_false(conflicting_pp);
}

/* One event may execute several blocks: a seq committed ahead waits for the
 * one before it. The node stores that event's meta with the first block and
 * the later blocks in transactions of their own, so a crash in between
 * leaves storage at the first block with the event's meta. That meta must
 * still hold this replica's votes for the blocks not stored yet: restarted,
 * a backup that signed a PREPARE and a COMMIT for (view 0, seq 2) must not
 * vote for another batch there (with a restarted or faulty primary
 * offering one, honest replicas would otherwise fork the chain). */
static void test_a_crash_between_two_blocks_of_one_event_forgets_no_vote(void **state)
{
    fixture *f = *state;
    replica_restore rs = {0};
    uint8_t *b1, *b2, *b2x, d1[CRYPTO_HASH_LEN], d2[CRYPTO_HASH_LEN], d2x[CRYPTO_HASH_LEN], *m, *meta;
    size_t l1, l2, l2x, len, meta_len;
    int executes = 0, meta_at;
    replica *again;

    b1 = make_batch(1, 0, &l1);
    b2 = make_batch(2, 0, &l2);
    b2x = make_batch(2, 1, &l2x);
    digest_of(b1, l1, d1);
    digest_of(b2, l2, d2);
    digest_of(b2x, l2x, d2x);
    /* Seq 2 commits here first; it cannot execute before seq 1. */
    m = pre_prepare(0, 0, 2, d2, b2, l2, &len);
    deliver(f, f->r, 0, m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 2, 0, 2, d2, &len);
    deliver(f, f->r, 2, m, len);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_COMMIT) >= 0);
    m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 2, 0, 2, d2, &len);
    deliver(f, f->r, 2, m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 3, 0, 2, d2, &len);
    deliver(f, f->r, 3, m, len);
    assert_int_equal(find_type(&f->acts, REPLICA_ACT_EXECUTE), -1);
    /* Seq 1: the others' COMMITs come before the PREPARE that prepares it
     * here, so one event commits seq 1 and executes seqs 1 and 2. */
    m = pre_prepare(0, 0, 1, d1, b1, l1, &len);
    deliver(f, f->r, 0, m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 2, 0, 1, d1, &len);
    deliver(f, f->r, 2, m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 3, 0, 1, d1, &len);
    deliver(f, f->r, 3, m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 2, 0, 1, d1, &len);
    deliver(f, f->r, 2, m, len);
    for (size_t i = 0; i < f->acts.n; i++)
        executes += f->acts.a[i].type == REPLICA_ACT_EXECUTE;
    assert_int_equal(executes, 2);
    meta_at = find_type(&f->acts, REPLICA_ACT_PERSIST_META);
    assert_true(meta_at >= 0);
    meta = f->acts.a[meta_at].bytes;
    meta_len = f->acts.a[meta_at].len;

    /* The crash: block 1 is stored with that meta, block 2 is not. */
    rs.last_executed = 1;
    rs.meta = meta;
    rs.meta_len = meta_len;
    again = new_replica(&rs);
    replica_start(again);
    take(again, &f->acts);
    /* Another batch for (view 0, seq 2). */
    m = pre_prepare(0, 0, 2, d2x, b2x, l2x, &len);
    deliver(f, again, 0, m, len);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_COMMIT), -1);
    actions_clear(&f->acts);
    replica_destroy(&again);
    free(b1);
    free(b2);
    free(b2x);
}

static void test_conflicting_prepares_from_one_replica_are_dropped(void **state)
{
    fixture *f = *state;
    char desc[512];

    vote_from(f, EVOTE__V1__KIND__KIND_PREPARE, 2, f->digest);
    vote_from(f, EVOTE__V1__KIND__KIND_PREPARE, 2, f->digest2);
    assert_int_equal(stats_of(f->r).dropped_conflicting, 1);
    /* The first vote stands: with the PRE-PREPARE for it, the replica prepares. */
    primary_pre_prepares(f);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_COMMIT) >= 0);
    replica_describe(f->r, desc, sizeof desc);
    assert_non_null(strstr(desc, " 1:ppP* p2 c1")); /* pre-prepared, Prepared, proof kept */
}

static void test_prepared_after_2f_prepares_broadcasts_commit(void **state)
{
    fixture *f = *state;
    Evote__V1__Commit *c;
    int at;

    primary_pre_prepares(f);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_COMMIT), -1);
    /* Own PREPARE + replica 2's = 2f. */
    vote_from(f, EVOTE__V1__KIND__KIND_PREPARE, 2, f->digest);
    at = find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_COMMIT);
    assert_true(at >= 0);
    c = sent_body(&f->acts.a[at], &evote__v1__commit__descriptor);
    assert_non_null(c);
    assert_int_equal(c->seq, 1);
    assert_int_equal(c->view, 0);
    assert_int_equal(c->replica, ME);
    assert_memory_equal(c->digest.data, f->digest, CRYPTO_HASH_LEN);
    evote__v1__commit__free_unpacked(c, NULL);
    /* A PREPARE from the primary is not a vote. */
    vote_from(f, EVOTE__V1__KIND__KIND_PREPARE, 0, f->digest);
    assert_int_equal(stats_of(f->r).dropped_wrong_role, 1);
}

static void test_2f_plus_1_commits_execute_with_valid_certificate(void **state)
{
    fixture *f = *state;
    replica_action *ex;
    replica_stats s;
    int at;

    primary_pre_prepares(f);
    vote_from(f, EVOTE__V1__KIND__KIND_PREPARE, 2, f->digest);
    /* Own COMMIT + replica 2's twice: still 2 distinct, no execution. */
    vote_from(f, EVOTE__V1__KIND__KIND_COMMIT, 2, f->digest);
    vote_from(f, EVOTE__V1__KIND__KIND_COMMIT, 2, f->digest);
    assert_int_equal(find_type(&f->acts, REPLICA_ACT_EXECUTE), -1);
    assert_int_equal(stats_of(f->r).executed, 0);
    vote_from(f, EVOTE__V1__KIND__KIND_COMMIT, 3, f->digest);
    at = find_type(&f->acts, REPLICA_ACT_EXECUTE);
    assert_true(at >= 0);
    ex = &f->acts.a[at];
    assert_int_equal(ex->seq, 1);
    assert_int_equal(ex->fetched, 0); /* validated here: its transactions have verdicts */
    assert_int_equal(ex->batch_len, f->batch_len);
    assert_memory_equal(ex->batch, f->batch, f->batch_len);
    assert_true(replica_certificate_valid(N, (const uint8_t(*)[CRYPTO_PUBKEY_LEN])pubkeys, chain_id, &callbacks,
                                          ex->certificate, ex->certificate_len, 1, ex->batch, ex->batch_len));
    /* The certificate is for that batch and seq only. */
    assert_false(replica_certificate_valid(N, (const uint8_t(*)[CRYPTO_PUBKEY_LEN])pubkeys, chain_id, &callbacks,
                                           ex->certificate, ex->certificate_len, 2, ex->batch, ex->batch_len));
    assert_false(replica_certificate_valid(N, (const uint8_t(*)[CRYPTO_PUBKEY_LEN])pubkeys, chain_id, &callbacks,
                                           ex->certificate, ex->certificate_len, 1, f->batch2, f->batch2_len));
    assert_false(replica_certificate_valid(N, (const uint8_t(*)[CRYPTO_PUBKEY_LEN])pubkeys, other_chain,
                                           &callbacks, ex->certificate, ex->certificate_len, 1, ex->batch,
                                           ex->batch_len));
    s = stats_of(f->r);
    assert_int_equal(s.executed, 1);
    assert_int_equal(replica_last_executed(f->r), 1);
    assert_int_equal(all_drops(&s), 0);
}

static void test_certificate_needs_2f_plus_1_distinct_matching_commits(void **state)
{
    fixture *f = *state;
    const uint8_t(*keys)[CRYPTO_PUBKEY_LEN] = (const uint8_t(*)[CRYPTO_PUBKEY_LEN])pubkeys;
    Evote__V1__Envelope *c[5];
    uint8_t *cert;
    size_t len;

    c[0] = commit_envelope(0, 0, 1, f->digest);
    c[1] = commit_envelope(2, 0, 1, f->digest);
    c[2] = commit_envelope(3, 0, 1, f->digest);
    c[3] = commit_envelope(3, 0, 1, f->digest2); /* 3 commits to another digest */
    c[4] = commit_envelope(2, 0, 1, f->digest);

    cert = certificate(0, 1, f->digest, c, 3, &len); /* 0, 2, 3: valid */
    assert_true(replica_certificate_valid(N, keys, chain_id, &callbacks, cert, len, 1, f->batch, f->batch_len));
    assert_true(replica_certificate_valid(N, keys, chain_id, &callbacks, cert, len, 1, NULL, 0));
    free(cert);

    cert = certificate(0, 1, f->digest, c, 2, &len); /* only 2f */
    assert_false(replica_certificate_valid(N, keys, chain_id, &callbacks, cert, len, 1, f->batch, f->batch_len));
    free(cert);

    {
        Evote__V1__Envelope *dup[3] = {c[0], c[1], c[4]}; /* 2 signed twice */
        cert = certificate(0, 1, f->digest, dup, 3, &len);
        assert_false(replica_certificate_valid(N, keys, chain_id, &callbacks, cert, len, 1, f->batch, f->batch_len));
        free(cert);
    }
    {
        Evote__V1__Envelope *other[3] = {c[0], c[1], c[3]}; /* one commit for another digest */
        cert = certificate(0, 1, f->digest, other, 3, &len);
        assert_false(replica_certificate_valid(N, keys, chain_id, &callbacks, cert, len, 1, f->batch, f->batch_len));
        free(cert);
    }
    {
        Evote__V1__Envelope *sig = commit_envelope(3, 0, 1, f->digest);
        Evote__V1__Envelope *forged[3] = {c[0], c[1], sig};
        sig->signature.data[0] ^= 1;
        cert = certificate(0, 1, f->digest, forged, 3, &len);
        assert_false(replica_certificate_valid(N, keys, chain_id, &callbacks, cert, len, 1, f->batch, f->batch_len));
        free(cert);
        evote__v1__envelope__free_unpacked(sig, NULL);
    }
    cert = certificate(0, 1, f->digest, c, 3, &len); /* a garbage certificate */
    assert_false(replica_certificate_valid(N, keys, chain_id, &callbacks, cert, len / 2, 1, NULL, 0));
    free(cert);
    for (int i = 0; i < 5; i++)
        evote__v1__envelope__free_unpacked(c[i], NULL);
}

/* A block by state transfer is stored with only the COMMITs that count:
 * what a faulty peer adds beside its 2f+1 is dropped (the auditor refuses a
 * stored certificate holding a COMMIT that does not count). */
static void test_state_transfer_stores_only_the_commits_that_count(void **state)
{
    fixture *f = *state;
    const uint8_t(*keys)[CRYPTO_PUBKEY_LEN] = (const uint8_t(*)[CRYPTO_PUBKEY_LEN])pubkeys;
    Evote__V1__Envelope *c[4];
    Evote__V1__Block blk = EVOTE__V1__BLOCK__INIT;
    Evote__V1__CertifiedBlock cb = EVOTE__V1__CERTIFIED_BLOCK__INIT, *cbs[1] = {&cb};
    Evote__V1__StateResponse sr = EVOTE__V1__STATE_RESPONSE__INIT;
    Evote__V1__CommitCertificate *cc, *got;
    replica_cert_report rep;
    uint8_t *m, *cert;
    size_t len, cert_len;
    int at;

    c[0] = commit_envelope(0, 0, 1, f->digest);
    c[1] = commit_envelope(2, 0, 1, f->digest);
    c[2] = commit_envelope(3, 0, 1, f->digest);
    c[3] = commit_envelope(0, 0, 1, f->digest); /* validator 0 again, forged */
    c[3]->signature.data[0] ^= 1;
    cert = certificate(0, 1, f->digest, c, 4, &cert_len);
    cc = evote__v1__commit_certificate__unpack(NULL, cert_len, cert);
    assert_non_null(cc);
    blk.batch = (ProtobufCBinaryData){f->batch_len, f->batch};
    cb.block = &blk;
    cb.certificate = cc;
    sr.chain_id = (ProtobufCBinaryData){CRYPTO_CHAIN_ID_LEN, chain_id};
    sr.blocks = cbs;
    sr.n_blocks = 1;
    sr.replica = 2;
    m = peer_msg(EVOTE__V1__KIND__KIND_STATE_RESPONSE, &sr.base, 2, 0, NULL, 0, &len);
    deliver(f, f->r, 2, m, len);
    at = find_type(&f->acts, REPLICA_ACT_EXECUTE);
    assert_true(at >= 0);
    assert_int_equal(f->acts.a[at].seq, 1);
    assert_int_equal(f->acts.a[at].fetched, 1); /* by state transfer: never validated here */
    got = evote__v1__commit_certificate__unpack(NULL, f->acts.a[at].certificate_len, f->acts.a[at].certificate);
    assert_non_null(got);
    assert_int_equal(got->n_commits, 3);
    evote__v1__commit_certificate__free_unpacked(got, NULL);
    assert_true(replica_certificate_check(N, keys, chain_id, &callbacks, f->acts.a[at].certificate,
                                          f->acts.a[at].certificate_len, 1, f->digest, &rep));
    assert_int_equal(rep.n_commits, rep.signers);
    evote__v1__commit_certificate__free_unpacked(cc, NULL);
    free(cert);
    for (int i = 0; i < 4; i++)
        evote__v1__envelope__free_unpacked(c[i], NULL);
}

/* The report says, COMMIT by COMMIT, why each counts or not: what the
 * client and the auditor show. A COMMIT of another view than the
 * certificate's does not count, even for the same seq and batch. */
static void test_certificate_report_judges_each_commit(void **state)
{
    fixture *f = *state;
    const uint8_t(*keys)[CRYPTO_PUBKEY_LEN] = (const uint8_t(*)[CRYPTO_PUBKEY_LEN])pubkeys;
    Evote__V1__Envelope *c[5];
    replica_cert_report r;
    uint8_t *cert;
    size_t len;

    c[0] = commit_envelope(0, 0, 1, f->digest);
    c[1] = commit_envelope(2, 0, 1, f->digest);
    c[2] = commit_envelope(2, 0, 1, f->digest); /* again */
    c[3] = commit_envelope(3, 1, 1, f->digest); /* view 1: the certificate is for view 0 */
    c[4] = commit_envelope(1, 0, 1, f->digest);
    c[4]->signature.data[5] ^= 1;
    cert = certificate(0, 1, f->digest, c, 4, &len);
    assert_false(replica_certificate_check(N, keys, chain_id, &callbacks, cert, len, 1, f->digest, &r));
    assert_int_equal(r.fault, REPLICA_CERT_TOO_FEW);
    assert_int_equal(r.view, 0);
    assert_int_equal(r.seq, 1);
    assert_int_equal(r.needed, 3);
    assert_int_equal(r.signers, 2);
    assert_int_equal(r.n_commits, 4);
    assert_int_equal(r.n_listed, 4);
    assert_int_equal(r.listed[0].status, REPLICA_COMMIT_COUNTED);
    assert_int_equal(r.listed[0].validator, 0);
    assert_int_equal(r.listed[1].status, REPLICA_COMMIT_COUNTED);
    assert_int_equal(r.listed[2].status, REPLICA_COMMIT_DUPLICATE);
    assert_int_equal(r.listed[2].validator, 2);
    assert_int_equal(r.listed[3].status, REPLICA_COMMIT_MISMATCH);
    assert_int_equal(r.listed[3].validator, 3);
    assert_true(r.signed_by[0] && r.signed_by[2] && !r.signed_by[1] && !r.signed_by[3]);
    free(cert);
    {
        Evote__V1__Envelope *forged[3] = {c[0], c[1], c[4]};
        cert = certificate(0, 1, f->digest, forged, 3, &len);
        assert_false(replica_certificate_check(N, keys, chain_id, &callbacks, cert, len, 1, f->digest, &r));
        assert_int_equal(r.listed[2].status, REPLICA_COMMIT_BAD_SIGNATURE);
        assert_int_equal(r.listed[2].validator, 1);
        free(cert);
    }
    /* More COMMITs than validators: no replica builds that */
    cert = certificate(0, 1, f->digest, c, 5, &len);
    assert_false(replica_certificate_check(N, keys, chain_id, &callbacks, cert, len, 1, f->digest, &r));
    assert_int_equal(r.fault, REPLICA_CERT_TOO_MANY);
    free(cert);
    cert = certificate(0, 1, f->digest, c, 4, &len);
    /* seq and batch are checked before any COMMIT */
    assert_false(replica_certificate_check(N, keys, chain_id, &callbacks, cert, len, 2, f->digest, &r));
    assert_int_equal(r.fault, REPLICA_CERT_OTHER_SEQ);
    assert_false(replica_certificate_check(N, keys, chain_id, &callbacks, cert, len, 1, f->digest2, &r));
    assert_int_equal(r.fault, REPLICA_CERT_OTHER_BATCH);
    assert_false(replica_certificate_check(N, keys, chain_id, &callbacks, cert, len - 1, 1, NULL, &r));
    assert_int_equal(r.fault, REPLICA_CERT_UNPARSABLE);
    free(cert);
    for (int i = 0; i < 5; i++)
        evote__v1__envelope__free_unpacked(c[i], NULL);
}

static void test_batch_refused_by_validate_is_not_prepared(void **state)
{
    fixture *f = *state;
    replica_stats s;

    validate_answer = 0;
    primary_pre_prepares(f);
    s = stats_of(f->r);
    assert_int_equal(s.rejected_batches, 1);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
    assert_int_equal(s.by_kind_sent[EVOTE__V1__KIND__KIND_PREPARE], 0);
}

/* validate_batch may answer later: no PREPARE until the verdict, the same
 * proposal again is not validated twice, a stale or refused verdict
 * prepares nothing, and a good one prepares (the batch persisted first). */
static void test_batch_validated_later_prepares_only_on_a_good_verdict(void **state)
{
    fixture *f = *state;
    replica_stats s;
    int persist, prep;

    validate_answer = REPLICA_VALIDATE_LATER;
    primary_pre_prepares(f);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
    assert_int_equal(find_type(&f->acts, REPLICA_ACT_PERSIST_BATCH), -1);
    validate_answer = 0; /* must not be asked again for the same proposal */
    primary_pre_prepares(f);
    s = stats_of(f->r);
    assert_int_equal(s.rejected_batches, 0);
    assert_int_equal(s.dropped_conflicting, 0);
    /* a verdict about another digest is ignored */
    replica_on_batch_validated(f->r, 1, f->digest2, 1);
    take(f->r, &f->acts);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
    replica_on_batch_validated(f->r, 1, f->digest, 1);
    take(f->r, &f->acts);
    persist = find_type(&f->acts, REPLICA_ACT_PERSIST_BATCH);
    prep = find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE);
    assert_true(persist >= 0);
    assert_true(prep > persist);
    /* a second verdict changes nothing */
    actions_clear(&f->acts);
    replica_on_batch_validated(f->r, 1, f->digest, 1);
    take(f->r, &f->acts);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
    s = stats_of(f->r);
    assert_int_equal(s.by_kind_sent[EVOTE__V1__KIND__KIND_PREPARE], 1);
}

static void test_batch_refused_later_is_not_prepared(void **state)
{
    fixture *f = *state;
    replica_stats s;

    validate_answer = REPLICA_VALIDATE_LATER;
    primary_pre_prepares(f);
    replica_on_batch_validated(f->r, 1, f->digest, 0);
    take(f->r, &f->acts);
    s = stats_of(f->r);
    assert_int_equal(s.rejected_batches, 1);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
    assert_int_equal(s.by_kind_sent[EVOTE__V1__KIND__KIND_PREPARE], 0);
    /* the primary may send it again: it is validated afresh */
    validate_answer = 1;
    primary_pre_prepares(f);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE) >= 0);
}

/* A view change while a proposal is validated: its verdict is stale. */
static void test_verdict_after_a_view_change_prepares_nothing(void **state)
{
    fixture *f = *state;
    another_suspects(f, f->r, 0); /* with this replica, f+1 suspect view 0 */

    validate_answer = REPLICA_VALIDATE_LATER;
    primary_pre_prepares(f);
    replica_on_pending(f->r, 1); /* requests wait: the view timer runs */
    take(f->r, &f->acts);
    view_timer_runs_out(f, f->r); /* the proposal is being checked: T more, once */
    fire(f, f->r, REPLICA_TIMER_VIEW);
    assert_true(replica_in_view_change(f->r));
    actions_clear(&f->acts);
    replica_on_batch_validated(f->r, 1, f->digest, 1);
    take(f->r, &f->acts);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
    assert_int_equal(find_type(&f->acts, REPLICA_ACT_PERSIST_BATCH), -1);
}

/* A CHECKPOINT for seq with state digest d, signed by signer. */
static uint8_t *checkpoint_msg(uint32_t signer, uint64_t seq, const uint8_t d[CRYPTO_HASH_LEN], size_t *len)
{
    Evote__V1__Checkpoint c = EVOTE__V1__CHECKPOINT__INIT;
    c.chain_id.data = chain_id;
    c.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    c.seq = seq;
    c.state_digest.data = (uint8_t *)d;
    c.state_digest.len = CRYPTO_HASH_LEN;
    c.replica = signer;
    return peer_msg(EVOTE__V1__KIND__KIND_CHECKPOINT, &c.base, signer, 0, NULL, 0, len);
}

/* A SUSPECT for view, signed by signer. */
static uint8_t *suspect_msg(uint32_t signer, uint64_t view, size_t *len)
{
    Evote__V1__Suspect s = EVOTE__V1__SUSPECT__INIT;
    s.chain_id.data = chain_id;
    s.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    s.view = view;
    s.replica = signer;
    return peer_msg(EVOTE__V1__KIND__KIND_SUSPECT, &s.base, signer, 0, NULL, 0, len);
}

/* Replica 3 says its view timer ran out in view: with this replica's own
 * timer running out, f+1 suspect the view, and it is left (rule 4). */
static void another_suspects(fixture *f, replica *r, uint64_t view)
{
    size_t len;
    uint8_t *m = suspect_msg(3, view, &len);
    deliver(f, r, 3, m, len);
    actions_clear(&f->acts);
}

static size_t count_sends(const actions *x, uint32_t to, Evote__V1__Kind kind)
{
    size_t c = 0;
    for (size_t i = 0; i < x->n; i++)
        if (x->a[i].type == REPLICA_ACT_SEND && x->a[i].to == to && sent_kind(&x->a[i]) == kind)
            c++;
    return c;
}

#define K_SMALL 4

/* Replica 1 with checkpoint interval K_SMALL, driven through blocks
 * 1..K_SMALL (each pre-prepared by 0, prepared by 2, committed by 2 and 3,
 * stored with a fake hash). Its own CHECKPOINT for K_SMALL has gone out;
 * *hash is the state digest at K_SMALL. */
/* Blocks 1..K_SMALL go through replica r (1) in view (primary view mod N:
 * 0 or 3): pre-prepared by it, prepared by 2, committed by 2 and 3; r
 * executes each and is told its hash (hash[0] = seq; the rest is fill). */
static void run_first_interval(fixture *f, replica *r, uint64_t view, uint8_t hash[CRYPTO_HASH_LEN], uint8_t fill)
{
    uint32_t p = (uint32_t)(view % N);
    uint8_t *m;
    size_t len;

    memset(hash, fill, CRYPTO_HASH_LEN);
    for (uint64_t seq = 1; seq <= K_SMALL; seq++) {
        size_t blen;
        uint8_t *b = make_batch(seq, 0, &blen), d[CRYPTO_HASH_LEN];
        digest_of(b, blen, d);
        m = pre_prepare(p, view, seq, d, b, blen, &len);
        deliver(f, r, p, m, len);
        m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 2, view, seq, d, &len);
        deliver(f, r, 2, m, len);
        m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 2, view, seq, d, &len);
        deliver(f, r, 2, m, len);
        m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 3, view, seq, d, &len);
        deliver(f, r, 3, m, len);
        assert_true(find_type(&f->acts, REPLICA_ACT_EXECUTE) >= 0);
        free(b);
        hash[0] = (uint8_t)seq;
        replica_on_executed(r, seq, hash, 0);
        take(r, &f->acts);
    }
}

static replica *replica_at_first_checkpoint_t(fixture *f, uint8_t hash[CRYPTO_HASH_LEN], uint32_t term)
{
    replica *r = new_replica_kt(NULL, K_SMALL, term);

    replica_start(r);
    take(r, &f->acts);
    run_first_interval(f, r, 0, hash, 0x5a);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_CHECKPOINT) >= 0);
    assert_int_equal(replica_last_executed(r), K_SMALL);
    return r;
}

static replica *replica_at_first_checkpoint(fixture *f, uint8_t hash[CRYPTO_HASH_LEN])
{
    return replica_at_first_checkpoint_t(f, hash, 0);
}

static void test_checkpoint_becomes_stable_at_2f_plus_1_and_moves_window(void **state)
{
    fixture *f = *state;
    uint8_t hash[CRYPTO_HASH_LEN], other[CRYPTO_HASH_LEN], *m;
    size_t len;
    replica *r = replica_at_first_checkpoint(f, hash);

    assert_int_equal(replica_stable_seq(r), 0);
    /* A CHECKPOINT for another state does not count toward ours. */
    memset(other, 0x77, sizeof other);
    m = checkpoint_msg(3, K_SMALL, other, &len);
    deliver(f, r, 3, m, len);
    m = checkpoint_msg(0, K_SMALL, hash, &len);
    deliver(f, r, 0, m, len);
    assert_int_equal(replica_stable_seq(r), 0); /* own + 0: 2 of 2f+1 */
    m = checkpoint_msg(2, K_SMALL, hash, &len);
    deliver(f, r, 2, m, len);
    assert_int_equal(replica_stable_seq(r), K_SMALL);
    assert_true(find_type(&f->acts, REPLICA_ACT_PERSIST_META) >= 0);

    /* The window moved: seq 1 is now below h, seq K + 2K is inside it. */
    {
        size_t blen;
        uint8_t *b = make_batch(3 * K_SMALL, 0, &blen), d[CRYPTO_HASH_LEN];
        digest_of(b, blen, d);
        m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 3, 0, 1, d, &len);
        deliver(f, r, 3, m, len);
        assert_int_equal(stats_of(r).dropped_out_of_range, 1);
        m = pre_prepare(0, 0, 3 * K_SMALL, d, b, blen, &len);
        deliver(f, r, 0, m, len);
        assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE) >= 0);
        assert_int_equal(stats_of(r).dropped_out_of_range, 1);
        free(b);
    }
    actions_clear(&f->acts);
    replica_destroy(&r);
}

/* Primary rotation, a term of one checkpoint interval: view 0's primary
 * may propose up to seq K. A backup refuses a PRE-PREPARE beyond it; once
 * the checkpoint at K is stable it asks for view 1 by itself (no SUSPECT,
 * no view timer, no back-off), and view 1's term ends one interval later. */
static void test_term_end_refuses_later_proposals_then_rotates(void **state)
{
    fixture *f = *state;
    uint8_t hash[CRYPTO_HASH_LEN], d[CRYPTO_HASH_LEN], *m, *b;
    size_t len, blen;
    uint64_t seq = 0;
    replica *r = replica_at_first_checkpoint_t(f, hash, 1), *again;
    replica_restore rs = {0};
    int meta_at;

    assert_int_equal(replica_term_end(r), K_SMALL);
    b = make_batch(K_SMALL + 1, 0, &blen);
    digest_of(b, blen, d);
    m = pre_prepare(0, 0, K_SMALL + 1, d, b, blen, &len);
    deliver(f, r, 0, m, len);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
    assert_int_equal(stats_of(r).dropped_out_of_range, 1);
    free(b);

    m = checkpoint_msg(0, K_SMALL, hash, &len);
    deliver(f, r, 0, m, len);
    assert_false(replica_in_view_change(r));
    m = checkpoint_msg(2, K_SMALL, hash, &len);
    deliver(f, r, 2, m, len);
    assert_int_equal(replica_stable_seq(r), K_SMALL);
    assert_true(replica_in_view_change(r));
    assert_int_equal(replica_view(r), 1);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE) >= 0);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_SUSPECT), -1);
    assert_int_equal(stats_of(r).rotations, 1);
    assert_int_equal(stats_of(r).suspects_sent, 0);

    /* Replica 1 is view 1's primary: with the VIEW-CHANGEs of 0 and 2 it
     * sends the NEW-VIEW and proposes from K + 1 to 2K. */
    m = view_change_msg(0, 1, &len);
    deliver(f, r, 0, m, len);
    actions_clear(&f->acts);
    m = view_change_msg(2, 1, &len);
    deliver(f, r, 2, m, len);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_NEW_VIEW) >= 0);
    assert_false(replica_in_view_change(r));
    assert_int_equal(replica_view(r), 1);
    assert_int_equal(replica_term_end(r), 2 * K_SMALL);
    assert_true(replica_can_propose(r, &seq));
    assert_int_equal(seq, K_SMALL + 1);

    /* The term survives a restart: it is in the consensus meta. */
    meta_at = find_type(&f->acts, REPLICA_ACT_PERSIST_META);
    assert_true(meta_at >= 0);
    rs.last_executed = K_SMALL;
    memcpy(rs.last_hash, hash, CRYPTO_HASH_LEN);
    rs.meta = f->acts.a[meta_at].bytes;
    rs.meta_len = f->acts.a[meta_at].len;
    again = new_replica_kt(&rs, K_SMALL, 1);
    assert_int_equal(replica_view(again), 1);
    assert_int_equal(replica_term_end(again), 2 * K_SMALL);
    actions_clear(&f->acts);
    replica_destroy(&again);
    replica_destroy(&r);
}

/* Replica 1 in view 3 (primary 3) with one-interval terms, restored from
 * a meta; blocks 1..K go through (pre-prepared by 3, prepared by 2,
 * committed by 2 and 3) and the checkpoint at K becomes stable with 0 and
 * 2: it rotates to view 4, whose primary is 0. */
static replica *rotated_to_view_4(fixture *f)
{
    uint8_t hash[CRYPTO_HASH_LEN], *m;
    size_t len;
    replica *r = replica_in_view(f, 3, K_SMALL, 1);

    run_first_interval(f, r, 3, hash, 0x3c);
    m = checkpoint_msg(0, K_SMALL, hash, &len);
    deliver(f, r, 0, m, len);
    m = checkpoint_msg(2, K_SMALL, hash, &len);
    deliver(f, r, 2, m, len);
    assert_true(replica_in_view_change(r));
    assert_int_equal(replica_view(r), 4);
    /* A rotation: the timer first runs T/4 (default T = 1000 ms). */
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 250);
    return r;
}

/* Replicas a and b ask for view 4 too (with r: 2f+1), then the T/4 after
 * the rotation runs out at r. */
static void two_ask_then_probe(fixture *f, replica *r, uint32_t a, uint32_t b)
{
    uint8_t *m;
    size_t len;

    m = view_change_msg(a, 4, &len);
    deliver(f, r, a, m, len);
    m = view_change_msg(b, 4, &len);
    deliver(f, r, b, m, len);
    fire(f, r, REPLICA_TIMER_VIEW);
}

/* After a rotation, 2f+1 ask for view 4 and its primary (0) says nothing
 * for T/4: it is down, its turn is skipped (view 5), without back-off. */
static void test_rotation_skips_a_next_primary_that_never_asks(void **state)
{
    fixture *f = *state;
    replica *r = rotated_to_view_4(f);

    two_ask_then_probe(f, r, 2, 3);
    assert_int_equal(replica_view(r), 5);
    assert_true(replica_in_view_change(r));
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE) >= 0);
    assert_int_equal(stats_of(r).turns_skipped, 1);
    assert_int_equal(stats_of(r).rotations, 2);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 250); /* T did not grow */
    actions_clear(&f->acts);
    replica_destroy(&r);
}

/* The same, but the next primary asked for its view too: it is alive, so
 * the usual wait for its NEW-VIEW goes on (the rest of T); and with fewer
 * than 2f+1 asking nobody skips anything. */
static void test_rotation_waits_for_a_next_primary_that_asks(void **state)
{
    fixture *f = *state;
    replica *r = rotated_to_view_4(f), *alone;

    two_ask_then_probe(f, r, 0, 2);
    assert_int_equal(replica_view(r), 4);
    assert_int_equal(stats_of(r).turns_skipped, 0);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 750);
    actions_clear(&f->acts);
    replica_destroy(&r);

    alone = rotated_to_view_4(f);
    fire(f, alone, REPLICA_TIMER_VIEW); /* nobody else asked yet */
    assert_int_equal(replica_view(alone), 4);
    assert_int_equal(stats_of(alone).turns_skipped, 0);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), -1);
    actions_clear(&f->acts);
    replica_destroy(&alone);
}

static void test_stale_votes_get_the_stable_proof_once_per_peer(void **state)
{
    fixture *f = *state;
    uint8_t hash[CRYPTO_HASH_LEN], d[CRYPTO_HASH_LEN], *m;
    size_t len, helped = 0;
    replica *r = replica_at_first_checkpoint(f, hash);

    m = checkpoint_msg(0, K_SMALL, hash, &len);
    deliver(f, r, 0, m, len);
    m = checkpoint_msg(2, K_SMALL, hash, &len);
    deliver(f, r, 2, m, len);
    assert_int_equal(replica_stable_seq(r), K_SMALL);
    /* Replica 3 lags: it replays its PREPARE for seq 1, three times. */
    memset(d, 0x33, sizeof d);
    for (int i = 0; i < 3; i++) {
        m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 3, 0, 1, d, &len);
        deliver(f, r, 3, m, len);
        helped += count_sends(&f->acts, 3, EVOTE__V1__KIND__KIND_CHECKPOINT);
    }
    assert_int_equal(stats_of(r).dropped_out_of_range, 3);
    assert_true(helped >= 3); /* the laggard does get the proof (2f+1 CHECKPOINTs) */
    actions_clear(&f->acts);
    replica_destroy(&r);
    /* AMPLIFICATION (consensus/replica.c, help_laggard): every stale vote
     * below h makes the replica send the whole stable proof (2f+1
     * CHECKPOINTs) to its sender again, with no "already helped" memory like
     * the COMMIT path's e->helped[]. Here 3 replays of one old PREPARE cost
     * 9 sends (helped == 9): a Byzantine peer gets 2f+1 messages out per
     * message in. In bench_consensus (no loss, FIFO) COMMITs that arrive
     * just after a checkpoint became stable trigger the same resend to
     * peers that are not behind. Expected: one proof per peer per stable
     * checkpoint (fixed: help_laggard remembers the proof it sent). */
    assert_int_equal(helped, 3);
}

/* Restarted on a checkpoint seq that is not stable yet: the replica signs
 * its CHECKPOINT again (the one sent before the crash may be lost with the
 * others' memory; if all stopped at the top of the window, nothing else
 * could move it). */
static void test_restart_on_a_checkpoint_seq_signs_it_again(void **state)
{
    fixture *f = *state;
    replica_restore rs = {0};
    Evote__V1__Checkpoint *c;
    replica *r;
    int at;

    rs.last_executed = K_SMALL;
    memset(rs.last_hash, 0xcd, sizeof rs.last_hash);
    r = new_replica_k(&rs, K_SMALL);
    replica_start(r);
    take(r, &f->acts);
    at = find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_CHECKPOINT);
    assert_true(at >= 0);
    c = sent_body(&f->acts.a[at], &evote__v1__checkpoint__descriptor);
    assert_non_null(c);
    assert_int_equal(c->seq, K_SMALL);
    assert_memory_equal(c->state_digest.data, rs.last_hash, CRYPTO_HASH_LEN);
    evote__v1__checkpoint__free_unpacked(c, NULL);
    actions_clear(&f->acts);
    replica_destroy(&r);
}

/* replica_catching_up (what evoted's state gate asks): a replica that
 * started a new chain has no reason to think it lacks blocks; a restarted
 * one does until it heard from a quorum. */
static void test_restarted_replica_is_catching_up(void **state)
{
    fixture *f = *state;
    replica_restore rs = {0};
    replica *r;

    assert_int_equal(replica_catching_up(f->r), 0);
    rs.last_executed = K_SMALL;
    memset(rs.last_hash, 0xcd, sizeof rs.last_hash);
    r = new_replica_k(&rs, K_SMALL);
    replica_start(r);
    take(r, &f->acts);
    assert_int_equal(replica_catching_up(r), 1);
    actions_clear(&f->acts);
    replica_destroy(&r);
}

/* The seq of the CHECKPOINT replica r broadcast among the actions, or 0. */
static uint64_t broadcast_checkpoint_seq(const actions *x)
{
    int at = find_broadcast(x, EVOTE__V1__KIND__KIND_CHECKPOINT);
    Evote__V1__Checkpoint *c;
    uint64_t seq;

    if (at < 0)
        return 0;
    c = sent_body(&x->a[at], &evote__v1__checkpoint__descriptor);
    assert_non_null(c);
    seq = c->seq;
    evote__v1__checkpoint__free_unpacked(c, NULL);
    return seq;
}

/* An extra checkpoint (evote: an empty block, the primary's idle
 * checkpoint): block 3 of K = 4 is executed with checkpoint = 1. The
 * replica signs it (not block 2), it becomes stable with 2f+1, moves the
 * window, survives a restart in the meta, and its proof goes into a
 * VIEW-CHANGE. */
static void test_extra_checkpoint_between_multiples_becomes_stable(void **state)
{
    fixture *f = *state;
    uint8_t hash[CRYPTO_HASH_LEN], *m;
    size_t len;
    replica_restore rs = {0};
    replica *r = new_replica_k(NULL, K_SMALL), *again;
    Evote__V1__ViewChange *vc;
    int at;

    replica_start(r);
    take(r, &f->acts);
    memset(hash, 0x3e, sizeof hash);
    for (uint64_t seq = 1; seq <= 3; seq++) {
        size_t blen;
        uint8_t *b = make_batch(seq, 0, &blen), d[CRYPTO_HASH_LEN];
        digest_of(b, blen, d);
        m = pre_prepare(0, 0, seq, d, b, blen, &len);
        deliver(f, r, 0, m, len);
        m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 2, 0, seq, d, &len);
        deliver(f, r, 2, m, len);
        m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 2, 0, seq, d, &len);
        deliver(f, r, 2, m, len);
        m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 3, 0, seq, d, &len);
        deliver(f, r, 3, m, len);
        assert_true(find_type(&f->acts, REPLICA_ACT_EXECUTE) >= 0);
        free(b);
        hash[0] = (uint8_t)seq;
        actions_clear(&f->acts);
        replica_on_executed(r, seq, hash, seq == 3);
        take(r, &f->acts);
        assert_int_equal(broadcast_checkpoint_seq(&f->acts), seq == 3 ? 3 : 0);
    }
    m = checkpoint_msg(0, 3, hash, &len);
    deliver(f, r, 0, m, len);
    assert_int_equal(replica_stable_seq(r), 0);
    m = checkpoint_msg(2, 3, hash, &len);
    deliver(f, r, 2, m, len);
    assert_int_equal(replica_stable_seq(r), 3);
    assert_int_equal(stats_of(r).stable_checkpoints, 1);
    assert_int_equal(stats_of(r).stable_extra, 1);
    assert_int_equal(stats_of(r).dropped_malformed, 0);

    /* The meta keeps it: a restarted replica starts from h = 3. */
    at = find_type(&f->acts, REPLICA_ACT_PERSIST_META);
    assert_true(at >= 0);
    rs.last_executed = 3;
    memcpy(rs.last_hash, hash, CRYPTO_HASH_LEN);
    rs.meta = f->acts.a[at].bytes;
    rs.meta_len = f->acts.a[at].len;
    again = new_replica_k(&rs, K_SMALL);
    assert_int_equal(replica_stable_seq(again), 3);
    replica_destroy(&again);

    /* f+1 others ask for view 1: its VIEW-CHANGE carries the checkpoint at
     * 3 with 2f+1 signatures. */
    actions_clear(&f->acts);
    m = view_change_msg(0, 1, &len);
    deliver(f, r, 0, m, len);
    m = view_change_msg(2, 1, &len);
    deliver(f, r, 2, m, len);
    at = find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE);
    assert_true(at >= 0);
    vc = sent_body(&f->acts.a[at], &evote__v1__view_change__descriptor);
    assert_non_null(vc);
    assert_int_equal(vc->stable_seq, 3);
    assert_int_equal(vc->n_checkpoint_proof, 3);
    evote__v1__view_change__free_unpacked(vc, NULL);
    actions_clear(&f->acts);
    replica_destroy(&r);
}

/* Restarted on an extra checkpoint that is not stable: signed again, as
 * at a multiple of K; the same tip not marked as one is not signed. */
static void test_restart_on_an_extra_checkpoint_signs_it_again(void **state)
{
    fixture *f = *state;
    replica_restore rs = {0};
    replica *r;

    rs.last_executed = 3;
    memset(rs.last_hash, 0xcd, sizeof rs.last_hash);
    r = new_replica_k(&rs, K_SMALL);
    replica_start(r);
    take(r, &f->acts);
    assert_int_equal(broadcast_checkpoint_seq(&f->acts), 0);
    actions_clear(&f->acts);
    replica_destroy(&r);

    rs.tip_is_checkpoint = 1;
    r = new_replica_k(&rs, K_SMALL);
    replica_start(r);
    take(r, &f->acts);
    assert_int_equal(broadcast_checkpoint_seq(&f->acts), 3);
    actions_clear(&f->acts);
    replica_destroy(&r);
}

/* ------------------------------------------------------------ view change */

static void test_view_timer_firing_broadcasts_view_change(void **state)
{
    fixture *f = *state;
    another_suspects(f, f->r, 0); /* with this replica, f+1 suspect view 0 */
    Evote__V1__ViewChange *vc;
    int at;

    primary_pre_prepares(f); /* a request is waiting: the view timer runs */
    at = find_type(&f->acts, REPLICA_ACT_SET_TIMER);
    assert_true(at >= 0);
    view_timer_runs_out(f, f->r); /* T, and T more: the primary did propose */
    fire(f, f->r, REPLICA_TIMER_VIEW);
    at = find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE);
    assert_true(at >= 0);
    vc = sent_body(&f->acts.a[at], &evote__v1__view_change__descriptor);
    assert_non_null(vc);
    assert_int_equal(vc->new_view, 1);
    assert_int_equal(vc->replica, ME);
    assert_int_equal(vc->stable_seq, 0);
    evote__v1__view_change__free_unpacked(vc, NULL);
    assert_true(replica_in_view_change(f->r));
    assert_int_equal(replica_view(f->r), 1);
    /* What it did is persisted before the VIEW-CHANGE leaves. */
    assert_true(find_type(&f->acts, REPLICA_ACT_PERSIST_META) >= 0);
    assert_true(find_type(&f->acts, REPLICA_ACT_PERSIST_META) < at);
}

/* The prepared certificate shares its batch with the view's entry (no
 * copy); when the view is left, the certificate keeps the bytes, and the
 * VIEW-CHANGE carries them. */
static void test_prepared_batch_travels_in_the_view_change(void **state)
{
    fixture *f = *state;
    Evote__V1__PeerMessage *pm;
    Evote__V1__ViewChange *vc;
    int at;

    another_suspects(f, f->r, 0);
    primary_pre_prepares(f);
    vote_from(f, EVOTE__V1__KIND__KIND_PREPARE, 2, f->digest); /* prepared, not committed */
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_COMMIT) >= 0);
    view_timer_runs_out(f, f->r);
    fire(f, f->r, REPLICA_TIMER_VIEW);
    at = find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE);
    assert_true(at >= 0);
    vc = sent_body(&f->acts.a[at], &evote__v1__view_change__descriptor);
    assert_non_null(vc);
    assert_int_equal(vc->n_prepared, 1);
    evote__v1__view_change__free_unpacked(vc, NULL);
    pm = evote__v1__peer_message__unpack(NULL, f->acts.a[at].len, f->acts.a[at].bytes);
    assert_non_null(pm);
    assert_int_equal(pm->n_batches, 1);
    assert_int_equal(pm->batches[0].len, f->batch_len);
    assert_memory_equal(pm->batches[0].data, f->batch, f->batch_len);
    evote__v1__peer_message__free_unpacked(pm, NULL);
}

static void test_new_view_from_non_primary_is_dropped(void **state)
{
    fixture *f = *state;
    const uint32_t vcs[3] = {0, 2, 3};
    size_t len;
    /* The primary of view 2 is replica 2; replica 3 sends it. */
    uint8_t *m = new_view_msg(3, 2, vcs, 3, &len);

    deliver(f, f->r, 3, m, len);
    assert_int_equal(stats_of(f->r).dropped_wrong_role, 1);
    assert_int_equal(replica_view(f->r), 0);
    assert_int_equal(find_type(&f->acts, REPLICA_ACT_VIEW_CHANGED), -1);
}

static void test_new_view_with_fewer_than_2f_plus_1_view_changes_is_dropped(void **state)
{
    fixture *f = *state;
    const uint32_t two[2] = {0, 2}, dup[3] = {0, 2, 2}, three[3] = {0, 2, 3};
    size_t len;
    uint8_t *m = new_view_msg(2, 2, two, 2, &len);

    deliver(f, f->r, 2, m, len);
    assert_int_equal(stats_of(f->r).dropped_bad_proof, 1);
    assert_int_equal(replica_view(f->r), 0);
    /* Three, but one replica twice. */
    m = new_view_msg(2, 2, dup, 3, &len);
    deliver(f, f->r, 2, m, len);
    assert_int_equal(stats_of(f->r).dropped_bad_proof, 2);
    assert_int_equal(replica_view(f->r), 0);
    /* 2f+1 distinct ones: the replica enters view 2. */
    m = new_view_msg(2, 2, three, 3, &len);
    deliver(f, f->r, 2, m, len);
    assert_int_equal(stats_of(f->r).dropped_bad_proof, 2);
    assert_int_equal(replica_view(f->r), 2);
    assert_false(replica_in_view_change(f->r));
    assert_true(find_type(&f->acts, REPLICA_ACT_VIEW_CHANGED) >= 0);
    assert_int_equal(stats_of(f->r).view_changes, 1);
}

/* ------------------------------------------------------------- view timer */

/* A primary that sends nothing while requests wait: the backup waits T
 * (default 1000 ms: a quarter, then the rest) and asks for view 1. What the
 * primary sends besides proposals — a checkpoint, votes — is no progress. */
static void test_silent_primary_is_left_after_one_timeout(void **state)
{
    fixture *f = *state;
    uint8_t d[CRYPTO_HASH_LEN] = {7}, *m;
    size_t len;
    another_suspects(f, f->r, 0); /* with this replica, f+1 suspect view 0 */

    replica_on_pending(f->r, 1);
    take(f->r, &f->acts);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 250);
    fire(f, f->r, REPLICA_TIMER_VIEW);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 250);
    fire(f, f->r, REPLICA_TIMER_VIEW);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 500);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE), -1);
    m = checkpoint_msg(0, 64, d, &len);
    deliver(f, f->r, 0, m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 0, 0, 1, d, &len); /* one replica alone: not f+1 */
    deliver(f, f->r, 0, m, len);
    fire(f, f->r, REPLICA_TIMER_VIEW);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE) >= 0);
    assert_true(replica_in_view_change(f->r));
    assert_int_equal(replica_view(f->r), 1);
}

/* Rule 4: a replica whose view timer runs out while nobody else's does (it
 * lags, or waits for requests only it holds) says so with a SUSPECT and
 * goes on working in the view; it asks for the next view once one other
 * replica suspects it too (f+1 = 2), or asks for a later view. */
static void test_lone_timeout_suspects_and_stays_in_the_view(void **state)
{
    fixture *f = *state;
    Evote__V1__Suspect *s;
    uint8_t *m;
    size_t len;
    int at;

    replica_on_pending(f->r, 1);
    take(f->r, &f->acts);
    view_timer_runs_out(f, f->r);
    at = find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_SUSPECT);
    assert_true(at >= 0);
    s = sent_body(&f->acts.a[at], &evote__v1__suspect__descriptor);
    assert_non_null(s);
    assert_int_equal(s->view, 0);
    assert_int_equal(s->replica, ME);
    evote__v1__suspect__free_unpacked(s, NULL);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE), -1);
    assert_false(replica_in_view_change(f->r));
    assert_int_equal(stats_of(f->r).suspects_sent, 1);
    at = find_type(&f->acts, REPLICA_ACT_SUSPECTED); /* the embedder hears of it */
    assert_true(at >= 0);
    assert_int_equal(f->acts.a[at].view, 0);
    assert_true(timer_delay(&f->acts, REPLICA_TIMER_VIEW) > 0); /* it waits again */
    /* Still in view 0: it prepares what the primary proposes. */
    primary_pre_prepares(f);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE) >= 0);
    /* Its timer runs out again: it says so again, still alone. */
    actions_clear(&f->acts);
    fire(f, f->r, REPLICA_TIMER_VIEW); /* the PRE-PREPARE: one extension */
    fire(f, f->r, REPLICA_TIMER_VIEW);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_SUSPECT) >= 0);
    assert_false(replica_in_view_change(f->r));
    /* A SUSPECT for another view is no second voice for this one. */
    m = suspect_msg(2, 5, &len);
    deliver(f, f->r, 2, m, len);
    assert_false(replica_in_view_change(f->r));
    /* Replica 3 suspects view 0 too: f+1, the view is left. */
    m = suspect_msg(3, 0, &len);
    deliver(f, f->r, 3, m, len);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE) >= 0);
    assert_true(replica_in_view_change(f->r));
    assert_int_equal(replica_view(f->r), 1);
}

/* Others' suspicions alone do not move a replica whose own timer has not
 * run out (they ask for the view themselves, and f+1 VIEW-CHANGEs bring it
 * along); a SUSPECT whose body names another replica than its signer is
 * dropped. */
static void test_suspicions_of_others_need_this_replicas_own(void **state)
{
    fixture *f = *state;
    Evote__V1__Suspect sb = EVOTE__V1__SUSPECT__INIT;
    uint64_t before;
    uint8_t *m;
    size_t len;

    m = suspect_msg(2, 0, &len);
    deliver(f, f->r, 2, m, len);
    m = suspect_msg(3, 0, &len);
    deliver(f, f->r, 3, m, len);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE), -1);
    assert_false(replica_in_view_change(f->r));
    assert_int_equal(replica_view(f->r), 0);
    before = stats_of(f->r).dropped_wrong_sender;
    sb.chain_id.data = chain_id;
    sb.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    sb.view = 0;
    sb.replica = 2;
    m = peer_msg(EVOTE__V1__KIND__KIND_SUSPECT, &sb.base, 0, 0, NULL, 0, &len); /* signed by 0 */
    deliver(f, f->r, 0, m, len);
    assert_int_equal(stats_of(f->r).dropped_wrong_sender, before + 1);
}

/* Its own timer ran out, and one other replica asks for view 1: f+1. */
static void test_own_suspicion_and_one_view_change_leave_the_view(void **state)
{
    fixture *f = *state;
    uint8_t *m;
    size_t len;

    replica_on_pending(f->r, 1);
    take(f->r, &f->acts);
    view_timer_runs_out(f, f->r);
    assert_false(replica_in_view_change(f->r));
    m = view_change_msg(2, 1, &len);
    deliver(f, f->r, 2, m, len);
    assert_true(replica_in_view_change(f->r));
    assert_int_equal(replica_view(f->r), 1);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE) >= 0);
}

/* The view timer is extended when the seq it waits for moves (the
 * primary's PRE-PREPARE arrives, even while its batch is being checked;
 * it prepares) or when f+1 others commit newer seqs — each time only for
 * new evidence, and at most 3 times for one seq in one view: a primary
 * that proposes but lets nothing commit is left after 4T. */
static void test_progress_extends_the_view_timer_at_most_three_times(void **state)
{
    fixture *f = *state;
    uint8_t d[CRYPTO_HASH_LEN] = {9}, *m;
    size_t len;
    another_suspects(f, f->r, 0); /* with this replica, f+1 suspect view 0 */

    replica_on_pending(f->r, 1);
    take(f->r, &f->acts);
    view_timer_past_half(f, f->r);
    validate_answer = REPLICA_VALIDATE_LATER;
    primary_pre_prepares(f); /* arrives, being checked */
    fire(f, f->r, REPLICA_TIMER_VIEW);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE), -1);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 1000); /* extension 1 */
    replica_on_batch_validated(f->r, 1, f->digest, 1);
    take(f->r, &f->acts);
    vote_from(f, EVOTE__V1__KIND__KIND_PREPARE, 2, f->digest); /* prepared */
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_COMMIT) >= 0);
    fire(f, f->r, REPLICA_TIMER_VIEW);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE), -1);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 1000); /* extension 2 */
    /* Replicas 2 and 3 commit seq 5 (f+1 others): the cluster goes on. */
    m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 2, 0, 5, d, &len);
    deliver(f, f->r, 2, m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 3, 0, 5, d, &len);
    deliver(f, f->r, 3, m, len);
    fire(f, f->r, REPLICA_TIMER_VIEW);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE), -1);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 1000); /* extension 3 */
    /* More evidence, but the budget for seq 1 in view 0 is spent. */
    m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 2, 0, 6, d, &len);
    deliver(f, f->r, 2, m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 3, 0, 6, d, &len);
    deliver(f, f->r, 3, m, len);
    fire(f, f->r, REPLICA_TIMER_VIEW);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE) >= 0);
}

/* Each extension needs new evidence (a PRE-PREPARE already there counts
 * the first time): the same progress counts once at most. */
static void test_progress_counts_once_for_the_view_timer(void **state)
{
    fixture *f = *state;
    another_suspects(f, f->r, 0); /* with this replica, f+1 suspect view 0 */

    primary_pre_prepares(f); /* waiting for seq 1 starts here, with its PRE-PREPARE in */
    replica_on_pending(f->r, 1);
    take(f->r, &f->acts);
    view_timer_runs_out(f, f->r);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE), -1);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 1000);
    fire(f, f->r, REPLICA_TIMER_VIEW); /* nothing new since */
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE) >= 0);
}

static void test_prepared_extends_the_view_timer_once(void **state)
{
    fixture *f = *state;
    another_suspects(f, f->r, 0); /* with this replica, f+1 suspect view 0 */

    primary_pre_prepares(f);
    vote_from(f, EVOTE__V1__KIND__KIND_PREPARE, 2, f->digest); /* prepared during the wait */
    view_timer_runs_out(f, f->r);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE), -1);
    fire(f, f->r, REPLICA_TIMER_VIEW); /* no commit in T more */
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE) >= 0);
}

/* f+1 others COMMIT far ahead (beyond our window: we restarted, or lag):
 * this replica is behind, not facing a faulty primary. It asks a peer for
 * blocks instead of asking alone for a view nobody else wants. */
static void test_laggard_probes_for_blocks_instead_of_changing_view(void **state)
{
    fixture *f = *state;
    uint8_t d[CRYPTO_HASH_LEN] = {3}, *m;
    size_t len;
    another_suspects(f, f->r, 0); /* with this replica, f+1 suspect view 0 */

    replica_on_pending(f->r, 1);
    take(f->r, &f->acts);
    view_timer_past_half(f, f->r);
    m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 2, 0, 3 * WINDOW, d, &len);
    deliver(f, f->r, 2, m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 0, 0, 3 * WINDOW, d, &len);
    deliver(f, f->r, 0, m, len);
    fire(f, f->r, REPLICA_TIMER_VIEW);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE), -1);
    assert_true(find_msg(&f->acts, REPLICA_ACT_SEND, EVOTE__V1__KIND__KIND_STATE_REQUEST) >= 0);
    assert_false(replica_in_view_change(f->r));
    /* Nothing new from them in the next T: now it is the primary. */
    fire(f, f->r, REPLICA_TIMER_VIEW);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE) >= 0);
}

/* A restarted replica asks its peers what it missed, and does not suspect
 * the primary on its own before it has heard from 2f others (a quorum with
 * itself): a silent primary and its own isolation look the same. */
static void test_restarted_replica_hears_a_quorum_before_suspecting_the_primary(void **state)
{
    fixture *f = *state;
    replica_restore rs = {0};
    uint8_t d[CRYPTO_HASH_LEN] = {1}, *m;
    size_t len;
    replica *r;

    rs.last_executed = 5;
    memset(rs.last_hash, 0xab, sizeof rs.last_hash);
    r = new_replica(&rs);
    replica_start(r);
    take(r, &f->acts);
    assert_true(find_msg(&f->acts, REPLICA_ACT_SEND, EVOTE__V1__KIND__KIND_STATE_REQUEST) >= 0);
    m = suspect_msg(2, 0, &len); /* replica 2 suspects view 0 too (and counts as heard) */
    deliver(f, r, 2, m, len);
    replica_on_pending(r, 1);
    take(r, &f->acts);
    for (int i = 0; i < 6; i++) { /* more than the 3 extensions a replica that heard them gets */
        view_timer_runs_out(f, r);
        assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE), -1);
        fire(f, r, REPLICA_TIMER_FETCH); /* nobody answers */
    }
    assert_false(replica_in_view_change(r));
    m = checkpoint_msg(3, 64, d, &len); /* a second other speaks: a quorum with us */
    deliver(f, r, 3, m, len);
    fire(f, r, REPLICA_TIMER_VIEW); /* the wait running now ends with nothing new */
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE) >= 0);
    actions_clear(&f->acts);
    replica_destroy(&r);
}

/* Leaving a view doubles T; the new view's executions do not reset it:
 * only 32 executions in a row within T/4 halve it (and never below the
 * configured timeout); one past T/2 doubles it. */
static void test_timeout_doubles_per_view_and_decays_after_a_timely_run(void **state)
{
    fixture *f = *state;
    const uint32_t vcs[3] = {0, 2, 3};
    uint8_t *m;
    size_t len;
    another_suspects(f, f->r, 0); /* with this replica, f+1 suspect view 0 */

    replica_on_pending(f->r, 1);
    take(f->r, &f->acts);
    view_timer_runs_out(f, f->r); /* view 1 asked for: T = 2000 */
    assert_true(replica_in_view_change(f->r));
    m = new_view_msg(2, 2, vcs, 3, &len); /* view 2 (primary 2) starts */
    deliver(f, f->r, 2, m, len);
    assert_int_equal(replica_view(f->r), 2);
    assert_false(replica_in_view_change(f->r));
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 500);
    for (uint64_t s = 1; s <= 31; s++) {
        agree(f, 2, s);
        assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 500); /* still 2000 / 4 */
    }
    agree(f, 2, 32);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 250); /* halved: 1000 / 4 */
    /* A late execution breaks the run. */
    fire(f, f->r, REPLICA_TIMER_VIEW); /* the quarter passes */
    agree(f, 2, 33);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 250);
    for (uint64_t s = 34; s <= 70; s++)
        agree(f, 2, s);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 250); /* never below the configured T */
    /* A block that came after T/2: T was tight, it doubles. */
    view_timer_past_half(f, f->r);
    agree(f, 2, 71);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_VIEW), 500);
}

/* A VIEW-CHANGE for new_view from signer (empty), as a PeerMessage. */
static uint8_t *view_change_msg(uint32_t signer, uint64_t new_view, size_t *len)
{
    Evote__V1__Envelope *e = empty_view_change(signer, new_view);
    size_t el = evote__v1__envelope__get_packed_size(e);
    uint8_t *eb = malloc(el), *out;

    assert_non_null(eb);
    evote__v1__envelope__pack(e, eb);
    out = wrap(eb, el, NULL, 0, len);
    free(eb);
    evote__v1__envelope__free_unpacked(e, NULL);
    return out;
}

/* A VIEW-CHANGE whose stable checkpoint proof holds one CHECKPOINT
 * envelope (signed once) copies times: each envelope is a signature check,
 * so more envelopes than replicas are refused before any is checked (a
 * faulty validator's 80,000 copies cost seconds of the event loop). */
static void test_a_proof_with_more_envelopes_than_replicas_costs_no_checks(void **state)
{
    fixture *f = *state;
    Evote__V1__ViewChange vc = EVOTE__V1__VIEW_CHANGE__INIT;
    Evote__V1__Envelope *cps[64];
    uint8_t d[CRYPTO_HASH_LEN] = {7}, *cm, *bytes, *m;
    size_t cml, len, ml;
    Evote__V1__PeerMessage *pm;
    unsigned long before;

    cm = checkpoint_msg(2, 64, d, &cml);
    pm = evote__v1__peer_message__unpack(NULL, cml, cm);
    assert_non_null(pm);
    for (size_t i = 0; i < 64; i++) {
        cps[i] = evote__v1__envelope__unpack(NULL, pm->envelope.len, pm->envelope.data);
        assert_non_null(cps[i]);
    }
    vc.chain_id.data = chain_id;
    vc.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    vc.new_view = 1;
    vc.replica = 2;
    vc.stable_seq = 64;
    vc.checkpoint_proof = cps;
    vc.n_checkpoint_proof = 64;
    bytes = seal(EVOTE__V1__KIND__KIND_VIEW_CHANGE, &vc.base, 2, 0, &len);
    m = wrap(bytes, len, NULL, 0, &ml);
    before = verify_calls;
    deliver(f, f->r, 2, m, ml);
    assert_true(verify_calls - before <= 1); /* the VIEW-CHANGE's own signature at most */
    assert_true(stats_of(f->r).dropped_bad_proof >= 1);
    free(bytes);
    free(cm);
    for (size_t i = 0; i < 64; i++)
        evote__v1__envelope__free_unpacked(cps[i], NULL);
    evote__v1__peer_message__free_unpacked(pm, NULL);
}

/* Replica ME asks for view 2 with replicas 0 and 2 (2f+1: the wait for the
 * NEW-VIEW runs). */
static void three_ask_for_view_2(fixture *f)
{
    uint8_t *m;
    size_t len;

    another_suspects(f, f->r, 0);
    replica_on_pending(f->r, 1);
    take(f->r, &f->acts);
    view_timer_runs_out(f, f->r); /* asks for view 1 */
    assert_int_equal(replica_view(f->r), 1);
    m = view_change_msg(0, 2, &len);
    deliver(f, f->r, 0, m, len);
    m = view_change_msg(2, 2, &len); /* f+1 others in view 2: it follows them */
    deliver(f, f->r, 2, m, len);
    assert_int_equal(replica_view(f->r), 2);
    assert_true(replica_in_view_change(f->r));
    assert_true(timer_delay(&f->acts, REPLICA_TIMER_VIEW) > 0);
}

/* The new primary (replica 2) asked for view 2 too: it is alive, and its
 * NEW-VIEW takes two message delays; the wait for it is extended once. */
static void test_new_view_wait_is_extended_once_for_a_live_primary(void **state)
{
    fixture *f = *state;

    three_ask_for_view_2(f);
    fire(f, f->r, REPLICA_TIMER_VIEW);
    assert_int_equal(replica_view(f->r), 2);
    fire(f, f->r, REPLICA_TIMER_VIEW);
    assert_int_equal(replica_view(f->r), 3);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE) >= 0);
}

/* f+1 others already work in view 2 (PREPAREs of view 2): it started and
 * this replica missed its NEW-VIEW. It asks them for it and never moves
 * on alone to view 3. */
static void test_view_others_work_in_is_not_given_up(void **state)
{
    fixture *f = *state;
    uint8_t d[CRYPTO_HASH_LEN] = {5}, *m;
    size_t len;
    int at;

    three_ask_for_view_2(f);
    m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 0, 2, 1, d, &len);
    deliver(f, f->r, 0, m, len);
    at = find_msg(&f->acts, REPLICA_ACT_SEND, EVOTE__V1__KIND__KIND_STATE_REQUEST);
    assert_true(at >= 0);
    assert_int_equal(f->acts.a[at].to, 0); /* it answers with its NEW-VIEW */
    m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 3, 2, 1, d, &len);
    deliver(f, f->r, 3, m, len);
    for (int i = 0; i < 5; i++) {
        fire(f, f->r, REPLICA_TIMER_FETCH);
        fire(f, f->r, REPLICA_TIMER_VIEW);
        assert_int_equal(replica_view(f->r), 2);
    }
    assert_int_equal(stats_of(f->r).by_kind_sent[EVOTE__V1__KIND__KIND_VIEW_CHANGE], 2); /* views 1 and 2 */
}

/* A replica that voted in view 2 and then asked for view 3 no longer works
 * in view 2. Counting it, one faulty replica (that voted in view 2 once and
 * then fell silent) would keep this one waiting for view 2's NEW-VIEW for
 * good, since nobody left in view 2 sends it: it moves on to view 3. */
static void test_a_replica_that_left_the_view_no_longer_holds_others_in_it(void **state)
{
    fixture *f = *state;
    uint8_t d[CRYPTO_HASH_LEN] = {5}, *m;
    size_t len;

    three_ask_for_view_2(f);
    m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 0, 2, 1, d, &len); /* the faulty one, then silent */
    deliver(f, f->r, 0, m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 3, 2, 1, d, &len);
    deliver(f, f->r, 3, m, len);
    m = view_change_msg(3, 3, &len); /* replica 3 gave up view 2 */
    deliver(f, f->r, 3, m, len);
    for (int i = 0; i < 3 && replica_view(f->r) == 2; i++) {
        fire(f, f->r, REPLICA_TIMER_FETCH);
        fire(f, f->r, REPLICA_TIMER_VIEW);
    }
    assert_int_equal(replica_view(f->r), 3);
    assert_int_equal(stats_of(f->r).by_kind_sent[EVOTE__V1__KIND__KIND_VIEW_CHANGE], 3); /* views 1, 2, 3 */
}

/* This replica's view timer ran out once (its request reached the primary
 * late) and it said so; then what it waited for went through and nothing
 * waits. Its old suspicion no longer counts: one faulty replica's SUSPECT
 * much later does not take it out of the healthy view. Its suspicion while
 * something still waits does. */
static void test_a_suspicion_lapses_once_nothing_waits(void **state)
{
    fixture *f = *state;

    replica_on_pending(f->r, 1);
    take(f->r, &f->acts);
    view_timer_runs_out(f, f->r);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_SUSPECT) >= 0);
    assert_int_equal(replica_in_view_change(f->r), 0); /* alone so far */
    replica_on_pending(f->r, 0);
    take(f->r, &f->acts);
    another_suspects(f, f->r, 0);
    assert_int_equal(replica_in_view_change(f->r), 0);
    assert_int_equal(replica_view(f->r), 0);
    /* The control: while something waits, the two suspicions are f+1. */
    replica_on_pending(f->r, 1);
    take(f->r, &f->acts);
    view_timer_runs_out(f, f->r);
    assert_int_equal(replica_in_view_change(f->r), 1);
}

/* Retransmissions back off while nothing moves, doubling up to T/2 (a
 * block that takes 20 s on a slow link is not re-sent 40 times), and start
 * again from the setting once something moves. */
static void test_retransmissions_back_off_while_stuck(void **state)
{
    fixture *f = *state;
    const uint32_t vcs[3] = {0, 2, 3};
    uint8_t *m;
    size_t len;

    another_suspects(f, f->r, 0); /* with this replica, f+1 suspect view 0 */
    replica_on_pending(f->r, 1);
    take(f->r, &f->acts);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_RETRANSMIT), 500);
    fire(f, f->r, REPLICA_TIMER_RETRANSMIT);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_RETRANSMIT), 500); /* T/2 = 500: no room */
    view_timer_runs_out(f, f->r); /* view 1 asked for: T = 2000 */
    fire(f, f->r, REPLICA_TIMER_RETRANSMIT);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_VIEW_CHANGE) >= 0); /* resent */
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_RETRANSMIT), 1000);
    fire(f, f->r, REPLICA_TIMER_RETRANSMIT);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_RETRANSMIT), 1000); /* at most T/2 */
    m = new_view_msg(2, 2, vcs, 3, &len);
    deliver(f, f->r, 2, m, len);
    agree(f, 2, 1);
    fire(f, f->r, REPLICA_TIMER_RETRANSMIT); /* progress since the last tick: nothing resent */
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_RETRANSMIT), 500);
}

/* An idle replica (nothing waits) asks a peer for anything newer every 16
 * retransmit periods (8 s by default): otherwise one that fell behind on an
 * idle cluster would never learn it. Once something waits, the usual
 * period is back. */
static void test_idle_replica_probes_a_peer_now_and_then(void **state)
{
    fixture *f = *state;

    replica_on_pending(f->r, 0);
    take(f->r, &f->acts);
    fire(f, f->r, REPLICA_TIMER_RETRANSMIT);
    assert_true(find_msg(&f->acts, REPLICA_ACT_SEND, EVOTE__V1__KIND__KIND_STATE_REQUEST) >= 0);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_RETRANSMIT), 8000);
    replica_on_pending(f->r, 1);
    take(f->r, &f->acts);
    assert_int_equal(timer_delay(&f->acts, REPLICA_TIMER_RETRANSMIT), 500);
}

/* The NEW-VIEW that goes with an answer to a state request (the asker may
 * not know the view) is not sent twice for the same question: idle
 * replicas ask every few seconds, and a NEW-VIEW can be megabytes. */
static size_t new_views_sent_for(fixture *f, uint32_t asker, uint64_t from_height)
{
    Evote__V1__StateRequest q = EVOTE__V1__STATE_REQUEST__INIT;
    uint8_t *m;
    size_t len;

    q.chain_id.data = chain_id;
    q.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    q.from_height = from_height;
    q.replica = asker;
    m = peer_msg(EVOTE__V1__KIND__KIND_STATE_REQUEST, &q.base, asker, 0, NULL, 0, &len);
    deliver(f, f->r, asker, m, len);
    return count_sends(&f->acts, asker, EVOTE__V1__KIND__KIND_NEW_VIEW);
}

static void test_new_view_is_not_resent_for_the_same_question(void **state)
{
    fixture *f = *state;
    const uint32_t vcs[3] = {0, 2, 3};
    uint8_t *m;
    size_t len;

    m = new_view_msg(2, 2, vcs, 3, &len);
    deliver(f, f->r, 2, m, len);
    assert_int_equal(replica_view(f->r), 2);
    assert_int_equal(new_views_sent_for(f, 3, 1), 1);
    assert_int_equal(new_views_sent_for(f, 3, 1), 0);
    assert_int_equal(new_views_sent_for(f, 0, 1), 1); /* another asker */
    assert_int_equal(new_views_sent_for(f, 3, 2), 1); /* another question */
}

/* A replica restarted from rs with the stored NEW-VIEW nv (view 2 in the
 * meta): how many NEW-VIEWs it sends replica 3, which asks for view 2. */
static size_t new_views_relayed_after_restart(fixture *f, replica_restore *rs, const uint8_t *nv, size_t nv_len)
{
    replica *again;
    uint8_t *m;
    size_t len, sent;

    rs->new_view = nv;
    rs->new_view_len = nv_len;
    again = new_replica(rs);
    assert_int_equal(replica_view(again), 2);
    m = view_change_msg(3, 2, &len);
    deliver(f, again, 3, m, len);
    sent = count_sends(&f->acts, 3, EVOTE__V1__KIND__KIND_NEW_VIEW);
    actions_clear(&f->acts);
    replica_destroy(&again);
    return sent;
}

/* The NEW-VIEW that started a view is stored once, by its own action,
 * not in the consensus meta that is rewritten at every step (with ballots
 * in flight it carries megabytes of batches); a restarted replica gets it
 * back from replica_restore and relays it, but only for its own view. */
static void test_new_view_is_stored_once_apart_from_the_meta(void **state)
{
    fixture *f = *state;
    const uint32_t vcs[3] = {0, 2, 3};
    replica_restore rs = {0};
    Evote__V1__ConsensusMeta *cm;
    uint8_t *m, *nv, *meta, *other;
    size_t len, nv_len, meta_len, other_len;
    int at, meta_at;

    m = new_view_msg(2, 2, vcs, 3, &len);
    nv = malloc(len);
    assert_non_null(nv);
    memcpy(nv, m, len);
    nv_len = len;
    deliver(f, f->r, 2, m, len);
    assert_int_equal(replica_view(f->r), 2);
    at = find_type(&f->acts, REPLICA_ACT_PERSIST_NEW_VIEW);
    assert_true(at >= 0);
    assert_int_equal(f->acts.a[at].view, 2);
    assert_int_equal(f->acts.a[at].len, nv_len);
    assert_memory_equal(f->acts.a[at].bytes, nv, nv_len);
    meta_at = find_type(&f->acts, REPLICA_ACT_PERSIST_META);
    assert_true(meta_at >= 0);
    cm = evote__v1__consensus_meta__unpack(NULL, f->acts.a[meta_at].len, f->acts.a[meta_at].bytes);
    assert_non_null(cm);
    assert_int_equal(cm->view, 2);
    assert_int_equal(cm->new_view.len, 0);
    evote__v1__consensus_meta__free_unpacked(cm, NULL);
    meta_len = f->acts.a[meta_at].len;
    meta = malloc(meta_len);
    assert_non_null(meta);
    memcpy(meta, f->acts.a[meta_at].bytes, meta_len);
    actions_clear(&f->acts);

    /* Later steps of the view do not store it again. */
    m = view_change_msg(3, 2, &len);
    deliver(f, f->r, 3, m, len);
    assert_int_equal(count_sends(&f->acts, 3, EVOTE__V1__KIND__KIND_NEW_VIEW), 1);
    assert_int_equal(find_type(&f->acts, REPLICA_ACT_PERSIST_NEW_VIEW), -1);
    actions_clear(&f->acts);

    /* Restarted with it: relays it to a replica still asking for view 2;
     * stored for another view, or damaged: started all the same, relays
     * nothing. */
    rs.meta = meta;
    rs.meta_len = meta_len;
    assert_int_equal(new_views_relayed_after_restart(f, &rs, nv, nv_len), 1);
    other = new_view_msg(3, 3, vcs, 3, &other_len);
    assert_int_equal(new_views_relayed_after_restart(f, &rs, other, other_len), 0);
    nv[nv_len / 2] ^= 1;
    assert_int_equal(new_views_relayed_after_restart(f, &rs, nv, nv_len), 0);
    free(other);
    free(nv);
    free(meta);
}

/* An agreement message's bare Envelope (for proofs). Out: malloc'ed. */
static Evote__V1__Envelope *agreement_envelope(Evote__V1__Kind kind, uint32_t signer, uint64_t view, uint64_t seq,
                                               const uint8_t digest[CRYPTO_HASH_LEN])
{
    Evote__V1__PeerMessage *pm;
    Evote__V1__Envelope *e;
    size_t len;
    uint8_t *m = agreement_msg(kind, signer, signer, chain_id, view, seq, digest, 0, NULL, 0, &len);

    pm = evote__v1__peer_message__unpack(NULL, len, m);
    assert_non_null(pm);
    e = evote__v1__envelope__unpack(NULL, pm->envelope.len, pm->envelope.data);
    assert_non_null(e);
    evote__v1__peer_message__free_unpacked(pm, NULL);
    free(m);
    return e;
}

/* A NEW-VIEW for `view` from its primary whose V holds empty VIEW-CHANGEs
 * from vc_signers plus, from `prover`, one carrying the prepared
 * certificate (PRE-PREPARE of proof_view's primary, PREPAREs of p1 and p2)
 * for (proof_view, seq 1, digest); O re-proposes digest at seq 1, the batch
 * not attached. Out: malloc'ed PeerMessage. */
static uint8_t *new_view_reproposing(uint64_t view, uint32_t prover, const uint32_t *vc_signers, size_t n_vc,
                                     uint64_t proof_view, uint32_t p1, uint32_t p2,
                                     const uint8_t digest[CRYPTO_HASH_LEN], size_t *len)
{
    Evote__V1__NewView nv = EVOTE__V1__NEW_VIEW__INIT;
    Evote__V1__ViewChange vc = EVOTE__V1__VIEW_CHANGE__INIT;
    Evote__V1__PreparedProof pp = EVOTE__V1__PREPARED_PROOF__INIT, *ppp = &pp;
    Evote__V1__Envelope *vcs[N], *prep[2], *o;
    uint32_t primary = (uint32_t)(view % N);
    uint8_t *bytes, *out;
    size_t blen;

    pp.pre_prepare = agreement_envelope(EVOTE__V1__KIND__KIND_PRE_PREPARE, (uint32_t)(proof_view % N), proof_view,
                                        1, digest);
    prep[0] = agreement_envelope(EVOTE__V1__KIND__KIND_PREPARE, p1, proof_view, 1, digest);
    prep[1] = agreement_envelope(EVOTE__V1__KIND__KIND_PREPARE, p2, proof_view, 1, digest);
    pp.n_prepares = 2;
    pp.prepares = prep;
    vc.chain_id.data = chain_id;
    vc.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    vc.new_view = view;
    vc.n_prepared = 1;
    vc.prepared = &ppp;
    vc.replica = prover;
    bytes = seal(EVOTE__V1__KIND__KIND_VIEW_CHANGE, &vc.base, prover, 0, &blen);
    vcs[0] = evote__v1__envelope__unpack(NULL, blen, bytes);
    assert_non_null(vcs[0]);
    free(bytes);
    for (size_t i = 0; i < n_vc; i++)
        vcs[1 + i] = empty_view_change(vc_signers[i], view);
    o = agreement_envelope(EVOTE__V1__KIND__KIND_PRE_PREPARE, primary, view, 1, digest);
    nv.chain_id.data = chain_id;
    nv.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    nv.view = view;
    nv.n_view_changes = 1 + n_vc;
    nv.view_changes = vcs;
    nv.n_pre_prepares = 1;
    nv.pre_prepares = &o;
    nv.replica = primary;
    out = peer_msg(EVOTE__V1__KIND__KIND_NEW_VIEW, &nv.base, primary, 0, NULL, 0, len);
    for (size_t i = 0; i < 1 + n_vc; i++)
        evote__v1__envelope__free_unpacked(vcs[i], NULL);
    evote__v1__envelope__free_unpacked(o, NULL);
    evote__v1__envelope__free_unpacked(pp.pre_prepare, NULL);
    evote__v1__envelope__free_unpacked(prep[0], NULL);
    evote__v1__envelope__free_unpacked(prep[1], NULL);
    return out;
}

/* A seq prepared in a NEW-VIEW's re-proposal whose batch this replica never
 * got, then re-proposed again (batch still not attached) and committed:
 * the replica fetches the block; it never executes an empty batch under
 * the certificate of another (it did: the prepared certificate kept an
 * empty copy of the missing batch, which the next view took for it). */
static void test_prepared_without_its_batch_is_fetched_not_executed_empty(void **state)
{
    fixture *f = *state;
    const uint32_t v2[2] = {2, 3}, v3[2] = {0, 3};
    uint8_t *m;
    size_t len;

    /* View 2 re-proposes seq 1 (prepared in view 0 by 0, 2, 3; ME never saw it). */
    m = new_view_reproposing(2, 0, v2, 2, 0, 2, 3, f->digest, &len);
    deliver(f, f->r, 2, m, len);
    assert_int_equal(replica_view(f->r), 2);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE) >= 0);
    m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 3, 2, 1, f->digest, &len);
    deliver(f, f->r, 3, m, len); /* prepared in view 2, without the batch */
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_COMMIT) >= 0);
    /* View 3 re-proposes it (2's certificate from view 2), batch not attached. */
    m = new_view_reproposing(3, 2, v3, 2, 2, ME, 3, f->digest, &len);
    deliver(f, f->r, 3, m, len);
    assert_int_equal(replica_view(f->r), 3);
    m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 0, 3, 1, f->digest, &len);
    deliver(f, f->r, 0, m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 0, 3, 1, f->digest, &len);
    deliver(f, f->r, 0, m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_COMMIT, 3, 3, 1, f->digest, &len);
    deliver(f, f->r, 3, m, len); /* committed */
    assert_int_equal(find_type(&f->acts, REPLICA_ACT_EXECUTE), -1);
    assert_int_equal(replica_last_executed(f->r), 0);
    assert_true(find_msg(&f->acts, REPLICA_ACT_SEND, EVOTE__V1__KIND__KIND_STATE_REQUEST) >= 0);
}

/* ------------------------------------------------------ crash and restart */

static void test_persist_meta_precedes_prepare_and_restored_replica_keeps_its_vote(void **state)
{
    fixture *f = *state;
    replica_restore rs = {0};
    uint8_t *meta, *m;
    size_t len;
    int meta_at, prep_at;
    replica *again;

    primary_pre_prepares(f);
    meta_at = find_type(&f->acts, REPLICA_ACT_PERSIST_META);
    prep_at = find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE);
    assert_true(meta_at >= 0);
    assert_true(prep_at >= 0);
    assert_true(meta_at < prep_at);
    meta = f->acts.a[meta_at].bytes;
    len = f->acts.a[meta_at].len;

    /* Crash right after the PREPARE left; restart from the meta. */
    rs.meta = meta;
    rs.meta_len = len;
    again = new_replica(&rs);
    actions_clear(&f->acts);
    replica_start(again);
    take(again, &f->acts);
    assert_int_equal(replica_view(again), 0);

    /* A (Byzantine) primary now pre-prepares another batch at (0, 1). */
    m = pre_prepare(0, 0, 1, f->digest2, f->batch2, f->batch2_len, &len);
    deliver(f, again, 0, m, len);
    assert_int_equal(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_PREPARE), -1);
    assert_int_equal(stats_of(again).dropped_conflicting, 1);
    assert_int_equal(stats_of(again).by_kind_sent[EVOTE__V1__KIND__KIND_PREPARE], 0);

    /* The batch it did vote for is still taken, and its old vote counts. */
    m = pre_prepare(0, 0, 1, f->digest, f->batch, f->batch_len, &len);
    deliver(f, again, 0, m, len);
    m = vote_msg(EVOTE__V1__KIND__KIND_PREPARE, 2, 0, 1, f->digest, &len);
    deliver(f, again, 2, m, len);
    assert_true(find_broadcast(&f->acts, EVOTE__V1__KIND__KIND_COMMIT) >= 0);
    actions_clear(&f->acts);
    replica_destroy(&again);
}

static void test_corrupt_meta_is_refused(void **state)
{
    fixture *f = *state;
    replica_config cfg = {0};
    replica_restore rs = {0};
    replica *r = NULL;
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};

    (void)f;
    cfg.n = N;
    cfg.id = ME;
    cfg.pubkeys = (const uint8_t(*)[CRYPTO_PUBKEY_LEN])pubkeys;
    memcpy(cfg.chain_id, chain_id, CRYPTO_CHAIN_ID_LEN);
    rs.meta = junk;
    rs.meta_len = sizeof junk;
    assert_int_equal(replica_new(&cfg, &callbacks, &rs, &r), REPLICA_ERR_META);
    assert_null(r);
}

/* ---------------------------------------------------------- state transfer */

static void test_state_request_yields_serve_blocks(void **state)
{
    fixture *f = *state;
    Evote__V1__StateRequest q = EVOTE__V1__STATE_REQUEST__INIT;
    replica_restore rs = {0};
    replica *r;
    uint8_t *m;
    size_t len;
    int at;

    /* A replica whose storage holds blocks 1..5. */
    rs.last_executed = 5;
    memset(rs.last_hash, 0xab, sizeof rs.last_hash);
    r = new_replica(&rs);
    replica_start(r);
    take(r, &f->acts);

    q.chain_id.data = chain_id;
    q.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    q.from_height = 2;
    q.to_height = 0;
    q.replica = 2;
    m = peer_msg(EVOTE__V1__KIND__KIND_STATE_REQUEST, &q.base, 2, 0, NULL, 0, &len);
    deliver(f, r, 2, m, len);
    at = find_type(&f->acts, REPLICA_ACT_SERVE_BLOCKS);
    assert_true(at >= 0);
    assert_int_equal(f->acts.a[at].to, 2);
    assert_int_equal(f->acts.a[at].from, 2);
    assert_int_equal(f->acts.a[at].through, 5);

    /* Relayed by another peer than its signer: refused. */
    m = peer_msg(EVOTE__V1__KIND__KIND_STATE_REQUEST, &q.base, 2, 0, NULL, 0, &len);
    deliver(f, r, 3, m, len);
    assert_int_equal(find_type(&f->acts, REPLICA_ACT_SERVE_BLOCKS), -1);
    assert_int_equal(stats_of(r).dropped_wrong_sender, 1);
    actions_clear(&f->acts);
    replica_destroy(&r);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_pre_prepare_from_primary_makes_backup_broadcast_prepare),
        T(test_pre_prepare_signed_by_backup_is_dropped_wrong_role),
        T(test_pre_prepare_with_bad_signature_is_dropped),
        T(test_signer_outside_validator_set_is_dropped_wrong_sender),
        T(test_body_naming_another_replica_than_signer_is_dropped_wrong_sender),
        T(test_message_from_itself_or_unknown_peer_is_dropped_wrong_sender),
        T(test_vote_relayed_by_another_peer_counts_for_its_signer),
        T(test_wrong_chain_is_dropped),
        T(test_batch_not_matching_digest_is_dropped_bad_digest),
        T(test_seq_outside_watermarks_is_dropped_out_of_range),
        T(test_pre_prepare_for_another_view_is_dropped_out_of_range),
        T(test_garbage_and_truncated_messages_are_dropped_malformed),
        T(test_same_prepare_twice_counts_once),
        T(test_duplicate_prepares_from_one_backup_do_not_prepare_primary),
        T(test_restored_primary_never_pre_prepares_a_seq_twice),
        T(test_a_crash_between_two_blocks_of_one_event_forgets_no_vote),
        T(test_conflicting_prepares_from_one_replica_are_dropped),
        T(test_prepared_after_2f_prepares_broadcasts_commit),
        T(test_2f_plus_1_commits_execute_with_valid_certificate),
        T(test_certificate_needs_2f_plus_1_distinct_matching_commits),
        T(test_certificate_report_judges_each_commit),
        T(test_state_transfer_stores_only_the_commits_that_count),
        T(test_batch_refused_by_validate_is_not_prepared),
        T(test_batch_validated_later_prepares_only_on_a_good_verdict),
        T(test_batch_refused_later_is_not_prepared),
        T(test_verdict_after_a_view_change_prepares_nothing),
        T(test_checkpoint_becomes_stable_at_2f_plus_1_and_moves_window),
        T(test_term_end_refuses_later_proposals_then_rotates),
        T(test_rotation_skips_a_next_primary_that_never_asks),
        T(test_rotation_waits_for_a_next_primary_that_asks),
        T(test_stale_votes_get_the_stable_proof_once_per_peer),
        T(test_restart_on_a_checkpoint_seq_signs_it_again),
        T(test_restarted_replica_is_catching_up),
        T(test_extra_checkpoint_between_multiples_becomes_stable),
        T(test_restart_on_an_extra_checkpoint_signs_it_again),
        T(test_view_timer_firing_broadcasts_view_change),
        T(test_prepared_batch_travels_in_the_view_change),
        T(test_new_view_from_non_primary_is_dropped),
        T(test_new_view_with_fewer_than_2f_plus_1_view_changes_is_dropped),
        T(test_lone_timeout_suspects_and_stays_in_the_view),
        T(test_suspicions_of_others_need_this_replicas_own),
        T(test_own_suspicion_and_one_view_change_leave_the_view),
        T(test_silent_primary_is_left_after_one_timeout),
        T(test_progress_extends_the_view_timer_at_most_three_times),
        T(test_progress_counts_once_for_the_view_timer),
        T(test_prepared_extends_the_view_timer_once),
        T(test_laggard_probes_for_blocks_instead_of_changing_view),
        T(test_restarted_replica_hears_a_quorum_before_suspecting_the_primary),
        T(test_timeout_doubles_per_view_and_decays_after_a_timely_run),
        T(test_new_view_wait_is_extended_once_for_a_live_primary),
        T(test_view_others_work_in_is_not_given_up),
        T(test_a_replica_that_left_the_view_no_longer_holds_others_in_it),
        T(test_a_proof_with_more_envelopes_than_replicas_costs_no_checks),
        T(test_a_suspicion_lapses_once_nothing_waits),
        T(test_retransmissions_back_off_while_stuck),
        T(test_idle_replica_probes_a_peer_now_and_then),
        T(test_new_view_is_not_resent_for_the_same_question),
        T(test_new_view_is_stored_once_apart_from_the_meta),
        T(test_prepared_without_its_batch_is_fetched_not_executed_empty),
        T(test_persist_meta_precedes_prepare_and_restored_replica_keeps_its_vote),
        T(test_corrupt_meta_is_refused),
        T(test_state_request_yields_serve_blocks),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
