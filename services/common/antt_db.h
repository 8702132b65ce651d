/* antt_db: one PostgreSQL connection driven by a libuv loop, in libpq
 * pipeline mode.
 *
 * Work is submitted as jobs. A job is one or more statements followed by one
 * Sync: the statements run in one implicit transaction, and the job's
 * callback runs only after the Sync's ReadyForQuery has arrived, i.e. after
 * the transaction has committed (synchronous_commit as configured on the
 * server, which antt never lowers). Several jobs may be in flight at once
 * (pipelined); results come back in submission order, except that a job
 * given retries (antt_db_job_set_retries) and rolled back by a deadlock or a
 * serialization failure is sent again, after the jobs already in flight.
 *
 * The connection connects asynchronously (PQconnectStart, so multi-host
 * conninfo and target_session_attrs work) and reconnects with backoff. */
#ifndef ANTT_DB_H
#define ANTT_DB_H

#include <stddef.h>
#include <libpq-fe.h>
#include <uv.h>

typedef struct antt_db_s antt_db_t;
typedef struct antt_db_job_s antt_db_job_t;

/* status: 0 when every statement succeeded and the Sync was reached (the
 * transaction committed); -EIO when a statement failed (rolled back);
 * -ECONNRESET when the connection broke while the job was in flight, or
 * its commit's wait for a synchronous standby was cancelled (the outcome is
 * unknown: committed on the primary, perhaps not on the standby); -ECANCELED when the db was closed. Runs on the loop
 * thread. The job and its results are freed after the callback returns. */
typedef void (*antt_db_job_cb)(antt_db_job_t *job, int status, void *arg);
/* Called when the connection comes up (connected = 1) or goes down (0). */
typedef void (*antt_db_state_cb)(antt_db_t *db, int connected, void *arg);
typedef void (*antt_db_close_cb)(void *arg);

/* name is used in logs and metrics. Returns a new, unconnected db. */
antt_db_t *antt_db_new(uv_loop_t *loop, const char *conninfo, const char *name);
void antt_db_set_state_cb(antt_db_t *db, antt_db_state_cb cb, void *arg);
/* Jobs in flight at once on this connection (default 4). */
void antt_db_set_max_inflight(antt_db_t *db, int n);
/* statement_timeout (ms) of every session this db opens, set before any
 * job runs on it; 0 leaves the server's. Call before antt_db_start. */
void antt_db_set_statement_timeout(antt_db_t *db, long ms);
/* Registers a statement prepared (as name) on every connection before any
 * job runs on it. Call before antt_db_start. */
void antt_db_prepare(antt_db_t *db, const char *name, const char *sql, int nparams);
/* Starts connecting. Returns 0. */
int antt_db_start(antt_db_t *db);
int antt_db_connected(const antt_db_t *db);
/* Jobs submitted and not yet completed. */
size_t antt_db_backlog(const antt_db_t *db);

/* A new empty job; cb is called exactly once if antt_db_submit accepts it. */
antt_db_job_t *antt_db_job_new(antt_db_job_cb cb, void *arg);
/* Sets (or replaces) the callback of a job not yet submitted. */
void antt_db_job_set_cb(antt_db_job_t *job, antt_db_job_cb cb, void *arg);
/* Appends a statement; sql and parameter values are copied. values[i] NULL
 * is SQL NULL; lengths/formats may be NULL for text parameters. */
void antt_db_job_add(antt_db_job_t *job, const char *sql, int nparams, const char *const *values,
                     const int *lengths, const int *formats);
/* Appends a run of a statement registered with antt_db_prepare. */
void antt_db_job_add_prepared(antt_db_job_t *job, const char *name, int nparams,
                              const char *const *values, const int *lengths, const int *formats);
/* Bounds every statement of this job to ms (statement_timeout for its
 * transaction only); a statement over it fails (SQLSTATE 57014) and the job
 * gets -EIO. Call once, at any time before antt_db_submit. */
void antt_db_job_set_timeout(antt_db_job_t *job, long ms);
/* A job whose transaction PostgreSQL rolls back for a deadlock or a
 * serialization failure (SQLSTATE 40P01, 40001), which the same transaction
 * sent again may not meet, is sent again at once, at most n times, before
 * its callback hears of the failure. Only for a job whose statements may
 * run again and whose completion may come after later jobs'. Default 0. */
void antt_db_job_set_retries(antt_db_job_t *job, int n);
/* Inside a job callback: how many times the job was sent (1 unless it was
 * sent again). */
int antt_db_job_attempts(const antt_db_job_t *job);
/* Frees a job that was never submitted. Accepts NULL; nulls *job_p. */
void antt_db_job_destroy(antt_db_job_t **job_p);
/* Hands the job to db. Returns 0 (cb will run once) or -ENOTCONN when the
 * connection is down: then the job is freed and cb is not called. */
int antt_db_submit(antt_db_t *db, antt_db_job_t *job);

/* Inside a job callback: the result of statement i (borrowed), the first
 * error message and SQLSTATE (borrowed, NULL when none). */
PGresult *antt_db_job_result(const antt_db_job_t *job, int i);
int antt_db_job_count(const antt_db_job_t *job); /* statements in the job */
const char *antt_db_job_error(const antt_db_job_t *job);
const char *antt_db_job_sqlstate(const antt_db_job_t *job);
double antt_db_job_seconds(const antt_db_job_t *job); /* submit to completion */

/* Fails every job with -ECANCELED, closes the connection and its handles,
 * then calls cb and frees db. Accepts NULL. */
void antt_db_close(antt_db_t *db, antt_db_close_cb cb, void *arg);

/* Blocking helpers for start-up code and tools (not for the loop's hot path).
 * antt_db_connect_sync returns a connection or NULL, writing why into err. */
PGconn *antt_db_connect_sync(const char *conninfo, char *err, size_t errlen);
/* Runs sql (may hold several statements); returns 0 or -EIO with err set. */
int antt_db_exec_sync(PGconn *c, const char *sql, char *err, size_t errlen);

#endif
