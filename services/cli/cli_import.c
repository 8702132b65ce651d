/* antt import FILE: bulk-loads historical incidents through intake's normal
 * path (the gateway ROUTER: durable, idempotent, routed), as history: each
 * row's category, priority and status are facts (SubmitReport.imported),
 * which classification records as they are instead of classifying the text.
 * The API key must be a gateway's that may import (antt gateway add
 * --import). Then it waits until every row is an incident and checks that
 * each holds its row's category, priority and status.
 *
 * FILE is CSV with a header line, or JSON lines (one object per line), with
 * the fields occurred_at (ISO 8601 date-time or YYYY-MM-DD, required),
 * category (required), area_code and/or lat + lon (one required), priority
 * (1-4 or P1-P4; default 3: a past crime reported after the fact), status
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
#include "antt_util.h"
#include "cli.h"

#define I_WINDOW 256 /* reports in flight */

typedef struct i_row {
    int line;
    char key[80];       /* idempotency key */
    int64_t occurred_ms;
    int priority;       /* 1..4 */
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
                     const char *lon, const char *status, const char *description, const char *address,
                     const char *priority, char *err, size_t errlen)
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
    const char *pr = priority && *priority ? priority : "3";
    if ((pr[0] == 'P' || pr[0] == 'p') && pr[1])
        pr++;
    if (pr[0] < '1' || pr[0] > '4' || pr[1] != '\0') {
        snprintf(err, errlen, "priority must be 1, 2, 3 or 4 (or P1 to P4)");
        return -1;
    }
    r->priority = pr[0] - '0';
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
                char b1[32], b2[32], b3[32];
                rc = s_row_set(r, s_json_str(o, "occurred_at", NULL, 0), s_json_str(o, "category", NULL, 0),
                               s_json_str(o, "area_code", NULL, 0), s_json_str(o, "lat", b1, sizeof(b1)),
                               s_json_str(o, "lon", b2, sizeof(b2)), s_json_str(o, "status", NULL, 0),
                               s_json_str(o, "description", NULL, 0), s_json_str(o, "address", NULL, 0),
                               s_json_str(o, "priority", b3, sizeof(b3)), err, sizeof(err));
            }
            json_decref(o);
        } else {
            char *v[16] = {0}, *copy = antt_xstrdup(line);
            int n = s_csv_split(copy, v, 16);
            const char *val[10] = {0};
            static const char *names[10] = {"occurred_at", "category",    "area_code", "lat",      "lon",
                                            "status",      "description", "address",   "priority", NULL};
            if (n != ncols) {
                snprintf(err, sizeof(err), "%d fields where the header has %d", n, ncols);
                rc = -1;
            } else {
                for (int c = 0; c < n; c++)
                    for (int k = 0; names[k]; k++)
                        if (cols[c] && !strcmp(cols[c], names[k]))
                            val[k] = v[c];
                rc = s_row_set(r, val[0], val[1], val[2], val[3], val[4], val[5], val[6], val[7], val[8], err,
                               sizeof(err));
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
    /* history: the row's category, priority and status are facts */
    m.has_imported = 1;
    m.imported = 1;
    m.has_imported_priority = 1;
    m.imported_priority = (uint32_t)r->priority;
    m.imported_status = r->status;
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
        } else if (r->error_code && !strcmp(r->error_code, "import_not_allowed")) {
            fprintf(stderr, "antt import: this API key's gateway may not import history; allow it with"
                            " antt gateway add CODE NAME --import (import_not_allowed)\n");
            ret = -1;
            antt__v1__submit_reply__free_unpacked(r, NULL);
            goto out;
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

/* Waits (up to 120 s) until every accepted report is an incident, and checks
 * that each incident holds its row's category, priority and status (one
 * that does not was recorded otherwise, e.g. by an import before history was
 * kept as fact). Returns 0 when all do. */
static int s_confirm(PGconn *c, i_row_t *rows, int n)
{
    int done = 0, differ = 0;
    int64_t deadline = antt_now_ms() + 120000;
    while (done < n && antt_now_ms() < deadline) {
        /* the rows still waiting, a page at a time */
        antt_buf_t ids;
        antt_buf_init(&ids);
        antt_buf_puts(&ids, "{");
        int asked = 0;
        for (int i = 0; i < n && asked < 1000; i++)
            if (rows[i].state == 2)
                antt_buf_printf(&ids, asked++ ? ",%s" : "%s", rows[i].report_id);
        antt_buf_puts(&ids, "}");
        const char *v[1] = {ids.data};
        PGresult *q = PQexecParams(c,
                                   "SELECT l.report_id, i.category, i.priority, i.status FROM incident_reports l"
                                   " JOIN incidents i ON i.id = l.incident_id WHERE l.report_id = ANY($1::uuid[])",
                                   1, NULL, v, NULL, NULL, 0);
        antt_buf_cleanup(&ids);
        if (PQresultStatus(q) != PGRES_TUPLES_OK) {
            fprintf(stderr, "antt import: could not read incidents: %s", PQresultErrorMessage(q));
            PQclear(q);
            return -1;
        }
        int got = PQntuples(q);
        for (int k = 0; k < got; k++) {
            const char *id = PQgetvalue(q, k, 0);
            for (int i = 0; i < n; i++) {
                i_row_t *r = &rows[i];
                if (r->state != 2 || strcmp(r->report_id, id) != 0)
                    continue;
                r->state = 3;
                done++;
                const char *cat = PQgetvalue(q, k, 1), *st = PQgetvalue(q, k, 3);
                int prio = atoi(PQgetvalue(q, k, 2));
                if (strcmp(cat, r->category) || prio != r->priority || strcmp(st, r->status)) {
                    fprintf(stderr, "antt import: line %d: the incident is %s P%d %s, not %s P%d %s\n", r->line, cat,
                            prio, st, r->category, r->priority, r->status);
                    differ++;
                }
                break;
            }
        }
        PQclear(q);
        if (got == 0 && done < n) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL); /* polling the database for classification, with a deadline */
        }
    }
    if (done < n) {
        fprintf(stderr, "antt import: %d report(s) not recorded as incidents within 120 s; run the import again later\n",
                n - done);
        return -1;
    }
    if (differ) {
        fprintf(stderr, "antt import: %d incident(s) differ from their rows\n", differ);
        return -1;
    }
    return 0;
}

int cli_import(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"zmq", required_argument, NULL, 'z'},
                                         {"token", required_argument, NULL, 't'},
                                         {"no-wait", no_argument, NULL, 'n'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *key = getenv("ANTT_API_KEY"), *zep = NULL, *cfgp = NULL;
    int o, wait = 1;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (o) {
        case 'k': key = optarg; break;
        case 'z': zep = optarg; break;
        case 't': break; /* statuses no longer go through triage: accepted for old scripts */
        case 'n': wait = 0; break;
        case 'c': cfgp = optarg; break;
        case 'h':
            printf("usage: antt import FILE --key API_KEY [--zmq ENDPOINT] [--no-wait]\n"
                   "FILE: CSV with a header, or JSON lines; fields occurred_at, category, area_code\n"
                   "and/or lat + lon, priority (1-4 or P1-P4, default 3), status\n"
                   "(new|acknowledged|resolved|rejected, default resolved), description, address.\n"
                   "Rows are history: each incident gets exactly its row's category, priority and\n"
                   "status (the text is not classified, no duplicates are merged). API_KEY is a\n"
                   "gateway's allowed to import (antt gateway add CODE NAME --import). Reports go\n"
                   "through intake's gateway socket; then the import waits until every row is an\n"
                   "incident and checks it (db.conninfo), unless --no-wait. Safe to run again.\n"
                   "(--token is accepted and ignored: statuses no longer need a dispatcher.)\n");
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
    int ret = 1;
    antt_config_t *cfg = cli_config(cfgp);
    PGconn *c = NULL;
    if (cfg == NULL)
        goto out;
    if (wait && (c = cli_connect(cfgp)) == NULL)
        goto out;
    if (zep == NULL)
        zep = antt_config_get(cfg, "intake.gateway_endpoint", "tcp://127.0.0.1:5550");
    if (s_submit_all(cfg, rows, n, zep, key) != 0)
        goto out;
    fprintf(stderr, "antt import: %d report(s) accepted\n", n);
    if (wait && s_confirm(c, rows, n) != 0)
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
