/* A dispatcher's correction: bad values and other desks change nothing; a
 * correction is one event, a row for training, a new deadline, a feed
 * update, a webhook message, and the trend counters move from the old
 * category to the new (part of test_triage). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "antt_categories.h"
#include "antt_util.h"
#include "triage_env.h"

static Antt__V1__TriageReply *s_reclassify(const char *token, const char *id, const char *category, int has_prio,
                                           int prio, const char *reason)
{
    Antt__V1__TriageCommand c = ANTT__V1__TRIAGE_COMMAND__INIT;
    c.has_action = 1;
    c.action = ANTT__V1__TRIAGE_ACTION__ACTION_RECLASSIFY;
    c.incident_id = (char *)id;
    c.category = (char *)category;
    c.has_priority = has_prio;
    c.priority = prio;
    c.reason = (char *)reason;
    Antt__V1__TriageReply *r = at_desk_triage(&TE.d, token, &c);
    assert_non_null(r);
    return r;
}

static const char *s_trend_id;
static long s_trend_theft, s_trend_fraud;
static long s_trend_n(const char *category)
{
    char *sql = antt_xasprintf("SELECT COALESCE(sum(n1 + n2 + n3 + n4), 0) FROM trend_counts c JOIN incidents i"
                               " ON c.area_code = i.area_code WHERE i.id = '%s' AND c.grain = 'd' AND c.category = '%s'",
                               s_trend_id, category);
    long n = at_db_long(TE.db, sql);
    free(sql);
    return n;
}

static int s_counted_as(void *arg)
{
    char *sql = antt_xasprintf("SELECT count(*) FROM trend_contributions WHERE incident_id = '%s' AND category = '%s'",
                               s_trend_id, (const char *)arg);
    long n = at_db_long(TE.db, sql);
    free(sql);
    return n == 1;
}

static int s_moved(void *arg)
{
    (void)arg;
    return s_trend_n("theft") == s_trend_theft - 1 && s_trend_n("fraud") == s_trend_fraud + 1;
}

/* Reclassify: bad values and other desks change nothing; a correction is
 * one event, a row for training, a new deadline, a feed update, a webhook
 * message, and the trend counters move from the old category to the new. */
void test_reclassify(void **state)
{
    (void)state;
    /* the categories SQL checks are those of the C code */
    PGresult *cr = PQexec(TE.db, "SELECT array_to_string(antt_category_codes(), ' ')");
    antt_buf_t want;
    antt_buf_init(&want);
    for (int k = 0; k < antt_categories_count; k++)
        antt_buf_printf(&want, "%s%s", k ? " " : "", antt_categories[k].code);
    assert_string_equal(PQgetvalue(cr, 0, 0), want.data);
    antt_buf_cleanup(&want);
    PQclear(cr);

    char *id = at_desk_incident(&TE.d, "description=bi%20trom%20xe%20dap%20dien%20truoc%20nha&lat=10.7850&long=106.6280",
                                NULL);
    assert_int_equal(te_count("SELECT count(*) FROM incidents WHERE id = '%s' AND category = 'theft' AND status = 'new'"
                             " AND priority > 2",
                             id),
                     1);
    char *sql = antt_xasprintf("UPDATE incidents SET needs_review = true, review_reasons = '{ambiguous}' WHERE id = '%s'",
                               id);
    at_db_exec(TE.db, sql);
    free(sql);
    s_trend_id = id;
    assert_true(at_wait_until(s_counted_as, "theft", 15000));
    s_trend_theft = s_trend_n("theft");
    s_trend_fraud = s_trend_n("fraud");
    long v0 = te_count("SELECT version FROM incidents WHERE id = '%s'", id);

    /* refused, and nothing changes */
    struct {
        const char *token, *category;
        int has_prio, prio;
        st_t want;
    } bad[] = {{"tok-ward", "thefft", 0, 0, BAD},  {"tok-ward", NULL, 1, 5, BAD}, {"tok-ward", NULL, 1, 0, BAD},
               {"tok-ward", NULL, 1, -1, BAD},     {"tok-ward", NULL, 0, 0, BAD}, {"tok-ward", "", 0, 0, BAD},
               {"tok-other", "fraud", 1, 2, NF}};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        Antt__V1__TriageReply *r = s_reclassify(bad[k].token, id, bad[k].category, bad[k].has_prio, bad[k].prio, "x");
        if (r->status != bad[k].want)
            fail_msg("bad reclassify %zu: status %d (%s)", k, r->status, r->error ? r->error : "");
        antt__v1__triage_reply__free_unpacked(r, NULL);
    }
    const char *bodies[] = {"{\"priority\": \"2\"}", "{\"priority\": 9}", "{}", "{\"category\": \"nope\"}",
                            "{\"category\": 7}", "{\"category\": \"fraud\", \"why\": \"x\"}"};
    char *path = antt_xasprintf("/api/v1/incidents/%s/reclassify", id);
    for (size_t k = 0; k < sizeof(bodies) / sizeof(bodies[0]); k++)
        assert_int_equal(at_desk_http(&TE.d, "tok-ward", "POST", path, bodies[k], NULL), 400);
    assert_int_equal(at_desk_http(&TE.d, "tok-other", "POST", path, "{\"category\": \"fraud\"}", NULL), 404);
    assert_int_equal(te_count("SELECT version FROM incidents WHERE id = '%s'", id), v0);
    assert_int_equal(te_count("SELECT count(*) FROM incident_events WHERE incident_id = '%s' AND kind = 'reclassified'", id),
                     0);
    assert_int_equal(te_count("SELECT count(*) FROM classification_corrections WHERE incident_id = '%s'", id), 0);

    /* over ZeroMQ: fraud, P2 */
    Antt__V1__TriageReply *r = s_reclassify("tok-ward", id, "fraud", 1, 2, "nguoi bao bi lua chuyen khoan");
    assert_int_equal(r->status, OK);
    assert_string_equal(r->incident->category, "fraud");
    assert_int_equal(r->incident->priority, 2);
    assert_false(r->incident->needs_review);
    assert_int_equal(r->incident->version, v0 + 1);
    assert_string_equal(r->incident->ward_name, T_WARD_NAME);
    assert_string_equal(r->incident->first_text, "bi trom xe dap dien truoc nha");
    antt__v1__triage_reply__free_unpacked(r, NULL);
    assert_int_equal(te_count("SELECT count(*) FROM incident_events WHERE incident_id = '%s' AND kind = 'reclassified'"
                             " AND actor = 'dispatcher:1' AND data->>'old_category' = 'theft'"
                             " AND data->>'category' = 'fraud' AND (data->>'priority')::int = 2"
                             " AND data->>'reason' = 'nguoi bao bi lua chuyen khoan'",
                             id),
                     1);
    assert_int_equal(te_count("SELECT count(*) FROM classification_corrections WHERE incident_id = '%s'"
                             " AND old_category = 'theft' AND new_category = 'fraud' AND new_priority = 2"
                             " AND old_priority > 2 AND actor = 'dispatcher:1' AND review_reasons = '{ambiguous}'",
                             id),
                     1);
    /* unacknowledged: the P2 deadline, from now */
    assert_int_equal(te_count("SELECT count(*) FROM incidents WHERE id = '%s' AND NOT needs_review"
                             " AND review_reasons IS NULL"
                             " AND abs(extract(epoch FROM ack_deadline - now()) - 300) < 30",
                             id),
                     1);
    Antt__V1__IncidentUpdate *u = at_desk_expect(&TE.d, "desk." T_WARD ".", id,
                                                 ANTT__V1__UPDATE_KIND__UPDATE_RECLASSIFIED, 5000);
    assert_non_null(u);
    assert_string_equal(u->category, "fraud");
    assert_null(u->first_text); /* the answer has it, the feed never */
    assert_null(u->ward_name);
    antt__v1__incident_update__free_unpacked(u, NULL);
    assert_int_equal(te_count("SELECT count(*) FROM webhook_deliveries WHERE event_type = 'incident.reclassified'"
                             " AND payload->'data'->>'incident_id' = '%s' AND payload->'data'->>'category' = 'fraud'",
                             id),
                     1);
    /* the trends follow, live */
    assert_true(at_wait_until(s_moved, NULL, 15000));

    /* over HTTP: the priority only */
    json_t *j = NULL;
    assert_int_equal(at_desk_http(&TE.d, "tok-ward", "POST", path, "{\"priority\": 3, \"reason\": \"khong gap\"}", &j),
                     200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "incident"), "category")), "fraud");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "incident"), "priority")), 3);
    json_decref(j);
    free(path);
    assert_int_equal(te_count("SELECT version FROM incidents WHERE id = '%s'", id), v0 + 2);

    /* classification reads the corrections (antt train --from-db) */
    char *ci = antt_xasprintf("%s user=antt_classification", TE.conninfo);
    PGconn *cls = at_db_connect(ci);
    sql = antt_xasprintf("SELECT count(*) FROM classification_corrections c JOIN incident_reports l"
                         " ON l.incident_id = c.incident_id JOIN reports r ON r.id = l.report_id"
                         " WHERE c.incident_id = '%s' AND r.description LIKE 'bi trom%%'",
                         id);
    assert_int_equal(at_db_long(cls, sql), 2);
    free(sql);
    PQfinish(cls);
    /* antt train --from-db, as the classification role: the corrected
     * incident's report joins the training rows, with the dispatcher's labels */
    char corpus[] = "/tmp/antt-fromdb-XXXXXX", model[64];
    int fd = mkstemp(corpus);
    assert_true(fd >= 0);
    const char *rows = "theft\tP3\tnhà tôi bị trộm xe máy\nfire\tP1\tcháy nhà khói đen\n";
    assert_int_equal(write(fd, rows, strlen(rows)), (ssize_t)strlen(rows));
    close(fd);
    snprintf(model, sizeof(model), "%s.model", corpus);
    char *cmd = antt_xasprintf("ANTT_DB_CONNINFO='%s' '%s/services/cli/antt' train --from-db --folds 0 --corpus %s -o %s"
                               " 2>&1",
                               ci, ANTT_BUILD_DIR, corpus, model);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[4096] = "";
    size_t got = fread(out, 1, sizeof(out) - 1, p);
    out[got] = '\0';
    assert_int_equal(pclose(p), 0);
    int added = -1;
    const char *at = strstr(out, "from the database: ");
    assert_non_null(at);
    added = atoi(at + strlen("from the database: "));
    if (added < 1) /* the report of the corrected incident */
        fail_msg("antt train --from-db: %s", out);
    assert_non_null(strstr(out, "trained on"));
    assert_int_equal(access(model, R_OK), 0);
    unlink(model);
    unlink(corpus);
    free(cmd);
    free(ci);
    free(id);
}
