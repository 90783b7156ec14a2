/* evote genesis: everything a local test cluster on 127.0.0.1 needs — per
 * validator a Schnorr key, a CURVE key and an evoted.conf; the authorities'
 * keys; and the genesis file naming them all. The file written is parsed back
 * with genesis_load(), so what this prints is the chain evoted will run. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "ledger.h"
#include "net.h"

#define DEFAULT_BASE_PORT 7100
#define CLIENT_PORT_OFFSET 100
#define MAX_AUTHORITIES 1000

static const char genesis_help[] =
    "usage: evote genesis --dir DIR --validators N [--base-port P] [--authorities M]\n"
    "                     [--chain-name NAME]\n"
    "\n"
    "Creates a local test cluster on 127.0.0.1 in DIR (created if missing):\n"
    "  DIR/node<i>/validator.key   Schnorr secret key (mode 0600)\n"
    "  DIR/node<i>/curve.key       CURVE secret key for the peer mesh (mode 0600)\n"
    "  DIR/node<i>/evoted.conf     evoted configuration: peers at tcp://127.0.0.1:P+i,\n"
    "                              clients at tcp://127.0.0.1:P+100+i, /healthz and /metrics\n"
    "                              at http://127.0.0.1:P+200+i, chain in node<i>/data\n"
    "  DIR/authority<j>.key, .pub  an election authority's key pair (secret mode 0600)\n"
    "  DIR/genesis.txt             the chain: every validator and authority\n"
    "and prints the chain id. N must be 3f+1 (4, 7, 10, ... 100) so that f faulty\n"
    "validators are tolerated. P defaults to 7100, M to 1, NAME to evote-local.\n"
    "Refuses a DIR that already holds a genesis.txt; never overwrites a key.\n"
    "For a real election every validator generates its own keys on its own\n"
    "machine: this command is for tests and demonstrations only.\n";

/* A path under dir: "dir/a" or "dir/a/b". Returns: malloc'ed, or NULL. */
static char *path_join(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *path_join(const char *dir, const char *fmt, ...)
{
    char *tail = NULL, *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&tail, fmt, ap) < 0)
        tail = NULL;
    va_end(ap);
    if (tail == NULL)
        return NULL;
    if (asprintf(&out, "%s/%s", dir, tail) < 0)
        out = NULL;
    free(tail);
    return out;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

static int name_ok(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > GENESIS_MAX_NAME)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Writes text to a new file (O_EXCL) with the given mode. Returns: 0 or -1
 * (errno set). */
static int write_new_file(const char *path, const char *text, mode_t mode)
{
    size_t len = strlen(text), done = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            close(fd);
            unlink(path);
            errno = e;
            return -1;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(path);
        return -1;
    }
    return 0;
}

static int make_dir(const char *path, mode_t mode)
{
    struct stat st;
    if (mkdir(path, mode) == 0)
        return 0;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    if (errno == EEXIST)
        errno = ENOTDIR;
    return -1;
}

/* A generated validator or authority, for the genesis text and the report. */
typedef struct {
    char pub_hex[2 * CRYPTO_PUBKEY_LEN + 1];
    char curve_z85[NET_CURVE_Z85_LEN + 1];
} member;

/* Writes a Schnorr key pair: secret at key_path (0600), public hex into
 * pub_hex. Returns: 0, or 1 after printing why. */
static int make_signing_key(const char *key_path, char pub_hex[2 * CRYPTO_PUBKEY_LEN + 1])
{
    signing_key *key = NULL;
    uint8_t pub[CRYPTO_PUBKEY_LEN];
    crypto_err err = signing_key_generate(&key);
    if (err == CRYPTO_OK)
        err = signing_key_save(key, key_path);
    if (err != CRYPTO_OK) {
        fprintf(stderr, "evote genesis: %s: %s\n", key_path, crypto_strerror(err));
        signing_key_destroy(&key);
        return 1;
    }
    signing_key_pubkey(key, pub);
    crypto_hex(pub, sizeof pub, pub_hex);
    signing_key_destroy(&key);
    return 0;
}

static int make_validator(const char *dir, long i, long base_port, member *m)
{
    char *node_dir = path_join(dir, "node%ld", i);
    char *key_path = path_join(dir, "node%ld/validator.key", i);
    char *curve_path = path_join(dir, "node%ld/curve.key", i);
    char *conf_path = path_join(dir, "node%ld/evoted.conf", i);
    char *conf = NULL;
    net_curve_keypair kp;
    net_err nerr;
    int rc = 1;

    memset(&kp, 0, sizeof kp);
    if (node_dir == NULL || key_path == NULL || curve_path == NULL || conf_path == NULL) {
        fprintf(stderr, "evote genesis: out of memory\n");
        goto out;
    }
    if (make_dir(node_dir, 0700) != 0) {
        fprintf(stderr, "evote genesis: cannot create %s: %s\n", node_dir, strerror(errno));
        goto out;
    }
    if (make_signing_key(key_path, m->pub_hex) != 0)
        goto out;
    /* '#' is a Z85 digit but starts a comment in the genesis file, so a
     * public key containing it would cut its line: draw until there is none
     * (about 6 draws in 10 succeed). */
    do {
        nerr = net_curve_keypair_generate(&kp);
        if (nerr == NET_OK)
            net_z85_encode(kp.public_key, m->curve_z85);
    } while (nerr == NET_OK && strchr(m->curve_z85, '#') != NULL);
    if (nerr == NET_OK)
        nerr = net_curve_secret_save(&kp, curve_path);
    if (nerr != NET_OK) {
        fprintf(stderr, "evote genesis: %s: %s\n", curve_path, net_strerror(nerr));
        goto out;
    }
    if (asprintf(&conf,
                 "# evoted configuration of validator node%ld (written by 'evote genesis')\n"
                 "name = node%ld\n"
                 "genesis = ../genesis.txt\n"
                 "key = validator.key\n"
                 "curve_key = curve.key\n"
                 "data_dir = data\n"
                 "peer_listen = tcp://127.0.0.1:%ld\n"
                 "client_listen = tcp://127.0.0.1:%ld\n"
                 "http_listen = 127.0.0.1:%ld\n"
                 "log_level = info\n",
                 i, i, base_port + i, base_port + CLIENT_PORT_OFFSET + i,
                 base_port + 2 * CLIENT_PORT_OFFSET + i) < 0) {
        conf = NULL;
        fprintf(stderr, "evote genesis: out of memory\n");
        goto out;
    }
    if (write_new_file(conf_path, conf, 0644) != 0) {
        fprintf(stderr, "evote genesis: cannot write %s: %s\n", conf_path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    net_curve_keypair_wipe(&kp);
    free(conf);
    free(node_dir);
    free(key_path);
    free(curve_path);
    free(conf_path);
    return rc;
}

static int make_authority(const char *dir, long j, member *m)
{
    char *key_path = path_join(dir, "authority%ld.key", j);
    char *pub_path = path_join(dir, "authority%ld.key.pub", j);
    char line[2 * CRYPTO_PUBKEY_LEN + 2];
    int rc = 1;

    if (key_path == NULL || pub_path == NULL) {
        fprintf(stderr, "evote genesis: out of memory\n");
        goto out;
    }
    if (make_signing_key(key_path, m->pub_hex) != 0)
        goto out;
    snprintf(line, sizeof line, "%s\n", m->pub_hex);
    if (write_new_file(pub_path, line, 0644) != 0) {
        fprintf(stderr, "evote genesis: cannot write %s: %s\n", pub_path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(key_path);
    free(pub_path);
    return rc;
}

/* Appends printf output to a growing string. Returns: 0 or -1. */
static int append(char **buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int append(char **buf, size_t *len, const char *fmt, ...)
{
    char *piece = NULL, *grown;
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vasprintf(&piece, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    grown = realloc(*buf, *len + (size_t)n + 1);
    if (grown == NULL) {
        free(piece);
        return -1;
    }
    memcpy(grown + *len, piece, (size_t)n + 1);
    *buf = grown;
    *len += (size_t)n;
    free(piece);
    return 0;
}

static char *genesis_text(const char *chain_name, long n, long base_port, const member *validators, long m,
                          const member *authorities)
{
    char *buf = NULL;
    size_t len = 0;
    int bad = 0;

    bad |= append(&buf, &len,
                  "evote-genesis-v1\n"
                  "# Local test cluster on 127.0.0.1 (written by 'evote genesis'). Any edit,\n"
                  "# even to a comment, makes another chain.\n"
                  "chain_name %s\n",
                  chain_name);
    for (long i = 0; i < n && !bad; i++)
        bad |= append(&buf, &len, "validator node%ld %s %s tcp://127.0.0.1:%ld\n", i, validators[i].pub_hex,
                      validators[i].curve_z85, base_port + i);
    for (long j = 0; j < m && !bad; j++)
        bad |= append(&buf, &len, "authority authority%ld %s\n", j, authorities[j].pub_hex);
    if (bad) {
        free(buf);
        return NULL;
    }
    return buf;
}

int cmd_genesis(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"validators", required_argument, NULL, 'n'},
                                         {"base-port", required_argument, NULL, 'p'},
                                         {"authorities", required_argument, NULL, 'a'},
                                         {"chain-name", required_argument, NULL, 'c'},
                                         {0, 0, 0, 0}};
    const char *dir = NULL, *chain_name = "evote-local";
    long n = -1, base_port = DEFAULT_BASE_PORT, m = 1;
    member *validators = NULL, *authorities = NULL;
    char *genesis_path = NULL, *text = NULL;
    char chain_hex[2 * CRYPTO_CHAIN_ID_LEN + 1];
    genesis *g = NULL;
    genesis_error gwhy;
    ledger_err lerr;
    int c, rc = EXIT_FAILED;

    if (cli_wants_help(argc, argv)) {
        fputs(genesis_help, stdout);
        return 0;
    }
    while ((c = getopt_long(argc, argv, "d:n:p:a:c:", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'c': chain_name = optarg; break;
        case 'n':
            if (!parse_long(optarg, 0, 1000000, &n)) {
                fprintf(stderr, "evote genesis: --validators takes a number, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'p':
            if (!parse_long(optarg, 1, 65535, &base_port)) {
                fprintf(stderr, "evote genesis: --base-port takes a port number 1..65535, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'a':
            if (!parse_long(optarg, 0, MAX_AUTHORITIES, &m)) {
                fprintf(stderr, "evote genesis: --authorities takes a number 0..%d, not '%s'\n", MAX_AUTHORITIES,
                        optarg);
                return EXIT_USAGE;
            }
            break;
        default:
            fputs(genesis_help, stderr);
            return EXIT_USAGE;
        }
    }
    if (dir == NULL || n < 0 || optind != argc) {
        fputs(genesis_help, stderr);
        return EXIT_USAGE;
    }
    if (n < 4 || n > GENESIS_MAX_VALIDATORS || (n - 1) % 3 != 0) {
        fprintf(stderr,
                "evote genesis: %ld validators: PBFT needs n = 3f+1 to tolerate f faulty validators; "
                "choose one of 4, 7, 10, 13, ... up to %d\n",
                n, GENESIS_MAX_VALIDATORS);
        return EXIT_USAGE;
    }
    if (base_port + 2 * CLIENT_PORT_OFFSET + n - 1 > 65535) {
        fprintf(stderr, "evote genesis: --base-port %ld is too high: HTTP ports up to %ld would be needed\n",
                base_port, base_port + 2 * CLIENT_PORT_OFFSET + n - 1);
        return EXIT_USAGE;
    }
    if (n > CLIENT_PORT_OFFSET) { /* cannot happen with 100 validators at most; kept for clarity */
        fprintf(stderr, "evote genesis: too many validators for the port plan\n");
        return EXIT_USAGE;
    }
    if (!name_ok(chain_name)) {
        fprintf(stderr, "evote genesis: --chain-name takes 1-64 letters, digits, '.', '_' or '-'\n");
        return EXIT_USAGE;
    }
    if (!net_has_curve()) {
        fprintf(stderr, "evote genesis: %s\n", net_strerror(NET_ERR_NO_CURVE));
        return EXIT_FAILED;
    }

    genesis_path = path_join(dir, "genesis.txt");
    validators = calloc((size_t)n, sizeof *validators);
    authorities = calloc((size_t)(m ? m : 1), sizeof *authorities);
    if (genesis_path == NULL || validators == NULL || authorities == NULL) {
        fprintf(stderr, "evote genesis: out of memory\n");
        goto out;
    }
    if (access(genesis_path, F_OK) == 0) {
        fprintf(stderr,
                "evote genesis: %s already exists: refusing to make a second chain in %s (choose another "
                "--dir, or remove the old cluster first)\n",
                genesis_path, dir);
        rc = EXIT_FAILED;
        goto out;
    }
    if (make_dir(dir, 0700) != 0) {
        fprintf(stderr, "evote genesis: cannot create %s: %s\n", dir, strerror(errno));
        goto out;
    }
    for (long i = 0; i < n; i++)
        if (make_validator(dir, i, base_port, &validators[i]) != 0)
            goto partial;
    for (long j = 0; j < m; j++)
        if (make_authority(dir, j, &authorities[j]) != 0)
            goto partial;
    text = genesis_text(chain_name, n, base_port, validators, m, authorities);
    if (text == NULL) {
        fprintf(stderr, "evote genesis: out of memory\n");
        goto partial;
    }
    if (write_new_file(genesis_path, text, 0644) != 0) {
        fprintf(stderr, "evote genesis: cannot write %s: %s\n", genesis_path, strerror(errno));
        goto partial;
    }
    /* Prove the file is one evoted accepts, and learn its chain id. */
    memset(&gwhy, 0, sizeof gwhy);
    lerr = genesis_load(genesis_path, &g, &gwhy);
    if (lerr != LEDGER_OK) {
        fprintf(stderr, "evote genesis: BUG: the genesis just written does not parse: %s line %u: %s\n",
                genesis_path, gwhy.line, gwhy.reason);
        goto out;
    }
    crypto_hex(g->chain_id, CRYPTO_CHAIN_ID_LEN, chain_hex);
    printf("chain id %s\n", chain_hex);
    printf("chain %s: %u validators (tolerates f = %u faulty), %u authorit%s\n", g->chain_name, g->n, g->f,
           g->n_authorities, g->n_authorities == 1 ? "y" : "ies");
    printf("wrote %s\n", genesis_path);
    for (uint32_t i = 0; i < g->n; i++)
        printf("wrote %s/node%u/{validator.key,curve.key,evoted.conf}  peers %s  clients tcp://127.0.0.1:%ld\n",
               dir, i, g->validators[i].endpoint, base_port + CLIENT_PORT_OFFSET + (long)i);
    for (uint32_t j = 0; j < g->n_authorities; j++)
        printf("wrote %s/authority%u.key{,.pub}  public key %s\n", dir, j, authorities[j].pub_hex);
    printf("start a validator with: evoted --config %s/node0/evoted.conf\n", dir);
    rc = 0;
    goto out;

partial:
    fprintf(stderr, "evote genesis: stopped; %s holds a partial cluster: remove it and run again\n", dir);
out:
    genesis_destroy(&g);
    free(text);
    free(genesis_path);
    free(validators);
    free(authorities);
    return rc;
}
