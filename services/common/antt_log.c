/* antt_log: key=value log lines written with one write(2) each, so lines of
 * concurrent processes sharing a terminal or file never interleave. */
#include "antt_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int antt_log_level = ANTT_INFO;
static char s_service[32] = "antt";

void antt_log_init(const char *service, antt_log_level_t level)
{
    snprintf(s_service, sizeof(s_service), "%s", service);
    antt_log_level = (int)level;
}

int antt_log_parse_level(const char *s)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (s != NULL && strcasecmp(s, names[i]) == 0)
            return i;
    return -1;
}

void antt_log_write(antt_log_level_t level, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    char msg[2048], line[4608];
    struct timespec ts;
    struct tm tm;

    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line),
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s svc=%s msg=\"",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, names[level & 3], s_service);
    /* escape quotes, backslashes and control characters so one event stays one line */
    for (const char *p = msg; *p && n < (int)sizeof(line) - 8; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            line[n++] = '\\';
            line[n++] = (char)c;
        } else if (c == '\n') {
            line[n++] = '\\';
            line[n++] = 'n';
        } else if (c < 0x20) {
            line[n++] = ' ';
        } else {
            line[n++] = (char)c;
        }
    }
    line[n++] = '"';
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
