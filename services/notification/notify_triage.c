/* notify_triage: dispatchers' triage commands, from the ROUTER (protobuf)
 * and the HTTP JSON API (notify_http.c) alike, through one function in
 * PostgreSQL, antt_triage_run() (antt_triage and solve), which checks the
 * token's desk, the incident's scope, the state transition and the
 * expected version, and records the change and its event in one
 * transaction. The service answers and
 * publishes the result; it opens reporters' contacts (UNSEAL_CONTACT) with
 * the dispatchers' secret key, which only it holds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "antt_log.h"
#include "antt_util.h"
#include "antt_http_gate.h"
#include "notify_answers.h"
#include "notify_int.h"

struct n_triage {
    n_svc_t *n;                         /* the service */
    Antt__V1__TriageAction action;      /* what */
    char request_id[128];               /* echoed */
    antt_http_req_t *req;               /* HTTP: the request to answer */
    zmq_msg_t env[ANTT_BUS_MAX_FRAMES]; /* ZeroMQ: the reply envelope */
    size_t nenv;
};

n_triage_t *notify_triage_http(n_svc_t *n, antt_http_req_t *req, Antt__V1__TriageAction action)
{
    n_triage_t *t = antt_xcalloc(1, sizeof(*t));
    t->n = n;
    t->req = req;
    t->action = action;
    return t;
}

static void s_triage_free(n_triage_t *t)
{
    for (size_t i = 0; i < t->nenv; i++)
        zmq_msg_close(&t->env[i]);
    free(t);
}

static int s_status_http(Antt__V1__TriageReply__Status st)
{
    switch (st) {
    case ANTT__V1__TRIAGE_REPLY__STATUS__OK: return 200;
    case ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST: return 400;
    case ANTT__V1__TRIAGE_REPLY__STATUS__FORBIDDEN: return 403;
    case ANTT__V1__TRIAGE_REPLY__STATUS__NOT_FOUND: return 404;
    case ANTT__V1__TRIAGE_REPLY__STATUS__CONFLICT: return 409;
    default: return 503;
    }
}

static const char *const s_error_codes[] = {"", "bad_request", "forbidden", "not_found", "conflict", "unavailable"};

static json_t *s_update_obj(const Antt__V1__IncidentUpdate *u)
{
    char *s = notify_update_json(u);
    json_t *o = json_loads(s, 0, NULL);
    free(s);
    return o;
}

/* Answers t over its transport and frees it. detail: SHOW's reports and
 * events (a JSON object, borrowed) for the HTTP answer. */
static void s_triage_reply(n_triage_t *t, Antt__V1__TriageReply *rep, json_t *detail)
{
    n_svc_t *n = t->n;
    rep->request_id = t->request_id[0] ? t->request_id : NULL;
    if (rep->status == ANTT__V1__TRIAGE_REPLY__STATUS__OK)
        antt_metric_inc(n->m_triage_ok);
    else
        antt_metric_inc(n->m_triage_err);
    if (t->req) {
        json_t *o = json_object();
        if (rep->status != ANTT__V1__TRIAGE_REPLY__STATUS__OK) {
            json_object_set_new(o, "error_code", json_string(rep->error_code ? rep->error_code : ""));
            json_object_set_new(o, "error", json_string(rep->error ? rep->error : ""));
        }
        if (rep->incident)
            json_object_set_new(o, "incident", s_update_obj(rep->incident));
        if (rep->n_incidents || t->action == ANTT__V1__TRIAGE_ACTION__ACTION_LIST) {
            json_t *a = json_array();
            for (size_t i = 0; i < rep->n_incidents; i++)
                json_array_append_new(a, s_update_obj(rep->incidents[i]));
            json_object_set_new(o, "incidents", a);
        }
        if (detail) {
            json_object_set(o, "reports", json_object_get(detail, "reports"));
            json_object_set(o, "events", json_object_get(detail, "events"));
        }
        if (rep->contact_json)
            json_object_set_new(o, "contacts", json_loads(rep->contact_json, 0, NULL));
        char *body = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        antt_http_respond(t->req, s_status_http(rep->status), "application/json", body, strlen(body));
        free(body);
    } else {
        for (size_t i = 0; i < t->nenv; i++)
            if (antt_bus_send_msg(n->router, &t->env[i], 1) != 0)
                break;
        antt_bus_send_pb(n->router, (const ProtobufCMessage *)rep, 0);
    }
    s_triage_free(t);
}

void notify_triage_error(n_triage_t *t, Antt__V1__TriageReply__Status st, const char *msg)
{
    Antt__V1__TriageReply rep = ANTT__V1__TRIAGE_REPLY__INIT;
    rep.has_status = 1;
    rep.status = st;
    rep.error_code = (char *)s_error_codes[st];
    rep.error = (char *)msg;
    s_triage_reply(t, &rep, NULL);
}

/* Opens the sealed contacts (base64, space separated) into a JSON array. */
static char *s_unseal(n_svc_t *n, const char *b64s)
{
    json_t *a = json_array();
    char *copy = antt_xstrdup(b64s), *save = NULL;
    for (char *b = strtok_r(copy, " ", &save); b; b = strtok_r(NULL, " ", &save)) {
        size_t cap = strlen(b), len = 0;
        uint8_t *box = antt_xmalloc(cap + 1);
        char *plain = NULL;
        size_t plen = 0;
        if (sodium_base642bin(box, cap, b, strlen(b), "\n", &len, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
            n->have_keys && antt_unseal(n->pk, n->sk, box, len, &plain, &plen) == 0) {
            json_t *j = json_loads(plain, 0, NULL);
            json_array_append_new(a, j ? j : json_string(plain));
            sodium_memzero(plain, plen);
        } else {
            json_array_append_new(a, json_null());
        }
        free(plain);
        free(box);
    }
    free(copy);
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return s;
}

static const char *s_jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int64_t s_jtime(json_t *o, const char *key, protobuf_c_boolean *has)
{
    int64_t ms = 0;
    const char *s = s_jstr(o, key);
    *has = s && antt_parse_time(s, &ms) == 0;
    return *has ? ms : 0;
}

/* SHOW: the reports and events of detail (strings borrowed from it; the
 * events' data_json and the arrays are freed by s_detail_free). */
typedef struct n_detail {
    Antt__V1__ReportText *reports, **rp;
    Antt__V1__IncidentEvent *events, **ep;
    notify_answers_pb_t *answers; /* each report's answers and follow-ups */
    size_t nreports, nevents;
} n_detail_t;

static void s_detail_fill(n_detail_t *d, json_t *detail, Antt__V1__TriageReply *rep)
{
    json_t *rs = json_object_get(detail, "reports"), *es = json_object_get(detail, "events");
    d->nreports = json_array_size(rs);
    d->nevents = json_array_size(es);
    d->reports = antt_xcalloc(d->nreports + 1, sizeof(*d->reports));
    d->rp = antt_xcalloc(d->nreports + 1, sizeof(*d->rp));
    d->answers = antt_xcalloc(d->nreports + 1, sizeof(*d->answers));
    d->events = antt_xcalloc(d->nevents + 1, sizeof(*d->events));
    d->ep = antt_xcalloc(d->nevents + 1, sizeof(*d->ep));
    for (size_t i = 0; i < d->nreports; i++) {
        json_t *o = json_array_get(rs, i);
        Antt__V1__ReportText *r = &d->reports[i];
        antt__v1__report_text__init(r);
        r->report_id = (char *)s_jstr(o, "report_id");
        r->received_at_ms = s_jtime(o, "received_at", &r->has_received_at_ms);
        r->gateway = (char *)s_jstr(o, "gateway");
        r->description = (char *)s_jstr(o, "description");
        r->service_code = (char *)s_jstr(o, "service_code");
        r->category = (char *)s_jstr(o, "category");
        r->has_priority = json_is_integer(json_object_get(o, "priority"));
        r->priority = (int32_t)json_integer_value(json_object_get(o, "priority"));
        r->has_contact_given = 1;
        r->contact_given = json_is_true(json_object_get(o, "contact_given"));
        notify_answers_fill(&d->answers[i], o, r);
        d->rp[i] = r;
    }
    for (size_t i = 0; i < d->nevents; i++) {
        json_t *o = json_array_get(es, i);
        Antt__V1__IncidentEvent *e = &d->events[i];
        antt__v1__incident_event__init(e);
        e->at_ms = s_jtime(o, "at", &e->has_at_ms);
        e->kind = (char *)s_jstr(o, "kind");
        e->actor = (char *)s_jstr(o, "actor");
        e->data_json = json_dumps(json_object_get(o, "data"), JSON_COMPACT | JSON_ENCODE_ANY);
        d->ep[i] = e;
    }
    rep->n_reports = d->nreports;
    rep->reports = d->rp;
    rep->n_events = d->nevents;
    rep->events = d->ep;
}

static void s_detail_free(n_detail_t *d)
{
    for (size_t i = 0; i < d->nevents; i++)
        free(d->events[i].data_json);
    for (size_t i = 0; d->answers && i < d->nreports; i++)
        notify_answers_release(&d->answers[i]);
    free(d->answers);
    free(d->reports);
    free(d->rp);
    free(d->events);
    free(d->ep);
}

static Antt__V1__TriageReply__Status s_sqlstate_status(const char *state)
{
    if (state && !strcmp(state, "AT400"))
        return ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST;
    if (state && !strcmp(state, "AT403"))
        return ANTT__V1__TRIAGE_REPLY__STATUS__FORBIDDEN;
    if (state && !strcmp(state, "AT404"))
        return ANTT__V1__TRIAGE_REPLY__STATUS__NOT_FOUND;
    if (state && !strcmp(state, "AT409"))
        return ANTT__V1__TRIAGE_REPLY__STATUS__CONFLICT;
    if (state && state[0] == '2' && state[1] == '2') /* data exceptions: bad input */
        return ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST;
    return ANTT__V1__TRIAGE_REPLY__STATUS__UNAVAILABLE;
}

static void s_on_triage(antt_db_job_t *job, int status, void *arg)
{
    n_triage_t *t = arg;
    n_svc_t *n = t->n;
    if (status == -ECANCELED) {
        notify_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__UNAVAILABLE, "service stopping");
        return;
    }
    if (status != 0) {
        const char *msg = antt_db_job_error(job);
        Antt__V1__TriageReply__Status st = s_sqlstate_status(antt_db_job_sqlstate(job));
        if (st == ANTT__V1__TRIAGE_REPLY__STATUS__UNAVAILABLE)
            ANTT_LOG(ANTT_WARN, "triage failed: %s", msg ? msg : "");
        char clean[256];
        snprintf(clean, sizeof(clean), "%s", msg ? msg : "database unavailable");
        clean[strcspn(clean, "\n")] = 0;
        notify_triage_error(t, st, st == ANTT__V1__TRIAGE_REPLY__STATUS__UNAVAILABLE ? "database unavailable" : clean);
        return;
    }
    PGresult *r = antt_db_job_result(job, 0);
    int rows = PQntuples(r);
    Antt__V1__IncidentUpdate *ups = antt_xcalloc((size_t)rows + 1, sizeof(*ups));
    Antt__V1__IncidentUpdate **ptrs = antt_xcalloc((size_t)rows + 1, sizeof(*ptrs));
    for (int i = 0; i < rows; i++) {
        antt__v1__incident_update__init(&ups[i]);
        notify_fill_update(&ups[i], r, i);
        ptrs[i] = &ups[i];
    }
    Antt__V1__TriageReply rep = ANTT__V1__TRIAGE_REPLY__INIT;
    rep.has_status = 1;
    rep.status = ANTT__V1__TRIAGE_REPLY__STATUS__OK;
    char *contacts = NULL;
    json_t *detail = NULL;
    n_detail_t d = {0};
    Antt__V1__TriageAction a = t->action;
    if (a == ANTT__V1__TRIAGE_ACTION__ACTION_LIST) {
        rep.n_incidents = (size_t)rows;
        rep.incidents = ptrs;
    } else if (rows > 0) {
        rep.incident = ptrs[0];
        if (a == ANTT__V1__TRIAGE_ACTION__ACTION_UNSEAL_CONTACT)
            rep.contact_json = contacts = s_unseal(n, PQgetvalue(r, 0, N_COL_CONTACTS));
        if (a == ANTT__V1__TRIAGE_ACTION__ACTION_SHOW && !PQgetisnull(r, 0, N_COL_DETAIL)) {
            detail = json_loads(PQgetvalue(r, 0, N_COL_DETAIL), 0, NULL);
            if (detail && antt_db_job_count(job) > 1)
                notify_answers_merge(detail, antt_db_job_result(job, 1));
            if (detail)
                s_detail_fill(&d, detail, &rep);
        }
        /* every change goes to the feeds and to aggregation (reading the
         * contact changes nothing but the event log) */
        if (a != ANTT__V1__TRIAGE_ACTION__ACTION_GET && a != ANTT__V1__TRIAGE_ACTION__ACTION_SHOW &&
            a != ANTT__V1__TRIAGE_ACTION__ACTION_UNSEAL_CONTACT)
            for (int i = 0; i < rows; i++)
                notify_publish(n, &ups[i]);
        /* a deadline moved */
        if (a == ANTT__V1__TRIAGE_ACTION__ACTION_ESCALATE || a == ANTT__V1__TRIAGE_ACTION__ACTION_REOPEN ||
            a == ANTT__V1__TRIAGE_ACTION__ACTION_RECLASSIFY)
            notify_next_deadline(n);
    }
    s_triage_reply(t, &rep, detail);
    if (contacts) {
        sodium_memzero(contacts, strlen(contacts));
        free(contacts);
    }
    s_detail_free(&d);
    json_decref(detail);
    for (int i = 0; i < rows; i++)
        notify_update_release(&ups[i]);
    free(ptrs);
    free(ups);
}

/* SHOW's second statement: per report of the incident its service_code,
 * its answers and its follow-ups (report_updates holds at most 50 a report) */
static const char S_SHOW_ANSWERS_SQL[] =
    "SELECT r.id, r.service_code, r.attributes::text,"
    "  COALESCE((SELECT json_agg(json_build_object('at', u.at, 'description', u.description,"
    "      'media_url', u.media_url) ORDER BY u.id) FROM report_updates u WHERE u.report_id = r.id), '[]')::text"
    " FROM incident_reports l JOIN reports r ON r.id = l.report_id WHERE l.incident_id = $1::uuid";

void notify_triage_run(n_triage_t *t, const char *token, const char *incident, const json_t *args)
{
    n_svc_t *n = t->n;
    const char *action = notify_action_name(t->action);
    int list = t->action == ANTT__V1__TRIAGE_ACTION__ACTION_LIST;
    if (action == NULL) {
        notify_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST, "unknown action");
        return;
    }
    if (!notify_active(n)) {
        /* its result would reach the feeds of the wrong process */
        notify_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__UNAVAILABLE, "standby: the active notification serves");
        return;
    }
    if (token == NULL || !*token) {
        notify_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__FORBIDDEN, "a dispatcher token is required");
        return;
    }
    if (!list && (incident == NULL || !antt_uuid_valid(incident))) {
        notify_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST, "incident_id must be a UUID");
        return;
    }
    uint8_t hash[ANTT_HASH_BYTES];
    antt_api_key_hash(token, strlen(token), hash);
    json_t *a = json_deep_copy(args);
    json_t *acks = json_array();
    long p[4];
    if (sscanf(n->ack_s, "{%ld,%ld,%ld,%ld}", &p[0], &p[1], &p[2], &p[3]) == 4)
        for (int i = 0; i < 4; i++)
            json_array_append_new(acks, json_integer(p[i]));
    json_object_set_new(a, "ack_s", acks);
    char *args_s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    const char *v[4] = {(const char *)hash, action, list ? NULL : incident, args_s};
    int lens[4] = {ANTT_HASH_BYTES, 0, 0, 0}, fmts[4] = {1, 0, 0, 0};
    antt_db_job_t *job = antt_db_job_new(s_on_triage, t);
    antt_db_job_add(job, N_STATE_COLUMNS " FROM antt_triage_run($1::bytea, $2, $3::uuid, $4::jsonb)", 4, v, lens,
                    fmts);
    /* SHOW: the reports' answers and the residents' follow-ups, in the same
     * transaction, after antt_triage let this dispatcher see the incident
     * (a refusal aborts the job: nothing of this is read) */
    if (t->action == ANTT__V1__TRIAGE_ACTION__ACTION_SHOW)
        antt_db_job_add(job, S_SHOW_ANSWERS_SQL, 1, &v[2], NULL, NULL);
    /* a merge locks two incidents, a classification batch the incidents it
     * grows: when they meet as a deadlock, the rolled-back one runs again
     * (the dispatcher sees no error) */
    antt_db_job_set_retries(job, 2);
    free(args_s);
    if (t->req) {
        /* over HTTP through the service's query gate: a full queue answers
         * 503 with Retry-After itself */
        if (antt_http_gate_run(t->req, n->db, job, s_on_triage, t) != 0)
            s_triage_free(t);
    } else if (antt_db_submit(n->db, job) != 0) {
        notify_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__UNAVAILABLE, "database unavailable");
    }
}

/* strings from the wire must be valid UTF-8 for jansson: it refuses them
 * otherwise (json_string returns NULL and the key is not set) */
static void s_arg(json_t *args, const char *key, const char *v)
{
    if (v)
        json_object_set_new(args, key, json_string(v));
}

void notify_on_command(antt_bus_t *bus, zmq_msg_t *frames, size_t nframes, void *arg)
{
    n_svc_t *n = arg;
    (void)bus;
    if (nframes < 2)
        return; /* no envelope: nobody to answer */
    n_triage_t *t = antt_xcalloc(1, sizeof(*t));
    t->n = n;
    for (size_t i = 0; i + 1 < nframes; i++) {
        zmq_msg_init(&t->env[i]);
        zmq_msg_move(&t->env[i], &frames[i]);
    }
    t->nenv = nframes - 1;
    Antt__V1__TriageCommand *c = antt__v1__triage_command__unpack(NULL, zmq_msg_size(&frames[nframes - 1]),
                                                                   zmq_msg_data(&frames[nframes - 1]));
    if (c == NULL) {
        antt_metric_inc(n->m_bad);
        notify_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST, "not a TriageCommand");
        return;
    }
    snprintf(t->request_id, sizeof(t->request_id), "%s", c->request_id ? c->request_id : "");
    t->action = c->has_action ? c->action : ANTT__V1__TRIAGE_ACTION__ACTION_UNSPECIFIED;
    json_t *args = json_object();
    s_arg(args, "assignee", c->assignee);
    s_arg(args, "note", c->note);
    s_arg(args, "outcome", c->outcome);
    s_arg(args, "target", c->target_incident_id);
    s_arg(args, "report_id", c->report_id);
    s_arg(args, "category", c->category);
    s_arg(args, "reason", c->reason);
    s_arg(args, "solved_on", c->solved_on);
    if (c->has_arrested)
        json_object_set_new(args, "arrested", json_integer(c->arrested));
    if (c->has_priority)
        json_object_set_new(args, "priority", json_integer(c->priority));
    if (c->has_expected_version)
        json_object_set_new(args, "expected_version", json_integer(c->expected_version));
    notify_triage_run(t, c->token, c->incident_id, args);
    json_decref(args);
    antt__v1__triage_command__free_unpacked(c, NULL);
}
