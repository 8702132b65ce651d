/* antt_metrics: registry and Prometheus text rendering. */
#include "antt_metrics.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "antt_util.h"

typedef enum { S_COUNTER, S_GAUGE, S_HISTOGRAM } s_kind_t;

struct antt_metric_s {
    s_kind_t kind;          /* counter, gauge or histogram */
    char *name;             /* metric family name */
    char *help;             /* HELP text */
    char *labels;           /* rendered labels without braces, or NULL */
    double value;           /* counter or gauge value; histogram sum */
    double *bounds;         /* histogram upper bounds */
    unsigned long long *bucket_counts; /* per bound, not cumulative */
    size_t nbounds;         /* number of bounds */
    unsigned long long count; /* histogram observation count */
    antt_metric_t *next;    /* registration order */
};

static antt_metric_t *s_head, *s_tail;
static antt_metrics_collect_cb s_collect;
static void *s_collect_arg;

void antt_metrics_collector(antt_metrics_collect_cb cb, void *arg)
{
    s_collect = cb;
    s_collect_arg = arg;
}

const double antt_latency_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                       0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5,
                                       5,      10};
const size_t antt_latency_nbuckets = ANTT_ARRAY_SIZE(antt_latency_buckets);

static antt_metric_t *s_register(s_kind_t kind, const char *name, const char *help,
                                 const char *labels)
{
    antt_metric_t *m = antt_xcalloc(1, sizeof(*m));
    m->kind = kind;
    m->name = antt_xstrdup(name);
    m->help = antt_xstrdup(help);
    m->labels = labels && *labels ? antt_xstrdup(labels) : NULL;
    if (s_tail)
        s_tail->next = m;
    else
        s_head = m;
    s_tail = m;
    return m;
}

antt_metric_t *antt_metrics_counter(const char *name, const char *help, const char *labels)
{
    return s_register(S_COUNTER, name, help, labels);
}

antt_metric_t *antt_metrics_gauge(const char *name, const char *help, const char *labels)
{
    return s_register(S_GAUGE, name, help, labels);
}

antt_metric_t *antt_metrics_histogram(const char *name, const char *help, const char *labels,
                                      const double *bounds, size_t nbounds)
{
    antt_metric_t *m = s_register(S_HISTOGRAM, name, help, labels);
    m->bounds = antt_xmalloc(nbounds * sizeof(double));
    memcpy(m->bounds, bounds, nbounds * sizeof(double));
    m->bucket_counts = antt_xcalloc(nbounds + 1, sizeof(unsigned long long));
    m->nbounds = nbounds;
    return m;
}

void antt_metric_inc(antt_metric_t *m)
{
    m->value += 1;
}

void antt_metric_add(antt_metric_t *m, double v)
{
    assert(m->kind != S_COUNTER || v >= 0);
    m->value += v;
}

void antt_metric_set(antt_metric_t *m, double v)
{
    assert(m->kind == S_GAUGE);
    m->value = v;
}

void antt_metric_observe(antt_metric_t *m, double v)
{
    assert(m->kind == S_HISTOGRAM);
    size_t i = 0;
    while (i < m->nbounds && v > m->bounds[i])
        i++;
    m->bucket_counts[i]++;
    m->count++;
    m->value += v;
}

double antt_metric_value(const antt_metric_t *m)
{
    return m->kind == S_HISTOGRAM ? (double)m->count : m->value;
}

static void s_num(antt_buf_t *b, double v)
{
    if (isinf(v))
        antt_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        antt_buf_printf(b, "%.0f", v);
    else
        antt_buf_printf(b, "%.15g", v);
}

static void s_help(antt_buf_t *b, const char *help)
{
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            antt_buf_puts(b, "\\\\");
        else if (*p == '\n')
            antt_buf_puts(b, "\\n");
        else
            antt_buf_append(b, p, 1);
    }
}

static void s_render_one(antt_buf_t *b, const antt_metric_t *m)
{
    const char *l = m->labels;
    if (m->kind != S_HISTOGRAM) {
        antt_buf_puts(b, m->name);
        if (l)
            antt_buf_printf(b, "{%s}", l);
        antt_buf_puts(b, " ");
        s_num(b, m->value);
        antt_buf_puts(b, "\n");
        return;
    }
    unsigned long long cum = 0;
    for (size_t i = 0; i <= m->nbounds; i++) {
        cum += m->bucket_counts[i];
        antt_buf_printf(b, "%s_bucket{%s%sle=\"", m->name, l ? l : "", l ? "," : "");
        s_num(b, i < m->nbounds ? m->bounds[i] : INFINITY);
        antt_buf_printf(b, "\"} %llu\n", cum);
    }
    antt_buf_printf(b, "%s_sum%s%s%s ", m->name, l ? "{" : "", l ? l : "", l ? "}" : "");
    s_num(b, m->value);
    antt_buf_printf(b, "\n%s_count%s%s%s %llu\n", m->name, l ? "{" : "", l ? l : "",
                    l ? "}" : "", m->count);
}

char *antt_metrics_render(size_t *len)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    antt_buf_t b;
    antt_buf_init(&b);
    if (s_collect)
        s_collect(s_collect_arg);
    /* families are rendered together: HELP and TYPE once, then every series */
    for (antt_metric_t *m = s_head; m; m = m->next) {
        int seen = 0;
        for (antt_metric_t *p = s_head; p != m; p = p->next)
            if (strcmp(p->name, m->name) == 0) {
                seen = 1;
                break;
            }
        if (seen)
            continue;
        antt_buf_printf(&b, "# HELP %s ", m->name);
        s_help(&b, m->help);
        antt_buf_printf(&b, "\n# TYPE %s %s\n", m->name, types[m->kind]);
        for (antt_metric_t *p = m; p; p = p->next)
            if (strcmp(p->name, m->name) == 0)
                s_render_one(&b, p);
    }
    return antt_buf_steal(&b, len);
}

void antt_metrics_reset(void)
{
    antt_metric_t *m = s_head;
    while (m) {
        antt_metric_t *next = m->next;
        free(m->name);
        free(m->help);
        free(m->labels);
        free(m->bounds);
        free(m->bucket_counts);
        free(m);
        m = next;
    }
    s_head = s_tail = NULL;
    s_collect = NULL;
    s_collect_arg = NULL;
}
