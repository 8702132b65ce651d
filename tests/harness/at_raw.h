/* at_raw: raw HTTP clients for the tests that attack the HTTP doors, and
 * the process probes they measure with. */
#ifndef AT_RAW_H
#define AT_RAW_H

#include <stddef.h>
#include <sys/types.h>

/* Milliseconds of a monotonic clock. */
double at_raw_ms(void);
/* A connected socket to 127.0.0.1:port from src (NULL: any), with a 4 KB
 * receive buffer when small. -1 on failure. */
int at_raw_connect(int port, const char *src, int small);
/* Sends all of text; 0, or -1. */
int at_raw_send(int fd, const char *text, size_t len);
/* Reads into buf (NUL-ended) until it holds `until` or ms pass or the peer
 * closes. Returns the bytes read, -1 on a reset with nothing read. */
ssize_t at_raw_read_until(int fd, char *buf, size_t cap, const char *until, int ms);
/* The status of an HTTP/1.x response's status line, or -1. */
int at_raw_status(const char *resp);
/* One GET on a new connection; its status, and the milliseconds to the
 * status line in *ms. */
int at_raw_request(int port, const char *src, const char *path, double *ms);
/* Opens an SSE stream (GET path, Accept: text/event-stream, the bearer
 * token auth when not NULL) and returns its socket unread, or -1. */
int at_raw_stream_open(int port, const char *src, const char *path, const char *auth, int small);
/* The process's open descriptors, or -1. */
long at_raw_fds(pid_t pid);
/* Bytes the kernel holds unsent on the established sockets of local port
 * port (the sum of ss's Send-Q). */
long at_raw_sendq(int port);

#endif
