/* intake_open311: Open311 GeoReport v2 at /open311/v2/, every endpoint in
 * the spec's XML and in JSON, chosen by the extension (.xml / .json):
 *
 *   GET  discovery.{fmt}
 *   GET  services.{fmt}                 the 16 categories
 *   GET  services/{code}.{fmt}          one service definition
 *   POST requests.{fmt}                 submit (form-encoded per the spec, or JSON)
 *   GET  requests.{fmt}                 this gateway's requests, with the spec's filters
 *   GET  requests/{id}.{fmt}            one request
 *   GET  tokens/{token}.{fmt}           token -> service_request_id
 *   GET  servicerequestupdates.{fmt}    mySociety's extension: status changes
 *
 * This file routes and answers discovery, services and errors. Errors are
 * the spec's list of {code, description}; we add error_code, a stable
 * machine-readable reason. api_key comes from the api_key form or query
 * field or an X-Api-Key header. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_categories.h"
#include "antt_danger.h"
#include "intake_open311_int.h"

/* when this API's shape last changed (discovery's changeset) */
#define S_CHANGESET "2026-12-01T00:00:00Z"

json_t *o311_numbers(unsigned emergency)
{
    const char *num[3];
    size_t n = antt_danger_numbers(emergency, num);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(num[i]));
    return a;
}

void o311_error_notice(antt_http_req_t *req, o311_format_t fmt, int status, const char *code,
                       const char *message, int retry_after_s, const char *notice, unsigned emergency)
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
        json_object_set_new(e, "emergency_numbers", o311_numbers(emergency));
    }
    o311_respond(req, status, fmt, "errors", "error", json_pack("[o]", e));
}

void o311_error(antt_http_req_t *req, o311_format_t fmt, int status, const char *code, const char *message,
                int retry_after_s)
{
    o311_error_notice(req, fmt, status, code, message, retry_after_s, NULL, 0);
}

/* The HTTP server's own refusals (antt_http_set_error_cb: the query gate's
 * 503, the SSE hub's) in the format the path asks for. */
void intake_open311_error(antt_http_req_t *req, int status, const char *code, const char *message,
                          int retry_after_s)
{
    antt_str_t p = antt_http_path(req);
    int xml = p.n > 4 && memcmp(p.p + p.n - 4, ".xml", 4) == 0;
    o311_error(req, xml ? O311_XML : O311_JSON, status, code, message, retry_after_s);
}

static int s_is_get(antt_http_req_t *req)
{
    antt_str_t m = antt_http_method(req);
    return antt_http_is(m, "GET") || antt_http_is(m, "HEAD");
}

static void s_method_not_allowed(antt_http_req_t *req, o311_format_t fmt, const char *allow)
{
    antt_http_add_header(req, "Allow", allow);
    o311_error(req, fmt, 405, "method_not_allowed", "method not allowed here", 0);
}

/* services */

static json_t *s_service(const antt_category_t *c)
{
    return json_pack("{s:s,s:s,s:s,s:b,s:s,s:s,s:s}", "service_code", c->code, "service_name",
                     c->label_vi, "description", c->label_en, "metadata", o311_service_has_attributes(c->code),
                     "type", "realtime",
                     "keywords", c->code, "group", c->group);
}

static void s_services(antt_http_req_t *req, o311_format_t fmt)
{
    json_t *arr = json_array();
    for (int i = 0; i < antt_categories_count; i++)
        json_array_append_new(arr, s_service(&antt_categories[i]));
    o311_respond(req, 200, fmt, "services", "service", arr);
}

static void s_service_definition(antt_http_req_t *req, o311_format_t fmt, const char *code)
{
    const antt_category_t *c = antt_category_find(code);
    if (c == NULL) {
        o311_error(req, fmt, 404, "unknown_service_code", "no service with this code", 0);
        return;
    }
    o311_respond(req, 200, fmt, "service_definition", NULL,
                 json_pack("{s:s,s:o}", "service_code", c->code, "attributes", o311_service_attributes(c->code)));
}

/* A Host header fit to be written into a URL: letters, digits, '.', '-',
 * ':' and the brackets of an IPv6 address, at most 255 bytes. */
static int s_host_ok(antt_str_t h)
{
    if (h.p == NULL || h.n == 0 || h.n > 255)
        return 0;
    for (size_t i = 0; i < h.n; i++) {
        char c = h.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-' || c == ':' || c == '[' || c == ']'))
            return 0;
    }
    return 1;
}

/* The endpoint's absolute URL: intake.public_url when the operator set it
 * (what a cache in front may keep and hand to every gateway must not come
 * from a client's headers), else the one the client reached us by: its
 * Host header, and https when a proxy in front says so (X-Forwarded-Proto). */
static void s_discovery(intake_t *in, antt_http_req_t *req, o311_format_t fmt)
{
    char url[320];
    if (in->set.public_url[0]) {
        snprintf(url, sizeof(url), "%s%s", in->set.public_url, O311_PREFIX);
    } else {
        antt_str_t host = antt_http_authority(req);
        if (!s_host_ok(host)) {
            o311_error(req, fmt, 400, "bad_host", "a Host header naming this server is required", 0);
            return;
        }
        antt_str_t proto = antt_http_header(req, "x-forwarded-proto");
        snprintf(url, sizeof(url), "%s://%.*s%s", antt_http_is(proto, "https") ? "https" : "http", (int)host.n,
                 host.p, O311_PREFIX);
    }
    json_t *d = json_pack("{s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:s,s:[s,s]}]}", "changeset", S_CHANGESET, "contact",
                          "antt operators", "key_service", "ask the operators for a gateway api_key",
                          "endpoints", "specification", "http://wiki.open311.org/GeoReport_v2", "url", url,
                          "changeset", S_CHANGESET, "type", "production", "formats", "text/xml",
                          "application/json");
    o311_respond(req, 200, fmt, "discovery", NULL, d);
}

/* routing */

/* Splits "<name>.xml" / "<name>.json" into the name and its format. */
static int s_format(antt_str_t rest, antt_str_t *name, o311_format_t *fmt)
{
    if (rest.n > 4 && memcmp(rest.p + rest.n - 4, ".xml", 4) == 0) {
        *fmt = O311_XML;
        *name = (antt_str_t){rest.p, rest.n - 4};
        return 0;
    }
    if (rest.n > 5 && memcmp(rest.p + rest.n - 5, ".json", 5) == 0) {
        *fmt = O311_JSON;
        *name = (antt_str_t){rest.p, rest.n - 5};
        return 0;
    }
    return -1;
}

/* Copies the {arg} of "<dir>{arg}" into out. 0 or -1. */
static int s_path_arg(antt_str_t name, const char *dir, char *out, size_t outlen)
{
    size_t dl = strlen(dir);
    if (name.n <= dl || memcmp(name.p, dir, dl) != 0)
        return -1;
    size_t n = name.n - dl;
    if (n >= outlen || memchr(name.p + dl, '/', n))
        return -1;
    memcpy(out, name.p + dl, n);
    out[n] = '\0';
    return 0;
}

static void s_route(antt_http_req_t *req, void *arg)
{
    intake_t *in = arg;
    antt_str_t path = antt_http_path(req);
    antt_str_t rest = {path.p + strlen(O311_PREFIX), path.n - strlen(O311_PREFIX)}, name;
    o311_format_t fmt;
    char a[128];
    if (s_format(rest, &name, &fmt) != 0) {
        /* the spec's clients always name a format; without one, XML is
         * the spec's required format */
        o311_error(req, O311_XML, 404, "not_found", "no such endpoint (paths end in .xml or .json)", 0);
        return;
    }
    if (antt_http_is(name, "discovery")) {
        s_is_get(req) ? s_discovery(in, req, fmt) : s_method_not_allowed(req, fmt, "GET");
    } else if (antt_http_is(name, "services")) {
        s_is_get(req) ? s_services(req, fmt) : s_method_not_allowed(req, fmt, "GET");
    } else if (s_path_arg(name, "services/", a, sizeof(a)) == 0 || s_path_arg(name, "service/", a, sizeof(a)) == 0) {
        /* service/{code}: the path Code for America's python client asks */
        s_is_get(req) ? s_service_definition(req, fmt, a) : s_method_not_allowed(req, fmt, "GET");
    } else if (antt_http_is(name, "requests")) {
        if (antt_http_is(antt_http_method(req), "POST"))
            o311_post_request(in, req, fmt);
        else if (s_is_get(req))
            o311_get_requests(in, req, fmt, NULL, 0);
        else
            s_method_not_allowed(req, fmt, "GET, POST");
    } else if (antt_http_is(name, "servicerequestupdates")) {
        if (antt_http_is(antt_http_method(req), "POST"))
            o311_post_update(in, req, fmt);
        else if (s_is_get(req))
            o311_get_updates(in, req, fmt);
        else
            s_method_not_allowed(req, fmt, "GET, POST");
    } else if (s_path_arg(name, "requests/", a, sizeof(a)) == 0) {
        s_is_get(req) ? o311_get_requests(in, req, fmt, a, 0) : s_method_not_allowed(req, fmt, "GET");
    } else if (s_path_arg(name, "tokens/", a, sizeof(a)) == 0) {
        s_is_get(req) ? o311_get_requests(in, req, fmt, a, 1) : s_method_not_allowed(req, fmt, "GET");
    } else {
        o311_error(req, fmt, 404, "not_found", "no such endpoint", 0);
    }
}

void intake_open311_register(intake_t *in)
{
    antt_http_route(in->svc->http, O311_PREFIX, s_route, in);
    /* bodies up to 64 KiB reach the handler, which answers 413 in Open311
     * form above 16 KiB; larger ones get the server's plain 413 */
    antt_http_set_max_body(in->svc->http, 64 * 1024);
}
