/* classify_service: the classification worker. It PULLs accepted reports
 * from intake, classifies each (category, priority, reasons, area named in
 * the text), records a batch of them in one transaction with
 * antt_classify_apply() (jurisdiction, duplicates, incident, event, and the
 * report_queue row deleted), and after the commit PUBlishes a
 * ClassifiedIncident for each report that changed something (the recording
 * and publishing are classify_record.c's, in the lanes of classify_worker.h).
 *
 * Several workers may run at once: intake's PUSH spreads reports over them,
 * and a report a dead worker held stays in report_queue until intake
 * re-drives it to a live one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_bus.h"
#include "antt_categories.h"
#include "antt_db.h"
#include "antt_json.h"
#include "antt_log.h"
#include "antt_metrics.h"
#include "antt_migrate.h"
#include "antt_service.h"
#include "antt_util.h"
#include "classify.h"
#include "classify_answers.h"
#include "classify_areas.h"
#include "classify_engine.h"
#include "classify_settings.h"
#include "classify_worker.h"
#include "antt/v1/report.pb-c.h"


/* ---- receiving -------------------------------------------------------- */

static void s_count_review(cw_worker_t *w, const classify_result_t *res)
{
    w->classified++;
    if (res->needs_review) {
        w->reviewed++;
        antt_metric_inc(res->needs_review == CLASSIFY_REVIEW_RESIDENT ? w->m_review_disagree : w->m_review_unsure);
    }
    antt_metric_set(w->m_review_ratio, w->reviewed / w->classified);
}

static void s_item_json(antt_buf_t *b, const Antt__V1__AcceptedReport *r, const classify_result_t *res,
                        const char *incident_id, const char *address_area, int imported)
{
    char ts[64];
    antt_buf_puts(b, b->len ? "," : " "); /* the first byte becomes '[' at flush */
    antt_buf_puts(b, "{\"report_id\":");
    antt_json_cstr(b, r->report_id);
    antt_buf_puts(b, ",\"incident_id\":");
    antt_json_cstr(b, incident_id);
    antt_buf_puts(b, ",\"category\":");
    antt_json_cstr(b, antt_categories[res->category].code);
    antt_buf_printf(b, ",\"priority\":%d,\"confidence\":%.4f", res->priority, res->confidence);
    if (res->needs_review) {
        antt_buf_puts(b, ",\"needs_review\":true,\"review_reason\":");
        antt_json_cstr(b, res->review_reason);
    }
    antt_buf_puts(b, ",\"reasons\":[");
    for (int i = 0; i < res->nreasons; i++) {
        if (i)
            antt_buf_puts(b, ",");
        antt_json_cstr(b, res->reasons[i]);
    }
    antt_buf_puts(b, "]");
    const Antt__V1__Location *loc = r->location;
    if (loc && loc->has_lat && loc->has_lon)
        antt_buf_printf(b, ",\"lat\":%.8f,\"lon\":%.8f", loc->lat, loc->lon);
    if (loc && loc->area_code && *loc->area_code) {
        antt_buf_puts(b, ",\"area_code\":");
        antt_json_cstr(b, loc->area_code);
    }
    if (address_area) {
        antt_buf_puts(b, ",\"address_area\":");
        antt_json_cstr(b, address_area);
    }
    if (r->has_occurred_at_ms && r->occurred_at_ms > 0) {
        antt_buf_puts(b, ",\"occurred_at\":");
        antt_json_cstr(b, antt_format_time(r->occurred_at_ms, ts, sizeof(ts)));
    }
    antt_buf_puts(b, ",\"received_at\":");
    antt_json_cstr(b, antt_format_time(r->received_at_ms, ts, sizeof(ts)));
    if (imported) {
        antt_buf_puts(b, ",\"imported\":true,\"status\":");
        antt_json_cstr(b, r->imported_status);
    }
    antt_buf_puts(b, "}");
}

/* Imported history carries its classification as fact (intake checked it is
 * complete): that, with confidence 1 and the reason "imported", instead of
 * classify_run. 0, or -1 when the report is not (well-formed) history. */
static int s_imported(const Antt__V1__AcceptedReport *r, classify_result_t *res)
{
    static const char *const statuses[] = {"new", "acknowledged", "resolved", "rejected"};
    if (!r->has_imported || !r->imported)
        return -1;
    const antt_category_t *c = antt_category_find(r->service_code);
    int known = 0;
    for (size_t i = 0; r->imported_status && i < ANTT_ARRAY_SIZE(statuses); i++)
        known |= !strcmp(r->imported_status, statuses[i]);
    if (c == NULL || !known || r->imported_priority < 1 || r->imported_priority > 4) {
        ANTT_LOG(ANTT_WARN, "imported report=%s lacks a category, priority or status: classified instead",
                 r->report_id);
        return -1;
    }
    memset(res, 0, sizeof(*res));
    res->category = (int)(c - antt_categories);
    res->priority = (int)r->imported_priority;
    res->confidence = res->priority_confidence = 1;
    res->reasons[res->nreasons++] = antt_xstrdup("imported");
    return 0;
}

static void s_on_report(antt_bus_t *bus, zmq_msg_t *frames, size_t n, void *arg)
{
    cw_worker_t *w = arg;
    (void)bus;
    uint64_t t0 = antt_mono_ns();
    Antt__V1__AcceptedReport *r =
        n == 1 ? antt__v1__accepted_report__unpack(NULL, zmq_msg_size(&frames[0]), zmq_msg_data(&frames[0]))
               : NULL;
    if (r == NULL || r->report_id == NULL || !antt_uuid_valid(r->report_id) || r->description == NULL ||
        !r->has_received_at_ms) {
        antt_metric_inc(w->m_bad);
        ANTT_LOG(ANTT_WARN, "dropped a malformed accepted report frames=%zu", n);
        if (r)
            antt__v1__accepted_report__free_unpacked(r, NULL);
        return;
    }
    cw_item_t one;
    cw_item_t *it = &one;
    memset(it, 0, sizeof(*it));
    if (s_imported(r, &it->res) == 0) {
        it->imported = 1;
        it->quiet = strcmp(r->imported_status, "new") != 0;
    } else if (classify_run(classify_engine_classifier(w->engine), r->description, strlen(r->description),
                            r->service_code, 1, &it->res) != 0) {
        /* intake stores NFC-validated text, so this is a bug upstream; classify
         * as "other" rather than lose the report */
        memset(&it->res, 0, sizeof(it->res));
        it->res.category = antt_categories_count - 1;
        it->res.priority = 3;
    }
    if (!it->imported)
        classify_answers_apply_report(&it->res, r); /* someone hurt, trapped, in danger now: P1 */
    antt_metric_observe(w->m_classify_s, (double)(antt_mono_ns() - t0) / 1e9);
    s_count_review(w, &it->res);
    /* the lane of its category */
    cw_lane_t *lane = &w->lanes[it->res.category % w->nlanes];
    cw_batch_t *b = &lane->pending;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->items = antt_xrealloc(b->items, (size_t)b->cap * sizeof(*b->items));
    }
    b->items[b->n] = one;
    it = &b->items[b->n];
    if (it->res.needs_review)
        b->reviews++;
    const Antt__V1__Location *loc = r->location;
    const char *address_area = NULL;
    if (w->areas && !(loc && loc->area_code && *loc->area_code))
        address_area = classify_areas_find(w->areas, loc ? loc->address : NULL, r->description);
    char incident_id[ANTT_UUID_LEN + 1];
    antt_uuid7(incident_id);
    snprintf(it->report_id, sizeof(it->report_id), "%s", r->report_id);
    it->t0 = t0;
    it->has_pt = loc && loc->has_lat && loc->has_lon;
    it->lat = it->has_pt ? loc->lat : 0;
    it->lon = it->has_pt ? loc->lon : 0;
    it->occ_ms = r->has_occurred_at_ms && r->occurred_at_ms > 0 ? r->occurred_at_ms : r->received_at_ms;
    it->received_ms = r->received_at_ms;
    it->committed_ms = r->has_committed_at_ms ? r->committed_at_ms : 0;
    s_item_json(&b->json, r, &it->res, incident_id, address_area, it->imported);
    b->n++;
    antt__v1__accepted_report__free_unpacked(r, NULL);
    cw_flush(w, lane);
    /* the lane's pipeline slots busy and a full batch waiting: stop
     * reading, so that ZeroMQ's high-water mark pushes back on intake */
    if (lane->inflight >= w->max_inflight && lane->pending.n >= w->batch_max)
        antt_bus_pause(w->pull, 1);
}

/* ---- areas and upkeep ------------------------------------------------- */

static void s_on_areas(antt_db_job_t *job, int status, void *arg)
{
    cw_worker_t *w = arg;
    if (status != 0) {
        if (status != -ECANCELED)
            ANTT_LOG(ANTT_WARN, "could not load areas: %s", antt_db_job_error(job));
        return;
    }
    PGresult *res = antt_db_job_result(job, 0);
    classify_areas_t *a = classify_areas_new();
    for (int i = 0; i < PQntuples(res); i++)
        classify_areas_add(a, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), atoi(PQgetvalue(res, i, 2)));
    classify_areas_destroy(&w->areas);
    w->areas = a;
    antt_metric_set(w->m_areas, classify_areas_count(a));
}

static void s_on_corrections(antt_db_job_t *job, int status, void *arg)
{
    cw_worker_t *w = arg;
    if (status != 0) {
        if (status != -ECANCELED)
            ANTT_LOG(ANTT_WARN, "could not count corrections: %s", antt_db_job_error(job));
        return;
    }
    PGresult *res = antt_db_job_result(job, 0);
    for (int i = 0; i < PQntuples(res); i++) {
        const antt_category_t *c = antt_category_find(PQgetvalue(res, i, 0));
        if (c)
            antt_metric_set(w->m_corrections[c - antt_categories], atof(PQgetvalue(res, i, 1)));
    }
}

static void s_upkeep(uv_timer_t *t)
{
    cw_worker_t *w = t->data;
    if (!antt_db_connected(w->rdb))
        return;
    antt_db_job_t *cj = antt_db_job_new(s_on_corrections, w);
    antt_db_job_add(cj, "SELECT new_category, count(*) FROM classification_corrections GROUP BY 1", 0, NULL, NULL,
                    NULL);
    antt_db_submit(w->rdb, cj);
    antt_db_job_t *job = antt_db_job_new(s_on_areas, w);
    antt_db_job_add(job,
                    "SELECT code, name, antt_level_depth(level) FROM areas WHERE valid_to IS NULL "
                    "UNION ALL SELECT code, name_ascii, antt_level_depth(level) FROM areas "
                    "WHERE valid_to IS NULL AND name_ascii <> name",
                    0, NULL, NULL, NULL);
    antt_db_submit(w->rdb, job);
    static const char *const tables[] = {"incident_events", NULL};
    antt_migrate_partitions_ahead(w->rdb, tables);
}

static void s_on_rdb_state(antt_db_t *db, int connected, void *arg)
{
    cw_worker_t *w = arg;
    (void)db;
    if (connected && !w->closing)
        s_upkeep(&w->timer);
}

static int s_ready(void *arg, char *why, size_t whylen)
{
    cw_worker_t *w = arg;
    for (int i = 0; i < w->nlanes; i++)
        if (!antt_db_connected(w->lanes[i].db)) {
            snprintf(why, whylen, "database not connected");
            return 0;
        }
    if (w->areas == NULL) {
        snprintf(why, whylen, "areas not loaded");
        return 0;
    }
    return 1;
}

static void s_on_stop(antt_service_t *svc, void *arg)
{
    cw_worker_t *w = arg;
    (void)svc;
    w->closing = 1;
    w->pull = NULL;
    /* unrecorded reports stay in report_queue: intake re-drives them */
    for (int i = 0; i < w->nlanes; i++)
        cw_batch_cleanup(&w->lanes[i].pending);
    w->pub = NULL;
    /* the stop walk closes the sockets, connections and the timer */
}

/* antt_classify_model_info{version="..."} 1 for the model in use, 0 for
 * the ones before it. */
static void s_model_metrics(cw_worker_t *w)
{
    if (w->m_model)
        antt_metric_set(w->m_model, 0);
    char labels[64];
    snprintf(labels, sizeof(labels), "version=\"%s\"", classify_engine_version(w->engine));
    w->m_model = antt_metrics_gauge("antt_classify_model_info", "The classifier model in use (by version)", labels);
    antt_metric_set(w->m_model, 1);
    antt_metric_set(w->m_model_examples, (double)classify_engine_examples(w->engine));
}

static void s_on_reloaded(classify_engine_t *e, int status, const char *err, void *arg)
{
    cw_worker_t *w = arg;
    (void)e;
    if (status != 0) {
        antt_metric_inc(w->m_reloads_failed);
        ANTT_LOG(ANTT_WARN, "model not reloaded, the old one stays: %s", err);
        return;
    }
    antt_metric_inc(w->m_reloads_ok);
    s_model_metrics(w);
    ANTT_LOG(ANTT_INFO, "model reloaded version=%s examples=%zu", classify_engine_version(w->engine),
             classify_engine_examples(w->engine));
}

static void s_on_reload(antt_service_t *svc, void *arg)
{
    cw_worker_t *w = arg;
    if (w->closing)
        return;
    if (classify_engine_reload(w->engine, &svc->loop, s_on_reloaded, w) != 0)
        ANTT_LOG(ANTT_WARN, "a model reload is already in progress");
}

int classify_main(int argc, char **argv);

int classify_main(int argc, char **argv)
{
    antt_service_t svc;
    cw_worker_t w;
    memset(&w, 0, sizeof(w));
    if (antt_service_init(&svc, "classification", &classify_settings, &w.set, argc, argv) != 0)
        return 1;
    w.svc = &svc;
    antt_config_t *cfg = svc.cfg;
    char err[512];
    w.engine = classify_engine_new(classify_rules_path(cfg), classify_model_path(cfg), err, sizeof(err));
    if (w.engine == NULL) {
        ANTT_LOG(ANTT_ERROR, "%s", err);
        return 1;
    }
    w.batch_max = (int)w.set.batch_max;
    w.max_inflight = (int)w.set.pipeline_depth;
    w.radius_m = w.set.duplicate_radius_m;
    w.window_s = w.set.duplicate_window_s;
    snprintf(w.radius, sizeof(w.radius), "%.1f", w.radius_m);
    snprintf(w.window, sizeof(w.window), "%.0f", w.window_s);
    antt_service_ack_seconds(&svc, w.ack_s, sizeof(w.ack_s));
    w.unlocated_desk = w.set.unlocated_desk;

    w.m_new = antt_metrics_counter("antt_classify_reports_total", "Reports classified and recorded",
                                   "result=\"new_incident\"");
    w.m_joined = antt_metrics_counter("antt_classify_reports_total", "Reports classified and recorded",
                                      "result=\"joined\"");
    w.m_replay = antt_metrics_counter("antt_classify_reports_total", "Reports classified and recorded",
                                      "result=\"replay\"");
    w.m_failed = antt_metrics_counter("antt_classify_failed_total",
                                      "Reports not recorded (left to intake's re-drive)", NULL);
    w.m_bad = antt_metrics_counter("antt_classify_malformed_total", "Malformed messages dropped", NULL);
    w.m_classify_s = antt_metrics_histogram("antt_classify_seconds", "Classifier time per report", NULL,
                                            antt_latency_buckets, antt_latency_nbuckets);
    /* finer than the shared buckets where the 2 ms objective lies */
    static const double stage_buckets[] = {0.00025, 0.0005, 0.00075, 0.001, 0.00125, 0.0015, 0.00175, 0.002,
                                           0.0025,  0.003,  0.004,   0.005, 0.0075,  0.01,   0.025,   0.05,
                                           0.1,     0.25,   1,       5};
    w.m_stage_s = antt_metrics_histogram("antt_classify_commit_to_classified_seconds",
                                         "Stage 2: from intake's commit of a report to its incident published after the worker's commit",
                                         NULL, antt_latency_buckets, antt_latency_nbuckets);
    w.m_latency_s = antt_metrics_histogram("antt_classify_latency_seconds",
                                           "From receiving a report to publishing its incident (after commit)",
                                           NULL, stage_buckets, sizeof(stage_buckets) / sizeof(stage_buckets[0]));
    static const double batch_buckets[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
    w.m_batch = antt_metrics_histogram("antt_classify_batch_size", "Reports per recording transaction", NULL,
                                       batch_buckets, sizeof(batch_buckets) / sizeof(batch_buckets[0]));
    w.m_areas = antt_metrics_gauge("antt_classify_areas", "Areas known for address matching", NULL);
    w.m_review_disagree = antt_metrics_counter("antt_classify_needs_review_total",
                                               "Reports classified as needing a dispatcher's review, by why",
                                               "reason=\"resident_disagrees\"");
    w.m_review_unsure = antt_metrics_counter("antt_classify_needs_review_total",
                                             "Reports classified as needing a dispatcher's review, by why",
                                             "reason=\"unsure\"");
    w.m_review_ratio = antt_metrics_gauge("antt_classify_needs_review_ratio",
                                          "Share of the reports classified since start that need review", NULL);
    w.m_reloads_ok = antt_metrics_counter("antt_classify_model_reloads_total", "Model reloads on SIGHUP",
                                          "result=\"ok\"");
    w.m_reloads_failed = antt_metrics_counter("antt_classify_model_reloads_total", "Model reloads on SIGHUP",
                                              "result=\"failed\"");
    w.m_model_examples = antt_metrics_gauge("antt_classify_model_examples", "Examples the model was trained on",
                                            NULL);
    for (int k = 0; k < CLASSIFY_NCAT; k++) {
        char labels[64];
        snprintf(labels, sizeof(labels), "category=\"%s\"", antt_categories[k].code);
        w.m_corrections[k] = antt_metrics_gauge("antt_classify_corrections",
                                                "Dispatchers' reclassifications to each category (all time)", labels);
    }
    s_model_metrics(&w);
    antt_service_on_reload(&svc, s_on_reload, &w);

    w.nlanes = (int)w.set.lanes;
    for (int i = 0; i < w.nlanes; i++) {
        char name[16];
        snprintf(name, sizeof(name), i ? "write%d" : "write", i + 1);
        antt_db_t *db = w.lanes[i].db = antt_service_db(&svc, name);
        antt_db_set_max_inflight(db, w.max_inflight);
        antt_db_prepare(db, "classify_apply", "SELECT * FROM antt_classify_apply($1::jsonb, $2, $3, $4, $5, $6)", 6);
        antt_db_prepare(db, "classify_review", "SELECT antt_classify_review($1::jsonb)", 1);
        antt_db_start(db);
    }
    w.rdb = antt_service_db(&svc, "read");
    antt_db_set_state_cb(w.rdb, s_on_rdb_state, &w);
    antt_db_start(w.rdb);

    w.pub = antt_bus_new(&svc.loop, svc.zctx, ZMQ_PUB, 1000, NULL, NULL);
    const char *subs = w.set.publish_endpoints;
    char *copy = antt_xstrdup(subs), *save = NULL;
    /* each entry is SERVICE=ENDPOINT (notification=tcp://...): with CURVE
     * the worker must know whose key the endpoint's listener holds */
    for (char *ep = strtok_r(copy, " ,", &save); ep; ep = strtok_r(NULL, " ,", &save)) {
        char *eq = strchr(ep, '='), *scheme = strstr(ep, "://"), *peer = NULL;
        if (eq && scheme && eq < scheme) {
            *eq = '\0';
            peer = ep;
            ep = eq + 1;
        }
        if (peer == NULL && svc.curve) {
            ANTT_LOG(ANTT_ERROR, "classification.publish_endpoints: name the subscriber of %s"
                                 " (notification=%s or aggregation=%s)", ep, ep, ep);
            free(copy);
            return 1;
        }
        if (peer ? antt_service_connect(&svc, w.pub, ep, peer) != 0 : antt_bus_connect(w.pub, ep) != 0) {
            ANTT_LOG(ANTT_ERROR, "could not connect to subscriber %s", ep);
            free(copy);
            return 1;
        }
    }
    free(copy);
    /* intake's key, read by name: another service's setting */
    const char *pull_ep = *w.set.pull_endpoint ? w.set.pull_endpoint : antt_config_get(cfg, "intake.push_endpoint", NULL);
    if (pull_ep == NULL || !*pull_ep) {
        ANTT_LOG(ANTT_ERROR, "classification.pull_endpoint (or intake.push_endpoint) must be set");
        return 1;
    }
    w.pull = antt_bus_new(&svc.loop, svc.zctx, ZMQ_PULL, 0, s_on_report, &w);
    /* an AcceptedReport is at most some 40 KB (4000 characters of text, a
     * 500-character address, 10 URLs of 2048) */
    antt_bus_set_maxmsg(w.pull, 64 * 1024);
    if (antt_service_connect(&svc, w.pull, pull_ep, "intake") != 0 || antt_bus_start(w.pull) != 0 ||
        antt_bus_start(w.pub) != 0)
        return 1;
    uv_timer_init(&svc.loop, &w.timer);
    w.timer.data = &w;
    uv_timer_start(&w.timer, s_upkeep, 300000, 300000);
    antt_http_set_ready_cb(svc.http, s_ready, &w);
    antt_service_on_stop(&svc, s_on_stop, &w);
    ANTT_LOG(ANTT_INFO, "classification worker pulls %s, model version=%s, publishes to \"%s\"", pull_ep,
             classify_engine_version(w.engine), subs);
    int rc = antt_service_run(&svc);
    classify_areas_destroy(&w.areas);
    classify_engine_destroy(&w.engine);
    return rc;
}
