/* antt_leader: active/standby through a session advisory lock (see
 * antt_leader.h for how a leader stops acting). */
#include "antt_leader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_log.h"
#include "antt_metrics.h"
#include "antt_util.h"

/* "lead" in ASCII: the first key of every leader lock (the second is the
 * service name's hashtext); apart from the migration lock and the
 * transaction locks of the schema's functions */
#define L_KEY1 "1818583396"

typedef struct l_route {
    antt_leader_t *l;          /* owner */
    antt_http_handler_cb cb;   /* the route's handler while active */
    void *arg;                 /* its argument */
} l_route_t;

struct antt_leader_s {
    uv_loop_t *loop;           /* owning loop */
    char *conninfo;            /* the lock session's connection string */
    char *name;                /* the service: the lock's second key */
    long timeout_ms;           /* idle_session_timeout of the lock session */
    uint64_t lease_ns;         /* active while the last confirmation was sent less than this ago */
    antt_db_t *db;             /* the lock session */
    uv_timer_t timer;          /* checks every timeout_ms / 6 */
    antt_leader_cb cb;         /* hears each change */
    void *arg;                 /* cb argument */
    int held;                  /* the lock was got or confirmed and not lost since */
    int checking;              /* a check is in flight */
    uint64_t check_sent_ns;    /* when the check in flight was sent */
    uint64_t confirmed_ns;     /* when the last confirmed check was sent */
    char pid[16];              /* the lock session's backend pid */
    char start[64];            /* and its backend_start: a pid can be reused, the pair cannot */
    l_route_t **routes;        /* antt_leader_route's, freed with l */
    size_t nroutes;            /* count */
    antt_metric_t *m_active, *m_standby, *m_takeovers;
};

int antt_leader_active(const antt_leader_t *l)
{
    return l->held && antt_mono_ns() - l->confirmed_ns < l->lease_ns;
}

const char *antt_leader_role(const antt_leader_t *l)
{
    return antt_leader_active(l) ? "active" : "standby";
}

static void s_set(antt_leader_t *l, int held, const char *why)
{
    if (held == l->held)
        return;
    l->held = held;
    antt_metric_set(l->m_active, held);
    antt_metric_set(l->m_standby, !held);
    if (held) {
        antt_metric_inc(l->m_takeovers);
        ANTT_LOG(ANTT_INFO, "leader: active service=%s lock_pid=%s", l->name, l->pid);
    } else {
        ANTT_LOG(ANTT_WARN, "leader: standby service=%s: %s", l->name, why);
        l->pid[0] = l->start[0] = '\0';
    }
    if (l->cb)
        l->cb(l, held, l->arg);
}

static void s_new_db(antt_leader_t *l);

/* The session may still be alive on a server that stopped answering: a new
 * one is the only way to know where we stand (the old one's lock goes when
 * the server ends it). */
static void s_reconnect(antt_leader_t *l)
{
    antt_db_close(l->db, NULL, NULL);
    l->db = NULL;
    l->checking = 0;
    s_new_db(l);
}

static void s_on_check(antt_db_job_t *job, int status, void *arg)
{
    antt_leader_t *l = arg;
    if (status == -ECANCELED)
        return;
    l->checking = 0;
    if (status != 0) {
        s_set(l, 0, antt_db_job_error(job) ? antt_db_job_error(job) : "lock session lost");
        return;
    }
    PGresult *r = antt_db_job_result(job, antt_db_job_count(job) - 1);
    if (PQntuples(r) != 1) {
        s_set(l, 0, "lock check gave no row");
        return;
    }
    if (l->held) {
        if (atol(PQgetvalue(r, 0, 0)) == 1)
            l->confirmed_ns = l->check_sent_ns;
        else
            s_set(l, 0, "lock no longer held");
        return;
    }
    if (strcmp(PQgetvalue(r, 0, 0), "t") != 0)
        return; /* another process holds it */
    snprintf(l->pid, sizeof(l->pid), "%s", PQgetvalue(r, 0, 1));
    snprintf(l->start, sizeof(l->start), "%s", PQgetvalue(r, 0, 2));
    l->confirmed_ns = l->check_sent_ns;
    if (antt_mono_ns() - l->confirmed_ns < l->lease_ns)
        s_set(l, 1, NULL);
}

static void s_check(antt_leader_t *l)
{
    if (l->held && !antt_leader_active(l)) {
        /* no confirmation within the lease: the server may give the lock
         * away from now on */
        s_set(l, 0, "lock not confirmed within the lease");
        s_reconnect(l);
        return;
    }
    if (l->checking) {
        if (antt_mono_ns() - l->check_sent_ns > (uint64_t)l->timeout_ms * 1000000u)
            s_reconnect(l); /* a standby's try that never came back */
        return;
    }
    if (!antt_db_connected(l->db))
        return;
    const char *v[1] = {l->name};
    antt_db_job_t *job = antt_db_job_new(s_on_check, l);
    if (l->held) {
        antt_db_job_add(job,
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                        " AND classid = " L_KEY1 " AND objid = hashtext($1)::oid AND objsubid = 2 AND granted",
                        1, v, NULL, NULL);
    } else {
        char set[64];
        snprintf(set, sizeof(set), "SET idle_session_timeout = %ld", l->timeout_ms);
        antt_db_job_add(job, set, 0, NULL, NULL, NULL);
        antt_db_job_add(job,
                        "SELECT pg_try_advisory_lock(" L_KEY1 ", hashtext($1)), pg_backend_pid(),"
                        " (SELECT backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid())",
                        1, v, NULL, NULL);
    }
    l->check_sent_ns = antt_mono_ns();
    if (antt_db_submit(l->db, job) == 0)
        l->checking = 1;
}

static void s_on_timer(uv_timer_t *t)
{
    s_check(t->data);
}

static void s_on_state(antt_db_t *db, int connected, void *arg)
{
    antt_leader_t *l = arg;
    (void)db;
    if (!connected)
        s_set(l, 0, "lock session lost");
    else
        s_check(l);
}

static void s_new_db(antt_leader_t *l)
{
    char name[96];
    snprintf(name, sizeof(name), "leader-%s", l->name);
    l->db = antt_db_new(l->loop, l->conninfo, name);
    antt_db_set_max_inflight(l->db, 1);
    antt_db_set_statement_timeout(l->db, l->timeout_ms);
    antt_db_set_state_cb(l->db, s_on_state, l);
    antt_db_start(l->db);
}

antt_leader_t *antt_leader_new(uv_loop_t *loop, const char *conninfo, const char *name, long timeout_ms,
                               antt_leader_cb cb, void *arg)
{
    antt_leader_t *l = antt_xcalloc(1, sizeof(*l));
    l->loop = loop;
    l->conninfo = antt_xstrdup(conninfo);
    l->name = antt_xstrdup(name);
    l->timeout_ms = timeout_ms;
    l->lease_ns = (uint64_t)timeout_ms * 2 / 3 * 1000000u;
    l->cb = cb;
    l->arg = arg;
    l->m_active = antt_metrics_gauge("antt_leader_role", "1 for the role this process has now", "role=\"active\"");
    l->m_standby = antt_metrics_gauge("antt_leader_role", "1 for the role this process has now", "role=\"standby\"");
    l->m_takeovers = antt_metrics_counter("antt_leader_takeovers_total", "Times this process became active", NULL);
    antt_metric_set(l->m_standby, 1);
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    return l;
}

void antt_leader_start(antt_leader_t *l)
{
    s_new_db(l);
    uint64_t every = (uint64_t)l->timeout_ms / 6;
    uv_timer_start(&l->timer, s_on_timer, every, every ? every : 1);
}

void antt_leader_fence(const antt_leader_t *l, antt_db_job_t *job)
{
    int held = antt_leader_active(l);
    const char *v[3] = {l->name, held ? l->pid : "0", held ? l->start : NULL};
    antt_db_job_add(job, "SELECT antt_leader_fence($1, $2::integer, $3::timestamptz)", 3, v, NULL, NULL);
}

static void s_route(antt_http_req_t *req, void *arg)
{
    l_route_t *r = arg;
    if (!antt_leader_active(r->l)) {
        antt_http_error(req, 503, "standby", "this process is a standby: the active one serves this", 1);
        return;
    }
    r->cb(req, r->arg);
}

void antt_leader_route(antt_leader_t *l, antt_http_t *http, const char *prefix, antt_http_handler_cb cb, void *arg)
{
    l_route_t *r = antt_xcalloc(1, sizeof(*r));
    r->l = l;
    r->cb = cb;
    r->arg = arg;
    l->routes = antt_xrealloc(l->routes, (l->nroutes + 1) * sizeof(*l->routes));
    l->routes[l->nroutes++] = r;
    antt_http_route(http, prefix, s_route, r);
}

void antt_leader_destroy(antt_leader_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    antt_leader_t *l = *self_p;
    for (size_t i = 0; i < l->nroutes; i++)
        free(l->routes[i]);
    free(l->routes);
    free(l->conninfo);
    free(l->name);
    free(l);
    *self_p = NULL;
}
