/* antt: command-line tool. `antt help` lists the commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_crypto.h"
#include "antt_curve.h"
#include "antt_log.h"
#include "cli.h"
#include "cli_settings.h"

antt_config_t *cli_config(const char *path)
{
    antt_config_t *cfg = antt_config_new();
    if (path == NULL)
        path = getenv("ANTT_CONFIG");
    if (path && *path) {
        char err[512];
        if (antt_config_load(cfg, path, err, sizeof(err)) != 0) {
            fprintf(stderr, "antt: %s\n", err);
            antt_config_destroy(&cfg);
            return NULL;
        }
    }
    return cfg;
}

int cli_curve_client(const antt_config_t *cfg, void *sock, const char *peer)
{
    antt_config_t *own = NULL;
    if (cfg == NULL && (cfg = own = cli_config(NULL)) == NULL)
        return -1;
    char err[256];
    antt_curve_t *c = NULL;
    int rc = antt_curve_new(cfg, "client", &c, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "antt: %s\n", err);
    else if ((rc = antt_curve_client(c, sock, peer)) != 0)
        fprintf(stderr, "antt: CURVE is on but keys.%s_curve_public is not set\n", peer);
    antt_curve_destroy(&c);
    antt_config_destroy(&own);
    return rc == 0 ? 0 : -1;
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: antt COMMAND [options]\n"
            "  keygen --dir DIR                    a deployment's keys: one file per service (its own secrets only)\n"
            "  keygen --curve                      one CURVE keypair (a gateway's or a console's)\n"
            "  gateway add CODE NAME [--rate R] [--burst B] [--curve-public KEY] [--import]\n"
            "                                      register a gateway; prints its API key once\n"
            "                                      (--import: it may submit history as fact)\n"
            "  submit [--http URL | --zmq ENDPOINT] --key API_KEY [options] TEXT\n"
            "                                      submit a report; prints the report id\n"
            "  migrate                             apply database migrations\n"
            "  config --list | --check [-c FILE]   every service's settings with defaults and help,\n"
            "                                      or check a config file and the ANTT_* variables\n"
            "  dispatcher add NAME --desk CODE     register a dispatcher; prints the token once\n"
            "  dashboard-token add --area CODE [--name N] | list | revoke ID\n"
            "                                      a staff dashboard's token (live, full detail of its\n"
            "                                      area and below); add prints it once\n"
            "  webhook add CODE URL (--desk D | --gateway G)\n"
            "                                      register a webhook; prints its signing secret once\n"
            "  route add CATEGORY DESK [--max-priority P]\n"
            "                                      also show a category on another desk's feed\n"
            "  triage [--token T] list | ACTION INCIDENT [ARG...]\n"
            "                                      one dispatcher command\n"
            "  console [--token T]                 terminal console of the token's dispatcher desk\n"
            "  trends --area CODE [--group G] [--period P] [--from D] [--to D] [--csv]\n"
            "                                      trend counts with the same period a year before\n"
            "  summary --area CODE [--year YYYY]   the year's figures and the sentence to publish\n"
            "  report --area CODE [--year YYYY] --pdf FILE\n"
            "                                      the yearly report page printed to PDF (Chromium)\n"
            "  rebuild-trends                      recompute trend statistics from the incidents\n"
            "  import FILE --key API_KEY [--no-wait]\n"
            "                                      bulk-load historical incidents (CSV or JSON lines),\n"
            "                                      category, priority and status kept as given\n"
            "  train --corpus FILE -o MODEL [--cv K]\n"
            "                                      train the classifier model (or cross-validate)\n"
            "  classify [--json] [--hint CODE] TEXT | --tsv < FILE\n"
            "                                      classify a report offline, or measure accuracy\n"
            "Settings come from -c FILE (or ANTT_CONFIG) and ANTT_* variables\n"
            "(db.conninfo: ANTT_DB_CONNINFO). `antt COMMAND --help` for more.\n");
}

int main(int argc, char **argv)
{
    antt_log_init("cli", ANTT_WARN);
    if (antt_crypto_init() != 0) {
        fprintf(stderr, "antt: could not initialize libsodium\n");
        return 1;
    }
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "config"))
        return cli_config_cmd(argc - 1, argv + 1);
    if (!strcmp(cmd, "keygen"))
        return cli_keygen(argc - 1, argv + 1);
    if (!strcmp(cmd, "gateway"))
        return cli_gateway(argc - 1, argv + 1);
    if (!strcmp(cmd, "submit"))
        return cli_submit(argc - 1, argv + 1);
    if (!strcmp(cmd, "train"))
        return cli_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "classify"))
        return cli_classify(argc - 1, argv + 1);
    if (!strcmp(cmd, "trends"))
        return cli_trends(argc - 1, argv + 1);
    if (!strcmp(cmd, "summary"))
        return cli_summary(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return cli_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "import"))
        return cli_import(argc - 1, argv + 1);
    if (!strcmp(cmd, "rebuild-trends"))
        return cli_rebuild_trends(argc - 1, argv + 1);
    if (!strcmp(cmd, "migrate"))
        return cli_migrate(argc - 1, argv + 1);
    if (!strcmp(cmd, "dashboard-token"))
        return cli_dashboard_token(argc - 1, argv + 1);
    if (!strcmp(cmd, "dispatcher"))
        return cli_dispatcher(argc - 1, argv + 1);
    if (!strcmp(cmd, "webhook"))
        return cli_webhook(argc - 1, argv + 1);
    if (!strcmp(cmd, "route"))
        return cli_route(argc - 1, argv + 1);
    if (!strcmp(cmd, "triage"))
        return cli_triage(argc - 1, argv + 1);
    if (!strcmp(cmd, "console"))
        return cli_console(argc - 1, argv + 1);
    fprintf(stderr, "antt: unknown command '%s'\n", cmd);
    s_usage(stderr);
    return 2;
}
