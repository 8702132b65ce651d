/* PostgreSQL streaming replication: a primary and a synchronous standby
 * started by the test; the services use a multi-host conninfo with
 * target_session_attrs=read-write. Under a steady load the primary is
 * killed (immediate stop) and the standby promoted: the services find the
 * new primary by themselves, and every report acknowledged before, during
 * and after is on it exactly once, classified. */
#include <setjmp.h>
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
    char pdir[256], sdir[256];
    int pport, sport;
    char conninfo[512];
    at_stack_t st;
    at_load_t load;
} R;

static int s_port(const char *dir)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/port", dir);
    char *p = at_read_file(path, NULL);
    int port = p ? atoi(p) : 0;
    free(p);
    return port;
}

static int s_fixture(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "bash %s/tests/pg/pg-fixture.sh %s > /dev/null", ANTT_SOURCE_DIR, args);
    return system(cmd);
}

static int s_sync(void *arg)
{
    PGconn *c = arg;
    return at_db_long(c, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") == 1;
}

static int s_setup(void **state)
{
    (void)state;
    snprintf(R.pdir, sizeof(R.pdir), "%s/replpg-primary", ANTT_BUILD_DIR);
    snprintf(R.sdir, sizeof(R.sdir), "%s/replpg-standby", ANTT_BUILD_DIR);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "rm -rf %s %s", R.pdir, R.sdir);
    if (system(cmd) != 0)
        return -1;
    char *base = at_pg_start(R.pdir, 0);
    if (base == NULL)
        return -1;
    R.pport = s_port(R.pdir);
    char *ci = at_db_create_in(base, "antt_repl");
    PGconn *p = at_db_connect(ci);
    at_load_gateway(p);
    snprintf(cmd, sizeof(cmd), "standby %s %d", R.sdir, R.pport);
    if (s_fixture(cmd) != 0)
        return -1;
    R.sport = s_port(R.sdir);
    /* commits wait for the standby */
    at_db_exec(p, "ALTER SYSTEM SET synchronous_standby_names = '*'");
    at_db_exec(p, "SELECT pg_reload_conf()");
    if (!at_wait_until(s_sync, p, 20000))
        return -1;
    PQfinish(p);
    free(ci);
    free(base);
    snprintf(R.conninfo, sizeof(R.conninfo),
             "host=127.0.0.1,127.0.0.1 port=%d,%d user=antt dbname=antt_repl target_session_attrs=read-write"
             " connect_timeout=3",
             R.pport, R.sport);
    at_stack_init(&R.st, R.conninfo);
    size_t cap = sizeof(R.st.env) / sizeof(R.st.env[0]);
    at_env_add(R.st.env, cap, "ANTT_INTAKE_REDRIVE_INTERVAL_MS=%s", "500");
    at_env_add(R.st.env, cap, "ANTT_INTAKE_REDRIVE_AFTER_MS=%s", "2000");
    at_env_add(R.st.env, cap, "ANTT_DB_CONNECT_TIMEOUT_S=%s", "60");
    return at_stack_start_all(&R.st);
}

static int s_teardown(void **state)
{
    (void)state;
    at_stack_stop(&R.st);
    at_pg_stop(R.sdir);
    at_pg_stop(R.pdir);
    at_load_free(&R.load);
    return 0;
}

static void test_failover(void **state)
{
    (void)state;
    at_load_start(&R.load, R.st.port[AT_INTAKE], AT_LOAD_KEY, "repl", 2, 20);
    int64_t t0 = antt_now_ms();
    while (antt_now_ms() < t0 + 3000)
        usleep(100 * 1000); /* the load runs a while on the primary */
    long before = R.load.acked;
    char args[512];
    snprintf(args, sizeof(args), "crash %s", R.pdir);
    assert_int_equal(s_fixture(args), 0);
    snprintf(args, sizeof(args), "promote %s", R.sdir);
    assert_int_equal(s_fixture(args), 0);
    int64_t promoted = antt_now_ms();
    long at_promote = R.load.acked;
    while (antt_now_ms() < promoted + 6000)
        usleep(100 * 1000); /* and on the promoted standby */
    at_load_stop(&R.load);
    /* the services reached the new primary: reports were acknowledged after
     * the promotion */
    assert_true(R.load.acked > at_promote + 10);
    char ci[256];
    snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d user=antt dbname=antt_repl", R.sport);
    PGconn *db = at_db_connect(ci);
    at_load_table(&R.load, db);
    int settled = at_load_settled(db, R.load.acked, 60000);
    long stored = at_db_long(db, "SELECT count(DISTINCT a.id) FROM acked a JOIN reports r ON r.id = a.id");
    long dup = at_db_long(db, "SELECT count(*) - count(DISTINCT idempotency_key) FROM reports");
    long classified = at_db_long(db, "SELECT count(*) FROM acked a JOIN incident_reports l ON l.report_id = a.id");
    printf("failover: acked %ld (%ld before the primary died), stored on the promoted standby %ld, lost %ld,"
           " duplicates %ld, classified %ld, retries %ld\n",
           R.load.acked, before, stored, R.load.acked - stored, dup, classified, R.load.retries);
    PQfinish(db);
    assert_true(settled);
    assert_int_equal(stored, R.load.acked);
    assert_int_equal(dup, 0);
    assert_int_equal(classified, R.load.acked);
    for (int i = 0; i < AT_NSERVICES; i++)
        assert_int_equal(at_wait_ready(R.st.port[i], 10000), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failover),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
