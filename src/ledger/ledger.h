/* evote ledger: transactions as they enter the chain. ledger_tx_decode() is
 * the boundary where bytes from the network or a file become a validated
 * transaction; code behind it trusts the struct. Block assembly, execution
 * and the mempool build on it. */
#ifndef EVOTE_LEDGER_H
#define EVOTE_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "api.pb-c.h"
#include "crypto.h"
#include "election.h"
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
    LEDGER_ERR_BUSY,           /* mempool full: the client should retry later */
    LEDGER_ERR_THREAD,         /* could not start verification threads */
    LEDGER_ERR_BATCH_MALFORMED,/* a proposed batch does not parse */
    LEDGER_ERR_BATCH_SEQ,      /* a batch for another sequence number */
    LEDGER_ERR_BATCH_TIME,     /* batch timestamp too far from this node's clock */
    LEDGER_ERR_BATCH_SIZE,     /* more transactions than the genesis allows */
    LEDGER_ERR_BATCH_TX,       /* a transaction in the batch is invalid */
    LEDGER_ERR_BATCH_DUPLICATE,/* the same transaction twice in one batch */
    LEDGER_ERR_STATE,          /* the election state cannot be read or is damaged */
    LEDGER_ERR_NOT_AUTHORIZED, /* the signer may never sign this kind of transaction (ledger_signer_may_sign) */
    LEDGER_ERR_RULES,          /* the election rules refuse it: a ballot's proofs, or the state (verdict.rule) */
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

/* ledger_tx_decode without the signature check, for a transaction of a batch
 * that carries a valid commit certificate (see envelope_parse). */
EVOTE_WARN_UNUSED ledger_err ledger_tx_decode_committed(const uint8_t *bytes, size_t len,
                                                        const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                                        ledger_tx **out, crypto_err *detail);

/* Frees a decoded transaction and sets *tx to NULL. */
void ledger_tx_destroy(ledger_tx **tx);

/* Serializes body and seals it in a KIND_TX envelope signed by key.
 * Out: *out (malloc'ed, caller frees), *out_len. */
EVOTE_WARN_UNUSED crypto_err ledger_tx_seal(const Evote__V1__TxBody *body, const signing_key *key,
                                            uint8_t **out, size_t *out_len);

/* ------------------------------------------------------------- mempool */

/* Transactions waiting for a block. Submitted bytes are verified
 * (ledger_tx_decode: format, chain id, signature) on worker threads using
 * every core; accepted ones wait in arrival order, deduplicated by id, until
 * the primary takes them into a batch and the batch commits. The verdict is
 * remembered by id, so validating a proposed block does not verify the same
 * signature again.
 *
 * Threads: mempool_submit may be called from any thread; every other
 * function from one thread (the node's event loop). Verdicts are collected
 * with mempool_poll_verdicts when mempool_fd() is readable. */
typedef struct mempool mempool;

typedef struct {
    uint64_t ticket;               /* the caller's handle given to mempool_submit */
    ledger_err err;                /* LEDGER_OK: accepted (or already pending) */
    crypto_err detail;             /* envelope failure detail when err == LEDGER_ERR_ENVELOPE */
    int duplicate;                 /* 1: the same transaction was already pending */
    Evote__V1__TxResult rule;      /* with LEDGER_ERR_RULES: the election rules' code (a
                                      ballot's proofs, or the state gate's); for an accepted
                                      ballot, OK when its proofs were checked here,
                                      UNSPECIFIED when not */
    uint8_t id[CRYPTO_HASH_LEN];   /* transaction id (valid when err == LEDGER_OK) */
    int by_state;                  /* LEDGER_ERR_RULES given by the state gate (not the bytes) */
    int may_change;                /* by_state, and a later block could change it (the gate's
                                      *final was 0), even when this submission's mode made the
                                      refusal final here (MEMPOOL_GATE_FINAL) */
    uint8_t *bytes;                /* NULL, or a refusal by the state gate that a later block
                                      may change: the transaction, handed to the caller
                                      (free() it) to submit again later */
    size_t len;
} mempool_verdict;

typedef struct {
    const uint8_t *bytes;          /* owned by the mempool until committed or destroyed */
    size_t len;
    const uint8_t *id;
} mempool_tx;

#define LEDGER_TX_RESULT_SLOTS 32 /* room for every evote.v1.TxResult code */

typedef struct {
    uint64_t submitted, accepted, duplicates, busy;
    uint64_t verified;             /* transactions the workers decoded and checked */
    uint64_t verified_inline;      /* checked by the caller of mempool_add_verified (a proposal
                                      validated on the event loop) */
    uint64_t skipped;              /* not checked again: the same bytes pending or just committed */
    uint64_t swept;                /* pending ones the state came to refuse for good (mempool_sweep),
                                      dropped (also counted in refused[]) */
    uint64_t rejected[LEDGER_ERR_RULES + 1]; /* by ledger_err */
    uint64_t refused[LEDGER_TX_RESULT_SLOTS]; /* rejections by the TxResult a client is told:
                                                 bad signature, wrong chain, malformed, or a
                                                 ballot's reason (out of memory not counted) */
    size_t queued;                 /* waiting for a worker */
    size_t pending;                /* accepted, not yet committed */
    size_t ready;                  /* of pending, not in a proposed batch */
    size_t bytes;                  /* transaction bytes held: queued, being verified and pending */
    size_t max_bytes;              /* mempool_set_byte_limit (0: none) */
    /* One verification in MEMPOOL_TIMING_SAMPLE, timed on its worker's CPU
     * clock (decode, signature and, for a ballot, its proofs): what
     * verification really costs on this machine under this load, next to
     * the isolated figure of the benchmarks. [0] other transactions, [1]
     * ballots. */
    uint64_t timed[2];
    uint64_t timed_ns[2];
} mempool_stats;
#define MEMPOOL_TIMING_SAMPLE 16

/* In: chain_id, capacity (queued + pending transactions at most), workers
 * (0 = one per online core). Out: *out. */
EVOTE_WARN_UNUSED ledger_err mempool_new(const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], size_t capacity,
                                         unsigned workers, mempool **out);

/* From now on, a submission that would make the transaction bytes held
 * (queued, being verified and pending) exceed max_bytes is answered
 * LEDGER_ERR_BUSY, as one beyond the capacity is: a count alone lets
 * large transactions (up to 1 MiB each) take gigabytes. 0: no byte limit
 * (the default). mempool_add_verified is not limited (a batch's
 * transactions are in a block already). */
void mempool_set_byte_limit(mempool *mp, size_t max_bytes);

/* Stops the workers (dropping queued work), frees everything, sets *mp NULL. */
void mempool_destroy(mempool **mp);

/* Returns: a file descriptor that is readable while verdicts are waiting. */
int mempool_fd(const mempool *mp);

/* Queues a copy of bytes for verification; its verdict will carry ticket
 * (0: a forwarded transaction nobody waits for). Full means capacity
 * reached, or, for a ticket != 0, max(1024, 256 per worker) transactions
 * already waiting for verification (a client gets "busy", not a long wait).
 * A transaction already pending here is answered as a duplicate without
 * being verified again.
 * Returns: LEDGER_OK (queued), LEDGER_ERR_BUSY (full: nothing queued),
 * LEDGER_ERR_NOMEM. Every refusal of the transaction itself (bad signature,
 * wrong chain...) comes later, in its verdict. */
EVOTE_WARN_UNUSED ledger_err mempool_submit(mempool *mp, const uint8_t *bytes, size_t len, uint64_t ticket);

/* How mempool_submit_gated treats a transaction with the state gate. */
typedef enum {
    MEMPOOL_GATE_NONE,  /* not asked */
    MEMPOOL_GATE_ASK,   /* asked; a refusal a later block may change is handed back (verdict.bytes) */
    MEMPOOL_GATE_FINAL, /* asked; every refusal is final (counted, nothing handed back) */
    MEMPOOL_GATE_FINAL_ONLY, /* asked; only a refusal no later block can change refuses (counted),
                                any other lets it through: for what another validator passed on,
                                whose state may be newer than this one's */
} mempool_gate_mode;

/* mempool_submit with the gate as mode says: for a transaction a verdict
 * handed back, asked again (FINAL), or let through (NONE). */
EVOTE_WARN_UNUSED ledger_err mempool_submit_gated(mempool *mp, const uint8_t *bytes, size_t len, uint64_t ticket,
                                                  mempool_gate_mode mode);

/* mempool_submit ahead of everything waiting, even when full: for the
 * transactions of a proposed block that a backup must check (bounded by the
 * block size). Returns: LEDGER_OK or LEDGER_ERR_NOMEM. */
EVOTE_WARN_UNUSED ledger_err mempool_submit_first(mempool *mp, const uint8_t *bytes, size_t len, uint64_t ticket);

/* Runs fn(arg, i) for every i < n on the worker threads and on the calling
 * thread together, before any queued verification, and returns once every
 * call has returned: for work the caller needs done now that splits into
 * independent parts (a fetched block's ballot proofs, before it is
 * executed). fn runs without the mempool's lock: it may ask the mempool
 * (mempool_ballot_verdict), but not run mempool_parallel. One caller at a
 * time (the thread that owns the mempool). */
void mempool_parallel(mempool *mp, void (*fn)(void *arg, size_t i), void *arg, size_t n);

/* Out: up to max verdicts. Returns: how many (0 when none; never blocks). */
size_t mempool_poll_verdicts(mempool *mp, mempool_verdict *out, size_t max);

/* Hands out up to max_txs pending transactions (at most max_bytes in all),
 * oldest first, that were not handed out before; they stay in the pool until
 * committed. Returns: how many. */
size_t mempool_take(mempool *mp, size_t max_txs, size_t max_bytes, mempool_tx *out);

/* Like mempool_take, but hands nothing out: the oldest pending transactions
 * not handed out yet, left as they are (to send them to the other
 * validators again). The bytes are valid until they are committed. */
size_t mempool_peek(mempool *mp, size_t max_txs, size_t max_bytes, mempool_tx *out);

/* Makes every handed-out, uncommitted transaction available to
 * mempool_take again, ahead of newer ones (after a view change the new
 * primary must not lose them). */
void mempool_untake_all(mempool *mp);

/* Marks pending transactions as handed out (a batch already proposes
 * them: after a view change, the batches the new view re-proposes), so
 * mempool_take does not offer them again. Unknown ids are ignored. */
void mempool_mark_taken(mempool *mp, const uint8_t (*ids)[CRYPTO_HASH_LEN], size_t n);

/* Removes committed transactions and remembers the last 65,536 committed
 * ids: copies still queued for verification, or submitted later, are not
 * verified (a client's copy gets an accepted, duplicate verdict; the block's
 * execution checked the transaction) nor kept. */
void mempool_commit(mempool *mp, const uint8_t (*ids)[CRYPTO_HASH_LEN], size_t n);

/* Returns: 1 when a transaction with this id passed verification and is
 * pending here (its signature need not be checked again). */
int mempool_is_verified(mempool *mp, const uint8_t id[CRYPTO_HASH_LEN]);

/* Adds a transaction the caller verified itself (ledger_tx_decode passed,
 * e.g. in ledger_batch_check) to the pending set, so that no copy of it is
 * verified again. Does nothing when it is already pending, or already
 * committed (among the recently committed ids, or by the committed check
 * below): a faulty primary re-proposing an old transaction must not leave
 * it pending here, where it would look like a request the primary ignores.
 * Counted in mempool_stats.verified_inline. */
void mempool_add_verified(mempool *mp, const uint8_t *bytes, size_t len, const uint8_t id[CRYPTO_HASH_LEN]);

/* Returns: 1 and the bytes of a pending transaction (owned by the mempool:
 * valid until it is committed or the pool destroyed), 0 when not pending. */
int mempool_get_tx(mempool *mp, const uint8_t id[CRYPTO_HASH_LEN], const uint8_t **bytes, size_t *len);

void mempool_get_stats(mempool *mp, mempool_stats *out);

/* From now on, ballots are checked on the worker threads against the
 * verifiers in cache (thread-safe; it outlives the mempool): one whose
 * proofs fail is refused (LEDGER_ERR_RULES, the reason in verdict.rule);
 * one that passes is remembered with its ciphertexts. */
void mempool_set_elections(mempool *mp, election_cache *cache);

/* The state's say on a client's transaction (election_admit over the chain
 * store, in evoted): TX_RESULT_OK or UNSPECIFIED let it on (a ballot to its
 * proofs); any other code refuses it (LEDGER_ERR_RULES, the code in
 * verdict.rule). Called on the worker threads, without the mempool's lock,
 * after the signature and signer checks. *final (0 when called): set it to
 * 1 for a refusal no later block can change; otherwise the verdict hands
 * the transaction back (verdict.bytes), for the caller to try again. */
typedef Evote__V1__TxResult (*mempool_state_gate)(void *ctx, const Evote__V1__TxBody *body,
                                                  const uint8_t signer[CRYPTO_PUBKEY_LEN],
                                                  const uint8_t id[CRYPTO_HASH_LEN], int *final);

/* From now on, transactions submitted with a nonzero ticket (a client's,
 * to be answered) pass fn first. Those submitted without one (passed on by
 * a validator that asked its own state) and mempool_submit_first's (in a
 * proposed block already) do not, unless mempool_submit_gated says so:
 * another validator's state may be newer than this one's. fn == NULL: no
 * gate. */
void mempool_set_state_gate(mempool *mp, mempool_state_gate fn, void *ctx);

/* Asks the state gate again about pending transactions the state decides
 * (election_admit_asks) that no proposal took (mempool_take), oldest first,
 * up to max of them, skipping those the previous call asked (so that more
 * than max take turns); drops those it now refuses for good (*final),
 * counted in stats.swept and stats.refused. What another validator passed on while
 * this one's state was behind may be refused for good by the primary's:
 * the primary drops it (MEMPOOL_GATE_FINAL_ONLY) and never proposes it, so
 * here it would wait forever, and this replica suspect every primary.
 * Call it every few hundred ms (evoted: while no block executes) from the
 * thread that calls mempool_commit (the only one that removes entries).
 * Returns: how many were dropped. */
size_t mempool_sweep(mempool *mp, size_t max);

/* How mempool_add_verified asks the chain whether a transaction is already
 * in a block (e.g. a lookup in the chain store), for ids older than the
 * recently committed ones it remembers. Called on mempool_add_verified's
 * thread, without the mempool's lock. fn == NULL: no such check. */
void mempool_set_committed_check(mempool *mp, int (*fn)(void *ctx, const uint8_t id[CRYPTO_HASH_LEN]),
                                 void *ctx);

/* Returns: 1 and the ciphertexts of a pending ballot whose proofs passed
 * here (valid until the transaction is committed or the pool destroyed),
 * 0 otherwise. When a worker is verifying that very transaction, waits for
 * its verdict (at most one verification) rather than answer 0 and have the
 * caller verify it a second time. Fits ledger_chain_view.ballot_verdict. */
int mempool_ballot_verdict(mempool *mp, const uint8_t id[CRYPTO_HASH_LEN], const elgamal_ct **cts, size_t *n);

/* ------------------------------------------------------------- genesis */

/* The genesis file fixes the chain: its chain id is the tagged hash of the
 * file's exact bytes ("evote/v1/genesis"), so every validator must hold the
 * same file byte for byte. Text, one entry per line, '#' at the start of a field starts a comment (inside a
 * field it is a character: Z85 keys may contain it):
 *
 *   evote-genesis-v1
 *   chain_name <name: 1-64 of [A-Za-z0-9._-]>
 *   checkpoint_interval <1..100000>        (optional, default 64)
 *   max_batch_txs <1..100000>              (optional, default 2000)
 *   primary_term <0..1000>                 (optional, default 16: checkpoint intervals per
 *                                           primary's term, then the next validator is
 *                                           primary; 0 = the primary changes only on trouble)
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
    uint32_t primary_term;            /* checkpoint intervals per primary's term (0: no rotation) */
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

/* Returns: the n validators' Schnorr keys in genesis order, as one array
 * (malloc'ed: the caller frees), or NULL when out of memory. */
uint8_t (*genesis_pubkeys(const genesis *g))[CRYPTO_PUBKEY_LEN];

/* A validator's signed Track answer (ApiResponse.track_statement and
 * track_signature), as a client or an auditor checks it: it parses, is for
 * g's chain, names a validator of g whose key signed exactly these bytes
 * (tag ELECTION_TRACK_STATEMENT_TAG), and a REPLACED carries the replacing
 * code. Pure. Out: *out (free with
 * evote__v1__track_statement__free_unpacked). Returns: 1, or 0 with why
 * saying what is wrong. */
int genesis_track_statement_open(const genesis *g, const uint8_t *bytes, size_t len, const uint8_t *sig,
                                 size_t sig_len, Evote__V1__TrackStatement **out, char *why, size_t why_len);

/* A stable checkpoint's proof (CheckpointProof.checkpoints: serialized
 * Envelopes of KIND_CHECKPOINT), as a client or an auditor checks it: how
 * many distinct validators of g signed CHECKPOINT(g's chain, seq,
 * block_hash), each signature verified. It certifies the block at seq, and
 * through the headers' prev_hash links every block below, when it reaches
 * 2f+1. Pure. Returns: that count. */
uint32_t genesis_checkpoint_signers(const genesis *g, uint64_t seq, const uint8_t block_hash[CRYPTO_HASH_LEN],
                                    const ProtobufCBinaryData *checkpoints, size_t n);

/* Returns: 1 when pubkey is an authority allowed to administer elections. */
int genesis_is_authority(const genesis *g, const uint8_t pubkey[CRYPTO_PUBKEY_LEN]);

/* --------------------------------------------------------------- blocks */

/* What a replica checks before it PREPAREs a proposal: the batch parses, is
 * for this chain and this seq, its timestamp is within max_skew_ms of now_ms,
 * it has at most max_txs transactions, none twice, and every one passes
 * ledger_tx_decode (signature included) — except those the mempool already
 * verified (pass mp = NULL to verify all); those verified here are added to
 * mp as verified, so no later copy of them is verified again. A primary proposing anything else
 * is faulty, and the batch is refused whole.
 * Out: *bad_tx, the index of the offending transaction (may be NULL). */
EVOTE_WARN_UNUSED ledger_err ledger_batch_check(const uint8_t *batch, size_t len,
                                                const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], uint64_t seq,
                                                uint64_t now_ms, uint64_t max_skew_ms, uint32_t max_txs,
                                                mempool *mp, size_t *bad_tx);

/* What execution may ask of the committed chain, and where the election
 * rules keep their state. */
typedef struct {
    /* Returns: 1 when a transaction with this id is already in a block. */
    int (*tx_committed)(void *ctx, const uint8_t id[CRYPTO_HASH_LEN]);
    void *ctx;
    /* Elections. state == NULL: election payloads get
     * TX_RESULT_UNKNOWN_ELECTION (nothing to read or write). */
    const election_state_reader *state; /* the state as of the previous block */
    election_cache *cache;              /* ballot verifiers per election (may be NULL) */
    election_changes *changes;          /* Out: this block's state changes (when state != NULL) */
    uint64_t height;                    /* the block being executed */
    uint64_t prev_timestamp_ms;         /* block time = max(batch time, this) */
    /* Returns: 1 and *cts, *n when election_precheck_ballot already accepted
     * this exact transaction (a mempool verdict); may be NULL. */
    int (*ballot_verdict)(void *ctx, const uint8_t id[CRYPTO_HASH_LEN], const elgamal_ct **cts, size_t *n);
    /* Out, when not NULL: each transaction's id, in batch order (room for
     * max_txs ids), for ledger_block_assemble_ids and the store. */
    uint8_t (*ids_out)[CRYPTO_HASH_LEN];
} ledger_chain_view;

/* The part of execution's authority rules that needs no state: 1 when the
 * signer may sign this kind of transaction at all, 0 when its execution
 * could only ever record TX_RESULT_NOT_AUTHORIZED — a notice, an election
 * definition, an opening or closing, a voter registration not signed by an
 * authority of the genesis, or an attestation not signed by a validator.
 * Ballots and the trustees' transactions may come from any key (their
 * rules check it against the election's state). The mempool refuses what
 * this refuses, so that nobody outside the genesis can fill blocks (and
 * every validator's disk) with transactions that can never take effect. */
int ledger_signer_may_sign(const genesis *g, const Evote__V1__TxBody *body,
                           const uint8_t signer[CRYPTO_PUBKEY_LEN]);

/* (mempool) From now on, a transaction whose signer may never sign it
 * (ledger_signer_may_sign against g, which outlives the mempool) is refused
 * on the worker threads with LEDGER_ERR_NOT_AUTHORIZED, after its
 * signature check. mempool_add_verified is not concerned: a batch's
 * transactions are in a block whatever they are. */
void mempool_set_genesis(mempool *mp, const genesis *g);

/* Deterministic execution of a committed batch: every honest replica
 * computes the same result code per transaction from the same chain. A
 * transaction already in the chain (or earlier in this batch) is
 * TX_RESULT_DUPLICATE; a notice not signed by an authority is
 * TX_RESULT_NOT_AUTHORIZED; election payloads are handed to the election
 * rules (src/election), whose state changes collect in view->changes. The
 * batch passed ledger_batch_check before it
 * was prepared, but a replica catching up executes batches it never checked,
 * so every transaction is decoded again (a bad one records its code).
 * Out: results[0..n), *n (results must hold max_txs entries).
 * Returns: LEDGER_OK, or LEDGER_ERR_BATCH_MALFORMED / _SIZE, or
 * LEDGER_ERR_STATE when the election state could not be read (a local
 * failure: the block must not be stored; nothing is in view->changes). */
EVOTE_WARN_UNUSED ledger_err ledger_execute_batch(const genesis *g, const uint8_t *batch, size_t len,
                                                  const ledger_chain_view *view, uint32_t max_txs,
                                                  Evote__V1__TxResult *results, size_t *n);

/* Builds the block for an executed batch: the header links to prev_hash
 * (the chain id for height 1), names the batch digest, the Merkle root of the
 * transaction ids and the hash of the packed result codes; its timestamp is
 * the batch's, but never earlier than prev_timestamp_ms (block time never
 * goes backwards). Out: *block (malloc'ed serialized Block), *block_len,
 * hash (the block hash = tagged hash of the header bytes). */
EVOTE_WARN_UNUSED ledger_err ledger_block_assemble(const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], uint64_t height,
                                                   const uint8_t prev_hash[CRYPTO_HASH_LEN],
                                                   uint64_t prev_timestamp_ms, const uint8_t *batch,
                                                   size_t batch_len, const Evote__V1__TxResult *results,
                                                   size_t n_results, uint8_t **block, size_t *block_len,
                                                   uint8_t hash[CRYPTO_HASH_LEN]);

/* ledger_block_assemble with the transaction ids already known (the
 * ids_out of ledger_execute_batch for the same batch), so they are not
 * hashed again. ids must hold one id per transaction of the batch. */
EVOTE_WARN_UNUSED ledger_err ledger_block_assemble_ids(const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], uint64_t height,
                                                       const uint8_t prev_hash[CRYPTO_HASH_LEN],
                                                       uint64_t prev_timestamp_ms, const uint8_t *batch,
                                                       size_t batch_len, const uint8_t (*ids)[CRYPTO_HASH_LEN],
                                                       const Evote__V1__TxResult *results, size_t n_results,
                                                       uint8_t **block, size_t *block_len,
                                                       uint8_t hash[CRYPTO_HASH_LEN]);

/* The results hash of a block: tagged_hash("evote/v1/results", one
 * little-endian uint32 per result code). */
EVOTE_WARN_UNUSED ledger_err ledger_results_hash(const Evote__V1__TxResult *results, size_t n,
                                                 uint8_t out[CRYPTO_HASH_LEN]);

#endif
