/* classify_text: text -> folded tokens with clause boundaries and shorthand
 * expanded, the one tokenizer that rules, training and classification share. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "antt_text.h"
#include "antt_util.h"
#include "classify_int.h"

void classify_tokens_init(classify_tokens_t *t)
{
    memset(t, 0, sizeof(*t));
}

void classify_tokens_cleanup(classify_tokens_t *t)
{
    free(t->tok);
    free(t->buf);
    memset(t, 0, sizeof(*t));
}

/* Appends one token; tok[] entries are stored as offsets until the end, because
 * buf may move while it grows. */
static void s_push(classify_tokens_t *t, const char *s, size_t len)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->tok = antt_xrealloc(t->tok, t->cap * sizeof(*t->tok));
    }
    if (t->used + len + 1 > t->bufcap) {
        while (t->used + len + 1 > t->bufcap)
            t->bufcap = t->bufcap ? t->bufcap * 2 : 1024;
        t->buf = antt_xrealloc(t->buf, t->bufcap);
    }
    t->tok[t->n++] = (char *)(uintptr_t)t->used;
    memcpy(t->buf + t->used, s, len);
    t->buf[t->used + len] = '\0';
    t->used += len + 1;
}

static int s_last_is_clause(const classify_tokens_t *t)
{
    if (t->n == 0)
        return 1;
    size_t off = (size_t)(uintptr_t)t->tok[t->n - 1];
    return t->buf[off] == ',' && t->buf[off + 1] == '\0';
}

/* Appends one folded word, expanding shorthand. */
static void s_word(classify_tokens_t *t, const classify_rules_t *rules, const char *w, size_t wl)
{
    const classify_phrase_t *sh = rules ? classify_table_find(&rules->shorthand, w, wl) : NULL;
    if (sh == NULL) {
        s_push(t, w, wl);
        return;
    }
    const char *e = sh->hits[0].orig; /* folded expansion, words separated by one space */
    while (*e) {
        const char *q = strchr(e, ' ');
        size_t el = q ? (size_t)(q - e) : strlen(e);
        s_push(t, e, el);
        e += el;
        if (*e == ' ')
            e++;
    }
}

int classify_tokenize_folded(classify_tokens_t *t, const classify_rules_t *rules, const char *folded)
{
    t->n = 0;
    t->used = 0;
    const char *p = folded;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        size_t wl = (size_t)(p - w);
        if (wl == 0)
            break;
        /* a clause or sentence end of the folding: one "," between clauses */
        if (wl == 1 && (w[0] == ',' || w[0] == '.')) {
            if (!s_last_is_clause(t))
                s_push(t, ",", 1);
            continue;
        }
        s_word(t, rules, w, wl);
    }
    while (t->n > 0 && s_last_is_clause(t)) {
        t->n--;
        t->used = (size_t)(uintptr_t)t->tok[t->n];
    }
    for (size_t k = 0; k < t->n; k++)
        t->tok[k] = t->buf + (size_t)(uintptr_t)t->tok[k];
    return 0;
}

int classify_tokenize(classify_tokens_t *t, const classify_rules_t *rules, const char *text, size_t len)
{
    char *f = antt_text_fold_clauses(text, len);
    if (f == NULL) {
        t->n = 0;
        t->used = 0;
        return -EILSEQ;
    }
    int rc = classify_tokenize_folded(t, rules, f);
    free(f);
    return rc;
}
