/* antt_db_int: what antt_db.c (the connection) and antt_db_job.c (the
 * job, a pipeline of statements and their results) share. */
#ifndef ANTT_DB_INT_H
#define ANTT_DB_INT_H
#include <stdint.h>

#include "antt_db.h"

typedef enum { ANTT_DB_QUERY, ANTT_DB_EXEC_PREPARED, ANTT_DB_PREPARE } antt_db_stmt_kind_t;

typedef struct antt_db_stmt_s {
    antt_db_stmt_kind_t kind;      /* plain query, run a prepared statement, or prepare one */
    char *name;         /* prepared statement name (ANTT_DB_EXEC_PREPARED, ANTT_DB_PREPARE) */
    char *sql;          /* statement text (ANTT_DB_QUERY, ANTT_DB_PREPARE) */
    int nparams;        /* parameter count */
    char **values;      /* copied parameter values (NULL = SQL NULL) */
    int *lengths;       /* parameter lengths */
    int *formats;       /* 0 text, 1 binary */
    PGresult *result;   /* last result received for this statement */
} antt_db_stmt_t;

struct antt_db_job_s {
    antt_db_job_cb cb;       /* completion callback */
    void *arg;               /* cb argument */
    antt_db_stmt_t *stmts;         /* statements in order */
    int nstmts;              /* statement count */
    int cur;                 /* statement whose results are being read */
    int failed;              /* a statement failed */
    char *error;             /* first error message */
    char sqlstate[6];        /* first error's SQLSTATE */
    int hidden;              /* leading statements antt_db added (the job's timeout) */
    int unreplicated;        /* its commit's wait for the synchronous standby was cancelled */
    int retries;             /* sends left after a deadlock or serialization failure */
    int attempts;            /* times sent */
    uint64_t submitted_ns;   /* for latency */
    double seconds;          /* submit to completion */
    antt_db_job_t *next;     /* queue link */
};

/* Ends job with status: its callback runs, then it is freed. */
void antt_db_job_finish(antt_db_job_t *job, int status);
/* Forgets what a rolled-back send of job left (results, error), so that it
 * can be sent again. */
void antt_db_job_reset(antt_db_job_t *job);
/* 1 when job failed in a way that sending it again may not (a deadlock or
 * a serialization failure, SQLSTATE 40P01 or 40001) and it has sends left. */
int antt_db_job_may_retry(const antt_db_job_t *job);
/* Marks job failed, keeping the first message. */
void antt_db_job_fail(antt_db_job_t *job, const char *msg);

#endif
