/* Network trouble on one machine: one of two classification workers is
 * paused (SIGSTOP) under a steady load. ZMTP heartbeats make intake drop the
 * silent worker within a few seconds, so that reports sent after that are
 * classified by the other one while the first is still paused; after
 * SIGCONT the backlog (what was queued to the paused worker, re-driven from
 * PostgreSQL) drains, and every acknowledged report is classified exactly
 * once. */
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

#define N_REPORTS 60

static struct {
    char *conninfo;
    PGconn *db;
    at_stack_t st;
    at_proc_t worker2;
    int worker2_port;
    char ids[N_REPORTS][40];
    int64_t sent_ms[N_REPORTS];
} N;

static int s_setup(void **state)
{
    (void)state;
    N.conninfo = at_db_create("t_network");
    N.db = at_db_connect(N.conninfo);
    at_db_exec(N.db, "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst) VALUES"
                     " ('app', 'App', sha256('key-app'::bytea), 1000, 1000)");
    at_stack_init(&N.st, N.conninfo);
    size_t cap = sizeof(N.st.env) / sizeof(N.st.env[0]);
    /* the re-drive comes late: what is classified during the pause went
     * through the live path */
    at_env_add(N.st.env, cap, "ANTT_INTAKE_REDRIVE_AFTER_MS=%s", "20000");
    at_env_add(N.st.env, cap, "ANTT_INTAKE_REDRIVE_INTERVAL_MS=%s", "1000");
    if (at_stack_start(&N.st, AT_INTAKE, 20000) != 0 || at_stack_start(&N.st, AT_CLASSIFICATION, 20000) != 0)
        return -1;
    /* a second worker */
    char *env[80], v[96];
    int k = at_stack_env_of(&N.st, AT_CLASSIFICATION, env, (int)(sizeof(env) / sizeof(env[0])));
    N.worker2_port = at_free_port();
    snprintf(v, sizeof(v), "ANTT_CLASSIFICATION_HTTP=127.0.0.1:%d", N.worker2_port);
    env[k++] = v;
    env[k] = NULL;
    if (at_spawn(&N.worker2, "classification", env) != 0 || at_wait_proc_ready(&N.worker2, N.worker2_port, 20000) != 0)
        return -1;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    kill(N.st.svc[AT_CLASSIFICATION].pid, SIGCONT);
    at_stop(&N.worker2, SIGTERM, 10000);
    at_stack_stop(&N.st);
    PQfinish(N.db);
    return 0;
}

typedef struct s_range {
    int from, to;
} s_range_t;

/* Reports from..to-1 are all linked to an incident. */
static int s_classified(void *arg)
{
    s_range_t *r = arg;
    antt_buf_t b;
    antt_buf_init(&b);
    antt_buf_puts(&b, "SELECT count(*) FROM incident_reports WHERE report_id IN (");
    for (int i = r->from; i < r->to; i++)
        antt_buf_printf(&b, "%s'%s'", i > r->from ? "," : "", N.ids[i]);
    antt_buf_puts(&b, ")");
    long n = at_db_long(N.db, b.data);
    antt_buf_cleanup(&b);
    return n == r->to - r->from;
}

/* One pause: SIGSTOP, a minute's worth of the load's pace for 6 s, checks,
 * SIGCONT, the backlog drained. */
static void s_cycle(int cycle)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/open311/v2/requests.json", N.st.port[AT_INTAKE]);
    pid_t w1 = N.st.svc[AT_CLASSIFICATION].pid;
    assert_int_equal(kill(w1, SIGSTOP), 0);
    int64_t paused_at = antt_now_ms();
    int late = -1; /* the first report sent after the heartbeat timeout and a margin */
    for (int i = 0; i < N_REPORTS; i++) {
        char body[256], *resp = NULL;
        snprintf(body, sizeof(body),
                 "api_key=key-app&service_code=theft&area_code=VN-HCM-BTA-AL&description=mat%%20trom%%20xe%%20so%%20%d-%d",
                 cycle, i);
        assert_int_equal(at_http("POST", url, NULL, body, strlen(body), &resp), 201);
        const char *id = strstr(resp, "\"service_request_id\":\"");
        assert_non_null(id);
        snprintf(N.ids[i], sizeof(N.ids[i]), "%.36s", id + 22);
        free(resp);
        N.sent_ms[i] = antt_now_ms();
        if (late < 0 && N.sent_ms[i] - paused_at > 3000 + 1500)
            late = i;
        usleep(100 * 1000); /* 10 reports a second: the load's pace */
    }
    assert_true(late > 0 && late < N_REPORTS - 5);
    /* while the first worker is still paused, everything sent after the
     * heartbeat timeout is classified by the second one */
    s_range_t after = {late, N_REPORTS};
    int live = at_wait_until(s_classified, &after, 3000);
    long stuck = at_db_long(N.db, "SELECT count(*) FROM report_queue");
    assert_int_equal(kill(w1, SIGCONT), 0);
    printf("paused worker (pause %d): %d reports sent over %.1f s, %ld waiting when it resumed; the %d sent after"
           " the heartbeat timeout were %s\n",
           cycle + 1, N_REPORTS, (double)(N.sent_ms[N_REPORTS - 1] - paused_at) / 1000.0, stuck, N_REPORTS - late,
           live ? "classified by the other worker meanwhile" : "NOT classified meanwhile");
    assert_true(live);
    /* the backlog drains; each report is linked once (report_id is the key) */
    s_range_t all = {0, N_REPORTS};
    assert_true(at_wait_until(s_classified, &all, 40000));
    assert_int_equal(at_db_long(N.db, "SELECT count(*) FROM reports"), (long)N_REPORTS * (cycle + 1));
    assert_int_equal(at_db_long(N.db, "SELECT count(*) FROM incident_reports"), (long)N_REPORTS * (cycle + 1));
    assert_int_equal(at_wait_ready(N.st.port[AT_CLASSIFICATION], 10000), 0);
}

/* One pause in `make test`; as many as fit in ANTT_FAULT_SECONDS in `make soak`. */
static void test_paused_worker(void **state)
{
    (void)state;
    const char *secs = getenv("ANTT_FAULT_SECONDS");
    int cycles = secs && atoi(secs) >= 24 ? atoi(secs) / 12 : 1;
    for (int c = 0; c < cycles; c++)
        s_cycle(c);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paused_worker),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
