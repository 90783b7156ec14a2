/* Ballot cryptography benchmark: the primitives' costs, ballot encryption
 * and verification rates (1 question, 3 and 10 options, exactly 1), verify
 * on every core, and a 100,000-ballot tally decrypted by 3 of 4 trustees.
 * Prints figures; never fails because the machine is slow. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ballot_crypto.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, bc_err err)
{
    fprintf(stderr, "bench_ballot: %s: %s\n", what, bc_strerror(err));
    exit(1);
}

#define CHECK(what, expr)             \
    do {                              \
        bc_err e_ = (expr);           \
        if (e_ != BC_OK)              \
            die(what, e_);            \
    } while (0)

/* ------------------------------------------------------------ primitives */

static void bench_primitives(void)
{
    ec_scalar a, b;
    ec_point p, q;
    CHECK("random", ec_scalar_random(&a));
    CHECK("random", ec_scalar_random(&b));
    ec_point_mul_base(&p, &a);
    const int n = 2000;
    double t0 = now();
    for (int i = 0; i < n; i++)
        ec_point_mul_base(&q, &b);
    double t1 = now();
    for (int i = 0; i < n; i++)
        ec_point_mul(&q, &p, &b);
    double t2 = now(), t2a = t2;
    ec_point_lincomb_public(&q, &a, &b, &p); /* builds the G table, once per process */
    t2 = now();
    for (int i = 0; i < n; i++)
        ec_point_lincomb_recovery(&q, &a, &b, &p);
    double t3a = now();
    for (int i = 0; i < n; i++)
        ec_point_lincomb_public(&q, &a, &b, &p);
    double t3 = now();
    for (int i = 0; i < n; i++)
        ec_point_add(&q, &p, &q);
    double t4 = now();
    uint8_t enc[EC_POINT_LEN];
    ec_point_encode(enc, &p);
    for (int i = 0; i < n; i++) {
        if (ec_point_parse(&q, enc, 0) != BC_OK)
            exit(1);
    }
    double t5 = now();
    uint8_t enc65[EC_POINT_UNCOMPRESSED_LEN];
    ec_point_encode_uncompressed(enc65, &p);
    for (int i = 0; i < n; i++) {
        if (ec_point_parse_uncompressed(&q, enc65, 0) != BC_OK)
            exit(1);
    }
    double t5a = now();
    ec_fixed_base *fb = NULL;
    double t6a = now();
    CHECK("table", ec_fixed_base_new(&fb, &p));
    double t6 = now();
    for (int i = 0; i < n; i++)
        ec_fixed_base_mul(&q, fb, &b);
    double t7 = now();
    ec_fixed_base_destroy(&fb);
    printf("primitives (us/op): k*G %.1f | k*P ladder %.1f | a*G+b*P by recovery %.1f, by G table + ladder %.1f"
           " | k*Y by table %.1f (table built in %.1f ms) | P+Q %.2f | parse 33 bytes %.2f, 65 bytes %.2f\n",
           (t1 - t0) * 1e6 / n, (t2a - t1) * 1e6 / n, (t3a - t2) * 1e6 / n, (t3 - t3a) * 1e6 / n,
           (t7 - t6) * 1e6 / n,
           (t6 - t6a) * 1e3, (t4 - t3) * 1e6 / n, (t5 - t4) * 1e6 / n, (t5a - t5) * 1e6 / n);
}

/* ------------------------------------------------------- ballots, 1 core */

typedef struct {
    const bc_election *e;
    const uint8_t *ballots; /* count × size */
    size_t count, size;
    double seconds;
    long done;
} verify_job;

static void *verify_worker(void *arg)
{
    verify_job *j = arg;
    double t0 = now(), t;
    long done = 0;
    uint8_t voter[32];
    memset(voter, 0x5a, 32);
    do {
        for (size_t i = 0; i < j->count; i++) {
            if (bc_ballot_verify(j->e, voter, j->ballots + i * j->size, j->size, NULL, NULL) != BC_OK) {
                fprintf(stderr, "bench_ballot: a valid ballot did not verify\n");
                exit(1);
            }
        }
        done += (long)j->count;
        t = now();
    } while (t - t0 < j->seconds);
    j->done = done;
    j->seconds = t - t0;
    return NULL;
}

static double bench_ballots(uint32_t options, int multicore)
{
    uint8_t id[32], voter[32];
    memset(id, 0xe1, 32);
    memset(voter, 0x5a, 32);
    ec_scalar x;
    ec_point y;
    uint8_t y_enc[EC_POINT_LEN];
    CHECK("random", ec_scalar_random(&x));
    ec_point_mul_base(&y, &x);
    ec_point_encode(y_enc, &y);
    bc_question q = {options, 1, 1};
    bc_election *e = NULL;
    CHECK("election", bc_election_new(&e, id, y_enc, &q, 1));
    size_t size = bc_ballot_size(e);
    const size_t count = 200;
    uint8_t *ballots = malloc(count * size);
    uint8_t sel[BC_MAX_OPTIONS];
    double t0 = now();
    for (size_t i = 0; i < count; i++) {
        memset(sel, 0, sizeof sel);
        sel[i % options] = 1;
        CHECK("encrypt", bc_ballot_encrypt(e, voter, sel, options, ballots + i * size, size));
    }
    double enc = (now() - t0) / (double)count;
    /* Best of 3 rounds: the machine is shared, a round can lose its core. */
    double ver = 1e9;
    for (int round = 0; round < 3; round++) {
        verify_job one = {e, ballots, count, size, 1.0, 0};
        verify_worker(&one);
        if (one.seconds / (double)one.done < ver)
            ver = one.seconds / (double)one.done;
    }
    printf("1 question, %u options, exactly 1 (%zu bytes): encrypt %.2f ms (%.0f ballots/s), "
           "verify %.3f ms (%.0f ballots/s) on one core (best of 3 rounds)\n",
           options, size, enc * 1e3, 1.0 / enc, ver * 1e3, 1.0 / ver);
    if (multicore) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        if (cores < 1)
            cores = 1;
        pthread_t th[256];
        verify_job jobs[256];
        if (cores > 256)
            cores = 256;
        double rate = 0;
        for (int round = 0; round < 3; round++) {
            double r = 0;
            for (long c = 0; c < cores; c++) {
                jobs[c] = (verify_job){e, ballots, count, size, 1.5, 0};
                pthread_create(&th[c], NULL, verify_worker, &jobs[c]);
            }
            for (long c = 0; c < cores; c++) {
                pthread_join(th[c], NULL);
                r += (double)jobs[c].done / jobs[c].seconds;
            }
            if (r > rate)
                rate = r;
        }
        printf("  verify with %ld threads (one per core): %.0f ballots/s (best of 3), per-core efficiency %.0f%%\n",
               cores, rate, 100.0 * rate / ((double)cores / ver));
        printf("  limit for a 4-validator cluster on this machine, cores / (4 x verify time): %.0f ballots/s\n",
               (double)cores / (4.0 * ver));
    }
    free(ballots);
    bc_election_destroy(&e);
    return ver;
}

/* ------------------------------------------------------------------ tally */

static void bench_tally(void)
{
    const uint32_t n = 4, t = 3;
    const size_t ballots = 100000, distinct = 1000;
    uint8_t id[32];
    memset(id, 0x7a, 32);
    /* key ceremony, all honest (timed too) */
    double t0 = now();
    ec_scalar ek[5], x[5], own[5][5];
    uint8_t ek_pub[5][EC_POINT_LEN];
    ec_point commit[4 * 3], xpub[5], y;
    uint8_t shares[5][5][DKG_SHARE_LEN];
    for (uint32_t j = 1; j <= n; j++) {
        ec_point p;
        CHECK("random", ec_scalar_random(&ek[j]));
        ec_point_mul_base(&p, &ek[j]);
        ec_point_encode(ek_pub[j], &p);
    }
    for (uint32_t i = 1; i <= n; i++) {
        dkg_dealer *d = NULL;
        uint8_t cm[3 * EC_POINT_LEN], pok[BC_PROOF_DLEQ_LEN];
        CHECK("dealer", dkg_dealer_new(&d, id, n, t, i));
        CHECK("commit", dkg_dealer_commitments(d, cm, pok));
        CHECK("verify commitments",
              dkg_verify_commitments(id, i, t, cm, sizeof cm, pok, &commit[(i - 1) * t]));
        for (uint32_t j = 1; j <= n; j++) {
            if (j == i)
                CHECK("own share", dkg_dealer_share(d, j, &own[j][i]));
            else
                CHECK("encrypt share", dkg_dealer_encrypt_share(d, j, ek_pub[j], shares[i][j], NULL));
        }
        dkg_dealer_destroy(&d);
    }
    for (uint32_t j = 1; j <= n; j++) {
        ec_scalar got[4];
        for (uint32_t i = 1; i <= n; i++) {
            if (i == j)
                got[i - 1] = own[j][i];
            else
                CHECK("receive share", dkg_receive_share(id, i, j, &ek[j], shares[i][j],
                                                         &commit[(i - 1) * t], t, &got[i - 1]));
        }
        dkg_secret_share(&x[j], got, n);
        CHECK("verification key", dkg_verification_key(&xpub[j], j, commit, n, t));
    }
    CHECK("joint key", dkg_joint_key(&y, commit, n, t));
    double dkg_time = now() - t0;
    uint8_t y_enc[EC_POINT_LEN];
    ec_point_encode(y_enc, &y);

    /* 100,000 ciphertexts: 1,000 distinct encryptions of 0/1, each used 100 times */
    elgamal_ct *cts = malloc(distinct * sizeof *cts);
    uint64_t expect = 0;
    for (size_t i = 0; i < distinct; i++) {
        uint64_t m = (i * 2654435761u >> 7) & 1;
        CHECK("encrypt", elgamal_encrypt(&cts[i], &y, m, NULL));
        expect += m * (ballots / distinct);
    }
    elgamal_sum *acc = malloc(sizeof *acc);
    elgamal_ct tally;
    t0 = now();
    elgamal_sum_init(acc);
    for (size_t i = 0; i < ballots; i++)
        elgamal_sum_add(acc, &cts[i % distinct]);
    elgamal_sum_result(acc, &tally);
    double sum_time = now() - t0;

    /* the same tally re-read from a state database: parse + sum */
    uint8_t *stored = malloc(ballots * ELGAMAL_CT_STATE_LEN);
    for (size_t i = 0; i < ballots; i++)
        elgamal_encode_state(stored + i * ELGAMAL_CT_STATE_LEN, &cts[i % distinct]);
    elgamal_ct again;
    t0 = now();
    elgamal_sum_init(acc);
    for (size_t i = 0; i < ballots; i++) {
        elgamal_ct c;
        CHECK("parse", elgamal_parse_state(&c, stored + i * ELGAMAL_CT_STATE_LEN, 0));
        elgamal_sum_add(acc, &c);
    }
    elgamal_sum_result(acc, &again);
    double stored_time = now() - t0;
    free(stored);
    if (!ec_point_equal(&again.a, &tally.a) || !ec_point_equal(&again.b, &tally.b)) {
        fprintf(stderr, "bench_ballot: the re-read tally differs\n");
        exit(1);
    }

    const uint32_t who[3] = {1, 3, 4};
    ec_point d[3], m;
    uint8_t part[3][BC_PARTIAL_LEN];
    t0 = now();
    for (int k = 0; k < 3; k++) {
        bc_partial_ctx pc = {id, y_enc, who[k], 0};
        CHECK("partial", bc_tally_partial_decrypt(&pc, &x[who[k]], &xpub[who[k]], &tally, part[k]));
    }
    double part_time = now() - t0;
    t0 = now();
    for (int k = 0; k < 3; k++) {
        bc_partial_ctx pc = {id, y_enc, who[k], 0};
        CHECK("verify partial",
              bc_tally_partial_verify(&pc, &xpub[who[k]], &tally, part[k], BC_PARTIAL_LEN, &d[k]));
    }
    double pverify_time = now() - t0;
    t0 = now();
    CHECK("combine", bc_tally_combine(&m, &tally, t, who, d, 3));
    double comb_time = now() - t0;
    t0 = now();
    dlog_table *table = NULL;
    CHECK("dlog table", dlog_table_new(&table, ballots));
    double table_time = now() - t0;
    uint64_t count = 0;
    t0 = now();
    CHECK("dlog", dlog_solve(table, &m, &count));
    double dlog_time = now() - t0;
    dlog_table_destroy(&table);
    printf("key ceremony n=4 t=3 (all dealers, shares, checks, in one process): %.1f ms\n",
           dkg_time * 1e3);
    printf("tally of %zu ciphertexts: homomorphic sum %.1f ms (%.2f us/ciphertext)\n", ballots,
           sum_time * 1e3, sum_time * 1e6 / (double)ballots);
    printf("  the same from stored 130-byte ciphertexts (parse + sum) %.1f ms; from 66-byte wire form it would add ~%.0f ms of square roots\n",
           stored_time * 1e3, (double)ballots * 2 * 4.8e-3);
    printf("  3 partial decryptions with proofs %.2f ms, verifying them %.2f ms, Lagrange combine %.2f ms\n",
           part_time * 1e3, pverify_time * 1e3, comb_time * 1e3);
    printf("  BSGS table for bound %zu %.2f ms, solve %.2f ms: count %llu (expected %llu) %s\n",
           ballots, table_time * 1e3, dlog_time * 1e3, (unsigned long long)count,
           (unsigned long long)expect, count == expect ? "OK" : "WRONG");
    printf("  whole decryption of one option (partials + verify + combine + dlog): %.2f ms\n",
           (part_time + pverify_time + comb_time + table_time + dlog_time) * 1e3);

    /* the worst case for the dlog: a count of 10,000,000 */
    t0 = now();
    CHECK("dlog table", dlog_table_new(&table, 10000000));
    table_time = now() - t0;
    ec_scalar big;
    ec_point bp;
    ec_scalar_from_u64(&big, 10000000);
    ec_point_mul_base(&bp, &big);
    t0 = now();
    CHECK("dlog", dlog_solve(table, &bp, &count));
    dlog_time = now() - t0;
    dlog_table_destroy(&table);
    printf("  BSGS bound 10,000,000: table %.1f ms, worst-case solve %.1f ms (found %llu)\n",
           table_time * 1e3, dlog_time * 1e3, (unsigned long long)count);
    printf("  projected: tally of 1,000,000 ballots x 3 options: sum %.2f s, from stored 130-byte ciphertexts %.2f s\n",
           sum_time * 30.0, stored_time * 30.0);
    free(acc);
    free(cts);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--verify-only") == 0) { /* the 3-option line alone (tests/bench/ballots) */
        bench_ballots(3, 0);
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: bench_ballot [--verify-only]\n");
        return 64;
    }
    printf("ballot cryptography benchmark (libsecp256k1 public API only)\n");
    bench_primitives();
    bench_ballots(3, 1);
    bench_ballots(10, 0);
    bench_tally();
    return 0;
}
