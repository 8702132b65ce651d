/* Open311 on the whole stack (intake, a classification worker,
 * notification and aggregation, CURVE on, a real PostgreSQL): what the
 * service definitions' answers do after intake stored them. An answer that
 * someone is hurt makes the incident P1 (on the fast path and the
 * re-drive); the dispatcher sees the answers and the resident's follow-ups
 * (triage SHOW over ZeroMQ and HTTP), never the contact; and FixMyStreet's
 * Open311 client (tests/fms/fms_client.pl: its requests, with its CPAN
 * modules) goes the round trip: services, a definition, a POST with
 * attributes, the request read back without and with its key, a follow-up,
 * resolution through triage, and the update in servicerequestupdates.xml. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "antt_crypto.h"
#include "at_desk.h"

#define F_WARD "DESK-HCM-BTA-BTD" /* owns 10.760-10.790, 106.612-106.630 */
#define F_DISTRICT "DESK-HCM-BTA"  /* and the reports without a place */

static struct {
    char *conninfo;
    PGconn *db;
    at_stack_t st;
    at_desk_t d;
    char base[96]; /* http://127.0.0.1:port/open311/v2/ */
} F;

static int s_setup(void **state)
{
    (void)state;
    if (antt_crypto_init() != 0)
        return -1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    F.conninfo = at_db_create("t_open311_flow");
    F.db = at_db_connect(F.conninfo);
    at_db_exec(F.db, "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst) VALUES"
                     " ('app', 'App', sha256('key-app'::bytea), 1000, 1000),"
                     " ('fms', 'FixMyStreet', sha256('key-fms'::bytea), 1000, 1000)");
    at_db_exec(F.db, "INSERT INTO dispatchers (name, desk_code, token_hash) VALUES"
                     " ('ward', '" F_WARD "', sha256('tok-ward')), ('district', '" F_DISTRICT "', sha256('tok-district'))");
    at_stack_init(&F.st, F.conninfo);
    if (at_stack_start_all(&F.st) != 0)
        return -1;
    snprintf(F.base, sizeof(F.base), "http://127.0.0.1:%d/open311/v2/", F.st.port[AT_INTAKE]);
    const char *topics[] = {"desk." F_WARD ".", NULL};
    return at_desk_open(&F.d, &F.st, F.db, "key-app", topics, "VN-HCM-BTA-BTD", F_WARD);
}

static int s_teardown(void **state)
{
    (void)state;
    at_desk_close(&F.d);
    at_stack_stop(&F.st);
    at_stack_free(&F.st);
    PQfinish(F.db);
    free(F.conninfo);
    curl_global_cleanup();
    return 0;
}

/* POSTs the spec's form to requests.json; the new request's id (malloc'd) */
static char *s_post_form(const char *body)
{
    char url[160], *resp = NULL;
    snprintf(url, sizeof(url), "%srequests.json", F.base);
    int st = at_http("POST", url, NULL, body, strlen(body), &resp);
    if (st != 201)
        fail_msg("POST requests.json: %d %s", st, resp ? resp : "");
    json_t *j = json_loads(resp, 0, NULL);
    char *id = antt_xstrdup(json_string_value(json_object_get(json_array_get(j, 0), "service_request_id")));
    json_decref(j);
    free(resp);
    return id;
}

typedef struct s_link {
    const char *report;
    char *incident;
} s_link_t;

static int s_linked(void *arg)
{
    s_link_t *l = arg;
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT incident_id FROM incident_reports WHERE report_id = '%s'", l->report);
    PGresult *r = PQexec(F.db, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        l->incident = antt_xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return l->incident != NULL;
}

/* the incident of report (malloc'd), waited for (20 s) */
static char *s_incident_of(const char *report)
{
    s_link_t l = {report, NULL};
    assert_true(at_wait_until(s_linked, &l, 20000));
    return l.incident;
}

static long s_priority(const char *report)
{
    return at_desk_count(&F.d, "SELECT priority FROM incident_reports WHERE report_id = '%s'", report);
}

/* 1 when the report's reasons start with the resident's answer */
static int s_reason_first(const char *report, const char *reason)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM incident_reports WHERE report_id = '%s' AND reasons->>0 = '%s'",
             report, reason);
    return at_db_long(F.db, sql) == 1;
}

/* A crash without "hurt" in its words: the answer decides P1. The same text
 * with "no" stays what the text model says. */
static void test_answer_makes_p1(void **state)
{
    (void)state;
    const char *text = "description=xe+may+va+o+to+quet+nhau+o+nga+tu%2C+xe+bi+tray+son&service_code=traffic"
                       "&api_key=key-app";
    char body[512];
    /* far apart, so that neither is the other's duplicate */
    snprintf(body, sizeof(body), "%s&lat=10.7610&long=106.6130&attribute[injured]=no", text);
    char *calm = s_post_form(body);
    snprintf(body, sizeof(body), "%s&lat=10.7890&long=106.6290&attribute[injured]=yes&attribute[plates]=59A-123.45",
             text);
    char *hurt = s_post_form(body);
    free(s_incident_of(calm));
    free(s_incident_of(hurt));
    long pc = s_priority(calm), ph = s_priority(hurt);
    printf("the same crash: P%ld when nobody is hurt, P%ld when the resident answers injured=yes\n", pc, ph);
    assert_true(pc > 1);
    assert_int_equal(ph, 1);
    assert_true(s_reason_first(hurt, "người báo: có người bị thương"));
    assert_int_equal(at_desk_count(&F.d, "SELECT i.priority FROM incidents i JOIN incident_reports l"
                                         " ON l.incident_id = i.id WHERE l.report_id = '%s'", hurt),
                     1);
    free(calm);
    free(hurt);
}

/* With no worker the report waits in the queue; the re-drive brings it to
 * the worker that starts later with its answers (migration 015's view). */
static void test_answer_survives_redrive(void **state)
{
    (void)state;
    assert_int_equal(at_stop(&F.st.svc[AT_CLASSIFICATION], SIGTERM, 10000), 0);
    char *id = s_post_form("api_key=key-app&service_code=fire&lat=10.7720&long=106.6210"
                           "&description=bao+chay+tu+dong+keu+o+chung+cu&attribute[trapped]=yes");
    assert_int_equal(at_desk_count(&F.d, "SELECT count(*) FROM incident_reports WHERE report_id = '%s'", id), 0);
    assert_int_equal(at_stack_start(&F.st, AT_CLASSIFICATION, 20000), 0);
    free(s_incident_of(id));
    printf("re-driven after the worker's restart: P%ld\n", s_priority(id));
    assert_int_equal(s_priority(id), 1);
    assert_true(s_reason_first(id, "người báo: có người bị mắc kẹt"));
    free(id);
}

/* POST servicerequestupdates, as a gateway posts a resident's follow-up */
static void s_follow_up(const char *id, const char *text)
{
    char url[160], *resp = NULL;
    snprintf(url, sizeof(url), "%sservicerequestupdates.json", F.base);
    char *body = antt_xasprintf("api_key=key-app&service_request_id=%s&description=%s&email=canary%%40example.org"
                                "&first_name=Canary",
                                id, text);
    assert_int_equal(at_http("POST", url, NULL, body, strlen(body), &resp), 201);
    free(resp);
    free(body);
}

/* The dispatcher's SHOW: each report's answers (question and answer in
 * Vietnamese) and its follow-ups in order; the contact nowhere. */
static void test_dispatcher_sees_answers(void **state)
{
    (void)state;
    char *rid = s_post_form("api_key=key-app&service_code=domestic_violence&lat=10.7730&long=106.6215"
                            "&description=nha+ben+canh+danh+nhau+to+tieng&attribute[children]=yes"
                            "&attribute[in_danger]=yes&phone=0912777888&first_name=Canary");
    char *id = s_incident_of(rid);
    s_follow_up(rid, "ong+ay+van+dang+dap+pha+do");
    s_follow_up(rid, "da+nghe+tieng+tre+khoc%0D%0Amoi+nguoi+dang+toi");
    /* over ZeroMQ, as the console reads it */
    Antt__V1__TriageCommand c = ANTT__V1__TRIAGE_COMMAND__INIT;
    c.has_action = 1;
    c.action = ANTT__V1__TRIAGE_ACTION__ACTION_SHOW;
    c.incident_id = id;
    Antt__V1__TriageReply *r = at_desk_triage(&F.d, "tok-ward", &c);
    assert_non_null(r);
    assert_int_equal(r->status, ANTT__V1__TRIAGE_REPLY__STATUS__OK);
    const Antt__V1__ReportText *t = NULL;
    for (size_t i = 0; i < r->n_reports; i++)
        if (!strcmp(r->reports[i]->report_id, rid))
            t = r->reports[i];
    assert_non_null(t);
    assert_int_equal(t->n_answers, 2);
    assert_string_equal(t->answers[0]->code, "in_danger"); /* the questions' order */
    assert_string_equal(t->answers[0]->question, "Có ai đang gặp nguy hiểm ngay bây giờ không?");
    assert_string_equal(t->answers[0]->answer, "Có");
    assert_string_equal(t->answers[1]->question, "Có trẻ em ở đó không?");
    assert_int_equal(t->n_follow_ups, 2);
    assert_string_equal(t->follow_ups[0]->description, "ong ay van dang dap pha do");
    assert_string_equal(t->follow_ups[1]->description, "da nghe tieng tre khoc\r\nmoi nguoi dang toi");
    assert_true(t->follow_ups[0]->at_ms <= t->follow_ups[1]->at_ms);
    size_t len = antt__v1__triage_reply__get_packed_size(r);
    uint8_t *buf = antt_xmalloc(len);
    antt__v1__triage_reply__pack(r, buf);
    assert_null(memmem(buf, len, "912777888", 9));
    assert_null(memmem(buf, len, "Canary", 6));
    assert_null(memmem(buf, len, "canary@", 7));
    free(buf);
    antt__v1__triage_reply__free_unpacked(r, NULL);
    /* over HTTP */
    char *path = antt_xasprintf("/api/v1/incidents/%s/show", id);
    json_t *j = NULL;
    assert_int_equal(at_desk_http(&F.d, "tok-ward", "GET", path, NULL, &j), 200);
    json_t *rep = json_array_get(json_object_get(j, "reports"), 0);
    json_t *a = json_array_get(json_object_get(rep, "answers"), 0);
    assert_string_equal(json_string_value(json_object_get(a, "question")), "Có ai đang gặp nguy hiểm ngay bây giờ không?");
    assert_string_equal(json_string_value(json_object_get(a, "answer")), "Có");
    assert_int_equal(json_array_size(json_object_get(rep, "follow_ups")), 2);
    char *dump = json_dumps(j, JSON_COMPACT);
    assert_null(strstr(dump, "912777888"));
    assert_null(strstr(dump, "Canary"));
    assert_null(strstr(dump, "canary@"));
    free(dump);
    json_decref(j);
    /* another desk learns nothing */
    assert_int_equal(at_desk_http(&F.d, "tok-nobody", "GET", path, NULL, NULL), 403);
    printf("SHOW: 2 answers in the questions' order, 2 follow-ups in order, no contact (ZeroMQ and HTTP)\n");
    free(path);
    free(id);
    free(rid);
}

/* Runs the client with args; its output (malloc'd); fails on its failure. */
static char *s_fms(const char *args)
{
    char out[256], cmd[1024];
    snprintf(out, sizeof(out), "%s/tests/fms_client.out", ANTT_BUILD_DIR);
    snprintf(cmd, sizeof(cmd), "perl %s/tests/fms/fms_client.pl %s key-fms %s > %s 2>&1", ANTT_SOURCE_DIR, F.base,
             args, out);
    int rc = system(cmd);
    char *text = at_read_file(out, NULL);
    printf("%s", text ? text : "");
    if (rc != 0)
        fail_msg("fms_client.pl %s failed", args);
    return text;
}

static void test_fixmystreet_client(void **state)
{
    (void)state;
    char *out = s_fms("submit");
    const char *p = strstr(out, "service_request_id=");
    assert_non_null(p);
    char rid[64];
    assert_int_equal(sscanf(p, "service_request_id=%63[0-9a-f-]", rid), 1);
    free(out);
    /* no pin, no postcode: the district desk has it, P1 from the answer */
    char *id = s_incident_of(rid);
    assert_int_equal(s_priority(rid), 1);
    assert_int_equal(at_desk_count(&F.d, "SELECT count(*) FROM reports WHERE id = '%s' AND attributes->>'injured' = 'yes'"
                                         " AND address_id = '#NOTPINPOINTED#' AND description ~ E'\\r\\n'",
                                   rid),
                     1);
    /* acknowledged and resolved by the desk */
    char *path = antt_xasprintf("/api/v1/incidents/%s/acknowledge", id);
    assert_int_equal(at_desk_http(&F.d, "tok-district", "POST", path, "{}", NULL), 200);
    free(path);
    path = antt_xasprintf("/api/v1/incidents/%s/resolve", id);
    assert_int_equal(at_desk_http(&F.d, "tok-district", "POST", path, "{\"outcome\":\"handled\",\"note\":\"đã xử lý\"}", NULL), 200);
    free(path);
    char args[128];
    snprintf(args, sizeof(args), "updates %s", rid);
    out = s_fms(args);
    /* investigating, then closed: FixMyStreet's "fixed - council" (closed
     * without extended statuses), "closed" with them; the second pass
     * creates nothing (update_id is stable) */
    assert_non_null(strstr(out, "status=investigating state=investigating"));
    assert_non_null(strstr(out, "status=closed state=fixed - council extended=closed"));
    assert_non_null(strstr(out, "pass=1 created=2"));
    assert_non_null(strstr(out, "pass=2 created=0"));
    free(out);
    free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_makes_p1),
        cmocka_unit_test(test_answer_survives_redrive),
        cmocka_unit_test(test_dispatcher_sees_answers),
        cmocka_unit_test(test_fixmystreet_client),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
