/* Crash loop: a steady load of unique reports while a random service is
 * killed with SIGKILL every few seconds and PostgreSQL is stopped with
 * `pg_ctl stop -m immediate` twice. Afterwards every acknowledged report is
 * stored exactly once, classified and routed, the trend counts equal a count
 * over the incidents table, and every restarted service was ready within
 * 5 s. Prints the totals.
 *
 * ANTT_FAULT_SECONDS sets how long the chaos lasts (default 24: the quick
 * version `make test` runs; `make soak` runs it for 10 minutes). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "antt_test.h"
#include "antt_util.h"


static struct {
    char dir[256];
    int pgport;
    char *base, *conninfo;
    at_stack_t st;
    at_load_t load;
} F;

static int s_setup(void **state)
{
    (void)state;
    snprintf(F.dir, sizeof(F.dir), "%s/faultpg", ANTT_BUILD_DIR);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", F.dir);
    if (system(cmd) != 0)
        return -1;
    F.base = at_pg_start(F.dir, 0);
    if (F.base == NULL)
        return -1;
    char path[300];
    snprintf(path, sizeof(path), "%s/port", F.dir);
    char *p = at_read_file(path, NULL);
    F.pgport = p ? atoi(p) : 0;
    free(p);
    F.conninfo = at_db_create_in(F.base, "antt_faults");
    PGconn *db = at_db_connect(F.conninfo);
    at_load_gateway(db);
    PQfinish(db);
    at_stack_init(&F.st, F.conninfo);
    at_stack_fault_settings(&F.st);
    if (at_stack_start_all(&F.st) != 0)
        return -1;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    at_stack_stop(&F.st);
    at_pg_stop(F.dir);
    at_load_free(&F.load);
    return 0;
}

static long s_long(PGconn *c, const char *sql)
{
    return at_db_long(c, sql);
}

static void test_crash_loop(void **state)
{
    (void)state;
    const char *secs = getenv("ANTT_FAULT_SECONDS");
    int seconds = secs && atoi(secs) > 0 ? atoi(secs) : 24;
    at_load_start(&F.load, F.st.port[AT_INTAKE], AT_LOAD_KEY, "fault", 2, 10); /* about 100 reports/s */
    unsigned seed = (unsigned)getpid();
    int kills[AT_NSERVICES] = {0}, pg_crashes = 0;
    int64_t end = antt_now_ms() + seconds * 1000LL, next_pg = antt_now_ms() + seconds * 1000LL / 3;
    while (antt_now_ms() < end) {
        /* every ~2 s: one service killed, restarted, ready within 5 s */
        int64_t until = antt_now_ms() + 1500 + rand_r(&seed) % 1000;
        while (antt_now_ms() < until)
            usleep(50 * 1000); /* the pace of the chaos, not a synchronisation */
        if (pg_crashes < 2 && antt_now_ms() >= next_pg) {
            char cmd[512];
            snprintf(cmd, sizeof(cmd), "bash %s/tests/pg/pg-fixture.sh crash %s", ANTT_SOURCE_DIR, F.dir);
            assert_int_equal(system(cmd), 0);
            pg_crashes++;
            usleep(300 * 1000); /* PostgreSQL stays down a moment */
            char *again = at_pg_start(F.dir, F.pgport);
            assert_non_null(again);
            free(again);
            next_pg = antt_now_ms() + seconds * 1000LL / 3;
            continue;
        }
        int i = rand_r(&seed) % AT_NSERVICES;
        at_stop(&F.st.svc[i], SIGKILL, 5000);
        if (at_stack_start(&F.st, i, 5000) != 0)
            fail_msg("%s was not ready within 5 s of its restart (log %s)", at_service_names[i], F.st.svc[i].log);
        kills[i]++;
    }
    at_load_stop(&F.load);

    /* the books against the database */
    PGconn *db = at_db_connect(F.conninfo);
    at_load_table(&F.load, db);
    int settled = at_load_settled(db, F.load.acked, 90000);
    long stored = s_long(db, "SELECT count(*) FROM acked a JOIN reports r ON r.id = a.id");
    long distinct_stored = s_long(db, "SELECT count(DISTINCT a.id) FROM acked a JOIN reports r ON r.id = a.id");
    long keys = s_long(db, "SELECT count(*) FROM reports WHERE idempotency_key LIKE 'fault-%'");
    long distinct_keys = s_long(db, "SELECT count(DISTINCT idempotency_key) FROM reports WHERE idempotency_key LIKE 'fault-%'");
    long routed = s_long(db, "SELECT count(*) FROM acked a JOIN incident_reports l ON l.report_id = a.id"
                             " JOIN incidents i ON i.id = l.incident_id AND i.desk_code IS NOT NULL");
    long counted = s_long(db, "SELECT count(*) FROM incidents WHERE status NOT IN ('rejected', 'merged')");
    long trend = s_long(db, "SELECT COALESCE(sum(n1 + n2 + n3 + n4), 0) FROM trend_counts WHERE grain = 'd'");
    long trend_m = s_long(db, "SELECT COALESCE(sum(n1 + n2 + n3 + n4), 0) FROM trend_counts WHERE grain = 'm'");
    printf("crash loop, %d s: sent %ld, acked %ld, stored %ld, duplicates %ld, lost %ld, routed %ld;"
           " retries %ld (no answer %ld, 4xx %ld, 5xx %ld); kills intake %d, classification %d, notification %d, aggregation %d;"
           " PostgreSQL crashes %d; incidents counted %ld, trend total %ld (days) %ld (months)\n",
           seconds, F.load.sent, F.load.acked, stored, keys - distinct_keys, F.load.acked - distinct_stored, routed, F.load.retries,
           F.load.retry_by[0], F.load.retry_by[4], F.load.retry_by[5],
           kills[0], kills[1], kills[2], kills[3], pg_crashes, counted, trend, trend_m);
    PQfinish(db);
    assert_true(settled);
    assert_true(F.load.acked > 0);
    assert_int_equal(stored, F.load.acked);
    assert_int_equal(distinct_stored, F.load.acked);
    assert_int_equal(keys, distinct_keys);
    assert_int_equal(routed, F.load.acked);
    assert_int_equal(trend, counted);
    assert_int_equal(trend_m, counted);
    assert_int_equal(pg_crashes, 2);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_loop),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
