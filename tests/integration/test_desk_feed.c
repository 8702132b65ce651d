/* Integration tests of a desk's live views, on the whole stack (CURVE on):
 * the SSE feed resumes from Last-Event-ID with every change made while the
 * client was away, once, then live; and the terminal console (antt console,
 * run under tmux, its desk's feed the SSE stream of its token) shows a new
 * P1 with its ward and text, rings the bell, and runs show and reclassify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "antt_crypto.h"
#include "at_desk.h"

#define T_WARD "DESK-HCM-BTA-BTD"
#define T_OTHER "DESK-HCM-BTA-AL"
#define T_WARD_NAME "Phường Bình Trị Đông"
#define T_REPLAY_MAX 8

static struct {
    char *conninfo;
    PGconn *db;
    at_stack_t st;
    at_desk_t d;
    char tmux[64]; /* the private tmux server's socket name */
} T;

static int s_setup(void **state)
{
    (void)state;
    if (antt_crypto_init() != 0)
        return -1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    T.conninfo = at_db_create("t_desk_feed");
    T.db = at_db_connect(T.conninfo);
    at_db_exec(T.db, "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst) VALUES"
                     " ('app', 'App', sha256('key-app'::bytea), 1000, 1000)");
    at_db_exec(T.db, "INSERT INTO dispatchers (name, desk_code, token_hash) VALUES"
                     " ('ward', '" T_WARD "', sha256('tok-ward')), ('other', '" T_OTHER "', sha256('tok-other'))");
    at_stack_init(&T.st, T.conninfo);
    size_t cap = sizeof(T.st.env) / sizeof(T.st.env[0]);
    char max[16];
    snprintf(max, sizeof(max), "%d", T_REPLAY_MAX);
    at_env_add(T.st.env, cap, "ANTT_NOTIFICATION_SSE_REPLAY_MAX=%s", max);
    at_env_add(T.st.env, cap, "ANTT_LOG_LEVEL=%s", "debug");
    if (at_stack_start_all(&T.st) != 0)
        return -1;
    const char *topics[] = {"desk." T_WARD ".", NULL};
    return at_desk_open(&T.d, &T.st, T.db, "key-app", topics, "VN-HCM-BTA-BTD", T_WARD);
}

static int s_teardown(void **state)
{
    (void)state;
    if (T.tmux[0]) { /* the console test's tmux server, also when it failed midway */
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "tmux -L %s kill-server 2> /dev/null", T.tmux);
        (void)!system(cmd);
    }
    at_desk_close(&T.d);
    at_stack_stop(&T.st);
    at_stack_free(&T.st);
    PQfinish(T.db);
    free(T.conninfo);
    curl_global_cleanup();
    return 0;
}

/* ---- SSE ---- */

typedef struct s_ev {
    char event[32];
    long long id; /* -1 when it had none */
    char *data;
} s_ev_t;

/* The events of a stream's text (comments and the retry line skipped);
 * returns how many, at most cap. Free each data. */
static int s_events(const char *text, s_ev_t *out, int cap)
{
    int n = 0;
    const char *p = text ? text : "";
    while (*p && n < cap) {
        const char *end = strstr(p, "\n\n");
        if (end == NULL)
            break;
        s_ev_t e = {"", -1, NULL};
        for (const char *l = p; l < end;) {
            const char *eol = memchr(l, '\n', (size_t)(end - l));
            if (eol == NULL)
                eol = end;
            if (!strncmp(l, "event: ", 7))
                snprintf(e.event, sizeof(e.event), "%.*s", (int)(eol - l - 7), l + 7);
            else if (!strncmp(l, "id: ", 4))
                e.id = atoll(l + 4);
            else if (!strncmp(l, "data: ", 6))
                e.data = antt_xstrndup(l + 6, (size_t)(eol - l - 6));
            l = eol + 1;
        }
        if (e.event[0])
            out[n++] = e;
        else
            free(e.data);
        p = end + 2;
    }
    return n;
}

static void s_events_free(s_ev_t *ev, int n)
{
    for (int i = 0; i < n; i++)
        free(ev[i].data);
}

static Antt__V1__TriageReply__Status s_note(const char *token, const char *id, const char *text)
{
    Antt__V1__TriageCommand c = ANTT__V1__TRIAGE_COMMAND__INIT;
    c.has_action = 1;
    c.action = ANTT__V1__TRIAGE_ACTION__ACTION_NOTE;
    c.incident_id = (char *)id;
    c.note = (char *)text;
    Antt__V1__TriageReply *r = at_desk_triage(&T.d, token, &c);
    assert_non_null(r);
    Antt__V1__TriageReply__Status st = r->status;
    antt__v1__triage_reply__free_unpacked(r, NULL);
    return st;
}

static const char *s_journaled_id;
static long s_journaled_want = 1;
/* s_journaled_want events of the incident whose text holds arg are journaled */
static int s_journaled(void *arg)
{
    char *sql = antt_xasprintf("SELECT count(*) FROM desk_feed WHERE incident_id = '%s' AND body LIKE '%%%s%%'",
                               s_journaled_id, (const char *)arg);
    long n = at_db_long(T.db, sql);
    free(sql);
    return n >= s_journaled_want;
}

/* The journal's numbers of the ward's events in (after, upto]. */
static int s_journal(long long after, long long upto, long long *out, int cap)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT seq FROM desk_feed_desks WHERE desk = '" T_WARD "' AND seq > %lld"
             " AND seq <= %lld ORDER BY seq", after, upto);
    PGresult *r = PQexec(T.db, sql);
    int n = PQntuples(r) < cap ? PQntuples(r) : cap;
    for (int i = 0; i < n; i++)
        out[i] = atoll(PQgetvalue(r, i, 0));
    PQclear(r);
    return n;
}

static int s_has(void *arg)
{
    const char **x = arg;
    return at_sse_has((at_sse_t *)x[0], x[1]);
}

/* Connect, get an event, go away; changes are made meanwhile; come back
 * with Last-Event-ID (or ?last_event_id=): every change of the desk's
 * incidents since, once and in order, then live ones. An id that cannot be
 * replayed gets a reset. */
static void test_sse_resume(void **state)
{
    (void)state;
    int port = T.st.port[AT_NOTIFICATION];
    at_sse_t a;
    at_sse_start(&a, port, "tok-ward", NULL, NULL, 20000);
    assert_true(at_sse_wait_started(&a, 10000));
    char *inc = at_desk_incident(&T.d, "description=bi%20trom%20xe%20may%20trong%20hem%20sau&lat=10.7780&long=106.6240",
                                 NULL);
    at_sse_want(&a, inc);
    at_sse_join(&a);
    s_ev_t ev[64];
    int n = s_events(a.got.data, ev, 64);
    long long last = -1;
    for (int i = 0; i < n; i++)
        if (ev[i].data && strstr(ev[i].data, inc) && strstr(ev[i].data, "\"kind\":\"created\""))
            last = ev[i].id;
    s_events_free(ev, n);
    at_sse_cleanup(&a);
    assert_true(last > 0);

    /* away: the ward acknowledges and notes; another ward has an incident */
    assert_int_equal(at_desk_status(&T.d, "tok-ward", ANTT__V1__TRIAGE_ACTION__ACTION_ACKNOWLEDGE, inc),
                     ANTT__V1__TRIAGE_REPLY__STATUS__OK);
    assert_int_equal(s_note("tok-ward", inc, "ghi chu khi vang mat"), ANTT__V1__TRIAGE_REPLY__STATUS__OK);
    char *other = at_desk_incident(&T.d, "description=bi%20trom%20dien%20thoai%20o%20cho&lat=10.7400&long=106.6250",
                                   NULL);
    s_journaled_id = inc;
    assert_true(at_wait_until(s_journaled, "ghi chu khi vang mat", 10000));

    /* back, with Last-Event-ID: the two changes, then a live one */
    char lid[32];
    snprintf(lid, sizeof(lid), "%lld", last);
    at_sse_t b;
    at_sse_start(&b, port, "tok-ward", lid, NULL, 20000);
    const char *x[2] = {(const char *)&b, "ghi chu khi vang mat"};
    assert_true(at_wait_until(s_has, x, 10000));
    assert_int_equal(s_note("tok-ward", inc, "ghi chu truc tiep"), ANTT__V1__TRIAGE_REPLY__STATUS__OK);
    at_sse_want(&b, "ghi chu truc tiep");
    at_sse_join(&b);
    assert_int_equal(b.status, 200);
    n = s_events(b.got.data, ev, 64);
    long long prev = last, live = -1;
    int acks = 0, notes = 0, lives = 0;
    for (int i = 0; i < n; i++) {
        assert_string_equal(ev[i].event, "incident");
        assert_true(ev[i].id > prev); /* in order, nothing twice, nothing from before */
        prev = ev[i].id;
        assert_null(strstr(ev[i].data, other));
        if (strstr(ev[i].data, inc)) {
            acks += strstr(ev[i].data, "\"kind\":\"acknowledged\"") != NULL;
            notes += strstr(ev[i].data, "ghi chu khi vang mat") != NULL;
            if (strstr(ev[i].data, "ghi chu truc tiep")) {
                lives++;
                live = ev[i].id;
            }
        }
    }
    assert_int_equal(acks, 1);
    assert_int_equal(notes, 1);
    assert_int_equal(lives, 1);
    /* no gap: exactly the journal's events of the desk after last */
    long long want[64];
    int k = s_journal(last, live, want, 64);
    assert_int_equal(k, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(want[i], ev[i].id);
    s_events_free(ev, n);
    at_sse_cleanup(&b);

    /* for clients that cannot set headers: ?last_event_id= */
    char q[64];
    snprintf(q, sizeof(q), "last_event_id=%lld", last);
    at_sse_t c;
    at_sse_start(&c, port, "tok-ward", NULL, q, 20000);
    at_sse_want(&c, "ghi chu truc tiep");
    at_sse_join(&c);
    assert_non_null(strstr(c.got.data, "ghi chu khi vang mat"));
    assert_non_null(strstr(c.got.data, "\"kind\":\"acknowledged\""));
    assert_null(strstr(c.got.data, "event: reset"));
    at_sse_cleanup(&c);

    /* what cannot be replayed: an id the journal never gave, not a number,
     * more events than the bound. Each gets a reset (with the head's id),
     * then the live feed */
    for (int i = 0; i < T_REPLAY_MAX; i++)
        assert_int_equal(s_note("tok-ward", inc, "mot ghi chu nua"), ANTT__V1__TRIAGE_REPLY__STATUS__OK);
    s_journaled_want = T_REPLAY_MAX;
    assert_true(at_wait_until(s_journaled, "mot ghi chu nua", 10000));
    const char *ids[] = {"99999999", "abc", lid};
    for (int i = 0; i < 3; i++) {
        at_sse_t r;
        at_sse_start(&r, port, "tok-ward", ids[i], NULL, 20000);
        const char *y[2] = {(const char *)&r, "event: reset"};
        assert_true(at_wait_until(s_has, y, 10000));
        char live_note[32];
        snprintf(live_note, sizeof(live_note), "sau reset %d", i);
        assert_int_equal(s_note("tok-ward", inc, live_note), ANTT__V1__TRIAGE_REPLY__STATUS__OK);
        at_sse_want(&r, live_note);
        at_sse_join(&r);
        n = s_events(r.got.data, ev, 64);
        assert_true(n >= 2);
        assert_string_equal(ev[0].event, "reset");
        assert_true(ev[0].id > last);
        assert_null(strstr(r.got.data, "mot ghi chu nua")); /* nothing replayed */
        assert_non_null(strstr(ev[n - 1].data, live_note));
        s_events_free(ev, n);
        at_sse_cleanup(&r);
    }
    free(inc);
    free(other);
}

/* ---- the console, under tmux ---- */

#define T_TEXT "Cháy nhà kho ở hẻm 2 đường số 7, khói rất lớn có người bị kẹt bên trong, cần cứu hỏa gấp"
/* its first 60 characters: the 60th is "ẹ" (3 bytes), then the ellipsis */
#define T_TEXT_60 "Cháy nhà kho ở hẻm 2 đường số 7, khói rất lớn có người bị kẹ…"
#define T_TEXT_URL                                                                                              \
    "Ch%C3%A1y%20nh%C3%A0%20kho%20%E1%BB%9F%20h%E1%BA%BBm%202%20%C4%91%C6%B0%E1%BB%9Dng%20s%E1%BB%91%207%2C%20" \
    "kh%C3%B3i%20r%E1%BA%A5t%20l%E1%BB%9Bn%20c%C3%B3%20ng%C6%B0%E1%BB%9Di%20b%E1%BB%8B%20k%E1%BA%B9t%20b%C3%AA" \
    "n%20trong%2C%20c%E1%BA%A7n%20c%E1%BB%A9u%20h%E1%BB%8Fa%20g%E1%BA%A5p"

static int s_sh(const char *cmd)
{
    int rc = system(cmd);
    return rc == 0 ? 0 : -1;
}

/* The console's screen (malloc'd): tmux capture-pane, wrapped lines joined. */
static char *s_screen(void)
{
    char cmd[640], path[256];
    snprintf(path, sizeof(path), ANTT_BUILD_DIR "/tests/console-%d.screen", (int)getpid());
    snprintf(cmd, sizeof(cmd), "tmux -L %s capture-pane -p -J -S -200 -t console > %s", T.tmux, path);
    if (s_sh(cmd) != 0)
        return antt_xstrdup("");
    char *s = at_read_file(path, NULL);
    return s ? s : antt_xstrdup("");
}

static int s_on_screen(void *arg)
{
    const char *const *all = arg;
    char *s = s_screen();
    int ok = 1;
    for (; *all && ok; all++)
        ok = strstr(s, *all) != NULL;
    free(s);
    return ok;
}

static void s_keys(const char *line)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "tmux -L %s send-keys -t console -l '%s' && tmux -L %s send-keys -t console Enter",
             T.tmux, line, T.tmux);
    assert_int_equal(s_sh(cmd), 0);
}

static const char *s_pipe_path;
static int s_rang(void *arg)
{
    (void)arg;
    char *log = at_read_file(s_pipe_path, NULL);
    int rang = log && strchr(log, '\a') && strstr(log, "NEW");
    free(log);
    return rang;
}

static int s_session_gone(void *arg)
{
    (void)arg;
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "tmux -L %s has-session -t console 2> /dev/null", T.tmux);
    return s_sh(cmd) != 0;
}

/* The console lists the queue, shows a new P1 with its ward, its text cut
 * at 60 characters on a character boundary and the bell; show prints the
 * report's whole text and the event log; reclassify corrects it. */
/* The ZeroMQ desk feed's one subscriber is aggregation (its key is the one
 * at_desk uses): its copies of a note and an assignment carry neither the
 * note, the assignee nor who acted, while the desk's SSE stream has them. */
static void test_pub_without_words(void **state)
{
    (void)state;
    char *inc = at_desk_incident(&T.d, "service_code=theft&description=mat%20trom%20xe%20dap%20truoc%20cong&lat=10.7781&long=106.6241",
                                 NULL);
    at_sse_t a;
    at_sse_start(&a, T.st.port[AT_NOTIFICATION], "tok-ward", NULL, NULL, 20000);
    assert_true(at_sse_wait_started(&a, 10000));
    assert_int_equal(s_note("tok-ward", inc, "nghi la ong Tam so 9"), ANTT__V1__TRIAGE_REPLY__STATUS__OK);
    Antt__V1__TriageCommand c = ANTT__V1__TRIAGE_COMMAND__INIT;
    c.has_action = 1;
    c.action = ANTT__V1__TRIAGE_ACTION__ACTION_ASSIGN;
    c.incident_id = inc;
    c.assignee = "to tuan tra 3 anh Hung";
    Antt__V1__TriageReply *r = at_desk_triage(&T.d, "tok-ward", &c);
    assert_non_null(r);
    assert_int_equal(r->status, ANTT__V1__TRIAGE_REPLY__STATUS__OK);
    antt__v1__triage_reply__free_unpacked(r, NULL);
    Antt__V1__IncidentUpdate *u =
        at_desk_expect(&T.d, "desk." T_WARD ".", inc, ANTT__V1__UPDATE_KIND__UPDATE_NOTE, 10000);
    assert_non_null(u);
    assert_null(u->note);
    assert_null(u->actor);
    antt__v1__incident_update__free_unpacked(u, NULL);
    u = at_desk_expect(&T.d, "desk." T_WARD ".", inc, ANTT__V1__UPDATE_KIND__UPDATE_ASSIGNED, 10000);
    assert_non_null(u);
    assert_null(u->assignee);
    assert_null(u->actor);
    antt__v1__incident_update__free_unpacked(u, NULL);
    at_sse_want(&a, "to tuan tra 3 anh Hung");
    at_sse_join(&a);
    assert_non_null(strstr(a.got.data, "nghi la ong Tam so 9"));
    assert_non_null(strstr(a.got.data, "to tuan tra 3 anh Hung"));
    at_sse_cleanup(&a);
    free(inc);
}

/* The journal's appends look up what is journaled by key whatever the
 * statistics said when the session planned them: the session's plan is
 * made while desk_feed is new and empty, the journal then grows to 20,000
 * rows (not analyzed yet, as between two autovacuums), and an append of 30
 * updates reads it by index, with no sequential scan of desk_feed (migration
 * 021: the cost of an append must not grow with the journal). */
static long s_feed_seq_scans(PGconn *c)
{
    at_db_exec(c, "SELECT pg_stat_force_next_flush()");
    return at_db_long(c, "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'desk_feed'");
}

static char *s_feed_items(int n, int first)
{
    antt_buf_t b = {0};
    antt_buf_puts(&b, "SELECT count(*) FROM antt_desk_feed_append(jsonb_build_array(");
    for (int i = 0; i < n; i++)
        antt_buf_printf(&b, "%sjsonb_build_object('ord', %d, 'incident_id', md5('%d')::uuid, 'version', 1, 'kind', 'created',"
                            " 'desks', jsonb_build_array('" T_WARD "'), 'body', '{}')",
                        i ? ", " : "", i, first + i);
    antt_buf_puts(&b, "))");
    return b.data;
}

static void test_journal_plan(void **state)
{
    (void)state;
    char *ci = at_db_create("t_journal_plan");
    PGconn *c = at_db_connect(ci), *other = at_db_connect(ci);
    for (int i = 0; i < 8; i++) { /* custom plans, then the session's generic one */
        char *q = s_feed_items(1, i);
        assert_int_equal(at_db_long(c, q), 1);
        free(q);
    }
    at_db_exec(other, "INSERT INTO desk_feed (seq, incident_id, version, kind, body)"
                      " SELECT 100 + g, gen_random_uuid(), 1, 'created', '{}' FROM generate_series(1, 20000) g");
    at_db_exec(other, "UPDATE desk_feed_meta SET last_seq = 20100");
    long before = s_feed_seq_scans(c);
    char *q = s_feed_items(30, 1000);
    assert_int_equal(at_db_long(c, q), 30);
    free(q);
    assert_int_equal(s_feed_seq_scans(c), before);
    /* the same updates again keep their numbers: nothing is added */
    q = s_feed_items(30, 1000);
    assert_int_equal(at_db_long(c, q), 30);
    free(q);
    assert_int_equal(at_db_long(other, "SELECT count(*) FROM desk_feed"), 20000 + 8 + 30);
    PQfinish(c);
    PQfinish(other);
    free(ci);
}

/* Each stage's latency has its own histogram (issue 18): intake's receipt
 * to commit, intake's commit to the incident classified, classified to the
 * desk feed, and an incident's change to its trend update. */
static const char *const s_stages[][2] = {
    {"intake", "antt_intake_receipt_to_commit_seconds"},
    {"classification", "antt_classify_commit_to_classified_seconds"},
    {"notification", "antt_notify_classified_to_feed_seconds"},
    {"aggregation", "antt_aggregation_lag_seconds"},
};

static int s_stages_counted(void *arg)
{
    const double *before = arg;
    for (int i = 0; i < 4; i++) {
        char name[96];
        snprintf(name, sizeof(name), "%s_count", s_stages[i][1]);
        /* aggregation observes once per trend update, which may hold several changes */
        if (at_metric(T.st.port[i], name) < before[i] + (i == AT_AGGREGATION ? 1 : 3))
            return 0;
    }
    return 1;
}

static void test_stage_metrics(void **state)
{
    (void)state;
    double before[4];
    for (int i = 0; i < 4; i++) {
        char name[96];
        snprintf(name, sizeof(name), "%s_count", s_stages[i][1]);
        before[i] = at_metric(T.st.port[i], name);
        assert_true(before[i] >= 0);
    }
    for (int k = 0; k < 3; k++) {
        char fields[160];
        snprintf(fields, sizeof(fields),
                 "service_code=theft&description=mat%%20trom%%20xe%%20lan%%20%d&lat=10.77%d&long=106.62%d", k, 50 + k,
                 50 + k);
        free(at_desk_incident(&T.d, fields, NULL));
    }
    assert_true(at_wait_until(s_stages_counted, before, 15000));
    for (int i = 0; i < 4; i++) {
        char name[96];
        snprintf(name, sizeof(name), "%s_sum", s_stages[i][1]);
        double sum = at_metric(T.st.port[i], name);
        snprintf(name, sizeof(name), "%s_count", s_stages[i][1]);
        double n = at_metric(T.st.port[i], name);
        printf("stage %s (%s): %.0f observed, mean %.2f ms\n", s_stages[i][0], s_stages[i][1], n, 1000 * sum / n);
        assert_true(sum >= 0 && sum / n < 10.0);
    }
}

static void test_console(void **state)
{
    (void)state;
    if (s_sh("command -v tmux > /dev/null") != 0)
        fail_msg("tmux is needed for this test: make deps installs it");
    snprintf(T.tmux, sizeof(T.tmux), "antt-test-%d", (int)getpid());
    char env[1024], cmd[2048], pipe[256], script[256];
    at_stack_cli_env(&T.st, env, sizeof(env));
    snprintf(pipe, sizeof(pipe), ANTT_BUILD_DIR "/tests/console-%d.out", (int)getpid());
    snprintf(script, sizeof(script), ANTT_BUILD_DIR "/tests/console-%d.sh", (int)getpid());
    s_pipe_path = pipe;
    unlink(pipe);
    /* the command in a script: the keys' characters need the script's
     * quoting, not tmux's */
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fprintf(f, "exec env LANG=C.UTF-8 %s ANTT_NOTIFICATION_TRIAGE_ENDPOINT='%s' ANTT_NOTIFICATION_HTTP='127.0.0.1:%d' "
               ANTT_BUILD_DIR "/services/cli/antt console --token tok-ward\n",
            env, T.st.triage_ep, T.st.port[AT_NOTIFICATION]);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "LANG=C.UTF-8 tmux -u -L %s new-session -d -s console -x 250 -y 50 'sh %s'"
             " && tmux -L %s pipe-pane -t console -o 'cat >> %s'",
             T.tmux, script, T.tmux, pipe);
    assert_int_equal(s_sh(cmd), 0);
    const char *listed[] = {"open incident", NULL};
    assert_true(at_wait_until(s_on_screen, listed, 15000));

    /* a new P1: its line, with the ward, the text cut at 60 characters, and
     * the bell. (The console's SSE stream may open a moment after its
     * list: the report is sent again until the line shows, each a new
     * incident of its own place.) */
    char *id = NULL;
    const char *fresh[] = {"* NEW: P1", T_WARD_NAME, T_TEXT_60, NULL};
    for (int i = 0; i < 5 && !s_on_screen(fresh); i++) {
        char fields[1024];
        snprintf(fields, sizeof(fields), "description=%s&lat=%.4f&long=106.6260", T_TEXT_URL, 10.7620 + 0.005 * i);
        free(id);
        id = at_desk_incident(&T.d, fields, NULL);
        at_wait_until(s_on_screen, fresh, 5000);
    }
    assert_true(s_on_screen(fresh));
    assert_int_equal(at_desk_count(&T.d, "SELECT priority FROM incidents WHERE id = '%s'", id), 1);
    assert_true(at_wait_until(s_rang, NULL, 5000));

    /* show: the whole text and the event log, never the contact */
    char line[256];
    snprintf(line, sizeof(line), "show %s", id);
    s_keys(line);
    const char *shown[] = {"reports (1):", T_TEXT, "events (", "created", NULL};
    assert_true(at_wait_until(s_on_screen, shown, 10000));

    /* reclassify N CATEGORY P2 reason */
    snprintf(line, sizeof(line), "reclassify %s fire P2 da dap tat", id);
    s_keys(line);
    const char *done[] = {"P2 fire", NULL};
    assert_true(at_wait_until(s_on_screen, done, 10000));
    assert_int_equal(at_desk_count(&T.d, "SELECT count(*) FROM incident_events WHERE incident_id = '%s'"
                                         " AND kind = 'reclassified' AND data->>'reason' = 'da dap tat'",
                                   id),
                     1);
    /* quit ends the console and its session; a sanitizer build says so on
     * its way out if anything leaked */
    s_keys("quit");
    assert_true(at_wait_until(s_session_gone, NULL, 10000));
    char *out = at_read_file(pipe, NULL);
    assert_non_null(out);
    assert_null(strstr(out, "Sanitizer"));
    assert_null(strstr(out, "runtime error"));
    free(out);
    snprintf(cmd, sizeof(cmd), "tmux -L %s kill-server 2> /dev/null", T.tmux);
    (void)!system(cmd);
    free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_resume),
        cmocka_unit_test(test_pub_without_words),
        cmocka_unit_test(test_stage_metrics),
        cmocka_unit_test(test_console),
        cmocka_unit_test(test_journal_plan),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
