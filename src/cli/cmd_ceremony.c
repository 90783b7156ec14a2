/* The genesis ceremony of real authorities. Each authority makes its keys on
 * its own machine (evote keygen: Schnorr; evote keygen --curve: CURVE) and
 * sends only the public keys; one file lists them all, and
 * `evote genesis --from-public-keys FILE --out genesis.txt` checks every
 * field and writes the genesis. The output depends on the listed entries
 * only (comments and spacing are dropped), so every authority can run the
 * same command on the same list and must find the same chain id, which
 * they then confirm to each other out of band. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
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

#define MAX_LINE 1024
#define MAX_FIELDS 6

/* What the ceremony collects, in file order. */
typedef struct {
    unsigned line;
    char name[GENESIS_MAX_NAME + 1];
    char pub_hex[2 * CRYPTO_PUBKEY_LEN + 1];
    char curve_z85[NET_CURVE_Z85_LEN + 1];
    char endpoint[GENESIS_MAX_ENDPOINT + 1];
} entry;

typedef struct {
    char *err;
    size_t errsize;
    char chain_name[GENESIS_MAX_NAME + 1];
    unsigned chain_name_line;
    unsigned long checkpoint_interval, max_batch_txs; /* 0 = not given */
    long primary_term;                                 /* -1 = not given */
    entry validators[GENESIS_MAX_VALIDATORS];
    size_t n;
    entry *authorities; /* GENESIS_MAX_AUTHORITIES */
    size_t m;
} ceremony;

static int bad(ceremony *c, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
__attribute__((format(printf, 3, 4)))
static int bad(ceremony *c, unsigned line, const char *fmt, ...)
{
    va_list ap;
    int off = line ? snprintf(c->err, c->errsize, "line %u: ", line) : 0;
    if (off < 0 || (size_t)off >= c->errsize)
        off = 0;
    va_start(ap, fmt);
    vsnprintf(c->err + off, c->errsize - (size_t)off, fmt, ap);
    va_end(ap);
    return 0;
}

static int cer_name_ok(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > GENESIS_MAX_NAME)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

static int parse_count(const char *s, unsigned long *out)
{
    char *end;
    unsigned long v;
    if (*s < '0' || *s > '9')
        return 0;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > 100000)
        return 0;
    *out = v;
    return 1;
}

/* A Schnorr public key field: 64 hex digits naming a point on secp256k1. */
static int schnorr_ok(ceremony *c, unsigned line, const char *who, const char *name, const char *hex, char *out)
{
    uint8_t pub[CRYPTO_PUBKEY_LEN];
    if (strlen(hex) != 2 * CRYPTO_PUBKEY_LEN || crypto_unhex(hex, pub, sizeof pub) != CRYPTO_OK)
        return bad(c, line,
                   "%s %s: the Schnorr public key '%.80s' is not 64 hex digits; it is what "
                   "'evote pubkey --key FILE' prints on the %s's machine",
                   who, name, hex, who);
    if (!crypto_pubkey_valid(pub))
        return bad(c, line,
                   "%s %s: the Schnorr public key is not a point on secp256k1 (a copying error?); ask "
                   "for the output of 'evote pubkey --key FILE' again",
                   who, name);
    /* Lower case, so that the same key written twice is seen as one. */
    crypto_hex(pub, sizeof pub, out);
    return 1;
}

/* tcp://HOST:PORT where peers can connect: not a wildcard address. */
static int endpoint_ok(ceremony *c, unsigned line, const char *name, const char *ep)
{
    const char *host = ep + 6, *colon;
    char hostbuf[GENESIS_MAX_ENDPOINT + 1], *end;
    long port;
    if (strncmp(ep, "tcp://", 6) != 0 || strlen(ep) > GENESIS_MAX_ENDPOINT)
        return bad(c, line,
                   "validator %s: the endpoint '%.80s' must be tcp://HOST:PORT (at most %d characters), the "
                   "address where the other validators reach this one, e.g. tcp://10.0.0.1:7100",
                   name, ep, GENESIS_MAX_ENDPOINT);
    colon = strrchr(host, ':');
    if (colon == NULL || colon == host)
        return bad(c, line, "validator %s: the endpoint '%.80s' has no HOST:PORT after tcp://", name, ep);
    memcpy(hostbuf, host, (size_t)(colon - host));
    hostbuf[colon - host] = '\0';
    if (!cli_host_ok(hostbuf))
        return bad(c, line,
                   "validator %s: '%.80s' is not a host name or address peers can connect to (letters, "
                   "digits, '.', '-'; IPv6 in brackets; not 0.0.0.0 or '*': that is for peer_listen in "
                   "evoted.conf)",
                   name, hostbuf);
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || end == colon + 1 || colon[1] < '0' || colon[1] > '9' || port < 1 ||
        port > 65535)
        return bad(c, line, "validator %s: the port '%.20s' in the endpoint is not a number 1..65535", name,
                   colon + 1);
    return 1;
}

static int take_validator(ceremony *c, unsigned line, char **f, int nf)
{
    entry *e;
    uint8_t curve[NET_CURVE_KEY_LEN];
    if (nf != 5)
        return bad(c, line,
                   "a validator line has 4 fields after the word 'validator': NAME SCHNORR-PUBKEY "
                   "CURVE-PUBKEY tcp://HOST:PORT, here there are %d (a CURVE key starting with '#' is "
                   "read as a comment: make a new one with 'evote keygen --curve')",
                   nf - 1);
    if (c->n == GENESIS_MAX_VALIDATORS)
        return bad(c, line, "more than %d validators", GENESIS_MAX_VALIDATORS);
    e = &c->validators[c->n];
    memset(e, 0, sizeof *e);
    e->line = line;
    if (!cer_name_ok(f[1]))
        return bad(c, line, "validator name '%.80s': use 1-64 letters, digits, '.', '_' or '-'", f[1]);
    strcpy(e->name, f[1]);
    if (!schnorr_ok(c, line, "validator", e->name, f[2], e->pub_hex))
        return 0;
    if (strlen(f[3]) != NET_CURVE_Z85_LEN || net_z85_decode(f[3], curve) != NET_OK)
        return bad(c, line,
                   "validator %s: the CURVE public key '%.80s' is not 40 Z85 characters; it is what "
                   "'evote keygen --curve' (or 'evote pubkey --curve --key curve.key') prints",
                   e->name, f[3]);
    strcpy(e->curve_z85, f[3]);
    if (!endpoint_ok(c, line, e->name, f[4]))
        return 0;
    strcpy(e->endpoint, f[4]);
    for (size_t j = 0; j < c->n; j++) {
        const entry *o = &c->validators[j];
        if (strcmp(o->name, e->name) == 0)
            return bad(c, line, "validator name %s is already used on line %u: each validator needs its own",
                       e->name, o->line);
        if (strcmp(o->pub_hex, e->pub_hex) == 0)
            return bad(c, line,
                       "validator %s has the same Schnorr key as validator %s (line %u): each validator "
                       "generates its own key",
                       e->name, o->name, o->line);
        if (strcmp(o->curve_z85, e->curve_z85) == 0)
            return bad(c, line,
                       "validator %s has the same CURVE key as validator %s (line %u): each validator "
                       "generates its own key",
                       e->name, o->name, o->line);
        if (strcmp(o->endpoint, e->endpoint) == 0)
            return bad(c, line, "validator %s has the same endpoint %s as validator %s (line %u)", e->name,
                       e->endpoint, o->name, o->line);
    }
    c->n++;
    return 1;
}

static int take_authority(ceremony *c, unsigned line, char **f, int nf)
{
    entry *e;
    if (nf != 3)
        return bad(c, line,
                   "an authority line has 2 fields after the word 'authority': NAME SCHNORR-PUBKEY, here "
                   "there are %d",
                   nf - 1);
    if (c->m == GENESIS_MAX_AUTHORITIES)
        return bad(c, line, "more than %d authorities", GENESIS_MAX_AUTHORITIES);
    e = &c->authorities[c->m];
    memset(e, 0, sizeof *e);
    e->line = line;
    if (!cer_name_ok(f[1]))
        return bad(c, line, "authority name '%.80s': use 1-64 letters, digits, '.', '_' or '-'", f[1]);
    strcpy(e->name, f[1]);
    if (!schnorr_ok(c, line, "authority", e->name, f[2], e->pub_hex))
        return 0;
    for (size_t j = 0; j < c->m; j++) {
        const entry *o = &c->authorities[j];
        if (strcmp(o->name, e->name) == 0)
            return bad(c, line, "authority name %s is already used on line %u", e->name, o->line);
        if (strcmp(o->pub_hex, e->pub_hex) == 0)
            return bad(c, line, "authority %s has the same key as authority %s (line %u)", e->name, o->name,
                       o->line);
    }
    c->m++;
    return 1;
}

static int take_line(ceremony *c, unsigned line, char **f, int nf)
{
    if (strcmp(f[0], "validator") == 0)
        return take_validator(c, line, f, nf);
    if (strcmp(f[0], "authority") == 0)
        return take_authority(c, line, f, nf);
    if (strcmp(f[0], "chain_name") == 0) {
        if (nf != 2 || !cer_name_ok(f[1]))
            return bad(c, line, "chain_name takes one name of 1-64 letters, digits, '.', '_' or '-'");
        if (c->chain_name_line)
            return bad(c, line, "chain_name is already given on line %u", c->chain_name_line);
        strcpy(c->chain_name, f[1]);
        c->chain_name_line = line;
        return 1;
    }
    if (strcmp(f[0], "checkpoint_interval") == 0 || strcmp(f[0], "max_batch_txs") == 0) {
        unsigned long *v = f[0][0] == 'c' ? &c->checkpoint_interval : &c->max_batch_txs;
        if (*v)
            return bad(c, line, "%s is given twice", f[0]);
        if (nf != 2 || !parse_count(f[1], v))
            return bad(c, line, "%s takes one number from 1 to 100000", f[0]);
        return 1;
    }
    if (strcmp(f[0], "primary_term") == 0) {
        char *end;
        long v;
        if (c->primary_term >= 0)
            return bad(c, line, "primary_term is given twice");
        if (nf != 2 || !isdigit((unsigned char)f[1][0]))
            return bad(c, line, "primary_term takes one number from 0 to 1000 (0: no rotation)");
        errno = 0;
        v = strtol(f[1], &end, 10);
        if (errno != 0 || v > 1000 || *end != '\0')
            return bad(c, line, "primary_term takes one number from 0 to 1000 (0: no rotation)");
        c->primary_term = v;
        return 1;
    }
    return bad(c, line,
               "unknown entry '%.40s': a line is 'validator ...', 'authority ...', 'chain_name ...', "
               "'checkpoint_interval N', 'max_batch_txs N' or 'primary_term N' ('#' starts a comment)",
               f[0]);
}

/* Splits at spaces and tabs, in place. Returns: the field count, or
 * MAX_FIELDS + 1 when there are more. */
static int cer_split(char *s, char **f)
{
    int n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\0')
            return n;
        if (n == MAX_FIELDS)
            return MAX_FIELDS + 1;
        f[n++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        if (*s)
            *s++ = '\0';
    }
}

static char *render(const ceremony *c)
{
    char *buf = NULL;
    size_t len = 0;
    int fail = 0;
    fail |= cli_append(&buf, &len,
                   "evote-genesis-v1\n"
                   "# Assembled by 'evote genesis --from-public-keys' from the authorities' public keys.\n"
                   "# Any edit, even to a comment, makes another chain.\n"
                   "chain_name %s\n",
                   c->chain_name);
    if (c->checkpoint_interval)
        fail |= cli_append(&buf, &len, "checkpoint_interval %lu\n", c->checkpoint_interval);
    if (c->max_batch_txs)
        fail |= cli_append(&buf, &len, "max_batch_txs %lu\n", c->max_batch_txs);
    if (c->primary_term >= 0)
        fail |= cli_append(&buf, &len, "primary_term %ld\n", c->primary_term);
    for (size_t i = 0; i < c->n && !fail; i++)
        fail |= cli_append(&buf, &len, "validator %s %s %s %s\n", c->validators[i].name, c->validators[i].pub_hex,
                       c->validators[i].curve_z85, c->validators[i].endpoint);
    for (size_t j = 0; j < c->m && !fail; j++)
        fail |= cli_append(&buf, &len, "authority %s %s\n", c->authorities[j].name, c->authorities[j].pub_hex);
    if (fail) {
        free(buf);
        return NULL;
    }
    return buf;
}

int cli_ceremony_assemble(const char *text, size_t len, const char *chain_name, char **genesis_out, char *err,
                          size_t errsize)
{
    ceremony *c = calloc(1, sizeof *c);
    char *copy = NULL, *line, *next;
    unsigned lineno = 0;
    int ok = 1;
    genesis *g = NULL;
    genesis_error why;

    *genesis_out = NULL;
    if (errsize > 0)
        err[0] = '\0';
    if (c != NULL)
        c->primary_term = -1;
    if (c == NULL || (c->authorities = calloc(GENESIS_MAX_AUTHORITIES, sizeof *c->authorities)) == NULL ||
        (copy = malloc(len + 1)) == NULL) {
        snprintf(err, errsize, "out of memory");
        ok = 0;
        goto out;
    }
    c->err = err;
    c->errsize = errsize;
    if (len > GENESIS_MAX_FILE) {
        ok = bad(c, 0, "the file is larger than 1 MiB: not a list of public keys");
        goto out;
    }
    if (memchr(text, '\0', len) != NULL) {
        ok = bad(c, 0, "the file contains a NUL byte: not a text file");
        goto out;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    for (line = copy; line != NULL && ok; line = next) {
        char *f[MAX_FIELDS], *hash;
        int nf;
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (strlen(line) > MAX_LINE) {
            ok = bad(c, lineno, "the line is longer than %d characters", MAX_LINE);
            break;
        }
        /* As in the genesis: '#' starts a comment at the start of a field. */
        for (hash = line; (hash = strchr(hash, '#')) != NULL; hash++)
            if (hash == line || hash[-1] == ' ' || hash[-1] == '\t') {
                *hash = '\0';
                break;
            }
        line[strcspn(line, "\r")] = '\0';
        nf = cer_split(line, f);
        if (nf == 0)
            continue;
        if (nf > MAX_FIELDS)
            ok = bad(c, lineno, "too many fields (a comment needs a space before its '#')");
        else
            ok = take_line(c, lineno, f, nf);
    }
    if (!ok)
        goto out;
    if (chain_name != NULL) {
        if (!cer_name_ok(chain_name)) {
            ok = bad(c, 0, "--chain-name takes 1-64 letters, digits, '.', '_' or '-'");
            goto out;
        }
        if (c->chain_name_line && strcmp(chain_name, c->chain_name) != 0) {
            ok = bad(c, 0, "--chain-name %s differs from chain_name %s on line %u: give one of them", chain_name,
                     c->chain_name, c->chain_name_line);
            goto out;
        }
        strcpy(c->chain_name, chain_name);
    } else if (!c->chain_name_line) {
        ok = bad(c, 0, "no chain_name: add a line 'chain_name NAME' (e.g. chain_name national-2027) or give "
                       "--chain-name");
        goto out;
    }
    if (c->n < 4 || (c->n - 1) % 3 != 0) {
        ok = bad(c, 0,
                 "%zu validator line%s: PBFT needs n = 3f+1 validators (4, 7, 10, ... up to %d) to tolerate f "
                 "faulty ones; add or remove validators",
                 c->n, c->n == 1 ? "" : "s", GENESIS_MAX_VALIDATORS);
        goto out;
    }
    if (c->m == 0) {
        ok = bad(c, 0, "no authority line: nobody could define an election on this chain; add "
                       "'authority NAME SCHNORR-PUBKEY' for each electoral authority");
        goto out;
    }
    *genesis_out = render(c);
    if (*genesis_out == NULL) {
        ok = bad(c, 0, "out of memory");
        goto out;
    }
    /* What evoted will parse: prove it accepts the result. */
    if (genesis_parse((const uint8_t *)*genesis_out, strlen(*genesis_out), &g, &why) != LEDGER_OK) {
        ok = bad(c, 0, "the assembled genesis is refused (line %u: %s)", why.line, why.reason);
        free(*genesis_out);
        *genesis_out = NULL;
    }
    genesis_destroy(&g);
out:
    if (c)
        free(c->authorities);
    free(c);
    free(copy);
    return ok ? 0 : EXIT_FAILED;
}

/* Reads a whole (small) file. Returns: malloc'ed bytes and *len, or NULL
 * after printing why. */
static char *read_small_file(const char *cmd, const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    char *buf;
    size_t have = 0, cap = 4096;
    if (f == NULL) {
        fprintf(stderr, "%s: cannot read %s: %s\n", cmd, path, strerror(errno));
        return NULL;
    }
    buf = malloc(cap);
    while (buf != NULL) {
        size_t r;
        if (have == cap) {
            char *grown = cap > GENESIS_MAX_FILE ? NULL : realloc(buf, cap * 2);
            if (grown == NULL) {
                fprintf(stderr, "%s: %s is larger than 1 MiB: not a list of public keys\n", cmd, path);
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        r = fread(buf + have, 1, cap - have, f);
        have += r;
        if (r == 0) {
            if (ferror(f)) {
                fprintf(stderr, "%s: cannot read %s: %s\n", cmd, path, strerror(errno));
                free(buf);
                buf = NULL;
            }
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    *len = have;
    return buf;
}

int cli_genesis_from_public_keys(const char *list_path, const char *out_path, const char *chain_name)
{
    char err[512], *text = NULL, *gtext = NULL;
    size_t len = 0;
    int fd, rc = EXIT_FAILED;

    text = read_small_file("evote genesis", list_path, &len);
    if (text == NULL)
        return EXIT_FAILED;
    if (cli_ceremony_assemble(text, len, chain_name, &gtext, err, sizeof err) != 0) {
        fprintf(stderr, "evote genesis: %s: %s\n", list_path, err);
        fprintf(stderr, "evote genesis: nothing written; fix %s and run again\n", list_path);
        goto out;
    }
    fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "evote genesis: cannot create %s: %s%s\n", out_path, strerror(errno),
                errno == EEXIST ? " (a genesis is never overwritten: choose another --out, or remove the old one)"
                                : "");
        goto out;
    }
    {
        size_t glen = strlen(gtext), done = 0;
        while (done < glen) {
            ssize_t w = write(fd, gtext + done, glen - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            done += (size_t)w;
        }
        if (done != glen || fsync(fd) != 0) {
            fprintf(stderr, "evote genesis: cannot write %s: %s\n", out_path, strerror(errno));
            close(fd);
            unlink(out_path);
            goto out;
        }
        if (close(fd) != 0) {
            fprintf(stderr, "evote genesis: cannot write %s: %s\n", out_path, strerror(errno));
            unlink(out_path);
            goto out;
        }
    }
    rc = cli_genesis_show(out_path);
    if (rc == 0)
        printf("every authority now checks, out of band (phone, in person), that it finds this same chain id\n"
               "with 'evote genesis --check genesis.txt' and that its own keys and endpoint are listed above\n");
out:
    free(text);
    free(gtext);
    return rc;
}

int cli_genesis_show(const char *path)
{
    genesis *g = NULL;
    genesis_error why;
    char hex[2 * CRYPTO_CHAIN_ID_LEN + 1];

    memset(&why, 0, sizeof why);
    if (genesis_load(path, &g, &why) != LEDGER_OK) {
        if (why.line)
            fprintf(stderr, "evote genesis: %s line %u: %s\n", path, why.line, why.reason);
        else
            fprintf(stderr, "evote genesis: %s: %s\n", path, why.reason);
        return EXIT_FAILED;
    }
    crypto_hex(g->chain_id, CRYPTO_CHAIN_ID_LEN, hex);
    printf("chain id %s\n", hex);
    printf("chain %s: %u validators (tolerates f = %u faulty), %u authorit%s, checkpoint_interval %u, "
           "max_batch_txs %u, primary_term %u\n",
           g->chain_name, g->n, g->f, g->n_authorities, g->n_authorities == 1 ? "y" : "ies",
           g->checkpoint_interval, g->max_batch_txs, g->primary_term);
    for (uint32_t i = 0; i < g->n; i++) {
        char pub[2 * CRYPTO_PUBKEY_LEN + 1];
        crypto_hex(g->validators[i].pubkey, CRYPTO_PUBKEY_LEN, pub);
        printf("validator %u %s %s %s %s\n", i, g->validators[i].name, pub, g->validators[i].curve_z85,
               g->validators[i].endpoint);
    }
    for (uint32_t j = 0; j < g->n_authorities; j++) {
        char pub[2 * CRYPTO_PUBKEY_LEN + 1];
        crypto_hex(g->authorities[j].pubkey, CRYPTO_PUBKEY_LEN, pub);
        printf("authority %s %s\n", g->authorities[j].name, pub);
    }
    genesis_destroy(&g);
    return 0;
}

/* ------------------------------------------------------------ CURVE keys */

static net_err curve_keypair_for_genesis(net_curve_keypair *kp, char z85[NET_CURVE_Z85_LEN + 1])
{
    net_err err;
    /* '#' is a Z85 digit but starts a comment at the start of a genesis
     * field: draw until the key has none (about 6 draws in 10 succeed). */
    do {
        err = net_curve_keypair_generate(kp);
        if (err == NET_OK)
            net_z85_encode(kp->public_key, z85);
    } while (err == NET_OK && strchr(z85, '#') != NULL);
    return err;
}

int cli_curve_keygen(const char *out)
{
    net_curve_keypair kp;
    char z85[NET_CURVE_Z85_LEN + 1];
    net_err err;

    if (!net_has_curve()) {
        fprintf(stderr, "evote keygen: %s\n", net_strerror(NET_ERR_NO_CURVE));
        return EXIT_FAILED;
    }
    memset(&kp, 0, sizeof kp);
    err = curve_keypair_for_genesis(&kp, z85);
    if (err == NET_OK)
        err = net_curve_secret_save(&kp, out);
    net_curve_keypair_wipe(&kp);
    if (err != NET_OK) {
        fprintf(stderr, "evote keygen: %s: %s\n", out, net_strerror(err));
        return EXIT_FAILED;
    }
    cli_write_pub_file(out, z85, "evote pubkey --curve --key");
    printf("%s\n", z85);
    return 0;
}

int cli_curve_pubkey(const char *path)
{
    net_curve_keypair kp;
    char z85[NET_CURVE_Z85_LEN + 1];
    net_err err;

    memset(&kp, 0, sizeof kp);
    err = net_curve_secret_load(path, &kp);
    if (err != NET_OK) {
        fprintf(stderr, "evote pubkey: %s: %s\n", path, net_strerror(err));
        return EXIT_FAILED;
    }
    net_z85_encode(kp.public_key, z85);
    net_curve_keypair_wipe(&kp);
    printf("%s\n", z85);
    if (z85[0] == '#')
        fprintf(stderr, "evote pubkey: warning: this CURVE public key starts with '#', which a genesis file reads "
                        "as a comment: make a new key with 'evote keygen --curve --out FILE'\n");
    return 0;
}
