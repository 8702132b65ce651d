/* antt_util: allocation that aborts on out-of-memory, time, ids, small helpers
 * shared by every service. */
#ifndef ANTT_UTIL_H
#define ANTT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ANTT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ANTT_UUID_LEN 36 /* text form without the NUL */

/* FNV-1a (64 bits) of a NUL-terminated string: for the in-memory hash
 * tables (not for anything an attacker's choice of keys could flood). */
uint64_t antt_hash_str(const char *s);

/* Allocation never fails for the caller: out-of-memory aborts the process. */
void *antt_xmalloc(size_t n);
void *antt_xcalloc(size_t n, size_t size);
void *antt_xrealloc(void *p, size_t n);
char *antt_xstrdup(const char *s);          /* NULL in, NULL out */
char *antt_xstrndup(const char *s, size_t n);
char *antt_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Wall clock in unix milliseconds, and a monotonic clock in nanoseconds. */
int64_t antt_now_ms(void);
uint64_t antt_mono_ns(void);

/* Writes a UUID version 7 (unix-ms time ordered, 74 random bits) in text form
 * into out, which must hold ANTT_UUID_LEN + 1 bytes. Needs sodium_init(). */
void antt_uuid7(char out[ANTT_UUID_LEN + 1]);
/* 1 when s is a canonical lowercase or uppercase UUID text, else 0. */
int antt_uuid_valid(const char *s);

/* Formats unix ms as RFC 3339 UTC with a "Z" ("2026-11-22T20:40:00Z") into out
 * (at least 32 bytes). Returns out. */
char *antt_format_time(int64_t ms, char *out, size_t outlen);
/* Parses RFC 3339 / ISO 8601 date-time with optional fraction and a zone
 * ("Z", "+07:00", "+0700"), or a plain date. Returns 0 and sets *ms, or -EINVAL. */
int antt_parse_time(const char *s, int64_t *ms);

/* A growable byte buffer; the caller owns data. */
typedef struct antt_buf_s {
    char *data; /* NUL-terminated contents, or NULL when empty and never grown */
    size_t len; /* bytes used, not counting the NUL */
    size_t cap; /* bytes allocated */
} antt_buf_t;

void antt_buf_init(antt_buf_t *b);
void antt_buf_cleanup(antt_buf_t *b);
void antt_buf_append(antt_buf_t *b, const void *p, size_t n);
void antt_buf_puts(antt_buf_t *b, const char *s);
void antt_buf_printf(antt_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the contents to the caller (never NULL) and resets b. */
char *antt_buf_steal(antt_buf_t *b, size_t *len);

#endif
