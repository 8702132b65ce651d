/* Unit tests: antt_attributes, the service definitions' questions: lookups,
 * and the services an urgent answer calls for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "antt_attributes.h"
#include "antt_categories.h"
#include "antt_danger.h"

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < antt_attrs_count; i++) {
        const antt_attr_t *a = &antt_attrs[i];
        assert_non_null(antt_category_find(a->service)); /* a real service_code */
        assert_ptr_equal(antt_attr_find(a->service, a->code, strlen(a->code)), a);
        /* an urgent answer is one of its values, with a reason and whom to call */
        if (a->urgent_value) {
            assert_non_null(antt_attr_value(a, a->urgent_value));
            assert_non_null(a->urgent_reason);
            assert_true(a->urgent_services != 0 && (a->urgent_services & ~ANTT_DANGER_ALL) == 0);
        }
    }
    assert_null(antt_attr_find("traffic", "injured", 3)); /* "inj" */
    assert_null(antt_attr_find("theft", "injured", 7));
    assert_null(antt_attr_find(NULL, "injured", 7));
    const antt_attr_t *inj = antt_attr_find("traffic", "injured", 7);
    assert_string_equal(antt_attr_value(inj, "yes")->vi, "Có");
    assert_null(antt_attr_value(inj, "maybe"));
}

static void test_urgent_services(void **state)
{
    (void)state;
    assert_int_equal(antt_attr_urgent_services("traffic", "{\"injured\":\"yes\"}"), ANTT_DANGER_AMBULANCE);
    assert_int_equal(antt_attr_urgent_services("fire", "{\"still_burning\":\"yes\",\"trapped\":\"yes\"}"),
                     ANTT_DANGER_FIRE);
    assert_int_equal(antt_attr_urgent_services("domestic_violence", "{\"children\":\"yes\",\"in_danger\":\"yes\"}"),
                     ANTT_DANGER_POLICE);
    assert_int_equal(antt_attr_urgent_services("traffic", "{\"injured\":\"no\"}"), 0);
    assert_int_equal(antt_attr_urgent_services("traffic", "{\"injured\":\"unknown\"}"), 0);
    assert_int_equal(antt_attr_urgent_services("fire", "{\"injured\":\"yes\"}"), 0); /* not fire's question */
    assert_int_equal(antt_attr_urgent_services(NULL, "{\"injured\":\"yes\"}"), 0);
    assert_int_equal(antt_attr_urgent_services("traffic", NULL), 0);
    assert_int_equal(antt_attr_urgent_services("traffic", "not json"), 0);
    assert_int_equal(antt_attr_urgent_services("traffic", "[\"yes\"]"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_urgent_services),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
