/* Integration tests of antt_db (libpq pipeline mode on libuv) against the
 * real PostgreSQL of the fixture. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "antt_db.h"
#include "antt_test.h"
#include "antt_util.h"

typedef struct ctx {
    uv_loop_t loop;      /* loop */
    antt_db_t *db;       /* under test */
    char *conninfo;      /* test database */
    int ups, downs;      /* state callbacks */
    int done;            /* jobs completed */
    int order_ok;        /* completions came in submission order */
    int status[8];       /* statuses of the scenario's jobs */
    char sqlstate[8];    /* of the failing job */
    long value[8];       /* first value of each scenario job's last statement */
    uv_timer_t timer;    /* scenario steps */
    int step;            /* scenario position */
} ctx_t;

static ctx_t C;

static void on_state(antt_db_t *db, int up, void *arg)
{
    ctx_t *c = arg;
    (void)db;
    if (up)
        c->ups++;
    else
        c->downs++;
}

static void on_seq(antt_db_job_t *job, int status, void *arg)
{
    long want = (long)(intptr_t)arg;
    if (status != 0 || atol(PQgetvalue(antt_db_job_result(job, 0), 0, 0)) != want || C.done != want)
        C.order_ok = 0;
    C.done++;
}

static void on_status(antt_db_job_t *job, int status, void *arg)
{
    int slot = (int)(intptr_t)arg;
    C.status[slot] = status;
    C.value[slot] = -1;
    if (status == -EIO && antt_db_job_sqlstate(job))
        snprintf(C.sqlstate, sizeof(C.sqlstate), "%s", antt_db_job_sqlstate(job));
    if (status == 0) {
        PGresult *r = antt_db_job_result(job, antt_db_job_count(job) - 1);
        if (PQntuples(r) > 0 && PQnfields(r) > 0)
            C.value[slot] = atol(PQgetvalue(r, 0, 0));
    }
    C.done++;
}

static void stop(void)
{
    uv_close((uv_handle_t *)&C.timer, NULL);
    antt_db_close(C.db, NULL, NULL);
}

static void step(uv_timer_t *t)
{
    (void)t;
    if (C.step == 0) {
        if (!antt_db_connected(C.db))
            return; /* the timer repeats */
        C.step = 1;
        /* 100 pipelined jobs complete in order */
        C.order_ok = 1;
        for (long i = 0; i < 100; i++) {
            char v[16];
            snprintf(v, sizeof(v), "%ld", i);
            const char *p[] = {v};
            antt_db_job_t *j = antt_db_job_new(on_seq, (void *)(intptr_t)i);
            antt_db_job_add(j, "SELECT $1::int", 1, p, NULL, NULL);
            assert_int_equal(antt_db_submit(C.db, j), 0);
        }
        /* a failing statement rolls its whole job back */
        antt_db_job_t *j = antt_db_job_new(on_status, (void *)(intptr_t)0);
        antt_db_job_add(j, "INSERT INTO t VALUES (1)", 0, NULL, NULL, NULL);
        antt_db_job_add(j, "INSERT INTO t VALUES (1)", 0, NULL, NULL, NULL);
        assert_int_equal(antt_db_submit(C.db, j), 0);
        /* the next job is not affected; it sees nothing of the failed one */
        j = antt_db_job_new(on_status, (void *)(intptr_t)1);
        antt_db_job_add(j, "SELECT count(*) FROM t", 0, NULL, NULL, NULL);
        assert_int_equal(antt_db_submit(C.db, j), 0);
        /* prepared statements */
        const char *p[] = {"20", "22"};
        j = antt_db_job_new(on_status, (void *)(intptr_t)2);
        antt_db_job_add_prepared(j, "add", 2, p, NULL, NULL);
        assert_int_equal(antt_db_submit(C.db, j), 0);
        return;
    }
    if (C.step == 1) {
        if (C.done < 103)
            return;
        assert_true(C.order_ok);
        assert_int_equal(C.status[0], -EIO);
        assert_string_equal(C.sqlstate, "23505");
        assert_int_equal(C.status[1], 0);
        assert_int_equal(C.value[1], 0); /* the failed job's first insert was rolled back */
        assert_int_equal(C.status[2], 0);
        assert_int_equal(C.value[2], 42);
        /* the server ends our connection: a job in flight learns it, the db
         * reconnects by itself and prepares its statements again */
        C.step = 2;
        antt_db_job_t *j = antt_db_job_new(on_status, (void *)(intptr_t)3);
        antt_db_job_add(j, "SELECT pg_terminate_backend(pg_backend_pid())", 0, NULL, NULL, NULL);
        assert_int_equal(antt_db_submit(C.db, j), 0);
        return;
    }
    if (C.step == 2) {
        if (C.done < 104 || C.ups < 2 || !antt_db_connected(C.db))
            return;
        assert_int_equal(C.status[3], -ECONNRESET);
        assert_int_equal(C.downs, 1);
        C.step = 3;
        const char *p[] = {"1", "2"};
        antt_db_job_t *j = antt_db_job_new(on_status, (void *)(intptr_t)4);
        antt_db_job_add_prepared(j, "add", 2, p, NULL, NULL);
        assert_int_equal(antt_db_submit(C.db, j), 0);
        return;
    }
    if (C.step == 3 && C.done >= 105) {
        assert_int_equal(C.status[4], 0);
        assert_int_equal(C.value[4], 3);
        stop();
    }
}

static void test_db_pipeline_errors_reconnect(void **state)
{
    (void)state;
    C.conninfo = at_db_create("t_db");
    PGconn *pc = at_db_connect(C.conninfo);
    at_db_exec(pc, "CREATE TABLE t (x int PRIMARY KEY)");
    PQfinish(pc);
    assert_int_equal(uv_loop_init(&C.loop), 0);
    C.db = antt_db_new(&C.loop, C.conninfo, "test");
    antt_db_set_state_cb(C.db, on_state, &C);
    antt_db_prepare(C.db, "add", "SELECT $1::int + $2::int", 2);
    /* not connected yet: refused at once */
    antt_db_job_t *j = antt_db_job_new(on_status, NULL);
    antt_db_job_add(j, "SELECT 1", 0, NULL, NULL, NULL);
    assert_int_equal(antt_db_submit(C.db, j), -ENOTCONN);
    antt_db_start(C.db);
    uv_timer_init(&C.loop, &C.timer);
    uv_timer_start(&C.timer, step, 10, 10);
    uv_run(&C.loop, UV_RUN_DEFAULT);
    assert_int_equal(C.step, 3);
    assert_int_equal(uv_loop_close(&C.loop), 0);
    free(C.conninfo);
}

/* an unreachable server: never connected, jobs refused, close is clean */
static void on_timeout(uv_timer_t *t)
{
    antt_db_t *db = t->data;
    assert_false(antt_db_connected(db));
    antt_db_close(db, NULL, NULL);
    uv_close((uv_handle_t *)t, NULL);
}

static void test_db_unreachable(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char ci[128];
    snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d user=antt dbname=x connect_timeout=2", at_free_port());
    antt_db_t *db = antt_db_new(&loop, ci, "unreachable");
    antt_db_start(db);
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = db;
    uv_timer_start(&t, on_timeout, 300, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- a deadlock: rolled back, and sent again when the job allows it ---- */

/* Two rounds of the same deadlock. The job takes advisory lock 1, waits for
 * lock 3 (held by session T), then wants lock 2 (held by session S). Once
 * the job waits for 3, S asks for 1 and waits for the job; T then lets 3
 * go, and the job, waiting for 2, closes the cycle. The job's session looks
 * for deadlocks after 50 ms, S's after 10 s: the job is the one rolled back.
 * Round 0: the job has no retries and fails with 40P01. Round 1: it has
 * one, is sent again at once, waits for S to commit, and succeeds. */
typedef struct s_dl {
    uv_loop_t loop;
    antt_db_t *db;
    uv_timer_t timer;
    PGconn *s, *t, *m; /* holder of 2, holder of 3, monitor */
    int round, step;
    int status[2], attempts[2];
    char sqlstate[2][8];
    long value[2];
    int done[2];
    uint64_t t0; /* the scenario's start: it fails after 30 s rather than hang */
} s_dl_t;

static s_dl_t D;

static void on_dl(antt_db_job_t *job, int status, void *arg)
{
    (void)arg;
    D.status[D.round] = status;
    D.attempts[D.round] = antt_db_job_attempts(job);
    snprintf(D.sqlstate[D.round], sizeof(D.sqlstate[D.round]), "%s",
             antt_db_job_sqlstate(job) ? antt_db_job_sqlstate(job) : "");
    D.value[D.round] = status == 0 ? atol(PQgetvalue(antt_db_job_result(job, 3), 0, 0)) : -1;
    D.done[D.round] = 1;
}

static void dl_step(uv_timer_t *t)
{
    (void)t;
    if (antt_mono_ns() - D.t0 > 30ull * 1000000000ull)
        fail_msg("the deadlock scenario is stuck at round %d, step %d", D.round, D.step);
    if (D.step == 0) {
        if (!antt_db_connected(D.db))
            return;
        at_db_exec(D.t, "BEGIN");
        at_db_exec(D.t, "SELECT pg_advisory_xact_lock(3)");
        at_db_exec(D.s, "BEGIN");
        at_db_exec(D.s, "SET LOCAL deadlock_timeout = '10s'");
        at_db_exec(D.s, "SELECT pg_advisory_xact_lock(2)");
        antt_db_job_t *j = antt_db_job_new(on_dl, NULL);
        antt_db_job_add(j, "SELECT set_config('deadlock_timeout', '50ms', true)", 0, NULL, NULL, NULL);
        antt_db_job_add(j, "SELECT pg_advisory_xact_lock(1), pg_advisory_xact_lock(3)", 0, NULL, NULL, NULL);
        antt_db_job_add(j, "SELECT pg_advisory_xact_lock(2)", 0, NULL, NULL, NULL);
        antt_db_job_add(j, "SELECT 7", 0, NULL, NULL, NULL);
        antt_db_job_set_retries(j, D.round);
        assert_int_equal(antt_db_submit(D.db, j), 0);
        D.step = 1;
        return;
    }
    if (D.step == 1) {
        /* the job holds 1 and waits for 3 */
        if (at_db_long(D.m, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") < 1)
            return;
        assert_int_equal(PQsendQuery(D.s, "SELECT pg_advisory_xact_lock(1)"), 1);
        D.step = 2;
        return;
    }
    if (D.step == 2) {
        /* S waits for 1 too: let 3 go */
        if (at_db_long(D.m, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") < 2)
            return;
        at_db_exec(D.t, "COMMIT");
        D.step = 3;
        return;
    }
    if (D.step == 3) {
        /* the job is rolled back: S gets 1 */
        assert_int_equal(PQconsumeInput(D.s), 1);
        if (PQisBusy(D.s))
            return;
        PGresult *r;
        while ((r = PQgetResult(D.s)) != NULL) {
            assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
            PQclear(r);
        }
        at_db_exec(D.s, "COMMIT");
        D.step = 4;
        return;
    }
    if (D.step == 4 && D.done[D.round]) {
        if (D.round == 0) {
            D.round = 1;
            D.step = 0;
            return;
        }
        uv_close((uv_handle_t *)&D.timer, NULL);
        antt_db_close(D.db, NULL, NULL);
    }
}

static void test_db_deadlock_retry(void **state)
{
    (void)state;
    char *ci = at_db_create("t_db_deadlock");
    D.s = at_db_connect(ci);
    D.t = at_db_connect(ci);
    D.m = at_db_connect(ci);
    assert_int_equal(uv_loop_init(&D.loop), 0);
    D.db = antt_db_new(&D.loop, ci, "test");
    antt_db_start(D.db);
    D.t0 = antt_mono_ns();
    uv_timer_init(&D.loop, &D.timer);
    uv_timer_start(&D.timer, dl_step, 10, 10);
    uv_run(&D.loop, UV_RUN_DEFAULT);
    printf("deadlock: without retries the job failed (%d, SQLSTATE %s, sent %d time); with one it was sent %d"
           " times and committed (%d, value %ld)\n",
           D.status[0], D.sqlstate[0], D.attempts[0], D.attempts[1], D.status[1], D.value[1]);
    assert_int_equal(D.status[0], -EIO);
    assert_string_equal(D.sqlstate[0], "40P01");
    assert_int_equal(D.attempts[0], 1);
    assert_int_equal(D.status[1], 0);
    assert_int_equal(D.attempts[1], 2);
    assert_int_equal(D.value[1], 7);
    assert_int_equal(uv_loop_close(&D.loop), 0);
    PQfinish(D.s);
    PQfinish(D.t);
    PQfinish(D.m);
    free(ci);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_db_pipeline_errors_reconnect),
        cmocka_unit_test(test_db_unreachable),
        cmocka_unit_test(test_db_deadlock_retry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
