/* cli_settings: `antt config --list | --check` and the docs check, over
 * the tables every service declares (see cli_settings.h). */
#include "cli_settings.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "agg_settings.h"
#include "antt_service.h"
#include "classify_settings.h"
#include "intake_settings.h"
#include "notify_settings.h"

const antt_settings_t *const cli_settings_all[] = {&antt_service_settings, &intake_settings, &classify_settings,
                                                   &notify_settings, &agg_settings};
const size_t cli_settings_nall = sizeof(cli_settings_all) / sizeof(cli_settings_all[0]);

void cli_settings_list(FILE *f)
{
    for (size_t s = 0; s < cli_settings_nall; s++) {
        const antt_settings_t *set = cli_settings_all[s];
        fprintf(f, "%s#### %s\n", s ? "\n" : "",
                strcmp(set->scope, "common") ? set->scope : "every service");
        for (size_t i = 0; i < set->n; i++) {
            const antt_setting_t *row = &set->rows[i];
            char allowed[160];
            antt_settings_allowed(row, allowed, sizeof(allowed));
            fprintf(f, "# %s (%s)\n%s%s = %s\n", row->help, allowed, *row->def ? "" : "# ", row->name, row->def);
        }
    }
}

/* the next table row of markdown at *p whose first cell is a dotted name:
 * name and default cell into key and def; returns 0 at the end */
static int s_next_row(const char **p, char *key, size_t keylen, char *def, size_t deflen)
{
    while (**p) {
        const char *line = *p, *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        *p = line + len + (end != NULL);
        if (len < 2 || line[0] != '|')
            continue;
        char cells[2][256];
        const char *c = line + 1;
        int ok = 1;
        for (int k = 0; k < 2 && ok; k++) {
            size_t n = 0;
            while (c < line + len && *c != '|' && n + 1 < sizeof(cells[k])) {
                if (*c == '`') { /* markup */
                    c++;
                    continue;
                }
                cells[k][n++] = *c++;
            }
            cells[k][n] = '\0';
            ok = c < line + len && *c == '|';
            c++;
            char *b = cells[k], *e = b + strlen(b);
            while (*b == ' ')
                b++;
            while (e > b && e[-1] == ' ')
                *--e = '\0';
            memmove(cells[k], b, strlen(b) + 1);
        }
        const char *dot = strchr(cells[0], '.');
        int dotted = ok && dot && dot > cells[0] && dot[1];
        for (const char *q = cells[0]; dotted && *q; q++)
            dotted = islower((unsigned char)*q) || isdigit((unsigned char)*q) || *q == '_' || *q == '.';
        if (!dotted)
            continue;
        snprintf(key, keylen, "%s", cells[0]);
        snprintf(def, deflen, "%s", cells[1]);
        return 1;
    }
    return 0;
}

int cli_settings_check_docs(const char *markdown, char *err, size_t errlen)
{
    char key[256], def[256];
    const char *p = markdown;
    /* every documented key is declared, once, with its default */
    while (s_next_row(&p, key, sizeof(key), def, sizeof(def))) {
        const antt_setting_t *row = antt_settings_find(cli_settings_all, cli_settings_nall, key);
        if (row == NULL) {
            snprintf(err, errlen, "docs list %s, which no service declares", key);
            return -1;
        }
        int same = *row->def ? strcmp(def, row->def) == 0 : strncmp(def, "(none", 5) == 0;
        if (!same) {
            snprintf(err, errlen, "docs give %s the default \"%s\", the table \"%s\"", key, def,
                     *row->def ? row->def : "(none)");
            return -1;
        }
        const char *q = p;
        char again[256], d2[256];
        while (s_next_row(&q, again, sizeof(again), d2, sizeof(d2)))
            if (strcmp(again, key) == 0) {
                snprintf(err, errlen, "docs list %s twice", key);
                return -1;
            }
    }
    /* every declared key is documented */
    for (size_t s = 0; s < cli_settings_nall; s++)
        for (size_t i = 0; i < cli_settings_all[s]->n; i++) {
            const char *name = cli_settings_all[s]->rows[i].name;
            int found = 0;
            p = markdown;
            while (!found && s_next_row(&p, key, sizeof(key), def, sizeof(def)))
                found = strcmp(key, name) == 0;
            if (!found) {
                snprintf(err, errlen, "docs do not list %s", name);
                return -1;
            }
        }
    return 0;
}

int cli_settings_check(const antt_config_t *cfg, char *const *envp, char *err, size_t errlen)
{
    /* each service checks its own namespace and the common one */
    for (size_t s = 1; s < cli_settings_nall; s++) {
        const antt_settings_t *sets[] = {cli_settings_all[0], cli_settings_all[s]};
        if (antt_settings_check_names(sets, 2, sets[1]->scope, cfg, envp, err, errlen) != 0)
            return -1;
    }
    for (size_t s = 0; s < cli_settings_nall; s++)
        if (antt_settings_bind(cli_settings_all[s], cfg, NULL, err, errlen) != 0)
            return -1;
    return 0;
}

int cli_config_cmd(int argc, char **argv)
{
    extern char **environ;
    if (argc == 2 && !strcmp(argv[1], "--list")) {
        cli_settings_list(stdout);
        return 0;
    }
    if ((argc == 2 || argc == 4) && !strcmp(argv[1], "--check")) {
        const char *path = argc == 4 && !strcmp(argv[2], "-c") ? argv[3] : getenv("ANTT_CONFIG");
        if (argc == 4 && strcmp(argv[2], "-c") != 0)
            goto usage;
        antt_config_t *cfg = antt_config_new();
        char err[512];
        int rc = path && *path ? antt_config_load(cfg, path, err, sizeof(err)) : 0;
        if (rc == 0)
            rc = cli_settings_check(cfg, environ, err, sizeof(err));
        antt_config_destroy(&cfg);
        if (rc != 0) {
            fprintf(stderr, "antt: %s\n", err);
            return 1;
        }
        printf("settings ok\n");
        return 0;
    }
usage:
    fprintf(argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr,
            "usage: antt config --list                 every setting of every service, its default and help\n"
            "       antt config --check [-c FILE]      check FILE (or ANTT_CONFIG) and the ANTT_* variables\n");
    return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
}
