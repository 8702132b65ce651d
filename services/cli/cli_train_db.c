/* cli_train_db: what the dispatchers taught, as training rows for
 * `antt train --from-db`: every report of an incident whose category or
 * priority a dispatcher corrected (reclassify), with the corrected labels,
 * and every report of a resolved incident (its category confirmed by the
 * desk that closed it). Imported history is left out: its text is a
 * placeholder, not a resident's words. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_categories.h"
#include "antt_util.h"
#include "cli.h"
#include "cli_corpus.h"

/* One row per report; the incident is the situation (its reports share a
 * fold). The newest rows first, at most 200,000. */
static const char *S_SQL =
    "SELECT i.category, i.priority, i.id::text, r.description "
    "  FROM incidents i JOIN incident_reports l ON l.incident_id = i.id JOIN reports r ON r.id = l.report_id "
    " WHERE (i.status = 'resolved' OR EXISTS (SELECT 1 FROM classification_corrections c "
    "                                         WHERE c.incident_id = i.id)) "
    "   AND NOT i.imported AND length(r.description) > 0 "
    " ORDER BY i.updated_at DESC LIMIT 200000";

int cli_corpus_from_db(cli_corpus_t *c, const char *cfg_path)
{
    PGconn *db = cli_connect(cfg_path);
    if (db == NULL)
        return -1;
    PGresult *res = PQexec(db, S_SQL);
    int added = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "antt: could not read corrections: %s", PQerrorMessage(db));
        goto out;
    }
    added = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        const antt_category_t *cat = antt_category_find(PQgetvalue(res, i, 0));
        int prio = atoi(PQgetvalue(res, i, 1));
        if (cat == NULL || prio < 1 || prio > 4)
            continue;
        char line[64];
        snprintf(line, sizeof(line), "db:%s", PQgetvalue(res, i, 2));
        if (cli_corpus_add(c, (int)(cat - antt_categories), prio, line, 0, PQgetvalue(res, i, 3)) == 0)
            added++;
    }
out:
    PQclear(res);
    PQfinish(db);
    return added;
}
