/* antt_owner: closing everything a service's loop holds by walking it
 * (uv_walk, after libuv's test/task.h close_walk_cb) instead of a list per
 * service that drifts from what was opened.
 *
 * An object whose end takes more than uv_close (a ZeroMQ socket to close, a
 * libpq connection to finish, memory to free in its last close callback)
 * embeds an antt_owner_t and registers it with the loop it runs on when it
 * is made (antt_bus, antt_db); antt_owners_close_all closes each such object
 * through its close, then every other handle of the loop with uv_close (a
 * service's timers, the signal watchers). A loop without a registry (a
 * test's own) registers nothing: its owner closes what it made. Loop thread
 * only. */
#ifndef ANTT_OWNER_H
#define ANTT_OWNER_H

#include <uv.h>

typedef struct antt_owner_s antt_owner_t;
typedef void (*antt_owner_close_fn)(antt_owner_t *self);

struct antt_owner_s {
    antt_owner_close_fn close; /* closes the whole object */
    antt_owner_t *prev, *next; /* the registry's list */
    struct antt_owners_s *set; /* registered in, NULL when not (or no more) */
};

typedef struct antt_owners_s {
    antt_owner_t *head, *tail; /* in registration order */
} antt_owners_t;

/* Makes set (outliving the loop's handles) loop's registry. */
void antt_owners_attach(antt_owners_t *set, uv_loop_t *loop);
/* Forgets loop's registry (after the loop closed). */
void antt_owners_detach(uv_loop_t *loop);
/* Registers o (embedded in its object) with loop's registry, if it has one. */
void antt_owner_add(uv_loop_t *loop, antt_owner_t *o, antt_owner_close_fn close);
/* Takes o out of its registry (its object is closing by other means);
 * idempotent. */
void antt_owner_remove(antt_owner_t *o);
/* Closes every registered object (in the order they were made), then
 * every handle of loop that is not closing and that skip (may be NULL)
 * does not claim: a library's own handles (h2o's) are its to close.
 * Returns how many handles it closed with uv_close. The loop must then run
 * for the close callbacks. */
int antt_owners_close_all(uv_loop_t *loop, int (*skip)(const uv_handle_t *h, void *arg), void *arg);

#endif
