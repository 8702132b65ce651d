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

/* Features of a token stream for the model: hashed word unigrams, bigrams
 * and character 4-grams, deduplicated, written to *out (resized). Returns the count. */
size_t classify_features(const classify_tokens_t *t, uint64_t **out, size_t *cap);

/* Adds the model's log-likelihoods to cat[] and prio[] (log-softmax
 * normalized). Returns the number of known features used. */
int classify_model_score(const classify_model_t *m, const uint64_t *f, size_t nf, double cat[CLASSIFY_NCAT],
                         double prio[CLASSIFY_NPRIO]);

#endif
