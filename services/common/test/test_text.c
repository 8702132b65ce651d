/* Unit tests: antt_text (UTF-8, NFC, folding) and antt_crypto. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "antt_crypto.h"
#include "antt_text.h"

static void test_nfc(void **state)
{
    (void)state;
    char *out;
    size_t n;
    /* "bị" written decomposed: b, i, combining dot below */
    const char decomposed[] = "b\x69\xcc\xa3";
    assert_int_equal(antt_text_nfc(decomposed, strlen(decomposed), &out, &n), 0);
    assert_string_equal(out, "bị");
    assert_int_equal(n, 2);
    free(out);
    assert_int_equal(antt_text_nfc("tr\xe1\xbb\x99m", 6, &out, &n), 0);
    assert_int_equal(n, 4);
    free(out);
    /* invalid, overlong, NUL, other control characters */
    assert_int_equal(antt_text_nfc("\xff", 1, &out, &n), -EILSEQ);
    assert_int_equal(antt_text_nfc("\xc0\xaf", 2, &out, &n), -EILSEQ);
    assert_int_equal(antt_text_nfc("a\0b", 3, &out, &n), -EILSEQ);
    assert_int_equal(antt_text_nfc("a\x07", 2, &out, &n), -EILSEQ);
    assert_int_equal(antt_text_nfc("\xed\xa0\x80", 3, &out, &n), -EILSEQ); /* surrogate */
    assert_int_equal(antt_text_nfc("line\nnext\ttab", 13, &out, &n), 0);
    free(out);
}

static void test_fold(void **state)
{
    (void)state;
    char *f = antt_text_fold("Nhà tôi BỊ TRỘM xe, đêm qua!!", strlen("Nhà tôi BỊ TRỘM xe, đêm qua!!"));
    assert_string_equal(f, "nha toi bi trom xe dem qua");
    free(f);
    f = antt_text_fold("ĐÁNH NHAU ở Đường số 7", strlen("ĐÁNH NHAU ở Đường số 7"));
    assert_string_equal(f, "danh nhau o duong so 7");
    free(f);
}

static void test_phone(void **state)
{
    (void)state;
    char a[24], b[24], c[24];
    assert_int_equal(antt_phone_normalize("+84 912-345-678", a), 0);
    assert_int_equal(antt_phone_normalize("0912345678", b), 0);
    assert_int_equal(antt_phone_normalize("84912345678", c), 0);
    assert_string_equal(a, "0912345678");
    assert_string_equal(b, a);
    assert_string_equal(c, a);
    assert_int_equal(antt_phone_normalize("12", a), -EINVAL);
    assert_int_equal(antt_phone_normalize("09x12345678", a), -EINVAL);
}

static void test_seal(void **state)
{
    (void)state;
    uint8_t pk[32], sk[32], key[32] = {1, 2, 3};
    antt_seal_keypair(pk, sk);
    const char *msg = "{\"phone\":\"0912345678\"}";
    uint8_t *box;
    size_t blen;
    antt_seal(pk, msg, strlen(msg), &box, &blen);
    assert_int_equal(blen, strlen(msg) + 48);
    assert_null(memmem(box, blen, "0912345678", 10));
    char *out;
    size_t olen;
    assert_int_equal(antt_unseal(pk, sk, box, blen, &out, &olen), 0);
    assert_string_equal(out, msg);
    free(out);
    box[blen - 1] ^= 1;
    assert_int_equal(antt_unseal(pk, sk, box, blen, &out, &olen), -EBADMSG);
    free(box);

    uint8_t h1[32], h2[32], h3[32];
    antt_reporter_hash(key, "0912345678", h1);
    antt_reporter_hash(key, "0912345678", h2);
    key[0] = 9;
    antt_reporter_hash(key, "0912345678", h3);
    assert_memory_equal(h1, h2, 32);
    assert_memory_not_equal(h1, h3, 32);

    char hex[65];
    uint8_t back[32];
    antt_key_encode(pk, hex);
    assert_int_equal(antt_key_decode(hex, back), 0);
    assert_memory_equal(back, pk, 32);
    assert_int_equal(antt_key_decode("short", back), -EINVAL);
}

int main(void)
{
    if (antt_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nfc),
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_phone),
        cmocka_unit_test(test_seal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
