/* Fuzz target: the election calls of the client API (GetElection,
 * GetResult, Track, GetState; src/node/api_election.c), which anyone who
 * reaches a validator may send. The store holds the state of the whole
 * election in tests/fuzz/corpus/election/full-election, executed once at
 * start (fuzz_exec.c) and written with chain_store_put_state. Each input is
 * an ApiRequest; the answer must pack, or abort(). Track answers are
 * signed with a fixed key. The store holds no blocks, so Track stops at
 * "not in the chain": its record and signing paths are left to the cluster
 * tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.pb-c.h"
#include "api_election.h"
#include "chain_store.h"
#include "fuzz.h"
#include "fuzz_exec.h"

#ifndef FUZZ_CORPUS_DIR
#define FUZZ_CORPUS_DIR "tests/fuzz/corpus"
#endif

static const char *dir;
static chain_store *store;
static uint8_t chain_id[32];
static signing_key *key;

static void cleanup(void)
{
    chain_store_destroy(&store);
    signing_key_destroy(&key);
}

static void ignore_result(void *ctx, Evote__V1__TxResult r)
{
    (void)ctx;
    (void)r;
}

static void put_change(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int del)
{
    chain_store_state_change c = {k, kl, v, del ? 0 : vl, del};
    (void)ctx;
    if (chain_store_put_state(store, &c, 1) != STORE_OK)
        abort();
}

static void init(void)
{
    uint8_t secret[CRYPTO_SECKEY_LEN], *seed = NULL;
    size_t len = 0;
    FILE *f;
    fuzz_exec_out out = {ignore_result, put_change, NULL};

    if (store != NULL)
        return;
    dir = fuzz_tmpdir("api");
    atexit(cleanup); /* before the directory goes */
    crypto_tagged_hash("fuzz/key", (const uint8_t *)"k", 1, secret);
    if (signing_key_from_secret(secret, &key) != CRYPTO_OK)
        abort();
    f = fopen(FUZZ_CORPUS_DIR "/election/full-election", "rb");
    if (f != NULL) {
        seed = malloc(1 << 20);
        if (seed == NULL)
            abort();
        len = fread(seed, 1, 1 << 20, f);
        fclose(f);
    }
    memset(chain_id, 0, sizeof chain_id);
    if (len >= 32)
        memcpy(chain_id, seed, 32);
    if (chain_store_open(dir, chain_id, NULL, &store, NULL) != STORE_OK)
        abort();
    if (len > 0)
        (void)fuzz_exec_election(seed, len, 1, &out, chain_id);
    else
        fprintf(stderr, "fuzz_api: %s/election/full-election not found: an empty store\n", FUZZ_CORPUS_DIR);
    free(seed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Evote__V1__ApiRequest *q;
    Evote__V1__ApiResponse r = EVOTE__V1__API_RESPONSE__INIT;
    api_signer who = {NULL, 1};
    void *scratch = NULL;

    init();
    who.key = key;
    q = evote__v1__api_request__unpack(NULL, size, data);
    if (q == NULL)
        return 0;
    if (api_election_handle(store, chain_id, &who, q, &r, &scratch)) {
        size_t len = evote__v1__api_response__get_packed_size(&r);
        uint8_t *buf = malloc(len ? len : 1);
        if (buf == NULL || evote__v1__api_response__pack(&r, buf) != len)
            abort();
        free(buf);
    }
    api_election_scratch_free(&scratch);
    evote__v1__api_request__free_unpacked(q, NULL);
    return 0;
}

static void emit_request(fuzz_emit emit, void *ctx, Evote__V1__ApiRequest *req)
{
    size_t len = evote__v1__api_request__get_packed_size(req);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL)
        return;
    evote__v1__api_request__pack(req, buf);
    emit(ctx, buf, len);
    free(buf);
}

void fuzz_seeds(fuzz_emit emit, void *ctx)
{
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__GetElection ge = EVOTE__V1__GET_ELECTION__INIT;
    Evote__V1__GetResult gr = EVOTE__V1__GET_RESULT__INIT;
    Evote__V1__Track tr = EVOTE__V1__TRACK__INIT;
    Evote__V1__GetState gs = EVOTE__V1__GET_STATE__INIT;
    uint8_t code[32] = {0x27, 0x54};

    req.request_id = 7;
    ge.election_id.data = (uint8_t *)"city-2026";
    ge.election_id.len = 9;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_ELECTION;
    req.get_election = &ge;
    emit_request(emit, ctx, &req);
    gr.election_id = ge.election_id;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_RESULT;
    req.get_result = &gr;
    emit_request(emit, ctx, &req);
    tr.code.data = code;
    tr.code.len = sizeof code;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_TRACK;
    req.track = &tr;
    emit_request(emit, ctx, &req);
    gs.key.data = (uint8_t *)"Tcity-2026";
    gs.key.len = 10;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_STATE;
    req.get_state = &gs;
    emit_request(emit, ctx, &req);
}
