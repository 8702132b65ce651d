/* notify_settings: the table of notification's settings (see
 * notify_settings.h). */
#include "notify_settings.h"

#include "antt_service.h"

#define S_T notify_settings_t

static const antt_setting_t s_rows[] = {
    ANTT_SERVICE_SETTING_ROWS("notification", "health, metrics, triage JSON API, SSE feed"),
    ANTT_SETTING_NAMED("notification.classified_endpoint", ANTT_STYPE_ENDPOINT, "tcp://127.0.0.1:5560",
                       "SUB it binds for classified incidents"),
    ANTT_SETTING_NAMED("notification.feed_endpoint", ANTT_STYPE_ENDPOINT, "tcp://127.0.0.1:5580",
                       "PUB of desk feeds and incident updates"),
    ANTT_SETTING_NAMED("notification.triage_endpoint", ANTT_STYPE_ENDPOINT, "tcp://127.0.0.1:5581",
                       "ROUTER of triage commands"),
    ANTT_SETTING_INT("notification.catchup_interval_ms", "2000", 0, 3600000, S_T, catchup_interval_ms,
                     "how often the catch-up reads new incidents from PostgreSQL and announces those whose"
                     " classified message was lost (0: off)"),
    ANTT_SETTING_INT("notification.webhook_group_at", "20", 1, 10000, S_T, webhook_group_at,
                     "due messages of one destination from which they go grouped"),
    ANTT_SETTING_INT("notification.webhook_max_attempts", "15", 1, 1000, S_T, webhook_max_attempts,
                     "attempts before a message is dead"),
    ANTT_SETTING_DOUBLE("notification.webhook_backoff_max_s", "3600", 1, 7 * 86400, S_T, webhook_backoff_max_s,
                        "longest wait between two attempts (seconds)"),
    ANTT_SETTING_INT("notification.sse_replay_max", "1000", 1, 100000, S_T, sse_replay_max,
                     "most events replayed to an SSE client resuming from Last-Event-ID; beyond, it gets a reset"),
    ANTT_SETTING_INT("notification.feed_keep_h", "24", 1, 24 * 31, S_T, feed_keep_h,
                     "hours the desk feeds' journal keeps events for SSE resume; pruned every minute"),
};

const antt_settings_t notify_settings = ANTT_SETTINGS("notification", s_rows);
