/* ZeroMQ CURVE and the ZAP handlers across the real four services (issue 6):
 * a registered gateway's key is admitted and its report goes the whole way
 * (stored, classified, on the desk feed read with aggregation's key and the
 * trend feed read with the client key); an unknown key, a plain (unencrypted) peer, a client key on
 * a services-only socket are refused at the handshake on every door; a
 * gateway key may only use its own api_key; a gateway registered while the
 * stack runs is admitted and a disabled one refused; and what crosses the
 * wire is encrypted: a report's text is nowhere in the bytes a relay
 * between the gateway and intake saw. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include "antt_test.h"
#include "antt_util.h"
#include "antt/v1/report.pb-c.h"

static struct {
    char *conninfo;
    PGconn *db;
    at_stack_t st;
    void *zctx;
    char gw_pub[41], gw_sec[41];   /* gateway "app" */
    char new_pub[41], new_sec[41]; /* gateway "late", registered while running */
} T;

static int s_setup(void **state)
{
    (void)state;
    T.conninfo = at_db_create("t_curve");
    T.db = at_db_connect(T.conninfo);
    zmq_curve_keypair(T.gw_pub, T.gw_sec);
    zmq_curve_keypair(T.new_pub, T.new_sec);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst, curve_public) VALUES"
             " ('app', 'App', sha256('key-app'::bytea), 1000, 1000, '%s'),"
             " ('sms', 'SMS', sha256('key-sms'::bytea), 1000, 1000, NULL),"
             " ('late', 'Late', sha256('key-late'::bytea), 1000, 1000, NULL)",
             T.gw_pub);
    at_db_exec(T.db, sql);
    at_stack_init(&T.st, T.conninfo);
    at_env_add(T.st.env, sizeof(T.st.env) / sizeof(T.st.env[0]), "ANTT_INTAKE_GATEWAY_REFRESH_MS=%s", "200");
    if (at_stack_start_all(&T.st) != 0)
        return -1;
    T.zctx = zmq_ctx_new();
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    zmq_ctx_term(T.zctx);
    at_stack_stop(&T.st);
    at_stack_free(&T.st);
    PQfinish(T.db);
    free(T.conninfo);
    return 0;
}

static int s_handshake(void *sock, const char *ep, int ms)
{
    return at_zmq_handshake(T.zctx, sock, ep, ms);
}

/* A socket of type with linger 0 and, when pub is given, CURVE client keys
 * for service i; pub NULL: plain ZMTP. */
static void *s_socket(int type, int i, const char *pub, const char *sec)
{
    void *s = zmq_socket(T.zctx, type);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    if (pub)
        at_stack_curve_client(&T.st, s, i, pub, sec);
    return s;
}

/* Submits text as api_key over a REQ to ep with the given keys; returns the
 * reply status, or -1 without a reply within 10 s. */
static int s_submit(const char *ep, const char *pub, const char *sec, const char *api_key, const char *text,
                    const char *idem)
{
    void *s = s_socket(ZMQ_REQ, AT_INTAKE, pub, sec);
    int timeout = 10000;
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    Antt__V1__SubmitReport m = ANTT__V1__SUBMIT_REPORT__INIT;
    Antt__V1__Location loc = ANTT__V1__LOCATION__INIT;
    m.api_key = (char *)api_key;
    m.idempotency_key = (char *)idem;
    m.description = (char *)text;
    loc.has_lat = loc.has_lon = 1;
    loc.lat = 10.75;
    loc.lon = 106.62;
    m.location = &loc;
    uint8_t buf[2048];
    size_t len = antt__v1__submit_report__pack(&m, buf);
    int status = -1;
    assert_int_equal(zmq_connect(s, ep), 0);
    if (zmq_send(s, buf, len, 0) == (int)len) {
        zmq_msg_t r;
        zmq_msg_init(&r);
        if (zmq_msg_recv(&r, s, 0) >= 0) {
            Antt__V1__SubmitReply *rep = antt__v1__submit_reply__unpack(NULL, zmq_msg_size(&r), zmq_msg_data(&r));
            if (rep) {
                status = rep->status;
                antt__v1__submit_reply__free_unpacked(rep, NULL);
            }
        }
        zmq_msg_close(&r);
    }
    zmq_close(s);
    return status;
}

static int s_classified(void *arg)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM reports r JOIN incident_reports l ON l.report_id = r.id"
             " WHERE r.idempotency_key = '%s'", (const char *)arg);
    return at_db_long(T.db, sql) == 1;
}

/* Receives on sub until a message arrives or ms pass. 1 or 0. */
static int s_got(void *sub, int ms)
{
    zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) <= 0)
        return 0;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, sub, ZMQ_DONTWAIT) >= 0)
        ;
    zmq_msg_close(&m);
    return 1;
}

static void test_admitted_whole_way(void **state)
{
    (void)state;
    /* aggregation's key hears the desk feed, a staff key the trend feed */
    void *feed = s_socket(ZMQ_SUB, AT_NOTIFICATION, T.st.curve_pub[AT_AGGREGATION], T.st.curve_sec[AT_AGGREGATION]);
    void *trend = s_socket(ZMQ_SUB, AT_AGGREGATION, T.st.staff_pub, T.st.staff_sec);
    zmq_setsockopt(feed, ZMQ_SUBSCRIBE, "", 0);
    zmq_setsockopt(trend, ZMQ_SUBSCRIBE, "", 0);
    assert_int_equal(s_handshake(feed, T.st.feed_ep, 5000), 1);
    assert_int_equal(s_handshake(trend, T.st.trend_ep, 5000), 1);
    /* a subscription crosses the wire after the handshake: retry the first
     * report's effect rather than guess when it has arrived */
    assert_int_equal(s_submit(T.st.gateway_ep, T.gw_pub, T.gw_sec, "key-app", "co nguoi danh nhau o hem 12",
                              "curve-1"),
                     ANTT__V1__SUBMIT_REPLY__STATUS__OK);
    assert_true(at_wait_until(s_classified, "curve-1", 15000));
    int heard_feed = s_got(feed, 100), heard_trend = s_got(trend, 100);
    for (int i = 2; i < 12 && !(heard_feed && heard_trend); i++) {
        char idem[32];
        snprintf(idem, sizeof(idem), "curve-%d", i);
        assert_int_equal(s_submit(T.st.gateway_ep, T.gw_pub, T.gw_sec, "key-app", "bi trom xe may o cho", idem),
                         ANTT__V1__SUBMIT_REPLY__STATUS__OK);
        heard_feed |= s_got(feed, 2000);
        heard_trend |= s_got(trend, 2000);
    }
    assert_true(heard_feed);
    assert_true(heard_trend);
    /* the operator's client key may submit too (antt submit, antt import) */
    assert_int_equal(s_submit(T.st.gateway_ep, T.st.client_pub, T.st.client_sec, "key-sms", "mat trom dien thoai",
                              "curve-client"),
                     ANTT__V1__SUBMIT_REPLY__STATUS__OK);
    zmq_close(feed);
    zmq_close(trend);
}

static void test_refused(void **state)
{
    (void)state;
    char pub[41], sec[41];
    zmq_curve_keypair(pub, sec);
    long before = at_db_long(T.db, "SELECT count(*) FROM reports");
    /* an unknown key on every door */
    struct {
        int type, svc;
        const char *ep;
    } doors[] = {
        {ZMQ_DEALER, AT_INTAKE, T.st.gateway_ep},       {ZMQ_DEALER, AT_NOTIFICATION, T.st.triage_ep},
        {ZMQ_SUB, AT_NOTIFICATION, T.st.feed_ep},       {ZMQ_SUB, AT_AGGREGATION, T.st.trend_ep},
        {ZMQ_DEALER, AT_AGGREGATION, T.st.snapshot_ep},
    };
    for (size_t i = 0; i < sizeof(doors) / sizeof(doors[0]); i++) {
        void *s = s_socket(doors[i].type, doors[i].svc, pub, sec);
        int r = s_handshake(s, doors[i].ep, 5000);
        if (r != -1)
            fprintf(stderr, "door %s: handshake result %d\n", doors[i].ep, r);
        assert_int_equal(r, -1);
        zmq_close(s);
        /* and a plain peer: no CURVE, no conversation */
        s = s_socket(doors[i].type, doors[i].svc, NULL, NULL);
        r = s_handshake(s, doors[i].ep, 5000);
        assert_true(r < 0);
        zmq_close(s);
    }
    /* the client key is not a service: intake's PUSH and the classified
     * SUBs admit the services' keys only */
    const char *services_only[] = {at_stack_env(&T.st, "ANTT_INTAKE_PUSH_ENDPOINT"),
                                   at_stack_env(&T.st, "ANTT_NOTIFICATION_CLASSIFIED_ENDPOINT"),
                                   at_stack_env(&T.st, "ANTT_AGGREGATION_CLASSIFIED_ENDPOINT")};
    int types[] = {ZMQ_PULL, ZMQ_PUB, ZMQ_PUB}, svcs[] = {AT_INTAKE, AT_NOTIFICATION, AT_AGGREGATION};
    for (int i = 0; i < 3; i++) {
        assert_non_null(services_only[i]);
        void *s = s_socket(types[i], svcs[i], T.st.client_pub, T.st.client_sec);
        assert_int_equal(s_handshake(s, services_only[i], 5000), -1);
        zmq_close(s);
    }
    /* a gateway's key speaks for that gateway only */
    assert_int_equal(s_submit(T.st.gateway_ep, T.gw_pub, T.gw_sec, "key-sms", "bi lua dao qua dien thoai",
                              "curve-wrong-key"),
                     ANTT__V1__SUBMIT_REPLY__STATUS__FORBIDDEN);
    assert_int_equal(at_db_long(T.db, "SELECT count(*) FROM reports"), before);
    /* the refusals are counted where operators look */
    char url[64], *body = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", T.st.port[AT_INTAKE]);
    assert_int_equal(at_http("GET", url, NULL, NULL, 0, &body), 200);
    const char *ref = strstr(body, "antt_zap_handshakes_total{result=\"refused\"} ");
    const char *adm = strstr(body, "antt_zap_handshakes_total{result=\"admitted\"} ");
    assert_non_null(ref);
    assert_non_null(adm);
    assert_true(atol(ref + strlen("antt_zap_handshakes_total{result=\"refused\"} ")) >= 2); /* gateway ROUTER, PUSH */
    assert_true(atol(adm + strlen("antt_zap_handshakes_total{result=\"admitted\"} ")) >= 1);
    free(body);
}

static int s_admitted(void *arg)
{
    const char *const *k = arg;
    void *s = s_socket(ZMQ_DEALER, AT_INTAKE, k[0], k[1]);
    int r = s_handshake(s, T.st.gateway_ep, 2000);
    zmq_close(s);
    return r == (k[2] ? 1 : -1);
}

static void test_gateway_keys_follow_the_database(void **state)
{
    (void)state;
    const char *admitted[] = {T.new_pub, T.new_sec, "yes"}, *refused[] = {T.new_pub, T.new_sec, NULL};
    assert_true(s_admitted(refused));
    char sql[256];
    snprintf(sql, sizeof(sql), "UPDATE gateways SET curve_public = '%s' WHERE code = 'late'", T.new_pub);
    at_db_exec(T.db, sql);
    assert_true(at_wait_until(s_admitted, admitted, 10000));
    assert_int_equal(s_submit(T.st.gateway_ep, T.new_pub, T.new_sec, "key-late", "co trom o hem 5", "curve-late"),
                     ANTT__V1__SUBMIT_REPLY__STATUS__OK);
    at_db_exec(T.db, "UPDATE gateways SET active = false WHERE code = 'late'");
    assert_true(at_wait_until(s_admitted, refused, 10000));
}

/* Through a relay that keeps what it carries: the reply comes back, and
 * neither the text nor the api_key is in the bytes. */
static void test_wire_is_encrypted(void **state)
{
    (void)state;
    int port, target = atoi(strrchr(T.st.gateway_ep, ':') + 1);
    at_relay_t *r = at_relay_start(target, &port);
    assert_non_null(r);
    char ep[64];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", port);
    const char *text = "canary-wire-7f3a9 trom xe may truoc nha so 12";
    assert_int_equal(s_submit(ep, T.gw_pub, T.gw_sec, "key-app", text, "curve-wire"),
                     ANTT__V1__SUBMIT_REPLY__STATUS__OK);
    size_t n;
    const uint8_t *b = at_relay_bytes(r, &n);
    assert_true(n > 200); /* greeting, handshake and the message went through it */
    assert_null(memmem(b, n, "canary-wire-7f3a9", 17));
    assert_null(memmem(b, n, "key-app", 7));
    at_relay_stop(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admitted_whole_way),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_gateway_keys_follow_the_database),
        cmocka_unit_test(test_wire_is_encrypted),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
