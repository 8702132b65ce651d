/* open311_env: the stack of the Open311 tests (see open311_env.c): the
 * real antt-intake on a test database with three gateways (app, fms, and
 * slow: one request allowed), and the requests a client makes. */
#ifndef OPEN311_ENV_H
#define OPEN311_ENV_H

#include <libpq-fe.h>

#include "antt_test.h"

/* intake.public_url of the tests' intake: discovery names it, whatever Host says */
#define OE_PUBLIC_URL "https://open311.antt.test"

typedef struct oe_env {
    char *conninfo;   /* test database */
    PGconn *db;       /* for assertions */
    int http_port;    /* intake HTTP */
    char base[64];    /* http://127.0.0.1:port/open311/v2 */
    char *envv[16];   /* environment for the child */
    at_proc_t intake; /* the service */
} oe_env_t;

extern oe_env_t OE;

/* The cmocka group's set-up and tear-down (which fails unless intake
 * stops cleanly). */
int oe_setup(void **state);
int oe_teardown(void **state);
/* A monotonic clock in milliseconds. */
double oe_ms(void);
/* A request to base/path (body sent as ctype, the spec's form encoding
 * when NULL); the status, *resp as at_http. */
int oe_req(const char *method, const char *path, const char *ctype, const char *body, char **resp);
int oe_get(const char *path, char **resp);
/* Both formats ("%s" in path_fmt) answer status with error_code code. */
void oe_expect_error(const char *method, const char *path_fmt, const char *body, int status, const char *code);
/* The spec's order of a request's elements (GET Service Request(s)). */
extern const char OE_REQUEST_ELEMENTS[];
/* POSTs a report in the spec's form encoding, answered in fmt ("xml" or
 * "json"); its id (malloc'd). */
char *oe_post_form(const char *fmt, const char *body);
/* A string member of the first request of a JSON answer, or NULL. */
const char *oe_json_first(const char *resp, const char *key);

/* open311_updates.c */
void test_service_request_updates(void **state);
void test_post_update(void **state);

#endif
