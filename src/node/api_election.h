/* The election calls of the client API (proto/api.proto: GetElection,
 * GetResult, Track, GetState): read-only views of what the election rules
 * wrote into the chain store's state database, answered from the node's
 * event loop. Everything they return is public chain data. */
#ifndef EVOTE_API_ELECTION_H
#define EVOTE_API_ELECTION_H

#include <stdint.h>

#include "api.pb-c.h"
#include "chain_store.h"

#include "crypto.h"

/* Who answers: the validator's genesis key and index, to sign Track
 * statements (NULL key: none signed). */
typedef struct {
    const signing_key *key;
    uint32_t validator;
} api_signer;

/* In: the node's store and chain id, its signer, a decoded request.
 * Out: resp (request_id, status, reason and the call's fields); what it
 * points to is hung on *scratch (start with *scratch = NULL).
 * Returns: 1 when req is an election call (resp filled: pack it, send it,
 * then api_election_scratch_free), 0 when it is not (resp untouched). */
int api_election_handle(chain_store *store, const uint8_t chain_id[32], const api_signer *who,
                        const Evote__V1__ApiRequest *req, Evote__V1__ApiResponse *resp, void **scratch);

/* Frees what api_election_handle hung on *scratch and sets it to NULL. */
void api_election_scratch_free(void **scratch);

#endif
