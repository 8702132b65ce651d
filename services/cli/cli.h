/* antt: the command-line tool for people. One file per command. */
#ifndef CLI_H
#define CLI_H

#include "antt_config.h"

/* Loads settings like the services do: -c FILE / ANTT_CONFIG, then ANTT_*. */
antt_config_t *cli_config(const char *path);

int cli_keygen(int argc, char **argv);
int cli_gateway(int argc, char **argv);
int cli_submit(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_classify(int argc, char **argv);

#endif
