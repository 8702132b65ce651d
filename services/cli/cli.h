/* antt: the command-line tool for people. One file per command. */
#ifndef CLI_H
#define CLI_H

#include <libpq-fe.h>

#include <stdio.h>

#include "antt/v1/incident.pb-c.h"
#include "antt/v1/triage.pb-c.h"
#include "antt_config.h"

/* Loads settings like the services do: -c FILE / ANTT_CONFIG, then ANTT_*. */
antt_config_t *cli_config(const char *path);
/* Makes sock's next connect a CURVE client of the service peer with the
 * client keypair of cfg (keys.client_curve_secret, curve.enabled; cfg NULL:
 * the default settings). Returns 0 (also when CURVE is off), or -1 after
 * printing why. */
int cli_curve_client(const antt_config_t *cfg, void *sock, const char *peer);
/* Connects to db.conninfo of those settings; NULL after printing why. */
PGconn *cli_connect(const char *cfg_path);

/* cli_dispatch.c: runs one statement on db.conninfo of cfg_path's settings;
 * prints what (when not NULL) on success, the server's error otherwise.
 * Returns the exit status (0 or 1). */
int cli_exec(const char *cfg_path, const char *sql, int n, const char *const *params, const char *what);

/* cli_incident.c: copies into out (outlen bytes) at most max_chars
 * characters of s, cut on a character boundary (never inside a UTF-8
 * sequence), control characters as spaces, and "…" when cut (or when out is
 * full). Returns the characters written, the ellipsis included. */
size_t cli_utf8_prefix(const char *s, size_t max_chars, char *out, size_t outlen);
/* One incident on one line (idx > 0: its number in the list): priority,
 * category, status, age, ward, reports, deadline, the review / overdue /
 * escalated / claimed marks, assignee, the first 60 characters of its first
 * report's text, and the start of its id. */
void cli_incident_line(FILE *f, int idx, const Antt__V1__IncidentUpdate *u);
/* A SHOW reply: the line, then the reports' texts and the event log. */
void cli_incident_show(FILE *f, const Antt__V1__TriageReply *r);

/* cli_feed.c: the desk feed of a dispatcher's token, from notification's
 * SSE stream (console.feed_url, default http://<notification.http>/api/v1/feed),
 * read by a thread that reconnects from the last event. Each event arrives
 * on cli_feed_fd (non-blocking) as one line: the update's JSON,
 * {"reset": true} (reload the list) or {"refused": true} (the token). NULL
 * when the thread could not start. */
typedef struct cli_feed_s cli_feed_t;
cli_feed_t *cli_feed_start(const antt_config_t *cfg, const char *token);
int cli_feed_fd(const cli_feed_t *f);
const char *cli_feed_url(const cli_feed_t *f);
/* Ends the stream and the thread; frees and nulls *fp. Accepts NULL. */
void cli_feed_stop(cli_feed_t **fp);

int cli_keygen(int argc, char **argv);
int cli_gateway(int argc, char **argv);
int cli_submit(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_classify(int argc, char **argv);
int cli_dispatcher(int argc, char **argv);
int cli_dashboard_token(int argc, char **argv);
/* Stores a dashboard token of area named name (given, else a new one) on c:
 * the token into token, its row's id into id. 0, or -1 after printing why. */
int cli_dashboard_token_insert(PGconn *c, const char *name, const char *area, const char *given, char *token,
                               size_t tokenlen, char *id, size_t idlen);
int cli_webhook(int argc, char **argv);
int cli_route(int argc, char **argv);
int cli_triage(int argc, char **argv);
int cli_console(int argc, char **argv);
int cli_trends(int argc, char **argv);
/* cli_report.c: antt report --pdf */
int cli_report(int argc, char **argv);
int cli_summary(int argc, char **argv);
int cli_rebuild_trends(int argc, char **argv);
int cli_import(int argc, char **argv);

#endif
