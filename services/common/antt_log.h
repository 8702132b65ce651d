/* antt_log: one line per event on stderr, as key=value pairs:
 *   ts=2026-11-22T20:40:00.123Z level=warn svc=intake msg="could not store report: ..."
 * The level is checked before the arguments are evaluated. Never log a
 * reporter's contact or any other secret. */
#ifndef ANTT_LOG_H
#define ANTT_LOG_H

typedef enum {
    ANTT_DEBUG = 0,
    ANTT_INFO = 1,
    ANTT_WARN = 2,
    ANTT_ERROR = 3,
} antt_log_level_t;

extern int antt_log_level;

#define ANTT_LOG(lvl, ...)                                                                         \
    do {                                                                                           \
        if ((int)(lvl) >= antt_log_level)                                                          \
            antt_log_write((lvl), __VA_ARGS__);                                                    \
    } while (0)

/* Sets the service name printed as svc= and the minimum level. Call once at start. */
void antt_log_init(const char *service, antt_log_level_t level);
/* Parses "debug", "info", "warn", "error"; returns -1 when unknown. */
int antt_log_parse_level(const char *s);
void antt_log_write(antt_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
