/* antt_util: allocation, time, UUIDv7, RFC 3339 time and byte buffers. */
#include "antt_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

static void s_oom(size_t n)
{
    fprintf(stderr, "antt: out of memory allocating %zu bytes\n", n);
    abort();
}

void *antt_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        s_oom(n);
    return p;
}

void *antt_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        s_oom(n * size);
    return p;
}

void *antt_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        s_oom(n);
    return q;
}

char *antt_xstrdup(const char *s)
{
    if (s == NULL)
        return NULL;
    return antt_xstrndup(s, strlen(s));
}

char *antt_xstrndup(const char *s, size_t n)
{
    char *p = antt_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *antt_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    char *p = antt_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int64_t antt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t antt_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void antt_uuid7(char out[ANTT_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    uint64_t ms = (uint64_t)antt_now_ms();

    randombytes_buf(b + 6, 10);
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(ms >> (40 - 8 * i));
    b[6] = (uint8_t)(0x70 | (b[6] & 0x0f)); /* version 7 */
    b[8] = (uint8_t)(0x80 | (b[8] & 0x3f)); /* RFC 4122 variant */

    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
}

int antt_uuid_valid(const char *s)
{
    if (s == NULL || strlen(s) != ANTT_UUID_LEN)
        return 0;
    for (int i = 0; i < ANTT_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

char *antt_format_time(int64_t ms, char *out, size_t outlen)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

static int s_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return 0;
}

int antt_parse_time(const char *s, int64_t *ms)
{
    int Y, M, D, h = 0, m = 0, sec = 0, frac_ms = 0, off_min = 0;
    const char *p = s;

    if (s == NULL)
        return -EINVAL;
    if (s_digits(&p, 4, &Y) || *p++ != '-' || s_digits(&p, 2, &M) || *p++ != '-' ||
        s_digits(&p, 2, &D))
        return -EINVAL;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (s_digits(&p, 2, &h) || *p++ != ':' || s_digits(&p, 2, &m))
            return -EINVAL;
        if (*p == ':') {
            p++;
            if (s_digits(&p, 2, &sec))
                return -EINVAL;
            if (*p == '.' || *p == ',') {
                p++;
                int scale = 100, any = 0;
                while (isdigit((unsigned char)*p)) {
                    frac_ms += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                    any = 1;
                }
                if (!any)
                    return -EINVAL;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
            if (s_digits(&p, 2, &oh))
                return -EINVAL;
            if (*p == ':')
                p++;
            if (*p != '\0' && s_digits(&p, 2, &om))
                return -EINVAL;
            if (oh > 23 || om > 59)
                return -EINVAL;
            off_min = sign * (oh * 60 + om);
        }
        /* no zone: taken as UTC; documented in docs/protocol.md */
    }
    if (*p != '\0')
        return -EINVAL;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || Y < 1970 ||
        Y > 9999)
        return -EINVAL;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (D > mdays[M - 1] || (M == 2 && D == 29 && !leap))
        return -EINVAL;

    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    *ms = ((int64_t)t - (int64_t)off_min * 60) * 1000 + frac_ms;
    return 0;
}

void antt_buf_init(antt_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void antt_buf_cleanup(antt_buf_t *b)
{
    free(b->data);
    antt_buf_init(b);
}

static void s_buf_reserve(antt_buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = antt_xrealloc(b->data, cap);
    b->cap = cap;
}

void antt_buf_append(antt_buf_t *b, const void *p, size_t n)
{
    s_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void antt_buf_puts(antt_buf_t *b, const char *s)
{
    antt_buf_append(b, s, strlen(s));
}

void antt_buf_printf(antt_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    s_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *antt_buf_steal(antt_buf_t *b, size_t *len)
{
    if (b->data == NULL)
        antt_buf_append(b, "", 0);
    char *p = b->data;
    if (len)
        *len = b->len;
    antt_buf_init(b);
    return p;
}

uint64_t antt_hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}
