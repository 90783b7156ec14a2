/* Bounded discrete logarithm by baby-step giant-step: the decrypted tally is
 * M = m·G with m at most the number of ballots, and m is found in about
 * 2·sqrt(bound) point additions with a table of sqrt(bound) x-coordinates. */
#include <stdlib.h>
#include <string.h>

#include "ballot_crypto.h"

typedef struct {
    uint64_t key; /* first 8 bytes of the x-coordinate of j·G */
    uint32_t j;   /* 1..m−1; 0 marks an empty slot */
} dlog_entry;

struct dlog_table {
    uint64_t bound, m;
    size_t mask;
    ec_point giant; /* −m·G */
    dlog_entry *slots;
};

static uint64_t x_key(const uint8_t enc[EC_POINT_LEN])
{
    uint64_t k = 0;
    for (int i = 1; i <= 8; i++)
        k = (k << 8) | enc[i];
    return k;
}

bc_err dlog_table_new(dlog_table **out, uint64_t bound)
{
    *out = NULL;
    if (bound > (1ull << 40))
        return BC_ERR_ARGUMENT;
    /* m = ceil(sqrt(bound + 1)), in integers (no libm in this library) */
    uint64_t m = 1;
    while (m * m < bound + 1)
        m <<= 1;
    for (uint64_t step = m >> 1; step > 0; step >>= 1) {
        if ((m - step) * (m - step) >= bound + 1)
            m -= step;
    }
    size_t size = 16;
    while (size < 2 * m)
        size <<= 1;
    dlog_table *t = calloc(1, sizeof *t);
    if (!t)
        return BC_ERR_NOMEM;
    t->slots = calloc(size, sizeof(dlog_entry));
    if (!t->slots) {
        free(t);
        return BC_ERR_NOMEM;
    }
    t->bound = bound;
    t->m = m;
    t->mask = size - 1;
    ec_scalar one, ms;
    ec_point g, p;
    ec_scalar_from_u64(&one, 1);
    ec_point_mul_base(&g, &one);
    p = g;
    for (uint64_t j = 1; j < m; j++) {
        uint8_t enc[EC_POINT_LEN];
        ec_point_encode(enc, &p);
        size_t h = (size_t)x_key(enc) & t->mask;
        while (t->slots[h].j != 0)
            h = (h + 1) & t->mask;
        t->slots[h].key = x_key(enc);
        t->slots[h].j = (uint32_t)j;
        ec_point_add(&p, &p, &g);
    }
    ec_scalar_from_u64(&ms, m);
    ec_point_mul_base(&t->giant, &ms);
    ec_point_neg(&t->giant, &t->giant);
    *out = t;
    return BC_OK;
}

void dlog_table_destroy(dlog_table **t)
{
    if (!t || !*t)
        return;
    free((*t)->slots);
    free(*t);
    *t = NULL;
}

static int check(const ec_point *p, uint64_t v)
{
    ec_scalar s;
    ec_point q;
    ec_scalar_from_u64(&s, v);
    ec_point_mul_base(&q, &s);
    return ec_point_equal(&q, p);
}

bc_err dlog_solve(const dlog_table *t, const ec_point *p, uint64_t *m)
{
    /* P_i = p − i·m·G; P_i = j·G for a baby step j gives p = (i·m + j)·G.
     * The table keys are 64 bits of x, which ±j·G share, so every hit is
     * confirmed by one multiplication before it is believed. */
    ec_point q = *p;
    for (uint64_t i = 0; i * t->m <= t->bound; i++) {
        uint64_t base = i * t->m;
        if (q.infinity) {
            *m = base;
            return BC_OK;
        }
        uint8_t enc[EC_POINT_LEN];
        ec_point_encode(enc, &q);
        uint64_t key = x_key(enc);
        for (size_t h = (size_t)key & t->mask; t->slots[h].j != 0; h = (h + 1) & t->mask) {
            if (t->slots[h].key != key)
                continue;
            uint64_t v = base + t->slots[h].j;
            if (v <= t->bound && check(p, v)) {
                *m = v;
                return BC_OK;
            }
        }
        ec_point_add(&q, &q, &t->giant);
    }
    return BC_ERR_DLOG_NOT_FOUND;
}
