/* agg_state: the live trend state aggregation publishes (the key-value map of
 * the ZeroMQ guide's Clone pattern).
 *
 * A key is "<area>|<period>|<bucket>|<dimension>": area any area of the tree,
 * period day, week (ISO), month, quarter or year, bucket its label
 * ("2026-11-23", "2026-W48", "2026-11", "2026-Q4", "2026") and dimension
 * "all", "group:<code>" or "category:<code>". Its value is the count of
 * incidents. The database holds the truth per leaf area and day; the state
 * adds each leaf change to every ancestor, period and dimension it belongs
 * to. Every changed key gets the next sequence number, so that "what changed
 * after sequence S" is the keys whose sequence is above S.
 *
 * The state covers a window: day and week keys from `day_min` (a Monday),
 * month, quarter and year keys from `year_min` (a 1 January). Older changes
 * are in the database only. */
#ifndef AGG_STATE_H
#define AGG_STATE_H

#include <stddef.h>
#include <stdint.h>

enum {
    AGG_P_DAY = 1,
    AGG_P_WEEK = 2,
    AGG_P_MONTH = 4,
    AGG_P_QUARTER = 8,
    AGG_P_YEAR = 16,
    AGG_P_ALL = 31
};

typedef struct agg_area agg_area_t;

/* A key's four parts, parsed once when the key is made. */
typedef struct agg_key {
    const char *area;       /* "HCM-BTA-P1" */
    const char *period;     /* "day", "week", "month", "quarter" or "year" */
    const char *bucket;     /* "2026-11-23", "2026-W48", "2026-11", "2026-Q4", "2026" */
    const char *dimension;  /* "all", "group:<code>" or "category:<code>" */
    char *buf;              /* the key with NULs for separators; the parts point into it */
} agg_key_t;

/* Splits key into k (k->buf is the caller's to free). 0, or -1 when key
 * does not have four parts (k is then empty). */
int agg_key_parse(const char *key, agg_key_t *k);

typedef struct agg_kv {
    char *key;              /* "<area>|<period>|<bucket>|<dimension>" */
    agg_key_t k;            /* its parts */
    const agg_area_t *area; /* the key's area */
    int64_t count;          /* the value */
    int64_t seq;            /* sequence of its last change, 0 for loaded values */
    int64_t prev;           /* its count before the changes of its last take */
    int64_t taken;          /* its count at its last take */
    int64_t source_ms;      /* oldest change (incident updated_at) in its last update */
    int dirty;              /* changed since the last agg_state_take */
    uint32_t hash;
    struct agg_kv *next;    /* hash chain */
} agg_kv_t;

typedef struct agg_state agg_state_t;

agg_state_t *agg_state_new(void);
void agg_state_free(agg_state_t *st);

/* Replaces the area tree (codes[i] has parent parents[i], NULL at a root)
 * and the statistic groups (group_of[i] contains category_of[i]). Clears
 * every value. */
void agg_state_set_tree(agg_state_t *st, char **codes, char **parents, size_t nareas, char **group_of,
                        char **category_of, size_t nmembers);
/* Clears every value and sets the window (days since 1970-01-01). */
void agg_state_reset(agg_state_t *st, int32_t day_min, int32_t year_min);
int32_t agg_state_day_min(const agg_state_t *st);
int32_t agg_state_year_min(const agg_state_t *st);

/* Adds delta incidents of category in leaf area on day to the keys of the
 * periods in mask (within the window). source_ms: when the change was made
 * (0: unknown). Returns -1 when the area is unknown, else 0. */
int agg_state_add(agg_state_t *st, const char *area, int32_t day, const char *category, int64_t delta,
                  int mask, int64_t source_ms);
/* Gives every changed key the next sequence number and returns them (an
 * array valid until the next call; *n their number). */
agg_kv_t **agg_state_take(agg_state_t *st, size_t *n);
int64_t agg_state_seq(const agg_state_t *st);
size_t agg_state_size(const agg_state_t *st);
/* Calls fn for every key whose area is root or below it (root NULL or ""
 * = all), whose period is `period` (NULL = any) and whose sequence is above
 * after_seq. Returns -1 when root is not a known area. */
int agg_state_each(const agg_state_t *st, const char *root, const char *period, int64_t after_seq,
                   void (*fn)(const agg_kv_t *kv, void *arg), void *arg);
/* The same in pieces, for a walk that spans loop iterations: starts at
 * *cursor (0 at first) and stops after the first hash bucket at whose end
 * more(arg) says 0; *cursor is then where to go on. Returns 1 when the walk
 * is complete, 0 when it stopped early, -1 when root is unknown. A walk
 * whose table grew meanwhile (agg_state_layout changed) must start over:
 * keys moved between buckets. */
int agg_state_each_from(const agg_state_t *st, const char *root, const char *period, int64_t after_seq,
                        size_t *cursor, int (*more)(void *arg), void (*fn)(const agg_kv_t *kv, void *arg),
                        void *arg);
/* Changes whenever the hash table is resized or cleared. */
uint64_t agg_state_layout(const agg_state_t *st);
/* 1 when kv's area is root or below it (root NULL or "": always). */
int agg_state_under(const agg_state_t *st, const agg_kv_t *kv, const char *root);
/* Marks code (a known area) as fine: below the ward level, whose public
 * figures are delayed (agg_audience). Until the next agg_state_set_tree. */
void agg_state_set_fine(agg_state_t *st, const char *code);
/* 1 when kv's area is fine. */
int agg_kv_fine(const agg_kv_t *kv);
/* 1 when code is a known area. */
int agg_state_has_area(const agg_state_t *st, const char *code);
agg_kv_t *agg_state_get(const agg_state_t *st, const char *key);

/* Calendar helpers on days since 1970-01-01 (proleptic Gregorian). */
int32_t agg_days_from_civil(int y, int m, int d);
void agg_civil_from_days(int32_t z, int *y, int *m, int *d);
/* Parses "YYYY-MM-DD". 0 or -1. */
int agg_parse_day(const char *s, int32_t *day);
/* The bucket label and first day of a period (one AGG_P_* bit) holding day. */
int32_t agg_period_start(int period, int32_t day);
void agg_period_label(int period, int32_t day, char *out, size_t outlen);
const char *agg_period_name(int period);

#endif
