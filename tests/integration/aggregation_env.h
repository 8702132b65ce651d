/* aggregation_env: the stack of aggregation's integration tests (see
 * aggregation_env.c): antt-aggregation on a test database of its own, read
 * as staff with a dashboard token of the city, over HTTP, its trend PUB
 * and its snapshot ROUTER. */
#ifndef AGGREGATION_ENV_H
#define AGGREGATION_ENV_H

#include <stdint.h>

#include <libpq-fe.h>

#include "antt_test.h"

#define AE_DISTRICT "VN-HCM-BTA"
#define AE_TOKEN "antt_s_test-aggregation-staff"

typedef struct ae_env {
    char *conninfo;
    PGconn *db;
    at_proc_t agg;
    int port;
    char pub_ep[64], snap_ep[64];
    char *envv[40];
    void *zctx, *sub, *dealer;
    int y;       /* last year: the tables' year Y */
    char ys[16], yps[16];
} ae_env_t;

extern ae_env_t AE;

/* The cmocka group's set-up and tear-down. */
int ae_setup(void **state);
int ae_teardown(void **state);
/* Starts (again) antt-aggregation and waits until it is ready. */
int ae_start(void);

/* n incidents of category in area in year (at_db_gen_incidents). */
void ae_gen(const char *area, const char *category, int year, int n, int step_h, int prio);
/* at_wait_until's condition: the trend queue is drained. */
int ae_queue_empty(void *arg);
/* GET path as staff: the body (caller frees), the status in *status. */
char *ae_get(const char *path, int *status);
/* at_wait_until's condition: GET path answers 200 with want in it. */
typedef struct ae_wait_body {
    const char *path;
    const char *want;
} ae_wait_body_t;
int ae_body_has(void *arg);
/* Reads TrendUpdates until one for key has count; 1 when found (its
 * sequence in *seq when seq). */
int ae_wait_update(const char *key, long count, int ms, int64_t *seq);
/* Asks for a snapshot; returns the count of key in it (-1 absent, -2 no
 * answer, -3 not a snapshot item) and the end's sequence, epoch (48 bytes)
 * and error (128 bytes). */
long ae_snapshot(const char *area, const char *period, const char *key, int64_t *seq, char *epoch, char *error);
/* A sample of the service's /metrics, or -1. */
long ae_metric(const char *name);

#endif
