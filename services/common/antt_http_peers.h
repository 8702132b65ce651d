/* antt_http_peers: open connections counted per client address, so that
 * one address cannot take a listener's every connection
 * (http.max_per_address). An IPv4 address counts as itself; an IPv6
 * address by its /64, the block one subscriber is given, so that a client
 * cannot step round the cap by changing the low bits. */
#ifndef ANTT_HTTP_PEERS_H
#define ANTT_HTTP_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

typedef struct antt_http_peers_s antt_http_peers_t;
typedef struct antt_http_peer_s antt_http_peer_t;

antt_http_peers_t *antt_http_peers_new(void);
void antt_http_peers_destroy(antt_http_peers_t **self_p);
/* Counts a new connection from sa: its address's entry (to give back to
 * antt_http_peers_leave), or NULL when that address already holds max
 * connections (max 0: no cap; an address that is neither IPv4 nor IPv6
 * is counted under one shared entry). */
antt_http_peer_t *antt_http_peers_enter(antt_http_peers_t *p, const struct sockaddr *sa, size_t max);
/* The connection has closed. */
void antt_http_peers_leave(antt_http_peers_t *p, antt_http_peer_t *e);
/* Addresses holding at least one connection. */
size_t antt_http_peers_count(const antt_http_peers_t *p);

#endif
