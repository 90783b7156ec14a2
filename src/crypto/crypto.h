/* evote crypto: tagged hashes, OS randomness, BIP340 Schnorr signing keys,
 * and signed envelopes. The one header of src/crypto; every function that can
 * fail returns a crypto_err and is marked warn_unused_result, so a failed
 * verification cannot be ignored by accident.
 *
 * Thread safety: every function may be called from any thread. Signing uses a
 * process-wide randomized secp256k1 context created on first use; verifying
 * uses libsecp256k1's static context. */
#ifndef EVOTE_CRYPTO_H
#define EVOTE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "evote.pb-c.h"

#define EVOTE_WARN_UNUSED __attribute__((warn_unused_result))

#define CRYPTO_HASH_LEN 32
#define CRYPTO_PUBKEY_LEN 32 /* BIP340 x-only public key */
#define CRYPTO_SECKEY_LEN 32
#define CRYPTO_SIG_LEN 64    /* BIP340 signature */
#define CRYPTO_CHAIN_ID_LEN 32

/* Largest envelope we ever parse (a block of transactions travels in pieces;
 * one envelope is one transaction or one consensus message). */
#define CRYPTO_MAX_ENVELOPE (16u * 1024u * 1024u)

typedef enum {
    CRYPTO_OK = 0,
    CRYPTO_ERR_RANDOM,            /* the OS random source failed */
    CRYPTO_ERR_NOMEM,
    CRYPTO_ERR_BAD_SECKEY,        /* zero or >= group order */
    CRYPTO_ERR_BAD_PUBKEY,        /* not 32 bytes, or not an x coordinate on the curve */
    CRYPTO_ERR_BAD_SIGNATURE,     /* does not verify for this key, kind and body */
    CRYPTO_ERR_SIGNATURE_LENGTH,  /* signature is not 64 bytes */
    CRYPTO_ERR_SIGNER_LENGTH,     /* signer key is not 32 bytes */
    CRYPTO_ERR_MALFORMED,         /* truncated or garbage protobuf */
    CRYPTO_ERR_NOT_CANONICAL,     /* parses, but is not the one canonical encoding */
    CRYPTO_ERR_TOO_LARGE,         /* over CRYPTO_MAX_ENVELOPE */
    CRYPTO_ERR_WRONG_KIND,        /* envelope kind is not the one expected here */
    CRYPTO_ERR_UNKNOWN_KIND,      /* envelope kind is not in the schema */
    CRYPTO_ERR_KEY_FILE_OPEN,     /* cannot open or read the key file (see errno) */
    CRYPTO_ERR_KEY_FILE_MODE,     /* key file readable by group or others */
    CRYPTO_ERR_KEY_FILE_SIZE,     /* key file is not the size of an evote key file */
    CRYPTO_ERR_KEY_FILE_FORMAT,   /* right size, but not an evote secret key file */
    CRYPTO_ERR_KEY_FILE_WRITE,    /* cannot create or write the key file */
    CRYPTO_ERR_KEY_FILE_EXISTS,   /* refusing to overwrite an existing key */
    CRYPTO_ERR_BAD_HEX,           /* text is not hex of the expected length */
} crypto_err;

/* Returns: a sentence an operator understands, saying what went wrong and,
 * where there is one, what to do. Never NULL. */
const char *crypto_strerror(crypto_err err);

/* ------------------------------------------------------------------ hashes */

/* BIP340 tagged hash: SHA256(SHA256(tag) || SHA256(tag) || msg).
 * Tags used by evote are "evote/v1/<name>": see crypto_kind_tag() and
 * the CRYPTO_TAG_* names below. */
void crypto_tagged_hash(const char *tag, const uint8_t *msg, size_t len,
                        uint8_t out[CRYPTO_HASH_LEN]);

#define CRYPTO_TAG_TXID "evote/v1/txid"       /* transaction id: whole envelope bytes */
#define CRYPTO_TAG_BATCH "evote/v1/batch"     /* PBFT digest of a Batch */
#define CRYPTO_TAG_BLOCK "evote/v1/block"     /* block hash: BlockHeader bytes */
#define CRYPTO_TAG_RESULTS "evote/v1/results" /* packed per-tx result codes */
#define CRYPTO_TAG_MERKLE "evote/v1/merkle"   /* inner node of the tx Merkle tree */
#define CRYPTO_TAG_SNAPSHOT "evote/v1/snapshot" /* seal of a snapshot's data.mdb */

/* Returns: the signature tag "evote/v1/<kind>" of an envelope kind, or NULL
 * for a kind outside the schema (including KIND_UNSPECIFIED). */
const char *crypto_kind_tag(Evote__V1__Kind kind);

/* Merkle root of `count` 32-byte leaves, RFC 6962 shape (a lone node is
 * carried up, never paired with itself); inner nodes are
 * tagged_hash(CRYPTO_TAG_MERKLE, left || right); one leaf is its own root;
 * zero leaves give 32 zero bytes. */
void crypto_merkle_root(const uint8_t (*leaves)[CRYPTO_HASH_LEN], size_t count,
                        uint8_t out[CRYPTO_HASH_LEN]);

/* ------------------------------------------------------------- randomness */

/* Fills buf with len bytes from the OS CSPRNG (getrandom(2)). */
EVOTE_WARN_UNUSED crypto_err crypto_random(void *buf, size_t len);

/* Overwrites len bytes at p with zeros in a way the compiler cannot elide. */
void crypto_wipe(void *p, size_t len);

/* Compares two buffers in time independent of their contents.
 * Returns: 1 when equal, 0 otherwise. */
int crypto_equal(const void *a, const void *b, size_t len);

/* ----------------------------------------------------------- signing keys */

/* An opaque BIP340 key pair. The secret never leaves this object except
 * through signing_key_save(); signing_key_destroy() wipes it. */
typedef struct signing_key signing_key;

/* Out: *out, a new key from OS randomness; the caller destroys it. */
EVOTE_WARN_UNUSED crypto_err signing_key_generate(signing_key **out);

/* In: 32 secret bytes (wiped by the caller afterwards). Out: *out. */
EVOTE_WARN_UNUSED crypto_err signing_key_from_secret(const uint8_t secret[CRYPTO_SECKEY_LEN],
                                                     signing_key **out);

/* A secret key file of exactly len bytes: "<header><text>\n", mode 0600.
 * Read: refuses a file the group or others can read (KEY_FILE_MODE), one
 * that is not a regular file of len bytes (KEY_FILE_SIZE), a wrong header or
 * no final newline (KEY_FILE_FORMAT); KEY_FILE_OPEN when it cannot be read.
 * Out: buf (room for len + 1), the line with its newline replaced by NUL;
 * wiped on error. The caller wipes it after use. */
EVOTE_WARN_UNUSED crypto_err crypto_secret_file_read(const char *path, const char *header, char *buf, size_t len);

/* Creates path with mode 0600 (O_EXCL, O_NOFOLLOW: never overwrites:
 * KEY_FILE_EXISTS), writes buf and fsyncs; removes the file on failure
 * (KEY_FILE_WRITE). */
EVOTE_WARN_UNUSED crypto_err crypto_secret_file_write(const char *path, const char *buf, size_t len);

/* Reads a key file written by signing_key_save(): one line
 * "evote-secret-key-v1 <64 hex digits>\n". Refuses a file that the group or
 * others can read (CRYPTO_ERR_KEY_FILE_MODE), one that is not a regular file
 * or has the wrong size (CRYPTO_ERR_KEY_FILE_SIZE), the wrong header or
 * digits (CRYPTO_ERR_KEY_FILE_FORMAT), and an invalid scalar
 * (CRYPTO_ERR_BAD_SECKEY). The file's bytes are wiped from memory. */
EVOTE_WARN_UNUSED crypto_err signing_key_load(const char *path, signing_key **out);

/* Writes the secret key to `path`, created with mode 0600 (O_EXCL: an existing
 * file is never overwritten) and fsync'ed. */
EVOTE_WARN_UNUSED crypto_err signing_key_save(const signing_key *key, const char *path);

/* Frees the key after wiping its secret, and sets *key to NULL. */
void signing_key_destroy(signing_key **key);

/* Out: the 32-byte x-only public key. */
void signing_key_pubkey(const signing_key *key, uint8_t out[CRYPTO_PUBKEY_LEN]);

/* Signs tagged_hash(tag, msg) with fresh auxiliary randomness.
 * Out: sig (64 bytes). */
EVOTE_WARN_UNUSED crypto_err signing_key_sign(const signing_key *key, const char *tag,
                                              const uint8_t *msg, size_t len,
                                              uint8_t sig[CRYPTO_SIG_LEN]);

/* Verifies a BIP340 signature over tagged_hash(tag, msg).
 * Returns: CRYPTO_OK, CRYPTO_ERR_BAD_PUBKEY or CRYPTO_ERR_BAD_SIGNATURE. */
EVOTE_WARN_UNUSED crypto_err crypto_verify(const uint8_t pubkey[CRYPTO_PUBKEY_LEN], const char *tag,
                                           const uint8_t *msg, size_t len,
                                           const uint8_t sig[CRYPTO_SIG_LEN]);

/* Returns: 1 when pubkey is the x coordinate of a secp256k1 point (a usable
 * BIP340 public key), 0 otherwise. */
int crypto_pubkey_valid(const uint8_t pubkey[CRYPTO_PUBKEY_LEN]);

/* ------------------------------------------------------------------- hex */

/* Writes 2*len lowercase hex digits and a NUL into out (size 2*len+1). */
void crypto_hex(const uint8_t *in, size_t len, char *out);

/* Parses exactly 2*len hex digits (either case) into out. */
EVOTE_WARN_UNUSED crypto_err crypto_unhex(const char *hex, uint8_t *out, size_t len);

/* -------------------------------------------------------------- envelopes */

/* Serializes an Envelope {kind, body, signer, signature} signed by `key`
 * over tagged_hash(crypto_kind_tag(kind), body).
 * Out: *out (malloc'ed, the caller frees) and *out_len. */
EVOTE_WARN_UNUSED crypto_err envelope_seal(Evote__V1__Kind kind, const uint8_t *body, size_t body_len,
                                           const signing_key *key, uint8_t **out, size_t *out_len);

/* Parses envelope bytes from the network or a file and checks everything that
 * does not need the body's schema: size, protobuf well-formed, canonical
 * (the bytes are exactly what serializing the parsed envelope gives: no
 * unknown fields, no reordering or padding — so nobody but the signer can
 * make a second encoding with another transaction id), kind known and
 * equal to `expected` (pass KIND_UNSPECIFIED to accept any known kind), signer
 * and signature lengths, and the signature itself.
 * Out: *out, an envelope the caller frees with
 * evote__v1__envelope__free_unpacked(*out, NULL); NULL on error. */
EVOTE_WARN_UNUSED crypto_err envelope_open(const uint8_t *bytes, size_t len, Evote__V1__Kind expected,
                                           Evote__V1__Envelope **out);

/* envelope_open without the signature check, for envelopes whose signature
 * is already established: the transactions of a batch carrying a valid commit
 * certificate were checked by at least f+1 honest replicas before they
 * prepared it. Everything else is checked as in envelope_open. */
EVOTE_WARN_UNUSED crypto_err envelope_parse(const uint8_t *bytes, size_t len, Evote__V1__Kind expected,
                                            Evote__V1__Envelope **out);

/* Checks the signature of an already-parsed envelope (lengths, kind, and
 * signature). Used for envelopes nested in other messages. */
EVOTE_WARN_UNUSED crypto_err envelope_verify(const Evote__V1__Envelope *env, Evote__V1__Kind expected);

/* Transaction id: tagged_hash("evote/v1/txid", envelope bytes). */
void envelope_txid(const uint8_t *bytes, size_t len, uint8_t out[CRYPTO_HASH_LEN]);

#endif
