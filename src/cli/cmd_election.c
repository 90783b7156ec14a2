/* evote election create|open|close|show, register, trustee
 * init|deal|check|decrypt, vote, track, result: the election commands for
 * officials (authorities), trustees and voters. Each signing command loads
 * the genesis (for the chain id) and a key file, builds one TxBody, seals it
 * (ledger_tx_seal) and submits it through node_call (client_util.c); with
 * --wait it waits for the commit and says what execution recorded. The
 * reading commands use the election calls of proto/api.proto (GetElection,
 * GetResult, Track, GetState).
 *
 * A trustee's secrets (its share-encryption key ek, the shares it received,
 * its key share x_j) live in files of mode 0600 in a directory of mode 0700
 * (--dir) and are never printed. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "api.pb-c.h"
#include "ballot_crypto.h"
#include "cli.h"
#include "consensus.pb-c.h"
#include "crypto.h"
#include "election.h"
#include "ledger.h"
#include "net.h"

/* Long-only option codes (above any character). */
enum {
    O_KEY = 300,
    O_GENESIS,
    O_ID,
    O_TITLE,
    O_QUESTION,
    O_OPTIONS,
    O_MAX,
    O_OPEN_HEIGHT,
    O_CLOSE_HEIGHT,
    O_OPEN_TIME,
    O_CLOSE_TIME,
    O_REVOTING,
    O_TRUSTEES,
    O_THRESHOLD,
    O_CEREMONY_END,
    O_COMPLAINT_END,
    O_REG_END_HEIGHT,
    O_REG_END_TIME,
    O_REG_UNTIL_CLOSE,
    O_ALLOW_EMPTY_ROLL,
    O_VOTERS,
    O_BATCH,
    O_DIR,
    O_CHOICE,
    O_CHOICES,
    O_NO_PRECHECK,
    O_THREADS,
    O_WINDOW,
    O_ENCRYPT_ONLY,
    O_COUNT,
    O_OUT_DIR,
};

#define SIGNER_OPTIONS                                                                           \
    {"key", required_argument, NULL, O_KEY}, {"genesis", required_argument, NULL, O_GENESIS},    \
        {"id", required_argument, NULL, O_ID}, {"wait", required_argument, NULL, OPT_WAIT}, NODE_OPTIONS
#define SIGNER_HELP                                                                         \
    "  --genesis G    the chain's genesis file (gives the chain id the signature binds)\n"   \
    "  --id ID        the election id (1..64 bytes, as given to 'evote election create')\n" \
    "  --wait MS      then wait up to MS ms for the commit and print the result;\n"         \
    "                 exits 1 unless the chain accepted the transaction (a node that\n"    \
    "                 restarts meanwhile is asked again, and sent the same bytes\n"       \
    "                 again if it forgot them)\n" NODE_HELP

/* ------------------------------------------------------------ signer */

/* What every signing command has: the node, the key, the genesis, the
 * election id and the wait. */
typedef struct {
    node_opts o;
    const char *key_path, *genesis_path, *id;
    long wait_ms;
    genesis *g;
    signing_key *key;
    uint8_t pub[CRYPTO_PUBKEY_LEN];
    uint8_t e[ELECTION_HASH_LEN]; /* E of id under the genesis's chain */
} signer;

static void signer_init(signer *s, const char *cmd)
{
    memset(s, 0, sizeof *s);
    node_opts_init(&s->o, cmd);
}

static void signer_free(signer *s)
{
    signing_key_destroy(&s->key);
    genesis_destroy(&s->g);
}

/* Handles the options of SIGNER_OPTIONS. Returns: 1 handled, 0 not one of
 * them, -1 bad value (printed). */
static int signer_opt(signer *s, int c, const char *arg)
{
    switch (c) {
    case O_KEY: s->key_path = arg; return 1;
    case O_GENESIS: s->genesis_path = arg; return 1;
    case O_ID: s->id = arg; return 1;
    case OPT_WAIT: return parse_ms(s->o.cmd, "--wait", arg, 0, &s->wait_ms) ? 1 : -1;
    default: return node_opt(&s->o, c, arg);
    }
}

static int id_ok(const char *cmd, const char *id)
{
    size_t n = strlen(id);
    if (n >= 1 && n <= ELECTION_MAX_ID)
        return 1;
    fprintf(stderr, "evote %s: an election id is 1 to %d bytes; '%s' is %zu\n", cmd, ELECTION_MAX_ID, id, n);
    return 0;
}

/* Loads the genesis (and, when need_key, the key). Returns: 0, or an exit
 * code after saying what is missing or wrong. */

static int signer_load(signer *s, const char *help)
{
    crypto_err cerr;
    int rc;

    if (s->key_path == NULL)
        return missing_option(s->o.cmd, "--key KEYFILE", help);
    if (s->genesis_path == NULL)
        return missing_option(s->o.cmd, "--genesis GENESIS", help);
    if (s->id == NULL)
        return missing_option(s->o.cmd, "--id ID", help);
    if (!id_ok(s->o.cmd, s->id))
        return EXIT_USAGE;
    rc = cli_load_genesis(s->o.cmd, s->genesis_path, &s->g);
    if (rc != 0)
        return rc;
    cerr = signing_key_load(s->key_path, &s->key);
    if (cerr != CRYPTO_OK) {
        fprintf(stderr, "evote %s: %s: %s\n", s->o.cmd, s->key_path, crypto_strerror(cerr));
        return EXIT_FAILED;
    }
    signing_key_pubkey(s->key, s->pub);
    election_hash(s->g->chain_id, (const uint8_t *)s->id, strlen(s->id), s->e);
    return 0;
}

static void warn_not_authority(const signer *s)
{
    if (!genesis_is_authority(s->g, s->pub))
        fprintf(stderr,
                "evote %s: warning: the key in %s is not an authority of %s: validators refuse "
                "this transaction (NOT_AUTHORIZED); sign with an authority's key\n",
                s->o.cmd, s->key_path, s->genesis_path);
}

/* Seals body for the signer's chain and submits it; with --wait, waits for
 * the commit. Out: id (may be NULL), *ans (may be NULL). Returns: as
 * submit_tx. */
static int seal_submit(signer *s, Evote__V1__TxBody *body, uint8_t id[CRYPTO_HASH_LEN], tx_answer *ans)
{
    uint8_t *tx = NULL;
    size_t len = 0;
    crypto_err cerr;
    tx_answer local;
    int rc;

    if (ans != NULL) /* nothing known yet: also what a signing failure leaves */
        memset(ans, 0, sizeof *ans);
    body->chain_id.data = s->g->chain_id;
    body->chain_id.len = CRYPTO_CHAIN_ID_LEN;
    body->created_ms = wall_clock_ms();
    cerr = crypto_random(&body->nonce, sizeof body->nonce);
    if (cerr == CRYPTO_OK)
        cerr = ledger_tx_seal(body, s->key, &tx, &len);
    if (cerr != CRYPTO_OK) {
        fprintf(stderr, "evote %s: cannot sign the transaction: %s\n", s->o.cmd, crypto_strerror(cerr));
        return EXIT_FAILED;
    }
    if (id != NULL)
        envelope_txid(tx, len, id);
    rc = submit_tx_answer(&s->o, tx, len, s->wait_ms, &local);
    free(tx);
    if (ans != NULL)
        *ans = local;
    if (local.state == EVOTE__V1__TX_STATE__TX_STATE_COMMITTED && local.result == EVOTE__V1__TX_RESULT__TX_RESULT_OK)
        printf("%s\n", election_result_text(local.result));
    return rc;
}

/* --------------------------------------------------------- node reading */

/* GetElection, as it comes (the caller reads its status). */
static int ask_election(const node_opts *o, const char *id, Evote__V1__ApiResponse **out)
{
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__GetElection get = EVOTE__V1__GET_ELECTION__INIT;
    get.election_id.data = (uint8_t *)id;
    get.election_id.len = strlen(id);
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_ELECTION;
    req.get_election = &get;
    return node_call(o, &req, 0, out);
}

/* GetElection. Returns: 0 with *out (status OK, election and its definition
 * present), or an exit code after saying why. */
static int fetch_election(const node_opts *o, const char *id, Evote__V1__ApiResponse **out)
{
    Evote__V1__ApiResponse *resp = NULL;
    const Evote__V1__ElectionRecord *rec;
    int rc;

    *out = NULL;
    rc = ask_election(o, id, &resp);
    if (rc != 0)
        return rc;
    if (resp->status == EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND) {
        fprintf(stderr,
                "evote %s: %s knows no election '%s': check the id, or wait until its ElectionCreate is "
                "committed ('evote tx ID')\n",
                o->cmd, o->node, id);
        evote__v1__api_response__free_unpacked(resp, NULL);
        return EXIT_FAILED;
    }
    rec = resp->election;
    if (resp->status != EVOTE__V1__API_STATUS__API_STATUS_OK || rec == NULL || rec->definition == NULL) {
        rc = bad_answer(o, resp, "without the election");
        evote__v1__api_response__free_unpacked(resp, NULL);
        return rc;
    }
    if (rec->election_hash.len != ELECTION_HASH_LEN || rec->definition->n_trustees == 0 ||
        (rec->election_key.len != 0 && rec->election_key.len != EC_POINT_LEN)) {
        rc = bad_answer(o, resp, "with an election record that does not fit the schema");
        evote__v1__api_response__free_unpacked(resp, NULL);
        return rc;
    }
    *out = resp;
    return 0;
}

static int same_chain(const char *cmd, const Evote__V1__ElectionRecord *rec, const uint8_t e[ELECTION_HASH_LEN]);

/* How many distinct validators of the genesis vouch for m (their
 * ElectionAttestation signatures in atts verify); 0 when m could not be
 * made. Out: when vouched is not NULL (g->n bytes), who. */
static uint32_t vouch_count(const genesis *g, Evote__V1__KeyAttestation *const *atts, size_t n, int have_m,
                            const election_attest_msg *m, uint8_t *vouched)
{
    size_t k = 0;
    uint32_t *idx = calloc(n ? n : 1, sizeof *idx), count = 0;
    uint8_t(*sigs)[CRYPTO_SIG_LEN] = calloc(n ? n : 1, sizeof *sigs);
    uint8_t(*keys)[CRYPTO_PUBKEY_LEN] = genesis_pubkeys(g);

    if (vouched != NULL)
        memset(vouched, 0, g->n);
    if (have_m && idx != NULL && sigs != NULL && keys != NULL) {
        for (size_t i = 0; i < n; i++) {
            const Evote__V1__KeyAttestation *a = atts[i];
            if (a == NULL || a->signature.len != CRYPTO_SIG_LEN)
                continue;
            idx[k] = a->validator;
            memcpy(sigs[k++], a->signature.data, CRYPTO_SIG_LEN);
        }
        count = election_count_attestations(m, idx, (const uint8_t(*)[CRYPTO_SIG_LEN])sigs, k,
                                            (const uint8_t(*)[CRYPTO_PUBKEY_LEN])keys, g->n, vouched);
    }
    free(idx);
    free(sigs);
    free(keys);
    return count;
}

/* Who vouches for the answered election's key and definition. */
static uint32_t key_vouchers(const genesis *g, const Evote__V1__ApiResponse *resp, uint8_t *vouched)
{
    election_attest_msg m;
    int have = election_key_attest_msg(resp->election, &m);
    return vouch_count(g, resp->key_attestations, resp->n_key_attestations, have, &m, vouched);
}

static long vouch_wait_ms = 15000; /* validators attest within a block or two of the key */

/* One round of a vouched fetch through rot's nodes: sets *count (the
 * validators vouching for what was fetched) and *none (1: nothing to vouch
 * for yet, the caller says so), keeping the answers in ctx. Returns: 0, or
 * an exit code after saying why. */
typedef int (*vouch_round_fn)(const node_opts *rot, const genesis *g, void *ctx, uint32_t *count, int *none);

/* Runs rounds until f+1 validators of g vouch (or every --node in a row
 * says there is nothing to vouch for yet), for up to vouch_wait_ms, each
 * round starting at the next --node (one that leaves attestations out, or
 * says "no key yet", is passed over). drop frees a round's
 * answers. what: "the key of election 'X'"; refusal: what the command does
 * not do, and what to do. Returns: 0 (answers in ctx), or an exit code
 * after saying why. */
static int vouched_fetch(const node_opts *o, const genesis *g, vouch_round_fn round, void (*drop)(void *ctx),
                         void *ctx, const char *what, const char *refusal)
{
    const char *nodes[1 + NODE_MAX_ALT];
    size_t m = 1 + o->n_alt;
    double deadline = cli_mono_s() + vouch_wait_ms / 1000.0;
    uint32_t need = g->f + 1, best = 0;
    size_t nones = 0;
    int told = 0;

    nodes[0] = o->node;
    for (size_t k = 0; k < o->n_alt; k++)
        nodes[1 + k] = o->alt[k];
    for (size_t r = 0;; r++) {
        node_opts rot = *o; /* this round starts at the next node */
        uint32_t count = 0;
        int none = 0, rc;

        rot.node = nodes[r % m];
        rot.n_alt = m - 1;
        for (size_t k = 1; k < m; k++)
            rot.alt[k - 1] = nodes[(r + k) % m];
        rc = round(&rot, g, ctx, &count, &none);
        if (rc != 0)
            return rc;
        if (count >= need || (none && ++nones >= m))
            return 0; /* vouched for; or nothing to vouch for yet, say all nodes */
        drop(ctx);
        if (none)
            continue; /* a node that says "nothing yet": the next one may know better */
        nones = 0;
        best = count > best ? count : best;
        if (cli_mono_s() >= deadline) {
            fprintf(stderr,
                    "evote %s: only %u of the %u validators vouch for %s (f+1 = %u are needed so that an honest "
                    "one stands behind it); %s\n",
                    o->cmd, best, g->n, what, need, refusal);
            return EXIT_FAILED;
        }
        if (!told) {
            fprintf(stderr, "evote %s: %u of the f+1 = %u validators needed vouch for %s so far; waiting for the "
                            "others (up to %ld s)\n",
                    o->cmd, count, need, what, vouch_wait_ms / 1000);
            told = 1;
        }
        cli_sleep_ms(300);
    }
}

typedef struct {
    const char *id;
    const uint8_t *e;
    Evote__V1__ApiResponse *el;   /* GetElection */
    Evote__V1__ApiResponse *res;  /* GetResult (result rounds) */
} vouch_ctx;

static void vouch_drop(void *ctx)
{
    vouch_ctx *v = ctx;
    if (v->el != NULL)
        evote__v1__api_response__free_unpacked(v->el, NULL);
    if (v->res != NULL)
        evote__v1__api_response__free_unpacked(v->res, NULL);
    v->el = v->res = NULL;
}

static int key_round(const node_opts *rot, const genesis *g, void *ctx, uint32_t *count, int *none)
{
    vouch_ctx *v = ctx;
    int rc = fetch_election(rot, v->id, &v->el);
    if (rc != 0)
        return rc;
    if (!same_chain(rot->cmd, v->el->election, v->e)) {
        vouch_drop(v);
        return EXIT_FAILED;
    }
    *none = v->el->election->election_key.len == 0;
    *count = *none ? 0 : key_vouchers(g, v->el, NULL);
    return 0;
}

/* Who vouches for the answered result, with the answered election's key
 * and definition. */
static uint32_t result_vouchers(const genesis *g, const Evote__V1__ApiResponse *el,
                                const Evote__V1__ApiResponse *res, uint8_t *vouched)
{
    election_attest_msg m;
    int have = election_result_attest_msg(el->election, res->result, &m);
    return vouch_count(g, res->result_attestations, res->n_result_attestations, have, &m, vouched);
}

/* GetResult, as it comes (the caller reads its status). */
static int ask_result(const node_opts *o, const char *id, Evote__V1__ApiResponse **out)
{
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__GetResult get = EVOTE__V1__GET_RESULT__INIT;
    get.election_id.data = (uint8_t *)id;
    get.election_id.len = strlen(id);
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_RESULT;
    req.get_result = &get;
    return node_call(o, &req, 0, out);
}

static int result_round(const node_opts *rot, const genesis *g, void *ctx, uint32_t *count, int *none)
{
    vouch_ctx *v = ctx;
    int rc = fetch_election(rot, v->id, &v->el);
    if (rc != 0)
        return rc;
    if (!same_chain(rot->cmd, v->el->election, v->e) || (rc = ask_result(rot, v->id, &v->res)) != 0) {
        vouch_drop(v);
        return rc ? rc : EXIT_FAILED;
    }
    /* No result (or an unusable answer): the caller says so. */
    *none = v->res->status != EVOTE__V1__API_STATUS__API_STATUS_OK || v->res->result == NULL;
    *count = *none ? 0 : result_vouchers(g, v->el, v->res, NULL);
    return 0;
}

/* What a voter's client says when no quorum vouches for the key. */
#define VOTE_REFUSAL                                                                                               \
    "not encrypting to it. Validators attest the key seconds after it is made: if it was made just now, retry; " \
    "otherwise the node(s) asked may be serving a key of their own: ask another validator (--node) and tell the " \
    "election authority"

/* The election, as fetch_election gives it, for a client about to encrypt
 * to its key (refusal: what the command does not do when no quorum vouches,
 * and what to do): for this chain (E), and, once the key exists, only when f+1
 * validators of the genesis vouch for the key and the definition, so at
 * least one honest validator stands behind what the node answered. A node
 * cannot hand out a key of its own (and read the ballots) or edit the
 * options. Validators attest a block or two after the key is derived: a
 * missing quorum is awaited (vouched_fetch). Returns: 0 with *out, or an
 * exit code after saying why. */
static int fetch_vouched_election(const node_opts *o, const genesis *g, const char *id,
                                  const uint8_t e[ELECTION_HASH_LEN], const char *refusal,
                                  Evote__V1__ApiResponse **out)
{
    vouch_ctx v = {id, e, NULL, NULL};
    char what[ELECTION_MAX_ID * 4 + 64], buf[ELECTION_MAX_ID * 4 + 1];
    int rc;

    snprintf(what, sizeof what, "the key of election '%s'", clean(id, buf, sizeof buf));
    rc = vouched_fetch(o, g, key_round, vouch_drop, &v, what, refusal);
    *out = rc == 0 ? v.el : NULL;
    return rc;
}

/* GetState. Returns: 0 with *found (and, when found, *value malloc'ed and
 * *len), or an exit code after saying why. */
static int fetch_state(const node_opts *o, const uint8_t *key, size_t key_len, uint8_t **value, size_t *len,
                       int *found)
{
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__GetState get = EVOTE__V1__GET_STATE__INIT;
    Evote__V1__ApiResponse *resp = NULL;
    int rc;

    *value = NULL;
    *len = 0;
    *found = 0;
    get.key.data = (uint8_t *)key;
    get.key.len = key_len;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_STATE;
    req.get_state = &get;
    rc = node_call(o, &req, 0, &resp);
    if (rc != 0)
        return rc;
    if (resp->status == EVOTE__V1__API_STATUS__API_STATUS_OK) {
        *value = malloc(resp->state_value.len ? resp->state_value.len : 1);
        if (*value == NULL) {
            fprintf(stderr, "evote %s: out of memory\n", o->cmd);
            rc = EXIT_FAILED;
        } else {
            memcpy(*value, resp->state_value.data, resp->state_value.len);
            *len = resp->state_value.len;
            *found = 1;
        }
    } else if (resp->status != EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND) {
        rc = bad_answer(o, resp, "");
    }
    evote__v1__api_response__free_unpacked(resp, NULL);
    return rc;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* 'N' / 'D' / 'P' || E || u32 j (37 bytes). */
#define KEY_EJ_LEN (1 + ELECTION_HASH_LEN + 4)
static void key_ej(uint8_t out[KEY_EJ_LEN], char prefix, const uint8_t *e, uint32_t j)
{
    out[0] = (uint8_t)prefix;
    memcpy(out + 1, e, ELECTION_HASH_LEN);
    put_u32(out + 1 + ELECTION_HASH_LEN, j);
}

/* Checks that the node's E is the one this genesis gives for the id: the
 * node serves the chain of this genesis. Returns: 1, or 0 after saying so. */
static int same_chain(const char *cmd, const Evote__V1__ElectionRecord *rec, const uint8_t e[ELECTION_HASH_LEN])
{
    if (memcmp(rec->election_hash.data, e, ELECTION_HASH_LEN) == 0)
        return 1;
    fprintf(stderr,
            "evote %s: the node's election hash is not the one this genesis gives for this id: the node serves "
            "another chain; use the node of the genesis's chain (or its genesis)\n",
            cmd);
    return 0;
}

static void short_hex(const uint8_t *p, size_t n, char *out) /* out: 17 bytes */
{
    char full[2 * 64 + 1];
    crypto_hex(p, n > 64 ? 64 : n, full);
    snprintf(out, 17, "%.16s", full);
}

/* ----------------------------------------------------------- parsing */

static int parse_u64(const char *cmd, const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "evote %s: %s takes a whole number %" PRIu64 "..%" PRIu64 ", not '%s'\n", cmd, opt, lo, hi,
                s);
        return 0;
    }
    *out = v;
    return 1;
}

/* A time as milliseconds since the epoch, or ISO 8601 in UTC:
 * 2027-05-02T08:00:00Z (seconds and the Z optional; a space for the T). */
static int parse_time_ms(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
    static const char *const fmts[] = {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M",
                                       "%Y-%m-%d %H:%M"};
    size_t i;
    if (s[0] != '\0' && strspn(s, "0123456789") == strlen(s))
        return parse_u64(cmd, opt, s, 1, UINT64_MAX, out);
    for (i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        struct tm tm;
        const char *end;
        time_t t;
        memset(&tm, 0, sizeof tm);
        end = strptime(s, fmts[i], &tm);
        if (end == NULL || !(end[0] == '\0' || (end[0] == 'Z' && end[1] == '\0')))
            continue;
        t = timegm(&tm);
        if (t <= 0)
            break;
        *out = (uint64_t)t * 1000u;
        return 1;
    }
    fprintf(stderr,
            "evote %s: %s takes a UTC time like 2027-05-02T08:00:00Z or milliseconds since 1970, not '%s'\n", cmd,
            opt, s);
    return 0;
}

/* Splits s at commas into trimmed, non-empty items. Out: *items (malloc'ed
 * array of malloc'ed strings), *n. Returns: 1, or 0 (empty item or out of
 * memory: *what says which). */
static int split_list(const char *s, char ***items, size_t *n, const char **what)
{
    char **v = NULL;
    size_t count = 0;
    const char *p = s;

    *items = NULL;
    *n = 0;
    *what = "out of memory";
    for (;;) {
        const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p), *a = p, *b = end;
        char **grown;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (a == b) {
            *what = "an empty item (two commas in a row, or a comma at an end)";
            goto fail;
        }
        grown = realloc(v, (count + 1) * sizeof *v);
        if (grown == NULL)
            goto fail;
        v = grown;
        v[count] = strndup(a, (size_t)(b - a));
        if (v[count] == NULL)
            goto fail;
        count++;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    *items = v;
    *n = count;
    return 1;
fail:
    for (size_t i = 0; i < count; i++)
        free(v[i]);
    free(v);
    return 0;
}

static void free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

/* ================================================== election create */

#define MAX_Q BC_MAX_QUESTIONS

typedef struct {
    const char *text;
    const char *options; /* the --options text */
    long max;            /* -1: exactly one */
} q_arg;

static const char create_help[] =
    "usage: evote election create --key AUTHORITY.key --genesis G --id ID --title TITLE\n"
    "         --question TEXT --options \"A,B,C\" [--max N] [--question ... --options ...]\n"
    "         (--open-height H --close-height H | --open-time T --close-time T)\n"
    "         --trustees PUB1,PUB2,... [--threshold T] [--ceremony-end-height H]\n"
    "         [--registration-end-height H | --registration-end-time T |\n"
    "          --registration-until-close] [--revoting] [--wait MS] [--node EP]\n"
    "         [--timeout MS]\n"
    "\n"
    "Defines an election, signed by an authority of the genesis. Each --question\n"
    "starts a question; the --options and --max after it belong to it. By default\n"
    "a voter selects exactly one option; --max N makes it approval voting (0 to N\n"
    "options). 64 options at most over all questions.\n"
    "\n"
    "The polls are open from --open-height (or --open-time) to --close-height\n"
    "(or --close-time; a ballot at that height or time still counts); times are\n"
    "UTC like 2027-05-02T08:00:00Z, or milliseconds since 1970. Ballots are\n"
    "accepted only once the trustees' key ceremony has made the election key\n"
    "and an authority ran 'evote election open'.\n"
    "\n"
    "  --trustees     the trustees' public keys (64 hex digits each, 'evote pubkey'),\n"
    "                 in order: trustee 1, 2, ... n\n"
    "  --threshold T  how many trustees it takes to decrypt the tally (1..n;\n"
    "                 default 2f+1 of n = 3f+1: n - floor((n-1)/3))\n"
    "  --ceremony-end-height H  after H, the election may be opened without the\n"
    "                 dealings of trustees that never dealt, and no dealing is\n"
    "                 taken (default: never)\n"
    "  --complaint-end-height H2  with --ceremony-end-height: after H2 (> H), the\n"
    "                 election may be opened before every trustee confirmed the\n"
    "                 shares it received ('evote trustee check'; default H + 100):\n"
    "                 until then a trustee can still complain about a bad share\n"
    "The voter roll is frozen when the polls open (the first block with the\n"
    "election key at or after the opening height or time): register every voter\n"
    "before 'evote election open'. A registration after that is refused,\n"
    "TX_RESULT_ROLL_CLOSED, and so is a ballot by a key not on the roll, for good.\n"
    "  --registration-end-height H, --registration-end-time T  freeze the roll\n"
    "                 after H (or after block time T; a registration at it still\n"
    "                 counts) instead, earlier or later than the opening. A time\n"
    "                 is easier to plan: every transaction of the key ceremony can\n"
    "                 take a block of its own on a quiet chain\n"
    "  --registration-until-close  any authority may register voters until the\n"
    "                 polls close, while votes are cast\n"
    "  --revoting     a voter's later ballot replaces the earlier one\n"
    "  --key K        an authority's secret key file\n" SIGNER_HELP;

static int election_create(int argc, char **argv)
{
    static const struct option opts[] = {SIGNER_OPTIONS,
                                         {"title", required_argument, NULL, O_TITLE},
                                         {"question", required_argument, NULL, O_QUESTION},
                                         {"options", required_argument, NULL, O_OPTIONS},
                                         {"max", required_argument, NULL, O_MAX},
                                         {"open-height", required_argument, NULL, O_OPEN_HEIGHT},
                                         {"close-height", required_argument, NULL, O_CLOSE_HEIGHT},
                                         {"open-time", required_argument, NULL, O_OPEN_TIME},
                                         {"close-time", required_argument, NULL, O_CLOSE_TIME},
                                         {"revoting", no_argument, NULL, O_REVOTING},
                                         {"trustees", required_argument, NULL, O_TRUSTEES},
                                         {"threshold", required_argument, NULL, O_THRESHOLD},
                                         {"ceremony-end-height", required_argument, NULL, O_CEREMONY_END},
                                         {"complaint-end-height", required_argument, NULL, O_COMPLAINT_END},
                                         {"registration-end-height", required_argument, NULL, O_REG_END_HEIGHT},
                                         {"registration-end-time", required_argument, NULL, O_REG_END_TIME},
                                         {"registration-until-close", no_argument, NULL, O_REG_UNTIL_CLOSE},
                                         {0, 0, 0, 0}};
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__ElectionCreate ec = EVOTE__V1__ELECTION_CREATE__INIT;
    Evote__V1__Question qs[MAX_Q], *qp[MAX_Q];
    char **opt_items[MAX_Q] = {0};
    size_t opt_counts[MAX_Q] = {0};
    q_arg q[MAX_Q];
    size_t nq = 0, total = 0, n_tr = 0;
    const char *title = NULL, *trustees = NULL, *what;
    uint64_t open_h = 0, close_h = 0, open_t = 0, close_t = 0, threshold = 0, cer_end = 0, compl_end = 0, v;
    uint64_t reg_end_h = 0, reg_end_t = 0;
    char **tr_items = NULL;
    ProtobufCBinaryData *tr = NULL;
    uint8_t(*tr_keys)[CRYPTO_PUBKEY_LEN] = NULL;
    int revoting = 0, until_close = 0, c, rc;
    signer s;

    signer_init(&s, "election create");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_TITLE: title = optarg; break;
        case O_QUESTION:
            if (nq == MAX_Q) {
                fprintf(stderr, "evote %s: at most %d questions\n", s.o.cmd, MAX_Q);
                return EXIT_USAGE;
            }
            q[nq++] = (q_arg){optarg, NULL, -1};
            break;
        case O_OPTIONS:
        case O_MAX:
            if (nq == 0) {
                fprintf(stderr, "evote %s: %s belongs to a question: give --question TEXT first\n", s.o.cmd,
                        c == O_OPTIONS ? "--options" : "--max");
                return EXIT_USAGE;
            }
            if (c == O_OPTIONS) {
                if (q[nq - 1].options != NULL) {
                    fprintf(stderr, "evote %s: question %zu has two --options: give them in one list\n", s.o.cmd,
                            nq);
                    return EXIT_USAGE;
                }
                q[nq - 1].options = optarg;
            } else {
                if (!parse_u64(s.o.cmd, "--max", optarg, 1, BC_MAX_OPTIONS, &v))
                    return EXIT_USAGE;
                q[nq - 1].max = (long)v;
            }
            break;
        case O_OPEN_HEIGHT:
            if (!parse_u64(s.o.cmd, "--open-height", optarg, 1, UINT64_MAX, &open_h))
                return EXIT_USAGE;
            break;
        case O_CLOSE_HEIGHT:
            if (!parse_u64(s.o.cmd, "--close-height", optarg, 1, UINT64_MAX, &close_h))
                return EXIT_USAGE;
            break;
        case O_OPEN_TIME:
            if (!parse_time_ms(s.o.cmd, "--open-time", optarg, &open_t))
                return EXIT_USAGE;
            break;
        case O_CLOSE_TIME:
            if (!parse_time_ms(s.o.cmd, "--close-time", optarg, &close_t))
                return EXIT_USAGE;
            break;
        case O_REVOTING: revoting = 1; break;
        case O_TRUSTEES: trustees = optarg; break;
        case O_THRESHOLD:
            if (!parse_u64(s.o.cmd, "--threshold", optarg, 1, DKG_MAX_TRUSTEES, &threshold))
                return EXIT_USAGE;
            break;
        case O_CEREMONY_END:
            if (!parse_u64(s.o.cmd, "--ceremony-end-height", optarg, 1, UINT64_MAX, &cer_end))
                return EXIT_USAGE;
            break;
        case O_COMPLAINT_END:
            if (!parse_u64(s.o.cmd, "--complaint-end-height", optarg, 1, UINT64_MAX, &compl_end))
                return EXIT_USAGE;
            break;
        case O_REG_END_HEIGHT:
            if (!parse_u64(s.o.cmd, "--registration-end-height", optarg, 1, UINT64_MAX, &reg_end_h))
                return EXIT_USAGE;
            break;
        case O_REG_END_TIME:
            if (!parse_time_ms(s.o.cmd, "--registration-end-time", optarg, &reg_end_t))
                return EXIT_USAGE;
            break;
        case O_REG_UNTIL_CLOSE: until_close = 1; break;
        default:
            if ((rc = signer_opt(&s, c, optarg)) != 1)
                return rc < 0 ? EXIT_USAGE : usage_error(create_help);
        }
    }
    if (!operands_ok(s.o.cmd, argc, argv, 0, "", create_help))
        return EXIT_USAGE;
    if (title == NULL)
        return missing_option(s.o.cmd, "--title TITLE", create_help);
    if (nq == 0)
        return missing_option(s.o.cmd, "--question TEXT (with its --options)", create_help);
    if (trustees == NULL)
        return missing_option(s.o.cmd, "--trustees PUB1,PUB2,...", create_help);
    if (strlen(title) > LEDGER_MAX_TITLE) {
        fprintf(stderr, "evote %s: the title is %zu bytes; at most %d\n", s.o.cmd, strlen(title), LEDGER_MAX_TITLE);
        return EXIT_USAGE;
    }
    if ((open_h || close_h) && (open_t || close_t)) {
        fprintf(stderr, "evote %s: give the voting window by height (--open-height/--close-height) or by time "
                        "(--open-time/--close-time), not both\n",
                s.o.cmd);
        return EXIT_USAGE;
    }
    if (!(close_h || close_t)) {
        fprintf(stderr, "evote %s: the polls need a closing point: --close-height H or --close-time T (an "
                        "authority that creates it can also close earlier with 'evote election close')\n",
                s.o.cmd);
        return EXIT_USAGE;
    }
    if ((close_h && open_h > close_h) || (close_t && open_t > close_t)) {
        fprintf(stderr, "evote %s: the polls would close before they open\n", s.o.cmd);
        return EXIT_USAGE;
    }
    if ((reg_end_h != 0) + (reg_end_t != 0) + until_close > 1) {
        fprintf(stderr, "evote %s: give one of --registration-end-height, --registration-end-time and "
                        "--registration-until-close\n",
                s.o.cmd);
        return EXIT_USAGE;
    }
    if ((reg_end_h && close_h && reg_end_h > close_h) || (reg_end_t && close_t && reg_end_t > close_t)) {
        fprintf(stderr, "evote %s: the registration deadline is after the polls close: nobody could vote with a key "
                        "registered then (--registration-until-close keeps the roll open until the polls close)\n",
                s.o.cmd);
        return EXIT_USAGE;
    }
    if (compl_end != 0 && (cer_end == 0 || compl_end <= cer_end)) {
        fprintf(stderr, "evote %s: --complaint-end-height goes with --ceremony-end-height, above it (the trustees "
                        "need the heights in between to check the last dealings)\n",
                s.o.cmd);
        return EXIT_USAGE;
    }
    if (cer_end != 0 && compl_end == 0 && cer_end > UINT64_MAX - 100) {
        fprintf(stderr, "evote %s: --ceremony-end-height is too high\n", s.o.cmd);
        return EXIT_USAGE;
    }

    rc = EXIT_USAGE;
    for (size_t i = 0; i < nq; i++) {
        if (q[i].options == NULL) {
            fprintf(stderr, "evote %s: question %zu (\"%s\") has no --options \"A,B,...\"\n", s.o.cmd, i + 1,
                    q[i].text);
            goto out;
        }
        if (!split_list(q[i].options, &opt_items[i], &opt_counts[i], &what)) {
            fprintf(stderr, "evote %s: the --options of question %zu: %s\n", s.o.cmd, i + 1, what);
            goto out;
        }
        for (size_t a = 0; a < opt_counts[i]; a++)
            for (size_t b = 0; b < a; b++)
                if (strcmp(opt_items[i][a], opt_items[i][b]) == 0) {
                    fprintf(stderr, "evote %s: question %zu lists option '%s' twice\n", s.o.cmd, i + 1,
                            opt_items[i][a]);
                    goto out;
                }
        if (opt_counts[i] < 2 && q[i].max < 0) {
            fprintf(stderr, "evote %s: question %zu has one option and exactly one selection: give at least two "
                            "options (or --max 1 for yes/abstain)\n",
                    s.o.cmd, i + 1);
            goto out;
        }
        if (q[i].max > (long)opt_counts[i]) {
            fprintf(stderr, "evote %s: question %zu allows --max %ld selections but has only %zu options\n",
                    s.o.cmd, i + 1, q[i].max, opt_counts[i]);
            goto out;
        }
        total += opt_counts[i];
        evote__v1__question__init(&qs[i]);
        qs[i].text = (char *)q[i].text;
        qs[i].options = opt_items[i];
        qs[i].n_options = opt_counts[i];
        qs[i].min_selections = q[i].max < 0 ? 1 : 0;
        qs[i].max_selections = q[i].max < 0 ? 1 : (uint32_t)q[i].max;
        qp[i] = &qs[i];
    }
    if (total > ELECTION_MAX_SLOTS) {
        fprintf(stderr, "evote %s: %zu options over all questions; at most %d\n", s.o.cmd, total,
                ELECTION_MAX_SLOTS);
        goto out;
    }
    if (!split_list(trustees, &tr_items, &n_tr, &what)) {
        fprintf(stderr, "evote %s: --trustees: %s\n", s.o.cmd, what);
        goto out;
    }
    if (n_tr > DKG_MAX_TRUSTEES || (threshold != 0 && threshold > n_tr)) {
        fprintf(stderr, "evote %s: %zu trustees with threshold %" PRIu64 ": need 1 <= threshold <= trustees <= %d\n",
                s.o.cmd, n_tr, threshold, DKG_MAX_TRUSTEES);
        goto out;
    }
    tr = calloc(n_tr, sizeof *tr);
    tr_keys = calloc(n_tr, sizeof *tr_keys);
    if (tr == NULL || tr_keys == NULL) {
        rc = EXIT_FAILED;
        goto out;
    }
    for (size_t i = 0; i < n_tr; i++) {
        if (strlen(tr_items[i]) != 2 * CRYPTO_PUBKEY_LEN ||
            crypto_unhex(tr_items[i], tr_keys[i], CRYPTO_PUBKEY_LEN) != CRYPTO_OK ||
            !crypto_pubkey_valid(tr_keys[i])) {
            fprintf(stderr,
                    "evote %s: trustee %zu '%s' is not a public key: expected 64 hex digits as printed by "
                    "'evote pubkey --key TRUSTEE.key'\n",
                    s.o.cmd, i + 1, tr_items[i]);
            goto out;
        }
        for (size_t b = 0; b < i; b++)
            if (memcmp(tr_keys[b], tr_keys[i], CRYPTO_PUBKEY_LEN) == 0) {
                fprintf(stderr, "evote %s: trustees %zu and %zu have the same key\n", s.o.cmd, b + 1, i + 1);
                goto out;
            }
        tr[i] = (ProtobufCBinaryData){CRYPTO_PUBKEY_LEN, tr_keys[i]};
    }
    rc = signer_load(&s, create_help);
    if (rc != 0)
        goto out;
    warn_not_authority(&s);

    ec.election_id.data = (uint8_t *)s.id;
    ec.election_id.len = strlen(s.id);
    ec.title = (char *)title;
    ec.questions = qp;
    ec.n_questions = nq;
    ec.open_height = open_h;
    ec.close_height = close_h;
    ec.open_time_ms = open_t;
    ec.close_time_ms = close_t;
    ec.revoting_allowed = revoting;
    ec.trustees = tr;
    ec.n_trustees = n_tr;
    ec.threshold = (uint32_t)threshold;
    ec.ceremony_end_height = cer_end;
    ec.complaint_end_height = cer_end == 0 ? 0 : compl_end != 0 ? compl_end : cer_end + 100;
    ec.registration_end_height = reg_end_h;
    ec.registration_end_time_ms = reg_end_t;
    /* The default: nobody adds voters once anyone may vote. */
    ec.roll_frozen_at_opening = !(reg_end_h || reg_end_t || until_close);
    ec.ceremony_version = ELECTION_CEREMONY_VERSION;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CREATE;
    body.election_create = &ec;
    rc = seal_submit(&s, &body, NULL, NULL);
    if (rc == 0 && ec.roll_frozen_at_opening) {
        fflush(stdout); /* after the answer printed above */
        fprintf(stderr, "evote %s: the voter roll is frozen when the polls open: register the voters ('evote "
                        "voter register') before 'evote election open' (--registration-until-close would have "
                        "kept it open while votes are cast)\n",
                s.o.cmd);
    }
out:
    for (size_t i = 0; i < nq; i++)
        free_list(opt_items[i], opt_counts[i]);
    free_list(tr_items, n_tr);
    free(tr);
    free(tr_keys);
    signer_free(&s);
    return rc;
}

/* ============================================= election open / close */

static const char control_help[] =
    "usage: evote election open|close --key AUTHORITY.key --genesis G --id ID\n"
    "                                 [--allow-empty-roll] [--wait MS] [--node EP]\n"
    "                                 [--timeout MS]\n"
    "\n"
    "open ends the trustees' key ceremony: the chain derives the election key\n"
    "from the trustees that dealt correctly (allowed once every trustee has\n"
    "dealt, or after the ceremony end height, and every trustee has confirmed\n"
    "the shares it received with 'evote trustee check', or after the\n"
    "complaints' end height: refused here before that, naming who has not).\n"
    "Ballots are accepted from then\n"
    "on, within the voting window. Where the roll is frozen when the polls\n"
    "open (the default of 'evote election create'), register the voters first:\n"
    "opening with the polls' opening height or time reached and nobody on the\n"
    "roll is refused here, as nobody could ever vote (--allow-empty-roll opens\n"
    "anyway); otherwise it says how many voters the roll is frozen with.\n"
    "close closes the polls now, before the closing height or time; only the\n"
    "authority that created the election may (another authority's close is\n"
    "recorded as TX_RESULT_NOT_CREATOR), so no single other authority can cut\n"
    "the voters off. Without it the polls close when the definition says.\n"
    "\n"
    "  --key K        an authority's secret key file\n" SIGNER_HELP;

/* Closing early is the creator's alone: says so before the chain records a
 * refusal (the node's word; the chain's rule decides). */
static void warn_not_creator(const signer *s)
{
    Evote__V1__ApiResponse *el = NULL;
    if (fetch_election(&s->o, s->id, &el) != 0)
        return; /* fetch_election said why; submitting still tells the chain's verdict */
    if (el->election->creator.len == CRYPTO_PUBKEY_LEN &&
        memcmp(el->election->creator.data, s->pub, CRYPTO_PUBKEY_LEN) != 0) {
        char who[2 * CRYPTO_PUBKEY_LEN + 1];
        crypto_hex(el->election->creator.data, CRYPTO_PUBKEY_LEN, who);
        fprintf(stderr,
                "evote %s: warning: election '%s' was created by authority %.16s..., not by the key in %s: only "
                "its creator may close the polls early; the chain will record this transaction as "
                "TX_RESULT_NOT_CREATOR (the polls close by themselves when its definition says)\n",
                s->o.cmd, s->id, who, s->key_path);
    }
    evote__v1__api_response__free_unpacked(el, NULL);
}

/* Whether d's opening point is reached for the node's next block, as far
 * as the node's height and this computer's clock (slack_ms past an opening
 * time) can tell. *st: the node's tip, asked once, when needed (the caller
 * frees it). Returns: 1 reached, 0 not yet or cannot tell. */
static int opening_reached(const node_opts *o, const Evote__V1__ElectionCreate *d, uint64_t slack_ms,
                           Evote__V1__ApiResponse **st)
{
    if (d->open_time_ms != 0 && wall_clock_ms() < d->open_time_ms + slack_ms)
        return 0;
    if (d->open_height <= 1)
        return 1;
    if (*st == NULL && ask_node_status(o, 1, st) != 0)
        return 0;
    return (*st)->node->height + 1 >= d->open_height;
}

/* Before an OPEN: where the definition freezes the roll at the opening and
 * the opening height (by the node's tip) or time (by this computer's clock)
 * is reached, the roll is final once the OPEN is committed: refuses an
 * empty one (unless allow_empty), and says how many voters it holds.
 * Returns: 1 to refuse (said why), 0 otherwise (also when the node cannot
 * tell: the chain decides). */
static int empty_roll(const node_opts *o, const char *id, int allow_empty)
{
    Evote__V1__ApiResponse *resp = NULL, *st = NULL;
    const Evote__V1__ElectionCreate *d;
    int refuse = 0;

    if (ask_election(o, id, &resp) != 0)
        return 0;
    if (resp->status != EVOTE__V1__API_STATUS__API_STATUS_OK || resp->election == NULL ||
        resp->election->definition == NULL || resp->election->election_key.len != 0)
        goto out; /* unknown, or opened already: the chain's answer says so */
    d = resp->election->definition;
    if (!d->roll_frozen_at_opening || !opening_reached(o, d, 0, &st))
        goto out; /* voters may still be registered before the opening */
    if (resp->election->voters_registered == 0 && !allow_empty) {
        fprintf(stderr, "evote %s: nobody is on the roll of election '%s' (as %s has it), and the roll is frozen "
                        "when the polls open, which this would do: nobody could ever vote. Register the voters "
                        "first ('evote voter register'); --allow-empty-roll opens it anyway. Nothing submitted\n",
                o->cmd, id, o->node);
        refuse = 1;
    } else {
        fprintf(stderr, "evote %s: the roll of election '%s' is frozen with the polls' opening: %" PRIu64
                        " voter%s registered (as %s has it)\n",
                o->cmd, id, resp->election->voters_registered, resp->election->voters_registered == 1 ? "" : "s",
                o->node);
    }
out:
    if (st != NULL)
        evote__v1__api_response__free_unpacked(st, NULL);
    evote__v1__api_response__free_unpacked(resp, NULL);
    return refuse;
}

/* Before an OPEN under ceremony rules 1: the chain opens only once every
 * trustee has confirmed every dealing no complaint disqualified, or after
 * the complaints' end. Says which trustee has not, and refuses (nothing
 * submitted). Returns: 1 to refuse, 0 otherwise (also when the node cannot
 * tell: the chain decides). */
static int checks_missing(const signer *s)
{
    Evote__V1__ApiResponse *resp = NULL, *st = NULL;
    const Evote__V1__ElectionCreate *d;
    uint8_t e[ELECTION_HASH_LEN], qualified[DKG_MAX_TRUSTEES + 1] = {0};
    uint32_t n, missing_j = 0, missing_i = 0;
    int refuse = 0;

    if (ask_election(&s->o, s->id, &resp) != 0)
        return 0;
    if (resp->status != EVOTE__V1__API_STATUS__API_STATUS_OK || resp->election == NULL ||
        resp->election->definition == NULL || resp->election->election_key.len != 0 ||
        resp->election->definition->ceremony_version < 1)
        goto out;
    d = resp->election->definition;
    n = (uint32_t)d->n_trustees;
    if (n > DKG_MAX_TRUSTEES)
        goto out;
    if (d->complaint_end_height != 0 &&
        (ask_node_status(&s->o, 1, &st) != 0 || st->node->height + 1 > d->complaint_end_height))
        goto out; /* past the complaints' end (or cannot tell) */
    election_hash(s->g->chain_id, (const uint8_t *)s->id, strlen(s->id), e);
    for (uint32_t i = 1; i <= n; i++) {
        uint8_t key[KEY_EJ_LEN], *v = NULL;
        size_t len = 0;
        int found = 0;
        key_ej(key, ELECTION_KEY_DEALING, e, i);
        if (fetch_state(&s->o, key, sizeof key, &v, &len, &found) != 0)
            goto out;
        qualified[i] = found && len > 0 && v[0] == ELECTION_DEALING_QUALIFIED;
        free(v);
    }
    for (uint32_t j = 1; j <= n && missing_j == 0; j++) {
        uint8_t key[KEY_EJ_LEN], *v = NULL;
        size_t len = 0;
        int found = 0;
        key_ej(key, ELECTION_KEY_CHECKED, e, j);
        if (fetch_state(&s->o, key, sizeof key, &v, &len, &found) != 0)
            goto out;
        for (uint32_t i = 1; i <= n; i++)
            if (i != j && qualified[i] && !(found && i / 8 < len && (v[i / 8] >> (i % 8) & 1))) {
                missing_j = j;
                missing_i = i;
                break;
            }
        free(v);
    }
    if (missing_j != 0) {
        char when[96] = "";
        if (d->complaint_end_height != 0)
            snprintf(when, sizeof when, ", or after height %" PRIu64 " (the complaints' end)", d->complaint_end_height);
        fprintf(stderr,
                "evote %s: trustee %" PRIu32 " has not confirmed the share dealer %" PRIu32 " sent it (as %s has it): "
                "the chain opens election '%s' once every trustee has checked its shares ('evote trustee check' "
                "confirms the good ones and complains about a bad one)%s. Nothing submitted\n",
                s->o.cmd, missing_j, missing_i, s->o.node, s->id, when);
        refuse = 1;
    }
out:
    if (st != NULL)
        evote__v1__api_response__free_unpacked(st, NULL);
    evote__v1__api_response__free_unpacked(resp, NULL);
    return refuse;
}

static int election_control(int argc, char **argv, int open)
{
    static const struct option opts[] = {SIGNER_OPTIONS,
                                         {"allow-empty-roll", no_argument, NULL, O_ALLOW_EMPTY_ROLL},
                                         {0, 0, 0, 0}};
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__ElectionControl ctl = EVOTE__V1__ELECTION_CONTROL__INIT;
    signer s;
    int c, rc, allow_empty = 0;

    signer_init(&s, open ? "election open" : "election close");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if (c == O_ALLOW_EMPTY_ROLL && open)
            allow_empty = 1;
        else if ((rc = signer_opt(&s, c, optarg)) != 1)
            return rc < 0 ? EXIT_USAGE : usage_error(control_help);
    if (!operands_ok(s.o.cmd, argc, argv, 0, "", control_help))
        return EXIT_USAGE;
    rc = signer_load(&s, control_help);
    if (rc == 0 && open && (checks_missing(&s) || empty_roll(&s.o, s.id, allow_empty)))
        rc = EXIT_FAILED;
    if (rc == 0) {
        warn_not_authority(&s);
        if (!open && genesis_is_authority(s.g, s.pub))
            warn_not_creator(&s);
        ctl.election_id.data = (uint8_t *)s.id;
        ctl.election_id.len = strlen(s.id);
        ctl.action = open ? EVOTE__V1__ELECTION_CONTROL__ACTION__ACTION_OPEN
                          : EVOTE__V1__ELECTION_CONTROL__ACTION__ACTION_CLOSE;
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CONTROL;
        body.election_control = &ctl;
        tx_answer ans;
        rc = seal_submit(&s, &body, NULL, &ans);
        if (open && ans.state == EVOTE__V1__TX_STATE__TX_STATE_COMMITTED &&
            ans.result == EVOTE__V1__TX_RESULT__TX_RESULT_WRONG_PHASE)
            fprintf(stderr, "evote election open: the chain opens an election once every trustee has dealt (or, "
                            "with --ceremony-end-height, after that height) and, under ceremony rules 1, every "
                            "trustee has confirmed its shares (or after --complaint-end-height), and only once; "
                            "'evote election show %s' shows each trustee's progress\n",
                    s.id);
    }
    signer_free(&s);
    return rc;
}

/* ====================================================== election show */

static const char show_help[] =
    "usage: evote election show ID [--genesis G] [--node EP] [--timeout MS]\n"
    "\n"
    "Prints an election as the chain records it: title, questions and options,\n"
    "voting window, trustees and how far each is in the key ceremony, the\n"
    "election key once derived, voters registered, ballots counted, and whether\n"
    "the polls are closed and the result recorded.\n"
    "\n"
    "  --genesis G    check the validators' attestations of the election key and\n"
    "                 definition against G's keys, and name who vouches for them\n"
    "                 ('evote vote' needs f+1)\n"
    "\n" NODE_HELP;

static void print_window(const Evote__V1__ElectionCreate *d)
{
    char a[64], b[64];
    if (d->open_time_ms || d->close_time_ms) {
        format_time(d->open_time_ms, a, sizeof a);
        format_time(d->close_time_ms, b, sizeof b);
        printf("polls          %s to %s (block time)\n", d->open_time_ms ? a : "the election key",
               d->close_time_ms ? b : "closing by its creator");
    } else {
        printf("polls          ");
        if (d->open_height)
            printf("from height %" PRIu64, d->open_height);
        else
            printf("from the election key");
        if (d->close_height)
            printf(" to height %" PRIu64 " (included)\n", d->close_height);
        else
            printf(" until its creator closes them\n");
    }
}

static void print_roll_deadline(const Evote__V1__ElectionCreate *d)
{
    const char *also = d->roll_frozen_at_opening ? ", or when the polls open if that comes first" : "";
    char t[64];
    if (d->registration_end_height) {
        printf("roll           frozen after height %" PRIu64 " (a registration at it still counts)%s\n",
               d->registration_end_height, also);
    } else if (d->registration_end_time_ms) {
        format_time(d->registration_end_time_ms, t, sizeof t);
        printf("roll           frozen after %s (block time)%s\n", t, also);
    } else if (d->roll_frozen_at_opening) {
        printf("roll           frozen when the polls open\n");
    } else {
        printf("roll           any authority may register voters until the polls close\n");
    }
}

static void print_question(const Evote__V1__Question *q, size_t i)
{
    char buf[512];
    printf("question %zu     %s (", i + 1, clean(q->text, buf, sizeof buf));
    if (q->min_selections == q->max_selections)
        printf("choose exactly %" PRIu32 ")\n", q->min_selections);
    else
        printf("choose %" PRIu32 " to %" PRIu32 ")\n", q->min_selections, q->max_selections);
}

/* The names of the validators vouched[v] marks: ", "-separated, or as
 * JSON strings. */
static void print_vouched(const genesis *g, const uint8_t *vouched, int json)
{
    for (uint32_t v = 0, first = 1; v < g->n; v++)
        if (vouched[v]) {
            if (!first)
                printf(json ? "," : ", ");
            if (json)
                json_string(g->validators[v].name);
            else
                printf("%s", g->validators[v].name);
            first = 0;
        }
}

/* Who vouches for the key and definition: checked with g, or only counted. */
static void print_vouchers(const genesis *g, const Evote__V1__ApiResponse *resp)
{
    uint8_t *vouched;
    uint32_t count;

    if (g == NULL) {
        printf("vouched for    by %zu validator attestation%s (--genesis G checks them)\n", resp->n_key_attestations,
               resp->n_key_attestations == 1 ? "" : "s");
        return;
    }
    vouched = calloc(g->n, 1);
    if (vouched == NULL)
        return;
    count = key_vouchers(g, resp, vouched);
    printf("vouched for    by %" PRIu32 " of %" PRIu32 " validators (%s): ", count, g->n,
           count >= g->f + 1 ? "enough to vote"
                             : "so far: each attests seconds after the key is made; voters' clients wait for f+1");
    print_vouched(g, vouched, 0);
    printf("%s\n", count ? "" : "none yet");
    free(vouched);
}

static int election_show(int argc, char **argv)
{
    static const struct option opts[] = {NODE_OPTIONS, {"genesis", required_argument, NULL, O_GENESIS},
                                         {0, 0, 0, 0}};
    Evote__V1__ApiResponse *resp = NULL;
    const Evote__V1__ElectionRecord *rec;
    const Evote__V1__ElectionCreate *d;
    const char *genesis_path = NULL;
    genesis *g = NULL;
    char buf[600];
    node_opts o;
    int c, rc;

    node_opts_init(&o, "election show");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == O_GENESIS) {
            genesis_path = optarg;
            continue;
        }
        if ((rc = node_opt(&o, c, optarg)) != 1)
            return rc < 0 ? EXIT_USAGE : usage_error(show_help);
    }
    if (!operands_ok(o.cmd, argc, argv, 1, "the election id", show_help))
        return EXIT_USAGE;
    if (!id_ok(o.cmd, argv[optind]))
        return EXIT_USAGE;
    if (genesis_path != NULL && (rc = cli_load_genesis(o.cmd, genesis_path, &g)) != 0)
        return rc;
    rc = fetch_election(&o, argv[optind], &resp);
    if (rc != 0) {
        genesis_destroy(&g);
        return rc;
    }
    rec = resp->election;
    d = rec->definition;
    printf("election       %s\n", clean(argv[optind], buf, sizeof buf));
    printf("title          %s\n", clean(d->title, buf, sizeof buf));
    printf("hash (E)       ");
    print_bytes_hex(&rec->election_hash);
    printf("\ncreated        at height %" PRIu64 " by ", rec->created_height);
    print_bytes_hex(&rec->creator);
    printf("\n");
    for (size_t i = 0; i < d->n_questions; i++) {
        print_question(d->questions[i], i);
        for (size_t k = 0; k < d->questions[i]->n_options; k++)
            printf("  option %-4zu  %s\n", k + 1, clean(d->questions[i]->options[k], buf, sizeof buf));
    }
    print_window(d);
    printf("revoting       %s\n", d->revoting_allowed ? "allowed (the last ballot counts)" : "no");
    printf("trustees       %zu, threshold %" PRIu32 "\n", d->n_trustees, d->threshold);
    if (d->ceremony_end_height)
        printf("ceremony end   height %" PRIu64 "\n", d->ceremony_end_height);
    if (d->complaint_end_height)
        printf("complaints end height %" PRIu64 " (after it the election may open before every trustee's check)\n",
               d->complaint_end_height);
    printf("ceremony rules version %" PRIu32 "%s\n", d->ceremony_version,
           d->ceremony_version >= 1 ? " (each encrypted share proves its dealer's ephemeral key; the election opens "
                                      "once every trustee confirmed its shares)"
                                    : " (shares without proofs of their keys: a complaint can be made to reveal "
                                      "another dealer's share; create elections with a newer evote)");
    print_roll_deadline(d);
    for (size_t j = 1; j <= d->n_trustees; j++) {
        uint8_t key[KEY_EJ_LEN], *v = NULL;
        size_t vlen = 0;
        int has_ek = 0, has_d = 0, dq = 0;
        key_ej(key, ELECTION_KEY_ENCRYPTION, rec->election_hash.data, (uint32_t)j);
        if (fetch_state(&o, key, sizeof key, &v, &vlen, &has_ek) != 0)
            has_ek = -1;
        free(v);
        v = NULL;
        key_ej(key, ELECTION_KEY_DEALING, rec->election_hash.data, (uint32_t)j);
        if (has_ek >= 0 && fetch_state(&o, key, sizeof key, &v, &vlen, &has_d) != 0)
            has_d = -1;
        if (has_d == 1 && vlen >= 1 && v[0] == ELECTION_DEALING_DISQUALIFIED)
            dq = 1;
        free(v);
        printf("  trustee %-4zu ", j);
        print_bytes_hex(&d->trustees[j - 1]);
        printf("  %s\n", has_ek < 0 || has_d < 0 ? "?"
                         : dq                    ? "disqualified by a complaint"
                         : has_d                 ? "dealt"
                         : has_ek                ? "encryption key posted, not dealt yet"
                                                 : "nothing posted yet");
    }
    if (rec->election_key.len) {
        printf("election key   ");
        print_bytes_hex(&rec->election_key);
        printf("\n               derived at height %" PRIu64 " from %zu qualified dealer%s\n", rec->key_height,
               rec->n_qualified, rec->n_qualified == 1 ? "" : "s");
        print_vouchers(g, resp);
    } else {
        printf("election key   not yet: the key ceremony is running ('evote election open' ends it)\n");
    }
    printf("voters         %" PRIu64 " registered\n", rec->voters_registered);
    if (resp->election_tally != NULL)
        printf("ballots        %" PRIu64 " counted (%" PRIu64 " accepted, replaced ones included)\n",
               resp->election_tally->ballots_counted, resp->election_tally->ballots_accepted);
    if (rec->closed)
        printf("closed         by its creator at height %" PRIu64 "\n", rec->closed_height);
    evote__v1__api_response__free_unpacked(resp, NULL);
    genesis_destroy(&g);
    return 0;
}

/* ============================================================ election */

static const char election_help[] =
    "usage: evote election create|open|close|show ...\n"
    "\n"
    "  create   define an election (an authority)\n"
    "  open     end the key ceremony: derive the election key (an authority)\n"
    "  close    close the polls now (an authority)\n"
    "  show ID  print the election as the chain records it\n"
    "\n"
    "'evote election <sub> --help' describes each.\n";

int cmd_election(int argc, char **argv)
{
    if (argc < 2) {
        fputs(election_help, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(election_help, stdout);
        return 0;
    }
    if (cli_wants_help(argc - 1, argv + 1)) {
        const char *h = strcmp(argv[1], "create") == 0                                 ? create_help
                        : strcmp(argv[1], "open") == 0 || strcmp(argv[1], "close") == 0 ? control_help
                        : strcmp(argv[1], "show") == 0                                   ? show_help
                                                                                         : election_help;
        fputs(h, stdout);
        return 0;
    }
    if (strcmp(argv[1], "create") == 0)
        return election_create(argc - 1, argv + 1);
    if (strcmp(argv[1], "open") == 0)
        return election_control(argc - 1, argv + 1, 1);
    if (strcmp(argv[1], "close") == 0)
        return election_control(argc - 1, argv + 1, 0);
    if (strcmp(argv[1], "show") == 0)
        return election_show(argc - 1, argv + 1);
    fprintf(stderr, "evote election: unknown subcommand '%s'\n\n", argv[1]);
    fputs(election_help, stderr);
    return EXIT_USAGE;
}

/* ============================================================ register */

/* Reads a voter file: one 64-hex-digit public key per line; blank lines and
 * lines starting with '#' are skipped. Out: *keys (malloc'ed), *n.
 * Returns: 0, or EXIT_FAILED after naming the file and line. */
int cli_read_voter_file(const char *cmd, const char *path, uint8_t (**keys)[CRYPTO_PUBKEY_LEN], size_t *n)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    uint8_t(*v)[CRYPTO_PUBKEY_LEN] = NULL;
    size_t count = 0, cap = 0, linecap = 0;
    char *line = NULL;
    unsigned long lineno = 0;
    ssize_t got;
    int rc = 0;

    *keys = NULL;
    *n = 0;
    if (f == NULL) {
        fprintf(stderr, "evote %s: cannot open %s: %s\n", cmd, path, strerror(errno));
        return EXIT_FAILED;
    }
    while ((got = getline(&line, &linecap, f)) != -1) {
        char *a = line, *b = line + got;
        lineno++;
        while (b > a && (b[-1] == '\n' || b[-1] == '\r' || b[-1] == ' ' || b[-1] == '\t'))
            b--;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        *b = '\0';
        if (a == b || *a == '#')
            continue;
        if (count == cap) {
            size_t ncap = cap ? 2 * cap : 1024;
            void *grown = realloc(v, ncap * sizeof *v);
            if (grown == NULL) {
                fprintf(stderr, "evote %s: out of memory reading %s\n", cmd, path);
                rc = EXIT_FAILED;
                break;
            }
            v = grown;
            cap = ncap;
        }
        if ((size_t)(b - a) != 2 * CRYPTO_PUBKEY_LEN || crypto_unhex(a, v[count], CRYPTO_PUBKEY_LEN) != CRYPTO_OK ||
            !crypto_pubkey_valid(v[count])) {
            fprintf(stderr,
                    "evote %s: %s line %lu is not a voter public key: expected 64 hex digits (as printed by "
                    "'evote keygen'), one per line\n",
                    cmd, path, lineno);
            rc = EXIT_FAILED;
            break;
        }
        count++;
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "evote %s: cannot read %s: %s\n", cmd, path, strerror(errno));
        rc = EXIT_FAILED;
    }
    if (rc == 0 && count == 0) {
        fprintf(stderr, "evote %s: %s holds no voter key\n", cmd, path);
        rc = EXIT_FAILED;
    }
    free(line);
    if (f != stdin)
        fclose(f);
    if (rc != 0) {
        free(v);
        return rc;
    }
    *keys = v;
    *n = count;
    return 0;
}

static const char register_help[] =
    "usage: evote register (or: evote voter register) --key AUTHORITY.key --genesis G\n"
    "                      --id ID --voters FILE\n"
    "                      [--batch N] [--no-precheck] [--wait MS] [--node EP] [--timeout MS]\n"
    "\n"
    "Puts voters on an election's roll: FILE holds one voter public key per line\n"
    "(64 hex digits, 'evote keygen' prints it; blank lines and '#' comments are\n"
    "skipped; '-' reads standard input). Keys go in transactions of up to --batch\n"
    "(default and most 10000) keys, signed by an authority; prints one\n"
    "transaction id per batch. A key already on the roll is skipped, so running\n"
    "the same file again does no harm. Registration is possible until the polls\n"
    "open, or until the deadline the election's definition sets instead\n"
    "('evote election show ID' prints it; later: TX_RESULT_ROLL_CLOSED). Past\n"
    "it (the node's height and state, or this computer's clock a minute past a\n"
    "time) nothing is submitted.\n"
    "\n"
    "  --no-precheck  submit even past the deadline (the chain then records the refusal)\n"
    "  --key K        an authority's secret key file\n" SIGNER_HELP;

/* Past the election's registration deadline, or with the polls open when
 * its definition freezes the roll then, says so. Returns: 1 when the roll
 * is frozen for the next block as far as the node (its height and state) or
 * this computer's clock (a minute past a time) can tell; 0 otherwise,
 * also when the node does not know the election (the chain decides). */
static int roll_frozen(const node_opts *o, const char *id)
{
    Evote__V1__ApiResponse *resp = NULL, *st = NULL;
    const Evote__V1__ElectionCreate *d;
    int frozen = 0;

    if (ask_election(o, id, &resp) != 0)
        return 0; /* said why; the submission will say more */
    if (resp->status != EVOTE__V1__API_STATUS__API_STATUS_OK || resp->election == NULL ||
        resp->election->definition == NULL)
        goto out;
    d = resp->election->definition;
    if (d->registration_end_height != 0 && ask_node_status(o, 1, &st) == 0 &&
        st->node->height >= d->registration_end_height) {
        fprintf(stderr, "evote %s: the roll of election '%s' is frozen after height %" PRIu64 " and %s is at height %" PRIu64
                        ": the chain would refuse these registrations (TX_RESULT_ROLL_CLOSED); nothing submitted\n",
                o->cmd, id, d->registration_end_height, o->node, st->node->height);
        frozen = 1;
    } else if (d->registration_end_time_ms != 0 && wall_clock_ms() > d->registration_end_time_ms + 60000) {
        char t[64];
        format_time(d->registration_end_time_ms, t, sizeof t);
        fprintf(stderr, "evote %s: the roll of election '%s' was frozen at %s (block time), more than a minute ago "
                        "by this computer's clock: the chain would refuse these registrations "
                        "(TX_RESULT_ROLL_CLOSED); nothing submitted (--no-precheck submits anyway)\n",
                o->cmd, id, t);
        frozen = 1;
    } else if (d->roll_frozen_at_opening && resp->election->election_key.len != 0 &&
               opening_reached(o, d, 60000, &st)) {
        fprintf(stderr, "evote %s: the polls of election '%s' are open, and its roll was frozen when they opened: "
                        "the chain would refuse these registrations (TX_RESULT_ROLL_CLOSED); nothing submitted "
                        "(a roll that stays open while votes are cast is chosen at 'evote election create', "
                        "with --registration-until-close)\n",
                o->cmd, id);
        frozen = 1;
    }
out:
    if (st != NULL)
        evote__v1__api_response__free_unpacked(st, NULL);
    evote__v1__api_response__free_unpacked(resp, NULL);
    return frozen;
}

int cmd_register(int argc, char **argv)
{
    static const struct option opts[] = {SIGNER_OPTIONS,
                                         {"voters", required_argument, NULL, O_VOTERS},
                                         {"batch", required_argument, NULL, O_BATCH},
                                         {"no-precheck", no_argument, NULL, O_NO_PRECHECK},
                                         {0, 0, 0, 0}};
    int precheck = 1;
    uint8_t(*keys)[CRYPTO_PUBKEY_LEN] = NULL;
    ProtobufCBinaryData *items = NULL;
    const char *voters = NULL;
    uint64_t batch = LEDGER_MAX_REGISTRATIONS;
    size_t n = 0, done = 0, txs = 0;
    tx_answer ans;
    signer s;
    int c, rc;

    if (cli_wants_help(argc, argv)) {
        fputs(register_help, stdout);
        return 0;
    }
    signer_init(&s, "register");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == O_VOTERS)
            voters = optarg;
        else if (c == O_NO_PRECHECK)
            precheck = 0;
        else if (c == O_BATCH) {
            if (!parse_u64(s.o.cmd, "--batch", optarg, 1, LEDGER_MAX_REGISTRATIONS, &batch))
                return EXIT_USAGE;
        } else if ((rc = signer_opt(&s, c, optarg)) != 1)
            return rc < 0 ? EXIT_USAGE : usage_error(register_help);
    }
    if (!operands_ok(s.o.cmd, argc, argv, 0, "", register_help))
        return EXIT_USAGE;
    if (voters == NULL)
        return missing_option(s.o.cmd, "--voters FILE", register_help);
    rc = signer_load(&s, register_help);
    if (rc == 0)
        rc = cli_read_voter_file(s.o.cmd, voters, &keys, &n);
    if (rc == 0 && precheck && roll_frozen(&s.o, s.id))
        rc = EXIT_FAILED;
    if (rc == 0) {
        warn_not_authority(&s);
        items = calloc(batch, sizeof *items);
        if (items == NULL) {
            fprintf(stderr, "evote %s: out of memory\n", s.o.cmd);
            rc = EXIT_FAILED;
        }
    }
    while (rc == 0 && done < n) {
        Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__VoterRegistration reg = EVOTE__V1__VOTER_REGISTRATION__INIT;
        size_t k = n - done < batch ? n - done : batch;
        for (size_t i = 0; i < k; i++)
            items[i] = (ProtobufCBinaryData){CRYPTO_PUBKEY_LEN, keys[done + i]};
        reg.election_id.data = (uint8_t *)s.id;
        reg.election_id.len = strlen(s.id);
        reg.voter_keys = items;
        reg.n_voter_keys = k;
        body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_VOTER_REGISTRATION;
        body.voter_registration = &reg;
        rc = seal_submit(&s, &body, NULL, &ans);
        if (rc != 0 && ans.state == EVOTE__V1__TX_STATE__TX_STATE_COMMITTED)
            fprintf(stderr, "evote %s: stopped after %zu of %zu voters (%zu transactions): the chain refused the "
                            "next batch\n",
                    s.o.cmd, done, n, txs);
        else if (rc != 0)
            fprintf(stderr,
                    "evote %s: stopped after %zu of %zu voters (%zu transactions); registering is idempotent: "
                    "run the same command again\n",
                    s.o.cmd, done, n, txs);
        done += k;
        txs++;
    }
    if (rc == 0)
        fprintf(stderr, "evote %s: %zu voter key%s in %zu transaction%s%s\n", s.o.cmd, n, n == 1 ? "" : "s", txs,
                txs == 1 ? "" : "s", s.wait_ms ? ", committed" : " submitted");
    free(items);
    free(keys);
    signer_free(&s);
    return rc;
}

/* ============================================================= trustee */

/* The trustee's directory: mode 0700, files 0600, each one line of hex:
 *   trustee    "evote-trustee-v1 <E hex> <j>": which election and index
 *   ek         the share-encryption secret (init)
 *   share-<i>  s_ij, the share dealer i gave (its own, i = j, from deal)
 *   x          x_j, the key share (check, decrypt) */
typedef struct {
    signer s;
    const char *dir;
    Evote__V1__ApiResponse *resp; /* GetElection */
    const Evote__V1__ElectionRecord *rec;
    uint32_t j, n, t;
} trustee;

static char *dir_file(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

/* Writes one line to DIR/name, mode 0600, atomically (a temporary file,
 * fsync, rename). Returns: 1, or 0 after saying why. */
static int write_secret(const char *cmd, const char *dir, const char *name, const char *line)
{
    char *path = dir_file(dir, name), *tmp = NULL;
    int fd = -1, ok = 0;
    size_t len = strlen(line);

    if (path == NULL || asprintf(&tmp, "%s.tmp", path) < 0) {
        fprintf(stderr, "evote %s: out of memory\n", cmd);
        free(path);
        return 0;
    }
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, line, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0)
        fprintf(stderr, "evote %s: cannot write %s: %s\n", cmd, tmp, strerror(errno));
    else if (close(fd) != 0 || (fd = -1, rename(tmp, path) != 0))
        fprintf(stderr, "evote %s: cannot write %s: %s\n", cmd, path, strerror(errno));
    else
        ok = 1;
    if (fd >= 0)
        close(fd);
    if (!ok)
        unlink(tmp);
    free(path);
    free(tmp);
    return ok;
}

/* Reads DIR/name (one line, mode 0600). Returns: 1 with line (NUL-ended,
 * newline removed), 0 when absent, -1 after saying what is wrong. */
static int read_secret(const char *cmd, const char *dir, const char *name, char *line, size_t size)
{
    char *path = dir_file(dir, name);
    struct stat st;
    FILE *f;
    int rc = -1;

    if (path == NULL)
        return -1;
    f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT)
            rc = 0;
        else
            fprintf(stderr, "evote %s: cannot read %s: %s\n", cmd, path, strerror(errno));
        free(path);
        return rc;
    }
    if (fstat(fileno(f), &st) != 0 || (st.st_mode & 077) != 0)
        fprintf(stderr, "evote %s: %s can be read by others than its owner: chmod 600 it (and think about "
                        "who may have read it)\n",
                cmd, path);
    else if (fgets(line, (int)size, f) == NULL)
        fprintf(stderr, "evote %s: %s is empty\n", cmd, path);
    else {
        line[strcspn(line, "\r\n")] = '\0';
        rc = 1;
    }
    fclose(f);
    free(path);
    return rc;
}

/* A scalar kept in DIR/name. Returns: 1, 0 absent, -1 after saying why. */
static int read_scalar(const char *cmd, const char *dir, const char *name, ec_scalar *out)
{
    char line[128];
    uint8_t b[EC_SCALAR_LEN];
    int r = read_secret(cmd, dir, name, line, sizeof line);
    if (r != 1)
        return r;
    if (strlen(line) != 2 * EC_SCALAR_LEN || crypto_unhex(line, b, sizeof b) != CRYPTO_OK ||
        ec_scalar_parse(out, b) != BC_OK) {
        fprintf(stderr, "evote %s: %s/%s is damaged: not a scalar in hex\n", cmd, dir, name);
        crypto_wipe(line, sizeof line);
        crypto_wipe(b, sizeof b);
        return -1;
    }
    crypto_wipe(line, sizeof line);
    crypto_wipe(b, sizeof b);
    return 1;
}

static int write_scalar(const char *cmd, const char *dir, const char *name, const ec_scalar *s)
{
    char hex[2 * EC_SCALAR_LEN + 1];
    int ok;
    crypto_hex(s->b, EC_SCALAR_LEN, hex);
    ok = write_secret(cmd, dir, name, hex);
    crypto_wipe(hex, sizeof hex);
    return ok;
}

static const char trustee_help[] =
    "usage: evote trustee init|deal|check|decrypt --key TRUSTEE.key --genesis G --id ID\n"
    "                     --dir DIR [--wait MS] [--node EP] [--timeout MS]\n"
    "\n"
    "The key ceremony and the decryption of the tally, for trustee j (the\n"
    "position of its key in the election's --trustees). The trustee's secrets\n"
    "stay in DIR (created mode 0700; files mode 0600; never printed): keep DIR\n"
    "and back it up until the result is recorded.\n"
    "\n"
    "  init     draw the share-encryption key pair and publish its public half\n"
    "           (TrusteeDealing round 1). Every trustee does this first.\n"
    "  deal     once every trustee's encryption key is on chain: draw a secret\n"
    "           polynomial, publish its commitments, a proof of knowledge and\n"
    "           each other trustee's share encrypted to that trustee (round 2)\n"
    "  check    once the others have dealt: decrypt and check each share this\n"
    "           trustee received; a bad share gets a TrusteeComplaint, which\n"
    "           disqualifies its dealer, and the good ones are confirmed on\n"
    "           chain (the election opens once every trustee has confirmed\n"
    "           them). Stores the key share x_j in DIR. Then an authority runs\n"
    "           'evote election open'.\n"
    "  decrypt  after the polls closed: post a partial decryption of the tally\n"
    "           with its proofs; the chain records the result once t have.\n"
    "\n"
    "  --key K        the trustee's secret key file\n"
    "  --dir DIR      the trustee's secret directory for this election\n" SIGNER_HELP;

/* Parses the options, loads the key and genesis, fetches the election and
 * finds this trustee's index. Returns: 0, or an exit code. */
static int trustee_load(trustee *tr, int argc, char **argv, const char *cmd)
{
    static const struct option opts[] = {SIGNER_OPTIONS, {"dir", required_argument, NULL, O_DIR}, {0, 0, 0, 0}};
    const Evote__V1__ElectionCreate *d;
    int c, rc;

    memset(tr, 0, sizeof *tr);
    signer_init(&tr->s, cmd);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == O_DIR)
            tr->dir = optarg;
        else if ((rc = signer_opt(&tr->s, c, optarg)) != 1)
            return rc < 0 ? EXIT_USAGE : usage_error(trustee_help);
    }
    if (!operands_ok(cmd, argc, argv, 0, "", trustee_help))
        return EXIT_USAGE;
    if (tr->dir == NULL)
        return missing_option(cmd, "--dir DIR", trustee_help);
    rc = signer_load(&tr->s, trustee_help);
    if (rc != 0)
        return rc;
    rc = fetch_election(&tr->s.o, tr->s.id, &tr->resp);
    if (rc != 0)
        return rc;
    tr->rec = tr->resp->election;
    if (!same_chain(cmd, tr->rec, tr->s.e))
        return EXIT_FAILED;
    d = tr->rec->definition;
    tr->n = (uint32_t)d->n_trustees;
    tr->t = d->threshold;
    for (size_t i = 0; i < d->n_trustees; i++)
        if (d->trustees[i].len == CRYPTO_PUBKEY_LEN && memcmp(d->trustees[i].data, tr->s.pub, CRYPTO_PUBKEY_LEN) == 0)
            tr->j = (uint32_t)i + 1;
    if (tr->j == 0) {
        fprintf(stderr,
                "evote %s: the key in %s is not a trustee of election '%s' ('evote election show %s' lists "
                "the trustees)\n",
                cmd, tr->s.key_path, tr->s.id, tr->s.id);
        return EXIT_FAILED;
    }
    if (tr->t == 0 || tr->t > tr->n || tr->n > DKG_MAX_TRUSTEES) {
        fprintf(stderr, "evote %s: the election's threshold %" PRIu32 " of %" PRIu32 " trustees is unusable\n", cmd,
                tr->t, tr->n);
        return EXIT_FAILED;
    }
    return 0;
}

/* Creates DIR (0700) if needed, checks its mode, and binds it to this
 * election and trustee (the "trustee" file). Returns: 1, or 0 after saying
 * why. */
static int trustee_dir(trustee *tr, int create)
{
    char want[2 * ELECTION_HASH_LEN + 64], have[256], hex[2 * ELECTION_HASH_LEN + 1];
    struct stat st;
    int r;

    if (create && mkdir(tr->dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "evote %s: cannot create %s: %s\n", tr->s.o.cmd, tr->dir, strerror(errno));
        return 0;
    }
    if (stat(tr->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "evote %s: %s is not a directory%s\n", tr->s.o.cmd, tr->dir,
                create ? "" : ": run 'evote trustee init' with this --dir first");
        return 0;
    }
    if ((st.st_mode & 077) != 0) {
        fprintf(stderr, "evote %s: %s can be read by others than its owner: chmod 700 it\n", tr->s.o.cmd, tr->dir);
        return 0;
    }
    crypto_hex(tr->s.e, ELECTION_HASH_LEN, hex);
    snprintf(want, sizeof want, "evote-trustee-v1 %s %" PRIu32, hex, tr->j);
    r = read_secret(tr->s.o.cmd, tr->dir, "trustee", have, sizeof have);
    if (r < 0)
        return 0;
    if (r == 0) {
        if (!create) {
            fprintf(stderr, "evote %s: %s is not a trustee directory: run 'evote trustee init' with it first\n",
                    tr->s.o.cmd, tr->dir);
            return 0;
        }
        return write_secret(tr->s.o.cmd, tr->dir, "trustee", want);
    }
    if (strcmp(have, want) != 0) {
        fprintf(stderr,
                "evote %s: %s belongs to another election or trustee (its 'trustee' file says so): use one "
                "directory per election and trustee\n",
                tr->s.o.cmd, tr->dir);
        return 0;
    }
    return 1;
}

static void trustee_free(trustee *tr)
{
    if (tr->resp != NULL)
        evote__v1__api_response__free_unpacked(tr->resp, NULL);
    signer_free(&tr->s);
}

/* Reads EK_i from the chain. Returns: 0 with *found, or an exit code. */
static int fetch_ek(trustee *tr, uint32_t i, uint8_t ek[EC_POINT_LEN], int *found)
{
    uint8_t key[KEY_EJ_LEN], *v = NULL;
    size_t len = 0;
    int rc;
    key_ej(key, ELECTION_KEY_ENCRYPTION, tr->s.e, i);
    rc = fetch_state(&tr->s.o, key, sizeof key, &v, &len, found);
    if (rc == 0 && *found) {
        if (len != EC_POINT_LEN) {
            fprintf(stderr, "evote %s: the node's encryption key of trustee %" PRIu32 " is %zu bytes, not 33: the "
                            "node is faulty\n",
                    tr->s.o.cmd, i, len);
            rc = EXIT_FAILED;
        } else {
            memcpy(ek, v, EC_POINT_LEN);
        }
    }
    free(v);
    return rc;
}

/* Dealer i's stored dealing. Out: *v (malloc'ed) and *len, *found.
 * Checks its length: 1 + t·33 + n·97. Returns: 0 or an exit code. */
static int fetch_dealing(trustee *tr, uint32_t i, uint8_t **v, size_t *len, int *found)
{
    uint8_t key[KEY_EJ_LEN];
    int rc;
    key_ej(key, ELECTION_KEY_DEALING, tr->s.e, i);
    rc = fetch_state(&tr->s.o, key, sizeof key, v, len, found);
    if (rc == 0 && *found && *len != 1 + (size_t)tr->t * EC_POINT_LEN + (size_t)tr->n * DKG_SHARE_LEN) {
        fprintf(stderr, "evote %s: the node's dealing of trustee %" PRIu32 " has the wrong length: the node is "
                        "faulty or of another version\n",
                tr->s.o.cmd, i);
        free(*v);
        *v = NULL;
        rc = EXIT_FAILED;
    }
    return rc;
}

/* A committed transaction the chain names by id: fetched from its block
 * (certificate checked), its signature checked. Returns: 0 with *tx
 * (ledger_tx_destroy), or an exit code after saying why. */
static int fetch_signed(trustee *tr, const uint8_t id[CRYPTO_HASH_LEN], const char *what, ledger_tx **tx)
{
    tx_answer ans;
    tx_proof pf;

    *tx = NULL;
    if (ask_tx(&tr->s.o, id, 0, &ans) != 0)
        return EXIT_FAILED;
    if (ans.state != EVOTE__V1__TX_STATE__TX_STATE_COMMITTED) {
        fprintf(stderr, "evote %s: the node (%s) does not have %s committed: it is faulty; ask another validator "
                        "(--node)\n",
                tr->s.o.cmd, tr->s.o.node, what);
        return EXIT_FAILED;
    }
    prove_tx_keep(&tr->s.o, tr->s.g, ans.height, ans.index, id, NULL, &pf, tx);
    if (!pf.included || *tx == NULL) {
        fprintf(stderr, "evote %s: the block the node names for %s does not prove it: %s\n", tr->s.o.cmd, what, pf.why);
        ledger_tx_destroy(tx);
        return EXIT_FAILED;
    }
    return 0;
}

/* Ceremony rules 1, before dealing: every share is encrypted to the key its
 * trustee signed, under the definition an authority of the genesis signed.
 * A faulty node serving its own keys (and a definition naming its own
 * trustees) would otherwise read the shares. Returns: 0, or an exit code
 * after saying why (nothing dealt). */
static int keys_are_signed(trustee *tr, uint8_t (*eks)[EC_POINT_LEN])
{
    const Evote__V1__ElectionCreate *d = tr->rec->definition;
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__GetBlock get = EVOTE__V1__GET_BLOCK__INIT;
    Evote__V1__ApiResponse *resp = NULL;
    Evote__V1__Batch *b = NULL;
    int rc = EXIT_FAILED, defined = 0;

    /* The definition: an ElectionCreate for this id in the block the
     * record names, signed by an authority of the genesis, same trustees. */
    get.height = tr->rec->created_height;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_BLOCK;
    req.get_block = &get;
    if (node_call(&tr->s.o, &req, 0, &resp) != 0)
        return EXIT_FAILED;
    if (resp->status == EVOTE__V1__API_STATUS__API_STATUS_OK && resp->block != NULL)
        b = evote__v1__batch__unpack(NULL, resp->block->batch.len, resp->block->batch.data);
    for (size_t k = 0; b != NULL && k < b->n_txs && !defined; k++) {
        ledger_tx *t = NULL;
        const Evote__V1__ElectionCreate *c;
        if (ledger_tx_decode(b->txs[k].data, b->txs[k].len, tr->s.g->chain_id, &t, NULL) != LEDGER_OK)
            continue;
        c = t->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_ELECTION_CREATE ? t->body->election_create : NULL;
        if (c != NULL && genesis_is_authority(tr->s.g, t->envelope->signer.data) &&
            c->election_id.len == strlen(tr->s.id) && memcmp(c->election_id.data, tr->s.id, c->election_id.len) == 0 &&
            c->n_trustees == d->n_trustees) {
            defined = 1;
            for (size_t j = 0; j < c->n_trustees; j++)
                defined &= c->trustees[j].len == CRYPTO_PUBKEY_LEN && d->trustees[j].len == CRYPTO_PUBKEY_LEN &&
                           memcmp(c->trustees[j].data, d->trustees[j].data, CRYPTO_PUBKEY_LEN) == 0;
        }
        ledger_tx_destroy(&t);
    }
    if (b != NULL)
        evote__v1__batch__free_unpacked(b, NULL);
    evote__v1__api_response__free_unpacked(resp, NULL);
    if (!defined) {
        fprintf(stderr, "evote %s: the node (%s) serves a definition of election '%s' that no authority of the genesis "
                        "signed in the block it names (height %" PRIu64 "): it is faulty; nothing dealt. Ask another "
                        "validator (--node)\n",
                tr->s.o.cmd, tr->s.o.node, tr->s.id, tr->rec->created_height);
        return EXIT_FAILED;
    }
    for (uint32_t j = 1; j <= tr->n; j++) {
        uint8_t key[KEY_EJ_LEN], *id = NULL;
        size_t idlen = 0;
        int found = 0, ok;
        ledger_tx *t = NULL;
        char what[64];

        if (j == tr->j)
            continue;
        key_ej(key, ELECTION_KEY_EK_TX, tr->s.e, j);
        if (fetch_state(&tr->s.o, key, sizeof key, &id, &idlen, &found) != 0)
            return EXIT_FAILED;
        snprintf(what, sizeof what, "trustee %" PRIu32 "'s encryption key", j);
        if (!found || idlen != CRYPTO_HASH_LEN) {
            free(id);
            fprintf(stderr, "evote %s: the node (%s) does not say which transaction holds %s: it is faulty or of "
                            "another version; nothing dealt\n",
                    tr->s.o.cmd, tr->s.o.node, what);
            return EXIT_FAILED;
        }
        rc = fetch_signed(tr, id, what, &t);
        free(id);
        if (rc != 0)
            return rc;
        ok = memcmp(t->envelope->signer.data, d->trustees[j - 1].data, CRYPTO_PUBKEY_LEN) == 0 &&
             t->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING &&
             t->body->trustee_dealing->encryption_key.len == EC_POINT_LEN &&
             memcmp(t->body->trustee_dealing->encryption_key.data, eks[j - 1], EC_POINT_LEN) == 0 &&
             t->body->trustee_dealing->election_id.len == strlen(tr->s.id) &&
             memcmp(t->body->trustee_dealing->election_id.data, tr->s.id, strlen(tr->s.id)) == 0;
        ledger_tx_destroy(&t);
        if (!ok) {
            fprintf(stderr, "evote %s: the node (%s) serves an encryption key for trustee %" PRIu32 " that trustee "
                            "did not sign: it is faulty; nothing dealt. Ask another validator (--node)\n",
                    tr->s.o.cmd, tr->s.o.node, j);
            return EXIT_FAILED;
        }
    }
    return 0;
}

static int trustee_init(int argc, char **argv)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__TrusteeDealing td = EVOTE__V1__TRUSTEE_DEALING__INIT;
    uint8_t ek_pub[EC_POINT_LEN], on_chain[EC_POINT_LEN];
    ec_scalar ek;
    trustee tr;
    int rc, r, found = 0;

    rc = trustee_load(&tr, argc, argv, "trustee init");
    if (rc != 0)
        goto out;
    rc = EXIT_FAILED;
    if (!trustee_dir(&tr, 1))
        goto out;
    r = read_scalar(tr.s.o.cmd, tr.dir, "ek", &ek);
    if (r < 0)
        goto out;
    if (r == 0) {
        if (dkg_encryption_keypair(&ek, ek_pub) != BC_OK || !write_scalar(tr.s.o.cmd, tr.dir, "ek", &ek)) {
            fprintf(stderr, "evote %s: cannot draw or store the encryption key\n", tr.s.o.cmd);
            goto out;
        }
    } else {
        ec_point p;
        ec_point_mul_base(&p, &ek);
        ec_point_encode(ek_pub, &p);
    }
    rc = fetch_ek(&tr, tr.j, on_chain, &found);
    if (rc != 0)
        goto out;
    if (found) {
        if (memcmp(on_chain, ek_pub, EC_POINT_LEN) == 0) {
            printf("trustee %" PRIu32 " of %" PRIu32 ": the encryption key in %s is already on chain: nothing to do\n",
                   tr.j, tr.n, tr.dir);
            rc = 0;
        } else {
            fprintf(stderr,
                    "evote %s: the chain holds another encryption key for trustee %" PRIu32 " than the one in %s: "
                    "use the directory that made it\n",
                    tr.s.o.cmd, tr.j, tr.dir);
            rc = EXIT_FAILED;
        }
        goto out;
    }
    td.election_id.data = (uint8_t *)tr.s.id;
    td.election_id.len = strlen(tr.s.id);
    td.encryption_key.data = ek_pub;
    td.encryption_key.len = EC_POINT_LEN;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING;
    body.trustee_dealing = &td;
    fprintf(stderr, "evote %s: trustee %" PRIu32 " of %" PRIu32 " publishes its encryption key\n", tr.s.o.cmd, tr.j,
            tr.n);
    rc = seal_submit(&tr.s, &body, NULL, NULL);
out:
    ec_scalar_wipe(&ek);
    trustee_free(&tr);
    return rc;
}

static int trustee_deal(int argc, char **argv)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__TrusteeDealing td = EVOTE__V1__TRUSTEE_DEALING__INIT;
    uint8_t(*eks)[EC_POINT_LEN] = NULL, (*shares)[DKG_SHARE_LEN] = NULL, *comm = NULL, pok[BC_PROOF_DLEQ_LEN];
    uint8_t(*share_poks)[DKG_SHARE_PROOF_LEN] = NULL;
    ProtobufCBinaryData *cb = NULL, *sb = NULL, *pb = NULL;
    int prove;
    dkg_dealer *dealer = NULL;
    uint8_t *v = NULL;
    size_t vlen;
    char own_name[32], line[128];
    ec_scalar own;
    trustee tr;
    int rc, found;

    memset(&own, 0, sizeof own);
    rc = trustee_load(&tr, argc, argv, "trustee deal");
    if (rc != 0)
        goto out;
    rc = EXIT_FAILED;
    if (!trustee_dir(&tr, 0))
        goto out;
    if (tr.rec->election_key.len != 0) {
        fprintf(stderr, "evote %s: the key ceremony is over (the election key exists): no more dealings\n",
                tr.s.o.cmd);
        goto out;
    }
    snprintf(own_name, sizeof own_name, "share-%" PRIu32, tr.j);
    if ((rc = fetch_dealing(&tr, tr.j, &v, &vlen, &found)) != 0)
        goto out;
    rc = EXIT_FAILED;
    if (found) {
        int r = read_secret(tr.s.o.cmd, tr.dir, own_name, line, sizeof line);
        crypto_wipe(line, sizeof line);
        if (r == 1) {
            printf("trustee %" PRIu32 ": its dealing is already on chain: nothing to do (next: evote trustee check)\n",
                   tr.j);
            rc = 0;
        } else if (r == 0) {
            fprintf(stderr, "evote %s: the chain holds a dealing of trustee %" PRIu32 " but %s has no %s: the "
                            "dealing was made with another directory\n",
                    tr.s.o.cmd, tr.j, tr.dir, own_name);
        }
        goto out;
    }
    {
        int r = read_secret(tr.s.o.cmd, tr.dir, own_name, line, sizeof line);
        crypto_wipe(line, sizeof line);
        if (r != 0) {
            if (r == 1)
                fprintf(stderr,
                        "evote %s: %s/%s exists but the chain has no dealing of trustee %" PRIu32 " yet: an earlier "
                        "dealing may still be on its way (wait a few seconds and run this again); if it was "
                        "refused ('evote tx ID'), remove %s/%s and deal again\n",
                        tr.s.o.cmd, tr.dir, own_name, tr.j, tr.dir, own_name);
            goto out;
        }
    }
    /* From ceremony version 1 on, each share proves its ephemeral key. */
    prove = tr.rec->definition->ceremony_version >= 1;
    eks = calloc(tr.n, sizeof *eks);
    shares = calloc(tr.n, sizeof *shares);
    share_poks = calloc(tr.n, sizeof *share_poks);
    comm = calloc(tr.t, EC_POINT_LEN);
    cb = calloc(tr.t, sizeof *cb);
    sb = calloc(tr.n, sizeof *sb);
    pb = calloc(tr.n, sizeof *pb);
    if (eks == NULL || shares == NULL || share_poks == NULL || comm == NULL || cb == NULL || sb == NULL ||
        pb == NULL) {
        fprintf(stderr, "evote %s: out of memory\n", tr.s.o.cmd);
        goto out;
    }
    for (uint32_t i = 1; i <= tr.n; i++) {
        if ((rc = fetch_ek(&tr, i, eks[i - 1], &found)) != 0)
            goto out;
        rc = EXIT_FAILED;
        if (!found) {
            char who[17];
            short_hex(tr.rec->definition->trustees[i - 1].data, tr.rec->definition->trustees[i - 1].len, who);
            fprintf(stderr,
                    "evote %s: trustee %" PRIu32 " (%s...) has not published its encryption key yet: dealing "
                    "needs every trustee's; wait for its 'evote trustee init' and run this again\n",
                    tr.s.o.cmd, i, who);
            goto out;
        }
    }
    if (prove && (rc = keys_are_signed(&tr, eks)) != 0)
        goto out;
    rc = EXIT_FAILED;
    if (dkg_dealer_new(&dealer, tr.s.e, tr.n, tr.t, tr.j) != BC_OK ||
        dkg_dealer_commitments(dealer, comm, pok) != BC_OK || dkg_dealer_share(dealer, tr.j, &own) != BC_OK) {
        fprintf(stderr, "evote %s: cannot draw the polynomial (random source?)\n", tr.s.o.cmd);
        goto out;
    }
    for (uint32_t m = 0; m < tr.t; m++)
        cb[m] = (ProtobufCBinaryData){EC_POINT_LEN, comm + (size_t)m * EC_POINT_LEN};
    for (uint32_t i = 1; i <= tr.n; i++) {
        if (i == tr.j) {
            sb[i - 1] = (ProtobufCBinaryData){0, NULL};
            pb[i - 1] = (ProtobufCBinaryData){0, NULL};
            continue;
        }
        if (dkg_dealer_encrypt_share(dealer, i, eks[i - 1], shares[i - 1], prove ? share_poks[i - 1] : NULL) !=
            BC_OK) {
            fprintf(stderr,
                    "evote %s: cannot encrypt the share of trustee %" PRIu32 ": its encryption key on chain is "
                    "unusable\n",
                    tr.s.o.cmd, i);
            goto out;
        }
        sb[i - 1] = (ProtobufCBinaryData){DKG_SHARE_LEN, shares[i - 1]};
        pb[i - 1] = (ProtobufCBinaryData){DKG_SHARE_PROOF_LEN, share_poks[i - 1]};
    }
    /* The own share is kept before anything leaves: the polynomial does not survive this command. */
    if (!write_scalar(tr.s.o.cmd, tr.dir, own_name, &own))
        goto out;
    td.election_id.data = (uint8_t *)tr.s.id;
    td.election_id.len = strlen(tr.s.id);
    td.commitments = cb;
    td.n_commitments = tr.t;
    td.encrypted_shares = sb;
    td.n_encrypted_shares = tr.n;
    td.proof.data = pok;
    td.proof.len = sizeof pok;
    if (prove) {
        td.share_proofs = pb;
        td.n_share_proofs = tr.n;
    }
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING;
    body.trustee_dealing = &td;
    fprintf(stderr, "evote %s: trustee %" PRIu32 " deals: %" PRIu32 " commitments, %" PRIu32 " encrypted shares\n",
            tr.s.o.cmd, tr.j, tr.t, tr.n - 1);
    rc = seal_submit(&tr.s, &body, NULL, NULL);
out:
    dkg_dealer_destroy(&dealer);
    ec_scalar_wipe(&own);
    free(v);
    free(eks);
    free(shares);
    free(share_poks);
    free(comm);
    free(cb);
    free(sb);
    free(pb);
    trustee_free(&tr);
    return rc;
}

/* Sums the shares of the given dealers (from DIR/share-<i>) into x. Returns:
 * 1, 0 when a share file is missing (named in *missing), -1 after saying why. */
static int sum_shares(trustee *tr, const uint32_t *dealers, size_t count, ec_scalar *x, uint32_t *missing)
{
    ec_scalar *s = calloc(count ? count : 1, sizeof *s);
    int ok = 1;
    if (s == NULL)
        return -1;
    for (size_t k = 0; k < count && ok == 1; k++) {
        char name[32];
        int r;
        snprintf(name, sizeof name, "share-%" PRIu32, dealers[k]);
        r = read_scalar(tr->s.o.cmd, tr->dir, name, &s[k]);
        if (r == 0) {
            *missing = dealers[k];
            ok = 0;
        } else if (r < 0) {
            ok = -1;
        }
    }
    if (ok == 1)
        dkg_secret_share(x, s, count);
    for (size_t k = 0; k < count; k++)
        ec_scalar_wipe(&s[k]);
    free(s);
    return ok;
}

/* Ceremony rules 1: dealer i's dealing as dealer i signed it, fetched from
 * its block (the chain records where: (X, E, i)), must be what the node's
 * state served in v (status || t commitments || n shares): else a faulty
 * node could serve an honest dealer's true share with commitments of its
 * own, this trustee would complain, and the complaint, refuted on chain,
 * would still reveal that share to everyone. Also checks the proof of the
 * share's ephemeral key. Returns: 0, or an exit code after saying why. */
static int dealing_is_signed(trustee *tr, uint32_t i, const uint8_t *v)
{
    uint8_t key[KEY_EJ_LEN], *id = NULL;
    size_t idlen = 0;
    int found = 0, rc;
    ledger_tx *tx = NULL;
    const Evote__V1__TrusteeDealing *d;
    const char *why = NULL;
    char what[64];

    key_ej(key, ELECTION_KEY_DEALING_TX, tr->s.e, i);
    if ((rc = fetch_state(&tr->s.o, key, sizeof key, &id, &idlen, &found)) != 0)
        return rc;
    rc = EXIT_FAILED;
    if (!found || idlen != CRYPTO_HASH_LEN) {
        why = "does not say which transaction holds the dealing";
        goto out;
    }
    snprintf(what, sizeof what, "dealer %" PRIu32 "'s dealing", i);
    if (fetch_signed(tr, id, what, &tx) != 0)
        goto out_quiet;
    d = tx->body->payload_case == EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING ? tx->body->trustee_dealing : NULL;
    if (memcmp(tx->envelope->signer.data, tr->rec->definition->trustees[i - 1].data, CRYPTO_PUBKEY_LEN) != 0 ||
        d == NULL || d->election_id.len != strlen(tr->s.id) ||
        memcmp(d->election_id.data, tr->s.id, d->election_id.len) != 0 || d->n_commitments != tr->t ||
        d->n_encrypted_shares != tr->n || d->n_share_proofs != tr->n ||
        d->encrypted_shares[tr->j - 1].len != DKG_SHARE_LEN || d->share_proofs[tr->j - 1].len != DKG_SHARE_PROOF_LEN) {
        why = "names a transaction that is not this dealer's dealing for this election";
        goto out;
    }
    for (uint32_t k = 0; k < tr->t; k++)
        if (d->commitments[k].len != EC_POINT_LEN ||
            memcmp(d->commitments[k].data, v + 1 + (size_t)k * EC_POINT_LEN, EC_POINT_LEN) != 0) {
            why = "serves commitments that are not the ones the dealer signed";
            goto out;
        }
    if (memcmp(d->encrypted_shares[tr->j - 1].data, v + 1 + (size_t)tr->t * EC_POINT_LEN + (size_t)(tr->j - 1) * DKG_SHARE_LEN,
               DKG_SHARE_LEN) != 0) {
        why = "serves a share that is not the one the dealer signed";
        goto out;
    }
    if (dkg_share_proof_verify(tr->s.e, i, tr->j, d->encrypted_shares[tr->j - 1].data,
                               d->share_proofs[tr->j - 1].data) != BC_OK) {
        why = "has a dealing whose share does not prove its key (the chain refuses those)";
        goto out;
    }
    rc = 0;
out:
    if (why != NULL)
        fprintf(stderr,
                "evote %s: the node (%s) %s for dealer %" PRIu32 ": it is faulty; nothing was complained about. "
                "Ask another validator (--node)\n",
                tr->s.o.cmd, tr->s.o.node, why, i);
out_quiet:
    ledger_tx_destroy(&tx);
    free(id);
    return rc;
}

static int trustee_check(int argc, char **argv)
{
    uint32_t *good = NULL, n_good = 0, waiting = 0, complained = 0;
    ec_point *commitments = NULL;
    ec_scalar ek, s, x;
    trustee tr;
    int rc, r;

    memset(&ek, 0, sizeof ek);
    memset(&s, 0, sizeof s);
    memset(&x, 0, sizeof x);
    rc = trustee_load(&tr, argc, argv, "trustee check");
    if (rc != 0)
        goto out;
    rc = EXIT_FAILED;
    if (!trustee_dir(&tr, 0))
        goto out;
    r = read_scalar(tr.s.o.cmd, tr.dir, "ek", &ek);
    if (r <= 0) {
        if (r == 0)
            fprintf(stderr, "evote %s: %s has no encryption key: run 'evote trustee init' with it first\n",
                    tr.s.o.cmd, tr.dir);
        goto out;
    }
    good = calloc(tr.n, sizeof *good);
    commitments = calloc(tr.t, sizeof *commitments);
    if (good == NULL || commitments == NULL)
        goto out;
    for (uint32_t i = 1; i <= tr.n; i++) {
        uint8_t *v = NULL, share[DKG_SHARE_LEN];
        size_t vlen = 0;
        char name[32];
        int found = 0, have;
        bc_err berr;

        snprintf(name, sizeof name, "share-%" PRIu32, i);
        if ((rc = fetch_dealing(&tr, i, &v, &vlen, &found)) != 0)
            goto out;
        rc = EXIT_FAILED;
        if (!found) {
            printf("dealer %-3" PRIu32 " %s\n", i, i == tr.j ? "(this trustee) has not dealt: run 'evote trustee deal'"
                                                             : "has not dealt yet");
            waiting++;
            continue;
        }
        if (v[0] == ELECTION_DEALING_DISQUALIFIED) {
            printf("dealer %-3" PRIu32 " disqualified by a complaint: its shares are not used\n", i);
            free(v);
            continue;
        }
        if (i == tr.j) {
            ec_scalar own;
            have = read_scalar(tr.s.o.cmd, tr.dir, name, &own);
            ec_scalar_wipe(&own);
            free(v);
            if (have <= 0) {
                if (have == 0)
                    fprintf(stderr, "evote %s: the chain has this trustee's dealing but %s has no %s: the dealing "
                                    "was made with another directory\n",
                            tr.s.o.cmd, tr.dir, name);
                goto out;
            }
            printf("dealer %-3" PRIu32 " this trustee: own share kept\n", i);
            good[n_good++] = i;
            continue;
        }
        for (uint32_t m = 0; m < tr.t; m++)
            if (ec_point_parse(&commitments[m], v + 1 + (size_t)m * EC_POINT_LEN, 0) != BC_OK) {
                fprintf(stderr, "evote %s: the node's dealing of trustee %" PRIu32 " has a bad commitment: the node "
                                "is faulty\n",
                        tr.s.o.cmd, i);
                free(v);
                goto out;
            }
        /* Rules 1: what the node served is checked against the dealer's
         * signature before anything is concluded from it. */
        if (tr.rec->definition->ceremony_version >= 1 && (rc = dealing_is_signed(&tr, i, v)) != 0) {
            free(v);
            goto out;
        }
        rc = EXIT_FAILED;
        memcpy(share, v + 1 + (size_t)tr.t * EC_POINT_LEN + (size_t)(tr.j - 1) * DKG_SHARE_LEN, DKG_SHARE_LEN);
        free(v);
        berr = dkg_receive_share(tr.s.e, i, tr.j, &ek, share, commitments, tr.t, &s);
        if (berr == BC_OK) {
            if (!write_scalar(tr.s.o.cmd, tr.dir, name, &s))
                goto out;
            printf("dealer %-3" PRIu32 " share checked: good\n", i);
            good[n_good++] = i;
            continue;
        }
        /* A bad share: complain (the chain judges it with dkg_complaint_verify). */
        printf("dealer %-3" PRIu32 " BAD SHARE: %s; posting a complaint\n", i, bc_strerror(berr));
        {
            Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
            Evote__V1__TrusteeComplaint tc = EVOTE__V1__TRUSTEE_COMPLAINT__INIT;
            uint8_t evidence[DKG_COMPLAINT_LEN];
            if (dkg_complaint_make(tr.s.e, i, tr.j, &ek, share, evidence) != BC_OK) {
                fprintf(stderr, "evote %s: cannot make the complaint against dealer %" PRIu32 "\n", tr.s.o.cmd, i);
                goto out;
            }
            tc.election_id.data = (uint8_t *)tr.s.id;
            tc.election_id.len = strlen(tr.s.id);
            tc.accused = tr.rec->definition->trustees[i - 1];
            tc.evidence.data = evidence;
            tc.evidence.len = sizeof evidence;
            body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_COMPLAINT;
            body.trustee_complaint = &tc;
            if (seal_submit(&tr.s, &body, NULL, NULL) != 0)
                goto out;
            complained++;
        }
    }
    if (tr.rec->definition->ceremony_version >= 1 && tr.rec->election_key.len == 0) {
        /* Say so on chain: the election opens once every trustee has
         * confirmed every dealing that no complaint disqualified. */
        Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__TrusteeDealing td = EVOTE__V1__TRUSTEE_DEALING__INIT;
        uint32_t *others = calloc(tr.n, sizeof *others), n_others = 0;
        if (others == NULL)
            goto out;
        for (uint32_t k = 0; k < n_good; k++)
            if (good[k] != tr.j)
                others[n_others++] = good[k];
        if (n_others > 0) {
            td.election_id.data = (uint8_t *)tr.s.id;
            td.election_id.len = strlen(tr.s.id);
            td.checked = others;
            td.n_checked = n_others;
            body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING;
            body.trustee_dealing = &td;
            printf("confirming on chain the good shares of %" PRIu32 " dealer%s\n", n_others, n_others == 1 ? "" : "s");
            r = seal_submit(&tr.s, &body, NULL, NULL);
        } else {
            r = 0;
        }
        free(others);
        if (r != 0)
            goto out;
    }
    if (waiting != 0) {
        fprintf(stderr, "evote %s: %" PRIu32 " dealer%s not dealt yet: run this again once they have (or once the "
                        "authority opened the election after the ceremony end height)\n",
                tr.s.o.cmd, waiting, waiting == 1 ? " has" : "s have");
        if (n_good == 0)
            goto out;
    }
    {
        uint32_t missing = 0;
        r = sum_shares(&tr, good, n_good, &x, &missing);
        if (r != 1 || !write_scalar(tr.s.o.cmd, tr.dir, "x", &x))
            goto out;
    }
    printf("key share x_%" PRIu32 " stored in %s/x (over %" PRIu32 " dealer%s so far)%s\n", tr.j, tr.dir, n_good,
           n_good == 1 ? "" : "s", complained ? "; complaints posted: run this again once they are committed" : "");
    rc = waiting == 0 ? 0 : EXIT_FAILED;
out:
    ec_scalar_wipe(&ek);
    ec_scalar_wipe(&s);
    ec_scalar_wipe(&x);
    free(good);
    free(commitments);
    trustee_free(&tr);
    return rc;
}

static int trustee_decrypt(int argc, char **argv)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__PartialDecryption pd = EVOTE__V1__PARTIAL_DECRYPTION__INIT;
    const Evote__V1__ElectionTally *tally;
    uint8_t(*parts)[BC_PARTIAL_LEN] = NULL;
    ProtobufCBinaryData *pb = NULL;
    uint8_t key[KEY_EJ_LEN], *v = NULL;
    size_t vlen = 0;
    uint32_t missing = 0;
    ec_point xpub, check;
    ec_scalar x;
    trustee tr;
    int rc, r, found = 0;

    memset(&x, 0, sizeof x);
    rc = trustee_load(&tr, argc, argv, "trustee decrypt");
    if (rc != 0)
        goto out;
    rc = EXIT_FAILED;
    if (!trustee_dir(&tr, 0))
        goto out;
    tally = tr.resp->election_tally;
    if (tr.rec->election_key.len != EC_POINT_LEN || tally == NULL) {
        fprintf(stderr, "evote %s: the election has no key yet (the ceremony is not over): nothing to decrypt\n",
                tr.s.o.cmd);
        goto out;
    }
    if (tr.rec->n_verification_keys != tr.n || tally->n_ciphertexts != tally->slots || tally->slots == 0 ||
        tally->slots > ELECTION_MAX_SLOTS) {
        fprintf(stderr, "evote %s: the node's election record or tally does not fit the election: the node is "
                        "faulty\n",
                tr.s.o.cmd);
        goto out;
    }
    if (!tr.rec->closed) {
        Evote__V1__ApiResponse *st = NULL;
        const Evote__V1__ElectionCreate *d = tr.rec->definition;
        if (ask_node_status(&tr.s.o, 1, &st) == 0) {
            if (d->close_height != 0 && st->node->height < d->close_height)
                fprintf(stderr,
                        "evote %s: the polls are still open (they close after height %" PRIu64 "; the chain is at "
                        "%" PRIu64 "): decrypt after that, or once its creator ran 'evote election close'\n",
                        tr.s.o.cmd, d->close_height, st->node->height);
            else if (d->close_height == 0 && d->close_time_ms == 0)
                fprintf(stderr, "evote %s: the polls are still open: its creator closes them with 'evote election "
                                "close'\n",
                        tr.s.o.cmd);
            else if (d->close_time_ms != 0 && wall_clock_ms() <= d->close_time_ms) {
                /* A partial decryption of the running tally, once on chain
                 * (even refused, as too early), is public: with t of them,
                 * an interim result. */
                char when[64];
                format_time(d->close_time_ms, when, sizeof when);
                fprintf(stderr,
                        "evote %s: the polls are still open (they close at %s, block time): decrypt after that, or "
                        "once its creator ran 'evote election close'\n",
                        tr.s.o.cmd, when);
            } else
                rc = 0;
            evote__v1__api_response__free_unpacked(st, NULL);
        }
        if (rc != 0)
            goto out;
        rc = EXIT_FAILED;
    }
    key_ej(key, ELECTION_KEY_PARTIAL, tr.s.e, tr.j);
    if ((rc = fetch_state(&tr.s.o, key, sizeof key, &v, &vlen, &found)) != 0)
        goto out;
    if (found) {
        printf("trustee %" PRIu32 ": its partial decryption is already on chain: nothing to do\n", tr.j);
        goto out;
    }
    rc = EXIT_FAILED;
    r = sum_shares(&tr, tr.rec->qualified, tr.rec->n_qualified, &x, &missing);
    if (r < 0)
        goto out;
    if (r == 0) {
        fprintf(stderr,
                "evote %s: %s has no share from dealer %" PRIu32 ", which the chain counts as qualified: run "
                "'evote trustee check' with this directory\n",
                tr.s.o.cmd, tr.dir, missing);
        goto out;
    }
    if (ec_point_parse(&xpub, tr.rec->verification_keys[tr.j - 1].data, 0) != BC_OK ||
        tr.rec->verification_keys[tr.j - 1].len != EC_POINT_LEN) {
        fprintf(stderr, "evote %s: the node's verification key X_%" PRIu32 " is not a point: the node is faulty\n",
                tr.s.o.cmd, tr.j);
        goto out;
    }
    ec_point_mul_base(&check, &x);
    if (!ec_point_equal(&check, &xpub)) {
        fprintf(stderr,
                "evote %s: the key share from the shares in %s does not match the chain's verification key "
                "X_%" PRIu32 ": the directory is not the one this trustee used in the ceremony (or is damaged)\n",
                tr.s.o.cmd, tr.dir, tr.j);
        goto out;
    }
    write_scalar(tr.s.o.cmd, tr.dir, "x", &x);
    parts = calloc(tally->slots, sizeof *parts);
    pb = calloc(tally->slots, sizeof *pb);
    if (parts == NULL || pb == NULL)
        goto out;
    for (uint32_t sl = 0; sl < tally->slots; sl++) {
        bc_partial_ctx pc = {tr.s.e, tr.rec->election_key.data, tr.j, sl};
        elgamal_ct ct;
        if (tally->ciphertexts[sl].len != ELGAMAL_CT_LEN || elgamal_parse(&ct, tally->ciphertexts[sl].data, 1) != BC_OK) {
            fprintf(stderr, "evote %s: the node's tally ciphertext %" PRIu32 " does not parse: the node is faulty\n",
                    tr.s.o.cmd, sl);
            goto out;
        }
        if (bc_tally_partial_decrypt(&pc, &x, &xpub, &ct, parts[sl]) != BC_OK) {
            fprintf(stderr, "evote %s: cannot decrypt tally slot %" PRIu32 "\n", tr.s.o.cmd, sl);
            goto out;
        }
        pb[sl] = (ProtobufCBinaryData){BC_PARTIAL_LEN, parts[sl]};
    }
    pd.election_id.data = (uint8_t *)tr.s.id;
    pd.election_id.len = strlen(tr.s.id);
    pd.shares = pb;
    pd.n_shares = tally->slots;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_PARTIAL_DECRYPTION;
    body.partial_decryption = &pd;
    fprintf(stderr, "evote %s: trustee %" PRIu32 " decrypts %" PRIu32 " tally ciphertexts (%" PRIu64
                    " ballots counted)\n",
            tr.s.o.cmd, tr.j, tally->slots, tally->ballots_counted);
    rc = seal_submit(&tr.s, &body, NULL, NULL);
out:
    ec_scalar_wipe(&x);
    free(v);
    free(parts);
    free(pb);
    trustee_free(&tr);
    return rc;
}

int cmd_trustee(int argc, char **argv)
{
    const char *sub;
    if (argc < 2) {
        fputs(trustee_help, stderr);
        return EXIT_USAGE;
    }
    if (cli_wants_help(argc, argv)) {
        fputs(trustee_help, stdout);
        return 0;
    }
    sub = argv[1];
    if (strcmp(sub, "init") == 0 || strcmp(sub, "keygen") == 0)
        return trustee_init(argc - 1, argv + 1);
    if (strcmp(sub, "deal") == 0 || strcmp(sub, "share") == 0)
        return trustee_deal(argc - 1, argv + 1);
    if (strcmp(sub, "check") == 0)
        return trustee_check(argc - 1, argv + 1);
    if (strcmp(sub, "decrypt") == 0)
        return trustee_decrypt(argc - 1, argv + 1);
    fprintf(stderr, "evote trustee: unknown subcommand '%s'\n\n", sub);
    fputs(trustee_help, stderr);
    return EXIT_USAGE;
}

/* =============================================================== voter */

static const char voter_keygen_help[] =
    "usage: evote voter keygen --count N --out-dir DIR\n"
    "\n"
    "Generates N voter key pairs (for tests and demonstrations: a real voter\n"
    "makes its own with 'evote keygen'). The secret keys go to\n"
    "DIR/voter-000001.key ... (mode 0600; DIR is created with mode 0700; an\n"
    "existing file is never overwritten); the public keys are printed, one per\n"
    "line in the same order: a roll for 'evote voter register --voters'.\n";

static int voter_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"count", required_argument, NULL, O_COUNT},
                                         {"out-dir", required_argument, NULL, O_OUT_DIR},
                                         {0, 0, 0, 0}};
    const char *dir = NULL;
    uint64_t count = 0;
    int c;

    if (cli_wants_help(argc, argv)) {
        fputs(voter_keygen_help, stdout);
        return 0;
    }
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == O_COUNT) {
            if (!parse_u64("voter keygen", "--count", optarg, 1, 10000000, &count))
                return EXIT_USAGE;
        } else if (c == O_OUT_DIR) {
            dir = optarg;
        } else {
            return usage_error(voter_keygen_help);
        }
    }
    if (!operands_ok("voter keygen", argc, argv, 0, "", voter_keygen_help))
        return EXIT_USAGE;
    if (count == 0)
        return missing_option("voter keygen", "--count N", voter_keygen_help);
    if (dir == NULL)
        return missing_option("voter keygen", "--out-dir DIR", voter_keygen_help);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "evote voter keygen: cannot create %s: %s\n", dir, strerror(errno));
        return EXIT_FAILED;
    }
    for (uint64_t i = 1; i <= count; i++) {
        signing_key *key = NULL;
        uint8_t pub[CRYPTO_PUBKEY_LEN];
        char name[32], *path, hex[2 * CRYPTO_PUBKEY_LEN + 1];
        crypto_err err;
        snprintf(name, sizeof name, "voter-%06" PRIu64 ".key", i);
        path = dir_file(dir, name);
        if (path == NULL) {
            fprintf(stderr, "evote voter keygen: out of memory\n");
            return EXIT_FAILED;
        }
        err = signing_key_generate(&key);
        if (err == CRYPTO_OK)
            err = signing_key_save(key, path);
        if (err != CRYPTO_OK) {
            fprintf(stderr, "evote voter keygen: %s: %s (%" PRIu64 " keys written before)\n", path,
                    crypto_strerror(err), i - 1);
            signing_key_destroy(&key);
            free(path);
            return EXIT_FAILED;
        }
        signing_key_pubkey(key, pub);
        crypto_hex(pub, sizeof pub, hex);
        printf("%s\n", hex);
        signing_key_destroy(&key);
        free(path);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "evote voter keygen: cannot write the public keys: %s\n", strerror(errno));
        return EXIT_FAILED;
    }
    return 0;
}

static const char voter_help[] =
    "usage: evote voter register ...   put voter public keys on an election's roll\n"
    "                                  (the same as 'evote register')\n"
    "       evote voter keygen ...     generate many voter key files at once\n"
    "\n"
    "'evote voter <subcommand> --help' describes each one.\n";

int cmd_voter(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(voter_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "register") == 0)
        return cmd_register(argc - 1, argv + 1);
    if (strcmp(argv[1], "keygen") == 0)
        return voter_keygen(argc - 1, argv + 1);
    fprintf(stderr, "evote voter: unknown subcommand '%s'\n\n", argv[1]);
    fputs(voter_help, stderr);
    return EXIT_USAGE;
}

/* ================================================================ vote */

/* Marks in sel (one byte per option of q) the options named in text
 * (comma-separated option texts; "" selects none). Returns: 1, or 0 after
 * saying what is wrong. */
int cli_parse_selection(const char *cmd, const Evote__V1__Question *q, size_t qi, const char *text, uint8_t *sel)
{
    char **items = NULL;
    size_t n = 0, count = 0;
    const char *what;
    char buf[256];

    memset(sel, 0, q->n_options);
    if (text[0] != '\0' && !split_list(text, &items, &n, &what)) {
        fprintf(stderr, "evote %s: the choice for question %zu: %s\n", cmd, qi + 1, what);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < q->n_options && strcmp(q->options[k], items[i]) != 0)
            k++;
        if (k == q->n_options) {
            fprintf(stderr, "evote %s: '%s' is not an option of question %zu (%s); the options are: ", cmd, items[i],
                    qi + 1, clean(q->text, buf, sizeof buf));
            for (k = 0; k < q->n_options; k++)
                fprintf(stderr, "%s\"%s\"", k ? ", " : "", clean(q->options[k], buf, sizeof buf));
            fprintf(stderr, "\n");
            free_list(items, n);
            return 0;
        }
        if (sel[k]) {
            fprintf(stderr, "evote %s: option '%s' is chosen twice for question %zu\n", cmd, items[i], qi + 1);
            free_list(items, n);
            return 0;
        }
        sel[k] = 1;
        count++;
    }
    free_list(items, n);
    if (count < q->min_selections || count > q->max_selections) {
        if (q->min_selections == q->max_selections)
            fprintf(stderr, "evote %s: question %zu (%s) takes exactly %" PRIu32 " choice%s; %zu given\n", cmd, qi + 1,
                    clean(q->text, buf, sizeof buf), q->min_selections, q->min_selections == 1 ? "" : "s", count);
        else
            fprintf(stderr, "evote %s: question %zu (%s) takes %" PRIu32 " to %" PRIu32 " choices; %zu given\n", cmd,
                    qi + 1, clean(q->text, buf, sizeof buf), q->min_selections, q->max_selections, count);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------- vote --voters */

#define BATCH_MAX_NODES 16 /* <= 32: batch_voter.refused_by has a bit per node */
_Static_assert(BATCH_MAX_NODES <= 32, "refused_by holds one bit per node");
#define BATCH_MAX_THREADS 64

#define BATCH_WINDOW 64 /* default submissions in flight per node */

/* Where a ballot of a --voters run is. */
enum {
    BV_FAILED = 0,  /* not encrypted or signed, or no node took it: final */
    BV_TO_SUBMIT,   /* sealed, waiting for a slot in a node's window */
    BV_SUBMITTING,  /* sent, no answer yet */
    BV_TO_ASK,      /* accepted, its commit query waiting for a slot */
    BV_ASKING,      /* commit query parked at the node */
    BV_REJECTED,    /* a node refused it (the reason printed): final */
    BV_DONE,        /* accepted (with --wait: committed, or --wait ran out): final */
};

/* One line of a --voters file and what became of its ballot. */
typedef struct {
    char *key_path;
    char *choice; /* the rest of the line: CHOICE[;CHOICE...] */
    uint8_t *sel; /* slots bytes */
    unsigned long line;
    uint8_t code[CRYPTO_HASH_LEN];
    uint8_t *tx;   /* the sealed ballot, until final (sent again if a node lost it) */
    size_t tx_len;
    int state;     /* BV_* */
    int accepted;  /* a node took the ballot into its mempool */
    size_t node;   /* which one (or the one its request is at) */
    uint64_t rid;  /* the request in flight; 0 none */
    double sent_at, reply_by, due, asked_wait, busy_since, accepted_at, commit_deadline;
    long backoff_ms;
    int resubmits; /* sent again after the node that took it forgot it (a crash) */
    uint32_t refused_by; /* nodes (bit k: node k) whose state refused it, which a later block may
                            change: it goes to the others */
    int probe;     /* the next commit query asks without waiting (the last one was lost) */
    tx_answer ans; /* with --wait */
} batch_voter;

typedef struct {
    const char *cmd, *id, *path;
    const genesis *g;
    const bc_election *e;
    size_t slots;
    batch_voter *v;
    size_t n;
    const char *nodes[BATCH_MAX_NODES];
    size_t n_nodes;
    long timeout_ms, wait_ms;
    size_t window;      /* submissions in flight per node */
    long busy_limit_ms; /* how long a ballot is retried while nodes are busy */
    long silence_ms;    /* a node owing answers and silent this long is given up */
    const char *encrypt_only; /* --encrypt-only FILE: write the sealed ballots there, submit nothing */
    pthread_mutex_t lock;
    size_t next;
    size_t busy_answers;
    size_t resent;      /* requests sent again: unanswered past their time, or a ballot a node forgot */
    double last_commit; /* monotonic s; 0: none seen */
} batch;

/* Reads a --voters file: "KEYFILE CHOICE[;CHOICE...]" per line. Returns: 0,
 * or an exit code after naming the line. */
static int batch_read(batch *b)
{
    FILE *f = strcmp(b->path, "-") == 0 ? stdin : fopen(b->path, "r");
    size_t cap = 0, linecap = 0;
    unsigned long lineno = 0;
    char *line = NULL;
    ssize_t got;
    int rc = 0;

    if (f == NULL) {
        fprintf(stderr, "evote %s: cannot open %s: %s\n", b->cmd, b->path, strerror(errno));
        return EXIT_FAILED;
    }
    while (rc == 0 && (got = getline(&line, &linecap, f)) != -1) {
        char *a = line, *end = line + got, *k;
        batch_voter *bv;
        lineno++;
        while (end > a && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
            end--;
        *end = '\0';
        while (*a == ' ' || *a == '\t')
            a++;
        if (*a == '\0' || *a == '#')
            continue;
        k = a;
        while (*a != '\0' && *a != ' ' && *a != '\t')
            a++;
        if (*a == '\0') {
            fprintf(stderr, "evote %s: %s line %lu: expected 'KEYFILE CHOICE', found no choice after the key file\n",
                    b->cmd, b->path, lineno);
            rc = EXIT_FAILED;
            break;
        }
        *a++ = '\0';
        while (*a == ' ' || *a == '\t')
            a++;
        if (b->n == cap) {
            size_t ncap = cap ? 2 * cap : 1024;
            void *grown = realloc(b->v, ncap * sizeof *b->v);
            if (grown == NULL) {
                fprintf(stderr, "evote %s: out of memory\n", b->cmd);
                rc = EXIT_FAILED;
                break;
            }
            b->v = grown;
            cap = ncap;
        }
        bv = &b->v[b->n];
        memset(bv, 0, sizeof *bv);
        bv->line = lineno;
        bv->key_path = strdup(k);
        bv->choice = strdup(a);
        b->n++;
        if (bv->key_path == NULL || bv->choice == NULL) {
            fprintf(stderr, "evote %s: out of memory\n", b->cmd);
            rc = EXIT_FAILED;
        }
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "evote %s: cannot read %s: %s\n", b->cmd, b->path, strerror(errno));
        rc = EXIT_FAILED;
    }
    if (rc == 0 && b->n == 0) {
        fprintf(stderr, "evote %s: %s holds no voter\n", b->cmd, b->path);
        rc = EXIT_FAILED;
    }
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

/* Parses every line's choices against the questions. Returns: 1, or 0
 * after naming the line. */
static int batch_selections(batch *b, const Evote__V1__ElectionCreate *d)
{
    for (size_t i = 0; i < b->n; i++) {
        batch_voter *bv = &b->v[i];
        char *rest = bv->choice;
        size_t slots = 0;
        bv->sel = malloc(b->slots ? b->slots : 1);
        if (bv->sel == NULL) {
            fprintf(stderr, "evote %s: out of memory\n", b->cmd);
            return 0;
        }
        for (size_t q = 0; q < d->n_questions; q++) {
            char *semi = strchr(rest, ';');
            if ((semi == NULL) != (q + 1 == d->n_questions)) {
                fprintf(stderr,
                        "evote %s: %s line %lu: election '%s' has %zu question%s: give one choice per question, "
                        "separated by ';'\n",
                        b->cmd, b->path, bv->line, b->id, d->n_questions, d->n_questions == 1 ? "" : "s");
                return 0;
            }
            if (semi != NULL)
                *semi = '\0';
            if (!cli_parse_selection(b->cmd, d->questions[q], q, rest, bv->sel + slots)) {
                fprintf(stderr, "evote %s: (in %s line %lu)\n", b->cmd, b->path, bv->line);
                return 0;
            }
            slots += d->questions[q]->n_options;
            if (semi != NULL)
                rest = semi + 1;
        }
    }
    return 1;
}

/* Encrypts and signs voter bv's ballot. Out: bv->tx, bv->code, and state
 * BV_TO_SUBMIT; BV_FAILED after saying why. */
static void batch_seal(batch *b, batch_voter *bv)
{
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__Ballot ballot = EVOTE__V1__BALLOT__INIT;
    uint8_t pub[CRYPTO_PUBKEY_LEN], *enc = NULL;
    size_t enc_len = bc_ballot_size(b->e);
    signing_key *key = NULL;
    crypto_err cerr;

    bv->state = BV_FAILED;
    cerr = signing_key_load(bv->key_path, &key);
    if (cerr != CRYPTO_OK) {
        fprintf(stderr, "evote %s: %s line %lu: %s: %s\n", b->cmd, b->path, bv->line, bv->key_path,
                crypto_strerror(cerr));
        return;
    }
    signing_key_pubkey(key, pub);
    enc = malloc(enc_len);
    if (enc == NULL || bc_ballot_encrypt(b->e, pub, bv->sel, b->slots, enc, enc_len) != BC_OK) {
        fprintf(stderr, "evote %s: %s line %lu: cannot encrypt the ballot\n", b->cmd, b->path, bv->line);
        goto out;
    }
    ballot.election_id.data = (uint8_t *)b->id;
    ballot.election_id.len = strlen(b->id);
    ballot.encrypted_ballot.data = enc;
    ballot.encrypted_ballot.len = enc_len;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_BALLOT;
    body.ballot = &ballot;
    body.chain_id.data = (uint8_t *)b->g->chain_id;
    body.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    body.created_ms = wall_clock_ms();
    cerr = crypto_random(&body.nonce, sizeof body.nonce);
    if (cerr == CRYPTO_OK)
        cerr = ledger_tx_seal(&body, key, &bv->tx, &bv->tx_len);
    if (cerr != CRYPTO_OK) {
        fprintf(stderr, "evote %s: %s line %lu: cannot sign the ballot: %s\n", b->cmd, b->path, bv->line,
                crypto_strerror(cerr));
        goto out;
    }
    envelope_txid(bv->tx, bv->tx_len, bv->code);
    bv->state = BV_TO_SUBMIT;
out:
    free(enc);
    signing_key_destroy(&key);
}

static void *batch_seal_worker(void *arg)
{
    batch *b = arg;
    for (;;) {
        size_t i;
        pthread_mutex_lock(&b->lock);
        i = b->next++;
        pthread_mutex_unlock(&b->lock);
        if (i >= b->n)
            break;
        batch_seal(b, &b->v[i]);
    }
    return NULL;
}

/* Phase 1, the voters' side: every ballot encrypted and signed, on `threads`
 * threads. Returns: 1, or 0 when no thread could be started. */
static int batch_seal_all(batch *b, long threads, size_t *started)
{
    pthread_t tid[BATCH_MAX_THREADS];
    size_t k;

    if ((size_t)threads > b->n)
        threads = (long)b->n;
    if (pthread_mutex_init(&b->lock, NULL) != 0) {
        fprintf(stderr, "evote %s: cannot set up the threads\n", b->cmd);
        return 0;
    }
    b->next = 0;
    for (k = 0; k < (size_t)threads; k++)
        if (pthread_create(&tid[k], NULL, batch_seal_worker, b) != 0)
            break;
    if (k < (size_t)threads)
        fprintf(stderr, "evote %s: could start only %zu of %ld threads\n", b->cmd, k, threads);
    if (k == 0)
        batch_seal_worker(b); /* this thread alone */
    for (size_t j = 0; j < k; j++)
        pthread_join(tid[j], NULL);
    pthread_mutex_destroy(&b->lock);
    *started = k ? k : 1;
    return 1;
}

/* ---- phase 2: pipelined submission and commit wait
 *
 * One connection per node; at most b->window submissions and
 * BATCH_ASK_WINDOW commit queries in flight per node, replies matched by
 * request id (voter index in the low 32 bits, a send counter above: a late
 * reply to an earlier request is recognised and ignored). A request
 * unanswered past its time (a node restarted loses what it had not
 * answered) is sent again, to the next node first; a ballot a node took
 * and then no longer knows (it crashed before the ballot committed) is
 * submitted again, up to BATCH_RESUBMITS times. A node that owes answers
 * and stays silent for silence_ms is set aside, its work going to the
 * others, until it answers one of the status probes it gets every second;
 * when every node is set aside and none has answered for the whole --wait,
 * what is left is reported not cast, or not known to have committed. Resending a ballot is safe: the same bytes are the same
 * transaction (same id, same tracking code), which the mempool and the
 * chain take at most once. "Busy" (mempool full) answers are retried with
 * back-off. */

#define BATCH_ASK_WINDOW 2000 /* parked commit queries per node (evoted parks up to 10000) */
#define BATCH_ASK_MAX_MS 10000 /* a parked commit query: also how soon a forgotten ballot is seen */
#define BATCH_BUSY_FIRST_MS 20
#define BATCH_BUSY_MAX_MS 1000
#define BATCH_RESUBMITS 3 /* times a forgotten ballot is submitted again */

typedef struct {
    batch *b;
    client_conn *conn[BATCH_MAX_NODES];
    node_opts o[BATCH_MAX_NODES];
    int dead[BATCH_MAX_NODES];
    uint64_t instance[BATCH_MAX_NODES]; /* the node process answering (0: not told yet) */
    double probed[BATCH_MAX_NODES];     /* when a status probe last went to the node */
    double owed_since[BATCH_MAX_NODES]; /* an answer overdue since (0: none), until the node answers */
    size_t submitting[BATCH_MAX_NODES], asking[BATCH_MAX_NODES];
    size_t *queue, q_head, q_len; /* ring of voters ready to send (submit or ask) */
    size_t *later, n_later;       /* voters waiting for their due time */
    double last_heard[BATCH_MAX_NODES]; /* the node's last reply (or our first request) */
    double started;               /* when phase 2 began */
    uint32_t gen;
    size_t open;                  /* voters not final */
    double last_commit;           /* when the last commit answer came */
} pipe_state;

static void pipe_push(pipe_state *p, size_t i)
{
    p->queue[(p->q_head + p->q_len) % p->b->n] = i;
    p->q_len++;
}

static void pipe_later(pipe_state *p, size_t i, double due)
{
    p->b->v[i].due = due;
    p->later[p->n_later++] = i;
}

static void pipe_final(pipe_state *p, batch_voter *bv, int state)
{
    bv->state = state;
    p->open--;
    free(bv->tx); /* accepted or given up: never sent again */
    bv->tx = NULL;
}

static int pipe_alive(const pipe_state *p)
{
    for (size_t k = 0; k < p->b->n_nodes; k++)
        if (!p->dead[k])
            return 1;
    return 0;
}

/* Whether a live node outside `tried` (bit k: node k) is left. */
static int pipe_others_left(const pipe_state *p, uint32_t tried)
{
    for (size_t k = 0; k < p->b->n_nodes; k++)
        if (!((tried >> k) & 1) && !p->dead[k])
            return 1;
    return 0;
}

/* A live node with room for one more request of this kind, preferring
 * `want` and passing over those in `skip` (bit k: node k); a node that left
 * a status probe unanswered for a second gets no new work until it answers
 * (what it holds waits for its time). Returns: its index, or n_nodes when
 * none has room now. */
static size_t pipe_pick(const pipe_state *p, size_t want, int ask, uint32_t skip)
{
    size_t n = p->b->n_nodes;
    double now = cli_mono_s();
    for (size_t t = 0; t < n; t++) {
        size_t k = (want + t) % n;
        size_t used = ask ? p->asking[k] : p->submitting[k];
        int suspect = p->probed[k] > p->last_heard[k] && now - p->probed[k] > 1.0;
        if ((skip >> k) & 1)
            continue;
        if (!p->dead[k] && !suspect && used < (ask ? BATCH_ASK_WINDOW : p->b->window))
            return k;
    }
    return n;
}

/* Sends voter i's next request (its ballot, or the commit query) to node k.
 * Returns: 1 sent; 0 the node could not take it (it is given up). */
static int pipe_send(pipe_state *p, size_t i, size_t k)
{
    batch *b = p->b;
    batch_voter *bv = &b->v[i];
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__SubmitTx submit = EVOTE__V1__SUBMIT_TX__INIT;
    Evote__V1__GetTx get = EVOTE__V1__GET_TX__INIT;
    int ask = bv->state == BV_TO_ASK;
    double now = cli_mono_s();
    uint8_t buf[512], *big = NULL, *msg = buf;
    size_t len;
    net_err err;

    if (++p->gen == 0)
        p->gen = 1;
    req.request_id = ((uint64_t)p->gen << 32) | (uint64_t)(i + 1);
    if (ask) {
        double left = bv->commit_deadline - now;
        long wait = left > 0 && !bv->probe ? (long)(left * 1000) : 0;
        if (wait > BATCH_ASK_MAX_MS)
            wait = BATCH_ASK_MAX_MS;
        get.id.data = bv->code;
        get.id.len = CRYPTO_HASH_LEN;
        get.wait_ms = (uint32_t)wait;
        req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_TX;
        req.get_tx = &get;
        bv->reply_by = now + (double)(wait + b->timeout_ms) / 1000.0;
        bv->asked_wait = (double)wait / 1000.0;
    } else {
        submit.tx.data = bv->tx;
        submit.tx.len = bv->tx_len;
        req.call_case = EVOTE__V1__API_REQUEST__CALL_SUBMIT;
        req.submit = &submit;
        bv->reply_by = now + (double)b->timeout_ms / 1000.0;
    }
    len = evote__v1__api_request__get_packed_size(&req);
    if (len > sizeof buf && (msg = big = malloc(len)) == NULL) {
        fprintf(stderr, "evote %s: out of memory\n", b->cmd);
        return 0;
    }
    evote__v1__api_request__pack(&req, msg);
    err = client_conn_send(p->conn[k], msg, len);
    free(big);
    if (err != NET_OK) {
        fprintf(stderr, "evote %s: cannot send to %s: %s\n", b->cmd, b->nodes[k], net_strerror(err));
        return 0;
    }
    bv->rid = req.request_id;
    bv->probe = 0;
    bv->node = k;
    bv->sent_at = now;
    bv->state = ask ? BV_ASKING : BV_SUBMITTING;
    if (ask)
        p->asking[k]++;
    else
        p->submitting[k]++;
    return 1;
}

/* Node k is given up on: its connection discarded (late replies are never
 * read), what it held goes back to the queue for the other nodes. */
static void pipe_drop_node(pipe_state *p, size_t k, const char *why)
{
    batch *b = p->b;
    if (p->dead[k])
        return;
    p->dead[k] = 1;
    p->owed_since[k] = 0;
    client_conn_reset(p->conn[k]);
    fprintf(stderr, "evote %s: %s %s; %s\n", b->cmd, b->nodes[k], why,
            pipe_alive(p) ? "its ballots go to the other nodes (it gets work again once it answers)"
                          : "every node is silent (each is asked every second)");
    for (size_t i = 0; i < b->n; i++) {
        batch_voter *bv = &b->v[i];
        if (bv->node != k || (bv->state != BV_SUBMITTING && bv->state != BV_ASKING))
            continue;
        bv->state = bv->state == BV_ASKING ? BV_TO_ASK : BV_TO_SUBMIT;
        bv->rid = 0;
        pipe_push(p, i);
    }
    p->submitting[k] = p->asking[k] = 0;
}

static void pipe_on_submitted(pipe_state *p, size_t i, size_t k, Evote__V1__ApiResponse *resp)
{
    batch *b = p->b;
    batch_voter *bv = &b->v[i];
    double now = cli_mono_s();
    char why[512], name[32];

    p->submitting[k]--;
    if (resp->status == EVOTE__V1__API_STATUS__API_STATUS_BUSY) {
        if (bv->busy_since == 0)
            bv->busy_since = now;
        if (now - bv->busy_since < (double)b->busy_limit_ms / 1000.0) {
            long ms = bv->backoff_ms ? 2 * bv->backoff_ms : BATCH_BUSY_FIRST_MS;
            bv->backoff_ms = ms > BATCH_BUSY_MAX_MS ? BATCH_BUSY_MAX_MS : ms;
            bv->state = BV_TO_SUBMIT;
            b->busy_answers++;
            pipe_later(p, i, now + (double)bv->backoff_ms / 1000.0);
            return;
        }
        fprintf(stderr, "evote %s: %s line %lu: %s stayed busy (mempool full) for %ld s: not cast; cast it again later\n", b->cmd,
                b->path, bv->line, b->nodes[k], b->busy_limit_ms / 1000);
        pipe_final(p, bv, BV_FAILED);
        return;
    }
    bv->busy_since = 0;
    bv->backoff_ms = 0;
    if (resp->status == EVOTE__V1__API_STATUS__API_STATUS_OK && resp->tx_id.len == CRYPTO_HASH_LEN &&
        memcmp(resp->tx_id.data, bv->code, CRYPTO_HASH_LEN) == 0) {
        bv->accepted = 1;
        bv->accepted_at = now;
        if (b->wait_ms > 0) {
            bv->commit_deadline = now + (double)b->wait_ms / 1000.0;
            bv->state = BV_TO_ASK;
            pipe_push(p, i); /* the bytes are kept: a node that crashes before the commit forgets the ballot */
        } else {
            pipe_final(p, bv, BV_DONE);
        }
        return;
    }
    if (resp->status == EVOTE__V1__API_STATUS__API_STATUS_REJECTED) {
        /* By that node's state, which a later block may change (it may not
         * have executed the voter's registration yet): each other node
         * gets its turn before the refusal is final. */
        int next = 0;
        if (resp->later_may_accept) {
            bv->refused_by |= UINT32_C(1) << k;
            next = pipe_others_left(p, bv->refused_by);
        }
        fprintf(stderr, "evote %s: %s line %lu (%s): %s rejected the ballot: %s%s\n", b->cmd, b->path, bv->line,
                bv->key_path, b->nodes[k], clean(resp->reason, why, sizeof why),
                next ? "; a validator further on may accept it: trying the next node" : "");
        if (next) {
            bv->node = (k + 1) % b->n_nodes; /* pipe_pick passes over those that refused it */
            bv->state = BV_TO_SUBMIT;
            pipe_push(p, i);
            return;
        }
    } else
        fprintf(stderr, "evote %s: %s line %lu: %s answered %s to the ballot%s%s: not cast\n", b->cmd, b->path,
                bv->line, b->nodes[k],
                resp->status == EVOTE__V1__API_STATUS__API_STATUS_OK ? "OK without its id"
                                                                     : STATUS_NAME(resp->status, name),
                resp->reason[0] ? ": " : "", clean(resp->reason, why, sizeof why));
    pipe_final(p, bv, BV_REJECTED);
}

static void pipe_on_asked(pipe_state *p, size_t i, size_t k, Evote__V1__ApiResponse *resp)
{
    batch *b = p->b;
    batch_voter *bv = &b->v[i];
    const Evote__V1__TxStatus *tx = resp->tx;
    double now = cli_mono_s();

    p->asking[k]--;
    if (resp->status == EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND && tx == NULL) {
        bv->ans.state = EVOTE__V1__TX_STATE__TX_STATE_UNKNOWN;
    } else if (resp->status != EVOTE__V1__API_STATUS__API_STATUS_OK || tx == NULL ||
               (tx->id.len != 0 && !(tx->id.len == CRYPTO_HASH_LEN && memcmp(tx->id.data, bv->code, CRYPTO_HASH_LEN) == 0)) ||
               tx->state < EVOTE__V1__TX_STATE__TX_STATE_PENDING || tx->state > EVOTE__V1__TX_STATE__TX_STATE_UNKNOWN) {
        (void)bad_answer(&p->o[k], resp, "to a ballot's commit query");
        pipe_drop_node(p, k, "gave an answer this evote cannot use");
        bv->state = BV_TO_ASK;
        pipe_push(p, i);
        return;
    } else {
        bv->ans = (tx_answer){tx->state, tx->height, tx->index, tx->result};
    }
    if (bv->ans.state == EVOTE__V1__TX_STATE__TX_STATE_COMMITTED) {
        p->last_commit = now;
        pipe_final(p, bv, BV_DONE);
        return;
    }
    if (bv->ans.state == EVOTE__V1__TX_STATE__TX_STATE_UNKNOWN && bv->tx != NULL &&
        bv->resubmits < BATCH_RESUBMITS) {
        /* It took the ballot, and now neither its mempool nor its chain has
         * it: it restarted in between. The same bytes again. */
        bv->resubmits++;
        b->resent++;
        bv->state = BV_TO_SUBMIT;
        pipe_push(p, i);
        return;
    }
    if (now >= bv->commit_deadline) {
        pipe_final(p, bv, BV_DONE); /* pending (or unknown) after --wait */
        return;
    }
    /* Not committed yet. The node answers at once when it cannot park the
     * query: ask again a little later rather than at once. */
    bv->state = BV_TO_ASK;
    if (now - bv->sent_at < bv->asked_wait * 0.9)
        pipe_later(p, i, now + 0.1);
    else
        pipe_push(p, i);
}

/* Node k answered as another process than before: it restarted, and lost
 * every request it had not answered and every ballot its mempool held.
 * What is in flight there goes out again (but the request whose answer told
 * this); ballots it took are asked about without waiting, so that one it
 * forgot is submitted again at once. */
static void pipe_node_restarted(pipe_state *p, size_t k, uint64_t except_rid)
{
    batch *b = p->b;
    fprintf(stderr, "evote %s: %s restarted: sending again what it had not answered\n", b->cmd, b->nodes[k]);
    for (size_t i = 0; i < b->n; i++) {
        batch_voter *bv = &b->v[i];
        if (bv->node != k)
            continue;
        if ((bv->state == BV_SUBMITTING || bv->state == BV_ASKING) && bv->rid != except_rid) {
            if (bv->state == BV_SUBMITTING)
                p->submitting[k]--;
            else
                p->asking[k]--;
            bv->probe = bv->state == BV_ASKING;
            bv->state = bv->state == BV_ASKING ? BV_TO_ASK : BV_TO_SUBMIT;
            bv->rid = 0;
            b->resent++;
            pipe_push(p, i);
        } else if (bv->state == BV_TO_ASK) {
            bv->probe = 1;
        }
    }
}

/* One reply from node k. */
static void pipe_on_reply(pipe_state *p, size_t k, const uint8_t *bytes, size_t len)
{
    batch *b = p->b;
    Evote__V1__ApiResponse *resp = evote__v1__api_response__unpack(NULL, len, bytes);
    uint64_t rid;
    size_t i;

    if (resp == NULL) {
        fprintf(stderr, "evote %s: %s sent %zu bytes that are not an ApiResponse (ignored)\n", b->cmd, b->nodes[k],
                len);
        return;
    }
    rid = resp->request_id;
    if (resp->node_instance != 0) {
        if (p->instance[k] != 0 && p->instance[k] != resp->node_instance)
            pipe_node_restarted(p, k, rid);
        p->instance[k] = resp->node_instance;
    }
    i = (size_t)(rid & 0xffffffffu);
    if (i >= 1 && i <= b->n && b->v[i - 1].rid == rid && b->v[i - 1].node == k) {
        batch_voter *bv = &b->v[i - 1];
        bv->rid = 0;
        if (bv->state == BV_SUBMITTING)
            pipe_on_submitted(p, i - 1, k, resp);
        else if (bv->state == BV_ASKING)
            pipe_on_asked(p, i - 1, k, resp);
    } /* else: a late reply to a request given up on: ignored */
    evote__v1__api_response__free_unpacked(resp, NULL);
}

/* Runs phase 2 until every ballot is final. Returns: 1, or 0 when the
 * connections could not be set up (after saying why). */
static int batch_pipeline(batch *b)
{
    pipe_state p;
    zmq_pollitem_t items[BATCH_MAX_NODES];
    size_t idx[BATCH_MAX_NODES];
    double next_scan = 0;
    int ok = 0;

    memset(&p, 0, sizeof p);
    p.b = b;
    p.queue = malloc(b->n * sizeof *p.queue);
    p.later = malloc(b->n * sizeof *p.later);
    if (p.queue == NULL || p.later == NULL) {
        fprintf(stderr, "evote %s: out of memory\n", b->cmd);
        goto out;
    }
    for (size_t k = 0; k < b->n_nodes; k++) {
        net_error why;
        net_err err;
        node_opts_init(&p.o[k], b->cmd);
        p.o[k].node = b->nodes[k];
        p.o[k].timeout_ms = b->timeout_ms;
        err = node_spec_conn(b->nodes[k], b->timeout_ms, &p.conn[k], &why);
        if (err == NET_ERR_ENDPOINT) {
            fprintf(stderr, "evote %s: --node '%s' is not an endpoint like %s\n", b->cmd, b->nodes[k], DEFAULT_NODE);
            goto out;
        }
        if (err != NET_OK) {
            fprintf(stderr, "evote %s: cannot open a connection to %s: %s\n", b->cmd, b->nodes[k],
                    why.detail[0] ? why.detail : net_strerror(err));
            goto out;
        }
    }
    for (size_t i = 0; i < b->n; i++) {
        b->v[i].node = i % b->n_nodes; /* where its submission goes first */
        if (b->v[i].state == BV_TO_SUBMIT) {
            pipe_push(&p, i);
            p.open++;
        }
    }
    p.started = cli_mono_s();
    while (p.open > 0) {
        double now = cli_mono_s();
        size_t n_items = 0, blocked = 0;
        long wait_ms = 50;

        /* A node set aside gets a status probe every second and takes work
         * again once it answers one. With every node set aside, the rest is
         * given up when none has answered anything for the whole --wait
         * (at least silence_ms). */
        int give_up = 0;
        if (!pipe_alive(&p)) {
            double heard = 0, budget = (double)(b->wait_ms > b->silence_ms ? b->wait_ms : b->silence_ms) / 1000.0;
            for (size_t k = 0; k < b->n_nodes; k++)
                heard = p.last_heard[k] > heard ? p.last_heard[k] : heard;
            give_up = now - (heard > 0 ? heard : p.started) >= budget;
        }
        if (give_up) {
            for (size_t i = 0; i < b->n; i++) {
                batch_voter *bv = &b->v[i];
                if (bv->state == BV_DONE || bv->state == BV_REJECTED || bv->state == BV_FAILED)
                    continue;
                if (bv->accepted)
                    fprintf(stderr, "evote %s: %s line %lu: no node left to ask whether the ballot committed\n",
                            b->cmd, b->path, bv->line);
                else
                    fprintf(stderr, "evote %s: (the ballot of %s line %lu was not cast)\n", b->cmd, b->path,
                            bv->line);
                pipe_final(&p, bv, bv->accepted ? BV_DONE : BV_FAILED);
            }
            break;
        }
        /* Due retries back into the queue. */
        for (size_t j = 0; j < p.n_later;) {
            if (b->v[p.later[j]].due <= now) {
                pipe_push(&p, p.later[j]);
                p.later[j] = p.later[--p.n_later];
            } else {
                double ms = (b->v[p.later[j]].due - now) * 1000 + 1;
                if (ms < wait_ms)
                    wait_ms = (long)ms;
                j++;
            }
        }
        /* Send what the windows allow; one with no room waits its turn. */
        while (blocked < p.q_len) {
            size_t i = p.queue[p.q_head];
            batch_voter *bv = &b->v[i];
            int ask = bv->state == BV_TO_ASK;
            size_t k = pipe_pick(&p, bv->node, ask, ask ? 0 : bv->refused_by);
            p.q_head = (p.q_head + 1) % b->n;
            p.q_len--;
            if (k == b->n_nodes && !ask && bv->refused_by != 0 && !pipe_others_left(&p, bv->refused_by)) {
                /* The nodes it had left were set aside meanwhile: the
                 * refusals stand. */
                fprintf(stderr, "evote %s: %s line %lu (%s): rejected by every node that answers (see above)\n",
                        b->cmd, b->path, bv->line, bv->key_path);
                pipe_final(&p, bv, BV_REJECTED);
                continue;
            }
            if (k == b->n_nodes) {
                pipe_push(&p, i);
                blocked++;
                continue;
            }
            blocked = 0;
            if (ask && k != bv->node)
                bv->probe = 1; /* not where it was accepted: that one may have lost it; do not wait to find out */
            if (!pipe_send(&p, i, k)) {
                pipe_push(&p, i);
                pipe_drop_node(&p, k, "cannot take more requests");
            }
        }
        /* A node that owes answers and has sent none for silence_ms is set
         * aside (its ballots go to the others). Only silence counts: a node
         * that answers, however slowly (its mempool verifying a queue of
         * ballots on a busy machine), keeps its place. */
        if (now >= next_scan) {
            size_t live = 0;
            /* Per node: how long it has been silent about an answer it owes
             * past its time (a parked commit query is not owed before its
             * wait is over): since the later of its last answer and the
             * first request it left unanswered. */
            double silent[BATCH_MAX_NODES] = {0};
            /* An overdue request is sent again, to the next node first; the
             * node owes an answer from then until it sends any. */
            for (size_t i = 0; i < b->n; i++) {
                batch_voter *bv = &b->v[i];
                size_t k = bv->node;
                if ((bv->state != BV_SUBMITTING && bv->state != BV_ASKING) || now <= bv->reply_by)
                    continue;
                /* A node answering others meanwhile is slow, not deaf: its
                 * submission is taken for lost only 2 x --timeout later
                 * (sending it elsewhere would only add work to a busy
                 * cluster). A commit query past its wait is lost: asked
                 * again, without waiting, so that a ballot the node forgot
                 * shows as unknown at once. */
                if (bv->state == BV_SUBMITTING && p.last_heard[k] >= bv->sent_at &&
                    now <= bv->reply_by + 2.0 * (double)b->timeout_ms / 1000.0)
                    continue;
                bv->probe = bv->state == BV_ASKING;
                if (p.last_heard[k] < bv->sent_at && (p.owed_since[k] == 0 || bv->sent_at < p.owed_since[k]))
                    p.owed_since[k] = bv->sent_at;
                if (bv->state == BV_SUBMITTING)
                    p.submitting[k]--;
                else
                    p.asking[k]--;
                bv->state = bv->state == BV_ASKING ? BV_TO_ASK : BV_TO_SUBMIT;
                bv->rid = 0; /* a late answer is ignored */
                bv->node = (k + 1) % b->n_nodes;
                b->resent++;
                pipe_push(&p, i);
            }
            /* A node holding requests that has said nothing for a second
             * gets a status probe: its answer tells whether the process is
             * the one that took them (a restart loses them: see
             * pipe_node_restarted), long before they are overdue. A node
             * set aside gets one every second: answering it brings the node
             * back. */
            for (size_t k = 0; k < b->n_nodes; k++) {
                Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
                Evote__V1__GetStatus st = EVOTE__V1__GET_STATUS__INIT;
                uint8_t buf[64];
                size_t blen;
                if (now - p.probed[k] < 1.0 ||
                    (!p.dead[k] && (p.submitting[k] + p.asking[k] == 0 || now - p.last_heard[k] < 1.0)))
                    continue;
                if (++p.gen == 0)
                    p.gen = 1;
                req.request_id = (uint64_t)p.gen << 32; /* voter 0: no voter's answer */
                req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_STATUS;
                req.get_status = &st;
                blen = evote__v1__api_request__pack(&req, buf);
                if (client_conn_send(p.conn[k], buf, blen) != NET_OK) { /* a lost probe: the next one, or the timeout */
                }
                p.probed[k] = now;
            }
            for (size_t k = 0; k < b->n_nodes; k++)
                if (p.owed_since[k] > 0)
                    silent[k] = now - (p.owed_since[k] > p.last_heard[k] ? p.owed_since[k] : p.last_heard[k]);
            for (size_t k = 0; k < b->n_nodes; k++)
                live += !p.dead[k];
            for (size_t k = 0; k < b->n_nodes; k++) {
                double limit = (double)b->silence_ms / 1000.0;
                if (!p.dead[k] && silent[k] > limit) {
                    char why[160];
                    snprintf(why, sizeof why, "answered nothing for %.0f s (is evoted running there?)", limit);
                    pipe_drop_node(&p, k, why);
                    live--;
                }
            }
            next_scan = now + 0.2;
        }
        for (size_t k = 0; k < b->n_nodes; k++) {
            void *s = client_conn_poll_socket(p.conn[k]);
            if (s == NULL) /* a node set aside is polled for its probe's answer */
                continue;
            items[n_items] = (zmq_pollitem_t){.socket = s, .events = ZMQ_POLLIN};
            idx[n_items++] = k;
        }
        if (n_items == 0) {
            cli_sleep_ms(wait_ms);
            continue;
        }
        if (zmq_poll(items, (int)n_items, wait_ms) < 0 && zmq_errno() != EINTR) {
            fprintf(stderr, "evote %s: waiting for the nodes: %s\n", b->cmd, zmq_strerror(zmq_errno()));
            goto out;
        }
        for (size_t j = 0; j < n_items; j++) {
            size_t k = idx[j];
            if (!(items[j].revents & ZMQ_POLLIN))
                continue;
            for (int got = 0; got < 256; got++) { /* drain, fairly */
                uint8_t *reply = NULL;
                size_t len = 0;
                net_err err = client_conn_recv(p.conn[k], 0, &reply, &len);
                if (err == NET_ERR_TIMEOUT)
                    break;
                if (err != NET_OK) {
                    pipe_drop_node(&p, k, err == NET_ERR_MALFORMED ? "sent frames that are not an evote reply"
                                                                   : net_strerror(err));
                    break;
                }
                if (p.dead[k]) { /* the answer to a probe: back at work */
                    p.dead[k] = 0;
                    fprintf(stderr, "evote %s: %s answers again\n", b->cmd, b->nodes[k]);
                }
                p.last_heard[k] = cli_mono_s();
                p.owed_since[k] = 0;
                pipe_on_reply(&p, k, reply, len);
                free(reply);
            }
        }
    }
    b->last_commit = p.last_commit;
    ok = 1;
out:
    for (size_t k = 0; k < b->n_nodes; k++)
        client_conn_destroy(&p.conn[k]);
    free(p.queue);
    free(p.later);
    return ok;
}

/* --encrypt-only FILE: one line per sealed ballot, its signed transaction
 * in hex (what SubmitTx carries), in the voters' order; stdout gets the
 * tracking codes as a cast would. Written to FILE.tmp and renamed, so FILE
 * is whole or absent. Returns: 0, or EXIT_FAILED after saying why. */
static int batch_write_sealed(batch *b, double secs, size_t threads)
{
    size_t len = strlen(b->encrypt_only), sealed = 0;
    char *tmp = malloc(len + 5), *hex = NULL;
    size_t hex_cap = 0;
    FILE *f = NULL;
    int rc = EXIT_FAILED;

    if (tmp == NULL) {
        fprintf(stderr, "evote %s: out of memory\n", b->cmd);
        return EXIT_FAILED;
    }
    memcpy(tmp, b->encrypt_only, len);
    memcpy(tmp + len, ".tmp", 5);
    f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "evote %s: cannot create %s: %s\n", b->cmd, tmp, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < b->n; i++) {
        batch_voter *bv = &b->v[i];
        if (bv->state != BV_TO_SUBMIT) {
            printf("-\n");
            continue;
        }
        if (2 * bv->tx_len + 1 > hex_cap) {
            char *grown = realloc(hex, 2 * bv->tx_len + 1);
            if (grown == NULL) {
                fprintf(stderr, "evote %s: out of memory\n", b->cmd);
                goto out;
            }
            hex = grown;
            hex_cap = 2 * bv->tx_len + 1;
        }
        crypto_hex(bv->tx, bv->tx_len, hex);
        fprintf(f, "%s\n", hex);
        print_hex(bv->code, sizeof bv->code);
        printf("\n");
        sealed++;
    }
    if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
        fprintf(stderr, "evote %s: cannot write %s: %s\n", b->cmd, tmp, strerror(errno));
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        fprintf(stderr, "evote %s: cannot write %s: %s\n", b->cmd, tmp, strerror(errno));
        goto out;
    }
    f = NULL;
    if (rename(tmp, b->encrypt_only) != 0) {
        fprintf(stderr, "evote %s: cannot rename %s to %s: %s\n", b->cmd, tmp, b->encrypt_only, strerror(errno));
        goto out;
    }
    fflush(stdout);
    fprintf(stderr, "evote %s: %zu ballots from %s: encrypted and signed on %zu thread%s in %.1f s (%.0f/s); "
                    "%zu written to %s, none submitted\n",
            b->cmd, b->n, b->path, threads, threads == 1 ? "" : "s", secs, (double)sealed / (secs > 0 ? secs : 1e-9),
            sealed, b->encrypt_only);
    rc = sealed == b->n ? 0 : EXIT_FAILED;
out:
    if (f != NULL) {
        fclose(f);
        unlink(tmp);
    } else if (rc != 0) {
        unlink(tmp);
    }
    free(hex);
    free(tmp);
    return rc;
}

/* evote vote --voters FILE: many voters' ballots, encrypted and signed on
 * every core first (the voters' machines' work), then submitted pipelined. */
static int vote_batch(batch *b, const char *genesis_path, long threads)
{
    Evote__V1__ApiResponse *resp = NULL;
    const Evote__V1__ElectionRecord *rec;
    const Evote__V1__ElectionCreate *d;
    bc_question qs[MAX_Q];
    bc_election *e = NULL;
    genesis *g = NULL;
    uint8_t ehash[ELECTION_HASH_LEN];
    node_opts o;
    size_t started = 0, sealed = 0, accepted = 0, counted = 0, refused = 0, pending = 0;
    double t0, t1, t2, t_end;
    char name[32];
    int rc;

    if (!id_ok(b->cmd, b->id))
        return EXIT_USAGE;
    rc = cli_load_genesis(b->cmd, genesis_path, &g);
    if (rc == 0)
        rc = batch_read(b);
    if (rc != 0)
        goto out;
    b->g = g;
    election_hash(g->chain_id, (const uint8_t *)b->id, strlen(b->id), ehash);
    node_opts_init(&o, b->cmd);
    o.timeout_ms = b->timeout_ms;
    o.node = b->nodes[0];
    for (size_t k = 1; k < b->n_nodes && k <= NODE_MAX_ALT; k++)
        o.alt[o.n_alt++] = b->nodes[k];
    rc = fetch_vouched_election(&o, g, b->id, ehash, VOTE_REFUSAL, &resp);
    if (rc != 0)
        goto out;
    rc = EXIT_FAILED;
    rec = resp->election;
    d = rec->definition;
    if (d->n_questions == 0 || d->n_questions > MAX_Q) {
        fprintf(stderr, "evote %s: the election has %zu questions\n", b->cmd, d->n_questions);
        goto out;
    }
    for (size_t i = 0; i < d->n_questions; i++) {
        const Evote__V1__Question *q = d->questions[i];
        if (b->slots + q->n_options > ELECTION_MAX_SLOTS) {
            fprintf(stderr, "evote %s: the election has more than %d options\n", b->cmd, ELECTION_MAX_SLOTS);
            goto out;
        }
        qs[i] = (bc_question){(uint32_t)q->n_options, q->min_selections, q->max_selections};
        b->slots += q->n_options;
    }
    if (rec->election_key.len != EC_POINT_LEN) {
        fprintf(stderr, "evote %s: election '%s' has no election key yet (the trustees' key ceremony is not over): "
                        "ballots can be cast once an authority opened it\n",
                b->cmd, b->id);
        goto out;
    }
    if (!batch_selections(b, d)) {
        rc = EXIT_USAGE;
        goto out;
    }
    if (bc_election_new(&e, rec->election_hash.data, rec->election_key.data, qs, d->n_questions) != BC_OK) {
        fprintf(stderr, "evote %s: the election's key or questions from %s are unusable: the node is faulty\n",
                b->cmd, o.node);
        goto out;
    }
    b->e = e;
    t0 = cli_mono_s();
    if (!batch_seal_all(b, threads, &started))
        goto out;
    t1 = cli_mono_s();
    for (size_t i = 0; i < b->n; i++)
        sealed += b->v[i].state == BV_TO_SUBMIT;
    if (b->encrypt_only != NULL) {
        rc = batch_write_sealed(b, t1 - t0, started);
        goto out;
    }
    if (sealed > 0 && !batch_pipeline(b))
        goto out;
    t2 = cli_mono_s();
    for (size_t i = 0; i < b->n; i++) {
        batch_voter *bv = &b->v[i];
        if (!bv->accepted) {
            printf("-\n");
            continue;
        }
        print_hex(bv->code, sizeof bv->code);
        printf("\n");
        accepted++;
        if (b->wait_ms == 0)
            continue;
        if (bv->ans.state == EVOTE__V1__TX_STATE__TX_STATE_COMMITTED &&
            bv->ans.result == EVOTE__V1__TX_RESULT__TX_RESULT_OK) {
            counted++;
        } else if (bv->ans.state == EVOTE__V1__TX_STATE__TX_STATE_COMMITTED) {
            refused++;
            fprintf(stderr, "evote %s: %s line %lu (%s): the ballot is in block %" PRIu64 " but the chain refused it (%s): %s\n",
                    b->cmd, b->path, bv->line, bv->key_path, bv->ans.height, RESULT_NAME(bv->ans.result, name),
                    election_result_text(bv->ans.result));
        } else {
            pending++;
            fprintf(stderr, "evote %s: %s line %lu (%s): the ballot is %s after %ld ms\n", b->cmd, b->path,
                    bv->line, bv->key_path, state_word(bv->ans.state), b->wait_ms);
        }
    }
    fflush(stdout);
    /* The rate: ballots / from the first submission to the last commit seen
     * (with --wait), or to the last acceptance (without). Encryption, the
     * voters' own work, is reported apart. */
    t_end = b->wait_ms > 0 && b->last_commit > 0 ? b->last_commit : t2;
    fprintf(stderr, "evote %s: %zu ballots from %s: encrypted and signed on %zu thread%s in %.1f s (%.0f/s); "
                    "submitted to %zu node%s, up to %zu in flight each (%zu busy answers retried, %zu requests "
                    "sent again)\n",
            b->cmd, b->n, b->path, started, started == 1 ? "" : "s", t1 - t0,
            (double)sealed / (t1 - t0 > 0 ? t1 - t0 : 1e-9), b->n_nodes, b->n_nodes == 1 ? "" : "s", b->window,
            b->busy_answers, b->resent);
    fprintf(stderr, "evote %s: %zu ballots %s in %.2f s from the first submission (%.0f/s): %zu accepted", b->cmd,
            b->wait_ms > 0 ? counted : accepted, b->wait_ms > 0 ? "committed" : "accepted", t_end - t1,
            (double)(b->wait_ms > 0 ? counted : accepted) / (t_end - t1 > 0 ? t_end - t1 : 1e-9), accepted);
    if (b->wait_ms > 0)
        fprintf(stderr, ", %zu committed and counted, %zu refused by the chain, %zu not committed", counted, refused,
                pending);
    fprintf(stderr, "; %zu not cast\n", b->n - accepted);
    rc = (accepted == b->n && refused == 0 && pending == 0) ? 0 : EXIT_FAILED;
out:
    for (size_t i = 0; i < b->n; i++) {
        if (b->v[i].sel != NULL)
            crypto_wipe(b->v[i].sel, b->slots);
        free(b->v[i].sel);
        free(b->v[i].key_path);
        free(b->v[i].choice);
        free(b->v[i].tx);
    }
    free(b->v);
    bc_election_destroy(&e);
    if (resp != NULL)
        evote__v1__api_response__free_unpacked(resp, NULL);
    genesis_destroy(&g);
    return rc;
}

static const char vote_help[] =
    "usage: evote vote --key VOTER.key --genesis G --id ID --choice OPTION\n"
    "                  [--choice ... for each further question] [--choices \"A,C\"]\n"
    "                  [--wait MS] [--node EP]... [--timeout MS]\n"
    "       evote vote --voters FILE --genesis G --id ID [--threads N] [--window N]\n"
    "                  [--encrypt-only OUT]\n"
    "                  [--wait MS] [--node EP]... [--timeout MS]\n"
    "\n"
    "Casts an encrypted ballot: fetches the election (questions and election\n"
    "key) from the node, and goes on only when f+1 validators of the genesis\n"
    "vouch for that key and those questions (their attestations on chain;\n"
    "waits up to 15 s for them, asking each --node in turn), so the node asked\n"
    "cannot hand out a key of its own; encrypts one 0/1 per option under the\n"
    "key with zero-knowledge proofs that the ballot is well formed, bound to\n"
    "this election and to the voter's key, signs it with VOTER.key and\n"
    "submits it.\n"
    "Nobody, no authority and no fewer than t trustees, can read the choice.\n"
    "\n"
    "Prints the TRACKING CODE (64 hex digits): 'evote track CODE' shows, at\n"
    "any time, that the ballot is in the chain and counts.\n"
    "\n"
    "  --choice OPTION   the option text for the next question (in order)\n"
    "  --choices \"A,C\"   for an approval question: the options chosen (\"\" = none)\n"
    "  --no-precheck  submit even when the node says the key is not on the roll or\n"
    "                 has voted (the validator then refuses it, saying why)\n"
    "  --key K        the voter's secret key file (its public key is on the roll)\n"
    "\n"
    "Many voters at once (--voters FILE): each line of FILE is\n"
    "  KEYFILE CHOICE[;CHOICE for each further question]\n"
    "(an approval question takes \"A,C\"; blank lines and '#' comments skipped;\n"
    "'-' reads standard input). The election is fetched once; every ballot is\n"
    "first encrypted and signed, on --threads threads (default: one per core);\n"
    "then they are submitted pipelined: one connection per --node, up to\n"
    "--window ballots in flight on each (voter i goes to node i mod count\n"
    "first, to another node when that one's window is full), answers matched\n"
    "to ballots; a node that is busy (mempool full) is asked again with\n"
    "back-off; a request unanswered after --timeout is sent again, to the\n"
    "next node first, and at once when the node answers as a new process (it\n"
    "restarted; a node silent for 1 s is asked its status to find out); one\n"
    "that answers nothing for 3 x --timeout (15 s at least) is set aside, its\n"
    "ballots going to the others, until it answers a status probe (the same\n"
    "signed bytes: a ballot is never cast twice). With --wait, each accepted\n"
    "ballot's commit is awaited at the node that took it, and a ballot that\n"
    "node no longer knows (it restarted before the commit) is submitted again.\n"
    "Prints one line per voter, in\n"
    "FILE's order: the tracking code, or '-' when no node took the ballot\n"
    "(stderr says why). stderr ends with the encryption time, and the ballots\n"
    "committed (accepted without --wait) per second from the first submission\n"
    "to the last commit seen.\n"
    "No roll pre-check: the chain records refusals (with --wait, they are\n"
    "reported). A voter listed twice in one FILE has two ballots in no defined\n"
    "order: cast a revote in a later run. Exits 0 when every ballot was\n"
    "accepted (and, with --wait, committed and counted).\n"
    "  --voters FILE  the voters and their choices\n"
    "  --threads N    1..64 threads that encrypt and sign\n"
    "  --window N     1..1000 ballots in flight per node (default 64)\n"
    "  --encrypt-only OUT  encrypt and sign only: write each sealed ballot (its\n"
    "                 signed transaction, hex, one per line) to OUT and print the\n"
    "                 tracking codes; nothing is submitted (for benchmarks that\n"
    "                 feed a validator's pipeline directly)\n" SIGNER_HELP;

/* A voter's ballot over plain TCP to another machine: anyone on the path
 * sees who votes when (the ballot itself is encrypted). Says so, once per
 * such --node; the loopback is the voter's own machine. */
static void warn_plain_remote(const char *cmd, const char *spec)
{
    static const char *const local[] = {"tcp://127.", "tcp://localhost:", "tcp://[::1]:"};
    uint8_t key[NET_CURVE_KEY_LEN];
    const char *ep;
    int curve;

    if (!node_spec_split(spec, &ep, key, &curve) || curve)
        return;
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        if (strncmp(ep, local[i], strlen(local[i])) == 0)
            return;
    fprintf(stderr,
            "evote %s: warning: %s is a plain TCP connection: the ballot is encrypted, but anyone on the path "
            "sees which voter key casts it, and when. Use the validator's encrypted endpoint: --node "
            "KEY@ENDPOINT (its client_curve_listen; KEY its CURVE key in the genesis)\n",
            cmd, ep);
}

int cmd_vote(int argc, char **argv)
{
    static const struct option opts[] = {SIGNER_OPTIONS,
                                         {"choice", required_argument, NULL, O_CHOICE},
                                         {"choices", required_argument, NULL, O_CHOICES},
                                         {"no-precheck", no_argument, NULL, O_NO_PRECHECK},
                                         {"voters", required_argument, NULL, O_VOTERS},
                                         {"threads", required_argument, NULL, O_THREADS},
                                         {"window", required_argument, NULL, O_WINDOW},
                                         {"encrypt-only", required_argument, NULL, O_ENCRYPT_ONLY},
                                         {0, 0, 0, 0}};
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__Ballot ballot = EVOTE__V1__BALLOT__INIT;
    Evote__V1__ApiResponse *resp = NULL;
    const Evote__V1__ElectionRecord *rec;
    const Evote__V1__ElectionCreate *d;
    const char *choices[MAX_Q];
    bc_question qs[MAX_Q];
    bc_election *e = NULL;
    uint8_t sel[ELECTION_MAX_SLOTS], code[CRYPTO_HASH_LEN], vkey[1 + ELECTION_HASH_LEN + CRYPTO_PUBKEY_LEN];
    uint8_t *enc = NULL, *v = NULL;
    size_t nc = 0, slots = 0, enc_len, vlen = 0;
    tx_answer ans;
    char hex[2 * CRYPTO_HASH_LEN + 1];
    int c, rc, found = 0, precheck = 1;
    const char *voters = NULL, *nodes[BATCH_MAX_NODES];
    size_t n_nodes = 0;
    uint64_t threads = 0, window = BATCH_WINDOW;
    const char *encrypt_only = NULL;
    signer s;

    if (cli_wants_help(argc, argv)) {
        fputs(vote_help, stdout);
        return 0;
    }
    signer_init(&s, "vote");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == O_CHOICE || c == O_CHOICES) {
            if (nc == MAX_Q) {
                fprintf(stderr, "evote vote: too many --choice\n");
                return EXIT_USAGE;
            }
            choices[nc++] = optarg;
        } else if (c == O_NO_PRECHECK) {
            precheck = 0;
        } else if (c == O_VOTERS) {
            voters = optarg;
        } else if (c == O_THREADS) {
            if (!parse_u64(s.o.cmd, "--threads", optarg, 1, BATCH_MAX_THREADS, &threads))
                return EXIT_USAGE;
        } else if (c == O_ENCRYPT_ONLY) {
            encrypt_only = optarg;
        } else if (c == O_WINDOW) {
            if (!parse_u64(s.o.cmd, "--window", optarg, 1, 1000, &window))
                return EXIT_USAGE;
        } else if (c == OPT_NODE && n_nodes == BATCH_MAX_NODES) {
            fprintf(stderr, "evote vote: at most %d --node\n", BATCH_MAX_NODES);
            return EXIT_USAGE;
        } else if ((rc = signer_opt(&s, c, optarg)) != 1) {
            return rc < 0 ? EXIT_USAGE : usage_error(vote_help);
        } else if (c == OPT_NODE) {
            nodes[n_nodes++] = optarg;
        }
    }
    if (!operands_ok(s.o.cmd, argc, argv, 0, "", vote_help))
        return EXIT_USAGE;
    for (size_t k = 0; k < (n_nodes ? n_nodes : 1); k++)
        warn_plain_remote(s.o.cmd, n_nodes ? nodes[k] : s.o.node);
    if (encrypt_only != NULL && voters == NULL) {
        fprintf(stderr, "evote vote: --encrypt-only OUT goes with --voters FILE\n\n");
        return usage_error(vote_help);
    }
    if (voters != NULL) {
        batch b;
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        if (s.key_path != NULL || nc != 0) {
            fprintf(stderr, "evote vote: --voters FILE names the keys and choices: no --key or --choice with it\n\n");
            return usage_error(vote_help);
        }
        if (s.genesis_path == NULL)
            return missing_option(s.o.cmd, "--genesis GENESIS", vote_help);
        if (s.id == NULL)
            return missing_option(s.o.cmd, "--id ID", vote_help);
        memset(&b, 0, sizeof b);
        b.cmd = s.o.cmd;
        b.id = s.id;
        b.path = voters;
        b.timeout_ms = s.o.timeout_ms;
        b.wait_ms = s.wait_ms;
        b.n_nodes = n_nodes ? n_nodes : 1;
        if (n_nodes == 0)
            b.nodes[0] = s.o.node;
        for (size_t k = 0; k < n_nodes; k++)
            b.nodes[k] = nodes[k];
        b.window = (size_t)window;
        b.encrypt_only = encrypt_only;
        b.busy_limit_ms = 60000;
        b.silence_ms = 3 * b.timeout_ms > 15000 ? 3 * b.timeout_ms : 15000;
        if (threads == 0)
            threads = cores < 1 ? 1 : cores > BATCH_MAX_THREADS ? BATCH_MAX_THREADS : (uint64_t)cores;
        return vote_batch(&b, s.genesis_path, (long)threads);
    }
    if (nc == 0)
        return missing_option(s.o.cmd, "--choice OPTION", vote_help);
    rc = signer_load(&s, vote_help);
    if (rc != 0)
        goto out;
    rc = fetch_vouched_election(&s.o, s.g, s.id, s.e, VOTE_REFUSAL, &resp);
    if (rc != 0)
        goto out;
    rc = EXIT_FAILED;
    rec = resp->election;
    d = rec->definition;
    if (nc != d->n_questions) {
        char buf[256];
        fprintf(stderr, "evote vote: election '%s' has %zu question%s and %zu choice%s were given; one --choice (or "
                        "--choices) per question, in order:\n",
                s.id, d->n_questions, d->n_questions == 1 ? "" : "s", nc, nc == 1 ? "" : "s");
        for (size_t i = 0; i < d->n_questions; i++)
            fprintf(stderr, "  %zu. %s\n", i + 1, clean(d->questions[i]->text, buf, sizeof buf));
        rc = EXIT_USAGE;
        goto out;
    }
    for (size_t i = 0; i < d->n_questions; i++) {
        const Evote__V1__Question *q = d->questions[i];
        if (slots + q->n_options > ELECTION_MAX_SLOTS) {
            fprintf(stderr, "evote vote: the election has more than %d options\n", ELECTION_MAX_SLOTS);
            goto out;
        }
        if (!cli_parse_selection(s.o.cmd, q, i, choices[i], sel + slots)) {
            rc = EXIT_USAGE;
            goto out;
        }
        qs[i] = (bc_question){(uint32_t)q->n_options, q->min_selections, q->max_selections};
        slots += q->n_options;
    }
    if (rec->election_key.len != EC_POINT_LEN) {
        fprintf(stderr, "evote vote: election '%s' has no election key yet (the trustees' key ceremony is not over): "
                        "ballots can be cast once an authority opened it\n",
                s.id);
        goto out;
    }
    /* The roll, before spending a ballot on a refusal. */
    vkey[0] = ELECTION_KEY_VOTER;
    memcpy(vkey + 1, s.e, ELECTION_HASH_LEN);
    memcpy(vkey + 1 + ELECTION_HASH_LEN, s.pub, CRYPTO_PUBKEY_LEN);
    if (precheck && (rc = fetch_state(&s.o, vkey, sizeof vkey, &v, &vlen, &found)) != 0)
        goto out;
    rc = EXIT_FAILED;
    if (precheck && !found) {
        /* Frozen for good when the polls opened with the key (a later
         * opening height or any opening time: the chain decides). */
        int frozen = d->roll_frozen_at_opening && d->open_time_ms == 0 && d->open_height <= rec->key_height;
        crypto_hex(s.pub, CRYPTO_PUBKEY_LEN, hex);
        fprintf(stderr, "evote vote: the key %s (%s) is not on the roll of election '%s' as %s has it: %s\n", hex,
                s.key_path, s.id, s.o.node,
                frozen ? "the roll was frozen when the polls opened, so this key cannot vote in this election"
                       : "ask the election authority to register it (a registration just made counts once it is "
                         "committed; --no-precheck lets the validators decide)");
        goto out;
    }
    if (precheck && vlen >= 1 && v[0] == 1 && !d->revoting_allowed) {
        fprintf(stderr, "evote vote: this voter has already voted in election '%s', which does not allow revoting; "
                        "its ballot counts ('evote track CODE' with the code printed then)\n",
                s.id);
        goto out;
    }
    if (bc_election_new(&e, rec->election_hash.data, rec->election_key.data, qs, d->n_questions) != BC_OK) {
        fprintf(stderr, "evote vote: the election's key or questions from %s are unusable: the node is faulty\n",
                s.o.node);
        goto out;
    }
    enc_len = bc_ballot_size(e);
    enc = malloc(enc_len);
    if (enc == NULL || bc_ballot_encrypt(e, s.pub, sel, slots, enc, enc_len) != BC_OK) {
        fprintf(stderr, "evote vote: cannot encrypt the ballot\n");
        goto out;
    }
    ballot.election_id.data = (uint8_t *)s.id;
    ballot.election_id.len = strlen(s.id);
    ballot.encrypted_ballot.data = enc;
    ballot.encrypted_ballot.len = enc_len;
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_BALLOT;
    body.ballot = &ballot;
    rc = seal_submit(&s, &body, code, &ans);
    if (ans.state != EVOTE__V1__TX_STATE__TX_STATE_UNSPECIFIED || rc == 0) {
        crypto_hex(code, sizeof code, hex);
        if (ans.state == EVOTE__V1__TX_STATE__TX_STATE_COMMITTED &&
            ans.result != EVOTE__V1__TX_RESULT__TX_RESULT_OK) {
            /* The chain recorded a refusal: this ballot will never count. */
            fprintf(stderr, "evote vote: this ballot does not count; its tracking code %s\n", hex);
            fprintf(stderr, "evote vote: 'evote track %s' shows the refusal as the chain recorded it\n", hex);
        } else {
            fprintf(stderr, "evote vote: your tracking code is %s\n", hex);
            fprintf(stderr, "evote vote: 'evote track %s' shows whether your ballot counts\n", hex);
        }
    }
out:
    crypto_wipe(sel, sizeof sel);
    bc_election_destroy(&e);
    free(enc);
    free(v);
    if (resp != NULL)
        evote__v1__api_response__free_unpacked(resp, NULL);
    signer_free(&s);
    return rc;
}

/* =============================================================== track */

static const char track_help[] =
    "usage: evote track CODE [--genesis G] [--node EP] [--timeout MS] [--json]\n"
    "\n"
    "Shows what the chain says of a ballot's tracking code (as 'evote vote'\n"
    "printed it): the block that holds it, whether it counts (COUNTED; REPLACED\n"
    "by a later ballot of the same voter; or REJECTED with the reason), and the\n"
    "validators that signed the block's commit certificate. With --genesis, the\n"
    "signers are named and their signatures checked against the genesis, and\n"
    "the block is fetched to check that the batch the certificate signs holds\n"
    "this ballot (exit 1 when either fails). Once a stable checkpoint covers\n"
    "the block, its result code is certified too; a REPLACED ballot's\n"
    "replacement is proven the same way; a COUNTED ballot is proven counted\n"
    "when the election allows no revoting. With revoting, that no later ballot\n"
    "of the voter replaced it is each validator's word, which it signs (its\n"
    "height, and whether the polls were closed there): with --node given\n"
    "again, every node is asked, and f+1 distinct validators signing COUNTED\n"
    "prove it up to the lowest of their heights (one of them is honest), for\n"
    "good once they all saw the polls closed; a validator signing REPLACED\n"
    "against them is a dispute (exit 1). What is not proven is the asked\n"
    "node's word; evote-audit re-derives everything offline.\n"
    "\n"
    "  --genesis G    the chain's genesis file: check and name the signers, and\n"
    "                 that the certified block holds the ballot\n" NODE_HELP
    "  --json         one JSON object instead of text\n";

/* With the genesis, for a ballot the node calls REPLACED: the replacing
 * ballot (its tracking code in the record) is proven the same way — in a
 * certified batch — and it is a ballot of the same voter key in the same
 * election, later in the chain; its result, once a checkpoint covers it,
 * must be OK. mine: what prove_tx proved of the replaced ballot. Returns:
 * 1 proven (*where: its height), 0 not (why set). */
static int prove_replaced(const node_opts *o, const genesis *g, const Evote__V1__TxStatus *tx, const tx_proof *mine,
                          const ProtobufCBinaryData *by, uint64_t *where, char *why, size_t why_len)
{
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__Track tq = EVOTE__V1__TRACK__INIT;
    Evote__V1__ApiResponse *resp = NULL;
    tx_proof *pf = NULL;
    int ok = 0;

    if (!mine->is_ballot || by->len != CRYPTO_HASH_LEN) {
        snprintf(why, why_len, "the node names no replacing ballot");
        return 0;
    }
    tq.code = *by;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_TRACK;
    req.track = &tq;
    pf = malloc(sizeof *pf);
    if (pf == NULL || node_call(o, &req, 0, &resp) != 0 ||
        resp->status != EVOTE__V1__API_STATUS__API_STATUS_OK || resp->tx == NULL ||
        resp->tx->state != EVOTE__V1__TX_STATE__TX_STATE_COMMITTED) {
        snprintf(why, why_len, "the replacing ballot could not be looked up");
        goto out;
    }
    prove_tx(o, g, resp->tx->height, resp->tx->index, by->data, NULL, pf); /* checks its block's certificate */
    if (!pf->included || pf->certified == -1) {
        snprintf(why, why_len, "the replacing ballot is not proven: %s", pf->why);
    } else if (!pf->is_ballot || memcmp(pf->signer, mine->signer, CRYPTO_PUBKEY_LEN) != 0 ||
               pf->election_len != mine->election_len ||
               memcmp(pf->election, mine->election, mine->election_len) != 0) {
        snprintf(why, why_len, "the replacing transaction is not a ballot of the same voter and election");
    } else if (resp->tx->height < tx->height || (resp->tx->height == tx->height && resp->tx->index <= tx->index)) {
        snprintf(why, why_len, "the replacing ballot is not later in the chain");
    } else if (pf->certified == 1 && pf->result != EVOTE__V1__TX_RESULT__TX_RESULT_OK) {
        snprintf(why, why_len, "the replacing ballot was refused by the chain");
    } else {
        *where = resp->tx->height;
        ok = 1;
    }
out:
    if (resp != NULL)
        evote__v1__api_response__free_unpacked(resp, NULL);
    free(pf);
    return ok;
}

/* COUNTED, for a ballot whose result OK is certified (mine): in an
 * election without revoting an accepted ballot is the voter's only one and
 * cannot be replaced, so it is counted; the definition's "no revoting"
 * comes with f+1 validators' attestations (fetch_vouched_election). With
 * revoting, that no later ballot replaced it stays the node's word.
 * Returns: 1 proven, -1 revoting allowed, -2 no vouched definition. */
static int prove_counted(const node_opts *o, const genesis *g, const tx_proof *mine)
{
    Evote__V1__ApiResponse *resp = NULL;
    uint8_t e[ELECTION_HASH_LEN];
    char id[ELECTION_MAX_ID + 1];
    int rc;

    if (mine->election_len == 0 || mine->election_len > ELECTION_MAX_ID)
        return -2;
    memcpy(id, mine->election, mine->election_len);
    id[mine->election_len] = '\0';
    if (strlen(id) != mine->election_len)
        return -2;
    election_hash(g->chain_id, mine->election, mine->election_len, e);
    if (fetch_vouched_election(o, g, id, e,
                               "not proving the ballot counted from it (the rest of the answer stands)", &resp) != 0)
        return -2;
    rc = resp->election != NULL && resp->election->definition != NULL
             ? (resp->election->definition->revoting_allowed ? -1 : 1)
             : -2;
    evote__v1__api_response__free_unpacked(resp, NULL);
    return rc;
}

#define TRACK_STATEMENT_MAX 256 /* a TrackStatement is ~125 bytes */

/* A validator's signed Track statement (ApiResponse.track_statement). */
typedef struct {
    uint32_t validator;
    uint64_t height;
    int status; /* TrackingRecord.Status */
    int polls_closed;
    uint8_t replaced_by[CRYPTO_HASH_LEN];
    int has_replaced_by;
} track_statement;

/* Checks the statement in resp: signed by the genesis validator it names,
 * for this chain and this code. Returns: 1 (*out set), 0 when there is none,
 * -1 when it does not check (why says how). */
static int statement_check(const genesis *g, const uint8_t code[CRYPTO_HASH_LEN], const Evote__V1__ApiResponse *resp,
                           track_statement *out, char *why, size_t why_size)
{
    Evote__V1__TrackStatement *st;

    if (resp->track_statement.len == 0)
        return 0;
    if (!genesis_track_statement_open(g, resp->track_statement.data, resp->track_statement.len,
                                      resp->track_signature.data, resp->track_signature.len, &st, why, why_size))
        return -1;
    if (memcmp(st->code.data, code, CRYPTO_HASH_LEN) != 0) {
        snprintf(why, why_size, "its signed statement is about another ballot");
        evote__v1__track_statement__free_unpacked(st, NULL);
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->validator = st->validator;
    out->height = st->height;
    out->status = st->status;
    out->polls_closed = st->polls_closed;
    if (st->replaced_by.len == CRYPTO_HASH_LEN) {
        memcpy(out->replaced_by, st->replaced_by.data, CRYPTO_HASH_LEN);
        out->has_replaced_by = 1;
    }
    evote__v1__track_statement__free_unpacked(st, NULL);
    return 1;
}

/* What the validators asked sign of a COUNTED ballot in an election with
 * revoting: that it is the voter's last ballot, at their heights. */
typedef struct {
    int said[GENESIS_MAX_VALIDATORS]; /* validator index -> 1 counted, 2 counted and final */
    uint64_t height[GENESIS_MAX_VALIDATORS];
    size_t counted, final;                   /* distinct validators */
    uint64_t as_of;                          /* the lowest height of those that say counted */
    int conflict;                            /* a valid statement says REPLACED */
    uint32_t conflict_by;
    uint8_t conflict_code[CRYPTO_HASH_LEN];
    struct {                                 /* each counted signer's statement, as evidence (--json) */
        uint8_t bytes[TRACK_STATEMENT_MAX];
        size_t len;
        uint8_t sig[CRYPTO_SIG_LEN];
    } evidence[GENESIS_MAX_VALIDATORS];
} counted_votes;

static void counted_add(counted_votes *cv, const track_statement *st, const Evote__V1__ApiResponse *resp)
{
    if (st->validator >= GENESIS_MAX_VALIDATORS)
        return;
    if (st->status == EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_REPLACED) {
        if (!cv->conflict) {
            cv->conflict = 1;
            cv->conflict_by = st->validator;
            memcpy(cv->conflict_code, st->replaced_by, CRYPTO_HASH_LEN);
        }
        return;
    }
    if (st->status != EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_COUNTED || cv->said[st->validator] != 0)
        return;
    cv->said[st->validator] = st->polls_closed ? 2 : 1;
    cv->height[st->validator] = st->height;
    if (resp != NULL && resp->track_statement.len <= TRACK_STATEMENT_MAX &&
        resp->track_signature.len == CRYPTO_SIG_LEN) {
        memcpy(cv->evidence[st->validator].bytes, resp->track_statement.data, resp->track_statement.len);
        cv->evidence[st->validator].len = resp->track_statement.len;
        memcpy(cv->evidence[st->validator].sig, resp->track_signature.data, CRYPTO_SIG_LEN);
    }
    cv->counted++;
    cv->final += st->polls_closed ? 1 : 0;
    if (cv->counted == 1 || st->height < cv->as_of)
        cv->as_of = st->height;
}

/* Asks every other --node for its signed statement on the code (the first
 * node's is already in cv). */
/* One Track question to one more --node, on its own thread: the nodes are
 * asked at once, so a dead one costs its timeout once, not once each. */
typedef struct {
    node_opts one;
    const uint8_t *code;
    Evote__V1__ApiResponse *resp;
    int rc;
} track_ask;

static void *track_ask_main(void *arg)
{
    track_ask *a = arg;
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__Track tq = EVOTE__V1__TRACK__INIT;
    client_conn *conn = NULL;

    tq.code.data = (uint8_t *)a->code;
    tq.code.len = CRYPTO_HASH_LEN;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_TRACK;
    req.track = &tq;
    a->rc = node_call_conn(&a->one, &conn, &req, 0, &a->resp);
    client_conn_destroy(&conn);
    return NULL;
}

static void counted_ask_others(const node_opts *o, const genesis *g, const uint8_t code[CRYPTO_HASH_LEN],
                               counted_votes *cv)
{
    track_ask asks[NODE_MAX_ALT];
    pthread_t tid[NODE_MAX_ALT];
    int started[NODE_MAX_ALT] = {0};

    for (size_t k = 0; k < o->n_alt; k++) {
        asks[k].one = *o;
        asks[k].one.node = o->alt[k];
        asks[k].one.n_alt = 0;
        asks[k].code = code;
        asks[k].resp = NULL;
        asks[k].rc = EXIT_FAILED;
        started[k] = pthread_create(&tid[k], NULL, track_ask_main, &asks[k]) == 0;
        if (!started[k])
            track_ask_main(&asks[k]); /* no thread: ask from here */
    }
    for (size_t k = 0; k < o->n_alt; k++) {
        track_ask *a = &asks[k];
        track_statement st;
        char why[160];

        if (started[k])
            pthread_join(tid[k], NULL);
        if (a->rc == 0) {
            int r = a->resp->status == EVOTE__V1__API_STATUS__API_STATUS_OK
                        ? statement_check(g, code, a->resp, &st, why, sizeof why)
                        : 0;
            if (r == 1)
                counted_add(cv, &st, a->resp);
            else if (r < 0)
                fprintf(stderr, "evote track: %s: %s; its word is not counted\n", a->one.node, why);
            else
                fprintf(stderr, "evote track: %s signs no statement on this ballot\n", a->one.node);
        }
        if (a->resp != NULL)
            evote__v1__api_response__free_unpacked(a->resp, NULL);
    }
}

int cmd_track(int argc, char **argv)
{
    static const struct option opts[] = {NODE_OPTIONS,
                                         {"genesis", required_argument, NULL, O_GENESIS},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {0, 0, 0, 0}};
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__Track tq = EVOTE__V1__TRACK__INIT;
    Evote__V1__ApiResponse *resp = NULL;
    const Evote__V1__TrackingRecord *tr;
    const Evote__V1__TxStatus *tx;
    const char *genesis_path = NULL, *status, *detail;
    uint8_t code[CRYPTO_HASH_LEN];
    char name[40], reason[256], tr_id[ELECTION_MAX_ID + 1] = "";
    genesis *g = NULL;
    signers_t sg;
    tx_proof pf;
    node_opts o;
    int c, rc, replaced = 0; /* with --genesis, of a REPLACED ballot: 1 proven, -1 not */
    int counted = 0;         /* with --genesis, of a COUNTED ballot: as prove_counted */
    uint64_t replaced_at = 0;
    char replaced_why[240] = "";
    counted_votes cv;       /* with --genesis, revoting: the validators' signed statements */
    track_statement st0;
    char st_why[160] = "";
    int st_bad = 0;         /* the asked node's statement does not check */

    if (cli_wants_help(argc, argv)) {
        fputs(track_help, stdout);
        return 0;
    }
    node_opts_init(&o, "track");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == O_GENESIS)
            genesis_path = optarg;
        else if ((rc = node_opt(&o, c, optarg)) != 1)
            return rc < 0 ? EXIT_USAGE : usage_error(track_help);
    }
    if (!operands_ok(o.cmd, argc, argv, 1, "the tracking code", track_help))
        return EXIT_USAGE;
    if (strlen(argv[optind]) != 2 * CRYPTO_HASH_LEN || crypto_unhex(argv[optind], code, sizeof code) != CRYPTO_OK) {
        fprintf(stderr, "evote track: '%s' is not a tracking code: expected the 64 hex digits 'evote vote' printed\n",
                argv[optind]);
        return EXIT_USAGE;
    }
    if (genesis_path != NULL && (rc = cli_load_genesis(o.cmd, genesis_path, &g)) != 0)
        return rc;
    tq.code.data = code;
    tq.code.len = sizeof code;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_TRACK;
    req.track = &tq;
    rc = node_call(&o, &req, 0, &resp);
    if (rc != 0)
        goto out;
    if (resp->status == EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND) {
        fprintf(stderr, "evote track: %s: %s\n", o.node, clean(resp->reason, reason, sizeof reason));
        rc = EXIT_FAILED;
        goto out;
    }
    tx = resp->tx;
    tr = resp->tracking;
    if (resp->status != EVOTE__V1__API_STATUS__API_STATUS_OK || tx == NULL) {
        rc = bad_answer(&o, resp, "without the ballot's transaction");
        goto out;
    }
    if (tr != NULL && tr->status == EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_COUNTED) {
        status = "COUNTED";
        detail = "the ballot is in the tally";
    } else if (tr != NULL && tr->status == EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_REPLACED) {
        status = "REPLACED";
        detail = "a later ballot of the same voter replaced it (revoting): that one counts";
    } else if (tx->result != EVOTE__V1__TX_RESULT__TX_RESULT_OK) {
        status = "REJECTED";
        detail = election_result_text(tx->result);
    } else {
        status = "NOT A BALLOT";
        detail = "this transaction was accepted but is not a ballot";
    }
    cert_signers(&resp->certificate, g, tx->height, &sg);
    memset(&pf, 0, sizeof pf);
    if (g != NULL && sg.valid >= 2 * g->f + 1)
        prove_tx(&o, g, tx->height, tx->index, code, &resp->certificate, &pf);
    if (pf.included && tr != NULL && tr->status == EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_REPLACED)
        replaced = prove_replaced(&o, g, tx, &pf, &tr->replaced_by, &replaced_at, replaced_why,
                                  sizeof replaced_why) ? 1 : -1;
    if (pf.certified == 1 && pf.result == EVOTE__V1__TX_RESULT__TX_RESULT_OK && pf.is_ballot && tr != NULL &&
        tr->status == EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_COUNTED)
        counted = prove_counted(&o, g, &pf);
    memset(&cv, 0, sizeof cv);
    if (counted == -1) {
        /* Revoting: that no later ballot replaced this one is each
         * validator's word; f+1 distinct validators signing it make it a
         * proof (one of them is honest). */
        int r = statement_check(g, code, resp, &st0, st_why, sizeof st_why);
        if (r == 1)
            counted_add(&cv, &st0, resp);
        else if (r < 0)
            st_bad = 1;
        counted_ask_others(&o, g, code, &cv);
        if (cv.conflict)
            counted = -3;
        else if (cv.final >= g->f + 1)
            counted = 3;
        else if (cv.counted >= g->f + 1)
            counted = 2;
    }
    if (tr != NULL) {
        size_t k = 0;
        for (size_t i = 0; i < tr->election_id.len && i < ELECTION_MAX_ID; i++) {
            uint8_t ch = tr->election_id.data[i];
            tr_id[k++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
        }
        tr_id[k] = '\0';
    }
    if (o.json) {
        printf("{\"code\":");
        json_hex(code, sizeof code);
        printf(",\"height\":%" PRIu64 ",\"index\":%" PRIu32 ",\"result\":\"%s\",\"status\":\"%s\",\"reason\":",
               tx->height, tx->index, RESULT_NAME(tx->result, name), status);
        json_string(detail);
        if (tr != NULL) {
            printf(",\"election\":");
            json_string(tr_id);
            printf(",\"voter\":");
            json_hex(tr->voter.data, tr->voter.len);
            if (tr->replaced_by.len) {
                printf(",\"replaced_by\":");
                json_hex(tr->replaced_by.data, tr->replaced_by.len);
            }
        }
        printf(",\"certificate\":{\"view\":%" PRIu64 ",\"signers\":[", sg.view);
        for (size_t i = 0; i < sg.n; i++) {
            printf("%s", i ? "," : "");
            json_string(sg.names[i]);
        }
        printf("]");
        if (g != NULL)
            printf(",\"valid_signatures\":%zu,\"quorum\":%" PRIu32, sg.valid, 2 * g->f + 1);
        printf("}");
        if (g != NULL) {
            printf(",\"in_certified_batch\":%s", pf.included ? "true" : "false");
            if (pf.certified == 1)
                printf(",\"result_certified\":{\"checkpoint\":%" PRIu64 ",\"signers\":%" PRIu32 "}", pf.cp_seq,
                       pf.cp_signers);
            else
                printf(",\"result_certified\":null");
            if (replaced != 0)
                printf(",\"replacement_checked\":%s", replaced == 1 ? "true" : "false");
            if (counted != 0)
                printf(",\"counted_proven\":%s", counted == 1 || counted >= 2 ? "true" : "false");
            if (counted == -1 || counted == 2 || counted == 3 || counted == -3) {
                size_t k = 0;
                printf(",\"counted_signed_by\":[");
                for (uint32_t v = 0; v < g->n && v < GENESIS_MAX_VALIDATORS; v++)
                    if (cv.said[v]) {
                        printf("%s{\"validator\":", k++ ? "," : "");
                        json_string(g->validators[v].name);
                        printf(",\"height\":%" PRIu64 ",\"polls_closed\":%s", cv.height[v],
                               cv.said[v] == 2 ? "true" : "false");
                        if (cv.evidence[v].len) { /* the signed bytes: evidence the voter can keep */
                            printf(",\"statement\":");
                            json_hex(cv.evidence[v].bytes, cv.evidence[v].len);
                            printf(",\"signature\":");
                            json_hex(cv.evidence[v].sig, CRYPTO_SIG_LEN);
                        }
                        printf("}");
                    }
                printf("],\"counted_final\":%s", counted == 3 ? "true" : "false");
                if (cv.counted)
                    printf(",\"counted_as_of\":%" PRIu64, cv.as_of);
                if (counted == -3) {
                    printf(",\"replaced_per\":");
                    json_string(g->validators[cv.conflict_by].name);
                    printf(",\"replaced_by_per_statement\":");
                    json_hex(cv.conflict_code, CRYPTO_HASH_LEN);
                }
            }
        }
        printf("}\n");
    } else {
        printf("tracking code  ");
        print_hex(code, sizeof code);
        printf("\nblock          height %" PRIu64 ", transaction %" PRIu32 "\n", tx->height, tx->index);
        printf("status         %s: %s\n", status, detail);
        printf("result         %s\n", RESULT_NAME(tx->result, name));
        if (tr != NULL) {
            printf("election       %s\n", tr_id);
            printf("voter          ");
            print_bytes_hex(&tr->voter);
            printf("\n");
            if (tr->replaced_by.len) {
                printf("replaced by    ");
                print_bytes_hex(&tr->replaced_by);
                printf("\n");
            }
        }
        if (sg.n == 0) {
            printf("certificate    (the node sent none)\n");
        } else {
            printf("certificate    view %" PRIu64 ", signed by %zu validator%s:", sg.view, sg.n, sg.n == 1 ? "" : "s");
            for (size_t i = 0; i < sg.n; i++)
                printf("%s %s", i ? "," : "", sg.names[i]);
            printf("\n");
            if (g != NULL)
                printf("               %zu valid signature%s of validators of the genesis; a quorum is %" PRIu32
                       "%s\n",
                       sg.valid, sg.valid == 1 ? "" : "s", 2 * g->f + 1,
                       sg.valid >= 2 * g->f + 1 ? ": the block is final" : ": NOT A QUORUM, ask another node");
            if (pf.included)
                printf("included       transaction %" PRIu32 " of the batch this certificate signs has this "
                       "code as its id (checked)\n",
                       tx->index);
            if (pf.certified == 1)
                printf("certified      the result: the checkpoint at seq %" PRIu64 ", signed by %" PRIu32
                       " validators, covers this block's results (checked)\n",
                       pf.cp_seq, pf.cp_signers);
            else if (pf.included)
                printf("certified      not yet: no stable checkpoint covers this block yet (one every "
                       "checkpoint_interval blocks, and one when the chain goes quiet); until then the result "
                       "is the node's word\n");
            if (replaced == 1)
                printf("replacement    a later ballot of the same voter key and election, in block %" PRIu64
                       " (checked)\n",
                       replaced_at);
            if (counted == 1)
                printf("counted        the election allows no revoting (its definition vouched for by f+1 "
                       "validators): an accepted ballot is the voter's only one, in the tally (checked)\n");
            else if (counted == 3 || counted == 2 || counted == -1) {
                printf("counted        the election allows revoting; %zu validator%s sign%s that this is the voter's "
                       "last ballot:",
                       cv.counted, cv.counted == 1 ? "" : "s", cv.counted == 1 ? "s" : "");
                size_t k = 0;
                for (uint32_t v = 0; v < g->n && v < GENESIS_MAX_VALIDATORS; v++)
                    if (cv.said[v])
                        printf("%s %s (height %" PRIu64 "%s)", k++ ? "," : "", g->validators[v].name, cv.height[v],
                               cv.said[v] == 2 ? ", polls closed" : "");
                printf("%s\n", cv.counted ? "" : " none");
                if (counted == 3)
                    printf("               %zu of them with the polls closed, and f+1 = %" PRIu32 ": one of them is "
                           "honest, so this ballot is final and in the tally (checked)\n",
                           cv.final, g->f + 1);
                else if (counted == 2)
                    printf("               f+1 = %" PRIu32 ": one of them is honest, so no later ballot replaced it "
                           "up to height %" PRIu64 " (checked); the polls were still open there: the voter's key "
                           "may cast another until they close\n",
                           g->f + 1, cv.as_of);
                else
                    printf("               not proven: f+1 = %" PRIu32 " validators must sign it (give --node again "
                           "for more validators; evote-audit --track settles it)\n",
                           g->f + 1);
            } else if (counted == -3) {
                printf("counted        DISPUTED: validator %s signs that a later ballot of this voter replaced this one: ",
                       g->validators[cv.conflict_by].name);
                print_hex(cv.conflict_code, CRYPTO_HASH_LEN);
                printf(" ('evote track' that code shows it)\n");
            }
            else if (counted == -2)
                printf("counted        not proven: no definition of the election that f+1 validators vouch for\n");
            if (g == NULL && !pf.included)
                printf("               (give --genesis G to check the signatures and name the validators)\n");
        }
    }
    rc = 0;
    if (g != NULL && sg.valid < 2 * g->f + 1) {
        fprintf(stderr, "evote track: the commit certificate from %s does not carry a quorum of valid validator "
                        "signatures: do not trust this answer; ask another node\n",
                o.node);
        rc = EXIT_FAILED;
    } else if (g != NULL && !pf.included) {
        fprintf(stderr, "evote track: %s does not prove the ballot is in block %" PRIu64 ": %s; do not trust this "
                        "answer; ask another node\n",
                o.node, tx->height, pf.why);
        rc = EXIT_FAILED;
    } else if (g != NULL && pf.certified == -1) {
        fprintf(stderr, "evote track: %s sent a checkpoint proof that does not certify block %" PRIu64 ": %s; do "
                        "not trust this answer; ask another node\n",
                o.node, tx->height, pf.why);
        rc = EXIT_FAILED;
    } else if (pf.certified == 1 && pf.result != tx->result) {
        fprintf(stderr, "evote track: %s says the result is %s but the certified block says otherwise: do not "
                        "trust this answer; ask another node\n",
                o.node, RESULT_NAME(tx->result, name));
        rc = EXIT_FAILED;
    } else if (st_bad) {
        fprintf(stderr, "evote track: %s: %s; do not trust this answer; ask another node\n", o.node, st_why);
        rc = EXIT_FAILED;
    } else if (counted == -3) {
        fprintf(stderr, "evote track: %s and %s disagree on whether a later ballot replaced this one: one of them "
                        "is faulty; 'evote track' the replacing code with --genesis checks %s's claim\n",
                o.node, g->validators[cv.conflict_by].name, g->validators[cv.conflict_by].name);
        rc = EXIT_FAILED;
    } else if (replaced == -1) {
        fprintf(stderr, "evote track: %s says this ballot was REPLACED but does not prove it: %s; do not trust "
                        "this answer; ask another node\n",
                o.node, replaced_why);
        rc = EXIT_FAILED;
    }
out:
    if (resp != NULL)
        evote__v1__api_response__free_unpacked(resp, NULL);
    genesis_destroy(&g);
    return rc;
}

/* ============================================================== result */

static const char result_help[] =
    "usage: evote result ID [--genesis G] [--node EP]... [--timeout MS] [--json]\n"
    "\n"
    "Prints an election's result as the chain recorded it: per question, the\n"
    "count of each option; the ballots counted; the trustees whose partial\n"
    "decryptions were combined. Exits 1 while there is no result yet.\n"
    "\n"
    "  --genesis G    show the result only when f+1 validators of G vouch for\n"
    "                 it (their attestations on chain; waits up to 15 s for\n"
    "                 them, asking each --node in turn), and name them. Without\n"
    "                 it the counts are the asked node's word\n"
    "\n" NODE_HELP "  --json         one JSON object instead of text\n";

static const char verify_text[] =
    "How to verify: every ballot on the chain carries zero-knowledge proofs that\n"
    "it encrypts an allowed choice, and is signed by a registered voter key; every\n"
    "validator checked them before the ballot counted. The counts are the\n"
    "decryption of the sum of the counted ballots, made from the trustees'\n"
    "partial decryptions, each with a proof of correct decryption on the chain.\n"
    "Anyone can re-check all of it without trusting any validator: take a\n"
    "snapshot of a validator's chain store and run evote-audit on it with the\n"
    "genesis file (it re-executes the chain, checks every commit certificate\n"
    "and proof, and recomputes this result). Every voter can check that their\n"
    "own ballot counts with 'evote track CODE --genesis G' (where revoting is\n"
    "allowed, with --node given for f+1 validators, whose signed statements\n"
    "prove that no later ballot replaced it).\n";

int cmd_result(int argc, char **argv)
{
    static const struct option opts[] = {NODE_OPTIONS, {"json", no_argument, NULL, OPT_JSON},
                                         {"genesis", required_argument, NULL, O_GENESIS}, {0, 0, 0, 0}};
    Evote__V1__ApiResponse *resp = NULL, *el = NULL;
    const Evote__V1__ElectionResult *res;
    const Evote__V1__ElectionCreate *d;
    const char *id, *genesis_path = NULL;
    genesis *g = NULL;
    uint8_t *vouched = NULL, e[ELECTION_HASH_LEN];
    uint32_t n_vouched = 0;
    char buf[512];
    size_t slot = 0, total = 0;
    node_opts o;
    int c, rc;

    if (cli_wants_help(argc, argv)) {
        fputs(result_help, stdout);
        return 0;
    }
    node_opts_init(&o, "result");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == O_GENESIS) {
            genesis_path = optarg;
            continue;
        }
        if ((rc = node_opt(&o, c, optarg)) != 1)
            return rc < 0 ? EXIT_USAGE : usage_error(result_help);
    }
    if (!operands_ok(o.cmd, argc, argv, 1, "the election id", result_help))
        return EXIT_USAGE;
    id = argv[optind];
    if (!id_ok(o.cmd, id))
        return EXIT_USAGE;
    if (genesis_path != NULL) {
        vouch_ctx v = {id, e, NULL, NULL};
        char what[ELECTION_MAX_ID * 4 + 64];
        if ((rc = cli_load_genesis(o.cmd, genesis_path, &g)) != 0)
            return rc;
        election_hash(g->chain_id, (const uint8_t *)id, strlen(id), e);
        snprintf(what, sizeof what, "the result of election '%s'", clean(id, buf, sizeof buf));
        rc = vouched_fetch(&o, g, result_round, vouch_drop, &v, what,
                           "not showing it. Validators attest a result seconds after it is recorded: if it was "
                           "recorded just now, retry; otherwise the node(s) asked may be forging it: ask another "
                           "validator (--node), or check a snapshot with evote-audit");
        el = v.el;
        resp = v.res;
        if (rc != 0)
            goto out;
    } else {
        rc = fetch_election(&o, id, &el);
        if (rc != 0)
            return rc;
        rc = ask_result(&o, id, &resp);
        if (rc != 0)
            goto out;
    }
    d = el->election->definition;
    if (resp->status == EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND) {
        fprintf(stderr, "evote result: election '%s': %s\n", id, clean(resp->reason, buf, sizeof buf));
        rc = EXIT_FAILED;
        goto out;
    }
    res = resp->result;
    for (size_t i = 0; i < d->n_questions; i++)
        total += d->questions[i]->n_options;
    if (resp->status != EVOTE__V1__API_STATUS__API_STATUS_OK || res == NULL || res->n_counts != total) {
        rc = bad_answer(&o, resp, "with a result that does not fit the election's questions");
        goto out;
    }
    if (g != NULL) {
        vouched = calloc(g->n, 1);
        if (vouched == NULL) {
            rc = EXIT_FAILED;
            goto out;
        }
        n_vouched = result_vouchers(g, el, resp, vouched);
    } else {
        fprintf(stderr, "evote result: these counts are the word of the node asked: give --genesis G to see them "
                        "only when f+1 validators vouch for them\n");
    }
    if (o.json) {
        printf("{\"election\":");
        json_string(id);
        printf(",\"title\":");
        json_string(d->title);
        printf(",\"questions\":[");
        for (size_t i = 0; i < d->n_questions; i++) {
            const Evote__V1__Question *q = d->questions[i];
            printf("%s{\"text\":", i ? "," : "");
            json_string(q->text);
            printf(",\"counts\":{");
            for (size_t k = 0; k < q->n_options; k++, slot++) {
                printf("%s", k ? "," : "");
                json_string(q->options[k]);
                printf(":%" PRIu64, res->counts[slot]);
            }
            printf("}}");
        }
        printf("],\"ballots_counted\":%" PRIu64 ",\"trustees\":[", res->ballots_counted);
        for (size_t i = 0; i < res->n_trustees; i++)
            printf("%s%" PRIu32, i ? "," : "", res->trustees[i]);
        printf("],\"threshold\":%" PRIu32 ",\"height\":%" PRIu64, d->threshold, res->height);
        if (g != NULL) {
            printf(",\"vouched_by\":[");
            print_vouched(g, vouched, 1);
            printf("]");
        }
        printf("}\n");
    } else {
        printf("election   %s: %s\n", clean(id, buf, sizeof buf), clean(d->title, buf + 256, 256));
        for (size_t i = 0; i < d->n_questions; i++) {
            const Evote__V1__Question *q = d->questions[i];
            size_t w = 0;
            for (size_t k = 0; k < q->n_options; k++)
                if (strlen(q->options[k]) > w)
                    w = strlen(q->options[k]);
            if (w > 40)
                w = 40;
            printf("\n");
            print_question(q, i);
            for (size_t k = 0; k < q->n_options; k++, slot++)
                printf("  %-*s  %" PRIu64 "\n", (int)w, clean(q->options[k], buf, sizeof buf), res->counts[slot]);
        }
        printf("\nballots counted    %" PRIu64 "\n", res->ballots_counted);
        printf("trustees combined  ");
        for (size_t i = 0; i < res->n_trustees; i++)
            printf("%s%" PRIu32, i ? ", " : "", res->trustees[i]);
        printf(" (threshold %" PRIu32 " of %zu)\n", d->threshold, d->n_trustees);
        printf("recorded at height %" PRIu64 "\n", res->height);
        if (g != NULL) {
            printf("vouched for by    %" PRIu32 " of %" PRIu32 " validators: ", n_vouched, g->n);
            print_vouched(g, vouched, 0);
            printf("\n");
        }
        printf("\n%s", verify_text);
    }
    rc = 0;
out:
    if (resp != NULL)
        evote__v1__api_response__free_unpacked(resp, NULL);
    if (el != NULL)
        evote__v1__api_response__free_unpacked(el, NULL);
    free(vouched);
    genesis_destroy(&g);
    return rc;
}
