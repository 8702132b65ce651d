/* antt_bus: one ZeroMQ socket driven by a libuv loop.
 *
 * ZMQ_FD is edge-triggered and only says "re-read ZMQ_EVENTS". The bus
 * watches it with a uv_poll_t (readable only, on every socket), re-checks
 * ZMQ_EVENTS from a uv_check_t on every loop iteration (a send or receive can
 * make the socket readable without a new edge), drains at most `budget`
 * messages per turn, and keeps a uv_idle_t running while a backlog remains so
 * that the loop does not block in epoll with messages waiting.
 *
 * One bus, one socket, one loop thread. */
#ifndef ANTT_BUS_H
#define ANTT_BUS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <zmq.h>
#include <protobuf-c/protobuf-c.h>

#define ANTT_BUS_MAX_FRAMES 16
/* Every socket sends a ZMTP PING each ANTT_BUS_HEARTBEAT_IVL_MS and drops a
 * connection whose peer has not answered for ANTT_BUS_HEARTBEAT_TIMEOUT_MS. */
#define ANTT_BUS_HEARTBEAT_IVL_MS 1000
#define ANTT_BUS_HEARTBEAT_TIMEOUT_MS 3000
/* A ZMTP handshake (greeting, CURVE, ZAP) not done within this is dropped:
 * an unauthenticated peer holds a connection for seconds, not 30. */
#define ANTT_BUS_HANDSHAKE_IVL_MS 5000

typedef struct antt_bus_s antt_bus_t;

/* Called on the loop thread for each complete multipart message. frames are
 * valid only during the call (the bus closes them afterwards); a callback that
 * wants to keep a frame moves it out with zmq_msg_move. */
typedef void (*antt_bus_recv_cb)(antt_bus_t *bus, zmq_msg_t *frames, size_t nframes, void *arg);
typedef void (*antt_bus_close_cb)(void *arg);

/* Creates a socket of zmq type on zctx, watched by loop. recv_cb may be NULL
 * for send-only sockets (incoming messages are then discarded). ZMQ_LINGER
 * is set to linger_ms, ZMQ_HANDSHAKE_IVL to ANTT_BUS_HANDSHAKE_IVL_MS and
 * ZMQ_MAXMSGSIZE to ANTT_ZONE_CONTROL_MAX (handshakes and subscriptions
 * only): a socket that receives messages says how large they may be with
 * antt_bus_set_maxmsg, or binds in a zone (antt_service_bind). Returns NULL
 * and sets errno on failure. */
antt_bus_t *antt_bus_new(uv_loop_t *loop, void *zctx, int type, int linger_ms,
                         antt_bus_recv_cb recv_cb, void *arg);
/* The raw socket, for setsockopt/bind/connect. Borrowed. */
void *antt_bus_socket(antt_bus_t *bus);
/* Binds or connects; returns 0 or -errno. bind logs the endpoint. */
int antt_bus_bind(antt_bus_t *bus, const char *endpoint);
int antt_bus_connect(antt_bus_t *bus, const char *endpoint);
/* Starts watching the socket; call after bind/connect. Returns 0 or -errno. */
int antt_bus_start(antt_bus_t *bus);
/* Stops (paused = 1) or resumes receiving: while paused, messages wait in
 * ZeroMQ's queues, whose high-water mark then pushes back on the senders. */
void antt_bus_pause(antt_bus_t *bus, int paused);
/* Sets ZMQ_MAXMSGSIZE for the binds and connects that follow (each keeps
 * the value it was made with): a peer announcing a larger frame is
 * disconnected before any of it is buffered. */
void antt_bus_set_maxmsg(antt_bus_t *bus, int64_t bytes);
/* Sets how many messages are drained per loop turn (default 256). */
void antt_bus_set_budget(antt_bus_t *bus, int budget);

/* Sends one frame without blocking; more != 0 means more frames follow.
 * Returns 0, -EAGAIN when the high-water mark is reached (nothing sent), or
 * -errno. antt_bus_send copies data; antt_bus_send_owned takes a malloc'd
 * buffer and frees it (also on failure); antt_bus_send_msg moves msg. */
int antt_bus_send(antt_bus_t *bus, const void *data, size_t len, int more);
int antt_bus_send_owned(antt_bus_t *bus, void *data, size_t len, int more);
int antt_bus_send_msg(antt_bus_t *bus, zmq_msg_t *msg, int more);
/* Packs a protobuf-c message and sends it as one frame. */
int antt_bus_send_pb(antt_bus_t *bus, const ProtobufCMessage *m, int more);

/* Stops watching, closes the uv handles and, in the last close callback, the
 * socket; then calls cb (may be NULL) and frees the bus. Accepts NULL. */
void antt_bus_close(antt_bus_t *bus, antt_bus_close_cb cb, void *arg);

#endif
