/* evote election rules: a deterministic function
 *   (state, transaction) -> (result code, state changes)
 * for the election payloads of a TxBody (ElectionCreate, TrusteeDealing,
 * TrusteeComplaint, ElectionControl, VoterRegistration, Ballot,
 * PartialDecryption). Pure: no I/O, no clock, no LMDB. State is read through
 * an injected getter (election_state_reader) and changes come back as a list
 * of puts (election_changes) that the node writes in the block's LMDB write
 * transaction (chain_store_append's `state`). Every validator, and the
 * auditor re-executing the chain offline, computes the same result code and
 * the same changes from the same chain.
 *
 * ------------------------------------------------------------ lifecycle
 *  1. ElectionCreate (a genesis authority): definition; E is fixed.
 *  2. Key ceremony (Feldman DKG, ballot_crypto.h dkg_*), trustees 1..n:
 *     round 1  TrusteeDealing{encryption_key}: trustee j publishes EK_j.
 *     round 2  TrusteeDealing{commitments, proof, encrypted_shares}: once all
 *              n EK are on chain; checked with dkg_verify_commitments.
 *     TrusteeComplaint by j against dealer i: dkg_complaint_verify; a
 *              complaint that holds disqualifies i (COMPLAINT_REFUTED if the
 *              share was right).
 *     ElectionControl OPEN (an authority), allowed once every trustee has
 *              dealt or after ceremony_end_height: Y = Σ A_i0 and X_j for
 *              j = 1..n over the qualified dealers (CEREMONY_FAILED if fewer
 *              than t). Dealings and complaints end here.
 *  2b. ElectionAttestation by each validator (its genesis key), once Y
 *     exists: its signature on E, Y and the definition's hash, checked
 *     against this state (ATTESTATION_MISMATCH otherwise), one per
 *     validator (ALREADY_SUBMITTED). Voters' clients want f+1 of them.
 *     With result_hash, once the result is recorded (WRONG_PHASE before):
 *     the same over the result too; `evote result` wants f+1.
 *  3. VoterRegistration (an authority): any time before the polls close.
 *  4. Ballot (signed by the voter key): accepted while Y exists, the polls
 *     are not closed, and open_height/open_time_ms are reached. The tally
 *     (sum of ciphertexts per option) is kept up to date ballot by ballot.
 *  5. Closing: close_height (a ballot at that height still counts),
 *     close_time_ms (block time), or ElectionControl CLOSE.
 *  6. PartialDecryption by trustee j after closing, checked against X_j;
 *     the t-th valid one derives the counts (bc_tally_combine + dlog with
 *     bound = ballots counted) and records the ElectionResult.
 *
 * Checks of a ballot, in order (the first that fails is the result):
 *  UNKNOWN_ELECTION, NO_ELECTION_KEY, NOT_OPEN (before opening or closed),
 *  NOT_REGISTERED, ALREADY_VOTED (unless revoting is allowed), then the
 *  proofs unless pre-verified: BALLOT_SHAPE (length does not fit the
 *  questions), BAD_POINT, BAD_PROOF (any proof, incl. too many selections).
 *
 * ------------------------------------------------------------ state layout
 * E = tagged_hash("evote/v1/election", chain id (32) || election_id bytes):
 * 32 bytes, also the election id every proof is bound to (bc_election).
 * Integers in keys and binary values are big-endian; j, i = trustee index
 * 1..n as u32.
 *
 *  'E' || E (33 B)          -> ElectionRecord (protobuf, evote.proto)
 *  'N' || E || u32 j        -> EK_j, 33-byte compressed point (round 1)
 *  'D' || E || u32 i        -> dealer i's dealing: status (1 byte: 1 =
 *                              qualified so far, 2 = disqualified by a
 *                              complaint) || t commitments (33 B each) ||
 *                              n encrypted shares (97 B each; its own,
 *                              entry i, is 97 zero bytes)
 *  'V' || E || voter (65 B) -> 0x00: registered, has not voted;
 *                              0x01 || tracking code (32): voted (no
 *                              revoting); 0x01 || tracking code (32) ||
 *                              slots × (a || b) compressed (66 B each): voted
 *                              in an election with revoting (the counted
 *                              ciphertexts, subtracted when replaced)
 *  'T' || E                 -> the running tally: ballots counted (u64:
 *                              voters whose ballot is in the tally) ||
 *                              ballots accepted (u64, replaced ones too) ||
 *                              slots × ELGAMAL_CT_STATE_LEN (130 B: a || b
 *                              uncompressed, 65 zero bytes = infinity).
 *                              Written when Y is derived; frozen at close.
 *  'P' || E || u32 j        -> trustee j's verified partial decryption:
 *                              slots × D_j (33 B; 33 zeros = infinity)
 *  'R' || E                 -> ElectionResult (protobuf)
 *  'A' || E                 -> the validators' attestations of Y, in commit
 *                              order: entries of u32 validator index ||
 *                              64-byte signature
 *  'Q' || E                 -> the same for the result
 *  'C' || tracking code     -> TrackingRecord (protobuf); tracking code =
 *                              the ballot's transaction id
 *
 * slots = the number of options over all questions (≤ 64).
 */
#ifndef EVOTE_ELECTION_H
#define EVOTE_ELECTION_H

#include <stddef.h>
#include <stdint.h>

#include "ballot_crypto.h"
#include "crypto.h"
#include "evote.pb-c.h"

#define ELECTION_MAX_ID 64          /* election_id bytes */
/* The newest key-ceremony rules this code runs (ElectionCreate.ceremony_version):
 * 1 = shares come with proofs of their ephemeral keys, and OPEN waits for
 * the trustees' checks (or complaint_end_height). */
#define ELECTION_CEREMONY_VERSION 1
#define ELECTION_MAX_SLOTS BC_MAX_OPTIONS /* options over all questions */
#define ELECTION_HASH_LEN 32        /* E */
#define ELECTION_TAG "evote/v1/election"

#define ELECTION_KEY_ELECTION 'E'
#define ELECTION_KEY_ENCRYPTION 'N'
#define ELECTION_KEY_DEALING 'D'
#define ELECTION_KEY_VOTER 'V'
#define ELECTION_KEY_TALLY 'T'
#define ELECTION_KEY_PARTIAL 'P'
#define ELECTION_KEY_RESULT 'R'
#define ELECTION_KEY_TRACKING 'C'
#define ELECTION_KEY_ATTESTATION 'A'
#define ELECTION_KEY_RESULT_ATTESTATION 'Q'
#define ELECTION_KEY_CHECKED 'K' /* (E, j): bitmap of the dealers trustee j confirmed (version 1) */
#define ELECTION_KEY_DEALING_TX 'X' /* (E, i): the id of dealer i's accepted dealing (version 1), so that a
                                       trustee can fetch it signed from its block */
#define ELECTION_KEY_EK_TX 'Y'      /* (E, j): the id of trustee j's accepted encryption key (version 1) */

#define ELECTION_ATTEST_TAG "evote/v1/election-attestation"
#define ELECTION_RESULT_ATTEST_TAG "evote/v1/result-attestation"
#define ELECTION_DEFINITION_TAG "evote/v1/definition"
#define ELECTION_RESULT_TAG "evote/v1/result"
#define ELECTION_TRACK_STATEMENT_TAG "evote/v1/track-statement" /* a validator's signed Track answer */
#define ELECTION_ATTEST_MSG_LEN (ELECTION_HASH_LEN + EC_POINT_LEN + CRYPTO_HASH_LEN) /* E || Y || definition hash */
#define ELECTION_RESULT_ATTEST_MSG_LEN (ELECTION_ATTEST_MSG_LEN + CRYPTO_HASH_LEN) /* ... || result hash */
#define ELECTION_ATTEST_ENTRY_LEN (4 + CRYPTO_SIG_LEN)

#define ELECTION_DEALING_QUALIFIED 1
#define ELECTION_DEALING_DISQUALIFIED 2
#define ELECTION_TALLY_HEADER 16 /* two u64 before the ciphertexts */

typedef enum {
    ELECTION_OK = 0,
    ELECTION_ERR_NOMEM,
    ELECTION_ERR_STATE,     /* the state getter failed: do not commit the block, retry */
    ELECTION_ERR_CORRUPT,   /* a stored value does not parse: the state database is damaged */
    ELECTION_ERR_ARGUMENT,  /* not an election payload, or a NULL argument */
    ELECTION_ERR_NOT_FOUND, /* (read helpers) no such election / result / tracking code */
    ELECTION_ERR_CRYPTO,    /* building a verifier failed (see ballot_crypto) */
} election_err;

/* Returns: a sentence for an operator. Never NULL. */
const char *election_strerror(election_err err);

/* Returns: a sentence for a client explaining a result code (any code). */
const char *election_result_text(Evote__V1__TxResult result);

/* Out: E for election_id under chain_id. */
void election_hash(const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], const uint8_t *election_id, size_t len,
                   uint8_t out[ELECTION_HASH_LEN]);

/* Returns: 1 when the body's payload is one of the election payloads. */
int election_is_election_payload(const Evote__V1__TxBody *body);

/* ------------------------------------------------------------ state access */

/* How the rules read state. get returns 1 and *value (malloc'ed: the
 * election module frees it with free(); may be NULL when *len is 0) when
 * the key exists, 0 when it does not, -1 when reading failed (the block must
 * not be committed: election_apply then returns ELECTION_ERR_STATE).
 * chain_store_get_state fits in a few lines. */
typedef struct {
    int (*get)(void *ctx, const uint8_t *key, size_t key_len, uint8_t **value, size_t *len);
    void *ctx;
} election_state_reader;

/* An ordered list of state changes with unique keys: a later put of a key
 * already in the list replaces its value in place, so the order is the
 * order of first touch (deterministic) and the list can be handed to
 * chain_store_append as is. Opaque. */
typedef struct election_changes election_changes;

/* Returns: a new empty list, or NULL (out of memory). */
election_changes *election_changes_new(void);
/* Frees and sets *c to NULL. */
void election_changes_destroy(election_changes **c);
/* Empties the list (keeps its memory). */
void election_changes_clear(election_changes *c);
size_t election_changes_count(const election_changes *c);
/* Out: change i (< count). Pointers valid until the list changes. del is 1
 * for a deletion (value NULL). */
void election_changes_at(const election_changes *c, size_t i, const uint8_t **key, size_t *key_len,
                         const uint8_t **value, size_t *value_len, int *del);
/* Puts key -> value (copies both; replaces the value of a key already in
 * the list). Returns: 1, or 0 out of memory (list unchanged). */
EVOTE_WARN_UNUSED int election_changes_put(election_changes *c, const uint8_t *key, size_t key_len,
                                           const uint8_t *value, size_t value_len);
/* Looks a key up in the list. Returns: 1 put (value, len set; pointer valid
 * until the list changes), 0 not in the list, 2 deleted. */
int election_changes_find(const election_changes *c, const uint8_t *key, size_t key_len, const uint8_t **value,
                          size_t *len);

/* -------------------------------------------------------- verifier cache */

/* The public parameters of elections whose key Y exists, parsed once
 * (bc_election with its ~520 KiB table of multiples of Y, ~20-30 ms to
 * build): shared by execution and the mempool's worker threads. Thread-safe;
 * entries are immutable and live until the cache is destroyed (Y never
 * changes once derived). Purely an optimization: results never depend on
 * what the cache holds. */
typedef struct election_cache election_cache;

EVOTE_WARN_UNUSED election_err election_cache_new(const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                                  election_cache **out);
void election_cache_destroy(election_cache **c);

/* Loads the verifier of election_id from state (e.g. when the node starts,
 * or from a worker after a block derived Y). Returns: ELECTION_OK (loaded or
 * already there), ELECTION_ERR_NOT_FOUND (no such election or no Y yet),
 * ELECTION_ERR_STATE, _CORRUPT, _NOMEM, _CRYPTO. */
EVOTE_WARN_UNUSED election_err election_cache_load(election_cache *c, const election_state_reader *rd,
                                                   const uint8_t *election_id, size_t len);

/* The expensive part of a ballot, separable from execution: checks the
 * encrypted ballot's length, points and proofs (bc_ballot_verify bound to E,
 * Y and the signer as voter). Stateless given the election's parameters, so
 * mempool worker threads call it before the ballot is proposed. Thread-safe.
 * In: the decoded body (a Ballot payload) and the envelope's signer.
 * Out: when cts is not NULL (room for max entries; ELECTION_MAX_SLOTS is
 * always enough), the parsed ciphertexts and *n_cts their number: keep them
 * with the verdict and hand them to election_apply (election_tx.ballot_cts)
 * to spare execution the point decompression too.
 * Returns: TX_RESULT_OK (valid: execution may skip the check; pass
 * ballot_verified = 1 in election_tx), TX_RESULT_BALLOT_SHAPE, _BAD_POINT,
 * _BAD_PROOF (the ballot can never be valid: refuse it at the mempool), or
 * TX_RESULT_UNSPECIFIED when the cache has no verifier for this election
 * (unknown election or no key yet: not decided, execution will verify). */
EVOTE_WARN_UNUSED Evote__V1__TxResult election_precheck_ballot(election_cache *c, const Evote__V1__TxBody *body,
                                                               const uint8_t signer[CRYPTO_PUBKEY_LEN],
                                                               elgamal_ct *cts, size_t max, size_t *n_cts);

/* --------------------------------------------------------------- execution */

typedef struct {
    const uint8_t *chain_id;  /* 32 bytes, the genesis's */
    uint64_t height;          /* the block being executed */
    uint64_t time_ms;         /* its block time (BlockHeader.timestamp_ms) */
    /* Returns: 1 when pubkey (32 bytes) is an authority of the genesis. */
    int (*is_authority)(void *arg, const uint8_t *pubkey);
    /* Returns: the genesis validator index of pubkey, or -1 (same arg). */
    int (*validator_index)(void *arg, const uint8_t *pubkey);
    void *authority_arg;
    election_cache *cache;    /* may be NULL (then verifiers are built per ballot: slow) */
} election_ctx;

typedef struct {
    const Evote__V1__TxBody *body;  /* decoded and range-checked (ledger_tx_decode) */
    const uint8_t *signer;          /* 32-byte envelope signer (signature verified) */
    const uint8_t *id;              /* 32-byte transaction id = tracking code of a ballot */
    int ballot_verified;            /* 1: election_precheck_ballot gave TX_RESULT_OK for
                                       exactly this transaction: skip the proofs */
    const elgamal_ct *ballot_cts;   /* optional, with ballot_verified: the ciphertexts that
                                       precheck returned for this transaction */
    size_t n_ballot_cts;
} election_tx;

/* Executes one election transaction of a committed block.
 * In: rd reads the state as of the end of the previous block; block holds
 * the changes of the earlier transactions of this block, and reads see them
 * over rd.
 * Out: *result, the code the block records. On TX_RESULT_OK this
 * transaction's changes are merged into block; on any other result block is
 * unchanged.
 * Returns: ELECTION_OK (then *result is meaningful), or ELECTION_ERR_STATE,
 * _CORRUPT, _NOMEM, _ARGUMENT: the block cannot be executed here and now (a
 * local failure, not a property of the transaction): do not commit it. */
EVOTE_WARN_UNUSED election_err election_apply(const election_ctx *ctx, const election_tx *tx,
                                              const election_state_reader *rd, election_changes *block,
                                              Evote__V1__TxResult *result);

/* ------------------------------------------------- read helpers (CLI, audit) */

/* Out: *out, the ElectionRecord (free with evote__v1__election_record__free_unpacked(*out, NULL)).
 * Returns: ELECTION_OK, _NOT_FOUND, _STATE, _CORRUPT. */
EVOTE_WARN_UNUSED election_err election_get(const election_state_reader *rd,
                                            const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                            const uint8_t *election_id, size_t len,
                                            Evote__V1__ElectionRecord **out);

/* Out: *out, the ElectionResult (free with evote__v1__election_result__free_unpacked).
 * Returns: ELECTION_OK, _NOT_FOUND (no result yet), _STATE, _CORRUPT. */
EVOTE_WARN_UNUSED election_err election_get_result(const election_state_reader *rd,
                                                   const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                                   const uint8_t *election_id, size_t len,
                                                   Evote__V1__ElectionResult **out);

/* Out: *out, the TrackingRecord of a tracking code (free with
 * evote__v1__tracking_record__free_unpacked). The block height and the
 * commit certificate come from the chain (chain_store_find_tx on the code).
 * Returns: ELECTION_OK, _NOT_FOUND, _STATE, _CORRUPT. */
EVOTE_WARN_UNUSED election_err election_track(const election_state_reader *rd,
                                              const uint8_t code[CRYPTO_HASH_LEN],
                                              Evote__V1__TrackingRecord **out);

/* Returns: 1 when no block after a tip at tip_height, with block time
 * tip_time_ms, can take a ballot of this election (closed early by its
 * creator, or past its closing height or time: block time never goes back),
 * so what the tip's state says of its ballots is final; 0 otherwise. */
int election_polls_closed_after(const Evote__V1__ElectionRecord *rec, uint64_t tip_height, uint64_t tip_time_ms);

/* Returns: 1 when election_admit has something to say of a transaction
 * with this body (a ballot, a trustee's dealing, complaint or partial
 * decryption: payloads signed by keys outside the genesis), 0 when it
 * always answers TX_RESULT_OK. */
int election_admit_asks(const Evote__V1__TxBody *body);

/* The part of the election rules that the state alone decides of a
 * transaction signed by a key outside the genesis (a ballot, a trustee's
 * step), for a validator to refuse a client's at the door rather than
 * record the refusal in a block (the rules in election_apply still decide).
 * In: the decoded body, its signer and transaction id; the tip's height and
 * block time, and the state as of that tip (rd). current: 1 when this state
 * is known to be the chain's latest (the validator is not catching up):
 * only then is refused what a block it has not stored yet could change.
 * Returns: TX_RESULT_OK (may be accepted; also for every other payload), or
 * the refusal that every block after the tip would give —
 *   always:        a ballot: NOT_OPEN (the polls are closed), ALREADY_VOTED
 *                  (a ballot of this voter counts and the election allows no
 *                  revoting; not for that very ballot sent again),
 *                  NOT_REGISTERED once the roll is frozen (its registration
 *                  deadline passed, or the polls opened and the definition
 *                  freezes the roll then); a trustee's dealing, complaint or
 *                  partial decryption: NOT_TRUSTEE (the signer is not among
 *                  the definition's trustees);
 *   with current:  UNKNOWN_ELECTION; a ballot: NO_ELECTION_KEY, NOT_OPEN
 *                  (opening height after the next block), NOT_REGISTERED;
 * MALFORMED for a bad election id; UNSPECIFIED when the state could not be
 * read (not decided: let execution decide). Out: *final (may be NULL) 1 for
 * a refusal no later block can change (the "always" ones and MALFORMED),
 * 0 otherwise. */
EVOTE_WARN_UNUSED Evote__V1__TxResult election_admit(const election_state_reader *rd,
                                                     const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                                     const Evote__V1__TxBody *body,
                                                     const uint8_t signer[CRYPTO_PUBKEY_LEN],
                                                     const uint8_t id[CRYPTO_HASH_LEN], uint64_t tip_height,
                                                     uint64_t tip_time_ms, int current, int *final);

/* What a validator signed of a ballot at a height (a TrackStatement, see
 * proto/api.proto), to be judged against the chain. */
typedef struct {
    uint64_t height;
    int status;                  /* TrackingRecord.Status */
    const uint8_t *replaced_by;  /* 32 bytes, or NULL */
    int polls_closed;
} election_claim;

/* Judges a claim against the chain: final is the ballot's TrackingRecord in
 * the chain's latest state (NULL: no accepted ballot has this code),
 * replacement_height the height of final->replaced_by's block (when
 * REPLACED), rec the election's record, time_at_height the block time at
 * the claim's height. A ballot's status only ever goes from COUNTED to
 * REPLACED, so the latest state says what it was at any height. Pure.
 * Returns: 1 the claim was true at its height, 0 it was false (why says
 * what the chain holds instead). */
int election_judge_claim(const election_claim *c, const Evote__V1__TrackingRecord *final,
                         uint64_t replacement_height, const Evote__V1__ElectionRecord *rec, uint64_t time_at_height,
                         char *why, size_t why_len);

/* Out: *ballots_counted, *ballots_accepted and, when cts is not NULL, the
 * tally ciphertexts (slots entries; *slots their number).
 * Returns: ELECTION_OK, _NOT_FOUND (no key yet), _STATE, _CORRUPT, _ARGUMENT. */
EVOTE_WARN_UNUSED election_err election_get_tally(const election_state_reader *rd,
                                                  const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                                  const uint8_t *election_id, size_t len,
                                                  uint64_t *ballots_counted, uint64_t *ballots_accepted,
                                                  elgamal_ct *cts, size_t max, size_t *slots);

/* ------------------------------------------ attestations of the key, result */

/* What validators sign (under tag): for the key, E || Y || definition hash;
 * for the result, that || result hash. */
typedef struct {
    const char *tag;
    uint8_t msg[ELECTION_RESULT_ATTEST_MSG_LEN];
    size_t len;
} election_attest_msg;

/* Out: tagged_hash(ELECTION_DEFINITION_TAG, packed def): what validators
 * attest besides Y. Returns: 1, or 0 (out of memory). */
int election_definition_hash(const Evote__V1__ElectionCreate *def, uint8_t out[CRYPTO_HASH_LEN]);
/* Out: tagged_hash(ELECTION_RESULT_TAG, packed res). Returns: 1, or 0. */
int election_result_hash(const Evote__V1__ElectionResult *res, uint8_t out[CRYPTO_HASH_LEN]);

/* Out: what an attestation of the record's key and definition signs.
 * Returns: 1, or 0 when the record has no usable Y or definition (or out
 * of memory). */
int election_key_attest_msg(const Evote__V1__ElectionRecord *rec, election_attest_msg *out);
/* Out: what an attestation of the result (with the record's key and
 * definition) signs. Returns: 1, or 0 as above. */
int election_result_attest_msg(const Evote__V1__ElectionRecord *rec, const Evote__V1__ElectionResult *res,
                               election_attest_msg *out);

/* Out: *value, the raw 'A' || E (result 0) or 'Q' || E (result 1) value
 * (entries of ELECTION_ATTEST_ENTRY_LEN; malloc'ed, NULL when there is
 * none) and *value_len.
 * Returns: ELECTION_OK (none: *value_len 0), _STATE, _CORRUPT (not whole entries). */
EVOTE_WARN_UNUSED election_err election_get_attestations(const election_state_reader *rd,
                                                         const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                                         const uint8_t *election_id, size_t len, int result,
                                                         uint8_t **value, size_t *value_len);

/* Returns: the validator index of one stored entry. */
uint32_t election_attestation_validator(const uint8_t entry[ELECTION_ATTEST_ENTRY_LEN]);

/* How many distinct validators vouch for m: an attestation counts when its
 * index names one of the n validator keys and its signature verifies for
 * that key over m (public data: not constant time). Anyone can call this
 * on what any node answered; f+1 means at least one honest validator
 * stands behind it.
 * In: validators[i] and sigs[i] for i < n_att; keys[v] for v < n_keys.
 * Out: when vouched is not NULL (n_keys entries), vouched[v] = 1 for each
 * validator counted. Returns: the count. */
uint32_t election_count_attestations(const election_attest_msg *m, const uint32_t *validators,
                                     const uint8_t (*sigs)[CRYPTO_SIG_LEN], size_t n_att,
                                     const uint8_t (*keys)[CRYPTO_PUBKEY_LEN], uint32_t n_keys,
                                     uint8_t *vouched);
/* The same over a stored value (len bytes of whole entries, as
 * election_get_attestations gives it). */
uint32_t election_count_stored_attestations(const election_attest_msg *m, const uint8_t *value, size_t len,
                                            const uint8_t (*keys)[CRYPTO_PUBKEY_LEN], uint32_t n_keys,
                                            uint8_t *vouched);

/* Returns: 1 registered (and *voted set to 1 when a ballot of it counts),
 * 0 not registered, -1 reading failed or corrupt. */
int election_voter_status(const election_state_reader *rd, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                          const uint8_t *election_id, size_t len, const uint8_t voter[CRYPTO_PUBKEY_LEN],
                          int *voted);

#endif
