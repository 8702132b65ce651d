/* antt import FILE: bulk-loads historical incidents through intake's normal
 * path (the gateway ROUTER: durable, idempotent, classified, routed), then
 * records each row's status by the dispatchers' own triage function.
 *
 * FILE is CSV with a header line, or JSON lines (one object per line), with
 * the fields occurred_at (ISO 8601 date-time or YYYY-MM-DD, required),
 * category (required), area_code and/or lat + lon (one required), status
 * (new, acknowledged, resolved or rejected; default resolved), description
 * and address (optional). Every row is checked before anything is sent: one
 * bad row and nothing is imported. Each row's idempotency key is a hash of
 * its text (and of how many identical rows came before it), so running the
 * same import again creates nothing new. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "antt/v1/report.pb-c.h"
#include "antt_categories.h"
#include "antt_config.h"
#include "antt_crypto.h"
#include "antt_util.h"
#include "cli.h"

#define I_WINDOW 256 /* reports in flight */

typedef struct i_row {
    int line;
    char key[80];       /* idempotency key */
    int64_t occurred_ms;
    char *category, *area, *status, *description, *address;
    int has_coords;
    double lat, lon;
    char report_id[40]; /* once accepted */
    int state;          /* 0 to send, 1 in flight, 2 accepted */
    int64_t retry_at_ms;
} i_row_t;

static void s_row_free(i_row_t *r)
{
    free(r->category);
    free(r->area);
    free(r->status);
    free(r->description);
    free(r->address);
}

/* Splits one CSV record (RFC 4180 quoting) into at most max fields, in
 * place. Returns the field count or -1. */
static int s_csv_split(char *s, char **out, int max)
{
    int n = 0;
    char *w = s, *p = s;
    while (n < max) {
        out[n++] = w;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == 0)
                    return -1; /* an unterminated quote */
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
        } else {
            while (*p && *p != ',')
                *w++ = *p++;
        }
        if (*p == ',') {
            *w++ = 0;
            p++;
            w = p;
            continue;
        }
        if (*p != 0)
            return -1; /* text after a closing quote */
        *w = 0;
        return n;
    }
    return -1;
}

static int s_parse_when(const char *s, int64_t *ms)
{
    if (s && strlen(s) == 10) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%sT12:00:00+07:00", s); /* a day: its local noon */
        return antt_parse_time(buf, ms);
    }
    return s ? antt_parse_time(s, ms) : -1;
}

/* Checks and keeps one row's fields; writes why into err and returns -1. */
static int s_row_set(i_row_t *r, const char *occurred, const char *category, const char *area, const char *lat,
                     const char *lon, const char *status, const char *description, const char *address, char *err,
                     size_t errlen)
{
    if (occurred == NULL || s_parse_when(occurred, &r->occurred_ms) != 0) {
        snprintf(err, errlen, "occurred_at must be an ISO 8601 date-time or YYYY-MM-DD");
        return -1;
    }
    if (r->occurred_ms > antt_now_ms() + 60000) {
        snprintf(err, errlen, "occurred_at is in the future");
        return -1;
    }
    if (category == NULL || antt_category_find(category) == NULL) {
        snprintf(err, errlen, "unknown category \"%s\"", category ? category : "");
        return -1;
    }
    if ((lat && *lat) != (lon && *lon)) {
        snprintf(err, errlen, "lat and lon go together");
        return -1;
    }
    if (lat && *lat) {
        char *e1, *e2;
        r->lat = strtod(lat, &e1);
        r->lon = strtod(lon, &e2);
        if (*e1 || *e2 || r->lat < -90 || r->lat > 90 || r->lon < -180 || r->lon > 180) {
            snprintf(err, errlen, "bad coordinates");
            return -1;
        }
        r->has_coords = 1;
    }
    if (!r->has_coords && !(area && *area)) {
        snprintf(err, errlen, "area_code or lat and lon is required");
        return -1;
    }
    const char *st = status && *status ? status : "resolved";
    if (strcmp(st, "new") && strcmp(st, "acknowledged") && strcmp(st, "resolved") && strcmp(st, "rejected")) {
        snprintf(err, errlen, "status must be new, acknowledged, resolved or rejected");
        return -1;
    }
    r->category = antt_xstrdup(category);
    r->area = area && *area ? antt_xstrdup(area) : NULL;
    r->status = antt_xstrdup(st);
    r->description = description && *description
                         ? antt_xstrdup(description)
                         : antt_xasprintf("Vụ việc nhập từ số liệu cũ (%s)", antt_category_find(category)->label_vi);
    r->address = address && *address ? antt_xstrdup(address) : NULL;
    return 0;
}

static const char *s_json_str(json_t *o, const char *k, char *buf, size_t len)
{
    json_t *v = json_object_get(o, k);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_number(v) && buf && len) {
        snprintf(buf, len, "%.10g", json_number_value(v));
        return buf;
    }
    return NULL;
}

/* Reads FILE into rows; returns the count, or -1 after printing every bad
 * line. */
static int s_read(const char *path, i_row_t **rows_out)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "antt import: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, nrows = 0, bad = 0, json = -1, ncols = 0;
    char *cols[16] = {0};
    i_row_t *rows = NULL;
    /* identical rows get keys of their own: the text's hash and its rank */
    typedef struct {
        unsigned char h[16];
        int n;
    } seen_t;
    seen_t *seen = NULL;
    int nseen = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0)
            continue;
        if (json < 0)
            json = line[0] == '{';
        char err[200] = "";
        if (!json && ncols == 0) { /* the header */
            char *f2[16];
            char *copy = antt_xstrdup(line);
            int n = s_csv_split(copy, f2, 16);
            for (int i = 0; i < n; i++)
                cols[i] = antt_xstrdup(f2[i]);
            ncols = n > 0 ? n : -1;
            free(copy);
            if (ncols < 0) {
                fprintf(stderr, "%s:%d: bad CSV header\n", path, lineno);
                bad++;
                break;
            }
            continue;
        }
        rows = antt_xrealloc(rows, sizeof(*rows) * (size_t)(nrows + 1));
        i_row_t *r = &rows[nrows];
        memset(r, 0, sizeof(*r));
        r->line = lineno;
        unsigned char h[16];
        crypto_generichash(h, sizeof(h), (const unsigned char *)line, (size_t)len, NULL, 0);
        int rank = 0;
        for (int i = 0; i < nseen; i++)
            if (!memcmp(seen[i].h, h, sizeof(h))) {
                rank = ++seen[i].n;
                break;
            }
        if (rank == 0) {
            seen = antt_xrealloc(seen, sizeof(*seen) * (size_t)(nseen + 1));
            memcpy(seen[nseen].h, h, sizeof(h));
            seen[nseen++].n = 0;
        }
        char hex[33];
        sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
        snprintf(r->key, sizeof(r->key), "import-%s-%d", hex, rank);
        int rc;
        if (json) {
            json_error_t je;
            json_t *o = json_loadb(line, (size_t)len, 0, &je);
            if (!json_is_object(o)) {
                snprintf(err, sizeof(err), "not a JSON object: %s", je.text);
                rc = -1;
            } else {
                char b1[32], b2[32];
                rc = s_row_set(r, s_json_str(o, "occurred_at", NULL, 0), s_json_str(o, "category", NULL, 0),
                               s_json_str(o, "area_code", NULL, 0), s_json_str(o, "lat", b1, sizeof(b1)),
                               s_json_str(o, "lon", b2, sizeof(b2)), s_json_str(o, "status", NULL, 0),
                               s_json_str(o, "description", NULL, 0), s_json_str(o, "address", NULL, 0), err,
                               sizeof(err));
            }
            json_decref(o);
        } else {
            char *v[16] = {0}, *copy = antt_xstrdup(line);
            int n = s_csv_split(copy, v, 16);
            const char *val[9] = {0};
            static const char *names[9] = {"occurred_at", "category",   "area_code", "lat", "lon",
                                           "status",      "description", "address",  NULL};
            if (n != ncols) {
                snprintf(err, sizeof(err), "%d fields where the header has %d", n, ncols);
                rc = -1;
            } else {
                for (int c = 0; c < n; c++)
                    for (int k = 0; names[k]; k++)
                        if (cols[c] && !strcmp(cols[c], names[k]))
                            val[k] = v[c];
                rc = s_row_set(r, val[0], val[1], val[2], val[3], val[4], val[5], val[6], val[7], err, sizeof(err));
            }
            free(copy);
        }
        if (rc != 0) {
            fprintf(stderr, "%s:%d: %s\n", path, lineno, err);
            s_row_free(r);
            bad++;
            continue;
        }
        nrows++;
    }
    free(line);
    free(seen);
    for (int i = 0; i < 16; i++)
        free(cols[i]);
    fclose(f);
    if (bad) {
        fprintf(stderr, "antt import: %d bad line(s); nothing was imported\n", bad);
        for (int i = 0; i < nrows; i++)
            s_row_free(&rows[i]);
        free(rows);
        return -1;
    }
    *rows_out = rows;
    return nrows;
}

static int s_send(void *s, i_row_t *r, int idx, const char *api_key)
{
    Antt__V1__SubmitReport m = ANTT__V1__SUBMIT_REPORT__INIT;
    Antt__V1__Location loc = ANTT__V1__LOCATION__INIT;
    m.api_key = (char *)api_key;
    m.idempotency_key = r->key;
    m.description = r->description;
    m.service_code = r->category;
    m.has_occurred_at_ms = 1;
    m.occurred_at_ms = r->occurred_ms;
    loc.area_code = r->area;
    loc.address = r->address;
    if (r->has_coords) {
        loc.has_lat = loc.has_lon = 1;
        loc.lat = r->lat;
        loc.lon = r->lon;
    }
    m.location = &loc;
    uint8_t buf[8192];
    size_t len = antt__v1__submit_report__get_packed_size(&m);
    if (len > sizeof(buf))
        return -1;
    antt__v1__submit_report__pack(&m, buf);
    if (zmq_send(s, &idx, sizeof(idx), ZMQ_SNDMORE) < 0 || zmq_send(s, buf, len, 0) < 0)
        return -1;
    r->state = 1;
    return 0;
}

/* Sends every row, I_WINDOW at a time; retries what intake asks to retry.
 * Returns 0 when all were accepted. */
static int s_submit_all(const antt_config_t *cfg, i_row_t *rows, int n, const char *endpoint, const char *api_key)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0, ret = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    if (cli_curve_client(cfg, s, "intake") != 0 || zmq_connect(s, endpoint) != 0) {
        fprintf(stderr, "antt import: cannot connect to %s\n", endpoint);
        zmq_close(s);
        zmq_ctx_term(ctx);
        return -1;
    }
    int accepted = 0, inflight = 0, next = 0;
    int64_t last_reply = antt_now_ms();
    while (accepted < n) {
        int64_t now = antt_now_ms();
        for (int i = next; i < n && inflight < I_WINDOW; i++) {
            if (rows[i].state == 0 && rows[i].retry_at_ms <= now) {
                if (s_send(s, &rows[i], i, api_key) != 0) {
                    fprintf(stderr, "antt import: line %d: could not send\n", rows[i].line);
                    ret = -1;
                    goto out;
                }
                inflight++;
            }
            if (i == next && rows[i].state != 0)
                next++;
        }
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 200) <= 0) {
            if (antt_now_ms() - last_reply > 30000 && inflight > 0) {
                fprintf(stderr, "antt import: intake at %s does not answer\n", endpoint);
                ret = -1;
                goto out;
            }
            continue;
        }
        zmq_msg_t tag, body;
        zmq_msg_init(&tag);
        zmq_msg_init(&body);
        zmq_msg_recv(&tag, s, 0);
        zmq_msg_recv(&body, s, 0);
        last_reply = antt_now_ms();
        int idx = -1;
        if (zmq_msg_size(&tag) == sizeof(int))
            memcpy(&idx, zmq_msg_data(&tag), sizeof(int));
        Antt__V1__SubmitReply *r = antt__v1__submit_reply__unpack(NULL, zmq_msg_size(&body), zmq_msg_data(&body));
        zmq_msg_close(&tag);
        zmq_msg_close(&body);
        if (idx < 0 || idx >= n || r == NULL || rows[idx].state != 1) {
            if (r)
                antt__v1__submit_reply__free_unpacked(r, NULL);
            continue;
        }
        inflight--;
        i_row_t *row = &rows[idx];
        if (r->status == ANTT__V1__SUBMIT_REPLY__STATUS__OK && r->report_id) {
            snprintf(row->report_id, sizeof(row->report_id), "%s", r->report_id);
            row->state = 2;
            if (++accepted % 1000 == 0)
                fprintf(stderr, "antt import: %d/%d accepted\n", accepted, n);
        } else if (r->status == ANTT__V1__SUBMIT_REPLY__STATUS__RATE_LIMITED ||
                   r->status == ANTT__V1__SUBMIT_REPLY__STATUS__UNAVAILABLE) {
            row->state = 0;
            row->retry_at_ms = antt_now_ms() + (r->retry_after_s ? r->retry_after_s * 1000 : 500);
            if (idx < next)
                next = idx;
        } else {
            fprintf(stderr, "antt import: line %d refused: %s (%s)\n", row->line, r->error ? r->error : "",
                    r->error_code ? r->error_code : "?");
            ret = -1;
            antt__v1__submit_reply__free_unpacked(r, NULL);
            goto out;
        }
        antt__v1__submit_reply__free_unpacked(r, NULL);
    }
out:
    zmq_close(s);
    zmq_ctx_term(ctx);
    return ret;
}

/* Waits for every report's incident, then brings each new incident to its
 * row's status by antt_triage (as the given dispatcher). */
static int s_statuses(PGconn *c, i_row_t *rows, int n, const char *token)
{
    uint8_t hash[ANTT_HASH_BYTES];
    antt_api_key_hash(token, strlen(token), hash);
    int done = 0, failed = 0;
    int64_t deadline = antt_now_ms() + 120000;
    while (done < n && antt_now_ms() < deadline) {
        int progressed = 0;
        for (int i = 0; i < n; i++) {
            i_row_t *r = &rows[i];
            if (r->state != 2)
                continue;
            const char *v[1] = {r->report_id};
            PGresult *q = PQexecParams(c,
                                       "SELECT i.id, i.status FROM incident_reports l JOIN incidents i ON i.id = l.incident_id"
                                       " WHERE l.report_id = $1::uuid",
                                       1, NULL, v, NULL, NULL, 0);
            if (PQresultStatus(q) != PGRES_TUPLES_OK || PQntuples(q) != 1) {
                PQclear(q);
                continue; /* not classified yet */
            }
            char id[40];
            snprintf(id, sizeof(id), "%s", PQgetvalue(q, 0, 0));
            int fresh = !strcmp(PQgetvalue(q, 0, 1), "new");
            PQclear(q);
            r->state = 3;
            done++;
            progressed = 1;
            if (!fresh || !strcmp(r->status, "new"))
                continue; /* already triaged (an earlier run) or meant to stay new */
            static const char *steps_ack[] = {"acknowledge", NULL};
            static const char *steps_res[] = {"resolve", NULL};
            static const char *steps_rej[] = {"reject", NULL};
            const char **steps = !strcmp(r->status, "acknowledged") ? steps_ack
                                 : !strcmp(r->status, "resolved")   ? steps_res
                                                                    : steps_rej;
            for (int k = 0; steps[k]; k++) {
                const char *args = !strcmp(steps[k], "resolve")  ? "{\"outcome\":\"imported\",\"note\":\"nhập từ số liệu cũ\"}"
                                   : !strcmp(steps[k], "reject") ? "{\"outcome\":\"unfounded\",\"note\":\"nhập từ số liệu cũ\"}"
                                                                 : "{}";
                const char *tv[4] = {(const char *)hash, steps[k], id, args};
                int lens[4] = {ANTT_HASH_BYTES, 0, 0, 0}, fmts[4] = {1, 0, 0, 0};
                PGresult *t = PQexecParams(c, "SELECT count(*) FROM antt_triage($1::bytea, $2, $3::uuid, $4::jsonb)", 4,
                                           NULL, tv, lens, fmts, 0);
                if (PQresultStatus(t) != PGRES_TUPLES_OK) {
                    const char *msg = PQresultErrorField(t, PG_DIAG_MESSAGE_PRIMARY);
                    fprintf(stderr, "antt import: line %d: %s: %s\n", r->line, steps[k], msg ? msg : "failed");
                    failed++;
                }
                PQclear(t);
            }
        }
        if (!progressed && done < n) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL); /* polling the database for classification, with a deadline */
        }
    }
    if (done < n) {
        fprintf(stderr, "antt import: %d report(s) not classified within 120 s; run the import again later\n", n - done);
        return -1;
    }
    return failed ? -1 : 0;
}

int cli_import(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"zmq", required_argument, NULL, 'z'},
                                         {"token", required_argument, NULL, 't'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *key = getenv("ANTT_API_KEY"), *zep = NULL, *token = getenv("ANTT_TOKEN"), *cfgp = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (o) {
        case 'k': key = optarg; break;
        case 'z': zep = optarg; break;
        case 't': token = optarg; break;
        case 'c': cfgp = optarg; break;
        case 'h':
            printf("usage: antt import FILE --key API_KEY [--token DISPATCHER_TOKEN] [--zmq ENDPOINT]\n"
                   "FILE: CSV with a header, or JSON lines; fields occurred_at, category, area_code\n"
                   "and/or lat + lon, status (new|acknowledged|resolved|rejected, default resolved),\n"
                   "description, address. Reports go through intake's gateway socket; statuses are\n"
                   "recorded by the dispatcher whose token is given (ANTT_TOKEN). Safe to run again.\n");
            return 0;
        default: return 2;
        }
    }
    if (optind >= argc || key == NULL) {
        fprintf(stderr, "antt import: FILE and --key are required (antt import --help)\n");
        return 2;
    }
    i_row_t *rows = NULL;
    int n = s_read(argv[optind], &rows);
    if (n < 0)
        return 1;
    int needs_token = 0;
    for (int i = 0; i < n; i++)
        needs_token |= strcmp(rows[i].status, "new") != 0;
    int ret = 1;
    antt_config_t *cfg = cli_config(cfgp);
    PGconn *c = NULL;
    if (cfg == NULL)
        goto out;
    if (needs_token && (token == NULL || !*token)) {
        fprintf(stderr, "antt import: rows with a status need --token (a dispatcher of their desks or above)\n");
        goto out;
    }
    if (needs_token && (c = cli_connect(cfgp)) == NULL)
        goto out;
    if (zep == NULL)
        zep = antt_config_get(cfg, "intake.gateway_endpoint", "tcp://127.0.0.1:5550");
    if (s_submit_all(cfg, rows, n, zep, key) != 0)
        goto out;
    fprintf(stderr, "antt import: %d report(s) accepted\n", n);
    if (needs_token && s_statuses(c, rows, n, token) != 0)
        goto out;
    printf("imported %d incident(s) from %s\n", n, argv[optind]);
    ret = 0;
out:
    for (int i = 0; i < n; i++)
        s_row_free(&rows[i]);
    free(rows);
    if (c)
        PQfinish(c);
    antt_config_destroy(&cfg);
    return ret;
}
