/* Unit tests of src/base: allocation hooks and failure injection, diagnostics, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"

static void test_alloc_fail_after_fails_exactly_the_nth(void **state)
{
    (void)state;
    chime_alloc_fail_after(2);
    void *a = chime__malloc(8);
    void *b = chime__malloc(8);
    void *c = chime__malloc(8);
    assert_non_null(a);
    assert_null(b);
    assert_non_null(c);
    chime__free(a);
    chime__free(c);
}

static void test_strdup_copies_and_null_passes(void **state)
{
    (void)state;
    char *s = chime__strdup("chime");
    assert_string_equal(s, "chime");
    chime__free(s);
    assert_null(chime__strdup(NULL));
    chime_alloc_fail_after(1);
    assert_null(chime__strdup("x"));
}

static void test_grow_doubles_and_reports_enomem(void **state)
{
    (void)state;
    int *v = NULL;
    size_t cap = 0;
    assert_int_equal(chime__grow((void **)&v, &cap, 20, sizeof(*v)), 0);
    assert_true(cap >= 20);
    size_t before = cap;
    chime_alloc_fail_after(1);
    assert_int_equal(chime__grow((void **)&v, &cap, before + 1, sizeof(*v)), CHIME_ENOMEM);
    assert_int_equal(cap, before);
    chime__free(v);
}

static void test_diag_set_returns_err_and_names_field(void **state)
{
    (void)state;
    struct chime_diag d;
    chime_diag_clear(&d);
    int rc = chime_diag_set(&d, CHIME_EINVAL, "trigger_args.minute", "bad %s", "minute");
    assert_int_equal(rc, CHIME_EINVAL);
    assert_string_equal(d.field, "trigger_args.minute");
    assert_string_equal(d.message, "bad minute");
    assert_int_equal(chime_diag_set(NULL, CHIME_ENOENT, "x", "y"), CHIME_ENOENT);
}

static void test_strerror_covers_every_code(void **state)
{
    (void)state;
    assert_string_equal(chime_strerror(0), "success");
    assert_string_equal(chime_strerror(CHIME_ENOMEM), "out of memory");
    assert_string_equal(chime_strerror(-999), "unknown error");
#define CHECK_TEXT(name, value, text) assert_string_equal(chime_strerror(value), text);
    CHIME_ERRNO_MAP(CHECK_TEXT)
#undef CHECK_TEXT
}

static void test_strlcpy_truncates(void **state)
{
    (void)state;
    char buf[4];
    assert_int_equal(chime__strlcpy(buf, "abcdef", sizeof(buf)), 3);
    assert_string_equal(buf, "abc");
}

static void test_utf8_repair_replaces_invalid_bytes(void **state)
{
    (void)state;
    char out[64];
    /* Valid text passes unchanged, 4-byte sequences included. */
    assert_int_equal(chime__utf8_repair("caf\xc3\xa9 \xf0\x9f\x94\x94", 10, true, out), 10);
    assert_string_equal(out, "caf\xc3\xa9 \xf0\x9f\x94\x94");
    /* A stray continuation byte, an overlong form, a surrogate, a cut sequence. */
    size_t n = chime__utf8_repair("a\x80"
                                  "b\xc0\xaf"
                                  "c\xed\xa0\x80"
                                  "d\xe2\x82",
                                  12, true, out);
    assert_int_equal(n, 4 + 3 * 8);
    assert_memory_equal(out,
                        "a\xef\xbf\xbd"
                        "b",
                        5);
    assert_memory_equal(out + n - 6, "\xef\xbf\xbd\xef\xbf\xbd", 6);
    /* NUL replaced only when asked. */
    assert_int_equal(chime__utf8_repair("x\0y", 3, true, out), 5);
    assert_memory_equal(out, "x\xef\xbf\xbdy", 5);
    assert_int_equal(chime__utf8_repair("x\0y", 3, false, out), 3);
    assert_memory_equal(out, "x\0y", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_fail_after_fails_exactly_the_nth),
        cmocka_unit_test(test_strdup_copies_and_null_passes),
        cmocka_unit_test(test_grow_doubles_and_reports_enomem),
        cmocka_unit_test(test_diag_set_returns_err_and_names_field),
        cmocka_unit_test(test_strerror_covers_every_code),
        cmocka_unit_test(test_strlcpy_truncates),
        cmocka_unit_test(test_utf8_repair_replaces_invalid_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
