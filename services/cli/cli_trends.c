/* antt trends, antt summary, antt rebuild-trends: the trend figures from the
 * database, by the same SQL functions the aggregation service serves. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Display width of UTF-8 text: its characters (Vietnamese letters are one
 * column each, whatever their bytes). */
static int s_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void s_cell(const char *v, int width, int right)
{
    int pad = width - s_width(v);
    if (right)
        printf("%*s%s", pad > 0 ? pad : 0, "", v);
    else
        printf("%s%*s", v, pad > 0 ? pad : 0, "");
}

/* Prints a result as aligned columns or as CSV. */
static void s_print(PGresult *r, int csv)
{
    int nf = PQnfields(r), nt = PQntuples(r);
    int w[32] = {0};
    for (int c = 0; c < nf && c < 32; c++) {
        w[c] = s_width(PQfname(r, c));
        for (int i = 0; i < nt; i++)
            if (s_width(PQgetvalue(r, i, c)) > w[c])
                w[c] = s_width(PQgetvalue(r, i, c));
    }
    for (int c = 0; c < nf && c < 32; c++) {
        printf("%s", c ? (csv ? "," : "  ") : "");
        s_cell(PQfname(r, c), csv ? 0 : w[c], c > 0);
    }
    printf("\n");
    for (int i = 0; i < nt; i++) {
        for (int c = 0; c < nf && c < 32; c++) {
            printf("%s", c ? (csv ? "," : "  ") : "");
            s_cell(PQgetvalue(r, i, c), csv ? 0 : w[c], c > 0);
        }
        printf("\n");
    }
}

static int s_failed(PGconn *c, PGresult *r)
{
    if (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK)
        return 0;
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    fprintf(stderr, "antt: %s\n", msg ? msg : PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return 1;
}

int cli_trends(int argc, char **argv)
{
    static const struct option opts[] = {{"area", required_argument, NULL, 'a'},
                                         {"dimension", required_argument, NULL, 'd'},
                                         {"group", required_argument, NULL, 'g'},
                                         {"category", required_argument, NULL, 'k'},
                                         {"period", required_argument, NULL, 'p'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"csv", no_argument, NULL, 'x'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *area = NULL, *dim = "all", *period = "month", *from = NULL, *to = NULL, *cfg = NULL;
    char dimbuf[96];
    int csv = 0, o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (o) {
        case 'a': area = optarg; break;
        case 'd': dim = optarg; break;
        case 'g': snprintf(dimbuf, sizeof(dimbuf), "group:%s", optarg); dim = dimbuf; break;
        case 'k': snprintf(dimbuf, sizeof(dimbuf), "category:%s", optarg); dim = dimbuf; break;
        case 'p': period = optarg; break;
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'x': csv = 1; break;
        case 'c': cfg = optarg; break;
        case 'h':
            printf("usage: antt trends --area CODE [--group G | --category C | --dimension D]\n"
                   "                   [--period day|week|month|quarter|year|range] [--from YYYY-MM-DD]\n"
                   "                   [--to YYYY-MM-DD] [--csv]\n"
                   "Counts per bucket with the same bucket a year before (cùng kỳ); * marks a\n"
                   "change that is significant (Poisson test, |2(sqrt(count) - sqrt(prior))| >= 1.96).\n"
                   "Defaults: all categories, by month, 1 January (of --to's year) to today.\n");
            return 0;
        default: return 2;
        }
    }
    if (area == NULL) {
        fprintf(stderr, "antt trends: --area is required\n");
        return 2;
    }
    PGconn *c = cli_connect(cfg);
    if (c == NULL)
        return 1;
    const char *v[5] = {area, dim, period, from, to};
    /* the table is Vietnamese (decimal comma, the significance mark); CSV
     * keeps numbers as numbers */
    PGresult *r = PQexecParams(c,
                               csv ? "SELECT bucket, bucket_from AS \"from\", bucket_to AS \"to\", n AS count, prior, change,"
                                     " change_pct, antt_significant(n, prior) AS significant FROM antt_trends($1, $2, $3,"
                                     " COALESCE($4::date, date_trunc('year', COALESCE($5::date, antt_trend_today()))::date),"
                                     " COALESCE($5::date, antt_trend_today()))"
                                   : "SELECT bucket, bucket_from AS \"from\", bucket_to AS \"to\", n AS count, prior, change,"
                                     " COALESCE(replace(change_pct::text, '.', ','), '') AS \"change %\","
                                     " CASE WHEN antt_significant(n, prior) THEN '*' ELSE '' END AS \"*\""
                                     " FROM antt_trends($1, $2, $3,"
                                     " COALESCE($4::date, date_trunc('year', COALESCE($5::date, antt_trend_today()))::date),"
                                     " COALESCE($5::date, antt_trend_today()))",
                               5, NULL, v, NULL, NULL, 0);
    if (s_failed(c, r))
        return 1;
    s_print(r, csv);
    PQclear(r);
    PQfinish(c);
    return 0;
}

int cli_summary(int argc, char **argv)
{
    static const struct option opts[] = {{"area", required_argument, NULL, 'a'},
                                         {"year", required_argument, NULL, 'y'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *area = NULL, *year = NULL, *cfg = NULL;
    int json = 0, o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (o) {
        case 'a': area = optarg; break;
        case 'y': year = optarg; break;
        case 'j': json = 1; break;
        case 'c': cfg = optarg; break;
        case 'h':
            printf("usage: antt summary --area CODE [--year YYYY] [--json]\n"
                   "The year's figures per statistic group against the same period of the year\n"
                   "before, the areas below that met the standard, and the sentence to publish.\n");
            return 0;
        default: return 2;
        }
    }
    if (area == NULL) {
        fprintf(stderr, "antt summary: --area is required\n");
        return 2;
    }
    PGconn *c = cli_connect(cfg);
    if (c == NULL)
        return 1;
    const char *v[2] = {area, year};
    PGresult *r = PQexecParams(
        c,
        "WITH s AS (SELECT antt_summary($1, COALESCE($2::integer, extract(year FROM antt_trend_today())::integer)) AS j)"
        " SELECT s.j::text, s.j->>'sentence'"
        " FROM s",
        2, NULL, v, NULL, NULL, 0);
    if (s_failed(c, r))
        return 1;
    if (json) {
        printf("%s\n", PQntuples(r) ? PQgetvalue(r, 0, 0) : "null");
    } else if (PQntuples(r)) {
        printf("%s\n\n", PQgetvalue(r, 0, 1));
        PGresult *t = PQexecParams(c,
                                   "SELECT g->>'name' AS \"group\", g->>'count' AS count,"
                                   " COALESCE(g->>'prior', 'chưa có số liệu') AS \"cùng kỳ\","
                                   " COALESCE(g->>'change', '') AS change,"
                                   " COALESCE(replace(g->>'change_pct', '.', ','), '') AS \"change %\","
                                   " CASE WHEN (g->>'significant')::boolean THEN '*' ELSE '' END AS \"*\","
                                   " g->>'solved' AS \"làm rõ\", COALESCE(replace(g->>'solved_pct', '.', ','), '') AS \"đạt %\","
                                   " g->>'arrested' AS \"bắt giữ\""
                                   " FROM jsonb_array_elements($1::jsonb->'groups') g",
                                   1, NULL, (const char *[]){PQgetvalue(r, 0, 0)}, NULL, NULL, 0);
        if (PQresultStatus(t) == PGRES_TUPLES_OK)
            s_print(t, 0);
        PQclear(t);
        PGresult *sd = PQexecParams(c,
                                    "SELECT (x->>'met') || '/' || (x->>'total') || ' ' || (x->>'level_name')"
                                    " || CASE WHEN (x->>'unplaced')::bigint > 0 THEN ' (' || (x->>'unplaced')"
                                    " || ' vụ chưa xác định được ' || (x->>'level_name') || ')' ELSE '' END"
                                    " FROM jsonb_array_elements($1::jsonb->'standards') x",
                                    1, NULL, (const char *[]){PQgetvalue(r, 0, 0)}, NULL, NULL, 0);
        for (int i = 0; PQresultStatus(sd) == PGRES_TUPLES_OK && i < PQntuples(sd); i++)
            printf("%sđạt chuẩn: %s\n", i ? "" : "\n", PQgetvalue(sd, i, 0));
        PQclear(sd);
    }
    PQclear(r);
    PQfinish(c);
    return 0;
}

#define S_FINGERPRINT                                                                                     \
    "SELECT md5(COALESCE((SELECT string_agg(concat_ws(',', area_code, grain, bucket, category, n1, n2, n3, n4)," \
    " ';' ORDER BY area_code, grain, bucket, category)"                                                     \
    " FROM trend_counts WHERE n1 <> 0 OR n2 <> 0 OR n3 <> 0 OR n4 <> 0), '') ||"                            \
    " COALESCE((SELECT string_agg(concat_ws(',', area_code, month, priority, n, resolved, escalated), ';'"  \
    " ORDER BY area_code, month, priority) FROM trend_outcomes"                                             \
    " WHERE n <> 0 OR resolved <> 0 OR escalated <> 0), '') ||"                                             \
    " COALESCE((SELECT string_agg(concat_ws(',', area_code, month, priority, metric, bucket, n), ';'"       \
    " ORDER BY area_code, month, priority, metric, bucket) FROM trend_response WHERE n <> 0), ''))"

int cli_rebuild_trends(int argc, char **argv)
{
    const char *cfg = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc) {
            cfg = argv[++i];
        } else {
            printf("usage: antt rebuild-trends [-c FILE]\n"
                   "Recomputes every trend contribution and rollup from the incidents table in one\n"
                   "transaction and says whether the numbers differ from the live ones.\n");
            return !strcmp(argv[i], "--help") ? 0 : 2;
        }
    }
    PGconn *c = cli_connect(cfg);
    if (c == NULL)
        return 1;
    PGresult *r = PQexec(c, "BEGIN");
    if (s_failed(c, r))
        return 1;
    PQclear(r);
    /* the same lock the live drain takes: nothing is applied in between */
    r = PQexec(c, "SELECT pg_advisory_xact_lock(7470001)");
    if (s_failed(c, r))
        return 1;
    PQclear(r);
    r = PQexec(c, S_FINGERPRINT);
    if (s_failed(c, r))
        return 1;
    char before[40];
    snprintf(before, sizeof(before), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    r = PQexec(c, "SELECT antt_trend_rebuild()");
    if (s_failed(c, r))
        return 1;
    char counted[32], after[40];
    snprintf(counted, sizeof(counted), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    r = PQexec(c, S_FINGERPRINT);
    if (s_failed(c, r))
        return 1;
    snprintf(after, sizeof(after), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    r = PQexec(c, "COMMIT");
    if (s_failed(c, r))
        return 1;
    PQclear(r);
    PQfinish(c);
    printf("rebuilt: %s incidents counted; %s\n", counted,
           strcmp(before, after) ? "the rollups differed from the incidents (or held changes not yet applied) and are now corrected" : "identical to the live numbers");
    return 0;
}
