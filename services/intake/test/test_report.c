/* Unit tests: intake_report (validation) and intake_limits (token buckets). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "intake_limits.h"
#include "intake_report.h"

static intake_keys_t K;
static const int64_t NOW = 1795380000000LL; /* 2026-11-22T20:40:00Z */

static int s_check(const intake_input_t *in, const char *want_code)
{
    intake_report_t r;
    intake_error_t e = {0};
    int rc = intake_validate(in, &K, NOW, &r, &e);
    int ok = want_code == NULL ? rc == 0 : (rc == -EINVAL && strcmp(e.code, want_code) == 0);
    if (!ok)
        print_error("want %s, got rc=%d code=%s (%s)\n", want_code ? want_code : "ok", rc,
                    e.code ? e.code : "-", e.message);
    intake_report_cleanup(&r);
    return ok;
}

static void test_valid_report(void **state)
{
    (void)state;
    const char *media[] = {"https://ex.org/a.jpg"};
    intake_input_t in = {0};
    in.idempotency_key = "k-1";
    in.description = "Nha\xcc\x80 to\xcc\x82i"; /* decomposed "Nhà tôi" */
    in.description_len = strlen(in.description);
    in.service_code = "theft";
    in.lat_text = "10.75";
    in.lon_text = "106.62";
    in.area_code = "vn-hcm-bta-al";
    in.occurred_text = "2026-11-22T01:00:00+07:00";
    in.media_urls = media;
    in.nmedia = 1;
    in.phone = "+84 912 345 678";
    in.name = "Nguyễn Văn A";
    intake_report_t r;
    intake_error_t e;
    assert_int_equal(intake_validate(&in, &K, NOW, &r, &e), 0);
    assert_string_equal(r.description, "Nhà tôi");
    assert_string_equal(r.area_code, "VN-HCM-BTA-AL");
    assert_true(r.has_location);
    assert_true(r.has_occurred);
    assert_int_equal(r.occurred_ms, NOW - (26 * 3600 + 40 * 60) * 1000LL); /* 2026-11-21T18:00Z */
    assert_true(r.has_reporter);
    assert_non_null(r.contact_sealed);
    assert_null(memmem(r.contact_sealed, r.contact_sealed_len, "912345678", 9));
    intake_report_t *copy = intake_report_dup(&r);
    assert_string_equal(copy->media_urls[0], "https://ex.org/a.jpg");
    intake_report_destroy(&copy);
    intake_report_cleanup(&r);

    /* the same phone written differently: the same pseudonym */
    intake_report_t r2, r3;
    in.phone = "0912345678";
    assert_int_equal(intake_validate(&in, &K, NOW, &r2, &e), 0);
    in.phone = "0912 345 679";
    assert_int_equal(intake_validate(&in, &K, NOW, &r3, &e), 0);
    intake_report_t r1;
    in.phone = "84912345678";
    assert_int_equal(intake_validate(&in, &K, NOW, &r1, &e), 0);
    assert_memory_equal(r1.reporter_hash, r2.reporter_hash, ANTT_HASH_BYTES);
    assert_memory_not_equal(r2.reporter_hash, r3.reporter_hash, ANTT_HASH_BYTES);
    intake_report_cleanup(&r1);
    intake_report_cleanup(&r2);
    intake_report_cleanup(&r3);
}

static void test_anonymous_minimal(void **state)
{
    (void)state;
    intake_input_t in = {0};
    in.description = "co nguoi trom xe";
    in.description_len = strlen(in.description);
    intake_report_t r;
    intake_error_t e;
    assert_int_equal(intake_validate(&in, &K, NOW, &r, &e), 0);
    assert_null(r.contact_sealed);
    assert_false(r.has_reporter);
    assert_false(r.has_location);
    assert_string_equal(r.idempotency_key, r.id); /* no key: the report id */
    intake_report_cleanup(&r);

    intake_input_t only_code = {0};
    only_code.service_code = "fire";
    assert_true(s_check(&only_code, NULL));
}

static void test_rejections(void **state)
{
    (void)state;
    intake_input_t in;
    char big[4100 * 3];
#define BASE()                                                                                     \
    do {                                                                                           \
        memset(&in, 0, sizeof(in));                                                                \
        in.description = "x";                                                                      \
        in.description_len = 1;                                                                    \
    } while (0)
    BASE();
    in.description = "";
    in.description_len = 0;
    assert_true(s_check(&in, "missing_description"));
    BASE();
    in.service_code = "ufo";
    assert_true(s_check(&in, "unknown_service_code"));
    BASE();
    in.description = "\xe0\x80\x80";
    in.description_len = 3;
    assert_true(s_check(&in, "invalid_utf8"));
    BASE();
    memset(big, 'a', 4001);
    in.description = big;
    in.description_len = 4001;
    assert_true(s_check(&in, "too_long"));
    /* 4000 Vietnamese letters of 3 bytes each are fine: the limit counts characters */
    BASE();
    for (int i = 0; i < 4000; i++)
        memcpy(big + 3 * i, "\xe1\xbb\x87", 3); /* ệ */
    in.description = big;
    in.description_len = 12000;
    assert_true(s_check(&in, NULL));
    BASE();
    in.lat_text = "10.7";
    assert_true(s_check(&in, "incomplete_location"));
    BASE();
    in.lat_text = "10.7";
    in.lon_text = "1e999";
    assert_true(s_check(&in, "invalid_location"));
    /* decimal degrees only: not hex (strtod reads 0x1p3 as 8), not an exponent */
    static const char *const not_decimal[] = {"0x1p3", "1e1", "inf", "nan", " 10.7", "10.7 ", "+", ".", "1..2"};
    for (size_t i = 0; i < sizeof(not_decimal) / sizeof(not_decimal[0]); i++) {
        BASE();
        in.lat_text = "10.7";
        in.lon_text = not_decimal[i];
        assert_true(s_check(&in, "invalid_location"));
    }
    BASE();
    in.lat_text = "-.5";
    in.lon_text = "+106.65";
    assert_true(s_check(&in, NULL));
    BASE();
    in.has_latlon = 1;
    in.lat = -91;
    in.lon = 0;
    assert_true(s_check(&in, "invalid_location"));
    BASE();
    in.area_code = "a b";
    assert_true(s_check(&in, "invalid_area_code"));
    BASE();
    in.occurred_text = "2026-11-22T21:00:00Z"; /* 20 min in the future */
    assert_true(s_check(&in, "invalid_occurred_datetime"));
    BASE();
    in.has_occurred_ms = 1;
    in.occurred_ms = 0;
    assert_true(s_check(&in, "invalid_occurred_datetime"));
    BASE();
    const char *bad_media[] = {"ftp://x/y"};
    in.media_urls = bad_media;
    in.nmedia = 1;
    assert_true(s_check(&in, "invalid_media_url"));
    BASE();
    in.email = "@nowhere";
    assert_true(s_check(&in, "invalid_email"));
    BASE();
    in.phone = "call me";
    assert_true(s_check(&in, "invalid_phone"));
    BASE();
    in.idempotency_key = "tab\there";
    assert_true(s_check(&in, "invalid_idempotency_key"));
    BASE();
    in.language = "vi-VN; DROP";
    assert_true(s_check(&in, "invalid_language"));
}

/* The spec's form-encoded POST: service_code and a place required; a
 * field given wrong is named before one left out; ZeroMQ and JSON (no
 * spec_form) keep free text. */
static void test_spec_form(void **state)
{
    (void)state;
    intake_input_t in = {0};
    in.description = "co nguoi trom xe";
    in.description_len = strlen(in.description);
    assert_true(s_check(&in, NULL));
    in.spec_form = 1;
    assert_true(s_check(&in, "missing_service_code"));
    in.service_code = "theft";
    assert_true(s_check(&in, "missing_location"));
    in.address = "   ";
    in.address_len = 3;
    assert_true(s_check(&in, "missing_location")); /* blanks are no place */
    in.address = "123 Lê Lợi";
    in.address_len = strlen(in.address);
    assert_true(s_check(&in, NULL)); /* an SMS gateway's words */
    in.address = NULL;
    in.address_len = 0;
    in.address_id = "#NOTPINPOINTED#";
    assert_true(s_check(&in, NULL)); /* FixMyStreet's */
    in.address_id = NULL;
    in.area_code = "VN-HCM-BTA-AL";
    assert_true(s_check(&in, NULL));
    in.area_code = NULL;
    in.lat_text = "10.75";
    in.lon_text = "106.62";
    assert_true(s_check(&in, NULL));
    in.lon_text = NULL;
    assert_true(s_check(&in, "incomplete_location"));
    in.lat_text = NULL;
    in.service_code = NULL;
    in.phone = "12";
    assert_true(s_check(&in, "invalid_phone")); /* the wrong field first */
}

static void test_buckets(void **state)
{
    (void)state;
    intake_bucket_t b = {0};
    int64_t t = 1000000;
    for (int i = 0; i < 3; i++)
        assert_int_equal(intake_bucket_take(&b, 0.5, 3, t), 0);
    assert_int_equal(intake_bucket_take(&b, 0.5, 3, t), 2); /* one token every 2 s */
    assert_int_equal(intake_bucket_take(&b, 0.5, 3, t + 2000), 0);
    assert_true(intake_bucket_take(&b, 0.5, 3, t + 2000) >= 1);

    intake_reporters_t *rp = intake_reporters_new(64, 3600, 2); /* 1/s, burst 2 */
    uint8_t a[32] = {1}, c[32] = {2};
    assert_int_equal(intake_reporters_take(rp, 1, a, t), 0);
    assert_int_equal(intake_reporters_take(rp, 1, a, t), 0);
    assert_int_equal(intake_reporters_take(rp, 1, a, t), 1);
    assert_int_equal(intake_reporters_take(rp, 1, c, t), 0);
    /* the same number through another gateway: its own bucket, so that
     * gateway learns nothing of gateway 1's reports and cannot use them up */
    assert_int_equal(intake_reporters_take(rp, 2, a, t), 0);
    assert_int_equal(intake_reporters_take(rp, 2, a, t), 0);
    assert_int_equal(intake_reporters_take(rp, 2, a, t), 1);
    assert_int_equal(intake_reporters_take(rp, 1, a, t + 1000), 0);
    /* many reporters: the table recycles the least recently used and keeps working */
    for (int i = 0; i < 10000; i++) {
        uint8_t h[32];
        randombytes_buf(h, sizeof(h));
        assert_int_equal(intake_reporters_take(rp, 1, h, t + 2000 + i), 0);
    }
    intake_reporters_destroy(&rp);
    assert_null(rp);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    uint8_t sk[32];
    crypto_box_keypair(K.seal_pk, sk);
    randombytes_buf(K.hash_key, sizeof(K.hash_key));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_report),
        cmocka_unit_test(test_anonymous_minimal),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_spec_form),
        cmocka_unit_test(test_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
