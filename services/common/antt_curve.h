/* antt_curve: ZeroMQ CURVE between the services and for their clients, and
 * the ZAP handler that admits only known keys.
 *
 * Every service has a CURVE keypair (keys.<service>_curve_public and
 * keys.<service>_curve_secret, Z85). A socket a service binds is a CURVE
 * server with its own secret key; a socket it connects is a CURVE client
 * that names the service it connects to, whose public key it knows from the
 * same settings. People's tools (the antt CLI, consoles, dashboards) use a
 * client keypair (keys.client_curve_*), admitted when its public key is
 * listed in curve.clients; gateways use keypairs of their own, registered
 * with `antt gateway add --curve-public`.
 *
 * Each bound socket has a ZAP domain that says whom it admits:
 *   ANTT_CURVE_SERVICES  the four services' keys (intake's PUSH, the
 *                        classified SUBs)
 *   ANTT_CURVE_CLIENTS   services and curve.clients (desk feed, triage,
 *                        trend feed and snapshots)
 *   ANTT_CURVE_GATEWAYS  registered gateways and curve.clients (intake's
 *                        gateway ROUTER)
 * The ZAP handler answers with a User-Id: "service:<name>", "client" or
 * "gateway:<code>", which a receiver reads with zmq_msg_gets(m, "User-Id").
 *
 * curve.enabled (default true) turns all of it on; false is for tests of a
 * single service and for a machine whose sockets are all inproc or ipc. */
#ifndef ANTT_CURVE_H
#define ANTT_CURVE_H

#include <stddef.h>

#include "antt_config.h"

#define ANTT_CURVE_SERVICES "antt.services"
#define ANTT_CURVE_CLIENTS "antt.clients"
#define ANTT_CURVE_GATEWAYS "antt.gateways"
/* Z85 text of a 32-byte key, without its NUL */
#define ANTT_CURVE_KEY_LEN 40

typedef struct antt_curve_s antt_curve_t;

/* Reads curve.enabled and the keys from cfg for self (a service name, or
 * "client" for people's tools). Returns 0 with *out NULL when CURVE is off,
 * 0 with a new object when it is on, or -EINVAL after writing why into err
 * (a key missing or not Z85, a secret that does not match its public key). */
int antt_curve_new(const antt_config_t *cfg, const char *self, antt_curve_t **out, char *err, size_t errlen);
/* Stops the ZAP handler if it runs (its context must have been shut down
 * or terminated first), frees and nulls *self_p. Accepts NULL. */
void antt_curve_destroy(antt_curve_t **self_p);

/* Binds the ZAP handler (inproc://zeromq.zap.01) in zctx and starts its
 * thread; call before any server socket binds. The thread ends when zctx is
 * shut down (zmq_ctx_shutdown). c NULL: does nothing. Returns 0 or -errno. */
int antt_curve_start_zap(antt_curve_t *c, void *zctx);

/* Makes sock a CURVE server whose ZAP domain is one of ANTT_CURVE_*; before
 * bind. c NULL: does nothing. Returns 0 or -errno. */
int antt_curve_server(const antt_curve_t *c, void *sock, const char *domain);
/* Makes the next connect of sock a CURVE client of the service peer
 * ("intake", ...). The key is taken at connect time, so one socket may
 * connect to several services with a call before each connect. c NULL:
 * does nothing. Returns 0, or -EINVAL when peer's public key is unknown. */
int antt_curve_client(const antt_curve_t *c, void *sock, const char *peer);

/* Replaces the gateways admitted in ANTT_CURVE_GATEWAYS: n Z85 public keys
 * and their gateway codes (copied). Any thread. Keys that are not Z85 are
 * skipped. */
void antt_curve_set_gateways(antt_curve_t *c, const char *const *keys, const char *const *codes, size_t n);

/* The handshakes the ZAP handler admitted and refused since the start. Any
 * thread. c NULL: zeros. */
void antt_curve_counts(const antt_curve_t *c, unsigned long *admitted, unsigned long *refused);

/* A new keypair, Z85, into pub and sec (ANTT_CURVE_KEY_LEN + 1 each). 0 or -EIO. */
int antt_curve_keypair(char *pub, char *sec);
/* 1 when text is a Z85 key of 40 characters. */
int antt_curve_key_valid(const char *text);

#endif
