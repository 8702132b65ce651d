/* intake_limits: token buckets for gateways and reporters. */
#include "intake_limits.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "antt_util.h"

#define S_PROBES 8

int intake_bucket_take(intake_bucket_t *b, double rate, double burst, int64_t now_ms)
{
    if (b->last_ms == 0) {
        b->tokens = burst;
        b->last_ms = now_ms;
    }
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) / 1000.0 * rate;
        if (b->tokens > burst)
            b->tokens = burst;
        b->last_ms = now_ms;
    }
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    double wait = (1.0 - b->tokens) / rate;
    int s = (int)ceil(wait);
    return s < 1 ? 1 : s;
}

typedef struct s_slot {
    uint8_t hash[ANTT_HASH_BYTES]; /* reporter pseudonym */
    int gateway;                   /* the gateway the reporter came through */
    int used;                      /* slot holds a reporter */
    intake_bucket_t bucket;        /* their bucket */
} s_slot_t;

struct intake_reporters_s {
    s_slot_t *slots;  /* open addressing */
    unsigned mask;    /* capacity - 1 */
    double rate;      /* tokens per second */
    double burst;     /* bucket size */
};

intake_reporters_t *intake_reporters_new(unsigned capacity, double per_hour, double burst)
{
    intake_reporters_t *self = antt_xcalloc(1, sizeof(*self));
    unsigned cap = 64;
    while (cap < capacity)
        cap <<= 1;
    self->slots = antt_xcalloc(cap, sizeof(s_slot_t));
    self->mask = cap - 1;
    self->rate = per_hour / 3600.0;
    self->burst = burst;
    return self;
}

void intake_reporters_destroy(intake_reporters_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

/* The first slot a reporter of a gateway probes. */
static uint32_t s_start(int gateway, const uint8_t hash[ANTT_HASH_BYTES])
{
    uint32_t h;
    memcpy(&h, hash, sizeof(h)); /* a keyed hash: already uniform */
    return h ^ ((uint32_t)gateway * 0x9e3779b1u);
}

static int s_is(const s_slot_t *s, int gateway, const uint8_t hash[ANTT_HASH_BYTES])
{
    return s->used && s->gateway == gateway && memcmp(s->hash, hash, ANTT_HASH_BYTES) == 0;
}

void intake_reporters_give_back(intake_reporters_t *self, int gateway, const uint8_t hash[ANTT_HASH_BYTES])
{
    uint32_t h = s_start(gateway, hash);
    for (unsigned i = 0; i < S_PROBES; i++) {
        s_slot_t *s = &self->slots[(h + i) & self->mask];
        if (s_is(s, gateway, hash)) {
            s->bucket.tokens = s->bucket.tokens + 1.0 > self->burst ? self->burst : s->bucket.tokens + 1.0;
            return;
        }
    }
}

int intake_reporters_take(intake_reporters_t *self, int gateway, const uint8_t hash[ANTT_HASH_BYTES],
                          int64_t now_ms)
{
    uint32_t h = s_start(gateway, hash);
    s_slot_t *victim = NULL;
    for (unsigned i = 0; i < S_PROBES; i++) {
        s_slot_t *s = &self->slots[(h + i) & self->mask];
        if (s_is(s, gateway, hash))
            return intake_bucket_take(&s->bucket, self->rate, self->burst, now_ms);
        if (!s->used) {
            if (victim == NULL || victim->used)
                victim = s;
        } else if (victim == NULL || (victim->used && s->bucket.last_ms < victim->bucket.last_ms)) {
            victim = s;
        }
    }
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->hash, hash, ANTT_HASH_BYTES);
    victim->gateway = gateway;
    victim->used = 1;
    return intake_bucket_take(&victim->bucket, self->rate, self->burst, now_ms);
}
