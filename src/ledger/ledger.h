/* evote ledger: transactions as they enter the chain. ledger_tx_decode() is
 * the boundary where bytes from the network or a file become a validated
 * transaction; code behind it trusts the struct. Block assembly, execution
 * and the mempool build on it. */
#ifndef EVOTE_LEDGER_H
#define EVOTE_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "evote.pb-c.h"

typedef enum {
    LEDGER_OK = 0,
    LEDGER_ERR_ENVELOPE,       /* the envelope failed: see the crypto_err detail */
    LEDGER_ERR_BODY_MALFORMED, /* envelope fine, body is not a TxBody */
    LEDGER_ERR_CHAIN_ID_LENGTH,/* chain id is not 32 bytes */
    LEDGER_ERR_WRONG_CHAIN,    /* signed for another chain */
    LEDGER_ERR_NO_PAYLOAD,     /* TxBody carries no payload */
    LEDGER_ERR_FIELD_RANGE,    /* a field is too long, too short or out of range */
    LEDGER_ERR_NOMEM,
    LEDGER_ERR_GENESIS_READ,   /* cannot read the genesis file */
    LEDGER_ERR_GENESIS_SYNTAX, /* see genesis_error for line and reason */
    LEDGER_ERR_GENESIS_VALIDATORS, /* validator count is not 3f+1, or duplicates */
} ledger_err;

/* Returns: a sentence for an operator or a client. Never NULL. */
const char *ledger_strerror(ledger_err err);

/* The result code recorded in a block for a transaction refused with err. */
Evote__V1__TxResult ledger_result_for(ledger_err err, crypto_err detail);

/* Limits on what one transaction may carry. */
#define LEDGER_MAX_ID 64            /* election id bytes */
#define LEDGER_MAX_TOPIC 128        /* notice topic bytes */
#define LEDGER_MAX_TEXT (64 * 1024) /* notice text bytes */
#define LEDGER_MAX_TITLE 512
#define LEDGER_MAX_QUESTIONS 64
#define LEDGER_MAX_OPTIONS 256
#define LEDGER_MAX_REGISTRATIONS 10000 /* voter keys per registration tx */
#define LEDGER_POINT_LEN 33         /* compressed secp256k1 point */

typedef struct {
    Evote__V1__Envelope *envelope; /* signature verified */
    Evote__V1__TxBody *body;       /* chain id checked, fields in range */
    uint8_t id[CRYPTO_HASH_LEN];   /* tagged hash of the envelope bytes */
} ledger_tx;

/* Parses and checks one transaction: envelope (canonical, KIND_TX, signature
 * valid), body (a TxBody with a payload), chain id equal to `chain_id`, and
 * every field's size and range.
 * Out: *out, owned by the caller (ledger_tx_destroy); *detail, the
 *      envelope's crypto_err when the result is LEDGER_ERR_ENVELOPE (may be
 *      NULL). */
EVOTE_WARN_UNUSED ledger_err ledger_tx_decode(const uint8_t *bytes, size_t len,
                                              const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                              ledger_tx **out, crypto_err *detail);

/* Frees a decoded transaction and sets *tx to NULL. */
void ledger_tx_destroy(ledger_tx **tx);

/* Serializes body and seals it in a KIND_TX envelope signed by key.
 * Out: *out (malloc'ed, caller frees), *out_len. */
EVOTE_WARN_UNUSED crypto_err ledger_tx_seal(const Evote__V1__TxBody *body, const signing_key *key,
                                            uint8_t **out, size_t *out_len);

/* ------------------------------------------------------------- genesis */

/* The genesis file fixes the chain: its chain id is the tagged hash of the
 * file's exact bytes ("evote/v1/genesis"), so every validator must hold the
 * same file byte for byte. Text, one entry per line, '#' starts a comment:
 *
 *   evote-genesis-v1
 *   chain_name <name: 1-64 of [A-Za-z0-9._-]>
 *   checkpoint_interval <1..100000>        (optional, default 64)
 *   max_batch_txs <1..100000>              (optional, default 2000)
 *   validator <name> <schnorr pubkey hex> <curve pubkey z85> <tcp://host:port>
 *   authority <name> <schnorr pubkey hex>
 *
 * Validators are numbered 0..n-1 in file order; n must be 3f+1. */

#define GENESIS_MAX_VALIDATORS 100
#define GENESIS_MAX_AUTHORITIES 1000
#define GENESIS_MAX_NAME 64
#define GENESIS_MAX_ENDPOINT 256
#define GENESIS_MAX_FILE (1024 * 1024)
#define CRYPTO_TAG_GENESIS "evote/v1/genesis"

typedef struct {
    char name[GENESIS_MAX_NAME + 1];
    uint8_t pubkey[CRYPTO_PUBKEY_LEN];
    char curve_z85[41];               /* ZeroMQ CURVE public key, Z85 */
    char endpoint[GENESIS_MAX_ENDPOINT + 1];
} genesis_validator;

typedef struct {
    char name[GENESIS_MAX_NAME + 1];
    uint8_t pubkey[CRYPTO_PUBKEY_LEN];
} genesis_authority;

typedef struct {
    uint8_t chain_id[CRYPTO_CHAIN_ID_LEN];
    char chain_name[GENESIS_MAX_NAME + 1];
    uint32_t checkpoint_interval;
    uint32_t max_batch_txs;
    uint32_t n;                       /* validators: n = 3f+1 */
    uint32_t f;
    genesis_validator *validators;
    uint32_t n_authorities;
    genesis_authority *authorities;
} genesis;

/* Where parsing stopped, for the operator: "genesis line 7: ...". */
typedef struct {
    unsigned line;         /* 0 when not about one line */
    char reason[160];
} genesis_error;

/* Parses genesis text (exactly the file's bytes).
 * Out: *out (caller frees with genesis_destroy); *why on failure (may be NULL). */
EVOTE_WARN_UNUSED ledger_err genesis_parse(const uint8_t *text, size_t len, genesis **out,
                                           genesis_error *why);

/* Reads and parses a genesis file. */
EVOTE_WARN_UNUSED ledger_err genesis_load(const char *path, genesis **out, genesis_error *why);

void genesis_destroy(genesis **g);

/* Returns: the validator index of pubkey, or -1. */
int genesis_validator_index(const genesis *g, const uint8_t pubkey[CRYPTO_PUBKEY_LEN]);

/* Returns: 1 when pubkey is an authority allowed to administer elections. */
int genesis_is_authority(const genesis *g, const uint8_t pubkey[CRYPTO_PUBKEY_LEN]);

#endif
