/* at_post: a report's fields written as a form (a=b&c=d, the way tests
 * spell them) posted as a JSON body, antt's extension of Open311 POST
 * requests that keeps antt's rules (free text, the classifier decides),
 * where the spec's form-encoded POST requires a service_code and a place. */
#ifndef AT_POST_H
#define AT_POST_H

#include <stddef.h>

/* The JSON object of form's fields (malloc'd), or NULL when form is not
 * well-formed or a value is not UTF-8. A repeated field (media_url) is an
 * array; attribute[code]=v and attribute[code][]=v go into "attribute". */
char *at_form_json(const char *form);
/* POSTs form's fields as JSON to url (requests.json); extra headers (NULL-
 * terminated, may be NULL) are added. Returns the HTTP status (-1 when form
 * cannot be converted), *resp as at_http. */
int at_post_report(const char *url, const char *const *headers, const char *form, char **resp);
/* at_post_report without headers; the new report's service_request_id
 * (caller frees) when it was created (201), else NULL. */
char *at_submit_report(const char *url, const char *form);

#endif
