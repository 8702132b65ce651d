/* at_desk: a dispatcher's side of the whole stack (at_stack_t), for the
 * integration tests of triage and the console: reports in over Open311,
 * triage over notification's ROUTER (CURVE) and HTTP, the desk feeds from
 * its PUB (read with aggregation's key: the feed's zone admits no client
 * key), and Server-Sent Events streams read by a thread of the test.
 * Waiting is on a condition with a deadline. */
#ifndef AT_DESK_H
#define AT_DESK_H

#include <pthread.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "antt/v1/incident.pb-c.h"
#include "antt/v1/triage.pb-c.h"
#include "antt_test.h"
#include "antt_util.h"

typedef struct at_desk_s {
    at_stack_t *st;   /* the running stack */
    PGconn *db;       /* for assertions */
    const char *api_key; /* the gateway's */
    void *zctx;
    void *dealer;     /* triage */
    void *sub;        /* desk feeds */
    int seq;          /* request ids */
} at_desk_t;

/* Connects the triage DEALER and a SUB of the desk feeds subscribed to each
 * of topics (NULL-terminated), then submits warm-up reports at warm_area
 * until one comes out on the feed of warm_desk: the whole path is up. 0 or
 * -1. */
int at_desk_open(at_desk_t *d, at_stack_t *st, PGconn *db, const char *api_key, const char *const *topics,
                 const char *warm_area, const char *warm_desk);
void at_desk_close(at_desk_t *d);

/* POSTs a report (form fields, api_key added) to intake; its id (malloc'd)
 * or NULL. */
char *at_desk_submit(at_desk_t *d, const char *fields);
/* Submits and waits (15 s) until the report belongs to an incident; returns
 * the incident's id (malloc'd) and, when report_out, the report's. */
char *at_desk_incident(at_desk_t *d, const char *fields, char **report_out);
/* Sends c with token (request id set) and waits 10 s; the reply (caller
 * frees) or NULL. */
Antt__V1__TriageReply *at_desk_triage(at_desk_t *d, const char *token, Antt__V1__TriageCommand *c);
/* The status of one command of action on incident (arg as note). */
int at_desk_status(at_desk_t *d, const char *token, Antt__V1__TriageAction action, const char *incident);
/* The next update on the feeds within ms (caller frees), its topic in topic. */
Antt__V1__IncidentUpdate *at_desk_feed(at_desk_t *d, int ms, char *topic, size_t tlen);
/* Waits for an update of incident (any when NULL) of kind on topic. */
Antt__V1__IncidentUpdate *at_desk_expect(at_desk_t *d, const char *topic, const char *incident,
                                         Antt__V1__UpdateKind kind, int ms);
/* The same two on a SUB of the test's own (subscribed to the feeds). */
Antt__V1__IncidentUpdate *at_desk_feed_on(void *sub, int ms, char *topic, size_t tlen);
Antt__V1__IncidentUpdate *at_desk_expect_on(void *sub, const char *topic, const char *incident,
                                            Antt__V1__UpdateKind kind, int ms);
/* One HTTP triage request to notification; the status, *out the JSON body
 * (caller frees) when out. */
int at_desk_http(at_desk_t *d, const char *token, const char *method, const char *path, const char *body,
                 json_t **out);
/* The same to a notification on port (a stack of the test's own). */
int at_desk_http_at(int port, const char *token, const char *method, const char *path, const char *body,
                    json_t **out);
/* at_db_long of fmt with one %s. */
long at_desk_count(at_desk_t *d, const char *fmt, const char *a);

/* An SSE client of notification's /api/v1/feed on a thread. */
typedef struct at_sse_s {
    char url[256];
    char auth[128];
    char last_event_id[64]; /* sent as the Last-Event-ID header when set */
    long timeout_ms;        /* the stream is closed then */
    pthread_mutex_t mu;
    char want[128];         /* ends the stream once this text arrived (under mu) */
    antt_buf_t got;         /* what arrived (under mu) */
    long status;            /* the response's, after the end */
    int started;            /* some bytes arrived */
    pthread_t th;
} at_sse_t;
/* Starts a stream for token; query (may be NULL) is appended after '?'. */
void at_sse_start(at_sse_t *c, int port, const char *token, const char *last_event_id, const char *query,
                  long timeout_ms);
void at_sse_want(at_sse_t *c, const char *want);
/* 1 when text arrived. */
int at_sse_has(at_sse_t *c, const char *text);
/* Waits until it started (some bytes arrived), up to ms. 1 or 0. */
int at_sse_wait_started(at_sse_t *c, int ms);
/* Waits for the stream's end; then c->got and c->status are the test's. */
void at_sse_join(at_sse_t *c);
void at_sse_cleanup(at_sse_t *c);

#endif
