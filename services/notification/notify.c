/* notify: see notify.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "antt_bus.h"
#include "antt_crypto.h"
#include "antt_db.h"
#include "antt_log.h"
#include "antt_metrics.h"
#include "antt_service.h"
#include "antt_util.h"
#include "notify.h"
#include "notify_seen.h"
#include "notify_webhook.h"
#include <curl/curl.h>

#define N_CLASSIFIED "incident.classified"
#define N_MAX_DESKS 32         /* desks one update goes to */

/* the columns of antt_incident_state rows, as s_fill_update reads them */
#define N_STATE_COLUMNS                                                                                     \
    "SELECT kind, incident_id, version, status, category, priority, area_code, desk_code, report_count,"    \
    " actor, note, (extract(epoch FROM at) * 1000)::bigint, (extract(epoch FROM occurred_at) * 1000)::bigint," \
    " merged_into, outcome, (extract(epoch FROM ack_deadline) * 1000)::bigint, assignee,"                  \
    " array_to_string(ARRAY(SELECT encode(c, 'base64') FROM unnest(contacts) c), ' ')"

typedef struct n_desk {
    char *code;   /* desk */
    char *parent; /* the desk it escalates to, NULL at the top */
} n_desk_t;

typedef struct n_route {
    char *category; /* incidents of this category */
    int max_prio;   /* at least this urgent (1..4), 0 = any */
    char *desk;     /* also go to this desk */
} n_route_t;

/* A browser console's Server-Sent Events stream. */
typedef struct n_sse {
    antt_http_req_t *req; /* the open response */
    char desk[64];        /* the dispatcher's desk */
    struct n_sse *next;   /* list */
} n_sse_t;

typedef struct n_svc {
    antt_service_t *svc;      /* the service */
    antt_db_t *db;            /* triage, escalation, desks */
    antt_bus_t *sub;          /* classified incidents (bound) */
    antt_bus_t *pub;          /* desk feeds and incident updates (bound) */
    antt_bus_t *router;       /* triage commands (bound) */
    notify_webhook_t *wh;     /* webhook sender */
    n_desk_t *desks;          /* the desk tree */
    int ndesks;
    n_route_t *routes;        /* extra routes */
    int nroutes;
    int loaded;               /* desks and routes loaded once */
    n_sse_t *sse;             /* open SSE streams */
    uv_timer_t escalate;      /* fires at the next unacknowledged deadline */
    uv_timer_t upkeep;        /* reloads desks and routes */
    uv_timer_t catchup;       /* announces incidents whose classified message was lost */
    long catchup_ms;          /* its interval, 0 off */
    notify_seen_t *seen;      /* incidents announced lately */
    char catchup_hi[64];      /* created_at of the last incident the catch-up read ("" none yet) */
    int catching;             /* a catch-up job is in flight */
    int64_t next_deadline_ms; /* what escalate is set for; 0 none */
    int escalating;           /* an escalation job is in flight */
    char ack_s[96];           /* "{p1,p2,p3,p4}" */
    uint8_t pk[ANTT_KEY_BYTES], sk[ANTT_KEY_BYTES]; /* dispatchers' sealing keys */
    int have_keys;            /* both given */
    int closing;              /* stop requested */
    antt_metric_t *m_classified, *m_published, *m_escalated, *m_triage_ok, *m_triage_err, *m_bad, *m_sse;
    antt_metric_t *m_feed_s;  /* report received -> feed published */
    antt_metric_t *m_caught_up; /* incidents announced by the catch-up */
} n_svc_t;

/* ---- desk tree ---------------------------------------------------------- */

static const n_desk_t *s_desk(const n_svc_t *n, const char *code)
{
    for (int i = 0; code && i < n->ndesks; i++)
        if (!strcmp(n->desks[i].code, code))
            return &n->desks[i];
    return NULL;
}

static int s_has(const char **set, int k, const char *code)
{
    for (int i = 0; i < k; i++)
        if (!strcmp(set[i], code))
            return 1;
    return 0;
}

/* The desks that see an incident of this desk, category and priority: the
 * desk, every desk above it, and the routes'. Returns how many. */
static int s_audience(const n_svc_t *n, const char *desk, const char *category, int prio, const char **out)
{
    int k = 0;
    for (const n_desk_t *d = s_desk(n, desk); d && k < N_MAX_DESKS; d = s_desk(n, d->parent)) {
        if (s_has(out, k, d->code))
            break; /* a loop in the tree: stop */
        out[k++] = d->code;
    }
    for (int i = 0; category && i < n->nroutes && k < N_MAX_DESKS; i++) {
        const n_route_t *r = &n->routes[i];
        if (!strcmp(r->category, category) && (r->max_prio == 0 || (prio > 0 && prio <= r->max_prio)) &&
            !s_has(out, k, r->desk))
            out[k++] = r->desk;
    }
    return k;
}

static void s_desks_free(n_svc_t *n)
{
    for (int i = 0; i < n->ndesks; i++) {
        free(n->desks[i].code);
        free(n->desks[i].parent);
    }
    for (int i = 0; i < n->nroutes; i++) {
        free(n->routes[i].category);
        free(n->routes[i].desk);
    }
    free(n->desks);
    free(n->routes);
    n->desks = NULL;
    n->routes = NULL;
    n->ndesks = n->nroutes = 0;
}

static void s_on_desks(antt_db_job_t *job, int status, void *arg)
{
    n_svc_t *n = arg;
    if (status != 0 || n->closing) {
        if (status != -ECANCELED)
            ANTT_LOG(ANTT_WARN, "could not load desks: %s", antt_db_job_error(job) ? antt_db_job_error(job) : "");
        return;
    }
    PGresult *d = antt_db_job_result(job, 0), *r = antt_db_job_result(job, 1);
    s_desks_free(n);
    n->ndesks = PQntuples(d);
    n->desks = antt_xcalloc((size_t)n->ndesks + 1, sizeof(*n->desks));
    for (int i = 0; i < n->ndesks; i++) {
        n->desks[i].code = antt_xstrdup(PQgetvalue(d, i, 0));
        n->desks[i].parent = PQgetisnull(d, i, 1) ? NULL : antt_xstrdup(PQgetvalue(d, i, 1));
    }
    n->nroutes = PQntuples(r);
    n->routes = antt_xcalloc((size_t)n->nroutes + 1, sizeof(*n->routes));
    for (int i = 0; i < n->nroutes; i++) {
        n->routes[i].category = antt_xstrdup(PQgetvalue(r, i, 0));
        n->routes[i].max_prio = PQgetisnull(r, i, 1) ? 0 : atoi(PQgetvalue(r, i, 1));
        n->routes[i].desk = antt_xstrdup(PQgetvalue(r, i, 2));
    }
    n->loaded = 1;
}

static void s_load_desks(n_svc_t *n)
{
    antt_db_job_t *job = antt_db_job_new(s_on_desks, n);
    antt_db_job_add(job, "SELECT code, antt_parent_desk(code) FROM desks", 0, NULL, NULL, NULL);
    antt_db_job_add(job, "SELECT category, max_priority, desk_code FROM routes ORDER BY id", 0, NULL, NULL, NULL);
    antt_db_submit(n->db, job);
}

/* ---- publishing ----------------------------------------------------------- */

static void s_sse_drop(n_svc_t *n, n_sse_t *c)
{
    for (n_sse_t **p = &n->sse; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    free(c);
    antt_metric_set(n->m_sse, antt_metric_value(n->m_sse) - 1);
}

/* Sends one update to the feeds of every desk that sees it, to the SSE
 * consoles of those desks, and to aggregation. */
static void s_publish(n_svc_t *n, const Antt__V1__IncidentUpdate *u)
{
    const char *aud[N_MAX_DESKS];
    int k = s_audience(n, u->desk_code, u->category, u->has_priority ? (int)u->priority : 0, aud);
    size_t len = antt__v1__incident_update__get_packed_size(u);
    uint8_t *buf = antt_xmalloc(len + 1);
    antt__v1__incident_update__pack(u, buf);
    char topic[160];
    for (int i = 0; i < k; i++) {
        int tl = snprintf(topic, sizeof(topic), "desk.%s.", aud[i]);
        if (antt_bus_send(n->pub, topic, (size_t)tl, 1) == 0)
            antt_bus_send(n->pub, buf, len, 0);
    }
    int tl = snprintf(topic, sizeof(topic), "incident.update.%s", u->area_code ? u->area_code : "");
    if (antt_bus_send(n->pub, topic, (size_t)tl, 1) == 0)
        antt_bus_send(n->pub, buf, len, 0);
    free(buf);
    antt_metric_inc(n->m_published);
    /* any announcement of an incident shows it on the desks: the catch-up
     * leaves it alone */
    notify_seen_add(n->seen, u->incident_id, antt_now_ms());
    if (u->kind != ANTT__V1__UPDATE_KIND__UPDATE_REPORT_JOINED && u->kind != ANTT__V1__UPDATE_KIND__UPDATE_NOTE)
        notify_webhook_kick(n->wh);
    if (n->sse) {
        char *json = notify_update_json(u);
        char *ev = antt_xasprintf("event: incident\nid: %s:%lld\ndata: %s\n\n", u->incident_id,
                                  (long long)u->version, json);
        free(json);
        for (n_sse_t *c = n->sse, *next; c; c = next) {
            next = c->next;
            if (!s_has(aud, k, c->desk))
                continue;
            if (antt_http_stream_write(c->req, ev, strlen(ev)) == -EPIPE)
                s_sse_drop(n, c);
        }
        free(ev);
    }
}

/* ---- escalation ------------------------------------------------------------ */

static void s_schedule(n_svc_t *n, int64_t deadline_ms);
static void s_next_deadline(n_svc_t *n);

static void s_fill_update(Antt__V1__IncidentUpdate *u, PGresult *r, int row);

static void s_on_escalated(antt_db_job_t *job, int status, void *arg)
{
    n_svc_t *n = arg;
    n->escalating = 0;
    if (status == -ECANCELED || n->closing)
        return;
    if (status != 0) {
        ANTT_LOG(ANTT_WARN, "escalation failed: %s", antt_db_job_error(job) ? antt_db_job_error(job) : "");
        s_schedule(n, antt_now_ms() + 1000); /* try again */
        return;
    }
    PGresult *r = antt_db_job_result(job, 0);
    for (int i = 0; i < PQntuples(r); i++) {
        Antt__V1__IncidentUpdate u = ANTT__V1__INCIDENT_UPDATE__INIT;
        s_fill_update(&u, r, i);
        ANTT_LOG(ANTT_INFO, "escalated incident=%s to desk=%s", u.incident_id, u.desk_code);
        s_publish(n, &u);
        antt_metric_inc(n->m_escalated);
    }
    s_next_deadline(n);
}

static void s_escalate_now(uv_timer_t *t)
{
    n_svc_t *n = t->data;
    n->next_deadline_ms = 0;
    if (n->escalating || n->closing)
        return;
    antt_db_job_t *job = antt_db_job_new(s_on_escalated, n);
    const char *v[1] = {n->ack_s};
    antt_db_job_add(job, N_STATE_COLUMNS " FROM antt_escalate_due($1::int[], 200)", 1, v, NULL, NULL);
    if (antt_db_submit(n->db, job) == 0)
        n->escalating = 1;
    else
        s_schedule(n, antt_now_ms() + 1000);
}

/* Sets the timer for deadline_ms unless it is already set earlier. */
static void s_schedule(n_svc_t *n, int64_t deadline_ms)
{
    if (deadline_ms <= 0 || n->closing)
        return;
    if (n->next_deadline_ms && n->next_deadline_ms <= deadline_ms)
        return;
    n->next_deadline_ms = deadline_ms;
    int64_t wait = deadline_ms - antt_now_ms();
    uv_timer_start(&n->escalate, s_escalate_now, wait > 0 ? (uint64_t)wait : 0, 0);
}

static void s_on_next_deadline(antt_db_job_t *job, int status, void *arg)
{
    n_svc_t *n = arg;
    if (status == -ECANCELED || n->closing)
        return;
    if (status != 0) {
        s_schedule(n, antt_now_ms() + 1000);
        return;
    }
    PGresult *r = antt_db_job_result(job, 0);
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        s_schedule(n, atoll(PQgetvalue(r, 0, 0)));
}

/* Asks PostgreSQL for the next unacknowledged deadline: the timers are
 * rebuilt from the database, never only remembered. */
static void s_next_deadline(n_svc_t *n)
{
    antt_db_job_t *job = antt_db_job_new(s_on_next_deadline, n);
    antt_db_job_add(job,
                    "SELECT (extract(epoch FROM min(ack_deadline)) * 1000)::bigint FROM incidents"
                    " WHERE status = 'new'",
                    0, NULL, NULL, NULL);
    antt_db_submit(n->db, job);
}

/* ---- classified incidents ------------------------------------------------- */

static void s_on_classified(antt_bus_t *bus, zmq_msg_t *frames, size_t nframes, void *arg)
{
    n_svc_t *n = arg;
    (void)bus;
    if (nframes != 2) {
        antt_metric_inc(n->m_bad);
        return;
    }
    Antt__V1__ClassifiedIncident *c = antt__v1__classified_incident__unpack(
        NULL, zmq_msg_size(&frames[1]), zmq_msg_data(&frames[1]));
    if (c == NULL || c->incident_id == NULL || !antt_uuid_valid(c->incident_id)) {
        antt_metric_inc(n->m_bad);
        if (c)
            antt__v1__classified_incident__free_unpacked(c, NULL);
        return;
    }
    antt_metric_inc(n->m_classified);
    Antt__V1__IncidentUpdate u = ANTT__V1__INCIDENT_UPDATE__INIT;
    u.incident_id = c->incident_id;
    u.has_version = c->has_version;
    u.version = c->version;
    u.has_kind = 1;
    /* a duplicate joining an open incident updates it ("+1 report"), it is
     * not new work */
    u.kind = c->new_incident ? ANTT__V1__UPDATE_KIND__UPDATE_CREATED : ANTT__V1__UPDATE_KIND__UPDATE_REPORT_JOINED;
    if (c->new_incident) {
        u.has_status = 1;
        u.status = ANTT__V1__INCIDENT_STATUS__STATUS_NEW;
    }
    u.category = c->category;
    u.has_priority = c->has_priority;
    u.priority = c->priority;
    u.area_code = c->area_code;
    u.desk_code = c->desk_code;
    u.has_report_count = c->has_report_count;
    u.report_count = c->report_count;
    u.actor = "classification";
    u.has_at_ms = 1;
    u.at_ms = antt_now_ms();
    u.has_occurred_at_ms = c->has_occurred_at_ms;
    u.occurred_at_ms = c->occurred_at_ms;
    u.has_ack_deadline_ms = c->has_ack_deadline_ms;
    u.ack_deadline_ms = c->ack_deadline_ms;
    u.has_received_at_ms = c->has_received_at_ms;
    u.received_at_ms = c->received_at_ms;
    s_publish(n, &u);
    ANTT_LOG(ANTT_DEBUG, "published incident=%s kind=%s desk=%s", u.incident_id, notify_kind_name(u.kind),
             u.desk_code ? u.desk_code : "");
    if (c->has_received_at_ms && c->received_at_ms > 0)
        antt_metric_observe(n->m_feed_s, (double)(antt_now_ms() - c->received_at_ms) / 1000.0);
    if (c->new_incident && c->has_ack_deadline_ms)
        s_schedule(n, c->ack_deadline_ms);
    antt__v1__classified_incident__free_unpacked(c, NULL);
}

/* ---- triage ---------------------------------------------------------------- */

/* One command on its way through antt_triage(), from either transport. */
typedef struct n_triage {
    n_svc_t *n;                         /* the service */
    Antt__V1__TriageAction action;      /* what */
    char request_id[128];               /* echoed */
    antt_http_req_t *req;               /* HTTP: the request to answer */
    zmq_msg_t env[ANTT_BUS_MAX_FRAMES]; /* ZeroMQ: the reply envelope */
    size_t nenv;
} n_triage_t;

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

/* Answers t over its transport and frees it. */
static void s_triage_reply(n_triage_t *t, Antt__V1__TriageReply *rep)
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
        if (rep->incident) {
            char *s = notify_update_json(rep->incident);
            json_object_set_new(o, "incident", json_loads(s, 0, NULL));
            free(s);
        }
        if (rep->n_incidents || t->action == ANTT__V1__TRIAGE_ACTION__ACTION_LIST) {
            json_t *a = json_array();
            for (size_t i = 0; i < rep->n_incidents; i++) {
                char *s = notify_update_json(rep->incidents[i]);
                json_array_append_new(a, json_loads(s, 0, NULL));
                free(s);
            }
            json_object_set_new(o, "incidents", a);
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

static void s_triage_error(n_triage_t *t, Antt__V1__TriageReply__Status st, const char *msg)
{
    Antt__V1__TriageReply rep = ANTT__V1__TRIAGE_REPLY__INIT;
    rep.has_status = 1;
    rep.status = st;
    rep.error_code = (char *)s_error_codes[st];
    rep.error = (char *)msg;
    s_triage_reply(t, &rep);
}

static char *s_col(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* Fills u from a row of N_STATE_COLUMNS (strings borrowed from r). */
static void s_fill_update(Antt__V1__IncidentUpdate *u, PGresult *r, int row)
{
    u->has_kind = 1;
    u->kind = notify_kind_parse(s_col(r, row, 0));
    u->incident_id = s_col(r, row, 1);
    u->has_version = 1;
    u->version = atoll(PQgetvalue(r, row, 2));
    u->has_status = 1;
    u->status = notify_status_parse(s_col(r, row, 3));
    u->category = s_col(r, row, 4);
    u->has_priority = 1;
    u->priority = (Antt__V1__Priority)atoi(PQgetvalue(r, row, 5));
    u->area_code = s_col(r, row, 6);
    u->desk_code = s_col(r, row, 7);
    u->has_report_count = 1;
    u->report_count = (uint32_t)atoi(PQgetvalue(r, row, 8));
    u->actor = s_col(r, row, 9);
    u->note = s_col(r, row, 10);
    u->has_at_ms = !PQgetisnull(r, row, 11);
    u->at_ms = atoll(PQgetvalue(r, row, 11));
    u->has_occurred_at_ms = !PQgetisnull(r, row, 12);
    u->occurred_at_ms = atoll(PQgetvalue(r, row, 12));
    u->merged_into = s_col(r, row, 13);
    u->outcome = s_col(r, row, 14);
    u->has_ack_deadline_ms = !PQgetisnull(r, row, 15);
    u->ack_deadline_ms = atoll(PQgetvalue(r, row, 15));
    u->assignee = s_col(r, row, 16);
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

static void s_on_triage(antt_db_job_t *job, int status, void *arg)
{
    n_triage_t *t = arg;
    n_svc_t *n = t->n;
    if (status == -ECANCELED) {
        s_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__UNAVAILABLE, "service stopping");
        return;
    }
    if (status != 0) {
        const char *state = antt_db_job_sqlstate(job), *msg = antt_db_job_error(job);
        Antt__V1__TriageReply__Status st = ANTT__V1__TRIAGE_REPLY__STATUS__UNAVAILABLE;
        if (state && !strcmp(state, "AT400"))
            st = ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST;
        else if (state && !strcmp(state, "AT403"))
            st = ANTT__V1__TRIAGE_REPLY__STATUS__FORBIDDEN;
        else if (state && !strcmp(state, "AT404"))
            st = ANTT__V1__TRIAGE_REPLY__STATUS__NOT_FOUND;
        else if (state && !strcmp(state, "AT409"))
            st = ANTT__V1__TRIAGE_REPLY__STATUS__CONFLICT;
        else if (state && state[0] == '2' && state[1] == '2') /* data exceptions: bad input */
            st = ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST;
        if (st == ANTT__V1__TRIAGE_REPLY__STATUS__UNAVAILABLE)
            ANTT_LOG(ANTT_WARN, "triage failed: %s", msg ? msg : "");
        char clean[256];
        snprintf(clean, sizeof(clean), "%s", msg ? msg : "database unavailable");
        clean[strcspn(clean, "\n")] = 0;
        s_triage_error(t, st, st == ANTT__V1__TRIAGE_REPLY__STATUS__UNAVAILABLE ? "database unavailable" : clean);
        return;
    }
    PGresult *r = antt_db_job_result(job, 0);
    int rows = PQntuples(r);
    Antt__V1__IncidentUpdate *ups = antt_xcalloc((size_t)rows + 1, sizeof(*ups));
    Antt__V1__IncidentUpdate **ptrs = antt_xcalloc((size_t)rows + 1, sizeof(*ptrs));
    for (int i = 0; i < rows; i++) {
        antt__v1__incident_update__init(&ups[i]);
        s_fill_update(&ups[i], r, i);
        ptrs[i] = &ups[i];
    }
    Antt__V1__TriageReply rep = ANTT__V1__TRIAGE_REPLY__INIT;
    rep.has_status = 1;
    rep.status = ANTT__V1__TRIAGE_REPLY__STATUS__OK;
    char *contacts = NULL;
    if (t->action == ANTT__V1__TRIAGE_ACTION__ACTION_LIST) {
        rep.n_incidents = (size_t)rows;
        rep.incidents = ptrs;
    } else if (rows > 0) {
        rep.incident = ptrs[0];
        if (t->action == ANTT__V1__TRIAGE_ACTION__ACTION_UNSEAL_CONTACT)
            rep.contact_json = contacts = s_unseal(n, PQgetvalue(r, 0, 17));
        /* every change goes to the feeds and to aggregation (reading the
         * contact changes nothing but the event log) */
        if (t->action != ANTT__V1__TRIAGE_ACTION__ACTION_GET &&
            t->action != ANTT__V1__TRIAGE_ACTION__ACTION_UNSEAL_CONTACT)
            for (int i = 0; i < rows; i++)
                s_publish(n, &ups[i]);
        if (t->action == ANTT__V1__TRIAGE_ACTION__ACTION_ESCALATE ||
            t->action == ANTT__V1__TRIAGE_ACTION__ACTION_REOPEN)
            s_next_deadline(n);
    }
    s_triage_reply(t, &rep);
    if (contacts) {
        sodium_memzero(contacts, strlen(contacts));
        free(contacts);
    }
    free(ptrs);
    free(ups);
}

/* Runs one command: token, action, incident, args (a JSON object). Takes t. */
static void s_triage_run(n_triage_t *t, const char *token, const char *incident, json_t *args)
{
    n_svc_t *n = t->n;
    const char *action = notify_action_name(t->action);
    if (action == NULL) {
        s_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST, "unknown action");
        return;
    }
    if (token == NULL || !*token) {
        s_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__FORBIDDEN, "a dispatcher token is required");
        return;
    }
    if (t->action != ANTT__V1__TRIAGE_ACTION__ACTION_LIST && (incident == NULL || !antt_uuid_valid(incident))) {
        s_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST, "incident_id must be a UUID");
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
    const char *v[4] = {(const char *)hash, action, t->action == ANTT__V1__TRIAGE_ACTION__ACTION_LIST ? NULL : incident,
                        args_s};
    int lens[4] = {ANTT_HASH_BYTES, 0, 0, 0}, fmts[4] = {1, 0, 0, 0};
    antt_db_job_t *job = antt_db_job_new(s_on_triage, t);
    antt_db_job_add(job, N_STATE_COLUMNS " FROM antt_triage($1::bytea, $2, $3::uuid, $4::jsonb)", 4, v, lens,
                    fmts);
    free(args_s);
    if (antt_db_submit(n->db, job) != 0)
        s_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__UNAVAILABLE, "database unavailable");
}

static void s_on_command(antt_bus_t *bus, zmq_msg_t *frames, size_t nframes, void *arg)
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
        s_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST, "not a TriageCommand");
        return;
    }
    snprintf(t->request_id, sizeof(t->request_id), "%s", c->request_id ? c->request_id : "");
    t->action = c->has_action ? c->action : ANTT__V1__TRIAGE_ACTION__ACTION_UNSPECIFIED;
    json_t *args = json_object();
    if (c->assignee)
        json_object_set_new(args, "assignee", json_string(c->assignee));
    if (c->note)
        json_object_set_new(args, "note", json_string(c->note));
    if (c->outcome)
        json_object_set_new(args, "outcome", json_string(c->outcome));
    if (c->target_incident_id)
        json_object_set_new(args, "target", json_string(c->target_incident_id));
    if (c->report_id)
        json_object_set_new(args, "report_id", json_string(c->report_id));
    if (c->has_expected_version)
        json_object_set_new(args, "expected_version", json_integer(c->expected_version));
    /* strings from the wire must be valid UTF-8 for jansson: it refuses them
     * otherwise (json_string returns NULL and the key is not set) */
    s_triage_run(t, c->token, c->incident_id, args);
    json_decref(args);
    antt__v1__triage_command__free_unpacked(c, NULL);
}

/* ---- HTTP ------------------------------------------------------------------ */

/* The bearer token of a request, copied into out (empty when none). */
static void s_bearer(antt_http_req_t *req, char *out, size_t outlen)
{
    antt_str_t h = antt_http_header(req, "authorization");
    out[0] = 0;
    if (h.n > 7 && !strncasecmp(h.p, "Bearer ", 7) && h.n - 7 < outlen) {
        memcpy(out, h.p + 7, h.n - 7);
        out[h.n - 7] = 0;
    }
}

static void s_json_error(antt_http_req_t *req, int status, const char *code, const char *msg)
{
    char *body = antt_xasprintf("{\"error_code\":\"%s\",\"error\":\"%s\"}", code, msg);
    antt_http_respond(req, status, "application/json", body, strlen(body));
    free(body);
}

/* GET /api/v1/incidents, GET /api/v1/incidents/<id>,
 * POST /api/v1/incidents/<id>/<action> with a JSON object body. */
static void s_http_incidents(antt_http_req_t *req, void *arg)
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
        s_json_error(req, 404, "not_found", "no such resource");
        return;
    }
    char id[160] = "", act[160] = "";
    char *slash = strchr(rest, '/');
    if (slash) {
        *slash = 0;
        snprintf(act, sizeof(act), "%s", slash + 1);
    }
    snprintf(id, sizeof(id), "%s", rest);
    n_triage_t *t = antt_xcalloc(1, sizeof(*t));
    t->n = n;
    t->req = req;
    json_t *args = NULL;
    if (antt_http_is(method, "GET") && !act[0]) {
        t->action = id[0] ? ANTT__V1__TRIAGE_ACTION__ACTION_GET : ANTT__V1__TRIAGE_ACTION__ACTION_LIST;
        args = json_object();
    } else if (antt_http_is(method, "POST") && id[0] && act[0]) {
        t->action = notify_action_parse(act);
        if (t->action == ANTT__V1__TRIAGE_ACTION__ACTION_UNSPECIFIED ||
            t->action == ANTT__V1__TRIAGE_ACTION__ACTION_LIST || t->action == ANTT__V1__TRIAGE_ACTION__ACTION_GET) {
            s_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST, "unknown action");
            return;
        }
        antt_str_t body = antt_http_body(req);
        json_error_t jerr;
        args = body.n ? json_loadb(body.p, body.n, JSON_REJECT_DUPLICATES, &jerr) : json_object();
        if (args == NULL || !json_is_object(args)) {
            json_decref(args);
            s_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST, "the body must be a JSON object");
            return;
        }
        /* only known fields, of the right types */
        const char *key;
        json_t *val;
        json_object_foreach(args, key, val) {
            int ok = (!strcmp(key, "expected_version") && json_is_integer(val)) ||
                     ((!strcmp(key, "assignee") || !strcmp(key, "note") || !strcmp(key, "outcome") ||
                       !strcmp(key, "target") || !strcmp(key, "report_id")) &&
                      json_is_string(val) && strlen(json_string_value(val)) <= 2000);
            if (!ok) {
                json_decref(args);
                s_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST, "unknown field or wrong type");
                return;
            }
        }
    } else {
        s_triage_error(t, ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST, "use GET or POST .../<id>/<action>");
        return;
    }
    char token[256];
    s_bearer(req, token, sizeof(token));
    s_triage_run(t, token, id, args);
    json_decref(args);
}

typedef struct n_sse_open {
    n_svc_t *n;
    antt_http_req_t *req;
} n_sse_open_t;

static void s_sse_gone(antt_http_req_t *req, void *arg)
{
    n_svc_t *n = arg;
    for (n_sse_t *c = n->sse; c; c = c->next)
        if (c->req == req) {
            s_sse_drop(n, c);
            return;
        }
}

static void s_on_sse_token(antt_db_job_t *job, int status, void *arg)
{
    n_sse_open_t *o = arg;
    n_svc_t *n = o->n;
    PGresult *r = status == 0 ? antt_db_job_result(job, 0) : NULL;
    if (status == -ECANCELED || n->closing) {
        s_json_error(o->req, 503, "unavailable", "service stopping");
    } else if (r == NULL) {
        s_json_error(o->req, 503, "unavailable", "database unavailable");
    } else if (PQntuples(r) != 1) {
        s_json_error(o->req, 403, "forbidden", "unknown or revoked dispatcher token");
    } else {
        n_sse_t *c = antt_xcalloc(1, sizeof(*c));
        c->req = o->req;
        snprintf(c->desk, sizeof(c->desk), "%s", PQgetvalue(r, 0, 0));
        c->next = n->sse;
        n->sse = c;
        antt_metric_set(n->m_sse, antt_metric_value(n->m_sse) + 1);
        antt_http_add_header(o->req, "cache-control", "no-cache");
        antt_http_stream_start(o->req, 200, "text/event-stream", s_sse_gone, n);
        char *hello = antt_xasprintf(": desk %s\nretry: 2000\n\n", c->desk);
        antt_http_stream_write(o->req, hello, strlen(hello));
        free(hello);
    }
    free(o);
}

/* GET /api/v1/feed: the live feed of the token's desk and the desks below. */
static void s_http_feed(antt_http_req_t *req, void *arg)
{
    n_svc_t *n = arg;
    char token[256];
    s_bearer(req, token, sizeof(token));
    if (!token[0]) {
        s_json_error(req, 403, "forbidden", "a dispatcher token is required");
        return;
    }
    uint8_t hash[ANTT_HASH_BYTES];
    antt_api_key_hash(token, strlen(token), hash);
    n_sse_open_t *o = antt_xcalloc(1, sizeof(*o));
    o->n = n;
    o->req = req;
    const char *v[1] = {(const char *)hash};
    int lens[1] = {ANTT_HASH_BYTES}, fmts[1] = {1};
    antt_db_job_t *job = antt_db_job_new(s_on_sse_token, o);
    antt_db_job_add(job, "SELECT desk_code FROM dispatchers WHERE token_hash = $1 AND active", 1, v, lens, fmts);
    if (antt_db_submit(n->db, job) != 0) {
        free(o);
        s_json_error(req, 503, "unavailable", "database unavailable");
    }
}

/* ---- life cycle -------------------------------------------------------------- */

static void s_on_db_state(antt_db_t *db, int connected, void *arg)
{
    n_svc_t *n = arg;
    (void)db;
    if (connected && !n->closing) {
        s_load_desks(n);
        n->next_deadline_ms = 0;
        s_next_deadline(n);
    }
}

/* ---- catch-up ---------------------------------------------------------------- */

/* The catch-up reads incidents created more than this long ago (their
 * classified message had time to arrive) and keeps its ids this long. */
#define N_CATCHUP_LAG "5 seconds"
#define N_SEEN_KEEP_MS 120000
#define N_CATCHUP_ROWS 2000
#define N_STR_(x) #x
#define N_STR(x) N_STR_(x)

static void s_catchup(uv_timer_t *t);

static void s_on_catchup(antt_db_job_t *job, int status, void *arg)
{
    n_svc_t *n = arg;
    n->catching = 0;
    if (status == -ECANCELED || n->closing)
        return;
    if (status != 0) {
        ANTT_LOG(ANTT_WARN, "catch-up failed: %s", antt_db_job_error(job) ? antt_db_job_error(job) : "");
        return;
    }
    PGresult *r = antt_db_job_result(job, 0);
    int rows = PQntuples(r), announced = 0;
    for (int i = 0; i < rows; i++) {
        const char *id = PQgetvalue(r, i, 1);
        if (notify_seen_has(n->seen, id))
            continue;
        Antt__V1__IncidentUpdate u = ANTT__V1__INCIDENT_UPDATE__INIT;
        s_fill_update(&u, r, i);
        s_publish(n, &u);
        antt_metric_inc(n->m_caught_up);
        announced++;
    }
    if (rows > 0)
        snprintf(n->catchup_hi, sizeof(n->catchup_hi), "%s", PQgetvalue(r, rows - 1, 18));
    ANTT_LOG(ANTT_DEBUG, "catch-up rows=%d announced=%d after=%s seen=%zu", rows, announced, n->catchup_hi,
             notify_seen_count(n->seen));
    /* their deadlines were read by the s_next_deadline submitted just before
     * this query, on the same connection */
    if (announced > 0)
        ANTT_LOG(ANTT_INFO, "catch-up announced incidents=%d (their classified messages did not arrive)", announced);
    if (rows == N_CATCHUP_ROWS) /* more behind: go on at once */
        uv_timer_start(&n->catchup, s_catchup, 10, (uint64_t)n->catchup_ms);
}

/* Every catchup_ms: the incidents created since the last one read (at start,
 * in the last 10 minutes) that were not announced live are announced now,
 * in their current state, and the escalation timer is set anew from the
 * database. The classified PUB is the fast path; this is the re-drive. */
static void s_catchup(uv_timer_t *t)
{
    n_svc_t *n = t->data;
    if (n->closing || n->catching || !antt_db_connected(n->db))
        return;
    notify_seen_prune(n->seen, antt_now_ms() - N_SEEN_KEEP_MS);
    s_next_deadline(n);
    const char *v[1] = {n->catchup_hi[0] ? n->catchup_hi : NULL};
    antt_db_job_t *job = antt_db_job_new(s_on_catchup, n);
    antt_db_job_add(job,
                    N_STATE_COLUMNS ", created_at::text FROM ("
                    "SELECT (antt_incident_state(i, 'created', 'classification', NULL)).*, i.created_at"
                    " FROM incidents i"
                    " WHERE i.created_at > COALESCE($1::timestamptz, now() - interval '10 minutes')"
                    " AND i.created_at <= now() - interval '" N_CATCHUP_LAG "'"
                    " ORDER BY i.created_at LIMIT " N_STR(N_CATCHUP_ROWS) ") s ORDER BY created_at",
                    1, v, NULL, NULL);
    if (antt_db_submit(n->db, job) == 0)
        n->catching = 1;
}

static void s_upkeep(uv_timer_t *t)
{
    n_svc_t *n = t->data;
    if (antt_db_connected(n->db)) {
        s_load_desks(n);
        s_next_deadline(n);
    }
}

static int s_ready(void *arg, char *why, size_t whylen)
{
    n_svc_t *n = arg;
    if (!antt_db_connected(n->db)) {
        snprintf(why, whylen, "database not connected");
        return 0;
    }
    if (!n->loaded) {
        snprintf(why, whylen, "desks not loaded");
        return 0;
    }
    return 1;
}

static void s_on_stop(antt_service_t *svc, void *arg)
{
    n_svc_t *n = arg;
    (void)svc;
    n->closing = 1;
    uv_close((uv_handle_t *)&n->escalate, NULL);
    uv_close((uv_handle_t *)&n->upkeep, NULL);
    uv_close((uv_handle_t *)&n->catchup, NULL);
    while (n->sse) {
        n_sse_t *c = n->sse;
        n->sse = c->next;
        antt_http_stream_end(c->req);
        free(c);
    }
    antt_bus_close(n->sub, NULL, NULL);
    antt_bus_close(n->router, NULL, NULL);
    notify_webhook_close(n->wh);
    n->wh = NULL;
    antt_db_close(n->db, NULL, NULL);
    antt_bus_close(n->pub, NULL, NULL);
}

int notify_main(int argc, char **argv)
{
    antt_service_t svc;
    n_svc_t n;
    memset(&n, 0, sizeof(n));
    if (antt_service_init(&svc, "notification", argc, argv) != 0)
        return 1;
    n.svc = &svc;
    antt_config_t *cfg = svc.cfg;
    antt_config_ack_seconds(cfg, n.ack_s, sizeof(n.ack_s));
    const char *pk = antt_config_get(cfg, "keys.dispatch_public", NULL);
    const char *sk = antt_config_get(cfg, "keys.dispatch_secret", NULL);
    n.have_keys = pk && sk && antt_key_decode(pk, n.pk) == 0 && antt_key_decode(sk, n.sk) == 0;
    if (!n.have_keys)
        ANTT_LOG(ANTT_WARN, "keys.dispatch_public/secret not set: reporter contact cannot be unsealed");

    n.m_classified = antt_metrics_counter("antt_notify_classified_total", "Classified incidents received", NULL);
    n.m_published = antt_metrics_counter("antt_notify_updates_total", "Incident updates published", NULL);
    n.m_escalated = antt_metrics_counter("antt_notify_escalations_total", "Deadline escalations", NULL);
    n.m_triage_ok = antt_metrics_counter("antt_notify_triage_total", "Triage commands", "result=\"ok\"");
    n.m_triage_err = antt_metrics_counter("antt_notify_triage_total", "Triage commands", "result=\"refused\"");
    n.m_bad = antt_metrics_counter("antt_notify_malformed_total", "Malformed messages dropped", NULL);
    n.m_sse = antt_metrics_gauge("antt_notify_sse_clients", "Open Server-Sent Events streams", NULL);
    n.m_feed_s = antt_metrics_histogram("antt_notify_feed_latency_seconds",
                                        "From intake receiving a report to its desk feed message",
                                        NULL, antt_latency_buckets, antt_latency_nbuckets);

    n.db = antt_db_new(&svc.loop, svc.conninfo, "notify");
    antt_db_set_state_cb(n.db, s_on_db_state, &n);
    antt_db_start(n.db);
    long group_at, max_attempts;
    double backoff;
    antt_config_get_long(cfg, "notification.webhook_group_at", 20, &group_at);
    antt_config_get_long(cfg, "notification.webhook_max_attempts", 15, &max_attempts);
    antt_config_get_double(cfg, "notification.webhook_backoff_max_s", 3600, &backoff);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    n.wh = notify_webhook_new(&svc.loop, n.db, (int)group_at, (int)max_attempts, backoff);
    n.pub = antt_bus_new(&svc.loop, svc.zctx, ZMQ_PUB, 0, NULL, NULL);
    n.sub = antt_bus_new(&svc.loop, svc.zctx, ZMQ_SUB, 0, s_on_classified, &n);
    n.router = antt_bus_new(&svc.loop, svc.zctx, ZMQ_ROUTER, 1000, s_on_command, &n);
    zmq_setsockopt(antt_bus_socket(n.sub), ZMQ_SUBSCRIBE, N_CLASSIFIED, strlen(N_CLASSIFIED));
    if (antt_service_bind(&svc, n.pub, "notification.feed_endpoint", "tcp://127.0.0.1:5580", ANTT_CURVE_CLIENTS) != 0 ||
        antt_service_bind(&svc, n.router, "notification.triage_endpoint", "tcp://127.0.0.1:5581", ANTT_CURVE_CLIENTS) != 0 ||
        antt_service_bind(&svc, n.sub, "notification.classified_endpoint", "tcp://127.0.0.1:5560", ANTT_CURVE_SERVICES) != 0)
        return 1;
    antt_http_route(svc.http, "/api/v1/incidents", s_http_incidents, &n);
    antt_http_route(svc.http, "/api/v1/feed", s_http_feed, &n);
    uv_timer_init(&svc.loop, &n.escalate);
    n.escalate.data = &n;
    uv_timer_init(&svc.loop, &n.upkeep);
    n.upkeep.data = &n;
    uv_timer_start(&n.upkeep, s_upkeep, 60000, 60000);
    antt_config_get_long(svc.cfg, "notification.catchup_interval_ms", 2000, &n.catchup_ms);
    n.seen = notify_seen_new();
    n.m_caught_up = antt_metrics_counter("antt_notify_caught_up_total",
                                         "Incidents announced by the catch-up from PostgreSQL"
                                         " (their classified message did not arrive)", NULL);
    uv_timer_init(&svc.loop, &n.catchup);
    n.catchup.data = &n;
    if (n.catchup_ms > 0)
        uv_timer_start(&n.catchup, s_catchup, (uint64_t)n.catchup_ms, (uint64_t)n.catchup_ms);
    antt_http_set_ready_cb(svc.http, s_ready, &n);
    antt_service_on_stop(&svc, s_on_stop, &n);
    int rc = antt_service_run(&svc);
    notify_seen_destroy(&n.seen);
    s_desks_free(&n);
    sodium_memzero(n.sk, sizeof(n.sk));
    curl_global_cleanup();
    return rc;
}
