/* intake_store: group commit of reports. */
#include "intake_store.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "antt_json.h"
#include "antt_log.h"
#include "antt_metrics.h"
#include "antt_util.h"

/* $1: JSON array of reports; $2: re-drive delay in ms. One statement: one
 * transaction. Rows whose key already exists are not inserted; the final
 * SELECT finds their first report (committed before this statement began). */
static const char S_INSERT_SQL[] =
    "WITH input AS ("
    "  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x("
    "    ord int, id uuid, recv bigint, gw int, key text, occ bigint, descr text, svc text,"
    "    lat float8, lon float8, area text, addr text, media text[], lang text, contact text,"
    "    rhash text, iprio smallint, istat text, emerg smallint, aid text, zip text, attrs jsonb)),"
    " keys AS ("
    "  INSERT INTO report_keys (gateway_id, idempotency_key, report_id, received_at)"
    "  SELECT gw, key, id, to_timestamp(recv / 1000.0) FROM input"
    "  ON CONFLICT DO NOTHING RETURNING report_id),"
    " rep AS ("
    "  INSERT INTO reports (id, received_at, gateway_id, idempotency_key, occurred_at,"
    "    description, service_code, lat, lon, area_code, address, media_urls, language,"
    "    contact_sealed, reporter_hash, imported_priority, imported_status, emergency_services,"
    "    address_id, zipcode, attributes)"
    "  SELECT i.id, to_timestamp(i.recv / 1000.0), i.gw, i.key, to_timestamp(i.occ / 1000.0),"
    "    i.descr, i.svc, i.lat, i.lon, i.area, i.addr, coalesce(i.media, '{}'), i.lang,"
    "    decode(i.contact, 'base64'), decode(i.rhash, 'hex'), i.iprio, i.istat, i.emerg, i.aid, i.zip, i.attrs"
    "  FROM input i JOIN keys k ON k.report_id = i.id RETURNING id, received_at),"
    " q AS ("
    "  INSERT INTO report_queue (report_id, received_at, next_attempt_at)"
    "  SELECT id, received_at, received_at + $2::bigint * interval '1 millisecond' FROM rep"
    "  RETURNING report_id)"
    /* the lookups of existing keys run (by primary key) only for the rows
     * that were not inserted: a scalar subquery under CASE is never turned
     * into a join over the whole table */
    " SELECT i.ord, CASE WHEN k.report_id IS NOT NULL THEN k.report_id ELSE"
    "   (SELECT rk.report_id FROM report_keys rk WHERE rk.gateway_id = i.gw"
    "    AND rk.idempotency_key = i.key) END,"
    "   CASE WHEN k.report_id IS NOT NULL THEN i.recv ELSE"
    "   (SELECT (extract(epoch FROM rk.received_at) * 1000)::bigint FROM report_keys rk"
    "    WHERE rk.gateway_id = i.gw AND rk.idempotency_key = i.key) END,"
    "   k.report_id IS NULL, (SELECT count(*) FROM q)"
    " FROM input i LEFT JOIN keys k ON k.report_id = i.id";

/* For keys that a concurrent transaction committed after our statement began. */
static const char S_LOOKUP_SQL[] =
    "SELECT report_id, (extract(epoch FROM received_at) * 1000)::bigint FROM report_keys"
    " WHERE gateway_id = $1 AND idempotency_key = $2";

typedef struct s_entry {
    intake_report_t *r;   /* the report, owned */
    intake_store_cb cb;   /* completion */
    void *arg;            /* cb argument */
    int dup_of;           /* index in batch of an earlier entry with the same key, or -1 */
    int done;             /* callback ran (or the entry moved to a lookup) */
    int moved;            /* handed to a lookup */
    int find_only;        /* intake_store_find: a key not stored is -ENOENT, not a failure */
    int status;           /* result given to cb */
    char id[ANTT_UUID_LEN + 1]; /* report id given to cb */
    int64_t recv;         /* received time given to cb */
} s_entry_t;

typedef struct s_batch {
    intake_store_t *store; /* owner */
    s_entry_t *e;          /* entries */
    int n;                 /* entry count */
} s_batch_t;

struct intake_store_s {
    uv_loop_t *loop;             /* loop */
    antt_db_t **dbs;             /* connections */
    int ndbs;                    /* connection count */
    int batch_max;               /* most reports per transaction */
    int depth;                   /* transactions in flight per connection */
    long redrive_after_ms;       /* queue row due after this */
    s_entry_t *pending;          /* waiting for a transaction */
    int npending, cap;           /* count, capacity */
    size_t inflight_reports;     /* reports in transactions */
    int inflight_jobs;           /* transactions in flight */
    uv_check_t check;            /* flushes after each loop iteration */
    int closing;                 /* close requested */
    int check_closed;            /* the check handle is closed */
    antt_metric_t *m_batch;      /* reports per transaction */
    antt_metric_t *m_commit;     /* transaction latency */
    antt_metric_t *m_stage;      /* a new report's receipt to its commit */
    antt_metric_t *m_stored;     /* new reports stored */
    antt_metric_t *m_replayed;   /* retries answered from the key */
    antt_metric_t *m_failed;     /* reports not stored */
    antt_metric_t *m_isolated;   /* batches split after a statement error */
    antt_metric_t *m_inflight;   /* transactions in flight now */
    antt_metric_t *m_waiting;    /* reports waiting for a transaction now */
};

static void s_flush(intake_store_t *store);

/* After a transaction or lookup ended: send what waits, or finish closing. */
static void s_after(intake_store_t *store)
{
    if (!store->closing) {
        s_flush(store);
        return;
    }
    if (store->check_closed && store->inflight_jobs == 0) {
        free(store->pending);
        free(store);
    }
}

static void s_finish(s_entry_t *e, int status, const char *id, int64_t recv, int replayed)
{
    if (e->done)
        return;
    e->done = 1;
    e->status = status;
    e->recv = recv;
    snprintf(e->id, sizeof(e->id), "%s", id ? id : "");
    e->cb(e->r, status, id, recv, replayed, e->arg);
    intake_report_destroy(&e->r);
}

static void s_batch_free(s_batch_t *b)
{
    free(b->e);
    free(b);
}

static void s_append_row(antt_buf_t *j, int ord, const intake_report_t *r)
{
    antt_buf_printf(j, "{\"ord\":%d,\"id\":\"%s\",\"recv\":%lld,\"gw\":%d,\"key\":", ord, r->id,
                    (long long)r->received_ms, r->gateway_id);
    antt_json_cstr(j, r->idempotency_key);
    if (r->has_occurred)
        antt_buf_printf(j, ",\"occ\":%lld", (long long)r->occurred_ms);
    antt_buf_puts(j, ",\"descr\":");
    antt_json_cstr(j, r->description);
    if (r->service_code) {
        antt_buf_puts(j, ",\"svc\":");
        antt_json_cstr(j, r->service_code);
    }
    if (r->has_location)
        antt_buf_printf(j, ",\"lat\":%.8f,\"lon\":%.8f", r->lat, r->lon);
    if (r->area_code) {
        antt_buf_puts(j, ",\"area\":");
        antt_json_cstr(j, r->area_code);
    }
    if (r->address) {
        antt_buf_puts(j, ",\"addr\":");
        antt_json_cstr(j, r->address);
    }
    if (r->address_id) {
        antt_buf_puts(j, ",\"aid\":");
        antt_json_cstr(j, r->address_id);
    }
    if (r->zipcode) {
        antt_buf_puts(j, ",\"zip\":");
        antt_json_cstr(j, r->zipcode);
    }
    if (r->attributes)
        antt_buf_printf(j, ",\"attrs\":%s", r->attributes); /* a JSON object jansson wrote */
    if (r->nmedia) {
        antt_buf_puts(j, ",\"media\":[");
        for (size_t m = 0; m < r->nmedia; m++) {
            if (m)
                antt_buf_puts(j, ",");
            antt_json_cstr(j, r->media_urls[m]);
        }
        antt_buf_puts(j, "]");
    }
    if (r->language) {
        antt_buf_puts(j, ",\"lang\":");
        antt_json_cstr(j, r->language);
    }
    if (r->contact_sealed) {
        size_t b64len = sodium_base64_ENCODED_LEN(r->contact_sealed_len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = antt_xmalloc(b64len);
        sodium_bin2base64(b64, b64len, r->contact_sealed, r->contact_sealed_len,
                          sodium_base64_VARIANT_ORIGINAL);
        antt_buf_printf(j, ",\"contact\":\"%s\"", b64);
        free(b64);
    }
    if (r->has_reporter) {
        char hex[2 * ANTT_HASH_BYTES + 1];
        sodium_bin2hex(hex, sizeof(hex), r->reporter_hash, ANTT_HASH_BYTES);
        antt_buf_printf(j, ",\"rhash\":\"%s\"", hex);
    }
    if (r->imported_status) {
        antt_buf_printf(j, ",\"iprio\":%d,\"istat\":", r->imported_priority);
        antt_json_cstr(j, r->imported_status);
    }
    if (r->emergency)
        antt_buf_printf(j, ",\"emerg\":%u", r->emergency);
    antt_buf_puts(j, "}");
}

/* lookups of keys committed concurrently */

typedef struct s_lookup {
    intake_store_t *store; /* owner */
    s_entry_t e;           /* the entry, moved out of its batch */
} s_lookup_t;

static void s_on_lookup(antt_db_job_t *job, int status, void *arg)
{
    s_lookup_t *l = arg;
    PGresult *res = status == 0 ? antt_db_job_result(job, 0) : NULL;
    l->store->inflight_jobs--;
    if (res && PQntuples(res) == 1) {
        antt_metric_inc(l->store->m_replayed);
        s_finish(&l->e, 0, PQgetvalue(res, 0, 0), strtoll(PQgetvalue(res, 0, 1), NULL, 10), 1);
    } else if (res && l->e.find_only) {
        s_finish(&l->e, -ENOENT, NULL, 0, 0);
    } else {
        antt_metric_inc(l->store->m_failed);
        s_finish(&l->e, status ? status : -EIO, NULL, 0, 0);
    }
    intake_store_t *store = l->store;
    free(l);
    s_after(store);
}

static antt_db_t *s_pick_db(intake_store_t *store)
{
    antt_db_t *best = NULL;
    for (int i = 0; i < store->ndbs; i++) {
        antt_db_t *db = store->dbs[i];
        if (!antt_db_connected(db))
            continue;
        if (best == NULL || antt_db_backlog(db) < antt_db_backlog(best))
            best = db;
    }
    return best;
}

static void s_lookup(intake_store_t *store, s_entry_t *e)
{
    antt_db_t *db = s_pick_db(store);
    if (db == NULL) {
        s_finish(e, -ENOTCONN, NULL, 0, 0);
        return;
    }
    s_lookup_t *l = antt_xcalloc(1, sizeof(*l));
    l->store = store;
    l->e = *e;
    e->done = 1;
    e->moved = 1;
    char gw[16];
    snprintf(gw, sizeof(gw), "%d", l->e.r->gateway_id);
    const char *params[] = {gw, l->e.r->idempotency_key};
    antt_db_job_t *job = antt_db_job_new(s_on_lookup, l);
    antt_db_job_add(job, S_LOOKUP_SQL, 2, params, NULL, NULL);
    if (antt_db_submit(db, job) != 0) {
        s_finish(&l->e, -ENOTCONN, NULL, 0, 0);
        free(l);
        return;
    }
    store->inflight_jobs++;
}

static void s_submit_batch(intake_store_t *store, antt_db_t *db, s_batch_t *b);

static void s_on_batch(antt_db_job_t *job, int status, void *arg)
{
    s_batch_t *b = arg;
    intake_store_t *store = b->store;
    store->inflight_jobs--;
    store->inflight_reports -= (size_t)b->n;
    antt_metric_observe(store->m_commit, antt_db_job_seconds(job));

    if (status == -EIO && b->n > 1 && !store->closing) {
        /* one row broke the statement: isolate it by retrying one by one */
        ANTT_LOG(ANTT_WARN, "report batch of %d failed, retrying one by one: %s", b->n,
                 antt_db_job_error(job));
        antt_metric_inc(store->m_isolated);
        for (int i = 0; i < b->n; i++) {
            s_batch_t *one = antt_xcalloc(1, sizeof(*one));
            one->store = store;
            one->e = antt_xcalloc(1, sizeof(s_entry_t));
            one->e[0] = b->e[i];
            one->e[0].dup_of = -1;
            one->n = 1;
            antt_db_t *d = s_pick_db(store);
            if (d == NULL) {
                s_finish(&one->e[0], -ENOTCONN, NULL, 0, 0);
                s_batch_free(one);
                continue;
            }
            s_submit_batch(store, d, one);
        }
        s_batch_free(b);
        s_after(store);
        return;
    }
    if (status != 0) {
        if (status != -ECANCELED)
            ANTT_LOG(ANTT_WARN, "could not store %d reports: %s", b->n,
                     antt_db_job_error(job) ? antt_db_job_error(job) : strerror(-status));
        for (int i = 0; i < b->n; i++) {
            antt_metric_inc(store->m_failed);
            s_finish(&b->e[i], status, NULL, 0, 0);
        }
        s_batch_free(b);
        s_after(store);
        return;
    }
    PGresult *res = antt_db_job_result(job, 0);
    int rows = PQntuples(res);
    int64_t now_ms = antt_now_ms(); /* the batch's commit */
    /* results by ord: the entry index in the batch */
    for (int k = 0; k < rows; k++) {
        int ord = atoi(PQgetvalue(res, k, 0));
        if (ord < 0 || ord >= b->n)
            continue;
        s_entry_t *e = &b->e[ord];
        int replayed = PQgetvalue(res, k, 3)[0] == 't';
        if (PQgetisnull(res, k, 1)) {
            s_lookup(store, e);
            continue;
        }
        antt_metric_inc(replayed ? store->m_replayed : store->m_stored);
        if (!replayed)
            antt_metric_observe(store->m_stage, (double)(now_ms - e->r->received_ms) / 1000.0);
        s_finish(e, 0, PQgetvalue(res, k, 1), strtoll(PQgetvalue(res, k, 2), NULL, 10), replayed);
    }
    /* entries that shared a key with an earlier entry of this batch */
    for (int i = 0; i < b->n; i++) {
        s_entry_t *e = &b->e[i], *first;
        if (e->done || e->dup_of < 0)
            continue;
        first = &b->e[e->dup_of];
        if (first->moved) {
            s_lookup(store, e);
        } else if (first->done && first->status == 0) {
            antt_metric_inc(store->m_replayed);
            s_finish(e, 0, first->id, first->recv, 1);
        }
    }
    for (int i = 0; i < b->n; i++)
        if (!b->e[i].done) {
            antt_metric_inc(store->m_failed);
            s_finish(&b->e[i], -EIO, NULL, 0, 0);
        }
    s_batch_free(b);
    s_after(store);
}

static void s_submit_batch(intake_store_t *store, antt_db_t *db, s_batch_t *b)
{
    antt_buf_t j;
    antt_buf_init(&j);
    antt_buf_puts(&j, "[");
    int rows = 0;
    for (int i = 0; i < b->n; i++) {
        if (b->e[i].dup_of >= 0)
            continue;
        if (rows++)
            antt_buf_puts(&j, ",");
        s_append_row(&j, i, b->e[i].r);
    }
    antt_buf_puts(&j, "]");
    char delay[32];
    snprintf(delay, sizeof(delay), "%ld", store->redrive_after_ms);
    const char *params[] = {j.data, delay};
    antt_db_job_t *job = antt_db_job_new(s_on_batch, b);
    antt_db_job_add_prepared(job, "intake_insert", 2, params, NULL, NULL);
    /* two connections' batches that repeat a key in opposite orders wait
     * for each other's insert: the deadlock's victim is sent again */
    antt_db_job_set_retries(job, 2);
    antt_buf_cleanup(&j);
    if (antt_db_submit(db, job) != 0) {
        for (int i = 0; i < b->n; i++) {
            antt_metric_inc(store->m_failed);
            s_finish(&b->e[i], -ENOTCONN, NULL, 0, 0);
        }
        s_batch_free(b);
        return;
    }
    antt_metric_observe(store->m_batch, b->n);
    store->inflight_jobs++;
    store->inflight_reports += (size_t)b->n;
}

static int s_key_cmp(const intake_report_t *a, const intake_report_t *b)
{
    if (a->gateway_id != b->gateway_id)
        return a->gateway_id < b->gateway_id ? -1 : 1;
    return strcmp(a->idempotency_key, b->idempotency_key);
}

/* Marks entries whose key repeats an earlier entry of the batch. Batches are
 * at most batch_max long and repeats are rare: a quadratic scan over a
 * short hash prefilter is enough. */
static void s_mark_dups(s_batch_t *b)
{
    uint32_t *h = antt_xmalloc((size_t)b->n * sizeof(uint32_t));
    for (int i = 0; i < b->n; i++) {
        uint32_t x = 2166136261u ^ (uint32_t)b->e[i].r->gateway_id;
        for (const char *p = b->e[i].r->idempotency_key; *p; p++)
            x = (x ^ (uint8_t)*p) * 16777619u;
        h[i] = x;
        b->e[i].dup_of = -1;
        for (int k = 0; k < i; k++)
            if (h[k] == x && b->e[k].dup_of < 0 && s_key_cmp(b->e[k].r, b->e[i].r) == 0) {
                b->e[i].dup_of = k;
                break;
            }
    }
    free(h);
}

static void s_flush_batches(intake_store_t *store)
{
    while (store->npending > 0 && !store->closing) {
        antt_db_t *db = s_pick_db(store);
        if (db == NULL) {
            /* no connection: answer now so that gateways retry elsewhere or later */
            for (int i = 0; i < store->npending; i++) {
                antt_metric_inc(store->m_failed);
                s_finish(&store->pending[i], -ENOTCONN, NULL, 0, 0);
            }
            store->npending = 0;
            return;
        }
        if (antt_db_backlog(db) >= (size_t)store->depth)
            return; /* all busy: the next completion flushes, with a bigger batch */
        int n = store->npending < store->batch_max ? store->npending : store->batch_max;
        s_batch_t *b = antt_xcalloc(1, sizeof(*b));
        b->store = store;
        b->n = n;
        b->e = antt_xmalloc((size_t)n * sizeof(s_entry_t));
        memcpy(b->e, store->pending, (size_t)n * sizeof(s_entry_t));
        memmove(store->pending, store->pending + n, (size_t)(store->npending - n) * sizeof(s_entry_t));
        store->npending -= n;
        s_mark_dups(b);
        s_submit_batch(store, db, b);
    }
}

/* Sends what waits while a connection has fewer than depth transactions in
 * flight; the rest waits for a completion (and goes in a bigger batch). */
static void s_flush(intake_store_t *store)
{
    s_flush_batches(store);
    antt_metric_set(store->m_inflight, store->inflight_jobs);
    antt_metric_set(store->m_waiting, store->npending);
}

static void s_on_check(uv_check_t *h)
{
    s_flush(h->data);
}

intake_store_t *intake_store_new(uv_loop_t *loop, antt_db_t **dbs, int ndbs, int batch_max, int depth,
                                 long redrive_after_ms)
{
    intake_store_t *store = antt_xcalloc(1, sizeof(*store));
    store->loop = loop;
    store->dbs = dbs;
    store->ndbs = ndbs;
    assert(batch_max > 0 && depth > 0);
    store->batch_max = batch_max;
    store->depth = depth;
    store->redrive_after_ms = redrive_after_ms;
    for (int i = 0; i < ndbs; i++)
        antt_db_prepare(dbs[i], "intake_insert", S_INSERT_SQL, 2);
    uv_check_init(loop, &store->check);
    store->check.data = store;
    uv_check_start(&store->check, s_on_check);
    uv_unref((uv_handle_t *)&store->check);
    static const double batch_bounds[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
    store->m_batch = antt_metrics_histogram("antt_intake_batch_reports", "Reports per transaction",
                                            NULL, batch_bounds, ANTT_ARRAY_SIZE(batch_bounds));
    store->m_stage = antt_metrics_histogram("antt_intake_receipt_to_commit_seconds",
                                            "Stage 1: from receiving a new report to its commit", NULL,
                                            antt_latency_buckets, antt_latency_nbuckets);
    store->m_commit = antt_metrics_histogram("antt_intake_commit_seconds",
                                             "Time from sending a batch to its commit", NULL,
                                             antt_latency_buckets, antt_latency_nbuckets);
    store->m_stored = antt_metrics_counter("antt_intake_reports_stored_total",
                                           "New reports committed", NULL);
    store->m_replayed = antt_metrics_counter("antt_intake_reports_replayed_total",
                                             "Retries answered with an earlier report id", NULL);
    store->m_failed = antt_metrics_counter("antt_intake_reports_store_failed_total",
                                           "Reports not known to be stored (gateway retries)", NULL);
    store->m_isolated = antt_metrics_counter("antt_intake_batches_split_total",
                                             "Batches retried row by row after an error", NULL);
    store->m_inflight = antt_metrics_gauge("antt_intake_transactions_in_flight",
                                           "Report transactions and key lookups sent, not yet completed", NULL);
    store->m_waiting = antt_metrics_gauge("antt_intake_reports_waiting",
                                          "Reports waiting for a transaction (every connection has"
                                          " intake.pipeline_depth in flight)", NULL);
    return store;
}

void intake_store_submit(intake_store_t *store, intake_report_t *r, intake_store_cb cb, void *arg)
{
    if (store->closing) {
        cb(r, -ECANCELED, NULL, 0, 0, arg);
        intake_report_destroy(&r);
        return;
    }
    if (store->npending == store->cap) {
        store->cap = store->cap ? store->cap * 2 : 1024;
        store->pending = antt_xrealloc(store->pending, (size_t)store->cap * sizeof(s_entry_t));
    }
    s_entry_t *e = &store->pending[store->npending++];
    memset(e, 0, sizeof(*e));
    e->r = r;
    e->cb = cb;
    e->arg = arg;
    e->dup_of = -1;
    if (store->npending >= store->batch_max)
        s_flush(store);
    antt_metric_set(store->m_waiting, store->npending);
}

void intake_store_find(intake_store_t *store, intake_report_t *r, intake_store_cb cb, void *arg)
{
    s_entry_t e;
    memset(&e, 0, sizeof(e));
    e.r = r;
    e.cb = cb;
    e.arg = arg;
    e.dup_of = -1;
    e.find_only = 1;
    if (store->closing) {
        s_finish(&e, -ECANCELED, NULL, 0, 0);
        return;
    }
    s_lookup(store, &e);
}

size_t intake_store_backlog(const intake_store_t *store)
{
    return (size_t)store->npending + store->inflight_reports;
}

static void s_check_closed(uv_handle_t *h)
{
    intake_store_t *store = h->data;
    store->check_closed = 1;
    s_after(store);
}

void intake_store_close(intake_store_t *store)
{
    if (store == NULL)
        return;
    store->closing = 1;
    for (int i = 0; i < store->npending; i++)
        s_finish(&store->pending[i], -ECANCELED, NULL, 0, 0);
    store->npending = 0;
    uv_close((uv_handle_t *)&store->check, s_check_closed);
}
