/* intake_main: wiring of the intake service (built into the library so that
 * tests can run a whole intake in-process if they need to). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_log.h"
#include "antt_migrate.h"
#include "intake.h"

static int s_ready(void *arg, char *why, size_t whylen)
{
    intake_t *in = arg;
    int up = 0;
    for (int i = 0; i < in->ndbs; i++)
        up += antt_db_connected(in->dbs[i]);
    if (up == 0 || !antt_db_connected(in->rdb)) {
        snprintf(why, whylen, "database not connected");
        return 0;
    }
    if (!intake_gateways_loaded(in->gateways)) {
        snprintf(why, whylen, "gateways not loaded");
        return 0;
    }
    return 1;
}

static void s_on_db_state(antt_db_t *db, int connected, void *arg)
{
    intake_t *in = arg;
    (void)db;
    if (connected && !in->closing) {
        intake_gateways_start(in->gateways);
    }
}

static void s_ensure_partitions(uv_timer_t *t)
{
    intake_t *in = t->data;
    static const char *const tables[] = {"reports", "incident_events", NULL};
    antt_migrate_partitions_ahead(in->rdb, tables);
}

/* A completed handshake on the PUSH socket is a worker that came (or came
 * back): what waited for one is due now. */
static void s_on_worker(void *arg)
{
    intake_redrive_sweep(arg);
}

/* A gateway's key was taken away: its open sessions end (every gateway
 * reconnects, each through the ZAP handler again; an answer in flight is
 * lost and the gateway retries with its idempotency key). */
static void s_on_revoked(void *arg)
{
    intake_t *in = arg;
    if (!in->closing)
        antt_service_rebind(in->svc, in->router, "intake.gateway_endpoint", "tcp://127.0.0.1:5550");
}

static void s_on_stop(antt_service_t *svc, void *arg)
{
    intake_t *in = arg;
    (void)svc;
    in->closing = 1;
    in->router = NULL;
    /* the store fails what waits and ends before its connections close */
    intake_store_close(in->store);
    intake_gateways_close(in->gateways);
    in->push = NULL;
    intake_reporters_destroy(&in->reporters);
    /* the stop walk closes the sockets, connections and timers */
}

static int s_key(antt_config_t *cfg, const char *name, uint8_t out[ANTT_KEY_BYTES])
{
    const char *v = antt_config_get(cfg, name, NULL);
    if (v == NULL || antt_key_decode(v, out) != 0) {
        ANTT_LOG(ANTT_ERROR, "%s must be set to a 32-byte key (64 hex digits); antt keygen makes one",
                 name);
        return -1;
    }
    return 0;
}

int intake_main(int argc, char **argv);

int intake_main(int argc, char **argv)
{
    antt_service_t svc;
    intake_t in;
    memset(&in, 0, sizeof(in));
    if (antt_service_init(&svc, "intake", &intake_settings, &in.set, argc, argv) != 0)
        return 1;
    in.svc = &svc;
    antt_config_t *cfg = svc.cfg;
    if (s_key(cfg, "keys.dispatch_public", in.keys.seal_pk) != 0 ||
        s_key(cfg, "keys.reporter_hash", in.keys.hash_key) != 0)
        return 1;

    in.m_accepted = antt_metrics_counter("antt_intake_replies_total", "Replies to gateways", "result=\"accepted\"");
    in.m_rejected = antt_metrics_counter("antt_intake_replies_total", "Replies to gateways", "result=\"rejected\"");
    in.m_limited = antt_metrics_counter("antt_intake_replies_total", "Replies to gateways", "result=\"rate_limited\"");
    in.m_unavailable = antt_metrics_counter("antt_intake_replies_total", "Replies to gateways", "result=\"unavailable\"");
    in.m_ack_seconds = antt_metrics_histogram("antt_intake_ack_seconds",
                                              "From receiving a report to acknowledging it (after commit)",
                                              NULL, antt_latency_buckets, antt_latency_nbuckets);
    in.m_pushed = antt_metrics_counter("antt_intake_pushed_total", "Reports pushed to classification", "path=\"fast\"");
    in.m_redriven = antt_metrics_counter("antt_intake_pushed_total", "Reports pushed to classification", "path=\"redrive\"");
    in.m_emergency = antt_metrics_counter("antt_intake_emergency_notices_total",
                                          "Answers that told the resident to call 113, 114 or 115", NULL);
    in.m_push_dropped = antt_metrics_counter("antt_intake_push_deferred_total",
                                             "Pushes refused (no worker or queue full), left to the re-drive", NULL);

    in.ndbs = (int)in.set.db_connections;
    for (int i = 0; i < in.ndbs; i++) {
        char name[32];
        snprintf(name, sizeof(name), "write%d", i);
        in.dbs[i] = antt_service_db(&svc, name);
        antt_db_set_max_inflight(in.dbs[i], (int)in.set.pipeline_depth);
    }
    in.rdb = antt_service_db(&svc, "read");
    antt_db_set_state_cb(in.rdb, s_on_db_state, &in);
    antt_db_start(in.rdb);
    in.store = intake_store_new(&svc.loop, in.dbs, in.ndbs, (int)in.set.batch_max, (int)in.set.pipeline_depth,
                                in.set.redrive_after_ms);
    for (int i = 0; i < in.ndbs; i++)
        antt_db_start(in.dbs[i]);
    in.gateways = intake_gateways_new(&svc.loop, in.rdb, in.set.gateway_refresh_ms);
    intake_gateways_set_curve(in.gateways, svc.curve, s_on_revoked, &in);
    in.reporters = intake_reporters_new(65536, (double)in.set.reporter_per_hour, (double)in.set.reporter_burst);

    in.router = antt_bus_new(&svc.loop, svc.zctx, ZMQ_ROUTER, 0, intake_zmq_on_message, &in);
    in.push = antt_bus_new(&svc.loop, svc.zctx, ZMQ_PUSH, 2000, NULL, NULL);
    int hwm = 100000;
    zmq_setsockopt(antt_bus_socket(in.push), ZMQ_SNDHWM, &hwm, sizeof(hwm));
    if (antt_service_bind(&svc, in.router, "intake.gateway_endpoint", "tcp://127.0.0.1:5550", ANTT_ZONE_GATEWAYS,
                          NULL, NULL) != 0 ||
        antt_service_bind(&svc, in.push, "intake.push_endpoint", "tcp://127.0.0.1:5551", ANTT_ZONE_INTAKE_PUSH,
                          s_on_worker, &in) != 0)
        return 1;
    ANTT_LOG(ANTT_INFO, "listening gateway_zmq=%s push=%s", in.set.gateway_endpoint, in.set.push_endpoint);

    intake_open311_register(&in);
    antt_http_set_ready_cb(svc.http, s_ready, &in);
    antt_http_set_error_cb(svc.http, intake_open311_error);
    uv_timer_init(&svc.loop, &in.redrive_timer);
    uv_timer_init(&svc.loop, &in.partition_timer);
    in.partition_timer.data = &in;
    uv_timer_start(&in.partition_timer, s_ensure_partitions, 1000, 6 * 3600 * 1000);
    intake_redrive_start(&in);
    antt_service_on_stop(&svc, s_on_stop, &in);
    return antt_service_run(&svc);
}
