/* classify_settings: the table of classification's settings (see
 * classify_settings.h). */
#include "classify_settings.h"

#include "antt_service.h"

#define S_T classify_settings_t

static const antt_setting_t s_rows[] = {
    ANTT_SERVICE_SETTING_ROWS("classification", "health and metrics; give each worker on a host its own"),
    ANTT_SETTING_ENDPOINT("classification.pull_endpoint", "", S_T, pull_endpoint,
                          "where the worker PULLs accepted reports (none: intake.push_endpoint)"),
    ANTT_SETTING_STRING("classification.publish_endpoints", "", S_T, publish_endpoints,
                        "subscriber endpoints the PUB connects to, space-separated, each SERVICE=ENDPOINT"),
    ANTT_SETTING_NAMED("classification.rules", ANTT_STYPE_STRING, "",
                       "rule file (none: config/classification.rules of the source tree)"),
    ANTT_SETTING_NAMED("classification.model", ANTT_STYPE_STRING, "",
                       "model file, made by antt train (none: classify.model of the build tree)"),
    ANTT_SETTING_INT("classification.batch_max", "200", 1, 10000, S_T, batch_max,
                     "most reports per recording transaction"),
    ANTT_SETTING_INT("classification.pipeline_depth", "2", 1, 16, S_T, pipeline_depth,
                     "transactions in flight, per lane"),
    ANTT_SETTING_INT("classification.lanes", "1", 1, 8, S_T, lanes,
                     "connections recording batches side by side; a category always takes the same one"),
    ANTT_SETTING_DOUBLE("classification.duplicate_radius_m", "150", 0, 100000, S_T, duplicate_radius_m,
                        "a report joins an open incident of its category this close (metres)..."),
    ANTT_SETTING_DOUBLE("classification.duplicate_window_s", "3600", 0, 31 * 86400, S_T, duplicate_window_s,
                        "...and this close in occurred time (seconds)"),
    ANTT_SETTING_STRING("classification.unlocated_desk", "", S_T, unlocated_desk,
                        "desk for reports whose area is unknown (none: they get no desk)"),
};

const antt_settings_t classify_settings = ANTT_SETTINGS("classification", s_rows);
