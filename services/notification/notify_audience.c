/* notify_audience: see notify_audience.h. */
#include <stdlib.h>
#include <string.h>

#include "antt_util.h"
#include "notify_audience.h"

typedef struct n_desk {
    char *code;   /* desk */
    char *parent; /* the desk it escalates to, NULL at the top */
} n_desk_t;

typedef struct n_route {
    char *category; /* incidents of this category */
    int max_prio;   /* at least this urgent (1..4), 0 = any */
    char *desk;     /* also go to this desk */
} n_route_t;

struct notify_desks_s {
    n_desk_t *desks;   /* the tree, as loaded */
    int ndesks, cdesks; /* used, allocated */
    n_route_t *routes; /* extra routes */
    int nroutes, croutes;
};

notify_desks_t *notify_desks_new(void)
{
    return antt_xcalloc(1, sizeof(notify_desks_t));
}

void notify_desks_destroy(notify_desks_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    notify_desks_t *t = *self_p;
    for (int i = 0; i < t->ndesks; i++) {
        free(t->desks[i].code);
        free(t->desks[i].parent);
    }
    for (int i = 0; i < t->nroutes; i++) {
        free(t->routes[i].category);
        free(t->routes[i].desk);
    }
    free(t->desks);
    free(t->routes);
    free(t);
    *self_p = NULL;
}

void notify_desks_add(notify_desks_t *t, const char *code, const char *parent)
{
    if (t->ndesks == t->cdesks) {
        t->cdesks = t->cdesks ? 2 * t->cdesks : 64;
        t->desks = antt_xrealloc(t->desks, (size_t)t->cdesks * sizeof(*t->desks));
    }
    t->desks[t->ndesks].code = antt_xstrdup(code);
    t->desks[t->ndesks].parent = antt_xstrdup(parent);
    t->ndesks++;
}

void notify_desks_add_route(notify_desks_t *t, const char *category, int max_prio, const char *desk)
{
    if (t->nroutes == t->croutes) {
        t->croutes = t->croutes ? 2 * t->croutes : 16;
        t->routes = antt_xrealloc(t->routes, (size_t)t->croutes * sizeof(*t->routes));
    }
    t->routes[t->nroutes].category = antt_xstrdup(category);
    t->routes[t->nroutes].max_prio = max_prio;
    t->routes[t->nroutes].desk = antt_xstrdup(desk);
    t->nroutes++;
}

static const n_desk_t *s_desk(const notify_desks_t *t, const char *code)
{
    for (int i = 0; code && i < t->ndesks; i++)
        if (!strcmp(t->desks[i].code, code))
            return &t->desks[i];
    return NULL;
}

const char *notify_desks_parent(const notify_desks_t *t, const char *code)
{
    const n_desk_t *d = s_desk(t, code);
    return d ? d->parent : NULL;
}

int notify_audience_has(const char *const *set, int k, const char *desk)
{
    for (int i = 0; desk && i < k; i++)
        if (!strcmp(set[i], desk))
            return 1;
    return 0;
}

/* Adds code and the desks above it to out[*k..cap); stops at a desk already
 * there (the rest of the chain is too, or the tree has a loop). */
static void s_chain(const notify_desks_t *t, const char *code, const char **out, int *k, int cap)
{
    if (code == NULL || !*code)
        return;
    const n_desk_t *d = s_desk(t, code);
    if (d == NULL) { /* not in the tree (yet): it still sees its own */
        if (*k < cap && !notify_audience_has(out, *k, code))
            out[(*k)++] = code;
        return;
    }
    for (; d && *k < cap; d = s_desk(t, d->parent)) {
        if (notify_audience_has(out, *k, d->code))
            break;
        out[(*k)++] = d->code;
    }
}

int notify_audience(const notify_desks_t *t, const notify_target_t *inc, const char **out, int cap)
{
    int k = 0;
    s_chain(t, inc->desk, out, &k, cap);
    s_chain(t, inc->escalated_to, out, &k, cap);
    s_chain(t, inc->claimed_desk, out, &k, cap);
    for (int i = 0; inc->category && i < t->nroutes && k < cap; i++) {
        const n_route_t *r = &t->routes[i];
        if (!strcmp(r->category, inc->category) &&
            (r->max_prio == 0 || (inc->priority > 0 && inc->priority <= r->max_prio)) &&
            !notify_audience_has(out, k, r->desk))
            out[k++] = r->desk;
    }
    return k;
}
