/* notify_int: what the parts of the notification service share; not for
 * other services. One n_svc_t per process, used on the loop thread only.
 *
 *   notify.c           life cycle, configuration, desk tree loading, upkeep
 *   notify_publish.c   classified incidents in, updates out on the desk feeds
 *   notify_escalate.c  the deadline timer and antt_escalate_due()
 *   notify_catchup.c   announcing incidents whose classified message was lost
 *   notify_triage.c    triage commands (ROUTER and HTTP) through antt_triage()
 *   notify_answers.c   SHOW's answers and follow-ups of each report (pure, unit tested)
 *   notify_http.c      the HTTP JSON API of triage
 *   notify_sse.c       the desk feeds' journal and Server-Sent Events
 *   notify_row.c       rows of antt_incident_state as IncidentUpdates
 *   notify_audience.c  who sees an incident (pure, unit tested)
 *   notify_text.c      names and the JSON form of an update */
#ifndef NOTIFY_INT_H
#define NOTIFY_INT_H

#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <uv.h>

#include "antt_bus.h"
#include "antt_crypto.h"
#include "antt_db.h"
#include "antt_http.h"
#include "antt_metrics.h"
#include "antt_service.h"
#include "notify.h"
#include "notify_audience.h"
#include "notify_seen.h"
#include "notify_settings.h"
#include "notify_webhook.h"

typedef struct notify_sse_s notify_sse_t;

typedef struct n_svc {
    antt_service_t *svc;      /* the service */
    notify_settings_t set;    /* notification's settings, checked at start */
    antt_db_t *db;            /* triage, escalation, desks, the feed journal: one connection, so that
                                 jobs complete in the order they were submitted */
    antt_bus_t *sub;          /* classified incidents (bound) */
    antt_bus_t *pub;          /* desk feeds and incident updates (bound) */
    antt_bus_t *router;       /* triage commands (bound) */
    notify_webhook_t *wh;     /* webhook sender */
    antt_leader_t *leader;    /* active/standby: only the active one announces, escalates, sends */
    notify_desks_t *desks;    /* the desk tree and routes */
    int loaded;               /* desks and routes loaded once */
    notify_sse_t *sse;        /* the feed journal and the SSE streams */
    uv_timer_t escalate;      /* fires at the next unacknowledged deadline */
    uv_timer_t upkeep;        /* reloads desks and routes, prunes the journal */
    uv_timer_t catchup;       /* announces incidents whose classified message was lost */
    notify_seen_t *seen;      /* incidents announced lately */
    char catchup_hi[64];      /* created_at of the last incident the catch-up read ("" none yet) */
    int catching;             /* a catch-up job is in flight */
    int64_t next_deadline_ms; /* what escalate is set for; 0 none */
    int escalating;           /* an escalation job is in flight */
    char ack_s[96];           /* "{p1,p2,p3,p4}" */
    uint8_t pk[ANTT_KEY_BYTES], sk[ANTT_KEY_BYTES]; /* dispatchers' sealing keys */
    int have_keys;            /* both given */
    int closing;              /* stop requested */
    antt_metric_t *m_classified, *m_published, *m_escalated, *m_triage_ok, *m_triage_err, *m_bad;
    antt_metric_t *m_feed_s;  /* report received -> feed published */
    antt_metric_t *m_stage_s; /* incident classified -> feed published */
    antt_metric_t *m_caught_up; /* incidents announced by the catch-up */
} n_svc_t;

/* The columns of antt_incident_state rows (migrations 005, 010), as
 * notify_fill_update reads them; a query may add columns after them. */
#define N_STATE_COLUMNS                                                                                     \
    "SELECT kind, incident_id, version, status, category, priority, area_code, desk_code, report_count,"    \
    " actor, note, (extract(epoch FROM at) * 1000)::bigint, (extract(epoch FROM occurred_at) * 1000)::bigint," \
    " merged_into, outcome, (extract(epoch FROM ack_deadline) * 1000)::bigint, assignee,"                  \
    " array_to_string(ARRAY(SELECT encode(c, 'base64') FROM unnest(contacts) c), ' '),"                    \
    " needs_review, array_to_string(review_reasons, chr(31)), overdue, escalated_to, claimed_desk,"        \
    " claimed_by, (extract(epoch FROM created_at) * 1000)::bigint, ward_name, first_text, detail::text"
enum {
    N_COL_KIND, N_COL_ID, N_COL_VERSION, N_COL_STATUS, N_COL_CATEGORY, N_COL_PRIORITY, N_COL_AREA,
    N_COL_DESK, N_COL_REPORTS, N_COL_ACTOR, N_COL_NOTE, N_COL_AT, N_COL_OCCURRED, N_COL_MERGED_INTO,
    N_COL_OUTCOME, N_COL_DEADLINE, N_COL_ASSIGNEE, N_COL_CONTACTS, N_COL_NEEDS_REVIEW, N_COL_REVIEW_REASONS,
    N_COL_OVERDUE, N_COL_ESCALATED_TO, N_COL_CLAIMED_DESK, N_COL_CLAIMED_BY, N_COL_CREATED, N_COL_WARD_NAME,
    N_COL_FIRST_TEXT, N_COL_DETAIL,
    N_STATE_NCOLS /* the first column a query adds */
};

/* notify.c: 1 while this process is the active notification (every act
 * that two processes must not both do checks it first). */
int notify_active(const n_svc_t *n);

/* notify_row.c: fills u from a row of N_STATE_COLUMNS; strings are borrowed
 * from r, except review_reasons, which notify_update_release frees. */
void notify_fill_update(Antt__V1__IncidentUpdate *u, PGresult *r, int row);
void notify_update_release(Antt__V1__IncidentUpdate *u);
/* A column's value (borrowed), NULL when SQL NULL. */
char *notify_col(PGresult *r, int row, int col);

/* notify_publish.c: sends one update to the feeds of every desk that sees
 * it, to the desks' SSE streams (through the journal) and to aggregation;
 * the triage-only fields (ward_name, first_text) never leave. */
void notify_publish(n_svc_t *n, const Antt__V1__IncidentUpdate *u);
/* The SUB handler of classified incidents. */
void notify_on_classified(antt_bus_t *bus, zmq_msg_t *frames, size_t nframes, void *arg);

/* notify_escalate.c: sets the timer for deadline_ms unless it is set
 * earlier already; asks PostgreSQL for the next unacknowledged deadline. */
void notify_schedule(n_svc_t *n, int64_t deadline_ms);
void notify_next_deadline(n_svc_t *n);

/* notify_catchup.c: the catch-up timer's callback. */
void notify_catchup(uv_timer_t *t);

/* notify_triage.c: one command on its way through antt_triage(). */
typedef struct n_triage n_triage_t;
/* A command from HTTP: answer goes to req. Never NULL. */
n_triage_t *notify_triage_http(n_svc_t *n, antt_http_req_t *req, Antt__V1__TriageAction action);
/* Runs it: token, action, incident (NULL for LIST), args (a JSON object,
 * borrowed). Takes t: it is answered and freed. */
void notify_triage_run(n_triage_t *t, const char *token, const char *incident, const json_t *args);
/* Answers t with an error and frees it. */
void notify_triage_error(n_triage_t *t, Antt__V1__TriageReply__Status st, const char *msg);
/* The ROUTER handler of TriageCommands. */
void notify_on_command(antt_bus_t *bus, zmq_msg_t *frames, size_t nframes, void *arg);

/* notify_http.c: GET/POST /api/v1/incidents... */
void notify_http_incidents(antt_http_req_t *req, void *arg);
/* The bearer token of a request into out (empty when none). */
void notify_http_bearer(antt_http_req_t *req, char *out, size_t outlen);

/* notify_sse.c: the journal of the desk feeds and the SSE streams. */
struct antt_sse_limits_s;
notify_sse_t *notify_sse_new(n_svc_t *n, long replay_max, long keep_h, const struct antt_sse_limits_s *lim);
/* At stop: ends every stream; appends and opens still in flight complete
 * as cancelled. */
void notify_sse_close(notify_sse_t *s);
/* After the loop has ended: frees what waits; accepts NULL, nulls *self_p. */
void notify_sse_destroy(notify_sse_t **self_p);
/* Journals one published update for the desks of aud (k of them); the SSE
 * streams of those desks get it once it is numbered. */
void notify_sse_append(notify_sse_t *s, const Antt__V1__IncidentUpdate *u, const char *const *aud, int k);
/* The database came (back) up: what waits is written now. */
void notify_sse_db_up(notify_sse_t *s);
/* Ends every stream (the process became a standby: its clients reconnect
 * to the active one and resume from their last event). */
void notify_sse_end_streams(notify_sse_t *s);
/* Forgets journal entries older than the replay window (upkeep). */
void notify_sse_prune(notify_sse_t *s);
/* GET /api/v1/feed. */
void notify_sse_http_feed(antt_http_req_t *req, void *arg);

#endif
