/* intake_gateways: cached gateways and area codes. */
#include "intake_gateways.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "antt_log.h"
#include "antt_util.h"

struct intake_gateways_s {
    uv_loop_t *loop;          /* loop */
    antt_db_t *db;            /* connection for refreshes */
    uv_timer_t timer;         /* refresh timer */
    long refresh_ms;          /* refresh period */
    intake_gateway_t *gw;     /* gateways */
    size_t ngw;               /* count */
    char **areas;             /* sorted area codes */
    size_t nareas;            /* count */
    int loaded;               /* a load succeeded */
    int loading;              /* a load is in flight */
    int closing;              /* close requested */
    uint64_t last_load_ns;    /* when the last load was sent */
    antt_curve_t *curve;      /* ZAP handler told the gateways' keys, or NULL */
    intake_gateways_revoked_cb revoked; /* a key admitted before is not now */
    void *revoked_arg;        /* its argument */
};

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void s_on_load(antt_db_job_t *job, int status, void *arg)
{
    intake_gateways_t *g = arg;
    g->loading = 0;
    if (g->closing) {
        if (g->timer.data == NULL)
            free(g);
        return;
    }
    if (status != 0) {
        ANTT_LOG(ANTT_WARN, "could not load gateways: %s",
                 antt_db_job_error(job) ? antt_db_job_error(job) : "connection lost");
        return;
    }
    PGresult *gr = antt_db_job_result(job, 0), *ar = antt_db_job_result(job, 1);
    size_t n = (size_t)PQntuples(gr);
    intake_gateway_t *gw = antt_xcalloc(n ? n : 1, sizeof(*gw));
    for (size_t i = 0; i < n; i++) {
        gw[i].id = atoi(PQgetvalue(gr, (int)i, 0));
        snprintf(gw[i].code, sizeof(gw[i].code), "%s", PQgetvalue(gr, (int)i, 1));
        const char *hex = PQgetvalue(gr, (int)i, 2);
        sodium_hex2bin(gw[i].key_hash, ANTT_HASH_BYTES, hex, strlen(hex), NULL, NULL, NULL);
        gw[i].rate_per_s = atof(PQgetvalue(gr, (int)i, 3));
        gw[i].burst = atof(PQgetvalue(gr, (int)i, 4));
        gw[i].active = PQgetvalue(gr, (int)i, 5)[0] == 't';
        gw[i].may_import = PQgetvalue(gr, (int)i, 7)[0] == 't';
        for (size_t k = 0; k < g->ngw; k++)
            if (g->gw[k].id == gw[i].id)
                gw[i].bucket = g->gw[k].bucket;
    }
    /* the ZAP handler admits the active gateways' CURVE keys */
    const char **keys = antt_xcalloc(n ? n : 1, sizeof(*keys)), **codes = antt_xcalloc(n ? n : 1, sizeof(*codes));
    size_t nk = 0;
    for (size_t i = 0; i < n; i++) {
        if (!gw[i].active || PQgetisnull(gr, (int)i, 6))
            continue;
        keys[nk] = PQgetvalue(gr, (int)i, 6);
        codes[nk++] = gw[i].code;
    }
    size_t gone = antt_curve_set_gateways(g->curve, keys, codes, nk);
    if (gone > 0) {
        ANTT_LOG(ANTT_INFO, "gateway CURVE keys revoked=%zu: ending their sessions", gone);
        if (g->revoked)
            g->revoked(g->revoked_arg);
    }
    free(keys);
    free(codes);
    free(g->gw);
    g->gw = gw;
    g->ngw = n;

    for (size_t i = 0; i < g->nareas; i++)
        free(g->areas[i]);
    free(g->areas);
    g->nareas = (size_t)PQntuples(ar);
    g->areas = antt_xcalloc(g->nareas ? g->nareas : 1, sizeof(char *));
    for (size_t i = 0; i < g->nareas; i++)
        g->areas[i] = antt_xstrdup(PQgetvalue(ar, (int)i, 0));
    qsort(g->areas, g->nareas, sizeof(char *), s_cmp);
    if (!g->loaded)
        ANTT_LOG(ANTT_INFO, "loaded gateways=%zu areas=%zu", g->ngw, g->nareas);
    g->loaded = 1;
}

static void s_load(intake_gateways_t *g)
{
    if (g->loading || !antt_db_connected(g->db))
        return;
    antt_db_job_t *job = antt_db_job_new(s_on_load, g);
    antt_db_job_add(job,
                    "SELECT id, code, encode(api_key_hash, 'hex'), rate_per_s, burst, active, curve_public,"
                    " may_import FROM gateways",
                    0, NULL, NULL, NULL);
    antt_db_job_add(job,
                    "SELECT code FROM areas WHERE valid_to IS NULL OR valid_to > current_date",
                    0, NULL, NULL, NULL);
    if (antt_db_submit(g->db, job) == 0) {
        g->loading = 1;
        g->last_load_ns = antt_mono_ns();
    }
}

static void s_on_timer(uv_timer_t *t)
{
    s_load(t->data);
}

intake_gateways_t *intake_gateways_new(uv_loop_t *loop, antt_db_t *db, long refresh_ms)
{
    intake_gateways_t *g = antt_xcalloc(1, sizeof(*g));
    g->loop = loop;
    g->db = db;
    g->refresh_ms = refresh_ms;
    uv_timer_init(loop, &g->timer);
    g->timer.data = g;
    return g;
}

void intake_gateways_set_curve(intake_gateways_t *g, antt_curve_t *curve, intake_gateways_revoked_cb revoked,
                               void *arg)
{
    g->curve = curve;
    g->revoked = revoked;
    g->revoked_arg = arg;
}

void intake_gateways_start(intake_gateways_t *g)
{
    /* the first loads retry quickly until one succeeds */
    s_load(g);
    uv_timer_start(&g->timer, s_on_timer, 200, (uint64_t)g->refresh_ms);
}

int intake_gateways_loaded(const intake_gateways_t *g)
{
    return g->loaded;
}

intake_gateway_t *intake_gateways_auth(intake_gateways_t *g, const char *api_key, size_t len)
{
    uint8_t h[ANTT_HASH_BYTES];
    if (api_key == NULL || len == 0)
        return NULL;
    antt_api_key_hash(api_key, len, h);
    for (size_t i = 0; i < g->ngw; i++)
        if (sodium_memcmp(g->gw[i].key_hash, h, ANTT_HASH_BYTES) == 0)
            return g->gw[i].active ? &g->gw[i] : NULL;
    /* an unknown key may belong to a gateway added since the last load:
     * reload soon (at most every 2 s) rather than at the next period */
    if (antt_mono_ns() - g->last_load_ns > 2000000000u)
        s_load(g);
    return NULL;
}

int intake_gateways_area_known(const intake_gateways_t *g, const char *code)
{
    return bsearch(&code, g->areas, g->nareas, sizeof(char *), s_cmp) != NULL;
}

static void s_timer_closed(uv_handle_t *h)
{
    intake_gateways_t *g = h->data;
    free(g->gw);
    for (size_t i = 0; i < g->nareas; i++)
        free(g->areas[i]);
    free(g->areas);
    g->gw = NULL;
    g->areas = NULL;
    g->timer.data = NULL;
    if (!g->loading)
        free(g);
}

void intake_gateways_close(intake_gateways_t *g)
{
    if (g == NULL)
        return;
    g->closing = 1;
    uv_close((uv_handle_t *)&g->timer, s_timer_closed);
}
