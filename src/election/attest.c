/* Validators' attestations of an election's key Y and definition.
 *
 * Y is derived by every validator from the trustees' dealings on chain, but
 * a voter's client hears it from the one validator it asks. A faulty
 * validator could answer with a key of its own and read the ballots
 * encrypted to it, or with an edited list of options. Each validator
 * therefore signs E, Y and the definition's hash once Y exists, and the
 * signatures are kept on chain ('A' || E); a client encrypts only to a Y
 * that f+1 validators of its genesis signed, so at least one honest
 * validator stands behind it, whatever the node it asked. */
#include <stdlib.h>
#include <string.h>

#include "election_internal.h"

#define R(x) EVOTE__V1__TX_RESULT__TX_RESULT_##x

/* tagged_hash(tag, packed msg). Returns: 1, or 0 (NULL or out of memory). */
static int hash_packed(const ProtobufCMessage *msg, const char *tag, uint8_t out[CRYPTO_HASH_LEN])
{
    size_t len;
    uint8_t *buf;

    if (msg == NULL)
        return 0;
    len = protobuf_c_message_get_packed_size(msg);
    buf = malloc(len ? len : 1);
    if (buf == NULL)
        return 0;
    protobuf_c_message_pack(msg, buf);
    crypto_tagged_hash(tag, buf, len, out);
    free(buf);
    return 1;
}

int election_definition_hash(const Evote__V1__ElectionCreate *def, uint8_t out[CRYPTO_HASH_LEN])
{
    return hash_packed(def ? &def->base : NULL, ELECTION_DEFINITION_TAG, out);
}

int election_result_hash(const Evote__V1__ElectionResult *res, uint8_t out[CRYPTO_HASH_LEN])
{
    return hash_packed(res ? &res->base : NULL, ELECTION_RESULT_TAG, out);
}

int election_key_attest_msg(const Evote__V1__ElectionRecord *rec, election_attest_msg *out)
{
    if (rec == NULL || rec->election_hash.len != ELECTION_HASH_LEN || rec->election_key.len != EC_POINT_LEN)
        return 0;
    out->tag = ELECTION_ATTEST_TAG;
    out->len = ELECTION_ATTEST_MSG_LEN;
    memcpy(out->msg, rec->election_hash.data, ELECTION_HASH_LEN);
    memcpy(out->msg + ELECTION_HASH_LEN, rec->election_key.data, EC_POINT_LEN);
    return election_definition_hash(rec->definition, out->msg + ELECTION_HASH_LEN + EC_POINT_LEN);
}

int election_result_attest_msg(const Evote__V1__ElectionRecord *rec, const Evote__V1__ElectionResult *res,
                               election_attest_msg *out)
{
    if (!election_key_attest_msg(rec, out) || !election_result_hash(res, out->msg + ELECTION_ATTEST_MSG_LEN))
        return 0;
    out->tag = ELECTION_RESULT_ATTEST_TAG;
    out->len = ELECTION_RESULT_ATTEST_MSG_LEN;
    return 1;
}

uint32_t election_attestation_validator(const uint8_t entry[ELECTION_ATTEST_ENTRY_LEN])
{
    return (uint32_t)entry[0] << 24 | (uint32_t)entry[1] << 16 | (uint32_t)entry[2] << 8 | entry[3];
}

election_err election_get_attestations(const election_state_reader *rd, const uint8_t chain_id[CRYPTO_CHAIN_ID_LEN],
                                       const uint8_t *election_id, size_t len, int result, uint8_t **value,
                                       size_t *value_len)
{
    state_view sv = {rd, NULL, NULL};
    uint8_t e[ELECTION_HASH_LEN], key[KEY_E_LEN];
    int r;

    if (value == NULL || value_len == NULL || chain_id == NULL || election_id == NULL || len == 0 ||
        len > ELECTION_MAX_ID)
        return ELECTION_ERR_ARGUMENT;
    election_hash(chain_id, election_id, len, e);
    key_e(key, result ? ELECTION_KEY_RESULT_ATTESTATION : ELECTION_KEY_ATTESTATION, e);
    r = state_get(&sv, key, sizeof key, value, value_len);
    if (r < 0)
        return get_err(r);
    if (r == 0) {
        *value = NULL;
        *value_len = 0;
        return ELECTION_OK;
    }
    if (*value_len % ELECTION_ATTEST_ENTRY_LEN != 0) {
        free(*value);
        *value = NULL;
        *value_len = 0;
        return ELECTION_ERR_CORRUPT;
    }
    return ELECTION_OK;
}

uint32_t election_count_attestations(const election_attest_msg *m, const uint32_t *validators,
                                     const uint8_t (*sigs)[CRYPTO_SIG_LEN], size_t n_att,
                                     const uint8_t (*keys)[CRYPTO_PUBKEY_LEN], uint32_t n_keys, uint8_t *vouched)
{
    uint8_t *seen;
    uint32_t count = 0;

    if (vouched != NULL && n_keys > 0)
        memset(vouched, 0, n_keys);
    if (n_keys == 0)
        return 0;
    seen = calloc(n_keys, 1);
    if (seen == NULL)
        return 0;
    for (size_t i = 0; i < n_att; i++) {
        uint32_t v = validators[i];
        if (v >= n_keys || seen[v])
            continue;
        if (crypto_verify(keys[v], m->tag, m->msg, m->len, sigs[i]) != CRYPTO_OK)
            continue;
        seen[v] = 1;
        count++;
    }
    if (vouched != NULL)
        memcpy(vouched, seen, n_keys);
    free(seen);
    return count;
}

uint32_t election_count_stored_attestations(const election_attest_msg *m, const uint8_t *value, size_t len,
                                            const uint8_t (*keys)[CRYPTO_PUBKEY_LEN], uint32_t n_keys,
                                            uint8_t *vouched)
{
    size_t n = len / ELECTION_ATTEST_ENTRY_LEN;
    uint32_t *idx = calloc(n ? n : 1, sizeof *idx), count = 0;
    uint8_t(*sigs)[CRYPTO_SIG_LEN] = calloc(n ? n : 1, sizeof *sigs);

    if (idx != NULL && sigs != NULL) {
        for (size_t i = 0; i < n; i++) {
            idx[i] = election_attestation_validator(value + i * ELECTION_ATTEST_ENTRY_LEN);
            memcpy(sigs[i], value + i * ELECTION_ATTEST_ENTRY_LEN + 4, CRYPTO_SIG_LEN);
        }
        count = election_count_attestations(m, idx, (const uint8_t(*)[CRYPTO_SIG_LEN])sigs, n, keys, n_keys,
                                            vouched);
    } else if (vouched != NULL && n_keys > 0) {
        memset(vouched, 0, n_keys);
    }
    free(idx);
    free(sigs);
    return count;
}

/* ElectionAttestation: by a genesis validator, once Y exists (with
 * result_hash: once the result is recorded), naming this record's Y and
 * definition (and result), with a signature that verifies under the
 * envelope's signer; one of each per validator and election. */
election_err rule_attest(const election_ctx *ctx, const election_tx *tx, const state_view *sv,
                         Evote__V1__ElectionRecord *rec, Evote__V1__TxResult *res)
{
    const Evote__V1__ElectionAttestation *a = tx->body->election_attestation;
    Evote__V1__ElectionResult *result = NULL;
    election_attest_msg m;
    uint8_t key[KEY_E_LEN], *old = NULL, *entries, *v;
    size_t old_len = 0, vlen;
    election_err err;
    int idx, r;

    idx = ctx->validator_index ? ctx->validator_index(ctx->authority_arg, tx->signer) : -1;
    if (idx < 0) {
        *res = R(NOT_AUTHORIZED);
        return ELECTION_OK;
    }
    if (rec->election_key.len != EC_POINT_LEN) {
        *res = R(NO_ELECTION_KEY);
        return ELECTION_OK;
    }
    if (a->election_key.len != EC_POINT_LEN || a->definition_hash.len != CRYPTO_HASH_LEN ||
        a->signature.len != CRYPTO_SIG_LEN || (a->result_hash.len != 0 && a->result_hash.len != CRYPTO_HASH_LEN)) {
        *res = R(MALFORMED);
        return ELECTION_OK;
    }
    if (a->result_hash.len != 0) {
        key_e(key, ELECTION_KEY_RESULT, rec->election_hash.data);
        r = state_get(sv, key, sizeof key, &v, &vlen);
        if (r < 0)
            return get_err(r);
        if (r == 0) {
            *res = R(WRONG_PHASE); /* no result yet */
            return ELECTION_OK;
        }
        result = evote__v1__election_result__unpack(NULL, vlen, v);
        free(v);
        if (result == NULL)
            return ELECTION_ERR_CORRUPT;
        r = election_result_attest_msg(rec, result, &m);
        evote__v1__election_result__free_unpacked(result, NULL);
    } else {
        r = election_key_attest_msg(rec, &m);
    }
    if (!r)
        return ELECTION_ERR_NOMEM;
    if (memcmp(a->election_key.data, m.msg + ELECTION_HASH_LEN, EC_POINT_LEN) != 0 ||
        memcmp(a->definition_hash.data, m.msg + ELECTION_HASH_LEN + EC_POINT_LEN, CRYPTO_HASH_LEN) != 0 ||
        (a->result_hash.len != 0 &&
         memcmp(a->result_hash.data, m.msg + ELECTION_ATTEST_MSG_LEN, CRYPTO_HASH_LEN) != 0)) {
        *res = R(ATTESTATION_MISMATCH);
        return ELECTION_OK;
    }
    if (crypto_verify(tx->signer, m.tag, m.msg, m.len, a->signature.data) != CRYPTO_OK) {
        *res = R(BAD_SIGNATURE);
        return ELECTION_OK;
    }
    key_e(key, a->result_hash.len ? ELECTION_KEY_RESULT_ATTESTATION : ELECTION_KEY_ATTESTATION,
          rec->election_hash.data);
    r = state_get(sv, key, sizeof key, &old, &old_len);
    if (r < 0)
        return get_err(r);
    if (old_len % ELECTION_ATTEST_ENTRY_LEN != 0) {
        free(old);
        return ELECTION_ERR_CORRUPT;
    }
    for (size_t i = 0; i < old_len; i += ELECTION_ATTEST_ENTRY_LEN)
        if (election_attestation_validator(old + i) == (uint32_t)idx) {
            free(old);
            *res = R(ALREADY_SUBMITTED);
            return ELECTION_OK;
        }
    entries = realloc(old, old_len + ELECTION_ATTEST_ENTRY_LEN);
    if (entries == NULL) {
        free(old);
        return ELECTION_ERR_NOMEM;
    }
    entries[old_len] = (uint8_t)((uint32_t)idx >> 24);
    entries[old_len + 1] = (uint8_t)((uint32_t)idx >> 16);
    entries[old_len + 2] = (uint8_t)((uint32_t)idx >> 8);
    entries[old_len + 3] = (uint8_t)idx;
    memcpy(entries + old_len + 4, a->signature.data, CRYPTO_SIG_LEN);
    err = changes_set(sv->tx, key, sizeof key, entries, old_len + ELECTION_ATTEST_ENTRY_LEN, 0) ? ELECTION_OK
                                                                                                 : ELECTION_ERR_NOMEM;
    free(entries);
    if (err == ELECTION_OK)
        *res = R(OK);
    return err;
}
