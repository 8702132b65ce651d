/* bench_feed: subscribes to notification's desk feeds for SECONDS and
 * measures, for each incident update caused by a report (created, or +1
 * report), the time from intake receiving the report (received_at_ms in the
 * message) to the message arriving here. Each update is counted once, on the
 * topic of its own desk (the desks above get copies). Same machine, same
 * clock. Prints: updates=N p50_ms=… p99_ms=… p999_ms=… max_ms=…
 *
 * usage: bench_feed FEED_ENDPOINT SECONDS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <zmq.h>

#include "antt/v1/incident.pb-c.h"

#include "bench_curve.h"

static long long s_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int s_cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_feed FEED_ENDPOINT SECONDS\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    int hwm = 0; /* measure, do not drop */
    zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "desk.", 5);
    if (bench_curve_as(sub, "notification", "aggregation") != 0 || zmq_connect(sub, argv[1]) != 0) {
        fprintf(stderr, "bench_feed: cannot connect %s\n", argv[1]);
        return 1;
    }
    long long end = s_now_ms() + 1000LL * atoi(argv[2]);
    size_t n = 0, cap = 1 << 16;
    long long *lat = malloc(cap * sizeof(*lat));
    printf("ready\n");
    fflush(stdout);
    while (s_now_ms() < end) {
        zmq_pollitem_t pi = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&pi, 1, 100) <= 0)
            continue;
        zmq_msg_t t, b;
        zmq_msg_init(&t);
        zmq_msg_init(&b);
        zmq_msg_recv(&t, sub, 0);
        zmq_msg_recv(&b, sub, 0);
        long long now = s_now_ms();
        Antt__V1__IncidentUpdate *u = antt__v1__incident_update__unpack(NULL, zmq_msg_size(&b), zmq_msg_data(&b));
        if (u && u->has_received_at_ms && u->received_at_ms > 0 && u->desk_code) {
            char own[160];
            snprintf(own, sizeof(own), "desk.%s.", u->desk_code);
            if (zmq_msg_size(&t) == strlen(own) && !memcmp(zmq_msg_data(&t), own, strlen(own))) {
                if (n == cap)
                    lat = realloc(lat, (cap *= 2) * sizeof(*lat));
                lat[n++] = now - u->received_at_ms;
            }
        }
        if (u)
            antt__v1__incident_update__free_unpacked(u, NULL);
        zmq_msg_close(&t);
        zmq_msg_close(&b);
    }
    qsort(lat, n, sizeof(*lat), s_cmp);
    long long p50 = n ? lat[n / 2] : 0, p99 = n ? lat[(size_t)((double)n * 0.99)] : 0,
              p999 = n ? lat[(size_t)((double)n * 0.999)] : 0, max = n ? lat[n - 1] : 0;
    printf("updates=%zu p50_ms=%lld p99_ms=%lld p999_ms=%lld max_ms=%lld\n", n, p50, p99, p999, max);
    free(lat);
    zmq_close(sub);
    zmq_ctx_term(ctx);
    return 0;
}
