/* The yearly summary as a district publishes it, against a real PostgreSQL
 * and the real aggregation service and antt tool: a year without data says
 * so and meets no standard; the seed sentence of Bình Tân's 2023 comes out
 * byte for byte from the wording configured in the database; the standard
 * of the khu phố, with the cases that could not be placed in one; small
 * counts told as differences with a Poisson significance mark. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <jansson.h>

#include "antt_test.h"
#include "antt_util.h"

#define S_DISTRICT "VN-HCM-BTA"

static struct {
    char *conninfo;  /* test database */
    PGconn *db;      /* for setting up and assertions */
    at_proc_t agg;   /* the aggregation service */
    int port;        /* its HTTP port */
    char *envv[16];  /* its environment */
} E;

static int s_setup(void **state)
{
    (void)state;
    E.conninfo = at_db_create("t_summary");
    E.db = at_db_connect(E.conninfo);
    E.port = at_free_port();
    /* the figures in full, as staff (the public's rules hide a cell under
     * 3: test_audiences) */
    at_db_exec(E.db, "INSERT INTO dashboard_tokens (name, area_code, token_hash) SELECT 'summary', code,"
                     " sha256(convert_to('tok-summary', 'UTF8')) FROM areas WHERE parent_code IS NULL LIMIT 1");
    size_t cap = sizeof(E.envv) / sizeof(E.envv[0]);
    at_env_add(E.envv, cap, "ANTT_DB_CONNINFO=%s", E.conninfo);
    static const char *const eps[] = {"PUBLISH", "SNAPSHOT", "CLASSIFIED", "UPDATE"};
    char name[64], v[64];
    snprintf(v, sizeof(v), "127.0.0.1:%d", E.port);
    at_env_add(E.envv, cap, "ANTT_AGGREGATION_HTTP=%s", v);
    for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
        snprintf(name, sizeof(name), "ANTT_AGGREGATION_%s_ENDPOINT=%%s", eps[i]);
        snprintf(v, sizeof(v), "tcp://127.0.0.1:%d", at_free_port());
        at_env_add(E.envv, cap, name, v);
    }
    at_env_add(E.envv, cap, "ANTT_AGGREGATION_REDRIVE_INTERVAL_MS=%s", "100");
    if (at_spawn(&E.agg, "aggregation", E.envv) != 0)
        return -1;
    return at_wait_proc_ready(&E.agg, E.port, 20000);
}

static int s_teardown(void **state)
{
    (void)state;
    at_stop(&E.agg, 15, 10000);
    PQfinish(E.db);
    free(E.conninfo);
    return 0;
}

static void s_gen(const char *area, const char *category, int year, int n, int step_h, int prio)
{
    at_db_gen_incidents(E.db, area, category, year, n, step_h, prio);
}

static int s_queue_empty(void *arg)
{
    (void)arg;
    return at_db_long(E.db, "SELECT count(*) FROM trend_queue") == 0;
}

/* GET path from aggregation: the body (malloc'd), 200 asserted. */
static char *s_get(const char *path)
{
    char url[512], *resp = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", E.port, path);
    int64_t t0 = antt_now_ms();
    const char *hs[] = {"Authorization: Bearer tok-summary", NULL};
    int st = at_http("GET", url, hs, NULL, 0, &resp);
    if (st != 200)
        fail_msg("GET %s: %d %s", path, st, resp ? resp : "");
    printf("GET %s answered in %lld ms\n", path, (long long)(antt_now_ms() - t0));
    return resp;
}

/* The summary of the district's year as JSON (the caller's). */
static json_t *s_summary(int year)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/summary?area=" S_DISTRICT "&year=%d", year);
    char *b = s_get(path);
    json_error_t je;
    json_t *j = json_loads(b, 0, &je);
    if (j == NULL)
        fail_msg("not JSON (%s): %s", je.text, b);
    free(b);
    return j;
}

static const char *s_sentence(json_t *j)
{
    const char *s = json_string_value(json_object_get(j, "sentence"));
    assert_non_null(s);
    printf("sentence: %s\n", s);
    return s;
}

/* Runs the antt tool on the test database; its output (malloc'd). */
static int s_cli(const char *args, char **out)
{
    char cmd[1024], path[512];
    snprintf(path, sizeof(path), "%s/test_summary.out", ANTT_BUILD_DIR);
    snprintf(cmd, sizeof(cmd), "ANTT_DB_CONNINFO='%s' %s/services/cli/antt %s > %s 2>&1", E.conninfo, ANTT_BUILD_DIR,
             args, path);
    int rc = system(cmd);
    *out = at_read_file(path, NULL);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Nothing recorded for 2019: no data, which is not "no incidents", and no
 * ward can be said to meet the standard (it said "10/10 phường đạt chuẩn"). */
static void test_year_without_data(void **state)
{
    (void)state;
    json_t *j = s_summary(2019);
    assert_string_equal(s_sentence(j), "Năm 2019 chưa có số liệu (không phường nào được đánh giá đạt chuẩn"
                                       " “An toàn về an ninh trật tự”).");
    assert_true(json_is_false(json_object_get(j, "coverage")));
    json_t *std = json_object_get(j, "standard");
    assert_int_equal(json_integer_value(json_object_get(std, "met")), 0);
    assert_int_equal(json_integer_value(json_object_get(std, "total")), 10);
    json_t *ward = json_array_get(json_object_get(std, "areas"), 0);
    assert_true(json_is_false(json_object_get(ward, "met")));
    assert_true(json_is_false(json_object_get(ward, "coverage")));
    json_t *g = json_array_get(json_object_get(j, "groups"), 0);
    assert_true(json_is_false(json_object_get(g, "coverage")));
    assert_true(json_is_null(json_object_get(g, "change")));
    json_decref(j);
}

/* Bình Tân's 2023 against 2022, worded as the district writes it: the fire
 * clause "(giảm 06 vụ tỉ lệ 37,5% so với năm 2022)" is configuration. */
static void test_seed_sentence_from_configuration(void **state)
{
    (void)state;
    s_gen("VN-HCM-BTA-AL", "theft", 2022, 300, 29, 3);
    s_gen("VN-HCM-BTA-TT-KP2", "robbery", 2022, 134, 65, 2);
    s_gen("VN-HCM-BTA-AL", "theft", 2023, 200, 43, 3);
    s_gen("VN-HCM-BTA-TT", "fraud", 2023, 85, 100, 3);
    s_gen("VN-HCM-BTA-AL-KP1", "fire", 2022, 16, 500, 1);
    s_gen("VN-HCM-BTA-TT", "fire", 2023, 10, 800, 1);
    /* the district's history was collected from 2022 on */
    at_db_exec(E.db, "SELECT antt_coverage_record('" S_DISTRICT "', '2022-01-01', 'operator')");
    at_db_exec(E.db, "UPDATE stat_groups SET clause_change = '{verb} {count} vụ {name} ({dir} {diff} vụ tỉ lệ {pct}%{compare})',"
                     " compare_next = ' so với năm {prior_year}' WHERE code = 'fire'");
    assert_true(at_wait_until(s_queue_empty, NULL, 15000));
    static const char want[] = "Năm 2023 ghi nhận 285 vụ phạm pháp hình sự (giảm 149 vụ so với cùng kỳ năm 2022, tỉ lệ"
                               " giảm 34,33%); xảy ra 10 vụ cháy (giảm 06 vụ tỉ lệ 37,5% so với năm 2022); 8/10 phường"
                               " đạt chuẩn “An toàn về an ninh trật tự”.";
    json_t *j = s_summary(2023);
    assert_string_equal(s_sentence(j), want);
    assert_true(json_is_true(json_object_get(j, "coverage")));
    json_decref(j);

    /* the head and the standard's line are the district's words too */
    at_db_exec(E.db, "UPDATE summary_options SET head = 'Trong năm {year},',"
                     " standard_line = 'có {met}/{total} {level} đạt tiêu chuẩn an toàn về ANTT năm {year}'");
    j = s_summary(2023);
    assert_string_equal(s_sentence(j), "Trong năm 2023, ghi nhận 285 vụ phạm pháp hình sự (giảm 149 vụ so với cùng kỳ"
                                       " năm 2022, tỉ lệ giảm 34,33%); xảy ra 10 vụ cháy (giảm 06 vụ tỉ lệ 37,5% so với"
                                       " năm 2022); có 8/10 phường đạt tiêu chuẩn an toàn về ANTT năm 2023.");
    json_decref(j);
    /* an unknown placeholder is refused and changes nothing */
    PGresult *bad = PQexec(E.db, "UPDATE summary_options SET head = 'X', standard_line = '{met}/{tota} {level}'");
    assert_int_equal(PQresultStatus(bad), PGRES_FATAL_ERROR);
    PQclear(bad);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM summary_options WHERE head = 'Trong năm {year},'"), 1);
    at_db_exec(E.db, "UPDATE summary_options SET head = DEFAULT, standard_line = DEFAULT");
    j = s_summary(2023);
    assert_string_equal(s_sentence(j), want);
    json_decref(j);

    /* 2022 has no 2021 to compare with: it says so, not "tăng 434 vụ" */
    j = s_summary(2022);
    const char *s = s_sentence(j);
    assert_non_null(strstr(s, "ghi nhận 434 vụ phạm pháp hình sự (năm 2021 chưa có số liệu để so sánh)"));
    assert_null(strstr(s, "tăng"));
    assert_true(json_is_false(json_object_get(j, "prior_coverage")));
    assert_true(json_is_null(json_object_get(json_array_get(json_object_get(j, "groups"), 0), "change")));
    json_decref(j);

    /* the CLI: the same sentence, its table with the decimal comma; --json numbers */
    char *out = NULL;
    assert_int_equal(s_cli("summary --area " S_DISTRICT " --year 2023", &out), 0);
    printf("%s", out);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "-34,33"));
    assert_non_null(strstr(out, "-37,5"));
    assert_null(strstr(out, "-34.33"));
    free(out);
    assert_int_equal(s_cli("summary --area " S_DISTRICT " --year 2023 --json", &out), 0);
    assert_non_null(strstr(out, "\"change_pct\": -34.33"));
    free(out);
    assert_int_equal(s_cli("trends --area " S_DISTRICT " --group fire --period year --from 2023-01-01 --to 2023-12-31",
                           &out), 0);
    assert_non_null(strstr(out, "-37,50"));
    free(out);
    /* a template with an unknown placeholder is refused, nothing changes */
    PGresult *r = PQexec(E.db, "UPDATE stat_groups SET clause_change = '{verb} {cout}' WHERE code = 'fire'");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
    j = s_summary(2023);
    assert_string_equal(s_sentence(j), want);
    json_decref(j);
}

/* The district's standard for khu phố too: at most 5 criminal cases a year.
 * Most of the year's cases carry only a ward code: the line says how many
 * could not be placed in a khu phố. */
static void test_khu_pho_standard(void **state)
{
    (void)state;
    at_db_exec(E.db, "INSERT INTO area_standard_rules (level, group_code, max_priority, max_count)"
                     " VALUES ('neighbourhood', 'criminal', NULL, 5)");
    s_gen("VN-HCM-BTA-BHH-KP1", "theft", 2023, 6, 700, 3);
    s_gen("VN-HCM-BTA-BHH-KP2", "theft", 2023, 3, 700, 3);
    assert_true(at_wait_until(s_queue_empty, NULL, 15000));
    long kps = at_db_long(E.db, "SELECT count(*) FROM areas WHERE level = 'neighbourhood' AND parent_code LIKE '"
                                S_DISTRICT "-%'");
    char want[256];
    snprintf(want, sizeof(want), "; 8/10 phường đạt chuẩn “An toàn về an ninh trật tự”; %ld/%ld khu phố đạt chuẩn"
             " “An toàn về an ninh trật tự” (295 vụ chưa xác định được khu phố).", kps - 1, kps);
    json_t *j = s_summary(2023);
    assert_non_null(strstr(s_sentence(j), want));
    json_t *kp = json_array_get(json_object_get(j, "standards"), 1);
    assert_string_equal(json_string_value(json_object_get(kp, "level")), "neighbourhood");
    assert_int_equal(json_integer_value(json_object_get(kp, "met")), kps - 1);
    assert_int_equal(json_integer_value(json_object_get(kp, "total")), kps);
    assert_int_equal(json_integer_value(json_object_get(kp, "unplaced")), 295);
    json_decref(j);
    char *out = NULL;
    assert_int_equal(s_cli("summary --area " S_DISTRICT " --year 2023", &out), 0);
    snprintf(want, sizeof(want), "đạt chuẩn: %ld/%ld khu phố (295 vụ chưa xác định được khu phố)", kps - 1, kps);
    assert_non_null(strstr(out, want));
    free(out);
}

static json_t *s_group(json_t *j, const char *code)
{
    json_t *g;
    size_t i;
    json_array_foreach(json_object_get(j, "groups"), i, g) if (!strcmp(json_string_value(json_object_get(g, "group")), code))
        return g;
    fail_msg("no group %s", code);
    return NULL;
}

/* Drugs 2 -> 9 and traffic 4 -> 6: below 10 (summary_options.small_count)
 * a change is its difference, marked when z = 2(sqrt(C) - sqrt(P)) reaches
 * 1.96 (here 3.17 and 0.90), not "tỉ lệ tăng 350%". */
static void test_small_counts(void **state)
{
    (void)state;
    s_gen("VN-HCM-BTA-BHH-KP3", "drugs", 2022, 2, 700, 3);
    s_gen("VN-HCM-BTA-BHH-KP3", "drugs", 2023, 9, 700, 3);
    s_gen("VN-HCM-BTA-BHH-KP4", "traffic", 2022, 4, 700, 3);
    s_gen("VN-HCM-BTA-BHH-KP4", "traffic", 2023, 6, 700, 3);
    assert_true(at_wait_until(s_queue_empty, NULL, 15000));
    json_t *j = s_summary(2023);
    const char *s = s_sentence(j);
    assert_non_null(strstr(s, "; phát hiện 9 vụ tệ nạn xã hội (tăng 07 vụ*);"));
    assert_non_null(strstr(s, "; ghi nhận 6 vụ tai nạn, vi phạm giao thông (tăng 02 vụ);"));
    assert_non_null(strstr(s, ". (*) thay đổi có ý nghĩa thống kê (kiểm định Poisson, |z| ≥ 1,96)."));
    assert_null(strstr(s, "350"));
    json_t *g = s_group(j, "social_evils");
    assert_true(json_is_true(json_object_get(g, "significant")));
    assert_true(json_is_true(json_object_get(g, "small")));
    printf("social_evils z = %.3f, traffic z = %.3f\n", json_number_value(json_object_get(g, "z")),
           json_number_value(json_object_get(s_group(j, "traffic"), "z")));
    assert_true(json_is_false(json_object_get(s_group(j, "traffic"), "significant")));
    assert_true(json_is_true(json_object_get(s_group(j, "criminal"), "significant")));
    assert_true(json_is_false(json_object_get(s_group(j, "fire"), "significant"))); /* 16 -> 10: z = -1.68 */
    json_decref(j);
    /* the trend API marks it too, for the dashboard's colours */
    char *b = s_get("/api/v1/trends?area=" S_DISTRICT "&category=drugs&period=year&from=2023-01-01&to=2023-12-31");
    assert_non_null(strstr(b, "\"count\":9,\"prior\":2,\"change\":7,\"change_pct\":350.00,\"significant\":true,"
                              "\"coverage\":true,\"prior_coverage\":true"));
    free(b);
    b = s_get("/api/v1/trends?area=" S_DISTRICT "&category=drugs&period=year&from=2021-01-01&to=2021-12-31");
    assert_non_null(strstr(b, "\"coverage\":false,\"prior_coverage\":false"));
    free(b);
    /* the threshold is a setting: at 0, every change has its percentage */
    at_db_exec(E.db, "UPDATE summary_options SET small_count = 0");
    j = s_summary(2023);
    assert_non_null(strstr(s_sentence(j), "phát hiện 9 vụ tệ nạn xã hội (tăng 07 vụ, tỉ lệ tăng 350%)"));
    json_decref(j);
    at_db_exec(E.db, "UPDATE summary_options SET small_count = 10");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_year_without_data),
        cmocka_unit_test(test_seed_sentence_from_configuration),
        cmocka_unit_test(test_khu_pho_standard),
        cmocka_unit_test(test_small_counts),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
