/* antt report --area CODE --year Y --pdf FILE: the yearly report page that
 * aggregation serves (GET /report, figures inside the page), printed to PDF
 * by headless Chromium (Debian's chromium, --print-to-pdf). The page is
 * asked first, so that a bad area or year is a clear error and no file.
 * Without --staff it is the public's page (its months below k suppressed);
 * with it, the figures in full: the report is printed with a dashboard
 * token of the area made for it and revoked once it is printed, so that
 * dashboard-token list says who printed what. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "antt_token.h"
#include "antt_util.h"
#include "cli.h"

#define R_PRINT_TIMEOUT_S 60 /* Chromium gets this long to print */

static size_t s_keep(char *p, size_t size, size_t n, void *arg)
{
    antt_buf_t *b = arg;
    if (b->len < 4096)
        antt_buf_append(b, p, size * n);
    return size * n;
}

/* GET url: 0 when it answered 200; else -1 after printing why. */
static int s_check_page(const char *url)
{
    CURL *c = curl_easy_init();
    antt_buf_t b;
    antt_buf_init(&b);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(c);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(c);
    int out = 0;
    if (rc != CURLE_OK) {
        fprintf(stderr, "antt: could not reach %s: %s\n", url, curl_easy_strerror(rc));
        out = -1;
    } else if (st != 200) {
        /* the API's error body: {"error_code": ..., "error": "..."} */
        antt_buf_append(&b, "", 1);
        const char *e = strstr(b.data, "\"error\":");
        fprintf(stderr, "antt: the report page answered %ld%s%.*s\n", st, e ? ": " : "", e ? (int)strcspn(e + 8, "}") : 0,
                e ? e + 8 : "");
        out = -1;
    }
    antt_buf_cleanup(&b);
    return out;
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Runs Chromium to print url into pdf; 0, or -1 after printing why. */
static int s_print(const char *chromium, const char *url, const char *pdf)
{
    char profile[] = "/tmp/antt-report-XXXXXX";
    if (mkdtemp(profile) == NULL) {
        fprintf(stderr, "antt: could not make a profile directory: %s\n", strerror(errno));
        return -1;
    }
    char out_arg[1200], dir_arg[64];
    snprintf(out_arg, sizeof(out_arg), "--print-to-pdf=%s", pdf);
    snprintf(dir_arg, sizeof(dir_arg), "--user-data-dir=%s", profile);
    char *args[] = {(char *)chromium, "--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--no-pdf-header-footer", "--virtual-time-budget=5000", dir_arg, out_arg,
                    (char *)url, NULL, NULL};
    if (geteuid() == 0) { /* Chromium refuses to run as root with its sandbox */
        args[10] = args[9];
        args[9] = "--no-sandbox";
    }
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(chromium, args);
        _exit(127);
    }
    int status = -1, rc = -1;
    for (int t = 0; pid > 0 && t < R_PRINT_TIMEOUT_S * 10; t++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            rc = 0;
            break;
        }
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (pid > 0 && rc != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fprintf(stderr, "antt: %s did not print within %d s\n", chromium, R_PRINT_TIMEOUT_S);
    } else if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "antt: %s failed (status %d)%s\n", chromium, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                WIFEXITED(status) && WEXITSTATUS(status) == 127 ? ": not installed? (apt-get install chromium)" : "");
        rc = -1;
    }
    nftw(profile, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

static void s_token_revoke(PGconn *c, const char *id)
{
    const char *p[] = {id};
    PGresult *r = PQexecParams(c, "UPDATE dashboard_tokens SET revoked_at = now() WHERE id = $1::int", 1, NULL, p,
                               NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "antt: could not revoke the report's token %s (antt dashboard-token revoke %s): %s", id,
                id, PQresultErrorMessage(r));
    PQclear(r);
}

static int s_report(const char *url, const char *chromium, const char *pdf)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = s_check_page(url);
    curl_global_cleanup();
    if (rc != 0)
        return 1;
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.part", pdf);
    if (s_print(chromium ? chromium : "chromium", url, tmp) != 0) {
        remove(tmp);
        return 1;
    }
    struct stat sb;
    if (stat(tmp, &sb) != 0 || sb.st_size < 5 || rename(tmp, pdf) != 0) {
        fprintf(stderr, "antt: no PDF was written to %s\n", pdf);
        remove(tmp);
        return 1;
    }
    printf("wrote %s (%lld bytes)\n", pdf, (long long)sb.st_size);
    return 0;
}

int cli_report(int argc, char **argv)
{
    const char *cfg_path = NULL, *area = NULL, *year = NULL, *pdf = NULL, *base = NULL;
    const char *chromium = getenv("ANTT_CHROMIUM");
    int staff = 0;
    static const struct option opts[] = {{"area", 1, 0, 'a'}, {"year", 1, 0, 'y'},   {"pdf", 1, 0, 'o'},
                                         {"url", 1, 0, 'u'},  {"staff", 0, 0, 's'},  {"config", 1, 0, 'c'},
                                         {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'a': area = optarg; break;
        case 'y': year = optarg; break;
        case 'o': pdf = optarg; break;
        case 'u': base = optarg; break;
        case 's': staff = 1; break;
        case 'c': cfg_path = optarg; break;
        case 'h':
            printf("usage: antt report --area CODE [--year YYYY] --pdf FILE [--staff] [--url http://HOST:PORT]\n"
                   "  prints aggregation's yearly report page (GET /report) to FILE with headless\n"
                   "  Chromium (ANTT_CHROMIUM, default chromium); --url is aggregation's address\n"
                   "  (default http://<aggregation.http>). Without --staff the page is the public's\n"
                   "  (a month of 1 .. k-1 incidents shows \"(ẩn)\"); --staff prints every figure, with\n"
                   "  a dashboard token of the area made for this report and revoked after it\n"
                   "  (needs the database: db.conninfo)\n");
            return 0;
        default: return 2;
        }
    }
    if (area == NULL || pdf == NULL) {
        fprintf(stderr, "antt: report needs --area CODE and --pdf FILE\n");
        return 2;
    }
    for (const char *p = area; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')) {
            fprintf(stderr, "antt: --area must be an area code (A-Z, 0-9, - and _)\n");
            return 2;
        }
    if (year && (strlen(year) != 4 || strspn(year, "0123456789") != 4)) {
        fprintf(stderr, "antt: --year must be a year (YYYY)\n");
        return 2;
    }
    antt_config_t *cfg = cli_config(cfg_path);
    if (cfg == NULL)
        return 1;
    char url[1024];
    if (base)
        snprintf(url, sizeof(url), "%s/report?area=%s%s%s", base, area, year ? "&year=" : "", year ? year : "");
    else
        snprintf(url, sizeof(url), "http://%s/report?area=%s%s%s",
                 antt_config_get(cfg, "aggregation.http", "127.0.0.1:8083"), area, year ? "&year=" : "",
                 year ? year : "");
    antt_config_destroy(&cfg);
    if (!staff)
        return s_report(url, chromium, pdf);
    PGconn *c = cli_connect(cfg_path);
    if (c == NULL)
        return 1;
    const char *p[] = {area};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM areas WHERE code = $1", 1, NULL, p, NULL, NULL, 0);
    int known = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "antt: %s", PQresultErrorMessage(r));
    else if (!known)
        fprintf(stderr, "antt: unknown area %s\n", area);
    PQclear(r);
    char token[ANTT_TOKEN_MAX + 1], id[24], name[96];
    snprintf(name, sizeof(name), "antt report %s %s", area, year ? year : "(this year)");
    if (!known || cli_dashboard_token_insert(c, name, area, NULL, token, sizeof(token), id, sizeof(id)) != 0) {
        PQfinish(c);
        return 1;
    }
    size_t n = strlen(url);
    snprintf(url + n, sizeof(url) - n, "&access_token=%s", token);
    int rc = s_report(url, chromium, pdf);
    s_token_revoke(c, id);
    PQfinish(c);
    return rc;
}
