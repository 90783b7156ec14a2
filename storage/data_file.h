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
} data_file_info;

/* Checks `path` (a data.mdb). Out: *info when DATA_FILE_OK; *errno_out for
 * DATA_FILE_UNREADABLE; reason (a phrase) for DATA_FILE_BAD. */
data_file_status data_file_check(const char *path, data_file_info *info, int *errno_out, char *reason,
                                 size_t reason_len);

#endif
