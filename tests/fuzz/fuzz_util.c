/* Helpers shared by the fuzz targets (linked with libFuzzer and with replay.c). */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static char tmpdir[64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void tmpdir_remove(void)
{
    nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_tmpdir(const char *name)
{
    if (tmpdir[0] == '\0') {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/evote-fuzz-%.16s.XXXXXX", name);
        if (mkdtemp(tmpdir) == NULL)
            abort();
        atexit(tmpdir_remove);
    }
    return tmpdir;
}

void fuzz_buf_put(fuzz_buf *b, const void *data, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL) {
            fprintf(stderr, "fuzz: out of memory\n");
            exit(2);
        }
        b->p = p;
        b->cap = cap;
    }
    if (len > 0)
        memcpy(b->p + b->len, data, len);
    b->len += len;
}

void fuzz_buf_free(fuzz_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
