/* agg_stream: GET /api/v1/stream?area=&period=, the trend updates as
 * Server-Sent Events, on the service's antt_sse hub (caps on streams, per
 * address and per stream bytes, keep-alive comments).
 *
 * A new client gets a `snapshot` event (every key under its filter, id
 * "<epoch>:<sequence>"), then a `trend` event per changed key. A client
 * that comes back with Last-Event-ID of the current epoch gets only the
 * keys changed since (each key's latest value), else a snapshot.
 *
 * Nothing large is written at once: a snapshot or a catch-up is a walk over
 * the state in pieces of about A_PIECE bytes, the next piece written when
 * the socket has taken the last one. Updates published meanwhile are not
 * written to the stream; when the walk ends, the keys changed since it
 * began are walked too (a catch-up), until the stream is current and goes
 * live. A live stream that has not taken its last bytes, or whose share of
 * a publish is over a piece, goes back to a catch-up from the last sequence
 * it got: a slow client costs at most one piece, never a backlog.
 *
 * A stream opened with a staff token (Authorization: Bearer, or
 * access_token= since an EventSource sets no header) gets every key of the
 * token's area and below; any other stream is the public's and gets what
 * agg_public_show lets through: no neighbourhood, no key of 1 .. k-1
 * (agg_audience). A staff stream's token is checked again every
 * sse.recheck_ms; a revoked one's stream ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_int.h"
#include "antt_log.h"
#include "antt_token.h"

#define A_PIECE 16384 /* bytes of one piece of a walk */

typedef enum {
    A_LIVE,     /* current: gets each publish */
    A_SNAPSHOT, /* walking the state into one snapshot event */
    A_CATCHUP   /* walking the keys changed after `after` */
} a_phase_t;

typedef struct a_stream {
    agg_svc_t *a;          /* the service */
    antt_sse_stream_t *st; /* the hub's stream */
    char area[72];         /* subtree filter, "" = all */
    char period[16];       /* period filter, "" = any */
    int staff;             /* opened with a staff token: everything under area */
    char last[96];         /* Last-Event-ID the client came back with ("" none) */
    a_phase_t phase;       /* what it is doing */
    int64_t after;         /* a catch-up walks the keys changed after this */
    int64_t upto;          /* the state's sequence when the walk began; live: the last it got */
    size_t cursor;         /* where the walk goes on */
    uint64_t layout;       /* the table's layout when the walk began */
    size_t nitems;         /* items in the snapshot so far */
    antt_buf_t *piece;     /* the piece being built (during a walk step) */
} a_stream_t;

/* A staff stream ended by the token re-check: its token was revoked. */
static void s_revoked(antt_sse_stream_t *st, void *arg)
{
    (void)arg;
    const a_stream_t *c = antt_sse_user(st);
    ANTT_LOG(ANTT_INFO, "sse stream ended area=%s: the dashboard token was revoked", c->area);
}

void agg_stream_init(agg_svc_t *a, const antt_sse_limits_t *lim)
{
    a->hub = antt_sse_new(&a->svc->loop, "antt_aggregation_sse", lim);
    antt_sse_recheck_tokens(a->hub, a->qdb,
                            "SELECT encode(t.token_hash, 'hex') FROM dashboard_tokens t WHERE t.revoked_at IS NULL"
                            " AND t.token_hash = ANY (SELECT decode(h, 'hex') FROM unnest($1::text[]) h)",
                            s_revoked, a);
}

static int s_wants(const a_stream_t *c, const agg_svc_t *a, const agg_kv_t *kv)
{
    return agg_state_under(a->st, kv, c->area) && (!c->period[0] || !strcmp(kv->k.period, c->period));
}

static void s_trend_event(antt_buf_t *b, const agg_kv_t *kv, const char *epoch, int suppressed)
{
    antt_buf_printf(b, "event: trend\nid: %s:%lld\ndata: ", epoch, (long long)kv->seq);
    agg_kv_json(b, kv, epoch, suppressed);
    antt_buf_puts(b, "\n\n");
}

static void s_walk_item(const agg_kv_t *kv, void *arg)
{
    a_stream_t *c = arg;
    if (!c->staff && !agg_public_snapshot_shows(&c->a->pub_rules, agg_kv_fine(kv), kv->count))
        return;
    if (c->phase == A_SNAPSHOT) {
        antt_buf_puts(c->piece, c->nitems++ ? "," : "");
        agg_kv_json(c->piece, kv, c->a->epoch, 0);
        return;
    }
    /* a catch-up goes in table order, not in sequence order: its events
     * carry the walk's start as their id, so that a client that leaves
     * in the middle resumes from there (repeating some keys, which is
     * harmless) instead of from a later key's sequence (missing the ones
     * not yet sent); the walk's end moves the id on (s_fill) */
    antt_buf_printf(c->piece, "event: trend\nid: %s:%lld\ndata: ", c->a->epoch, (long long)c->after);
    agg_kv_json(c->piece, kv, c->a->epoch, 0);
    antt_buf_puts(c->piece, "\n\n");
}

static int s_room(void *arg)
{
    const a_stream_t *c = arg;
    return c->piece->len < A_PIECE;
}

static void s_begin(a_stream_t *c, a_phase_t phase, int64_t after)
{
    c->phase = phase;
    c->after = after;
    c->upto = agg_state_seq(c->a->st);
    c->cursor = 0;
    c->layout = agg_state_layout(c->a->st);
    c->nitems = 0;
}

/* One piece of the walk (the hub calls it when the socket has taken the
 * last); the walk's end starts a catch-up or goes live. */
static void s_fill(antt_sse_stream_t *st, void *user)
{
    a_stream_t *c = user;
    agg_svc_t *a = c->a;
    if (c->phase == A_LIVE)
        return;
    antt_buf_t b;
    antt_buf_init(&b);
    if (c->phase == A_SNAPSHOT && c->cursor == 0 && c->nitems == 0)
        antt_buf_printf(&b, "event: snapshot\nid: %s:%lld\ndata: {\"epoch\":\"%s\",\"sequence\":%lld,\"items\":[",
                        a->epoch, (long long)c->upto, a->epoch, (long long)c->upto);
    if (agg_state_layout(a->st) != c->layout) {
        /* the table grew: keys moved between buckets; walking again from
         * the start repeats some (harmless: later values are newer) */
        c->cursor = 0;
        c->layout = agg_state_layout(a->st);
    }
    c->piece = &b;
    int done = agg_state_each_from(a->st, c->area, c->period, c->phase == A_CATCHUP ? c->after : 0, &c->cursor,
                                   s_room, s_walk_item, c) != 0;
    c->piece = NULL;
    if (done) {
        if (c->phase == A_SNAPSHOT)
            antt_buf_puts(&b, "]}\n\n");
        else /* an id alone sets the client's Last-Event-ID, without an event */
            antt_buf_printf(&b, "id: %s:%lld\n\n", a->epoch, (long long)c->upto);
        if (agg_state_seq(a->st) > c->upto) {
            s_begin(c, A_CATCHUP, c->upto); /* what changed during the walk */
        } else {
            c->phase = A_LIVE;
            antt_sse_set_fill(st, NULL);
        }
    }
    size_t len = b.len;
    int rc = len ? antt_sse_send(st, b.data, len) : 0;
    antt_buf_cleanup(&b);
    if (rc == 0 && c->phase != A_LIVE && len == 0)
        s_fill(st, user); /* an empty piece: nothing to wait for */
}

/* Starts a walk and writes its first piece. */
static void s_start(a_stream_t *c, a_phase_t phase, int64_t after)
{
    s_begin(c, phase, after);
    antt_sse_set_fill(c->st, s_fill);
    if (antt_sse_unsent(c->st) == 0)
        s_fill(c->st, c);
    /* else the hub calls s_fill when the socket has taken what it holds */
}

void agg_stream_publish(agg_svc_t *a, agg_kv_t *const *kv, size_t n)
{
    if (n == 0)
        return;
    for (antt_sse_stream_t *st = antt_sse_first(a->hub), *next; st; st = next) {
        next = antt_sse_next(st);
        a_stream_t *c = antt_sse_user(st);
        if (c->phase != A_LIVE)
            continue; /* its walk's catch-up will have these */
        antt_buf_t b;
        antt_buf_init(&b);
        for (size_t i = 0; i < n && b.len <= A_PIECE; i++) {
            if (!s_wants(c, a, kv[i]))
                continue;
            agg_show_t show = c->staff ? AGG_SHOW_COUNT
                                       : agg_public_show(&a->pub_rules, agg_kv_fine(kv[i]), kv[i]->count, kv[i]->prev);
            if (show != AGG_SHOW_NONE)
                s_trend_event(&b, kv[i], a->epoch, show == AGG_SHOW_SUPPRESSED);
        }
        if (b.len > A_PIECE || antt_sse_unsent(st) > 0)
            s_start(c, A_CATCHUP, c->upto); /* too much at once, or not reading: walk instead */
        else if (b.len == 0 || antt_sse_send(st, b.data, b.len) == 0)
            c->upto = agg_state_seq(a->st);
        antt_buf_cleanup(&b);
    }
}

void agg_stream_resync_all(agg_svc_t *a)
{
    for (antt_sse_stream_t *st = antt_sse_first(a->hub), *next; st; st = next) {
        next = antt_sse_next(st);
        a_stream_t *c = antt_sse_user(st);
        if (c->phase == A_SNAPSHOT && (c->cursor || c->nitems))
            antt_sse_end(st); /* half a snapshot of the old epoch: its client reconnects */
        else
            s_start(c, A_SNAPSHOT, 0);
    }
}

void agg_stream_close(agg_svc_t *a)
{
    antt_sse_close(a->hub);
    a->hub = NULL;
}

/* The stream, once its audience is known (agg_audience_resolve). */
static void s_open(antt_http_req_t *req, const char *token_area, const uint8_t *hash, void *arg)
{
    a_stream_t *c = arg;
    agg_svc_t *a = c->a;
    if (a->closing) {
        free(c);
        antt_http_json_error(req, 503, "unavailable", "service stopping");
        return;
    }
    if (token_area) {
        c->staff = 1;
        if (!c->area[0])
            snprintf(c->area, sizeof(c->area), "%s", token_area);
    }
    if ((c->st = antt_sse_open(a->hub, req, c, free)) == NULL) {
        free(c); /* refused (answered 503) */
        return;
    }
    if (c->staff)
        antt_sse_set_token(c->st, hash, "");
    if (antt_sse_send(c->st, "retry: 2000\n\n", 13) != 0)
        return;
    char *colon = strchr(c->last, ':');
    long long after = colon ? atoll(colon + 1) : -1;
    int64_t seq = agg_state_seq(a->st);
    if (colon && (size_t)(colon - c->last) == strlen(a->epoch) && !strncmp(c->last, a->epoch, strlen(a->epoch)) &&
        after >= 0 && after <= seq) {
        c->upto = seq;
        if (after < seq)
            s_start(c, A_CATCHUP, after);
        else
            c->phase = A_LIVE;
    } else {
        s_start(c, A_SNAPSHOT, 0);
    }
}

void agg_http_stream(antt_http_req_t *req, void *arg)
{
    agg_svc_t *a = arg;
    antt_form_t f;
    if (a->closing) {
        antt_http_json_error(req, 503, "unavailable", "service stopping");
        return;
    }
    if (agg_query_parse(req, &f) != 0)
        return;
    const char *area = agg_param(&f, "area"), *period = agg_param(&f, "period");
    if (!a->loaded) {
        antt_form_cleanup(&f);
        antt_http_json_error(req, 503, "unavailable", "trend state not loaded yet");
        return;
    }
    int unknown = area && !agg_state_has_area(a->st, area);
    if (unknown || !agg_period_ok(period)) {
        antt_form_cleanup(&f);
        antt_http_json_error(req, unknown ? 404 : 400, unknown ? "not_found" : "bad_request",
                             unknown ? "unknown area" : "bad period (day, week, month, quarter or year)");
        return;
    }
    if (antt_sse_full(a->hub, req)) {
        antt_form_cleanup(&f);
        return; /* no database work for a stream that could not open */
    }
    a_stream_t *c = antt_xcalloc(1, sizeof(*c));
    c->a = a;
    snprintf(c->area, sizeof(c->area), "%s", area ? area : "");
    snprintf(c->period, sizeof(c->period), "%s", period ? period : "");
    antt_form_cleanup(&f);
    /* Last-Event-ID: header from a reconnecting browser */
    antt_str_t h = antt_http_header(req, "last-event-id");
    if (h.n && h.n < sizeof(c->last)) {
        memcpy(c->last, h.p, h.n);
        c->last[h.n] = 0;
    }
    agg_audience_resolve(a, req, c->area[0] ? c->area : NULL, 1, s_open, c, free);
}
