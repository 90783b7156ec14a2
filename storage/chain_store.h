/* evote chain store: the committed chain of one node in one LMDB environment
 * (a directory holding data.mdb and lock.mdb). A block, its commit
 * certificate, its transaction index, the state changes it causes and the
 * consensus meta move in ONE durable write transaction, so after a crash the
 * store is at a block boundary, never in between.
 *
 * Named databases of the environment:
 *   "blocks"  height (u64 big-endian)  -> serialized Block
 *   "hashes"  block hash (32 bytes)    -> height (u64 big-endian)
 *   "txs"     transaction id (32)      -> height u64, index u32, result u32 (big-endian)
 *   "certs"   height (u64 big-endian)  -> serialized CommitCertificate
 *   "state"   opaque key               -> opaque value (election state)
 *   "meta"    "chain_id", "format", "consensus" (serialized ConsensusMeta), "tip",
 *             "pending-batch/" seq u64 BE, digest (32) -> a batch the replica
 *             pre-prepared or prepared and has not yet stored as a block,
 *             "checkpoint/" seq u64 BE -> serialized CheckpointProof of each
 *             stable checkpoint this node saw (for clients; audited)
 *
 * Threads: one writer thread (chain_store_append, chain_store_put_state...,
 * chain_store_put_consensus_meta) plus any number of reader threads (every
 * chain_store_get_*, chain_store_find_tx, chain_store_tip, chain_store_iterate,
 * chain_store_snapshot). Each read runs in its own read-only LMDB transaction
 * and never blocks the writer, nor the writer it — except while the map
 * grows (rare: the map doubles), when the resize waits for open reads and a
 * running snapshot to end and new reads wait for the resize. Only open and
 * destroy must not race with anything.
 *
 * Memory: every function that hands out bytes mallocs them; the caller frees
 * them with free().
 *
 * Processes: one node process opens a directory read-write. A read-only open
 * (chain_store_open_readonly) takes no lock and writes nothing, so it is for
 * a COPY (chain_store_snapshot or mdb_copy), not for a directory a node is
 * writing at the same moment. */
#ifndef EVOTE_CHAIN_STORE_H
#define EVOTE_CHAIN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "consensus.pb-c.h"
#include "crypto.h"
#include "evote.pb-c.h"

typedef enum {
    STORE_OK = 0,
    STORE_ERR_NOMEM,
    STORE_ERR_BAD_ARG,          /* programming error: NULL or out-of-range argument */
    STORE_ERR_IO,               /* cannot create, open, read or write the directory or its files */
    STORE_ERR_NOT_FOUND,        /* no such block, certificate, transaction or key */
    STORE_ERR_NO_STORE,         /* read-only open of a directory without a chain store */
    STORE_ERR_CORRUPT,          /* data.mdb is not an LMDB file, is truncated or damaged */
    STORE_ERR_NOT_CHAIN_STORE,  /* a valid LMDB file, but not an evote chain store */
    STORE_ERR_FORMAT,           /* written by a newer evote (unknown format version) */
    STORE_ERR_FOREIGN_CHAIN,    /* the store holds another chain than the one asked for */
    STORE_ERR_READ_ONLY,        /* a write on a store opened read-only */
    STORE_ERR_BLOCK_MALFORMED,  /* block, its header or its batch does not parse */
    STORE_ERR_WRONG_CHAIN,      /* block or batch names another chain id */
    STORE_ERR_HEIGHT,           /* block height (or batch seq) is not tip + 1 */
    STORE_ERR_PREV_HASH,        /* block does not link to the tip's hash */
    STORE_ERR_TIME_BACKWARDS,   /* block timestamp earlier than the tip's */
    STORE_ERR_BATCH_DIGEST,     /* header batch_digest is not the digest of the batch */
    STORE_ERR_TX_COUNT,         /* tx_count, ids, results and batch transactions differ in number */
    STORE_ERR_TX_MISMATCH,      /* ids, results, tx_root or results_hash disagree with the block */
    STORE_ERR_CERT_MALFORMED,   /* commit certificate does not parse */
    STORE_ERR_CERT_SEQ,         /* certificate seq is not the block height */
    STORE_ERR_CERT_DIGEST,      /* certificate digest is not the block's batch digest */
    STORE_ERR_DUPLICATE_TX,     /* a transaction id already in the chain, not marked duplicate */
    STORE_ERR_META_MALFORMED,   /* consensus meta bytes do not parse */
    STORE_ERR_KEY_SIZE,         /* a state key is empty or longer than LMDB allows */
    STORE_ERR_MAP_FULL,         /* the map reached its configured maximum size */
    STORE_ERR_DISK_FULL,        /* the filesystem is full (or the file size limit reached) */
    STORE_ERR_SNAPSHOT_DIR,     /* snapshot directory cannot be created or is not empty */
    STORE_ERR_PANIC,            /* LMDB refuses further writes after a fatal error: restart */
    STORE_ERR_LMDB,             /* any other LMDB failure (see mdb_strerror of the code) */
} store_err;

/* Returns: a sentence an operator understands, saying what went wrong and
 * what to do. Never NULL. */
const char *store_strerror(store_err err);

/* Why an open failed, for the operator: the path and the cause. */
typedef struct {
    int mdb_rc;          /* LMDB or errno code behind the failure, 0 when none */
    char detail[384];    /* "<path>: <what is wrong>" */
} store_error;

typedef struct chain_store chain_store;

typedef struct {
    size_t map_size_initial; /* bytes; 0 = CHAIN_STORE_DEFAULT_MAP */
    size_t map_size_max;     /* bytes; 0 = CHAIN_STORE_DEFAULT_MAX_MAP */
} chain_store_config;

#define CHAIN_STORE_DEFAULT_MAP ((size_t)64 << 20)     /* 64 MiB */
#define CHAIN_STORE_DEFAULT_MAX_MAP ((size_t)1 << 40)  /* 1 TiB */
#define CHAIN_STORE_FORMAT 1u

/* Opens (or creates: directory mode 0700) the chain store in directory
 * `dir` for a node, read-write. The first open records chain_id; a later
 * open with another chain id fails with STORE_ERR_FOREIGN_CHAIN. An
 * existing data.mdb is checked before LMDB maps it (meta pages, page size,
 * file length), so a damaged file gives STORE_ERR_CORRUPT, never a crash.
 * In: cfg may be NULL (defaults).
 * Out: *out, owned by the caller (chain_store_destroy); *why on failure
 *      (may be NULL).
 * A data.mdb without a lock.mdb beside it (never opened here: a restored
 * backup, a copy) is first checked like an auditor's snapshot: its seal if
 * `evote snapshot` left one (removed once it matched), and every page of
 * its trees (data_file_walk); chain_store_arrival says what was checked.
 * Returns: STORE_OK, STORE_ERR_IO, _CORRUPT, _NOT_CHAIN_STORE, _FORMAT,
 *          _FOREIGN_CHAIN, _DISK_FULL, _NOMEM, _LMDB. */
EVOTE_WARN_UNUSED store_err chain_store_open(const char *dir, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                             const chain_store_config *cfg, chain_store **out,
                                             store_error *why);

/* Opens a chain store read-only for an auditor (MDB_RDONLY | MDB_NOLOCK):
 * works on a snapshot in a read-only directory and never writes a byte.
 * In: expect_chain_id, NULL to accept any chain (read it back with
 *     chain_store_chain_id), or the chain the store must hold.
 * Returns: as chain_store_open, plus STORE_ERR_NO_STORE. */
EVOTE_WARN_UNUSED store_err chain_store_open_readonly(const char *dir, const uint8_t *expect_chain_id,
                                                      chain_store **out, store_error *why);

/* Checks the chain store in data_dir as chain_store_open would, without
 * changing a byte (evoted --check; safe while evoted runs): a data.mdb
 * never opened here is checked like a restored backup (seal kept), and the
 * store must hold chain_id. Out: *height (its tip, 0: no block yet); note:
 * what the backup check found ("" for a store opened here before).
 * Returns: STORE_OK, STORE_ERR_NO_STORE (no directory or no data.mdb: the
 * validator would start an empty chain), or as chain_store_open. */
EVOTE_WARN_UNUSED store_err chain_store_check_dir(const char *data_dir, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                                  uint64_t *height, char *note, size_t note_len, store_error *why);

/* Returns: a line for the log when chain_store_open checked a data.mdb
 * never opened here (a restored backup), else "" (owned by the store). */
const char *chain_store_arrival(const chain_store *s);

/* Closes the environment, frees the store and sets *self to NULL. No other
 * thread may be using the store. */
void chain_store_destroy(chain_store **self);

/* Returns: the directory the store was opened on (owned by the store). */
const char *chain_store_path(const chain_store *self);

/* Writes "<path>: <store_strerror(err)>" into buf (always NUL-terminated):
 * the message for a log line. */
void chain_store_explain(const chain_store *self, store_err err, char *buf, size_t len);

/* Out: the chain id recorded in the store. */
void chain_store_chain_id(const chain_store *self, uint8_t out[CRYPTO_CHAIN_ID_LEN]);

/* One state change made by a block: put key -> value, or delete key. */
typedef struct {
    const uint8_t *key;
    size_t key_len;          /* 1..511 bytes */
    const uint8_t *value;    /* ignored when del */
    size_t value_len;
    int del;                 /* 1: delete the key (absent is fine) */
} chain_store_state_change;

typedef struct {
    const uint8_t *block;            /* serialized Block */
    size_t block_len;
    const uint8_t *cert;             /* serialized CommitCertificate */
    size_t cert_len;
    const uint8_t (*tx_ids)[CRYPTO_HASH_LEN]; /* one per transaction of the batch, in order */
    const Evote__V1__TxResult *tx_results;    /* the same results the block records */
    size_t n_txs;
    const chain_store_state_change *state;
    size_t n_state;
    const uint8_t *consensus_meta;   /* serialized ConsensusMeta; NULL = unchanged */
    size_t consensus_meta_len;
} chain_store_append_args;

/* Appends the block at tip + 1. Checks first, each with its own error:
 * the Block, its header and batch parse; chain id; height == tip + 1 and
 * batch seq == height; prev_hash == tip's hash (the chain id at height 1);
 * timestamp not before the tip's; batch_digest; tx_count == n_txs == number
 * of results == number of batch transactions; tx_results are the block's
 * results; the Merkle root of tx_ids is the header's tx_root (so the ids are
 * the ones ledger_block_assemble hashed from the batch) and results_hash
 * matches; the certificate parses, its seq is the height and its digest
 * the batch digest (its signatures are NOT checked here: consensus and the
 * auditor do that); consensus meta parses; no transaction id is already in
 * the chain unless its result is TX_RESULT_DUPLICATE (such a transaction is
 * not indexed again: find_tx names its first, effective occurrence).
 * Then one write transaction puts everything and commits durably. The map
 * grows by doubling when full, up to the configured maximum. For a batch of
 * 64 KiB or more the hash checks run on a short-lived helper thread while
 * the write transaction fills; the commit waits for their verdict.
 * On any error nothing changes.
 * Returns: STORE_OK or the failed check; STORE_ERR_MAP_FULL, _DISK_FULL,
 *          _IO, _READ_ONLY, _KEY_SIZE, _PANIC, _NOMEM, _LMDB. */
EVOTE_WARN_UNUSED store_err chain_store_append(chain_store *self, const chain_store_append_args *a);

/* Stores serialized ConsensusMeta on its own (a view change between
 * blocks), durably. Returns: STORE_OK, _META_MALFORMED, _READ_ONLY,
 * _MAP_FULL, _DISK_FULL, ... */
EVOTE_WARN_UNUSED store_err chain_store_put_consensus_meta(chain_store *self, const uint8_t *meta,
                                                           size_t len);

/* Out: *meta (malloc'ed, caller frees), *len. STORE_ERR_NOT_FOUND when none
 * was ever stored. */
EVOTE_WARN_UNUSED store_err chain_store_get_consensus_meta(chain_store *self, uint8_t **meta, size_t *len);

/* Keeps the NEW-VIEW that started the replica's view (a PeerMessage,
 * REPLICA_ACT_PERSIST_NEW_VIEW), replacing the one before, durably. Apart
 * from the meta because it can be megabytes and changes once per view.
 * Returns: STORE_OK, _META_MALFORMED (not a PeerMessage), _READ_ONLY,
 * _MAP_FULL, _DISK_FULL, ... */
EVOTE_WARN_UNUSED store_err chain_store_put_new_view(chain_store *self, const uint8_t *msg, size_t len);

/* Out: *msg (malloc'ed, caller frees), *len. STORE_ERR_NOT_FOUND when none
 * was ever stored. */
EVOTE_WARN_UNUSED store_err chain_store_get_new_view(chain_store *self, uint8_t **msg, size_t *len);

/* A batch the consensus replica must find again after a crash (one it
 * pre-prepared or prepared), kept until a block at or above its seq is
 * appended (chain_store_append drops those). */
typedef struct {
    uint64_t seq;
    const uint8_t *digest;   /* 32 bytes: tagged_hash(CRYPTO_TAG_BATCH, batch) */
    const uint8_t *batch;
    size_t len;
} chain_store_pending_batch;

/* Writes the consensus meta (NULL = unchanged) and pending batches in ONE
 * durable transaction: what the replica must remember before its next
 * message leaves. Returns: as chain_store_put_consensus_meta. */
EVOTE_WARN_UNUSED store_err chain_store_put_consensus(chain_store *self, const uint8_t *meta, size_t meta_len,
                                                      const chain_store_pending_batch *batches, size_t n);

/* Keeps a stable checkpoint's proof (serialized CheckpointProof), durably,
 * for clients that want a block's results certified. */
EVOTE_WARN_UNUSED store_err chain_store_put_checkpoint(chain_store *self, uint64_t seq, const uint8_t *proof,
                                                      size_t len);

/* Out: the proof kept for the lowest checkpoint seq >= at_least: *seq,
 * *proof (malloc'ed), *len. Returns: STORE_OK, STORE_ERR_NOT_FOUND (none
 * kept yet), ... */
EVOTE_WARN_UNUSED store_err chain_store_find_checkpoint(chain_store *self, uint64_t at_least, uint64_t *seq,
                                                       uint8_t **proof, size_t *len);

/* Out: *batch (malloc'ed), *len: the pending batch stored for (seq, digest).
 * Returns: STORE_OK, STORE_ERR_NOT_FOUND, ... */
EVOTE_WARN_UNUSED store_err chain_store_get_pending_batch(chain_store *self, uint64_t seq,
                                                          const uint8_t digest[CRYPTO_HASH_LEN], uint8_t **batch,
                                                          size_t *len);

/* The tip. For an empty chain: height 0, hash = the chain id (what block 1
 * links to), timestamp 0. Out: any of the pointers may be NULL. */
EVOTE_WARN_UNUSED store_err chain_store_tip(chain_store *self, uint64_t *height,
                                            uint8_t hash[CRYPTO_HASH_LEN], uint64_t *timestamp_ms);

/* Out: *block (serialized Block, malloc'ed, caller frees), *len. */
/* Out: *header (malloc'ed), *len: the exact BlockHeader bytes of the block at
 * height, without copying the rest of the block. Returns: STORE_OK,
 * STORE_ERR_NOT_FOUND, STORE_ERR_CORRUPT (the stored block does not start
 * with its header), ... */
EVOTE_WARN_UNUSED store_err chain_store_get_header(chain_store *self, uint64_t height, uint8_t **header,
                                                  size_t *len);
EVOTE_WARN_UNUSED store_err chain_store_get_block(chain_store *self, uint64_t height, uint8_t **block,
                                                  size_t *len);

/* Out: as chain_store_get_block, and *height (may be NULL). */
EVOTE_WARN_UNUSED store_err chain_store_get_block_by_hash(chain_store *self, const uint8_t hash[CRYPTO_HASH_LEN],
                                                          uint8_t **block, size_t *len, uint64_t *height);

/* Out: *cert (serialized CommitCertificate, malloc'ed), *len. */
EVOTE_WARN_UNUSED store_err chain_store_get_cert(chain_store *self, uint64_t height, uint8_t **cert,
                                                 size_t *len);

/* Out: where transaction `id` is: block height, index in the block, result.
 * Any pointer may be NULL. */
EVOTE_WARN_UNUSED store_err chain_store_find_tx(chain_store *self, const uint8_t id[CRYPTO_HASH_LEN],
                                                uint64_t *height, uint32_t *index, Evote__V1__TxResult *result);

/* Writes state changes outside a block (tests, migrations). The writer
 * thread only. */
EVOTE_WARN_UNUSED store_err chain_store_put_state(chain_store *self, const chain_store_state_change *changes,
                                                  size_t n);

/* Out: *value (malloc'ed, caller frees; NULL with len 0 for an empty value). */
EVOTE_WARN_UNUSED store_err chain_store_get_state(chain_store *self, const uint8_t *key, size_t key_len,
                                                  uint8_t **value, size_t *len);

/* Called for each block from from_height to the tip (as it was when the
 * iteration began), in order, inside one read transaction: a consistent
 * view even while the writer appends. block and cert point into the map and
 * are valid only during the call. The callback must not call
 * chain_store_append or other writes on the same thread.
 * Returns from the callback: 0 to go on, anything else to stop (then
 * chain_store_iterate returns STORE_OK). */
typedef int (*chain_store_iter_fn)(void *ctx, uint64_t height, const uint8_t *block, size_t block_len,
                                   const uint8_t *cert, size_t cert_len);
EVOTE_WARN_UNUSED store_err chain_store_iterate(chain_store *self, uint64_t from_height, chain_store_iter_fn fn,
                                                void *ctx);

/* Hot snapshot: a compacted, consistent copy of the store into directory
 * `dir` (created 0700 when missing; it must be empty), made with LMDB's own
 * copy while the writer goes on appending. The copy opens with
 * chain_store_open_readonly. Returns: STORE_OK, _SNAPSHOT_DIR, _IO,
 * _DISK_FULL, _LMDB. */
EVOTE_WARN_UNUSED store_err chain_store_snapshot(chain_store *self, const char *dir);

/* Hot snapshot of the store a node is running on, from ANOTHER process on
 * the same host: opens `data_dir` read-only with LMDB's lock file (a reader
 * slot keeps the pages the copy reads from being reused by the writer), so
 * the node goes on appending, and copies it compacted into `out_dir` as
 * chain_store_snapshot does. Never writes to data_dir except the reader
 * slot in lock.mdb. Out: *why on failure (may be NULL).
 * Returns: STORE_OK, _NO_STORE, _CORRUPT, _NOT_CHAIN_STORE, _SNAPSHOT_DIR,
 *          _IO, _DISK_FULL, _NOMEM, _LMDB. */
EVOTE_WARN_UNUSED store_err chain_store_snapshot_dir(const char *data_dir, const char *out_dir, store_error *why);

/* Called for every key of the "state" database in key order, inside one
 * read transaction (key and value point into the map, valid during the
 * call). Returns from the callback: 0 to go on, anything else to stop. */
typedef int (*chain_store_state_fn)(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *value,
                                    size_t value_len);
EVOTE_WARN_UNUSED store_err chain_store_iterate_state(chain_store *self, chain_store_state_fn fn, void *ctx);
/* The same from the first key >= from (from_len bytes; 0: the first key). */
EVOTE_WARN_UNUSED store_err chain_store_iterate_state_from(chain_store *self, const uint8_t *from, size_t from_len,
                                                          chain_store_state_fn fn, void *ctx);

/* Out: the current map size in bytes (grows with the chain). */
size_t chain_store_map_size(chain_store *self);

/* For monitoring. Out: *used, the bytes of the pages in use (up to the last
 * page written); *file, the size of data.mdb. Returns: STORE_OK, or
 * STORE_ERR_IO when data.mdb cannot be examined. */
EVOTE_WARN_UNUSED store_err chain_store_usage(chain_store *self, uint64_t *used, uint64_t *file);

#endif
