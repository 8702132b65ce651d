/* intake_push: accepted reports to classification. The fast path pushes
 * right after the commit; the re-drive pushes again, from the report_queue
 * table, every report that classification has not yet taken (it deletes the
 * queue row when it records its result), so that a crash, a full queue or
 * an absent worker loses nothing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "antt/v1/report.pb-c.h"
#include "antt_log.h"
#include "intake.h"

/* The answers (a JSON object of code: value or [values], as intake stored
 * them) as Answer messages borrowing from doc; *n of them, freed with
 * s_answers_free. */
typedef struct s_answers {
    json_t *doc;                    /* the parsed object */
    Antt__V1__Answer *a, **ap;      /* the messages and their pointers */
    char ***values;                 /* each message's values (borrowed) */
    size_t n;                       /* count */
} s_answers_t;

static void s_answers_init(s_answers_t *x, const char *attributes)
{
    memset(x, 0, sizeof(*x));
    x->doc = attributes ? json_loads(attributes, 0, NULL) : NULL;
    size_t cap = json_is_object(x->doc) ? json_object_size(x->doc) : 0;
    if (cap == 0)
        return;
    x->a = antt_xcalloc(cap, sizeof(*x->a));
    x->ap = antt_xcalloc(cap, sizeof(*x->ap));
    x->values = antt_xcalloc(cap, sizeof(*x->values));
    const char *k;
    json_t *v;
    json_object_foreach(x->doc, k, v)
    {
        Antt__V1__Answer *a = &x->a[x->n];
        antt__v1__answer__init(a);
        a->code = (char *)k;
        size_t nv = json_is_array(v) ? json_array_size(v) : 1;
        x->values[x->n] = antt_xcalloc(nv, sizeof(char *));
        for (size_t i = 0; i < nv; i++) {
            const char *s = json_string_value(json_is_array(v) ? json_array_get(v, i) : v);
            if (s)
                x->values[x->n][a->n_values++] = (char *)s;
        }
        a->values = x->values[x->n];
        x->ap[x->n] = a;
        x->n++;
    }
}

static void s_answers_free(s_answers_t *x)
{
    for (size_t i = 0; i < x->n; i++)
        free(x->values[i]);
    free(x->values);
    free(x->a);
    free(x->ap);
    json_decref(x->doc);
}

void intake_push_report(intake_t *in, const intake_report_t *r, int contact_given, uint32_t attempt)
{
    if (in->push == NULL || in->closing)
        return;
    s_answers_t answers;
    s_answers_init(&answers, r->attributes);
    Antt__V1__AcceptedReport m = ANTT__V1__ACCEPTED_REPORT__INIT;
    Antt__V1__Location loc = ANTT__V1__LOCATION__INIT;
    m.report_id = (char *)r->id;
    m.has_received_at_ms = 1;
    m.received_at_ms = r->received_ms;
    if (r->has_occurred) {
        m.has_occurred_at_ms = 1;
        m.occurred_at_ms = r->occurred_ms;
    }
    m.gateway = r->gateway_code;
    m.description = r->description;
    m.service_code = r->service_code;
    if (r->has_location || r->area_code || r->address) {
        if (r->has_location) {
            loc.has_lat = loc.has_lon = 1;
            loc.lat = r->lat;
            loc.lon = r->lon;
        }
        loc.area_code = r->area_code;
        loc.address = r->address;
        m.location = &loc;
    }
    m.n_media_urls = r->nmedia;
    m.media_urls = r->media_urls;
    m.has_contact_given = 1;
    m.contact_given = contact_given != 0;
    m.has_attempt = 1;
    m.attempt = attempt;
    if (attempt == 0) { /* the fast path pushes as the commit is answered */
        m.has_committed_at_ms = 1;
        m.committed_at_ms = antt_now_ms();
    }
    m.language = r->language;
    if (r->imported_status) {
        /* history: the classification is given, not decided */
        m.has_imported = 1;
        m.imported = 1;
        m.has_imported_priority = 1;
        m.imported_priority = (uint32_t)r->imported_priority;
        m.imported_status = r->imported_status;
    }
    m.n_answers = answers.n;
    m.answers = answers.ap;
    int rc = antt_bus_send_pb(in->push, &m.base, 0);
    s_answers_free(&answers);
    if (rc != 0) {
        /* no worker or queue full: the re-drive will bring it later */
        antt_metric_inc(in->m_push_dropped);
        ANTT_LOG(ANTT_DEBUG, "push deferred to re-drive report=%s: %s", r->id, zmq_strerror(-rc));
        return;
    }
    antt_metric_inc(attempt ? in->m_redriven : in->m_pushed);
}

/* Due queue rows, their next attempt moved out with exponential backoff
 * capped at 10 minutes. SKIP LOCKED lets several intake processes share the
 * queue. */
static const char S_REDRIVE_SQL[] =
    "WITH due AS ("
    "  SELECT report_id FROM report_queue WHERE next_attempt_at <= now()"
    "  ORDER BY next_attempt_at LIMIT 500 FOR UPDATE SKIP LOCKED),"
    " upd AS ("
    "  UPDATE report_queue q SET attempts = q.attempts + 1,"
    "    next_attempt_at = now() + least($1::bigint * interval '1 millisecond'"
    "      * power(2, least(q.attempts, 6)), interval '10 minutes')"
    "  WHERE q.report_id = ANY (ARRAY(SELECT report_id FROM due))"
    "  RETURNING q.report_id, q.received_at, q.attempts)"
    " SELECT r.id, (extract(epoch FROM r.received_at) * 1000)::bigint,"
    "   (extract(epoch FROM r.occurred_at) * 1000)::bigint, g.code, r.description, r.service_code,"
    "   r.lat, r.lon, r.area_code, r.address, to_json(r.media_urls), r.contact_given,"
    "   r.language, upd.attempts, r.imported_priority, r.imported_status, r.attributes"
    /* intake cannot read contact_sealed (migration 013): whether there is
     * one comes from the view */
    " FROM upd CROSS JOIN LATERAL (SELECT * FROM reports_for_push p"
    "   WHERE p.id = upd.report_id AND p.received_at = upd.received_at LIMIT 1) r"
    " JOIN gateways g ON g.id = r.gateway_id";

static char *s_opt(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : antt_xstrdup(PQgetvalue(res, row, col));
}

/* Reads the media URLs, selected as a JSON array, into r->media_urls. */
static void s_media(intake_report_t *r, const char *json)
{
    json_t *arr = json_loads(json, 0, NULL);
    size_t n = json_array_size(arr);
    if (n > 0) {
        r->media_urls = antt_xcalloc(n, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
            const char *u = json_string_value(json_array_get(arr, i));
            if (u)
                r->media_urls[r->nmedia++] = antt_xstrdup(u);
        }
    }
    json_decref(arr);
}

static void s_on_timer(uv_timer_t *t);

static void s_schedule(intake_t *in, uint64_t ms)
{
    if (!in->closing)
        uv_timer_start(&in->redrive_timer, s_on_timer, ms, 0);
}

static void s_on_redrive(antt_db_job_t *job, int status, void *arg)
{
    intake_t *in = arg;
    in->redrive_busy = 0;
    if (in->closing)
        return;
    if (status != 0) {
        if (status != -ECANCELED)
            ANTT_LOG(ANTT_WARN, "could not re-drive reports: %s",
                     antt_db_job_error(job) ? antt_db_job_error(job) : "connection lost");
        s_schedule(in, (uint64_t)in->set.redrive_interval_ms);
        return;
    }
    PGresult *res = antt_db_job_result(job, in->redrive_sweeping ? 1 : 0);
    if (in->redrive_sweeping) {
        const char *swept = PQcmdTuples(antt_db_job_result(job, 0));
        if (swept && atoi(swept) > 0)
            ANTT_LOG(ANTT_INFO, "a worker connected: %s waiting report(s) due now", swept);
    }
    in->redrive_sweeping = 0;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        intake_report_t r;
        memset(&r, 0, sizeof(r));
        snprintf(r.id, sizeof(r.id), "%s", PQgetvalue(res, i, 0));
        r.received_ms = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        if (!PQgetisnull(res, i, 2)) {
            r.has_occurred = 1;
            r.occurred_ms = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        }
        r.gateway_code = s_opt(res, i, 3);
        r.description = s_opt(res, i, 4);
        r.service_code = s_opt(res, i, 5);
        if (!PQgetisnull(res, i, 6)) {
            r.has_location = 1;
            r.lat = strtod(PQgetvalue(res, i, 6), NULL);
            r.lon = strtod(PQgetvalue(res, i, 7), NULL);
        }
        r.area_code = s_opt(res, i, 8);
        r.address = s_opt(res, i, 9);
        s_media(&r, PQgetvalue(res, i, 10));
        /* the sealed box stays in the database; only "there is one" travels */
        int contact = PQgetvalue(res, i, 11)[0] == 't';
        r.language = s_opt(res, i, 12);
        uint32_t attempt = (uint32_t)atoi(PQgetvalue(res, i, 13));
        if (!PQgetisnull(res, i, 15)) {
            r.imported_priority = atoi(PQgetvalue(res, i, 14));
            r.imported_status = s_opt(res, i, 15);
        }
        r.attributes = s_opt(res, i, 16);
        intake_push_report(in, &r, contact, attempt);
        intake_report_cleanup(&r);
    }
    if (n > 0)
        ANTT_LOG(ANTT_INFO, "re-drove reports=%d", n);
    /* a full page means more are due, and a sweep may be waiting: come back soon */
    s_schedule(in, n == 500 || in->redrive_sweep ? 50 : (uint64_t)in->set.redrive_interval_ms);
}

static void s_on_timer(uv_timer_t *t)
{
    intake_t *in = t->data;
    if (in->redrive_busy || in->closing)
        return;
    if (!antt_db_connected(in->rdb)) {
        s_schedule(in, (uint64_t)in->set.redrive_interval_ms);
        return;
    }
    char delay[32];
    snprintf(delay, sizeof(delay), "%ld", in->set.redrive_after_ms);
    const char *params[] = {delay};
    antt_db_job_t *job = antt_db_job_new(s_on_redrive, in);
    int sweep = in->redrive_sweep;
    if (sweep) {
        /* at start (2) every waiting report; when a worker came (1) those
         * whose pushes went nowhere, not those pushed a moment ago */
        const char *all[] = {sweep == 2 ? "true" : "false"};
        antt_db_job_add(job,
                        "UPDATE report_queue SET next_attempt_at = now()"
                        " WHERE next_attempt_at > now() AND (attempts > 0 OR $1::bool)",
                        1, all, NULL, NULL);
    }
    antt_db_job_add(job, S_REDRIVE_SQL, 1, params, NULL, NULL);
    if (antt_db_submit(in->rdb, job) == 0) {
        in->redrive_busy = 1;
        in->redrive_sweeping = sweep;
        in->redrive_sweep = 0;
    } else {
        s_schedule(in, (uint64_t)in->set.redrive_interval_ms);
    }
}

void intake_redrive_start(intake_t *in)
{
    /* at start every waiting report is due: whatever was pushed before
     * went with the process that pushed it */
    in->redrive_sweep = 2;
    in->last_sweep_ms = antt_now_ms();
    in->redrive_timer.data = in;
    uv_timer_start(&in->redrive_timer, s_on_timer, 0, 0);
}

void intake_redrive_sweep(intake_t *in)
{
    int64_t now = antt_now_ms();
    if (in->closing || now - in->last_sweep_ms < INTAKE_SWEEP_MIN_MS)
        return;
    in->last_sweep_ms = now;
    if (in->redrive_sweep == 0)
        in->redrive_sweep = 1;
    if (!in->redrive_busy)
        s_schedule(in, 0);
}
