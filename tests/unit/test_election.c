/* Unit tests of src/election: the election rules run against an in-memory
 * state map, block by block, with real signed transactions decoded at the
 * ledger boundary. A whole election (definition, key ceremony, roll,
 * ballots, closing, threshold decryption) and each refusal on the way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ballot_crypto.h"
#include "election.h"
#include "fetched.h"
#include "ledger.h"

#define R(x) EVOTE__V1__TX_RESULT__TX_RESULT_##x
#define MAX_TRUSTEES 4
#define MAX_VOTERS 8

/* ------------------------------------------------------------ state map */

/* The committed state: a list of unique keys with a hash index is exactly
 * what election_changes is, so it serves as the store too. */
typedef struct {
    election_changes *kv;
} memstate;

static int mem_get(void *ctx, const uint8_t *key, size_t key_len, uint8_t **value, size_t *len)
{
    memstate *m = ctx;
    const uint8_t *v;
    size_t n;
    if (m->kv == NULL || election_changes_find(m->kv, key, key_len, &v, &n) != 1)
        return 0;
    *value = malloc(n ? n : 1);
    if (*value == NULL)
        return -1;
    memcpy(*value, v, n);
    *len = n;
    return 1;
}

static void mem_put(memstate *m, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    if (m->kv == NULL)
        m->kv = election_changes_new();
    assert_non_null(m->kv);
    assert_int_equal(election_changes_put(m->kv, k, kl, v, vl), 1);
}

static void mem_free(memstate *m)
{
    election_changes_destroy(&m->kv);
}

/* ------------------------------------------------------------ fixture */

typedef struct {
    uint8_t *bytes;
    size_t len;
    uint64_t height;
} logged_tx;

typedef struct {
    memstate st;
    election_cache *cache;
    uint64_t height, time_ms;
    logged_tx *log; /* every transaction executed, one per block */
    size_t nlog, log_cap;
    uint8_t *dump;  /* every block's change list, serialized */
    size_t dump_len, dump_cap;
    int precheck;   /* run election_precheck_ballot first, as the mempool would */
    fetched_ballots *fetched; /* verdicts of fetched_check, as evoted takes them for a fetched block, */
    mempool *mp;              /* then those of this mempool (NULL: none) */
} chain;

static uint8_t chain_id[32];
static signing_key *authority, *authority2, *stranger, *trustee_key[MAX_TRUSTEES], *voter_key[MAX_VOTERS];
static uint8_t authority_pub[32], authority2_pub[32], trustee_pub[MAX_TRUSTEES][32], voter_pub[MAX_VOTERS][32];
static uint64_t nonce;

static int is_authority(void *arg, const uint8_t *pubkey)
{
    (void)arg;
    return memcmp(pubkey, authority_pub, 32) == 0 || memcmp(pubkey, authority2_pub, 32) == 0;
}

/* The test's genesis validators are the first four trustee keys. */
#define N_VALIDATORS 4
static int validator_index(void *arg, const uint8_t *pubkey)
{
    (void)arg;
    for (int v = 0; v < N_VALIDATORS; v++)
        if (memcmp(pubkey, trustee_pub[v], 32) == 0)
            return v;
    return -1;
}

static int setup(void **state)
{
    (void)state;
    crypto_tagged_hash("evote/v1/genesis", (const uint8_t *)"election test chain", 19, chain_id);
    if (signing_key_generate(&authority) != CRYPTO_OK || signing_key_generate(&stranger) != CRYPTO_OK ||
        signing_key_generate(&authority2) != CRYPTO_OK)
        return -1;
    signing_key_pubkey(authority, authority_pub);
    signing_key_pubkey(authority2, authority2_pub);
    for (int i = 0; i < MAX_TRUSTEES; i++) {
        if (signing_key_generate(&trustee_key[i]) != CRYPTO_OK)
            return -1;
        signing_key_pubkey(trustee_key[i], trustee_pub[i]);
    }
    for (int i = 0; i < MAX_VOTERS; i++) {
        if (signing_key_generate(&voter_key[i]) != CRYPTO_OK)
            return -1;
        signing_key_pubkey(voter_key[i], voter_pub[i]);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    signing_key_destroy(&authority);
    signing_key_destroy(&authority2);
    signing_key_destroy(&stranger);
    for (int i = 0; i < MAX_TRUSTEES; i++)
        signing_key_destroy(&trustee_key[i]);
    for (int i = 0; i < MAX_VOTERS; i++)
        signing_key_destroy(&voter_key[i]);
    return 0;
}

static void chain_init(chain *c)
{
    memset(c, 0, sizeof *c);
    assert_int_equal(election_cache_new(chain_id, &c->cache), ELECTION_OK);
    c->height = 1;
    c->time_ms = 1000;
}

static void chain_free(chain *c)
{
    mem_free(&c->st);
    election_cache_destroy(&c->cache);
    for (size_t i = 0; i < c->nlog; i++)
        free(c->log[i].bytes);
    free(c->log);
    free(c->dump);
}

static void dump_append(chain *c, const void *p, size_t len)
{
    if (c->dump_len + len + 1 > c->dump_cap) { /* geometric: ASan's realloc always copies */
        c->dump_cap = 2 * (c->dump_len + len + 1);
        c->dump = realloc(c->dump, c->dump_cap);
    }
    assert_non_null(c->dump);
    memcpy(c->dump + c->dump_len, p, len);
    c->dump_len += len;
}

/* Executes a block of n transactions at the chain's height, as the node
 * does: decode at the ledger boundary (signature included), optional
 * precheck, apply with the block's changes, then write them. */
static void run_block(chain *c, uint8_t **bytes, const size_t *lens, size_t n, Evote__V1__TxResult *results)
{
    election_changes *block = election_changes_new();
    election_state_reader rd = {mem_get, &c->st};
    election_ctx ctx = {chain_id, c->height, c->time_ms, is_authority, validator_index, NULL, c->cache};

    assert_non_null(block);
    for (size_t i = 0; i < n; i++) {
        ledger_tx *tx = NULL;
        crypto_err detail;
        ledger_err lerr = ledger_tx_decode(bytes[i], lens[i], chain_id, &tx, &detail);
        if (lerr != LEDGER_OK) {
            results[i] = ledger_result_for(lerr, detail);
        } else {
            election_tx etx = {tx->body, tx->envelope->signer.data, tx->id, 0, NULL, 0};
            elgamal_ct cts[ELECTION_MAX_SLOTS];
            size_t ncts = 0;
            if (c->fetched != NULL && tx->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_BALLOT &&
                (fetched_verdict(c->fetched, tx->id, &etx.ballot_cts, &etx.n_ballot_cts) ||
                 (c->mp != NULL && mempool_ballot_verdict(c->mp, tx->id, &etx.ballot_cts, &etx.n_ballot_cts))))
                etx.ballot_verified = 1;
            else if (c->precheck && tx->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_BALLOT) {
                Evote__V1__TxResult v =
                    election_precheck_ballot(c->cache, tx->body, etx.signer, cts, ELECTION_MAX_SLOTS, &ncts);
                etx.ballot_verified = v == R(OK);
                /* every other block hands over the parsed ciphertexts too */
                if (c->height % 2 == 0) {
                    etx.ballot_cts = cts;
                    etx.n_ballot_cts = ncts;
                }
            }
            assert_int_equal(election_apply(&ctx, &etx, &rd, block, &results[i]), ELECTION_OK);
        }
        ledger_tx_destroy(&tx);
        if (c->nlog == c->log_cap) {
            c->log_cap = c->log_cap ? 2 * c->log_cap : 64;
            c->log = realloc(c->log, c->log_cap * sizeof *c->log);
        }
        c->log[c->nlog].bytes = malloc(lens[i]);
        memcpy(c->log[c->nlog].bytes, bytes[i], lens[i]);
        c->log[c->nlog].len = lens[i];
        c->log[c->nlog].height = c->height;
        c->nlog++;
    }
    for (size_t i = 0; i < election_changes_count(block); i++) {
        const uint8_t *k, *v;
        size_t kl, vl;
        int del;
        election_changes_at(block, i, &k, &kl, &v, &vl, &del);
        assert_false(del);
        mem_put(&c->st, k, kl, v, vl);
        dump_append(c, &kl, sizeof kl);
        dump_append(c, k, kl);
        dump_append(c, &vl, sizeof vl);
        dump_append(c, v, vl);
    }
    election_changes_destroy(&block);
}

/* One transaction in its own block; frees bytes. Returns its result. */
static Evote__V1__TxResult exec1(chain *c, uint8_t *bytes, size_t len)
{
    Evote__V1__TxResult r;
    run_block(c, &bytes, &len, 1, &r);
    free(bytes);
    return r;
}

/* Seals a body with payload set by the caller. Out: *len. */
static uint8_t *seal(Evote__V1__TxBody *body, const signing_key *key, size_t *len)
{
    uint8_t *out;
    body->chain_id.data = chain_id;
    body->chain_id.len = sizeof chain_id;
    body->nonce = ++nonce;
    assert_int_equal(ledger_tx_seal(body, key, &out, len), CRYPTO_OK);
    return out;
}

static Evote__V1__TxResult run(chain *c, Evote__V1__TxBody *body, const signing_key *key)
{
    size_t len;
    uint8_t *b = seal(body, key, &len);
    return exec1(c, b, len);
}

/* ------------------------------------------------------------ transactions */

typedef struct {
    const char *id;
    uint32_t n, t;
    uint64_t open_height, close_height, ceremony_end;
    int revoting;
    uint32_t options;
    uint32_t min, max;
    uint64_t reg_end_height, reg_end_time; /* the roll's deadline (0: none) */
    int roll_at_opening;                   /* the roll freezes when the polls open */
} election_def;

/* 1: create() writes ceremony_version 0 (else the newest) */
static int legacy_ceremony;
/* create(): complaint_end_height = ceremony_end + this, when a ceremony end is set */
#define COMPLAINT_WINDOW 10

static Evote__V1__TxResult create(chain *c, const election_def *d, const signing_key *key)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__ElectionCreate ec = EVOTE__V1__ELECTION_CREATE__INIT;
    Evote__V1__Question q = EVOTE__V1__QUESTION__INIT, *qs[1] = {&q};
    char *options[8] = {"Ada", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Alan", "Niklaus"};
    ProtobufCBinaryData trustees[MAX_TRUSTEES];

    for (uint32_t j = 0; j < d->n; j++)
        trustees[j] = (ProtobufCBinaryData){32, trustee_pub[j]};
    q.text = "Mayor";
    q.options = options;
    q.n_options = d->options;
    q.min_selections = d->min;
    q.max_selections = d->max;
    ec.election_id.data = (uint8_t *)d->id;
    ec.election_id.len = strlen(d->id);
    ec.title = "City election";
    ec.questions = qs;
    ec.n_questions = 1;
    ec.open_height = d->open_height;
    ec.close_height = d->close_height;
    ec.revoting_allowed = d->revoting;
    ec.trustees = trustees;
    ec.n_trustees = d->n;
    ec.threshold = d->t;
    ec.ceremony_end_height = d->ceremony_end;
    ec.registration_end_height = d->reg_end_height;
    ec.registration_end_time_ms = d->reg_end_time;
    ec.roll_frozen_at_opening = d->roll_at_opening;
    ec.ceremony_version = legacy_ceremony ? 0 : ELECTION_CEREMONY_VERSION;
    if (!legacy_ceremony && d->ceremony_end != 0)
        ec.complaint_end_height = d->ceremony_end + COMPLAINT_WINDOW;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CREATE;
    body.election_create = &ec;
    return run(c, &body, key);
}

static Evote__V1__TxResult control(chain *c, const char *id, Evote__V1__ElectionControl__Action action,
                                   const signing_key *key)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__ElectionControl ctl = EVOTE__V1__ELECTION_CONTROL__INIT;
    ctl.election_id.data = (uint8_t *)id;
    ctl.election_id.len = strlen(id);
    ctl.action = action;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CONTROL;
    body.election_control = &ctl;
    return run(c, &body, key);
}

#define OPEN EVOTE__V1__ELECTION_CONTROL__ACTION__ACTION_OPEN
#define CLOSE EVOTE__V1__ELECTION_CONTROL__ACTION__ACTION_CLOSE

static Evote__V1__TxResult register_voters(chain *c, const char *id, int from, int count, const signing_key *key)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__VoterRegistration reg = EVOTE__V1__VOTER_REGISTRATION__INIT;
    ProtobufCBinaryData keys[MAX_VOTERS];
    for (int i = 0; i < count; i++)
        keys[i] = (ProtobufCBinaryData){32, voter_pub[from + i]};
    reg.election_id.data = (uint8_t *)id;
    reg.election_id.len = strlen(id);
    reg.voter_keys = keys;
    reg.n_voter_keys = (size_t)count;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_VOTER_REGISTRATION;
    body.voter_registration = &reg;
    return run(c, &body, key);
}

static uint8_t *ballot_tx(const char *id, const uint8_t *enc, size_t enc_len, const signing_key *key, size_t *len)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__Ballot b = EVOTE__V1__BALLOT__INIT;
    b.election_id.data = (uint8_t *)id;
    b.election_id.len = strlen(id);
    b.encrypted_ballot.data = (uint8_t *)enc;
    b.encrypted_ballot.len = enc_len;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_BALLOT;
    body.ballot = &b;
    return seal(&body, key, len);
}

/* The verifier of an election as a voter's client builds it from state. */
/* Whether the chain's record says the polls were closed (by a control). */
static int record_is_closed(chain *c, const char *id)
{
    election_state_reader rd = {mem_get, &c->st};
    Evote__V1__ElectionRecord *rec = NULL;
    int closed;
    assert_int_equal(election_get(&rd, chain_id, (const uint8_t *)id, strlen(id), &rec), ELECTION_OK);
    closed = rec->closed;
    evote__v1__election_record__free_unpacked(rec, NULL);
    return closed;
}

/* The chain's record of an election (free it). */
static Evote__V1__ElectionRecord *record_of(chain *c, const char *id)
{
    election_state_reader rd = {mem_get, &c->st};
    Evote__V1__ElectionRecord *rec = NULL;
    assert_int_equal(election_get(&rd, chain_id, (const uint8_t *)id, strlen(id), &rec), ELECTION_OK);
    return rec;
}

static bc_election *client_election(chain *c, const char *id)
{
    election_state_reader rd = {mem_get, &c->st};
    Evote__V1__ElectionRecord *rec = NULL;
    bc_question qs[1];
    bc_election *e = NULL;

    assert_int_equal(election_get(&rd, chain_id, (const uint8_t *)id, strlen(id), &rec), ELECTION_OK);
    assert_int_equal(rec->election_key.len, EC_POINT_LEN);
    qs[0].options = (uint32_t)rec->definition->questions[0]->n_options;
    qs[0].min = rec->definition->questions[0]->min_selections;
    qs[0].max = rec->definition->questions[0]->max_selections;
    assert_int_equal(bc_election_new(&e, rec->election_hash.data, rec->election_key.data, qs, 1), BC_OK);
    evote__v1__election_record__free_unpacked(rec, NULL);
    return e;
}

/* Encrypts a ballot for `for_voter` choosing option `choice` (or none when
 * choice < 0) and signs it with `signer`. Out: *len; the tracking code. */
static uint8_t *cast(bc_election *e, const char *id, int for_voter, int choice, const signing_key *signer,
                     size_t *len, uint8_t code[32])
{
    uint8_t sel[8] = {0}, enc[8192], *tx;
    size_t slots = bc_election_slots(e), n = bc_ballot_size(e);
    assert_true(n <= sizeof enc);
    if (choice >= 0)
        sel[choice] = 1;
    assert_int_equal(bc_ballot_encrypt(e, voter_pub[for_voter], sel, slots, enc, n), BC_OK);
    tx = ballot_tx(id, enc, n, signer, len);
    if (code)
        envelope_txid(tx, *len, code);
    return tx;
}

/* ------------------------------------------------------------ key ceremony */

typedef struct {
    uint32_t n, t;
    ec_scalar ek[MAX_TRUSTEES];
    uint8_t ek_pub[MAX_TRUSTEES][EC_POINT_LEN];
    dkg_dealer *dealer[MAX_TRUSTEES];
    uint8_t e[ELECTION_HASH_LEN];
    int qualified[MAX_TRUSTEES];
    ec_scalar x[MAX_TRUSTEES];     /* x_j over the qualified dealers */
    ec_point xpub[MAX_TRUSTEES];
} ceremony;

static Evote__V1__TxResult post_encryption_key(chain *c, const char *id, ceremony *k, uint32_t i)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__TrusteeDealing d = EVOTE__V1__TRUSTEE_DEALING__INIT;
    d.election_id.data = (uint8_t *)id;
    d.election_id.len = strlen(id);
    d.encryption_key.data = k->ek_pub[i - 1];
    d.encryption_key.len = EC_POINT_LEN;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING;
    body.trustee_dealing = &d;
    return run(c, &body, trustee_key[i - 1]);
}

/* Posts dealer i's dealing with the given shares and share proofs (NULL:
 * none; entry i-1 of each is left empty). */
static Evote__V1__TxResult post_dealing_with(chain *c, const char *id, ceremony *k, uint32_t i,
                                             uint8_t (*shares)[DKG_SHARE_LEN],
                                             uint8_t (*proofs)[DKG_SHARE_PROOF_LEN])
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__TrusteeDealing d = EVOTE__V1__TRUSTEE_DEALING__INIT;
    uint8_t comm[MAX_TRUSTEES * EC_POINT_LEN], pok[BC_PROOF_DLEQ_LEN];
    ProtobufCBinaryData cb[MAX_TRUSTEES], sb[MAX_TRUSTEES], pb[MAX_TRUSTEES];

    assert_int_equal(dkg_dealer_commitments(k->dealer[i - 1], comm, pok), BC_OK);
    for (uint32_t m = 0; m < k->t; m++)
        cb[m] = (ProtobufCBinaryData){EC_POINT_LEN, comm + m * EC_POINT_LEN};
    for (uint32_t j = 1; j <= k->n; j++) {
        sb[j - 1] = j == i ? (ProtobufCBinaryData){0, NULL} : (ProtobufCBinaryData){DKG_SHARE_LEN, shares[j - 1]};
        pb[j - 1] = j == i || proofs == NULL ? (ProtobufCBinaryData){0, NULL}
                                             : (ProtobufCBinaryData){DKG_SHARE_PROOF_LEN, proofs[j - 1]};
    }
    d.election_id.data = (uint8_t *)id;
    d.election_id.len = strlen(id);
    d.commitments = cb;
    d.n_commitments = k->t;
    d.encrypted_shares = sb;
    d.n_encrypted_shares = k->n;
    d.proof.data = pok;
    d.proof.len = sizeof pok;
    if (proofs != NULL) {
        d.share_proofs = pb;
        d.n_share_proofs = k->n;
    }
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING;
    body.trustee_dealing = &d;
    return run(c, &body, trustee_key[i - 1]);
}

/* Dealer i's dealing; bad_for (1..n, or 0) receives a wrong share (with a
 * valid proof of its ephemeral key: the dealer knows it). */
static Evote__V1__TxResult post_dealing(chain *c, const char *id, ceremony *k, uint32_t i, uint32_t bad_for)
{
    uint8_t shares[MAX_TRUSTEES][DKG_SHARE_LEN], proofs[MAX_TRUSTEES][DKG_SHARE_PROOF_LEN];

    for (uint32_t j = 1; j <= k->n; j++) {
        if (j == i)
            continue;
        if (j == bad_for) {
            ec_scalar wrong;
            assert_int_equal(ec_scalar_random(&wrong), BC_OK);
            assert_int_equal(
                dkg_encrypt_share_value(k->e, i, j, &wrong, k->ek_pub[j - 1], shares[j - 1], proofs[j - 1]), BC_OK);
        } else {
            assert_int_equal(
                dkg_dealer_encrypt_share(k->dealer[i - 1], j, k->ek_pub[j - 1], shares[j - 1], proofs[j - 1]),
                BC_OK);
        }
    }
    return post_dealing_with(c, id, k, i, shares, proofs);
}

static void ceremony_init(ceremony *k, const char *id, uint32_t n, uint32_t t)
{
    memset(k, 0, sizeof *k);
    k->n = n;
    k->t = t;
    election_hash(chain_id, (const uint8_t *)id, strlen(id), k->e);
    for (uint32_t i = 1; i <= n; i++) {
        assert_int_equal(dkg_encryption_keypair(&k->ek[i - 1], k->ek_pub[i - 1]), BC_OK);
        assert_int_equal(dkg_dealer_new(&k->dealer[i - 1], k->e, n, t, i), BC_OK);
        k->qualified[i - 1] = 1;
    }
}

/* Each trustee's secret share over the qualified dealers, checked against
 * the verification key the chain recorded. */
static void ceremony_shares(chain *c, const char *id, ceremony *k)
{
    election_state_reader rd = {mem_get, &c->st};
    Evote__V1__ElectionRecord *rec = NULL;

    assert_int_equal(election_get(&rd, chain_id, (const uint8_t *)id, strlen(id), &rec), ELECTION_OK);
    assert_int_equal(rec->n_verification_keys, k->n);
    for (uint32_t j = 1; j <= k->n; j++) {
        ec_scalar s[MAX_TRUSTEES];
        size_t cnt = 0;
        ec_point check;
        for (uint32_t i = 1; i <= k->n; i++)
            if (k->qualified[i - 1])
                assert_int_equal(dkg_dealer_share(k->dealer[i - 1], j, &s[cnt++]), BC_OK);
        dkg_secret_share(&k->x[j - 1], s, cnt);
        assert_int_equal(ec_point_parse(&k->xpub[j - 1], rec->verification_keys[j - 1].data, 0), BC_OK);
        ec_point_mul_base(&check, &k->x[j - 1]);
        assert_true(ec_point_equal(&check, &k->xpub[j - 1]));
    }
    evote__v1__election_record__free_unpacked(rec, NULL);
}

static void ceremony_free(ceremony *k)
{
    for (uint32_t i = 0; i < k->n; i++) {
        dkg_dealer_destroy(&k->dealer[i]);
        ec_scalar_wipe(&k->ek[i]);
        ec_scalar_wipe(&k->x[i]);
    }
}

/* Trustee j confirms it checked the shares of these dealers (round 3). */
static Evote__V1__TxResult post_checked(chain *c, const char *id, uint32_t j, const uint32_t *dealers, size_t count)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__TrusteeDealing d = EVOTE__V1__TRUSTEE_DEALING__INIT;
    d.election_id.data = (uint8_t *)id;
    d.election_id.len = strlen(id);
    d.checked = (uint32_t *)dealers;
    d.n_checked = count;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING;
    body.trustee_dealing = &d;
    return run(c, &body, trustee_key[j - 1]);
}

/* Every trustee confirms every other dealer of 1..n except `but` (0: none). */
static void all_check(chain *c, const char *id, uint32_t n, uint32_t but)
{
    for (uint32_t j = 1; j <= n; j++) {
        uint32_t dealers[MAX_TRUSTEES];
        size_t count = 0;
        for (uint32_t i = 1; i <= n; i++)
            if (i != j && i != but)
                dealers[count++] = i;
        if (count > 0)
            assert_int_equal(post_checked(c, id, j, dealers, count), R(OK));
    }
}

/* The honest ceremony: keys, dealings, every trustee's check, OPEN. */
static void run_ceremony(chain *c, const char *id, ceremony *k, uint32_t n, uint32_t t)
{
    ceremony_init(k, id, n, t);
    for (uint32_t i = 1; i <= n; i++)
        assert_int_equal(post_encryption_key(c, id, k, i), R(OK));
    c->height++;
    for (uint32_t i = 1; i <= n; i++)
        assert_int_equal(post_dealing(c, id, k, i, 0), R(OK));
    all_check(c, id, n, 0);
    assert_int_equal(control(c, id, OPEN, authority), R(OK));
    ceremony_shares(c, id, k);
}

/* An election of 4 trustees, threshold 3, under ceremony rules 0 (legacy)
 * or the newest, with every encryption key posted. */
static void ceremony_with_keys(chain *c, ceremony *k, const char *id, int legacy)
{
    election_def def = {id, 4, 3, 0, 0, 0, 0, 2, 1, 1, 0, 0, 0};

    chain_init(c);
    legacy_ceremony = legacy;
    assert_int_equal(create(c, &def, authority), R(OK));
    legacy_ceremony = 0;
    ceremony_init(k, id, 4, 3);
    for (uint32_t i = 1; i <= 4; i++)
        assert_int_equal(post_encryption_key(c, id, k, i), R(OK));
}

/* Trustee j's partial decryption of the recorded tally. */
static Evote__V1__TxResult post_partial(chain *c, const char *id, ceremony *k, uint32_t j, int corrupt)
{
    election_state_reader rd = {mem_get, &c->st};
    Evote__V1__ElectionRecord *rec = NULL;
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__PartialDecryption p = EVOTE__V1__PARTIAL_DECRYPTION__INIT;
    elgamal_ct tally[8];
    size_t slots;
    uint8_t parts[8][BC_PARTIAL_LEN];
    ProtobufCBinaryData pb[8];

    assert_int_equal(election_get(&rd, chain_id, (const uint8_t *)id, strlen(id), &rec), ELECTION_OK);
    assert_int_equal(election_get_tally(&rd, chain_id, (const uint8_t *)id, strlen(id), NULL, NULL, tally, 8, &slots),
                     ELECTION_OK);
    for (size_t s = 0; s < slots; s++) {
        bc_partial_ctx pc = {k->e, rec->election_key.data, j, (uint32_t)s};
        assert_int_equal(bc_tally_partial_decrypt(&pc, &k->x[j - 1], &k->xpub[j - 1], &tally[s], parts[s]), BC_OK);
        pb[s] = (ProtobufCBinaryData){BC_PARTIAL_LEN, parts[s]};
    }
    if (corrupt)
        parts[0][EC_POINT_LEN + 5] ^= 1;
    evote__v1__election_record__free_unpacked(rec, NULL);
    p.election_id.data = (uint8_t *)id;
    p.election_id.len = strlen(id);
    p.shares = pb;
    p.n_shares = slots;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_PARTIAL_DECRYPTION;
    body.partial_decryption = &p;
    return run(c, &body, trustee_key[j - 1]);
}

static Evote__V1__ElectionResult *result_of(chain *c, const char *id)
{
    election_state_reader rd = {mem_get, &c->st};
    Evote__V1__ElectionResult *res = NULL;
    election_err err = election_get_result(&rd, chain_id, (const uint8_t *)id, strlen(id), &res);
    return err == ELECTION_OK ? res : NULL;
}

static Evote__V1__TrackingRecord__Status track_status(chain *c, const uint8_t code[32])
{
    election_state_reader rd = {mem_get, &c->st};
    Evote__V1__TrackingRecord *tr = NULL;
    Evote__V1__TrackingRecord__Status s;
    assert_int_equal(election_track(&rd, code, &tr), ELECTION_OK);
    s = tr->status;
    evote__v1__tracking_record__free_unpacked(tr, NULL);
    return s;
}

/* ------------------------------------------------------------ tests */

/* The whole election, n = 4 trustees, t = 3 (the default), 3 options,
 * exactly one selection, polls from height 8 to 20. Each refusal a voter or
 * trustee can meet on the way has its own code. Recorded in *out_chain for
 * the determinism test when not NULL. */
static void full_election(chain *c)
{
    const char *id = "city-2026";
    election_def def = {id, 4, 0, 8, 20, 0, 0, 3, 1, 1, 0, 0, 0};
    ceremony k;
    bc_election *e;
    uint8_t *tx, code[MAX_VOTERS][32];
    size_t len;
    int votes[3] = {0, 0, 0};
    const int choice[5] = {0, 1, 1, 2, 1};

    assert_int_equal(create(c, &def, authority), R(OK));
    c->height = 2;
    assert_int_equal(create(c, &def, authority), R(ELECTION_EXISTS));
    assert_int_equal(register_voters(c, id, 0, 5, authority), R(OK));

    /* A ballot before the key exists: nothing to encrypt to. */
    {
        uint8_t junk[300] = {2};
        tx = ballot_tx(id, junk, sizeof junk, voter_key[0], &len);
        assert_int_equal(exec1(c, tx, len), R(NO_ELECTION_KEY));
    }
    c->height = 3;
    run_ceremony(c, id, &k, 4, 3);
    /* The ceremony is over: no more dealings. */
    assert_int_equal(post_dealing(c, id, &k, 1, 0), R(WRONG_PHASE));

    e = client_election(c, id);
    c->height = 7; /* before open_height */
    tx = cast(e, id, 0, 0, voter_key[0], &len, NULL);
    assert_int_equal(exec1(c, tx, len), R(NOT_OPEN));

    c->height = 8;
    for (int v = 0; v < 5; v++) {
        tx = cast(e, id, v, choice[v], voter_key[v], &len, code[v]);
        assert_int_equal(exec1(c, tx, len), R(OK));
        votes[choice[v]]++;
        assert_int_equal(track_status(c, code[v]), EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_COUNTED);
    }
    /* A second ballot by voter 0: refused, no revoting here. */
    tx = cast(e, id, 0, 2, voter_key[0], &len, NULL);
    assert_int_equal(exec1(c, tx, len), R(ALREADY_VOTED));
    /* Voter 5 is not on the roll. */
    tx = cast(e, id, 5, 0, voter_key[5], &len, NULL);
    assert_int_equal(exec1(c, tx, len), R(NOT_REGISTERED));
    /* Voter 6 registered, then sends a ballot whose proof is broken. */
    assert_int_equal(register_voters(c, id, 6, 1, authority), R(OK));
    {
        uint8_t sel[3] = {1, 0, 0}, enc[4096];
        size_t n = bc_ballot_size(e);
        assert_int_equal(bc_ballot_encrypt(e, voter_pub[6], sel, 3, enc, n), BC_OK);
        enc[2 * EC_POINT_LEN + 40] ^= 1; /* inside the first selection proof */
        tx = ballot_tx(id, enc, n, voter_key[6], &len);
        assert_int_equal(exec1(c, tx, len), R(BAD_PROOF));
        /* A wrong number of ciphertexts. */
        tx = ballot_tx(id, enc, n - 10, voter_key[6], &len);
        assert_int_equal(exec1(c, tx, len), R(BALLOT_SHAPE));
        /* A malformed point. */
        assert_int_equal(bc_ballot_encrypt(e, voter_pub[6], sel, 3, enc, n), BC_OK);
        enc[0] = 7;
        tx = ballot_tx(id, enc, n, voter_key[6], &len);
        assert_int_equal(exec1(c, tx, len), R(BAD_POINT));
    }
    /* Voter 6 replays voter 1's ballot (encrypted for voter 1): the proofs
     * are bound to voter 1's key. */
    assert_int_equal(register_voters(c, id, 7, 1, authority), R(OK));
    tx = cast(e, id, 1, 1, voter_key[7], &len, NULL);
    assert_int_equal(exec1(c, tx, len), R(BAD_PROOF));

    /* Decryption before closing: refused. */
    assert_int_equal(post_partial(c, id, &k, 1, 0), R(WRONG_PHASE));

    c->height = 21; /* after close_height */
    tx = cast(e, id, 6, 0, voter_key[6], &len, NULL);
    assert_int_equal(exec1(c, tx, len), R(NOT_OPEN));
    assert_int_equal(control(c, id, CLOSE, authority), R(WRONG_PHASE)); /* already closed by height */

    assert_int_equal(post_partial(c, id, &k, 2, 1), R(BAD_PROOF));
    assert_int_equal(post_partial(c, id, &k, 2, 0), R(OK));
    assert_null(result_of(c, id));
    assert_int_equal(post_partial(c, id, &k, 2, 0), R(ALREADY_SUBMITTED));
    assert_int_equal(post_partial(c, id, &k, 4, 0), R(OK));
    assert_null(result_of(c, id));
    assert_int_equal(post_partial(c, id, &k, 1, 0), R(OK));

    Evote__V1__ElectionResult *res = result_of(c, id);
    assert_non_null(res);
    assert_int_equal(res->n_counts, 3);
    for (int o = 0; o < 3; o++)
        assert_int_equal(res->counts[o], (uint64_t)votes[o]);
    assert_int_equal(res->ballots_counted, 5);
    assert_int_equal(res->n_trustees, 3);
    assert_int_equal(res->trustees[0], 1);
    assert_int_equal(res->trustees[1], 2);
    assert_int_equal(res->trustees[2], 4);
    evote__v1__election_result__free_unpacked(res, NULL);
    assert_int_equal(post_partial(c, id, &k, 3, 0), R(WRONG_PHASE)); /* counted already */

    bc_election_destroy(&e);
    ceremony_free(&k);
}

/* What a validator may sign about its tip: the polls are closed for good
 * when no later block can take a ballot (a ballot AT the closing height or
 * time still counts; block time never goes back). */
static void test_polls_closed_after_a_tip(void **state)
{
    Evote__V1__ElectionRecord rec = EVOTE__V1__ELECTION_RECORD__INIT;
    Evote__V1__ElectionCreate d = EVOTE__V1__ELECTION_CREATE__INIT;
    (void)state;

    assert_int_equal(election_polls_closed_after(&rec, 10, 5), 0); /* no definition */
    rec.definition = &d;
    assert_int_equal(election_polls_closed_after(&rec, 1000, 5000), 0); /* closed only by its creator */
    rec.closed = 1;
    assert_int_equal(election_polls_closed_after(&rec, 1, 0), 1);
    rec.closed = 0;
    d.close_height = 100;
    assert_int_equal(election_polls_closed_after(&rec, 99, 0), 0); /* the next block is 100: it counts */
    assert_int_equal(election_polls_closed_after(&rec, 100, 0), 1);
    d.close_height = 0;
    d.close_time_ms = 5000;
    assert_int_equal(election_polls_closed_after(&rec, 7, 5000), 0); /* the next block may have time 5000 */
    assert_int_equal(election_polls_closed_after(&rec, 7, 5001), 1);
}

static int failing_get(void *ctx, const uint8_t *key, size_t key_len, uint8_t **value, size_t *len);

/* election_admit on the ballot tx's bytes, the state as of the
 * chain's last block, at tip `tip` (time 0); its *final in admit_final. */
static int admit_final;
static Evote__V1__TxResult admit(chain *c, const uint8_t *tx, size_t len, uint64_t tip, int current)
{
    election_state_reader rd = {mem_get, &c->st};
    ledger_tx *ltx = NULL;
    Evote__V1__TxResult r;
    assert_int_equal(ledger_tx_decode(tx, len, chain_id, &ltx, NULL), LEDGER_OK);
    r = election_admit(&rd, chain_id, ltx->body, ltx->envelope->signer.data, ltx->id, tip, 0, current, &admit_final);
    ledger_tx_destroy(&ltx);
    return r;
}

/* The mempool's state gate: what the state at the tip already refuses, and only
 * what a block not yet stored here cannot change unless the state is known
 * to be current. */
static void test_admission_refuses_what_the_state_already_refuses(void **state)
{
    const char *id = "adm", *re = "adm-re";
    election_def def = {id, 3, 2, 5, 50, 0, 0, 3, 1, 1, 0, 0, 0};
    election_def def_re = {re, 3, 2, 0, 0, 0, 1, 3, 1, 1, 15, 0, 0}; /* the roll frozen after height 15 */
    uint8_t junk[300] = {2}, *tx, *again, code[32];
    size_t len, again_len;
    chain c;
    ceremony k;
    bc_election *e;
    (void)state;

    chain_init(&c);
    /* No such election yet, then no key yet: a block not stored here may
     * have them. */
    tx = ballot_tx(id, junk, sizeof junk, voter_key[0], &len);
    assert_int_equal(admit(&c, tx, len, 1, 1), R(UNKNOWN_ELECTION));
    assert_false(admit_final); /* a later block may create it */
    assert_int_equal(admit(&c, tx, len, 1, 0), R(OK));
    assert_int_equal(create(&c, &def, authority), R(OK));
    assert_int_equal(register_voters(&c, id, 0, 2, authority), R(OK));
    assert_int_equal(admit(&c, tx, len, 1, 1), R(NO_ELECTION_KEY));
    assert_int_equal(admit(&c, tx, len, 1, 0), R(OK));
    free(tx);
    run_ceremony(&c, id, &k, 3, 2);
    e = client_election(&c, id);

    /* Opening at height 5: a tip at 3 cannot take it in its next block. */
    tx = cast(e, id, 0, 0, voter_key[0], &len, code);
    assert_int_equal(admit(&c, tx, len, 3, 1), R(NOT_OPEN));
    assert_false(admit_final);
    assert_int_equal(admit(&c, tx, len, 3, 0), R(OK));
    assert_int_equal(admit(&c, tx, len, 4, 1), R(OK));
    /* Not on the roll. */
    again = cast(e, id, 5, 0, voter_key[5], &again_len, NULL);
    assert_int_equal(admit(&c, again, again_len, 10, 1), R(NOT_REGISTERED));
    assert_false(admit_final);
    assert_int_equal(admit(&c, again, again_len, 10, 0), R(OK));
    free(again);
    /* Voted, no revoting: whatever the state's age, no later ballot counts;
     * the counted ballot itself, sent again, is not refused (it is in the
     * chain). */
    again = malloc(len);
    memcpy(again, tx, len);
    c.height = 10;
    assert_int_equal(exec1(&c, tx, len), R(OK));
    assert_int_equal(admit(&c, again, len, 10, 1), R(OK));
    free(again);
    tx = cast(e, id, 0, 1, voter_key[0], &len, NULL);
    assert_int_equal(admit(&c, tx, len, 10, 1), R(ALREADY_VOTED));
    assert_int_equal(admit(&c, tx, len, 10, 0), R(ALREADY_VOTED));
    assert_true(admit_final);
    free(tx);
    /* Closed after height 50 (close_height): refused whatever the state's age. */
    tx = cast(e, id, 1, 0, voter_key[1], &len, NULL);
    assert_int_equal(admit(&c, tx, len, 49, 1), R(OK));
    assert_int_equal(admit(&c, tx, len, 50, 0), R(NOT_OPEN));
    assert_int_equal(admit(&c, tx, len, 50, 1), R(NOT_OPEN));
    assert_true(admit_final); /* closed for good */
    /* The state cannot be read: not decided. */
    {
        election_state_reader bad = {failing_get, NULL};
        ledger_tx *ltx = NULL;
        assert_int_equal(ledger_tx_decode(tx, len, chain_id, &ltx, NULL), LEDGER_OK);
        assert_int_equal(election_admit(&bad, chain_id, ltx->body, ltx->envelope->signer.data, ltx->id, 10, 0, 1, NULL),
                         R(UNSPECIFIED));
        /* Not a payload the state decides, or a ballot with no election id. */
        ltx->body->payload_case = EVOTE__V1__TX_BODY__PAYLOAD_NOTICE;
        election_state_reader rd = {mem_get, &c.st};
        assert_int_equal(election_admit(&rd, chain_id, ltx->body, ltx->envelope->signer.data, ltx->id, 10, 0, 1, NULL),
                         R(OK));
        ltx->body->payload_case = EVOTE__V1__TX_BODY__PAYLOAD_BALLOT;
        size_t keep = ltx->body->ballot->election_id.len;
        ltx->body->ballot->election_id.len = 0;
        assert_int_equal(election_admit(&rd, chain_id, ltx->body, ltx->envelope->signer.data, ltx->id, 10, 0, 1, NULL),
                         R(MALFORMED));
        ltx->body->ballot->election_id.len = keep;
        ledger_tx_destroy(&ltx);
    }
    free(tx);
    bc_election_destroy(&e);
    ceremony_free(&k);

    /* A trustee's step signed by someone else than a trustee of the
     * definition: refused whatever the state's age (the trustees never
     * change); for an election not there yet, only by a current state. */
    {
        election_state_reader rd = {mem_get, &c.st};
        Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__TrusteeDealing d = EVOTE__V1__TRUSTEE_DEALING__INIT;
        Evote__V1__PartialDecryption pd = EVOTE__V1__PARTIAL_DECRYPTION__INIT;
        Evote__V1__TrusteeComplaint tc = EVOTE__V1__TRUSTEE_COMPLAINT__INIT;
        uint8_t some_id[32] = {9};
        d.election_id.data = (uint8_t *)id;
        d.election_id.len = strlen(id);
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING;
        body.trustee_dealing = &d;
        assert_int_equal(election_admit(&rd, chain_id, &body, trustee_pub[0], some_id, 10, 0, 1, NULL), R(OK));
        assert_int_equal(election_admit(&rd, chain_id, &body, voter_pub[0], some_id, 10, 0, 0, &admit_final),
                         R(NOT_TRUSTEE));
        assert_true(admit_final);
        pd.election_id = d.election_id;
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_PARTIAL_DECRYPTION;
        body.partial_decryption = &pd;
        assert_int_equal(election_admit(&rd, chain_id, &body, trustee_pub[2], some_id, 10, 0, 1, NULL), R(OK));
        assert_int_equal(election_admit(&rd, chain_id, &body, authority_pub, some_id, 10, 0, 1, NULL), R(NOT_TRUSTEE));
        tc.election_id.data = (uint8_t *)"not yet";
        tc.election_id.len = 7;
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_COMPLAINT;
        body.trustee_complaint = &tc;
        assert_int_equal(election_admit(&rd, chain_id, &body, voter_pub[0], some_id, 10, 0, 1, NULL), R(UNKNOWN_ELECTION));
        assert_int_equal(election_admit(&rd, chain_id, &body, voter_pub[0], some_id, 10, 0, 0, NULL), R(OK));
    }

    /* With revoting, a voter who voted may vote again. */
    assert_int_equal(create(&c, &def_re, authority), R(OK));
    assert_int_equal(register_voters(&c, re, 0, 1, authority), R(OK));
    run_ceremony(&c, re, &k, 3, 2);
    e = client_election(&c, re);
    c.height = 20;
    tx = cast(e, re, 0, 0, voter_key[0], &len, NULL);
    assert_int_equal(exec1(&c, tx, len), R(OK));
    tx = cast(e, re, 0, 1, voter_key[0], &len, NULL);
    assert_int_equal(admit(&c, tx, len, 20, 1), R(OK));
    free(tx);
    /* Not on a roll that is frozen: final, whatever the state's age (no
     * later block adds to the roll); before the deadline, only a current
     * state refuses. */
    tx = cast(e, re, 5, 0, voter_key[5], &len, NULL);
    assert_int_equal(admit(&c, tx, len, 20, 0), R(NOT_REGISTERED));
    assert_true(admit_final);
    assert_int_equal(admit(&c, tx, len, 14, 0), R(OK));
    assert_int_equal(admit(&c, tx, len, 14, 1), R(NOT_REGISTERED));
    assert_false(admit_final);
    free(tx);
    bc_election_destroy(&e);
    ceremony_free(&k);
    chain_free(&c);
}

static void test_full_election_counts_equal_the_votes_cast(void **state)
{
    chain c;
    (void)state;
    chain_init(&c);
    full_election(&c);
    chain_free(&c);
}

static void test_precheck_verdict_lets_execution_skip_the_proofs(void **state)
{
    chain c;
    (void)state;
    chain_init(&c);
    c.precheck = 1;
    full_election(&c); /* the same outcomes, with the verdicts cached */
    chain_free(&c);
}

static void test_precheck_refuses_a_bad_ballot_and_defers_an_unknown_election(void **state)
{
    const char *id = "pre";
    election_def def = {id, 1, 1, 0, 0, 0, 0, 3, 1, 1, 0, 0, 0};
    chain c;
    ceremony k;
    bc_election *e;
    uint8_t *tx;
    size_t len;
    ledger_tx *ltx = NULL;
    (void)state;

    chain_init(&c);
    assert_int_equal(create(&c, &def, authority), R(OK));
    run_ceremony(&c, id, &k, 1, 1);
    e = client_election(&c, id);
    tx = cast(e, id, 0, 1, voter_key[0], &len, NULL);
    assert_int_equal(ledger_tx_decode(tx, len, chain_id, &ltx, NULL), LEDGER_OK);
    /* The cache has not seen the election yet: not decided. */
    {
        election_cache *fresh = NULL;
        election_state_reader rd = {mem_get, &c.st};
        assert_int_equal(election_cache_new(chain_id, &fresh), ELECTION_OK);
        assert_int_equal(election_precheck_ballot(fresh, ltx->body, ltx->envelope->signer.data, NULL, 0, NULL), R(UNSPECIFIED));
        assert_int_equal(election_cache_load(fresh, &rd, (const uint8_t *)id, strlen(id)), ELECTION_OK);
        assert_int_equal(election_precheck_ballot(fresh, ltx->body, ltx->envelope->signer.data, NULL, 0, NULL), R(OK));
        /* Signed by someone else than the voter the proofs name. */
        assert_int_equal(election_precheck_ballot(fresh, ltx->body, voter_pub[1], NULL, 0, NULL), R(BAD_PROOF));
        assert_int_equal(election_cache_load(fresh, &rd, (const uint8_t *)"nope", 4), ELECTION_ERR_NOT_FOUND);
        election_cache_destroy(&fresh);
    }
    ledger_tx_destroy(&ltx);
    free(tx);
    bc_election_destroy(&e);
    ceremony_free(&k);
    chain_free(&c);
}

static void test_revote_replaces_the_earlier_ballot_in_the_tally(void **state)
{
    const char *id = "re";
    election_def def = {id, 3, 2, 0, 0, 0, 1, 3, 1, 1, 0, 0, 0};
    chain c;
    ceremony k;
    bc_election *e;
    uint8_t *tx, first[32], second[32], third[32], other[32];
    size_t len;
    (void)state;

    chain_init(&c);
    assert_int_equal(create(&c, &def, authority), R(OK));
    assert_int_equal(register_voters(&c, id, 0, 2, authority), R(OK));
    run_ceremony(&c, id, &k, 3, 2);
    e = client_election(&c, id);
    c.height = 10;
    tx = cast(e, id, 0, 0, voter_key[0], &len, first);
    assert_int_equal(exec1(&c, tx, len), R(OK));
    tx = cast(e, id, 1, 2, voter_key[1], &len, other);
    assert_int_equal(exec1(&c, tx, len), R(OK));
    tx = cast(e, id, 0, 1, voter_key[0], &len, second);
    assert_int_equal(exec1(&c, tx, len), R(OK));
    assert_int_equal(track_status(&c, first), EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_REPLACED);
    assert_int_equal(track_status(&c, second), EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_COUNTED);
    /* Two ballots of the same voter in one block: the later one counts. */
    {
        uint8_t *txs[2];
        size_t lens[2];
        Evote__V1__TxResult r[2];
        txs[0] = cast(e, id, 0, 2, voter_key[0], &lens[0], NULL);
        txs[1] = cast(e, id, 0, 0, voter_key[0], &lens[1], third);
        run_block(&c, txs, lens, 2, r);
        assert_int_equal(r[0], R(OK));
        assert_int_equal(r[1], R(OK));
        free(txs[0]);
        free(txs[1]);
    }
    assert_int_equal(track_status(&c, second), EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_REPLACED);
    assert_int_equal(track_status(&c, third), EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_COUNTED);

    /* Another authority of the chain may not close the polls early: only the
     * election's creator may. */
    assert_int_equal(control(&c, id, CLOSE, authority2), R(NOT_CREATOR));
    assert_false(record_is_closed(&c, id));
    assert_int_equal(control(&c, id, CLOSE, authority), R(OK));
    assert_int_equal(control(&c, id, CLOSE, authority), R(WRONG_PHASE));
    assert_int_equal(control(&c, id, CLOSE, authority2), R(NOT_CREATOR));
    tx = cast(e, id, 1, 0, voter_key[1], &len, NULL);
    assert_int_equal(exec1(&c, tx, len), R(NOT_OPEN));
    assert_int_equal(post_partial(&c, id, &k, 3, 0), R(OK));
    assert_int_equal(post_partial(&c, id, &k, 1, 0), R(OK));
    Evote__V1__ElectionResult *res = result_of(&c, id);
    assert_non_null(res);
    assert_int_equal(res->counts[0], 1); /* voter 0's last ballot */
    assert_int_equal(res->counts[1], 0);
    assert_int_equal(res->counts[2], 1); /* voter 1 */
    assert_int_equal(res->ballots_counted, 2);
    evote__v1__election_result__free_unpacked(res, NULL);
    {
        election_state_reader rd = {mem_get, &c.st};
        uint64_t counted, accepted;
        size_t slots;
        assert_int_equal(election_get_tally(&rd, chain_id, (const uint8_t *)id, 2, &counted, &accepted, NULL, 0, &slots),
                         ELECTION_OK);
        assert_int_equal(counted, 2);
        assert_int_equal(accepted, 5);
    }
    bc_election_destroy(&e);
    ceremony_free(&k);
    chain_free(&c);
}

/* A complaint reveals ek_j·E for the E of the accused dealer's share. Were E
 * anybody's choice, a dealer could post another dealer's E (or E + x·G, so
 * that it is not even a copy) with garbage: trustee j's complaint would then
 * decrypt the other dealer's share to j for everyone, and ceil(t/2) trustees
 * could so collect enough shares to learn the election key. From ceremony
 * version 1 on, every share carries a proof that its dealer knows e, bound
 * to the dealer and the recipient: each such dealing is refused. Version 0
 * keeps its old meaning (the chains it made replay as they were). */
static void test_a_dealer_cannot_reuse_another_dealers_share_key(void **state)
{
    (void)state;
    for (int legacy = 0; legacy <= 1; legacy++) {
        const char *id = legacy ? "dkg-v0" : "dkg-v1";
        uint8_t honest[MAX_TRUSTEES][DKG_SHARE_LEN], honest_pok[MAX_TRUSTEES][DKG_SHARE_PROOF_LEN];
        uint8_t shares[MAX_TRUSTEES][DKG_SHARE_LEN], proofs[MAX_TRUSTEES][DKG_SHARE_PROOF_LEN];
        ec_point e12, xg, stolen;
        ec_scalar x;
        chain c;
        ceremony k;

        ceremony_with_keys(&c, &k, id, legacy);
        /* Honest dealer 1; the attacker, dealer 3, reads its share to trustee 2. */
        for (uint32_t j = 2; j <= 4; j++)
            assert_int_equal(dkg_dealer_encrypt_share(k.dealer[0], j, k.ek_pub[j - 1], honest[j - 1], honest_pok[j - 1]),
                             BC_OK);
        assert_int_equal(post_dealing_with(&c, id, &k, 1, honest, honest_pok), R(OK));
        assert_int_equal(ec_point_parse(&e12, honest[1], 0), BC_OK);

        /* Dealer 3's own shares and proofs, but to trustee 2: E_12 + x·G, garbage. */
        for (uint32_t j = 1; j <= 4; j++)
            if (j != 3)
                assert_int_equal(dkg_dealer_encrypt_share(k.dealer[2], j, k.ek_pub[j - 1], shares[j - 1], proofs[j - 1]),
                                 BC_OK);
        assert_int_equal(ec_scalar_random(&x), BC_OK);
        ec_point_mul_base(&xg, &x);
        ec_point_add(&stolen, &e12, &xg);
        ec_point_encode(shares[1], &stolen);
        memset(shares[1] + EC_POINT_LEN, 0xa5, DKG_SHARE_LEN - EC_POINT_LEN);
        if (legacy) {
            /* Version 0: taken, as it always was; the complaint that follows
             * would reveal ek_2·E_12 + x·EK_2. */
            assert_int_equal(post_dealing_with(&c, id, &k, 3, shares, NULL), R(OK));
            ceremony_free(&k);
            chain_free(&c);
            continue;
        }
        /* No proofs at all. */
        assert_int_equal(post_dealing_with(&c, id, &k, 3, shares, NULL), R(MALFORMED));
        /* Dealer 3's proof of another key of its own. */
        assert_int_equal(post_dealing_with(&c, id, &k, 3, shares, proofs), R(BAD_PROOF));
        /* A plain copy of dealer 1's share to 2, with dealer 1's proof of it:
         * that proof is bound to dealer 1. */
        memcpy(shares[1], honest[1], DKG_SHARE_LEN);
        memcpy(proofs[1], honest_pok[1], DKG_SHARE_PROOF_LEN);
        assert_int_equal(post_dealing_with(&c, id, &k, 3, shares, proofs), R(BAD_PROOF));
        /* Dealer 1's proof for trustee 2, moved to trustee 4's slot of dealer 1
         * itself: bound to the recipient too. */
        {
            uint8_t moved[MAX_TRUSTEES][DKG_SHARE_PROOF_LEN];
            memcpy(moved, honest_pok, sizeof moved);
            memcpy(moved[3], honest_pok[1], DKG_SHARE_PROOF_LEN);
            assert_int_equal(dkg_share_proof_verify(k.e, 1, 4, honest[3], moved[3]), BC_ERR_PROOF_KNOWLEDGE);
            assert_int_equal(dkg_share_proof_verify(k.e, 1, 2, honest[1], honest_pok[1]), BC_OK);
            assert_int_equal(dkg_share_proof_verify(k.e, 3, 2, honest[1], honest_pok[1]), BC_ERR_PROOF_KNOWLEDGE);
        }
        /* Refused dealings left no trace: the honest one still goes in. */
        assert_int_equal(post_dealing(&c, id, &k, 3, 0), R(OK));
        assert_int_equal(post_dealing(&c, id, &k, 3, 0), R(ALREADY_SUBMITTED));
        ceremony_free(&k);
        chain_free(&c);
    }
}

static void test_misbehaving_dealer_is_disqualified_by_a_valid_complaint(void **state)
{
    const char *id = "dkg";
    election_def def = {id, 4, 3, 0, 0, 0, 0, 2, 1, 1, 0, 0, 0};
    chain c;
    ceremony k;
    uint8_t *tx;
    size_t len;
    (void)state;

    chain_init(&c);
    assert_int_equal(create(&c, &def, authority), R(OK));
    ceremony_init(&k, id, 4, 3);
    /* A dealing before every encryption key is known. */
    assert_int_equal(post_encryption_key(&c, id, &k, 1), R(OK));
    assert_int_equal(post_encryption_key(&c, id, &k, 1), R(ALREADY_SUBMITTED));
    assert_int_equal(post_dealing(&c, id, &k, 1, 0), R(WRONG_PHASE));
    for (uint32_t i = 2; i <= 4; i++)
        assert_int_equal(post_encryption_key(&c, id, &k, i), R(OK));
    assert_int_equal(post_dealing(&c, id, &k, 1, 0), R(OK));
    assert_int_equal(post_dealing(&c, id, &k, 2, 3), R(OK)); /* dealer 2 cheats trustee 3 */
    assert_int_equal(post_dealing(&c, id, &k, 3, 0), R(OK));
    /* Not every trustee has dealt and no deadline: too early to open. */
    assert_int_equal(control(&c, id, OPEN, authority), R(WRONG_PHASE));
    assert_int_equal(post_dealing(&c, id, &k, 4, 0), R(OK));
    assert_int_equal(post_dealing(&c, id, &k, 4, 0), R(ALREADY_SUBMITTED));

    /* Trustee 3 finds the bad share and complains. */
    election_state_reader rd = {mem_get, &c.st};
    uint8_t key[1 + 32 + 4], *v = NULL;
    size_t vlen = 0;
    key[0] = ELECTION_KEY_DEALING;
    memcpy(key + 1, k.e, 32);
    key[33] = key[34] = key[35] = 0;
    key[36] = 2;
    assert_int_equal(mem_get(&c.st, key, sizeof key, &v, &vlen), 1);
    const uint8_t *share_23 = v + 1 + 3 * EC_POINT_LEN + 2 * DKG_SHARE_LEN;
    ec_point comm[3];
    ec_scalar s;
    for (int m = 0; m < 3; m++)
        assert_int_equal(ec_point_parse(&comm[m], v + 1 + m * EC_POINT_LEN, 0), BC_OK);
    assert_int_equal(dkg_receive_share(k.e, 2, 3, &k.ek[2], share_23, comm, 3, &s), BC_ERR_SHARE_INVALID);
    uint8_t complaint[DKG_COMPLAINT_LEN];
    assert_int_equal(dkg_complaint_make(k.e, 2, 3, &k.ek[2], share_23, complaint), BC_OK);
    free(v);

    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__TrusteeComplaint cp = EVOTE__V1__TRUSTEE_COMPLAINT__INIT;
    cp.election_id.data = (uint8_t *)id;
    cp.election_id.len = strlen(id);
    cp.accused.data = trustee_pub[1];
    cp.accused.len = 32;
    cp.evidence.data = complaint;
    cp.evidence.len = sizeof complaint;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_COMPLAINT;
    body.trustee_complaint = &cp;
    /* Signed by someone who is not a trustee. */
    assert_int_equal(run(&c, &body, stranger), R(NOT_TRUSTEE));
    assert_int_equal(run(&c, &body, trustee_key[2]), R(OK));

    /* Trustee 4 complains falsely about dealer 1's correct share. */
    key[36] = 1;
    assert_int_equal(mem_get(&c.st, key, sizeof key, &v, &vlen), 1);
    assert_int_equal(dkg_complaint_make(k.e, 1, 4, &k.ek[3], v + 1 + 3 * EC_POINT_LEN + 3 * DKG_SHARE_LEN, complaint),
                     BC_OK);
    free(v);
    cp.accused.data = trustee_pub[0];
    assert_int_equal(run(&c, &body, trustee_key[3]), R(COMPLAINT_REFUTED));
    /* Evidence made by another trustee's key does not prove anything. */
    assert_int_equal(run(&c, &body, trustee_key[2]), R(BAD_PROOF));

    assert_int_equal(control(&c, id, OPEN, stranger), R(NOT_AUTHORIZED));
    /* Not every trustee has said it checked its shares: too early. */
    assert_int_equal(control(&c, id, OPEN, authority), R(WRONG_PHASE));
    {
        const uint32_t t1[] = {2, 3, 4}, t2[] = {1, 3, 4}, t3[] = {1, 4}, t4[] = {2, 3}, nobody[] = {5}, self[] = {1};
        /* (self is dealer 1: trustee 1's own, trustee 4's to confirm) */
        assert_int_equal(post_checked(&c, id, 1, self, 1), R(MALFORMED)); /* its own */
        assert_int_equal(post_checked(&c, id, 1, nobody, 1), R(MALFORMED)); /* no trustee 5 */
        assert_int_equal(post_checked(&c, id, 1, t1, 3), R(OK));
        assert_int_equal(post_checked(&c, id, 2, t2, 3), R(OK));
        assert_int_equal(post_checked(&c, id, 3, t3, 2), R(OK)); /* 2 is disqualified: nothing to confirm */
        assert_int_equal(control(&c, id, OPEN, authority), R(WRONG_PHASE)); /* trustee 4 not yet */
        assert_int_equal(post_checked(&c, id, 4, t4, 2), R(OK));
        /* Its complaint about dealer 1 was refuted: dealer 1 stays, unconfirmed by 4. */
        assert_int_equal(control(&c, id, OPEN, authority), R(WRONG_PHASE));
        assert_int_equal(post_checked(&c, id, 4, self, 1), R(OK)); /* 4 confirms 1 after all */
    }
    assert_int_equal(control(&c, id, OPEN, authority), R(OK));
    assert_int_equal(control(&c, id, OPEN, authority), R(WRONG_PHASE));
    assert_int_equal(run(&c, &body, trustee_key[3]), R(WRONG_PHASE)); /* ceremony over */

    Evote__V1__ElectionRecord *rec = NULL;
    assert_int_equal(election_get(&rd, chain_id, (const uint8_t *)id, strlen(id), &rec), ELECTION_OK);
    assert_int_equal(rec->n_qualified, 3);
    assert_int_equal(rec->qualified[0], 1);
    assert_int_equal(rec->qualified[1], 3);
    assert_int_equal(rec->qualified[2], 4);
    evote__v1__election_record__free_unpacked(rec, NULL);

    /* The key made without dealer 2 works: one ballot, decrypted by 2, 3, 4. */
    k.qualified[1] = 0;
    ceremony_shares(&c, id, &k);
    assert_int_equal(register_voters(&c, id, 0, 1, authority), R(OK));
    bc_election *e = client_election(&c, id);
    tx = cast(e, id, 0, 1, voter_key[0], &len, NULL);
    assert_int_equal(exec1(&c, tx, len), R(OK));
    assert_int_equal(control(&c, id, CLOSE, authority), R(OK));
    for (uint32_t j = 2; j <= 4; j++)
        assert_int_equal(post_partial(&c, id, &k, j, 0), R(OK));
    Evote__V1__ElectionResult *res = result_of(&c, id);
    assert_non_null(res);
    assert_int_equal(res->counts[0], 0);
    assert_int_equal(res->counts[1], 1);
    evote__v1__election_result__free_unpacked(res, NULL);
    bc_election_destroy(&e);
    ceremony_free(&k);
    chain_free(&c);
}

static void test_ceremony_deadline_allows_opening_without_a_silent_trustee(void **state)
{
    const char *id = "late";
    election_def def = {id, 4, 3, 0, 0, 5, 0, 2, 1, 1, 0, 0, 0};
    chain c;
    ceremony k;
    (void)state;

    chain_init(&c);
    assert_int_equal(create(&c, &def, authority), R(OK));
    ceremony_init(&k, id, 4, 3);
    for (uint32_t i = 1; i <= 4; i++)
        assert_int_equal(post_encryption_key(&c, id, &k, i), R(OK));
    assert_int_equal(post_dealing(&c, id, &k, 1, 0), R(OK));
    assert_int_equal(post_dealing(&c, id, &k, 2, 0), R(OK));
    assert_int_equal(control(&c, id, OPEN, authority), R(WRONG_PHASE));
    c.height = 6;
    /* Past the deadline: no more dealings (the others could not check them
     * before the complaints' end); and before the complaints' end (height
     * 15), no OPEN while trustees 3 and 4 have not checked. */
    assert_int_equal(post_dealing(&c, id, &k, 3, 0), R(WRONG_PHASE));
    assert_int_equal(control(&c, id, OPEN, authority), R(WRONG_PHASE));
    c.height = 16;
    /* Past the complaints' end with 2 of 3 needed dealers: the ceremony fails. */
    assert_int_equal(control(&c, id, OPEN, authority), R(CEREMONY_FAILED));
    c.height = 5;
    assert_int_equal(post_dealing(&c, id, &k, 3, 0), R(OK));
    c.height = 6;
    {
        /* Trustee 4 stays silent; the other three check each other. */
        const uint32_t t1[] = {2, 3}, t2[] = {1, 3}, t3[] = {1, 2};
        assert_int_equal(post_checked(&c, id, 1, t1, 2), R(OK));
        assert_int_equal(post_checked(&c, id, 2, t2, 2), R(OK));
        assert_int_equal(post_checked(&c, id, 3, t3, 2), R(OK));
    }
    assert_int_equal(control(&c, id, OPEN, authority), R(WRONG_PHASE)); /* trustee 4 might complain yet */
    c.height = 16;
    assert_int_equal(control(&c, id, OPEN, authority), R(OK));
    ceremony_free(&k);
    chain_free(&c);
}

/* A dealer that deals bad shares last, and an OPEN right after (any
 * authority may open): with ceremony rules version 0 the dealer stayed
 * qualified, the complaints came too late, and no honest trustee could ever
 * decrypt without it. From version 1 on the OPEN waits for every trustee's
 * check, the complaints disqualify the dealer, and the key is made without
 * it. */
static void test_opening_waits_for_the_complaints_about_a_last_bad_dealing(void **state)
{
    (void)state;
    for (int legacy = 0; legacy <= 1; legacy++) {
        const char *id = legacy ? "last-v0" : "last-v1";
        Evote__V1__ElectionRecord *rec;
        chain c;
        ceremony k;

        ceremony_with_keys(&c, &k, id, legacy);
        for (uint32_t i = 1; i <= 3; i++)
            assert_int_equal(post_dealing(&c, id, &k, i, 0), R(OK));
        assert_int_equal(post_dealing(&c, id, &k, 4, 1), R(OK)); /* bad for trustee 1 */
        if (legacy) {
            assert_int_equal(control(&c, id, OPEN, authority2), R(OK)); /* at once */
            rec = record_of(&c, id);
            assert_int_equal(rec->n_qualified, 4); /* the cheat is in the key */
            evote__v1__election_record__free_unpacked(rec, NULL);
            ceremony_free(&k);
            chain_free(&c);
            continue;
        }
        assert_int_equal(control(&c, id, OPEN, authority2), R(WRONG_PHASE));
        /* Trustee 1 complains about dealer 4; everyone confirms the rest. */
        {
            election_state_reader rd = {mem_get, &c.st};
            uint8_t key[1 + 32 + 4] = {ELECTION_KEY_DEALING}, *v = NULL, complaint[DKG_COMPLAINT_LEN];
            size_t vlen = 0;
            Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
            Evote__V1__TrusteeComplaint cp = EVOTE__V1__TRUSTEE_COMPLAINT__INIT;
            (void)rd;
            memcpy(key + 1, k.e, 32);
            key[36] = 4;
            assert_int_equal(mem_get(&c.st, key, sizeof key, &v, &vlen), 1);
            assert_int_equal(dkg_complaint_make(k.e, 4, 1, &k.ek[0], v + 1 + 3 * EC_POINT_LEN, complaint), BC_OK);
            free(v);
            cp.election_id.data = (uint8_t *)id;
            cp.election_id.len = strlen(id);
            cp.accused.data = trustee_pub[3];
            cp.accused.len = 32;
            cp.evidence.data = complaint;
            cp.evidence.len = sizeof complaint;
            body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_COMPLAINT;
            body.trustee_complaint = &cp;
            assert_int_equal(run(&c, &body, trustee_key[0]), R(OK));
        }
        {
            const uint32_t t1[] = {2, 3};
            assert_int_equal(post_checked(&c, id, 1, t1, 2), R(OK));
        }
        all_check(&c, id, 4, 0); /* 2, 3, 4 (and 1 again, harmless) */
        assert_int_equal(control(&c, id, OPEN, authority2), R(OK));
        rec = record_of(&c, id);
        assert_int_equal(rec->n_qualified, 3); /* without dealer 4 */
        evote__v1__election_record__free_unpacked(rec, NULL);
        ceremony_free(&k);
        chain_free(&c);
    }
}

/* A validator's signed claim on a ballot, judged against the chain: the
 * ballot's status only goes from COUNTED to REPLACED, so the latest record
 * and the replacing ballot's height say what it was at any height. */
static void test_claims_are_judged_against_the_chain(void **state)
{
    const int COUNTED = EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_COUNTED;
    const int REPLACED = EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_REPLACED;
    Evote__V1__TrackingRecord fin = EVOTE__V1__TRACKING_RECORD__INIT;
    Evote__V1__ElectionRecord rec = EVOTE__V1__ELECTION_RECORD__INIT;
    Evote__V1__ElectionCreate d = EVOTE__V1__ELECTION_CREATE__INIT;
    uint8_t b1[32] = {0xb1}, b2[32] = {0xb2};
    election_claim c = {50, COUNTED, NULL, 0};
    char why[200];
    (void)state;

    d.close_height = 100;
    rec.definition = &d;
    fin.height = 40;
    fin.status = COUNTED;
    assert_int_equal(election_judge_claim(&c, NULL, 0, &rec, 0, why, sizeof why), 0);
    assert_non_null(strstr(why, "no accepted ballot"));
    assert_int_equal(election_judge_claim(&c, &fin, 0, &rec, 0, why, sizeof why), 1);
    c.height = 39; /* before its own block */
    assert_int_equal(election_judge_claim(&c, &fin, 0, &rec, 0, why, sizeof why), 0);

    /* replaced by b1 at 60: COUNTED holds up to 59, REPLACED (by b1) from 60 */
    fin.status = REPLACED;
    fin.replaced_by = (ProtobufCBinaryData){32, b1};
    c.height = 59;
    assert_int_equal(election_judge_claim(&c, &fin, 60, &rec, 0, why, sizeof why), 1);
    c.height = 60;
    assert_int_equal(election_judge_claim(&c, &fin, 60, &rec, 0, why, sizeof why), 0);
    assert_non_null(strstr(why, "replaced it in block 60"));
    c.status = REPLACED;
    c.replaced_by = b1;
    assert_int_equal(election_judge_claim(&c, &fin, 60, &rec, 0, why, sizeof why), 1);
    c.replaced_by = b2;
    assert_int_equal(election_judge_claim(&c, &fin, 60, &rec, 0, why, sizeof why), 0);
    c.replaced_by = b1;
    c.height = 59;
    assert_int_equal(election_judge_claim(&c, &fin, 60, &rec, 0, why, sizeof why), 0);

    /* polls closed: by height (100 and above), or early from the close's height */
    c.height = 100;
    assert_int_equal(election_judge_claim(&c, &fin, 60, &rec, 0, why, sizeof why), 0);
    assert_non_null(strstr(why, "closed"));
    c.polls_closed = 1;
    assert_int_equal(election_judge_claim(&c, &fin, 60, &rec, 0, why, sizeof why), 1);
    c.height = 80;
    assert_int_equal(election_judge_claim(&c, &fin, 60, &rec, 0, why, sizeof why), 0);
    rec.closed = 1;
    rec.closed_height = 70;
    assert_int_equal(election_judge_claim(&c, &fin, 60, &rec, 0, why, sizeof why), 1);
    c.height = 65;
    assert_int_equal(election_judge_claim(&c, &fin, 60, &rec, 0, why, sizeof why), 0); /* not yet closed at 65 */
}

/* A registration deadline freezes the roll: a registration at the deadline
 * still counts, one after it is refused (ROLL_CLOSED) and changes nothing,
 * by height or by block time; without one the roll stays open. */
static void test_the_roll_freezes_after_its_registration_deadline(void **state)
{
    election_def by_height = {"rollh", 4, 0, 0, 100, 0, 0, 3, 1, 1, 5, 0, 0};
    election_def by_time = {"rollt", 4, 0, 0, 100, 0, 0, 3, 1, 1, 0, 3000, 0};
    election_def none = {"rolln", 4, 0, 0, 100, 0, 0, 3, 1, 1, 0, 0, 0};
    chain c;
    (void)state;

    chain_init(&c);
    assert_int_equal(create(&c, &by_height, authority), R(OK));
    assert_int_equal(create(&c, &by_time, authority), R(OK));
    assert_int_equal(create(&c, &none, authority), R(OK));
    c.height = 5;
    c.time_ms = 3000;
    assert_int_equal(register_voters(&c, "rollh", 0, 2, authority), R(OK));
    assert_int_equal(register_voters(&c, "rollt", 0, 2, authority), R(OK));
    c.height = 6;
    assert_int_equal(register_voters(&c, "rollh", 2, 1, authority), R(ROLL_CLOSED));
    assert_int_equal(register_voters(&c, "rollh", 2, 1, authority2), R(ROLL_CLOSED));
    assert_int_equal(register_voters(&c, "rollt", 2, 1, authority), R(OK)); /* its deadline is a time */
    c.time_ms = 3001;
    assert_int_equal(register_voters(&c, "rollt", 3, 1, authority), R(ROLL_CLOSED));
    assert_int_equal(register_voters(&c, "rolln", 0, 4, authority), R(OK));
    {
        Evote__V1__ElectionRecord *r = record_of(&c, "rollh");
        assert_int_equal(r->voters_registered, 2);
        evote__v1__election_record__free_unpacked(r, NULL);
        r = record_of(&c, "rollt");
        assert_int_equal(r->voters_registered, 3);
        evote__v1__election_record__free_unpacked(r, NULL);
    }
    chain_free(&c);
}

/* A roll frozen at the opening ('evote election create's default) takes
 * registrations until the polls are open: with an opening height, until
 * the block before it, even with the key on chain; without one, until the
 * OPEN. From then on a ballot by a key not on the roll is refused for good,
 * and so is every registration; a deadline that comes first still counts. */
static void test_the_roll_freezes_when_the_polls_open(void **state)
{
    election_def at5 = {"open5", 3, 2, 5, 100, 0, 0, 3, 1, 1, 0, 0, 1};
    election_def now = {"opennow", 3, 2, 0, 100, 0, 0, 3, 1, 1, 0, 0, 1};
    election_def both = {"openboth", 3, 2, 5, 100, 0, 0, 3, 1, 1, 2, 0, 1}; /* the deadline comes first */
    uint8_t *tx;
    size_t len;
    chain c;
    ceremony k, k2;
    bc_election *e;
    (void)state;

    chain_init(&c);
    assert_int_equal(create(&c, &at5, authority), R(OK));
    assert_int_equal(create(&c, &now, authority), R(OK));
    assert_int_equal(create(&c, &both, authority), R(OK));
    assert_int_equal(register_voters(&c, "open5", 0, 1, authority), R(OK));
    c.height = 3;
    assert_int_equal(register_voters(&c, "openboth", 0, 1, authority), R(ROLL_CLOSED)); /* after height 2 */
    run_ceremony(&c, "open5", &k, 3, 2); /* the key at height 4 */
    assert_int_equal(register_voters(&c, "open5", 1, 1, authority2), R(OK)); /* the polls open at 5 */
    e = client_election(&c, "open5");
    /* The tip at 4: the next block opens the polls, the roll is final. */
    tx = cast(e, "open5", 5, 0, voter_key[5], &len, NULL);
    assert_int_equal(admit(&c, tx, len, 4, 1), R(NOT_REGISTERED));
    assert_true(admit_final);
    assert_int_equal(admit(&c, tx, len, 4, 0), R(NOT_REGISTERED)); /* whatever the state's age */
    assert_int_equal(admit(&c, tx, len, 3, 1), R(NOT_OPEN));
    free(tx);
    c.height = 5;
    assert_int_equal(register_voters(&c, "open5", 2, 1, authority), R(ROLL_CLOSED));
    tx = cast(e, "open5", 1, 0, voter_key[1], &len, NULL); /* registered with the key on chain, before 5 */
    assert_int_equal(exec1(&c, tx, len), R(OK));
    tx = cast(e, "open5", 2, 0, voter_key[2], &len, NULL);
    assert_int_equal(exec1(&c, tx, len), R(NOT_REGISTERED));
    bc_election_destroy(&e);
    ceremony_free(&k);

    /* No opening height: the OPEN itself freezes the roll. */
    assert_int_equal(register_voters(&c, "opennow", 0, 2, authority), R(OK));
    run_ceremony(&c, "opennow", &k2, 3, 2);
    assert_int_equal(register_voters(&c, "opennow", 2, 1, authority), R(ROLL_CLOSED));
    {
        Evote__V1__ElectionRecord *r = record_of(&c, "opennow");
        assert_int_equal(r->voters_registered, 2);
        evote__v1__election_record__free_unpacked(r, NULL);
        r = record_of(&c, "open5");
        assert_int_equal(r->voters_registered, 2);
        evote__v1__election_record__free_unpacked(r, NULL);
    }
    ceremony_free(&k2);
    chain_free(&c);
}

static void test_non_authority_cannot_create_register_or_close(void **state)
{
    const char *id = "auth";
    election_def def = {id, 4, 0, 0, 0, 0, 0, 3, 1, 1, 0, 0, 0};
    chain c;
    (void)state;

    chain_init(&c);
    assert_int_equal(create(&c, &def, stranger), R(NOT_AUTHORIZED));
    assert_int_equal(register_voters(&c, id, 0, 1, authority), R(UNKNOWN_ELECTION));
    assert_int_equal(create(&c, &def, authority), R(OK));
    assert_int_equal(register_voters(&c, id, 0, 1, stranger), R(NOT_AUTHORIZED));
    assert_int_equal(control(&c, id, CLOSE, stranger), R(NOT_AUTHORIZED));
    assert_int_equal(control(&c, "other", CLOSE, authority), R(UNKNOWN_ELECTION));
    /* A trustee step by a key that is not a trustee. */
    {
        ceremony k;
        ceremony_init(&k, id, 4, 3);
        Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__TrusteeDealing d = EVOTE__V1__TRUSTEE_DEALING__INIT;
        d.election_id.data = (uint8_t *)id;
        d.election_id.len = strlen(id);
        d.encryption_key.data = k.ek_pub[0];
        d.encryption_key.len = EC_POINT_LEN;
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING;
        body.trustee_dealing = &d;
        assert_int_equal(run(&c, &body, stranger), R(NOT_TRUSTEE));
        ceremony_free(&k);
    }
    chain_free(&c);
}

static void test_unusable_definitions_are_refused(void **state)
{
    chain c;
    (void)state;
    chain_init(&c);
    /* threshold above the trustees: refused at the ledger boundary */
    election_def def = {"bad", 2, 3, 0, 0, 0, 0, 3, 1, 1, 0, 0, 0};
    assert_int_equal(create(&c, &def, authority), R(MALFORMED));
    /* a trustee key twice */
    {
        Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__ElectionCreate ec = EVOTE__V1__ELECTION_CREATE__INIT;
        Evote__V1__Question q = EVOTE__V1__QUESTION__INIT, *qs[1] = {&q};
        char *options[2] = {"yes", "no"};
        ProtobufCBinaryData trustees[2] = {{32, trustee_pub[0]}, {32, trustee_pub[0]}};
        q.text = "?";
        q.options = options;
        q.n_options = 2;
        q.min_selections = 1;
        q.max_selections = 1;
        ec.election_id.data = (uint8_t *)"dup";
        ec.election_id.len = 3;
        ec.title = "t";
        ec.questions = qs;
        ec.n_questions = 1;
        ec.trustees = trustees;
        ec.n_trustees = 2;
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CREATE;
        body.election_create = &ec;
        assert_int_equal(run(&c, &body, authority), R(BAD_DEFINITION));
        trustees[1].data = trustee_pub[1];
        assert_int_equal(run(&c, &body, authority), R(OK));
    }
    chain_free(&c);
}

static void test_default_threshold_is_two_f_plus_one(void **state)
{
    chain c;
    election_state_reader rd;
    Evote__V1__ElectionRecord *rec = NULL;
    election_def def = {"thr", 4, 0, 0, 0, 0, 0, 3, 1, 1, 0, 0, 0};
    (void)state;
    chain_init(&c);
    rd = (election_state_reader){mem_get, &c.st};
    assert_int_equal(create(&c, &def, authority), R(OK));
    assert_int_equal(election_get(&rd, chain_id, (const uint8_t *)"thr", 3, &rec), ELECTION_OK);
    assert_int_equal(rec->definition->threshold, 3);
    evote__v1__election_record__free_unpacked(rec, NULL);
    def.id = "thr1";
    def.n = 1;
    assert_int_equal(create(&c, &def, authority), R(OK));
    assert_int_equal(election_get(&rd, chain_id, (const uint8_t *)"thr1", 4, &rec), ELECTION_OK);
    assert_int_equal(rec->definition->threshold, 1);
    evote__v1__election_record__free_unpacked(rec, NULL);
    chain_free(&c);
}

static void test_approval_question_and_an_election_with_no_votes_for_an_option(void **state)
{
    const char *id = "approve";
    election_def def = {id, 1, 1, 0, 0, 0, 0, 4, 0, 2, 0, 0, 0};
    chain c;
    ceremony k;
    bc_election *e;
    uint8_t sel[4], enc[8192], *tx;
    size_t len, n;
    (void)state;

    chain_init(&c);
    assert_int_equal(create(&c, &def, authority), R(OK));
    assert_int_equal(register_voters(&c, id, 0, 3, authority), R(OK));
    run_ceremony(&c, id, &k, 1, 1);
    e = client_election(&c, id);
    n = bc_ballot_size(e);
    const uint8_t choices[3][4] = {{1, 1, 0, 0}, {0, 0, 0, 0}, {1, 0, 0, 0}};
    for (int v = 0; v < 3; v++) {
        memcpy(sel, choices[v], 4);
        assert_int_equal(bc_ballot_encrypt(e, voter_pub[v], sel, 4, enc, n), BC_OK);
        tx = ballot_tx(id, enc, n, voter_key[v], &len);
        assert_int_equal(exec1(&c, tx, len), R(OK));
    }
    assert_int_equal(control(&c, id, CLOSE, authority), R(OK));
    assert_int_equal(post_partial(&c, id, &k, 1, 0), R(OK));
    Evote__V1__ElectionResult *res = result_of(&c, id);
    assert_non_null(res);
    assert_int_equal(res->counts[0], 2);
    assert_int_equal(res->counts[1], 1);
    assert_int_equal(res->counts[2], 0); /* a tally of zero */
    assert_int_equal(res->counts[3], 0);
    evote__v1__election_result__free_unpacked(res, NULL);
    bc_election_destroy(&e);
    ceremony_free(&k);
    chain_free(&c);
}

static void test_election_closed_with_no_ballots_counts_zero(void **state)
{
    const char *id = "empty";
    election_def def = {id, 1, 1, 0, 0, 0, 0, 2, 1, 1, 0, 0, 0};
    chain c;
    ceremony k;
    (void)state;
    chain_init(&c);
    assert_int_equal(create(&c, &def, authority), R(OK));
    run_ceremony(&c, id, &k, 1, 1);
    assert_int_equal(control(&c, id, CLOSE, authority), R(OK));
    assert_int_equal(post_partial(&c, id, &k, 1, 0), R(OK));
    Evote__V1__ElectionResult *res = result_of(&c, id);
    assert_non_null(res);
    assert_int_equal(res->counts[0], 0);
    assert_int_equal(res->counts[1], 0);
    evote__v1__election_result__free_unpacked(res, NULL);
    ceremony_free(&k);
    chain_free(&c);
}

/* Replays a recorded chain from empty state. */
static void replay(const chain *rec, chain *out)
{
    chain_init(out);
    for (size_t i = 0; i < rec->nlog; i++) {
        Evote__V1__TxResult r;
        uint8_t *b = rec->log[i].bytes;
        size_t len = rec->log[i].len;
        out->height = rec->log[i].height;
        run_block(out, &b, &len, 1, &r);
    }
}

/* With EVOTE_FUZZ_SEED_DIR set, writes the whole election as a seed of the
 * fuzz target tests/fuzz/fuzz_election.c (its input format: chain id, the
 * authority and validator keys, then one record per block). */
static void write_fuzz_seed(const chain *c)
{
    const char *dir = getenv("EVOTE_FUZZ_SEED_DIR");
    char path[4096];
    uint64_t h = 0;
    FILE *f;
    uint8_t n;

    if (dir == NULL)
        return;
    snprintf(path, sizeof path, "%s/full-election", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(chain_id, 1, 32, f);
    n = 2;
    fwrite(&n, 1, 1, f);
    fwrite(authority_pub, 1, 32, f);
    fwrite(authority2_pub, 1, 32, f);
    n = N_VALIDATORS;
    fwrite(&n, 1, 1, f);
    fwrite(trustee_pub, 1, 32 * N_VALIDATORS, f);
    for (size_t i = 0; i < c->nlog; i++) {
        uint8_t rec[3];
        assert_true(c->log[i].height - h < 256 && c->log[i].len < 65536);
        rec[0] = (uint8_t)(c->log[i].height - h);
        rec[1] = (uint8_t)(c->log[i].len & 0xff);
        rec[2] = (uint8_t)(c->log[i].len >> 8);
        h = c->log[i].height;
        fwrite(rec, 1, 3, f);
        fwrite(c->log[i].bytes, 1, c->log[i].len, f);
    }
    assert_int_equal(fclose(f), 0);
}

static void test_same_transactions_give_byte_identical_changes(void **state)
{
    chain c, r1, r2;
    (void)state;
    chain_init(&c);
    full_election(&c);
    write_fuzz_seed(&c);
    replay(&c, &r1);
    replay(&c, &r2);
    assert_true(c.dump_len > 0);
    assert_int_equal(r1.dump_len, c.dump_len);
    assert_int_equal(r2.dump_len, c.dump_len);
    assert_memory_equal(r1.dump, c.dump, c.dump_len);
    assert_memory_equal(r2.dump, c.dump, c.dump_len);
    chain_free(&c);
    chain_free(&r1);
    chain_free(&r2);
}

/* A block fetched from peers has no verdicts from this validator's
 * mempool: fetched_check checks its ballots on the mempool's workers and
 * the calling thread. Each valid ballot gets its verdict with its
 * ciphertexts; a ballot whose proofs name another voter, and what is not a
 * ballot, get none (execution checks those itself). Executing the block
 * with the verdicts gives the results and state changes that checking
 * every ballot during execution gives. */
static void test_fetched_block_ballots_are_checked_on_every_core(void **state)
{
    enum { NB = 5, NTX = NB + 2 };
    const char *id = "fetched";
    election_def def = {id, 1, 1, 0, 0, 0, 0, 3, 1, 1, 0, 0, 0};
    chain c, same;
    ceremony k;
    bc_election *e;
    uint8_t *txs[NTX], ids[NTX][32];
    size_t lens[NTX];
    ProtobufCBinaryData raw[NTX];
    Evote__V1__Batch batch = EVOTE__V1__BATCH__INIT;
    Evote__V1__TxResult with[NTX], without[NTX];
    mempool *mp = NULL;
    fetched_ballots *f = NULL;
    const elgamal_ct *cts;
    size_t n_cts;
    (void)state;

    chain_init(&c);
    assert_int_equal(create(&c, &def, authority), R(OK));
    assert_int_equal(register_voters(&c, id, 0, NB, authority), R(OK));
    run_ceremony(&c, id, &k, 1, 1);
    e = client_election(&c, id);
    for (int i = 0; i < NB; i++)
        txs[i] = cast(e, id, i, i % 3, voter_key[i], &lens[i], ids[i]);
    txs[NB] = cast(e, id, 1, 0, voter_key[NB], &lens[NB], ids[NB]); /* voter 1's proofs, another signer */
    {
        Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__VoterRegistration reg = EVOTE__V1__VOTER_REGISTRATION__INIT;
        ProtobufCBinaryData key = {32, voter_pub[NB + 1]};
        reg.election_id.data = (uint8_t *)id;
        reg.election_id.len = strlen(id);
        reg.voter_keys = &key;
        reg.n_voter_keys = 1;
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_VOTER_REGISTRATION;
        body.voter_registration = &reg;
        txs[NB + 1] = seal(&body, authority, &lens[NB + 1]);
        envelope_txid(txs[NB + 1], lens[NB + 1], ids[NB + 1]);
    }
    for (int i = 0; i < NTX; i++)
        raw[i] = (ProtobufCBinaryData){lens[i], txs[i]};
    batch.chain_id.data = chain_id;
    batch.chain_id.len = sizeof chain_id;
    batch.txs = raw;
    batch.n_txs = NTX;

    assert_int_equal(mempool_new(chain_id, 100, 2, &mp), LEDGER_OK);
    assert_int_equal(fetched_check(mp, c.cache, chain_id, &batch, &f), NB);
    for (int i = 0; i < NB; i++) {
        assert_int_equal(fetched_verdict(f, ids[i], &cts, &n_cts), 1);
        assert_int_equal(n_cts, 3);
    }
    assert_int_equal(fetched_verdict(f, ids[NB], &cts, &n_cts), 0);
    assert_int_equal(fetched_verdict(f, ids[NB + 1], &cts, &n_cts), 0);
    assert_int_equal(fetched_verdict(NULL, ids[0], &cts, &n_cts), 0);
    /* Asked out of order too (the cursor wraps). */
    assert_int_equal(fetched_verdict(f, ids[NB - 1], &cts, &n_cts), 1);
    assert_int_equal(fetched_verdict(f, ids[0], &cts, &n_cts), 1);

    fetched_free(&f);
    assert_null(f);
    /* No ballot in it (told from the wire format, without decoding): nothing to check. */
    {
        Evote__V1__Batch only = EVOTE__V1__BATCH__INIT;
        only.chain_id = batch.chain_id;
        only.txs = &raw[NB + 1];
        only.n_txs = 1;
        assert_int_equal(fetched_check(mp, c.cache, chain_id, &only, &f), 0);
        assert_null(f);
        /* An empty batch: nothing listed. */
        only.n_txs = 0;
        assert_int_equal(fetched_check(mp, c.cache, chain_id, &only, &f), 0);
        assert_null(f);
    }
    assert_int_equal(fetched_check(mp, c.cache, chain_id, &batch, &f), NB);

    /* A ballot the mempool's workers checked already (passed on to this
     * validator meanwhile) is not checked again: execution takes the
     * mempool's verdict. */
    fetched_free(&f);
    mempool_set_elections(mp, c.cache);
    assert_int_equal(mempool_submit(mp, txs[2], lens[2], 0), LEDGER_OK);
    {
        mempool_verdict v;
        int got = 0;
        for (int tries = 0; tries < 600 && !got; tries++) {
            struct pollfd p = {mempool_fd(mp), POLLIN, 0};
            (void)poll(&p, 1, 100);
            got = mempool_poll_verdicts(mp, &v, 1) == 1;
        }
        assert_true(got);
        assert_int_equal(v.err, LEDGER_OK);
    }
    assert_int_equal(fetched_check(mp, c.cache, chain_id, &batch, &f), NB - 1);
    assert_int_equal(fetched_verdict(f, ids[2], &cts, &n_cts), 0);
    assert_int_equal(mempool_ballot_verdict(mp, ids[2], &cts, &n_cts), 1);
    assert_int_equal(fetched_verdict(f, ids[3], &cts, &n_cts), 1);

    replay(&c, &same); /* the same state, from the same transactions */
    c.height++;
    same.height = c.height;
    c.fetched = f;
    c.mp = mp;
    run_block(&c, txs, lens, NTX, with);
    c.mp = NULL;
    c.fetched = NULL;
    run_block(&same, txs, lens, NTX, without);
    assert_memory_equal(with, without, sizeof with);
    for (int i = 0; i < NB; i++)
        assert_int_equal(with[i], R(OK));
    assert_int_not_equal(with[NB], R(OK));
    assert_int_equal(c.dump_len, same.dump_len);
    assert_memory_equal(c.dump, same.dump, c.dump_len);

    fetched_free(&f);
    fetched_free(&f); /* twice: nothing */
    mempool_destroy(&mp);
    for (int i = 0; i < NTX; i++)
        free(txs[i]);
    bc_election_destroy(&e);
    ceremony_free(&k);
    chain_free(&c);
    chain_free(&same);
}

static void test_changes_list_keeps_first_touch_order_and_last_value(void **state)
{
    election_changes *c = election_changes_new();
    const uint8_t *k, *v;
    size_t kl, vl;
    int del;
    char key[16];
    (void)state;
    assert_non_null(c);
    assert_int_equal(election_changes_find(c, (const uint8_t *)"a", 1, &v, &vl), 0);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 1000; i++) {
            int n = snprintf(key, sizeof key, "k%d", i);
            uint8_t val[2] = {(uint8_t)i, (uint8_t)round};
            assert_int_equal(election_changes_put(c, (const uint8_t *)key, (size_t)n, val, 2), 1);
        }
    assert_int_equal(election_changes_count(c), 1000);
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        election_changes_at(c, (size_t)i, &k, &kl, &v, &vl, &del);
        assert_int_equal(kl, (size_t)n);
        assert_memory_equal(k, key, kl);
        assert_int_equal(vl, 2);
        assert_int_equal(v[0], (uint8_t)i);
        assert_int_equal(v[1], 1); /* the last put wins */
        assert_false(del);
    }
    assert_int_equal(election_changes_find(c, (const uint8_t *)"k999", 4, &v, &vl), 1);
    election_changes_clear(c);
    assert_int_equal(election_changes_count(c), 0);
    assert_int_equal(election_changes_find(c, (const uint8_t *)"k999", 4, &v, &vl), 0);
    election_changes_destroy(&c);
    assert_null(c);
    election_changes_destroy(&c); /* twice is harmless */
}

static void test_result_codes_have_sentences(void **state)
{
    (void)state;
    for (int r = 0; r <= 21; r++)
        assert_non_null(election_result_text((Evote__V1__TxResult)r));
    assert_string_not_equal(election_result_text(R(BAD_DEFINITION)), "unknown result");
    for (int e = 0; e <= ELECTION_ERR_CRYPTO; e++)
        assert_string_not_equal(election_strerror((election_err)e), "unknown election error");
}

static int failing_get(void *ctx, const uint8_t *key, size_t key_len, uint8_t **value, size_t *len)
{
    (void)ctx;
    (void)key;
    (void)key_len;
    (void)value;
    (void)len;
    return -1;
}

static void test_unreadable_or_damaged_state_is_a_local_error_not_a_result(void **state)
{
    const char *id = "dmg";
    election_def def = {id, 1, 1, 0, 0, 0, 0, 2, 1, 1, 0, 0, 0};
    chain c;
    uint8_t *tx, key[33];
    size_t len;
    ledger_tx *ltx = NULL;
    election_changes *block = election_changes_new();
    Evote__V1__TxResult res;
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__VoterRegistration reg = EVOTE__V1__VOTER_REGISTRATION__INIT;
    ProtobufCBinaryData keys[1] = {{32, voter_pub[0]}};
    (void)state;

    chain_init(&c);
    assert_int_equal(create(&c, &def, authority), R(OK));
    reg.election_id.data = (uint8_t *)id;
    reg.election_id.len = strlen(id);
    reg.voter_keys = keys;
    reg.n_voter_keys = 1;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_VOTER_REGISTRATION;
    body.voter_registration = &reg;
    tx = seal(&body, authority, &len);
    assert_int_equal(ledger_tx_decode(tx, len, chain_id, &ltx, NULL), LEDGER_OK);
    election_ctx ctx = {chain_id, 5, 0, is_authority, validator_index, NULL, c.cache};
    election_tx etx = {ltx->body, ltx->envelope->signer.data, ltx->id, 0, NULL, 0};

    election_state_reader bad = {failing_get, NULL};
    assert_int_equal(election_apply(&ctx, &etx, &bad, block, &res), ELECTION_ERR_STATE);
    assert_int_equal(election_changes_count(block), 0);

    key[0] = ELECTION_KEY_ELECTION;
    election_hash(chain_id, (const uint8_t *)id, strlen(id), key + 1);
    mem_put(&c.st, key, sizeof key, (const uint8_t *)"\x0a\x05garbage", 9);
    election_state_reader rd = {mem_get, &c.st};
    assert_int_equal(election_apply(&ctx, &etx, &rd, block, &res), ELECTION_ERR_CORRUPT);
    assert_int_equal(election_changes_count(block), 0);

    /* Not an election payload at all. */
    Evote__V1__Notice notice = EVOTE__V1__NOTICE__INIT;
    Evote__V1__TxBody nb = EVOTE__V1__TX_BODY__INIT;
    nb.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_NOTICE;
    nb.notice = &notice;
    etx.body = &nb;
    assert_int_equal(election_apply(&ctx, &etx, &rd, block, &res), ELECTION_ERR_ARGUMENT);

    election_changes_destroy(&block);
    ledger_tx_destroy(&ltx);
    free(tx);
    chain_free(&c);
}

static void test_voting_window_by_block_time(void **state)
{
    const char *id = "timed";
    chain c;
    ceremony k;
    bc_election *e;
    uint8_t *tx;
    size_t len;
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__ElectionCreate ec = EVOTE__V1__ELECTION_CREATE__INIT;
    Evote__V1__Question q = EVOTE__V1__QUESTION__INIT, *qs[1] = {&q};
    char *options[2] = {"yes", "no"};
    ProtobufCBinaryData trustees[1] = {{32, trustee_pub[0]}};
    (void)state;

    chain_init(&c);
    q.text = "?";
    q.options = options;
    q.n_options = 2;
    q.min_selections = 1;
    q.max_selections = 1;
    ec.election_id.data = (uint8_t *)id;
    ec.election_id.len = strlen(id);
    ec.title = "t";
    ec.questions = qs;
    ec.n_questions = 1;
    ec.trustees = trustees;
    ec.n_trustees = 1;
    ec.open_time_ms = 5000;
    ec.close_time_ms = 9000;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CREATE;
    body.election_create = &ec;
    assert_int_equal(run(&c, &body, authority), R(OK));
    assert_int_equal(register_voters(&c, id, 0, 2, authority), R(OK));
    run_ceremony(&c, id, &k, 1, 1);
    e = client_election(&c, id);
    c.time_ms = 4999;
    tx = cast(e, id, 0, 0, voter_key[0], &len, NULL);
    assert_int_equal(exec1(&c, tx, len), R(NOT_OPEN));
    c.time_ms = 9000; /* the closing time itself still counts */
    tx = cast(e, id, 0, 0, voter_key[0], &len, NULL);
    assert_int_equal(exec1(&c, tx, len), R(OK));
    c.time_ms = 9001;
    tx = cast(e, id, 1, 0, voter_key[1], &len, NULL);
    assert_int_equal(exec1(&c, tx, len), R(NOT_OPEN));
    assert_int_equal(post_partial(&c, id, &k, 1, 0), R(OK));
    bc_election_destroy(&e);
    ceremony_free(&k);
    chain_free(&c);
}

static void test_ballot_with_more_selections_than_allowed_is_refused(void **state)
{
    const char *id = "limit";
    election_def def = {id, 1, 1, 0, 0, 0, 0, 3, 0, 1, 0, 0, 0}; /* approval of at most 1 of 3 */
    chain c;
    ceremony k;
    bc_election *e, *cheat = NULL;
    uint8_t sel[3] = {1, 1, 0}, enc[4096], *tx;
    size_t len, n;
    bc_question q = {3, 1, 2}; /* the same proof length (two range branches), another rule */
    Evote__V1__ElectionRecord *rec = NULL;
    election_state_reader rd;
    (void)state;

    chain_init(&c);
    rd = (election_state_reader){mem_get, &c.st};
    assert_int_equal(create(&c, &def, authority), R(OK));
    assert_int_equal(register_voters(&c, id, 0, 1, authority), R(OK));
    run_ceremony(&c, id, &k, 1, 1);
    e = client_election(&c, id);
    assert_int_equal(election_get(&rd, chain_id, (const uint8_t *)id, strlen(id), &rec), ELECTION_OK);
    assert_int_equal(bc_election_new(&cheat, rec->election_hash.data, rec->election_key.data, &q, 1), BC_OK);
    evote__v1__election_record__free_unpacked(rec, NULL);
    n = bc_ballot_size(e);
    assert_int_equal(bc_ballot_size(cheat), n);
    assert_int_equal(bc_ballot_encrypt(cheat, voter_pub[0], sel, 3, enc, n), BC_OK);
    tx = ballot_tx(id, enc, n, voter_key[0], &len);
    assert_int_equal(exec1(&c, tx, len), R(BAD_PROOF));
    /* The same voter's honest ballot still goes in. */
    sel[1] = 0;
    assert_int_equal(bc_ballot_encrypt(e, voter_pub[0], sel, 3, enc, n), BC_OK);
    tx = ballot_tx(id, enc, n, voter_key[0], &len);
    assert_int_equal(exec1(&c, tx, len), R(OK));
    bc_election_destroy(&cheat);
    bc_election_destroy(&e);
    ceremony_free(&k);
    chain_free(&c);
}

static void test_roll_of_ten_thousand_voters_in_one_transaction(void **state)
{
    const char *id = "roll";
    election_def def = {id, 1, 1, 0, 0, 0, 0, 2, 1, 1, 0, 0, 0};
    chain c;
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__VoterRegistration reg = EVOTE__V1__VOTER_REGISTRATION__INIT;
    ProtobufCBinaryData *keys = malloc((LEDGER_MAX_REGISTRATIONS + 1) * sizeof *keys);
    uint8_t (*pubs)[32] = malloc((LEDGER_MAX_REGISTRATIONS + 1) * 32);
    Evote__V1__ElectionRecord *rec = NULL;
    election_state_reader rd;
    int voted;
    (void)state;

    assert_non_null(keys);
    assert_non_null(pubs);
    chain_init(&c);
    rd = (election_state_reader){mem_get, &c.st};
    assert_int_equal(create(&c, &def, authority), R(OK));
    for (uint32_t i = 0; i <= LEDGER_MAX_REGISTRATIONS; i++) {
        crypto_tagged_hash("test/voter", (const uint8_t *)&i, sizeof i, pubs[i]);
        keys[i] = (ProtobufCBinaryData){32, pubs[i]};
    }
    reg.election_id.data = (uint8_t *)id;
    reg.election_id.len = strlen(id);
    reg.voter_keys = keys;
    reg.n_voter_keys = LEDGER_MAX_REGISTRATIONS;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_VOTER_REGISTRATION;
    body.voter_registration = &reg;
    assert_int_equal(run(&c, &body, authority), R(OK));
    /* A retried batch is harmless: nobody is registered twice. */
    assert_int_equal(run(&c, &body, authority), R(OK));
    reg.n_voter_keys = LEDGER_MAX_REGISTRATIONS + 1; /* over the limit: refused at the boundary */
    assert_int_equal(run(&c, &body, authority), R(MALFORMED));
    assert_int_equal(election_get(&rd, chain_id, (const uint8_t *)id, strlen(id), &rec), ELECTION_OK);
    assert_int_equal(rec->voters_registered, LEDGER_MAX_REGISTRATIONS);
    evote__v1__election_record__free_unpacked(rec, NULL);
    assert_int_equal(election_voter_status(&rd, chain_id, (const uint8_t *)id, strlen(id), pubs[1234], &voted), 1);
    assert_false(voted);
    assert_int_equal(election_voter_status(&rd, chain_id, (const uint8_t *)id, strlen(id), voter_pub[0], &voted), 0);
    free(keys);
    free(pubs);
    chain_free(&c);
}

/* Validator v's attestation of the election's key as the chain records it
 * (or with *key / *def_hash when not NULL), its signature made by signer. */
static Evote__V1__TxResult attest(chain *c, const char *id, int result, const uint8_t *key, const uint8_t *def_hash,
                                  const uint8_t *res_hash, const signing_key *signer,
                                  const signing_key *envelope_signer)
{
    election_state_reader rd = {mem_get, &c->st};
    Evote__V1__ElectionRecord *rec = NULL;
    Evote__V1__ElectionResult *res = NULL;
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__ElectionAttestation a = EVOTE__V1__ELECTION_ATTESTATION__INIT;
    election_attest_msg m;
    uint8_t sig[64];
    Evote__V1__TxResult r;

    memset(&m, 7, sizeof m); /* what a validator cannot have: no election, key or result yet */
    m.tag = result ? ELECTION_RESULT_ATTEST_TAG : ELECTION_ATTEST_TAG;
    m.len = result ? ELECTION_RESULT_ATTEST_MSG_LEN : ELECTION_ATTEST_MSG_LEN;
    if (election_get(&rd, chain_id, (const uint8_t *)id, strlen(id), &rec) == ELECTION_OK &&
        rec->election_key.len != 0) {
        if (!result)
            assert_true(election_key_attest_msg(rec, &m));
        else if (election_get_result(&rd, chain_id, (const uint8_t *)id, strlen(id), &res) == ELECTION_OK)
            assert_true(election_result_attest_msg(rec, res, &m));
    }
    if (key != NULL)
        memcpy(m.msg + 32, key, EC_POINT_LEN);
    if (def_hash != NULL)
        memcpy(m.msg + 32 + EC_POINT_LEN, def_hash, 32);
    if (res_hash != NULL)
        memcpy(m.msg + ELECTION_ATTEST_MSG_LEN, res_hash, 32);
    assert_int_equal(signing_key_sign(signer, m.tag, m.msg, m.len, sig), CRYPTO_OK);
    a.election_id.data = (uint8_t *)id;
    a.election_id.len = strlen(id);
    a.election_key.data = m.msg + 32;
    a.election_key.len = EC_POINT_LEN;
    a.definition_hash.data = m.msg + 32 + EC_POINT_LEN;
    a.definition_hash.len = 32;
    if (result) {
        a.result_hash.data = m.msg + ELECTION_ATTEST_MSG_LEN;
        a.result_hash.len = 32;
    }
    a.signature.data = sig;
    a.signature.len = sizeof sig;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_ATTESTATION;
    body.election_attestation = &a;
    r = run(c, &body, envelope_signer);
    if (rec != NULL)
        evote__v1__election_record__free_unpacked(rec, NULL);
    if (res != NULL)
        evote__v1__election_result__free_unpacked(res, NULL);
    return r;
}

/* How many validators vouch for m, from what the chain recorded. */
static uint32_t vouchers(chain *c, const char *id, int result, const election_attest_msg *m, uint8_t *vouched)
{
    election_state_reader rd = {mem_get, &c->st};
    uint8_t *v = NULL, keys[N_VALIDATORS][32];
    uint32_t count;
    size_t len = 0;

    assert_int_equal(election_get_attestations(&rd, chain_id, (const uint8_t *)id, strlen(id), result, &v, &len),
                     ELECTION_OK);
    assert_int_equal(len % ELECTION_ATTEST_ENTRY_LEN, 0);
    for (int k = 0; k < N_VALIDATORS; k++)
        memcpy(keys[k], trustee_pub[k], 32);
    count = election_count_stored_attestations(m, v, len, (const uint8_t(*)[32])keys, N_VALIDATORS, vouched);
    free(v);
    return count;
}

/* What rec (with its key) says, as validators sign it. */
static uint32_t key_vouchers(chain *c, const char *id, const Evote__V1__ElectionRecord *rec, uint8_t *vouched)
{
    election_attest_msg m;
    assert_true(election_key_attest_msg(rec, &m));
    return vouchers(c, id, 0, &m, vouched);
}

/* Validators vouch for the key and the definition on chain, one
 * attestation each, and later for the result; a client counts only
 * signatures on what it was handed, so another key, an edited option list
 * or a forged count is vouched for by nobody. */
static void test_validators_attest_the_election_key_definition_and_result(void **state)
{
    const char *id = "attested";
    election_def def = {id, 4, 3, 0, 0, 0, 0, 3, 1, 1, 0, 0, 0};
    election_state_reader rd;
    Evote__V1__ElectionRecord *rec = NULL;
    uint8_t other[EC_POINT_LEN], wrong_hash[32], vouched[N_VALIDATORS];
    chain c;
    ceremony k;
    (void)state;

    chain_init(&c);
    rd = (election_state_reader){mem_get, &c.st};
    assert_int_equal(attest(&c, "nope", 0, NULL, NULL, NULL, trustee_key[0], trustee_key[0]), R(UNKNOWN_ELECTION));
    assert_int_equal(create(&c, &def, authority), R(OK));
    assert_int_equal(attest(&c, id, 0, NULL, NULL, NULL, trustee_key[0], trustee_key[0]), R(NO_ELECTION_KEY));
    run_ceremony(&c, id, &k, 4, 3);

    assert_int_equal(attest(&c, id, 0, NULL, NULL, NULL, authority, authority), R(NOT_AUTHORIZED)); /* not a validator */
    assert_int_equal(attest(&c, id, 0, NULL, NULL, NULL, trustee_key[0], trustee_key[0]), R(OK));
    assert_int_equal(attest(&c, id, 0, NULL, NULL, NULL, trustee_key[0], trustee_key[0]), R(ALREADY_SUBMITTED));
    /* Another key, another definition, or a signature by someone else. */
    memcpy(other, k.ek_pub[0], EC_POINT_LEN); /* a valid point, not Y */
    memset(wrong_hash, 0x5a, sizeof wrong_hash);
    assert_int_equal(attest(&c, id, 0, other, NULL, NULL, trustee_key[1], trustee_key[1]), R(ATTESTATION_MISMATCH));
    assert_int_equal(attest(&c, id, 0, NULL, wrong_hash, NULL, trustee_key[1], trustee_key[1]), R(ATTESTATION_MISMATCH));
    assert_int_equal(attest(&c, id, 0, NULL, NULL, NULL, trustee_key[2], trustee_key[1]), R(BAD_SIGNATURE));
    assert_int_equal(attest(&c, id, 0, NULL, NULL, NULL, trustee_key[1], trustee_key[1]), R(OK));
    c.height++;
    assert_int_equal(attest(&c, id, 0, NULL, NULL, NULL, trustee_key[2], trustee_key[2]), R(OK));

    { /* fields of the wrong length are refused at the boundary */
        Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__ElectionAttestation a = EVOTE__V1__ELECTION_ATTESTATION__INIT;
        uint8_t junk[64] = {2};
        a.election_id = (ProtobufCBinaryData){strlen(id), (uint8_t *)id};
        a.election_key = (ProtobufCBinaryData){EC_POINT_LEN, junk};
        a.definition_hash = (ProtobufCBinaryData){32, junk};
        a.signature = (ProtobufCBinaryData){63, junk};
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_ATTESTATION;
        body.election_attestation = &a;
        assert_int_equal(run(&c, &body, trustee_key[3]), R(MALFORMED));
        a.signature.len = 64;
        a.election_key.len = 32;
        assert_int_equal(run(&c, &body, trustee_key[3]), R(MALFORMED));
    }
    assert_int_equal(election_get(&rd, chain_id, (const uint8_t *)id, strlen(id), &rec), ELECTION_OK);
    assert_int_equal(key_vouchers(&c, id, rec, vouched), 3);
    assert_true(vouched[0] && vouched[1] && vouched[2] && !vouched[3]);
    /* What a faulty node might hand a voter instead: nobody vouches for it. */
    {
        ProtobufCBinaryData y = rec->election_key;
        rec->election_key.data = other;
        assert_int_equal(key_vouchers(&c, id, rec, NULL), 0);
        rec->election_key = y;
    }
    {
        char *label = rec->definition->questions[0]->options[0], swapped[] = "Edsger";
        rec->definition->questions[0]->options[0] = swapped;
        assert_int_equal(key_vouchers(&c, id, rec, NULL), 0);
        rec->definition->questions[0]->options[0] = label;
    }
    assert_int_equal(key_vouchers(&c, id, rec, NULL), 3);

    /* The result: attested once recorded, on its own key ('Q'). */
    assert_int_equal(attest(&c, id, 1, NULL, NULL, NULL, trustee_key[0], trustee_key[0]), R(WRONG_PHASE));
    assert_int_equal(control(&c, id, CLOSE, authority), R(OK));
    c.height++;
    for (uint32_t j = 1; j <= 3; j++)
        assert_int_equal(post_partial(&c, id, &k, j, 0), R(OK));
    assert_int_equal(attest(&c, id, 1, NULL, NULL, NULL, trustee_key[0], trustee_key[0]), R(OK));
    assert_int_equal(attest(&c, id, 1, NULL, NULL, NULL, trustee_key[0], trustee_key[0]), R(ALREADY_SUBMITTED));
    assert_int_equal(attest(&c, id, 1, NULL, NULL, wrong_hash, trustee_key[1], trustee_key[1]),
                     R(ATTESTATION_MISMATCH));
    assert_int_equal(attest(&c, id, 1, other, NULL, NULL, trustee_key[1], trustee_key[1]), R(ATTESTATION_MISMATCH));
    assert_int_equal(attest(&c, id, 1, NULL, NULL, NULL, trustee_key[1], trustee_key[1]), R(OK));
    {
        Evote__V1__ElectionResult *res = result_of(&c, id);
        election_attest_msg m;
        assert_non_null(res);
        assert_true(election_result_attest_msg(rec, res, &m));
        assert_int_equal(vouchers(&c, id, 1, &m, vouched), 2);
        assert_true(vouched[0] && vouched[1] && !vouched[2]);
        res->counts[0]++; /* a node's forged count: nobody vouches */
        assert_true(election_result_attest_msg(rec, res, &m));
        assert_int_equal(vouchers(&c, id, 1, &m, NULL), 0);
        assert_true(election_key_attest_msg(rec, &m)); /* the key's attestations are not the result's */
        assert_int_equal(vouchers(&c, id, 1, &m, NULL), 0);
        evote__v1__election_result__free_unpacked(res, NULL);
    }
    assert_int_equal(key_vouchers(&c, id, rec, NULL), 3);

    /* An index out of range, a repeated validator, a signature that does
     * not verify: none counts. */
    {
        uint8_t keys[N_VALIDATORS][32], sigs[4][64] = {{0}};
        uint32_t idx[4] = {0, 0, 9, 1};
        election_attest_msg m;
        for (int v = 0; v < N_VALIDATORS; v++)
            memcpy(keys[v], trustee_pub[v], 32);
        assert_true(election_key_attest_msg(rec, &m));
        assert_int_equal(signing_key_sign(trustee_key[0], m.tag, m.msg, m.len, sigs[0]), CRYPTO_OK);
        memcpy(sigs[1], sigs[0], 64);
        assert_int_equal(signing_key_sign(trustee_key[3], m.tag, m.msg, m.len, sigs[2]), CRYPTO_OK);
        assert_int_equal(signing_key_sign(trustee_key[3], m.tag, m.msg, m.len, sigs[3]), CRYPTO_OK);
        assert_int_equal(election_count_attestations(&m, idx, (const uint8_t(*)[64])sigs, 4,
                                                     (const uint8_t(*)[32])keys, N_VALIDATORS, NULL),
                         1);
    }
    evote__v1__election_record__free_unpacked(rec, NULL);
    ceremony_free(&k);
    chain_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_election_counts_equal_the_votes_cast),
        cmocka_unit_test(test_precheck_verdict_lets_execution_skip_the_proofs),
        cmocka_unit_test(test_precheck_refuses_a_bad_ballot_and_defers_an_unknown_election),
        cmocka_unit_test(test_fetched_block_ballots_are_checked_on_every_core),
        cmocka_unit_test(test_revote_replaces_the_earlier_ballot_in_the_tally),
        cmocka_unit_test(test_misbehaving_dealer_is_disqualified_by_a_valid_complaint),
        cmocka_unit_test(test_a_dealer_cannot_reuse_another_dealers_share_key),
        cmocka_unit_test(test_opening_waits_for_the_complaints_about_a_last_bad_dealing),
        cmocka_unit_test(test_ceremony_deadline_allows_opening_without_a_silent_trustee),
        cmocka_unit_test(test_non_authority_cannot_create_register_or_close),
        cmocka_unit_test(test_unusable_definitions_are_refused),
        cmocka_unit_test(test_default_threshold_is_two_f_plus_one),
        cmocka_unit_test(test_approval_question_and_an_election_with_no_votes_for_an_option),
        cmocka_unit_test(test_election_closed_with_no_ballots_counts_zero),
        cmocka_unit_test(test_same_transactions_give_byte_identical_changes),
        cmocka_unit_test(test_changes_list_keeps_first_touch_order_and_last_value),
        cmocka_unit_test(test_result_codes_have_sentences),
        cmocka_unit_test(test_unreadable_or_damaged_state_is_a_local_error_not_a_result),
        cmocka_unit_test(test_voting_window_by_block_time),
        cmocka_unit_test(test_ballot_with_more_selections_than_allowed_is_refused),
        cmocka_unit_test(test_roll_of_ten_thousand_voters_in_one_transaction),
        cmocka_unit_test(test_polls_closed_after_a_tip),
        cmocka_unit_test(test_admission_refuses_what_the_state_already_refuses),
        cmocka_unit_test(test_the_roll_freezes_after_its_registration_deadline),
        cmocka_unit_test(test_the_roll_freezes_when_the_polls_open),
        cmocka_unit_test(test_claims_are_judged_against_the_chain),
        cmocka_unit_test(test_validators_attest_the_election_key_definition_and_result),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
