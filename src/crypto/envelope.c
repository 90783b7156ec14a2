/* Signed envelopes: {kind, body, signer, signature}. The signature covers
 * tagged_hash("evote/v1/<kind>", body) over the exact body bytes, so the
 * receiver verifies what it received and never a re-serialization. */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

crypto_err envelope_seal(Evote__V1__Kind kind, const uint8_t *body, size_t body_len,
                         const signing_key *key, uint8_t **out, size_t *out_len)
{
    Evote__V1__Envelope env = EVOTE__V1__ENVELOPE__INIT;
    uint8_t signer[CRYPTO_PUBKEY_LEN], sig[CRYPTO_SIG_LEN];
    const char *tag = crypto_kind_tag(kind);
    crypto_err err;
    uint8_t *buf;
    size_t len;

    *out = NULL;
    *out_len = 0;
    if (tag == NULL)
        return CRYPTO_ERR_UNKNOWN_KIND;
    err = signing_key_sign(key, tag, body, body_len, sig);
    if (err != CRYPTO_OK)
        return err;
    signing_key_pubkey(key, signer);
    env.kind = kind;
    env.body.data = (uint8_t *)body;
    env.body.len = body_len;
    env.signer.data = signer;
    env.signer.len = sizeof signer;
    env.signature.data = sig;
    env.signature.len = sizeof sig;
    len = evote__v1__envelope__get_packed_size(&env);
    if (len > CRYPTO_MAX_ENVELOPE)
        return CRYPTO_ERR_TOO_LARGE;
    buf = malloc(len ? len : 1);
    if (buf == NULL)
        return CRYPTO_ERR_NOMEM;
    evote__v1__envelope__pack(&env, buf);
    *out = buf;
    *out_len = len;
    return CRYPTO_OK;
}


/* True when packing env gives back exactly bytes[0..len). protobuf-c packs
 * fields in number order with minimal varints and omits proto3 defaults,
 * which is the canonical form our own encoder produces. */
static int envelope_is_canonical(const Evote__V1__Envelope *env, const uint8_t *bytes, size_t len)
{
    uint8_t *again;
    int same;

    if (env->base.n_unknown_fields != 0)
        return 0;
    if (evote__v1__envelope__get_packed_size(env) != len)
        return 0;
    again = malloc(len ? len : 1);
    if (again == NULL)
        return 0;
    evote__v1__envelope__pack(env, again);
    same = memcmp(again, bytes, len) == 0;
    free(again);
    return same;
}

/* Checks of an envelope that need no signature verification. */
static crypto_err envelope_shape(const Evote__V1__Envelope *env, Evote__V1__Kind expected)
{
    if (crypto_kind_tag(env->kind) == NULL)
        return CRYPTO_ERR_UNKNOWN_KIND;
    if (expected != EVOTE__V1__KIND__KIND_UNSPECIFIED && env->kind != expected)
        return CRYPTO_ERR_WRONG_KIND;
    if (env->signer.len != CRYPTO_PUBKEY_LEN)
        return CRYPTO_ERR_SIGNER_LENGTH;
    if (env->signature.len != CRYPTO_SIG_LEN)
        return CRYPTO_ERR_SIGNATURE_LENGTH;
    return CRYPTO_OK;
}

static crypto_err envelope_read(const uint8_t *bytes, size_t len, Evote__V1__Kind expected,
                                int verify, Evote__V1__Envelope **out)
{
    Evote__V1__Envelope *env;
    crypto_err err;

    *out = NULL;
    if (len > CRYPTO_MAX_ENVELOPE)
        return CRYPTO_ERR_TOO_LARGE;
    if (bytes == NULL || len == 0)
        return CRYPTO_ERR_MALFORMED;
    env = evote__v1__envelope__unpack(NULL, len, bytes);
    if (env == NULL)
        return CRYPTO_ERR_MALFORMED;
    if (!envelope_is_canonical(env, bytes, len))
        err = CRYPTO_ERR_NOT_CANONICAL;
    else if (verify)
        err = envelope_verify(env, expected);
    else
        err = envelope_shape(env, expected);
    if (err != CRYPTO_OK) {
        evote__v1__envelope__free_unpacked(env, NULL);
        return err;
    }
    *out = env;
    return CRYPTO_OK;
}

crypto_err envelope_open(const uint8_t *bytes, size_t len, Evote__V1__Kind expected,
                         Evote__V1__Envelope **out)
{
    return envelope_read(bytes, len, expected, 1, out);
}

crypto_err envelope_parse(const uint8_t *bytes, size_t len, Evote__V1__Kind expected,
                          Evote__V1__Envelope **out)
{
    return envelope_read(bytes, len, expected, 0, out);
}

crypto_err envelope_verify(const Evote__V1__Envelope *env, Evote__V1__Kind expected)
{
    crypto_err err = envelope_shape(env, expected);
    if (err != CRYPTO_OK)
        return err;
    return crypto_verify(env->signer.data, crypto_kind_tag(env->kind), env->body.data,
                         env->body.len, env->signature.data);
}

void envelope_txid(const uint8_t *bytes, size_t len, uint8_t out[CRYPTO_HASH_LEN])
{
    crypto_tagged_hash(CRYPTO_TAG_TXID, bytes, len, out);
}
