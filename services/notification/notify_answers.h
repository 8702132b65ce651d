/* notify_answers: what SHOW adds to each report for the dispatcher: its
 * answers to the service's questions (in the questions' order, the question
 * and the answer in Vietnamese) and the resident's follow-ups, oldest first.
 * Pure: the JSON in, the JSON and protobuf out; never the contact, which is
 * read from nowhere here. */
#ifndef NOTIFY_ANSWERS_H
#define NOTIFY_ANSWERS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "antt/v1/triage.pb-c.h"

/* [{code, question, values, answer}] of a report of service whose
 * attributes (the JSON object intake stored, may be NULL) it answered: the
 * service's questions first, in their order, then any code it no longer
 * asks (its code as the question). A new reference, [] when none. */
json_t *notify_answers_json(const char *service, const char *attributes);

/* Adds "answers" and "follow_ups" to each report of detail's "reports"
 * from rows of (report_id, service_code, attributes, follow_ups as a JSON
 * array of {at, description, media_url}); a report without a row gets
 * empty lists. */
void notify_answers_merge(json_t *detail, PGresult *rows);

/* A report's answers and follow-ups as protobuf, borrowed from its JSON
 * (which must outlive them); notify_answers_release frees the arrays. */
typedef struct notify_answers_pb {
    Antt__V1__ReportAnswer *answers, **ap; /* n_answers, and their pointers */
    Antt__V1__ReportFollowUp *follow_ups, **fp; /* n_follow_ups, and their pointers */
    char ***values;                         /* each answer's values (borrowed strings) */
    size_t n_answers, n_follow_ups;         /* counts */
} notify_answers_pb_t;

void notify_answers_fill(notify_answers_pb_t *x, json_t *report, Antt__V1__ReportText *r);
void notify_answers_release(notify_answers_pb_t *x);

#endif
