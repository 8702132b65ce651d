/* intake_open311_updates: mySociety's servicerequestupdates extension, as
 * FixMyStreet's Open311 client reads it: GET servicerequestupdates.{fmt}
 * with start_date / end_date answers the gateway's requests' updates, one
 * per status change of their incident (acknowledged, assigned, resolved,
 * rejected, reopened, merged, and a claim that acknowledged):
 * <service_requests_updates><request_update> update_id, service_request_id,
 * status, updated_datetime, description, media_url. update_id is
 * "<event id>_<request id>": stable, and unique across requests when one
 * incident joins several. Statuses are the extended set, lower case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_text.h"
#include "antt_http_gate.h"
#include "intake_open311_int.h"

/* the status of the incident after the event, as the extension names it */
#define S_STATUS(st)                                                                                         \
    "CASE " st " WHEN 'acknowledged' THEN 'investigating' WHEN 'assigned' THEN 'action_scheduled'"          \
    " WHEN 'resolved' THEN 'closed' WHEN 'rejected' THEN 'no_further_action' WHEN 'merged' THEN 'duplicate'" \
    " ELSE 'open' END"

static const char S_UPDATES_SQL[] =
    "WITH e AS ("
    "  SELECT e.id, e.at, e.incident_id,"
    "    coalesce(e.data->>'status', CASE WHEN e.kind = 'claimed' THEN 'acknowledged' END) AS st"
    "  FROM incident_events e"
    "  WHERE e.at >= $2::timestamptz AND e.at < $3::timestamptz"
    "    AND (e.kind IN ('acknowledge', 'assign', 'resolve', 'reject', 'reopen', 'merge')"
    "         OR (e.kind = 'claimed' AND coalesce((e.data->>'acknowledged')::boolean, false))))"
    " SELECT e.id || '_' || r.id, r.id, " S_STATUS("e.st") ","
    "   to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), antt_status_note(e.st)"
    " FROM e JOIN incident_reports l ON l.incident_id = e.incident_id"
    " JOIN reports r ON r.id = l.report_id AND r.gateway_id = $1"
    " ORDER BY e.at, e.id, r.id LIMIT 1000";

typedef struct s_upd {
    antt_http_req_t *req; /* request */
    o311_format_t fmt;    /* its answer's format */
} s_upd_t;

static void s_on_updates(antt_db_job_t *job, int status, void *arg)
{
    s_upd_t *u = arg;
    if (status != 0) {
        o311_error(u->req, u->fmt, 503, "unavailable", "could not read updates; retry", 2);
        free(u);
        return;
    }
    PGresult *res = antt_db_job_result(job, 0);
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:n}", "update_id", PQgetvalue(res, i, 0),
                                             "service_request_id", PQgetvalue(res, i, 1), "status",
                                             PQgetvalue(res, i, 2), "updated_datetime", PQgetvalue(res, i, 3),
                                             "description", PQgetvalue(res, i, 4), "media_url"));
    o311_respond(u->req, 200, u->fmt, "service_requests_updates", "request_update", arr);
    free(u);
}

void o311_get_updates(intake_t *in, antt_http_req_t *req, o311_format_t fmt)
{
    antt_str_t qs = antt_http_query(req);
    antt_form_t form;
    if (antt_form_parse(&form, qs.p, qs.n, O311_MAX_FIELDS) != 0) {
        o311_error(req, fmt, 400, "bad_query", "the query string could not be parsed", 0);
        return;
    }
    int given;
    intake_gateway_t *gw = o311_gateway(in, req, &form, &given);
    if (gw == NULL) {
        antt_form_cleanup(&form);
        o311_error(req, fmt, 403, given ? "invalid_api_key" : "missing_api_key",
                   "a valid api_key is required: a gateway sees the updates of its own requests", 0);
        return;
    }
    /* only the window: the updates take no other arguments */
    antt_form_t window = {0};
    antt_form_field_t keep[2];
    const antt_form_field_t *f;
    if ((f = antt_form_get(&form, "start_date")))
        keep[window.n++] = *f;
    if ((f = antt_form_get(&form, "end_date")))
        keep[window.n++] = *f;
    window.fields = keep;
    o311_query_t q;
    const char *err = o311_query_parse(&q, &window, NULL);
    if (err) {
        antt_form_cleanup(&form);
        o311_query_cleanup(&q);
        o311_error(req, fmt, 400, "bad_query", err, 0);
        return;
    }
    char from[40], to[40], gwid[16];
    snprintf(gwid, sizeof(gwid), "%d", gw->id);
    antt_format_time(q.t0, from, sizeof(from));
    antt_format_time(q.t1 + 999, to, sizeof(to));
    o311_query_cleanup(&q);
    antt_form_cleanup(&form);
    const char *params[] = {gwid, from, to};
    s_upd_t *u = antt_xcalloc(1, sizeof(*u));
    u->req = req;
    u->fmt = fmt;
    antt_db_job_t *job = antt_db_job_new(s_on_updates, u);
    antt_db_job_add(job, S_UPDATES_SQL, 3, params, NULL, NULL);
    /* through the service's query gate, as every HTTP read */
    if (antt_http_gate_run(req, in->rdb, job, s_on_updates, u) != 0)
        free(u);
}

/* POST servicerequestupdates: a resident's follow-up. The request must be
 * this gateway's; at most S_MAX_UPDATES per request. status is read by no
 * one: a follow-up never changes a request's status. */
#define S_MAX_UPDATES 50

static const char S_APPEND_SQL[] =
    "WITH r AS (SELECT id FROM reports WHERE id = $1::uuid AND gateway_id = $2),"
    " n AS (SELECT count(*) AS c FROM report_updates WHERE report_id = $1::uuid),"
    " ins AS (INSERT INTO report_updates (report_id, description, media_url)"
    "   SELECT r.id, $3, $4 FROM r, n WHERE n.c < $5 RETURNING id)"
    " SELECT (SELECT count(*) FROM r), (SELECT id FROM ins),"
    "   to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

static void s_on_append(antt_db_job_t *job, int status, void *arg)
{
    s_upd_t *u = arg;
    PGresult *res = status == 0 ? antt_db_job_result(job, 0) : NULL;
    if (res == NULL || PQntuples(res) != 1) {
        o311_error(u->req, u->fmt, 503, "unavailable", "the update was not stored; retry", 2);
    } else if (atoi(PQgetvalue(res, 0, 0)) == 0) {
        o311_error(u->req, u->fmt, 404, "not_found", "no such request for this api_key", 0);
    } else if (PQgetisnull(res, 0, 1)) {
        o311_error(u->req, u->fmt, 400, "too_many_updates", "this request has had its 50 follow-ups", 0);
    } else {
        /* the resident's follow-ups are numbered apart from the status
         * updates ("r<id>"): the two never share an update_id */
        char id[40];
        snprintf(id, sizeof(id), "r%s", PQgetvalue(res, 0, 1));
        o311_respond(u->req, 201, u->fmt, "service_request_updates", "request_update",
                     json_pack("[{s:s,s:s}]", "update_id", id, "updated_datetime", PQgetvalue(res, 0, 2)));
    }
    free(u);
}

static int s_media_ok(const char *m)
{
    size_t n = strlen(m);
    return n <= INTAKE_MAX_URL && (strncmp(m, "https://", 8) == 0 || strncmp(m, "http://", 7) == 0) &&
           strcspn(m, " \t\r\n\"<>") == n;
}

void o311_post_update(intake_t *in, antt_http_req_t *req, o311_format_t fmt)
{
    antt_str_t body = antt_http_body(req);
    antt_form_t form;
    if (body.n > INTAKE_MAX_BODY) {
        o311_error(req, fmt, 413, "too_large", "the request body is larger than 16 KiB", 0);
        return;
    }
    if (antt_form_parse(&form, body.p, body.n, O311_MAX_FIELDS) != 0) {
        o311_error(req, fmt, 400, "bad_form", "the body is not application/x-www-form-urlencoded", 0);
        return;
    }
    int given;
    intake_gateway_t *gw = o311_gateway(in, req, &form, &given);
    const antt_form_field_t *sid = antt_form_get(&form, "service_request_id");
    const antt_form_field_t *desc = antt_form_get(&form, "description");
    const antt_form_field_t *media = antt_form_get(&form, "media_url");
    char *text = NULL;
    size_t ncp = 0;
    const char *err = NULL, *code = "bad_field";
    int st = 400;
    if (gw == NULL) {
        st = 403;
        code = given ? "invalid_api_key" : "missing_api_key";
        err = "a valid api_key is required";
    } else if (sid == NULL || !antt_uuid_valid(sid->value)) {
        st = sid && *sid->value ? 404 : 400;
        code = sid && *sid->value ? "not_found" : "missing_service_request_id";
        err = sid && *sid->value ? "no such request" : "service_request_id is required";
    } else if (desc == NULL || desc->value_len == 0) {
        code = "missing_description";
        err = "description is required";
    } else if (antt_text_nfc(desc->value, desc->value_len, &text, &ncp) != 0 || ncp > INTAKE_MAX_DESCRIPTION) {
        code = "invalid_description";
        err = "description must be UTF-8 text of at most 4000 characters";
    } else if (media && *media->value && !s_media_ok(media->value)) {
        code = "invalid_media_url";
        err = "media_url must be an http or https URL";
    }
    if (err) {
        free(text);
        antt_form_cleanup(&form);
        o311_error(req, fmt, st, code, err, 0);
        return;
    }
    char gwid[16], max[16];
    snprintf(gwid, sizeof(gwid), "%d", gw->id);
    snprintf(max, sizeof(max), "%d", S_MAX_UPDATES);
    const char *params[] = {sid->value, gwid, text, media && *media->value ? media->value : NULL, max};
    s_upd_t *u = antt_xcalloc(1, sizeof(*u));
    u->req = req;
    u->fmt = fmt;
    antt_db_job_t *job = antt_db_job_new(s_on_append, u);
    antt_db_job_add(job, S_APPEND_SQL, 5, params, NULL, NULL);
    free(text);
    antt_form_cleanup(&form);
    if (antt_db_submit(in->dbs[0], job) != 0) {
        free(u);
        o311_error(req, fmt, 503, "unavailable", "the database is not reachable; retry", 2);
    }
}
