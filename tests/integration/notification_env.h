/* notification_env: the stack notification's integration tests run on (see
 * notification_env.c): real intake, a classification worker and
 * antt-notification on a test database with three desks, a webhook
 * receiver, a SUB on the desk feeds and a DEALER on triage. */
#ifndef NOTIFICATION_ENV_H
#define NOTIFICATION_ENV_H

#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "antt/v1/incident.pb-c.h"
#include "antt/v1/triage.pb-c.h"
#include "antt_test.h"
#include "at_hook.h"

#define NE_WARD "DESK-HCM-BTA-BTD"   /* owns 10.7800, 106.6250 */
#define NE_OTHER "DESK-HCM-BTA-AL"   /* a neighbouring ward */
#define NE_DISTRICT "DESK-HCM-BTA"   /* above both */
#define NE_AT "&lat=10.7800&long=106.6250"

typedef struct ne_env {
    char *conninfo;       /* test database */
    PGconn *db;           /* for assertions */
    int http_port;        /* intake HTTP */
    int worker_port;      /* classification HTTP */
    int notify_port;      /* notification HTTP */
    char url[96];         /* Open311 requests URL */
    char feed_ep[64];     /* notification PUB */
    char triage_ep[64];   /* notification ROUTER */
    char *envv[32];       /* environment shared by the children */
    at_proc_t intake, worker, notify;
    void *zctx;
    void *sub;            /* desk feeds: ward and district */
    void *dealer;         /* triage client */
} ne_env_t;

extern ne_env_t NE;
/* the ward's webhook receiver (also the app gateway's status hook) */
extern at_hook_t ne_hook;

/* The cmocka group's set-up and tear-down: the stack up and the path warm. */
int ne_setup(void **state);
int ne_teardown(void **state);
/* Starts (again) antt-notification and waits until it is ready. */
int ne_start_notify(void);

/* How many messages the receiver holds that contain needle. */
int ne_hook_count(const char *needle);
/* at_wait_until's condition: ne_hook_count(ne_hook_needle) >= *(int *)arg. */
extern const char *ne_hook_needle;
int ne_hook_has(void *arg);
/* A message's signature checked as a receiver would (Standard Webhooks). */
int ne_signature_ok(const at_hook_msg_t *m);

/* Submits an Open311 form body (fields after api_key); the report id or
 * NULL (caller frees). */
char *ne_submit(const char *fields);
/* Submits and returns the report's incident id once classified (the
 * report id in *report_out when given; caller frees both). */
char *ne_incident(const char *fields, char **report_out);
/* The incident a report is linked to, or NULL. */
char *ne_incident_of(const char *report_id);
/* Waits for an update of incident (any when NULL) of kind on topic; returns
 * it (caller frees) or NULL. */
Antt__V1__IncidentUpdate *ne_expect_feed(const char *want_topic, const char *incident, Antt__V1__UpdateKind kind,
                                         int ms);

/* One triage command over ZeroMQ; the reply (caller frees) or NULL. */
Antt__V1__TriageReply *ne_triage(const char *token, Antt__V1__TriageAction action, const char *incident,
                                 const char *arg);
/* The command's reply must have status want. */
void ne_expect_status(const char *token, Antt__V1__TriageAction action, const char *incident, const char *arg,
                      Antt__V1__TriageReply__Status want);
/* One triage request over HTTP JSON; its status, the answer in *out. */
int ne_http_triage(const char *token, const char *method, const char *path, const char *body, json_t **out);
/* at_db_long of fmt with one %s. */
long ne_count(const char *fmt, const char *a);

#endif
