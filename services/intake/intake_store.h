/* intake_store: durable storage of accepted reports with group commit.
 *
 * Reports submitted while a transaction is in flight wait and go together in
 * the next one (natural batching: no added delay when idle, large batches
 * under load). One batch is one statement and one Sync, i.e. one transaction:
 * the report rows, their idempotency keys and their rows in the queue to
 * classification commit together or not at all. Callbacks run only after
 * the commit. A retry with a known (gateway, idempotency key) gets the id
 * stored the first time and stores nothing. */
#ifndef INTAKE_STORE_H
#define INTAKE_STORE_H

#include <uv.h>

#include "antt_db.h"
#include "intake_report.h"

typedef struct intake_store_s intake_store_t;

/* status 0: stored (replayed = 1 when the key was already known, report_id
 * and received_ms then are the first report's); -ENOTCONN, -ECONNRESET, -EIO:
 * not known to be stored; the gateway should retry with the same key. r is
 * borrowed for the call and freed by the store afterwards. */
typedef void (*intake_store_cb)(intake_report_t *r, int status, const char *report_id,
                                int64_t received_ms, int replayed, void *arg);

/* dbs: connections to spread batches over (borrowed); batch_max: most
 * reports per transaction; depth: most transactions in flight on each
 * connection (a batch waits while every connection has that many; both
 * at least 1); redrive_after_ms: when the queue row becomes due
 * for re-drive if classification has not taken the report by then. */
intake_store_t *intake_store_new(uv_loop_t *loop, antt_db_t **dbs, int ndbs, int batch_max, int depth,
                                 long redrive_after_ms);
/* Takes ownership of r (heap). cb runs exactly once, later, on the loop. */
void intake_store_submit(intake_store_t *store, intake_report_t *r, intake_store_cb cb, void *arg);
/* Looks up r's (gateway, idempotency key) without storing anything: cb
 * gets status 0 and replayed = 1 with the stored report's id when the key
 * is known, -ENOENT when not, another negative errno when the database
 * could not say. Takes ownership of r (heap); cb runs exactly once, maybe
 * before this returns. */
void intake_store_find(intake_store_t *store, intake_report_t *r, intake_store_cb cb, void *arg);
/* Reports waiting for a transaction or in one. */
size_t intake_store_backlog(const intake_store_t *store);
/* Fails what is pending with -ECANCELED and frees the store once its
 * in-flight transactions ended (call before closing the dbs). */
void intake_store_close(intake_store_t *store);

#endif
