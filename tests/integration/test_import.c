/* Integration tests of what the whole stack keeps as said: a resident's
 * chosen category (Open311 returns it, whatever the classifier decided),
 * and imported history (antt import: each row's category, priority and
 * status exactly, no duplicate merging either way, only from a gateway
 * allowed to import). The four real services with CURVE on, as deployed,
 * the real antt tool, a real PostgreSQL. */
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
#include <math.h>

#include "antt_test.h"
#include "at_post.h"
#include "antt_util.h"

static struct {
    char *conninfo; /* test database */
    PGconn *db;     /* for assertions */
    at_stack_t st;  /* the services */
    char url[128];  /* Open311 base */
} E;

/* Runs the antt tool with the stack's settings; *out its output (malloc'd). */
static int s_run(const char *args, char **out)
{
    char cmd[3072], path[512], keys[1024];
    snprintf(path, sizeof(path), "%s/test_import.out", ANTT_BUILD_DIR);
    at_stack_cli_env(&E.st, keys, sizeof(keys));
    snprintf(cmd, sizeof(cmd),
             "%s ANTT_DB_CONNINFO='%s' ANTT_INTAKE_GATEWAY_ENDPOINT='%s' %s/services/cli/antt %s > %s 2>&1", keys,
             E.conninfo, E.st.gateway_ep, ANTT_BUILD_DIR, args, path);
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

static int s_setup(void **state)
{
    (void)state;
    E.conninfo = at_db_create("t_import");
    E.db = at_db_connect(E.conninfo);
    at_db_exec(E.db, "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst) VALUES"
                     " ('app', 'App', sha256('key-app'::bytea), 1000, 1000)");
    at_stack_init(&E.st, E.conninfo);
    /* the archive gateway, allowed to import, as an operator adds it */
    char *out = NULL;
    int rc = s_run("gateway add archive Archive --key key-archive --rate 1000 --burst 1000 --import", &out);
    free(out);
    if (rc != 0 || at_db_long(E.db, "SELECT count(*) FROM gateways WHERE code = 'archive' AND may_import") != 1)
        return -1;
    snprintf(E.url, sizeof(E.url), "http://127.0.0.1:%d/open311/v2", E.st.port[AT_INTAKE]);
    return at_stack_start_all(&E.st);
}

static int s_teardown(void **state)
{
    (void)state;
    at_stack_stop(&E.st);
    PQfinish(E.db);
    at_stack_free(&E.st);
    free(E.conninfo);
    return 0;
}

/* POSTs a report; returns its id (malloc'd). */
static char *s_submit(const char *fields)
{
    char url[160], *resp = NULL, *body = antt_xasprintf("api_key=key-app&%s", fields);
    snprintf(url, sizeof(url), "%s/requests.json", E.url);
    int st = at_post_report(url, NULL, body, &resp);
    free(body);
    if (st != 201)
        fail_msg("POST %s: %d %s", fields, st, resp ? resp : "");
    json_t *d = json_loads(resp, 0, NULL);
    char *id = antt_xstrdup(json_string_value(json_object_get(json_array_get(d, 0), "service_request_id")));
    json_decref(d);
    free(resp);
    return id;
}

static const char *s_wait_id;
static int s_linked(void *arg)
{
    (void)arg;
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM incident_reports WHERE report_id = '%s'", s_wait_id);
    return at_db_long(E.db, sql) == 1;
}

/* One value about a report (SQL with one %s for its id), as text (malloc'd). */
static char *s_value(const char *fmt, const char *id)
{
    char sql[1024];
    snprintf(sql, sizeof(sql), fmt, id);
    PGresult *r = PQexec(E.db, sql);
    char *v = antt_xstrdup(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "?");
    PQclear(r);
    return v;
}

#define S_CATEGORY "SELECT i.category FROM incidents i JOIN incident_reports l ON l.incident_id = i.id" \
                   " WHERE l.report_id = '%s'"
#define S_INCIDENT "SELECT incident_id::text FROM incident_reports WHERE report_id = '%s'"

/* The request's service_code as Open311 returns it (malloc'd). */
static char *s_service_code(const char *id)
{
    char url[256], *resp = NULL;
    snprintf(url, sizeof(url), "%s/requests/%s.json?api_key=key-app", E.url, id);
    assert_int_equal(at_http("GET", url, NULL, NULL, 0, &resp), 200);
    json_t *d = json_loads(resp, 0, NULL);
    const char *v = json_string_value(json_object_get(json_array_get(d, 0), "service_code"));
    char *out = antt_xstrdup(v ? v : "(null)");
    json_decref(d);
    free(resp);
    return out;
}

static void test_resident_choice_is_kept(void **state)
{
    (void)state;
    /* the resident chose theft; the text reads as a fire (far apart: no duplicates) */
    char *chosen = s_submit("service_code=theft&lat=10.7750&long=106.6200&description=Ch%C3%A1y+nh%C3%A0+%E1%BB%9F"
                            "+h%E1%BA%BBm+12%2C+kh%C3%B3i+bay+m%C3%B9+m%E1%BB%8Bt%2C+l%E1%BB%ADa+b%E1%BB%91c+cao");
    char *unchosen = s_submit("lat=10.8050&long=106.5800&description=Ch%C3%A1y+nh%C3%A0+%E1%BB%9F+h%E1%BA%BBm+40%2C"
                              "+kh%C3%B3i+bay+m%C3%B9+m%E1%BB%8Bt%2C+l%E1%BB%ADa+b%E1%BB%91c+cao");
    s_wait_id = chosen;
    assert_true(at_wait_until(s_linked, NULL, 20000));
    s_wait_id = unchosen;
    assert_true(at_wait_until(s_linked, NULL, 20000));
    /* the classifier's decision is its own (the lead's rules may flag it for
     * review); the premise of the test is that it differs */
    char *cat = s_value(S_CATEGORY, chosen);
    assert_string_equal(cat, "fire");
    free(cat);
    char *v = s_value("SELECT service_code FROM reports WHERE id = '%s'", chosen);
    assert_string_equal(v, "theft");
    free(v);
    /* Open311 answers with the resident's choice, else the incident's category */
    v = s_service_code(chosen);
    assert_string_equal(v, "theft");
    free(v);
    v = s_service_code(unchosen);
    assert_string_equal(v, "fire");
    free(v);
    char url[256], *resp = NULL;
    snprintf(url, sizeof(url), "%s/requests.json?api_key=key-app&service_code=theft", E.url);
    assert_int_equal(at_http("GET", url, NULL, NULL, 0, &resp), 200);
    assert_non_null(strstr(resp, chosen));
    assert_null(strstr(resp, unchosen));
    assert_non_null(strstr(resp, "Trộm cắp tài sản")); /* its service_name too */
    free(resp);
    free(chosen);
    free(unchosen);
}

static int s_trends_drained(void *arg)
{
    (void)arg;
    return at_db_long(E.db, "SELECT count(*) FROM trend_queue") == 0 &&
           at_db_long(E.db, "SELECT count(*) FROM report_queue") == 0;
}

/* What one row must become. */
typedef struct s_want {
    const char *category;
    int priority;
    const char *status;
} s_want_t;

static void test_import_keeps_history(void **state)
{
    (void)state;
    int y = (int)at_db_long(E.db, "SELECT extract(year FROM now())::int - 2");
    char recent[40];
    antt_format_time(antt_now_ms() - 10 * 60 * 1000, recent, sizeof(recent));
    /* every text says something else than its row ("Vụ việc": an incident;
     * "trộm xe máy" on a fire row), two identical open robbery rows at one
     * place and time (duplicates, were they reports), and an open robbery of
     * ten minutes ago at a place where a resident will report a robbery */
    char csv[2048], path[512], jpath[512], args[1200], *out = NULL;
    snprintf(csv, sizeof(csv),
             "occurred_at,category,priority,status,area_code,lat,lon,description\n"
             "%d-01-05T21:00:00+07:00,robbery,P1,acknowledged,,10.7600,106.6100,Vụ việc\n"
             "%d-01-05T21:00:00+07:00,robbery,P1,acknowledged,,10.7600,106.6100,Vụ việc\n"
             "%d-02-06,theft,2,rejected,VN-HCM-BTA-AL,,,Vụ việc\n"
             "%d-03-07,fire,4,new,VN-HCM-BTA-BHH,,,Vụ việc\n"
             "%d-04-08,theft,,acknowledged,VN-HCM-BTA-TT,,,Vụ việc\n"
             "%d-05-09,fire,1,resolved,VN-HCM-BTA-AL,,,\"Trộm xe máy, khu phố 2\"\n"
             "%s,robbery,2,new,,10.7900,106.6300,Vụ việc\n",
             y, y, y, y, y, y, recent);
    s_write("import-facts.csv", csv, path, sizeof(path));
    char jl[512];
    snprintf(jl, sizeof(jl),
             "{\"occurred_at\": \"%d-06-10\", \"category\": \"robbery\", \"priority\": 3, \"status\": \"resolved\","
             " \"area_code\": \"VN-HCM-BTA-AL\", \"description\": \"Vụ việc\"}\n",
             y);
    s_write("import-facts.jsonl", jl, jpath, sizeof(jpath));
    static const s_want_t want[] = {
        {"robbery", 1, "acknowledged"}, {"robbery", 1, "acknowledged"}, {"theft", 2, "rejected"}, {"fire", 4, "new"},
        {"theft", 3, "acknowledged"}, {"fire", 1, "resolved"},  {"robbery", 3, "resolved"}, {"robbery", 2, "new"},
    };
    long before = at_db_long(E.db, "SELECT count(*) FROM reports");

    /* an ordinary gateway may not: refused, nothing stored */
    snprintf(args, sizeof(args), "import %s --key key-app", path);
    assert_int_equal(s_run(args, &out), 1);
    if (strstr(out, "may not import") == NULL)
        fail_msg("refusal not explained: %s", out);
    free(out);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM reports"), before);

    snprintf(args, sizeof(args), "import %s --key key-archive", path);
    if (s_run(args, &out) != 0)
        fail_msg("import failed: %s", out);
    assert_non_null(strstr(out, "import-facts.csv: 7 new, 0 already imported"));
    free(out);
    snprintf(args, sizeof(args), "import %s --key key-archive", jpath);
    if (s_run(args, &out) != 0)
        fail_msg("import failed: %s", out);
    free(out);

    /* exactly the rows, in occurred order, one incident each */
    PGresult *r = PQexec(E.db, "SELECT i.category, i.priority, i.status, i.imported, i.confidence,"
                               " i.reasons::text, i.outcome, i.acknowledged_at IS NULL AND i.closed_at IS NULL,"
                               " i.report_count, l.reasons::text"
                               " FROM reports r JOIN gateways g ON g.id = r.gateway_id AND g.code = 'archive'"
                               " JOIN incident_reports l ON l.report_id = r.id JOIN incidents i ON i.id = l.incident_id"
                               " ORDER BY r.occurred_at, r.received_at");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), (int)ANTT_ARRAY_SIZE(want));
    for (int i = 0; i < PQntuples(r); i++) {
        const s_want_t *w = &want[i]; /* the recent one sorts last */
        int closed = !strcmp(w->status, "resolved") || !strcmp(w->status, "rejected");
        if (strcmp(PQgetvalue(r, i, 0), w->category) || atoi(PQgetvalue(r, i, 1)) != w->priority ||
            strcmp(PQgetvalue(r, i, 2), w->status))
            fail_msg("row %d: incident %s P%s %s, want %s P%d %s", i, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                     PQgetvalue(r, i, 2), w->category, w->priority, w->status);
        assert_string_equal(PQgetvalue(r, i, 3), "t");
        assert_string_equal(PQgetvalue(r, i, 4), "1");
        assert_string_equal(PQgetvalue(r, i, 5), "[\"imported\"]");
        assert_string_equal(PQgetvalue(r, i, 6), closed ? "imported" : "");
        assert_string_equal(PQgetvalue(r, i, 7), "t"); /* no invented acknowledgement or closing time */
        assert_string_equal(PQgetvalue(r, i, 8), "1"); /* the identical rows are not merged */
        assert_string_equal(PQgetvalue(r, i, 9), "[\"imported\"]");
    }
    PQclear(r);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM incident_events e JOIN incidents i ON i.id = e.incident_id"
                                      " WHERE i.imported AND e.kind = 'created' AND e.data->>'imported' = 'true'"),
                     (long)ANTT_ARRAY_SIZE(want));

    /* the trends count them as they are: each priority and category as
     * given, the rejected one not at all, no response times */
    assert_true(at_wait_until(s_trends_drained, NULL, 20000));
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM trend_contributions c JOIN incidents i ON i.id = c.incident_id"
                                      " WHERE i.imported AND c.category = i.category AND c.priority = i.priority"
                                      " AND c.counted = (i.status <> 'rejected') AND c.resolved = (i.status = 'resolved')"
                                      " AND c.ack_s IS NULL AND c.resolve_s IS NULL"),
                     (long)ANTT_ARRAY_SIZE(want));
    char q[256];
    snprintf(q, sizeof(q), "SELECT (antt_summary('VN-HCM-BTA', %d)->>'total')::int", y);
    assert_int_equal(at_db_long(E.db, q), 6); /* 7 rows of that year, one rejected */

    /* a resident's robbery where the imported open robbery is: a new
     * incident, the imported one untouched */
    char *live = s_submit("service_code=robbery&lat=10.7901&long=106.6301&description=V%E1%BB%ABa+b%E1%BB%8B+hai"
                          "+thanh+ni%C3%AAn+c%C6%B0%E1%BB%9Bp+gi%E1%BA%ADt+%C4%91i%E1%BB%87n+tho%E1%BA%A1i");
    s_wait_id = live;
    assert_true(at_wait_until(s_linked, NULL, 20000));
    char *cat = s_value(S_CATEGORY, live);
    assert_string_equal(cat, "robbery"); /* the premise: it could have joined */
    free(cat);
    char *inc = s_value(S_INCIDENT, live);
    snprintf(q, sizeof(q), "SELECT count(*) FROM incidents WHERE id = '%s' AND NOT imported", inc);
    assert_int_equal(at_db_long(E.db, q), 1);
    free(inc);
    free(live);
    assert_int_equal(at_db_long(E.db, "SELECT max(report_count) FROM incidents WHERE imported"), 1);

    /* again: nothing new, and the check still holds */
    long reports = at_db_long(E.db, "SELECT count(*) FROM reports");
    snprintf(args, sizeof(args), "import %s --key key-archive", path);
    if (s_run(args, &out) != 0)
        fail_msg("second import failed: %s", out);
    /* it says so (it said "imported 7 incident(s)") */
    if (strstr(out, "import-facts.csv: 0 new, 7 already imported") == NULL)
        fail_msg("second import: %s", out);
    free(out);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM reports"), reports);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM incidents WHERE imported"), (long)ANTT_ARRAY_SIZE(want));
}

/* A real district's file: RFC 4180 CSV (a description over two lines, with
 * quotes), a time without a zone in local time (20:00 on 31 December is
 * that year's, not the next one's as UTC made it), outcomes solved with
 * the suspects arrested; the summary counts the share solved and the
 * arrests, and the year is covered from its 1 January. A file with a quote
 * never closed is refused naming its line, and imports nothing. */
static void test_import_real_files(void **state)
{
    (void)state;
    int y = (int)at_db_long(E.db, "SELECT extract(year FROM now())::int - 3");
    char csv[2048], path[512], args[1200], *out = NULL;
    snprintf(csv, sizeof(csv),
             "occurred_at,category,area_code,status,outcome,solved_on,arrested,description\r\n"
             "%d-03-01,theft,VN-HCM-BTA-AL,resolved,solved,%d-03-10,2,\"Trộm xe máy\r\nkhu phố 2, \"\"hẻm 12\"\"\"\r\n"
             "%d-04-01,robbery,VN-HCM-BTA-AL,resolved,solved,,3,Cướp giật điện thoại\r\n"
             "%d-12-31T20:00:00,fraud,VN-HCM-BTA-AL,resolved,,,,Lừa đảo qua mạng\r\n"
             "%d-06-01,fire,VN-HCM-BTA-AL,new,,,,Cháy nhà\r\n",
             y, y, y, y, y);
    s_write("import-real.csv", csv, path, sizeof(path));
    snprintf(args, sizeof(args), "import %s --key key-archive", path);
    if (s_run(args, &out) != 0)
        fail_msg("import failed: %s", out);
    printf("%s", out);
    assert_non_null(strstr(out, "import-real.csv: 4 new, 0 already imported"));
    assert_non_null(strstr(out, "2 solved outcome(s) recorded"));
    free(out);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM reports WHERE description = 'Trộm xe máy\r\nkhu phố 2, \"hẻm 12\"'"),
                     1);
    char q[512];
    snprintf(q, sizeof(q), "SELECT count(*) FROM incidents WHERE imported AND category = 'fraud'"
             " AND antt_trend_day(occurred_at) = '%d-12-31'", y);
    assert_int_equal(at_db_long(E.db, q), 1);
    assert_true(at_wait_until(s_trends_drained, NULL, 20000));
    /* the rows' common area is the ward: it has data from 1 January */
    snprintf(q, sizeof(q), "SELECT antt_summary('VN-HCM-BTA-AL', %d)::text", y);
    PGresult *r = PQexec(E.db, q);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    json_t *j = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    assert_non_null(j);
    const char *sentence = json_string_value(json_object_get(j, "sentence"));
    printf("sentence: %s\n", sentence);
    char want[256];
    snprintf(want, sizeof(want), "ghi nhận 3 vụ phạm pháp hình sự (năm %d chưa có số liệu để so sánh), điều tra làm rõ 2 vụ,"
             " đạt 66,67%%, bắt giữ 5 đối tượng", y - 1);
    assert_non_null(strstr(sentence, want));
    json_t *g = json_array_get(json_object_get(j, "groups"), 0);
    assert_string_equal(json_string_value(json_object_get(g, "group")), "criminal");
    assert_int_equal(json_integer_value(json_object_get(g, "solved")), 2);
    assert_int_equal(json_integer_value(json_object_get(g, "arrested")), 5);
    assert_true(fabs(json_number_value(json_object_get(g, "solved_pct")) - 66.67) < 0.001);
    assert_true(json_is_true(json_object_get(j, "coverage")));
    json_decref(j);
    snprintf(q, sizeof(q), "SELECT count(*) FROM area_coverage WHERE area_code = 'VN-HCM-BTA-AL' AND covered_from = '%d-01-01'", y);
    assert_int_equal(at_db_long(E.db, q), 1);

    /* again: nothing new, the outcomes not counted twice */
    snprintf(args, sizeof(args), "import %s --key key-archive", path);
    if (s_run(args, &out) != 0)
        fail_msg("second import failed: %s", out);
    assert_non_null(strstr(out, "import-real.csv: 0 new, 4 already imported"));
    free(out);
    snprintf(q, sizeof(q), "SELECT sum(solved) * 100 + sum(arrested) FROM trend_solved WHERE grain = 'm'"
             " AND bucket >= '%d-01-01' AND bucket < '%d-01-01'", y, y + 1);
    assert_int_equal(at_db_long(E.db, q), 205);

    /* a quote never closed: its line named, nothing imported */
    long before = at_db_long(E.db, "SELECT count(*) FROM reports");
    snprintf(csv, sizeof(csv),
             "occurred_at,category,area_code,description\n%d-05-01,theft,VN-HCM-BTA-AL,ok\n"
             "%d-05-02,theft,VN-HCM-BTA-AL,\"never closed\n%d-05-03,theft,VN-HCM-BTA-AL,x\n",
             y, y, y);
    s_write("import-open-quote.csv", csv, path, sizeof(path));
    snprintf(args, sizeof(args), "import %s --key key-archive", path);
    assert_int_equal(s_run(args, &out), 1);
    printf("%s", out);
    assert_non_null(strstr(out, "import-open-quote.csv:3: field 4: a quote opened here is never closed"));
    free(out);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM reports"), before);
    /* and --help says how a time without a zone is read */
    assert_int_equal(s_run("import --help", &out), 0);
    assert_non_null(strstr(out, "Asia/Ho_Chi_Minh"));
    assert_non_null(strstr(out, "2023-12-31T20:00:00 is in 2023"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resident_choice_is_kept),
        cmocka_unit_test(test_import_keeps_history),
        cmocka_unit_test(test_import_real_files),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
