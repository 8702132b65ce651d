/* antt_http_peers: see antt_http_peers.h. A chained hash table of the
 * addresses that hold connections; an entry goes when its last connection
 * closes, so the table never holds more entries than open connections. */
#include "antt_http_peers.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "antt_util.h"

#define P_BUCKETS 1024

struct antt_http_peer_s {
    uint8_t key[16];               /* IPv4 address, or an IPv6 /64, zero-padded */
    size_t n;                      /* its open connections */
    struct antt_http_peer_s *next; /* bucket chain */
};

struct antt_http_peers_s {
    antt_http_peer_t *bucket[P_BUCKETS];
    size_t count; /* entries */
};

antt_http_peers_t *antt_http_peers_new(void)
{
    return antt_xcalloc(1, sizeof(antt_http_peers_t));
}

void antt_http_peers_destroy(antt_http_peers_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    for (size_t i = 0; i < P_BUCKETS; i++)
        for (antt_http_peer_t *e = (*self_p)->bucket[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(*self_p);
    *self_p = NULL;
}

static void s_key(const struct sockaddr *sa, uint8_t key[16])
{
    memset(key, 0, 16);
    if (sa->sa_family == AF_INET) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, 12) == 0) { /* an IPv4 client on a dual-stack socket */
            key[0] = 4;
            memcpy(key + 1, a + 12, 4);
        } else {
            key[0] = 6;
            memcpy(key + 1, a, 8); /* the /64 */
        }
    }
}

static size_t s_hash(const uint8_t key[16])
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    return (size_t)(h % P_BUCKETS);
}

antt_http_peer_t *antt_http_peers_enter(antt_http_peers_t *p, const struct sockaddr *sa, size_t max)
{
    uint8_t key[16];
    s_key(sa, key);
    antt_http_peer_t **b = &p->bucket[s_hash(key)], *e = *b;
    while (e && memcmp(e->key, key, 16) != 0)
        e = e->next;
    if (e == NULL) {
        e = antt_xcalloc(1, sizeof(*e));
        memcpy(e->key, key, 16);
        e->next = *b;
        *b = e;
        p->count++;
    } else if (max && e->n >= max) {
        return NULL;
    }
    e->n++;
    return e;
}

void antt_http_peers_leave(antt_http_peers_t *p, antt_http_peer_t *e)
{
    if (e == NULL || --e->n > 0)
        return;
    antt_http_peer_t **b = &p->bucket[s_hash(e->key)];
    while (*b != e)
        b = &(*b)->next;
    *b = e->next;
    free(e);
    p->count--;
}

size_t antt_http_peers_count(const antt_http_peers_t *p)
{
    return p->count;
}
