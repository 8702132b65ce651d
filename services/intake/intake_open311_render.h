/* intake_open311_render: one Open311 answer, written as JSON or as the
 * GeoReport v2 XML shapes. Handlers build the answer once as a jansson
 * document (objects keep their members' order); this module writes it in
 * the format the request's extension chose. */
#ifndef INTAKE_OPEN311_RENDER_H
#define INTAKE_OPEN311_RENDER_H

#include <jansson.h>

#include "antt_http.h"

typedef enum o311_format { O311_JSON, O311_XML } o311_format_t;

/* Answers doc (consumed). In XML an array document becomes <root> with one
 * <item> per element ("service_requests"/"request"); an object document
 * becomes <root> with its members as child elements. Nested arrays name
 * their elements by the spec's singular ("endpoints" -> "endpoint"), null
 * is an empty element, booleans are true/false. */
void o311_respond(antt_http_req_t *req, int status, o311_format_t fmt, const char *root, const char *item,
                  json_t *doc);

#endif
