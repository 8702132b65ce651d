/* Unit tests of the loop glue: antt_bus (ZeroMQ on libuv) and antt_http
 * (libh2o on libuv), each on a real loop with real sockets. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "antt_bus.h"
#include "antt_http.h"
#include "antt_metrics.h"
#include "antt_util.h"

/* bus: a PUSH and a PULL socket on one loop; every message arrives, in
 * order, although the sender outpaces the budget per turn */

typedef struct bus_ctx {
    uv_loop_t loop;      /* loop */
    antt_bus_t *push;    /* sender */
    antt_bus_t *pull;    /* receiver */
    int received;        /* messages seen */
    int in_order;        /* every message had the expected number */
    int closed;          /* close callbacks run */
} bus_ctx_t;

static void on_pull(antt_bus_t *bus, zmq_msg_t *frames, size_t n, void *arg)
{
    bus_ctx_t *c = arg;
    (void)bus;
    int v;
    assert_int_equal(n, 2);
    assert_int_equal(zmq_msg_size(&frames[1]), sizeof(v));
    memcpy(&v, zmq_msg_data(&frames[1]), sizeof(v));
    if (v != c->received)
        c->in_order = 0;
    c->received++;
    if (c->received == 5000) {
        antt_bus_close(c->pull, NULL, NULL);
        antt_bus_close(c->push, NULL, NULL);
    }
}

static void test_bus(void **state)
{
    (void)state;
    bus_ctx_t c = {.in_order = 1};
    void *z = zmq_ctx_new();
    assert_int_equal(uv_loop_init(&c.loop), 0);
    c.pull = antt_bus_new(&c.loop, z, ZMQ_PULL, 0, on_pull, &c);
    c.push = antt_bus_new(&c.loop, z, ZMQ_PUSH, 0, NULL, NULL);
    antt_bus_set_budget(c.pull, 7);
    int hwm = 20000; /* all 5000 fit before the loop runs */
    zmq_setsockopt(antt_bus_socket(c.pull), ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(antt_bus_socket(c.push), ZMQ_SNDHWM, &hwm, sizeof(hwm));
    assert_int_equal(antt_bus_bind(c.pull, "inproc://t"), 0);
    assert_int_equal(antt_bus_connect(c.push, "inproc://t"), 0);
    assert_int_equal(antt_bus_start(c.pull), 0);
    assert_int_equal(antt_bus_start(c.push), 0);
    for (int i = 0; i < 5000; i++) {
        assert_int_equal(antt_bus_send(c.push, "k", 1, 1), 0);
        assert_int_equal(antt_bus_send(c.push, &i, sizeof(i), 0), 0);
    }
    uv_run(&c.loop, UV_RUN_DEFAULT);
    assert_int_equal(c.received, 5000);
    assert_true(c.in_order);
    assert_int_equal(uv_loop_close(&c.loop), 0);
    zmq_ctx_term(z);
}

/* http: a server on a free port; a client thread sends requests; the
 * handler answers one at once and one later from a timer */

typedef struct http_ctx {
    uv_loop_t loop;           /* loop */
    antt_http_t *http;        /* server */
    uv_timer_t later;         /* answers the deferred request */
    antt_http_req_t *held;    /* the deferred request */
    uv_async_t done;          /* the client thread finished */
    int port;                 /* bound port */
    int statuses[4];          /* what the client saw */
    char body[4][64];         /* bodies the client saw */
} http_ctx_t;

static void on_later(uv_timer_t *t)
{
    http_ctx_t *c = t->data;
    antt_http_respond(c->held, 202, "text/plain", "later", 5);
    c->held = NULL;
    uv_close((uv_handle_t *)t, NULL);
}

static void on_echo(antt_http_req_t *req, void *arg)
{
    http_ctx_t *c = arg;
    antt_str_t path = antt_http_path(req);
    if (antt_http_is(path, "/t/later")) {
        c->held = req;
        uv_timer_start(&c->later, on_later, 20, 0);
        return;
    }
    antt_str_t body = antt_http_body(req);
    antt_http_add_header(req, "X-Test", "1");
    antt_http_respond(req, 200, "text/plain", body.p, body.n);
}

static size_t s_write(char *p, size_t s, size_t n, void *arg)
{
    char *out = arg;
    size_t have = strlen(out), add = s * n;
    if (have + add < 64) {
        memcpy(out + have, p, add);
        out[have + add] = '\0';
    }
    return s * n;
}

static void *client(void *arg)
{
    http_ctx_t *c = arg;
    const char *paths[] = {"/t/echo", "/t/later", "/livez", "/nowhere"};
    for (int i = 0; i < 4; i++) {
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", c->port, paths[i]);
        CURL *h = curl_easy_init();
        curl_easy_setopt(h, CURLOPT_URL, url);
        if (i == 0)
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, "hello");
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, c->body[i]);
        long st = -1;
        if (curl_easy_perform(h) == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
        c->statuses[i] = (int)st;
        curl_easy_cleanup(h);
    }
    uv_async_send(&c->done);
    return NULL;
}

static void on_done(uv_async_t *a)
{
    http_ctx_t *c = a->data;
    antt_http_close(c->http, NULL, NULL);
    uv_close((uv_handle_t *)a, NULL);
}

static void test_http(void **state)
{
    (void)state;
    http_ctx_t c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(uv_loop_init(&c.loop), 0);
    c.http = antt_http_new(&c.loop);
    antt_http_route(c.http, "/t/", on_echo, &c);
    assert_int_equal(antt_http_listen(c.http, "127.0.0.1", 0), 0);
    c.port = antt_http_port(c.http);
    assert_true(c.port > 0);
    uv_timer_init(&c.loop, &c.later);
    c.later.data = &c;
    uv_async_init(&c.loop, &c.done, on_done);
    c.done.data = &c;
    pthread_t th;
    pthread_create(&th, NULL, client, &c);
    uv_run(&c.loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    assert_int_equal(c.statuses[0], 200);
    assert_string_equal(c.body[0], "hello");
    assert_int_equal(c.statuses[1], 202);
    assert_string_equal(c.body[1], "later");
    assert_int_equal(c.statuses[2], 200);
    assert_int_equal(c.statuses[3], 404);
    assert_int_equal(uv_loop_close(&c.loop), 0);
    antt_metrics_reset();
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bus),
        cmocka_unit_test(test_http),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
