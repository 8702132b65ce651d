/* antt_http_int: what antt_http.c and antt_http_stream.c share: a request's
 * wrapper around h2o's request. Not for services. */
#ifndef ANTT_HTTP_INT_H
#define ANTT_HTTP_INT_H

#include <arpa/inet.h>
#include <sys/socket.h>

#include <h2o.h>

#include "antt_http.h"
#include "antt_util.h"

typedef struct antt_http_guard {
    antt_http_req_t *w; /* the wrapper while it is alive, else NULL */
} antt_http_guard_t;

struct antt_http_req_s {
    h2o_generator_t gen;        /* streaming generator; first member */
    h2o_req_t *req;             /* NULL once h2o disposed the request */
    antt_http_guard_t *guard;           /* lives in req's pool */
    antt_http_t *http;          /* server */
    int streaming;              /* antt_http_stream_start was called */
    int sending;                /* h2o_send in progress, waiting for proceed */
    int ended;                  /* antt_http_stream_end was called */
    int aborted;                /* antt_http_stream_abort was called */
    antt_buf_t inflight;        /* bytes handed to h2o_send */
    antt_buf_t pending;         /* bytes waiting for proceed */
    antt_http_gone_cb on_gone;  /* client went away */
    void *gone_arg;             /* on_gone argument */
    antt_http_drain_cb on_drain;/* everything handed over was written */
    void *drain_arg;            /* on_drain argument */
    char peer[INET6_ADDRSTRLEN];/* client address */
    struct sockaddr_storage peer_sa; /* the same as h2o gave it (family 0: unknown) */
};

/* Frees w (its server counts one answered request). */
void antt_http_release_req(antt_http_req_t *w);
/* h2o has dropped w's request (its client went): a stream is released
 * here (its on_gone first); any other request when its handler answers. */
void antt_http_req_gone(antt_http_req_t *w);
/* The descriptor of w's connection, or -1. */
int antt_http_req_fd(const antt_http_req_t *w);
/* The reason phrase of an HTTP status. */
const char *antt_http_reason(int status);

#endif
