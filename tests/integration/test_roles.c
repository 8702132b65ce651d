/* The services' PostgreSQL roles (migration 008): each can do its own work
 * and nothing else; none can change the schema; only notification can read
 * a sealed contact (intake writes it, migration 013). A service started on
 * a database whose schema is behind waits for `antt migrate` and says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "antt_test.h"

static char *s_conninfo;

typedef struct check_s {
    const char *role;  /* antt_<role> */
    const char *sql;   /* run in a transaction that is rolled back */
    const char *state; /* expected SQLSTATE, "" for success */
} check_t;

static const check_t s_checks[] = {
    /* nobody changes the schema or the immutable records */
    {"intake", "CREATE TABLE x (a int)", "42501"},
    {"classification", "CREATE TABLE x (a int)", "42501"},
    {"notification", "CREATE TABLE x (a int)", "42501"},
    {"aggregation", "CREATE TABLE x (a int)", "42501"},
    {"intake", "ALTER TABLE reports ADD COLUMN x int", "42501"},
    {"notification", "DELETE FROM reports", "42501"},
    {"notification", "UPDATE reports SET description = ''", "42501"},
    {"intake", "UPDATE reports SET description = ''", "42501"},
    {"classification", "DELETE FROM incident_events", "42501"},
    /* the sealed contact: notification (its opener) reads it; intake (its
     * writer) writes it and reads only whether there is one */
    {"intake", "SELECT count(contact_sealed) FROM reports", "42501"},
    {"intake", "SELECT contact_sealed FROM reports LIMIT 1", "42501"},
    {"intake", "SELECT * FROM reports LIMIT 1", "42501"},
    {"intake", "SELECT count(*), count(description), count(reporter_hash) FROM reports", ""},
    {"intake", "SELECT count(*) FILTER (WHERE contact_given) FROM reports_for_push", ""},
    {"classification", "SELECT count(*) FROM reports_for_push", "42501"},
    {"notification", "SELECT count(contact_sealed) FROM reports", ""},
    {"classification", "SELECT count(contact_sealed) FROM reports", "42501"},
    {"classification", "SELECT count(reporter_hash) FROM reports", "42501"},
    {"classification", "SELECT count(description) FROM reports", ""},
    {"aggregation", "SELECT count(*) FROM reports", "42501"},
    {"aggregation", "SELECT count(description) FROM reports", "42501"},
    /* each its own tables */
    {"intake", "SELECT count(*) FROM dispatchers", "42501"},
    {"classification", "SELECT count(*) FROM dispatchers", "42501"},
    {"aggregation", "SELECT count(*) FROM dispatchers", "42501"},
    {"notification", "SELECT count(*) FROM dispatchers", ""},
    {"intake", "UPDATE incidents SET status = status", "42501"},
    {"aggregation", "UPDATE incidents SET status = status", "42501"},
    {"notification", "UPDATE incidents SET status = status", ""},
    {"intake", "SELECT count(*) FROM trend_counts", "42501"},
    {"notification", "DELETE FROM trend_counts", "42501"},
    {"aggregation", "DELETE FROM trend_queue", ""},
    {"intake", "UPDATE gateways SET active = false", "42501"},
    {"notification", "UPDATE gateways SET active = false", "42501"},
    {"classification", "SELECT count(*) FROM gateways", "42501"},
    {"intake", "SELECT count(*) FROM gateways", ""},
    {"aggregation", "SELECT count(*) FROM webhook_deliveries", "42501"},
    /* the state-changing functions belong to their service */
    {"intake", "SELECT antt_trend_rebuild()", "42501"},
    {"aggregation", "SELECT antt_trend_rebuild()", "42501"},
    {"aggregation", "SELECT count(*) FROM antt_escalate_due('{60,300,3600,86400}', 10)", "42501"},
    {"notification", "SELECT count(*) FROM antt_escalate_due('{60,300,3600,86400}', 10)", ""},
    /* 010: dispatchers' corrections, for classification's training; the
     * desk feeds' journal, notification's alone */
    {"classification", "SELECT count(*) FROM classification_corrections", ""},
    {"classification", "DELETE FROM classification_corrections", "42501"},
    {"notification", "SELECT count(*) FROM classification_corrections", ""},
    {"notification", "UPDATE classification_corrections SET reason = ''", "42501"},
    {"aggregation", "SELECT count(*) FROM classification_corrections", "42501"},
    {"notification", "SELECT count(*) FROM antt_desk_feed_prune(interval '1 day')", ""},
    {"aggregation", "SELECT count(*) FROM desk_feed", "42501"},
    {"classification", "SELECT count(*) FROM antt_desk_feed_append('[]')", "42501"},
    /* partitions ahead: the owner's function, for antt's partitioned tables only */
    {"intake", "SELECT antt_ensure_month_partitions('reports', current_date, 2)", ""},
    {"classification", "SELECT antt_ensure_month_partitions('incident_events', current_date, 2)", ""},
    {"intake", "SELECT antt_ensure_month_partitions('gateways', current_date, 2)", "22023"},
    {"aggregation", "SELECT antt_ensure_month_partitions('reports', current_date, 2)", "42501"},
};

static int s_setup(void **state)
{
    (void)state;
    s_conninfo = at_db_create("antt_test_roles");
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    free(s_conninfo);
    return 0;
}

static void test_privileges(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof(s_checks) / sizeof(s_checks[0]); i++) {
        const check_t *k = &s_checks[i];
        char ci[1024];
        snprintf(ci, sizeof(ci), "%s user=antt_%s", s_conninfo, k->role);
        PGconn *c = at_db_connect(ci);
        at_db_exec(c, "BEGIN");
        PGresult *r = PQexec(c, k->sql);
        ExecStatusType st = PQresultStatus(r);
        const char *got = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? ""
                                                                           : PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (got == NULL || strcmp(got, k->state) != 0) {
            fprintf(stderr, "antt_%s: %s: want %s, got %s %s\n", k->role, k->sql, *k->state ? k->state : "success",
                    got && *got ? got : "success", PQresultErrorMessage(r));
            failures++;
        }
        PQclear(r);
        PQclear(PQexec(c, "ROLLBACK"));
        PQfinish(c);
    }
    printf("roles: %zu privilege checks (intake reading contact_sealed among them), %d not as they should be\n",
           sizeof(s_checks) / sizeof(s_checks[0]), failures);
    assert_int_equal(failures, 0);
}

static int s_ended(void *arg)
{
    return !at_running(arg);
}

/* A service on a database that has no schema (or an old one) waits for
 * `antt migrate` (it may not migrate itself) and, past its timeout, says so. */
static void test_service_needs_migrate(void **state)
{
    (void)state;
    PGconn *owner = at_db_connect(s_conninfo);
    at_db_exec(owner, "DROP DATABASE IF EXISTS antt_test_roles_empty");
    at_db_exec(owner, "CREATE DATABASE antt_test_roles_empty");
    at_db_exec(owner, "GRANT CONNECT ON DATABASE antt_test_roles_empty TO antt_aggregation");
    PQfinish(owner);
    char ci[1024], *env[8] = {NULL};
    const char *db = strstr(s_conninfo, "dbname=");
    assert_non_null(db);
    snprintf(ci, sizeof(ci), "%.*sdbname=antt_test_roles_empty", (int)(db - s_conninfo), s_conninfo);
    at_env_add(env, 8, "ANTT_DB_CONNINFO=%s", ci);
    at_env_add(env, 8, "ANTT_DB_CONNECT_TIMEOUT_S=%s", "1");
    at_env_add(env, 8, "ANTT_AGGREGATION_HTTP=%s", "127.0.0.1:0");
    at_proc_t p = {0};
    assert_int_equal(at_spawn(&p, "aggregation", env), 0);
    assert_true(at_wait_until(s_ended, &p, 10000));
    assert_true(WIFEXITED(p.status) && WEXITSTATUS(p.status) != 0);
    char *log = at_read_file(p.log, NULL);
    assert_non_null(log);
    assert_non_null(strstr(log, "run antt migrate"));
    free(log);
    for (int i = 0; env[i]; i++)
        free(env[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_privileges),
        cmocka_unit_test(test_service_needs_migrate),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
