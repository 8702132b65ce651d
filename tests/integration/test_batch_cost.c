/* What a batch statement reads grows with the batch, not with its square:
 * antt_classify_apply() against a real PostgreSQL, read from its executed
 * plan (auto_explain, sent to the client) in index conditions and buffers
 * touched, which do not depend on the machine's speed the way a time
 * would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "antt_test.h"
#include "antt_util.h"

#define S_N 200 /* reports in a batch */

/* One batch of S_N reports of one category, report g at (10.70 + g * 0.002,
 * 106.6): 222 m apart, so that each is its own incident or joins the one at
 * its point, and none joins a neighbour's (radius 150 m). */
static long s_apply(PGconn *c)
{
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM antt_classify_apply("
             " (SELECT jsonb_agg(jsonb_build_object('report_id', gen_random_uuid(), 'incident_id', gen_random_uuid(),"
             "   'category', 'gambling', 'priority', 3, 'confidence', 0.9, 'reasons', '[]'::jsonb,"
             "   'lat', 10.70 + g * 0.002, 'lon', 106.6, 'received_at', now()) ORDER BY g)"
             "  FROM generate_series(1, %d) g),"
             " 150, 3600, '{60,300,3600,86400}', 'DESK-HCM-BTA', array_fill(0, ARRAY[%d]))",
             S_N, S_N);
    return at_db_long(c, sql);
}

/* the plans auto_explain logs, as they reach the client */
static void s_notice(void *arg, const char *msg)
{
    antt_buf_puts(arg, msg);
}

/* The part `name` of the plan in b, from "CTE name" to the next part
 * (a copy), or NULL. */
static char *s_part(const char *b, const char *name)
{
    char head[64];
    snprintf(head, sizeof(head), "CTE %s\n", name);
    const char *from = strstr(b, head);
    if (from == NULL)
        return NULL;
    from += strlen(head);
    const char *end = strstr(from, "\n  CTE ");
    return antt_xstrndup(from, end ? (size_t)(end - from) : strlen(from));
}

/* A burst: S_N reports that each join an open incident. Growing them probes
 * each incident once (migration 025); the lookup it replaced could, in the
 * plan the statistics gave, walk every joined incident again for each. */
static void test_joining_batch_reads_each_incident_once(void **state)
{
    (void)state;
    char *ci = at_db_create("t_batch_cost");
    PGconn *c = at_db_connect(ci);
    assert_int_equal(s_apply(c), S_N);
    assert_int_equal(at_db_long(c, "SELECT count(*) FROM incidents"), S_N);
    antt_buf_t plans = {0};
    PQnoticeProcessor old = PQsetNoticeProcessor(c, s_notice, &plans);
    at_db_exec(c, "LOAD 'auto_explain'");
    at_db_exec(c, "SET auto_explain.log_min_duration = 0");
    at_db_exec(c, "SET auto_explain.log_analyze = on");
    at_db_exec(c, "SET auto_explain.log_timing = off");
    at_db_exec(c, "SET auto_explain.log_buffers = on");
    at_db_exec(c, "SET auto_explain.log_nested_statements = on");
    at_db_exec(c, "SET client_min_messages = log");
    assert_int_equal(s_apply(c), S_N);
    at_db_exec(c, "SET client_min_messages = notice");
    PQsetNoticeProcessor(c, old, NULL);
    assert_non_null(plans.data);
    assert_non_null(strstr(plans.data, "Update on incidents"));
    char *grown = s_part(plans.data, "grown");
    assert_non_null(grown);
    /* its one way in: a probe of incidents_pkey by each target; with the
     * whole array of targets beside it in the index condition, a plan the
     * planner may choose by the statistics walked the array for each target
     * (seen: 1,225 rows read and discarded for a batch of 50) */
    assert_non_null(strstr(grown, "Index Cond: (id = g.target)\n"));
    assert_null(strstr(grown, "ANY"));
    const char *hits = strstr(grown, "Buffers: shared hit=");
    assert_non_null(hits);
    long pages = strtol(hits + strlen("Buffers: shared hit="), NULL, 10);
    print_message("buffers the growing of %d incidents touched: %ld\n", S_N, pages);
    assert_in_range(pages, 1, 15 * S_N);
    free(grown);
    free(plans.data);
    assert_int_equal(at_db_long(c, "SELECT count(*) FROM incidents"), S_N);
    assert_int_equal(at_db_long(c, "SELECT count(*) FROM incidents WHERE report_count = 2 AND version = 2"), S_N);
    assert_int_equal(at_db_long(c, "SELECT count(*) FROM incident_reports"), 2 * S_N);
    PQfinish(c);
    free(ci);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_joining_batch_reads_each_incident_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
