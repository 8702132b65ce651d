/* test_config_docs: docs/operations.md lists exactly the settings the
 * services declare, with their defaults; the check fails when a key is
 * missing, unknown or given another default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli_settings.h"

static char *s_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* text without the line that holds needle */
static char *s_without_line(const char *text, const char *needle)
{
    const char *at = strstr(text, needle);
    assert_non_null(at);
    const char *start = at, *end = strchr(at, '\n');
    while (start > text && start[-1] != '\n')
        start--;
    char *out = malloc(strlen(text) + 1);
    size_t head = (size_t)(start - text);
    memcpy(out, text, head);
    strcpy(out + head, end ? end + 1 : "");
    return out;
}

static void test_docs_match_tables(void **state)
{
    (void)state;
    char *docs = s_read(ANTT_SOURCE_DIR "/docs/operations.md"), err[512] = "";
    int rc = cli_settings_check_docs(docs, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "docs/operations.md: %s\n", err);
    assert_int_equal(rc, 0);
    size_t n = 0;
    for (size_t s = 0; s < cli_settings_nall; s++)
        n += cli_settings_all[s]->n;
    printf("docs/operations.md lists the %zu settings of %zu tables\n", n, cli_settings_nall);
    free(docs);
}

static void test_missing_key_fails(void **state)
{
    (void)state;
    char *docs = s_read(ANTT_SOURCE_DIR "/docs/operations.md"), err[512];
    char *cut = s_without_line(docs, "| intake.pipeline_depth |");
    assert_int_equal(cli_settings_check_docs(cut, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "intake.pipeline_depth"));
    printf("without its row: %s\n", err);
    free(cut);
    free(docs);
}

static void test_unknown_key_and_default_fail(void **state)
{
    (void)state;
    char err[512];
    const char *extra = "| key | default | meaning |\n|---|---|---|\n| intake.no_such_key | 1 | nothing |\n";
    assert_int_equal(cli_settings_check_docs(extra, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "intake.no_such_key"));
    const char *wrong = "| intake.batch_max | 400 | most reports per transaction |\n";
    assert_int_equal(cli_settings_check_docs(wrong, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "400"));
    printf("%s\n", err);
}

static void test_list_prints_every_key(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cli_settings_list(f);
    fclose(f);
    for (size_t s = 0; s < cli_settings_nall; s++)
        for (size_t i = 0; i < cli_settings_all[s]->n; i++) {
            char line[300];
            snprintf(line, sizeof(line), "%s = %s\n", cli_settings_all[s]->rows[i].name,
                     cli_settings_all[s]->rows[i].def);
            assert_non_null(strstr(buf, line));
            assert_non_null(strstr(buf, cli_settings_all[s]->rows[i].help));
        }
    assert_non_null(strstr(buf, "# most reports per transaction (an integer from 1 to 10000)\nintake.batch_max = 500\n"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docs_match_tables),
        cmocka_unit_test(test_missing_key_fails),
        cmocka_unit_test(test_unknown_key_and_default_fail),
        cmocka_unit_test(test_list_prints_every_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
