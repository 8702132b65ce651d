/* antt_test: the harness of the integration tests. It talks to the
 * throwaway PostgreSQL cluster the ctest fixture started (ANTT_TEST_PGDIR),
 * starts the real service binaries as child processes, and talks to them
 * over real HTTP (libcurl) and ZeroMQ. Waiting is always on a condition
 * with a deadline. */
#ifndef ANTT_TEST_H
#define ANTT_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <libpq-fe.h>

/* Polls fn(arg) every 10 ms until it returns true or ms pass. 1 or 0. */
int at_wait_until(int (*fn)(void *), void *arg, int ms);

/* A fresh database called name (dropped first) with the migrations applied
 * and the demo areas loaded. Returns its conninfo (malloc'd); aborts the
 * test program when PostgreSQL is not reachable. */
char *at_db_create(const char *name);
/* The same in the cluster whose base conninfo is given (not the fixture's). */
char *at_db_create_in(const char *base_conninfo, const char *name);
/* Starts (or restarts, on port when > 0) a private cluster in dir with
 * tests/pg/pg-fixture.sh; returns its base conninfo (malloc'd) or NULL. */
char *at_pg_start(const char *dir, int port);
void at_pg_stop(const char *dir);
PGconn *at_db_connect(const char *conninfo);
/* The first column of the first row of sql as a number (-1 on error). */
long at_db_long(PGconn *c, const char *sql);
/* Runs sql; aborts on failure. */
void at_db_exec(PGconn *c, const char *sql);
/* Inserts n new incidents of category in area (at its desk), from 1 January
 * of year (local time) every step_h hours, as a district's history. */
void at_db_gen_incidents(PGconn *c, const char *area, const char *category, int year, int n, int step_h, int prio);

/* A TCP port nobody listens on now. */
int at_free_port(void);

typedef struct at_proc_s {
    pid_t pid;        /* child, 0 when not running */
    char name[32];    /* for messages */
    char log[512];    /* its stdout and stderr */
    int status;       /* wait status after exit */
} at_proc_t;

/* Starts build/services/<service>/antt-<service> with the current
 * environment plus env ("K=V", NULL-terminated). Output goes to p->log.
 * The service logs in as its own role (ANTT_<SERVICE>_DB_CONNINFO is
 * ANTT_DB_CONNINFO with user=antt_<service>), and CURVE is off unless env
 * sets ANTT_CURVE_ENABLED (at_stack_t does, with keys): tests of a single
 * service talk to it in plain ZMTP. */
int at_spawn(at_proc_t *p, const char *service, char *const *env);
/* Waits until GET /readyz on port answers 200. 0 or -1 after ms. */
int at_wait_ready(int port, int ms);
/* As at_wait_ready, but gives up as soon as p has exited, and prints the
 * end of its log when it fails. */
int at_wait_proc_ready(at_proc_t *p, int port, int ms);
/* Sends sig and waits (up to ms) for the process to end. 0 if it ended. */
int at_stop(at_proc_t *p, int sig, int ms);
/* 1 while the process runs (reaps it when it has ended). */
int at_running(at_proc_t *p);

/* One HTTP request. headers: NULL-terminated "Name: value" list or NULL.
 * Returns the status (or -1), *body the response (malloc'd, NUL-ended). */
int at_http(const char *method, const char *url, const char *const *headers, const char *body,
            size_t len, char **resp);
/* A response header's value from the last at_http call on this thread. */
const char *at_http_last_header(const char *name);

/* Appends "fmt % v" to a NULL-terminated environment list of cap entries. */
void at_env_add(char **envv, size_t cap, const char *fmt, const char *v);
/* Adds intake's keys to envv: the public half of a fresh dispatchers' sealing
 * keypair and a fresh reporter-hash key. pk and sk (both may be NULL) receive
 * the keypair, for tests that open sealed contacts. */
void at_env_intake_keys(char **envv, size_t cap, uint8_t pk[32], uint8_t sk[32]);
/* The four services wired together on free ports: intake's gateway and
 * push sockets, classification publishing to notification and aggregation,
 * aggregation hearing notification's feed, CURVE on every socket with a ZAP
 * handler in each service, as deployed. The keys are made by `antt keygen
 * --dir`, and each service gets only its own file (keys[i]): intake the
 * dispatchers' public key and the reporter-hash key, notification the
 * dispatchers' secret key, each its own CURVE secret and its peers' public
 * keys. env holds the rest (shared by all); extra settings may be added
 * with at_env_add before the services start. */
enum { AT_INTAKE, AT_CLASSIFICATION, AT_NOTIFICATION, AT_AGGREGATION, AT_NSERVICES };
#define AT_KEYS_MAX 12
typedef struct at_stack_s {
    char *env[64];          /* "K=V", NULL-terminated, every service's */
    char *keys[AT_NSERVICES][AT_KEYS_MAX]; /* "K=V" of <service>.env, NULL-terminated */
    char *client_keys[AT_KEYS_MAX]; /* "K=V" of client.env, NULL-terminated */
    char curve_pub[AT_NSERVICES][41]; /* each service's CURVE public key (Z85) */
    char curve_sec[AT_NSERVICES][41]; /* and its secret key, for tests that speak as a service */
    char client_pub[41];    /* a client keypair listed in curve.clients */
    char client_sec[41];
    char staff_pub[41];     /* a keypair listed in curve.staff_clients (the trend PUB's) */
    char staff_sec[41];
    at_proc_t svc[AT_NSERVICES];
    int port[AT_NSERVICES]; /* each service's HTTP port */
    char gateway_ep[64];    /* intake's gateway ROUTER */
    char feed_ep[64];       /* notification's desk feed PUB */
    char triage_ep[64];     /* notification's triage ROUTER */
    char trend_ep[64];      /* aggregation's trend PUB */
    char snapshot_ep[64];   /* aggregation's snapshot ROUTER */
} at_stack_t;
extern const char *const at_service_names[AT_NSERVICES];
void at_stack_init(at_stack_t *s, const char *conninfo);
/* The value of setting K ("ANTT_…") in the stack's environment, or NULL. */
const char *at_stack_env(const at_stack_t *s, const char *k);
/* Makes sock's next connect a CURVE client of service i with the stack's
 * client keypair (or with pub/sec when given, e.g. an unknown key). */
void at_stack_curve_client(const at_stack_t *s, void *sock, int i, const char *pub, const char *sec);
/* The same with service as's keypair (a test that reads the desk feed
 * does so as aggregation: a client key is refused there). */
void at_stack_curve_as(const at_stack_t *s, void *sock, int i, int as);
/* The environment a CLI command needs to reach the stack (CURVE client
 * keys and the services' public keys) as "K='V' ..." for a shell line. */
void at_stack_cli_env(const at_stack_t *s, char *out, size_t len);
/* Fills out (cap entries) with service i's environment: the shared
 * settings, then its own keys, NULL-terminated; returns the entries (a
 * caller may append one more before the NULL). For one more instance of a
 * service (a second worker). */
int at_stack_env_of(const at_stack_t *s, int i, char **out, int cap);
/* Starts another instance p of service i (a second intake, worker,
 * notification...) with the stack's environment for i, then extra ("K=V",
 * NULL-terminated, may be NULL: e.g. endpoints of its own), HTTP on
 * http_port, its log in <service>-<tag>-<pid>.log. Does not wait. 0 or -1. */
int at_stack_spawn_extra(at_stack_t *s, int i, at_proc_t *p, const char *tag, int http_port,
                         const char *const *extra);
/* Starts (or restarts) service i; 0 once it answers /readyz within ms. */
int at_stack_start(at_stack_t *s, int i, int ms);
/* Starts the four services in order. 0 or -1. */
int at_stack_start_all(at_stack_t *s);
/* For tests that kill and cut things: a prompt re-drive (intake every 500 ms
 * after 2 s, aggregation every 300 ms) and connects that wait up to 60 s. */
void at_stack_fault_settings(at_stack_t *s);
/* Stops every running service with SIGTERM. */
void at_stack_stop(at_stack_t *s);
/* Frees the environment strings (after at_stack_stop). */
void at_stack_free(at_stack_t *s);

/* A steady load of unique reports over Open311, as gateways send them:
 * each retried with its idempotency key until acknowledged (or stopped).
 * Keeps the acknowledged report ids. */
typedef struct at_load_s {
    char url[128];
    char api_key[64];
    char prefix[32];     /* idempotency keys are <prefix>-<n> */
    int threads;         /* at most 4 */
    int pause_ms;        /* between two reports of one thread */
    volatile int stop;
    void *mu;            /* pthread_mutex_t, private */
    unsigned long th[4]; /* pthread_t, private */
    long sent, acked, retries;
    long retry_by[6];    /* retries by answer: [0] no answer, [4] 4xx, [5] 5xx */
    char (*ids)[40];     /* the acknowledged ids, acked of them */
    long cap;
} at_load_t;
/* The load's gateway in c's database: code 'app', key AT_LOAD_KEY, 100,000
 * reports/s (no rate limit the load could reach). */
#define AT_LOAD_KEY "key-app"
void at_load_gateway(PGconn *c);
void at_load_start(at_load_t *l, int http_port, const char *api_key, const char *prefix, int threads, int pause_ms);
void at_load_stop(at_load_t *l);
/* Loads l's acknowledged ids into a temporary table `acked (id uuid)` of c. */
void at_load_table(at_load_t *l, PGconn *c);
void at_load_free(at_load_t *l);
/* Waits (up to ms) until every acknowledged report of `acked` is stored and
 * linked to an incident with a desk, and the report and trend queues are
 * empty. 1 or 0. */
int at_load_settled(PGconn *c, long expect, int ms);

/* Starts monitoring sock for completed ZMTP handshakes; returns the PAIR
 * socket to read them from (close it after zmq_socket_monitor(sock, NULL, 0)). */
void *at_zmq_monitor(void *zctx, void *sock, const char *inproc);
/* Reads the monitor's pending events; returns how many were handshakes. */
int at_zmq_handshakes(void *mon);
/* A TCP relay on 127.0.0.1 between a service and its peer, run by a thread
 * of the test: a link the test can cut and heal. Cut, it stops moving bytes
 * either way and leaves the connections open (a silent network, as a
 * pulled cable or a dropped route: only heartbeats notice) and holds new
 * ones unanswered; healed, it moves them again. It keeps the first
 * AT_RELAY_KEEP bytes that went towards the target, for tests that read
 * the wire. */
#define AT_RELAY_KEEP (1 << 20)
typedef struct at_relay_s at_relay_t;
/* Listens on a free port (*port) and relays each connection to
 * 127.0.0.1:target_port. NULL on failure. */
at_relay_t *at_relay_start(int target_port, int *port);
void at_relay_cut(at_relay_t *r, int cut);
/* Connections that an endpoint closed since the start (while cut too). */
int at_relay_closed(at_relay_t *r);
/* Connections open now, neither side of which went away during a cut. */
int at_relay_open(at_relay_t *r);
/* The bytes kept so far (borrowed until at_relay_stop) and their count. */
const uint8_t *at_relay_bytes(at_relay_t *r, size_t *len);
void at_relay_stop(at_relay_t *r);

/* How a connect of sock to ep ends: 1 handshake succeeded, -1 refused by
 * the ZAP handler (400), -2 any other handshake failure (e.g. a plain peer
 * on a CURVE socket), 0 nothing within ms. */
int at_zmq_handshake(void *zctx, void *sock, const char *ep, int ms);
/* A process's resident set (VmRSS) in kB, -1 when unknown. */
long at_rss_kb(pid_t pid);
/* The value of the sample `name` (with its labels, e.g.
 * `antt_zap_handshakes_total{result="refused"}`) on the /metrics of the
 * HTTP port, -1 when absent. */
double at_metric(int port, const char *name);

/* Reads a whole file (malloc'd, NUL-terminated) or NULL. */
char *at_read_file(const char *path, size_t *len);

#endif
