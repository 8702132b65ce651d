/* agg_settings: aggregation's settings, declared once (agg_settings.c)
 * with their types, defaults, bounds and help; antt_service checks and
 * binds them at start, `antt config --list` prints them. */
#ifndef AGG_SETTINGS_H
#define AGG_SETTINGS_H

#include "antt_settings.h"

typedef struct agg_settings_s {
    const char *update_endpoint; /* notification's feed it connects to, "" none */
    long batch_max;              /* queue rows per drain */
    long redrive_interval_ms;    /* drain at least this often */
    long drain_interval_ms;      /* at least this long between the starts of two drains */
    long public_min_count;       /* k: no public figure of 1 .. k-1 incidents */
    long public_delay_s;         /* a neighbourhood's public figures are this much behind */
} agg_settings_t;

extern const antt_settings_t agg_settings;

#endif
