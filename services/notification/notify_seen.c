/* notify_seen: a hash set of recently announced incident ids. */
#include "notify_seen.h"

#include <stdlib.h>
#include <string.h>

#include "antt_util.h"

#define S_ID 40 /* a uuid's 36 characters, NUL, padding */

typedef struct s_slot_s {
    char id[S_ID];  /* "" when free */
    int64_t at_ms;  /* when it was seen */
} s_slot_t;

struct notify_seen_s {
    s_slot_t *slots; /* cap of them */
    size_t cap;      /* a power of two */
    size_t n;        /* used */
};

notify_seen_t *notify_seen_new(void)
{
    notify_seen_t *s = antt_xcalloc(1, sizeof(*s));
    s->cap = 1024;
    s->slots = antt_xcalloc(s->cap, sizeof(*s->slots));
    return s;
}

void notify_seen_destroy(notify_seen_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

/* the slot holding id, or the free slot where it would go */
static s_slot_t *s_find(const notify_seen_t *s, const char *id)
{
    size_t i = (size_t)antt_hash_str(id) & (s->cap - 1);
    while (s->slots[i].id[0] && strcmp(s->slots[i].id, id) != 0)
        i = (i + 1) & (s->cap - 1);
    return &s->slots[i];
}

/* moves every entry seen at or after cutoff_ms into a table of cap slots */
static void s_rehash(notify_seen_t *s, size_t cap, int64_t cutoff_ms)
{
    notify_seen_t old = *s;
    s->cap = cap;
    s->n = 0;
    s->slots = antt_xcalloc(cap, sizeof(*s->slots));
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].id[0] && old.slots[i].at_ms >= cutoff_ms) {
            *s_find(s, old.slots[i].id) = old.slots[i];
            s->n++;
        }
    free(old.slots);
}

int notify_seen_add(notify_seen_t *s, const char *id, int64_t at_ms)
{
    if (id == NULL || strlen(id) >= S_ID)
        return 0;
    if (2 * (s->n + 1) > s->cap)
        s_rehash(s, 2 * s->cap, INT64_MIN);
    s_slot_t *slot = s_find(s, id);
    if (slot->id[0])
        return 0;
    memcpy(slot->id, id, strlen(id) + 1);
    slot->at_ms = at_ms;
    s->n++;
    return 1;
}

int notify_seen_has(const notify_seen_t *s, const char *id)
{
    return id && strlen(id) < S_ID && s_find(s, id)->id[0] != '\0';
}

void notify_seen_prune(notify_seen_t *s, int64_t cutoff_ms)
{
    size_t cap = s->cap;
    while (cap > 1024 && 8 * s->n < cap) /* shrink after a burst */
        cap /= 2;
    s_rehash(s, cap, cutoff_ms);
}

size_t notify_seen_count(const notify_seen_t *s)
{
    return s->n;
}
