/* classify_train: learns the model's weights and calibration.
 *
 * Multinomial logistic regression, both heads (16 categories, 4 priorities)
 * on one feature vector, fitted by stochastic gradient descent with a
 * decaying step and L2 weight decay on the rows a step touches. Logistic
 * regression rather than an averaged perceptron or a linear SVM because its
 * scores are log-odds: after temperature scaling they are probabilities a
 * threshold can be set on (the P1 decision) and a dispatcher can read.
 *
 * Deterministic: the order of the examples in each pass comes from a fixed
 * seed, and nothing depends on time or threads, so the same corpus and rules
 * give the same model, byte for byte.
 *
 * Calibration: the examples are split into folds by situation (all the
 * reports, in every style, of one situation share a fold); a model trained
 * without each fold answers that fold, and the temperatures (one per head)
 * that minimise the log-loss of those held-out answers, and the P1
 * threshold that keeps their P1 recall at opts->p1_recall, are stored with
 * the final model, which is trained on everything. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_util.h"
#include "classify_int.h"

#define S_LR0 0.6      /* first step */
#define S_DECAY 0.6    /* the step of pass e is S_LR0 / (1 + S_DECAY e) */
#define S_L2 1e-4      /* weight decay per example and pass */
#define S_P1_WEIGHT 2  /* a P1 example's pull on the priority head */
#define S_TEXT_SCALE 10 /* length of the text features' vector */

void classify_train_defaults(classify_train_opts_t *o)
{
    o->epochs = 20;
    o->folds = 5;
    o->p1_recall = 0.96;
    o->seed = 20261201;
}

void classify_oof_cleanup(classify_oof_t *o)
{
    free(o->category);
    free(o->priority);
    memset(o, 0, sizeof(*o));
}

/* Every example's features, in one array (CSR). */
typedef struct s_data {
    classify_feat_t *f; /* all features */
    size_t *off;        /* n + 1 offsets into f */
    size_t n;           /* examples */
    const classify_example_t *ex;
    unsigned char *danger; /* per example: a danger cue fired */
} s_data_t;

static void s_data_free(s_data_t *d)
{
    free(d->f);
    free(d->off);
    free(d->danger);
    memset(d, 0, sizeof(*d));
}

static int s_featurize_all(const classify_rules_t *rules, const classify_example_t *ex, size_t n, s_data_t *d,
                           char *err, size_t errlen)
{
    classify_t *c = classify_new(rules, NULL);
    size_t cap = 1 << 16, used = 0;
    d->f = antt_xmalloc(cap * sizeof(*d->f));
    d->off = antt_xmalloc((n + 1) * sizeof(*d->off));
    d->danger = antt_xcalloc(n ? n : 1, 1);
    d->n = n;
    d->ex = ex;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        classify_result_t r;
        memset(&r, 0, sizeof(r));
        if (classify_featurize(c, ex[i].text, strlen(ex[i].text), &r, 0) != 0) {
            snprintf(err, errlen, "example %zu is not valid UTF-8", i + 1);
            rc = -EILSEQ;
            break;
        }
        d->off[i] = used;
        if (used + c->nfeat > cap) {
            while (used + c->nfeat > cap)
                cap *= 2;
            d->f = antt_xrealloc(d->f, cap * sizeof(*d->f));
        }
        memcpy(d->f + used, c->feat, c->nfeat * sizeof(*c->feat));
        used += c->nfeat;
        d->danger[i] = c->danger != 0;
    }
    d->off[n] = used;
    classify_destroy(&c);
    return rc;
}

static void s_logits(const classify_model_t *m, const s_data_t *d, size_t i, double s[CLASSIFY_NCLS], double *pc)
{
    classify_model_logits(m, d->f + d->off[i], d->off[i + 1] - d->off[i], s, s + CLASSIFY_NCAT, pc);
}

static uint64_t s_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The rarity of each text feature among the n examples of idx:
 * idf = 1 + log((n + 1) / (df + 1)). */
static void s_idf(classify_model_t *m, const s_data_t *d, const size_t *idx, size_t n)
{
    size_t rows = (size_t)1 << m->hash_bits;
    uint32_t *df = antt_xcalloc(rows, sizeof(*df));
    for (size_t k = 0; k < n; k++)
        for (size_t f = d->off[idx[k]]; f < d->off[idx[k] + 1]; f++)
            if (d->f[f].kind <= CLASSIFY_SRC_BIGRAM)
                df[d->f[f].idx]++;
    for (size_t r = 0; r < rows; r++)
        m->idf[r] = (float)(1.0 + log(((double)n + 1.0) / ((double)df[r] + 1.0)));
    m->idf_unseen = (float)(1.0 + log((double)n + 1.0));
    free(df);
}

/* SGD over the examples listed in idx (n of them). */
static void s_sgd(classify_model_t *m, const s_data_t *d, size_t *idx, size_t n, int epochs, uint64_t seed)
{
    s_idf(m, d, idx, n);
    m->text_scale = S_TEXT_SCALE;
    uint64_t x = seed * 2654435761ULL + 88172645463325252ULL;
    for (int e = 0; e < epochs; e++) {
        for (size_t i = n; i > 1; i--) { /* Fisher-Yates */
            size_t j = (size_t)(s_rand(&x) % i);
            size_t t = idx[i - 1];
            idx[i - 1] = idx[j];
            idx[j] = t;
        }
        double lr = S_LR0 / (1.0 + S_DECAY * e);
        for (size_t k = 0; k < n; k++) {
            size_t i = idx[k];
            const classify_example_t *ex = &d->ex[i];
            double s[CLASSIFY_NCLS], g[CLASSIFY_NCLS], pc[CLASSIFY_NCAT];
            s_logits(m, d, i, s, pc);
            memcpy(s, pc, sizeof(pc)); /* the category head's probabilities, from the logits */
            classify_softmax(s + CLASSIFY_NCAT, CLASSIFY_NPRIO, 1.0);
            for (int c = 0; c < CLASSIFY_NCLS; c++)
                g[c] = s[c];
            g[ex->category] -= 1.0;
            g[CLASSIFY_NCAT + ex->priority - 1] -= 1.0;
            /* a missed P1 costs more: its examples pull harder on the priority head */
            if (ex->priority == 1)
                for (int c = CLASSIFY_NCAT; c < CLASSIFY_NCLS; c++)
                    g[c] *= S_P1_WEIGHT;
            double norm = classify_model_text_norm(m, d->f + d->off[i], d->off[i + 1] - d->off[i]);
            for (size_t f = d->off[i]; f < d->off[i + 1]; f++) {
                float *w = m->w + (size_t)d->f[f].idx * CLASSIFY_NCLS;
                double v = classify_model_value(m, &d->f[f], norm);
                for (int c = 0; c < CLASSIFY_NCLS; c++)
                    w[c] -= (float)(lr * g[c] * v);
            }
            for (int c = 0; c < CLASSIFY_NCLS; c++)
                m->bias[c] -= (float)(lr * 0.1 * g[c]);
            for (int c = 0; c < CLASSIFY_NCAT; c++) /* the category's pull on the priority */
                for (int p = 0; p < CLASSIFY_NPRIO; p++)
                    m->catprio[c][p] -= (float)(lr * 0.2 * pc[c] * g[CLASSIFY_NCAT + p]);
        }
        /* L2 weight decay, once per pass, on every weight alike */
        float keep = (float)(1.0 - lr * S_L2 * (double)n);
        if (keep < 0.5f)
            keep = 0.5f;
        size_t all = ((size_t)1 << m->hash_bits) * CLASSIFY_NCLS;
        for (size_t i = 0; i < all; i++)
            m->w[i] *= keep;
    }
}

static int s_fold(const classify_example_t *ex, int folds)
{
    uint64_t h = (uint64_t)(uint32_t)ex->group * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    return (int)(h % (uint64_t)folds);
}

/* Mean log-loss of the held-out logits of one head at a temperature. */
static double s_nll(const double *oof, size_t n, const s_data_t *d, int lo, int k, double temp)
{
    double loss = 0;
    for (size_t i = 0; i < n; i++) {
        double s[CLASSIFY_NCLS];
        memcpy(s, oof + i * CLASSIFY_NCLS + lo, (size_t)k * sizeof(double));
        classify_softmax(s, k, temp);
        int y = lo == 0 ? d->ex[i].category : d->ex[i].priority - 1;
        loss -= log(s[y] > 1e-12 ? s[y] : 1e-12);
    }
    return loss / (double)(n ? n : 1);
}

/* Golden-section search of the temperature on a log scale. */
static double s_fit_temp(const double *oof, size_t n, const s_data_t *d, int lo, int k)
{
    const double gr = 0.6180339887498949;
    double a = log(0.05), b = log(20.0);
    double c = b - gr * (b - a), e = a + gr * (b - a);
    double fc = s_nll(oof, n, d, lo, k, exp(c)), fe = s_nll(oof, n, d, lo, k, exp(e));
    for (int it = 0; it < 60; it++) {
        if (fc < fe) {
            b = e;
            e = c;
            fe = fc;
            c = b - gr * (b - a);
            fc = s_nll(oof, n, d, lo, k, exp(c));
        } else {
            a = c;
            c = e;
            fc = fe;
            e = a + gr * (b - a);
            fe = s_nll(oof, n, d, lo, k, exp(e));
        }
    }
    return exp((a + b) / 2);
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The decision classify_run makes, on held-out logits (no hint). */
static void s_decide(const classify_model_t *m, const classify_rules_t *rules, const double *logits, int danger,
                     int *cat, int *prio)
{
    double s[CLASSIFY_NCLS];
    memcpy(s, logits, sizeof(s));
    classify_softmax(s, CLASSIFY_NCAT, m->temp_cat);
    classify_softmax(s + CLASSIFY_NCAT, CLASSIFY_NPRIO, m->temp_prio);
    int b = CLASSIFY_NCAT - 1;
    for (int c = 0; c < CLASSIFY_NCAT; c++)
        if (s[c] > s[b])
            b = c;
    int p = classify_model_priority(m, s + CLASSIFY_NCAT);
    if (s[b] < rules->review_threshold && danger && p > 2) /* as s_review in classify.c */
        p = 2;
    *cat = b;
    *prio = p;
}

classify_model_t *classify_model_train(const classify_rules_t *rules, const classify_example_t *ex, size_t n,
                                       const classify_train_opts_t *opts, classify_oof_t *oof, char *err,
                                       size_t errlen)
{
    classify_train_opts_t o;
    classify_train_defaults(&o);
    if (opts) {
        if (opts->epochs > 0)
            o.epochs = opts->epochs;
        o.folds = opts->folds;
        if (opts->p1_recall > 0)
            o.p1_recall = opts->p1_recall;
        if (opts->seed)
            o.seed = opts->seed;
    }
    s_data_t d = {0};
    classify_model_t *m = NULL;
    double *held = NULL;
    size_t *idx = antt_xmalloc((n ? n : 1) * sizeof(*idx));
    if (s_featurize_all(rules, ex, n, &d, err, errlen) != 0)
        goto out;

    m = classify_model_alloc(CLASSIFY_HASH_BITS);
    if (o.folds >= 2 && n >= (size_t)o.folds) {
        held = antt_xcalloc(n * CLASSIFY_NCLS, sizeof(*held));
        for (int k = 0; k < o.folds; k++) {
            size_t ntr = 0;
            for (size_t i = 0; i < n; i++)
                if (s_fold(&ex[i], o.folds) != k)
                    idx[ntr++] = i;
            classify_model_t *fm = classify_model_alloc(CLASSIFY_HASH_BITS);
            s_sgd(fm, &d, idx, ntr, o.epochs, o.seed + (uint64_t)k + 1);
            for (size_t i = 0; i < n; i++)
                if (s_fold(&ex[i], o.folds) == k)
                    s_logits(fm, &d, i, held + i * CLASSIFY_NCLS, NULL);
            classify_model_destroy(&fm);
        }
        m->temp_cat = (float)s_fit_temp(held, n, &d, 0, CLASSIFY_NCAT);
        m->temp_prio = (float)s_fit_temp(held, n, &d, CLASSIFY_NCAT, CLASSIFY_NPRIO);
        /* the P1 threshold: the held-out P1 probability that o.p1_recall of
         * the true P1 reports reach */
        double *p1 = antt_xmalloc(n * sizeof(*p1));
        size_t np1 = 0;
        for (size_t i = 0; i < n; i++) {
            if (ex[i].priority != 1)
                continue;
            double s[CLASSIFY_NPRIO];
            memcpy(s, held + i * CLASSIFY_NCLS + CLASSIFY_NCAT, sizeof(s));
            classify_softmax(s, CLASSIFY_NPRIO, m->temp_prio);
            p1[np1++] = s[0];
        }
        if (np1 > 0) {
            qsort(p1, np1, sizeof(*p1), s_cmp_double);
            size_t at = (size_t)floor((1.0 - o.p1_recall) * (double)np1);
            double t = p1[at < np1 ? at : np1 - 1];
            m->p1_threshold = (float)(t < 0.03 ? 0.03 : t > 0.5 ? 0.5 : t);
        }
        free(p1);
        if (oof) {
            oof->n = n;
            oof->category = antt_xmalloc(n * sizeof(int));
            oof->priority = antt_xmalloc(n * sizeof(int));
            for (size_t i = 0; i < n; i++)
                s_decide(m, rules, held + i * CLASSIFY_NCLS, d.danger[i], &oof->category[i], &oof->priority[i]);
        }
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    s_sgd(m, &d, idx, n, o.epochs, o.seed);
    memcpy(m->rules_digest, rules->digest, sizeof(m->rules_digest));
    m->examples = (uint32_t)n;
    classify_model_prepare(m);
out:
    free(held);
    free(idx);
    s_data_free(&d);
    return m;
}
