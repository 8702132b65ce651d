/* antt_http: the HTTP/1.1 server of every service, on the service's libuv
 * loop. libh2o (2.2) is used only inside antt_http.c, so that it can be
 * swapped without touching the services.
 *
 * Every server answers GET /livez (the loop runs), GET /readyz (the service's
 * ready callback says yes) and GET /metrics (Prometheus text format).
 * Services register handlers by path prefix; the longest prefix wins. */
#ifndef ANTT_HTTP_H
#define ANTT_HTTP_H

#include <stddef.h>
#include <uv.h>

typedef struct antt_http_s antt_http_t;
typedef struct antt_http_req_s antt_http_req_t;

typedef struct antt_str_s {
    const char *p; /* not NUL-terminated */
    size_t n;      /* length in bytes */
} antt_str_t;

/* A handler must answer every request exactly once with antt_http_respond
 * (now or later, from the loop thread). Answering after the client has gone
 * is harmless. */
typedef void (*antt_http_handler_cb)(antt_http_req_t *req, void *arg);
/* Returns 1 when ready; otherwise 0 and a reason in why. */
typedef int (*antt_http_ready_cb)(void *arg, char *why, size_t whylen);
typedef void (*antt_http_close_cb)(void *arg);

/* 1 when h is one of the server's handles (its listener, its connections,
 * h2o's own): handles that antt_http_close ends, and that a walk closing a
 * loop must leave to it. */
int antt_http_holds(const antt_http_t *http, const uv_handle_t *h);

antt_http_t *antt_http_new(uv_loop_t *loop);
/* Largest accepted request body; larger ones get 413 from the server. */
void antt_http_set_max_body(antt_http_t *http, size_t bytes);
void antt_http_set_ready_cb(antt_http_t *http, antt_http_ready_cb cb, void *arg);
/* What GET /readyz would say now: 1, or 0 with the reason in why. */
int antt_http_ready(antt_http_t *http, char *why, size_t whylen);
void antt_http_route(antt_http_t *http, const char *prefix, antt_http_handler_cb cb, void *arg);
/* Listens on host:port (port 0: any free port). Returns 0 or a UV error. */
int antt_http_listen(antt_http_t *http, const char *host, int port);
int antt_http_port(const antt_http_t *http);
/* Stops listening, closes connections, frees everything, then calls cb. */
void antt_http_close(antt_http_t *http, antt_http_close_cb cb, void *arg);

/* Request accessors: borrowed, valid until antt_http_respond. */
antt_str_t antt_http_method(const antt_http_req_t *req);
antt_str_t antt_http_path(const antt_http_req_t *req);  /* decoded, without query */
antt_str_t antt_http_query(const antt_http_req_t *req); /* after '?', may be empty */
antt_str_t antt_http_body(const antt_http_req_t *req);
/* Header value by case-insensitive name; n = 0 and p = NULL when absent. */
antt_str_t antt_http_header(const antt_http_req_t *req, const char *name);
/* The client's address as text, for logs ("127.0.0.1"). */
const char *antt_http_peer(const antt_http_req_t *req);
int antt_http_is(antt_str_t s, const char *lit);

/* Adds a response header (copied) before antt_http_respond. */
void antt_http_add_header(antt_http_req_t *req, const char *name, const char *value);
/* Sends the response (body copied) and releases req. */
void antt_http_respond(antt_http_req_t *req, int status, const char *content_type,
                       const char *body, size_t len);

/* Server-sent events and other streamed responses: starts a response that
 * stays open; antt_http_stream_write sends more; antt_http_stream_end
 * finishes and releases req. on_gone is called once when the client goes
 * away first; req is released when it returns (it may no longer be used). */
typedef void (*antt_http_gone_cb)(antt_http_req_t *req, void *arg);
void antt_http_stream_start(antt_http_req_t *req, int status, const char *content_type,
                            antt_http_gone_cb on_gone, void *arg);
/* Returns 0, or -EAGAIN while earlier data is still being written (the
 * data is then buffered), or -EPIPE when the client is gone. */
int antt_http_stream_write(antt_http_req_t *req, const char *data, size_t len);
void antt_http_stream_end(antt_http_req_t *req);

#endif
