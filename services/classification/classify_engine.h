/* classify_engine: the rules, the model and the classifier a worker uses,
 * loaded together and replaced together. A reload (SIGHUP) reads the files
 * on a libuv worker thread, checks that the model matches the rules and this
 * build, and swaps them in on the loop between two reports: no report waits
 * on the disk and none is classified by half an old and half a new model. A
 * reload that fails keeps the engine as it was. */
#ifndef CLASSIFY_ENGINE_H
#define CLASSIFY_ENGINE_H

#include <uv.h>

#include "classify.h"

typedef struct classify_engine_s classify_engine_t;
/* Called on the loop when a reload ended: status 0 (swapped) or -1 (kept
 * the old one; err says why). */
typedef void (*classify_engine_reload_cb)(classify_engine_t *e, int status, const char *err, void *arg);

/* Loads rules_path and model_path (both copied). NULL with a message in err. */
classify_engine_t *classify_engine_new(const char *rules_path, const char *model_path, char *err, size_t errlen);
/* Frees the engine. A reload in flight must have completed (its callback run)
 * or the loop must not run again. Accepts NULL, nulls *self_p. */
void classify_engine_destroy(classify_engine_t **self_p);
/* The classifier of the current rules and model (borrowed until the next swap). */
classify_t *classify_engine_classifier(classify_engine_t *e);
/* The current model's version (borrowed until the next swap). */
const char *classify_engine_version(const classify_engine_t *e);
size_t classify_engine_examples(const classify_engine_t *e);
/* Starts a reload on loop's thread pool. Returns 0, or -EBUSY when one is in
 * flight. cb runs on the loop. */
int classify_engine_reload(classify_engine_t *e, uv_loop_t *loop, classify_engine_reload_cb cb, void *arg);
/* A reload is in flight. */
int classify_engine_reloading(const classify_engine_t *e);

#endif
