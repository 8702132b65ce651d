/* cli_corpus: labelled corpora (TSV) and accuracy figures for antt train and
 * antt classify --tsv. */
#ifndef CLI_CORPUS_H
#define CLI_CORPUS_H

#include <stdio.h>

#include "classify.h"

#define CLI_NSTYLES 6 /* unknown, vi, plain, sms, en, mixed */
extern const char *const cli_styles[CLI_NSTYLES];

typedef struct cli_corpus_s {
    classify_example_t *ex; /* examples; text owned */
    size_t n;               /* entries of ex */
    size_t cap;             /* allocated entries */
    char **groups;          /* situation names by group index (owned) */
    size_t ngroups;         /* entries of groups */
} cli_corpus_t;

void cli_corpus_free(cli_corpus_t *c);
/* Appends the lines of f (named name in messages). 0, or -EINVAL after
 * printing the bad line. */
int cli_corpus_read(cli_corpus_t *c, FILE *f, const char *name);
/* The same for a file path; -errno when it cannot be opened. */
int cli_corpus_load(cli_corpus_t *c, const char *path);
/* Appends one example (text copied); situation names its group. 0 or -EINVAL. */
int cli_corpus_add(cli_corpus_t *c, int category, int priority, const char *situation, int style, const char *text);
/* Appends the dispatchers' corrections and the resolved incidents' reports
 * from the database of the settings at cfg_path (cli_train_db.c). Returns
 * the number added, or -1 after printing why. */
int cli_corpus_from_db(cli_corpus_t *c, const char *cfg_path);

/* Confusion counts of one evaluation. */
typedef struct cli_eval_part_s {
    int cat[CLASSIFY_NCAT][CLASSIFY_NCAT];   /* [truth][predicted] */
    int prio[CLASSIFY_NPRIO][CLASSIFY_NPRIO]; /* [truth][predicted] */
    int n;                                   /* examples */
    int cat_ok, prio_ok;                     /* correct answers */
} cli_eval_part_t;

typedef struct cli_eval_s {
    cli_eval_part_t all;                 /* every example */
    cli_eval_part_t style[CLI_NSTYLES];  /* per writing style */
} cli_eval_t;

void cli_eval_add(cli_eval_t *ev, const classify_example_t *ex, int category, int priority);
/* P1 recall and precision of e, in percent (100 when undefined). */
void cli_eval_p1(const cli_eval_part_t *e, double *recall, double *precision);
/* Prints accuracy, P1 recall and precision, per-style figures, per-category
 * precision and recall, and both confusion matrices. */
void cli_eval_report(const cli_eval_t *ev);

#endif
