/* classify_answers: the resident's structured answers as evidence, after
 * the text model. An answer to a service's question that means a life is
 * in danger now (the urgent answers of services/common/antt_attributes.c:
 * someone hurt, trapped, in danger now) makes the priority P1, with the
 * reason first in the dispatcher's words ("người báo: có người bị
 * thương"). The text model, its features and its figures are untouched:
 * this is a rule on the answers, applied to its result. Pure. */
#ifndef CLASSIFY_ANSWERS_H
#define CLASSIFY_ANSWERS_H

#include <stddef.h>

#include "antt/v1/report.pb-c.h"
#include "classify.h"

/* One answer: the attribute's code and its value(s). Borrowed. */
typedef struct classify_answer_s {
    const char *code;           /* e.g. "injured" */
    const char *const *values;  /* nvalues values, e.g. {"yes"} */
    size_t nvalues;
} classify_answer_t;

/* Applies the answers (n of them) to a report of service to res: P1 when
 * one is urgent, its reason first (the last reason dropped when res is
 * full). Returns the number of urgent answers (0: res unchanged). */
int classify_answers_apply(classify_result_t *res, const char *service, const classify_answer_t *answers,
                           size_t n);
/* The same for an accepted report's answers. */
int classify_answers_apply_report(classify_result_t *res, const Antt__V1__AcceptedReport *r);

#endif
