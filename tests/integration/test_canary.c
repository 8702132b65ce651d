/* Canary: a unique reporter phone number (and name and e-mail), submitted
 * in many reports over HTTP and ZeroMQ, with a dispatcher unsealing it, must
 * appear nowhere but in the dispatcher's own answer: not in any service's
 * log, metrics, desk feed (PUB and SSE), trend feed (PUB and SSE), trend
 * API, webhook message or database column (a pg_dump of the whole
 * database, where the contact is only a sealed box and a keyed hash). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <sodium.h>
#include <zmq.h>

#include "antt/v1/report.pb-c.h"
#include "antt_test.h"
#include "antt_util.h"

#define C_REPORTS 12

/* the canary in the forms a leak could take */
static const char *const s_canary[] = {"0938475612", "938475612", "+84938475612", "84938475612",
                                       "0938 475 612", "Canary Nguyen", "canary.nguyen@example.vn"};

static struct {
    char *conninfo;
    PGconn *db;
    at_stack_t st;
    volatile int stop;
    antt_buf_t seen; /* every byte the subscribers and SSE clients received */
    pthread_mutex_t mu;
} C;


static void s_seen(const void *p, size_t n)
{
    pthread_mutex_lock(&C.mu);
    antt_buf_append(&C.seen, p, n);
    antt_buf_append(&C.seen, "\n", 1);
    pthread_mutex_unlock(&C.mu);
}

/* Every desk feed and every trend update, as raw bytes. */
static void *s_subscriber(void *arg)
{
    (void)arg;
    void *ctx = zmq_ctx_new(), *a = zmq_socket(ctx, ZMQ_SUB), *b = zmq_socket(ctx, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(a, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(b, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(a, ZMQ_SUBSCRIBE, "", 0);
    zmq_setsockopt(b, ZMQ_SUBSCRIBE, "", 0);
    at_stack_curve_as(&C.st, a, AT_NOTIFICATION, AT_AGGREGATION);
    at_stack_curve_client(&C.st, b, AT_AGGREGATION, C.st.staff_pub, C.st.staff_sec);
    zmq_connect(a, C.st.feed_ep);
    zmq_connect(b, C.st.trend_ep);
    while (!C.stop) {
        zmq_pollitem_t it[2] = {{a, 0, ZMQ_POLLIN, 0}, {b, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(it, 2, 100) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (!(it[i].revents & ZMQ_POLLIN))
                continue;
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, it[i].socket, 0) >= 0)
                s_seen(zmq_msg_data(&m), zmq_msg_size(&m));
            zmq_msg_close(&m);
        }
    }
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(ctx);
    return NULL;
}

static size_t s_sse_write(char *p, size_t size, size_t n, void *arg)
{
    (void)arg;
    s_seen(p, size * n);
    return C.stop ? 0 : size * n;
}

static int s_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)arg, (void)a, (void)b, (void)c, (void)d;
    return C.stop; /* non-zero ends the transfer */
}

typedef struct s_sse_arg {
    char url[160];
    const char *auth;
} s_sse_arg_t;

static void *s_sse(void *arg)
{
    s_sse_arg_t *x = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *hs = x->auth ? curl_slist_append(NULL, x->auth) : NULL;
    curl_easy_setopt(h, CURLOPT_URL, x->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_sse_write);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, s_progress);
    curl_easy_perform(h);
    curl_slist_free_all(hs);
    curl_easy_cleanup(h);
    return NULL;
}

static int s_setup(void **state)
{
    (void)state;
    pthread_mutex_init(&C.mu, NULL);
    antt_buf_init(&C.seen);
    C.conninfo = at_db_create("t_canary");
    C.db = at_db_connect(C.conninfo);
    at_db_exec(C.db, "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst) VALUES"
                     " ('app', 'App', sha256('key-app'::bytea), 1000, 1000)");
    at_db_exec(C.db, "INSERT INTO dispatchers (name, desk_code, token_hash) VALUES"
                     " ('district', 'DESK-HCM-BTA', sha256('tok-district'))");
    /* a status webhook for the app's reporters, to a port nobody listens on:
     * its messages stay in the outbox, which the dump reads */
    char *sql = antt_xasprintf("INSERT INTO webhook_destinations (code, url, secret, desk_code, gateway_id) VALUES"
                               " ('desk', 'http://127.0.0.1:%d/h', 'whsec_dGVzdHRlc3R0ZXN0dGVzdA==', 'DESK-HCM-BTA', NULL),"
                               " ('status', 'http://127.0.0.1:%d/h', 'whsec_dGVzdHRlc3R0ZXN0dGVzdA==', NULL,"
                               " (SELECT id FROM gateways WHERE code = 'app'))",
                               at_free_port(), at_free_port());
    at_db_exec(C.db, sql);
    free(sql);
    at_stack_init(&C.st, C.conninfo);
    size_t cap = sizeof(C.st.env) / sizeof(C.st.env[0]);
    at_env_add(C.st.env, cap, "ANTT_LOG_LEVEL=%s", "debug");
    at_env_add(C.st.env, cap, "ANTT_INTAKE_REPORTER_BURST=%s", "100"); /* one reporter, many reports */
    if (at_stack_start_all(&C.st) != 0)
        return -1;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    at_stack_stop(&C.st);
    PQfinish(C.db);
    antt_buf_cleanup(&C.seen);
    return 0;
}

static int s_all_routed(void *arg)
{
    (void)arg;
    return at_db_long(C.db, "SELECT count(*) FROM report_queue") == 0 &&
           at_db_long(C.db, "SELECT count(*) FROM trend_queue") == 0 &&
           at_db_long(C.db, "SELECT count(*) FROM incident_reports") == C_REPORTS;
}

static void s_zmq_submit(int n)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_REQ);
    int linger = 0, timeout = 20000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    at_stack_curve_client(&C.st, s, AT_INTAKE, NULL, NULL);
    assert_int_equal(zmq_connect(s, C.st.gateway_ep), 0);
    Antt__V1__SubmitReport m = ANTT__V1__SUBMIT_REPORT__INIT;
    Antt__V1__Location loc = ANTT__V1__LOCATION__INIT;
    Antt__V1__Contact contact = ANTT__V1__CONTACT__INIT;
    char key[32];
    snprintf(key, sizeof(key), "canary-z-%d", n);
    m.api_key = "key-app";
    m.idempotency_key = key;
    m.description = "Co nguoi lay trom xe may truoc nha, toi thay ro mat";
    m.service_code = "theft";
    loc.has_lat = loc.has_lon = 1;
    loc.lat = 10.745 + n * 0.004;
    loc.lon = 106.58 + n * 0.004;
    m.location = &loc;
    contact.phone = "+84 938 475 612";
    contact.name = "Canary Nguyen";
    contact.email = "canary.nguyen@example.vn";
    m.contact = &contact;
    uint8_t buf[1024];
    size_t len = antt__v1__submit_report__pack(&m, buf);
    assert_true(zmq_send(s, buf, len, 0) >= 0);
    zmq_msg_t r;
    zmq_msg_init(&r);
    assert_true(zmq_msg_recv(&r, s, 0) >= 0);
    zmq_msg_close(&r);
    zmq_close(s);
    zmq_ctx_term(ctx);
}

static int s_has_canary(const char *text, const char *where)
{
    for (size_t i = 0; text && i < sizeof(s_canary) / sizeof(s_canary[0]); i++)
        if (strstr(text, s_canary[i])) {
            print_error("the canary \"%s\" leaked into %s\n", s_canary[i], where);
            return 1;
        }
    return 0;
}

static void test_canary(void **state)
{
    (void)state;
    pthread_t sub, sse[2];
    s_sse_arg_t feed = {.auth = "Authorization: Bearer tok-district"}, trends = {.auth = NULL};
    snprintf(feed.url, sizeof(feed.url), "http://127.0.0.1:%d/api/v1/feed", C.st.port[2]);
    snprintf(trends.url, sizeof(trends.url), "http://127.0.0.1:%d/api/v1/stream", C.st.port[3]);
    pthread_create(&sub, NULL, s_subscriber, NULL);
    pthread_create(&sse[0], NULL, s_sse, &feed);
    pthread_create(&sse[1], NULL, s_sse, &trends);

    /* half over Open311 (phone written three ways), half over ZeroMQ */
    static const char *const phones[] = {"0938475612", "0938%20475%20612", "%2B84938475612"};
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/open311/v2/requests.json", C.st.port[0]);
    for (int n = 0; n < C_REPORTS / 2; n++) {
        char body[512], *resp = NULL;
        snprintf(body, sizeof(body),
                 "api_key=key-app&service_code=robbery&lat=%.4f&long=%.4f&phone=%s&first_name=Canary&last_name=Nguyen"
                 "&email=canary.nguyen%%40example.vn&description=Bi%%20cuop%%20giat%%20dien%%20thoai%%20o%%20hem%%20%d",
                 10.79 - n * 0.004, 106.62 - n * 0.004, phones[n % 3], n);
        assert_int_equal(at_http("POST", url, NULL, body, strlen(body), &resp), 201);
        free(resp);
        s_zmq_submit(n);
    }
    assert_true(at_wait_until(s_all_routed, NULL, 30000));
    /* a dispatcher reads the contact: the one legitimate sight of it */
    PGresult *r = PQexec(C.db, "SELECT id FROM incidents ORDER BY created_at LIMIT 1");
    char path[200], *resp = NULL;
    snprintf(path, sizeof(path), "http://127.0.0.1:%d/api/v1/incidents/%s/unseal_contact", C.st.port[2],
             PQgetvalue(r, 0, 0));
    PQclear(r);
    const char *auth[] = {"Authorization: Bearer tok-district", NULL};
    assert_int_equal(at_http("POST", path, auth, "{}", 2, &resp), 200);
    assert_non_null(strstr(resp, "938")); /* it is there for the dispatcher */
    free(resp);
    /* and a triage change, so that webhooks and the feeds carry states */
    r = PQexec(C.db, "SELECT id FROM incidents ORDER BY created_at LIMIT 1");
    snprintf(path, sizeof(path), "http://127.0.0.1:%d/api/v1/incidents/%s/acknowledge", C.st.port[2], PQgetvalue(r, 0, 0));
    PQclear(r);
    assert_int_equal(at_http("POST", path, auth, "{}", 2, &resp), 200);
    free(resp);
    assert_true(at_wait_until(s_all_routed, NULL, 10000));
    C.stop = 1;
    pthread_join(sub, NULL);
    pthread_join(sse[0], NULL);
    pthread_join(sse[1], NULL);

    int leaks = 0;
    pthread_mutex_lock(&C.mu);
    assert_true(C.seen.len > 0);
    assert_non_null(memmem(C.seen.data, C.seen.len, "desk.DESK-HCM-BTA", 17)); /* the feeds were heard */
    assert_non_null(memmem(C.seen.data, C.seen.len, "event: trend", 12));
    /* the bytes may hold NULs (protobuf): search them piecewise */
    for (size_t off = 0; off < C.seen.len;) {
        const char *p = C.seen.data + off;
        leaks += s_has_canary(p, "a feed (ZeroMQ or SSE)");
        off += strlen(p) + 1;
    }
    pthread_mutex_unlock(&C.mu);
    /* metrics and trend answers of every service */
    static const char *const paths[] = {"/metrics", "/api/v1/summary?area=VN-HCM-BTA", "/api/v1/trends?area=VN-HCM",
                                        "/api/v1/hotspots?area=VN-HCM-BTA", "/api/v1/spikes?area=VN-HCM-BTA"};
    for (int i = 0; i < 4; i++)
        for (size_t k = 0; k < (i == 3 ? 5u : 1u); k++) {
            snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", C.st.port[i], paths[k]);
            char *b = NULL;
            at_http("GET", url, NULL, NULL, 0, &b);
            leaks += s_has_canary(b, url);
            free(b);
        }
    /* Open311 GET of the requests: public status, never the contact */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/open311/v2/requests.json?api_key=key-app", C.st.port[0]);
    char *b = NULL;
    at_http("GET", url, NULL, NULL, 0, &b);
    leaks += s_has_canary(b, "Open311 GET");
    free(b);
    /* every log (stopped first, so that everything is flushed) */
    for (int i = 0; i < 4; i++) {
        at_stop(&C.st.svc[i], 15, 10000);
        char *log = at_read_file(C.st.svc[i].log, NULL);
        assert_non_null(log);
        leaks += s_has_canary(log, C.st.svc[i].log);
        free(log);
    }
    /* the whole database, webhook outbox included */
    assert_true(at_db_long(C.db, "SELECT count(*) FROM webhook_deliveries") > 0);
    assert_int_equal(at_db_long(C.db, "SELECT count(*) FROM reports WHERE contact_sealed IS NOT NULL"), C_REPORTS);
    char cmd[1024], out[512];
    snprintf(out, sizeof(out), "%s/canary.sql", ANTT_BUILD_DIR);
    snprintf(cmd, sizeof(cmd), "pg_dump --no-owner '%s' > %s", C.conninfo, out);
    assert_int_equal(system(cmd), 0);
    char *dump = at_read_file(out, NULL);
    assert_non_null(dump);
    assert_non_null(strstr(dump, "Bi cuop giat dien thoai")); /* the reports are in it */
    leaks += s_has_canary(dump, "the database dump");
    free(dump);
    assert_int_equal(leaks, 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canary),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
