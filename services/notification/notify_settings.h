/* notify_settings: notification's settings, declared once
 * (notify_settings.c) with their types, defaults, bounds and help;
 * antt_service checks and binds them at start, `antt config --list` prints
 * them. */
#ifndef NOTIFY_SETTINGS_H
#define NOTIFY_SETTINGS_H

#include "antt_settings.h"

typedef struct notify_settings_s {
    long catchup_interval_ms;     /* the catch-up's period, 0 off */
    long webhook_group_at;        /* due messages of one destination from which they go grouped */
    long webhook_max_attempts;    /* attempts before a message is dead */
    double webhook_backoff_max_s; /* longest wait between two attempts */
    long sse_replay_max;          /* most events replayed to a resuming SSE client */
    long feed_keep_h;             /* hours the journal keeps events */
} notify_settings_t;

extern const antt_settings_t notify_settings;

#endif
