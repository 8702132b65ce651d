/* The two audiences of the trends (issue 16): the public stream, trend API,
 * spikes and hotspots show no figure of 1 .. k-1 incidents and no
 * neighbourhood figure younger than the delay, while a staff dashboard
 * token (made with the real `antt dashboard-token`) sees it live; a token
 * of one ward sees nothing of another; a bad or revoked token gets 401; the
 * snapshot ROUTER answers no snapshot without a staff token. Aggregation
 * runs alone on a real PostgreSQL with real sockets. */
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

#include "antt_test.h"
#include "antt_util.h"
#include "antt/v1/trend.pb-c.h"

#define S_WARD "VN-HCM-BTA-TT"
#define S_KP S_WARD "-KP4"
#define S_OTHER "VN-HCM-BTA-AL"

static struct {
    char *conninfo;
    PGconn *db;
    at_proc_t agg;
    int port;
    char snap_ep[64];
    char *envv[40];
    char today[16];
    char staff[160];   /* a token of the district */
    char ward_tok[160]; /* a token of ward TT */
} E;

/* Runs `antt ARGS` against the test database; its first line of output
 * into out. The exit status. */
static int s_cli(const char *args, char *out, size_t outlen)
{
    char cmd[1024], path[512];
    snprintf(path, sizeof(path), "%s/tests/test_audiences-%d.out", ANTT_BUILD_DIR, (int)getpid());
    snprintf(cmd, sizeof(cmd), "ANTT_DB_CONNINFO='%s' %s/services/cli/antt %s > %s 2>&1", E.conninfo, ANTT_BUILD_DIR,
             args, path);
    int rc = system(cmd);
    FILE *f = fopen(path, "r");
    out[0] = 0;
    if (f && fgets(out, (int)outlen, f))
        out[strcspn(out, "\n")] = 0;
    if (f)
        fclose(f);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int s_setup(void **state)
{
    (void)state;
    E.conninfo = at_db_create("antt_audiences");
    E.db = at_db_connect(E.conninfo);
    E.port = at_free_port();
    size_t cap = sizeof(E.envv) / sizeof(E.envv[0]);
    char v[128];
    at_env_add(E.envv, cap, "ANTT_DB_CONNINFO=%s", E.conninfo);
    snprintf(v, sizeof(v), "127.0.0.1:%d", E.port);
    at_env_add(E.envv, cap, "ANTT_AGGREGATION_HTTP=%s", v);
    snprintf(v, sizeof(v), "tcp://127.0.0.1:%d", at_free_port());
    at_env_add(E.envv, cap, "ANTT_AGGREGATION_PUBLISH_ENDPOINT=%s", v);
    snprintf(E.snap_ep, sizeof(E.snap_ep), "tcp://127.0.0.1:%d", at_free_port());
    at_env_add(E.envv, cap, "ANTT_AGGREGATION_SNAPSHOT_ENDPOINT=%s", E.snap_ep);
    snprintf(v, sizeof(v), "tcp://127.0.0.1:%d", at_free_port());
    at_env_add(E.envv, cap, "ANTT_AGGREGATION_CLASSIFIED_ENDPOINT=%s", v);
    at_env_add(E.envv, cap, "ANTT_AGGREGATION_UPDATE_ENDPOINT=%s", "");
    at_env_add(E.envv, cap, "ANTT_AGGREGATION_REDRIVE_INTERVAL_MS=%s", "50");
    at_env_add(E.envv, cap, "ANTT_SSE_RECHECK_MS=%s", "200");
    PGresult *r = PQexec(E.db, "SELECT antt_trend_today()::text");
    snprintf(E.today, sizeof(E.today), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (s_cli("dashboard-token add --area VN-HCM-BTA --name 'district desk'", E.staff, sizeof(E.staff)) != 0 ||
        s_cli("dashboard-token add --area " S_WARD, E.ward_tok, sizeof(E.ward_tok)) != 0) {
        fprintf(stderr, "antt dashboard-token add failed: %s\n", E.staff);
        return -1;
    }
    if (at_spawn(&E.agg, "aggregation", E.envv) != 0)
        return -1;
    return at_wait_proc_ready(&E.agg, E.port, 20000);
}

static int s_teardown(void **state)
{
    (void)state;
    at_stop(&E.agg, 15, 10000);
    PQfinish(E.db);
    return 0;
}

/* n incidents of category in area, occurred today, filed now. */
static void s_report(const char *area, const char *category, int n)
{
    char *sql = antt_xasprintf(
        "INSERT INTO incidents (id, occurred_at, category, priority, area_code, desk_code, status)"
        " SELECT gen_random_uuid(), now(), '%s', 2, '%s', (SELECT desk_code FROM area_desks WHERE area_code = '%s'),"
        " 'new' FROM generate_series(1, %d)",
        category, area, area, n);
    at_db_exec(E.db, sql);
    free(sql);
}

static int s_queue_empty(void *arg)
{
    (void)arg;
    return at_db_long(E.db, "SELECT count(*) FROM trend_queue") == 0;
}

/* GET path with a token as Bearer (NULL: none). The status; *body malloc'd. */
static int s_get(const char *path, const char *token, char **body)
{
    char url[512], auth[220];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", E.port, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
    const char *hdrs[] = {auth, NULL};
    return at_http("GET", url, token ? hdrs : NULL, NULL, 0, body);
}

/* ---- a stream read by a thread ------------------------------------------------ */

typedef struct s_sse {
    char path[400];          /* with access_token= for a staff stream */
    pthread_mutex_t mu;
    antt_buf_t got;          /* what arrived */
    long status;
    volatile int stop;
    volatile int done;       /* the stream has ended */
    pthread_t th;
} s_sse_t;

static size_t s_sse_write(char *p, size_t size, size_t n, void *arg)
{
    s_sse_t *c = arg;
    pthread_mutex_lock(&c->mu);
    antt_buf_append(&c->got, p, size * n);
    pthread_mutex_unlock(&c->mu);
    return c->stop ? 0 : size * n;
}

static int s_sse_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c2, curl_off_t d)
{
    (void)a, (void)b, (void)c2, (void)d;
    return ((s_sse_t *)arg)->stop;
}

static void *s_sse_main(void *arg)
{
    s_sse_t *c = arg;
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", E.port, c->path);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_sse_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, s_sse_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
    curl_easy_cleanup(h);
    c->done = 1;
    return NULL;
}

static void s_sse_start(s_sse_t *c, const char *path)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->path, sizeof(c->path), "%s", path);
    pthread_mutex_init(&c->mu, NULL);
    antt_buf_init(&c->got);
    pthread_create(&c->th, NULL, s_sse_main, c);
}

typedef struct s_has {
    s_sse_t *c;
    const char *want;
} s_has_t;

static int s_sse_has(void *arg)
{
    s_has_t *w = arg;
    pthread_mutex_lock(&w->c->mu);
    int hit = w->c->got.data && strstr(w->c->got.data, w->want) != NULL;
    pthread_mutex_unlock(&w->c->mu);
    return hit;
}

static int s_sse_done(void *arg)
{
    return ((s_sse_t *)arg)->done;
}

static void s_sse_stop(s_sse_t *c)
{
    c->stop = 1;
    pthread_join(c->th, NULL);
    pthread_mutex_destroy(&c->mu);
}

/* 1 when a key of the stream is a neighbourhood's, or holds a count of 1 .. k-1. */
static int s_leaks(const char *data, char *which, size_t len)
{
    for (const char *p = data; (p = strstr(p, "{\"key\":\"")) != NULL; p++) {
        const char *cnt = strstr(p, "\"count\":");
        long n = cnt ? atol(cnt + 8) : -1;
        int kp = !strncmp(p + 8, S_WARD "-KP", strlen(S_WARD "-KP"));
        if (kp || (cnt && cnt[8] != 'n' && n > 0 && n < 3)) {
            snprintf(which, len, "%.120s", p);
            return 1;
        }
    }
    return 0;
}

/* One domestic-violence report in a neighbourhood: the staff stream shows
 * its neighbourhood, day and category live; the public stream, opened
 * before it, shows nothing of it, neither the neighbourhood nor a small
 * cell, and still shows a ward's figure once it reaches k. */
static void test_public_stream(void **state)
{
    (void)state;
    assert_true(at_wait_until(s_queue_empty, NULL, 15000));
    s_sse_t pub, staff;
    char path[400];
    s_sse_start(&pub, "/api/v1/stream?area=VN-HCM-BTA&period=day");
    snprintf(path, sizeof(path), "/api/v1/stream?area=VN-HCM-BTA&period=day&access_token=%s", E.staff);
    s_sse_start(&staff, path);
    s_has_t w1 = {&pub, "]}\n\n"}, w2 = {&staff, "]}\n\n"};
    assert_true(at_wait_until(s_sse_has, &w1, 10000));
    assert_true(at_wait_until(s_sse_has, &w2, 10000));
    int64_t t0 = antt_now_ms();
    s_report(S_KP, "domestic_violence", 1);
    char kp_key[400], sentinel[160];
    snprintf(kp_key, sizeof(kp_key), "\"key\":\"%s|day|%s|category:domestic_violence\",\"area\":\"%s\",\"period\":"
             "\"day\",\"bucket\":\"%s\",\"dimension\":\"category:domestic_violence\",\"count\":1,", S_KP, E.today, S_KP,
             E.today);
    s_has_t w3 = {&staff, kp_key};
    assert_true(at_wait_until(s_sse_has, &w3, 10000));
    printf("the staff stream showed the neighbourhood's report %lld ms after it was filed\n",
           (long long)(antt_now_ms() - t0));
    /* a sentinel after it: three fires in another ward reach k */
    s_report(S_OTHER "-KP1", "fire", 3);
    snprintf(sentinel, sizeof(sentinel), "\"key\":\"%s|day|%s|category:fire\"", S_OTHER, E.today);
    s_has_t w4 = {&pub, sentinel};
    assert_true(at_wait_until(s_sse_has, &w4, 10000));
    s_sse_stop(&pub);
    s_sse_stop(&staff);
    char which[160] = "";
    int leak = s_leaks(pub.got.data, which, sizeof(which));
    if (leak)
        printf("the public stream showed: %s\n", which);
    assert_false(leak);
    assert_null(strstr(pub.got.data, S_KP "|"));
    printf("the public stream: %zu bytes, no neighbourhood and no cell under 3; the fire ward at 3 shown\n",
           pub.got.len);
    antt_buf_cleanup(&pub.got);
    antt_buf_cleanup(&staff.got);
}

/* The trend API: the public gets the neighbourhood's figure without the
 * report filed now and the ward's cell of 1 suppressed; the staff token
 * gets both live. */
/* path is staff's: 403 for the public (with why in its answer, when not
 * NULL), 200 with the district's token. */
static void s_staff_only(const char *path, const char *why)
{
    char *body = NULL;
    assert_int_equal(s_get(path, NULL, &body), 403);
    if (why && strstr(body, why) == NULL)
        fail_msg("%s answered the public without \"%s\": %s", path, why, body);
    free(body);
    assert_int_equal(s_get(path, E.staff, &body), 200);
    free(body);
}

static void test_public_trends(void **state)
{
    (void)state;
    assert_true(at_wait_until(s_queue_empty, NULL, 15000));
    char path[300], *body = NULL;
    snprintf(path, sizeof(path), "/api/v1/trends?area=%s&category=domestic_violence&period=day&from=%s&to=%s", S_KP,
             E.today, E.today);
    assert_int_equal(s_get(path, NULL, &body), 200);
    printf("public neighbourhood: %s\n", body);
    assert_non_null(strstr(body, "\"count\":0,"));
    free(body);
    assert_int_equal(s_get(path, E.staff, &body), 200);
    assert_non_null(strstr(body, "\"count\":1,"));
    free(body);
    snprintf(path, sizeof(path), "/api/v1/trends?area=%s&category=domestic_violence&period=day&from=%s&to=%s",
             S_WARD, E.today, E.today);
    assert_int_equal(s_get(path, NULL, &body), 200);
    printf("public ward: %s\n", body);
    assert_non_null(strstr(body, "\"count\":null,"));
    assert_non_null(strstr(body, "\"suppressed\":true"));
    assert_null(strstr(body, "\"count\":1,"));
    free(body);
    assert_int_equal(s_get(path, E.ward_tok, &body), 200);
    assert_non_null(strstr(body, "\"count\":1,"));
    free(body);
    /* no way around a hidden day: a range of the client's own is staff's
     * (two ranges a day apart are that day's count), and the public's
     * year to date and 28 days are today's whatever to= says (at two days
     * they would be the day between) */
    snprintf(path, sizeof(path), "/api/v1/trends?area=%s&category=domestic_violence&period=range&from=%s&to=%s",
             S_WARD, E.today, E.today);
    assert_int_equal(s_get(path, NULL, &body), 403);
    assert_non_null(strstr(body, "a range of your own choosing is staff's"));
    free(body);
    assert_int_equal(s_get(path, E.staff, &body), 200);
    assert_non_null(strstr(body, "\"count\":1,"));
    free(body);
    PGresult *yr = PQexec(E.db, "SELECT (antt_trend_today() - 1)::text");
    char yesterday[16], want_today[48], want_yesterday[48];
    snprintf(yesterday, sizeof(yesterday), "%s", PQgetvalue(yr, 0, 0));
    PQclear(yr);
    snprintf(want_today, sizeof(want_today), "\"to\": \"%s\"", E.today);
    snprintf(want_yesterday, sizeof(want_yesterday), "\"to\": \"%s\"", yesterday);
    snprintf(path, sizeof(path), "/api/v1/trends?area=%s&category=domestic_violence&period=day&from=%s&to=%s",
             S_WARD, yesterday, yesterday);
    assert_int_equal(s_get(path, NULL, &body), 200);
    const char *cmp = strstr(body, "\"comparisons\"");
    assert_non_null(cmp);
    assert_non_null(strstr(cmp, want_today));
    assert_null(strstr(cmp, want_yesterday));
    free(body);
    assert_int_equal(s_get(path, E.staff, &body), 200);
    cmp = strstr(body, "\"comparisons\"");
    assert_non_null(cmp);
    assert_non_null(strstr(cmp, want_yesterday));
    free(body);
    /* response times: a neighbourhood's are staff's; a ward's priority of
     * one incident shows no figure (its median would be that incident's) */
    snprintf(path, sizeof(path), "/api/v1/response?area=%s", S_KP);
    s_staff_only(path, "a neighbourhood's response times are staff's");
    snprintf(path, sizeof(path), "/api/v1/response?area=%s", S_WARD);
    assert_int_equal(s_get(path, NULL, &body), 200);
    printf("public ward response: %s\n", body);
    assert_non_null(strstr(body, "\"suppressed\": true"));
    assert_null(strstr(body, "\"incidents\": 1,"));
    free(body);
    assert_int_equal(s_get(path, E.staff, &body), 200);
    assert_non_null(strstr(body, "\"incidents\": 1,"));
    free(body);
    /* three P3 incidents of another ward, one acknowledged: their count
     * shows, the acknowledgement time of one does not */
    at_db_exec(E.db, "INSERT INTO incidents (id, created_at, occurred_at, category, priority, area_code, desk_code,"
                     " status, acknowledged_at) SELECT gen_random_uuid(), now() - interval '2 hours', now() - interval"
                     " '2 hours', 'theft', 3, 'VN-HCM-BTA-BHH', 'DESK-HCM-BTA-BHH', CASE WHEN g = 1 THEN 'acknowledged'"
                     " ELSE 'new' END, CASE WHEN g = 1 THEN now() - interval '1 hour' END FROM generate_series(1, 3) g");
    assert_true(at_wait_until(s_queue_empty, NULL, 15000));
    assert_int_equal(s_get("/api/v1/response?area=VN-HCM-BTA-BHH", NULL, &body), 200);
    printf("public ward response, one sample: %s\n", body);
    assert_non_null(strstr(body, "\"incidents\": 3,"));
    assert_non_null(strstr(body, "\"acknowledge\": {\"n\": null, \"suppressed\": true}"));
    assert_null(strstr(body, "\"acknowledge\": {\"n\": 1,"));
    free(body);
    assert_int_equal(s_get("/api/v1/response?area=VN-HCM-BTA-BHH", E.staff, &body), 200);
    assert_non_null(strstr(body, "\"acknowledge\": {\"n\": 1,"));
    free(body);
    /* a window of the public's own choosing is the whole year: two windows a
     * day apart would be that day's figures (staff keep theirs) */
    char day0[16], day1[16], jan1[16], want[64];
    PGresult *dr = PQexec(E.db, "SELECT antt_trend_today(), antt_trend_today() - 1,"
                                " date_trunc('year', antt_trend_today())::date");
    snprintf(day0, sizeof(day0), "%s", PQgetvalue(dr, 0, 0));
    snprintf(day1, sizeof(day1), "%s", PQgetvalue(dr, 0, 1));
    snprintf(jan1, sizeof(jan1), "%s", PQgetvalue(dr, 0, 2));
    PQclear(dr);
    snprintf(path, sizeof(path), "/api/v1/response?area=VN-HCM-BTA-BHH&from=%s&to=%s", day0, day0);
    assert_int_equal(s_get(path, NULL, &body), 200);
    snprintf(want, sizeof(want), "\"from\": \"%s\"", jan1);
    assert_non_null(strstr(body, want));
    free(body);
    snprintf(path, sizeof(path), "/api/v1/response?area=VN-HCM-BTA-BHH&from=%s&to=%s", day1, day1);
    assert_int_equal(s_get(path, E.staff, &body), 200);
    snprintf(want, sizeof(want), "\"from\": \"%s\"", day1);
    assert_non_null(strstr(body, want));
    free(body);
    /* the public's hotspots are of the dashboard's window only */
    snprintf(path, sizeof(path), "/api/v1/hotspots?area=%s&days=9", S_WARD);
    s_staff_only(path, "the public's hotspots are of the last 30 days at 150 m");
    snprintf(path, sizeof(path), "/api/v1/hotspots?area=%s&days=30", S_WARD);
    assert_int_equal(s_get(path, NULL, &body), 200);
    free(body);
    /* a neighbourhood's summary of this year is staff's */
    snprintf(path, sizeof(path), "/api/v1/summary?area=%s", S_KP);
    s_staff_only(path, NULL);
    /* and so is its printable report; a ward's is public */
    snprintf(path, sizeof(path), "/report?area=%s", S_KP);
    s_staff_only(path, NULL);
    snprintf(path, sizeof(path), "/report?area=%s", S_WARD);
    assert_int_equal(s_get(path, NULL, &body), 200);
    free(body);
}

/* The public's response times give away no count of 1 .. k-1 by subtraction
 * or by a share (the second attack: "all" less the priorities shown was the
 * hidden one; resolved_share x incidents was 1): antt_public_response on
 * the figures the attack read. */
/* How many elements of antt_public_response(input, k) meet where. */
static long s_rule_count(const char *input, int k, const char *where)
{
    char sql[1400];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM jsonb_array_elements(antt_public_response(%s, %d)) e WHERE %s",
             input, k, where);
    return at_db_long(E.db, sql);
}

static void test_public_response_rules(void **state)
{
    (void)state;
    static const char in[] =
        "'[{\"priority\": null, \"incidents\": 52, \"resolved_share\": 0.0192, \"escalated_share\": 0.5},"
        " {\"priority\": 1, \"incidents\": 20, \"resolved_share\": 0.05, \"escalated_share\": 0.5},"
        " {\"priority\": 2, \"incidents\": 10, \"resolved_share\": 0.5},"
        " {\"priority\": 3, \"incidents\": 1, \"resolved_share\": 0},"
        " {\"priority\": 4, \"incidents\": 21, \"resolved_share\": 0.5}]'::jsonb";
    static const char hidden[] = "e->'suppressed' = 'true'";
    /* P3 (1 incident) hidden, and P2, the smallest shown, with it */
    assert_int_equal(s_rule_count(in, 3, "e->'suppressed' = 'true' AND e->>'priority' IN ('2', '3')"), 2);
    assert_int_equal(s_rule_count(in, 3, hidden), 2);
    /* shares that are 1 resolved (all: 0.0192 x 52, P1: 0.05 x 20) go; 0.5 x 20 stays */
    assert_int_equal(s_rule_count(in, 3, "e ? 'resolved_share' AND e->'resolved_share' = 'null'"), 2);
    assert_int_equal(s_rule_count(in, 3, "(e->>'escalated_share')::numeric = 0.5"), 2);
    /* two hidden already: nothing more is hidden; k 1 (no rule): nothing */
    char two[700];
    snprintf(two, sizeof(two), "jsonb_set(%s, '{2,incidents}', '2')", in);
    assert_int_equal(s_rule_count(two, 3, hidden), 2);
    assert_int_equal(s_rule_count(in, 1, "e->'suppressed' = 'true' OR e->'resolved_share' = 'null'"), 0);
}

/* The public's summary of a year not over hides its figures of 1 .. k-1 (a
 * ward's one domestic violence case of the year showed as "total 1" within
 * 2 s, while the trends hid it); staff see them, and a finished year is
 * published whole (test_report). */
static void test_public_summary(void **state)
{
    (void)state;
    at_db_exec(E.db, "INSERT INTO incidents (id, created_at, occurred_at, category, priority, area_code, desk_code,"
                     " status) VALUES (gen_random_uuid(), now() - interval '1 hour', now() - interval '1 hour',"
                     " 'domestic_violence', 2, 'VN-HCM-BTA-BHHB', 'DESK-HCM-BTA-BHHB', 'new')");
    assert_true(at_wait_until(s_queue_empty, NULL, 15000));
    char *body = NULL;
    assert_int_equal(s_get("/api/v1/summary?area=VN-HCM-BTA-BHHB", NULL, &body), 200);
    printf("public summary of a ward with one case this year: %.400s\n", body);
    assert_non_null(strstr(body, "\"total_suppressed\": true"));
    assert_non_null(strstr(body, "\"count_suppressed\": true"));
    assert_non_null(strstr(body, "số liệu ẩn (dưới ngưỡng công bố)"));
    assert_null(strstr(body, "\"total\": 1,"));
    assert_null(strstr(body, "\"count\": 1,"));
    free(body);
    /* the district's standard line: its unplaced cases, when 1 .. k-1, are hidden too */
    at_db_exec(E.db, "INSERT INTO incidents (id, created_at, occurred_at, category, priority, area_code, desk_code,"
                     " status) VALUES (gen_random_uuid(), now() - interval '1 hour', now() - interval '1 hour',"
                     " 'theft', 3, 'VN-HCM-BTA', 'DESK-HCM-BTA', 'new')");
    assert_true(at_wait_until(s_queue_empty, NULL, 15000));
    long unplaced = at_db_long(E.db, "SELECT (antt_summary('VN-HCM-BTA', extract(year FROM antt_trend_today())::int)"
                                     "->'standard'->>'unplaced')::bigint");
    assert_int_equal(s_get("/api/v1/summary?area=VN-HCM-BTA", NULL, &body), 200);
    assert_int_equal(unplaced, 1); /* the one just filed at the district */
    assert_non_null(strstr(body, "\"unplaced_suppressed\": true"));
    assert_null(strstr(body, "vụ chưa xác định được"));
    free(body);
    assert_int_equal(s_get("/api/v1/summary?area=VN-HCM-BTA-BHHB&format=csv", NULL, &body), 200);
    assert_non_null(strstr(body, "order,"));
    assert_null(strstr(body, ",1,"));
    free(body);
    assert_int_equal(s_get("/api/v1/summary?area=VN-HCM-BTA-BHHB", E.staff, &body), 200);
    assert_non_null(strstr(body, "\"total\": 1,"));
    assert_null(strstr(body, "suppressed"));
    free(body);
}

/* A ward's token sees its ward and below, nothing of another ward. */
static void test_scope(void **state)
{
    (void)state;
    char path[300], *body = NULL;
    snprintf(path, sizeof(path), "/api/v1/trends?area=%s&period=day&from=%s&to=%s", S_OTHER, E.today, E.today);
    assert_int_equal(s_get(path, E.ward_tok, &body), 403);
    printf("ward TT's token on ward AL: %s\n", body);
    free(body);
    snprintf(path, sizeof(path), "/api/v1/trends?area=VN-HCM-BTA&period=day&from=%s&to=%s", E.today, E.today);
    assert_int_equal(s_get(path, E.ward_tok, &body), 403);
    free(body);
    snprintf(path, sizeof(path), "/api/v1/stream?area=%s&access_token=%s", S_OTHER, E.ward_tok);
    assert_int_equal(s_get(path, NULL, &body), 403);
    free(body);
    /* without area=, the stream is the token's ward */
    s_sse_t c;
    snprintf(path, sizeof(path), "/api/v1/stream?period=day&access_token=%s", E.ward_tok);
    s_sse_start(&c, path);
    s_has_t w = {&c, "]}\n\n"};
    assert_true(at_wait_until(s_sse_has, &w, 10000));
    s_sse_stop(&c);
    assert_non_null(strstr(c.got.data, "\"key\":\"" S_KP "|day|"));
    assert_null(strstr(c.got.data, "\"key\":\"" S_OTHER));
    assert_null(strstr(c.got.data, "\"key\":\"VN-HCM-BTA|"));
    antt_buf_cleanup(&c.got);
}

/* The staff CSV export takes a dashboard token too, for its area only. */
static void test_export(void **state)
{
    (void)state;
    char path[300], *body = NULL;
    snprintf(path, sizeof(path), "/api/v1/export/incidents?area=%s&from=%s&to=%s", S_WARD, E.today, E.today);
    assert_int_equal(s_get(path, E.ward_tok, &body), 200);
    assert_non_null(strstr(body, S_KP));
    free(body);
    assert_int_equal(s_get(path, NULL, &body), 403);
    free(body);
    snprintf(path, sizeof(path), "/api/v1/export/incidents?area=%s&from=%s&to=%s", S_OTHER, E.today, E.today);
    assert_int_equal(s_get(path, E.ward_tok, &body), 403);
    free(body);
}

/* A bad token and a revoked one: 401, nothing served; a stream open with
 * the revoked token ends. */
static void test_bad_and_revoked(void **state)
{
    (void)state;
    char path[300], *body = NULL, out[200], tok[160], args[64];
    snprintf(path, sizeof(path), "/api/v1/trends?area=%s&period=day&from=%s&to=%s", S_WARD, E.today, E.today);
    assert_int_equal(s_get(path, "antt_s_not-a-token-of-ours", &body), 401);
    assert_non_null(strstr(body, "unknown or revoked dashboard token"));
    free(body);
    snprintf(path, sizeof(path), "/api/v1/stream?access_token=nope");
    assert_int_equal(s_get(path, NULL, &body), 401);
    free(body);
    assert_int_equal(s_cli("dashboard-token add --area " S_WARD " --name revokee", tok, sizeof(tok)), 0);
    snprintf(path, sizeof(path), "/api/v1/trends?area=%s&period=day&from=%s&to=%s", S_WARD, E.today, E.today);
    assert_int_equal(s_get(path, tok, &body), 200);
    free(body);
    s_sse_t open;
    char spath[300];
    snprintf(spath, sizeof(spath), "/api/v1/stream?period=day&access_token=%s", tok);
    s_sse_start(&open, spath);
    s_has_t w = {&open, "]}\n\n"};
    assert_true(at_wait_until(s_sse_has, &w, 10000));
    long id = at_db_long(E.db, "SELECT id FROM dashboard_tokens WHERE name = 'revokee'");
    snprintf(args, sizeof(args), "dashboard-token revoke %ld", id);
    assert_int_equal(s_cli(args, out, sizeof(out)), 0);
    assert_string_equal(out, "revoked");
    int64_t t0 = antt_now_ms();
    assert_true(at_wait_until(s_sse_done, &open, 10000));
    printf("the stream open with the revoked token ended %lld ms after the revocation\n",
           (long long)(antt_now_ms() - t0));
    s_sse_stop(&open);
    antt_buf_cleanup(&open.got);
    assert_int_equal(s_cli(args, out, sizeof(out)), 1); /* twice: nothing to revoke */
    assert_int_equal(s_get(path, tok, &body), 401);
    free(body);
    assert_int_equal(s_cli("dashboard-token list", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "district desk"));
    assert_int_not_equal(s_cli("dashboard-token add --area VN-NOWHERE", out, sizeof(out)), 0);
    long n = at_db_long(E.db, "SELECT count(*) FROM dashboard_tokens");
    assert_int_equal(n, 3);
}

/* Asks the ROUTER for a snapshot of area with token (NULL none); the
 * items received and the end's error. */
static long s_snapshot(const char *area, const char *token, char *error)
{
    void *z = zmq_ctx_new(), *d = zmq_socket(z, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_connect(d, E.snap_ep);
    Antt__V1__TrendSnapshotRequest q = ANTT__V1__TREND_SNAPSHOT_REQUEST__INIT;
    q.area_code = (char *)area;
    q.period = "day";
    q.token = (char *)token;
    uint8_t buf[512];
    size_t len = antt__v1__trend_snapshot_request__pack(&q, buf);
    zmq_send(d, buf, len, 0);
    long items = 0;
    error[0] = 0;
    for (;;) {
        zmq_pollitem_t it = {d, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 10000) <= 0) {
            items = -2;
            break;
        }
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, d, 0);
        Antt__V1__TrendSnapshotItem *x = antt__v1__trend_snapshot_item__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        zmq_msg_close(&m);
        int end = x == NULL || x->end;
        if (x && x->update)
            items++;
        if (x && x->end)
            snprintf(error, 128, "%s", x->error ? x->error : "");
        if (x)
            antt__v1__trend_snapshot_item__free_unpacked(x, NULL);
        if (end)
            break;
    }
    zmq_close(d);
    zmq_ctx_term(z);
    return items;
}

/* The snapshot ROUTER is a staff channel: no snapshot without a staff
 * token, none outside the token's area. */
static void test_router_needs_token(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(s_snapshot(S_WARD, NULL, err), 0);
    printf("snapshot without a token: \"%s\"\n", err);
    assert_non_null(strstr(err, "token"));
    assert_int_equal(s_snapshot(S_WARD, "antt_s_bad", err), 0);
    assert_non_null(strstr(err, "unknown or revoked"));
    assert_int_equal(s_snapshot(S_OTHER, E.ward_tok, err), 0);
    assert_non_null(strstr(err, "outside"));
    long n = s_snapshot(S_WARD, E.ward_tok, err);
    printf("snapshot of ward TT with its token: %ld items, error \"%s\"\n", n, err);
    assert_string_equal(err, "");
    assert_true(n > 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_stream),      cmocka_unit_test(test_public_trends),
        cmocka_unit_test(test_public_summary),     cmocka_unit_test(test_public_response_rules),
        cmocka_unit_test(test_scope),
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_bad_and_revoked),
        cmocka_unit_test(test_router_needs_token),
    };
    int rc = cmocka_run_group_tests(tests, s_setup, s_teardown);
    curl_global_cleanup();
    return rc;
}
