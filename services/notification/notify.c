/* notify: the notification service's life cycle (see notify.h and, for its
 * parts, notify_int.h): configuration, sockets and routes, the desk tree,
 * the timers, readiness and stop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "antt_log.h"
#include "antt_sse.h"
#include "antt_util.h"
#include "notify_int.h"

#define N_CLASSIFIED "incident.classified"

/* ---- desk tree ---------------------------------------------------------- */

static void s_on_desks(antt_db_job_t *job, int status, void *arg)
{
    n_svc_t *n = arg;
    if (status != 0 || n->closing) {
        if (status != -ECANCELED)
            ANTT_LOG(ANTT_WARN, "could not load desks: %s", antt_db_job_error(job) ? antt_db_job_error(job) : "");
        return;
    }
    PGresult *d = antt_db_job_result(job, 0), *r = antt_db_job_result(job, 1);
    notify_desks_t *t = notify_desks_new();
    for (int i = 0; i < PQntuples(d); i++)
        notify_desks_add(t, PQgetvalue(d, i, 0), notify_col(d, i, 1));
    for (int i = 0; i < PQntuples(r); i++)
        notify_desks_add_route(t, PQgetvalue(r, i, 0), PQgetisnull(r, i, 1) ? 0 : atoi(PQgetvalue(r, i, 1)),
                               PQgetvalue(r, i, 2));
    notify_desks_destroy(&n->desks);
    n->desks = t;
    n->loaded = 1;
}

static void s_load_desks(n_svc_t *n)
{
    antt_db_job_t *job = antt_db_job_new(s_on_desks, n);
    antt_db_job_add(job, "SELECT code, antt_parent_desk(code) FROM desks", 0, NULL, NULL, NULL);
    antt_db_job_add(job, "SELECT category, max_priority, desk_code FROM routes ORDER BY id", 0, NULL, NULL, NULL);
    antt_db_submit(n->db, job);
}

/* ---- life cycle -------------------------------------------------------------- */

static void s_on_db_state(antt_db_t *db, int connected, void *arg)
{
    n_svc_t *n = arg;
    (void)db;
    if (connected && !n->closing) {
        /* first what the journal owes, so that streams opened meanwhile
         * are numbered after it */
        notify_sse_db_up(n->sse);
        s_load_desks(n);
        n->next_deadline_ms = 0;
        notify_next_deadline(n);
    }
}

int notify_active(const n_svc_t *n)
{
    return n->leader == NULL || antt_leader_active(n->leader);
}

/* Active: the catch-up announces the last 10 minutes again (what the old
 * leader may not have announced; the same versions, so a console that had
 * them ignores them), the deadline timer is set from the database and the
 * outbox is read. Standby: the timer stops and the desk streams end, so
 * that their clients resume on the active process. */
static void s_on_role(antt_leader_t *l, int active, void *arg)
{
    n_svc_t *n = arg;
    (void)l;
    if (n->closing)
        return;
    if (active) {
        n->catchup_hi[0] = '\0';
        if (antt_db_connected(n->db)) {
            n->next_deadline_ms = 0;
            notify_next_deadline(n);
        }
        notify_webhook_take_over(n->wh);
    } else {
        uv_timer_stop(&n->escalate);
        n->next_deadline_ms = 0;
        notify_sse_end_streams(n->sse);
    }
}

static void s_upkeep(uv_timer_t *t)
{
    n_svc_t *n = t->data;
    if (antt_db_connected(n->db)) {
        s_load_desks(n);
        notify_next_deadline(n);
        notify_sse_prune(n->sse);
    }
}

static int s_ready(void *arg, char *why, size_t whylen)
{
    n_svc_t *n = arg;
    if (!antt_db_connected(n->db)) {
        snprintf(why, whylen, "database not connected");
        return 0;
    }
    if (!n->loaded) {
        snprintf(why, whylen, "desks not loaded");
        return 0;
    }
    return notify_active(n) ? 1 : 2;
}

static void s_on_stop(antt_service_t *svc, void *arg)
{
    n_svc_t *n = arg;
    (void)svc;
    n->closing = 1;
    notify_sse_close(n->sse);
    notify_webhook_close(n->wh);
    n->wh = NULL;
    /* the stop walk closes the sockets, the connection and the timers */
}

static void s_metrics(n_svc_t *n)
{
    n->m_classified = antt_metrics_counter("antt_notify_classified_total", "Classified incidents received", NULL);
    n->m_published = antt_metrics_counter("antt_notify_updates_total", "Incident updates published", NULL);
    n->m_escalated = antt_metrics_counter("antt_notify_escalations_total", "Deadline escalations", NULL);
    n->m_triage_ok = antt_metrics_counter("antt_notify_triage_total", "Triage commands", "result=\"ok\"");
    n->m_triage_err = antt_metrics_counter("antt_notify_triage_total", "Triage commands", "result=\"refused\"");
    n->m_bad = antt_metrics_counter("antt_notify_malformed_total", "Malformed messages dropped", NULL);
    n->m_stage_s = antt_metrics_histogram("antt_notify_classified_to_feed_seconds",
                                          "Stage 3: from the worker publishing an incident to its desk feed message",
                                          NULL, antt_latency_buckets, antt_latency_nbuckets);
    n->m_feed_s = antt_metrics_histogram("antt_notify_feed_latency_seconds",
                                         "From intake receiving a report to its desk feed message",
                                         NULL, antt_latency_buckets, antt_latency_nbuckets);
    n->m_caught_up = antt_metrics_counter("antt_notify_caught_up_total",
                                          "Incidents announced by the catch-up from PostgreSQL"
                                          " (their classified message did not arrive)", NULL);
}

int notify_main(int argc, char **argv)
{
    antt_service_t svc;
    n_svc_t n;
    memset(&n, 0, sizeof(n));
    if (antt_service_init(&svc, "notification", &notify_settings, &n.set, argc, argv) != 0)
        return 1;
    n.svc = &svc;
    antt_config_t *cfg = svc.cfg;
    antt_service_ack_seconds(&svc, n.ack_s, sizeof(n.ack_s));
    const char *pk = antt_config_get(cfg, "keys.dispatch_public", NULL);
    const char *sk = antt_config_get(cfg, "keys.dispatch_secret", NULL);
    n.have_keys = pk && sk && antt_key_decode(pk, n.pk) == 0 && antt_key_decode(sk, n.sk) == 0;
    if (!n.have_keys)
        ANTT_LOG(ANTT_WARN, "keys.dispatch_public/secret not set: reporter contact cannot be unsealed");
    s_metrics(&n);

    n.desks = notify_desks_new();
    n.seen = notify_seen_new();
    n.db = antt_service_db(&svc, "notify");
    n.sse = notify_sse_new(&n, n.set.sse_replay_max, n.set.feed_keep_h, &svc.opts.sse); /* re-checks on n.db */
    antt_db_set_state_cb(n.db, s_on_db_state, &n);
    notify_webhook_prepare(n.db);
    antt_db_start(n.db);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    n.wh = notify_webhook_new(&svc.loop, n.db, (int)n.set.webhook_group_at, (int)n.set.webhook_max_attempts,
                              n.set.webhook_backoff_max_s);
    n.pub = antt_bus_new(&svc.loop, svc.zctx, ZMQ_PUB, 0, NULL, NULL);
    n.sub = antt_bus_new(&svc.loop, svc.zctx, ZMQ_SUB, 0, notify_on_classified, &n);
    n.router = antt_bus_new(&svc.loop, svc.zctx, ZMQ_ROUTER, 1000, notify_on_command, &n);
    zmq_setsockopt(antt_bus_socket(n.sub), ZMQ_SUBSCRIBE, N_CLASSIFIED, strlen(N_CLASSIFIED));
    if (antt_service_bind(&svc, n.pub, "notification.feed_endpoint", NULL, ANTT_ZONE_DESK_FEED, NULL, NULL) != 0 ||
        antt_service_bind(&svc, n.router, "notification.triage_endpoint", NULL, ANTT_ZONE_TRIAGE, NULL, NULL) != 0 ||
        antt_service_bind(&svc, n.sub, "notification.classified_endpoint", NULL, ANTT_ZONE_NOTIFY_CLASSIFIED, NULL,
                          NULL) != 0)
        return 1;
    n.leader = antt_service_leader(&svc, s_on_role, &n);
    notify_webhook_set_leader(n.wh, n.leader);
    antt_leader_route(n.leader, svc.http, "/api/v1/incidents", notify_http_incidents, &n);
    antt_leader_route(n.leader, svc.http, "/api/v1/feed", notify_sse_http_feed, &n);
    uv_timer_init(&svc.loop, &n.escalate);
    n.escalate.data = &n;
    uv_timer_init(&svc.loop, &n.upkeep);
    n.upkeep.data = &n;
    uv_timer_start(&n.upkeep, s_upkeep, 60000, 60000);
    uv_timer_init(&svc.loop, &n.catchup);
    n.catchup.data = &n;
    if (n.set.catchup_interval_ms > 0)
        uv_timer_start(&n.catchup, notify_catchup, (uint64_t)n.set.catchup_interval_ms,
                       (uint64_t)n.set.catchup_interval_ms);
    antt_http_set_ready_cb(svc.http, s_ready, &n);
    antt_service_on_stop(&svc, s_on_stop, &n);
    int rc = antt_service_run(&svc);
    notify_sse_destroy(&n.sse);
    notify_seen_destroy(&n.seen);
    notify_desks_destroy(&n.desks);
    sodium_memzero(n.sk, sizeof(n.sk));
    curl_global_cleanup();
    return rc;
}
