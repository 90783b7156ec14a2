/* Read helpers for the CLI, the client API and the auditor: the election,
 * its result, its tally, a voter's status and a tracking code, from state. */
#include <inttypes.h>
#include <stdio.h>
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

int election_judge_claim(const election_claim *c, const Evote__V1__TrackingRecord *final,
                         uint64_t replacement_height, const Evote__V1__ElectionRecord *rec, uint64_t time_at_height,
                         char *why, size_t why_len)
{
    const int COUNTED = EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_COUNTED;
    const int REPLACED = EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_REPLACED;
    Evote__V1__ElectionRecord then;
    int replaced, closed;

    if (final == NULL) {
        snprintf(why, why_len, "the chain holds no accepted ballot with this code");
        return 0;
    }
    if (final->height > c->height) {
        snprintf(why, why_len, "the ballot is in block %" PRIu64 ", above height %" PRIu64 " the claim speaks for",
                 final->height, c->height);
        return 0;
    }
    replaced = final->status == REPLACED && replacement_height <= c->height;
    if (c->status == COUNTED && replaced) {
        snprintf(why, why_len, "a later ballot of the same voter replaced it in block %" PRIu64 ", at or below height %" PRIu64,
                 replacement_height, c->height);
        return 0;
    }
    if (c->status == REPLACED && !replaced) {
        snprintf(why, why_len, "no later ballot of the voter had replaced it at height %" PRIu64, c->height);
        return 0;
    }
    if (c->status == REPLACED &&
        (c->replaced_by == NULL || final->replaced_by.len != CRYPTO_HASH_LEN ||
         memcmp(c->replaced_by, final->replaced_by.data, CRYPTO_HASH_LEN) != 0)) {
        snprintf(why, why_len, "another ballot replaced it than the one the claim names");
        return 0;
    }
    if (c->status != COUNTED && c->status != REPLACED) {
        snprintf(why, why_len, "the claim says neither COUNTED nor REPLACED");
        return 0;
    }
    /* Closed at that height: an early close counts from its own height. */
    if (rec == NULL || rec->definition == NULL) {
        snprintf(why, why_len, "the ballot's election is not in the chain");
        return 0;
    }
    then = *rec;
    then.closed = rec->closed && rec->closed_height <= c->height;
    closed = election_polls_closed_after(&then, c->height, time_at_height);
    if (!!c->polls_closed != closed) {
        snprintf(why, why_len, "the polls were %s after height %" PRIu64, closed ? "closed" : "still open", c->height);
        return 0;
    }
    snprintf(why, why_len, "%s at height %" PRIu64 "%s", c->status == COUNTED ? "counted" : "replaced", c->height,
             closed ? ", the polls closed" : ", the polls open");
    return 1;
}
