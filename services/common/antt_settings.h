/* antt_settings: the settings of a service declared once, as a table (after
 * Redis' config.c): each row has a name, a type, a default, bounds and one
 * line of help, and says where the checked value goes in the caller's
 * struct. One function checks and binds a table; a bad value stops start-up
 * with a message that names the key and what is allowed:
 *   invalid value for intake.batch_max: "500k" (an integer from 1 to 10000)
 * Another refuses names no table declares, in the config file and among the
 * ANTT_* environment variables of the service's own and the common
 * namespaces. `antt config --list` prints the same tables, and a test checks
 * docs/operations.md against them. */
#ifndef ANTT_SETTINGS_H
#define ANTT_SETTINGS_H

#include <stddef.h>

#include "antt_config.h"

typedef enum {
    ANTT_STYPE_INT,      /* long, from min to max */
    ANTT_STYPE_DOUBLE,   /* double, finite, from min to max */
    ANTT_STYPE_BOOL,     /* int 0/1: true false yes no on off 1 0 */
    ANTT_STYPE_STRING,   /* const char *, borrowed from the config */
    ANTT_STYPE_HOSTPORT, /* const char *, "host:port" (IPv6 in brackets) */
    ANTT_STYPE_ENDPOINT, /* const char *, a ZeroMQ endpoint "tcp://...", or "" (none) */
    ANTT_STYPE_CHOICE,   /* const char *, one of the words of choices */
} antt_setting_type_t;

/* the row is checked but not stored: code elsewhere reads it by name */
#define ANTT_SETTING_UNBOUND ((size_t)-1)
/* flags */
#define ANTT_SETTING_SECRET 1u /* the value is never printed (keys) */

typedef struct antt_setting_s {
    const char *name;           /* "intake.batch_max" */
    antt_setting_type_t type;   /* how the value is read and checked */
    const char *def;            /* the default, as a config file would write it; "" none */
    double min, max;            /* INT and DOUBLE: inclusive bounds */
    const char *choices;        /* CHOICE: the allowed words, space-separated */
    size_t offset;              /* where the value goes in the target struct, or ANTT_SETTING_UNBOUND */
    unsigned flags;             /* ANTT_SETTING_SECRET */
    const char *help;           /* one line: what it is for */
} antt_setting_t;

typedef struct antt_settings_s {
    const char *scope;          /* "intake", ...; "common" for what every service reads */
    const antt_setting_t *rows; /* the table */
    size_t n;                   /* rows */
} antt_settings_t;

/* Rows. st is the target struct type, field the member the value goes to. */
#define ANTT_SETTING_INT(name, def, lo, hi, st, field, help) \
    {name, ANTT_STYPE_INT, def, lo, hi, NULL, offsetof(st, field), 0, help}
#define ANTT_SETTING_DOUBLE(name, def, lo, hi, st, field, help) \
    {name, ANTT_STYPE_DOUBLE, def, lo, hi, NULL, offsetof(st, field), 0, help}
#define ANTT_SETTING_BOOL(name, def, st, field, help) \
    {name, ANTT_STYPE_BOOL, def, 0, 1, NULL, offsetof(st, field), 0, help}
#define ANTT_SETTING_STRING(name, def, st, field, help) \
    {name, ANTT_STYPE_STRING, def, 0, 0, NULL, offsetof(st, field), 0, help}
#define ANTT_SETTING_HOSTPORT(name, def, st, field, help) \
    {name, ANTT_STYPE_HOSTPORT, def, 0, 0, NULL, offsetof(st, field), 0, help}
#define ANTT_SETTING_ENDPOINT(name, def, st, field, help) \
    {name, ANTT_STYPE_ENDPOINT, def, 0, 0, NULL, offsetof(st, field), 0, help}
#define ANTT_SETTING_CHOICE(name, def, choices, st, field, help) \
    {name, ANTT_STYPE_CHOICE, def, 0, 0, choices, offsetof(st, field), 0, help}
/* declared and checked here, read by name elsewhere */
#define ANTT_SETTING_NAMED(name, type, def, help) {name, type, def, 0, 0, NULL, ANTT_SETTING_UNBOUND, 0, help}
/* a key: declared here, never printed, checked by the code that reads it */
#define ANTT_SETTING_KEY(name, help) \
    {name, ANTT_STYPE_STRING, "", 0, 0, NULL, ANTT_SETTING_UNBOUND, ANTT_SETTING_SECRET, help}

#define ANTT_SETTINGS(scope, rows) {scope, rows, sizeof(rows) / sizeof((rows)[0])}

/* Checks every row of set against cfg (environment first, then file) and
 * stores each bound value into target (the rows' struct; NULL: check
 * only). Strings are borrowed from cfg. Returns 0, or -EINVAL with
 * the first bad value described in err (size errlen), naming the key and
 * what is allowed; target may then be partly written. */
int antt_settings_bind(const antt_settings_t *set, const antt_config_t *cfg, void *target, char *err,
                       size_t errlen);

/* Refuses a name that no table of sets (n of them) declares: a key of the
 * config file, or an ANTT_* variable of envp (NULL-terminated "K=V", may be
 * NULL), whose namespace (before the first dot) is scope, one of the
 * namespaces of the sets whose scope is "common", or is no namespace antt
 * knows. Names in another service's
 * namespace are that service's to check. Returns 0, or -EINVAL with the name
 * in err. */
int antt_settings_check_names(const antt_settings_t *const *sets, size_t n, const char *scope,
                              const antt_config_t *cfg, char *const *envp, char *err, size_t errlen);

/* What row allows, for messages and listings ("an integer from 1 to 10000"),
 * into out (size len). */
void antt_settings_allowed(const antt_setting_t *row, char *out, size_t len);

/* The row called name in sets, or NULL. */
const antt_setting_t *antt_settings_find(const antt_settings_t *const *sets, size_t n, const char *name);

#endif
