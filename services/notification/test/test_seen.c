/* notify_seen: the set of incidents announced lately. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "notify_seen.h"

static void s_id(char *out, int i)
{
    snprintf(out, 40, "01a22fcc-%04x-7000-8000-%012x", i & 0xffff, (unsigned)i);
}

static void test_add_has_grow(void **state)
{
    (void)state;
    notify_seen_t *s = notify_seen_new();
    char id[40];
    for (int i = 0; i < 50000; i++) {
        s_id(id, i);
        assert_int_equal(notify_seen_add(s, id, i), 1);
    }
    assert_int_equal(notify_seen_count(s), 50000);
    s_id(id, 123);
    assert_int_equal(notify_seen_add(s, id, 999999), 0); /* already there */
    for (int i = 0; i < 50000; i += 997) {
        s_id(id, i);
        assert_true(notify_seen_has(s, id));
    }
    s_id(id, 50000);
    assert_false(notify_seen_has(s, id));
    assert_false(notify_seen_has(s, NULL));
    assert_int_equal(notify_seen_add(s, "an id much longer than any uuid can ever be, refused", 1), 0);
    notify_seen_destroy(&s);
    assert_null(s);
    notify_seen_destroy(&s); /* accepts NULL */
}

static void test_prune(void **state)
{
    (void)state;
    notify_seen_t *s = notify_seen_new();
    char id[40];
    for (int i = 0; i < 20000; i++) {
        s_id(id, i);
        notify_seen_add(s, id, i); /* seen at time i */
    }
    notify_seen_prune(s, 19000);
    assert_int_equal(notify_seen_count(s), 1000);
    s_id(id, 18999);
    assert_false(notify_seen_has(s, id));
    s_id(id, 19000);
    assert_true(notify_seen_has(s, id));
    s_id(id, 19999);
    assert_true(notify_seen_has(s, id));
    /* forgotten ids can be added again */
    s_id(id, 5);
    assert_int_equal(notify_seen_add(s, id, 30000), 1);
    notify_seen_prune(s, INT64_MAX);
    assert_int_equal(notify_seen_count(s), 0);
    notify_seen_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_has_grow),
        cmocka_unit_test(test_prune),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
