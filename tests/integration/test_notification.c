/* Integration tests of notification: real intake, a real classification
 * worker and real antt-notification against a real PostgreSQL (with the demo
 * areas). Reports go in over Open311; the desk feeds are read from
 * notification's PUB and SSE; triage runs over its ROUTER and over HTTP. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "antt/v1/incident.pb-c.h"
#include "antt/v1/triage.pb-c.h"
#include "antt_util.h"
#include "notification_env.h"

/* A report comes out on its ward's feed and on the district's, with its
 * category, priority and deadline; a duplicate comes out as "+1 report". */
static void test_feed(void **state)
{
    (void)state;
    char *rid = NULL;
    char *inc = ne_incident("description=bi%20trom%20xe%20may%20trong%20hem" NE_AT, &rid);
    Antt__V1__IncidentUpdate *u = ne_expect_feed("desk." NE_WARD ".", inc, ANTT__V1__UPDATE_KIND__UPDATE_CREATED, 10000);
    assert_non_null(u);
    assert_string_equal(u->category, "theft");
    assert_string_equal(u->desk_code, NE_WARD);
    assert_int_equal(u->status, ANTT__V1__INCIDENT_STATUS__STATUS_NEW);
    assert_true(u->has_ack_deadline_ms && u->ack_deadline_ms > antt_now_ms());
    antt__v1__incident_update__free_unpacked(u, NULL);
    u = ne_expect_feed("desk." NE_DISTRICT ".", inc, ANTT__V1__UPDATE_KIND__UPDATE_CREATED, 5000);
    assert_non_null(u);
    antt__v1__incident_update__free_unpacked(u, NULL);
    char *rid2 = ne_submit("description=trom%20xe%20may%20o%20hem%20nay" NE_AT);
    assert_non_null(rid2);
    u = ne_expect_feed("desk." NE_WARD ".", inc, ANTT__V1__UPDATE_KIND__UPDATE_REPORT_JOINED, 10000);
    assert_non_null(u);
    assert_int_equal(u->report_count, 2);
    antt__v1__incident_update__free_unpacked(u, NULL);
    free(inc);
    free(rid);
    free(rid2);
}

/* Every command over ZeroMQ, every refused transition, and no access from
 * another ward. */
static void test_triage_zmq(void **state)
{
    (void)state;
    char *inc = ne_incident("description=co%20nguoi%20danh%20nhau%20truoc%20quan&lat=10.7801&long=106.6251", NULL);
    typedef Antt__V1__TriageReply__Status st_t;
    const st_t OK = ANTT__V1__TRIAGE_REPLY__STATUS__OK, CONFLICT = ANTT__V1__TRIAGE_REPLY__STATUS__CONFLICT,
               BAD = ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST, NF = ANTT__V1__TRIAGE_REPLY__STATUS__NOT_FOUND,
               FORB = ANTT__V1__TRIAGE_REPLY__STATUS__FORBIDDEN;
    /* another ward's dispatcher sees nothing, a wrong token is refused */
    ne_expect_status("tok-other", ANTT__V1__TRIAGE_ACTION__ACTION_ACKNOWLEDGE, inc, NULL, NF);
    ne_expect_status("tok-other", ANTT__V1__TRIAGE_ACTION__ACTION_GET, inc, NULL, NF);
    ne_expect_status("nope", ANTT__V1__TRIAGE_ACTION__ACTION_GET, inc, NULL, FORB);
    ne_expect_status("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_GET, "not-a-uuid", NULL, BAD);
    ne_expect_status("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_UNSPECIFIED, inc, NULL, BAD);
    /* invalid transitions before and after */
    ne_expect_status("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_REOPEN, inc, NULL, CONFLICT);
    ne_expect_status("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_ASSIGN, inc, NULL, BAD); /* no assignee */
    ne_expect_status("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_NOTE, inc, NULL, BAD);   /* no text */
    ne_expect_status("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_ACKNOWLEDGE, inc, NULL, OK);
    Antt__V1__IncidentUpdate *u = ne_expect_feed("desk." NE_WARD ".", inc, ANTT__V1__UPDATE_KIND__UPDATE_ACKNOWLEDGED,
                                                5000);
    assert_non_null(u);
    assert_int_equal(u->status, ANTT__V1__INCIDENT_STATUS__STATUS_ACKNOWLEDGED);
    assert_null(u->actor); /* the PUB's copy names no dispatcher: the event log below does */
    antt__v1__incident_update__free_unpacked(u, NULL);
    ne_expect_status("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_ACKNOWLEDGE, inc, NULL, CONFLICT);
    ne_expect_status("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_ASSIGN, inc, "to-cong-an-1", OK);
    ne_expect_status("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_NOTE, inc, "da cu to di", OK);
    ne_expect_status("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_REJECT, inc, "maybe", BAD);
    ne_expect_status("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_RESOLVE, inc, NULL, BAD); /* no outcome */
    ne_expect_status("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_RESOLVE, inc, "handled", OK);
    ne_expect_status("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_ASSIGN, inc, "x", CONFLICT);
    ne_expect_status("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_REOPEN, inc, NULL, OK);
    ne_expect_status("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_REJECT, inc, "unfounded", OK);
    /* the district above sees it too */
    ne_expect_status("tok-district", ANTT__V1__TRIAGE_ACTION__ACTION_NOTE, inc, "district looked", OK);
    /* every change is an event with its actor, in order */
    assert_int_equal(ne_count("SELECT count(*) FROM incident_events WHERE incident_id = '%s' AND actor LIKE "
                             "'dispatcher:%%'",
                             inc),
                     7);
    assert_int_equal(ne_count("SELECT version FROM incidents WHERE id = '%s'", inc), 8);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT status || '/' || outcome FROM incidents WHERE id = '%s'", inc);
    PGresult *r = PQexec(NE.db, sql);
    assert_string_equal(PQgetvalue(r, 0, 0), "rejected/unfounded");
    PQclear(r);
    /* the list holds open incidents of the desk only */
    Antt__V1__TriageReply *l = ne_triage("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_LIST, NULL, NULL);
    assert_non_null(l);
    assert_int_equal(l->status, OK);
    for (size_t i = 0; i < l->n_incidents; i++) {
        assert_string_equal(l->incidents[i]->desk_code, NE_WARD);
        assert_string_not_equal(l->incidents[i]->incident_id, inc);
    }
    antt__v1__triage_reply__free_unpacked(l, NULL);
    free(inc);
}

/* HTTP JSON: merge, split, escalate, the contact unsealed only for a
 * dispatcher and logged without the contact, bad bodies refused. */
static void test_triage_http(void **state)
{
    (void)state;
    char *r1 = NULL, *r2 = NULL;
    char *a = ne_incident("description=dang%20chay%20nha%20kho%20khoi%20rat%20lon&lat=10.7700&long=106.6200&phone=0912000111"
                         "&first_name=Lan",
                         &r1);
    char *path = antt_xasprintf("/api/v1/incidents/%s", a);
    json_t *j = NULL;
    assert_int_equal(ne_http_triage("tok-other", "GET", path, NULL, &j), 404);
    json_decref(j);
    assert_int_equal(ne_http_triage("tok-ward", "GET", path, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "incident"), "category")), "fire");
    json_decref(j);
    free(path);

    /* contact: only with a dispatcher token of the desk, and logged */
    path = antt_xasprintf("/api/v1/incidents/%s/unseal_contact", a);
    assert_int_equal(ne_http_triage("tok-other", "POST", path, "{}", NULL), 404);
    assert_int_equal(ne_http_triage("", "POST", path, "{}", NULL), 403);
    assert_int_equal(ne_http_triage("tok-ward", "POST", path, "{}", &j), 200);
    char *dump = json_dumps(json_object_get(j, "contacts"), JSON_COMPACT);
    assert_non_null(strstr(dump, "0912000111"));
    free(dump);
    json_decref(j);
    free(path);
    assert_int_equal(ne_count("SELECT count(*) FROM incident_events WHERE incident_id = '%s' AND kind = "
                             "'contact_unsealed' AND data::text NOT LIKE '%%0912000111%%'",
                             a),
                     1);

    /* bad bodies change nothing */
    path = antt_xasprintf("/api/v1/incidents/%s/assign", a);
    assert_int_equal(ne_http_triage("tok-ward", "POST", path, "{not json", NULL), 400);
    assert_int_equal(ne_http_triage("tok-ward", "POST", path, "{\"assignee\": 5}", NULL), 400);
    assert_int_equal(ne_http_triage("tok-ward", "POST", path, "{\"who\": \"x\"}", NULL), 400);
    assert_int_equal(ne_http_triage("tok-ward", "POST", path, "[1]", NULL), 400);
    assert_int_equal(ne_count("SELECT version FROM incidents WHERE id = '%s'", a), 1);
    free(path);
    path = antt_xasprintf("/api/v1/incidents/%s/fly", a);
    assert_int_equal(ne_http_triage("tok-ward", "POST", path, "{}", NULL), 400);
    free(path);

    /* merge b into a: a gathers b's reports, b is merged */
    char *b = ne_incident("description=chay%20nha%20kho%20nho%2C%20da%20dap%20tat&lat=10.7760&long=106.6200", &r2);
    assert_string_not_equal(a, b);
    path = antt_xasprintf("/api/v1/incidents/%s/merge", b);
    char *body = antt_xasprintf("{\"target\": \"%s\", \"expected_version\": 99}", a);
    assert_int_equal(ne_http_triage("tok-ward", "POST", path, body, NULL), 409); /* stale version */
    free(body);
    body = antt_xasprintf("{\"target\": \"%s\"}", b);
    assert_int_equal(ne_http_triage("tok-ward", "POST", path, body, NULL), 409); /* into itself */
    free(body);
    body = antt_xasprintf("{\"target\": \"%s\"}", a);
    assert_int_equal(ne_http_triage("tok-ward", "POST", path, body, &j), 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "incident"), "status")), "merged");
    json_decref(j);
    free(body);
    free(path);
    assert_int_equal(ne_count("SELECT report_count FROM incidents WHERE id = '%s'", a), 2);
    assert_int_equal(ne_count("SELECT count(*) FROM incident_reports WHERE incident_id = '%s'", a), 2);

    /* split r2 back out: a new incident of one report */
    path = antt_xasprintf("/api/v1/incidents/%s/split", a);
    body = antt_xasprintf("{\"report_id\": \"%s\"}", r2);
    assert_int_equal(ne_http_triage("tok-ward", "POST", path, body, NULL), 200);
    free(body);
    free(path);
    assert_int_equal(ne_count("SELECT report_count FROM incidents WHERE id = '%s'", a), 1);
    char *c = ne_incident_of(r2);
    assert_non_null(c);
    assert_string_not_equal(c, a);
    assert_string_not_equal(c, b);
    path = antt_xasprintf("/api/v1/incidents/%s/split", a);
    body = antt_xasprintf("{\"report_id\": \"%s\"}", r1);
    assert_int_equal(ne_http_triage("tok-ward", "POST", path, body, NULL), 409); /* one report left */
    free(body);
    free(path);

    /* escalate by hand: the district is told; the incident stays on the
     * ward's desk and in the ward's view */
    path = antt_xasprintf("/api/v1/incidents/%s/escalate", c);
    assert_int_equal(ne_http_triage("tok-ward", "POST", path, "{\"note\": \"can ho tro\"}", &j), 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "incident"), "desk_code")), NE_WARD);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "incident"), "escalated_to")),
                        NE_DISTRICT);
    assert_true(json_is_true(json_object_get(json_object_get(j, "incident"), "escalated")));
    json_decref(j);
    free(path);
    path = antt_xasprintf("/api/v1/incidents/%s", c);
    assert_int_equal(ne_http_triage("tok-ward", "GET", path, NULL, NULL), 200);
    assert_int_equal(ne_http_triage("tok-district", "GET", path, NULL, NULL), 200);
    assert_int_equal(ne_http_triage("tok-other", "GET", path, NULL, NULL), 404);
    free(path);
    assert_int_equal(ne_count("SELECT count(*) FROM incidents WHERE id = '%s' AND desk_code = '" NE_WARD
                             "' AND escalated_to = '" NE_DISTRICT "'",
                             c),
                     1);
    /* again: the city is told (above the desk told last); then there is no
     * desk above */
    path = antt_xasprintf("/api/v1/incidents/%s/escalate", c);
    assert_int_equal(ne_http_triage("tok-ward", "POST", path, "{}", NULL), 200);
    assert_int_equal(ne_http_triage("tok-ward", "POST", path, "{}", NULL), 409);
    free(path);
    assert_int_equal(ne_count("SELECT count(*) FROM incidents WHERE id = '%s' AND desk_code = '" NE_WARD
                             "' AND escalated_to = 'DESK-HCM'",
                             c),
                     1);
    free(a);
    free(b);
    free(c);
    free(r1);
    free(r2);
}

static const char *s_esc_incident;
static int s_escalated(void *arg)
{
    (void)arg;
    return ne_count("SELECT count(*) FROM incident_events WHERE incident_id = '%s' AND kind = 'escalated'",
                   s_esc_incident) > 0;
}

/* An unacknowledged P1 tells the district at its deadline (3 s here) and
 * stays on the ward's desk, also when notification was killed and
 * restarted in between. */
static void test_escalation(void **state)
{
    (void)state;
    char *inc = ne_incident("description=cuu%20voi%20co%20nguoi%20cam%20dao%20dam%20nguoi%20dang%20chay%20mau" NE_AT,
                           NULL);
    assert_int_equal(ne_count("SELECT priority FROM incidents WHERE id = '%s'", inc), 1);
    s_esc_incident = inc;
    assert_true(at_wait_until(s_escalated, NULL, 10000));
    /* on time: not before the deadline, and within a second of it */
    assert_int_equal(ne_count("SELECT count(*) FROM incident_events e JOIN incidents i ON i.id = e.incident_id"
                             " WHERE e.incident_id = '%s' AND e.kind = 'escalated'"
                             " AND e.at >= i.created_at + interval '3 s' AND e.at < i.created_at + interval '4.5 s'",
                             inc),
                     1);
    /* the ward keeps it, marked overdue (its copy comes first), and the
     * district is told */
    Antt__V1__IncidentUpdate *u = ne_expect_feed("desk." NE_WARD ".", inc, ANTT__V1__UPDATE_KIND__UPDATE_ESCALATED,
                                                5000);
    assert_non_null(u);
    assert_true(u->overdue);
    assert_string_equal(u->escalated_to, NE_DISTRICT);
    antt__v1__incident_update__free_unpacked(u, NULL);
    u = ne_expect_feed("desk." NE_DISTRICT ".", inc, ANTT__V1__UPDATE_KIND__UPDATE_ESCALATED, 5000);
    assert_non_null(u);
    assert_string_equal(u->desk_code, NE_WARD);
    assert_string_equal(u->escalated_to, NE_DISTRICT);
    assert_true(u->escalated && u->overdue);
    antt__v1__incident_update__free_unpacked(u, NULL);
    free(inc);

    /* a deadline pending while notification is down is kept */
    inc = ne_incident("description=cuu%20voi%20chay%20nha%20co%20nguoi%20ket%20ben%20trong&lat=10.7805&long=106.6245",
                     NULL);
    assert_int_equal(at_stop(&NE.notify, SIGKILL, 5000), 0);
    assert_int_equal(ne_start_notify(), 0);
    s_esc_incident = inc;
    assert_true(at_wait_until(s_escalated, NULL, 10000));
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT desk_code || ' ' || escalated_to FROM incidents WHERE id = '%s'", inc);
    PGresult *r = PQexec(NE.db, sql);
    assert_string_equal(PQgetvalue(r, 0, 0), NE_WARD " " NE_DISTRICT);
    PQclear(r);
    free(inc);
}

static int s_live_deliveries_recorded(void *arg)
{
    (void)arg;
    return ne_count("SELECT count(*) FROM webhook_deliveries d JOIN webhook_destinations w"
                   " ON w.id = d.destination_id WHERE w.code <> %s AND d.state = 'pending'",
                   "'dead'") == 0;
}

/* Webhooks: signed; delivered once per id after the receiver was down and
 * notification was killed meanwhile; a dead destination holds nothing else
 * back; a reporter's gateway hears of the status. */
static void test_webhooks(void **state)
{
    (void)state;
    char *rid = NULL;
    char *inc = ne_incident("description=bi%20trom%20dien%20thoai%20tai%20cho&lat=10.7650&long=106.6150"
                           "&phone=0912000222",
                           &rid);
    int one = 1;
    ne_hook_needle = inc;
    assert_true(at_wait_until(ne_hook_has, &one, 10000));
    pthread_mutex_lock(&ne_hook.mu);
    for (int i = 0; i < ne_hook.n; i++)
        if (strstr(ne_hook.msgs[i].body, inc)) {
            assert_true(ne_signature_ok(&ne_hook.msgs[i]));
            assert_non_null(strstr(ne_hook.msgs[i].body, "incident.created"));
        }
    pthread_mutex_unlock(&ne_hook.mu);

    /* the reporter's gateway is told when a dispatcher takes it */
    Antt__V1__TriageReply *r = ne_triage("tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_ACKNOWLEDGE, inc, NULL);
    assert_non_null(r);
    antt__v1__triage_reply__free_unpacked(r, NULL);
    ne_hook_needle = "request.status";
    assert_true(at_wait_until(ne_hook_has, &one, 10000));
    assert_int_equal(ne_hook_count(rid), 1); /* the status names the report, not the incident */
    assert_true(ne_hook_count("a dispatcher has taken it") >= 1);
    assert_int_equal(ne_hook_count("0912000222"), 0); /* never the contact */

    /* receiver down, notification killed and restarted, receiver up; first
     * every delivery so far is recorded (a message delivered but not yet
     * recorded when notification is killed is sent again, by design: at
     * least once, under the same webhook-id) */
    assert_true(at_wait_until(s_live_deliveries_recorded, NULL, 10000));
    at_hook_down(&ne_hook);
    char *ids[3];
    for (int i = 0; i < 3; i++) {
        char f[160];
        snprintf(f, sizeof(f), "description=co%%20nguoi%%20dua%%20xe%%20lang%%20lach%%20so%%20%d&lat=10.76%d5&long=106.62%d",
                 i, i + 1, 3 * i);
        ids[i] = ne_incident(f, NULL);
    }
    assert_int_equal(at_stop(&NE.notify, SIGKILL, 5000), 0);
    assert_int_equal(ne_start_notify(), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ne_count("SELECT count(*) FROM webhook_deliveries d JOIN webhook_destinations w"
                                 " ON w.id = d.destination_id WHERE w.code = 'ward' AND d.state = 'pending'"
                                 " AND d.payload->'data'->>'incident_id' = '%s'",
                                 ids[i]),
                         1);
    at_hook_up(&ne_hook);
    for (int i = 0; i < 3; i++) {
        ne_hook_needle = ids[i];
        assert_true(at_wait_until(ne_hook_has, &one, 15000));
    }
    /* a webhook-id always names the same message (a grouped request counts
     * as its group). Delivery is at least once: a message may come twice
     * (notification was killed above; a receiver deduplicates by id), and
     * each repeat is reported; more than one repeat in this test is a fault */
    pthread_mutex_lock(&ne_hook.mu);
    int repeats = 0;
    for (int i = 0; i < ne_hook.n; i++)
        for (int j = i + 1; j < ne_hook.n; j++)
            if (!strcmp(ne_hook.msgs[i].id, ne_hook.msgs[j].id)) {
                int same = !strcmp(ne_hook.msgs[i].body, ne_hook.msgs[j].body);
                char id[96];
                snprintf(id, sizeof(id), "%s", ne_hook.msgs[i].id);
                printf("webhook-id %s arrived again (%s body)\n", id, same ? "same" : "another");
                if (!same || ++repeats > 1) {
                    pthread_mutex_unlock(&ne_hook.mu); /* the teardown needs it */
                    fail_msg("webhook-id %s: %s", id, same ? "repeated more than once" : "two different messages");
                }
            }
    pthread_mutex_unlock(&ne_hook.mu);
    /* the dead destination still holds its messages, retried, and held
     * nothing else back */
    assert_true(ne_count("SELECT count(*) FROM webhook_deliveries d JOIN webhook_destinations w"
                        " ON w.id = d.destination_id WHERE w.code = %s AND d.state = 'pending'",
                        "'dead'") >= 5);
    assert_true(ne_count("SELECT count(*) FROM webhook_deliveries d JOIN webhook_destinations w"
                        " ON w.id = d.destination_id WHERE w.code = %s AND d.attempts > 0 AND d.last_error <> ''",
                        "'dead'") >= 1);
    for (int i = 0; i < 3; i++)
        free(ids[i]);
    free(inc);
    free(rid);
}

/* ---- SSE: a browser console's feed ---- */

typedef struct s_sse {
    char token[64];
    pthread_mutex_t mu;
    char want[128];     /* stop once this text arrived (set by the test; under mu) */
    antt_buf_t got;     /* what arrived (under mu) */
    long status;
    int connected;      /* the response has started */
    long timeout_ms;    /* then the stream is closed */
} s_sse_t;

static int s_sse_done(s_sse_t *c)
{
    pthread_mutex_lock(&c->mu);
    int done = c->want[0] && c->got.data && strstr(c->got.data, c->want);
    pthread_mutex_unlock(&c->mu);
    return done;
}

static size_t s_sse_write(char *p, size_t size, size_t n, void *arg)
{
    s_sse_t *c = arg;
    pthread_mutex_lock(&c->mu);
    antt_buf_append(&c->got, p, size * n);
    c->connected = 1;
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
    s_sse_t *c = arg;
    char url[128], auth[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/feed", NE.notify_port);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
    CURL *h = curl_easy_init();
    struct curl_slist *hs = curl_slist_append(NULL, auth);
    curl_easy_setopt(h, CURLOPT_URL, url);
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

static int s_sse_connected(void *arg)
{
    s_sse_t *c = arg;
    pthread_mutex_lock(&c->mu);
    int k = c->connected;
    pthread_mutex_unlock(&c->mu);
    return k;
}

static void s_sse_init(s_sse_t *c, const char *token, long timeout_ms)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->token, sizeof(c->token), "%s", token);
    pthread_mutex_init(&c->mu, NULL);
    antt_buf_init(&c->got);
    c->timeout_ms = timeout_ms;
}

static void s_sse_want(s_sse_t *c, const char *want)
{
    pthread_mutex_lock(&c->mu);
    snprintf(c->want, sizeof(c->want), "%s", want);
    pthread_mutex_unlock(&c->mu);
}

static void s_sse_cleanup(s_sse_t *c)
{
    antt_buf_cleanup(&c->got);
    pthread_mutex_destroy(&c->mu);
}

/* The ward's console gets its incident as an SSE event; another ward's
 * console does not; a wrong token gets 403. */
static void test_sse(void **state)
{
    (void)state;
    s_sse_t ward, other, bad;
    s_sse_init(&ward, "tok-ward", 15000);
    s_sse_init(&other, "tok-other", 4000);
    s_sse_init(&bad, "nope", 5000);
    pthread_t tw, to;
    pthread_create(&tw, NULL, s_sse_run, &ward);
    pthread_create(&to, NULL, s_sse_run, &other);
    s_sse_run(&bad);
    assert_int_equal(bad.status, 403);
    assert_true(at_wait_until(s_sse_connected, &ward, 10000));
    assert_true(at_wait_until(s_sse_connected, &other, 10000));
    char *inc = ne_incident("description=bi%20trom%20xe%20dap%20dien%20truoc%20cong&lat=10.7720&long=106.6280", NULL);
    s_sse_want(&ward, inc);
    pthread_join(tw, NULL);
    assert_int_equal(ward.status, 200);
    assert_non_null(strstr(ward.got.data, inc));
    assert_non_null(strstr(ward.got.data, "\"kind\":\"created\""));
    pthread_join(to, NULL); /* ends at its timeout, having seen its desk's feed only */
    assert_null(strstr(other.got.data ? other.got.data : "", inc));
    s_sse_cleanup(&ward);
    s_sse_cleanup(&other);
    s_sse_cleanup(&bad);
    free(inc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed),
        cmocka_unit_test(test_triage_zmq),
        cmocka_unit_test(test_triage_http),
        cmocka_unit_test(test_escalation),
        cmocka_unit_test(test_webhooks),
        cmocka_unit_test(test_sse),
    };
    return cmocka_run_group_tests(tests, ne_setup, ne_teardown);
}
