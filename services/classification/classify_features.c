/* classify_features: one report's text -> the feature vector the model reads.
 *
 * Text features are hashed into 1 << CLASSIFY_HASH_BITS weight rows: folded
 * words (shorthand expanded), syllable bigrams within a clause (most
 * Vietnamese words are two syllables: "xe máy", "bạo lực") and character 3-,
 * 4- and 5-grams of "^word$" (robust to shorthand and typos: "trom", "chom",
 * "troom" share grams). They count once per report; the model weighs each
 * by its rarity in the training reports (idf) and scales them to unit length,
 * so that neither common words nor a long report outweigh the telling words.
 *
 * The rule layer adds its cues as features: each phrase that fired (a
 * negated one as a feature of its own), the rule votes per category and per
 * priority, and whether a danger cue (a [priority P1] phrase: someone hurt, a
 * weapon, fire, "cứu") fired; and the emergency cues of antt_danger (the ones
 * intake tells residents to call 113/114/115 by), counted, or suppressed as
 * negated, over or past. The model learns how far to trust each. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "antt_danger.h"
#include "antt_text.h"
#include "antt_util.h"
#include "classify_int.h"

enum { S_NEGATED = 1, S_STOP = 2 };

#define S_MASK ((1u << CLASSIFY_HASH_BITS) - 1)

/* seeds keep the families apart in the hash space */
enum { S_SEED_WORD = 11, S_SEED_BIGRAM = 12, S_SEED_GRAM = 13, S_SEED_RULE = 14, S_SEED_NEG = 15,
       S_SEED_VOTE = 16, S_SEED_DANGER = 17 };

static void s_add(classify_t *c, uint64_t h, float val, int kind, int32_t src)
{
    if (c->nfeat == c->fcap) {
        c->fcap = c->fcap ? c->fcap * 2 : 1024;
        c->feat = antt_xrealloc(c->feat, c->fcap * sizeof(*c->feat));
    }
    c->feat[c->nfeat++] = (classify_feat_t){(uint32_t)(h & S_MASK), val, (uint16_t)kind, 0, src};
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
        if (p == NULL)
            break; /* no phrase starts with these words */
        if (p->nhits > 0) { /* a phrase, not only a prefix of longer ones */
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

static void s_fired(classify_t *c, const classify_phrase_t *p, int kind)
{
    if (c->nfired == c->firedcap) {
        c->firedcap = c->firedcap ? c->firedcap * 2 : 32;
        c->fired = antt_xrealloc(c->fired, c->firedcap * sizeof(*c->fired));
    }
    c->fired[c->nfired++] = (classify_fired_t){p, kind};
}

/* Finds every phrase of kind in the text, each once: its weights go to
 * score[], it becomes a feature (a negated one a feature of its own), and a
 * [priority P1] phrase is a danger cue. */
static void s_vote(classify_t *c, int kind, double *score, int offset, classify_result_t *r, int explain)
{
    const classify_table_t *t = &c->rules->tables[kind];
    for (size_t i = 0; i < c->tok.n;) {
        size_t len = 1;
        const classify_phrase_t *p = s_match(c, t, i, &len);
        if (p && c->seen[p->id] != c->gen) {
            if (c->mark[i] & S_NEGATED) {
                s_add(c, classify_hash(p->key, strlen(p->key), S_SEED_NEG), 1.0f, CLASSIFY_SRC_RULE, p->id);
                if (explain && r->nreasons < CLASSIFY_MAX_REASONS)
                    r->reasons[r->nreasons++] = antt_xasprintf("phủ định \"%s\"", p->hits[0].orig);
            } else {
                c->seen[p->id] = c->gen; /* each phrase counts once per text */
                s_add(c, classify_hash(p->key, strlen(p->key), S_SEED_RULE), 1.0f, CLASSIFY_SRC_RULE, p->id);
                s_fired(c, p, kind);
                for (int h = 0; h < p->nhits; h++) {
                    score[p->hits[h].target - offset] += p->hits[h].weight;
                    if (kind == CLASSIFY_K_PRIO && p->hits[h].target == 1 && p->hits[h].weight > 0)
                        c->danger |= CLASSIFY_DANGER_ANY;
                }
            }
        }
        i += len;
    }
}

/* Word, bigram and character-gram features of the tokens, deduplicated and
 * scaled to unit length. */
static void s_text_features(classify_t *c)
{
    size_t start = c->nfeat;
    uint64_t prev = 0, prev2 = 0;
    for (size_t i = 0; i < c->tok.n; i++) {
        const char *w = c->tok.tok[i];
        size_t wl = strlen(w);
        if (w[0] == ',' && wl == 1) {
            prev = prev2 = 0;
            continue;
        }
        uint64_t h = classify_hash(w, wl, S_SEED_WORD);
        s_add(c, h, 1.0f, CLASSIFY_SRC_WORD, (int32_t)i);
        if (prev)
            s_add(c, (prev * 0x9e3779b97f4a7c15ULL) ^ (h + S_SEED_BIGRAM), 1.0f, CLASSIFY_SRC_BIGRAM,
                  (int32_t)i - 1);
        if (prev2) /* and with one word between: "chồng ... đánh", "bị ... giật" */
            s_add(c, (prev2 * 0xc2b2ae3d27d4eb4fULL) ^ (h + S_SEED_BIGRAM + 7), 1.0f, CLASSIFY_SRC_BIGRAM,
                  (int32_t)i - 1);
        prev2 = prev;
        prev = h;
        /* character n-grams of "^word$" (n = 3..5), for words of 2 or more bytes */
        if (wl < 2 || wl > 40)
            continue;
        char g[48];
        g[0] = '^';
        memcpy(g + 1, w, wl);
        g[wl + 1] = '$';
        size_t gl = wl + 2;
        for (size_t n = 3; n <= 5; n++)
            for (size_t k = 0; k + n <= gl; k++) {
                if (n == gl)
                    break; /* the whole "^word$" is the word feature already */
                s_add(c, classify_hash(g + k, n, S_SEED_GRAM + n), 1.0f, CLASSIFY_SRC_WORD, (int32_t)i);
            }
    }
    /* once per report: keep the first of each row (rows are stamped with
     * the text's generation) */
    size_t n = c->nfeat - start;
    classify_feat_t *f = c->feat + start;
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (c->stamp[f[i].idx] != c->gen) {
            c->stamp[f[i].idx] = c->gen;
            f[u++] = f[i];
        }
    c->nfeat = start + u; /* value 1: the model weighs them by rarity and scales them to unit length */
}

int classify_featurize(classify_t *c, const char *text, size_t len, classify_result_t *out, int explain)
{
    /* one folding for the tokens and the emergency cues */
    char *folded = antt_text_fold_clauses(text, len);
    if (folded == NULL)
        return -EILSEQ;
    classify_tokenize_folded(&c->tok, c->rules, folded);
    if (c->stamp == NULL)
        c->stamp = antt_xcalloc((size_t)1 << CLASSIFY_HASH_BITS, sizeof(*c->stamp));
    if (++c->gen == 0) { /* wrapped: forget every mark */
        memset(c->seen, 0, (size_t)c->rules->nphrases * sizeof(*c->seen));
        memset(c->stamp, 0, ((size_t)1 << CLASSIFY_HASH_BITS) * sizeof(*c->stamp));
        c->gen = 1;
    }
    c->nfeat = 0;
    c->nfired = 0;
    c->danger = 0;
    memset(c->rcat, 0, sizeof(c->rcat));
    memset(c->rprio, 0, sizeof(c->rprio));
    s_mark(c);
    s_text_features(c);
    s_vote(c, CLASSIFY_K_CAT, c->rcat, 0, out, explain);
    s_vote(c, CLASSIFY_K_PRIO, c->rprio, 1, out, explain);
    /* the rule layer's verdicts, scaled so that a deciding term (weight 3-4) is about 1 */
    for (int k = 0; k < CLASSIFY_NCAT; k++)
        if (c->rcat[k] != 0)
            s_add(c, classify_hash((const char *)&k, sizeof(k), S_SEED_VOTE), (float)(c->rcat[k] / 4.0),
                  CLASSIFY_SRC_VOTE, k);
    for (int k = 0; k < CLASSIFY_NPRIO; k++)
        if (c->rprio[k] != 0) {
            int key = 100 + k;
            s_add(c, classify_hash((const char *)&key, sizeof(key), S_SEED_VOTE), (float)(c->rprio[k] / 4.0),
                  CLASSIFY_SRC_VOTE, CLASSIFY_NCAT + k);
        }
    /* the emergency cues intake tells residents by (antt_danger): each that
     * counts, each that is negated, over or past, and the services named */
    antt_danger_t dg;
    int ndg = antt_danger_scan_folded(folded, &dg);
    free(folded);
    if (ndg > 0 || dg.nsuppressed > 0) {
        for (int k = 0; k < dg.ncues; k++)
            s_add(c, classify_hash(dg.cues[k], strlen(dg.cues[k]), S_SEED_DANGER), 1.0f, CLASSIFY_SRC_DANGER, 0);
        for (int k = 0; k < dg.nsuppressed; k++)
            s_add(c, classify_hash(dg.suppressed[k], strlen(dg.suppressed[k]), S_SEED_DANGER + 1), 1.0f,
                  CLASSIFY_SRC_DANGER, 1);
        for (unsigned bit = 1; bit <= ANTT_DANGER_ALL; bit <<= 1)
            if (dg.mask & bit)
                s_add(c, classify_hash((const char *)&bit, sizeof(bit), S_SEED_DANGER + 2), 1.0f,
                      CLASSIFY_SRC_DANGER, 2);
        if (dg.mask)
            c->danger |= CLASSIFY_DANGER_ANY;
    }
    if (c->danger) {
        int key = 1;
        s_add(c, classify_hash((const char *)&key, sizeof(key), S_SEED_DANGER), 1.0f, CLASSIFY_SRC_DANGER, 0);
    }
    return 0;
}
