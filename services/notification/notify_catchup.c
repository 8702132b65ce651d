/* notify_catchup: the re-drive of the desk feeds. Every notification.catchup_interval_ms, the
 * incidents created since the last one read (at start, in the last 10
 * minutes) that were not announced live are announced now, in their current
 * state, and the escalation timer is set anew from the database. The
 * classified PUB is the fast path; this is the re-drive. */
#include <errno.h>
#include <stdio.h>

#include "antt_log.h"
#include "antt_util.h"
#include "notify_int.h"

/* The catch-up reads incidents created more than this long ago (their
 * classified message had time to arrive) and keeps its ids this long. */
#define N_CATCHUP_LAG "5 seconds"
#define N_SEEN_KEEP_MS 120000
#define N_CATCHUP_ROWS 2000
#define N_STR_(x) #x
#define N_STR(x) N_STR_(x)

static void s_on_catchup(antt_db_job_t *job, int status, void *arg)
{
    n_svc_t *n = arg;
    n->catching = 0;
    if (status == -ECANCELED || n->closing)
        return;
    if (status != 0) {
        ANTT_LOG(ANTT_WARN, "catch-up failed: %s", antt_db_job_error(job) ? antt_db_job_error(job) : "");
        return;
    }
    PGresult *r = antt_db_job_result(job, 0);
    int rows = PQntuples(r), announced = 0;
    for (int i = 0; i < rows; i++) {
        const char *id = PQgetvalue(r, i, N_COL_ID);
        if (notify_seen_has(n->seen, id))
            continue;
        Antt__V1__IncidentUpdate u = ANTT__V1__INCIDENT_UPDATE__INIT;
        notify_fill_update(&u, r, i);
        notify_publish(n, &u);
        notify_update_release(&u);
        antt_metric_inc(n->m_caught_up);
        announced++;
    }
    if (rows > 0)
        snprintf(n->catchup_hi, sizeof(n->catchup_hi), "%s", PQgetvalue(r, rows - 1, N_STATE_NCOLS));
    ANTT_LOG(ANTT_DEBUG, "catch-up rows=%d announced=%d after=%s seen=%zu", rows, announced, n->catchup_hi,
             notify_seen_count(n->seen));
    /* their deadlines were read by the notify_next_deadline submitted just
     * before this query, on the same connection */
    if (announced > 0)
        ANTT_LOG(ANTT_INFO, "catch-up announced incidents=%d (their classified messages did not arrive)", announced);
    if (rows == N_CATCHUP_ROWS) /* more behind: go on at once */
        uv_timer_start(&n->catchup, notify_catchup, 10, (uint64_t)n->set.catchup_interval_ms);
}

void notify_catchup(uv_timer_t *t)
{
    n_svc_t *n = t->data;
    if (n->closing || n->catching || !antt_db_connected(n->db) || !notify_active(n))
        return;
    notify_seen_prune(n->seen, antt_now_ms() - N_SEEN_KEEP_MS);
    notify_next_deadline(n);
    const char *v[1] = {n->catchup_hi[0] ? n->catchup_hi : NULL};
    antt_db_job_t *job = antt_db_job_new(s_on_catchup, n);
    antt_db_job_add(job,
                    N_STATE_COLUMNS ", created_at_text FROM ("
                    "SELECT s.*, i.created_at::text AS created_at_text, i.created_at AS created_at_order"
                    " FROM incidents i CROSS JOIN LATERAL antt_incident_state(i, 'created', 'classification', NULL) s"
                    " WHERE i.created_at > COALESCE($1::timestamptz, now() - interval '10 minutes')"
                    " AND i.created_at <= now() - interval '" N_CATCHUP_LAG "'"
                    " ORDER BY i.created_at LIMIT " N_STR(N_CATCHUP_ROWS) ") c ORDER BY created_at_order",
                    1, v, NULL, NULL);
    if (antt_db_submit(n->db, job) == 0)
        n->catching = 1;
}
