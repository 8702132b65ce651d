/* Integration tests of classification: real antt-intake and two real
 * antt-classification workers against a real PostgreSQL (with the demo
 * areas), reports submitted over Open311 HTTP, the classified incidents read
 * from the database and from the workers' PUB socket. */
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
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "antt/v1/incident.pb-c.h"
#include "antt_crypto.h"
#include "antt_test.h"
#include "at_post.h"
#include "antt_util.h"

#define S_WORKERS 2

typedef struct s_env {
    char *conninfo;          /* test database */
    PGconn *db;              /* for assertions */
    int http_port;           /* intake HTTP */
    int worker_port[S_WORKERS]; /* workers' HTTP */
    char url[96];            /* Open311 requests URL */
    char *envv[24];          /* environment shared by the children */
    at_proc_t intake;        /* the services */
    at_proc_t worker[S_WORKERS];
    void *zctx;              /* ZeroMQ */
    void *sub;               /* stands in for notification: bound SUB */
    void *mon;               /* monitor of sub: workers' handshakes */
    int handshakes;          /* seen on mon */
    char model[256];         /* the workers' model file (a copy) */
} s_env_t;

static s_env_t E;

static int s_copy(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    int rc = in && out ? 0 : -1;
    char buf[65536];
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

static void s_env_add(const char *fmt, const char *v)
{
    at_env_add(E.envv, sizeof(E.envv) / sizeof(E.envv[0]), fmt, v);
}

/* 1 once every worker's PUB has completed its handshake with our SUB (a PUB
 * drops what it sends before that: the slow joiner of the ZeroMQ guide) */
static int s_subscribed(void *arg)
{
    (void)arg;
    E.handshakes += at_zmq_handshakes(E.mon);
    return E.handshakes >= S_WORKERS;
}

static int s_start_worker(int k)
{
    char *env[32], port[64];
    int i = 0;
    for (; E.envv[i]; i++)
        env[i] = E.envv[i];
    snprintf(port, sizeof(port), "ANTT_CLASSIFICATION_HTTP=127.0.0.1:%d", E.worker_port[k]);
    env[i++] = port;
    env[i] = NULL;
    if (at_spawn(&E.worker[k], "classification", env) != 0)
        return -1;
    return at_wait_proc_ready(&E.worker[k], E.worker_port[k], 20000);
}

/* Submits a report over Open311; returns the report id (malloc'd) or NULL. */
static char *s_submit(const char *fields)
{
    char *body = antt_xasprintf("api_key=key-app&%s", fields);
    char *resp = NULL, *id = NULL;
    int st = at_post_report(E.url, NULL, body, &resp);
    if (st == 201) {
        json_t *j = json_loads(resp, 0, NULL);
        json_t *o = j ? json_array_get(j, 0) : NULL;
        const char *s = o ? json_string_value(json_object_get(o, "service_request_id")) : NULL;
        id = s ? antt_xstrdup(s) : NULL;
        json_decref(j);
    } else {
        fprintf(stderr, "submit %s -> %d %s\n", fields, st, resp ? resp : "");
    }
    free(resp);
    free(body);
    return id;
}

static const char *s_wait_report;
static int s_classified(void *arg)
{
    (void)arg;
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM incident_reports WHERE report_id = '%s'", s_wait_report);
    return at_db_long(E.db, sql) == 1;
}

/* Submits and waits until the report is recorded by a worker. */
static char *s_submit_classified(const char *fields)
{
    char *id = s_submit(fields);
    assert_non_null(id);
    s_wait_report = id;
    assert_true(at_wait_until(s_classified, NULL, 15000));
    return id;
}

/* One column of the incident of a report, as text (malloc'd; "" for NULL). */
static char *s_incident(const char *report_id, const char *column)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT COALESCE(i.%s::text, '') FROM incidents i JOIN incident_reports r ON r.incident_id = i.id"
             " WHERE r.report_id = '%s'",
             column, report_id);
    PGresult *res = PQexec(E.db, sql);
    char *v = antt_xstrdup(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 ? PQgetvalue(res, 0, 0)
                                                                                        : "(none)");
    PQclear(res);
    return v;
}

static void s_expect(const char *report_id, const char *column, const char *want)
{
    char *v = s_incident(report_id, column);
    if (strcmp(v, want) != 0)
        fail_msg("report %s: incident %s is \"%s\", expected \"%s\"", report_id, column, v, want);
    free(v);
}

/* Waits for the ClassifiedIncident of report_id on the SUB socket. */
static Antt__V1__ClassifiedIncident *s_published(const char *report_id, int ms)
{
    uint64_t deadline = antt_mono_ns() + (uint64_t)ms * 1000000;
    while (antt_mono_ns() < deadline) {
        zmq_pollitem_t pi = {E.sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&pi, 1, 50) <= 0)
            continue;
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        zmq_msg_init(&body);
        zmq_msg_recv(&topic, E.sub, 0);
        int more = zmq_msg_more(&topic);
        if (more)
            zmq_msg_recv(&body, E.sub, 0);
        Antt__V1__ClassifiedIncident *m =
            more ? antt__v1__classified_incident__unpack(NULL, zmq_msg_size(&body), zmq_msg_data(&body)) : NULL;
        int topic_ok = zmq_msg_size(&topic) == strlen("incident.classified") &&
                       memcmp(zmq_msg_data(&topic), "incident.classified", zmq_msg_size(&topic)) == 0;
        zmq_msg_close(&topic);
        zmq_msg_close(&body);
        assert_true(topic_ok);
        assert_non_null(m);
        if (m->report_id && !strcmp(m->report_id, report_id))
            return m;
        antt__v1__classified_incident__free_unpacked(m, NULL);
    }
    return NULL;
}

static int s_setup(void **state)
{
    (void)state;
    if (antt_crypto_init() != 0)
        return -1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    E.conninfo = at_db_create("t_classification");
    E.db = at_db_connect(E.conninfo);
    at_db_exec(E.db, "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst) VALUES"
                     " ('app', 'App', sha256('key-app'::bytea), 1000, 1000)");
    char ep[64];
    E.http_port = at_free_port();
    for (int k = 0; k < S_WORKERS; k++)
        E.worker_port[k] = at_free_port();
    snprintf(E.url, sizeof(E.url), "http://127.0.0.1:%d/open311/v2/requests.json", E.http_port);
    char port[16];
    snprintf(port, sizeof(port), "%d", E.http_port);
    s_env_add("ANTT_DB_CONNINFO=%s", E.conninfo);
    s_env_add("ANTT_INTAKE_HTTP=127.0.0.1:%s", port);
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", at_free_port());
    s_env_add("ANTT_INTAKE_GATEWAY_ENDPOINT=%s", ep);
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", at_free_port());
    s_env_add("ANTT_INTAKE_PUSH_ENDPOINT=%s", ep);
    at_env_intake_keys(E.envv, sizeof(E.envv) / sizeof(E.envv[0]), NULL, NULL);
    s_env_add("ANTT_INTAKE_REPORTER_PER_HOUR=%s", "100000");
    s_env_add("ANTT_INTAKE_REPORTER_BURST=%s", "100000");
    s_env_add("ANTT_INTAKE_REDRIVE_INTERVAL_MS=%s", "200");
    s_env_add("ANTT_INTAKE_REDRIVE_AFTER_MS=%s", "1000");
    s_env_add("ANTT_CLASSIFICATION_UNLOCATED_DESK=%s", "DESK-HCM-BTA");
    s_env_add("ANTT_CLASSIFICATION_DUPLICATE_RADIUS_M=%s", "150");
    /* two lanes: a category's duplicates are found as with one */
    s_env_add("ANTT_CLASSIFICATION_LANES=%s", "2");
    s_env_add("ANTT_LOG_LEVEL=%s", "debug");
    /* the workers read a copy of the build's model, which the reload test replaces */
    snprintf(E.model, sizeof(E.model), ANTT_BUILD_DIR "/tests/classify-%d.model", (int)getpid());
    if (s_copy(ANTT_BUILD_DIR "/classify.model", E.model) != 0)
        return -1;
    s_env_add("ANTT_CLASSIFICATION_MODEL=%s", E.model);

    /* the test binds the SUB socket the workers' PUB connects to */
    E.zctx = zmq_ctx_new();
    E.sub = zmq_socket(E.zctx, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(E.sub, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(E.sub, ZMQ_SUBSCRIBE, "incident.classified", strlen("incident.classified"));
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", at_free_port());
    E.mon = at_zmq_monitor(E.zctx, E.sub, "inproc://sub-monitor");
    if (zmq_bind(E.sub, ep) != 0)
        return -1;
    s_env_add("ANTT_CLASSIFICATION_PUBLISH_ENDPOINTS=%s", ep);

    char *env[24];
    int i = 0;
    for (; E.envv[i]; i++)
        env[i] = E.envv[i];
    env[i] = NULL;
    if (at_spawn(&E.intake, "intake", env) != 0 || at_wait_proc_ready(&E.intake, E.http_port, 20000) != 0)
        return -1;
    for (int k = 0; k < S_WORKERS; k++)
        if (s_start_worker(k) != 0)
            return -1;
    if (!at_wait_until(s_subscribed, NULL, 10000))
        return -1;
    /* The handshake is not the subscription: our SUB sends it when its own
     * thread next touches the socket, and each PUB applies it when its loop
     * next runs. Publish until several messages in a row arrive. */
    uint64_t deadline = antt_mono_ns() + 15000000000ull;
    for (int ok = 0; ok < 4;) {
        if (antt_mono_ns() > deadline)
            return -1;
        char *id = s_submit("description=warm-up&area_code=VN-HCM");
        if (id == NULL)
            return -1;
        Antt__V1__ClassifiedIncident *m = s_published(id, 500);
        ok = m ? ok + 1 : 0;
        if (m)
            antt__v1__classified_incident__free_unpacked(m, NULL);
        free(id);
    }
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    int rc = 0;
    for (int k = 0; k < S_WORKERS; k++)
        if (E.worker[k].pid)
            rc |= at_stop(&E.worker[k], SIGTERM, 10000);
    rc |= at_stop(&E.intake, SIGTERM, 10000);
    zmq_socket_monitor(E.sub, NULL, 0);
    zmq_close(E.mon);
    zmq_close(E.sub);
    zmq_ctx_term(E.zctx);
    PQfinish(E.db);
    unlink(E.model);
    return rc;
}

/* Coordinates inside Bình Trị Đông (106.612-106.630, 10.760-10.790): the
 * incident gets the deepest area (a khu phố) and the ward's desk. */
static void test_routes_by_coordinates(void **state)
{
    (void)state;
    char *id = s_submit_classified(
        "description=Nh%C3%A0%20t%C3%B4i%20b%E1%BB%8B%20tr%E1%BB%99m%20xe%20m%C3%A1y%20t%E1%BB%91i%20qua"
        "&lat=10.7800&long=106.6250");
    s_expect(id, "category", "theft");
    s_expect(id, "priority", "3");
    s_expect(id, "area_code", "VN-HCM-BTA-BTD-KP2");
    s_expect(id, "desk_code", "DESK-HCM-BTA-BTD");
    s_expect(id, "location_source", "coordinates");
    s_expect(id, "report_count", "1");
    Antt__V1__ClassifiedIncident *m = s_published(id, 5000);
    assert_non_null(m);
    assert_true(m->new_incident);
    assert_string_equal(m->category, "theft");
    assert_int_equal(m->priority, ANTT__V1__PRIORITY__PRIORITY_P3);
    assert_string_equal(m->desk_code, "DESK-HCM-BTA-BTD");
    assert_true(m->n_reasons > 0);
    assert_true(m->ack_deadline_ms > m->created_at_ms);
    antt__v1__classified_incident__free_unpacked(m, NULL);
    /* one event, and the report left the queue */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM incident_events e JOIN incident_reports r ON r.incident_id = e.incident_id"
             " WHERE r.report_id = '%s' AND e.kind = 'created'",
             id);
    assert_int_equal(at_db_long(E.db, sql), 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM report_queue WHERE report_id = '%s'", id);
    assert_int_equal(at_db_long(E.db, sql), 0);
    free(id);
}

/* An area code wins over coordinates; an address names a ward; no location
 * at all is "unknown", routed to the configured desk. */
static void test_routes_by_area_code_address_and_unknown(void **state)
{
    (void)state;
    char *a = s_submit_classified("description=bi%20giat%20dien%20thoai&area_code=VN-HCM-BTA-AL"
                                  "&lat=10.7800&long=106.6250");
    s_expect(a, "area_code", "VN-HCM-BTA-AL");
    s_expect(a, "desk_code", "DESK-HCM-BTA-AL");
    s_expect(a, "location_source", "area_code");
    s_expect(a, "category", "robbery");
    char *b = s_submit_classified("description=co%20nguoi%20la%20kha%20nghi&address_string="
                                  "12%20%C4%91%C6%B0%E1%BB%9Dng%20s%E1%BB%91%207%2C%20P.%20B%C3%ACnh%20Tr%E1%BB%8B"
                                  "%20%C4%90%C3%B4ng%20A");
    s_expect(b, "area_code", "VN-HCM-BTA-BTDA");
    s_expect(b, "desk_code", "DESK-HCM-BTA-BTDA");
    s_expect(b, "location_source", "address");
    char *c = s_submit_classified("description=quan%20karaoke%20hat%20rat%20to%20moi%20dem");
    s_expect(c, "area_code", "");
    s_expect(c, "desk_code", "DESK-HCM-BTA");
    s_expect(c, "location_source", "unknown");
    s_expect(c, "category", "public_order");
    /* coordinates outside every boundary are unknown too, not an error */
    char *d = s_submit_classified("description=chay%20nha&lat=21.0&long=105.8");
    s_expect(d, "location_source", "unknown");
    free(a);
    free(b);
    free(c);
    free(d);
}

/* Three reports of one fire within 150 m join one incident; the same
 * category 2 km away, and another category at the same place, do not. */
static void test_duplicates_join_one_incident(void **state)
{
    (void)state;
    const char *fire = "description=Ch%C3%A1y%20nh%C3%A0%20%E1%BB%9F%20h%E1%BA%BBm%2012%2C%20l%E1%BB%ADa"
                       "%20b%E1%BB%91c%20cao";
    char f[512];
    snprintf(f, sizeof(f), "%s&lat=10.7400&long=106.6100", fire);
    char *r1 = s_submit_classified(f);
    snprintf(f, sizeof(f), "%s&lat=10.7404&long=106.6102", fire); /* ~50 m */
    char *r2 = s_submit_classified(f);
    snprintf(f, sizeof(f), "description=dang%%20chay%%20lon%%2C%%20khoi%%20den%%20boc%%20len&lat=10.7398&long=106.6097");
    char *r3 = s_submit_classified(f);
    snprintf(f, sizeof(f), "%s&lat=10.7580&long=106.6100", fire); /* ~2 km north */
    char *far = s_submit_classified(f);
    char *theft = s_submit_classified("description=bi%20trom%20xe%20may&lat=10.7400&long=106.6100");

    char *i1 = s_incident(r1, "id"), *i2 = s_incident(r2, "id"), *i3 = s_incident(r3, "id");
    char *ifar = s_incident(far, "id"), *ith = s_incident(theft, "id");
    assert_string_equal(i1, i2);
    assert_string_equal(i1, i3);
    assert_string_not_equal(i1, ifar);
    assert_string_not_equal(i1, ith);
    s_expect(r1, "category", "fire");
    s_expect(r1, "priority", "1");
    s_expect(r1, "report_count", "3");
    s_expect(far, "report_count", "1");
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM incident_events WHERE incident_id = '%s'"
             " AND kind = 'report_joined'", i1);
    assert_int_equal(at_db_long(E.db, sql), 2);
    /* the third report's message says it joined, with the count */
    Antt__V1__ClassifiedIncident *m = s_published(r3, 5000);
    assert_non_null(m);
    assert_false(m->new_incident);
    assert_string_equal(m->incident_id, i1);
    assert_int_equal(m->report_count, 3);
    antt__v1__classified_incident__free_unpacked(m, NULL);
    free(i1), free(i2), free(i3), free(ifar), free(ith);
    free(r1), free(r2), free(r3), free(far), free(theft);
}

static const char *s_batch_ids[8];
static int s_nbatch;
static int s_batch_classified(void *arg)
{
    (void)arg;
    for (int i = 0; i < s_nbatch; i++) {
        s_wait_report = s_batch_ids[i];
        if (!s_classified(NULL))
            return 0;
    }
    return 1;
}

/* Reports of one event sent at once, so that they meet in one batch or in
 * two workers' concurrent batches: still one incident. */
static void test_duplicates_at_once_join_one_incident(void **state)
{
    (void)state;
    s_nbatch = 6;
    for (int i = 0; i < s_nbatch; i++) {
        char f[256];
        snprintf(f, sizeof(f), "description=co%%20nguoi%%20ban%%20ma%%20tuy%%20so%%20%d&lat=10.%04d&long=106.5%03d", i,
                 7700 + i % 3, 800 + i % 2); /* within ~30 m of each other */
        s_batch_ids[i] = s_submit(f);
        assert_non_null(s_batch_ids[i]);
    }
    assert_true(at_wait_until(s_batch_classified, NULL, 15000));
    char *first = s_incident(s_batch_ids[0], "id");
    for (int i = 1; i < s_nbatch; i++) {
        char *other = s_incident(s_batch_ids[i], "id");
        assert_string_equal(first, other);
        free(other);
    }
    s_expect(s_batch_ids[0], "report_count", "6");
    s_expect(s_batch_ids[0], "version", "6");
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM incident_events WHERE incident_id = '%s'", first);
    assert_int_equal(at_db_long(E.db, sql), 6);
    free(first);
    for (int i = 0; i < s_nbatch; i++)
        free((char *)s_batch_ids[i]);
}

/* antt_classify_apply() directly, with what a batch can hold: a report and
 * its duplicate (lead) in one batch, the same report twice, a report that
 * joins an incident recorded before. Rows come back in the items' order. */
static void test_apply_batch_cases(void **state)
{
    (void)state;
    char id[4][ANTT_UUID_LEN + 1], inc[4][ANTT_UUID_LEN + 1];
    for (int i = 0; i < 4; i++) {
        antt_uuid7(id[i]);
        antt_uuid7(inc[i]);
    }
    char sql[4096];
#define S_ITEM(k, lat) "{\"report_id\":\"%s\",\"incident_id\":\"%s\",\"category\":\"gambling\",\"priority\":" k \
    ",\"confidence\":0.9,\"reasons\":[\"x\"],\"lat\":" lat ",\"lon\":106.6,\"received_at\":\"2026-11-22T10:00:00Z\"}"
    snprintf(sql, sizeof(sql),
             "SELECT report_id, incident_id, new_incident, replay, report_count, version, priority"
             " FROM antt_classify_apply('[" S_ITEM("4", "10.8000") "," S_ITEM("2", "10.8003") "," S_ITEM("4", "10.8000")
             "]', 150, 3600, '{60,300,3600,86400}', 'DESK-HCM-BTA', '{0,1,0}')",
             id[0], inc[0], id[1], inc[1], id[0], inc[2]);
    PGresult *res = PQexec(E.db, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s", PQerrorMessage(E.db));
    assert_int_equal(PQntuples(res), 3);
    /* 1: new incident; 2: joins it through its lead and raises it to P2; 3: the first again */
    assert_string_equal(PQgetvalue(res, 0, 0), id[0]);
    assert_string_equal(PQgetvalue(res, 0, 1), inc[0]);
    assert_string_equal(PQgetvalue(res, 0, 2), "t");
    assert_string_equal(PQgetvalue(res, 1, 1), inc[0]);
    assert_string_equal(PQgetvalue(res, 1, 2), "f");
    assert_string_equal(PQgetvalue(res, 1, 4), "2");
    assert_string_equal(PQgetvalue(res, 1, 5), "2");
    assert_string_equal(PQgetvalue(res, 1, 6), "2");
    assert_string_equal(PQgetvalue(res, 2, 0), id[0]);
    assert_string_equal(PQgetvalue(res, 2, 3), "t");
    PQclear(res);
    s_expect(id[0], "report_count", "2");
    s_expect(id[0], "priority", "2");
    /* a later batch: the recorded incident is found by the database; the
     * first report again is a replay of the stored state */
    snprintf(sql, sizeof(sql),
             "SELECT incident_id, new_incident, replay, report_count, version"
             " FROM antt_classify_apply('[" S_ITEM("3", "10.8001") "," S_ITEM("4", "10.8000")
             "]', 150, 3600, '{60,300,3600,86400}', 'DESK-HCM-BTA', '{0,0}')",
             id[2], inc[2], id[0], inc[3]);
#undef S_ITEM
    res = PQexec(E.db, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s", PQerrorMessage(E.db));
    assert_int_equal(PQntuples(res), 2);
    assert_string_equal(PQgetvalue(res, 0, 0), inc[0]);
    assert_string_equal(PQgetvalue(res, 0, 1), "f");
    assert_string_equal(PQgetvalue(res, 0, 3), "3");
    assert_string_equal(PQgetvalue(res, 1, 0), inc[0]);
    assert_string_equal(PQgetvalue(res, 1, 2), "t"); /* (its counts are those before the batch) */
    PQclear(res);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM incident_events WHERE incident_id = '%s'", inc[0]);
    assert_int_equal(at_db_long(E.db, sql), 3);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM incidents WHERE id IN ('%s', '%s', '%s')", inc[1], inc[2],
             inc[3]);
    assert_int_equal(at_db_long(E.db, sql), 0);
}

static int s_queue_drained(void *arg)
{
    (void)arg;
    return at_db_long(E.db, "SELECT count(*) FROM report_queue") == 0;
}

/* A report delivered again (intake re-drives it) changes nothing. */
static void test_classified_twice_changes_nothing(void **state)
{
    (void)state;
    char *id = s_submit_classified("description=co%20nguoi%20ban%20ma%20tuy%20o%20hem%2030&area_code=VN-HCM-BTA-TT");
    char *before = s_incident(id, "version");
    long incidents = at_db_long(E.db, "SELECT count(*) FROM incidents");
    long events = at_db_long(E.db, "SELECT count(*) FROM incident_events");
    char sql[256];
    snprintf(sql, sizeof(sql), "INSERT INTO report_queue (report_id, received_at, next_attempt_at)"
             " SELECT id, received_at, now() FROM reports WHERE id = '%s'", id);
    at_db_exec(E.db, sql);
    assert_true(at_wait_until(s_queue_drained, NULL, 15000));
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM incidents"), incidents);
    assert_int_equal(at_db_long(E.db, "SELECT count(*) FROM incident_events"), events);
    s_expect(id, "version", before);
    s_expect(id, "report_count", "1");
    free(before);
    free(id);
}

static long s_expect_total;
static int s_all_classified(void *arg)
{
    (void)arg;
    return at_db_long(E.db, "SELECT count(*) FROM incident_reports") == s_expect_total &&
           at_db_long(E.db, "SELECT count(*) FROM report_queue") == 0;
}

static double s_metric(int port, const char *name)
{
    char url[96], *body = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
    double v = -1;
    if (at_http("GET", url, NULL, NULL, 0, &body) == 200) {
        const char *p = strstr(body, name);
        if (p)
            v = atof(p + strlen(name));
    }
    free(body);
    return v;
}

/* A worker that stops and is killed with reports in hand: intake re-drives
 * them and the other worker finishes them, each exactly once. */
static void test_killed_worker_backlog_finished_by_another(void **state)
{
    (void)state;
    long before = at_db_long(E.db, "SELECT count(*) FROM incident_reports");
    double redriven0 = s_metric(E.http_port, "antt_intake_pushed_total{path=\"redrive\"} ");
    kill(E.worker[0].pid, SIGSTOP);
    enum { N = 40 };
    char *ids[N];
    for (int i = 0; i < N; i++) {
        char f[256];
        snprintf(f, sizeof(f), "description=vua%%20bi%%20trom%%20xe%%20dap%%20so%%20%d&lat=10.%04d&long=106.58", i,
                 7350 + i * 30); /* far apart: no duplicates */
        ids[i] = s_submit(f);
        assert_non_null(ids[i]);
    }
    kill(E.worker[0].pid, SIGKILL);
    assert_int_equal(at_stop(&E.worker[0], SIGKILL, 5000), 0);
    s_expect_total = before + N;
    assert_true(at_wait_until(s_all_classified, NULL, 30000));
    /* the stopped worker held some: they came back through the re-drive */
    assert_true(s_metric(E.http_port, "antt_intake_pushed_total{path=\"redrive\"} ") > redriven0);
    for (int i = 0; i < N; i++) {
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM incident_reports WHERE report_id = '%s'", ids[i]);
        assert_int_equal(at_db_long(E.db, sql), 1);
        s_expect(ids[i], "category", "theft");
        free(ids[i]);
    }
    assert_int_equal(s_start_worker(0), 0);
}

/* The resident's chosen category is evidence: when the text says another
 * thing, the incident takes the classifier's category, needs review with
 * the reason "người báo chọn X", and the report keeps the resident's choice;
 * when they agree, nothing needs review. */
static void test_resident_disagrees_needs_review(void **state)
{
    (void)state;
    char *id = s_submit_classified("service_code=theft&area_code=VN-HCM-BTA-TT&description="
                                   "Ch%C3%A1y%20l%E1%BB%9Bn%20%E1%BB%9F%20nh%C3%A0%20s%E1%BB%91%205%2C%20"
                                   "kh%C3%B3i%20%C4%91en%20b%E1%BB%91c%20l%C3%AAn%2C%20c%C3%B3%20ng%C6%B0%E1%BB%9Di"
                                   "%20k%E1%BA%B9t%20b%C3%AAn%20trong"); /* Cháy lớn ở nhà số 5, khói đen bốc lên, có người kẹt bên trong */
    Antt__V1__ClassifiedIncident *m = s_published(id, 5000);
    assert_non_null(m);
    assert_string_equal(m->category, "fire");
    assert_true(m->has_needs_review && m->needs_review);
    assert_non_null(strstr(m->review_reason, "người báo chọn theft"));
    antt__v1__classified_incident__free_unpacked(m, NULL);
    s_expect(id, "category", "fire");
    s_expect(id, "priority", "1");
    s_expect(id, "needs_review", "true");
    s_expect(id, "review_reasons", "{\"người báo chọn theft\"}");
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM reports WHERE id = '%s' AND service_code = 'theft'", id);
    assert_int_equal(at_db_long(E.db, sql), 1);
    free(id);
    /* agreeing: no review */
    id = s_submit_classified("service_code=fire&area_code=VN-HCM-BTA-AL&description="
                             "Ch%C3%A1y%20l%E1%BB%9Bn%20%E1%BB%9F%20nh%C3%A0%20s%E1%BB%91%209%2C%20"
                             "kh%C3%B3i%20%C4%91en%20b%E1%BB%91c%20l%C3%AAn");
    s_expect(id, "category", "fire");
    s_expect(id, "needs_review", "false");
    free(id);
}

static int s_reloads(int port, const char *result)
{
    char name[96];
    snprintf(name, sizeof(name), "antt_classify_model_reloads_total{result=\"%s\"} ", result);
    return (int)s_metric(port, name);
}

static int s_reload_ok_port, s_reload_ok_want;
static int s_reloaded(void *arg)
{
    (void)arg;
    return s_reloads(s_reload_ok_port, "ok") >= s_reload_ok_want;
}

/* SIGHUP under load: each worker reloads its model several times while
 * reports stream in, a damaged model is refused and the old one kept, and
 * every report is classified exactly once. */
static void test_sighup_reload_under_load(void **state)
{
    (void)state;
    long before = at_db_long(E.db, "SELECT count(*) FROM incident_reports");
    int ok0[S_WORKERS], failed0 = s_reloads(E.worker_port[1], "failed");
    for (int k = 0; k < S_WORKERS; k++)
        ok0[k] = s_reloads(E.worker_port[k], "ok");
    enum { N = 120 };
    char *ids[N];
    for (int i = 0; i < N; i++) {
        char f[256];
        snprintf(f, sizeof(f), "description=vua%%20bi%%20giat%%20dien%%20thoai%%20so%%20%d&lat=10.%04d&long=106.59",
                 i, 7350 + i * 30);
        ids[i] = s_submit(f);
        assert_non_null(ids[i]);
        if (i % 30 == 10)
            for (int k = 0; k < S_WORKERS; k++)
                kill(E.worker[k].pid, SIGHUP);
        if (i == 60) { /* wait for the reloads so far, then damage the file and ask again */
            for (int k = 0; k < S_WORKERS; k++) {
                s_reload_ok_port = E.worker_port[k];
                s_reload_ok_want = ok0[k] + 1;
                assert_true(at_wait_until(s_reloaded, NULL, 10000));
            }
            FILE *f2 = fopen(E.model, "r+b");
            assert_non_null(f2);
            fseek(f2, 100, SEEK_SET);
            fputc(0x5a ^ fgetc(f2), f2);
            fclose(f2);
            kill(E.worker[1].pid, SIGHUP);
        }
    }
    s_expect_total = before + N;
    assert_true(at_wait_until(s_all_classified, NULL, 30000));
    for (int i = 0; i < N; i++) {
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM incident_reports WHERE report_id = '%s'", ids[i]);
        assert_int_equal(at_db_long(E.db, sql), 1);
        s_expect(ids[i], "category", "robbery");
        free(ids[i]);
    }
    assert_true(s_reloads(E.worker_port[1], "failed") > failed0);
    assert_true(at_running(&E.worker[0]) && at_running(&E.worker[1]));
    assert_int_equal(s_copy(ANTT_BUILD_DIR "/classify.model", E.model), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_by_coordinates),
        cmocka_unit_test(test_routes_by_area_code_address_and_unknown),
        cmocka_unit_test(test_duplicates_join_one_incident),
        cmocka_unit_test(test_duplicates_at_once_join_one_incident),
        cmocka_unit_test(test_apply_batch_cases),
        cmocka_unit_test(test_classified_twice_changes_nothing),
        cmocka_unit_test(test_resident_disagrees_needs_review),
        cmocka_unit_test(test_sighup_reload_under_load),
        cmocka_unit_test(test_killed_worker_backlog_finished_by_another),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
