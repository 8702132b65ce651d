/* Fuzz target: UTF-8 validation, NFC and the folding that classification
 * and duplicate search use ("đ" to "d" by hand, diacritics off). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    return 0;
}
