/* antt_sse: the Server-Sent Events hub of a service (notification's desk
 * feed, aggregation's trend stream): one place that decides what a stream
 * may cost.
 *
 * - A listener holds at most max_streams streams, a client address at most
 *   max_per_address; beyond, the request is answered 503 with Retry-After.
 * - A stream whose bytes not yet taken by the socket exceed max_unsent is
 *   dropped: its connection is shut down and everything it held is freed
 *   within a loop iteration, also while a send is in progress. The kernel's
 *   send buffer of a stream is bounded too (socket_buffer; on loopback and
 *   fast links it would otherwise grow to megabytes per stalled client).
 * - Every keepalive_ms each stream gets a comment line (": keepalive"): an
 *   idle proxy keeps it open, and a peer that went away without a word is
 *   found by the write that fails (within two intervals).
 * - An authenticated stream (antt_sse_set_token) has its token checked
 *   again every recheck_ms (antt_sse_recheck_tokens); it is ended once its
 *   token no longer holds.
 * - A large first message (a snapshot) is written in pieces: the service's
 *   fill callback runs each time the socket has taken everything, so that
 *   a stream never holds more than one piece beyond what the client read.
 *
 * Everything runs on the service's loop. A stream belongs to the hub; the
 * service's per-stream data (user) is freed by its free callback when the
 * stream goes, whichever way it goes. */
#ifndef ANTT_SSE_H
#define ANTT_SSE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "antt_config.h"
#include "antt_crypto.h"
#include "antt_db.h"
#include "antt_http.h"

typedef struct antt_sse_s antt_sse_t;
typedef struct antt_sse_stream_s antt_sse_stream_t;

typedef struct antt_sse_limits_s {
    long max_streams;     /* sse.max_streams: open streams of one hub at most */
    long max_per_address; /* sse.max_per_address: of one client address */
    long max_unsent;      /* sse.max_unsent_bytes: per stream, then it is dropped */
    long keepalive_ms;    /* sse.keepalive_ms: comment line interval */
    long recheck_ms;      /* sse.recheck_ms: authenticated streams' token re-check */
    long socket_buffer;   /* sse.socket_buffer_bytes: each stream's kernel send buffer (SO_SNDBUF) */
} antt_sse_limits_t;

/* The sse.* settings are rows of the common settings table
 * (antt_service_settings.c); a service passes its checked copy. */

typedef void (*antt_sse_free_cb)(void *user);
typedef void (*antt_sse_fill_cb)(antt_sse_stream_t *st, void *user);
typedef void (*antt_sse_revoked_cb)(antt_sse_stream_t *st, void *arg);

/* metric is the prefix of the hub's metrics: <metric>_clients,
 * <metric>_dropped_total, <metric>_refused_total. */
antt_sse_t *antt_sse_new(uv_loop_t *loop, const char *metric, const antt_sse_limits_t *lim);
/* Every recheck_ms while streams with a token are open, runs sql on db
 * with $1 their token hashes (text[], hex). The rows are the hashes (hex)
 * that still hold, with, as a second column when the streams have scopes,
 * the scope each holds for. A stream whose token is not among them, or holds
 * for another scope, is ended; revoked (may be NULL) is told first. One
 * re-check is in flight at a time; a failed one waits for the next interval. */
void antt_sse_recheck_tokens(antt_sse_t *hub, antt_db_t *db, const char *sql, antt_sse_revoked_cb revoked,
                             void *arg);
/* st was opened with the token of this hash, for scope (the desk it is a
 * dispatcher's of; "" when only the token matters). */
void antt_sse_set_token(antt_sse_stream_t *st, const uint8_t hash[ANTT_HASH_BYTES], const char *scope);
/* 1 when req may not open a stream now (req was answered 503), else 0:
 * for services that do work (a database query) before antt_sse_open. */
int antt_sse_full(antt_sse_t *hub, antt_http_req_t *req);
/* Starts req's event stream (200, text/event-stream, no-cache) owned by the
 * hub, with user (freed by free_cb when the stream goes; may be NULL).
 * Returns the stream, or NULL after answering 503 (a cap is reached; user
 * is then not freed). */
antt_sse_stream_t *antt_sse_open(antt_sse_t *hub, antt_http_req_t *req, void *user, antt_sse_free_cb free_cb);
/* Writes data (copied). Returns 0, or -1 when the stream was dropped (over
 * max_unsent, or its client gone): st is then freed. */
int antt_sse_send(antt_sse_stream_t *st, const char *data, size_t len);
/* fill runs each time the socket has taken everything written; NULL stops
 * it. It is not called at once: write the first piece yourself. While fill
 * is set the stream gets no keep-alive comment (it may be in the middle of
 * an event). */
void antt_sse_set_fill(antt_sse_stream_t *st, antt_sse_fill_cb fill);
/* Finishes the stream and frees it (a stream with bytes still unsent is
 * cut: its client does not read). */
void antt_sse_end(antt_sse_stream_t *st);
/* Ends every stream of the hub (it stays open for new ones): a process that
 * became a standby sends its clients to the active one. Accepts NULL. */
void antt_sse_end_all(antt_sse_t *hub);

void *antt_sse_user(const antt_sse_stream_t *st);
size_t antt_sse_unsent(const antt_sse_stream_t *st);
/* A number no other stream of the hub had: find it again after a callback. */
uint64_t antt_sse_id(const antt_sse_stream_t *st);
antt_sse_stream_t *antt_sse_find(antt_sse_t *hub, uint64_t id);
/* Iteration: take next before anything that may drop st. */
antt_sse_stream_t *antt_sse_first(antt_sse_t *hub);
antt_sse_stream_t *antt_sse_next(const antt_sse_stream_t *st);

/* Ends every stream, closes the timers and frees the hub once they are
 * closed. Accepts NULL. */
void antt_sse_close(antt_sse_t *hub);

#endif
