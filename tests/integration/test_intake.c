/* Integration tests of intake: the real antt-intake binary against a real
 * PostgreSQL and real HTTP and ZeroMQ clients. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "antt/v1/report.pb-c.h"
#include "antt_crypto.h"
#include "antt_test.h"
#include "antt_util.h"
#include "intake_env.h"

/* tests */
static void test_services(void **state)
{
    (void)state;
    char *r;
    assert_int_equal(ie_get("services.json", &r), 200);
    json_t *d = json_loads(r, 0, NULL);
    assert_int_equal(json_array_size(d), 16);
    json_decref(d);
    free(r);
    assert_int_equal(ie_get("services/fire.json", &r), 200);
    assert_non_null(strstr(r, "\"service_code\":\"fire\""));
    free(r);
    assert_int_equal(ie_get("services/nope.json", &r), 404);
    free(r);
    assert_int_equal(ie_get("discovery.json", &r), 200);
    free(r);
    assert_int_equal(ie_get("services.xml", &r), 200); /* both formats: test_open311 */
    free(r);
    char url[128];
    snprintf(url, sizeof(url), "%s/services.json", IE.base);
    assert_int_equal(at_http("DELETE", url, NULL, NULL, 0, &r), 405);
    free(r);
}

static void test_create_get_list_token(void **state)
{
    (void)state;
    char *r, *id;
    long before = ie_reports();
    assert_int_equal(ie_post("application/x-www-form-urlencoded",
                            "api_key=key-app&service_code=theft&lat=10.75&long=106.62"
                            "&description=Nh%C3%A0+t%C3%B4i+b%E1%BB%8B+tr%E1%BB%99m+xe+m%C3%A1y"
                            "&address_string=H%E1%BA%BBm+12&media_url=https%3A%2F%2Fex.org%2F1.jpg",
                            &r),
                     201);
    id = ie_id_of(r);
    free(r);
    assert_non_null(id);
    assert_true(antt_uuid_valid(id));
    assert_int_equal(ie_reports(), before + 1);

    ie_seek_t k = {.id = id};
    assert_true(at_wait_until(ie_seen, &k, 5000));
    assert_int_equal(k.got->attempt, 0);
    ie_seek_done(&k);

    char path[256];
    snprintf(path, sizeof(path), "requests/%s.json?api_key=key-app", id);
    assert_int_equal(ie_get(path, &r), 200);
    json_t *d = json_loads(r, 0, NULL);
    json_t *o = json_array_get(d, 0);
    assert_string_equal(json_string_value(json_object_get(o, "description")), "Nhà tôi bị trộm xe máy");
    assert_string_equal(json_string_value(json_object_get(o, "status")), "open");
    assert_string_equal(json_string_value(json_object_get(o, "service_code")), "theft");
    assert_string_equal(json_string_value(json_object_get(o, "media_url")), "https://ex.org/1.jpg");
    json_decref(d);
    free(r);

    /* another gateway cannot see it */
    snprintf(path, sizeof(path), "requests/%s.json?api_key=key-sms", id);
    assert_int_equal(ie_get(path, &r), 404);
    free(r);
    /* without a key: the public view, status only (test_open311) */
    snprintf(path, sizeof(path), "requests/%s.json", id);
    assert_int_equal(ie_get(path, &r), 200);
    assert_null(strstr(r, "description"));
    free(r);

    snprintf(path, sizeof(path), "tokens/%s.json?api_key=key-app", id);
    assert_int_equal(ie_get(path, &r), 200);
    assert_non_null(strstr(r, id));
    free(r);

    snprintf(path, sizeof(path), "requests.json?api_key=key-app&service_request_id=%s", id);
    assert_int_equal(ie_get(path, &r), 200);
    d = json_loads(r, 0, NULL);
    assert_int_equal(json_array_size(d), 1);
    json_decref(d);
    free(r);
    assert_int_equal(ie_get("requests.json?api_key=key-app&service_code=fire,theft&status=open", &r), 200);
    assert_non_null(strstr(r, id));
    free(r);
    assert_int_equal(ie_get("requests.json?api_key=key-app&status=closed", &r), 200);
    assert_null(strstr(r, id));
    free(r);
    assert_int_equal(ie_get("requests.json?api_key=key-app&status=maybe", &r), 400);
    free(r);

    /* JSON body, numbers for coordinates, no service_code */
    assert_int_equal(ie_post("application/json",
                            "{\"api_key\":\"key-app\",\"description\":\"Có người đánh nhau\","
                            "\"lat\":10.8,\"long\":106.6,\"media_url\":[\"https://ex.org/a.png\"]}",
                            &r),
                     201);
    char *id2 = ie_id_of(r);
    free(r);
    assert_non_null(id2);
    assert_string_not_equal(id, id2);
    free(id);
    free(id2);
}

static void test_idempotent_retry(void **state)
{
    (void)state;
    char *r, *a, *b;
    const char *body = "api_key=key-app&idempotency_key=retry-1&service_code=fire&description=chay&lat=10.75&long=106.62";
    assert_int_equal(ie_post("application/x-www-form-urlencoded", body, &r), 201);
    a = ie_id_of(r);
    free(r);
    assert_int_equal(ie_post("application/x-www-form-urlencoded", body, &r), 200);
    b = ie_id_of(r);
    free(r);
    assert_string_equal(a, b);
    assert_int_equal(at_db_long(IE.db, "SELECT count(*) FROM reports WHERE idempotency_key = 'retry-1'"), 1);
    free(a);
    free(b);

    /* the same key from another gateway is another report */
    assert_int_equal(ie_post("application/x-www-form-urlencoded",
                            "api_key=key-sms&idempotency_key=retry-1&service_code=fire&description=chay&lat=10.75&long=106.62", &r),
                     201);
    free(r);
    assert_int_equal(at_db_long(IE.db, "SELECT count(*) FROM reports WHERE idempotency_key = 'retry-1'"), 2);

    /* over ZeroMQ, and twenty concurrent copies of one key from one gateway */
    Antt__V1__SubmitReport m = ANTT__V1__SUBMIT_REPORT__INIT;
    m.api_key = "key-sms";
    m.idempotency_key = "sms-42";
    m.description = "co nguoi trom xe o hem 5";
    Antt__V1__SubmitReply *x = ie_zmq_submit(&m, NULL, 0);
    assert_non_null(x);
    assert_int_equal(x->status, ANTT__V1__SUBMIT_REPLY__STATUS__OK);
    assert_false(x->replayed);
    char *zid = strdup(x->report_id);
    antt__v1__submit_reply__free_unpacked(x, NULL);

    void *socks[20];
    size_t len = antt__v1__submit_report__get_packed_size(&m);
    uint8_t *buf = malloc(len);
    antt__v1__submit_report__pack(&m, buf);
    m.idempotency_key = "sms-43";
    size_t len2 = antt__v1__submit_report__get_packed_size(&m);
    uint8_t *buf2 = malloc(len2);
    antt__v1__submit_report__pack(&m, buf2);
    for (int i = 0; i < 20; i++) {
        socks[i] = zmq_socket(IE.zctx, ZMQ_DEALER);
        int linger = 0, timeout = 10000;
        zmq_setsockopt(socks[i], ZMQ_LINGER, &linger, sizeof(linger));
        zmq_setsockopt(socks[i], ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
        zmq_connect(socks[i], IE.gw_ep);
    }
    for (int i = 0; i < 20; i++)
        zmq_send(socks[i], i < 10 ? buf : buf2, i < 10 ? len : len2, 0);
    char *first43 = NULL;
    for (int i = 0; i < 20; i++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        assert_true(zmq_msg_recv(&msg, socks[i], 0) >= 0);
        Antt__V1__SubmitReply *y = antt__v1__submit_reply__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
        assert_non_null(y);
        assert_int_equal(y->status, ANTT__V1__SUBMIT_REPLY__STATUS__OK);
        if (i < 10) {
            assert_string_equal(y->report_id, zid);
            assert_true(y->replayed);
        } else if (first43 == NULL) {
            first43 = strdup(y->report_id);
        } else {
            assert_string_equal(y->report_id, first43);
        }
        antt__v1__submit_reply__free_unpacked(y, NULL);
        zmq_msg_close(&msg);
        zmq_close(socks[i]);
    }
    assert_int_equal(at_db_long(IE.db, "SELECT count(*) FROM reports WHERE idempotency_key IN ('sms-42', 'sms-43')"), 2);
    free(buf);
    free(buf2);
    free(zid);
    free(first43);
}

typedef struct s_bad {
    const char *ctype;  /* content type */
    const char *body;   /* request body */
    int status;         /* expected HTTP status */
    const char *code;   /* expected error_code */
} s_bad_t;

static void test_rejected_inputs(void **state)
{
    (void)state;
    const char *F = "application/x-www-form-urlencoded", *J = "application/json";
    char long_desc[4100 * 2 + 64];
    strcpy(long_desc, "api_key=key-app&description=");
    for (int i = 0; i < 4001; i++)
        strcat(long_desc, "a");
    char media11[2048] = "api_key=key-app&description=x";
    for (int i = 0; i < 11; i++)
        strcat(media11, "&media_url=https%3A%2F%2Fe.org%2Fa");
    char *huge = malloc(20000);
    strcpy(huge, "api_key=key-app&description=");
    memset(huge + strlen(huge), 'b', 17000);
    huge[28 + 17000] = '\0';
    const s_bad_t bad[] = {
        {F, "description=no+key", 403, "missing_api_key"},
        {F, "api_key=nope&description=x", 403, "invalid_api_key"},
        {F, "api_key=key-app&service_code=aliens&description=x", 404, "unknown_service_code"},
        {F, "api_key=key-app&description=x&lat=abc&long=106.6", 400, "invalid_location"},
        {F, "api_key=key-app&description=x&lat=10.7", 400, "incomplete_location"},
        {F, "api_key=key-app&description=x&lat=91&long=106.6", 400, "invalid_location"},
        {F, "api_key=key-app&description=x&lat=nan&long=106.6", 400, "invalid_location"},
        {F, "api_key=key-app&description=%FF%FE", 400, "invalid_utf8"},
        {F, "api_key=key-app&description=%C0%AF", 400, "invalid_utf8"},
        {F, "api_key=key-app&description=a%00b", 400, "bad_field"},
        {F, "api_key=key-app&description=bell%07", 400, "invalid_utf8"},
        {F, long_desc, 400, "too_long"},
        {F, huge, 413, "too_large"},
        {F, "api_key=key-app&description=x&occurred_datetime=yesterday", 400, "invalid_occurred_datetime"},
        {F, "api_key=key-app&description=x&occurred_datetime=2099-01-01T00:00:00Z", 400, "invalid_occurred_datetime"},
        {F, "api_key=key-app&description=x&media_url=javascript:alert(1)", 400, "invalid_media_url"},
        {F, media11, 400, "too_many_media"},
        {F, "api_key=key-app&description=x&phone=12", 400, "invalid_phone"},
        {F, "api_key=key-app&description=x&email=nobody", 400, "invalid_email"},
        {F, "api_key=key-app&service_code=theft&description=x&area_code=VN-NOWHERE", 400, "unknown_area_code"},
        /* the spec's form: a service_code and a place (lat/long, address_string,
         * address_id; area_code, antt's); the JSON body keeps free text */
        {F, "api_key=key-app&description=x&lat=10.75&long=106.62", 400, "missing_service_code"},
        {F, "api_key=key-app&service_code=theft&description=x", 400, "missing_location"},
        {F, "api_key=key-app&service_code=theft&description=x&address_string=+++", 400, "missing_location"},
        {F, "api_key=key-app&service_code=theft&description=x&address_id=", 400, "missing_location"},
        {F, "api_key=key-app&description=x&area_code=bad%20code", 400, "invalid_area_code"},
        {F, "api_key=key-app&description=+++", 400, "missing_description"},
        {F, "api_key=key-app&description=x&idempotency_key=has%20space", 400, "invalid_idempotency_key"},
        {F, "api_key=key-app&description=%ZZ", 400, "bad_form"},
        {J, "[1,2,3]", 400, "bad_json"},
        {J, "{\"api_key\":\"key-app\",\"description\":", 400, "bad_json"},
        {J, "{\"api_key\":\"key-app\",\"description\":42}", 400, "bad_field"},
        {J, "{\"api_key\":\"key-app\",\"description\":\"x\",\"media_url\":{}}", 400, "bad_field"},
        {J, "{\"api_key\":\"key-app\",\"description\":\"x\",\"description\":\"y\"}", 400, "bad_json"},
    };
    long before = ie_reports();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *r = NULL;
        int st = ie_post(bad[i].ctype, bad[i].body, &r);
        char *code = ie_error_code(r);
        if (st != bad[i].status || code == NULL || strcmp(code, bad[i].code) != 0)
            fail_msg("case %zu (%s): got %d %s, want %d %s", i, bad[i].code, st, r, bad[i].status, bad[i].code);
        free(code);
        free(r);
    }
    /* deep JSON nesting */
    char *deep = malloc(40000);
    size_t o = 0;
    for (int i = 0; i < 5000; i++)
        deep[o++] = '[';
    deep[o] = '\0';
    char *r;
    assert_int_equal(ie_post(J, deep, &r), 400);
    free(r);
    free(deep);
    free(huge);

    /* ZeroMQ: garbage, missing key, unknown service code */
    Antt__V1__SubmitReply *x = ie_zmq_submit(NULL, "\xff\xff\xff garbage", 12);
    assert_non_null(x);
    assert_int_equal(x->status, ANTT__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST);
    antt__v1__submit_reply__free_unpacked(x, NULL);
    Antt__V1__SubmitReport m = ANTT__V1__SUBMIT_REPORT__INIT;
    m.api_key = "key-sms";
    m.description = "x";
    x = ie_zmq_submit(&m, NULL, 0);
    assert_int_equal(x->status, ANTT__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST);
    assert_string_equal(x->error_code, "missing_idempotency_key");
    antt__v1__submit_reply__free_unpacked(x, NULL);
    m.idempotency_key = "z-1";
    m.service_code = "aliens";
    x = ie_zmq_submit(&m, NULL, 0);
    assert_int_equal(x->status, ANTT__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST);
    antt__v1__submit_reply__free_unpacked(x, NULL);
    m.service_code = NULL;
    m.api_key = "wrong";
    x = ie_zmq_submit(&m, NULL, 0);
    assert_int_equal(x->status, ANTT__V1__SUBMIT_REPLY__STATUS__FORBIDDEN);
    antt__v1__submit_reply__free_unpacked(x, NULL);

    assert_int_equal(ie_reports(), before);
    assert_true(at_running(&IE.intake));
}

static void test_rate_limits(void **state)
{
    (void)state;
    char *r;
    int ok = 0, limited = 0;
    for (int i = 0; i < 5; i++) {
        int st = ie_post_text("api_key=key-slow&description=tin+bao", &r);
        if (st == 201)
            ok++;
        if (st == 429) {
            limited++;
            const char *ra = at_http_last_header("Retry-After");
            assert_non_null(ra);
            assert_true(atoi(ra) >= 1);
            char *code = ie_error_code(r);
            assert_string_equal(code, "gateway_rate_limited");
            free(code);
        }
        free(r);
    }
    assert_int_equal(ok, 3);
    assert_int_equal(limited, 2);
    /* another gateway is not affected */
    assert_int_equal(ie_post_text("api_key=key-app&description=van+binh+thuong", &r), 201);
    free(r);
    /* one phone number: burst 5 */
    ok = limited = 0;
    for (int i = 0; i < 7; i++) {
        int st = ie_post_text("api_key=key-app&description=spam&phone=%2B84+900+000+111", &r);
        ok += st == 201;
        limited += st == 429;
        free(r);
    }
    assert_int_equal(ok, 5);
    assert_int_equal(limited, 2);
    /* the same number written another way is the same reporter */
    assert_int_equal(ie_post_text("api_key=key-app&description=spam&phone=0900000111", &r), 429);
    free(r);
}

/* A gateway's retries of a report already stored answer its id and cost
 * the reporter no quota (burst 5): twelve retries, then four new reports
 * still fit; with the quota spent, a retry still gets its id. */
static void test_retry_costs_no_quota(void **state)
{
    (void)state;
    char *r, body[160];
    const char *first = "api_key=key-app&idempotency_key=quota-0&description=mat+xe&phone=0911000222";
    assert_int_equal(ie_post_text(first, &r), 201);
    char *id = ie_id_of(r);
    free(r);
    int same = 0;
    for (int i = 0; i < 12; i++) {
        int st = ie_post_text(first, &r);
        char *again = st == 200 ? ie_id_of(r) : NULL;
        same += again && !strcmp(again, id);
        free(again);
        free(r);
    }
    printf("12 retries of a stored report: %d answered its id\n", same);
    assert_int_equal(same, 12);
    int created = 0;
    for (int i = 1; i <= 5; i++) {
        snprintf(body, sizeof(body), "api_key=key-app&idempotency_key=quota-%d&description=mat+xe&phone=0911000222", i);
        created += ie_post_text(body, &r) == 201;
        free(r);
    }
    printf("then new reports from the same phone: %d of 5 created (burst 5, one used)\n", created);
    assert_int_equal(created, 4);
    /* over quota now: a retry of a stored one still gets its id, a new one 429 */
    assert_int_equal(ie_post_text(first, &r), 200);
    char *again = ie_id_of(r);
    assert_string_equal(again, id);
    free(again);
    free(r);
    assert_int_equal(ie_post_text(    "api_key=key-app&idempotency_key=quota-9&description=mat+xe&phone=0911000222", &r),
                     429);
    char *code = ie_error_code(r);
    assert_string_equal(code, "reporter_rate_limited");
    free(code);
    free(r);
    free(id);
}

static void test_sealed_contact(void **state)
{
    (void)state;
    char *r;
    assert_int_equal(ie_post("application/x-www-form-urlencoded",
                            "api_key=key-app&description=to+giac+ma+tuy&service_code=drugs&address_string=H%E1%BA%BBm+5"
                            "&phone=0987654321&first_name=Canary&last_name=Nguyen&email=canary%40example.org",
                            &r),
                     201);
    char *id = ie_id_of(r);
    free(r);
    /* nowhere in plain text in the database */
    assert_int_equal(at_db_long(IE.db, "SELECT count(*) FROM reports WHERE reports::text ~ '0987654321|987654321|Canary|canary@'"), 0);
    assert_int_equal(at_db_long(IE.db, "SELECT count(*) FROM report_keys WHERE report_keys::text ~ '0987654321|Canary'"), 0);
    assert_int_equal(at_db_long(IE.db, "SELECT count(*) FROM report_queue WHERE report_queue::text ~ '0987654321|Canary'"), 0);
    /* but the dispatchers' secret key opens it */
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT encode(contact_sealed, 'hex'), encode(reporter_hash, 'hex') FROM reports WHERE id = '%s'", id);
    PGresult *res = PQexec(IE.db, sql);
    assert_int_equal(PQntuples(res), 1);
    const char *hex = PQgetvalue(res, 0, 0);
    size_t blen = strlen(hex) / 2;
    uint8_t *box = malloc(blen);
    sodium_hex2bin(box, blen, hex, strlen(hex), NULL, NULL, NULL);
    char *plain;
    size_t plen;
    assert_int_equal(antt_unseal(IE.pk, IE.sk, box, blen, &plain, &plen), 0);
    assert_non_null(strstr(plain, "0987654321"));
    assert_non_null(strstr(plain, "Canary Nguyen"));
    assert_int_equal(strlen(PQgetvalue(res, 0, 1)), 64);
    free(plain);
    free(box);
    PQclear(res);
    /* nor in the service's log (debug level is on) */
    size_t llen;
    char *log = at_read_file(IE.intake.log, &llen);
    assert_non_null(log);
    assert_null(strstr(log, "0987654321"));
    assert_null(strstr(log, "Canary"));
    free(log);
    /* nor in what is pushed to classification */
    ie_seek_t k = {.id = id};
    assert_true(at_wait_until(ie_seen, &k, 5000));
    ie_seek_done(&k);
    free(id);
}

static void test_metrics_promtool(void **state)
{
    (void)state;
    char url[128], *r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", IE.http_port);
    assert_int_equal(at_http("GET", url, NULL, NULL, 0, &r), 200);
    assert_non_null(strstr(r, "antt_intake_replies_total{result=\"accepted\"}"));
    char path[] = "/tmp/antt-metrics-XXXXXX";
    int fd = mkstemp(path);
    assert_true(write(fd, r, strlen(r)) == (ssize_t)strlen(r));
    close(fd);
    free(r);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
    int rc = system(cmd);
    unlink(path);
    assert_int_equal(rc, 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/livez", IE.http_port);
    assert_int_equal(at_http("GET", url, NULL, NULL, 0, NULL), 200);
}

static int s_dead(void *arg)
{
    return !at_running(arg);
}

static void test_crash_after_commit_is_redriven(void **state)
{
    (void)state;
    assert_int_equal(at_stop(&IE.intake, SIGTERM, 10000), 0);
    assert_int_equal(ie_start_intake("ANTT_INTAKE_TEST_CRASH_AFTER_COMMIT=1"), 0);
    /* the gateway sends; intake commits and dies before answering or pushing */
    Antt__V1__SubmitReport m = ANTT__V1__SUBMIT_REPORT__INIT;
    m.api_key = "key-sms";
    m.idempotency_key = "crash-1";
    m.description = "chay nha o hem 9";
    char *media[] = {"https://ex.org/chay,\"1\".jpg"};
    m.n_media_urls = 1;
    m.media_urls = media;
    Antt__V1__Contact contact = ANTT__V1__CONTACT__INIT;
    contact.phone = "0911222333";
    m.contact = &contact;
    void *s = zmq_socket(IE.zctx, ZMQ_DEALER);
    int linger = 5000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_connect(s, IE.gw_ep);
    size_t len = antt__v1__submit_report__get_packed_size(&m);
    uint8_t *buf = malloc(len);
    antt__v1__submit_report__pack(&m, buf);
    zmq_send(s, buf, len, 0);
    free(buf);
    assert_true(at_wait_until(s_dead, &IE.intake, 10000));
    zmq_close(s);
    assert_true(WIFSIGNALED(IE.intake.status) && WTERMSIG(IE.intake.status) == SIGKILL);
    assert_int_equal(at_db_long(IE.db, "SELECT count(*) FROM reports WHERE idempotency_key = 'crash-1'"), 1);
    assert_int_equal(at_db_long(IE.db, "SELECT count(*) FROM report_queue q JOIN reports r ON r.id = q.report_id"
                                      " WHERE r.idempotency_key = 'crash-1'"), 1);
    PGresult *res = PQexec(IE.db, "SELECT id FROM reports WHERE idempotency_key = 'crash-1'");
    char *id = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);

    /* back up: the re-drive pushes it to classification */
    assert_int_equal(ie_start_intake(NULL), 0);
    ie_seek_t k = {.id = id};
    assert_true(at_wait_until(ie_seen, &k, 10000));
    assert_true(k.got->attempt >= 1);
    /* re-driven from the database with what the fast path would have sent */
    assert_int_equal(k.got->n_media_urls, 1);
    assert_string_equal(k.got->media_urls[0], "https://ex.org/chay,\"1\".jpg");
    assert_true(k.got->contact_given);
    ie_seek_done(&k);
    /* and the gateway's retry gets the same id, nothing new */
    Antt__V1__SubmitReply *x = ie_zmq_submit(&m, NULL, 0);
    assert_non_null(x);
    assert_int_equal(x->status, ANTT__V1__SUBMIT_REPLY__STATUS__OK);
    assert_string_equal(x->report_id, id);
    assert_true(x->replayed);
    antt__v1__submit_reply__free_unpacked(x, NULL);
    assert_int_equal(at_db_long(IE.db, "SELECT count(*) FROM reports WHERE idempotency_key = 'crash-1'"), 1);
    free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_create_get_list_token),
        cmocka_unit_test(test_idempotent_retry),
        cmocka_unit_test(test_rejected_inputs),
        cmocka_unit_test(test_rate_limits),
        cmocka_unit_test(test_retry_costs_no_quota),
        cmocka_unit_test(test_sealed_contact),
        cmocka_unit_test(test_metrics_promtool),
        cmocka_unit_test(test_crash_after_commit_is_redriven),
    };
    return cmocka_run_group_tests(tests, ie_setup, ie_teardown);
}
