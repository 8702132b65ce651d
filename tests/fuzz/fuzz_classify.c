/* Fuzz target: the classifier (tokenizer, rules, negation, shorthand,
 * model) over any bytes, with the project's rules and, when built, model. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "classify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static classify_rules_t *rules;
    static classify_model_t *model;
    static classify_t *c;
    if (c == NULL) {
        char err[256];
        rules = classify_rules_load(ANTT_SOURCE_DIR "/config/classification.rules", err, sizeof(err));
        if (rules == NULL) {
            fprintf(stderr, "fuzz_classify: %s\n", err);
            abort();
        }
        model = classify_model_load(ANTT_BINARY_DIR "/classify.model", rules, err, sizeof(err)); /* NULL: rules only */
        c = classify_new(rules, model);
    }
    const char *hint = size > 0 && data[0] == 't' ? "theft" : NULL;
    classify_result_t r;
    if (classify_run(c, (const char *)data, size, hint, size % 2, &r) == 0)
        classify_result_cleanup(&r);
    return 0;
}
