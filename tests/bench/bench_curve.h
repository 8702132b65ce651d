/* bench_curve: the benchmarks' ZeroMQ clients speak CURVE like people's
 * tools do (antt_curve, "client" keys), with the keys of `antt keygen
 * --dir`'s client.env exported (run.sh does); bench_feed, which reads the
 * desk feed, speaks as aggregation (its zone admits no client key), with
 * aggregation.env. With ANTT_CURVE_ENABLED=false they stay plain. */
#ifndef BENCH_CURVE_H
#define BENCH_CURVE_H

#include <stdio.h>

#include "antt_config.h"
#include "antt_curve.h"

/* peer: "intake", "notification" or "aggregation"; self: whose keys
 * ("client", or a service). 0, or -1 after saying why (a key missing or
 * bad). */
static inline int bench_curve_as(void *sock, const char *peer, const char *self)
{
    antt_config_t *cfg = antt_config_new(); /* settings from the environment */
    antt_curve_t *c = NULL;
    char err[256];
    int rc = antt_curve_new(cfg, self, &c, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "bench: %s\n", err);
    else
        rc = antt_curve_client(c, sock, peer);
    antt_curve_destroy(&c);
    antt_config_destroy(&cfg);
    return rc == 0 ? 0 : -1;
}

static inline int bench_curve_client(void *sock, const char *peer)
{
    return bench_curve_as(sock, peer, "client");
}

#endif
