/* Private to src/election: the layered state view, key builders and the
 * per-payload rules shared by the module's files. */
#ifndef EVOTE_ELECTION_INTERNAL_H
#define EVOTE_ELECTION_INTERNAL_H

#include "election.h"

/* What one transaction sees: its own changes over the block's over the store. */
typedef struct {
    const election_state_reader *rd;
    const election_changes *block;
    election_changes *tx;
} state_view;

/* Returns: 1 found (*value malloc'ed), 0 absent, -1 reader failed, -2 out of memory. */
int state_get(const state_view *sv, const uint8_t *key, size_t key_len, uint8_t **value, size_t *len);
/* Returns: 1, or 0 out of memory (list unchanged). */
int changes_set(election_changes *c, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                int del);
/* Returns: 1, or 0 out of memory. */
int changes_merge(election_changes *into, const election_changes *from);

#define KEY_E_LEN (1 + ELECTION_HASH_LEN)
#define KEY_EI_LEN (1 + ELECTION_HASH_LEN + 4)
#define KEY_EV_LEN (1 + ELECTION_HASH_LEN + CRYPTO_PUBKEY_LEN)

void key_e(uint8_t out[KEY_E_LEN], char prefix, const uint8_t e[ELECTION_HASH_LEN]);
void key_ei(uint8_t out[KEY_EI_LEN], char prefix, const uint8_t e[ELECTION_HASH_LEN], uint32_t i);
void key_ev(uint8_t out[KEY_EV_LEN], char prefix, const uint8_t e[ELECTION_HASH_LEN], const uint8_t v[32]);
void put_u64(uint8_t *p, uint64_t v);
uint64_t get_u64(const uint8_t *p);

/* Maps a state_get failure (-1, -2) to an election_err. */
election_err get_err(int r);
/* Reads and parses a value; *out NULL when absent. */
election_err load_record(const state_view *sv, const uint8_t e[ELECTION_HASH_LEN], Evote__V1__ElectionRecord **out);
election_err store_record(const state_view *sv, const Evote__V1__ElectionRecord *rec);
/* Returns: the number of options over all questions. */
size_t record_slots(const Evote__V1__ElectionRecord *rec);
/* Returns: trustee index 1..n of pubkey, 0 when not a trustee. */
uint32_t record_trustee(const Evote__V1__ElectionRecord *rec, const uint8_t *pubkey);
int record_closed(const Evote__V1__ElectionRecord *rec, const election_ctx *ctx);

/* The tally 'T' value, parsed. */
typedef struct {
    uint64_t counted, accepted;
    size_t slots;
    elgamal_ct cts[ELECTION_MAX_SLOTS];
} tally_state;
election_err load_tally(const state_view *sv, const uint8_t e[ELECTION_HASH_LEN], size_t slots, tally_state *t);
election_err store_tally(const state_view *sv, const uint8_t e[ELECTION_HASH_LEN], const tally_state *t);

/* The parsed public parameters of an election with a key. */
typedef struct {
    uint8_t e[ELECTION_HASH_LEN];
    bc_election *bc;
    size_t slots;
} election_verifier;

election_err verifier_build(const Evote__V1__ElectionRecord *rec, election_verifier **out);
void verifier_destroy(election_verifier **v);
/* Returns: the cached verifier of E, or NULL. */
const election_verifier *cache_find(election_cache *c, const uint8_t e[ELECTION_HASH_LEN]);
/* Takes ownership of *v; Out: *v NULL, *used the verifier now in the cache. */
election_err cache_insert(election_cache *c, election_verifier **v, const election_verifier **used);
Evote__V1__TxResult ballot_result_for(bc_err err);

/* The rules, one per payload. Return ELECTION_OK with *res set, or a local error. */
election_err rule_dealing(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                          Evote__V1__TxResult *res);
election_err rule_complaint(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                            Evote__V1__TxResult *res);
/* Version 1: whether every trustee has confirmed every qualified dealing on
 * chain but its own (a dealing a complaint disqualified needs none). Out:
 * *covered; when 0, a trustee and a dealer it has not confirmed (either may
 * be NULL). */
election_err ceremony_checks_missing(const state_view *sv, const Evote__V1__ElectionRecord *rec, int *covered,
                                     uint32_t *trustee, uint32_t *dealer);
election_err rule_open(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                       Evote__V1__ElectionRecord *rec, Evote__V1__TxResult *res);
election_err rule_partial(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                          Evote__V1__TxResult *res);
election_err rule_attest(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                         Evote__V1__ElectionRecord *rec, Evote__V1__TxResult *res);

#endif
