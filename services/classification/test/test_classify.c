/* Unit tests of the classifier: tokenizer, rules, negation, model file,
 * area names. The shipped rules and corpus are used where they matter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "antt_categories.h"
#include "classify.h"
#include "classify_areas.h"

#define RULES ANTT_SOURCE_DIR "/config/classification.rules"

static classify_rules_t *s_rules;

static int s_setup(void **state)
{
    (void)state;
    char err[512];
    s_rules = classify_rules_load(RULES, err, sizeof(err));
    if (s_rules == NULL)
        fprintf(stderr, "%s\n", err);
    return s_rules ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    classify_rules_destroy(&s_rules);
    return 0;
}

static char *s_joined(const char *text)
{
    classify_tokens_t t;
    classify_tokens_init(&t);
    assert_int_equal(classify_tokenize(&t, s_rules, text, strlen(text)), 0);
    static char out[1024];
    out[0] = '\0';
    for (size_t i = 0; i < t.n; i++) {
        if (i)
            strcat(out, " ");
        strcat(out, t.tok[i]);
    }
    classify_tokens_cleanup(&t);
    return out;
}

static void test_tokenizer_folds_and_expands_shorthand(void **state)
{
    (void)state;
    assert_string_equal(s_joined("Đang CHÁY nhà!!"), "dang chay nha");
    assert_string_equal(s_joined("e ko bik j, bj trộm r"), "em khong biet gi , bi trom roi");
    /* a number is not a clause boundary; punctuation runs are one boundary */
    assert_string_equal(s_joined("mất 10.000 đồng... ở hẻm 2,5"), "mat 10 000 dong , o hem 2 5");
    assert_string_equal(s_joined("  ,;  "), "");
    classify_tokens_t t;
    classify_tokens_init(&t);
    assert_int_equal(classify_tokenize(&t, s_rules, "\xff\xfe", 2), -EILSEQ);
    classify_tokens_cleanup(&t);
}

static void s_run(classify_t *cl, const char *text, const char *hint, const char *cat, int prio)
{
    classify_result_t r;
    assert_int_equal(classify_run(cl, text, strlen(text), hint, 1, &r), 0);
    if (strcmp(antt_categories[r.category].code, cat) != 0 || (prio && r.priority != prio)) {
        for (int i = 0; i < r.nreasons; i++)
            fprintf(stderr, "  %s\n", r.reasons[i]);
        fail_msg("\"%s\": %s P%d, expected %s P%d", text, antt_categories[r.category].code, r.priority, cat,
                 prio);
    }
    assert_true(r.confidence > 0 && r.confidence <= 1);
    classify_result_cleanup(&r);
}

/* Rules alone (no model): terms, whole words, negation, hints. */
static void test_rules_words_negation_and_hint(void **state)
{
    (void)state;
    classify_t *cl = classify_new(s_rules, NULL);
    s_run(cl, "nhà tôi bị trộm xe máy hôm qua", NULL, "theft", 3);
    s_run(cl, "nha toi bi trom xe may hom qua", NULL, "theft", 3);
    s_run(cl, "MY MOTORBIKE WAS STOLEN last night", NULL, "theft", 3);
    /* whole words: "trombone" holds no theft */
    s_run(cl, "trombone", NULL, "other", 0);
    /* "không phải trộm mà là cướp": the negated term does not count */
    s_run(cl, "không phải trộm mà là cướp giật", NULL, "robbery", 0);
    /* "không ai bị thương" is not an injury */
    classify_result_t r;
    const char *t = "va quẹt xe nhẹ, không ai bị thương";
    assert_int_equal(classify_run(cl, t, strlen(t), NULL, 1, &r), 0);
    assert_int_not_equal(r.priority, 1);
    int negated = 0;
    for (int i = 0; i < r.nreasons; i++)
        negated |= strstr(r.reasons[i], "phủ định") != NULL;
    assert_true(negated);
    classify_result_cleanup(&r);
    /* a hint decides only when the text says little */
    s_run(cl, "xin hãy kiểm tra", "drugs", "drugs", 0);
    s_run(cl, "cháy nhà lửa bốc cao", "theft", "fire", 1);
    /* nothing to go on: "other", or the hint */
    s_run(cl, "", NULL, "other", 0);
    s_run(cl, "!!!", "fire", "fire", 0);
    /* an unknown hint is ignored */
    s_run(cl, "bị trộm", "no_such_code", "theft", 0);
    /* each phrase counts once: repetition does not outvote */
    t = "trộm trộm trộm trộm trộm cướp giật";
    assert_int_equal(classify_run(cl, t, strlen(t), NULL, 0, &r), 0);
    assert_int_equal(r.nreasons, 0); /* explain = 0: no strings */
    classify_result_cleanup(&r);
    classify_destroy(&cl);
}

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_rules_errors_name_the_line(void **state)
{
    (void)state;
    char path[] = "/tmp/antt-rules-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"[category theft]\n3 trộm\n[category nope]\n", ":3:"},
        {"[category theft]\nabc trộm\n", ":2:"},
        {"[priority P7]\n", ":1:"},
        {"[settings]\nmodel_weight = x\n", ":2:"},
        {"[category theft]\n3 trộm | \n", ":2:"},
        {"[category theft]\n3 một hai ba bốn năm sáu bảy\n", ":2:"},
        {"[shorthand]\nko\n", ":2:"},
        {"# nothing\n", "no category terms"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s_write(path, cases[i].text);
        char err[512] = "";
        classify_rules_t *r = classify_rules_load(path, err, sizeof(err));
        if (r != NULL)
            fail_msg("case %zu was accepted", i);
        if (strstr(err, cases[i].want) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
    }
    unlink(path);
    char err[512];
    assert_null(classify_rules_load("/nonexistent/rules", err, sizeof(err)));
    assert_non_null(strstr(err, "could not open"));
}

static char *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(64 << 20);
    *len = fread(buf, 1, 64 << 20, f);
    fclose(f);
    return buf;
}

/* Trains on a tiny corpus, saves, loads, and refuses damaged files, a model
 * of other rules, and one whose checksum does not match. */
static void test_model_roundtrip_and_corruption(void **state)
{
    (void)state;
    const classify_example_t ex[] = {
        {0, 3, "mất chiếc xe đạp ở trường", 0, 1},    {0, 3, "lấy mất cái ví trên xe buýt", 1, 1},
        {9, 1, "khói đen bốc lên từ xưởng gỗ", 2, 1}, {9, 1, "lửa cháy lan sang nhà bên", 3, 1},
    };
    classify_train_opts_t o;
    classify_train_defaults(&o);
    o.folds = 0;
    char err[512];
    classify_model_t *m = classify_model_train(s_rules, ex, 4, &o, NULL, err, sizeof(err));
    assert_non_null(m);
    assert_true(classify_model_features(m) > 20);
    char path[] = "/tmp/antt-model-XXXXXX", path2[] = "/tmp/antt-model-XXXXXX";
    int fd = mkstemp(path), fd2 = mkstemp(path2);
    assert_true(fd >= 0 && fd2 >= 0);
    close(fd);
    close(fd2);
    assert_int_equal(classify_model_save(m, path), 0);
    classify_model_t *l = classify_model_load(path, s_rules, err, sizeof(err));
    assert_non_null(l);
    assert_int_equal(classify_model_features(l), classify_model_features(m));
    assert_int_equal(strlen(classify_model_version(l)), 12);
    assert_int_equal(classify_model_examples(l), 4);
    /* deterministic: the same corpus gives the same file, byte for byte */
    classify_model_t *m2 = classify_model_train(s_rules, ex, 4, &o, NULL, err, sizeof(err));
    assert_int_equal(classify_model_save(m2, path2), 0);
    classify_model_destroy(&m2);
    size_t n1, n2;
    char *b1 = s_slurp(path, &n1), *b2 = s_slurp(path2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    free(b2);
    /* the loaded model decides like the trained one */
    classify_t *a = classify_new(s_rules, m), *b = classify_new(s_rules, l);
    const char *t = "khói bốc lên từ xưởng";
    classify_result_t ra, rb;
    assert_int_equal(classify_run(a, t, strlen(t), NULL, 0, &ra), 0);
    assert_int_equal(classify_run(b, t, strlen(t), NULL, 0, &rb), 0);
    assert_int_equal(ra.category, rb.category);
    assert_true(ra.confidence == rb.confidence);
    /* the resident's other choice is evidence, and the answer needs review */
    assert_int_equal(classify_run(b, t, strlen(t), "theft", 1, &rb), 0);
    if (rb.category != 0) {
        assert_true(rb.needs_review);
        assert_non_null(strstr(rb.review_reason, "người báo chọn theft"));
    }
    classify_result_cleanup(&rb);
    classify_destroy(&a);
    classify_destroy(&b);
    classify_model_destroy(&l);
    /* one byte changed: the checksum refuses it */
    b1[n1 / 2] ^= 1;
    FILE *f = fopen(path2, "wb");
    fwrite(b1, 1, n1, f);
    fclose(f);
    free(b1);
    assert_null(classify_model_load(path2, s_rules, err, sizeof(err)));
    assert_non_null(strstr(err, "corrupt"));
    /* truncated, then with a bad magic */
    f = fopen(path, "r+");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 40), 0);
    fclose(f);
    assert_null(classify_model_load(path, s_rules, err, sizeof(err)));
    assert_non_null(strstr(err, "corrupt"));
    s_write(path, "not a model at all, no, not at all, never, not a model");
    assert_null(classify_model_load(path, s_rules, err, sizeof(err)));
    assert_non_null(strstr(err, "not an antt model"));
    /* a model of other rules is refused */
    char rpath[] = "/tmp/antt-rules-XXXXXX";
    fd = mkstemp(rpath);
    close(fd);
    s_write(rpath, "[category theft]\n3 trộm\n");
    char rerr[256];
    classify_rules_t *other = classify_rules_load(rpath, rerr, sizeof(rerr));
    assert_non_null(other);
    assert_int_equal(classify_model_save(m, path), 0);
    assert_null(classify_model_load(path, other, err, sizeof(err)));
    assert_non_null(strstr(err, "other rules"));
    classify_rules_destroy(&other);
    unlink(rpath);
    unlink(path);
    unlink(path2);
    assert_null(classify_model_load(path, s_rules, err, sizeof(err)));
    assert_non_null(strstr(err, "antt train"));
    classify_model_destroy(&m);
    classify_model_destroy(&m); /* idempotent */
    /* invalid UTF-8 in a training example is named */
    const classify_example_t bad[] = {{0, 3, "ok", 0, 0}, {0, 3, "\xc3\x28", 1, 0}};
    assert_null(classify_model_train(s_rules, bad, 2, &o, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "example 2"));
}

static void test_areas_by_name(void **state)
{
    (void)state;
    classify_areas_t *a = classify_areas_new();
    classify_areas_add(a, "D", "Quận Bình Tân", 2);
    classify_areas_add(a, "W", "Phường Bình Trị Đông", 3);
    classify_areas_add(a, "WA", "Phường Bình Trị Đông A", 3);
    classify_areas_add(a, "WA", "Phuong Binh Tri Dong A", 3); /* the ASCII spelling of one area */
    classify_areas_add(a, "W-KP1", "Khu phố 1, Phường Bình Trị Đông", 4);
    classify_areas_add(a, "X1", "Phường Tân Tạo", 3);
    classify_areas_add(a, "X2", "Xã Tân Tạo", 3); /* the same bare name twice: ambiguous */
    assert_int_equal(classify_areas_count(a), 7);
    /* longest name wins: "... Đông A" over "... Đông" */
    assert_string_equal(classify_areas_find(a, "12 đường số 7, P. Bình Trị Đông A", NULL), "WA");
    assert_string_equal(classify_areas_find(a, "binh tri dong a, binh tan", NULL), "WA");
    assert_string_equal(classify_areas_find(a, "hẻm 5 Bình Trị Đông", NULL), "W");
    assert_string_equal(classify_areas_find(a, "kp 1 phường bình trị đông", NULL), "W-KP1");
    assert_string_equal(classify_areas_find(a, "Quận Bình Tân", NULL), "D");
    /* a bare name shared by two areas is no answer; with its level word it is */
    assert_null(classify_areas_find(a, "Tân Tạo", NULL));
    assert_string_equal(classify_areas_find(a, "xã Tân Tạo", NULL), "X2");
    /* in the description only full names count */
    assert_null(classify_areas_find(a, NULL, "chuyện ở bình trị đông"));
    assert_string_equal(classify_areas_find(a, "", "chuyện ở phường bình trị đông"), "W");
    assert_null(classify_areas_find(a, "\xff", NULL));
    classify_areas_destroy(&a);
    classify_areas_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenizer_folds_and_expands_shorthand),
        cmocka_unit_test(test_rules_words_negation_and_hint),
        cmocka_unit_test(test_rules_errors_name_the_line),
        cmocka_unit_test(test_model_roundtrip_and_corruption),
        cmocka_unit_test(test_areas_by_name),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
