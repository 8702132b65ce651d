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
