/* antt_config: settings from a file of "key = value" lines, overridden by
 * environment variables: key "db.conninfo" is overridden by ANTT_DB_CONNINFO
 * (dots and dashes become underscores, letters upper case). */
#ifndef ANTT_CONFIG_H
#define ANTT_CONFIG_H

#include <stddef.h>

typedef struct antt_config_s antt_config_t;

/* Returns a new empty config; never NULL. */
antt_config_t *antt_config_new(void);
/* Accepts NULL; frees and nulls *self_p. */
void antt_config_destroy(antt_config_t **self_p);
/* Reads path. Returns 0, -errno when it cannot be read, or -EINVAL on a
 * malformed line (reported in err, size errlen, with its line number). */
int antt_config_load(antt_config_t *self, const char *path, char *err, size_t errlen);
/* Sets key to value (copied), replacing any earlier value. */
void antt_config_set(antt_config_t *self, const char *key, const char *value);
/* The environment variable that overrides key, into out (size len):
 * "ANTT_" and the key with dots and dashes as underscores, upper case. */
void antt_config_env_name(const char *key, char *out, size_t len);
/* Returns the value (environment first, then file), or def. Borrowed. */
const char *antt_config_get(const antt_config_t *self, const char *key, const char *def);
/* The keys the file set, in no particular order: i from 0 to
 * antt_config_size() - 1. Borrowed. Typed values are read through a
 * settings table (antt_settings.h), which checks them. */
size_t antt_config_size(const antt_config_t *self);
const char *antt_config_key(const antt_config_t *self, size_t i);

#endif
