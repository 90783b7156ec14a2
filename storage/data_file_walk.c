/* data_file_walk: a structural walk of a data.mdb (an auditor's snapshot, a
 * restored backup) before LMDB maps it. LMDB
 * trusts its file: a flipped byte in a node offset or a child page number
 * makes it read outside a page (a crash, or a wrong answer). The walk
 * follows the B-trees from the newest meta's roots (the free list, the main
 * tree and every named database in it) and checks every page it reaches —
 * the pages LMDB would read — so that LMDB only ever follows offsets and page
 * numbers that stay inside the file. Free pages are not read: they hold old
 * data (a copy made without compaction, such as plain mdb_copy, keeps them).
 *
 * Layout relied on (LMDB 0.9.x data format version 1, 64-bit, host byte
 * order; struct MDB_page and MDB_node of liblmdb's mdb.c; constants in
 * lmdb_layout.h): a page starts with pgno u64, pad u16, flags u16,
 * then lower u16 and upper u16 (an overflow page has pages u32 there). Flags:
 * P_BRANCH 0x01, P_LEAF 0x02, P_OVERFLOW 0x04, P_META 0x08, P_DIRTY 0x10,
 * P_LEAF2 0x20, P_SUBP 0x40, P_LOOSE 0x4000, P_KEEP 0x8000. A branch/leaf
 * page holds (lower − 16) / 2 u16 node offsets, each in [upper, page size);
 * a node is lo u16, hi u16, flags u16, ksize u16, key; a leaf node's data
 * size is lo | hi << 16 and its data follows the key (F_BIGDATA 0x01: a u64
 * overflow page number instead; F_SUBDATA 0x02: a 48-byte MDB_db); a branch
 * node's child page number is lo | hi << 16 | flags << 32.
 *
 * Beyond the layout, what LMDB acts on without checking, and evote never
 * writes: a leaf node's flags (F_DUPDATA or F_SUBDATA in a plain database
 * make LMDB use a sub-database cursor the database does not have: a write
 * through a null pointer, found by tests/fuzz/fuzz_snapshot) and a
 * database's own flags (MDB_DUPSORT and the like change how every page of
 * it is read). So: the free list has MDB_INTEGERKEY and plain leaves; the
 * main database no flags and only named-database records (F_SUBDATA, 48
 * bytes), each with no flags; a named database's leaves are plain or
 * F_BIGDATA.
 *
 * Beyond the trees, what LMDB trusts without checking: the page numbers in
 * the free list's records (its next write transaction hands them out again:
 * each must lie in the data, be named once, and not be a page a tree still
 * uses), and an F_BIGDATA value's size (LMDB reads that many bytes from the
 * overflow run's first page: the run must be that long, or it reads past
 * it, up to past the file's end: SIGBUS).
 *
 * What it cannot see: bytes of a page's unused area (between lower and
 * upper, or after an overflow value). A compacted copy (mdb_env_copy2
 * MDB_CP_COMPACT, mdb_copy -c) keeps stale bytes there — checked by
 * experiment on our snapshots: most pages have non-zero unused areas — so
 * a flip there changes no recorded fact and is not detected. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_file.h"
#include "lmdb_layout.h"

/* Which tree a page belongs to: what its leaf nodes may be. */
enum { TREE_FREE, TREE_MAIN, TREE_DATA };

static int page_bad(const uint8_t *p, uint32_t ps, uint64_t pgno, uint64_t last, int tree, uint64_t *skip,
                    char *why, size_t len)
{
    uint16_t flags = rd16(p + OFF_FLAGS), lower, upper;
    *skip = 1;
    if (rd64(p) != pgno) {
        snprintf(why, len, "page %llu says it is page %llu", (unsigned long long)pgno, (unsigned long long)rd64(p));
        return 1;
    }
    if (flags & P_OVERFLOW) {
        uint32_t pages;
        memcpy(&pages, p + 12, 4);
        if (pages == 0 || pgno + pages > last + 1) {
            snprintf(why, len, "overflow page %llu runs past the end of the data", (unsigned long long)pgno);
            return 1;
        }
        *skip = pages;
        return 0;
    }
    if (!(flags & (P_BRANCH | P_LEAF)) || (flags & (P_META | P_LEAF2))) {
        snprintf(why, len, "page %llu has unknown flags 0x%x", (unsigned long long)pgno, flags);
        return 1;
    }
    lower = rd16(p + 12);
    upper = rd16(p + 14);
    if (lower < PAGE_HDR || (lower & 1) || upper > ps || lower > upper) {
        snprintf(why, len, "page %llu has impossible bounds (%u, %u)", (unsigned long long)pgno, lower, upper);
        return 1;
    }
    for (unsigned k = 0; k < (unsigned)(lower - PAGE_HDR) / 2; k++) {
        uint16_t off = rd16(p + PAGE_HDR + 2 * k);
        const uint8_t *n = p + off;
        uint32_t dsize;
        uint16_t nflags, ksize;
        if (off < upper || (uint32_t)off + NODE_HDR > ps) {
            snprintf(why, len, "page %llu node %u lies outside the page", (unsigned long long)pgno, k);
            return 1;
        }
        dsize = (uint32_t)rd16(n) | (uint32_t)rd16(n + 2) << 16;
        nflags = rd16(n + 4);
        ksize = rd16(n + 6);
        if ((uint32_t)off + NODE_HDR + ksize > ps) {
            snprintf(why, len, "page %llu node %u's key runs past the page", (unsigned long long)pgno, k);
            return 1;
        }
        if (!(flags & P_BRANCH) &&
            (tree == TREE_MAIN ? nflags != F_SUBDATA || dsize != DB_SIZE : (nflags & ~F_BIGDATA) != 0)) {
            snprintf(why, len, "page %llu node %u has flags 0x%x that evote never writes %s",
                     (unsigned long long)pgno, k, nflags,
                     tree == TREE_MAIN ? "(the main database holds only named databases)" : "in this database");
            return 1;
        }
        if (tree == TREE_MAIN && !(flags & P_BRANCH) && (uint64_t)off + NODE_HDR + ksize + DB_SIZE <= ps &&
            rd16(n + NODE_HDR + ksize + DB_OFF_FLAGS) != 0) {
            snprintf(why, len, "page %llu node %u: a named database with flags 0x%x (evote's have none)",
                     (unsigned long long)pgno, k, rd16(n + NODE_HDR + ksize + DB_OFF_FLAGS));
            return 1;
        }
        if (flags & P_BRANCH) {
            uint64_t child = dsize | (uint64_t)nflags << 32;
            if (child < 2 || child > last) {
                snprintf(why, len, "page %llu points at page %llu, outside the data", (unsigned long long)pgno,
                         (unsigned long long)child);
                return 1;
            }
        } else if (nflags & F_BIGDATA) {
            uint64_t ov;
            if ((uint32_t)off + NODE_HDR + ksize + 8 > ps ||
                (ov = rd64(n + NODE_HDR + ksize)) < 2 || ov > last) {
                snprintf(why, len, "page %llu node %u points at an overflow page outside the data",
                         (unsigned long long)pgno, k);
                return 1;
            }
        } else if ((uint64_t)off + NODE_HDR + ksize + dsize > ps) {
            snprintf(why, len, "page %llu node %u's value runs past the page", (unsigned long long)pgno, k);
            return 1;
        }
    }
    return 0;
}

typedef struct {
    uint64_t pg;
    uint64_t need; /* an overflow run: the pages its node's value needs (0: not one) */
    int tree;
} pg_item;

typedef struct {
    pg_item *items;
    size_t n, cap;
} pg_stack;

static int push(pg_stack *st, uint64_t pg, uint64_t need, int tree)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? 2 * st->cap : 256;
        pg_item *it = realloc(st->items, cap * sizeof *it);
        if (it == NULL)
            return 0;
        st->items = it;
        st->cap = cap;
    }
    st->items[st->n].pg = pg;
    st->items[st->n].need = need;
    st->items[st->n++].tree = tree;
    return 1;
}

/* Makes *buf hold at least n bytes. Returns: 0 out of memory (*buf kept). */
static int grow(uint8_t **buf, size_t *cap, size_t n)
{
    uint8_t *b;
    if (n <= *cap)
        return 1;
    if ((b = realloc(*buf, n)) == NULL)
        return 0;
    *buf = b;
    *cap = n;
    return 1;
}

/* A free-list record (an MDB_IDL: count u64, then count page numbers u64):
 * LMDB's next write transaction hands these pages out again, so each must
 * lie in the data, be freed once, and (checked after the walk) not be a
 * page a tree still uses. Returns: 1 sound, 0 not (why says which). */
static int free_record_ok(const uint8_t *idl, uint32_t dsize, uint64_t last, uint8_t *freed, char *why, size_t len)
{
    uint64_t count;
    if (dsize < 8 || dsize % 8 != 0 || (count = rd64(idl)) != dsize / 8 - 1) {
        snprintf(why, len, "a free-list record of %u bytes is not a page list", dsize);
        return 0;
    }
    for (uint64_t i = 1; i <= count; i++) {
        uint64_t pg = rd64(idl + 8 * i);
        if (pg < 2 || pg > last) {
            snprintf(why, len, "the free list names page %llu, outside the data", (unsigned long long)pg);
            return 0;
        }
        if (freed[pg / 8] & (1u << (pg % 8))) {
            snprintf(why, len, "the free list names page %llu twice", (unsigned long long)pg);
            return 0;
        }
        freed[pg / 8] |= (uint8_t)(1u << (pg % 8));
    }
    return 1;
}

/* Marks pg (and, for an overflow run, the pages after it) as reached.
 * Returns: 0 when one was reached already (two parents: damage). */
static int mark(uint8_t *seen, uint64_t pg, uint64_t count)
{
    for (uint64_t i = pg; i < pg + count; i++) {
        if (seen[i / 8] & (1u << (i % 8)))
            return 0;
        seen[i / 8] |= (uint8_t)(1u << (i % 8));
    }
    return 1;
}

int data_file_walk(const char *path, uint32_t page_size, uint64_t last_page, char *why, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t *p = malloc(page_size), *seen = calloc(last_page / 8 + 1, 1), *freed = calloc(last_page / 8 + 1, 1);
    uint8_t *big = NULL;
    size_t big_cap = 0;
    pg_stack st = {NULL, 0, 0};
    data_file_info info;
    int bad = 0, e = 0;

    if (fd < 0 || p == NULL || seen == NULL || freed == NULL ||
        data_file_check(path, &info, &e, why, len) != DATA_FILE_OK) {
        snprintf(why, len, "%s: cannot read", path);
        bad = 1;
        goto out;
    }
    if (info.db_flags[0] != DB_FLAG_INTEGERKEY || info.db_flags[1] != 0) {
        snprintf(why, len, "the meta page records database flags 0x%x and 0x%x (LMDB writes 0x%x and evote 0)",
                 info.db_flags[0], info.db_flags[1], DB_FLAG_INTEGERKEY);
        bad = 1;
        goto out;
    }
    for (int r = 0; r < 2; r++)
        if (info.root[r] != UINT64_MAX && !push(&st, info.root[r], 0, r == 0 ? TREE_FREE : TREE_MAIN))
            goto nomem;
    while (!bad && st.n > 0) {
        uint64_t pg = st.items[st.n - 1].pg, need = st.items[st.n - 1].need, skip;
        int tree = st.items[--st.n].tree;
        if (pg < 2 || pg > last_page) {
            snprintf(why, len, "a tree points at page %llu, outside the data", (unsigned long long)pg);
            bad = 1;
            break;
        }
        if (pread(fd, p, page_size, (off_t)(pg * page_size)) != (ssize_t)page_size) {
            snprintf(why, len, "%s: page %llu cannot be read (truncated?)", path, (unsigned long long)pg);
            bad = 1;
            break;
        }
        if (page_bad(p, page_size, pg, last_page, tree, &skip, why, len)) {
            bad = 1;
            break;
        }
        if (need != 0 && (!(rd16(p + OFF_FLAGS) & P_OVERFLOW) || skip < need)) {
            /* LMDB hands out the node's size from the run's first page on,
             * unchecked: past a short run, and past the file's end (SIGBUS). */
            snprintf(why, len, "a value of %llu pages points at page %llu, which is not an overflow run that long",
                     (unsigned long long)need, (unsigned long long)pg);
            bad = 1;
            break;
        }
        if (!mark(seen, pg, skip)) {
            snprintf(why, len, "page %llu is reached twice: the trees are damaged", (unsigned long long)pg);
            bad = 1;
            break;
        }
        if (rd16(p + OFF_FLAGS) & P_OVERFLOW)
            continue;
        uint16_t flags = rd16(p + OFF_FLAGS), lower = rd16(p + 12);
        for (unsigned k = 0; !bad && k < (unsigned)(lower - PAGE_HDR) / 2; k++) {
            const uint8_t *n = p + rd16(p + PAGE_HDR + 2 * k);
            uint32_t dsize = (uint32_t)rd16(n) | (uint32_t)rd16(n + 2) << 16;
            uint16_t nflags = rd16(n + 4), ksize = rd16(n + 6);
            uint64_t next = UINT64_MAX;
            int next_tree = tree;
            uint64_t run = 0; /* pages an F_BIGDATA value needs */
            if (flags & P_BRANCH)
                next = dsize | (uint64_t)nflags << 32;
            else if (nflags & F_BIGDATA) {
                next = rd64(n + NODE_HDR + ksize); /* page_bad checked it lies in the page */
                run = ((uint64_t)PAGE_HDR + dsize + page_size - 1) / page_size;
            } else if ((nflags & F_SUBDATA) && dsize == DB_SIZE) {
                next = rd64(n + NODE_HDR + ksize + DB_OFF_ROOT); /* a named database's root */
                next_tree = TREE_DATA;
            }
            if (tree == TREE_FREE && !(flags & P_BRANCH)) {
                const uint8_t *idl = n + NODE_HDR + ksize; /* inline: page_bad checked it lies in the page */
                if (nflags & F_BIGDATA) {
                    if (next + run > last_page + 1 || !grow(&big, &big_cap, dsize) ||
                        pread(fd, big, dsize, (off_t)(next * page_size + PAGE_HDR)) != (ssize_t)dsize) {
                        snprintf(why, len, "a free-list record on page %llu cannot be read",
                                 (unsigned long long)next);
                        bad = 1;
                        break;
                    }
                    idl = big;
                }
                if (!free_record_ok(idl, dsize, last_page, freed, why, len)) {
                    bad = 1;
                    break;
                }
            }
            if (next != UINT64_MAX && !push(&st, next, run, next_tree))
                goto nomem;
        }
    }
    for (uint64_t i = 0; !bad && i <= last_page / 8; i++)
        if (seen[i] & freed[i]) {
            uint64_t pg = i * 8;
            while (!(seen[i] & freed[i] & (1u << (pg % 8))))
                pg++;
            snprintf(why, len, "page %llu is both free and in use: LMDB would hand it out again",
                     (unsigned long long)pg);
            bad = 1;
        }
    goto out;
nomem:
    snprintf(why, len, "%s: out of memory while checking the pages", path);
    bad = 1;
out:
    if (fd >= 0)
        close(fd);
    free(p);
    free(seen);
    free(freed);
    free(big);
    free(st.items);
    return bad ? 0 : 1;
}
