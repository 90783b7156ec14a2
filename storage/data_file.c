/* data_file_check: reads the two LMDB meta pages of a data.mdb and refuses
 * anything LMDB would misread. The layout (LMDB 0.9, 64-bit, from struct
 * MDB_page and MDB_meta of liblmdb's mdb.c): a page starts with a 16-byte
 * header (page number u64, pad u16, flags u16, lower/upper u16 pair); the
 * meta follows it: magic u32, version u32, address, map size, two MDB_db of
 * 48 bytes (free list and main; the free list's first u32 holds the page
 * size), last page number, transaction id. Page 0 and page 1 are metas;
 * LMDB uses the one with the larger transaction id. All fields are in the
 * host's byte order (an LMDB file does not move between architectures). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "data_file.h"
#include "lmdb_layout.h"

#define LMDB_MAGIC 0xBEEFC0DEu
#define LMDB_DATA_VERSION 1u
#define LMDB_P_INVALID UINT64_MAX

#define OFF_MAGIC (PAGE_HDR + 0)
#define OFF_VERSION (PAGE_HDR + 4)
#define OFF_MAPSIZE (PAGE_HDR + 16)
#define OFF_DB0 (PAGE_HDR + 24)
#define OFF_LAST_PG (OFF_DB0 + 2 * DB_SIZE)
#define OFF_TXNID (OFF_LAST_PG + 8)
#define META_END (OFF_TXNID + 8)

typedef struct {
    uint32_t psize;
    uint16_t db_flags[2];
    uint64_t mapsize, last_pg, txnid, root[2];
} meta;

/* Returns: 0 when the page at buf is a sane meta, else -1 with reason. */
static int parse_meta(const uint8_t *buf, int page, meta *m, char *reason, size_t reason_len)
{
    uint32_t magic = rd32(buf + OFF_MAGIC), version = rd32(buf + OFF_VERSION);

    if (magic != LMDB_MAGIC) {
        snprintf(reason, reason_len, "meta page %d has no LMDB magic number (not an LMDB file, or overwritten)",
                 page);
        return -1;
    }
    if (version != LMDB_DATA_VERSION) {
        snprintf(reason, reason_len, "meta page %d has LMDB data format version %u, this LMDB reads version %u",
                 page, version, LMDB_DATA_VERSION);
        return -1;
    }
    if (!(rd16(buf + OFF_FLAGS) & P_META)) {
        snprintf(reason, reason_len, "page %d is not flagged as an LMDB meta page", page);
        return -1;
    }
    m->psize = rd32(buf + OFF_DB0);
    m->mapsize = rd64(buf + OFF_MAPSIZE);
    m->root[0] = rd64(buf + OFF_DB0 + DB_OFF_ROOT);
    m->root[1] = rd64(buf + OFF_DB0 + DB_SIZE + DB_OFF_ROOT);
    m->db_flags[0] = rd16(buf + OFF_DB0 + DB_OFF_FLAGS);
    m->db_flags[1] = rd16(buf + OFF_DB0 + DB_SIZE + DB_OFF_FLAGS);
    m->last_pg = rd64(buf + OFF_LAST_PG);
    m->txnid = rd64(buf + OFF_TXNID);
    if (m->psize < 512 || m->psize > 65536 || (m->psize & (m->psize - 1)) != 0) {
        snprintf(reason, reason_len, "meta page %d records an impossible page size %u", page, m->psize);
        return -1;
    }
    if (m->last_pg < 1 || m->last_pg > (UINT64_MAX / m->psize) - 1) {
        snprintf(reason, reason_len, "meta page %d records an impossible last page number %llu", page,
                 (unsigned long long)m->last_pg);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        if (m->root[i] != LMDB_P_INVALID && (m->root[i] < 2 || m->root[i] > m->last_pg)) {
            snprintf(reason, reason_len, "meta page %d points its %s tree at page %llu, outside the file's %llu pages",
                     page, i == 0 ? "free-list" : "main", (unsigned long long)m->root[i],
                     (unsigned long long)m->last_pg + 1);
            return -1;
        }
    }
    return 0;
}

static int read_at(int fd, uint8_t *buf, size_t len, off_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, buf + done, len - done, off + (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

data_file_status data_file_check(const char *path, data_file_info *info, int *errno_out, char *reason,
                                 size_t reason_len)
{
    uint8_t buf[META_END];
    meta m[2];
    struct stat st;
    int fd;
    data_file_status status = DATA_FILE_BAD;

    *errno_out = 0;
    reason[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *errno_out = errno;
        return errno == ENOENT ? DATA_FILE_MISSING : DATA_FILE_UNREADABLE;
    }
    if (fstat(fd, &st) != 0) {
        *errno_out = errno;
        close(fd);
        return DATA_FILE_UNREADABLE;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(reason, reason_len, "data.mdb is not a regular file");
        goto out;
    }
    if (st.st_size == 0) {
        status = DATA_FILE_EMPTY;
        goto out;
    }
    if ((uint64_t)st.st_size < META_END) {
        snprintf(reason, reason_len, "data.mdb is %lld bytes, too short for an LMDB meta page (truncated)",
                 (long long)st.st_size);
        goto out;
    }
    if (read_at(fd, buf, sizeof buf, 0) != 0) {
        *errno_out = errno;
        status = DATA_FILE_UNREADABLE;
        goto out;
    }
    if (parse_meta(buf, 0, &m[0], reason, reason_len) != 0)
        goto out;
    /* Page 1 sits one page in; its page size must agree with page 0's. */
    if ((uint64_t)st.st_size < (uint64_t)m[0].psize + META_END) {
        snprintf(reason, reason_len,
                 "data.mdb is %lld bytes, too short for its second meta page at offset %u (truncated)",
                 (long long)st.st_size, m[0].psize);
        goto out;
    }
    if (read_at(fd, buf, sizeof buf, (off_t)m[0].psize) != 0) {
        *errno_out = errno;
        status = DATA_FILE_UNREADABLE;
        goto out;
    }
    if (parse_meta(buf, 1, &m[1], reason, reason_len) != 0)
        goto out;
    if (m[1].psize != m[0].psize) {
        snprintf(reason, reason_len, "the two meta pages disagree on the page size (%u and %u)", m[0].psize,
                 m[1].psize);
        goto out;
    }
    {
        const meta *cur = m[1].txnid > m[0].txnid ? &m[1] : &m[0];
        uint64_t need = (cur->last_pg + 1) * (uint64_t)cur->psize;
        if ((uint64_t)st.st_size < need) {
            snprintf(reason, reason_len,
                     "data.mdb is %lld bytes but its newest meta page (transaction %llu) needs %llu "
                     "(%llu pages of %u bytes): the file is truncated",
                     (long long)st.st_size, (unsigned long long)cur->txnid, (unsigned long long)need,
                     (unsigned long long)cur->last_pg + 1, cur->psize);
            goto out;
        }
        info->page_size = cur->psize;
        info->last_page = cur->last_pg;
        info->txnid = cur->txnid;
        info->map_size = cur->mapsize;
        info->file_size = (uint64_t)st.st_size;
        info->root[0] = cur->root[0];
        info->root[1] = cur->root[1];
        info->db_flags[0] = cur->db_flags[0];
        info->db_flags[1] = cur->db_flags[1];
        status = DATA_FILE_OK;
    }
out:
    close(fd);
    return status;
}

/* ------------------------------------------------------------ snapshot seal */

#define SEAL_MAGIC "evote-snapshot-seal v1"

/* The digest of a whole file, mapped read-only. Returns: 1, or 0 (why). */
static int file_digest(const char *path, uint8_t out[CRYPTO_HASH_LEN], uint64_t *size, char *why, size_t why_len)
{
    struct stat st;
    void *map = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 0;
    }
    if (st.st_size > 0) {
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            snprintf(why, why_len, "cannot map %s: %s", path, strerror(errno));
            close(fd);
            return 0;
        }
    }
    crypto_tagged_hash(CRYPTO_TAG_SNAPSHOT, map, (size_t)st.st_size, out);
    if (map != NULL)
        munmap(map, (size_t)st.st_size);
    close(fd);
    *size = (uint64_t)st.st_size;
    return 1;
}

int data_file_seal_write(const char *dir, char *why, size_t why_len)
{
    char data[4200], seal[4200], tmp[4300], hex[2 * CRYPTO_HASH_LEN + 1];
    uint8_t d[CRYPTO_HASH_LEN];
    uint64_t size;
    FILE *f;
    int fd;
    snprintf(data, sizeof data, "%.4096s/data.mdb", dir);
    snprintf(seal, sizeof seal, "%.4096s/" DATA_FILE_SEAL_NAME, dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", seal);
    if (!file_digest(data, d, &size, why, why_len))
        return 0;
    crypto_hex(d, CRYPTO_HASH_LEN, hex);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        snprintf(why, why_len, "cannot write %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 0;
    }
    fprintf(f, SEAL_MAGIC "\nsize %" PRIu64 "\ndigest %s\n", size, hex);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        snprintf(why, why_len, "cannot write %s: %s", tmp, strerror(errno));
        fclose(f);
        unlink(tmp);
        return 0;
    }
    fclose(f);
    if (rename(tmp, seal) != 0) {
        snprintf(why, why_len, "cannot rename %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return 0;
    }
    return 1;
}

int data_file_seal_check(const char *dir, char *why, size_t why_len)
{
    char data[4200], seal[4200], text[512], hex[2 * CRYPTO_HASH_LEN + 1];
    uint8_t want[CRYPTO_HASH_LEN], got[CRYPTO_HASH_LEN];
    uint64_t want_size = 0, size;
    size_t n;
    FILE *f;
    snprintf(data, sizeof data, "%.4096s/data.mdb", dir);
    snprintf(seal, sizeof seal, "%.4096s/" DATA_FILE_SEAL_NAME, dir);
    f = fopen(seal, "re");
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, why_len, "%s cannot be read: %s", seal, strerror(errno));
        return -1;
    }
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    if (sscanf(text, SEAL_MAGIC "\nsize %" SCNu64 "\ndigest %64[0-9a-f]\n", &want_size, hex) != 2 ||
        strlen(hex) != 2 * CRYPTO_HASH_LEN || crypto_unhex(hex, want, CRYPTO_HASH_LEN) != CRYPTO_OK) {
        snprintf(why, why_len, "%s is not a seal written by evote snapshot (damaged?)", seal);
        return -1;
    }
    if (!file_digest(data, got, &size, why, why_len))
        return -1;
    if (size != want_size || !crypto_equal(got, want, CRYPTO_HASH_LEN)) {
        snprintf(why, why_len,
                 "data.mdb is not the file evote snapshot wrote: its %s differs from %s (the copy was damaged or "
                 "altered after it was taken; take a new snapshot from a validator)",
                 size != want_size ? "size" : "digest", DATA_FILE_SEAL_NAME);
        return -1;
    }
    return 1;
}
