/* The genesis file: parsed strictly, line by line, into a validated struct.
 * The chain id is the hash of the exact bytes, so any edit — even a comment —
 * makes another chain, and validators holding different files can never
 * agree on anything by accident. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consensus.pb-c.h"
#include "ledger.h"

#define MAX_FIELDS 6

__attribute__((format(printf, 4, 5))) static ledger_err fail(genesis_error *why, unsigned line, ledger_err err,
                                                             const char *fmt, ...)
{
    if (why) {
        va_list ap;
        why->line = line;
        va_start(ap, fmt);
        vsnprintf(why->reason, sizeof why->reason, fmt, ap);
        va_end(ap);
    }
    return err;
}

static int name_ok(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > GENESIS_MAX_NAME)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

static int z85_ok(const char *s)
{
    static const char alphabet[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    if (strlen(s) != 40)
        return 0;
    for (size_t i = 0; i < 40; i++)
        if (strchr(alphabet, s[i]) == NULL)
            return 0;
    return 1;
}

/* tcp://host:port with a port 1..65535 and a non-empty host. */
static int endpoint_ok(const char *s)
{
    const char *host, *colon;
    char *end;
    long port;
    if (strncmp(s, "tcp://", 6) != 0 || strlen(s) > GENESIS_MAX_ENDPOINT)
        return 0;
    host = s + 6;
    colon = strrchr(host, ':');
    if (colon == NULL || colon == host)
        return 0;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    return errno == 0 && *end == '\0' && end != colon + 1 && port >= 1 && port <= 65535;
}

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char *end;
    unsigned long v;
    if (*s == '\0' || !isdigit((unsigned char)*s))
        return 0;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

/* Splits a line at spaces/tabs into at most MAX_FIELDS fields (in place).
 * Returns: the field count, or MAX_FIELDS + 1 when there are more. */
static int split(char *line, char **fields)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return n;
        if (n == MAX_FIELDS)
            return MAX_FIELDS + 1;
        fields[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
}

void genesis_destroy(genesis **g)
{
    if (g == NULL || *g == NULL)
        return;
    free((*g)->validators);
    free((*g)->authorities);
    free(*g);
    *g = NULL;
}

static ledger_err parse_line(genesis *g, char **fields, int nf, unsigned lineno, int *seen_name,
                             genesis_error *why)
{
    const char *key = fields[0];
    if (strcmp(key, "chain_name") == 0) {
        if (nf != 2 || !name_ok(fields[1]))
            return fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX,
                        "chain_name takes one name of 1-64 letters, digits, '.', '_' or '-'");
        if (*seen_name)
            return fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX, "chain_name given twice");
        strcpy(g->chain_name, fields[1]);
        *seen_name = 1;
    } else if (strcmp(key, "checkpoint_interval") == 0) {
        if (nf != 2 || !parse_u32(fields[1], 1, 100000, &g->checkpoint_interval))
            return fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX,
                        "checkpoint_interval takes a number from 1 to 100000");
    } else if (strcmp(key, "max_batch_txs") == 0) {
        if (nf != 2 || !parse_u32(fields[1], 1, 100000, &g->max_batch_txs))
            return fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX,
                        "max_batch_txs takes a number from 1 to 100000");
    } else if (strcmp(key, "primary_term") == 0) {
        if (nf != 2 || !parse_u32(fields[1], 0, 1000, &g->primary_term))
            return fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX,
                        "primary_term takes a number from 0 to 1000 (checkpoint intervals per primary's term; "
                        "0: no rotation)");
    } else if (strcmp(key, "validator") == 0) {
        genesis_validator *v;
        if (nf != 5)
            return fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX,
                        "validator takes 4 fields: name, Schnorr public key (64 hex), CURVE "
                        "public key (40 Z85 characters), endpoint (tcp://host:port)");
        if (g->n == GENESIS_MAX_VALIDATORS)
            return fail(why, lineno, LEDGER_ERR_GENESIS_VALIDATORS, "more than %d validators",
                        GENESIS_MAX_VALIDATORS);
        v = &g->validators[g->n];
        if (!name_ok(fields[1]))
            return fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX, "bad validator name '%.64s'", fields[1]);
        if (crypto_unhex(fields[2], v->pubkey, CRYPTO_PUBKEY_LEN) != CRYPTO_OK)
            return fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX,
                        "validator %s: the Schnorr public key is not 64 hex digits", fields[1]);
        if (!z85_ok(fields[3]))
            return fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX,
                        "validator %s: the CURVE public key is not 40 Z85 characters", fields[1]);
        if (!endpoint_ok(fields[4]))
            return fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX,
                        "validator %s: endpoint must be tcp://host:port", fields[1]);
        strcpy(v->name, fields[1]);
        strcpy(v->curve_z85, fields[3]);
        strcpy(v->endpoint, fields[4]);
        g->n++;
    } else if (strcmp(key, "authority") == 0) {
        genesis_authority *a;
        if (nf != 3)
            return fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX,
                        "authority takes 2 fields: name, Schnorr public key (64 hex)");
        if (g->n_authorities == GENESIS_MAX_AUTHORITIES)
            return fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX, "more than %d authorities",
                        GENESIS_MAX_AUTHORITIES);
        a = &g->authorities[g->n_authorities];
        if (!name_ok(fields[1]))
            return fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX, "bad authority name '%.64s'", fields[1]);
        if (crypto_unhex(fields[2], a->pubkey, CRYPTO_PUBKEY_LEN) != CRYPTO_OK)
            return fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX,
                        "authority %s: the public key is not 64 hex digits", fields[1]);
        strcpy(a->name, fields[1]);
        g->n_authorities++;
    } else {
        return fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX, "unknown entry '%.40s'", key);
    }
    return LEDGER_OK;
}

/* Keys must be valid curve points and unique; names unique. */
static ledger_err check_set(const genesis *g, genesis_error *why)
{
    for (uint32_t i = 0; i < g->n; i++) {
        if (!crypto_pubkey_valid(g->validators[i].pubkey))
            return fail(why, 0, LEDGER_ERR_GENESIS_VALIDATORS,
                        "validator %s: the Schnorr public key is not a point on secp256k1",
                        g->validators[i].name);
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(g->validators[i].name, g->validators[j].name) == 0)
                return fail(why, 0, LEDGER_ERR_GENESIS_VALIDATORS, "validator name %s appears twice",
                            g->validators[i].name);
            if (memcmp(g->validators[i].pubkey, g->validators[j].pubkey, CRYPTO_PUBKEY_LEN) == 0)
                return fail(why, 0, LEDGER_ERR_GENESIS_VALIDATORS,
                            "validators %s and %s have the same Schnorr key",
                            g->validators[j].name, g->validators[i].name);
            if (strcmp(g->validators[i].curve_z85, g->validators[j].curve_z85) == 0)
                return fail(why, 0, LEDGER_ERR_GENESIS_VALIDATORS,
                            "validators %s and %s have the same CURVE key",
                            g->validators[j].name, g->validators[i].name);
            if (strcmp(g->validators[i].endpoint, g->validators[j].endpoint) == 0)
                return fail(why, 0, LEDGER_ERR_GENESIS_VALIDATORS,
                            "validators %s and %s have the same endpoint",
                            g->validators[j].name, g->validators[i].name);
        }
    }
    for (uint32_t i = 0; i < g->n_authorities; i++) {
        if (!crypto_pubkey_valid(g->authorities[i].pubkey))
            return fail(why, 0, LEDGER_ERR_GENESIS_SYNTAX,
                        "authority %s: the public key is not a point on secp256k1",
                        g->authorities[i].name);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(g->authorities[i].name, g->authorities[j].name) == 0 ||
                memcmp(g->authorities[i].pubkey, g->authorities[j].pubkey, CRYPTO_PUBKEY_LEN) == 0)
                return fail(why, 0, LEDGER_ERR_GENESIS_SYNTAX,
                            "authority %s appears twice (same name or key)", g->authorities[i].name);
    }
    if (g->n < 4 || (g->n - 1) % 3 != 0)
        return fail(why, 0, LEDGER_ERR_GENESIS_VALIDATORS,
                    "%u validators: PBFT needs n = 3f+1 with f >= 1 (4, 7, 10, ...) to tolerate f faulty ones",
                    g->n);
    return LEDGER_OK;
}

ledger_err genesis_parse(const uint8_t *text, size_t len, genesis **out, genesis_error *why)
{
    genesis *g;
    char *copy, *line, *next;
    unsigned lineno = 0;
    int seen_header = 0, seen_name = 0;
    ledger_err err = LEDGER_OK;

    *out = NULL;
    if (why) {
        why->line = 0;
        why->reason[0] = '\0';
    }
    if (len > GENESIS_MAX_FILE)
        return fail(why, 0, LEDGER_ERR_GENESIS_SYNTAX, "file is larger than 1 MiB");
    if (memchr(text, '\0', len) != NULL)
        return fail(why, 0, LEDGER_ERR_GENESIS_SYNTAX, "file contains a NUL byte: not a genesis text file");
    g = calloc(1, sizeof *g);
    copy = malloc(len + 1);
    if (g)
        g->validators = calloc(GENESIS_MAX_VALIDATORS, sizeof *g->validators);
    if (g)
        g->authorities = calloc(GENESIS_MAX_AUTHORITIES, sizeof *g->authorities);
    if (!g || !copy || !g->validators || !g->authorities) {
        free(copy);
        genesis_destroy(&g);
        return LEDGER_ERR_NOMEM;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    crypto_tagged_hash(CRYPTO_TAG_GENESIS, text, len, g->chain_id);
    g->checkpoint_interval = 64;
    g->max_batch_txs = 2000;
    g->primary_term = 16;

    for (line = copy; line != NULL && err == LEDGER_OK; line = next) {
        char *fields[MAX_FIELDS], *hash;
        int nf;
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        /* '#' starts a comment only at the start of a field: it is also a
         * Z85 character, so it may appear inside a CURVE key. */
        for (hash = line; (hash = strchr(hash, '#')) != NULL; hash++) {
            if (hash == line || hash[-1] == ' ' || hash[-1] == '\t') {
                *hash = '\0';
                break;
            }
        }
        line[strcspn(line, "\r")] = '\0';
        nf = split(line, fields);
        if (nf == 0)
            continue;
        if (nf > MAX_FIELDS) {
            err = fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX, "too many fields");
        } else if (!seen_header) {
            if (nf != 1 || strcmp(fields[0], "evote-genesis-v1") != 0)
                err = fail(why, lineno, LEDGER_ERR_GENESIS_SYNTAX,
                           "the first entry must be 'evote-genesis-v1': not an evote genesis file");
            seen_header = 1;
        } else {
            err = parse_line(g, fields, nf, lineno, &seen_name, why);
        }
    }
    free(copy);
    if (err == LEDGER_OK && !seen_header)
        err = fail(why, 0, LEDGER_ERR_GENESIS_SYNTAX, "empty file: not an evote genesis file");
    if (err == LEDGER_OK && !seen_name)
        err = fail(why, 0, LEDGER_ERR_GENESIS_SYNTAX, "chain_name is missing");
    if (err == LEDGER_OK)
        err = check_set(g, why);
    if (err != LEDGER_OK) {
        genesis_destroy(&g);
        return err;
    }
    g->f = (g->n - 1) / 3;
    *out = g;
    return LEDGER_OK;
}

ledger_err genesis_load(const char *path, genesis **out, genesis_error *why)
{
    struct stat st;
    uint8_t *buf;
    size_t have = 0;
    ledger_err err;
    int fd;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return fail(why, 0, LEDGER_ERR_GENESIS_READ, "cannot read %s: %s", path,
                    fd >= 0 ? "not a regular file" : strerror(e));
    }
    if (st.st_size > GENESIS_MAX_FILE) {
        close(fd);
        return fail(why, 0, LEDGER_ERR_GENESIS_SYNTAX, "%s is larger than 1 MiB", path);
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return LEDGER_ERR_NOMEM;
    }
    while (have < (size_t)st.st_size) {
        ssize_t got = read(fd, buf + have, (size_t)st.st_size - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
    }
    close(fd);
    if (have != (size_t)st.st_size) {
        free(buf);
        return fail(why, 0, LEDGER_ERR_GENESIS_READ, "cannot read %s completely", path);
    }
    err = genesis_parse(buf, have, out, why);
    free(buf);
    return err;
}

int genesis_validator_index(const genesis *g, const uint8_t pubkey[CRYPTO_PUBKEY_LEN])
{
    for (uint32_t i = 0; i < g->n; i++)
        if (memcmp(g->validators[i].pubkey, pubkey, CRYPTO_PUBKEY_LEN) == 0)
            return (int)i;
    return -1;
}

int genesis_is_authority(const genesis *g, const uint8_t pubkey[CRYPTO_PUBKEY_LEN])
{
    for (uint32_t i = 0; i < g->n_authorities; i++)
        if (memcmp(g->authorities[i].pubkey, pubkey, CRYPTO_PUBKEY_LEN) == 0)
            return 1;
    return 0;
}

uint32_t genesis_checkpoint_signers(const genesis *g, uint64_t seq, const uint8_t block_hash[CRYPTO_HASH_LEN],
                                    const ProtobufCBinaryData *checkpoints, size_t n)
{
    uint8_t *seen = calloc(g->n ? g->n : 1, 1);
    uint32_t count = 0;

    if (seen == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        Evote__V1__Envelope *env = evote__v1__envelope__unpack(NULL, checkpoints[i].len, checkpoints[i].data);
        Evote__V1__Checkpoint *c = NULL;
        int v = env != NULL && env->signer.len == CRYPTO_PUBKEY_LEN ? genesis_validator_index(g, env->signer.data) : -1;

        if (v >= 0 && !seen[v] && envelope_verify(env, EVOTE__V1__KIND__KIND_CHECKPOINT) == CRYPTO_OK &&
            (c = evote__v1__checkpoint__unpack(NULL, env->body.len, env->body.data)) != NULL && c->seq == seq &&
            c->chain_id.len == CRYPTO_CHAIN_ID_LEN && memcmp(c->chain_id.data, g->chain_id, CRYPTO_CHAIN_ID_LEN) == 0 &&
            c->state_digest.len == CRYPTO_HASH_LEN &&
            memcmp(c->state_digest.data, block_hash, CRYPTO_HASH_LEN) == 0) {
            seen[v] = 1;
            count++;
        }
        if (c != NULL)
            evote__v1__checkpoint__free_unpacked(c, NULL);
        if (env != NULL)
            evote__v1__envelope__free_unpacked(env, NULL);
    }
    free(seen);
    return count;
}

uint8_t (*genesis_pubkeys(const genesis *g))[CRYPTO_PUBKEY_LEN]
{
    uint8_t(*keys)[CRYPTO_PUBKEY_LEN] = calloc(g->n ? g->n : 1, sizeof *keys);

    if (keys != NULL)
        for (uint32_t v = 0; v < g->n; v++)
            memcpy(keys[v], g->validators[v].pubkey, CRYPTO_PUBKEY_LEN);
    return keys;
}

int genesis_track_statement_open(const genesis *g, const uint8_t *bytes, size_t len, const uint8_t *sig,
                                 size_t sig_len, Evote__V1__TrackStatement **out, char *why, size_t why_len)
{
    Evote__V1__TrackStatement *st = evote__v1__track_statement__unpack(NULL, len, bytes);

    *out = NULL;
    if (st == NULL) {
        snprintf(why, why_len, "its signed statement does not parse");
    } else if (st->chain_id.len != CRYPTO_CHAIN_ID_LEN || memcmp(st->chain_id.data, g->chain_id, CRYPTO_CHAIN_ID_LEN)) {
        snprintf(why, why_len, "its signed statement is for another chain");
    } else if (st->code.len != CRYPTO_HASH_LEN) {
        snprintf(why, why_len, "its signed statement names no tracking code");
    } else if (st->validator >= g->n) {
        snprintf(why, why_len, "its signed statement names validator %" PRIu32 ", not in the genesis", st->validator);
    } else if (sig_len != CRYPTO_SIG_LEN ||
               crypto_verify(g->validators[st->validator].pubkey, ELECTION_TRACK_STATEMENT_TAG, bytes, len, sig) !=
                   CRYPTO_OK) {
        snprintf(why, why_len, "its statement is not signed by %s, the validator it names",
                 g->validators[st->validator].name);
    } else if (st->status == EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_REPLACED &&
               st->replaced_by.len != CRYPTO_HASH_LEN) {
        snprintf(why, why_len, "its signed statement says REPLACED without the replacing ballot");
    } else {
        *out = st;
        return 1;
    }
    if (st != NULL)
        evote__v1__track_statement__free_unpacked(st, NULL);
    return 0;
}
