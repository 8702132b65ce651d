/* antt_http_gate: see antt_http_gate.h. */
#include "antt_http_gate.h"

#include <errno.h>
#include <stdlib.h>

#include "antt_http_peers.h"
#include "antt_metrics.h"
#include "antt_util.h"

typedef struct s_entry {
    antt_http_gate_t *gate; /* owner */
    antt_http_req_t *req;   /* whose job it is */
    antt_http_peer_t *peer; /* its client address's count of jobs here */
    antt_db_t *db;          /* where the job runs */
    antt_db_job_t *job;     /* NULL once submitted */
    antt_db_job_cb cb;      /* the caller's callback */
    void *arg;              /* cb argument */
    struct s_entry *next;   /* queue link */
} s_entry_t;

struct antt_http_gate_s {
    size_t max_inflight;   /* jobs on the connections at most */
    size_t max_queue;      /* jobs waiting at most */
    size_t max_per_address;/* jobs (running or waiting) of one client address at most (0: no cap) */
    antt_http_peers_t *peers; /* jobs per client address */
    long timeout_ms;       /* statement timeout of each job */
    size_t inflight;       /* jobs on the connections */
    size_t nqueued;        /* jobs waiting */
    s_entry_t *head, *tail;/* waiting, oldest first */
    int cancelled;         /* antt_http_gate_cancel was called */
    antt_metric_t *m_refused, *m_queued; /* 503s; jobs waiting */
    antt_metric_t *m_dropped;            /* jobs of clients gone before their turn */
};

antt_http_gate_t *antt_http_gate_new(size_t max_inflight, size_t max_queue, long timeout_ms)
{
    antt_http_gate_t *g = antt_xcalloc(1, sizeof(*g));
    g->max_inflight = max_inflight ? max_inflight : 1;
    g->max_queue = max_queue;
    g->timeout_ms = timeout_ms;
    g->m_refused = antt_metrics_counter("antt_http_db_refused_total",
                                        "HTTP requests answered 503 because the database queue was full", NULL);
    g->peers = antt_http_peers_new();
    g->m_queued = antt_metrics_gauge("antt_http_db_queued", "HTTP database jobs waiting for a slot", NULL);
    g->m_dropped = antt_metrics_counter("antt_http_db_dropped_total",
                                        "HTTP database jobs dropped unrun: their client had gone", NULL);
    return g;
}

static void s_pump(antt_http_gate_t *g);

static void s_done(antt_db_job_t *job, int status, void *arg)
{
    s_entry_t *e = arg;
    antt_http_gate_t *g = e->gate;
    g->inflight--;
    antt_http_peers_leave(g->peers, e->peer);
    e->cb(job, status, e->arg);
    free(e);
    s_pump(g);
}

/* A job whose client has gone is not run: its callback hears -ECANCELED
 * (and answers, which releases the request), and the connection closes
 * after that answer, so what the client pipelined behind it is not read. */
static int s_gone(antt_http_gate_t *g, antt_http_req_t *req, antt_db_job_t **job, antt_db_job_cb cb, void *arg)
{
    if (!antt_http_client_gone(req))
        return 0;
    antt_metric_inc(g->m_dropped);
    antt_http_set_close(req);
    cb(*job, -ECANCELED, arg);
    antt_db_job_destroy(job);
    return 1;
}

/* Starts e's job; a connection that is down fails it as antt_db would have. */
static void s_start(antt_http_gate_t *g, s_entry_t *e)
{
    antt_db_job_t *job = e->job;
    e->job = NULL;
    if (s_gone(g, e->req, &job, e->cb, e->arg)) {
        antt_http_peers_leave(g->peers, e->peer);
        free(e);
        return;
    }
    if (!antt_db_connected(e->db)) {
        antt_http_peers_leave(g->peers, e->peer);
        e->cb(job, -ENOTCONN, e->arg);
        antt_db_job_destroy(&job);
        free(e);
        return;
    }
    if (g->timeout_ms > 0)
        antt_db_job_set_timeout(job, g->timeout_ms);
    antt_db_job_set_cb(job, s_done, e);
    g->inflight++;
    antt_db_submit(e->db, job); /* connected: accepted */
}

static void s_pump(antt_http_gate_t *g)
{
    while (g->head && g->inflight < g->max_inflight) {
        s_entry_t *e = g->head;
        g->head = e->next;
        if (g->head == NULL)
            g->tail = NULL;
        g->nqueued--;
        s_start(g, e);
    }
    antt_metric_set(g->m_queued, (double)g->nqueued);
}

int antt_http_gate_run(antt_http_req_t *req, antt_db_t *db, antt_db_job_t *job, antt_db_job_cb cb, void *arg)
{
    antt_http_gate_t *g = antt_http_gate_of(req);
    if (!antt_db_connected(db) || (g && g->cancelled)) {
        antt_db_job_destroy(&job);
        antt_http_error(req, 503, "unavailable", "database unavailable", 2);
        return -ENOTCONN;
    }
    if (g == NULL) {
        antt_db_job_set_cb(job, cb, arg);
        antt_db_submit(db, job);
        return 0;
    }
    if (s_gone(g, req, &job, cb, arg))
        return 0; /* answered */
    if (g->inflight >= g->max_inflight && g->nqueued >= g->max_queue) {
        antt_db_job_destroy(&job);
        antt_metric_inc(g->m_refused);
        antt_http_busy(req, "too many requests waiting for the database", 1);
        return -EBUSY;
    }
    antt_http_peer_t *peer = antt_http_peers_enter(g->peers, antt_http_peer_addr(req), g->max_per_address);
    if (peer == NULL) {
        /* one address's share is taken: the others keep theirs (a client
         * that pipelines on many connections and never reads would
         * otherwise hold every place for as long as it likes) */
        antt_db_job_destroy(&job);
        antt_metric_inc(g->m_refused);
        antt_http_busy(req, "too many requests from this address waiting for the database", 1);
        return -EBUSY;
    }
    s_entry_t *e = antt_xcalloc(1, sizeof(*e));
    e->peer = peer;
    e->gate = g;
    e->req = req;
    e->db = db;
    e->job = job;
    e->cb = cb;
    e->arg = arg;
    if (g->tail)
        g->tail->next = e;
    else
        g->head = e;
    g->tail = e;
    g->nqueued++;
    s_pump(g);
    return 0;
}

void antt_http_gate_cancel(antt_http_gate_t *g)
{
    if (g == NULL)
        return;
    g->cancelled = 1;
    while (g->head) {
        s_entry_t *e = g->head;
        g->head = e->next;
        g->nqueued--;
        antt_http_peers_leave(g->peers, e->peer);
        e->cb(e->job, -ECANCELED, e->arg);
        antt_db_job_destroy(&e->job);
        free(e);
    }
    g->tail = NULL;
}

void antt_http_gate_destroy(antt_http_gate_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    antt_http_gate_cancel(*self_p);
    antt_http_peers_destroy(&(*self_p)->peers);
    free(*self_p);
    *self_p = NULL;
}

void antt_http_gate_set_max_per_address(antt_http_gate_t *g, size_t n)
{
    g->max_per_address = n;
}

size_t antt_http_gate_inflight(const antt_http_gate_t *g)
{
    return g->inflight;
}

size_t antt_http_gate_queued(const antt_http_gate_t *g)
{
    return g->nqueued;
}
