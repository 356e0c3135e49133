/*
 * Unit tests of run records: status names from the X-macro table, the
 * lifecycle (deep copy, allocation failure) and the API JSON form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "job/run.h"

static void test_status_names_round_trip(void **state)
{
    (void)state;
    static const char *names[] = { "running", "succeeded", "failed", "timed_out",
                                   "missed",  "skipped",   "lost",   "cancelled" };
    for (int i = 0; i < 8; i++) {
        enum chime_run_status st = CHIME_RUN_RUNNING;
        assert_string_equal(chime_run_status_name((enum chime_run_status)i), names[i]);
        assert_int_equal(chime_run_status_parse(names[i], &st), 0);
        assert_int_equal(st, i);
    }
    enum chime_run_status st = CHIME_RUN_LOST;
    assert_null(chime_run_status_name((enum chime_run_status)8));
    assert_null(chime_run_status_name((enum chime_run_status) - 1));
    assert_int_equal(chime_run_status_parse("Running", &st), CHIME_EINVAL);
    assert_int_equal(chime_run_status_parse("", &st), CHIME_EINVAL);
    assert_int_equal(chime_run_status_parse(NULL, &st), CHIME_EINVAL);
    assert_int_equal(st, CHIME_RUN_LOST);
}

static void fill(struct chime_run *r)
{
    chime_run_init(r);
    r->id = 42;
    r->job_id = chime__strdup("job-a");
    r->scheduled = 1795884735767717LL; /* 2026-11-28T16:52:15.767717Z */
    r->started = r->scheduled + 1500000;
    r->finished = r->started + 250000;
    r->status = CHIME_RUN_FAILED;
    r->cause = CHIME_CAUSE_MANUAL;
    r->attempt = 2;
    r->node = chime__strdup("node-1");
    r->error = chime__strdup("boom");
    r->output = NULL;
}

static void test_init_copy_release(void **state)
{
    (void)state;
    struct chime_run r, c;
    chime_run_init(&r);
    assert_int_equal(r.started, CHIME_UTIME_NONE);
    assert_int_equal(r.finished, CHIME_UTIME_NONE);
    assert_int_equal(r.attempt, 1);
    assert_int_equal(r.status, CHIME_RUN_RUNNING);
    assert_null(r.job_id);
    fill(&r);
    assert_int_equal(chime_run_copy(&c, &r), 0);
    assert_ptr_not_equal(c.job_id, r.job_id);
    assert_string_equal(c.job_id, "job-a");
    assert_string_equal(c.node, "node-1");
    assert_string_equal(c.error, "boom");
    assert_null(c.output);
    assert_int_equal(c.id, 42);
    assert_int_equal(c.attempt, 2);
    chime_run_release(&c);
    chime_run_release(&c); /* safe twice */
    for (long n = 1;; n++) {
        chime_alloc_fail_after(n);
        int rc = chime_run_copy(&c, &r);
        chime_alloc_fail_after(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, CHIME_ENOMEM);
        assert_null(c.job_id);
        assert_null(c.node);
        assert_null(c.error);
        assert_true(n < 10);
    }
    chime_run_release(&c);
    chime_run_release(&r);
}

static void test_to_json_times_and_durations(void **state)
{
    (void)state;
    struct chime_run r;
    fill(&r);
    json_t *j = chime_run_to_json(&r);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 42);
    assert_string_equal(json_string_value(json_object_get(j, "job_id")), "job-a");
    assert_string_equal(json_string_value(json_object_get(j, "scheduled_time")),
                        "2026-11-28T16:52:15.767717+00:00");
    assert_string_equal(json_string_value(json_object_get(j, "started_at")),
                        "2026-11-28T16:52:17.267717+00:00");
    assert_string_equal(json_string_value(json_object_get(j, "finished_at")),
                        "2026-11-28T16:52:17.517717+00:00");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "failed");
    assert_string_equal(json_string_value(json_object_get(j, "cause")), "manual");
    assert_int_equal(json_integer_value(json_object_get(j, "attempt")), 2);
    assert_string_equal(json_string_value(json_object_get(j, "node")), "node-1");
    assert_string_equal(json_string_value(json_object_get(j, "error")), "boom");
    assert_true(json_is_null(json_object_get(j, "output")));
    assert_int_equal(json_integer_value(json_object_get(j, "lateness_ms")), 1500);
    assert_int_equal(json_integer_value(json_object_get(j, "duration_ms")), 250);
    assert_true(json_is_null(json_object_get(j, "exit_code")));
    assert_true(json_is_null(json_object_get(j, "http_status")));
    json_decref(j);
    /* A command's exit status (0 included) and a webhook's HTTP status. */
    r.exit_code = 0;
    r.http_status = 503;
    j = chime_run_to_json(&r);
    assert_true(json_is_integer(json_object_get(j, "exit_code")));
    assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "http_status")), 503);
    json_decref(j);
    r.exit_code = CHIME_RUN_NO_EXIT_CODE;
    r.http_status = 0;
    /* A missed run never started: no start, end, lateness or duration. */
    r.status = CHIME_RUN_MISSED;
    r.cause = CHIME_CAUSE_SCHEDULE;
    r.started = r.finished = CHIME_UTIME_NONE;
    j = chime_run_to_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "missed");
    assert_string_equal(json_string_value(json_object_get(j, "cause")), "schedule");
    assert_true(json_is_null(json_object_get(j, "started_at")));
    assert_true(json_is_null(json_object_get(j, "finished_at")));
    assert_true(json_is_null(json_object_get(j, "lateness_ms")));
    assert_true(json_is_null(json_object_get(j, "duration_ms")));
    json_decref(j);
    chime_run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names_round_trip),
        cmocka_unit_test(test_init_copy_release),
        cmocka_unit_test(test_to_json_times_and_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
