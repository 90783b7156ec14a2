/* The election execution shared by the fuzz targets election and api:
 * the records of a fuzz_election input (fuzz_election.c: chain id,
 * authority and validator keys, then one transaction per block) executed
 * by election_apply from an empty state, as validators do. */
#ifndef EVOTE_FUZZ_EXEC_H
#define EVOTE_FUZZ_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "evote.pb-c.h"

typedef struct {
    /* Each transaction's result code, in order. */
    void (*result)(void *ctx, Evote__V1__TxResult r);
    /* Each state change of a block, in the block's order (del: a deletion). */
    void (*change)(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len, int del);
    void *ctx;
} fuzz_exec_out;

/* precheck: hand execution the mempool's verdict on ballots (as a
 * validator does) instead of verifying them in execution.
 * Out: chain_id (the input's). Returns: 0 when the input is too short for
 * its header (nothing run), 1 otherwise. */
int fuzz_exec_election(const uint8_t *data, size_t size, int precheck, const fuzz_exec_out *out,
                       uint8_t chain_id[32]);

#endif
