/* classify_rules: loads config/classification.rules — category and priority
 * terms with weights, negations, category→priority biases, shorthand and
 * settings — into hash tables of folded phrases. */
#include <ctype.h>
#include <sodium.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_categories.h"
#include "antt_config.h"
#include "antt_util.h"
#include "classify_int.h"

uint64_t classify_hash(const char *s, size_t len, uint64_t seed)
{
    uint64_t h = 1469598103934665603ULL ^ (seed * 1099511628211ULL);
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h ? h : 1;
}

const classify_phrase_t *classify_table_find(const classify_table_t *t, const char *key, size_t len)
{
    if (t->cap == 0)
        return NULL;
    uint64_t h = classify_hash(key, len, 0);
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        const classify_phrase_t *p = t->slot[i];
        if (p == NULL)
            return NULL;
        if (p->hash == h && strncmp(p->key, key, len) == 0 && p->key[len] == '\0')
            return p;
    }
}

static void s_table_grow(classify_table_t *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 64;
    classify_phrase_t **ns = antt_xcalloc(ncap, sizeof(*ns));
    for (size_t i = 0; i < t->cap; i++) {
        classify_phrase_t *p = t->slot[i];
        if (p == NULL)
            continue;
        size_t j = p->hash & (ncap - 1);
        while (ns[j])
            j = (j + 1) & (ncap - 1);
        ns[j] = p;
    }
    free(t->slot);
    t->slot = ns;
    t->cap = ncap;
}

classify_phrase_t *classify_table_intern(classify_table_t *t, const char *key, int *created)
{
    classify_phrase_t *p = (classify_phrase_t *)classify_table_find(t, key, strlen(key));
    *created = p == NULL;
    if (p)
        return p;
    if ((t->n + 1) * 2 > t->cap)
        s_table_grow(t);
    p = antt_xcalloc(1, sizeof(*p));
    p->key = antt_xstrdup(key);
    p->hash = classify_hash(key, strlen(key), 0);
    size_t j = p->hash & (t->cap - 1);
    while (t->slot[j])
        j = (j + 1) & (t->cap - 1);
    t->slot[j] = p;
    t->n++;
    return p;
}

void classify_table_cleanup(classify_table_t *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slot[i] == NULL)
            continue;
        free(t->slot[i]->key);
        free(t->slot[i]->hits);
        free(t->slot[i]);
    }
    free(t->slot);
    memset(t, 0, sizeof(*t));
}

/* The phrase for key in table, created (and given an id) when new. */
static classify_phrase_t *s_intern(classify_rules_t *r, classify_table_t *t, const char *key)
{
    int created;
    classify_phrase_t *p = classify_table_intern(t, key, &created);
    if (created) {
        p->id = r->nphrases;
        r->phrases = antt_xrealloc(r->phrases, (size_t)(r->nphrases + 1) * sizeof(*r->phrases));
        r->phrases[r->nphrases++] = p;
    }
    return p;
}

static const char *s_keep(classify_rules_t *r, const char *s, size_t len)
{
    r->origs = antt_xrealloc(r->origs, (size_t)(r->norigs + 1) * sizeof(*r->origs));
    r->origs[r->norigs] = antt_xstrndup(s, len);
    return r->origs[r->norigs++];
}

void classify_phrase_add_hit(classify_phrase_t *p, int target, float weight, const char *orig)
{
    for (int i = 0; i < p->nhits; i++)
        if (p->hits[i].target == target) { /* listed twice: the larger weight */
            if (weight > p->hits[i].weight)
                p->hits[i].weight = weight;
            return;
        }
    p->hits = antt_xrealloc(p->hits, (size_t)(p->nhits + 1) * sizeof(*p->hits));
    p->hits[p->nhits++] = (classify_hit_t){target, weight, orig};
}

static char *s_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Folds a phrase with the tokenizer (shorthand already loaded) and joins its
 * tokens with single spaces into out. Returns the token count, or -1. */
int classify_fold_phrase(const classify_rules_t *r, const char *s, char *out, size_t outlen)
{
    classify_tokens_t t;
    classify_tokens_init(&t);
    int n = -1;
    if (classify_tokenize(&t, r, s, strlen(s)) != 0 || t.n == 0 || t.n > CLASSIFY_MAX_PHRASE)
        goto out;
    size_t used = 0;
    for (size_t i = 0; i < t.n; i++) {
        size_t l = strlen(t.tok[i]);
        if (!strcmp(t.tok[i], ",") || used + l + 2 > outlen)
            goto out;
        if (i)
            out[used++] = ' ';
        memcpy(out + used, t.tok[i], l);
        used += l;
    }
    out[used] = '\0';
    n = (int)t.n;
out:
    classify_tokens_cleanup(&t);
    return n;
}

enum { S_NONE, S_SETTINGS, S_CATEGORY, S_PRIORITY, S_CATPRIO, S_NEG, S_END, S_SHORTHAND };

/* Parses a section header into *sec and *target; 0 or -1. */
static int s_section(char *h, int *sec, int *target)
{
    char name[64] = "", arg[64] = "";
    if (sscanf(h, "[%63[a-z_] %63[A-Za-z0-9_]]", name, arg) < 1)
        return -1;
    char *close = strchr(h, ']');
    if (close == NULL || close[1] != '\0')
        return -1;
    *target = -1;
    if (!strcmp(name, "settings"))
        *sec = S_SETTINGS;
    else if (!strcmp(name, "category_priority"))
        *sec = S_CATPRIO;
    else if (!strcmp(name, "negation"))
        *sec = S_NEG;
    else if (!strcmp(name, "scope_end"))
        *sec = S_END;
    else if (!strcmp(name, "shorthand"))
        *sec = S_SHORTHAND;
    else if (!strcmp(name, "category")) {
        const antt_category_t *c = antt_category_find(arg);
        if (c == NULL)
            return -1;
        *sec = S_CATEGORY;
        *target = (int)(c - antt_categories);
    } else if (!strcmp(name, "priority")) {
        if (strlen(arg) != 2 || arg[0] != 'P' || arg[1] < '1' || arg[1] > '4')
            return -1;
        *sec = S_PRIORITY;
        *target = arg[1] - '0';
    } else
        return -1;
    return 0;
}

static int s_setting(classify_rules_t *r, char *line)
{
    char *eq = strchr(line, '=');
    if (eq == NULL)
        return -1;
    *eq = '\0';
    char *k = s_trim(line), *v = s_trim(eq + 1), *end = NULL;
    double d = strtod(v, &end);
    if (end == v || *end != '\0')
        return -1;
    if (!strcmp(k, "model_weight"))
        r->model_weight = (float)d;
    else if (!strcmp(k, "prio_model_weight"))
        r->prio_model_weight = (float)d;
    else if (!strcmp(k, "hint_weight"))
        r->hint_weight = (float)d;
    else if (!strcmp(k, "other_bias"))
        r->other_bias = (float)d;
    else if (!strcmp(k, "negation_window") && d >= 0 && d <= 10)
        r->negation_window = (int)d;
    else if (!strcmp(k, "review_threshold") && d >= 0 && d <= 1)
        r->review_threshold = (float)d;
    else
        return -1;
    return 0;
}

/* "ko k hok = không": every abbreviation maps to the folded expansion. */
static int s_shorthand(classify_rules_t *r, char *line)
{
    char *eq = strchr(line, '=');
    if (eq == NULL)
        return -1;
    *eq = '\0';
    char exp[256];
    if (classify_fold_phrase(NULL, s_trim(eq + 1), exp, sizeof(exp)) < 1)
        return -1;
    const char *orig = s_keep(r, exp, strlen(exp));
    char *save = NULL;
    int n = 0;
    for (char *w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        char key[128];
        if (classify_fold_phrase(NULL, w, key, sizeof(key)) != 1)
            return -1;
        classify_phrase_t *p = s_intern(r, &r->shorthand, key);
        if (p->nhits == 0)
            classify_phrase_add_hit(p, 0, 0, orig);
        n++;
    }
    return n > 0 ? 0 : -1;
}

/* "3 trộm | ăn trộm": phrases with a weight (none for negation lists). */
static int s_phrases(classify_rules_t *r, int kind, int target, char *line, int weighted)
{
    float w = 0;
    char *p = line;
    if (weighted) {
        char *end = NULL;
        w = strtof(p, &end);
        if (end == p || !isspace((unsigned char)*end) || w < -20 || w > 20)
            return -1;
        p = end;
    }
    int n = 0;
    for (char *ph = p, *bar; ph; ph = bar ? bar + 1 : NULL) {
        bar = strchr(ph, '|');
        if (bar)
            *bar = '\0';
        ph = s_trim(ph); /* an empty alternative is a typo: classify_fold_phrase refuses it */
        char key[512];
        if (classify_fold_phrase(r, ph, key, sizeof(key)) < 1)
            return -1;
        classify_phrase_t *e = s_intern(r, &r->tables[kind], key);
        classify_phrase_add_hit(e, target, w, s_keep(r, ph, strlen(ph)));
        /* its prefixes too, without votes: matching stops at the first
         * word sequence that no phrase starts with */
        for (char *sp = strchr(key, ' '); sp; sp = strchr(sp + 1, ' ')) {
            *sp = '\0';
            s_intern(r, &r->tables[kind], key);
            *sp = ' ';
        }
        n++;
    }
    return n > 0 ? 0 : -1;
}

static int s_catprio(classify_rules_t *r, char *line)
{
    char cat[64], pr[8];
    float w;
    char extra;
    if (sscanf(line, "%63s %7s %f %c", cat, pr, &w, &extra) != 3)
        return -1;
    const antt_category_t *c = antt_category_find(cat);
    if (c == NULL || strlen(pr) != 2 || pr[0] != 'P' || pr[1] < '1' || pr[1] > '4')
        return -1;
    r->cat_prio[c - antt_categories][pr[1] - '1'] = w;
    return 0;
}

/* One pass over the file: pass 0 reads settings and shorthand (which the
 * phrases of pass 1 are folded with), pass 1 everything else. */
static int s_pass(classify_rules_t *r, FILE *f, const char *path, int pass, char *err, size_t errlen)
{
    char line[4096];
    int lineno = 0, sec = S_NONE, target = -1;
    rewind(f);
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t l = strlen(line);
        if (l == sizeof(line) - 1 && line[l - 1] != '\n') {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            return -1;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = s_trim(line);
        if (*s == '\0')
            continue;
        int rc = 0;
        if (*s == '[') {
            rc = s_section(s, &sec, &target);
        } else if (sec == S_SETTINGS || sec == S_SHORTHAND) {
            if (pass == 0)
                rc = sec == S_SETTINGS ? s_setting(r, s) : s_shorthand(r, s);
        } else if (pass == 1) {
            switch (sec) {
            case S_CATEGORY: rc = s_phrases(r, CLASSIFY_K_CAT, target, s, 1); break;
            case S_PRIORITY: rc = s_phrases(r, CLASSIFY_K_PRIO, target, s, 1); break;
            case S_NEG: rc = s_phrases(r, CLASSIFY_K_NEG, 0, s, 0); break;
            case S_END: rc = s_phrases(r, CLASSIFY_K_END, 0, s, 0); break;
            case S_CATPRIO: rc = s_catprio(r, s); break;
            default: rc = -1; break;
            }
        }
        if (rc != 0) {
            snprintf(err, errlen, "%s:%d: could not parse \"%.80s\"", path, lineno, s);
            return -1;
        }
    }
    return 0;
}

/* BLAKE2b-256 of the whole file: the model records the rules it learned. */
static int s_digest(classify_rules_t *r, FILE *f, const char *path, char *err, size_t errlen)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof(r->digest));
    rewind(f);
    unsigned char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        crypto_generichash_update(&st, buf, n);
    if (ferror(f)) {
        snprintf(err, errlen, "could not read rules \"%s\"", path);
        return -1;
    }
    crypto_generichash_final(&st, r->digest, sizeof(r->digest));
    return 0;
}

classify_rules_t *classify_rules_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "could not open rules \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    classify_rules_t *r = antt_xcalloc(1, sizeof(*r));
    r->model_weight = 0.3f;
    r->prio_model_weight = 0.3f;
    r->hint_weight = 1.0f;
    r->negation_window = 3;
    r->review_threshold = 0.5f;
    if (s_pass(r, f, path, 0, err, errlen) != 0 || s_pass(r, f, path, 1, err, errlen) != 0 ||
        s_digest(r, f, path, err, errlen) != 0)
        classify_rules_destroy(&r);
    else if (r->tables[CLASSIFY_K_CAT].n == 0) {
        snprintf(err, errlen, "%s: no category terms", path);
        classify_rules_destroy(&r);
    }
    fclose(f);
    return r;
}

void classify_rules_destroy(classify_rules_t **self_p)
{
    classify_rules_t *r = *self_p;
    if (r == NULL)
        return;
    free(r->phrases); /* the tables own the phrases */
    for (int i = 0; i < r->norigs; i++)
        free(r->origs[i]);
    free(r->origs);
    for (int k = 0; k < CLASSIFY_K_COUNT; k++)
        classify_table_cleanup(&r->tables[k]);
    classify_table_cleanup(&r->shorthand);
    free(r);
    *self_p = NULL;
}

const char *classify_rules_path(const struct antt_config_s *cfg)
{
    const char *p = cfg ? antt_config_get(cfg, "classification.rules", NULL) : NULL;
    return p && *p ? p : ANTT_DEFAULT_RULES;
}

const char *classify_model_path(const struct antt_config_s *cfg)
{
    const char *p = cfg ? antt_config_get(cfg, "classification.model", NULL) : NULL;
    return p && *p ? p : ANTT_DEFAULT_MODEL;
}
