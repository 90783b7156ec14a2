/* BIP340 Schnorr signing keys: generation from the OS, key files that only
 * their owner can read, and signing/verification over tagged hashes. The
 * secret lives only inside struct signing_key and is wiped when it dies. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "crypto.h"

struct signing_key {
    secp256k1_keypair keypair; /* holds the secret scalar */
    uint8_t pubkey[CRYPTO_PUBKEY_LEN];
};

#define KEY_FILE_HEADER "evote-secret-key-v1 "
#define KEY_FILE_LEN (sizeof(KEY_FILE_HEADER) - 1 + 2 * CRYPTO_SECKEY_LEN + 1)

/* Signing uses one context randomized once per process (blinding against
 * side channels); libsecp256k1 allows concurrent use of a context through
 * functions that take it const, which signing does. */
static secp256k1_context *sign_ctx;
static int sign_ctx_ok;
static pthread_once_t sign_ctx_once = PTHREAD_ONCE_INIT;

static void sign_ctx_init(void)
{
    uint8_t seed[32];
    sign_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (sign_ctx == NULL)
        return;
    if (crypto_random(seed, sizeof seed) != CRYPTO_OK)
        return;
    sign_ctx_ok = secp256k1_context_randomize(sign_ctx, seed);
    crypto_wipe(seed, sizeof seed);
}

static const secp256k1_context *signing_context(void)
{
    pthread_once(&sign_ctx_once, sign_ctx_init);
    return sign_ctx_ok ? sign_ctx : NULL;
}

crypto_err signing_key_from_secret(const uint8_t secret[CRYPTO_SECKEY_LEN], signing_key **out)
{
    const secp256k1_context *ctx = signing_context();
    secp256k1_xonly_pubkey xonly;
    signing_key *key;

    *out = NULL;
    if (ctx == NULL)
        return CRYPTO_ERR_RANDOM;
    key = calloc(1, sizeof *key);
    if (key == NULL)
        return CRYPTO_ERR_NOMEM;
    /* keypair_create refuses zero and scalars >= the group order. */
    if (!secp256k1_keypair_create(ctx, &key->keypair, secret) ||
        !secp256k1_keypair_xonly_pub(ctx, &xonly, NULL, &key->keypair) ||
        !secp256k1_xonly_pubkey_serialize(ctx, key->pubkey, &xonly)) {
        signing_key_destroy(&key);
        return CRYPTO_ERR_BAD_SECKEY;
    }
    *out = key;
    return CRYPTO_OK;
}

crypto_err signing_key_generate(signing_key **out)
{
    uint8_t secret[CRYPTO_SECKEY_LEN];
    crypto_err err;

    *out = NULL;
    /* A random 32-byte string is out of range with probability ~2^-128;
     * draw again rather than fail. */
    for (int tries = 0; tries < 8; tries++) {
        err = crypto_random(secret, sizeof secret);
        if (err != CRYPTO_OK)
            break;
        err = signing_key_from_secret(secret, out);
        if (err != CRYPTO_ERR_BAD_SECKEY)
            break;
    }
    crypto_wipe(secret, sizeof secret);
    return err;
}

void signing_key_destroy(signing_key **key)
{
    if (key == NULL || *key == NULL)
        return;
    crypto_wipe(*key, sizeof **key);
    free(*key);
    *key = NULL;
}

void signing_key_pubkey(const signing_key *key, uint8_t out[CRYPTO_PUBKEY_LEN])
{
    memcpy(out, key->pubkey, CRYPTO_PUBKEY_LEN);
}

crypto_err signing_key_load(const char *path, signing_key **out)
{
    char buf[KEY_FILE_LEN + 1];
    uint8_t secret[CRYPTO_SECKEY_LEN];
    crypto_err err;

    *out = NULL;
    err = crypto_secret_file_read(path, KEY_FILE_HEADER, buf, KEY_FILE_LEN);
    if (err != CRYPTO_OK)
        return err;
    err = crypto_unhex(buf + sizeof(KEY_FILE_HEADER) - 1, secret, sizeof secret);
    crypto_wipe(buf, sizeof buf);
    if (err != CRYPTO_OK) {
        crypto_wipe(secret, sizeof secret);
        return CRYPTO_ERR_KEY_FILE_FORMAT;
    }
    err = signing_key_from_secret(secret, out);
    crypto_wipe(secret, sizeof secret);
    return err;
}

crypto_err signing_key_save(const signing_key *key, const char *path)
{
    const secp256k1_context *ctx = signing_context();
    char buf[KEY_FILE_LEN], hex[2 * CRYPTO_SECKEY_LEN + 1];
    uint8_t secret[CRYPTO_SECKEY_LEN];
    crypto_err err;

    if (ctx == NULL)
        return CRYPTO_ERR_RANDOM;
    if (!secp256k1_keypair_sec(ctx, secret, &key->keypair))
        return CRYPTO_ERR_KEY_FILE_WRITE;
    crypto_hex(secret, sizeof secret, hex);
    crypto_wipe(secret, sizeof secret);
    memcpy(buf, KEY_FILE_HEADER, sizeof(KEY_FILE_HEADER) - 1);
    memcpy(buf + sizeof(KEY_FILE_HEADER) - 1, hex, 2 * CRYPTO_SECKEY_LEN);
    crypto_wipe(hex, sizeof hex);
    buf[KEY_FILE_LEN - 1] = '\n';
    err = crypto_secret_file_write(path, buf, sizeof buf);
    crypto_wipe(buf, sizeof buf);
    return err;
}

crypto_err signing_key_sign(const signing_key *key, const char *tag, const uint8_t *msg,
                            size_t len, uint8_t sig[CRYPTO_SIG_LEN])
{
    const secp256k1_context *ctx = signing_context();
    uint8_t digest[CRYPTO_HASH_LEN];
    uint8_t aux[32];
    crypto_err err;

    if (ctx == NULL)
        return CRYPTO_ERR_RANDOM;
    /* BIP340 auxiliary randomness: protects the nonce against side channels
     * and fault attacks; the nonce stays safe even if the OS source is bad. */
    err = crypto_random(aux, sizeof aux);
    if (err != CRYPTO_OK)
        return err;
    crypto_tagged_hash(tag, msg, len, digest);
    if (!secp256k1_schnorrsig_sign32(ctx, sig, digest, &key->keypair, aux))
        return CRYPTO_ERR_BAD_SECKEY;
    return CRYPTO_OK;
}

/* Parsing an x-only key takes a square root, about an eighth of a
 * verification, and a validator sees the same few keys again and again:
 * the validators' consensus messages, the authorities' transactions. So
 * each thread keeps the last key parsed per value of its first byte
 * (direct-mapped; a miss costs a 32-byte compare). Keys are public. */
#define PUBKEY_CACHE 256

typedef struct {
    uint8_t key[CRYPTO_PUBKEY_LEN];
    secp256k1_xonly_pubkey parsed;
    int used;
} pubkey_slot;

static __thread pubkey_slot pubkey_cache[PUBKEY_CACHE];

static int parse_pubkey(const uint8_t pubkey[CRYPTO_PUBKEY_LEN], secp256k1_xonly_pubkey *out)
{
    pubkey_slot *s = &pubkey_cache[pubkey[0] % PUBKEY_CACHE];

    if (s->used && memcmp(s->key, pubkey, CRYPTO_PUBKEY_LEN) == 0) {
        *out = s->parsed;
        return 1;
    }
    if (!secp256k1_xonly_pubkey_parse(secp256k1_context_static, out, pubkey))
        return 0;
    memcpy(s->key, pubkey, CRYPTO_PUBKEY_LEN);
    s->parsed = *out;
    s->used = 1;
    return 1;
}

crypto_err crypto_verify(const uint8_t pubkey[CRYPTO_PUBKEY_LEN], const char *tag,
                         const uint8_t *msg, size_t len, const uint8_t sig[CRYPTO_SIG_LEN])
{
    const secp256k1_context *ctx = secp256k1_context_static;
    secp256k1_xonly_pubkey xonly;
    uint8_t digest[CRYPTO_HASH_LEN];

    if (!parse_pubkey(pubkey, &xonly))
        return CRYPTO_ERR_BAD_PUBKEY;
    crypto_tagged_hash(tag, msg, len, digest);
    if (!secp256k1_schnorrsig_verify(ctx, sig, digest, sizeof digest, &xonly))
        return CRYPTO_ERR_BAD_SIGNATURE;
    return CRYPTO_OK;
}

int crypto_pubkey_valid(const uint8_t pubkey[CRYPTO_PUBKEY_LEN])
{
    secp256k1_xonly_pubkey xonly;
    return secp256k1_xonly_pubkey_parse(secp256k1_context_static, &xonly, pubkey);
}
