/* notify_seen: the incidents notification has announced on the desk feeds
 * lately, so that its catch-up from PostgreSQL announces only those whose
 * classified message never arrived (a PUB drop, a cut link, a restart).
 * An open-addressing hash set of incident ids with the time each was seen;
 * entries older than a cutoff are forgotten by notify_seen_prune. Loop
 * thread only. */
#ifndef NOTIFY_SEEN_H
#define NOTIFY_SEEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct notify_seen_s notify_seen_t;

/* Never NULL. */
notify_seen_t *notify_seen_new(void);
/* Accepts NULL; frees and nulls *self_p. */
void notify_seen_destroy(notify_seen_t **self_p);
/* Records id (an incident uuid as text) seen at at_ms. Returns 1 when it
 * was not there, 0 when it was (its time is kept). */
int notify_seen_add(notify_seen_t *s, const char *id, int64_t at_ms);
/* 1 when id is there. */
int notify_seen_has(const notify_seen_t *s, const char *id);
/* Forgets the ids seen before cutoff_ms. */
void notify_seen_prune(notify_seen_t *s, int64_t cutoff_ms);
/* How many ids are kept. */
size_t notify_seen_count(const notify_seen_t *s);

#endif
