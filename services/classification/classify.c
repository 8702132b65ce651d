/* classify: from a report's features to one decision with reasons.
 *
 * With a model: the category is the arg-max of the calibrated softmax of the
 * category head, the resident's chosen category adding hint_weight to its
 * log-odds (evidence, not the answer). The priority is decided for safety:
 * P1 as soon as its calibrated probability reaches the model's P1 threshold
 * (fitted on held-out folds so that missing a P1 is rarer than raising a
 * P2), else the most probable of P2-P4. A category less probable than
 * review_threshold, or one the resident did not choose, needs review; an
 * unsure answer with a danger cue is never below P2.
 *
 * Without a model (rules only), the rule votes decide, as log-odds. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_categories.h"
#include "antt_util.h"
#include "classify_int.h"

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
    free(c->fired);
    free(c->seen);
    free(c->mark);
    free(c->contrib);
    free(c->stamp);
    free(c);
    *self_p = NULL;
}

void classify_result_cleanup(classify_result_t *r)
{
    for (int i = 0; i < r->nreasons; i++)
        free(r->reasons[i]);
    free(r->review_reason);
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

/* Appends s to out (cap bytes, *len used), cut at the end as snprintf cuts. */
static void s_cat(char *out, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n >= cap)
        n = cap - 1 - *len;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
}

/* v as printf's "%+.2f" gives it, without printf's multi-precision path
 * (the reasons' cost): v * 100 is exact in long double (53 + 7 bits fit in
 * 64), and rounding it to the nearest integer, ties to even, is the
 * rounding printf does in the default mode. */
static void s_fixed2(char *out, size_t cap, double v)
{
    long double x = fabsl((long double)v * 100.0L);
    if (!(x < 1e17L) || sizeof(long double) <= sizeof(double)) {
        snprintf(out, cap, "%+.2f", v);
        return;
    }
    unsigned long long u = (unsigned long long)nearbyintl(x);
    snprintf(out, cap, "%c%llu.%02llu", signbit(v) ? '-' : '+', u / 100, u % 100);
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

/* p[] = the probabilities of the log-odds s[] (n of them). */
static void s_softmax(const double *s, int n, double *p)
{
    memcpy(p, s, (size_t)n * sizeof(*p));
    classify_softmax(p, n, 1.0);
}

/* ---- reasons: the features that weighed most for a class ---------------- */

static void s_label(const classify_t *c, int kind, int src, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = '\0';
    switch (kind) {
    case CLASSIFY_SRC_WORD:
        s_cat(out, outlen, &n, "\"");
        s_cat(out, outlen, &n, c->tok.tok[src]);
        s_cat(out, outlen, &n, "\"");
        break;
    case CLASSIFY_SRC_BIGRAM:
        s_cat(out, outlen, &n, "\"");
        s_cat(out, outlen, &n, c->tok.tok[src]);
        s_cat(out, outlen, &n, " ");
        s_cat(out, outlen, &n, c->tok.tok[src + 1]);
        s_cat(out, outlen, &n, "\"");
        break;
    case CLASSIFY_SRC_RULE:
        s_cat(out, outlen, &n, "luật \"");
        s_cat(out, outlen, &n, c->rules->phrases[src]->hits[0].orig);
        s_cat(out, outlen, &n, "\"");
        break;
    case CLASSIFY_SRC_VOTE: s_cat(out, outlen, &n, "luật tổng hợp"); break;
    default: s_cat(out, outlen, &n, "dấu hiệu nguy hiểm"); break;
    }
}

/* Lists up to max features that pushed class cls (a column of the weights,
 * of the head that starts at lo) up the most, relative to the head's mean: a
 * word's own feature and its character grams add up to the word. Scores are
 * summed per source (a token for words and bigrams, a phrase, a vote) in
 * c->contrib, and labels are made only for the few shown. */
/* norm: the text vector's scale (classify_model_text_norm), the same for
 * both heads, computed once by the caller. */
static void s_top(classify_t *c, double norm, int cls, int lo, int max, classify_result_t *out, const char *what)
{
    size_t nrule = 0;
    for (size_t k = 0; k < c->nfeat; k++)
        nrule += c->feat[k].kind == CLASSIFY_SRC_RULE;
    size_t slots = 2 * c->tok.n + nrule + 2, r = 0;
    if (slots > c->ccap) {
        c->ccap = slots * 2;
        c->contrib = antt_xrealloc(c->contrib, c->ccap * sizeof(*c->contrib));
    }
    memset(c->contrib, 0, slots * sizeof(*c->contrib));
    for (size_t k = 0; k < c->nfeat; k++) {
        const classify_feat_t *f = &c->feat[k];
        const float *w = c->model->w + (size_t)f->idx * CLASSIFY_NCLS;
        double mean = c->model->mean[2 * (size_t)f->idx + (lo != 0)];
        size_t slot = f->kind == CLASSIFY_SRC_WORD     ? (size_t)f->src
                      : f->kind == CLASSIFY_SRC_BIGRAM ? c->tok.n + (size_t)f->src
                      : f->kind == CLASSIFY_SRC_RULE   ? 2 * c->tok.n + r++
                      : f->kind == CLASSIFY_SRC_VOTE   ? slots - 2
                                                       : slots - 1;
        c->contrib[slot] += classify_model_value(c->model, f, norm) * (w[cls] - mean);
    }
    char shown[8][96];
    int nshown = 0;
    while (nshown < max && nshown < 8) {
        size_t b = slots;
        for (size_t i = 0; i < slots; i++)
            if (c->contrib[i] > 0.05 && (b == slots || c->contrib[i] > c->contrib[b]))
                b = i;
        if (b == slots)
            break;
        int kind = b < c->tok.n ? CLASSIFY_SRC_WORD
                   : b < 2 * c->tok.n ? CLASSIFY_SRC_BIGRAM
                   : b < slots - 2 ? CLASSIFY_SRC_RULE
                   : b == slots - 2 ? CLASSIFY_SRC_VOTE
                                    : CLASSIFY_SRC_DANGER;
        int src = kind == CLASSIFY_SRC_WORD ? (int)b : kind == CLASSIFY_SRC_BIGRAM ? (int)(b - c->tok.n) : 0;
        if (kind == CLASSIFY_SRC_RULE) /* the (b - 2n)-th rule feature */
            for (size_t k = 0, i = 0; k < c->nfeat; k++)
                if (c->feat[k].kind == CLASSIFY_SRC_RULE && i++ == b - 2 * c->tok.n) {
                    src = c->feat[k].src;
                    break;
                }
        double score = c->contrib[b];
        c->contrib[b] = 0;
        char label[96];
        s_label(c, kind, src, label, sizeof(label));
        int dup = 0; /* the same word elsewhere in the text */
        for (int i = 0; i < nshown && !dup; i++)
            dup = strcmp(shown[i], label) == 0;
        if (dup)
            continue;
        memcpy(shown[nshown++], label, sizeof(label));
        if (out->nreasons < CLASSIFY_MAX_REASONS) { /* "label -> what +0.65", as s_reason would say it */
            char line[256], num[32];
            size_t n = 0;
            line[0] = '\0';
            s_fixed2(num, sizeof(num), score);
            s_cat(line, sizeof(line), &n, label);
            s_cat(line, sizeof(line), &n, " -> ");
            s_cat(line, sizeof(line), &n, what);
            s_cat(line, sizeof(line), &n, " ");
            s_cat(line, sizeof(line), &n, num);
            out->reasons[out->nreasons++] = antt_xstrdup(line);
        }
    }
}

/* Marks an answer that needs a dispatcher's eye: the resident chose another
 * category, or the category is unsure; an unsure answer with a danger cue is
 * raised to P2 (p2 is the probability of P2, for the confidence). */
static void s_review(const classify_t *c, const antt_category_t *h, classify_result_t *out, int explain, double p2)
{
    int best = out->category;
    if (h && h != &antt_categories[best]) {
        out->needs_review = CLASSIFY_REVIEW_RESIDENT;
        out->review_reason = antt_xasprintf("người báo chọn %s", h->code);
    } else if (out->confidence < c->rules->review_threshold) {
        out->needs_review = CLASSIFY_REVIEW_UNSURE;
        out->review_reason = antt_xasprintf("không chắc chắn: %s %.0f%%", antt_categories[best].code,
                                            100 * out->confidence);
    }
    if (out->needs_review)
        s_reason(out, explain, "cần xem lại: %s", out->review_reason);
    if (h)
        s_reason(out, explain, "người báo chọn %s %+.1f", h->code, c->rules->hint_weight);
    /* an unsure model never puts a report with danger cues below P2 */
    if (out->needs_review && out->danger && out->priority > 2) {
        out->priority = 2;
        out->priority_confidence = (float)p2;
        s_reason(out, explain, "dấu hiệu nguy hiểm khi chưa chắc: không dưới P2");
    }
}

/* ---- rules only ---------------------------------------------------------- */

static void s_rules_only(classify_t *c, const antt_category_t *h, classify_result_t *out, int explain)
{
    double cat[CLASSIFY_NCAT], prio[CLASSIFY_NPRIO];
    memcpy(cat, c->rcat, sizeof(cat));
    if (h)
        cat[h - antt_categories] += c->rules->hint_weight;
    const int other = CLASSIFY_NCAT - 1;
    cat[other] += c->rules->other_bias;
    double p[CLASSIFY_NCAT];
    s_softmax(cat, CLASSIFY_NCAT, p);
    int best = s_argmax(cat, CLASSIFY_NCAT, other);
    out->category = best;
    out->confidence = (float)p[best];
    for (int k = 0; k < CLASSIFY_NPRIO; k++)
        prio[k] = c->rprio[k] + c->rules->cat_prio[best][k];
    /* ties go to the less urgent priority: a tie is no evidence of urgency */
    int pb = CLASSIFY_NPRIO - 1;
    for (int k = CLASSIFY_NPRIO - 2; k >= 0; k--)
        if (prio[k] > prio[pb])
            pb = k;
    double pp[CLASSIFY_NPRIO];
    s_softmax(prio, CLASSIFY_NPRIO, pp);
    out->priority = pb + 1;
    out->priority_confidence = (float)pp[pb];
    out->p1 = (float)pp[0];
    s_review(c, h, out, explain, pp[1]);
    for (size_t i = 0; explain && i < c->nfired; i++) {
        const classify_phrase_t *ph = c->fired[i].phrase;
        for (int k = 0; k < ph->nhits; k++) {
            if (c->fired[i].kind == CLASSIFY_K_CAT)
                s_reason(out, 1, "\"%s\" -> %s %+.1f", ph->hits[k].orig, antt_categories[ph->hits[k].target].code,
                         ph->hits[k].weight);
            else
                s_reason(out, 1, "\"%s\" -> P%d %+.1f", ph->hits[k].orig, ph->hits[k].target, ph->hits[k].weight);
        }
    }
}

/* ---- with the model -------------------------------------------------------- */

static void s_model(classify_t *c, const antt_category_t *h, classify_result_t *out, int explain)
{
    const classify_model_t *m = c->model;
    double lc[CLASSIFY_NCAT], lp[CLASSIFY_NPRIO], pc[CLASSIFY_NCAT], pp[CLASSIFY_NPRIO];
    classify_model_logits(m, c->feat, c->nfeat, lc, lp, NULL);
    for (int k = 0; k < CLASSIFY_NCAT; k++)
        lc[k] /= m->temp_cat;
    for (int k = 0; k < CLASSIFY_NPRIO; k++)
        lp[k] /= m->temp_prio;
    if (h)
        lc[h - antt_categories] += c->rules->hint_weight;
    s_softmax(lc, CLASSIFY_NCAT, pc);
    s_softmax(lp, CLASSIFY_NPRIO, pp);
    int best = s_argmax(lc, CLASSIFY_NCAT, CLASSIFY_NCAT - 1);
    out->category = best;
    out->confidence = (float)pc[best];
    out->p1 = (float)pp[0];
    int pb = classify_model_priority(m, pp) - 1;
    out->priority = pb + 1;
    out->priority_confidence = (float)pp[pb];

    s_reason(out, explain, "mô hình: %s %.0f%%, P%d %.0f%% (P1 %.0f%%, ngưỡng %.0f%%)",
             antt_categories[best].code, 100 * pc[best], pb + 1, 100 * pp[pb], 100 * pp[0], 100 * m->p1_threshold);
    s_review(c, h, out, explain, pp[1]);
    if (explain) {
        double norm = classify_model_text_norm(m, c->feat, c->nfeat);
        s_top(c, norm, best, 0, 5, out, antt_categories[best].code);
        char what[4] = {'P', (char)('0' + out->priority), 0, 0};
        s_top(c, norm, CLASSIFY_NCAT + out->priority - 1, CLASSIFY_NCAT, 3, out, what);
    }
}

int classify_run(classify_t *c, const char *text, size_t len, const char *hint, int explain,
                 classify_result_t *out)
{
    memset(out, 0, sizeof(*out));
    int rc = classify_featurize(c, text, len, out, explain);
    if (rc != 0)
        return rc;
    out->danger = c->danger;
    const antt_category_t *h = hint && *hint ? antt_category_find(hint) : NULL;
    if (c->model)
        s_model(c, h, out, explain);
    else
        s_rules_only(c, h, out, explain);
    return 0;
}
