/* antt_service: what every service does around its own work: reads the
 * config (-c FILE or ANTT_CONFIG, then ANTT_* overrides), sets up logging,
 * libsodium, the libuv loop and the ZeroMQ context with CURVE keys and a ZAP
 * handler, waits (up to db.connect_timeout_s) for PostgreSQL and a schema
 * with every migration of this build (it does not migrate: `antt migrate`
 * does, as the owner), serves
 * /livez, /readyz and /metrics on <name>.http, stops cleanly on SIGINT
 * or SIGTERM, and hands SIGHUP to the service's reload callback (a service
 * without one logs and ignores it: SIGHUP never ends a service). Under systemd (Type=notify) it sends READY=1 when /readyz would
 * first say ready, WATCHDOG=1 from the loop at half the watchdog interval,
 * and STOPPING=1 on a stop request; elsewhere these are no-ops. */
#ifndef ANTT_SERVICE_H
#define ANTT_SERVICE_H

#include <uv.h>

#include "antt_config.h"
#include "antt_curve.h"
#include "antt_http.h"
#include "antt_leader.h"
#include "antt_owner.h"
#include "antt_settings.h"
#include "antt_sse.h"

/* What antt_service reads for every service (antt_service_settings.c). */
typedef struct antt_service_settings_s {
    const char *conninfo;   /* db.conninfo (the owner's; a service uses <service>.db_conninfo first) */
    long connect_timeout_s; /* db.connect_timeout_s */
    const char *log_level;  /* log.level */
    int curve_enabled;      /* curve.enabled */
    long ack_s[4];          /* sla.ack_p1_s .. sla.ack_p4_s */
    long db_timeout_ms;     /* db.statement_timeout_ms of every session */
    long http_max_connections; /* http.max_connections per listener */
    long http_max_per_address; /* http.max_per_address per listener */
    long http_db_per_address;  /* http.db_max_per_address */
    const char *http_metrics_from; /* http.metrics_from */
    long http_db_inflight;  /* http.db_max_inflight */
    long http_db_queue;     /* http.db_queue_max */
    long http_timeout_ms;   /* http.statement_timeout_ms of each HTTP request's job */
    antt_sse_limits_t sse;  /* sse.* of the services that serve SSE streams */
    long leader_timeout_ms; /* leader.timeout_ms of the services that run active/standby */
} antt_service_settings_t;

/* The two rows each service's table declares for antt_service, which reads
 * them by name: <svc>.http (host:port of health, metrics and the service's
 * routes) and <svc>.db_conninfo (its own role; falls back to db.conninfo). */
#define ANTT_SERVICE_SETTING_ROWS(svc, http_help)                                              \
    ANTT_SETTING_NAMED(svc ".http", ANTT_STYPE_HOSTPORT, "127.0.0.1:0", http_help),            \
    ANTT_SETTING_NAMED(svc ".db_conninfo", ANTT_STYPE_STRING, "",                               \
                       "libpq connection string of " svc "'s own role (falls back to db.conninfo)")

/* The table of antt_service_settings_t ("common": every service's). */
extern const antt_settings_t antt_service_settings;

typedef struct antt_service_s antt_service_t;
typedef void (*antt_service_stop_cb)(antt_service_t *svc, void *arg);
typedef void (*antt_service_reload_cb)(antt_service_t *svc, void *arg);
/* A peer completed its handshake on a bound socket (on the loop). */
typedef void (*antt_service_handshake_cb)(void *arg);
#define ANTT_SERVICE_MAX_BINDS 8

struct antt_service_s {
    const char *name;            /* "intake", ... */
    uv_loop_t loop;              /* the service's only loop */
    antt_owners_t owners;        /* objects the stop walk closes */
    void *zctx;                  /* ZeroMQ context */
    antt_config_t *cfg;          /* settings */
    antt_service_settings_t opts;/* the common settings, checked */
    const antt_settings_t *own;  /* the service's settings table */
    const char *conninfo;        /* db.conninfo, borrowed from cfg */
    antt_http_t *http;           /* health, metrics and the service's own routes */
    struct antt_http_gate_s *gate; /* bounds the database work of HTTP requests */
    uv_signal_t sigint, sigterm; /* stop requests */
    uv_signal_t sighup;          /* reload requests */
    antt_service_reload_cb on_reload; /* asked to reload (SIGHUP), on the loop */
    void *reload_arg;            /* on_reload argument */
    antt_service_stop_cb on_stop;/* asked to stop: end your work (the walk closes the handles) */
    void *stop_arg;              /* on_stop argument */
    int stopping;                /* a stop was requested */
    uv_timer_t grace;            /* ends the loop if clients hold connections open */
    uv_timer_t notify;           /* systemd: READY=1 once ready, WATCHDOG=1 from the loop */
    int notified_ready;          /* READY=1 was sent */
    uint64_t watchdog_usec;      /* systemd's WatchdogSec, 0 when off */
    struct antt_curve_s *curve;  /* CURVE keys and ZAP handler, NULL when off */
    struct antt_metric_s *m_zap_admitted, *m_zap_refused; /* the ZAP handler's counts */
    struct s_watch *monitors[ANTT_SERVICE_MAX_BINDS]; /* handshake events of the bound sockets */
    int nmonitors;               /* entries of monitors */
    struct s_rebind *rebinding;  /* a bound socket listening again, or NULL */
    struct antt_leader_s *leader;/* active/standby (antt_service_leader), or NULL */
};

/* Parses argv (-c FILE, -h), loads config, checks it against the common
 * table and the service's own (own, bound into own_target: a bad value or
 * an unknown name stops here, naming the key), initializes everything,
 * waits for the migrated schema and starts the HTTP server (not yet
 * running: the loop runs in antt_service_run). own declares the service's
 * keys, among them <name>.http and <name>.db_conninfo. Returns 0, or -1
 * after logging why. */
int antt_service_init(antt_service_t *svc, const char *name, const antt_settings_t *own, void *own_target,
                      int argc, char **argv);
/* The acknowledgement deadlines by priority (sla.ack_p1_s .. _p4_s) as a
 * PostgreSQL integer array literal "{60,300,3600,86400}", into out. */
void antt_service_ack_seconds(const antt_service_t *svc, char *out, size_t outlen);
/* A new database of this service (antt_db_new on its conninfo) whose
 * sessions have db.statement_timeout_ms. Not started. */
struct antt_db_s;
struct antt_db_s *antt_service_db(antt_service_t *svc, const char *name);
/* Makes the service run active/standby (antt_leader: a session advisory
 * lock on a connection of its own, leader.timeout_ms) and starts trying
 * for the lock; cb hears each change of role on the loop. The service
 * owns the leader and frees it after the loop has ended. */
antt_leader_t *antt_service_leader(antt_service_t *svc, antt_leader_cb cb, void *arg);
/* Registers what to do when a stop is requested, before the walk that
 * closes every handle left on the loop (buses, database connections,
 * timers): stop the service's work, close what must close first (a store
 * before its connections) and let go of the buses it must not use again. */
void antt_service_on_stop(antt_service_t *svc, antt_service_stop_cb cb, void *arg);
/* Registers what to do on SIGHUP (runs on the loop thread). */
void antt_service_on_reload(antt_service_t *svc, antt_service_reload_cb cb, void *arg);
/* Runs the loop until every handle is closed, then frees what init made.
 * Returns the process exit status. */
int antt_service_run(antt_service_t *svc);
/* The checked value of setting key of the service's table or the common
 * one (its default when unset). Borrowed from the config. */
const char *antt_service_setting(const antt_service_t *svc, const char *key);
/* Binds bus to the endpoint configured under key (the table's default;
 * def for a key no table declares) in zone: its ZMQ_MAXMSGSIZE and, when
 * CURVE is on, a CURVE server admitting the zone's keys; then starts it.
 * Handshakes that fail before the ZAP handler is asked (a peer without
 * CURVE, a broken or timed-out handshake) are counted with its refusals;
 * on_handshake (may be NULL) is called on the loop for each peer admitted.
 * Returns 0, or -1 after logging why. */
struct antt_bus_s;
int antt_service_bind(antt_service_t *svc, struct antt_bus_s *bus, const char *key, const char *def,
                      antt_zone_id_t zone, antt_service_handshake_cb on_handshake, void *arg);
/* Ends every session open on bus's endpoint configured under key (def)
 * and listens there again at once: the peers reconnect, each through the
 * ZAP handler again (the way to drop a key's sessions once it is no longer
 * admitted). Returns 0, or -1 after logging why (the endpoint is then
 * retried on the loop until it is free). */
int antt_service_rebind(antt_service_t *svc, struct antt_bus_s *bus, const char *key, const char *def);
/* Connects bus to endpoint as a CURVE client of the service peer ("intake",
 * ...; when CURVE is on). Does not start it. Returns 0, or -1 after logging
 * why. */
int antt_service_connect(antt_service_t *svc, struct antt_bus_s *bus, const char *endpoint, const char *peer);
/* Closes what antt_service_bind and _rebind hold (antt_service_stop does). */
void antt_service_stop_binds(antt_service_t *svc);
/* Requests a stop as if SIGTERM had arrived. */
void antt_service_stop(antt_service_t *svc);

/* Splits "host:port" (IPv6 in brackets) into host (out, size hostlen) and
 * port. Returns 0 or -EINVAL. */
int antt_split_hostport(const char *s, char *host, size_t hostlen, int *port);

#endif
