/* ZeroMQ zones and secrets per service across the real four services
 * (issue 14, findings 4, 5, 6 and 8):
 * - each bound socket admits exactly the keys of the peers it exists for:
 *   every service key and the client key, on every bound socket, is
 *   admitted or refused as docs/protocol.md's table says;
 * - a ClassifiedIncident sent with aggregation's key never reaches a desk,
 *   and a client key receives nothing of the desk feed;
 * - a handshake without CURVE is counted with the ZAP handler's refusals;
 * - a 100 MB frame sent before authentication to every bound socket raises
 *   no service's RSS by more than 2 MB;
 * - a gateway whose CURVE key is rotated loses its open session;
 * - each service's environment holds its own secrets and nobody else's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <zmq.h>

#include "antt_test.h"
#include "antt_util.h"
#include "antt/v1/incident.pb-c.h"
#include "antt/v1/report.pb-c.h"

static struct {
    char *conninfo;
    PGconn *db;
    at_stack_t st;
    void *zctx;
    char gw_pub[41], gw_sec[41]; /* gateway "app" */
} T;

static int s_setup(void **state)
{
    (void)state;
    T.conninfo = at_db_create("t_zones");
    T.db = at_db_connect(T.conninfo);
    zmq_curve_keypair(T.gw_pub, T.gw_sec);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst, curve_public) VALUES"
             " ('app', 'App', sha256('key-app'::bytea), 1000, 1000, '%s')",
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

/* The bound sockets, whose service binds them, the socket type that talks
 * to them and who (the holder index: a service, or AT_NSERVICES for the
 * client key, AT_NSERVICES + 1 for the staff key) their zone admits. */
#define S_CLIENT AT_NSERVICES
#define S_STAFF (AT_NSERVICES + 1)
typedef struct s_door {
    const char *name;
    int svc;
    int type;
    char ep[64];
    unsigned admits; /* bit per holder */
} s_door_t;

static int s_doors(s_door_t *d)
{
    const s_door_t all[] = {
        {"intake gateway ROUTER", AT_INTAKE, ZMQ_DEALER, "", 1u << S_CLIENT},
        {"intake PUSH", AT_INTAKE, ZMQ_PULL, "", 1u << AT_CLASSIFICATION},
        {"notification classified SUB", AT_NOTIFICATION, ZMQ_PUB, "", 1u << AT_CLASSIFICATION},
        {"aggregation classified SUB", AT_AGGREGATION, ZMQ_PUB, "", 1u << AT_CLASSIFICATION},
        {"notification desk feed PUB", AT_NOTIFICATION, ZMQ_SUB, "", 1u << AT_AGGREGATION},
        {"notification triage ROUTER", AT_NOTIFICATION, ZMQ_DEALER, "", 1u << S_CLIENT},
        {"aggregation trend PUB", AT_AGGREGATION, ZMQ_SUB, "", 1u << S_STAFF},
        {"aggregation snapshot ROUTER", AT_AGGREGATION, ZMQ_DEALER, "", 1u << S_CLIENT | 1u << S_STAFF},
    };
    const char *eps[] = {T.st.gateway_ep,
                         at_stack_env(&T.st, "ANTT_INTAKE_PUSH_ENDPOINT"),
                         at_stack_env(&T.st, "ANTT_NOTIFICATION_CLASSIFIED_ENDPOINT"),
                         at_stack_env(&T.st, "ANTT_AGGREGATION_CLASSIFIED_ENDPOINT"),
                         T.st.feed_ep,
                         T.st.triage_ep,
                         T.st.trend_ep,
                         T.st.snapshot_ep};
    int n = (int)(sizeof(all) / sizeof(all[0]));
    for (int i = 0; i < n; i++) {
        d[i] = all[i];
        assert_non_null(eps[i]);
        snprintf(d[i].ep, sizeof(d[i].ep), "%s", eps[i]);
    }
    return n;
}

/* A socket of type with linger 0 that connects as holder h (a service, or
 * the client key) to service svc. */
static void *s_socket(int type, int svc, int h)
{
    void *s = zmq_socket(T.zctx, type);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    if (h == S_CLIENT)
        at_stack_curve_client(&T.st, s, svc, NULL, NULL);
    else if (h == S_STAFF)
        at_stack_curve_client(&T.st, s, svc, T.st.staff_pub, T.st.staff_sec);
    else
        at_stack_curve_as(&T.st, s, svc, h);
    return s;
}

static void test_every_key_in_its_zone_only(void **state)
{
    (void)state;
    s_door_t d[8];
    int n = s_doors(d), admitted = 0, refused = 0;
    for (int i = 0; i < n; i++)
        for (int h = 0; h <= S_STAFF; h++) {
            void *s = s_socket(d[i].type, d[i].svc, h);
            int want = d[i].admits & (1u << h) ? 1 : -1, got = at_zmq_handshake(T.zctx, s, d[i].ep, 5000);
            zmq_close(s);
            if (got != want)
                fail_msg("%s: the %s key was %s", d[i].name,
                         h == S_CLIENT ? "client" : h == S_STAFF ? "staff" : at_service_names[h],
                         got == 1 ? "admitted" : "not admitted");
            admitted += got == 1;
            refused += got == -1;
        }
    printf("zones: %d handshakes on %d bound sockets: %d admitted, %d refused, as the table says\n",
           admitted + refused, n, admitted, refused);
}

typedef struct s_watch {
    void *sub;        /* the desk feed, as aggregation */
    const char *id;   /* the incident looked for */
    int seen;         /* its messages */
    int total;        /* all messages */
} s_watch_t;

static void s_drain(s_watch_t *w, int ms)
{
    uint64_t until = antt_mono_ns() + (uint64_t)ms * 1000000u;
    while (antt_mono_ns() < until) {
        zmq_pollitem_t it = {w->sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 20) <= 0)
            continue;
        zmq_msg_t t, b;
        zmq_msg_init(&t);
        zmq_msg_init(&b);
        zmq_msg_recv(&t, w->sub, 0);
        zmq_msg_recv(&b, w->sub, 0);
        Antt__V1__IncidentUpdate *u = antt__v1__incident_update__unpack(NULL, zmq_msg_size(&b), zmq_msg_data(&b));
        if (u && u->incident_id && w->id && !strcmp(u->incident_id, w->id))
            w->seen++;
        w->total++;
        if (u)
            antt__v1__incident_update__free_unpacked(u, NULL);
        zmq_msg_close(&t);
        zmq_msg_close(&b);
    }
}

/* Aggregation faces the internet: its key must not inject work for the
 * desks. The fake P1 is sent for two seconds; the desk feed (read as
 * aggregation, its one consumer) never carries it. */
static void test_aggregation_key_reaches_no_desk(void **state)
{
    (void)state;
    const char *fake = "0bad0bad-0000-4000-8000-00000000f00d";
    s_watch_t w = {s_socket(ZMQ_SUB, AT_NOTIFICATION, AT_AGGREGATION), fake, 0, 0};
    zmq_setsockopt(w.sub, ZMQ_SUBSCRIBE, "desk.", 5);
    assert_int_equal(at_zmq_handshake(T.zctx, w.sub, T.st.feed_ep, 5000), 1);
    void *pub = s_socket(ZMQ_PUB, AT_NOTIFICATION, AT_AGGREGATION);
    const char *cls = at_stack_env(&T.st, "ANTT_NOTIFICATION_CLASSIFIED_ENDPOINT");
    int handshake = at_zmq_handshake(T.zctx, pub, cls, 5000);
    Antt__V1__ClassifiedIncident m = ANTT__V1__CLASSIFIED_INCIDENT__INIT;
    m.incident_id = (char *)fake;
    m.report_id = (char *)fake;
    m.has_new_incident = m.has_priority = m.has_version = 1;
    m.new_incident = 1;
    m.category = "fire";
    m.priority = ANTT__V1__PRIORITY__PRIORITY_P1;
    m.area_code = "VN-HCM-BTA-AL";
    m.desk_code = "DESK-HCM-BTA-AL";
    m.version = 1;
    uint8_t buf[512];
    size_t len = antt__v1__classified_incident__pack(&m, buf);
    for (int i = 0; i < 20; i++) {
        zmq_send(pub, "incident.classified", 19, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(pub, buf, len, ZMQ_DONTWAIT);
        s_drain(&w, 100);
    }
    s_drain(&w, 500);
    printf("a ClassifiedIncident sent 20 times with aggregation's key (handshake %s): %d copies on the desk feed\n",
           handshake == 1 ? "admitted" : "refused", w.seen);
    assert_int_equal(w.seen, 0);
    assert_int_equal(handshake, -1);
    assert_int_equal(at_db_long(T.db, "SELECT count(*) FROM desk_feed WHERE incident_id = "
                                      "'0bad0bad-0000-4000-8000-00000000f00d'"),
                     0);
    zmq_close(pub);
    zmq_close(w.sub);
}

/* Submits text as gateway "app" over sock (a DEALER already connected);
 * the reply status or -1 without one within ms. */
static int s_submit(void *sock, const char *text, const char *idem, int ms)
{
    Antt__V1__SubmitReport m = ANTT__V1__SUBMIT_REPORT__INIT;
    Antt__V1__Location loc = ANTT__V1__LOCATION__INIT;
    m.api_key = "key-app";
    m.idempotency_key = (char *)idem;
    m.description = (char *)text;
    loc.area_code = "VN-HCM-BTA-AL";
    m.location = &loc;
    uint8_t buf[2048];
    size_t len = antt__v1__submit_report__pack(&m, buf);
    zmq_send(sock, "", 0, ZMQ_SNDMORE);
    if (zmq_send(sock, buf, len, 0) != (int)len)
        return -1;
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) <= 0)
        return -1;
    zmq_msg_t r;
    zmq_msg_init(&r);
    int status = -1;
    while (zmq_msg_recv(&r, sock, 0) >= 0) {
        if (zmq_msg_size(&r) > 0) {
            Antt__V1__SubmitReply *rep = antt__v1__submit_reply__unpack(NULL, zmq_msg_size(&r), zmq_msg_data(&r));
            if (rep) {
                status = rep->status;
                antt__v1__submit_reply__free_unpacked(rep, NULL);
            }
        }
        if (!zmq_msg_more(&r))
            break;
    }
    zmq_msg_close(&r);
    return status;
}

static void *s_gateway(const char *pub, const char *sec)
{
    void *s = zmq_socket(T.zctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    at_stack_curve_client(&T.st, s, AT_INTAKE, pub, sec);
    return s;
}

/* A console's client key reads no desk's feed: refused at the handshake,
 * it receives nothing while the desks get a new incident. */
static void test_client_key_gets_no_desk_feed(void **state)
{
    (void)state;
    void *client = s_socket(ZMQ_SUB, AT_NOTIFICATION, S_CLIENT);
    zmq_setsockopt(client, ZMQ_SUBSCRIBE, "", 0);
    int handshake = at_zmq_handshake(T.zctx, client, T.st.feed_ep, 5000);
    s_watch_t w = {s_socket(ZMQ_SUB, AT_NOTIFICATION, AT_AGGREGATION), NULL, 0, 0};
    zmq_setsockopt(w.sub, ZMQ_SUBSCRIBE, "desk.", 5);
    assert_int_equal(at_zmq_handshake(T.zctx, w.sub, T.st.feed_ep, 5000), 1);
    void *gw = s_gateway(T.gw_pub, T.gw_sec);
    assert_int_equal(zmq_connect(gw, T.st.gateway_ep), 0);
    for (int i = 0; i < 10 && w.total == 0; i++) {
        char idem[32];
        snprintf(idem, sizeof(idem), "zones-feed-%d", i);
        assert_int_equal(s_submit(gw, "co nguoi danh nhau o hem 12", idem, 10000), ANTT__V1__SUBMIT_REPLY__STATUS__OK);
        s_drain(&w, 2000);
    }
    assert_true(w.total > 0);
    int got = 0;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, client, ZMQ_DONTWAIT) >= 0)
        got++;
    zmq_msg_close(&m);
    printf("desk feed: %d messages to aggregation's key, %d to a client key (handshake %s)\n", w.total, got,
           handshake == 1 ? "admitted" : "refused");
    assert_int_equal(got, 0);
    assert_int_equal(handshake, -1);
    zmq_close(gw);
    zmq_close(client);
    zmq_close(w.sub);
}

typedef struct s_count {
    int port;
    double above;
} s_count_t;

static int s_refused_above(void *arg)
{
    s_count_t *c = arg;
    return at_metric(c->port, "antt_zap_handshakes_total{result=\"refused\"}") > c->above;
}

/* A peer without CURVE never reaches the ZAP handler; it is refused all
 * the same, and counted where operators look. */
static void test_plain_refusal_counted(void **state)
{
    (void)state;
    s_count_t c = {T.st.port[AT_NOTIFICATION], 0};
    c.above = at_metric(c.port, "antt_zap_handshakes_total{result=\"refused\"}");
    void *s = zmq_socket(T.zctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    assert_true(at_zmq_handshake(T.zctx, s, T.st.triage_ep, 5000) < 0);
    zmq_close(s);
    int counted = at_wait_until(s_refused_above, &c, 5000);
    printf("a plain (no CURVE) peer on the triage ROUTER: refused count %.0f -> %.0f\n", c.above,
           at_metric(c.port, "antt_zap_handshakes_total{result=\"refused\"}"));
    assert_true(counted);
}

/* ---- a 100 MB frame before authentication ---- */

/* Connects to ep over plain TCP, sends a ZMTP 3.0 greeting for CURVE as a
 * client, then the header of a 100 MB frame and as much of its body as the
 * service takes, sampling pid's RSS after each MiB. Returns the largest rise
 * in kB; *sent_mb the MiB the service took. */
static long s_big_frame(const char *ep, pid_t pid, double *sent_mb)
{
    int port = atoi(strrchr(ep, ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    uint8_t greet[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0};
    memcpy(greet + 12, "CURVE", 5);
    const uint64_t size = 100ull << 20;
    uint8_t head[9] = {0x02}; /* a long message frame */
    for (int i = 0; i < 8; i++)
        head[1 + i] = (uint8_t)(size >> (56 - 8 * i));
    long base = at_rss_kb(pid), peak = base;
    static uint8_t chunk[1 << 20];
    memset(chunk, 'x', sizeof(chunk));
    uint64_t sent = 0;
    if (send(fd, greet, sizeof(greet), MSG_NOSIGNAL) == (ssize_t)sizeof(greet) &&
        send(fd, head, sizeof(head), MSG_NOSIGNAL) == (ssize_t)sizeof(head)) {
        while (sent < size) {
            ssize_t n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);
            if (n <= 0)
                break;
            sent += (uint64_t)n;
            long now = at_rss_kb(pid);
            if (now > peak)
                peak = now;
        }
    }
    close(fd);
    long now = at_rss_kb(pid);
    if (now > peak)
        peak = now;
    *sent_mb = (double)sent / (1 << 20);
    return peak - base;
}

static void test_big_frame_before_auth(void **state)
{
    (void)state;
    s_door_t d[8];
    int n = s_doors(d);
    long worst = 0;
    for (int i = 0; i < n; i++) {
        double mb;
        long rise = s_big_frame(d[i].ep, T.st.svc[d[i].svc].pid, &mb);
        printf("100 MB frame before authentication to the %s: %s RSS +%.1f MB (it took %.1f MB of the frame)\n",
               d[i].name, at_service_names[d[i].svc], (double)rise / 1024, mb);
        if (rise > worst)
            worst = rise;
        assert_true(at_running(&T.st.svc[d[i].svc]));
    }
    printf("100 MB frames: the largest RSS rise of a service was %.1f MB (limit 2 MB)\n", (double)worst / 1024);
    assert_true(worst <= 2048);
}

/* ---- a rotated gateway key ---- */

typedef struct s_mon {
    void *pair;
    int disconnected;
} s_mon_t;

static int s_disconnected(void *arg)
{
    s_mon_t *m = arg;
    zmq_msg_t ev;
    zmq_msg_init(&ev);
    while (zmq_msg_recv(&ev, m->pair, ZMQ_DONTWAIT) >= 0) {
        uint16_t id;
        memcpy(&id, zmq_msg_data(&ev), sizeof(id));
        m->disconnected |= id == ZMQ_EVENT_DISCONNECTED;
        zmq_msg_recv(&ev, m->pair, 0);
    }
    zmq_msg_close(&ev);
    return m->disconnected;
}

static void test_rotated_gateway_key_ends_session(void **state)
{
    (void)state;
    void *gw = s_gateway(T.gw_pub, T.gw_sec);
    assert_int_equal(zmq_socket_monitor(gw, "inproc://zones-gw", ZMQ_EVENT_DISCONNECTED), 0);
    s_mon_t m = {zmq_socket(T.zctx, ZMQ_PAIR), 0};
    int linger = 0;
    zmq_setsockopt(m.pair, ZMQ_LINGER, &linger, sizeof(linger));
    assert_int_equal(zmq_connect(m.pair, "inproc://zones-gw"), 0);
    assert_int_equal(zmq_connect(gw, T.st.gateway_ep), 0);
    assert_int_equal(s_submit(gw, "bi trom xe may o cho", "zones-rotate-1", 10000), ANTT__V1__SUBMIT_REPLY__STATUS__OK);
    /* the operator rotates the gateway's key */
    char pub[41], sec[41], sql[256];
    zmq_curve_keypair(pub, sec);
    snprintf(sql, sizeof(sql), "UPDATE gateways SET curve_public = '%s' WHERE code = 'app'", pub);
    uint64_t t0 = antt_mono_ns();
    at_db_exec(T.db, sql);
    int ended = at_wait_until(s_disconnected, &m, 10000);
    printf("a rotated gateway key: its open session ended %.0f ms after the rotation (refresh every 200 ms)\n",
           (double)(antt_mono_ns() - t0) / 1e6);
    assert_true(ended);
    /* and what it sends from then on gets no answer */
    assert_int_equal(s_submit(gw, "bi trom xe may o cho", "zones-rotate-2", 1500), -1);
    zmq_socket_monitor(gw, NULL, 0);
    zmq_close(m.pair);
    zmq_close(gw);
    /* the new key is admitted */
    gw = s_gateway(pub, sec);
    assert_int_equal(zmq_connect(gw, T.st.gateway_ep), 0);
    assert_int_equal(s_submit(gw, "bi trom xe may o cho", "zones-rotate-3", 10000), ANTT__V1__SUBMIT_REPLY__STATUS__OK);
    zmq_close(gw);
    snprintf(sql, sizeof(sql), "UPDATE gateways SET curve_public = '%s' WHERE code = 'app'", T.gw_pub);
    at_db_exec(T.db, sql);
}

/* ---- secrets per service ---- */

/* 1 when the NUL-separated environment env (len bytes) holds text. */
static int s_holds(const char *env, size_t len, const char *text)
{
    return memmem(env, len, text, strlen(text)) != NULL;
}

static void test_each_service_holds_its_own_secrets(void **state)
{
    (void)state;
    /* every secret of the deployment, with its one owner (-1: people's tools) */
    struct {
        int owner;
        char value[128];
        char name[96];
    } sec[32];
    int ns = 0;
    for (int i = 0; i <= AT_NSERVICES; i++) {
        char **keys = i < AT_NSERVICES ? T.st.keys[i] : T.st.client_keys;
        for (int j = 0; keys[j]; j++) {
            const char *eq = strchr(keys[j], '=');
            if (!strstr(keys[j], "_SECRET=") && !strstr(keys[j], "_REPORTER_HASH="))
                continue;
            assert_true(ns < 32);
            sec[ns].owner = i < AT_NSERVICES ? i : -1;
            snprintf(sec[ns].name, sizeof(sec[ns].name), "%.*s", (int)(eq - keys[j]), keys[j]);
            snprintf(sec[ns].value, sizeof(sec[ns].value), "%s", eq + 1);
            ns++;
        }
    }
    assert_int_equal(ns, 7); /* four CURVE secrets, the client's, the dispatchers', the reporter-hash key */
    for (int i = 0; i < AT_NSERVICES; i++) {
        char path[64];
        size_t len = 0;
        snprintf(path, sizeof(path), "/proc/%d/environ", (int)T.st.svc[i].pid);
        char *env = at_read_file(path, &len);
        assert_non_null(env);
        int own = 0;
        for (int k = 0; k < ns; k++) {
            int holds = s_holds(env, len, sec[k].value);
            if (holds && sec[k].owner != i)
                fail_msg("%s's environment holds %s, which is not its own", at_service_names[i], sec[k].name);
            if (!holds && sec[k].owner == i)
                fail_msg("%s's environment lacks its own %s", at_service_names[i], sec[k].name);
            own += holds;
        }
        printf("/proc/%d/environ of %s: %d secret%s, its own; none of the other %d\n", (int)T.st.svc[i].pid,
               at_service_names[i], own, own == 1 ? "" : "s", ns - own);
        free(env);
    }
    /* the two that matter most */
    for (int k = 0; k < ns; k++) {
        if (!strcmp(sec[k].name, "ANTT_KEYS_DISPATCH_SECRET"))
            assert_int_equal(sec[k].owner, AT_NOTIFICATION);
        if (!strcmp(sec[k].name, "ANTT_KEYS_REPORTER_HASH"))
            assert_int_equal(sec[k].owner, AT_INTAKE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key_in_its_zone_only),
        cmocka_unit_test(test_aggregation_key_reaches_no_desk),
        cmocka_unit_test(test_client_key_gets_no_desk_feed),
        cmocka_unit_test(test_plain_refusal_counted),
        cmocka_unit_test(test_big_frame_before_auth),
        cmocka_unit_test(test_each_service_holds_its_own_secrets),
        cmocka_unit_test(test_rotated_gateway_key_ends_session),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
