/* antt dashboard-token add | list | revoke: the tokens of staff dashboards.
 * A token is scoped to an area: its holder sees that area and everything
 * below it live and in full (docs/operations.md, "Two audiences"). Like a
 * dispatcher's token it is printed once and stored only as a hash
 * (antt_token). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "antt_token.h"
#include "cli.h"

static int s_list(const char *cfg)
{
    PGconn *c = cli_connect(cfg);
    if (c == NULL)
        return 1;
    PGresult *r = PQexec(c, "SELECT id, name, area_code, to_char(created_at, 'YYYY-MM-DD HH24:MI'),"
                            " COALESCE(to_char(revoked_at, 'YYYY-MM-DD HH24:MI'), '')"
                            " FROM dashboard_tokens ORDER BY id");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "antt: %s", PQresultErrorMessage(r));
    for (int i = 0; ok && i < PQntuples(r); i++)
        printf("%-4s %-24s %-20s created %s%s%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
               PQgetvalue(r, i, 3), PQgetvalue(r, i, 4)[0] ? "  revoked " : "", PQgetvalue(r, i, 4));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : 1;
}

static int s_revoke(const char *cfg, const char *id)
{
    char *end;
    long n = strtol(id, &end, 10);
    if (*end || n <= 0) {
        fprintf(stderr, "antt: revoke takes the token's id (antt dashboard-token list), not \"%s\"\n", id);
        return 2;
    }
    const char *params[] = {id};
    return cli_exec(cfg,
                    "WITH u AS (UPDATE dashboard_tokens SET revoked_at = now() WHERE id = $1::int AND revoked_at IS NULL"
                    " RETURNING 1) SELECT CASE WHEN count(*) = 0 THEN antt_raise('AT404', 'no active dashboard token '"
                    " || $1) END FROM u",
                    1, params, "revoked");
}

int cli_dashboard_token_insert(PGconn *c, const char *name, const char *area, const char *given, char *token,
                               size_t tokenlen, char *id, size_t idlen)
{
    char hex[2 * ANTT_HASH_BYTES + 3];
    if (given)
        snprintf(token, tokenlen, "%s", given);
    else
        antt_token_new("antt_s_", token, tokenlen);
    antt_token_hash_hex(token, hex);
    const char *params[] = {name, area, hex};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO dashboard_tokens (name, area_code, token_hash) VALUES ($1, $2, $3::bytea)"
                               " RETURNING id",
                               3, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (ok)
        snprintf(id, idlen, "%s", PQgetvalue(r, 0, 0));
    else
        fprintf(stderr, "antt: %s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

int cli_dashboard_token(int argc, char **argv)
{
    static const struct option opts[] = {{"area", required_argument, NULL, 'a'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"token", required_argument, NULL, 't'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *area = NULL, *name = NULL, *given = NULL, *cfg = NULL,
               *usage = "usage: antt dashboard-token add --area CODE [--name N] [--token T]   (prints the token once)\n"
                        "       antt dashboard-token list\n"
                        "       antt dashboard-token revoke ID\n";
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (o) {
        case 'a': area = optarg; break;
        case 'n': name = optarg; break;
        case 't': given = optarg; break;
        case 'c': cfg = optarg; break;
        default: fputs(usage, o == 'h' ? stdout : stderr); return o == 'h' ? 0 : 2;
        }
    }
    const char *verb = optind < argc ? argv[optind] : "";
    if (!strcmp(verb, "list") && argc - optind == 1)
        return s_list(cfg);
    if (!strcmp(verb, "revoke") && argc - optind == 2)
        return s_revoke(cfg, argv[optind + 1]);
    if (strcmp(verb, "add") != 0 || argc - optind != 1 || area == NULL) {
        fputs(usage, stderr);
        return 2;
    }
    if (given && (strlen(given) < 16 || strlen(given) > ANTT_TOKEN_MAX)) {
        fprintf(stderr, "antt: a given token must be 16 to %d characters\n", ANTT_TOKEN_MAX);
        return 2;
    }
    char token[ANTT_TOKEN_MAX + 1], id[24], dflt[96];
    snprintf(dflt, sizeof(dflt), "dashboard %s", area);
    PGconn *c = cli_connect(cfg);
    if (c == NULL)
        return 1;
    int rc = cli_dashboard_token_insert(c, name ? name : dflt, area, given, token, sizeof(token), id, sizeof(id));
    if (rc == 0)
        printf("%s\n", token);
    PQfinish(c);
    return rc == 0 ? 0 : 1;
}
