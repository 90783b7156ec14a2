/* Unit tests of `evote genesis`: the test cluster with --hosts (one
 * validator per host, as deploy/gen-cluster.sh and docker-compose use it),
 * the genesis ceremony from public keys (every bad field refused with its
 * line), --check, and the CURVE key commands. Real files in a temporary
 * directory; the CLI files are compiled in (they belong to the evote program,
 * not to a library). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/cli/client_util.c"
#include "../../src/cli/cmd_ceremony.c"
#include "../../src/cli/cmd_genesis.c"

/* evote.c's, which this test does not link. */
int cli_wants_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/evote-test-cli-genesis-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path_in(const char *name)
{
    static char path[4][160];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    return p;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 16);
    assert_non_null(f);
    assert_non_null(buf);
    size_t got = fread(buf, 1, (1 << 16) - 1, f);
    (void)got;
    fclose(f);
    return buf;
}

/* Runs cmd_genesis with the given arguments (NULL-terminated), stdout to
 * /dev/null. Returns: its exit code. */
static int run_genesis(const char *arg0, ...)
{
    char *argv[32];
    int argc = 0, rc, saved;
    va_list ap;
    argv[argc++] = "genesis";
    va_start(ap, arg0);
    for (const char *a = arg0; a != NULL && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    assert_true(freopen("/dev/null", "w", stdout) != NULL);
    optind = 0; /* a fresh getopt scan */
    rc = cmd_genesis(argc, argv);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    return rc;
}

/* ----------------------------------------------------------------- --hosts */

static void test_hosts_give_every_validator_its_host_and_the_same_ports(void **state)
{
    genesis *g = NULL;
    genesis_error why;
    char *conf;
    struct stat st;
    (void)state;
    assert_int_equal(run_genesis("--dir", path_in("c"), "--hosts", "evoted-0,evoted-1,10.0.0.3,[fd00::4]", NULL), 0);
    assert_int_equal(genesis_load(path_in("c/genesis.txt"), &g, &why), LEDGER_OK);
    assert_int_equal(g->n, 4);
    assert_string_equal(g->validators[0].endpoint, "tcp://evoted-0:7100");
    assert_string_equal(g->validators[2].endpoint, "tcp://10.0.0.3:7100");
    assert_string_equal(g->validators[3].endpoint, "tcp://[fd00::4]:7100");
    genesis_destroy(&g);
    conf = read_text(path_in("c/node1/evoted.conf"));
    assert_non_null(strstr(conf, "\npeer_listen = tcp://0.0.0.0:7100\n"));
    assert_non_null(strstr(conf, "\nclient_listen = tcp://0.0.0.0:7200\n"));
    assert_non_null(strstr(conf, "\nhttp_listen = 0.0.0.0:9100\n"));
    assert_non_null(strstr(conf, "\nname = node1\n"));
    free(conf);
    assert_int_equal(stat(path_in("c/node3/curve.key"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(run_genesis("--dir", path_in("p"), "--hosts", "a,b,c,d", "--peer-port", "9000", "--client-port",
                                 "9001", "--http-port", "9002", "--validators", "4", NULL),
                     0);
    conf = read_text(path_in("p/node0/evoted.conf"));
    assert_non_null(strstr(conf, "\npeer_listen = tcp://0.0.0.0:9000\n"));
    assert_non_null(strstr(conf, "\nclient_listen = tcp://0.0.0.0:9001\n"));
    assert_non_null(strstr(conf, "\nhttp_listen = 0.0.0.0:9002\n"));
    free(conf);
    conf = read_text(path_in("p/genesis.txt"));
    assert_non_null(strstr(conf, " tcp://d:9000\n"));
    free(conf);
}

static void test_hosts_without_hosts_stay_local(void **state)
{
    char *conf;
    (void)state;
    assert_int_equal(run_genesis("--dir", path_in("l"), "--validators", "4", "--base-port", "8100", NULL), 0);
    conf = read_text(path_in("l/node2/evoted.conf"));
    assert_non_null(strstr(conf, "\npeer_listen = tcp://127.0.0.1:8102\n"));
    assert_non_null(strstr(conf, "\nclient_listen = tcp://127.0.0.1:8202\n"));
    assert_non_null(strstr(conf, "\nhttp_listen = 127.0.0.1:8302\n"));
    free(conf);
}

static void test_hosts_bad_lists_are_usage_errors(void **state)
{
    (void)state;
    assert_int_equal(run_genesis("--dir", path_in("x"), "--hosts", "a,b,a,c", NULL), EXIT_USAGE);
    assert_int_equal(run_genesis("--dir", path_in("x"), "--hosts", "a,b,,c", NULL), EXIT_USAGE);
    assert_int_equal(run_genesis("--dir", path_in("x"), "--hosts", "a,b,c", NULL), EXIT_USAGE);
    assert_int_equal(run_genesis("--dir", path_in("x"), "--hosts", "a,b,c,0.0.0.0", NULL), EXIT_USAGE);
    assert_int_equal(run_genesis("--dir", path_in("x"), "--hosts", "a,b,c,d e", NULL), EXIT_USAGE);
    assert_int_equal(run_genesis("--dir", path_in("x"), "--hosts", "a,b,c,[zz]", NULL), EXIT_USAGE);
    assert_int_equal(run_genesis("--dir", path_in("x"), "--hosts", "a,b,c,d", "--validators", "7", NULL), EXIT_USAGE);
    assert_int_equal(run_genesis("--dir", path_in("x"), "--hosts", "a,b,c,d", "--base-port", "7000", NULL),
                     EXIT_USAGE);
    assert_int_equal(run_genesis("--dir", path_in("x"), "--hosts", "a,b,c,d", "--peer-port", "7000", "--client-port",
                                 "7000", NULL),
                     EXIT_USAGE);
    assert_int_equal(run_genesis("--dir", path_in("x"), "--hosts", "a,b,c,d", "--http-port", "7100", NULL), EXIT_USAGE);
    assert_int_equal(run_genesis("--dir", path_in("x"), "--validators", "4", "--peer-port", "7000", NULL), EXIT_USAGE);
    assert_int_equal(access(path_in("x"), F_OK), -1); /* nothing made */
}

/* ------------------------------------------------------------- the ceremony */

typedef struct {
    char v_pub[4][65], v_curve[4][41], a_pub[2][65];
} keys;

static void make_keys(keys *k)
{
    for (int i = 0; i < 4; i++) {
        signing_key *s = NULL;
        uint8_t pub[32];
        net_curve_keypair kp;
        assert_int_equal(signing_key_generate(&s), CRYPTO_OK);
        signing_key_pubkey(s, pub);
        crypto_hex(pub, 32, k->v_pub[i]);
        signing_key_destroy(&s);
        assert_int_equal(curve_keypair_for_genesis(&kp, k->v_curve[i]), NET_OK);
        net_curve_keypair_wipe(&kp);
        if (i < 2) {
            assert_int_equal(signing_key_generate(&s), CRYPTO_OK);
            signing_key_pubkey(s, pub);
            crypto_hex(pub, 32, k->a_pub[i]);
            signing_key_destroy(&s);
        }
    }
}

/* The list of 4 validators and one authority, with `extra` spliced in
 * after validator line `after` (0..3; -1: none). */
static void list_text(const keys *k, char *buf, size_t size, int after, const char *extra)
{
    size_t len = 0;
    len += (size_t)snprintf(buf + len, size - len, "# the national election 2027\nchain_name national-2027\n");
    for (int i = 0; i < 4; i++) {
        len += (size_t)snprintf(buf + len, size - len, "validator board-%d %s %s tcp://10.0.0.%d:7100  # board %d\n",
                                i, k->v_pub[i], k->v_curve[i], i + 1, i);
        if (i == after)
            len += (size_t)snprintf(buf + len, size - len, "%s\n", extra);
    }
    snprintf(buf + len, size - len, "authority commission %s\n", k->a_pub[0]);
}

static void test_ceremony_assembles_a_genesis_evoted_accepts(void **state)
{
    keys k;
    char text[4096], text2[4096], err[512], *out = NULL, *out2 = NULL;
    genesis *g = NULL;
    genesis_error why;
    (void)state;
    make_keys(&k);
    list_text(&k, text, sizeof text, -1, "");
    assert_int_equal(cli_ceremony_assemble(text, strlen(text), NULL, &out, err, sizeof err), 0);
    assert_int_equal(genesis_parse((const uint8_t *)out, strlen(out), &g, &why), LEDGER_OK);
    assert_string_equal(g->chain_name, "national-2027");
    assert_int_equal(g->n, 4);
    assert_int_equal(g->n_authorities, 1);
    assert_string_equal(g->validators[2].name, "board-2");
    assert_string_equal(g->validators[2].curve_z85, k.v_curve[2]);
    assert_string_equal(g->validators[3].endpoint, "tcp://10.0.0.4:7100");
    genesis_destroy(&g);

    /* The same entries with other comments, spacing, CRLF and upper-case hex
     * give the very same genesis: every authority can check the chain id. */
    snprintf(text2, sizeof text2, "chain_name   national-2027 # ours\r\n\n");
    for (int i = 0; i < 4; i++) {
        char upper[65];
        for (int j = 0; j < 65; j++)
            upper[j] = (char)(k.v_pub[i][j] >= 'a' && k.v_pub[i][j] <= 'f' ? k.v_pub[i][j] - 32 : k.v_pub[i][j]);
        snprintf(text2 + strlen(text2), sizeof text2 - strlen(text2),
                 "\tvalidator board-%d\t%s %s   tcp://10.0.0.%d:7100\r\n", i, upper, k.v_curve[i], i + 1);
    }
    snprintf(text2 + strlen(text2), sizeof text2 - strlen(text2), "authority commission %s", k.a_pub[0]);
    assert_int_equal(cli_ceremony_assemble(text2, strlen(text2), NULL, &out2, err, sizeof err), 0);
    assert_string_equal(out, out2);
    free(out2);
    out2 = NULL;

    /* --chain-name agrees with the file, or names the chain when it does not. */
    assert_int_equal(cli_ceremony_assemble(text, strlen(text), "national-2027", &out2, err, sizeof err), 0);
    assert_string_equal(out, out2);
    free(out2);
    free(out);
}

/* One bad list: its error names the line (0: none) and contains `what`. */
static void expect_refused(const char *text, unsigned line, const char *what)
{
    char err[512], *out = (char *)1, want[32];
    int rc = cli_ceremony_assemble(text, strlen(text), NULL, &out, err, sizeof err);
    if (rc != EXIT_FAILED || out != NULL || strstr(err, what) == NULL) {
        print_error("expected a refusal containing '%s', got rc %d: %s\n", what, rc, err);
        fail();
    }
    if (line) {
        snprintf(want, sizeof want, "line %u: ", line);
        if (strncmp(err, want, strlen(want)) != 0) {
            print_error("expected '%s...', got: %s\n", want, err);
            fail();
        }
    }
}

static void test_ceremony_refuses_every_bad_field_with_its_line(void **state)
{
    keys k;
    char text[4096], line[512];
    (void)state;
    make_keys(&k);
    /* Line numbers: 1 comment, 2 chain_name, 3-6 validators; an extra line
     * after validator i is line 4 + i. */
#define BAD_AFTER(after, extra, lineno, what)                \
    do {                                                     \
        list_text(&k, text, sizeof text, after, extra);      \
        expect_refused(text, lineno, what);                  \
    } while (0)
    BAD_AFTER(0, "validatr x y z w", 4, "unknown entry 'validatr'");
    BAD_AFTER(0, "validator board-9 abc", 4, "4 fields");
    BAD_AFTER(0, "authority commission2", 4, "2 fields");
    BAD_AFTER(0, "chain_name other", 4, "already given on line 2");
    BAD_AFTER(0, "max_batch_txs 0", 4, "max_batch_txs takes one number");
    BAD_AFTER(0, "checkpoint_interval 64x", 4, "checkpoint_interval takes one number");
    BAD_AFTER(0, "primary_term 1001", 4, "primary_term takes one number from 0 to 1000");
    BAD_AFTER(0, "primary_term -1", 4, "primary_term takes one number");
    BAD_AFTER(0, "primary_term 2\nprimary_term 3", 5, "primary_term is given twice");
    BAD_AFTER(0, "a b c d e f g", 4, "too many fields");

    snprintf(line, sizeof line, "validator bad/name %s %s tcp://10.0.0.9:7100", k.v_pub[0], k.v_curve[0]);
    BAD_AFTER(1, line, 5, "validator name 'bad/name'");
    snprintf(line, sizeof line, "validator board-9 %.63s %s tcp://10.0.0.9:7100", k.a_pub[1], k.v_curve[0]);
    BAD_AFTER(1, line, 5, "not 64 hex digits");
    snprintf(line, sizeof line, "validator board-9 %s %s tcp://10.0.0.9:7100",
             "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f", k.v_curve[0]);
    BAD_AFTER(1, line, 5, "not a point on secp256k1");
    snprintf(line, sizeof line, "validator board-9 %s %.39s tcp://10.0.0.9:7100", k.a_pub[1], k.v_curve[0]);
    BAD_AFTER(1, line, 5, "not 40 Z85 characters");
    snprintf(line, sizeof line, "validator board-9 %s %.39s\" tcp://10.0.0.9:7100", k.a_pub[1], k.v_curve[0]);
    BAD_AFTER(1, line, 5, "not 40 Z85 characters");
    snprintf(line, sizeof line, "validator board-9 %s %s http://10.0.0.9:7100", k.a_pub[1], k.v_curve[0]);
    BAD_AFTER(2, line, 6, "must be tcp://HOST:PORT");
    snprintf(line, sizeof line, "validator board-9 %s %s tcp://0.0.0.0:7100", k.a_pub[1], k.v_curve[0]);
    BAD_AFTER(2, line, 6, "not 0.0.0.0");
    snprintf(line, sizeof line, "validator board-9 %s %s tcp://10.0.0.9:0", k.a_pub[1], k.v_curve[0]);
    BAD_AFTER(2, line, 6, "not a number 1..65535");
    snprintf(line, sizeof line, "validator board-9 %s %s tcp://10.0.0.9:65536", k.a_pub[1], k.v_curve[0]);
    BAD_AFTER(2, line, 6, "not a number 1..65535");
    snprintf(line, sizeof line, "validator board-9 %s %s tcp://10.0.0.9", k.a_pub[1], k.v_curve[0]);
    BAD_AFTER(2, line, 6, "has no HOST:PORT");
    snprintf(line, sizeof line, "validator board-9 %s %s tcp://10.0.0.9:", k.a_pub[1], k.v_curve[0]);
    BAD_AFTER(2, line, 6, "not a number 1..65535");

    /* Duplicates name the other line. */
    snprintf(line, sizeof line, "validator board-0 %s %s tcp://10.0.0.9:7100", k.a_pub[1], k.a_pub[1] + 24);
    BAD_AFTER(3, line, 7, "already used on line 3");
    snprintf(line, sizeof line, "validator board-9 %s %s tcp://10.0.0.9:7100", k.v_pub[1], k.a_pub[1] + 24);
    BAD_AFTER(3, line, 7, "same Schnorr key as validator board-1 (line 4)");
    snprintf(line, sizeof line, "validator board-9 %s %s tcp://10.0.0.9:7100", k.a_pub[1], k.v_curve[2]);
    BAD_AFTER(3, line, 7, "same CURVE key as validator board-2 (line 5)");
    snprintf(line, sizeof line, "validator board-9 %s %s tcp://10.0.0.4:7100", k.a_pub[1], k.a_pub[1] + 24);
    BAD_AFTER(3, line, 7, "same endpoint tcp://10.0.0.4:7100 as validator board-3 (line 6)");
    snprintf(line, sizeof line, "authority commission %s", k.a_pub[1]);
    BAD_AFTER(3, line, 8, "already used on line 7");
    snprintf(line, sizeof line, "authority other %s", k.a_pub[0]);
    BAD_AFTER(3, line, 8, "commission has the same key as authority other (line 7)");
#undef BAD_AFTER
}

static void test_ceremony_refuses_bad_sets(void **state)
{
    keys k;
    char text[4096], *p, err[512], *out = NULL;
    (void)state;
    make_keys(&k);

    /* 5 validators: not 3f+1. */
    snprintf(text, sizeof text, "chain_name c\nauthority a %s\n", k.a_pub[0]);
    for (int i = 0; i < 4; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "validator v%d %s %s tcp://h%d:1\n", i, k.v_pub[i],
                 k.v_curve[i], i);
    snprintf(text + strlen(text), sizeof text - strlen(text), "validator v9 %s %s tcp://h9:1\n", k.a_pub[1],
             k.a_pub[1] + 24);
    expect_refused(text, 0, "5 validator lines: PBFT needs n = 3f+1");
    /* 3 validators. */
    p = strstr(text, "validator v3");
    *p = '\0';
    expect_refused(text, 0, "3 validator lines");

    /* No authority; no chain name; --chain-name against the file. */
    list_text(&k, text, sizeof text, -1, "");
    *strstr(text, "authority") = '\0';
    expect_refused(text, 0, "no authority line");
    list_text(&k, text, sizeof text, -1, "");
    memcpy(strstr(text, "chain_name"), "#hain_name", 10);
    expect_refused(text, 0, "no chain_name");
    assert_int_equal(cli_ceremony_assemble(text, strlen(text), "given-here", &out, err, sizeof err), 0);
    assert_non_null(strstr(out, "\nchain_name given-here\n"));
    free(out);
    list_text(&k, text, sizeof text, -1, "");
    assert_int_equal(cli_ceremony_assemble(text, strlen(text), "other", &out, err, sizeof err), EXIT_FAILED);
    assert_non_null(strstr(err, "--chain-name other differs from chain_name national-2027 on line 2"));
    assert_int_equal(cli_ceremony_assemble(text, strlen(text), "bad name", &out, err, sizeof err), EXIT_FAILED);

    /* Not text; a line too long; empty. */
    assert_int_equal(cli_ceremony_assemble("chain_name a\0b\n", 15, NULL, &out, err, sizeof err), EXIT_FAILED);
    assert_non_null(strstr(err, "NUL byte"));
    memset(text, 'x', 2000);
    text[2000] = '\0';
    expect_refused(text, 1, "longer than 1024");
    expect_refused("", 0, "no chain_name");
    expect_refused("# nothing\n\n", 0, "no chain_name");
}

static void test_ceremony_command_writes_once_and_check_reads_it(void **state)
{
    keys k;
    char text[4096], *g1, *g2;
    (void)state;
    make_keys(&k);
    list_text(&k, text, sizeof text, -1, "");
    write_text(path_in("keys.txt"), text);
    assert_int_equal(run_genesis("--from-public-keys", path_in("keys.txt"), "--out", path_in("genesis.txt"), NULL), 0);
    assert_int_equal(run_genesis("--check", path_in("genesis.txt"), NULL), 0);
    /* Never overwritten; a second authority's copy is byte for byte the same. */
    assert_int_equal(run_genesis("--from-public-keys", path_in("keys.txt"), "--out", path_in("genesis.txt"), NULL),
                     EXIT_FAILED);
    assert_int_equal(run_genesis("--from-public-keys", path_in("keys.txt"), "--out", path_in("genesis2.txt"), NULL),
                     0);
    g1 = read_text(path_in("genesis.txt"));
    g2 = read_text(path_in("genesis2.txt"));
    assert_string_equal(g1, g2);
    free(g1);
    free(g2);
    /* A bad list writes nothing. */
    list_text(&k, text, sizeof text, 0, "validator board-0 x y z");
    write_text(path_in("bad.txt"), text);
    assert_int_equal(run_genesis("--from-public-keys", path_in("bad.txt"), "--out", path_in("g3.txt"), NULL),
                     EXIT_FAILED);
    assert_int_equal(access(path_in("g3.txt"), F_OK), -1);
    assert_int_equal(run_genesis("--from-public-keys", path_in("missing.txt"), "--out", path_in("g3.txt"), NULL),
                     EXIT_FAILED);
    assert_int_equal(run_genesis("--check", path_in("keys.txt"), NULL), EXIT_FAILED); /* not a genesis */
    /* Usage errors: mixed with the test-cluster options, or half given. */
    assert_int_equal(run_genesis("--from-public-keys", path_in("keys.txt"), NULL), EXIT_USAGE);
    assert_int_equal(run_genesis("--from-public-keys", path_in("keys.txt"), "--out", path_in("g4.txt"), "--dir",
                                 path_in("d"), NULL),
                     EXIT_USAGE);
    assert_int_equal(run_genesis("--check", path_in("genesis.txt"), "--from-public-keys", path_in("keys.txt"), "--out",
                                 path_in("g4.txt"), NULL),
                     EXIT_USAGE);
}

/* -------------------------------------------------------------- CURVE keys */

static void test_curve_keygen_and_pubkey_agree(void **state)
{
    char *pub, line[64];
    struct stat st;
    net_curve_keypair kp;
    int saved;
    FILE *f;
    (void)state;
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    assert_non_null(freopen(path_in("keygen.out"), "w", stdout));
    assert_int_equal(cli_curve_keygen(path_in("curve.key")), 0);
    assert_int_equal(cli_curve_keygen(path_in("curve.key")), EXIT_FAILED); /* never overwritten */
    assert_non_null(freopen(path_in("pubkey.out"), "w", stdout));
    assert_int_equal(cli_curve_pubkey(path_in("curve.key")), 0);
    assert_int_equal(cli_curve_pubkey(path_in("missing.key")), EXIT_FAILED);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);

    assert_int_equal(stat(path_in("curve.key"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    pub = read_text(path_in("curve.key.pub"));
    assert_int_equal(strlen(pub), 41);
    assert_null(strchr(pub, '#'));
    f = fopen(path_in("pubkey.out"), "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_string_equal(line, pub);
    memset(&kp, 0, sizeof kp);
    assert_int_equal(net_curve_secret_load(path_in("curve.key"), &kp), NET_OK);
    {
        char z85[41];
        net_z85_encode(kp.public_key, z85);
        assert_memory_equal(z85, pub, 40);
    }
    net_curve_keypair_wipe(&kp);
    free(pub);
    /* A Schnorr key file is not a CURVE key file. */
    write_text(path_in("schnorr.key"), "evote-secret-key-v1 "
                                       "0000000000000000000000000000000000000000000000000000000000000001\n");
    assert_int_equal(chmod(path_in("schnorr.key"), 0600), 0);
    assert_int_equal(cli_curve_pubkey(path_in("schnorr.key")), EXIT_FAILED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hosts_give_every_validator_its_host_and_the_same_ports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hosts_without_hosts_stay_local, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hosts_bad_lists_are_usage_errors, setup, teardown),
        cmocka_unit_test(test_ceremony_assembles_a_genesis_evoted_accepts),
        cmocka_unit_test(test_ceremony_refuses_every_bad_field_with_its_line),
        cmocka_unit_test(test_ceremony_refuses_bad_sets),
        cmocka_unit_test_setup_teardown(test_ceremony_command_writes_once_and_check_reads_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_curve_keygen_and_pubkey_agree, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
