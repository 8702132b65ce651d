/* antt_stub: a service that connects and logs. */
#include "antt_stub.h"

#include <stdio.h>
#include <string.h>

#include "antt_bus.h"
#include "antt_db.h"
#include "antt_log.h"
#include "antt_metrics.h"
#include "antt_service.h"

typedef struct s_stub {
    antt_db_t *db;          /* for readiness */
    antt_bus_t *pull;       /* optional input */
    antt_metric_t *m_seen;  /* messages received */
} s_stub_t;

static int s_ready(void *arg, char *why, size_t whylen)
{
    s_stub_t *s = arg;
    if (!antt_db_connected(s->db)) {
        snprintf(why, whylen, "database not connected");
        return 0;
    }
    return 1;
}

static void s_on_msg(antt_bus_t *bus, zmq_msg_t *frames, size_t n, void *arg)
{
    s_stub_t *s = arg;
    (void)bus;
    (void)frames;
    (void)n;
    antt_metric_inc(s->m_seen);
    double v = antt_metric_value(s->m_seen);
    if (v == 1 || (long)v % 1000 == 0)
        ANTT_LOG(ANTT_INFO, "stub received messages=%.0f (not yet acted on)", v);
}

static void s_on_stop(antt_service_t *svc, void *arg)
{
    s_stub_t *s = arg;
    (void)svc;
    antt_bus_close(s->pull, NULL, NULL);
    antt_db_close(s->db, NULL, NULL);
}

int antt_stub_main(const char *name, const char *pull_key, int argc, char **argv)
{
    antt_service_t svc;
    s_stub_t s;
    memset(&s, 0, sizeof(s));
    if (antt_service_init(&svc, name, argc, argv) != 0)
        return 1;
    s.m_seen = antt_metrics_counter("antt_stub_messages_total", "Messages received by a stub service", NULL);
    s.db = antt_db_new(&svc.loop, svc.conninfo, "main");
    antt_db_start(s.db);
    const char *ep = pull_key ? antt_config_get(svc.cfg, pull_key, NULL) : NULL;
    if (ep && *ep) {
        s.pull = antt_bus_new(&svc.loop, svc.zctx, ZMQ_PULL, 0, s_on_msg, &s);
        if (antt_bus_connect(s.pull, ep) != 0 || antt_bus_start(s.pull) != 0)
            return 1;
    }
    ANTT_LOG(ANTT_INFO, "%s runs as a stub until its issue lands", name);
    antt_http_set_ready_cb(svc.http, s_ready, &s);
    antt_service_on_stop(&svc, s_on_stop, &s);
    return antt_service_run(&svc);
}
