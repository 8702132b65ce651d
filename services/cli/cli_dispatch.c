/* antt dispatcher add, antt webhook add, antt route add: the set-up of
 * notification. Tokens and secrets are printed once; only a hash of a token
 * is stored. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "antt_crypto.h"
#include "antt_db.h"
#include "antt_token.h"
#include "cli.h"

int cli_exec(const char *cfg, const char *sql, int n, const char *const *params, const char *what)
{
    PGconn *c = cli_connect(cfg);
    if (c == NULL)
        return 1;
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "antt: %s", PQresultErrorMessage(r));
    else if (what)
        printf("%s\n", what);
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : 1;
}

int cli_dispatcher(int argc, char **argv)
{
    static const struct option opts[] = {{"desk", required_argument, NULL, 'd'},
                                         {"token", required_argument, NULL, 't'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *desk = NULL, *given = NULL, *cfg = NULL, *usage =
        "usage: antt dispatcher add NAME --desk CODE [--token TOKEN]   (prints the token once)\n";
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (o) {
        case 'd': desk = optarg; break;
        case 't': given = optarg; break;
        case 'c': cfg = optarg; break;
        default: fputs(usage, o == 'h' ? stdout : stderr); return o == 'h' ? 0 : 2;
        }
    }
    if (argc - optind != 2 || strcmp(argv[optind], "add") != 0 || desk == NULL) {
        fputs(usage, stderr);
        return 2;
    }
    char token[64], hex[2 * ANTT_HASH_BYTES + 3];
    if (given)
        snprintf(token, sizeof(token), "%s", given);
    else
        antt_token_new("antt_d_", token, sizeof(token));
    antt_token_hash_hex(token, hex);
    const char *params[] = {argv[optind + 1], desk, hex};
    return cli_exec(cfg, "INSERT INTO dispatchers (name, desk_code, token_hash) VALUES ($1, $2, $3::bytea)", 3, params,
                 token);
}

int cli_webhook(int argc, char **argv)
{
    static const struct option opts[] = {{"desk", required_argument, NULL, 'd'},
                                         {"gateway", required_argument, NULL, 'g'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *desk = NULL, *gateway = NULL, *cfg = NULL, *usage =
        "usage: antt webhook add CODE URL (--desk CODE | --gateway CODE)   (prints the signing secret once)\n";
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (o) {
        case 'd': desk = optarg; break;
        case 'g': gateway = optarg; break;
        case 'c': cfg = optarg; break;
        default: fputs(usage, o == 'h' ? stdout : stderr); return o == 'h' ? 0 : 2;
        }
    }
    if (argc - optind != 3 || strcmp(argv[optind], "add") != 0 || (desk == NULL) == (gateway == NULL)) {
        fputs(usage, stderr);
        return 2;
    }
    char secret[80];
    antt_secret_new("whsec_", 0, secret, sizeof(secret));
    const char *params[] = {argv[optind + 1], argv[optind + 2], secret, desk, gateway};
    return cli_exec(cfg,
                 "INSERT INTO webhook_destinations (code, url, secret, desk_code, gateway_id)"
                 " SELECT $1, $2, $3, $4, (SELECT id FROM gateways WHERE code = $5)"
                 " WHERE $5::text IS NULL OR EXISTS (SELECT 1 FROM gateways WHERE code = $5)"
                 " ON CONFLICT (code) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret,"
                 " desk_code = EXCLUDED.desk_code, gateway_id = EXCLUDED.gateway_id, active = true",
                 5, params, secret);
}

int cli_route(int argc, char **argv)
{
    static const struct option opts[] = {{"max-priority", required_argument, NULL, 'p'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *prio = NULL, *cfg = NULL,
               *usage = "usage: antt route add CATEGORY DESK [--max-priority 1..4]\n";
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (o) {
        case 'p': prio = optarg; break;
        case 'c': cfg = optarg; break;
        default: fputs(usage, o == 'h' ? stdout : stderr); return o == 'h' ? 0 : 2;
        }
    }
    if (argc - optind != 3 || strcmp(argv[optind], "add") != 0) {
        fputs(usage, stderr);
        return 2;
    }
    const char *params[] = {argv[optind + 1], argv[optind + 2], prio};
    return cli_exec(cfg,
                 "INSERT INTO routes (category, desk_code, max_priority) VALUES ($1, $2, $3::smallint)"
                 " ON CONFLICT (category, desk_code) DO UPDATE SET max_priority = EXCLUDED.max_priority",
                 3, params, "route added");
}
