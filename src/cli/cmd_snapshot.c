/* evote snapshot: a consistent, compacted copy of a running validator's
 * chain store, made from this process while evoted goes on writing (LMDB's
 * own copy inside one read transaction). The copy is what evote-audit reads. */
#include <getopt.h>
#include <stdio.h>

#include "chain_store.h"
#include "cli.h"
#include "data_file.h"

static const char snapshot_help[] =
    "usage: evote snapshot --data DATA_DIR --out DIR\n"
    "\n"
    "Copies the chain store in DATA_DIR (data_dir of evoted.conf: the directory\n"
    "holding data.mdb) into DIR (created 0700; it must be empty), compacted and\n"
    "consistent, while the validator keeps running. Run it on the validator's\n"
    "host as the user evoted runs as. `mdb_copy -c DATA_DIR DIR` (lmdb-utils)\n"
    "makes an equivalent copy, without the seal: DIR/data.mdb.seal records the\n"
    "digest of the copied file, so evote-audit also notices a byte changed where\n"
    "no record lives (LMDB pages carry no checksum). Audit the copy with:\n"
    "  evote-audit --genesis genesis.txt --snapshot DIR\n"
    "To restore it, stop the validator and put DIR's files in its empty\n"
    "data_dir: evoted checks the seal and every page before it opens them.\n";

int cmd_snapshot(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'}, {"out", required_argument, NULL, 'o'}, {0, 0, 0, 0}};
    const char *data = NULL, *out = NULL;
    store_error why = {0, ""};
    store_err err;
    int c;

    if (cli_wants_help(argc, argv)) {
        fputs(snapshot_help, stdout);
        return 0;
    }
    while ((c = getopt_long(argc, argv, "d:o:", opts, NULL)) != -1) {
        if (c == 'd')
            data = optarg;
        else if (c == 'o')
            out = optarg;
        else {
            fputs(snapshot_help, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc || data == NULL || out == NULL) {
        if (optind != argc)
            fprintf(stderr, "evote snapshot: unexpected argument '%s' (give --data DATA_DIR and --out DIR)\n\n",
                    argv[optind]);
        else
            fprintf(stderr, "evote snapshot: %s is missing\n\n", data == NULL ? "--data DATA_DIR" : "--out DIR");
        fputs(snapshot_help, stderr);
        return EXIT_USAGE;
    }
    err = chain_store_snapshot_dir(data, out, &why);
    if (err != STORE_OK) {
        fprintf(stderr, "evote snapshot: %s\n  (%s)\n", why.detail[0] ? why.detail : data, store_strerror(err));
        return EXIT_FAILED;
    }
    {
        char reason[512];
        if (!data_file_seal_write(out, reason, sizeof reason)) {
            fprintf(stderr, "evote snapshot: the copy in %s is complete, but its seal could not be written: %s\n"
                            "  (evote-audit still verifies it, like an mdb_copy copy; free some space and retry)\n",
                    out, reason);
            return EXIT_FAILED;
        }
    }
    printf("snapshot of %s written to %s (sealed: %s)\n", data, out, DATA_FILE_SEAL_NAME);
    return 0;
}
