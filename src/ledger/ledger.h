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

#endif
