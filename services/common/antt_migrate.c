/* antt_migrate: applies the embedded migrations in order. */
#include "antt_migrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_db.h"
#include "antt_log.h"

/* "antt" in ASCII: the advisory lock key every service agrees on */
#define S_LOCK_KEY "1635020916"

int antt_migrate_latest(void)
{
    int v = 0;
    for (int i = 0; i < antt_migrations_count; i++)
        if (antt_migrations[i].version > v)
            v = antt_migrations[i].version;
    return v;
}

static int s_applied(PGconn *c, int version, int *yes, char *err, size_t errlen)
{
    char v[16];
    snprintf(v, sizeof(v), "%d", version);
    const char *params[] = {v};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL,
                               params, NULL, NULL, 0);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "could not read schema_migrations: %s", PQresultErrorMessage(r));
        rc = -EIO;
    } else {
        *yes = PQntuples(r) > 0;
    }
    PQclear(r);
    return rc;
}

int antt_migrate(PGconn *c, char *err, size_t errlen)
{
    char e2[1024];
    int applied = 0, rc;

    if (antt_db_exec_sync(c, "SELECT pg_advisory_lock(" S_LOCK_KEY ")", e2, sizeof(e2)) != 0) {
        snprintf(err, errlen, "could not take migration lock: %s", e2);
        return -EIO;
    }
    rc = antt_db_exec_sync(c,
                           "SET client_min_messages = warning;"
                           "CREATE TABLE IF NOT EXISTS schema_migrations ("
                           " version int PRIMARY KEY, name text NOT NULL,"
                           " applied_at timestamptz NOT NULL DEFAULT now())",
                           e2, sizeof(e2));
    if (rc != 0) {
        snprintf(err, errlen, "could not create schema_migrations: %s", e2);
        goto out;
    }
    for (int i = 0; i < antt_migrations_count; i++) {
        const antt_migration_t *m = &antt_migrations[i];
        int yes = 0;
        if ((rc = s_applied(c, m->version, &yes, err, errlen)) != 0)
            goto out;
        if (yes)
            continue;
        if ((rc = antt_db_exec_sync(c, "BEGIN", e2, sizeof(e2))) != 0)
            goto fail;
        if ((rc = antt_db_exec_sync(c, m->sql, e2, sizeof(e2))) != 0) {
            char e3[64];
            antt_db_exec_sync(c, "ROLLBACK", e3, sizeof(e3));
            goto fail;
        }
        char v[16];
        snprintf(v, sizeof(v), "%d", m->version);
        const char *params[] = {v, m->name};
        PGresult *r = PQexecParams(c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                                   2, NULL, params, NULL, NULL, 0);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            snprintf(e2, sizeof(e2), "%s", PQresultErrorMessage(r));
        PQclear(r);
        if (!ok || (rc = antt_db_exec_sync(c, "COMMIT", e2, sizeof(e2))) != 0) {
            char e3[64];
            antt_db_exec_sync(c, "ROLLBACK", e3, sizeof(e3));
            rc = -EIO;
            goto fail;
        }
        ANTT_LOG(ANTT_INFO, "applied migration version=%d name=%s", m->version, m->name);
        applied++;
        continue;
    fail:
        snprintf(err, errlen, "could not apply migration %03d_%s: %s", m->version, m->name, e2);
        rc = -EIO;
        goto out;
    }
    rc = applied;
out:
    antt_db_exec_sync(c, "SELECT pg_advisory_unlock(" S_LOCK_KEY ")", e2, sizeof(e2));
    return rc;
}

int antt_migrate_check(PGconn *c, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, "SELECT count(*), coalesce(max(version), 0) FROM schema_migrations");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        int missing = state && !strcmp(state, "42P01"); /* undefined_table */
        snprintf(err, errlen, "%s: %s", missing ? "database has no schema yet (run antt migrate)"
                                                : "could not read schema_migrations",
                 PQresultErrorMessage(r));
        PQclear(r);
        return missing ? -EAGAIN : -EIO;
    }
    int have = atoi(PQgetvalue(r, 0, 0)), at = atoi(PQgetvalue(r, 0, 1));
    PQclear(r);
    if (have < antt_migrations_count) {
        snprintf(err, errlen, "database schema is at version %d, this build needs %d: run antt migrate", at,
                 antt_migrate_latest());
        return -EAGAIN;
    }
    return 0;
}

static void s_on_partitions(antt_db_job_t *job, int status, void *arg)
{
    (void)arg;
    if (status != 0 && status != -ECANCELED)
        ANTT_LOG(ANTT_WARN, "could not create partitions: %s", antt_db_job_error(job));
}

int antt_migrate_partitions_ahead(antt_db_t *db, const char *const *tables)
{
    if (!antt_db_connected(db))
        return -ENOTCONN;
    antt_db_job_t *job = antt_db_job_new(s_on_partitions, NULL);
    for (int i = 0; tables[i]; i++)
        antt_db_job_add(job, "SELECT antt_ensure_month_partitions($1::regclass, current_date, 3)", 1, &tables[i],
                        NULL, NULL);
    return antt_db_submit(db, job);
}
