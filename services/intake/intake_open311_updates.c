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
    if (antt_db_submit(in->rdb, job) != 0) {
        free(u);
        o311_error(req, fmt, 503, "unavailable", "the database is not reachable; retry", 2);
    }
}
