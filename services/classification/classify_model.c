/* classify_model: the weights of the multinomial logistic regression (one
 * head of 16 categories and one of 4 priorities over one feature vector),
 * its calibration, and the model file.
 *
 * File (little-endian, as written by this machine):
 *   "ANTTLR02", u32 ncat, nprio, hash_bits, scheme length, the scheme string,
 *   32 bytes rules digest, f32 temp_cat, temp_prio, p1_threshold, text_scale, idf_unseen,
 *   u32 examples, f32 bias[20], f32 catprio[16][4], u32 rows, rows x (u32 row, f32 idf, f32 w[20]),
 *   32 bytes BLAKE2b-256 of everything before.
 * Only non-zero rows are stored; a model loads as a dense table. */
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "antt_util.h"
#include "classify_int.h"

static const char S_MAGIC[8] = {'A', 'N', 'T', 'T', 'L', 'R', '0', '2'};
#define S_MAX_FILE (512u << 20)

classify_model_t *classify_model_alloc(unsigned hash_bits)
{
    classify_model_t *m = antt_xcalloc(1, sizeof(*m));
    m->hash_bits = hash_bits;
    m->w = antt_xcalloc((size_t)1 << hash_bits, CLASSIFY_NCLS * sizeof(float));
    m->idf = antt_xmalloc(((size_t)1 << hash_bits) * sizeof(float));
    for (size_t i = 0; i < (size_t)1 << hash_bits; i++)
        m->idf[i] = 1.0f;
    m->text_scale = 3.0f;
    m->idf_unseen = 1.0f;
    m->temp_cat = m->temp_prio = 1.0f;
    m->p1_threshold = 0.5f;
    return m;
}

void classify_model_destroy(classify_model_t **self_p)
{
    classify_model_t *m = *self_p;
    if (m == NULL)
        return;
    free(m->w);
    free(m->idf);
    free(m->mean);
    free(m);
    *self_p = NULL;
}

void classify_softmax(double *s, int n, double temp)
{
    double mx = s[0] / temp, sum = 0;
    for (int i = 1; i < n; i++)
        if (s[i] / temp > mx)
            mx = s[i] / temp;
    for (int i = 0; i < n; i++)
        sum += s[i] = exp(s[i] / temp - mx);
    for (int i = 0; i < n; i++)
        s[i] /= sum;
}

int classify_model_priority(const classify_model_t *m, const double pp[CLASSIFY_NPRIO])
{
    if (pp[0] >= m->p1_threshold)
        return 1;
    int pb = 1;
    for (int k = 2; k < CLASSIFY_NPRIO; k++)
        if (pp[k] > pp[pb])
            pb = k;
    return pb + 1;
}

void classify_model_logits(const classify_model_t *m, const classify_feat_t *f, size_t nf,
                           double cat[CLASSIFY_NCAT], double prio[CLASSIFY_NPRIO], double *pc)
{
    float s[CLASSIFY_NCLS];
    memcpy(s, m->bias, sizeof(s));
    double norm = classify_model_text_norm(m, f, nf);
    for (size_t k = 0; k < nf; k++) {
        const float *w = m->w + (size_t)f[k].idx * CLASSIFY_NCLS;
        float v = classify_model_value(m, &f[k], norm);
        for (int c = 0; c < CLASSIFY_NCLS; c++)
            s[c] += v * w[c];
    }
    double q[CLASSIFY_NCAT];
    for (int c = 0; c < CLASSIFY_NCAT; c++)
        cat[c] = q[c] = s[c];
    classify_softmax(q, CLASSIFY_NCAT, 1.0);
    for (int p = 0; p < CLASSIFY_NPRIO; p++) {
        prio[p] = s[CLASSIFY_NCAT + p];
        for (int c = 0; c < CLASSIFY_NCAT; c++)
            prio[p] += q[c] * m->catprio[c][p];
    }
    if (pc)
        memcpy(pc, q, sizeof(q));
}

void classify_model_prepare(classify_model_t *m)
{
    size_t rows = (size_t)1 << m->hash_bits;
    if (m->mean == NULL)
        m->mean = antt_xmalloc(rows * 2 * sizeof(float));
    for (size_t r = 0; r < rows; r++) {
        const float *w = m->w + r * CLASSIFY_NCLS;
        float c = 0, p = 0;
        for (int k = 0; k < CLASSIFY_NCAT; k++)
            c += w[k];
        for (int k = CLASSIFY_NCAT; k < CLASSIFY_NCLS; k++)
            p += w[k];
        m->mean[2 * r] = c / CLASSIFY_NCAT;
        m->mean[2 * r + 1] = p / CLASSIFY_NPRIO;
    }
}

double classify_model_text_norm(const classify_model_t *m, const classify_feat_t *f, size_t nf)
{
    double n2 = 0;
    for (size_t k = 0; k < nf; k++)
        if (f[k].kind <= CLASSIFY_SRC_BIGRAM)
            n2 += (double)m->idf[f[k].idx] * m->idf[f[k].idx];
    return n2 > 0 ? m->text_scale / sqrt(n2) : 0.0;
}

size_t classify_model_features(const classify_model_t *m)
{
    size_t n = 0, rows = (size_t)1 << m->hash_bits;
    for (size_t r = 0; r < rows; r++) {
        const float *w = m->w + r * CLASSIFY_NCLS;
        for (int c = 0; c < CLASSIFY_NCLS; c++)
            if (w[c] != 0) {
                n++;
                break;
            }
    }
    return n;
}

const char *classify_model_version(const classify_model_t *m)
{
    return m->version;
}

size_t classify_model_examples(const classify_model_t *m)
{
    return m->examples;
}

static void s_put(antt_buf_t *b, const void *p, size_t n)
{
    antt_buf_append(b, p, n);
}

static void s_version(classify_model_t *m, const unsigned char sum[32])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 6; i++) {
        m->version[2 * i] = hex[sum[i] >> 4];
        m->version[2 * i + 1] = hex[sum[i] & 15];
    }
    m->version[12] = '\0';
}

int classify_model_save(const classify_model_t *m, const char *path)
{
    antt_buf_t b;
    antt_buf_init(&b);
    uint32_t hdr[4] = {CLASSIFY_NCAT, CLASSIFY_NPRIO, m->hash_bits, (uint32_t)strlen(CLASSIFY_SCHEME)};
    s_put(&b, S_MAGIC, sizeof(S_MAGIC));
    s_put(&b, hdr, sizeof(hdr));
    s_put(&b, CLASSIFY_SCHEME, strlen(CLASSIFY_SCHEME));
    s_put(&b, m->rules_digest, sizeof(m->rules_digest));
    float cal[5] = {m->temp_cat, m->temp_prio, m->p1_threshold, m->text_scale, m->idf_unseen};
    s_put(&b, cal, sizeof(cal));
    s_put(&b, &m->examples, sizeof(m->examples));
    s_put(&b, m->bias, sizeof(m->bias));
    s_put(&b, m->catprio, sizeof(m->catprio));
    uint32_t rows = (uint32_t)classify_model_features(m);
    s_put(&b, &rows, sizeof(rows));
    for (uint32_t r = 0; r < (1u << m->hash_bits); r++) {
        const float *w = m->w + (size_t)r * CLASSIFY_NCLS;
        int nz = 0;
        for (int c = 0; c < CLASSIFY_NCLS && !nz; c++)
            nz = w[c] != 0;
        if (!nz)
            continue;
        s_put(&b, &r, sizeof(r));
        s_put(&b, &m->idf[r], sizeof(float));
        s_put(&b, w, CLASSIFY_NCLS * sizeof(float));
    }
    unsigned char sum[32];
    crypto_generichash(sum, sizeof(sum), (const unsigned char *)b.data, b.len, NULL, 0);
    s_put(&b, sum, sizeof(sum));

    char *tmp = antt_xasprintf("%s.tmp.%ld", path, (long)getpid());
    int rc = 0;
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        rc = -errno;
        goto out;
    }
    if (fwrite(b.data, 1, b.len, f) != b.len || fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -EIO;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0)
        unlink(tmp);
out:
    free(tmp);
    antt_buf_cleanup(&b);
    return rc;
}

/* A cursor over the file's bytes. */
typedef struct s_rd {
    const unsigned char *p; /* next byte */
    size_t left;            /* bytes after p */
} s_rd_t;

static int s_get(s_rd_t *r, void *out, size_t n)
{
    if (r->left < n)
        return -1;
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return 0;
}

static int s_read_all(const char *path, unsigned char **data, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "could not open model \"%s\": %s (run `antt train`)", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size <= 0 || (uint64_t)st.st_size > S_MAX_FILE) {
        snprintf(err, errlen, "model \"%s\" is empty or too large", path);
        fclose(f);
        return -1;
    }
    *len = (size_t)st.st_size;
    *data = antt_xmalloc(*len);
    int rc = fread(*data, 1, *len, f) == *len ? 0 : -1;
    if (rc != 0) {
        snprintf(err, errlen, "could not read model \"%s\"", path);
        free(*data);
        *data = NULL;
    }
    fclose(f);
    return rc;
}

classify_model_t *classify_model_load(const char *path, const classify_rules_t *rules, char *err, size_t errlen)
{
    unsigned char *data = NULL;
    size_t len = 0;
    if (s_read_all(path, &data, &len, err, errlen) != 0)
        return NULL;
    classify_model_t *m = NULL;
    unsigned char sum[32];
    if (len < sizeof(S_MAGIC) + 32 || memcmp(data, S_MAGIC, sizeof(S_MAGIC)) != 0) {
        snprintf(err, errlen, "\"%s\" is not an antt model of this version (retrain with `antt train`)", path);
        goto out;
    }
    crypto_generichash(sum, sizeof(sum), data, len - 32, NULL, 0);
    if (sodium_memcmp(sum, data + len - 32, 32) != 0) {
        snprintf(err, errlen, "model \"%s\" is corrupt (checksum mismatch)", path);
        goto out;
    }
    s_rd_t r = {data + sizeof(S_MAGIC), len - sizeof(S_MAGIC) - 32};
    uint32_t hdr[4];
    char scheme[128];
    if (s_get(&r, hdr, sizeof(hdr)) != 0 || hdr[3] >= sizeof(scheme) || s_get(&r, scheme, hdr[3]) != 0) {
        snprintf(err, errlen, "model \"%s\" is truncated", path);
        goto out;
    }
    scheme[hdr[3]] = '\0';
    if (hdr[0] != CLASSIFY_NCAT || hdr[1] != CLASSIFY_NPRIO || hdr[2] != CLASSIFY_HASH_BITS ||
        strcmp(scheme, CLASSIFY_SCHEME) != 0) {
        snprintf(err, errlen,
                 "model \"%s\" has feature scheme \"%s\" (%u categories, %u priorities, %u bits); this build "
                 "reads \"%s\": retrain it with this build's `antt train`",
                 path, scheme, hdr[0], hdr[1], hdr[2], CLASSIFY_SCHEME);
        goto out;
    }
    m = classify_model_alloc(hdr[2]);
    float cal[5];
    uint32_t rows;
    if (s_get(&r, m->rules_digest, 32) != 0 || s_get(&r, cal, sizeof(cal)) != 0 ||
        s_get(&r, &m->examples, sizeof(m->examples)) != 0 || s_get(&r, m->bias, sizeof(m->bias)) != 0 ||
        s_get(&r, m->catprio, sizeof(m->catprio)) != 0 ||
        s_get(&r, &rows, sizeof(rows)) != 0 || (size_t)rows * (8 + CLASSIFY_NCLS * 4) != r.left) {
        snprintf(err, errlen, "model \"%s\" is truncated or has trailing bytes", path);
        classify_model_destroy(&m);
        goto out;
    }
    m->temp_cat = cal[0];
    m->temp_prio = cal[1];
    m->p1_threshold = cal[2];
    m->text_scale = cal[3];
    m->idf_unseen = cal[4];
    for (size_t i = 0; i < (size_t)1 << m->hash_bits; i++)
        m->idf[i] = m->idf_unseen;
    if (!(m->temp_cat > 0.01f && m->temp_cat < 100.0f && m->temp_prio > 0.01f && m->temp_prio < 100.0f &&
          m->p1_threshold > 0.0f && m->p1_threshold < 1.0f && m->text_scale > 0.0f && m->text_scale < 100.0f &&
          m->idf_unseen >= 0.0f && m->idf_unseen < 100.0f)) {
        snprintf(err, errlen, "model \"%s\" has an invalid calibration", path);
        classify_model_destroy(&m);
        goto out;
    }
    for (uint32_t i = 0; i < rows; i++) {
        uint32_t row;
        s_get(&r, &row, sizeof(row));
        if (row >= (1u << m->hash_bits)) {
            snprintf(err, errlen, "model \"%s\" is corrupt (row %u)", path, row);
            classify_model_destroy(&m);
            goto out;
        }
        s_get(&r, &m->idf[row], sizeof(float));
        if (!(m->idf[row] >= 0.0f && m->idf[row] < 100.0f)) {
            snprintf(err, errlen, "model \"%s\" is corrupt (row %u)", path, row);
            classify_model_destroy(&m);
            goto out;
        }
        s_get(&r, m->w + (size_t)row * CLASSIFY_NCLS, CLASSIFY_NCLS * sizeof(float));
    }
    if (rules != NULL && memcmp(m->rules_digest, rules->digest, 32) != 0) {
        snprintf(err, errlen,
                 "model \"%s\" was trained with other rules than these: retrain it (`antt train`) after "
                 "changing the rules",
                 path);
        classify_model_destroy(&m);
        goto out;
    }
    s_version(m, sum);
    classify_model_prepare(m);
out:
    free(data);
    return m;
}
