/* Internal to storage/: the check of an existing data.mdb made before LMDB
 * maps it, so a damaged or foreign file is refused with a reason instead of
 * crashing the node (LMDB trusts its file: reading a page past the end of a
 * truncated file is a SIGBUS). */
#ifndef EVOTE_STORAGE_DATA_FILE_H
#define EVOTE_STORAGE_DATA_FILE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DATA_FILE_OK = 0,    /* both meta pages sane, file long enough */
    DATA_FILE_MISSING,   /* no data.mdb */
    DATA_FILE_EMPTY,     /* data.mdb of 0 bytes (LMDB never finished creating it) */
    DATA_FILE_UNREADABLE,/* open/read failed: see errno_out */
    DATA_FILE_BAD,       /* not LMDB, damaged or truncated: see reason */
} data_file_status;

typedef struct {
    uint32_t page_size;
    uint64_t last_page;  /* of the newest meta */
    uint64_t txnid;
    uint64_t map_size;   /* recorded in the newest meta */
    uint64_t file_size;
    uint64_t root[2];    /* of the newest meta: free-list and main B-tree (UINT64_MAX: empty) */
    uint16_t db_flags[2];/* their md_flags (LMDB's MDB_INTEGERKEY, MDB_DUPSORT, ...) */
} data_file_info;

/* Checks `path` (a data.mdb). Out: *info when DATA_FILE_OK; *errno_out for
 * DATA_FILE_UNREADABLE; reason (a phrase) for DATA_FILE_BAD. */
data_file_status data_file_check(const char *path, data_file_info *info, int *errno_out, char *reason,
                                 size_t reason_len);

/* Walks the B-trees of `path` from its newest meta page and checks every
 * page they reach (2..last_page, from data_file_check's info;
 * data_file_walk.c: the layout it relies on and what evote never writes),
 * so that LMDB never follows an offset or page number out of the file, nor
 * a flag that makes it misread a page. Reads every live page once.
 * Returns: 1 sound, 0 damaged or unreadable (why says where). */
int data_file_walk(const char *path, uint32_t page_size, uint64_t last_page, char *why, size_t len);

/* ------------------------------------------------------------ snapshot seal
 * `evote snapshot` writes, next to the copied data.mdb, the file
 * data.mdb.seal: "evote-snapshot-seal v1\nsize N\ndigest HEX\n" where
 * digest = tagged_hash(CRYPTO_TAG_SNAPSHOT, every byte of data.mdb). LMDB
 * pages have no checksums, and bytes in a page's unused area or in a free
 * page change no recorded fact, so only the seal reveals that the file was
 * damaged or altered there after the copy. It proves nothing against someone
 * who rewrites the seal too: the signatures and proofs in the live records
 * are what evote-audit trusts. */
#define DATA_FILE_SEAL_NAME "data.mdb.seal"

/* Writes dir/data.mdb.seal (mode 0600) for dir/data.mdb.
 * Returns: 1 written, 0 not (why says what went wrong). */
int data_file_seal_write(const char *dir, char *why, size_t why_len);

/* Checks dir/data.mdb against dir/data.mdb.seal.
 * Returns: 1 the seal matches; 0 there is no seal (an mdb_copy copy);
 * -1 the seal does not match or cannot be read (why says which). */
int data_file_seal_check(const char *dir, char *why, size_t why_len);

#endif
