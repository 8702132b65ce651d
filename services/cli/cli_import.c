/* antt import FILE: bulk-loads historical incidents through intake's normal
 * path (the gateway ROUTER: durable, idempotent, routed), as history: each
 * row's category, priority and status are facts (SubmitReport.imported),
 * which classification records as they are instead of classifying the text.
 * The API key must be a gateway's that may import (antt gateway add
 * --import). Then it waits until every row is an incident and checks that
 * each holds its row's category, priority and status.
 *
 * FILE is read by cli_import_read.c (its fields are listed there and in
 * --help); every row is checked before anything is sent: one bad row and
 * nothing is imported. Each row's idempotency key is a hash of its text
 * (and of how many identical rows came before it), so running the same
 * import again creates nothing new, and says so ("0 new, N already
 * imported"). Once the rows are incidents, the solved outcomes of the rows
 * are recorded on them, and the area the rows have in common is covered by
 * data from 1 January of the first row's year (--covers, --covers-from). */
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
#include "cli_import.h"

#define I_WINDOW 256 /* reports in flight */

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
            row->replayed = r->has_replayed && r->replayed;
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

/* Records the solved outcomes of the rows on their incidents, then the
 * import's coverage. Returns 0, or -1 after saying what failed. */
static int s_record_facts(PGconn *c, i_row_t *rows, int n, const char *covers, const char *covers_from)
{
    int solved = 0;
    for (int i = 0; i < n; i++) {
        i_row_t *r = &rows[i];
        if (!r->solved)
            continue;
        char arrested[16];
        snprintf(arrested, sizeof(arrested), "%d", r->arrested);
        const char *v[3] = {r->report_id, r->solved_on[0] ? r->solved_on : NULL, r->arrested >= 0 ? arrested : NULL};
        PGresult *q = PQexecParams(c, "SELECT antt_import_outcome($1::uuid, 'solved', $2::date, $3::integer)", 3, NULL,
                                   v, NULL, NULL, 0);
        if (PQresultStatus(q) != PGRES_TUPLES_OK) {
            fprintf(stderr, "antt import: line %d: could not record the outcome: %s", r->line, PQresultErrorMessage(q));
            PQclear(q);
            return -1;
        }
        solved += atoi(PQgetvalue(q, 0, 0));
        PQclear(q);
    }
    if (solved)
        fprintf(stderr, "antt import: %d solved outcome(s) recorded\n", solved);
    antt_buf_t ids;
    antt_buf_init(&ids);
    antt_buf_puts(&ids, "{");
    for (int i = 0; i < n; i++)
        antt_buf_printf(&ids, i ? ",%s" : "%s", rows[i].report_id);
    antt_buf_puts(&ids, "}");
    const char *v[3] = {ids.data, covers, covers_from};
    PGresult *q = PQexecParams(c, "SELECT area_code, covered_from FROM antt_coverage_import($1::uuid[], $2, $3::date)",
                               3, NULL, v, NULL, NULL, 0);
    antt_buf_cleanup(&ids);
    if (PQresultStatus(q) != PGRES_TUPLES_OK) {
        fprintf(stderr, "antt import: could not record the coverage: %s", PQresultErrorMessage(q));
        PQclear(q);
        return -1;
    }
    if (PQntuples(q) == 1)
        fprintf(stderr, "antt import: %s has data from %s\n", PQgetvalue(q, 0, 0), PQgetvalue(q, 0, 1));
    PQclear(q);
    return 0;
}

int cli_import(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"zmq", required_argument, NULL, 'z'},
                                         {"token", required_argument, NULL, 't'},
                                         {"no-wait", no_argument, NULL, 'n'},
                                         {"covers", required_argument, NULL, 'a'},
                                         {"covers-from", required_argument, NULL, 'f'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *key = getenv("ANTT_API_KEY"), *zep = NULL, *cfgp = NULL, *covers = NULL, *covers_from = NULL;
    int o, wait = 1;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (o) {
        case 'k': key = optarg; break;
        case 'z': zep = optarg; break;
        case 't': break; /* statuses no longer go through triage: accepted for old scripts */
        case 'n': wait = 0; break;
        case 'a': covers = optarg; break;
        case 'f': covers_from = optarg; break;
        case 'c': cfgp = optarg; break;
        case 'h':
            printf("usage: antt import FILE --key API_KEY [--zmq ENDPOINT] [--no-wait]\n"
                   "                   [--covers AREA] [--covers-from YYYY-MM-DD]\n"
                   "FILE: CSV with a header line (RFC 4180: a quoted field may hold commas, \"\" and\n"
                   "newlines), or JSON lines. Fields: occurred_at (YYYY-MM-DD, or an ISO 8601\n"
                   "date-time; without a zone it is the area's local time, Asia/Ho_Chi_Minh, UTC+7:\n"
                   "2023-12-31T20:00:00 is in 2023), category, area_code and/or lat + lon, priority\n"
                   "(1-4 or P1-P4, default 3), status (new|acknowledged|resolved|rejected, default\n"
                   "resolved), description, address, outcome (solved: điều tra làm rõ, with status\n"
                   "resolved), solved_on (YYYY-MM-DD), arrested (suspects arrested).\n"
                   "Rows are history: each incident gets exactly its row's category, priority and\n"
                   "status (the text is not classified, no duplicates are merged). API_KEY is a\n"
                   "gateway's allowed to import (antt gateway add CODE NAME --import). Reports go\n"
                   "through intake's gateway socket; then the import waits until every row is an\n"
                   "incident and checks it (db.conninfo), unless --no-wait, records the solved\n"
                   "outcomes, and records that the area the rows have in common (--covers) has data\n"
                   "from 1 January of the first row's year (--covers-from); before that, a summary\n"
                   "says \"chưa có số liệu\". Safe to run again: it says how many rows were new.\n"
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
    int n = cli_import_read(argv[optind], &rows);
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
    if (wait && (s_confirm(c, rows, n) != 0 || s_record_facts(c, rows, n, covers, covers_from) != 0))
        goto out;
    int replayed = 0;
    for (int i = 0; i < n; i++)
        replayed += rows[i].replayed;
    printf("%s: %d new, %d already imported\n", argv[optind], n - replayed, replayed);
    ret = 0;
out:
    for (int i = 0; i < n; i++)
        cli_import_row_free(&rows[i]);
    free(rows);
    if (c)
        PQfinish(c);
    antt_config_destroy(&cfg);
    return ret;
}
