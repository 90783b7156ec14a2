/* The audit itself. Three passes over a read-only snapshot:
 *  1. the block heights (contiguous from 1, the tip record agrees);
 *  2. windows of consecutive blocks: first in parallel (every core) each
 *     transaction's envelope and signature, each certificate, and the
 *     proofs of each ballot of an election whose key is known; then in
 *     order, each block's header against its content and its parent, and
 *     deterministic re-execution from the empty state with the validators'
 *     own code (ledger_execute_batch), whose result codes must equal the
 *     recorded ones;
 *  3. the re-executed state must equal the snapshot's state database, and
 *     each election is re-checked independently: last ballot per voter, the
 *     homomorphic tally summed again, every decryption share re-verified,
 *     the counts re-derived and compared with the published result. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.pb-c.h"
#include "audit.h"
#include "chain_store.h"
#include "data_file.h"
#include "kvmap.h"

#define WINDOW_ITEMS 4096 /* transactions per parallel step (a few MB of decoded transactions) */
#define WINDOW_BLOCKS 256

#define R(x) EVOTE__V1__TX_RESULT__TX_RESULT_##x

/* One election as the auditor follows it. */
typedef struct {
    uint8_t id[ELECTION_MAX_ID];
    size_t id_len;
    uint8_t e[ELECTION_HASH_LEN];
    int revoting;
    size_t slots;
    size_t n_q;
    uint32_t q_options[ELECTION_MAX_SLOTS];
    uint32_t q_min[ELECTION_MAX_SLOTS], q_max[ELECTION_MAX_SLOTS];
    Evote__V1__TxBody *partials[ELECTION_MAX_SLOTS + 1]; /* accepted PartialDecryption bodies by trustee j */
    uint64_t partial_height[ELECTION_MAX_SLOTS + 1];
    int keyed;                 /* its verifier is in the cache */
} followed_election;

typedef struct {
    const uint8_t *bytes;
    size_t len;
    uint8_t id[CRYPTO_HASH_LEN];
    ledger_tx *tx;             /* decoded with the signature checked; NULL when it failed */
    ledger_err err;
    crypto_err detail;
    Evote__V1__TxResult pre;   /* ballot precheck: OK, a refusal, or UNSPECIFIED */
    elgamal_ct *cts;
    size_t n_cts;
} tx_item;

typedef struct {
    uint64_t height;
    uint8_t *block_bytes, *cert_bytes;
    size_t block_len, cert_len;
    Evote__V1__Block *block;
    Evote__V1__Batch *batch;
    uint8_t digest[CRYPTO_HASH_LEN];
    audit_cert_verdict cert;
    int cert_ok;
    tx_item *items;
    size_t n_items;
    size_t cursor;             /* ballot_verdict lookups come in order */
} block_item;

typedef struct {
    const audit_options *opt;
    audit_report *rep;
    genesis *g;
    chain_store *store;
    election_cache *cache;
    kvmap *state, *seen, *voters;
    election_changes *changes;
    election_state_reader reader, snap_reader;
    followed_election *el;
    size_t n_el;
    audit_pool *pool;
    block_item *win;
    size_t n_win;
    struct {
        block_item *b;
        size_t i;
    } *jobs;
    size_t n_jobs;
    uint8_t prev_hash[CRYPTO_HASH_LEN];
    uint64_t prev_ts;
    uint64_t ballot_proofs;
    uint64_t ckpt_seq;         /* the next kept checkpoint proof to check (0: none) */
    uint8_t *ckpt;             /* its serialized CheckpointProof */
    size_t ckpt_len;
    double pool_cpu;           /* this thread's CPU inside parallel parts */
} auditor;

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run_parallel(auditor *a, void (*fn)(void *, size_t))
{
    double c0 = thread_cpu();
    audit_pool_run(a->pool, a->n_jobs, fn, a);
    a->pool_cpu += thread_cpu() - c0;
}

/* ----------------------------------------------------------- helpers */

static void printable_id(const uint8_t *id, size_t len, char *out)
{
    int ok = len > 0;
    for (size_t i = 0; i < len; i++)
        if (id[i] < 0x21 || id[i] > 0x7e || id[i] == '"' || id[i] == '\\')
            ok = 0;
    if (ok) {
        memcpy(out, id, len);
        out[len] = '\0';
    } else
        crypto_hex(id, len, out);
}

static int state_get(void *ctx, const uint8_t *key, size_t klen, uint8_t **value, size_t *len)
{
    const uint8_t *v;
    size_t n;
    if (!kvmap_get(ctx, key, klen, &v, &n))
        return 0;
    *value = malloc(n ? n : 1);
    if (*value == NULL)
        return -1;
    memcpy(*value, v, n);
    *len = n;
    return 1;
}

static int snap_get(void *ctx, const uint8_t *key, size_t klen, uint8_t **value, size_t *len)
{
    store_err e = chain_store_get_state(ctx, key, klen, value, len);
    return e == STORE_OK ? 1 : e == STORE_ERR_NOT_FOUND ? 0 : -1;
}

typedef struct {
    kvmap *seen;
    void *block; /* block_item being executed */
} exec_ctx;

static int tx_seen(void *ctx, const uint8_t id[CRYPTO_HASH_LEN])
{
    return kvmap_get(((exec_ctx *)ctx)->seen, id, CRYPTO_HASH_LEN, NULL, NULL);
}

static followed_election *find_election(auditor *a, const uint8_t *id, size_t len, int create)
{
    followed_election *t;
    audit_election *re;
    for (size_t i = 0; i < a->n_el; i++)
        if (a->el[i].id_len == len && memcmp(a->el[i].id, id, len) == 0)
            return &a->el[i];
    if (!create || len == 0 || len > ELECTION_MAX_ID)
        return NULL;
    t = realloc(a->el, (a->n_el + 1) * sizeof *t);
    re = realloc(a->rep->elections, (a->n_el + 1) * sizeof *re);
    if (t)
        a->el = t;
    if (re)
        a->rep->elections = re;
    if (!t || !re)
        return NULL;
    t = &a->el[a->n_el];
    memset(t, 0, sizeof *t);
    memcpy(t->id, id, len);
    t->id_len = len;
    election_hash(a->g->chain_id, id, len, t->e);
    re = &a->rep->elections[a->n_el];
    memset(re, 0, sizeof *re);
    printable_id(id, len, re->id);
    a->n_el++;
    a->rep->n_elections = a->n_el;
    return t;
}

static audit_election *rep_of(auditor *a, const followed_election *t)
{
    return &a->rep->elections[t - a->el];
}

/* A ballot's proofs, checked in parallel before execution: t->pre and its
 * parsed ciphertexts, or R(UNSPECIFIED) when its election has no key (yet). */
static void precheck(auditor *a, tx_item *t)
{
    t->cts = malloc(ELECTION_MAX_SLOTS * sizeof *t->cts);
    if (t->cts == NULL)
        return;
    t->pre = election_precheck_ballot(a->cache, t->tx->body, t->tx->envelope->signer.data, t->cts,
                                      ELECTION_MAX_SLOTS, &t->n_cts);
    if (t->pre == R(UNSPECIFIED)) {
        free(t->cts);
        t->cts = NULL;
    }
}

/* ------------------------------------------------------ parallel part */

static void check_item(void *ctx, size_t k)
{
    auditor *a = ctx;
    block_item *b = a->jobs[k].b;
    size_t i = a->jobs[k].i;

    if (i == SIZE_MAX) { /* the block's certificate */
        b->cert_ok = audit_cert_check(a->g, b->cert_bytes, b->cert_len, b->height, b->digest, &b->cert);
        return;
    }
    tx_item *t = &b->items[i];
    t->err = ledger_tx_decode(t->bytes, t->len, a->g->chain_id, &t->tx, &t->detail);
    t->pre = R(UNSPECIFIED);
    if (t->err != LEDGER_OK || t->tx->body->payload_case != EVOTE__V1__TX_BODY__PAYLOAD_BALLOT)
        return;
    precheck(a, t);
}

/* A ballot left unchecked by check_item because its election had no key
 * yet when the window started: checked now that execution derived it. */
static void precheck_item(void *ctx, size_t k)
{
    auditor *a = ctx;
    precheck(a, &a->jobs[k].b->items[a->jobs[k].i]);
}

/* Loads the verifier of every election whose key re-execution has derived.
 * Returns: 1 when a new one was loaded. */
static int load_keyed(auditor *a)
{
    int fresh = 0;
    for (size_t e = 0; e < a->n_el; e++)
        if (!a->el[e].keyed && election_cache_load(a->cache, &a->reader, a->el[e].id, a->el[e].id_len) == ELECTION_OK)
            a->el[e].keyed = fresh = 1;
    return fresh;
}

static int ballot_verdict(void *ctx, const uint8_t id[CRYPTO_HASH_LEN], const elgamal_ct **cts, size_t *n)
{
    block_item *b = ((exec_ctx *)ctx)->block;
    for (size_t k = 0; k < b->n_items; k++) {
        size_t i = (b->cursor + k) % b->n_items;
        if (memcmp(b->items[i].id, id, CRYPTO_HASH_LEN) == 0) {
            b->cursor = i + 1;
            if (b->items[i].pre != R(OK))
                return 0;
            *cts = b->items[i].cts;
            *n = b->items[i].n_cts;
            return 1;
        }
    }
    return 0;
}

static void free_window(auditor *a)
{
    for (size_t w = 0; w < a->n_win; w++) {
        block_item *b = &a->win[w];
        for (size_t i = 0; i < b->n_items; i++) {
            ledger_tx_destroy(&b->items[i].tx);
            free(b->items[i].cts);
        }
        free(b->items);
        if (b->batch)
            evote__v1__batch__free_unpacked(b->batch, NULL);
        if (b->block)
            evote__v1__block__free_unpacked(b->block, NULL);
        free(b->block_bytes);
        free(b->cert_bytes);
    }
    memset(a->win, 0, a->n_win * sizeof *a->win);
    a->n_win = 0;
    free(a->jobs);
    a->jobs = NULL;
    a->n_jobs = 0;
}

/* ---------------------------------------------------- header checks */

/* The header must be exactly what the block's content and its parent give:
 * rebuilt with ledger_block_assemble from the batch and the recorded results,
 * byte for byte; when it is not, name the first field that differs. */
static void check_header(auditor *a, block_item *b, uint8_t hash[CRYPTO_HASH_LEN], uint64_t *ts)
{
    Evote__V1__BlockHeader *h = evote__v1__block_header__unpack(NULL, b->block->header.len, b->block->header.data);
    uint8_t *rebuilt = NULL, rhash[CRYPTO_HASH_LEN];
    size_t rlen = 0;
    Evote__V1__Block *rb = NULL;
    Evote__V1__BlockHeader *rh = NULL;
    const uint64_t H = b->height;

    crypto_tagged_hash(CRYPTO_TAG_BLOCK, b->block->header.data, b->block->header.len, hash);
    *ts = a->prev_ts;
    if (h == NULL) {
        audit_fail(a->rep, H, NULL, NULL, "the block header does not parse");
        return;
    }
    *ts = h->timestamp_ms;
    if (h->height != H)
        audit_fail(a->rep, H, NULL, NULL, "the block stored at height %" PRIu64 " says it is block %" PRIu64
                   " (blocks swapped or moved)", H, h->height);
    if (h->chain_id.len != CRYPTO_CHAIN_ID_LEN || memcmp(h->chain_id.data, a->g->chain_id, CRYPTO_CHAIN_ID_LEN))
        audit_fail(a->rep, H, NULL, NULL, "the block names another chain than the genesis");
    if (h->prev_hash.len != CRYPTO_HASH_LEN || memcmp(h->prev_hash.data, a->prev_hash, CRYPTO_HASH_LEN))
        audit_fail(a->rep, H, NULL, NULL, "the block does not link to the hash of block %" PRIu64, H - 1);
    if (h->timestamp_ms < a->prev_ts)
        audit_fail(a->rep, H, NULL, NULL, "the block's time goes backwards (%" PRIu64 " < %" PRIu64 ")",
                   h->timestamp_ms, a->prev_ts);
    if (h->batch_digest.len != CRYPTO_HASH_LEN || memcmp(h->batch_digest.data, b->digest, CRYPTO_HASH_LEN))
        audit_fail(a->rep, H, NULL, NULL, "the header's batch digest is not the digest of the block's batch "
                   "(a transaction was added, removed or changed)");
    if (b->batch == NULL) {
        audit_fail(a->rep, H, NULL, NULL, "the block's batch does not parse");
        goto out;
    }
    if (b->batch->seq != H)
        audit_fail(a->rep, H, NULL, NULL, "the batch is for seq %" PRIu64, b->batch->seq);
    if (h->tx_count != b->batch->n_txs || b->block->n_results != b->batch->n_txs) {
        audit_fail(a->rep, H, NULL, NULL, "the header counts %u transactions, the batch holds %zu, %zu results "
                   "are recorded", h->tx_count, b->batch->n_txs, b->block->n_results);
        goto out;
    }
    if (ledger_block_assemble(a->g->chain_id, H, a->prev_hash, a->prev_ts, b->block->batch.data,
                              b->block->batch.len, b->block->results, b->block->n_results, &rebuilt, &rlen,
                              rhash) != LEDGER_OK ||
        (rb = evote__v1__block__unpack(NULL, rlen, rebuilt)) == NULL ||
        (rh = evote__v1__block_header__unpack(NULL, rb->header.len, rb->header.data)) == NULL) {
        audit_fail(a->rep, H, NULL, NULL, "the block cannot be rebuilt from its batch");
        goto out;
    }
    if (rh->tx_root.len != h->tx_root.len || memcmp(rh->tx_root.data, h->tx_root.data, rh->tx_root.len))
        audit_fail(a->rep, H, NULL, NULL, "the header's tx_root is not the Merkle root of the batch's transactions");
    if (rh->results_hash.len != h->results_hash.len ||
        memcmp(rh->results_hash.data, h->results_hash.data, rh->results_hash.len))
        audit_fail(a->rep, H, NULL, NULL, "the header's results_hash does not match the recorded result codes");
    if (rh->timestamp_ms != h->timestamp_ms)
        audit_fail(a->rep, H, NULL, NULL, "the header's time is not max(batch time, parent's time)");
    if (memcmp(rhash, hash, CRYPTO_HASH_LEN) != 0 && a->rep->n_failures == 0)
        audit_fail(a->rep, H, NULL, NULL, "the header bytes are not the canonical header of this block");
out:
    if (rh)
        evote__v1__block_header__free_unpacked(rh, NULL);
    if (rb)
        evote__v1__block__free_unpacked(rb, NULL);
    free(rebuilt);
    evote__v1__block_header__free_unpacked(h, NULL);
}

/* ------------------------------------------------- checkpoint proofs */

/* Loads the lowest checkpoint proof the snapshot keeps at or above seq. */
static void next_checkpoint(auditor *a, uint64_t seq)
{
    store_err se;

    free(a->ckpt);
    a->ckpt = NULL;
    a->ckpt_seq = 0;
    se = chain_store_find_checkpoint(a->store, seq, &a->ckpt_seq, &a->ckpt, &a->ckpt_len);
    if (se == STORE_OK)
        return;
    a->ckpt_seq = 0;
    if (se != STORE_ERR_NOT_FOUND)
        audit_fail(a->rep, seq, NULL, NULL, "the kept checkpoint proofs cannot be read: %s", store_strerror(se));
}

/* A stable checkpoint's proof kept for block H (hash: the header's hash as
 * check_header computed it): 2f+1 validators of the genesis must have
 * signed this very hash. Otherwise the proof was altered, or validators
 * signed a chain other than this one: either way what clients were shown
 * as certified is not this chain. */
static void check_checkpoint(auditor *a, uint64_t H, const uint8_t hash[CRYPTO_HASH_LEN])
{
    Evote__V1__CheckpointProof *cp;
    uint32_t count;

    if (a->ckpt_seq != 0 && a->ckpt_seq < H) /* kept for a block that did not parse */
        next_checkpoint(a, H);
    if (a->ckpt_seq != H)
        return;
    cp = evote__v1__checkpoint_proof__unpack(NULL, a->ckpt_len, a->ckpt);
    if (cp == NULL || cp->seq != H) {
        audit_fail(a->rep, H, NULL, NULL, "the checkpoint proof kept for this block does not parse or names "
                   "another seq");
    } else {
        count = genesis_checkpoint_signers(a->g, H, hash, cp->checkpoints, cp->n_checkpoints);
        a->rep->signatures += count;
        if (count < 2 * a->g->f + 1)
            audit_fail(a->rep, H, NULL, NULL, "the checkpoint proof kept for this block holds %" PRIu32 " valid "
                       "signatures of validators over its hash, %" PRIu32 " needed (altered, or signed for "
                       "another chain)", count, 2 * a->g->f + 1);
        else
            a->rep->checkpoints++;
    }
    if (cp != NULL)
        evote__v1__checkpoint_proof__free_unpacked(cp, NULL);
    next_checkpoint(a, H + 1);
}

/* ------------------------------------------------- election bookkeeping */

static void note_create(auditor *a, const Evote__V1__ElectionCreate *c)
{
    followed_election *t = find_election(a, c->election_id.data, c->election_id.len, 1);
    audit_election *re;
    if (t == NULL)
        return;
    re = rep_of(a, t);
    if (re->defined)
        return;
    re->defined = 1;
    snprintf(re->title, sizeof re->title, "%s", c->title ? c->title : "");
    t->revoting = c->revoting_allowed;
    t->n_q = c->n_questions;
    for (size_t q = 0; q < c->n_questions && q < ELECTION_MAX_SLOTS; q++) {
        t->q_options[q] = (uint32_t)c->questions[q]->n_options;
        t->q_min[q] = c->questions[q]->min_selections;
        t->q_max[q] = c->questions[q]->max_selections;
        for (size_t o = 0; o < c->questions[q]->n_options && t->slots < ELECTION_MAX_SLOTS; o++) {
            char **names = realloc(re->options, (re->n_options + 1) * sizeof *names);
            size_t n;
            if (names == NULL)
                return;
            re->options = names;
            n = strlen(c->questions[q]->text) + strlen(c->questions[q]->options[o]) + 3;
            if ((names[re->n_options] = malloc(n)) == NULL)
                return;
            snprintf(names[re->n_options], n, "%s: %s", c->questions[q]->text, c->questions[q]->options[o]);
            re->n_options++;
            t->slots++;
        }
    }
}

/* A ballot's ciphertexts, copied raw from its bytes (layout in
 * ballot_crypto.h): per question, per option a (33) || b (33) || proof (128),
 * then the count proof. Independent of the validators' parsing code.
 * Returns: 1 and out (slots × 66 bytes), 0 when the length does not fit. */
static int ballot_cts_raw(const followed_election *t, const ProtobufCBinaryData *ballot, uint8_t *out)
{
    size_t off = 0, s = 0;
    for (size_t q = 0; q < t->n_q; q++) {
        for (uint32_t o = 0; o < t->q_options[q]; o++) {
            if (off + ELGAMAL_CT_LEN + BC_PROOF_SELECTION_LEN > ballot->len)
                return 0;
            memcpy(out + s++ * ELGAMAL_CT_LEN, ballot->data + off, ELGAMAL_CT_LEN);
            off += ELGAMAL_CT_LEN + BC_PROOF_SELECTION_LEN;
        }
        off += t->q_min[q] == t->q_max[q] ? BC_PROOF_DLEQ_LEN : BC_PROOF_RANGE_LEN(t->q_min[q], t->q_max[q]);
    }
    return off == ballot->len && s == t->slots;
}

/* An accepted VoterRegistration: counts its keys for its signer. */
static void note_registration(auditor *a, const ledger_tx *tx)
{
    const Evote__V1__VoterRegistration *reg = tx->body->voter_registration;
    followed_election *t = find_election(a, reg->election_id.data, reg->election_id.len, 0);
    const uint8_t *signer = tx->envelope->signer.data;
    audit_election *re;
    audit_registrar *r = NULL;
    const char *name = "(not an authority)";

    if (t == NULL)
        return;
    re = rep_of(a, t);
    for (uint32_t k = 0; k < a->g->n_authorities; k++)
        if (memcmp(a->g->authorities[k].pubkey, signer, CRYPTO_PUBKEY_LEN) == 0)
            name = a->g->authorities[k].name;
    for (size_t k = 0; k < re->n_registrars && r == NULL; k++)
        if (strcmp(re->registrars[k].authority, name) == 0)
            r = &re->registrars[k];
    if (r == NULL) {
        audit_registrar *nr = realloc(re->registrars, (re->n_registrars + 1) * sizeof *nr);
        if (nr == NULL)
            return;
        re->registrars = nr;
        r = &nr[re->n_registrars++];
        memset(r, 0, sizeof *r);
        snprintf(r->authority, sizeof r->authority, "%s", name);
    }
    r->keys += reg->n_voter_keys;
    if (re->ballots_accepted > 0)
        r->after_first_ballot += reg->n_voter_keys;
}

static void note_ballot(auditor *a, block_item *b, size_t i, Evote__V1__TxResult res, const char *signers)
{
    const tx_item *it = &b->items[i];
    const Evote__V1__Ballot *bal = it->tx->body->ballot;
    const uint8_t *voter = it->tx->envelope->signer.data;
    followed_election *t = find_election(a, bal->election_id.data, bal->election_id.len, 1);
    audit_election *re;
    int tracked = a->opt->track && memcmp(a->opt->track, it->id, CRYPTO_HASH_LEN) == 0;

    if (tracked) {
        audit_report *r = a->rep;
        r->track_found = 1;
        r->track_height = b->height;
        r->track_index = (uint32_t)i;
        r->track_result = res;
        r->track_status = res == R(OK) ? 1 : 3;
        snprintf(r->track_signers, sizeof r->track_signers, "%s", signers);
        printable_id(bal->election_id.data, bal->election_id.len < ELECTION_MAX_ID ? bal->election_id.len : ELECTION_MAX_ID,
                     r->track_election);
    }
    if (t == NULL)
        return;
    re = rep_of(a, t);
    re->ballots_cast++;
    if (res != R(OK)) {
        re->rejected[(unsigned)res < AUDIT_RESULT_CODES ? (unsigned)res : 0]++;
        return;
    }
    re->ballots_accepted++;
    {
        uint8_t key[ELECTION_HASH_LEN + CRYPTO_PUBKEY_LEN];
        uint8_t *val = malloc(8 + CRYPTO_HASH_LEN + t->slots * ELGAMAL_CT_LEN);
        memcpy(key, t->e, ELECTION_HASH_LEN);
        memcpy(key + ELECTION_HASH_LEN, voter, CRYPTO_PUBKEY_LEN);
        if (val == NULL)
            return;
        if (!t->revoting && kvmap_get(a->voters, key, sizeof key, NULL, NULL))
            audit_fail(a->rep, b->height, it->id, re->id,
                       "a second ballot of the same voter was accepted in an election without revoting");
        for (int k = 0; k < 8; k++)
            val[k] = (uint8_t)(b->height >> (56 - 8 * k));
        memcpy(val + 8, it->id, CRYPTO_HASH_LEN);
        if (!ballot_cts_raw(t, &bal->encrypted_ballot, val + 8 + CRYPTO_HASH_LEN))
            audit_fail(a->rep, b->height, it->id, re->id, "an accepted ballot does not have the election's shape");
        else if (!kvmap_put(a->voters, key, sizeof key, val, 8 + CRYPTO_HASH_LEN + t->slots * ELGAMAL_CT_LEN))
            audit_fail(a->rep, b->height, it->id, re->id, "out of memory");
        free(val);
    }
}

static void note_partial(auditor *a, block_item *b, size_t i)
{
    const Evote__V1__PartialDecryption *p = b->items[i].tx->body->partial_decryption;
    followed_election *t = find_election(a, p->election_id.data, p->election_id.len, 0);
    Evote__V1__ElectionRecord *rec = NULL;
    if (t == NULL || election_get(&a->reader, a->g->chain_id, t->id, t->id_len, &rec) != ELECTION_OK)
        return;
    for (size_t j = 0; j < rec->definition->n_trustees && j < ELECTION_MAX_SLOTS; j++)
        if (rec->definition->trustees[j].len == CRYPTO_PUBKEY_LEN &&
            memcmp(rec->definition->trustees[j].data, b->items[i].tx->envelope->signer.data, CRYPTO_PUBKEY_LEN) == 0 &&
            t->partials[j + 1] == NULL) {
            /* keep the body: steal the decoded transaction's body */
            t->partials[j + 1] = b->items[i].tx->body;
            b->items[i].tx->body = NULL;
            t->partial_height[j + 1] = b->height;
            break;
        }
    evote__v1__election_record__free_unpacked(rec, NULL);
}

/* ------------------------------------------------------ sequential part */

static void signer_names(const auditor *a, const audit_cert_verdict *v, char *out, size_t len)
{
    size_t off = 0;
    out[0] = '\0';
    for (uint32_t k = 0; k < a->g->n && off < len; k++)
        if (v->signed_by[k])
            off += (size_t)snprintf(out + off, len - off, "%s%s", off ? "," : "", a->g->validators[k].name);
}

static int execute_block(auditor *a, block_item *b)
{
    Evote__V1__TxResult *results = calloc(a->g->max_batch_txs + 1, sizeof *results);
    uint8_t hash[CRYPTO_HASH_LEN];
    uint64_t ts;
    size_t n = 0;
    ledger_chain_view view;
    exec_ctx ec;
    ledger_err lerr;
    char signers[512];
    const uint64_t H = b->height;

    if (results == NULL)
        return 0;
    check_header(a, b, hash, &ts);
    check_checkpoint(a, H, hash);
    if (!b->cert_ok)
        audit_fail(a->rep, H, NULL, NULL, "%s", b->cert.why);
    a->rep->signatures += b->cert.signers;
    signer_names(a, &b->cert, signers, sizeof signers);
    for (size_t i = 0; i < b->n_items; i++)
        if (b->items[i].err != LEDGER_OK)
            audit_fail(a->rep, H, b->items[i].id, NULL, "a committed transaction does not verify: %s%s%s",
                       ledger_strerror(b->items[i].err), b->items[i].err == LEDGER_ERR_ENVELOPE ? ": " : "",
                       b->items[i].err == LEDGER_ERR_ENVELOPE ? crypto_strerror(b->items[i].detail) : "");
        else
            a->rep->signatures++;
    {
        uint64_t hh = 0;
        uint8_t *copy = NULL;
        size_t cl;
        if (chain_store_get_block_by_hash(a->store, hash, &copy, &cl, &hh) != STORE_OK || hh != H)
            audit_fail(a->rep, H, NULL, NULL, "the snapshot's block-hash index does not point at this block");
        free(copy);
    }
    if (b->batch == NULL)
        goto next;
    memset(&view, 0, sizeof view);
    view.tx_committed = tx_seen;
    ec.seen = a->seen;
    ec.block = b;
    view.ctx = &ec;
    view.state = &a->reader;
    view.cache = a->cache;
    view.changes = a->changes;
    view.height = H;
    view.prev_timestamp_ms = a->prev_ts;
    view.ballot_verdict = ballot_verdict;
    lerr = ledger_execute_batch(a->g, b->block->batch.data, b->block->batch.len, &view, a->g->max_batch_txs,
                                results, &n);
    if (lerr != LEDGER_OK) {
        audit_fail(a->rep, H, NULL, NULL, "the batch cannot be executed: %s", ledger_strerror(lerr));
        goto next;
    }
    for (size_t i = 0; i < n && i < b->block->n_results; i++) {
        tx_item *it = &b->items[i];
        if (b->block->results[i] != results[i])
            audit_fail(a->rep, H, it->id, NULL, "the block records result %s, re-execution gives %s",
                       protobuf_c_enum_descriptor_get_value(&evote__v1__tx_result__descriptor, b->block->results[i])
                           ? protobuf_c_enum_descriptor_get_value(&evote__v1__tx_result__descriptor,
                                                                  b->block->results[i])->name
                           : "(unknown code)",
                       protobuf_c_enum_descriptor_get_value(&evote__v1__tx_result__descriptor, results[i])->name);
        if (results[i] != R(DUPLICATE)) {
            uint64_t fh;
            uint32_t fi;
            Evote__V1__TxResult fr;
            if (chain_store_find_tx(a->store, it->id, &fh, &fi, &fr) != STORE_OK || fh != H || fi != i ||
                fr != b->block->results[i])
                audit_fail(a->rep, H, it->id, NULL, "the snapshot's transaction index does not point at this "
                           "transaction (height %" PRIu64 ", index %zu)", H, i);
            if (!kvmap_put(a->seen, it->id, CRYPTO_HASH_LEN, NULL, 0)) {
                free(results);
                return 0;
            }
        }
        if (it->tx == NULL)
            continue;
        switch (it->tx->body->payload_case) {
        case EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CREATE:
            if (results[i] == R(OK))
                note_create(a, it->tx->body->election_create);
            break;
        case EVOTE__V1__TX_BODY__PAYLOAD_VOTER_REGISTRATION:
            if (results[i] == R(OK))
                note_registration(a, it->tx);
            break;
        case EVOTE__V1__TX_BODY__PAYLOAD_BALLOT:
            if (results[i] != R(DUPLICATE)) {
                if (it->pre != R(UNSPECIFIED) || results[i] == R(OK) || results[i] == R(BAD_PROOF) ||
                    results[i] == R(BAD_POINT) || results[i] == R(BALLOT_SHAPE))
                    a->ballot_proofs++; /* checked here or by execution */
                note_ballot(a, b, i, results[i], signers);
            }
            break;
        case EVOTE__V1__TX_BODY__PAYLOAD_PARTIAL_DECRYPTION:
            if (results[i] == R(OK))
                note_partial(a, b, i);
            break;
        default:
            break;
        }
    }
    a->rep->transactions += n;
    for (size_t k = 0; k < election_changes_count(a->changes); k++) {
        const uint8_t *key, *val;
        size_t kl, vl;
        int del;
        election_changes_at(a->changes, k, &key, &kl, &val, &vl, &del);
        if (del)
            kvmap_del(a->state, key, kl);
        else if (!kvmap_put(a->state, key, kl, val, vl)) {
            free(results);
            return 0;
        }
    }
    election_changes_clear(a->changes);
next:
    memcpy(a->prev_hash, hash, CRYPTO_HASH_LEN);
    a->prev_ts = ts > a->prev_ts ? ts : a->prev_ts;
    free(results);
    return 1;
}

/* Loads blocks from..through (at most a window), runs the parallel checks,
 * then executes them in order. */
static int audit_window(auditor *a, uint64_t from, uint64_t tip, uint64_t *next)
{
    size_t items = 0;
    uint64_t h = from;

    a->n_win = 0;
    for (; h <= tip && a->n_win < WINDOW_BLOCKS && items < WINDOW_ITEMS; h++) {
        block_item *b = &a->win[a->n_win++];
        memset(b, 0, sizeof *b);
        b->height = h;
        if (chain_store_get_block(a->store, h, &b->block_bytes, &b->block_len) != STORE_OK ||
            chain_store_get_cert(a->store, h, &b->cert_bytes, &b->cert_len) != STORE_OK) {
            audit_fail(a->rep, h, NULL, NULL, "the block or its certificate cannot be read from the snapshot");
            continue;
        }
        b->block = evote__v1__block__unpack(NULL, b->block_len, b->block_bytes);
        if (b->block == NULL)
            continue;
        crypto_tagged_hash(CRYPTO_TAG_BATCH, b->block->batch.data, b->block->batch.len, b->digest);
        b->batch = evote__v1__batch__unpack(NULL, b->block->batch.len, b->block->batch.data);
        if (b->batch != NULL && b->batch->n_txs <= a->g->max_batch_txs) {
            b->items = calloc(b->batch->n_txs ? b->batch->n_txs : 1, sizeof *b->items);
            if (b->items == NULL)
                return 0;
            b->n_items = b->batch->n_txs;
            for (size_t i = 0; i < b->n_items; i++) {
                b->items[i].bytes = b->batch->txs[i].data;
                b->items[i].len = b->batch->txs[i].len;
                envelope_txid(b->items[i].bytes, b->items[i].len, b->items[i].id);
            }
        }
        items += b->n_items + 1;
    }
    *next = h;
    a->jobs = malloc((items ? items : 1) * sizeof *a->jobs);
    if (a->jobs == NULL)
        return 0;
    for (size_t w = 0; w < a->n_win; w++) {
        block_item *b = &a->win[w];
        if (b->block == NULL)
            continue;
        a->jobs[a->n_jobs].b = b;
        a->jobs[a->n_jobs++].i = SIZE_MAX;
        for (size_t i = 0; i < b->n_items; i++) {
            a->jobs[a->n_jobs].b = b;
            a->jobs[a->n_jobs++].i = i;
        }
    }
    /* Verifiers for every election whose key the state derived so far. */
    (void)load_keyed(a);
    run_parallel(a, check_item);
    for (size_t w = 0; w < a->n_win; w++) {
        block_item *b = &a->win[w];
        if (b->block == NULL) {
            if (b->block_bytes != NULL)
                audit_fail(a->rep, b->height, NULL, NULL, "the stored block does not parse");
            continue;
        }
        if (!execute_block(a, b))
            return 0;
        if (w + 1 < a->n_win && load_keyed(a)) {
            /* This block derived an election key: check the ballots of the
             * rest of the window on every core before executing them. */
            a->n_jobs = 0;
            for (size_t v = w + 1; v < a->n_win; v++)
                for (size_t i = 0; i < a->win[v].n_items; i++)
                    if (a->win[v].items[i].tx != NULL && a->win[v].items[i].pre == R(UNSPECIFIED) &&
                        a->win[v].items[i].tx->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_BALLOT) {
                        a->jobs[a->n_jobs].b = &a->win[v];
                        a->jobs[a->n_jobs++].i = i;
                    }
            run_parallel(a, precheck_item);
        }
    }
    free_window(a);
    return 1;
}

typedef struct {
    auditor *a;
    size_t matched;
    int reported;
} cmp_ctx;

static void describe_key(const uint8_t *key, size_t klen, char *out, size_t len)
{
    char hex[2 * 40 + 1];
    crypto_hex(key + 1, klen - 1 < 40 ? klen - 1 : 40, hex);
    snprintf(out, len, "'%c' %s%s", key[0] >= 0x20 && key[0] < 0x7f ? key[0] : '?', hex, klen - 1 > 40 ? "..." : "");
}

static int compare_state(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    cmp_ctx *c = ctx;
    const uint8_t *mine;
    size_t mlen;
    char k[128];
    if (klen == 0)
        return 0;
    if (kvmap_get(c->a->state, key, klen, &mine, &mlen) && mlen == vlen && memcmp(mine, val, vlen) == 0) {
        c->matched++;
        return 0;
    }
    if (c->reported++ < 5) {
        describe_key(key, klen, k, sizeof k);
        audit_fail(c->a->rep, 0, NULL, NULL, "the snapshot's state database differs from re-execution at key %s%s",
                   k, kvmap_get(c->a->state, key, klen, NULL, NULL) ? "" : " (a key re-execution never wrote)");
    }
    return 0;
}

/* The counted ballots of one election (each voter's last accepted one),
 * summed in parallel: each chunk of voters on a worker, then the chunks'
 * sums added (the group is commutative: the same tally in any order). */
typedef struct {
    const uint8_t *val;
    size_t len;
} counted_ref;

typedef struct {
    const followed_election *t;
    counted_ref *refs;
    size_t n, cap;
    int nomem;
    size_t chunks;
    elgamal_sum *sums; /* chunks x slots */
    int *bad;          /* per chunk: counted ciphertexts that are not points */
} tally_ctx;

static int collect_counted(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    tally_ctx *c = ctx;
    (void)klen;
    if (memcmp(key, c->t->e, ELECTION_HASH_LEN) != 0)
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 1024;
        counted_ref *r = realloc(c->refs, cap * sizeof *r);
        if (r == NULL) {
            c->nomem = 1;
            return 1;
        }
        c->refs = r;
        c->cap = cap;
    }
    c->refs[c->n++] = (counted_ref){val, vlen};
    return 0;
}

static void sum_chunk(void *ctx, size_t i)
{
    tally_ctx *c = ctx;
    size_t lo = c->n * i / c->chunks, hi = c->n * (i + 1) / c->chunks;
    elgamal_sum *sums = &c->sums[i * c->t->slots];
    for (size_t k = lo; k < hi; k++) {
        const uint8_t *val = c->refs[k].val;
        for (size_t s = 0; s < c->t->slots && 8 + CRYPTO_HASH_LEN + (s + 1) * ELGAMAL_CT_LEN <= c->refs[k].len; s++) {
            elgamal_ct ct;
            if (elgamal_parse(&ct, val + 8 + CRYPTO_HASH_LEN + s * ELGAMAL_CT_LEN, 0) != BC_OK) {
                c->bad[i]++;
                continue;
            }
            elgamal_sum_add(&sums[s], &ct);
        }
    }
}

/* Out: mine[slots], the tally of the counted ballots; *counted, *bad.
 * Returns: 1, or 0 out of memory. */
static int sum_counted(auditor *a, const followed_election *t, elgamal_ct *mine, uint64_t *counted, int *bad)
{
    tally_ctx c = {t, NULL, 0, 0, 0, 0, NULL, NULL};
    int ok = 0;
    kvmap_each(a->voters, collect_counted, &c);
    c.chunks = (size_t)a->rep->threads * 4;
    if (c.chunks > c.n)
        c.chunks = c.n ? c.n : 1;
    c.sums = malloc(c.chunks * t->slots * sizeof *c.sums);
    c.bad = calloc(c.chunks, sizeof *c.bad);
    if (!c.nomem && c.sums != NULL && c.bad != NULL) {
        for (size_t i = 0; i < c.chunks * t->slots; i++)
            elgamal_sum_init(&c.sums[i]);
        audit_pool_run(a->pool, c.chunks, sum_chunk, &c);
        *bad = 0;
        for (size_t i = 0; i < c.chunks; i++)
            *bad += c.bad[i];
        for (size_t s = 0; s < t->slots; s++) {
            elgamal_sum_result(&c.sums[s], &mine[s]);
            for (size_t i = 1; i < c.chunks; i++) {
                elgamal_ct part;
                elgamal_sum_result(&c.sums[i * t->slots + s], &part);
                elgamal_add(&mine[s], &mine[s], &part);
            }
        }
        *counted = c.n;
        ok = 1;
    }
    free(c.refs);
    free(c.sums);
    free(c.bad);
    return ok;
}

/* The tracked ballot's final status: counted, or replaced by a later one. */
static void track_final(auditor *a)
{
    audit_report *r = a->rep;
    if (!r->track_found || r->track_status != 1)
        return;
    for (size_t e = 0; e < a->n_el; e++) {
        if (strcmp(a->rep->elections[e].id, r->track_election) != 0)
            continue;
        /* the voter's entry holds the last accepted ballot */
        uint8_t *block = NULL;
        size_t len;
        Evote__V1__Block *b;
        if (chain_store_get_block(a->store, r->track_height, &block, &len) != STORE_OK)
            return;
        b = evote__v1__block__unpack(NULL, len, block);
        free(block);
        if (b == NULL)
            return;
        Evote__V1__Batch *bt = evote__v1__batch__unpack(NULL, b->batch.len, b->batch.data);
        if (bt && r->track_index < bt->n_txs) {
            Evote__V1__Envelope *env =
                evote__v1__envelope__unpack(NULL, bt->txs[r->track_index].len, bt->txs[r->track_index].data);
            if (env && env->signer.len == CRYPTO_PUBKEY_LEN) {
                uint8_t key[ELECTION_HASH_LEN + CRYPTO_PUBKEY_LEN];
                const uint8_t *v;
                size_t vl;
                memcpy(key, a->el[e].e, ELECTION_HASH_LEN);
                memcpy(key + ELECTION_HASH_LEN, env->signer.data, CRYPTO_PUBKEY_LEN);
                if (kvmap_get(a->voters, key, sizeof key, &v, &vl) && vl >= 8 + CRYPTO_HASH_LEN &&
                    memcmp(v + 8, r->track_code, CRYPTO_HASH_LEN) != 0) {
                    r->track_status = 2;
                    memcpy(r->track_replaced_by, v + 8, CRYPTO_HASH_LEN);
                }
            }
            if (env)
                evote__v1__envelope__free_unpacked(env, NULL);
        }
        if (bt)
            evote__v1__batch__free_unpacked(bt, NULL);
        evote__v1__block__free_unpacked(b, NULL);
        return;
    }
}

/* --statement: checks that the genesis validator it names signed it, for
 * this chain, then judges its claim against the re-executed state (the
 * ballot's tracking record, its replacement's height, the election, the
 * block time at the claim's height). */
static void judge_statement(auditor *a, uint64_t tip)
{
    const audit_options *o = a->opt;
    audit_report *r = a->rep;
    Evote__V1__TrackStatement *st;
    Evote__V1__TrackingRecord *fin = NULL, *rep_tr = NULL;
    Evote__V1__ElectionRecord *rec = NULL;
    uint8_t *hdr = NULL;
    size_t hlen = 0;
    uint64_t rep_height = 0, time_at = 0;

    r->stmt_asked = 1;
    r->stmt_verdict = -1;
    if (!genesis_track_statement_open(a->g, o->statement, o->statement_len, o->statement_sig, CRYPTO_SIG_LEN, &st,
                                      r->stmt_why, sizeof r->stmt_why)) {
        st = NULL; /* no evidence: why says what is wrong with it */
        goto out;
    }
    snprintf(r->stmt_validator, sizeof r->stmt_validator, "%s", a->g->validators[st->validator].name);
    memcpy(r->stmt_code, st->code.data, CRYPTO_HASH_LEN);
    r->stmt_height = st->height;
    r->stmt_status = st->status;
    r->stmt_polls_closed = st->polls_closed;
    if (st->height > tip) {
        snprintf(r->stmt_why, sizeof r->stmt_why,
                 "the snapshot ends at height %llu, below the statement's %llu: take a newer snapshot",
                 (unsigned long long)tip, (unsigned long long)st->height);
        r->stmt_verdict = -2;
        goto out;
    }
    if (election_track(&a->reader, st->code.data, &fin) == ELECTION_OK) {
        if (fin->replaced_by.len == CRYPTO_HASH_LEN &&
            election_track(&a->reader, fin->replaced_by.data, &rep_tr) == ELECTION_OK)
            rep_height = rep_tr->height;
        if (election_get(&a->reader, a->g->chain_id, fin->election_id.data, fin->election_id.len, &rec) !=
            ELECTION_OK)
            rec = NULL; /* judged as "the ballot's election is not in the chain" */
    }
    if (st->height > 0 && chain_store_get_header(a->store, st->height, &hdr, &hlen) == STORE_OK) {
        Evote__V1__BlockHeader *h = evote__v1__block_header__unpack(NULL, hlen, hdr);
        if (h != NULL) {
            time_at = h->timestamp_ms;
            evote__v1__block_header__free_unpacked(h, NULL);
        }
    }
    {
        election_claim c = {st->height, st->status,
                            st->replaced_by.len == CRYPTO_HASH_LEN ? st->replaced_by.data : NULL, st->polls_closed};
        r->stmt_verdict =
            election_judge_claim(&c, fin, rep_height, rec, time_at, r->stmt_why, sizeof r->stmt_why) ? 1 : 0;
    }
out:
    free(hdr);
    if (fin)
        evote__v1__tracking_record__free_unpacked(fin, NULL);
    if (rep_tr)
        evote__v1__tracking_record__free_unpacked(rep_tr, NULL);
    if (rec)
        evote__v1__election_record__free_unpacked(rec, NULL);
    if (st)
        evote__v1__track_statement__free_unpacked(st, NULL);
}

/* How many validators of the genesis vouch for what m says (the key and
 * definition, or with result 1 the result too) in the re-executed state:
 * their attestations' signatures verify. 0 when m could not be made. */
static uint32_t count_vouchers(auditor *a, const followed_election *t, int result, const election_attest_msg *m,
                               int have_m)
{
    uint8_t *v = NULL, (*keys)[CRYPTO_PUBKEY_LEN];
    uint32_t count = 0;
    size_t len = 0;

    if (!have_m || election_get_attestations(&a->reader, a->g->chain_id, t->id, t->id_len, result, &v, &len) !=
                       ELECTION_OK)
        return 0;
    keys = genesis_pubkeys(a->g);
    if (keys != NULL) {
        count = election_count_stored_attestations(m, v, len, (const uint8_t(*)[CRYPTO_PUBKEY_LEN])keys, a->g->n,
                                                   NULL);
    }
    free(keys);
    free(v);
    return count;
}

/* Independent checks of one election (pass 3). */
static void check_election(auditor *a, followed_election *t)
{
    audit_election *re = rep_of(a, t);
    Evote__V1__ElectionRecord *rec = NULL;
    Evote__V1__ElectionResult *res = NULL;
    uint64_t n_counted = 0;
    int n_bad = 0, have_am;
    election_attest_msg am;
    elgamal_ct mine[ELECTION_MAX_SLOTS], stored[ELECTION_MAX_SLOTS];
    uint64_t counted = 0, accepted = 0;
    size_t slots = 0;

    if (election_get(&a->reader, a->g->chain_id, t->id, t->id_len, &rec) != ELECTION_OK)
        return;
    re->voters_registered = rec->voters_registered;
    re->roll_end_height = rec->definition->registration_end_height;
    re->roll_end_time_ms = rec->definition->registration_end_time_ms;
    re->roll_at_opening = rec->definition->roll_frozen_at_opening;
    re->trustees = (uint32_t)rec->definition->n_trustees;
    re->threshold = rec->definition->threshold;
    re->qualified = (uint32_t)rec->n_qualified;
    re->closed = rec->closed;
    if (rec->election_key.len == 0)
        goto out;
    have_am = election_key_attest_msg(rec, &am);
    re->vouched = count_vouchers(a, t, 0, &am, have_am);
    if (t->slots == 0)
        goto out;
    if (!sum_counted(a, t, mine, &n_counted, &n_bad)) {
        audit_fail(a->rep, 0, NULL, re->id, "out of memory while summing the tally: run the audit on a larger machine");
        goto out;
    }
    re->ballots_counted = n_counted;
    re->ballots_superseded = re->ballots_accepted - n_counted;
    if (n_bad)
        audit_fail(a->rep, 0, NULL, re->id, "%d counted ciphertexts are not valid points", n_bad);
    /* the tally as the snapshot records it */
    if (election_get_tally(&a->snap_reader, a->g->chain_id, t->id, t->id_len, &counted, &accepted, stored,
                           ELECTION_MAX_SLOTS, &slots) != ELECTION_OK || slots != t->slots) {
        audit_fail(a->rep, 0, NULL, re->id, "the snapshot holds no readable tally for this election");
        goto out;
    }
    if (counted != n_counted)
        audit_fail(a->rep, 0, NULL, re->id, "the snapshot's tally counts %" PRIu64 " ballots, the last ballot "
                   "of each voter gives %" PRIu64, counted, n_counted);
    for (size_t s = 0; s < slots; s++)
        if (!ec_point_equal(&mine[s].a, &stored[s].a) || !ec_point_equal(&mine[s].b, &stored[s].b)) {
            audit_fail(a->rep, 0, NULL, re->id, "the tally of option %zu is not the sum of the counted ballots", s);
            break;
        }
    if (election_get_result(&a->snap_reader, a->g->chain_id, t->id, t->id_len, &res) != ELECTION_OK) {
        goto out;
    }
    re->has_result = 1;
    have_am = election_result_attest_msg(rec, res, &am);
    re->result_vouched = count_vouchers(a, t, 1, &am, have_am);
    re->result_height = res->height;
    re->n_result_trustees = res->n_trustees < ELECTION_MAX_SLOTS ? res->n_trustees : ELECTION_MAX_SLOTS;
    for (size_t k = 0; k < re->n_result_trustees; k++)
        re->result_trustees[k] = res->trustees[k];
    for (size_t k = 0; k < res->n_counts && k < ELECTION_MAX_SLOTS; k++)
        re->counts[k] = res->counts[k];
    if (res->n_counts != slots) {
        audit_fail(a->rep, res->height, NULL, re->id, "the published result has %zu counts for %zu options",
                   res->n_counts, slots);
        goto out;
    }
    if (res->ballots_counted != n_counted)
        audit_fail(a->rep, res->height, NULL, re->id, "the published result says %" PRIu64 " ballots were "
                   "counted, the chain's ballots give %" PRIu64, res->ballots_counted, n_counted);
    {
        /* Re-derive the counts from the trustees' shares, each re-verified
         * against its verification key X_j and the tally summed above. */
        uint32_t idx[ELECTION_MAX_SLOTS];
        ec_point *d = malloc((size_t)ELECTION_MAX_SLOTS * slots * sizeof *d), col[ELECTION_MAX_SLOTS];
        size_t got = 0;
        dlog_table *table = NULL;
        if (d == NULL)
            goto out;
        for (uint32_t j = 1; j <= re->trustees && j <= ELECTION_MAX_SLOTS && got < re->threshold; j++) {
            const Evote__V1__TxBody *body = t->partials[j];
            ec_point x;
            int ok = 1;
            if (body == NULL)
                continue;
            if (rec->n_verification_keys < j || ec_point_parse(&x, rec->verification_keys[j - 1].data, 0) != BC_OK ||
                body->partial_decryption->n_shares != slots)
                ok = 0;
            for (size_t s = 0; ok && s < slots; s++) {
                bc_partial_ctx pc = {t->e, rec->election_key.data, j, (uint32_t)s};
                ok = bc_tally_partial_verify(&pc, &x, &mine[s], body->partial_decryption->shares[s].data,
                                             body->partial_decryption->shares[s].len, &d[got * slots + s]) == BC_OK;
            }
            if (!ok) {
                audit_fail(a->rep, t->partial_height[j], NULL, re->id,
                           "trustee %u's decryption share does not verify against the tally", j);
                continue;
            }
            idx[got++] = j;
        }
        if (got < re->threshold)
            audit_fail(a->rep, res->height, NULL, re->id, "a result is published but only %zu valid decryption "
                       "shares are on the chain (%u needed)", got, re->threshold);
        else if (dlog_table_new(&table, n_counted) != BC_OK)
            audit_fail(a->rep, 0, NULL, re->id, "out of memory for the discrete logarithm table");
        else
            for (size_t s = 0; s < slots; s++) {
                ec_point m;
                uint64_t v = 0;
                for (size_t k = 0; k < got; k++)
                    col[k] = d[k * slots + s];
                if (bc_tally_combine(&m, &mine[s], re->threshold, idx, col, got) != BC_OK ||
                    dlog_solve(table, &m, &v) != BC_OK)
                    audit_fail(a->rep, res->height, NULL, re->id, "the trustees' shares do not decrypt option "
                               "\"%s\" to a count within the ballots counted", s < re->n_options ? re->options[s] : "?");
                else if (v != res->counts[s])
                    audit_fail(a->rep, res->height, NULL, re->id, "the published count of \"%s\" is %" PRIu64
                               ", the trustees' shares decrypt the tally to %" PRIu64,
                               s < re->n_options ? re->options[s] : "?", res->counts[s], v);
            }
        dlog_table_destroy(&table);
        free(d);
    }
out:
    if (res)
        evote__v1__election_result__free_unpacked(res, NULL);
    if (rec)
        evote__v1__election_record__free_unpacked(rec, NULL);
}

typedef struct {
    uint64_t expect, count;
    int gap;
    uint64_t gap_at;
} heights_ctx;

static int note_height(void *ctx, uint64_t height, const uint8_t *block, size_t block_len, const uint8_t *cert,
                       size_t cert_len)
{
    heights_ctx *c = ctx;
    (void)block, (void)block_len, (void)cert, (void)cert_len;
    if (height != c->expect && !c->gap) {
        c->gap = 1;
        c->gap_at = c->expect;
    }
    c->expect = height + 1;
    c->count++;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int audit_run(const audit_options *opt, audit_report *rep, char *why, size_t why_len)
{
    auditor a;
    genesis_error gerr;
    store_error serr;
    store_err se;
    heights_ctx hc = {1, 0, 0, 0};
    uint64_t tip = 0, h;
    uint8_t tip_hash[CRYPTO_HASH_LEN];
    double t0 = now_s(), cpu0 = thread_cpu();
    int rc = AUDIT_EXIT_INPUT;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    memset(rep, 0, sizeof *rep);
    memset(&a, 0, sizeof a);
    a.opt = opt;
    a.rep = rep;
    why[0] = '\0';
    if (opt->track) {
        rep->track_asked = 1;
        memcpy(rep->track_code, opt->track, CRYPTO_HASH_LEN);
    }
    if (genesis_load(opt->genesis_path, &a.g, &gerr) != LEDGER_OK) {
        if (gerr.line)
            snprintf(why, why_len, "%s line %u: %s", opt->genesis_path, gerr.line, gerr.reason);
        else
            snprintf(why, why_len, "%s: %s", opt->genesis_path, gerr.reason);
        return AUDIT_EXIT_INPUT;
    }
    snprintf(rep->chain_name, sizeof rep->chain_name, "%s", a.g->chain_name);
    crypto_hex(a.g->chain_id, CRYPTO_CHAIN_ID_LEN, rep->chain_id);
    {
        /* The structure of the file first: LMDB trusts what it maps. */
        char file[4096], reason[256];
        data_file_info info;
        int e = 0;
        snprintf(file, sizeof file, "%.4000s/data.mdb", opt->snapshot_dir);
        if (data_file_check(file, &info, &e, reason, sizeof reason) == DATA_FILE_OK &&
            !data_file_walk(file, info.page_size, info.last_page, reason, sizeof reason)) {
            snprintf(why, why_len, "%s: the file is damaged: %s", file, reason);
            goto done;
        }
    }
    {
        /* evote snapshot's seal covers every byte, also where no record
         * lives; a mismatch is a failure, and the audit goes on to find what
         * the records themselves say. */
        char reason[512];
        rep->seal = data_file_seal_check(opt->snapshot_dir, reason, sizeof reason);
        if (rep->seal < 0)
            audit_fail(rep, 0, NULL, NULL, "%s", reason);
    }
    se = chain_store_open_readonly(opt->snapshot_dir, a.g->chain_id, &a.store, &serr);
    if (se != STORE_OK) {
        snprintf(why, why_len, "%s\n  (%s)", serr.detail[0] ? serr.detail : opt->snapshot_dir, store_strerror(se));
        goto done;
    }
    rep->threads = opt->threads ? opt->threads : (cores > 0 ? (unsigned)cores : 1);
    a.state = kvmap_new();
    a.seen = kvmap_new();
    a.voters = kvmap_new();
    a.changes = election_changes_new();
    a.pool = audit_pool_new(rep->threads - 1);
    a.win = calloc(WINDOW_BLOCKS, sizeof *a.win);
    if (!a.state || !a.seen || !a.voters || !a.changes || !a.pool || !a.win ||
        election_cache_new(a.g->chain_id, &a.cache) != ELECTION_OK) {
        snprintf(why, why_len, "out of memory");
        goto done;
    }
    a.reader.get = state_get;
    a.reader.ctx = a.state;
    a.snap_reader.get = snap_get;
    a.snap_reader.ctx = a.store;
    memcpy(a.prev_hash, a.g->chain_id, CRYPTO_HASH_LEN);

    /* pass 1: heights */
    se = chain_store_tip(a.store, &tip, tip_hash, NULL);
    if (se == STORE_OK)
        se = chain_store_iterate(a.store, 1, note_height, &hc);
    if (se != STORE_OK) {
        snprintf(why, why_len, "%s: the snapshot cannot be read: %s", opt->snapshot_dir, store_strerror(se));
        goto done;
    }
    rc = AUDIT_EXIT_FAILED;
    if (hc.gap)
        audit_fail(rep, hc.gap_at, NULL, NULL, "block %" PRIu64 " is missing: heights are not contiguous", hc.gap_at);
    if (hc.count != tip || hc.expect != tip + 1)
        audit_fail(rep, 0, NULL, NULL, "the snapshot's tip record says height %" PRIu64 ", it holds %" PRIu64
                   " blocks", tip, hc.count);
    if (tip < hc.expect - 1)
        tip = hc.expect - 1;

    /* pass 2: blocks (and the checkpoint proofs kept for them) */
    next_checkpoint(&a, 1);
    for (h = 1; h <= tip;)
        if (!audit_window(&a, h, tip, &h)) {
            snprintf(why, why_len, "out of memory");
            rc = AUDIT_EXIT_INPUT;
            goto done;
        }
    rep->height = tip;
    if (a.ckpt_seq != 0 && a.ckpt_seq <= tip)
        next_checkpoint(&a, tip + 1);
    for (; a.ckpt_seq > tip; next_checkpoint(&a, a.ckpt_seq + 1))
        rep->checkpoints_above_tip++; /* stable before this node had stored the block */
    crypto_hex(a.prev_hash, CRYPTO_HASH_LEN, rep->tip_hash);
    if (memcmp(a.prev_hash, tip_hash, CRYPTO_HASH_LEN) != 0 && tip > 0)
        audit_fail(rep, tip, NULL, NULL, "the snapshot's tip record names another hash than block %" PRIu64, tip);

    /* pass 3: state and elections */
    {
        cmp_ctx cc = {&a, 0, 0};
        se = chain_store_iterate_state(a.store, compare_state, &cc);
        if (se != STORE_OK)
            audit_fail(rep, 0, NULL, NULL, "the snapshot's state database cannot be read: %s", store_strerror(se));
        else if (cc.matched != kvmap_count(a.state) && cc.reported == 0)
            audit_fail(rep, 0, NULL, NULL, "the snapshot's state database lacks %zu entries that re-execution wrote",
                       kvmap_count(a.state) - cc.matched);
    }
    for (size_t e = 0; e < a.n_el; e++)
        check_election(&a, &a.el[e]);
    track_final(&a);
    if (opt->statement != NULL)
        judge_statement(&a, rep->height);
    rep->ballot_proofs = a.ballot_proofs;
    if (opt->election != NULL) {
        size_t keep = 0;
        for (size_t e = 0; e < rep->n_elections; e++) {
            if (strcmp(rep->elections[e].id, opt->election) == 0) {
                audit_election tmp = rep->elections[keep];
                rep->elections[keep++] = rep->elections[e];
                rep->elections[e] = tmp;
            }
        }
        if (keep == 0)
            audit_fail(rep, 0, NULL, NULL, "no election \"%s\" on this chain", opt->election);
        for (size_t e = keep; e < rep->n_elections; e++) {
            for (size_t k = 0; k < rep->elections[e].n_options; k++)
                free(rep->elections[e].options[k]);
            free(rep->elections[e].options);
            free(rep->elections[e].registrars);
        }
        rep->n_elections = keep;
    }
    rc = rep->n_failures                               ? AUDIT_EXIT_FAILED
         : rep->track_asked && !rep->track_found       ? AUDIT_EXIT_NOT_FOUND
         : rep->stmt_asked && rep->stmt_verdict == 0   ? AUDIT_EXIT_FALSE_STATEMENT
         : rep->stmt_asked && rep->stmt_verdict == -2  ? AUDIT_EXIT_NOT_FOUND
         : rep->stmt_asked && rep->stmt_verdict < 0    ? AUDIT_EXIT_USAGE
                                                       : AUDIT_EXIT_VERIFIED;
done:
    rep->seconds = now_s() - t0;
    rep->sequential_cpu = thread_cpu() - cpu0 - a.pool_cpu;
    if (a.win)
        free_window(&a);
    free(a.win);
    free(a.ckpt);
    for (size_t e = 0; e < a.n_el; e++)
        for (size_t j = 0; j <= ELECTION_MAX_SLOTS; j++)
            if (a.el[e].partials[j])
                evote__v1__tx_body__free_unpacked(a.el[e].partials[j], NULL);
    free(a.el);
    audit_pool_destroy(&a.pool);
    election_cache_destroy(&a.cache);
    election_changes_destroy(&a.changes);
    kvmap_destroy(&a.state);
    kvmap_destroy(&a.seen);
    kvmap_destroy(&a.voters);
    chain_store_destroy(&a.store);
    genesis_destroy(&a.g);
    return rc;
}
