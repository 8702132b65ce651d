/* classify: the report classifier — an explainable rule layer (terms and
 * phrases from config/classification.rules) combined with a multinomial naive
 * Bayes model trained by `antt train`. Pure computation, no I/O after load:
 * the service, the CLI and the benchmark share it. Thread-compatible: one
 * classifier may be used by one thread at a time (it keeps scratch space). */
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

/* What the classifier decided and why. Strings are owned by the result and
 * freed by classify_result_cleanup. */
typedef struct classify_result_s {
    int category;                           /* index into antt_categories */
    int priority;                           /* 1..4 */
    float confidence;                       /* category probability, 0..1 */
    float priority_confidence;              /* priority probability, 0..1 */
    char *reasons[CLASSIFY_MAX_REASONS];    /* rules and terms that fired */
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
} classify_example_t;

/* Trains a model on n examples, tokenized with rules. Returns NULL only on
 * invalid UTF-8 in an example (err names it). */
classify_model_t *classify_model_train(const classify_rules_t *rules, const classify_example_t *ex, size_t n,
                                       char *err, size_t errlen);
/* Writes the model to path (atomically: temp file, then rename). 0 or -errno. */
int classify_model_save(const classify_model_t *m, const char *path);
/* Reads a model file; NULL with a message in err when missing or corrupt. */
classify_model_t *classify_model_load(const char *path, char *err, size_t errlen);
void classify_model_destroy(classify_model_t **self_p);
/* Number of distinct features the model knows. */
size_t classify_model_features(const classify_model_t *m);

/* ---- classifier ------------------------------------------------------- */

/* A classifier over rules and model, both borrowed (they must outlive it).
 * model may be NULL: rules only. */
classify_t *classify_new(const classify_rules_t *rules, const classify_model_t *model);
void classify_destroy(classify_t **self_p);

/* Classifies len bytes of text. hint is the resident's service_code or NULL.
 * Fills *out (the caller cleans it up). Returns 0, or -EILSEQ for invalid
 * UTF-8. explain = 0 skips building reason strings (faster). */
int classify_run(classify_t *c, const char *text, size_t len, const char *hint, int explain,
                 classify_result_t *out);
void classify_result_cleanup(classify_result_t *r);

#endif
