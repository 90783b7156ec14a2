/* evote consensus: one PBFT replica (Castro & Liskov, OSDI'99 / TOCS 2002)
 * as a pure state machine. The one header of consensus/.
 *
 * A replica never touches a socket, a clock or a disk. The embedder (the
 * validator daemon, the simulator, a benchmark) feeds it events —
 *   a message from replica i         replica_on_message()
 *   a batch the local mempool built  replica_propose()
 *   a timer firing                   replica_on_timer()
 *   "the block at seq s is stored"   replica_on_executed()
 * — and after each event pops the actions it asks for with
 * replica_pop_action(): send to replica i, broadcast, set or cancel a timer,
 * execute a committed batch with its commit certificate, persist the
 * consensus meta, serve blocks to a peer that is catching up.
 *
 * Signing, signature verification and the check of a proposed batch are
 * injected (replica_callbacks), so tests run with real Schnorr keys or with a
 * fast fake, and the rules for transactions stay in src/ledger.
 *
 * ORDER OF ACTIONS. Actions must be carried out in the order they are
 * popped. A REPLICA_ACT_PERSIST_META comes before the sends that depend on
 * it: it must be durable before any later SEND or BROADCAST leaves the node,
 * so that after a crash the replica never contradicts what it signed
 * (a different PREPARE for the same view and seq, a lower view).
 *
 * Messages on the wire are PeerMessage{envelope, batches} (consensus.proto).
 * Every one is checked here: canonical envelope of a consensus kind, signer
 * = the validator its body names, signature,
 * chain id, view and sequence ranges, digests, roles (only the primary of a
 * view pre-prepares in it; only the new primary sends its NEW-VIEW); a vote
 * counts once per replica. Anything else is dropped and counted
 * (replica_stats), never trusted, never fatal.
 *
 * A vote counts for the validator that SIGNED it, whoever delivered it:
 * signed messages may be relayed (a replica passes on the CHECKPOINTs of a
 * stable checkpoint and the NEW-VIEW of its view to one that missed them).
 * Only STATE-REQUEST and STATE-RESPONSE must come from their signer, since
 * they are answered to, or trusted for catching up from, that peer. */
#ifndef EVOTE_REPLICA_H
#define EVOTE_REPLICA_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define REPLICA_MAX_N 100
/* Batches attached to one VIEW-CHANGE or NEW-VIEW at most (bytes): the peer
 * message limit is 16 MiB; batches left out come by state transfer. */
#define REPLICA_MAX_ATTACHED (8u * 1024u * 1024u)

#define REPLICA_VALIDATE_LATER 2 /* validate_batch: the verdict comes later */

typedef struct {
    /* Signs tagged_hash(tag, msg) with this replica's key.
     * Returns: 1 on success, 0 on failure. */
    int (*sign)(void *ctx, const char *tag, const uint8_t *msg, size_t len, uint8_t sig[CRYPTO_SIG_LEN]);
    /* Returns: 1 when sig is pubkey's valid signature of tagged_hash(tag, msg). */
    int (*verify)(void *ctx, const uint8_t pubkey[CRYPTO_PUBKEY_LEN], const char *tag, const uint8_t *msg,
                  size_t len, const uint8_t sig[CRYPTO_SIG_LEN]);
    /* Returns: 1 when the batch a primary proposed for seq is acceptable
     * (ledger_batch_check: format, chain, seq, time, transactions), 0 when
     * not; or REPLICA_VALIDATE_LATER: the embedder checks it elsewhere (its
     * worker threads) and gives the answer with replica_on_batch_validated.
     * A backup never prepares a batch refused, nor one still being checked. */
    int (*validate_batch)(void *ctx, uint64_t seq, const uint8_t *batch, size_t len);
    /* The batch with this digest at seq, from what PERSIST_BATCH stored or
     * from the stored block at seq (after a restart: the consensus meta
     * holds digests, not batches). Out: *batch malloc'ed. Returns: 1 found,
     * 0 not. May be NULL (then nothing is found). */
    int (*load_batch)(void *ctx, uint64_t seq, const uint8_t digest[CRYPTO_HASH_LEN], uint8_t **batch,
                      size_t *len);
    void *ctx;
} replica_callbacks;

typedef struct {
    uint32_t n;                      /* 3f+1 validators, 4..REPLICA_MAX_N */
    uint32_t id;                     /* this replica's index, < n */
    const uint8_t (*pubkeys)[CRYPTO_PUBKEY_LEN]; /* n keys, genesis order (copied) */
    uint8_t chain_id[CRYPTO_CHAIN_ID_LEN];
    uint32_t checkpoint_interval;    /* K: a checkpoint every K seqs (0 = 64) */
    uint32_t window;                 /* L: seqs accepted in (h, h+L] (0 = 2K) */
    uint32_t max_inflight;           /* proposed, not yet executed (0 = 4) */
    uint32_t view_change_timeout_ms; /* first request timeout (0 = 1000), doubles per failed view */
    uint32_t retransmit_ms;          /* resend own votes while stuck (0 = timeout/2) */
    uint32_t max_blocks_per_fetch;   /* state transfer step (0 = 64) */
    /* A primary's term, in checkpoint intervals (0 = no rotation). The
     * primary of a view proposes up to the checkpoint `term_checkpoints`
     * intervals past the first checkpoint at or above the seq its view
     * started from; once that checkpoint is stable, every replica moves on
     * to the next view on its own (no suspicion, no timeout back-off). So a
     * primary that leaves some requests out while committing others
     * (censorship) holds them back for one term at most: the next primary
     * has them too. Identical on every replica (the genesis fixes it). */
    uint32_t term_checkpoints;
} replica_config;

/* Where the replica starts: what storage holds. A new chain starts with all
 * zeros (and the chain id as the hash "before" height 1). */
typedef struct {
    uint64_t last_executed;               /* tip height */
    uint8_t last_hash[CRYPTO_HASH_LEN];   /* tip block hash */
    const uint8_t *meta;                  /* serialized ConsensusMeta or NULL */
    size_t meta_len;
    int tip_is_checkpoint;                /* the tip is a checkpoint besides every K-th
                                           * (see replica_on_executed) */
    const uint8_t *new_view;              /* what the last PERSIST_NEW_VIEW stored, or NULL */
    size_t new_view_len;
} replica_restore;

typedef enum {
    REPLICA_OK = 0,
    REPLICA_ERR_CONFIG,       /* n not 3f+1, id out of range, bad key */
    REPLICA_ERR_NOMEM,
    REPLICA_ERR_META,         /* the stored consensus meta does not parse or is for another chain */
} replica_err;

const char *replica_strerror(replica_err err);

typedef enum {
    REPLICA_TIMER_VIEW = 1,       /* request / view-change timeout */
    REPLICA_TIMER_RETRANSMIT = 2, /* resend own messages while stuck */
    REPLICA_TIMER_FETCH = 3,      /* state transfer: ask another peer */
} replica_timer;

typedef enum {
    REPLICA_ACT_SEND = 1,       /* bytes to replica `to` */
    REPLICA_ACT_BROADCAST,      /* bytes to every other replica */
    REPLICA_ACT_SET_TIMER,      /* (re)arm `timer` to fire after delay_ms */
    REPLICA_ACT_CANCEL_TIMER,   /* disarm `timer` */
    REPLICA_ACT_EXECUTE,        /* execute batch at seq, store it with certificate; then
                                   call replica_on_executed(seq, block hash) */
    REPLICA_ACT_PERSIST_META,   /* store bytes (ConsensusMeta) durably before later sends */
    REPLICA_ACT_SERVE_BLOCKS,   /* send `to` a signed StateResponse with the stored blocks
                                   [from, through] and their certificates */
    REPLICA_ACT_VIEW_CHANGED,   /* entered `view` (primary = view mod n): the mempool
                                   gives back what it handed to an earlier primary */
    REPLICA_ACT_PERSIST_BATCH,  /* store batch (seq, digest) durably before later sends;
                                   load_batch must find it until block seq is stored */
    REPLICA_ACT_SUSPECTED,      /* this replica's view timer ran out in `view` and it sent a
                                   SUSPECT: maybe the primary lacks what waits here (the
                                   embedder may send it to every validator again) */
    REPLICA_ACT_PERSIST_NEW_VIEW, /* store bytes (the NEW-VIEW PeerMessage that started `view`),
                                   replacing the one before; give it back as
                                   replica_restore.new_view. Once per view, apart from the
                                   meta: it can be megabytes (it carries the VIEW-CHANGEs and
                                   their batches), the meta is rewritten at every step. Only
                                   for relaying to a replica that missed it: no ordering */
} replica_action_type;

typedef struct {
    replica_action_type type;
    uint32_t to;
    replica_timer timer;
    uint32_t delay_ms;
    uint64_t view;
    uint64_t seq;
    uint64_t from, through;        /* SERVE_BLOCKS */
    uint8_t *bytes;                /* SEND/BROADCAST: a PeerMessage; PERSIST_META: ConsensusMeta;
                                      PERSIST_NEW_VIEW: a PeerMessage */
    size_t len;
    uint8_t *batch;                /* EXECUTE, PERSIST_BATCH */
    size_t batch_len;
    uint8_t digest[CRYPTO_HASH_LEN]; /* PERSIST_BATCH */
    uint8_t *certificate;          /* EXECUTE: serialized CommitCertificate */
    size_t certificate_len;
    int fetched;                   /* EXECUTE: 1 when the batch came by state transfer (this
                                      replica never validated it: its transactions have no
                                      verdict here), 0 when it committed in this replica's log */
} replica_action;

/* Frees an action's buffers (after popping it). */
void replica_action_clear(replica_action *a);

typedef struct {
    uint64_t received;             /* messages given to replica_on_message */
    uint64_t dropped_malformed;    /* not a canonical PeerMessage/Envelope/body */
    uint64_t dropped_bad_signature;
    uint64_t dropped_wrong_sender; /* signer not a validator, body names another replica, or a
                                      state request/response not from its signer */
    uint64_t dropped_wrong_chain;
    uint64_t dropped_out_of_range; /* view or seq outside what can be accepted now */
    uint64_t dropped_wrong_role;   /* e.g. a PRE-PREPARE not from the primary */
    uint64_t dropped_conflicting;  /* equivocation: a second different vote */
    uint64_t dropped_bad_digest;   /* a batch that does not match its digest */
    uint64_t dropped_bad_proof;    /* a VIEW-CHANGE/NEW-VIEW/certificate that does not check */
    uint64_t rejected_batches;     /* proposals validate_batch refused */
    uint64_t executed;             /* batches handed out for execution */
    uint64_t view_changes;         /* views entered after view 0 */
    uint64_t state_transfers;      /* blocks taken through state transfer */
    uint64_t suspects_sent;        /* SUSPECTs sent: this replica's view timer ran out */
    uint64_t rotations;            /* views left because the primary's term ended */
    uint64_t turns_skipped;        /* of those, views skipped: 2f+1 moved on, their primary said nothing */
    uint64_t stable_checkpoints;   /* checkpoints that became stable here */
    uint64_t stable_extra;         /* of those, not at a multiple of K (replica_on_executed) */
    uint64_t by_kind_received[12]; /* indexed by Evote__V1__Kind */
    uint64_t by_kind_sent[12];
} replica_stats;

typedef struct replica replica;

/* Creates a replica. Out: *out (replica_destroy), NULL on error. */
EVOTE_WARN_UNUSED replica_err replica_new(const replica_config *cfg, const replica_callbacks *cb,
                                          const replica_restore *restore, replica **out);
void replica_destroy(replica **self);

/* First event after replica_new: arms timers and, after a restart, asks the
 * peers what was committed meanwhile. */
void replica_start(replica *self);

/* A message as received from the authenticated peer `from`. */
void replica_on_message(replica *self, uint32_t from, const uint8_t *bytes, size_t len);

/* Returns: 1 when this replica is the primary of its view, in normal
 * operation, and has room for one more sequence number in flight; *seq is
 * that sequence number. The embedder then builds a Batch for *seq (chain id,
 * seq, timestamp, transactions) and calls replica_propose. */
int replica_can_propose(const replica *self, uint64_t *seq);

/* The primary proposes the serialized Batch for the seq replica_can_propose
 * gave. Returns: 1 if taken, 0 if the replica can no longer propose it (the
 * embedder gives the transactions back to the mempool). */
int replica_propose(replica *self, uint64_t seq, const uint8_t *batch, size_t len);

/* The verdict on a batch validate_batch answered REPLICA_VALIDATE_LATER for
 * (seq, digest = tagged_hash(CRYPTO_TAG_BATCH, batch)): ok = 1 acceptable.
 * Ignored when the replica no longer waits for it (a view change, another
 * proposal); while it waits, the same proposal again is not validated twice. */
void replica_on_batch_validated(replica *self, uint64_t seq, const uint8_t digest[CRYPTO_HASH_LEN], int ok);

/* The local mempool has (1) or has no (0) transactions waiting: a backup with
 * waiting requests expects the primary to propose, or it changes view. */
void replica_on_pending(replica *self, int pending);

void replica_on_timer(replica *self, replica_timer timer);

/* The batch of an EXECUTE action is stored as block `seq` with hash
 * block_hash. The replica checkpoints it (block_hash is the state digest)
 * at every multiple of K, and when `checkpoint` is 1: the embedder's rule
 * for extra checkpoints, which must give the same answer on every replica
 * for the same block (evote: a block without transactions, so that a
 * primary can certify a quiet chain's tail with one empty block). */
void replica_on_executed(replica *self, uint64_t seq, const uint8_t block_hash[CRYPTO_HASH_LEN], int checkpoint);

/* Answers a SERVE_BLOCKS action: the stored blocks (serialized Block) and
 * their certificates (serialized CommitCertificate), consecutive from the
 * action's `from`. Queues a signed StateResponse to `to`.
 * Returns: 1 queued, 0 not (a block or certificate does not parse). */
int replica_serve(replica *self, uint32_t to, const uint8_t *const *blocks, const size_t *block_lens,
                  const uint8_t *const *certs, const size_t *cert_lens, size_t count);

/* Returns: 1 and the next action, or 0 when there is none. The caller owns
 * the action's buffers (replica_action_clear). */
int replica_pop_action(replica *self, replica_action *out);

uint64_t replica_view(const replica *self);
uint32_t replica_primary(const replica *self);
int replica_in_view_change(const replica *self);
uint64_t replica_last_executed(const replica *self);
/* Returns: 1 while this replica knows it may lack committed blocks:
 * restarted and not yet heard from a quorum, or fetching blocks it knows
 * are committed; 0 otherwise (the routine probe of an idle replica, which
 * asks a peer whether there is anything new, does not count). */
int replica_catching_up(const replica *self);
/* Returns: the highest seq this replica knows to be committed or on its way
 * (f+1 peers sent COMMIT for it, or a fetch target), at least the last
 * executed one. */
uint64_t replica_known_seq(const replica *self);
uint64_t replica_stable_seq(const replica *self);
/* The stable checkpoint's proof: *n serialized envelopes (KIND_CHECKPOINT,
 * 2f+1 validators, one digest: the block hash at the returned seq).
 * Pointers valid until the next call into the replica. Returns: its seq
 * (0: none yet, *n 0). */
uint64_t replica_stable_proof(const replica *self, uint8_t *const **envs, const size_t **lens, size_t *n);
/* The last seq the primary of the current view may propose (its term's
 * end), or UINT64_MAX without rotation. */
uint64_t replica_term_end(const replica *self);
void replica_get_stats(const replica *self, replica_stats *out);

/* Out: up to max batches this replica's log proposes above the last
 * executed seq (after a view change: what the new view re-proposes), so the
 * embedder's mempool does not propose their transactions again. Pointers
 * stay valid until the next event. Returns: how many. */
size_t replica_inflight_batches(const replica *self, const uint8_t **batches, size_t *lens, size_t max);

/* Writes a one-line description of the replica's state (view, status,
 * watermarks, each log entry's votes) for logs and failing tests. */
void replica_describe(const replica *self, char *buf, size_t len);

/* How replica_certificate_check judged one COMMIT of a certificate. */
typedef enum {
    REPLICA_COMMIT_COUNTED = 0,    /* a valid COMMIT of a validator not counted before */
    REPLICA_COMMIT_NOT_SIGNED,     /* not a COMMIT envelope with a 32-byte signer and a 64-byte signature */
    REPLICA_COMMIT_STRANGER,       /* signed by a key that is no validator's */
    REPLICA_COMMIT_DUPLICATE,      /* its validator's COMMIT was counted already */
    REPLICA_COMMIT_UNPARSABLE,     /* its body does not parse */
    REPLICA_COMMIT_MISMATCH,       /* for another replica, view, seq, batch or chain than the certificate */
    REPLICA_COMMIT_BAD_SIGNATURE,  /* the signature does not verify */
} replica_commit_status;

typedef enum {
    REPLICA_CERT_VALID = 0,
    REPLICA_CERT_UNPARSABLE,       /* the certificate does not parse */
    REPLICA_CERT_OTHER_SEQ,        /* its seq is not the expected one */
    REPLICA_CERT_OTHER_BATCH,      /* its digest is not the expected one */
    REPLICA_CERT_TOO_FEW,          /* fewer than 2f+1 COMMITs counted */
    REPLICA_CERT_TOO_MANY,         /* more COMMITs than validators: none is built that way */
} replica_cert_fault;

#define REPLICA_CERT_MAX_LISTED 128

/* What replica_certificate_check found, for those who must say who signed
 * and what is wrong (the client, the auditor). */
typedef struct {
    replica_cert_fault fault;
    uint64_t view, seq;                /* the certificate's (when it parses) */
    uint32_t needed, signers;          /* 2f+1; distinct validators counted */
    uint8_t signed_by[REPLICA_MAX_N];  /* 1 per validator index counted */
    size_t n_commits;                  /* COMMITs in the certificate */
    size_t n_listed;                   /* the first REPLICA_CERT_MAX_LISTED of them, in order: */
    struct {
        int32_t validator;             /* the signer's index, -1 when none */
        replica_commit_status status;
    } listed[REPLICA_CERT_MAX_LISTED];
} replica_cert_report;

/* The one check of a commit certificate against the validator set (state
 * transfer, the client, the auditor): 2f+1 COMMITs from distinct
 * validators, each a COMMIT envelope correctly signed (through cb->verify)
 * whose body is for this chain, names its signer's index as replica, and
 * has the certificate's (view, seq, digest); and, when expected_digest is
 * not NULL, the certificate's seq = expected_seq and its digest =
 * expected_digest. A validator's later COMMITs count once. Pure.
 * Out: *out (may be NULL). Returns: 1 valid, 0 not. */
EVOTE_WARN_UNUSED int replica_certificate_check(uint32_t n, const uint8_t (*pubkeys)[CRYPTO_PUBKEY_LEN],
                                                const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                                const replica_callbacks *cb, const uint8_t *cert,
                                                size_t cert_len, uint64_t expected_seq,
                                                const uint8_t *expected_digest, replica_cert_report *out);

/* replica_certificate_check for the block whose batch is batch (NULL: any
 * seq and batch). Returns: 1 valid, 0 not. */
EVOTE_WARN_UNUSED int replica_certificate_valid(uint32_t n, const uint8_t (*pubkeys)[CRYPTO_PUBKEY_LEN],
                                                const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                                const replica_callbacks *cb, const uint8_t *cert,
                                                size_t cert_len, uint64_t expected_seq,
                                                const uint8_t *batch, size_t batch_len);

/* A replica_callbacks.verify that checks with crypto_verify (ctx unused),
 * for checking certificates outside a replica. */
int replica_verify_plain(void *ctx, const uint8_t pubkey[CRYPTO_PUBKEY_LEN], const char *tag, const uint8_t *body,
                         size_t len, const uint8_t sig[CRYPTO_SIG_LEN]);

/* Builds the serialized empty Batch PBFT calls a null request (used for
 * sequence numbers a NEW-VIEW fills with no request). */
EVOTE_WARN_UNUSED int replica_null_batch(const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], uint64_t seq,
                                         uint8_t **out, size_t *len);

#endif
