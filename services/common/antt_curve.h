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
 * Each bound socket has a zone (antt_zone: its ZAP domain) that says whose
 * keys it admits: intake's PUSH and the classified SUBs the classification
 * workers, the desk feed aggregation, triage and the trend feed the
 * curve.clients keys, the gateway ROUTER registered gateways and
 * curve.clients. Any other key, a service's too, is refused there.
 * The ZAP handler answers with a User-Id: "service:<name>", "client" or
 * "gateway:<code>", which a receiver reads with zmq_msg_gets(m, "User-Id").
 *
 * curve.enabled (default true) turns all of it on; false is for tests of a
 * single service and for a machine whose sockets are all inproc or ipc. */
#ifndef ANTT_CURVE_H
#define ANTT_CURVE_H

#include <stddef.h>

#include "antt_config.h"
#include "antt_zone.h"

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

/* Makes sock a CURVE server admitting zone (its ZAP domain); before bind.
 * c NULL: does nothing. Returns 0 or -errno. */
int antt_curve_server(const antt_curve_t *c, void *sock, antt_zone_id_t zone);
/* Makes the next connect of sock a CURVE client of the service peer
 * ("intake", ...). The key is taken at connect time, so one socket may
 * connect to several services with a call before each connect. c NULL:
 * does nothing. Returns 0, or -EINVAL when peer's public key is unknown. */
int antt_curve_client(const antt_curve_t *c, void *sock, const char *peer);

/* Replaces the gateways admitted in ANTT_ZONE_GATEWAYS: n Z85 public keys
 * and their gateway codes (copied). Any thread. Keys that are not Z85 are
 * skipped. Returns how many keys admitted before are no longer admitted
 * for the same gateway (removed, rotated, disabled): the sessions they
 * opened are to be ended by the socket's owner. */
size_t antt_curve_set_gateways(antt_curve_t *c, const char *const *keys, const char *const *codes, size_t n);
/* Counts one refused handshake that the ZAP handler never saw (a peer
 * without CURVE, a broken or timed-out handshake). Any thread. */
void antt_curve_count_refused(antt_curve_t *c);

/* The handshakes the ZAP handler admitted and refused since the start. Any
 * thread. c NULL: zeros. */
void antt_curve_counts(const antt_curve_t *c, unsigned long *admitted, unsigned long *refused);

/* A new keypair, Z85, into pub and sec (ANTT_CURVE_KEY_LEN + 1 each). 0 or -EIO. */
int antt_curve_keypair(char *pub, char *sec);
/* 1 when text is a Z85 key of 40 characters. */
int antt_curve_key_valid(const char *text);

#endif
