/* antt_db: asynchronous libpq on libuv, pipeline mode, reconnecting. */
#include "antt_db.h"

#include <assert.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_db_int.h"
#include "antt_log.h"
#include "antt_owner.h"
#include "antt_util.h"

#define S_MAX_BACKOFF_MS 5000

typedef enum { S_IDLE, S_CONNECTING, S_READY, S_WAIT, S_CLOSED } s_state_t;

typedef struct s_poll {
    uv_poll_t handle;  /* watches the libpq socket */
    antt_db_t *db;     /* owner, NULL once detached */
} s_poll_t;

struct antt_db_s {
    uv_loop_t *loop;           /* owning loop */
    antt_owner_t owner;        /* the loop's stop walk closes the connection through it */
    char *conninfo;            /* libpq connection string */
    char *name;                /* for logs */
    PGconn *conn;              /* current connection or NULL */
    s_state_t state;           /* connection state */
    s_poll_t *poll;            /* watcher of the current socket, or NULL */
    int poll_fd;               /* fd the watcher watches */
    int poll_events;           /* events the watcher is started with */
    int want_write;            /* output is waiting to be flushed */
    uv_timer_t timer;          /* reconnect backoff */
    int backoff_ms;            /* next reconnect delay */
    antt_db_job_t *pending, *pending_tail;   /* not yet sent */
    antt_db_job_t *inflight, *inflight_tail; /* sent, awaiting Sync */
    size_t npending, ninflight; /* queue lengths */
    int max_inflight;          /* pipeline depth */
    long statement_timeout_ms; /* set on every new connection, 0: the server's */
    antt_db_stmt_t *prepared;        /* statements prepared on every new connection */
    int nprepared;             /* count */
    antt_db_state_cb state_cb; /* up/down notifications */
    void *state_arg;           /* state_cb argument */
    antt_db_close_cb close_cb; /* set by antt_db_close */
    void *close_arg;           /* close_cb argument */
    int closing;               /* antt_db_close called */
};

static void s_connect(antt_db_t *db);
static void s_drop(antt_db_t *db, const char *why);
static void s_watch(antt_db_t *db, int events);

static antt_db_job_t *s_pop(antt_db_job_t **head, antt_db_job_t **tail)
{
    antt_db_job_t *j = *head;
    if (j) {
        *head = j->next;
        if (*head == NULL)
            *tail = NULL;
        j->next = NULL;
    }
    return j;
}

static void s_push(antt_db_job_t **head, antt_db_job_t **tail, antt_db_job_t *j)
{
    j->next = NULL;
    if (*tail)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
}

static void s_push_front(antt_db_job_t **head, antt_db_job_t **tail, antt_db_job_t *j)
{
    j->next = *head;
    *head = j;
    if (*tail == NULL)
        *tail = j;
}

/* Fails every queued job; in-flight ones with inflight_status. */
static void s_fail_all(antt_db_t *db, int inflight_status, int pending_status)
{
    antt_db_job_t *j;
    while ((j = s_pop(&db->inflight, &db->inflight_tail)) != NULL) {
        db->ninflight--;
        antt_db_job_finish(j, inflight_status);
    }
    while ((j = s_pop(&db->pending, &db->pending_tail)) != NULL) {
        db->npending--;
        antt_db_job_finish(j, pending_status);
    }
}

/* socket watching */

static void s_poll_closed(uv_handle_t *h)
{
    free(h->data);
}

static void s_unwatch(antt_db_t *db)
{
    if (db->poll == NULL)
        return;
    db->poll->db = NULL;
    uv_poll_stop(&db->poll->handle);
    uv_close((uv_handle_t *)&db->poll->handle, s_poll_closed);
    db->poll = NULL;
    db->poll_events = 0;
}

static void s_on_io(uv_poll_t *h, int status, int events);

static void s_watch(antt_db_t *db, int events)
{
    int fd = PQsocket(db->conn);
    if (db->poll && db->poll_fd != fd)
        s_unwatch(db);
    if (fd < 0)
        return;
    if (db->poll == NULL) {
        db->poll = antt_xcalloc(1, sizeof(s_poll_t));
        db->poll->db = db;
        db->poll->handle.data = db->poll;
        if (uv_poll_init(db->loop, &db->poll->handle, fd) != 0) {
            free(db->poll);
            db->poll = NULL;
            return;
        }
        db->poll_fd = fd;
        db->poll_events = 0;
    }
    if (db->poll_events != events) {
        uv_poll_start(&db->poll->handle, events, s_on_io);
        db->poll_events = events;
    }
}

/* connecting */

static void s_set_state(antt_db_t *db, s_state_t st)
{
    int was_up = db->state == S_READY, up = st == S_READY;
    db->state = st;
    if (was_up != up && db->state_cb && !db->closing)
        db->state_cb(db, up, db->state_arg);
}

static void s_on_timer(uv_timer_t *t)
{
    s_connect(t->data);
}

static void s_schedule_reconnect(antt_db_t *db)
{
    if (db->closing)
        return;
    db->state = S_WAIT;
    uv_timer_start(&db->timer, s_on_timer, (uint64_t)db->backoff_ms, 0);
    db->backoff_ms = db->backoff_ms * 2 > S_MAX_BACKOFF_MS ? S_MAX_BACKOFF_MS : db->backoff_ms * 2;
}

/* Tears the connection down; every job fails; schedules a reconnect. */
static void s_drop(antt_db_t *db, const char *why)
{
    if (db->state == S_READY)
        ANTT_LOG(ANTT_WARN, "database connection %s lost: %s", db->name, why);
    s_unwatch(db);
    if (db->conn) {
        PQfinish(db->conn);
        db->conn = NULL;
    }
    s_set_state(db, S_IDLE);
    s_fail_all(db, -ECONNRESET, -ENOTCONN);
    s_schedule_reconnect(db);
}

static void s_send_pending(antt_db_t *db);

/* A commit whose wait for the synchronous standby is cancelled (a
 * statement_timeout, a cancel) still returns success, with only a WARNING
 * that it "has already committed locally, but might not have been
 * replicated": a failover may then lose it. Such a job ends -ECONNRESET
 * (outcome unknown), never 0, so that nothing is acknowledged on it. */
static void s_on_notice(void *arg, const PGresult *r)
{
    antt_db_t *db = arg;
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    if (msg == NULL || strstr(msg, "wait for synchronous replication") == NULL) {
        ANTT_LOG(ANTT_DEBUG, "database %s says: %s", db->name, msg ? msg : "");
        return;
    }
    ANTT_LOG(ANTT_WARN, "database %s: %s: the transaction's outcome is unknown", db->name, msg);
    if (db->inflight)
        db->inflight->unreplicated = 1;
}

static void s_on_prepared(antt_db_job_t *job, int status, void *arg)
{
    antt_db_t *db = arg;
    if (status != 0 && status != -ECANCELED && status != -ECONNRESET)
        ANTT_LOG(ANTT_ERROR, "could not prepare statements on %s: %s", db->name,
                 antt_db_job_error(job));
}

/* Puts the PREPAREs first in line on a new connection: the jobs already
 * waiting may use them. */
static void s_prepare_all(antt_db_t *db)
{
    if (db->nprepared == 0 && db->statement_timeout_ms <= 0)
        return;
    antt_db_job_t *job = antt_db_job_new(s_on_prepared, db);
    if (db->statement_timeout_ms > 0) {
        char set[64];
        snprintf(set, sizeof(set), "SET statement_timeout = %ld", db->statement_timeout_ms);
        antt_db_job_add(job, set, 0, NULL, NULL, NULL);
    }
    for (int i = 0; i < db->nprepared; i++) {
        antt_db_job_add(job, db->prepared[i].sql, 0, NULL, NULL, NULL);
        antt_db_stmt_t *st = &job->stmts[job->nstmts - 1];
        st->kind = ANTT_DB_PREPARE;
        st->name = antt_xstrdup(db->prepared[i].name);
        st->nparams = db->prepared[i].nparams; /* types inferred by the server */
    }
    job->submitted_ns = antt_mono_ns();
    job->next = db->pending;
    db->pending = job;
    if (db->pending_tail == NULL)
        db->pending_tail = job;
    db->npending++;
}

static void s_connect_step(antt_db_t *db)
{
    PostgresPollingStatusType st = PQconnectPoll(db->conn);
    switch (st) {
    case PGRES_POLLING_READING:
    case PGRES_POLLING_WRITING:
        /* While connecting, libpq may close its socket and open another
         * (the next host of a multi-host conninfo, or a retry without SSL),
         * often under the same descriptor number: the kernel forgot the old
         * registration, so the watcher is made anew at every step. */
        s_unwatch(db);
        s_watch(db, st == PGRES_POLLING_READING ? UV_READABLE : UV_WRITABLE);
        return;
    case PGRES_POLLING_OK:
        PQsetnonblocking(db->conn, 1);
        PQsetNoticeReceiver(db->conn, s_on_notice, db);
        if (PQenterPipelineMode(db->conn) != 1) {
            s_drop(db, PQerrorMessage(db->conn));
            return;
        }
        db->backoff_ms = 100;
        s_watch(db, UV_READABLE);
        ANTT_LOG(ANTT_INFO, "database connection %s up host=%s port=%s", db->name,
                 PQhost(db->conn), PQport(db->conn));
        s_set_state(db, S_READY);
        s_prepare_all(db);
        s_send_pending(db);
        return;
    default: {
        char why[512];
        snprintf(why, sizeof(why), "%s", PQerrorMessage(db->conn));
        for (char *p = why; *p; p++)
            if (*p == '\n')
                *p = ' ';
        ANTT_LOG(ANTT_WARN, "could not connect database %s: %s", db->name, why);
        s_unwatch(db);
        PQfinish(db->conn);
        db->conn = NULL;
        s_schedule_reconnect(db);
        return;
    }
    }
}

static void s_connect(antt_db_t *db)
{
    if (db->closing)
        return;
    db->conn = PQconnectStart(db->conninfo);
    if (db->conn == NULL) {
        fprintf(stderr, "antt: out of memory connecting to database\n");
        abort();
    }
    if (PQstatus(db->conn) == CONNECTION_BAD) {
        ANTT_LOG(ANTT_WARN, "could not connect database %s: %s", db->name, PQerrorMessage(db->conn));
        PQfinish(db->conn);
        db->conn = NULL;
        s_schedule_reconnect(db);
        return;
    }
    db->state = S_CONNECTING;
    s_watch(db, UV_WRITABLE);
}

/* running */

static void s_flush(antt_db_t *db)
{
    int r = PQflush(db->conn);
    if (r < 0) {
        s_drop(db, PQerrorMessage(db->conn));
        return;
    }
    db->want_write = r == 1;
    s_watch(db, UV_READABLE | (db->want_write ? UV_WRITABLE : 0));
}

static void s_send_pending(antt_db_t *db)
{
    if (db->state != S_READY)
        return;
    int sent = 0;
    while (db->pending && db->ninflight < (size_t)db->max_inflight) {
        antt_db_job_t *j = s_pop(&db->pending, &db->pending_tail);
        db->npending--;
        j->attempts++;
        for (int i = 0; i < j->nstmts; i++) {
            antt_db_stmt_t *s = &j->stmts[i];
            int ok;
            if (s->kind == ANTT_DB_PREPARE)
                ok = PQsendPrepare(db->conn, s->name, s->sql, s->nparams, NULL);
            else if (s->kind == ANTT_DB_EXEC_PREPARED)
                ok = PQsendQueryPrepared(db->conn, s->name, s->nparams, (const char *const *)s->values,
                                         s->lengths, s->formats, 0);
            else
                ok = PQsendQueryParams(db->conn, s->sql, s->nparams, NULL,
                                       (const char *const *)s->values, s->lengths, s->formats, 0);
            if (!ok) {
                s_push(&db->inflight, &db->inflight_tail, j);
                db->ninflight++;
                s_drop(db, PQerrorMessage(db->conn));
                return;
            }
        }
        if (!PQpipelineSync(db->conn)) {
            s_push(&db->inflight, &db->inflight_tail, j);
            db->ninflight++;
            s_drop(db, PQerrorMessage(db->conn));
            return;
        }
        s_push(&db->inflight, &db->inflight_tail, j);
        db->ninflight++;
        sent = 1;
    }
    if (sent)
        s_flush(db);
}

static void s_record(antt_db_job_t *j, PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_PIPELINE_ABORTED) {
        antt_db_job_fail(j, "aborted: an earlier statement of the transaction failed");
        PQclear(r);
        return;
    }
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        if (!j->failed) {
            const char *ss = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            if (ss)
                snprintf(j->sqlstate, sizeof(j->sqlstate), "%s", ss);
        }
        antt_db_job_fail(j, PQresultErrorMessage(r));
    }
    if (j->cur < j->nstmts) {
        PQclear(j->stmts[j->cur].result);
        j->stmts[j->cur].result = r;
    } else {
        PQclear(r);
    }
}

static void s_read(antt_db_t *db)
{
    if (!PQconsumeInput(db->conn)) {
        s_drop(db, PQerrorMessage(db->conn));
        return;
    }
    while (db->state == S_READY && db->inflight && !PQisBusy(db->conn)) {
        antt_db_job_t *j = db->inflight;
        PGresult *r = PQgetResult(db->conn);
        if (r == NULL) {
            /* end of one statement's results */
            j->cur++;
            continue;
        }
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            s_pop(&db->inflight, &db->inflight_tail);
            db->ninflight--;
            if (antt_db_job_may_retry(j)) {
                /* rolled back by a deadlock or a serialization failure:
                 * first in line to be sent again */
                ANTT_LOG(ANTT_INFO, "db=%s transaction rolled back (SQLSTATE %s), sent again: %s", db->name,
                         j->sqlstate, j->error ? j->error : "");
                j->retries--;
                antt_db_job_reset(j);
                s_push_front(&db->pending, &db->pending_tail, j);
                db->npending++;
                continue;
            }
            antt_db_job_finish(j, j->unreplicated ? -ECONNRESET : j->failed ? -EIO : 0);
            continue;
        }
        s_record(j, r);
    }
    if (db->state == S_READY && PQstatus(db->conn) == CONNECTION_BAD) {
        s_drop(db, PQerrorMessage(db->conn));
        return;
    }
    if (db->state == S_READY)
        s_send_pending(db);
}

static void s_on_io(uv_poll_t *h, int status, int events)
{
    s_poll_t *p = h->data;
    antt_db_t *db = p->db;
    if (db == NULL)
        return;
    if (db->state == S_CONNECTING) {
        s_connect_step(db);
        return;
    }
    if (db->state != S_READY)
        return;
    if (status < 0) {
        s_drop(db, uv_strerror(status));
        return;
    }
    if (events & UV_WRITABLE)
        s_flush(db);
    if (db->state == S_READY && (events & UV_READABLE))
        s_read(db);
}

/* public */

/* the stop walk's close: the service let go of the connection without closing it */
static void s_owner_close(antt_owner_t *o)
{
    antt_db_close((antt_db_t *)((char *)o - offsetof(antt_db_t, owner)), NULL, NULL);
}

antt_db_t *antt_db_new(uv_loop_t *loop, const char *conninfo, const char *name)
{
    antt_db_t *db = antt_xcalloc(1, sizeof(*db));
    db->loop = loop;
    db->conninfo = antt_xstrdup(conninfo);
    db->name = antt_xstrdup(name ? name : "db");
    db->max_inflight = 4;
    db->backoff_ms = 100;
    db->state = S_IDLE;
    uv_timer_init(loop, &db->timer);
    db->timer.data = db;
    antt_owner_add(loop, &db->owner, s_owner_close);
    return db;
}

void antt_db_set_state_cb(antt_db_t *db, antt_db_state_cb cb, void *arg)
{
    db->state_cb = cb;
    db->state_arg = arg;
}

void antt_db_prepare(antt_db_t *db, const char *name, const char *sql, int nparams)
{
    db->prepared = antt_xrealloc(db->prepared, (size_t)(db->nprepared + 1) * sizeof(antt_db_stmt_t));
    antt_db_stmt_t *s = &db->prepared[db->nprepared++];
    memset(s, 0, sizeof(*s));
    s->kind = ANTT_DB_PREPARE;
    s->name = antt_xstrdup(name);
    s->sql = antt_xstrdup(sql);
    s->nparams = nparams;
}

void antt_db_set_statement_timeout(antt_db_t *db, long ms)
{
    assert(ms >= 0);
    db->statement_timeout_ms = ms;
}

void antt_db_set_max_inflight(antt_db_t *db, int n)
{
    assert(n > 0);
    db->max_inflight = n;
}

int antt_db_start(antt_db_t *db)
{
    assert(db->state == S_IDLE);
    s_connect(db);
    return 0;
}

int antt_db_connected(const antt_db_t *db)
{
    return db->state == S_READY;
}

size_t antt_db_backlog(const antt_db_t *db)
{
    return db->npending + db->ninflight;
}

int antt_db_submit(antt_db_t *db, antt_db_job_t *job)
{
    assert(job->nstmts > 0);
    if (db->state != S_READY || db->closing) {
        antt_db_job_destroy(&job);
        return -ENOTCONN;
    }
    job->submitted_ns = antt_mono_ns();
    s_push(&db->pending, &db->pending_tail, job);
    db->npending++;
    s_send_pending(db);
    return 0;
}

static void s_timer_closed(uv_handle_t *h)
{
    antt_db_t *db = h->data;
    if (db->close_cb)
        db->close_cb(db->close_arg);
    for (int i = 0; i < db->nprepared; i++) {
        free(db->prepared[i].name);
        free(db->prepared[i].sql);
    }
    free(db->prepared);
    free(db->conninfo);
    free(db->name);
    free(db);
}

void antt_db_close(antt_db_t *db, antt_db_close_cb cb, void *arg)
{
    if (db == NULL)
        return;
    assert(!db->closing);
    db->closing = 1;
    antt_owner_remove(&db->owner);
    db->close_cb = cb;
    db->close_arg = arg;
    s_unwatch(db);
    if (db->conn) {
        PQfinish(db->conn);
        db->conn = NULL;
    }
    db->state = S_CLOSED;
    s_fail_all(db, -ECANCELED, -ECANCELED);
    uv_timer_stop(&db->timer);
    uv_close((uv_handle_t *)&db->timer, s_timer_closed);
}

PGconn *antt_db_connect_sync(const char *conninfo, char *err, size_t errlen)
{
    PGconn *c = PQconnectdb(conninfo);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "could not connect to database: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

int antt_db_exec_sync(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s", PQresultErrorMessage(r));
        rc = -EIO;
    }
    PQclear(r);
    return rc;
}
