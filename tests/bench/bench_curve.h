/* bench_curve: the benchmarks' ZeroMQ clients speak CURVE like people's
 * tools do (antt_curve, "client" keys), with the keys `antt keygen --env`
 * exported (run.sh does); with ANTT_CURVE_ENABLED=false they stay plain. */
#ifndef BENCH_CURVE_H
#define BENCH_CURVE_H

#include <stdio.h>

#include "antt_config.h"
#include "antt_curve.h"

/* peer: "intake", "notification" or "aggregation". 0, or -1 after saying
 * why (a key missing or bad). */
static inline int bench_curve_client(void *sock, const char *peer)
{
    antt_config_t *cfg = antt_config_new(); /* settings from the environment */
    antt_curve_t *c = NULL;
    char err[256];
    int rc = antt_curve_new(cfg, "client", &c, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "bench: %s\n", err);
    else
        rc = antt_curve_client(c, sock, peer);
    antt_curve_destroy(&c);
    antt_config_destroy(&cfg);
    return rc == 0 ? 0 : -1;
}

#endif
