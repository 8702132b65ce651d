/* antt_settings: checking and binding settings tables (see antt_settings.h). */
#include "antt_settings.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "antt_service.h"

/* the services' namespaces, and the CLI's console (console.feed_url): a key
 * in one of them is that program's to check */
static const char *const s_services[] = {"intake", "classification", "notification", "aggregation", "console"};

void antt_settings_allowed(const antt_setting_t *row, char *out, size_t len)
{
    switch (row->type) {
    case ANTT_STYPE_INT:
        snprintf(out, len, "an integer from %.0f to %.0f", row->min, row->max);
        break;
    case ANTT_STYPE_DOUBLE:
        snprintf(out, len, "a number from %g to %g", row->min, row->max);
        break;
    case ANTT_STYPE_BOOL:
        snprintf(out, len, "true or false");
        break;
    case ANTT_STYPE_HOSTPORT:
        snprintf(out, len, "host:port, the port from 0 to 65535");
        break;
    case ANTT_STYPE_ENDPOINT:
        snprintf(out, len, "a ZeroMQ endpoint such as tcp://127.0.0.1:5550");
        break;
    case ANTT_STYPE_CHOICE:
        snprintf(out, len, "one of: %s", row->choices);
        break;
    case ANTT_STYPE_STRING:
    default:
        snprintf(out, len, "text");
        break;
    }
}

static int s_parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -EINVAL;
}

static int s_is_choice(const char *choices, const char *v)
{
    size_t vl = strlen(v);
    for (const char *p = choices; *p;) {
        size_t n = strcspn(p, " ");
        if (n == vl && n > 0 && strncasecmp(p, v, n) == 0)
            return 1;
        p += n;
        p += strspn(p, " ");
    }
    return 0;
}

/* scheme://address, the scheme letters only */
static int s_is_endpoint(const char *v)
{
    const char *sep = strstr(v, "://");
    if (sep == NULL || sep == v || sep[3] == '\0')
        return 0;
    for (const char *p = v; p < sep; p++)
        if (!islower((unsigned char)*p))
            return 0;
    return 1;
}

/* Checks v against row; stores the value at slot (NULL: check only).
 * Returns 0 or -EINVAL. An empty number or bool is unset: the default. */
static int s_take(const antt_setting_t *row, const char *v, void *slot)
{
    char *end;
    switch (row->type) {
    case ANTT_STYPE_INT: {
        if (*v == '\0')
            v = row->def;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0' || (double)x < row->min || (double)x > row->max)
            return -EINVAL;
        if (slot)
            *(long *)slot = x;
        return 0;
    }
    case ANTT_STYPE_DOUBLE: {
        if (*v == '\0')
            v = row->def;
        errno = 0;
        double x = strtod(v, &end);
        if (errno != 0 || end == v || *end != '\0' || !isfinite(x) || x < row->min || x > row->max)
            return -EINVAL;
        if (slot)
            *(double *)slot = x;
        return 0;
    }
    case ANTT_STYPE_BOOL: {
        int b;
        if (s_parse_bool(*v ? v : row->def, &b) != 0)
            return -EINVAL;
        if (slot)
            *(int *)slot = b;
        return 0;
    }
    case ANTT_STYPE_HOSTPORT: {
        char host[256];
        int port;
        if (antt_split_hostport(v, host, sizeof(host), &port) != 0)
            return -EINVAL;
        break;
    }
    case ANTT_STYPE_ENDPOINT:
        if (*v != '\0' && !s_is_endpoint(v))
            return -EINVAL;
        break;
    case ANTT_STYPE_CHOICE:
        if (!s_is_choice(row->choices, v))
            return -EINVAL;
        break;
    case ANTT_STYPE_STRING:
        break;
    }
    if (slot)
        *(const char **)slot = v;
    return 0;
}

int antt_settings_bind(const antt_settings_t *set, const antt_config_t *cfg, void *target, char *err,
                       size_t errlen)
{
    for (size_t i = 0; i < set->n; i++) {
        const antt_setting_t *row = &set->rows[i];
        void *slot = target == NULL || row->offset == ANTT_SETTING_UNBOUND ? NULL : (char *)target + row->offset;
        /* a default that its own row refuses is a bug in the table (an
         * empty default of a host:port or a choice means "no default") */
        assert(s_take(row, row->def, NULL) == 0 || *row->def == '\0');
        const char *v = antt_config_get(cfg, row->name, row->def);
        if (s_take(row, v, slot) == 0)
            continue;
        char allowed[160], env[256], from[300] = "";
        antt_settings_allowed(row, allowed, sizeof(allowed));
        antt_config_env_name(row->name, env, sizeof(env));
        if (getenv(env) != NULL)
            snprintf(from, sizeof(from), ", set by %s", env);
        if (row->flags & ANTT_SETTING_SECRET)
            snprintf(err, errlen, "invalid value for %s (not shown) (%s%s)", row->name, allowed, from);
        else
            snprintf(err, errlen, "invalid value for %s: \"%.80s\" (%s%s)", row->name, v, allowed, from);
        return -EINVAL;
    }
    return 0;
}

const antt_setting_t *antt_settings_find(const antt_settings_t *const *sets, size_t n, const char *name)
{
    for (size_t s = 0; s < n; s++)
        for (size_t i = 0; i < sets[s]->n; i++)
            if (strcmp(sets[s]->rows[i].name, name) == 0)
                return &sets[s]->rows[i];
    return NULL;
}

/* Is ns (len bytes) a namespace whose names sets must declare (1), another
 * service's (0), or unknown to antt (-1)? */
static int s_namespace(const antt_settings_t *const *sets, size_t n, const char *scope, const char *ns, size_t len)
{
    if (strlen(scope) == len && strncmp(scope, ns, len) == 0)
        return 1;
    for (size_t s = 0; s < n; s++) {
        if (strcmp(sets[s]->scope, "common") != 0)
            continue;
        for (size_t i = 0; i < sets[s]->n; i++) {
            const char *name = sets[s]->rows[i].name;
            if (strncmp(name, ns, len) == 0 && name[len] == '.')
                return 1;
        }
    }
    for (size_t i = 0; i < sizeof(s_services) / sizeof(s_services[0]); i++)
        if (strlen(s_services[i]) == len && strncmp(s_services[i], ns, len) == 0)
            return 0;
    return -1;
}

/* Does the variable name (without "=...") belong to a namespace of ours,
 * i.e. start with ANTT_<NS>_ for a namespace the sets must declare? */
static int s_env_ours(const antt_settings_t *const *sets, size_t n, const char *scope, const char *var, size_t len)
{
    char probe[128];
    for (size_t s = 0; s <= n; s++) {
        const antt_settings_t *set = s < n ? sets[s] : NULL;
        if (set && strcmp(set->scope, "common") != 0)
            continue;
        size_t rows = set ? set->n : 1;
        for (size_t i = 0; i < rows; i++) {
            const char *name = set ? set->rows[i].name : scope;
            size_t nl = set ? strcspn(name, ".") : strlen(scope);
            char ns[64];
            snprintf(ns, sizeof(ns), "%.*s.", (int)(nl < 60 ? nl : 60), name);
            antt_config_env_name(ns, probe, sizeof(probe)); /* ANTT_NS_ */
            size_t pl = strlen(probe);
            if (len > pl && strncmp(var, probe, pl) == 0)
                return 1;
        }
    }
    return 0;
}

int antt_settings_check_names(const antt_settings_t *const *sets, size_t n, const char *scope,
                              const antt_config_t *cfg, char *const *envp, char *err, size_t errlen)
{
    for (size_t i = 0; i < antt_config_size(cfg); i++) {
        const char *key = antt_config_key(cfg, i);
        const char *dot = strchr(key, '.');
        int ns = dot ? s_namespace(sets, n, scope, key, (size_t)(dot - key)) : -1;
        if (ns == 0 || (ns == 1 && antt_settings_find(sets, n, key) != NULL))
            continue;
        snprintf(err, errlen, "unknown setting %.100s in the config file (antt config --list shows every setting)",
                 key);
        return -EINVAL;
    }
    for (char *const *e = envp; e && *e; e++) {
        size_t len = strcspn(*e, "=");
        if (strncmp(*e, "ANTT_", 5) != 0 || !s_env_ours(sets, n, scope, *e, len))
            continue;
        int known = 0;
        for (size_t s = 0; s < n && !known; s++)
            for (size_t k = 0; k < sets[s]->n && !known; k++) {
                char env[256];
                antt_config_env_name(sets[s]->rows[k].name, env, sizeof(env));
                known = strlen(env) == len && strncmp(env, *e, len) == 0;
            }
        if (!known) {
            snprintf(err, errlen,
                     "unknown setting %.*s in the environment (antt config --list shows every setting)",
                     (int)(len < 100 ? len : 100), *e);
            return -EINVAL;
        }
    }
    return 0;
}
