/* antt_db_job: a job, the statements antt_db sends in one pipeline sync
 * (with its optional statement timeout), and the results it reads back. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_db_int.h"
#include "antt_util.h"

antt_db_job_t *antt_db_job_new(antt_db_job_cb cb, void *arg)
{
    antt_db_job_t *job = antt_xcalloc(1, sizeof(*job));
    job->cb = cb;
    job->arg = arg;
    return job;
}

void antt_db_job_set_cb(antt_db_job_t *job, antt_db_job_cb cb, void *arg)
{
    job->cb = cb;
    job->arg = arg;
}

void antt_db_job_add(antt_db_job_t *job, const char *sql, int nparams, const char *const *values,
                     const int *lengths, const int *formats)
{
    job->stmts = antt_xrealloc(job->stmts, (size_t)(job->nstmts + 1) * sizeof(antt_db_stmt_t));
    antt_db_stmt_t *s = &job->stmts[job->nstmts++];
    memset(s, 0, sizeof(*s));
    s->sql = antt_xstrdup(sql);
    s->nparams = nparams;
    if (nparams > 0) {
        s->values = antt_xcalloc((size_t)nparams, sizeof(char *));
        s->lengths = antt_xcalloc((size_t)nparams, sizeof(int));
        s->formats = antt_xcalloc((size_t)nparams, sizeof(int));
        for (int i = 0; i < nparams; i++) {
            int bin = formats ? formats[i] : 0;
            s->formats[i] = bin;
            if (values[i] == NULL)
                continue;
            size_t len = bin ? (size_t)lengths[i] : strlen(values[i]);
            s->values[i] = antt_xmalloc(len + 1);
            memcpy(s->values[i], values[i], len);
            s->values[i][len] = '\0';
            s->lengths[i] = (int)len;
        }
    }
}

void antt_db_job_destroy(antt_db_job_t **job_p)
{
    if (job_p == NULL || *job_p == NULL)
        return;
    antt_db_job_t *job = *job_p;
    for (int i = 0; i < job->nstmts; i++) {
        antt_db_stmt_t *s = &job->stmts[i];
        for (int k = 0; s->values && k < s->nparams; k++)
            free(s->values[k]);
        free(s->values);
        free(s->lengths);
        free(s->formats);
        free(s->sql);
        free(s->name);
        PQclear(s->result);
    }
    free(job->stmts);
    free(job->error);
    free(job);
    *job_p = NULL;
}

void antt_db_job_set_timeout(antt_db_job_t *job, long ms)
{
    assert(job->hidden == 0 && ms > 0);
    char v[24];
    snprintf(v, sizeof(v), "%ld", ms);
    const char *vals[1] = {v};
    /* set_config(..., true) lasts until the job's transaction ends (its
     * Sync); the server starts each statement's timer afresh */
    antt_db_job_add(job, "SELECT set_config('statement_timeout', $1, true)", 1, vals, NULL, NULL);
    antt_db_stmt_t last = job->stmts[job->nstmts - 1];
    memmove(job->stmts + 1, job->stmts, (size_t)(job->nstmts - 1) * sizeof(antt_db_stmt_t));
    job->stmts[0] = last;
    job->hidden = 1;
}

void antt_db_job_set_retries(antt_db_job_t *job, int n)
{
    assert(n >= 0);
    job->retries = n;
}

int antt_db_job_attempts(const antt_db_job_t *job)
{
    return job->attempts;
}

int antt_db_job_may_retry(const antt_db_job_t *job)
{
    return job->failed && !job->unreplicated && job->retries > 0 &&
           (!strcmp(job->sqlstate, "40P01") || !strcmp(job->sqlstate, "40001"));
}

void antt_db_job_reset(antt_db_job_t *job)
{
    for (int i = 0; i < job->nstmts; i++) {
        PQclear(job->stmts[i].result);
        job->stmts[i].result = NULL;
    }
    free(job->error);
    job->error = NULL;
    job->sqlstate[0] = '\0';
    job->failed = 0;
    job->cur = 0;
}

PGresult *antt_db_job_result(const antt_db_job_t *job, int i)
{
    assert(i >= 0 && i + job->hidden < job->nstmts);
    return job->stmts[i + job->hidden].result;
}

int antt_db_job_count(const antt_db_job_t *job)
{
    return job->nstmts - job->hidden;
}

const char *antt_db_job_error(const antt_db_job_t *job)
{
    return job->error;
}

const char *antt_db_job_sqlstate(const antt_db_job_t *job)
{
    return job->sqlstate[0] ? job->sqlstate : NULL;
}

double antt_db_job_seconds(const antt_db_job_t *job)
{
    return job->seconds;
}

void antt_db_job_finish(antt_db_job_t *job, int status)
{
    job->seconds = (double)(antt_mono_ns() - job->submitted_ns) / 1e9;
    job->cb(job, status, job->arg);
    antt_db_job_destroy(&job);
}

void antt_db_job_fail(antt_db_job_t *job, const char *msg)
{
    if (job->error == NULL && msg != NULL)
        job->error = antt_xstrdup(msg);
    job->failed = 1;
}

/* queues */

void antt_db_job_add_prepared(antt_db_job_t *job, const char *name, int nparams,
                              const char *const *values, const int *lengths, const int *formats)
{
    antt_db_job_add(job, "", nparams, values, lengths, formats);
    antt_db_stmt_t *s = &job->stmts[job->nstmts - 1];
    s->kind = ANTT_DB_EXEC_PREPARED;
    s->name = antt_xstrdup(name);
}

