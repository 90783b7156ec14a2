/* An in-memory byte-string map for the auditor: the re-executed election
 * state, the set of transaction ids seen, the last ballot of each voter.
 * Open addressing, linear probing; not thread-safe. */
#ifndef EVOTE_AUDIT_KVMAP_H
#define EVOTE_AUDIT_KVMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct kvmap kvmap;

kvmap *kvmap_new(void);
void kvmap_destroy(kvmap **m);
/* Copies key and value (replacing an existing value). Returns: 1, or 0 out of memory. */
int kvmap_put(kvmap *m, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen);
/* Returns: 1 and the stored value (owned by the map), or 0 when absent. */
int kvmap_get(const kvmap *m, const uint8_t *key, size_t klen, const uint8_t **val, size_t *vlen);
void kvmap_del(kvmap *m, const uint8_t *key, size_t klen);
size_t kvmap_count(const kvmap *m);
/* Calls fn for every entry (any order); stops when fn returns non-zero. */
void kvmap_each(const kvmap *m, int (*fn)(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                                          size_t vlen),
                void *ctx);

#endif
