/* Aggregation against a real PostgreSQL and real ZeroMQ sockets: known
 * tables from generated incidents (the district's 434 -> 285 year), a ward
 * merger adding up, rejection and merge correcting the counts live, replays
 * changing nothing, a rebuild equal to the live numbers, the Clone pattern
 * (snapshot + sequenced updates), SSE resume, CSV and bad queries. It
 * reads as staff, with a dashboard token of the city (the public's view is
 * test_audiences'). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <zmq.h>

#include "aggregation_env.h"
#include "antt_test.h"
#include "antt_util.h"
#include "antt/v1/trend.pb-c.h"

/* The district publishes its year: 434 criminal incidents in Y-1, 285 in Y;
 * 16 fires, then 10. */
static void test_known_tables(void **state)
{
    (void)state;
    ae_gen("VN-HCM-BTA-AL", "theft", AE.y - 1, 300, 29, 3);
    ae_gen("VN-HCM-BTA-TT-KP2", "robbery", AE.y - 1, 134, 65, 2);
    ae_gen("VN-HCM-BTA-AL", "theft", AE.y, 200, 43, 3);
    ae_gen("VN-HCM-BTA-TT", "fraud", AE.y, 85, 100, 3);
    ae_gen("VN-HCM-BTA-AL-KP1", "fire", AE.y - 1, 16, 500, 1);
    ae_gen("VN-HCM-BTA-TT", "fire", AE.y, 10, 800, 1);
    assert_true(at_wait_until(ae_queue_empty, NULL, 15000));
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/summary?area=" AE_DISTRICT "&year=%d", AE.y);
    char want[256];
    snprintf(want, sizeof(want),
             "Năm %d ghi nhận 285 vụ phạm pháp hình sự (giảm 149 vụ so với cùng kỳ năm %d, tỉ lệ giảm 34,33%%);"
             " xảy ra 10 vụ cháy (giảm 06 vụ, tỉ lệ giảm 37,5%%)",
             AE.y, AE.y - 1);
    ae_wait_body_t w = {path, want};
    assert_true(at_wait_until(ae_body_has, &w, 10000));
    int st;
    char *b = ae_get(path, &st);
    assert_non_null(strstr(b, "\"total\": 295"));
    assert_non_null(strstr(b, "\"prior_total\": 450"));
    assert_non_null(strstr(b, "phường đạt chuẩn"));
    free(b);

    /* the same by quarter, as JSON and CSV, and one range */
    snprintf(path, sizeof(path), "/api/v1/trends?area=" AE_DISTRICT "&group=criminal&period=year&from=%d-01-01&to=%d-12-31",
             AE.y - 1, AE.y);
    b = ae_get(path, &st);
    assert_int_equal(st, 200);
    snprintf(want, sizeof(want), "{\"bucket\":\"%d\",\"from\":\"%d-01-01\",\"to\":\"%d-12-31\",\"count\":285,\"prior\":434,"
             "\"change\":-149,\"change_pct\":-34.33,\"significant\":true,\"coverage\":true,\"prior_coverage\":true}", AE.y, AE.y, AE.y);
    assert_non_null(strstr(b, want));
    free(b);
    snprintf(path, sizeof(path), "/api/v1/trends?area=" AE_DISTRICT "&dimension=category:fire&period=year&from=%d-01-01&to=%d-12-31&format=csv",
             AE.y, AE.y);
    b = ae_get(path, &st);
    assert_int_equal(st, 200);
    snprintf(want, sizeof(want), "bucket,from,to,count,prior,change,change_pct,significant,coverage,prior_coverage\r\n"
             "%d,%d-01-01,%d-12-31,10,16,-6,-37.50,f,t,t\r\n",
             AE.y, AE.y, AE.y);
    assert_string_equal(b, want);
    free(b);
    /* a prior of 0: the percentage is null, not a division by zero */
    snprintf(path, sizeof(path), "/api/v1/trends?area=VN-HCM-BTA-TT&category=fraud&period=range&from=%d-01-01&to=%d-12-31", AE.y, AE.y);
    b = ae_get(path, &st);
    assert_int_equal(st, 200);
    assert_non_null(strstr(b, "\"count\":85,\"prior\":0,\"change\":85,\"change_pct\":null"));
    free(b);
    /* quarters add up to the year */
    long q = at_db_long(AE.db, "SELECT sum(n) FROM antt_trends('VN-HCM-BTA', 'group:criminal', 'quarter',"
                              " make_date(extract(year FROM antt_trend_today())::int - 1, 1, 1),"
                              " make_date(extract(year FROM antt_trend_today())::int - 1, 12, 31))");
    assert_int_equal(q, 285);
    long wk = at_db_long(AE.db, "SELECT sum(n) FROM antt_trends('VN-HCM-BTA', 'all', 'day',"
                               " make_date(extract(year FROM antt_trend_today())::int - 1, 3, 1),"
                               " make_date(extract(year FROM antt_trend_today())::int - 1, 5, 31))");
    long rg = at_db_long(AE.db, "SELECT n FROM antt_trends('VN-HCM-BTA', 'all', 'range',"
                               " make_date(extract(year FROM antt_trend_today())::int - 1, 3, 1),"
                               " make_date(extract(year FROM antt_trend_today())::int - 1, 5, 31))");
    assert_true(wk > 0);
    assert_int_equal(wk, rg);
}

/* Bình Trị Đông and Bình Trị Đông A merge into a new ward on 1 July of Y:
 * the new ward's year Y compares with both predecessors' Y-1. */
static void test_merger(void **state)
{
    (void)state;
    char *sql = antt_xasprintf(
        "INSERT INTO areas (code, parent_code, level, name, name_ascii, valid_from) VALUES"
        " ('VN-HCM-BTA-BTDM', 'VN-HCM-BTA', 'ward', 'Phường Bình Trị Đông (mới)', 'Phuong Binh Tri Dong (moi)', '%d-07-01');"
        " UPDATE areas SET valid_to = '%d-06-30' WHERE code IN ('VN-HCM-BTA-BTD', 'VN-HCM-BTA-BTDA');"
        " INSERT INTO area_successors VALUES ('VN-HCM-BTA-BTD', 'VN-HCM-BTA-BTDM', '%d-07-01'),"
        " ('VN-HCM-BTA-BTDA', 'VN-HCM-BTA-BTDM', '%d-07-01')",
        AE.y, AE.y, AE.y, AE.y);
    at_db_exec(AE.db, sql);
    free(sql);
    ae_gen("VN-HCM-BTA-BTD-KP3", "assault", AE.y - 1, 30, 250, 2);
    ae_gen("VN-HCM-BTA-BTDA", "assault", AE.y - 1, 20, 400, 2);
    ae_gen("VN-HCM-BTA-BTD", "assault", AE.y, 5, 500, 2); /* before the merger */
    sql = antt_xasprintf(
        "INSERT INTO incidents (id, occurred_at, category, priority, area_code, desk_code, status)"
        " SELECT gen_random_uuid(), make_timestamptz(%d, 7, 1, 8, 0, 0, 'Asia/Ho_Chi_Minh') + g * interval '90 hours',"
        " 'assault', 2, 'VN-HCM-BTA-BTDM', 'DESK-HCM-BTA', 'new' FROM generate_series(1, 40) g",
        AE.y);
    at_db_exec(AE.db, sql);
    free(sql);
    assert_true(at_wait_until(ae_queue_empty, NULL, 15000));
    char path[256], want[256];
    snprintf(path, sizeof(path), "/api/v1/trends?area=VN-HCM-BTA-BTDM&category=assault&period=year&from=%d-01-01&to=%d-12-31",
             AE.y, AE.y);
    snprintf(want, sizeof(want), "\"count\":45,\"prior\":50,\"change\":-5,\"change_pct\":-10.00");
    ae_wait_body_t w = {path, want};
    assert_true(at_wait_until(ae_body_has, &w, 10000));
    /* the district's standard counts the wards that exist at the end of Y */
    snprintf(path, sizeof(path), "/api/v1/summary?area=" AE_DISTRICT "&year=%d", AE.y);
    int st;
    char *b = ae_get(path, &st);
    assert_int_equal(st, 200);
    assert_non_null(strstr(b, "/9 phường đạt chuẩn"));
    assert_non_null(strstr(b, "\"total\": 9"));
    free(b);
}

/* A rejection and a merge (a duplicate) take incidents out of the counts,
 * live: the PUB carries the new value with a sequence above the snapshot's. */
static void test_corrections_live(void **state)
{
    (void)state;
    char key[128], epoch[48], err[128];
    snprintf(key, sizeof(key), AE_DISTRICT "|year|%d|group:criminal", AE.y);
    int64_t snap_seq = 0, seq = 0;
    long before = ae_snapshot(AE_DISTRICT, "year", key, &snap_seq, epoch, err);
    assert_string_equal(err, "");
    long expect = before;
    assert_true(before >= 285);
    char *sql = antt_xasprintf(
        "WITH x AS (SELECT id FROM incidents WHERE category = 'theft' AND status = 'new'"
        " AND occurred_at >= make_timestamptz(%d, 1, 1, 0, 0, 0, 'Asia/Ho_Chi_Minh') ORDER BY occurred_at LIMIT 3)"
        " UPDATE incidents i SET status = 'rejected', outcome = 'unfounded', version = version + 1, updated_at = now()"
        " FROM x WHERE i.id = x.id",
        AE.y);
    at_db_exec(AE.db, sql);
    free(sql);
    expect -= 3;
    assert_true(ae_wait_update(key, expect, 10000, &seq));
    assert_true(seq > snap_seq);
    sql = antt_xasprintf(
        "WITH x AS (SELECT id FROM incidents WHERE category = 'fraud' AND status = 'new' ORDER BY occurred_at LIMIT 2),"
        " t AS (SELECT id FROM incidents WHERE category = 'fraud' AND status = 'new' ORDER BY occurred_at DESC LIMIT 1)"
        " UPDATE incidents i SET status = 'merged', merged_into = t.id, version = version + 1 FROM x, t WHERE i.id = x.id");
    at_db_exec(AE.db, sql);
    free(sql);
    expect -= 2;
    assert_true(ae_wait_update(key, expect, 10000, NULL));
    /* the HTTP figures agree */
    char path[256], want[64];
    snprintf(path, sizeof(path), "/api/v1/summary?area=" AE_DISTRICT "&year=%d", AE.y);
    snprintf(want, sizeof(want), "%ld vụ phạm pháp hình sự", expect);
    ae_wait_body_t w = {path, want};
    assert_true(at_wait_until(ae_body_has, &w, 5000));
    /* reopening a rejected incident counts it again */
    at_db_exec(AE.db, "UPDATE incidents SET status = 'acknowledged', version = version + 1"
                     " WHERE id = (SELECT id FROM incidents WHERE status = 'rejected' LIMIT 1)");
    expect += 1;
    assert_true(ae_wait_update(key, expect, 10000, NULL));
    /* a snapshot agrees with the updates */
    long now = ae_snapshot(AE_DISTRICT, "year", key, &seq, epoch, err);
    assert_int_equal(now, expect);
    assert_true(seq > snap_seq);
    /* bad snapshot requests get an error end, not silence */
    assert_int_equal(ae_snapshot("VN-NOWHERE", NULL, key, &seq, epoch, err), -1);
    assert_string_equal(err, "unknown area");
    assert_int_equal(ae_snapshot(AE_DISTRICT, "decade", key, &seq, epoch, err), -1);
    assert_non_null(strstr(err, "bad period"));
}

#define S_FINGERPRINT                                                                                     \
    "SELECT md5(COALESCE((SELECT string_agg(concat_ws(',', area_code, grain, bucket, category, n1, n2, n3, n4)," \
    " ';' ORDER BY area_code, grain, bucket, category)"                                                     \
    " FROM trend_counts WHERE n1 <> 0 OR n2 <> 0 OR n3 <> 0 OR n4 <> 0), '') ||"                            \
    " COALESCE((SELECT string_agg(concat_ws(',', area_code, month, priority, n, resolved, escalated), ';'"  \
    " ORDER BY area_code, month, priority) FROM trend_outcomes"                                             \
    " WHERE n <> 0 OR resolved <> 0 OR escalated <> 0), '') ||"                                             \
    " (SELECT count(*) FROM trend_contributions WHERE counted))"

static char s_fp[64];

static int s_fingerprint_is(void *arg)
{
    (void)arg;
    PGresult *r = PQexec(AE.db, S_FINGERPRINT);
    int same = PQresultStatus(r) == PGRES_TUPLES_OK && !strcmp(PQgetvalue(r, 0, 0), s_fp);
    PQclear(r);
    return same;
}

/* Replayed, duplicated and out-of-order changes change nothing; a rebuild
 * from the incidents table gives identical numbers, and the service
 * reloads (new epoch) without a change of value. */
static void test_idempotent_rebuild(void **state)
{
    (void)state;
    assert_true(at_wait_until(ae_queue_empty, NULL, 15000));
    PGresult *r = PQexec(AE.db, S_FINGERPRINT);
    snprintf(s_fp, sizeof(s_fp), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    /* every incident applied again, directly: nothing changes */
    assert_int_equal(at_db_long(AE.db, "SELECT count(*) FROM antt_trend_apply_ids(ARRAY(SELECT id FROM incidents))"), 0);
    /* every incident queued three times, in reverse order */
    at_db_exec(AE.db, "INSERT INTO trend_queue (incident_id) SELECT id FROM incidents, generate_series(1, 3)"
                     " ORDER BY id DESC");
    assert_true(at_wait_until(ae_queue_empty, NULL, 15000));
    assert_true(s_fingerprint_is(NULL));
    /* a rebuild by the command */
    char key[128], epoch[48], epoch2[48], err[128];
    int64_t seq;
    snprintf(key, sizeof(key), AE_DISTRICT "|year|%d|all", AE.y);
    long live = ae_snapshot(AE_DISTRICT, "year", key, &seq, epoch, err);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "ANTT_DB_CONNINFO='%s' %s/services/cli/antt rebuild-trends > %s/rebuild.out 2>&1",
             AE.conninfo, ANTT_BUILD_DIR, ANTT_BUILD_DIR);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/rebuild.out", ANTT_BUILD_DIR);
    char *out = at_read_file(cmd, NULL);
    assert_non_null(out);
    assert_non_null(strstr(out, "identical to the live numbers"));
    free(out);
    assert_true(s_fingerprint_is(NULL));
    /* the service notices the rebuild, reloads under a new epoch, same values */
    int64_t end = antt_now_ms() + 15000;
    do {
        ae_snapshot(AE_DISTRICT, "year", key, &seq, epoch2, err);
    } while (!strcmp(epoch, epoch2) && antt_now_ms() < end && at_wait_until(ae_queue_empty, NULL, 100));
    assert_string_not_equal(epoch, epoch2);
    assert_int_equal(ae_snapshot(AE_DISTRICT, "year", key, &seq, epoch2, err), live);
    /* a tampered counter is found and corrected by the rebuild */
    at_db_exec(AE.db, "UPDATE trend_counts SET n3 = n3 + 7 WHERE ctid = (SELECT ctid FROM trend_counts WHERE n3 > 0 LIMIT 1)");
    snprintf(cmd, sizeof(cmd), "ANTT_DB_CONNINFO='%s' %s/services/cli/antt rebuild-trends > %s/rebuild.out 2>&1",
             AE.conninfo, ANTT_BUILD_DIR, ANTT_BUILD_DIR);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/rebuild.out", ANTT_BUILD_DIR);
    out = at_read_file(cmd, NULL);
    assert_non_null(strstr(out, "are now corrected"));
    free(out);
    assert_true(s_fingerprint_is(NULL));
    /* the service reloads once more (within its 5 s upkeep), with the
     * numbers it had: the tampered row never reached it. Waiting for it
     * here keeps that reload out of the tests after this one (a snapshot
     * cut short by a reload is a client's cue to reconnect). */
    end = antt_now_ms() + 15000;
    do {
        ae_snapshot(AE_DISTRICT, "year", key, &seq, epoch, err);
    } while (!strcmp(epoch, epoch2) && antt_now_ms() < end && at_wait_until(ae_queue_empty, NULL, 100));
    assert_string_not_equal(epoch, epoch2);
    assert_int_equal(ae_snapshot(AE_DISTRICT, "year", key, &seq, epoch, err), live);
}

/* Any period, read from the rollups in the fewest buckets (years, months
 * less or plus days), counts what the contributions hold for it: 400
 * random ranges over Y-1 and Y, and the edges (a whole year, a year to
 * date, a month, a day, across a new year). A year reads its year row, a
 * year to date its year less what lies after today. */
static void test_any_period(void **state)
{
    (void)state;
    assert_true(at_wait_until(ae_queue_empty, NULL, 15000));
    at_db_exec(AE.db, "SELECT setseed(0.16)");
    long wrong = at_db_long(
        AE.db, "WITH y AS (SELECT extract(year FROM antt_trend_today())::int - 1 AS y),"
              " r AS (SELECT make_date(y.y, 1, 1) + (random() * 700)::int AS d0, 1 + (random() * 420)::int AS len"
              "         FROM y, generate_series(1, 400)"
              "       UNION ALL SELECT make_date(y.y, 1, 1), 365 + (y.y % 4 = 0)::int FROM y"
              "       UNION ALL SELECT make_date(y.y + 1, 1, 1), antt_trend_today() + 1 - make_date(y.y + 1, 1, 1) FROM y"
              "       UNION ALL SELECT make_date(y.y, 3, 1), 31 FROM y"
              "       UNION ALL SELECT make_date(y.y, 3, 7), 1 FROM y"
              "       UNION ALL SELECT make_date(y.y, 12, 30), 5 FROM y),"
              " a AS (SELECT antt_area_set('VN-HCM') AS s)"
              " SELECT count(*) FROM r, a"
              "  WHERE (SELECT COALESCE(sum(c.n), 0) FROM antt_trend_cells(a.s, r.d0, r.d0 + r.len) c)"
              "        <> (SELECT count(*) FROM trend_contributions t WHERE t.counted AND t.area_code = ANY (a.s)"
              "             AND t.day >= r.d0 AND t.day < r.d0 + r.len)"
              "     OR (SELECT COALESCE(sum(c.n), 0) FROM antt_trend_group_cells(a.s, r.d0, r.d0 + r.len) c"
              "          WHERE c.group_code IS NULL)"
              "        <> (SELECT count(*) FROM trend_contributions t WHERE t.counted AND t.area_code = ANY (a.s)"
              "             AND t.day >= r.d0 AND t.day < r.d0 + r.len)");
    assert_int_equal(wrong, 0);
    /* the summary's periods: a year is one bucket, a year to date three at most */
    assert_int_equal(at_db_long(AE.db, "SELECT count(*) FROM antt_trend_pieces("
                                      "make_date(extract(year FROM antt_trend_today())::int - 1, 1, 1),"
                                      " make_date(extract(year FROM antt_trend_today())::int, 1, 1))"),
                     1);
    assert_true(at_db_long(AE.db, "SELECT count(*) FROM antt_trend_pieces("
                                 "make_date(extract(year FROM antt_trend_today())::int, 1, 1), antt_trend_today() + 1)") <= 3);
}

/* ---- SSE ---- */

typedef struct s_sse {
    const char *path;
    char last_id[96]; /* sent as Last-Event-ID when set */
    const char *want; /* stop once this arrived */
    antt_buf_t got;
    long status;
} s_sse_t;

static size_t s_sse_write(char *p, size_t size, size_t n, void *arg)
{
    s_sse_t *c = arg;
    antt_buf_append(&c->got, p, size * n);
    return strstr(c->got.data, c->want) ? 0 : size * n;
}

static void s_sse_run(s_sse_t *c, long timeout_ms)
{
    char url[512], hdr[160];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", AE.port, c->path);
    CURL *h = curl_easy_init();
    struct curl_slist *hs = curl_slist_append(NULL, "Authorization: Bearer " AE_TOKEN);
    if (c->last_id[0]) {
        snprintf(hdr, sizeof(hdr), "Last-Event-ID: %s", c->last_id);
        hs = curl_slist_append(hs, hdr);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_sse_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(h);
}

/* A dashboard gets a snapshot, goes away, and on its return with
 * Last-Event-ID gets only what changed meanwhile. */
static void test_sse_resume(void **state)
{
    (void)state;
    assert_true(at_wait_until(ae_queue_empty, NULL, 15000));
    s_sse_t a = {.path = "/api/v1/stream?area=VN-HCM-BTA-TT&period=year", .want = "]}\n\n"};
    antt_buf_init(&a.got);
    s_sse_run(&a, 10000);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.got.data, "event: snapshot"));
    const char *id = strstr(a.got.data, "id: ");
    assert_non_null(id);
    s_sse_t b = {.path = a.path, .want = "xx-never"};
    sscanf(id + 4, "%95s", b.last_id);
    /* meanwhile: two fires in Tân Tạo this year */
    ae_gen("VN-HCM-BTA-TT-KP4", "fire", AE.y + 1, 2, 1, 1);
    assert_true(at_wait_until(ae_queue_empty, NULL, 15000));
    char want[128];
    snprintf(want, sizeof(want), "\"key\":\"VN-HCM-BTA-TT|year|%d|group:fire\"", AE.y + 1);
    b.want = want;
    antt_buf_init(&b.got);
    s_sse_run(&b, 10000);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.got.data, want));
    assert_null(strstr(b.got.data, "event: snapshot"));
    /* a stale epoch gets a snapshot */
    s_sse_t c = {.path = a.path, .last_id = "0000:5", .want = "event: snapshot"};
    antt_buf_init(&c.got);
    s_sse_run(&c, 10000);
    if (!strstr(c.got.data, "event: snapshot"))
        print_error("stale epoch: %ld %.300s\n", c.status, c.got.data);
    assert_non_null(strstr(c.got.data, "event: snapshot"));
    antt_buf_cleanup(&a.got);
    antt_buf_cleanup(&b.got);
    antt_buf_cleanup(&c.got);
}

/* Bad queries get a clear 4xx; spikes, hotspots, response and the dashboard
 * answer. */
static void test_http_edges(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        int status;
        const char *want;
    } cases[] = {
        {"/api/v1/trends", 400, "area= must be an area code"},
        {"/api/v1/trends?area=bad%20code", 400, "area="},
        {"/api/v1/trends?area=VN-NOWHERE", 404, "unknown area"},
        {"/api/v1/trends?area=VN-HCM-BTA&period=decade", 400, "bad period"},
        {"/api/v1/trends?area=VN-HCM-BTA&from=2025-02-30", 400, "out of range"},
        {"/api/v1/trends?area=VN-HCM-BTA&from=2025-05-01&to=2025-01-01", 400, "bad range"},
        {"/api/v1/trends?area=VN-HCM-BTA&group=nosuch", 400, "unknown statistic group"},
        {"/api/v1/trends?area=VN-HCM-BTA&category=nosuch", 400, "unknown category"},
        {"/api/v1/trends?area=VN-HCM-BTA&dimension=nosuch", 400, "bad dimension"},
        {"/api/v1/trends?area=VN-HCM-BTA&period=day&from=2000-01-01&to=2025-01-01", 400, "more than 1000 buckets"},
        {"/api/v1/trends?area=VN-HCM-BTA&from=%ZZ", 400, "malformed"},
        {"/api/v1/summary?area=VN-HCM-BTA&year=abc", 400, "invalid input syntax"},
        {"/api/v1/summary?area=VN-HCM-BTA&year=9000", 400, "has not begun"},
        {"/api/v1/stream?area=VN-NOWHERE", 404, "unknown area"},
        {"/api/v1/stream?area=VN-HCM-BTA&period=decade", 400, "bad period"},
        {"/api/v1/response?area=VN-NOWHERE", 404, "unknown area"},
        {"/dashboard/nothing.js", 404, "no such file"},
        {"/api/v1/response?area=VN-HCM-BTA", 200, "\"by_priority\""},
        {"/api/v1/spikes?area=VN-HCM-BTA", 200, "["},
        {"/api/v1/hotspots?area=VN-HCM-BTA&days=30", 200, "["},
        {"/api/v1/areas?root=VN-HCM-BTA", 200, "\"boundary\""},
        {"/", 200, "<title>antt"},
        {"/dashboard/dashboard.js", 200, "EventSource"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st;
        char *b = ae_get(cases[i].path, &st);
        int ok = st == cases[i].status && b && strstr(b, cases[i].want);
        if (!ok)
            print_error("%s: %d %s\n", cases[i].path, st, b ? b : "");
        free(b);
        assert_true(ok);
    }
}

/* A day far above its baseline is a spike; a cluster of recent incidents
 * is a hotspot, with its centre coarsened. */
static void test_spikes_hotspots(void **state)
{
    (void)state;
    at_db_exec(AE.db,
               "INSERT INTO incidents (id, occurred_at, category, priority, area_code, desk_code, status, lat, lon)"
               " SELECT gen_random_uuid(), now() - g * interval '1 minute', 'drugs', 3, 'VN-HCM-BTA-BHH',"
               " 'DESK-HCM-BTA-BHH', 'new', 10.8051 + g * 0.00001, 106.6032 + g * 0.00001 FROM generate_series(1, 6) g");
    assert_true(at_wait_until(ae_queue_empty, NULL, 15000));
    int st;
    char *b = ae_get("/api/v1/spikes?area=VN-HCM-BTA", &st);
    assert_int_equal(st, 200);
    assert_non_null(strstr(b, "\"area_code\":\"VN-HCM-BTA-BHH\",\"category\":\"drugs\""));
    free(b);
    b = ae_get("/api/v1/hotspots?area=VN-HCM-BTA&days=7", &st);
    assert_int_equal(st, 200);
    assert_non_null(strstr(b, "\"n\":6"));
    assert_non_null(strstr(b, "\"lat\":10.806"));  /* 10.8051.. snapped to 0.002 */
    assert_non_null(strstr(b, "\"lon\":106.604")); /* 106.6032.. snapped */
    free(b);
}

/* Response times: ten P2 incidents of a ward, acknowledged after 1..10
 * minutes and resolved after 1..10 hours; eight resolved, two escalated. */
static void test_response_times(void **state)
{
    (void)state;
    char *sql = antt_xasprintf(
        "INSERT INTO incidents (id, created_at, occurred_at, category, priority, area_code, desk_code, status,"
        " acknowledged_at, closed_at, outcome, escalations)"
        " SELECT gen_random_uuid(), t, t, 'theft', 2, 'VN-HCM-BTA-BTDB', 'DESK-HCM-BTA-BTDB',"
        " CASE WHEN g <= 8 THEN 'resolved' ELSE 'acknowledged' END, t + g * interval '1 minute',"
        " CASE WHEN g <= 8 THEN t + g * interval '1 hour' END, CASE WHEN g <= 8 THEN 'done' END,"
        " CASE WHEN g > 8 THEN 1 ELSE 0 END"
        " FROM generate_series(1, 10) g, (SELECT make_timestamptz(%d, 3, 10, 9, 0, 0, 'Asia/Ho_Chi_Minh') AS t) x",
        AE.y);
    at_db_exec(AE.db, sql);
    free(sql);
    assert_true(at_wait_until(ae_queue_empty, NULL, 15000));
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/response?area=VN-HCM-BTA-BTDB&from=%d-03-01&to=%d-03-31", AE.y, AE.y);
    int st;
    char *b = ae_get(path, &st);
    assert_int_equal(st, 200);
    json_t *j = json_loads(b, 0, NULL);
    free(b);
    json_t *p2 = json_array_get(json_object_get(j, "by_priority"), 2); /* [all, P1, P2, ...] */
    assert_int_equal(json_integer_value(json_object_get(p2, "priority")), 2);
    assert_int_equal(json_integer_value(json_object_get(p2, "incidents")), 10);
    assert_true(fabs(json_number_value(json_object_get(p2, "resolved_share")) - 0.8) < 1e-9);
    assert_true(fabs(json_number_value(json_object_get(p2, "escalated_share")) - 0.2) < 1e-9);
    json_t *ack = json_object_get(p2, "acknowledge"), *res = json_object_get(p2, "resolve");
    assert_int_equal(json_integer_value(json_object_get(ack, "n")), 10);
    assert_int_equal(json_integer_value(json_object_get(res, "n")), 8);
    /* the 5th of 10 is 300 s, the 9th 540 s; of 8 resolutions the 4th is 4 h and
     * the 8th 8 h: histogram buckets are 2% wide */
    double am = json_number_value(json_object_get(ack, "median_s")), a90 = json_number_value(json_object_get(ack, "p90_s"));
    double rm = json_number_value(json_object_get(res, "median_s")), r90 = json_number_value(json_object_get(res, "p90_s"));
    if (fabs(am - 300) > 6 || fabs(a90 - 540) > 11 || fabs(rm - 14400) > 288 || fabs(r90 - 28800) > 576)
        fail_msg("ack median %g p90 %g, resolve median %g p90 %g", am, a90, rm, r90);
    json_decref(j);
}

/* One incident of every category in every neighbourhood on each of the last
 * 20 days: the same keys every time, new values. */
static void s_round(void)
{
    at_db_exec(AE.db, "INSERT INTO incidents (id, occurred_at, category, priority, area_code, desk_code, status)"
                     " SELECT gen_random_uuid(), now() - d * interval '1 day', c, 3, a.code,"
                     " (SELECT desk_code FROM area_desks WHERE area_code = a.code), 'new'"
                     " FROM areas a, generate_series(0, 19) d,"
                     " unnest(ARRAY['theft','robbery','fraud','fire','drugs','traffic','dispute']) c"
                     " WHERE a.level = 'neighbourhood' AND a.code LIKE 'VN-HCM-BTA-%'");
    assert_true(at_wait_until(ae_queue_empty, NULL, 60000));
}

/* A subscriber that does not read: the publisher's memory stays bounded
 * (ZeroMQ drops beyond the high-water mark); when the subscriber reads
 * again it sees the gap in the sequence and resynchronises from a snapshot
 * that agrees with the database. */
static void test_slow_subscriber(void **state)
{
    (void)state;
    void *slow = zmq_socket(AE.zctx, ZMQ_SUB);
    int linger = 0, hwm = 100, rcvbuf = 4096; /* little kept in the kernel either */
    zmq_setsockopt(slow, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(slow, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(slow, ZMQ_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    zmq_setsockopt(slow, ZMQ_SUBSCRIBE, "trend.", 6);
    assert_int_equal(zmq_connect(slow, AE.pub_ep), 0);
    s_round(); /* the keys exist from now on */
    long rss0 = at_rss_kb(AE.agg.pid), pub0 = ae_metric("antt_aggregation_updates_total");
    for (int i = 0; i < 8; i++)
        s_round();
    long rss1 = at_rss_kb(AE.agg.pid), pub1 = ae_metric("antt_aggregation_updates_total");
    printf("slow subscriber: %ld updates published while it did not read; aggregation RSS %ld -> %ld kB\n",
           pub1 - pub0, rss0, rss1);
    /* unbounded, the queue would hold them all: some 25 MB (under ASan its
     * quarantine of freed memory makes RSS say nothing about this) */
    int bounded = getenv("ASAN_OPTIONS") != NULL || rss1 - rss0 < 8 * 1024;
    if (pub1 - pub0 <= 120000 || !bounded) {
        zmq_close(slow); /* or the context could not end */
        fail_msg("published %ld, RSS grew %ld kB", pub1 - pub0, rss1 - rss0);
    }
    /* it reads again what was kept for it; the next update after that
     * shows the jump in the sequence (what was dropped was newer) */
    int64_t last = -1, gap = 0;
    char epoch[48] = "";
    for (int fresh = 0; fresh < 2 && !gap; fresh++) {
        if (fresh)
            at_db_exec(AE.db, "INSERT INTO incidents (id, occurred_at, category, priority, area_code, desk_code, status)"
                             " VALUES (gen_random_uuid(), now(), 'theft', 3, 'VN-HCM-BTA-AL', 'DESK-HCM-BTA-AL', 'new')");
        for (;;) {
            zmq_pollitem_t it = {slow, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&it, 1, fresh ? 5000 : 500) <= 0)
                break;
            zmq_msg_t t, m;
            zmq_msg_init(&t);
            zmq_msg_init(&m);
            zmq_msg_recv(&t, slow, 0);
            zmq_msg_recv(&m, slow, 0);
            Antt__V1__TrendUpdate *u = antt__v1__trend_update__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
            if (u) {
                if (last >= 0 && u->sequence != last + 1)
                    gap = 1;
                last = u->sequence;
                snprintf(epoch, sizeof(epoch), "%s", u->epoch ? u->epoch : "");
                antt__v1__trend_update__free_unpacked(u, NULL);
            }
            zmq_msg_close(&t);
            zmq_msg_close(&m);
            if (gap)
                break;
        }
    }
    zmq_close(slow);
    assert_true(gap);
    /* so it takes a snapshot: its figures are the database's */
    char key[128], ep[48], err[128];
    int64_t seq;
    PGresult *r = PQexec(AE.db, "SELECT extract(year FROM antt_trend_today())::int, count(*) FROM incidents"
                               " WHERE status NOT IN ('rejected', 'merged') AND area_code LIKE 'VN-HCM-BTA%'"
                               " AND antt_trend_day(occurred_at) >= date_trunc('year', antt_trend_today())");
    snprintf(key, sizeof(key), AE_DISTRICT "|year|%s|all", PQgetvalue(r, 0, 0));
    long want = atol(PQgetvalue(r, 0, 1));
    PQclear(r);
    assert_int_equal(ae_snapshot(AE_DISTRICT, "year", key, &seq, ep, err), want);
    /* within one state the snapshot is at or past what was seen; a reload
     * meanwhile (an earlier test's rebuild is noticed within 5 s) starts a
     * new epoch, which tells the client to take the snapshot whole */
    if (!strcmp(ep, epoch))
        assert_true(seq >= last);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_tables),
        cmocka_unit_test(test_merger),
        cmocka_unit_test(test_corrections_live),
        cmocka_unit_test(test_idempotent_rebuild),
        cmocka_unit_test(test_any_period),
        cmocka_unit_test(test_sse_resume),
        cmocka_unit_test(test_http_edges),
        cmocka_unit_test(test_spikes_hotspots),
        cmocka_unit_test(test_response_times),
        cmocka_unit_test(test_slow_subscriber),
    };
    return cmocka_run_group_tests(tests, ae_setup, ae_teardown);
}
