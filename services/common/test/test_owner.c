/* Unit test of the stop walk (antt_owner): a service that lets go of its
 * buses (one started, one never started), a database connection and a
 * timer without closing any of them still ends whole: the walk closes each
 * through its owner or with uv_close, the loop closes, and the ZeroMQ
 * context terminates (it would wait forever for a socket left open). A
 * closed object leaves the registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "antt_bus.h"
#include "antt_db.h"
#include "antt_owner.h"

static void s_never(uv_timer_t *t)
{
    (void)t;
    fail();
}

static void test_walk_closes_what_was_left(void **state)
{
    (void)state;
    uv_loop_t loop;
    antt_owners_t owners;
    assert_int_equal(uv_loop_init(&loop), 0);
    antt_owners_attach(&owners, &loop);
    void *z = zmq_ctx_new();
    antt_bus_t *pull = antt_bus_new(&loop, z, ZMQ_PULL, 0, NULL, NULL);
    assert_int_equal(antt_bus_bind(pull, "inproc://owner-test"), 0);
    assert_int_equal(antt_bus_start(pull), 0);
    antt_bus_t *idle = antt_bus_new(&loop, z, ZMQ_PUSH, 0, NULL, NULL); /* never started */
    (void)idle;
    antt_db_t *db = antt_db_new(&loop, "host=/nonexistent dbname=x", "test");
    (void)db;
    antt_bus_t *closed = antt_bus_new(&loop, z, ZMQ_PUB, 0, NULL, NULL);
    antt_bus_close(closed, NULL, NULL); /* leaves the registry */
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    uv_timer_start(&t, s_never, 60000, 0);
    int n = 0;
    for (antt_owner_t *o = owners.head; o; o = o->next)
        n++;
    assert_int_equal(n, 3);
    int raw = antt_owners_close_all(&loop, NULL, NULL);
    assert_null(owners.head);
    assert_int_equal(raw, 1); /* the timer; the owners closed their own handles */
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    antt_owners_detach(&loop);
    assert_int_equal(zmq_ctx_term(z), 0);
    printf("the walk closed 3 owners and %d other handle; the loop and the ZeroMQ context ended\n", raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_closes_what_was_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
