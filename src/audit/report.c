/* The audit report: recording failures, and rendering for people (text)
 * and for programs (JSON). Pure: no file or network access beyond `out`. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

void audit_fail(audit_report *r, uint64_t height, const uint8_t *tx_id, const char *election, const char *fmt, ...)
{
    va_list ap;
    r->n_failures++;
    if (election != NULL)
        for (size_t i = 0; i < r->n_elections; i++)
            if (strcmp(r->elections[i].id, election) == 0)
                r->elections[i].failures++;
    if (r->n_failures_kept >= AUDIT_MAX_FAILURES)
        return;
    audit_failure *f = &r->failures[r->n_failures_kept++];
    memset(f, 0, sizeof *f);
    f->height = height;
    if (tx_id != NULL) {
        f->has_tx = 1;
        memcpy(f->tx_id, tx_id, CRYPTO_HASH_LEN);
    }
    if (election != NULL)
        snprintf(f->election, sizeof f->election, "%s", election);
    va_start(ap, fmt);
    vsnprintf(f->what, sizeof f->what, fmt, ap);
    va_end(ap);
}

void audit_report_free(audit_report *r)
{
    for (size_t i = 0; i < r->n_elections; i++) {
        for (size_t k = 0; k < r->elections[i].n_options; k++)
            free(r->elections[i].options[k]);
        free(r->elections[i].options);
        free(r->elections[i].registrars);
    }
    free(r->elections);
    r->elections = NULL;
    r->n_elections = 0;
}

static const char *reason_name(int code)
{
    const char *s = protobuf_c_enum_descriptor_get_value(&evote__v1__tx_result__descriptor, code)
                        ? protobuf_c_enum_descriptor_get_value(&evote__v1__tx_result__descriptor, code)->name
                        : NULL;
    return s ? s : "UNKNOWN";
}

static const char *stmt_status_name(int s)
{
    return s == EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_COUNTED    ? "COUNTED"
           : s == EVOTE__V1__TRACKING_RECORD__STATUS__STATUS_REPLACED ? "REPLACED"
                                                                      : "neither COUNTED nor REPLACED";
}

static const char *track_status_name(int s)
{
    return s == 1 ? "COUNTED" : s == 2 ? "SUPERSEDED" : s == 3 ? "REJECTED" : "NOT_A_BALLOT";
}

static void failure_text(const audit_failure *f, FILE *out)
{
    char id[2 * CRYPTO_HASH_LEN + 1];
    fputs("  FAILED", out);
    if (f->height)
        fprintf(out, " height %llu", (unsigned long long)f->height);
    if (f->has_tx) {
        crypto_hex(f->tx_id, CRYPTO_HASH_LEN, id);
        fprintf(out, " tx %s", id);
    }
    if (f->election[0])
        fprintf(out, " election %s", f->election);
    fprintf(out, ": %s\n", f->what);
}

void audit_report_text(const audit_report *r, FILE *out)
{
    fprintf(out, "chain %s (%.16s...), blocks 1..%llu, tip %.16s...\n", r->chain_name, r->chain_id,
             (unsigned long long)r->height, r->tip_hash);
    fprintf(out, "checked: %llu transactions, %llu signatures, %llu ballot proofs, on %u threads in %.2f s\n",
            (unsigned long long)r->transactions, (unsigned long long)r->signatures,
            (unsigned long long)r->ballot_proofs, r->threads, r->seconds);
    fprintf(out, "checkpoint proofs: %llu, each 2f+1 validators' signatures over its block's hash (clients "
                 "use them to certify results)",
            (unsigned long long)r->checkpoints);
    if (r->checkpoints_above_tip)
        fprintf(out, "; %llu above the tip, not checked", (unsigned long long)r->checkpoints_above_tip);
    fputc('\n', out);
    fprintf(out, "seal: %s\n",
            r->seal > 0   ? "data.mdb is byte for byte the file evote snapshot wrote"
            : r->seal == 0 ? "none (an mdb_copy copy: bytes outside the records are not covered)"
                           : "DOES NOT MATCH data.mdb");
    for (size_t i = 0; i < r->n_elections; i++) {
        const audit_election *e = &r->elections[i];
        uint64_t rejected = 0;
        for (int c = 0; c < AUDIT_RESULT_CODES; c++)
            rejected += e->rejected[c];
        fprintf(out, "\nelection %s%s%s%s\n", e->id, e->title[0] ? " \"" : "", e->title, e->title[0] ? "\"" : "");
        if (!e->defined)
            fputs("  (never created on this chain)\n", out);
        fprintf(out, "  trustees %u, threshold %u, qualified dealers %u, %s\n", e->trustees, e->threshold,
                e->qualified, e->closed ? "closed" : "not closed");
        fprintf(out, "  key vouched for by %u validator%s ('evote vote' wants f+1)\n", e->vouched,
                e->vouched == 1 ? "" : "s");
        fprintf(out, "  voters registered  %llu", (unsigned long long)e->voters_registered);
        if (e->roll_end_height)
            fprintf(out, " (roll frozen after height %llu)", (unsigned long long)e->roll_end_height);
        else if (e->roll_end_time_ms)
            fprintf(out, " (roll frozen after block time %llu ms)", (unsigned long long)e->roll_end_time_ms);
        if (e->roll_at_opening)
            fputs(e->roll_end_height || e->roll_end_time_ms ? " (or when the polls open, if earlier)"
                                                            : " (roll frozen when the polls open)",
                  out);
        fputc('\n', out);
        for (size_t k = 0; k < e->n_registrars; k++)
            fprintf(out, "    by %-15s %llu key%s (%llu after the first ballot)\n", e->registrars[k].authority,
                    (unsigned long long)e->registrars[k].keys, e->registrars[k].keys == 1 ? "" : "s",
                    (unsigned long long)e->registrars[k].after_first_ballot);
        fprintf(out, "  ballots cast       %llu\n", (unsigned long long)e->ballots_cast);
        fprintf(out, "  ballots counted    %llu\n", (unsigned long long)e->ballots_counted);
        fprintf(out, "  superseded         %llu (replaced by the same voter's later ballot)\n",
                (unsigned long long)e->ballots_superseded);
        fprintf(out, "  rejected           %llu\n", (unsigned long long)rejected);
        for (int c = 0; c < AUDIT_RESULT_CODES; c++)
            if (e->rejected[c])
                fprintf(out, "    %-28s %llu\n", reason_name(c), (unsigned long long)e->rejected[c]);
        if (e->has_result) {
            fprintf(out, "  result (height %llu, trustees", (unsigned long long)e->result_height);
            for (size_t k = 0; k < e->n_result_trustees; k++)
                fprintf(out, " %u", e->result_trustees[k]);
            fprintf(out, ", vouched for by %u validator%s):\n", e->result_vouched, e->result_vouched == 1 ? "" : "s");
            for (size_t k = 0; k < e->n_options; k++)
                fprintf(out, "    %-30s %llu\n", e->options[k], (unsigned long long)e->counts[k]);
        } else
            fputs("  result             none on this chain yet\n", out);
        fprintf(out, "  %s\n", e->failures ? "FAILED: see the failures below" : "VERIFIED");
    }
    if (r->track_asked) {
        char code[2 * CRYPTO_HASH_LEN + 1], by[2 * CRYPTO_HASH_LEN + 1];
        crypto_hex(r->track_code, CRYPTO_HASH_LEN, code);
        fprintf(out, "\ntracking code %s\n", code);
        if (!r->track_found)
            fputs("  not in this snapshot\n", out);
        else {
            fprintf(out, "  in block %llu (transaction %u), election %s\n", (unsigned long long)r->track_height,
                    r->track_index, r->track_election);
            fprintf(out, "  certificate signed by %s\n", r->track_signers);
            fprintf(out, "  %s", track_status_name(r->track_status));
            if (r->track_status == 2) {
                crypto_hex(r->track_replaced_by, CRYPTO_HASH_LEN, by);
                fprintf(out, ": replaced by %s", by);
            } else if (r->track_status == 3)
                fprintf(out, ": %s", reason_name(r->track_result));
            fputc('\n', out);
        }
    }
    if (r->stmt_asked) {
        char code[2 * CRYPTO_HASH_LEN + 1];
        crypto_hex(r->stmt_code, CRYPTO_HASH_LEN, code);
        fprintf(out, "\nstatement\n");
        if (r->stmt_validator[0])
            fprintf(out, "  by %s: ballot %s at height %llu is %s, polls %s\n", r->stmt_validator, code,
                    (unsigned long long)r->stmt_height, stmt_status_name(r->stmt_status),
                    r->stmt_polls_closed ? "closed" : "open");
        fprintf(out, "  %s: %s\n",
                r->stmt_verdict > 0    ? "TRUE per this chain"
                : r->stmt_verdict == 0 ? "FALSE per this chain: the validator signed what the chain contradicts"
                                       : "NOT JUDGED",
                r->stmt_why);
    }
    fputc('\n', out);
    for (size_t i = 0; i < r->n_failures_kept; i++)
        failure_text(&r->failures[i], out);
    if (r->n_failures > r->n_failures_kept)
        fprintf(out, "  ... and %llu more failures\n", (unsigned long long)(r->n_failures - r->n_failures_kept));
    if (r->n_failures == 0)
        fputs("VERIFIED: every block, certificate, transaction, ballot and result checks out\n", out);
    else
        fprintf(out, "VERIFICATION FAILED: %llu problem%s found\n", (unsigned long long)r->n_failures,
                r->n_failures == 1 ? "" : "s");
}

/* JSON string: escapes quotes, backslashes and control bytes. */
static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

void audit_report_json(const audit_report *r, FILE *out)
{
    fputs("{\"verified\":", out);
    fputs(r->n_failures == 0 ? "true" : "false", out);
    fputs(",\"chain_name\":", out);
    json_str(out, r->chain_name);
    fprintf(out, ",\"chain_id\":\"%s\",\"height\":%llu,\"tip_hash\":\"%s\",\"transactions\":%llu,"
                 "\"signatures\":%llu,\"ballot_proofs\":%llu,\"checkpoint_proofs\":%llu,\"threads\":%u,\"seal\":\"%s\",\"seconds\":%.3f,\"sequential_cpu_seconds\":%.3f,\"elections\":[",
            r->chain_id, (unsigned long long)r->height, r->tip_hash, (unsigned long long)r->transactions,
            (unsigned long long)r->signatures, (unsigned long long)r->ballot_proofs,
            (unsigned long long)r->checkpoints, r->threads,
            r->seal > 0 ? "matches" : r->seal == 0 ? "absent" : "mismatch", r->seconds,
            r->sequential_cpu);
    for (size_t i = 0; i < r->n_elections; i++) {
        const audit_election *e = &r->elections[i];
        int first = 1;
        fputs(i ? ",{\"id\":" : "{\"id\":", out);
        json_str(out, e->id);
        fputs(",\"title\":", out);
        json_str(out, e->title);
        fprintf(out, ",\"verified\":%s,\"failures\":%llu,\"trustees\":%u,\"threshold\":%u,\"closed\":%s,"
                     "\"key_vouched_by\":%u,\"voters_registered\":%llu,\"ballots_cast\":%llu,\"ballots_accepted\":%llu,"
                     "\"ballots_counted\":%llu,\"ballots_superseded\":%llu,\"rejected\":{",
                e->failures ? "false" : "true", (unsigned long long)e->failures, e->trustees, e->threshold,
                e->closed ? "true" : "false", e->vouched, (unsigned long long)e->voters_registered,
                (unsigned long long)e->ballots_cast, (unsigned long long)e->ballots_accepted,
                (unsigned long long)e->ballots_counted, (unsigned long long)e->ballots_superseded);
        for (int c = 0; c < AUDIT_RESULT_CODES; c++)
            if (e->rejected[c]) {
                fprintf(out, "%s\"%s\":%llu", first ? "" : ",", reason_name(c), (unsigned long long)e->rejected[c]);
                first = 0;
            }
        fputs("},", out);
        if (e->roll_end_height)
            fprintf(out, "\"roll_frozen_after\":{\"height\":%llu},", (unsigned long long)e->roll_end_height);
        else if (e->roll_end_time_ms)
            fprintf(out, "\"roll_frozen_after\":{\"time_ms\":%llu},", (unsigned long long)e->roll_end_time_ms);
        else
            fputs("\"roll_frozen_after\":null,", out);
        fprintf(out, "\"roll_frozen_at_opening\":%s,", e->roll_at_opening ? "true" : "false");
        fputs("\"registered_by\":[", out);
        for (size_t k = 0; k < e->n_registrars; k++) {
            fputs(k ? ",{\"authority\":" : "{\"authority\":", out);
            json_str(out, e->registrars[k].authority);
            fprintf(out, ",\"keys\":%llu,\"after_first_ballot\":%llu}", (unsigned long long)e->registrars[k].keys,
                    (unsigned long long)e->registrars[k].after_first_ballot);
        }
        fputs("],\"result\":", out);
        if (!e->has_result)
            fputs("null", out);
        else {
            fprintf(out, "{\"height\":%llu,\"vouched_by\":%u,\"trustees\":[", (unsigned long long)e->result_height,
                    e->result_vouched);
            for (size_t k = 0; k < e->n_result_trustees; k++)
                fprintf(out, "%s%u", k ? "," : "", e->result_trustees[k]);
            fputs("],\"counts\":[", out);
            for (size_t k = 0; k < e->n_options; k++) {
                fputs(k ? ",{\"option\":" : "{\"option\":", out);
                json_str(out, e->options[k]);
                fprintf(out, ",\"count\":%llu}", (unsigned long long)e->counts[k]);
            }
            fputs("]}", out);
        }
        fputc('}', out);
    }
    fputs("],\"failures\":[", out);
    for (size_t i = 0; i < r->n_failures_kept; i++) {
        const audit_failure *f = &r->failures[i];
        char id[2 * CRYPTO_HASH_LEN + 1];
        fprintf(out, "%s{\"height\":%llu,\"tx\":", i ? "," : "", (unsigned long long)f->height);
        if (f->has_tx) {
            crypto_hex(f->tx_id, CRYPTO_HASH_LEN, id);
            fprintf(out, "\"%s\"", id);
        } else
            fputs("null", out);
        fputs(",\"election\":", out);
        if (f->election[0])
            json_str(out, f->election);
        else
            fputs("null", out);
        fputs(",\"what\":", out);
        json_str(out, f->what);
        fputc('}', out);
    }
    fprintf(out, "],\"failure_count\":%llu", (unsigned long long)r->n_failures);
    if (r->track_asked) {
        char code[2 * CRYPTO_HASH_LEN + 1], by[2 * CRYPTO_HASH_LEN + 1];
        crypto_hex(r->track_code, CRYPTO_HASH_LEN, code);
        fprintf(out, ",\"track\":{\"code\":\"%s\",\"found\":%s", code, r->track_found ? "true" : "false");
        if (r->track_found) {
            fprintf(out, ",\"height\":%llu,\"index\":%u,\"election\":", (unsigned long long)r->track_height,
                    r->track_index);
            json_str(out, r->track_election);
            fprintf(out, ",\"status\":\"%s\",\"result\":\"%s\",\"signers\":", track_status_name(r->track_status),
                    reason_name(r->track_result));
            json_str(out, r->track_signers);
            if (r->track_status == 2) {
                crypto_hex(r->track_replaced_by, CRYPTO_HASH_LEN, by);
                fprintf(out, ",\"replaced_by\":\"%s\"", by);
            }
        }
        fputc('}', out);
    }
    if (r->stmt_asked) {
        char code[2 * CRYPTO_HASH_LEN + 1];
        crypto_hex(r->stmt_code, CRYPTO_HASH_LEN, code);
        fputs(",\"statement\":{\"validator\":", out);
        json_str(out, r->stmt_validator);
        fprintf(out, ",\"code\":\"%s\",\"height\":%llu,\"status\":\"%s\",\"polls_closed\":%s,\"verdict\":\"%s\",\"why\":",
                code, (unsigned long long)r->stmt_height, stmt_status_name(r->stmt_status),
                r->stmt_polls_closed ? "true" : "false",
                r->stmt_verdict > 0 ? "true" : r->stmt_verdict == 0 ? "false" : "not judged");
        json_str(out, r->stmt_why);
        fputc('}', out);
    }
    fputs("}\n", out);
}
