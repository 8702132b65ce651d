/* antt_migrate: numbered SQL migrations compiled into every service and the
 * CLI. `antt migrate` applies them as the schema's owner under a PostgreSQL
 * advisory lock and records them in schema_migrations (two runs at once
 * apply each migration exactly once); a service only checks that its
 * schema is there (antt_migrate_check). */
#ifndef ANTT_MIGRATE_H
#define ANTT_MIGRATE_H

#include <stddef.h>
#include <libpq-fe.h>

#include "antt_db.h"

typedef struct antt_migration_s {
    int version;      /* NNN of NNN_name.sql */
    const char *name; /* name part */
    const char *sql;  /* file contents */
} antt_migration_t;

extern const antt_migration_t antt_migrations[];
extern const int antt_migrations_count;

/* Applies every migration not yet recorded, each in its own transaction.
 * Blocking. Returns the number applied (>= 0), or -EIO with err set. */
int antt_migrate(PGconn *c, char *err, size_t errlen);
/* Whether every migration of this binary is recorded in c's database:
 * 0 when it is, -EAGAIN when the schema is behind or not there (err says
 * which version it is at), -EIO when it cannot be read. Services call this
 * instead of migrating: they log in as roles that cannot change the schema.
 * Blocking. */
int antt_migrate_check(PGconn *c, char *err, size_t errlen);
/* Highest version known to this binary. */
int antt_migrate_latest(void);

/* Makes sure the monthly partitions of each table in the NULL-terminated list
 * exist for this month and the next three (antt_ensure_month_partitions), in
 * one job on db; a failure is logged. Loop thread. Returns 0, or -ENOTCONN
 * when db is down (nothing done: call again later). */
int antt_migrate_partitions_ahead(antt_db_t *db, const char *const *tables);

#endif
