/* evote: the command-line client for officials, voters and operators.
 * Each command is one function in the table below; every command has
 * --help, writes results to stdout and errors (what went wrong and what to
 * do) to stderr, and exits 0 on success, 1 when the operation failed, 2 on
 * a usage error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crypto.h"

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command;

static int cmd_keygen(int argc, char **argv);
static int cmd_pubkey(int argc, char **argv);

static const cli_command commands[] = {
    {"keygen", "generate a Schnorr (or --curve: CURVE) key pair (secret file mode 0600, public key printed)", cmd_keygen},
    {"pubkey", "print the public key of a secret key file", cmd_pubkey},
    {"genesis", "make a test cluster, or a genesis from the authorities' public keys", cmd_genesis},
    {"status", "print a validator's status: view, primary, height, peers, mempool", cmd_status},
    {"tip", "print the height and hash of a validator's last block", cmd_tip},
    {"block", "print the block at a height, its certificate and its transactions", cmd_block},
    {"tx", "print a transaction's status: pending, or committed at height H with its result", cmd_tx},
    {"submit", "submit a signed transaction from a file", cmd_submit},
    {"notice", "sign and submit a public notice with an authority's key", cmd_notice},
    {"election", "create, open, close or show an election (authorities)", cmd_election},
    {"register", "put voter public keys on an election's roll (authorities)", cmd_register},
    {"voter", "voter register (= register), voter keygen (many voter key files)", cmd_voter},
    {"trustee", "key ceremony and tally decryption: init, deal, check, decrypt (trustees)", cmd_trustee},
    {"vote", "cast an encrypted ballot; prints its tracking code (voters)", cmd_vote},
    {"track", "show whether the ballot of a tracking code is in the chain and counts", cmd_track},
    {"result", "print an election's result and how to verify it", cmd_result},
    {"snapshot", "copy a running validator's chain store for evote-audit (offline)", cmd_snapshot},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *to)
{
    fprintf(to,
            "usage: evote <command> [options]\n"
            "\n"
            "evote is the client of an evote election chain.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(to, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(to, "\n'evote <command> --help' describes a command.\n");
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

static void print_pubkey(const signing_key *key)
{
    uint8_t pub[CRYPTO_PUBKEY_LEN];
    char hex[2 * CRYPTO_PUBKEY_LEN + 1];
    signing_key_pubkey(key, pub);
    crypto_hex(pub, sizeof pub, hex);
    printf("%s\n", hex);
}

static const char keygen_help[] =
    "usage: evote keygen [--curve] --out FILE\n"
    "\n"
    "Generates a BIP340 Schnorr key pair from the operating system's random\n"
    "source. The secret key is written to FILE with mode 0600 (an existing\n"
    "file is never overwritten); the public key is written to FILE.pub and\n"
    "printed as 64 hex digits. Give only the public key to others.\n"
    "\n"
    "--curve: a CURVE key pair instead, a validator's identity on the peer\n"
    "mesh (curve_key in evoted.conf): the secret goes to FILE (mode 0600), the\n"
    "public key (40 Z85 characters) to FILE.pub and to stdout.\n";

static int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'}, {"curve", no_argument, NULL, 'C'}, {0, 0, 0, 0}};
    const char *out = NULL;
    signing_key *key = NULL;
    crypto_err err;
    int c, curve = 0;

    if (cli_wants_help(argc, argv)) {
        fputs(keygen_help, stdout);
        return 0;
    }
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (c == 'o')
            out = optarg;
        else if (c == 'C')
            curve = 1;
        else {
            fputs(keygen_help, stderr);
            return EXIT_USAGE;
        }
    }
    if (out == NULL || optind != argc) {
        fputs(keygen_help, stderr);
        return EXIT_USAGE;
    }
    if (curve)
        return cli_curve_keygen(out);
    err = signing_key_generate(&key);
    if (err == CRYPTO_OK)
        err = signing_key_save(key, out);
    if (err != CRYPTO_OK) {
        fprintf(stderr, "evote keygen: %s: %s\n", out, crypto_strerror(err));
        signing_key_destroy(&key);
        return EXIT_FAILED;
    }
    {
        uint8_t pub[CRYPTO_PUBKEY_LEN];
        char hex[2 * CRYPTO_PUBKEY_LEN + 1];
        signing_key_pubkey(key, pub);
        crypto_hex(pub, sizeof pub, hex);
        cli_write_pub_file(out, hex, "evote pubkey --key");
    }
    print_pubkey(key);
    signing_key_destroy(&key);
    return 0;
}

static const char pubkey_help[] =
    "usage: evote pubkey [--curve] --key FILE\n"
    "\n"
    "Prints the 64-hex-digit public key of the secret key in FILE (which must\n"
    "be readable by its owner only). --curve: FILE is a CURVE secret key\n"
    "(curve_key in evoted.conf); prints its 40-character Z85 public key.\n";

static int cmd_pubkey(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'}, {"curve", no_argument, NULL, 'C'}, {0, 0, 0, 0}};
    const char *path = NULL;
    signing_key *key = NULL;
    crypto_err err;
    int c, curve = 0;

    if (cli_wants_help(argc, argv)) {
        fputs(pubkey_help, stdout);
        return 0;
    }
    while ((c = getopt_long(argc, argv, "k:", opts, NULL)) != -1) {
        if (c == 'k')
            path = optarg;
        else if (c == 'C')
            curve = 1;
        else {
            fputs(pubkey_help, stderr);
            return EXIT_USAGE;
        }
    }
    if (path == NULL || optind != argc) {
        fputs(pubkey_help, stderr);
        return EXIT_USAGE;
    }
    if (curve)
        return cli_curve_pubkey(path);
    err = signing_key_load(path, &key);
    if (err != CRYPTO_OK) {
        fprintf(stderr, "evote pubkey: %s: %s\n", path, crypto_strerror(err));
        return EXIT_FAILED;
    }
    print_pubkey(key);
    signing_key_destroy(&key);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("evote 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "evote: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
