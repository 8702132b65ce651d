/* A cut link (issue 6): the classification worker reaches intake's PUSH and
 * notification's classified SUB through relays the test runs, as if its
 * machine were on the far side of a switch. Under a steady load the link is
 * cut silently (no bytes, no FIN: a pulled cable) and healed after a while.
 * ZMTP heartbeats notice the dead peer (a side closes its connection
 * within seconds, with nothing on the wire to tell it); the reports
 * acknowledged meanwhile wait in PostgreSQL; after the heal the worker
 * reconnects and the backlog drains: every acknowledged report stored once,
 * classified once, routed, and the trend counts equal the incidents. Then
 * only the link to notification is cut: its catch-up from PostgreSQL
 * announces on the desk feeds the incidents whose messages were lost.
 *
 * ANTT_FAULT_SECONDS sets how long the link stays cut (default 6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include <zmq.h>

#include "antt_test.h"
#include "antt_util.h"
#include "antt/v1/incident.pb-c.h"

static struct {
    char *conninfo;
    PGconn *db;
    at_stack_t st;
    at_load_t load;
    at_relay_t *pull, *pub; /* worker -> intake's PUSH, worker -> notification's SUB */
} P;

/* The port of "tcp://127.0.0.1:PORT" in the stack's setting k. */
static int s_port(const char *k)
{
    const char *v = at_stack_env(&P.st, k);
    return v ? atoi(strrchr(v, ':') + 1) : -1;
}

static int s_setup(void **state)
{
    (void)state;
    P.conninfo = at_db_create("t_partition");
    P.db = at_db_connect(P.conninfo);
    at_load_gateway(P.db);
    at_stack_init(&P.st, P.conninfo);
    size_t cap = sizeof(P.st.env) / sizeof(P.st.env[0]);
    int pull_port, pub_port;
    P.pull = at_relay_start(s_port("ANTT_INTAKE_PUSH_ENDPOINT"), &pull_port);
    P.pub = at_relay_start(s_port("ANTT_NOTIFICATION_CLASSIFIED_ENDPOINT"), &pub_port);
    if (P.pull == NULL || P.pub == NULL)
        return -1;
    char v[160];
    snprintf(v, sizeof(v), "tcp://127.0.0.1:%d", pull_port);
    at_env_add(P.st.env, cap, "ANTT_CLASSIFICATION_PULL_ENDPOINT=%s", v);
    snprintf(v, sizeof(v), "notification=tcp://127.0.0.1:%d aggregation=tcp://127.0.0.1:%d", pub_port,
             s_port("ANTT_AGGREGATION_CLASSIFIED_ENDPOINT"));
    at_env_add(P.st.env, cap, "ANTT_CLASSIFICATION_PUBLISH_ENDPOINTS=%s", v);
    at_env_add(P.st.env, cap, "ANTT_INTAKE_REDRIVE_INTERVAL_MS=%s", "500");
    at_env_add(P.st.env, cap, "ANTT_INTAKE_REDRIVE_AFTER_MS=%s", "2000");
    return at_stack_start_all(&P.st);
}

static int s_teardown(void **state)
{
    (void)state;
    at_stack_stop(&P.st);
    at_stack_free(&P.st);
    at_relay_stop(P.pull);
    at_relay_stop(P.pub);
    at_load_free(&P.load);
    PQfinish(P.db);
    free(P.conninfo);
    return 0;
}

static long s_classified(void)
{
    return at_db_long(P.db, "SELECT count(*) FROM reports r JOIN incident_reports l ON l.report_id = r.id"
                            " WHERE r.idempotency_key LIKE 'cut-%'");
}

static int s_some_classified(void *arg)
{
    return s_classified() >= *(long *)arg;
}

static int s_heartbeat_noticed(void *arg)
{
    (void)arg;
    return at_relay_closed(P.pull) > 0;
}

static int s_reconnected(void *arg)
{
    (void)arg;
    return at_relay_open(P.pull) > 0 && at_relay_open(P.pub) > 0;
}

static void test_cut_link(void **state)
{
    (void)state;
    const char *secs = getenv("ANTT_FAULT_SECONDS");
    int seconds = secs && atoi(secs) > 0 ? atoi(secs) : 6;
    at_load_start(&P.load, P.st.port[AT_INTAKE], AT_LOAD_KEY, "cut", 2, 20); /* about 50 reports/s */
    long want = 20;
    assert_true(at_wait_until(s_some_classified, &want, 15000)); /* flowing through the relays */

    long acked_at_cut = P.load.acked;
    at_relay_cut(P.pull, 1);
    at_relay_cut(P.pub, 1);
    int64_t cut_at = antt_now_ms();
    /* nothing on the wire says the peer is gone: only heartbeats (1 s,
     * dropped after 3 s of silence) can tell */
    assert_true(at_wait_until(s_heartbeat_noticed, NULL, 8000));
    int64_t noticed_ms = antt_now_ms() - cut_at;
    long during0 = s_classified();
    while (antt_now_ms() < cut_at + seconds * 1000LL)
        usleep(50 * 1000); /* how long the cable stays out: a pace, not a synchronisation */
    long during1 = s_classified();
    long acked_during = P.load.acked - acked_at_cut;

    at_relay_cut(P.pull, 0);
    at_relay_cut(P.pub, 0);
    int64_t healed_at = antt_now_ms();
    assert_true(at_wait_until(s_reconnected, NULL, 15000));
    int64_t reconnect_ms = antt_now_ms() - healed_at;
    want = during1 + 20;
    assert_true(at_wait_until(s_some_classified, &want, 15000)); /* flowing again */
    at_load_stop(&P.load);

    at_load_table(&P.load, P.db);
    int settled = at_load_settled(P.db, P.load.acked, 60000);
    int64_t drained_ms = antt_now_ms() - healed_at;
    long stored = at_db_long(P.db, "SELECT count(*) FROM acked a JOIN reports r ON r.id = a.id");
    long distinct_stored = at_db_long(P.db, "SELECT count(DISTINCT a.id) FROM acked a JOIN reports r ON r.id = a.id");
    long links = at_db_long(P.db, "SELECT count(*) FROM acked a JOIN incident_reports l ON l.report_id = a.id");
    long routed = at_db_long(P.db, "SELECT count(*) FROM acked a JOIN incident_reports l ON l.report_id = a.id"
                                   " JOIN incidents i ON i.id = l.incident_id AND i.desk_code IS NOT NULL");
    long created = at_db_long(P.db, "SELECT count(*) FROM incident_events e WHERE e.kind = 'created'"
                                    " AND e.incident_id IN (SELECT l.incident_id FROM acked a"
                                    " JOIN incident_reports l ON l.report_id = a.id)");
    long incidents = at_db_long(P.db, "SELECT count(DISTINCT l.incident_id) FROM acked a"
                                      " JOIN incident_reports l ON l.report_id = a.id");
    long counted = at_db_long(P.db, "SELECT count(*) FROM incidents WHERE status NOT IN ('rejected', 'merged')");
    long trend = at_db_long(P.db, "SELECT COALESCE(sum(n1 + n2 + n3 + n4), 0) FROM trend_counts WHERE grain = 'd'");
    printf("cut link, %d s: heartbeat noticed after %lld ms, %ld classified during the cut (in flight),"
           " reconnected %lld ms after the heal, backlog drained %lld ms after it; sent %ld, acked %ld (%ld during the cut), stored %ld,"
           " classified %ld, routed %ld, lost %ld; incidents %ld, trend total %ld\n",
           seconds, (long long)noticed_ms, during1 - during0, (long long)reconnect_ms, (long long)drained_ms,
           P.load.sent, P.load.acked,
           acked_during, stored, links, routed, P.load.acked - distinct_stored, counted, trend);
    assert_true(settled);
    assert_true(noticed_ms <= 6000);
    /* the link was really cut: the reports acknowledged during it waited */
    assert_true(acked_during > 0);
    assert_true(during1 - during0 < acked_during / 2);
    assert_int_equal(stored, P.load.acked);
    assert_int_equal(distinct_stored, P.load.acked);
    assert_int_equal(links, P.load.acked); /* each classified once */
    assert_int_equal(routed, P.load.acked);
    assert_int_equal(created, incidents); /* each incident created once */
    assert_int_equal(trend, counted);
}

/* The incident ids announced on the desk feeds so far (read from sub). */
typedef struct feed_s {
    void *sub;
    char (*ids)[40];
    long n, cap;
} feed_t;

static void s_feed_read(feed_t *f, int ms)
{
    zmq_pollitem_t it = {f->sub, 0, ZMQ_POLLIN, 0};
    while (zmq_poll(&it, 1, ms) > 0) {
        zmq_msg_t t, m;
        zmq_msg_init(&t);
        zmq_msg_init(&m);
        zmq_msg_recv(&t, f->sub, 0);
        zmq_msg_recv(&m, f->sub, 0);
        Antt__V1__IncidentUpdate *u = antt__v1__incident_update__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        if (u && u->incident_id && f->n < f->cap)
            snprintf(f->ids[f->n++], 40, "%s", u->incident_id);
        if (u)
            antt__v1__incident_update__free_unpacked(u, NULL);
        zmq_msg_close(&t);
        zmq_msg_close(&m);
        ms = 0;
    }
}

static PGconn *s_feed_db;

/* every incident of the acknowledged reports was announced on a desk feed */
static int s_all_announced(void *arg)
{
    feed_t *f = arg;
    s_feed_read(f, 50);
    at_db_exec(s_feed_db, "TRUNCATE announced");
    if (f->n > 0) {
        antt_buf_t b;
        antt_buf_init(&b);
        antt_buf_puts(&b, "INSERT INTO announced VALUES ");
        for (long k = 0; k < f->n; k++)
            antt_buf_printf(&b, "%s('%s')", k ? "," : "", f->ids[k]);
        at_db_exec(s_feed_db, b.data);
        antt_buf_cleanup(&b);
    }
    return at_db_long(s_feed_db, "SELECT count(DISTINCT l.incident_id) FROM acked a"
                                 " JOIN incident_reports l ON l.report_id = a.id"
                                 " WHERE l.incident_id NOT IN (SELECT id FROM announced)") == 0;
}

static long s_new_incidents(void)
{
    return at_db_long(s_feed_db, "SELECT count(DISTINCT l.incident_id) FROM acked a"
                                 " JOIN incident_reports l ON l.report_id = a.id");
}

/* Only the link from the worker to notification is cut: reports are
 * classified and recorded meanwhile, but their classified messages never
 * reach notification. Its catch-up from PostgreSQL announces them on the
 * desk feeds all the same, within seconds of their creation. */
static void test_cut_feed(void **state)
{
    (void)state;
    feed_t f = {.cap = 100000};
    f.ids = calloc((size_t)f.cap, 40);
    void *zctx = zmq_ctx_new();
    f.sub = zmq_socket(zctx, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(f.sub, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(f.sub, ZMQ_SUBSCRIBE, "desk.", 5);
    at_stack_curve_as(&P.st, f.sub, AT_NOTIFICATION, AT_AGGREGATION);
    assert_int_equal(zmq_connect(f.sub, P.st.feed_ep), 0);
    s_feed_read(&f, 500);

    /* the reports of this test make incidents of their own (none of the
     * first test's is open for them to join) */
    at_db_exec(P.db, "UPDATE incidents SET status = 'resolved', outcome = 'test', closed_at = now(),"
                     " version = version + 1 WHERE status IN ('new', 'acknowledged', 'assigned')");
    int64_t t0 = antt_now_ms();
    at_load_t load;
    at_load_start(&load, P.st.port[AT_INTAKE], AT_LOAD_KEY, "feedcut", 2, 20);
    s_feed_read(&f, 1000);
    at_relay_cut(P.pub, 1);
    int64_t until = antt_now_ms() + 6000;
    while (antt_now_ms() < until)
        s_feed_read(&f, 100); /* the feed is read while the cable is out */
    at_relay_cut(P.pub, 0);
    s_feed_read(&f, 1000);
    at_load_stop(&load);

    s_feed_db = at_db_connect(P.conninfo);
    at_load_table(&load, s_feed_db);
    at_db_exec(s_feed_db, "CREATE TEMP TABLE announced (id uuid)");
    assert_true(at_load_settled(s_feed_db, load.acked, 30000));
    long acked = at_db_long(s_feed_db, "SELECT count(*) FROM acked"), incidents = s_new_incidents();
    int all = at_wait_until(s_all_announced, &f, 20000);
    char url[64], *body = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", P.st.port[AT_NOTIFICATION]);
    assert_int_equal(at_http("GET", url, NULL, NULL, 0, &body), 200);
    const char *m = strstr(body, "\nantt_notify_caught_up_total ");
    long caught = m ? atol(m + strlen("\nantt_notify_caught_up_total ")) : -1;
    printf("cut feed: acked %ld, their incidents %ld announced %s within %lld ms of the start, %ld of them"
           " caught up from PostgreSQL\n",
           acked, incidents, all ? "all" : "NOT all", (long long)(antt_now_ms() - t0), caught);
    free(body);
    zmq_close(f.sub);
    zmq_ctx_term(zctx);
    free(f.ids);
    PQfinish(s_feed_db);
    at_load_free(&load);
    assert_true(all);
    assert_true(caught > 0); /* the live path could not have done it */
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_link),
        cmocka_unit_test(test_cut_feed),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
