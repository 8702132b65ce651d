/* antt_service_bind: the sockets a service binds, each in its zone
 * (antt_zone: ZMQ_MAXMSGSIZE and the CURVE keys it admits), watched for
 * the handshakes that fail before the ZAP handler is asked (counted with
 * its refusals), and listening again on demand to end every session a
 * revoked key holds; and the sockets it connects. */
#include "antt_service.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "antt_bus.h"
#include "antt_curve.h"
#include "antt_log.h"
#include "antt_settings.h"
#include "antt_util.h"

typedef struct s_watch {
    antt_service_t *svc;             /* whose ZAP counts */
    antt_bus_t *mon;                 /* the monitor's PAIR */
    antt_service_handshake_cb cb;    /* admitted peers, may be NULL */
    void *arg;                       /* cb argument */
} s_watch_t;

/* A monitor event: the event id and value, then the endpoint. Handshakes
 * that fail before ZAP answers are refusals the ZAP handler never saw. */
static void s_on_monitor(antt_bus_t *bus, zmq_msg_t *frames, size_t n, void *arg)
{
    (void)bus;
    s_watch_t *w = arg;
    if (n < 1 || zmq_msg_size(&frames[0]) < 6)
        return;
    uint16_t id;
    memcpy(&id, zmq_msg_data(&frames[0]), sizeof(id));
    if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && w->cb)
        w->cb(w->arg);
    else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL || id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        antt_curve_count_refused(w->svc->curve);
}

static void s_watch_closed(void *arg)
{
    free(arg);
}

/* Watches sock's handshakes on the loop (a PAIR of its own, closed at stop). */
static int s_watch(antt_service_t *svc, void *sock, antt_service_handshake_cb cb, void *arg)
{
    if (svc->curve == NULL && cb == NULL)
        return 0; /* nothing to count, nobody to tell */
    if (svc->nmonitors >= ANTT_SERVICE_MAX_BINDS) {
        ANTT_LOG(ANTT_ERROR, "more than %d bound sockets", ANTT_SERVICE_MAX_BINDS);
        return -1;
    }
    char inproc[64];
    snprintf(inproc, sizeof(inproc), "inproc://antt-monitor-%d", svc->nmonitors);
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                 (cb ? ZMQ_EVENT_HANDSHAKE_SUCCEEDED : 0);
    s_watch_t *w = antt_xcalloc(1, sizeof(*w));
    w->svc = svc;
    w->cb = cb;
    w->arg = arg;
    antt_bus_t *mon = NULL;
    if (zmq_socket_monitor(sock, inproc, events) != 0 ||
        (mon = antt_bus_new(&svc->loop, svc->zctx, ZMQ_PAIR, 0, s_on_monitor, w)) == NULL ||
        antt_bus_connect(mon, inproc) != 0 || antt_bus_start(mon) != 0) {
        ANTT_LOG(ANTT_ERROR, "could not watch the handshakes of a bound socket: %s", zmq_strerror(zmq_errno()));
        antt_bus_close(mon, s_watch_closed, w);
        if (mon == NULL)
            free(w);
        return -1;
    }
    w->mon = mon;
    svc->monitors[svc->nmonitors++] = w;
    return 0;
}

static void s_close_monitors(antt_service_t *svc)
{
    for (int i = 0; i < svc->nmonitors; i++) {
        s_watch_t *w = svc->monitors[i];
        /* the watch is the bus's recv argument: freed once the bus is */
        antt_bus_close(w->mon, s_watch_closed, w);
        svc->monitors[i] = NULL;
    }
    svc->nmonitors = 0;
}

/* The endpoint of key: its table's checked value (or default), or the
 * config's value or def for a key no table declares. */
static const char *s_endpoint(antt_service_t *svc, const char *key, const char *def)
{
    const antt_settings_t *sets[] = {&antt_service_settings, svc->own};
    return antt_settings_find(sets, 2, key) ? antt_service_setting(svc, key) : antt_config_get(svc->cfg, key, def);
}

int antt_service_bind(antt_service_t *svc, antt_bus_t *bus, const char *key, const char *def, antt_zone_id_t zone,
                      antt_service_handshake_cb on_handshake, void *arg)
{
    const char *ep = s_endpoint(svc, key, def);
    antt_bus_set_maxmsg(bus, antt_zone_get(zone)->maxmsg);
    if (antt_curve_server(svc->curve, antt_bus_socket(bus), zone) != 0 || ep == NULL || !*ep ||
        s_watch(svc, antt_bus_socket(bus), on_handshake, arg) != 0 || antt_bus_bind(bus, ep) != 0) {
        ANTT_LOG(ANTT_ERROR, "could not bind %s (%s)", key, ep ? ep : "unset");
        return -1;
    }
    return antt_bus_start(bus);
}

typedef struct s_rebind {
    uv_timer_t timer;      /* retries until the old listener let go */
    antt_service_t *svc;   /* owner */
    void *sock;            /* the bound socket */
    char ep[256];          /* its endpoint */
    int tries;             /* so far */
} s_rebind_t;

static void s_rebind_closed(uv_handle_t *h)
{
    free(h->data);
}

static void s_rebind_end(s_rebind_t *r)
{
    r->svc->rebinding = NULL;
    uv_close((uv_handle_t *)&r->timer, s_rebind_closed);
}

/* The old listener closes on ZeroMQ's I/O thread: until it has, the port
 * is taken. Tried every 10 ms, for 5 s. */
static void s_rebind_try(uv_timer_t *t)
{
    s_rebind_t *r = t->data;
    if (zmq_bind(r->sock, r->ep) == 0) {
        ANTT_LOG(ANTT_INFO, "listening again endpoint=%s tries=%d", r->ep, r->tries + 1);
        s_rebind_end(r);
        return;
    }
    if (zmq_errno() != EADDRINUSE || ++r->tries >= 500) {
        ANTT_LOG(ANTT_ERROR, "could not listen again on %s: %s", r->ep, zmq_strerror(zmq_errno()));
        s_rebind_end(r);
    }
}

int antt_service_rebind(antt_service_t *svc, antt_bus_t *bus, const char *key, const char *def)
{
    const char *ep = s_endpoint(svc, key, def);
    if (svc->stopping || ep == NULL || !*ep)
        return -1;
    if (svc->rebinding) /* unbound now: whoever connects meets the ZAP handler of today */
        return 0;
    void *sock = antt_bus_socket(bus);
    /* the endpoint as bound (a port chosen by the system stays the same) */
    char bound[256];
    size_t blen = sizeof(bound);
    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, bound, &blen) == 0 && blen > 1)
        ep = bound;
    /* zmq_unbind ends the sessions the listener accepted, with it */
    if (zmq_unbind(sock, ep) != 0) {
        ANTT_LOG(ANTT_ERROR, "could not end the sessions on %s: %s", ep, zmq_strerror(zmq_errno()));
        return -1;
    }
    s_rebind_t *r = antt_xcalloc(1, sizeof(*r));
    r->svc = svc;
    r->sock = sock;
    snprintf(r->ep, sizeof(r->ep), "%s", ep);
    uv_timer_init(&svc->loop, &r->timer);
    r->timer.data = r;
    svc->rebinding = r;
    uv_timer_start(&r->timer, s_rebind_try, 0, 10);
    return 0;
}

int antt_service_connect(antt_service_t *svc, antt_bus_t *bus, const char *endpoint, const char *peer)
{
    if (antt_curve_client(svc->curve, antt_bus_socket(bus), peer) != 0 || antt_bus_connect(bus, endpoint) != 0) {
        ANTT_LOG(ANTT_ERROR, "could not connect to %s at %s", peer, endpoint);
        return -1;
    }
    return 0;
}

void antt_service_stop_binds(antt_service_t *svc)
{
    if (svc->rebinding)
        s_rebind_end(svc->rebinding);
    s_close_monitors(svc);
}
