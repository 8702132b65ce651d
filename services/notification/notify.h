/* notify: the notification service. It SUBscribes to classified incidents
 * and PUBlishes them to the desk feeds (ZeroMQ topic "desk.<CODE>." for the
 * incident's desk, every desk above it and the extra routes; Server-Sent
 * Events for browser consoles) and as "incident.update.<AREA>" for
 * aggregation; escalates unacknowledged incidents when their deadline passes
 * (one libuv timer, set from PostgreSQL at start and after each change); and
 * runs dispatchers' triage commands (protobuf on a ROUTER, JSON over HTTP),
 * each checked and recorded by antt_triage() in PostgreSQL. */
#ifndef NOTIFY_H
#define NOTIFY_H

#include "antt/v1/incident.pb-c.h"
#include "antt/v1/triage.pb-c.h"

/* The service's entry point (argv as given to main). */
int notify_main(int argc, char **argv);

/* Text forms used by the SQL side and the JSON API, and back. */
const char *notify_status_name(Antt__V1__IncidentStatus s);
Antt__V1__IncidentStatus notify_status_parse(const char *s);
Antt__V1__UpdateKind notify_kind_parse(const char *s);
const char *notify_kind_name(Antt__V1__UpdateKind k);
/* The SQL action of a triage action, or NULL when it has none. */
const char *notify_action_name(Antt__V1__TriageAction a);
Antt__V1__TriageAction notify_action_parse(const char *s);
/* An IncidentUpdate as a JSON object (malloc'd). */
char *notify_update_json(const Antt__V1__IncidentUpdate *u);

#endif
