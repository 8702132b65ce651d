/* classify_areas: area names as folded phrases in two hash tables (full
 * names with their level word, bare names without). */
#include "classify_areas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_util.h"
#include "classify_int.h"

#define S_AMBIGUOUS (-1)

struct classify_areas_s {
    classify_table_t full;  /* "phuong an lac a" -> area index (hit target) */
    classify_table_t bare;  /* "an lac a" -> area index */
    char **codes;           /* area codes by index (owned) */
    int *depth;             /* level depth by index */
    int n;                  /* areas */
    classify_tokens_t tok;  /* scratch */
};

/* Level words a name may start with, folded, and the short forms residents
 * write in front of a bare name. */
static const char *const S_LEVELS[] = {"thanh pho", "tinh", "quan", "huyen", "thi xa", "phuong", "xa",
                                       "thi tran", "khu pho", "ap", "to dan pho", NULL};
static const char *const S_SHORT[] = {"tp", "p", "q", "kp", NULL};

classify_areas_t *classify_areas_new(void)
{
    classify_areas_t *a = antt_xcalloc(1, sizeof(*a));
    classify_tokens_init(&a->tok);
    return a;
}

void classify_areas_destroy(classify_areas_t **self_p)
{
    classify_areas_t *a = *self_p;
    if (a == NULL)
        return;
    classify_table_cleanup(&a->full);
    classify_table_cleanup(&a->bare);
    for (int i = 0; i < a->n; i++)
        free(a->codes[i]);
    free(a->codes);
    free(a->depth);
    classify_tokens_cleanup(&a->tok);
    free(a);
    *self_p = NULL;
}

int classify_areas_count(const classify_areas_t *a)
{
    return a->n;
}

/* Folded words of s without clause marks, joined by single spaces. */
static void s_fold(classify_areas_t *a, const char *s, char *out, size_t outlen)
{
    out[0] = '\0';
    if (classify_tokenize(&a->tok, NULL, s, strlen(s)) != 0)
        return;
    size_t used = 0;
    for (size_t i = 0; i < a->tok.n; i++) {
        const char *w = a->tok.tok[i];
        size_t l = strlen(w);
        if ((w[0] == ',' && l == 1) || used + l + 2 > outlen)
            continue;
        if (used)
            out[used++] = ' ';
        memcpy(out + used, w, l);
        used += l;
    }
    out[used] = '\0';
}

/* Registers key for area idx; a key two different areas share is ambiguous
 * (one area may be added under several spellings of its name). */
static void s_put(classify_areas_t *a, classify_table_t *t, const char *key, int idx)
{
    int created;
    classify_phrase_t *p = classify_table_intern(t, key, &created);
    if (created)
        classify_phrase_add_hit(p, idx, 0, NULL);
    else if (p->hits[0].target != S_AMBIGUOUS && strcmp(a->codes[p->hits[0].target], a->codes[idx]) != 0)
        p->hits[0].target = S_AMBIGUOUS;
}

static int s_words(const char *s)
{
    int n = *s ? 1 : 0;
    for (; *s; s++)
        n += *s == ' ';
    return n;
}

void classify_areas_add(classify_areas_t *a, const char *code, const char *name, int depth)
{
    int idx = a->n++;
    a->codes = antt_xrealloc(a->codes, (size_t)a->n * sizeof(*a->codes));
    a->depth = antt_xrealloc(a->depth, (size_t)a->n * sizeof(*a->depth));
    a->codes[idx] = antt_xstrdup(code);
    a->depth[idx] = depth;
    char full[512];
    s_fold(a, name, full, sizeof(full));
    if (!*full)
        return;
    s_put(a, &a->full, full, idx);
    for (int i = 0; S_LEVELS[i]; i++) {
        size_t l = strlen(S_LEVELS[i]);
        if (strncmp(full, S_LEVELS[i], l) != 0 || full[l] != ' ')
            continue;
        const char *bare = full + l + 1;
        if (s_words(bare) >= 2 || (bare[0] >= '0' && bare[0] <= '9'))
            for (int k = 0; S_SHORT[k]; k++) {
                char key[600];
                snprintf(key, sizeof(key), "%s %s", S_SHORT[k], bare);
                s_put(a, &a->full, key, idx);
            }
        if (s_words(bare) >= 2)
            s_put(a, &a->bare, bare, idx);
        break;
    }
}

/* Best area named in s: longest match, then deepest; -1 when none. */
static int s_scan(classify_areas_t *a, const char *s, int bare_too)
{
    if (s == NULL || !*s)
        return -1;
    char text[4096];
    s_fold(a, s, text, sizeof(text));
    int best = -1, best_words = 0;
    /* word starts */
    const char *starts[1024];
    int nw = 0;
    for (const char *p = text; *p && nw < 1024;) {
        starts[nw++] = p;
        const char *sp = strchr(p, ' ');
        if (sp == NULL)
            break;
        p = sp + 1;
    }
    for (int i = 0; i < nw; i++) {
        for (int w = 1; w <= 12 && i + w <= nw; w++) {
            const char *end = i + w < nw ? starts[i + w] - 1 : text + strlen(text);
            size_t len = (size_t)(end - starts[i]);
            const classify_phrase_t *p = classify_table_find(&a->full, starts[i], len);
            if (p == NULL && bare_too)
                p = classify_table_find(&a->bare, starts[i], len);
            if (p == NULL || p->hits[0].target == S_AMBIGUOUS)
                continue;
            int t = p->hits[0].target;
            if (w > best_words || (w == best_words && a->depth[t] > a->depth[best])) {
                best = t;
                best_words = w;
            }
        }
    }
    return best;
}

const char *classify_areas_find(classify_areas_t *a, const char *address, const char *text)
{
    int i = s_scan(a, address, 1);
    if (i < 0)
        i = s_scan(a, text, 0);
    return i < 0 ? NULL : a->codes[i];
}
