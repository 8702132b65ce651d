/* classify: the report classifier — a multinomial logistic regression over
 * hashed features of the folded text (words, syllable bigrams, character
 * 3-5-grams) and the cues of an explainable rule layer
 * (config/classification.rules), trained by `antt train` and calibrated on
 * held-out folds. Pure computation, no I/O after load: the service, the CLI
 * and the benchmark share it. Thread-compatible: one classifier may be used
 * by one thread at a time (it keeps scratch space). */
#ifndef CLASSIFY_H
#define CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#define CLASSIFY_NCAT 16 /* antt_categories order */
#define CLASSIFY_NPRIO 4 /* P1..P4 */
#define CLASSIFY_MAX_REASONS 16

typedef struct classify_rules_s classify_rules_t;
typedef struct classify_model_s classify_model_t;
typedef struct classify_s classify_t;

/* Why a classification needs a dispatcher's review. */
enum { CLASSIFY_REVIEW_NONE, CLASSIFY_REVIEW_UNSURE, CLASSIFY_REVIEW_RESIDENT };

/* What the classifier decided and why. Strings are owned by the result and
 * freed by classify_result_cleanup. */
typedef struct classify_result_s {
    int category;                           /* index into antt_categories */
    int priority;                           /* 1..4 */
    float confidence;                       /* category probability, 0..1 (calibrated) */
    float priority_confidence;              /* probability of the chosen priority, 0..1 */
    float p1;                               /* probability of P1, 0..1 */
    int danger;                             /* danger cues found (not negated): someone hurt, weapon, fire... */
    int needs_review;                       /* 0, or why: CLASSIFY_REVIEW_* */
    char *review_reason;                    /* why it needs review (owned, NULL when it does not) */
    char *reasons[CLASSIFY_MAX_REASONS];    /* what decided, in words a dispatcher reads */
    int nreasons;                           /* used entries of reasons */
} classify_result_t;

/* ---- tokens ----------------------------------------------------------- */

/* Folded words of one text, with clause boundaries (punctuation) kept as the
 * token ",". Shorthand ("ko", "dc", "bj") is expanded by the rules' table. */
typedef struct classify_tokens_s {
    char **tok;   /* n NUL-terminated tokens, pointing into buf */
    size_t n;     /* token count */
    size_t cap;   /* allocated entries of tok */
    char *buf;    /* token storage */
    size_t used;  /* bytes used in buf */
    size_t bufcap;/* bytes allocated in buf */
} classify_tokens_t;

void classify_tokens_init(classify_tokens_t *t);
void classify_tokens_cleanup(classify_tokens_t *t);
/* Tokenizes len bytes of UTF-8 text into t (cleared first). rules may be NULL
 * (no shorthand expansion). Returns 0, or -EILSEQ for invalid UTF-8. */
int classify_tokenize(classify_tokens_t *t, const classify_rules_t *rules, const char *text, size_t len);
/* The same over text already folded by antt_text_fold_clauses: its clause and
 * sentence marks become single "," tokens between clauses. Returns 0. */
int classify_tokenize_folded(classify_tokens_t *t, const classify_rules_t *rules, const char *folded);

/* ---- rules ------------------------------------------------------------ */

/* Loads the rule file at path. On failure returns NULL and writes a message
 * naming the file and line into err. */
classify_rules_t *classify_rules_load(const char *path, char *err, size_t errlen);
void classify_rules_destroy(classify_rules_t **self_p);

/* Where the rules and the model are: settings classification.rules and
 * classification.model of cfg (may be NULL), else the build's defaults (the
 * source tree's config/ and the build tree's classify.model). Borrowed. */
struct antt_config_s;
const char *classify_rules_path(const struct antt_config_s *cfg);
const char *classify_model_path(const struct antt_config_s *cfg);

/* ---- model ------------------------------------------------------------ */

/* One labelled example for training. */
typedef struct classify_example_s {
    int category;   /* index into antt_categories */
    int priority;   /* 1..4 */
    const char *text;
    int group;      /* situation: examples of one group share a fold (>= 0) */
    int style;      /* writing style, for per-style figures (0: unknown) */
} classify_example_t;

/* How to train. Zero fields take the defaults (classify_train_defaults). */
typedef struct classify_train_opts_s {
    int epochs;          /* passes of SGD over the examples */
    int folds;           /* grouped folds for calibration; < 2: no calibration */
    double p1_recall;    /* held-out P1 recall the P1 threshold is set for */
    uint64_t seed;       /* shuffling seed: the same inputs give the same model */
} classify_train_opts_t;

void classify_train_defaults(classify_train_opts_t *o);

/* Held-out (out-of-fold) predictions of a grouped cross-validation; filled
 * by classify_model_train when asked. */
typedef struct classify_oof_s {
    int *category;       /* n predicted categories */
    int *priority;       /* n predicted priorities 1..4 */
    size_t n;            /* examples */
} classify_oof_t;

void classify_oof_cleanup(classify_oof_t *o);

/* Trains a model on n examples, featurized with rules (which the model then
 * requires). With opts->folds >= 2 it first trains one model per grouped
 * fold, fits the temperatures and the P1 threshold on the held-out folds'
 * answers and, if oof is not NULL, stores those answers (with the final
 * calibration) in it. Returns NULL only on invalid UTF-8 (err names it). */
classify_model_t *classify_model_train(const classify_rules_t *rules, const classify_example_t *ex, size_t n,
                                       const classify_train_opts_t *opts, classify_oof_t *oof, char *err,
                                       size_t errlen);
/* Writes the model to path (atomically: temp file, then rename). 0 or -errno. */
int classify_model_save(const classify_model_t *m, const char *path);
/* Reads a model file and checks it: its checksum, that its feature scheme is
 * this build's and that it was trained with these rules. NULL with a message
 * in err when missing, corrupt or not matching. */
classify_model_t *classify_model_load(const char *path, const classify_rules_t *rules, char *err, size_t errlen);
void classify_model_destroy(classify_model_t **self_p);
/* Number of weight rows (hashed features) the model uses. */
size_t classify_model_features(const classify_model_t *m);
/* The model's version: the start of its checksum in hex (borrowed). */
const char *classify_model_version(const classify_model_t *m);
/* Examples it was trained on. */
size_t classify_model_examples(const classify_model_t *m);

/* ---- classifier ------------------------------------------------------- */

/* A classifier over rules and model, both borrowed (they must outlive it).
 * model may be NULL: rules only. */
classify_t *classify_new(const classify_rules_t *rules, const classify_model_t *model);
void classify_destroy(classify_t **self_p);

/* Classifies len bytes of text. hint is the resident's service_code or NULL:
 * evidence for that category; when the answer differs, needs_review is set.
 * Fills *out (the caller cleans it up). Returns 0, or -EILSEQ for invalid
 * UTF-8. explain = 0 skips building reason strings (faster). */
int classify_run(classify_t *c, const char *text, size_t len, const char *hint, int explain,
                 classify_result_t *out);
void classify_result_cleanup(classify_result_t *r);

#endif
