/* intake_limits: token buckets. One per gateway (rate and burst from the
 * gateways table) and one per reporter pseudonym (keyed phone hash), so that
 * one flooding gateway or one abusive phone number cannot crowd out others.
 * Buckets live in this intake process: with several intake processes behind
 * a balancer each enforces its share. */
#ifndef INTAKE_LIMITS_H
#define INTAKE_LIMITS_H

#include <stdint.h>

#include "antt_crypto.h"

typedef struct intake_bucket_s {
    double tokens;   /* tokens available */
    int64_t last_ms; /* last refill */
} intake_bucket_t;

/* Takes one token from b (rate tokens/s, at most burst). Returns 0 when
 * taken, else the whole seconds after which one will be there (>= 1). */
int intake_bucket_take(intake_bucket_t *b, double rate, double burst, int64_t now_ms);

typedef struct intake_reporters_s intake_reporters_t;

/* A table of reporter buckets with room for capacity (a power of two)
 * reporters; when full, the least recently used of the probed slots is
 * reused. */
intake_reporters_t *intake_reporters_new(unsigned capacity, double per_hour, double burst);
void intake_reporters_destroy(intake_reporters_t **self_p);
/* As intake_bucket_take, for the reporter with this pseudonym coming
 * through this gateway. Each gateway has its own bucket of a phone number:
 * a gateway cannot spend another's reporter's quota, nor learn from its
 * 429 how often that number reported elsewhere. */
int intake_reporters_take(intake_reporters_t *self, int gateway, const uint8_t hash[ANTT_HASH_BYTES],
                          int64_t now_ms);
/* Returns the token a report took when it turned out to be a retry of one
 * already stored (a retry costs the reporter nothing). A reporter no
 * longer in the table is left alone. */
void intake_reporters_give_back(intake_reporters_t *self, int gateway, const uint8_t hash[ANTT_HASH_BYTES]);

#endif
