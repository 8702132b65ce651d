/* antt_http_gate: the bound on the database work HTTP clients can make a
 * service do. At most max_inflight jobs from HTTP requests are on the
 * service's connections at once; up to max_queue more wait here, in order;
 * a request beyond that is answered 503 with Retry-After at once, so that a
 * burst of requests costs a queue of known length instead of a queue on the
 * connection that every later request waits behind. Every job that passes
 * is bounded by a statement timeout (http.statement_timeout_ms).
 *
 * One gate per service (antt_service makes it from http.db_max_inflight,
 * http.db_queue_max and http.statement_timeout_ms); everything runs on the
 * service's loop. */
#ifndef ANTT_HTTP_GATE_H
#define ANTT_HTTP_GATE_H

#include <stddef.h>

#include "antt_db.h"
#include "antt_http.h"

typedef struct antt_http_gate_s antt_http_gate_t;

antt_http_gate_t *antt_http_gate_new(size_t max_inflight, size_t max_queue, long timeout_ms);
/* Jobs (running or waiting) of one client address at most (0: no cap);
 * beyond, 503 busy, while other addresses keep their places. */
void antt_http_gate_set_max_per_address(antt_http_gate_t *g, size_t n);
/* Fails every waiting job (cb with -ECANCELED); later submits are refused
 * with 503. Call before the service closes its databases. */
void antt_http_gate_cancel(antt_http_gate_t *gate);
/* Accepts NULL; nulls *self_p. */
void antt_http_gate_destroy(antt_http_gate_t **self_p);

/* Runs job on db for req through req's server's gate (straight to db when
 * the server has none). Returns 0: cb runs once, with antt_db's statuses,
 * or -ENOTCONN when the connection was down by the time the job's turn
 * came (the job was not run). Returns -EBUSY or -ENOTCONN: the job was
 * freed, cb will not run, and req has been answered (503). */
int antt_http_gate_run(antt_http_req_t *req, antt_db_t *db, antt_db_job_t *job, antt_db_job_cb cb, void *arg);

/* Jobs on the connections and waiting (for tests and metrics). */
size_t antt_http_gate_inflight(const antt_http_gate_t *gate);
size_t antt_http_gate_queued(const antt_http_gate_t *gate);

#endif
