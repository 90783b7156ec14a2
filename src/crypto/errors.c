/* crypto_strerror: every crypto error as a sentence for an operator. */
#include "crypto.h"

const char *crypto_strerror(crypto_err err)
{
    switch (err) {
    case CRYPTO_OK: return "success";
    case CRYPTO_ERR_RANDOM: return "the operating system's random source failed (getrandom); check the kernel and retry";
    case CRYPTO_ERR_NOMEM: return "out of memory";
    case CRYPTO_ERR_BAD_SECKEY: return "invalid secret key (zero or not below the secp256k1 group order)";
    case CRYPTO_ERR_BAD_PUBKEY: return "invalid public key: not a 32-byte x coordinate of a secp256k1 point";
    case CRYPTO_ERR_BAD_SIGNATURE: return "signature does not verify for this signer, kind and content (forged, corrupted, or signed for another purpose)";
    case CRYPTO_ERR_SIGNATURE_LENGTH: return "signature is not 64 bytes (BIP340 Schnorr)";
    case CRYPTO_ERR_SIGNER_LENGTH: return "signer key is not 32 bytes (BIP340 x-only public key)";
    case CRYPTO_ERR_MALFORMED: return "message is truncated or not a valid evote protobuf";
    case CRYPTO_ERR_NOT_CANONICAL: return "message is not in canonical encoding (unknown fields, reordered or padded fields); re-encode it with an evote client";
    case CRYPTO_ERR_TOO_LARGE: return "message is larger than the 16 MiB limit";
    case CRYPTO_ERR_WRONG_KIND: return "message is of another kind than expected here";
    case CRYPTO_ERR_UNKNOWN_KIND: return "message kind is unknown to this version of evote";
    case CRYPTO_ERR_KEY_FILE_OPEN: return "cannot open or read the key file: check the path and that this user may read it";
    case CRYPTO_ERR_KEY_FILE_MODE: return "key file is readable by group or others: a secret key must be private; run 'chmod 600' on it (and consider the key exposed if others could read it)";
    case CRYPTO_ERR_KEY_FILE_SIZE: return "key file has the wrong size: it is not an evote secret key file (expected one line: evote-secret-key-v1 <64 hex digits>)";
    case CRYPTO_ERR_KEY_FILE_FORMAT: return "key file is not an evote secret key file (expected one line: evote-secret-key-v1 <64 hex digits>)";
    case CRYPTO_ERR_KEY_FILE_WRITE: return "cannot write the key file: check that the directory exists, is writable and the disk is not full";
    case CRYPTO_ERR_KEY_FILE_EXISTS: return "a file already exists at that path: refusing to overwrite a key; choose another path or move the old file away";
    case CRYPTO_ERR_BAD_HEX: return "not hexadecimal of the expected length";
    }
    return "unknown crypto error";
}
