/* Unit tests of the offline auditor's pure parts (src/audit): commit
 * certificate checking (2f+1 distinct genesis validators, each signature
 * over exactly this block), the report's text and JSON rendering, the
 * in-memory state map and the thread pool. The whole auditor runs on a real
 * cluster's snapshot in tests/cluster/audit.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/audit/kvmap.h"
#include "audit.h"
#include "chain_store.h"
#include "consensus.pb-c.h"
#include "data_file.h"

static const char *curve_keys[4] = {
    "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
    "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6", "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"};

typedef struct {
    signing_key *keys[4];
    signing_key *stranger;
    genesis *g;
    uint8_t digest[CRYPTO_HASH_LEN];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char text[4096], hex[65];
    uint8_t pub[32];
    size_t used = (size_t)snprintf(text, sizeof text, "evote-genesis-v1\nchain_name audit-test\n");
    for (int i = 0; i < 4; i++) {
        assert_int_equal(signing_key_generate(&f->keys[i]), CRYPTO_OK);
        signing_key_pubkey(f->keys[i], pub);
        crypto_hex(pub, 32, hex);
        used += (size_t)snprintf(text + used, sizeof text - used, "validator node%d %s %s tcp://127.0.0.1:%d\n", i,
                                 hex, curve_keys[i], 7100 + i);
    }
    assert_int_equal(signing_key_generate(&f->stranger), CRYPTO_OK);
    assert_int_equal(genesis_parse((const uint8_t *)text, used, &f->g, NULL), LEDGER_OK);
    memset(f->digest, 0xab, sizeof f->digest);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 4; i++)
        signing_key_destroy(&f->keys[i]);
    signing_key_destroy(&f->stranger);
    genesis_destroy(&f->g);
    free(f);
    return 0;
}

/* A COMMIT signed by key, claiming to be replica `replica`. */
static Evote__V1__Envelope *commit_env(const fixture *f, const signing_key *key, uint32_t replica, uint64_t seq,
                                       const uint8_t *digest)
{
    Evote__V1__Commit c = EVOTE__V1__COMMIT__INIT;
    uint8_t body[256], *env;
    size_t blen, elen;
    Evote__V1__Envelope *e;
    c.chain_id.data = f->g->chain_id;
    c.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    c.view = 2;
    c.seq = seq;
    c.digest.data = (uint8_t *)digest;
    c.digest.len = CRYPTO_HASH_LEN;
    c.replica = replica;
    blen = evote__v1__commit__pack(&c, body);
    assert_int_equal(envelope_seal(EVOTE__V1__KIND__KIND_COMMIT, body, blen, key, &env, &elen), CRYPTO_OK);
    e = evote__v1__envelope__unpack(NULL, elen, env);
    free(env);
    assert_non_null(e);
    return e;
}

/* Serialized certificate for (view 2, seq, f->digest) from the given signers
 * (index into f->keys; 4 = the stranger). */
static uint8_t *make_cert(const fixture *f, uint64_t seq, const int *who, size_t n, size_t *len)
{
    Evote__V1__CommitCertificate c = EVOTE__V1__COMMIT_CERTIFICATE__INIT;
    Evote__V1__Envelope *envs[8];
    uint8_t *out;
    c.view = 2;
    c.seq = seq;
    c.digest.data = (uint8_t *)f->digest;
    c.digest.len = CRYPTO_HASH_LEN;
    for (size_t i = 0; i < n; i++)
        envs[i] = commit_env(f, who[i] == 4 ? f->stranger : f->keys[who[i]], who[i] == 4 ? 0 : (uint32_t)who[i], seq,
                             f->digest);
    c.commits = envs;
    c.n_commits = n;
    *len = evote__v1__commit_certificate__get_packed_size(&c);
    out = malloc(*len);
    evote__v1__commit_certificate__pack(&c, out);
    for (size_t i = 0; i < n; i++)
        evote__v1__envelope__free_unpacked(envs[i], NULL);
    return out;
}

static void test_cert_with_2f_plus_1_distinct_validators_is_valid(void **state)
{
    fixture *f = *state;
    int who[] = {0, 2, 3};
    size_t len;
    audit_cert_verdict v;
    uint8_t *c = make_cert(f, 9, who, 3, &len);
    assert_int_equal(audit_cert_check(f->g, c, len, 9, f->digest, &v), 1);
    assert_int_equal(v.signers, 3);
    assert_int_equal(v.needed, 3);
    assert_int_equal(v.signed_by[0] + v.signed_by[1] * 10 + v.signed_by[2] * 100 + v.signed_by[3] * 1000, 1101);
    free(c);
}

static void test_cert_with_only_2f_signatures_is_refused(void **state)
{
    fixture *f = *state;
    int who[] = {1, 3};
    size_t len;
    audit_cert_verdict v;
    uint8_t *c = make_cert(f, 9, who, 2, &len);
    assert_int_equal(audit_cert_check(f->g, c, len, 9, f->digest, &v), 0);
    assert_int_equal(v.signers, 2);
    assert_non_null(strstr(v.why, "only 2 distinct validators"));
    free(c);
}

static void test_cert_counts_a_duplicate_signer_once(void **state)
{
    fixture *f = *state;
    int who[] = {0, 1, 1};
    size_t len;
    audit_cert_verdict v;
    uint8_t *c = make_cert(f, 9, who, 3, &len);
    assert_int_equal(audit_cert_check(f->g, c, len, 9, f->digest, &v), 0);
    assert_int_equal(v.signers, 2);
    assert_non_null(strstr(v.why, "node1 signed twice"));
    free(c);
}

static void test_cert_ignores_a_non_validator(void **state)
{
    fixture *f = *state;
    int who[] = {0, 1, 4};
    size_t len;
    audit_cert_verdict v;
    uint8_t *c = make_cert(f, 9, who, 3, &len);
    assert_int_equal(audit_cert_check(f->g, c, len, 9, f->digest, &v), 0);
    assert_int_equal(v.signers, 2);
    assert_non_null(strstr(v.why, "not a validator"));
    free(c);
}

static void test_cert_for_another_block_is_refused(void **state)
{
    fixture *f = *state;
    int who[] = {0, 1, 2, 3};
    size_t len;
    audit_cert_verdict v;
    uint8_t other[CRYPTO_HASH_LEN];
    uint8_t *c = make_cert(f, 9, who, 4, &len);
    assert_int_equal(audit_cert_check(f->g, c, len, 10, f->digest, &v), 0); /* another height */
    assert_non_null(strstr(v.why, "seq 9"));
    memset(other, 0xcd, sizeof other);
    assert_int_equal(audit_cert_check(f->g, c, len, 9, other, &v), 0); /* another batch */
    assert_non_null(strstr(v.why, "another batch"));
    assert_int_equal(audit_cert_check(f->g, (const uint8_t *)"\xff\xff", 2, 9, f->digest, &v), 0);
    assert_non_null(strstr(v.why, "does not parse"));
    free(c);
}

static void test_cert_with_a_forged_signature_is_refused(void **state)
{
    fixture *f = *state;
    int who[] = {0, 1, 2};
    size_t len;
    audit_cert_verdict v;
    uint8_t *c = make_cert(f, 9, who, 3, &len);
    c[len - 1] ^= 1; /* the last byte of the last signature */
    assert_int_equal(audit_cert_check(f->g, c, len, 9, f->digest, &v), 0);
    assert_int_equal(v.signers, 2);
    assert_non_null(strstr(v.why, "does not verify"));
    free(c);
}

/* 2f+1 good COMMITs and a fourth that does not count: no validator stores
 * that (its own certificates hold 2f+1 checked COMMITs, and state transfer
 * keeps only the ones that count), so the audit calls it altered. */
static void test_cert_with_an_extra_bad_commit_is_refused(void **state)
{
    fixture *f = *state;
    int who[] = {0, 1, 2, 3};
    size_t len;
    audit_cert_verdict v;
    uint8_t *c = make_cert(f, 9, who, 4, &len);
    assert_int_equal(audit_cert_check(f->g, c, len, 9, f->digest, &v), 1);
    c[len - 1] ^= 1; /* the last byte of the fourth signature */
    assert_int_equal(audit_cert_check(f->g, c, len, 9, f->digest, &v), 0);
    assert_int_equal(v.signers, 3);
    assert_non_null(strstr(v.why, "holds a COMMIT that does not count"));
    assert_non_null(strstr(v.why, "does not verify"));
    free(c);
}

/* ---------------------------------------------------------------- report */

static char *render(const audit_report *r, int json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (json)
        audit_report_json(r, out);
    else
        audit_report_text(r, out);
    fclose(out);
    return buf;
}

static void fill_report(audit_report *r)
{
    memset(r, 0, sizeof *r);
    strcpy(r->chain_name, "test");
    memset(r->chain_id, 'a', 64);
    memset(r->tip_hash, 'b', 64);
    r->height = 12;
    r->elections = calloc(1, sizeof *r->elections);
    r->n_elections = 1;
    audit_election *e = &r->elections[0];
    strcpy(e->id, "city");
    strcpy(e->title, "A \"quoted\" title");
    e->defined = 1;
    e->voters_registered = 40;
    e->registrars = calloc(2, sizeof *e->registrars);
    e->n_registrars = 2;
    strcpy(e->registrars[0].authority, "commission");
    e->registrars[0].keys = 38;
    strcpy(e->registrars[1].authority, "board-north");
    e->registrars[1].keys = 2;
    e->registrars[1].after_first_ballot = 2;
    e->ballots_cast = 47;
    e->ballots_counted = 40;
    e->ballots_superseded = 4;
    e->rejected[EVOTE__V1__TX_RESULT__TX_RESULT_NOT_OPEN] = 2;
    e->has_result = 1;
    e->n_options = 2;
    e->options = calloc(2, sizeof *e->options);
    e->options[0] = strdup("Mayor: Ada");
    e->options[1] = strdup("Mayor: Grace");
    e->counts[0] = 25;
    e->counts[1] = 15;
}

static void test_report_verified_text_and_json(void **state)
{
    audit_report r;
    char *t, *j;
    (void)state;
    fill_report(&r);
    t = render(&r, 0);
    j = render(&r, 1);
    assert_non_null(strstr(t, "ballots counted    40"));
    assert_non_null(strstr(t, "by commission      38 keys (0 after the first ballot)"));
    assert_non_null(strstr(t, "by board-north     2 keys (2 after the first ballot)"));
    assert_non_null(strstr(j, "\"registered_by\":[{\"authority\":\"commission\",\"keys\":38,\"after_first_ballot\":0},"
                              "{\"authority\":\"board-north\",\"keys\":2,\"after_first_ballot\":2}]"));
    assert_non_null(strstr(t, "TX_RESULT_NOT_OPEN"));
    assert_non_null(strstr(t, "Mayor: Grace"));
    assert_non_null(strstr(t, "\nVERIFIED"));
    assert_non_null(strstr(j, "\"verified\":true"));
    assert_non_null(strstr(j, "\"title\":\"A \\\"quoted\\\" title\""));
    assert_non_null(strstr(j, "\"rejected\":{\"TX_RESULT_NOT_OPEN\":2}"));
    assert_non_null(strstr(j, "{\"option\":\"Mayor: Ada\",\"count\":25}"));
    assert_non_null(strstr(j, "\"failure_count\":0"));
    assert_null(strstr(j, "\"track\""));
    free(t);
    free(j);
    audit_report_free(&r);
}

static void test_report_names_height_and_tx_of_a_failure(void **state)
{
    audit_report r;
    uint8_t tx[CRYPTO_HASH_LEN];
    char *t, *j;
    (void)state;
    fill_report(&r);
    memset(tx, 0x11, sizeof tx);
    audit_fail(&r, 7, tx, "city", "the block records result %s", "TX_RESULT_OK");
    for (int i = 0; i < AUDIT_MAX_FAILURES + 5; i++)
        audit_fail(&r, 8, NULL, NULL, "more %d", i);
    assert_int_equal(r.n_failures, AUDIT_MAX_FAILURES + 6);
    assert_int_equal(r.n_failures_kept, AUDIT_MAX_FAILURES);
    assert_int_equal(r.elections[0].failures, 1);
    t = render(&r, 0);
    j = render(&r, 1);
    assert_non_null(strstr(t, "FAILED height 7 tx 1111111111111111111111111111111111111111111111111111111111111111 "
                              "election city: the block records result TX_RESULT_OK"));
    assert_non_null(strstr(t, "... and 6 more failures"));
    assert_non_null(strstr(t, "VERIFICATION FAILED: 56 problems"));
    assert_null(strstr(t, "\nVERIFIED"));
    assert_non_null(strstr(j, "\"verified\":false"));
    assert_non_null(strstr(j, "{\"height\":7,\"tx\":\"1111"));
    assert_non_null(strstr(j, "\"failure_count\":56"));
    free(t);
    free(j);
    audit_report_free(&r);
}

static void test_report_track_superseded(void **state)
{
    audit_report r;
    char *t, *j;
    (void)state;
    fill_report(&r);
    r.track_asked = r.track_found = 1;
    r.track_height = 9;
    r.track_status = 2;
    memset(r.track_replaced_by, 0x22, 32);
    strcpy(r.track_election, "city");
    strcpy(r.track_signers, "node0,node1,node3");
    t = render(&r, 0);
    j = render(&r, 1);
    assert_non_null(strstr(t, "  SUPERSEDED: replaced by 2222"));
    assert_non_null(strstr(t, "certificate signed by node0,node1,node3"));
    assert_non_null(strstr(j, "\"status\":\"SUPERSEDED\""));
    assert_non_null(strstr(j, "\"replaced_by\":\"2222"));
    free(t);
    free(j);
    audit_report_free(&r);
}

/* ------------------------------------------------------- map and pool */

static void test_kvmap_put_get_delete_grow(void **state)
{
    kvmap *m = kvmap_new();
    const uint8_t *v;
    size_t n;
    (void)state;
    for (uint32_t i = 0; i < 5000; i++) {
        uint8_t k[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        assert_int_equal(kvmap_put(m, k, 4, k, (i % 3) + 1), 1);
    }
    assert_int_equal(kvmap_count(m), 5000);
    for (uint32_t i = 0; i < 5000; i += 2) {
        uint8_t k[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        kvmap_del(m, k, 4);
    }
    assert_int_equal(kvmap_count(m), 2500);
    for (uint32_t i = 0; i < 5000; i++) {
        uint8_t k[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        int found = kvmap_get(m, k, 4, &v, &n);
        assert_int_equal(found, i % 2);
        if (found) {
            assert_int_equal(n, (i % 3) + 1);
            assert_memory_equal(v, k, n);
        }
    }
    assert_int_equal(kvmap_put(m, (const uint8_t *)"\0\0\0\0", 4, (const uint8_t *)"x", 1), 1); /* after delete */
    assert_int_equal(kvmap_get(m, (const uint8_t *)"\0\0\0\0", 4, &v, &n), 1);
    assert_int_equal(n, 1);
    kvmap_destroy(&m);
    assert_null(m);
}

static void add_index(void *ctx, size_t i)
{
    __atomic_fetch_add((uint64_t *)ctx, i + 1, __ATOMIC_RELAXED);
}

static void test_pool_runs_every_index_once(void **state)
{
    audit_pool *p = audit_pool_new(3);
    uint64_t sum = 0;
    (void)state;
    assert_non_null(p);
    for (int round = 0; round < 20; round++)
        audit_pool_run(p, 1000, add_index, &sum);
    assert_int_equal(sum, 20ull * 1000 * 1001 / 2);
    audit_pool_destroy(&p);
    assert_null(p);
}

/* ---------------------------------------------------------- page walk */

/* A real chain store with some state, then its data.mdb damaged in place. */
/* A real store in a new directory dir: 200 state records of 300 bytes,
 * written `rounds` times (each rewrite sends old pages to the free list),
 * then, with big_value, one record of 10,000 bytes (3 overflow pages of
 * 0xa5). Returns: the path of its data.mdb. */
static char *make_store_with(char *dir, int rounds, int big_value)
{
    chain_store *cs = NULL;
    uint8_t chain[CRYPTO_CHAIN_ID_LEN] = {7};
    chain_store_state_change ch[200];
    uint8_t keys[200][8], val[300], big[10000];
    static char file[300];
    memset(val, 0x5a, sizeof val);
    memset(big, 0xa5, sizeof big);
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chain_store_open(dir, chain, NULL, &cs, NULL), STORE_OK);
    for (int i = 0; i < 200; i++) {
        memcpy(keys[i], "key", 3);
        snprintf((char *)keys[i] + 3, 5, "%04d", i);
        ch[i] = (chain_store_state_change){keys[i], 7, val, sizeof val, 0};
    }
    for (int round = 0; round < rounds; round++)
        assert_int_equal(chain_store_put_state(cs, ch, 200), STORE_OK);
    if (big_value) {
        ch[0] = (chain_store_state_change){(const uint8_t *)"bigvalue", 8, big, sizeof big, 0};
        assert_int_equal(chain_store_put_state(cs, ch, 1), STORE_OK);
    }
    chain_store_destroy(&cs);
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    return file;
}

static char *make_store(char *dir)
{
    return make_store_with(dir, 1, 0);
}

/* Reads page pg of file into buf (4096 bytes), or writes it back. */
static void page_io(const char *file, uint64_t pg, uint8_t *buf, int write)
{
    FILE *f = fopen(file, write ? "r+b" : "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)(pg * 4096), SEEK_SET), 0);
    if (write)
        assert_int_equal(fwrite(buf, 1, 4096, f), 4096);
    else
        assert_int_equal(fread(buf, 1, 4096, f), 4096);
    fclose(f);
}

/* What LMDB's write path and big values trust: the page numbers in the
 * free list (handed out again by the next write), and an overflow run at
 * least as long as its node's value. */
static void test_page_walk_checks_the_free_list_and_overflow_runs(void **state)
{
    char dir[] = "/tmp/evote-test-audit-XXXXXX", why[256], cmd[64];
    const char *file = make_store_with(dir, 3, 1); /* a free list; a 3-page value */
    data_file_info info;
    uint8_t p[4096], orig[4096];
    uint64_t ov = 0;
    int e;
    (void)state;
    assert_int_equal(data_file_check(file, &info, &e, why, sizeof why), DATA_FILE_OK);
    if (info.page_size != 4096)
        skip();
    assert_int_equal(data_file_walk(file, info.page_size, info.last_page, why, sizeof why), 1);

    /* The free list's root leaf, first record (inline): count, then pages. */
    assert_true(info.root[0] != UINT64_MAX);
    page_io(file, info.root[0], orig, 0);
    assert_true(orig[10] & 0x02);
    {
        uint16_t off = (uint16_t)(orig[16] | orig[17] << 8);
        uint16_t nflags = (uint16_t)(orig[off + 4] | orig[off + 5] << 8), ksize = (uint16_t)(orig[off + 6] | orig[off + 7] << 8);
        size_t first = (size_t)off + 8 + ksize + 8; /* the first page number */
        uint64_t pg;
        assert_int_equal(nflags, 0);
        memcpy(p, orig, sizeof p);
        pg = info.root[1]; /* a page the main tree uses */
        memcpy(p + first, &pg, 8);
        page_io(file, info.root[0], p, 1);
        assert_int_equal(data_file_walk(file, info.page_size, info.last_page, why, sizeof why), 0);
        assert_non_null(strstr(why, "both free and in use"));
        pg = info.last_page + 5;
        memcpy(p + first, &pg, 8);
        page_io(file, info.root[0], p, 1);
        assert_int_equal(data_file_walk(file, info.page_size, info.last_page, why, sizeof why), 0);
        assert_non_null(strstr(why, "outside the data"));
        page_io(file, info.root[0], orig, 1);
    }

    /* The big value's overflow run, cut to one page: LMDB would read past it. */
    for (uint64_t pg = 2; pg <= info.last_page && ov == 0; pg++) {
        page_io(file, pg, p, 0);
        uint64_t self;
        uint32_t pages;
        memcpy(&self, p, 8);
        memcpy(&pages, p + 12, 4);
        if (self == pg && (p[10] & 0x04) && pages == 3 && p[16] == 0xa5)
            ov = pg;
    }
    assert_true(ov != 0);
    page_io(file, ov, orig, 0);
    memcpy(p, orig, sizeof p);
    p[12] = 1; /* pages = 1 */
    page_io(file, ov, p, 1);
    assert_int_equal(data_file_walk(file, info.page_size, info.last_page, why, sizeof why), 0);
    assert_non_null(strstr(why, "not an overflow run that long"));
    page_io(file, ov, orig, 1);
    assert_int_equal(data_file_walk(file, info.page_size, info.last_page, why, sizeof why), 1);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_page_walk_accepts_a_sound_file_and_finds_damage(void **state)
{
    char dir[] = "/tmp/evote-test-audit-XXXXXX", why[256], cmd[64];
    const char *file = make_store(dir);
    data_file_info info;
    uint8_t p[4096], orig[4096];
    uint64_t leaf;
    int e;
    (void)state;
    assert_int_equal(data_file_check(file, &info, &e, why, sizeof why), DATA_FILE_OK);
    if (info.page_size != 4096) /* the test reads 4 KiB pages */
        skip();
    assert_int_equal(data_file_walk(file, info.page_size, info.last_page, why, sizeof why), 1);
    /* The main tree's root: a leaf holding the named databases (a page the
     * walk must reach; a free page may hold anything). */
    leaf = info.root[1];
    page_io(file, leaf, orig, 0);
    assert_true(orig[10] & 0x02);

    memcpy(p, orig, sizeof p);
    p[0] ^= 0x40; /* the page number */
    page_io(file, leaf, p, 1);
    assert_int_equal(data_file_walk(file, info.page_size, info.last_page, why, sizeof why), 0);
    assert_non_null(strstr(why, "says it is page"));

    memcpy(p, orig, sizeof p);
    p[16] = 0xff; /* the first node's offset: past the page */
    p[17] = 0x0f;
    page_io(file, leaf, p, 1);
    assert_int_equal(data_file_walk(file, info.page_size, info.last_page, why, sizeof why), 0);
    assert_non_null(strstr(why, "outside the page"));

    memcpy(p, orig, sizeof p);
    p[12] = 0xf1; /* lower beyond upper */
    p[13] = 0x0f;
    page_io(file, leaf, p, 1);
    assert_int_equal(data_file_walk(file, info.page_size, info.last_page, why, sizeof why), 0);
    assert_non_null(strstr(why, "impossible bounds"));

    page_io(file, leaf, orig, 1);
    assert_int_equal(data_file_walk(file, info.page_size, info.last_page, why, sizeof why), 1);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Offset in page p (a leaf) of the node whose key is `key`, or 0. */
static size_t node_with_key(const uint8_t *p, const char *key)
{
    uint16_t lower, off, ksize;
    memcpy(&lower, p + 12, 2);
    for (unsigned k = 0; k < (unsigned)(lower - 16) / 2; k++) {
        memcpy(&off, p + 16 + 2 * k, 2);
        memcpy(&ksize, p + off + 6, 2);
        if (ksize == strlen(key) && memcmp(p + off + 8, key, ksize) == 0)
            return off;
    }
    return 0;
}

/* What LMDB acts on without checking, and evote never writes: node flags
 * that ask for a sub-database (found by tests/fuzz/fuzz_snapshot: LMDB then
 * writes through a null cursor), a named database's flags, the meta page's
 * database flags. Each is refused before LMDB maps the file. */
static void test_page_walk_refuses_flags_evote_never_writes(void **state)
{
    char dir[] = "/tmp/evote-test-audit-XXXXXX", why[256], cmd[64];
    const char *file = make_store(dir);
    data_file_info info;
    uint8_t main_leaf[4096], p[4096], orig[4096];
    uint64_t root;
    uint16_t fl;
    size_t at;
    int e;
    (void)state;
    assert_int_equal(data_file_check(file, &info, &e, why, sizeof why), DATA_FILE_OK);
    if (info.page_size != 4096)
        skip();
    page_io(file, info.root[1], main_leaf, 0);
    at = node_with_key(main_leaf, "state");
    assert_true(at > 0);
    memcpy(&root, main_leaf + at + 8 + 5 + 40, 8); /* md_root of the "state" MDB_db */
    page_io(file, root, orig, 0);
    while (orig[10] & 0x01) { /* a branch: down its first child to a leaf */
        uint16_t off, lo, hi, nf;
        memcpy(&off, orig + 16, 2);
        memcpy(&lo, orig + off, 2);
        memcpy(&hi, orig + off + 2, 2);
        memcpy(&nf, orig + off + 4, 2);
        root = (uint64_t)lo | (uint64_t)hi << 16 | (uint64_t)nf << 32;
        page_io(file, root, orig, 0);
    }
    assert_int_equal(orig[10] & 0x02, 0x02);

    /* The "state" database recorded as MDB_DUPSORT. */
    memcpy(p, main_leaf, sizeof p);
    fl = 0x04;
    memcpy(p + at + 8 + 5 + 4, &fl, 2);
    page_io(file, info.root[1], p, 1);
    assert_int_equal(data_file_walk(file, info.page_size, info.last_page, why, sizeof why), 0);
    assert_non_null(strstr(why, "a named database with flags 0x4"));
    /* A named database's record that is not F_SUBDATA. */
    memcpy(p, main_leaf, sizeof p);
    fl = 0;
    memcpy(p + at + 4, &fl, 2);
    page_io(file, info.root[1], p, 1);
    assert_int_equal(data_file_walk(file, info.page_size, info.last_page, why, sizeof why), 0);
    assert_non_null(strstr(why, "holds only named databases"));
    page_io(file, info.root[1], main_leaf, 1);

    /* A node of a "state" leaf flagged F_DUPDATA (what the fuzzer found). */
    {
        uint16_t off;
        memcpy(p, orig, sizeof p);
        memcpy(&off, p + 16, 2);
        fl = 0x04;
        memcpy(p + off + 4, &fl, 2);
        page_io(file, root, p, 1);
        assert_int_equal(data_file_walk(file, info.page_size, info.last_page, why, sizeof why), 0);
        assert_non_null(strstr(why, "flags 0x4 that evote never writes in this database"));
        page_io(file, root, orig, 1);
    }
    assert_int_equal(data_file_walk(file, info.page_size, info.last_page, why, sizeof why), 1);

    /* The meta pages' main database recorded as MDB_DUPSORT. */
    for (uint64_t m = 0; m < 2; m++) {
        page_io(file, m, p, 0);
        fl = 0x04;
        memcpy(p + 16 + 24 + 48 + 4, &fl, 2);
        page_io(file, m, p, 1);
    }
    assert_int_equal(data_file_walk(file, info.page_size, info.last_page, why, sizeof why), 0);
    assert_non_null(strstr(why, "database flags"));
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cert_with_2f_plus_1_distinct_validators_is_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_with_only_2f_signatures_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_counts_a_duplicate_signer_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_ignores_a_non_validator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_for_another_block_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_with_an_extra_bad_commit_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_with_a_forged_signature_is_refused, setup, teardown),
        cmocka_unit_test(test_report_verified_text_and_json),
        cmocka_unit_test(test_report_names_height_and_tx_of_a_failure),
        cmocka_unit_test(test_report_track_superseded),
        cmocka_unit_test(test_kvmap_put_get_delete_grow),
        cmocka_unit_test(test_pool_runs_every_index_once),
        cmocka_unit_test(test_page_walk_accepts_a_sound_file_and_finds_damage),
        cmocka_unit_test(test_page_walk_checks_the_free_list_and_overflow_runs),
        cmocka_unit_test(test_page_walk_refuses_flags_evote_never_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
