/* notify_sse: the journal of the desk feeds and the browser consoles'
 * Server-Sent Events streams (GET /api/v1/feed).
 *
 * Every update notify_publish sends goes into the journal (desk_feed,
 * migration 010) with the desks that see it; the journal numbers it, and
 * that number is the SSE event id. A stream gets an update once it is
 * numbered, so that a client reconnecting with Last-Event-ID n (or
 * ?last_event_id=n) gets, from PostgreSQL, exactly the events of its desk
 * after n, then the live ones: no duplicate, no gap. Why that holds:
 * - numbers follow commit order (antt_desk_feed_append serialises appends
 *   on one row lock);
 * - the journal is written, and streams are opened, on notification's one
 *   database connection, whose jobs complete in the order they were
 *   submitted: an open sees every append submitted before it and none
 *   after, and each stream remembers the last number it got (or the head
 *   when it opened), so that a later append's events are sent only when
 *   newer;
 * - an update announced twice (the catch-up) keeps its first number.
 * Appends go one batch at a time (group commit); a batch whose outcome is
 * unknown (connection lost) is appended again when the database is back
 * (idempotent). The replay is bounded: at most replay_max events, and the
 * journal keeps keep_h hours; beyond, or for an id the journal does not
 * know, the stream gets a `reset` event: reload the list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "antt_form.h"
#include "antt_http_gate.h"
#include "antt_log.h"
#include "antt_sse.h"
#include "antt_util.h"
#include "notify_int.h"
#include "antt_token.h"

#define N_BATCH 500         /* updates in one append */
#define N_QUEUE_MAX 50000   /* updates waiting for the database before the oldest are given up */

/* What notification keeps of a desk stream (the hub's user data). A stream
 * that falls behind by more than sse.max_unsent_bytes is dropped by the hub;
 * its browser comes back with Last-Event-ID and replays. */
typedef struct n_stream {
    antt_sse_stream_t *st;       /* the hub's stream */
    char desk[64];               /* the dispatcher's desk */
    int64_t last;                /* the number of the last event it got (or the head when it opened) */
} n_stream_t;

struct notify_sse_s {
    n_svc_t *n;            /* the service (database, loop) */
    long replay_max;       /* events replayed at most */
    long keep_h;           /* hours the journal keeps */
    antt_sse_t *hub;       /* the open streams */
    size_t replay_bytes;   /* a replay larger than this is a reset (half of sse.max_unsent_bytes) */
    json_t **q;            /* updates to append, in publish order: {incident_id, version, kind, desks, body} */
    size_t nq, cq;         /* queued, allocated */
    size_t nsent;          /* the first nsent of q are being appended */
    int overflowed;        /* the queue gave updates up (the streams were told) */
    int closing;           /* stop requested */
    antt_metric_t *m_replayed, *m_resets, *m_given_up, *m_revoked;
};

/* A stream ended by the token re-check: its token is no longer an active
 * dispatcher's of the same desk (deactivated, deleted, moved). */
static void s_revoked(antt_sse_stream_t *st, void *arg)
{
    notify_sse_t *s = arg;
    const n_stream_t *c = antt_sse_user(st);
    ANTT_LOG(ANTT_INFO, "sse stream ended desk=%s: the dispatcher token no longer holds", c->desk);
    antt_metric_inc(s->m_revoked);
}

notify_sse_t *notify_sse_new(n_svc_t *n, long replay_max, long keep_h, const antt_sse_limits_t *lim)
{
    notify_sse_t *s = antt_xcalloc(1, sizeof(*s));
    s->n = n;
    s->replay_max = replay_max;
    s->keep_h = keep_h;
    s->hub = antt_sse_new(&n->svc->loop, "antt_notify_sse", lim);
    s->replay_bytes = (size_t)lim->max_unsent / 2;
    antt_sse_recheck_tokens(s->hub, n->db,
                            "SELECT encode(x.token_hash, 'hex'), x.desk_code FROM dispatchers x WHERE x.active"
                            " AND x.token_hash = ANY (SELECT decode(h, 'hex') FROM unnest($1::text[]) h)",
                            s_revoked, s);
    s->m_replayed = antt_metrics_counter("antt_notify_sse_replayed_total",
                                         "Events replayed from the journal to reconnecting SSE clients", NULL);
    s->m_resets = antt_metrics_counter("antt_notify_sse_resets_total",
                                       "SSE clients told to reload (their Last-Event-ID could not be replayed)", NULL);
    s->m_given_up = antt_metrics_counter("antt_notify_journal_given_up_total",
                                         "Updates not journaled (database failure or too long a queue)", NULL);
    s->m_revoked = antt_metrics_counter("antt_notify_sse_revoked_total",
                                        "SSE streams ended because their dispatcher token no longer holds", NULL);
    return s;
}

/* Writes to one stream. Returns -1 when c is gone (freed). */
static int s_write(notify_sse_t *s, n_stream_t *c, const char *data, size_t len)
{
    (void)s;
    return antt_sse_send(c->st, data, len);
}


static int s_write_event(notify_sse_t *s, n_stream_t *c, int64_t seq, const char *body)
{
    char *ev = antt_xasprintf("event: incident\nid: %lld\ndata: %s\n\n", (long long)seq, body);
    int rc = s_write(s, c, ev, strlen(ev));
    free(ev);
    if (rc == 0)
        c->last = seq;
    return rc;
}

/* Tells c to reload the list; its next events continue from head (0: it
 * keeps its id). */
static int s_write_reset(notify_sse_t *s, n_stream_t *c, int64_t head, const char *why)
{
    antt_metric_inc(s->m_resets);
    json_t *o = json_pack("{s:s}", "reason", why);
    char *data = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char idline[40] = "";
    if (head > 0)
        snprintf(idline, sizeof(idline), "id: %lld\n", (long long)head);
    char *ev = antt_xasprintf("event: reset\n%sdata: %s\n\n", idline, data);
    free(data);
    int rc = s_write(s, c, ev, strlen(ev));
    free(ev);
    if (rc == 0 && head > 0)
        c->last = head;
    return rc;
}

/* Tells every stream to reload (it keeps its id). */
static void s_reset_all(notify_sse_t *s, const char *why)
{
    for (antt_sse_stream_t *st = antt_sse_first(s->hub), *next; st; st = next) {
        next = antt_sse_next(st);
        s_write_reset(s, antt_sse_user(st), 0, why);
    }
}

/* ---- the journal ------------------------------------------------------------ */

static void s_flush(notify_sse_t *s);

static int s_sees(json_t *item, const char *desk)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(item, "desks"), i, d)
        if (!strcmp(json_string_value(d), desk))
            return 1;
    return 0;
}

/* The first k queued updates are done with. */
static void s_shift(notify_sse_t *s, size_t k)
{
    for (size_t i = 0; i < k; i++)
        json_decref(s->q[i]);
    memmove(s->q, s->q + k, (s->nq - k) * sizeof(*s->q));
    s->nq -= k;
}

static void s_on_appended(antt_db_job_t *job, int status, void *arg)
{
    notify_sse_t *s = arg;
    size_t sent = s->nsent;
    s->nsent = 0;
    if (status == -ECANCELED || s->closing)
        return;
    if (status == -ECONNRESET || status == -ENOTCONN) {
        /* unknown outcome: appended again (idempotent) when the database is back */
        return;
    }
    if (status != 0) {
        ANTT_LOG(ANTT_WARN, "could not journal updates=%zu: %s (SSE clients reload)", sent,
                 antt_db_job_error(job) ? antt_db_job_error(job) : "");
        antt_metric_add(s->m_given_up, (double)sent);
        s_shift(s, sent);
        s_reset_all(s, "an update could not be journaled");
        s_flush(s);
        return;
    }
    PGresult *r = antt_db_job_result(job, 0);
    for (int i = 0; i < PQntuples(r); i++) {
        size_t ord = (size_t)atol(PQgetvalue(r, i, 0));
        int64_t seq = atoll(PQgetvalue(r, i, 1));
        if (ord >= sent)
            continue;
        json_t *item = s->q[ord];
        const char *body = json_string_value(json_object_get(item, "body"));
        for (antt_sse_stream_t *st = antt_sse_first(s->hub), *next; st; st = next) {
            next = antt_sse_next(st);
            n_stream_t *c = antt_sse_user(st);
            if (seq > c->last && s_sees(item, c->desk))
                s_write_event(s, c, seq, body);
        }
    }
    s_shift(s, sent);
    s_flush(s);
}

/* Appends the next batch unless one is in flight. */
static void s_flush(notify_sse_t *s)
{
    if (s->closing || s->nsent || s->nq == 0 || !antt_db_connected(s->n->db))
        return;
    size_t k = s->nq < N_BATCH ? s->nq : N_BATCH;
    json_t *items = json_array();
    for (size_t i = 0; i < k; i++) {
        json_t *it = json_copy(s->q[i]); /* shallow: shares the members */
        json_object_set_new(it, "ord", json_integer((json_int_t)i));
        json_array_append_new(items, it);
    }
    char *v = json_dumps(items, JSON_COMPACT);
    json_decref(items);
    const char *vals[1] = {v};
    antt_db_job_t *job = antt_db_job_new(s_on_appended, s);
    antt_db_job_add(job, "SELECT ord, seq FROM antt_desk_feed_append($1::jsonb)", 1, vals, NULL, NULL);
    free(v);
    if (antt_db_submit(s->n->db, job) == 0)
        s->nsent = k;
}

void notify_sse_append(notify_sse_t *s, const Antt__V1__IncidentUpdate *u, const char *const *aud, int k)
{
    if (s == NULL || s->closing || u->incident_id == NULL)
        return;
    if (s->nq >= N_QUEUE_MAX && s->nsent == 0) {
        /* the database has been away long: the oldest update is given up,
         * and the streams, which will miss it, reload (once per episode) */
        antt_metric_inc(s->m_given_up);
        s_shift(s, 1);
        if (!s->overflowed)
            s_reset_all(s, "updates could not be journaled");
        s->overflowed = 1;
    } else if (s->nq < N_QUEUE_MAX / 2) {
        s->overflowed = 0;
    }
    if (s->nq == s->cq) {
        s->cq = s->cq ? 2 * s->cq : 256;
        s->q = antt_xrealloc(s->q, s->cq * sizeof(*s->q));
    }
    json_t *desks = json_array();
    for (int i = 0; i < k; i++)
        json_array_append_new(desks, json_string(aud[i]));
    char *body = notify_update_json(u);
    s->q[s->nq++] = json_pack("{s:s, s:I, s:s, s:o, s:s}", "incident_id", u->incident_id, "version",
                              (json_int_t)u->version, "kind", notify_kind_name(u->kind), "desks", desks, "body", body);
    free(body);
    s_flush(s);
}

void notify_sse_db_up(notify_sse_t *s)
{
    s_flush(s);
}

static void s_on_pruned(antt_db_job_t *job, int status, void *arg)
{
    (void)arg;
    if (status == 0) {
        PGresult *r = antt_db_job_result(job, 0);
        if (PQntuples(r) == 1 && atol(PQgetvalue(r, 0, 0)) > 0)
            ANTT_LOG(ANTT_DEBUG, "journal pruned events=%s", PQgetvalue(r, 0, 0));
    } else if (status != -ECANCELED) {
        ANTT_LOG(ANTT_WARN, "could not prune the journal: %s", antt_db_job_error(job) ? antt_db_job_error(job) : "");
    }
}

void notify_sse_prune(notify_sse_t *s)
{
    char h[32];
    snprintf(h, sizeof(h), "%ld", s->keep_h);
    const char *v[1] = {h};
    antt_db_job_t *job = antt_db_job_new(s_on_pruned, s);
    antt_db_job_add(job, "SELECT antt_desk_feed_prune(make_interval(hours => $1::int))", 1, v, NULL, NULL);
    antt_db_submit(s->n->db, job);
}

/* ---- streams ---------------------------------------------------------------- */

typedef struct n_open {
    notify_sse_t *s;
    antt_http_req_t *req;
    int64_t after;   /* the client's Last-Event-ID; -1 none */
    int unknown;     /* it gave one that is not a number of ours */
    uint8_t hash[ANTT_HASH_BYTES]; /* the token's hash */
} n_open_t;

static void s_on_open(antt_db_job_t *job, int status, void *arg)
{
    n_open_t *o = arg;
    notify_sse_t *s = o->s;
    PGresult *r = status == 0 ? antt_db_job_result(job, 0) : NULL;
    n_stream_t *c = NULL;
    if (status == -ECANCELED || s->closing) {
        antt_http_json_error(o->req, 503, "unavailable", "service stopping");
    } else if (r == NULL) {
        antt_http_json_error(o->req, 503, "unavailable", "database unavailable");
    } else if (PQntuples(r) < 1) {
        antt_http_json_error(o->req, 403, "forbidden", "unknown or revoked dispatcher token");
    } else if ((c = antt_xcalloc(1, sizeof(*c)), c->st = antt_sse_open(s->hub, o->req, c, free)) == NULL) {
        free(c); /* refused: over a cap (answered) */
    } else {
        snprintf(c->desk, sizeof(c->desk), "%s", PQgetvalue(r, 0, 0));
        antt_sse_set_token(c->st, o->hash, c->desk);
        int64_t head = atoll(PQgetvalue(r, 0, 1)), pruned = atoll(PQgetvalue(r, 0, 2));
        int missed = PQntuples(r) - 1;
        size_t bytes = 0; /* the replay's size: it goes in one go, so it must fit the stream's cap */
        for (int i = 1; i <= missed; i++)
            bytes += (size_t)PQgetlength(r, i, 4) + 48;
        c->last = head;
        char *hello = antt_xasprintf(": desk %s\nretry: 2000\n\n", c->desk);
        int rc = s_write(s, c, hello, strlen(hello));
        free(hello);
        const char *why = o->unknown || o->after > head ? "unknown event id"
                          : o->after >= 0 && o->after < pruned ? "event id older than the journal"
                          : missed > s->replay_max || bytes > s->replay_bytes ? "too many events missed"
                                                                               : NULL;
        if (rc == 0 && why) {
            s_write_reset(s, c, head, why);
        } else if (rc == 0) {
            /* what the client missed, then live from head on */
            for (int i = 1; i <= missed && rc == 0; i++)
                rc = s_write_event(s, c, atoll(PQgetvalue(r, i, 3)), PQgetvalue(r, i, 4));
            antt_metric_add(s->m_replayed, missed);
            if (rc == 0)
                c->last = head;
            if (rc == 0 && missed > 0) /* else c is gone */
                ANTT_LOG(ANTT_DEBUG, "sse replayed desk=%s events=%d after=%lld", c->desk, missed,
                         (long long)o->after);
        }
    }
    free(o);
}

/* The client's Last-Event-ID (header, else last_event_id=): -1 when it gave
 * none, else the number; *unknown when it gave something else. */
static int64_t s_last_event_id(antt_http_req_t *req, int *unknown)
{
    char v[64] = "";
    antt_str_t h = antt_http_header(req, "last-event-id");
    antt_form_t f = {0};
    antt_str_t q = antt_http_query(req);
    if (h.n) {
        snprintf(v, sizeof(v), "%.*s", (int)(h.n < sizeof(v) ? h.n : sizeof(v) - 1), h.p);
        *unknown = h.n >= sizeof(v);
    } else if (q.n && antt_form_parse(&f, q.p, q.n, 16) == 0 && antt_form_get(&f, "last_event_id")) {
        const antt_form_field_t *fl = antt_form_get(&f, "last_event_id");
        snprintf(v, sizeof(v), "%s", fl->value);
        *unknown = fl->value_len >= sizeof(v);
    }
    antt_form_cleanup(&f);
    if (!v[0])
        return -1;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || n < 0 || v[0] == '-' || v[0] == '+')
        *unknown = 1;
    return *unknown ? -1 : (int64_t)n;
}

void notify_sse_http_feed(antt_http_req_t *req, void *arg)
{
    n_svc_t *n = arg;
    notify_sse_t *s = n->sse;
    char token[256];
    notify_http_bearer(req, token, sizeof(token));
    if (s->closing) {
        antt_http_json_error(req, 503, "unavailable", "service stopping");
        return;
    }
    if (!token[0]) {
        antt_http_json_error(req, 403, "forbidden", "a dispatcher token is required");
        return;
    }
    if (antt_sse_full(s->hub, req))
        return; /* no database work for a stream that could not open */
    n_open_t *o = antt_xcalloc(1, sizeof(*o));
    uint8_t *hash = o->hash;
    antt_api_key_hash(token, strlen(token), hash);
    o->s = s;
    o->req = req;
    o->after = s_last_event_id(req, &o->unknown);
    char after[32], max[32];
    snprintf(after, sizeof(after), "%lld", (long long)o->after);
    snprintf(max, sizeof(max), "%ld", s->replay_max + 1);
    const char *v[3] = {(const char *)hash, o->after >= 0 ? after : NULL, max};
    int lens[3] = {ANTT_HASH_BYTES, 0, 0}, fmts[3] = {1, 0, 0};
    antt_db_job_t *job = antt_db_job_new(s_on_open, o);
    antt_db_job_add(job,
                    "SELECT desk, last_seq, pruned_to, seq, body FROM antt_desk_feed_open($1::bytea, $2::bigint,"
                    " $3::int)",
                    3, v, lens, fmts);
    if (antt_http_gate_run(req, n->db, job, s_on_open, o) != 0)
        free(o);
}

void notify_sse_end_streams(notify_sse_t *s)
{
    if (s != NULL && !s->closing)
        antt_sse_end_all(s->hub);
}

void notify_sse_close(notify_sse_t *s)
{
    if (s == NULL || s->closing)
        return;
    s->closing = 1;
    antt_sse_close(s->hub);
    s->hub = NULL;
}

void notify_sse_destroy(notify_sse_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    notify_sse_t *s = *self_p;
    notify_sse_close(s);
    s_shift(s, s->nq);
    free(s->q);
    free(s);
    *self_p = NULL;
}
