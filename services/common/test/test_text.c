/* Unit tests: antt_text (UTF-8, NFC, folding) and antt_crypto. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <utf8proc.h>

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

/* The folding as utf8proc_map gives it (the straightforward way: map, then
 * read the UTF-8 back), for comparing with antt_text_fold_clauses. */
static char *s_fold_reference(const char *s, size_t len)
{
    utf8proc_uint8_t *m = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &m,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_STRIPMARK | UTF8PROC_CASEFOLD);
    if (r < 0)
        return NULL;
    char *out = malloc(4 * (size_t)r + 1);
    size_t o = 0;
    int space = 1, pending = 0;
    utf8proc_int32_t prev = 0;
    for (utf8proc_ssize_t i = 0; i < r;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(m + i, r - i, &cp);
        if (cp == 0x0111 || cp == 0x0110)
            cp = 'd';
        utf8proc_category_t cat = utf8proc_category(cp);
        if ((cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
            (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO)) {
            if (pending && o > 0) {
                out[o++] = (char)pending;
                out[o++] = ' ';
            }
            pending = 0;
            o += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)out + o);
            space = 0;
        } else {
            int next = i + k < r ? m[i + k] : 0;
            int digits = prev >= '0' && prev <= '9' && next >= '0' && next <= '9';
            int mk = 0;
            if ((cp == '.' || cp == ',') && !digits)
                mk = cp;
            else if (cp == '!' || cp == '?' || cp == '\n' || cp == '\r' || cp == 0x2026)
                mk = '.';
            else if (cp == ';' || cp == ':' || cp == '(' || cp == ')')
                mk = ',';
            if (mk == '.' || (mk == ',' && pending == 0))
                pending = mk;
            if (!space) {
                out[o++] = ' ';
                space = 1;
            }
        }
        prev = cp;
        i += k;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    free(m);
    return out;
}

/* The folding reads code points straight from utf8proc's decomposition: it
 * must give what utf8proc_map gives, for precomposed and decomposed
 * Vietnamese, expanding case folds (ß, ligatures), Hangul that composes,
 * other scripts and punctuation, and random text. */
static void test_fold_matches_map(void **state)
{
    (void)state;
    const char *cases[] = {
        "Nhà tôi BỊ TRỘM xe, đêm qua!!",
        "Nha\xcc\x80 to\xcc\x82i bi\xcc\xa3 tro\xcc\x82\xcc\xa3m", /* NFD */
        "Straße ﬃ ΐ İstanbul ǅ",
        "\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8 한국", /* conjoining jamo */
        "giá 10.000đ, 2,5 triệu; (gấp): 24/7… xong.\r\nhết",
        "١٢٣ ४५६ ½ ²  \t tab",
        "",
        "...,,,!!",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *a = antt_text_fold_clauses(cases[i], strlen(cases[i])), *b = s_fold_reference(cases[i], strlen(cases[i]));
        assert_non_null(a);
        assert_non_null(b);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
    /* random valid UTF-8 from a mix of ranges */
    static const uint32_t ranges[][2] = {{0x20, 0x7e}, {0xc0, 0x1ff}, {0x300, 0x36f}, {0x1ea0, 0x1ef9},
                                         {0x1100, 0x11ff}, {0xac00, 0xac40}, {0x2000, 0x206f}, {0xfb00, 0xfb06}};
    unsigned seed = 12345;
    for (int round = 0; round < 2000; round++) {
        char buf[256];
        size_t n = 0;
        int cps = (int)(seed % 40);
        for (int k = 0; k < cps; k++) {
            seed = seed * 1103515245u + 12345u;
            const uint32_t *rg = ranges[(seed >> 8) % 8];
            uint32_t cp = rg[0] + (seed >> 12) % (rg[1] - rg[0] + 1);
            n += (size_t)utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)buf + n);
        }
        seed = seed * 1103515245u + 12345u;
        char *a = antt_text_fold_clauses(buf, n), *b = s_fold_reference(buf, n);
        assert_non_null(a);
        assert_non_null(b);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
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
        cmocka_unit_test(test_fold_matches_map),
        cmocka_unit_test(test_phone),
        cmocka_unit_test(test_seal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
