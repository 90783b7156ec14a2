/* evote-audit: the command line of the offline auditor (see audit.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

static const char help[] =
    "usage: evote-audit --genesis FILE --snapshot DIR [--election ID] [--json] [--threads N]\n"
    "       evote-audit --genesis FILE --snapshot DIR --track CODE [--json]\n"
    "       evote-audit --genesis FILE --snapshot DIR --statement HEX --signature HEX [--json]\n"
    "\n"
    "Re-verifies, offline and read-only, a copy of a validator's chain store\n"
    "(evote snapshot, or mdb_copy -c) against the genesis file: every block and\n"
    "its link to its parent, every commit certificate (2f+1 distinct validators),\n"
    "every transaction's signature and recorded result (re-executed from an\n"
    "empty state), the final state, and for every election the key ceremony,\n"
    "every ballot's proofs, the last-ballot-counts rule, the homomorphic tally,\n"
    "every trustee's decryption share and the published counts.\n"
    "\n"
    "  --genesis FILE   the chain's genesis file (its hash is the chain id)\n"
    "  --snapshot DIR   the copied chain store (a directory holding data.mdb)\n"
    "  --election ID    report only this election (the whole chain is still checked)\n"
    "  --json           a machine-readable report on stdout\n"
    "  --threads N      verification threads (default: one per core)\n"
    "  --track CODE     is the ballot of this tracking code in the snapshot, and counted?\n"
    "  --statement HEX --signature HEX  a validator's signed word on a ballot (from\n"
    "                   'evote track --json': counted_signed_by[].statement and\n"
    "                   .signature): is it that validator's, and was it true at its\n"
    "                   height per this chain?\n"
    "\n"
    "exit codes: 0 everything verifies; 1 verification failed (the report names\n"
    "the height, transaction and problem); 2 cannot read input (snapshot missing,\n"
    "corrupt or truncated, bad genesis); 3 --track: no such ballot in the snapshot\n"
    "(and everything else verifies), --statement: the snapshot ends below its\n"
    "height; 4 --statement: the validator signed what the chain contradicts; 64\n"
    "bad arguments (also a statement that is not the named validator's).\n";

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"genesis", required_argument, NULL, 'g'},
                                         {"snapshot", required_argument, NULL, 's'},
                                         {"election", required_argument, NULL, 'e'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"track", required_argument, NULL, 'k'},
                                         {"statement", required_argument, NULL, 'S'},
                                         {"signature", required_argument, NULL, 'G'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    audit_options opt;
    audit_report rep;
    uint8_t code[CRYPTO_HASH_LEN], stmt[AUDIT_STATEMENT_MAX], sig[CRYPTO_SIG_LEN];
    int have_sig = 0;
    char why[1024];
    int json = 0, c, rc;

    memset(&opt, 0, sizeof opt);
    while ((c = getopt_long(argc, argv, "g:s:e:jt:k:S:G:h", opts, NULL)) != -1) {
        switch (c) {
        case 'g': opt.genesis_path = optarg; break;
        case 's': opt.snapshot_dir = optarg; break;
        case 'e': opt.election = optarg; break;
        case 'j': json = 1; break;
        case 't': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 1024) {
                fprintf(stderr, "evote-audit: --threads takes 1..1024\n");
                return AUDIT_EXIT_USAGE;
            }
            opt.threads = (unsigned)n;
            break;
        }
        case 'k':
            if (strlen(optarg) != 2 * CRYPTO_HASH_LEN || crypto_unhex(optarg, code, CRYPTO_HASH_LEN) != CRYPTO_OK) {
                fprintf(stderr, "evote-audit: a tracking code is 64 hex digits (as evote vote printed it)\n");
                return AUDIT_EXIT_USAGE;
            }
            opt.track = code;
            break;
        case 'S': {
            size_t n = strlen(optarg);
            if (n == 0 || n % 2 != 0 || n / 2 > AUDIT_STATEMENT_MAX ||
                crypto_unhex(optarg, stmt, n / 2) != CRYPTO_OK) {
                fprintf(stderr, "evote-audit: --statement takes the hex digits 'evote track --json' printed "
                                "(counted_signed_by[].statement)\n");
                return AUDIT_EXIT_USAGE;
            }
            opt.statement = stmt;
            opt.statement_len = n / 2;
            break;
        }
        case 'G':
            if (strlen(optarg) != 2 * CRYPTO_SIG_LEN || crypto_unhex(optarg, sig, CRYPTO_SIG_LEN) != CRYPTO_OK) {
                fprintf(stderr, "evote-audit: --signature takes 128 hex digits (counted_signed_by[].signature)\n");
                return AUDIT_EXIT_USAGE;
            }
            have_sig = 1;
            break;
        case 'h': fputs(help, stdout); return 0;
        default: fputs(help, stderr); return AUDIT_EXIT_USAGE;
        }
    }
    if (opt.genesis_path == NULL || opt.snapshot_dir == NULL || optind != argc) {
        if (optind != argc)
            fprintf(stderr, "evote-audit: unexpected argument '%s'\n\n", argv[optind]);
        else
            fprintf(stderr, "evote-audit: %s is missing\n\n",
                    opt.genesis_path == NULL ? "--genesis FILE" : "--snapshot DIR");
        fputs(help, stderr);
        return AUDIT_EXIT_USAGE;
    }
    if ((opt.statement != NULL) != have_sig) {
        fprintf(stderr, "evote-audit: --statement and --signature go together\n");
        return AUDIT_EXIT_USAGE;
    }
    opt.statement_sig = have_sig ? sig : NULL;
    rc = audit_run(&opt, &rep, why, sizeof why);
    if (rc == AUDIT_EXIT_INPUT) {
        fprintf(stderr, "evote-audit: cannot read the input: %s\n", why);
        if (json)
            printf("{\"verified\":false,\"input_error\":\"cannot read the input\"}\n");
    } else if (json)
        audit_report_json(&rep, stdout);
    else
        audit_report_text(&rep, stdout);
    audit_report_free(&rep);
    return rc;
}
