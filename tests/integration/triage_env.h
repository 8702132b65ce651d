/* triage_env: the stack of the triage tests (see triage_env.c): the whole
 * of antt (at_stack, CURVE on) on a test database with four desks (ward,
 * neighbouring ward, district, city), and the ward's desk client (at_desk). */
#ifndef TRIAGE_ENV_H
#define TRIAGE_ENV_H

#include <libpq-fe.h>

#include "antt/v1/triage.pb-c.h"
#include "at_desk.h"

#define T_WARD "DESK-HCM-BTA-BTD"   /* owns 10.760-10.790, 106.612-106.630 */
#define T_OTHER "DESK-HCM-BTA-AL"   /* a neighbouring ward */
#define T_DISTRICT "DESK-HCM-BTA"
#define T_CITY "DESK-HCM"
#define T_WARD_NAME "Phường Bình Trị Đông"

typedef Antt__V1__TriageReply__Status st_t;
#define OK ANTT__V1__TRIAGE_REPLY__STATUS__OK
#define BAD ANTT__V1__TRIAGE_REPLY__STATUS__BAD_REQUEST
#define NF ANTT__V1__TRIAGE_REPLY__STATUS__NOT_FOUND
#define CONFLICT ANTT__V1__TRIAGE_REPLY__STATUS__CONFLICT

typedef struct te_env {
    char *conninfo;
    PGconn *db;
    at_stack_t st;
    at_desk_t d;
} te_env_t;

extern te_env_t TE;

/* The cmocka group's set-up and tear-down. */
int te_setup(void **state);
int te_teardown(void **state);
/* at_db_long of fmt with one %s. */
long te_count(const char *fmt, const char *a);
/* One triage command over ZeroMQ; the reply (caller frees). */
Antt__V1__TriageReply *te_cmd(const char *token, Antt__V1__TriageAction action, const char *incident);
/* The command's reply must have status want. */
void te_expect(const char *token, Antt__V1__TriageAction action, const char *incident, st_t want);
/* The desk's queue (caller frees), and one incident in it (or NULL) or its
 * place (-1). */
Antt__V1__TriageReply *te_list(const char *token);
const Antt__V1__IncidentUpdate *te_in(const Antt__V1__TriageReply *l, const char *id);
int te_pos(const Antt__V1__TriageReply *l, const char *id);

/* triage_reclassify.c */
void test_reclassify(void **state);

#endif
