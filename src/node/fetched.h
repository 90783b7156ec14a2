/* The ballots of a block this validator never validated (one fetched from
 * its peers by state transfer) have no verdict from its mempool, and
 * execution would check each one's proofs on the event loop's thread, one
 * core. fetched_check checks them on every core first (the mempool's
 * workers and the calling thread, mempool_parallel), against the election
 * state as it stands before the block; execution then takes each verdict
 * from fetched_verdict (or from the mempool, for a ballot its workers had
 * checked already). A ballot that fails here, or one this pass could
 * not decide (its election opened in the same block), is simply not
 * listed: execution checks it itself, as before, and gives the same
 * result code. */
#ifndef EVOTE_NODE_FETCHED_H
#define EVOTE_NODE_FETCHED_H

#include "election.h"
#include "ledger.h"

typedef struct fetched_ballots fetched_ballots;

/* In: the batch as execution unpacked it (it must outlive *out), its
 * chain id, the election cache execution uses, the mempool whose workers
 * do the work.
 * Out: *out (NULL when the batch has no ballot, or memory runs out:
 * execution then checks every ballot itself).
 * Returns: how many ballots passed here (not counting those the mempool
 * has a verdict for). */
size_t fetched_check(mempool *mp, election_cache *cache, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                     const Evote__V1__Batch *batch, fetched_ballots **out);

/* Fits ledger_chain_view.ballot_verdict (f may be NULL: 0).
 * Returns: 1 and the ciphertexts (valid until fetched_free) of a ballot
 * whose proofs passed in fetched_check, 0 otherwise. */
int fetched_verdict(fetched_ballots *f, const uint8_t id[CRYPTO_HASH_LEN], const elgamal_ct **cts, size_t *n);

void fetched_free(fetched_ballots **f);

/* The scan fetched_check uses to pick the ballots of a batch without
 * decoding its transactions: reads the wire format of any bytes (a
 * certified batch's transactions are a faulty primary's choice).
 * Returns: 1 when the bytes look like an envelope whose body carries a
 * Ballot payload (every transaction that decodes as a ballot does), 0
 * otherwise. */
int fetched_looks_like_ballot(const uint8_t *tx, size_t len);

#endif
