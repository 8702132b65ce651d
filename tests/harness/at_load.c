/* at_load: a steady load of reports over HTTP, what it got acknowledged,
 * and the wait until every acknowledged report went the whole way. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* POLLRDHUP */
#endif
#include "antt_test.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <poll.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <zmq.h>

#include <sodium.h>

#include "antt_config.h"
#include "antt_crypto.h"
#include "antt_migrate.h"
#include "antt_util.h"


void at_load_gateway(PGconn *c)
{
    at_db_exec(c, "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst) VALUES"
                  " ('app', 'App', sha256('" AT_LOAD_KEY "'::bytea), 100000, 100000)");
}

typedef struct at_load_thread {
    at_load_t *l;
    long first;
} at_load_thread_t;

static void s_load_one(at_load_t *l, long n)
{
    char body[512], hdr[96];
    snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s-%ld", l->prefix, n);
    /* spread over the district so that reports are separate incidents */
    double lat = 10.735 + (double)(n % 80) * 0.001, lon = 106.575 + (double)((n / 80) % 50) * 0.001;
    snprintf(body, sizeof(body),
             "api_key=%s&service_code=theft&lat=%.5f&long=%.5f&description=bi%%20trom%%20xe%%20may%%20so%%20%ld",
             l->api_key, lat, lon, n);
    const char *hs[] = {hdr, NULL};
    pthread_mutex_t *mu = l->mu;
    while (!l->stop) {
        char *resp = NULL;
        int st = at_http("POST", l->url, hs, body, strlen(body), &resp);
        const char *id = resp ? strstr(resp, "\"service_request_id\":\"") : NULL;
        /* 201 stored; 200 stored before (a retry of a report whose answer
         * was lost): the same id either way */
        if ((st == 201 || st == 200) && id) {
            pthread_mutex_lock(mu);
            if (l->acked < l->cap)
                snprintf(l->ids[l->acked++], 40, "%.36s", id + 22);
            pthread_mutex_unlock(mu);
            free(resp);
            return;
        }
        free(resp);
        pthread_mutex_lock(mu);
        l->retries++;
        l->retry_by[st >= 100 && st < 600 ? st / 100 : 0]++;
        pthread_mutex_unlock(mu);
        usleep(50 * 1000); /* a gateway's retry pause, not a synchronisation */
    }
}

static void *s_load_run(void *arg)
{
    at_load_thread_t *t = arg;
    at_load_t *l = t->l;
    for (long n = t->first; !l->stop; n += l->threads) {
        pthread_mutex_lock(l->mu);
        l->sent++;
        pthread_mutex_unlock(l->mu);
        s_load_one(l, n);
        usleep((useconds_t)l->pause_ms * 1000); /* the load's pace */
    }
    free(t);
    return NULL;
}

void at_load_start(at_load_t *l, int http_port, const char *api_key, const char *prefix, int threads, int pause_ms)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->url, sizeof(l->url), "http://127.0.0.1:%d/open311/v2/requests.json", http_port);
    snprintf(l->api_key, sizeof(l->api_key), "%s", api_key);
    snprintf(l->prefix, sizeof(l->prefix), "%s", prefix);
    l->threads = threads < 1 ? 1 : threads > 4 ? 4 : threads;
    l->pause_ms = pause_ms;
    l->cap = 200000;
    l->ids = calloc((size_t)l->cap, 40);
    l->mu = antt_xcalloc(1, sizeof(pthread_mutex_t));
    pthread_mutex_init(l->mu, NULL);
    for (int i = 0; i < l->threads; i++) {
        at_load_thread_t *t = antt_xcalloc(1, sizeof(*t));
        t->l = l;
        t->first = i;
        pthread_t th;
        pthread_create(&th, NULL, s_load_run, t);
        l->th[i] = (unsigned long)th;
    }
}

void at_load_stop(at_load_t *l)
{
    l->stop = 1;
    for (int i = 0; i < l->threads; i++)
        pthread_join((pthread_t)l->th[i], NULL);
}

void at_load_table(at_load_t *l, PGconn *c)
{
    at_db_exec(c, "CREATE TEMP TABLE acked (id uuid)");
    antt_buf_t b;
    antt_buf_init(&b);
    antt_buf_puts(&b, "INSERT INTO acked VALUES ");
    /* the load may still run (a test that counts between faults) */
    if (l->mu)
        pthread_mutex_lock(l->mu);
    long n = l->acked;
    for (long k = 0; k < n; k++)
        antt_buf_printf(&b, "%s('%s')", k ? "," : "", l->ids[k]);
    if (l->mu)
        pthread_mutex_unlock(l->mu);
    if (n)
        at_db_exec(c, b.data);
    antt_buf_cleanup(&b);
}

void at_load_free(at_load_t *l)
{
    free(l->ids);
    if (l->mu)
        pthread_mutex_destroy(l->mu);
    free(l->mu);
    l->ids = NULL;
    l->mu = NULL;
}

typedef struct at_settle {
    PGconn *c;
    long expect;
} at_settle_t;

static int s_settled(void *arg)
{
    at_settle_t *d = arg;
    if (PQstatus(d->c) != CONNECTION_OK)
        PQreset(d->c);
    return at_db_long(d->c, "SELECT count(*) FROM acked a JOIN reports r ON r.id = a.id") == d->expect &&
           at_db_long(d->c, "SELECT count(*) FROM acked a JOIN incident_reports l ON l.report_id = a.id"
                            " JOIN incidents i ON i.id = l.incident_id AND i.desk_code IS NOT NULL") == d->expect &&
           at_db_long(d->c, "SELECT count(*) FROM report_queue") == 0 &&
           at_db_long(d->c, "SELECT count(*) FROM trend_queue") == 0;
}

int at_load_settled(PGconn *c, long expect, int ms)
{
    at_settle_t d = {c, expect};
    return at_wait_until(s_settled, &d, ms);
}
