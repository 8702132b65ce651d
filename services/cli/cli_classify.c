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
#include "cli_corpus.h"

/* Prints a miss with the reasons the classifier gives for it. */
static void s_miss(classify_t *cl, const classify_example_t *ex, int cat, int prio)
{
    fprintf(stderr, "miss: %s P%d -> %s P%d: %s\n", antt_categories[ex->category].code, ex->priority,
            antt_categories[cat].code, prio, ex->text);
    classify_result_t r;
    if (cl && classify_run(cl, ex->text, strlen(ex->text), NULL, 1, &r) == 0) {
        for (int k = 0; k < r.nreasons; k++)
            fprintf(stderr, "        %s\n", r.reasons[k]);
        classify_result_cleanup(&r);
    }
}

static int s_evaluate(classify_t *cl, const classify_example_t *ex, size_t n, cli_eval_t *ev, int show_errors)
{
    for (size_t i = 0; i < n; i++) {
        classify_result_t r;
        if (classify_run(cl, ex[i].text, strlen(ex[i].text), NULL, 0, &r) != 0) {
            fprintf(stderr, "antt: example %zu is not valid UTF-8\n", i + 1);
            return -EILSEQ;
        }
        cli_eval_add(ev, &ex[i], r.category, r.priority);
        if (show_errors && (r.category != ex[i].category || r.priority != ex[i].priority))
            s_miss(cl, &ex[i], r.category, r.priority);
        classify_result_cleanup(&r);
    }
    return 0;
}

static const char *s_train_usage =
    "usage: antt train [--rules FILE] [--corpus FILE]... [--from-db] [-c CONFIG] [-o MODEL]\n"
    "                  [--cv K] [--folds K] [--epochs N] [--verbose]\n"
    "  Trains the model from labelled TSV (category<TAB>priority<TAB>[situation<TAB>style<TAB>]text)\n"
    "  and writes MODEL. The probabilities are calibrated on K folds grouped by situation\n"
    "  (--folds, default 5; 0: none). --from-db adds the dispatchers' corrections and the\n"
    "  confirmed categories of resolved incidents from the database of CONFIG.\n"
    "  --cv K prints the K-fold cross-validated figures (grouped by situation) instead.\n";

int cli_train(int argc, char **argv)
{
    static const struct option opts[] = {{"rules", required_argument, NULL, 'r'},
                                         {"corpus", required_argument, NULL, 'i'},
                                         {"cv", required_argument, NULL, 'k'},
                                         {"folds", required_argument, NULL, 'f'},
                                         {"epochs", required_argument, NULL, 'e'},
                                         {"from-db", no_argument, NULL, 'd'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *rules_path = NULL, *out = NULL, *cfg_path = NULL;
    const char *corpora[32];
    int ncorpora = 0, cv = 0, verbose = 0, from_db = 0, ch, rc = 1;
    classify_train_opts_t to;
    classify_train_defaults(&to);
    while ((ch = getopt_long(argc, argv, "o:c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': rules_path = optarg; break;
        case 'i':
            if (ncorpora < 32)
                corpora[ncorpora++] = optarg;
            break;
        case 'o': out = optarg; break;
        case 'k': cv = atoi(optarg); break;
        case 'f': to.folds = atoi(optarg); break;
        case 'e': to.epochs = atoi(optarg); break;
        case 'd': from_db = 1; break;
        case 'v': verbose = 1; break;
        case 'c': cfg_path = optarg; break;
        case 'h': fputs(s_train_usage, stdout); return 0;
        default: fputs(s_train_usage, stderr); return 2;
        }
    }
    if (optind != argc || (ncorpora == 0 && !from_db) || (cv == 0 && out == NULL) || cv < 0 || cv == 1 ||
        to.folds < 0 || to.folds == 1 || to.epochs < 1 || to.epochs > 200) {
        fputs(s_train_usage, stderr);
        return 2;
    }
    char err[512];
    classify_rules_t *rules = classify_rules_load(rules_path ? rules_path : classify_rules_path(NULL), err,
                                                  sizeof(err));
    cli_corpus_t corpus = {0};
    classify_model_t *m = NULL;
    classify_oof_t oof = {0};
    if (rules == NULL) {
        fprintf(stderr, "antt: %s\n", err);
        goto out;
    }
    for (int i = 0; i < ncorpora; i++)
        if (cli_corpus_load(&corpus, corpora[i]) != 0)
            goto out;
    if (from_db) {
        int added = cli_corpus_from_db(&corpus, cfg_path);
        if (added < 0)
            goto out;
        printf("from the database: %d corrected or confirmed report(s)\n", added);
    }
    if (corpus.n == 0) {
        fprintf(stderr, "antt: no examples to train on\n");
        goto out;
    }
    if (cv > 0) {
        to.folds = cv;
        m = classify_model_train(rules, corpus.ex, corpus.n, &to, &oof, err, sizeof(err));
        if (m == NULL) {
            fprintf(stderr, "antt: %s\n", err);
            goto out;
        }
        cli_eval_t *ev = antt_xcalloc(1, sizeof(*ev));
        for (size_t i = 0; i < corpus.n; i++) {
            cli_eval_add(ev, &corpus.ex[i], oof.category[i], oof.priority[i]);
            if (verbose && (oof.category[i] != corpus.ex[i].category || oof.priority[i] != corpus.ex[i].priority))
                s_miss(NULL, &corpus.ex[i], oof.category[i], oof.priority[i]);
        }
        printf("%d-fold cross-validation over %zu examples in %zu situations (folds by situation)\n", cv,
               corpus.n, corpus.ngroups);
        cli_eval_report(ev);
        free(ev);
        rc = 0;
        goto out;
    }
    m = classify_model_train(rules, corpus.ex, corpus.n, &to, NULL, err, sizeof(err));
    if (m == NULL) {
        fprintf(stderr, "antt: %s\n", err);
        goto out;
    }
    int r = classify_model_save(m, out);
    if (r != 0) {
        fprintf(stderr, "antt: could not write \"%s\": %s\n", out, strerror(-r));
        goto out;
    }
    classify_model_destroy(&m);
    m = classify_model_load(out, rules, err, sizeof(err));
    if (m == NULL) {
        fprintf(stderr, "antt: %s\n", err);
        goto out;
    }
    printf("trained on %zu examples (%zu situations), %zu weight rows: %s, version %s\n", corpus.n,
           corpus.ngroups, classify_model_features(m), out, classify_model_version(m));
    rc = 0;
out:
    classify_oof_cleanup(&oof);
    classify_model_destroy(&m);
    cli_corpus_free(&corpus);
    classify_rules_destroy(&rules);
    return rc;
}

static const char *s_classify_usage =
    "usage: antt classify [--json] [--hint CODE] [--rules FILE] [--model FILE | --rules-only] TEXT\n"
    "       antt classify --tsv [--min-category PCT] [--min-priority PCT] [--min-p1-recall PCT]\n"
    "                     [--min-p1-precision PCT] [--verbose] < FILE\n"
    "  Classifies TEXT and prints category, priority, confidence and reasons; with --tsv,\n"
    "  reads category<TAB>priority<TAB>[situation<TAB>style<TAB>]text lines and prints accuracy,\n"
    "  P1 recall and precision, per-style and per-category figures and confusion matrices\n"
    "  (exit 1 below a --min threshold).\n";

static void s_print_json(const classify_result_t *r)
{
    antt_buf_t b;
    antt_buf_init(&b);
    antt_buf_puts(&b, "{\"category\":");
    antt_json_cstr(&b, antt_categories[r->category].code);
    antt_buf_printf(&b, ",\"category_label\":");
    antt_json_cstr(&b, antt_categories[r->category].label_vi);
    antt_buf_printf(&b,
                    ",\"priority\":\"P%d\",\"confidence\":%.3f,\"priority_confidence\":%.3f,\"p1\":%.3f,"
                    "\"danger\":%s,\"needs_review\":%s,\"review_reason\":",
                    r->priority, r->confidence, r->priority_confidence, r->p1, r->danger ? "true" : "false",
                    r->needs_review ? "true" : "false");
    if (r->review_reason)
        antt_json_cstr(&b, r->review_reason);
    else
        antt_buf_puts(&b, "null");
    antt_buf_puts(&b, ",\"reasons\":[");
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
                                         {"rules-only", no_argument, NULL, 'O'},
                                         {"min-category", required_argument, NULL, 'C'},
                                         {"min-priority", required_argument, NULL, 'P'},
                                         {"min-p1-recall", required_argument, NULL, 'R'},
                                         {"min-p1-precision", required_argument, NULL, 'E'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *rules_path = NULL, *model_path = NULL, *hint = NULL, *cfg_path = NULL;
    int json = 0, tsv = 0, verbose = 0, rules_only = 0, ch, rc = 1;
    double min_cat = 0, min_prio = 0, min_p1r = 0, min_p1p = 0;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = 1; break;
        case 't': tsv = 1; break;
        case 'H': hint = optarg; break;
        case 'r': rules_path = optarg; break;
        case 'm': model_path = optarg; break;
        case 'O': rules_only = 1; break;
        case 'C': min_cat = atof(optarg); break;
        case 'P': min_prio = atof(optarg); break;
        case 'R': min_p1r = atof(optarg); break;
        case 'E': min_p1p = atof(optarg); break;
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
    cli_corpus_t corpus = {0};
    classify_rules_t *rules =
        classify_rules_load(rules_path ? rules_path : classify_rules_path(cfg), err, sizeof(err));
    if (rules == NULL) {
        fprintf(stderr, "antt: %s\n", err);
        goto out;
    }
    if (!rules_only)
        m = classify_model_load(model_path ? model_path : classify_model_path(cfg), rules, err, sizeof(err));
    if (m == NULL && !rules_only) {
        fprintf(stderr, "antt: %s\n", err);
        goto out;
    }
    cl = classify_new(rules, m);
    if (tsv) {
        if (cli_corpus_read(&corpus, stdin, "stdin") != 0)
            goto out;
        cli_eval_t *ev = antt_xcalloc(1, sizeof(*ev));
        if (s_evaluate(cl, corpus.ex, corpus.n, ev, verbose) != 0) {
            free(ev);
            goto out;
        }
        cli_eval_report(ev);
        double n = ev->all.n ? ev->all.n : 1, p1r, p1p;
        cli_eval_p1(&ev->all, &p1r, &p1p);
        rc = 100.0 * ev->all.cat_ok / n >= min_cat && 100.0 * ev->all.prio_ok / n >= min_prio && p1r >= min_p1r &&
                     p1p >= min_p1p
                 ? 0
                 : 1;
        if (rc)
            fprintf(stderr,
                    "antt: below the required %.1f%% category / %.1f%% priority / %.1f%% P1 recall / %.1f%% P1 "
                    "precision\n",
                    min_cat, min_prio, min_p1r, min_p1p);
        free(ev);
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
        printf("category    %s (%s)\npriority    P%d\nconfidence  %.2f (priority %.2f, P1 %.2f)\n",
               antt_categories[r.category].code, antt_categories[r.category].label_vi, r.priority, r.confidence,
               r.priority_confidence, r.p1);
        if (r.needs_review)
            printf("review      %s\n", r.review_reason);
        printf("reasons\n");
        for (int i = 0; i < r.nreasons; i++)
            printf("  %s\n", r.reasons[i]);
    }
    classify_result_cleanup(&r);
    rc = 0;
out:
    classify_destroy(&cl);
    classify_model_destroy(&m);
    classify_rules_destroy(&rules);
    cli_corpus_free(&corpus);
    antt_config_destroy(&cfg);
    return rc;
}
