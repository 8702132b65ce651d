/* antt_json: appending JSON string literals to a buffer (for large batches
 * where building a jansson tree per row would cost more than the work). */
#ifndef ANTT_JSON_H
#define ANTT_JSON_H

#include <stddef.h>

#include "antt_util.h"

/* Appends s (len bytes of valid UTF-8) as a quoted JSON string. */
void antt_json_str(antt_buf_t *b, const char *s, size_t len);
/* Appends s as a JSON string, or null when s is NULL. */
void antt_json_cstr(antt_buf_t *b, const char *s);

#endif
