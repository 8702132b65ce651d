/* classify_answers: the resident's answers as evidence (classify_answers.h). */
#include "classify_answers.h"

#include <stdlib.h>
#include <string.h>

#include "antt_attributes.h"
#include "antt_util.h"

/* Puts reason first among res's reasons (the last one goes when full). */
static void s_reason_first(classify_result_t *res, char *reason)
{
    if (res->nreasons == CLASSIFY_MAX_REASONS)
        free(res->reasons[--res->nreasons]);
    memmove(&res->reasons[1], &res->reasons[0], (size_t)res->nreasons * sizeof(res->reasons[0]));
    res->reasons[0] = reason;
    res->nreasons++;
}

int classify_answers_apply(classify_result_t *res, const char *service, const classify_answer_t *answers, size_t n)
{
    int urgent = 0;
    /* in reverse, so that the first urgent answer's reason ends up first */
    for (size_t i = n; service && i-- > 0;) {
        const classify_answer_t *a = &answers[i];
        const antt_attr_t *q = a->code ? antt_attr_find(service, a->code, strlen(a->code)) : NULL;
        if (q == NULL || q->urgent_value == NULL)
            continue;
        for (size_t k = 0; k < a->nvalues; k++) {
            if (a->values[k] && strcmp(a->values[k], q->urgent_value) == 0) {
                s_reason_first(res, antt_xasprintf("người báo: %s", q->urgent_reason));
                urgent++;
                break;
            }
        }
    }
    if (urgent) {
        /* the resident's word, not a probability the model gave */
        res->priority = 1;
        res->priority_confidence = 1;
    }
    return urgent;
}

int classify_answers_apply_report(classify_result_t *res, const Antt__V1__AcceptedReport *r)
{
    if (r->n_answers == 0)
        return 0;
    classify_answer_t *a = antt_xcalloc(r->n_answers, sizeof(*a));
    for (size_t i = 0; i < r->n_answers; i++) {
        a[i].code = r->answers[i]->code;
        a[i].values = (const char *const *)r->answers[i]->values;
        a[i].nvalues = r->answers[i]->n_values;
    }
    int urgent = classify_answers_apply(res, r->service_code, a, r->n_answers);
    free(a);
    return urgent;
}
