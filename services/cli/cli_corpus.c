/* cli_corpus: labelled reports for `antt train` and `antt classify --tsv`,
 * and the figures they are judged by.
 *
 * A corpus line is category<TAB>priority<TAB>text, or
 * category<TAB>priority<TAB>situation<TAB>style<TAB>text: the situation
 * groups the reports of one event (they share a cross-validation fold), the
 * style (vi, plain, sms, en, mixed) gives per-style figures. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_categories.h"
#include "antt_util.h"
#include "cli_corpus.h"

const char *const cli_styles[CLI_NSTYLES] = {"-", "vi", "plain", "sms", "en", "mixed"};

void cli_corpus_free(cli_corpus_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        free((char *)c->ex[i].text);
    free(c->ex);
    for (size_t i = 0; i < c->ngroups; i++)
        free(c->groups[i]);
    free(c->groups);
    memset(c, 0, sizeof(*c));
}

static int s_style(const char *s)
{
    for (int i = 1; i < CLI_NSTYLES; i++)
        if (!strcmp(s, cli_styles[i]))
            return i;
    return -1;
}

/* The index of a situation name, added when new (linear: corpora are small
 * and this runs once). */
static int s_group(cli_corpus_t *c, const char *name)
{
    for (size_t i = c->ngroups; i-- > 0;)
        if (!strcmp(c->groups[i], name))
            return (int)i;
    c->groups = antt_xrealloc(c->groups, (c->ngroups + 1) * sizeof(*c->groups));
    c->groups[c->ngroups] = antt_xstrdup(name);
    return (int)c->ngroups++;
}

static void s_push(cli_corpus_t *c, int category, int priority, int group, int style, const char *text)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->ex = antt_xrealloc(c->ex, c->cap * sizeof(*c->ex));
    }
    c->ex[c->n++] = (classify_example_t){category, priority, antt_xstrdup(text), group, style};
}

int cli_corpus_add(cli_corpus_t *c, int category, int priority, const char *situation, int style, const char *text)
{
    if (category < 0 || category >= CLASSIFY_NCAT || priority < 1 || priority > 4 || style < 0 ||
        style >= CLI_NSTYLES)
        return -EINVAL;
    s_push(c, category, priority, s_group(c, situation), style, text);
    return 0;
}

int cli_corpus_read(cli_corpus_t *c, FILE *f, const char *name)
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
        char *col[5];
        int ncol = 0;
        for (char *p = line; ncol < 5;) {
            col[ncol++] = p;
            p = strchr(p, '\t');
            if (p == NULL)
                break;
            *p++ = '\0';
        }
        if (ncol != 3 && ncol != 5) {
            fprintf(stderr, "antt: %s:%d: expected category<TAB>priority<TAB>[situation<TAB>style<TAB>]text\n",
                    name, lineno);
            rc = -EINVAL;
            break;
        }
        const antt_category_t *cat = antt_category_find(col[0]);
        const char *p = col[1];
        if (cat == NULL || strlen(p) != 2 || p[0] != 'P' || p[1] < '1' || p[1] > '4') {
            fprintf(stderr, "antt: %s:%d: unknown category \"%s\" or priority \"%s\"\n", name, lineno, col[0], p);
            rc = -EINVAL;
            break;
        }
        int style = 0, group;
        if (ncol == 5) {
            style = s_style(col[3]);
            if (style < 0) {
                fprintf(stderr, "antt: %s:%d: unknown style \"%s\" (vi, plain, sms, en, mixed)\n", name, lineno,
                        col[3]);
                rc = -EINVAL;
                break;
            }
            group = s_group(c, col[2]);
        } else {
            char own[64];
            snprintf(own, sizeof(own), "%s:%d", name, lineno); /* a report of its own */
            group = s_group(c, own);
        }
        s_push(c, (int)(cat - antt_categories), p[1] - '0', group, style, col[ncol - 1]);
    }
    free(line);
    return rc;
}

int cli_corpus_load(cli_corpus_t *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "antt: could not open \"%s\": %s\n", path, strerror(errno));
        return -errno;
    }
    int rc = cli_corpus_read(c, f, path);
    fclose(f);
    return rc;
}

void cli_eval_add(cli_eval_t *ev, const classify_example_t *ex, int category, int priority)
{
    for (int s = 0; s < 2; s++) {
        cli_eval_part_t *e = s == 0 ? &ev->all : &ev->style[ex->style];
        e->n++;
        e->cat[ex->category][category]++;
        e->prio[ex->priority - 1][priority - 1]++;
        e->cat_ok += category == ex->category;
        e->prio_ok += priority == ex->priority;
    }
}

static double s_pct(int a, int b)
{
    return b ? 100.0 * a / b : 0.0;
}

void cli_eval_p1(const cli_eval_part_t *e, double *recall, double *precision)
{
    int tp = e->prio[0][0], truth = 0, pred = 0;
    for (int k = 0; k < CLASSIFY_NPRIO; k++) {
        truth += e->prio[0][k];
        pred += e->prio[k][0];
    }
    *recall = truth ? 100.0 * tp / truth : 100.0;
    *precision = pred ? 100.0 * tp / pred : 100.0;
}

static void s_line(const char *name, const cli_eval_part_t *e)
{
    double r, p;
    cli_eval_p1(e, &r, &p);
    printf("%-10s %7d %9.1f%% %9.1f%% %9.1f%% %9.1f%%\n", name, e->n, s_pct(e->cat_ok, e->n),
           s_pct(e->prio_ok, e->n), r, p);
}

void cli_eval_report(const cli_eval_t *ev)
{
    const cli_eval_part_t *a = &ev->all;
    printf("examples %d\ncategory accuracy %.1f%% (%d/%d)\npriority accuracy %.1f%% (%d/%d)\n", a->n,
           s_pct(a->cat_ok, a->n), a->cat_ok, a->n, s_pct(a->prio_ok, a->n), a->prio_ok, a->n);
    double r, p;
    cli_eval_p1(a, &r, &p);
    printf("P1 recall %.1f%%, P1 precision %.1f%%\n", r, p);
    int styles = 0;
    for (int s = 1; s < CLI_NSTYLES; s++)
        styles += ev->style[s].n > 0;
    if (styles > 0) {
        printf("\n%-10s %7s %10s %10s %10s %10s\n", "style", "reports", "category", "priority", "P1 recall",
               "P1 prec.");
        for (int s = 1; s < CLI_NSTYLES; s++)
            if (ev->style[s].n)
                s_line(cli_styles[s], &ev->style[s]);
    }
    printf("\n%-18s %9s %9s %7s\n", "category", "precision", "recall", "support");
    for (int c = 0; c < CLASSIFY_NCAT; c++) {
        int tp = a->cat[c][c], pred = 0, truth = 0;
        for (int k = 0; k < CLASSIFY_NCAT; k++) {
            pred += a->cat[k][c];
            truth += a->cat[c][k];
        }
        if (truth == 0 && pred == 0)
            continue;
        printf("%-18s %8.1f%% %8.1f%% %7d\n", antt_categories[c].code, s_pct(tp, pred), s_pct(tp, truth), truth);
    }
    printf("\nconfusion (rows: truth, columns: predicted, in category order)\n%-18s", "");
    for (int c = 0; c < CLASSIFY_NCAT; c++)
        printf(" %3.3s", antt_categories[c].code);
    printf("\n");
    for (int c = 0; c < CLASSIFY_NCAT; c++) {
        printf("%-18s", antt_categories[c].code);
        for (int k = 0; k < CLASSIFY_NCAT; k++)
            printf(a->cat[c][k] ? " %3d" : "   .", a->cat[c][k]);
        printf("\n");
    }
    printf("\npriority confusion (rows: truth, columns: predicted)\n    %5s %5s %5s %5s\n", "P1", "P2", "P3",
           "P4");
    for (int q = 0; q < CLASSIFY_NPRIO; q++) {
        printf("P%d  ", q + 1);
        for (int k = 0; k < CLASSIFY_NPRIO; k++)
            printf(" %5d", a->prio[q][k]);
        printf("\n");
    }
}
