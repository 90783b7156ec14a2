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
#define CURVE_PORT_OFFSET 50   /* local: clients with CURVE on P+50+i (n <= 50) */
#define DEFAULT_CLIENT_PORT 7200
#define DEFAULT_HTTP_PORT 9100
#define DEFAULT_CURVE_PORT 7300
#define MAX_AUTHORITIES 1000
#define MAX_HOST 200

/* Where the validators listen. Without hosts: all on 127.0.0.1, validator i
 * on base_port + i (peers) and base_port + 100 + i (clients). With hosts
 * (one validator per host, or per container): validator i's genesis endpoint
 * is tcp://hosts[i]:peer_port, and it listens on every interface of its own
 * host on peer_port, client_port and http_port (/healthz, /metrics); locally
 * HTTP is on base_port + 200 + i. */
typedef struct {
    long base_port;
    char **hosts; /* NULL: local; else n host names */
    long peer_port, client_port, http_port, curve_port;
    long n;       /* validators */
} port_plan;

/* Validator i's endpoint in the genesis (where its peers connect). */
static void plan_endpoint(const port_plan *pp, long i, char *buf, size_t size)
{
    if (pp->hosts)
        snprintf(buf, size, "tcp://%s:%ld", pp->hosts[i], pp->peer_port);
    else
        snprintf(buf, size, "tcp://127.0.0.1:%ld", pp->base_port + i);
}

/* Validator i's peer_listen and client_listen in its evoted.conf. */
static void plan_peer_listen(const port_plan *pp, long i, char *buf, size_t size)
{
    if (pp->hosts)
        snprintf(buf, size, "tcp://0.0.0.0:%ld", pp->peer_port);
    else
        plan_endpoint(pp, i, buf, size);
}

static void plan_client_listen(const port_plan *pp, long i, char *buf, size_t size)
{
    if (pp->hosts)
        snprintf(buf, size, "tcp://0.0.0.0:%ld", pp->client_port);
    else
        snprintf(buf, size, "tcp://127.0.0.1:%ld", pp->base_port + CLIENT_PORT_OFFSET + i);
}

/* client_curve_listen: with hosts, every interface on curve_port; local
 * clusters of up to 50 get one between the peer and the client ports (buf
 * empty: none). */
static void plan_curve_listen(const port_plan *pp, long i, char *buf, size_t size)
{
    buf[0] = '\0';
    if (pp->hosts)
        snprintf(buf, size, "tcp://0.0.0.0:%ld", pp->curve_port);
    else if (pp->n <= CLIENT_PORT_OFFSET - CURVE_PORT_OFFSET)
        snprintf(buf, size, "tcp://127.0.0.1:%ld", pp->base_port + CURVE_PORT_OFFSET + i);
}

/* http_listen: IP:port, no scheme. */
static void plan_http_listen(const port_plan *pp, long i, char *buf, size_t size)
{
    if (pp->hosts)
        snprintf(buf, size, "0.0.0.0:%ld", pp->http_port);
    else
        snprintf(buf, size, "127.0.0.1:%ld", pp->base_port + 2 * CLIENT_PORT_OFFSET + i);
}

/* A host name, an IPv4 address or a bracketed IPv6 address ([::1]). */
int cli_host_ok(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > MAX_HOST)
        return 0;
    if (s[0] == '[') {
        if (len < 3 || s[len - 1] != ']')
            return 0;
        for (size_t i = 1; i + 1 < len; i++)
            if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F') ||
                  s[i] == ':' || s[i] == '.'))
                return 0;
        return 1;
    }
    if (s[0] == '-' || s[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return 0;
    }
    return strcmp(s, "0.0.0.0") != 0;
}

/* Splits "H0,H1,..." into *out (malloc'ed array of pointers into a malloc'ed
 * copy, freed with free_hosts). Returns: the count, or -1 after printing why. */
static long parse_hosts(const char *list, char ***out)
{
    char *copy = strdup(list), *p, *comma;
    char **hosts = NULL;
    long n = 0;

    *out = NULL;
    if (copy == NULL) {
        fprintf(stderr, "evote genesis: out of memory\n");
        return -1;
    }
    for (p = copy;; p = comma + 1) {
        char **grown;
        comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!cli_host_ok(p)) {
            fprintf(stderr,
                    "evote genesis: --hosts: '%.*s' (host %ld) is not a host name or address: give one per "
                    "validator, separated by commas, e.g. --hosts evoted-0,evoted-1,10.0.0.3,[fd00::4] "
                    "(letters, digits, '.', '-'; IPv6 in brackets; not 0.0.0.0)\n",
                    MAX_HOST, p, n);
            goto fail;
        }
        for (long j = 0; j < n; j++)
            if (strcmp(hosts[j], p) == 0) {
                fprintf(stderr,
                        "evote genesis: --hosts: %s is given twice (hosts %ld and %ld): with --hosts every "
                        "validator uses the same ports, so each needs its own host\n",
                        p, j, n);
                goto fail;
            }
        grown = realloc(hosts, (size_t)(n + 1) * sizeof *hosts);
        if (grown == NULL) {
            fprintf(stderr, "evote genesis: out of memory\n");
            goto fail;
        }
        hosts = grown;
        hosts[n++] = p;
        if (comma == NULL)
            break;
    }
    *out = hosts;
    return n;
fail:
    free(hosts);
    free(copy);
    return -1;
}

static void free_hosts(char **hosts)
{
    if (hosts) {
        free(hosts[0]); /* the copy of the list */
        free(hosts);
    }
}

static const char genesis_help[] =
    "usage: evote genesis --dir DIR --validators N [--base-port P] [--authorities M]\n"
    "                     [--chain-name NAME]\n"
    "       evote genesis --dir DIR --hosts H0,H1,... [--peer-port P] [--client-port C]\n"
    "                     [--http-port H] [--curve-port K] [--authorities M]\n"
    "                     [--chain-name NAME]\n"
    "       evote genesis --from-public-keys FILE --out GENESIS [--chain-name NAME]\n"
    "       evote genesis --check GENESIS\n"
    "\n"
    "Creates a local test cluster on 127.0.0.1 in DIR (created if missing):\n"
    "  DIR/node<i>/validator.key   Schnorr secret key (mode 0600)\n"
    "  DIR/node<i>/curve.key       CURVE secret key for the peer mesh (mode 0600)\n"
    "  DIR/node<i>/evoted.conf     evoted configuration: peers at tcp://127.0.0.1:P+i,\n"
    "                              clients at tcp://127.0.0.1:P+100+i (and with CURVE at\n"
    "                              P+50+i when N <= 50), /healthz and /metrics at\n"
    "                              http://127.0.0.1:P+200+i, chain in node<i>/data\n"
    "  DIR/authority<j>.key, .pub  an election authority's key pair (secret mode 0600)\n"
    "  DIR/genesis.txt             the chain: every validator and authority\n"
    "and prints the chain id. N must be 3f+1 (4, 7, 10, ... 100) so that f faulty\n"
    "validators are tolerated. P defaults to 7100, M to 1, NAME to evote-local.\n"
    "Refuses a DIR that already holds a genesis.txt; never overwrites a key.\n"
    "For a real election every validator generates its own keys on its own\n"
    "machine: this command is for tests and demonstrations only (see\n"
    "--from-public-keys below).\n"
    "\n"
    "With --hosts, one validator per host (or container): validator i's endpoint\n"
    "in the genesis is tcp://H_i:P and its evoted.conf listens on every interface,\n"
    "peers on tcp://0.0.0.0:P, clients on tcp://0.0.0.0:C and, encrypted with\n"
    "CURVE, on tcp://0.0.0.0:K, /healthz and /metrics on 0.0.0.0:H (P defaults\n"
    "to 7100, C to 7200, K to 7300, H to 9100; the same on every host). N is the number of hosts (--validators,\n"
    "if given, must agree). deploy/gen-cluster.sh wraps this for docker-compose.\n"
    "\n"
    "--from-public-keys: the genesis ceremony of real authorities. Each one makes\n"
    "its keys on its own machine ('evote keygen --out validator.key', 'evote\n"
    "keygen --curve --out curve.key', 'evote keygen --out authority.key') and\n"
    "sends only the public keys. FILE lists them, '#' starts a comment:\n"
    "  chain_name national-2027\n"
    "  validator NAME SCHNORR-PUBKEY(64 hex) CURVE-PUBKEY(40 Z85) tcp://HOST:PORT\n"
    "  authority NAME SCHNORR-PUBKEY(64 hex)\n"
    "  checkpoint_interval N / max_batch_txs N / primary_term N   (optional)\n"
    "Validators are numbered in file order; n must be 3f+1. Every field is\n"
    "checked; GENESIS is written (never overwritten) and its chain id printed:\n"
    "every authority runs the same command or 'evote genesis --check GENESIS'\n"
    "and confirms the chain id to the others out of band.\n";

/* A path under dir: "dir/a" or "dir/a/b". Returns: malloc'ed, or NULL. */
static char *path_join(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
__attribute__((format(printf, 2, 3)))
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

static int make_validator(const char *dir, long i, const port_plan *pp, member *m)
{
    char peer_listen[MAX_HOST + 32], client_listen[MAX_HOST + 32], http_listen[64], curve_listen[64];
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
    plan_peer_listen(pp, i, peer_listen, sizeof peer_listen);
    plan_client_listen(pp, i, client_listen, sizeof client_listen);
    plan_http_listen(pp, i, http_listen, sizeof http_listen);
    plan_curve_listen(pp, i, curve_listen, sizeof curve_listen);
    if (asprintf(&conf,
                 "# evoted configuration of validator node%ld (written by 'evote genesis')\n"
                 "name = node%ld\n"
                 "genesis = ../genesis.txt\n"
                 "key = validator.key\n"
                 "curve_key = curve.key\n"
                 "data_dir = data\n"
                 "peer_listen = %s\n"
                 "client_listen = %s\n"
                 "http_listen = %s\n"
                 "log_level = info\n"
                 "# the client API again, CURVE-encrypted with curve.key: clients give\n"
                 "# --node KEY@ENDPOINT, KEY this validator's CURVE key in the genesis\n"
                 "%sclient_curve_listen = %s\n",
                 i, i, peer_listen, client_listen, http_listen, curve_listen[0] ? "" : "# ",
                 curve_listen[0] ? curve_listen : "tcp://0.0.0.0:7300") < 0) {
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

static char *genesis_text(const char *chain_name, long n, const port_plan *pp, const member *validators, long m,
                          const member *authorities)
{
    char *buf = NULL;
    size_t len = 0;
    int bad = 0;

    bad |= cli_append(&buf, &len,
                  "evote-genesis-v1\n"
                  "# %s (written by 'evote genesis'). Any edit,\n"
                  "# even to a comment, makes another chain.\n"
                  "chain_name %s\n",
                  pp->hosts ? "Test cluster, one validator per host" : "Local test cluster on 127.0.0.1",
                  chain_name);
    for (long i = 0; i < n && !bad; i++) {
        char ep[MAX_HOST + 32];
        plan_endpoint(pp, i, ep, sizeof ep);
        bad |= cli_append(&buf, &len, "validator node%ld %s %s %s\n", i, validators[i].pub_hex,
                      validators[i].curve_z85, ep);
    }
    for (long j = 0; j < m && !bad; j++)
        bad |= cli_append(&buf, &len, "authority authority%ld %s\n", j, authorities[j].pub_hex);
    if (bad) {
        free(buf);
        return NULL;
    }
    return buf;
}

int cmd_genesis(int argc, char **argv)
{
    enum {
        OPT_HOSTS = 256,
        OPT_PEER_PORT,
        OPT_CLIENT_PORT,
        OPT_HTTP_PORT,
        OPT_CURVE_PORT,
        OPT_FROM_PUBLIC_KEYS,
        OPT_OUT,
        OPT_CHECK
    };
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"validators", required_argument, NULL, 'n'},
                                         {"base-port", required_argument, NULL, 'p'},
                                         {"authorities", required_argument, NULL, 'a'},
                                         {"chain-name", required_argument, NULL, 'c'},
                                         {"hosts", required_argument, NULL, OPT_HOSTS},
                                         {"peer-port", required_argument, NULL, OPT_PEER_PORT},
                                         {"client-port", required_argument, NULL, OPT_CLIENT_PORT},
                                         {"http-port", required_argument, NULL, OPT_HTTP_PORT},
                                         {"curve-port", required_argument, NULL, OPT_CURVE_PORT},
                                         {"from-public-keys", required_argument, NULL, OPT_FROM_PUBLIC_KEYS},
                                         {"out", required_argument, NULL, OPT_OUT},
                                         {"check", required_argument, NULL, OPT_CHECK},
                                         {0, 0, 0, 0}};
    const char *from_keys = NULL, *out_path = NULL, *check_path = NULL;
    int chain_name_given = 0, local_opts_given = 0;
    const char *dir = NULL, *chain_name = "evote-local", *hosts_arg = NULL;
    long n = -1, m = 1;
    int base_port_given = 0, host_ports_given = 0;
    port_plan pp = {DEFAULT_BASE_PORT, NULL, DEFAULT_BASE_PORT, DEFAULT_CLIENT_PORT, DEFAULT_HTTP_PORT,
                    DEFAULT_CURVE_PORT, 0};
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
        case 'd': dir = optarg; local_opts_given = 1; break;
        case 'c': chain_name = optarg; chain_name_given = 1; break;
        case OPT_HOSTS: hosts_arg = optarg; local_opts_given = 1; break;
        case OPT_FROM_PUBLIC_KEYS: from_keys = optarg; break;
        case OPT_OUT: out_path = optarg; break;
        case OPT_CHECK: check_path = optarg; break;
        case 'n':
            if (!parse_long(optarg, 0, 1000000, &n)) {
                fprintf(stderr, "evote genesis: --validators takes a number, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'p':
            if (!parse_long(optarg, 1, 65535, &pp.base_port)) {
                fprintf(stderr, "evote genesis: --base-port takes a port number 1..65535, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            base_port_given = 1;
            break;
        case OPT_PEER_PORT:
        case OPT_CLIENT_PORT:
        case OPT_HTTP_PORT:
        case OPT_CURVE_PORT:
            if (!parse_long(optarg, 1, 65535,
                            c == OPT_PEER_PORT     ? &pp.peer_port
                            : c == OPT_CLIENT_PORT ? &pp.client_port
                            : c == OPT_HTTP_PORT   ? &pp.http_port
                                                   : &pp.curve_port)) {
                fprintf(stderr, "evote genesis: --%s takes a port number 1..65535, not '%s'\n",
                        c == OPT_PEER_PORT     ? "peer-port"
                        : c == OPT_CLIENT_PORT ? "client-port"
                        : c == OPT_HTTP_PORT   ? "http-port"
                                               : "curve-port",
                        optarg);
                return EXIT_USAGE;
            }
            host_ports_given = 1;
            break;
        case 'a':
            local_opts_given = 1;
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
    if (from_keys != NULL || check_path != NULL || out_path != NULL) {
        if (local_opts_given || n >= 0 || base_port_given || host_ports_given || optind != argc ||
            (from_keys != NULL) + (check_path != NULL) != 1 || (from_keys != NULL) != (out_path != NULL) ||
            (check_path != NULL && chain_name_given)) {
            fprintf(stderr, "evote genesis: --from-public-keys FILE --out GENESIS [--chain-name NAME], or --check "
                            "GENESIS, without the options that make a test cluster\n\n");
            fputs(genesis_help, stderr);
            return EXIT_USAGE;
        }
        if (check_path != NULL)
            return cli_genesis_show(check_path);
        return cli_genesis_from_public_keys(from_keys, out_path, chain_name_given ? chain_name : NULL);
    }
    if (dir == NULL || (n < 0 && hosts_arg == NULL) || optind != argc) {
        fputs(genesis_help, stderr);
        return EXIT_USAGE;
    }
    if (hosts_arg != NULL && base_port_given) {
        fprintf(stderr, "evote genesis: --base-port is for a local cluster; with --hosts use --peer-port and "
                        "--client-port (the same on every host)\n");
        return EXIT_USAGE;
    }
    if (hosts_arg == NULL && host_ports_given) {
        fprintf(stderr, "evote genesis: --peer-port, --client-port, --http-port and --curve-port go with --hosts; a "
                        "local cluster on 127.0.0.1 takes --base-port\n");
        return EXIT_USAGE;
    }
    if (hosts_arg != NULL) {
        long nh;
        if (pp.peer_port == pp.client_port || pp.peer_port == pp.http_port || pp.client_port == pp.http_port ||
            pp.curve_port == pp.peer_port || pp.curve_port == pp.client_port || pp.curve_port == pp.http_port) {
            fprintf(stderr, "evote genesis: --peer-port %ld, --client-port %ld, --http-port %ld and --curve-port %ld "
                            "must be four different ports\n",
                    pp.peer_port, pp.client_port, pp.http_port, pp.curve_port);
            return EXIT_USAGE;
        }
        nh = parse_hosts(hosts_arg, &pp.hosts);
        if (nh < 0)
            return EXIT_USAGE;
        if (n >= 0 && n != nh) {
            fprintf(stderr, "evote genesis: --validators %ld but --hosts names %ld hosts: give one host per "
                            "validator (or leave --validators out)\n",
                    n, nh);
            free_hosts(pp.hosts);
            return EXIT_USAGE;
        }
        n = nh;
    }
    if (n < 4 || n > GENESIS_MAX_VALIDATORS || (n - 1) % 3 != 0) {
        fprintf(stderr,
                "evote genesis: %ld validators: PBFT needs n = 3f+1 to tolerate f faulty validators; "
                "choose one of 4, 7, 10, 13, ... up to %d\n",
                n, GENESIS_MAX_VALIDATORS);
        rc = EXIT_USAGE;
        goto out;
    }
    if (pp.hosts == NULL && pp.base_port + 2 * CLIENT_PORT_OFFSET + n - 1 > 65535) {
        fprintf(stderr, "evote genesis: --base-port %ld is too high: HTTP ports up to %ld would be needed\n",
                pp.base_port, pp.base_port + 2 * CLIENT_PORT_OFFSET + n - 1);
        rc = EXIT_USAGE;
        goto out;
    }
    if (n > CLIENT_PORT_OFFSET) { /* cannot happen with 100 validators at most; kept for clarity */
        fprintf(stderr, "evote genesis: too many validators for the port plan\n");
        rc = EXIT_USAGE;
        goto out;
    }
    if (!name_ok(chain_name)) {
        fprintf(stderr, "evote genesis: --chain-name takes 1-64 letters, digits, '.', '_' or '-'\n");
        rc = EXIT_USAGE;
        goto out;
    }
    if (!net_has_curve()) {
        fprintf(stderr, "evote genesis: %s\n", net_strerror(NET_ERR_NO_CURVE));
        goto out;
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
    pp.n = n;
    for (long i = 0; i < n; i++)
        if (make_validator(dir, i, &pp, &validators[i]) != 0)
            goto partial;
    for (long j = 0; j < m; j++)
        if (make_authority(dir, j, &authorities[j]) != 0)
            goto partial;
    text = genesis_text(chain_name, n, &pp, validators, m, authorities);
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
    for (uint32_t i = 0; i < g->n; i++) {
        char client[MAX_HOST + 32];
        plan_client_listen(&pp, (long)i, client, sizeof client);
        printf("wrote %s/node%u/{validator.key,curve.key,evoted.conf}  peers %s  clients %s\n", dir, i,
               g->validators[i].endpoint, client);
    }
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
    free_hosts(pp.hosts);
    return rc;
}
