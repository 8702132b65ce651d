/* intake_settings: intake's settings, declared once (intake_settings.c)
 * with their types, defaults, bounds and help; antt_service checks and binds
 * them at start, `antt config --list` prints them. */
#ifndef INTAKE_SETTINGS_H
#define INTAKE_SETTINGS_H

#include "antt_settings.h"

/* the most write connections (intake.db_connections) */
#define INTAKE_MAX_DBS 8

typedef struct intake_settings_s {
    const char *gateway_endpoint; /* intake.gateway_endpoint: the gateways' ROUTER */
    const char *push_endpoint;    /* intake.push_endpoint: PUSH to classification */
    long db_connections;          /* write connections for group commit */
    long pipeline_depth;          /* transactions in flight per write connection */
    long batch_max;               /* most reports per transaction */
    long redrive_interval_ms;     /* re-drive timer */
    long redrive_after_ms;        /* a queued report is due for re-drive after this */
    long reporter_per_hour;       /* reporter bucket: rate */
    long reporter_burst;          /* reporter bucket: burst */
    long gateway_refresh_ms;      /* gateways reloaded this often */
    long public_min_cell;         /* Open311 without api_key: least reports per area x category x day */
    long public_delay_s;          /* Open311 without api_key: a report is listed this long after */
    const char *public_url;       /* Open311's scheme://host[:port] for discovery ("": the request's) */
    int test_crash_after_commit;  /* test hook: SIGKILL self after a commit */
} intake_settings_t;

extern const antt_settings_t intake_settings;

#endif
