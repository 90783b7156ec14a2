/* Unit tests of the mempool: parallel verification with verdicts, dedup,
 * the busy answer at capacity, and the take/untake/commit life of a
 * pending transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger.h"

static uint8_t chain_id[32];
static signing_key *key;

static int setup(void **state)
{
    (void)state;
    crypto_tagged_hash(CRYPTO_TAG_GENESIS, (const uint8_t *)"mempool test", 12, chain_id);
    return signing_key_generate(&key) == CRYPTO_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    signing_key_destroy(&key);
    return 0;
}

typedef struct {
    uint8_t *bytes;
    size_t len;
} buf_t;

static buf_t notice(uint64_t nonce, const uint8_t *chain)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__Notice n = EVOTE__V1__NOTICE__INIT;
    buf_t b;
    n.topic = "test";
    n.text.data = (uint8_t *)"some notice text";
    n.text.len = 16;
    body.chain_id.data = (uint8_t *)chain;
    body.chain_id.len = 32;
    body.nonce = nonce;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_NOTICE;
    body.notice = &n;
    assert_int_equal(ledger_tx_seal(&body, key, &b.bytes, &b.len), CRYPTO_OK);
    return b;
}

/* Collects `want` verdicts, waiting on the fd with a generous deadline. */
static void collect(mempool *mp, mempool_verdict *out, size_t want)
{
    size_t have = 0;
    time_t deadline = time(NULL) + 60;
    while (have < want) {
        struct pollfd p = {mempool_fd(mp), POLLIN, 0};
        assert_true(time(NULL) < deadline);
        if (poll(&p, 1, 1000) > 0)
            have += mempool_poll_verdicts(mp, out + have, want - have);
    }
    /* nothing more arrives */
    struct pollfd p = {mempool_fd(mp), POLLIN, 0};
    if (poll(&p, 1, 50) > 0)
        assert_int_equal(mempool_poll_verdicts(mp, out, 1), 0);
}

static void test_valid_transactions_are_verified_and_pending(void **state)
{
    enum { N = 500 };
    mempool *mp = NULL;
    buf_t txs[N];
    mempool_verdict v[N];
    int seen[N] = {0};
    mempool_stats st;
    (void)state;
    assert_int_equal(mempool_new(chain_id, 10000, 0, &mp), LEDGER_OK);
    for (int i = 0; i < N; i++) {
        txs[i] = notice((uint64_t)i, chain_id);
        assert_int_equal(mempool_submit(mp, txs[i].bytes, txs[i].len, (uint64_t)i + 1000), LEDGER_OK);
    }
    collect(mp, v, N);
    for (int i = 0; i < N; i++) {
        uint64_t t = v[i].ticket - 1000;
        uint8_t id[32];
        assert_true(t < N);
        assert_false(seen[t]);
        seen[t] = 1;
        assert_int_equal(v[i].err, LEDGER_OK);
        assert_false(v[i].duplicate);
        envelope_txid(txs[t].bytes, txs[t].len, id);
        assert_memory_equal(v[i].id, id, 32);
        assert_true(mempool_is_verified(mp, id));
    }
    mempool_get_stats(mp, &st);
    assert_int_equal(st.pending, N);
    assert_int_equal(st.accepted, N);
    assert_int_equal(st.queued, 0);
    /* one verification in MEMPOOL_TIMING_SAMPLE is timed on its worker's
     * CPU clock (no ballot among them) */
    assert_int_equal(st.timed[0], N / MEMPOOL_TIMING_SAMPLE);
    assert_true(st.timed_ns[0] > 0);
    assert_int_equal(st.timed[1], 0);
    for (int i = 0; i < N; i++)
        free(txs[i].bytes);
    mempool_destroy(&mp);
    assert_null(mp);
}

static void test_invalid_transactions_get_a_reason_and_are_not_kept(void **state)
{
    mempool *mp = NULL;
    uint8_t other_chain[32] = {1};
    buf_t wrong = notice(1, other_chain), forged = notice(2, chain_id);
    mempool_verdict v[3];
    mempool_stats st;
    (void)state;
    forged.bytes[forged.len - 1] ^= 1; /* last byte of the signature */
    assert_int_equal(mempool_new(chain_id, 100, 2, &mp), LEDGER_OK);
    assert_int_equal(mempool_submit(mp, wrong.bytes, wrong.len, 1), LEDGER_OK);
    assert_int_equal(mempool_submit(mp, forged.bytes, forged.len, 2), LEDGER_OK);
    assert_int_equal(mempool_submit(mp, (const uint8_t *)"junk", 4, 3), LEDGER_OK);
    collect(mp, v, 3);
    for (int i = 0; i < 3; i++) {
        if (v[i].ticket == 1) {
            assert_int_equal(v[i].err, LEDGER_ERR_WRONG_CHAIN);
        } else if (v[i].ticket == 2) {
            assert_int_equal(v[i].err, LEDGER_ERR_ENVELOPE);
            assert_int_equal(v[i].detail, CRYPTO_ERR_BAD_SIGNATURE);
        } else {
            assert_int_equal(v[i].ticket, 3);
            assert_int_equal(v[i].err, LEDGER_ERR_ENVELOPE);
            assert_int_equal(v[i].detail, CRYPTO_ERR_MALFORMED);
        }
    }
    mempool_get_stats(mp, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.rejected[LEDGER_ERR_ENVELOPE], 2);
    assert_int_equal(st.rejected[LEDGER_ERR_WRONG_CHAIN], 1);
    free(wrong.bytes);
    free(forged.bytes);
    mempool_destroy(&mp);
}

static void test_same_transaction_twice_is_kept_once(void **state)
{
    mempool *mp = NULL;
    buf_t tx = notice(7, chain_id);
    mempool_verdict v[2];
    mempool_stats st;
    (void)state;
    assert_int_equal(mempool_new(chain_id, 100, 1, &mp), LEDGER_OK);
    assert_int_equal(mempool_submit(mp, tx.bytes, tx.len, 1), LEDGER_OK);
    collect(mp, v, 1);
    assert_false(v[0].duplicate);
    assert_int_equal(mempool_submit(mp, tx.bytes, tx.len, 2), LEDGER_OK);
    collect(mp, v + 1, 1);
    assert_int_equal(v[1].err, LEDGER_OK);
    assert_true(v[1].duplicate);
    assert_memory_equal(v[0].id, v[1].id, 32);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.pending, 1);
    assert_int_equal(st.duplicates, 1);
    /* The second copy was recognised by its id, not verified again. */
    assert_int_equal(st.verified, 1);
    assert_int_equal(st.skipped, 1);
    free(tx.bytes);
    mempool_destroy(&mp);
}

static buf_t signed_body(Evote__V1__TxBody *body, const signing_key *k)
{
    buf_t b;
    body->chain_id.data = chain_id;
    body->chain_id.len = 32;
    assert_int_equal(ledger_tx_seal(body, k, &b.bytes, &b.len), CRYPTO_OK);
    return b;
}

/* With the genesis set, what only an authority (or a validator) may sign is
 * refused from any other key with its own reason, and never kept; a ballot
 * may come from any key (the election's state decides). */
/* A ballot body for election "e1" whose encrypted ballot is blob. */
static void ballot_body(Evote__V1__TxBody *bb, Evote__V1__Ballot *bal, uint8_t *blob, size_t n)
{
    bal->election_id.data = (uint8_t *)"e1";
    bal->election_id.len = 2;
    bal->encrypted_ballot.data = blob;
    bal->encrypted_ballot.len = n;
    bb->payload_case = EVOTE__V1__TX_BODY__PAYLOAD_BALLOT;
    bb->ballot = bal;
}

static void test_signers_outside_the_genesis_are_refused(void **state)
{
    signing_key *stranger = NULL, *validator = NULL;
    genesis_authority auth;
    genesis_validator val;
    genesis g;
    mempool *mp = NULL;
    uint8_t point[33], hash[32], sig[64], blob[100];
    Evote__V1__Notice n = EVOTE__V1__NOTICE__INIT;
    Evote__V1__ElectionAttestation at = EVOTE__V1__ELECTION_ATTESTATION__INIT;
    Evote__V1__Ballot bal = EVOTE__V1__BALLOT__INIT;
    Evote__V1__TxBody bn = EVOTE__V1__TX_BODY__INIT, ba = EVOTE__V1__TX_BODY__INIT, bb = EVOTE__V1__TX_BODY__INIT;
    enum { N = 6 };
    buf_t txs[N];
    /* ticket i+1: what each should get */
    const ledger_err want[N] = {LEDGER_OK, LEDGER_ERR_NOT_AUTHORIZED, LEDGER_OK, LEDGER_ERR_NOT_AUTHORIZED,
                                LEDGER_OK, LEDGER_ERR_ENVELOPE};
    mempool_verdict v[N];
    mempool_stats st;
    (void)state;

    assert_int_equal(signing_key_generate(&stranger), CRYPTO_OK);
    assert_int_equal(signing_key_generate(&validator), CRYPTO_OK);
    memset(&g, 0, sizeof g);
    memset(&auth, 0, sizeof auth);
    memset(&val, 0, sizeof val);
    memcpy(g.chain_id, chain_id, 32);
    signing_key_pubkey(key, auth.pubkey);
    signing_key_pubkey(validator, val.pubkey);
    g.n_authorities = 1;
    g.authorities = &auth;
    g.n = 1;
    g.validators = &val;

    n.topic = "test";
    n.text.data = (uint8_t *)"text";
    n.text.len = 4;
    bn.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_NOTICE;
    bn.notice = &n;
    memset(point, 2, sizeof point);
    memset(hash, 3, sizeof hash);
    memset(sig, 4, sizeof sig);
    at.election_id.data = (uint8_t *)"e1";
    at.election_id.len = 2;
    at.election_key.data = point;
    at.election_key.len = sizeof point;
    at.definition_hash.data = hash;
    at.definition_hash.len = sizeof hash;
    at.signature.data = sig;
    at.signature.len = sizeof sig;
    ba.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_ATTESTATION;
    ba.election_attestation = &at;
    memset(blob, 5, sizeof blob);
    ballot_body(&bb, &bal, blob, sizeof blob);

    txs[0] = signed_body(&bn, key);       /* a notice by the authority */
    bn.nonce = 1;
    txs[1] = signed_body(&bn, stranger);  /* by anyone else */
    txs[2] = signed_body(&ba, validator); /* an attestation by a validator */
    ba.nonce = 1;
    txs[3] = signed_body(&ba, key);       /* by an authority that is no validator */
    txs[4] = signed_body(&bb, stranger);  /* a ballot: any key */
    bn.nonce = 2;
    txs[5] = signed_body(&bn, stranger);
    txs[5].bytes[txs[5].len - 1] ^= 1;    /* a bad signature is still that first */

    assert_int_equal(mempool_new(chain_id, 100, 2, &mp), LEDGER_OK);
    mempool_set_genesis(mp, &g);
    for (int i = 0; i < N; i++)
        assert_int_equal(mempool_submit(mp, txs[i].bytes, txs[i].len, (uint64_t)i + 1), LEDGER_OK);
    collect(mp, v, N);
    for (int i = 0; i < N; i++) {
        uint8_t id[32];
        size_t t = (size_t)v[i].ticket - 1;
        assert_true(t < N);
        assert_int_equal(v[i].err, want[t]);
        envelope_txid(txs[t].bytes, txs[t].len, id);
        assert_int_equal(mempool_is_verified(mp, id), want[t] == LEDGER_OK);
    }
    mempool_get_stats(mp, &st);
    assert_int_equal(st.pending, 3);
    assert_int_equal(st.rejected[LEDGER_ERR_NOT_AUTHORIZED], 2);
    assert_int_equal(st.refused[EVOTE__V1__TX_RESULT__TX_RESULT_NOT_AUTHORIZED], 2);
    assert_int_equal(ledger_result_for(LEDGER_ERR_NOT_AUTHORIZED, CRYPTO_OK),
                     EVOTE__V1__TX_RESULT__TX_RESULT_NOT_AUTHORIZED);
    assert_non_null(strstr(ledger_strerror(LEDGER_ERR_NOT_AUTHORIZED), "election authority of the genesis"));
    for (int i = 0; i < N; i++)
        free(txs[i].bytes);
    mempool_destroy(&mp);
    signing_key_destroy(&stranger);
    signing_key_destroy(&validator);
}

/* The state as the gate sees it: voted[b], the voter of the ballots whose
 * blob starts with b has voted (ALREADY_VOTED, final); another odd b is not
 * on the roll (NOT_REGISTERED, a later block may change it); it cannot tell
 * for a 2, and lets the rest through. ctx must be &gate_calls. */
static int voted[256], gate_calls, gate_wrong;
static Evote__V1__TxResult world_gate(void *ctx, const Evote__V1__TxBody *body, const uint8_t signer[CRYPTO_PUBKEY_LEN],
                                      const uint8_t id[CRYPTO_HASH_LEN], int *final)
{
    uint8_t first;
    (void)signer;
    (void)id;
    /* On a worker thread: no cmocka assertion here. */
    if (ctx != &gate_calls)
        __atomic_add_fetch(&gate_wrong, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&gate_calls, 1, __ATOMIC_SEQ_CST);
    if (body->payload_case != EVOTE__V1__TX_BODY__PAYLOAD_BALLOT)
        return EVOTE__V1__TX_RESULT__TX_RESULT_OK;
    first = body->ballot->encrypted_ballot.data[0];
    if (__atomic_load_n(&voted[first], __ATOMIC_SEQ_CST)) {
        *final = 1;
        return EVOTE__V1__TX_RESULT__TX_RESULT_ALREADY_VOTED;
    }
    if (first == 2)
        return EVOTE__V1__TX_RESULT__TX_RESULT_UNSPECIFIED;
    return first % 2 ? EVOTE__V1__TX_RESULT__TX_RESULT_NOT_REGISTERED : EVOTE__V1__TX_RESULT__TX_RESULT_OK;
}

/* The state gate is asked about a client's transactions only: one passed
 * on by another validator, or in a proposed block, is not its to refuse. */
static void test_state_gate_applies_to_clients_transactions(void **state)
{
    mempool *mp = NULL;
    Evote__V1__Ballot bal = EVOTE__V1__BALLOT__INIT;
    Evote__V1__TxBody bb = EVOTE__V1__TX_BODY__INIT;
    uint8_t blob[100];
    enum { N = 7 };
    buf_t txs[N];
    const uint8_t first[N] = {5, 4, 2, 7, 9, 3, 0}; /* 0: the notice */
    const uint64_t ticket[N] = {1, 2, 3, 0, 1u << 20, 7, 6};
    mempool_verdict v[N];
    mempool_stats st;
    (void)state;

    ballot_body(&bb, &bal, blob, sizeof blob);
    for (int i = 0; i < N - 1; i++) {
        memset(blob, first[i], sizeof blob);
        txs[i] = signed_body(&bb, key);
    }
    txs[N - 1] = notice(1, chain_id);

    assert_int_equal(mempool_new(chain_id, 100, 2, &mp), LEDGER_OK);
    memset(voted, 0, sizeof voted);
    voted[3] = 1;
    gate_calls = gate_wrong = 0;
    mempool_set_state_gate(mp, world_gate, &gate_calls);
    for (int i = 0; i < N; i++) {
        if (i == 4) /* a proposal's */
            assert_int_equal(mempool_submit_first(mp, txs[i].bytes, txs[i].len, ticket[i]), LEDGER_OK);
        else
            assert_int_equal(mempool_submit(mp, txs[i].bytes, txs[i].len, ticket[i]), LEDGER_OK);
    }
    collect(mp, v, N);
    for (int i = 0; i < N; i++) {
        int t = -1;
        for (int k = 0; k < N; k++)
            if (ticket[k] == v[i].ticket)
                t = k;
        assert_true(t >= 0);
        if (t == 0) {        /* a client's, refused; a later block may change that: handed back */
            assert_int_equal(v[i].err, LEDGER_ERR_RULES);
            assert_int_equal(v[i].rule, EVOTE__V1__TX_RESULT__TX_RESULT_NOT_REGISTERED);
            assert_true(v[i].by_state);
            assert_true(v[i].may_change);
            assert_int_equal(v[i].len, txs[t].len);
            assert_memory_equal(v[i].bytes, txs[t].bytes, txs[t].len);
            free(v[i].bytes);
        } else if (t == 5) { /* refused for good: nothing handed back */
            assert_int_equal(v[i].err, LEDGER_ERR_RULES);
            assert_int_equal(v[i].rule, EVOTE__V1__TX_RESULT__TX_RESULT_ALREADY_VOTED);
            assert_null(v[i].bytes);
            assert_true(v[i].by_state);
            assert_false(v[i].may_change);
        } else {             /* passed by the gate, undecided, or not asked */
            assert_int_equal(v[i].err, LEDGER_OK);
            assert_false(v[i].by_state);
            assert_null(v[i].bytes);
        }
    }
    assert_int_equal(gate_calls, 5); /* the four client ballots and the client's notice */
    assert_int_equal(gate_wrong, 0);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.pending, N - 2);
    /* the refused ones' bytes are not counted: one freed, one handed back */
    assert_int_equal(st.bytes, txs[1].len + txs[2].len + txs[3].len + txs[4].len + txs[6].len);
    /* a refusal handed back is counted when it is final: asked again */
    assert_int_equal(st.rejected[LEDGER_ERR_RULES], 1);
    assert_int_equal(st.refused[EVOTE__V1__TX_RESULT__TX_RESULT_NOT_REGISTERED], 0);
    assert_int_equal(mempool_submit_gated(mp, txs[0].bytes, txs[0].len, 100, MEMPOOL_GATE_FINAL), LEDGER_OK);
    collect(mp, v, 1);
    assert_int_equal(v[0].ticket, 100);
    assert_int_equal(v[0].err, LEDGER_ERR_RULES);
    assert_int_equal(v[0].rule, EVOTE__V1__TX_RESULT__TX_RESULT_NOT_REGISTERED);
    assert_null(v[0].bytes);
    assert_true(v[0].may_change); /* final here, not for a validator further on */
    mempool_get_stats(mp, &st);
    assert_int_equal(st.rejected[LEDGER_ERR_RULES], 2);
    assert_int_equal(st.refused[EVOTE__V1__TX_RESULT__TX_RESULT_NOT_REGISTERED], 1);
    assert_int_equal(gate_calls, 6);
    assert_int_equal(st.refused[EVOTE__V1__TX_RESULT__TX_RESULT_ALREADY_VOTED], 1);
    for (int i = 0; i < N; i++)
        free(txs[i].bytes);
    mempool_destroy(&mp);
}

/* What another validator passes on (MEMPOOL_GATE_FINAL_ONLY) is refused
 * only for good: the rest is the block's to decide. mempool_sweep then
 * drops a pending one once the state refuses it for good: only what the
 * state decides, each not asked twice in a row, and not what a proposal
 * took. */
static void test_passed_on_transactions_are_refused_for_good_only_and_swept(void **state)
{
    mempool *mp = NULL;
    Evote__V1__Ballot bal = EVOTE__V1__BALLOT__INIT;
    Evote__V1__TxBody bb = EVOTE__V1__TX_BODY__INIT;
    uint8_t blob[100];
    enum { N = 4 };
    buf_t txs[N];
    const uint8_t first[N - 1] = {3, 5, 4};
    mempool_verdict v[N];
    mempool_tx taken[N];
    mempool_stats st;
    (void)state;

    memset(voted, 0, sizeof voted);
    voted[3] = 1;
    ballot_body(&bb, &bal, blob, sizeof blob);
    for (int i = 0; i < N - 1; i++) {
        memset(blob, first[i], sizeof blob);
        txs[i] = signed_body(&bb, key);
    }
    txs[N - 1] = notice(1, chain_id);
    assert_int_equal(mempool_new(chain_id, 100, 2, &mp), LEDGER_OK);
    gate_calls = gate_wrong = 0;
    mempool_set_state_gate(mp, world_gate, &gate_calls);
    for (int i = 0; i < N; i++)
        assert_int_equal(mempool_submit_gated(mp, txs[i].bytes, txs[i].len, 0, MEMPOOL_GATE_FINAL_ONLY), LEDGER_OK);
    collect(mp, v, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(v[i].ticket, 0);
        assert_null(v[i].bytes); /* nothing handed back: nobody to answer */
        if (v[i].err != LEDGER_OK) {
            assert_int_equal(v[i].err, LEDGER_ERR_RULES);
            assert_int_equal(v[i].rule, EVOTE__V1__TX_RESULT__TX_RESULT_ALREADY_VOTED);
        }
    }
    assert_int_equal(gate_calls, N);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.pending, 3); /* not on the roll yet, OK, the notice */
    assert_int_equal(st.refused[EVOTE__V1__TX_RESULT__TX_RESULT_ALREADY_VOTED], 1);
    assert_int_equal(st.refused[EVOTE__V1__TX_RESULT__TX_RESULT_NOT_REGISTERED], 0);

    /* Ballot 4's voter votes with another ballot: the next sweep drops
     * it; ballot 5 stays, the notice is not asked. */
    voted[4] = 1;
    assert_int_equal(mempool_sweep(mp, 16), 1);
    assert_int_equal(gate_calls, N + 2);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.pending, 2);
    assert_int_equal(st.swept, 1);
    assert_int_equal(st.refused[EVOTE__V1__TX_RESULT__TX_RESULT_ALREADY_VOTED], 2);
    {
        uint8_t id4[CRYPTO_HASH_LEN], id5[CRYPTO_HASH_LEN];
        const uint8_t *b;
        size_t l;
        envelope_txid(txs[2].bytes, txs[2].len, id4);
        envelope_txid(txs[1].bytes, txs[1].len, id5);
        assert_false(mempool_get_tx(mp, id4, &b, &l));
        assert_true(mempool_get_tx(mp, id5, &b, &l));
    }
    /* Not asked by two calls in a row (more than max take turns): ballot
     * 5 again two sweeps on. */
    assert_int_equal(mempool_sweep(mp, 16), 0);
    assert_int_equal(gate_calls, N + 2);
    assert_int_equal(mempool_sweep(mp, 16), 0);
    assert_int_equal(gate_calls, N + 3);
    /* What a proposal took is its block's to record. */
    assert_int_equal(mempool_take(mp, N, 1 << 20, taken), 2);
    voted[5] = 1;
    assert_int_equal(mempool_sweep(mp, 16), 0);
    assert_int_equal(mempool_sweep(mp, 16), 0);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.pending, 2);
    assert_int_equal(st.swept, 1);
    for (int i = 0; i < N; i++)
        free(txs[i].bytes);
    mempool_destroy(&mp);
}

/* The byte limit answers "busy" like the count does, counts what is queued,
 * being verified and pending, and gives bytes back for what is refused,
 * a duplicate, or committed. */
static void test_byte_limit_answers_busy(void **state)
{
    enum { N = 8 };
    mempool *mp = NULL;
    buf_t txs[N], forged = notice(2000, chain_id);
    uint8_t ids[N][32];
    mempool_verdict v[N];
    mempool_stats st;
    size_t one, fit;
    int ok = 0;
    (void)state;
    forged.bytes[forged.len - 1] ^= 1;
    for (int i = 0; i < N; i++) {
        txs[i] = notice((uint64_t)i + 1000, chain_id); /* nonces of one length */
        envelope_txid(txs[i].bytes, txs[i].len, ids[i]);
        assert_int_equal(txs[i].len, txs[0].len);
    }
    one = txs[0].len;
    fit = 5;
    assert_int_equal(mempool_new(chain_id, 100, 1, &mp), LEDGER_OK);
    mempool_set_byte_limit(mp, fit * one);
    /* a refused transaction's bytes come back */
    assert_int_equal(mempool_submit(mp, forged.bytes, forged.len, 99), LEDGER_OK);
    collect(mp, v, 1);
    assert_int_equal(v[0].err, LEDGER_ERR_ENVELOPE);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.max_bytes, fit * one);
    for (int i = 0; i < N; i++) {
        ledger_err e = mempool_submit(mp, txs[i].bytes, txs[i].len, (uint64_t)i + 1);
        assert_true(e == LEDGER_OK || e == LEDGER_ERR_BUSY);
        assert_int_equal(e == LEDGER_OK, i < (int)fit); /* the count (100) is far away */
        ok += e == LEDGER_OK;
    }
    collect(mp, v, (size_t)ok);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.pending, fit);
    assert_int_equal(st.bytes, fit * one);
    assert_int_equal(st.busy, N - fit);
    /* a copy of a pending one is a duplicate: refused as busy when full
     * (nothing is looked at), and once there is room its bytes come back */
    mempool_commit(mp, (const uint8_t(*)[32])ids, 1);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.bytes, (fit - 1) * one);
    assert_int_equal(mempool_submit(mp, txs[1].bytes, txs[1].len, 50), LEDGER_OK);
    collect(mp, v, 1);
    assert_true(v[0].duplicate);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.bytes, (fit - 1) * one);
    /* a proposal's transaction (mempool_add_verified) is counted, never refused */
    mempool_add_verified(mp, txs[6].bytes, txs[6].len, ids[6]);
    mempool_add_verified(mp, txs[7].bytes, txs[7].len, ids[7]);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.bytes, (fit + 1) * one);
    assert_int_equal(st.verified_inline, 2); /* the caller's checks, for evote_mempool_verified_total */
    assert_int_equal(mempool_submit(mp, txs[5].bytes, txs[5].len, 51), LEDGER_ERR_BUSY);
    mempool_commit(mp, (const uint8_t(*)[32])ids[1], 7);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.bytes, 0);
    for (int i = 0; i < N; i++)
        free(txs[i].bytes);
    free(forged.bytes);
    mempool_destroy(&mp);
}

/* A block may commit transactions whose copies still wait for a worker (a
 * forwarded ballot executed before the mempool reached it), or arrive later:
 * those copies are never verified or kept; a client's gets an accepted,
 * duplicate verdict; every verdict arrives once, whatever the workers had
 * done by then. */
static void test_committed_transactions_still_queued_are_not_verified(void **state)
{
    enum { N = 400 };
    mempool *mp = NULL;
    buf_t tx[N];
    uint8_t ids[N][32];
    mempool_verdict *v = calloc(N, sizeof *v);
    int seen[N] = {0};
    mempool_stats st;
    (void)state;
    assert_non_null(v);
    assert_int_equal(mempool_new(chain_id, N, 1, &mp), LEDGER_OK);
    for (size_t i = 0; i < N; i++) {
        tx[i] = notice(1000 + i, chain_id);
        envelope_txid(tx[i].bytes, tx[i].len, ids[i]);
    }
    for (size_t i = 0; i < N; i++)
        assert_int_equal(mempool_submit(mp, tx[i].bytes, tx[i].len, i + 1), LEDGER_OK);
    /* The second half commits now, most of it still queued. */
    mempool_commit(mp, (const uint8_t(*)[32])ids + N / 2, N / 2);
    collect(mp, v, N);
    for (size_t i = 0; i < N; i++) {
        size_t t = (size_t)v[i].ticket - 1;
        assert_true(t < N);
        assert_int_equal(seen[t]++, 0);
        assert_int_equal(v[i].err, LEDGER_OK);
        assert_memory_equal(v[i].id, ids[t], 32);
        if (t < N / 2)
            assert_false(v[i].duplicate);
    }
    mempool_get_stats(mp, &st);
    assert_int_equal(st.verified + st.skipped, N);
    /* Pending: the first half, plus at most the one the (single) worker was
     * verifying during the commit (the node commits it again when its
     * verdict comes: node.c on_verdicts). */
    assert_true(st.pending >= N / 2);
    assert_true(st.pending <= N / 2 + 1);
    /* A copy arriving after the commit (gossip behind the block): accepted
     * as a duplicate, neither verified nor kept. */
    {
        mempool_stats after;
        mempool_verdict late;
        assert_int_equal(mempool_submit(mp, tx[N - 1].bytes, tx[N - 1].len, 9999), LEDGER_OK);
        collect(mp, &late, 1);
        assert_int_equal(late.ticket, 9999);
        assert_int_equal(late.err, LEDGER_OK);
        assert_true(late.duplicate);
        assert_memory_equal(late.id, ids[N - 1], 32);
        mempool_get_stats(mp, &after);
        assert_int_equal(after.verified, st.verified);
        assert_int_equal(after.pending, st.pending);
    }
    for (size_t i = 0; i < N; i++)
        free(tx[i].bytes);
    free(v);
    mempool_destroy(&mp);
}

/* The verdict cache: a transaction the block check verified (added with
 * mempool_add_verified) is never verified again. The test adds one whose
 * signature is broken: verifying it would refuse it; the cache answers. */
static void test_known_transaction_is_not_verified_again(void **state)
{
    mempool *mp = NULL;
    buf_t tx = notice(8, chain_id);
    mempool_verdict v[1];
    mempool_stats st;
    uint8_t id[32];
    const uint8_t *bytes = NULL;
    size_t len = 0;
    (void)state;
    tx.bytes[tx.len - 1] ^= 1; /* the signature is the envelope's last field */
    envelope_txid(tx.bytes, tx.len, id);
    assert_int_equal(mempool_new(chain_id, 100, 1, &mp), LEDGER_OK);
    assert_false(mempool_get_tx(mp, id, &bytes, &len));
    mempool_add_verified(mp, tx.bytes, tx.len, id);
    mempool_add_verified(mp, tx.bytes, tx.len, id); /* once */
    assert_true(mempool_is_verified(mp, id));
    assert_true(mempool_get_tx(mp, id, &bytes, &len));
    assert_int_equal(len, tx.len);
    assert_memory_equal(bytes, tx.bytes, tx.len);
    assert_int_equal(mempool_submit(mp, tx.bytes, tx.len, 5), LEDGER_OK);
    collect(mp, v, 1);
    assert_int_equal(v[0].ticket, 5);
    assert_int_equal(v[0].err, LEDGER_OK);
    assert_true(v[0].duplicate);
    assert_memory_equal(v[0].id, id, 32);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.pending, 1);
    assert_int_equal(st.duplicates, 1);
    mempool_commit(mp, (const uint8_t(*)[32])id, 1);
    assert_false(mempool_get_tx(mp, id, &bytes, &len));
    /* once committed it is gone from the pool, but remembered among the
     * recently committed ids: a late copy is a duplicate, not verified */
    assert_int_equal(mempool_submit(mp, tx.bytes, tx.len, 6), LEDGER_OK);
    collect(mp, v, 1);
    assert_int_equal(v[0].ticket, 6);
    assert_int_equal(v[0].err, LEDGER_OK);
    assert_true(v[0].duplicate);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.verified, 0);
    assert_int_equal(st.pending, 0);
    free(tx.bytes);
    mempool_destroy(&mp);
}

static int committed_if_first_byte_odd(void *ctx, const uint8_t id[32])
{
    (*(int *)ctx)++;
    return id[0] & 1;
}

/* A faulty primary may re-propose transactions that are already in a block.
 * The batch check verifies them and offers them to mempool_add_verified,
 * which must not make them pending again: a backup would take them for
 * requests the primary ignores, and its view timer would fire alone. */
static void test_committed_transaction_is_not_added_back(void **state)
{
    mempool *mp = NULL;
    buf_t tx = notice(9, chain_id), old_odd = {0}, old_even = {0};
    uint8_t id[32], id_odd[32], id_even[32];
    int calls = 0;
    (void)state;
    envelope_txid(tx.bytes, tx.len, id);
    assert_int_equal(mempool_new(chain_id, 100, 1, &mp), LEDGER_OK);
    /* committed a moment ago: among the recently committed ids */
    mempool_add_verified(mp, tx.bytes, tx.len, id);
    mempool_commit(mp, (const uint8_t(*)[32])id, 1);
    mempool_add_verified(mp, tx.bytes, tx.len, id);
    assert_false(mempool_is_verified(mp, id));
    /* committed long ago: the chain says so through the committed check */
    for (uint64_t nonce = 100; old_odd.bytes == NULL || old_even.bytes == NULL; nonce++) {
        buf_t t = notice(nonce, chain_id);
        uint8_t tid[32];
        envelope_txid(t.bytes, t.len, tid);
        buf_t *slot = (tid[0] & 1) ? &old_odd : &old_even;
        if (slot->bytes == NULL) {
            *slot = t;
            memcpy((tid[0] & 1) ? id_odd : id_even, tid, 32);
        } else {
            free(t.bytes);
        }
    }
    mempool_set_committed_check(mp, committed_if_first_byte_odd, &calls);
    mempool_add_verified(mp, old_odd.bytes, old_odd.len, id_odd);
    mempool_add_verified(mp, old_even.bytes, old_even.len, id_even);
    assert_int_equal(calls, 2);
    assert_false(mempool_is_verified(mp, id_odd));
    assert_true(mempool_is_verified(mp, id_even));
    free(tx.bytes);
    free(old_odd.bytes);
    free(old_even.bytes);
    mempool_destroy(&mp);
}

/* A client's transaction is refused "busy" once too many wait for a
 * worker, long before capacity; a forwarded one (ticket 0) is not. */
static void test_long_verification_queue_answers_busy_to_clients(void **state)
{
    enum { N = 3000 };
    mempool *mp = NULL;
    buf_t *txs = calloc(N + 100, sizeof *txs);
    mempool_stats st;
    size_t busy = 0, queued_fwd = 0;
    (void)state;
    assert_non_null(txs);
    for (int i = 0; i < N + 100; i++)
        txs[i] = notice(10000 + (uint64_t)i, chain_id);
    assert_int_equal(mempool_new(chain_id, 100000, 1, &mp), LEDGER_OK);
    /* a submission takes a copy; a verification ~40 us: the queue grows */
    for (int i = 0; i < N; i++)
        busy += mempool_submit(mp, txs[i].bytes, txs[i].len, (uint64_t)i + 1) == LEDGER_ERR_BUSY;
    for (int i = N; i < N + 100; i++)
        queued_fwd += mempool_submit(mp, txs[i].bytes, txs[i].len, 0) == LEDGER_OK;
    assert_true(busy > 0);
    assert_int_equal(queued_fwd, 100);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.busy, busy);
    mempool_destroy(&mp); /* drops the queued work */
    for (int i = 0; i < N + 100; i++)
        free(txs[i].bytes);
    free(txs);
}

/* What other validators pass on does not count against clients' queue
 * limit: a flood of forwarded junk from one faulty validator leaves this
 * validator's clients served (it was answering them all "busy"). */
static void test_forwarded_flood_leaves_room_for_clients(void **state)
{
    enum { N = 6000 };
    mempool *mp = NULL;
    buf_t *txs = calloc(N + 10, sizeof *txs);
    size_t fwd_ok = 0, client_ok = 0;
    mempool_stats st;
    (void)state;
    assert_non_null(txs);
    for (int i = 0; i < N + 10; i++)
        txs[i] = notice(50000 + (uint64_t)i, chain_id);
    assert_int_equal(mempool_new(chain_id, 100000, 1, &mp), LEDGER_OK);
    /* a submission takes a copy, a verification ~40 us: the queue fills */
    for (int i = 0; i < N; i++)
        fwd_ok += mempool_submit(mp, txs[i].bytes, txs[i].len, 0) == LEDGER_OK;
    assert_int_equal(fwd_ok, N);
    mempool_get_stats(mp, &st);
    if (st.queued < 2000) /* the machine verified them as fast as they came: nothing to show */
        skip();
    for (int i = N; i < N + 10; i++)
        client_ok += mempool_submit(mp, txs[i].bytes, txs[i].len, (uint64_t)i + 1) == LEDGER_OK;
    assert_int_equal(client_ok, 10);
    mempool_destroy(&mp); /* drops the queued work */
    for (int i = 0; i < N + 10; i++)
        free(txs[i].bytes);
    free(txs);
}

static void test_full_mempool_answers_busy(void **state)
{
    enum { CAP = 8 };
    mempool *mp = NULL;
    buf_t txs[CAP + 4];
    mempool_verdict v[CAP];
    mempool_stats st;
    (void)state;
    assert_int_equal(mempool_new(chain_id, CAP, 2, &mp), LEDGER_OK);
    for (int i = 0; i < CAP + 4; i++)
        txs[i] = notice(100 + (uint64_t)i, chain_id);
    for (int i = 0; i < CAP; i++)
        assert_int_equal(mempool_submit(mp, txs[i].bytes, txs[i].len, (uint64_t)i), LEDGER_OK);
    for (int i = CAP; i < CAP + 4; i++)
        assert_int_equal(mempool_submit(mp, txs[i].bytes, txs[i].len, (uint64_t)i), LEDGER_ERR_BUSY);
    collect(mp, v, CAP);
    /* still full while they are pending ... */
    assert_int_equal(mempool_submit(mp, txs[CAP].bytes, txs[CAP].len, 99), LEDGER_ERR_BUSY);
    /* ... and room again once some commit */
    uint8_t ids[2][32];
    memcpy(ids[0], v[0].id, 32);
    memcpy(ids[1], v[1].id, 32);
    mempool_commit(mp, (const uint8_t(*)[32])ids, 2);
    assert_int_equal(mempool_submit(mp, txs[CAP].bytes, txs[CAP].len, 99), LEDGER_OK);
    collect(mp, v, 1);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.busy, 5);
    assert_int_equal(st.pending, CAP - 1);
    for (int i = 0; i < CAP + 4; i++)
        free(txs[i].bytes);
    mempool_destroy(&mp);
}

static void test_take_untake_and_commit(void **state)
{
    enum { N = 10 };
    mempool *mp = NULL;
    buf_t txs[N];
    mempool_verdict v[N];
    mempool_tx out[N];
    uint8_t order[N][32];
    (void)state;
    /* one worker: verdicts (and pending order) follow submission order */
    assert_int_equal(mempool_new(chain_id, 100, 1, &mp), LEDGER_OK);
    for (int i = 0; i < N; i++) {
        txs[i] = notice(200 + (uint64_t)i, chain_id);
        envelope_txid(txs[i].bytes, txs[i].len, order[i]);
        assert_int_equal(mempool_submit(mp, txs[i].bytes, txs[i].len, (uint64_t)i), LEDGER_OK);
    }
    collect(mp, v, N);
    /* peeking hands nothing out: the same oldest ones, again and again */
    for (int round = 0; round < 2; round++) {
        assert_int_equal(mempool_peek(mp, 4, SIZE_MAX, out), 4);
        for (int i = 0; i < 4; i++)
            assert_memory_equal(out[i].id, order[i], 32);
    }
    assert_int_equal(mempool_peek(mp, N, txs[0].len + 1, out), 1);
    assert_int_equal(mempool_take(mp, 3, SIZE_MAX, out), 3);
    for (int i = 0; i < 3; i++) {
        assert_memory_equal(out[i].id, order[i], 32);
        assert_int_equal(out[i].len, txs[i].len);
        assert_memory_equal(out[i].bytes, txs[i].bytes, txs[i].len);
    }
    /* nor peeked at: a primary's taken ones are in its proposals already */
    assert_int_equal(mempool_peek(mp, 1, SIZE_MAX, out), 1);
    assert_memory_equal(out[0].id, order[3], 32);
    /* taken ones are not handed out twice */
    assert_int_equal(mempool_take(mp, 2, SIZE_MAX, out), 2);
    assert_memory_equal(out[0].id, order[3], 32);
    /* byte limit: at least one, then stop before exceeding */
    assert_int_equal(mempool_take(mp, N, txs[5].len + 1, out), 1);
    assert_memory_equal(out[0].id, order[5], 32);
    mempool_stats st;
    mempool_get_stats(mp, &st);
    assert_int_equal(st.pending, N);
    assert_int_equal(st.ready, N - 6); /* 0..5 taken */
    /* commit 0 and 3; view change gives back 1, 2, 4, 5 ahead of 6.. */
    uint8_t done[2][32];
    memcpy(done[0], order[0], 32);
    memcpy(done[1], order[3], 32);
    mempool_commit(mp, (const uint8_t(*)[32])done, 2);
    assert_false(mempool_is_verified(mp, order[0]));
    assert_true(mempool_is_verified(mp, order[1]));
    mempool_get_stats(mp, &st);
    assert_int_equal(st.pending, N - 2);
    assert_int_equal(st.ready, N - 6);
    mempool_untake_all(mp);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.ready, N - 2);
    assert_int_equal(mempool_take(mp, N, SIZE_MAX, out), N - 2);
    mempool_get_stats(mp, &st);
    assert_int_equal(st.ready, 0);
    const int want[] = {1, 2, 4, 5, 6, 7, 8, 9};
    for (int i = 0; i < N - 2; i++)
        assert_memory_equal(out[i].id, order[want[i]], 32);
    assert_int_equal(mempool_take(mp, N, SIZE_MAX, out), 0);
    /* committing an unknown id is harmless */
    mempool_commit(mp, (const uint8_t(*)[32])done, 2);
    for (int i = 0; i < N; i++)
        free(txs[i].bytes);
    mempool_destroy(&mp);
}

/* After a view change the new view re-proposes some batches: their
 * transactions are marked taken and never offered for a second proposal. */
static void test_marked_taken_transactions_are_not_offered_again(void **state)
{
    enum { N = 3 };
    mempool *mp = NULL;
    buf_t txs[N];
    mempool_verdict v[N];
    mempool_tx out[N];
    uint8_t ids[N][32];
    (void)state;
    assert_int_equal(mempool_new(chain_id, 100, 1, &mp), LEDGER_OK);
    for (int i = 0; i < N; i++) {
        txs[i] = notice((uint64_t)i + 77, chain_id);
        envelope_txid(txs[i].bytes, txs[i].len, ids[i]);
        assert_int_equal(mempool_submit(mp, txs[i].bytes, txs[i].len, (uint64_t)i + 1), LEDGER_OK);
    }
    collect(mp, v, N);
    mempool_mark_taken(mp, (const uint8_t(*)[32])&ids[1], 1);
    mempool_mark_taken(mp, (const uint8_t(*)[32])&ids[1], 1); /* twice: no harm */
    mempool_stats st;
    mempool_get_stats(mp, &st);
    assert_int_equal(st.ready, N - 1); /* counted once */
    assert_int_equal(mempool_take(mp, 10, 1 << 20, out), 2);
    for (int i = 0; i < 2; i++)
        assert_memory_not_equal(out[i].id, ids[1], 32);
    assert_int_equal(mempool_take(mp, 10, 1 << 20, out), 0);
    mempool_untake_all(mp); /* a later view change gives everything back */
    assert_int_equal(mempool_take(mp, 10, 1 << 20, out), 3);
    for (int i = 0; i < N; i++)
        free(txs[i].bytes);
    mempool_destroy(&mp);
}

static void test_destroy_with_work_in_flight_loses_nothing_else(void **state)
{
    enum { N = 200 };
    mempool *mp = NULL;
    buf_t tx = notice(1, chain_id);
    (void)state;
    assert_int_equal(mempool_new(chain_id, N, 2, &mp), LEDGER_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(mempool_submit(mp, tx.bytes, tx.len, (uint64_t)i), LEDGER_OK);
    mempool_destroy(&mp); /* ASan checks nothing leaks or is used after free */
    assert_null(mp);
    free(tx.bytes);
}

/* mempool_parallel's items: each records the thread that ran it; the first
 * ones wait (10 s at most) until two threads have run items, so that the
 * test shows the workers take part however slow the machine. */
enum { PAR_N = 300, PAR_THREADS = 8 };
typedef struct {
    atomic_int calls[PAR_N];
    pthread_t seen[PAR_THREADS];
    atomic_int n_seen;
    pthread_mutex_t lock;
} par_run;

static void par_item(void *arg, size_t i)
{
    par_run *r = arg;
    pthread_t self = pthread_self();
    int known = 0;
    assert_true(i < PAR_N);
    atomic_fetch_add(&r->calls[i], 1);
    pthread_mutex_lock(&r->lock);
    for (int k = 0; k < atomic_load(&r->n_seen); k++)
        known |= pthread_equal(r->seen[k], self);
    if (!known && atomic_load(&r->n_seen) < PAR_THREADS) {
        r->seen[atomic_load(&r->n_seen)] = self;
        atomic_fetch_add(&r->n_seen, 1);
    }
    pthread_mutex_unlock(&r->lock);
    for (int waited = 0; atomic_load(&r->n_seen) < 2 && waited < 10000; waited++)
        usleep(1000);
}

/* mempool_parallel runs every item exactly once, on the workers and the
 * calling thread, while verifications are queued, which still get their
 * verdicts; zero items is nothing to do. */
static void test_parallel_runs_every_item_once_on_several_threads(void **state)
{
    enum { Q = 50 };
    mempool *mp = NULL;
    par_run *r = calloc(1, sizeof *r);
    buf_t txs[Q];
    mempool_verdict v[Q];
    (void)state;

    assert_non_null(r);
    pthread_mutex_init(&r->lock, NULL);
    assert_int_equal(mempool_new(chain_id, 1000, 2, &mp), LEDGER_OK);
    mempool_parallel(mp, par_item, r, 0);
    assert_int_equal(atomic_load(&r->n_seen), 0);
    for (int i = 0; i < Q; i++) {
        txs[i] = notice(5000 + (uint64_t)i, chain_id);
        assert_int_equal(mempool_submit(mp, txs[i].bytes, txs[i].len, (uint64_t)i + 1), LEDGER_OK);
    }
    mempool_parallel(mp, par_item, r, PAR_N);
    for (int i = 0; i < PAR_N; i++)
        assert_int_equal(atomic_load(&r->calls[i]), 1);
    assert_true(atomic_load(&r->n_seen) >= 2);
    collect(mp, v, Q);
    for (int i = 0; i < Q; i++)
        assert_int_equal(v[i].err, LEDGER_OK);
    /* And again: a second run starts from item 0. */
    mempool_parallel(mp, par_item, r, PAR_N);
    for (int i = 0; i < PAR_N; i++)
        assert_int_equal(atomic_load(&r->calls[i]), 2);
    mempool_destroy(&mp);
    pthread_mutex_destroy(&r->lock);
    free(r);
    for (int i = 0; i < Q; i++)
        free(txs[i].bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_transactions_are_verified_and_pending),
        cmocka_unit_test(test_invalid_transactions_get_a_reason_and_are_not_kept),
        cmocka_unit_test(test_same_transaction_twice_is_kept_once),
        cmocka_unit_test(test_signers_outside_the_genesis_are_refused),
        cmocka_unit_test(test_state_gate_applies_to_clients_transactions),
        cmocka_unit_test(test_passed_on_transactions_are_refused_for_good_only_and_swept),
        cmocka_unit_test(test_byte_limit_answers_busy),
        cmocka_unit_test(test_committed_transactions_still_queued_are_not_verified),
        cmocka_unit_test(test_known_transaction_is_not_verified_again),
        cmocka_unit_test(test_long_verification_queue_answers_busy_to_clients),
        cmocka_unit_test(test_forwarded_flood_leaves_room_for_clients),
        cmocka_unit_test(test_full_mempool_answers_busy),
        cmocka_unit_test(test_committed_transaction_is_not_added_back),
        cmocka_unit_test(test_take_untake_and_commit),
        cmocka_unit_test(test_marked_taken_transactions_are_not_offered_again),
        cmocka_unit_test(test_destroy_with_work_in_flight_loses_nothing_else),
        cmocka_unit_test(test_parallel_runs_every_item_once_on_several_threads),
    };
    return cmocka_run_group_tests_name("mempool", tests, setup, teardown);
}
