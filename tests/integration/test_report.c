/* The yearly report and the staff export against a real aggregation
 * service: GET /report (the printable page, its figures inside it),
 * `antt report --pdf` (headless Chromium; the PDF's text read back with
 * pdftotext holds the year's sentence), and GET /api/v1/export/incidents
 * (staff only, chunked, coarsened, a year of many incidents with the
 * service's memory bounded). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "antt_test.h"
#include "antt_util.h"

#define S_DISTRICT "VN-HCM-BTA"
#define S_EXPORT_N 40000 /* incidents in the export's year */

static struct {
    char *conninfo;
    PGconn *db;
    at_proc_t agg;
    int port;
    char *envv[40];
    int y; /* last year: the report's year */
} E;

static int s_queue_empty(void *arg)
{
    (void)arg;
    return at_db_long(E.db, "SELECT count(*) FROM trend_queue") == 0;
}

/* n incidents of category in area in year, spread from 1 January (every
 * step minutes), at a point near lat, lon. */
static void s_gen(const char *area, const char *category, int year, int n, int step_min, double lat, double lon)
{
    char *sql = antt_xasprintf(
        "INSERT INTO incidents (id, occurred_at, category, priority, area_code, desk_code, status, lat, lon)"
        " SELECT gen_random_uuid(), make_timestamptz(%d, 1, 1, 8, 0, 0, 'Asia/Ho_Chi_Minh') + g * interval '%d minutes',"
        " '%s', 3, '%s', (SELECT desk_code FROM area_desks WHERE area_code = '%s'), 'new',"
        " %.6f + (g %% 7) * 0.0002, %.6f + (g %% 5) * 0.0002 FROM generate_series(0, %d) g",
        year, step_min, category, area, area, lat, lon, n - 1);
    at_db_exec(E.db, sql);
    free(sql);
}

static int s_setup(void **state)
{
    (void)state;
    E.conninfo = at_db_create("t_report");
    E.db = at_db_connect(E.conninfo);
    at_db_exec(E.db, "INSERT INTO dispatchers (name, desk_code, token_hash) VALUES"
                     " ('district', 'DESK-HCM-BTA', sha256('tok-district')),"
                     " ('ward', 'DESK-HCM-BTA-AL', sha256('tok-ward')),"
                     " ('gone', 'DESK-HCM-BTA', sha256('tok-gone'))");
    at_db_exec(E.db, "UPDATE dispatchers SET active = false WHERE name = 'gone'");
    E.port = at_free_port();
    size_t cap = sizeof(E.envv) / sizeof(E.envv[0]);
    char v[128];
    at_env_add(E.envv, cap, "ANTT_DB_CONNINFO=%s", E.conninfo);
    snprintf(v, sizeof(v), "127.0.0.1:%d", E.port);
    at_env_add(E.envv, cap, "ANTT_AGGREGATION_HTTP=%s", v);
    const char *eps[] = {"PUBLISH", "SNAPSHOT", "CLASSIFIED", "UPDATE"};
    for (size_t i = 0; i < 4; i++) {
        char k[64];
        snprintf(k, sizeof(k), "ANTT_AGGREGATION_%s_ENDPOINT=%%s", eps[i]);
        snprintf(v, sizeof(v), "tcp://127.0.0.1:%d", at_free_port());
        at_env_add(E.envv, cap, k, v);
    }
    at_env_add(E.envv, cap, "ANTT_AGGREGATION_REDRIVE_INTERVAL_MS=%s", "200");
    E.y = (int)at_db_long(E.db, "SELECT extract(year FROM antt_trend_today())::int - 1");
    /* the report's year and the one before: 30 thefts then 24, 5 fires then 2 */
    s_gen("VN-HCM-BTA-AL-KP1", "theft", E.y - 1, 30, 9000, 10.7452, 106.622);
    s_gen("VN-HCM-BTA-AL-KP1", "theft", E.y, 24, 9000, 10.7452, 106.622);
    s_gen("VN-HCM-BTA-TT-KP2", "fire", E.y - 1, 5, 60000, 10.780, 106.585);
    s_gen("VN-HCM-BTA-TT-KP2", "fire", E.y, 2, 60000, 10.780, 106.585);
    /* the district's data begins on 1 January of Y-1 (inserted rows are no import) */
    at_db_exec(E.db, "SELECT antt_coverage_record('VN-HCM', make_date(extract(year FROM antt_trend_today())::int - 2, 1, 1),"
                     " 'operator')");
    if (at_spawn(&E.agg, "aggregation", E.envv) != 0 || at_wait_proc_ready(&E.agg, E.port, 20000) != 0)
        return -1;
    if (!at_wait_until(s_queue_empty, NULL, 20000))
        return -1;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    at_stop(&E.agg, 15, 10000);
    PQfinish(E.db);
    return 0;
}

static int s_get(const char *path, const char *token, char **body)
{
    char url[512], auth[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", E.port, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
    const char *hdr[] = {auth, NULL};
    return at_http("GET", url, token ? hdr : NULL, NULL, 0, body);
}

/* The year's sentence, as the summary says it. */
static char *s_sentence(const char *area, int year)
{
    char q[256];
    snprintf(q, sizeof(q), "SELECT antt_summary('%s', %d)->>'sentence'", area, year);
    PGresult *r = PQexec(E.db, q);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    char *s = antt_xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return s;
}

/* Spaces, tabs and newlines as one space (pdftotext breaks lines). */
static void s_squeeze(char *s)
{
    char *w = s;
    int sp = 0;
    for (char *p = s; *p; p++) {
        int ws = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r' || *p == '\f';
        if (ws && sp)
            continue;
        *w++ = ws ? ' ' : *p;
        sp = ws;
    }
    *w = 0;
}

/* GET /report: the page with the year's figures in it; what the server puts
 * into the page's script cannot end it; bad areas and years are errors. */
static void test_report_page(void **state)
{
    (void)state;
    char path[128], *b = NULL;
    snprintf(path, sizeof(path), "/report?area=%s&year=%d", S_DISTRICT, E.y);
    assert_int_equal(s_get(path, NULL, &b), 200);
    assert_string_equal(at_http_last_header("content-type"), "text/html; charset=utf-8");
    assert_non_null(strstr(b, "<script id=\"report-data\" type=\"application/json\">"));
    char *sentence = s_sentence(S_DISTRICT, E.y);
    print_message("the sentence: %s\n", sentence);
    assert_non_null(strstr(sentence, "giảm 06 vụ"));
    assert_non_null(strstr(b, sentence));
    assert_non_null(strstr(b, "\"name\": \"Quận Bình Tân\""));
    free(sentence);
    free(b);

    /* a name that would end the script element */
    at_db_exec(E.db, "INSERT INTO areas (code, parent_code, level, name, name_ascii) VALUES"
                     " ('VN-HCM-XSS', 'VN-HCM', 'district', 'Quận </script><script>alert(1)</script>', 'x')");
    assert_int_equal(s_get("/report?area=VN-HCM-XSS", NULL, &b), 200);
    assert_null(strstr(b, "<script>alert(1)"));
    assert_non_null(strstr(b, "\\u003c/script>\\u003cscript>alert(1)"));
    free(b);
    assert_int_equal(s_get("/report?area=VN-HCM-NOPE", NULL, &b), 404);
    free(b);
    assert_int_equal(s_get("/report?area=VN-HCM-BTA&year=1800", NULL, &b), 400);
    free(b);
    assert_int_equal(s_get("/report", NULL, &b), 400);
    free(b);
}

static int s_run(const char *cmd, char **out)
{
    char line[2048], path[512];
    snprintf(path, sizeof(path), "%s/report.out", ANTT_BUILD_DIR);
    snprintf(line, sizeof(line), "%s > %s 2>&1", cmd, path);
    int rc = system(line);
    *out = at_read_file(path, NULL);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* antt report with these options for an unknown area: exit 1, the reason,
 * and no file. */
static void s_unknown_area(const char *opts)
{
    char cmd[1024], bad[512], *out = NULL;
    snprintf(bad, sizeof(bad), "%s/report-bad.pdf", ANTT_BUILD_DIR);
    snprintf(cmd, sizeof(cmd), "%s/services/cli/antt report --area VN-HCM-NOPE%s --pdf %s --url http://127.0.0.1:%d",
             ANTT_BUILD_DIR, opts, bad, E.port);
    assert_int_equal(s_run(cmd, &out), 1);
    assert_non_null(strstr(out, "unknown area VN-HCM-NOPE"));
    free(out);
    assert_int_not_equal(access(bad, F_OK), 0);
}

/* antt report --pdf: a PDF whose text holds the sentence; a bad area is an
 * error and no file. */
static void test_report_pdf(void **state)
{
    (void)state;
    char cmd[1024], pdf[512], *out = NULL;
    snprintf(pdf, sizeof(pdf), "%s/report.pdf", ANTT_BUILD_DIR);
    remove(pdf);
    snprintf(cmd, sizeof(cmd), "%s/services/cli/antt report --area %s --year %d --pdf %s --url http://127.0.0.1:%d",
             ANTT_BUILD_DIR, S_DISTRICT, E.y, pdf, E.port);
    int64_t t0 = antt_now_ms();
    if (s_run(cmd, &out) != 0)
        fail_msg("antt report failed: %s", out);
    print_message("antt report printed the PDF in %lld ms: %s", (long long)(antt_now_ms() - t0), out);
    free(out);
    size_t len = 0;
    char *bytes = at_read_file(pdf, &len);
    assert_non_null(bytes);
    assert_true(len > 1000 && !memcmp(bytes, "%PDF-", 5));
    free(bytes);
    snprintf(cmd, sizeof(cmd), "pdftotext -enc UTF-8 %s -", pdf);
    assert_int_equal(s_run(cmd, &out), 0);
    s_squeeze(out);
    char *sentence = s_sentence(S_DISTRICT, E.y);
    s_squeeze(sentence);
    if (strstr(out, sentence) == NULL)
        fail_msg("the PDF's text does not hold the sentence \"%s\":\n%s", sentence, out);
    assert_non_null(strstr(out, "Báo cáo tình hình an ninh, trật tự năm"));
    free(sentence);
    free(out);

    s_unknown_area("");
}

/* How many times needle occurs in s. */
static int s_count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* The staff's report: every month in full. The public's page hides the
 * months of 1 .. k-1 incidents, "(ẩn)" (two suspicious persons in December, in a
 * ward the export below does not read); a dashboard token of the area, as a
 * header or as ?access_token= (Chromium sends no header), shows them. antt
 * report --staff prints that page with a token made for it and revoked
 * after it. */
static void test_report_staff(void **state)
{
    (void)state;
    char *sql = antt_xasprintf(
        "INSERT INTO incidents (id, occurred_at, category, priority, area_code, desk_code, status, lat, lon)"
        " SELECT gen_random_uuid(), make_timestamptz(%d, 12, 10, 20, 0, 0, 'Asia/Ho_Chi_Minh') + g * interval '1 hour',"
        " 'suspicious', 4, 'VN-HCM-BTA-TT-KP2', (SELECT desk_code FROM area_desks WHERE area_code = 'VN-HCM-BTA-TT-KP2'),"
        " 'new', 10.780, 106.585 FROM generate_series(0, 1) g", E.y);
    at_db_exec(E.db, sql);
    free(sql);
    assert_true(at_wait_until(s_queue_empty, NULL, 20000));
    at_db_exec(E.db, "INSERT INTO dashboard_tokens (name, area_code, token_hash)"
                     " VALUES ('report test', 'VN-HCM-BTA', sha256('tok-staff-report'))");
    char path[160], *pub = NULL, *hdr = NULL, *query = NULL;
    snprintf(path, sizeof(path), "/report?area=%s&year=%d", S_DISTRICT, E.y);
    assert_int_equal(s_get(path, NULL, &pub), 200);
    assert_int_equal(s_get(path, "tok-staff-report", &hdr), 200);
    snprintf(path, sizeof(path), "/report?area=%s&year=%d&access_token=tok-staff-report", S_DISTRICT, E.y);
    assert_int_equal(s_get(path, NULL, &query), 200);
    int hidden_pub = s_count(pub, "\"n\": null"), hidden_hdr = s_count(hdr, "\"n\": null");
    print_message("report: months hidden from the public %d, from staff %d\n", hidden_pub, hidden_hdr);
    assert_true(hidden_pub > 0);
    assert_int_equal(hidden_hdr, 0);
    assert_string_equal(strstr(query, "\"months\""), strstr(hdr, "\"months\""));
    free(pub);
    free(hdr);
    free(query);
    /* a token of another area is refused, a token in the query of another
     * endpoint is not read */
    snprintf(path, sizeof(path), "/report?area=VN-HCM&year=%d&access_token=tok-staff-report", E.y);
    assert_int_equal(s_get(path, NULL, &pub), 403);
    free(pub);

    setenv("ANTT_DB_CONNINFO", E.conninfo, 1);
    char cmd[1024], pdf[512], *out = NULL, *text_pub = NULL, *text_staff = NULL;
    const char *which[2] = {"", " --staff"};
    for (int k = 0; k < 2; k++) {
        snprintf(pdf, sizeof(pdf), "%s/report%s.pdf", ANTT_BUILD_DIR, k ? "-staff" : "-public");
        remove(pdf);
        snprintf(cmd, sizeof(cmd), "%s/services/cli/antt report --area %s --year %d --pdf %s%s --url http://127.0.0.1:%d",
                 ANTT_BUILD_DIR, S_DISTRICT, E.y, pdf, which[k], E.port);
        if (s_run(cmd, &out) != 0)
            fail_msg("antt report%s failed: %s", which[k], out);
        free(out);
        snprintf(cmd, sizeof(cmd), "pdftotext -enc UTF-8 %s -", pdf);
        assert_int_equal(s_run(cmd, k ? &text_staff : &text_pub), 0);
    }
    /* a hidden month is written "(ẩn)": neither "–" (no data) nor "NaN"
     * (what the page wrote, reading a field the row does not have) */
    assert_null(strstr(text_pub, "NaN"));
    assert_null(strstr(text_staff, "NaN"));
    int hid_pub = s_count(text_pub, "(ẩn)"), hid_staff = s_count(text_staff, "(ẩn)");
    int dash_pub = s_count(text_pub, "–"), dash_staff = s_count(text_staff, "–");
    print_message("report PDF: \"(ẩn)\" %d times in the public's, %d in the staff's; \"–\" %d and %d\n", hid_pub,
                  hid_staff, dash_pub, dash_staff);
    assert_int_equal(hid_pub, 1);
    assert_int_equal(hid_staff, 0);
    assert_int_equal(dash_pub, dash_staff);
    free(text_pub);
    free(text_staff);
    /* the token it printed with is revoked */
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM dashboard_tokens WHERE name LIKE 'antt report %'"), 1);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM dashboard_tokens WHERE name LIKE 'antt report %'"
                                      " AND revoked_at IS NULL"),
                     0);
    /* an unknown area: an error, no token, no file */
    s_unknown_area(" --staff");
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM dashboard_tokens WHERE name LIKE 'antt report %'"), 1);
}

static long s_hwm_kb(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    char *st = at_read_file(path, NULL);
    const char *p = st ? strstr(st, "VmHWM:") : NULL;
    long kb = p ? atol(p + 6) : -1;
    free(st);
    return kb;
}

/* The export: staff of the area only; bad ranges refused; every counted
 * incident of the range once, coarsened, without text or contact; chunked,
 * and the service's peak memory does not grow with the file. */
static void test_export(void **state)
{
    (void)state;
    char path[256], *b = NULL;
    snprintf(path, sizeof(path), "/api/v1/export/incidents?area=%s&from=%d-01-01&to=%d-12-31", S_DISTRICT, E.y, E.y);
    assert_int_equal(s_get(path, NULL, &b), 403);
    assert_non_null(strstr(b, "\"error_code\":\"forbidden\""));
    free(b);
    assert_int_equal(s_get(path, "tok-ward", &b), 403); /* a ward's token, the district's export */
    free(b);
    assert_int_equal(s_get(path, "tok-gone", &b), 403); /* a dispatcher no longer active */
    free(b);
    assert_int_equal(s_get("/api/v1/export/incidents?area=VN-HCM-BTA&from=2020-01-01&to=2022-01-01", "tok-district", &b),
                     400);
    free(b);
    assert_int_equal(s_get("/api/v1/export/incidents?area=VN-HCM-BTA&from=2020-02-30&to=2020-03-01", "tok-district", &b),
                     400);
    free(b);
    assert_int_equal(s_get("/api/v1/export/incidents?area=VN-HCM-NOPE&from=2020-01-01&to=2020-03-01", "tok-district", &b),
                     404);
    free(b);
    /* the ward's token exports its ward */
    snprintf(path, sizeof(path), "/api/v1/export/incidents?area=VN-HCM-BTA-AL&from=%d-01-01&to=%d-12-31", E.y, E.y);
    assert_int_equal(s_get(path, "tok-ward", &b), 200);
    assert_non_null(strstr(b, "incident_id,day,area_code,area_name,category,priority,status,counted,desk_code,"
                              "report_count,occurred_at,received_at,lat,lon\r\n"));
    assert_non_null(strstr(b, ",VN-HCM-BTA-AL-KP1,\"Khu phố 1, Phường An Lạc\",theft,3,new,t,DESK-HCM-BTA-AL,1,"));
    assert_non_null(strstr(b, ",10.746,106.622\r\n")); /* 10.7450..10.7468 snapped to 0.002 */
    long lines = 0;
    for (const char *p = b; (p = strstr(p, "\r\n")); p += 2)
        lines++;
    assert_int_equal(lines, 24 + 1);
    free(b);

    /* a big year: S_EXPORT_N more incidents over the district */
    int y2 = E.y - 3;
    s_gen("VN-HCM-BTA-BTD-KP2", "theft", y2, S_EXPORT_N / 2, 13, 10.780, 106.625);
    s_gen("VN-HCM-BTA-BHHB-KP1", "fraud", y2, S_EXPORT_N / 2, 13, 10.810, 106.578);
    assert_true(at_wait_until(s_queue_empty, NULL, 120000));
    long hwm0 = s_hwm_kb(E.agg.pid);
    snprintf(path, sizeof(path), "/api/v1/export/incidents?area=%s&from=%d-01-01&to=%d-12-31", S_DISTRICT, y2, y2);
    int64_t t0 = antt_now_ms();
    assert_int_equal(s_get(path, "tok-district", &b), 200);
    int64_t ms = antt_now_ms() - t0;
    long hwm1 = s_hwm_kb(E.agg.pid);
    const char *te = at_http_last_header("transfer-encoding");
    assert_non_null(te);
    assert_string_equal(te, "chunked");
    size_t len = strlen(b);
    lines = 0;
    for (const char *p = b; (p = strstr(p, "\r\n")); p += 2)
        lines++;
    print_message("exported %ld incidents (%zu bytes) in %lld ms; aggregation's peak memory %ld -> %ld kB (+%ld kB)\n",
                  lines - 1, len, (long long)ms, hwm0, hwm1, hwm1 - hwm0);
    assert_int_equal(lines, S_EXPORT_N + 1);
    assert_null(strstr(b, "description"));
    assert_null(strstr(b, "phone"));
    /* the whole file was never in the service's memory at once (not
     * measurable under ASan, whose quarantine keeps what was freed) */
#ifndef __SANITIZE_ADDRESS__
    assert_true((hwm1 - hwm0) * 1024 < (long)len / 2);
#endif
    /* every incident once, in (area, day, id) order */
    assert_int_equal(at_db_long(E.db, "SELECT count(DISTINCT incident_id) FROM trend_contributions"
                                      " WHERE day BETWEEN make_date(extract(year FROM antt_trend_today())::int - 4, 1, 1)"
                                      " AND make_date(extract(year FROM antt_trend_today())::int - 4, 12, 31)"),
                     S_EXPORT_N);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_page),
        cmocka_unit_test(test_report_pdf),
        cmocka_unit_test(test_report_staff),
        cmocka_unit_test(test_export),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
