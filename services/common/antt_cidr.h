/* antt_cidr: lists of address blocks ("127.0.0.0/8,::1/128,10.0.0.0/8"),
 * and whether a client's address is in one. */
#ifndef ANTT_CIDR_H
#define ANTT_CIDR_H

#include <stddef.h>

typedef struct antt_cidr_list_s antt_cidr_list_t;

/* Parses a comma-separated list of IPv4 or IPv6 blocks (an address alone is
 * its own block); "" is the empty list. NULL with a reason in err when a
 * block is not one. */
antt_cidr_list_t *antt_cidr_parse(const char *text, char *err, size_t errlen);
void antt_cidr_destroy(antt_cidr_list_t **self_p);
/* 1 when addr (text, as inet_ntop writes it) is in one of the list's blocks. */
int antt_cidr_match(const antt_cidr_list_t *l, const char *addr);

#endif
