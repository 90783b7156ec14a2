/* Consensus messages in and out: the boundary where bytes from a peer become
 * a checked message (envelope canonical and signed by the validator its body
 * names, for this chain), and where this replica's messages are signed. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

uint8_t *dup_bytes(const uint8_t *p, size_t len)
{
    uint8_t *q = malloc(len ? len : 1);
    if (q != NULL && len)
        memcpy(q, p, len);
    return q;
}

void batch_digest(const uint8_t *batch, size_t len, uint8_t out[CRYPTO_HASH_LEN])
{
    crypto_tagged_hash(CRYPTO_TAG_BATCH, batch, len, out);
}

static const ProtobufCMessageDescriptor *body_descriptor(Evote__V1__Kind kind)
{
    switch (kind) {
    case EVOTE__V1__KIND__KIND_PRE_PREPARE: return &evote__v1__pre_prepare__descriptor;
    case EVOTE__V1__KIND__KIND_PREPARE: return &evote__v1__prepare__descriptor;
    case EVOTE__V1__KIND__KIND_COMMIT: return &evote__v1__commit__descriptor;
    case EVOTE__V1__KIND__KIND_CHECKPOINT: return &evote__v1__checkpoint__descriptor;
    case EVOTE__V1__KIND__KIND_VIEW_CHANGE: return &evote__v1__view_change__descriptor;
    case EVOTE__V1__KIND__KIND_NEW_VIEW: return &evote__v1__new_view__descriptor;
    case EVOTE__V1__KIND__KIND_STATE_REQUEST: return &evote__v1__state_request__descriptor;
    case EVOTE__V1__KIND__KIND_STATE_RESPONSE: return &evote__v1__state_response__descriptor;
    case EVOTE__V1__KIND__KIND_SUSPECT: return &evote__v1__suspect__descriptor;
    default: return NULL;
    }
}

/* The chain id and claimed sender of a body, whatever its kind. */
static void body_fields(Evote__V1__Kind kind, const void *body, ProtobufCBinaryData *chain, uint32_t *who)
{
    switch (kind) {
    case EVOTE__V1__KIND__KIND_PRE_PREPARE: {
        const Evote__V1__PrePrepare *b = body;
        *chain = b->chain_id;
        *who = b->replica;
        break;
    }
    case EVOTE__V1__KIND__KIND_PREPARE: {
        const Evote__V1__Prepare *b = body;
        *chain = b->chain_id;
        *who = b->replica;
        break;
    }
    case EVOTE__V1__KIND__KIND_COMMIT: {
        const Evote__V1__Commit *b = body;
        *chain = b->chain_id;
        *who = b->replica;
        break;
    }
    case EVOTE__V1__KIND__KIND_CHECKPOINT: {
        const Evote__V1__Checkpoint *b = body;
        *chain = b->chain_id;
        *who = b->replica;
        break;
    }
    case EVOTE__V1__KIND__KIND_VIEW_CHANGE: {
        const Evote__V1__ViewChange *b = body;
        *chain = b->chain_id;
        *who = b->replica;
        break;
    }
    case EVOTE__V1__KIND__KIND_NEW_VIEW: {
        const Evote__V1__NewView *b = body;
        *chain = b->chain_id;
        *who = b->replica;
        break;
    }
    case EVOTE__V1__KIND__KIND_STATE_REQUEST: {
        const Evote__V1__StateRequest *b = body;
        *chain = b->chain_id;
        *who = b->replica;
        break;
    }
    case EVOTE__V1__KIND__KIND_STATE_RESPONSE: {
        const Evote__V1__StateResponse *b = body;
        *chain = b->chain_id;
        *who = b->replica;
        break;
    }
    case EVOTE__V1__KIND__KIND_SUSPECT: {
        const Evote__V1__Suspect *b = body;
        *chain = b->chain_id;
        *who = b->replica;
        break;
    }
    default:
        chain->data = NULL;
        chain->len = 0;
        *who = UINT32_MAX;
    }
}

static int signer_index(const replica *r, const uint8_t *key, uint32_t *out)
{
    for (uint32_t i = 0; i < r->cfg.n; i++) {
        if (memcmp(r->pubkeys[i], key, CRYPTO_PUBKEY_LEN) == 0) {
            *out = i;
            return 1;
        }
    }
    return 0;
}

int msg_open(replica *r, const uint8_t *env, size_t len, Evote__V1__Kind expected, msg *m)
{
    const ProtobufCMessageDescriptor *desc;
    ProtobufCBinaryData chain;
    uint32_t claimed;
    crypto_err err;

    memset(m, 0, sizeof *m);
    err = envelope_parse(env, len, expected, &m->envelope);
    if (err != CRYPTO_OK) {
        r->stats.dropped_malformed++;
        return 0;
    }
    m->kind = m->envelope->kind;
    m->env = env;
    m->env_len = len;
    desc = body_descriptor(m->kind);
    if (desc == NULL) {
        r->stats.dropped_malformed++;
        goto fail;
    }
    if (!signer_index(r, m->envelope->signer.data, &m->signer)) {
        r->stats.dropped_wrong_sender++;
        goto fail;
    }
    if (!r->cb.verify(r->cb.ctx, m->envelope->signer.data, crypto_kind_tag(m->kind), m->envelope->body.data,
                      m->envelope->body.len, m->envelope->signature.data)) {
        r->stats.dropped_bad_signature++;
        goto fail;
    }
    m->body = protobuf_c_message_unpack(desc, NULL, m->envelope->body.len, m->envelope->body.data);
    if (m->body == NULL || ((ProtobufCMessage *)m->body)->n_unknown_fields != 0) {
        r->stats.dropped_malformed++;
        goto fail;
    }
    body_fields(m->kind, m->body, &chain, &claimed);
    if (chain.len != CRYPTO_CHAIN_ID_LEN || memcmp(chain.data, r->cfg.chain_id, CRYPTO_CHAIN_ID_LEN) != 0) {
        r->stats.dropped_wrong_chain++;
        goto fail;
    }
    if (claimed != m->signer) {
        /* A body that speaks for another replica than the key that signed it. */
        r->stats.dropped_wrong_sender++;
        goto fail;
    }
    return 1;
fail:
    msg_free(m);
    return 0;
}

void msg_free(msg *m)
{
    if (m->body != NULL)
        protobuf_c_message_free_unpacked(m->body, NULL);
    if (m->envelope != NULL)
        evote__v1__envelope__free_unpacked(m->envelope, NULL);
    free(m->owned);
    m->body = NULL;
    m->envelope = NULL;
    m->owned = NULL;
}

int msg_open_nested(replica *r, const Evote__V1__Envelope *e, Evote__V1__Kind expected, msg *m)
{
    size_t len = evote__v1__envelope__get_packed_size(e);
    uint8_t *bytes = malloc(len ? len : 1);

    memset(m, 0, sizeof *m);
    if (bytes == NULL)
        return 0;
    evote__v1__envelope__pack(e, bytes);
    if (!msg_open(r, bytes, len, expected, m)) {
        free(bytes);
        return 0;
    }
    m->owned = bytes;
    return 1;
}

int msg_seal(replica *r, Evote__V1__Kind kind, const ProtobufCMessage *body, uint8_t **env, size_t *env_len)
{
    Evote__V1__Envelope e = EVOTE__V1__ENVELOPE__INIT;
    uint8_t sig[CRYPTO_SIG_LEN];
    size_t blen = protobuf_c_message_get_packed_size(body);
    uint8_t *b = malloc(blen ? blen : 1);
    int ok = 0;

    *env = NULL;
    *env_len = 0;
    if (b == NULL)
        return 0;
    protobuf_c_message_pack(body, b);
    if (!r->cb.sign(r->cb.ctx, crypto_kind_tag(kind), b, blen, sig))
        goto out;
    e.kind = kind;
    e.body.data = b;
    e.body.len = blen;
    e.signer.data = r->pubkeys[r->cfg.id];
    e.signer.len = CRYPTO_PUBKEY_LEN;
    e.signature.data = sig;
    e.signature.len = CRYPTO_SIG_LEN;
    *env_len = evote__v1__envelope__get_packed_size(&e);
    *env = malloc(*env_len);
    if (*env == NULL)
        goto out;
    evote__v1__envelope__pack(&e, *env);
    ok = 1;
out:
    free(b);
    return ok;
}

int msg_wrap(const uint8_t *env, size_t env_len, uint8_t *const *batches, const size_t *batch_lens,
             size_t n_batches, uint8_t **out, size_t *out_len)
{
    Evote__V1__PeerMessage pm = EVOTE__V1__PEER_MESSAGE__INIT;
    ProtobufCBinaryData stack[8], *bd = stack;

    *out = NULL;
    *out_len = 0;
    if (n_batches > 8) {
        bd = calloc(n_batches, sizeof *bd);
        if (bd == NULL)
            return 0;
    }
    for (size_t i = 0; i < n_batches; i++) {
        bd[i].data = batches[i];
        bd[i].len = batch_lens[i];
    }
    pm.envelope.data = (uint8_t *)env;
    pm.envelope.len = env_len;
    pm.n_batches = n_batches;
    pm.batches = bd;
    *out_len = evote__v1__peer_message__get_packed_size(&pm);
    *out = malloc(*out_len);
    if (*out != NULL)
        evote__v1__peer_message__pack(&pm, *out);
    if (bd != stack)
        free(bd);
    return *out != NULL;
}

static void cert_list(replica_cert_report *r, int32_t validator, replica_commit_status status)
{
    if (r->n_listed < REPLICA_CERT_MAX_LISTED) {
        r->listed[r->n_listed].validator = validator;
        r->listed[r->n_listed].status = status;
        r->n_listed++;
    }
}

int replica_certificate_check(uint32_t n, const uint8_t (*pubkeys)[CRYPTO_PUBKEY_LEN],
                              const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], const replica_callbacks *cb,
                              const uint8_t *cert, size_t cert_len, uint64_t expected_seq,
                              const uint8_t *expected_digest, replica_cert_report *out)
{
    replica_cert_report local;
    replica_cert_report *r = out != NULL ? out : &local;
    Evote__V1__CommitCertificate *c;

    memset(r, 0, sizeof *r);
    r->fault = REPLICA_CERT_UNPARSABLE;
    if (n < 4 || n > REPLICA_MAX_N || (n - 1) % 3 != 0)
        return 0;
    r->needed = 2 * ((n - 1) / 3) + 1;
    c = evote__v1__commit_certificate__unpack(NULL, cert_len, cert);
    if (c == NULL)
        return 0;
    r->view = c->view;
    r->seq = c->seq;
    r->n_commits = c->n_commits;
    if (c->digest.len != CRYPTO_HASH_LEN)
        goto out;
    if (c->n_commits > n) { /* also: every COMMIT is listed (n <= REPLICA_MAX_N <= REPLICA_CERT_MAX_LISTED) */
        r->fault = REPLICA_CERT_TOO_MANY;
        goto out;
    }
    if (expected_digest != NULL && c->seq != expected_seq) {
        r->fault = REPLICA_CERT_OTHER_SEQ;
        goto out;
    }
    if (expected_digest != NULL && memcmp(expected_digest, c->digest.data, CRYPTO_HASH_LEN) != 0) {
        r->fault = REPLICA_CERT_OTHER_BATCH;
        goto out;
    }
    for (size_t i = 0; i < c->n_commits; i++) {
        const Evote__V1__Envelope *e = c->commits[i];
        Evote__V1__Commit *b;
        int32_t idx = -1;
        int match;

        if (e->kind != EVOTE__V1__KIND__KIND_COMMIT || e->signer.len != CRYPTO_PUBKEY_LEN ||
            e->signature.len != CRYPTO_SIG_LEN) {
            cert_list(r, -1, REPLICA_COMMIT_NOT_SIGNED);
            continue;
        }
        for (uint32_t k = 0; k < n && idx < 0; k++)
            if (memcmp(pubkeys[k], e->signer.data, CRYPTO_PUBKEY_LEN) == 0)
                idx = (int32_t)k;
        if (idx < 0) {
            cert_list(r, -1, REPLICA_COMMIT_STRANGER);
            continue;
        }
        if (r->signed_by[idx]) {
            cert_list(r, idx, REPLICA_COMMIT_DUPLICATE);
            continue;
        }
        b = evote__v1__commit__unpack(NULL, e->body.len, e->body.data);
        if (b == NULL) {
            cert_list(r, idx, REPLICA_COMMIT_UNPARSABLE);
            continue;
        }
        match = b->replica == (uint32_t)idx && b->view == c->view && b->seq == c->seq &&
                b->digest.len == CRYPTO_HASH_LEN && memcmp(b->digest.data, c->digest.data, CRYPTO_HASH_LEN) == 0 &&
                b->chain_id.len == CRYPTO_CHAIN_ID_LEN && memcmp(b->chain_id.data, chain_id, CRYPTO_CHAIN_ID_LEN) == 0;
        evote__v1__commit__free_unpacked(b, NULL);
        if (!match) {
            cert_list(r, idx, REPLICA_COMMIT_MISMATCH);
            continue;
        }
        if (!cb->verify(cb->ctx, e->signer.data, crypto_kind_tag(EVOTE__V1__KIND__KIND_COMMIT), e->body.data,
                        e->body.len, e->signature.data)) {
            cert_list(r, idx, REPLICA_COMMIT_BAD_SIGNATURE);
            continue;
        }
        r->signed_by[idx] = 1;
        r->signers++;
        cert_list(r, idx, REPLICA_COMMIT_COUNTED);
    }
    r->fault = r->signers >= r->needed ? REPLICA_CERT_VALID : REPLICA_CERT_TOO_FEW;
out:
    evote__v1__commit_certificate__free_unpacked(c, NULL);
    return r->fault == REPLICA_CERT_VALID;
}

int replica_certificate_valid(uint32_t n, const uint8_t (*pubkeys)[CRYPTO_PUBKEY_LEN],
                              const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], const replica_callbacks *cb,
                              const uint8_t *cert, size_t cert_len, uint64_t expected_seq,
                              const uint8_t *batch, size_t batch_len)
{
    uint8_t d[CRYPTO_HASH_LEN];

    if (batch != NULL)
        batch_digest(batch, batch_len, d);
    return replica_certificate_check(n, pubkeys, chain_id, cb, cert, cert_len, expected_seq,
                                     batch != NULL ? d : NULL, NULL);
}

int replica_verify_plain(void *ctx, const uint8_t pubkey[CRYPTO_PUBKEY_LEN], const char *tag, const uint8_t *body,
                         size_t len, const uint8_t sig[CRYPTO_SIG_LEN])
{
    (void)ctx;
    return crypto_verify(pubkey, tag, body, len, sig) == CRYPTO_OK;
}

int replica_null_batch(const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], uint64_t seq, uint8_t **out, size_t *len)
{
    Evote__V1__Batch b = EVOTE__V1__BATCH__INIT;

    b.chain_id.data = (uint8_t *)chain_id;
    b.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    b.seq = seq;
    *len = evote__v1__batch__get_packed_size(&b);
    *out = malloc(*len);
    if (*out == NULL)
        return 0;
    evote__v1__batch__pack(&b, *out);
    return 1;
}
