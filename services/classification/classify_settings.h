/* classify_settings: a classification worker's settings, declared once
 * (classify_settings.c) with their types, defaults, bounds and help;
 * antt_service checks and binds them at start, `antt config --list` prints
 * them. */
#ifndef CLASSIFY_SETTINGS_H
#define CLASSIFY_SETTINGS_H

#include "antt_settings.h"

typedef struct classify_settings_s {
    const char *pull_endpoint;     /* classification.pull_endpoint ("": intake.push_endpoint) */
    const char *publish_endpoints; /* SERVICE=ENDPOINT, space-separated */
    long batch_max;                /* most reports per recording transaction */
    long pipeline_depth;           /* transactions in flight, per lane */
    long lanes;                    /* connections recording side by side */
    double duplicate_radius_m;     /* a duplicate is this close... */
    double duplicate_window_s;     /* ...and this close in occurred time */
    const char *unlocated_desk;    /* desk for reports whose area is unknown, "" none */
} classify_settings_t;

extern const antt_settings_t classify_settings;

#endif
