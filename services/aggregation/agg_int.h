/* agg_int: what the parts of the aggregation service share. One agg_svc_t
 * per process, used on the loop thread only.
 *   agg.c         main: settings, sockets, routes, timers (wiring only)
 *   agg_drain.c   the trend state's load, the queue drain and the upkeep
 *   agg_feed.c    the Clone feed: sequenced TrendUpdates on the PUB, snapshots on the ROUTER
 *   agg_stream.c  the trend SSE stream (GET /api/v1/stream) on the antt_sse hub
 *   agg_api.c     the HTTP API: a table of endpoints (path, SQL, parameters, renderer)
 *   agg_render.c  the API's renderers (JSON, CSV, the report page) and query-string helpers
 *   agg_export.c  the staff CSV export of incidents, streamed a page at a time
 *   agg_audience.c who sees what: the public's rules, a staff token's area
 *   agg_state.c   the live state (pure code, its own unit test) */
#ifndef AGG_INT_H
#define AGG_INT_H

#include <stdint.h>

#include "agg.h"
#include "agg_state.h"
#include "antt_bus.h"
#include "antt_crypto.h"
#include "antt_db.h"
#include "antt_form.h"
#include "antt_http.h"
#include "antt_metrics.h"
#include "antt_service.h"
#include "antt_sse.h"
#include "antt_util.h"
#include "antt/v1/trend.pb-c.h"

/* What the drain's connection is doing. */
typedef enum {
    AGG_DB_IDLE,     /* nothing in flight */
    AGG_DB_LOADING,  /* the state's load job is in flight */
    AGG_DB_DRAINING  /* a drain job is in flight */
} agg_db_state_t;

/* The public's rules (aggregation.public_min_count, public_delay_s). */
typedef struct agg_public {
    long min_count; /* k: no public figure of 1 .. k-1 incidents */
    long delay_s;   /* a neighbourhood's public figures leave out the incidents filed this recently */
} agg_public_t;

typedef struct agg_svc {
    antt_service_t *svc;     /* the service */
    antt_db_t *db;           /* the queue drain and the state load */
    antt_db_t *qdb;          /* HTTP queries */
    antt_leader_t *leader;   /* active/standby: only the active one loads, drains and serves the feed */
    antt_bus_t *sub;         /* kicks: classified incidents and incident updates */
    antt_bus_t *pub;         /* sequenced trend updates */
    antt_bus_t *router;      /* snapshots */
    agg_state_t *st;         /* the live state */
    char epoch[48];          /* this state's identity: a new one means resync */
    agg_db_state_t dbst;     /* the drain connection's job in flight */
    int loaded;              /* the state has been loaded once (it serves while a reload runs) */
    int need_load;           /* reload at the next chance */
    int kicked;              /* something arrived while draining or pacing */
    int32_t today;           /* the day the state was loaded for */
    int64_t generation;      /* trend_meta.generation at load */
    long batch_max;          /* queue rows per drain */
    antt_sse_t *hub;         /* the trend SSE streams */
    agg_public_t pub_rules;  /* what anonymous viewers see */
    int checks;              /* snapshot requests whose token is being checked */
    uv_timer_t redrive;      /* drains the queue even when no message arrives */
    uv_timer_t pace;         /* the next drain after a busy one */
    long interval_ms;        /* at least this long between the starts of two drains */
    uint64_t last_drain;     /* loop time of the last drain's start */
    uv_timer_t upkeep;       /* checks for rebuilds and a new day */
    int closing;             /* stop requested */
    int exports;             /* CSV exports running (agg_export.c) */
    antt_metric_t *m_applied, *m_published, *m_drains, *m_keys, *m_lag, *m_snapshots, *m_bad;
    antt_metric_t *m_drain_s;
} agg_svc_t;

/* agg_audience.c */
typedef enum {
    AGG_SHOW_NONE,       /* not sent */
    AGG_SHOW_COUNT,      /* sent with its count */
    AGG_SHOW_SUPPRESSED  /* sent with the count left out (it fell below k) */
} agg_show_t;
/* What an anonymous viewer is sent of a changed key of the live state:
 * fine (its area is below the ward level), its count and its count before
 * the change. Pure. */
agg_show_t agg_public_show(const agg_public_t *p, int fine, int64_t count, int64_t prev);
/* 1 when a public snapshot (or catch-up) holds the key. Pure. */
int agg_public_snapshot_shows(const agg_public_t *p, int fine, int64_t count);
/* Called with the audience of req: token_area and hash NULL for the
 * public, else the staff token's area and its hash (borrowed for the call). */
typedef void (*agg_audience_cb)(antt_http_req_t *req, const char *token_area, const uint8_t *hash, void *arg);
/* Finds req's audience (a token as Bearer, or as access_token= when
 * query_ok) and calls cb, now or once the token is checked. area (NULL:
 * the token's own) must be the token's area or below it. A bad token, an
 * area outside it or a database down: req is answered (401, 403, 503),
 * release(arg) is called instead of cb. On the loop thread. */
void agg_audience_resolve(agg_svc_t *a, antt_http_req_t *req, const char *area, int query_ok, agg_audience_cb cb,
                          void *arg, void (*release)(void *));

/* agg_drain.c */
/* Metrics and a first epoch. */
void agg_drain_init(agg_svc_t *a);
/* Loads the state now, or once the job in flight is done. */
void agg_load(agg_svc_t *a);
/* Drains the queue now, or at the end of the pacing interval. */
void agg_drain(agg_svc_t *a);
void agg_on_db_state(antt_db_t *db, int connected, void *arg);
void agg_on_kick(antt_bus_t *bus, zmq_msg_t *frames, size_t nframes, void *arg);
void agg_on_redrive(uv_timer_t *t);
void agg_on_upkeep(uv_timer_t *t);

/* agg_feed.c */
void agg_feed_metrics(agg_svc_t *a);
/* Fills u (borrowing kv's strings and the epoch) from kv. */
void agg_trend_update_fill(Antt__V1__TrendUpdate *u, const agg_kv_t *kv, const char *epoch);
/* Publishes the changed keys kv[0..n) on the PUB. */
void agg_feed_publish(agg_svc_t *a, agg_kv_t *const *kv, size_t n);
void agg_feed_on_snapshot(antt_bus_t *bus, zmq_msg_t *frames, size_t nframes, void *arg);
/* 1 when period is NULL, "" or one of the five period names. */
int agg_period_ok(const char *period);

/* agg_stream.c */
void agg_stream_init(agg_svc_t *a, const antt_sse_limits_t *lim);
/* The changed keys kv[0..n) to every live stream under its filter. */
void agg_stream_publish(agg_svc_t *a, agg_kv_t *const *kv, size_t n);
/* A new epoch: every stream starts over with a snapshot. */
void agg_stream_resync_all(agg_svc_t *a);
void agg_stream_close(agg_svc_t *a);
void agg_http_stream(antt_http_req_t *req, void *arg);

/* agg_render.c */
/* Appends kv as the JSON object of the SSE stream and the HTTP API
 * (suppressed: "count":null,"suppressed":true). */
void agg_kv_json(antt_buf_t *b, const agg_kv_t *kv, const char *epoch, int suppressed);
/* The query string's fields; answers 400 itself and returns -1 when bad. */
int agg_query_parse(antt_http_req_t *req, antt_form_t *f);
/* A non-empty field's value, else NULL (borrowed from f). */
const char *agg_param(const antt_form_t *f, const char *name);
/* 1 when s is an area code as the areas table allows. */
int agg_area_ok(const char *s);
/* 1 when the client asked for CSV (format=csv, or Accept: text/csv). */
int agg_wants_csv(const antt_form_t *f, antt_http_req_t *req);
typedef void (*agg_render_cb)(antt_http_req_t *req, antt_db_job_t *job, int csv);
void agg_render_json0(antt_http_req_t *req, antt_db_job_t *job, int csv);
void agg_render_trends(antt_http_req_t *req, antt_db_job_t *job, int csv);
void agg_render_summary(antt_http_req_t *req, antt_db_job_t *job, int csv);
void agg_render_rows(antt_http_req_t *req, antt_db_job_t *job, int csv);
/* The report page (the embedded report.html) with statement 0's JSON put
 * into it as <script id="report-data" type="application/json">. */
void agg_render_report(antt_http_req_t *req, antt_db_job_t *job, int csv);

/* agg_export.c: GET /api/v1/export/incidents (arg: the agg_svc_t). */
void agg_http_export(antt_http_req_t *req, void *arg);

/* agg_api.c: registers the routes; returns what the routes point to (free
 * it with agg_api_free after the loop has ended). */
void *agg_api_register(agg_svc_t *a, antt_http_t *http);
void agg_api_free(void *routes);

#endif
