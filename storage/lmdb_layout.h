/* What evote's own checks of a data.mdb (data_file.c: the meta pages;
 * data_file_walk.c: every page of the trees) rely on of LMDB's file format:
 * LMDB 0.9, data format version 1, 64-bit, host byte order, from struct
 * MDB_page, MDB_node, MDB_db and MDB_meta of liblmdb's mdb.c. Internal to
 * storage/. */
#ifndef EVOTE_LMDB_LAYOUT_H
#define EVOTE_LMDB_LAYOUT_H

#include <stdint.h>
#include <string.h>

/* A page: page number u64, pad u16, flags u16, then lower u16 and upper u16
 * (an overflow page has its page count u32 there). */
#define PAGE_HDR 16
#define OFF_FLAGS 10
#define P_BRANCH 0x01
#define P_LEAF 0x02
#define P_OVERFLOW 0x04
#define P_META 0x08
#define P_LEAF2 0x20

/* A node: lo u16, hi u16, flags u16, ksize u16, then the key. */
#define NODE_HDR 8
#define F_BIGDATA 0x01
#define F_SUBDATA 0x02

/* A database record (MDB_db, 48 bytes): md_pad u32, md_flags u16, ...,
 * md_root u64 at 40. */
#define DB_SIZE 48
#define DB_OFF_FLAGS 4
#define DB_OFF_ROOT 40
#define DB_FLAG_INTEGERKEY 0x08 /* MDB_INTEGERKEY */

static inline uint16_t rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

#endif
