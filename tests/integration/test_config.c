/* Integration test of the settings tables at start-up: for each of the four
 * real service binaries, a bad value (in the environment and in the config
 * file) and an unknown name (both places) make it exit non-zero before it
 * does anything, with a message that names the key and what is allowed; a
 * file that also holds the other services' keys starts intake, and
 * intake.pipeline_depth is what intake keeps in flight. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "antt_crypto.h"
#include "antt_test.h"
#include "at_post.h"
#include "antt_util.h"

static int s_ended(void *arg)
{
    return !at_running(arg);
}

/* the child's log, read whole (malloc'd) */
static char *s_log(const at_proc_t *p)
{
    FILE *f = fopen(p->log, "r");
    if (f == NULL)
        return antt_xstrdup("");
    char *buf = antt_xcalloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Starts service with env; it must exit non-zero within 10 s, its log
 * holding every string of want (NULL-terminated). */
static void s_refused(const char *service, char *const *env, const char *const *want)
{
    at_proc_t p;
    memset(&p, 0, sizeof(p));
    snprintf(p.log, sizeof(p.log), ANTT_BUILD_DIR "/tests/config-%s-%d.log", service, (int)getpid());
    unlink(p.log);
    uint64_t t0 = antt_mono_ns();
    assert_int_equal(at_spawn(&p, service, env), 0);
    int ended = at_wait_until(s_ended, &p, 10000);
    char *log = s_log(&p);
    if (!ended) {
        at_stop(&p, SIGKILL, 2000);
        fprintf(stderr, "%s did not exit; its log:\n%s\n", service, log);
        fail();
    }
    const char *msg = strstr(log, "level=error");
    printf("%s exited %d after %.0f ms: %.*s", service, WIFEXITED(p.status) ? WEXITSTATUS(p.status) : -1,
           (double)(antt_mono_ns() - t0) / 1e6, msg ? (int)strcspn(msg, "\n") + 1 : 1, msg ? msg : "\n");
    assert_true(WIFEXITED(p.status) && WEXITSTATUS(p.status) != 0);
    for (const char *const *w = want; *w; w++) {
        if (strstr(log, *w) == NULL)
            fprintf(stderr, "%s's log lacks \"%s\":\n%s\n", service, *w, log);
        assert_non_null(strstr(log, *w));
    }
    free(log);
    unlink(p.log);
}

static char s_cfg_path[256];

/* a config file holding text; returns "ANTT_CONFIG=path" (static) */
static char *s_config_file(const char *text)
{
    static char env[300];
    snprintf(s_cfg_path, sizeof(s_cfg_path), ANTT_BUILD_DIR "/tests/config-%d.conf", (int)getpid());
    FILE *f = fopen(s_cfg_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    snprintf(env, sizeof(env), "ANTT_CONFIG=%s", s_cfg_path);
    return env;
}

static void test_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *service, *env, *key, *allowed;
    } cases[] = {
        {"intake", "ANTT_INTAKE_BATCH_MAX=500k", "intake.batch_max: \\\"500k\\\"", "an integer from 1 to 10000"},
        {"intake", "ANTT_INTAKE_PIPELINE_DEPTH=0", "intake.pipeline_depth: \\\"0\\\"", "an integer from 1 to 16"},
        {"classification", "ANTT_CLASSIFICATION_DUPLICATE_RADIUS_M=150m", "classification.duplicate_radius_m",
         "a number from 0 to 100000"},
        {"notification", "ANTT_NOTIFICATION_WEBHOOK_MAX_ATTEMPTS=ten", "notification.webhook_max_attempts",
         "an integer from 1 to 1000"},
        {"aggregation", "ANTT_AGGREGATION_DRAIN_INTERVAL_MS=-5", "aggregation.drain_interval_ms",
         "an integer from 0 to 60000"},
        {"aggregation", "ANTT_DB_CONNECT_TIMEOUT_S=1h", "db.connect_timeout_s", "an integer from 0 to 3600"},
        {"notification", "ANTT_CURVE_ENABLED=maybe", "curve.enabled", "true or false"},
        {"classification", "ANTT_LOG_LEVEL=verbose", "log.level", "one of: debug info warn error"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *env[] = {(char *)cases[i].env, NULL};
        char setby[96];
        snprintf(setby, sizeof(setby), "set by %.*s", (int)strcspn(cases[i].env, "="), cases[i].env);
        const char *want[] = {"invalid value for ", cases[i].key, cases[i].allowed, setby, NULL};
        s_refused(cases[i].service, env, want);
    }
    /* the same from the config file: no "set by" */
    static const char *const services[] = {"intake", "classification", "notification", "aggregation"};
    for (size_t i = 0; i < 4; i++) {
        char text[128], key[96];
        snprintf(text, sizeof(text), "# a typo\n%s.batch_max = 12x\n", services[i]);
        if (!strcmp(services[i], "notification"))
            snprintf(text, sizeof(text), "notification.feed_keep_h = 1000\n");
        snprintf(key, sizeof(key), "invalid value for %s.", services[i]);
        char *env[] = {s_config_file(text), NULL};
        const char *want[] = {key, "(an integer from", NULL};
        s_refused(services[i], env, want);
        unlink(s_cfg_path);
    }
}

static void test_unknown_names(void **state)
{
    (void)state;
    static const char *const services[] = {"intake", "classification", "notification", "aggregation"};
    for (size_t i = 0; i < 4; i++) {
        char var[96], want_var[96];
        snprintf(var, sizeof(var), "ANTT_%s_BATCHMAX=5", !strcmp(services[i], "intake")           ? "INTAKE"
                                                         : !strcmp(services[i], "classification") ? "CLASSIFICATION"
                                                         : !strcmp(services[i], "notification")   ? "NOTIFICATION"
                                                                                                  : "AGGREGATION");
        snprintf(want_var, sizeof(want_var), "unknown setting %.*s in the environment", (int)strcspn(var, "="), var);
        char *env[] = {var, NULL};
        const char *want[] = {want_var, NULL};
        s_refused(services[i], env, want);

        char text[128], want_key[128];
        snprintf(text, sizeof(text), "db.conninfo = dbname=x\n%s.bach_max = 5\n", services[i]);
        snprintf(want_key, sizeof(want_key), "unknown setting %s.bach_max in the config file", services[i]);
        char *env2[] = {s_config_file(text), NULL};
        const char *want2[] = {want_key, NULL};
        s_refused(services[i], env2, want2);
    }
    /* a namespace no service has, in any service */
    char *env[] = {s_config_file("intaek.batch_max = 5\n"), NULL};
    const char *want[] = {"unknown setting intaek.batch_max", NULL};
    s_refused("notification", env, want);
    unlink(s_cfg_path);
}

/* the intake of the last test, stopped by the teardown if a check failed */
static at_proc_t s_intake;

static int s_teardown(void **state)
{
    (void)state;
    if (at_running(&s_intake))
        at_stop(&s_intake, SIGKILL, 5000);
    return 0;
}

/* a gauge's value on intake's /metrics, or -1 */
static double s_gauge(int port, const char *name)
{
    char url[96], *body = NULL, pat[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
    snprintf(pat, sizeof(pat), "\n%s ", name);
    double v = -1;
    if (at_http("GET", url, NULL, NULL, 0, &body) == 200 && body && strstr(body, pat))
        v = strtod(strstr(body, pat) + strlen(pat), NULL);
    free(body);
    return v;
}

static struct {
    int port;        /* intake's HTTP */
    int inflight;    /* transactions in flight expected */
    int waiting;     /* reports waiting expected */
} P;

static int s_taken(void *arg)
{
    (void)arg;
    return s_gauge(P.port, "antt_intake_transactions_in_flight") == P.inflight &&
           s_gauge(P.port, "antt_intake_reports_waiting") == P.waiting;
}

static void *s_post_one(void *arg)
{
    char url[128], body[160], *resp = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/open311/v2/requests.json", P.port);
    snprintf(body, sizeof(body), "api_key=key-app&idempotency_key=depth-%d&service_code=theft&description=mat+xe",
             (int)(intptr_t)arg);
    int st = at_post_report(url, NULL, body, &resp);
    free(resp);
    return (void *)(intptr_t)st;
}

/* A file that also holds other services' keys starts intake; its
 * intake.pipeline_depth (3) is what the store keeps in flight on its one
 * write connection while PostgreSQL holds the reports back (the test locks
 * report_keys): 3 transactions, the 4th report waits. */
static void test_pipeline_depth_and_other_keys(void **state)
{
    (void)state;
    char *conninfo = at_db_create("t_config");
    PGconn *db = at_db_connect(conninfo);
    at_db_exec(db, "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst) VALUES"
                   " ('app', 'App', sha256('key-app'::bytea), 1000, 1000)");
    P.port = at_free_port();
    char http[64], gw[64], push[64];
    snprintf(http, sizeof(http), "127.0.0.1:%d", P.port);
    snprintf(gw, sizeof(gw), "tcp://127.0.0.1:%d", at_free_port());
    snprintf(push, sizeof(push), "tcp://127.0.0.1:%d", at_free_port());
    char *envv[16] = {NULL};
    at_env_add(envv, 16, "ANTT_DB_CONNINFO=%s", conninfo);
    at_env_add(envv, 16, "ANTT_INTAKE_HTTP=%s", http);
    at_env_add(envv, 16, "ANTT_INTAKE_GATEWAY_ENDPOINT=%s", gw);
    at_env_add(envv, 16, "ANTT_INTAKE_PUSH_ENDPOINT=%s", push);
    at_env_add(envv, 16, "ANTT_NOTIFICATION_FEED_ENDPOINT=%s", "not checked by intake");
    at_env_intake_keys(envv, 16, NULL, NULL);
    at_env_add(envv, 16, "%s", s_config_file("# every service's keys in one file\n"
                                             "intake.db_connections = 1\nintake.pipeline_depth = 3\n"
                                             "intake.batch_max =\n"
                                             "aggregation.batch_max = 7\nclassification.unlocated_desk = D\n"
                                             "sla.ack_p1_s = 30\n"));
    at_proc_t *p = &s_intake;
    memset(p, 0, sizeof(*p));
    assert_int_equal(at_spawn(p, "intake", envv), 0);
    assert_int_equal(at_wait_proc_ready(p, P.port, 20000), 0);
    printf("intake started with the other services' keys in its file and environment\n");

    at_db_exec(db, "BEGIN");
    at_db_exec(db, "LOCK TABLE report_keys IN SHARE MODE");
    pthread_t th[4];
    /* one report at a time, so that each goes in a transaction of its own
     * while there is room: three transactions, then the fourth waits */
    int reached = 0;
    for (int i = 0; i < 4; i++) {
        P.inflight = i < 3 ? i + 1 : 3;
        P.waiting = i < 3 ? 0 : 1;
        assert_int_equal(pthread_create(&th[i], NULL, s_post_one, (void *)(intptr_t)i), 0);
        if (!at_wait_until(s_taken, NULL, 5000))
            break;
        reached = i + 1;
    }
    double inflight = s_gauge(P.port, "antt_intake_transactions_in_flight");
    double waiting = s_gauge(P.port, "antt_intake_reports_waiting");
    printf("intake.pipeline_depth = 3, one connection, reports held back: %.0f transactions in flight, %.0f report"
           " waiting\n", inflight, waiting);
    at_db_exec(db, "COMMIT");
    for (int i = 0; i < (reached < 4 ? reached + 1 : 4); i++) {
        void *st;
        pthread_join(th[i], &st);
        assert_int_equal((int)(intptr_t)st, 201);
    }
    assert_int_equal(reached, 4);
    assert_int_equal((int)inflight, 3);
    assert_int_equal((int)waiting, 1);
    assert_int_equal(at_db_long(db, "SELECT count(*) FROM reports"), 4);
    assert_int_equal(at_stop(p, SIGTERM, 10000), 0);
    unlink(s_cfg_path);
    for (char **e = envv; *e; e++)
        free(*e);
    PQfinish(db);
    free(conninfo);
}

int main(void)
{
    if (antt_crypto_init() != 0)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_unknown_names),
        cmocka_unit_test_teardown(test_pipeline_depth_and_other_keys, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
