/* agg: the aggregation service (see agg.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agg.h"
#include "agg_settings.h"
#include "agg_state.h"
#include "antt_bus.h"
#include "antt_db.h"
#include "antt_form.h"
#include "antt_json.h"
#include "antt_log.h"
#include "antt_metrics.h"
#include "antt_service.h"
#include "antt_util.h"
#include "antt/v1/incident.pb-c.h"
#include "antt/v1/trend.pb-c.h"

#define A_SSE_MAX_PENDING 2000 /* writes a slow SSE client may owe before it is dropped */

typedef struct a_sse {
    antt_http_req_t *req;
    char area[72];       /* subtree filter, "" = all */
    char period[16];     /* period filter, "" = any */
    int pending;         /* writes still buffered */
    struct a_sse *next;
} a_sse_t;

typedef struct a_svc {
    antt_service_t *svc;
    antt_db_t *db;       /* the queue drain and the state load */
    antt_db_t *qdb;      /* HTTP queries */
    antt_bus_t *sub;     /* kicks: classified incidents and incident updates */
    antt_bus_t *pub;     /* sequenced trend updates */
    antt_bus_t *router;  /* snapshots */
    agg_state_t *st;
    char epoch[48];      /* this state's identity: a new one means resync */
    int loaded;          /* the state has been loaded once */
    int need_load;       /* reload at the next chance */
    int loading;         /* a load job is in flight */
    int draining;        /* a drain job is in flight */
    int kicked;          /* something arrived while draining */
    int32_t today;       /* the day the state was loaded for */
    int64_t generation;  /* trend_meta.generation at load */
    long batch_max;      /* queue rows per drain */
    a_sse_t *sse;
    uv_timer_t redrive;  /* drains the queue even when no message arrives */
    uv_timer_t pace;     /* the next drain after a busy one */
    long interval_ms;    /* at least this long between the starts of two drains */
    uint64_t last_drain; /* loop time of the last drain's start */
    uv_timer_t upkeep;   /* checks for rebuilds and a new day */
    int closing;
    antt_metric_t *m_applied, *m_published, *m_drains, *m_keys, *m_lag, *m_sse, *m_snapshots, *m_bad;
    antt_metric_t *m_dropped_sse, *m_drain_s;
} a_svc_t;

static void s_drain(a_svc_t *a);

/* ---- loading the state ------------------------------------------------------ */

static void s_new_epoch(a_svc_t *a)
{
    uint8_t r[6];
    randombytes_buf(r, sizeof(r));
    snprintf(a->epoch, sizeof(a->epoch), "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
}

static void s_sse_resync_all(a_svc_t *a);

static void s_on_load(antt_db_job_t *job, int status, void *arg)
{
    a_svc_t *a = arg;
    a->loading = 0;
    if (status != 0 || a->closing) {
        if (status != -ECANCELED)
            ANTT_LOG(ANTT_WARN, "could not load the trend state: %s",
                     antt_db_job_error(job) ? antt_db_job_error(job) : "connection lost");
        a->need_load = 1;
        return;
    }
    PGresult *ar = antt_db_job_result(job, 0), *gr = antt_db_job_result(job, 1), *mr = antt_db_job_result(job, 2);
    PGresult *dr = antt_db_job_result(job, 3), *mo = antt_db_job_result(job, 4);
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
    free(codes);
    free(parents);
    free(groups);
    free(cats);
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
    s_sse_resync_all(a);
    s_drain(a);
}

#define A_TODAY "antt_trend_today()"
#define A_DAY_MIN "date_trunc('week', " A_TODAY " - 62)::date"
#define A_YEAR_MIN "make_date(extract(year FROM " A_TODAY ")::integer - 1, 1, 1)"

static void s_load(a_svc_t *a)
{
    if (a->loading)
        return;
    antt_db_job_t *job = antt_db_job_new(s_on_load, a);
    antt_db_job_add(job, "SELECT code, parent_code FROM areas", 0, NULL, NULL, NULL);
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
        a->loading = 1;
}

/* ---- publishing ----------------------------------------------------------------- */

/* Splits a key into its four parts (in place, in a copy). */
static int s_key_parts(char *copy, char **parts)
{
    int k = 0;
    parts[k++] = copy;
    for (char *p = copy; *p && k < 4; p++)
        if (*p == '|') {
            *p = 0;
            parts[k++] = p + 1;
        }
    return k == 4 ? 0 : -1;
}

static void s_kv_json(antt_buf_t *b, const a_svc_t *a, const agg_kv_t *kv)
{
    char copy[512], *parts[4];
    snprintf(copy, sizeof(copy), "%s", kv->key);
    if (s_key_parts(copy, parts) != 0)
        return;
    antt_buf_puts(b, "{\"key\":");
    antt_json_cstr(b, kv->key);
    antt_buf_puts(b, ",\"area\":");
    antt_json_cstr(b, parts[0]);
    antt_buf_printf(b, ",\"period\":\"%s\",\"bucket\":\"%s\",\"dimension\":", parts[1], parts[2]);
    antt_json_cstr(b, parts[3]);
    antt_buf_printf(b, ",\"count\":%lld,\"sequence\":%lld,\"epoch\":\"%s\"}", (long long)kv->count,
                    (long long)kv->seq, a->epoch);
}

static void s_sse_drop(a_svc_t *a, a_sse_t *c)
{
    for (a_sse_t **p = &a->sse; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    free(c);
    antt_metric_set(a->m_sse, antt_metric_value(a->m_sse) - 1);
}

/* Writes to one SSE client; a client that owes too much is ended (its
 * browser reconnects with Last-Event-ID and gets what it missed). Returns -1
 * when the client was dropped. */
static int s_sse_write(a_svc_t *a, a_sse_t *c, const char *data, size_t len)
{
    int rc = antt_http_stream_write(c->req, data, len);
    if (rc == -EAGAIN && ++c->pending > A_SSE_MAX_PENDING) {
        antt_metric_inc(a->m_dropped_sse);
        antt_http_stream_end(c->req);
        s_sse_drop(a, c);
        return -1;
    }
    if (rc == 0)
        c->pending = 0;
    return rc == -EPIPE ? -1 : 0;
}

typedef struct a_snap_ctx {
    a_svc_t *a;
    antt_buf_t *b;
    size_t n;
} a_snap_ctx_t;

static void s_snap_json(const agg_kv_t *kv, void *arg)
{
    a_snap_ctx_t *x = arg;
    antt_buf_puts(x->b, x->n++ ? "," : "");
    s_kv_json(x->b, x->a, kv);
}

/* Sends a client the whole state under its filter as one "snapshot" event
 * whose id is the sequence it is consistent with. */
static void s_sse_snapshot(a_svc_t *a, a_sse_t *c)
{
    antt_buf_t b;
    antt_buf_init(&b);
    antt_buf_printf(&b, "event: snapshot\nid: %s:%lld\ndata: {\"epoch\":\"%s\",\"sequence\":%lld,\"items\":[", a->epoch,
                    (long long)agg_state_seq(a->st), a->epoch, (long long)agg_state_seq(a->st));
    a_snap_ctx_t x = {a, &b, 0};
    agg_state_each(a->st, c->area, c->period, 0, s_snap_json, &x);
    antt_buf_puts(&b, "]}\n\n");
    s_sse_write(a, c, b.data, b.len);
    antt_buf_cleanup(&b);
}

static void s_sse_resync_all(a_svc_t *a)
{
    a_sse_t *c = a->sse;
    while (c) {
        a_sse_t *next = c->next;
        s_sse_snapshot(a, c);
        c = next;
    }
}

static void s_publish(a_svc_t *a)
{
    size_t n;
    agg_kv_t **kv = agg_state_take(a->st, &n);
    int64_t now = antt_now_ms();
    for (size_t i = 0; i < n; i++) {
        char copy[512], *parts[4];
        snprintf(copy, sizeof(copy), "%s", kv[i]->key);
        if (s_key_parts(copy, parts) != 0)
            continue;
        Antt__V1__TrendUpdate u = ANTT__V1__TREND_UPDATE__INIT;
        u.has_sequence = u.has_count = u.has_at_ms = 1;
        u.sequence = kv[i]->seq;
        u.key = kv[i]->key;
        u.area_code = parts[0];
        u.period = parts[1];
        u.bucket = parts[2];
        u.dimension = parts[3];
        u.count = kv[i]->count;
        u.at_ms = now;
        u.epoch = a->epoch;
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
    if (a->sse && n) {
        a_sse_t *c = a->sse;
        while (c) {
            a_sse_t *next = c->next;
            antt_buf_t b;
            antt_buf_init(&b);
            for (size_t i = 0; i < n; i++) {
                if (!agg_state_under(a->st, kv[i], c->area))
                    continue;
                if (c->period[0]) {
                    char pat[24];
                    snprintf(pat, sizeof(pat), "|%s|", c->period);
                    if (!strstr(kv[i]->key, pat))
                        continue;
                }
                antt_buf_printf(&b, "event: trend\nid: %s:%lld\ndata: ", a->epoch, (long long)kv[i]->seq);
                s_kv_json(&b, a, kv[i]);
                antt_buf_puts(&b, "\n\n");
            }
            if (b.len)
                s_sse_write(a, c, b.data, b.len);
            antt_buf_cleanup(&b);
            c = next;
        }
    }
    antt_metric_set(a->m_keys, (double)agg_state_size(a->st));
}

/* ---- draining the queue ----------------------------------------------------------- */

static void s_on_drain(antt_db_job_t *job, int status, void *arg)
{
    a_svc_t *a = arg;
    a->draining = 0;
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
        return; /* the redrive timer tries again */
    }
    antt_metric_inc(a->m_drains);
    antt_metric_observe(a->m_drain_s, antt_db_job_seconds(job));
    PGresult *r = antt_db_job_result(job, 0);
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
        s_load(a);
        return;
    }
    if (a->kicked || rows > 0)
        s_drain(a); /* paced: see s_drain */
}

static void s_on_pace(uv_timer_t *t)
{
    s_drain(t->data);
}

/* Starts a drain now, or at the end of the pacing interval (changes arriving
 * meanwhile are drained together: one transaction instead of many). */
static void s_drain(a_svc_t *a)
{
    if (a->closing || !a->loaded || !antt_db_connected(a->db))
        return;
    if (a->draining || uv_is_active((uv_handle_t *)&a->pace)) {
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
    antt_db_job_add(job,
                    "SELECT area_code, day - date '1970-01-01', category, delta,"
                    " COALESCE((extract(epoch FROM changed_at) * 1000)::bigint, 0)"
                    " FROM antt_trend_apply_queue($1::integer)",
                    1, v, NULL, NULL);
    if (antt_db_submit(a->db, job) == 0)
        a->draining = 1;
}

/* An incident message is a kick: what changed is read from the queue, so a
 * message's content, order or repetition does not matter. Only messages
 * that can change a count kick: a new incident, not a report joining one;
 * a state change, not a note. */
static void s_on_kick(antt_bus_t *bus, zmq_msg_t *frames, size_t nframes, void *arg)
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
        s_drain(arg);
}

static void s_on_redrive(uv_timer_t *t)
{
    a_svc_t *a = t->data;
    if (a->need_load && antt_db_connected(a->db) && !a->draining)
        s_load(a);
    else
        s_drain(a);
}

static void s_on_meta(antt_db_job_t *job, int status, void *arg)
{
    a_svc_t *a = arg;
    if (status != 0 || a->closing)
        return;
    PGresult *r = antt_db_job_result(job, 0);
    if (PQntuples(r) != 1)
        return;
    if (atoll(PQgetvalue(r, 0, 0)) != a->generation || atoi(PQgetvalue(r, 0, 1)) != a->today) {
        ANTT_LOG(ANTT_INFO, "trends rebuilt or a new day began: reloading the state");
        s_load(a);
    }
}

static void s_on_upkeep(uv_timer_t *t)
{
    a_svc_t *a = t->data;
    if (!a->loaded || !antt_db_connected(a->db))
        return;
    antt_db_job_t *job = antt_db_job_new(s_on_meta, a);
    antt_db_job_add(job, "SELECT generation, " A_TODAY " - date '1970-01-01' FROM trend_meta", 0, NULL, NULL, NULL);
    antt_db_submit(a->db, job);
}

/* ---- snapshots over the ROUTER ------------------------------------------------------ */

typedef struct a_router_ctx {
    a_svc_t *a;
    zmq_msg_t *env;
    size_t nenv;
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
    char copy[512], *parts[4];
    snprintf(copy, sizeof(copy), "%s", kv->key);
    if (s_key_parts(copy, parts) != 0)
        return;
    Antt__V1__TrendUpdate u = ANTT__V1__TREND_UPDATE__INIT;
    u.has_sequence = u.has_count = 1;
    u.sequence = kv->seq;
    u.key = kv->key;
    u.area_code = parts[0];
    u.period = parts[1];
    u.bucket = parts[2];
    u.dimension = parts[3];
    u.count = kv->count;
    u.epoch = x->a->epoch;
    Antt__V1__TrendSnapshotItem item = ANTT__V1__TREND_SNAPSHOT_ITEM__INIT;
    item.update = &u;
    s_send_item(x, &item);
}

static void s_on_snapshot(antt_bus_t *bus, zmq_msg_t *frames, size_t nframes, void *arg)
{
    a_svc_t *a = arg;
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
    } else if (q->period && *q->period && strcmp(q->period, "day") && strcmp(q->period, "week") &&
               strcmp(q->period, "month") && strcmp(q->period, "quarter") && strcmp(q->period, "year")) {
        end.error = "bad period (day, week, month, quarter or year)";
    } else {
        antt_metric_inc(a->m_snapshots);
        agg_state_each(a->st, q->area_code, q->period, 0, s_snap_item, &x);
    }
    s_send_item(&x, &end);
    if (q)
        antt__v1__trend_snapshot_request__free_unpacked(q, NULL);
}

/* ---- HTTP ----------------------------------------------------------------------------- */

static void s_json_error(antt_http_req_t *req, int status, const char *code, const char *msg)
{
    antt_buf_t b;
    antt_buf_init(&b);
    antt_buf_printf(&b, "{\"error_code\":\"%s\",\"error\":", code);
    antt_json_cstr(&b, msg);
    antt_buf_puts(&b, "}");
    antt_http_respond(req, status, "application/json", b.data, b.len);
    antt_buf_cleanup(&b);
}

/* The query string's fields; answers 400 itself and returns -1 when bad. */
static int s_query(antt_http_req_t *req, antt_form_t *f)
{
    antt_str_t q = antt_http_query(req);
    if (antt_form_parse(f, q.p ? q.p : "", q.n, 32) != 0) {
        s_json_error(req, 400, "bad_request", "malformed query string");
        return -1;
    }
    for (size_t i = 0; i < f->n; i++)
        if (strlen(f->fields[i].value) != f->fields[i].value_len || f->fields[i].value_len > 200) {
            antt_form_cleanup(f);
            s_json_error(req, 400, "bad_request", "a query value is too long or holds a NUL byte");
            return -1;
        }
    return 0;
}

static const char *s_param(const antt_form_t *f, const char *name)
{
    const antt_form_field_t *x = antt_form_get(f, name);
    return x && x->value[0] ? x->value : NULL;
}

static int s_is_csv(const antt_form_t *f, antt_http_req_t *req)
{
    const char *fmt = s_param(f, "format");
    if (fmt)
        return !strcmp(fmt, "csv");
    antt_str_t acc = antt_http_header(req, "accept");
    return acc.n >= 8 && memmem(acc.p, acc.n, "text/csv", 8) != NULL;
}

/* An area code as the areas table allows, or NULL. */
static int s_area_ok(const char *s)
{
    if (s == NULL || !*s || strlen(s) > 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return 0;
    return 1;
}

/* Parses the query string and its required area=; answers 400 itself and
 * returns NULL when either is bad (f is then clean). */
static const char *s_area_query(antt_http_req_t *req, antt_form_t *f)
{
    if (s_query(req, f) != 0)
        return NULL;
    const char *area = s_param(f, "area");
    if (!s_area_ok(area)) {
        antt_form_cleanup(f);
        s_json_error(req, 400, "bad_request", "area= must be an area code");
        return NULL;
    }
    return area;
}

typedef void (*a_render_cb)(antt_http_req_t *req, antt_db_job_t *job, int csv, void *arg);

typedef struct a_query {
    a_svc_t *a;
    antt_http_req_t *req;
    a_render_cb render;
    int csv;
    char what[32];
} a_query_t;

static void s_on_query(antt_db_job_t *job, int status, void *arg)
{
    a_query_t *q = arg;
    if (status == 0) {
        q->render(q->req, job, q->csv, q->a);
    } else if (status == -EIO) {
        const char *st = antt_db_job_sqlstate(job), *err = antt_db_job_error(job);
        int code = st && !strcmp(st, "AT404") ? 404 : st && (!strcmp(st, "AT400") || !strncmp(st, "22", 2)) ? 400 : 500;
        if (code == 500)
            ANTT_LOG(ANTT_WARN, "%s query failed: %s", q->what, err ? err : "");
        /* the first line of the server's message, without "ERROR:  " */
        char msg[300] = "query failed";
        if (code != 500 && err) {
            const char *p = strstr(err, ":  ");
            snprintf(msg, sizeof(msg), "%s", p ? p + 3 : err);
            msg[strcspn(msg, "\n")] = 0;
        }
        s_json_error(q->req, code, code == 404 ? "not_found" : code == 400 ? "bad_request" : "internal", msg);
    } else {
        s_json_error(q->req, 503, "unavailable", "database unavailable");
    }
    free(q);
}

static void s_run_query(a_svc_t *a, antt_http_req_t *req, const char *what, a_render_cb render, int csv,
                        antt_db_job_t *job)
{
    a_query_t *q = antt_xcalloc(1, sizeof(*q));
    q->a = a;
    q->req = req;
    q->render = render;
    q->csv = csv;
    snprintf(q->what, sizeof(q->what), "%s", what);
    antt_db_job_set_cb(job, s_on_query, q);
    if (antt_db_submit(a->qdb, job) != 0) {
        free(q);
        s_json_error(req, 503, "unavailable", "database unavailable");
    }
}


static void s_csv_field(antt_buf_t *b, const char *s)
{
    if (strpbrk(s, ",\"\n\r") == NULL) {
        antt_buf_puts(b, s);
        return;
    }
    antt_buf_puts(b, "\"");
    for (; *s; s++)
        antt_buf_append(b, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
    antt_buf_puts(b, "\"");
}

/* A result as CSV: a header of column names, then the rows. */
static void s_respond_csv(antt_http_req_t *req, PGresult *r, const char *filename)
{
    antt_buf_t b;
    antt_buf_init(&b);
    for (int c = 0; c < PQnfields(r); c++) {
        antt_buf_puts(&b, c ? "," : "");
        s_csv_field(&b, PQfname(r, c));
    }
    antt_buf_puts(&b, "\r\n");
    for (int i = 0; i < PQntuples(r); i++) {
        for (int c = 0; c < PQnfields(r); c++) {
            antt_buf_puts(&b, c ? "," : "");
            s_csv_field(&b, PQgetvalue(r, i, c));
        }
        antt_buf_puts(&b, "\r\n");
    }
    char cd[160];
    snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"", filename);
    antt_http_add_header(req, "content-disposition", cd);
    antt_http_respond(req, 200, "text/csv; charset=utf-8", b.data, b.len);
    antt_buf_cleanup(&b);
}

/* Statement 0's single text value is the JSON body. */
static void s_render_json0(antt_http_req_t *req, antt_db_job_t *job, int csv, void *arg)
{
    (void)csv;
    (void)arg;
    PGresult *r = antt_db_job_result(job, 0);
    const char *body = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "null";
    antt_http_respond(req, 200, "application/json", body, strlen(body));
}

static void s_render_trends(antt_http_req_t *req, antt_db_job_t *job, int csv, void *arg)
{
    (void)arg;
    PGresult *r = antt_db_job_result(job, 1), *cmp = antt_db_job_result(job, 2);
    if (csv) {
        s_respond_csv(req, r, "trends.csv");
        return;
    }
    antt_buf_t b;
    antt_buf_init(&b);
    antt_buf_printf(&b, "{\"query\":%s,\"buckets\":[", PQgetvalue(antt_db_job_result(job, 0), 0, 0));
    for (int i = 0; i < PQntuples(r); i++) {
        antt_buf_puts(&b, i ? ",{\"bucket\":" : "{\"bucket\":");
        antt_json_cstr(&b, PQgetvalue(r, i, 0));
        antt_buf_printf(&b, ",\"from\":\"%s\",\"to\":\"%s\",\"count\":%s,\"prior\":%s,\"change\":%s,\"change_pct\":%s}",
                        PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
                        PQgetvalue(r, i, 5), PQgetisnull(r, i, 6) ? "null" : PQgetvalue(r, i, 6));
    }
    antt_buf_printf(&b, "],\"comparisons\":%s}", PQgetvalue(cmp, 0, 0));
    antt_http_respond(req, 200, "application/json", b.data, b.len);
    antt_buf_cleanup(&b);
}

/* GET /api/v1/trends?area=&dimension=&period=&from=&to=[&format=csv] */
static void s_http_trends(antt_http_req_t *req, void *arg)
{
    a_svc_t *a = arg;
    antt_form_t f;
    const char *area = s_area_query(req, &f);
    if (area == NULL)
        return;
    /* group=G and category=C are short for dimension=group:G and category:C */
    char dimbuf[96];
    const char *dim = s_param(&f, "dimension");
    if (dim == NULL && (s_param(&f, "group") || s_param(&f, "category"))) {
        snprintf(dimbuf, sizeof(dimbuf), "%s:%s", s_param(&f, "group") ? "group" : "category",
                 s_param(&f, "group") ? s_param(&f, "group") : s_param(&f, "category"));
        dim = dimbuf;
    }
    const char *v[5] = {area, dim ? dim : "all", s_param(&f, "period") ? s_param(&f, "period") : "month",
                        s_param(&f, "from"), s_param(&f, "to")};
    antt_db_job_t *job = antt_db_job_new(NULL, NULL);
    antt_db_job_add(job,
                    "SELECT jsonb_build_object('area', $1::text, 'dimension', $2::text, 'period', $3::text,"
                    " 'from', COALESCE($4::date, date_trunc('year', COALESCE($5::date, antt_trend_today()))::date),"
                    " 'to', COALESCE($5::date, antt_trend_today()))::text",
                    5, v, NULL, NULL);
    antt_db_job_add(job,
                    "SELECT bucket, bucket_from AS \"from\", bucket_to AS \"to\", n AS count, prior, change, change_pct"
                    " FROM antt_trends($1, $2, $3, COALESCE($4::date, date_trunc('year', COALESCE($5::date, antt_trend_today()))::date),"
                    " COALESCE($5::date, antt_trend_today()))",
                    5, v, NULL, NULL);
    antt_db_job_add(job,
                    "SELECT jsonb_build_object("
                    "'ytd', antt_trend_compare(s.areas, s.cats, date_trunc('year', t)::date, t + 1,"
                    " (date_trunc('year', t) - interval '1 year')::date, (t + 1 - interval '1 year')::date),"
                    "'rolling28', antt_trend_compare(s.areas, s.cats, t - 27, t + 1, t - 55, t - 27))::text"
                    " FROM COALESCE($3::date, antt_trend_today()) t,"
                    " (SELECT antt_area_set($1) AS areas, antt_dimension_categories($2) AS cats) s",
                    3, (const char *[]){area, dim ? dim : "all", s_param(&f, "to")}, NULL, NULL);
    s_run_query(a, req, "trends", s_render_trends, s_is_csv(&f, req), job);
    antt_form_cleanup(&f);
}

static void s_render_summary(antt_http_req_t *req, antt_db_job_t *job, int csv, void *arg)
{
    if (csv) {
        s_respond_csv(req, antt_db_job_result(job, 1), "summary.csv");
        return;
    }
    s_render_json0(req, job, csv, arg);
}

/* GET /api/v1/summary?area=&year=[&format=csv] */
static void s_http_summary(antt_http_req_t *req, void *arg)
{
    a_svc_t *a = arg;
    antt_form_t f;
    const char *area = s_area_query(req, &f);
    if (area == NULL)
        return;
    const char *v[2] = {area, s_param(&f, "year")};
    antt_db_job_t *job = antt_db_job_new(NULL, NULL);
    antt_db_job_add(job,
                    "SELECT antt_summary($1, COALESCE($2::integer, extract(year FROM antt_trend_today())::integer))::text",
                    2, v, NULL, NULL);
    if (s_is_csv(&f, req))
        antt_db_job_add(job,
                        "SELECT g->>'group' AS \"group\", g->>'name' AS name, g->>'count' AS count,"
                        " g->>'prior' AS prior, g->>'change' AS change, g->>'change_pct' AS change_pct"
                        " FROM jsonb_array_elements(antt_summary($1, COALESCE($2::integer,"
                        " extract(year FROM antt_trend_today())::integer))->'groups') g",
                        2, v, NULL, NULL);
    s_run_query(a, req, "summary", s_render_summary, s_is_csv(&f, req), job);
    antt_form_cleanup(&f);
}

/* GET /api/v1/response?area=&from=&to= */
static void s_http_response(antt_http_req_t *req, void *arg)
{
    a_svc_t *a = arg;
    antt_form_t f;
    const char *area = s_area_query(req, &f);
    if (area == NULL)
        return;
    const char *v[3] = {area, s_param(&f, "from"), s_param(&f, "to")};
    antt_db_job_t *job = antt_db_job_new(NULL, NULL);
    antt_db_job_add(job,
                    "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM areas WHERE code = $1) THEN antt_raise('AT404', 'unknown area ' || $1)"
                    " ELSE jsonb_build_object('area', $1::text, 'from', d0, 'to', d1 - 1, 'by_priority',"
                    " antt_trend_response($1, d0, d1))::text END"
                    " FROM (SELECT COALESCE($2::date, date_trunc('year', antt_trend_today())::date) AS d0,"
                    " COALESCE($3::date, antt_trend_today()) + 1 AS d1) x",
                    3, v, NULL, NULL);
    s_run_query(a, req, "response", s_render_json0, 0, job);
    antt_form_cleanup(&f);
}

static void s_render_rows(antt_http_req_t *req, antt_db_job_t *job, int csv, void *arg)
{
    (void)arg;
    PGresult *r = antt_db_job_result(job, 0);
    if (csv) {
        s_respond_csv(req, r, "trends.csv");
        return;
    }
    /* rows of one jsonb column each, as an array */
    antt_buf_t b;
    antt_buf_init(&b);
    antt_buf_puts(&b, "[");
    for (int i = 0; i < PQntuples(r); i++) {
        antt_buf_puts(&b, i ? "," : "");
        antt_buf_puts(&b, PQgetvalue(r, i, PQnfields(r) - 1));
    }
    antt_buf_puts(&b, "]");
    antt_http_respond(req, 200, "application/json", b.data, b.len);
    antt_buf_cleanup(&b);
}

/* GET /api/v1/spikes?area=&day= */
static void s_http_spikes(antt_http_req_t *req, void *arg)
{
    a_svc_t *a = arg;
    antt_form_t f;
    const char *area = s_area_query(req, &f);
    if (area == NULL)
        return;
    const char *v[2] = {area, s_param(&f, "day")};
    antt_db_job_t *job = antt_db_job_new(NULL, NULL);
    antt_db_job_add(job,
                    "SELECT area_code, category, day, n AS count, round(baseline::numeric, 3) AS baseline,"
                    " p AS tail_probability, row_to_json(s)::text AS json"
                    " FROM antt_trend_spikes($1, COALESCE($2::date, antt_trend_today())) s",
                    2, v, NULL, NULL);
    s_run_query(a, req, "spikes", s_render_rows, s_is_csv(&f, req), job);
    antt_form_cleanup(&f);
}

/* GET /api/v1/hotspots?area=&days=30&eps_m=150&min_points=3 */
static void s_http_hotspots(antt_http_req_t *req, void *arg)
{
    a_svc_t *a = arg;
    antt_form_t f;
    const char *area = s_area_query(req, &f);
    if (area == NULL)
        return;
    const char *v[4] = {area, s_param(&f, "days"), s_param(&f, "eps_m"), s_param(&f, "min_points")};
    antt_db_job_t *job = antt_db_job_new(NULL, NULL);
    antt_db_job_add(job,
                    "SELECT cluster, lat, lon, n AS count, top_category, row_to_json(h)::text AS json"
                    " FROM antt_trend_hotspots($1, LEAST(GREATEST(COALESCE($2::integer, 30), 1), 366),"
                    " LEAST(GREATEST(COALESCE($3::double precision, 150), 20), 2000),"
                    " GREATEST(COALESCE($4::integer, 3), 3)) h",
                    4, v, NULL, NULL);
    s_run_query(a, req, "hotspots", s_render_rows, s_is_csv(&f, req), job);
    antt_form_cleanup(&f);
}

/* GET /api/v1/areas[?root=CODE]: the tree with simplified boundaries. */
static void s_http_areas(antt_http_req_t *req, void *arg)
{
    a_svc_t *a = arg;
    antt_form_t f;
    if (s_query(req, &f) != 0)
        return;
    const char *root = s_param(&f, "root");
    if (root && !s_area_ok(root)) {
        antt_form_cleanup(&f);
        s_json_error(req, 400, "bad_request", "root= must be an area code");
        return;
    }
    const char *v[1] = {root};
    antt_db_job_t *job = antt_db_job_new(NULL, NULL);
    antt_db_job_add(job,
                    "SELECT COALESCE(jsonb_agg(jsonb_build_object('code', code, 'parent', parent_code, 'level', level,"
                    " 'name', name, 'valid_from', valid_from, 'valid_to', valid_to,"
                    " 'boundary', ST_AsGeoJSON(ST_SimplifyPreserveTopology(boundary, 0.0002), 5)::jsonb)"
                    " ORDER BY antt_level_depth(level), code), '[]')::text"
                    " FROM areas WHERE $1::text IS NULL OR code = ANY (antt_area_set($1))",
                    1, v, NULL, NULL);
    s_run_query(a, req, "areas", s_render_json0, 0, job);
    antt_form_cleanup(&f);
}

typedef struct a_each_sse {
    a_svc_t *a;
    antt_buf_t *b;
} a_each_sse_t;

static void s_sse_item(const agg_kv_t *kv, void *arg)
{
    a_each_sse_t *x = arg;
    antt_buf_printf(x->b, "event: trend\nid: %s:%lld\ndata: ", x->a->epoch, (long long)kv->seq);
    s_kv_json(x->b, x->a, kv);
    antt_buf_puts(x->b, "\n\n");
}

static void s_sse_gone(antt_http_req_t *req, void *arg)
{
    a_svc_t *a = arg;
    for (a_sse_t *c = a->sse; c; c = c->next)
        if (c->req == req) {
            s_sse_drop(a, c);
            return;
        }
}

/* GET /api/v1/stream?area=&period=: Server-Sent Events of trend updates.
 * A new client gets a snapshot event first; a client that comes back with
 * Last-Event-ID "<epoch>:<sequence>" of the current epoch gets only the keys
 * changed after that sequence (each key's latest value), else a snapshot. */
static void s_http_stream(antt_http_req_t *req, void *arg)
{
    a_svc_t *a = arg;
    antt_form_t f;
    if (s_query(req, &f) != 0)
        return;
    const char *area = s_param(&f, "area"), *period = s_param(&f, "period");
    if (!a->loaded) {
        antt_form_cleanup(&f);
        s_json_error(req, 503, "unavailable", "trend state not loaded yet");
        return;
    }
    int unknown = area && !agg_state_has_area(a->st, area);
    if (unknown || (period && strcmp(period, "day") && strcmp(period, "week") && strcmp(period, "month") &&
                    strcmp(period, "quarter") && strcmp(period, "year"))) {
        antt_form_cleanup(&f);
        s_json_error(req, unknown ? 404 : 400, unknown ? "not_found" : "bad_request",
                     unknown ? "unknown area" : "bad period (day, week, month, quarter or year)");
        return;
    }
    a_sse_t *c = antt_xcalloc(1, sizeof(*c));
    c->req = req;
    snprintf(c->area, sizeof(c->area), "%s", area ? area : "");
    snprintf(c->period, sizeof(c->period), "%s", period ? period : "");
    antt_form_cleanup(&f);
    c->next = a->sse;
    a->sse = c;
    antt_metric_set(a->m_sse, antt_metric_value(a->m_sse) + 1);
    /* Last-Event-ID: header from a reconnecting browser, or last_event_id= */
    char last[96] = "";
    antt_str_t h = antt_http_header(req, "last-event-id");
    if (h.n && h.n < sizeof(last)) {
        memcpy(last, h.p, h.n);
        last[h.n] = 0;
    }
    antt_http_add_header(req, "cache-control", "no-cache");
    antt_http_stream_start(req, 200, "text/event-stream", s_sse_gone, a);
    if (s_sse_write(a, c, "retry: 2000\n\n", 13) != 0)
        return;
    char *colon = strchr(last, ':');
    long long after = colon ? atoll(colon + 1) : -1;
    if (colon && (size_t)(colon - last) == strlen(a->epoch) && !strncmp(last, a->epoch, strlen(a->epoch)) &&
        after >= 0 && after <= agg_state_seq(a->st)) {
        antt_buf_t b;
        antt_buf_init(&b);
        a_each_sse_t x = {a, &b};
        if (after < agg_state_seq(a->st))
            agg_state_each(a->st, c->area, c->period, after, s_sse_item, &x);
        if (b.len)
            s_sse_write(a, c, b.data, b.len);
        antt_buf_cleanup(&b);
    } else {
        s_sse_snapshot(a, c);
    }
}

/* GET / and /dashboard/...: the dashboard's files, built into the binary. */
static void s_http_static(antt_http_req_t *req, void *arg)
{
    (void)arg;
    antt_str_t path = antt_http_path(req);
    char p[128];
    if (path.n >= sizeof(p)) {
        s_json_error(req, 404, "not_found", "no such file");
        return;
    }
    memcpy(p, path.p, path.n);
    p[path.n] = 0;
    const char *name = !strcmp(p, "/") || !strcmp(p, "/dashboard") || !strcmp(p, "/dashboard/") ? "index.html"
                       : !strncmp(p, "/dashboard/", 11)                                         ? p + 11
                                                                                                : NULL;
    const agg_asset_t *f = name ? agg_asset(name) : NULL;
    if (f == NULL) {
        s_json_error(req, 404, "not_found", "no such file");
        return;
    }
    antt_http_add_header(req, "cache-control", "no-cache");
    antt_http_respond(req, 200, f->content_type, (const char *)f->data, f->len);
}

/* ---- life cycle ------------------------------------------------------------------------ */

static void s_on_db_state(antt_db_t *db, int connected, void *arg)
{
    a_svc_t *a = arg;
    (void)db;
    a->draining = 0;
    a->loading = 0;
    if (connected && !a->closing)
        s_load(a);
}

static int s_ready(void *arg, char *why, size_t whylen)
{
    a_svc_t *a = arg;
    if (!antt_db_connected(a->db) || !antt_db_connected(a->qdb)) {
        snprintf(why, whylen, "database not connected");
        return 0;
    }
    if (!a->loaded) {
        snprintf(why, whylen, "trend state not loaded");
        return 0;
    }
    return 1;
}

static void s_on_stop(antt_service_t *svc, void *arg)
{
    a_svc_t *a = arg;
    (void)svc;
    a->closing = 1;
    while (a->sse) {
        a_sse_t *c = a->sse;
        a->sse = c->next;
        antt_http_stream_end(c->req);
        free(c);
    }
    /* the stop walk closes the sockets, the connections and the timers */
}

int agg_main(int argc, char **argv)
{
    antt_service_t svc;
    a_svc_t a;
    agg_settings_t set;
    memset(&a, 0, sizeof(a));
    if (antt_service_init(&svc, "aggregation", &agg_settings, &set, argc, argv) != 0)
        return 1;
    a.svc = &svc;
    a.batch_max = set.batch_max;
    a.interval_ms = set.drain_interval_ms;
    long redrive_ms = set.redrive_interval_ms;
    a.st = agg_state_new();
    s_new_epoch(&a);
    a.m_applied = antt_metrics_counter("antt_aggregation_changes_total", "Leaf counter changes applied", NULL);
    a.m_published = antt_metrics_counter("antt_aggregation_updates_total", "Trend updates published", NULL);
    a.m_drains = antt_metrics_counter("antt_aggregation_drains_total", "Queue drains committed", NULL);
    a.m_keys = antt_metrics_gauge("antt_aggregation_state_keys", "Keys in the live trend state", NULL);
    a.m_sse = antt_metrics_gauge("antt_aggregation_sse_clients", "Open trend SSE streams", NULL);
    a.m_dropped_sse = antt_metrics_counter("antt_aggregation_sse_dropped_total", "SSE clients ended for falling behind",
                                           NULL);
    a.m_snapshots = antt_metrics_counter("antt_aggregation_snapshots_total", "Snapshots served on the ROUTER", NULL);
    a.m_bad = antt_metrics_counter("antt_aggregation_malformed_total", "Malformed snapshot requests", NULL);
    a.m_lag = antt_metrics_histogram("antt_aggregation_lag_seconds",
                                     "From an incident change (its updated_at) to its trend update being published",
                                     NULL, antt_latency_buckets, antt_latency_nbuckets);
    a.m_drain_s = antt_metrics_histogram("antt_aggregation_drain_seconds", "Queue drain transactions, submit to commit",
                                         NULL, antt_latency_buckets, antt_latency_nbuckets);
    a.db = antt_db_new(&svc.loop, svc.conninfo, "trends");
    antt_db_set_max_inflight(a.db, 2);
    antt_db_set_state_cb(a.db, s_on_db_state, &a);
    antt_db_start(a.db);
    a.qdb = antt_db_new(&svc.loop, svc.conninfo, "trend-queries");
    antt_db_set_max_inflight(a.qdb, 4);
    antt_db_start(a.qdb);
    a.pub = antt_bus_new(&svc.loop, svc.zctx, ZMQ_PUB, 0, NULL, NULL);
    a.sub = antt_bus_new(&svc.loop, svc.zctx, ZMQ_SUB, 0, s_on_kick, &a);
    a.router = antt_bus_new(&svc.loop, svc.zctx, ZMQ_ROUTER, 0, s_on_snapshot, &a);
    /* a snapshot is many messages to one peer (the city's state is some
     * 100,000 keys); a peer that does not read stops costing memory there */
    int hwm = 200000;
    zmq_setsockopt(antt_bus_socket(a.router), ZMQ_SNDHWM, &hwm, sizeof(hwm));
    /* a slow subscriber loses updates beyond this (and resynchronises from a
     * snapshot on the gap) rather than growing the publisher's memory */
    hwm = 10000;
    zmq_setsockopt(antt_bus_socket(a.pub), ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(antt_bus_socket(a.sub), ZMQ_SUBSCRIBE, "incident.", 9);
    if (antt_service_bind(&svc, a.pub, "aggregation.publish_endpoint", NULL, ANTT_CURVE_CLIENTS) != 0 ||
        antt_service_bind(&svc, a.router, "aggregation.snapshot_endpoint", NULL, ANTT_CURVE_CLIENTS) != 0 ||
        antt_service_bind(&svc, a.sub, "aggregation.classified_endpoint", NULL, ANTT_CURVE_SERVICES) != 0)
        return 1;
    const char *feed = set.update_endpoint;
    /* the options of the bind above stay with its listener: the same
     * socket is a CURVE server for classification and a client of
     * notification's feed */
    if (feed && *feed && antt_service_connect(&svc, a.sub, feed, "notification") != 0)
        return 1;
    antt_http_route(svc.http, "/api/v1/trends", s_http_trends, &a);
    antt_http_route(svc.http, "/api/v1/summary", s_http_summary, &a);
    antt_http_route(svc.http, "/api/v1/response", s_http_response, &a);
    antt_http_route(svc.http, "/api/v1/spikes", s_http_spikes, &a);
    antt_http_route(svc.http, "/api/v1/hotspots", s_http_hotspots, &a);
    antt_http_route(svc.http, "/api/v1/areas", s_http_areas, &a);
    antt_http_route(svc.http, "/api/v1/stream", s_http_stream, &a);
    antt_http_route(svc.http, "/", s_http_static, &a);
    uv_timer_init(&svc.loop, &a.redrive);
    a.redrive.data = &a;
    uv_timer_start(&a.redrive, s_on_redrive, (uint64_t)redrive_ms, (uint64_t)redrive_ms);
    uv_timer_init(&svc.loop, &a.pace);
    a.pace.data = &a;
    uv_timer_init(&svc.loop, &a.upkeep);
    a.upkeep.data = &a;
    uv_timer_start(&a.upkeep, s_on_upkeep, 5000, 5000);
    antt_http_set_ready_cb(svc.http, s_ready, &a);
    antt_service_on_stop(&svc, s_on_stop, &a);
    int rc = antt_service_run(&svc);
    agg_state_free(a.st);
    return rc;
}
