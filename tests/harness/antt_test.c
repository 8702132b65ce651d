/* antt_test: integration test harness. */
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

extern char **environ;

int at_wait_until(int (*fn)(void *), void *arg, int ms)
{
    uint64_t deadline = antt_mono_ns() + (uint64_t)ms * 1000000u;
    for (;;) {
        if (fn(arg))
            return 1;
        if (antt_mono_ns() > deadline)
            return 0;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
}

static char *s_base_conninfo(void)
{
    const char *dir = getenv("ANTT_TEST_PGDIR");
    if (dir == NULL) {
        fprintf(stderr, "ANTT_TEST_PGDIR is not set: run through ctest (fixture pg)\n");
        exit(1);
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/conninfo", dir);
    char *ci = at_read_file(path, NULL);
    if (ci == NULL) {
        fprintf(stderr, "no %s: did the pg fixture start?\n", path);
        exit(1);
    }
    ci[strcspn(ci, "\n")] = '\0';
    return ci;
}

PGconn *at_db_connect(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "could not connect %s: %s\n", conninfo, PQerrorMessage(c));
        exit(1);
    }
    return c;
}

void at_db_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "sql failed: %s\n%.200s\n", PQresultErrorMessage(r), sql);
        exit(1);
    }
    PQclear(r);
}

void at_db_gen_incidents(PGconn *c, const char *area, const char *category, int year, int n, int step_h, int prio)
{
    char *sql = antt_xasprintf(
        "INSERT INTO incidents (id, occurred_at, category, priority, area_code, desk_code, status)"
        " SELECT gen_random_uuid(), make_timestamptz(%d, 1, 1, 0, 0, 0, 'Asia/Ho_Chi_Minh') + g * interval '%d hours',"
        " '%s', %d, '%s', (SELECT desk_code FROM area_desks WHERE area_code = '%s'), 'new'"
        " FROM generate_series(0, %d) g",
        year, step_h, category, prio, area, area, n - 1);
    at_db_exec(c, sql);
    free(sql);
}

long at_db_long(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = atol(PQgetvalue(r, 0, 0));
    else if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "query failed: %s", PQresultErrorMessage(r));
    PQclear(r);
    return v;
}

char *at_db_create(const char *name)
{
    char *base = s_base_conninfo();
    char *ci = at_db_create_in(base, name);
    free(base);
    return ci;
}

char *at_pg_start(const char *dir, int port)
{
    char cmd[1024], path[1024];
    if (port > 0)
        snprintf(cmd, sizeof(cmd), "bash " ANTT_SOURCE_DIR "/tests/pg/pg-fixture.sh start %s %d > /dev/null",
                 dir, port);
    else
        snprintf(cmd, sizeof(cmd), "bash " ANTT_SOURCE_DIR "/tests/pg/pg-fixture.sh start %s > /dev/null", dir);
    if (system(cmd) != 0)
        return NULL;
    snprintf(path, sizeof(path), "%s/conninfo", dir);
    char *ci = at_read_file(path, NULL);
    if (ci)
        ci[strcspn(ci, "\n")] = '\0';
    return ci;
}

void at_pg_stop(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "bash " ANTT_SOURCE_DIR "/tests/pg/pg-fixture.sh stop %s > /dev/null 2>&1", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not stop the cluster in %s\n", dir);
}

char *at_db_create_in(const char *base, const char *name)
{
    char *admin = antt_xasprintf("%s dbname=postgres", base);
    PGconn *c = at_db_connect(admin);
    char sql[256];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    at_db_exec(c, sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    at_db_exec(c, sql);
    PQfinish(c);
    char *ci = antt_xasprintf("%s dbname=%s", base, name);
    c = at_db_connect(ci);
    char err[1024];
    if (antt_migrate(c, err, sizeof(err)) < 0) {
        fprintf(stderr, "migrations failed: %s\n", err);
        exit(1);
    }
    char *areas = at_read_file(ANTT_SOURCE_DIR "/deploy/demo/areas.sql", NULL);
    if (areas == NULL) {
        fprintf(stderr, "no deploy/demo/areas.sql\n");
        exit(1);
    }
    at_db_exec(c, areas);
    free(areas);
    PQfinish(c);
    free(admin);
    return ci;
}

/* Ports for the services and clusters a test starts. A port the kernel
 * hands out for bind(0) comes from the ephemeral range, where every
 * outgoing connection of every concurrent test also takes its local port:
 * one of them may take it before the service binds. So ports come from
 * below the ephemeral range, and each is claimed for the life of the test
 * process with a lock file that concurrent tests (ctest -j) respect. */
#define S_PORT_LO 20000
#define S_PORT_HI 32000

static int s_port_claim(int port)
{
    char path[128];
    snprintf(path, sizeof(path), "/tmp/antt-test-ports/%d", port);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return -1;
    }
    return fd; /* kept open: the lock goes with the process */
}

static int s_port_bindable(int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    int ok = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

int at_free_port(void)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static int next;
    pthread_mutex_lock(&mu);
    (void)mkdir("/tmp/antt-test-ports", 01777);
    (void)chmod("/tmp/antt-test-ports", 01777);
    if (next == 0)
        next = S_PORT_LO + (int)((unsigned)getpid() * 7919u % (unsigned)(S_PORT_HI - S_PORT_LO));
    int port = -1;
    for (int tries = 0; tries < S_PORT_HI - S_PORT_LO; tries++) {
        int p = next++;
        if (next >= S_PORT_HI)
            next = S_PORT_LO;
        int fd = s_port_claim(p);
        if (fd < 0)
            continue;
        if (!s_port_bindable(p)) {
            close(fd);
            continue;
        }
        port = p;
        break;
    }
    pthread_mutex_unlock(&mu);
    return port;
}

int at_spawn(at_proc_t *p, const char *service, char *const *env)
{
    char bin[512];
    snprintf(bin, sizeof(bin), ANTT_BUILD_DIR "/services/%s/antt-%s", service, service);
    snprintf(p->name, sizeof(p->name), "%s", service);
    if (p->log[0] == '\0')
        snprintf(p->log, sizeof(p->log), ANTT_BUILD_DIR "/tests/%s-%d.log", service, (int)getpid());
    /* a service logs in as its own role, as deployed (migration 008):
     * <SERVICE>_DB_CONNINFO is ANTT_DB_CONNINFO with user=antt_<service> */
    static __thread char own[1024];
    const char *ci = getenv("ANTT_DB_CONNINFO");
    for (char *const *e = env; e && *e; e++)
        if (!strncmp(*e, "ANTT_DB_CONNINFO=", 17))
            ci = *e + 17;
    own[0] = '\0';
    if (ci) {
        char key[64], name[96];
        snprintf(key, sizeof(key), "%s.db_conninfo", service);
        antt_config_env_name(key, name, sizeof(name));
        snprintf(own, sizeof(own), "%s=%s user=antt_%s", name, ci, service);
    }
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        for (char *const *e = env; e && *e; e++)
            putenv(*e);
        if (getenv("ANTT_CURVE_ENABLED") == NULL)
            putenv("ANTT_CURVE_ENABLED=false");
        if (own[0]) {
            /* unless the test chose the service's conninfo itself */
            char name[64];
            size_t n = (size_t)(strchr(own, '=') - own);
            snprintf(name, sizeof(name), "%.*s", (int)n, own);
            if (getenv(name) == NULL)
                putenv(own);
        }
        int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        char *argv[] = {bin, NULL};
        execv(bin, argv);
        _exit(127);
    }
    p->pid = pid;
    return 0;
}

static size_t s_collect(char *ptr, size_t size, size_t n, void *arg)
{
    antt_buf_append(arg, ptr, size * n);
    return size * n;
}

static __thread antt_buf_t s_hdrs;
static pthread_key_t s_hdrs_key;
static pthread_once_t s_hdrs_once = PTHREAD_ONCE_INIT;

/* the last response's headers of a thread die with the thread */
static void s_hdrs_free(void *p)
{
    antt_buf_cleanup(p);
}

static void s_hdrs_key_init(void)
{
    pthread_key_create(&s_hdrs_key, s_hdrs_free);
}

static size_t s_header(char *ptr, size_t size, size_t n, void *arg)
{
    (void)arg;
    pthread_once(&s_hdrs_once, s_hdrs_key_init);
    pthread_setspecific(s_hdrs_key, &s_hdrs);
    antt_buf_append(&s_hdrs, ptr, size * n);
    return size * n;
}

const char *at_http_last_header(const char *name)
{
    static __thread char val[512];
    size_t nl = strlen(name);
    const char *p = s_hdrs.data;
    while (p && *p) {
        const char *eol = strstr(p, "\r\n");
        if (eol == NULL)
            break;
        if ((size_t)(eol - p) > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(val, sizeof(val), "%.*s", (int)(eol - v), v);
            return val;
        }
        p = eol + 2;
    }
    return NULL;
}

int at_http(const char *method, const char *url, const char *const *headers, const char *body,
            size_t len, char **resp)
{
    CURL *c = curl_easy_init();
    antt_buf_t out;
    antt_buf_init(&out);
    antt_buf_cleanup(&s_hdrs);
    struct curl_slist *hl = NULL;
    for (const char *const *h = headers; h && *h; h++)
        hl = curl_slist_append(hl, *h);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_header);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    if (resp)
        *resp = antt_buf_steal(&out, NULL);
    else
        antt_buf_cleanup(&out);
    return (int)status;
}

/* The last lines of a service's log on stderr, so that a failed start in
 * CI says why. */
static void s_log_tail(const at_proc_t *p)
{
    size_t n = 0;
    char *text = at_read_file(p->log, &n);
    if (!text)
        return;
    size_t from = n > 4000 ? n - 4000 : 0;
    fprintf(stderr, "---- last of %s (%s) ----\n%s\n----\n", p->name, p->log, text + from);
    free(text);
}

int at_wait_proc_ready(at_proc_t *p, int port, int ms)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", port);
    uint64_t deadline = antt_mono_ns() + (uint64_t)ms * 1000000u;
    while (antt_mono_ns() < deadline) {
        if (at_http("GET", url, NULL, NULL, 0, NULL) == 200)
            return 0;
        if (p && !at_running(p)) {
            fprintf(stderr, "antt-%s exited before it was ready (status %d)\n", p->name, p->status);
            s_log_tail(p);
            return -1;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (p) {
        fprintf(stderr, "antt-%s not ready on port %d after %d ms\n", p->name, port, ms);
        s_log_tail(p);
    }
    return -1;
}

int at_wait_ready(int port, int ms)
{
    return at_wait_proc_ready(NULL, port, ms);
}

int at_running(at_proc_t *p)
{
    if (p->pid <= 0)
        return 0;
    pid_t r = waitpid(p->pid, &p->status, WNOHANG);
    if (r == p->pid) {
        p->pid = 0;
        return 0;
    }
    return 1;
}

static int s_ended(void *arg)
{
    return !at_running(arg);
}

int at_stop(at_proc_t *p, int sig, int ms)
{
    if (p->pid <= 0)
        return 0;
    kill(p->pid, sig);
    int rc = at_wait_until(s_ended, p, ms) ? 0 : -1;
    /* a service built with sanitizers reports there, on its way out */
    char *log = p->log[0] ? at_read_file(p->log, NULL) : NULL;
    const char *bad = log ? strstr(log, "Sanitizer") : NULL;
    if (bad == NULL && log)
        bad = strstr(log, "runtime error:");
    if (bad) {
        fprintf(stderr, "%s (%s): %.2000s\n", p->name, p->log, bad);
        free(log);
        fail_msg("%s reported a sanitizer error", p->name);
    }
    free(log);
    return rc;
}

char *at_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    antt_buf_t b;
    antt_buf_init(&b);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        antt_buf_append(&b, tmp, n);
    fclose(f);
    return antt_buf_steal(&b, len);
}

void at_env_add(char **envv, size_t cap, const char *fmt, const char *v)
{
    size_t i = 0;
    while (envv[i])
        i++;
    assert_true(i + 1 < cap);
    envv[i] = antt_xasprintf(fmt, v);
}

void at_env_intake_keys(char **envv, size_t cap, uint8_t pk[32], uint8_t sk[32])
{
    uint8_t p[ANTT_KEY_BYTES], k[ANTT_KEY_BYTES], h[ANTT_KEY_BYTES];
    char hex[2 * ANTT_KEY_BYTES + 1];
    antt_seal_keypair(p, k);
    randombytes_buf(h, sizeof(h));
    antt_key_encode(p, hex);
    at_env_add(envv, cap, "ANTT_KEYS_DISPATCH_PUBLIC=%s", hex);
    antt_key_encode(h, hex);
    at_env_add(envv, cap, "ANTT_KEYS_REPORTER_HASH=%s", hex);
    if (pk)
        memcpy(pk, p, sizeof(p));
    if (sk)
        memcpy(sk, k, sizeof(k));
}

void *at_zmq_monitor(void *zctx, void *sock, const char *inproc)
{
    int linger = 0;
    assert_int_equal(zmq_socket_monitor(sock, inproc, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    void *mon = zmq_socket(zctx, ZMQ_PAIR);
    zmq_setsockopt(mon, ZMQ_LINGER, &linger, sizeof(linger));
    assert_int_equal(zmq_connect(mon, inproc), 0);
    return mon;
}

int at_zmq_handshakes(void *mon)
{
    int n = 0;
    zmq_msg_t ev;
    zmq_msg_init(&ev);
    while (zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) >= 0) {
        uint16_t id;
        memcpy(&id, zmq_msg_data(&ev), sizeof(id));
        n += id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
        zmq_msg_recv(&ev, mon, 0); /* the address frame */
    }
    zmq_msg_close(&ev);
    return n;
}

int at_zmq_handshake(void *zctx, void *sock, const char *ep, int ms)
{
    static int seq;
    char inproc[64];
    snprintf(inproc, sizeof(inproc), "inproc://at-handshake-%d-%d", (int)getpid(), seq++);
    assert_int_equal(zmq_socket_monitor(sock, inproc,
                                        ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                            ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                            ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL),
                     0);
    void *mon = zmq_socket(zctx, ZMQ_PAIR);
    int linger = 0;
    zmq_setsockopt(mon, ZMQ_LINGER, &linger, sizeof(linger));
    assert_int_equal(zmq_connect(mon, inproc), 0);
    assert_int_equal(zmq_connect(sock, ep), 0);
    int result = 0;
    zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) > 0) {
        zmq_msg_t ev;
        zmq_msg_init(&ev);
        zmq_msg_recv(&ev, mon, 0);
        uint16_t id;
        uint32_t value;
        memcpy(&id, zmq_msg_data(&ev), sizeof(id));
        memcpy(&value, (uint8_t *)zmq_msg_data(&ev) + 2, sizeof(value));
        zmq_msg_recv(&ev, mon, 0);
        zmq_msg_close(&ev);
        if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            result = 1;
        else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && value == 400)
            result = -1;
        else
            result = -2;
    }
    zmq_socket_monitor(sock, NULL, 0);
    zmq_close(mon);
    return result;
}

long at_rss_kb(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    char *st = at_read_file(path, NULL);
    const char *p = st ? strstr(st, "VmRSS:") : NULL;
    long kb = p ? atol(p + 6) : -1;
    free(st);
    return kb;
}

double at_metric(int port, const char *name)
{
    char url[128], *b = NULL, line[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
    at_http("GET", url, NULL, NULL, 0, &b);
    snprintf(line, sizeof(line), "\n%s ", name); /* the sample, not its # HELP */
    const char *p = b ? strstr(b, line) : NULL;
    double v = p ? atof(p + strlen(line)) : -1;
    free(b);
    return v;
}

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

/* ---- a steady load ---- */

typedef struct at_load_thread {
    at_load_t *l;
    long first;
} at_load_thread_t;

static void s_load_one(at_load_t *l, long n)
{
    char body[512], hdr[96];
    snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s-%ld", l->prefix, n);
    /* spread over the district so that reports are separate incidents */
    double lat = 10.735 + (double)(n % 80) * 0.001, lon = 106.575 + (double)((n / 80) % 50) * 0.001;
    snprintf(body, sizeof(body),
             "api_key=%s&service_code=theft&lat=%.5f&long=%.5f&description=bi%%20trom%%20xe%%20may%%20so%%20%ld",
             l->api_key, lat, lon, n);
    const char *hs[] = {hdr, NULL};
    pthread_mutex_t *mu = l->mu;
    while (!l->stop) {
        char *resp = NULL;
        int st = at_http("POST", l->url, hs, body, strlen(body), &resp);
        const char *id = resp ? strstr(resp, "\"service_request_id\":\"") : NULL;
        /* 201 stored; 200 stored before (a retry of a report whose answer
         * was lost): the same id either way */
        if ((st == 201 || st == 200) && id) {
            pthread_mutex_lock(mu);
            if (l->acked < l->cap)
                snprintf(l->ids[l->acked++], 40, "%.36s", id + 22);
            pthread_mutex_unlock(mu);
            free(resp);
            return;
        }
        free(resp);
        pthread_mutex_lock(mu);
        l->retries++;
        l->retry_by[st >= 100 && st < 600 ? st / 100 : 0]++;
        pthread_mutex_unlock(mu);
        usleep(50 * 1000); /* a gateway's retry pause, not a synchronisation */
    }
}

static void *s_load_run(void *arg)
{
    at_load_thread_t *t = arg;
    at_load_t *l = t->l;
    for (long n = t->first; !l->stop; n += l->threads) {
        pthread_mutex_lock(l->mu);
        l->sent++;
        pthread_mutex_unlock(l->mu);
        s_load_one(l, n);
        usleep((useconds_t)l->pause_ms * 1000); /* the load's pace */
    }
    free(t);
    return NULL;
}

void at_load_start(at_load_t *l, int http_port, const char *api_key, const char *prefix, int threads, int pause_ms)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->url, sizeof(l->url), "http://127.0.0.1:%d/open311/v2/requests.json", http_port);
    snprintf(l->api_key, sizeof(l->api_key), "%s", api_key);
    snprintf(l->prefix, sizeof(l->prefix), "%s", prefix);
    l->threads = threads < 1 ? 1 : threads > 4 ? 4 : threads;
    l->pause_ms = pause_ms;
    l->cap = 200000;
    l->ids = calloc((size_t)l->cap, 40);
    l->mu = antt_xcalloc(1, sizeof(pthread_mutex_t));
    pthread_mutex_init(l->mu, NULL);
    for (int i = 0; i < l->threads; i++) {
        at_load_thread_t *t = antt_xcalloc(1, sizeof(*t));
        t->l = l;
        t->first = i;
        pthread_t th;
        pthread_create(&th, NULL, s_load_run, t);
        l->th[i] = (unsigned long)th;
    }
}

void at_load_stop(at_load_t *l)
{
    l->stop = 1;
    for (int i = 0; i < l->threads; i++)
        pthread_join((pthread_t)l->th[i], NULL);
}

void at_load_table(at_load_t *l, PGconn *c)
{
    at_db_exec(c, "CREATE TEMP TABLE acked (id uuid)");
    antt_buf_t b;
    antt_buf_init(&b);
    antt_buf_puts(&b, "INSERT INTO acked VALUES ");
    /* the load may still run (a test that counts between faults) */
    if (l->mu)
        pthread_mutex_lock(l->mu);
    long n = l->acked;
    for (long k = 0; k < n; k++)
        antt_buf_printf(&b, "%s('%s')", k ? "," : "", l->ids[k]);
    if (l->mu)
        pthread_mutex_unlock(l->mu);
    if (n)
        at_db_exec(c, b.data);
    antt_buf_cleanup(&b);
}

void at_load_free(at_load_t *l)
{
    free(l->ids);
    if (l->mu)
        pthread_mutex_destroy(l->mu);
    free(l->mu);
    l->ids = NULL;
    l->mu = NULL;
}

typedef struct at_settle {
    PGconn *c;
    long expect;
} at_settle_t;

static int s_settled(void *arg)
{
    at_settle_t *d = arg;
    if (PQstatus(d->c) != CONNECTION_OK)
        PQreset(d->c);
    return at_db_long(d->c, "SELECT count(*) FROM acked a JOIN reports r ON r.id = a.id") == d->expect &&
           at_db_long(d->c, "SELECT count(*) FROM acked a JOIN incident_reports l ON l.report_id = a.id"
                            " JOIN incidents i ON i.id = l.incident_id AND i.desk_code IS NOT NULL") == d->expect &&
           at_db_long(d->c, "SELECT count(*) FROM report_queue") == 0 &&
           at_db_long(d->c, "SELECT count(*) FROM trend_queue") == 0;
}

int at_load_settled(PGconn *c, long expect, int ms)
{
    at_settle_t d = {c, expect};
    return at_wait_until(s_settled, &d, ms);
}

/* The relay: one thread, poll() over the listener and every pair. */
#define R_PAIRS 32
struct at_relay_s {
    int lfd;                        /* listener */
    int target;                     /* port relayed to */
    int fds[R_PAIRS][2];            /* [client, target], -1 when free */
    int dead[R_PAIRS][2];           /* that side closed while the link was cut */
    pthread_t th;                   /* the relay thread */
    pthread_mutex_t mu;             /* guards what the test reads */
    volatile int cut;               /* no bytes move while set */
    volatile int stop;              /* thread ends */
    int closed;                     /* connections an endpoint closed */
    uint8_t *kept;                  /* bytes towards the target */
    size_t nkept;                   /* count of kept */
};

static void s_relay_close(at_relay_t *r, int i, int by_endpoint)
{
    close(r->fds[i][0]);
    close(r->fds[i][1]);
    r->fds[i][0] = r->fds[i][1] = -1;
    r->dead[i][0] = r->dead[i][1] = 0;
    pthread_mutex_lock(&r->mu);
    r->closed += by_endpoint;
    pthread_mutex_unlock(&r->mu);
}

static void *s_relay_run(void *arg)
{
    at_relay_t *r = arg;
    while (!r->stop) {
        struct pollfd pf[1 + 2 * R_PAIRS];
        int idx[1 + 2 * R_PAIRS], n = 0;
        if (!r->cut) {
            pf[n].fd = r->lfd;
            pf[n].events = POLLIN;
            idx[n++] = -1;
        }
        for (int i = 0; i < R_PAIRS; i++) {
            /* healed: a pair one side of which went away during the cut
             * goes away whole (the other side learns it as after a real
             * outage: when bytes flow again) */
            if (!r->cut && r->fds[i][0] >= 0 && (r->dead[i][0] || r->dead[i][1]))
                s_relay_close(r, i, 0);
            for (int k = 0; k < 2 && r->fds[i][0] >= 0; k++) {
                if (r->dead[i][k])
                    continue;
                /* cut: only watch for an endpoint closing (POLLRDHUP), move
                 * nothing and tell the other side nothing */
                pf[n].fd = r->fds[i][k];
                pf[n].events = r->cut ? POLLRDHUP : POLLIN;
                idx[n++] = i * 2 + k;
            }
        }
        if (poll(pf, (nfds_t)n, 50) <= 0)
            continue;
        for (int j = 0; j < n; j++) {
            if (!pf[j].revents)
                continue;
            if (idx[j] < 0) {
                int c = accept(r->lfd, NULL, NULL);
                if (c < 0)
                    continue;
                struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->target),
                                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
                int t = socket(AF_INET, SOCK_STREAM, 0);
                int slot = -1;
                for (int i = 0; i < R_PAIRS && slot < 0; i++)
                    if (r->fds[i][0] < 0)
                        slot = i;
                if (slot < 0 || connect(t, (struct sockaddr *)&a, sizeof(a)) != 0) {
                    close(c);
                    close(t);
                    continue;
                }
                r->fds[slot][0] = c;
                r->fds[slot][1] = t;
                continue;
            }
            int i = idx[j] / 2, k = idx[j] % 2;
            if (r->fds[i][0] < 0)
                continue;
            if (r->cut) {
                if (pf[j].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
                    r->dead[i][k] = 1;
                    pthread_mutex_lock(&r->mu);
                    r->closed++;
                    pthread_mutex_unlock(&r->mu);
                }
                continue;
            }
            uint8_t buf[16384];
            ssize_t got = read(r->fds[i][k], buf, sizeof(buf));
            if (got <= 0) {
                s_relay_close(r, i, 1);
                continue;
            }
            if (k == 0) {
                pthread_mutex_lock(&r->mu);
                size_t keep = (size_t)got;
                if (r->nkept + keep > AT_RELAY_KEEP)
                    keep = AT_RELAY_KEEP - r->nkept;
                memcpy(r->kept + r->nkept, buf, keep);
                r->nkept += keep;
                pthread_mutex_unlock(&r->mu);
            }
            for (ssize_t off = 0; off < got;) {
                ssize_t w = write(r->fds[i][1 - k], buf + off, (size_t)(got - off));
                if (w <= 0)
                    break;
                off += w;
            }
        }
    }
    for (int i = 0; i < R_PAIRS; i++)
        if (r->fds[i][0] >= 0) {
            close(r->fds[i][0]);
            close(r->fds[i][1]);
        }
    return NULL;
}

at_relay_t *at_relay_start(int target_port, int *port)
{
    at_relay_t *r = antt_xcalloc(1, sizeof(*r));
    r->target = target_port;
    r->kept = antt_xmalloc(AT_RELAY_KEEP);
    for (int i = 0; i < R_PAIRS; i++)
        r->fds[i][0] = r->fds[i][1] = -1;
    pthread_mutex_init(&r->mu, NULL);
    r->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(r->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (bind(r->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(r->lfd, 64) != 0 ||
        getsockname(r->lfd, (struct sockaddr *)&a, &al) != 0) {
        close(r->lfd);
        free(r->kept);
        free(r);
        return NULL;
    }
    *port = ntohs(a.sin_port);
    pthread_create(&r->th, NULL, s_relay_run, r);
    return r;
}

void at_relay_cut(at_relay_t *r, int cut)
{
    r->cut = cut;
}

int at_relay_closed(at_relay_t *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->closed;
    pthread_mutex_unlock(&r->mu);
    return n;
}

int at_relay_open(at_relay_t *r)
{
    int n = 0;
    for (int i = 0; i < R_PAIRS; i++)
        n += r->fds[i][0] >= 0 && !r->dead[i][0] && !r->dead[i][1];
    return n;
}

const uint8_t *at_relay_bytes(at_relay_t *r, size_t *len)
{
    pthread_mutex_lock(&r->mu);
    *len = r->nkept;
    pthread_mutex_unlock(&r->mu);
    return r->kept;
}

void at_relay_stop(at_relay_t *r)
{
    if (r == NULL)
        return;
    r->stop = 1;
    pthread_join(r->th, NULL);
    close(r->lfd);
    pthread_mutex_destroy(&r->mu);
    free(r->kept);
    free(r);
}
