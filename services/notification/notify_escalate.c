/* notify_escalate: the escalation timer. One libuv timer is set to the
 * earliest deadline of an unacknowledged incident, which PostgreSQL gives at
 * start, after every escalation and after changes (a new incident's
 * deadline can only bring it forward). When it fires, antt_escalate_due()
 * tells the next desk up about every overdue incident (the incident keeps
 * its desk) and the updates go out on the feeds of every desk that sees
 * it: the desk told, and the incident's own desk, where it shows overdue. */
#include <errno.h>
#include <stdlib.h>

#include "antt_log.h"
#include "antt_util.h"
#include "notify_int.h"

static void s_on_escalated(antt_db_job_t *job, int status, void *arg)
{
    n_svc_t *n = arg;
    n->escalating = 0;
    if (status == -ECANCELED || n->closing)
        return;
    if (status != 0) {
        ANTT_LOG(ANTT_WARN, "escalation failed: %s", antt_db_job_error(job) ? antt_db_job_error(job) : "");
        notify_schedule(n, antt_now_ms() + 1000); /* try again */
        return;
    }
    PGresult *r = antt_db_job_result(job, antt_db_job_count(job) - 1); /* after the fence */
    for (int i = 0; i < PQntuples(r); i++) {
        Antt__V1__IncidentUpdate u = ANTT__V1__INCIDENT_UPDATE__INIT;
        notify_fill_update(&u, r, i);
        ANTT_LOG(ANTT_INFO, "escalated incident=%s desk=%s told=%s", u.incident_id, u.desk_code ? u.desk_code : "",
                 u.escalated_to ? u.escalated_to : "(top)");
        notify_publish(n, &u);
        notify_update_release(&u);
        antt_metric_inc(n->m_escalated);
    }
    notify_next_deadline(n);
}

static void s_escalate_now(uv_timer_t *t)
{
    n_svc_t *n = t->data;
    n->next_deadline_ms = 0;
    if (n->escalating || n->closing || !notify_active(n))
        return; /* a standby escalates nothing: the active one's timer does */
    antt_db_job_t *job = antt_db_job_new(s_on_escalated, n);
    /* each deadline escalates once: the fence stops a leader that has just
     * lost its lock, and antt_escalate_due takes each overdue row FOR
     * UPDATE SKIP LOCKED and moves its deadline in the same transaction */
    antt_leader_fence(n->leader, job);
    const char *v[1] = {n->ack_s};
    antt_db_job_add(job, N_STATE_COLUMNS " FROM antt_escalate_due($1::int[], 200)", 1, v, NULL, NULL);
    if (antt_db_submit(n->db, job) == 0)
        n->escalating = 1;
    else
        notify_schedule(n, antt_now_ms() + 1000);
}

void notify_schedule(n_svc_t *n, int64_t deadline_ms)
{
    if (deadline_ms <= 0 || n->closing)
        return;
    if (n->next_deadline_ms && n->next_deadline_ms <= deadline_ms)
        return;
    n->next_deadline_ms = deadline_ms;
    int64_t wait = deadline_ms - antt_now_ms();
    uv_timer_start(&n->escalate, s_escalate_now, wait > 0 ? (uint64_t)wait : 0, 0);
}

static void s_on_next_deadline(antt_db_job_t *job, int status, void *arg)
{
    n_svc_t *n = arg;
    if (status == -ECANCELED || n->closing)
        return;
    if (status != 0) {
        notify_schedule(n, antt_now_ms() + 1000);
        return;
    }
    PGresult *r = antt_db_job_result(job, 0);
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        notify_schedule(n, atoll(PQgetvalue(r, 0, 0)));
}

/* The timers are rebuilt from the database, never only remembered. */
void notify_next_deadline(n_svc_t *n)
{
    antt_db_job_t *job = antt_db_job_new(s_on_next_deadline, n);
    antt_db_job_add(job,
                    "SELECT (extract(epoch FROM min(ack_deadline)) * 1000)::bigint FROM incidents"
                    " WHERE status = 'new'",
                    0, NULL, NULL, NULL);
    antt_db_submit(n->db, job);
}
