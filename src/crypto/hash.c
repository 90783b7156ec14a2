/* Tagged hashes (BIP340 style) and the transaction Merkle tree. Every hash in
 * evote names its purpose in its tag, so a hash computed for one purpose can
 * never be passed off as another. */
#include <string.h>

#include <secp256k1.h>

#include "crypto.h"

void crypto_tagged_hash(const char *tag, const uint8_t *msg, size_t len,
                        uint8_t out[CRYPTO_HASH_LEN])
{
    static const uint8_t empty = 0;
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
