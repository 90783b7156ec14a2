/* The state changes of a block: an ordered list of unique keys with a hash
 * index, so that a block of thousands of ballots reads its own writes
 * (the tally, the voter records) in O(1). */
#include <stdlib.h>
#include <string.h>

#include "election_internal.h"

typedef struct {
    uint8_t *key;
    size_t key_len;
    uint8_t *value;
    size_t value_len;
    int del;
} change;

struct election_changes {
    change *v;
    size_t n, cap;
    size_t *slots; /* open addressing: index + 1, 0 = empty */
    size_t nslots; /* power of two, > 2n */
};

static uint64_t hash_key(const uint8_t *k, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= k[i];
        h *= 1099511628211ULL;
    }
    return h;
}

election_changes *election_changes_new(void)
{
    return calloc(1, sizeof(election_changes));
}

void election_changes_clear(election_changes *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].key);
        free(c->v[i].value);
    }
    c->n = 0;
    if (c->slots)
        memset(c->slots, 0, c->nslots * sizeof *c->slots);
}

void election_changes_destroy(election_changes **c)
{
    if (c == NULL || *c == NULL)
        return;
    election_changes_clear(*c);
    free((*c)->v);
    free((*c)->slots);
    free(*c);
    *c = NULL;
}

size_t election_changes_count(const election_changes *c)
{
    return c ? c->n : 0;
}

void election_changes_at(const election_changes *c, size_t i, const uint8_t **key, size_t *key_len,
                         const uint8_t **value, size_t *value_len, int *del)
{
    const change *ch = &c->v[i];
    *key = ch->key;
    *key_len = ch->key_len;
    *value = ch->del ? NULL : ch->value;
    *value_len = ch->del ? 0 : ch->value_len;
    *del = ch->del;
}

/* Returns: the slot of key (holding its index + 1, or 0 when absent). */
static size_t *find_slot(const election_changes *c, const uint8_t *key, size_t len)
{
    size_t mask = c->nslots - 1;
    size_t s = (size_t)hash_key(key, len) & mask;
    for (;;) {
        size_t *slot = &c->slots[s];
        if (*slot == 0)
            return slot;
        const change *ch = &c->v[*slot - 1];
        if (ch->key_len == len && memcmp(ch->key, key, len) == 0)
            return slot;
        s = (s + 1) & mask;
    }
}

static int rehash(election_changes *c, size_t nslots)
{
    size_t *slots = calloc(nslots, sizeof *slots);
    if (slots == NULL)
        return 0;
    free(c->slots);
    c->slots = slots;
    c->nslots = nslots;
    for (size_t i = 0; i < c->n; i++)
        *find_slot(c, c->v[i].key, c->v[i].key_len) = i + 1;
    return 1;
}

int election_changes_find(const election_changes *c, const uint8_t *key, size_t key_len, const uint8_t **value,
                          size_t *len)
{
    if (c == NULL || c->n == 0)
        return 0;
    size_t idx = *find_slot(c, key, key_len);
    if (idx == 0)
        return 0;
    const change *ch = &c->v[idx - 1];
    if (ch->del)
        return 2;
    *value = ch->value;
    *len = ch->value_len;
    return 1;
}

/* Puts (del 0) or deletes (del 1) key. Returns: 1, or 0 out of memory (then
 * the list is unchanged). */
int changes_set(election_changes *c, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                int del)
{
    uint8_t *v = NULL;

    if (!del) {
        v = malloc(value_len ? value_len : 1);
        if (v == NULL)
            return 0;
        if (value_len)
            memcpy(v, value, value_len);
    }
    if (c->nslots == 0 || 2 * (c->n + 1) > c->nslots) {
        if (!rehash(c, c->nslots ? 2 * c->nslots : 64)) {
            free(v);
            return 0;
        }
    }
    size_t *slot = find_slot(c, key, key_len);
    if (*slot != 0) {
        change *ch = &c->v[*slot - 1];
        free(ch->value);
        ch->value = v;
        ch->value_len = del ? 0 : value_len;
        ch->del = del;
        return 1;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 32;
        change *nv = realloc(c->v, cap * sizeof *nv);
        if (nv == NULL) {
            free(v);
            return 0;
        }
        c->v = nv;
        c->cap = cap;
    }
    uint8_t *k = malloc(key_len ? key_len : 1);
    if (k == NULL) {
        free(v);
        return 0;
    }
    memcpy(k, key, key_len);
    c->v[c->n] = (change){k, key_len, v, del ? 0 : value_len, del};
    c->n++;
    *slot = c->n;
    return 1;
}

int election_changes_put(election_changes *c, const uint8_t *key, size_t key_len, const uint8_t *value,
                         size_t value_len)
{
    if (c == NULL || key == NULL || key_len == 0 || (value == NULL && value_len != 0))
        return 0;
    return changes_set(c, key, key_len, value, value_len, 0);
}

int changes_merge(election_changes *into, const election_changes *from)
{
    for (size_t i = 0; i < from->n; i++) {
        const change *ch = &from->v[i];
        if (!changes_set(into, ch->key, ch->key_len, ch->value, ch->value_len, ch->del))
            return 0;
    }
    return 1;
}

/* Reads key through the layers: the transaction's own changes, the block's,
 * then the store. */
int state_get(const state_view *sv, const uint8_t *key, size_t key_len, uint8_t **value, size_t *len)
{
    const election_changes *layers[2] = {sv->tx, sv->block};
    *value = NULL;
    *len = 0;
    for (int l = 0; l < 2; l++) {
        const uint8_t *v;
        size_t n;
        int r = election_changes_find(layers[l], key, key_len, &v, &n);
        if (r == 2)
            return 0;
        if (r == 1) {
            *value = malloc(n ? n : 1);
            if (*value == NULL)
                return -2;
            if (n)
                memcpy(*value, v, n);
            *len = n;
            return 1;
        }
    }
    if (sv->rd == NULL || sv->rd->get == NULL)
        return 0;
    int r = sv->rd->get(sv->rd->ctx, key, key_len, value, len);
    if (r != 1) {
        *value = NULL;
        *len = 0;
    }
    return r < 0 ? -1 : r;
}
