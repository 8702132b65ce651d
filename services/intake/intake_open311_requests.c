/* intake_open311_requests: GET requests.{xml,json}, requests/{id} and
 * tokens/{token}, read from the database with the spec's filters. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_categories.h"
#include "antt_danger.h"
#include "antt_form.h"
#include "antt_http_gate.h"
#include "intake_open311_int.h"

typedef struct s_get {
    intake_t *in;           /* service */
    antt_http_req_t *req;   /* request */
    o311_format_t fmt;      /* its answer's format */
    int single;             /* requests/{id}.json: 404 when not found */
    int token;              /* tokens/{token}.json */
} s_get_t;

/* The request's service_code is the resident's choice when there is one
 * (the report keeps it), else the incident's category. */
static const char S_LIST_SQL[] =
    "SELECT r.id, coalesce(r.service_code, i.category),"
    "  to_char(r.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    "  to_char(coalesce(i.updated_at, r.received_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    "  r.description, r.address, r.lat, r.lon, r.media_urls[1], i.status, i.area_code,"
    "  antt_status_note(i.status), r.emergency_services, i.priority, r.language,"
    "  r.imported_status IS NOT NULL, i.category, r.address_id, r.zipcode"
    " FROM reports r"
    " LEFT JOIN incident_reports ir ON ir.report_id = r.id"
    " LEFT JOIN incidents i ON i.id = ir.incident_id"
    " WHERE r.gateway_id = $1 AND r.received_at >= $2::timestamptz AND r.received_at < $3::timestamptz"
    "  AND ($4::uuid[] IS NULL OR r.id = ANY($4::uuid[]))"
    "  AND ($5::text[] IS NULL OR coalesce(r.service_code, i.category) = ANY($5::text[]))"
    "  AND ($6::text[] IS NULL OR (CASE WHEN i.status IN ('resolved', 'rejected', 'merged')"
    "       THEN 'closed' ELSE 'open' END) = ANY($6::text[]))"
    " ORDER BY r.received_at DESC LIMIT 1000";

/* An open request's emergency notice: the one its POST reply gave, or, when
 * its text showed none but its incident is P1, the one for its category
 * (the resident polling for the status still learns whom to call). Imported
 * history has none. */
static const char *s_request_notice(PGresult *res, int i)
{
    if (PQgetvalue(res, i, 15)[0] == 't')
        return NULL;
    unsigned em = PQgetisnull(res, i, 12) ? 0 : (unsigned)atoi(PQgetvalue(res, i, 12));
    if (em == 0 && !PQgetisnull(res, i, 13) && atoi(PQgetvalue(res, i, 13)) == 1)
        em = antt_danger_for_category(PQgetvalue(res, i, 16));
    if (em == 0)
        return NULL;
    const char *text = PQgetvalue(res, i, 4);
    antt_danger_t d;
    antt_danger_scan(text, strlen(text), &d); /* only to speak the resident's language */
    return antt_danger_notice(em, PQgetisnull(res, i, 14) ? NULL : PQgetvalue(res, i, 14), d.english);
}

static json_t *s_text_or_null(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? json_null() : json_string(PQgetvalue(res, i, col));
}

static void s_on_list(antt_db_job_t *job, int status, void *arg)
{
    s_get_t *g = arg;
    if (status != 0) {
        o311_error(g->req, g->fmt, 503, "unavailable", "could not read requests; retry", 2);
        free(g);
        return;
    }
    PGresult *res = antt_db_job_result(job, 0);
    int n = PQntuples(res);
    if ((g->single || g->token) && n == 0) {
        o311_error(g->req, g->fmt, 404, "not_found", "no such request for this api_key", 0);
        free(g);
        return;
    }
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        if (g->token) {
            json_array_append_new(arr, json_pack("{s:s,s:s}", "service_request_id",
                                                 PQgetvalue(res, i, 0), "token", PQgetvalue(res, i, 0)));
            continue;
        }
        const char *st = PQgetisnull(res, i, 9) ? NULL : PQgetvalue(res, i, 9);
        int closed = st && (!strcmp(st, "resolved") || !strcmp(st, "rejected") || !strcmp(st, "merged"));
        const char *code = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);
        const antt_category_t *c = antt_category_find(code);
        const char *notice = closed ? NULL : s_request_notice(res, i);
        /* the members in the order of the spec's example; what is not known
         * is null (an empty element in XML), never left out */
        json_t *o = json_object();
        json_object_set_new(o, "service_request_id", json_string(PQgetvalue(res, i, 0)));
        json_object_set_new(o, "status", json_string(closed ? "closed" : "open"));
        json_object_set_new(o, "status_notes", s_text_or_null(res, i, 11));
        json_object_set_new(o, "service_name", c ? json_string(c->label_vi) : json_null());
        json_object_set_new(o, "service_code", code ? json_string(code) : json_null());
        json_object_set_new(o, "description", s_text_or_null(res, i, 4));
        json_object_set_new(o, "agency_responsible", s_text_or_null(res, i, 10));
        json_object_set_new(o, "service_notice", notice ? json_string(notice) : json_null());
        json_object_set_new(o, "requested_datetime", s_text_or_null(res, i, 2));
        json_object_set_new(o, "updated_datetime", s_text_or_null(res, i, 3));
        json_object_set_new(o, "expected_datetime", json_null());
        json_object_set_new(o, "address", s_text_or_null(res, i, 5));
        json_object_set_new(o, "address_id", s_text_or_null(res, i, 17));
        json_object_set_new(o, "zipcode", s_text_or_null(res, i, 18));
        json_object_set_new(o, "lat", PQgetisnull(res, i, 6) ? json_null()
                                                            : json_real(strtod(PQgetvalue(res, i, 6), NULL)));
        json_object_set_new(o, "long", PQgetisnull(res, i, 7) ? json_null()
                                                             : json_real(strtod(PQgetvalue(res, i, 7), NULL)));
        json_object_set_new(o, "media_url", s_text_or_null(res, i, 8));
        json_array_append_new(arr, o);
    }
    o311_respond(g->req, 200, g->fmt, "service_requests", "request", arr);
    free(g);
}

/* Turns "a,b,c" into a Postgres array literal {"a","b","c"}; values must
 * match ok() or -EINVAL, or with skip are left out (an id of another shape
 * names nothing: it matches nothing rather than being an error). */
static int s_list_param(const char *csv, int (*ok)(const char *, size_t), int skip, antt_buf_t *out)
{
    antt_buf_puts(out, "{");
    const char *p = csv;
    int first = 1;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (skip && (n == 0 || !ok(p, n))) {
            p += n + (e ? 1 : 0);
            continue;
        }
        if (n == 0 || !ok(p, n))
            return -EINVAL;
        if (!first)
            antt_buf_puts(out, ",");
        antt_buf_puts(out, "\"");
        antt_buf_append(out, p, n);
        antt_buf_puts(out, "\"");
        first = 0;
        p += n + (e ? 1 : 0);
    }
    antt_buf_puts(out, "}");
    return 0;
}

static int s_uuid_ok(const char *p, size_t n)
{
    char tmp[ANTT_UUID_LEN + 1];
    if (n != ANTT_UUID_LEN)
        return 0;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    return antt_uuid_valid(tmp);
}

static int s_code_ok(const char *p, size_t n)
{
    char tmp[64];
    if (n >= sizeof(tmp))
        return 0;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    return antt_category_find(tmp) != NULL;
}

#define S_DAY_MS (86400LL * 1000)
#define S_WINDOW_MS (90 * S_DAY_MS) /* the spec's default range and its widest */

void o311_query_cleanup(o311_query_t *q)
{
    antt_buf_cleanup(&q->ids);
    antt_buf_cleanup(&q->codes);
    antt_buf_cleanup(&q->statuses);
}

static int s_status_ok(const char *p, size_t n)
{
    return (n == 4 && memcmp(p, "open", 4) == 0) || (n == 6 && memcmp(p, "closed", 6) == 0);
}

/* The spec's arguments: service_request_id (or the path's id) overrides
 * all others; otherwise service_code and status are comma lists and the
 * window is start_date..end_date, the most recent 90 days by default, never
 * wider than 90 days. Returns NULL or why the query is refused. */
const char *o311_query_parse(o311_query_t *q, antt_form_t *form, const char *id)
{
    memset(q, 0, sizeof(*q));
    antt_buf_init(&q->ids);
    antt_buf_init(&q->codes);
    antt_buf_init(&q->statuses);
    int64_t now = antt_now_ms();
    const antt_form_field_t *f;
    if (id || ((f = antt_form_get(form, "service_request_id")) && *f->value)) {
        if (id)
            antt_buf_printf(&q->ids, "{%s}", id);
        else
            s_list_param(f->value, s_uuid_ok, 1, &q->ids);
        q->t0 = 0;
        q->t1 = now + 60000;
        return NULL;
    }
    if ((f = antt_form_get(form, "service_code")) && *f->value &&
        s_list_param(f->value, s_code_ok, 0, &q->codes) != 0)
        return "service_code must be a comma-separated list of service codes (GET services)";
    if ((f = antt_form_get(form, "status")) && *f->value && s_list_param(f->value, s_status_ok, 0, &q->statuses) != 0)
        return "status must be open, closed or a comma-separated list of both";
    int has0 = 0, has1 = 0;
    if ((f = antt_form_get(form, "start_date")) && *f->value) {
        if (antt_parse_time(f->value, &q->t0) != 0)
            return "start_date must be an ISO 8601 date-time";
        has0 = 1;
    }
    if ((f = antt_form_get(form, "end_date")) && *f->value) {
        if (antt_parse_time(f->value, &q->t1) != 0)
            return "end_date must be an ISO 8601 date-time";
        has1 = 1;
    }
    if (!has1)
        q->t1 = has0 ? q->t0 + S_WINDOW_MS : now + 60000;
    if (!has0)
        q->t0 = q->t1 - S_WINDOW_MS;
    if (q->t1 <= q->t0)
        return "end_date must be after start_date";
    if (q->t1 - q->t0 > S_WINDOW_MS)
        return "start_date to end_date may not span more than 90 days";
    return NULL;
}

int o311_api_key(antt_http_req_t *req, const char *form_key, size_t form_len, const char **key, size_t *len)
{
    antt_str_t xk = antt_http_header(req, "x-api-key");
    int in_form = form_key != NULL && form_len > 0;
    if (in_form && xk.p && (xk.n != form_len || memcmp(xk.p, form_key, form_len) != 0))
        return -1;
    *key = in_form ? form_key : xk.p;
    *len = in_form ? form_len : xk.n;
    return 0;
}

intake_gateway_t *o311_gateway(intake_t *in, antt_http_req_t *req, const antt_form_t *form, int *given)
{
    const antt_form_field_t *k = antt_form_get(form, "api_key");
    const char *key;
    size_t len;
    if (o311_api_key(req, k ? k->value : NULL, k ? k->value_len : 0, &key, &len) != 0) {
        *given = 1;
        return NULL; /* two keys that differ: neither is taken */
    }
    *given = key != NULL;
    return key ? intake_gateways_auth(in->gateways, key, len) : NULL;
}

void o311_get_requests(intake_t *in, antt_http_req_t *req, o311_format_t fmt, const char *id, int token)
{
    if (id && !antt_uuid_valid(id)) {
        /* an id of another shape cannot exist: the spec's 404, not a 400 */
        o311_error(req, fmt, 404, "not_found", "no such request", 0);
        return;
    }
    antt_str_t q = antt_http_query(req);
    antt_form_t form;
    if (antt_form_parse(&form, q.p, q.n, O311_MAX_FIELDS) != 0) {
        o311_error(req, fmt, 400, "bad_query", "the query string could not be parsed", 0);
        return;
    }
    int keyed;
    intake_gateway_t *gw = o311_gateway(in, req, &form, &keyed);
    if (gw == NULL && keyed) {
        antt_form_cleanup(&form);
        o311_error(req, fmt, 403, "invalid_api_key",
                             "a valid api_key is required; a gateway sees only its own requests", 0);
        return;
    }
    o311_query_t qy;
    const char *err = o311_query_parse(&qy, &form, id);
    if (err) {
        antt_form_cleanup(&form);
        o311_query_cleanup(&qy);
        o311_error(req, fmt, 400, "bad_query", err, 0);
        return;
    }
    if (gw == NULL) {
        /* no api_key: the public view (intake_open311_public.c) */
        antt_form_cleanup(&form);
        o311_public_requests(in, req, fmt, &qy, id, token);
        o311_query_cleanup(&qy);
        return;
    }
    char from[40], to[40], gwid[16];
    snprintf(gwid, sizeof(gwid), "%d", gw->id);
    antt_format_time(qy.t0, from, sizeof(from));
    antt_format_time(qy.t1 + 999, to, sizeof(to));
    const char *params[] = {gwid, from, to, qy.ids.data, qy.codes.data, qy.statuses.data};
    s_get_t *g = antt_xcalloc(1, sizeof(*g));
    g->in = in;
    g->req = req;
    g->fmt = fmt;
    g->single = id != NULL;
    g->token = token;
    antt_db_job_t *job = antt_db_job_new(s_on_list, g);
    antt_db_job_add(job, S_LIST_SQL, 6, params, NULL, NULL);
    antt_form_cleanup(&form);
    o311_query_cleanup(&qy);
    /* through the service's query gate: a full queue answers 503 with
     * Retry-After in Open311's error form (intake_main sets the callback) */
    if (antt_http_gate_run(req, in->rdb, job, s_on_list, g) != 0)
        free(g);
}
