/* bench_intake: load generator for intake. T threads, each driving H HTTP
 * keep-alive connections (Open311 POST) and Z ZeroMQ DEALER sockets
 * (SubmitReport), one request in flight per connection, for a fixed
 * duration, either as fast as intake answers (--rate 0) or paced to a total
 * rate. Latency is measured from the scheduled send time (no coordinated
 * omission). Every report has a unique idempotency key, so every OK answer
 * is a new durable report.
 *
 * Prints one line: ok=N errors=E seconds=S rps=R p50_ms=.. p99_ms=.. p999_ms=.. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "antt/v1/report.pb-c.h"

#include "bench_curve.h"

typedef struct conn {
    int fd;                 /* HTTP socket, or -1 for a ZeroMQ socket */
    void *zs;               /* DEALER */
    int busy;               /* a request is in flight */
    double sched;           /* when the in-flight request was due (s) */
    double next;            /* when the next request is due (s) */
    char in[4096];          /* response bytes */
    size_t inlen;           /* bytes read */
} conn_t;

typedef struct worker {
    int id;                 /* thread number */
    pthread_t th;           /* thread */
    long ok, errors;        /* answers */
    double *lat;            /* latencies in ms */
    size_t nlat, cap;       /* count, capacity */
    long seq;               /* request counter */
    unsigned seed;          /* rand_r state for report positions */
} worker_t;

static const char *g_host = "127.0.0.1", *g_zmq, *g_key;
static int g_port = 8080, g_threads = 2, g_http = 16, g_zmqn = 0;
static double g_duration = 10, g_rate = 0;
static void *g_zctx;
static double g_t0;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void record(worker_t *w, double ms)
{
    if (w->nlat == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 65536;
        w->lat = realloc(w->lat, w->cap * sizeof(double));
    }
    w->lat[w->nlat++] = ms;
}

static int http_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)g_port);
    inet_pton(AF_INET, g_host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("connect");
        exit(1);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static const char *k_text = "nha+toi+bi+trom+xe+may+dem+qua+o+hem+12+duong+so+7";

/* A position spread uniformly over the demo city's bounding box (Hồ Chí
 * Minh City, ~6,000 km²): classification then sees a mix of new incidents
 * and duplicates (at 5,000 reports/s a tenth of them find an open incident
 * within 150 m after ten seconds, more as the runs go on). */
static void s_position(worker_t *w, double *lat, double *lon)
{
    *lat = 10.37 + 0.79 * rand_r(&w->seed) / (double)RAND_MAX;
    *lon = 106.36 + 0.67 * rand_r(&w->seed) / (double)RAND_MAX;
}

static void send_http(worker_t *w, conn_t *c)
{
    char body[512], req[1024];
    double lat, lon;
    s_position(w, &lat, &lon);
    int bl = snprintf(body, sizeof(body),
                      "api_key=%s&idempotency_key=b%d-%ld-%ld&service_code=theft&lat=%.6f&long=%.6f"
                      "&description=%s",
                      g_key, w->id, (long)(g_t0 * 1000), w->seq++, lat, lon, k_text);
    int rl = snprintf(req, sizeof(req),
                      "POST /open311/v2/requests.json HTTP/1.1\r\nHost: bench\r\n"
                      "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s",
                      bl, body);
    if (write(c->fd, req, (size_t)rl) != rl) {
        perror("write");
        exit(1);
    }
    c->inlen = 0;
    c->busy = 1;
}

static void send_zmq(worker_t *w, conn_t *c)
{
    char key[64];
    snprintf(key, sizeof(key), "z%d-%ld-%ld", w->id, (long)(g_t0 * 1000), w->seq++);
    Antt__V1__SubmitReport m = ANTT__V1__SUBMIT_REPORT__INIT;
    Antt__V1__Location loc = ANTT__V1__LOCATION__INIT;
    m.api_key = (char *)g_key;
    m.idempotency_key = key;
    m.description = "nha toi bi trom xe may dem qua o hem 12 duong so 7";
    m.service_code = "theft";
    loc.has_lat = loc.has_lon = 1;
    s_position(w, &loc.lat, &loc.lon);
    m.location = &loc;
    uint8_t buf[512];
    size_t len = antt__v1__submit_report__pack(&m, buf);
    zmq_send(c->zs, buf, len, 0);
    c->busy = 1;
}

/* 1 when a whole HTTP response is in c->in; sets *status */
static int http_done(conn_t *c, int *status)
{
    c->in[c->inlen] = '\0';
    char *hdr_end = strstr(c->in, "\r\n\r\n");
    if (hdr_end == NULL)
        return 0;
    char *cl = strcasestr(c->in, "content-length:");
    size_t body = cl ? (size_t)atol(cl + 15) : 0;
    if ((size_t)(hdr_end + 4 - c->in) + body > c->inlen)
        return 0;
    *status = atoi(c->in + 9);
    return 1;
}

static void *run(void *arg)
{
    worker_t *w = arg;
    int n = g_http + g_zmqn;
    conn_t *cs = calloc((size_t)n, sizeof(conn_t));
    zmq_pollitem_t *items = calloc((size_t)n, sizeof(zmq_pollitem_t));
    double per_conn = g_rate > 0 ? g_rate / (g_threads * n) : 0;
    for (int i = 0; i < n; i++) {
        if (i < g_http) {
            cs[i].fd = http_connect();
            items[i].fd = cs[i].fd;
        } else {
            cs[i].fd = -1;
            cs[i].zs = zmq_socket(g_zctx, ZMQ_DEALER);
            int linger = 0;
            zmq_setsockopt(cs[i].zs, ZMQ_LINGER, &linger, sizeof(linger));
            if (bench_curve_client(cs[i].zs, "intake") != 0)
                exit(1);
            zmq_connect(cs[i].zs, g_zmq);
            items[i].socket = cs[i].zs;
        }
        items[i].events = ZMQ_POLLIN;
        /* spread the first sends over one period */
        cs[i].next = g_t0 + (per_conn > 0 ? (double)rand() / RAND_MAX / per_conn : 0);
    }
    double end = g_t0 + g_duration;
    int inflight = 0;
    for (;;) {
        double t = now_s();
        if (t >= end && inflight == 0)
            break;
        double wait = 0.05;
        for (int i = 0; i < n && t < end; i++) {
            conn_t *c = &cs[i];
            if (c->busy)
                continue;
            if (c->next <= t) {
                c->sched = per_conn > 0 ? c->next : t;
                c->next = per_conn > 0 ? c->next + 1.0 / per_conn : t;
                if (c->fd >= 0)
                    send_http(w, c);
                else
                    send_zmq(w, c);
                inflight++;
            } else if (c->next - t < wait) {
                wait = c->next - t;
            }
        }
        int r = zmq_poll(items, n, (long)(wait * 1000) > 0 ? (long)(wait * 1000) : 1);
        if (r <= 0)
            continue;
        t = now_s();
        for (int i = 0; i < n; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            conn_t *c = &cs[i];
            int status = 0, done = 0;
            if (c->fd >= 0) {
                ssize_t k = read(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
                if (k <= 0) {
                    fprintf(stderr, "connection closed by intake\n");
                    exit(1);
                }
                c->inlen += (size_t)k;
                done = http_done(c, &status);
                status = status == 201 ? 0 : status;
            } else {
                zmq_msg_t msg;
                zmq_msg_init(&msg);
                while (zmq_msg_recv(&msg, c->zs, ZMQ_DONTWAIT) >= 0) {
                    Antt__V1__SubmitReply *rep =
                        antt__v1__submit_reply__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
                    status = rep && rep->status == 0 ? 0 : 1;
                    if (rep)
                        antt__v1__submit_reply__free_unpacked(rep, NULL);
                    done = 1;
                }
                zmq_msg_close(&msg);
            }
            if (!done || !c->busy)
                continue;
            c->busy = 0;
            inflight--;
            if (status == 0) {
                w->ok++;
                record(w, (t - c->sched) * 1000);
            } else {
                w->errors++;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        if (cs[i].fd >= 0)
            close(cs[i].fd);
        else
            zmq_close(cs[i].zs);
    }
    free(cs);
    free(items);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--port")) g_port = atoi(v);
        else if (!strcmp(k, "--zmq")) g_zmq = v;
        else if (!strcmp(k, "--key")) g_key = v;
        else if (!strcmp(k, "--threads")) g_threads = atoi(v);
        else if (!strcmp(k, "--http")) g_http = atoi(v);
        else if (!strcmp(k, "--zmq-clients")) g_zmqn = atoi(v);
        else if (!strcmp(k, "--duration")) g_duration = atof(v);
        else if (!strcmp(k, "--rate")) g_rate = atof(v);
        else { fprintf(stderr, "unknown option %s\n", k); return 2; }
    }
    if (g_key == NULL || (g_zmqn > 0 && g_zmq == NULL)) {
        fprintf(stderr, "usage: bench_intake --key K [--port P] [--zmq EP --zmq-clients Z] [--http H]"
                        " [--threads T] [--duration S] [--rate R]\n");
        return 2;
    }
    g_zctx = zmq_ctx_new();
    worker_t *ws = calloc((size_t)g_threads, sizeof(worker_t));
    g_t0 = now_s() + 0.2;
    for (int i = 0; i < g_threads; i++) {
        ws[i].id = i;
        ws[i].seed = 12345u + (unsigned)i;
        pthread_create(&ws[i].th, NULL, run, &ws[i]);
    }
    long ok = 0, errors = 0;
    size_t total = 0;
    for (int i = 0; i < g_threads; i++) {
        pthread_join(ws[i].th, NULL);
        ok += ws[i].ok;
        errors += ws[i].errors;
        total += ws[i].nlat;
    }
    double secs = now_s() - g_t0;
    double *all = malloc((total ? total : 1) * sizeof(double));
    size_t o = 0;
    for (int i = 0; i < g_threads; i++) {
        memcpy(all + o, ws[i].lat, ws[i].nlat * sizeof(double));
        o += ws[i].nlat;
        free(ws[i].lat);
    }
    qsort(all, total, sizeof(double), cmp);
#define PCT(p) (total ? all[(size_t)((double)(total - 1) * (p))] : 0)
    printf("ok=%ld errors=%ld seconds=%.2f rps=%.0f p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f\n", ok, errors,
           secs, ok / secs, PCT(0.5), PCT(0.99), PCT(0.999));
    free(all);
    free(ws);
    zmq_ctx_term(g_zctx);
    return 0;
}
