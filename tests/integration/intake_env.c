/* intake_env: the stack of intake's integration tests. */
#include "intake_env.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "antt_crypto.h"
#include "at_post.h"
#include "antt_util.h"

ie_env_t IE;

static void s_env_add(const char *fmt, const char *v)
{
    at_env_add(IE.envv, sizeof(IE.envv) / sizeof(IE.envv[0]), fmt, v);
}

/* 1 once the monitor saw the pull socket complete a handshake with intake */
static int s_pull_connected(void *arg)
{
    (void)arg;
    return at_zmq_handshakes(IE.mon) > 0;
}

int ie_start_intake(const char *extra)
{
    char *env[20];
    int i = 0;
    for (; IE.envv[i]; i++)
        env[i] = IE.envv[i];
    if (extra)
        env[i++] = (char *)extra;
    env[i] = NULL;
    if (at_spawn(&IE.intake, "intake", env) != 0)
        return -1;
    if (at_wait_proc_ready(&IE.intake, IE.http_port, 20000) != 0)
        return -1;
    /* intake pushes only to a connected worker (else it leaves the report to
     * the re-drive): wait until our stand-in worker is connected */
    return at_wait_until(s_pull_connected, NULL, 10000) ? 0 : -1;
}

int ie_open(const char *dbname, const char *gateways_sql, const char *const *env)
{
    if (antt_crypto_init() != 0)
        return -1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    IE.conninfo = at_db_create(dbname);
    IE.db = at_db_connect(IE.conninfo);
    at_db_exec(IE.db, gateways_sql);
    IE.http_port = at_free_port();
    snprintf(IE.gw_ep, sizeof(IE.gw_ep), "tcp://127.0.0.1:%d", at_free_port());
    snprintf(IE.push_ep, sizeof(IE.push_ep), "tcp://127.0.0.1:%d", at_free_port());
    snprintf(IE.base, sizeof(IE.base), "http://127.0.0.1:%d/open311/v2", IE.http_port);
    char port[16];
    snprintf(port, sizeof(port), "%d", IE.http_port);
    s_env_add("ANTT_DB_CONNINFO=%s", IE.conninfo);
    s_env_add("ANTT_INTAKE_HTTP=127.0.0.1:%s", port);
    s_env_add("ANTT_INTAKE_GATEWAY_ENDPOINT=%s", IE.gw_ep);
    s_env_add("ANTT_INTAKE_PUSH_ENDPOINT=%s", IE.push_ep);
    at_env_intake_keys(IE.envv, sizeof(IE.envv) / sizeof(IE.envv[0]), IE.pk, IE.sk);
    s_env_add("ANTT_LOG_LEVEL=%s", "debug");
    for (const char *const *e = env; e && *e; e++)
        s_env_add("%s", *e);
    IE.zctx = zmq_ctx_new();
    IE.pull = zmq_socket(IE.zctx, ZMQ_PULL);
    int linger = 0;
    zmq_setsockopt(IE.pull, ZMQ_LINGER, &linger, sizeof(linger));
    int ivl = 20;
    zmq_setsockopt(IE.pull, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
    IE.mon = at_zmq_monitor(IE.zctx, IE.pull, "inproc://pull-monitor");
    zmq_connect(IE.pull, IE.push_ep);
    return ie_start_intake(NULL);
}

int ie_setup(void **state)
{
    (void)state;
    static const char *const env[] = {"ANTT_INTAKE_REPORTER_BURST=5", "ANTT_INTAKE_REDRIVE_INTERVAL_MS=300",
                                      "ANTT_INTAKE_REDRIVE_AFTER_MS=1000", NULL};
    return ie_open("t_intake",
                   "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst) VALUES"
                   " ('app', 'App', sha256('key-app'::bytea), 1000, 1000),"
                   " ('sms', 'SMS', sha256('key-sms'::bytea), 1000, 1000),"
                   " ('slow', 'Slow', sha256('key-slow'::bytea), 0.2, 3)",
                   env);
}

int ie_teardown(void **state)
{
    (void)state;
    int rc = at_stop(&IE.intake, SIGTERM, 10000);
    zmq_socket_monitor(IE.pull, NULL, 0);
    zmq_close(IE.mon);
    zmq_close(IE.pull);
    zmq_ctx_term(IE.zctx);
    PQfinish(IE.db);
    for (int i = 0; IE.envv[i]; i++)
        free(IE.envv[i]);
    free(IE.conninfo);
    curl_global_cleanup();
    return rc == 0 && WIFEXITED(IE.intake.status) && WEXITSTATUS(IE.intake.status) == 0 ? 0 : -1;
}

/* helpers */

int ie_post(const char *ctype, const char *body, char **resp)
{
    char url[128], h[128];
    snprintf(url, sizeof(url), "%s/requests.json", IE.base);
    snprintf(h, sizeof(h), "Content-Type: %s", ctype);
    const char *hdrs[] = {h, NULL};
    return at_http("POST", url, hdrs, body, strlen(body), resp);
}

/* free text, as an SMS gateway sends it: the JSON body, which keeps antt's
 * rules (the spec's form needs a service_code and a place) */
int ie_post_text(const char *fields, char **resp)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/requests.json", IE.base);
    return at_post_report(url, NULL, fields, resp);
}

int ie_get(const char *path, char **resp)
{
    char url[512];
    snprintf(url, sizeof(url), "%s/%s", IE.base, path);
    return at_http("GET", url, NULL, NULL, 0, resp);
}

/* A string field of the first object of an Open311 answer (malloc'd) or NULL */
char *ie_first(const char *resp, const char *field)
{
    json_t *d = json_loads(resp, 0, NULL);
    const char *v = json_string_value(json_object_get(json_array_get(d, 0), field));
    char *r = v ? strdup(v) : NULL;
    json_decref(d);
    return r;
}

long ie_reports(void)
{
    return at_db_long(IE.db, "SELECT count(*) FROM reports");
}

/* ZeroMQ gateway client: one request, one reply */
Antt__V1__SubmitReply *ie_zmq_submit(const Antt__V1__SubmitReport *m, const void *raw, size_t rawlen)
{
    void *s = zmq_socket(IE.zctx, ZMQ_DEALER);
    int linger = 0, timeout = 10000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    zmq_connect(s, IE.gw_ep);
    if (m) {
        size_t len = antt__v1__submit_report__get_packed_size(m);
        uint8_t *buf = malloc(len + 1);
        antt__v1__submit_report__pack(m, buf);
        zmq_send(s, buf, len, 0);
        free(buf);
    } else {
        zmq_send(s, raw, rawlen, 0);
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    Antt__V1__SubmitReply *r = NULL;
    if (zmq_msg_recv(&msg, s, 0) >= 0)
        r = antt__v1__submit_reply__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
    zmq_msg_close(&msg);
    zmq_close(s);
    return r;
}

int ie_seen(void *arg)
{
    ie_seek_t *k = arg;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int found = 0;
    while (!found && zmq_msg_recv(&msg, IE.pull, ZMQ_DONTWAIT) >= 0) {
        Antt__V1__AcceptedReport *a =
            antt__v1__accepted_report__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
        if (a && a->report_id && strcmp(a->report_id, k->id) == 0) {
            found = 1;
            ie_seek_done(k);
            k->got = a;
        } else if (a) {
            antt__v1__accepted_report__free_unpacked(a, NULL);
        }
    }
    zmq_msg_close(&msg);
    return found;
}

void ie_seek_done(ie_seek_t *k)
{
    if (k->got)
        antt__v1__accepted_report__free_unpacked(k->got, NULL);
    k->got = NULL;
}
