/* antt_metrics: a process-wide registry of counters, gauges and histograms
 * rendered in the Prometheus text exposition format (version 0.0.4) for
 * GET /metrics. Metrics are registered once at start and updated from the
 * service's loop thread only. */
#ifndef ANTT_METRICS_H
#define ANTT_METRICS_H

#include <stddef.h>

typedef struct antt_metric_s antt_metric_t;

/* Registers a metric. name must be a valid Prometheus name, labels either
 * NULL or a rendered label list without braces ('desk="BT-ANLAC"'). Several
 * metrics may share a name with different labels (same type and help).
 * Returns a handle owned by the registry; never NULL. */
antt_metric_t *antt_metrics_counter(const char *name, const char *help, const char *labels);
antt_metric_t *antt_metrics_gauge(const char *name, const char *help, const char *labels);
/* bounds: ascending upper bounds of the buckets (+Inf is implicit); copied. */
antt_metric_t *antt_metrics_histogram(const char *name, const char *help, const char *labels,
                                      const double *bounds, size_t nbounds);

void antt_metric_inc(antt_metric_t *m);
void antt_metric_add(antt_metric_t *m, double v);
void antt_metric_set(antt_metric_t *m, double v);
void antt_metric_observe(antt_metric_t *m, double v);
double antt_metric_value(const antt_metric_t *m);

/* Sets the one function called (on the loop thread) before each render, to
 * bring in values kept elsewhere, e.g. by another thread. NULL removes it. */
typedef void (*antt_metrics_collect_cb)(void *arg);
void antt_metrics_collector(antt_metrics_collect_cb cb, void *arg);
/* Renders every metric; the caller frees the returned string. */
char *antt_metrics_render(size_t *len);
/* Frees the registry (at exit, so that leak checkers stay quiet). */
void antt_metrics_reset(void);

/* Buckets in seconds suited to latencies from 100 us to 10 s. */
extern const double antt_latency_buckets[];
extern const size_t antt_latency_nbuckets;

#endif
