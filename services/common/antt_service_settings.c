/* antt_service_settings: the settings every service reads through
 * antt_service (the database, logging, CURVE, deadlines, keys). The keys are
 * declared here so that each is known to every service; the code that uses
 * a key checks its form and says which is wrong. */
#include "antt_service.h"

#define S_KEYPAIR(who)                                                                              \
    ANTT_SETTING_KEY("keys." who "_curve_public", who "'s CURVE public key (Z85, 40 characters)"), \
    ANTT_SETTING_KEY("keys." who "_curve_secret", who "'s CURVE secret key: on " who "'s machines only")

static const antt_setting_t s_rows[] = {
    ANTT_SETTING_STRING("db.conninfo", "dbname=antt", antt_service_settings_t, conninfo,
                        "libpq connection string of the schema's owner (the antt CLI); a service uses"
                        " <service>.db_conninfo first"),
    ANTT_SETTING_INT("db.connect_timeout_s", "30", 0, 3600, antt_service_settings_t, connect_timeout_s,
                     "how long a starting service waits for PostgreSQL and a migrated schema"),
    ANTT_SETTING_INT("db.statement_timeout_ms", "30000", 0, 86400000, antt_service_settings_t, db_timeout_ms,
                     "statement_timeout of every database session of the service (0: the server's)"),
    ANTT_SETTING_INT("http.max_connections", "1024", 1, 1000000, antt_service_settings_t, http_max_connections,
                     "open HTTP connections per listener (kept 128 under the descriptor limit); beyond, closed at"
                     " accept"),
    ANTT_SETTING_INT("http.max_per_address", "128", 0, 1000000, antt_service_settings_t, http_max_per_address,
                     "open HTTP connections of one client address (an IPv6 /64) per listener; beyond, closed at"
                     " accept (0: no cap, behind a proxy)"),
    ANTT_SETTING_STRING("http.metrics_from", "127.0.0.0/8,::1", antt_service_settings_t, http_metrics_from,
                        "address blocks whose clients may read /metrics (others get 403)"),
    ANTT_SETTING_INT("http.db_max_inflight", "8", 1, 1000, antt_service_settings_t, http_db_inflight,
                     "database jobs of HTTP requests running at once"),
    ANTT_SETTING_INT("http.db_max_per_address", "16", 0, 100000, antt_service_settings_t, http_db_per_address,
                     "database jobs of HTTP requests (running or waiting) of one client address; beyond, 503"
                     " with Retry-After (0: no cap)"),
    ANTT_SETTING_INT("http.db_queue_max", "64", 0, 100000, antt_service_settings_t, http_db_queue,
                     "database jobs of HTTP requests waiting for a slot; beyond, 503 with Retry-After"),
    ANTT_SETTING_INT("http.statement_timeout_ms", "2000", 1, 3600000, antt_service_settings_t, http_timeout_ms,
                     "statement_timeout of each database job of an HTTP request; over it, 503 timeout"),
    ANTT_SETTING_INT("sse.max_streams", "1000", 1, 100000, antt_service_settings_t, sse.max_streams,
                     "open SSE streams per listener; beyond, 503 with Retry-After"),
    ANTT_SETTING_INT("sse.max_per_address", "50", 1, 100000, antt_service_settings_t, sse.max_per_address,
                     "open SSE streams per client address"),
    ANTT_SETTING_INT("sse.max_unsent_bytes", "262144", 4096, 1073741824, antt_service_settings_t,
                     sse.max_unsent, "bytes a stream may owe its client; beyond, it is dropped"),
    ANTT_SETTING_INT("sse.socket_buffer_bytes", "65536", 4096, 16777216, antt_service_settings_t,
                     sse.socket_buffer, "each stream's kernel send buffer (SO_SNDBUF)"),
    ANTT_SETTING_INT("sse.keepalive_ms", "15000", 100, 3600000, antt_service_settings_t, sse.keepalive_ms,
                     "a keep-alive comment on every stream this often (finds dead peers)"),
    ANTT_SETTING_INT("sse.recheck_ms", "30000", 100, 30000, antt_service_settings_t, sse.recheck_ms,
                     "a desk stream's dispatcher token is checked again this often"),
    ANTT_SETTING_INT("leader.timeout_ms", "3000", 600, 60000, antt_service_settings_t, leader_timeout_ms,
                     "notification and aggregation, active/standby: the server ends a silent leader's lock session"
                     " after this; the leader stops acting after 2/3 of it without a confirmation"),
    ANTT_SETTING_CHOICE("log.level", "info", "debug info warn error", antt_service_settings_t, log_level,
                        "lowest level logged"),
    ANTT_SETTING_BOOL("curve.enabled", "true", antt_service_settings_t, curve_enabled,
                      "CURVE encryption and ZAP admission on every ZeroMQ socket"),
    ANTT_SETTING_NAMED("curve.clients", ANTT_STYPE_STRING, "",
                       "public keys of people's tools (CLI, consoles, dashboards), space-separated"),
    ANTT_SETTING_NAMED("curve.staff_clients", ANTT_STYPE_STRING, "",
                       "public keys of staff systems admitted to the trend PUB (aggregation), space-separated"),
    ANTT_SETTING_INT("sla.ack_p1_s", "60", 1, 604800, antt_service_settings_t, ack_s[0],
                     "acknowledgement deadline of a P1 incident (seconds)"),
    ANTT_SETTING_INT("sla.ack_p2_s", "300", 1, 604800, antt_service_settings_t, ack_s[1],
                     "acknowledgement deadline of a P2 incident (seconds)"),
    ANTT_SETTING_INT("sla.ack_p3_s", "3600", 1, 604800, antt_service_settings_t, ack_s[2],
                     "acknowledgement deadline of a P3 incident (seconds)"),
    ANTT_SETTING_INT("sla.ack_p4_s", "86400", 1, 604800, antt_service_settings_t, ack_s[3],
                     "acknowledgement deadline of a P4 incident (seconds)"),
    ANTT_SETTING_KEY("keys.dispatch_public", "dispatchers' sealing public key (64 hex digits): intake seals"
                                             " reporters' contact to it"),
    ANTT_SETTING_KEY("keys.dispatch_secret", "dispatchers' sealing secret key: notification only"),
    ANTT_SETTING_KEY("keys.reporter_hash", "intake's key for reporter pseudonyms (64 hex digits): intake only"),
    S_KEYPAIR("intake"),
    S_KEYPAIR("classification"),
    S_KEYPAIR("notification"),
    S_KEYPAIR("aggregation"),
    S_KEYPAIR("client"),
};

const antt_settings_t antt_service_settings = ANTT_SETTINGS("common", s_rows);
