/* antt_service: start-up, health endpoints and clean shutdown. */
#include "antt_service.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <zmq.h>

#include "antt_bus.h"
#include "antt_crypto.h"
#include "antt_curve.h"
#include "antt_db.h"
#include "antt_http_gate.h"
#include "antt_leader.h"
#include "antt_log.h"
#include "antt_metrics.h"
#include "antt_migrate.h"
#include "antt_owner.h"
#include "antt_util.h"

int antt_split_hostport(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon;
    if (s == NULL)
        return -EINVAL;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':')
            return -EINVAL;
        if ((size_t)(end - s - 1) >= hostlen)
            return -EINVAL;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || (size_t)(colon - s) >= hostlen)
            return -EINVAL;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535)
        return -EINVAL;
    *port = (int)p;
    return 0;
}

static void s_usage(const char *name)
{
    fprintf(stderr,
            "usage: antt-%s [-c CONFIG]\n"
            "  -c CONFIG  config file (default: $ANTT_CONFIG, else none)\n"
            "Every setting KEY can be overridden by the environment variable\n"
            "ANTT_KEY with dots as underscores (db.conninfo: ANTT_DB_CONNINFO);\n"
            "`antt config --list` lists every setting with its default.\n",
            name);
}

/* Waits (up to db.connect_timeout_s) until PostgreSQL answers and its schema
 * has every migration of this build. The service does not migrate: it logs
 * in as a role that cannot change the schema; `antt migrate` does, as the
 * owner. Returns 0, or -1 after logging why. */
static int s_wait_schema(antt_service_t *svc)
{
    char err[1024], last[1024] = "";
    uint64_t deadline = antt_mono_ns() + (uint64_t)svc->opts.connect_timeout_s * 1000000000u;
    for (;;) {
        int rc = -EAGAIN;
        PGconn *c = antt_db_connect_sync(svc->conninfo, err, sizeof(err));
        if (c != NULL) {
            rc = antt_migrate_check(c, err, sizeof(err));
            PQfinish(c);
        }
        if (rc == 0)
            return 0;
        if (rc == -EIO || antt_mono_ns() > deadline) {
            ANTT_LOG(ANTT_ERROR, "%s", err);
            return -1;
        }
        if (strcmp(err, last) != 0) {
            ANTT_LOG(ANTT_WARN, "waiting for the database: %s", err);
            snprintf(last, sizeof(last), "%s", err);
        }
        usleep(200 * 1000);
    }
}

/* the ZAP thread counts; the loop brings the counts into /metrics */
static void s_collect_zap(void *arg)
{
    antt_service_t *svc = arg;
    unsigned long admitted, refused;
    antt_curve_counts(svc->curve, &admitted, &refused);
    antt_metric_add(svc->m_zap_admitted, (double)admitted - antt_metric_value(svc->m_zap_admitted));
    antt_metric_add(svc->m_zap_refused, (double)refused - antt_metric_value(svc->m_zap_refused));
}

static void s_on_signal(uv_signal_t *h, int signum)
{
    antt_service_t *svc = h->data;
    ANTT_LOG(ANTT_INFO, "stopping on signal %d", signum);
    antt_service_stop(svc);
}

static void s_on_hup(uv_signal_t *h, int signum)
{
    antt_service_t *svc = h->data;
    (void)signum;
    if (svc->stopping)
        return;
    if (svc->on_reload == NULL) {
        ANTT_LOG(ANTT_INFO, "SIGHUP ignored: nothing to reload");
        return;
    }
    ANTT_LOG(ANTT_INFO, "reloading on SIGHUP");
    svc->on_reload(svc, svc->reload_arg);
}

void antt_service_on_reload(antt_service_t *svc, antt_service_reload_cb cb, void *arg)
{
    svc->on_reload = cb;
    svc->reload_arg = arg;
}

/* Checks the names and values of the config file and the environment
 * against the common table and own. Returns 0, or -1 after logging why. */
static int s_settings(antt_service_t *svc, const antt_settings_t *own, void *own_target)
{
    extern char **environ;
    const antt_settings_t *sets[] = {&antt_service_settings, own};
    char err[512];
    if (antt_settings_check_names(sets, 2, svc->name, svc->cfg, environ, err, sizeof(err)) != 0 ||
        antt_settings_bind(&antt_service_settings, svc->cfg, &svc->opts, err, sizeof(err)) != 0 ||
        antt_settings_bind(own, svc->cfg, own_target, err, sizeof(err)) != 0) {
        ANTT_LOG(ANTT_ERROR, "%s", err);
        return -1;
    }
    return 0;
}

const char *antt_service_setting(const antt_service_t *svc, const char *key)
{
    const antt_settings_t *sets[] = {&antt_service_settings, svc->own};
    const antt_setting_t *row = antt_settings_find(sets, 2, key);
    assert(row != NULL); /* read by name, so declared in a table */
    return antt_config_get(svc->cfg, key, row->def);
}

void antt_service_ack_seconds(const antt_service_t *svc, char *out, size_t outlen)
{
    const long *p = svc->opts.ack_s;
    snprintf(out, outlen, "{%ld,%ld,%ld,%ld}", p[0], p[1], p[2], p[3]);
}

int antt_service_init(antt_service_t *svc, const char *name, const antt_settings_t *own, void *own_target,
                      int argc, char **argv)
{
    const char *cfg_path = getenv("ANTT_CONFIG");
    int opt;
    memset(svc, 0, sizeof(*svc));
    svc->name = name;
    svc->own = own;
    antt_log_init(name, ANTT_INFO);
    while ((opt = getopt(argc, argv, "c:h")) != -1) {
        switch (opt) {
        case 'c':
            cfg_path = optarg;
            break;
        default:
            s_usage(name);
            return -1;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    svc->cfg = antt_config_new();
    if (cfg_path && *cfg_path) {
        char err[512];
        if (antt_config_load(svc->cfg, cfg_path, err, sizeof(err)) != 0) {
            ANTT_LOG(ANTT_ERROR, "%s", err);
            goto fail;
        }
    }
    if (s_settings(svc, own, own_target) != 0)
        goto fail;
    antt_log_init(name, (antt_log_level_t)antt_log_parse_level(svc->opts.log_level));
    if (antt_crypto_init() != 0) {
        ANTT_LOG(ANTT_ERROR, "could not initialize libsodium");
        goto fail;
    }
    /* <service>.db_conninfo (the service's own role) before db.conninfo */
    char key[64], host[256];
    snprintf(key, sizeof(key), "%s.db_conninfo", name);
    svc->conninfo = antt_service_setting(svc, key);
    if (*svc->conninfo == '\0')
        svc->conninfo = svc->opts.conninfo;
    if (s_wait_schema(svc) != 0)
        goto fail;

    uv_loop_init(&svc->loop);
    antt_owners_attach(&svc->owners, &svc->loop);
    svc->zctx = zmq_ctx_new();
    char cerr[256];
    if (antt_curve_new(svc->cfg, name, &svc->curve, cerr, sizeof(cerr)) != 0) {
        ANTT_LOG(ANTT_ERROR, "%s", cerr);
        goto fail;
    }
    int zrc = antt_curve_start_zap(svc->curve, svc->zctx);
    if (zrc != 0) {
        ANTT_LOG(ANTT_ERROR, "could not start the ZAP handler: %s", zmq_strerror(-zrc));
        goto fail;
    }
    ANTT_LOG(ANTT_INFO, "zeromq security curve=%s", svc->curve ? "on" : "off");
    if (svc->curve) {
        svc->m_zap_admitted = antt_metrics_counter("antt_zap_handshakes_total",
                                                   "ZeroMQ connections the ZAP handler admitted or refused",
                                                   "result=\"admitted\"");
        svc->m_zap_refused = antt_metrics_counter("antt_zap_handshakes_total",
                                                  "ZeroMQ connections the ZAP handler admitted or refused",
                                                  "result=\"refused\"");
        antt_metrics_collector(s_collect_zap, svc);
    }
    uv_signal_init(&svc->loop, &svc->sigint);
    uv_signal_init(&svc->loop, &svc->sigterm);
    svc->sigint.data = svc->sigterm.data = svc;
    uv_signal_start(&svc->sigint, s_on_signal, SIGINT);
    uv_signal_start(&svc->sigterm, s_on_signal, SIGTERM);
    uv_signal_init(&svc->loop, &svc->sighup);
    svc->sighup.data = svc;
    uv_signal_start(&svc->sighup, s_on_hup, SIGHUP);

    int port;
    snprintf(key, sizeof(key), "%s.http", name);
    const char *listen = antt_service_setting(svc, key);
    if (antt_split_hostport(listen, host, sizeof(host), &port) != 0) {
        /* the service's table declares <name>.http as host:port */
        ANTT_LOG(ANTT_ERROR, "%s is not declared host:port by the service's settings", key);
        return -1;
    }
    svc->http = antt_http_new(&svc->loop);
    long max_conns = svc->opts.http_max_connections;
    /* every connection is a descriptor: the cap stays below the process's
     * limit, with room for the databases, sockets and files */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY &&
        (rlim_t)max_conns + 128 > nofile.rlim_cur) {
        long fit = nofile.rlim_cur > 256 ? (long)nofile.rlim_cur - 128 : (long)nofile.rlim_cur / 2;
        ANTT_LOG(ANTT_WARN, "http.max_connections=%ld is over the descriptor limit (%lld): using %ld", max_conns,
                 (long long)nofile.rlim_cur, fit);
        max_conns = fit;
    }
    antt_http_set_max_conns(svc->http, (size_t)max_conns);
    antt_http_set_max_per_address(svc->http, (size_t)svc->opts.http_max_per_address);
    char err[200];
    if (antt_http_set_metrics_from(svc->http, svc->opts.http_metrics_from, err, sizeof(err)) != 0) {
        ANTT_LOG(ANTT_ERROR, "http.metrics_from: %s", err);
        return -1;
    }
    svc->gate = antt_http_gate_new((size_t)svc->opts.http_db_inflight, (size_t)svc->opts.http_db_queue,
                                   svc->opts.http_timeout_ms);
    antt_http_gate_set_max_per_address(svc->gate, (size_t)svc->opts.http_db_per_address);
    antt_http_set_gate(svc->http, svc->gate);
    if (antt_http_listen(svc->http, host, port) != 0)
        return -1;
    ANTT_LOG(ANTT_INFO, "started service=%s pid=%d schema=%d", name, (int)getpid(),
             antt_migrate_latest());
    return 0;
fail:
    /* what was made before the loop has handles: nothing left behind */
    if (svc->zctx) {
        zmq_ctx_shutdown(svc->zctx);
        antt_curve_destroy(&svc->curve);
        zmq_ctx_term(svc->zctx);
        svc->zctx = NULL;
        uv_loop_close(&svc->loop);
        antt_owners_detach(&svc->loop);
    }
    antt_config_destroy(&svc->cfg);
    return -1;
}

antt_db_t *antt_service_db(antt_service_t *svc, const char *name)
{
    antt_db_t *db = antt_db_new(&svc->loop, svc->conninfo, name);
    antt_db_set_statement_timeout(db, svc->opts.db_timeout_ms);
    return db;
}

antt_leader_t *antt_service_leader(antt_service_t *svc, antt_leader_cb cb, void *arg)
{
    assert(svc->leader == NULL);
    svc->leader = antt_leader_new(&svc->loop, svc->conninfo, svc->name, svc->opts.leader_timeout_ms, cb, arg);
    antt_leader_start(svc->leader);
    return svc->leader;
}

void antt_service_on_stop(antt_service_t *svc, antt_service_stop_cb cb, void *arg)
{
    svc->on_stop = cb;
    svc->stop_arg = arg;
}

static void s_on_grace(uv_timer_t *t)
{
    /* clients that keep idle connections open must not hold the stop up */
    uv_stop(t->loop);
}

static void s_http_closed(void *arg)
{
    antt_service_t *svc = arg;
    svc->http = NULL;
}

/* systemd: readiness once, and the watchdog from the loop itself (a loop
 * that hangs stops petting it, and systemd restarts the service). A
 * database outage is not a hang: the watchdog goes on, /readyz says why. */
static void s_on_notify(uv_timer_t *t)
{
    antt_service_t *svc = t->data;
    if (!svc->notified_ready) {
        char why[128];
        int ready = antt_http_ready(svc->http, why, sizeof(why));
        if (ready) {
            /* a standby (2) is up and healthy: systemd need not wait for it
             * to become active */
            sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%d", ready == 2 ? "standby" : "ready", (int)getpid());
            svc->notified_ready = 1;
        } else {
            sd_notifyf(0, "STATUS=starting: %s", why);
        }
    }
    if (svc->watchdog_usec)
        sd_notify(0, "WATCHDOG=1");
    else if (svc->notified_ready)
        uv_timer_stop(t); /* nothing more to say */
}

static int s_http_handle(const uv_handle_t *h, void *arg)
{
    antt_service_t *svc = arg;
    return antt_http_holds(svc->http, h);
}

void antt_service_stop(antt_service_t *svc)
{
    if (svc->stopping)
        return;
    svc->stopping = 1;
    sd_notify(0, "STOPPING=1");
    /* HTTP jobs still waiting for a slot fail before the databases close */
    antt_http_gate_cancel(svc->gate);
    /* the service stops its work (and closes what must close in an order),
     * then every socket, connection, timer and watcher still open on the
     * loop is closed by walking it; HTTP ends on its own, within the grace.
     * The bound sockets' monitors and a rebind close first: what they hold
     * is freed in their close callbacks, which the walk would not call */
    antt_service_stop_binds(svc);
    if (svc->on_stop)
        svc->on_stop(svc, svc->stop_arg);
    antt_http_close(svc->http, s_http_closed, svc);
    int n = antt_owners_close_all(&svc->loop, s_http_handle, svc);
    ANTT_LOG(ANTT_DEBUG, "stop closed %d handles by walking the loop", n);
    uv_timer_init(&svc->loop, &svc->grace);
    uv_timer_start(&svc->grace, s_on_grace, 3000, 0);
    uv_unref((uv_handle_t *)&svc->grace);
}

int antt_service_run(antt_service_t *svc)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0)
        svc->watchdog_usec = usec;
    uint64_t every = svc->watchdog_usec ? svc->watchdog_usec / 2000 : 200;
    if (every < 50)
        every = 50;
    if (every > 1000)
        every = 1000;
    uv_timer_init(&svc->loop, &svc->notify);
    svc->notify.data = svc;
    uv_timer_start(&svc->notify, s_on_notify, 0, every);
    uv_unref((uv_handle_t *)&svc->notify);
    uv_run(&svc->loop, UV_RUN_DEFAULT);
    /* a loop that ends without a stop request (nothing left to do) is a stop too */
    if (!svc->stopping) {
        antt_service_stop(svc);
        uv_run(&svc->loop, UV_RUN_DEFAULT);
    }
    if (svc->http == NULL) {
        uv_close((uv_handle_t *)&svc->grace, NULL);
        uv_run(&svc->loop, UV_RUN_DEFAULT);
    }
    int closed = uv_loop_close(&svc->loop);
    antt_owners_detach(&svc->loop);
    if (closed == 0) {
        /* the ZAP handler's thread ends when the context shuts down */
        zmq_ctx_shutdown(svc->zctx);
        antt_curve_destroy(&svc->curve);
        zmq_ctx_term(svc->zctx);
        antt_config_destroy(&svc->cfg);
        antt_metrics_reset();
        ANTT_LOG(ANTT_INFO, "stopped");
    } else {
        /* connections still open after the grace period: the process exits
         * and the kernel closes them */
        ANTT_LOG(ANTT_INFO, "stopped with client connections still open");
    }
    /* its waiting jobs failed at the stop; nothing runs any more */
    antt_http_gate_destroy(&svc->gate);
    antt_leader_destroy(&svc->leader);
    return 0;
}
