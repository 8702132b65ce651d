/* ha_integration: PostgreSQL under Patroni and etcd (deploy/ha/antt-ha on
 * loopback ports: three etcd members, two nodes, synchronous_mode), the
 * services reaching the primary through a multi-host conninfo with
 * target_session_attrs=read-write, two intakes (a gateway's two addresses)
 * each with its worker, a steady load on both. The quick version (make
 * test) kills the primary's postmaster with -9: Patroni promotes the
 * synchronous standby, the services follow, and every report acknowledged
 * before is there once. The long one (make soak, ANTT_FAULT_SECONDS) also
 * kills Patroni, freezes the leader's Patroni beyond its TTL, stops an etcd
 * member and kills notification and aggregation, in turn until the time is
 * up. After each fault it prints acked / stored / lost / duplicated and the
 * seconds from the fault to the first new acknowledgement. Both versions
 * then restore a pgBackRest backup plus WAL to a point in time and find
 * every report acknowledged before it. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "antt_test.h"
#include "antt_util.h"

#define S_HA ANTT_SOURCE_DIR "/deploy/ha/antt-ha"
#define S_RESUME_MS 60000 /* generous: the machine is shared; the figure is printed */

static struct {
    char dir[256];
    int skip;                /* Patroni or etcd missing */
    char *conninfo;
    at_stack_t st;
    at_load_t load[2];       /* one per intake */
    at_proc_t intake2, worker2;
    int intake2_port, worker2_port;
    int pg[3], rest[3];      /* PostgreSQL and Patroni REST ports of nodes 1 and 2 */
} H;

static int s_sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* The primary: node index (1, 2), PostgreSQL port, postmaster and Patroni pids. */
typedef struct s_primary {
    int node, port, postmaster, patroni;
} s_primary_t;

static size_t s_discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* 1 when Patroni's REST API on port says primary, within a second (a frozen
 * Patroni does not answer) */
static int s_rest_primary(int port)
{
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/primary", port);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_discard);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code == 200;
}

static int s_pidfile(const char *fmt, int node)
{
    char path[320];
    snprintf(path, sizeof(path), fmt, H.dir, node);
    char *t = at_read_file(path, NULL);
    int pid = t ? atoi(t) : 0;
    free(t);
    return pid;
}

static int s_primary(s_primary_t *p)
{
    for (int i = 1; i <= 2; i++)
        if (s_rest_primary(H.rest[i])) {
            p->node = i;
            p->port = H.pg[i];
            p->postmaster = s_pidfile("%s/pg%d/data/postmaster.pid", i);
            p->patroni = s_pidfile("%s/patroni%d.pid", i);
            return p->postmaster > 0 && p->patroni > 0 ? 0 : -1;
        }
    return -1;
}

static long s_acked(void)
{
    return H.load[0].acked + H.load[1].acked;
}

static int s_acked_past(void *arg)
{
    return s_acked() > *(long *)arg;
}

static int s_setup(void **state)
{
    (void)state;
    if (system("command -v patroni >/dev/null && command -v etcd >/dev/null") != 0) {
        /* make deps installs them; only a machine where they cannot be
         * installed gets here */
        fprintf(stderr, "ha_integration: SKIPPED: patroni or etcd not installed (Debian 12: patroni etcd-server"
                        " etcd-client; make deps installs them)\n");
        H.skip = 1;
        return 0;
    }
    snprintf(H.dir, sizeof(H.dir), "%s/hapg", ANTT_BUILD_DIR);
    if (s_sh("rm -rf %s", H.dir) != 0)
        return -1;
    int p[11];
    for (int i = 0; i < 11; i++)
        p[i] = at_free_port();
    H.pg[1] = p[6];
    H.rest[1] = p[7];
    H.pg[2] = p[8];
    H.rest[2] = p[9];
    int64_t t0 = antt_now_ms();
    if (s_sh("bash " S_HA " cluster-start %s %d %d %d %d %d %d %d %d %d %d %d", H.dir, p[0], p[1], p[2], p[3], p[4],
             p[5], p[6], p[7], p[8], p[9], p[10]) != 0)
        return -1;
    printf("etcd x3, Patroni x2 (synchronous standby streaming) up in %.1f s\n", (antt_now_ms() - t0) / 1000.0);
    char path[300];
    snprintf(path, sizeof(path), "%s/conninfo", H.dir);
    char *base = at_read_file(path, NULL);
    assert_non_null(base);
    base[strcspn(base, "\n")] = 0;
    H.conninfo = at_db_create_in(base, "antt_ha");
    free(base);
    PGconn *db = at_db_connect(H.conninfo);
    at_load_gateway(db);
    PQfinish(db);
    at_stack_init(&H.st, H.conninfo);
    at_stack_fault_settings(&H.st);
    if (at_stack_start_all(&H.st) != 0)
        return -1;
    /* the second intake (the gateway's second address) and its worker */
    char gw[96], push[96], pull[96];
    snprintf(gw, sizeof(gw), "ANTT_INTAKE_GATEWAY_ENDPOINT=tcp://127.0.0.1:%d", at_free_port());
    int pp = at_free_port();
    snprintf(push, sizeof(push), "ANTT_INTAKE_PUSH_ENDPOINT=tcp://127.0.0.1:%d", pp);
    snprintf(pull, sizeof(pull), "ANTT_CLASSIFICATION_PULL_ENDPOINT=tcp://127.0.0.1:%d", pp);
    const char *ienv[] = {gw, push, NULL}, *wenv[] = {pull, NULL};
    H.intake2_port = at_free_port();
    H.worker2_port = at_free_port();
    if (at_stack_spawn_extra(&H.st, AT_INTAKE, &H.intake2, "2", H.intake2_port, ienv) != 0 ||
        at_wait_proc_ready(&H.intake2, H.intake2_port, 30000) != 0 ||
        at_stack_spawn_extra(&H.st, AT_CLASSIFICATION, &H.worker2, "2", H.worker2_port, wenv) != 0 ||
        at_wait_proc_ready(&H.worker2, H.worker2_port, 30000) != 0)
        return -1;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    if (H.skip)
        return 0;
    at_stop(&H.worker2, SIGTERM, 10000);
    at_stop(&H.intake2, SIGTERM, 10000);
    at_stack_stop(&H.st);
    s_sh("bash " S_HA " cluster-stop %s > /dev/null 2>&1", H.dir);
    at_load_free(&H.load[0]);
    at_load_free(&H.load[1]);
    return 0;
}

/* The books so far: every report acknowledged is stored, once. */
static void s_books(const char *fault, double resumed_s)
{
    PGconn *db = at_db_connect(H.conninfo);
    long acked = 0, stored = 0;
    for (int i = 0; i < 2; i++) {
        at_load_table(&H.load[i], db); /* the ids acknowledged so far: the load goes on */
        acked += at_db_long(db, "SELECT count(*) FROM acked");
        stored += at_db_long(db, "SELECT count(DISTINCT a.id) FROM acked a JOIN reports r ON r.id = a.id");
        at_db_exec(db, "DROP TABLE acked");
    }
    long dup = at_db_long(db, "SELECT count(*) - count(DISTINCT idempotency_key) FROM reports"
                              " WHERE idempotency_key LIKE 'ha%'");
    PQfinish(db);
    printf("%s: acked %ld, stored %ld, lost %ld, duplicated %ld; writes resumed %.1f s after the fault\n", fault,
           acked, stored, acked - stored, dup, resumed_s);
    assert_int_equal(stored, acked);
    assert_int_equal(dup, 0);
}

/* Waits for the first acknowledgement after the fault made at t0 (ms);
 * before is the count then. Each load thread has at most one request in
 * flight, which may have committed just before the fault: the first new
 * acknowledgement is the third after it. */
static double s_resumed(int64_t t0, long before)
{
    before += 2;
    if (!at_wait_until(s_acked_past, &before, S_RESUME_MS))
        fail_msg("no report acknowledged within %d ms of the fault", S_RESUME_MS);
    return (double)(antt_now_ms() - t0) / 1000.0;
}

static int s_other_primary(void *arg)
{
    s_primary_t q;
    return s_primary(&q) == 0 && q.node != *(int *)arg;
}

/* A primary again after the old one's postmaster died: the other node, or
 * the same node with a new postmaster. */
static int s_new_primary(void *arg)
{
    const s_primary_t *old = arg;
    s_primary_t q;
    return s_primary(&q) == 0 && (q.node != old->node || q.postmaster != old->postmaster);
}

static void s_fault_postmaster(void)
{
    s_primary_t p;
    assert_int_equal(s_primary(&p), 0);
    long before = s_acked();
    int64_t t0 = antt_now_ms();
    assert_int_equal(kill(p.postmaster, SIGKILL), 0);
    /* Patroni promotes the synchronous standby (primary_start_timeout 0);
     * when its loop finds the postmaster gone only after a local restart
     * was under way, the old primary may come back as primary instead:
     * both heal, and what counts is that nothing acknowledged is lost */
    assert_true(at_wait_until(s_new_primary, &p, S_RESUME_MS));
    s_primary_t now;
    assert_int_equal(s_primary(&now), 0);
    printf("after kill -9 of node %d's postmaster: node %d is primary (%s)\n", p.node, now.node,
           now.node != p.node ? "the synchronous standby was promoted" : "restarted in place");
    double resumed = s_resumed(t0, before);
    s_books("kill -9 of the primary's postmaster", resumed);
    /* the old primary rejoins as the synchronous standby: one timeline writes */
    assert_int_equal(s_sh("bash " S_HA " wait-sync %s 120", H.dir), 0);
}

static long s_after_t[2]; /* a time (ms) and an acknowledged count */

static int s_later_and_acked(void *arg)
{
    (void)arg;
    return antt_now_ms() > s_after_t[0] && s_acked() > s_after_t[1];
}

/* Backups that restore: a full pgBackRest backup, more load, a point in
 * time T, more load, then the backup plus WAL up to T restored into a
 * server of its own: every report acknowledged before T is there, none
 * received after it. */
static void s_backup_restore(void)
{
    if (system("command -v pgbackrest >/dev/null") != 0) {
        printf("backup and restore: SKIPPED: pgbackrest not installed (make deps installs it)\n");
        return;
    }
    int64_t t0 = antt_now_ms();
    assert_int_equal(s_sh("bash " S_HA " backup %s > %s/backup.log 2>&1", H.dir, H.dir), 0);
    double backup_s = (double)(antt_now_ms() - t0) / 1000.0;
    /* pgBackRest restores to a time after the backup's stop, counted in
     * whole seconds: the target is 2 s past it, with reports between */
    s_after_t[0] = antt_now_ms() + 2000;
    s_after_t[1] = s_acked() + 20;
    assert_true(at_wait_until(s_later_and_acked, NULL, S_RESUME_MS));
    long more;
    /* every report among the first n[i] was acknowledged, so committed,
     * before T is read */
    long n[2] = {H.load[0].acked, H.load[1].acked};
    PGconn *db = at_db_connect(H.conninfo);
    PGresult *r = PQexec(db, "SELECT clock_timestamp()::text");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    char target[64];
    snprintf(target, sizeof(target), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(db);
    more = s_acked() + 20;
    assert_true(at_wait_until(s_acked_past, &more, S_RESUME_MS));
    assert_int_equal(s_sh("bash " S_HA " archive %s", H.dir), 0);
    char out[300];
    snprintf(out, sizeof(out), "%s/restored", H.dir);
    int port = at_free_port();
    t0 = antt_now_ms();
    if (s_sh("bash " S_HA " restore %s '%s' %s %d > %s/restore.log 2>&1", H.dir, target, out, port, H.dir) != 0)
        fail_msg("the restore failed; see %s/restore.log", H.dir);
    double restore_s = (double)(antt_now_ms() - t0) / 1000.0;
    char ci[128];
    snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d user=antt dbname=antt_ha", port);
    PGconn *rc = at_db_connect(ci);
    at_db_exec(rc, "CREATE TEMP TABLE before_t (id uuid)");
    antt_buf_t b;
    for (int i = 0; i < 2; i++) {
        antt_buf_init(&b);
        antt_buf_puts(&b, "INSERT INTO before_t VALUES ");
        for (long k = 0; k < n[i]; k++)
            antt_buf_printf(&b, "%s('%s')", k ? "," : "", H.load[i].ids[k]);
        if (n[i])
            at_db_exec(rc, b.data);
        antt_buf_cleanup(&b);
    }
    long found = at_db_long(rc, "SELECT count(DISTINCT t.id) FROM before_t t JOIN reports r ON r.id = t.id");
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM reports WHERE received_at > '%s'::timestamptz + interval '1 s'",
             target);
    long after = at_db_long(rc, sql);
    PQfinish(rc);
    s_sh("bash " S_HA " restore-stop %s", out);
    printf("backup and restore (pgBackRest): full backup %.1f s; restored to %s with its WAL in %.1f s:"
           " acknowledged before it %ld, found %ld, lost %ld; received after it %ld\n",
           backup_s, target, restore_s, n[0] + n[1], found, n[0] + n[1] - found, after);
    assert_int_equal(found, n[0] + n[1]);
    assert_int_equal(after, 0);
}

static void s_fault_patroni_kill(void)
{
    s_primary_t p;
    assert_int_equal(s_primary(&p), 0);
    long before = s_acked();
    int64_t t0 = antt_now_ms();
    assert_int_equal(kill(p.patroni, SIGKILL), 0);
    /* systemd would restart it (Restart=always): so does the test */
    assert_int_equal(s_sh("bash " S_HA " patroni-start %s %d", H.dir, p.node), 0);
    s_books("kill -9 of the primary's Patroni", s_resumed(t0, before));
    assert_int_equal(s_sh("bash " S_HA " wait-sync %s 120", H.dir), 0);
}

static void s_fault_patroni_stop(void)
{
    s_primary_t p;
    assert_int_equal(s_primary(&p), 0);
    long before = s_acked();
    int64_t t0 = antt_now_ms();
    assert_int_equal(kill(p.patroni, SIGSTOP), 0);
    /* beyond the TTL (10 s): the standby is promoted; the old primary
     * cannot commit alone (synchronous_mode) until its thawed Patroni
     * demotes it */
    assert_true(at_wait_until(s_other_primary, &p.node, S_RESUME_MS));
    assert_int_equal(kill(p.patroni, SIGCONT), 0);
    s_books("SIGSTOP of the leader's Patroni beyond its TTL", s_resumed(t0, before));
    assert_int_equal(s_sh("bash " S_HA " wait-sync %s 120", H.dir), 0);
}

static void s_fault_etcd(void)
{
    long before = s_acked();
    int64_t t0 = antt_now_ms();
    assert_int_equal(s_sh("bash " S_HA " etcd-stop %s 1", H.dir), 0);
    long mid = s_acked() + 5;
    double resumed = s_resumed(t0, before);
    assert_true(at_wait_until(s_acked_past, &mid, S_RESUME_MS)); /* two of three etcd carry on */
    assert_int_equal(s_sh("bash " S_HA " etcd-start %s 1", H.dir), 0);
    s_books("one etcd member stopped", resumed);
}

static void s_fault_service(int i)
{
    long before = s_acked();
    int64_t t0 = antt_now_ms();
    assert_int_equal(at_stop(&H.st.svc[i], SIGKILL, 5000), 0);
    assert_int_equal(at_stack_start(&H.st, i, 30000), 0);
    char what[64];
    snprintf(what, sizeof(what), "kill -9 of %s", at_service_names[i]);
    s_books(what, s_resumed(t0, before));
}

static void test_failover(void **state)
{
    (void)state;
    if (H.skip)
        skip();
    at_load_start(&H.load[0], H.st.port[AT_INTAKE], AT_LOAD_KEY, "ha-a", 1, 20);
    at_load_start(&H.load[1], H.intake2_port, AT_LOAD_KEY, "ha-b", 1, 20);
    long warm = 50;
    assert_true(at_wait_until(s_acked_past, &warm, 60000));

    s_fault_postmaster();
    s_backup_restore();
    const char *secs = getenv("ANTT_FAULT_SECONDS");
    int seconds = secs ? atoi(secs) : 0;
    int64_t end = antt_now_ms() + seconds * 1000LL;
    for (int k = 0; seconds > 0 && antt_now_ms() < end; k++) {
        switch (k % 6) {
        case 0: s_fault_patroni_kill(); break;
        case 1: s_fault_patroni_stop(); break;
        case 2: s_fault_etcd(); break;
        case 3: s_fault_service(AT_NOTIFICATION); break;
        case 4: s_fault_service(AT_AGGREGATION); break;
        default: s_fault_postmaster(); break;
        }
    }
    long more = s_acked() + 50;
    assert_true(at_wait_until(s_acked_past, &more, S_RESUME_MS)); /* the load goes on */
    at_load_stop(&H.load[0]);
    at_load_stop(&H.load[1]);

    PGconn *db = at_db_connect(H.conninfo);
    long acked = 0;
    for (int i = 0; i < 2; i++) {
        at_load_table(&H.load[i], db);
        acked += H.load[i].acked;
        if (i == 0)
            at_db_exec(db, "ALTER TABLE acked RENAME TO acked_a");
    }
    at_db_exec(db, "INSERT INTO acked SELECT * FROM acked_a");
    int settled = at_load_settled(db, acked, 120000);
    long counted = at_db_long(db, "SELECT count(*) FROM incidents WHERE status NOT IN ('rejected', 'merged')");
    long trend = at_db_long(db, "SELECT COALESCE(sum(n1 + n2 + n3 + n4), 0) FROM trend_counts WHERE grain = 'd'");
    long by_a = at_db_long(db, "SELECT count(*) FROM acked_a"), by_b = acked - by_a;
    PQfinish(db);
    printf("two intakes acked %ld and %ld reports; every one classified and routed: %s; incidents counted %ld,"
           " trend total %ld\n",
           by_a, by_b, settled ? "yes" : "no", counted, trend);
    assert_true(settled);
    assert_true(by_a > 0 && by_b > 0);
    assert_int_equal(trend, counted);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* the figures as they come, also into a file */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failover),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
