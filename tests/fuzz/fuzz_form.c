/* Fuzz target: the Open311 form and query-string parser, and the JSON
 * parser (jansson, as the services call it) over the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "antt_form.h"
#include "antt_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    antt_form_t f;
    if (antt_form_parse(&f, (const char *)data, size, 64) == 0) {
        for (size_t i = 0; i < f.n; i++) {
            char *nfc = NULL;
            size_t ncp = 0;
            if (antt_text_nfc(f.fields[i].value, f.fields[i].value_len, &nfc, &ncp) == 0)
                free(nfc);
        }
        antt_form_get(&f, "description");
        antt_form_count(&f, "media_url");
        antt_form_cleanup(&f);
    }
    json_error_t e;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e);
    if (j) {
        char *s = json_dumps(j, JSON_COMPACT);
        free(s);
        json_decref(j);
    }
    return 0;
}
