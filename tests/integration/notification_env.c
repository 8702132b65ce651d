/* notification_env: the stack of notification's integration tests. Reports
 * go in over Open311; the desk feeds are read from notification's PUB;
 * triage runs over its ROUTER and over HTTP; webhooks go to a receiver on a
 * thread. */
#include "notification_env.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <sodium.h>
#include <zmq.h>

#include "antt_crypto.h"
#include "at_desk.h"
#include "at_post.h"
#include "antt_util.h"

ne_env_t NE;

/* ---- a webhook receiver: a plain HTTP/1.1 server on a thread ---- */

#define S_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

at_hook_t ne_hook = {.fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

int ne_hook_count(const char *needle)
{
    return at_hook_count(&ne_hook, needle);
}

const char *ne_hook_needle;
int ne_hook_has(void *arg)
{
    return ne_hook_count(ne_hook_needle) >= *(int *)arg;
}

/* Checks a message's signature as a receiver would (Standard Webhooks). */
int ne_signature_ok(const at_hook_msg_t *m)
{
    uint8_t key[64], mac[crypto_auth_hmacsha256_BYTES];
    size_t klen = 0;
    const char *b64 = S_SECRET + 6;
    if (sodium_base642bin(key, sizeof(key), b64, strlen(b64), NULL, &klen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        return 0;
    char *signed_text = antt_xasprintf("%s.%s.%s", m->id, m->ts, m->body);
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, klen);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)signed_text, strlen(signed_text));
    crypto_auth_hmacsha256_final(&st, mac);
    free(signed_text);
    char want[128] = "v1,";
    sodium_bin2base64(want + 3, sizeof(want) - 3, mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
    long long ts = atoll(m->ts);
    return !strcmp(want, m->sig) && llabs(ts - antt_now_ms() / 1000) < 300;
}

static void s_env_add(const char *fmt, const char *v)
{
    at_env_add(NE.envv, sizeof(NE.envv) / sizeof(NE.envv[0]), fmt, v);
}

static char **s_env(char **env, const char *extra)
{
    int i = 0;
    for (; NE.envv[i]; i++)
        env[i] = NE.envv[i];
    env[i++] = (char *)extra;
    env[i] = NULL;
    return env;
}

int ne_start_notify(void)
{
    char *env[40], port[64];
    snprintf(port, sizeof(port), "ANTT_NOTIFICATION_HTTP=127.0.0.1:%d", NE.notify_port);
    if (at_spawn(&NE.notify, "notification", s_env(env, port)) != 0)
        return -1;
    return at_wait_proc_ready(&NE.notify, NE.notify_port, 20000);
}

char *ne_submit(const char *fields)
{
    char *body = antt_xasprintf("api_key=key-app&%s", fields);
    char *id = at_submit_report(NE.url, body);
    free(body);
    return id;
}

Antt__V1__IncidentUpdate *ne_expect_feed(const char *want_topic, const char *incident, Antt__V1__UpdateKind kind,
                                         int ms)
{
    return at_desk_expect_on(NE.sub, want_topic, incident, kind, ms);
}

char *ne_incident_of(const char *report_id)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT incident_id FROM incident_reports WHERE report_id = '%s'", report_id);
    PGresult *r = PQexec(NE.db, sql);
    char *id = PQntuples(r) == 1 ? antt_xstrdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    return id;
}

static const char *s_wait_report;
static int s_linked(void *arg)
{
    char **out = arg;
    *out = ne_incident_of(s_wait_report);
    return *out != NULL;
}

/* Submits and returns the report's incident id once classified. */
char *ne_incident(const char *fields, char **report_out)
{
    char *rid = ne_submit(fields), *inc = NULL;
    assert_non_null(rid);
    s_wait_report = rid;
    assert_true(at_wait_until(s_linked, &inc, 15000));
    if (report_out)
        *report_out = rid;
    else
        free(rid);
    return inc;
}

/* One triage command over ZeroMQ; returns the reply (caller frees). */
Antt__V1__TriageReply *ne_triage(const char *token, Antt__V1__TriageAction action, const char *incident,
                                       const char *arg)
{
    Antt__V1__TriageCommand c = ANTT__V1__TRIAGE_COMMAND__INIT;
    c.token = (char *)token;
    c.request_id = "r1";
    c.has_action = 1;
    c.action = action;
    c.incident_id = (char *)incident;
    if (action == ANTT__V1__TRIAGE_ACTION__ACTION_ASSIGN)
        c.assignee = (char *)arg;
    else if (action == ANTT__V1__TRIAGE_ACTION__ACTION_RESOLVE || action == ANTT__V1__TRIAGE_ACTION__ACTION_REJECT)
        c.outcome = (char *)arg;
    else if (action == ANTT__V1__TRIAGE_ACTION__ACTION_MERGE)
        c.target_incident_id = (char *)arg;
    else if (action == ANTT__V1__TRIAGE_ACTION__ACTION_SPLIT)
        c.report_id = (char *)arg;
    else
        c.note = (char *)arg;
    size_t len = antt__v1__triage_command__get_packed_size(&c);
    uint8_t *buf = antt_xmalloc(len + 1);
    antt__v1__triage_command__pack(&c, buf);
    zmq_send(NE.dealer, buf, len, 0);
    free(buf);
    zmq_pollitem_t pi = {NE.dealer, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&pi, 1, 10000) <= 0)
        return NULL;
    zmq_msg_t m;
    zmq_msg_init(&m);
    zmq_msg_recv(&m, NE.dealer, 0);
    Antt__V1__TriageReply *r = antt__v1__triage_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
    zmq_msg_close(&m);
    return r;
}

void ne_expect_status(const char *token, Antt__V1__TriageAction action, const char *incident, const char *arg,
                            Antt__V1__TriageReply__Status want)
{
    Antt__V1__TriageReply *r = ne_triage(token, action, incident, arg);
    assert_non_null(r);
    if (r->status != want)
        fail_msg("action %d: status %d (%s), expected %d", action, r->status, r->error ? r->error : "", want);
    assert_string_equal(r->request_id, "r1");
    antt__v1__triage_reply__free_unpacked(r, NULL);
}

int ne_http_triage(const char *token, const char *method, const char *path, const char *body, json_t **out)
{
    return at_desk_http_at(NE.notify_port, token, method, path, body, out);
}

long ne_count(const char *fmt, const char *a)
{
    char sql[512];
    snprintf(sql, sizeof(sql), fmt, a);
    return at_db_long(NE.db, sql);
}

int ne_setup(void **state)
{
    (void)state;
    if (antt_crypto_init() != 0)
        return -1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    NE.conninfo = at_db_create("t_notification");
    NE.db = at_db_connect(NE.conninfo);
    at_db_exec(NE.db, "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst) VALUES"
                     " ('app', 'App', sha256('key-app'::bytea), 1000, 1000)");
    at_db_exec(NE.db, "INSERT INTO dispatchers (name, desk_code, token_hash) VALUES"
                     " ('ward', '" NE_WARD "', sha256('tok-ward')),"
                     " ('other', '" NE_OTHER "', sha256('tok-other')),"
                     " ('district', '" NE_DISTRICT "', sha256('tok-district'))");
    char ep[64], port[16];
    NE.http_port = at_free_port();
    NE.worker_port = at_free_port();
    NE.notify_port = at_free_port();
    snprintf(NE.url, sizeof(NE.url), "http://127.0.0.1:%d/open311/v2/requests.json", NE.http_port);
    snprintf(port, sizeof(port), "%d", NE.http_port);
    s_env_add("ANTT_DB_CONNINFO=%s", NE.conninfo);
    s_env_add("ANTT_INTAKE_HTTP=127.0.0.1:%s", port);
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", at_free_port());
    s_env_add("ANTT_INTAKE_GATEWAY_ENDPOINT=%s", ep);
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", at_free_port());
    s_env_add("ANTT_INTAKE_PUSH_ENDPOINT=%s", ep);
    uint8_t pk[32], sk[32];
    char hex[65];
    at_env_intake_keys(NE.envv, sizeof(NE.envv) / sizeof(NE.envv[0]), pk, sk);
    antt_key_encode(sk, hex); /* notification alone holds the secret key */
    s_env_add("ANTT_KEYS_DISPATCH_SECRET=%s", hex);
    s_env_add("ANTT_INTAKE_REDRIVE_INTERVAL_MS=%s", "200");
    s_env_add("ANTT_INTAKE_REDRIVE_AFTER_MS=%s", "1000");
    s_env_add("ANTT_CLASSIFICATION_UNLOCATED_DESK=%s", NE_DISTRICT);
    s_env_add("ANTT_CLASSIFICATION_DUPLICATE_RADIUS_M=%s", "150");
    s_env_add("ANTT_SLA_ACK_P1_S=%s", "3"); /* escalation within the test's time */
    s_env_add("ANTT_LOG_LEVEL=%s", "debug");
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", at_free_port());
    s_env_add("ANTT_NOTIFICATION_CLASSIFIED_ENDPOINT=%s", ep);
    s_env_add("ANTT_CLASSIFICATION_PUBLISH_ENDPOINTS=%s", ep);
    snprintf(NE.feed_ep, sizeof(NE.feed_ep), "tcp://127.0.0.1:%d", at_free_port());
    s_env_add("ANTT_NOTIFICATION_FEED_ENDPOINT=%s", NE.feed_ep);
    snprintf(NE.triage_ep, sizeof(NE.triage_ep), "tcp://127.0.0.1:%d", at_free_port());
    s_env_add("ANTT_NOTIFICATION_TRIAGE_ENDPOINT=%s", NE.triage_ep);
    s_env_add("ANTT_NOTIFICATION_WEBHOOK_BACKOFF_MAX_S=%s", "1");

    /* webhooks: the ward's receiver (this test's), a dead one for the same
     * desk, and the app gateway's status hook on the same receiver */
    if (at_hook_start(&ne_hook, at_free_port()) != 0)
        return -1;
    char *sql = antt_xasprintf(
        "INSERT INTO webhook_destinations (code, url, secret, desk_code, gateway_id) VALUES"
        " ('ward', 'http://127.0.0.1:%d/hook', '" S_SECRET "', '" NE_WARD "', NULL),"
        " ('dead', 'http://127.0.0.1:%d/hook', '" S_SECRET "', '" NE_WARD "', NULL),"
        " ('app-status', 'http://127.0.0.1:%d/status', '" S_SECRET "', NULL, (SELECT id FROM gateways WHERE code = 'app'))",
        ne_hook.port, at_free_port(), ne_hook.port);
    at_db_exec(NE.db, sql);
    free(sql);

    char *env[40], wport[64];
    if (ne_start_notify() != 0)
        return -1;
    if (at_spawn(&NE.intake, "intake", s_env(env, "ANTT_X=1")) != 0 || at_wait_proc_ready(&NE.intake, NE.http_port, 20000) != 0)
        return -1;
    snprintf(wport, sizeof(wport), "ANTT_CLASSIFICATION_HTTP=127.0.0.1:%d", NE.worker_port);
    if (at_spawn(&NE.worker, "classification", s_env(env, wport)) != 0 || at_wait_proc_ready(&NE.worker, NE.worker_port, 20000) != 0)
        return -1;

    NE.zctx = zmq_ctx_new();
    int linger = 0;
    NE.sub = zmq_socket(NE.zctx, ZMQ_SUB);
    zmq_setsockopt(NE.sub, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(NE.sub, ZMQ_SUBSCRIBE, "desk." NE_WARD ".", strlen("desk." NE_WARD "."));
    zmq_setsockopt(NE.sub, ZMQ_SUBSCRIBE, "desk." NE_DISTRICT ".", strlen("desk." NE_DISTRICT "."));
    zmq_setsockopt(NE.sub, ZMQ_SUBSCRIBE, "desk." NE_OTHER ".", strlen("desk." NE_OTHER "."));
    if (zmq_connect(NE.sub, NE.feed_ep) != 0)
        return -1;
    NE.dealer = zmq_socket(NE.zctx, ZMQ_DEALER);
    zmq_setsockopt(NE.dealer, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_connect(NE.dealer, NE.triage_ep) != 0)
        return -1;
    /* the whole path is up (classification's PUB has joined notification's
     * SUB, our SUB has joined notification's PUB) once a report comes out on
     * the feed: submit until one does */
    uint64_t deadline = antt_mono_ns() + 20000000000ull;
    for (;;) {
        char *id = ne_submit("description=warm-up%20trom%20cap&area_code=VN-HCM-BTA-BTD");
        free(id);
        Antt__V1__IncidentUpdate *u = ne_expect_feed("desk." NE_WARD ".", NULL, ANTT__V1__UPDATE_KIND__UPDATE_CREATED,
                                                    500);
        if (u) {
            antt__v1__incident_update__free_unpacked(u, NULL);
            break;
        }
        if (antt_mono_ns() > deadline)
            return -1;
    }
    /* leave the warm-up's duplicates behind */
    char topic[160];
    for (Antt__V1__IncidentUpdate *u; (u = at_desk_feed_on(NE.sub, 300, topic, sizeof(topic)));)
        antt__v1__incident_update__free_unpacked(u, NULL);
    return 0;
}

int ne_teardown(void **state)
{
    (void)state;
    at_stop(&NE.worker, SIGTERM, 10000);
    at_stop(&NE.intake, SIGTERM, 10000);
    at_stop(&NE.notify, SIGTERM, 10000);
    at_hook_stop(&ne_hook);
    zmq_close(NE.sub);
    zmq_close(NE.dealer);
    zmq_ctx_term(NE.zctx);
    PQfinish(NE.db);
    free(NE.conninfo);
    for (int i = 0; NE.envv[i]; i++)
        free(NE.envv[i]);
    curl_global_cleanup();
    return 0;
}
