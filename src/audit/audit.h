/* evote-audit: offline re-verification of a whole election from an LMDB
 * snapshot of one validator's chain store and the genesis file. No
 * networking: the auditor trusts no validator, only the genesis.
 *
 * audit_run() reads the snapshot read-only, checks the chain, every commit
 * certificate and every transaction, re-executes every block from an empty
 * state with the validators' own execution code (src/ledger, src/election),
 * compares the recorded result codes and the final state database with the
 * re-execution, and re-checks each election independently (counted ballots,
 * homomorphic tally, trustees' decryption shares, published counts). The
 * findings are an audit_report; rendering it (text, JSON) is pure. */
#ifndef EVOTE_AUDIT_H
#define EVOTE_AUDIT_H

#include <stdint.h>
#include <stdio.h>

#include "crypto.h"
#include "election.h"
#include "ledger.h"

/* Exit codes of evote-audit (also in --help and README). */
#define AUDIT_EXIT_VERIFIED 0 /* everything verifies */
#define AUDIT_EXIT_FAILED 1   /* verification failed: see the report */
#define AUDIT_EXIT_INPUT 2    /* cannot read input: snapshot missing, corrupt or truncated; bad genesis */
#define AUDIT_EXIT_NOT_FOUND 3 /* --track: no ballot with this tracking code in the snapshot;
                                  --statement: the snapshot ends below the statement's height */
#define AUDIT_EXIT_FALSE_STATEMENT 4 /* --statement: the validator signed what the chain contradicts */
#define AUDIT_STATEMENT_MAX 256
#define AUDIT_EXIT_USAGE 64   /* bad arguments */

#define AUDIT_MAX_FAILURES 50 /* kept in the report (all are counted) */
#define AUDIT_RESULT_CODES 32 /* TxResult codes counted per reason */

typedef struct {
    uint64_t height;                 /* 0: not about one block */
    int has_tx;
    uint8_t tx_id[CRYPTO_HASH_LEN];
    char election[2 * ELECTION_MAX_ID + 1]; /* "" when not about one election */
    char what[320];
} audit_failure;

/* Who put voter keys on an election's roll: registration is any
 * authority's, so the roll is accountable only if the audit says who. */
typedef struct {
    char authority[GENESIS_MAX_NAME + 1]; /* the signer's name in the genesis */
    uint64_t keys;                     /* voter keys in its accepted registrations */
    uint64_t after_first_ballot;       /* of them, registered after the election's first accepted ballot */
} audit_registrar;

typedef struct {
    char id[2 * ELECTION_MAX_ID + 1];  /* printable id (hex when not printable) */
    char title[LEDGER_MAX_TITLE + 1];
    int defined;                       /* an ElectionCreate executed OK */
    uint64_t voters_registered;
    uint64_t roll_end_height, roll_end_time_ms; /* the definition's registration deadline (0: none) */
    int roll_at_opening;               /* the definition freezes the roll when the polls open */
    audit_registrar *registrars;       /* in order of first registration (malloc'ed) */
    size_t n_registrars;
    uint64_t ballots_cast;             /* ballot transactions naming this election */
    uint64_t ballots_accepted;         /* result OK (replaced ones too) */
    uint64_t ballots_counted;          /* voters whose last accepted ballot is in the tally */
    uint64_t ballots_superseded;       /* accepted, then replaced by the same voter's later ballot */
    uint64_t rejected[AUDIT_RESULT_CODES]; /* ballots refused, by TxResult code */
    uint32_t trustees, threshold, qualified;
    uint32_t vouched;                  /* validators whose attestation of the key verifies */
    uint32_t result_vouched;           /* ... of the result */
    int closed;
    int has_result;
    size_t n_options;                  /* over all questions */
    char **options;                    /* "question: option" names, n_options */
    uint64_t counts[ELECTION_MAX_SLOTS];
    uint32_t result_trustees[ELECTION_MAX_SLOTS];
    size_t n_result_trustees;
    uint64_t result_height;
    uint64_t failures;                 /* failures attributed to this election */
} audit_election;

typedef struct {
    char chain_name[GENESIS_MAX_NAME + 1];
    char chain_id[2 * CRYPTO_CHAIN_ID_LEN + 1];
    char tip_hash[2 * CRYPTO_HASH_LEN + 1];
    uint64_t height;                   /* blocks checked: 1..height */
    uint64_t transactions;
    uint64_t signatures;               /* transaction, certificate and checkpoint signatures verified */
    uint64_t ballot_proofs;            /* ballots whose proofs were checked */
    uint64_t checkpoints;              /* kept checkpoint proofs checked (2f+1 over the block's hash) */
    uint64_t checkpoints_above_tip;    /* kept for seqs above the snapshot's tip: not checkable */
    unsigned threads;
    int seal;                          /* data.mdb.seal: 1 matches, 0 absent, -1 mismatch */
    double seconds;
    double sequential_cpu;             /* CPU seconds of the calling thread outside the
                                          parallel parts (Amdahl's serial fraction) */
    audit_election *elections;
    size_t n_elections;
    audit_failure failures[AUDIT_MAX_FAILURES];
    size_t n_failures_kept;
    uint64_t n_failures;
    /* --track */
    int track_asked, track_found;
    uint8_t track_code[CRYPTO_HASH_LEN];
    uint64_t track_height;
    uint32_t track_index;
    int track_result;                  /* TxResult */
    int track_status;                  /* 0 not a ballot, 1 counted, 2 superseded, 3 rejected */
    uint8_t track_replaced_by[CRYPTO_HASH_LEN];
    char track_election[2 * ELECTION_MAX_ID + 1];
    char track_signers[512];           /* certificate signers' names, comma separated */
    /* --statement: a validator's signed TrackStatement, judged */
    int stmt_asked;
    int stmt_verdict;                  /* 1 true, 0 false, -1 not the validator's or unusable,
                                          -2 above the snapshot's tip (why says why) */
    char stmt_validator[GENESIS_MAX_NAME + 1];
    uint8_t stmt_code[CRYPTO_HASH_LEN];
    uint64_t stmt_height;
    int stmt_status, stmt_polls_closed;
    char stmt_why[320];
} audit_report;

typedef struct {
    const char *genesis_path;
    const char *snapshot_dir;
    const char *election;              /* NULL: all */
    unsigned threads;                  /* 0: one per online core */
    const uint8_t *track;              /* NULL or a 32-byte tracking code */
    const uint8_t *statement;          /* NULL or a TrackStatement (evote track --json) */
    size_t statement_len;
    const uint8_t *statement_sig;      /* its 64-byte signature */
} audit_options;

/* Runs the audit. Out: *report (free with audit_report_free), always
 * filled, and *why when the input cannot be read.
 * Returns: AUDIT_EXIT_VERIFIED, _FAILED, _INPUT or _NOT_FOUND. */
int audit_run(const audit_options *opt, audit_report *report, char *why, size_t why_len);

void audit_report_free(audit_report *r);

/* Records a failure (kept when fewer than AUDIT_MAX_FAILURES). Pure. */
void audit_fail(audit_report *r, uint64_t height, const uint8_t *tx_id, const char *election, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));

/* Renders the report. Pure (writes to out only). */
void audit_report_text(const audit_report *r, FILE *out);
void audit_report_json(const audit_report *r, FILE *out);

/* ----------------------------------------------------- commit certificates */

typedef struct {
    uint32_t signers;                  /* distinct validators with a valid COMMIT */
    uint32_t needed;                   /* 2f+1 */
    uint8_t signed_by[GENESIS_MAX_VALIDATORS]; /* 1 per validator index that signed */
    char why[200];                     /* the first problem found, "" when none */
} audit_cert_verdict;

/* Checks a serialized CommitCertificate for the block at `height` whose batch
 * digest is `digest`: cert seq == height, cert digest == digest, and at least
 * 2f+1 COMMITs, each from a DISTINCT validator of the genesis, of kind
 * COMMIT, for this chain, with (view, seq, digest) equal to the
 * certificate's and replica = the signer's index, correctly signed. A
 * duplicate signer counts once; a COMMIT from a non-validator or with a bad
 * signature does not count (and is named in why).
 * Returns: 1 valid, 0 not (then why says what is wrong). */
int audit_cert_check(const genesis *g, const uint8_t *cert, size_t cert_len, uint64_t height,
                     const uint8_t digest[CRYPTO_HASH_LEN], audit_cert_verdict *v);

/* ------------------------------------------------------------ thread pool */

typedef struct audit_pool audit_pool;
/* threads: workers besides the caller (0: the caller does everything). */
audit_pool *audit_pool_new(unsigned threads);
void audit_pool_destroy(audit_pool **p);
/* Calls fn(ctx, i) for i in [0, n) on the workers and the caller; returns
 * when all are done. */
void audit_pool_run(audit_pool *p, size_t n, void (*fn)(void *ctx, size_t i), void *ctx);

#endif
