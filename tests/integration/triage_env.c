/* triage_env: the stack of the triage tests. */
#include "triage_env.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "antt_crypto.h"
#include "antt_util.h"

te_env_t TE;

int te_setup(void **state)
{
    (void)state;
    if (antt_crypto_init() != 0)
        return -1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    TE.conninfo = at_db_create("t_triage");
    TE.db = at_db_connect(TE.conninfo);
    at_db_exec(TE.db, "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst) VALUES"
                     " ('app', 'App', sha256('key-app'::bytea), 1000, 1000)");
    /* ids 1..4 in this order */
    at_db_exec(TE.db, "INSERT INTO dispatchers (name, desk_code, token_hash) VALUES"
                     " ('ward', '" T_WARD "', sha256('tok-ward')), ('other', '" T_OTHER "', sha256('tok-other')),"
                     " ('district', '" T_DISTRICT "', sha256('tok-district')), ('city', '" T_CITY "', sha256('tok-city'))");
    /* the ward's webhook, to a port nobody listens on: its messages stay in
     * the outbox, where the test reads them */
    char *sql = antt_xasprintf("INSERT INTO webhook_destinations (code, url, secret, desk_code) VALUES"
                               " ('ward', 'http://127.0.0.1:%d/h', 'whsec_dGVzdHRlc3R0ZXN0dGVzdA==', '" T_WARD "')",
                               at_free_port());
    at_db_exec(TE.db, sql);
    free(sql);
    at_stack_init(&TE.st, TE.conninfo);
    size_t cap = sizeof(TE.st.env) / sizeof(TE.st.env[0]);
    at_env_add(TE.st.env, cap, "ANTT_SLA_ACK_P1_S=%s", "3"); /* escalations within the test's time */
    at_env_add(TE.st.env, cap, "ANTT_LOG_LEVEL=%s", "debug");
    if (at_stack_start_all(&TE.st) != 0)
        return -1;
    const char *topics[] = {"desk." T_WARD ".", "desk." T_DISTRICT ".", "desk." T_CITY ".", "desk." T_OTHER ".", NULL};
    return at_desk_open(&TE.d, &TE.st, TE.db, "key-app", topics, "VN-HCM-BTA-BTD", T_WARD);
}

int te_teardown(void **state)
{
    (void)state;
    at_desk_close(&TE.d);
    at_stack_stop(&TE.st);
    at_stack_free(&TE.st);
    PQfinish(TE.db);
    free(TE.conninfo);
    curl_global_cleanup();
    return 0;
}

long te_count(const char *fmt, const char *a)
{
    return at_desk_count(&TE.d, fmt, a);
}

Antt__V1__TriageReply *te_cmd(const char *token, Antt__V1__TriageAction action, const char *incident)
{
    Antt__V1__TriageCommand c = ANTT__V1__TRIAGE_COMMAND__INIT;
    c.has_action = 1;
    c.action = action;
    c.incident_id = (char *)incident;
    Antt__V1__TriageReply *r = at_desk_triage(&TE.d, token, &c);
    assert_non_null(r);
    return r;
}

void te_expect(const char *token, Antt__V1__TriageAction action, const char *incident, st_t want)
{
    int st = at_desk_status(&TE.d, token, action, incident);
    if (st != (int)want)
        fail_msg("action %d on %s by %s: status %d, expected %d", action, incident, token, st, want);
}

/* The desk's queue (caller frees) and one incident in it (or NULL). */
Antt__V1__TriageReply *te_list(const char *token)
{
    Antt__V1__TriageReply *r = te_cmd(token, ANTT__V1__TRIAGE_ACTION__ACTION_LIST, NULL);
    assert_int_equal(r->status, OK);
    return r;
}

const Antt__V1__IncidentUpdate *te_in(const Antt__V1__TriageReply *l, const char *id)
{
    for (size_t i = 0; i < l->n_incidents; i++)
        if (!strcmp(l->incidents[i]->incident_id, id))
            return l->incidents[i];
    return NULL;
}

int te_pos(const Antt__V1__TriageReply *l, const char *id)
{
    for (size_t i = 0; i < l->n_incidents; i++)
        if (!strcmp(l->incidents[i]->incident_id, id))
            return (int)i;
    return -1;
}
