/* The HTTP and SSE doors under attack, on the whole stack (issue 14,
 * findings 1, 2, 3 and 8's SSE points). Every client here is a raw socket
 * of the test, so that it can stall (never read, a 4 KB receive buffer),
 * pipeline, speak HTTP/2 or come from another loopback address.
 *
 * - A flood of streams to aggregation's public port: beyond sse.max_streams
 *   and sse.max_per_address they get 503, /livez answers within 100 ms
 *   during and after, and when the clients leave the process's descriptors
 *   return to their count within the keep-alive interval.
 * - 50 stalled SSE clients on each of notification and aggregation raise
 *   RSS by no more than their caps (50 x sse.max_unsent_bytes), three
 *   rounds of them no more than one round's caps, and they are gone once
 *   closed.
 * - HTTP/2 (prior knowledge and h2c upgrade) is refused; 3,000 requests
 *   over 300 connections delay a normal request by no more than 100 ms; a
 *   query that cannot finish ends at the statement timeout (503).
 * - A deactivated dispatcher's open desk stream ends within the re-check
 *   interval. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "antt_crypto.h"
#include "at_desk.h"
#include "at_raw.h"

/* Under AddressSanitizer freed memory is quarantined (RSS is no measure of
 * what is held: LeakSanitizer checks that at exit instead) and everything
 * runs a few times slower. */
#ifdef __SANITIZE_ADDRESS__
#define T_ASAN 1
#else
#define T_ASAN 0
#endif
#define T_SLOW (T_ASAN ? 3 : 1)

#define T_WARD "DESK-HCM-BTA-BTD"
#define T_MAX_STREAMS 100
#define T_PER_ADDRESS 60
#define T_UNSENT (64 * 1024)
#define T_KEEPALIVE_MS 1000
#define T_RECHECK_MS 1000
#define T_QUEUE_MAX 16
#define T_DB_PER_ADDRESS 4 /* http.db_max_per_address */
#define T_MAX_CONNS 400
#define T_CONNS_PER_ADDRESS 150 /* http.max_per_address */
#define T_SOCKBUF (64 * 1024)    /* sse.socket_buffer_bytes, the default */
#define T_CONN_STATE (32 * 1024) /* a connection's own state in the process, beside its unsent bytes */

static struct {
    char *conninfo;
    PGconn *db;
    at_stack_t st;
    at_desk_t d;
} T;

/* A metric's value from service i's /metrics (the first line starting with
 * name and a space), or -1. */
static double s_metric(int i, const char *name)
{
    char url[128], *body = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", T.st.port[i]);
    double v = -1;
    if (at_http("GET", url, NULL, NULL, 0, &body) == 200 && body) {
        size_t n = strlen(name);
        for (char *l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
            if (!strncmp(l, name, n) && l[n] == ' ') {
                v = atof(l + n + 1);
                break;
            }
    }
    free(body);
    return v;
}

typedef struct s_gauge {
    int svc;
    const char *name;
    double want;
} s_gauge_t;

static int s_gauge_is(void *arg)
{
    s_gauge_t *g = arg;
    return s_metric(g->svc, g->name) == g->want;
}

static int s_wait_gauge(int svc, const char *name, double want, int ms)
{
    s_gauge_t g = {svc, name, want};
    return at_wait_until(s_gauge_is, &g, ms);
}

typedef struct s_fdwait {
    pid_t pid;
    long want;
} s_fdwait_t;

static int s_fds_back(void *arg)
{
    s_fdwait_t *w = arg;
    return at_raw_fds(w->pid) <= w->want;
}

/* ---- set-up ---- */

static int s_setup(void **state)
{
    (void)state;
    if (antt_crypto_init() != 0)
        return -1;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 && rl.rlim_max >= 4096) {
        rl.rlim_cur = 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    T.conninfo = at_db_create("t_doors");
    T.db = at_db_connect(T.conninfo);
    at_db_exec(T.db, "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst) VALUES"
                     " ('app', 'App', sha256('key-app'::bytea), 1000, 1000)");
    at_db_exec(T.db, "INSERT INTO dispatchers (name, desk_code, token_hash) VALUES"
                     " ('ward', '" T_WARD "', sha256('tok-ward')), ('leaving', '" T_WARD "', sha256('tok-leaving'))");
    /* a state of some 20,000 keys (a few MB of snapshot): every leaf area,
     * the last 60 days and five categories */
    at_db_exec(T.db, "INSERT INTO trend_counts (area_code, grain, bucket, category, n1, n2, n3, n4)"
                     " SELECT a.code, 'd', d::date, c, 1, 0, 0, 0 FROM areas a,"
                     " generate_series(antt_trend_today() - 59, antt_trend_today(), interval '1 day') d,"
                     " unnest(ARRAY['theft', 'fraud', 'fire', 'drugs', 'traffic']) c"
                     " WHERE NOT EXISTS (SELECT 1 FROM areas b WHERE b.parent_code = a.code)"
                     " ON CONFLICT DO NOTHING");
    at_stack_init(&T.st, T.conninfo);
    size_t cap = sizeof(T.st.env) / sizeof(T.st.env[0]);
    static const struct {
        const char *fmt; /* "ANTT_KEY=%s" */
        long v;          /* its value */
    } settings[] = {
        {"ANTT_SSE_MAX_STREAMS=%s", T_MAX_STREAMS},     {"ANTT_SSE_MAX_PER_ADDRESS=%s", T_PER_ADDRESS},
        {"ANTT_SSE_MAX_UNSENT_BYTES=%s", T_UNSENT},     {"ANTT_SSE_KEEPALIVE_MS=%s", T_KEEPALIVE_MS},
        {"ANTT_SSE_RECHECK_MS=%s", T_RECHECK_MS},       {"ANTT_HTTP_DB_QUEUE_MAX=%s", T_QUEUE_MAX},
        {"ANTT_HTTP_MAX_CONNECTIONS=%s", T_MAX_CONNS},   {"ANTT_HTTP_MAX_PER_ADDRESS=%s", T_CONNS_PER_ADDRESS},
        {"ANTT_HTTP_DB_MAX_PER_ADDRESS=%s", T_DB_PER_ADDRESS},
    };
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        char v[32];
        snprintf(v, sizeof(v), "%ld", settings[i].v);
        at_env_add(T.st.env, cap, settings[i].fmt, v);
    }
    at_env_add(T.st.env, cap, "ANTT_HTTP_METRICS_FROM=%s", "127.0.0.1/32"); /* the test's own address */
    if (at_stack_start_all(&T.st) != 0)
        return -1;
    const char *topics[] = {"desk." T_WARD ".", NULL};
    return at_desk_open(&T.d, &T.st, T.db, "key-app", topics, "VN-HCM-BTA-BTD", T_WARD);
}

static int s_teardown(void **state)
{
    (void)state;
    at_desk_close(&T.d);
    at_stack_stop(&T.st);
    at_stack_free(&T.st);
    PQfinish(T.db);
    free(T.conninfo);
    curl_global_cleanup();
    return 0;
}

/* ---- finding 1: a flood of streams ---- */

static void test_stream_flood(void **state)
{
    (void)state;
    int port = T.st.port[AT_AGGREGATION];
    pid_t pid = T.st.svc[AT_AGGREGATION].pid;
    assert_true(s_wait_gauge(AT_AGGREGATION, "antt_aggregation_sse_clients", 0, 5000));
    long fds0 = at_raw_fds(pid);
    enum { N = 1000 };
    static int fd[N];
    int ok = 0, refused = 0, failed = 0;
    double worst = 0, ms;
    char buf[2048];
    for (int i = 0; i < N; i++) {
        /* two thirds from 127.0.0.1, the rest from 127.0.0.2 */
        const char *src = i < 2 * N / 3 ? "127.0.0.1" : "127.0.0.2";
        fd[i] = at_raw_stream_open(port, src, "/api/v1/stream?period=year", NULL, 0);
        int st = fd[i] >= 0 && at_raw_read_until(fd[i], buf, sizeof(buf), "\r\n\r\n", 5000) > 0 ? at_raw_status(buf) : -1;
        if (st == 200) {
            ok++;
        } else {
            refused += st == 503;
            failed += st != 503;
            if (st == 503)
                assert_non_null(strcasestr(buf, "\r\nretry-after: "));
            close(fd[i]);
            fd[i] = -1;
        }
        if (i % 50 == 0) {
            assert_int_equal(at_raw_request(port, NULL, "/livez", &ms), 200);
            worst = ms > worst ? ms : worst;
        }
    }
    print_message("stream flood: %d connections, %d streams open, %d refused with 503 (caps %d per address,"
                  " %d per listener), %d failed; /livez answered within %.1f ms during the flood\n",
                  N, ok, refused, T_PER_ADDRESS, T_MAX_STREAMS, failed, worst);
    assert_int_equal(ok, T_MAX_STREAMS);
    assert_int_equal(refused, N - T_MAX_STREAMS);
    assert_true(worst <= 100 * T_SLOW);
    assert_int_equal(at_raw_request(port, NULL, "/livez", &ms), 200);
    print_message("stream flood: /livez answered in %.1f ms after the flood, %ld descriptors held (%ld before)\n",
                  ms, at_raw_fds(pid), fds0);
    assert_true(ms <= 100 * T_SLOW);
    /* the clients leave without a word: keep-alive comments find them */
    for (int i = 0; i < N; i++)
        if (fd[i] >= 0)
            close(fd[i]);
    double t0 = at_raw_ms();
    s_fdwait_t w = {pid, fds0 + 2};
    int back = at_wait_until(s_fds_back, &w, 4 * T_KEEPALIVE_MS);
    double took = at_raw_ms() - t0;
    print_message("stream flood: descriptors back to %ld (%ld before) %.0f ms after the clients left"
                  " (keep-alive every %d ms)\n",
                  at_raw_fds(pid), fds0, took, T_KEEPALIVE_MS);
    assert_true(back);
    assert_true(took <= 2 * T_KEEPALIVE_MS + 500);
}

typedef struct s_ended {
    int *fd;    /* connections */
    int n;      /* their number */
    int want;   /* enough closed */
    int closed; /* how many the server has closed */
} s_ended_t;

static int s_ended(void *arg)
{
    s_ended_t *e = arg;
    e->closed = 0;
    for (int i = 0; i < e->n; i++) {
        char c;
        struct pollfd p = {e->fd[i], POLLIN, 0};
        e->closed += poll(&p, 1, 0) == 1 && recv(e->fd[i], &c, 1, MSG_PEEK) <= 0;
    }
    return e->closed >= e->want;
}

/* Idle connections beyond http.max_connections are closed at accept (the
 * client reads the end at once) instead of piling up in the process; when
 * the idle ones go, the port serves again. */
static void test_connection_cap(void **state)
{
    (void)state;
    int port = T.st.port[AT_AGGREGATION];
    pid_t pid = T.st.svc[AT_AGGREGATION].pid;
    long fds0 = at_raw_fds(pid);
    enum { N = T_MAX_CONNS + 100 };
    static int fd[N];
    for (int i = 0; i < N; i++)
        assert_true((fd[i] = at_raw_connect(port, (const char *[]){"127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.4",
                                                                    "127.0.1.5"}[i % 5],
                                            0)) >= 0);
    /* a refused one reads its end; an accepted one has nothing to say */
    s_ended_t e = {fd, N, N - T_MAX_CONNS, 0};
    assert_true(at_wait_until(s_ended, &e, 3000));
    int closed = e.closed;
    long held = at_raw_fds(pid) - fds0;
    for (int i = 0; i < N; i++)
        close(fd[i]);
    double ms;
    s_fdwait_t w = {pid, fds0 + 2};
    assert_true(at_wait_until(s_fds_back, &w, 3000));
    assert_int_equal(at_raw_request(port, NULL, "/livez", &ms), 200);
    print_message("connection cap: %d idle connections, %d closed at accept (cap %d), the process held %ld more"
                  " descriptors; /livez answered in %.1f ms once they left\n",
                  N, closed, T_MAX_CONNS, held, ms);
    assert_true(closed >= N - T_MAX_CONNS);
    assert_true(held <= T_MAX_CONNS);
}

/* ---- finding 2: stalled clients ---- */

/* One round: 50 stalled clients of path on service svc (from src), while
 * traffic() makes events for them. Every round, RSS must stay within the
 * caps of 50 clients above base (the RSS before the first round), the
 * kernel must hold no more than their socket buffers, and they must be gone
 * once closed. */
static void s_stalled_round(int svc, const char *gauge, const char *path, const char *auth, const char *src,
                            void (*traffic)(void), int round, long base)
{
    enum { N = 50 };
    pid_t pid = T.st.svc[svc].pid;
    int fd[N];
    /* one after the other: fifty opening at once would be more than the
     * database queue takes (http.db_queue_max), and some would get 503 */
    for (int i = 0; i < N; i++) {
        assert_true((fd[i] = at_raw_stream_open(T.st.port[svc], src, path, auth, 1)) >= 0);
        assert_true(s_wait_gauge(svc, gauge, i + 1, 5000));
    }
    traffic();
    long peak = at_rss_kb(pid), kpeak = at_raw_sendq(T.st.port[svc]);
    double t0 = at_raw_ms();
    while (at_raw_ms() - t0 < 500) { /* a window to take the peaks in, not a wait for anything */
        long r = at_rss_kb(pid), k = at_raw_sendq(T.st.port[svc]);
        peak = r > peak ? r : peak;
        kpeak = k > kpeak ? k : kpeak;
        usleep(20000);
    }
    /* a stalled client may cost its unsent bytes and its connection's own
     * state (h2o's buffers, some 17 kB) in the process, and its socket's
     * send buffer (sse.socket_buffer_bytes, doubled by the kernel) */
    long allowed_kb = (long)N * (T_UNSENT + T_CONN_STATE) / 1024, kallowed_kb = (long)N * 2 * T_SOCKBUF / 1024;
    print_message("%s round %d: %d stalled SSE clients; RSS peaked %+ld kB from before the first round (%ld kB;"
                  " their caps allow %ld kB); they hold %ld kB in the kernel's send queues (their socket buffers"
                  " allow %ld kB)\n",
                  at_service_names[svc], round, N, peak - base, base, allowed_kb, kpeak / 1024, kallowed_kb);
    for (int i = 0; i < N; i++)
        close(fd[i]);
    t0 = at_raw_ms();
    assert_true(s_wait_gauge(svc, gauge, 0, 4 * T_KEEPALIVE_MS));
    long after = at_rss_kb(pid);
    print_message("%s round %d: the stalled clients were gone %.0f ms after they closed; RSS %+ld kB from before"
                  " the first round\n",
                  at_service_names[svc], round, at_raw_ms() - t0, after - base);
    if (!T_ASAN)
        assert_true(peak - base <= allowed_kb);
    assert_true(kpeak / 1024 <= kallowed_kb);
}

/* Three rounds, measured from before the first. The allocator keeps some of
 * what a round freed (0.8 to 2.7 MB, as the machine's timing made it need),
 * and the next round reuses it: what the rounds hold stays within one
 * round's caps. Buffers never freed would add up round after round
 * (notification's passed the caps in the second round when its streams'
 * buffers were left unfreed); a smaller leak is LeakSanitizer's to find
 * (make test-asan). */
static void s_stalled(int svc, const char *gauge, const char *path, const char *auth, const char *src,
                      void (*traffic)(void))
{
    assert_true(s_wait_gauge(svc, gauge, 0, 5000));
    long base = at_rss_kb(T.st.svc[svc].pid);
    for (int round = 1; round <= 3; round++)
        s_stalled_round(svc, gauge, path, auth, src, traffic, round, base);
}

static void s_no_traffic(void)
{
    /* aggregation's traffic is the snapshot each client asks for */
}

static char *s_incident;

typedef struct s_journaled {
    long want; /* desk_feed rows */
} s_journaled_t;

static int s_journaled(void *arg)
{
    s_journaled_t *j = arg;
    return at_db_long(T.db, "SELECT count(*) FROM desk_feed") >= j->want;
}

static void s_notes(void)
{
    /* 300 notes of 1,500 characters: some 500 kB of events per client */
    char note[1501];
    memset(note, 'n', sizeof(note) - 1);
    note[sizeof(note) - 1] = 0;
    char path[160], body[1700];
    snprintf(path, sizeof(path), "/api/v1/incidents/%s/note", s_incident);
    snprintf(body, sizeof(body), "{\"note\":\"%s\"}", note);
    double t0 = at_raw_ms();
    long before = at_db_long(T.db, "SELECT count(*) FROM desk_feed");
    for (int i = 0; i < 300; i++)
        assert_int_equal(at_desk_http(&T.d, "tok-ward", "POST", path, body, NULL), 200);
    print_message("notification: 300 notes written in %.0f ms\n", at_raw_ms() - t0);
    /* every note journaled is written to the streams (or has dropped them) */
    s_journaled_t j = {before + 300};
    assert_true(at_wait_until(s_journaled, &j, 10000));
}

static void test_stalled_aggregation(void **state)
{
    (void)state;
    s_stalled(AT_AGGREGATION, "antt_aggregation_sse_clients", "/api/v1/stream", NULL, "127.0.0.3", s_no_traffic);
}

static void test_stalled_notification(void **state)
{
    (void)state;
    s_incident = at_desk_incident(&T.d, "description=co%20nguoi%20trom%20xe%20may%20truoc%20nha&area_code=VN-HCM-BTA-BTD",
                                  NULL);
    assert_non_null(s_incident);
    s_stalled(AT_NOTIFICATION, "antt_notify_sse_clients", "/api/v1/feed", "tok-ward", "127.0.0.4", s_notes);
    print_message("notification: %.0f stalled streams dropped over their cap\n",
                  s_metric(AT_NOTIFICATION, "antt_notify_sse_dropped_total"));
    free(s_incident);
}

/* ---- finding 3: HTTP/2 and a burst ---- */

static void test_http2_refused(void **state)
{
    (void)state;
    int port = T.st.port[AT_AGGREGATION];
    char buf[4096];
    /* prior knowledge: the preface and an empty SETTINGS frame */
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    int fd = at_raw_connect(port, NULL, 0);
    assert_true(fd >= 0);
    assert_int_equal(at_raw_send(fd, preface, sizeof(preface) - 1), 0);
    ssize_t n = at_raw_read_until(fd, buf, sizeof(buf), "\r\n", 3000);
    close(fd);
    int h1 = n > 0 && !strncmp(buf, "HTTP/1.1 ", 9);
    print_message("http/2 prior knowledge: answered %s\n", h1 ? strtok(buf, "\r") : n > 0 ? "with HTTP/2 frames" : "nothing");
    assert_true(h1);
    /* h2c upgrade */
    fd = at_raw_connect(port, NULL, 0);
    static const char up[] = "GET /livez HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                             "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n";
    assert_int_equal(at_raw_send(fd, up, sizeof(up) - 1), 0);
    n = at_raw_read_until(fd, buf, sizeof(buf), "\r\n", 3000);
    close(fd);
    int st = n > 0 ? at_raw_status(buf) : -1;
    print_message("http/2 h2c upgrade: answered %d (101 would switch)\n", st);
    assert_int_equal(st, 200);
}

static void test_burst(void **state)
{
    (void)state;
    int port = T.st.port[AT_AGGREGATION];
    enum { C = 300, PER = 10 };
    static int fd[C];
    /* PER pipelined requests per connection, the last one closing it */
    antt_buf_t many;
    antt_buf_init(&many);
    for (int k = 0; k < PER; k++)
        antt_buf_printf(&many, "GET /api/v1/areas?root=VN-HCM-BTA-BTD HTTP/1.1\r\nHost: t\r\n%s\r\n",
                        k == PER - 1 ? "Connection: close\r\n" : "");
    double ms;
    /* when quiet (the second time: the first loads PostGIS) */
    assert_int_equal(at_raw_request(port, NULL, "/api/v1/areas?root=VN-HCM-BTA-BTD", &ms), 200);
    assert_int_equal(at_raw_request(port, NULL, "/api/v1/areas?root=VN-HCM-BTA-BTD", &ms), 200);
    double quiet = ms;
    for (int i = 0; i < C; i++) {
        fd[i] = at_raw_connect(port, (const char *[]){"127.0.2.1", "127.0.2.2", "127.0.2.3"}[i % 3], 0);
        assert_true(fd[i] >= 0);
        at_raw_send(fd[i], many.data, many.len);
    }
    antt_buf_cleanup(&many);
    /* a normal request while the burst is being answered */
    int st = at_raw_request(port, NULL, "/api/v1/areas?root=VN-HCM-BTA-BTD", &ms);
    double live;
    assert_int_equal(at_raw_request(port, NULL, "/livez", &live), 200);
    /* the burst's answers: 200s, 503s with Retry-After (their connection
     * closed after it, and the requests pipelined behind it with it) */
    /* all connections read together until each has closed (its last
     * request says close) or the deadline */
    long n200 = 0, n503 = 0, open = C;
    static antt_buf_t got[C];
    static struct pollfd pf[C];
    for (int i = 0; i < C; i++) {
        antt_buf_init(&got[i]);
        pf[i].fd = fd[i];
        pf[i].events = POLLIN;
    }
    double end = at_raw_ms() + 15000;
    char chunk[16384];
    while (open > 0 && at_raw_ms() < end) {
        if (poll(pf, C, 200) <= 0)
            continue;
        for (int i = 0; i < C; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t k = recv(pf[i].fd, chunk, sizeof(chunk), 0);
            if (k > 0) {
                antt_buf_append(&got[i], chunk, (size_t)k);
                continue;
            }
            close(pf[i].fd);
            pf[i].fd = -1;
            open--;
        }
    }
    for (int i = 0; i < C; i++) {
        for (const char *p = got[i].data; p && (p = strstr(p, "HTTP/1.1 ")) != NULL; p += 9) {
            n200 += !strncmp(p + 9, "200", 3);
            n503 += !strncmp(p + 9, "503", 3);
        }
        antt_buf_cleanup(&got[i]);
        if (pf[i].fd >= 0)
            close(pf[i].fd);
    }
    long silent = open;
    print_message("burst: %d requests on %d connections: %ld answered 200, %ld 503 (queue %d), %ld connections"
                  " still waiting at the end; a normal request answered %d in %.1f ms during it (%.1f ms when quiet),"
                  " /livez in %.1f ms\n",
                  C * PER, C, n200, n503, T_QUEUE_MAX, silent, st, ms, quiet, live);
    assert_true(st == 200 || st == 503);
    /* the bound is on the normal request; /livez, sent after it while the
     * loop answers the burst's 503s (some 30 us each), is only printed */
    assert_true(ms - quiet <= 100 * T_SLOW);
    assert_true(n503 > 0);
}

/* One address cannot take the listener: beyond http.max_per_address its
 * connections are closed at accept, and a client at another address is
 * served while they are held (the attack locked every HTTP port with 1,030
 * idle connections from one address). */
static void test_address_cap(void **state)
{
    (void)state;
    int port = T.st.port[AT_AGGREGATION];
    enum { N = T_CONNS_PER_ADDRESS + 50 };
    static int fd[N];
    for (int i = 0; i < N; i++)
        assert_true((fd[i] = at_raw_connect(port, "127.0.0.9", 0)) >= 0);
    s_ended_t e = {fd, N, N - T_CONNS_PER_ADDRESS, 0};
    assert_true(at_wait_until(s_ended, &e, 3000));
    int closed = e.closed;
    double ms;
    int other = at_raw_request(port, "127.0.0.10", "/livez", &ms);
    for (int i = 0; i < N; i++)
        close(fd[i]);
    print_message("address cap: %d idle connections from one address, %d closed at accept (cap %d per address);"
                  " another address answered %d in %.1f ms meanwhile\n",
                  N, closed, T_CONNS_PER_ADDRESS, other, ms);
    assert_true(closed >= N - T_CONNS_PER_ADDRESS);
    assert_true(closed <= N - T_CONNS_PER_ADDRESS + 5);
    assert_int_equal(other, 200);
}

/* /metrics is the operators': its live counters (reports stored, emergency
 * notices) would show a watcher each report arriving. A client outside
 * http.metrics_from gets 403 on every service's port. */
static void test_metrics_from(void **state)
{
    (void)state;
    for (int i = 0; i < AT_NSERVICES; i++) {
        double ms;
        assert_int_equal(at_raw_request(T.st.port[i], "127.0.0.7", "/metrics", &ms), 403);
        assert_int_equal(at_raw_request(T.st.port[i], "127.0.0.1", "/metrics", &ms), 200);
        assert_int_equal(at_raw_request(T.st.port[i], "127.0.0.7", "/livez", &ms), 200);
    }
}

/* A client that pipelines many queries and closes at once: what it left
 * queued is dropped, not run (the attack kept aggregation's query path
 * saturated for nine minutes after 50 such clients had gone). Each
 * connection's first request may be answered (into a closed socket); the
 * rest are neither queued nor parsed, for the connection closes. */
typedef struct s_settle {
    double last;  /* antt_http_requests_total at the last look */
    int looks;    /* /metrics requests made (they are counted too) */
} s_settle_t;

static int s_settled(void *arg)
{
    s_settle_t *w = arg;
    double q = s_metric(AT_AGGREGATION, "antt_http_db_queued");
    double n = s_metric(AT_AGGREGATION, "antt_http_requests_total");
    w->looks += 2;
    int still = q == 0 && n == w->last + 2; /* nothing but our two looks since */
    w->last = n;
    return still;
}

static void test_departed_client(void **state)
{
    (void)state;
    int port = T.st.port[AT_AGGREGATION];
    enum { C = 20, PER = 50 };
    antt_buf_t many;
    antt_buf_init(&many);
    for (int k = 0; k < PER; k++)
        antt_buf_puts(&many, "GET /api/v1/areas?root=VN-HCM-BTA-BTD HTTP/1.1\r\nHost: t\r\n\r\n");
    double before = s_metric(AT_AGGREGATION, "antt_http_requests_total");
    double dropped0 = s_metric(AT_AGGREGATION, "antt_http_db_dropped_total");
    for (int i = 0; i < C; i++) {
        int fd = at_raw_connect(port, "127.0.0.6", 0);
        assert_true(fd >= 0);
        assert_int_equal(at_raw_send(fd, many.data, many.len), 0);
        close(fd);
    }
    antt_buf_cleanup(&many);
    s_settle_t w = {.last = -1};
    assert_true(at_wait_until(s_settled, &w, 60000));
    double handled = w.last - before - w.looks - 1; /* the first look of before */
    double dropped = s_metric(AT_AGGREGATION, "antt_http_db_dropped_total") - dropped0;
    print_message("departed clients: %d connections x %d pipelined queries, closed at once: %.0f handled, %.0f"
                  " dropped unrun\n",
                  C, PER, handled, dropped);
    assert_true(handled <= 3 * C);
    assert_true(dropped >= 1);
    /* and the API answers at once */
    double ms;
    assert_int_equal(at_raw_request(port, NULL, "/api/v1/areas?root=VN-HCM-BTA-BTD", &ms), 200);
}

/* One address's queries hold at most http.db_max_per_address places of the
 * query gate: with the queries stuck behind a lock, a client that opens
 * connections and never reads gets 503 beyond its share, and another
 * address is still queued and answered once the lock goes (the attack kept
 * every place with 100 pipelining connections that never read). */
static void test_gate_share(void **state)
{
    (void)state;
    int port = T.st.port[AT_AGGREGATION];
    at_db_exec(T.db, "BEGIN");
    at_db_exec(T.db, "LOCK TABLE areas IN ACCESS EXCLUSIVE MODE");
    static const char req[] = "GET /api/v1/areas?root=VN-HCM-BTA-BTD HTTP/1.1\r\nHost: t\r\n\r\n";
    enum { N = 10 };
    int fd[N], busy = 0;
    for (int i = 0; i < N; i++) {
        fd[i] = at_raw_connect(port, "127.0.0.11", 0);
        assert_true(fd[i] >= 0);
        assert_int_equal(at_raw_send(fd[i], req, sizeof(req) - 1), 0);
    }
    for (int i = T_DB_PER_ADDRESS; i < N; i++) { /* the ones over the share answer at once */
        char buf[2048];
        ssize_t n = at_raw_read_until(fd[i], buf, sizeof(buf), "\r\n\r\n", 2000);
        busy += n > 0 && at_raw_status(buf) == 503;
    }
    int other = at_raw_connect(port, "127.0.0.12", 0);
    assert_true(other >= 0);
    static const char one[] = "GET /api/v1/areas?root=VN-HCM-BTA-BTD HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    assert_int_equal(at_raw_send(other, one, sizeof(one) - 1), 0);
    at_db_exec(T.db, "ROLLBACK");
    char buf[4096];
    ssize_t n = at_raw_read_until(other, buf, sizeof(buf), "\r\n\r\n", 8000);
    int st = n > 0 ? at_raw_status(buf) : -1;
    for (int i = 0; i < N; i++)
        close(fd[i]);
    close(other);
    print_message("gate share: %d queries from one address behind a lock, %d answered 503 at once (share %d);"
                  " another address answered %d once the lock went\n",
                  N, busy, T_DB_PER_ADDRESS, st);
    assert_int_equal(busy, N - T_DB_PER_ADDRESS);
    assert_int_equal(st, 200);
}

/* A query that cannot finish (a table locked by someone else) is ended by
 * http.statement_timeout_ms (2 s) and answered 503, instead of holding the
 * API's connection, and every request queued behind it, for as long as the
 * lock lasts. */
static void test_statement_timeout(void **state)
{
    (void)state;
    int port = T.st.port[AT_AGGREGATION];
    at_db_exec(T.db, "BEGIN");
    at_db_exec(T.db, "LOCK TABLE areas IN ACCESS EXCLUSIVE MODE");
    double t0 = at_raw_ms();
    int fd = at_raw_connect(port, NULL, 0);
    assert_true(fd >= 0);
    static const char req[] = "GET /api/v1/areas?root=VN-HCM-BTA-BTD HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    assert_int_equal(at_raw_send(fd, req, sizeof(req) - 1), 0);
    char buf[4096];
    ssize_t n = at_raw_read_until(fd, buf, sizeof(buf), "}", 8000);
    double took = at_raw_ms() - t0;
    close(fd);
    at_db_exec(T.db, "ROLLBACK");
    int st = n > 0 ? at_raw_status(buf) : -1;
    print_message("statement timeout: a query behind a lock answered %d %s after %.0f ms (http.statement_timeout_ms"
                  " 2000)\n",
                  st, n > 0 && strstr(buf, "\"timeout\"") ? "timeout" : "", took);
    assert_int_equal(st, 503);
    assert_non_null(strstr(buf, "\"timeout\""));
    assert_true(took >= 1900 && took <= 3000);
}

/* ---- finding 8: a deactivated dispatcher's stream ---- */

static void test_revoked_stream_ends(void **state)
{
    (void)state;
    at_sse_t c;
    at_sse_start(&c, T.st.port[AT_NOTIFICATION], "tok-leaving", NULL, NULL, 10000);
    assert_int_equal(at_sse_wait_started(&c, 5000), 1);
    at_db_exec(T.db, "UPDATE dispatchers SET active = false WHERE name = 'leaving'");
    double t0 = at_raw_ms();
    at_sse_join(&c);
    double took = at_raw_ms() - t0;
    print_message("revoked: the deactivated dispatcher's stream ended %.0f ms after (re-check every %d ms)\n", took,
                  T_RECHECK_MS);
    at_sse_cleanup(&c);
    assert_true(took <= T_RECHECK_MS + 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http2_refused),
        cmocka_unit_test(test_stream_flood),
        cmocka_unit_test(test_connection_cap),
        cmocka_unit_test(test_address_cap),
        cmocka_unit_test(test_stalled_aggregation),
        cmocka_unit_test(test_stalled_notification),
        cmocka_unit_test(test_burst),
        cmocka_unit_test(test_metrics_from),
        cmocka_unit_test(test_departed_client),
        cmocka_unit_test(test_gate_share),
        cmocka_unit_test(test_statement_timeout),
        cmocka_unit_test(test_revoked_stream_ends),
    };
    /* ANTT_TEST_ONLY=name runs one test (to see each fail alone on an old build) */
    const char *only = getenv("ANTT_TEST_ONLY");
    struct CMUnitTest pick[sizeof(tests) / sizeof(tests[0])];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
        if (only == NULL || strstr(tests[i].name, only))
            pick[n++] = tests[i];
    return _cmocka_run_group_tests("doors", pick, n, s_setup, s_teardown);
}
