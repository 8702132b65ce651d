/* at_relay: a TCP relay between a client and a service that a test can cut
 * and whose bytes it can read. */
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
