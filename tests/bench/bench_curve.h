/* bench_curve: the benchmarks' ZeroMQ clients speak CURVE like people's
 * tools do, with the keys `antt keygen --env` exported (run.sh does): the
 * client secret (ANTT_KEYS_CLIENT_CURVE_SECRET) and the public key of the
 * service connected to. Without a client secret, or with
 * ANTT_CURVE_ENABLED=false, the socket stays plain. */
#ifndef BENCH_CURVE_H
#define BENCH_CURVE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

/* service: "INTAKE", "NOTIFICATION" or "AGGREGATION". 0, or -1 when a key
 * is missing or bad (say so and stop). */
static inline int bench_curve_client(void *sock, const char *service)
{
    const char *on = getenv("ANTT_CURVE_ENABLED"), *sec = getenv("ANTT_KEYS_CLIENT_CURVE_SECRET");
    if ((on && (!strcmp(on, "false") || !strcmp(on, "0"))) || sec == NULL)
        return 0;
    char var[64], pub[41];
    snprintf(var, sizeof(var), "ANTT_KEYS_%s_CURVE_PUBLIC", service);
    const char *srv = getenv(var);
    if (srv == NULL || strlen(sec) != 40 || zmq_curve_public(pub, sec) != 0) {
        fprintf(stderr, "bench: CURVE keys missing or bad (%s, ANTT_KEYS_CLIENT_CURVE_SECRET)\n", var);
        return -1;
    }
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, srv, 40);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, 40);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, 40);
    return 0;
}

#endif
