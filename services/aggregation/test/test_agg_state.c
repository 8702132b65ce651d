/* Unit tests of the live trend state: calendar buckets, the roll-up of a
 * leaf change to every ancestor, period and dimension, sequences, windows
 * and filters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agg_state.h"

static int32_t s_day(const char *s)
{
    int32_t d = 0;
    assert_int_equal(agg_parse_day(s, &d), 0);
    return d;
}

static void s_label(int period, const char *day, const char *want)
{
    char out[32];
    agg_period_label(period, s_day(day), out, sizeof(out));
    assert_string_equal(out, want);
}

static void test_calendar(void **state)
{
    (void)state;
    assert_int_equal(s_day("1970-01-01"), 0);
    assert_int_equal(s_day("2000-03-01"), 11017);
    int32_t d;
    assert_int_equal(agg_parse_day("2023-02-29", &d), -1);
    assert_int_equal(agg_parse_day("2024-02-29", &d), 0);
    assert_int_equal(agg_parse_day("2024-13-01", &d), -1);
    assert_int_equal(agg_parse_day("2024-1-1", &d), -1);
    assert_int_equal(agg_parse_day("2024-01-01x", &d), -1);
    /* ISO weeks around the turn of the year */
    s_label(AGG_P_WEEK, "2020-12-31", "2020-W53");
    s_label(AGG_P_WEEK, "2021-01-03", "2020-W53");
    s_label(AGG_P_WEEK, "2021-01-04", "2021-W01");
    s_label(AGG_P_WEEK, "2024-12-30", "2025-W01");
    s_label(AGG_P_WEEK, "2026-11-23", "2026-W48");
    s_label(AGG_P_QUARTER, "2026-11-23", "2026-Q4");
    s_label(AGG_P_MONTH, "2026-02-01", "2026-02");
    s_label(AGG_P_YEAR, "2026-12-31", "2026");
    s_label(AGG_P_DAY, "2026-12-31", "2026-12-31");
    assert_int_equal(agg_period_start(AGG_P_WEEK, s_day("2026-11-29")), s_day("2026-11-23"));
    assert_int_equal(agg_period_start(AGG_P_QUARTER, s_day("2026-11-29")), s_day("2026-10-01"));
}

static agg_state_t *s_tree(void)
{
    char *codes[] = {"CITY", "DIST", "W1", "W2", "W1-KP1"};
    char *parents[] = {NULL, "CITY", "DIST", "DIST", "W1"};
    char *groups[] = {"criminal", "criminal", "fire"};
    char *cats[] = {"theft", "robbery", "fire"};
    agg_state_t *st = agg_state_new();
    agg_state_set_tree(st, codes, parents, 5, groups, cats, 3);
    agg_state_reset(st, s_day("2026-09-21"), s_day("2025-01-01"));
    return st;
}

static int64_t s_count(agg_state_t *st, const char *key)
{
    agg_kv_t *kv = agg_state_get(st, key);
    return kv ? kv->count : -1;
}

static void s_count_cb(const agg_kv_t *kv, void *arg)
{
    (void)kv;
    (*(int *)arg)++;
}

static void test_rollup(void **state)
{
    (void)state;
    agg_state_t *st = s_tree();
    int32_t d = s_day("2026-11-23");
    assert_int_equal(agg_state_add(st, "W1-KP1", d, "theft", 2, AGG_P_ALL, 1000), 0);
    assert_int_equal(agg_state_add(st, "W2", d, "fire", 1, AGG_P_ALL, 900), 0);
    assert_int_equal(agg_state_add(st, "NOWHERE", d, "fire", 1, AGG_P_ALL, 0), -1);
    assert_int_equal(s_count(st, "CITY|year|2026|all"), 3);
    assert_int_equal(s_count(st, "DIST|month|2026-11|group:criminal"), 2);
    assert_int_equal(s_count(st, "W1|week|2026-W48|category:theft"), 2);
    assert_int_equal(s_count(st, "W1-KP1|day|2026-11-23|all"), 2);
    assert_int_equal(s_count(st, "W2|quarter|2026-Q4|group:fire"), 1);
    assert_int_equal(s_count(st, "W2|year|2026|group:criminal"), -1);
    /* 5 periods x (KP1, W1, DIST, CITY) x (all, category, group) for theft,
     * plus W2's (W2 only; DIST and CITY keys are shared) */
    size_t n;
    agg_kv_t **kv = agg_state_take(st, &n);
    assert_int_equal(n, 5 * 4 * 3 + 5 * 3 + 5 * 2 * 2);
    assert_int_equal(kv[0]->seq, 1);
    assert_int_equal(kv[n - 1]->seq, (int64_t)n);
    agg_kv_t *c = agg_state_get(st, "CITY|year|2026|all");
    assert_int_equal(c->source_ms, 900); /* the oldest change it carries */
    /* a withdrawal: only the keys it touches change, with new sequences */
    agg_state_add(st, "W2", d, "fire", -1, AGG_P_ALL, 2000);
    kv = agg_state_take(st, &n);
    assert_int_equal(n, 5 * 3 + 5 * 2 * 3); /* W2's keys; DIST's and CITY's all and fire keys */
    assert_int_equal(s_count(st, "CITY|year|2026|all"), 2);
    assert_int_equal(s_count(st, "W2|day|2026-11-23|group:fire"), 0);
    int seen = 0;
    assert_int_equal(agg_state_each(st, "W2", NULL, 0, s_count_cb, &seen), 0);
    assert_int_equal(seen, 5 * 3);
    seen = 0;
    agg_state_each(st, "DIST", "year", 0, s_count_cb, &seen);
    assert_int_equal(seen, 5 + 3 + 3 + 3); /* DIST: all, theft, criminal, fire x2; W1, KP1, W2: 3 each */
    seen = 0;
    agg_state_each(st, "CITY", NULL, (int64_t)agg_state_seq(st) - 1, s_count_cb, &seen);
    assert_int_equal(seen, 1);
    assert_int_equal(agg_state_each(st, "NOWHERE", NULL, 0, s_count_cb, &seen), -1);
    agg_state_free(st);
}

static void test_window(void **state)
{
    (void)state;
    agg_state_t *st = s_tree();
    /* before day_min: only month, quarter and year keys; before year_min: none */
    agg_state_add(st, "W2", s_day("2026-02-10"), "theft", 1, AGG_P_ALL, 0);
    assert_int_equal(s_count(st, "W2|day|2026-02-10|all"), -1);
    assert_int_equal(s_count(st, "W2|week|2026-W07|all"), -1);
    assert_int_equal(s_count(st, "W2|month|2026-02|all"), 1);
    agg_state_add(st, "W2", s_day("2024-12-31"), "theft", 1, AGG_P_ALL, 0);
    assert_int_equal(s_count(st, "W2|year|2024|all"), -1);
    /* a mask limits the periods */
    agg_state_add(st, "W2", s_day("2026-11-20"), "theft", 4, AGG_P_DAY | AGG_P_WEEK, 0);
    assert_int_equal(s_count(st, "W2|day|2026-11-20|all"), 4);
    assert_int_equal(s_count(st, "W2|month|2026-11|all"), -1);
    agg_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_rollup),
        cmocka_unit_test(test_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
