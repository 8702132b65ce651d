/* agg_api: the trend API over HTTP, as a table of endpoints. Each is a path,
 * the query parameters it binds ($1, $2, ... in order, with defaults), the
 * SQL it runs in one job, and the renderer of the results; one handler runs
 * them all through the service's query gate (a bounded queue, a statement
 * timeout). The SSE stream (agg_stream.c), the CSV export (agg_export.c)
 * and the dashboard's files are the routes that are not in the table.
 *
 * An endpoint with figures has a second set of statements, the public's
 * (agg_audience): a request without a staff token runs those, with the
 * public rules' k and delay written into them at start ({k}, {delay}); a
 * request with one runs the staff statements once the token is checked. */
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
    a_stmt_t pub[A_MAX_STMTS];        /* the public's statements (sql NULL: the staff's) */
    int token_in_query;               /* a staff token may come as ?access_token= (a page a browser opens) */
} a_endpoint_t;

enum { A_NONE, A_AREA, A_ROOT };

#define A_TO_D "COALESCE($3::date, antt_trend_today())"
#define A_FROM_D "COALESCE($5::date, date_trunc('year', " A_TO_D ")::date)"
#define A_YEAR "COALESCE($2::integer, extract(year FROM antt_trend_today())::integer)"
/* The summary's least figure for year y: the audience's k (0 for staff)
 * while y is not over (its figures are live: a ward's one case of the
 * year would show within seconds), 0 once it is (a finished year is the
 * area's published figures, as the district publishes them). */
#define A_SUMMARY_K(y) "CASE WHEN " y " >= extract(year FROM antt_trend_today())::integer THEN {k} ELSE 0 END"

/* The yearly report's figures: trends is the function of its months (the
 * staff's or the public's), tail its arguments after the range, k the
 * summary's least public figure ("0": every figure). */
#define A_REPORT(trends, tail, k)                                                                                     \
    "SELECT jsonb_build_object('area', (SELECT jsonb_build_object('code', code, 'name', name) FROM areas"             \
    " WHERE code = $1), 'year', y, 'summary', antt_summary($1, y, " k "),"                                            \
    " 'months', (SELECT COALESCE(jsonb_agg(to_jsonb(t) ORDER BY t.bucket), '[]') FROM " trends "($1, 'all',"         \
    " 'month', make_date(y, 1, 1), LEAST(make_date(y, 12, 31), antt_trend_today())" tail ") t),"                     \
    " 'months_prior', (SELECT COALESCE(jsonb_agg(to_jsonb(t) ORDER BY t.bucket), '[]') FROM " trends "($1, 'all',"   \
    " 'month', make_date(y - 1, 1, 1), make_date(y - 1, 12, 31)" tail ") t),"                                         \
    " 'generated', to_char(now() AT TIME ZONE 'Asia/Ho_Chi_Minh', 'DD/MM/YYYY HH24:MI'))::text"                      \
    " FROM (SELECT " A_YEAR " AS y) x"

/* The response times' answer: refusal is more WHEN ... THEN antt_raise(...)
 * after the unknown area's, by_priority the figures per priority over
 * [d0, d1), which window gives. */
#define A_RESPONSE_IN(refusal, by_priority, window)                                                                   \
    "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM areas WHERE code = $1) THEN antt_raise('AT404', 'unknown area ' || $1)" \
    refusal " ELSE jsonb_build_object('area', $1::text, 'from', d0, 'to', d1 - 1, 'by_priority', " by_priority         \
    ")::text END FROM (" window ") x"
/* the staff's window: from= .. to= (the year to date by default) */
#define A_RESPONSE(refusal, by_priority)                                                                              \
    A_RESPONSE_IN(refusal, by_priority,                                                                               \
                  "SELECT COALESCE($2::date, date_trunc('year', antt_trend_today())::date) AS d0,"                    \
                  " COALESCE($3::date, antt_trend_today()) + 1 AS d1")
/* the public's: the whole year of from= (this year to date by default),
 * whatever to= says: two windows a day apart would be that day's figures,
 * which no public cell shows below k */
#define A_RESPONSE_PUBLIC(refusal, by_priority)                                                                       \
    A_RESPONSE_IN(refusal, by_priority,                                                                               \
                  "SELECT make_date(y, 1, 1) AS d0, LEAST(make_date(y, 12, 31), antt_trend_today()) + 1 AS d1"         \
                  " FROM (SELECT extract(year FROM COALESCE($2::date, antt_trend_today()))::integer AS y,"           \
                  " $3::date AS ignored) yy")

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
     {NULL, 0}, 1, agg_render_trends,
     {{NULL, 0},
      {"SELECT bucket, bucket_from AS \"from\", bucket_to AS \"to\", n AS count, prior, change, change_pct,"
       " antt_significant(n, prior) AS significant, COALESCE(c.cf <= bucket_to, false) AS coverage,"
       " COALESCE(c.cf <= (bucket_from - interval '1 year')::date, false) AS prior_coverage"
       /* no range of the client's own: two ranges a day apart would be
        * that day's count, which a day bucket hides when below k */
       " FROM antt_public_trends($1, $2, CASE WHEN $4 = 'range' THEN antt_raise('AT403', 'a range of your own"
       " choosing is staff''s: the public gets whole days, weeks, months, quarters and years') ELSE $4 END,"
       " " A_FROM_D ", " A_TO_D ", {k}, {delay}),"
       " (SELECT antt_covered_from($1) AS cf) c",
       5},
      /* the comparisons as of today only, whatever to= says: the year to
       * date at two days would be the day between them */
      {"SELECT jsonb_build_object("
       "'ytd', antt_public_compare($1, s.cats, date_trunc('year', t)::date, t + 1,"
       " (date_trunc('year', t) - interval '1 year')::date, (t + 1 - interval '1 year')::date, {k}, {delay}),"
       "'rolling28', antt_public_compare($1, s.cats, t - 27, t + 1, t - 55, t - 27, {k}, {delay}))::text"
       " FROM antt_trend_today() t, (SELECT antt_dimension_categories($2) AS cats, $3::date AS ignored) s",
       3}}, 0},
    /* GET /api/v1/summary?area=&year=[&format=csv] */
    {"/api/v1/summary", A_AREA, {{"area", NULL}, {"year", NULL}},
     {{"SELECT antt_summary($1, " A_YEAR ")::text", 2}},
     /* {k}: the audience's (0 for staff) */
     {"SELECT g->>'group' AS \"group\", g->>'name' AS name, g->>'count' AS count,"
      " g->>'prior' AS prior, g->>'change' AS change, g->>'change_pct' AS change_pct"
      " FROM jsonb_array_elements(antt_summary($1, " A_YEAR ", " A_SUMMARY_K(A_YEAR) ")->'groups') g",
      2},
     1, agg_render_summary,
     /* a neighbourhood's year only once it ended the delay ago */
     {{"SELECT CASE WHEN antt_area_fine($1) AND make_date(" A_YEAR " + 1, 1, 1)::timestamp AT TIME ZONE"
       " 'Asia/Ho_Chi_Minh' > now() - make_interval(secs => {delay}) THEN antt_raise('AT403',"
       " 'a neighbourhood''s summary is public once its year ended; this one needs a staff token')"
       " ELSE antt_summary($1, " A_YEAR ", " A_SUMMARY_K(A_YEAR) ")::text END",
       2}}, 0},
    /* GET /api/v1/response?area=&from=&to= */
    {"/api/v1/response", A_AREA, {{"area", NULL}, {"from", NULL}, {"to", NULL}},
     {{A_RESPONSE("", "antt_trend_response($1, d0, d1)"), 3}},
     {NULL, 0}, 0, agg_render_json0,
     /* the public's: whole years only, no neighbourhood (its months are
      * live), and the public rules of antt_public_response (027): no
      * priority, time or share that gives away 1 .. k-1 incidents */
     {{A_RESPONSE_PUBLIC(" WHEN antt_area_fine($1) THEN antt_raise('AT403', 'a neighbourhood''s response times are staff''s')",
                  "antt_public_response(antt_trend_response($1, d0, d1), {k})"),
       3}}, 0},
    /* GET /api/v1/spikes?area=&day= */
    {"/api/v1/spikes", A_AREA, {{"area", NULL}, {"day", NULL}},
     {{"SELECT area_code, category, day, n AS count, round(baseline::numeric, 3) AS baseline,"
       " p AS tail_probability, row_to_json(s)::text AS json"
       " FROM antt_trend_spikes($1, COALESCE($2::date, antt_trend_today())) s",
       2}},
     {NULL, 0}, 1, agg_render_rows,
     {{"SELECT area_code, category, day, n AS count, round(baseline::numeric, 3) AS baseline,"
       " p AS tail_probability, row_to_json(s)::text AS json"
       " FROM antt_public_spikes($1, COALESCE($2::date, antt_trend_today()), {k}, {delay}) s",
       2}}, 0},
    /* GET /api/v1/hotspots?area=&days=30&eps_m=150&min_points=3 */
    {"/api/v1/hotspots", A_AREA, {{"area", NULL}, {"days", NULL}, {"eps_m", NULL}, {"min_points", NULL}},
     {{"SELECT cluster, lat, lon, n AS count, top_category, row_to_json(h)::text AS json"
       " FROM antt_trend_hotspots($1, LEAST(GREATEST(COALESCE($2::integer, 30), 1), 366),"
       " LEAST(GREATEST(COALESCE($3::double precision, 150), 20), 2000),"
       " GREATEST(COALESCE($4::integer, 3), 3)) h",
       4}},
     {NULL, 0}, 1, agg_render_rows,
     /* the public's: the last 30 days at 150 m only, as the dashboard asks
      * (hotspots of 9 and of 10 days would be the tenth day's incidents
      * of a cluster, finer than any cell) */
     {{"SELECT cluster, lat, lon, n AS count, top_category, row_to_json(h)::text AS json"
       " FROM antt_trend_hotspots($1, CASE WHEN COALESCE($2::integer, 30) = 30"
       " AND COALESCE($3::double precision, 150) = 150 THEN 30 ELSE antt_raise('AT403', 'the public''s hotspots"
       " are of the last 30 days at 150 m (days=30, eps_m=150); other windows are staff''s')::integer END, 150,"
       " GREATEST(COALESCE($4::integer, 3), 3, {k}), now() - make_interval(secs => {delay})) h",
       4}}, 0},
    /* GET /report?area=&year=: the yearly report as a page to print, its
     * figures put into the page (agg_render_report) */
    {"/report", A_AREA, {{"area", NULL}, {"year", NULL}},
     {{A_REPORT("antt_trends", "", "0"), 2}},
     {NULL, 0}, 0, agg_render_report,
     /* the public's: its months as antt_public_trends, a neighbourhood's year
      * only once it ended the delay ago (as the summary) */
     {{"SELECT CASE WHEN antt_area_fine($1) AND make_date(" A_YEAR " + 1, 1, 1)::timestamp AT TIME ZONE"
       " 'Asia/Ho_Chi_Minh' > now() - make_interval(secs => {delay}) THEN antt_raise('AT403',"
       " 'a neighbourhood''s report is public once its year ended; this one needs a staff token')"
       " ELSE (" A_REPORT("antt_public_trends", ", {k}, {delay}", A_SUMMARY_K("y")) ") END",
       2}},
     /* antt report --staff opens it in Chromium, which sends no header */
     1},
    /* GET /api/v1/areas[?root=CODE]: the tree with simplified boundaries */
    {"/api/v1/areas", A_ROOT, {{"root", NULL}},
     {{"SELECT COALESCE(jsonb_agg(jsonb_build_object('code', code, 'parent', parent_code, 'level', level,"
       " 'name', name, 'valid_from', valid_from, 'valid_to', valid_to,"
       " 'boundary', ST_AsGeoJSON(ST_SimplifyPreserveTopology(boundary, 0.0002), 5)::jsonb)"
       " ORDER BY antt_level_depth(level), code), '[]')::text"
       " FROM areas WHERE $1::text IS NULL OR code = ANY (antt_area_set($1))",
       1}},
     {NULL, 0}, 0, agg_render_json0, {{NULL, 0}}, 0},
};

#define A_NENDPOINTS (sizeof(s_endpoints) / sizeof(s_endpoints[0]))

typedef struct a_route {
    agg_svc_t *a;                /* the service */
    const a_endpoint_t *e;       /* the endpoint */
    char *pub_sql[A_MAX_STMTS];  /* the public's statements with the rules written in (NULL: the staff's) */
    char *csv_sql[2];            /* the CSV statement, the staff's ({k} 0) and the public's (NULL: none) */
} a_route_t;

typedef struct a_query {
    antt_http_req_t *req;        /* the request */
    const a_route_t *rt;         /* its route */
    const a_endpoint_t *e;       /* its endpoint */
    int csv;                     /* CSV was asked for */
    const char *v[A_MAX_PARAMS]; /* the parameters (pointing into vbuf) */
    char vbuf[A_MAX_PARAMS][208];
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
                   : st && !strcmp(st, "AT403")                                     ? 403
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
                             code == 404   ? "not_found"
                             : code == 400 ? "bad_request"
                             : code == 403 ? "forbidden"
                             : code == 503 ? "timeout"
                                           : "internal",
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

/* Runs the query for its audience: the staff's statements (token_area
 * set: the token was checked) or the public's. */
static void s_run(antt_http_req_t *req, const char *token_area, const uint8_t *hash, void *arg)
{
    (void)hash;
    a_query_t *q = arg;
    const a_endpoint_t *e = q->e;
    antt_db_job_t *job = antt_db_job_new(NULL, NULL);
    for (int i = 0; i < A_MAX_STMTS && e->stmts[i].sql; i++) {
        const char *sql = token_area == NULL && q->rt->pub_sql[i] ? q->rt->pub_sql[i] : e->stmts[i].sql;
        antt_db_job_add(job, sql, e->stmts[i].nparams, q->v, NULL, NULL);
    }
    if (q->csv && e->csv_stmt.sql)
        antt_db_job_add(job, q->rt->csv_sql[token_area == NULL], e->csv_stmt.nparams, q->v, NULL, NULL);
    if (antt_http_gate_run(req, q->rt->a->qdb, job, s_on_query, q) != 0)
        free(q); /* answered 503 */
}

static void s_http_endpoint(antt_http_req_t *req, void *arg)
{
    const a_route_t *rt = arg;
    const a_endpoint_t *e = rt->e;
    antt_form_t f;
    if (agg_query_parse(req, &f) != 0)
        return;
    a_query_t *q = antt_xcalloc(1, sizeof(*q));
    char dim[96];
    for (int n = 0; n < A_MAX_PARAMS && e->params[n].name; n++) {
        const char *x = s_value(&f, &e->params[n], dim, sizeof(dim));
        if (x) {
            snprintf(q->vbuf[n], sizeof(q->vbuf[n]), "%s", x);
            q->v[n] = q->vbuf[n];
        }
    }
    q->req = req;
    q->rt = rt;
    q->e = e;
    q->csv = e->csv && agg_wants_csv(&f, req);
    antt_form_cleanup(&f);
    if ((e->area == A_AREA && !agg_area_ok(q->v[0])) || (e->area == A_ROOT && q->v[0] && !agg_area_ok(q->v[0]))) {
        free(q);
        antt_http_json_error(req, 400, "bad_request",
                             e->area == A_AREA ? "area= must be an area code" : "root= must be an area code");
        return;
    }
    int same = 1;
    for (int i = 0; i < A_MAX_STMTS; i++)
        same = same && e->pub[i].sql == NULL;
    if (same)
        s_run(req, "", NULL, q); /* nothing of it differs between the audiences */
    else
        agg_audience_resolve(rt->a, req, q->v[0], e->token_in_query, s_run, q, free);
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

/* sql with {k} and {delay} replaced by the public rules' numbers (malloc'd). */
static char *s_with_rules(const char *sql, const agg_public_t *p)
{
    antt_buf_t b;
    antt_buf_init(&b);
    for (const char *s = sql; *s;) {
        if (!strncmp(s, "{k}", 3)) {
            antt_buf_printf(&b, "%ld", p->min_count);
            s += 3;
        } else if (!strncmp(s, "{delay}", 7)) {
            antt_buf_printf(&b, "%ld", p->delay_s);
            s += 7;
        } else {
            antt_buf_append(&b, s++, 1);
        }
    }
    char *out = antt_xstrdup(b.data ? b.data : "");
    antt_buf_cleanup(&b);
    return out;
}

void agg_api_free(void *routes)
{
    a_route_t *rt = routes;
    for (size_t i = 0; rt && i < A_NENDPOINTS; i++)
        for (int j = 0; j < A_MAX_STMTS; j++)
            free(rt[i].pub_sql[j]);
    for (size_t i = 0; rt && i < A_NENDPOINTS; i++)
        for (int j = 0; j < 2; j++)
            free(rt[i].csv_sql[j]);
    free(routes);
}

void *agg_api_register(agg_svc_t *a, antt_http_t *http)
{
    a_route_t *routes = antt_xcalloc(A_NENDPOINTS, sizeof(*routes));
    for (size_t i = 0; i < A_NENDPOINTS; i++) {
        routes[i].a = a;
        routes[i].e = &s_endpoints[i];
        for (int j = 0; j < A_MAX_STMTS; j++)
            if (s_endpoints[i].pub[j].sql)
                routes[i].pub_sql[j] = s_with_rules(s_endpoints[i].pub[j].sql, &a->pub_rules);
        if (s_endpoints[i].csv_stmt.sql) {
            static const agg_public_t staff = {0}; /* every figure */
            routes[i].csv_sql[0] = s_with_rules(s_endpoints[i].csv_stmt.sql, &staff);
            routes[i].csv_sql[1] = s_with_rules(s_endpoints[i].csv_stmt.sql, &a->pub_rules);
        }
        antt_http_route(http, s_endpoints[i].path, s_http_endpoint, &routes[i]);
    }
    antt_http_route(http, "/api/v1/stream", agg_http_stream, a);
    antt_http_route(http, "/api/v1/export/incidents", agg_http_export, a);
    antt_http_route(http, "/", s_http_static, a);
    return routes;
}
