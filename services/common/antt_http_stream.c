/* antt_http_stream: streamed answers (server-sent events): a response
 * started once, written piece by piece as h2o takes each (proceed), ended
 * or aborted by the service, released when its client goes. */
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "antt_http.h"
#include "antt_http_int.h"

static void s_stream_send(antt_http_req_t *w)
{
    h2o_req_t *req = w->req;
    antt_buf_cleanup(&w->inflight);
    w->inflight = w->pending;
    antt_buf_init(&w->pending);
    h2o_iovec_t v = h2o_iovec_init(w->inflight.data, w->inflight.len);
    int final = w->ended;
    w->sending = !final;
    if (final) {
        w->guard->w = NULL;
        w->guard = NULL;
        w->req = NULL;
    }
    h2o_send(req, &v, v.len ? 1 : 0, final ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
    if (final)
        antt_http_release_req(w);
}

static void s_on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    antt_http_req_t *w = (antt_http_req_t *)gen;
    (void)req;
    w->sending = 0;
    if (w->req && w->aborted)
        w->ended = 1; /* the write made it before the shutdown: finish now */
    if (w->req && (w->pending.len > 0 || w->ended)) {
        s_stream_send(w);
        return;
    }
    antt_buf_cleanup(&w->inflight);
    if (w->req && w->on_drain && !w->aborted)
        w->on_drain(w, w->drain_arg);
}

void antt_http_req_gone(antt_http_req_t *w)
{
    w->req = NULL;
    if (!w->streaming)
        return; /* the handler answers later; that releases it */
    if (w->on_gone && !w->aborted) {
        antt_http_gone_cb cb = w->on_gone;
        w->on_gone = NULL;
        cb(w, w->gone_arg);
    }
    /* the service lets go of a stream whose client is gone (it may no
     * longer use it), also of one it ended or aborted while a send was
     * in progress: it is released here, or it would be kept, with its
     * unsent bytes, for the life of the process */
    antt_http_release_req(w);
}

static void s_on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    antt_http_req_t *w = (antt_http_req_t *)gen;
    if (w->guard) {
        w->guard->w = NULL;
        w->guard = NULL;
    }
    antt_http_req_gone(w);
}

void antt_http_stream_start(antt_http_req_t *w, int status, const char *content_type,
                            antt_http_gone_cb on_gone, void *arg)
{
    assert(!w->streaming);
    w->streaming = 1;
    w->on_gone = on_gone;
    w->gone_arg = arg;
    if (w->req == NULL)
        return;
    h2o_req_t *req = w->req;
    req->res.status = status;
    req->res.reason = antt_http_reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
                   strlen(content_type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    w->gen.proceed = s_on_proceed;
    w->gen.stop = s_on_stop;
    h2o_start_response(req, &w->gen);
}

int antt_http_stream_write(antt_http_req_t *w, const char *data, size_t len)
{
    assert(w->streaming && !w->ended && !w->aborted);
    if (w->req == NULL)
        return -EPIPE;
    antt_buf_append(&w->pending, data, len);
    if (w->sending)
        return -EAGAIN;
    s_stream_send(w);
    return 0;
}

size_t antt_http_stream_unsent(const antt_http_req_t *w)
{
    return w->inflight.len + w->pending.len;
}

void antt_http_stream_on_drain(antt_http_req_t *w, antt_http_drain_cb cb, void *arg)
{
    w->on_drain = cb;
    w->drain_arg = arg;
}

void antt_http_stream_abort(antt_http_req_t *w)
{
    assert(w->streaming && !w->ended && !w->aborted);
    w->aborted = 1;
    w->on_gone = NULL;
    w->on_drain = NULL;
    antt_buf_cleanup(&w->pending);
    if (w->req == NULL) {
        antt_http_release_req(w);
        return;
    }
    /* the bytes in flight belong to the socket's write until it fails: a
     * shut-down socket fails it at once, h2o closes the connection and
     * disposes the request, and s_gone releases w (on this loop, within
     * an iteration), whether the client ever reads again or not */
    int fd = antt_http_req_fd(w);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    if (!w->sending) {
        /* nothing in flight: end it now (the write fails, or goes nowhere) */
        w->ended = 1;
        s_stream_send(w);
    }
}

void antt_http_stream_end(antt_http_req_t *w)
{
    assert(w->streaming && !w->ended && !w->aborted);
    w->ended = 1;
    if (w->req == NULL) {
        antt_http_release_req(w);
        return;
    }
    if (!w->sending)
        s_stream_send(w);
}
