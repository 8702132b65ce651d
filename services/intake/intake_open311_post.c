/* intake_open311_post: POST requests.{xml,json}, the spec's form-encoded
 * body (or a JSON object, an antt extension), handed to intake_submit with
 * a reply that answers in the request's format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "antt_form.h"
#include "intake_open311_int.h"

static void s_created(antt_http_req_t *req, o311_format_t fmt, const char *report_id, int replayed, const char *notice,
                      unsigned emergency)
{
    /* the spec's service_notice is what the resident reads: an emergency
     * notice when the text shows one (first), and how the request stands */
    const char *state = replayed ? "already received: this is the earlier request"
                                 : "received; a dispatcher will be notified";
    char *both = notice && replayed ? antt_xasprintf("%s (%s)", notice, state) : NULL;
    json_t *o = json_pack("{s:s,s:s,s:s,s:n,s:o}", "service_request_id", report_id, "token", report_id,
                          "service_notice", both ? both : notice ? notice : state, "account_id",
                          "emergency_numbers", o311_numbers(notice ? emergency : 0));
    free(both);
    o311_respond(req, replayed ? 200 : 201, fmt, "service_requests", "request", json_pack("[o]", o));
}

/* a report's answer goes back on its request */
typedef struct s_http_reply {
    intake_reply_t base;  /* first: what intake_submit sees */
    antt_http_req_t *req; /* the POST */
    o311_format_t fmt;    /* its answer's format */
} s_http_reply_t;

static void s_reply_ok(intake_reply_t *reply, const char *report_id, int64_t received_ms, int replayed)
{
    (void)received_ms;
    s_http_reply_t *h = (s_http_reply_t *)reply;
    s_created(h->req, h->fmt, report_id, replayed, reply->notice, reply->emergency);
}

static void s_reply_error(intake_reply_t *reply, int status, const char *code, const char *message,
                          int retry_after_s)
{
    s_http_reply_t *h = (s_http_reply_t *)reply;
    /* the spec: a service_code that does not exist is 404 (the validator,
     * shared with ZeroMQ, calls every refused input 400) */
    if (status == 400 && strcmp(code, "unknown_service_code") == 0)
        status = 404;
    o311_error_notice(h->req, h->fmt, status, code, message, retry_after_s, reply->notice, reply->emergency);
}

static void s_reply_destroy(intake_reply_t *reply)
{
    free(reply);
}

static const intake_reply_ops_t s_reply_ops = {s_reply_ok, s_reply_error, s_reply_destroy};


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

void o311_post_request(intake_t *in, antt_http_req_t *req, o311_format_t fmt)
{
    antt_str_t body = antt_http_body(req);
    antt_str_t ctype = antt_http_header(req, "content-type");
    s_fields_t f;
    memset(&f, 0, sizeof(f));
    s_http_reply_t *h = antt_xcalloc(1, sizeof(*h));
    intake_reply_t *reply = &h->base;
    intake_reply_init(reply, &s_reply_ops, in);
    h->req = req;
    h->fmt = fmt;

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
    } else if (antt_form_parse(&f.form, body.p, body.n, O311_MAX_FIELDS) != 0) {
        intake_reply_error(reply, 400, "bad_form",
                           "the body is not application/x-www-form-urlencoded (bad escape or too many fields)",
                           0);
        return;
    }
    intake_input_t input = {0};
    const char *api_key = NULL, *first = NULL, *last = NULL;
    size_t api_key_len = 0;
    int bad = s_has_nul(&f);
    bad |= s_field(&f, "api_key", &api_key, &api_key_len);
    bad |= s_field(&f, "idempotency_key", &input.idempotency_key, NULL);
    bad |= s_field(&f, "description", &input.description, &input.description_len);
    bad |= s_field(&f, "service_code", &input.service_code, NULL);
    bad |= s_coord(&f, "lat", 0, &input.lat_text);
    bad |= s_coord(&f, "long", 1, &input.lon_text);
    bad |= s_field(&f, "area_code", &input.area_code, NULL);
    bad |= s_field(&f, "address_string", &input.address, &input.address_len);
    bad |= s_field(&f, "address_id", &input.address_id, NULL);
    bad |= s_field(&f, "zipcode", &input.zipcode, NULL);
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
    /* the answers to the service's questions (service definitions) */
    char *attrs = NULL, why[256] = "";
    const char *acode;
    if (o311_attributes_collect(input.service_code, &f.form, f.json, &attrs, &acode, why, sizeof(why)) != 0) {
        antt_form_cleanup(&f.form);
        json_decref(f.json);
        intake_reply_error(reply, 400, acode, why, 0);
        return;
    }
    input.attributes = attrs;
    /* the spec's form-encoded POST follows the spec; the JSON body (antt's
     * extension) and ZeroMQ keep antt's rules: free text, the classifier decides */
    input.spec_form = f.json == NULL;
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
    /* authentication uses the length: the header's key needs no copy */
    if (o311_api_key(req, api_key, api_key_len, &api_key, &api_key_len) != 0)
        intake_reply_error(reply, 403, "invalid_api_key", "api_key and the X-Api-Key header differ", 0);
    else
        intake_submit(in, api_key, api_key_len, &input, NULL, reply);
    free(ik_copy);
    free(attrs);
    antt_form_cleanup(&f.form);
    json_decref(f.json);
}
