/* Per-address budgets for the client API's reads. Pure: no clock, no
 * socket; the caller passes the time and the peer's address.
 *
 * The client API is open to anyone who can reach it (voters track their
 * ballots). A Track answer costs the node a Schnorr signature, a GetBlock
 * with its checkpoint proof a few hundred header reads — on the event loop
 * that also runs consensus. Each address has a token bucket: `rate` units
 * per second, up to `burst` saved; a read takes its cost (rate_cost in
 * node.c) or is answered BUSY with the time to wait. Transactions and
 * status questions cost nothing here: the mempool has its own bound.
 * A second table counts the transactions each address got refused
 * (client_refusal_rate): an address out of that budget is answered BUSY
 * before its next transaction is checked (rate_has). A third bounds the
 * transactions of an address not answered yet (taken on arrival, given
 * back with the answer: rate_give), since refusals count only once their
 * verdict comes.
 *
 * Addresses are those ZeroMQ reports ("Peer-Address"): IPv4 by address,
 * IPv6 by its /64 (one host can hold a whole /64), IPv4-mapped IPv6 as
 * IPv4; anything else (no address, a Unix socket) shares one bucket. The
 * table has a fixed size: when an address finds no free slot, the least
 * recently seen of the slots it may use is given to it (a full bucket
 * again: forgetting an address only ever lets it through). */
#ifndef EVOTE_NODE_RATELIMIT_H
#define EVOTE_NODE_RATELIMIT_H

#include <stdint.h>

#define RATE_SLOTS 4096 /* addresses remembered at once */

typedef struct rate_table rate_table;

/* rate: units per second per address (0 = no limit: rate_take always
 * allows); burst: most units saved (0 = 2 x rate). Returns: NULL when out
 * of memory. */
rate_table *rate_table_new(uint32_t rate, uint32_t burst);
void rate_table_destroy(rate_table **t);

/* Takes `cost` units from the bucket of `addr` at now_ms (monotonic).
 * Returns: 1 allowed; 0 refused, and *retry_ms (may be NULL) the wait until
 * the bucket holds `cost` again. A cost above the burst is always refused
 * (*retry_ms = 0). */
int rate_take(rate_table *t, const char *addr, uint64_t now_ms, uint32_t cost, uint32_t *retry_ms);

/* rate_take without taking: whether the bucket of `addr` holds `cost` at
 * now_ms. Returns: 1 or 0 (then *retry_ms as rate_take gives it). */
int rate_has(rate_table *t, const char *addr, uint64_t now_ms, uint32_t cost, uint32_t *retry_ms);

/* Gives back `cost` units taken earlier (up to the burst): the unit of a
 * transaction in flight, once it is answered. */
void rate_give(rate_table *t, const char *addr, uint64_t now_ms, uint32_t cost);

#endif
