/* agg_export: GET /api/v1/export/incidents?area=&from=&to=, the staff CSV
 * of the incidents the trend figures count in a range of days: one row per
 * incident, its location coarsened to the hotspots' 0.002° grid (about
 * 200 m), no text and no contact (aggregation cannot read reports at all).
 *
 * A year of a city is streamed, not built: the answer is chunked, and the
 * rows are read a page at a time (A_PAGE rows of one leaf area, in (day,
 * incident) order from trend_contributions_area_day_idx, the next page
 * after the last key seen), the next page asked only once the socket has
 * taken the last one down to A_UNSENT_MAX bytes. So an export holds at
 * most one page and one socket buffer, and at most A_EXPORTS_MAX run at
 * once; beyond, 503. Its first job (the checks and the area list) passes
 * the service's query gate like every query; its pages go to the same
 * connection one at a time, each under a statement timeout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_int.h"
#include "antt_http_gate.h"
#include "antt_log.h"
#include "antt_token.h"

#define A_PAGE "1000"           /* rows of one page */
#define A_UNSENT_MAX (256 << 10) /* bytes not yet taken by the socket before the next page waits */
#define A_EXPORTS_MAX 2         /* exports at once */
#define A_PAGE_TIMEOUT_MS 10000 /* statement timeout of a page */

static const char s_check_sql[] =
    "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM areas WHERE code = $1) THEN antt_raise('AT404', 'unknown area ' || $1)"
    " WHEN $2::date IS NULL OR $3::date IS NULL THEN antt_raise('AT400', 'from= and to= are required (YYYY-MM-DD)')"
    " WHEN $2::date > $3::date OR $3::date - $2::date > 366 THEN"
    "  antt_raise('AT400', 'from= must not be after to=, and the range is at most 366 days')"
    " WHEN NOT (antt_export_allowed($4, $1) OR EXISTS (SELECT 1 FROM antt_dashboard_scope(sha256(convert_to($4, 'UTF8')),"
    " $1) s WHERE s.allowed)) THEN antt_raise('AT403', 'the export needs a staff token (a dashboard token or a desk''s)"
    " of the area')"
    " ELSE array_to_string(ARRAY(SELECT unnest(antt_area_set($1)) ORDER BY 1), ',') END";

static const char s_page_sql[] =
    "SELECT c.incident_id, c.day, c.area_code, a.name, c.category, c.priority, i.status, c.counted, i.desk_code,"
    " i.report_count, to_char(i.occurred_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD\"T\"HH24:MI:SS'),"
    " to_char(i.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD\"T\"HH24:MI:SS'),"
    " (round(i.lat / 0.002) * 0.002)::numeric(9, 3), (round(i.lon / 0.002) * 0.002)::numeric(9, 3)"
    " FROM trend_contributions c JOIN incidents i ON i.id = c.incident_id LEFT JOIN areas a ON a.code = c.area_code"
    " WHERE c.area_code = $1 AND c.day BETWEEN $2::date AND $3::date"
    " AND (c.day, c.incident_id) > (COALESCE($4::date, '-infinity'), COALESCE($5::uuid, '00000000-0000-0000-0000-000000000000'))"
    " ORDER BY c.day, c.incident_id LIMIT " A_PAGE;

static const char s_header[] = "incident_id,day,area_code,area_name,category,priority,status,counted,desk_code,"
                               "report_count,occurred_at,received_at,lat,lon\r\n";

typedef struct a_export {
    agg_svc_t *a;          /* the service */
    antt_http_req_t *req;  /* the answer; NULL once the client is gone */
    char *areas;           /* the leaf areas, comma-separated (ours) */
    char *next;            /* the area being read, within areas */
    char from[16], to[16]; /* the range of days */
    char last_day[16];     /* the page's key: the last row's day and incident ("" before the first) */
    char last_id[40];
    int inflight;          /* a job is on the connection */
    long rows;             /* rows written */
} a_export_t;

static void s_next_page(a_export_t *x);

static void s_free(a_export_t *x)
{
    x->a->exports--;
    free(x->areas);
    free(x);
}

static void s_on_gone(antt_http_req_t *req, void *arg)
{
    (void)req;
    a_export_t *x = arg;
    x->req = NULL;
    if (!x->inflight)
        s_free(x);
}

static void s_on_drain(antt_http_req_t *req, void *arg)
{
    a_export_t *x = arg;
    antt_http_stream_on_drain(req, NULL, NULL);
    s_next_page(x);
}

static void s_csv_field(antt_buf_t *b, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        antt_buf_puts(b, s);
        return;
    }
    antt_buf_puts(b, "\"");
    for (const char *p = s; *p; p++)
        antt_buf_append(b, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
    antt_buf_puts(b, "\"");
}

/* The end: the last chunk, or (on an error after the first byte) a cut
 * connection, so that the client sees an incomplete answer, not a short
 * file that looks whole. */
static void s_finish(a_export_t *x, int ok)
{
    if (ok)
        antt_http_stream_end(x->req);
    else
        antt_http_stream_abort(x->req);
    ANTT_LOG(ok ? ANTT_INFO : ANTT_WARN, "export %s rows=%ld from=%s to=%s", ok ? "done" : "cut", x->rows, x->from,
             x->to);
    s_free(x);
}

static void s_on_page(antt_db_job_t *job, int status, void *arg)
{
    a_export_t *x = arg;
    x->inflight = 0;
    if (x->req == NULL) {
        s_free(x);
        return;
    }
    if (status != 0) {
        ANTT_LOG(ANTT_WARN, "export page failed: %s", antt_db_job_error(job) ? antt_db_job_error(job) : "no connection");
        s_finish(x, 0);
        return;
    }
    PGresult *r = antt_db_job_result(job, 0);
    int n = PQntuples(r);
    antt_buf_t b;
    antt_buf_init(&b);
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < PQnfields(r); c++) {
            antt_buf_puts(&b, c ? "," : "");
            s_csv_field(&b, PQgetvalue(r, i, c));
        }
        antt_buf_puts(&b, "\r\n");
    }
    if (n > 0) {
        snprintf(x->last_day, sizeof(x->last_day), "%s", PQgetvalue(r, n - 1, 1));
        snprintf(x->last_id, sizeof(x->last_id), "%s", PQgetvalue(r, n - 1, 0));
    }
    x->rows += n;
    int wrc = b.len ? antt_http_stream_write(x->req, b.data, b.len) : 0;
    antt_buf_cleanup(&b);
    if (wrc == -EPIPE)
        return; /* on_gone follows */
    if (n < atoi(A_PAGE)) {
        /* this area is done: the next one from its start */
        char *comma = strchr(x->next, ',');
        x->next = comma ? comma + 1 : NULL;
        x->last_day[0] = x->last_id[0] = 0;
        if (x->next == NULL) {
            s_finish(x, 1);
            return;
        }
    }
    if (antt_http_stream_unsent(x->req) > A_UNSENT_MAX)
        antt_http_stream_on_drain(x->req, s_on_drain, x);
    else
        s_next_page(x);
}

static void s_next_page(a_export_t *x)
{
    char area[72];
    size_t len = strcspn(x->next, ",");
    snprintf(area, sizeof(area), "%.*s", (int)len, x->next);
    const char *v[5] = {area, x->from, x->to, x->last_day[0] ? x->last_day : NULL, x->last_id[0] ? x->last_id : NULL};
    antt_db_job_t *job = antt_db_job_new(s_on_page, x);
    antt_db_job_add(job, s_page_sql, 5, v, NULL, NULL);
    antt_db_job_set_timeout(job, A_PAGE_TIMEOUT_MS);
    x->inflight = 1;
    if (antt_db_submit(x->a->qdb, job) != 0) {
        x->inflight = 0;
        s_finish(x, 0);
    }
}

static void s_on_check(antt_db_job_t *job, int status, void *arg)
{
    a_export_t *x = arg;
    x->inflight = 0;
    const char *st = antt_db_job_sqlstate(job);
    if (status != 0) {
        const char *err = antt_db_job_error(job), *p = err ? strstr(err, ":  ") : NULL;
        char msg[200];
        snprintf(msg, sizeof(msg), "%s", p ? p + 3 : status == -EIO ? "query failed" : "database unavailable");
        msg[strcspn(msg, "\n")] = 0;
        int code = !st                                                   ? 503
                   : !strcmp(st, "AT404")                                ? 404
                   : !strcmp(st, "AT403")                                ? 403
                   : !strcmp(st, "AT400") || !strncmp(st, "22", 2)       ? 400
                                                                         : 500;
        if (code == 500)
            ANTT_LOG(ANTT_WARN, "export check failed: %s", err ? err : "");
        antt_http_json_error(x->req, code,
                             code == 404   ? "not_found"
                             : code == 403 ? "forbidden"
                             : code == 400 ? "bad_request"
                             : code == 503 ? "unavailable"
                                           : "internal",
                             code == 500 ? "query failed" : msg);
        s_free(x);
        return;
    }
    x->areas = antt_xstrdup(PQgetvalue(antt_db_job_result(job, 0), 0, 0));
    x->next = x->areas;
    char cd[160];
    snprintf(cd, sizeof(cd), "attachment; filename=\"incidents-%s-%s.csv\"", x->from, x->to);
    antt_http_add_header(x->req, "content-disposition", cd);
    antt_http_add_header(x->req, "cache-control", "no-store");
    antt_http_stream_start(x->req, 200, "text/csv; charset=utf-8", s_on_gone, x);
    if (antt_http_stream_write(x->req, s_header, sizeof(s_header) - 1) == -EPIPE)
        return;
    if (*x->next)
        s_next_page(x);
    else
        s_finish(x, 1);
}

void agg_http_export(antt_http_req_t *req, void *arg)
{
    agg_svc_t *a = arg;
    antt_form_t f;
    if (agg_query_parse(req, &f) != 0)
        return;
    const char *area = agg_param(&f, "area"), *from = agg_param(&f, "from"), *to = agg_param(&f, "to");
    char token[ANTT_TOKEN_MAX + 1];
    antt_token_from_request(req, 0, token, sizeof(token));
    if (!agg_area_ok(area) || (from && strlen(from) > 10) || (to && strlen(to) > 10)) {
        antt_form_cleanup(&f);
        antt_http_json_error(req, 400, "bad_request", "area= must be an area code, from= and to= days (YYYY-MM-DD)");
        return;
    }
    if (a->exports >= A_EXPORTS_MAX) {
        antt_form_cleanup(&f);
        antt_http_busy(req, "too many exports at once", 5);
        return;
    }
    a_export_t *x = antt_xcalloc(1, sizeof(*x));
    x->a = a;
    x->req = req;
    a->exports++;
    snprintf(x->from, sizeof(x->from), "%s", from ? from : "");
    snprintf(x->to, sizeof(x->to), "%s", to ? to : "");
    const char *v[4] = {area, from, to, token[0] ? token : NULL};
    antt_db_job_t *job = antt_db_job_new(NULL, NULL);
    antt_db_job_add(job, s_check_sql, 4, v, NULL, NULL);
    antt_form_cleanup(&f);
    x->inflight = 1;
    if (antt_http_gate_run(req, a->qdb, job, s_on_check, x) != 0)
        s_free(x); /* answered 503 */
}
