/* standby_integration: no singleton without a standby. Two notifications
 * and two aggregations on one stack (classification publishes to all four),
 * a steady load, short deadlines (escalations every few seconds) and a
 * webhook receiver; the active notification and aggregation are killed
 * (kill -9), then the new active ones are frozen (SIGSTOP) beyond
 * leader.timeout_ms and thawed. Each time the standby must take over within
 * seconds (the figures are printed), a thawed leader must come back as a
 * standby, and at the end nothing has been done twice: no deadline
 * escalated twice, no webhook-id received twice, the trend totals equal to
 * the incidents, every acknowledged report stored once. */
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
#include "at_hook.h"

#define S_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define S_TAKEOVER_MS 15000 /* generous: the machine is shared; the figure is printed */

static struct {
    char *conninfo;
    at_stack_t st;
    at_load_t load;
    at_hook_t hook;
    at_proc_t second[AT_NSERVICES]; /* the second notification and aggregation */
    int second_port[AT_NSERVICES];
    char ep[AT_NSERVICES][3][64];   /* their bound endpoints */
} T = {.hook = {.fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER}};

static void s_ep(char *out)
{
    snprintf(out, 64, "tcp://127.0.0.1:%d", at_free_port());
}

/* GET /readyz: its status, the body's first word into out. */
static int s_readyz(int port, char *out, size_t len)
{
    char url[96], *body = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", port);
    int st = at_http("GET", url, NULL, NULL, 0, &body);
    snprintf(out, len, "%s", body ? body : "");
    out[strcspn(out, "\n")] = 0;
    free(body);
    return st;
}

static int s_is_standby(void *arg)
{
    char b[128];
    return s_readyz(*(int *)arg, b, sizeof(b)) == 503 && !strcmp(b, "standby");
}

/* The port of instance k (0: the stack's, 1: the second) of service i. */
static int s_port(int i, int k)
{
    return k ? T.second_port[i] : T.st.port[i];
}

static at_proc_t *s_proc(int i, int k)
{
    return k ? &T.second[i] : &T.st.svc[i];
}

/* Starts instance k (0: the stack's, 1: the second, on endpoints of its
 * own) of notification or aggregation; returns once it says it is a
 * standby (the first of all is active at once: the caller waits for that). */
static int s_spawn(int i, int k)
{
    static const char *const keys[AT_NSERVICES][3] = {
        [AT_NOTIFICATION] = {"ANTT_NOTIFICATION_CLASSIFIED_ENDPOINT", "ANTT_NOTIFICATION_FEED_ENDPOINT",
                             "ANTT_NOTIFICATION_TRIAGE_ENDPOINT"},
        [AT_AGGREGATION] = {"ANTT_AGGREGATION_CLASSIFIED_ENDPOINT", "ANTT_AGGREGATION_PUBLISH_ENDPOINT",
                            "ANTT_AGGREGATION_SNAPSHOT_ENDPOINT"},
    };
    char kv[3][160];
    const char *extra[4] = {NULL};
    for (int j = 0; k && j < 3; j++) {
        snprintf(kv[j], sizeof(kv[j]), "%s=%s", keys[i][j], T.ep[i][j]);
        extra[j] = kv[j];
    }
    if (at_stack_spawn_extra(&T.st, i, s_proc(i, k), k ? "b" : "a", s_port(i, k), extra) != 0)
        return -1;
    int port = s_port(i, k);
    return at_wait_until(s_is_standby, &port, 30000) ? 0 : -1;
}

static int s_setup(void **state)
{
    (void)state;
    T.conninfo = at_db_create("standby");
    PGconn *db = at_db_connect(T.conninfo);
    at_load_gateway(db);
    if (at_hook_start(&T.hook, at_free_port()) != 0)
        return -1;
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO webhook_destinations (code, url, secret, desk_code) VALUES"
             " ('district', 'http://127.0.0.1:%d/hook', '" S_SECRET "', 'DESK-HCM-BTA')",
             T.hook.port);
    at_db_exec(db, sql);
    PQfinish(db);
    at_stack_init(&T.st, T.conninfo);
    size_t cap = sizeof(T.st.env) / sizeof(T.st.env[0]);
    for (int i = AT_NOTIFICATION; i <= AT_AGGREGATION; i++) {
        for (int j = 0; j < 3; j++)
            s_ep(T.ep[i][j]);
        T.second_port[i] = at_free_port();
    }
    /* classification publishes to both of each */
    char pub[512];
    snprintf(pub, sizeof(pub), "notification=%s notification=%s aggregation=%s aggregation=%s",
             at_stack_env(&T.st, "ANTT_NOTIFICATION_CLASSIFIED_ENDPOINT"), T.ep[AT_NOTIFICATION][0],
             at_stack_env(&T.st, "ANTT_AGGREGATION_CLASSIFIED_ENDPOINT"), T.ep[AT_AGGREGATION][0]);
    at_env_add(T.st.env, cap, "ANTT_CLASSIFICATION_PUBLISH_ENDPOINTS=%s", pub);
    /* deadlines of 4 s: every unacknowledged incident escalates every 4 s */
    for (int p = 1; p <= 4; p++) {
        char k[64];
        snprintf(k, sizeof(k), "ANTT_SLA_ACK_P%d_S=%%s", p);
        at_env_add(T.st.env, cap, k, "4");
    }
    at_env_add(T.st.env, cap, "ANTT_AGGREGATION_REDRIVE_INTERVAL_MS=%s", "300");
    at_env_add(T.st.env, cap, "ANTT_LEADER_TIMEOUT_MS=%s", "3000");
    if (at_stack_start_all(&T.st) != 0)
        return -1;
    if (s_spawn(AT_NOTIFICATION, 1) != 0 || s_spawn(AT_AGGREGATION, 1) != 0)
        return -1;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < AT_NSERVICES; i++)
        if (T.second[i].pid) {
            kill(T.second[i].pid, SIGCONT);
            at_stop(&T.second[i], SIGTERM, 10000);
        }
    at_stack_stop(&T.st);
    at_hook_stop(&T.hook);
    at_load_free(&T.load);
    return 0;
}

/* The epoch of the last trend state the aggregation of log loaded. */
static void s_epoch(const char *log, char *out, size_t len)
{
    out[0] = 0;
    char *text = at_read_file(log, NULL);
    const char *p = text, *last = NULL;
    while (p && (p = strstr(p, "epoch ")) != NULL) {
        last = p + 6;
        p = last;
    }
    if (last)
        snprintf(out, len, "%.*s", (int)strcspn(last, ", \n\""), last);
    free(text);
}

static void s_role(int i, int k, double *active, double *standby)
{
    *active = at_metric(s_port(i, k), "antt_leader_role{role=\"active\"}");
    *standby = at_metric(s_port(i, k), "antt_leader_role{role=\"standby\"}");
}

/* Faults the active instance k of service i (SIGKILL or SIGSTOP) and
 * returns the milliseconds until the other one answers /readyz 200. */
static long s_fault(int i, int k, int sig)
{
    at_proc_t *p = s_proc(i, k);
    int64_t t0 = antt_now_ms();
    if (sig == SIGKILL)
        assert_int_equal(at_stop(p, SIGKILL, 5000), 0);
    else
        assert_int_equal(kill(p->pid, SIGSTOP), 0);
    if (at_wait_ready(s_port(i, !k), S_TAKEOVER_MS) != 0)
        fail_msg("%s's standby did not take over within %d ms", at_service_names[i], S_TAKEOVER_MS);
    return (long)(antt_now_ms() - t0);
}

static int s_webhooks_flow(void *arg)
{
    return at_hook_count(&T.hook, NULL) > *(int *)arg;
}

static void test_takeovers(void **state)
{
    (void)state;
    double act, stb;
    char why[128], epoch0[64], epoch1[64], epoch2[64];
    /* the stack's instances are active, the second ones standbys */
    for (int i = AT_NOTIFICATION; i <= AT_AGGREGATION; i++) {
        assert_int_equal(s_readyz(s_port(i, 0), why, sizeof(why)), 200);
        assert_int_equal(s_readyz(s_port(i, 1), why, sizeof(why)), 503);
        assert_string_equal(why, "standby");
        s_role(i, 0, &act, &stb);
        assert_true(act == 1 && stb == 0);
        s_role(i, 1, &act, &stb);
        assert_true(act == 0 && stb == 1);
    }
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/incidents", s_port(AT_NOTIFICATION, 1));
    assert_int_equal(at_http("GET", url, NULL, NULL, 0, NULL), 503); /* a standby's triage API */

    at_load_start(&T.load, T.st.port[AT_INTAKE], AT_LOAD_KEY, "standby", 1, 100);
    int seen = 0;
    assert_true(at_wait_until(s_webhooks_flow, &seen, 20000));
    s_epoch(T.st.svc[AT_AGGREGATION].log, epoch0, sizeof(epoch0));

    /* kill -9 the active ones: the second ones take over. A message the
     * killed notification had delivered and not yet recorded goes again
     * (at least once, under its webhook-id): a repeat is excused only when
     * its first copy arrived in the second before the kill */
    long long kill_at = (long long)antt_now_ms(), window_from = kill_at - 1000;
    long kill_n = s_fault(AT_NOTIFICATION, 0, SIGKILL);
    long kill_a = s_fault(AT_AGGREGATION, 0, SIGKILL);
    s_epoch(T.second[AT_AGGREGATION].log, epoch1, sizeof(epoch1));
    seen = at_hook_count(&T.hook, NULL);
    assert_true(at_wait_until(s_webhooks_flow, &seen, 20000)); /* the new active one sends */
    /* the killed ones come back as standbys */
    for (int i = AT_NOTIFICATION; i <= AT_AGGREGATION; i++)
        assert_int_equal(s_spawn(i, 0), 0);

    /* freeze the active ones beyond leader.timeout_ms: the first ones take
     * over; thawed, the frozen ones find they lost the lock and stand by */
    long stop_n = s_fault(AT_NOTIFICATION, 1, SIGSTOP);
    long stop_a = s_fault(AT_AGGREGATION, 1, SIGSTOP);
    s_epoch(T.st.svc[AT_AGGREGATION].log, epoch2, sizeof(epoch2));
    for (int i = AT_NOTIFICATION; i <= AT_AGGREGATION; i++) {
        assert_int_equal(kill(T.second[i].pid, SIGCONT), 0);
        int port = s_port(i, 1);
        assert_true(at_wait_until(s_is_standby, &port, S_TAKEOVER_MS));
    }
    seen = at_hook_count(&T.hook, NULL);
    assert_true(at_wait_until(s_webhooks_flow, &seen, 20000));
    at_load_stop(&T.load);

    PGconn *db = at_db_connect(T.conninfo);
    at_load_table(&T.load, db);
    int settled = at_load_settled(db, T.load.acked, 90000);
    long stored = at_db_long(db, "SELECT count(DISTINCT a.id) FROM acked a JOIN reports r ON r.id = a.id");
    long escalations = at_db_long(db, "SELECT count(*) FROM incident_events WHERE kind = 'escalated'");
    long esc_twice = at_db_long(db, "SELECT count(*) FROM (SELECT 1 FROM incident_events WHERE kind = 'escalated'"
                                    " GROUP BY incident_id, data->>'deadline' HAVING count(*) > 1) x");
    long counted = at_db_long(db, "SELECT count(*) FROM incidents WHERE status NOT IN ('rejected', 'merged')");
    long trend = at_db_long(db, "SELECT COALESCE(sum(n1 + n2 + n3 + n4), 0) FROM trend_counts WHERE grain = 'd'");
    /* the fence passes for the lock's session, named by pid and start, and
     * for nothing else (a reused pid, a session that lost the lock) */
    static const char *const fence =
        "SELECT antt_leader_fence('notification', l.pid, a.backend_start %s) FROM pg_locks l"
        " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.classid = 1818583396"
        " AND l.objid = hashtext('notification')::oid AND l.granted"
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    char q[512];
    snprintf(q, sizeof(q), fence, "");
    PGresult *r = PQexec(db, q);
    int holder_ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    PQclear(r);
    snprintf(q, sizeof(q), fence, "+ interval '1 microsecond'");
    r = PQexec(db, q);
    int other_refused = PQresultStatus(r) == PGRES_FATAL_ERROR;
    PQclear(r);
    /* a live session that does not hold the lock: this one */
    r = PQexec(db, "SELECT antt_leader_fence('notification', pg_backend_pid(),"
                   " (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()))");
    other_refused = other_refused && PQresultStatus(r) == PGRES_FATAL_ERROR;
    PQclear(r);
    PQfinish(db);
    int hooks = at_hook_count(&T.hook, NULL), repeats = at_hook_repeats(&T.hook);
    int unexcused = at_hook_repeats_outside(&T.hook, &window_from, &kill_at, 1);
    printf("standby took over: notification %ld ms after kill -9, %ld ms after SIGSTOP; aggregation %ld ms after"
           " kill -9, %ld ms after SIGSTOP (leader.timeout_ms 3000)\n",
           kill_n, stop_n, kill_a, stop_a);
    printf("acked %ld, stored %ld; escalations %ld, deadlines escalated twice %ld; webhooks received %d, webhook-ids"
           " received twice %d (%d of them not in flight at the kill -9); incidents counted %ld, trend total %ld;"
           " trend epochs %s -> %s -> %s\n",
           T.load.acked, stored, escalations, esc_twice, hooks, repeats, unexcused, counted, trend, epoch0, epoch1,
           epoch2);
    assert_true(settled);
    assert_true(holder_ok);
    assert_true(other_refused);
    assert_int_equal(stored, T.load.acked);
    assert_true(escalations > 0);
    assert_int_equal(esc_twice, 0);
    assert_int_equal(unexcused, 0);
    assert_int_equal(trend, counted);
    /* every takeover loaded the trend state under a new epoch */
    assert_true(epoch0[0] && epoch1[0] && epoch2[0]);
    assert_string_not_equal(epoch0, epoch1);
    assert_string_not_equal(epoch1, epoch2);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* the figures as they come, also into a file */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_takeovers),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
