/* Fuzz target: UTF-8 validation, NFC and the folding that classification
 * and duplicate search use ("đ" to "d" by hand, diacritics off), and the
 * emergency cues read from folded text (antt_danger). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "antt_danger.h"
#include "antt_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *nfc = NULL;
    size_t ncp = 0;
    if (antt_text_nfc((const char *)data, size, &nfc, &ncp) == 0) {
        char *folded = antt_text_fold(nfc, strlen(nfc));
        free(folded);
        free(nfc);
    }
    char *folded = antt_text_fold((const char *)data, size);
    free(folded);
    antt_danger_t d;
    int n = antt_danger_scan((const char *)data, size, &d);
    if (n > 0 && (d.mask == 0 || d.ncues == 0))
        abort(); /* a cue that counts names a service */
    return 0;
}
