/* antt_config: a flat key/value store loaded from a file, with ANTT_*
 * environment overrides looked up at read time. */
#include "antt_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_util.h"

typedef struct s_entry {
    char *key;   /* e.g. "intake.http" */
    char *value; /* the value with surrounding spaces and quotes removed */
} s_entry_t;

struct antt_config_s {
    s_entry_t *entries; /* unsorted; configs are small */
    size_t n;           /* entries used */
};

antt_config_t *antt_config_new(void)
{
    return antt_xcalloc(1, sizeof(antt_config_t));
}

void antt_config_destroy(antt_config_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    antt_config_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++) {
        free(self->entries[i].key);
        free(self->entries[i].value);
    }
    free(self->entries);
    free(self);
    *self_p = NULL;
}

void antt_config_set(antt_config_t *self, const char *key, const char *value)
{
    for (size_t i = 0; i < self->n; i++) {
        if (strcmp(self->entries[i].key, key) == 0) {
            free(self->entries[i].value);
            self->entries[i].value = antt_xstrdup(value);
            return;
        }
    }
    self->entries = antt_xrealloc(self->entries, (self->n + 1) * sizeof(s_entry_t));
    self->entries[self->n].key = antt_xstrdup(key);
    self->entries[self->n].value = antt_xstrdup(value);
    self->n++;
}

static char *s_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int antt_config_load(antt_config_t *self, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        int e = errno;
        snprintf(err, errlen, "could not open config %s: %s", path, strerror(e));
        return -e;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        char *s = s_trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
            rc = -EINVAL;
            break;
        }
        *eq = '\0';
        char *key = s_trim(s), *val = s_trim(eq + 1);
        size_t vl = strlen(val);
        if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
            val[vl - 1] = '\0';
            val++;
        }
        if (*key == '\0') {
            snprintf(err, errlen, "%s:%d: empty key", path, lineno);
            rc = -EINVAL;
            break;
        }
        antt_config_set(self, key, val);
    }
    fclose(f);
    return rc;
}

void antt_config_env_name(const char *key, char *out, size_t len)
{
    size_t j = (size_t)snprintf(out, len, "ANTT_");
    for (const char *p = key; *p && j + 1 < len; p++)
        out[j++] = (*p == '.' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
    out[j < len ? j : len - 1] = '\0';
}

const char *antt_config_get(const antt_config_t *self, const char *key, const char *def)
{
    char env[256];
    antt_config_env_name(key, env, sizeof(env));
    const char *v = getenv(env);
    if (v != NULL)
        return v;
    for (size_t i = 0; i < self->n; i++)
        if (strcmp(self->entries[i].key, key) == 0)
            return self->entries[i].value;
    return def;
}

size_t antt_config_size(const antt_config_t *self)
{
    return self->n;
}

const char *antt_config_key(const antt_config_t *self, size_t i)
{
    return i < self->n ? self->entries[i].key : NULL;
}
