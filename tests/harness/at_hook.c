/* at_hook: the tests' webhook receiver (see at_hook.h). */
#include "at_hook.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "antt_util.h"

static void s_header(const char *req, const char *name, char *out, size_t outlen)
{
    out[0] = 0;
    const char *p = strcasestr(req, name);
    if (p == NULL)
        return;
    p += strlen(name);
    while (*p == ' ' || *p == ':')
        p++;
    size_t n = strcspn(p, "\r\n");
    snprintf(out, outlen, "%.*s", (int)n, p);
}

static void s_serve(at_hook_t *h, int c)
{
    char buf[65536];
    size_t len = 0;
    char *end = NULL;
    while (len < sizeof(buf) - 1) {
        struct pollfd pf = {c, POLLIN, 0};
        if (poll(&pf, 1, 2000) <= 0)
            return;
        ssize_t k = recv(c, buf + len, sizeof(buf) - 1 - len, 0);
        if (k <= 0)
            return;
        len += (size_t)k;
        buf[len] = 0;
        if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
            char cl[32];
            s_header(buf, "content-length", cl, sizeof(cl));
            size_t want = (size_t)(end + 4 - buf) + (size_t)atol(cl);
            if (len >= want)
                break;
        }
    }
    if (end == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    if (h->n < AT_HOOK_MAX) {
        at_hook_msg_t *m = &h->msgs[h->n++];
        s_header(buf, "webhook-id", m->id, sizeof(m->id));
        s_header(buf, "webhook-timestamp", m->ts, sizeof(m->ts));
        s_header(buf, "webhook-signature", m->sig, sizeof(m->sig));
        m->body = antt_xstrdup(end + 4);
        m->at_ms = (long long)antt_now_ms();
    }
    pthread_mutex_unlock(&h->mu);
    const char *ok = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
    (void)!send(c, ok, strlen(ok), MSG_NOSIGNAL);
}

static void *s_run(void *arg)
{
    at_hook_t *h = arg;
    while (!h->stop) {
        struct pollfd pf = {h->fd, POLLIN, 0};
        if (poll(&pf, 1, 50) == 1) {
            int c = accept(h->fd, NULL, NULL);
            if (c >= 0) {
                if (!h->refuse)
                    s_serve(h, c);
                close(c);
            }
        }
    }
    return NULL;
}

int at_hook_start(at_hook_t *h, int port)
{
    h->port = port;
    h->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(h->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(h->fd, 64) != 0)
        return -1;
    h->stop = 0;
    return pthread_create(&h->thread, NULL, s_run, h);
}

void at_hook_down(at_hook_t *h)
{
    h->refuse = 1;
}

void at_hook_up(at_hook_t *h)
{
    h->refuse = 0;
}

void at_hook_stop(at_hook_t *h)
{
    if (h->fd < 0)
        return;
    h->stop = 1;
    pthread_join(h->thread, NULL);
    close(h->fd);
    h->fd = -1;
    for (int i = 0; i < h->n; i++)
        free(h->msgs[i].body);
    h->n = 0;
}

int at_hook_count(at_hook_t *h, const char *needle)
{
    int k = 0;
    pthread_mutex_lock(&h->mu);
    for (int i = 0; i < h->n; i++)
        if (needle == NULL || strstr(h->msgs[i].body, needle))
            k++;
    pthread_mutex_unlock(&h->mu);
    return k;
}

int at_hook_repeats_outside(at_hook_t *h, const long long *since_ms, const long long *until_ms, int n)
{
    int k = 0;
    pthread_mutex_lock(&h->mu);
    for (int i = 0; i < h->n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(h->msgs[i].id, h->msgs[j].id)) {
                int excused = 0;
                for (int w = 0; w < n; w++)
                    excused |= h->msgs[j].at_ms >= since_ms[w] && h->msgs[j].at_ms <= until_ms[w];
                k += !excused;
                break;
            }
    pthread_mutex_unlock(&h->mu);
    return k;
}

int at_hook_repeats(at_hook_t *h)
{
    return at_hook_repeats_outside(h, NULL, NULL, 0);
}
