/* intake_open311_public: Open311 without an api_key, the police.uk model of
 * open crime data. requests/{id} and tokens/{token} answer anyone who holds
 * the id (a UUIDv7 nobody can guess: the resident's own request) with its
 * status fields and a location snapped to the public grid; GET requests
 * lists, across gateways, only what the public rules allow: a request whose
 * area, category and day have at least intake.public_min_cell requests and
 * that is older than intake.public_delay_s, with snapped lat/long and times
 * rounded to the day, each under a public id (a keyed hash of its id: the
 * id itself is a UUIDv7, whose first 48 bits are the millisecond it was
 * received, and it opens requests/{id}, whose times are exact); with
 * service_request_id (the override rule) the status of each id given, as
 * requests/{id}. Never a description, address, media or contact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "antt_categories.h"
#include "antt_http_gate.h"
#include "intake_open311_int.h"

/* the public grid: 0.002 degrees (about 200 m), the hotspots' grid */
#define S_SNAP(col) "round((" col ") / 0.002) * 0.002"
#define S_ISO(t) "to_char((" t ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define S_DAY(t) "to_char(date_trunc('day', (" t ") AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"00:00:00\"Z\"')"
#define S_OPEN                                                                                                 \
    "CASE WHEN i.status IN ('resolved', 'rejected', 'merged') THEN 'closed' ELSE 'open' END"

/* columns of both queries */
enum { C_ID, C_CODE, C_REQUESTED, C_UPDATED, C_OPEN, C_AGENCY, C_NOTE, C_LAT, C_LON };

/* one request by id, whoever's: its status fields */
static const char S_ONE_SQL[] =
    "SELECT r.id, coalesce(r.service_code, i.category), " S_ISO("r.received_at") ", "
    S_ISO("coalesce(i.updated_at, r.received_at)") ", " S_OPEN ", i.area_code, antt_status_note(i.status), "
    S_SNAP("r.lat") ", " S_SNAP("r.lon") " FROM reports r"
    " LEFT JOIN incident_reports ir ON ir.report_id = r.id"
    " LEFT JOIN incidents i ON i.id = ir.incident_id"
    " WHERE r.id = $1::uuid";

/* requests?service_request_id=a,b without a key: the same, for each id
 * given (FixMyStreet polls its own requests' status so, never by
 * requests/{id}); the override rule, so no window and no filter */
static const char S_IDS_SQL[] =
    "SELECT r.id, coalesce(r.service_code, i.category), " S_ISO("r.received_at") ", "
    S_ISO("coalesce(i.updated_at, r.received_at)") ", " S_OPEN ", i.area_code, antt_status_note(i.status), "
    S_SNAP("r.lat") ", " S_SNAP("r.lon") " FROM reports r"
    " LEFT JOIN incident_reports ir ON ir.report_id = r.id"
    " LEFT JOIN incidents i ON i.id = ir.incident_id"
    " WHERE r.id = ANY($1::uuid[]) ORDER BY r.received_at DESC LIMIT 1000";

/* $1..$2 the window, $3 ids, $4 codes, $5 statuses, $6 the least cell, $7
 * the delay in seconds. A cell is counted over every request of the window
 * (not only those the filters keep); a request of unknown area or category
 * is in no cell and never listed. */
static const char S_LIST_SQL[] =
    "WITH c AS ("
    "  SELECT r.id, r.received_at, r.lat, r.lon, i.status, i.updated_at,"
    "    coalesce(r.service_code, i.category) AS code, coalesce(i.area_code, r.area_code) AS area,"
    "    " S_OPEN " AS open,"
    "    count(*) OVER (PARTITION BY coalesce(i.area_code, r.area_code), coalesce(r.service_code, i.category),"
    "      date_trunc('day', r.received_at AT TIME ZONE 'UTC')) AS n"
    "  FROM reports r"
    "  LEFT JOIN incident_reports ir ON ir.report_id = r.id"
    "  LEFT JOIN incidents i ON i.id = ir.incident_id"
    "  WHERE r.received_at >= $1::timestamptz"
    "    AND r.received_at < least($2::timestamptz, now() - $7::bigint * interval '1 second'))"
    " SELECT id, code, " S_DAY("received_at") ", " S_DAY("coalesce(updated_at, received_at)") ", open, area,"
    "   antt_status_note(status), " S_SNAP("lat") ", " S_SNAP("lon") " FROM c"
    " WHERE n >= $6::int AND area IS NOT NULL AND code IS NOT NULL"
    "  AND ($3::uuid[] IS NULL OR id = ANY($3::uuid[]))"
    "  AND ($4::text[] IS NULL OR code = ANY($4::text[]))"
    "  AND ($5::text[] IS NULL OR open = ANY($5::text[]))"
    " ORDER BY received_at DESC LIMIT 1000";

typedef struct s_pub {
    antt_http_req_t *req; /* request */
    o311_format_t fmt;    /* its answer's format */
    int single, token;    /* requests/{id}, tokens/{token} */
    const uint8_t *list_key; /* the public list: its ids are keyed hashes of the ids with this key */
} s_pub_t;

/* A listed request's public id: BLAKE2b-128 of its id, keyed (the
 * reporter pseudonym key, with its own context), written as a UUID of
 * version 4. Stable, so a client can follow a request from one listing to
 * the next; it reveals neither the time nor the real id. */
static json_t *s_public_id(const uint8_t *key, const char *id)
{
    uint8_t h[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, ANTT_KEY_BYTES, sizeof(h));
    crypto_generichash_update(&st, (const uint8_t *)"antt public request id", 23);
    crypto_generichash_update(&st, (const uint8_t *)id, strlen(id));
    crypto_generichash_final(&st, h, sizeof(h));
    h[6] = (uint8_t)((h[6] & 0x0f) | 0x40);
    h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);
    char t[37];
    snprintf(t, sizeof(t), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", h[0], h[1], h[2],
             h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]);
    return json_string(t);
}

static json_t *s_col(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? json_null() : json_string(PQgetvalue(res, i, col));
}

static json_t *s_num(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? json_null() : json_real(strtod(PQgetvalue(res, i, col), NULL));
}

static void s_on_rows(antt_db_job_t *job, int status, void *arg)
{
    s_pub_t *p = arg;
    if (status != 0) {
        o311_error(p->req, p->fmt, 503, "unavailable", "could not read requests; retry", 2);
        free(p);
        return;
    }
    PGresult *res = antt_db_job_result(job, 0);
    int n = PQntuples(res);
    if ((p->single || p->token) && n == 0) {
        o311_error(p->req, p->fmt, 404, "not_found", "no such request", 0);
        free(p);
        return;
    }
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "service_request_id", p->list_key ? s_public_id(p->list_key, PQgetvalue(res, i, C_ID))
                                                                 : s_col(res, i, C_ID));
        if (p->token) {
            json_object_set_new(o, "token", s_col(res, i, C_ID));
            json_array_append_new(arr, o);
            continue;
        }
        const char *code = PQgetisnull(res, i, C_CODE) ? NULL : PQgetvalue(res, i, C_CODE);
        const antt_category_t *c = antt_category_find(code);
        /* the spec's order, without what the public may not see */
        json_object_set_new(o, "status", s_col(res, i, C_OPEN));
        json_object_set_new(o, "status_notes", s_col(res, i, C_NOTE));
        json_object_set_new(o, "service_name", c ? json_string(c->label_vi) : json_null());
        json_object_set_new(o, "service_code", code ? json_string(code) : json_null());
        json_object_set_new(o, "agency_responsible", s_col(res, i, C_AGENCY));
        json_object_set_new(o, "requested_datetime", s_col(res, i, C_REQUESTED));
        json_object_set_new(o, "updated_datetime", s_col(res, i, C_UPDATED));
        json_object_set_new(o, "lat", s_num(res, i, C_LAT));
        json_object_set_new(o, "long", s_num(res, i, C_LON));
        json_array_append_new(arr, o);
    }
    o311_respond(p->req, 200, p->fmt, "service_requests", "request", arr);
    free(p);
}

void o311_public_requests(intake_t *in, antt_http_req_t *req, o311_format_t fmt, const o311_query_t *q,
                          const char *id, int token)
{
    s_pub_t *p = antt_xcalloc(1, sizeof(*p));
    p->req = req;
    p->fmt = fmt;
    p->single = id != NULL;
    p->token = token;
    antt_db_job_t *job = antt_db_job_new(s_on_rows, p);
    if (id) {
        const char *params[] = {id};
        antt_db_job_add(job, S_ONE_SQL, 1, params, NULL, NULL);
    } else if (q->ids.len > 0) {
        const char *params[] = {q->ids.data};
        antt_db_job_add(job, S_IDS_SQL, 1, params, NULL, NULL);
    } else {
        char from[40], to[40], k[24], delay[24];
        antt_format_time(q->t0, from, sizeof(from));
        antt_format_time(q->t1 + 999, to, sizeof(to));
        snprintf(k, sizeof(k), "%ld", in->set.public_min_cell);
        snprintf(delay, sizeof(delay), "%ld", in->set.public_delay_s);
        const char *params[] = {from, to, q->ids.data, q->codes.data, q->statuses.data, k, delay};
        antt_db_job_add(job, S_LIST_SQL, 7, params, NULL, NULL);
        p->list_key = in->keys.hash_key;
    }
    /* through the service's query gate, as every HTTP read */
    if (antt_http_gate_run(req, in->rdb, job, s_on_rows, p) != 0)
        free(p);
}
