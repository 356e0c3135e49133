/* Unit tests of the public embedding API (include/chime/scheduler.h) over the memory store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include <chime/scheduler.h>

static const char *const NOOP_JOB = "{\"id\":\"emb\",\"func\":\"chime:noop\",\"trigger\":"
                                    "\"interval\",\"trigger_args\":{\"minutes\":5}}";

static void test_scheduler_embed_add_list_pause_resume_remove(void **state)
{
    (void)state;
    struct chime_scheduler_settings settings = { .timezone = "UTC", .shutdown_grace_ms = 1000 };
    struct chime_scheduler *sc;
    struct chime_diag diag;
    assert_int_equal(chime_scheduler_new(&settings, &sc, &diag), 0);
    assert_int_equal(chime_scheduler_start(sc), 0);
    char id[40];
    assert_int_equal(chime_scheduler_add_job(sc, NOOP_JOB, id, sizeof(id), &diag), 0);
    assert_string_equal(id, "emb");
    assert_int_equal(chime_scheduler_add_job(sc, NOOP_JOB, NULL, 0, &diag), CHIME_EEXIST);
    char *list = chime_scheduler_list_jobs(sc);
    assert_non_null(list);
    assert_non_null(strstr(list, "\"id\":\"emb\""));
    assert_null(strstr(list, "\"next_run_time\":null"));
    chime_scheduler_free_text(list);
    assert_int_equal(chime_scheduler_pause_job(sc, "emb"), 0);
    list = chime_scheduler_list_jobs(sc);
    assert_non_null(strstr(list, "\"next_run_time\":null"));
    chime_scheduler_free_text(list);
    assert_int_equal(chime_scheduler_resume_job(sc, "emb"), 0);
    assert_int_equal(chime_scheduler_remove_job(sc, "emb"), 0);
    assert_int_equal(chime_scheduler_remove_job(sc, "emb"), CHIME_ENOENT);
    list = chime_scheduler_list_jobs(sc);
    assert_string_equal(list, "[]");
    chime_scheduler_free_text(list);
    assert_int_equal(chime_scheduler_stop(sc), 0);
    chime_scheduler_free(sc);
}

static void test_scheduler_embed_reports_bad_input(void **state)
{
    (void)state;
    struct chime_scheduler_settings settings = { .timezone = "Nowhere/Atlantis" };
    struct chime_scheduler *sc = NULL;
    struct chime_diag diag;
    assert_int_equal(chime_scheduler_new(&settings, &sc, &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "timezone");
    settings.timezone = "UTC";
    settings.store_url = "ftp://nope";
    assert_int_equal(chime_scheduler_new(&settings, &sc, &diag), CHIME_EINVAL);
    settings.store_url = NULL;
    assert_int_equal(chime_scheduler_new(&settings, &sc, &diag), 0);
    assert_int_equal(chime_scheduler_add_job(sc, "{not json", NULL, 0, &diag), CHIME_EINVAL);
    assert_int_equal(chime_scheduler_add_job(sc, "{\"func\":\"chime:noop\",\"trigger\":\"weekly\"}",
                                             NULL, 0, &diag),
                     CHIME_EINVAL);
    assert_string_equal(diag.field, "trigger");
    assert_int_equal(chime_scheduler_pause_job(sc, "missing"), CHIME_ENOENT);
    chime_scheduler_free(sc); /* never started: free alone is enough */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scheduler_embed_add_list_pause_resume_remove),
        cmocka_unit_test(test_scheduler_embed_reports_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
