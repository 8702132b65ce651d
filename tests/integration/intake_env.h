/* intake_env: the stack of intake's integration tests (see intake_env.c):
 * the real antt-intake on a test database, with a PULL socket standing in
 * for classification, and the requests its gateways make. */
#ifndef INTAKE_ENV_H
#define INTAKE_ENV_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "antt/v1/report.pb-c.h"
#include "antt_test.h"

typedef struct ie_env {
    char *conninfo;         /* test database */
    PGconn *db;             /* for assertions */
    int http_port;          /* intake HTTP */
    char gw_ep[64];         /* intake ROUTER */
    char push_ep[64];       /* intake PUSH */
    char base[64];          /* http://127.0.0.1:port/open311/v2 */
    uint8_t pk[32], sk[32]; /* dispatch keypair */
    char *envv[16];         /* environment for the child */
    at_proc_t intake;       /* the service */
    void *zctx;             /* ZeroMQ */
    void *pull;             /* stands in for classification */
    void *mon;              /* monitor of pull: connection events */
} ie_env_t;

extern ie_env_t IE;

/* The stack on a new database dbname with the gateways gateways_sql
 * inserts, and intake's environment plus env (NULL-terminated, may be
 * NULL); 0 once intake is ready and our PULL connected. */
int ie_open(const char *dbname, const char *gateways_sql, const char *const *env);
/* The cmocka group's set-up (ie_open of test_intake's gateways and
 * settings) and tear-down (which fails unless intake stops cleanly). */
int ie_setup(void **state);
int ie_teardown(void **state);
/* Starts (again) antt-intake with one more environment entry (or NULL),
 * until it is ready and our PULL is connected. */
int ie_start_intake(const char *extra);

/* POSTs body as ctype to requests.json; the status, *resp as at_http. */
int ie_post(const char *ctype, const char *body, char **resp);
/* Free text, as an SMS gateway sends it: the fields as a JSON body, which
 * keeps antt's rules (the spec's form needs a service_code and a place). */
int ie_post_text(const char *fields, char **resp);
/* GET base/path. */
int ie_get(const char *path, char **resp);
/* A string field of the first object of an Open311 answer (malloc'd) or
 * NULL. */
char *ie_first(const char *resp, const char *field);
#define ie_id_of(resp) ie_first((resp), "service_request_id")
#define ie_error_code(resp) ie_first((resp), "error_code")
/* The reports stored. */
long ie_reports(void);
/* ZeroMQ gateway client: one request (m packed, or raw bytes when m is
 * NULL), one reply (caller frees) or NULL. */
Antt__V1__SubmitReply *ie_zmq_submit(const Antt__V1__SubmitReport *m, const void *raw, size_t rawlen);
/* Reads AcceptedReports from the PULL socket until one has id. */
typedef struct ie_seek {
    const char *id;                 /* wanted */
    Antt__V1__AcceptedReport *got;  /* the last one of it read (ie_seek_done frees) */
} ie_seek_t;

/* at_wait_until's condition (arg an ie_seek_t): an AcceptedReport of id
 * came. */
int ie_seen(void *arg);
void ie_seek_done(ie_seek_t *k);

#endif
