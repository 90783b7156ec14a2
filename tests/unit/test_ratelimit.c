/* Unit tests of src/node/ratelimit.c: the per-address budgets of the client
 * API's reads, driven with a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "ratelimit.h"

static void test_burst_then_refill(void **state)
{
    rate_table *t = rate_table_new(10, 20);
    uint32_t retry = 99;
    (void)state;
    assert_non_null(t);
    for (int i = 0; i < 20; i++)
        assert_true(rate_take(t, "192.0.2.7", 1000, 1, &retry));
    assert_false(rate_take(t, "192.0.2.7", 1000, 1, &retry));
    assert_int_equal(retry, 100); /* 10 per second: one in 100 ms */
    assert_false(rate_take(t, "192.0.2.7", 1099, 1, NULL));
    assert_true(rate_take(t, "192.0.2.7", 1100, 1, NULL));
    /* A second's rest refills 10, never more than the burst. */
    assert_false(rate_take(t, "192.0.2.7", 1100, 4, &retry));
    assert_int_equal(retry, 400);
    for (int i = 0; i < 20; i++)
        assert_true(rate_take(t, "192.0.2.7", 60000, 1, NULL));
    assert_false(rate_take(t, "192.0.2.7", 60000, 1, NULL));
    rate_table_destroy(&t);
    assert_null(t);
}

/* rate_has looks without taking: the refusal budget checks before a
 * transaction and takes when it is refused. */
static void test_has_looks_without_taking(void **state)
{
    rate_table *t = rate_table_new(50, 0); /* burst 100 */
    uint32_t retry = 0;
    (void)state;
    assert_non_null(t);
    for (int i = 0; i < 1000; i++)
        assert_true(rate_has(t, "192.0.2.9", 1000, 1, &retry));
    for (int i = 0; i < 100; i++)
        assert_true(rate_take(t, "192.0.2.9", 1000, 1, NULL));
    assert_false(rate_has(t, "192.0.2.9", 1000, 1, &retry));
    assert_int_equal(retry, 20); /* 50 per second: one in 20 ms */
    assert_true(rate_has(t, "192.0.2.10", 1000, 1, NULL)); /* another address */
    assert_true(rate_has(t, "192.0.2.9", 1020, 1, NULL));
    assert_true(rate_has(t, "192.0.2.9", 1020, 1, NULL)); /* still there: nothing taken */
    rate_table_destroy(&t);
}

/* As a count of what is in flight: a transaction takes a unit on arrival
 * and gives it back with its answer, never past the burst. */
static void test_give_returns_what_was_taken(void **state)
{
    rate_table *t = rate_table_new(50, 0); /* burst 100 */
    (void)state;
    for (int i = 0; i < 100; i++)
        assert_true(rate_take(t, "10.0.0.1", 1000, 1, NULL));
    assert_false(rate_take(t, "10.0.0.1", 1000, 1, NULL)); /* 100 in flight: the 101st waits */
    for (int i = 0; i < 40; i++)
        rate_give(t, "10.0.0.1", 1000, 1); /* 40 answered */
    for (int i = 0; i < 40; i++)
        assert_true(rate_take(t, "10.0.0.1", 1000, 1, NULL));
    assert_false(rate_take(t, "10.0.0.1", 1000, 1, NULL));
    for (int i = 0; i < 500; i++)
        rate_give(t, "10.0.0.1", 1000, 1);
    for (int i = 0; i < 100; i++) /* capped at the burst */
        assert_true(rate_take(t, "10.0.0.1", 1000, 1, NULL));
    assert_false(rate_take(t, "10.0.0.1", 1000, 1, NULL));
    rate_table_destroy(&t);
}

static void test_addresses_have_their_own_budget(void **state)
{
    rate_table *t = rate_table_new(5, 5);
    (void)state;
    assert_non_null(t);
    assert_true(rate_take(t, "198.51.100.1", 0, 5, NULL));
    assert_false(rate_take(t, "198.51.100.1", 0, 1, NULL));
    assert_true(rate_take(t, "198.51.100.2", 0, 5, NULL));
    /* IPv4-mapped IPv6 is the IPv4 address. */
    assert_false(rate_take(t, "::ffff:198.51.100.1", 0, 1, NULL));
    /* IPv6: one /64 is one budget (one host may hold all of it). */
    assert_true(rate_take(t, "2001:db8:1:2::10", 0, 5, NULL));
    assert_false(rate_take(t, "2001:db8:1:2:ffff::99", 0, 1, NULL));
    assert_true(rate_take(t, "2001:db8:1:3::10", 0, 1, NULL));
    /* No address (or not an IP): one shared budget. */
    assert_true(rate_take(t, "", 0, 3, NULL));
    assert_true(rate_take(t, NULL, 0, 2, NULL));
    assert_false(rate_take(t, "not an address", 0, 1, NULL));
    rate_table_destroy(&t);
}

static void test_no_limit_free_reads_and_oversized_costs(void **state)
{
    rate_table *t = rate_table_new(0, 0);
    uint32_t retry = 7;
    (void)state;
    assert_non_null(t);
    for (int i = 0; i < 100000; i++)
        assert_true(rate_take(t, "192.0.2.1", 0, 1000, NULL));
    rate_table_destroy(&t);
    t = rate_table_new(3, 0); /* burst 0: twice the rate */
    assert_non_null(t);
    assert_true(rate_take(t, "192.0.2.1", 0, 0, NULL)); /* free */
    assert_true(rate_take(t, "192.0.2.1", 0, 6, NULL));
    assert_false(rate_take(t, "192.0.2.1", 0, 7, &retry)); /* more than the bucket holds: never */
    assert_int_equal(retry, 0);
    rate_table_destroy(&t);
    rate_table_destroy(&t);
    rate_table_destroy(NULL);
}

/* More addresses than slots: the table forgets the least recently seen —
 * which then starts again with a full bucket — and keeps those still
 * active. A refill of 1000 units takes 1000 s here, so within the test's
 * 12 s a remembered empty bucket stays empty. */
static void test_a_full_table_forgets_the_oldest(void **state)
{
    rate_table *t = rate_table_new(1, 1000);
    char a[32];
    int refused = 0;
    (void)state;
    assert_non_null(t);
    assert_true(rate_take(t, "203.0.113.9", 0, 1000, NULL)); /* idle from now on */
    assert_true(rate_take(t, "203.0.113.8", 0, 1000, NULL)); /* active: asks at every step */
    for (int i = 0; i < 3 * RATE_SLOTS; i++) {
        uint64_t now = 1 + (uint64_t)i;
        snprintf(a, sizeof a, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        assert_true(rate_take(t, a, now, 1000, NULL)); /* each new: a full bucket */
        refused += !rate_take(t, "203.0.113.8", now, 1000, NULL);
    }
    assert_int_equal(refused, 3 * RATE_SLOTS); /* remembered all along: never refilled */
    /* The idle one was forgotten: a full bucket again. */
    assert_true(rate_take(t, "203.0.113.9", 3 * RATE_SLOTS + 1, 1000, NULL));
    rate_table_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refill),
        cmocka_unit_test(test_has_looks_without_taking),
        cmocka_unit_test(test_give_returns_what_was_taken),
        cmocka_unit_test(test_addresses_have_their_own_budget),
        cmocka_unit_test(test_no_limit_free_reads_and_oversized_costs),
        cmocka_unit_test(test_a_full_table_forgets_the_oldest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
