/* Unit tests: antt_util (time, UUIDv7, buffers), antt_form, antt_config. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>

#include <cmocka.h>
#include <sodium.h>

#include "antt_cidr.h"
#include "antt_config.h"
#include "antt_form.h"
#include "antt_util.h"

static void test_parse_time(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(antt_parse_time("2026-11-22T20:40:00Z", &ms), 0);
    assert_int_equal(ms, 1795380000000LL);
    assert_int_equal(antt_parse_time("2026-11-23T03:40:00+07:00", &ms), 0);
    assert_int_equal(ms, 1795380000000LL);
    assert_int_equal(antt_parse_time("2026-11-22T20:40:00.250Z", &ms), 0);
    assert_int_equal(ms, 1795380000250LL);
    assert_int_equal(antt_parse_time("2026-11-22", &ms), 0);
    assert_int_equal(antt_parse_time("2026-02-29T00:00:00Z", &ms), -EINVAL);
    assert_int_equal(antt_parse_time("2024-02-29T00:00:00Z", &ms), 0);
    assert_int_equal(antt_parse_time("2026-13-01T00:00:00Z", &ms), -EINVAL);
    assert_int_equal(antt_parse_time("yesterday", &ms), -EINVAL);
    assert_int_equal(antt_parse_time("2026-11-22T20:40:00Zjunk", &ms), -EINVAL);
    char out[32];
    assert_string_equal(antt_format_time(1795380000250LL, out, sizeof(out)), "2026-11-22T20:40:00Z");
}

static void test_uuid7(void **state)
{
    (void)state;
    char a[ANTT_UUID_LEN + 1], b[ANTT_UUID_LEN + 1];
    antt_uuid7(a);
    antt_uuid7(b);
    assert_true(antt_uuid_valid(a));
    assert_int_equal(a[14], '7');
    assert_string_not_equal(a, b);
    assert_false(antt_uuid_valid("not-a-uuid"));
    assert_false(antt_uuid_valid("0192aaaa-bbbb-7ccc-8ddd-eeeeffff000g"));
}

static void test_buf(void **state)
{
    (void)state;
    antt_buf_t b;
    antt_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        antt_buf_printf(&b, "%d,", i);
    size_t len;
    char *s = antt_buf_steal(&b, &len);
    assert_int_equal(len, strlen(s));
    assert_memory_equal(s, "0,1,2,", 6);
    free(s);
    assert_null(b.data);
}

static void test_form(void **state)
{
    (void)state;
    antt_form_t f;
    const char *in = "api_key=k1&description=nha+toi+b%E1%BB%8B+tr%E1%BB%99m&media_url=a&media_url=b&empty=&flag";
    assert_int_equal(antt_form_parse(&f, in, strlen(in), 64), 0);
    assert_string_equal(antt_form_get(&f, "api_key")->value, "k1");
    assert_string_equal(antt_form_get(&f, "description")->value, "nha toi bị trộm");
    assert_int_equal(antt_form_count(&f, "media_url"), 2);
    assert_string_equal(antt_form_get(&f, "empty")->value, "");
    assert_string_equal(antt_form_get(&f, "flag")->value, "");
    assert_null(antt_form_get(&f, "missing"));
    antt_form_cleanup(&f);

    assert_int_equal(antt_form_parse(&f, "a=%zz", 5, 64), -EINVAL);
    assert_int_equal(antt_form_parse(&f, "a=%4", 4, 64), -EINVAL);
    assert_int_equal(antt_form_parse(&f, "a=1&b=2&c=3", 11, 2), -EINVAL);
    assert_int_equal(f.n, 0);
    assert_int_equal(antt_form_parse(&f, "a=%00b", 6, 2), 0);
    assert_int_equal(antt_form_get(&f, "a")->value_len, 2);
    antt_form_cleanup(&f);
}

static void test_config(void **state)
{
    (void)state;
    char path[] = "/tmp/antt-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# comment\n db.conninfo = \"host=x port=1\"\nintake.http=127.0.0.1:8080\nn = 42\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    antt_config_t *c = antt_config_new();
    char err[256];
    assert_int_equal(antt_config_load(c, path, err, sizeof(err)), 0);
    assert_string_equal(antt_config_get(c, "db.conninfo", NULL), "host=x port=1");
    assert_string_equal(antt_config_get(c, "n", NULL), "42");
    assert_int_equal(antt_config_size(c), 3);
    assert_string_equal(antt_config_key(c, 2), "n");
    assert_null(antt_config_key(c, 3));
    setenv("ANTT_INTAKE_HTTP", "0.0.0.0:9", 1);
    assert_string_equal(antt_config_get(c, "intake.http", NULL), "0.0.0.0:9");
    unsetenv("ANTT_INTAKE_HTTP");
    assert_string_equal(antt_config_get(c, "missing", "dflt"), "dflt");
    antt_config_destroy(&c);
    assert_null(c);
    antt_config_destroy(&c);

    FILE *f = fopen(path, "w");
    fputs("ok = 1\nthis line is wrong\n", f);
    fclose(f);
    c = antt_config_new();
    assert_int_equal(antt_config_load(c, path, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, ":2:"));
    antt_config_destroy(&c);
    unlink(path);
}

/* Address blocks: IPv4 and IPv6 prefixes, IPv4-mapped clients, and what is
 * not a block. */
static void test_cidr(void **state)
{
    (void)state;
    char err[200];
    antt_cidr_list_t *l = antt_cidr_parse("127.0.0.0/8, ::1,10.1.0.0/16 2001:db8::/32", err, sizeof(err));
    assert_non_null(l);
    assert_true(antt_cidr_match(l, "127.0.0.1"));
    assert_true(antt_cidr_match(l, "127.200.3.4"));
    assert_true(antt_cidr_match(l, "::1"));
    assert_true(antt_cidr_match(l, "::ffff:127.0.0.9"));
    assert_true(antt_cidr_match(l, "10.1.255.1"));
    assert_false(antt_cidr_match(l, "10.2.0.1"));
    assert_true(antt_cidr_match(l, "2001:db8:ffff::1"));
    assert_false(antt_cidr_match(l, "2001:db9::1"));
    assert_false(antt_cidr_match(l, "::2"));
    assert_false(antt_cidr_match(l, "192.168.0.1"));
    assert_false(antt_cidr_match(l, ""));
    antt_cidr_destroy(&l);
    l = antt_cidr_parse("10.0.0.0/12", err, sizeof(err));
    assert_true(antt_cidr_match(l, "10.15.0.1"));
    assert_false(antt_cidr_match(l, "10.16.0.1"));
    antt_cidr_destroy(&l);
    l = antt_cidr_parse("", err, sizeof(err));
    assert_non_null(l);
    assert_false(antt_cidr_match(l, "127.0.0.1"));
    antt_cidr_destroy(&l);
    static const char *const bad[] = {"127.0.0.0/33", "127.0.0/8", "::1/129", "10.0.0.0/", "10.0.0.0/x", "host"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(antt_cidr_parse(bad[i], err, sizeof(err)));
        assert_non_null(strstr(err, "not an address block"));
    }
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time), cmocka_unit_test(test_uuid7), cmocka_unit_test(test_buf),
        cmocka_unit_test(test_form),       cmocka_unit_test(test_config), cmocka_unit_test(test_cidr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
