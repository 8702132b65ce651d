/* Integration tests of what intake tells a gateway beyond "stored": the
 * emergency notice (113/114/115) when the text alone shows one, over
 * Open311 and ZeroMQ, on success and on refusal; the resident's service_code
 * and the notice on GET requests; and who may submit imported history. The
 * real antt-intake binary, a real PostgreSQL, real HTTP and ZeroMQ clients;
 * a PULL socket of the test stands in for classification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "antt/v1/report.pb-c.h"
#include "antt_migrate.h"
#include "antt_test.h"
#include "at_post.h"
#include "antt_util.h"
#include "intake_env.h"

static int s_setup(void **state)
{
    (void)state;
    static const char *const env[] = {"ANTT_INTAKE_REPORTER_BURST=2", NULL};
    return ie_open("t_intake_notice",
                   "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst, may_import) VALUES"
                   " ('app', 'App', sha256('key-app'::bytea), 1000, 1000, false),"
                   " ('archive', 'Archive', sha256('key-archive'::bytea), 1000, 1000, true)",
                   env);
}

/* POST requests.json (the fields as a JSON body, which keeps free text);
 * returns the status, *first the first object of the answer (a new
 * reference). */
static int s_post(const char *body, json_t **first)
{
    char url[160], *resp = NULL;
    snprintf(url, sizeof(url), "%s/requests.json", IE.base);
    int st = at_post_report(url, NULL, body, &resp);
    json_t *d = resp ? json_loads(resp, 0, NULL) : NULL;
    *first = json_incref(json_array_get(d, 0));
    json_decref(d);
    free(resp);
    return st;
}

static const char *s_str(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* The emergency_numbers of an Open311 object as "113,115" (static). */
static const char *s_numbers(json_t *o)
{
    static char out[32];
    out[0] = '\0';
    json_t *a = json_object_get(o, "emergency_numbers"), *e;
    size_t i;
    json_array_foreach(a, i, e)
    {
        strcat(out, i ? "," : "");
        strcat(out, json_string_value(e));
    }
    return out;
}

static Antt__V1__SubmitReply *s_zmq(const Antt__V1__SubmitReport *m)
{
    Antt__V1__SubmitReply *r = ie_zmq_submit(m, NULL, 0);
    assert_non_null(r);
    return r;
}

static void test_open311_notice(void **state)
{
    (void)state;
    json_t *o;
    /* fire: 114, in Vietnamese, stored with the report */
    assert_int_equal(s_post("api_key=key-app&idempotency_key=n-1&description=Ch%C3%A1y+nh%C3%A0+%E1%BB%9F+h%E1%BA%BBm"
                            "+12%2C+kh%C3%B3i+bay+m%C3%B9+m%E1%BB%8Bt",
                            &o),
                     201);
    assert_non_null(strstr(s_str(o, "service_notice"), "hãy gọi ngay 114 (cứu hỏa)"));
    assert_string_equal(s_numbers(o), "114");
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT emergency_services FROM reports WHERE id = '%s'", s_str(o, "service_request_id"));
    assert_int_equal(at_db_long(IE.db, sql), 2);
    json_decref(o);
    /* the retry of the same request is told again */
    assert_int_equal(s_post("api_key=key-app&idempotency_key=n-1&description=Ch%C3%A1y+nh%C3%A0+%E1%BB%9F+h%E1%BA%BBm"
                            "+12%2C+kh%C3%B3i+bay+m%C3%B9+m%E1%BB%8Bt",
                            &o),
                     200);
    assert_string_equal(s_numbers(o), "114");
    json_decref(o);
    /* English text without a language: in English, two services */
    assert_int_equal(s_post("api_key=key-app&description=Two+men+are+fighting+with+knives%2C+one+is+bleeding", &o),
                     201);
    assert_non_null(strstr(s_str(o, "service_notice"), "If anyone is in danger now, call 113 (police) and 115"));
    assert_string_equal(s_numbers(o), "113,115");
    json_decref(o);
    /* the gateway's language wins */
    assert_int_equal(s_post("api_key=key-app&language=vi&description=Help%21+He+has+a+gun", &o), 201);
    assert_non_null(strstr(s_str(o, "service_notice"), "113 (công an)"));
    json_decref(o);
    /* no emergency: negated, over, in the past, or none at all */
    const char *calm[] = {
        "api_key=key-app&description=Ch%C3%A1y+nh%E1%BB%8F+%C4%91%C3%A3+d%E1%BA%ADp+t%E1%BA%AFt%2C+kh%C3%B4ng+ai"
        "+b%E1%BB%8B+th%C6%B0%C6%A1ng", /* Cháy nhỏ đã dập tắt, không ai bị thương */
        "api_key=key-app&description=tuan+truoc+toi+bi+cuop+dien+thoai",
        "api_key=key-app&description=My+bike+was+stolen+last+night%2C+nobody+hurt",
        "api_key=key-app&service_code=public_order&description=ha%CC%80ng+xo%CC%81m+mo%CC%89+nha%CC%A3c+to",
    };
    for (size_t i = 0; i < ANTT_ARRAY_SIZE(calm); i++) {
        assert_int_equal(s_post(calm[i], &o), 201);
        assert_string_equal(s_str(o, "service_notice"), "received; a dispatcher will be notified");
        assert_string_equal(s_numbers(o), "");
        json_decref(o);
    }
    /* refused, but still told: a bad field, then a reporter over its quota */
    long before = ie_reports();
    assert_int_equal(s_post("api_key=key-app&phone=12&description=cuu+vs+dag+co+ng+cam+dao", &o), 400);
    assert_string_equal(s_str(o, "error_code"), "invalid_phone");
    assert_string_equal(s_numbers(o), "113");
    assert_non_null(strstr(s_str(o, "service_notice"), "113"));
    json_decref(o);
    int limited = 0;
    for (int i = 0; i < 4 && !limited; i++) {
        int st = s_post("api_key=key-app&phone=0900111222&description=co+nguoi+bi+thuong+nang", &o);
        if (st == 429) {
            limited = 1;
            assert_string_equal(s_numbers(o), "115");
        }
        json_decref(o);
    }
    assert_true(limited);
    assert_int_equal(ie_reports(), before + 2); /* the burst of 2 */
    /* an unknown key learns nothing */
    assert_int_equal(s_post("api_key=nope&description=chay+nha", &o), 403);
    assert_null(json_object_get(o, "service_notice"));
    json_decref(o);
    /* counted: n-1 twice, the English, the gun, the bad phone, the quota's three */
    char url[128], *resp = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", IE.http_port);
    assert_int_equal(at_http("GET", url, NULL, NULL, 0, &resp), 200);
    const char *m = strstr(resp, "\nantt_intake_emergency_notices_total ");
    assert_non_null(m);
    assert_true(atoi(m + strlen("\nantt_intake_emergency_notices_total ")) >= 7);
    free(resp);
}

static void test_zmq_notice(void **state)
{
    (void)state;
    Antt__V1__SubmitReport m = ANTT__V1__SUBMIT_REPORT__INIT;
    m.api_key = "key-app";
    m.idempotency_key = "z-1";
    m.description = "cuu vs, dag co ng cam dao o hem 5, 1 nguoi bi chem chay mau";
    Antt__V1__SubmitReply *r = s_zmq(&m);
    assert_int_equal(r->status, ANTT__V1__SUBMIT_REPLY__STATUS__OK);
    assert_non_null(r->emergency_notice);
    assert_non_null(strstr(r->emergency_notice, "113 (công an) và 115 (cấp cứu)"));
    assert_int_equal(r->n_emergency_numbers, 2);
    assert_string_equal(r->emergency_numbers[0], "113");
    assert_string_equal(r->emergency_numbers[1], "115");
    antt__v1__submit_reply__free_unpacked(r, NULL);
    /* English tag: English */
    m.idempotency_key = "z-2";
    m.description = "Nha toi dang chay, khoi den";
    m.language = "en";
    r = s_zmq(&m);
    assert_non_null(strstr(r->emergency_notice, "call 114 (fire and rescue)"));
    antt__v1__submit_reply__free_unpacked(r, NULL);
    /* nothing to tell */
    m.idempotency_key = "z-3";
    m.description = "Khong ai bi thuong, dam chay da duoc dap tat";
    m.language = NULL;
    r = s_zmq(&m);
    assert_int_equal(r->status, ANTT__V1__SUBMIT_REPLY__STATUS__OK);
    assert_null(r->emergency_notice);
    assert_int_equal(r->n_emergency_numbers, 0);
    antt__v1__submit_reply__free_unpacked(r, NULL);
    /* a refusal carries it too */
    m.idempotency_key = "z-4";
    m.description = "Có người bị đâm ở hẻm 15";
    m.service_code = "aliens";
    r = s_zmq(&m);
    assert_int_equal(r->status, ANTT__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST);
    assert_int_equal(r->n_emergency_numbers, 2);
    antt__v1__submit_reply__free_unpacked(r, NULL);
}

/* Reads AcceptedReports until report_id's; copies its import fields. */
typedef struct s_bad {
    const char *key;        /* api key */
    int imported;           /* -1: not sent */
    int priority;           /* 0: not sent */
    const char *status;     /* NULL: not sent */
    const char *service;    /* service_code */
    int occurred;           /* occurred_at given */
    int want;               /* reply status */
    const char *code;       /* error_code */
} s_bad_t;

static void test_import_rights(void **state)
{
    (void)state;
    const s_bad_t bad[] = {
        /* an ordinary gateway may set none of it */
        {"key-app", 1, 2, "resolved", "robbery", 1, ANTT__V1__SUBMIT_REPLY__STATUS__FORBIDDEN, "import_not_allowed"},
        {"key-app", -1, 1, NULL, "robbery", 1, ANTT__V1__SUBMIT_REPLY__STATUS__FORBIDDEN, "import_not_allowed"},
        {"key-app", -1, 0, "resolved", NULL, 0, ANTT__V1__SUBMIT_REPLY__STATUS__FORBIDDEN, "import_not_allowed"},
        /* the importer must give every fact */
        {"key-archive", -1, 2, "resolved", "theft", 1, ANTT__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST, "incomplete_import"},
        {"key-archive", 1, 2, "resolved", NULL, 1, ANTT__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST, "missing_service_code"},
        {"key-archive", 1, 0, "resolved", "theft", 1, ANTT__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST,
         "invalid_imported_priority"},
        {"key-archive", 1, 5, "resolved", "theft", 1, ANTT__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST,
         "invalid_imported_priority"},
        {"key-archive", 1, 2, "merged", "theft", 1, ANTT__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST,
         "invalid_imported_status"},
        {"key-archive", 1, 2, NULL, "theft", 1, ANTT__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST, "invalid_imported_status"},
        {"key-archive", 1, 2, "resolved", "theft", 0, ANTT__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST,
         "missing_occurred_datetime"},
    };
    long before = ie_reports();
    for (size_t i = 0; i < ANTT_ARRAY_SIZE(bad); i++) {
        Antt__V1__SubmitReport m = ANTT__V1__SUBMIT_REPORT__INIT;
        char key[32];
        snprintf(key, sizeof(key), "imp-bad-%zu", i);
        m.api_key = (char *)bad[i].key;
        m.idempotency_key = key;
        m.description = "Vụ việc";
        m.service_code = (char *)bad[i].service;
        m.has_imported = bad[i].imported >= 0;
        m.imported = bad[i].imported > 0;
        m.has_imported_priority = bad[i].priority != 0;
        m.imported_priority = (uint32_t)bad[i].priority;
        m.imported_status = (char *)bad[i].status;
        m.has_occurred_at_ms = bad[i].occurred;
        m.occurred_at_ms = antt_now_ms() - 86400000LL * 400;
        Antt__V1__SubmitReply *r = s_zmq(&m);
        if ((int)r->status != bad[i].want || r->error_code == NULL || strcmp(r->error_code, bad[i].code) != 0)
            fail_msg("case %zu: status %d %s, want %d %s", i, r->status, r->error_code ? r->error_code : "-",
                     bad[i].want, bad[i].code);
        antt__v1__submit_reply__free_unpacked(r, NULL);
    }
    /* imported = false alone is no import */
    Antt__V1__SubmitReport m = ANTT__V1__SUBMIT_REPORT__INIT;
    m.api_key = "key-app";
    m.idempotency_key = "imp-false";
    m.description = "xe may bi trom";
    m.has_imported = 1;
    m.imported = 0;
    Antt__V1__SubmitReply *r = s_zmq(&m);
    assert_int_equal(r->status, ANTT__V1__SUBMIT_REPLY__STATUS__OK);
    antt__v1__submit_reply__free_unpacked(r, NULL);
    assert_int_equal(ie_reports(), before + 1);
    /* nor over Open311, from anyone */
    json_t *o;
    assert_int_equal(s_post("api_key=key-archive&service_code=fire&description=x&imported_priority=1", &o), 400);
    assert_string_equal(s_str(o, "error_code"), "import_not_supported");
    json_decref(o);
    assert_int_equal(s_post("api_key=key-app&service_code=fire&description=x&imported=true", &o), 400);
    json_decref(o);
    assert_int_equal(ie_reports(), before + 1);

    /* the importer's history: stored as given, pushed as given, no notice */
    m.api_key = "key-archive";
    m.idempotency_key = "imp-ok";
    m.description = "Có người bị chém chảy máu"; /* history: no emergency now */
    m.service_code = "assault";
    m.imported = 1;
    m.has_imported_priority = 1;
    m.imported_priority = 1;
    m.imported_status = "resolved";
    m.has_occurred_at_ms = 1;
    m.occurred_at_ms = antt_now_ms() - 86400000LL * 400;
    r = s_zmq(&m);
    assert_int_equal(r->status, ANTT__V1__SUBMIT_REPLY__STATUS__OK);
    assert_null(r->emergency_notice);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM reports WHERE id = '%s' AND service_code = 'assault' AND imported_priority = 1"
             " AND imported_status = 'resolved' AND emergency_services IS NULL",
             r->report_id);
    assert_int_equal(at_db_long(IE.db, sql), 1);
    ie_seek_t k = {.id = r->report_id};
    assert_true(at_wait_until(ie_seen, &k, 5000));
    assert_true(k.got->has_imported && k.got->imported);
    assert_int_equal(k.got->imported_priority, 1);
    assert_string_equal(k.got->imported_status, "resolved");
    ie_seek_done(&k);
    /* and re-driven from the database the same way */
    snprintf(sql, sizeof(sql), "UPDATE report_queue SET next_attempt_at = now() - interval '1 s' WHERE report_id = '%s'",
             r->report_id);
    at_db_exec(IE.db, sql);
    assert_true(at_wait_until(ie_seen, &k, 15000));
    assert_true(k.got->has_imported && k.got->imported);
    assert_int_equal(k.got->imported_priority, 1);
    assert_string_equal(k.got->imported_status, "resolved");
    ie_seek_done(&k);
    antt__v1__submit_reply__free_unpacked(r, NULL);
}

/* GET requests: the resident's service_code, and the notice while open. */
static void test_get_requests(void **state)
{
    (void)state;
    json_t *o;
    assert_int_equal(s_post("api_key=key-app&service_code=theft&description=M%E1%BA%A5t+xe+m%C3%A1y", &o), 201);
    char *chosen = antt_xstrdup(s_str(o, "service_request_id"));
    json_decref(o);
    assert_int_equal(s_post("api_key=key-app&description=tr%E1%BB%99m+%C4%91i%E1%BB%87n+tho%E1%BA%A1i", &o), 201);
    char *unchosen = antt_xstrdup(s_str(o, "service_request_id"));
    json_decref(o);
    assert_int_equal(s_post("api_key=key-app&description=Ch%C3%A1y+nh%C3%A0+h%E1%BA%BBm+3", &o), 201);
    char *fire = antt_xstrdup(s_str(o, "service_request_id"));
    json_decref(o);
    /* the classifier's decisions, as classification would record them: the
     * chosen theft became robbery P1, the unchosen one theft P3; the fire stays
     * unclassified */
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "INSERT INTO incidents (id, category, priority, status) VALUES"
             " ('00000000-0000-7000-8000-000000000001', 'robbery', 1, 'new'),"
             " ('00000000-0000-7000-8000-000000000002', 'theft', 3, 'new');"
             "INSERT INTO incident_reports (report_id, incident_id) VALUES"
             " ('%s', '00000000-0000-7000-8000-000000000001'), ('%s', '00000000-0000-7000-8000-000000000002')",
             chosen, unchosen);
    at_db_exec(IE.db, sql);
    char path[256], *resp;
    snprintf(path, sizeof(path), "%s/requests/%s.json?api_key=key-app", IE.base, chosen);
    assert_int_equal(at_http("GET", path, NULL, NULL, 0, &resp), 200);
    json_t *d = json_loads(resp, 0, NULL);
    o = json_array_get(d, 0);
    assert_string_equal(s_str(o, "service_code"), "theft");
    /* P1 with no cue in its text: the resident polling learns whom to call */
    assert_non_null(strstr(s_str(o, "service_notice"), "113 (công an)"));
    json_decref(d);
    free(resp);
    snprintf(path, sizeof(path), "%s/requests/%s.json?api_key=key-app", IE.base, unchosen);
    assert_int_equal(at_http("GET", path, NULL, NULL, 0, &resp), 200);
    d = json_loads(resp, 0, NULL);
    o = json_array_get(d, 0);
    assert_string_equal(s_str(o, "service_code"), "theft"); /* none chosen: the incident's */
    assert_true(json_is_null(json_object_get(o, "service_notice")));
    json_decref(d);
    free(resp);
    snprintf(path, sizeof(path), "%s/requests/%s.json?api_key=key-app", IE.base, fire);
    assert_int_equal(at_http("GET", path, NULL, NULL, 0, &resp), 200);
    assert_non_null(strstr(resp, "114 (cứu hỏa)")); /* the POST's notice, until classified */
    free(resp);
    /* the filter reads the same service_code */
    snprintf(path, sizeof(path), "%s/requests.json?api_key=key-app&service_code=robbery", IE.base);
    assert_int_equal(at_http("GET", path, NULL, NULL, 0, &resp), 200);
    assert_null(strstr(resp, chosen));
    free(resp);
    snprintf(path, sizeof(path), "%s/requests.json?api_key=key-app&service_code=theft", IE.base);
    assert_int_equal(at_http("GET", path, NULL, NULL, 0, &resp), 200);
    assert_non_null(strstr(resp, chosen));
    assert_non_null(strstr(resp, unchosen));
    free(resp);
    /* closed: no notice */
    at_db_exec(IE.db, "UPDATE incidents SET status = 'resolved' WHERE id = '00000000-0000-7000-8000-000000000001'");
    snprintf(path, sizeof(path), "%s/requests/%s.json?api_key=key-app", IE.base, chosen);
    assert_int_equal(at_http("GET", path, NULL, NULL, 0, &resp), 200);
    d = json_loads(resp, 0, NULL);
    assert_true(json_is_null(json_object_get(json_array_get(d, 0), "service_notice")));
    json_decref(d);
    free(resp);
    free(chosen);
    free(unchosen);
    free(fire);
}

/* Migration 011 on a database that has data: the schema as before it, rows
 * in every table it touches (reports in several partitions, queued ones),
 * then antt_migrate. Nothing is lost, the old rows read as not imported and
 * without notice, and the plan function keeps its settings and grants. */
static void test_migration_on_data(void **state)
{
    (void)state;
    at_db_exec(IE.db, "DROP DATABASE IF EXISTS t_intake_mig WITH (FORCE)");
    at_db_exec(IE.db, "CREATE DATABASE t_intake_mig");
    char *ci = antt_xasprintf("%s dbname=t_intake_mig", IE.conninfo); /* the last dbname wins */
    PGconn *c = at_db_connect(ci);
    at_db_exec(c, "CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL,"
                  " applied_at timestamptz NOT NULL DEFAULT now())");
    for (int i = 0; i < antt_migrations_count && antt_migrations[i].version < 11; i++) {
        char *sql = antt_xasprintf("BEGIN; %s; INSERT INTO schema_migrations (version, name) VALUES (%d, '%s'); COMMIT",
                                   antt_migrations[i].sql, antt_migrations[i].version, antt_migrations[i].name);
        at_db_exec(c, sql);
        free(sql);
    }
    at_db_exec(c, "INSERT INTO gateways (code, name, api_key_hash) VALUES ('old', 'Old', sha256('k'::bytea));"
                  "INSERT INTO reports (id, received_at, gateway_id, idempotency_key, description, service_code)"
                  " SELECT gen_random_uuid(), now() - g * interval '1 second' + (g % 2) * interval '32 days', 1,"
                  " 'k' || g, 'chay nha', 'fire'"
                  " FROM generate_series(1, 20000) g;"
                  "INSERT INTO report_queue (report_id, received_at, next_attempt_at)"
                  " SELECT id, received_at, now() FROM reports LIMIT 10;"
                  "INSERT INTO incidents (id, category, priority, lat, lon)"
                  " SELECT gen_random_uuid(), 'fire', 2, 10.77, 106.62 FROM generate_series(1, 500)");
    char err[1024];
    uint64_t t0 = antt_mono_ns();
    if (antt_migrate(c, err, sizeof(err)) < 1)
        fail_msg("migration failed: %s", err);
    print_message("migrations from 011 applied in %.0f ms\n", (double)(antt_mono_ns() - t0) / 1e6);
    assert_int_equal(at_db_long(c, "SELECT count(*) FROM reports WHERE imported_status IS NULL"
                                   " AND imported_priority IS NULL AND emergency_services IS NULL"), 20000);
    assert_true(at_db_long(c, "SELECT count(DISTINCT tableoid) FROM reports") > 1);
    assert_int_equal(at_db_long(c, "SELECT count(*) FROM report_queue"), 10);
    assert_int_equal(at_db_long(c, "SELECT count(*) FROM incidents WHERE NOT imported"), 500);
    assert_int_equal(at_db_long(c, "SELECT count(*) FROM gateways WHERE NOT may_import"), 1);
    assert_int_equal(at_db_long(c, "SELECT count(*) FROM pg_proc WHERE proname = 'antt_classify_apply'"
                                   " AND 'jit=off' = ANY(proconfig) AND 'enable_seqscan=off' = ANY(proconfig)"), 1);
    assert_int_equal(at_db_long(c, "SELECT has_function_privilege('antt_classification',"
                                   " 'antt_classify_apply(jsonb,double precision,integer,integer[],text,integer[])',"
                                   " 'EXECUTE')::int + has_function_privilege('antt_intake',"
                                   " 'antt_classify_apply(jsonb,double precision,integer,integer[],text,integer[])',"
                                   " 'EXECUTE')::int * 10"), 1);
    assert_int_equal(at_db_long(c, "SELECT has_column_privilege('antt_classification', 'reports', 'imported_status',"
                                   " 'SELECT')::int + has_column_privilege('antt_classification', 'reports',"
                                   " 'contact_sealed', 'SELECT')::int * 10"), 1);
    PQfinish(c);
    free(ci);
    at_db_exec(IE.db, "DROP DATABASE t_intake_mig WITH (FORCE)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open311_notice),
        cmocka_unit_test(test_zmq_notice),
        cmocka_unit_test(test_import_rights),
        cmocka_unit_test(test_get_requests),
        cmocka_unit_test(test_migration_on_data),
    };
    return cmocka_run_group_tests(tests, s_setup, ie_teardown);
}
