/* at_desk: see at_desk.h. */
#include "at_desk.h"
#include "at_post.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <zmq.h>

int at_desk_open(at_desk_t *d, at_stack_t *st, PGconn *db, const char *api_key, const char *const *topics,
                 const char *warm_area, const char *warm_desk)
{
    memset(d, 0, sizeof(*d));
    d->st = st;
    d->db = db;
    d->api_key = api_key;
    d->zctx = zmq_ctx_new();
    int linger = 0;
    d->sub = zmq_socket(d->zctx, ZMQ_SUB);
    zmq_setsockopt(d->sub, ZMQ_LINGER, &linger, sizeof(linger));
    for (const char *const *t = topics; t && *t; t++)
        zmq_setsockopt(d->sub, ZMQ_SUBSCRIBE, *t, strlen(*t));
    at_stack_curve_as(st, d->sub, AT_NOTIFICATION, AT_AGGREGATION);
    d->dealer = zmq_socket(d->zctx, ZMQ_DEALER);
    zmq_setsockopt(d->dealer, ZMQ_LINGER, &linger, sizeof(linger));
    at_stack_curve_client(st, d->dealer, AT_NOTIFICATION, NULL, NULL);
    if (zmq_connect(d->sub, st->feed_ep) != 0 || zmq_connect(d->dealer, st->triage_ep) != 0)
        return -1;
    char topic[160], fields[160];
    snprintf(topic, sizeof(topic), "desk.%s.", warm_desk);
    snprintf(fields, sizeof(fields), "description=warm-up%%20trom%%20cap&area_code=%s", warm_area);
    uint64_t deadline = antt_mono_ns() + 30000000000ull;
    for (;;) {
        free(at_desk_submit(d, fields));
        Antt__V1__IncidentUpdate *u = at_desk_expect(d, topic, NULL, ANTT__V1__UPDATE_KIND__UPDATE_CREATED, 500);
        if (u) {
            antt__v1__incident_update__free_unpacked(u, NULL);
            break;
        }
        if (antt_mono_ns() > deadline)
            return -1;
    }
    /* leave the warm-up's duplicates behind */
    for (Antt__V1__IncidentUpdate *u; (u = at_desk_feed(d, 300, topic, sizeof(topic)));)
        antt__v1__incident_update__free_unpacked(u, NULL);
    return 0;
}

void at_desk_close(at_desk_t *d)
{
    zmq_close(d->sub);
    zmq_close(d->dealer);
    zmq_ctx_term(d->zctx);
}

char *at_desk_submit(at_desk_t *d, const char *fields)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/open311/v2/requests.json", d->st->port[AT_INTAKE]);
    char *body = antt_xasprintf("api_key=%s&%s", d->api_key, fields);
    /* free text as residents write it: the JSON body, which keeps it */
    char *id = at_submit_report(url, body);
    free(body);
    return id;
}

typedef struct at_link {
    at_desk_t *d;
    const char *report;
    char *incident;
} at_link_t;

static int s_linked(void *arg)
{
    at_link_t *l = arg;
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT incident_id FROM incident_reports WHERE report_id = '%s'", l->report);
    PGresult *r = PQexec(l->d->db, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        l->incident = antt_xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return l->incident != NULL;
}

char *at_desk_incident(at_desk_t *d, const char *fields, char **report_out)
{
    char *rid = at_desk_submit(d, fields);
    assert_non_null(rid);
    at_link_t l = {d, rid, NULL};
    assert_true(at_wait_until(s_linked, &l, 15000));
    if (report_out)
        *report_out = rid;
    else
        free(rid);
    return l.incident;
}

Antt__V1__TriageReply *at_desk_triage(at_desk_t *d, const char *token, Antt__V1__TriageCommand *c)
{
    char rid[32];
    snprintf(rid, sizeof(rid), "t-%d", ++d->seq);
    c->token = (char *)token;
    c->request_id = rid;
    size_t len = antt__v1__triage_command__get_packed_size(c);
    uint8_t *buf = antt_xmalloc(len + 1);
    antt__v1__triage_command__pack(c, buf);
    zmq_send(d->dealer, buf, len, 0);
    free(buf);
    uint64_t deadline = antt_mono_ns() + 10000000000ull;
    while (antt_mono_ns() < deadline) {
        zmq_pollitem_t pi = {d->dealer, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&pi, 1, 1000) <= 0)
            continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, d->dealer, 0);
        Antt__V1__TriageReply *r = antt__v1__triage_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        zmq_msg_close(&m);
        if (r && r->request_id && !strcmp(r->request_id, rid))
            return r;
        if (r)
            antt__v1__triage_reply__free_unpacked(r, NULL);
    }
    return NULL;
}

int at_desk_status(at_desk_t *d, const char *token, Antt__V1__TriageAction action, const char *incident)
{
    Antt__V1__TriageCommand c = ANTT__V1__TRIAGE_COMMAND__INIT;
    c.has_action = 1;
    c.action = action;
    c.incident_id = (char *)incident;
    Antt__V1__TriageReply *r = at_desk_triage(d, token, &c);
    assert_non_null(r);
    int st = (int)r->status;
    antt__v1__triage_reply__free_unpacked(r, NULL);
    return st;
}

Antt__V1__IncidentUpdate *at_desk_feed(at_desk_t *d, int ms, char *topic, size_t tlen)
{
    return at_desk_feed_on(d->sub, ms, topic, tlen);
}

Antt__V1__IncidentUpdate *at_desk_feed_on(void *sub, int ms, char *topic, size_t tlen)
{
    zmq_pollitem_t pi = {sub, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&pi, 1, ms) <= 0)
        return NULL;
    zmq_msg_t t, b;
    zmq_msg_init(&t);
    zmq_msg_init(&b);
    zmq_msg_recv(&t, sub, 0);
    zmq_msg_recv(&b, sub, 0);
    snprintf(topic, tlen, "%.*s", (int)zmq_msg_size(&t), (const char *)zmq_msg_data(&t));
    Antt__V1__IncidentUpdate *u = antt__v1__incident_update__unpack(NULL, zmq_msg_size(&b), zmq_msg_data(&b));
    zmq_msg_close(&t);
    zmq_msg_close(&b);
    return u;
}

Antt__V1__IncidentUpdate *at_desk_expect(at_desk_t *d, const char *want_topic, const char *incident,
                                         Antt__V1__UpdateKind kind, int ms)
{
    return at_desk_expect_on(d->sub, want_topic, incident, kind, ms);
}

Antt__V1__IncidentUpdate *at_desk_expect_on(void *sub, const char *want_topic, const char *incident,
                                            Antt__V1__UpdateKind kind, int ms)
{
    uint64_t deadline = antt_mono_ns() + (uint64_t)ms * 1000000;
    char topic[160];
    while (antt_mono_ns() < deadline) {
        Antt__V1__IncidentUpdate *u = at_desk_feed_on(sub, 100, topic, sizeof(topic));
        if (u == NULL)
            continue;
        if (!strcmp(topic, want_topic) && u->kind == kind && (incident == NULL || !strcmp(u->incident_id, incident)))
            return u;
        antt__v1__incident_update__free_unpacked(u, NULL);
    }
    return NULL;
}

int at_desk_http(at_desk_t *d, const char *token, const char *method, const char *path, const char *body,
                 json_t **out)
{
    return at_desk_http_at(d->st->port[AT_NOTIFICATION], token, method, path, body, out);
}

int at_desk_http_at(int port, const char *token, const char *method, const char *path, const char *body,
                    json_t **out)
{
    char url[256], auth[160];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    char *resp = NULL;
    int st = at_http(method, url, h, body, body ? strlen(body) : 0, &resp);
    if (out)
        *out = resp ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    return st;
}

long at_desk_count(at_desk_t *d, const char *fmt, const char *a)
{
    char sql[1024];
    snprintf(sql, sizeof(sql), fmt, a);
    return at_db_long(d->db, sql);
}

/* ---- SSE ---- */

static int s_sse_done(at_sse_t *c)
{
    pthread_mutex_lock(&c->mu);
    int done = c->want[0] && c->got.data && strstr(c->got.data, c->want);
    pthread_mutex_unlock(&c->mu);
    return done;
}

static size_t s_sse_write(char *p, size_t size, size_t n, void *arg)
{
    at_sse_t *c = arg;
    pthread_mutex_lock(&c->mu);
    antt_buf_append(&c->got, p, size * n);
    c->started = 1;
    pthread_mutex_unlock(&c->mu);
    return s_sse_done(c) ? 0 : size * n; /* 0: enough, stop */
}

/* also called while nothing arrives: the text may have come before the
 * test said what it waits for */
static int s_sse_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t x, curl_off_t y)
{
    (void)a, (void)b, (void)x, (void)y;
    return s_sse_done(arg);
}

static void *s_sse_run(void *arg)
{
    at_sse_t *c = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *hs = curl_slist_append(NULL, c->auth);
    char lei[96];
    if (c->last_event_id[0]) {
        snprintf(lei, sizeof(lei), "Last-Event-ID: %s", c->last_event_id);
        hs = curl_slist_append(hs, lei);
    }
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_sse_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, s_sse_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(h);
    return NULL;
}

void at_sse_start(at_sse_t *c, int port, const char *token, const char *last_event_id, const char *query,
                  long timeout_ms)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->url, sizeof(c->url), "http://127.0.0.1:%d/api/v1/feed%s%s", port, query ? "?" : "",
             query ? query : "");
    snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %s", token);
    if (last_event_id)
        snprintf(c->last_event_id, sizeof(c->last_event_id), "%s", last_event_id);
    c->timeout_ms = timeout_ms;
    pthread_mutex_init(&c->mu, NULL);
    antt_buf_init(&c->got);
    pthread_create(&c->th, NULL, s_sse_run, c);
}

void at_sse_want(at_sse_t *c, const char *want)
{
    pthread_mutex_lock(&c->mu);
    snprintf(c->want, sizeof(c->want), "%s", want);
    pthread_mutex_unlock(&c->mu);
}

int at_sse_has(at_sse_t *c, const char *text)
{
    pthread_mutex_lock(&c->mu);
    int has = c->got.data && strstr(c->got.data, text);
    pthread_mutex_unlock(&c->mu);
    return has;
}

static int s_started(void *arg)
{
    at_sse_t *c = arg;
    pthread_mutex_lock(&c->mu);
    int k = c->started;
    pthread_mutex_unlock(&c->mu);
    return k;
}

int at_sse_wait_started(at_sse_t *c, int ms)
{
    return at_wait_until(s_started, c, ms);
}

void at_sse_join(at_sse_t *c)
{
    pthread_join(c->th, NULL);
}

void at_sse_cleanup(at_sse_t *c)
{
    antt_buf_cleanup(&c->got);
    pthread_mutex_destroy(&c->mu);
}
