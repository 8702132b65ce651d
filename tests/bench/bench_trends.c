/* bench_trends: the trend figures over a large history.
 *
 *   bench_trends load CONNINFO N        COPY N generated incidents (3 years,
 *                                       the demo district's areas) into incidents
 *   bench_trends query CONNINFO SECONDS [URL]
 *                                       runs the district-year summary (last
 *                                       year and this year), a monthly trend
 *                                       and a ward's summary in turn for
 *                                       SECONDS; with URL (aggregation's HTTP)
 *                                       also GET /api/v1/summary. Prints p50
 *                                       and p99 per query.
 *   bench_trends lag ENDPOINT SECONDS [AREA]
 *                                       subscribes to aggregation's trend PUB
 *                                       and measures, per update of the
 *                                       area's (default the city's) day total,
 *                                       arrival time
 *                                       minus the oldest incident change it
 *                                       carries (source_ms). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <curl/curl.h>
#include <libpq-fe.h>
#include <zmq.h>

#include "antt/v1/trend.pb-c.h"

#include "bench_curve.h"

static double s_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_q(double *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), s_cmp);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static uint64_t s_rng = 88172645463325252ULL;
static uint64_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static int s_load(const char *conninfo, long n)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench_trends: %s", PQerrorMessage(c));
        return 1;
    }
    PGresult *r = PQexec(c, "SELECT a.code, d.desk_code FROM areas a JOIN area_desks d ON d.area_code = a.code"
                            " WHERE a.code LIKE 'VN-HCM-BTA-%' ORDER BY 1");
    int na = PQntuples(r);
    if (na == 0) {
        fprintf(stderr, "bench_trends: no demo areas\n");
        return 1;
    }
    char **areas = calloc((size_t)na, sizeof(char *)), **desks = calloc((size_t)na, sizeof(char *));
    for (int i = 0; i < na; i++) {
        areas[i] = strdup(PQgetvalue(r, i, 0));
        desks[i] = strdup(PQgetvalue(r, i, 1));
    }
    PQclear(r);
    /* categories weighted roughly as a district's year looks */
    static const char *cats[] = {"theft", "theft", "theft", "theft", "fraud", "fraud", "robbery", "assault",
                                 "public_order", "public_order", "dispute", "traffic", "traffic", "drugs",
                                 "gambling", "fire", "suspicious", "cybercrime", "domestic_violence", "other"};
    const int ncats = (int)(sizeof(cats) / sizeof(cats[0]));
    double t0 = s_now_ms();
    r = PQexec(c, "COPY incidents (id, created_at, updated_at, occurred_at, category, priority, area_code, desk_code,"
                  " status, acknowledged_at, closed_at, escalations, lat, lon, outcome, arrested) FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        fprintf(stderr, "bench_trends: %s", PQerrorMessage(c));
        return 1;
    }
    PQclear(r);
    time_t now = time(NULL);
    time_t start = now - 3 * 365 * 86400L;
    char line[512];
    for (long i = 0; i < n; i++) {
        uint64_t a = s_rand(), b = s_rand();
        time_t occ = start + (time_t)(s_rand() % (uint64_t)(now - start - 3600));
        time_t created = occ + (time_t)(s_rand() % 1800);
        int ai = (int)(s_rand() % (uint64_t)na);
        const char *cat = cats[s_rand() % (uint64_t)ncats];
        int prio = !strcmp(cat, "fire") ? 1 : 1 + (int)(s_rand() % 4);
        unsigned roll = (unsigned)(s_rand() % 100);
        const char *status = roll < 5 ? "rejected" : roll < 8 ? "merged" : roll < 90 ? "resolved" : "acknowledged";
        long ack = 20 + (long)(s_rand() % (prio == 1 ? 120 : 3000));
        long res = ack + 600 + (long)(s_rand() % 86400);
        char ts_c[32], ts_o[32], ts_a[32], ts_r[32];
        strftime(ts_c, sizeof(ts_c), "%Y-%m-%d %H:%M:%S+00", gmtime(&created));
        strftime(ts_o, sizeof(ts_o), "%Y-%m-%d %H:%M:%S+00", gmtime(&occ));
        time_t ta = created + ack, tr = created + res;
        strftime(ts_a, sizeof(ts_a), "%Y-%m-%d %H:%M:%S+00", gmtime(&ta));
        strftime(ts_r, sizeof(ts_r), "%Y-%m-%d %H:%M:%S+00", gmtime(&tr));
        /* most resolved incidents are solved, a few suspects arrested */
        int solved = !strcmp(status, "resolved") && (s_rand() % 100) < 60;
        char arrested[16];
        snprintf(arrested, sizeof(arrested), "%d", (int)(s_rand() % 4));
        double lat = 10.73 + (double)(s_rand() % 9000) / 100000.0, lon = 106.57 + (double)(s_rand() % 6000) / 100000.0;
        int len = snprintf(line, sizeof(line),
                           "%08x-%04x-4%03x-a%03x-%012llx\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%.5f\t%.5f\t%s\t%s\n",
                           (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
                           (unsigned)(b >> 48) & 0xfff, (unsigned long long)(b & 0xffffffffffffULL), ts_c, ts_c, ts_o,
                           cat, prio, areas[ai], desks[ai], status, ts_a,
                           !strcmp(status, "acknowledged") ? "\\N" : ts_r, (s_rand() % 20) == 0, lat, lon,
                           solved ? "solved" : "\\N", solved ? arrested : "\\N");
        if (PQputCopyData(c, line, len) != 1) {
            fprintf(stderr, "bench_trends: %s", PQerrorMessage(c));
            return 1;
        }
    }
    PQputCopyEnd(c, NULL);
    r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "bench_trends: %s", PQerrorMessage(c));
        return 1;
    }
    PQclear(r);
    /* the district publishes its khu phố's standard too: the summary's
     * second level */
    r = PQexec(c, "INSERT INTO area_standard_rules (level, group_code, max_priority, max_count)"
                  " VALUES ('neighbourhood', 'criminal', NULL, 100)");
    PQclear(r);
    printf("loaded=%ld copy_s=%.1f\n", n, (s_now_ms() - t0) / 1000.0);
    for (int i = 0; i < na; i++) {
        free(areas[i]);
        free(desks[i]);
    }
    free(areas);
    free(desks);
    PQfinish(c);
    return 0;
}

static size_t s_sink(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static int s_query(const char *conninfo, int seconds, const char *url)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench_trends: %s", PQerrorMessage(c));
        return 1;
    }
    const char *names[] = {"district_last_year", "district_this_year", "district_months", "ward_last_year", "http_summary"};
    const char *sql[] = {
        "SELECT antt_summary('VN-HCM-BTA', extract(year FROM antt_trend_today())::int - 1)",
        "SELECT antt_summary('VN-HCM-BTA', extract(year FROM antt_trend_today())::int)",
        "SELECT * FROM antt_trends('VN-HCM-BTA', 'group:criminal', 'month',"
        " make_date(extract(year FROM antt_trend_today())::int - 1, 1, 1), antt_trend_today())",
        "SELECT antt_summary('VN-HCM-BTA-AL', extract(year FROM antt_trend_today())::int - 1)",
    };
    int nq = url ? 5 : 4;
    size_t cap = 100000, n[5] = {0};
    double *lat[5];
    for (int i = 0; i < 5; i++)
        lat[i] = malloc(cap * sizeof(double));
    CURL *h = NULL;
    char full[512];
    if (url) {
        int year = 0;
        PGresult *y = PQexec(c, "SELECT extract(year FROM antt_trend_today())::int - 1");
        year = atoi(PQgetvalue(y, 0, 0));
        PQclear(y);
        snprintf(full, sizeof(full), "%s/api/v1/summary?area=VN-HCM-BTA&year=%d", url, year);
        h = curl_easy_init();
        curl_easy_setopt(h, CURLOPT_URL, full);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_sink);
    }
    double end = s_now_ms() + seconds * 1000.0;
    for (int k = 0; s_now_ms() < end; k = (k + 1) % nq) {
        double t = s_now_ms();
        if (k < 4) {
            PGresult *r = PQexec(c, sql[k]);
            if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                fprintf(stderr, "bench_trends: %s", PQerrorMessage(c));
                return 1;
            }
            PQclear(r);
        } else {
            long code = 0;
            if (curl_easy_perform(h) != CURLE_OK || (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code), code != 200)) {
                fprintf(stderr, "bench_trends: GET %s failed (%ld)\n", full, code);
                return 1;
            }
        }
        if (n[k] < cap)
            lat[k][n[k]++] = s_now_ms() - t;
    }
    for (int k = 0; k < nq; k++) {
        size_t m = n[k];
        printf("%s_n=%zu %s_p50_ms=%.2f %s_p99_ms=%.2f ", names[k], m, names[k], s_q(lat[k], m, 0.5), names[k],
               s_q(lat[k], m, 0.99));
        free(lat[k]);
    }
    printf("\n");
    if (h)
        curl_easy_cleanup(h);
    PQfinish(c);
    return 0;
}

static int s_lag(const char *endpoint, int seconds, const char *area)
{
    void *ctx = zmq_ctx_new(), *sub = zmq_socket(ctx, ZMQ_SUB);
    int hwm = 0;
    zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    char topic[128];
    int tl = snprintf(topic, sizeof(topic), "trend.%s|day|", area);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, topic, (size_t)tl);
    if (bench_curve_client(sub, "aggregation") != 0 || zmq_connect(sub, endpoint) != 0)
        return 1;
    size_t n = 0, cap = 1 << 20;
    double *lat = malloc(cap * sizeof(double));
    printf("ready\n");
    fflush(stdout);
    double end = s_now_ms() + seconds * 1000.0;
    while (s_now_ms() < end) {
        zmq_pollitem_t pi = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&pi, 1, 100) <= 0)
            continue;
        zmq_msg_t t, b;
        zmq_msg_init(&t);
        zmq_msg_init(&b);
        zmq_msg_recv(&t, sub, 0);
        zmq_msg_recv(&b, sub, 0);
        double now = s_now_ms();
        Antt__V1__TrendUpdate *u = antt__v1__trend_update__unpack(NULL, zmq_msg_size(&b), zmq_msg_data(&b));
        if (u && u->has_source_ms && u->dimension && !strcmp(u->dimension, "all") && u->area_code &&
            !strcmp(u->area_code, area) && n < cap)
            lat[n++] = now - (double)u->source_ms;
        if (u)
            antt__v1__trend_update__free_unpacked(u, NULL);
        zmq_msg_close(&t);
        zmq_msg_close(&b);
    }
    double p50 = s_q(lat, n, 0.5), p99 = s_q(lat, n, 0.99), max = n ? lat[n - 1] : 0.0; /* sorted by s_q */
    printf("updates=%zu p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", n, p50, p99, max);
    free(lat);
    zmq_close(sub);
    zmq_ctx_term(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "load"))
        return s_load(argv[2], atol(argv[3]));
    if (argc >= 4 && !strcmp(argv[1], "query"))
        return s_query(argv[2], atoi(argv[3]), argc > 4 ? argv[4] : NULL);
    if (argc >= 4 && !strcmp(argv[1], "lag"))
        return s_lag(argv[2], atoi(argv[3]), argc > 4 ? argv[4] : "VN-HCM");
    fprintf(stderr, "usage: bench_trends load CONNINFO N | query CONNINFO SECONDS [URL] | lag ENDPOINT SECONDS [AREA]\n");
    return 2;
}
