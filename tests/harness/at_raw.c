/* at_raw: raw HTTP clients over sockets of the test's own (that can stall,
 * pipeline, speak HTTP/2 or come from another loopback address), and what a
 * process holds that a client can make it hold (descriptors, the kernel's
 * unsent bytes). See at_raw.h. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "antt_util.h"
#include "at_raw.h"

double at_raw_ms(void)
{
    return (double)antt_mono_ns() / 1e6;
}

/* A connected socket to 127.0.0.1:port from src (NULL: any), with a small
 * receive buffer when small. -1 on failure. */
int at_raw_connect(int port, const char *src, int small)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (small) {
        int rb = 4096;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
    }
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (src) {
        inet_pton(AF_INET, src, &a.sin_addr);
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
            close(fd);
            return -1;
        }
    }
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int at_raw_send(int fd, const char *text, size_t len)
{
    while (len) {
        ssize_t k = send(fd, text, len, MSG_NOSIGNAL);
        if (k <= 0)
            return -1;
        text += k;
        len -= (size_t)k;
    }
    return 0;
}

/* Reads into buf (NUL-ended) until it holds `until` or ms pass or the peer
 * closes. Returns the bytes read, -1 on a reset with nothing read. */
ssize_t at_raw_read_until(int fd, char *buf, size_t cap, const char *until, int ms)
{
    size_t n = 0;
    double end = at_raw_ms() + ms;
    buf[0] = 0;
    while (n + 1 < cap && !(until && strstr(buf, until))) {
        int left = (int)(end - at_raw_ms());
        if (left <= 0)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0)
            break;
        ssize_t k = recv(fd, buf + n, cap - 1 - n, 0);
        if (k <= 0)
            return n ? (ssize_t)n : (k == 0 ? 0 : -1);
        n += (size_t)k;
        buf[n] = 0;
    }
    return (ssize_t)n;
}

int at_raw_status(const char *resp)
{
    int st = 0;
    return sscanf(resp, "HTTP/1.%*d %d", &st) == 1 ? st : -1;
}

/* One request on a new connection; its status, and the milliseconds to the
 * status line in *ms. */
int at_raw_request(int port, const char *src, const char *path, double *ms)
{
    double t0 = at_raw_ms();
    int fd = at_raw_connect(port, src, 0);
    if (fd < 0)
        return -1;
    char req[512], buf[4096];
    int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    int st = -1;
    if (at_raw_send(fd, req, (size_t)len) == 0 && at_raw_read_until(fd, buf, sizeof(buf), "\r\n", 5000) > 0)
        st = at_raw_status(buf);
    *ms = at_raw_ms() - t0;
    close(fd);
    return st;
}

int at_raw_stream_open(int port, const char *src, const char *path, const char *auth, int small)
{
    int fd = at_raw_connect(port, src, small);
    if (fd < 0)
        return -1;
    char req[512];
    int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n%s%s%s\r\n",
                       path, auth ? "Authorization: Bearer " : "", auth ? auth : "", auth ? "\r\n" : "");
    if (at_raw_send(fd, req, (size_t)len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}


long at_raw_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}


/* Bytes the kernel holds unsent on the established sockets of local port
 * port (the sum of ss's Send-Q): what stalled clients cost beside RSS. */
long at_raw_sendq(int port)
{
    char cmd[160], line[512];
    snprintf(cmd, sizeof(cmd), "ss -Htn state established '( sport = :%d )'", port);
    FILE *f = popen(cmd, "r");
    long sum = 0;
    while (f && fgets(line, sizeof(line), f)) {
        long rq = 0, sq = 0;
        if (sscanf(line, "%ld %ld", &rq, &sq) == 2)
            sum += sq;
    }
    if (f)
        pclose(f);
    return sum;
}
