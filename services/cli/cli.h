/* antt: the command-line tool for people. One file per command. */
#ifndef CLI_H
#define CLI_H

#include <libpq-fe.h>

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

int cli_keygen(int argc, char **argv);
int cli_gateway(int argc, char **argv);
int cli_submit(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_classify(int argc, char **argv);
int cli_dispatcher(int argc, char **argv);
int cli_webhook(int argc, char **argv);
int cli_route(int argc, char **argv);
int cli_triage(int argc, char **argv);
int cli_console(int argc, char **argv);
int cli_trends(int argc, char **argv);
int cli_summary(int argc, char **argv);
int cli_rebuild_trends(int argc, char **argv);
int cli_import(int argc, char **argv);

#endif
