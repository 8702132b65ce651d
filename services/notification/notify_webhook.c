/* notify_webhook: delivers the webhook outbox (webhook_deliveries, filled by
 * a trigger in the transaction of each incident event).
 *
 * Each destination has at most one request in flight, so a destination that
 * is down or slow holds only its own messages back. A message is signed as
 * the Standard Webhooks spec says (webhook-id, webhook-timestamp,
 * webhook-signature "v1," + base64 HMAC-SHA256 of "id.timestamp.body" under
 * the destination's whsec_ key). A 2xx marks it delivered; anything else
 * schedules a retry with exponential backoff and full jitter, up to
 * notification.webhook_max_attempts, after which it is dead (kept, visible).
 * When a destination has notification.webhook_group_at or more messages due,
 * they go as one request (a JSON array) under the webhook-id of the group.
 *
 * HTTP is libcurl's multi interface driven by the service's libuv loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "antt_db.h"
#include "antt_leader.h"
#include "antt_log.h"
#include "antt_metrics.h"
#include "antt_util.h"
#include "notify_webhook.h"

#define W_MAX_GROUP 50     /* messages in one grouped request */
#define W_TIMEOUT_MS 10000 /* a request's whole time */

typedef struct w_send w_send_t;

typedef struct w_sock {
    uv_poll_t poll;          /* the socket curl asked us to watch */
    curl_socket_t fd;        /* its descriptor */
    notify_webhook_t *wh;    /* owner */
} w_sock_t;

/* One request to one destination: one message or one group. */
struct w_send {
    notify_webhook_t *wh;
    int destination;         /* webhook_destinations.id */
    char *ids;               /* "{1,2,3}": the rows it carries */
    int attempts;            /* of the first row, before this one */
    CURL *easy;
    struct curl_slist *headers;
    antt_buf_t body;         /* sent */
    char error[CURL_ERROR_SIZE];
    struct w_send *next;     /* in flight */
};

struct notify_webhook_s {
    int open_handles;           /* timers not yet closed, while closing */
    uv_loop_t *loop;
    antt_db_t *db;
    CURLM *multi;
    uv_timer_t curl_timer;   /* curl's timeouts */
    uv_timer_t poll_timer;   /* looks for due messages */
    uv_timer_t kick_timer;   /* a kick held back by the pace */
    int kick_armed;          /* kick_timer runs */
    uint64_t last_query;     /* loop time of the last due-query */
    int *busy;               /* destinations with a request in flight */
    int nbusy, capbusy;
    int querying;            /* a due-query is in flight */
    int again;               /* kicked while querying: query once more */
    int group_at;            /* group when this many are due */
    int max_attempts;        /* then dead */
    double backoff_max_s;    /* longest wait between attempts */
    int closing;
    const antt_leader_t *leader; /* sends only while it is active; NULL: always */
    w_send_t *sends;         /* requests in flight */
    antt_metric_t *m_ok, *m_fail, *m_dead;
};

static int s_busy(notify_webhook_t *wh, int dest)
{
    for (int i = 0; i < wh->nbusy; i++)
        if (wh->busy[i] == dest)
            return 1;
    return 0;
}

static void s_set_busy(notify_webhook_t *wh, int dest, int on)
{
    if (on) {
        if (wh->nbusy == wh->capbusy) {
            wh->capbusy = wh->capbusy ? 2 * wh->capbusy : 16;
            wh->busy = antt_xrealloc(wh->busy, (size_t)wh->capbusy * sizeof(int));
        }
        wh->busy[wh->nbusy++] = dest;
        return;
    }
    for (int i = 0; i < wh->nbusy; i++)
        if (wh->busy[i] == dest) {
            wh->busy[i] = wh->busy[--wh->nbusy];
            return;
        }
}

/* ---- signing ------------------------------------------------------------- */

int notify_webhook_sign(const char *secret, const char *msg_id, long long ts, const char *body, size_t len,
                        char *out, size_t outlen)
{
    if (strncmp(secret, "whsec_", 6) != 0)
        return -EINVAL;
    uint8_t key[128];
    size_t klen = 0;
    if (sodium_base642bin(key, sizeof(key), secret + 6, strlen(secret + 6), NULL, &klen, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        klen == 0)
        return -EINVAL;
    crypto_auth_hmacsha256_state st;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    char prefix[160];
    int pl = snprintf(prefix, sizeof(prefix), "%s.%lld.", msg_id, ts);
    crypto_auth_hmacsha256_init(&st, key, klen);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)prefix, (unsigned long long)pl);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(key, sizeof(key));
    char b64[sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof(b64), mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
    if ((size_t)snprintf(out, outlen, "v1,%s", b64) >= outlen)
        return -ENOSPC;
    return 0;
}

/* ---- outcome ----------------------------------------------------------------- */

/* The outcome of one request, being recorded. The destination stays busy
 * until then: a due-query answered before the record would otherwise send
 * the same rows again. */
typedef struct w_record {
    notify_webhook_t *wh;
    int destination;
} w_record_t;

/* (when recording fails the rows stay as they were: a delivered message may
 * then be sent again, under the same webhook-id) */
static void s_on_recorded(antt_db_job_t *job, int status, void *arg)
{
    w_record_t *rec = arg;
    if (status != 0 && status != -ECANCELED)
        ANTT_LOG(ANTT_WARN, "could not record a webhook outcome: %s",
                 antt_db_job_error(job) ? antt_db_job_error(job) : "");
    if (status != -ECANCELED)
        s_set_busy(rec->wh, rec->destination, 0);
    free(rec);
}

static void s_on_grouped(antt_db_job_t *job, int status, void *arg)
{
    (void)arg;
    if (status != 0 && status != -ECANCELED)
        ANTT_LOG(ANTT_WARN, "could not record a webhook group: %s",
                 antt_db_job_error(job) ? antt_db_job_error(job) : "");
}

static void s_send_free(w_send_t *s)
{
    for (w_send_t **p = &s->wh->sends; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    curl_slist_free_all(s->headers);
    antt_buf_cleanup(&s->body);
    free(s->ids);
    free(s);
}

/* Records the outcome of s and frees it. */
static void s_done(w_send_t *s, long code, CURLcode rc)
{
    notify_webhook_t *wh = s->wh;
    w_record_t *rec = antt_xcalloc(1, sizeof(*rec));
    rec->wh = wh;
    rec->destination = s->destination;
    antt_db_job_t *job = antt_db_job_new(s_on_recorded, rec);
    if (rc == CURLE_OK && code >= 200 && code < 300) {
        const char *v[1] = {s->ids};
        antt_db_job_add(job,
                        "UPDATE webhook_deliveries SET state = 'delivered', delivered_at = now(),"
                        " attempts = attempts + 1, last_error = NULL, claimed_until = NULL"
                        " WHERE id = ANY($1::bigint[])",
                        1, v, NULL, NULL);
        antt_metric_inc(wh->m_ok);
    } else {
        char err[256], delay[32], max[16];
        if (rc != CURLE_OK)
            snprintf(err, sizeof(err), "%s", s->error[0] ? s->error : curl_easy_strerror(rc));
        else
            snprintf(err, sizeof(err), "HTTP %ld", code);
        /* exponential backoff with full jitter: up to 1 s, 2 s, 4 s ...
         * notification.webhook_backoff_max_s */
        double cap = 1.0;
        for (int i = 0; i < s->attempts && cap < wh->backoff_max_s; i++)
            cap *= 2;
        if (cap > wh->backoff_max_s)
            cap = wh->backoff_max_s;
        double d = 0.2 + cap * (double)randombytes_uniform(1000000) / 1e6;
        snprintf(delay, sizeof(delay), "%.3f", d);
        snprintf(max, sizeof(max), "%d", wh->max_attempts);
        const char *v[4] = {s->ids, err, delay, max};
        antt_db_job_add(job,
                        "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $2, claimed_until = NULL,"
                        " next_attempt_at = now() + make_interval(secs => $3::float8),"
                        " state = CASE WHEN attempts + 1 >= $4::int THEN 'dead' ELSE 'pending' END"
                        " WHERE id = ANY($1::bigint[])",
                        4, v, NULL, NULL);
        antt_metric_inc(wh->m_fail);
        if (s->attempts + 1 >= wh->max_attempts)
            antt_metric_inc(wh->m_dead);
        ANTT_LOG(ANTT_INFO, "webhook destination=%d failed: %s (retry in %.1f s)", s->destination, err, d);
    }
    if (antt_db_submit(wh->db, job) != 0) {
        s_set_busy(wh, s->destination, 0);
        free(rec);
    }
    s_send_free(s);
}

static void s_check_multi(notify_webhook_t *wh)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(wh->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        w_send_t *s = NULL;
        long code = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        CURLcode rc = m->data.result;
        curl_multi_remove_handle(wh->multi, m->easy_handle);
        curl_easy_cleanup(m->easy_handle);
        s->easy = NULL;
        s_done(s, code, rc);
    }
}

/* ---- curl on libuv --------------------------------------------------------------- */

static void s_on_poll(uv_poll_t *p, int status, int events)
{
    w_sock_t *ws = p->data;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    notify_webhook_t *wh = ws->wh;
    curl_multi_socket_action(wh->multi, ws->fd, flags, &running);
    s_check_multi(wh);
}

static void s_free_sock(uv_handle_t *h)
{
    free(h->data);
}

static int s_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    notify_webhook_t *wh = userp;
    w_sock_t *ws = socketp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (ws) {
            uv_poll_stop(&ws->poll);
            uv_close((uv_handle_t *)&ws->poll, s_free_sock);
            curl_multi_assign(wh->multi, fd, NULL);
        }
        return 0;
    }
    if (ws == NULL) {
        ws = antt_xcalloc(1, sizeof(*ws));
        ws->fd = fd;
        ws->wh = wh;
        uv_poll_init_socket(wh->loop, &ws->poll, fd);
        ws->poll.data = ws;
        curl_multi_assign(wh->multi, fd, ws);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&ws->poll, ev, s_on_poll);
    return 0;
}

static void s_on_curl_timer(uv_timer_t *t)
{
    notify_webhook_t *wh = t->data;
    int running;
    curl_multi_socket_action(wh->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    s_check_multi(wh);
}

static int s_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    notify_webhook_t *wh = userp;
    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&wh->curl_timer);
    else
        uv_timer_start(&wh->curl_timer, s_on_curl_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- sending ----------------------------------------------------------------------- */

static size_t s_discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* Claims the due messages of the destinations not busy here ($1), by
 * destination, then group, then id; W_COL_* name its columns. A claim takes
 * the rows FOR UPDATE SKIP LOCKED and moves their next attempt past the
 * request's whole time (W_CLAIM_S: claimed_until, claimed_by), so that
 * another sender (even two senders at once) neither waits for nor sends
 * them; the outcome clears the claim, and rows claimed but not sent this
 * round are given back at once (migration 019). */
#define W_CLAIM_S "30"
/* the claiming session, as pg_stat_activity names it: a claim holds while
 * that session lives (a frozen sender's connection does) and until it runs
 * out; the claims of a sender that died are void at once */
#define W_SESSION "(SELECT a.pid || '@' || a.backend_start FROM pg_stat_activity a WHERE a.pid = pg_backend_pid())"
#define W_DUE                                                                                                 \
    "d.state = 'pending' AND d.next_attempt_at <= now() AND (d.claimed_until IS NULL OR d.claimed_until < now()" \
    " OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid || '@' || a.backend_start = d.claimed_by))"
static const char S_DUE_SQL[] =
    "WITH due AS (SELECT d.id FROM webhook_deliveries d JOIN webhook_destinations w ON w.id = d.destination_id"
    " WHERE " W_DUE " AND w.active AND d.destination_id <> ALL ($1::int[])"
    " ORDER BY d.destination_id, d.batch_id NULLS LAST, d.id LIMIT 2000 FOR UPDATE OF d SKIP LOCKED),"
    " claimed AS (UPDATE webhook_deliveries d SET claimed_until = now() + interval '" W_CLAIM_S " seconds',"
    " claimed_by = " W_SESSION
    " FROM due WHERE d.id = due.id RETURNING d.id, d.destination_id, d.msg_id, d.payload, d.attempts, d.batch_id)"
    " SELECT c.id, c.destination_id, w.url, w.secret, c.msg_id, c.payload::text, c.attempts, c.batch_id"
    " FROM claimed c JOIN webhook_destinations w ON w.id = c.destination_id"
    " ORDER BY c.destination_id, c.batch_id NULLS LAST, c.id";
enum { W_COL_ID, W_COL_DESTINATION, W_COL_URL, W_COL_SECRET, W_COL_MSG_ID, W_COL_PAYLOAD, W_COL_ATTEMPTS, W_COL_BATCH };

/* Starts one request: rows first..last of r (one destination). */
static void s_start(notify_webhook_t *wh, PGresult *r, int first, int last)
{
    w_send_t *s = antt_xcalloc(1, sizeof(*s));
    s->wh = wh;
    s->destination = atoi(PQgetvalue(r, first, W_COL_DESTINATION));
    s->attempts = atoi(PQgetvalue(r, first, W_COL_ATTEMPTS));
    const char *url = PQgetvalue(r, first, W_COL_URL), *secret = PQgetvalue(r, first, W_COL_SECRET);
    antt_buf_t ids;
    antt_buf_init(&ids);
    antt_buf_puts(&ids, "{");
    antt_buf_init(&s->body);
    /* a group (more than one row, or rows already sent as a group) goes as
     * a JSON array under the group's id */
    int grouped = last > first || !PQgetisnull(r, first, W_COL_BATCH);
    char msg_id[96];
    if (grouped) {
        snprintf(msg_id, sizeof(msg_id), "grp_%s",
                 PQgetvalue(r, first, PQgetisnull(r, first, W_COL_BATCH) ? W_COL_ID : W_COL_BATCH));
        antt_buf_puts(&s->body, "{\"type\":\"batch\",\"messages\":[");
    } else {
        snprintf(msg_id, sizeof(msg_id), "%s", PQgetvalue(r, first, W_COL_MSG_ID));
    }
    for (int i = first; i <= last; i++) {
        antt_buf_printf(&ids, "%s%s", i > first ? "," : "", PQgetvalue(r, i, W_COL_ID));
        if (grouped)
            antt_buf_printf(&s->body, "%s{\"id\":\"%s\",\"message\":%s}", i > first ? "," : "",
                            PQgetvalue(r, i, W_COL_MSG_ID), PQgetvalue(r, i, W_COL_PAYLOAD));
        else
            antt_buf_puts(&s->body, PQgetvalue(r, i, W_COL_PAYLOAD));
    }
    if (grouped)
        antt_buf_puts(&s->body, "]}");
    antt_buf_puts(&ids, "}");
    s->ids = antt_buf_steal(&ids, NULL);

    long long ts = (long long)(antt_now_ms() / 1000);
    char sig[128], h[256];
    if (notify_webhook_sign(secret, msg_id, ts, s->body.data, s->body.len, sig, sizeof(sig)) != 0) {
        ANTT_LOG(ANTT_WARN, "webhook destination=%d has an unusable secret", s->destination);
        s_set_busy(wh, s->destination, 1);
        s_done(s, 0, CURLE_LOGIN_DENIED);
        return;
    }
    s->headers = curl_slist_append(s->headers, "Content-Type: application/json");
    snprintf(h, sizeof(h), "webhook-id: %s", msg_id);
    s->headers = curl_slist_append(s->headers, h);
    snprintf(h, sizeof(h), "webhook-timestamp: %lld", ts);
    s->headers = curl_slist_append(s->headers, h);
    snprintf(h, sizeof(h), "webhook-signature: %s", sig);
    s->headers = curl_slist_append(s->headers, h);
    s->headers = curl_slist_append(s->headers, "Expect:");
    s->easy = curl_easy_init();
    curl_easy_setopt(s->easy, CURLOPT_URL, url);
    curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body.data);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)s->body.len);
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, (long)W_TIMEOUT_MS);
    curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, s_discard);
    curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->error);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    s_set_busy(wh, s->destination, 1);
    if (grouped && PQgetisnull(r, first, W_COL_BATCH)) {
        /* fix the group's membership before its first attempt */
        antt_db_job_t *job = antt_db_job_new(s_on_grouped, wh);
        const char *v[2] = {s->ids, PQgetvalue(r, first, W_COL_ID)};
        antt_db_job_add(job, "UPDATE webhook_deliveries SET batch_id = $2::bigint WHERE id = ANY($1::bigint[])", 2,
                        v, NULL, NULL);
        antt_db_submit(wh->db, job);
    }
    s->next = wh->sends;
    wh->sends = s;
    curl_multi_add_handle(wh->multi, s->easy);
}

static void s_query(notify_webhook_t *wh);

static void s_on_given_back(antt_db_job_t *job, int status, void *arg)
{
    (void)arg;
    if (status != 0 && status != -ECANCELED)
        ANTT_LOG(ANTT_WARN, "could not give back webhook claims (due again when they run out): %s",
                 antt_db_job_error(job) ? antt_db_job_error(job) : "");
}

/* Rows claimed but not sent this round (their destination is busy, or
 * fewer than a group wait behind the one sent): due again now. ids is
 * "{1,2" and gets its closing brace here. */
static void s_give_back(notify_webhook_t *wh, antt_buf_t *ids)
{
    antt_buf_puts(ids, "}");
    const char *v[1] = {ids->data};
    antt_db_job_t *job = antt_db_job_new(s_on_given_back, wh);
    antt_db_job_add(job,
                    "UPDATE webhook_deliveries SET claimed_until = NULL WHERE id = ANY($1::bigint[])",
                    1, v, NULL, NULL);
    antt_db_submit(wh->db, job);
}

static void s_on_due(antt_db_job_t *job, int status, void *arg)
{
    notify_webhook_t *wh = arg;
    wh->querying = 0;
    if (status == -ECANCELED || wh->closing)
        return;
    if (status == 0) {
        PGresult *r = antt_db_job_result(job, antt_db_job_count(job) - 1); /* after the fence */
        int rows = PQntuples(r);
        antt_buf_t unsent;
        antt_buf_init(&unsent);
        /* rows come by destination, then batch, then id */
        for (int i = 0; i < rows;) {
            int dest = atoi(PQgetvalue(r, i, W_COL_DESTINATION)), j = i;
            while (j + 1 < rows && atoi(PQgetvalue(r, j + 1, W_COL_DESTINATION)) == dest)
                j++;
            if (!s_busy(wh, dest)) {
                int last = i;
                if (!PQgetisnull(r, i, W_COL_BATCH)) {
                    /* a group already formed: exactly its rows */
                    while (last + 1 <= j && !PQgetisnull(r, last + 1, W_COL_BATCH) &&
                           !strcmp(PQgetvalue(r, last + 1, W_COL_BATCH), PQgetvalue(r, i, W_COL_BATCH)))
                        last++;
                } else if (j - i + 1 >= wh->group_at) {
                    last = i + W_MAX_GROUP - 1 < j ? i + W_MAX_GROUP - 1 : j;
                    while (last > i && !PQgetisnull(r, last, W_COL_BATCH))
                        last--;
                }
                s_start(wh, r, i, last);
                for (int k = last + 1; k <= j; k++)
                    antt_buf_printf(&unsent, "%s%s", unsent.len ? "," : "{", PQgetvalue(r, k, W_COL_ID));
            } else {
                for (int k = i; k <= j; k++)
                    antt_buf_printf(&unsent, "%s%s", unsent.len ? "," : "{", PQgetvalue(r, k, W_COL_ID));
            }
            i = j + 1;
        }
        if (unsent.len)
            s_give_back(wh, &unsent);
        antt_buf_cleanup(&unsent);
    }
    if (wh->again) {
        wh->again = 0;
        notify_webhook_kick(wh);
    }
}

/* The due-claim reads pg_stat_activity (a view of several joins): planning
 * it took ~1.9 ms, at every kick (20 a second under load, 38 us of CPU a
 * report at 1,000 reports/s), where running it takes a fraction of that. */
void notify_webhook_prepare(antt_db_t *db)
{
    antt_db_prepare(db, "webhook_due", S_DUE_SQL, 1);
}

static void s_query(notify_webhook_t *wh)
{
    if (wh->leader && !antt_leader_active(wh->leader))
        return; /* a standby sends nothing */
    if (wh->querying) {
        wh->again = 1;
        return;
    }
    antt_buf_t busy;
    antt_buf_init(&busy);
    antt_buf_puts(&busy, "{");
    for (int i = 0; i < wh->nbusy; i++)
        antt_buf_printf(&busy, "%s%d", i ? "," : "", wh->busy[i]);
    antt_buf_puts(&busy, "}");
    const char *v[1] = {busy.data};
    antt_db_job_t *job = antt_db_job_new(s_on_due, wh);
    if (wh->leader)
        antt_leader_fence(wh->leader, job);
    antt_db_job_add_prepared(job, "webhook_due", 1, v, NULL, NULL);
    antt_buf_cleanup(&busy);
    if (antt_db_submit(wh->db, job) == 0) {
        wh->querying = 1;
        wh->last_query = uv_now(wh->loop);
    }
}

static void s_on_kick_timer(uv_timer_t *t)
{
    notify_webhook_t *wh = t->data;
    wh->kick_armed = 0;
    if (!wh->closing)
        s_query(wh);
}

/* Every announced incident kicks the sender, and each due-query is a fenced
 * transaction: at 1,000 reports/s that was ~120 claims a second, most
 * finding nothing. Kicks are paced to one due-query per W_KICK_PACE_MS; a
 * kick inside the pace is held until it ends (a webhook leaves at most that
 * much later). */
#define W_KICK_PACE_MS 50

void notify_webhook_kick(notify_webhook_t *wh)
{
    if (wh == NULL || wh->closing)
        return;
    uint64_t now = uv_now(wh->loop);
    if (wh->last_query == 0 || now >= wh->last_query + W_KICK_PACE_MS) {
        s_query(wh);
    } else if (!wh->kick_armed) {
        wh->kick_armed = 1;
        uv_timer_start(&wh->kick_timer, s_on_kick_timer, wh->last_query + W_KICK_PACE_MS - now, 0);
    }
}

static void s_on_poll_timer(uv_timer_t *t)
{
    notify_webhook_kick(t->data);
}

notify_webhook_t *notify_webhook_new(uv_loop_t *loop, antt_db_t *db, int group_at, int max_attempts,
                                     double backoff_max_s)
{
    notify_webhook_t *wh = antt_xcalloc(1, sizeof(*wh));
    wh->backoff_max_s = backoff_max_s >= 1 ? backoff_max_s : 3600;
    wh->loop = loop;
    wh->db = db;
    wh->group_at = group_at > 1 ? group_at : 20;
    wh->max_attempts = max_attempts > 0 ? max_attempts : 15;
    wh->multi = curl_multi_init();
    curl_multi_setopt(wh->multi, CURLMOPT_SOCKETFUNCTION, s_socket_cb);
    curl_multi_setopt(wh->multi, CURLMOPT_SOCKETDATA, wh);
    curl_multi_setopt(wh->multi, CURLMOPT_TIMERFUNCTION, s_timer_cb);
    curl_multi_setopt(wh->multi, CURLMOPT_TIMERDATA, wh);
    uv_timer_init(loop, &wh->curl_timer);
    wh->curl_timer.data = wh;
    uv_timer_init(loop, &wh->poll_timer);
    wh->poll_timer.data = wh;
    uv_timer_init(loop, &wh->kick_timer);
    wh->kick_timer.data = wh;
    uv_timer_start(&wh->poll_timer, s_on_poll_timer, 1000, 500);
    wh->m_ok = antt_metrics_counter("antt_notify_webhook_requests_total", "Webhook requests", "result=\"delivered\"");
    wh->m_fail = antt_metrics_counter("antt_notify_webhook_requests_total", "Webhook requests", "result=\"failed\"");
    wh->m_dead = antt_metrics_counter("antt_notify_webhook_dead_total", "Webhook messages given up", NULL);
    return wh;
}

/* libuv runs close callbacks in no promised order: the last one frees. */
static void s_closed(uv_handle_t *h)
{
    notify_webhook_t *wh = h->data;
    if (--wh->open_handles == 0) {
        free(wh->busy);
        free(wh);
    }
}

void notify_webhook_set_leader(notify_webhook_t *wh, const antt_leader_t *leader)
{
    wh->leader = leader;
}

void notify_webhook_take_over(notify_webhook_t *wh)
{
    /* the claims of a process that died are void by W_DUE; those of a
     * frozen one hold until it thaws and records its outcomes, or until
     * they run out */
    notify_webhook_kick(wh);
}

void notify_webhook_close(notify_webhook_t *wh)
{
    if (wh == NULL)
        return;
    wh->closing = 1;
    /* requests in flight are abandoned: their rows stay pending and are sent
     * again after a restart (receivers keep each webhook-id once) */
    while (wh->sends) {
        w_send_t *s = wh->sends;
        curl_multi_remove_handle(wh->multi, s->easy);
        curl_easy_cleanup(s->easy);
        s_send_free(s);
    }
    curl_multi_cleanup(wh->multi);
    wh->open_handles = 3;
    uv_close((uv_handle_t *)&wh->curl_timer, s_closed);
    uv_close((uv_handle_t *)&wh->poll_timer, s_closed);
    uv_close((uv_handle_t *)&wh->kick_timer, s_closed);
}
