/* See kvmap.h. */
#include <stdlib.h>
#include <string.h>

#include "kvmap.h"

typedef struct {
    uint8_t *key; /* NULL: empty slot */
    uint8_t *val;
    size_t klen, vlen;
    uint64_t hash;
    int dead;     /* tombstone */
} slot;

struct kvmap {
    slot *s;
    size_t cap, used, live; /* used counts tombstones too */
};

static uint64_t hash_of(const uint8_t *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ k[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

kvmap *kvmap_new(void)
{
    kvmap *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->cap = 1024;
    m->s = calloc(m->cap, sizeof *m->s);
    if (m->s == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void kvmap_destroy(kvmap **mp)
{
    kvmap *m = mp ? *mp : NULL;
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->cap; i++) {
        free(m->s[i].key);
        free(m->s[i].val);
    }
    free(m->s);
    free(m);
    *mp = NULL;
}

static slot *find(const kvmap *m, const uint8_t *key, size_t klen, uint64_t h)
{
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        slot *s = &m->s[i];
        if (s->key == NULL)
            return s;
        if (!s->dead && s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0)
            return s;
    }
}

static int grow(kvmap *m)
{
    size_t ncap = m->live * 4 > m->cap ? m->cap * 2 : m->cap;
    slot *old = m->s, *ns = calloc(ncap, sizeof *ns);
    size_t ocap = m->cap;
    if (ns == NULL)
        return 0;
    m->s = ns;
    m->cap = ncap;
    m->used = 0;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i].key == NULL)
            continue;
        if (old[i].dead) {
            free(old[i].key);
            free(old[i].val);
            continue;
        }
        slot *d = find(m, old[i].key, old[i].klen, old[i].hash);
        *d = old[i];
        m->used++;
    }
    free(old);
    return 1;
}

int kvmap_put(kvmap *m, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    uint64_t h = hash_of(key, klen);
    slot *s;
    uint8_t *v;

    if ((m->used + 1) * 10 > m->cap * 7 && !grow(m))
        return 0;
    s = find(m, key, klen, h);
    v = malloc(vlen ? vlen : 1);
    if (v == NULL)
        return 0;
    if (vlen)
        memcpy(v, val, vlen);
    if (s->key != NULL) {
        free(s->val);
        s->val = v;
        s->vlen = vlen;
        return 1;
    }
    s->key = malloc(klen ? klen : 1);
    if (s->key == NULL) {
        free(v);
        return 0;
    }
    memcpy(s->key, key, klen);
    s->klen = klen;
    s->val = v;
    s->vlen = vlen;
    s->hash = h;
    s->dead = 0;
    m->used++;
    m->live++;
    return 1;
}

int kvmap_get(const kvmap *m, const uint8_t *key, size_t klen, const uint8_t **val, size_t *vlen)
{
    slot *s = find(m, key, klen, hash_of(key, klen));
    if (s->key == NULL)
        return 0;
    if (val)
        *val = s->val;
    if (vlen)
        *vlen = s->vlen;
    return 1;
}

void kvmap_del(kvmap *m, const uint8_t *key, size_t klen)
{
    slot *s = find(m, key, klen, hash_of(key, klen));
    if (s->key == NULL)
        return;
    free(s->val);
    s->val = NULL;
    s->vlen = 0;
    s->dead = 1; /* the key stays as a tombstone: probing goes on past it */
    m->live--;
}

size_t kvmap_count(const kvmap *m)
{
    return m->live;
}

void kvmap_each(const kvmap *m, int (*fn)(void *, const uint8_t *, size_t, const uint8_t *, size_t), void *ctx)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->s[i].key != NULL && !m->s[i].dead && fn(ctx, m->s[i].key, m->s[i].klen, m->s[i].val, m->s[i].vlen))
            return;
}
