/* at_stack: the four services of a test, each with its own keys and ports,
 * as deployed (CURVE on, each its own database role). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* POLLRDHUP */
#endif
#include "antt_test.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <poll.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <zmq.h>

#include <sodium.h>

#include "antt_config.h"
#include "antt_crypto.h"
#include "antt_migrate.h"
#include "antt_util.h"


const char *const at_service_names[AT_NSERVICES] = {"intake", "classification", "notification", "aggregation"};
static const char *const s_http_keys[AT_NSERVICES] = {"ANTT_INTAKE_HTTP", "ANTT_CLASSIFICATION_HTTP",
                                                      "ANTT_NOTIFICATION_HTTP", "ANTT_AGGREGATION_HTTP"};

static void s_ep(char *out, size_t len)
{
    snprintf(out, len, "tcp://127.0.0.1:%d", at_free_port());
}

/* Reads a file of antt keygen --dir into out ("K=V", quotes gone) and the
 * values of pubk and seck (may be NULL) into pub and sec. */
static void s_read_keys(const char *path, char **out, const char *pubk, char *pub, const char *seck, char *sec)
{
    char *text = at_read_file(path, NULL);
    assert_non_null(text);
    int n = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (line[0] == '#' || eq == NULL)
            continue;
        *eq = '\0';
        char *v = eq + 1;
        size_t vl = strlen(v);
        if (vl >= 2 && v[0] == '\'' && v[vl - 1] == '\'') {
            v[vl - 1] = '\0';
            v++;
        }
        assert_true(n + 1 < AT_KEYS_MAX);
        out[n++] = antt_xasprintf("%s=%s", line, v);
        if (pubk && !strcmp(line, pubk))
            snprintf(pub, 41, "%s", v);
        if (seck && !strcmp(line, seck))
            snprintf(sec, 41, "%s", v);
    }
    out[n] = NULL;
    sodium_memzero(text, strlen(text));
    free(text);
}

/* The deployment's keys, as an operator makes them: antt keygen --dir. */
static void s_keygen(at_stack_t *s)
{
    static int seq;
    char dir[256], cmd[1024], path[300];
    snprintf(dir, sizeof(dir), ANTT_BUILD_DIR "/tests/keys-%d-%d", (int)getpid(), seq++);
    snprintf(cmd, sizeof(cmd),
             "rm -rf '%s' && mkdir -m 700 '%s' && " ANTT_BUILD_DIR "/services/cli/antt keygen --dir '%s'", dir, dir,
             dir);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; i < AT_NSERVICES; i++) {
        char pubk[96], seck[96], key[64];
        snprintf(key, sizeof(key), "keys.%s_curve_public", at_service_names[i]);
        antt_config_env_name(key, pubk, sizeof(pubk));
        snprintf(key, sizeof(key), "keys.%s_curve_secret", at_service_names[i]);
        antt_config_env_name(key, seck, sizeof(seck));
        snprintf(path, sizeof(path), "%s/%s.env", dir, at_service_names[i]);
        s_read_keys(path, s->keys[i], pubk, s->curve_pub[i], seck, s->curve_sec[i]);
    }
    snprintf(path, sizeof(path), "%s/client.env", dir);
    s_read_keys(path, s->client_keys, "ANTT_KEYS_CLIENT_CURVE_PUBLIC", s->client_pub, "ANTT_KEYS_CLIENT_CURVE_SECRET",
                s->client_sec);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

void at_stack_init(at_stack_t *s, const char *conninfo)
{
    memset(s, 0, sizeof(*s));
    size_t cap = sizeof(s->env) / sizeof(s->env[0]);
    char v[160], cls[64], agg[64], push[64];
    at_env_add(s->env, cap, "ANTT_DB_CONNINFO=%s", conninfo);
    at_env_add(s->env, cap, "ANTT_CLASSIFICATION_UNLOCATED_DESK=%s", "DESK-HCM-BTA");
    /* two recording lanes, so that the crash loops and faults lose nothing with them */
    at_env_add(s->env, cap, "ANTT_CLASSIFICATION_LANES=%s", "2");
    at_env_add(s->env, cap, "ANTT_CURVE_ENABLED=%s", "true");
    s_keygen(s);
    /* a staff system's key, the only kind the trend PUB admits */
    zmq_curve_keypair(s->staff_pub, s->staff_sec);
    at_env_add(s->env, cap, "ANTT_CURVE_STAFF_CLIENTS=%s", s->staff_pub);
    s_ep(s->gateway_ep, sizeof(s->gateway_ep));
    at_env_add(s->env, cap, "ANTT_INTAKE_GATEWAY_ENDPOINT=%s", s->gateway_ep);
    s_ep(push, sizeof(push));
    at_env_add(s->env, cap, "ANTT_INTAKE_PUSH_ENDPOINT=%s", push);
    s_ep(cls, sizeof(cls));
    s_ep(agg, sizeof(agg));
    snprintf(v, sizeof(v), "notification=%s aggregation=%s", cls, agg);
    at_env_add(s->env, cap, "ANTT_CLASSIFICATION_PUBLISH_ENDPOINTS=%s", v);
    at_env_add(s->env, cap, "ANTT_NOTIFICATION_CLASSIFIED_ENDPOINT=%s", cls);
    at_env_add(s->env, cap, "ANTT_AGGREGATION_CLASSIFIED_ENDPOINT=%s", agg);
    s_ep(s->feed_ep, sizeof(s->feed_ep));
    at_env_add(s->env, cap, "ANTT_NOTIFICATION_FEED_ENDPOINT=%s", s->feed_ep);
    at_env_add(s->env, cap, "ANTT_AGGREGATION_UPDATE_ENDPOINT=%s", s->feed_ep);
    s_ep(s->triage_ep, sizeof(s->triage_ep));
    at_env_add(s->env, cap, "ANTT_NOTIFICATION_TRIAGE_ENDPOINT=%s", s->triage_ep);
    s_ep(s->trend_ep, sizeof(s->trend_ep));
    at_env_add(s->env, cap, "ANTT_AGGREGATION_PUBLISH_ENDPOINT=%s", s->trend_ep);
    s_ep(s->snapshot_ep, sizeof(s->snapshot_ep));
    at_env_add(s->env, cap, "ANTT_AGGREGATION_SNAPSHOT_ENDPOINT=%s", s->snapshot_ep);
    for (int i = 0; i < AT_NSERVICES; i++)
        s->port[i] = at_free_port();
}

const char *at_stack_env(const at_stack_t *s, const char *k)
{
    size_t n = strlen(k);
    const char *v = NULL;
    for (int i = 0; s->env[i]; i++) /* the last one counts, as with putenv */
        if (!strncmp(s->env[i], k, n) && s->env[i][n] == '=')
            v = s->env[i] + n + 1;
    return v;
}

void at_stack_curve_client(const at_stack_t *s, void *sock, int i, const char *pub, const char *sec)
{
    assert_int_equal(zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, s->curve_pub[i], 40), 0);
    assert_int_equal(zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub ? pub : s->client_pub, 40), 0);
    assert_int_equal(zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec ? sec : s->client_sec, 40), 0);
}

void at_stack_curve_as(const at_stack_t *s, void *sock, int i, int as)
{
    at_stack_curve_client(s, sock, i, s->curve_pub[as], s->curve_sec[as]);
}

void at_stack_cli_env(const at_stack_t *s, char *out, size_t len)
{
    snprintf(out, len,
             "ANTT_CURVE_ENABLED=true ANTT_KEYS_CLIENT_CURVE_SECRET='%s' ANTT_KEYS_INTAKE_CURVE_PUBLIC='%s'"
             " ANTT_KEYS_NOTIFICATION_CURVE_PUBLIC='%s' ANTT_KEYS_AGGREGATION_CURVE_PUBLIC='%s'",
             s->client_sec, s->curve_pub[AT_INTAKE], s->curve_pub[AT_NOTIFICATION], s->curve_pub[AT_AGGREGATION]);
}

int at_stack_env_of(const at_stack_t *s, int i, char **out, int cap)
{
    int k = 0;
    for (int j = 0; s->env[j]; j++) {
        assert_true(k + 2 < cap);
        out[k++] = s->env[j];
    }
    /* its own keys after the shared settings: they count, as deployed */
    for (int j = 0; s->keys[i][j]; j++) {
        assert_true(k + 2 < cap);
        out[k++] = s->keys[i][j];
    }
    out[k] = NULL;
    return k;
}

int at_stack_spawn_extra(at_stack_t *s, int i, at_proc_t *p, const char *tag, int http_port,
                         const char *const *extra)
{
    char *env[128], v[96];
    int k = at_stack_env_of(s, i, env, 100);
    for (int j = 0; extra && extra[j]; j++) {
        assert_true(k + 3 < 128);
        env[k++] = (char *)extra[j];
    }
    snprintf(v, sizeof(v), "%s=127.0.0.1:%d", s_http_keys[i], http_port);
    env[k++] = v;
    env[k] = NULL;
    if (p->log[0] == '\0')
        snprintf(p->log, sizeof(p->log), ANTT_BUILD_DIR "/tests/%s-%s-%d.log", at_service_names[i], tag,
                 (int)getpid());
    return at_spawn(p, at_service_names[i], env);
}

int at_stack_start(at_stack_t *s, int i, int ms)
{
    char *env[64 + AT_KEYS_MAX + 2], v[96];
    int k = at_stack_env_of(s, i, env, (int)(sizeof(env) / sizeof(env[0])));
    snprintf(v, sizeof(v), "%s=127.0.0.1:%d", s_http_keys[i], s->port[i]);
    env[k++] = v;
    env[k] = NULL;
    if (at_spawn(&s->svc[i], at_service_names[i], env) != 0)
        return -1;
    return at_wait_proc_ready(&s->svc[i], s->port[i], ms);
}

int at_stack_start_all(at_stack_t *s)
{
    for (int i = 0; i < AT_NSERVICES; i++)
        if (at_stack_start(s, i, 20000) != 0)
            return -1;
    return 0;
}

void at_stack_free(at_stack_t *s)
{
    for (size_t i = 0; i < sizeof(s->env) / sizeof(s->env[0]) && s->env[i]; i++) {
        free(s->env[i]);
        s->env[i] = NULL;
    }
    for (int i = 0; i <= AT_NSERVICES; i++) {
        char **keys = i < AT_NSERVICES ? s->keys[i] : s->client_keys;
        for (int j = 0; keys[j]; j++) {
            sodium_memzero(keys[j], strlen(keys[j]));
            free(keys[j]);
            keys[j] = NULL;
        }
    }
    sodium_memzero(s->curve_sec, sizeof(s->curve_sec));
}

void at_stack_stop(at_stack_t *s)
{
    for (int i = AT_NSERVICES - 1; i >= 0; i--)
        at_stop(&s->svc[i], SIGTERM, 10000);
}

void at_stack_fault_settings(at_stack_t *s)
{
    size_t cap = sizeof(s->env) / sizeof(s->env[0]);
    at_env_add(s->env, cap, "ANTT_DB_CONNECT_TIMEOUT_S=%s", "60");
    at_env_add(s->env, cap, "ANTT_INTAKE_REDRIVE_INTERVAL_MS=%s", "500");
    at_env_add(s->env, cap, "ANTT_INTAKE_REDRIVE_AFTER_MS=%s", "2000");
    at_env_add(s->env, cap, "ANTT_AGGREGATION_REDRIVE_INTERVAL_MS=%s", "300");
}
