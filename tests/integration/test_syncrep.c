/* syncrep_integration: a commit whose wait for the synchronous standby is
 * cancelled returns success in PostgreSQL, with only a WARNING that it "has
 * already committed locally, but might not have been replicated to the
 * standby"; after a failover it may be gone. antt_db must not report such
 * a job as committed (intake would acknowledge a report that a failover
 * then loses): it ends -ECONNRESET, outcome unknown, and the gateway
 * retries with its idempotency key. A private cluster whose
 * synchronous_standby_names names a standby that never comes makes every
 * commit wait; the test cancels the wait as an operator's pg_cancel_backend
 * would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <uv.h>

#include "antt_db.h"
#include "antt_test.h"
#include "antt_util.h"

static struct {
    char dir[256];
    char *base;
    PGconn *admin;        /* cancels the wait */
    int status;           /* the job's */
    int done;
    int cancelled;        /* backends cancelled while waiting for SyncRep */
} T = {.status = 1};

static void s_on_job(antt_db_job_t *job, int status, void *arg)
{
    (void)job;
    (void)arg;
    T.status = status;
    T.done = 1;
}

static void s_on_tick(uv_timer_t *t)
{
    if (T.done) {
        uv_timer_stop(t);
        return;
    }
    T.cancelled += (int)at_db_long(T.admin, "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity"
                                            " WHERE wait_event = 'SyncRep'");
}

static void s_on_closed(void *arg)
{
    (void)arg;
}

static void test_cancelled_sync_wait_is_not_a_commit(void **state)
{
    (void)state;
    snprintf(T.dir, sizeof(T.dir), "%s/syncreppg", ANTT_BUILD_DIR);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", T.dir);
    assert_int_equal(system(cmd), 0);
    T.base = at_pg_start(T.dir, 0);
    assert_non_null(T.base);
    char *ci = antt_xasprintf("%s dbname=postgres", T.base);
    T.admin = at_db_connect(ci);
    at_db_exec(T.admin, "CREATE TABLE t (x int)");
    at_db_exec(T.admin, "ALTER SYSTEM SET synchronous_standby_names = 'nobody'");
    at_db_exec(T.admin, "SELECT pg_reload_conf()");

    uv_loop_t loop;
    uv_loop_init(&loop);
    antt_db_t *db = antt_db_new(&loop, ci, "syncrep");
    antt_db_start(db);
    while (!antt_db_connected(db))
        uv_run(&loop, UV_RUN_ONCE);
    antt_db_job_t *job = antt_db_job_new(s_on_job, NULL);
    antt_db_job_add(job, "INSERT INTO t VALUES (1)", 0, NULL, NULL, NULL);
    assert_int_equal(antt_db_submit(db, job), 0);
    uv_timer_t tick;
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, s_on_tick, 50, 50);
    int64_t end = antt_now_ms() + 30000;
    while (!T.done && antt_now_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
    long rows = at_db_long(T.admin, "SELECT count(*) FROM t");
    printf("a commit whose synchronous wait was cancelled (%d cancel): job status %d (%s), rows on the primary %ld\n",
           T.cancelled, T.status, T.status == -ECONNRESET ? "outcome unknown" : T.status == 0 ? "committed" : "failed",
           rows);
    uv_close((uv_handle_t *)&tick, NULL);
    antt_db_close(db, s_on_closed, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    at_db_exec(T.admin, "ALTER SYSTEM RESET synchronous_standby_names");
    at_db_exec(T.admin, "SELECT pg_reload_conf()");
    PQfinish(T.admin);
    at_pg_stop(T.dir);
    free(ci);
    free(T.base);
    assert_true(T.done);
    assert_true(T.cancelled >= 1);
    assert_int_equal(rows, 1);          /* committed locally, as PostgreSQL says */
    assert_int_equal(T.status, -ECONNRESET); /* but never reported as committed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancelled_sync_wait_is_not_a_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
