/* The election execution shared by the fuzz targets (fuzz_exec.h). */
#include <stdlib.h>
#include <string.h>

#include "election.h"
#include "fuzz_exec.h"
#include "ledger.h"

typedef struct {
    const uint8_t *auth, *val;
    size_t n_auth, n_val;
} keys;

static int is_authority(void *arg, const uint8_t *pubkey)
{
    const keys *k = arg;
    for (size_t i = 0; i < k->n_auth; i++)
        if (memcmp(k->auth + 32 * i, pubkey, 32) == 0)
            return 1;
    return 0;
}

static int validator_index(void *arg, const uint8_t *pubkey)
{
    const keys *k = arg;
    for (size_t i = 0; i < k->n_val; i++)
        if (memcmp(k->val + 32 * i, pubkey, 32) == 0)
            return (int)i;
    return -1;
}

static int mem_get(void *ctx, const uint8_t *key, size_t key_len, uint8_t **value, size_t *len)
{
    election_changes *kv = ctx;
    const uint8_t *v;
    size_t n;
    if (election_changes_find(kv, key, key_len, &v, &n) != 1)
        return 0;
    *value = malloc(n ? n : 1);
    if (*value == NULL)
        return -1;
    memcpy(*value, v, n);
    *len = n;
    return 1;
}

static void exec_records(const uint8_t *chain_id, const keys *k, const uint8_t *data, size_t size, int precheck,
                         const fuzz_exec_out *out)
{
    election_changes *state = election_changes_new(), *block = election_changes_new();
    election_cache *cache = NULL;
    election_state_reader rd = {mem_get, state};
    election_ctx ctx = {chain_id, 0, 1000, is_authority, validator_index, (void *)k, NULL};
    size_t at = 0;

    if (state == NULL || block == NULL || election_cache_new(chain_id, &cache) != ELECTION_OK)
        abort();
    ctx.cache = cache;
    while (size - at >= 3) {
        size_t len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
        ledger_tx *tx = NULL;
        crypto_err detail;
        Evote__V1__TxResult result = EVOTE__V1__TX_RESULT__TX_RESULT_UNSPECIFIED;
        uint64_t tip_time = ctx.time_ms;

        ctx.height += data[at];
        ctx.time_ms += 1000u * data[at];
        at += 3;
        if (len > size - at)
            len = size - at;
        election_changes_clear(block);
        if (ledger_tx_decode_committed(data + at, len, chain_id, &tx, &detail) != LEDGER_OK) {
            out->result(out->ctx, EVOTE__V1__TX_RESULT__TX_RESULT_MALFORMED);
        } else if (election_is_election_payload(tx->body)) {
            election_tx etx = {tx->body, tx->envelope->signer.data, tx->id, 0, NULL, 0};
            elgamal_ct cts[ELECTION_MAX_SLOTS];
            size_t ncts = 0;
            if (precheck && tx->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_BALLOT) {
                etx.ballot_verified = election_precheck_ballot(cache, tx->body, etx.signer, cts,
                                                               ELECTION_MAX_SLOTS, &ncts) ==
                                      EVOTE__V1__TX_RESULT__TX_RESULT_OK;
                if (etx.ballot_verified && ctx.height % 2 == 0) {
                    etx.ballot_cts = cts;
                    etx.n_ballot_cts = ncts;
                }
            }
            /* The mempool's state gate, asked at the tip before this block
             * (as current as it gets), never refuses what the block then
             * accepts. */
            Evote__V1__TxResult gate = EVOTE__V1__TX_RESULT__TX_RESULT_OK;
            if (ctx.height >= 1)
                gate = election_admit(&rd, chain_id, tx->body, etx.signer, tx->id, ctx.height - 1, tip_time, 1, NULL);
            if (election_apply(&ctx, &etx, &rd, block, &result) != ELECTION_OK)
                result = EVOTE__V1__TX_RESULT__TX_RESULT_UNSPECIFIED; /* a local failure: noted as such */
            else if (result == EVOTE__V1__TX_RESULT__TX_RESULT_OK && gate != EVOTE__V1__TX_RESULT__TX_RESULT_OK &&
                     gate != EVOTE__V1__TX_RESULT__TX_RESULT_UNSPECIFIED)
                abort(); /* the gate refused a transaction the rules accept */
            out->result(out->ctx, result);
            for (size_t i = 0; i < election_changes_count(block); i++) {
                const uint8_t *key, *v;
                size_t kl, vl;
                int del;
                election_changes_at(block, i, &key, &kl, &v, &vl, &del);
                if (!del && !election_changes_put(state, key, kl, v, vl))
                    abort();
                out->change(out->ctx, key, kl, v, vl, del);
            }
        } else {
            out->result(out->ctx, EVOTE__V1__TX_RESULT__TX_RESULT_OK);
        }
        ledger_tx_destroy(&tx);
        at += len;
    }
    election_cache_destroy(&cache);
    election_changes_destroy(&block);
    election_changes_destroy(&state);
}

int fuzz_exec_election(const uint8_t *data, size_t size, int precheck, const fuzz_exec_out *out,
                       uint8_t chain_id[32])
{
    keys k = {0};
    size_t at = 32;

    if (size < at + 1)
        return 0;
    memcpy(chain_id, data, 32);
    k.n_auth = data[at++] % 3;
    k.auth = data + at;
    at += 32 * k.n_auth;
    if (size < at + 1)
        return 0;
    k.n_val = data[at++] % 5;
    k.val = data + at;
    at += 32 * k.n_val;
    if (size < at)
        return 0;
    exec_records(chain_id, &k, data + at, size - at, precheck, out);
    return 1;
}
