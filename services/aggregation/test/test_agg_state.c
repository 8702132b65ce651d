/* Unit tests of the live trend state: calendar buckets, the roll-up of a
 * leaf change to every ancestor, period and dimension, sequences, windows
 * and filters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

typedef struct s_walk {
    size_t n;      /* keys seen */
    size_t budget; /* keys per piece */
    size_t piece;  /* keys in this piece */
} s_walk_t;

static void s_walk_count(const agg_kv_t *kv, void *arg)
{
    s_walk_t *w = arg;
    assert_non_null(kv->k.area);
    w->n++;
    w->piece++;
}

static int s_more(void *arg)
{
    s_walk_t *w = arg;
    return w->piece < w->budget;
}

/* A walk in pieces (the SSE snapshot's) sees every key once, and a key's
 * parts are its key's, parsed once. */
static void test_walk_in_pieces(void **state)
{
    (void)state;
    agg_state_t *st = s_tree();
    for (int d = 0; d < 60; d++)
        assert_int_equal(agg_state_add(st, d % 2 ? "W1-KP1" : "W2", s_day("2026-11-23") - d, d % 3 ? "theft" : "fire", 1,
                                       AGG_P_ALL, 0),
                         0);
    size_t nkv;
    agg_kv_t **kv = agg_state_take(st, &nkv);
    assert_true(nkv > 0);
    const agg_kv_t *k = kv[0];
    char rebuilt[256];
    snprintf(rebuilt, sizeof(rebuilt), "%s|%s|%s|%s", k->k.area, k->k.period, k->k.bucket, k->k.dimension);
    assert_string_equal(rebuilt, k->key);
    s_walk_t whole = {0, 0, 0};
    assert_int_equal(agg_state_each(st, NULL, NULL, 0, s_walk_count, &whole), 0);
    assert_int_equal(whole.n, agg_state_size(st));
    s_walk_t w = {0, 10, 0};
    size_t cursor = 0;
    int pieces = 0, rc;
    while ((rc = agg_state_each_from(st, NULL, NULL, 0, &cursor, s_more, s_walk_count, &w)) == 0) {
        w.piece = 0;
        pieces++;
    }
    assert_int_equal(rc, 1);
    assert_int_equal(w.n, whole.n);
    assert_true(pieces > 1);
    /* filters hold in pieces too */
    s_walk_t y = {0, 3, 0}, yw = {0, 0, 0};
    cursor = 0;
    while (agg_state_each_from(st, "W1", "year", 0, &cursor, s_more, s_walk_count, &y) == 0)
        y.piece = 0;
    agg_state_each(st, "W1", "year", 0, s_walk_count, &yw);
    assert_int_equal(y.n, yw.n);
    assert_int_equal(agg_state_each_from(st, "NOPE", NULL, 0, &cursor, s_more, s_walk_count, &y), -1);
    agg_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_rollup),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_walk_in_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
