/* agg_drain: the live trend state's life on the drain connection.
 *
 * The state is loaded from trend_counts (agg_load), then kept current by
 * draining trend_queue (agg_drain: antt_trend_apply_queue diffs each
 * incident's contribution, so replays change nothing), and reloaded when
 * the upkeep sees a rebuild or a new day, or when a drain's outcome is
 * unknown. One job is in flight at a time (agg_db_state_t); a load asked
 * for while a drain runs waits for it. Every changed key goes to the feed
 * and the SSE streams. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agg_int.h"
#include "antt_log.h"
#include "antt/v1/incident.pb-c.h"

#define A_TODAY "antt_trend_today()"
#define A_DAY_MIN "date_trunc('week', " A_TODAY " - 62)::date"
#define A_YEAR_MIN "make_date(extract(year FROM " A_TODAY ")::integer - 1, 1, 1)"

static void s_new_epoch(agg_svc_t *a);

void agg_drain_init(agg_svc_t *a)
{
    s_new_epoch(a);
    a->m_applied = antt_metrics_counter("antt_aggregation_changes_total", "Leaf counter changes applied", NULL);
    a->m_drains = antt_metrics_counter("antt_aggregation_drains_total", "Queue drains committed", NULL);
    a->m_keys = antt_metrics_gauge("antt_aggregation_state_keys", "Keys in the live trend state", NULL);
    a->m_lag = antt_metrics_histogram("antt_aggregation_lag_seconds",
                                      "From an incident change (its updated_at) to its trend update being published",
                                      NULL, antt_latency_buckets, antt_latency_nbuckets);
    a->m_drain_s = antt_metrics_histogram("antt_aggregation_drain_seconds",
                                          "Queue drain transactions, submit to commit", NULL, antt_latency_buckets,
                                          antt_latency_nbuckets);
}

static void s_new_epoch(agg_svc_t *a)
{
    uint8_t r[6];
    randombytes_buf(r, sizeof(r));
    snprintf(a->epoch, sizeof(a->epoch), "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
}

/* The changed keys to the feed and the streams. */
static void s_publish(agg_svc_t *a)
{
    size_t n;
    agg_kv_t **kv = agg_state_take(a->st, &n);
    agg_feed_publish(a, kv, n);
    agg_stream_publish(a, kv, n);
    antt_metric_set(a->m_keys, (double)agg_state_size(a->st));
}

static void s_set_tree(agg_svc_t *a, PGresult *ar, PGresult *gr)
{
    size_t na = (size_t)PQntuples(ar), ng = (size_t)PQntuples(gr);
    char **codes = antt_xcalloc(na + 1, sizeof(char *)), **parents = antt_xcalloc(na + 1, sizeof(char *));
    char **groups = antt_xcalloc(ng + 1, sizeof(char *)), **cats = antt_xcalloc(ng + 1, sizeof(char *));
    for (size_t i = 0; i < na; i++) {
        codes[i] = PQgetvalue(ar, (int)i, 0);
        parents[i] = PQgetisnull(ar, (int)i, 1) ? NULL : PQgetvalue(ar, (int)i, 1);
    }
    for (size_t i = 0; i < ng; i++) {
        groups[i] = PQgetvalue(gr, (int)i, 0);
        cats[i] = PQgetvalue(gr, (int)i, 1);
    }
    agg_state_set_tree(a->st, codes, parents, na, groups, cats, ng);
    for (size_t i = 0; i < na; i++)
        if (PQgetvalue(ar, (int)i, 2)[0] == 't')
            agg_state_set_fine(a->st, codes[i]);
    free(codes);
    free(parents);
    free(groups);
    free(cats);
}

static void s_on_load(antt_db_job_t *job, int status, void *arg)
{
    agg_svc_t *a = arg;
    a->dbst = AGG_DB_IDLE;
    if (status != 0 || a->closing) {
        if (status != -ECANCELED)
            ANTT_LOG(ANTT_WARN, "could not load the trend state: %s",
                     antt_db_job_error(job) ? antt_db_job_error(job) : "connection lost");
        a->need_load = 1;
        return;
    }
    if (a->leader && !antt_leader_active(a->leader)) {
        a->need_load = 1; /* it became a standby meanwhile: it keeps no state */
        return;
    }
    PGresult *mr = antt_db_job_result(job, 2), *dr = antt_db_job_result(job, 3), *mo = antt_db_job_result(job, 4);
    s_set_tree(a, antt_db_job_result(job, 0), antt_db_job_result(job, 1));
    a->generation = atoll(PQgetvalue(mr, 0, 0));
    a->today = atoi(PQgetvalue(mr, 0, 1));
    agg_state_reset(a->st, atoi(PQgetvalue(mr, 0, 2)), atoi(PQgetvalue(mr, 0, 3)));
    for (int i = 0; i < PQntuples(dr); i++)
        agg_state_add(a->st, PQgetvalue(dr, i, 0), atoi(PQgetvalue(dr, i, 1)), PQgetvalue(dr, i, 2),
                      atoll(PQgetvalue(dr, i, 3)), AGG_P_DAY | AGG_P_WEEK, 0);
    for (int i = 0; i < PQntuples(mo); i++)
        agg_state_add(a->st, PQgetvalue(mo, i, 0), atoi(PQgetvalue(mo, i, 1)), PQgetvalue(mo, i, 2),
                      atoll(PQgetvalue(mo, i, 3)), AGG_P_MONTH | AGG_P_QUARTER | AGG_P_YEAR, 0);
    /* loaded values are the snapshot: they carry no sequence */
    size_t n;
    agg_kv_t **kv = agg_state_take(a->st, &n);
    for (size_t i = 0; i < n; i++)
        kv[i]->seq = 0;
    s_new_epoch(a);
    a->loaded = 1;
    a->need_load = 0;
    antt_metric_set(a->m_keys, (double)agg_state_size(a->st));
    ANTT_LOG(ANTT_INFO, "trend state loaded: %zu keys, epoch %s, generation %lld", agg_state_size(a->st), a->epoch,
             (long long)a->generation);
    agg_stream_resync_all(a);
    agg_drain(a);
}

void agg_load(agg_svc_t *a)
{
    if (a->closing || a->dbst == AGG_DB_LOADING || (a->leader && !antt_leader_active(a->leader)))
        return; /* a standby keeps no state: it loads when it takes over */
    if (a->dbst == AGG_DB_DRAINING || !antt_db_connected(a->db)) {
        a->need_load = 1; /* after the drain, or when the connection is back */
        return;
    }
    antt_db_job_t *job = antt_db_job_new(s_on_load, a);
    antt_db_job_add(job, "SELECT code, parent_code, level = 'neighbourhood' FROM areas", 0, NULL, NULL, NULL);
    antt_db_job_add(job, "SELECT group_code, category FROM stat_group_members", 0, NULL, NULL, NULL);
    antt_db_job_add(job,
                    "SELECT generation, " A_TODAY " - date '1970-01-01', " A_DAY_MIN " - date '1970-01-01', " A_YEAR_MIN
                    " - date '1970-01-01' FROM trend_meta",
                    0, NULL, NULL, NULL);
    antt_db_job_add(job,
                    "SELECT area_code, bucket - date '1970-01-01', category, sum(n1 + n2 + n3 + n4) FROM trend_counts"
                    " WHERE grain = 'd' AND bucket >= " A_DAY_MIN " GROUP BY 1, 2, 3 HAVING sum(n1 + n2 + n3 + n4) <> 0",
                    0, NULL, NULL, NULL);
    antt_db_job_add(job,
                    "SELECT area_code, bucket - date '1970-01-01', category, sum(n1 + n2 + n3 + n4) FROM trend_counts"
                    " WHERE grain = 'm' AND bucket >= " A_YEAR_MIN " GROUP BY 1, 2, 3 HAVING sum(n1 + n2 + n3 + n4) <> 0",
                    0, NULL, NULL, NULL);
    if (antt_db_submit(a->db, job) != 0)
        a->need_load = 1;
    else
        a->dbst = AGG_DB_LOADING;
}

static void s_on_drain(antt_db_job_t *job, int status, void *arg)
{
    agg_svc_t *a = arg;
    a->dbst = AGG_DB_IDLE;
    if (a->closing || status == -ECANCELED)
        return;
    if (status == -ECONNRESET) {
        /* committed or not, we cannot tell: the state is rebuilt from the
         * database when the connection is back */
        a->need_load = 1;
        return;
    }
    if (status != 0) {
        ANTT_LOG(ANTT_WARN, "trend drain failed: %s", antt_db_job_error(job) ? antt_db_job_error(job) : "");
        if (a->need_load)
            agg_load(a);
        return; /* else the redrive timer tries again */
    }
    antt_metric_inc(a->m_drains);
    antt_metric_observe(a->m_drain_s, antt_db_job_seconds(job));
    PGresult *r = antt_db_job_result(job, antt_db_job_count(job) - 1); /* after the fence */
    int rows = PQntuples(r);
    int64_t now = antt_now_ms();
    for (int i = 0; i < rows; i++) {
        int64_t src = atoll(PQgetvalue(r, i, 4));
        if (agg_state_add(a->st, PQgetvalue(r, i, 0), atoi(PQgetvalue(r, i, 1)), PQgetvalue(r, i, 2),
                          atoll(PQgetvalue(r, i, 3)), AGG_P_ALL, src) != 0)
            a->need_load = 1; /* an area created since the load */
        antt_metric_add(a->m_applied, 1);
        if (src > 0)
            antt_metric_observe(a->m_lag, (double)(now - src) / 1000.0);
    }
    s_publish(a);
    if (a->need_load) {
        agg_load(a);
        return;
    }
    if (a->kicked || rows > 0)
        agg_drain(a); /* paced: see agg_drain */
}

static void s_on_pace(uv_timer_t *t)
{
    agg_drain(t->data);
}

/* Starts a drain now, or at the end of the pacing interval (changes arriving
 * meanwhile are drained together: one transaction instead of many). */
void agg_drain(agg_svc_t *a)
{
    if (a->closing || !a->loaded || !antt_db_connected(a->db) || (a->leader && !antt_leader_active(a->leader)))
        return;
    if (a->dbst != AGG_DB_IDLE || uv_is_active((uv_handle_t *)&a->pace)) {
        a->kicked = 1;
        return;
    }
    uint64_t now = uv_now(&a->svc->loop);
    if (a->last_drain && now < a->last_drain + (uint64_t)a->interval_ms) {
        a->kicked = 1;
        uv_timer_start(&a->pace, s_on_pace, a->last_drain + (uint64_t)a->interval_ms - now, 0);
        return;
    }
    a->last_drain = now;
    a->kicked = 0;
    char max[24];
    snprintf(max, sizeof(max), "%ld", a->batch_max);
    const char *v[1] = {max};
    antt_db_job_t *job = antt_db_job_new(s_on_drain, a);
    if (a->leader)
        antt_leader_fence(a->leader, job);
    antt_db_job_add(job,
                    "SELECT area_code, day - date '1970-01-01', category, delta,"
                    " COALESCE((extract(epoch FROM changed_at) * 1000)::bigint, 0)"
                    " FROM antt_trend_apply_queue($1::integer)",
                    1, v, NULL, NULL);
    if (antt_db_submit(a->db, job) == 0)
        a->dbst = AGG_DB_DRAINING;
}

void agg_on_db_state(antt_db_t *db, int connected, void *arg)
{
    agg_svc_t *a = arg;
    (void)db;
    a->dbst = AGG_DB_IDLE; /* what was in flight has failed */
    if (connected && !a->closing)
        agg_load(a);
}

/* An incident message is a kick: what changed is read from the queue, so a
 * message's content, order or repetition does not matter. Only messages
 * that can change a count kick: a new incident, not a report joining one;
 * a state change, not a note. */
void agg_on_kick(antt_bus_t *bus, zmq_msg_t *frames, size_t nframes, void *arg)
{
    (void)bus;
    if (nframes != 2)
        return;
    const char *topic = zmq_msg_data(&frames[0]);
    size_t tl = zmq_msg_size(&frames[0]);
    int kick = 1;
    if (tl >= 19 && !memcmp(topic, "incident.classified", 19)) {
        Antt__V1__ClassifiedIncident *c = antt__v1__classified_incident__unpack(NULL, zmq_msg_size(&frames[1]),
                                                                                zmq_msg_data(&frames[1]));
        kick = c == NULL || !c->has_new_incident || c->new_incident;
        if (c)
            antt__v1__classified_incident__free_unpacked(c, NULL);
    } else if (tl >= 16 && !memcmp(topic, "incident.update.", 16)) {
        Antt__V1__IncidentUpdate *u = antt__v1__incident_update__unpack(NULL, zmq_msg_size(&frames[1]),
                                                                        zmq_msg_data(&frames[1]));
        kick = u == NULL || !(u->kind == ANTT__V1__UPDATE_KIND__UPDATE_REPORT_JOINED ||
                              u->kind == ANTT__V1__UPDATE_KIND__UPDATE_NOTE ||
                              u->kind == ANTT__V1__UPDATE_KIND__UPDATE_CONTACT_UNSEALED);
        if (u)
            antt__v1__incident_update__free_unpacked(u, NULL);
    }
    if (kick)
        agg_drain(arg);
}

void agg_on_redrive(uv_timer_t *t)
{
    agg_svc_t *a = t->data;
    if (a->need_load)
        agg_load(a);
    else
        agg_drain(a);
}

static void s_on_meta(antt_db_job_t *job, int status, void *arg)
{
    agg_svc_t *a = arg;
    if (status != 0 || a->closing)
        return;
    PGresult *r = antt_db_job_result(job, 0);
    if (PQntuples(r) != 1)
        return;
    if (atoll(PQgetvalue(r, 0, 0)) != a->generation || atoi(PQgetvalue(r, 0, 1)) != a->today) {
        ANTT_LOG(ANTT_INFO, "trends rebuilt or a new day began: reloading the state");
        agg_load(a);
    }
}

void agg_on_upkeep(uv_timer_t *t)
{
    agg_svc_t *a = t->data;
    if (!a->loaded || !antt_db_connected(a->db))
        return;
    antt_db_job_t *job = antt_db_job_new(s_on_meta, a);
    antt_db_job_add(job, "SELECT generation, " A_TODAY " - date '1970-01-01' FROM trend_meta", 0, NULL, NULL, NULL);
    antt_db_submit(a->db, job);
}
