/* notify_row: rows of antt_incident_state (N_STATE_COLUMNS) as
 * IncidentUpdates, for escalation, triage and the catch-up alike. */
#include <stdlib.h>
#include <string.h>

#include "antt_util.h"
#include "notify_int.h"

char *notify_col(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int64_t s_ms(PGresult *r, int row, int col, protobuf_c_boolean *has)
{
    *has = !PQgetisnull(r, row, col);
    return *has ? atoll(PQgetvalue(r, row, col)) : 0;
}

static int s_bool(PGresult *r, int row, int col, protobuf_c_boolean *has)
{
    *has = !PQgetisnull(r, row, col);
    return *has && PQgetvalue(r, row, col)[0] == 't';
}

/* review_reasons arrive joined by the unit separator (0x1f): a copy is cut
 * there and the array points into it */
static void s_reasons(Antt__V1__IncidentUpdate *u, const char *joined)
{
    if (joined == NULL || !*joined)
        return;
    char *copy = antt_xstrdup(joined);
    size_t n = 1;
    for (const char *p = copy; *p; p++)
        n += *p == '\x1f';
    u->review_reasons = antt_xcalloc(n, sizeof(char *));
    u->n_review_reasons = 0;
    for (char *p = copy;;) {
        u->review_reasons[u->n_review_reasons++] = p;
        char *sep = strchr(p, '\x1f');
        if (sep == NULL)
            break;
        *sep = 0;
        p = sep + 1;
    }
}

void notify_fill_update(Antt__V1__IncidentUpdate *u, PGresult *r, int row)
{
    u->has_kind = 1;
    u->kind = notify_kind_parse(notify_col(r, row, N_COL_KIND));
    u->incident_id = notify_col(r, row, N_COL_ID);
    u->has_version = 1;
    u->version = atoll(PQgetvalue(r, row, N_COL_VERSION));
    u->has_status = 1;
    u->status = notify_status_parse(notify_col(r, row, N_COL_STATUS));
    u->category = notify_col(r, row, N_COL_CATEGORY);
    u->has_priority = 1;
    u->priority = (Antt__V1__Priority)atoi(PQgetvalue(r, row, N_COL_PRIORITY));
    u->area_code = notify_col(r, row, N_COL_AREA);
    u->desk_code = notify_col(r, row, N_COL_DESK);
    u->has_report_count = 1;
    u->report_count = (uint32_t)atoi(PQgetvalue(r, row, N_COL_REPORTS));
    u->actor = notify_col(r, row, N_COL_ACTOR);
    u->note = notify_col(r, row, N_COL_NOTE);
    u->at_ms = s_ms(r, row, N_COL_AT, &u->has_at_ms);
    u->occurred_at_ms = s_ms(r, row, N_COL_OCCURRED, &u->has_occurred_at_ms);
    u->merged_into = notify_col(r, row, N_COL_MERGED_INTO);
    u->outcome = notify_col(r, row, N_COL_OUTCOME);
    u->ack_deadline_ms = s_ms(r, row, N_COL_DEADLINE, &u->has_ack_deadline_ms);
    u->assignee = notify_col(r, row, N_COL_ASSIGNEE);
    u->needs_review = s_bool(r, row, N_COL_NEEDS_REVIEW, &u->has_needs_review);
    s_reasons(u, notify_col(r, row, N_COL_REVIEW_REASONS));
    u->overdue = s_bool(r, row, N_COL_OVERDUE, &u->has_overdue);
    u->escalated_to = notify_col(r, row, N_COL_ESCALATED_TO);
    u->has_escalated = 1;
    u->escalated = u->escalated_to != NULL;
    u->claimed_desk = notify_col(r, row, N_COL_CLAIMED_DESK);
    u->claimed_by = notify_col(r, row, N_COL_CLAIMED_BY);
    u->created_at_ms = s_ms(r, row, N_COL_CREATED, &u->has_created_at_ms);
    u->ward_name = notify_col(r, row, N_COL_WARD_NAME);
    u->first_text = notify_col(r, row, N_COL_FIRST_TEXT);
}

void notify_update_release(Antt__V1__IncidentUpdate *u)
{
    if (u->n_review_reasons)
        free(u->review_reasons[0]); /* the copy they all point into */
    free(u->review_reasons);
    u->review_reasons = NULL;
    u->n_review_reasons = 0;
}
