/* agg: the aggregation service's main (see agg.h and agg_int.h): settings,
 * sockets, routes and timers; the work is in agg_drain, agg_feed,
 * agg_stream and agg_api. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_int.h"
#include "agg_settings.h"

static int s_ready(void *arg, char *why, size_t whylen)
{
    agg_svc_t *a = arg;
    if (!antt_db_connected(a->db) || !antt_db_connected(a->qdb)) {
        snprintf(why, whylen, "database not connected");
        return 0;
    }
    if (!antt_leader_active(a->leader))
        return 2; /* a standby keeps no state */
    if (!a->loaded) {
        snprintf(why, whylen, "trend state not loaded");
        return 0;
    }
    return 1;
}

/* Active: the state is loaded under a new epoch (every dashboard
 * resynchronises from a snapshot). Standby: the state is dropped
 * (snapshots and streams answer "not loaded") and the streams end, so that
 * their clients go to the active process. */
static void s_on_role(antt_leader_t *l, int active, void *arg)
{
    agg_svc_t *a = arg;
    (void)l;
    if (a->closing)
        return;
    if (active) {
        agg_load(a);
        return;
    }
    a->loaded = 0;
    antt_sse_end_all(a->hub);
}

static void s_on_stop(antt_service_t *svc, void *arg)
{
    agg_svc_t *a = arg;
    (void)svc;
    a->closing = 1;
    agg_stream_close(a);
    /* the stop walk closes the sockets, the connections and the timers */
}

static int s_sockets(antt_service_t *svc, agg_svc_t *a, const agg_settings_t *set)
{
    a->pub = antt_bus_new(&svc->loop, svc->zctx, ZMQ_PUB, 0, NULL, NULL);
    a->sub = antt_bus_new(&svc->loop, svc->zctx, ZMQ_SUB, 0, agg_on_kick, a);
    a->router = antt_bus_new(&svc->loop, svc->zctx, ZMQ_ROUTER, 0, agg_feed_on_snapshot, a);
    /* a snapshot is many messages to one peer (the city's state is some
     * 100,000 keys); a peer that does not read stops costing memory there */
    int hwm = 200000;
    zmq_setsockopt(antt_bus_socket(a->router), ZMQ_SNDHWM, &hwm, sizeof(hwm));
    /* a slow subscriber loses updates beyond this (and resynchronises from a
     * snapshot on the gap) rather than growing the publisher's memory */
    hwm = 10000;
    zmq_setsockopt(antt_bus_socket(a->pub), ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(antt_bus_socket(a->sub), ZMQ_SUBSCRIBE, "incident.", 9);
    if (antt_service_bind(svc, a->pub, "aggregation.publish_endpoint", NULL, ANTT_ZONE_TRENDS, NULL, NULL) != 0 ||
        antt_service_bind(svc, a->router, "aggregation.snapshot_endpoint", NULL, ANTT_ZONE_SNAPSHOTS, NULL, NULL) != 0 ||
        antt_service_bind(svc, a->sub, "aggregation.classified_endpoint", NULL, ANTT_ZONE_AGG_CLASSIFIED, NULL,
                          NULL) != 0)
        return -1;
    const char *feed = set->update_endpoint;
    /* the options of the bind above stay with its listener: the same
     * socket is a CURVE server for classification and a client of
     * notification's feed, whose IncidentUpdates (a note among them) may
     * be larger than a ClassifiedIncident */
    antt_bus_set_maxmsg(a->sub, 256 * 1024);
    if (feed && *feed && antt_service_connect(svc, a->sub, feed, "notification") != 0)
        return -1;
    return 0;
}

int agg_main(int argc, char **argv)
{
    antt_service_t svc;
    agg_svc_t a;
    agg_settings_t set;
    memset(&a, 0, sizeof(a));
    if (antt_service_init(&svc, "aggregation", &agg_settings, &set, argc, argv) != 0)
        return 1;
    a.svc = &svc;
    a.batch_max = set.batch_max;
    a.interval_ms = set.drain_interval_ms;
    a.pub_rules.min_count = set.public_min_count;
    a.pub_rules.delay_s = set.public_delay_s;
    long redrive_ms = set.redrive_interval_ms;
    a.st = agg_state_new();
    agg_drain_init(&a);
    agg_feed_metrics(&a);
    a.db = antt_service_db(&svc, "trends");
    antt_db_set_max_inflight(a.db, 2);
    antt_db_set_state_cb(a.db, agg_on_db_state, &a);
    antt_db_start(a.db);
    a.qdb = antt_service_db(&svc, "trend-queries");
    antt_db_set_max_inflight(a.qdb, 4);
    antt_db_start(a.qdb);
    agg_stream_init(&a, &svc.opts.sse); /* its token re-check reads qdb */
    if (s_sockets(&svc, &a, &set) != 0)
        return 1;
    a.leader = antt_service_leader(&svc, s_on_role, &a);
    void *routes = agg_api_register(&a, svc.http);
    uv_timer_init(&svc.loop, &a.redrive);
    a.redrive.data = &a;
    uv_timer_start(&a.redrive, agg_on_redrive, (uint64_t)redrive_ms, (uint64_t)redrive_ms);
    uv_timer_init(&svc.loop, &a.pace);
    a.pace.data = &a;
    uv_timer_init(&svc.loop, &a.upkeep);
    a.upkeep.data = &a;
    uv_timer_start(&a.upkeep, agg_on_upkeep, 5000, 5000);
    antt_http_set_ready_cb(svc.http, s_ready, &a);
    antt_service_on_stop(&svc, s_on_stop, &a);
    int rc = antt_service_run(&svc);
    agg_state_free(a.st);
    agg_api_free(routes);
    return rc;
}
