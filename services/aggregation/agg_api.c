/* agg_api: the trend API over HTTP, as a table of endpoints. Each is a path,
 * the query parameters it binds ($1, $2, ... in order, with defaults), the
 * SQL it runs in one job, and the renderer of the results; one handler runs
 * them all through the service's query gate (a bounded queue, a statement
 * timeout). The SSE stream (agg_stream.c), the CSV export (agg_export.c)
 * and the dashboard's files are the routes that are not in the table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_int.h"
#include "antt_http_gate.h"
#include "antt_log.h"

#define A_MAX_PARAMS 6
#define A_MAX_STMTS 3

typedef struct a_param {
    const char *name; /* query parameter */
    const char *def;  /* its value when absent (NULL: SQL NULL) */
} a_param_t;

typedef struct a_stmt {
    const char *sql; /* NULL ends the list */
    int nparams;     /* binds the first nparams parameters */
} a_stmt_t;

typedef struct a_endpoint {
    const char *path;                 /* route */
    int area;                         /* A_AREA: params[0] is a required area code; A_ROOT: an optional one */
    a_param_t params[A_MAX_PARAMS];   /* bound in order */
    a_stmt_t stmts[A_MAX_STMTS];      /* one job */
    a_stmt_t csv_stmt;                /* added when CSV is asked for (sql NULL: none) */
    int csv;                          /* format=csv is honoured */
    agg_render_cb render;             /* the answer */
} a_endpoint_t;

enum { A_NONE, A_AREA, A_ROOT };

#define A_TO_D "COALESCE($3::date, antt_trend_today())"
#define A_FROM_D "COALESCE($5::date, date_trunc('year', " A_TO_D ")::date)"
#define A_YEAR "COALESCE($2::integer, extract(year FROM antt_trend_today())::integer)"

static const a_endpoint_t s_endpoints[] = {
    /* GET /api/v1/trends?area=&dimension=&period=&from=&to=[&format=csv]
     * (group=G and category=C are short for dimension=group:G, category:C) */
    {"/api/v1/trends", A_AREA, {{"area", NULL}, {"dimension", "all"}, {"to", NULL}, {"period", "month"}, {"from", NULL}},
     {{"SELECT jsonb_build_object('area', $1::text, 'dimension', $2::text, 'period', $4::text,"
       " 'from', " A_FROM_D ", 'to', " A_TO_D ")::text",
       5},
      /* significant: the change passes the Poisson test; coverage: the
       * bucket (prior_coverage: its year-before) is within the area's data */
      {"SELECT bucket, bucket_from AS \"from\", bucket_to AS \"to\", n AS count, prior, change, change_pct,"
       " antt_significant(n, prior) AS significant, COALESCE(c.cf <= bucket_to, false) AS coverage,"
       " COALESCE(c.cf <= (bucket_from - interval '1 year')::date, false) AS prior_coverage"
       " FROM antt_trends($1, $2, $4, " A_FROM_D ", " A_TO_D "), (SELECT antt_covered_from($1) AS cf) c",
       5},
      {"SELECT jsonb_build_object("
       "'ytd', antt_trend_compare(s.areas, s.cats, date_trunc('year', t)::date, t + 1,"
       " (date_trunc('year', t) - interval '1 year')::date, (t + 1 - interval '1 year')::date),"
       "'rolling28', antt_trend_compare(s.areas, s.cats, t - 27, t + 1, t - 55, t - 27))::text"
       " FROM COALESCE($3::date, antt_trend_today()) t,"
       " (SELECT antt_area_set($1) AS areas, antt_dimension_categories($2) AS cats) s",
       3}},
     {NULL, 0}, 1, agg_render_trends},
    /* GET /api/v1/summary?area=&year=[&format=csv] */
    {"/api/v1/summary", A_AREA, {{"area", NULL}, {"year", NULL}},
     {{"SELECT antt_summary($1, " A_YEAR ")::text", 2}},
     {"SELECT g->>'group' AS \"group\", g->>'name' AS name, g->>'count' AS count,"
      " g->>'prior' AS prior, g->>'change' AS change, g->>'change_pct' AS change_pct"
      " FROM jsonb_array_elements(antt_summary($1, " A_YEAR ")->'groups') g",
      2},
     1, agg_render_summary},
    /* GET /api/v1/response?area=&from=&to= */
    {"/api/v1/response", A_AREA, {{"area", NULL}, {"from", NULL}, {"to", NULL}},
     {{"SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM areas WHERE code = $1) THEN antt_raise('AT404', 'unknown area ' || $1)"
       " ELSE jsonb_build_object('area', $1::text, 'from', d0, 'to', d1 - 1, 'by_priority',"
       " antt_trend_response($1, d0, d1))::text END"
       " FROM (SELECT COALESCE($2::date, date_trunc('year', antt_trend_today())::date) AS d0,"
       " COALESCE($3::date, antt_trend_today()) + 1 AS d1) x",
       3}},
     {NULL, 0}, 0, agg_render_json0},
    /* GET /api/v1/spikes?area=&day= */
    {"/api/v1/spikes", A_AREA, {{"area", NULL}, {"day", NULL}},
     {{"SELECT area_code, category, day, n AS count, round(baseline::numeric, 3) AS baseline,"
       " p AS tail_probability, row_to_json(s)::text AS json"
       " FROM antt_trend_spikes($1, COALESCE($2::date, antt_trend_today())) s",
       2}},
     {NULL, 0}, 1, agg_render_rows},
    /* GET /api/v1/hotspots?area=&days=30&eps_m=150&min_points=3 */
    {"/api/v1/hotspots", A_AREA, {{"area", NULL}, {"days", NULL}, {"eps_m", NULL}, {"min_points", NULL}},
     {{"SELECT cluster, lat, lon, n AS count, top_category, row_to_json(h)::text AS json"
       " FROM antt_trend_hotspots($1, LEAST(GREATEST(COALESCE($2::integer, 30), 1), 366),"
       " LEAST(GREATEST(COALESCE($3::double precision, 150), 20), 2000),"
       " GREATEST(COALESCE($4::integer, 3), 3)) h",
       4}},
     {NULL, 0}, 1, agg_render_rows},
    /* GET /report?area=&year=: the yearly report as a page to print, its
     * figures put into the page (agg_render_report) */
    {"/report", A_AREA, {{"area", NULL}, {"year", NULL}},
     {{"SELECT jsonb_build_object('area', (SELECT jsonb_build_object('code', code, 'name', name) FROM areas"
       " WHERE code = $1), 'year', y, 'summary', antt_summary($1, y),"
       " 'months', (SELECT COALESCE(jsonb_agg(to_jsonb(t) ORDER BY t.bucket), '[]') FROM antt_trends($1, 'all',"
       " 'month', make_date(y, 1, 1), LEAST(make_date(y, 12, 31), antt_trend_today())) t),"
       " 'months_prior', (SELECT COALESCE(jsonb_agg(to_jsonb(t) ORDER BY t.bucket), '[]') FROM antt_trends($1, 'all',"
       " 'month', make_date(y - 1, 1, 1), make_date(y - 1, 12, 31)) t),"
       " 'generated', to_char(now() AT TIME ZONE 'Asia/Ho_Chi_Minh', 'DD/MM/YYYY HH24:MI'))::text"
       " FROM (SELECT " A_YEAR " AS y) x",
       2}},
     {NULL, 0}, 0, agg_render_report},
    /* GET /api/v1/areas[?root=CODE]: the tree with simplified boundaries */
    {"/api/v1/areas", A_ROOT, {{"root", NULL}},
     {{"SELECT COALESCE(jsonb_agg(jsonb_build_object('code', code, 'parent', parent_code, 'level', level,"
       " 'name', name, 'valid_from', valid_from, 'valid_to', valid_to,"
       " 'boundary', ST_AsGeoJSON(ST_SimplifyPreserveTopology(boundary, 0.0002), 5)::jsonb)"
       " ORDER BY antt_level_depth(level), code), '[]')::text"
       " FROM areas WHERE $1::text IS NULL OR code = ANY (antt_area_set($1))",
       1}},
     {NULL, 0}, 0, agg_render_json0},
};

#define A_NENDPOINTS (sizeof(s_endpoints) / sizeof(s_endpoints[0]))

typedef struct a_route {
    agg_svc_t *a;            /* the service */
    const a_endpoint_t *e;   /* the endpoint */
} a_route_t;

typedef struct a_query {
    antt_http_req_t *req;    /* the request */
    const a_endpoint_t *e;   /* its endpoint */
    int csv;                 /* CSV was asked for */
} a_query_t;

static void s_on_query(antt_db_job_t *job, int status, void *arg)
{
    a_query_t *q = arg;
    if (status == 0) {
        q->e->render(q->req, job, q->csv);
    } else if (status == -EIO) {
        const char *st = antt_db_job_sqlstate(job), *err = antt_db_job_error(job);
        int code = st && !strcmp(st, "AT404")                                      ? 404
                   : st && (!strcmp(st, "AT400") || !strncmp(st, "22", 2))         ? 400
                   : st && !strcmp(st, "57014")                                     ? 503
                                                                                    : 500;
        if (code >= 500)
            ANTT_LOG(ANTT_WARN, "%s query failed: %s", q->e->path, err ? err : "");
        /* the first line of the server's message, without "ERROR:  " */
        char msg[300] = "query failed";
        if (code == 503) {
            snprintf(msg, sizeof(msg), "the query took too long");
        } else if (code != 500 && err) {
            const char *p = strstr(err, ":  ");
            snprintf(msg, sizeof(msg), "%s", p ? p + 3 : err);
            msg[strcspn(msg, "\n")] = 0;
        }
        antt_http_json_error(q->req, code,
                             code == 404 ? "not_found" : code == 400 ? "bad_request" : code == 503 ? "timeout" : "internal",
                             msg);
    } else {
        antt_http_json_error(q->req, 503, "unavailable", "database unavailable");
    }
    free(q);
}

/* A parameter's value (borrowed from f or buf), or NULL. */
static const char *s_value(const antt_form_t *f, const a_param_t *p, char *buf, size_t len)
{
    const char *v = agg_param(f, p->name);
    if (v == NULL && !strcmp(p->name, "dimension") && (agg_param(f, "group") || agg_param(f, "category"))) {
        const char *g = agg_param(f, "group");
        snprintf(buf, len, "%s:%s", g ? "group" : "category", g ? g : agg_param(f, "category"));
        v = buf;
    }
    return v ? v : p->def;
}

static void s_http_endpoint(antt_http_req_t *req, void *arg)
{
    const a_route_t *rt = arg;
    const a_endpoint_t *e = rt->e;
    antt_form_t f;
    if (agg_query_parse(req, &f) != 0)
        return;
    const char *v[A_MAX_PARAMS] = {NULL};
    char dim[96];
    int n = 0;
    for (; n < A_MAX_PARAMS && e->params[n].name; n++)
        v[n] = s_value(&f, &e->params[n], dim, sizeof(dim));
    if ((e->area == A_AREA && !agg_area_ok(v[0])) || (e->area == A_ROOT && v[0] && !agg_area_ok(v[0]))) {
        antt_form_cleanup(&f);
        antt_http_json_error(req, 400, "bad_request",
                             e->area == A_AREA ? "area= must be an area code" : "root= must be an area code");
        return;
    }
    a_query_t *q = antt_xcalloc(1, sizeof(*q));
    q->req = req;
    q->e = e;
    q->csv = e->csv && agg_wants_csv(&f, req);
    antt_db_job_t *job = antt_db_job_new(NULL, NULL);
    for (int i = 0; i < A_MAX_STMTS && e->stmts[i].sql; i++)
        antt_db_job_add(job, e->stmts[i].sql, e->stmts[i].nparams, v, NULL, NULL);
    if (q->csv && e->csv_stmt.sql)
        antt_db_job_add(job, e->csv_stmt.sql, e->csv_stmt.nparams, v, NULL, NULL);
    antt_form_cleanup(&f);
    if (antt_http_gate_run(req, rt->a->qdb, job, s_on_query, q) != 0)
        free(q); /* answered 503 */
}

/* GET / and /dashboard/...: the dashboard's files, built into the binary. */
static void s_http_static(antt_http_req_t *req, void *arg)
{
    (void)arg;
    antt_str_t path = antt_http_path(req);
    char p[128];
    if (path.n >= sizeof(p)) {
        antt_http_json_error(req, 404, "not_found", "no such file");
        return;
    }
    memcpy(p, path.p, path.n);
    p[path.n] = 0;
    const char *name = !strcmp(p, "/") || !strcmp(p, "/dashboard") || !strcmp(p, "/dashboard/") ? "index.html"
                       : !strncmp(p, "/dashboard/", 11)                                         ? p + 11
                                                                                                : NULL;
    const agg_asset_t *f = name ? agg_asset(name) : NULL;
    if (f == NULL) {
        antt_http_json_error(req, 404, "not_found", "no such file");
        return;
    }
    antt_http_add_header(req, "cache-control", "no-cache");
    antt_http_respond(req, 200, f->content_type, (const char *)f->data, f->len);
}

void *agg_api_register(agg_svc_t *a, antt_http_t *http)
{
    a_route_t *routes = antt_xcalloc(A_NENDPOINTS, sizeof(*routes));
    for (size_t i = 0; i < A_NENDPOINTS; i++) {
        routes[i].a = a;
        routes[i].e = &s_endpoints[i];
        antt_http_route(http, s_endpoints[i].path, s_http_endpoint, &routes[i]);
    }
    antt_http_route(http, "/api/v1/stream", agg_http_stream, a);
    antt_http_route(http, "/api/v1/export/incidents", agg_http_export, a);
    antt_http_route(http, "/", s_http_static, a);
    return routes;
}
