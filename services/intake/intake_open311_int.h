/* intake_open311_int: what the Open311 endpoints' files share (routing and
 * errors in intake_open311.c, POST in intake_open311_post.c, GET requests in
 * intake_open311_requests.c, the formats in intake_open311_render.c). */
#ifndef INTAKE_OPEN311_INT_H
#define INTAKE_OPEN311_INT_H

#include <jansson.h>

#include "antt_form.h"
#include "intake.h"
#include "intake_open311_render.h"

#define O311_PREFIX "/open311/v2/"
#define O311_MAX_FIELDS 64

/* ["113", ...]: the numbers of an emergency notice (antt extension). */
json_t *o311_numbers(unsigned emergency);
/* The spec's errors: [{code, description}] / <errors><error><code/>
 * <description/></error></errors>; error_code is antt's stable reason.
 * retry_after_s > 0 adds Retry-After; a notice adds the emergency fields. */
void o311_error_notice(antt_http_req_t *req, o311_format_t fmt, int status, const char *code,
                       const char *message, int retry_after_s, const char *notice, unsigned emergency);
void o311_error(antt_http_req_t *req, o311_format_t fmt, int status, const char *code, const char *message,
                int retry_after_s);

/* What GET requests asks for (intake_open311_requests.c parses it). */
typedef struct o311_query {
    antt_buf_t ids;      /* {uuid,...} or empty: any */
    antt_buf_t codes;    /* {code,...} or empty: any */
    antt_buf_t statuses; /* {open,closed} or empty: any */
    int64_t t0, t1;      /* requested_datetime window, unix ms */
} o311_query_t;

/* The spec's arguments (service_request_id overrides the others; comma
 * lists; the 90-day window): NULL, or why the query is refused. Clean up
 * q either way. */
const char *o311_query_parse(o311_query_t *q, antt_form_t *form, const char *id);
void o311_query_cleanup(o311_query_t *q);
/* The gateway an api_key (query field or X-Api-Key) names; *given says
 * whether one was sent. */
/* A request's gateway key: the form's api_key (form_key, form_len; NULL or
 * empty: none) or the X-Api-Key header, either alone or both equal, in
 * *key (NULL: neither) and *len. -1 when both are given and differ: neither
 * is taken (a proxy's key must not be overridden by the body's, nor the
 * reverse). */
int o311_api_key(antt_http_req_t *req, const char *form_key, size_t form_len, const char **key, size_t *len);
intake_gateway_t *o311_gateway(intake_t *in, antt_http_req_t *req, const antt_form_t *form, int *given);
/* GET and POST servicerequestupdates (intake_open311_updates.c) */
void o311_get_updates(intake_t *in, antt_http_req_t *req, o311_format_t fmt);
void o311_post_update(intake_t *in, antt_http_req_t *req, o311_format_t fmt);

/* GET requests, requests/{id} or tokens/{token} without an api_key: what
 * anyone may see (intake_open311_public.c). */
void o311_public_requests(intake_t *in, antt_http_req_t *req, o311_format_t fmt, const o311_query_t *q,
                          const char *id, int token);

/* Service definitions' attributes (intake_open311_attrs.c): whether a
 * service asks questions, and its attributes in the spec's shape. */
int o311_service_has_attributes(const char *service);
json_t *o311_service_attributes(const char *service);
/* Checks a POST's answers (form attribute[...] fields, or the JSON body's
 * "attribute" object when body is not NULL) against service's attributes;
 * *out_json: the answers as a JSON object (malloc'd) or NULL when none.
 * Returns 0, or -1 with *code (bad_attribute, unknown_attribute,
 * missing_attribute) and why. */
int o311_attributes_collect(const char *service, const antt_form_t *form, json_t *body, char **out_json,
                            const char **code, char *why, size_t whylen);

void o311_post_request(intake_t *in, antt_http_req_t *req, o311_format_t fmt);
/* GET requests (id NULL), requests/{id} or tokens/{token} (token 1) */
void o311_get_requests(intake_t *in, antt_http_req_t *req, o311_format_t fmt, const char *id, int token);

#endif
