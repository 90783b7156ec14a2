/* Helpers shared by the fuzz targets (linked with libFuzzer and with replay.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

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
