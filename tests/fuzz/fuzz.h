/* evote fuzz targets. Each target file defines
 *   LLVMFuzzerTestOneInput  one input, any bytes: must never crash, leak or
 *                           hit undefined behaviour (the sanitizers say so)
 *   fuzz_seeds              valid inputs for it to start from
 * and is linked either with libFuzzer (tests/fuzz/run.sh, clang) or with
 * replay.c (ctest: the inputs kept in tests/fuzz/corpus/<target>/ — seeds
 * written once by fuzz_seeds, and every input libFuzzer ever crashed on —
 * and mutants of them from a fixed PRNG seed). */
#ifndef EVOTE_FUZZ_H
#define EVOTE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

typedef void (*fuzz_emit)(void *ctx, const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fuzz_seeds(fuzz_emit emit, void *ctx);

/* A growable byte string for building seeds. */
typedef struct {
    uint8_t *p;
    size_t len, cap;
} fuzz_buf;

void fuzz_buf_put(fuzz_buf *b, const void *data, size_t len);
void fuzz_buf_free(fuzz_buf *b);

/* A directory of this process's, /tmp/evote-fuzz-NAME.XXXXXX, made on the
 * first call and removed at exit (handlers registered after the first call
 * run before its removal). */
const char *fuzz_tmpdir(const char *name);

#endif
