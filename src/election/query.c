/* Read helpers for the CLI, the client API and the auditor: the election,
 * its result, its tally, a voter's status and a tracking code, from state. */
#include <stdlib.h>
#include <string.h>

#include "election_internal.h"

election_err election_get(const election_state_reader *rd, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                          const uint8_t *election_id, size_t len, Evote__V1__ElectionRecord **out)
{
    state_view sv = {rd, NULL, NULL};
    uint8_t e[ELECTION_HASH_LEN];
    election_err err;

    if (out == NULL || chain_id == NULL || election_id == NULL || len == 0 || len > ELECTION_MAX_ID)
        return ELECTION_ERR_ARGUMENT;
    election_hash(chain_id, election_id, len, e);
    err = load_record(&sv, e, out);
    if (err == ELECTION_OK && *out == NULL)
        err = ELECTION_ERR_NOT_FOUND;
    return err;
}

election_err election_get_result(const election_state_reader *rd, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                 const uint8_t *election_id, size_t len, Evote__V1__ElectionResult **out)
{
    state_view sv = {rd, NULL, NULL};
    uint8_t e[ELECTION_HASH_LEN], key[KEY_E_LEN], *v;
    size_t vlen;
    int r;

    if (out == NULL || chain_id == NULL || election_id == NULL || len == 0 || len > ELECTION_MAX_ID)
        return ELECTION_ERR_ARGUMENT;
    *out = NULL;
    election_hash(chain_id, election_id, len, e);
    key_e(key, ELECTION_KEY_RESULT, e);
    r = state_get(&sv, key, sizeof key, &v, &vlen);
    if (r < 0)
        return get_err(r);
    if (r == 0)
        return ELECTION_ERR_NOT_FOUND;
    *out = evote__v1__election_result__unpack(NULL, vlen, v);
    free(v);
    return *out ? ELECTION_OK : ELECTION_ERR_CORRUPT;
}

election_err election_track(const election_state_reader *rd, const uint8_t code[CRYPTO_HASH_LEN],
                            Evote__V1__TrackingRecord **out)
{
    state_view sv = {rd, NULL, NULL};
    uint8_t key[1 + CRYPTO_HASH_LEN], *v;
    size_t vlen;
    int r;

    if (out == NULL || code == NULL)
        return ELECTION_ERR_ARGUMENT;
    *out = NULL;
    key[0] = ELECTION_KEY_TRACKING;
    memcpy(key + 1, code, CRYPTO_HASH_LEN);
    r = state_get(&sv, key, sizeof key, &v, &vlen);
    if (r < 0)
        return get_err(r);
    if (r == 0)
        return ELECTION_ERR_NOT_FOUND;
    *out = evote__v1__tracking_record__unpack(NULL, vlen, v);
    free(v);
    return *out ? ELECTION_OK : ELECTION_ERR_CORRUPT;
}

election_err election_get_tally(const election_state_reader *rd, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                const uint8_t *election_id, size_t len, uint64_t *ballots_counted,
                                uint64_t *ballots_accepted, elgamal_ct *cts, size_t max, size_t *slots)
{
    Evote__V1__ElectionRecord *rec = NULL;
    state_view sv = {rd, NULL, NULL};
    tally_state *t;
    election_err err = election_get(rd, chain_id, election_id, len, &rec);

    if (err != ELECTION_OK)
        return err;
    if (rec->election_key.len == 0) {
        evote__v1__election_record__free_unpacked(rec, NULL);
        return ELECTION_ERR_NOT_FOUND;
    }
    t = malloc(sizeof *t);
    if (t == NULL) {
        evote__v1__election_record__free_unpacked(rec, NULL);
        return ELECTION_ERR_NOMEM;
    }
    err = load_tally(&sv, rec->election_hash.data, record_slots(rec), t);
    if (err == ELECTION_OK) {
        if (ballots_counted)
            *ballots_counted = t->counted;
        if (ballots_accepted)
            *ballots_accepted = t->accepted;
        if (slots)
            *slots = t->slots;
        if (cts != NULL) {
            if (max < t->slots)
                err = ELECTION_ERR_ARGUMENT;
            else
                memcpy(cts, t->cts, t->slots * sizeof *cts);
        }
    }
    free(t);
    evote__v1__election_record__free_unpacked(rec, NULL);
    return err;
}

int election_voter_status(const election_state_reader *rd, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                          const uint8_t *election_id, size_t len, const uint8_t voter[CRYPTO_PUBKEY_LEN], int *voted)
{
    state_view sv = {rd, NULL, NULL};
    uint8_t e[ELECTION_HASH_LEN], key[KEY_EV_LEN], *v;
    size_t vlen;
    int r;

    if (voted)
        *voted = 0;
    if (chain_id == NULL || election_id == NULL || len == 0 || len > ELECTION_MAX_ID || voter == NULL)
        return -1;
    election_hash(chain_id, election_id, len, e);
    key_ev(key, ELECTION_KEY_VOTER, e, voter);
    r = state_get(&sv, key, sizeof key, &v, &vlen);
    if (r < 0)
        return -1;
    if (r == 0)
        return 0;
    if (vlen < 1) {
        free(v);
        return -1;
    }
    if (voted)
        *voted = v[0] == 1;
    free(v);
    return 1;
}
