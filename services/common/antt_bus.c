/* antt_bus: ZeroMQ sockets on a libuv loop, ZMQ_FD edge-trigger done right. */
#include "antt_bus.h"

#include <assert.h>
#include <stddef.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "antt_log.h"
#include "antt_owner.h"
#include "antt_util.h"
#include "antt_zone.h"

struct antt_bus_s {
    uv_loop_t *loop;            /* the loop that owns the handles */
    void *sock;                 /* the ZeroMQ socket */
    uv_poll_t poll;             /* ZMQ_FD, readable edges */
    uv_check_t check;           /* re-checks ZMQ_EVENTS after every iteration */
    uv_idle_t idle;             /* keeps the loop spinning while a backlog remains */
    antt_bus_recv_cb recv_cb;   /* per message, may be NULL */
    void *arg;                  /* recv_cb argument */
    int budget;                 /* messages drained per turn */
    int paused;                 /* receiving paused by the owner (backpressure) */
    int started;                /* handles are active */
    int closing;                /* antt_bus_close was called */
    int open_handles;           /* uv handles not yet closed */
    antt_bus_close_cb close_cb; /* called when fully closed */
    void *close_arg;            /* close_cb argument */
    antt_owner_t owner;         /* the loop's stop walk closes the bus through it */
};

/* the stop walk's close: the service let go of the bus without closing it */
static void s_owner_close(antt_owner_t *o)
{
    antt_bus_close((antt_bus_t *)((char *)o - offsetof(antt_bus_t, owner)), NULL, NULL);
}

static void s_on_idle(uv_idle_t *h);

static void s_drain(antt_bus_t *bus)
{
    zmq_msg_t frames[ANTT_BUS_MAX_FRAMES];
    int budget = bus->budget;

    while (!bus->closing) {
        if (bus->paused) {
            uv_idle_stop(&bus->idle);
            return;
        }
        int events = 0;
        size_t sz = sizeof(events);
        if (zmq_getsockopt(bus->sock, ZMQ_EVENTS, &events, &sz) != 0 || !(events & ZMQ_POLLIN)) {
            uv_idle_stop(&bus->idle);
            return;
        }
        if (budget-- <= 0) {
            /* backlog left: come back next turn without blocking in epoll */
            uv_idle_start(&bus->idle, s_on_idle);
            return;
        }
        size_t n = 0;
        int more = 1, dropped = 0;
        while (more) {
            zmq_msg_t tmp, *m = n < ANTT_BUS_MAX_FRAMES ? &frames[n] : &tmp;
            zmq_msg_init(m);
            if (zmq_msg_recv(m, bus->sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(m);
                if (zmq_errno() != EAGAIN)
                    ANTT_LOG(ANTT_WARN, "could not receive from bus: %s", zmq_strerror(zmq_errno()));
                dropped = 1;
                break;
            }
            more = zmq_msg_more(m);
            if (m == &tmp) {
                zmq_msg_close(m);
                dropped = 1;
            } else {
                n++;
            }
        }
        if (dropped)
            ANTT_LOG(ANTT_WARN, "dropped malformed bus message frames=%zu", n);
        else if (bus->recv_cb)
            bus->recv_cb(bus, frames, n, bus->arg);
        for (size_t i = 0; i < n; i++)
            zmq_msg_close(&frames[i]);
    }
}

static void s_on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    s_drain(h->data);
}

static void s_on_check(uv_check_t *h)
{
    s_drain(h->data);
}

static void s_on_idle(uv_idle_t *h)
{
    s_drain(h->data);
}

antt_bus_t *antt_bus_new(uv_loop_t *loop, void *zctx, int type, int linger_ms,
                         antt_bus_recv_cb recv_cb, void *arg)
{
    void *sock = zmq_socket(zctx, type);
    if (sock == NULL)
        return NULL;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger_ms, sizeof(linger_ms));
    /* ZMTP heartbeats: a peer that stops answering (a paused or hung
     * process, a cut link) is dropped after ANTT_BUS_HEARTBEAT_TIMEOUT_MS, so
     * that PUSH stops routing to it and a SUB's publisher frees its queue */
    int ivl = ANTT_BUS_HEARTBEAT_IVL_MS, timeout = ANTT_BUS_HEARTBEAT_TIMEOUT_MS, ttl = 2 * ANTT_BUS_HEARTBEAT_TIMEOUT_MS;
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl));
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof(timeout));
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TTL, &ttl, sizeof(ttl));
    /* nothing of a peer is buffered beyond what the socket exists for, and
     * a handshake that does not finish soon is dropped (issue 14) */
    int64_t maxmsg = ANTT_ZONE_CONTROL_MAX;
    int handshake = ANTT_BUS_HANDSHAKE_IVL_MS;
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
    zmq_setsockopt(sock, ZMQ_HANDSHAKE_IVL, &handshake, sizeof(handshake));
    antt_bus_t *bus = antt_xcalloc(1, sizeof(*bus));
    bus->loop = loop;
    bus->sock = sock;
    bus->recv_cb = recv_cb;
    bus->arg = arg;
    bus->budget = 256;
    antt_owner_add(loop, &bus->owner, s_owner_close);
    return bus;
}

void *antt_bus_socket(antt_bus_t *bus)
{
    return bus->sock;
}

void antt_bus_pause(antt_bus_t *bus, int paused)
{
    bus->paused = paused;
    if (!paused && !bus->closing && uv_is_active((uv_handle_t *)&bus->check))
        uv_idle_start(&bus->idle, s_on_idle); /* drain what waited, without a new edge */
}

void antt_bus_set_maxmsg(antt_bus_t *bus, int64_t bytes)
{
    zmq_setsockopt(bus->sock, ZMQ_MAXMSGSIZE, &bytes, sizeof(bytes));
}

void antt_bus_set_budget(antt_bus_t *bus, int budget)
{
    assert(budget > 0);
    bus->budget = budget;
}

int antt_bus_bind(antt_bus_t *bus, const char *endpoint)
{
    if (zmq_bind(bus->sock, endpoint) != 0) {
        int e = zmq_errno();
        ANTT_LOG(ANTT_ERROR, "could not bind %s: %s", endpoint, zmq_strerror(e));
        return -e;
    }
    return 0;
}

int antt_bus_connect(antt_bus_t *bus, const char *endpoint)
{
    if (zmq_connect(bus->sock, endpoint) != 0) {
        int e = zmq_errno();
        ANTT_LOG(ANTT_ERROR, "could not connect %s: %s", endpoint, zmq_strerror(e));
        return -e;
    }
    return 0;
}

int antt_bus_start(antt_bus_t *bus)
{
    int fd;
    size_t sz = sizeof(fd);
    assert(!bus->started);
    if (zmq_getsockopt(bus->sock, ZMQ_FD, &fd, &sz) != 0)
        return -zmq_errno();
    int rc = uv_poll_init_socket(bus->loop, &bus->poll, fd);
    if (rc != 0)
        return rc;
    uv_check_init(bus->loop, &bus->check);
    uv_idle_init(bus->loop, &bus->idle);
    bus->poll.data = bus->check.data = bus->idle.data = bus;
    bus->open_handles = 3;
    bus->started = 1;
    uv_poll_start(&bus->poll, UV_READABLE, s_on_poll);
    uv_check_start(&bus->check, s_on_check);
    /* the check handle does not keep the loop alive by itself */
    uv_unref((uv_handle_t *)&bus->check);
    return 0;
}

static int s_send_err(void)
{
    int e = zmq_errno();
    return -(e ? e : EIO);
}

int antt_bus_send(antt_bus_t *bus, const void *data, size_t len, int more)
{
    if (zmq_send(bus->sock, data, len, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) < 0)
        return s_send_err();
    return 0;
}

static void s_free_data(void *data, void *hint)
{
    (void)hint;
    free(data);
}

int antt_bus_send_owned(antt_bus_t *bus, void *data, size_t len, int more)
{
    zmq_msg_t msg;
    if (zmq_msg_init_data(&msg, data, len, s_free_data, NULL) != 0) {
        free(data);
        return s_send_err();
    }
    return antt_bus_send_msg(bus, &msg, more);
}

int antt_bus_send_msg(antt_bus_t *bus, zmq_msg_t *msg, int more)
{
    if (zmq_msg_send(msg, bus->sock, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) < 0) {
        int rc = s_send_err();
        zmq_msg_close(msg);
        return rc;
    }
    return 0;
}

int antt_bus_send_pb(antt_bus_t *bus, const ProtobufCMessage *m, int more)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = antt_xmalloc(len ? len : 1);
    protobuf_c_message_pack(m, buf);
    return antt_bus_send_owned(bus, buf, len, more);
}

static void s_on_close(uv_handle_t *h)
{
    antt_bus_t *bus = h->data;
    if (--bus->open_handles > 0)
        return;
    zmq_close(bus->sock);
    if (bus->close_cb)
        bus->close_cb(bus->close_arg);
    free(bus);
}

void antt_bus_close(antt_bus_t *bus, antt_bus_close_cb cb, void *arg)
{
    if (bus == NULL)
        return;
    assert(!bus->closing);
    bus->closing = 1;
    antt_owner_remove(&bus->owner);
    bus->close_cb = cb;
    bus->close_arg = arg;
    if (!bus->started) {
        zmq_close(bus->sock);
        if (cb)
            cb(arg);
        free(bus);
        return;
    }
    uv_close((uv_handle_t *)&bus->poll, s_on_close);
    uv_close((uv_handle_t *)&bus->check, s_on_close);
    uv_close((uv_handle_t *)&bus->idle, s_on_close);
}
