/* intake_settings: the table of intake's settings (see intake_settings.h). */
#include "intake_settings.h"

#include "antt_service.h"

#define S_T intake_settings_t

static const antt_setting_t s_rows[] = {
    ANTT_SERVICE_SETTING_ROWS("intake", "Open311 and health (host:port)"),
    ANTT_SETTING_ENDPOINT("intake.gateway_endpoint", "tcp://127.0.0.1:5550", S_T, gateway_endpoint,
                          "gateway ROUTER"),
    ANTT_SETTING_ENDPOINT("intake.push_endpoint", "tcp://127.0.0.1:5551", S_T, push_endpoint,
                          "PUSH to classification"),
    ANTT_SETTING_INT("intake.db_connections", "2", 1, INTAKE_MAX_DBS, S_T, db_connections,
                     "write connections for group commit"),
    ANTT_SETTING_INT("intake.pipeline_depth", "2", 1, 16, S_T, pipeline_depth,
                     "transactions in flight per write connection"),
    ANTT_SETTING_INT("intake.batch_max", "500", 1, 10000, S_T, batch_max, "most reports per transaction"),
    ANTT_SETTING_INT("intake.redrive_interval_ms", "5000", 10, 3600000, S_T, redrive_interval_ms,
                     "re-drive timer"),
    ANTT_SETTING_INT("intake.redrive_after_ms", "15000", 100, 86400000, S_T, redrive_after_ms,
                     "a queued report is re-pushed after this, then with doubling backoff up to 10 min"),
    ANTT_SETTING_INT("intake.reporter_per_hour", "20", 1, 1000000, S_T, reporter_per_hour,
                     "token bucket per reporter (phone pseudonym): reports per hour"),
    ANTT_SETTING_INT("intake.reporter_burst", "10", 1, 1000000, S_T, reporter_burst,
                     "token bucket per reporter: burst"),
    ANTT_SETTING_INT("intake.gateway_refresh_ms", "30000", 100, 86400000, S_T, gateway_refresh_ms,
                     "how often gateways (API key hashes, CURVE keys, quotas) are reloaded"),
    ANTT_SETTING_INT("intake.public_min_cell", "3", 1, 1000, S_T, public_min_cell,
                     "Open311 without api_key: a request is listed only when its area, category and day have this many"),
    ANTT_SETTING_INT("intake.public_delay_s", "86400", 0, 2592000, S_T, public_delay_s,
                     "Open311 without api_key: a request is listed only this long after it was received"),
    ANTT_SETTING_STRING("intake.public_url", "", S_T, public_url,
                        "scheme://host[:port] of Open311 as gateways reach it, for discovery (\"\": from the"
                        " request's Host and X-Forwarded-Proto)"),
    ANTT_SETTING_BOOL("intake.test_crash_after_commit", "false", S_T, test_crash_after_commit,
                      "tests only: intake kills itself after a commit, before answering"),
};

const antt_settings_t intake_settings = ANTT_SETTINGS("intake", s_rows);
