/* bench_classify: the classifier alone on one core. Loads the rules and the
 * model, reads labelled TSV files (the corpus), and classifies the texts in
 * a loop for a fixed time (with reasons, as the service does). Prints one
 * line: reports=N seconds=S rps=R us_p50=.. us_p99=.. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify.h"

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_classify RULES MODEL SECONDS FILE.tsv...\n");
        return 2;
    }
    char err[512];
    classify_rules_t *rules = classify_rules_load(argv[1], err, sizeof(err));
    /* model load: the median of 5 loads (the file is in the page cache after the first) */
    double loads[5];
    classify_model_t *model = NULL;
    for (int i = 0; i < 5 && rules; i++) {
        classify_model_destroy(&model);
        double l0 = s_now();
        model = classify_model_load(argv[2], rules, err, sizeof(err));
        loads[i] = (s_now() - l0) * 1e3;
        if (model == NULL)
            break;
    }
    if (model == NULL) {
        fprintf(stderr, "bench_classify: %s\n", err);
        return 1;
    }
    double seconds = atof(argv[3]);
    char **texts = NULL;
    size_t n = 0, cap = 0;
    for (int i = 4; i < argc; i++) {
        FILE *f = fopen(argv[i], "r");
        if (f == NULL)
            continue;
        char *line = NULL;
        size_t lc = 0;
        while (getline(&line, &lc, f) > 0) {
            char *t = strrchr(line, '\t'); /* the text is the last column */
            if (line[0] == '#' || t == NULL)
                continue;
            t[strcspn(t, "\r\n")] = '\0';
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                texts = realloc(texts, cap * sizeof(*texts));
            }
            texts[n++] = strdup(t + 1);
        }
        free(line);
        fclose(f);
    }
    if (n == 0) {
        fprintf(stderr, "bench_classify: no texts\n");
        return 1;
    }
    classify_t *cl = classify_new(rules, model);
    size_t lcap = 1 << 20, nl = 0;
    double *lat = malloc(lcap * sizeof(*lat));
    double t0 = s_now(), t = t0;
    long done = 0;
    while (t - t0 < seconds) {
        const char *text = texts[done % (long)n];
        classify_result_t r;
        classify_run(cl, text, strlen(text), NULL, 1, &r);
        classify_result_cleanup(&r);
        double t1 = s_now();
        if (nl < lcap)
            lat[nl++] = (t1 - t) * 1e6;
        t = t1;
        done++;
    }
    qsort(lat, nl, sizeof(*lat), s_cmp);
    qsort(loads, 5, sizeof(*loads), s_cmp);
    printf("reports=%ld seconds=%.2f rps=%.0f us_p50=%.1f us_p99=%.1f model_load_ms=%.1f\n", done, t - t0,
           (double)done / (t - t0), lat[nl / 2], lat[(size_t)((double)nl * 0.99)], loads[2]);
    classify_destroy(&cl);
    classify_model_destroy(&model);
    classify_rules_destroy(&rules);
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
    free(lat);
    return 0;
}
