/* agg_state: see agg_state.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_state.h"
#include "antt_util.h"

#define AGG_MAX_DEPTH 8   /* area levels walked up */
#define AGG_MAX_GROUPS 16 /* groups one category belongs to */

struct agg_area {
    char *code;
    char *parent_code;
    const agg_area_t *parent;
    int fine; /* below the ward level */
};

typedef struct agg_member {
    char *group;
    char *category;
} agg_member_t;

struct agg_state {
    agg_area_t *areas;
    size_t nareas;
    agg_member_t *members;
    size_t nmembers;
    agg_kv_t **buckets; /* hash table, nbuckets a power of two */
    size_t nbuckets;
    size_t size;
    agg_kv_t **dirty; /* changed keys in order of change */
    size_t ndirty, capdirty;
    agg_kv_t **taken; /* what the last take returned */
    int64_t seq;
    int32_t day_min, year_min;
    uint64_t layout; /* bumped when the table is resized or cleared */
};

int agg_key_parse(const char *key, agg_key_t *k)
{
    memset(k, 0, sizeof(*k));
    char *buf = antt_xstrdup(key), *parts[4];
    int n = 0;
    parts[n++] = buf;
    for (char *p = buf; *p && n < 4; p++)
        if (*p == '|') {
            *p = 0;
            parts[n++] = p + 1;
        }
    if (n != 4) {
        free(buf);
        return -1;
    }
    k->buf = buf;
    k->area = parts[0];
    k->period = parts[1];
    k->bucket = parts[2];
    k->dimension = parts[3];
    return 0;
}

static uint32_t s_hash(const char *s)
{
    uint64_t h = antt_hash_str(s);
    return (uint32_t)(h ^ (h >> 32));
}

agg_state_t *agg_state_new(void)
{
    agg_state_t *st = antt_xcalloc(1, sizeof(*st));
    st->nbuckets = 1024;
    st->buckets = antt_xcalloc(st->nbuckets, sizeof(*st->buckets));
    return st;
}

static void s_clear(agg_state_t *st)
{
    for (size_t i = 0; i < st->nbuckets; i++) {
        agg_kv_t *kv = st->buckets[i];
        while (kv) {
            agg_kv_t *next = kv->next;
            free(kv->key);
            free(kv->k.buf);
            free(kv);
            kv = next;
        }
        st->buckets[i] = NULL;
    }
    st->layout++;
    st->size = 0;
    st->ndirty = 0;
    free(st->taken);
    st->taken = NULL;
}

static void s_free_tree(agg_state_t *st)
{
    for (size_t i = 0; i < st->nareas; i++) {
        free(st->areas[i].code);
        free(st->areas[i].parent_code);
    }
    for (size_t i = 0; i < st->nmembers; i++) {
        free(st->members[i].group);
        free(st->members[i].category);
    }
    free(st->areas);
    free(st->members);
    st->areas = NULL;
    st->members = NULL;
    st->nareas = st->nmembers = 0;
}

void agg_state_free(agg_state_t *st)
{
    if (st == NULL)
        return;
    s_clear(st);
    s_free_tree(st);
    free(st->buckets);
    free(st->dirty);
    free(st);
}

static int s_area_cmp(const void *a, const void *b)
{
    return strcmp(((const agg_area_t *)a)->code, ((const agg_area_t *)b)->code);
}

static const agg_area_t *s_area(const agg_state_t *st, const char *code)
{
    if (code == NULL || st->nareas == 0)
        return NULL;
    agg_area_t k = {.code = (char *)code};
    return bsearch(&k, st->areas, st->nareas, sizeof(*st->areas), s_area_cmp);
}

int agg_state_has_area(const agg_state_t *st, const char *code)
{
    return s_area(st, code) != NULL;
}

void agg_state_set_tree(agg_state_t *st, char **codes, char **parents, size_t nareas, char **group_of,
                        char **category_of, size_t nmembers)
{
    s_clear(st);
    s_free_tree(st);
    st->areas = antt_xcalloc(nareas + 1, sizeof(*st->areas));
    for (size_t i = 0; i < nareas; i++) {
        st->areas[i].code = antt_xstrdup(codes[i]);
        st->areas[i].parent_code = antt_xstrdup(parents[i]);
    }
    st->nareas = nareas;
    qsort(st->areas, nareas, sizeof(*st->areas), s_area_cmp);
    for (size_t i = 0; i < nareas; i++)
        st->areas[i].parent = s_area(st, st->areas[i].parent_code);
    st->members = antt_xcalloc(nmembers + 1, sizeof(*st->members));
    for (size_t i = 0; i < nmembers; i++) {
        st->members[i].group = antt_xstrdup(group_of[i]);
        st->members[i].category = antt_xstrdup(category_of[i]);
    }
    st->nmembers = nmembers;
}

void agg_state_set_fine(agg_state_t *st, const char *code)
{
    agg_area_t *a = (agg_area_t *)s_area(st, code);
    if (a)
        a->fine = 1;
}

int agg_kv_fine(const agg_kv_t *kv)
{
    return kv->area != NULL && kv->area->fine;
}

void agg_state_reset(agg_state_t *st, int32_t day_min, int32_t year_min)
{
    s_clear(st);
    st->day_min = day_min;
    st->year_min = year_min;
}

int32_t agg_state_day_min(const agg_state_t *st)
{
    return st->day_min;
}

int32_t agg_state_year_min(const agg_state_t *st)
{
    return st->year_min;
}

static void s_grow(agg_state_t *st)
{
    size_t nb = st->nbuckets * 2;
    agg_kv_t **b = antt_xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < st->nbuckets; i++) {
        agg_kv_t *kv = st->buckets[i];
        while (kv) {
            agg_kv_t *next = kv->next;
            kv->next = b[kv->hash & (nb - 1)];
            b[kv->hash & (nb - 1)] = kv;
            kv = next;
        }
    }
    free(st->buckets);
    st->buckets = b;
    st->nbuckets = nb;
    st->layout++;
}

agg_kv_t *agg_state_get(const agg_state_t *st, const char *key)
{
    uint32_t h = s_hash(key);
    for (agg_kv_t *kv = st->buckets[h & (st->nbuckets - 1)]; kv; kv = kv->next)
        if (kv->hash == h && !strcmp(kv->key, key))
            return kv;
    return NULL;
}

static void s_bump(agg_state_t *st, const agg_area_t *area, const char *key, int64_t delta, int64_t source_ms)
{
    agg_kv_t *kv = agg_state_get(st, key);
    if (kv == NULL) {
        if (st->size + 1 > st->nbuckets * 3 / 4)
            s_grow(st);
        kv = antt_xcalloc(1, sizeof(*kv));
        kv->key = antt_xstrdup(key);
        agg_key_parse(key, &kv->k); /* keys are made here, always of four parts */
        kv->area = area;
        kv->hash = s_hash(key);
        kv->next = st->buckets[kv->hash & (st->nbuckets - 1)];
        st->buckets[kv->hash & (st->nbuckets - 1)] = kv;
        st->size++;
    }
    kv->count += delta;
    if (!kv->dirty) {
        kv->source_ms = source_ms;
        kv->dirty = 1;
        if (st->ndirty == st->capdirty) {
            st->capdirty = st->capdirty ? st->capdirty * 2 : 1024;
            st->dirty = antt_xrealloc(st->dirty, st->capdirty * sizeof(*st->dirty));
        }
        st->dirty[st->ndirty++] = kv;
    } else if (source_ms > 0 && (kv->source_ms == 0 || source_ms < kv->source_ms)) {
        kv->source_ms = source_ms;
    }
}

int agg_state_add(agg_state_t *st, const char *area, int32_t day, const char *category, int64_t delta,
                  int mask, int64_t source_ms)
{
    const agg_area_t *leaf = s_area(st, area);
    if (leaf == NULL)
        return -1;
    const char *groups[AGG_MAX_GROUPS];
    int ng = 0;
    for (size_t i = 0; i < st->nmembers && ng < AGG_MAX_GROUPS; i++)
        if (!strcmp(st->members[i].category, category))
            groups[ng++] = st->members[i].group;
    char key[512];
    for (int p = AGG_P_DAY; p <= AGG_P_YEAR; p <<= 1) {
        if (!(mask & p))
            continue;
        int32_t start = agg_period_start(p, day);
        if ((p & (AGG_P_DAY | AGG_P_WEEK)) ? start < st->day_min : start < st->year_min)
            continue;
        char label[32];
        agg_period_label(p, day, label, sizeof(label));
        const agg_area_t *a = leaf;
        for (int depth = 0; a && depth < AGG_MAX_DEPTH; a = a->parent, depth++) {
            snprintf(key, sizeof(key), "%s|%s|%s|all", a->code, agg_period_name(p), label);
            s_bump(st, a, key, delta, source_ms);
            snprintf(key, sizeof(key), "%s|%s|%s|category:%s", a->code, agg_period_name(p), label, category);
            s_bump(st, a, key, delta, source_ms);
            for (int g = 0; g < ng; g++) {
                snprintf(key, sizeof(key), "%s|%s|%s|group:%s", a->code, agg_period_name(p), label, groups[g]);
                s_bump(st, a, key, delta, source_ms);
            }
        }
    }
    return 0;
}

agg_kv_t **agg_state_take(agg_state_t *st, size_t *n)
{
    free(st->taken);
    st->taken = st->dirty;
    *n = st->ndirty;
    for (size_t i = 0; i < st->ndirty; i++) {
        st->dirty[i]->dirty = 0;
        st->dirty[i]->seq = ++st->seq;
        st->dirty[i]->prev = st->dirty[i]->taken;
        st->dirty[i]->taken = st->dirty[i]->count;
    }
    st->dirty = NULL;
    st->ndirty = st->capdirty = 0;
    return st->taken;
}

int64_t agg_state_seq(const agg_state_t *st)
{
    return st->seq;
}

size_t agg_state_size(const agg_state_t *st)
{
    return st->size;
}

static int s_under(const agg_area_t *a, const agg_area_t *root)
{
    for (int depth = 0; a && depth < AGG_MAX_DEPTH; a = a->parent, depth++)
        if (a == root)
            return 1;
    return 0;
}

int agg_state_under(const agg_state_t *st, const agg_kv_t *kv, const char *root)
{
    if (root == NULL || !*root)
        return 1;
    const agg_area_t *r = s_area(st, root);
    return r && s_under(kv->area, r);
}

int agg_state_each_from(const agg_state_t *st, const char *root, const char *period, int64_t after_seq,
                        size_t *cursor, int (*more)(void *arg), void (*fn)(const agg_kv_t *kv, void *arg),
                        void *arg)
{
    const agg_area_t *r = NULL;
    if (root && *root && (r = s_area(st, root)) == NULL)
        return -1;
    for (size_t i = *cursor; i < st->nbuckets; i++) {
        for (agg_kv_t *kv = st->buckets[i]; kv; kv = kv->next) {
            if (kv->seq <= after_seq && after_seq > 0)
                continue;
            if (r && !s_under(kv->area, r))
                continue;
            if (period && *period && strcmp(kv->k.period, period))
                continue;
            fn(kv, arg);
        }
        if (more && !more(arg)) {
            *cursor = i + 1;
            return *cursor >= st->nbuckets;
        }
    }
    *cursor = st->nbuckets;
    return 1;
}

int agg_state_each(const agg_state_t *st, const char *root, const char *period, int64_t after_seq,
                   void (*fn)(const agg_kv_t *kv, void *arg), void *arg)
{
    size_t cursor = 0;
    return agg_state_each_from(st, root, period, after_seq, &cursor, NULL, fn, arg) < 0 ? -1 : 0;
}

uint64_t agg_state_layout(const agg_state_t *st)
{
    return st->layout;
}

/* ---- calendar (H. Hinnant's days_from_civil and civil_from_days) ---------- */

int32_t agg_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const int yoe = y - era * 400;
    const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void agg_civil_from_days(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const int doe = z - era * 146097;
    const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

int agg_parse_day(const char *s, int32_t *day)
{
    int y, m, d;
    char tail;
    if (s == NULL || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    int32_t z = agg_days_from_civil(y, m, d);
    int y2, m2, d2;
    agg_civil_from_days(z, &y2, &m2, &d2);
    if (y2 != y || m2 != m || d2 != d)
        return -1; /* 31 February */
    *day = z;
    return 0;
}

/* 1970-01-01 was a Thursday: Monday-based weekday 0..6. */
static int s_weekday(int32_t day)
{
    return (int)(((day + 3) % 7 + 7) % 7);
}

int32_t agg_period_start(int period, int32_t day)
{
    int y, m, d;
    agg_civil_from_days(day, &y, &m, &d);
    switch (period) {
    case AGG_P_DAY:
        return day;
    case AGG_P_WEEK:
        return day - s_weekday(day);
    case AGG_P_MONTH:
        return agg_days_from_civil(y, m, 1);
    case AGG_P_QUARTER:
        return agg_days_from_civil(y, (m - 1) / 3 * 3 + 1, 1);
    default:
        return agg_days_from_civil(y, 1, 1);
    }
}

void agg_period_label(int period, int32_t day, char *out, size_t outlen)
{
    int y, m, d;
    agg_civil_from_days(day, &y, &m, &d);
    switch (period) {
    case AGG_P_DAY:
        snprintf(out, outlen, "%04d-%02d-%02d", y, m, d);
        break;
    case AGG_P_WEEK: {
        /* the ISO year is the year of the week's Thursday */
        int32_t thu = day - s_weekday(day) + 3;
        int ty, tm, td;
        agg_civil_from_days(thu, &ty, &tm, &td);
        int week = (thu - agg_days_from_civil(ty, 1, 1)) / 7 + 1;
        snprintf(out, outlen, "%04d-W%02d", ty, week);
        break;
    }
    case AGG_P_MONTH:
        snprintf(out, outlen, "%04d-%02d", y, m);
        break;
    case AGG_P_QUARTER:
        snprintf(out, outlen, "%04d-Q%d", y, (m - 1) / 3 + 1);
        break;
    default:
        snprintf(out, outlen, "%04d", y);
        break;
    }
}

const char *agg_period_name(int period)
{
    switch (period) {
    case AGG_P_DAY:
        return "day";
    case AGG_P_WEEK:
        return "week";
    case AGG_P_MONTH:
        return "month";
    case AGG_P_QUARTER:
        return "quarter";
    default:
        return "year";
    }
}
