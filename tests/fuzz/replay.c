/* Runs a fuzz target without libFuzzer (ctest): every input file given (or
 * every file in a directory given: tests/fuzz/corpus/<target>/ holds the
 * target's seeds and every input libFuzzer ever crashed on), as it is, then
 * --mutations mutants of each (bit flips, byte changes, insertions,
 * deletions, truncation, splices of two inputs) from a fixed PRNG seed: the
 * same inputs on every run. A crash, a leak or undefined behaviour ends the
 * run through the sanitizers of the build; otherwise it prints what ran and
 * exits 0.
 *
 *   fuzz_replay_<target> [--mutations N] [--seed S] FILE|DIR...
 *   fuzz_replay_<target> --write-seeds DIR
 *
 * --write-seeds writes the target's fuzz_seeds as files seed-NNN into DIR
 * (how corpus/<target>/ was first filled) and runs nothing. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

typedef struct {
    uint8_t **p;
    size_t *len;
    size_t n, cap;
} seed_list;

static void keep_seed(void *ctx, const uint8_t *data, size_t len)
{
    seed_list *s = ctx;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->p = realloc(s->p, s->cap * sizeof *s->p);
        s->len = realloc(s->len, s->cap * sizeof *s->len);
        if (s->p == NULL || s->len == NULL) {
            fprintf(stderr, "fuzz: out of memory\n");
            exit(2);
        }
    }
    s->p[s->n] = malloc(len ? len : 1);
    if (s->p[s->n] == NULL) {
        fprintf(stderr, "fuzz: out of memory\n");
        exit(2);
    }
    memcpy(s->p[s->n], data, len);
    s->len[s->n++] = len;
}

/* xorshift64*: the same mutants on every machine. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}
static size_t below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

static size_t mutate(uint8_t *buf, size_t len, size_t cap, const seed_list *s)
{
    static const uint8_t interesting[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xff, 0x08, 0x10, 0x12, 0x1a, 0x20, 0x40};
    size_t rounds = 1 + below(6);
    for (size_t r = 0; r < rounds; r++) {
        size_t at = below(len);
        switch (below(8)) {
        case 0: /* flip a bit */
            if (len)
                buf[at] ^= (uint8_t)(1u << below(8));
            break;
        case 1: /* a random byte */
            if (len)
                buf[at] = (uint8_t)rnd();
            break;
        case 2: /* an interesting byte (protobuf tags, lengths, edges) */
            if (len)
                buf[at] = interesting[below(sizeof interesting)];
            break;
        case 3: /* insert a byte */
            if (len < cap) {
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = (uint8_t)rnd();
                len++;
            }
            break;
        case 4: /* delete a run */
            if (len) {
                size_t k = 1 + below(len - at < 16 ? len - at : 16);
                memmove(buf + at, buf + at + k, len - at - k);
                len -= k;
            }
            break;
        case 5: /* truncate */
            len = at;
            break;
        case 6: { /* splice in part of another seed */
            size_t i = below(s->n), from, k;
            if (s->len[i] == 0)
                break;
            from = below(s->len[i]);
            k = 1 + below(s->len[i] - from);
            if (at + k > cap)
                k = cap - at;
            memcpy(buf + at, s->p[i] + from, k);
            if (at + k > len)
                len = at + k;
            break;
        }
        default: /* a varint-sized length byte grown or shrunk */
            if (len)
                buf[at] = (uint8_t)(buf[at] + (below(2) ? 1 : -1) * (int)(1 + below(4)));
            break;
        }
    }
    return len;
}

static size_t load_file(const char *path, seed_list *s)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t len = 0, cap = 0, k;
    uint8_t chunk[65536];

    if (f == NULL) {
        fprintf(stderr, "fuzz: cannot read %s: %s\n", path, strerror(errno));
        exit(2);
    }
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + k > cap) {
            cap = (len + k) * 2;
            data = realloc(data, cap);
            if (data == NULL) {
                fprintf(stderr, "fuzz: out of memory\n");
                exit(2);
            }
        }
        memcpy(data + len, chunk, k);
        len += k;
    }
    fclose(f);
    keep_seed(s, data ? data : (const uint8_t *)"", len);
    free(data);
    return 1;
}

static size_t load_path(const char *path, seed_list *s)
{
    struct stat st;
    size_t n = 0;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    if (!S_ISDIR(st.st_mode))
        return load_file(path, s);
    DIR *d = opendir(path);
    struct dirent *e;
    if (d == NULL) {
        fprintf(stderr, "fuzz: cannot open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    while ((e = readdir(d)) != NULL) {
        char p[4096];
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        n += load_file(p, s);
    }
    closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    seed_list s = {0};
    unsigned long mutations = 500;
    unsigned long long seed = 1;
    const char *write_dir = NULL;
    size_t files = 0, runs = 0;
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mutations") == 0 && i + 1 < argc)
            mutations = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--write-seeds") == 0 && i + 1 < argc)
            write_dir = argv[++i];
        else
            break;
    }
    if (write_dir != NULL)
        fuzz_seeds(keep_seed, &s);
    else
        for (; i < argc; i++)
            files += load_path(argv[i], &s);
    if (write_dir != NULL) {
        for (size_t k = 0; k < s.n; k++) {
            char p[4096];
            FILE *f;
            snprintf(p, sizeof p, "%s/seed-%03zu", write_dir, k);
            if ((f = fopen(p, "wb")) == NULL || fwrite(s.p[k], 1, s.len[k], f) != s.len[k] || fclose(f) != 0) {
                fprintf(stderr, "fuzz: cannot write %s\n", p);
                return 2;
            }
        }
        printf("%zu seeds written to %s\n", s.n, write_dir);
    } else {
        rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
        for (size_t k = 0; k < s.n; k++) {
            size_t cap = s.len[k] + 256;
            uint8_t *buf = malloc(cap);
            if (buf == NULL)
                return 2;
            LLVMFuzzerTestOneInput(s.p[k], s.len[k]);
            runs++;
            for (unsigned long m = 0; m < mutations; m++) {
                memcpy(buf, s.p[k], s.len[k]);
                size_t len = mutate(buf, s.len[k], cap, &s);
                LLVMFuzzerTestOneInput(buf, len);
                runs++;
            }
            free(buf);
        }
        printf("%zu seeds, %zu inputs run (%lu mutants per seed, PRNG seed %llu)\n", files, runs, mutations, seed);
    }
    for (size_t k = 0; k < s.n; k++)
        free(s.p[k]);
    free(s.p);
    free(s.len);
    return 0;
}
