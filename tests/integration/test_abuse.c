/* Floods and hostile input against the real services.
 *
 * Flood: one gateway at ten times its quota gets 429s (with Retry-After)
 * for what is over its quota, while another gateway's reports all go
 * through with their usual latency.
 *
 * Hostile input: oversized bodies, deep JSON, invalid and overlong UTF-8,
 * NUL bytes, wrong types, garbage and huge repeated fields in protobuf, on
 * every door (Open311, the gateway ROUTER, triage over HTTP and ZeroMQ, the
 * trend API and snapshot ROUTER): each gets a 4xx or an error reply, nothing
 * is stored, every service stays ready, and legitimate reports sent at the
 * same time keep their latency. */
#include <pthread.h>
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
#include <zmq.h>

#include "antt/v1/incident.pb-c.h"
#include "antt/v1/triage.pb-c.h"
#include "antt/v1/report.pb-c.h"
#include "antt/v1/trend.pb-c.h"
#include "antt_test.h"
#include "antt_util.h"

static struct {
    char *conninfo;
    PGconn *db;
    at_stack_t st;
    char url[128];
    volatile int stop;
} A;

static int s_setup(void **state)
{
    (void)state;
    A.conninfo = at_db_create("t_abuse");
    A.db = at_db_connect(A.conninfo);
    /* the flooder's quota is 20/s (burst 20); the steady gateway's is ample */
    at_db_exec(A.db, "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst) VALUES"
                     " ('flood', 'Flooder', sha256('key-flood'::bytea), 20, 20),"
                     " ('steady', 'Steady', sha256('key-steady'::bytea), 1000, 1000),"
                     " ('hostile', 'Hostile', sha256('key-hostile'::bytea), 1000, 1000)");
    at_db_exec(A.db, "INSERT INTO dispatchers (name, desk_code, token_hash) VALUES"
                     " ('district', 'DESK-HCM-BTA', sha256('tok-district'))");
    at_stack_init(&A.st, A.conninfo);
    if (at_stack_start_all(&A.st) != 0)
        return -1;
    snprintf(A.url, sizeof(A.url), "http://127.0.0.1:%d/open311/v2/requests.json", A.st.port[AT_INTAKE]);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    at_stack_stop(&A.st);
    PQfinish(A.db);
    return 0;
}

/* ---- a steady, legitimate gateway ---- */

typedef struct s_steady {
    int per_s;
    long ok, failed;
    double lat[4096];
    size_t n;
} s_steady_t;

static void *s_steady_run(void *arg)
{
    s_steady_t *g = arg;
    for (long i = 0; !A.stop; i++) {
        char body[256], *resp = NULL;
        snprintf(body, sizeof(body),
                 "api_key=key-steady&service_code=theft&lat=%.4f&long=106.60&description=bi%%20trom%%20xe%%20dap%%20%ld",
                 10.75 + (double)(i % 50) * 0.001, i);
        int64_t t0 = antt_now_ms();
        int st = at_http("POST", A.url, NULL, body, strlen(body), &resp);
        if (st == 201)
            g->ok++;
        else
            g->failed++;
        if (g->n < sizeof(g->lat) / sizeof(g->lat[0]))
            g->lat[g->n++] = (double)(antt_now_ms() - t0);
        free(resp);
        usleep((useconds_t)(1000000 / g->per_s)); /* the gateway's own pace */
    }
    return NULL;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_p99(s_steady_t *g)
{
    qsort(g->lat, g->n, sizeof(double), s_cmp);
    return g->n ? g->lat[(g->n * 99) / 100] : 0;
}

/* How long the flood and the barrage last: 3 s, or ANTT_FAULT_SECONDS in
 * `make soak`. */
static int64_t s_duration_ms(void)
{
    const char *secs = getenv("ANTT_FAULT_SECONDS");
    return secs && atoi(secs) > 3 ? atoi(secs) * 1000LL : 3000;
}

/* ---- flood ---- */

typedef struct s_flood {
    long ok, limited, other;
    int retry_after; /* a 429 carried Retry-After */
} s_flood_t;

static void *s_flood_run(void *arg)
{
    s_flood_t *f = arg;
    int64_t end = antt_now_ms() + s_duration_ms();
    for (long i = 0; antt_now_ms() < end; i++) {
        char body[256], *resp = NULL;
        snprintf(body, sizeof(body), "api_key=key-flood&service_code=fraud&attribute%%5Bcontact_channel%%5D=phone&area_code=VN-HCM-BTA-AL"
                                     "&description=lua%%20dao%%20qua%%20dien%%20thoai%%20so%%20%ld-%p",
                 i, (void *)f);
        int st = at_http("POST", A.url, NULL, body, strlen(body), &resp);
        if (st == 201) {
            f->ok++;
        } else if (st == 429) {
            f->limited++;
            const char *ra = at_http_last_header("retry-after");
            f->retry_after |= ra != NULL && atoi(ra) >= 1;
        } else {
            f->other++;
        }
        free(resp);
        usleep(10000); /* 100/s per thread, two threads: ten times the quota */
    }
    return NULL;
}

static void test_flood(void **state)
{
    (void)state;
    s_steady_t g = {.per_s = 20};
    s_flood_t f[2] = {{0}};
    pthread_t tg, tf[2];
    A.stop = 0;
    pthread_create(&tg, NULL, s_steady_run, &g);
    int64_t t0 = antt_now_ms();
    for (int i = 0; i < 2; i++)
        pthread_create(&tf[i], NULL, s_flood_run, &f[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(tf[i], NULL);
    double secs = (double)(antt_now_ms() - t0) / 1000.0;
    A.stop = 1;
    pthread_join(tg, NULL);
    long ok = f[0].ok + f[1].ok, limited = f[0].limited + f[1].limited, other = f[0].other + f[1].other;
    double p99 = s_p99(&g);
    printf("flood: %ld sent in %.1f s, %ld accepted, %ld refused with 429, %ld other; steady gateway %ld ok,"
           " %ld failed, p99 %.0f ms\n",
           ok + limited + other, secs, ok, limited, other, g.ok, g.failed, p99);
    assert_int_equal(other, 0);
    assert_true(limited > ok);                      /* most of ten times the quota is refused */
    assert_true(ok <= 20 + (long)(20 * secs) + 5);  /* burst + rate x time */
    assert_true(ok >= (long)(20 * secs) / 2);       /* and the quota is still served */
    assert_true(f[0].retry_after || f[1].retry_after);
    assert_true(g.ok > 0);
    assert_int_equal(g.failed, 0);
    assert_true(p99 < 500);
}

/* ---- hostile input ---- */

static long s_reports(void)
{
    return at_db_long(A.db, "SELECT count(*) FROM reports");
}

/* Sends one ZeroMQ message to a ROUTER with DEALER (an empty delimiter
 * first, as REQ does); returns the reply frame's bytes (malloc'd) or NULL. */
static uint8_t *s_zmq_ask(const char *ep, const void *data, size_t len, size_t *rlen)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_REQ);
    int linger = 0, timeout = 10000;
    /* an admitted client's key: hostile bytes reach the decoders */
    at_stack_curve_client(&A.st, s,
                          ep == A.st.gateway_ep ? AT_INTAKE : ep == A.st.triage_ep ? AT_NOTIFICATION : AT_AGGREGATION,
                          NULL, NULL);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    uint8_t *out = NULL;
    if (zmq_connect(s, ep) == 0 && zmq_send(s, data, len, 0) >= 0) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, 0) >= 0) {
            *rlen = zmq_msg_size(&m);
            out = antt_xmalloc(*rlen + 1);
            memcpy(out, zmq_msg_data(&m), *rlen);
        }
        zmq_msg_close(&m);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return out;
}

static void s_expect_submit_refused(const void *data, size_t len, const char *what)
{
    size_t n = 0;
    uint8_t *r = s_zmq_ask(A.st.gateway_ep, data, len, &n);
    if (r == NULL)
        fail_msg("%s: no reply from intake", what);
    Antt__V1__SubmitReply *rep = antt__v1__submit_reply__unpack(NULL, n, r);
    if (rep == NULL || rep->status == ANTT__V1__SUBMIT_REPLY__STATUS__OK)
        fail_msg("%s: not refused", what);
    antt__v1__submit_reply__free_unpacked(rep, NULL);
    free(r);
}

/* One pass over every door with every kind of bad input. */
static void s_hostile_round(void)
{
    /* Open311 */
    static const char *const forms[] = {
        "api_key=key-hostile&service_code=theft&lat=10.75&long=106.62&description=%C3%28%C3%28", /* invalid UTF-8 */
        "api_key=key-hostile&service_code=theft&lat=10.75&long=106.62&description=%C0%AF%C0%AFslash", /* overlong */
        "api_key=key-hostile&service_code=theft&lat=10.75&long=106.62&description=ab%00cd",  /* NUL */
        "api_key=key-hostile&service_code=theft&lat=abc&long=106.62&description=trom%20xe",  /* wrong type */
        "api_key=key-hostile&service_code=theft&lat=95&long=106.62&description=trom%20xe",   /* out of range */
        "api_key=key-hostile&service_code=theft&lat=10.75&description=trom%20xe",            /* half a point */
        "api_key=key-hostile&service_code=nosuch&lat=10.75&long=106.62&description=trom%20xe",
        "api_key=key-hostile&service_code=theft&lat=10.75&long=106.62&description=%ZZ",      /* bad escape */
        "api_key=nobody&service_code=theft&lat=10.75&long=106.62&description=trom%20xe",   /* unknown key */
        "api_key=key-hostile&service_code=theft&service_code=fire&lat=10.75&long=106.62&description=x%20y",
        "api_key=key-hostile&service_code=theft&lat=10.75&long=106.62&description=trom&phone=%00%00",
        "api_key=key-hostile&service_code=theft&lat=10.75&long=106.62&description=trom&occurred_datetime=yesterday",
        "api_key=key-hostile&service_code=theft&lat=10.75&long=106.62&description=trom&media_url=javascript:alert(1)",
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        char *resp = NULL;
        int st = at_http("POST", A.url, NULL, forms[i], strlen(forms[i]), &resp);
        if (st < 400 || st >= 500)
            fail_msg("Open311 %s: %d %s", forms[i], st, resp ? resp : "");
        free(resp);
    }
    /* an oversized body, a huge description, thousands of fields */
    size_t big = 200 * 1024;
    char *body = antt_xmalloc(big + 1);
    memset(body, 'a', big);
    memcpy(body, "api_key=key-hostile&description=", 30);
    body[big] = 0;
    char *resp = NULL;
    int st = at_http("POST", A.url, NULL, body, big, &resp);
    /* intake answers 413 and closes; a client still sending the rest may
     * see the connection reset before it reads the answer (once in some
     * thousands of rounds here): never a success, and intake still stands */
    if (st == -1)
        assert_int_equal(at_wait_ready(A.st.port[AT_INTAKE], 5000), 0);
    else if (st != 413 && st != 400)
        fail_msg("oversized body: %d %s", st, resp ? resp : "");
    free(resp);
    snprintf(body, 60 * 1024, "api_key=key-hostile&service_code=theft&lat=10.75&long=106.62&description=");
    memset(body + strlen(body), 'x', 50 * 1024);
    body[strlen("api_key=key-hostile&service_code=theft&lat=10.75&long=106.62&description=") + 50 * 1024] = 0;
    st = at_http("POST", A.url, NULL, body, strlen(body), &resp);
    assert_true(st >= 400 && st < 500);
    free(resp);
    antt_buf_t many;
    antt_buf_init(&many);
    antt_buf_puts(&many, "api_key=key-hostile&description=trom");
    for (int i = 0; i < 5000; i++)
        antt_buf_puts(&many, "&x=1");
    st = at_http("POST", A.url, NULL, many.data, many.len, &resp);
    assert_true(st >= 400 && st < 500);
    free(resp);
    antt_buf_cleanup(&many);

    /* the gateway ROUTER: garbage, a huge repeated field, bad UTF-8 */
    s_expect_submit_refused("\xff\xff\xff\xff garbage", 13, "garbage");
    Antt__V1__SubmitReport m = ANTT__V1__SUBMIT_REPORT__INIT;
    Antt__V1__Location loc = ANTT__V1__LOCATION__INIT;
    m.api_key = "key-hostile";
    m.idempotency_key = "hostile-1";
    m.description = "trom xe may";
    m.service_code = "theft";
    loc.area_code = "VN-HCM-BTA-AL";
    m.location = &loc;
    char *urls[3000];
    for (int i = 0; i < 3000; i++)
        urls[i] = "";
    m.media_urls = urls;
    m.n_media_urls = 3000;
    uint8_t *buf = antt_xmalloc(antt__v1__submit_report__get_packed_size(&m));
    size_t len = antt__v1__submit_report__pack(&m, buf);
    s_expect_submit_refused(buf, len, "3,000 media urls");
    free(buf);
    m.n_media_urls = 0;
    m.description = "\xc0\xaf\xc0\xaf overlong";
    m.idempotency_key = "hostile-2";
    uint8_t small[512];
    len = antt__v1__submit_report__pack(&m, small);
    s_expect_submit_refused(small, len, "overlong UTF-8");
    m.description = "trom xe may";
    m.idempotency_key = "hostile-3";
    loc.has_lat = 1;
    loc.lat = 500;
    len = antt__v1__submit_report__pack(&m, small);
    s_expect_submit_refused(small, len, "latitude 500 without longitude");
    memset(body, 0, 20000);
    s_expect_submit_refused(body, 20000, "20 kB of zeros");

    /* triage over HTTP: deep JSON, wrong types; over ZeroMQ: garbage */
    PGresult *r = PQexec(A.db, "SELECT id FROM incidents LIMIT 1");
    char path[256];
    snprintf(path, sizeof(path), "http://127.0.0.1:%d/api/v1/incidents/%s/note", A.st.port[AT_NOTIFICATION],
             PQntuples(r) ? PQgetvalue(r, 0, 0) : "00000000-0000-0000-0000-000000000000");
    PQclear(r);
    const char *auth[] = {"Authorization: Bearer tok-district", "Content-Type: application/json", NULL};
    antt_buf_t deep;
    antt_buf_init(&deep);
    for (int i = 0; i < 100000; i++)
        antt_buf_puts(&deep, "[");
    st = at_http("POST", path, auth, deep.data, deep.len, &resp);
    assert_true(st >= 400 && st < 500);
    free(resp);
    antt_buf_cleanup(&deep);
    static const char *const bodies[] = {"{\"note\": 5}", "{\"note\": \"\\u0000\"}", "{\"note\": \"\xc0\xaf\"}",
                                         "{\"expected_version\": \"1\"}", "[]", "{", "null"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        st = at_http("POST", path, auth, bodies[i], strlen(bodies[i]), &resp);
        if (st < 400 || st >= 500)
            fail_msg("triage body %s: %d %s", bodies[i], st, resp ? resp : "");
        free(resp);
    }
    size_t n = 0;
    uint8_t *rep = s_zmq_ask(A.st.triage_ep, "\x0a\xff\xff\xff", 4, &n);
    assert_non_null(rep);
    Antt__V1__TriageReply *tr = antt__v1__triage_reply__unpack(NULL, n, rep);
    assert_non_null(tr);
    assert_int_equal(tr->status, ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST);
    antt__v1__triage_reply__free_unpacked(tr, NULL);
    free(rep);

    /* the trend API and snapshot ROUTER */
    static const char *const queries[] = {"/api/v1/trends?area=%00", "/api/v1/trends?area=VN-HCM-BTA&from=%C0%AF",
                                          "/api/v1/summary?area=VN-HCM-BTA&year=99999999999999999999",
                                          "/api/v1/hotspots?area=VN-HCM-BTA&days=x"};
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        char u[512];
        snprintf(u, sizeof(u), "http://127.0.0.1:%d%s", A.st.port[AT_AGGREGATION], queries[i]);
        st = at_http("GET", u, NULL, NULL, 0, &resp);
        if (st < 400 || st >= 500)
            fail_msg("trend query %s: %d %s", queries[i], st, resp ? resp : "");
        free(resp);
    }
    rep = s_zmq_ask(A.st.snapshot_ep, "\xff\xfe", 2, &n);
    assert_non_null(rep);
    Antt__V1__TrendSnapshotItem *it = antt__v1__trend_snapshot_item__unpack(NULL, n, rep);
    assert_non_null(it);
    assert_true(it->end && it->error && *it->error);
    antt__v1__trend_snapshot_item__free_unpacked(it, NULL);
    free(rep);
    free(body);
}

static void test_hostile_input(void **state)
{
    (void)state;
    s_steady_t g = {.per_s = 10};
    pthread_t tg;
    A.stop = 0;
    long before = s_reports();
    pthread_create(&tg, NULL, s_steady_run, &g);

    /* the whole barrage, again and again for 3 s, while the steady gateway
     * keeps sending */
    int rounds = 0;
    int64_t t_end = antt_now_ms() + s_duration_ms();
    do {
        s_hostile_round();
        rounds++;
    } while (antt_now_ms() < t_end);

    A.stop = 1;
    pthread_join(tg, NULL);
    /* nothing hostile stored; every service still ready; the steady gateway
     * went through with its latency */
    assert_int_equal(at_db_long(A.db, "SELECT count(*) FROM reports r JOIN gateways g ON g.id = r.gateway_id"
                                      " WHERE g.code = 'hostile'"),
                     0);
    assert_int_equal(s_reports(), before + g.ok);
    for (int i = 0; i < AT_NSERVICES; i++)
        assert_int_equal(at_wait_ready(A.st.port[i], 5000), 0);
    double p99 = s_p99(&g);
    printf("hostile input: %d rounds in %.0f s; steady gateway %ld ok, %ld failed, p99 %.0f ms meanwhile\n", rounds,
           (double)s_duration_ms() / 1000.0, g.ok, g.failed, p99);
    assert_int_equal(g.failed, 0);
    assert_true(p99 < 500);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flood),
        cmocka_unit_test(test_hostile_input),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
