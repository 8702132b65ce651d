/* aggregation_env: the stack of aggregation's integration tests. */
#include "aggregation_env.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include "antt_util.h"
#include "antt/v1/trend.pb-c.h"

ae_env_t AE;

int ae_start(void)
{
    char *env[44];
    int i = 0;
    for (; AE.envv[i]; i++)
        env[i] = AE.envv[i];
    env[i] = NULL;
    if (at_spawn(&AE.agg, "aggregation", env) != 0)
        return -1;
    return at_wait_proc_ready(&AE.agg, AE.port, 20000);
}

int ae_setup(void **state)
{
    (void)state;
    AE.conninfo = at_db_create("antt_aggregation");
    AE.db = at_db_connect(AE.conninfo);
    AE.port = at_free_port();
    size_t cap = sizeof(AE.envv) / sizeof(AE.envv[0]);
    char v[128];
    at_env_add(AE.envv, cap, "ANTT_DB_CONNINFO=%s", AE.conninfo);
    snprintf(v, sizeof(v), "127.0.0.1:%d", AE.port);
    at_env_add(AE.envv, cap, "ANTT_AGGREGATION_HTTP=%s", v);
    snprintf(AE.pub_ep, sizeof(AE.pub_ep), "tcp://127.0.0.1:%d", at_free_port());
    at_env_add(AE.envv, cap, "ANTT_AGGREGATION_PUBLISH_ENDPOINT=%s", AE.pub_ep);
    snprintf(AE.snap_ep, sizeof(AE.snap_ep), "tcp://127.0.0.1:%d", at_free_port());
    at_env_add(AE.envv, cap, "ANTT_AGGREGATION_SNAPSHOT_ENDPOINT=%s", AE.snap_ep);
    snprintf(v, sizeof(v), "tcp://127.0.0.1:%d", at_free_port());
    at_env_add(AE.envv, cap, "ANTT_AGGREGATION_CLASSIFIED_ENDPOINT=%s", v);
    snprintf(v, sizeof(v), "tcp://127.0.0.1:%d", at_free_port());
    at_env_add(AE.envv, cap, "ANTT_AGGREGATION_UPDATE_ENDPOINT=%s", v);
    at_env_add(AE.envv, cap, "ANTT_AGGREGATION_REDRIVE_INTERVAL_MS=%s", "200");
    at_db_exec(AE.db, "INSERT INTO dashboard_tokens (name, area_code, token_hash) SELECT 'test', code,"
                     " sha256(convert_to('" AE_TOKEN "', 'UTF8')) FROM areas WHERE parent_code IS NULL LIMIT 1");
    AE.y = (int)at_db_long(AE.db, "SELECT extract(year FROM antt_trend_today())::int - 1");
    snprintf(AE.ys, sizeof(AE.ys), "%d", AE.y);
    snprintf(AE.yps, sizeof(AE.yps), "%d", AE.y - 1);
    /* the tables' history is data from 1 January of Y-1 (inserted rows are
     * not an import: without this only today on would be) */
    at_db_exec(AE.db, "SELECT antt_coverage_record('VN-HCM', make_date(extract(year FROM antt_trend_today())::int - 2, 1, 1),"
                     " 'operator')");
    if (ae_start() != 0)
        return -1;
    AE.zctx = zmq_ctx_new();
    int linger = 0;
    AE.sub = zmq_socket(AE.zctx, ZMQ_SUB);
    zmq_setsockopt(AE.sub, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(AE.sub, ZMQ_SUBSCRIBE, "trend." AE_DISTRICT "|", strlen("trend." AE_DISTRICT "|"));
    AE.dealer = zmq_socket(AE.zctx, ZMQ_DEALER);
    zmq_setsockopt(AE.dealer, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_connect(AE.sub, AE.pub_ep) != 0 || zmq_connect(AE.dealer, AE.snap_ep) != 0)
        return -1;
    return 0;
}

int ae_teardown(void **state)
{
    (void)state;
    at_stop(&AE.agg, 15, 10000);
    zmq_close(AE.sub);
    zmq_close(AE.dealer);
    zmq_ctx_term(AE.zctx);
    PQfinish(AE.db);
    return 0;
}

void ae_gen(const char *area, const char *category, int year, int n, int step_h, int prio)
{
    at_db_gen_incidents(AE.db, area, category, year, n, step_h, prio);
}

int ae_queue_empty(void *arg)
{
    (void)arg;
    return at_db_long(AE.db, "SELECT count(*) FROM trend_queue") == 0;
}

char *ae_get(const char *path, int *status)
{
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", AE.port, path);
    char *resp = NULL;
    const char *hdrs[] = {"Authorization: Bearer " AE_TOKEN, NULL};
    *status = at_http("GET", url, hdrs, NULL, 0, &resp);
    return resp;
}

int ae_body_has(void *arg)
{
    ae_wait_body_t *w = arg;
    int st;
    char *b = ae_get(w->path, &st);
    int ok = st == 200 && b && strstr(b, w->want);
    free(b);
    return ok;
}


/* Reads TrendUpdates until one for key has count; 1 when found. */
int ae_wait_update(const char *key, long count, int ms, int64_t *seq)
{
    int64_t end = antt_now_ms() + ms;
    while (antt_now_ms() < end) {
        zmq_pollitem_t it = {AE.sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        zmq_msg_t t, m;
        zmq_msg_init(&t);
        zmq_msg_init(&m);
        zmq_msg_recv(&t, AE.sub, 0);
        zmq_msg_recv(&m, AE.sub, 0);
        Antt__V1__TrendUpdate *u = antt__v1__trend_update__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        int hit = u && u->key && !strcmp(u->key, key) && u->count == count;
        if (hit && seq)
            *seq = u->sequence;
        if (u)
            antt__v1__trend_update__free_unpacked(u, NULL);
        zmq_msg_close(&t);
        zmq_msg_close(&m);
        if (hit)
            return 1;
    }
    return 0;
}

/* Asks for a snapshot; returns the count of key in it (-1 absent) and the
 * end's sequence, epoch and error. */
long ae_snapshot(const char *area, const char *period, const char *key, int64_t *seq, char *epoch,
                       char *error)
{
    Antt__V1__TrendSnapshotRequest q = ANTT__V1__TREND_SNAPSHOT_REQUEST__INIT;
    q.area_code = (char *)area;
    q.period = (char *)period;
    q.token = AE_TOKEN;
    uint8_t buf[256];
    size_t len = antt__v1__trend_snapshot_request__pack(&q, buf);
    zmq_send(AE.dealer, buf, len, 0);
    long found = -1;
    error[0] = 0;
    for (;;) {
        zmq_pollitem_t it = {AE.dealer, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 10000) <= 0)
            return -2;
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, AE.dealer, 0);
        Antt__V1__TrendSnapshotItem *x = antt__v1__trend_snapshot_item__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        zmq_msg_close(&m);
        if (x == NULL)
            return -3;
        int end = x->end;
        if (x->update && x->update->key && !strcmp(x->update->key, key))
            found = x->update->count;
        if (end) {
            *seq = x->sequence;
            snprintf(epoch, 48, "%s", x->epoch ? x->epoch : "");
            snprintf(error, 128, "%s", x->error ? x->error : "");
        }
        antt__v1__trend_snapshot_item__free_unpacked(x, NULL);
        if (end)
            return found;
    }
}


long ae_metric(const char *name)
{
    char url[128], *b = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", AE.port);
    at_http("GET", url, NULL, NULL, 0, &b);
    char line[160];
    snprintf(line, sizeof(line), "\n%s ", name); /* the sample, not its # HELP */
    const char *p = b ? strstr(b, line) : NULL;
    long v = p ? atol(p + strlen(line)) : -1;
    free(b);
    return v;
}
