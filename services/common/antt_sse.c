/* antt_sse: see antt_sse.h. */
#include "antt_sse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_log.h"
#include "antt_metrics.h"
#include "antt_token.h"
#include "antt_util.h"

#define S_KEEPALIVE ": keepalive\n\n"
#define S_RETRY_S 5 /* Retry-After of a refused stream */

struct antt_sse_stream_s {
    antt_sse_t *hub;            /* owner */
    antt_http_req_t *req;       /* the open response */
    uint64_t id;                /* unique in the hub */
    char peer[48];              /* the client's address */
    void *user;                 /* the service's data */
    antt_sse_free_cb free_cb;   /* frees user */
    antt_sse_fill_cb fill;      /* writes the next piece, or NULL */
    int has_token;              /* authenticated: re-checked */
    uint8_t token[ANTT_HASH_BYTES]; /* its token's hash */
    char scope[72];             /* what the token must hold for ("" only itself) */
    antt_sse_stream_t *prev, *next; /* the hub's list */
};

struct antt_sse_s {
    uv_loop_t *loop;             /* the service loop */
    antt_sse_limits_t lim;       /* caps and intervals */
    antt_sse_stream_t *head;     /* open streams */
    size_t n;                    /* their number */
    uint64_t next_id;            /* id of the next stream */
    uv_timer_t keepalive;        /* comment lines */
    uv_timer_t recheck;          /* token re-checks */
    antt_db_t *recheck_db;       /* where they run */
    char *recheck_sql;           /* the query, $1 the hashes */
    antt_sse_revoked_cb revoked; /* told of a stream ended by one */
    void *revoked_arg;           /* its argument */
    int rechecking;              /* one is in flight (the hub is freed after it) */
    int closing;                 /* antt_sse_close was called */
    int nclosed;                 /* timers closed so far */
    antt_metric_t *m_clients, *m_dropped, *m_refused;
};

/* The hub lets go of st (the response is ended, aborted or gone). */
static void s_forget(antt_sse_stream_t *st)
{
    antt_sse_t *hub = st->hub;
    if (st->prev)
        st->prev->next = st->next;
    else
        hub->head = st->next;
    if (st->next)
        st->next->prev = st->prev;
    hub->n--;
    antt_metric_set(hub->m_clients, (double)hub->n);
    if (st->free_cb)
        st->free_cb(st->user);
    free(st);
}

static void s_drop(antt_sse_stream_t *st)
{
    antt_metric_inc(st->hub->m_dropped);
    antt_http_stream_abort(st->req);
    s_forget(st);
}

static void s_on_keepalive(uv_timer_t *t)
{
    antt_sse_t *hub = t->data;
    for (antt_sse_stream_t *st = hub->head, *next; st; st = next) {
        next = st->next;
        /* a stream being filled may be in the middle of an event (a comment
         * line there would break it); its writes find a dead peer anyway */
        if (st->fill == NULL)
            antt_sse_send(st, S_KEEPALIVE, sizeof(S_KEEPALIVE) - 1);
    }
}

static void s_free_hub(antt_sse_t *hub)
{
    free(hub->recheck_sql);
    free(hub);
}

/* Ends the streams whose token no longer holds: the rows are the hashes
 * that do (and the scope each holds for). */
static void s_on_rechecked(antt_db_job_t *job, int status, void *arg)
{
    antt_sse_t *hub = arg;
    hub->rechecking = 0;
    if (hub->closing) {
        if (hub->nclosed == 2)
            s_free_hub(hub);
        return;
    }
    if (status != 0)
        return; /* the next interval tries again */
    PGresult *r = antt_db_job_result(job, 0);
    int scoped = PQnfields(r) > 1;
    for (antt_sse_stream_t *st = hub->head, *next; st; st = next) {
        next = st->next;
        if (!st->has_token)
            continue;
        char hex[2 * ANTT_HASH_BYTES + 1];
        antt_token_hex(st->token, hex);
        int holds = 0;
        for (int i = 0; i < PQntuples(r) && !holds; i++)
            holds = !strcmp(PQgetvalue(r, i, 0), hex) && (!scoped || !strcmp(PQgetvalue(r, i, 1), st->scope));
        if (!holds) {
            if (hub->revoked)
                hub->revoked(st, hub->revoked_arg);
            antt_sse_end(st);
        }
    }
}

static void s_on_recheck(uv_timer_t *t)
{
    antt_sse_t *hub = t->data;
    if (hub->rechecking || hub->closing || !antt_db_connected(hub->recheck_db))
        return;
    antt_buf_t b; /* the streams' token hashes as one text[] literal */
    antt_buf_init(&b);
    antt_buf_puts(&b, "{");
    for (const antt_sse_stream_t *st = hub->head; st; st = st->next) {
        char hex[2 * ANTT_HASH_BYTES + 1];
        if (!st->has_token)
            continue;
        antt_token_hex(st->token, hex);
        antt_buf_printf(&b, "%s%s", b.len > 1 ? "," : "", hex);
    }
    antt_buf_puts(&b, "}");
    if (b.len > 2) {
        const char *v[1] = {b.data};
        antt_db_job_t *job = antt_db_job_new(s_on_rechecked, hub);
        antt_db_job_add(job, hub->recheck_sql, 1, v, NULL, NULL);
        antt_db_job_set_timeout(job, 2000);
        if (antt_db_submit(hub->recheck_db, job) == 0)
            hub->rechecking = 1;
    }
    antt_buf_cleanup(&b);
}

antt_sse_t *antt_sse_new(uv_loop_t *loop, const char *metric, const antt_sse_limits_t *lim)
{
    antt_sse_t *hub = antt_xcalloc(1, sizeof(*hub));
    hub->loop = loop;
    hub->lim = *lim;
    hub->next_id = 1;
    char name[128];
    snprintf(name, sizeof(name), "%s_clients", metric);
    hub->m_clients = antt_metrics_gauge(name, "Open Server-Sent Events streams", NULL);
    snprintf(name, sizeof(name), "%s_dropped_total", metric);
    hub->m_dropped = antt_metrics_counter(name, "SSE streams dropped for owing more than sse.max_unsent_bytes", NULL);
    snprintf(name, sizeof(name), "%s_refused_total", metric);
    hub->m_refused = antt_metrics_counter(name, "SSE streams refused (sse.max_streams or sse.max_per_address)", NULL);
    uv_timer_init(loop, &hub->keepalive);
    hub->keepalive.data = hub;
    uv_timer_start(&hub->keepalive, s_on_keepalive, (uint64_t)lim->keepalive_ms, (uint64_t)lim->keepalive_ms);
    uv_timer_init(loop, &hub->recheck);
    hub->recheck.data = hub;
    return hub;
}

void antt_sse_recheck_tokens(antt_sse_t *hub, antt_db_t *db, const char *sql, antt_sse_revoked_cb revoked,
                             void *arg)
{
    hub->recheck_db = db;
    free(hub->recheck_sql);
    hub->recheck_sql = antt_xstrdup(sql);
    hub->revoked = revoked;
    hub->revoked_arg = arg;
    uv_timer_start(&hub->recheck, s_on_recheck, (uint64_t)hub->lim.recheck_ms, (uint64_t)hub->lim.recheck_ms);
}

void antt_sse_set_token(antt_sse_stream_t *st, const uint8_t hash[ANTT_HASH_BYTES], const char *scope)
{
    st->has_token = 1;
    memcpy(st->token, hash, sizeof(st->token));
    snprintf(st->scope, sizeof(st->scope), "%s", scope ? scope : "");
}

static size_t s_from(const antt_sse_t *hub, const char *peer)
{
    size_t k = 0;
    for (const antt_sse_stream_t *st = hub->head; st; st = st->next)
        k += strcmp(st->peer, peer) == 0;
    return k;
}

int antt_sse_full(antt_sse_t *hub, antt_http_req_t *req)
{
    const char *why = hub->closing                                   ? "service stopping"
                      : hub->n >= (size_t)hub->lim.max_streams      ? "too many open streams"
                      : s_from(hub, antt_http_peer(req)) >= (size_t)hub->lim.max_per_address
                          ? "too many open streams from this address"
                          : NULL;
    if (why == NULL)
        return 0;
    antt_metric_inc(hub->m_refused);
    /* a refused stream's connection is not kept: a flood of them must not
     * hold descriptors until the idle timeout */
    antt_http_set_close(req);
    antt_http_busy(req, why, S_RETRY_S);
    return 1;
}

static void s_on_gone(antt_http_req_t *req, void *arg)
{
    (void)req;
    s_forget(arg);
}

static void s_on_drain(antt_http_req_t *req, void *arg)
{
    (void)req;
    antt_sse_stream_t *st = arg;
    if (st->fill)
        st->fill(st, st->user);
}

antt_sse_stream_t *antt_sse_open(antt_sse_t *hub, antt_http_req_t *req, void *user, antt_sse_free_cb free_cb)
{
    if (antt_sse_full(hub, req))
        return NULL;
    antt_sse_stream_t *st = antt_xcalloc(1, sizeof(*st));
    st->hub = hub;
    st->req = req;
    st->id = hub->next_id++;
    snprintf(st->peer, sizeof(st->peer), "%s", antt_http_peer(req));
    st->user = user;
    st->free_cb = free_cb;
    st->next = hub->head;
    if (hub->head)
        hub->head->prev = st;
    hub->head = st;
    hub->n++;
    antt_metric_set(hub->m_clients, (double)hub->n);
    antt_http_add_header(req, "cache-control", "no-cache");
    antt_http_set_sndbuf(req, (int)hub->lim.socket_buffer);
    antt_http_stream_start(req, 200, "text/event-stream", s_on_gone, st);
    antt_http_stream_on_drain(req, s_on_drain, st);
    return st;
}

int antt_sse_send(antt_sse_stream_t *st, const char *data, size_t len)
{
    size_t unsent = antt_http_stream_unsent(st->req);
    if (unsent > 0 && unsent + len > (size_t)st->hub->lim.max_unsent) {
        /* checked before the bytes are taken: a stream never holds more
         * than its cap (or one message, when that alone is larger) */
        ANTT_LOG(ANTT_DEBUG, "sse stream dropped peer=%s unsent=%zu", st->peer, unsent);
        s_drop(st);
        return -1;
    }
    if (antt_http_stream_write(st->req, data, len) == -EPIPE) {
        /* its client left before the stream started (while a service
         * looked something up): no on_gone will come */
        antt_http_stream_end(st->req);
        s_forget(st);
        return -1;
    }
    return 0;
}

void antt_sse_set_fill(antt_sse_stream_t *st, antt_sse_fill_cb fill)
{
    st->fill = fill;
}

void antt_sse_end_all(antt_sse_t *hub)
{
    if (hub == NULL)
        return;
    for (antt_sse_stream_t *st = antt_sse_first(hub), *next; st; st = next) {
        next = antt_sse_next(st);
        antt_sse_end(st);
    }
}

void antt_sse_end(antt_sse_stream_t *st)
{
    if (antt_http_stream_unsent(st->req) > 0)
        antt_http_stream_abort(st->req);
    else
        antt_http_stream_end(st->req);
    s_forget(st);
}

void *antt_sse_user(const antt_sse_stream_t *st)
{
    return st->user;
}

size_t antt_sse_unsent(const antt_sse_stream_t *st)
{
    return antt_http_stream_unsent(st->req);
}

uint64_t antt_sse_id(const antt_sse_stream_t *st)
{
    return st->id;
}

antt_sse_stream_t *antt_sse_find(antt_sse_t *hub, uint64_t id)
{
    for (antt_sse_stream_t *st = hub->head; st; st = st->next)
        if (st->id == id)
            return st;
    return NULL;
}

antt_sse_stream_t *antt_sse_first(antt_sse_t *hub)
{
    return hub->head;
}

antt_sse_stream_t *antt_sse_next(const antt_sse_stream_t *st)
{
    return st->next;
}

static void s_timer_closed(uv_handle_t *h)
{
    antt_sse_t *hub = h->data;
    if (++hub->nclosed == 2 && !hub->rechecking)
        s_free_hub(hub);
}

void antt_sse_close(antt_sse_t *hub)
{
    if (hub == NULL || hub->closing)
        return;
    hub->closing = 1;
    while (hub->head)
        antt_sse_end(hub->head);
    uv_close((uv_handle_t *)&hub->keepalive, s_timer_closed);
    uv_close((uv_handle_t *)&hub->recheck, s_timer_closed);
}
