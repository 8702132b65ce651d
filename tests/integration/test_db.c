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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_db_pipeline_errors_reconnect),
        cmocka_unit_test(test_db_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
