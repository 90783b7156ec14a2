/* Per-address token buckets (ratelimit.h). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

#define PROBE 8 /* slots an address may use: a short linear probe */

typedef struct {
    uint8_t key[17]; /* family (4, 6 or 0) and up to 16 address bytes */
    uint8_t used;
    uint64_t milli;  /* thousandths of a unit in the bucket */
    uint64_t last_ms;
} slot;

struct rate_table {
    uint64_t rate, burst_milli;
    slot slots[RATE_SLOTS];
};

rate_table *rate_table_new(uint32_t rate, uint32_t burst)
{
    rate_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->rate = rate;
    t->burst_milli = 1000ull * (burst ? burst : 2ull * rate);
    return t;
}

void rate_table_destroy(rate_table **t)
{
    if (t == NULL)
        return;
    free(*t);
    *t = NULL;
}

/* The bucket's key: IPv4 (4 bytes), IPv6 /64 (8 bytes), or "other". */
static void key_of(const char *addr, uint8_t key[17])
{
    struct in6_addr a6;
    struct in_addr a4;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memset(key, 0, 17);
    if (addr == NULL)
        return;
    if (inet_pton(AF_INET, addr, &a4) == 1) {
        key[0] = 4;
        memcpy(key + 1, &a4, 4);
    } else if (inet_pton(AF_INET6, addr, &a6) == 1) {
        if (memcmp(a6.s6_addr, mapped, sizeof mapped) == 0) {
            key[0] = 4;
            memcpy(key + 1, a6.s6_addr + 12, 4);
        } else {
            key[0] = 6;
            memcpy(key + 1, a6.s6_addr, 8);
        }
    }
}

static uint32_t hash_key(const uint8_t key[17])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 17; i++)
        h = (h ^ key[i]) * 16777619u;
    return h;
}

/* take: 1 takes cost when there, 0 only looks, -1 gives cost back (up to
 * the burst). */
static int bucket(rate_table *t, const char *addr, uint64_t now_ms, uint32_t cost, uint32_t *retry_ms, int take)
{
    uint8_t key[17];
    uint32_t h;
    slot *s = NULL, *oldest = NULL;
    uint64_t need = 1000ull * cost;

    if (retry_ms != NULL)
        *retry_ms = 0;
    if (t == NULL || t->rate == 0 || cost == 0)
        return 1;
    if (need > t->burst_milli)
        return 0;
    key_of(addr, key);
    h = hash_key(key);
    for (uint32_t i = 0; i < PROBE; i++) {
        slot *c = &t->slots[(h + i) % RATE_SLOTS];
        if (c->used && memcmp(c->key, key, sizeof c->key) == 0) {
            s = c;
            break;
        }
        if (!c->used) {
            if (oldest == NULL || oldest->used)
                oldest = c;
        } else if (oldest == NULL || (oldest->used && c->last_ms < oldest->last_ms)) {
            oldest = c;
        }
    }
    if (s == NULL) { /* new here (or forgotten): a full bucket */
        s = oldest;
        memcpy(s->key, key, sizeof s->key);
        s->used = 1;
        s->milli = t->burst_milli;
        s->last_ms = now_ms;
    }
    if (now_ms > s->last_ms) {
        uint64_t add = (now_ms - s->last_ms) * t->rate; /* rate units/s = rate milli-units/ms */
        s->milli = add >= t->burst_milli - s->milli ? t->burst_milli : s->milli + add;
        s->last_ms = now_ms;
    }
    if (take < 0) {
        s->milli = need >= t->burst_milli - s->milli ? t->burst_milli : s->milli + need;
        return 1;
    }
    if (s->milli >= need) {
        if (take)
            s->milli -= need;
        return 1;
    }
    if (retry_ms != NULL)
        *retry_ms = (uint32_t)((need - s->milli + t->rate - 1) / t->rate);
    return 0;
}

int rate_take(rate_table *t, const char *addr, uint64_t now_ms, uint32_t cost, uint32_t *retry_ms)
{
    return bucket(t, addr, now_ms, cost, retry_ms, 1);
}

int rate_has(rate_table *t, const char *addr, uint64_t now_ms, uint32_t cost, uint32_t *retry_ms)
{
    return bucket(t, addr, now_ms, cost, retry_ms, 0);
}

void rate_give(rate_table *t, const char *addr, uint64_t now_ms, uint32_t cost)
{
    (void)bucket(t, addr, now_ms, cost, NULL, -1);
}
