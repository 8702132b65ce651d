/* antt_leader: active/standby between the processes of one service (two
 * notifications, two aggregations) through a PostgreSQL session advisory
 * lock: the process whose dedicated connection holds the lock is active,
 * the others are standbys and try for it every check.
 *
 * How a leader stops acting (docs/decisions.md, "Leadership"):
 *  - its lock session is the only thing that makes it leader: when the
 *    session ends (the process died: the kernel closes the socket; a
 *    failover: the server is gone), the lock is free at once;
 *  - the session sets idle_session_timeout to timeout_ms, so a leader that
 *    hangs (SIGSTOP, a stuck loop) or is cut off stops confirming and the
 *    server ends its session, freeing the lock, timeout_ms after its last
 *    check;
 *  - the leader confirms the lock every timeout_ms / 6 and counts itself
 *    active only while its last confirmation was sent less than 2/3 of
 *    timeout_ms ago (antt_leader_active, read before every act), which is
 *    before the server can give the lock to another;
 *  - every act that must not happen twice carries a fence
 *    (antt_leader_fence): its transaction first checks, in PostgreSQL, that
 *    the lock is still held by this leader's session (its backend pid and
 *    start), so an act of a leader that lost its lock a moment ago fails
 *    whole instead of running.
 * Loop thread only. */
#ifndef ANTT_LEADER_H
#define ANTT_LEADER_H

#include <uv.h>

#include "antt_db.h"
#include "antt_http.h"

typedef struct antt_leader_s antt_leader_t;
/* The process became active (1) or standby (0), on the loop. */
typedef void (*antt_leader_cb)(antt_leader_t *l, int active, void *arg);

/* A leader election for the service name ("notification") on its own
 * connection to conninfo; cb hears each change. Not started. The stop walk
 * closes its connection and timer; free it with antt_leader_destroy after
 * the loop has ended. */
antt_leader_t *antt_leader_new(uv_loop_t *loop, const char *conninfo, const char *name, long timeout_ms,
                               antt_leader_cb cb, void *arg);
/* Starts connecting and trying for the lock. */
void antt_leader_start(antt_leader_t *l);
/* 1 while the lock is held and confirmed within the lease, else 0. */
int antt_leader_active(const antt_leader_t *l);
/* "active" or "standby". */
const char *antt_leader_role(const antt_leader_t *l);
/* Appends the fence to job, which must have no statement yet: the job's
 * transaction fails (-EIO, "not the leader") unless this process's lock
 * session still holds the lock when it runs. */
void antt_leader_fence(const antt_leader_t *l, antt_db_job_t *job);
/* Routes prefix to cb on http while active; a standby answers 503
 * "standby" with Retry-After: 1 (the balancer sends the client to the
 * active process). */
void antt_leader_route(antt_leader_t *l, antt_http_t *http, const char *prefix, antt_http_handler_cb cb, void *arg);
/* Frees l (after the loop has ended). Accepts NULL; nulls *self_p. */
void antt_leader_destroy(antt_leader_t **self_p);

#endif
