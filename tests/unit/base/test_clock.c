/* Unit tests of src/base/clock: the system clock and the fake clock tests drive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include "base/clock.h"

static void test_clock_system_is_plausible_and_monotonic(void **state)
{
    (void)state;
    const struct chime_clock *clock = chime_clock_system();
    chime_utime now = chime_clock_now(clock);
    assert_true(now > 1700000000LL * 1000000); /* after Nov 2023 */
    chime_mtime a = chime_clock_mono(clock);
    chime_mtime b = chime_clock_mono(clock);
    assert_true(b >= a);
    assert_null(clock->watch);
}

static void test_clock_fake_set_and_advance(void **state)
{
    (void)state;
    struct chime_fake_clock *fake;
    assert_int_equal(chime_fake_clock_new(1000, &fake), 0);
    const struct chime_clock *clock = chime_fake_clock_get(fake);
    assert_int_equal(chime_clock_now(clock), 1000);
    assert_int_equal(chime_clock_mono(clock), 0);
    chime_fake_clock_advance(fake, 500);
    assert_int_equal(chime_clock_now(clock), 1500);
    assert_int_equal(chime_clock_mono(clock), 500);
    chime_fake_clock_set(fake, 1200); /* wall steps back, monotonic does not */
    assert_int_equal(chime_clock_now(clock), 1200);
    assert_int_equal(chime_clock_mono(clock), 500);
    chime_fake_clock_set(fake, 2200);
    assert_int_equal(chime_clock_mono(clock), 1500);
    chime_fake_clock_free(fake);
}

static void count_move(void *ctx)
{
    (*(int *)ctx)++;
}

static void test_clock_fake_watchers_called_on_move_until_unwatched(void **state)
{
    (void)state;
    struct chime_fake_clock *fake;
    assert_int_equal(chime_fake_clock_new(0, &fake), 0);
    const struct chime_clock *clock = chime_fake_clock_get(fake);
    int a = 0, b = 0;
    assert_int_equal(clock->watch(clock->ctx, count_move, &a), 0);
    assert_int_equal(clock->watch(clock->ctx, count_move, &b), 0);
    chime_fake_clock_advance(fake, 1);
    chime_fake_clock_set(fake, 10);
    assert_int_equal(a, 2);
    assert_int_equal(b, 2);
    clock->unwatch(clock->ctx, count_move, &a);
    chime_fake_clock_advance(fake, 1);
    assert_int_equal(a, 2);
    assert_int_equal(b, 3);
    chime_fake_clock_free(fake);
}

static void *advance_many(void *arg)
{
    for (int i = 0; i < 10000; i++)
        chime_fake_clock_advance(arg, 1);
    return NULL;
}

static void test_clock_fake_advance_is_thread_safe(void **state)
{
    (void)state;
    struct chime_fake_clock *fake;
    assert_int_equal(chime_fake_clock_new(0, &fake), 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, advance_many, fake);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(chime_clock_now(chime_fake_clock_get(fake)), 40000);
    chime_fake_clock_free(fake);
}

static void test_clock_fake_new_reports_enomem(void **state)
{
    (void)state;
    struct chime_fake_clock *fake = NULL;
    chime_alloc_fail_after(1);
    assert_int_equal(chime_fake_clock_new(0, &fake), CHIME_ENOMEM);
    assert_null(fake);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_system_is_plausible_and_monotonic),
        cmocka_unit_test(test_clock_fake_set_and_advance),
        cmocka_unit_test(test_clock_fake_watchers_called_on_move_until_unwatched),
        cmocka_unit_test(test_clock_fake_advance_is_thread_safe),
        cmocka_unit_test(test_clock_fake_new_reports_enomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
