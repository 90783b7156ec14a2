/* evote status, tip, tx, block, submit, notice: the commands that talk to a
 * validator's client endpoint (client_listen in evoted.conf). Each call is
 * one ApiRequest frame out and one ApiResponse frame back (proto/api.proto);
 * node_call() (client_util.c) does the sending and every check that is not
 * about one command, so each command only reads the answer it asked for. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.pb-c.h"
#include "cli.h"
#include "consensus.pb-c.h"
#include "crypto.h"
#include "ledger.h"
#include "net.h"


/* --------------------------------------------------------------- status */

static const char status_help[] =
    "usage: evote status [--node EP] [--timeout MS] [--json]\n"
    "\n"
    "Prints what a validator says about itself: its name, replica index of n,\n"
    "PBFT view and primary (and the seq its turn ends at: primaries take\n"
    "turns, primary_term in the genesis), chain height and tip hash, stable\n"
    "checkpoint, peers connected, transactions in its mempool and the chain id.\n"
    "\n" NODE_HELP "  --json         one JSON object instead of text\n";

int cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {NODE_OPTIONS, {"json", no_argument, NULL, OPT_JSON}, {0, 0, 0, 0}};
    Evote__V1__ApiResponse *resp = NULL;
    const Evote__V1__NodeStatus *ns;
    char name[512];
    node_opts o;
    int c, rc;

    if (cli_wants_help(argc, argv)) {
        fputs(status_help, stdout);
        return 0;
    }
    node_opts_init(&o, "status");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if ((rc = node_opt(&o, c, optarg)) != 1)
            return rc < 0 ? EXIT_USAGE : usage_error(status_help);
    if (!operands_ok(o.cmd, argc, argv, 0, "", status_help))
        return EXIT_USAGE;
    rc = ask_node_status(&o, 0, &resp);
    if (rc != 0)
        return rc;
    ns = resp->node;
    if (o.json) {
        printf("{\"name\":");
        json_string(ns->name);
        printf(",\"replica\":%" PRIu32 ",\"n\":%" PRIu32 ",\"view\":%" PRIu64 ",\"primary\":%" PRIu32
               ",\"height\":%" PRIu64 ",\"tip_hash\":",
               ns->replica, ns->n, ns->view, ns->primary, ns->height);
        json_hex(ns->tip_hash.data, ns->tip_hash.len);
        printf(",\"stable_checkpoint\":%" PRIu64 ",\"term_end\":%" PRIu64 ",\"peers_connected\":%" PRIu32
               ",\"mempool_size\":%" PRIu64 ",\"chain_id\":",
               ns->stable_checkpoint, ns->term_end, ns->peers_connected, ns->mempool_size);
        json_hex(ns->chain_id.data, ns->chain_id.len);
        printf("}\n");
    } else {
        printf("name               %s\n", clean(ns->name, name, sizeof name));
        printf("replica            %" PRIu32 " of %" PRIu32 "\n", ns->replica, ns->n);
        printf("view               %" PRIu64 "\n", ns->view);
        printf("primary            %" PRIu32 "%s", ns->primary, ns->primary == ns->replica ? " (this node)" : "");
        if (ns->term_end > 0)
            printf(", its turn ends at seq %" PRIu64, ns->term_end);
        printf("\n");
        printf("height             %" PRIu64 "\n", ns->height);
        printf("tip hash           ");
        print_bytes_hex(&ns->tip_hash);
        printf("\nstable checkpoint  %" PRIu64 "\n", ns->stable_checkpoint);
        printf("peers connected    %" PRIu32 " of %" PRIu32 "\n", ns->peers_connected, ns->n ? ns->n - 1 : 0);
        printf("mempool            %" PRIu64 " transaction%s\n", ns->mempool_size, ns->mempool_size == 1 ? "" : "s");
        printf("chain id           ");
        print_bytes_hex(&ns->chain_id);
        printf("\n");
    }
    evote__v1__api_response__free_unpacked(resp, NULL);
    return 0;
}

/* ------------------------------------------------------------------ tip */

static const char tip_help[] =
    "usage: evote tip [--node EP] [--timeout MS] [--json]\n"
    "\n"
    "Prints the height of the node's last block and that block's hash, as\n"
    "\"HEIGHT HASHHEX\" on one line. Before the first block the height is 0\n"
    "and the hash is the chain id (what block 1 links to).\n"
    "\n" NODE_HELP "  --json         {\"height\":H,\"hash\":\"HEX\"} instead\n";

int cmd_tip(int argc, char **argv)
{
    static const struct option opts[] = {NODE_OPTIONS, {"json", no_argument, NULL, OPT_JSON}, {0, 0, 0, 0}};
    Evote__V1__ApiResponse *resp = NULL;
    const ProtobufCBinaryData *hash;
    node_opts o;
    int c, rc;

    if (cli_wants_help(argc, argv)) {
        fputs(tip_help, stdout);
        return 0;
    }
    node_opts_init(&o, "tip");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if ((rc = node_opt(&o, c, optarg)) != 1)
            return rc < 0 ? EXIT_USAGE : usage_error(tip_help);
    if (!operands_ok(o.cmd, argc, argv, 0, "", tip_help))
        return EXIT_USAGE;
    rc = ask_node_status(&o, 1, &resp);
    if (rc != 0)
        return rc;
    if (!tip_hash(resp->node, &hash)) {
        rc = bad_answer(&o, resp, "without a 32-byte tip hash");
    } else if (o.json) {
        printf("{\"height\":%" PRIu64 ",\"hash\":", resp->node->height);
        json_hex(hash->data, hash->len);
        printf("}\n");
    } else {
        printf("%" PRIu64 " ", resp->node->height);
        print_bytes_hex(hash);
        printf("\n");
    }
    evote__v1__api_response__free_unpacked(resp, NULL);
    return rc;
}

static const char tx_help[] =
    "usage: evote tx ID [--wait MS] [--genesis G] [--node EP] [--timeout MS] [--json]\n"
    "\n"
    "Prints what the node knows of transaction ID (64 hex digits, as printed\n"
    "by 'evote submit' or 'evote notice'): \"committed at height H, index I,\n"
    "result R\", \"pending\" (accepted, not yet in a block) or \"unknown\" (this\n"
    "node has never seen it; exits 1).\n"
    "\n"
    "  --wait MS      if not committed yet, let the node wait up to MS ms for\n"
    "                 the commit before answering\n"
    "  --genesis G    prove a committed transaction from its block: 2f+1\n"
    "                 validators of G signed the block's commit certificate, the\n"
    "                 batch it signs holds the transaction, and once a stable\n"
    "                 checkpoint covers the block, the result is the chain's\n"
    "                 (exit 1 when a proof fails)\n" NODE_HELP
    "  --json         {\"id\":...,\"state\":\"committed\",\"height\":H,\"index\":I,\"result\":R}\n";

int cmd_tx(int argc, char **argv)
{
    enum { OPT_GENESIS = 'g' };
    static const struct option opts[] = {NODE_OPTIONS,
                                         {"wait", required_argument, NULL, OPT_WAIT},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"genesis", required_argument, NULL, OPT_GENESIS},
                                         {0, 0, 0, 0}};
    uint8_t id[CRYPTO_HASH_LEN];
    const char *genesis_path = NULL;
    genesis *g = NULL;
    tx_proof *pf = NULL;
    tx_answer tx;
    char name[32];
    long wait_ms = 0;
    node_opts o;
    int c, rc;

    if (cli_wants_help(argc, argv)) {
        fputs(tx_help, stdout);
        return 0;
    }
    node_opts_init(&o, "tx");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == OPT_WAIT) {
            if (!parse_ms(o.cmd, "--wait", optarg, 0, &wait_ms))
                return EXIT_USAGE;
        } else if (c == OPT_GENESIS) {
            genesis_path = optarg;
        } else if ((rc = node_opt(&o, c, optarg)) != 1) {
            return rc < 0 ? EXIT_USAGE : usage_error(tx_help);
        }
    }
    if (!operands_ok(o.cmd, argc, argv, 1, "the transaction id", tx_help))
        return EXIT_USAGE;
    if (strlen(argv[optind]) != 2 * CRYPTO_HASH_LEN || crypto_unhex(argv[optind], id, sizeof id) != CRYPTO_OK) {
        fprintf(stderr, "evote tx: '%s' is not a transaction id: expected 64 hex digits\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (genesis_path != NULL && (rc = cli_load_genesis(o.cmd, genesis_path, &g)) != 0)
        return rc;
    rc = ask_tx(&o, id, wait_ms, &tx);
    if (rc != 0)
        goto out;
    if (g != NULL && tx.state == EVOTE__V1__TX_STATE__TX_STATE_COMMITTED) {
        if ((pf = malloc(sizeof *pf)) == NULL) {
            rc = EXIT_FAILED;
            goto out;
        }
        prove_tx(&o, g, tx.height, tx.index, id, NULL, pf);
    }
    if (o.json) {
        printf("{\"id\":");
        json_hex(id, sizeof id);
        printf(",\"state\":\"%s\"", state_word(tx.state));
        if (tx.state == EVOTE__V1__TX_STATE__TX_STATE_COMMITTED)
            printf(",\"height\":%" PRIu64 ",\"index\":%" PRIu32 ",\"result\":\"%s\"", tx.height, tx.index,
                   RESULT_NAME(tx.result, name));
        if (pf != NULL) {
            printf(",\"certificate_signers\":%zu,\"in_certified_batch\":%s", pf->sg.valid,
                   pf->included ? "true" : "false");
            if (pf->certified == 1)
                printf(",\"result_certified\":{\"checkpoint\":%" PRIu64 ",\"signers\":%" PRIu32 "}", pf->cp_seq,
                       pf->cp_signers);
            else
                printf(",\"result_certified\":null");
        }
        printf("}\n");
    } else if (tx.state == EVOTE__V1__TX_STATE__TX_STATE_COMMITTED) {
        printf("committed at height %" PRIu64 ", index %" PRIu32 ", result %s\n", tx.height, tx.index,
               RESULT_NAME(tx.result, name));
        if (pf != NULL && pf->included) {
            printf("certificate signed by %zu validators of the genesis (%" PRIu32 " needed); the batch it signs "
                   "holds this transaction (checked)\n",
                   pf->sg.valid, 2 * g->f + 1);
            if (pf->certified == 1)
                printf("result certified: the checkpoint at seq %" PRIu64 ", signed by %" PRIu32
                       " validators, covers this block's results (checked)\n",
                       pf->cp_seq, pf->cp_signers);
            else
                printf("result not certified yet: no stable checkpoint covers this block yet (one every "
                       "checkpoint_interval blocks, and one when the chain goes quiet)\n");
        }
    } else {
        printf("%s\n", state_word(tx.state));
    }
    if (pf != NULL && (!pf->included || pf->certified == -1)) {
        fprintf(stderr, "evote tx: %s does not prove this transaction's block: %s; do not trust this answer; ask "
                        "another node\n",
                o.node, pf->why);
        rc = EXIT_FAILED;
    } else if (pf != NULL && pf->certified == 1 && pf->result != tx.result) {
        fprintf(stderr, "evote tx: %s says the result is %s but the certified block says otherwise: do not trust "
                        "this answer; ask another node\n",
                o.node, RESULT_NAME(tx.result, name));
        rc = EXIT_FAILED;
    }
    if (tx.state == EVOTE__V1__TX_STATE__TX_STATE_UNKNOWN) {
        fprintf(stderr,
                "evote tx: %s has never seen this transaction: check the id, or ask the node it was "
                "submitted to\n",
                o.node);
        rc = EXIT_FAILED;
    }
out:
    free(pf);
    genesis_destroy(&g);
    return rc;
}

static int read_tx_file(const char *cmd, const char *path, size_t max, uint8_t **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    int nomem = 0;

    *out = NULL;
    if (f == NULL) {
        fprintf(stderr, "evote %s: cannot open %s: %s\n", cmd, path, strerror(errno));
        return EXIT_FAILED;
    }
    while (n <= max) { /* reading max + 1 bytes is enough to know it is too large */
        size_t got;
        if (n == cap) {
            size_t want = cap ? 2 * cap : 64 * 1024;
            uint8_t *grown = realloc(buf, want > max + 1 ? max + 1 : want);
            if (grown == NULL) {
                nomem = 1;
                break;
            }
            buf = grown;
            cap = want > max + 1 ? max + 1 : want;
        }
        got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    if (nomem)
        fprintf(stderr, "evote %s: out of memory reading %s\n", cmd, path);
    else if (ferror(f))
        fprintf(stderr, "evote %s: cannot read %s: %s\n", cmd, path, strerror(errno));
    else if (n > max)
        fprintf(stderr, "evote %s: %s is larger than %zu bytes, the largest transaction a node accepts\n", cmd,
                path, max);
    else if (n == 0)
        fprintf(stderr, "evote %s: %s is empty: expected the bytes of a serialized transaction envelope\n", cmd,
                path);
    else
        *out = buf;
    if (f != stdin)
        fclose(f);
    if (*out == NULL) {
        free(buf);
        return EXIT_FAILED;
    }
    *len = n;
    return 0;
}

static const char submit_help[] =
    "usage: evote submit --file TXFILE [--wait MS] [--node EP] [--timeout MS]\n"
    "\n"
    "Submits a transaction already signed: TXFILE holds the exact bytes of a\n"
    "serialized Envelope of kind KIND_TX ('-' reads them from standard input).\n"
    "Prints the transaction id (64 hex digits) once the node accepted it; a\n"
    "rejected or refused (busy) transaction exits 1 with the node's reason.\n"
    "\n"
    "  --file TXFILE  the envelope bytes\n"
    "  --wait MS      then wait up to MS ms for the commit and print\n"
    "                 \"committed at height H, result R\" or \"pending\"; exits 1\n"
    "                 unless committed with TX_RESULT_OK (a node that restarts\n"
    "                 meanwhile is asked again, and sent the same bytes again\n"
    "                 if it forgot them)\n" NODE_HELP;

int cmd_submit(int argc, char **argv)
{
    static const struct option opts[] = {NODE_OPTIONS,
                                         {"file", required_argument, NULL, 'f'},
                                         {"wait", required_argument, NULL, OPT_WAIT},
                                         {0, 0, 0, 0}};
    const char *path = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    long wait_ms = 0;
    node_opts o;
    int c, rc;

    if (cli_wants_help(argc, argv)) {
        fputs(submit_help, stdout);
        return 0;
    }
    node_opts_init(&o, "submit");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'f') {
            path = optarg;
        } else if (c == OPT_WAIT) {
            if (!parse_ms(o.cmd, "--wait", optarg, 0, &wait_ms))
                return EXIT_USAGE;
        } else if ((rc = node_opt(&o, c, optarg)) != 1) {
            return rc < 0 ? EXIT_USAGE : usage_error(submit_help);
        }
    }
    if (!operands_ok(o.cmd, argc, argv, 0, "", submit_help))
        return EXIT_USAGE;
    if (path == NULL)
        return missing_option(o.cmd, "--file TXFILE", submit_help);
    rc = read_tx_file(o.cmd, path, CRYPTO_MAX_ENVELOPE, &bytes, &len);
    if (rc != 0)
        return rc;
    rc = submit_tx(&o, bytes, len, wait_ms);
    free(bytes);
    return rc;
}

/* --------------------------------------------------------------- notice */

static const char notice_help[] =
    "usage: evote notice --key KEYFILE --genesis GENESIS --topic TOPIC --text TEXT\n"
    "                    [--wait MS] [--node EP] [--timeout MS]\n"
    "\n"
    "Publishes a public notice: signs a Notice {TOPIC, TEXT} for the chain of\n"
    "GENESIS with the secret key in KEYFILE (an authority's key: validators refuse\n"
    "a notice from anyone else, NOT_AUTHORIZED), submits it, and prints its\n"
    "transaction id (64 hex digits).\n"
    "\n"
    "  --topic TOPIC  at most 128 bytes\n"
    "  --text TEXT    at most 65536 bytes\n"
    "  --wait MS      then wait up to MS ms for the commit and print\n"
    "                 \"committed at height H, result R\" or \"pending\"; exits 1\n"
    "                 unless committed with TX_RESULT_OK (a node that restarts\n"
    "                 meanwhile is asked again, and sent the same bytes again\n"
    "                 if it forgot them)\n" NODE_HELP;


int cmd_notice(int argc, char **argv)
{
    static const struct option opts[] = {NODE_OPTIONS,
                                         {"key", required_argument, NULL, 'k'},
                                         {"genesis", required_argument, NULL, 'g'},
                                         {"topic", required_argument, NULL, 'T'},
                                         {"text", required_argument, NULL, 'x'},
                                         {"wait", required_argument, NULL, OPT_WAIT},
                                         {0, 0, 0, 0}};
    const char *key_path = NULL, *genesis_path = NULL, *topic = NULL, *text = NULL;
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__Notice notice = EVOTE__V1__NOTICE__INIT;
    uint8_t pub[CRYPTO_PUBKEY_LEN], *tx = NULL;
    signing_key *key = NULL;
    genesis *g = NULL;
    genesis_error gwhy;
    crypto_err cerr;
    ledger_err lerr;
    size_t tx_len = 0;
    long wait_ms = 0;
    node_opts o;
    int c, rc;

    if (cli_wants_help(argc, argv)) {
        fputs(notice_help, stdout);
        return 0;
    }
    node_opts_init(&o, "notice");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k': key_path = optarg; break;
        case 'g': genesis_path = optarg; break;
        case 'T': topic = optarg; break;
        case 'x': text = optarg; break;
        case OPT_WAIT:
            if (!parse_ms(o.cmd, "--wait", optarg, 0, &wait_ms))
                return EXIT_USAGE;
            break;
        default:
            if ((rc = node_opt(&o, c, optarg)) != 1)
                return rc < 0 ? EXIT_USAGE : usage_error(notice_help);
        }
    }
    if (!operands_ok(o.cmd, argc, argv, 0, "", notice_help))
        return EXIT_USAGE;
    if (key_path == NULL || genesis_path == NULL || topic == NULL || text == NULL)
        return missing_option(o.cmd,
                              key_path == NULL       ? "--key KEYFILE"
                              : genesis_path == NULL ? "--genesis GENESIS"
                              : topic == NULL        ? "--topic TOPIC"
                                                     : "--text TEXT",
                              notice_help);
    if (strlen(topic) > LEDGER_MAX_TOPIC || strlen(text) > LEDGER_MAX_TEXT) {
        fprintf(stderr, "evote notice: the %s is %zu bytes; at most %d are allowed\n",
                strlen(topic) > LEDGER_MAX_TOPIC ? "topic" : "text",
                strlen(topic) > LEDGER_MAX_TOPIC ? strlen(topic) : strlen(text),
                strlen(topic) > LEDGER_MAX_TOPIC ? LEDGER_MAX_TOPIC : LEDGER_MAX_TEXT);
        return EXIT_USAGE;
    }

    memset(&gwhy, 0, sizeof gwhy);
    lerr = genesis_load(genesis_path, &g, &gwhy);
    if (lerr != LEDGER_OK) {
        if (gwhy.line != 0)
            fprintf(stderr, "evote notice: %s line %u: %s\n", genesis_path, gwhy.line, gwhy.reason);
        else
            fprintf(stderr, "evote notice: %s: %s\n", genesis_path,
                    gwhy.reason[0] ? gwhy.reason : ledger_strerror(lerr));
        return EXIT_FAILED;
    }
    cerr = signing_key_load(key_path, &key);
    if (cerr != CRYPTO_OK) {
        fprintf(stderr, "evote notice: %s: %s\n", key_path, crypto_strerror(cerr));
        genesis_destroy(&g);
        return EXIT_FAILED;
    }
    signing_key_pubkey(key, pub);
    if (!genesis_is_authority(g, pub))
        fprintf(stderr,
                "evote notice: warning: the key in %s is not an authority of %s: validators refuse "
                "its notices (NOT_AUTHORIZED); sign with an authority's key\n",
                key_path, genesis_path);

    notice.topic = (char *)topic;
    notice.text.data = (uint8_t *)text;
    notice.text.len = strlen(text);
    body.chain_id.data = g->chain_id;
    body.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    body.created_ms = wall_clock_ms();
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_NOTICE;
    body.notice = &notice;
    cerr = crypto_random(&body.nonce, sizeof body.nonce);
    if (cerr == CRYPTO_OK)
        cerr = ledger_tx_seal(&body, key, &tx, &tx_len);
    signing_key_destroy(&key);
    if (cerr != CRYPTO_OK) {
        fprintf(stderr, "evote notice: cannot sign the notice: %s\n", crypto_strerror(cerr));
        genesis_destroy(&g);
        return EXIT_FAILED;
    }
    rc = submit_tx(&o, tx, tx_len, wait_ms);
    free(tx);
    genesis_destroy(&g);
    return rc;
}

/* ---------------------------------------------------------------- block */

/* A block as the node sent it, parsed, with what this evote computes from
 * it (hashes, transaction ids). */
typedef struct {
    Evote__V1__BlockHeader *header;
    Evote__V1__Batch *batch;
    Evote__V1__CommitCertificate *cert; /* NULL when the node sent none */
    uint8_t hash[CRYPTO_HASH_LEN];      /* tagged hash of the header bytes */
    uint8_t (*ids)[CRYPTO_HASH_LEN];    /* one per transaction of the batch */
    size_t signers;                     /* distinct signers of the certificate's commits */
} shown_block;

static void shown_block_free(shown_block *b)
{
    if (b->header != NULL)
        evote__v1__block_header__free_unpacked(b->header, NULL);
    if (b->batch != NULL)
        evote__v1__batch__free_unpacked(b->batch, NULL);
    if (b->cert != NULL)
        evote__v1__commit_certificate__free_unpacked(b->cert, NULL);
    free(b->ids);
    memset(b, 0, sizeof *b);
}

static size_t distinct_signers(const Evote__V1__CommitCertificate *cert)
{
    size_t count = 0;
    for (size_t i = 0; i < cert->n_commits; i++) {
        const ProtobufCBinaryData *s = &cert->commits[i]->signer;
        size_t j = 0;
        while (j < i && !(cert->commits[j]->signer.len == s->len &&
                          memcmp(cert->commits[j]->signer.data, s->data, s->len) == 0))
            j++;
        count += j == i;
    }
    return count;
}

static int same_hash(const ProtobufCBinaryData *b, const uint8_t h[CRYPTO_HASH_LEN])
{
    return b->len == CRYPTO_HASH_LEN && memcmp(b->data, h, CRYPTO_HASH_LEN) == 0;
}

/* Parses the block (only the header when header_only) and the certificate,
 * and computes the block hash and the transaction ids.
 * Returns: NULL, or why the block cannot be shown. */
static const char *parse_block(const Evote__V1__ApiResponse *resp, uint64_t height, int header_only, shown_block *b)
{
    const Evote__V1__Block *blk = resp->block;

    memset(b, 0, sizeof *b);
    if (blk == NULL)
        return "the answer has no block";
    b->header = evote__v1__block_header__unpack(NULL, blk->header.len, blk->header.data);
    if (b->header == NULL)
        return "the block header does not parse";
    if (b->header->height != height)
        return "the header is for another height";
    crypto_tagged_hash(CRYPTO_TAG_BLOCK, blk->header.data, blk->header.len, b->hash);
    if (header_only)
        return NULL;
    b->batch = evote__v1__batch__unpack(NULL, blk->batch.len, blk->batch.data);
    if (b->batch == NULL)
        return "the block's batch does not parse";
    if (resp->certificate.len != 0) {
        b->cert = evote__v1__commit_certificate__unpack(NULL, resp->certificate.len, resp->certificate.data);
        if (b->cert == NULL)
            return "the commit certificate does not parse";
        b->signers = distinct_signers(b->cert);
    }
    b->ids = calloc(b->batch->n_txs ? b->batch->n_txs : 1, sizeof *b->ids);
    if (b->ids == NULL)
        return "out of memory";
    for (size_t i = 0; i < b->batch->n_txs; i++)
        envelope_txid(b->batch->txs[i].data, b->batch->txs[i].len, b->ids[i]);
    return NULL;
}

/* Checks that a parsed block's parts agree: the batch, transaction ids and
 * results are the ones the header names, and the certificate certifies this
 * batch at this height. That catches a faulty node or a damaged store, not a
 * lying node (that needs the certificate's signatures and the genesis).
 * Returns: NULL, or what does not agree. */
static const char *check_block(const shown_block *b, const Evote__V1__Block *blk)
{
    const Evote__V1__BlockHeader *h = b->header;
    uint8_t digest[CRYPTO_HASH_LEN], root[CRYPTO_HASH_LEN], results[CRYPTO_HASH_LEN];

    crypto_tagged_hash(CRYPTO_TAG_BATCH, blk->batch.data, blk->batch.len, digest);
    if (!same_hash(&h->batch_digest, digest))
        return "the batch is not the one the header's batch digest names";
    if (b->batch->n_txs != h->tx_count || blk->n_results != h->tx_count)
        return "the header's tx count, the batch's transactions and the results disagree";
    crypto_merkle_root((const uint8_t(*)[CRYPTO_HASH_LEN])b->ids, b->batch->n_txs, root);
    if (!same_hash(&h->tx_root, root))
        return "the header's tx root is not the Merkle root of the batch's transaction ids";
    if (ledger_results_hash(blk->results, blk->n_results, results) != LEDGER_OK ||
        !same_hash(&h->results_hash, results))
        return "the header's results hash does not match the results";
    if (b->cert == NULL)
        return "the node sent no commit certificate";
    if (b->cert->seq != h->height || !same_hash(&b->cert->digest, digest))
        return "the commit certificate is for another sequence number or batch";
    return NULL;
}

/* Milliseconds since the epoch as "2026-11-27 17:45:00.123 UTC". */

static void print_block_text(const shown_block *b, const Evote__V1__Block *blk)
{
    const Evote__V1__BlockHeader *h = b->header;
    char when[64], name[32];

    format_time(h->timestamp_ms, when, sizeof when);
    printf("height         %" PRIu64 "\n", h->height);
    printf("hash           ");
    print_hex(b->hash, sizeof b->hash);
    printf("\nprev hash      ");
    print_bytes_hex(&h->prev_hash);
    printf("\nbatch digest   ");
    print_bytes_hex(&h->batch_digest);
    printf("\ntx root        ");
    print_bytes_hex(&h->tx_root);
    printf("\nresults hash   ");
    print_bytes_hex(&h->results_hash);
    printf("\ntimestamp      %" PRIu64 " (%s)\n", h->timestamp_ms, when);
    printf("tx count       %" PRIu32 "%s\n", h->tx_count,
           h->tx_count == 0 ? " (empty: a checkpoint; the primary proposes one when the chain goes quiet, "
                              "and a new view fills skipped seqs with them)"
                            : "");
    if (b->cert != NULL)
        printf("certificate    view %" PRIu64 ", seq %" PRIu64 ", %zu signer%s\n", b->cert->view, b->cert->seq,
               b->signers, b->signers == 1 ? "" : "s");
    else
        printf("certificate    none\n");
    for (size_t i = 0; i < b->batch->n_txs; i++) {
        printf("tx %-4zu        ", i);
        print_hex(b->ids[i], CRYPTO_HASH_LEN);
        printf(" %s\n", i < blk->n_results ? RESULT_NAME(blk->results[i], name) : "?");
    }
}

static void print_block_json(const shown_block *b, const Evote__V1__Block *blk)
{
    const Evote__V1__BlockHeader *h = b->header;
    char name[32];

    printf("{\"height\":%" PRIu64 ",\"hash\":", h->height);
    json_hex(b->hash, sizeof b->hash);
    printf(",\"prev_hash\":");
    json_hex(h->prev_hash.data, h->prev_hash.len);
    printf(",\"batch_digest\":");
    json_hex(h->batch_digest.data, h->batch_digest.len);
    printf(",\"tx_root\":");
    json_hex(h->tx_root.data, h->tx_root.len);
    printf(",\"results_hash\":");
    json_hex(h->results_hash.data, h->results_hash.len);
    printf(",\"timestamp_ms\":%" PRIu64 ",\"tx_count\":%" PRIu32 ",\"certificate\":", h->timestamp_ms, h->tx_count);
    if (b->cert != NULL)
        printf("{\"view\":%" PRIu64 ",\"seq\":%" PRIu64 ",\"signers\":%zu}", b->cert->view, b->cert->seq,
               b->signers);
    else
        printf("null");
    printf(",\"txs\":[");
    for (size_t i = 0; i < b->batch->n_txs; i++) {
        printf("%s{\"id\":", i ? "," : "");
        json_hex(b->ids[i], CRYPTO_HASH_LEN);
        printf(",\"result\":\"%s\"}", i < blk->n_results ? RESULT_NAME(blk->results[i], name) : "?");
    }
    printf("]}\n");
}

static const char block_help[] =
    "usage: evote block HEIGHT [--hash-only] [--node EP] [--timeout MS] [--json]\n"
    "\n"
    "Prints the block at HEIGHT (the first block is 1): its header (hash =\n"
    "tagged hash of the header bytes, prev hash, batch digest, tx root, results\n"
    "hash, timestamp, tx count), its commit certificate (view, seq, how many\n"
    "validators signed), and each transaction id with its result. Checks that\n"
    "the parts agree with the header; exits 1 if they do not.\n"
    "\n"
    "  --hash-only    print only the block hash (to compare chains across nodes)\n" NODE_HELP
    "  --json         one JSON object instead of text\n";

int cmd_block(int argc, char **argv)
{
    static const struct option opts[] = {NODE_OPTIONS,
                                         {"hash-only", no_argument, NULL, 'H'},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {0, 0, 0, 0}};
    Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
    Evote__V1__GetBlock get = EVOTE__V1__GET_BLOCK__INIT;
    Evote__V1__ApiResponse *resp = NULL, *tip = NULL;
    const char *arg, *why;
    shown_block b;
    int hash_only = 0, c, rc;
    unsigned long long height;
    char *end;
    node_opts o;

    if (cli_wants_help(argc, argv)) {
        fputs(block_help, stdout);
        return 0;
    }
    node_opts_init(&o, "block");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'H')
            hash_only = 1;
        else if ((rc = node_opt(&o, c, optarg)) != 1)
            return rc < 0 ? EXIT_USAGE : usage_error(block_help);
    }
    if (!operands_ok(o.cmd, argc, argv, 1, "the block height", block_help))
        return EXIT_USAGE;
    arg = argv[optind];
    errno = 0;
    height = strtoull(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || height == 0) {
        fprintf(stderr, "evote block: '%s' is not a block height: heights are 1, 2, 3, ...\n", arg);
        return EXIT_USAGE;
    }

    get.height = height;
    req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_BLOCK;
    req.get_block = &get;
    rc = node_call(&o, &req, 0, &resp);
    if (rc != 0)
        return rc;
    if (resp->status == EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND) {
        /* Say where the chain ends: that is what the user needs next. */
        if (ask_node_status(&o, 1, &tip) == 0)
            fprintf(stderr, "evote block: %s has no block at height %llu: its chain ends at height %" PRIu64 "\n",
                    o.node, height, tip->node->height);
        else
            fprintf(stderr, "evote block: %s has no block at height %llu\n", o.node, height);
        if (tip != NULL)
            evote__v1__api_response__free_unpacked(tip, NULL);
        evote__v1__api_response__free_unpacked(resp, NULL);
        return EXIT_FAILED;
    }
    if (resp->status != EVOTE__V1__API_STATUS__API_STATUS_OK) {
        rc = bad_answer(&o, resp, "");
        evote__v1__api_response__free_unpacked(resp, NULL);
        return rc;
    }
    why = parse_block(resp, height, hash_only, &b);
    if (why != NULL) {
        fprintf(stderr,
                "evote block: %s sent a block for height %llu that cannot be read: %s; the node is faulty or "
                "of another version: ask another node\n",
                o.node, height, why);
        rc = EXIT_FAILED;
    } else if (hash_only) {
        print_hex(b.hash, sizeof b.hash);
        printf("\n");
    } else {
        if (o.json)
            print_block_json(&b, resp->block);
        else
            print_block_text(&b, resp->block);
        why = check_block(&b, resp->block);
        if (why != NULL) {
            fprintf(stderr,
                    "evote block: the block %s sent for height %llu is inconsistent: %s; the node is faulty "
                    "or its store is damaged: ask another node\n",
                    o.node, height, why);
            rc = EXIT_FAILED;
        }
    }
    shown_block_free(&b);
    evote__v1__api_response__free_unpacked(resp, NULL);
    return rc;
}
