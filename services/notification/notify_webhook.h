/* notify_webhook: the webhook sender of notification (see notify_webhook.c). */
#ifndef NOTIFY_WEBHOOK_H
#define NOTIFY_WEBHOOK_H

#include <stddef.h>
#include <uv.h>

#include "antt_db.h"

typedef struct notify_webhook_s notify_webhook_t;

/* Registers the sender's prepared statements on db (its due-claim, planned
 * once per session instead of at every kick). Call before antt_db_start. */
void notify_webhook_prepare(antt_db_t *db);
/* A sender on loop, reading and updating the outbox through db. group_at:
 * due messages of one destination from which they are grouped; max_attempts:
 * attempts before a message is dead; backoff_max_s: the longest wait
 * between two attempts. */
notify_webhook_t *notify_webhook_new(uv_loop_t *loop, antt_db_t *db, int group_at, int max_attempts,
                                     double backoff_max_s);
/* Sends only while leader is active, each claim fenced by it (two
 * notifications, active and standby). */
struct antt_leader_s;
void notify_webhook_set_leader(notify_webhook_t *wh, const struct antt_leader_s *leader);
/* This process has just become the active one: due messages are read
 * (the claims of a sender that died are void; a frozen one's hold until it
 * records its outcomes or they run out). */
void notify_webhook_take_over(notify_webhook_t *wh);
/* Looks for due messages now (after an incident event was committed). */
void notify_webhook_kick(notify_webhook_t *wh);
/* Abandons requests in flight (their messages stay pending), closes the
 * handles and frees wh once they are closed. Call before closing db. */
void notify_webhook_close(notify_webhook_t *wh);

/* The webhook-signature value ("v1,<base64>") of body for msg_id and ts
 * under secret ("whsec_<base64 key>"). Returns 0 or -EINVAL. */
int notify_webhook_sign(const char *secret, const char *msg_id, long long ts, const char *body, size_t len,
                        char *out, size_t outlen);

#endif
