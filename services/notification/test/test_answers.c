/* Unit tests: notify_answers, what SHOW adds to each report for the
 * dispatcher (the answers in the questions' order and in Vietnamese, the
 * follow-ups), as JSON and as protobuf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "notify_answers.h"

static void test_answers_in_order_and_vietnamese(void **state)
{
    (void)state;
    /* as intake stores them: keys sorted, so "plates" before "injured" is
     * not the questions' order; a code the service no longer asks comes last */
    json_t *a = notify_answers_json("traffic", "{\"gone\":\"x\",\"injured\":\"yes\",\"plates\":\"59A-123.45\"}");
    assert_int_equal(json_array_size(a), 3);
    json_t *o = json_array_get(a, 0);
    assert_string_equal(json_string_value(json_object_get(o, "code")), "injured");
    assert_string_equal(json_string_value(json_object_get(o, "question")), "Có ai bị thương không?");
    assert_string_equal(json_string_value(json_object_get(o, "answer")), "Có");
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "values"), 0)), "yes");
    o = json_array_get(a, 1);
    assert_string_equal(json_string_value(json_object_get(o, "question")), "Biển số các xe");
    assert_string_equal(json_string_value(json_object_get(o, "answer")), "59A-123.45"); /* free text as given */
    o = json_array_get(a, 2);
    assert_string_equal(json_string_value(json_object_get(o, "question")), "gone");
    json_decref(a);

    /* a multivaluelist: every value's name */
    a = notify_answers_json("theft", "{\"taken\":[\"vehicle\",\"documents\"]}");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "answer")), "Xe, Giấy tờ");
    json_decref(a);
    /* none, or not an object: no answers */
    a = notify_answers_json("theft", NULL);
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
    a = notify_answers_json("theft", "[1]");
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
}

static void test_protobuf(void **state)
{
    (void)state;
    json_t *rep = json_pack("{s:s,s:o,s:[{s:s,s:s,s:n},{s:s,s:s,s:s}]}", "report_id", "r",
                            "answers", notify_answers_json("fire", "{\"trapped\":\"yes\",\"still_burning\":\"no\"}"),
                            "follow_ups", "at", "2026-12-01T14:00:00+00:00", "description", "lửa lan sang nhà bên",
                            "media_url", "at", "2026-12-01T14:05:00+00:00", "description", "đã có xe cứu hỏa",
                            "media_url", "https://ex.org/2.jpg");
    Antt__V1__ReportText t = ANTT__V1__REPORT_TEXT__INIT;
    notify_answers_pb_t x;
    notify_answers_fill(&x, rep, &t);
    assert_int_equal(t.n_answers, 2);
    assert_string_equal(t.answers[0]->code, "trapped");
    assert_string_equal(t.answers[0]->question, "Có ai bị mắc kẹt không?");
    assert_string_equal(t.answers[0]->answer, "Có");
    assert_int_equal(t.answers[0]->n_values, 1);
    assert_string_equal(t.answers[1]->answer, "Không");
    assert_int_equal(t.n_follow_ups, 2);
    assert_true(t.follow_ups[0]->has_at_ms);
    assert_int_equal(t.follow_ups[1]->at_ms - t.follow_ups[0]->at_ms, 5 * 60 * 1000);
    assert_string_equal(t.follow_ups[0]->description, "lửa lan sang nhà bên");
    assert_null(t.follow_ups[0]->media_url);
    assert_string_equal(t.follow_ups[1]->media_url, "https://ex.org/2.jpg");
    /* it packs as a ReportText */
    size_t n = antt__v1__report_text__get_packed_size(&t);
    uint8_t *buf = malloc(n);
    antt__v1__report_text__pack(&t, buf);
    Antt__V1__ReportText *back = antt__v1__report_text__unpack(NULL, n, buf);
    assert_non_null(back);
    assert_string_equal(back->answers[0]->question, "Có ai bị mắc kẹt không?");
    antt__v1__report_text__free_unpacked(back, NULL);
    free(buf);
    notify_answers_release(&x);
    json_decref(rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_in_order_and_vietnamese),
        cmocka_unit_test(test_protobuf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
