/* antt_http: HTTP/1.1 server glue over libh2o 2.2 (libuv binding): the
 * listener and its connections, dispatch, requests and their answers
 * (streamed answers are antt_http_stream.c). antt_http*.c are the only files
 * of antt that include h2o.h. */
#include "antt_http.h"
#include "antt_http_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <assert.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "antt_cidr.h"
#include "antt_http_peers.h"
#include "antt_log.h"
#include "antt_metrics.h"
#include "antt_util.h"

typedef struct s_route {
    char *prefix;             /* path prefix */
    size_t len;               /* strlen(prefix) */
    antt_http_handler_cb cb;  /* handler */
    void *arg;                /* handler argument */
} s_route_t;

struct antt_http_s {
    uv_loop_t *loop;            /* the service loop */
    h2o_globalconf_t config;    /* h2o configuration */
    h2o_context_t ctx;          /* h2o per-loop context */
    h2o_accept_ctx_t accept_ctx;/* for h2o_accept */
    uv_tcp_t listener;          /* listening socket */
    int listening;              /* listener initialized */
    int port;                   /* bound port */
    s_route_t *routes;          /* registered prefixes */
    size_t nroutes;             /* route count */
    antt_http_ready_cb ready_cb;/* readiness check */
    void *ready_arg;            /* ready_cb argument */
    antt_http_close_cb close_cb;/* set by antt_http_close */
    void *close_arg;            /* close_cb argument */
    antt_metric_t *m_requests;  /* requests served */
    antt_metric_t *m_refused;   /* connections closed at accept: over max_conns */
    antt_metric_t *m_refused_addr; /* ... over max_per_address */
    size_t max_conns;           /* open connections at most (0: no cap) */
    size_t max_per_address;     /* open connections of one client address at most (0: no cap) */
    antt_http_peers_t *peers;   /* open connections per client address */
    antt_cidr_list_t *metrics_from; /* who may read /metrics (NULL: anyone) */
    struct antt_http_gate_s *gate; /* the service's database query gate, or NULL */
    antt_http_error_cb error_cb;   /* the service's error body for refusals, or NULL: JSON */
    size_t nconns;              /* open connections */
    size_t nreqs;               /* requests not yet answered */
    int closing;                /* antt_http_close called */
    int listener_closed;        /* listener's close callback ran */
};

static void s_maybe_free(antt_http_t *http);

static antt_str_t s_str(h2o_iovec_t v)
{
    antt_str_t s = {v.base, v.len};
    return s;
}

int antt_http_is(antt_str_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

antt_str_t antt_http_method(const antt_http_req_t *w)
{
    antt_str_t none = {"", 0};
    return w->req ? s_str(w->req->method) : none;
}

antt_str_t antt_http_path(const antt_http_req_t *w)
{
    antt_str_t none = {"", 0};
    return w->req ? s_str(w->req->path_normalized) : none;
}

antt_str_t antt_http_query(const antt_http_req_t *w)
{
    antt_str_t none = {"", 0};
    if (w->req == NULL || w->req->query_at == SIZE_MAX)
        return none;
    antt_str_t q = {w->req->path.base + w->req->query_at + 1,
                    w->req->path.len - w->req->query_at - 1};
    return q;
}

antt_str_t antt_http_body(const antt_http_req_t *w)
{
    antt_str_t none = {"", 0};
    if (w->req == NULL || w->req->entity.base == NULL)
        return none;
    return s_str(w->req->entity);
}

antt_str_t antt_http_header(const antt_http_req_t *w, const char *name)
{
    antt_str_t none = {NULL, 0};
    if (w->req == NULL)
        return none;
    size_t n = strlen(name);
    for (size_t i = 0; i < w->req->headers.size; i++) {
        h2o_header_t *h = &w->req->headers.entries[i];
        if (h->name->len == n && strncasecmp(h->name->base, name, n) == 0)
            return s_str(h->value);
    }
    return none;
}

antt_str_t antt_http_authority(const antt_http_req_t *w)
{
    antt_str_t none = {NULL, 0};
    return w->req && w->req->input.authority.len ? s_str(w->req->input.authority) : none;
}

const char *antt_http_peer(const antt_http_req_t *w)
{
    return w->peer;
}

const struct sockaddr *antt_http_peer_addr(const antt_http_req_t *w)
{
    return (const struct sockaddr *)&w->peer_sa;
}

void antt_http_add_header(antt_http_req_t *w, const char *name, const char *value)
{
    if (w->req == NULL)
        return;
    h2o_iovec_t n = h2o_strdup(&w->req->pool, name, SIZE_MAX);
    h2o_iovec_t v = h2o_strdup(&w->req->pool, value, SIZE_MAX);
    h2o_add_header_by_str(&w->req->pool, &w->req->res.headers, n.base, n.len, 1, NULL, v.base,
                          v.len);
}

const char *antt_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
    }
}

void antt_http_release_req(antt_http_req_t *w)
{
    antt_http_t *http = w->http;
    if (w->guard)
        w->guard->w = NULL;
    antt_buf_cleanup(&w->inflight);
    antt_buf_cleanup(&w->pending);
    free(w);
    http->nreqs--;
    if (http->closing)
        s_maybe_free(http);
}

void antt_http_respond(antt_http_req_t *w, int status, const char *content_type,
                       const char *body, size_t len)
{
    assert(!w->streaming);
    h2o_req_t *req = w->req;
    if (req != NULL) {
        /* detach first: h2o may dispose the pool inside h2o_send_inline */
        w->guard->w = NULL;
        w->guard = NULL;
        req->res.status = status;
        req->res.reason = antt_http_reason(status);
        if (content_type)
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                           content_type, strlen(content_type));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                       H2O_STRLIT("no-store"));
        req->res.content_length = len; /* else h2o 2.2 closes the connection */
        h2o_send_inline(req, body, len);
    }
    antt_http_release_req(w);
}

int antt_http_req_fd(const antt_http_req_t *w)
{
    h2o_socket_t *sock = w->req && w->req->conn->callbacks->get_socket
                             ? w->req->conn->callbacks->get_socket(w->req->conn)
                             : NULL;
    return sock ? h2o_socket_get_fd(sock) : -1;
}

int antt_http_client_gone(const antt_http_req_t *w)
{
    if (w->req == NULL)
        return 1;
    int fd = antt_http_req_fd(w);
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return 0; /* not TCP, or unknown: answer it */
    /* the client's FIN came (CLOSE_WAIT), or its reset (CLOSE): while h2o
     * works on one request of a connection it does not read it, so this is
     * how a closed client is seen before its answer is written */
    return ti.tcpi_state == TCP_CLOSE_WAIT || ti.tcpi_state == TCP_CLOSE || ti.tcpi_state == TCP_LAST_ACK;
}

void antt_http_set_sndbuf(antt_http_req_t *w, int bytes)
{
    int fd = antt_http_req_fd(w);
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
}

void antt_http_set_close(antt_http_req_t *w)
{
    if (w->req)
        w->req->http1_is_persistent = 0;
}

/* dispatch */

static void s_on_dispose(void *p)
{
    antt_http_guard_t *g = p;
    if (g->w) {
        g->w->guard = NULL;
        antt_http_req_gone(g->w);
    }
}

static void s_respond_text(antt_http_req_t *w, int status, const char *text)
{
    antt_http_respond(w, status, "text/plain; charset=utf-8", text, strlen(text));
}

static void s_builtin(antt_http_req_t *w, antt_http_t *http, int *handled)
{
    antt_str_t path = antt_http_path(w);
    *handled = 1;
    if (antt_http_is(path, "/livez")) {
        s_respond_text(w, 200, "ok\n");
    } else if (antt_http_is(path, "/readyz")) {
        char why[256] = "";
        int ready = http->ready_cb == NULL ? 1 : http->ready_cb(http->ready_arg, why, sizeof(why));
        if (ready == 1) {
            s_respond_text(w, 200, "ready\n");
        } else if (ready == 2) {
            s_respond_text(w, 503, "standby\n"); /* healthy, not serving: balancers send no one */
        } else {
            char *t = antt_xasprintf("not ready: %s\n", why);
            s_respond_text(w, 503, t);
            free(t);
        }
    } else if (antt_http_is(path, "/metrics") && http->metrics_from && !antt_cidr_match(http->metrics_from, w->peer)) {
        /* live counters (reports stored, emergency notices) are not the
         * public's: a watcher would see each report come in */
        antt_http_json_error(w, 403, "forbidden", "/metrics is served to http.metrics_from only");
    } else if (antt_http_is(path, "/metrics")) {
        size_t len;
        char *text = antt_metrics_render(&len);
        antt_http_respond(w, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
        free(text);
    } else {
        *handled = 0;
    }
}

static int s_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    antt_http_t *http = *(antt_http_t **)(self + 1);
    antt_http_req_t *w = antt_xcalloc(1, sizeof(*w));
    w->req = req;
    w->http = http;
    http->nreqs++;
    antt_buf_init(&w->inflight);
    antt_buf_init(&w->pending);
    w->guard = h2o_mem_alloc_shared(&req->pool, sizeof(antt_http_guard_t), s_on_dispose);
    w->guard->w = w;
    /* linked to the pool: disposed (s_on_dispose) when h2o frees the request */

    struct sockaddr_storage *ss = &w->peer_sa;
    socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)ss);
    if (sl > 0 && ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)ss)->sin_addr, w->peer, sizeof(w->peer));
    else if (sl > 0 && ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ss)->sin6_addr, w->peer, sizeof(w->peer));
    else
        ss->ss_family = 0;

    antt_metric_inc(http->m_requests);
    int handled;
    s_builtin(w, http, &handled);
    if (handled)
        return 0;

    antt_str_t path = antt_http_path(w);
    s_route_t *best = NULL;
    for (size_t i = 0; i < http->nroutes; i++) {
        s_route_t *r = &http->routes[i];
        if (path.n >= r->len && memcmp(path.p, r->prefix, r->len) == 0 &&
            (best == NULL || r->len > best->len))
            best = r;
    }
    if (best == NULL) {
        antt_http_json_error(w, 404, "not_found", "no such resource");
        return 0;
    }
    best->cb(w, best->arg);
    return 0;
}

/* A connection's handle, its server and its address's count. */
typedef struct s_conn {
    uv_tcp_t tcp; /* first: the handle h2o's socket wraps */
    antt_http_t *http;
    antt_http_peer_t *peer; /* NULL until counted */
} s_conn_t;

static void s_conn_closed(uv_handle_t *h)
{
    s_conn_t *c = (s_conn_t *)h;
    antt_http_t *http = c->http;
    antt_http_peers_leave(http->peers, c->peer);
    free(c);
    http->nconns--;
    if (http->closing)
        s_maybe_free(http);
}

static void s_extra_closed(uv_handle_t *h)
{
    free(h);
}

static void s_on_accept(uv_stream_t *listener, int status)
{
    antt_http_t *http = listener->data;
    if (status != 0 || http->closing)
        return;
    if (http->max_conns && http->nconns >= http->max_conns) {
        /* taken off the backlog and closed: a full server refuses at once
         * instead of leaving clients (and /livez) in a queue it never reads */
        uv_tcp_t *extra = antt_xmalloc(sizeof(*extra));
        uv_tcp_init(listener->loop, extra);
        if (uv_accept(listener, (uv_stream_t *)extra) == 0)
            antt_metric_inc(http->m_refused);
        uv_close((uv_handle_t *)extra, s_extra_closed);
        return;
    }
    s_conn_t *c = h2o_mem_alloc(sizeof(*c));
    c->http = http;
    c->peer = NULL;
    uv_tcp_init(listener->loop, &c->tcp);
    http->nconns++;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, s_conn_closed);
        return;
    }
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0 &&
        (c->peer = antt_http_peers_enter(http->peers, (struct sockaddr *)&ss, http->max_per_address)) == NULL) {
        /* one address holds its share of the listener: closed at once, as
         * over max_conns, so that it cannot lock everyone else out */
        antt_metric_inc(http->m_refused_addr);
        uv_close((uv_handle_t *)&c->tcp, s_conn_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, s_conn_closed);
    h2o_accept(&http->accept_ctx, sock);
}

antt_http_t *antt_http_new(uv_loop_t *loop)
{
    antt_http_t *http = antt_xcalloc(1, sizeof(*http));
    http->loop = loop;
    h2o_config_init(&http->config);
    http->config.max_request_entity_size = 1024 * 1024;
    /* HTTP/1.1 only, as documented: no h2c upgrade, no prior knowledge
     * (h2o 2.2 takes both from this flag); see docs/decisions.md */
    http->config.http1.upgrade_to_http2 = 0;
    h2o_hostconf_t *host =
        h2o_config_register_host(&http->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *h = h2o_create_handler(pc, sizeof(*h) + sizeof(antt_http_t *));
    h->on_req = s_on_req;
    *(antt_http_t **)(h + 1) = http;
    h2o_context_init(&http->ctx, loop, &http->config);
    http->accept_ctx.ctx = &http->ctx;
    http->accept_ctx.hosts = http->config.hosts;
    http->m_requests = antt_metrics_counter("antt_http_requests_total",
                                            "HTTP requests received", NULL);
    http->m_refused = antt_metrics_counter("antt_http_connections_refused_total",
                                           "HTTP connections closed at accept (over http.max_connections)",
                                           NULL);
    http->m_refused_addr =
        antt_metrics_counter("antt_http_connections_refused_address_total",
                             "HTTP connections closed at accept (over http.max_per_address)", NULL);
    http->peers = antt_http_peers_new();
    return http;
}

void antt_http_set_max_body(antt_http_t *http, size_t bytes)
{
    http->config.max_request_entity_size = bytes;
}

void antt_http_set_max_conns(antt_http_t *http, size_t n)
{
    http->max_conns = n;
}

void antt_http_set_max_per_address(antt_http_t *http, size_t n)
{
    http->max_per_address = n;
}

int antt_http_set_metrics_from(antt_http_t *http, const char *blocks, char *err, size_t errlen)
{
    antt_cidr_list_t *l = antt_cidr_parse(blocks, err, errlen);
    if (l == NULL)
        return -1;
    antt_cidr_destroy(&http->metrics_from);
    http->metrics_from = l;
    return 0;
}

void antt_http_set_gate(antt_http_t *http, struct antt_http_gate_s *gate)
{
    http->gate = gate;
}

void antt_http_set_error_cb(antt_http_t *http, antt_http_error_cb cb)
{
    http->error_cb = cb;
}

void antt_http_error(antt_http_req_t *w, int status, const char *code, const char *msg, int retry_s)
{
    if (w->http->error_cb) {
        w->http->error_cb(w, status, code, msg, retry_s);
        return;
    }
    if (retry_s > 0) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", retry_s);
        antt_http_add_header(w, "retry-after", ra);
    }
    antt_http_json_error(w, status, code, msg);
}

struct antt_http_gate_s *antt_http_gate_of(const antt_http_req_t *w)
{
    return w->http->gate;
}

int antt_http_ready(antt_http_t *http, char *why, size_t whylen)
{
    if (why && whylen)
        why[0] = 0;
    return http->ready_cb == NULL || http->ready_cb(http->ready_arg, why, whylen);
}

void antt_http_set_ready_cb(antt_http_t *http, antt_http_ready_cb cb, void *arg)
{
    http->ready_cb = cb;
    http->ready_arg = arg;
}

void antt_http_route(antt_http_t *http, const char *prefix, antt_http_handler_cb cb, void *arg)
{
    http->routes = antt_xrealloc(http->routes, (http->nroutes + 1) * sizeof(s_route_t));
    s_route_t *r = &http->routes[http->nroutes++];
    r->prefix = antt_xstrdup(prefix);
    r->len = strlen(prefix);
    r->cb = cb;
    r->arg = arg;
}

int antt_http_listen(antt_http_t *http, const char *host, int port)
{
    struct sockaddr_storage addr;
    int rc;
    if (strchr(host, ':'))
        rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
    else
        rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc != 0)
        return rc;
    uv_tcp_init(http->loop, &http->listener);
    http->listener.data = http;
    http->listening = 1;
    if ((rc = uv_tcp_bind(&http->listener, (struct sockaddr *)&addr, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&http->listener, 511, s_on_accept)) != 0) {
        ANTT_LOG(ANTT_ERROR, "could not listen on %s:%d: %s", host, port, uv_strerror(rc));
        return rc;
    }
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    uv_tcp_getsockname(&http->listener, (struct sockaddr *)&bound, &len);
    http->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                   : ((struct sockaddr_in *)&bound)->sin_port);
    ANTT_LOG(ANTT_INFO, "listening http=%s:%d", host, http->port);
    return 0;
}

int antt_http_port(const antt_http_t *http)
{
    return http->port;
}

/* Frees the server once the listener is closed and every connection is gone.
 * Connections a client keeps open stop that; a stopping service then exits
 * anyway after its grace period (antt_service). */
static void s_maybe_free(antt_http_t *http)
{
    if (!http->listener_closed || http->nconns > 0 || http->nreqs > 0)
        return;
    http->closing = 0; /* no re-entry from the releases below */
    h2o_context_dispose(&http->ctx);
    h2o_config_dispose(&http->config);
    for (size_t i = 0; i < http->nroutes; i++)
        free(http->routes[i].prefix);
    free(http->routes);
    antt_http_peers_destroy(&http->peers);
    antt_cidr_destroy(&http->metrics_from);
    if (http->close_cb)
        http->close_cb(http->close_arg);
    free(http);
}

static void s_listener_closed(uv_handle_t *h)
{
    antt_http_t *http = h->data;
    http->listener_closed = 1;
    s_maybe_free(http);
}

int antt_http_holds(const antt_http_t *http, const uv_handle_t *h)
{
    if (http == NULL)
        return 0;
    /* the listener and the connections are the only TCP handles on a
     * service loop; h2o's timers live in its context, its queue's async
     * handle is h2o's too */
    const char *p = (const char *)h, *ctx = (const char *)&http->ctx;
    return h->type == UV_TCP || h->type == UV_ASYNC || (p >= ctx && p < ctx + sizeof(http->ctx));
}

void antt_http_close(antt_http_t *http, antt_http_close_cb cb, void *arg)
{
    if (http == NULL)
        return;
    http->close_cb = cb;
    http->close_arg = arg;
    http->closing = 1;
    if (http->listening) {
        uv_close((uv_handle_t *)&http->listener, s_listener_closed);
    } else {
        http->listener_closed = 1;
        s_maybe_free(http);
    }
}
