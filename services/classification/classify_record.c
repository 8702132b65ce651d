/* classify_record: a lane's batches recorded, one transaction each, by
 * antt_classify_apply() (jurisdiction, duplicates, incident, event, and the
 * report_queue row deleted); after the commit a ClassifiedIncident is
 * PUBlished for each report that changed something. A batch rolled back by
 * a deadlock is sent again at once (CW_RETRIES times); a batch that fails
 * otherwise leaves its reports in report_queue for intake's re-drive. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_log.h"
#include "classify_worker.h"
#include "antt/v1/incident.pb-c.h"

#define S_TOPIC "incident.classified"

void cw_batch_cleanup(cw_batch_t *b)
{
    for (int i = 0; i < b->n; i++)
        classify_result_cleanup(&b->items[i].res);
    free(b->items);
    antt_buf_cleanup(&b->json);
    memset(b, 0, sizeof(*b));
}


/* ---- publishing ------------------------------------------------------- */

static int64_t s_ms(const char *ts)
{
    int64_t ms = 0;
    return ts && *ts && antt_parse_time(ts, &ms) == 0 ? ms : 0;
}

/* now_ms: when the batch committed, the incident's classified_at_ms */
static void s_publish_row(cw_worker_t *w, PGresult *res, int row, cw_item_t *it, int64_t now_ms)
{
    Antt__V1__ClassifiedIncident m = ANTT__V1__CLASSIFIED_INCIDENT__INIT;
    m.incident_id = PQgetvalue(res, row, 1);
    m.report_id = it->report_id;
    m.has_new_incident = 1;
    m.new_incident = PQgetvalue(res, row, 2)[0] == 't';
    m.category = PQgetvalue(res, row, 6);
    m.has_priority = 1;
    m.priority = (Antt__V1__Priority)atoi(PQgetvalue(res, row, 7));
    m.has_confidence = 1;
    m.confidence = it->res.confidence;
    m.n_reasons = (size_t)it->res.nreasons;
    m.reasons = it->res.reasons;
    m.area_code = PQgetisnull(res, row, 8) ? "" : PQgetvalue(res, row, 8);
    m.desk_code = PQgetisnull(res, row, 9) ? "" : PQgetvalue(res, row, 9);
    if (!PQgetisnull(res, row, 11) && !PQgetisnull(res, row, 12)) {
        m.has_lat = m.has_lon = 1;
        m.lat = atof(PQgetvalue(res, row, 11));
        m.lon = atof(PQgetvalue(res, row, 12));
    }
    m.has_report_count = 1;
    m.report_count = (uint32_t)atoi(PQgetvalue(res, row, 4));
    m.has_version = 1;
    m.version = atoll(PQgetvalue(res, row, 5));
    m.has_occurred_at_ms = m.has_created_at_ms = m.has_ack_deadline_ms = 1;
    m.occurred_at_ms = s_ms(PQgetvalue(res, row, 13));
    m.created_at_ms = s_ms(PQgetvalue(res, row, 14));
    m.ack_deadline_ms = s_ms(PQgetvalue(res, row, 15));
    m.has_received_at_ms = 1;
    m.received_at_ms = it->received_ms;
    m.has_classified_at_ms = 1;
    m.classified_at_ms = now_ms;
    m.has_needs_review = 1;
    m.needs_review = it->res.needs_review != 0;
    m.review_reason = it->res.review_reason;
    if (antt_bus_send(w->pub, S_TOPIC, sizeof(S_TOPIC) - 1, 1) == 0)
        antt_bus_send_pb(w->pub, (const ProtobufCMessage *)&m, 0);
    ANTT_LOG(ANTT_DEBUG, "classified report=%s incident=%s new=%d category=%s priority=P%s area=%s desk=%s",
             it->report_id, m.incident_id, m.new_incident, m.category, PQgetvalue(res, row, 7), m.area_code,
             m.desk_code);
}

/* The job's argument: the worker and the batch it recorded. */
typedef struct s_job {
    cw_worker_t *w;   /* owner */
    cw_lane_t *lane;  /* that recorded it */
    cw_batch_t batch; /* moved out of pending */
} s_job_t;

static void s_on_job(antt_db_job_t *job, int status, void *arg)
{
    s_job_t *j = arg;
    cw_worker_t *w = j->w;
    cw_lane_t *lane = j->lane;
    lane->inflight--;
    if (status == 0) {
        PGresult *res = antt_db_job_result(job, 0);
        int rows = res ? PQntuples(res) : 0;
        uint64_t now = antt_mono_ns();
        int64_t now_ms = antt_now_ms();
        for (int r = 0; r < rows && r < j->batch.n; r++) {
            cw_item_t *it = &j->batch.items[r];
            if (PQgetvalue(res, r, 3)[0] == 't') {
                antt_metric_inc(w->m_replay); /* classified before: nothing changed, nothing to say */
                continue;
            }
            if (it->quiet) {
                /* closed or taken history is no new work for a desk; the
                 * trend drain and notification's catch-up read it anyway */
                antt_metric_inc(w->m_new);
                continue;
            }
            antt_metric_inc(PQgetvalue(res, r, 2)[0] == 't' ? w->m_new : w->m_joined);
            s_publish_row(w, res, r, it, now_ms);
            antt_metric_observe(w->m_latency_s, (double)(now - it->t0) / 1e9);
            if (it->committed_ms > 0)
                antt_metric_observe(w->m_stage_s, (double)(now_ms - it->committed_ms) / 1000.0);
        }
    } else if (status != -ECANCELED) {
        /* nothing was recorded; the reports stay in report_queue and intake
         * re-drives them */
        antt_metric_add(w->m_failed, j->batch.n);
        ANTT_LOG(ANTT_WARN, "could not record classified reports=%d: %s", j->batch.n,
                 antt_db_job_error(job) ? antt_db_job_error(job) : "connection lost");
    }
    cw_batch_cleanup(&j->batch);
    free(j);
    if (!w->closing) {
        antt_bus_pause(w->pull, 0);
        cw_flush(w, lane);
    }
}

/* Great-circle distance in metres. */
static double s_metres(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371008.8, rad = M_PI / 180;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) + cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * r * asin(sqrt(a < 1 ? a : 1));
}

/* "{l1,l2,...}": for each item, the earliest earlier item of the batch it
 * duplicates (same category, within the radius and the window; 1-based, 0 =
 * none), and a lead never has a lead itself. The database finds duplicates
 * among the incidents already recorded; these are the ones inside a batch. */
static char *s_leads(const cw_worker_t *w, const cw_batch_t *b)
{
    antt_buf_t out;
    antt_buf_init(&out);
    antt_buf_puts(&out, "{");
    int *lead = antt_xcalloc((size_t)b->n + 1, sizeof(*lead));
    double dlat = w->radius_m / 111000.0;
    for (int i = 0; i < b->n; i++) {
        const cw_item_t *a = &b->items[i];
        for (int j = 0; a->has_pt && !a->imported && j < i; j++) {
            const cw_item_t *c = &b->items[j];
            if (lead[j] || !c->has_pt || c->imported || c->res.category != a->res.category || fabs(c->lat - a->lat) > dlat ||
                llabs(c->occ_ms - a->occ_ms) > (int64_t)(w->window_s * 1000) ||
                s_metres(a->lat, a->lon, c->lat, c->lon) > w->radius_m)
                continue;
            lead[i] = j + 1;
            break;
        }
        antt_buf_printf(&out, i ? ",%d" : "%d", lead[i]);
    }
    antt_buf_puts(&out, "}");
    free(lead);
    return antt_buf_steal(&out, NULL);
}

/* Submits a lane's pending batch when one of its pipeline slots is free. */
void cw_flush(cw_worker_t *w, cw_lane_t *lane)
{
    if (lane->pending.n == 0 || lane->inflight >= w->max_inflight)
        return;
    s_job_t *j = antt_xcalloc(1, sizeof(*j));
    j->w = w;
    j->lane = lane;
    j->batch = lane->pending;
    memset(&lane->pending, 0, sizeof(lane->pending));
    antt_buf_puts(&j->batch.json, "]");
    char *arr = j->batch.json.data;
    arr[0] = '[';
    char *leads = s_leads(w, &j->batch);
    const char *params[6] = {arr, w->radius, w->window, w->ack_s, w->unlocated_desk, leads};
    antt_db_job_t *job = antt_db_job_new(s_on_job, j);
    antt_db_job_add_prepared(job, "classify_apply", 6, params, NULL, NULL);
    if (j->batch.reviews > 0) /* same transaction: the incidents just made or joined */
        antt_db_job_add_prepared(job, "classify_review", 1, params, NULL, NULL);
    /* a batch that grows incidents a dispatcher's merge also locks may be
     * the deadlock's victim: sent again at once, instead of waiting for
     * intake's re-drive (intake.redrive_after_ms) */
    antt_db_job_set_retries(job, CW_RETRIES);
    free(leads);
    antt_metric_observe(w->m_batch, j->batch.n);
    if (antt_db_submit(lane->db, job) != 0) {
        antt_metric_add(w->m_failed, j->batch.n);
        ANTT_LOG(ANTT_WARN, "database down: %d reports left to intake's re-drive", j->batch.n);
        cw_batch_cleanup(&j->batch);
        free(j);
        return;
    }
    lane->inflight++;
}
