/* notify_http: the triage API over HTTP JSON, with the dispatcher's token
 * as "Authorization: Bearer <token>":
 *   GET  /api/v1/incidents                  LIST
 *   GET  /api/v1/incidents/<id>             GET
 *   GET  /api/v1/incidents/<id>/show        SHOW (with reports and events)
 *   POST /api/v1/incidents/<id>/<action>    a command, the body a JSON object
 * Every command goes through notify_triage_run, as over ZeroMQ. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "antt_util.h"
#include "notify_int.h"
#include "antt_token.h"

void notify_http_bearer(antt_http_req_t *req, char *out, size_t outlen)
{
    antt_token_from_request(req, 0, out, outlen);
}

/* The fields a command's body may hold, and their JSON types. */
static int s_field_ok(const char *key, json_t *val)
{
    static const char *const strings[] = {"assignee", "note", "outcome", "target", "report_id", "category",
                                          "reason", "solved_on"};
    if (!strcmp(key, "expected_version") || !strcmp(key, "priority") || !strcmp(key, "arrested"))
        return json_is_integer(val);
    for (size_t i = 0; i < ANTT_ARRAY_SIZE(strings); i++)
        if (!strcmp(key, strings[i]))
            return json_is_string(val) && strlen(json_string_value(val)) <= 2000;
    return 0;
}

/* A command's body: a JSON object of known fields only, or NULL (and why). */
static json_t *s_body(antt_http_req_t *req, const char **why)
{
    antt_str_t body = antt_http_body(req);
    json_error_t jerr;
    json_t *args = body.n ? json_loadb(body.p, body.n, JSON_REJECT_DUPLICATES, &jerr) : json_object();
    if (args == NULL || !json_is_object(args)) {
        json_decref(args);
        *why = "the body must be a JSON object";
        return NULL;
    }
    const char *key;
    json_t *val;
    json_object_foreach(args, key, val) {
        if (!s_field_ok(key, val)) {
            json_decref(args);
            *why = "unknown field or wrong type";
            return NULL;
        }
    }
    return args;
}

void notify_http_incidents(antt_http_req_t *req, void *arg)
{
    n_svc_t *n = arg;
    antt_str_t path = antt_http_path(req), method = antt_http_method(req);
    const char *prefix = "/api/v1/incidents";
    size_t pl = strlen(prefix);
    char rest[160] = "";
    if (path.n > pl + 1 && path.p[pl] == '/' && path.n - pl - 1 < sizeof(rest)) {
        memcpy(rest, path.p + pl + 1, path.n - pl - 1);
        rest[path.n - pl - 1] = 0;
    } else if (path.n != pl) {
        antt_http_json_error(req, 404, "not_found", "no such resource");
        return;
    }
    char id[160] = "", act[160] = "";
    char *slash = strchr(rest, '/');
    if (slash) {
        *slash = 0;
        snprintf(act, sizeof(act), "%s", slash + 1);
    }
    snprintf(id, sizeof(id), "%s", rest);
    Antt__V1__TriageAction a = ANTT__V1__TRIAGE_ACTION__ACTION_UNSPECIFIED;
    json_t *args = NULL;
    const char *why = NULL;
    if (antt_http_is(method, "GET") && (!act[0] || (id[0] && !strcmp(act, "show")))) {
        a = !id[0]   ? ANTT__V1__TRIAGE_ACTION__ACTION_LIST
            : act[0] ? ANTT__V1__TRIAGE_ACTION__ACTION_SHOW
                     : ANTT__V1__TRIAGE_ACTION__ACTION_GET;
        args = json_object();
    } else if (antt_http_is(method, "POST") && id[0] && act[0]) {
        a = notify_action_parse(act);
        if (a == ANTT__V1__TRIAGE_ACTION__ACTION_LIST || a == ANTT__V1__TRIAGE_ACTION__ACTION_GET ||
            a == ANTT__V1__TRIAGE_ACTION__ACTION_SHOW)
            a = ANTT__V1__TRIAGE_ACTION__ACTION_UNSPECIFIED;
        if (a == ANTT__V1__TRIAGE_ACTION__ACTION_UNSPECIFIED)
            why = "unknown action";
        else
            args = s_body(req, &why);
    } else {
        why = "use GET .../incidents[/<id>[/show]] or POST .../<id>/<action>";
    }
    n_triage_t *t = notify_triage_http(n, req, a);
    if (args == NULL) {
        notify_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST, why);
        return;
    }
    char token[256];
    notify_http_bearer(req, token, sizeof(token));
    notify_triage_run(t, token, id, args);
    json_decref(args);
}
