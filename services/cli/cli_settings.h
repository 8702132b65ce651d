/* cli_settings: every service's settings table in one list, for `antt
 * config` and for the test that holds docs/operations.md to the tables. */
#ifndef CLI_SETTINGS_H
#define CLI_SETTINGS_H

#include <stdio.h>

#include "antt_config.h"
#include "antt_settings.h"

/* the common table first, then intake, classification, notification,
 * aggregation */
extern const antt_settings_t *const cli_settings_all[];
extern const size_t cli_settings_nall;

/* Prints every setting as a config file would hold it: a comment with the
 * help and what is allowed, then "key = default" (commented out when the
 * key has no default). */
void cli_settings_list(FILE *f);
/* Checks that the settings tables of markdown (rows "| key | default |
 * ..." whose first cell is a dotted name) hold each declared key once, with
 * its default ("(none...)" for no default), and no other key. Returns 0, or
 * -1 with the first difference in err. */
int cli_settings_check_docs(const char *markdown, char *err, size_t errlen);
/* Checks the names and values of cfg and the environment against every
 * table, as each service would at start. Returns 0, or -1 with why in err. */
int cli_settings_check(const antt_config_t *cfg, char *const *envp, char *err, size_t errlen);
/* `antt config --list | --check [-c FILE]`. Returns the exit status. */
int cli_config_cmd(int argc, char **argv);

#endif
