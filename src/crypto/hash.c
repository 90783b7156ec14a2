/* Tagged hashes (BIP340 style) and the transaction Merkle tree. Every hash in
 * evote names its purpose in its tag, so a hash computed for one purpose can
 * never be passed off as another. */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <secp256k1.h>

#include "crypto.h"

/* SHA-256 comes from OpenSSL's libcrypto, which uses the CPU's SHA
 * instructions where there are some (x86 SHA-NI, ARMv8): 2.5-4 times faster
 * than libsecp256k1's portable C, and every transaction is hashed several
 * times per validator (its id, its signature's digest, the batch digest,
 * the block). libsecp256k1's secp256k1_tagged_sha256 stays as the fallback
 * when libcrypto cannot allocate a context: the bytes are the same. */
static const EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* SHA256(tag) of the last few tags this thread used: a handful of constant
 * strings name every hash in evote. Matched on the tag's bytes. */
#define TAG_CACHE 8
#define TAG_CACHE_MAX 48
static _Thread_local struct {
    size_t len; /* 0: empty slot */
    char tag[TAG_CACHE_MAX];
    uint8_t hash[CRYPTO_HASH_LEN];
} tag_cache[TAG_CACHE];
static _Thread_local unsigned tag_cache_next;

static int tag_hash(const char *tag, size_t len, uint8_t out[CRYPTO_HASH_LEN])
{
    unsigned int n = 0;
    unsigned slot;

    for (unsigned i = 0; i < TAG_CACHE; i++)
        if (tag_cache[i].len == len && memcmp(tag_cache[i].tag, tag, len) == 0) {
            memcpy(out, tag_cache[i].hash, CRYPTO_HASH_LEN);
            return 1;
        }
    if (!EVP_Digest(tag, len, out, &n, sha256_md, NULL) || n != CRYPTO_HASH_LEN)
        return 0;
    if (len == 0 || len > TAG_CACHE_MAX)
        return 1;
    slot = tag_cache_next++ % TAG_CACHE;
    tag_cache[slot].len = len;
    memcpy(tag_cache[slot].tag, tag, len);
    memcpy(tag_cache[slot].hash, out, CRYPTO_HASH_LEN);
    return 1;
}

static int openssl_tagged_hash(const char *tag, const uint8_t *msg, size_t len, uint8_t out[CRYPTO_HASH_LEN])
{
    uint8_t th[CRYPTO_HASH_LEN];
    unsigned int n = 0;
    EVP_MD_CTX *ctx;
    int ok;

    pthread_once(&sha256_once, sha256_fetch);
    if (sha256_md == NULL || !tag_hash(tag, strlen(tag), th))
        return 0;
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return 0;
    ok = EVP_DigestInit_ex(ctx, sha256_md, NULL) && EVP_DigestUpdate(ctx, th, sizeof th) &&
         EVP_DigestUpdate(ctx, th, sizeof th) && (len == 0 || EVP_DigestUpdate(ctx, msg, len)) &&
         EVP_DigestFinal_ex(ctx, out, &n) && n == CRYPTO_HASH_LEN;
    EVP_MD_CTX_free(ctx);
    return ok;
}

void crypto_tagged_hash(const char *tag, const uint8_t *msg, size_t len,
                        uint8_t out[CRYPTO_HASH_LEN])
{
    static const uint8_t empty = 0;

    if (openssl_tagged_hash(tag, msg, len, out))
        return;
    /* secp256k1_tagged_sha256 only fails on NULL arguments, which are
     * programming errors that its illegal-argument callback reports. */
    if (!secp256k1_tagged_sha256(secp256k1_context_static, out, (const unsigned char *)tag,
                                 strlen(tag), msg ? msg : &empty, len))
        memset(out, 0, CRYPTO_HASH_LEN);
}

const char *crypto_kind_tag(Evote__V1__Kind kind)
{
    switch (kind) {
    case EVOTE__V1__KIND__KIND_TX: return "evote/v1/tx";
    case EVOTE__V1__KIND__KIND_PRE_PREPARE: return "evote/v1/pre-prepare";
    case EVOTE__V1__KIND__KIND_PREPARE: return "evote/v1/prepare";
    case EVOTE__V1__KIND__KIND_COMMIT: return "evote/v1/commit";
    case EVOTE__V1__KIND__KIND_CHECKPOINT: return "evote/v1/checkpoint";
    case EVOTE__V1__KIND__KIND_VIEW_CHANGE: return "evote/v1/view-change";
    case EVOTE__V1__KIND__KIND_NEW_VIEW: return "evote/v1/new-view";
    case EVOTE__V1__KIND__KIND_STATE_REQUEST: return "evote/v1/state-request";
    case EVOTE__V1__KIND__KIND_STATE_RESPONSE: return "evote/v1/state-response";
    case EVOTE__V1__KIND__KIND_REQUEST_BATCH: return "evote/v1/request-batch";
    case EVOTE__V1__KIND__KIND_SUSPECT: return "evote/v1/suspect";
    default: return NULL;
    }
}

/* RFC 6962 shape: the root of n > 1 leaves hashes the root of the first k
 * leaves (k the largest power of two below n) with the root of the rest, so a
 * lone node is carried up unchanged, never paired with itself (Bitcoin's
 * self-pairing lets [a,b,c] and [a,b,c,c] share a root). Inner nodes carry
 * their own tag, so a leaf can never pass for an inner node.
 *
 * Streaming construction in O(log n) memory: push each leaf, merge the two
 * top subtrees while they have equal height; at the end merge what remains
 * from the right. */
void crypto_merkle_root(const uint8_t (*leaves)[CRYPTO_HASH_LEN], size_t count,
                        uint8_t out[CRYPTO_HASH_LEN])
{
    uint8_t pair[2 * CRYPTO_HASH_LEN];
    uint8_t stack[65][CRYPTO_HASH_LEN];
    unsigned heights[65];
    size_t depth = 0;

    if (count == 0) {
        memset(out, 0, CRYPTO_HASH_LEN);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        memcpy(stack[depth], leaves[i], CRYPTO_HASH_LEN);
        heights[depth++] = 0;
        while (depth >= 2 && heights[depth - 1] == heights[depth - 2]) {
            memcpy(pair, stack[depth - 2], CRYPTO_HASH_LEN);
            memcpy(pair + CRYPTO_HASH_LEN, stack[depth - 1], CRYPTO_HASH_LEN);
            crypto_tagged_hash(CRYPTO_TAG_MERKLE, pair, sizeof pair, stack[depth - 2]);
            heights[depth - 2]++;
            depth--;
        }
    }
    while (depth > 1) {
        memcpy(pair, stack[depth - 2], CRYPTO_HASH_LEN);
        memcpy(pair + CRYPTO_HASH_LEN, stack[depth - 1], CRYPTO_HASH_LEN);
        crypto_tagged_hash(CRYPTO_TAG_MERKLE, pair, sizeof pair, stack[depth - 2]);
        depth--;
    }
    memcpy(out, stack[0], CRYPTO_HASH_LEN);
}
