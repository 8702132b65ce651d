/* antt_form: application/x-www-form-urlencoded parsing (HTML's URL-encoded
 * form data: '+' is a space, %XX a byte). Used for Open311 POST bodies and
 * query strings. */
#ifndef ANTT_FORM_H
#define ANTT_FORM_H

#include <stddef.h>

typedef struct antt_form_field_s {
    char *name;       /* decoded, NUL-terminated */
    char *value;      /* decoded, NUL-terminated (may hold NUL bytes: see len) */
    size_t value_len; /* decoded length in bytes */
} antt_form_field_t;

typedef struct antt_form_s {
    antt_form_field_t *fields; /* in input order */
    size_t n;                  /* field count */
} antt_form_t;

/* Parses s (len bytes) into form. Returns 0, or -EINVAL for a bad %-escape
 * or more than max_fields fields (form is then empty). */
int antt_form_parse(antt_form_t *form, const char *s, size_t len, size_t max_fields);
void antt_form_cleanup(antt_form_t *form);
/* First value of name, or NULL. Borrowed. */
const antt_form_field_t *antt_form_get(const antt_form_t *form, const char *name);
/* Number of fields called name. */
size_t antt_form_count(const antt_form_t *form, const char *name);

#endif
