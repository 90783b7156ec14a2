/* Fuzz target: consensus messages from other validators (replica_on_message),
 * the timers, executions, and a restart from the meta the replica itself
 * wrote or from damaged bytes.
 *
 * Replica 1 of n = 4 (K = 4, window 8). Signatures are not what is tested
 * here: every signature of a validator's key verifies, as if each of the
 * other three validators were faulty and signed whatever the fuzzer wrote,
 * which lets inputs reach the view change, the O-set computation,
 * certificates and state transfer. Whatever they hold, the replica must not
 * crash, leak or overflow.
 *
 * Input: records, until the input ends:
 *   op 0..3   from = op, u16 length (little-endian), that many bytes: a PeerMessage
 *   op 4      one byte: timer (1 + b % 3) fires
 *   op 5      restart from the last meta and NEW-VIEW the replica asked to store
 *   op 6      u16 length, bytes: restart from that meta (refused or not: no crash)
 *   op 7      one byte: propose a batch at the next free seq when primary
 *   other     skipped */
#include <stdlib.h>
#include <string.h>

#include "consensus.pb-c.h"
#include "crypto.h"
#include "evote.pb-c.h"
#include "fuzz.h"
#include "replica.h"

#define N 4
#define ME 1

static uint8_t pubkeys[N][CRYPTO_PUBKEY_LEN];
static uint8_t chain_id[CRYPTO_CHAIN_ID_LEN];
static int keys_ready;

static void init_keys(void)
{
    if (keys_ready)
        return;
    for (uint32_t i = 0; i < N; i++)
        crypto_tagged_hash("fuzz/pub", (const uint8_t *)&i, sizeof i, pubkeys[i]);
    crypto_tagged_hash("fuzz/chain", (const uint8_t *)"c", 1, chain_id);
    keys_ready = 1;
}

static int cb_sign(void *ctx, const char *tag, const uint8_t *msg, size_t len, uint8_t sig[CRYPTO_SIG_LEN])
{
    (void)ctx;
    crypto_tagged_hash(tag, msg, len, sig);
    memset(sig + 32, 0x5a, 32);
    return 1;
}

static int cb_verify(void *ctx, const uint8_t pub[CRYPTO_PUBKEY_LEN], const char *tag, const uint8_t *msg, size_t len,
                     const uint8_t sig[CRYPTO_SIG_LEN])
{
    (void)ctx;
    (void)tag;
    (void)msg;
    (void)len;
    (void)sig;
    for (uint32_t i = 0; i < N; i++)
        if (memcmp(pubkeys[i], pub, CRYPTO_PUBKEY_LEN) == 0)
            return 1;
    return 0;
}

static int cb_validate(void *ctx, uint64_t seq, const uint8_t *batch, size_t len)
{
    (void)ctx;
    (void)seq;
    return len > 0 && batch[len - 1] != 0xee; /* some refused */
}

typedef struct {
    uint8_t *meta, *nv;
    size_t meta_len, nv_len;
} disk;

static replica *start(const disk *d, uint64_t height, const uint8_t *meta, size_t meta_len)
{
    replica_config cfg = {0};
    replica_callbacks cb = {.sign = cb_sign, .verify = cb_verify, .validate_batch = cb_validate};
    replica_restore rs = {0};
    replica *r = NULL;

    cfg.n = N;
    cfg.id = ME;
    cfg.pubkeys = (const uint8_t(*)[CRYPTO_PUBKEY_LEN])pubkeys;
    memcpy(cfg.chain_id, chain_id, CRYPTO_CHAIN_ID_LEN);
    cfg.checkpoint_interval = 4;
    cfg.window = 8;
    cfg.term_checkpoints = 2;
    rs.last_executed = height;
    if (height > 0)
        crypto_tagged_hash("fuzz/block", (const uint8_t *)&height, sizeof height, rs.last_hash);
    rs.meta = meta;
    rs.meta_len = meta_len;
    if (d != NULL) {
        rs.new_view = d->nv;
        rs.new_view_len = d->nv_len;
    }
    if (replica_new(&cfg, &cb, &rs, &r) != REPLICA_OK)
        return NULL;
    replica_start(r);
    return r;
}

/* Carries out the actions: executions go through at once (a fake block
 * hash per seq), persisted bytes go to "disk", sends are dropped. */
static void drain(replica *r, disk *d, uint64_t *height)
{
    replica_action a;
    int guard = 0;
    while (replica_pop_action(r, &a) && guard++ < 100000) {
        switch (a.type) {
        case REPLICA_ACT_EXECUTE:
            if (a.seq == *height + 1) {
                uint8_t h[CRYPTO_HASH_LEN];
                *height = a.seq;
                crypto_tagged_hash("fuzz/block", (const uint8_t *)&a.seq, sizeof a.seq, h);
                replica_on_executed(r, a.seq, h, 0);
            }
            break;
        case REPLICA_ACT_PERSIST_META:
            free(d->meta);
            d->meta = a.bytes;
            d->meta_len = a.len;
            a.bytes = NULL;
            break;
        case REPLICA_ACT_PERSIST_NEW_VIEW:
            free(d->nv);
            d->nv = a.bytes;
            d->nv_len = a.len;
            a.bytes = NULL;
            break;
        default:
            break;
        }
        replica_action_clear(&a);
    }
}

static uint8_t *small_batch(uint64_t seq, uint8_t salt, size_t *len)
{
    Evote__V1__Batch b = EVOTE__V1__BATCH__INIT;
    ProtobufCBinaryData tx;
    uint8_t body[8] = {'t', 'x', salt, 0, 0, 0, 0, 1};
    uint8_t *out;
    tx.data = body;
    tx.len = sizeof body;
    b.chain_id.data = chain_id;
    b.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    b.seq = seq;
    b.timestamp_ms = 1000 + seq;
    b.n_txs = 1;
    b.txs = &tx;
    *len = evote__v1__batch__get_packed_size(&b);
    out = malloc(*len);
    if (out != NULL)
        evote__v1__batch__pack(&b, out);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    disk d = {0};
    uint64_t height = 0;
    size_t at = 0;
    replica *r;

    init_keys();
    r = start(NULL, 0, NULL, 0);
    if (r == NULL)
        return 0;
    drain(r, &d, &height);
    while (at < size && r != NULL) {
        uint8_t op = data[at++];
        if (op < N) {
            size_t len;
            if (size - at < 2)
                break;
            len = (size_t)data[at] | (size_t)data[at + 1] << 8;
            at += 2;
            if (len > size - at)
                len = size - at;
            replica_on_message(r, op, data + at, len);
            at += len;
        } else if (op == 4) {
            if (at >= size)
                break;
            replica_on_timer(r, (replica_timer)(1 + data[at++] % 3));
        } else if (op == 5) {
            replica_destroy(&r);
            r = start(&d, height, d.meta, d.meta_len);
            if (r == NULL && d.meta != NULL)
                abort(); /* a replica must always restart from the meta it wrote */
        } else if (op == 6) {
            size_t len;
            if (size - at < 2)
                break;
            len = (size_t)data[at] | (size_t)data[at + 1] << 8;
            at += 2;
            if (len > size - at)
                len = size - at;
            replica_destroy(&r);
            r = start(&d, height, data + at, len);
            at += len;
            if (r == NULL)
                r = start(NULL, height, NULL, 0);
        } else if (op == 7) {
            uint64_t seq;
            if (at >= size)
                break;
            if (replica_can_propose(r, &seq)) {
                size_t bl;
                uint8_t *b = small_batch(seq, data[at], &bl);
                if (b != NULL)
                    replica_propose(r, seq, b, bl);
                free(b);
            }
            at++;
        }
        if (r != NULL)
            drain(r, &d, &height);
    }
    replica_destroy(&r);
    free(d.meta);
    free(d.nv);
    return 0;
}

/* ------------------------------------------------------------------ seeds */

static uint8_t *seal(Evote__V1__Kind kind, const ProtobufCMessage *body, uint32_t signer, size_t *len)
{
    Evote__V1__Envelope e = EVOTE__V1__ENVELOPE__INIT;
    uint8_t sig[CRYPTO_SIG_LEN];
    size_t blen = protobuf_c_message_get_packed_size(body);
    uint8_t *b = malloc(blen ? blen : 1), *out;

    protobuf_c_message_pack(body, b);
    memset(sig, 0x5a, sizeof sig);
    e.kind = kind;
    e.body.data = b;
    e.body.len = blen;
    e.signer.data = pubkeys[signer];
    e.signer.len = CRYPTO_PUBKEY_LEN;
    e.signature.data = sig;
    e.signature.len = CRYPTO_SIG_LEN;
    *len = evote__v1__envelope__get_packed_size(&e);
    out = malloc(*len);
    evote__v1__envelope__pack(&e, out);
    free(b);
    return out;
}

static Evote__V1__Envelope *sealed_envelope(Evote__V1__Kind kind, const ProtobufCMessage *body, uint32_t signer)
{
    size_t len;
    uint8_t *b = seal(kind, body, signer, &len);
    Evote__V1__Envelope *e = evote__v1__envelope__unpack(NULL, len, b);
    free(b);
    return e;
}

/* A record: op = from, u16 length, PeerMessage{envelope, batch}. */
static void record(fuzz_buf *out, uint32_t from, Evote__V1__Kind kind, const ProtobufCMessage *body,
                   const uint8_t *batch, size_t batch_len)
{
    Evote__V1__PeerMessage pm = EVOTE__V1__PEER_MESSAGE__INIT;
    ProtobufCBinaryData b;
    size_t env_len, len;
    uint8_t *env = seal(kind, body, from, &env_len), *msg, hdr[3];

    pm.envelope.data = env;
    pm.envelope.len = env_len;
    if (batch != NULL) {
        b.data = (uint8_t *)batch;
        b.len = batch_len;
        pm.n_batches = 1;
        pm.batches = &b;
    }
    len = evote__v1__peer_message__get_packed_size(&pm);
    msg = malloc(len);
    evote__v1__peer_message__pack(&pm, msg);
    hdr[0] = (uint8_t)from;
    hdr[1] = (uint8_t)(len & 0xff);
    hdr[2] = (uint8_t)(len >> 8);
    fuzz_buf_put(out, hdr, 3);
    fuzz_buf_put(out, msg, len);
    free(msg);
    free(env);
}

static void vote(fuzz_buf *out, uint32_t from, Evote__V1__Kind kind, uint64_t view, uint64_t seq, uint8_t *digest)
{
    Evote__V1__Prepare p = EVOTE__V1__PREPARE__INIT;
    Evote__V1__Commit c = EVOTE__V1__COMMIT__INIT;
    ProtobufCBinaryData ch = {CRYPTO_CHAIN_ID_LEN, chain_id}, dg = {CRYPTO_HASH_LEN, digest};
    if (kind == EVOTE__V1__KIND__KIND_PREPARE) {
        p.chain_id = ch, p.view = view, p.seq = seq, p.digest = dg, p.replica = from;
        record(out, from, kind, &p.base, NULL, 0);
    } else {
        c.chain_id = ch, c.view = view, c.seq = seq, c.digest = dg, c.replica = from;
        record(out, from, kind, &c.base, NULL, 0);
    }
}

/* Blocks 1..count of view 0 go through (pre-prepared by 0, prepared and
 * committed by 0, 2, 3), then the checkpoints of 0, 2, 3. */
static void normal_case(fuzz_buf *out, uint64_t count)
{
    for (uint64_t seq = 1; seq <= count; seq++) {
        Evote__V1__PrePrepare pp = EVOTE__V1__PRE_PREPARE__INIT;
        uint8_t digest[CRYPTO_HASH_LEN];
        size_t bl;
        uint8_t *b = small_batch(seq, (uint8_t)seq, &bl);
        crypto_tagged_hash(CRYPTO_TAG_BATCH, b, bl, digest);
        pp.chain_id.data = chain_id;
        pp.chain_id.len = CRYPTO_CHAIN_ID_LEN;
        pp.view = 0;
        pp.seq = seq;
        pp.digest.data = digest;
        pp.digest.len = CRYPTO_HASH_LEN;
        pp.replica = 0;
        record(out, 0, EVOTE__V1__KIND__KIND_PRE_PREPARE, &pp.base, b, bl);
        vote(out, 2, EVOTE__V1__KIND__KIND_PREPARE, 0, seq, digest);
        vote(out, 3, EVOTE__V1__KIND__KIND_PREPARE, 0, seq, digest);
        vote(out, 0, EVOTE__V1__KIND__KIND_COMMIT, 0, seq, digest);
        vote(out, 2, EVOTE__V1__KIND__KIND_COMMIT, 0, seq, digest);
        vote(out, 3, EVOTE__V1__KIND__KIND_COMMIT, 0, seq, digest);
        free(b);
        if (seq % 4 == 0) {
            Evote__V1__Checkpoint c = EVOTE__V1__CHECKPOINT__INIT;
            uint8_t h[CRYPTO_HASH_LEN];
            crypto_tagged_hash("fuzz/block", (const uint8_t *)&seq, sizeof seq, h);
            c.chain_id.data = chain_id;
            c.chain_id.len = CRYPTO_CHAIN_ID_LEN;
            c.seq = seq;
            c.state_digest.data = h;
            c.state_digest.len = CRYPTO_HASH_LEN;
            for (uint32_t i = 0; i < N; i++) {
                if (i == ME)
                    continue;
                c.replica = i;
                record(out, i, EVOTE__V1__KIND__KIND_CHECKPOINT, &c.base, NULL, 0);
            }
        }
    }
}

/* An empty VIEW-CHANGE (no stable checkpoint, nothing prepared). */
static void vc_init(Evote__V1__ViewChange *vc, uint32_t from, uint64_t new_view)
{
    evote__v1__view_change__init(vc);
    vc->chain_id.data = chain_id;
    vc->chain_id.len = CRYPTO_CHAIN_ID_LEN;
    vc->new_view = new_view;
    vc->replica = from;
}

static void view_change(fuzz_buf *out, uint32_t from, uint64_t new_view)
{
    Evote__V1__ViewChange vc;
    vc_init(&vc, from, new_view);
    record(out, from, EVOTE__V1__KIND__KIND_VIEW_CHANGE, &vc.base, NULL, 0);
}

/* The NEW-VIEW of view 2 (primary 2) from empty VIEW-CHANGEs of 0, 2, 3. */
static void new_view(fuzz_buf *out)
{
    Evote__V1__NewView nv = EVOTE__V1__NEW_VIEW__INIT;
    Evote__V1__ViewChange vc;
    Evote__V1__Envelope *v[3];
    const uint32_t who[3] = {0, 2, 3};
    for (int i = 0; i < 3; i++) {
        vc_init(&vc, who[i], 2);
        v[i] = sealed_envelope(EVOTE__V1__KIND__KIND_VIEW_CHANGE, &vc.base, who[i]);
    }
    nv.chain_id.data = chain_id;
    nv.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    nv.view = 2;
    nv.view_changes = v;
    nv.n_view_changes = 3;
    nv.replica = 2;
    record(out, 2, EVOTE__V1__KIND__KIND_NEW_VIEW, &nv.base, NULL, 0);
    for (int i = 0; i < 3; i++)
        evote__v1__envelope__free_unpacked(v[i], NULL);
}

static void state_request(fuzz_buf *out, uint32_t from, uint64_t h)
{
    Evote__V1__StateRequest q = EVOTE__V1__STATE_REQUEST__INIT;
    q.chain_id.data = chain_id;
    q.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    q.from_height = h;
    q.replica = from;
    record(out, from, EVOTE__V1__KIND__KIND_STATE_REQUEST, &q.base, NULL, 0);
}

void fuzz_seeds(fuzz_emit emit, void *ctx)
{
    fuzz_buf b = {0};
    const uint8_t restart = 5, timer[2] = {4, 0};

    init_keys();
    normal_case(&b, 5);
    emit(ctx, b.p, b.len);

    b.len = 0;
    normal_case(&b, 2);
    fuzz_buf_put(&b, &restart, 1);
    normal_case(&b, 1);
    emit(ctx, b.p, b.len);

    b.len = 0;
    normal_case(&b, 1);
    view_change(&b, 0, 1);
    view_change(&b, 2, 1);
    view_change(&b, 3, 1);
    fuzz_buf_put(&b, timer, 2);
    emit(ctx, b.p, b.len);

    b.len = 0;
    normal_case(&b, 4);
    new_view(&b);
    state_request(&b, 3, 1);
    fuzz_buf_put(&b, &restart, 1);
    view_change(&b, 3, 2);
    emit(ctx, b.p, b.len);
    fuzz_buf_free(&b);
}
