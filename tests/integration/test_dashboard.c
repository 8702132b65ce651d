/* The dashboard end to end, in headless Chromium driven over WebDriver
 * (Debian's chromium and chromium-driver): the real stack (intake,
 * classification, notification, aggregation), the page opened on the
 * district, reports submitted through Open311, and the page's numbers
 * changing live (SSE) without a reload; the chart's axes, the map's shapes
 * and legend, the hotspots' list; a screenshot of the page as the test's
 * artifact (build/dashboard.png, build/dashboard-staff.png). */
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
#include <jansson.h>
#include <sodium.h>

#include "antt_test.h"
#include "antt_util.h"

static struct {
    char *conninfo;
    PGconn *db;
    at_stack_t st;
    at_proc_t driver;
    int driver_port;
    char session[128];
} E;

/* One WebDriver command; returns the response's "value" (new reference) or NULL. */
static json_t *s_wd(const char *method, const char *path, json_t *body)
{
    char url[256], *resp = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", E.driver_port, path);
    char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
    const char *hdr[] = {"Content-Type: application/json", NULL};
    int st = at_http(method, url, hdr, b, b ? strlen(b) : 0, &resp);
    free(b);
    json_decref(body);
    json_t *j = resp ? json_loads(resp, 0, NULL) : NULL;
    if (st != 200)
        print_message("webdriver %s %s: %d %s\n", method, path, st, resp ? resp : "");
    free(resp);
    json_t *v = st == 200 && j ? json_incref(json_object_get(j, "value")) : NULL;
    json_decref(j);
    return v;
}

static int s_driver_up(void *arg)
{
    (void)arg;
    char url[128], *resp = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/status", E.driver_port);
    int st = at_http("GET", url, NULL, NULL, 0, &resp);
    int ok = st == 200 && resp && strstr(resp, "\"ready\":true");
    free(resp);
    return ok;
}

static int s_setup(void **state)
{
    (void)state;
    E.conninfo = at_db_create("t_dashboard");
    E.db = at_db_connect(E.conninfo);
    /* the district has data from 1 January of last year: its zeros are zeros */
    at_db_exec(E.db, "SELECT antt_coverage_record('VN-HCM', make_date(extract(year FROM antt_trend_today())::int - 1, 1, 1),"
                     " 'operator')");
    /* the app also imports the past years (test_import): it may */
    at_db_exec(E.db, "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst, may_import) VALUES"
                     " ('app', 'App', sha256('key-app'::bytea), 1000, 1000, true)");
    at_db_exec(E.db, "INSERT INTO dispatchers (name, desk_code, token_hash) VALUES"
                     " ('staff', 'DESK-HCM-BTA', sha256('tok-staff'))");
    /* the staff view's token is a dashboard token of the district (issue 16:
     * the figures' audience), the same string as the desk's for the export */
    at_db_exec(E.db, "INSERT INTO dashboard_tokens (name, area_code, token_hash) VALUES"
                     " ('staff', 'VN-HCM-BTA', sha256('tok-staff'))");
    at_stack_init(&E.st, E.conninfo);
    /* the page's live numbers of two and one reports and the hotspot of
     * reports filed just now: the public rules (issue 16) would hold them back; what the public sees is
     * test_audiences', the staff view (/#token=) the page's own */
    at_env_add(E.st.env, sizeof(E.st.env) / sizeof(E.st.env[0]), "ANTT_AGGREGATION_PUBLIC_MIN_COUNT=%s", "1");
    at_env_add(E.st.env, sizeof(E.st.env) / sizeof(E.st.env[0]), "ANTT_AGGREGATION_PUBLIC_DELAY_S=%s", "0");
    if (at_stack_start_all(&E.st) != 0)
        return -1;

    /* chromedriver, then a headless Chromium session (no sandbox: the tests
     * may run as root in a container) */
    E.driver_port = at_free_port();
    char portarg[32];
    snprintf(portarg, sizeof(portarg), "--port=%d", E.driver_port);
    E.driver.pid = fork();
    if (E.driver.pid == 0) {
        snprintf(E.driver.log, sizeof(E.driver.log), "%s/chromedriver.log", ANTT_BUILD_DIR);
        FILE *f = freopen(E.driver.log, "w", stdout);
        (void)f;
        dup2(1, 2);
        execlp("chromedriver", "chromedriver", portarg, (char *)NULL);
        _exit(127);
    }
    snprintf(E.driver.name, sizeof(E.driver.name), "chromedriver");
    if (!at_wait_until(s_driver_up, NULL, 20000))
        return -1;
    json_t *v = s_wd("POST", "/session",
                     json_pack("{s:{s:{s:s, s:{s:s, s:[s,s,s,s,s]}}}}", "capabilities", "alwaysMatch", "browserName",
                               "chrome", "goog:chromeOptions", "binary", "/usr/bin/chromium", "args",
                               "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                               "--window-size=1200,900"));
    const char *sid = json_string_value(json_object_get(v, "sessionId"));
    if (sid == NULL) {
        json_decref(v);
        return -1;
    }
    snprintf(E.session, sizeof(E.session), "%s", sid);
    json_decref(v);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    if (E.session[0]) {
        char path[200];
        snprintf(path, sizeof(path), "/session/%s", E.session);
        json_decref(s_wd("DELETE", path, NULL));
    }
    at_stop(&E.driver, 15, 10000);
    at_stack_stop(&E.st);
    PQfinish(E.db);
    return 0;
}

/* Runs script in the page; returns its string result (malloc'd) or NULL. */
static char *s_eval(const char *script)
{
    char path[200];
    snprintf(path, sizeof(path), "/session/%s/execute/sync", E.session);
    json_t *v = s_wd("POST", path, json_pack("{s:s, s:[]}", "script", script, "args"));
    char *out = json_is_string(v) ? antt_xstrdup(json_string_value(v)) : NULL;
    json_decref(v);
    return out;
}

typedef struct s_want {
    const char *script;
    const char *want; /* NULL: any non-null */
    char *got;
} s_want_t;

static int s_page_shows(void *arg)
{
    s_want_t *w = arg;
    free(w->got);
    w->got = s_eval(w->script);
    return w->got && (w->want == NULL || !strcmp(w->got, w->want));
}

static int s_submit(const char *desc, const char *cat, double lat, double lon)
{
    char url[128], body[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/open311/v2/requests.json", E.st.port[AT_INTAKE]);
    snprintf(body, sizeof(body), "api_key=key-app&service_code=%s&lat=%.5f&long=%.5f&description=%s", cat, lat, lon,
             desc);
    char *resp = NULL;
    int st = at_http("POST", url, NULL, body, strlen(body), &resp);
    free(resp);
    return st;
}

static int s_queue_empty(void *arg)
{
    (void)arg;
    return at_db_long(E.db, "SELECT count(*) FROM trend_queue") == 0;
}

/* "/session/<id>/<rest>" (a static buffer: one at a time). */
static const char *s_path(const char *rest)
{
    static char p[512];
    snprintf(p, sizeof(p), "/session/%s/%s", E.session, rest);
    return p;
}

/* Types keys (WebDriver's codes for the special ones) into the element
 * that css selects, as the keyboard would. */
static void s_keys(const char *css, const char *keys)
{
    json_t *e = s_wd("POST", s_path("element"), json_pack("{s:s, s:s}", "using", "css selector", "value", css));
    const char *eid = NULL, *k;
    json_t *v;
    json_object_foreach(e, k, v) eid = json_string_value(v); /* {"element-6066-…": id} */
    assert_non_null(eid);
    char rest[160];
    snprintf(rest, sizeof(rest), "element/%.100s/value", eid);
    json_decref(s_wd("POST", s_path(rest), json_pack("{s:s}", "text", keys)));
    json_decref(e);
}

/* Saves the page as a PNG (WebDriver's screenshot, base64) in the build
 * directory; returns its size in bytes. */
static long s_screenshot(const char *name)
{
    char path[200], file[512];
    /* the whole page: a window as tall as the page */
    char *h = s_eval("return String(document.documentElement.scrollHeight)");
    snprintf(path, sizeof(path), "/session/%s/window/rect", E.session);
    json_decref(s_wd("POST", path, json_pack("{s:i, s:i}", "width", 1280, "height", h ? atoi(h) + 140 : 1600)));
    free(h);
    snprintf(path, sizeof(path), "/session/%s/screenshot", E.session);
    json_t *v = s_wd("GET", path, NULL);
    const char *b64 = json_string_value(v);
    assert_non_null(b64);
    size_t cap = strlen(b64), len = 0;
    unsigned char *png = antt_xmalloc(cap);
    assert_int_equal(sodium_base642bin(png, cap, b64, strlen(b64), NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
    json_decref(v);
    snprintf(file, sizeof(file), "%s/%s", ANTT_BUILD_DIR, name);
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(png, 1, len, f), len);
    fclose(f);
    free(png);
    print_message("screenshot %s: %zu bytes\n", file, len);
    return (long)len;
}

/* Waits for script to return want (NULL: anything); fails with what it got. */
static void s_expect_page(const char *script, const char *want, int ms)
{
    s_want_t w = {script, want, NULL};
    if (!at_wait_until(s_page_shows, &w, ms))
        fail_msg("%s: got %s, not %s", script, w.got ? w.got : "(null)", want ? want : "(any)");
    free(w.got);
}

static void test_dashboard_live(void **state)
{
    (void)state;
    char path[200], url[160];
    snprintf(path, sizeof(path), "/session/%s/url", E.session);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/?area=VN-HCM-BTA", E.st.port[AT_AGGREGATION]);
    json_decref(s_wd("POST", path, json_pack("{s:s}", "url", url)));
    /* the page has loaded its figures and is connected live */
    s_want_t w = {"return document.body.dataset.ready === '1' && !document.getElementById('live').classList.contains('off')"
                  " ? document.getElementById('total').textContent : null",
                  "0", NULL};
    assert_true(at_wait_until(s_page_shows, &w, 30000));
    s_want_t s = {"return document.getElementById('sentence').textContent || null", NULL, NULL};
    assert_true(at_wait_until(s_page_shows, &s, 10000));
    assert_non_null(strstr(s.got, "Năm "));
    assert_non_null(strstr(s.got, "phường đạt chuẩn"));
    free(s.got);
    s_want_t opt = {"return document.querySelectorAll('#area option').length > 10 ? 'many' : null", "many", NULL};
    assert_true(at_wait_until(s_page_shows, &opt, 5000));
    free(opt.got);
    /* the chart (uPlot) has both axes' labels and a line per year; the
     * map one shape per ward, each with its name and count, and a legend */
    s_expect_page("return document.getElementById('chart').dataset.axes || null", "Tháng|Số vụ", 10000);
    s_expect_page("var t = document.getElementById('chart').dataset.ticks; return t ? t.split('|')[0] : null",
                  "T1 T2 T3 T4 T5 T6 T7 T8 T9 T10 T11 T12", 5000);
    s_expect_page("var t = document.getElementById('chart').dataset.ticks; return t && t.split('|')[1].indexOf('0') === 0"
                  " ? 'values' : null", "values", 5000);
    s_expect_page("return String(document.querySelectorAll('#chart .u-legend .u-series').length)", "3", 5000);
    s_expect_page("return String(document.querySelectorAll('#map path.area').length)", "10", 10000);
    s_expect_page("return document.querySelector('#map path.area[data-code=\"VN-HCM-BTA-BTD\"]').getAttribute('aria-label')",
                  "Phường Bình Trị Đông: 0 vụ", 5000);
    s_expect_page("return document.querySelectorAll('#legend li').length >= 6 ? 'legend' : null", "legend", 5000);
    s_expect_page("return document.getElementById('hotspots').textContent", "Không có điểm nóng trong 30 ngày qua.", 5000);

    /* three reports in three wards (far apart: not duplicates) */
    assert_int_equal(s_submit("Nha%20toi%20bi%20trom%20xe%20may%20dem%20qua", "theft", 10.7750, 106.6200), 201);
    assert_int_equal(s_submit("Bi%20cuop%20giat%20dien%20thoai%20tren%20duong", "robbery", 10.8050, 106.5800), 201);
    assert_int_equal(s_submit("Chay%20nha%20dan%2C%20khoi%20bay%20mu%20mit", "fire", 10.7400, 106.6250), 201);
    /* the total changes on the page without a reload */
    free(w.got);
    w.got = NULL;
    w.script = "return document.getElementById('total').textContent";
    w.want = "3";
    if (!at_wait_until(s_page_shows, &w, 30000))
        fail_msg("the page's total is %s, not 3", w.got ? w.got : "(none)");
    s_want_t g = {"var e = document.getElementById('count-criminal'); return e ? e.textContent : null", "2", NULL};
    if (!at_wait_until(s_page_shows, &g, 10000))
        fail_msg("the page's criminal count is %s, not 2", g.got ? g.got : "(none)");
    s_want_t f = {"var e = document.getElementById('count-fire'); return e ? e.textContent : null", "1", NULL};
    assert_true(at_wait_until(s_page_shows, &f, 10000));
    /* and so does the ward's shape on the map */
    s_expect_page("return document.querySelector('#map path.area[data-code=\"VN-HCM-BTA-BTD\"]').getAttribute('aria-label')",
                  "Phường Bình Trị Đông: 1 vụ", 10000);
    /* and a reload shows the same from the database */
    json_decref(s_wd("POST", path, json_pack("{s:s}", "url", url)));
    s_want_t r = {"return document.body.dataset.ready === '1' ? document.getElementById('total').textContent : null", "3",
                  NULL};
    assert_true(at_wait_until(s_page_shows, &r, 30000));
    /* the ward's shape says its count from the database too */
    s_expect_page("return document.querySelector('#map path.area[data-code=\"VN-HCM-BTA-BTD\"]').getAttribute('aria-label')",
                  "Phường Bình Trị Đông: 1 vụ", 5000);

    /* a hotspot: six drug incidents within a few metres in Bình Hưng Hòa;
     * the list says how many (it said "undefined vụ") and where, and the
     * map marks it */
    at_db_exec(E.db,
               "INSERT INTO incidents (id, occurred_at, category, priority, area_code, desk_code, status, lat, lon)"
               " SELECT gen_random_uuid(), now() - g * interval '1 minute', 'drugs', 3, 'VN-HCM-BTA-BHH',"
               " 'DESK-HCM-BTA-BHH', 'new', 10.8051 + g * 0.00001, 106.6032 + g * 0.00001 FROM generate_series(1, 6) g");
    assert_true(at_wait_until(s_queue_empty, NULL, 15000));
    json_decref(s_wd("POST", path, json_pack("{s:s}", "url", url)));
    s_expect_page("return document.body.dataset.ready === '1' ? document.getElementById('hotspots').textContent : null",
                  "6 vụ quanh 10,806, 106,604 (Phường Bình Hưng Hòa), nhiều nhất: ma túy", 30000);
    s_expect_page("return String(document.querySelectorAll('#map circle.spot').length)", "1", 5000);
    /* readable: every text on the page has WCAG AA contrast (4.5:1) with
     * the background it is drawn on */
    char *low = s_eval(
        "function rgb(c) { var m = c.match(/[\\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; }"
        "function lum(c) { return 0.2126 * ch(c[0]) + 0.7152 * ch(c[1]) + 0.0722 * ch(c[2]); }"
        "function ch(v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }"
        "function bg(e) { for (; e; e = e.parentElement) { var c = rgb(getComputedStyle(e).backgroundColor);"
        "  if (c.length < 4 || c[3] > 0.5) return c; } return [255, 255, 255]; }"
        "var worst = 99, what = '', n = 0;"
        "document.querySelectorAll('body *:not(script):not(style):not(svg *)').forEach(function (e) {"
        "  if (![].some.call(e.childNodes, function (t) { return t.nodeType === 3 && t.textContent.trim(); })) return;"
        "  if (!e.offsetParent && getComputedStyle(e).position !== 'fixed') return;"
        "  var a = lum(rgb(getComputedStyle(e).color)), b = lum(bg(e));"
        "  var r = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); n++;"
        "  if (r < worst) { worst = r; what = e.tagName + '.' + e.className + ' \"' + e.textContent.trim().slice(0, 30) + '\"'; } });"
        "return n + ' texts, lowest contrast ' + worst.toFixed(2) + ':1 (' + what + ')';");
    assert_non_null(low);
    print_message("%s\n", low);
    const char *ratio = strstr(low, "lowest contrast ");
    assert_non_null(ratio);
    assert_true(atof(ratio + 16) >= 4.5);
    free(low);
    /* the keyboard: the arrows walk the chart's months, with the tooltip
     * saying each one's counts; Tab reaches a ward on the map, Enter opens it */
    s_keys("#chart", "\xee\x80\x94\xee\x80\x94\xee\x80\x94"); /* U+E014: ArrowRight, three times */
    s_expect_page("var t = document.querySelector('#chart .tip'); return t && t.style.display === 'block'"
                  " ? t.firstChild.textContent : null", "Tháng 3", 5000);
    s_keys("#map path[data-code=\"VN-HCM-BTA-BHH\"]", "\xee\x80\x87"); /* U+E007: Enter */
    s_expect_page("return document.body.dataset.ready === '1' ? document.getElementById('area').value : null",
                  "VN-HCM-BTA-BHH", 20000);
    s_expect_page("return document.querySelectorAll('#map path.area').length > 3 ? 'khu pho' : null", "khu pho", 10000);
    json_decref(s_wd("POST", path, json_pack("{s:s}", "url", url)));
    s_expect_page("return document.body.dataset.ready === '1' ? 'again' : null", "again", 30000);
    assert_true(s_screenshot("dashboard.png") > 10000);

    /* the staff view: the same page with a token in the fragment */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/?area=VN-HCM-BTA#token=tok-staff", E.st.port[AT_AGGREGATION]);
    json_decref(s_wd("POST", path, json_pack("{s:s}", "url", url)));
    s_expect_page("return document.body.dataset.ready === '1' && !document.getElementById('export-box').hidden"
                  " ? document.getElementById('audience').textContent : null",
                  "Cán bộ: số liệu đầy đủ, trực tiếp", 30000);
    s_expect_page("return location.hash", "#token=tok-staff", 5000);
    /* its export: the token from the fragment as a Bearer header; the
     * year's nine incidents */
    s_keys("#export", "\xee\x80\x87");
    s_expect_page("return document.getElementById('export-status').textContent", "Đã xuất 9 vụ việc (tệp CSV)", 15000);
    assert_true(s_screenshot("dashboard-staff.png") > 10000);
    free(w.got);
    free(g.got);
    free(f.got);
    free(r.got);
}

static int s_run(const char *args, char **out)
{
    char cmd[3072], path[512], keys[1024];
    snprintf(path, sizeof(path), "%s/import.out", ANTT_BUILD_DIR);
    at_stack_cli_env(&E.st, keys, sizeof(keys));
    snprintf(cmd, sizeof(cmd), "%s ANTT_DB_CONNINFO='%s' ANTT_INTAKE_GATEWAY_ENDPOINT='%s' %s/services/cli/antt %s > %s 2>&1",
             keys, E.conninfo, E.st.gateway_ep, ANTT_BUILD_DIR, args, path);
    int rc = system(cmd);
    *out = at_read_file(path, NULL);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void s_write(const char *name, const char *text, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", ANTT_BUILD_DIR, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* antt import: past years through intake's path, statuses as given, bad
 * files refused whole, a second run creating nothing. */
static void test_import(void **state)
{
    (void)state;
    at_db_exec(E.db, "INSERT INTO dispatchers (name, desk_code, token_hash) VALUES"
                     " ('district', 'DESK-HCM-BTA', sha256('tok-district'))");
    int y = (int)at_db_long(E.db, "SELECT extract(year FROM antt_trend_today())::int - 2");
    char csv[2048], path[512], args[1024], *out = NULL;
    snprintf(csv, sizeof(csv),
             "occurred_at,category,area_code,lat,lon,status,description\n"
             "%d-03-04,theft,VN-HCM-BTA-AL,,,resolved,\"Trộm xe máy, khu phố 2\"\n"
             "%d-03-04,theft,VN-HCM-BTA-AL,,,resolved,\"Trộm xe máy, khu phố 2\"\n"
             "%d-05-06T21:30:00+07:00,robbery,,10.7750,106.6200,resolved,\n"
             "%d-07-08,fraud,VN-HCM-BTA-TT,,,rejected,Lừa đảo qua điện thoại\n"
             "%d-09-10,fire,VN-HCM-BTA-BHH,,,new,\n",
             y, y, y, y, y);
    s_write("import.csv", csv, path, sizeof(path));
    long reports = at_db_long(E.db, "SELECT count(*) FROM reports");
    /* a bad file: nothing at all is sent */
    char bad[512], badpath[512];
    snprintf(bad, sizeof(bad),
             "{\"occurred_at\": \"%d-01-02\", \"category\": \"theft\", \"area_code\": \"VN-HCM-BTA-AL\"}\n"
             "{\"occurred_at\": \"yesterday\", \"category\": \"theft\", \"area_code\": \"VN-HCM-BTA-AL\"}\n"
             "{\"occurred_at\": \"%d-01-02\", \"category\": \"stealing\", \"area_code\": \"VN-HCM-BTA-AL\"}\n"
             "{\"occurred_at\": \"%d-01-02\", \"category\": \"theft\"}\n",
             y, y, y);
    s_write("import-bad.jsonl", bad, badpath, sizeof(badpath));
    snprintf(args, sizeof(args), "import %s --key key-app --token tok-district", badpath);
    assert_int_equal(s_run(args, &out), 1);
    assert_non_null(strstr(out, ":2: field occurred_at: must be"));
    assert_non_null(strstr(out, ":3: field category: unknown category"));
    assert_non_null(strstr(out, ":4: field area_code: area_code or lat and lon is required"));
    assert_non_null(strstr(out, "nothing was imported"));
    free(out);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM reports"), reports);

    snprintf(args, sizeof(args), "import %s --key key-app --token tok-district", path);
    if (s_run(args, &out) != 0)
        fail_msg("import failed: %s", out);
    assert_non_null(strstr(out, "import.csv: 5 new, 0 already imported"));
    free(out);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM reports"), reports + 5);
    /* two identical rows are two incidents (area only: no duplicate search);
     * the rejected one does not count; the new one stays new */
    assert_true(at_wait_until(s_queue_empty, NULL, 15000));
    char q[512];
    snprintf(q, sizeof(q), "SELECT (antt_summary('VN-HCM-BTA', %d)->>'total')::int", y);
    assert_int_equal(at_db_long(E.db, q), 4);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM incidents WHERE status = 'resolved' AND outcome = 'imported'"), 3);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM incidents WHERE status = 'rejected'"), 1);
    snprintf(q, sizeof(q), "SELECT count(*) FROM incidents WHERE status = 'new' AND category = 'fire'"
                           " AND occurred_at = make_timestamptz(%d, 9, 10, 12, 0, 0, 'Asia/Ho_Chi_Minh')", y);
    assert_int_equal(at_db_long(E.db, q), 1);
    /* imported incidents are no sample of response times */
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM trend_contributions c JOIN incidents i ON i.id = c.incident_id"
                                      " WHERE i.outcome = 'imported' AND c.resolve_s IS NOT NULL"), 0);
    /* again: the same reports, nothing new */
    assert_int_equal(s_run(args, &out), 0);
    free(out);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM reports"), reports + 5);
    assert_int_equal(at_db_long(E.db, q), 1);
}

/* The demo wards are polygons (not the rectangles they were), cover their
 * district without overlapping, and so do each ward's khu phố. */
static void test_demo_boundaries(void **state)
{
    (void)state;
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM areas WHERE parent_code = 'VN-HCM-BTA' AND level = 'ward'"), 10);
    long corners = at_db_long(E.db, "SELECT min(ST_NPoints(boundary)) FROM areas WHERE code LIKE 'VN-HCM-BTA-%' AND level = 'ward'");
    print_message("the wards' boundaries have %ld points or more\n", corners);
    assert_true(corners > 8);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM areas a JOIN areas b ON a.parent_code = b.parent_code"
                                      " AND a.code < b.code WHERE a.code LIKE 'VN-HCM-BTA-%'"
                                      " AND ST_Area(ST_Intersection(a.boundary, b.boundary)) > 1e-9"), 0);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM areas p WHERE p.code LIKE 'VN-HCM-BTA%' AND p.level IN ('district', 'ward')"
                                      " AND ST_Area(ST_SymDifference(p.boundary, (SELECT ST_Union(c.boundary) FROM areas c"
                                      " WHERE c.parent_code = p.code))) > 1e-7"), 0);
    assert_true(at_db_long(E.db, "SELECT count(*) FROM areas WHERE level = 'neighbourhood' AND code LIKE 'VN-HCM-BTA-%'") >= 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_boundaries),
        cmocka_unit_test(test_dashboard_live),
        cmocka_unit_test(test_import),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
