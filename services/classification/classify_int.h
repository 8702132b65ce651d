/* classify_int: what the classifier's files share (not a public API). */
#ifndef CLASSIFY_INT_H
#define CLASSIFY_INT_H

#include <stdint.h>

#include "classify.h"

/* Kinds of rule phrase; each kind has its own table so that a priority
 * phrase ("đang cháy") does not hide a category term inside it ("cháy"). */
enum { CLASSIFY_K_CAT, CLASSIFY_K_PRIO, CLASSIFY_K_NEG, CLASSIFY_K_END, CLASSIFY_K_COUNT };

#define CLASSIFY_MAX_PHRASE 6 /* tokens in the longest phrase */

typedef struct classify_hit_s {
    int target;        /* category index, or priority 1..4 */
    float weight;      /* log-odds added when the phrase is present */
    const char *orig;  /* the phrase as written in the rule file */
} classify_hit_t;

/* One distinct folded phrase of one kind and what it votes for. */
typedef struct classify_phrase_s {
    char *key;             /* folded tokens joined by one space */
    uint64_t hash;         /* s_hash of key */
    classify_hit_t *hits;  /* what it votes for (several categories may share a term) */
    int nhits;             /* entries of hits */
    int id;                /* index in rules->phrases, for once-per-text counting */
} classify_phrase_t;

typedef struct classify_table_s {
    classify_phrase_t **slot; /* open addressing, cap entries, NULL = empty */
    size_t cap;               /* power of two */
    size_t n;                 /* used slots */
} classify_table_t;

struct classify_rules_s {
    classify_table_t tables[CLASSIFY_K_COUNT]; /* phrases by kind */
    classify_phrase_t **phrases;  /* every phrase, by id (owned) */
    int nphrases;                 /* entries of phrases */
    char **origs;                 /* phrase texts as written (owned) */
    int norigs;                   /* entries of origs */
    classify_table_t shorthand;   /* token -> expansion (phrase key = token, orig = expansion) */
    float cat_prio[CLASSIFY_NCAT][CLASSIFY_NPRIO]; /* priority bias given the category */
    float model_weight;           /* scale of the model's log-posterior for categories */
    float prio_model_weight;      /* the same for priorities */
    float hint_weight;            /* log-odds for the resident's service_code */
    float other_bias;             /* log-odds for "other": the answer when evidence is weak */
    int negation_window;          /* tokens after a negation that it covers */
    float review_threshold;       /* a category less probable than this needs review */
    unsigned char digest[32];     /* BLAKE2b-256 of the rule file: a model names the rules it learned */
};

uint64_t classify_hash(const char *s, size_t len, uint64_t seed);
/* The phrase of key in t, created when new (*created = 1). t owns it. */
classify_phrase_t *classify_table_intern(classify_table_t *t, const char *key, int *created);
/* Frees every phrase of t and its slots. */
void classify_table_cleanup(classify_table_t *t);
/* Adds a vote to p; a target listed twice keeps the larger weight. */
void classify_phrase_add_hit(classify_phrase_t *p, int target, float weight, const char *orig);
/* Folds a phrase with the tokenizer (r may be NULL: no shorthand) and joins
 * its tokens with single spaces into out. Returns the token count, or -1 for
 * an empty, over-long or multi-clause phrase. */
int classify_fold_phrase(const classify_rules_t *r, const char *s, char *out, size_t outlen);
/* The phrase of key (len bytes) in table, or NULL. */
const classify_phrase_t *classify_table_find(const classify_table_t *t, const char *key, size_t len);

/* ---- features (classify_features.c) ----------------------------------- */

/* The feature scheme: a model records it and is refused by a build whose
 * scheme differs. Change the string whenever classify_featurize changes. */
#define CLASSIFY_SCHEME "lr2 w1 b2 s2 c345 idf r1 v1 d1 dg2 cp1 h18"
#define CLASSIFY_HASH_BITS 18
#define CLASSIFY_NCLS (CLASSIFY_NCAT + CLASSIFY_NPRIO) /* both heads, one weight row */

/* Where a feature comes from, for the reasons. */
enum { CLASSIFY_SRC_WORD, CLASSIFY_SRC_BIGRAM, CLASSIFY_SRC_RULE, CLASSIFY_SRC_VOTE, CLASSIFY_SRC_DANGER };

typedef struct classify_feat_s {
    uint32_t idx;    /* weight row, < 1 << CLASSIFY_HASH_BITS */
    float val;       /* feature value */
    uint16_t kind;   /* CLASSIFY_SRC_* */
    uint16_t pad;    /* unused */
    int32_t src;     /* token index (word, bigram: its first word), phrase id (rule), class (vote) */
} classify_feat_t;

/* A rule phrase that fired (not negated) in the current text. */
typedef struct classify_fired_s {
    const classify_phrase_t *phrase; /* borrowed from the rules */
    int kind;                        /* CLASSIFY_K_CAT or CLASSIFY_K_PRIO */
} classify_fired_t;

struct classify_s {
    const classify_rules_t *rules; /* borrowed */
    const classify_model_t *model; /* borrowed, may be NULL */
    classify_tokens_t tok;         /* scratch: tokens of the current text */
    classify_feat_t *feat;         /* scratch: features of the current text */
    size_t nfeat, fcap;            /* used and allocated entries of feat */
    classify_fired_t *fired;       /* scratch: rule phrases that fired */
    size_t nfired, firedcap;       /* used and allocated entries of fired */
    uint32_t *seen;                /* per phrase id: gen when it last counted */
    uint32_t gen;                  /* current text's generation */
    unsigned char *mark;           /* per token: S_NEGATED / S_STOP bits */
    size_t mcap;                   /* entries allocated in mark */
    double rcat[CLASSIFY_NCAT];    /* rule votes for categories */
    double rprio[CLASSIFY_NPRIO];  /* rule votes for priorities */
    int danger;                    /* danger cues of the current text (CLASSIFY_DANGER_*) */
    uint32_t *stamp;               /* per weight row: gen when the current text used it */
    double *contrib;               /* scratch of the reasons: score per source */
    size_t ccap;                   /* allocated entries of contrib */
};

/* Danger cues: the [priority P1] phrases of the rules, grouped by what they
 * say. A bit set means a cue of that kind fired, not negated. */
enum { CLASSIFY_DANGER_ANY = 1 };

/* Tokenizes text, finds the rule phrases and negations, and builds the
 * feature vector of the text into c->feat (and the votes into c->rcat,
 * c->rprio, c->danger). Reasons for negated phrases go to out when explain.
 * Returns 0 or -EILSEQ. */
int classify_featurize(classify_t *c, const char *text, size_t len, classify_result_t *out, int explain);

/* ---- model (classify_model.c) ---------------------------------------- */

struct classify_model_s {
    float *w;                          /* (1 << hash_bits) rows x CLASSIFY_NCLS weights */
    float bias[CLASSIFY_NCLS];         /* per class */
    float catprio[CLASSIFY_NCAT][CLASSIFY_NPRIO]; /* priority weights of the category head's probabilities */
    float *idf;                        /* per row: weight of a text feature, log of its rarity */
    float idf_unseen;                  /* the idf of a row no training report had */
    float *mean;                       /* per row: mean weight over categories, then over priorities (2 per row) */
    float text_scale;                  /* length of the text features' vector */
    unsigned hash_bits;                /* CLASSIFY_HASH_BITS */
    float temp_cat, temp_prio;         /* calibration temperatures (logits are divided by them) */
    float p1_threshold;                /* P1 is chosen at or above this probability */
    uint32_t examples;                 /* examples trained on */
    unsigned char rules_digest[32];    /* the rules it was trained with */
    char version[13];                  /* hex of the first 6 bytes of the checksum */
};

classify_model_t *classify_model_alloc(unsigned hash_bits);
/* s[0..n) divided by temp, turned into probabilities in place. */
void classify_softmax(double *s, int n, double temp);
/* The priority (1..4) decided for safety from calibrated probabilities
 * pp[4]: P1 as soon as P(P1) reaches m->p1_threshold, else the most probable
 * of P2-P4 (ties to the more urgent). */
int classify_model_priority(const classify_model_t *m, const double pp[CLASSIFY_NPRIO]);
/* Fills m->mean from the weights (for the reasons); after training or loading. */
void classify_model_prepare(classify_model_t *m);
/* The value the model gives feature f: text features idf-weighted, divided
 * by the text vector's length (norm, from classify_model_text_norm). */
static inline float classify_model_value(const classify_model_t *m, const classify_feat_t *f, double norm)
{
    return f->kind <= CLASSIFY_SRC_BIGRAM ? (float)(m->idf[f->idx] * norm) : f->val;
}
/* text_scale / the length of the idf-weighted text features of f. */
double classify_model_text_norm(const classify_model_t *m, const classify_feat_t *f, size_t nf);
/* Raw logits of the current features: cat[16] and prio[4], before
 * calibration. The priority head also reads the category head's
 * probabilities (fire leans P1, dispute P4), through catprio; pc[16]
 * receives them (may be NULL). */
void classify_model_logits(const classify_model_t *m, const classify_feat_t *f, size_t nf,
                           double cat[CLASSIFY_NCAT], double prio[CLASSIFY_NPRIO], double *pc);

#endif
