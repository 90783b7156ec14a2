/* store_strerror: every chain store error as a sentence for an operator,
 * saying what went wrong and what to do. chain_store_explain() puts the
 * store's path in front. */
#include "chain_store.h"

const char *store_strerror(store_err err)
{
    switch (err) {
    case STORE_OK: return "success";
    case STORE_ERR_NOMEM: return "out of memory: free memory or raise the process limit, then restart the node";
    case STORE_ERR_BAD_ARG: return "invalid argument passed to the chain store (a programming error in evote: please report it)";
    case STORE_ERR_IO: return "cannot create, open, read or write the chain store files: check that the directory exists, belongs to this user and the disk works";
    case STORE_ERR_NOT_FOUND: return "not in the chain store (no such block, certificate, transaction or key)";
    case STORE_ERR_NO_STORE: return "there is no chain store in this directory (no data.mdb, or an empty one): check the path";
    case STORE_ERR_CORRUPT: return "the chain store file data.mdb is damaged, truncated or not an LMDB file: restore it from a snapshot or another validator, or move it away to resynchronize from the other validators";
    case STORE_ERR_NOT_CHAIN_STORE: return "this LMDB environment is not an evote chain store: check the path; evote does not write into other databases";
    case STORE_ERR_FORMAT: return "the chain store was written by a newer version of evote: run that version, or restore a store of this version";
    case STORE_ERR_FOREIGN_CHAIN: return "the chain store holds another chain than this genesis: check the data directory and the genesis file of this node";
    case STORE_ERR_READ_ONLY: return "the chain store is open read-only: writes are refused";
    case STORE_ERR_BLOCK_MALFORMED: return "block refused: the block, its header or its batch does not parse";
    case STORE_ERR_WRONG_CHAIN: return "block refused: it names another chain id than this store's";
    case STORE_ERR_HEIGHT: return "block refused: its height (or batch sequence number) is not the next one after the tip";
    case STORE_ERR_PREV_HASH: return "block refused: it does not link to the hash of the tip (prev_hash differs)";
    case STORE_ERR_TIME_BACKWARDS: return "block refused: its timestamp is earlier than the tip's (block time never goes backwards)";
    case STORE_ERR_BATCH_DIGEST: return "block refused: its header's batch digest is not the digest of its batch";
    case STORE_ERR_TX_COUNT: return "block refused: the header's transaction count, the transaction ids, the results and the batch's transactions differ in number";
    case STORE_ERR_TX_MISMATCH: return "block refused: transaction ids, results, transaction root or results hash disagree with the block";
    case STORE_ERR_CERT_MALFORMED: return "block refused: its commit certificate does not parse";
    case STORE_ERR_CERT_SEQ: return "block refused: the commit certificate is for another sequence number than the block height";
    case STORE_ERR_CERT_DIGEST: return "block refused: the commit certificate certifies another batch digest than the block's";
    case STORE_ERR_DUPLICATE_TX: return "block refused: it indexes a transaction id that is already in the chain (not marked as a duplicate)";
    case STORE_ERR_META_MALFORMED: return "consensus meta refused: the bytes do not parse as ConsensusMeta";
    case STORE_ERR_KEY_SIZE: return "state key refused: it is empty or longer than the 511 bytes LMDB allows";
    case STORE_ERR_MAP_FULL: return "the chain store reached its configured maximum size: raise the maximum map size in the node configuration (and check the disk has room), then restart; nothing was written";
    case STORE_ERR_DISK_FULL: return "the disk holding the chain store is full (or the file size limit is reached): free space, then restart; nothing was written";
    case STORE_ERR_SNAPSHOT_DIR: return "cannot take the snapshot there: the directory cannot be created or is not empty; give a new or empty directory";
    case STORE_ERR_PANIC: return "LMDB stopped accepting writes after a fatal error: restart the node (the committed chain is intact)";
    case STORE_ERR_LMDB: return "unexpected LMDB failure: see the node log, and report it if it persists";
    }
    return "unknown chain store error";
}
