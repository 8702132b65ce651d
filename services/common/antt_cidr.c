/* antt_cidr: see antt_cidr.h. */
#include "antt_cidr.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_util.h"

typedef struct s_block {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* network */
    int bits;         /* prefix length */
} s_block_t;

struct antt_cidr_list_s {
    s_block_t *b;
    size_t n;
};

static int s_prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

antt_cidr_list_t *antt_cidr_parse(const char *text, char *err, size_t errlen)
{
    antt_cidr_list_t *l = antt_xcalloc(1, sizeof(*l));
    char *copy = antt_xstrdup(text ? text : ""), *save = NULL;
    for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        s_block_t blk = {0};
        char *slash = strchr(t, '/');
        if (slash)
            *slash = '\0';
        blk.family = strchr(t, ':') ? AF_INET6 : AF_INET;
        int max = blk.family == AF_INET ? 32 : 128;
        char *end = NULL;
        long bits = slash ? strtol(slash + 1, &end, 10) : max;
        if (inet_pton(blk.family, t, blk.addr) != 1 || (slash && (*end != '\0' || end == slash + 1)) || bits < 0 ||
            bits > max) {
            snprintf(err, errlen, "%s%s%s is not an address block (a.b.c.d/n or an IPv6 address/n)", t,
                     slash ? "/" : "", slash ? slash + 1 : "");
            free(copy);
            antt_cidr_destroy(&l);
            return NULL;
        }
        blk.bits = (int)bits;
        l->b = antt_xrealloc(l->b, (l->n + 1) * sizeof(*l->b));
        l->b[l->n++] = blk;
    }
    free(copy);
    return l;
}

void antt_cidr_destroy(antt_cidr_list_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    free((*self_p)->b);
    free(*self_p);
    *self_p = NULL;
}

int antt_cidr_match(const antt_cidr_list_t *l, const char *addr)
{
    uint8_t a4[4], a6[16];
    int is4 = inet_pton(AF_INET, addr, a4) == 1, is6 = !is4 && inet_pton(AF_INET6, addr, a6) == 1;
    if (is6 && memcmp(a6, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) { /* IPv4-mapped */
        memcpy(a4, a6 + 12, 4);
        is4 = 1;
        is6 = 0;
    }
    for (size_t i = 0; l && i < l->n; i++) {
        const s_block_t *b = &l->b[i];
        if ((b->family == AF_INET && is4 && s_prefix_match(a4, b->addr, b->bits)) ||
            (b->family == AF_INET6 && is6 && s_prefix_match(a6, b->addr, b->bits)))
            return 1;
    }
    return 0;
}
