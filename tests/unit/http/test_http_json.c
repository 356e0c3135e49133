/*
 * Unit tests of src/http/json_check.c against golden vectors from Python 3.11's
 * json.loads (the reference service's decoder): the same inputs must fail with
 * the same message at the same line, column and character position.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "http/http_internal.h"

/* input, str(json.JSONDecodeError) or "OK" (generated with /usr/bin/python3 3.11). */
static const char *const vectors[][2] = {
    { "{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)" },
    { "{\"a\":1", "Expecting ',' delimiter: line 1 column 7 (char 6)" },
    { "{\"a\" 1}", "Expecting ':' delimiter: line 1 column 6 (char 5)" },
    { "[1,]", "Expecting value: line 1 column 4 (char 3)" },
    { "[1 2]", "Expecting ',' delimiter: line 1 column 4 (char 3)" },
    { "\"abc", "Unterminated string starting at: line 1 column 1 (char 0)" },
    { "\"a\\x\"", "Invalid \\escape: line 1 column 3 (char 2)" },
    { "\"\\u12\"", "Invalid \\uXXXX escape: line 1 column 3 (char 2)" },
    { "\"\\u12zz\"", "Invalid \\uXXXX escape: line 1 column 3 (char 2)" },
    { "tru", "Expecting value: line 1 column 1 (char 0)" },
    { "01", "Extra data: line 1 column 2 (char 1)" },
    { "{\"é\":\"é\" x", "Expecting ',' delimiter: line 1 column 10 (char 9)" },
    { "{\n \"a\": [1,\n 2,, 3]}", "Expecting value: line 3 column 4 (char 15)" },
    { "-", "Expecting value: line 1 column 1 (char 0)" },
    { "1.", "Extra data: line 1 column 2 (char 1)" },
    { "1e", "Extra data: line 1 column 2 (char 1)" },
    { "{\"a\":1,}", "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)" },
    { "[", "Expecting value: line 1 column 2 (char 1)" },
    { "", "Expecting value: line 1 column 1 (char 0)" },
    { "  ", "Expecting value: line 1 column 3 (char 2)" },
    { "\"\\ud800\\u12\"", "Invalid \\uXXXX escape: line 1 column 9 (char 8)" },
    { "NaN", "OK" },
    { "[-Infinity]", "OK" },
    { "{\"a\":\"b\"}x", "Extra data: line 1 column 10 (char 9)" },
    { "\"a\tb\"", "Invalid control character at: line 1 column 3 (char 2)" },
};

static void test_json_check_matches_python(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        struct chime__json_error e;
        char got[256] = "OK";
        if (!chime__json_check(vectors[i][0], strlen(vectors[i][0]), &e))
            snprintf(got, sizeof(got), "%s: line %zu column %zu (char %zu)", e.msg, e.line, e.col,
                     e.pos);
        if (strcmp(got, vectors[i][1]) != 0)
            fail_msg("input %zu '%s': got '%s', Python says '%s'", i, vectors[i][0], got,
                     vectors[i][1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_check_matches_python),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
