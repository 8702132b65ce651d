/* Integration test: intake while PostgreSQL goes away and comes back, on a
 * private cluster (the shared fixture's cluster must stay up for others).
 * Nothing is acknowledged unless stored: while the database is down intake
 * answers 503 at once and /readyz says why; once it is back, the gateway's
 * retry with the same idempotency key stores the report exactly once. */
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
#include <sodium.h>

#include "antt_crypto.h"
#include "antt_test.h"
#include "at_post.h"
#include "antt_util.h"

static char g_url[128], g_ready[128];

static int s_post(const char *key, char **resp)
{
    char body[256];
    snprintf(body, sizeof(body), "api_key=key-app&idempotency_key=%s&service_code=fire&description=chay+nha", key);
    return at_post_report(g_url, NULL, body, resp);
}

static int s_unready(void *arg)
{
    (void)arg;
    return at_http("GET", g_ready, NULL, NULL, 0, NULL) == 503;
}

static int s_ready(void *arg)
{
    (void)arg;
    return at_http("GET", g_ready, NULL, NULL, 0, NULL) == 200;
}

static void test_db_down_and_back(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof(dir), ANTT_BUILD_DIR "/tests/pg-dbdown-%d", (int)getpid());
    char *base = at_pg_start(dir, 0);
    assert_non_null(base);
    char portfile[600];
    snprintf(portfile, sizeof(portfile), "%s/port", dir);
    char *port_text = at_read_file(portfile, NULL);
    int pgport = atoi(port_text);
    free(port_text);
    char *ci = at_db_create_in(base, "t_dbdown");
    PGconn *db = at_db_connect(ci);
    at_db_exec(db, "INSERT INTO gateways (code, name, api_key_hash) VALUES ('app', 'App', sha256('key-app'::bytea))");
    PQfinish(db);

    int http = at_free_port();
    char *env[8] = {antt_xasprintf("ANTT_DB_CONNINFO=%s", ci),
                    antt_xasprintf("ANTT_INTAKE_HTTP=127.0.0.1:%d", http),
                    antt_xasprintf("ANTT_INTAKE_GATEWAY_ENDPOINT=tcp://127.0.0.1:%d", at_free_port()),
                    antt_xasprintf("ANTT_INTAKE_PUSH_ENDPOINT=tcp://127.0.0.1:%d", at_free_port()),
                    NULL};
    at_env_intake_keys(env, sizeof(env) / sizeof(env[0]), NULL, NULL);
    snprintf(g_url, sizeof(g_url), "http://127.0.0.1:%d/open311/v2/requests.json", http);
    snprintf(g_ready, sizeof(g_ready), "http://127.0.0.1:%d/readyz", http);
    at_proc_t intake = {0};
    assert_int_equal(at_spawn(&intake, "intake", env), 0);
    assert_int_equal(at_wait_proc_ready(&intake, http, 20000), 0);

    char *r;
    assert_int_equal(s_post("before", &r), 201);
    free(r);

    at_pg_stop(dir);
    /* not stored, not acknowledged: 503 with Retry-After, at once */
    uint64_t t0 = antt_mono_ns();
    int st = s_post("during", &r);
    assert_true(st == 503);
    assert_non_null(strstr(r, "retry with the same idempotency key"));
    assert_non_null(at_http_last_header("Retry-After"));
    free(r);
    assert_true(antt_mono_ns() - t0 < 5000000000u);
    /* the same in the spec's XML, to its form-encoded POST */
    char xml_url[160];
    snprintf(xml_url, sizeof(xml_url), "%.*s.xml", (int)(strlen(g_url) - 5), g_url);
    const char *form = "api_key=key-app&idempotency_key=during-xml&service_code=fire&address_string=H%E1%BA%BBm+3"
                       "&description=chay+nha";
    assert_int_equal(at_http("POST", xml_url, NULL, form, strlen(form), &r), 503);
    assert_non_null(strstr(r, "<errors><error><code>503</code>"));
    assert_non_null(at_http_last_header("Retry-After"));
    free(r);
    printf("database down: 503 with Retry-After in both formats\n");
    assert_true(at_wait_until(s_unready, NULL, 10000));
    assert_true(at_running(&intake));

    /* back: the retry stores it once */
    char *again = at_pg_start(dir, pgport);
    assert_non_null(again);
    free(again);
    assert_true(at_wait_until(s_ready, NULL, 20000));
    char *r2;
    assert_int_equal(s_post("during", &r), 201);
    assert_int_equal(s_post("during", &r2), 200);
    assert_non_null(strstr(r, "service_request_id"));
    assert_non_null(strstr(r2, "already received"));
    char *id = strstr(r, "\"service_request_id\":\"") + 22;
    assert_memory_equal(strstr(r2, "\"service_request_id\":\"") + 22, id, ANTT_UUID_LEN);
    free(r);
    free(r2);
    db = at_db_connect(ci);
    assert_int_equal(at_db_long(db, "SELECT count(*) FROM reports"), 2);
    PQfinish(db);

    assert_int_equal(at_stop(&intake, SIGTERM, 10000), 0);
    at_pg_stop(dir);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; env[i]; i++)
        free(env[i]);
    free(ci);
    free(base);
}

int main(void)
{
    if (antt_crypto_init() != 0)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_db_down_and_back)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
