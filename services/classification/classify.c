/* classify: combines the rule layer and the model into one decision with
 * reasons. Scores are log-odds: rule weights add, the model adds its
 * log-posterior scaled by model_weight, the resident's service_code adds
 * hint_weight; the answer is the arg-max and the confidence its softmax. */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_categories.h"
#include "antt_util.h"
#include "classify_int.h"

struct classify_s {
    const classify_rules_t *rules; /* borrowed */
    const classify_model_t *model; /* borrowed, may be NULL */
    classify_tokens_t tok;         /* scratch: tokens of the current text */
    uint64_t *feat;                /* scratch: model features */
    size_t fcap;                   /* entries allocated in feat */
    uint32_t *seen;                /* per phrase id: gen when it last counted */
    uint32_t gen;                  /* current text's generation */
    unsigned char *mark;           /* per token: S_NEGATED / S_STOP bits */
    size_t mcap;                   /* entries allocated in mark */
};

enum { S_NEGATED = 1, S_STOP = 2 };

classify_t *classify_new(const classify_rules_t *rules, const classify_model_t *model)
{
    classify_t *c = antt_xcalloc(1, sizeof(*c));
    c->rules = rules;
    c->model = model;
    classify_tokens_init(&c->tok);
    c->seen = antt_xcalloc((size_t)rules->nphrases + 1, sizeof(*c->seen));
    return c;
}

void classify_destroy(classify_t **self_p)
{
    classify_t *c = *self_p;
    if (c == NULL)
        return;
    classify_tokens_cleanup(&c->tok);
    free(c->feat);
    free(c->seen);
    free(c->mark);
    free(c);
    *self_p = NULL;
}

void classify_result_cleanup(classify_result_t *r)
{
    for (int i = 0; i < r->nreasons; i++)
        free(r->reasons[i]);
    memset(r, 0, sizeof(*r));
}

static void s_reason(classify_result_t *r, int explain, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void s_reason(classify_result_t *r, int explain, const char *fmt, ...)
{
    if (!explain || r->nreasons == CLASSIFY_MAX_REASONS)
        return;
    va_list ap;
    va_start(ap, fmt);
    char buf[256];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    r->reasons[r->nreasons++] = antt_xstrdup(buf);
}

/* The longest phrase of table starting at token i (not crossing a clause
 * boundary); its length in tokens goes to *len. */
static const classify_phrase_t *s_match(const classify_t *c, const classify_table_t *t, size_t i, size_t *len)
{
    char key[512];
    size_t kl = 0;
    const classify_phrase_t *best = NULL;
    for (size_t l = 0; l < CLASSIFY_MAX_PHRASE && i + l < c->tok.n; l++) {
        const char *w = c->tok.tok[i + l];
        size_t wl = strlen(w);
        if ((w[0] == ',' && wl == 1) || kl + wl + 2 > sizeof(key))
            break;
        if (l)
            key[kl++] = ' ';
        memcpy(key + kl, w, wl);
        kl += wl;
        const classify_phrase_t *p = classify_table_find(t, key, kl);
        if (p) {
            best = p;
            *len = l + 1;
        }
    }
    return best;
}

/* Marks clause ends and scope ends (S_STOP), then the tokens each negation
 * covers (S_NEGATED): up to negation_window tokens, not past a stop. */
static void s_mark(classify_t *c)
{
    size_t n = c->tok.n;
    if (n == 0)
        return;
    if (n > c->mcap) {
        c->mcap = n * 2;
        c->mark = antt_xrealloc(c->mark, c->mcap);
    }
    memset(c->mark, 0, n);
    for (size_t i = 0; i < n;) {
        size_t len = 1;
        const char *w = c->tok.tok[i];
        if (w[0] == ',' && w[1] == '\0')
            c->mark[i] |= S_STOP;
        else if (s_match(c, &c->rules->tables[CLASSIFY_K_END], i, &len))
            for (size_t k = i; k < i + len; k++)
                c->mark[k] |= S_STOP;
        i += len;
    }
    for (size_t i = 0; i < n;) {
        size_t len = 1;
        if (s_match(c, &c->rules->tables[CLASSIFY_K_NEG], i, &len)) {
            size_t k = i + len;
            for (int w = 0; w < c->rules->negation_window && k < n && !(c->mark[k] & S_STOP); w++, k++)
                c->mark[k] |= S_NEGATED;
        }
        i += len;
    }
}

/* Adds the weights of every phrase of kind found in the text to score[],
 * each phrase once, skipping negated ones. */
static void s_vote(classify_t *c, int kind, double *score, int offset, classify_result_t *r, int explain)
{
    const classify_table_t *t = &c->rules->tables[kind];
    for (size_t i = 0; i < c->tok.n;) {
        size_t len = 1;
        const classify_phrase_t *p = s_match(c, t, i, &len);
        if (p && c->seen[p->id] != c->gen) {
            if (c->mark[i] & S_NEGATED) {
                s_reason(r, explain, "negated \"%s\"", p->hits[0].orig);
            } else {
                c->seen[p->id] = c->gen; /* each phrase counts once per text */
                for (int h = 0; h < p->nhits; h++) {
                    score[p->hits[h].target - offset] += p->hits[h].weight;
                    if (kind == CLASSIFY_K_CAT)
                        s_reason(r, explain, "\"%s\" -> %s %+.1f", p->hits[h].orig,
                                 antt_categories[p->hits[h].target].code, p->hits[h].weight);
                    else
                        s_reason(r, explain, "\"%s\" -> P%d %+.1f", p->hits[h].orig, p->hits[h].target,
                                 p->hits[h].weight);
                }
            }
        }
        i += len;
    }
}

/* Index of the maximum; ties go to the preferred index. */
static int s_argmax(const double *s, int n, int preferred)
{
    int best = preferred;
    for (int i = 0; i < n; i++)
        if (s[i] > s[best])
            best = i;
    return best;
}

static float s_softmax_at(const double *s, int n, int at)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += exp(s[i] - s[at]);
    return (float)(1.0 / sum);
}

int classify_run(classify_t *c, const char *text, size_t len, const char *hint, int explain,
                 classify_result_t *out)
{
    memset(out, 0, sizeof(*out));
    int rc = classify_tokenize(&c->tok, c->rules, text, len);
    if (rc != 0)
        return rc;
    if (++c->gen == 0) { /* wrapped: forget every mark */
        memset(c->seen, 0, (size_t)c->rules->nphrases * sizeof(*c->seen));
        c->gen = 1;
    }
    s_mark(c);

    double cat[CLASSIFY_NCAT] = {0}, prio[CLASSIFY_NPRIO] = {0};
    double rcat[CLASSIFY_NCAT] = {0}, rprio[CLASSIFY_NPRIO] = {0};
    s_vote(c, CLASSIFY_K_CAT, rcat, 0, out, explain);
    s_vote(c, CLASSIFY_K_PRIO, rprio, 1, out, explain);

    const antt_category_t *h = hint && *hint ? antt_category_find(hint) : NULL;
    if (h) {
        rcat[h - antt_categories] += c->rules->hint_weight;
        s_reason(out, explain, "resident chose %s %+.1f", h->code, c->rules->hint_weight);
    }

    double mcat[CLASSIFY_NCAT] = {0}, mprio[CLASSIFY_NPRIO] = {0};
    int known = 0;
    if (c->model) {
        size_t nf = classify_features(&c->tok, &c->feat, &c->fcap);
        known = classify_model_score(c->model, c->feat, nf, mcat, mprio);
    }
    const int other = CLASSIFY_NCAT - 1;
    for (int i = 0; i < CLASSIFY_NCAT; i++)
        cat[i] = rcat[i] + (known ? c->rules->model_weight * mcat[i] : 0);
    cat[other] += c->rules->other_bias;
    int best = s_argmax(cat, CLASSIFY_NCAT, other);
    out->category = best;
    out->confidence = s_softmax_at(cat, CLASSIFY_NCAT, best);
    if (known) {
        int mb = s_argmax(mcat, CLASSIFY_NCAT, other);
        s_reason(out, explain, "model -> %s p=%.2f", antt_categories[mb].code, exp(mcat[mb]));
    }

    for (int p = 0; p < CLASSIFY_NPRIO; p++)
        prio[p] = rprio[p] + c->rules->cat_prio[best][p] + (known ? c->rules->prio_model_weight * mprio[p] : 0);
    /* ties go to the less urgent priority: a tie is no evidence of urgency */
    int pb = CLASSIFY_NPRIO - 1;
    for (int p = CLASSIFY_NPRIO - 2; p >= 0; p--)
        if (prio[p] > prio[pb])
            pb = p;
    out->priority = pb + 1;
    out->priority_confidence = s_softmax_at(prio, CLASSIFY_NPRIO, pb);
    if (known) {
        int mp = s_argmax(mprio, CLASSIFY_NPRIO, CLASSIFY_NPRIO - 1);
        s_reason(out, explain, "model -> P%d p=%.2f", mp + 1, exp(mprio[mp]));
    }
    return 0;
}
