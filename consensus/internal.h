/* What the files of consensus/ share: the replica's state and the helpers
 * that turn protocol messages into signed bytes and back. Not for outside
 * consensus/ (the public contract is replica.h). */
#ifndef EVOTE_CONSENSUS_INTERNAL_H
#define EVOTE_CONSENSUS_INTERNAL_H

#include <stdint.h>

#include "consensus.pb-c.h"
#include "replica.h"

/* One replica's signed vote (PREPARE or COMMIT) as received: the exact
 * envelope bytes (for certificates and proofs) and what it votes for. */
typedef struct {
    uint8_t *env;
    size_t len;
    uint8_t digest[CRYPTO_HASH_LEN];
} vote;

/* One sequence number in the log, between the watermarks. */
typedef struct {
    uint64_t seq; /* 0: slot unused */

    /* The current view's agreement on this seq. */
    int has_pp;
    uint8_t digest[CRYPTO_HASH_LEN];
    uint8_t *pp_env; /* the primary's PRE-PREPARE envelope */
    size_t pp_len;
    uint8_t *batch;  /* the batch it names */
    size_t batch_len;
    vote *prepares;  /* [n], current view only */
    vote *commits;   /* [n], current view only */
    int prepared, committed;
    int sent_prepare, sent_commit;
    uint8_t helped[REPLICA_MAX_N];   /* own COMMIT already resent to that laggard */
    uint8_t *my_prepare, *my_commit; /* own envelopes, for retransmission */
    size_t my_prepare_len, my_commit_len;
    /* A PRE-PREPARE of the current view whose batch the embedder is still
     * validating (validate_batch answered REPLICA_VALIDATE_LATER). */
    uint8_t *val_env, *val_batch;
    size_t val_env_len, val_batch_len;
    uint8_t val_digest[CRYPTO_HASH_LEN];

    /* The prepared certificate of the highest view this replica saw for seq
     * (kept across views: it goes into VIEW-CHANGE messages). */
    int has_proof;
    uint64_t proof_view;
    uint8_t proof_digest[CRYPTO_HASH_LEN];
    uint8_t *proof; /* serialized PreparedProof */
    size_t proof_len;
    /* The certificate's batch. While it is this view's batch too
     * (proof_is_batch), it is not copied: proof_batch stays NULL and batch
     * holds the bytes, until entry_reset_view hands them over. Read it
     * with entry_proof_batch. */
    uint8_t *proof_batch;
    size_t proof_batch_len;
    int proof_is_batch;
} entry;

#define CKPT_KEEP 4 /* checkpoint messages remembered per replica */

typedef struct {
    uint64_t seq;
    uint8_t digest[CRYPTO_HASH_LEN];
    uint8_t *env;
    size_t len;
} ckpt_msg;

/* The latest VIEW-CHANGE a replica sent us, with its attached batches. */
typedef struct {
    uint64_t view; /* 0: none */
    uint8_t *env;
    size_t len;
    Evote__V1__ViewChange *vc; /* parsed body */
    uint8_t **batches;
    size_t *batch_lens;
    size_t n_batches;
} vc_slot;

typedef enum { STATUS_NORMAL = 0, STATUS_VIEW_CHANGE } replica_status;

struct replica {
    replica_config cfg;
    replica_callbacks cb;
    uint8_t (*pubkeys)[CRYPTO_PUBKEY_LEN];
    uint32_t f;

    uint64_t view;          /* current view (target view while changing) */
    replica_status status;
    uint64_t h;             /* low watermark = last stable checkpoint */
    uint64_t last_executed;
    uint64_t last_stored;   /* the last seq the embedder said is stored (replica_on_executed, or the
                               restored tip): an event's meta is stored with the first of its blocks,
                               so own votes above this must stay in it (meta_encode) */
    uint8_t last_hash[CRYPTO_HASH_LEN];
    uint64_t seq_next;      /* primary: next seq to assign */
    uint64_t view_base;     /* the seq the current view started from (its NEW-VIEW's max-s; 0 in view 0) */

    entry *log;             /* [window], slot = seq % window */
    uint64_t top_seq;       /* highest seq ever given a log entry */

    /* Checkpoints. */
    ckpt_msg *ckpts;        /* [n][CKPT_KEEP] */
    uint8_t **stable_proof; /* 2f+1 envelopes proving h */
    size_t *stable_proof_lens;
    size_t n_stable_proof;
    uint8_t stable_digest[CRYPTO_HASH_LEN];
    uint64_t own_ckpt_seq;  /* own latest checkpoint */
    int tip_ckpt;           /* restored tip is an extra checkpoint (replica_restore) */
    uint8_t own_ckpt_digest[CRYPTO_HASH_LEN];
    uint8_t *own_ckpt_env;
    size_t own_ckpt_len;

    /* View change. */
    vc_slot *vcs;           /* [n] */
    uint8_t *my_vc;         /* own VIEW-CHANGE PeerMessage for `view` */
    size_t my_vc_len;
    uint8_t *new_view_msg;  /* the NEW-VIEW PeerMessage that started `view` */
    size_t new_view_len;
    uint64_t *peer_view;    /* [n] highest view seen in a valid message */
    uint64_t *peer_active;  /* [n] highest view it sent a PRE-PREPARE, PREPARE or COMMIT in
                               (it works in that view: the view's NEW-VIEW exists) */
    uint64_t *helped_stable;/* [n] stable checkpoint last sent to that laggard */
    uint64_t *nv_sent_view; /* [n] the view whose NEW-VIEW we last sent that replica when it */
    uint64_t *nv_sent_from; /*     asked for state from that height (not resent for the same) */

    /* The view timer and its back-off (see "timers" in replica.c). */
    uint32_t timeout_ms;      /* T: doubles per view left or wait past T/2, halves after a timely stretch */
    uint32_t timely_run;      /* executions in a row that came within T/4 of the wait's start */
    int view_timer_stage;     /* the current wait: 0 before T/4, 1 before T/2, 2 past T/2 */
    uint64_t vt_seq;          /* the seq the view timer waits for, in this view (0: none) */
    int vt_level;             /* the progress of vt_seq already credited (progress_of) */
    uint32_t vt_extensions;   /* extensions granted for vt_seq in this view */
    uint64_t vt_live;         /* committing_seq when the view timer was last (re)armed */
    uint32_t vt_period;       /* T when the wait for vt_seq began: the length of its extensions */
    int vc_extended;          /* the wait for this view's NEW-VIEW was extended once */
    int rotation_probe;       /* a rotation's VIEW-CHANGE: the timer runs T/4 first, to see
                                 whether the new primary turns up at all */
    int vc_rotation;          /* the view change under way is a rotation (or a skipped turn) */
    uint64_t *peer_commit;    /* [n] highest seq each replica COMMITted in our view */
    uint64_t *peer_suspect;   /* [n] 1 + the highest view each replica (this one too) said its
                                 view timer ran out in (SUSPECT); 0: none */

    /* Timers as this replica believes them armed. */
    int view_timer_on, retransmit_on, fetch_on;
    int retransmit_idle;      /* the retransmit timer runs its slow idle period (IDLE_PROBE) */
    uint32_t retransmit_now;  /* retransmit period: doubles while stuck, the setting again on progress */
    uint32_t fetch_now;       /* state transfer retry: doubles while no answer helps, idem */
    uint64_t retransmit_mark; /* last_executed at the previous retransmit tick */
    int pending;            /* the mempool has requests waiting */

    /* State transfer. */
    uint64_t fetch_target;  /* a seq known committed (0: none) */
    int fetching;
    int probing;            /* after a restart: ask for anything newer */
    int recovering;         /* restarted, not yet heard from 2f others: not yet fit to
                               judge the primary alone (the view timer waits) */
    uint8_t heard[REPLICA_MAX_N]; /* while recovering: who sent a valid message since the start */
    uint32_t fetch_peer;

    /* Actions waiting to be popped (a FIFO). */
    replica_action *acts;
    size_t n_acts, cap_acts, head_acts;
    size_t event_mark;      /* queue length when the current event began */
    int meta_dirty;

    replica_stats stats;
};

/* ------------------------------------------------------------- message.c */

/* A verified consensus message: kind, signer index, envelope bytes, body. */
typedef struct {
    Evote__V1__Kind kind;
    uint32_t signer;
    const uint8_t *env;  /* points into the PeerMessage */
    size_t env_len;
    Evote__V1__Envelope *envelope;
    void *body;          /* Evote__V1__<Kind>*, per kind */
    uint8_t *owned;      /* env, when msg_open_nested serialized it */
} msg;

/* Parses and checks a nested envelope (signer in the set, signature, kind,
 * body parses, chain id, body.replica == signer). Returns 1 on success and
 * fills *m (free with msg_free). Counts why it failed in stats. */
int msg_open(replica *r, const uint8_t *env, size_t len, Evote__V1__Kind expected, msg *m);
void msg_free(msg *m);
/* msg_open for an envelope nested in another message. */
int msg_open_nested(replica *r, const Evote__V1__Envelope *e, Evote__V1__Kind expected, msg *m);

/* Serializes, signs and wraps a body into an envelope. Out: malloc'ed. */
int msg_seal(replica *r, Evote__V1__Kind kind, const ProtobufCMessage *body, uint8_t **env, size_t *env_len);
/* Wraps an envelope and batches into a PeerMessage. Out: malloc'ed. */
int msg_wrap(const uint8_t *env, size_t env_len, uint8_t *const *batches, const size_t *batch_lens,
             size_t n_batches, uint8_t **out, size_t *out_len);

void batch_digest(const uint8_t *batch, size_t len, uint8_t out[CRYPTO_HASH_LEN]);
uint8_t *dup_bytes(const uint8_t *p, size_t len);

/* ------------------------------------------------------------- replica.c */

static inline uint32_t primary_of(const replica *r, uint64_t v) { return (uint32_t)(v % r->cfg.n); }
entry *log_entry(replica *r, uint64_t seq, int create);
void entry_reset_view(replica *r, entry *e);
void entry_free(replica *r, entry *e);
void push_action(replica *r, const replica_action *a);
void persist_batch(replica *r, uint64_t seq, const uint8_t digest[CRYPTO_HASH_LEN], const uint8_t *batch,
                   size_t len);
void send_to(replica *r, uint32_t to, Evote__V1__Kind kind, uint8_t *bytes, size_t len); /* takes bytes */
void broadcast(replica *r, Evote__V1__Kind kind, uint8_t *bytes, size_t len);             /* takes bytes */
void set_timer(replica *r, replica_timer t, uint32_t ms);
void cancel_timer(replica *r, replica_timer t);
void send_prepare(replica *r, entry *e);
void check_prepared(replica *r, entry *e);
void try_execute(replica *r);
void update_timers(replica *r);
void backoff(replica *r);
void view_timer_forget(replica *r);
uint64_t term_end(const replica *r);
void maybe_rotate(replica *r);
void adopt_stable(replica *r, uint64_t seq, const uint8_t digest[CRYPTO_HASH_LEN], uint8_t *const *proof,
                  const size_t *proof_lens, size_t n_proof);
void want_blocks(replica *r, uint64_t through);
int checkpoint_proof_valid(replica *r, uint64_t seq, Evote__V1__Envelope **envs, size_t n,
                           uint8_t digest_out[CRYPTO_HASH_LEN]);

/* --------------------------------------------------------- view_change.c */

/* rotation: the primary's term ended (no timeout back-off). */
void start_view_change(replica *r, uint64_t new_view, int rotation);
void on_view_change(replica *r, msg *m, const Evote__V1__PeerMessage *pm);
void on_new_view(replica *r, msg *m, const Evote__V1__PeerMessage *pm, const uint8_t *raw, size_t raw_len);
void vc_slot_clear(vc_slot *s);
int meta_build(replica *r, uint8_t **out, size_t *len);
uint8_t *entry_proof_batch(replica *r, entry *e, size_t *len);
/* nv, nv_len: replica_restore.new_view (kept when it is the NEW-VIEW of
 * the restored view). */
int meta_restore(replica *r, const uint8_t *bytes, size_t len, const uint8_t *nv, size_t nv_len);

#endif
