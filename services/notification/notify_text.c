/* notify_text: the names of statuses, update kinds and triage actions, and
 * the JSON form of an incident update. */
#include <string.h>

#include <jansson.h>

#include "antt_util.h"
#include "notify.h"

static const char *const s_status[] = {"", "new", "acknowledged", "assigned", "resolved", "rejected", "merged"};

const char *notify_status_name(Antt__V1__IncidentStatus s)
{
    return (unsigned)s < ANTT_ARRAY_SIZE(s_status) ? s_status[s] : "";
}

Antt__V1__IncidentStatus notify_status_parse(const char *s)
{
    for (size_t i = 1; s && i < ANTT_ARRAY_SIZE(s_status); i++)
        if (!strcmp(s, s_status[i]))
            return (Antt__V1__IncidentStatus)i;
    return ANTT__V1__INCIDENT_STATUS__STATUS_UNSPECIFIED;
}

/* kinds as the SQL side writes them (events and antt_triage's rows), by
 * UpdateKind; several SQL names may map to one kind */
static const struct {
    const char *sql;
    Antt__V1__UpdateKind kind;
} s_kinds[] = {
    {"created", ANTT__V1__UPDATE_KIND__UPDATE_CREATED},
    {"report_joined", ANTT__V1__UPDATE_KIND__UPDATE_REPORT_JOINED},
    {"acknowledge", ANTT__V1__UPDATE_KIND__UPDATE_ACKNOWLEDGED},
    {"assign", ANTT__V1__UPDATE_KIND__UPDATE_ASSIGNED},
    {"note", ANTT__V1__UPDATE_KIND__UPDATE_NOTE},
    {"escalate", ANTT__V1__UPDATE_KIND__UPDATE_ESCALATED},
    {"escalated", ANTT__V1__UPDATE_KIND__UPDATE_ESCALATED},
    {"merge", ANTT__V1__UPDATE_KIND__UPDATE_MERGED},
    {"merged_in", ANTT__V1__UPDATE_KIND__UPDATE_MERGED},
    {"split", ANTT__V1__UPDATE_KIND__UPDATE_SPLIT},
    {"split_out", ANTT__V1__UPDATE_KIND__UPDATE_SPLIT},
    {"resolve", ANTT__V1__UPDATE_KIND__UPDATE_RESOLVED},
    {"reject", ANTT__V1__UPDATE_KIND__UPDATE_REJECTED},
    {"reopen", ANTT__V1__UPDATE_KIND__UPDATE_REOPENED},
    {"contact_unsealed", ANTT__V1__UPDATE_KIND__UPDATE_CONTACT_UNSEALED},
    {"reclassified", ANTT__V1__UPDATE_KIND__UPDATE_RECLASSIFIED},
    {"claimed", ANTT__V1__UPDATE_KIND__UPDATE_CLAIMED},
    {"solved", ANTT__V1__UPDATE_KIND__UPDATE_RESOLVED}, /* resolved with the outcome solved */
};

Antt__V1__UpdateKind notify_kind_parse(const char *s)
{
    for (size_t i = 0; s && i < ANTT_ARRAY_SIZE(s_kinds); i++)
        if (!strcmp(s, s_kinds[i].sql))
            return s_kinds[i].kind;
    return ANTT__V1__UPDATE_KIND__UPDATE_UNSPECIFIED;
}

static const char *const s_kind_names[] = {
    "state",    "created",  "report_joined", "acknowledged", "assigned", "note",
    "escalated", "merged",  "split",         "resolved",     "rejected", "reopened",
    "contact_unsealed", "reclassified", "claimed"};

const char *notify_kind_name(Antt__V1__UpdateKind k)
{
    return (unsigned)k < ANTT_ARRAY_SIZE(s_kind_names) ? s_kind_names[k] : "state";
}

/* by TriageAction value: the action antt_triage() knows */
static const char *const s_actions[] = {NULL,     "acknowledge", "assign", "note",   "escalate",       "merge",
                                        "split",  "resolve",     "reject", "reopen", "unseal_contact", "list",
                                        "get",    "claim",       "reclassify", "show", "solve"};

const char *notify_action_name(Antt__V1__TriageAction a)
{
    return (unsigned)a < ANTT_ARRAY_SIZE(s_actions) ? s_actions[a] : NULL;
}

Antt__V1__TriageAction notify_action_parse(const char *s)
{
    for (size_t i = 1; s && i < ANTT_ARRAY_SIZE(s_actions); i++)
        if (!strcmp(s, s_actions[i]))
            return (Antt__V1__TriageAction)i;
    return ANTT__V1__TRIAGE_ACTION__ACTION_UNSPECIFIED;
}

static void s_time(json_t *o, const char *key, int has, int64_t ms)
{
    char ts[40];
    if (has && ms > 0)
        json_object_set_new(o, key, json_string(antt_format_time(ms, ts, sizeof(ts))));
}

static void s_str(json_t *o, const char *key, const char *v)
{
    if (v && *v)
        json_object_set_new(o, key, json_string(v));
}

char *notify_update_json(const Antt__V1__IncidentUpdate *u)
{
    json_t *o = json_object();
    s_str(o, "incident_id", u->incident_id);
    json_object_set_new(o, "version", json_integer(u->version));
    json_object_set_new(o, "kind", json_string(notify_kind_name(u->kind)));
    s_str(o, "status", notify_status_name(u->status));
    s_str(o, "category", u->category);
    if (u->has_priority)
        json_object_set_new(o, "priority", json_integer(u->priority));
    s_str(o, "area_code", u->area_code);
    s_str(o, "desk_code", u->desk_code);
    if (u->has_report_count)
        json_object_set_new(o, "report_count", json_integer(u->report_count));
    s_str(o, "actor", u->actor);
    s_str(o, "note", u->note);
    s_str(o, "merged_into", u->merged_into);
    s_str(o, "outcome", u->outcome);
    s_str(o, "assignee", u->assignee);
    s_time(o, "at", u->has_at_ms, u->at_ms);
    s_time(o, "occurred_at", u->has_occurred_at_ms, u->occurred_at_ms);
    s_time(o, "ack_deadline", u->has_ack_deadline_ms, u->ack_deadline_ms);
    s_time(o, "created_at", u->has_created_at_ms, u->created_at_ms);
    if (u->has_needs_review)
        json_object_set_new(o, "needs_review", json_boolean(u->needs_review));
    if (u->n_review_reasons) {
        json_t *a = json_array();
        for (size_t i = 0; i < u->n_review_reasons; i++)
            json_array_append_new(a, json_string(u->review_reasons[i]));
        json_object_set_new(o, "review_reasons", a);
    }
    if (u->has_overdue)
        json_object_set_new(o, "overdue", json_boolean(u->overdue));
    if (u->has_escalated)
        json_object_set_new(o, "escalated", json_boolean(u->escalated));
    s_str(o, "escalated_to", u->escalated_to);
    s_str(o, "claimed_desk", u->claimed_desk);
    s_str(o, "claimed_by", u->claimed_by);
    s_str(o, "ward_name", u->ward_name);
    s_str(o, "first_text", u->first_text);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}
