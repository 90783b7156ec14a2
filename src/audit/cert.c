/* Commit certificates as the auditor reports them: the consensus layer's
 * replica_certificate_check (the one check every component uses), with who
 * signed and, for the report, the first thing wrong in words. */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "replica.h"

/* The first COMMIT that did not count, said with the validator's name. */
static void first_problem(const genesis *g, const replica_cert_report *r, char *why, size_t len)
{
    why[0] = '\0';
    for (size_t i = 0; i < r->n_listed; i++) {
        int32_t v = r->listed[i].validator;
        const char *name = v >= 0 ? g->validators[v].name : "";
        switch (r->listed[i].status) {
        case REPLICA_COMMIT_COUNTED: continue;
        case REPLICA_COMMIT_NOT_SIGNED: snprintf(why, len, "COMMIT %zu is not a signed COMMIT envelope", i); return;
        case REPLICA_COMMIT_STRANGER:
            snprintf(why, len, "COMMIT %zu is signed by a key that is not a validator", i);
            return;
        case REPLICA_COMMIT_DUPLICATE: snprintf(why, len, "validator %s signed twice (counted once)", name); return;
        case REPLICA_COMMIT_UNPARSABLE: snprintf(why, len, "the COMMIT of %s does not parse", name); return;
        case REPLICA_COMMIT_MISMATCH:
            snprintf(why, len, "the COMMIT of %s is for another view, seq, batch or chain", name);
            return;
        case REPLICA_COMMIT_BAD_SIGNATURE:
            snprintf(why, len, "the signature of %s's COMMIT does not verify", name);
            return;
        }
    }
}

int audit_cert_check(const genesis *g, const uint8_t *cert, size_t cert_len, uint64_t height,
                     const uint8_t digest[CRYPTO_HASH_LEN], audit_cert_verdict *v)
{
    static const replica_callbacks cb = {.verify = replica_verify_plain};
    uint8_t keys[GENESIS_MAX_VALIDATORS][CRYPTO_PUBKEY_LEN];
    replica_cert_report r;
    char first[120];
    int ok;

    memset(v, 0, sizeof *v);
    v->needed = 2 * g->f + 1;
    for (uint32_t i = 0; i < g->n && i < GENESIS_MAX_VALIDATORS; i++)
        memcpy(keys[i], g->validators[i].pubkey, CRYPTO_PUBKEY_LEN);
    ok = replica_certificate_check(g->n, (const uint8_t(*)[CRYPTO_PUBKEY_LEN])keys, g->chain_id, &cb, cert,
                                   cert_len, height, digest, &r);
    v->signers = r.signers;
    for (uint32_t i = 0; i < g->n && i < GENESIS_MAX_VALIDATORS && i < REPLICA_MAX_N; i++)
        v->signed_by[i] = r.signed_by[i];
    switch (r.fault) {
    case REPLICA_CERT_VALID:
        first_problem(g, &r, first, sizeof first);
        if (first[0]) { /* a validator stores only COMMITs it checked (state transfer drops the rest) */
            snprintf(v->why, sizeof v->why, "the commit certificate holds a COMMIT that does not count (%.80s); "
                     "validators store only COMMITs they checked", first);
            ok = 0;
        }
        break;
    case REPLICA_CERT_TOO_MANY:
        snprintf(v->why, sizeof v->why, "the commit certificate holds more COMMITs than there are validators");
        break;
    case REPLICA_CERT_UNPARSABLE: snprintf(v->why, sizeof v->why, "the commit certificate does not parse"); break;
    case REPLICA_CERT_OTHER_SEQ:
        snprintf(v->why, sizeof v->why, "the commit certificate is for seq %llu, not this height",
                 (unsigned long long)r.seq);
        break;
    case REPLICA_CERT_OTHER_BATCH:
        snprintf(v->why, sizeof v->why, "the commit certificate certifies another batch than this block's");
        break;
    case REPLICA_CERT_TOO_FEW:
        first_problem(g, &r, first, sizeof first);
        snprintf(v->why, sizeof v->why, "only %u distinct validators signed the commit certificate, %u needed%s%s",
                 r.signers, v->needed, first[0] ? ": " : "", first);
        break;
    }
    return ok;
}
