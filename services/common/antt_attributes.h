/* antt_attributes: the questions a category asks (Open311 service
 * definitions' attributes), in Vietnamese and English, and the answers that
 * mean a life is in danger now. Intake checks a report's answers against
 * them, classification reads the urgent ones as evidence, notification and
 * the console show them to the dispatcher. Pure data. */
#ifndef ANTT_ATTRIBUTES_H
#define ANTT_ATTRIBUTES_H

#include <stddef.h>

#define ANTT_ATTR_MAX_VALUES 8 /* values of one list */

typedef struct antt_attr_value_s {
    const char *key; /* the value sent, e.g. "yes" */
    const char *vi;  /* its Vietnamese name, e.g. "Có" */
    const char *en;  /* its English name */
} antt_attr_value_t;

typedef struct antt_attr_s {
    const char *service;              /* the category's code, e.g. "traffic" */
    const char *code;                 /* the attribute's code, e.g. "injured" */
    const char *datatype;             /* the spec's: string, number, datetime, text, singlevaluelist, multivaluelist */
    int required;                     /* a POST without an answer is refused */
    const char *datatype_description; /* the spec's hint, "" when none */
    const char *vi;                   /* the question in Vietnamese */
    const char *en;                   /* the question in English */
    antt_attr_value_t values[ANTT_ATTR_MAX_VALUES]; /* lists: ended by {NULL} */
    const char *urgent_value;         /* the answer that means a life in danger now (P1), or NULL */
    const char *urgent_reason;        /* why, as the dispatcher reads it, e.g. "có người bị thương" */
    unsigned urgent_services;         /* whom the resident should call then (ANTT_DANGER_*, antt_danger.h) */
} antt_attr_t;

extern const antt_attr_t antt_attrs[];
extern const size_t antt_attrs_count;

/* The attribute code (n bytes, not NUL-ended) of service, or NULL. */
const antt_attr_t *antt_attr_find(const char *service, const char *code, size_t n);
/* The value of a list attribute whose key is key, or NULL. */
const antt_attr_value_t *antt_attr_value(const antt_attr_t *a, const char *key);
/* The emergency services (ANTT_DANGER_*) that the urgent answers among
 * answers (a JSON object of code: value or [values], as intake stores them;
 * may be NULL) to service's questions call for; 0 when none. */
unsigned antt_attr_urgent_services(const char *service, const char *answers);

#endif
