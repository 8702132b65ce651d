/* Unit tests of who sees what of the live state (agg_audience): the
 * public's decision per changed key, without starting anything; and the
 * fine (below-ward) mark of the state's areas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agg_int.h"

static void test_public_show(void **state)
{
    (void)state;
    const agg_public_t k3 = {3, 86400}, k1 = {1, 0};
    /* a neighbourhood: never on the public stream */
    assert_int_equal(agg_public_show(&k3, 1, 10, 9), AGG_SHOW_NONE);
    assert_false(agg_public_snapshot_shows(&k3, 1, 10));
    /* a ward's cell of 1 and 2: not sent; of 3: sent */
    assert_int_equal(agg_public_show(&k3, 0, 1, 0), AGG_SHOW_NONE);
    assert_int_equal(agg_public_show(&k3, 0, 2, 1), AGG_SHOW_NONE);
    assert_int_equal(agg_public_show(&k3, 0, 3, 2), AGG_SHOW_COUNT);
    assert_int_equal(agg_public_show(&k3, 0, 4, 3), AGG_SHOW_COUNT);
    /* falling below k from a figure the viewer saw: the count is withdrawn */
    assert_int_equal(agg_public_show(&k3, 0, 2, 3), AGG_SHOW_SUPPRESSED);
    assert_int_equal(agg_public_show(&k3, 0, 0, 3), AGG_SHOW_COUNT);
    assert_false(agg_public_snapshot_shows(&k3, 0, 2));
    assert_false(agg_public_snapshot_shows(&k3, 0, 0));
    assert_true(agg_public_snapshot_shows(&k3, 0, 3));
    /* k = 1: every ward figure */
    assert_int_equal(agg_public_show(&k1, 0, 1, 0), AGG_SHOW_COUNT);
    assert_int_equal(agg_public_show(&k1, 0, 0, 1), AGG_SHOW_COUNT);
}

static void test_fine_and_prev(void **state)
{
    (void)state;
    char *codes[] = {"D", "W", "N"}, *parents[] = {NULL, "D", "W"}, *groups[] = {"g"}, *cats[] = {"theft"};
    agg_state_t *st = agg_state_new();
    agg_state_set_tree(st, codes, parents, 3, groups, cats, 1);
    agg_state_set_fine(st, "N");
    int32_t day = agg_days_from_civil(2026, 12, 1);
    agg_state_reset(st, day - 10, agg_days_from_civil(2026, 1, 1));
    assert_int_equal(agg_state_add(st, "N", day, "theft", 1, AGG_P_DAY, 0), 0);
    size_t n;
    agg_state_take(st, &n);
    assert_int_equal(agg_state_add(st, "N", day, "theft", 2, AGG_P_DAY, 0), 0);
    agg_kv_t **kv = agg_state_take(st, &n);
    int seen_n = 0, seen_w = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(kv[i]->k.area, "N"))
            seen_n++, assert_true(agg_kv_fine(kv[i]));
        if (!strcmp(kv[i]->k.area, "W"))
            seen_w++, assert_false(agg_kv_fine(kv[i]));
        assert_int_equal(kv[i]->count, 3);
        assert_int_equal(kv[i]->prev, 1);
    }
    assert_true(seen_n > 0 && seen_w > 0);
    agg_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_show),
        cmocka_unit_test(test_fine_and_prev),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
