/* agg_feed: the Clone pattern's two sockets. Every changed key goes out on
 * the PUB as a sequenced TrendUpdate (topic "trend.<key>"); a client that
 * joins, or sees a gap, asks the ROUTER for a snapshot: every key under its
 * filter as TrendSnapshotItems, then an end item with the sequence the
 * snapshot is consistent with (or an error).
 *
 * Both are staff channels (docs/decisions.md, "Two audiences"): the PUB is
 * in the trend-feed CURVE zone, which admits staff keys only; a snapshot
 * request carries a staff dashboard token, checked in the database like
 * the HTTP API's, and gets the token's area (or the part of it asked for). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_int.h"
#include "antt_token.h"

#define A_CHECKS_MAX 64 /* token checks in flight; a request beyond is refused */

void agg_feed_metrics(agg_svc_t *a)
{
    a->m_published = antt_metrics_counter("antt_aggregation_updates_total", "Trend updates published", NULL);
    a->m_snapshots = antt_metrics_counter("antt_aggregation_snapshots_total", "Snapshots served on the ROUTER", NULL);
    a->m_bad = antt_metrics_counter("antt_aggregation_malformed_total", "Malformed snapshot requests", NULL);
}

int agg_period_ok(const char *p)
{
    return p == NULL || !*p || !strcmp(p, "day") || !strcmp(p, "week") || !strcmp(p, "month") ||
           !strcmp(p, "quarter") || !strcmp(p, "year");
}

void agg_trend_update_fill(Antt__V1__TrendUpdate *u, const agg_kv_t *kv, const char *epoch)
{
    u->has_sequence = u->has_count = 1;
    u->sequence = kv->seq;
    u->key = kv->key;
    u->area_code = (char *)kv->k.area;
    u->period = (char *)kv->k.period;
    u->bucket = (char *)kv->k.bucket;
    u->dimension = (char *)kv->k.dimension;
    u->count = kv->count;
    u->epoch = (char *)epoch;
}

void agg_feed_publish(agg_svc_t *a, agg_kv_t *const *kv, size_t n)
{
    int64_t now = antt_now_ms();
    for (size_t i = 0; i < n; i++) {
        Antt__V1__TrendUpdate u = ANTT__V1__TREND_UPDATE__INIT;
        agg_trend_update_fill(&u, kv[i], a->epoch);
        u.has_at_ms = 1;
        u.at_ms = now;
        if (kv[i]->source_ms > 0) {
            u.has_source_ms = 1;
            u.source_ms = kv[i]->source_ms;
        }
        char topic[560];
        int tl = snprintf(topic, sizeof(topic), "trend.%s", kv[i]->key);
        if (antt_bus_send(a->pub, topic, (size_t)tl, 1) == 0)
            antt_bus_send_pb(a->pub, (const ProtobufCMessage *)&u, 0);
        antt_metric_inc(a->m_published);
    }
}

typedef struct a_router_ctx {
    agg_svc_t *a;   /* the service */
    zmq_msg_t *env; /* the requester's envelope */
    size_t nenv;    /* its frames */
} a_router_ctx_t;

static void s_send_item(a_router_ctx_t *x, const Antt__V1__TrendSnapshotItem *item)
{
    for (size_t i = 0; i < x->nenv; i++)
        if (antt_bus_send(x->a->router, zmq_msg_data(&x->env[i]), zmq_msg_size(&x->env[i]), 1) != 0)
            return;
    antt_bus_send_pb(x->a->router, (const ProtobufCMessage *)item, 0);
}

static void s_snap_item(const agg_kv_t *kv, void *arg)
{
    a_router_ctx_t *x = arg;
    Antt__V1__TrendUpdate u = ANTT__V1__TREND_UPDATE__INIT;
    agg_trend_update_fill(&u, kv, x->a->epoch);
    Antt__V1__TrendSnapshotItem item = ANTT__V1__TREND_SNAPSHOT_ITEM__INIT;
    item.update = &u;
    s_send_item(x, &item);
}

/* The snapshot (error NULL) or the refusal, then the end item. */
static void s_answer(a_router_ctx_t *x, const char *area, const char *period, const char *error)
{
    agg_svc_t *a = x->a;
    Antt__V1__TrendSnapshotItem end = ANTT__V1__TREND_SNAPSHOT_ITEM__INIT;
    end.has_end = end.has_sequence = 1;
    end.end = 1;
    end.sequence = agg_state_seq(a->st);
    end.epoch = a->epoch;
    if (error == NULL && !a->loaded)
        error = "state not loaded yet";
    if (error == NULL && area && *area && !agg_state_has_area(a->st, area))
        error = "unknown area";
    if (error) {
        end.error = (char *)error;
    } else {
        antt_metric_inc(a->m_snapshots);
        agg_state_each(a->st, area, period, 0, s_snap_item, x);
    }
    s_send_item(x, &end);
}

/* A request waiting for its token's check: the envelope and the request,
 * copied (the frames are the bus's only during its callback). */
typedef struct a_check {
    agg_svc_t *a;            /* the service */
    zmq_msg_t env[8];        /* the envelope */
    size_t nenv;             /* its frames */
    char area[72];           /* asked for ("" the token's) */
    char period[16];         /* asked for ("" any) */
} a_check_t;

static void s_on_scope(antt_db_job_t *job, int status, void *arg)
{
    a_check_t *c = arg;
    agg_svc_t *a = c->a;
    a->checks--;
    PGresult *r = status == 0 ? antt_db_job_result(job, 0) : NULL;
    a_router_ctx_t x = {a, c->env, c->nenv};
    if (a->closing)
        ; /* the socket is closing: no answer */
    else if (r == NULL)
        s_answer(&x, NULL, NULL, "database unavailable");
    else if (PQntuples(r) != 1)
        s_answer(&x, NULL, NULL, "unknown or revoked dashboard token");
    else if (PQgetvalue(r, 0, 1)[0] != 't')
        s_answer(&x, NULL, NULL, "the area is outside the dashboard token's");
    else
        s_answer(&x, c->area[0] ? c->area : PQgetvalue(r, 0, 0), c->period[0] ? c->period : NULL, NULL);
    for (size_t i = 0; i < c->nenv; i++)
        zmq_msg_close(&c->env[i]);
    free(c);
}

/* Checks q's token, then answers (later). Returns an error to answer now, or NULL. */
static const char *s_check(agg_svc_t *a, zmq_msg_t *frames, size_t nenv, const Antt__V1__TrendSnapshotRequest *q)
{
    if (q->token == NULL || !*q->token)
        return "a staff dashboard token is required (antt dashboard-token add)";
    if (strlen(q->token) > ANTT_TOKEN_MAX)
        return "unknown or revoked dashboard token";
    if (a->checks >= A_CHECKS_MAX || nenv > 8)
        return "busy: too many snapshot requests at once";
    a_check_t *c = antt_xcalloc(1, sizeof(*c));
    c->a = a;
    c->nenv = nenv;
    for (size_t i = 0; i < nenv; i++) {
        zmq_msg_init_size(&c->env[i], zmq_msg_size(&frames[i]));
        memcpy(zmq_msg_data(&c->env[i]), zmq_msg_data(&frames[i]), zmq_msg_size(&frames[i]));
    }
    snprintf(c->area, sizeof(c->area), "%s", q->area_code ? q->area_code : "");
    snprintf(c->period, sizeof(c->period), "%s", q->period ? q->period : "");
    uint8_t hash[ANTT_HASH_BYTES];
    antt_token_hash(q->token, hash);
    const char *v[2] = {(const char *)hash, c->area[0] ? c->area : NULL};
    int lens[2] = {ANTT_HASH_BYTES, 0}, fmts[2] = {1, 0};
    antt_db_job_t *job = antt_db_job_new(s_on_scope, c);
    antt_db_job_add(job, "SELECT token_area, allowed FROM antt_dashboard_scope($1::bytea, $2::text)", 2, v, lens, fmts);
    if (antt_db_submit(a->qdb, job) != 0) {
        for (size_t i = 0; i < nenv; i++)
            zmq_msg_close(&c->env[i]);
        free(c);
        return "database unavailable";
    }
    a->checks++;
    return NULL;
}

void agg_feed_on_snapshot(antt_bus_t *bus, zmq_msg_t *frames, size_t nframes, void *arg)
{
    agg_svc_t *a = arg;
    (void)bus;
    if (nframes < 2)
        return;
    a_router_ctx_t x = {a, frames, nframes - 1};
    Antt__V1__TrendSnapshotRequest *q = antt__v1__trend_snapshot_request__unpack(
        NULL, zmq_msg_size(&frames[nframes - 1]), zmq_msg_data(&frames[nframes - 1]));
    const char *error = NULL;
    if (q == NULL) {
        antt_metric_inc(a->m_bad);
        error = "not a TrendSnapshotRequest";
    } else if (q->area_code && *q->area_code && !agg_area_ok(q->area_code)) {
        error = "unknown area";
    } else if (!agg_period_ok(q->period)) {
        error = "bad period (day, week, month, quarter or year)";
    } else {
        error = s_check(a, frames, nframes - 1, q);
    }
    if (error)
        s_answer(&x, NULL, NULL, error);
    if (q)
        antt__v1__trend_snapshot_request__free_unpacked(q, NULL);
}
