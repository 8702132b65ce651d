/* notify_audience: who sees an incident on the desk feeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "notify_audience.h"

#define CITY "DESK-HCM"
#define DISTRICT "DESK-HCM-BTA"
#define WARD "DESK-HCM-BTA-BTD"
#define OTHER "DESK-HCM-BTA-AL"
#define FIRE "DESK-FIRE"

static notify_desks_t *s_tree(void)
{
    notify_desks_t *t = notify_desks_new();
    notify_desks_add(t, CITY, NULL);
    notify_desks_add(t, DISTRICT, CITY);
    notify_desks_add(t, WARD, DISTRICT);
    notify_desks_add(t, OTHER, DISTRICT);
    notify_desks_add(t, FIRE, CITY);
    notify_desks_add_route(t, "fire", 2, FIRE);
    return t;
}

/* the desk and every desk above it, nearest first; not a sibling */
static void test_chain(void **state)
{
    (void)state;
    notify_desks_t *t = s_tree();
    const char *out[NOTIFY_MAX_AUDIENCE];
    notify_target_t inc = {.desk = WARD, .category = "theft", .priority = 3};
    int k = notify_audience(t, &inc, out, NOTIFY_MAX_AUDIENCE);
    assert_int_equal(k, 3);
    assert_string_equal(out[0], WARD);
    assert_string_equal(out[1], DISTRICT);
    assert_string_equal(out[2], CITY);
    assert_false(notify_audience_has(out, k, OTHER));
    assert_string_equal(notify_desks_parent(t, WARD), DISTRICT);
    assert_null(notify_desks_parent(t, CITY));
    notify_desks_destroy(&t);
    assert_null(t);
    notify_desks_destroy(&t); /* NULL is fine */
}

/* an escalated incident stays with its ward: the ward and the desks told */
static void test_escalated_keeps_ward(void **state)
{
    (void)state;
    notify_desks_t *t = s_tree();
    const char *out[NOTIFY_MAX_AUDIENCE];
    notify_target_t inc = {.desk = WARD, .escalated_to = DISTRICT, .category = "assault", .priority = 1};
    int k = notify_audience(t, &inc, out, NOTIFY_MAX_AUDIENCE);
    assert_int_equal(k, 3);
    assert_true(notify_audience_has(out, k, WARD));
    assert_true(notify_audience_has(out, k, DISTRICT));
    assert_true(notify_audience_has(out, k, CITY));
    /* the tree was edited after the escalation (the ward moved under the
     * other ward, say): the desk told still sees it */
    notify_desks_t *t2 = notify_desks_new();
    notify_desks_add(t2, WARD, OTHER);
    notify_desks_add(t2, OTHER, NULL);
    notify_desks_add(t2, DISTRICT, NULL);
    k = notify_audience(t2, &inc, out, NOTIFY_MAX_AUDIENCE);
    assert_int_equal(k, 3);
    assert_true(notify_audience_has(out, k, DISTRICT));
    assert_true(notify_audience_has(out, k, OTHER));
    /* a claiming desk is in it too, once */
    inc.claimed_desk = DISTRICT;
    assert_int_equal(notify_audience(t2, &inc, out, NOTIFY_MAX_AUDIENCE), 3);
    notify_desks_destroy(&t);
    notify_desks_destroy(&t2);
}

/* routes: by category and urgency, each desk once; an unknown desk still
 * sees its own; a loop in the tree ends; cap is kept */
static void test_routes_and_limits(void **state)
{
    (void)state;
    notify_desks_t *t = s_tree();
    const char *out[NOTIFY_MAX_AUDIENCE];
    notify_target_t fire = {.desk = WARD, .category = "fire", .priority = 2};
    int k = notify_audience(t, &fire, out, NOTIFY_MAX_AUDIENCE);
    assert_int_equal(k, 4);
    assert_string_equal(out[3], FIRE);
    fire.priority = 3; /* not urgent enough for the route */
    assert_int_equal(notify_audience(t, &fire, out, NOTIFY_MAX_AUDIENCE), 3);
    fire.priority = 0; /* unknown urgency: not for a route with a bound */
    assert_int_equal(notify_audience(t, &fire, out, NOTIFY_MAX_AUDIENCE), 3);
    notify_target_t unknown = {.desk = "DESK-NEW"};
    k = notify_audience(t, &unknown, out, NOTIFY_MAX_AUDIENCE);
    assert_int_equal(k, 1);
    assert_string_equal(out[0], "DESK-NEW");
    notify_target_t none = {0};
    assert_int_equal(notify_audience(t, &none, out, NOTIFY_MAX_AUDIENCE), 0);
    notify_desks_add(t, "LOOP-A", "LOOP-B");
    notify_desks_add(t, "LOOP-B", "LOOP-A");
    notify_target_t loop = {.desk = "LOOP-A"};
    assert_int_equal(notify_audience(t, &loop, out, NOTIFY_MAX_AUDIENCE), 2);
    notify_target_t ward = {.desk = WARD};
    assert_int_equal(notify_audience(t, &ward, out, 2), 2);
    notify_desks_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_escalated_keeps_ward),
        cmocka_unit_test(test_routes_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
