/* classify_model: multinomial naive Bayes over hashed word unigrams, word
 * bigrams and character 4-grams (binary: a feature counts once per report),
 * one model for categories and one for priorities, in one file. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>

#include "antt_util.h"
#include "classify_int.h"

#define S_NCLS (CLASSIFY_NCAT + CLASSIFY_NPRIO)
#define S_ALPHA 0.2 /* additive smoothing */
static const char S_MAGIC[8] = {'A', 'N', 'T', 'T', 'N', 'B', '0', '1'};

struct classify_model_s {
    uint64_t *keys; /* feature hashes, open addressing, 0 = empty */
    float *vals;    /* cap x S_NCLS log-probabilities */
    size_t cap;     /* power of two */
    size_t n;       /* features stored */
};

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t s_mix(uint64_t a, uint64_t b, uint64_t seed)
{
    uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + seed * 0xc2b2ae3d27d4eb4fULL);
    h ^= h >> 31;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 29;
    return h ? h : 1;
}

size_t classify_features(const classify_tokens_t *t, uint64_t **out, size_t *cap)
{
    size_t n = 0;
    uint64_t prev = 0;
    for (size_t i = 0; i < t->n; i++) {
        const char *w = t->tok[i];
        size_t wl = strlen(w);
        size_t need = n + 2 + wl + 2;
        if (need > *cap) {
            *cap = need * 2;
            *out = antt_xrealloc(*out, *cap * sizeof(**out));
        }
        if (w[0] == ',' && wl == 1) {
            prev = 0;
            continue;
        }
        uint64_t h = classify_hash(w, wl, 1);
        (*out)[n++] = h;
        if (prev)
            (*out)[n++] = s_mix(prev, h, 2);
        prev = h;
        /* character 4-grams of "^word$", for words of 3 or more bytes */
        if (wl >= 3) {
            char g[4];
            for (size_t k = 0; k + 4 <= wl + 2; k++) {
                for (size_t j = 0; j < 4; j++) {
                    size_t pos = k + j;
                    g[j] = pos == 0 ? '^' : pos == wl + 1 ? '$' : w[pos - 1];
                }
                (*out)[n++] = classify_hash(g, 4, 3);
            }
        }
    }
    qsort(*out, n, sizeof(**out), s_cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || (*out)[u - 1] != (*out)[i])
            (*out)[u++] = (*out)[i];
    return u;
}

static size_t s_slot(const classify_model_t *m, uint64_t key)
{
    size_t i = (size_t)key & (m->cap - 1);
    while (m->keys[i] != 0 && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static classify_model_t *s_alloc(size_t nfeat)
{
    classify_model_t *m = antt_xcalloc(1, sizeof(*m));
    m->cap = 64;
    while (m->cap < nfeat * 2)
        m->cap *= 2;
    m->keys = antt_xcalloc(m->cap, sizeof(*m->keys));
    m->vals = antt_xcalloc(m->cap * S_NCLS, sizeof(*m->vals));
    return m;
}

static void s_grow(classify_model_t *m)
{
    classify_model_t *g = s_alloc(m->cap);
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == 0)
            continue;
        size_t j = s_slot(g, m->keys[i]);
        g->keys[j] = m->keys[i];
        memcpy(g->vals + j * S_NCLS, m->vals + i * S_NCLS, S_NCLS * sizeof(float));
    }
    g->n = m->n;
    free(m->keys);
    free(m->vals);
    *m = *g;
    free(g);
}

classify_model_t *classify_model_train(const classify_rules_t *rules, const classify_example_t *ex, size_t n,
                                       char *err, size_t errlen)
{
    classify_model_t *m = s_alloc(4096);
    classify_tokens_t t;
    classify_tokens_init(&t);
    uint64_t *f = NULL;
    size_t fcap = 0;
    double tot[S_NCLS] = {0};
    for (size_t i = 0; i < n; i++) {
        if (classify_tokenize(&t, rules, ex[i].text, strlen(ex[i].text)) != 0) {
            snprintf(err, errlen, "example %zu is not valid UTF-8", i + 1);
            classify_model_destroy(&m);
            goto out;
        }
        size_t nf = classify_features(&t, &f, &fcap);
        int cls[2] = {ex[i].category, CLASSIFY_NCAT + ex[i].priority - 1};
        for (size_t k = 0; k < nf; k++) {
            if ((m->n + 1) * 2 > m->cap)
                s_grow(m);
            size_t j = s_slot(m, f[k]);
            if (m->keys[j] == 0) {
                m->keys[j] = f[k];
                m->n++;
            }
            for (int c = 0; c < 2; c++) {
                m->vals[j * S_NCLS + cls[c]] += 1;
                tot[cls[c]] += 1;
            }
        }
    }
    /* Complement naive Bayes (Rennie et al. 2003): a class's weight for a
     * feature is minus the log-probability of the feature in all the other
     * classes, which is far less biased by unequal class sizes than plain
     * multinomial NB when there are few examples per class. */
    double all[2] = {0, 0};
    for (int c = 0; c < S_NCLS; c++)
        all[c >= CLASSIFY_NCAT] += tot[c];
    for (size_t j = 0; j < m->cap; j++) {
        if (m->keys[j] == 0)
            continue;
        float *v = &m->vals[j * S_NCLS];
        double fsum[2] = {0, 0};
        for (int c = 0; c < S_NCLS; c++)
            fsum[c >= CLASSIFY_NCAT] += v[c];
        for (int c = 0; c < S_NCLS; c++) {
            int part = c >= CLASSIFY_NCAT;
            double comp = fsum[part] - v[c], comp_tot = all[part] - tot[c];
            v[c] = (float)-log((comp + S_ALPHA) / (comp_tot + S_ALPHA * (double)m->n));
        }
    }
out:
    free(f);
    classify_tokens_cleanup(&t);
    return m;
}

int classify_model_score(const classify_model_t *m, const uint64_t *f, size_t nf, double cat[CLASSIFY_NCAT],
                         double prio[CLASSIFY_NPRIO])
{
    double s[S_NCLS] = {0};
    int used = 0;
    for (size_t k = 0; k < nf; k++) {
        size_t j = s_slot(m, f[k]);
        if (m->keys[j] == 0)
            continue;
        const float *v = m->vals + j * S_NCLS;
        for (int c = 0; c < S_NCLS; c++)
            s[c] += v[c];
        used++;
    }
    /* Naive Bayes multiplies evidence from overlapping features (a word, its
     * bigrams, its 4-grams) as if independent, so its raw posteriors are
     * near 0 or 1. Averaging the log-likelihood per feature tempers it into a
     * score that rule weights can be weighed against. */
    if (used > 0)
        for (int c = 0; c < S_NCLS; c++)
            s[c] /= used;
    /* log-softmax within each model: log posterior under a uniform prior */
    for (int part = 0; part < 2; part++) {
        int lo = part ? CLASSIFY_NCAT : 0, hi = part ? S_NCLS : CLASSIFY_NCAT;
        double mx = s[lo];
        for (int c = lo; c < hi; c++)
            if (s[c] > mx)
                mx = s[c];
        double sum = 0;
        for (int c = lo; c < hi; c++)
            sum += exp(s[c] - mx);
        double lse = mx + log(sum);
        for (int c = lo; c < hi; c++) {
            if (part)
                prio[c - lo] += s[c] - lse;
            else
                cat[c] += s[c] - lse;
        }
    }
    return used;
}

size_t classify_model_features(const classify_model_t *m)
{
    return m->n;
}

int classify_model_save(const classify_model_t *m, const char *path)
{
    char *tmp = antt_xasprintf("%s.tmp.%ld", path, (long)getpid());
    int rc = 0;
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        rc = -errno;
        goto out;
    }
    uint32_t hdr[4] = {1, CLASSIFY_NCAT, CLASSIFY_NPRIO, 0};
    uint64_t nfeat = m->n;
    fwrite(S_MAGIC, 1, sizeof(S_MAGIC), f);
    fwrite(hdr, sizeof(hdr), 1, f);
    fwrite(&nfeat, sizeof(nfeat), 1, f);
    for (size_t j = 0; j < m->cap; j++) {
        if (m->keys[j] == 0)
            continue;
        fwrite(&m->keys[j], sizeof(uint64_t), 1, f);
        fwrite(m->vals + j * S_NCLS, sizeof(float), S_NCLS, f);
    }
    if (ferror(f) || fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -EIO;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0)
        unlink(tmp);
out:
    free(tmp);
    return rc;
}

classify_model_t *classify_model_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "could not open model \"%s\": %s (run `antt train`)", path, strerror(errno));
        return NULL;
    }
    classify_model_t *m = NULL;
    char magic[8];
    uint32_t hdr[4];
    uint64_t nfeat;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, S_MAGIC, 8) != 0 || fread(hdr, sizeof(hdr), 1, f) != 1 ||
        hdr[0] != 1 || hdr[1] != CLASSIFY_NCAT || hdr[2] != CLASSIFY_NPRIO || fread(&nfeat, 8, 1, f) != 1 ||
        nfeat > (1u << 26)) {
        snprintf(err, errlen, "model \"%s\" is not an antt model of this version", path);
        goto out;
    }
    m = s_alloc((size_t)nfeat);
    for (uint64_t i = 0; i < nfeat; i++) {
        uint64_t key;
        float v[S_NCLS];
        int bad = fread(&key, 8, 1, f) != 1 || fread(v, sizeof(float), S_NCLS, f) != S_NCLS || key == 0;
        for (int c = 0; !bad && c < S_NCLS; c++)
            bad = !isfinite(v[c]);
        if (bad) {
            snprintf(err, errlen, "model \"%s\" is truncated or corrupt", path);
            classify_model_destroy(&m);
            goto out;
        }
        size_t j = s_slot(m, key);
        if (m->keys[j] == 0)
            m->n++;
        m->keys[j] = key;
        memcpy(m->vals + j * S_NCLS, v, sizeof(v));
    }
    if (fgetc(f) != EOF) {
        snprintf(err, errlen, "model \"%s\" has trailing bytes", path);
        classify_model_destroy(&m);
    }
out:
    fclose(f);
    return m;
}

void classify_model_destroy(classify_model_t **self_p)
{
    classify_model_t *m = *self_p;
    if (m == NULL)
        return;
    free(m->keys);
    free(m->vals);
    free(m);
    *self_p = NULL;
}
