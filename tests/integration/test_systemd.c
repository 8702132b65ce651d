/* systemd's notify protocol, as a Type=notify unit with WatchdogSec sees it:
 * a service (aggregation here; all four share antt_service) sends READY=1
 * once /readyz would say ready, WATCHDOG=1 from its loop at half the
 * interval, and STOPPING=1 when asked to stop. The test plays systemd: a
 * datagram socket in NOTIFY_SOCKET, WATCHDOG_USEC in the environment. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "antt_test.h"
#include "antt_util.h"

static void test_notify_protocol(void **state)
{
    (void)state;
    char *conninfo = at_db_create("t_systemd");
    at_stack_t st;
    at_stack_init(&st, conninfo);
    char path[108];
    snprintf(path, sizeof(path), "%s/notify-%d.sock", ANTT_BUILD_DIR, (int)getpid());
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct timeval tv = {0, 200 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    size_t cap = sizeof(st.env) / sizeof(st.env[0]);
    at_env_add(st.env, cap, "NOTIFY_SOCKET=%s", path);
    at_env_add(st.env, cap, "WATCHDOG_USEC=%s", "400000"); /* 0.4 s: pets every 0.2 s */
    assert_int_equal(at_stack_start(&st, AT_AGGREGATION, 20000), 0);
    /* read what it says for 2 s */
    int ready = 0, watchdog = 0;
    int64_t end = antt_now_ms() + 2000;
    char msg[512];
    while (antt_now_ms() < end) {
        ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);
        if (n <= 0)
            continue;
        msg[n] = 0;
        if (strstr(msg, "READY=1")) {
            ready++;
            char want[32];
            snprintf(want, sizeof(want), "MAINPID=%d", (int)st.svc[AT_AGGREGATION].pid);
            assert_non_null(strstr(msg, want));
        }
        if (strstr(msg, "WATCHDOG=1"))
            watchdog++;
    }
    printf("systemd: READY=1 %d time(s), WATCHDOG=1 %d times in 2 s\n", ready, watchdog);
    assert_int_equal(ready, 1);
    assert_true(watchdog >= 6 && watchdog <= 14); /* about every 0.2 s */
    /* a stop request says STOPPING=1 */
    kill(st.svc[AT_AGGREGATION].pid, SIGTERM);
    int stopping = 0;
    end = antt_now_ms() + 5000;
    while (!stopping && antt_now_ms() < end) {
        ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);
        if (n > 0) {
            msg[n] = 0;
            stopping = strstr(msg, "STOPPING=1") != NULL;
        }
    }
    assert_true(stopping);
    at_stack_stop(&st);
    at_stack_free(&st);
    close(fd);
    unlink(path);
    free(conninfo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_protocol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
