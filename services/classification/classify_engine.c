/* classify_engine: rules + model + classifier, swapped as one on reload. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_util.h"
#include "classify_engine.h"

/* One loaded set. */
typedef struct s_set {
    classify_rules_t *rules; /* owned */
    classify_model_t *model; /* owned */
    classify_t *cl;          /* over rules and model */
} s_set_t;

struct classify_engine_s {
    char *rules_path;        /* where the rules are */
    char *model_path;        /* where the model is */
    s_set_t cur;             /* in use */
    s_set_t next;            /* loaded by the worker thread, swapped in after */
    char err[512];           /* why the last reload failed */
    int next_rc;             /* the worker thread's result */
    uv_work_t work;          /* the reload in flight */
    int reloading;           /* work is queued or running */
    classify_engine_reload_cb cb; /* reload callback */
    void *cb_arg;            /* its argument */
};

static void s_set_free(s_set_t *s)
{
    classify_destroy(&s->cl);
    classify_model_destroy(&s->model);
    classify_rules_destroy(&s->rules);
}

static int s_load(s_set_t *s, const char *rules_path, const char *model_path, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->rules = classify_rules_load(rules_path, err, errlen);
    if (s->rules == NULL)
        return -1;
    s->model = classify_model_load(model_path, s->rules, err, errlen);
    if (s->model == NULL) {
        s_set_free(s);
        return -1;
    }
    s->cl = classify_new(s->rules, s->model);
    return 0;
}

classify_engine_t *classify_engine_new(const char *rules_path, const char *model_path, char *err, size_t errlen)
{
    classify_engine_t *e = antt_xcalloc(1, sizeof(*e));
    e->rules_path = antt_xstrdup(rules_path);
    e->model_path = antt_xstrdup(model_path);
    if (s_load(&e->cur, rules_path, model_path, err, errlen) != 0)
        classify_engine_destroy(&e);
    return e;
}

void classify_engine_destroy(classify_engine_t **self_p)
{
    classify_engine_t *e = *self_p;
    if (e == NULL)
        return;
    s_set_free(&e->cur);
    s_set_free(&e->next);
    free(e->rules_path);
    free(e->model_path);
    free(e);
    *self_p = NULL;
}

classify_t *classify_engine_classifier(classify_engine_t *e)
{
    return e->cur.cl;
}

const char *classify_engine_version(const classify_engine_t *e)
{
    return classify_model_version(e->cur.model);
}

size_t classify_engine_examples(const classify_engine_t *e)
{
    return classify_model_examples(e->cur.model);
}

int classify_engine_reloading(const classify_engine_t *e)
{
    return e->reloading;
}

/* worker thread: touches only e->next, e->err and e->next_rc */
static void s_work(uv_work_t *w)
{
    classify_engine_t *e = w->data;
    e->next_rc = s_load(&e->next, e->rules_path, e->model_path, e->err, sizeof(e->err));
}

static void s_after(uv_work_t *w, int status)
{
    classify_engine_t *e = w->data;
    e->reloading = 0;
    int rc = status == 0 ? e->next_rc : -1;
    if (status != 0)
        snprintf(e->err, sizeof(e->err), "reload cancelled");
    if (rc == 0) {
        s_set_free(&e->cur);
        e->cur = e->next;
        memset(&e->next, 0, sizeof(e->next));
    } else {
        s_set_free(&e->next);
    }
    if (e->cb)
        e->cb(e, rc, rc == 0 ? NULL : e->err, e->cb_arg);
}

int classify_engine_reload(classify_engine_t *e, uv_loop_t *loop, classify_engine_reload_cb cb, void *arg)
{
    if (e->reloading)
        return -EBUSY;
    e->cb = cb;
    e->cb_arg = arg;
    e->work.data = e;
    e->reloading = 1;
    int rc = uv_queue_work(loop, &e->work, s_work, s_after);
    if (rc != 0)
        e->reloading = 0;
    return rc;
}
