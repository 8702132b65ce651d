/* intake_open311: Open311 GeoReport v2 (JSON) at /open311/v2/.
 *
 *   GET  discovery.json
 *   GET  services.json                 the 16 categories
 *   GET  services/{code}.json          one service definition
 *   POST requests.json                 submit (form-encoded per the spec, or JSON)
 *   GET  requests.json                 this gateway's requests, with the spec's filters
 *   GET  requests/{id}.json            one request
 *   GET  tokens/{token}.json           token -> service_request_id
 *
 * Errors are the spec's array of {code, description}; we add error_code, a
 * stable machine-readable reason. api_key comes from the api_key form or
 * query field or an X-Api-Key header. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "antt_categories.h"
#include "antt_danger.h"
#include "antt_form.h"
#include "antt_http_gate.h"
#include "antt_log.h"
#include "intake.h"

#define S_PREFIX "/open311/v2/"
#define S_MAX_FIELDS 64
#define S_MAX_LIST 1000

static void s_json(antt_http_req_t *req, int status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(12));
    antt_http_respond(req, status, "application/json; charset=utf-8", text, strlen(text));
    free(text);
    json_decref(doc);
}

/* ["113", ...]: the numbers of an emergency notice (antt extension). */
static json_t *s_numbers(unsigned emergency)
{
    const char *num[3];
    size_t n = antt_danger_numbers(emergency, num);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(num[i]));
    return a;
}

static void s_error_notice(antt_http_req_t *req, int status, const char *code, const char *message,
                                 int retry_after_s, const char *notice, unsigned emergency)
{
    if (retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%d", retry_after_s);
        antt_http_add_header(req, "Retry-After", v);
    }
    json_t *e = json_pack("{s:i,s:s,s:s}", "code", status, "description", message, "error_code", code);
    if (notice) {
        /* not stored, but whoever is in danger must still be told */
        json_object_set_new(e, "service_notice", json_string(notice));
        json_object_set_new(e, "emergency_numbers", s_numbers(emergency));
    }
    s_json(req, status, json_pack("[o]", e));
}

void intake_open311_error(antt_http_req_t *req, int status, const char *code, const char *message,
                          int retry_after_s)
{
    s_error_notice(req, status, code, message, retry_after_s, NULL, 0);
}

static void s_created(antt_http_req_t *req, const char *report_id, int replayed, const char *notice,
                      unsigned emergency)
{
    /* the spec's service_notice is what the resident reads: an emergency
     * notice when the text shows one (first), and how the request stands */
    const char *state = replayed ? "already received: this is the earlier request"
                                 : "received; a dispatcher will be notified";
    char *both = notice && replayed ? antt_xasprintf("%s (%s)", notice, state) : NULL;
    json_t *o = json_pack("{s:s,s:s,s:s,s:n,s:o}", "service_request_id", report_id, "token", report_id,
                          "service_notice", both ? both : notice ? notice : state, "account_id",
                          "emergency_numbers", s_numbers(notice ? emergency : 0));
    free(both);
    s_json(req, replayed ? 200 : 201, json_pack("[o]", o));
}

/* a report's answer goes back on its request */
typedef struct s_http_reply {
    intake_reply_t base;  /* first: what intake_submit sees */
    antt_http_req_t *req; /* the POST */
} s_http_reply_t;

static void s_reply_ok(intake_reply_t *reply, const char *report_id, int64_t received_ms, int replayed)
{
    (void)received_ms;
    s_created(((s_http_reply_t *)reply)->req, report_id, replayed, reply->notice, reply->emergency);
}

static void s_reply_error(intake_reply_t *reply, int status, const char *code, const char *message,
                          int retry_after_s)
{
    s_error_notice(((s_http_reply_t *)reply)->req, status, code, message, retry_after_s, reply->notice,
                   reply->emergency);
}

static void s_reply_destroy(intake_reply_t *reply)
{
    free(reply);
}

static const intake_reply_ops_t s_reply_ops = {s_reply_ok, s_reply_error, s_reply_destroy};

static int s_is_get(antt_http_req_t *req)
{
    antt_str_t m = antt_http_method(req);
    return antt_http_is(m, "GET") || antt_http_is(m, "HEAD");
}

static void s_method_not_allowed(antt_http_req_t *req, const char *allow)
{
    antt_http_add_header(req, "Allow", allow);
    intake_open311_error(req, 405, "method_not_allowed", "method not allowed here", 0);
}

/* services */

static json_t *s_service(const antt_category_t *c)
{
    return json_pack("{s:s,s:s,s:s,s:b,s:s,s:s,s:s}", "service_code", c->code, "service_name",
                     c->label_vi, "description", c->label_en, "metadata", 0, "type", "realtime",
                     "keywords", c->code, "group", c->group);
}

static void s_services(antt_http_req_t *req)
{
    json_t *arr = json_array();
    for (int i = 0; i < antt_categories_count; i++)
        json_array_append_new(arr, s_service(&antt_categories[i]));
    s_json(req, 200, arr);
}

static void s_service_definition(antt_http_req_t *req, const char *code)
{
    const antt_category_t *c = antt_category_find(code);
    if (c == NULL) {
        intake_open311_error(req, 404, "unknown_service_code", "no service with this code", 0);
        return;
    }
    s_json(req, 200, json_pack("{s:s,s:[]}", "service_code", c->code, "attributes"));
}

static void s_discovery(antt_http_req_t *req)
{
    json_t *d = json_pack(
        "{s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:[s]}]}", "changeset", "2026-11-22T00:00:00Z", "contact",
        "antt operators", "key_service", "ask the operators for a gateway api_key", "endpoints",
        "specification", "http://wiki.open311.org/GeoReport_v2", "url", S_PREFIX, "type",
        "production", "formats", "application/json");
    s_json(req, 200, d);
}

/* POST requests.json */

typedef struct s_fields {
    antt_form_t form;        /* form-encoded body (or empty) */
    json_t *json;            /* JSON body (or NULL) */
    const char *media[INTAKE_MAX_MEDIA + 1]; /* media_url values */
    size_t nmedia;           /* count (INTAKE_MAX_MEDIA + 1 means too many) */
    char name[512];          /* first_name + last_name */
    char num[2][64];         /* lat/long given as JSON numbers */
} s_fields_t;

/* A field's text, from the form or the JSON body. -1: wrong JSON type. */
static int s_field(s_fields_t *f, const char *name, const char **out, size_t *len)
{
    *out = NULL;
    if (len)
        *len = 0;
    if (f->json) {
        json_t *v = json_object_get(f->json, name);
        if (v == NULL || json_is_null(v))
            return 0;
        if (!json_is_string(v))
            return -1;
        *out = json_string_value(v);
        if (len)
            *len = json_string_length(v);
        return 0;
    }
    if (antt_form_count(&f->form, name) > 1)
        return -1; /* given twice: which one was meant is anybody's guess */
    const antt_form_field_t *ff = antt_form_get(&f->form, name);
    if (ff) {
        *out = ff->value;
        if (len)
            *len = ff->value_len;
    }
    return 0;
}

/* lat/long may be JSON numbers: rendered back to text for one validator */
static int s_coord(s_fields_t *f, const char *name, int slot, const char **out)
{
    if (f->json) {
        json_t *v = json_object_get(f->json, name);
        if (v && json_is_number(v)) {
            snprintf(f->num[slot], sizeof(f->num[slot]), "%.10g", json_number_value(v));
            *out = f->num[slot];
            return 0;
        }
    }
    return s_field(f, name, out, NULL);
}

static int s_collect_media(s_fields_t *f)
{
    if (f->json) {
        json_t *v = json_object_get(f->json, "media_url");
        if (v == NULL || json_is_null(v))
            return 0;
        if (json_is_string(v)) {
            f->media[f->nmedia++] = json_string_value(v);
            return 0;
        }
        if (!json_is_array(v))
            return -1;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e))
                return -1;
            if (f->nmedia > INTAKE_MAX_MEDIA)
                break;
            f->media[f->nmedia++] = json_string_value(e);
        }
        return 0;
    }
    for (size_t i = 0; i < f->form.n && f->nmedia <= INTAKE_MAX_MEDIA; i++)
        if (strcmp(f->form.fields[i].name, "media_url") == 0 && f->form.fields[i].value[0])
            f->media[f->nmedia++] = f->form.fields[i].value;
    return 0;
}

/* A text field must not hide NUL bytes (form %00) that C strings would cut. */
static int s_has_nul(s_fields_t *f)
{
    for (size_t i = 0; i < f->form.n; i++)
        if (strlen(f->form.fields[i].value) != f->form.fields[i].value_len)
            return 1;
    return 0;
}

static void s_post_request(intake_t *in, antt_http_req_t *req)
{
    antt_str_t body = antt_http_body(req);
    antt_str_t ctype = antt_http_header(req, "content-type");
    s_fields_t f;
    memset(&f, 0, sizeof(f));
    s_http_reply_t *h = antt_xcalloc(1, sizeof(*h));
    intake_reply_t *reply = &h->base;
    intake_reply_init(reply, &s_reply_ops, in);
    h->req = req;

    if (body.n > INTAKE_MAX_BODY) {
        intake_reply_error(reply, 413, "too_large", "the request body is larger than 16 KiB", 0);
        return;
    }
    int is_json = ctype.p && ctype.n >= 16 && strncasecmp(ctype.p, "application/json", 16) == 0;
    if (is_json) {
        json_error_t jerr;
        f.json = json_loadb(body.p, body.n, JSON_REJECT_DUPLICATES, &jerr);
        if (f.json == NULL || !json_is_object(f.json)) {
            json_decref(f.json);
            intake_reply_error(reply, 400, "bad_json", "the body is not a JSON object", 0);
            return;
        }
    } else if (antt_form_parse(&f.form, body.p, body.n, S_MAX_FIELDS) != 0) {
        intake_reply_error(reply, 400, "bad_form",
                           "the body is not application/x-www-form-urlencoded (bad escape or too many fields)",
                           0);
        return;
    }
    intake_input_t input = {0};
    const char *api_key = NULL, *first = NULL, *last = NULL;
    size_t api_key_len = 0;
    antt_str_t xk = antt_http_header(req, "x-api-key");
    int bad = s_has_nul(&f);
    bad |= s_field(&f, "api_key", &api_key, &api_key_len);
    bad |= s_field(&f, "idempotency_key", &input.idempotency_key, NULL);
    bad |= s_field(&f, "description", &input.description, &input.description_len);
    bad |= s_field(&f, "service_code", &input.service_code, NULL);
    bad |= s_coord(&f, "lat", 0, &input.lat_text);
    bad |= s_coord(&f, "long", 1, &input.lon_text);
    bad |= s_field(&f, "area_code", &input.area_code, NULL);
    bad |= s_field(&f, "address_string", &input.address, &input.address_len);
    bad |= s_field(&f, "occurred_datetime", &input.occurred_text, NULL);
    bad |= s_field(&f, "first_name", &first, NULL);
    bad |= s_field(&f, "last_name", &last, NULL);
    bad |= s_field(&f, "phone", &input.phone, NULL);
    bad |= s_field(&f, "email", &input.email, NULL);
    bad |= s_field(&f, "language", &input.language, NULL);
    bad |= s_collect_media(&f);
    /* imported history is taken over ZeroMQ only (antt import): a field that
     * would make a fact of the resident's word is refused, not ignored */
    static const char *const import_fields[] = {"imported", "imported_priority", "imported_status"};
    int import_given = 0;
    for (size_t i = 0; i < ANTT_ARRAY_SIZE(import_fields); i++)
        import_given |= f.json ? json_object_get(f.json, import_fields[i]) != NULL
                               : antt_form_count(&f.form, import_fields[i]) > 0;
    if (import_given && !bad) {
        antt_form_cleanup(&f.form);
        json_decref(f.json);
        intake_reply_error(reply, 400, "import_not_supported",
                           "imported history is accepted over ZeroMQ only (antt import)", 0);
        return;
    }
    if (bad) {
        antt_form_cleanup(&f.form);
        json_decref(f.json);
        intake_reply_error(reply, 400, "bad_field",
                           "a field has the wrong type (text fields must be strings), holds a NUL byte or is given twice",
                           0);
        return;
    }
    /* the idempotency key may also come as a header, as many HTTP APIs take
     * it; the validator judges it like the field (it copies what it keeps) */
    antt_str_t ik = antt_http_header(req, "idempotency-key");
    char *ik_copy = NULL;
    if (input.idempotency_key == NULL && ik.p) {
        ik_copy = antt_xstrndup(ik.p, ik.n);
        input.idempotency_key = ik_copy;
    }
    if ((first && *first) || (last && *last))
        snprintf(f.name, sizeof(f.name), "%s%s%s", first ? first : "", first && last ? " " : "",
                 last ? last : "");
    input.name = f.name[0] ? f.name : NULL;
    input.media_urls = f.media;
    input.nmedia = f.nmedia;
    if ((api_key == NULL || api_key_len == 0) && xk.p) {
        api_key = xk.p; /* authentication uses the length: no copy needed */
        api_key_len = xk.n;
    }
    intake_submit(in, api_key, api_key_len, &input, NULL, reply);
    free(ik_copy);
    antt_form_cleanup(&f.form);
    json_decref(f.json);
}

/* GET requests */

typedef struct s_get {
    intake_t *in;           /* service */
    antt_http_req_t *req;   /* request */
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
    "  r.imported_status IS NOT NULL, i.category"
    " FROM reports r"
    " LEFT JOIN incident_reports ir ON ir.report_id = r.id"
    " LEFT JOIN incidents i ON i.id = ir.incident_id"
    " WHERE r.gateway_id = $1 AND r.received_at >= $2::timestamptz AND r.received_at < $3::timestamptz"
    "  AND ($4::uuid[] IS NULL OR r.id = ANY($4::uuid[]))"
    "  AND ($5::text[] IS NULL OR coalesce(r.service_code, i.category) = ANY($5::text[]))"
    "  AND ($6::text IS NULL OR (CASE WHEN i.status IN ('resolved', 'rejected', 'merged')"
    "       THEN 'closed' ELSE 'open' END) = $6)"
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

static void s_on_list(antt_db_job_t *job, int status, void *arg)
{
    s_get_t *g = arg;
    if (status != 0) {
        intake_open311_error(g->req, 503, "unavailable", "could not read requests; retry", 2);
        free(g);
        return;
    }
    PGresult *res = antt_db_job_result(job, 0);
    int n = PQntuples(res);
    if ((g->single || g->token) && n == 0) {
        intake_open311_error(g->req, 404, "not_found", "no such request for this api_key", 0);
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
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "service_request_id",
                              PQgetvalue(res, i, 0), "status", closed ? "closed" : "open",
                              "status_notes", PQgetvalue(res, i, 11), "requested_datetime",
                              PQgetvalue(res, i, 2), "updated_datetime", PQgetvalue(res, i, 3),
                              "description", PQgetvalue(res, i, 4), "agency_responsible",
                              PQgetisnull(res, i, 10) ? "" : PQgetvalue(res, i, 10));
        json_object_set_new(o, "service_code", code ? json_string(code) : json_null());
        json_object_set_new(o, "service_name", c ? json_string(c->label_vi) : json_null());
        json_object_set_new(o, "address",
                            PQgetisnull(res, i, 5) ? json_null() : json_string(PQgetvalue(res, i, 5)));
        if (!PQgetisnull(res, i, 6)) {
            json_object_set_new(o, "lat", json_real(strtod(PQgetvalue(res, i, 6), NULL)));
            json_object_set_new(o, "long", json_real(strtod(PQgetvalue(res, i, 7), NULL)));
        }
        json_object_set_new(o, "media_url",
                            PQgetisnull(res, i, 8) ? json_null() : json_string(PQgetvalue(res, i, 8)));
        const char *notice = closed ? NULL : s_request_notice(res, i);
        json_object_set_new(o, "service_notice", notice ? json_string(notice) : json_null());
        json_array_append_new(arr, o);
    }
    s_json(g->req, 200, arr);
    free(g);
}

/* Turns "a,b,c" into a Postgres array literal {"a","b","c"}; values must
 * match ok() or -EINVAL. */
static int s_list_param(const char *csv, int (*ok)(const char *, size_t), antt_buf_t *out)
{
    antt_buf_puts(out, "{");
    const char *p = csv;
    int first = 1;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
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

static void s_get_requests(intake_t *in, antt_http_req_t *req, const char *id, int token)
{
    antt_str_t q = antt_http_query(req);
    antt_form_t form;
    if (antt_form_parse(&form, q.p, q.n, S_MAX_FIELDS) != 0) {
        intake_open311_error(req, 400, "bad_query", "the query string could not be parsed", 0);
        return;
    }
    const antt_form_field_t *k = antt_form_get(&form, "api_key");
    antt_str_t xk = antt_http_header(req, "x-api-key");
    intake_gateway_t *gw = NULL;
    if (k && k->value_len)
        gw = intake_gateways_auth(in->gateways, k->value, k->value_len);
    else if (xk.p)
        gw = intake_gateways_auth(in->gateways, xk.p, xk.n);
    if (gw == NULL) {
        antt_form_cleanup(&form);
        intake_open311_error(req, 403, "invalid_api_key",
                             "a valid api_key is required; a gateway sees only its own requests", 0);
        return;
    }
    antt_buf_t ids, codes;
    antt_buf_init(&ids);
    antt_buf_init(&codes);
    char from[40], to[40], gwid[16];
    int64_t now = antt_now_ms(), t0 = now - 90LL * 86400 * 1000, t1 = now + 60000;
    const antt_form_field_t *f;
    const char *err = NULL;
    if (id) {
        if (!antt_uuid_valid(id))
            err = "the request id is not valid";
        else
            antt_buf_printf(&ids, "{%s}", id);
        t0 = 0;
    } else if ((f = antt_form_get(&form, "service_request_id")) && *f->value) {
        if (s_list_param(f->value, s_uuid_ok, &ids) != 0)
            err = "service_request_id must be a comma-separated list of request ids";
        t0 = 0;
    }
    if ((f = antt_form_get(&form, "service_code")) && *f->value &&
        s_list_param(f->value, s_code_ok, &codes) != 0)
        err = "service_code must be a comma-separated list of service codes";
    if ((f = antt_form_get(&form, "start_date")) && *f->value && antt_parse_time(f->value, &t0) != 0)
        err = "start_date must be an ISO 8601 date-time";
    if ((f = antt_form_get(&form, "end_date")) && *f->value && antt_parse_time(f->value, &t1) != 0)
        err = "end_date must be an ISO 8601 date-time";
    const char *status = NULL;
    if ((f = antt_form_get(&form, "status")) && *f->value) {
        if (strcmp(f->value, "open") == 0 || strcmp(f->value, "closed") == 0)
            status = f->value;
        else
            err = "status must be open or closed";
    }
    if (err == NULL && t1 <= t0)
        err = "end_date must be after start_date";
    if (err) {
        antt_form_cleanup(&form);
        antt_buf_cleanup(&ids);
        antt_buf_cleanup(&codes);
        intake_open311_error(req, 400, "bad_query", err, 0);
        return;
    }
    snprintf(gwid, sizeof(gwid), "%d", gw->id);
    antt_format_time(t0, from, sizeof(from));
    antt_format_time(t1 + 999, to, sizeof(to));
    const char *params[] = {gwid, from, to, ids.data, codes.data, status};
    s_get_t *g = antt_xcalloc(1, sizeof(*g));
    g->in = in;
    g->req = req;
    g->single = id != NULL;
    g->token = token;
    antt_db_job_t *job = antt_db_job_new(s_on_list, g);
    antt_db_job_add(job, S_LIST_SQL, 6, params, NULL, NULL);
    antt_form_cleanup(&form);
    antt_buf_cleanup(&ids);
    antt_buf_cleanup(&codes);
    /* through the service's query gate: a full queue answers 503 with
     * Retry-After in Open311's error array (intake_main sets the callback) */
    if (antt_http_gate_run(req, in->rdb, job, s_on_list, g) != 0)
        free(g);
}

/* routing */

/* Copies the {name} of "<dir>/{name}.json" into out. 0 or -1. */
static int s_path_arg(antt_str_t rest, const char *dir, char *out, size_t outlen)
{
    size_t dl = strlen(dir);
    if (rest.n <= dl + 5 || memcmp(rest.p, dir, dl) != 0 ||
        memcmp(rest.p + rest.n - 5, ".json", 5) != 0)
        return -1;
    size_t n = rest.n - dl - 5;
    if (n == 0 || n >= outlen || memchr(rest.p + dl, '/', n))
        return -1;
    memcpy(out, rest.p + dl, n);
    out[n] = '\0';
    return 0;
}

static void s_route(antt_http_req_t *req, void *arg)
{
    intake_t *in = arg;
    antt_str_t path = antt_http_path(req);
    antt_str_t rest = {path.p + strlen(S_PREFIX) - 1, path.n - strlen(S_PREFIX) + 1};
    char name[128];
    if (rest.n < 1 || rest.p[0] != '/') {
        intake_open311_error(req, 404, "not_found", "no such endpoint", 0);
        return;
    }
    rest.p++;
    rest.n--;
    if (rest.n > 4 && memcmp(rest.p + rest.n - 4, ".xml", 4) == 0) {
        intake_open311_error(req, 400, "format_not_supported", "only the JSON format is served", 0);
        return;
    }
    if (antt_http_is(rest, "discovery.json")) {
        s_is_get(req) ? s_discovery(req) : s_method_not_allowed(req, "GET");
    } else if (antt_http_is(rest, "services.json")) {
        s_is_get(req) ? s_services(req) : s_method_not_allowed(req, "GET");
    } else if (s_path_arg(rest, "services/", name, sizeof(name)) == 0) {
        s_is_get(req) ? s_service_definition(req, name) : s_method_not_allowed(req, "GET");
    } else if (antt_http_is(rest, "requests.json")) {
        if (antt_http_is(antt_http_method(req), "POST"))
            s_post_request(in, req);
        else if (s_is_get(req))
            s_get_requests(in, req, NULL, 0);
        else
            s_method_not_allowed(req, "GET, POST");
    } else if (s_path_arg(rest, "requests/", name, sizeof(name)) == 0) {
        s_is_get(req) ? s_get_requests(in, req, name, 0) : s_method_not_allowed(req, "GET");
    } else if (s_path_arg(rest, "tokens/", name, sizeof(name)) == 0) {
        s_is_get(req) ? s_get_requests(in, req, name, 1) : s_method_not_allowed(req, "GET");
    } else {
        intake_open311_error(req, 404, "not_found", "no such endpoint", 0);
    }
}

void intake_open311_register(intake_t *in)
{
    antt_http_route(in->svc->http, "/open311/v2/", s_route, in);
    /* bodies up to 64 KiB reach the handler, which answers 413 in Open311
     * form above 16 KiB; larger ones get the server's plain 413 */
    antt_http_set_max_body(in->svc->http, 64 * 1024);
}
