/* agg_feed: the Clone pattern's two sockets. Every changed key goes out on
 * the PUB as a sequenced TrendUpdate (topic "trend.<key>"); a client that
 * joins, or sees a gap, asks the ROUTER for a snapshot: every key under its
 * filter as TrendSnapshotItems, then an end item with the sequence the
 * snapshot is consistent with (or an error). */
#include <stdio.h>
#include <string.h>

#include "agg_int.h"

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

void agg_feed_on_snapshot(antt_bus_t *bus, zmq_msg_t *frames, size_t nframes, void *arg)
{
    agg_svc_t *a = arg;
    (void)bus;
    if (nframes < 2)
        return;
    a_router_ctx_t x = {a, frames, nframes - 1};
    Antt__V1__TrendSnapshotItem end = ANTT__V1__TREND_SNAPSHOT_ITEM__INIT;
    end.has_end = end.has_sequence = 1;
    end.end = 1;
    end.sequence = agg_state_seq(a->st);
    end.epoch = a->epoch;
    Antt__V1__TrendSnapshotRequest *q = antt__v1__trend_snapshot_request__unpack(
        NULL, zmq_msg_size(&frames[nframes - 1]), zmq_msg_data(&frames[nframes - 1]));
    if (q == NULL) {
        antt_metric_inc(a->m_bad);
        end.error = "not a TrendSnapshotRequest";
    } else if (!a->loaded) {
        end.error = "state not loaded yet";
    } else if (q->area_code && *q->area_code && !agg_state_has_area(a->st, q->area_code)) {
        end.error = "unknown area";
    } else if (!agg_period_ok(q->period)) {
        end.error = "bad period (day, week, month, quarter or year)";
    } else {
        antt_metric_inc(a->m_snapshots);
        agg_state_each(a->st, q->area_code, q->period, 0, s_snap_item, &x);
    }
    s_send_item(&x, &end);
    if (q)
        antt__v1__trend_snapshot_request__free_unpacked(q, NULL);
}
