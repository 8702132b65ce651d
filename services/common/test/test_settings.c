/* Unit tests of antt_settings: each type's checks and bounds, defaults,
 * empty values, where a value came from, secrets never echoed, and which
 * unknown names a service refuses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "antt_settings.h"

typedef struct s_set {
    long n;           /* t.n */
    double x;         /* t.x */
    int on;           /* t.on */
    const char *ep;   /* t.ep */
    const char *lvl;  /* t.lvl */
    const char *s;    /* t.s */
} s_set_t;

static const antt_setting_t s_rows[] = {
    ANTT_SETTING_INT("t.n", "5", 1, 10, s_set_t, n, "a count"),
    ANTT_SETTING_DOUBLE("t.x", "1.5", 0, 2, s_set_t, x, "a share"),
    ANTT_SETTING_BOOL("t.on", "true", s_set_t, on, "a switch"),
    ANTT_SETTING_ENDPOINT("t.ep", "tcp://127.0.0.1:1", s_set_t, ep, "an endpoint"),
    ANTT_SETTING_CHOICE("t.lvl", "info", "debug info", s_set_t, lvl, "a level"),
    ANTT_SETTING_STRING("t.s", "", s_set_t, s, "a text"),
    ANTT_SETTING_NAMED("t.http", ANTT_STYPE_HOSTPORT, "127.0.0.1:0", "a listener"),
    ANTT_SETTING_KEY("t.key", "a secret"),
};
static const antt_settings_t s_table = ANTT_SETTINGS("t", s_rows);

/* the bound strings are borrowed from the config: it lives until the next call */
static antt_config_t *s_cfg;

static int s_bind(const char *key, const char *value, s_set_t *out, char *err)
{
    antt_config_destroy(&s_cfg);
    s_cfg = antt_config_new();
    if (key)
        antt_config_set(s_cfg, key, value);
    memset(out, 0, sizeof(*out));
    return antt_settings_bind(&s_table, s_cfg, out, err, 256);
}

static void test_defaults_and_values(void **state)
{
    (void)state;
    s_set_t v;
    char err[256];
    assert_int_equal(s_bind(NULL, NULL, &v, err), 0);
    assert_int_equal(v.n, 5);
    assert_true(v.x == 1.5);
    assert_int_equal(v.on, 1);
    assert_string_equal(v.ep, "tcp://127.0.0.1:1");
    assert_string_equal(v.lvl, "info");
    assert_string_equal(v.s, "");
    assert_int_equal(s_bind("t.n", "10", &v, err), 0);
    assert_int_equal(v.n, 10);
    assert_int_equal(s_bind("t.n", "", &v, err), 0); /* empty: the default */
    assert_int_equal(v.n, 5);
    assert_int_equal(s_bind("t.on", "off", &v, err), 0);
    assert_int_equal(v.on, 0);
    assert_int_equal(s_bind("t.ep", "", &v, err), 0); /* none */
    assert_string_equal(v.ep, "");
    assert_int_equal(s_bind("t.lvl", "debug", &v, err), 0);
    assert_int_equal(s_bind("t.http", "[::1]:80", &v, err), 0);
}

static void test_bad_values_name_the_key(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value, *want;
    } bad[] = {
        {"t.n", "500k", "invalid value for t.n: \"500k\" (an integer from 1 to 10)"},
        {"t.n", "11", "(an integer from 1 to 10)"},
        {"t.n", "0", "(an integer from 1 to 10)"},
        {"t.n", "99999999999999999999", "an integer"},
        {"t.x", "nan", "(a number from 0 to 2)"},
        {"t.x", "2.5", "(a number from 0 to 2)"},
        {"t.on", "TRUE", "(true or false)"},
        {"t.ep", "127.0.0.1:5", "(a ZeroMQ endpoint"},
        {"t.lvl", "verbose", "(one of: debug info)"},
        {"t.http", "8080", "(host:port"},
        {"t.http", "h:70000", "(host:port"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s_set_t v;
        char err[256] = "";
        assert_int_equal(s_bind(bad[i].key, bad[i].value, &v, err), -EINVAL);
        if (strstr(err, bad[i].want) == NULL)
            fprintf(stderr, "%s=%s: %s\n", bad[i].key, bad[i].value, err);
        assert_non_null(strstr(err, bad[i].want));
    }
    /* the environment wins and is named */
    setenv("ANTT_T_N", "x", 1);
    s_set_t v;
    char err[256];
    assert_int_equal(s_bind("t.n", "3", &v, err), -EINVAL);
    assert_non_null(strstr(err, "set by ANTT_T_N"));
    unsetenv("ANTT_T_N");
    printf("%s\n", err);
}

static void test_unknown_names(void **state)
{
    (void)state;
    static const antt_setting_t common_rows[] = {
        ANTT_SETTING_NAMED("db.conninfo", ANTT_STYPE_STRING, "", "a connection"),
    };
    static const antt_settings_t common = ANTT_SETTINGS("common", common_rows);
    static const antt_setting_t intake_rows[] = {
        ANTT_SETTING_NAMED("intake.batch_max", ANTT_STYPE_INT, "5", "a count"),
    };
    static const antt_settings_t intake = ANTT_SETTINGS("intake", intake_rows);
    const antt_settings_t *sets[] = {&common, &intake};
    char err[256];
    static const struct {
        const char *file_key; /* or NULL */
        const char *env;      /* or NULL */
        int ok;
    } cases[] = {
        {"intake.batch_max", NULL, 1},
        {"db.conninfo", NULL, 1},
        {"aggregation.batch_max", NULL, 1}, /* another service's */
        {"console.feed_url", NULL, 1},      /* the CLI's console's, in a shared file */
        {"intake.bach_max", NULL, 0},
        {"db.conifo", NULL, 0},
        {"intaek.batch_max", NULL, 0},
        {"nodots", NULL, 0},
        {NULL, "ANTT_INTAKE_BATCH_MAX=1", 1},
        {NULL, "ANTT_DB_CONNINFO=x", 1},
        {NULL, "ANTT_NOTIFICATION_WHATEVER=1", 1}, /* another service's */
        {NULL, "ANTT_CONFIG=/etc/antt.conf", 1},   /* not a setting */
        {NULL, "ANTT_INTAKE_BATCHMAX=1", 0},
        {NULL, "ANTT_DB_X=1", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        antt_config_t *c = antt_config_new();
        if (cases[i].file_key)
            antt_config_set(c, cases[i].file_key, "1");
        char *envp[] = {(char *)cases[i].env, NULL};
        int rc = antt_settings_check_names(sets, 2, "intake", c, envp, err, sizeof(err));
        if ((rc == 0) != cases[i].ok)
            fprintf(stderr, "case %zu: rc %d: %s\n", i, rc, err);
        assert_int_equal(rc == 0, cases[i].ok);
        if (!cases[i].ok)
            assert_non_null(strstr(err, cases[i].file_key ? cases[i].file_key : "ANTT_"));
        antt_config_destroy(&c);
    }
}

static void test_secret_not_echoed(void **state)
{
    (void)state;
    static const antt_setting_t rows[] = {
        {"t.key", ANTT_STYPE_CHOICE, "a", 0, 0, "a b", ANTT_SETTING_UNBOUND, ANTT_SETTING_SECRET, "a secret"},
    };
    static const antt_settings_t t = ANTT_SETTINGS("t", rows);
    antt_config_t *c = antt_config_new();
    antt_config_set(c, "t.key", "hunter2");
    char err[256];
    assert_int_equal(antt_settings_bind(&t, c, NULL, err, sizeof(err)), -EINVAL);
    assert_null(strstr(err, "hunter2"));
    assert_non_null(strstr(err, "t.key (not shown)"));
    antt_config_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_values),
        cmocka_unit_test(test_bad_values_name_the_key),
        cmocka_unit_test(test_unknown_names),
        cmocka_unit_test(test_secret_not_echoed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    antt_config_destroy(&s_cfg);
    return rc;
}
