/* The validator daemon's core: one event loop that wires the PBFT replica
 * (consensus/), the mempool and block execution (src/ledger), the chain
 * store (storage/) and the ZeroMQ transport (src/net). Only this module
 * touches all of them; it owns the clock and the timers.
 *
 * The loop, once per iteration: wait (zmq_poll) for a peer message, a client
 * request, a mempool verdict or the next timer; feed what arrived to the
 * replica; carry out the replica's actions — executing and storing committed
 * batches at once, collecting sends in an outbox, remembering the newest
 * consensus meta — then write the meta durably (if the event changed it) and
 * only then let the outbox go. So a crash never leaves a signed message out
 * that the restarted node does not remember. */
#ifndef EVOTE_NODE_H
#define EVOTE_NODE_H

#include <signal.h>

#include "config.h"

typedef struct node node;

/* Loads the genesis and keys named by cfg, checks they belong together
 * (this validator's name, Schnorr key and CURVE key must be in the genesis),
 * opens the chain store, binds the peer and client sockets.
 * Returns: 1 and *out, or 0 with a sentence for the operator in why. */
int node_new(const node_config *cfg, node **out, char *why, size_t why_len);

/* evoted --check: the checks node_new makes before it starts, and nothing
 * else — the genesis, this validator's name and keys (modes and match),
 * the chain store (chain_store_check_dir: not a byte changed, safe while
 * evoted runs); no socket is bound, no peer contacted.
 * Out: report (a few lines for the operator). Returns: 1, or 0 with a
 * sentence for the operator in why. */
int node_check(const node_config *cfg, char *report, size_t report_len, char *why, size_t why_len);

/* Runs until *stop becomes non-zero (SIGTERM/SIGINT). Returns: 0 after a
 * clean stop, 1 after a fatal error (logged). */
int node_run(node *self, volatile sig_atomic_t *stop);

void node_destroy(node **self);

#endif
