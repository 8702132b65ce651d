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
#include <sys/socket.h>
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
/* Returns 1 when ready; 2 for a standby (healthy, not serving: /readyz
 * answers 503 "standby"); otherwise 0 and a reason in why. */
typedef int (*antt_http_ready_cb)(void *arg, char *why, size_t whylen);
typedef void (*antt_http_close_cb)(void *arg);

/* 1 when h is one of the server's handles (its listener, its connections,
 * h2o's own): handles that antt_http_close ends, and that a walk closing a
 * loop must leave to it. */
int antt_http_holds(const antt_http_t *http, const uv_handle_t *h);

antt_http_t *antt_http_new(uv_loop_t *loop);
/* Largest accepted request body; larger ones get 413 from the server. */
void antt_http_set_max_body(antt_http_t *http, size_t bytes);
/* Open connections at most (0: no cap); beyond, a new one is accepted and
 * closed at once (antt_http_connections_refused_total). */
void antt_http_set_max_conns(antt_http_t *http, size_t n);
/* Open connections of one client address (an IPv6 /64) at most; beyond, a
 * new one is closed at accept. 0: no cap (behind a proxy, where every
 * client has the proxy's address). */
void antt_http_set_max_per_address(antt_http_t *http, size_t n);
/* /metrics answers only clients in these address blocks ("127.0.0.0/8,::1";
 * antt_cidr), others 403; until set, anyone. -1 with err when a block is
 * not one. */
int antt_http_set_metrics_from(antt_http_t *http, const char *blocks, char *err, size_t errlen);
/* How this server answers the refusals of common code (the query gate,
 * the SSE hub) when its API's errors are not {error_code, error} (intake:
 * Open311's array): status, a short code, a message, Retry-After seconds
 * (0: none). Then releases req. */
typedef void (*antt_http_error_cb)(antt_http_req_t *req, int status, const char *code, const char *msg,
                                   int retry_s);
void antt_http_set_error_cb(antt_http_t *http, antt_http_error_cb cb);
/* Answers a refusal with the server's error callback, else as
 * antt_http_json_error with Retry-After when retry_s > 0. */
void antt_http_error(antt_http_req_t *req, int status, const char *code, const char *msg, int retry_s);
/* The service's database query gate (antt_http_gate.h), borrowed. */
struct antt_http_gate_s;
void antt_http_set_gate(antt_http_t *http, struct antt_http_gate_s *gate);
struct antt_http_gate_s *antt_http_gate_of(const antt_http_req_t *req);
void antt_http_set_ready_cb(antt_http_t *http, antt_http_ready_cb cb, void *arg);
/* What GET /readyz would say now: 1, 2 (standby), or 0 with the reason in why. */
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
/* The authority the client named (HTTP/1.1 Host, HTTP/2 :authority), or
 * n = 0 and p = NULL. */
antt_str_t antt_http_authority(const antt_http_req_t *req);
/* The client's address as text, for logs ("127.0.0.1"). */
const char *antt_http_peer(const antt_http_req_t *req);
/* The client's address as h2o gave it (sa_family 0 when unknown). */
const struct sockaddr *antt_http_peer_addr(const antt_http_req_t *req);
int antt_http_is(antt_str_t s, const char *lit);

/* Adds a response header (copied) before antt_http_respond. */
void antt_http_add_header(antt_http_req_t *req, const char *name, const char *value);
/* Sends the response (body copied) and releases req. */
void antt_http_respond(antt_http_req_t *req, int status, const char *content_type,
                       const char *body, size_t len);
/* The error body of every JSON API: {"error_code": code, "error": msg}
 * (code a short ASCII word, msg any text), then releases req. */
void antt_http_json_error(antt_http_req_t *req, int status, const char *code, const char *msg);
/* 503 {"error_code":"busy"} with Retry-After: retry_s: what a full queue
 * or a full stream table answers. The connection stays (requests pipelined
 * behind get their answers; closing with them unread would reset it and
 * lose this one). */
void antt_http_busy(antt_http_req_t *req, const char *msg, int retry_s);
/* Bounds the kernel's send buffer of req's connection (SO_SNDBUF; the
 * kernel doubles it and stops growing it): what a client that does not read
 * can make the kernel hold for it. */
void antt_http_set_sndbuf(antt_http_req_t *req, int bytes);
/* The connection closes after this response (before antt_http_respond). */
void antt_http_set_close(antt_http_req_t *req);
/* 1 when req's client has gone: h2o dropped the request, or the client
 * closed or reset its connection (it will read no answer). Work queued for
 * such a request can be dropped (antt_http_gate does). */
int antt_http_client_gone(const antt_http_req_t *req);

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
/* Bytes written and not yet taken by the socket (in flight and buffered). */
size_t antt_http_stream_unsent(const antt_http_req_t *req);
/* cb runs (on the loop) each time everything written so far has been taken
 * by the socket; NULL stops it. */
typedef void (*antt_http_drain_cb)(antt_http_req_t *req, void *arg);
void antt_http_stream_on_drain(antt_http_req_t *req, antt_http_drain_cb cb, void *arg);
/* Finishes and releases req; bytes still buffered are sent first, as long
 * as the client reads. */
void antt_http_stream_end(antt_http_req_t *req);
/* Drops the stream now: the connection is shut down, on_gone is not called,
 * req may no longer be used, and everything it holds is freed within a loop
 * iteration, also while a send is in progress and the client never reads. */
void antt_http_stream_abort(antt_http_req_t *req);

#endif
