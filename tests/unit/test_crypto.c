/* Unit tests of src/crypto: tagged hashes (known answers), the Merkle tree
 * against its recursive definition, Schnorr keys and key files, signatures
 * and their domain separation, and signed envelopes with every rejection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"

/* ------------------------------------------------------------- helpers */

static char tmpdir[256];

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/evote-test-crypto-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_in_tmp(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd;
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void unhex_ok(const char *hex, uint8_t *out, size_t len)
{
    assert_int_equal(crypto_unhex(hex, out, len), CRYPTO_OK);
}

static signing_key *new_key(void)
{
    signing_key *key = NULL;
    assert_int_equal(signing_key_generate(&key), CRYPTO_OK);
    assert_non_null(key);
    return key;
}

/* ------------------------------------------------------------- hashes */

static void test_tagged_hash_matches_bip340_definition(void **state)
{
    uint8_t out[32], want[32], msg[100];
    (void)state;
    /* Expected values computed independently: sha256(sha256(tag)*2 || msg). */
    crypto_tagged_hash("evote/v1/tx", (const uint8_t *)"abc", 3, out);
    unhex_ok("99c917e8452636724d7e7375ac5cb104154b716c9da34202f94ae4f3efc4bb67", want, 32);
    assert_memory_equal(out, want, 32);

    crypto_tagged_hash(CRYPTO_TAG_TXID, NULL, 0, out);
    unhex_ok("5fddc7d99b420fceb31652e32235238a3be01b6b357265df0e36bdbba3f2b73f", want, 32);
    assert_memory_equal(out, want, 32);

    for (int i = 0; i < 100; i++)
        msg[i] = (uint8_t)i;
    crypto_tagged_hash(crypto_kind_tag(EVOTE__V1__KIND__KIND_PREPARE), msg, sizeof msg, out);
    unhex_ok("3c2de6a1143ef2a919c616eb847022a9cf5b7402c20c56023b7f9f61ff661490", want, 32);
    assert_memory_equal(out, want, 32);
}

/* crypto_tagged_hash uses libcrypto's SHA-256 and caches tag hashes per
 * thread: the bytes must equal libsecp256k1's tagged hash for every length
 * (block boundaries included), and a tag buffer reused with other contents
 * must not hit the cache. */
static void test_tagged_hash_equals_libsecp256k1(void **state)
{
    static uint8_t msg[1100];
    uint8_t out[32], want[32];
    char tag[80];
    (void)state;
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 131 + 7);
    for (size_t len = 0; len <= sizeof msg; len += (len < 140 ? 1 : 37)) {
        crypto_tagged_hash("evote/v1/txid", msg, len, out);
        assert_int_equal(secp256k1_tagged_sha256(secp256k1_context_static, want,
                                                 (const unsigned char *)"evote/v1/txid", 13, msg, len), 1);
        assert_memory_equal(out, want, 32);
    }
    for (int round = 0; round < 20; round++) {
        /* same buffer, same length, other bytes; and tags longer than the cache keeps */
        size_t tl = round < 10 ? 12 : 70;
        memset(tag, 'a' + round, tl);
        tag[tl] = 0;
        crypto_tagged_hash(tag, msg, 64, out);
        assert_int_equal(secp256k1_tagged_sha256(secp256k1_context_static, want, (const unsigned char *)tag, tl,
                                                 msg, 64), 1);
        assert_memory_equal(out, want, 32);
    }
}

static void test_every_kind_has_a_distinct_tag(void **state)
{
    (void)state;
    assert_null(crypto_kind_tag(EVOTE__V1__KIND__KIND_UNSPECIFIED));
    assert_null(crypto_kind_tag((Evote__V1__Kind)99));
    for (int a = 1; a <= 10; a++) {
        const char *ta = crypto_kind_tag((Evote__V1__Kind)a);
        assert_non_null(ta);
        assert_true(strncmp(ta, "evote/v1/", 9) == 0);
        for (int b = a + 1; b <= 10; b++)
            assert_string_not_equal(ta, crypto_kind_tag((Evote__V1__Kind)b));
    }
}

/* RFC 6962 definition, recursively: split at the largest power of two < n. */
static void merkle_reference(const uint8_t (*leaves)[32], size_t n, uint8_t out[32])
{
    uint8_t pair[64];
    size_t k = 1;
    if (n == 1) {
        memcpy(out, leaves[0], 32);
        return;
    }
    while (k * 2 < n)
        k *= 2;
    merkle_reference(leaves, k, pair);
    merkle_reference(leaves + k, n - k, pair + 32);
    crypto_tagged_hash(CRYPTO_TAG_MERKLE, pair, 64, out);
}

static void test_merkle_root_matches_recursive_definition(void **state)
{
    uint8_t (*leaves)[32] = malloc(300 * 32);
    uint8_t got[32], want[32], zero[32] = {0};
    (void)state;
    assert_non_null(leaves);
    for (size_t i = 0; i < 300; i++)
        crypto_tagged_hash("test/leaf", (const uint8_t *)&i, sizeof i, leaves[i]);
    crypto_merkle_root((const uint8_t(*)[32])leaves, 0, got);
    assert_memory_equal(got, zero, 32);
    for (size_t n = 1; n <= 300; n++) {
        crypto_merkle_root((const uint8_t(*)[32])leaves, n, got);
        merkle_reference((const uint8_t(*)[32])leaves, n, want);
        assert_memory_equal(got, want, 32);
    }
    /* No duplicate-last-leaf mutation: [a,b,c] and [a,b,c,c] differ. */
    memcpy(leaves[3], leaves[2], 32);
    crypto_merkle_root((const uint8_t(*)[32])leaves, 3, got);
    crypto_merkle_root((const uint8_t(*)[32])leaves, 4, want);
    assert_memory_not_equal(got, want, 32);
    free(leaves);
}

static void test_hex_round_trip_and_rejections(void **state)
{
    uint8_t in[4] = {0x00, 0xab, 0xCD, 0xff}, out[4];
    char hex[9];
    (void)state;
    crypto_hex(in, 4, hex);
    assert_string_equal(hex, "00abcdff");
    assert_int_equal(crypto_unhex("00ABcdff", out, 4), CRYPTO_OK);
    assert_memory_equal(in, out, 4);
    assert_int_equal(crypto_unhex("00abcdf", out, 4), CRYPTO_ERR_BAD_HEX);
    assert_int_equal(crypto_unhex("00abcdff0", out, 4), CRYPTO_ERR_BAD_HEX);
    assert_int_equal(crypto_unhex("00abcdfg", out, 4), CRYPTO_ERR_BAD_HEX);
    assert_int_equal(crypto_unhex("0x abcdf", out, 4), CRYPTO_ERR_BAD_HEX);
    assert_int_equal(crypto_unhex("", out, 0), CRYPTO_OK);
}

static void test_equal_compares_whole_buffers(void **state)
{
    uint8_t a[33] = {0}, b[33] = {0};
    (void)state;
    assert_true(crypto_equal(a, b, 33));
    b[32] = 1;
    assert_false(crypto_equal(a, b, 33));
    assert_true(crypto_equal(a, b, 32));
}

static void test_random_fills_and_differs(void **state)
{
    uint8_t a[64] = {0}, b[64] = {0}, zero[64] = {0};
    (void)state;
    assert_int_equal(crypto_random(a, sizeof a), CRYPTO_OK);
    assert_int_equal(crypto_random(b, sizeof b), CRYPTO_OK);
    assert_memory_not_equal(a, zero, 64);
    assert_memory_not_equal(a, b, 64);
}

/* ---------------------------------------------------------------- keys */

static void test_known_secret_gives_bip340_public_key(void **state)
{
    /* BIP340 test vector 0: secret key 3. */
    uint8_t secret[32] = {0}, pub[32], want[32];
    signing_key *key = NULL;
    (void)state;
    secret[31] = 3;
    assert_int_equal(signing_key_from_secret(secret, &key), CRYPTO_OK);
    signing_key_pubkey(key, pub);
    unhex_ok("f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9", want, 32);
    assert_memory_equal(pub, want, 32);
    signing_key_destroy(&key);
    assert_null(key);
    signing_key_destroy(&key); /* destroying NULL is harmless */
}

static void test_zero_and_out_of_range_secrets_are_refused(void **state)
{
    uint8_t zero[32] = {0}, order[32];
    signing_key *key = (signing_key *)1;
    (void)state;
    assert_int_equal(signing_key_from_secret(zero, &key), CRYPTO_ERR_BAD_SECKEY);
    assert_null(key);
    unhex_ok("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", order, 32);
    assert_int_equal(signing_key_from_secret(order, &key), CRYPTO_ERR_BAD_SECKEY);
    assert_null(key);
}

static void test_key_file_round_trip_with_mode_0600(void **state)
{
    char path[300];
    signing_key *key = new_key(), *again = NULL;
    uint8_t p1[32], p2[32];
    struct stat st;
    (void)state;
    umask(0); /* even a permissive umask must give 0600 */
    path_in_tmp(path, sizeof path, "roundtrip.key");
    assert_int_equal(signing_key_save(key, path), CRYPTO_OK);
    umask(022);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(signing_key_load(path, &again), CRYPTO_OK);
    signing_key_pubkey(key, p1);
    signing_key_pubkey(again, p2);
    assert_memory_equal(p1, p2, 32);
    /* never overwrites */
    assert_int_equal(signing_key_save(key, path), CRYPTO_ERR_KEY_FILE_EXISTS);
    signing_key_destroy(&again);
    signing_key_destroy(&key);
}

static void test_key_file_readable_by_others_is_refused(void **state)
{
    char path[300];
    signing_key *key = new_key(), *loaded = NULL;
    (void)state;
    path_in_tmp(path, sizeof path, "mode.key");
    unlink(path);
    assert_int_equal(signing_key_save(key, path), CRYPTO_OK);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(signing_key_load(path, &loaded), CRYPTO_ERR_KEY_FILE_MODE);
    assert_null(loaded);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(signing_key_load(path, &loaded), CRYPTO_ERR_KEY_FILE_MODE);
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(signing_key_load(path, &loaded), CRYPTO_OK);
    signing_key_destroy(&loaded);
    signing_key_destroy(&key);
}

static void test_key_file_of_wrong_size_or_format_is_refused(void **state)
{
    char path[300], link[300];
    const char *good = "evote-secret-key-v1 0000000000000000000000000000000000000000000000000000000000000003\n";
    char buf[128];
    signing_key *loaded = NULL;
    (void)state;
    path_in_tmp(path, sizeof path, "bad.key");

    write_file(path, "", 0, 0600);
    assert_int_equal(signing_key_load(path, &loaded), CRYPTO_ERR_KEY_FILE_SIZE);
    write_file(path, good, strlen(good) - 1, 0600); /* one byte short */
    assert_int_equal(signing_key_load(path, &loaded), CRYPTO_ERR_KEY_FILE_SIZE);
    snprintf(buf, sizeof buf, "%sx", good); /* one byte long */
    write_file(path, buf, strlen(buf), 0600);
    assert_int_equal(signing_key_load(path, &loaded), CRYPTO_ERR_KEY_FILE_SIZE);
    uint8_t raw[32] = {1}; /* a raw 32-byte secret is not our format */
    write_file(path, raw, sizeof raw, 0600);
    assert_int_equal(signing_key_load(path, &loaded), CRYPTO_ERR_KEY_FILE_SIZE);

    memcpy(buf, good, strlen(good) + 1);
    buf[0] = 'E'; /* wrong header, right size */
    write_file(path, buf, strlen(buf), 0600);
    assert_int_equal(signing_key_load(path, &loaded), CRYPTO_ERR_KEY_FILE_FORMAT);
    memcpy(buf, good, strlen(good) + 1);
    buf[30] = 'g'; /* not hex */
    write_file(path, buf, strlen(buf), 0600);
    assert_int_equal(signing_key_load(path, &loaded), CRYPTO_ERR_KEY_FILE_FORMAT);
    memcpy(buf, good, strlen(good) + 1);
    buf[strlen(good) - 1] = ' '; /* no final newline */
    write_file(path, buf, strlen(buf), 0600);
    assert_int_equal(signing_key_load(path, &loaded), CRYPTO_ERR_KEY_FILE_FORMAT);
    /* right format, zero scalar */
    snprintf(buf, sizeof buf, "evote-secret-key-v1 %064d\n", 0);
    write_file(path, buf, strlen(buf), 0600);
    assert_int_equal(signing_key_load(path, &loaded), CRYPTO_ERR_BAD_SECKEY);
    assert_null(loaded);

    write_file(path, good, strlen(good), 0600);
    assert_int_equal(signing_key_load(path, &loaded), CRYPTO_OK);
    signing_key_destroy(&loaded);

    /* missing file, a directory, and a symlink (never followed) */
    path_in_tmp(link, sizeof link, "missing.key");
    assert_int_equal(signing_key_load(link, &loaded), CRYPTO_ERR_KEY_FILE_OPEN);
    assert_int_equal(signing_key_load(tmpdir, &loaded), CRYPTO_ERR_KEY_FILE_SIZE); /* a directory (0700) */
    path_in_tmp(link, sizeof link, "link.key");
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(signing_key_load(link, &loaded), CRYPTO_ERR_KEY_FILE_OPEN);
    assert_null(loaded);
}

/* ----------------------------------------------------------- signatures */

static void test_signature_round_trip(void **state)
{
    signing_key *key = new_key();
    uint8_t pub[32], sig[64];
    const uint8_t msg[] = "ballot";
    (void)state;
    signing_key_pubkey(key, pub);
    assert_int_equal(signing_key_sign(key, "evote/v1/tx", msg, sizeof msg, sig), CRYPTO_OK);
    assert_int_equal(crypto_verify(pub, "evote/v1/tx", msg, sizeof msg, sig), CRYPTO_OK);
    /* empty message */
    assert_int_equal(signing_key_sign(key, "evote/v1/tx", NULL, 0, sig), CRYPTO_OK);
    assert_int_equal(crypto_verify(pub, "evote/v1/tx", NULL, 0, sig), CRYPTO_OK);
    signing_key_destroy(&key);
}

static void test_signature_for_one_kind_fails_for_every_other(void **state)
{
    signing_key *key = new_key();
    uint8_t pub[32], sig[64];
    const uint8_t body[] = "view 3 seq 17 digest ...";
    (void)state;
    signing_key_pubkey(key, pub);
    for (int a = 1; a <= 10; a++) {
        assert_int_equal(signing_key_sign(key, crypto_kind_tag((Evote__V1__Kind)a), body,
                                          sizeof body, sig), CRYPTO_OK);
        for (int b = 1; b <= 10; b++) {
            crypto_err want = a == b ? CRYPTO_OK : CRYPTO_ERR_BAD_SIGNATURE;
            assert_int_equal(crypto_verify(pub, crypto_kind_tag((Evote__V1__Kind)b), body,
                                           sizeof body, sig), want);
        }
    }
    signing_key_destroy(&key);
}

static void test_signature_fails_for_changed_message_or_other_key(void **state)
{
    signing_key *a = new_key(), *b = new_key();
    uint8_t pa[32], pb[32], sig[64], msg[40] = "ballot for option 2";
    uint8_t bad_pub[32];
    (void)state;
    signing_key_pubkey(a, pa);
    signing_key_pubkey(b, pb);
    assert_int_equal(signing_key_sign(a, "evote/v1/tx", msg, sizeof msg, sig), CRYPTO_OK);
    assert_int_equal(crypto_verify(pb, "evote/v1/tx", msg, sizeof msg, sig), CRYPTO_ERR_BAD_SIGNATURE);
    msg[18] = '3';
    assert_int_equal(crypto_verify(pa, "evote/v1/tx", msg, sizeof msg, sig), CRYPTO_ERR_BAD_SIGNATURE);
    msg[18] = '2';
    sig[63] ^= 1;
    assert_int_equal(crypto_verify(pa, "evote/v1/tx", msg, sizeof msg, sig), CRYPTO_ERR_BAD_SIGNATURE);
    sig[63] ^= 1;
    assert_int_equal(crypto_verify(pa, "evote/v1/tx", msg, sizeof msg, sig), CRYPTO_OK);
    /* x >= field prime: not a point */
    memset(bad_pub, 0xff, sizeof bad_pub);
    assert_int_equal(crypto_verify(bad_pub, "evote/v1/tx", msg, sizeof msg, sig), CRYPTO_ERR_BAD_PUBKEY);
    signing_key_destroy(&a);
    signing_key_destroy(&b);
}

/* ------------------------------------------------------------ envelopes */

typedef struct {
    uint8_t *bytes;
    size_t len;
} buf_t;

static buf_t pack_envelope(const Evote__V1__Envelope *env)
{
    buf_t b;
    b.len = evote__v1__envelope__get_packed_size(env);
    b.bytes = malloc(b.len + 16);
    assert_non_null(b.bytes);
    evote__v1__envelope__pack(env, b.bytes);
    return b;
}

static buf_t sealed(signing_key *key, Evote__V1__Kind kind, const char *body)
{
    buf_t b;
    assert_int_equal(envelope_seal(kind, (const uint8_t *)body, strlen(body), key, &b.bytes, &b.len),
                     CRYPTO_OK);
    return b;
}

static void test_envelope_round_trip_and_stable_txid(void **state)
{
    signing_key *key = new_key();
    buf_t b = sealed(key, EVOTE__V1__KIND__KIND_TX, "a transaction body");
    Evote__V1__Envelope *env = NULL;
    uint8_t pub[32], id1[32], id2[32];
    (void)state;
    assert_int_equal(envelope_open(b.bytes, b.len, EVOTE__V1__KIND__KIND_TX, &env), CRYPTO_OK);
    signing_key_pubkey(key, pub);
    assert_int_equal(env->kind, EVOTE__V1__KIND__KIND_TX);
    assert_memory_equal(env->signer.data, pub, 32);
    assert_int_equal(env->body.len, strlen("a transaction body"));
    assert_memory_equal(env->body.data, "a transaction body", env->body.len);
    evote__v1__envelope__free_unpacked(env, NULL);
    /* any kind accepted when none is expected */
    assert_int_equal(envelope_open(b.bytes, b.len, EVOTE__V1__KIND__KIND_UNSPECIFIED, &env), CRYPTO_OK);
    evote__v1__envelope__free_unpacked(env, NULL);
    envelope_txid(b.bytes, b.len, id1);
    envelope_txid(b.bytes, b.len, id2);
    assert_memory_equal(id1, id2, 32);
    free(b.bytes);
    signing_key_destroy(&key);
}

static void test_envelope_of_another_kind_is_refused(void **state)
{
    signing_key *key = new_key();
    buf_t b = sealed(key, EVOTE__V1__KIND__KIND_PREPARE, "view 1 seq 2");
    Evote__V1__Envelope *env = NULL;
    (void)state;
    assert_int_equal(envelope_open(b.bytes, b.len, EVOTE__V1__KIND__KIND_COMMIT, &env), CRYPTO_ERR_WRONG_KIND);
    assert_null(env);
    /* Relabelling the kind breaks the signature: the tag changes. */
    Evote__V1__Envelope *parsed = evote__v1__envelope__unpack(NULL, b.len, b.bytes);
    assert_non_null(parsed);
    parsed->kind = EVOTE__V1__KIND__KIND_COMMIT;
    buf_t relabelled = pack_envelope(parsed);
    assert_int_equal(envelope_open(relabelled.bytes, relabelled.len, EVOTE__V1__KIND__KIND_COMMIT, &env),
                     CRYPTO_ERR_BAD_SIGNATURE);
    parsed->kind = (Evote__V1__Kind)99;
    buf_t unknown = pack_envelope(parsed);
    assert_int_equal(envelope_open(unknown.bytes, unknown.len, EVOTE__V1__KIND__KIND_UNSPECIFIED, &env),
                     CRYPTO_ERR_UNKNOWN_KIND);
    parsed->kind = EVOTE__V1__KIND__KIND_UNSPECIFIED;
    buf_t unspecified = pack_envelope(parsed);
    assert_int_equal(envelope_open(unspecified.bytes, unspecified.len, EVOTE__V1__KIND__KIND_UNSPECIFIED, &env),
                     CRYPTO_ERR_UNKNOWN_KIND);
    evote__v1__envelope__free_unpacked(parsed, NULL);
    free(relabelled.bytes);
    free(unknown.bytes);
    free(unspecified.bytes);
    free(b.bytes);
    signing_key_destroy(&key);
}

static void test_envelope_with_wrong_lengths_is_refused(void **state)
{
    signing_key *key = new_key();
    buf_t b = sealed(key, EVOTE__V1__KIND__KIND_TX, "body");
    Evote__V1__Envelope *parsed = evote__v1__envelope__unpack(NULL, b.len, b.bytes), *env = NULL;
    buf_t x;
    (void)state;
    assert_non_null(parsed);
    parsed->signature.len = 63;
    x = pack_envelope(parsed);
    assert_int_equal(envelope_open(x.bytes, x.len, EVOTE__V1__KIND__KIND_TX, &env), CRYPTO_ERR_SIGNATURE_LENGTH);
    free(x.bytes);
    parsed->signature.len = 0;
    x = pack_envelope(parsed);
    assert_int_equal(envelope_open(x.bytes, x.len, EVOTE__V1__KIND__KIND_TX, &env), CRYPTO_ERR_SIGNATURE_LENGTH);
    free(x.bytes);
    parsed->signature.len = 64;
    parsed->signer.len = 31;
    x = pack_envelope(parsed);
    assert_int_equal(envelope_open(x.bytes, x.len, EVOTE__V1__KIND__KIND_TX, &env), CRYPTO_ERR_SIGNER_LENGTH);
    free(x.bytes);
    assert_null(env);
    evote__v1__envelope__free_unpacked(parsed, NULL);
    free(b.bytes);
    signing_key_destroy(&key);
}

static void test_envelope_signed_by_another_key_is_refused(void **state)
{
    signing_key *a = new_key(), *b = new_key();
    buf_t sa = sealed(a, EVOTE__V1__KIND__KIND_TX, "vote");
    Evote__V1__Envelope *parsed = evote__v1__envelope__unpack(NULL, sa.len, sa.bytes), *env = NULL;
    uint8_t pb[32];
    buf_t x;
    (void)state;
    signing_key_pubkey(b, pb);
    memcpy(parsed->signer.data, pb, 32); /* claims b, signed by a */
    x = pack_envelope(parsed);
    assert_int_equal(envelope_open(x.bytes, x.len, EVOTE__V1__KIND__KIND_TX, &env), CRYPTO_ERR_BAD_SIGNATURE);
    assert_null(env);
    free(x.bytes);
    evote__v1__envelope__free_unpacked(parsed, NULL);
    free(sa.bytes);
    signing_key_destroy(&a);
    signing_key_destroy(&b);
}

static void test_truncated_or_garbage_envelope_is_refused(void **state)
{
    signing_key *key = new_key();
    buf_t b = sealed(key, EVOTE__V1__KIND__KIND_TX, "a body of some length for truncation");
    Evote__V1__Envelope *env = NULL;
    uint8_t garbage[512];
    (void)state;
    for (size_t cut = 0; cut < b.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees over-reads */
        memcpy(copy, b.bytes, cut);
        assert_int_not_equal(envelope_open(copy, cut, EVOTE__V1__KIND__KIND_TX, &env), CRYPTO_OK);
        assert_null(env);
        free(copy);
    }
    assert_int_equal(envelope_open(NULL, 0, EVOTE__V1__KIND__KIND_TX, &env), CRYPTO_ERR_MALFORMED);
    memset(garbage, 0xff, sizeof garbage);
    assert_int_equal(envelope_open(garbage, sizeof garbage, EVOTE__V1__KIND__KIND_TX, &env), CRYPTO_ERR_MALFORMED);
    srand(7);
    for (int round = 0; round < 2000; round++) {
        size_t len = 1 + (size_t)rand() % sizeof garbage;
        for (size_t i = 0; i < len; i++)
            garbage[i] = (uint8_t)rand();
        assert_int_not_equal(envelope_open(garbage, len, EVOTE__V1__KIND__KIND_UNSPECIFIED, &env), CRYPTO_OK);
        assert_null(env);
    }
    /* every single-bit flip of a valid envelope is refused */
    for (size_t bit = 0; bit < b.len * 8; bit++) {
        b.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_not_equal(envelope_open(b.bytes, b.len, EVOTE__V1__KIND__KIND_TX, &env), CRYPTO_OK);
        b.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_int_equal(envelope_open(b.bytes, b.len, EVOTE__V1__KIND__KIND_TX, &env), CRYPTO_OK);
    evote__v1__envelope__free_unpacked(env, NULL);
    assert_int_equal(envelope_open(b.bytes, CRYPTO_MAX_ENVELOPE + 1, EVOTE__V1__KIND__KIND_TX, &env),
                     CRYPTO_ERR_TOO_LARGE);
    free(b.bytes);
    signing_key_destroy(&key);
}

static void test_non_canonical_envelope_is_refused(void **state)
{
    signing_key *key = new_key();
    buf_t b = sealed(key, EVOTE__V1__KIND__KIND_TX, "canonical please");
    Evote__V1__Envelope *env = NULL;
    uint8_t *x = malloc(b.len + 8);
    (void)state;
    /* an unknown field appended: same signature, would be another tx id */
    memcpy(x, b.bytes, b.len);
    x[b.len] = (15 << 3) | 0; /* field 15, varint */
    x[b.len + 1] = 1;
    assert_int_equal(envelope_open(x, b.len + 2, EVOTE__V1__KIND__KIND_TX, &env), CRYPTO_ERR_NOT_CANONICAL);
    /* the kind field (first: tag 0x08, value 1) written with a padded varint */
    assert_int_equal(b.bytes[0], 0x08);
    assert_int_equal(b.bytes[1], 0x01);
    x[0] = 0x08;
    x[1] = 0x81;
    x[2] = 0x00;
    memcpy(x + 3, b.bytes + 2, b.len - 2);
    assert_int_equal(envelope_open(x, b.len + 1, EVOTE__V1__KIND__KIND_TX, &env), CRYPTO_ERR_NOT_CANONICAL);
    /* the kind field moved to the end: fields out of order */
    memcpy(x, b.bytes + 2, b.len - 2);
    x[b.len - 2] = 0x08;
    x[b.len - 1] = 0x01;
    assert_int_equal(envelope_open(x, b.len, EVOTE__V1__KIND__KIND_TX, &env), CRYPTO_ERR_NOT_CANONICAL);
    assert_null(env);
    free(x);
    free(b.bytes);
    signing_key_destroy(&key);
}

static void test_strerror_covers_every_code(void **state)
{
    (void)state;
    for (int e = CRYPTO_OK; e <= CRYPTO_ERR_BAD_HEX; e++) {
        const char *s = crypto_strerror((crypto_err)e);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown crypto error");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tagged_hash_matches_bip340_definition),
        cmocka_unit_test(test_tagged_hash_equals_libsecp256k1),
        cmocka_unit_test(test_every_kind_has_a_distinct_tag),
        cmocka_unit_test(test_merkle_root_matches_recursive_definition),
        cmocka_unit_test(test_hex_round_trip_and_rejections),
        cmocka_unit_test(test_equal_compares_whole_buffers),
        cmocka_unit_test(test_random_fills_and_differs),
        cmocka_unit_test(test_known_secret_gives_bip340_public_key),
        cmocka_unit_test(test_zero_and_out_of_range_secrets_are_refused),
        cmocka_unit_test(test_key_file_round_trip_with_mode_0600),
        cmocka_unit_test(test_key_file_readable_by_others_is_refused),
        cmocka_unit_test(test_key_file_of_wrong_size_or_format_is_refused),
        cmocka_unit_test(test_signature_round_trip),
        cmocka_unit_test(test_signature_for_one_kind_fails_for_every_other),
        cmocka_unit_test(test_signature_fails_for_changed_message_or_other_key),
        cmocka_unit_test(test_envelope_round_trip_and_stable_txid),
        cmocka_unit_test(test_envelope_of_another_kind_is_refused),
        cmocka_unit_test(test_envelope_with_wrong_lengths_is_refused),
        cmocka_unit_test(test_envelope_signed_by_another_key_is_refused),
        cmocka_unit_test(test_truncated_or_garbage_envelope_is_refused),
        cmocka_unit_test(test_non_canonical_envelope_is_refused),
        cmocka_unit_test(test_strerror_covers_every_code),
    };
    return cmocka_run_group_tests_name("crypto", tests, make_tmpdir, remove_tmpdir);
}
