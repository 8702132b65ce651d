/* intake: the service that accepts residents' reports from gateways (Open311
 * over HTTP, protobuf over a ZeroMQ ROUTER), stores each durably before
 * answering, and pushes accepted reports to classification, re-driving from
 * PostgreSQL whatever was not taken. One loop thread. */
#ifndef INTAKE_H
#define INTAKE_H

#include <stdint.h>

#include "antt_bus.h"
#include "antt_db.h"
#include "antt_http.h"
#include "antt_metrics.h"
#include "antt_service.h"
#include "intake_gateways.h"
#include "intake_limits.h"
#include "intake_report.h"
#include "intake_settings.h"
#include "intake_store.h"

typedef struct intake_s {
    antt_service_t *svc;               /* loop, config, http */
    intake_settings_t set;             /* intake's settings, checked at start */
    antt_db_t *dbs[INTAKE_MAX_DBS];    /* write connections (group commit) */
    int ndbs;                          /* count */
    antt_db_t *rdb;                    /* reads: gateways, Open311 GETs, re-drive */
    intake_store_t *store;             /* group commit */
    intake_gateways_t *gateways;       /* auth and area codes */
    intake_reporters_t *reporters;     /* per-reporter buckets */
    intake_keys_t keys;                /* sealing and pseudonym keys */
    antt_bus_t *router;                /* gateway protocol (ROUTER) */
    antt_bus_t *push;                  /* accepted reports to classification (PUSH) */
    uv_timer_t redrive_timer;          /* re-drives the queue */
    uv_timer_t partition_timer;        /* creates monthly partitions ahead */
    int redrive_busy;                  /* a re-drive query is in flight */
    int redrive_sweep;                 /* the next pass first makes rows due: 1 re-driven ones, 2 all */
    int redrive_sweeping;              /* the pass in flight began with a sweep */
    int64_t last_sweep_ms;             /* when the last sweep was asked for */
    int closing;                       /* stop requested */
    antt_metric_t *m_accepted;         /* replies OK */
    antt_metric_t *m_rejected;         /* replies 4xx / error */
    antt_metric_t *m_limited;          /* replies 429 */
    antt_metric_t *m_unavailable;      /* replies 503 */
    antt_metric_t *m_ack_seconds;      /* receive to reply */
    antt_metric_t *m_pushed;           /* pushed on the fast path */
    antt_metric_t *m_push_dropped;     /* push refused (HWM, no peer) */
    antt_metric_t *m_redriven;         /* pushed by re-drive */
    antt_metric_t *m_emergency;        /* answers with an emergency notice */
} intake_t;

/* How a report is answered, whichever transport it came by. A transport
 * embeds intake_reply_t first in its own reply (the HTTP request, the
 * ZeroMQ envelope), fills ops and hands it to intake_submit, which answers
 * through intake_reply_ok / intake_reply_error without knowing the
 * protocol: the transports depend on intake_submit, never the reverse. */
typedef struct intake_reply_s intake_reply_t;
typedef struct intake_reply_ops_s {
    /* the report is stored (replayed: the key's earlier report); sends the answer */
    void (*ok)(intake_reply_t *reply, const char *report_id, int64_t received_ms, int replayed);
    /* refused or not stored: status as in HTTP (400, 403, 404, 413, 429,
     * 503), retry_after_s for 429 and 503; sends the answer */
    void (*error)(intake_reply_t *reply, int status, const char *code, const char *message, int retry_after_s);
    /* frees the transport's reply, after ok or error */
    void (*destroy)(intake_reply_t *reply);
} intake_reply_ops_t;

struct intake_reply_s {
    const intake_reply_ops_t *ops; /* the transport's answers */
    intake_t *in;                  /* service */
    uint64_t start_ns;             /* receive time, for latency */
    unsigned emergency;            /* ANTT_DANGER_* services the text calls for, 0 none */
    const char *notice;            /* what to tell the resident then (static), or NULL */
    int limited_s;                 /* the reporter's quota said wait this long: the answer unless
                                      the report is a retry of one stored */
};

/* Starts reply (embedded in the transport's own) for a report received now. */
void intake_reply_init(intake_reply_t *reply, const intake_reply_ops_t *ops, intake_t *in);
/* Answers through reply's transport and destroys reply. Both carry
 * reply->notice when it is set: an emergency is told at once, whatever
 * became of the report. */
void intake_reply_ok(intake_reply_t *reply, const char *report_id, int64_t received_ms, int replayed);
/* status: HTTP status (400, 403, 404, 413, 429, 503); retry_after_s for 429 and 503. */
void intake_reply_error(intake_reply_t *reply, int status, const char *code, const char *message,
                        int retry_after_s);

/* Authenticates, validates, rate-limits and stores one report; answers
 * through reply in every case. curve_gateway: the gateway code whose CURVE
 * key the connection was admitted with (the api_key must be that
 * gateway's), or NULL. */
void intake_submit(intake_t *in, const char *api_key, size_t api_key_len,
                   const intake_input_t *input, const char *curve_gateway, intake_reply_t *reply);

/* Registers the Open311 routes (intake_open311.c). */
void intake_open311_register(intake_t *in);
/* Answers req with Open311's error array (also the HTTP server's refusals:
 * antt_http_set_error_cb). */
void intake_open311_error(antt_http_req_t *req, int status, const char *code, const char *message,
                          int retry_after_s);
/* The ZeroMQ gateway protocol (intake_zmq.c). */
void intake_zmq_on_message(antt_bus_t *bus, zmq_msg_t *frames, size_t n, void *arg);
/* The fields of a SubmitReport as intake_validate takes them (borrowed from
 * m). Returns 0, or -1 with a stable error code and message. */
struct Antt__V1__SubmitReport;
int intake_input_from_pb(const struct Antt__V1__SubmitReport *m, intake_input_t *in, const char **code,
                         const char **msg);
/* Push and re-drive (intake_push.c). */
void intake_push_report(intake_t *in, const intake_report_t *r, int contact_given, uint32_t attempt);
void intake_redrive_start(intake_t *in);
/* A worker connected: the reports whose pushes went nowhere while none was
 * there (re-driven at least once, waiting out their backoff) are made due
 * now, at most once per INTAKE_SWEEP_MIN_MS, so that a backlog drains as
 * soon as classification is back rather than after backoffs of up to 10
 * minutes. Loop thread. */
#define INTAKE_SWEEP_MIN_MS 10000
void intake_redrive_sweep(intake_t *in);

#endif
