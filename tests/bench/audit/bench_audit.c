/* bench_audit: how fast evote-audit re-verifies a large election.
 *
 * Generation (skipped when the cache directory already holds it): a genesis
 * with 4 validator keys and one authority; an election (1 question, 3
 * options, exactly one choice; the 4 validators' keys are its trustees,
 * threshold 3); the key ceremony (encryption keys, dealings with proofs);
 * OPEN; the voter roll; N ballots encrypted with the real ballot code, signed
 * by each voter's key; CLOSE; 3 partial decryptions; each block executed
 * with ledger_execute_batch, assembled with ledger_block_assemble, certified
 * by COMMITs signed by 3 of the 4 validator keys and appended with
 * chain_store_append, exactly as a validator stores it; then a compacted
 * snapshot (chain_store_snapshot).
 *
 * Measurement: the single-ballot verification rate on one core (envelope
 * signature + ballot proofs, what the auditor does per ballot), then the
 * whole audit (audit_run) on every core: ballots verified per second and per
 * core, CPU time per ballot, and the ratio to the target
 * 0.8 × cores × single-ballot rate.
 *
 * usage: bench_audit [BALLOTS]   (default 100000; EVOTE_BENCH_AUDIT_DIR sets
 * the cache directory, default ${TMPDIR:-/tmp}/evote-bench-audit-BALLOTS) */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "chain_store.h"
#include "consensus.pb-c.h"

#define NV 4
#define T 3
#define BLOCK_TXS 2000
#define ELECTION_ID "bench-2027"

static const char *curve_keys[NV] = {
    "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
    "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6", "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"};

static void die(const char *what)
{
    fprintf(stderr, "bench_audit: %s\n", what);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------------ generator */

typedef struct {
    genesis *g;
    chain_store *store;
    signing_key *val[NV], *auth;
    election_cache *cache;
    election_changes *changes;
    election_state_reader reader;
    bc_election *bce;         /* once Y exists */
    uint64_t height, prev_ts;
    uint8_t prev_hash[CRYPTO_HASH_LEN];
    /* ballots of the block being executed: verdicts the generator knows */
    uint8_t (*ids)[CRYPTO_HASH_LEN];
    elgamal_ct *cts;          /* BLOCK_TXS × 3 */
    int *is_ballot;
    size_t n_block;
} gen;

static int st_get(void *ctx, const uint8_t *key, size_t klen, uint8_t **value, size_t *len)
{
    store_err e = chain_store_get_state(ctx, key, klen, value, len);
    return e == STORE_OK ? 1 : e == STORE_ERR_NOT_FOUND ? 0 : -1;
}

static int committed(void *ctx, const uint8_t id[CRYPTO_HASH_LEN])
{
    gen *G = ctx;
    return chain_store_find_tx(G->store, id, NULL, NULL, NULL) == STORE_OK;
}

static int verdict(void *ctx, const uint8_t id[CRYPTO_HASH_LEN], const elgamal_ct **cts, size_t *n)
{
    gen *G = ctx;
    for (size_t i = 0; i < G->n_block; i++)
        if (G->is_ballot[i] && memcmp(G->ids[i], id, CRYPTO_HASH_LEN) == 0) {
            *cts = &G->cts[i * 3];
            *n = 3;
            return 1;
        }
    return 0;
}

static uint8_t *seal_body(Evote__V1__TxBody *body, const signing_key *k, size_t *len, const uint8_t *chain_id)
{
    uint8_t *out;
    body->chain_id.data = (uint8_t *)chain_id;
    body->chain_id.len = CRYPTO_CHAIN_ID_LEN;
    if (crypto_random(&body->nonce, sizeof body->nonce) != CRYPTO_OK ||
        ledger_tx_seal(body, k, &out, len) != CRYPTO_OK)
        die("cannot seal a transaction");
    return out;
}

/* Executes, certifies and appends one block holding txs. */
static void commit_block(gen *G, uint8_t **txs, size_t *lens, size_t n)
{
    Evote__V1__Batch b = EVOTE__V1__BATCH__INIT;
    ProtobufCBinaryData *bt = calloc(n ? n : 1, sizeof *bt);
    Evote__V1__TxResult *res = calloc(G->g->max_batch_txs + 1, sizeof *res);
    uint8_t *batch, *block, hash[CRYPTO_HASH_LEN], digest[CRYPTO_HASH_LEN];
    size_t blen, block_len, nres = 0;
    uint64_t h = G->height + 1;
    ledger_chain_view view;
    chain_store_append_args args;
    chain_store_state_change *sc;
    size_t nsc;

    for (size_t i = 0; i < n; i++) {
        bt[i].data = txs[i];
        bt[i].len = lens[i];
        envelope_txid(txs[i], lens[i], G->ids[i]);
    }
    G->n_block = n;
    b.chain_id.data = G->g->chain_id;
    b.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    b.seq = h;
    b.timestamp_ms = 1800000000000ull + h * 1000;
    b.txs = bt;
    b.n_txs = n;
    blen = evote__v1__batch__get_packed_size(&b);
    batch = malloc(blen);
    evote__v1__batch__pack(&b, batch);
    memset(&view, 0, sizeof view);
    view.tx_committed = committed;
    view.ctx = G;
    view.state = &G->reader;
    view.cache = G->cache;
    view.changes = G->changes;
    view.height = h;
    view.prev_timestamp_ms = G->prev_ts;
    view.ballot_verdict = verdict;
    if (ledger_execute_batch(G->g, batch, blen, &view, G->g->max_batch_txs, res, &nres) != LEDGER_OK ||
        ledger_block_assemble(G->g->chain_id, h, G->prev_hash, G->prev_ts, batch, blen, res, nres, &block,
                              &block_len, hash) != LEDGER_OK)
        die("cannot execute a block");
    for (size_t i = 0; i < nres; i++)
        if (res[i] != EVOTE__V1__TX_RESULT__TX_RESULT_OK) {
            fprintf(stderr, "bench_audit: height %" PRIu64 " tx %zu: %s\n", h, i, election_result_text(res[i]));
            die("a generated transaction was refused");
        }
    /* the certificate: COMMITs of validators 0, 1, 2 */
    {
        Evote__V1__CommitCertificate c = EVOTE__V1__COMMIT_CERTIFICATE__INIT;
        Evote__V1__Envelope *envs[T];
        uint8_t *cert;
        size_t clen;
        crypto_tagged_hash(CRYPTO_TAG_BATCH, batch, blen, digest);
        for (uint32_t v = 0; v < T; v++) {
            Evote__V1__Commit cm = EVOTE__V1__COMMIT__INIT;
            uint8_t body[256], *env;
            size_t bl, el;
            cm.chain_id = b.chain_id;
            cm.seq = h;
            cm.digest.data = digest;
            cm.digest.len = CRYPTO_HASH_LEN;
            cm.replica = v;
            bl = evote__v1__commit__pack(&cm, body);
            if (envelope_seal(EVOTE__V1__KIND__KIND_COMMIT, body, bl, G->val[v], &env, &el) != CRYPTO_OK)
                die("cannot sign a COMMIT");
            envs[v] = evote__v1__envelope__unpack(NULL, el, env);
            free(env);
        }
        c.seq = h;
        c.digest.data = digest;
        c.digest.len = CRYPTO_HASH_LEN;
        c.commits = envs;
        c.n_commits = T;
        clen = evote__v1__commit_certificate__get_packed_size(&c);
        cert = malloc(clen);
        evote__v1__commit_certificate__pack(&c, cert);
        for (uint32_t v = 0; v < T; v++)
            evote__v1__envelope__free_unpacked(envs[v], NULL);
        nsc = election_changes_count(G->changes);
        sc = calloc(nsc ? nsc : 1, sizeof *sc);
        for (size_t i = 0; i < nsc; i++)
            election_changes_at(G->changes, i, &sc[i].key, &sc[i].key_len, &sc[i].value, &sc[i].value_len, &sc[i].del);
        memset(&args, 0, sizeof args);
        args.block = block;
        args.block_len = block_len;
        args.cert = cert;
        args.cert_len = clen;
        args.tx_ids = (const uint8_t(*)[CRYPTO_HASH_LEN])G->ids;
        args.tx_results = res;
        args.n_txs = nres;
        args.state = sc;
        args.n_state = nsc;
        if (chain_store_append(G->store, &args) != STORE_OK)
            die("cannot append a block");
        free(sc);
        free(cert);
    }
    election_changes_clear(G->changes);
    G->height = h;
    G->prev_ts = b.timestamp_ms > G->prev_ts ? b.timestamp_ms : G->prev_ts;
    memcpy(G->prev_hash, hash, CRYPTO_HASH_LEN);
    for (size_t i = 0; i < n; i++)
        free(txs[i]);
    memset(G->is_ballot, 0, BLOCK_TXS * sizeof *G->is_ballot);
    free(block);
    free(batch);
    free(bt);
    free(res);
}

typedef struct {
    gen *G;
    signing_key **voters;
    size_t first;
    uint8_t **txs;
    size_t *lens;
} ballot_job;

static void make_ballot(void *ctx, size_t i)
{
    ballot_job *j = ctx;
    gen *G = j->G;
    uint8_t voter[32], sel[3] = {0, 0, 0}, *enc = malloc(bc_ballot_size(G->bce));
    size_t v = j->first + i;
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__Ballot bal = EVOTE__V1__BALLOT__INIT;

    signing_key_pubkey(j->voters[v], voter);
    sel[(v * v + v / 7) % 3] = 1;
    if (bc_ballot_encrypt(G->bce, voter, sel, 3, enc, bc_ballot_size(G->bce)) != BC_OK ||
        bc_ballot_ciphertexts(G->bce, enc, bc_ballot_size(G->bce), &G->cts[i * 3]) != BC_OK)
        die("cannot encrypt a ballot");
    bal.election_id.data = (uint8_t *)ELECTION_ID;
    bal.election_id.len = strlen(ELECTION_ID);
    bal.encrypted_ballot.data = enc;
    bal.encrypted_ballot.len = bc_ballot_size(G->bce);
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_BALLOT;
    body.ballot = &bal;
    j->txs[i] = seal_body(&body, j->voters[v], &j->lens[i], G->g->chain_id);
    G->is_ballot[i] = 1;
    free(enc);
}

static void make_key(void *ctx, size_t i)
{
    signing_key **k = ctx;
    if (signing_key_generate(&k[i]) != CRYPTO_OK)
        die("cannot generate a key");
}

static void generate(const char *dir, size_t nballots, audit_pool *pool)
{
    gen G;
    char path[4096], text[8192], hex[65];
    uint8_t pub[32], e[ELECTION_HASH_LEN];
    size_t used, lens[BLOCK_TXS];
    uint8_t *txs[BLOCK_TXS];
    signing_key **voters = calloc(nballots, sizeof *voters);
    dkg_dealer *dealer[NV];
    ec_scalar ek[NV];
    uint8_t ekpub[NV][EC_POINT_LEN];
    FILE *f;
    double t0 = now_s();

    memset(&G, 0, sizeof G);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        die("cannot create the cache directory");
    used = (size_t)snprintf(text, sizeof text, "evote-genesis-v1\nchain_name bench-audit\n");
    for (int i = 0; i < NV; i++) {
        if (signing_key_generate(&G.val[i]) != CRYPTO_OK)
            die("keygen");
        signing_key_pubkey(G.val[i], pub);
        crypto_hex(pub, 32, hex);
        used += (size_t)snprintf(text + used, sizeof text - used, "validator node%d %s %s tcp://127.0.0.1:%d\n", i,
                                 hex, curve_keys[i], 7100 + i);
    }
    if (signing_key_generate(&G.auth) != CRYPTO_OK)
        die("keygen");
    signing_key_pubkey(G.auth, pub);
    crypto_hex(pub, 32, hex);
    used += (size_t)snprintf(text + used, sizeof text - used, "authority commission %s\n", hex);
    snprintf(path, sizeof path, "%.2000s/genesis.txt", dir);
    if ((f = fopen(path, "w")) == NULL || fwrite(text, 1, used, f) != used || fclose(f) != 0)
        die("cannot write the genesis");
    if (genesis_parse((const uint8_t *)text, used, &G.g, NULL) != LEDGER_OK)
        die("genesis");
    snprintf(path, sizeof path, "%.2000s/chain", dir);
    {
        store_error why;
        if (chain_store_open(path, G.g->chain_id, NULL, &G.store, &why) != STORE_OK)
            die(why.detail);
    }
    G.reader.get = st_get;
    G.reader.ctx = G.store;
    G.changes = election_changes_new();
    G.ids = calloc(BLOCK_TXS, sizeof *G.ids);
    G.cts = calloc(BLOCK_TXS * 3, sizeof *G.cts);
    G.is_ballot = calloc(BLOCK_TXS, sizeof *G.is_ballot);
    if (election_cache_new(G.g->chain_id, &G.cache) != ELECTION_OK || !G.changes || !G.ids || !G.cts || !G.is_ballot ||
        !voters)
        die("out of memory");
    memcpy(G.prev_hash, G.g->chain_id, CRYPTO_HASH_LEN);
    election_hash(G.g->chain_id, (const uint8_t *)ELECTION_ID, strlen(ELECTION_ID), e);

    /* 1. the election */
    {
        Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__ElectionCreate c = EVOTE__V1__ELECTION_CREATE__INIT;
        Evote__V1__Question q = EVOTE__V1__QUESTION__INIT, *qs[1] = {&q};
        char *opts[3] = {"Ada", "Grace", "Edsger"};
        ProtobufCBinaryData tr[NV];
        uint8_t tpub[NV][32];
        q.text = "Mayor";
        q.options = opts;
        q.n_options = 3;
        q.min_selections = q.max_selections = 1;
        for (int i = 0; i < NV; i++) {
            signing_key_pubkey(G.val[i], tpub[i]);
            tr[i] = (ProtobufCBinaryData){32, tpub[i]};
        }
        c.election_id.data = (uint8_t *)ELECTION_ID;
        c.election_id.len = strlen(ELECTION_ID);
        c.title = "Benchmark election";
        c.questions = qs;
        c.n_questions = 1;
        c.ceremony_version = ELECTION_CEREMONY_VERSION;
        c.trustees = tr;
        c.n_trustees = NV;
        c.threshold = T;
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CREATE;
        body.election_create = &c;
        txs[0] = seal_body(&body, G.auth, &lens[0], G.g->chain_id);
        commit_block(&G, txs, lens, 1);
    }
    /* 2. the key ceremony: encryption keys, then dealings */
    for (int i = 0; i < NV; i++) {
        Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__TrusteeDealing td = EVOTE__V1__TRUSTEE_DEALING__INIT;
        if (dkg_encryption_keypair(&ek[i], ekpub[i]) != BC_OK)
            die("dkg");
        td.election_id.data = (uint8_t *)ELECTION_ID;
        td.election_id.len = strlen(ELECTION_ID);
        td.encryption_key.data = ekpub[i];
        td.encryption_key.len = EC_POINT_LEN;
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING;
        body.trustee_dealing = &td;
        txs[i] = seal_body(&body, G.val[i], &lens[i], G.g->chain_id);
    }
    commit_block(&G, txs, lens, NV);
    for (uint32_t i = 1; i <= NV; i++) {
        Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__TrusteeDealing td = EVOTE__V1__TRUSTEE_DEALING__INIT;
        uint8_t comm[T * EC_POINT_LEN], pok[BC_PROOF_DLEQ_LEN], shares[NV][DKG_SHARE_LEN],
            proofs[NV][DKG_SHARE_PROOF_LEN];
        ProtobufCBinaryData cb[T], sb[NV], pb[NV];
        if (dkg_dealer_new(&dealer[i - 1], e, NV, T, i) != BC_OK ||
            dkg_dealer_commitments(dealer[i - 1], comm, pok) != BC_OK)
            die("dkg deal");
        for (uint32_t m = 0; m < T; m++)
            cb[m] = (ProtobufCBinaryData){EC_POINT_LEN, comm + m * EC_POINT_LEN};
        for (uint32_t j = 1; j <= NV; j++) {
            if (j == i) {
                sb[j - 1] = pb[j - 1] = (ProtobufCBinaryData){0, NULL};
                continue;
            }
            if (dkg_dealer_encrypt_share(dealer[i - 1], j, ekpub[j - 1], shares[j - 1], proofs[j - 1]) != BC_OK)
                die("dkg share");
            sb[j - 1] = (ProtobufCBinaryData){DKG_SHARE_LEN, shares[j - 1]};
            pb[j - 1] = (ProtobufCBinaryData){DKG_SHARE_PROOF_LEN, proofs[j - 1]};
        }
        td.election_id.data = (uint8_t *)ELECTION_ID;
        td.election_id.len = strlen(ELECTION_ID);
        td.commitments = cb;
        td.n_commitments = T;
        td.encrypted_shares = sb;
        td.n_encrypted_shares = NV;
        td.share_proofs = pb;
        td.n_share_proofs = NV;
        td.proof.data = pok;
        td.proof.len = sizeof pok;
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING;
        body.trustee_dealing = &td;
        txs[i - 1] = seal_body(&body, G.val[i - 1], &lens[i - 1], G.g->chain_id);
    }
    commit_block(&G, txs, lens, NV);
    /* every trustee confirms the others' shares (ceremony rules 1) */
    for (uint32_t j = 1; j <= NV; j++) {
        Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__TrusteeDealing td = EVOTE__V1__TRUSTEE_DEALING__INIT;
        uint32_t others[NV], k = 0;
        for (uint32_t i = 1; i <= NV; i++)
            if (i != j)
                others[k++] = i;
        td.election_id.data = (uint8_t *)ELECTION_ID;
        td.election_id.len = strlen(ELECTION_ID);
        td.checked = others;
        td.n_checked = k;
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING;
        body.trustee_dealing = &td;
        txs[j - 1] = seal_body(&body, G.val[j - 1], &lens[j - 1], G.g->chain_id);
    }
    commit_block(&G, txs, lens, NV);
    /* 3. open: Y is derived */
    {
        Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__ElectionControl ctl = EVOTE__V1__ELECTION_CONTROL__INIT;
        Evote__V1__ElectionRecord *rec;
        bc_question q = {3, 1, 1};
        ctl.election_id.data = (uint8_t *)ELECTION_ID;
        ctl.election_id.len = strlen(ELECTION_ID);
        ctl.action = EVOTE__V1__ELECTION_CONTROL__ACTION__ACTION_OPEN;
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CONTROL;
        body.election_control = &ctl;
        txs[0] = seal_body(&body, G.auth, &lens[0], G.g->chain_id);
        commit_block(&G, txs, lens, 1);
        if (election_get(&G.reader, G.g->chain_id, (const uint8_t *)ELECTION_ID, strlen(ELECTION_ID), &rec) !=
                ELECTION_OK ||
            rec->election_key.len != EC_POINT_LEN || bc_election_new(&G.bce, e, rec->election_key.data, &q, 1) != BC_OK)
            die("the ceremony did not produce an election key");
        evote__v1__election_record__free_unpacked(rec, NULL);
    }
    /* 4. the roll */
    audit_pool_run(pool, nballots, make_key, voters);
    for (size_t first = 0; first < nballots; first += LEDGER_MAX_REGISTRATIONS) {
        size_t n = nballots - first < LEDGER_MAX_REGISTRATIONS ? nballots - first : LEDGER_MAX_REGISTRATIONS;
        Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__VoterRegistration reg = EVOTE__V1__VOTER_REGISTRATION__INIT;
        ProtobufCBinaryData *keys = calloc(n, sizeof *keys);
        uint8_t (*pubs)[32] = calloc(n, sizeof *pubs);
        for (size_t k = 0; k < n; k++) {
            signing_key_pubkey(voters[first + k], pubs[k]);
            keys[k] = (ProtobufCBinaryData){32, pubs[k]};
        }
        reg.election_id.data = (uint8_t *)ELECTION_ID;
        reg.election_id.len = strlen(ELECTION_ID);
        reg.voter_keys = keys;
        reg.n_voter_keys = n;
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_VOTER_REGISTRATION;
        body.voter_registration = &reg;
        txs[0] = seal_body(&body, G.auth, &lens[0], G.g->chain_id);
        commit_block(&G, txs, lens, 1);
        free(keys);
        free(pubs);
    }
    /* 5. the ballots, BLOCK_TXS per block, encrypted on every core */
    for (size_t first = 0; first < nballots; first += BLOCK_TXS) {
        size_t n = nballots - first < BLOCK_TXS ? nballots - first : BLOCK_TXS;
        ballot_job j = {&G, voters, first, txs, lens};
        audit_pool_run(pool, n, make_ballot, &j);
        commit_block(&G, txs, lens, n);
        fprintf(stderr, "\rgenerating: %zu of %zu ballots (%.0f s)", first + n, nballots, now_s() - t0);
    }
    fputc('\n', stderr);
    /* 6. close, then trustees 1..3 decrypt */
    {
        Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__ElectionControl ctl = EVOTE__V1__ELECTION_CONTROL__INIT;
        elgamal_ct tally[3];
        uint64_t counted, accepted;
        size_t slots;
        ctl.election_id.data = (uint8_t *)ELECTION_ID;
        ctl.election_id.len = strlen(ELECTION_ID);
        ctl.action = EVOTE__V1__ELECTION_CONTROL__ACTION__ACTION_CLOSE;
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CONTROL;
        body.election_control = &ctl;
        txs[0] = seal_body(&body, G.auth, &lens[0], G.g->chain_id);
        commit_block(&G, txs, lens, 1);
        if (election_get_tally(&G.reader, G.g->chain_id, (const uint8_t *)ELECTION_ID, strlen(ELECTION_ID), &counted,
                               &accepted, tally, 3, &slots) != ELECTION_OK)
            die("no tally");
        for (uint32_t j = 1; j <= T; j++) {
            Evote__V1__TxBody pbody = EVOTE__V1__TX_BODY__INIT;
            Evote__V1__PartialDecryption pd = EVOTE__V1__PARTIAL_DECRYPTION__INIT;
            uint8_t parts[3][BC_PARTIAL_LEN];
            ProtobufCBinaryData pb[3];
            ec_scalar s[NV], x;
            ec_point xpub;
            for (uint32_t i = 1; i <= NV; i++)
                if (dkg_dealer_share(dealer[i - 1], j, &s[i - 1]) != BC_OK)
                    die("share");
            dkg_secret_share(&x, s, NV);
            ec_point_mul_base(&xpub, &x);
            for (uint32_t sl = 0; sl < 3; sl++) {
                bc_partial_ctx pc = {e, NULL, j, sl};
                uint8_t y[EC_POINT_LEN];
                ec_point_encode(y, bc_election_key(G.bce));
                pc.y_enc = y;
                if (bc_tally_partial_decrypt(&pc, &x, &xpub, &tally[sl], parts[sl]) != BC_OK)
                    die("partial decryption");
                pb[sl] = (ProtobufCBinaryData){BC_PARTIAL_LEN, parts[sl]};
            }
            pd.election_id.data = (uint8_t *)ELECTION_ID;
            pd.election_id.len = strlen(ELECTION_ID);
            pd.shares = pb;
            pd.n_shares = 3;
            pbody.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_PARTIAL_DECRYPTION;
            pbody.partial_decryption = &pd;
            txs[j - 1] = seal_body(&pbody, G.val[j - 1], &lens[j - 1], G.g->chain_id);
        }
        commit_block(&G, txs, lens, T);
    }
    snprintf(path, sizeof path, "%.2000s/snapshot", dir);
    if (chain_store_snapshot(G.store, path) != STORE_OK)
        die("cannot snapshot the generated chain");
    snprintf(path, sizeof path, "%.2000s/complete", dir);
    if ((f = fopen(path, "w")) == NULL || fclose(f) != 0)
        die("cannot mark the cache complete");
    fprintf(stderr, "generated %" PRIu64 " blocks in %.0f s\n", G.height, now_s() - t0);
    for (size_t v = 0; v < nballots; v++)
        signing_key_destroy(&voters[v]);
    free(voters);
    for (int i = 0; i < NV; i++) {
        signing_key_destroy(&G.val[i]);
        dkg_dealer_destroy(&dealer[i]);
        ec_scalar_wipe(&ek[i]);
    }
    signing_key_destroy(&G.auth);
    bc_election_destroy(&G.bce);
    election_cache_destroy(&G.cache);
    election_changes_destroy(&G.changes);
    free(G.ids);
    free(G.cts);
    free(G.is_ballot);
    chain_store_destroy(&G.store);
    genesis_destroy(&G.g);
}

/* ---------------------------------------------------------- measurement */

/* One core: what the auditor does per ballot (decode + envelope signature,
 * then the ballot's proofs), on the first `count` ballots of the chain.
 * Returns: seconds per ballot. */
static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double single_ballot_seconds(const char *dir, size_t count, double *cpu_per)
{
    char path[4096];
    genesis *g = NULL;
    chain_store *s = NULL;
    election_cache *cache = NULL;
    election_state_reader rd = {st_get, NULL};
    size_t done = 0;
    double t0 = 0, c0 = 0;
    snprintf(path, sizeof path, "%.2000s/genesis.txt", dir);
    if (genesis_load(path, &g, NULL) != LEDGER_OK)
        die("genesis");
    snprintf(path, sizeof path, "%.2000s/snapshot", dir);
    if (chain_store_open_readonly(path, g->chain_id, &s, NULL) != STORE_OK)
        die("snapshot");
    rd.ctx = s;
    if (election_cache_new(g->chain_id, &cache) != ELECTION_OK ||
        election_cache_load(cache, &rd, (const uint8_t *)ELECTION_ID, strlen(ELECTION_ID)) != ELECTION_OK)
        die("election");
    for (uint64_t h = 1; done < count; h++) {
        uint8_t *blk;
        size_t len;
        Evote__V1__Block *b;
        Evote__V1__Batch *bt;
        if (chain_store_get_block(s, h, &blk, &len) != STORE_OK)
            die("block");
        b = evote__v1__block__unpack(NULL, len, blk);
        bt = evote__v1__batch__unpack(NULL, b->batch.len, b->batch.data);
        if (bt->n_txs > 100 && t0 == 0) {
            t0 = now_s();
            c0 = thread_cpu_s();
        }
        for (size_t i = 0; bt->n_txs > 100 && i < bt->n_txs && done < count; i++, done++) {
            ledger_tx *tx = NULL;
            elgamal_ct cts[ELECTION_MAX_SLOTS];
            size_t n;
            if (ledger_tx_decode(bt->txs[i].data, bt->txs[i].len, g->chain_id, &tx, NULL) != LEDGER_OK ||
                election_precheck_ballot(cache, tx->body, tx->envelope->signer.data, cts, ELECTION_MAX_SLOTS, &n) !=
                    EVOTE__V1__TX_RESULT__TX_RESULT_OK)
                die("a ballot does not verify");
            ledger_tx_destroy(&tx);
        }
        evote__v1__batch__free_unpacked(bt, NULL);
        evote__v1__block__free_unpacked(b, NULL);
        free(blk);
    }
    double per = (now_s() - t0) / (double)count;
    *cpu_per = (thread_cpu_s() - c0) / (double)count;
    election_cache_destroy(&cache);
    chain_store_destroy(&s);
    genesis_destroy(&g);
    return per;
}

int main(int argc, char **argv)
{
    size_t nballots = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    char dir[4096], path[4096], why[1024];
    const char *env = getenv("EVOTE_BENCH_AUDIT_DIR"), *tmp = getenv("TMPDIR");
    struct stat st;
    audit_pool *pool;
    audit_options opt;
    audit_report rep;
    double single, single_cpu, w0, c0, wall, cpu;
    int rc;

    if (nballots < 100 || cores < 1)
        die("usage: bench_audit [BALLOTS >= 100]");
    if (env)
        snprintf(dir, sizeof dir, "%s", env);
    else
        snprintf(dir, sizeof dir, "%.2000s/evote-bench-audit-%zu", tmp ? tmp : "/tmp", nballots);
    snprintf(path, sizeof path, "%.2000s/complete", dir);
    pool = audit_pool_new((unsigned)cores - 1);
    if (stat(path, &st) != 0) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir); /* a partial earlier generation */
        if (system(cmd) != 0)
            die("cannot clear the cache directory");
        fprintf(stderr, "generating a chain of %zu ballots in %s (once; later runs reuse it)\n", nballots, dir);
        generate(dir, nballots, pool);
    } else
        fprintf(stderr, "reusing the chain in %s\n", dir);
    audit_pool_destroy(&pool);

    single = single_ballot_seconds(dir, nballots < 2000 ? nballots : 2000, &single_cpu);
    memset(&opt, 0, sizeof opt);
    snprintf(path, sizeof path, "%.2000s/genesis.txt", dir);
    opt.genesis_path = path;
    char snap[4200];
    snprintf(snap, sizeof snap, "%.2000s/snapshot", dir);
    opt.snapshot_dir = snap;
    w0 = now_s();
    c0 = cpu_s();
    rc = audit_run(&opt, &rep, why, sizeof why);
    wall = now_s() - w0;
    cpu = cpu_s() - c0;
    if (rc != AUDIT_EXIT_VERIFIED) {
        audit_report_text(&rep, stderr);
        die(rc == AUDIT_EXIT_INPUT ? why : "the generated chain does not verify");
    }
    double rate = (double)nballots / wall, target = 0.8 * (double)cores / single;
    printf("audit of %zu ballots (1 question, 3 options), %" PRIu64 " blocks, %" PRIu64 " signatures: VERIFIED\n",
           nballots, rep.height, rep.signatures);
    printf("  cores                          %ld (audit threads %u)\n", cores, rep.threads);
    printf("  single-ballot verification     %.0f ballots/s on one core (%.3f ms wall, %.3f ms CPU per ballot: "
           "signature + proofs)\n", 1.0 / single, single * 1e3, single_cpu * 1e3);
    printf("  audit wall time                %.2f s\n", wall);
    printf("  audit rate                     %.0f ballots/s, %.0f per core\n", rate, rate / (double)cores);
    printf("  audit CPU time                 %.2f s, %.3f ms per ballot (everything: chain, certificates, "
           "re-execution, tally)\n", cpu, cpu * 1e3 / (double)nballots);
    printf("  target (0.8 x cores x single)  %.0f ballots/s: reached %.0f%% (wall clock: depends on the load)\n",
           target, 100.0 * rate / target);
    {
        /* Load-independent: Amdahl with the measured serial CPU and the
         * rest spread over the cores, against the same target computed
         * from CPU time. */
        double par = cpu - rep.sequential_cpu, predicted = (double)nballots / (rep.sequential_cpu + par / (double)cores),
               target_cpu = 0.8 * (double)cores / single_cpu;
        printf("  serial part (re-execution...)  %.2f s CPU of %.2f s (%.1f%%)\n", rep.sequential_cpu, cpu,
               100.0 * rep.sequential_cpu / cpu);
        printf("  idle-machine estimate          %.0f ballots/s on %ld cores = %.0f%% of 0.8 x cores x single "
               "(%.0f, from CPU times)\n", predicted, cores, 100.0 * predicted / target_cpu, target_cpu);
    }
    printf("  CPU efficiency                 single-ballot CPU / audit CPU per ballot = %.0f%% (load-independent)\n",
           100.0 * single_cpu / (cpu / (double)nballots));
    audit_report_free(&rep);
    return 0;
}
