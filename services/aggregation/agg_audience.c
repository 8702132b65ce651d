/* agg_audience: who sees what of the trends (docs/decisions.md, "Two
 * audiences"). A request that presents a dashboard token (antt_token) is
 * staff's: checked against dashboard_tokens, it sees the token's area and
 * everything below it, live and in full; any other area is 403, an unknown
 * or revoked token 401. A request without one is the public's, which sees
 * no figure of 1 .. k-1 incidents and no neighbourhood's figure younger
 * than the delay: the live state's keys pass agg_public_show (pure, its
 * own unit test), the database's figures the antt_public_* functions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_int.h"
#include "antt_http_gate.h"
#include "antt_token.h"

agg_show_t agg_public_show(const agg_public_t *p, int fine, int64_t count, int64_t prev)
{
    if (fine)
        return AGG_SHOW_NONE; /* a neighbourhood's figures are the API's, delayed */
    if (count >= p->min_count)
        return AGG_SHOW_COUNT;
    if (prev < p->min_count)
        return AGG_SHOW_NONE; /* what the viewer saw has not changed */
    return count == 0 ? AGG_SHOW_COUNT : AGG_SHOW_SUPPRESSED;
}

int agg_public_snapshot_shows(const agg_public_t *p, int fine, int64_t count)
{
    return !fine && count >= p->min_count;
}

typedef struct a_resolve {
    antt_http_req_t *req;      /* the request */
    agg_audience_cb cb;        /* what to do once it is known */
    void *arg;                 /* cb's */
    void (*release)(void *);   /* frees arg when the request was answered here */
    uint8_t hash[ANTT_HASH_BYTES]; /* the token's */
} a_resolve_t;

static void s_refuse(a_resolve_t *r, int code, const char *err, const char *msg)
{
    antt_http_json_error(r->req, code, err, msg);
    if (r->release)
        r->release(r->arg);
}

static void s_on_scope(antt_db_job_t *job, int status, void *arg)
{
    a_resolve_t *r = arg;
    PGresult *res = status == 0 ? antt_db_job_result(job, 0) : NULL;
    if (res == NULL) {
        s_refuse(r, 503, "unavailable", "database unavailable");
    } else if (PQntuples(res) != 1) {
        s_refuse(r, 401, "unauthorized", "unknown or revoked dashboard token");
    } else if (PQgetvalue(res, 0, 1)[0] != 't') {
        char msg[160];
        snprintf(msg, sizeof(msg), "the dashboard token is for %s: this area is outside it", PQgetvalue(res, 0, 0));
        s_refuse(r, 403, "forbidden", msg);
    } else {
        r->cb(r->req, PQgetvalue(res, 0, 0), r->hash, r->arg);
    }
    free(r);
}

void agg_audience_resolve(agg_svc_t *a, antt_http_req_t *req, const char *area, int query_ok, agg_audience_cb cb,
                          void *arg, void (*release)(void *))
{
    char token[ANTT_TOKEN_MAX + 1];
    a_resolve_t *r = antt_xcalloc(1, sizeof(*r));
    r->req = req;
    r->cb = cb;
    r->arg = arg;
    r->release = release;
    if (!antt_token_from_request(req, query_ok, token, sizeof(token))) {
        free(r);
        cb(req, NULL, NULL, arg);
        return;
    }
    if (!token[0]) {
        s_refuse(r, 401, "unauthorized", "unknown or revoked dashboard token");
        free(r);
        return;
    }
    antt_token_hash(token, r->hash);
    const char *v[2] = {(const char *)r->hash, area};
    int lens[2] = {ANTT_HASH_BYTES, 0}, fmts[2] = {1, 0};
    antt_db_job_t *job = antt_db_job_new(NULL, NULL);
    antt_db_job_add(job, "SELECT token_area, allowed FROM antt_dashboard_scope($1::bytea, $2::text)", 2, v, lens, fmts);
    if (antt_http_gate_run(req, a->qdb, job, s_on_scope, r) != 0) {
        if (release)
            release(arg); /* answered 503 */
        free(r);
    }
}
