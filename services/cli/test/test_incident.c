/* Unit tests: cli_incident_show, the console's `show N`: each report's
 * answers (the question and the answer in Vietnamese) and the resident's
 * follow-ups, in order, after its text; never a contact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

static void test_show_answers_and_follow_ups(void **state)
{
    (void)state;
    Antt__V1__IncidentUpdate u = ANTT__V1__INCIDENT_UPDATE__INIT;
    u.incident_id = "0190a1b2-0000-7000-8000-000000000001";
    u.category = "traffic";
    u.has_priority = 1;
    u.priority = 1;
    char *yes[] = {"yes"};
    Antt__V1__ReportAnswer a = ANTT__V1__REPORT_ANSWER__INIT, *ap[] = {&a};
    a.code = "injured";
    a.question = "Có ai bị thương không?";
    a.answer = "Có";
    a.values = yes;
    a.n_values = 1;
    Antt__V1__ReportFollowUp f1 = ANTT__V1__REPORT_FOLLOW_UP__INIT, f2 = ANTT__V1__REPORT_FOLLOW_UP__INIT;
    Antt__V1__ReportFollowUp *fp[] = {&f1, &f2};
    f1.has_at_ms = f2.has_at_ms = 1;
    f1.at_ms = 1795380000000LL;
    f2.at_ms = f1.at_ms + 60000;
    f1.description = "xe cấp cứu chưa tới\r\nngười bị thương nằm giữa đường";
    f2.description = "đã có công an";
    f2.media_url = "https://ex.org/1.jpg";
    Antt__V1__ReportText t = ANTT__V1__REPORT_TEXT__INIT, *tp[] = {&t};
    t.report_id = "0190a1b2-0000-7000-8000-0000000000aa";
    t.description = "hai xe va cham o nga tu";
    t.service_code = "traffic";
    t.has_contact_given = 1;
    t.contact_given = 1;
    t.answers = ap;
    t.n_answers = 1;
    t.follow_ups = fp;
    t.n_follow_ups = 2;
    Antt__V1__TriageReply r = ANTT__V1__TRIAGE_REPLY__INIT;
    r.incident = &u;
    r.reports = tp;
    r.n_reports = 1;

    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cli_incident_show(f, &r);
    fclose(f);
    printf("%s", out);
    const char *text = strstr(out, "hai xe va cham o nga tu");
    const char *ans = strstr(out, "answer: Có ai bị thương không? Có\n");
    const char *fu1 = strstr(out, "follow-up 2026-11-22T20:40:00");
    const char *fu2 = strstr(out, ": đã có công an (https://ex.org/1.jpg)\n");
    assert_non_null(text);
    assert_non_null(ans);
    assert_non_null(fu1);
    assert_non_null(fu2);
    assert_true(text < ans && ans < fu1 && fu1 < fu2); /* in order, under the report */
    /* a follow-up's line breaks stay on one line */
    assert_non_null(strstr(out, "xe cấp cứu chưa tới  người bị thương nằm giữa đường\n"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_show_answers_and_follow_ups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
