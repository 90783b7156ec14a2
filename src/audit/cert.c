/* Commit certificates as the auditor checks them: 2f+1 signed COMMITs of
 * distinct genesis validators for exactly this block. Unlike
 * replica_certificate_valid (a yes/no for consensus), it says who signed and
 * what is wrong, for the report. */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "consensus.pb-c.h"

int audit_cert_check(const genesis *g, const uint8_t *cert, size_t cert_len, uint64_t height,
                     const uint8_t digest[CRYPTO_HASH_LEN], audit_cert_verdict *v)
{
    Evote__V1__CommitCertificate *c;
    int ok = 0;

    memset(v, 0, sizeof *v);
    v->needed = 2 * g->f + 1;
    c = evote__v1__commit_certificate__unpack(NULL, cert_len, cert);
    if (c == NULL) {
        snprintf(v->why, sizeof v->why, "the commit certificate does not parse");
        return 0;
    }
    if (c->seq != height) {
        snprintf(v->why, sizeof v->why, "the commit certificate is for seq %llu, not this height",
                 (unsigned long long)c->seq);
        goto out;
    }
    if (c->digest.len != CRYPTO_HASH_LEN || memcmp(c->digest.data, digest, CRYPTO_HASH_LEN) != 0) {
        snprintf(v->why, sizeof v->why, "the commit certificate certifies another batch than this block's");
        goto out;
    }
    for (size_t i = 0; i < c->n_commits; i++) {
        const Evote__V1__Envelope *e = c->commits[i];
        Evote__V1__Commit *b;
        int idx, good;

        if (e->kind != EVOTE__V1__KIND__KIND_COMMIT || e->signer.len != CRYPTO_PUBKEY_LEN ||
            e->signature.len != CRYPTO_SIG_LEN) {
            if (!v->why[0])
                snprintf(v->why, sizeof v->why, "COMMIT %zu is not a signed COMMIT envelope", i);
            continue;
        }
        idx = genesis_validator_index(g, e->signer.data);
        if (idx < 0) {
            if (!v->why[0])
                snprintf(v->why, sizeof v->why, "COMMIT %zu is signed by a key that is not a validator", i);
            continue;
        }
        if (v->signed_by[idx]) {
            if (!v->why[0])
                snprintf(v->why, sizeof v->why, "validator %s signed twice (counted once)",
                         g->validators[idx].name);
            continue;
        }
        b = evote__v1__commit__unpack(NULL, e->body.len, e->body.data);
        if (b == NULL) {
            if (!v->why[0])
                snprintf(v->why, sizeof v->why, "the COMMIT of %s does not parse", g->validators[idx].name);
            continue;
        }
        good = b->replica == (uint32_t)idx && b->view == c->view && b->seq == c->seq &&
               b->digest.len == CRYPTO_HASH_LEN && memcmp(b->digest.data, c->digest.data, CRYPTO_HASH_LEN) == 0 &&
               b->chain_id.len == CRYPTO_CHAIN_ID_LEN &&
               memcmp(b->chain_id.data, g->chain_id, CRYPTO_CHAIN_ID_LEN) == 0;
        evote__v1__commit__free_unpacked(b, NULL);
        if (!good) {
            if (!v->why[0])
                snprintf(v->why, sizeof v->why, "the COMMIT of %s is for another view, seq, batch or chain",
                         g->validators[idx].name);
            continue;
        }
        if (envelope_verify(e, EVOTE__V1__KIND__KIND_COMMIT) != CRYPTO_OK) {
            if (!v->why[0])
                snprintf(v->why, sizeof v->why, "the signature of %s's COMMIT does not verify",
                         g->validators[idx].name);
            continue;
        }
        v->signed_by[idx] = 1;
        v->signers++;
    }
    ok = v->signers >= v->needed;
    if (!ok) {
        char first[100];
        snprintf(first, sizeof first, "%.99s", v->why);
        snprintf(v->why, sizeof v->why, "only %u distinct validators signed the commit certificate, %u needed%s%s",
                 v->signers, v->needed, first[0] ? ": " : "", first);
    }
out:
    evote__v1__commit_certificate__free_unpacked(c, NULL);
    return ok;
}
