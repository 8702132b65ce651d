/* cli_feed: a desk's live feed for the console, from notification's SSE
 * stream (GET /api/v1/feed): the token decides which desk, as on every
 * token-scoped channel; a client key alone reads no desk feed (the desk
 * PUB's zone admits no client key).
 *
 * A thread of its own runs libcurl, reconnects with Last-Event-ID after a
 * second when the stream ends, and hands each event to the console's
 * thread as one line on a pipe: the update's JSON, or {"reset": true} when
 * the journal says "reload the list". */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <poll.h>
#include <sodium.h>

#include "antt_util.h"
#include "cli.h"

struct cli_feed_s {
    char url[512];          /* the stream */
    char auth[512];         /* Authorization: Bearer <token> */
    char last_id[64];       /* the last event's id, "" none */
    char event[32];         /* the event being read: its type */
    antt_buf_t data;        /* its data lines */
    antt_buf_t line;        /* a line not yet complete */
    int fds[2];             /* pipe: [0] the console reads, [1] this thread writes */
    atomic_int stop;        /* asked to end */
    long status;            /* the last response's HTTP status */
    pthread_t thread;       /* the reader */
};

static void s_emit(cli_feed_t *f, const char *s, size_t n)
{
    /* a line at a time: a reader that sees half a line waits for the rest */
    while (n > 0) {
        ssize_t w = write(f->fds[1], s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN && !atomic_load(&f->stop)) {
            /* the console is busy (a command waits for its answer) */
            struct pollfd p = {f->fds[1], POLLOUT, 0};
            poll(&p, 1, 100);
            continue;
        }
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* One line of the stream (without its end). A blank line ends an event. */
static void s_line(cli_feed_t *f, const char *l, size_t n)
{
    if (n == 0) {
        if (!strcmp(f->event, "reset"))
            s_emit(f, "{\"reset\": true}\n", 16);
        else if ((!f->event[0] || !strcmp(f->event, "incident")) && f->data.len > 0) {
            antt_buf_append(&f->data, "\n", 1);
            s_emit(f, f->data.data, f->data.len);
        }
        f->event[0] = '\0';
        f->data.len = 0;
        return;
    }
    if (n > 6 && !strncmp(l, "event:", 6))
        snprintf(f->event, sizeof(f->event), "%.*s", (int)(n - 6 - (l[6] == ' ')), l + 6 + (l[6] == ' '));
    else if (n > 3 && !strncmp(l, "id:", 3))
        snprintf(f->last_id, sizeof(f->last_id), "%.*s", (int)(n - 3 - (l[3] == ' ')), l + 3 + (l[3] == ' '));
    else if (n >= 5 && !strncmp(l, "data:", 5)) {
        size_t skip = 5 + (n > 5 && l[5] == ' ');
        antt_buf_append(&f->data, l + skip, n - skip);
    }
}

static size_t s_on_bytes(char *p, size_t size, size_t nmemb, void *arg)
{
    cli_feed_t *f = arg;
    size_t n = size * nmemb;
    antt_buf_append(&f->line, p, n);
    size_t start = 0;
    for (size_t i = 0; i < f->line.len; i++)
        if (f->line.data[i] == '\n') {
            size_t end = i > start && f->line.data[i - 1] == '\r' ? i - 1 : i;
            s_line(f, f->line.data + start, end - start);
            start = i + 1;
        }
    memmove(f->line.data, f->line.data + start, f->line.len - start);
    f->line.len -= start;
    return atomic_load(&f->stop) ? 0 : n;
}

static int s_on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    return atomic_load(&((cli_feed_t *)arg)->stop);
}

static void *s_run(void *arg)
{
    cli_feed_t *f = arg;
    while (!atomic_load(&f->stop)) {
        CURL *h = curl_easy_init();
        char lei[96];
        struct curl_slist *hs = curl_slist_append(NULL, f->auth);
        if (f->last_id[0]) {
            snprintf(lei, sizeof(lei), "Last-Event-ID: %s", f->last_id);
            hs = curl_slist_append(hs, lei);
        }
        curl_easy_setopt(h, CURLOPT_URL, f->url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_on_bytes);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, s_on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, f);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
        curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &f->status);
        curl_slist_free_all(hs);
        curl_easy_cleanup(h);
        f->line.len = f->data.len = 0;
        f->event[0] = '\0';
        if (f->status == 401 || f->status == 403) {
            s_emit(f, "{\"refused\": true}\n", 18);
            break;
        }
        /* the stream ended (notification restarted, the client fell
         * behind): come back in a second, from the last event seen */
        for (int i = 0; i < 10 && !atomic_load(&f->stop); i++) {
            struct timespec ts = {0, 100 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

cli_feed_t *cli_feed_start(const antt_config_t *cfg, const char *token)
{
    cli_feed_t *f = antt_xcalloc(1, sizeof(*f));
    const char *url = antt_config_get(cfg, "console.feed_url", NULL);
    if (url && *url)
        snprintf(f->url, sizeof(f->url), "%s", url);
    else
        snprintf(f->url, sizeof(f->url), "http://%s/api/v1/feed",
                 antt_config_get(cfg, "notification.http", "127.0.0.1:8082"));
    snprintf(f->auth, sizeof(f->auth), "Authorization: Bearer %s", token);
    antt_buf_init(&f->data);
    antt_buf_init(&f->line);
    if (pipe(f->fds) != 0) {
        free(f);
        return NULL;
    }
    fcntl(f->fds[0], F_SETFL, O_NONBLOCK);
    fcntl(f->fds[1], F_SETFL, O_NONBLOCK);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (pthread_create(&f->thread, NULL, s_run, f) != 0) {
        close(f->fds[0]);
        close(f->fds[1]);
        free(f);
        return NULL;
    }
    return f;
}

int cli_feed_fd(const cli_feed_t *f)
{
    return f->fds[0];
}

const char *cli_feed_url(const cli_feed_t *f)
{
    return f->url;
}

void cli_feed_stop(cli_feed_t **fp)
{
    if (fp == NULL || *fp == NULL)
        return;
    cli_feed_t *f = *fp;
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    close(f->fds[0]);
    close(f->fds[1]);
    sodium_memzero(f->auth, sizeof(f->auth));
    antt_buf_cleanup(&f->data);
    antt_buf_cleanup(&f->line);
    curl_global_cleanup();
    free(f);
    *fp = NULL;
}
