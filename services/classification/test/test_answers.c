/* Unit tests: classify_answers, the resident's answers as evidence after
 * the text model (someone hurt, trapped or in danger now is P1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "antt_util.h"
#include "classify_answers.h"

/* a result as the text model leaves it: P3, two reasons */
static void s_model_result(classify_result_t *r)
{
    memset(r, 0, sizeof(*r));
    r->priority = 3;
    r->priority_confidence = 0.7f;
    r->reasons[r->nreasons++] = antt_xstrdup("mô hình: traffic 90%, P3 70%");
    r->reasons[r->nreasons++] = antt_xstrdup("\"va cham\" -> traffic +1.20");
}

static void test_urgent_answer_is_p1(void **state)
{
    (void)state;
    const char *yes[] = {"yes"}, *plates[] = {"59A-123.45"};
    classify_answer_t a[] = {{"plates", plates, 1}, {"injured", yes, 1}};
    classify_result_t r;
    s_model_result(&r);
    assert_int_equal(classify_answers_apply(&r, "traffic", a, 2), 1);
    assert_int_equal(r.priority, 1);
    assert_int_equal(r.nreasons, 3);
    assert_string_equal(r.reasons[0], "người báo: có người bị thương"); /* first: what decided */
    assert_string_equal(r.reasons[1], "mô hình: traffic 90%, P3 70%");
    classify_result_cleanup(&r);

    /* each urgent question of the definitions */
    classify_answer_t trapped = {"trapped", yes, 1}, danger = {"in_danger", yes, 1};
    s_model_result(&r);
    assert_int_equal(classify_answers_apply(&r, "fire", &trapped, 1), 1);
    assert_string_equal(r.reasons[0], "người báo: có người bị mắc kẹt");
    classify_result_cleanup(&r);
    s_model_result(&r);
    assert_int_equal(classify_answers_apply(&r, "domestic_violence", &danger, 1), 1);
    assert_int_equal(r.priority, 1);
    assert_string_equal(r.reasons[0], "người báo: có người đang gặp nguy hiểm");
    classify_result_cleanup(&r);
}

static void test_other_answers_change_nothing(void **state)
{
    (void)state;
    const char *no[] = {"no"}, *unknown[] = {"unknown"}, *yes[] = {"yes"};
    classify_answer_t cases[][1] = {
        {{"injured", no, 1}},        /* nobody hurt */
        {{"injured", unknown, 1}},   /* don't know: the text decides */
        {{"still_burning", yes, 1}}, /* not a life in danger by itself */
        {{"children", yes, 1}},
        {{"nonsense", yes, 1}},      /* no such question */
    };
    const char *services[] = {"traffic", "traffic", "fire", "domestic_violence", "traffic"};
    for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
        classify_result_t r;
        s_model_result(&r);
        assert_int_equal(classify_answers_apply(&r, services[i], cases[i], 1), 0);
        assert_int_equal(r.priority, 3);
        assert_int_equal(r.nreasons, 2);
        classify_result_cleanup(&r);
    }
    /* the question is the service's: "injured" means nothing for theft,
     * and a report without a service_code has no answers to read */
    classify_answer_t a = {"injured", yes, 1};
    classify_result_t r;
    s_model_result(&r);
    assert_int_equal(classify_answers_apply(&r, "theft", &a, 1), 0);
    assert_int_equal(classify_answers_apply(&r, NULL, &a, 1), 0);
    assert_int_equal(r.priority, 3);
    classify_result_cleanup(&r);
}

/* a full list of reasons keeps its bound: the last one gives way */
static void test_full_reasons(void **state)
{
    (void)state;
    classify_result_t r;
    memset(&r, 0, sizeof(r));
    r.priority = 2;
    for (int i = 0; i < CLASSIFY_MAX_REASONS; i++)
        r.reasons[r.nreasons++] = antt_xasprintf("reason %d", i);
    const char *yes[] = {"yes"};
    classify_answer_t a = {"trapped", yes, 1};
    assert_int_equal(classify_answers_apply(&r, "fire", &a, 1), 1);
    assert_int_equal(r.nreasons, CLASSIFY_MAX_REASONS);
    assert_string_equal(r.reasons[0], "người báo: có người bị mắc kẹt");
    assert_string_equal(r.reasons[1], "reason 0");
    assert_string_equal(r.reasons[CLASSIFY_MAX_REASONS - 1], "reason 14");
    classify_result_cleanup(&r);
}

/* the same rule on an accepted report's answers (the message's fields) */
static void test_accepted_report(void **state)
{
    (void)state;
    char *yes[] = {"yes"};
    Antt__V1__Answer a = ANTT__V1__ANSWER__INIT, *ap[] = {&a};
    a.code = "injured";
    a.values = yes;
    a.n_values = 1;
    Antt__V1__AcceptedReport m = ANTT__V1__ACCEPTED_REPORT__INIT;
    m.service_code = "traffic";
    m.answers = ap;
    m.n_answers = 1;
    classify_result_t r;
    s_model_result(&r);
    assert_int_equal(classify_answers_apply_report(&r, &m), 1);
    assert_int_equal(r.priority, 1);
    classify_result_cleanup(&r);
    m.n_answers = 0;
    s_model_result(&r);
    assert_int_equal(classify_answers_apply_report(&r, &m), 0);
    assert_int_equal(r.priority, 3);
    classify_result_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urgent_answer_is_p1),
        cmocka_unit_test(test_other_answers_change_nothing),
        cmocka_unit_test(test_full_reasons),
        cmocka_unit_test(test_accepted_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
