/* The LMDB chain store: opening (with the data file checked before LMDB maps
 * it), the one-transaction append of a block with everything it causes, the
 * reads, map growth and hot snapshots. See chain_store.h for the layout and
 * the threading contract.
 *
 * Map growth: LMDB's map has a fixed size; a write that does not fit fails
 * with MDB_MAP_FULL. We then abort, double the map (mdb_env_set_mapsize) and
 * retry the same write. mdb_env_set_mapsize requires that no transaction of
 * this process is open, so every transaction holds `resize` shared for its
 * whole life and the resize takes it exclusive. The lock prefers writers so
 * a stream of readers cannot starve a resize. */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "chain_store.h"
#include "consensus.pb-c.h"
#include "data_file.h"
#include "ledger.h"

#define TIP_LEN (8 + CRYPTO_HASH_LEN + 8)
#define TXLOC_LEN 16

static const char KEY_CHAIN_ID[] = "chain_id";
static const char KEY_FORMAT[] = "format";
static const char KEY_CONSENSUS[] = "consensus";
static const char KEY_NEW_VIEW[] = "new-view";
#define PENDING_PREFIX "pending-batch/"
#define PENDING_PREFIX_LEN (sizeof PENDING_PREFIX - 1)
#define PENDING_KEY_LEN (PENDING_PREFIX_LEN + 8 + CRYPTO_HASH_LEN)
#define CHECKPOINT_PREFIX "checkpoint/"
#define CHECKPOINT_PREFIX_LEN (sizeof CHECKPOINT_PREFIX - 1)
#define CHECKPOINT_KEY_LEN (CHECKPOINT_PREFIX_LEN + 8)
static const char KEY_TIP[] = "tip";

struct chain_store {
    MDB_env *env;
    MDB_dbi blocks, hashes, txs, certs, state, meta;
    pthread_rwlock_t resize;
    int read_only;
    size_t map_size; /* changed by the writer thread under `resize` held exclusive */
    size_t map_max;
    uint8_t chain_id[CRYPTO_CHAIN_ID_LEN];
    char *path;
    char arrival[256]; /* what checked a data.mdb never opened here ("": none) */
};

/* ------------------------------------------------------------- helpers */

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static MDB_val val_of(const void *p, size_t len)
{
    MDB_val v;
    v.mv_data = (void *)p;
    v.mv_size = len;
    return v;
}

static MDB_val str_key(const char *s)
{
    return val_of(s, strlen(s));
}

static void set_why(store_error *why, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

__attribute__((format(printf, 3, 4)))
static void set_why(store_error *why, int rc, const char *fmt, ...)
{
    va_list ap;
    if (why == NULL)
        return;
    why->mdb_rc = rc;
    va_start(ap, fmt);
    vsnprintf(why->detail, sizeof why->detail, fmt, ap);
    va_end(ap);
}

/* A short write during commit is how LMDB reports a full filesystem (it
 * says EIO: "short write, filesystem full?"). Tell it apart from a failing
 * disk by looking: little free space, or a file size limit near the file. */
static int looks_full(const chain_store *s)
{
    struct statvfs vfs;
    struct rlimit rl;
    struct stat st;
    char file[PATH_MAX];

    if (statvfs(s->path, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < (64u << 20))
        return 1;
    snprintf(file, sizeof file, "%s/data.mdb", s->path);
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && stat(file, &st) == 0 &&
        (uint64_t)st.st_size + (64u << 20) >= (uint64_t)rl.rlim_cur)
        return 1;
    return 0;
}

/* Maps an LMDB (or errno) code met while working on an open store. */
static store_err from_mdb(const chain_store *s, int rc)
{
    switch (rc) {
    case MDB_SUCCESS: return STORE_OK;
    case MDB_NOTFOUND: return STORE_ERR_NOT_FOUND;
    case MDB_MAP_FULL: return STORE_ERR_MAP_FULL;
    case MDB_PANIC: return STORE_ERR_PANIC;
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND: return STORE_ERR_CORRUPT;
    case ENOSPC:
    case EFBIG:
    case EDQUOT: return STORE_ERR_DISK_FULL;
    case EIO: return looks_full(s) ? STORE_ERR_DISK_FULL : STORE_ERR_IO;
    case ENOMEM: return STORE_ERR_NOMEM;
    case EACCES:
    case EPERM:
    case EROFS:
    case ENOENT: return STORE_ERR_IO;
    default: return STORE_ERR_LMDB;
    }
}

/* ------------------------------------------------------- transactions */

/* Begins a transaction holding `resize` shared; end it with txn_end. */
static int txn_begin(chain_store *s, unsigned flags, MDB_txn **txn)
{
    for (;;) {
        pthread_rwlock_rdlock(&s->resize);
        int rc = mdb_txn_begin(s->env, NULL, flags, txn);
        if (rc != MDB_MAP_RESIZED) {
            if (rc != MDB_SUCCESS)
                pthread_rwlock_unlock(&s->resize);
            return rc;
        }
        /* Another process grew the map: adopt its size. */
        pthread_rwlock_unlock(&s->resize);
        pthread_rwlock_wrlock(&s->resize);
        rc = mdb_env_set_mapsize(s->env, 0);
        pthread_rwlock_unlock(&s->resize);
        if (rc != MDB_SUCCESS)
            return rc;
    }
}

/* Aborts (commit = 0) or commits the transaction and releases `resize`. */
static int txn_end(chain_store *s, MDB_txn *txn, int commit)
{
    int rc = MDB_SUCCESS;
    if (commit)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->resize);
    return rc;
}

/* Doubles the map up to the maximum. Returns: STORE_OK, or MAP_FULL when
 * it is already at the maximum. Called with no transaction of ours open. */
static store_err grow_map(chain_store *s)
{
    size_t next;
    int rc;

    if (s->map_size >= s->map_max)
        return STORE_ERR_MAP_FULL;
    next = s->map_size > s->map_max / 2 ? s->map_max : s->map_size * 2;
    pthread_rwlock_wrlock(&s->resize);
    rc = mdb_env_set_mapsize(s->env, next);
    if (rc == MDB_SUCCESS) {
        MDB_envinfo info;
        mdb_env_info(s->env, &info);
        s->map_size = info.me_mapsize;
    }
    pthread_rwlock_unlock(&s->resize);
    if (rc != MDB_SUCCESS)
        return rc == ENOMEM ? STORE_ERR_NOMEM : STORE_ERR_LMDB;
    return STORE_OK;
}

/* One durable write: runs fn in a write transaction and commits; on
 * MDB_MAP_FULL (from fn's puts or from the commit) aborts, grows the map and
 * runs fn again from scratch. fn returns a store_err, and for LMDB failures
 * sets *rc so that MAP_FULL can be told apart. On any error the transaction
 * is aborted: nothing changes. */
typedef store_err (*write_fn)(chain_store *s, MDB_txn *txn, void *ctx, int *rc);

static store_err write_txn(chain_store *s, write_fn fn, void *ctx)
{
    for (;;) {
        MDB_txn *txn;
        int rc = txn_begin(s, 0, &txn);
        store_err err;

        if (rc != MDB_SUCCESS)
            return from_mdb(s, rc);
        rc = MDB_SUCCESS;
        err = fn(s, txn, ctx, &rc);
        if (err == STORE_OK) {
            rc = txn_end(s, txn, 1);
            err = from_mdb(s, rc);
        } else {
            txn_end(s, txn, 0);
        }
        if (rc == MDB_MAP_FULL) {
            store_err g = grow_map(s);
            if (g != STORE_OK)
                return g;
            continue;
        }
        return err;
    }
}

/* ------------------------------------------------------------ opening */

static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = 1;
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = 0;
            break;
        }
    }
    closedir(d);
    return empty;
}

static store_err check_dir(const char *dir, int create, store_error *why)
{
    struct stat st;
    if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        set_why(why, e, "%s: cannot create the chain store directory: %s", dir, strerror(e));
        return e == ENOSPC || e == EDQUOT ? STORE_ERR_DISK_FULL : STORE_ERR_IO;
    }
    if (stat(dir, &st) != 0) {
        int e = errno;
        set_why(why, e, "%s: %s", dir, strerror(e));
        return e == ENOENT && !create ? STORE_ERR_NO_STORE : STORE_ERR_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        set_why(why, ENOTDIR, "%s: not a directory (the chain store is a directory holding data.mdb)", dir);
        return STORE_ERR_IO;
    }
    return STORE_OK;
}

/* Checks data.mdb before LMDB maps it. Out: *existing (1: a valid file with
 * data), *info. */
static store_err check_data_file(const char *dir, int read_only, int *existing, data_file_info *info,
                                 store_error *why)
{
    char file[PATH_MAX], reason[256];
    int e;

    *existing = 0;
    if ((size_t)snprintf(file, sizeof file, "%s/data.mdb", dir) >= sizeof file) {
        set_why(why, ENAMETOOLONG, "%s: path too long", dir);
        return STORE_ERR_IO;
    }
    switch (data_file_check(file, info, &e, reason, sizeof reason)) {
    case DATA_FILE_OK:
        *existing = 1;
        return STORE_OK;
    case DATA_FILE_MISSING:
    case DATA_FILE_EMPTY:
        if (read_only) {
            set_why(why, 0, "%s: no chain store here (data.mdb missing or empty)", file);
            return STORE_ERR_NO_STORE;
        }
        return STORE_OK;
    case DATA_FILE_UNREADABLE:
        set_why(why, e, "%s: cannot read: %s", file, strerror(e));
        return STORE_ERR_IO;
    case DATA_FILE_BAD:
        break;
    }
    set_why(why, MDB_INVALID, "%s: %s", file, reason);
    return STORE_ERR_CORRUPT;
}

/* Which data.mdb this directory last opened read-write, in
 * DATA_FILE_ID_NAME beside it: "inode N txnid T", the file's inode number
 * and the newest transaction in it then. A copy is a new file, so a whole
 * directory copied in (lock.mdb included) names another inode than its
 * data.mdb has; an older backup copied over the file in place (same inode)
 * goes back in transactions. */
#define DATA_FILE_ID_NAME "data.mdb.id"

static int data_file_inode(const char *dir, unsigned long long *ino)
{
    char file[PATH_MAX];
    struct stat st;
    if ((size_t)snprintf(file, sizeof file, "%s/data.mdb", dir) >= sizeof file || stat(file, &st) != 0)
        return 0;
    *ino = (unsigned long long)st.st_ino;
    return 1;
}

/* Reads the id file. Returns: 1 read, 0 none (or it cannot be opened), -1
 * it does not parse (copied_in then checks the store). */
static int id_file_read(const char *dir, unsigned long long *ino, unsigned long long *txnid)
{
    char file[PATH_MAX];
    FILE *f;
    int ok;

    if ((size_t)snprintf(file, sizeof file, "%s/" DATA_FILE_ID_NAME, dir) >= sizeof file ||
        (f = fopen(file, "r")) == NULL)
        return 0;
    ok = fscanf(f, "inode %llu txnid %llu", ino, txnid) == 2;
    fclose(f);
    return ok ? 1 : -1;
}

/* 1 when the id file names another file than the data.mdb now there (or
 * a later state of it); 0 when it names this one, or there is none (a
 * store from before the id file: taken as this directory's own, and given
 * one once open). */
static int copied_in(const char *dir, const data_file_info *info)
{
    unsigned long long ino, txnid, now;
    int got = id_file_read(dir, &ino, &txnid);
    if (got == 0)
        return 0;
    return got < 0 || !data_file_inode(dir, &now) || ino != now || info->txnid < txnid;
}

/* Records what copied_in compares once the store is open read-write. Best
 * effort: without it, the next open takes the directory's files as its
 * own, as before the id file existed. */
static void id_file_write(const char *dir, uint64_t txnid)
{
    char file[PATH_MAX], tmp[PATH_MAX];
    unsigned long long ino, was_ino, was_txnid;
    FILE *f;
    int ok;

    if (!data_file_inode(dir, &ino) ||
        (size_t)snprintf(file, sizeof file, "%s/" DATA_FILE_ID_NAME, dir) >= sizeof file ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/" DATA_FILE_ID_NAME ".tmp", dir) >= sizeof tmp)
        return;
    if (id_file_read(dir, &was_ino, &was_txnid) == 1 && was_ino == ino && was_txnid == txnid)
        return;
    if ((f = fopen(tmp, "w")) == NULL)
        return;
    ok = fprintf(f, "inode %llu txnid %llu\n", ino, (unsigned long long)txnid) > 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, file) != 0)
        (void)unlink(tmp);
}

/* A data.mdb that no evoted has opened in this directory is checked like
 * an auditor's snapshot before LMDB maps it read-write: its seal when
 * `evote snapshot` left one (then removed: the file changes from now on),
 * and the page walk. That is a data.mdb without lock.mdb beside it (a
 * restored backup, a copy moved in), or one whose lock.mdb came with it
 * (a whole directory copied in, or an older copy written over the file in
 * place: the id file names another data.mdb, or a later state of it). A
 * validator's own store has both, so its restarts cost nothing.
 * keep_seal: check only (evoted --check). Out: arrival (a line for the
 * log) when checked; *remove_seal (may be NULL with keep_seal) 1 when the
 * caller is to remove the seal once the store is open: an open that fails
 * leaves the copy as it came. */
static store_err check_arrival(const char *dir, const data_file_info *info, int keep_seal, char *arrival,
                               size_t arrival_len, int *remove_seal, store_error *why)
{
    char file[PATH_MAX], reason[512];
    const char *how = "no lock.mdb";
    struct stat st;
    int sealed;

    arrival[0] = '\0';
    if (remove_seal != NULL)
        *remove_seal = 0;
    if ((size_t)snprintf(file, sizeof file, "%s/lock.mdb", dir) >= sizeof file) {
        set_why(why, ENAMETOOLONG, "%s: path too long", dir);
        return STORE_ERR_IO;
    }
    if (stat(file, &st) == 0 || errno != ENOENT) {
        if (!copied_in(dir, info))
            return STORE_OK;
        how = "its lock.mdb came with it, but " DATA_FILE_ID_NAME " names another file or an earlier state";
    }
    sealed = data_file_seal_check(dir, reason, sizeof reason);
    if (sealed < 0) {
        set_why(why, MDB_INVALID,
                "%s/data.mdb: %s; this copy was damaged after it was taken: restore another backup, or let the "
                "validator start empty and fetch the chain from its peers",
                dir, reason);
        return STORE_ERR_CORRUPT;
    }
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    if (!data_file_walk(file, info->page_size, info->last_page, reason, sizeof reason)) {
        set_why(why, MDB_INVALID,
                "%s: %s; this copy (never opened here: %s) is damaged: restore another backup, or let the "
                "validator start empty and fetch the chain from its peers",
                file, reason, how);
        return STORE_ERR_CORRUPT;
    }
    if (sealed > 0 && !keep_seal && remove_seal != NULL)
        *remove_seal = 1;
    snprintf(arrival, arrival_len,
             "a data.mdb never opened here (%s: a restored backup or a copy) was checked before use: %s, "
             "every page of its trees sound",
             how, sealed == 0 ? "no seal"
             : keep_seal ? "its seal matched"
                         : "its seal matched (" DATA_FILE_SEAL_NAME " removed: the file changes from now on)");
    return STORE_OK;
}

static store_err open_error(const char *dir, int rc, store_error *why)
{
    switch (rc) {
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
        set_why(why, rc,
                "%s: LMDB refuses the environment (%s); data.mdb passed evote's meta page check, so the "
                "damage is inside the file or in lock.mdb (a damaged lock.mdb may be deleted while no "
                "process uses the store)",
                dir, mdb_strerror(rc));
        return STORE_ERR_CORRUPT;
    case ENOSPC:
    case EFBIG:
    case EDQUOT:
        set_why(why, rc, "%s: the disk is full: %s", dir, mdb_strerror(rc));
        return STORE_ERR_DISK_FULL;
    case ENOMEM:
        set_why(why, rc, "%s: out of memory (or address space for the map): %s", dir, mdb_strerror(rc));
        return STORE_ERR_NOMEM;
    case EACCES:
    case EPERM:
    case EROFS:
    case ENOENT:
    case EAGAIN:
        set_why(why, rc, "%s: %s", dir, mdb_strerror(rc));
        return STORE_ERR_IO;
    default:
        set_why(why, rc, "%s: LMDB: %s", dir, mdb_strerror(rc));
        return STORE_ERR_LMDB;
    }
}

static store_err alloc_store(const char *dir, int read_only, chain_store **out, store_error *why)
{
    chain_store *s = calloc(1, sizeof *s);
    pthread_rwlockattr_t attr;

    if (s == NULL || (s->path = strdup(dir)) == NULL) {
        free(s);
        set_why(why, ENOMEM, "%s: out of memory", dir);
        return STORE_ERR_NOMEM;
    }
    pthread_rwlockattr_init(&attr);
    /* Reader-preferring: a reader that already holds `resize` (a snapshot's
     * long copy) can never wait behind a queued resize. Growth is rare and
     * reads are short, so the resize does not starve. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_READER_NP);
    if (pthread_rwlock_init(&s->resize, &attr) != 0) {
        pthread_rwlockattr_destroy(&attr);
        free(s->path);
        free(s);
        set_why(why, ENOMEM, "%s: cannot create a lock", dir);
        return STORE_ERR_NOMEM;
    }
    pthread_rwlockattr_destroy(&attr);
    s->read_only = read_only;
    *out = s;
    return STORE_OK;
}

/* Opens the named databases (creating them when `create`) and reads or
 * records the chain id and format. */
static store_err open_dbs(chain_store *s, const uint8_t *chain_id, int create, store_error *why)
{
    static const char *const names[] = {"blocks", "hashes", "txs", "certs", "state", "meta"};
    MDB_dbi *dbis[] = {&s->blocks, &s->hashes, &s->txs, &s->certs, &s->state, &s->meta};
    MDB_txn *txn;
    MDB_val k, v;
    store_err err = STORE_OK;
    int rc = txn_begin(s, create ? 0 : MDB_RDONLY, &txn);

    if (rc != MDB_SUCCESS)
        return open_error(s->path, rc, why);
    /* "meta" first: its absence in a non-empty environment means this LMDB
     * file belongs to someone else, and we must not add our tables to it. */
    rc = mdb_dbi_open(txn, "meta", 0, &s->meta);
    if (rc == MDB_NOTFOUND && create) {
        MDB_dbi main_dbi;
        MDB_stat st;
        rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
        if (rc == MDB_SUCCESS)
            rc = mdb_stat(txn, main_dbi, &st);
        if (rc == MDB_SUCCESS && st.ms_entries != 0) {
            set_why(why, 0, "%s: an LMDB environment with other databases and no evote meta", s->path);
            err = STORE_ERR_NOT_CHAIN_STORE;
            goto out;
        }
    } else if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
        set_why(why, rc, "%s: an LMDB environment without evote's databases", s->path);
        err = STORE_ERR_NOT_CHAIN_STORE;
        goto out;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        rc = mdb_dbi_open(txn, names[i], create ? MDB_CREATE : 0, dbis[i]);
        if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
            set_why(why, rc, "%s: an LMDB environment without evote's \"%s\" database", s->path, names[i]);
            err = STORE_ERR_NOT_CHAIN_STORE;
            goto out;
        }
        if (rc != MDB_SUCCESS) {
            err = open_error(s->path, rc, why);
            goto out;
        }
    }
    k = str_key(KEY_CHAIN_ID);
    rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == MDB_NOTFOUND && create) {
        uint8_t fmt[4];
        put_be32(fmt, CHAIN_STORE_FORMAT);
        v = val_of(chain_id, CRYPTO_CHAIN_ID_LEN);
        rc = mdb_put(txn, s->meta, &k, &v, 0);
        if (rc == MDB_SUCCESS) {
            k = str_key(KEY_FORMAT);
            v = val_of(fmt, sizeof fmt);
            rc = mdb_put(txn, s->meta, &k, &v, 0);
        }
        if (rc != MDB_SUCCESS) {
            err = open_error(s->path, rc, why);
            goto out;
        }
        memcpy(s->chain_id, chain_id, CRYPTO_CHAIN_ID_LEN);
    } else if (rc != MDB_SUCCESS || v.mv_size != CRYPTO_CHAIN_ID_LEN) {
        set_why(why, rc, "%s: the meta database has no valid chain id", s->path);
        err = STORE_ERR_NOT_CHAIN_STORE;
        goto out;
    } else {
        memcpy(s->chain_id, v.mv_data, CRYPTO_CHAIN_ID_LEN);
        if (chain_id != NULL && memcmp(s->chain_id, chain_id, CRYPTO_CHAIN_ID_LEN) != 0) {
            char have[2 * CRYPTO_CHAIN_ID_LEN + 1], want[2 * CRYPTO_CHAIN_ID_LEN + 1];
            crypto_hex(s->chain_id, CRYPTO_CHAIN_ID_LEN, have);
            crypto_hex(chain_id, CRYPTO_CHAIN_ID_LEN, want);
            set_why(why, 0, "%s: holds chain %.16s..., this node's genesis is chain %.16s...", s->path, have,
                    want);
            err = STORE_ERR_FOREIGN_CHAIN;
            goto out;
        }
        k = str_key(KEY_FORMAT);
        rc = mdb_get(txn, s->meta, &k, &v);
        if (rc != MDB_SUCCESS || v.mv_size != 4) {
            set_why(why, rc, "%s: the meta database has no valid format version", s->path);
            err = STORE_ERR_NOT_CHAIN_STORE;
            goto out;
        }
        if (get_be32(v.mv_data) > CHAIN_STORE_FORMAT) {
            set_why(why, 0, "%s: format version %u, this evote reads up to %u", s->path, get_be32(v.mv_data),
                    CHAIN_STORE_FORMAT);
            err = STORE_ERR_FORMAT;
            goto out;
        }
    }
out:
    if (err != STORE_OK) {
        txn_end(s, txn, 0);
        return err;
    }
    /* Commit even a read-only transaction: that is what makes the database
     * handles opened in it usable afterwards. */
    rc = txn_end(s, txn, 1);
    if (rc != MDB_SUCCESS)
        return open_error(s->path, rc, why);
    return STORE_OK;
}

static store_err open_common(const char *dir, const uint8_t *chain_id, const chain_store_config *cfg,
                             int read_only, chain_store **out, store_error *why)
{
    chain_store *s = NULL;
    data_file_info info;
    char arrival[sizeof s->arrival] = "";
    int existing, rc, remove_seal = 0;
    unsigned flags = MDB_NOTLS;
    store_err err;

    if (why) {
        why->mdb_rc = 0;
        why->detail[0] = '\0';
    }
    if (out == NULL || dir == NULL || (!read_only && chain_id == NULL)) {
        set_why(why, EINVAL, "chain_store_open: NULL argument");
        return STORE_ERR_BAD_ARG;
    }
    *out = NULL;
    err = check_dir(dir, !read_only, why);
    if (err == STORE_OK)
        err = check_data_file(dir, read_only, &existing, &info, why);
    if (err == STORE_OK && existing && !read_only)
        err = check_arrival(dir, &info, 0, arrival, sizeof arrival, &remove_seal, why);
    if (err == STORE_OK)
        err = alloc_store(dir, read_only, &s, why);
    if (err != STORE_OK)
        return err;
    memcpy(s->arrival, arrival, sizeof arrival);

    s->map_max = cfg && cfg->map_size_max ? cfg->map_size_max : CHAIN_STORE_DEFAULT_MAX_MAP;
    s->map_size = cfg && cfg->map_size_initial ? cfg->map_size_initial : CHAIN_STORE_DEFAULT_MAP;
    if (s->map_size > s->map_max)
        s->map_size = s->map_max;
    if (existing) {
        /* Keep what earlier growth reached (LMDB itself raises the map to
         * the data size when that is larger). */
        uint64_t used = (info.last_page + 1) * (uint64_t)info.page_size;
        if (info.map_size > s->map_size && info.map_size <= s->map_max)
            s->map_size = (size_t)info.map_size;
        if (used > s->map_max)
            s->map_max = (size_t)used;
    }
    rc = mdb_env_create(&s->env);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_maxdbs(s->env, 8);
    if (rc == MDB_SUCCESS && !read_only)
        rc = mdb_env_set_mapsize(s->env, s->map_size);
    if (rc != MDB_SUCCESS) {
        err = open_error(dir, rc, why);
        goto fail;
    }
    if (read_only) /* 1: a copy, no lock file; 2: a live store, as a registered reader */
        flags |= MDB_RDONLY | (read_only == 1 ? MDB_NOLOCK : 0);
    rc = mdb_env_open(s->env, dir, flags, 0600);
    if (rc != MDB_SUCCESS) {
        err = open_error(dir, rc, why);
        goto fail;
    }
    if (!read_only) {
        /* Reader slots left by a process that died inside a read
         * transaction pin old pages forever: clear them. */
        int dead = 0;
        (void)mdb_reader_check(s->env, &dead);
    }
    {
        MDB_envinfo ei;
        mdb_env_info(s->env, &ei);
        s->map_size = ei.me_mapsize;
        if (s->map_max < s->map_size)
            s->map_max = s->map_size;
    }
    err = open_dbs(s, chain_id, !read_only, why);
    if (err != STORE_OK)
        goto fail;
    if (!read_only) {
        MDB_envinfo ei;
        mdb_env_info(s->env, &ei);
        id_file_write(dir, (uint64_t)ei.me_last_txnid);
    }
    if (remove_seal) { /* the file changes from now on */
        char file[PATH_MAX];
        snprintf(file, sizeof file, "%s/%s", dir, DATA_FILE_SEAL_NAME);
        if (unlink(file) != 0 && errno != ENOENT) {
            int e = errno;
            set_why(why, e, "%s: the copy is sound, but its seal cannot be removed: %s", file, strerror(e));
            err = STORE_ERR_IO;
            goto fail;
        }
    }
    *out = s;
    return STORE_OK;
fail:
    chain_store_destroy(&s);
    /* A copy that arrived (checked above: no lock.mdb) and could not be
     * opened is left as it came: without the lock.mdb LMDB just made, the
     * next open checks it again. */
    if (arrival[0] != '\0') {
        char lock[PATH_MAX];
        snprintf(lock, sizeof lock, "%s/lock.mdb", dir);
        (void)unlink(lock);
    }
    return err;
}

store_err chain_store_open(const char *dir, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], const chain_store_config *cfg,
                           chain_store **out, store_error *why)
{
    return open_common(dir, chain_id, cfg, 0, out, why);
}

store_err chain_store_open_readonly(const char *dir, const uint8_t *expect_chain_id, chain_store **out,
                                    store_error *why)
{
    return open_common(dir, expect_chain_id, NULL, 1, out, why);
}

void chain_store_destroy(chain_store **self)
{
    chain_store *s;
    if (self == NULL || *self == NULL)
        return;
    s = *self;
    if (s->env)
        mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->resize);
    free(s->path);
    free(s);
    *self = NULL;
}

const char *chain_store_path(const chain_store *self)
{
    return self->path;
}

void chain_store_explain(const chain_store *self, store_err err, char *buf, size_t len)
{
    if (buf == NULL || len == 0)
        return;
    snprintf(buf, len, "%s: %s", self ? self->path : "chain store", store_strerror(err));
}

void chain_store_chain_id(const chain_store *self, uint8_t out[CRYPTO_CHAIN_ID_LEN])
{
    memcpy(out, self->chain_id, CRYPTO_CHAIN_ID_LEN);
}

size_t chain_store_map_size(chain_store *self)
{
    size_t v;
    pthread_rwlock_rdlock(&self->resize);
    v = self->map_size;
    pthread_rwlock_unlock(&self->resize);
    return v;
}

store_err chain_store_usage(chain_store *self, uint64_t *used, uint64_t *file)
{
    MDB_envinfo info;
    MDB_stat st;
    struct stat fs;
    char path[PATH_MAX];
    int rc;

    pthread_rwlock_rdlock(&self->resize);
    rc = mdb_env_info(self->env, &info);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_stat(self->env, &st);
    pthread_rwlock_unlock(&self->resize);
    if (rc != MDB_SUCCESS)
        return STORE_ERR_IO;
    *used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    if ((size_t)snprintf(path, sizeof path, "%s/data.mdb", self->path) >= sizeof path || stat(path, &fs) != 0)
        return STORE_ERR_IO;
    *file = (uint64_t)fs.st_size;
    return STORE_OK;
}

/* ------------------------------------------------------------- append */

typedef struct {
    uint64_t height;
    uint8_t hash[CRYPTO_HASH_LEN];
    uint64_t timestamp_ms;
} tip_t;

static int read_tip(const chain_store *s, MDB_txn *txn, tip_t *t)
{
    MDB_val k = str_key(KEY_TIP), v;
    int rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        t->height = 0;
        memcpy(t->hash, s->chain_id, CRYPTO_HASH_LEN);
        t->timestamp_ms = 0;
        return MDB_SUCCESS;
    }
    if (rc != MDB_SUCCESS)
        return rc;
    if (v.mv_size != TIP_LEN)
        return MDB_CORRUPTED;
    t->height = get_be64(v.mv_data);
    memcpy(t->hash, (const uint8_t *)v.mv_data + 8, CRYPTO_HASH_LEN);
    t->timestamp_ms = get_be64((const uint8_t *)v.mv_data + 8 + CRYPTO_HASH_LEN);
    return MDB_SUCCESS;
}

/* An append in progress. The hash checks (batch digest, tx_root,
 * results hash: ~1.3 ms for a 1000-transaction block, as long as the LMDB
 * work itself) run on a helper thread for large batches while this thread
 * fills the write transaction; the commit waits for their verdict. */
typedef struct {
    const chain_store_append_args *a;
    const Evote__V1__Block *blk;
    const Evote__V1__BlockHeader *h;
    const Evote__V1__CommitCertificate *cert;
    uint8_t hash[CRYPTO_HASH_LEN];
    uint32_t *order; /* transaction indexes sorted by id; NULL for 0 or 1 */
    pthread_t checker;
    int checker_running;
    store_err check_err;
} append_ctx;

/* Below this batch size the hash checks run inline: starting a thread
 * costs more than it saves. */
#define PARALLEL_CHECK_BYTES (64u * 1024u)

static int hash_eq(const ProtobufCBinaryData *b, const uint8_t *h)
{
    return b->len == CRYPTO_HASH_LEN && memcmp(b->data, h, CRYPTO_HASH_LEN) == 0;
}

static store_err check_state_keys(const chain_store *s, const chain_store_state_change *c, size_t n)
{
    size_t max = (size_t)mdb_env_get_maxkeysize(s->env);
    if (n > 0 && c == NULL)
        return STORE_ERR_BAD_ARG;
    for (size_t i = 0; i < n; i++) {
        if (c[i].key == NULL || c[i].key_len == 0 || c[i].key_len > max)
            return STORE_ERR_KEY_SIZE;
        if (!c[i].del && c[i].value == NULL && c[i].value_len != 0)
            return STORE_ERR_BAD_ARG;
    }
    return STORE_OK;
}

static int put_state(const chain_store *s, MDB_txn *txn, const chain_store_state_change *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        MDB_val k = val_of(c[i].key, c[i].key_len), v;
        int rc;
        if (c[i].del) {
            rc = mdb_del(txn, s->state, &k, NULL);
            if (rc == MDB_NOTFOUND)
                rc = MDB_SUCCESS;
        } else {
            v = val_of(c[i].value, c[i].value_len);
            rc = mdb_put(txn, s->state, &k, &v, 0);
        }
        if (rc != MDB_SUCCESS)
            return rc;
    }
    return MDB_SUCCESS;
}

/* Pending batches at or below the height just appended are no longer
 * needed (the block holds its batch; lower seqs were decided otherwise). */
static int prune_pending(chain_store *s, MDB_txn *txn, uint64_t height)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, s->meta, &cur);
    if (rc != MDB_SUCCESS)
        return rc;
    k = val_of(PENDING_PREFIX, PENDING_PREFIX_LEN);
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == MDB_SUCCESS && k.mv_size == PENDING_KEY_LEN &&
           memcmp(k.mv_data, PENDING_PREFIX, PENDING_PREFIX_LEN) == 0 &&
           get_be64((const uint8_t *)k.mv_data + PENDING_PREFIX_LEN) <= height) {
        if ((rc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
        if (rc == MDB_NOTFOUND || rc == EINVAL) /* deleted the last one */
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == MDB_SUCCESS ? MDB_SUCCESS : rc;
}

static store_err append_puts(chain_store *s, MDB_txn *txn, append_ctx *c, int *rc)
{
    const chain_store_append_args *a = c->a;
    uint8_t hkey[8], tipv[TIP_LEN], loc[TXLOC_LEN];
    MDB_val k, v;
    tip_t tip;

    if ((*rc = read_tip(s, txn, &tip)) != MDB_SUCCESS)
        return from_mdb(s, *rc);
    if (c->h->height != tip.height + 1)
        return STORE_ERR_HEIGHT;
    if (!hash_eq(&c->h->prev_hash, tip.hash))
        return STORE_ERR_PREV_HASH;
    if (c->h->timestamp_ms < tip.timestamp_ms)
        return STORE_ERR_TIME_BACKWARDS;

    put_be64(hkey, c->h->height);
    k = val_of(hkey, sizeof hkey);
    v = val_of(a->block, a->block_len);
    if ((*rc = mdb_put(txn, s->blocks, &k, &v, MDB_APPEND)) != MDB_SUCCESS)
        return from_mdb(s, *rc);
    v = val_of(a->cert, a->cert_len);
    if ((*rc = mdb_put(txn, s->certs, &k, &v, MDB_APPEND)) != MDB_SUCCESS)
        return from_mdb(s, *rc);
    k = val_of(c->hash, CRYPTO_HASH_LEN);
    v = val_of(hkey, sizeof hkey);
    if ((*rc = mdb_put(txn, s->hashes, &k, &v, MDB_NOOVERWRITE)) != MDB_SUCCESS)
        return *rc == MDB_KEYEXIST ? STORE_ERR_CORRUPT : from_mdb(s, *rc);

    /* Ids go in in key order (c->order), through one cursor: each put
     * lands next to the previous one instead of descending the tree from a
     * random place, which is most of LMDB's work for a large block. */
    if (a->n_txs > 0) {
        MDB_cursor *cur;
        if ((*rc = mdb_cursor_open(txn, s->txs, &cur)) != MDB_SUCCESS)
            return from_mdb(s, *rc);
        put_be64(loc, c->h->height);
        for (size_t j = 0; j < a->n_txs; j++) {
            uint32_t i = c->order ? c->order[j] : (uint32_t)j;
            /* A transaction executed as a duplicate is in the block (the
             * batch carried it) but the index keeps its first, effective
             * occurrence. */
            if (a->tx_results[i] == EVOTE__V1__TX_RESULT__TX_RESULT_DUPLICATE)
                continue;
            put_be32(loc + 8, i);
            put_be32(loc + 12, (uint32_t)a->tx_results[i]);
            k = val_of(a->tx_ids[i], CRYPTO_HASH_LEN);
            v = val_of(loc, sizeof loc);
            *rc = mdb_cursor_put(cur, &k, &v, MDB_NOOVERWRITE);
            if (*rc != MDB_SUCCESS)
                break;
        }
        mdb_cursor_close(cur);
        if (*rc == MDB_KEYEXIST) {
            *rc = MDB_SUCCESS;
            return STORE_ERR_DUPLICATE_TX;
        }
        if (*rc != MDB_SUCCESS)
            return from_mdb(s, *rc);
    }
    if ((*rc = put_state(s, txn, a->state, a->n_state)) != MDB_SUCCESS)
        return from_mdb(s, *rc);
    if (a->consensus_meta != NULL) {
        k = str_key(KEY_CONSENSUS);
        v = val_of(a->consensus_meta, a->consensus_meta_len);
        if ((*rc = mdb_put(txn, s->meta, &k, &v, 0)) != MDB_SUCCESS)
            return from_mdb(s, *rc);
    }
    if ((*rc = prune_pending(s, txn, c->h->height)) != MDB_SUCCESS)
        return from_mdb(s, *rc);
    put_be64(tipv, c->h->height);
    memcpy(tipv + 8, c->hash, CRYPTO_HASH_LEN);
    put_be64(tipv + 8 + CRYPTO_HASH_LEN, c->h->timestamp_ms);
    k = str_key(KEY_TIP);
    v = val_of(tipv, sizeof tipv);
    if ((*rc = mdb_put(txn, s->meta, &k, &v, 0)) != MDB_SUCCESS)
        return from_mdb(s, *rc);
    return STORE_OK;
}

static store_err finish_checks(append_ctx *c);

/* The write transaction of an append: the puts, then the verdict of the
 * hash checks; any error aborts the transaction. */
static store_err append_write(chain_store *s, MDB_txn *txn, void *vctx, int *rc)
{
    append_ctx *c = vctx;
    store_err err = append_puts(s, txn, c, rc);
    store_err checked = finish_checks(c);
    if (checked != STORE_OK) {
        *rc = MDB_SUCCESS; /* not an LMDB failure: no retry */
        return checked;
    }
    return err;
}

/* The checks that hash: batch digest (and the certificate's), the Merkle
 * root of the given ids against tx_root, the results hash. The ids are bound
 * to the header by its Merkle root rather than by hashing every transaction
 * again (that doubled the cost of a 1000-transaction append): ids that are
 * not the batch's cannot give the root ledger_block_assemble computed from
 * the batch. */
static store_err hash_checks(const append_ctx *c)
{
    const chain_store_append_args *a = c->a;
    uint8_t digest[CRYPTO_HASH_LEN], root[CRYPTO_HASH_LEN], rhash[CRYPTO_HASH_LEN];

    crypto_tagged_hash(CRYPTO_TAG_BATCH, c->blk->batch.data, c->blk->batch.len, digest);
    if (!hash_eq(&c->h->batch_digest, digest))
        return STORE_ERR_BATCH_DIGEST;
    if (!hash_eq(&c->cert->digest, digest))
        return STORE_ERR_CERT_DIGEST;
    crypto_merkle_root(a->n_txs ? a->tx_ids : NULL, a->n_txs, root);
    if (!hash_eq(&c->h->tx_root, root))
        return STORE_ERR_TX_MISMATCH;
    if (ledger_results_hash(c->blk->results, c->blk->n_results, rhash) != LEDGER_OK)
        return STORE_ERR_NOMEM;
    if (!hash_eq(&c->h->results_hash, rhash))
        return STORE_ERR_TX_MISMATCH;
    return STORE_OK;
}

static void *checker_main(void *arg)
{
    append_ctx *c = arg;
    c->check_err = hash_checks(c);
    return NULL;
}

/* Waits for the helper thread, if one runs. Returns: the hash checks'
 * verdict. */
static store_err finish_checks(append_ctx *c)
{
    if (c->checker_running) {
        pthread_join(c->checker, NULL);
        c->checker_running = 0;
    }
    return c->check_err;
}

/* Everything that can be checked from the arguments alone without hashing. */
static store_err quick_checks(const chain_store *s, const chain_store_append_args *a,
                              const Evote__V1__Block *blk, const Evote__V1__BlockHeader *h,
                              const Evote__V1__Batch *batch, const Evote__V1__CommitCertificate *cert)
{
    if (!hash_eq(&h->chain_id, s->chain_id) || !hash_eq(&batch->chain_id, s->chain_id))
        return STORE_ERR_WRONG_CHAIN;
    if (batch->seq != h->height)
        return STORE_ERR_HEIGHT;
    if (h->tx_count != a->n_txs || blk->n_results != a->n_txs || batch->n_txs != a->n_txs)
        return STORE_ERR_TX_COUNT;
    if (a->n_txs > 0 && (a->tx_ids == NULL || a->tx_results == NULL))
        return STORE_ERR_BAD_ARG;
    for (size_t i = 0; i < a->n_txs; i++)
        if (a->tx_results[i] != blk->results[i])
            return STORE_ERR_TX_MISMATCH;
    if (cert->seq != h->height)
        return STORE_ERR_CERT_SEQ;
    return check_state_keys(s, a->state, a->n_state);
}

static int cmp_tx_order(const void *x, const void *y, void *ids)
{
    const uint8_t(*id)[CRYPTO_HASH_LEN] = ids;
    return memcmp(id[*(const uint32_t *)x], id[*(const uint32_t *)y], CRYPTO_HASH_LEN);
}

store_err chain_store_append(chain_store *self, const chain_store_append_args *a)
{
    Evote__V1__Block *blk = NULL;
    Evote__V1__BlockHeader *h = NULL;
    Evote__V1__Batch *batch = NULL;
    Evote__V1__CommitCertificate *cert = NULL;
    append_ctx c;
    store_err err;

    memset(&c, 0, sizeof c);
    if (self == NULL || a == NULL || a->block == NULL || a->cert == NULL)
        return STORE_ERR_BAD_ARG;
    if (self->read_only)
        return STORE_ERR_READ_ONLY;
    blk = evote__v1__block__unpack(NULL, a->block_len, a->block);
    if (blk != NULL)
        h = evote__v1__block_header__unpack(NULL, blk->header.len, blk->header.data);
    if (h != NULL)
        batch = evote__v1__batch__unpack(NULL, blk->batch.len, blk->batch.data);
    if (batch == NULL) {
        err = STORE_ERR_BLOCK_MALFORMED;
        goto out;
    }
    cert = evote__v1__commit_certificate__unpack(NULL, a->cert_len, a->cert);
    if (cert == NULL) {
        err = STORE_ERR_CERT_MALFORMED;
        goto out;
    }
    if (a->consensus_meta != NULL) {
        Evote__V1__ConsensusMeta *m =
            evote__v1__consensus_meta__unpack(NULL, a->consensus_meta_len, a->consensus_meta);
        if (m == NULL) {
            err = STORE_ERR_META_MALFORMED;
            goto out;
        }
        evote__v1__consensus_meta__free_unpacked(m, NULL);
    }
    err = quick_checks(self, a, blk, h, batch, cert);
    if (err != STORE_OK)
        goto out;
    if (a->n_txs > 1) {
        if (a->n_txs > UINT32_MAX || (c.order = malloc(a->n_txs * sizeof *c.order)) == NULL) {
            err = STORE_ERR_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < a->n_txs; i++)
            c.order[i] = (uint32_t)i;
        qsort_r(c.order, a->n_txs, sizeof *c.order, cmp_tx_order, (void *)a->tx_ids);
    }
    c.a = a;
    c.blk = blk;
    c.h = h;
    c.cert = cert;
    crypto_tagged_hash(CRYPTO_TAG_BLOCK, blk->header.data, blk->header.len, c.hash);
    if (blk->batch.len >= PARALLEL_CHECK_BYTES && pthread_create(&c.checker, NULL, checker_main, &c) == 0)
        c.checker_running = 1;
    else if ((err = hash_checks(&c)) != STORE_OK)
        goto out;
    err = write_txn(self, append_write, &c);
    /* The verdict of the hash checks wins over a later error (a refusal
     * names the first thing wrong with the block itself). */
    if (finish_checks(&c) != STORE_OK)
        err = c.check_err;
out:
    free(c.order);
    if (cert)
        evote__v1__commit_certificate__free_unpacked(cert, NULL);
    if (batch)
        evote__v1__batch__free_unpacked(batch, NULL);
    if (h)
        evote__v1__block_header__free_unpacked(h, NULL);
    if (blk)
        evote__v1__block__free_unpacked(blk, NULL);
    return err;
}

/* ------------------------------------------------------ other writes */

typedef struct {
    const uint8_t *bytes;
    size_t len;
} bytes_ctx;

static store_err meta_write(chain_store *s, MDB_txn *txn, void *vctx, int *rc)
{
    bytes_ctx *c = vctx;
    MDB_val k = str_key(KEY_CONSENSUS), v = val_of(c->bytes, c->len);
    *rc = mdb_put(txn, s->meta, &k, &v, 0);
    return from_mdb(s, *rc);
}

static store_err new_view_write(chain_store *s, MDB_txn *txn, void *vctx, int *rc)
{
    bytes_ctx *c = vctx;
    MDB_val k = str_key(KEY_NEW_VIEW), v = val_of(c->bytes, c->len);
    *rc = mdb_put(txn, s->meta, &k, &v, 0);
    return from_mdb(s, *rc);
}

store_err chain_store_put_new_view(chain_store *self, const uint8_t *msg, size_t len)
{
    bytes_ctx c = {msg, len};
    Evote__V1__PeerMessage *pm;

    if (self == NULL || msg == NULL || len == 0)
        return STORE_ERR_BAD_ARG;
    if (self->read_only)
        return STORE_ERR_READ_ONLY;
    pm = evote__v1__peer_message__unpack(NULL, len, msg);
    if (pm == NULL)
        return STORE_ERR_META_MALFORMED;
    evote__v1__peer_message__free_unpacked(pm, NULL);
    return write_txn(self, new_view_write, &c);
}

typedef struct {
    uint64_t seq;
    const uint8_t *proof;
    size_t len;
} checkpoint_ctx;

static store_err checkpoint_write(chain_store *s, MDB_txn *txn, void *vctx, int *rc)
{
    checkpoint_ctx *c = vctx;
    uint8_t key[CHECKPOINT_KEY_LEN];
    MDB_val k, v = val_of(c->proof, c->len);
    memcpy(key, CHECKPOINT_PREFIX, CHECKPOINT_PREFIX_LEN);
    put_be64(key + CHECKPOINT_PREFIX_LEN, c->seq);
    k = val_of(key, sizeof key);
    *rc = mdb_put(txn, s->meta, &k, &v, 0);
    return from_mdb(s, *rc);
}

store_err chain_store_put_checkpoint(chain_store *self, uint64_t seq, const uint8_t *proof, size_t len)
{
    checkpoint_ctx c = {seq, proof, len};
    if (self == NULL || proof == NULL || len == 0)
        return STORE_ERR_BAD_ARG;
    if (self->read_only)
        return STORE_ERR_READ_ONLY;
    return write_txn(self, checkpoint_write, &c);
}

store_err chain_store_find_checkpoint(chain_store *self, uint64_t at_least, uint64_t *seq, uint8_t **proof,
                                      size_t *len)
{
    uint8_t key[CHECKPOINT_KEY_LEN];
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    store_err err = STORE_OK;
    int rc;

    if (self == NULL || seq == NULL || proof == NULL || len == NULL)
        return STORE_ERR_BAD_ARG;
    *proof = NULL;
    *len = 0;
    memcpy(key, CHECKPOINT_PREFIX, CHECKPOINT_PREFIX_LEN);
    put_be64(key + CHECKPOINT_PREFIX_LEN, at_least);
    k = val_of(key, sizeof key);
    if ((rc = txn_begin(self, MDB_RDONLY, &txn)) != MDB_SUCCESS)
        return from_mdb(self, rc);
    rc = mdb_cursor_open(txn, self->meta, &cur);
    if (rc == MDB_SUCCESS) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        mdb_cursor_close(cur);
    }
    if (rc == MDB_SUCCESS && (k.mv_size != CHECKPOINT_KEY_LEN ||
                              memcmp(k.mv_data, CHECKPOINT_PREFIX, CHECKPOINT_PREFIX_LEN) != 0))
        rc = MDB_NOTFOUND; /* past the checkpoints: none at or above */
    if (rc != MDB_SUCCESS) {
        err = from_mdb(self, rc);
    } else if ((*proof = malloc(v.mv_size ? v.mv_size : 1)) == NULL) {
        err = STORE_ERR_NOMEM;
    } else {
        memcpy(*proof, v.mv_data, v.mv_size);
        *len = v.mv_size;
        *seq = get_be64((const uint8_t *)k.mv_data + CHECKPOINT_PREFIX_LEN);
    }
    txn_end(self, txn, 0);
    return err;
}

store_err chain_store_put_consensus_meta(chain_store *self, const uint8_t *meta, size_t len)
{
    Evote__V1__ConsensusMeta *m;
    bytes_ctx c = {meta, len};

    if (self == NULL || (meta == NULL && len != 0))
        return STORE_ERR_BAD_ARG;
    if (self->read_only)
        return STORE_ERR_READ_ONLY;
    m = evote__v1__consensus_meta__unpack(NULL, len, meta);
    if (m == NULL)
        return STORE_ERR_META_MALFORMED;
    evote__v1__consensus_meta__free_unpacked(m, NULL);
    return write_txn(self, meta_write, &c);
}

typedef struct {
    const uint8_t *meta;
    size_t meta_len;
    const chain_store_pending_batch *b;
    size_t n;
} consensus_ctx;

static void pending_key(uint8_t key[PENDING_KEY_LEN], uint64_t seq, const uint8_t *digest)
{
    memcpy(key, PENDING_PREFIX, PENDING_PREFIX_LEN);
    put_be64(key + PENDING_PREFIX_LEN, seq);
    memcpy(key + PENDING_PREFIX_LEN + 8, digest, CRYPTO_HASH_LEN);
}

static store_err consensus_write(chain_store *s, MDB_txn *txn, void *vctx, int *rc)
{
    consensus_ctx *c = vctx;
    MDB_val k, v;
    if (c->meta != NULL) {
        k = str_key(KEY_CONSENSUS);
        v = val_of(c->meta, c->meta_len);
        if ((*rc = mdb_put(txn, s->meta, &k, &v, 0)) != MDB_SUCCESS)
            return from_mdb(s, *rc);
    }
    for (size_t i = 0; i < c->n; i++) {
        uint8_t key[PENDING_KEY_LEN];
        pending_key(key, c->b[i].seq, c->b[i].digest);
        k = val_of(key, sizeof key);
        v = val_of(c->b[i].batch, c->b[i].len);
        if ((*rc = mdb_put(txn, s->meta, &k, &v, 0)) != MDB_SUCCESS)
            return from_mdb(s, *rc);
    }
    return STORE_OK;
}

store_err chain_store_put_consensus(chain_store *self, const uint8_t *meta, size_t meta_len,
                                    const chain_store_pending_batch *batches, size_t n)
{
    consensus_ctx c = {meta, meta_len, batches, n};

    if (self == NULL || (n > 0 && batches == NULL))
        return STORE_ERR_BAD_ARG;
    if (self->read_only)
        return STORE_ERR_READ_ONLY;
    for (size_t i = 0; i < n; i++)
        if (batches[i].digest == NULL || (batches[i].batch == NULL && batches[i].len != 0))
            return STORE_ERR_BAD_ARG;
    if (meta != NULL) {
        Evote__V1__ConsensusMeta *m = evote__v1__consensus_meta__unpack(NULL, meta_len, meta);
        if (m == NULL)
            return STORE_ERR_META_MALFORMED;
        evote__v1__consensus_meta__free_unpacked(m, NULL);
    }
    if (meta == NULL && n == 0)
        return STORE_OK;
    return write_txn(self, consensus_write, &c);
}

typedef struct {
    const chain_store_state_change *c;
    size_t n;
} state_ctx;

static store_err state_write(chain_store *s, MDB_txn *txn, void *vctx, int *rc)
{
    state_ctx *c = vctx;
    *rc = put_state(s, txn, c->c, c->n);
    return from_mdb(s, *rc);
}

store_err chain_store_put_state(chain_store *self, const chain_store_state_change *changes, size_t n)
{
    state_ctx c = {changes, n};
    store_err err;
    if (self == NULL)
        return STORE_ERR_BAD_ARG;
    if (self->read_only)
        return STORE_ERR_READ_ONLY;
    if ((err = check_state_keys(self, changes, n)) != STORE_OK)
        return err;
    return write_txn(self, state_write, &c);
}

/* --------------------------------------------------------------- reads */

/* Copies one value out of a read transaction. */
static store_err get_copy(chain_store *s, MDB_dbi dbi, MDB_val k, uint8_t **out, size_t *len)
{
    MDB_txn *txn;
    MDB_val v;
    int rc;
    store_err err = STORE_OK;

    *out = NULL;
    *len = 0;
    if ((rc = txn_begin(s, MDB_RDONLY, &txn)) != MDB_SUCCESS)
        return from_mdb(s, rc);
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc != MDB_SUCCESS) {
        err = from_mdb(s, rc);
    } else if (v.mv_size > 0) {
        *out = malloc(v.mv_size);
        if (*out == NULL)
            err = STORE_ERR_NOMEM;
        else {
            memcpy(*out, v.mv_data, v.mv_size);
            *len = v.mv_size;
        }
    }
    txn_end(s, txn, 0);
    return err;
}

store_err chain_store_get_consensus_meta(chain_store *self, uint8_t **meta, size_t *len)
{
    if (self == NULL || meta == NULL || len == NULL)
        return STORE_ERR_BAD_ARG;
    return get_copy(self, self->meta, str_key(KEY_CONSENSUS), meta, len);
}

store_err chain_store_get_new_view(chain_store *self, uint8_t **msg, size_t *len)
{
    if (self == NULL || msg == NULL || len == NULL)
        return STORE_ERR_BAD_ARG;
    return get_copy(self, self->meta, str_key(KEY_NEW_VIEW), msg, len);
}

store_err chain_store_get_pending_batch(chain_store *self, uint64_t seq, const uint8_t digest[CRYPTO_HASH_LEN],
                                        uint8_t **batch, size_t *len)
{
    uint8_t key[PENDING_KEY_LEN];
    if (self == NULL || digest == NULL || batch == NULL || len == NULL)
        return STORE_ERR_BAD_ARG;
    pending_key(key, seq, digest);
    return get_copy(self, self->meta, val_of(key, sizeof key), batch, len);
}

store_err chain_store_tip(chain_store *self, uint64_t *height, uint8_t hash[CRYPTO_HASH_LEN],
                          uint64_t *timestamp_ms)
{
    MDB_txn *txn;
    tip_t t;
    int rc;

    if (self == NULL)
        return STORE_ERR_BAD_ARG;
    if ((rc = txn_begin(self, MDB_RDONLY, &txn)) != MDB_SUCCESS)
        return from_mdb(self, rc);
    rc = read_tip(self, txn, &t);
    txn_end(self, txn, 0);
    if (rc != MDB_SUCCESS)
        return from_mdb(self, rc);
    if (height)
        *height = t.height;
    if (hash)
        memcpy(hash, t.hash, CRYPTO_HASH_LEN);
    if (timestamp_ms)
        *timestamp_ms = t.timestamp_ms;
    return STORE_OK;
}

/* The exact header bytes of a stored Block: its field 1, which packing
 * puts first. Returns: 1, or 0 when the bytes do not start that way. */
static int block_header_of(const uint8_t *b, size_t len, const uint8_t **hdr, size_t *hlen)
{
    uint64_t v = 0;
    size_t i = 1;
    if (len < 2 || b[0] != 0x0a) /* field 1, length-delimited */
        return 0;
    for (int shift = 0; i < len && shift < 64; shift += 7) {
        v |= (uint64_t)(b[i] & 0x7f) << shift;
        if ((b[i++] & 0x80) == 0) {
            if (v > len - i)
                return 0;
            *hdr = b + i;
            *hlen = (size_t)v;
            return 1;
        }
    }
    return 0;
}

store_err chain_store_get_header(chain_store *self, uint64_t height, uint8_t **header, size_t *len)
{
    uint8_t k[8];
    const uint8_t *h;
    size_t hlen;
    MDB_txn *txn;
    MDB_val key, v;
    store_err err = STORE_OK;
    int rc;

    if (self == NULL || header == NULL || len == NULL)
        return STORE_ERR_BAD_ARG;
    *header = NULL;
    *len = 0;
    put_be64(k, height);
    key = val_of(k, sizeof k);
    if ((rc = txn_begin(self, MDB_RDONLY, &txn)) != MDB_SUCCESS)
        return from_mdb(self, rc);
    rc = mdb_get(txn, self->blocks, &key, &v);
    if (rc != MDB_SUCCESS)
        err = from_mdb(self, rc);
    else if (!block_header_of(v.mv_data, v.mv_size, &h, &hlen))
        err = STORE_ERR_CORRUPT;
    else if ((*header = malloc(hlen ? hlen : 1)) == NULL)
        err = STORE_ERR_NOMEM;
    else {
        memcpy(*header, h, hlen);
        *len = hlen;
    }
    txn_end(self, txn, 0);
    return err;
}

store_err chain_store_get_block(chain_store *self, uint64_t height, uint8_t **block, size_t *len)
{
    uint8_t k[8];
    if (self == NULL || block == NULL || len == NULL)
        return STORE_ERR_BAD_ARG;
    put_be64(k, height);
    return get_copy(self, self->blocks, val_of(k, sizeof k), block, len);
}

store_err chain_store_get_cert(chain_store *self, uint64_t height, uint8_t **cert, size_t *len)
{
    uint8_t k[8];
    if (self == NULL || cert == NULL || len == NULL)
        return STORE_ERR_BAD_ARG;
    put_be64(k, height);
    return get_copy(self, self->certs, val_of(k, sizeof k), cert, len);
}

store_err chain_store_get_block_by_hash(chain_store *self, const uint8_t hash[CRYPTO_HASH_LEN], uint8_t **block,
                                        size_t *len, uint64_t *height)
{
    MDB_txn *txn;
    MDB_val k, v;
    int rc;
    store_err err = STORE_OK;

    if (self == NULL || hash == NULL || block == NULL || len == NULL)
        return STORE_ERR_BAD_ARG;
    *block = NULL;
    *len = 0;
    if ((rc = txn_begin(self, MDB_RDONLY, &txn)) != MDB_SUCCESS)
        return from_mdb(self, rc);
    k = val_of(hash, CRYPTO_HASH_LEN);
    rc = mdb_get(txn, self->hashes, &k, &v);
    if (rc == MDB_SUCCESS && v.mv_size != 8)
        rc = MDB_CORRUPTED;
    if (rc == MDB_SUCCESS) {
        uint64_t hgt = get_be64(v.mv_data);
        k = v; /* the height key, in the map, valid in this txn */
        rc = mdb_get(txn, self->blocks, &k, &v);
        if (rc == MDB_NOTFOUND)
            rc = MDB_CORRUPTED; /* indexed but missing */
        if (rc == MDB_SUCCESS) {
            *block = malloc(v.mv_size ? v.mv_size : 1);
            if (*block == NULL) {
                err = STORE_ERR_NOMEM;
            } else {
                memcpy(*block, v.mv_data, v.mv_size);
                *len = v.mv_size;
                if (height)
                    *height = hgt;
            }
        }
    }
    if (rc != MDB_SUCCESS)
        err = from_mdb(self, rc);
    txn_end(self, txn, 0);
    return err;
}

store_err chain_store_find_tx(chain_store *self, const uint8_t id[CRYPTO_HASH_LEN], uint64_t *height,
                              uint32_t *index, Evote__V1__TxResult *result)
{
    MDB_txn *txn;
    MDB_val k, v;
    int rc;

    if (self == NULL || id == NULL)
        return STORE_ERR_BAD_ARG;
    if ((rc = txn_begin(self, MDB_RDONLY, &txn)) != MDB_SUCCESS)
        return from_mdb(self, rc);
    k = val_of(id, CRYPTO_HASH_LEN);
    rc = mdb_get(txn, self->txs, &k, &v);
    if (rc == MDB_SUCCESS && v.mv_size != TXLOC_LEN)
        rc = MDB_CORRUPTED;
    if (rc == MDB_SUCCESS) {
        const uint8_t *p = v.mv_data;
        if (height)
            *height = get_be64(p);
        if (index)
            *index = get_be32(p + 8);
        if (result)
            *result = (Evote__V1__TxResult)get_be32(p + 12);
    }
    txn_end(self, txn, 0);
    return from_mdb(self, rc);
}

store_err chain_store_get_state(chain_store *self, const uint8_t *key, size_t key_len, uint8_t **value,
                                size_t *len)
{
    if (self == NULL || key == NULL || key_len == 0 || value == NULL || len == NULL)
        return STORE_ERR_BAD_ARG;
    if (key_len > (size_t)mdb_env_get_maxkeysize(self->env))
        return STORE_ERR_KEY_SIZE;
    return get_copy(self, self->state, val_of(key, key_len), value, len);
}

store_err chain_store_iterate(chain_store *self, uint64_t from_height, chain_store_iter_fn fn, void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_val k, v, cv;
    uint8_t start[8];
    int rc;

    if (self == NULL || fn == NULL)
        return STORE_ERR_BAD_ARG;
    if ((rc = txn_begin(self, MDB_RDONLY, &txn)) != MDB_SUCCESS)
        return from_mdb(self, rc);
    rc = mdb_cursor_open(txn, self->blocks, &cur);
    put_be64(start, from_height);
    k = val_of(start, sizeof start);
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == MDB_SUCCESS) {
        if (k.mv_size != 8) {
            rc = MDB_CORRUPTED;
            break;
        }
        rc = mdb_get(txn, self->certs, &k, &cv);
        if (rc == MDB_NOTFOUND)
            rc = MDB_CORRUPTED; /* a block without its certificate */
        if (rc != MDB_SUCCESS)
            break;
        if (fn(ctx, get_be64(k.mv_data), v.mv_data, v.mv_size, cv.mv_data, cv.mv_size) != 0)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND)
        rc = MDB_SUCCESS;
    if (cur)
        mdb_cursor_close(cur);
    txn_end(self, txn, 0);
    return from_mdb(self, rc);
}

/* ------------------------------------------------------------ snapshot */

static int fsync_path(const char *path, int dir)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    int rc;
    if (fd < 0)
        return errno;
    rc = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

store_err chain_store_snapshot(chain_store *self, const char *dir)
{
    char file[PATH_MAX];
    int rc;
    store_err err;

    if (self == NULL || dir == NULL)
        return STORE_ERR_BAD_ARG;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return errno == ENOSPC || errno == EDQUOT ? STORE_ERR_DISK_FULL : STORE_ERR_SNAPSHOT_DIR;
    if (!dir_is_empty(dir))
        return STORE_ERR_SNAPSHOT_DIR;
    if ((size_t)snprintf(file, sizeof file, "%s/data.mdb", dir) >= sizeof file)
        return STORE_ERR_SNAPSHOT_DIR;
    /* The copy runs its own read transaction: hold `resize` shared so the
     * map does not move under it. */
    pthread_rwlock_rdlock(&self->resize);
    rc = mdb_env_copy2(self->env, dir, MDB_CP_COMPACT);
    pthread_rwlock_unlock(&self->resize);
    if (rc == MDB_SUCCESS)
        rc = fsync_path(file, 0);
    if (rc == MDB_SUCCESS)
        rc = fsync_path(dir, 1);
    if (rc == MDB_SUCCESS)
        return STORE_OK;
    err = from_mdb(self, rc);
    unlink(file); /* never leave a partial copy that looks like a store */
    return err == STORE_ERR_NOT_FOUND ? STORE_ERR_SNAPSHOT_DIR : err;
}

store_err chain_store_snapshot_dir(const char *data_dir, const char *out_dir, store_error *why)
{
    chain_store *s = NULL;
    store_err err;

    if (data_dir == NULL || out_dir == NULL) {
        set_why(why, EINVAL, "chain_store_snapshot_dir: NULL argument");
        return STORE_ERR_BAD_ARG;
    }
    err = open_common(data_dir, NULL, NULL, 2, &s, why);
    if (err != STORE_OK)
        return err;
    /* The node may grow its map while we copy: a read-only reader then gets
     * MDB_MAP_RESIZED and must adopt the new size before trying again. */
    for (int attempt = 0;; attempt++) {
        err = chain_store_snapshot(s, out_dir);
        if (err != STORE_ERR_LMDB || attempt == 5)
            break;
        if (mdb_env_set_mapsize(s->env, 0) != MDB_SUCCESS)
            break;
    }
    if (err != STORE_OK)
        set_why(why, 0, "%s -> %s: %s", data_dir, out_dir, store_strerror(err));
    chain_store_destroy(&s);
    return err;
}

store_err chain_store_check_dir(const char *data_dir, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN], uint64_t *height,
                                char *note, size_t note_len, store_error *why)
{
    chain_store *s = NULL;
    data_file_info info;
    char lock[PATH_MAX];
    int existing, live;
    store_err err;

    if (why) {
        why->mdb_rc = 0;
        why->detail[0] = '\0';
    }
    if (data_dir == NULL || chain_id == NULL || height == NULL || note == NULL || note_len == 0) {
        set_why(why, EINVAL, "chain_store_check_dir: NULL argument");
        return STORE_ERR_BAD_ARG;
    }
    *height = 0;
    note[0] = '\0';
    err = check_dir(data_dir, 0, why);
    if (err == STORE_OK)
        err = check_data_file(data_dir, 1, &existing, &info, why);
    if (err != STORE_OK)
        return err;
    if ((size_t)snprintf(lock, sizeof lock, "%s/lock.mdb", data_dir) >= sizeof lock) {
        set_why(why, ENAMETOOLONG, "%s: path too long", data_dir);
        return STORE_ERR_IO;
    }
    live = access(lock, F_OK) == 0;
    err = check_arrival(data_dir, &info, 1, note, note_len, NULL, why); /* no-op for this directory's own */
    if (err != STORE_OK)
        return err;
    /* A store with its lock file (maybe in use by evoted right now) is read
     * as a registered reader; a copy without one, with no lock at all. */
    err = open_common(data_dir, chain_id, NULL, live ? 2 : 1, &s, why);
    if (err == STORE_OK) {
        err = chain_store_tip(s, height, NULL, NULL);
        if (err != STORE_OK)
            set_why(why, 0, "%s: the tip cannot be read: %s", data_dir, store_strerror(err));
        chain_store_destroy(&s);
    }
    return err;
}

store_err chain_store_iterate_state(chain_store *self, chain_store_state_fn fn, void *ctx)
{
    return chain_store_iterate_state_from(self, NULL, 0, fn, ctx);
}

store_err chain_store_iterate_state_from(chain_store *self, const uint8_t *from, size_t from_len,
                                         chain_store_state_fn fn, void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc;

    if (self == NULL || fn == NULL || (from == NULL && from_len != 0))
        return STORE_ERR_BAD_ARG;
    if ((rc = txn_begin(self, MDB_RDONLY, &txn)) != MDB_SUCCESS)
        return from_mdb(self, rc);
    rc = mdb_cursor_open(txn, self->state, &cur);
    k = val_of(from, from_len);
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_get(cur, &k, &v, from_len ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == MDB_SUCCESS) {
        if (fn(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size) != 0)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND)
        rc = MDB_SUCCESS;
    if (cur)
        mdb_cursor_close(cur);
    txn_end(self, txn, 0);
    return from_mdb(self, rc);
}

const char *chain_store_arrival(const chain_store *s)
{
    return s->arrival;
}
