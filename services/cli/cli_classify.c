/* antt train, antt classify: the classifier offline, with the same code and
 * rules as the classification service. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_categories.h"
#include "antt_json.h"
#include "antt_util.h"
#include "classify.h"
#include "cli.h"

/* A labelled corpus read from TSV files: category<TAB>priority<TAB>text. */
typedef struct s_corpus {
    classify_example_t *ex; /* examples; text owned */
    size_t n;               /* entries of ex */
    size_t cap;             /* allocated entries */
} s_corpus_t;

static void s_corpus_free(s_corpus_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        free((char *)c->ex[i].text);
    free(c->ex);
    memset(c, 0, sizeof(*c));
}

static int s_corpus_read(s_corpus_t *c, FILE *f, const char *name)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t2 == NULL) {
            fprintf(stderr, "antt: %s:%d: expected category<TAB>priority<TAB>text\n", name, lineno);
            rc = -EINVAL;
            break;
        }
        *t1 = *t2 = '\0';
        const antt_category_t *cat = antt_category_find(line);
        const char *p = t1 + 1;
        if (cat == NULL || strlen(p) != 2 || p[0] != 'P' || p[1] < '1' || p[1] > '4') {
            fprintf(stderr, "antt: %s:%d: unknown category \"%s\" or priority \"%s\"\n", name, lineno, line, p);
            rc = -EINVAL;
            break;
        }
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 256;
            c->ex = antt_xrealloc(c->ex, c->cap * sizeof(*c->ex));
        }
        c->ex[c->n++] = (classify_example_t){(int)(cat - antt_categories), p[1] - '0', antt_xstrdup(t2 + 1)};
    }
    free(line);
    return rc;
}

/* Confusion counts of one evaluation. */
typedef struct s_eval {
    int cat[CLASSIFY_NCAT][CLASSIFY_NCAT]; /* [truth][predicted] */
    int prio[CLASSIFY_NPRIO][CLASSIFY_NPRIO];
    int n;                                 /* examples */
    int cat_ok, prio_ok;                   /* correct answers */
} s_eval_t;

static int s_evaluate(classify_t *cl, const classify_example_t *ex, size_t n, s_eval_t *ev, int show_errors)
{
    for (size_t i = 0; i < n; i++) {
        classify_result_t r;
        if (classify_run(cl, ex[i].text, strlen(ex[i].text), NULL, show_errors, &r) != 0) {
            fprintf(stderr, "antt: example %zu is not valid UTF-8\n", i + 1);
            return -EILSEQ;
        }
        ev->n++;
        ev->cat[ex[i].category][r.category]++;
        ev->prio[ex[i].priority - 1][r.priority - 1]++;
        ev->cat_ok += r.category == ex[i].category;
        ev->prio_ok += r.priority == ex[i].priority;
        if (show_errors && (r.category != ex[i].category || r.priority != ex[i].priority)) {
            fprintf(stderr, "miss: %s P%d -> %s P%d: %s\n", antt_categories[ex[i].category].code, ex[i].priority,
                    antt_categories[r.category].code, r.priority, ex[i].text);
            for (int k = 0; k < r.nreasons; k++)
                fprintf(stderr, "        %s\n", r.reasons[k]);
        }
        classify_result_cleanup(&r);
    }
    return 0;
}

static void s_report(const s_eval_t *ev)
{
    double n = ev->n ? ev->n : 1;
    printf("examples %d\ncategory accuracy %.1f%% (%d/%d)\npriority accuracy %.1f%% (%d/%d)\n", ev->n,
           100.0 * ev->cat_ok / n, ev->cat_ok, ev->n, 100.0 * ev->prio_ok / n, ev->prio_ok, ev->n);
    printf("\n%-18s %9s %9s %7s\n", "category", "precision", "recall", "support");
    for (int c = 0; c < CLASSIFY_NCAT; c++) {
        int tp = ev->cat[c][c], pred = 0, truth = 0;
        for (int k = 0; k < CLASSIFY_NCAT; k++) {
            pred += ev->cat[k][c];
            truth += ev->cat[c][k];
        }
        if (truth == 0 && pred == 0)
            continue;
        printf("%-18s %8.1f%% %8.1f%% %7d\n", antt_categories[c].code, pred ? 100.0 * tp / pred : 0.0,
               truth ? 100.0 * tp / truth : 0.0, truth);
    }
    printf("\nconfusion (rows: truth, columns: predicted, in category order)\n%-18s", "");
    for (int c = 0; c < CLASSIFY_NCAT; c++)
        printf(" %3.3s", antt_categories[c].code);
    printf("\n");
    for (int c = 0; c < CLASSIFY_NCAT; c++) {
        printf("%-18s", antt_categories[c].code);
        for (int k = 0; k < CLASSIFY_NCAT; k++)
            printf(ev->cat[c][k] ? " %3d" : "   .", ev->cat[c][k]);
        printf("\n");
    }
    printf("\npriority confusion (rows: truth, columns: predicted)\n    %4s %4s %4s %4s\n", "P1", "P2", "P3", "P4");
    for (int p = 0; p < CLASSIFY_NPRIO; p++) {
        printf("P%d  ", p + 1);
        for (int k = 0; k < CLASSIFY_NPRIO; k++)
            printf(" %4d", ev->prio[p][k]);
        printf("\n");
    }
}

static const char *s_train_usage =
    "usage: antt train [--rules FILE] [--corpus FILE]... [-o MODEL] [--cv K]\n"
    "  Trains the model from labelled TSV (category<TAB>priority<TAB>text) and writes MODEL.\n"
    "  --cv K reports K-fold cross-validated accuracy on the corpus instead (nothing written).\n";

int cli_train(int argc, char **argv)
{
    static const struct option opts[] = {{"rules", required_argument, NULL, 'r'},
                                         {"corpus", required_argument, NULL, 'i'},
                                         {"cv", required_argument, NULL, 'k'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *rules_path = NULL, *out = NULL;
    const char *corpora[16];
    int ncorpora = 0, folds = 0, verbose = 0, ch, rc = 1;
    while ((ch = getopt_long(argc, argv, "o:c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': rules_path = optarg; break;
        case 'i':
            if (ncorpora < 16)
                corpora[ncorpora++] = optarg;
            break;
        case 'o': out = optarg; break;
        case 'k': folds = atoi(optarg); break;
        case 'v': verbose = 1; break;
        case 'c': break;
        case 'h': fputs(s_train_usage, stdout); return 0;
        default: fputs(s_train_usage, stderr); return 2;
        }
    }
    if (optind != argc || ncorpora == 0 || (folds == 0 && out == NULL) || folds < 0 || folds == 1) {
        fputs(s_train_usage, stderr);
        return 2;
    }
    char err[512];
    classify_rules_t *rules = classify_rules_load(rules_path ? rules_path : classify_rules_path(NULL), err,
                                                  sizeof(err));
    s_corpus_t corpus = {0};
    classify_model_t *m = NULL;
    if (rules == NULL) {
        fprintf(stderr, "antt: %s\n", err);
        goto out;
    }
    for (int i = 0; i < ncorpora; i++) {
        FILE *f = fopen(corpora[i], "r");
        if (f == NULL) {
            fprintf(stderr, "antt: could not open \"%s\": %s\n", corpora[i], strerror(errno));
            goto out;
        }
        int r = s_corpus_read(&corpus, f, corpora[i]);
        fclose(f);
        if (r != 0)
            goto out;
    }
    if (folds > 0) {
        /* consecutive lines are one report in several styles: fold by blocks of
         * three so that no style of a report is both trained and tested on */
        s_eval_t ev = {0};
        classify_example_t *tr = antt_xcalloc(corpus.n, sizeof(*tr)), *te = antt_xcalloc(corpus.n, sizeof(*te));
        for (int k = 0; k < folds; k++) {
            size_t ntr = 0, nte = 0;
            for (size_t i = 0; i < corpus.n; i++) {
                if ((int)((i / 3) % (size_t)folds) == k)
                    te[nte++] = corpus.ex[i];
                else
                    tr[ntr++] = corpus.ex[i];
            }
            classify_model_t *fm = classify_model_train(rules, tr, ntr, err, sizeof(err));
            classify_t *cl = classify_new(rules, fm);
            int r = fm ? s_evaluate(cl, te, nte, &ev, verbose) : -EILSEQ;
            classify_destroy(&cl);
            classify_model_destroy(&fm);
            if (r != 0) {
                free(tr);
                free(te);
                goto out;
            }
        }
        free(tr);
        free(te);
        printf("%d-fold cross-validation over %zu examples\n", folds, corpus.n);
        s_report(&ev);
        rc = 0;
        goto out;
    }
    m = classify_model_train(rules, corpus.ex, corpus.n, err, sizeof(err));
    if (m == NULL) {
        fprintf(stderr, "antt: %s\n", err);
        goto out;
    }
    int r = classify_model_save(m, out);
    if (r != 0) {
        fprintf(stderr, "antt: could not write \"%s\": %s\n", out, strerror(-r));
        goto out;
    }
    printf("trained on %zu examples, %zu features: %s\n", corpus.n, classify_model_features(m), out);
    rc = 0;
out:
    classify_model_destroy(&m);
    s_corpus_free(&corpus);
    classify_rules_destroy(&rules);
    return rc;
}

static const char *s_classify_usage =
    "usage: antt classify [--json] [--hint CODE] [--rules FILE] [--model FILE] TEXT\n"
    "       antt classify --tsv [--min-category PCT] [--min-priority PCT] [--verbose] < FILE\n"
    "  Classifies TEXT and prints category, priority, confidence and reasons; with --tsv,\n"
    "  reads category<TAB>priority<TAB>text lines and prints accuracy, per-category\n"
    "  precision and recall and confusion matrices (exit 1 below a --min threshold).\n";

static void s_print_json(const classify_result_t *r)
{
    antt_buf_t b;
    antt_buf_init(&b);
    antt_buf_puts(&b, "{\"category\":");
    antt_json_cstr(&b, antt_categories[r->category].code);
    antt_buf_printf(&b, ",\"category_label\":");
    antt_json_cstr(&b, antt_categories[r->category].label_vi);
    antt_buf_printf(&b, ",\"priority\":\"P%d\",\"confidence\":%.3f,\"priority_confidence\":%.3f,\"reasons\":[",
                    r->priority, r->confidence, r->priority_confidence);
    for (int i = 0; i < r->nreasons; i++) {
        if (i)
            antt_buf_puts(&b, ",");
        antt_json_cstr(&b, r->reasons[i]);
    }
    antt_buf_puts(&b, "]}\n");
    fwrite(b.data, 1, b.len, stdout);
    antt_buf_cleanup(&b);
}

int cli_classify(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"tsv", no_argument, NULL, 't'},
                                         {"hint", required_argument, NULL, 'H'},
                                         {"rules", required_argument, NULL, 'r'},
                                         {"model", required_argument, NULL, 'm'},
                                         {"min-category", required_argument, NULL, 'C'},
                                         {"min-priority", required_argument, NULL, 'P'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *rules_path = NULL, *model_path = NULL, *hint = NULL, *cfg_path = NULL;
    int json = 0, tsv = 0, verbose = 0, ch, rc = 1;
    double min_cat = 0, min_prio = 0;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = 1; break;
        case 't': tsv = 1; break;
        case 'H': hint = optarg; break;
        case 'r': rules_path = optarg; break;
        case 'm': model_path = optarg; break;
        case 'C': min_cat = atof(optarg); break;
        case 'P': min_prio = atof(optarg); break;
        case 'v': verbose = 1; break;
        case 'c': cfg_path = optarg; break;
        case 'h': fputs(s_classify_usage, stdout); return 0;
        default: fputs(s_classify_usage, stderr); return 2;
        }
    }
    if (tsv ? optind != argc : optind != argc - 1) {
        fputs(s_classify_usage, stderr);
        return 2;
    }
    antt_config_t *cfg = cli_config(cfg_path);
    if (cfg == NULL)
        return 1;
    char err[512];
    classify_model_t *m = NULL;
    classify_t *cl = NULL;
    s_corpus_t corpus = {0};
    classify_rules_t *rules =
        classify_rules_load(rules_path ? rules_path : classify_rules_path(cfg), err, sizeof(err));
    if (rules == NULL) {
        fprintf(stderr, "antt: %s\n", err);
        goto out;
    }
    m = classify_model_load(model_path ? model_path : classify_model_path(cfg), err, sizeof(err));
    if (m == NULL) {
        fprintf(stderr, "antt: %s\n", err);
        goto out;
    }
    cl = classify_new(rules, m);
    if (tsv) {
        if (s_corpus_read(&corpus, stdin, "stdin") != 0)
            goto out;
        s_eval_t ev = {0};
        if (s_evaluate(cl, corpus.ex, corpus.n, &ev, verbose) != 0)
            goto out;
        s_report(&ev);
        double n = ev.n ? ev.n : 1;
        rc = 100.0 * ev.cat_ok / n >= min_cat && 100.0 * ev.prio_ok / n >= min_prio ? 0 : 1;
        if (rc)
            fprintf(stderr, "antt: accuracy below the required %.1f%% category / %.1f%% priority\n", min_cat,
                    min_prio);
        goto out;
    }
    classify_result_t r;
    const char *text = argv[optind];
    if (classify_run(cl, text, strlen(text), hint, 1, &r) != 0) {
        fprintf(stderr, "antt: the text is not valid UTF-8\n");
        goto out;
    }
    if (json) {
        s_print_json(&r);
    } else {
        printf("category    %s (%s)\npriority    P%d\nconfidence  %.2f (priority %.2f)\nreasons\n",
               antt_categories[r.category].code, antt_categories[r.category].label_vi, r.priority, r.confidence,
               r.priority_confidence);
        for (int i = 0; i < r.nreasons; i++)
            printf("  %s\n", r.reasons[i]);
    }
    classify_result_cleanup(&r);
    rc = 0;
out:
    classify_destroy(&cl);
    classify_model_destroy(&m);
    classify_rules_destroy(&rules);
    s_corpus_free(&corpus);
    antt_config_destroy(&cfg);
    return rc;
}
