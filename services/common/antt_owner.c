/* antt_owner: the registry of handle owners and the close walk. */
#include "antt_owner.h"

#include <assert.h>
#include <pthread.h>
#include <stddef.h>

#include "antt_log.h"

/* which loops have a registry: a few at most (one per service process; the
 * tests' loops have none). Not loop->data: uv_loop_init keeps whatever the
 * caller's memory held there. */
#define S_MAX_LOOPS 8
static struct {
    uv_loop_t *loop;     /* the loop */
    antt_owners_t *set;  /* its registry */
} s_loops[S_MAX_LOOPS];
static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;

static antt_owners_t *s_set_of(const uv_loop_t *loop)
{
    antt_owners_t *set = NULL;
    pthread_mutex_lock(&s_mu);
    for (int i = 0; i < S_MAX_LOOPS && set == NULL; i++)
        if (s_loops[i].loop == loop)
            set = s_loops[i].set;
    pthread_mutex_unlock(&s_mu);
    return set;
}

void antt_owners_attach(antt_owners_t *set, uv_loop_t *loop)
{
    set->head = set->tail = NULL;
    pthread_mutex_lock(&s_mu);
    int i = 0;
    while (i < S_MAX_LOOPS && s_loops[i].loop != NULL && s_loops[i].loop != loop)
        i++;
    assert(i < S_MAX_LOOPS);
    s_loops[i].loop = loop;
    s_loops[i].set = set;
    pthread_mutex_unlock(&s_mu);
}

void antt_owners_detach(uv_loop_t *loop)
{
    pthread_mutex_lock(&s_mu);
    for (int i = 0; i < S_MAX_LOOPS; i++)
        if (s_loops[i].loop == loop)
            s_loops[i].loop = NULL, s_loops[i].set = NULL;
    pthread_mutex_unlock(&s_mu);
}

void antt_owner_add(uv_loop_t *loop, antt_owner_t *o, antt_owner_close_fn close)
{
    antt_owners_t *set = s_set_of(loop);
    o->close = close;
    o->prev = o->next = NULL;
    o->set = set;
    if (set == NULL)
        return;
    o->prev = set->tail;
    if (set->tail)
        set->tail->next = o;
    else
        set->head = o;
    set->tail = o;
}

void antt_owner_remove(antt_owner_t *o)
{
    antt_owners_t *set = o->set;
    if (set == NULL)
        return;
    if (o->prev)
        o->prev->next = o->next;
    else
        set->head = o->next;
    if (o->next)
        o->next->prev = o->prev;
    else
        set->tail = o->prev;
    o->prev = o->next = NULL;
    o->set = NULL;
}

typedef struct s_walk {
    int (*skip)(const uv_handle_t *h, void *arg); /* a library's handles */
    void *arg;                                    /* skip's argument */
    int closed;                                   /* handles closed here */
} s_walk_t;

static void s_close_handle(uv_handle_t *h, void *arg)
{
    s_walk_t *w = arg;
    if (uv_is_closing(h) || (w->skip && w->skip(h, w->arg)))
        return;
    ANTT_LOG(ANTT_DEBUG, "closing handle type=%s at stop", uv_handle_type_name(uv_handle_get_type(h)));
    uv_close(h, NULL);
    w->closed++;
}

int antt_owners_close_all(uv_loop_t *loop, int (*skip)(const uv_handle_t *h, void *arg), void *arg)
{
    antt_owners_t *set = s_set_of(loop);
    while (set && set->head) {
        antt_owner_t *o = set->head;
        antt_owner_remove(o);
        o->close(o);
    }
    s_walk_t w = {skip, arg, 0};
    uv_walk(loop, s_close_handle, &w);
    return w.closed;
}
