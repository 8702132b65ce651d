/* agg_settings: the table of aggregation's settings (see agg_settings.h). */
#include "agg_settings.h"

#include "antt_service.h"

#define S_T agg_settings_t

static const antt_setting_t s_rows[] = {
    ANTT_SERVICE_SETTING_ROWS("aggregation", "health, metrics, the trend API and the dashboard (/)"),
    ANTT_SETTING_NAMED("aggregation.classified_endpoint", ANTT_STYPE_ENDPOINT, "tcp://127.0.0.1:5570",
                       "SUB it binds (classification publishes here too)"),
    ANTT_SETTING_ENDPOINT("aggregation.update_endpoint", "tcp://127.0.0.1:5580", S_T, update_endpoint,
                          "notification's feed it connects to for incident updates (none: not connected)"),
    ANTT_SETTING_NAMED("aggregation.publish_endpoint", ANTT_STYPE_ENDPOINT, "tcp://127.0.0.1:5590",
                       "PUB of trend updates"),
    ANTT_SETTING_NAMED("aggregation.snapshot_endpoint", ANTT_STYPE_ENDPOINT, "tcp://127.0.0.1:5591",
                       "ROUTER of snapshots"),
    ANTT_SETTING_INT("aggregation.batch_max", "5000", 1, 1000000, S_T, batch_max, "queue rows per drain"),
    ANTT_SETTING_INT("aggregation.redrive_interval_ms", "1000", 10, 3600000, S_T, redrive_interval_ms,
                     "drain at least this often"),
    ANTT_SETTING_INT("aggregation.drain_interval_ms", "10", 0, 60000, S_T, drain_interval_ms,
                     "at least this long between the starts of two drains (changes arriving meanwhile go in"
                     " one transaction)"),
    ANTT_SETTING_INT("aggregation.public_min_count", "3", 1, 1000, S_T, public_min_count,
                     "k: an anonymous viewer sees no figure of 1 .. k-1 incidents (suppressed; 1: none)"),
    ANTT_SETTING_INT("aggregation.public_delay_s", "86400", 0, 31 * 86400, S_T, public_delay_s,
                     "a neighbourhood's public figures leave out the incidents filed this recently; the public"
                     " stream carries no neighbourhood"),
};

const antt_settings_t agg_settings = ANTT_SETTINGS("aggregation", s_rows);
