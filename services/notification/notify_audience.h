/* notify_audience: who sees an incident on the desk feeds. The desk tree
 * (each desk and the desk it escalates to) and the extra routes (a category,
 * optionally at least this urgent, also goes to a desk), as loaded from
 * PostgreSQL, and the one decision made from them: the desks an update goes
 * to. Pure code with no I/O, so that a unit test can call it directly. Loop
 * thread only. */
#ifndef NOTIFY_AUDIENCE_H
#define NOTIFY_AUDIENCE_H

#define NOTIFY_MAX_AUDIENCE 32 /* desks one update goes to */

typedef struct notify_desks_s notify_desks_t;

/* An incident as the audience sees it; every field may be NULL or 0. */
typedef struct notify_target_s {
    const char *desk;         /* its desk (the nearest one) */
    const char *escalated_to; /* the highest desk told so far */
    const char *claimed_desk; /* the desk that took it over */
    const char *category;     /* for the routes */
    int priority;             /* 1..4, 0 unknown */
} notify_target_t;

/* Never NULL. */
notify_desks_t *notify_desks_new(void);
/* Accepts NULL; frees and nulls *self_p. */
void notify_desks_destroy(notify_desks_t **self_p);
/* Adds a desk and the desk it escalates to (NULL at the top); copied. */
void notify_desks_add(notify_desks_t *t, const char *code, const char *parent);
/* Adds a route: category (at least as urgent as max_prio 1..4; 0 any) also
 * goes to desk. Copied. */
void notify_desks_add_route(notify_desks_t *t, const char *category, int max_prio, const char *desk);
/* The desk a desk escalates to (borrowed), NULL at the top or when unknown. */
const char *notify_desks_parent(const notify_desks_t *t, const char *code);

/* The desks that see an update of this incident, into out (borrowed from t,
 * valid until t changes; at most cap, each once): its desk and every desk
 * above it (a district sees its wards), the desks above the desk it was
 * escalated to and the one that claimed it (the same desks in an unchanged
 * tree; a desk that was told keeps it in view after the tree is edited), and
 * the routes' desks. A desk unknown to the tree still sees its own
 * incidents. Returns how many. */
int notify_audience(const notify_desks_t *t, const notify_target_t *inc, const char **out, int cap);

/* 1 when desk is one of the k desks of set. */
int notify_audience_has(const char *const *set, int k, const char *desk);

#endif
