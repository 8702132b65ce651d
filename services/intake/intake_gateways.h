/* intake_gateways: the gateways allowed to submit (by API key hash) and the
 * area codes reports may name, cached from PostgreSQL and refreshed on a
 * timer so that a new or disabled gateway takes effect without a restart. */
#ifndef INTAKE_GATEWAYS_H
#define INTAKE_GATEWAYS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "antt_crypto.h"
#include "antt_curve.h"
#include "antt_db.h"
#include "intake_limits.h"

typedef struct intake_gateway_s {
    int id;                             /* gateways.id */
    char code[65];                      /* gateways.code */
    uint8_t key_hash[ANTT_HASH_BYTES];  /* SHA-256 of the API key */
    double rate_per_s;                  /* sustained submissions per second */
    double burst;                       /* bucket size */
    int active;                         /* may submit */
    int may_import;                     /* may submit imported history (gateways.may_import) */
    intake_bucket_t bucket;             /* survives refreshes */
} intake_gateway_t;

typedef struct intake_gateways_s intake_gateways_t;

intake_gateways_t *intake_gateways_new(uv_loop_t *loop, antt_db_t *db, long refresh_ms);
/* Called on the loop when a load took away a CURVE key that was admitted
 * (a gateway disabled, its key rotated or removed): the sessions opened
 * with it are to end. */
typedef void (*intake_gateways_revoked_cb)(void *arg);
/* Tells curve's ZAP handler the active gateways' CURVE keys at every load,
 * and revoked (may be NULL) when one was taken away. curve may be NULL
 * (CURVE off). */
void intake_gateways_set_curve(intake_gateways_t *g, antt_curve_t *curve, intake_gateways_revoked_cb revoked,
                               void *arg);
/* Loads now (and then every refresh_ms). ready_cb runs after each load. */
void intake_gateways_start(intake_gateways_t *g);
/* 1 once a load succeeded. */
int intake_gateways_loaded(const intake_gateways_t *g);
/* The active gateway with this API key, or NULL. Borrowed until the next
 * refresh (callers use it within the call that looked it up). */
intake_gateway_t *intake_gateways_auth(intake_gateways_t *g, const char *api_key, size_t len);
/* 1 when the area code exists (currently valid). */
int intake_gateways_area_known(const intake_gateways_t *g, const char *code);
void intake_gateways_close(intake_gateways_t *g);

#endif
