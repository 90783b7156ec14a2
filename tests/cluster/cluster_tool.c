/* cluster_tool: the helper of the tests in tests/cluster (not installed).
 *
 *   cluster_tool chain --node EP --to H [--timeout MS]
 *       Reads blocks 1..H from a validator's client endpoint and prints
 *         block HEIGHT HASH PREV_HASH TX_COUNT
 *         tx ID HEIGHT INDEX RESULT
 *       (hashes in hex; block hash = tagged hash of the header bytes, as
 *       `evote block --hash-only` computes it). Checks that each block's
 *       prev hash is the hash of the block before. Two nodes have the same
 *       chain up to H exactly when their outputs are equal. Exit 1 when a
 *       block is missing or does not parse or link.
 *
 *   cluster_tool txs --node EP [--wait MS] [--timeout MS] < IDS
 *       For each transaction id on stdin (64 hex digits a line) prints
 *         ID STATE HEIGHT INDEX RESULT
 *       with STATE committed, pending or unknown, the node waiting up to MS
 *       (default 3000) for each one's commit (GetTx wait_ms, as
 *       `evote tx --wait`). Exit 1 when the node does not answer.
 *
 *   cluster_tool flood --node EP --genesis G --authority KEY --count N
 *                      [--text-bytes B] [--timeout MS]
 *       Signs N notices with B bytes of text each (default 100) and submits
 *       them all at once, pipelined on one connection, then collects the
 *       answers; prints the id of each accepted one (summary on stderr).
 *
 *   cluster_tool client-garbage --node EP [--timeout MS]
 *       Sends malformed requests to a client endpoint (random bytes, a
 *       request without a call, a 5-byte tx id, a junk transaction, an
 *       empty one) and prints "NAME STATUS" for each answer. Exit 1 when
 *       one is not answered, or answered OK.
 *
 *   cluster_tool read-flood --node EP --count N [--timeout MS]
 *       Asks for block 1 N times in a row on one connection, as fast as the
 *       node answers, and prints "answered A busy B": how many were answered
 *       (a block or NOT_FOUND) and how many refused BUSY (client_read_rate).
 *       Exit 1 when one gets no answer or another status.
 *
 *   cluster_tool probe --genesis G --to I (--fresh | --as CURVEKEYFILE) [--wait MS]
 *       Opens a CURVE connection to validator I's peer endpoint, as a
 *       DEALER like peer_net's, with a fresh key pair or the key in
 *       CURVEKEYFILE; prints "accepted" when the handshake completes,
 *       "refused" when the server refuses it, "no-answer" when neither
 *       happens within MS (default 3000). With --fresh it also sends a
 *       few messages (which must never be delivered). Exit 0 whatever the
 *       outcome: the caller compares the word.
 *
 *   cluster_tool inject --genesis G --to I --as CURVEKEYFILE --what W
 *                       [--key VALIDATORKEY] [--view V] [--authority KEY] [--wait MS]
 *       Connects like probe (the handshake must complete) and sends:
 *         garbage    random bytes, an empty frame, a 3-part message, a
 *                    PeerMessage whose envelope is junk, and an envelope of
 *                    an unknown kind (several messages)
 *         oversized  one message of 16 MiB + 1 KiB (over the 16 MiB limit);
 *                    prints "disconnected" when the server cut the
 *                    connection, as it must
 *         badsig     a well-formed PeerMessage carrying a VIEW-CHANGE to
 *                    view V signed with VALIDATORKEY, its signature broken
 *         goodsig    the same VIEW-CHANGE correctly signed (the positive
 *                    control: f+1 of these from distinct validators make
 *                    the target join view V)
 *         badbatch   a RequestBatch (transactions forwarded between
 *                    validators) from the --as validator carrying one fresh
 *                    notice signed by --authority, its envelope signed with
 *                    VALIDATORKEY and the signature broken; prints the
 *                    notice's id (which must never be committed)
 *         goodbatch  the same correctly signed (the control: it commits)
 *       Exit 0 when everything was handed to ZeroMQ and flushed.
 *
 *   cluster_tool lie --genesis G --key VALIDATORKEY --to I --code CODE --height H
 *       What a faulty validator I could hand a voter: a TrackStatement
 *       saying ballot CODE is COUNTED at height H with the polls closed,
 *       signed with VALIDATORKEY (I's genesis key). Prints
 *         STATEMENT_HEX SIGNATURE_HEX
 *       (for evote-audit --statement/--signature, which must call it false
 *       when the chain replaced that ballot at or below H).
 *
 * Built by tests/cluster/CMakeLists.txt against src/net, src/crypto,
 * src/ledger (genesis parsing) and the evote.v1 protobuf schema. */
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "api.pb-c.h"
#include "ballot_crypto.h"
#include "consensus.pb-c.h"
#include "crypto.h"
#include "election.h"
#include "evote.pb-c.h"
#include "ledger.h"
#include "net.h"

static int usage(void)
{
    fprintf(stderr, "usage: cluster_tool chain --node EP --to H [--timeout MS]\n"
                    "       cluster_tool txs --node EP [--wait MS] [--timeout MS] < IDS\n"
                    "       cluster_tool client-garbage --node EP [--timeout MS]\n"
                    "       cluster_tool read-flood --node EP --count N [--timeout MS]\n"
                    "       cluster_tool junk-flood --node EP --count N [--timeout MS]\n"
                    "       cluster_tool ghost-ballots --node EP --genesis G --count N [--threads K] [--timeout MS]\n"
                    "       cluster_tool flood --node EP --genesis G --authority KEY --count N [--text-bytes B]"
                    " [--timeout MS]\n"
                    "       cluster_tool probe --genesis G --to I (--fresh | --as CURVEKEYFILE) [--wait MS]\n"
                    "       cluster_tool inject --genesis G --to I --as CURVEKEYFILE --what "
                    "garbage|oversized|badsig|goodsig|badbatch|goodbatch|forward\n"
                    "                           [--key VALIDATORKEY] [--view V] [--authority AUTHKEY] [--txs HEXFILE]"
                    " [--wait MS]\n"
                    "       cluster_tool bad-dealing --genesis G --key TRUSTEEKEY --dealer J --id ELECTION --to VICTIM\n"
                    "                           --eks DIR1,DIR2,... --threshold T --out TXFILE\n"
                    "       cluster_tool lie --genesis G --key VALIDATORKEY --to I --code CODE --height H\n");
    return 2;
}

static int cmd_lie(const char *genesis_path, const char *key_path, uint32_t me, const char *code_hex, uint64_t height)
{
    Evote__V1__TrackStatement st = EVOTE__V1__TRACK_STATEMENT__INIT;
    genesis *g = NULL;
    genesis_error gerr;
    signing_key *key = NULL;
    uint8_t code[CRYPTO_HASH_LEN], buf[256], sig[CRYPTO_SIG_LEN];
    char hex[2 * sizeof buf + 1];
    size_t len;
    int rc = 1;

    if (genesis_load(genesis_path, &g, &gerr) != LEDGER_OK || signing_key_load(key_path, &key) != CRYPTO_OK ||
        strlen(code_hex) != 2 * CRYPTO_HASH_LEN || crypto_unhex(code_hex, code, sizeof code) != CRYPTO_OK) {
        fprintf(stderr, "cluster_tool lie: cannot read the genesis, the key or the code\n");
        goto out;
    }
    st.chain_id = (ProtobufCBinaryData){CRYPTO_CHAIN_ID_LEN, g->chain_id};
    st.code = (ProtobufCBinaryData){CRYPTO_HASH_LEN, code};
    st.validator = me;
    st.height = height;
    st.status = EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_COUNTED;
    st.polls_closed = 1;
    len = evote__v1__track_statement__get_packed_size(&st);
    if (len > sizeof buf)
        goto out;
    evote__v1__track_statement__pack(&st, buf);
    if (signing_key_sign(key, ELECTION_TRACK_STATEMENT_TAG, buf, len, sig) != CRYPTO_OK)
        goto out;
    crypto_hex(buf, len, hex);
    printf("%s ", hex);
    crypto_hex(sig, sizeof sig, hex);
    printf("%s\n", hex);
    rc = 0;
out:
    signing_key_destroy(&key);
    genesis_destroy(&g);
    return rc;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void print_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

/* ----------------------------------------------------------------- chain */

static int call(client_conn *c, Evote__V1__ApiRequest *req, Evote__V1__ApiResponse **out)
{
    size_t len = evote__v1__api_request__get_packed_size(req), rlen = 0;
    uint8_t *buf = malloc(len ? len : 1), *resp = NULL;
    net_err err;

    *out = NULL;
    if (buf == NULL)
        return 0;
    evote__v1__api_request__pack(req, buf);
    for (int tries = 0;; tries++) {
        err = client_conn_call(c, buf, len, &resp, &rlen);
        if (err != NET_OK) {
            free(buf);
            fprintf(stderr, "cluster_tool: call failed: %s\n", net_strerror(err));
            return 0;
        }
        *out = evote__v1__api_response__unpack(NULL, rlen, resp);
        free(resp);
        resp = NULL;
        if (*out == NULL) {
            free(buf);
            fprintf(stderr, "cluster_tool: the answer is not an ApiResponse\n");
            return 0;
        }
        /* Over this address's read budget: wait as told (reading a whole
         * chain takes more than the burst). */
        if ((*out)->status != EVOTE__V1__API_STATUS__API_STATUS_BUSY || (*out)->retry_after_ms == 0 || tries >= 1000)
            break;
        usleep(1000u * (*out)->retry_after_ms);
        evote__v1__api_response__free_unpacked(*out, NULL);
        *out = NULL;
    }
    free(buf);
    return 1;
}

static int cmd_chain(const char *node, uint64_t to, int timeout_ms)
{
    client_conn *c = NULL;
    net_error why;
    uint8_t prev[CRYPTO_HASH_LEN];
    int rc = 0;

    if (client_conn_new(node, NULL, timeout_ms, &c, &why) != NET_OK) {
        fprintf(stderr, "cluster_tool chain: cannot connect to %s: %s\n", node, why.detail);
        return 1;
    }
    for (uint64_t h = 1; h <= to && rc == 0; h++) {
        Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
        Evote__V1__GetBlock gb = EVOTE__V1__GET_BLOCK__INIT;
        Evote__V1__ApiResponse *r = NULL;
        Evote__V1__BlockHeader *hd = NULL;
        Evote__V1__Batch *b = NULL;
        uint8_t hash[CRYPTO_HASH_LEN];

        req.request_id = h;
        req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_BLOCK;
        req.get_block = &gb;
        gb.height = h;
        if (!call(c, &req, &r)) {
            rc = 1;
            break;
        }
        if (r->status != EVOTE__V1__API_STATUS__API_STATUS_OK || r->block == NULL) {
            fprintf(stderr, "cluster_tool chain: %s has no block %" PRIu64 " (status %d: %s)\n", node, h,
                    (int)r->status, r->reason ? r->reason : "");
            rc = 1;
        } else if ((hd = evote__v1__block_header__unpack(NULL, r->block->header.len, r->block->header.data)) ==
                       NULL ||
                   (b = evote__v1__batch__unpack(NULL, r->block->batch.len, r->block->batch.data)) == NULL ||
                   hd->height != h || hd->prev_hash.len != CRYPTO_HASH_LEN) {
            fprintf(stderr, "cluster_tool chain: %s: block %" PRIu64 " does not parse\n", node, h);
            rc = 1;
        } else if (h > 1 && memcmp(hd->prev_hash.data, prev, CRYPTO_HASH_LEN) != 0) {
            fprintf(stderr, "cluster_tool chain: %s: block %" PRIu64 "'s prev hash is not block %" PRIu64
                            "'s hash\n",
                    node, h, h - 1);
            rc = 1;
        } else {
            crypto_tagged_hash(CRYPTO_TAG_BLOCK, r->block->header.data, r->block->header.len, hash);
            printf("block %" PRIu64 " ", h);
            print_hex(hash, CRYPTO_HASH_LEN);
            printf(" ");
            print_hex(hd->prev_hash.data, CRYPTO_HASH_LEN);
            printf(" %zu\n", b->n_txs);
            for (size_t i = 0; i < b->n_txs; i++) {
                uint8_t id[CRYPTO_HASH_LEN];
                envelope_txid(b->txs[i].data, b->txs[i].len, id);
                printf("tx ");
                print_hex(id, CRYPTO_HASH_LEN);
                printf(" %" PRIu64 " %zu %d\n", h, i, i < r->block->n_results ? (int)r->block->results[i] : -1);
            }
            memcpy(prev, hash, CRYPTO_HASH_LEN);
        }
        if (b)
            evote__v1__batch__free_unpacked(b, NULL);
        if (hd)
            evote__v1__block_header__free_unpacked(hd, NULL);
        evote__v1__api_response__free_unpacked(r, NULL);
    }
    client_conn_destroy(&c);
    if (fflush(stdout) != 0)
        rc = 1;
    return rc;
}

/* Reads 64-hex ids from stdin, one a line, and prints for each
 * "ID STATE HEIGHT INDEX RESULT" (STATE: committed, pending, unknown),
 * asking the node to wait up to wait_ms for each one's commit. */
static int cmd_txs(const char *node, int wait_ms, int timeout_ms)
{
    client_conn *c = NULL;
    net_error why;
    char line[256];
    int rc = 0;

    if (client_conn_new(node, NULL, timeout_ms + wait_ms, &c, &why) != NET_OK) {
        fprintf(stderr, "cluster_tool txs: cannot connect to %s: %s\n", node, why.detail);
        return 1;
    }
    while (rc == 0 && fgets(line, sizeof line, stdin) != NULL) {
        Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
        Evote__V1__GetTx gt = EVOTE__V1__GET_TX__INIT;
        Evote__V1__ApiResponse *r = NULL;
        uint8_t id[CRYPTO_HASH_LEN];
        static uint64_t rid;

        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        if (strlen(line) != 2 * CRYPTO_HASH_LEN || crypto_unhex(line, id, sizeof id) != CRYPTO_OK) {
            fprintf(stderr, "cluster_tool txs: '%s' is not a transaction id\n", line);
            rc = 1;
            break;
        }
        req.request_id = ++rid;
        req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_TX;
        req.get_tx = &gt;
        gt.id.data = id;
        gt.id.len = sizeof id;
        gt.wait_ms = (uint32_t)wait_ms;
        if (!call(c, &req, &r)) {
            rc = 1;
            break;
        }
        if (r->status != EVOTE__V1__API_STATUS__API_STATUS_OK || r->tx == NULL) {
            fprintf(stderr, "cluster_tool txs: %s answered status %d for %s: %s\n", node, (int)r->status, line,
                    r->reason ? r->reason : "");
            rc = 1;
        } else {
            const char *state = r->tx->state == EVOTE__V1__TX_STATE__TX_STATE_COMMITTED ? "committed"
                                : r->tx->state == EVOTE__V1__TX_STATE__TX_STATE_PENDING ? "pending"
                                                                                          : "unknown";
            printf("%s %s %" PRIu64 " %" PRIu32 " %d\n", line, state, r->tx->height, r->tx->index,
                   (int)r->tx->result);
        }
        evote__v1__api_response__free_unpacked(r, NULL);
    }
    client_conn_destroy(&c);
    if (fflush(stdout) != 0)
        rc = 1;
    return rc;
}

/* Sends malformed requests to a client endpoint; each must get an answer
 * that refuses it (not OK). Prints one line per request: "NAME STATUS". */
static int cmd_client_garbage(const char *node, int timeout_ms)
{
    client_conn *c = NULL;
    net_error why;
    uint8_t junk[512], *resp = NULL;
    size_t rlen = 0;
    int rc = 0;

    if (client_conn_new(node, NULL, timeout_ms, &c, &why) != NET_OK) {
        fprintf(stderr, "cluster_tool client-garbage: cannot connect to %s: %s\n", node, why.detail);
        return 1;
    }
    if (crypto_random(junk, sizeof junk) != CRYPTO_OK)
        memset(junk, 0xff, sizeof junk);
    for (int k = 0; k < 6 && rc == 0; k++) {
        Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
        Evote__V1__GetStatus gs = EVOTE__V1__GET_STATUS__INIT;
        Evote__V1__GetTx gt = EVOTE__V1__GET_TX__INIT;
        Evote__V1__SubmitTx st = EVOTE__V1__SUBMIT_TX__INIT;
        Evote__V1__ApiResponse *r;
        const char *name;
        uint8_t buf[1024];
        size_t len;
        net_err err;

        req.request_id = 1000 + (uint64_t)k;
        switch (k) {
        case 0: /* not a protobuf message at all */
            name = "random-bytes";
            junk[0] = 0xff; /* an invalid wire type: never parses */
            memcpy(buf, junk, sizeof junk);
            len = sizeof junk;
            break;
        case 1: /* an ApiRequest without a call */
            name = "no-call";
            len = evote__v1__api_request__pack(&req, buf);
            break;
        case 2: /* a GetTx whose id is 5 bytes */
            name = "short-tx-id";
            req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_TX;
            req.get_tx = &gt;
            gt.id.data = junk;
            gt.id.len = 5;
            len = evote__v1__api_request__pack(&req, buf);
            break;
        case 3: /* a SubmitTx whose transaction is junk */
            name = "junk-tx";
            req.call_case = EVOTE__V1__API_REQUEST__CALL_SUBMIT;
            req.submit = &st;
            st.tx.data = junk + 1;
            st.tx.len = 300;
            len = evote__v1__api_request__pack(&req, buf);
            break;
        case 5: /* a GetStatus drowned in fields no version knows (each costs protobuf-c an allocation) */
            name = "unknown-fields";
            req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_STATUS;
            req.get_status = &gs;
            len = evote__v1__api_request__pack(&req, buf);
            while (len + 3 <= sizeof buf) { /* field 1000, a varint */
                buf[len++] = 0xc0;
                buf[len++] = 0x3e;
                buf[len++] = 0x01;
            }
            break;
        default: /* a SubmitTx with an empty transaction */
            name = "empty-tx";
            req.call_case = EVOTE__V1__API_REQUEST__CALL_SUBMIT;
            req.submit = &st;
            st.tx.data = NULL;
            st.tx.len = 0;
            len = evote__v1__api_request__pack(&req, buf);
            break;
        }
        if (len == 0) { /* an all-default request packs to nothing: send one junk byte */
            buf[0] = 0x00;
            len = 1;
        }
        err = client_conn_call(c, buf, len, &resp, &rlen);
        if (err != NET_OK) {
            printf("%s no-answer\n", name);
            fprintf(stderr, "cluster_tool client-garbage: %s: %s\n", name, net_strerror(err));
            rc = 1;
            break;
        }
        r = evote__v1__api_response__unpack(NULL, rlen, resp);
        free(resp);
        resp = NULL;
        if (r == NULL) {
            printf("%s unparsable-answer\n", name);
            rc = 1;
            break;
        }
        printf("%s %d\n", name, (int)r->status);
        if (r->status == EVOTE__V1__API_STATUS__API_STATUS_OK) {
            fprintf(stderr, "cluster_tool client-garbage: %s was answered OK\n", name);
            rc = 1;
        }
        evote__v1__api_response__free_unpacked(r, NULL);
    }
    client_conn_destroy(&c);
    return rc;
}

/* ghost-ballots: validly signed ballots (each by a fresh key) for elections
 * that do not exist, from K threads at once (each with its own connection,
 * one ballot in flight each). Nothing may let them in: the chain would keep
 * their bytes on every validator. Prints "accepted A rejected R busy B". */
typedef struct {
    const char *node;
    const genesis *g;
    long count, accepted, rejected, busy, failed;
    int timeout_ms, thread;
} ghost_job;

static void *ghost_thread(void *arg)
{
    ghost_job *j = arg;
    client_conn *c = NULL;
    net_error why;

    if (client_conn_new(j->node, NULL, j->timeout_ms, &c, &why) != NET_OK) {
        j->failed = j->count;
        return NULL;
    }
    for (long k = 0; k < j->count; k++) {
        Evote__V1__TxBody tb = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__Ballot b = EVOTE__V1__BALLOT__INIT;
        Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
        Evote__V1__SubmitTx st = EVOTE__V1__SUBMIT_TX__INIT;
        Evote__V1__ApiResponse *r;
        signing_key *key = NULL;
        uint8_t enc[646], *tx = NULL, *buf, *resp = NULL;
        char id[64];
        size_t tx_len = 0, len, rlen = 0;

        snprintf(id, sizeof id, "no-such-election-%d-%ld", j->thread, k);
        memset(enc, 0x5a, sizeof enc);
        b.election_id = (ProtobufCBinaryData){strlen(id), (uint8_t *)id};
        b.encrypted_ballot = (ProtobufCBinaryData){sizeof enc, enc};
        tb.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_BALLOT;
        tb.ballot = &b;
        tb.chain_id = (ProtobufCBinaryData){CRYPTO_CHAIN_ID_LEN, (uint8_t *)j->g->chain_id};
        tb.created_ms = (uint64_t)time(NULL) * 1000u;
        if (signing_key_generate(&key) != CRYPTO_OK || crypto_random(&tb.nonce, sizeof tb.nonce) != CRYPTO_OK ||
            ledger_tx_seal(&tb, key, &tx, &tx_len) != CRYPTO_OK) {
            signing_key_destroy(&key);
            j->failed++;
            continue;
        }
        signing_key_destroy(&key);
        req.request_id = 1 + (uint64_t)k;
        req.call_case = EVOTE__V1__API_REQUEST__CALL_SUBMIT;
        req.submit = &st;
        st.tx = (ProtobufCBinaryData){tx_len, tx};
        len = evote__v1__api_request__get_packed_size(&req);
        buf = malloc(len);
        if (buf == NULL) {
            free(tx);
            j->failed++;
            continue;
        }
        evote__v1__api_request__pack(&req, buf);
        free(tx);
        if (client_conn_call(c, buf, len, &resp, &rlen) != NET_OK ||
            (r = evote__v1__api_response__unpack(NULL, rlen, resp)) == NULL) {
            free(buf);
            free(resp);
            j->failed++;
            continue;
        }
        free(buf);
        free(resp);
        if (r->status == EVOTE__V1__API_STATUS__API_STATUS_OK)
            j->accepted++;
        else if (r->status == EVOTE__V1__API_STATUS__API_STATUS_BUSY)
            j->busy++;
        else if (r->status == EVOTE__V1__API_STATUS__API_STATUS_REJECTED)
            j->rejected++;
        else
            j->failed++;
        evote__v1__api_response__free_unpacked(r, NULL);
    }
    client_conn_destroy(&c);
    return NULL;
}

static int cmd_ghost_ballots(const char *node, const char *genesis_path, long count, long threads, int timeout_ms)
{
    ghost_job jobs[16];
    pthread_t tids[16];
    genesis *g = NULL;
    genesis_error gerr;
    long accepted = 0, rejected = 0, busy = 0, failed = 0;

    if (threads < 1 || threads > 16) {
        fprintf(stderr, "cluster_tool ghost-ballots: --threads must be 1..16\n");
        return 2;
    }
    if (genesis_load(genesis_path, &g, &gerr) != LEDGER_OK) {
        fprintf(stderr, "cluster_tool ghost-ballots: cannot load %s\n", genesis_path);
        return 1;
    }
    for (long t = 0; t < threads; t++) {
        jobs[t] = (ghost_job){node, g, count / threads + (t < count % threads), 0, 0, 0, 0, timeout_ms, (int)t};
        if (pthread_create(&tids[t], NULL, ghost_thread, &jobs[t]) != 0) {
            fprintf(stderr, "cluster_tool ghost-ballots: cannot start a thread\n");
            exit(1);
        }
    }
    for (long t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        accepted += jobs[t].accepted;
        rejected += jobs[t].rejected;
        busy += jobs[t].busy;
        failed += jobs[t].failed;
    }
    genesis_destroy(&g);
    printf("accepted %ld rejected %ld busy %ld failed %ld\n", accepted, rejected, busy, failed);
    return failed == 0 ? 0 : 1;
}

/* junk-flood: `count` junk transactions in a row from one address, each
 * answered before the next. Prints "rejected R busy B", then the first
 * BUSY answer's reason. */
static int cmd_junk_flood(const char *node, long count, int timeout_ms)
{
    client_conn *c = NULL;
    net_error why;
    long rejected = 0, busy = 0;
    char first_busy[400] = "";
    int rc = 0;

    if (client_conn_new(node, NULL, timeout_ms, &c, &why) != NET_OK) {
        fprintf(stderr, "cluster_tool junk-flood: cannot connect to %s: %s\n", node, why.detail);
        return 1;
    }
    for (long k = 0; k < count && rc == 0; k++) {
        Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
        Evote__V1__SubmitTx st = EVOTE__V1__SUBMIT_TX__INIT;
        Evote__V1__ApiResponse *r;
        uint8_t junk[200], buf[512], *resp = NULL;
        size_t len, rlen = 0;
        net_err err;

        memset(junk, 0xa5, sizeof junk);
        junk[0] = 0xff; /* never parses as an Envelope */
        memcpy(junk + 1, &k, sizeof k);
        req.request_id = 1 + (uint64_t)k;
        req.call_case = EVOTE__V1__API_REQUEST__CALL_SUBMIT;
        req.submit = &st;
        st.tx.data = junk;
        st.tx.len = sizeof junk;
        len = evote__v1__api_request__pack(&req, buf);
        if ((err = client_conn_call(c, buf, len, &resp, &rlen)) != NET_OK) {
            fprintf(stderr, "cluster_tool junk-flood: request %ld: %s\n", k + 1, net_strerror(err));
            rc = 1;
            break;
        }
        r = evote__v1__api_response__unpack(NULL, rlen, resp);
        free(resp);
        if (r == NULL) {
            fprintf(stderr, "cluster_tool junk-flood: request %ld: an answer that does not parse\n", k + 1);
            rc = 1;
            break;
        }
        if (r->status == EVOTE__V1__API_STATUS__API_STATUS_BUSY) {
            if (busy++ == 0)
                snprintf(first_busy, sizeof first_busy, "%s", r->reason ? r->reason : "");
        } else if (r->status == EVOTE__V1__API_STATUS__API_STATUS_REJECTED) {
            rejected++;
        } else {
            fprintf(stderr, "cluster_tool junk-flood: request %ld: status %d (%s)\n", k + 1, (int)r->status,
                    r->reason ? r->reason : "");
            rc = 1;
        }
        evote__v1__api_response__free_unpacked(r, NULL);
    }
    printf("rejected %ld busy %ld\n%s\n", rejected, busy, first_busy);
    client_conn_destroy(&c);
    return rc;
}

static int cmd_read_flood(const char *node, long count, int timeout_ms)
{
    client_conn *c = NULL;
    net_error why;
    long answered = 0, busy = 0;
    int rc = 0;

    if (client_conn_new(node, NULL, timeout_ms, &c, &why) != NET_OK) {
        fprintf(stderr, "cluster_tool read-flood: cannot connect to %s: %s\n", node, why.detail);
        return 1;
    }
    for (long k = 0; k < count && rc == 0; k++) {
        Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
        Evote__V1__GetBlock gb = EVOTE__V1__GET_BLOCK__INIT;
        Evote__V1__ApiResponse *r;
        uint8_t buf[64], *resp = NULL;
        size_t len, rlen = 0;
        net_err err;

        req.request_id = 1 + (uint64_t)k;
        req.call_case = EVOTE__V1__API_REQUEST__CALL_GET_BLOCK;
        req.get_block = &gb;
        gb.height = 1;
        len = evote__v1__api_request__pack(&req, buf);
        if ((err = client_conn_call(c, buf, len, &resp, &rlen)) != NET_OK) {
            fprintf(stderr, "cluster_tool read-flood: request %ld: %s\n", k + 1, net_strerror(err));
            rc = 1;
            break;
        }
        r = evote__v1__api_response__unpack(NULL, rlen, resp);
        free(resp);
        if (r == NULL) {
            fprintf(stderr, "cluster_tool read-flood: request %ld: an answer that does not parse\n", k + 1);
            rc = 1;
            break;
        }
        if (r->status == EVOTE__V1__API_STATUS__API_STATUS_BUSY)
            busy++;
        else if (r->status == EVOTE__V1__API_STATUS__API_STATUS_OK ||
                 r->status == EVOTE__V1__API_STATUS__API_STATUS_NOT_FOUND)
            answered++;
        else {
            fprintf(stderr, "cluster_tool read-flood: request %ld: status %d (%s)\n", k + 1, (int)r->status,
                    r->reason ? r->reason : "");
            rc = 1;
        }
        evote__v1__api_response__free_unpacked(r, NULL);
    }
    printf("answered %ld busy %ld\n", answered, busy);
    client_conn_destroy(&c);
    return rc;
}

/* Signs `count` notices of text_bytes each with the authority key and
 * submits them all at once, pipelined on one DEALER (so they arrive
 * together), then collects the answers. Prints the id of every accepted one;
 * a summary goes to stderr. Exit 1 when answers are missing. */
static int cmd_flood(const char *node, const char *genesis_path, const char *authority_path, long count,
                     long text_bytes, int timeout_ms)
{
    genesis *g = NULL;
    genesis_error gwhy;
    signing_key *auth = NULL;
    void *ctx = NULL, *dealer = NULL;
    uint8_t (*ids)[CRYPTO_HASH_LEN] = NULL;
    char *text = NULL;
    long ok = 0, busy = 0, rejected = 0, other = 0, answered = 0;
    int zero = 0, rc = 1;
    uint64_t deadline;

    memset(&gwhy, 0, sizeof gwhy);
    if (genesis_load(genesis_path, &g, &gwhy) != LEDGER_OK || signing_key_load(authority_path, &auth) != CRYPTO_OK) {
        fprintf(stderr, "cluster_tool flood: cannot load %s or %s\n", genesis_path, authority_path);
        goto out;
    }
    ids = calloc((size_t)count, sizeof *ids);
    text = malloc((size_t)text_bytes + 1);
    if (ids == NULL || text == NULL)
        goto out;
    memset(text, 'x', (size_t)text_bytes);
    ctx = zmq_ctx_new();
    dealer = zmq_socket(ctx, ZMQ_DEALER);
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(dealer, ZMQ_SNDHWM, &zero, sizeof zero); /* no limit: queue them all */
    zmq_setsockopt(dealer, ZMQ_RCVHWM, &zero, sizeof zero);
    if (zmq_connect(dealer, node) != 0) {
        fprintf(stderr, "cluster_tool flood: cannot connect to %s\n", node);
        goto out;
    }
    for (long i = 0; i < count; i++) {
        Evote__V1__TxBody tb = EVOTE__V1__TX_BODY__INIT;
        Evote__V1__Notice notice = EVOTE__V1__NOTICE__INIT;
        Evote__V1__ApiRequest req = EVOTE__V1__API_REQUEST__INIT;
        Evote__V1__SubmitTx st = EVOTE__V1__SUBMIT_TX__INIT;
        uint8_t *tx = NULL, *buf;
        size_t tx_len = 0, len;

        notice.topic = "flood";
        notice.text.data = (uint8_t *)text;
        notice.text.len = (size_t)text_bytes;
        tb.chain_id.data = g->chain_id;
        tb.chain_id.len = CRYPTO_CHAIN_ID_LEN;
        tb.created_ms = (uint64_t)time(NULL) * 1000u;
        tb.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_NOTICE;
        tb.notice = &notice;
        if (crypto_random(&tb.nonce, sizeof tb.nonce) != CRYPTO_OK || ledger_tx_seal(&tb, auth, &tx, &tx_len) != CRYPTO_OK)
            goto out;
        envelope_txid(tx, tx_len, ids[i]);
        req.request_id = (uint64_t)i + 1;
        req.call_case = EVOTE__V1__API_REQUEST__CALL_SUBMIT;
        req.submit = &st;
        st.tx.data = tx;
        st.tx.len = tx_len;
        len = evote__v1__api_request__get_packed_size(&req);
        buf = malloc(len);
        if (buf == NULL) {
            free(tx);
            goto out;
        }
        evote__v1__api_request__pack(&req, buf);
        if (zmq_send(dealer, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(dealer, buf, len, 0) < 0) {
            fprintf(stderr, "cluster_tool flood: send: %s\n", zmq_strerror(zmq_errno()));
            free(buf);
            free(tx);
            goto out;
        }
        free(buf);
        free(tx);
    }
    deadline = mono_ms() + (uint64_t)timeout_ms;
    while (answered < count) {
        zmq_pollitem_t it = {dealer, 0, ZMQ_POLLIN, 0};
        uint64_t now = mono_ms();
        zmq_msg_t m;
        Evote__V1__ApiResponse *r;
        if (now >= deadline || zmq_poll(&it, 1, (long)(deadline - now)) <= 0)
            break;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, dealer, 0) < 0) { /* the empty delimiter */
            zmq_msg_close(&m);
            break;
        }
        if (zmq_msg_more(&m)) {
            zmq_msg_close(&m);
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, dealer, 0) < 0) {
                zmq_msg_close(&m);
                break;
            }
        }
        r = evote__v1__api_response__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        zmq_msg_close(&m);
        answered++;
        if (r == NULL) {
            other++;
            continue;
        }
        if (r->status == EVOTE__V1__API_STATUS__API_STATUS_OK && r->request_id >= 1 &&
            r->request_id <= (uint64_t)count) {
            char hex[2 * CRYPTO_HASH_LEN + 1];
            crypto_hex(ids[r->request_id - 1], CRYPTO_HASH_LEN, hex);
            printf("%s\n", hex);
            ok++;
        } else if (r->status == EVOTE__V1__API_STATUS__API_STATUS_BUSY) {
            busy++;
        } else if (r->status == EVOTE__V1__API_STATUS__API_STATUS_REJECTED) {
            rejected++;
        } else {
            other++;
        }
        evote__v1__api_response__free_unpacked(r, NULL);
    }
    fprintf(stderr, "cluster_tool flood: %ld sent, %ld answered: %ld accepted, %ld busy, %ld rejected, %ld other\n",
            count, answered, ok, busy, rejected, other);
    rc = answered == count ? 0 : 1;
out:
    if (dealer)
        zmq_close(dealer);
    if (ctx)
        zmq_ctx_term(ctx);
    free(ids);
    free(text);
    signing_key_destroy(&auth);
    genesis_destroy(&g);
    fflush(stdout);
    return rc;
}

/* ------------------------------------------------------ peer connections */

typedef struct {
    void *ctx, *dealer, *mon;
} peer_conn;

static void peer_conn_close(peer_conn *p, int linger_ms)
{
    if (p->dealer) {
        zmq_setsockopt(p->dealer, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
        zmq_close(p->dealer);
    }
    if (p->mon)
        zmq_close(p->mon);
    if (p->ctx)
        zmq_ctx_term(p->ctx);
    memset(p, 0, sizeof *p);
}

/* Reads one monitor event within timeout. Returns: the event, 0 on timeout. */
static int next_event(peer_conn *p, int timeout_ms, uint32_t *value)
{
    zmq_pollitem_t it = {p->mon, 0, ZMQ_POLLIN, 0};
    zmq_msg_t m;
    uint16_t ev;

    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return 0;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, p->mon, 0) < 0) {
        zmq_msg_close(&m);
        return 0;
    }
    memcpy(&ev, zmq_msg_data(&m), sizeof ev);
    memcpy(value, (uint8_t *)zmq_msg_data(&m) + 2, sizeof *value);
    while (zmq_msg_more(&m)) { /* the endpoint frame */
        zmq_msg_close(&m);
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, p->mon, 0) < 0)
            break;
    }
    zmq_msg_close(&m);
    return ev;
}

/* Connects a CURVE DEALER to endpoint with server key spub and our key
 * pair kp, and waits for the handshake's outcome.
 * Returns: "accepted", "refused" or "no-answer". */
static const char *peer_connect(peer_conn *p, const char *endpoint, const uint8_t spub[NET_CURVE_KEY_LEN],
                                const net_curve_keypair *kp, int wait_ms)
{
    static int counter;
    char mon_ep[64];
    uint64_t deadline = mono_ms() + (uint64_t)wait_ms;
    int zero = 0, ivl = 100;

    memset(p, 0, sizeof *p);
    p->ctx = zmq_ctx_new();
    p->dealer = zmq_socket(p->ctx, ZMQ_DEALER);
    zmq_setsockopt(p->dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(p->dealer, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(p->dealer, ZMQ_CURVE_SERVERKEY, spub, NET_CURVE_KEY_LEN);
    zmq_setsockopt(p->dealer, ZMQ_CURVE_PUBLICKEY, kp->public_key, NET_CURVE_KEY_LEN);
    zmq_setsockopt(p->dealer, ZMQ_CURVE_SECRETKEY, kp->secret_key, NET_CURVE_KEY_LEN);
    snprintf(mon_ep, sizeof mon_ep, "inproc://cluster-tool-mon-%d", counter++);
    if (zmq_socket_monitor(p->dealer, mon_ep, ZMQ_EVENT_ALL) != 0) {
        fprintf(stderr, "cluster_tool: zmq_socket_monitor: %s\n", zmq_strerror(zmq_errno()));
        return "no-answer";
    }
    p->mon = zmq_socket(p->ctx, ZMQ_PAIR);
    zmq_connect(p->mon, mon_ep);
    if (zmq_connect(p->dealer, endpoint) != 0) {
        fprintf(stderr, "cluster_tool: cannot connect to %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
        return "no-answer";
    }
    for (;;) {
        uint64_t now = mono_ms();
        uint32_t value = 0;
        int ev;
        if (now >= deadline)
            return "no-answer";
        ev = next_event(p, (int)(deadline - now), &value);
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            return "accepted";
        if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            fprintf(stderr, "cluster_tool: handshake refused by the server (ZAP status %u)\n", (unsigned)value);
            return "refused";
        }
        if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL || ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            fprintf(stderr, "cluster_tool: handshake failed (event 0x%x, value %u)\n", (unsigned)ev,
                    (unsigned)value);
            return "refused";
        }
    }
}

/* Waits for the connection to be cut by the server. Returns 1 if it was. */
static int wait_disconnect(peer_conn *p, int wait_ms)
{
    uint64_t deadline = mono_ms() + (uint64_t)wait_ms;
    for (;;) {
        uint64_t now = mono_ms();
        uint32_t value;
        int ev;
        if (now >= deadline)
            return 0;
        ev = next_event(p, (int)(deadline - now), &value);
        if (ev == ZMQ_EVENT_DISCONNECTED)
            return 1;
    }
}

static int send_bytes(peer_conn *p, const void *data, size_t len, int more)
{
    int rc = zmq_send(p->dealer, data, len, more ? ZMQ_SNDMORE : 0);
    if (rc < 0) {
        fprintf(stderr, "cluster_tool: zmq_send of %zu bytes: %s\n", len, zmq_strerror(zmq_errno()));
        return 0;
    }
    return 1;
}

/* A PeerMessage{envelope} around env. Out: malloc'ed bytes. */
static uint8_t *wrap(const uint8_t *env, size_t env_len, size_t *out_len)
{
    Evote__V1__PeerMessage pm = EVOTE__V1__PEER_MESSAGE__INIT;
    uint8_t *out;
    pm.envelope.data = (uint8_t *)env;
    pm.envelope.len = env_len;
    *out_len = evote__v1__peer_message__get_packed_size(&pm);
    out = malloc(*out_len);
    if (out)
        evote__v1__peer_message__pack(&pm, out);
    return out;
}

/* Seals body as kind with key; breaks the signature when bad.
 * Out: the PeerMessage bytes (malloc'ed). */
static uint8_t *seal_peer_message(Evote__V1__Kind kind, const uint8_t *body, size_t blen, const signing_key *key,
                                  int bad, size_t *out_len)
{
    Evote__V1__Envelope *e;
    uint8_t *env = NULL, *out;
    size_t elen = 0;

    if (envelope_seal(kind, body, blen, key, &env, &elen) != CRYPTO_OK)
        return NULL;
    if (bad) {
        e = evote__v1__envelope__unpack(NULL, elen, env);
        if (e == NULL || e->signature.len != CRYPTO_SIG_LEN) {
            free(env);
            return NULL;
        }
        e->signature.data[17] ^= 0x5a; /* still 64 bytes, no longer a signature */
        e->signature.data[40] ^= 0x01;
        evote__v1__envelope__pack(e, env); /* same size */
        evote__v1__envelope__free_unpacked(e, NULL);
    }
    out = wrap(env, elen, out_len);
    free(env);
    return out;
}

/* seal_peer_message of a body message m, packed here. */
static uint8_t *seal_peer_body(Evote__V1__Kind kind, const ProtobufCMessage *m, const signing_key *key, int bad,
                               size_t *out_len)
{
    size_t blen = protobuf_c_message_get_packed_size(m);
    uint8_t *body = malloc(blen ? blen : 1), *out;
    if (body == NULL)
        return NULL;
    protobuf_c_message_pack(m, body);
    out = seal_peer_message(kind, body, blen, key, bad, out_len);
    free(body);
    return out;
}

/* A RequestBatch (forwarded client transactions) from validator `replica`
 * carrying one fresh notice signed by the authority key; the envelope's
 * signature broken when bad. Out: PeerMessage bytes; txid, the notice's id. */
/* A REQUEST-BATCH from validator `replica` passing on n transactions,
 * signed with key (the signature broken when bad). Out: PeerMessage bytes
 * (malloc'ed). */
static uint8_t *pack_request_batch(const genesis *g, const signing_key *key, uint32_t replica, int bad,
                                   ProtobufCBinaryData *txs, size_t n, size_t *out_len)
{
    Evote__V1__RequestBatch rb = EVOTE__V1__REQUEST_BATCH__INIT;

    rb.chain_id.data = (uint8_t *)g->chain_id;
    rb.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    rb.n_txs = n;
    rb.txs = txs;
    rb.replica = replica;
    return seal_peer_body(EVOTE__V1__KIND__KIND_REQUEST_BATCH, &rb.base, key, bad, out_len);
}

static uint8_t *request_batch(const genesis *g, const signing_key *key, const signing_key *authority,
                              uint32_t replica, int bad, size_t *out_len, uint8_t txid[CRYPTO_HASH_LEN])
{
    Evote__V1__TxBody tb = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__Notice notice = EVOTE__V1__NOTICE__INIT;
    ProtobufCBinaryData txd;
    uint8_t *tx = NULL, *out;
    size_t tx_len = 0;
    struct timespec ts;
    static char text[] = "forwarded by cluster_tool";

    clock_gettime(CLOCK_REALTIME, &ts);
    notice.topic = "hostile";
    notice.text.data = (uint8_t *)text;
    notice.text.len = strlen(text);
    tb.chain_id.data = (uint8_t *)g->chain_id;
    tb.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    tb.created_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    tb.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_NOTICE;
    tb.notice = &notice;
    if (crypto_random(&tb.nonce, sizeof tb.nonce) != CRYPTO_OK || ledger_tx_seal(&tb, authority, &tx, &tx_len) != CRYPTO_OK)
        return NULL;
    envelope_txid(tx, tx_len, txid);
    txd.data = tx;
    txd.len = tx_len;
    out = pack_request_batch(g, key, replica, bad, &txd, 1, out_len);
    free(tx);
    return out;
}

/* A VIEW-CHANGE to `view` from validator `replica`, signed with key; the
 * signature broken when bad. Out: PeerMessage bytes (malloc'ed). */
static uint8_t *view_change(const genesis *g, const signing_key *key, uint32_t replica, uint64_t view, int bad,
                            size_t *out_len)
{
    Evote__V1__ViewChange vc = EVOTE__V1__VIEW_CHANGE__INIT;

    vc.chain_id.data = (uint8_t *)g->chain_id;
    vc.chain_id.len = CRYPTO_CHAIN_ID_LEN;
    vc.new_view = view;
    vc.stable_seq = 0;
    vc.replica = replica;
    return seal_peer_body(EVOTE__V1__KIND__KIND_VIEW_CHANGE, &vc.base, key, bad, out_len);
}

static int load_target(const char *genesis_path, uint32_t to, genesis **g, uint8_t spub[NET_CURVE_KEY_LEN])
{
    genesis_error why;
    memset(&why, 0, sizeof why);
    if (genesis_load(genesis_path, g, &why) != LEDGER_OK) {
        fprintf(stderr, "cluster_tool: genesis %s: %s (line %u)\n", genesis_path, why.reason, why.line);
        return 0;
    }
    if (to >= (*g)->n) {
        fprintf(stderr, "cluster_tool: no validator %u\n", to);
        return 0;
    }
    if (net_z85_decode((*g)->validators[to].curve_z85, spub) != NET_OK) {
        fprintf(stderr, "cluster_tool: bad CURVE key in the genesis\n");
        return 0;
    }
    return 1;
}

static int cmd_probe(const char *genesis_path, uint32_t to, const char *as, int wait_ms)
{
    genesis *g = NULL;
    uint8_t spub[NET_CURVE_KEY_LEN];
    net_curve_keypair kp;
    peer_conn p;
    const char *outcome;

    if (!load_target(genesis_path, to, &g, spub))
        return 1;
    if ((as ? net_curve_secret_load(as, &kp) : net_curve_keypair_generate(&kp)) != NET_OK) {
        fprintf(stderr, "cluster_tool: cannot get a CURVE key pair\n");
        return 1;
    }
    outcome = peer_connect(&p, g->validators[to].endpoint, spub, &kp, wait_ms);
    if (as == NULL) {
        /* Whatever the handshake did, try to get something through: a
         * junk message and a correctly formed (but unsigned-by-anyone)
         * PeerMessage. None of it may be delivered. */
        static const uint8_t junk[] = "hello from a key that is not in the genesis";
        int more = 0, rc;
        rc = zmq_send(p.dealer, junk, sizeof junk, ZMQ_DONTWAIT);
        (void)rc;
        rc = zmq_send(p.dealer, &more, sizeof more, ZMQ_DONTWAIT);
        (void)rc;
    }
    printf("%s\n", outcome);
    peer_conn_close(&p, 200);
    net_curve_keypair_wipe(&kp);
    genesis_destroy(&g);
    return 0;
}

static int cmd_inject(const char *genesis_path, uint32_t to, const char *as, const char *what, const char *key_path,
                      const char *authority_path, const char *txs_path, uint64_t view, int wait_ms)
{
    genesis *g = NULL;
    uint8_t spub[NET_CURVE_KEY_LEN];
    net_curve_keypair kp;
    signing_key *key = NULL;
    peer_conn p;
    const char *outcome;
    int ok = 1;
    uint32_t as_index = UINT32_MAX;
    char z85[NET_CURVE_Z85_LEN + 1];

    if (!load_target(genesis_path, to, &g, spub))
        return 1;
    if (net_curve_secret_load(as, &kp) != NET_OK) {
        fprintf(stderr, "cluster_tool: cannot load the CURVE key %s\n", as);
        return 1;
    }
    net_z85_encode(kp.public_key, z85);
    for (uint32_t i = 0; i < g->n; i++)
        if (strcmp(g->validators[i].curve_z85, z85) == 0)
            as_index = i;
    outcome = peer_connect(&p, g->validators[to].endpoint, spub, &kp, wait_ms);
    if (strcmp(outcome, "accepted") != 0) {
        fprintf(stderr, "cluster_tool inject: the connection as %s was not accepted (%s)\n", as, outcome);
        printf("%s\n", outcome);
        peer_conn_close(&p, 0);
        return 1;
    }
    if (strcmp(what, "garbage") == 0) {
        uint8_t junk[1000], zero = 0, *m;
        size_t len;
        static const uint8_t bad_env[] = {0x0a, 0x05, 0xde, 0xad, 0xbe, 0xef, 0x00};
        Evote__V1__Envelope e = EVOTE__V1__ENVELOPE__INIT;
        uint8_t sig[CRYPTO_SIG_LEN] = {1}, signer[CRYPTO_PUBKEY_LEN] = {2}, body[8] = {3};
        uint8_t ebuf[256];
        size_t elen;

        if (crypto_random(junk, sizeof junk) != CRYPTO_OK)
            memset(junk, 0xa5, sizeof junk);
        ok &= send_bytes(&p, junk, sizeof junk, 0);            /* random bytes */
        ok &= send_bytes(&p, junk, 1, 0);                      /* one byte */
        ok &= send_bytes(&p, &zero, 0, 0);                     /* an empty frame */
        ok &= send_bytes(&p, junk, 10, 1);                     /* a 3-part message */
        ok &= send_bytes(&p, junk + 10, 10, 1);
        ok &= send_bytes(&p, junk + 20, 10, 0);
        m = wrap(bad_env, sizeof bad_env, &len);               /* junk envelope */
        ok &= m != NULL && send_bytes(&p, m, len, 0);
        free(m);
        e.kind = (Evote__V1__Kind)99;                          /* unknown kind */
        e.body.data = body;
        e.body.len = sizeof body;
        e.signer.data = signer;
        e.signer.len = sizeof signer;
        e.signature.data = sig;
        e.signature.len = sizeof sig;
        elen = evote__v1__envelope__pack(&e, ebuf);
        m = wrap(ebuf, elen, &len);
        ok &= m != NULL && send_bytes(&p, m, len, 0);
        free(m);
        for (int i = 0; i < 5000; i++) {                       /* a burst of random lengths */
            size_t n = 1 + (size_t)(junk[i % sizeof junk] * 3);
            ok &= send_bytes(&p, junk, n, 0);
        }
        printf("sent-garbage\n");
    } else if (strcmp(what, "oversized") == 0) {
        size_t len = (size_t)NET_DEFAULT_MAX_MSG_SIZE + 1024;
        uint8_t *big = malloc(len);
        if (big == NULL)
            return 1;
        memset(big, 0x0a, len);
        ok &= send_bytes(&p, big, len, 0);
        free(big);
        printf("%s\n", wait_disconnect(&p, wait_ms) ? "disconnected" : "still-connected");
    } else if (strcmp(what, "badsig") == 0 || strcmp(what, "goodsig") == 0) {
        uint8_t *m;
        size_t len;
        if (key_path == NULL || view == 0 || as_index == UINT32_MAX) {
            fprintf(stderr, "cluster_tool inject: %s needs --key, --view and a validator's CURVE key\n", what);
            return usage();
        }
        if (signing_key_load(key_path, &key) != CRYPTO_OK) {
            fprintf(stderr, "cluster_tool: cannot load %s\n", key_path);
            return 1;
        }
        m = view_change(g, key, as_index, view, what[0] == 'b', &len);
        ok &= m != NULL && send_bytes(&p, m, len, 0);
        free(m);
        printf("sent-%s\n", what);
    } else if (strcmp(what, "badbatch") == 0 || strcmp(what, "goodbatch") == 0) {
        signing_key *auth = NULL;
        uint8_t *m, txid[CRYPTO_HASH_LEN];
        char hex[2 * CRYPTO_HASH_LEN + 1];
        size_t len;
        if (key_path == NULL || authority_path == NULL || as_index == UINT32_MAX) {
            fprintf(stderr, "cluster_tool inject: %s needs --key, --authority and a validator's CURVE key\n", what);
            return usage();
        }
        if (signing_key_load(key_path, &key) != CRYPTO_OK || signing_key_load(authority_path, &auth) != CRYPTO_OK) {
            fprintf(stderr, "cluster_tool: cannot load %s or %s\n", key_path, authority_path);
            return 1;
        }
        m = request_batch(g, key, auth, as_index, what[0] == 'b', &len, txid);
        signing_key_destroy(&auth);
        ok &= m != NULL && send_bytes(&p, m, len, 0);
        free(m);
        crypto_hex(txid, sizeof txid, hex);
        printf("%s\n", hex);
    } else if (strcmp(what, "forward") == 0) {
        /* What a faulty validator may pass on: transactions its own checks
         * would have refused (the receiver's mempool does not ask the state
         * about transactions another validator passed on). */
        ProtobufCBinaryData txs[64];
        size_t n = 0, len;
        char line[1 << 17];
        uint8_t *m, txid[CRYPTO_HASH_LEN];
        char hex[2 * CRYPTO_HASH_LEN + 1];
        FILE *f = txs_path != NULL ? fopen(txs_path, "r") : NULL;
        if (f == NULL || key_path == NULL || as_index == UINT32_MAX) {
            fprintf(stderr, "cluster_tool inject: forward needs --txs FILE (one hex transaction per line), --key "
                            "and a validator's CURVE key\n");
            if (f != NULL)
                fclose(f);
            return usage();
        }
        if (signing_key_load(key_path, &key) != CRYPTO_OK) {
            fprintf(stderr, "cluster_tool: cannot load %s\n", key_path);
            fclose(f);
            return 1;
        }
        while (n < 64 && fgets(line, sizeof line, f) != NULL) {
            size_t hl = strcspn(line, "\r\n");
            line[hl] = '\0';
            if (hl == 0 || hl % 2 != 0 || (txs[n].data = malloc(hl / 2)) == NULL)
                continue;
            txs[n].len = hl / 2;
            if (crypto_unhex(line, txs[n].data, txs[n].len) != CRYPTO_OK) {
                free(txs[n].data);
                continue;
            }
            envelope_txid(txs[n].data, txs[n].len, txid);
            crypto_hex(txid, sizeof txid, hex);
            printf("%s\n", hex);
            n++;
        }
        fclose(f);
        m = n > 0 ? pack_request_batch(g, key, as_index, 0, txs, n, &len) : NULL;
        ok &= m != NULL && send_bytes(&p, m, len, 0);
        free(m);
        for (size_t i = 0; i < n; i++)
            free(txs[i].data);
    } else {
        return usage();
    }
    /* Let the messages leave before closing (linger). */
    peer_conn_close(&p, 5000);
    signing_key_destroy(&key);
    net_curve_keypair_wipe(&kp);
    genesis_destroy(&g);
    return ok ? 0 : 1;
}

/* bad-dealing: the dealing of a dishonest trustee `me` (1-based, signed with
 * key_path), sealed and written to out_path for 'evote submit': commitments
 * and shares of a fresh polynomial, except that trustee `victim` gets a
 * random scalar instead of its share. The trustees' encryption keys come
 * from their directories, in trustee order ('ek', as 'evote trustee init'
 * writes it). */
static int cmd_bad_dealing(const char *genesis_path, const char *key_path, const char *id, uint32_t me,
                           uint32_t victim, const char *ek_dirs, uint32_t t, const char *out_path)
{
    uint8_t eks[16][EC_POINT_LEN], e[ELECTION_HASH_LEN], comm[16 * EC_POINT_LEN], pok[BC_PROOF_DLEQ_LEN],
        shares[16][DKG_SHARE_LEN], proofs[16][DKG_SHARE_PROOF_LEN], *tx = NULL;
    ProtobufCBinaryData cb[16], sb[16], pb[16];
    Evote__V1__TxBody body = EVOTE__V1__TX_BODY__INIT;
    Evote__V1__TrusteeDealing td = EVOTE__V1__TRUSTEE_DEALING__INIT;
    char dirs[4096], *save = NULL, *d;
    uint32_t n = 0;
    genesis *g = NULL;
    genesis_error why;
    signing_key *key = NULL;
    dkg_dealer *dealer = NULL;
    size_t len = 0;
    FILE *f;
    int ok = 0;

    if (genesis_load(genesis_path, &g, &why) != LEDGER_OK || signing_key_load(key_path, &key) != CRYPTO_OK) {
        fprintf(stderr, "cluster_tool bad-dealing: cannot load %s or %s\n", genesis_path, key_path);
        goto out;
    }
    snprintf(dirs, sizeof dirs, "%s", ek_dirs);
    for (d = strtok_r(dirs, ",", &save); d != NULL && n < 16; d = strtok_r(NULL, ",", &save)) {
        char path[4200], line[128];
        uint8_t b[EC_SCALAR_LEN];
        ec_scalar ek;
        ec_point p;
        snprintf(path, sizeof path, "%s/ek", d);
        f = fopen(path, "r");
        if (f != NULL && fgets(line, sizeof line, f) != NULL)
            line[strcspn(line, "\r\n")] = '\0';
        else
            line[0] = '\0';
        if (f == NULL || crypto_unhex(line, b, sizeof b) != CRYPTO_OK ||
            ec_scalar_parse(&ek, b) != BC_OK) {
            fprintf(stderr, "cluster_tool bad-dealing: cannot read the encryption key in %s\n", path);
            if (f)
                fclose(f);
            goto out;
        }
        fclose(f);
        ec_point_mul_base(&p, &ek);
        ec_point_encode(eks[n], &p);
        n++;
    }
    if (me < 1 || me > n || victim < 1 || victim > n || victim == me || t < 1 || t > n) {
        fprintf(stderr, "cluster_tool bad-dealing: need a dealer and a victim 1..%u, not the same, and 1 <= t <= %u\n",
                n, n);
        goto out;
    }
    election_hash(g->chain_id, (const uint8_t *)id, strlen(id), e);
    if (dkg_dealer_new(&dealer, e, n, t, me) != BC_OK || dkg_dealer_commitments(dealer, comm, pok) != BC_OK)
        goto out;
    for (uint32_t i = 1; i <= n; i++) {
        sb[i - 1] = (ProtobufCBinaryData){0, NULL};
        pb[i - 1] = (ProtobufCBinaryData){0, NULL};
        if (i == me)
            continue;
        if (i == victim) {
            ec_scalar wrong;
            if (ec_scalar_random(&wrong) != BC_OK ||
                dkg_encrypt_share_value(e, me, i, &wrong, eks[i - 1], shares[i - 1], proofs[i - 1]) != BC_OK)
                goto out;
        } else if (dkg_dealer_encrypt_share(dealer, i, eks[i - 1], shares[i - 1], proofs[i - 1]) != BC_OK) {
            goto out;
        }
        sb[i - 1] = (ProtobufCBinaryData){DKG_SHARE_LEN, shares[i - 1]};
        pb[i - 1] = (ProtobufCBinaryData){DKG_SHARE_PROOF_LEN, proofs[i - 1]};
    }
    for (uint32_t m = 0; m < t; m++)
        cb[m] = (ProtobufCBinaryData){EC_POINT_LEN, comm + (size_t)m * EC_POINT_LEN};
    td.election_id = (ProtobufCBinaryData){strlen(id), (uint8_t *)id};
    td.commitments = cb;
    td.n_commitments = t;
    td.encrypted_shares = sb;
    td.n_encrypted_shares = n;
    td.share_proofs = pb; /* the wrong share is still the dealer's own: its key is proven */
    td.n_share_proofs = n;
    td.proof = (ProtobufCBinaryData){sizeof pok, pok};
    body.payload_case = EVOTE__V1__TX_BODY__PAYLOAD_TRUSTEE_DEALING;
    body.trustee_dealing = &td;
    body.chain_id = (ProtobufCBinaryData){CRYPTO_CHAIN_ID_LEN, g->chain_id};
    body.created_ms = (uint64_t)time(NULL) * 1000u;
    if (crypto_random(&body.nonce, sizeof body.nonce) != CRYPTO_OK || ledger_tx_seal(&body, key, &tx, &len) != CRYPTO_OK)
        goto out;
    f = fopen(out_path, "wb");
    if (f == NULL || fwrite(tx, 1, len, f) != len) {
        fprintf(stderr, "cluster_tool bad-dealing: cannot write %s\n", out_path);
        if (f)
            fclose(f);
        goto out;
    }
    fclose(f);
    printf("trustee %u dealt to %u trustees, a wrong share to trustee %u\n", me, n - 1, victim);
    ok = 1;
out:
    free(tx);
    dkg_dealer_destroy(&dealer);
    signing_key_destroy(&key);
    genesis_destroy(&g);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *node = NULL, *genesis_path = NULL, *as = NULL, *what = NULL, *key = NULL, *authority = NULL,
               *id = NULL, *eks = NULL, *out = NULL, *code = NULL, *txs = NULL;
    uint64_t height = 0;
    long threshold = 0, dealer = 0;
    long to = -1, timeout = 5000, wait_ms = 3000, count = 0, text_bytes = 100, threads = 1;
    uint64_t view = 0;
    int fresh = 0;

    if (argc < 2)
        return usage();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--fresh") == 0) {
            fresh = 1;
            continue;
        }
        if (v == NULL)
            return usage();
        i++;
        if (strcmp(a, "--node") == 0)
            node = v;
        else if (strcmp(a, "--to") == 0)
            to = strtol(v, NULL, 10);
        else if (strcmp(a, "--timeout") == 0)
            timeout = strtol(v, NULL, 10);
        else if (strcmp(a, "--wait") == 0)
            wait_ms = strtol(v, NULL, 10);
        else if (strcmp(a, "--genesis") == 0)
            genesis_path = v;
        else if (strcmp(a, "--as") == 0)
            as = v;
        else if (strcmp(a, "--what") == 0)
            what = v;
        else if (strcmp(a, "--key") == 0)
            key = v;
        else if (strcmp(a, "--count") == 0)
            count = strtol(v, NULL, 10);
        else if (strcmp(a, "--threads") == 0)
            threads = strtol(v, NULL, 10);
        else if (strcmp(a, "--text-bytes") == 0)
            text_bytes = strtol(v, NULL, 10);
        else if (strcmp(a, "--authority") == 0)
            authority = v;
        else if (strcmp(a, "--txs") == 0)
            txs = v;
        else if (strcmp(a, "--view") == 0)
            view = strtoull(v, NULL, 10);
        else if (strcmp(a, "--id") == 0)
            id = v;
        else if (strcmp(a, "--eks") == 0)
            eks = v;
        else if (strcmp(a, "--out") == 0)
            out = v;
        else if (strcmp(a, "--threshold") == 0)
            threshold = strtol(v, NULL, 10);
        else if (strcmp(a, "--dealer") == 0)
            dealer = strtol(v, NULL, 10);
        else if (strcmp(a, "--code") == 0)
            code = v;
        else if (strcmp(a, "--height") == 0)
            height = strtoull(v, NULL, 10);
        else
            return usage();
    }
    if (strcmp(argv[1], "chain") == 0) {
        if (node == NULL || to < 0)
            return usage();
        return cmd_chain(node, (uint64_t)to, (int)timeout);
    }
    if (strcmp(argv[1], "flood") == 0) {
        if (node == NULL || genesis_path == NULL || authority == NULL || count < 1 || text_bytes < 0)
            return usage();
        return cmd_flood(node, genesis_path, authority, count, text_bytes, (int)timeout);
    }
    if (strcmp(argv[1], "read-flood") == 0) {
        if (node == NULL || count < 1)
            return usage();
        return cmd_read_flood(node, count, (int)timeout);
    }
    if (strcmp(argv[1], "ghost-ballots") == 0) {
        if (node == NULL || genesis_path == NULL || count < 1)
            return usage();
        return cmd_ghost_ballots(node, genesis_path, count, threads, (int)timeout);
    }
    if (strcmp(argv[1], "junk-flood") == 0) {
        if (node == NULL || count < 1)
            return usage();
        return cmd_junk_flood(node, count, (int)timeout);
    }
    if (strcmp(argv[1], "client-garbage") == 0) {
        if (node == NULL)
            return usage();
        return cmd_client_garbage(node, (int)timeout);
    }
    if (strcmp(argv[1], "txs") == 0) {
        if (node == NULL)
            return usage();
        return cmd_txs(node, (int)wait_ms, (int)timeout);
    }
    if (strcmp(argv[1], "probe") == 0) {
        if (genesis_path == NULL || to < 0 || (as == NULL) == (fresh == 0))
            return usage();
        return cmd_probe(genesis_path, (uint32_t)to, as, (int)wait_ms);
    }
    if (strcmp(argv[1], "inject") == 0) {
        if (genesis_path == NULL || to < 0 || as == NULL || what == NULL)
            return usage();
        return cmd_inject(genesis_path, (uint32_t)to, as, what, key, authority, txs, view, (int)wait_ms);
    }
    if (strcmp(argv[1], "bad-dealing") == 0) {
        if (genesis_path == NULL || key == NULL || id == NULL || to < 1 || dealer < 1 || eks == NULL || out == NULL ||
            threshold < 1)
            return usage();
        return cmd_bad_dealing(genesis_path, key, id, (uint32_t)dealer, (uint32_t)to, eks, (uint32_t)threshold, out);
    }
    if (strcmp(argv[1], "lie") == 0) {
        if (genesis_path == NULL || key == NULL || to < 0 || code == NULL || height == 0)
            return usage();
        return cmd_lie(genesis_path, key, (uint32_t)to, code, height);
    }
    return usage();
}
