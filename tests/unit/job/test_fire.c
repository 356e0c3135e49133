/*
 * Unit tests of the fire rules (chime_fire_plan): on time, late within and
 * beyond the misfire grace, coalesce on and off, max_instances with running
 * instances, a date trigger that finishes, and bounded work for a job
 * overdue by a year. Triggers are real (interval and date).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/base.h"
#include "job/fire.h"

#define SEC  CHIME_USEC_PER_SEC
#define T0   1795884720000000LL /* 2026-11-28T16:52:00Z */
#define YEAR (365LL * 86400 * SEC)

static struct chime_trigger *interval_trigger(int64_t seconds, chime_utime start)
{
    char buf[CHIME_TIME_FORMAT_MAX];
    json_t *args = json_pack("{s:I, s:s, s:s}", "seconds", (json_int_t)seconds, "start_date",
                             chime_time_format(start, chime_zone_utc(), buf), "timezone", "UTC");
    struct chime_trigger *t = NULL;
    struct chime_diag d;
    chime_diag_clear(&d);
    int rc = chime_trigger_parse("interval", args, chime_zone_utc(), start - SEC, &t, &d);
    json_decref(args);
    if (rc)
        fail_msg("interval trigger: %s", d.message);
    return t;
}

static struct chime_trigger *date_trigger(chime_utime at)
{
    char buf[CHIME_TIME_FORMAT_MAX];
    json_t *args = json_pack("{s:s, s:s}", "run_date", chime_time_format(at, chime_zone_utc(), buf),
                             "timezone", "UTC");
    struct chime_trigger *t = NULL;
    struct chime_diag d;
    int rc = chime_trigger_parse("date", args, chime_zone_utc(), at - SEC, &t, &d);
    json_decref(args);
    if (rc)
        fail_msg("date trigger: %s", d.message);
    return t;
}

/* A job with the trigger (taken) due at next_run, policies from the arguments. */
static void make_job(struct chime_job *job, struct chime_trigger *trigger, chime_utime next_run,
                     int coalesce, int64_t grace_s, int max_instances)
{
    chime_job_init(job);
    job->id = chime__strdup("j");
    job->trigger = trigger;
    job->next_run = next_run;
    job->policy.coalesce = coalesce;
    job->policy.grace_s = grace_s;
    job->policy.max_instances = max_instances;
}

static const struct chime_job_defaults defaults = { true, 60, 1, NULL };

/* Every plan lists distinct times, oldest first, all due, and only valid statuses. */
static void check_shape(const struct chime_fire_plan *p, chime_utime now)
{
    for (size_t i = 0; i < p->n_fires; i++) {
        const struct chime_fire *f = &p->fires[i];
        assert_true(f->scheduled <= now);
        if (i > 0)
            assert_true(f->scheduled > p->fires[i - 1].scheduled);
        assert_true(f->status == CHIME_RUN_RUNNING || f->status == CHIME_RUN_MISSED ||
                    f->status == CHIME_RUN_SKIPPED);
        assert_true((f->status == CHIME_RUN_RUNNING) == (f->reason == NULL));
    }
    assert_true(p->next_run == CHIME_UTIME_NONE || p->next_run > now);
}

static void plan(const struct chime_job *job, chime_utime now, int n_running,
                 struct chime_fire_plan *p)
{
    assert_int_equal(chime_fire_plan(job, &defaults, now, n_running, p), 0);
    check_shape(p, now);
}

static void expect_fire(const struct chime_fire_plan *p, size_t i, chime_utime at,
                        enum chime_run_status status, const char *reason)
{
    assert_true(i < p->n_fires);
    assert_int_equal(p->fires[i].scheduled, at);
    assert_int_equal(p->fires[i].status, status);
    if (reason)
        assert_string_equal(p->fires[i].reason, reason);
}

static void test_on_time_runs_and_advances(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_fire_plan p;
    make_job(&job, interval_trigger(10, T0), T0, -1, -1, -1);
    plan(&job, T0, 0, &p);
    assert_int_equal(p.n_fires, 1);
    expect_fire(&p, 0, T0, CHIME_RUN_RUNNING, NULL);
    assert_int_equal(p.next_run, T0 + 10 * SEC);
    chime_fire_plan_release(&p);
    assert_null(p.fires);
    chime_job_release(&job);
}

static void test_late_within_grace_runs_beyond_grace_is_missed(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_fire_plan p;
    make_job(&job, interval_trigger(3600, T0), T0, -1, 60, -1);
    plan(&job, T0 + 60 * SEC, 0, &p); /* exactly the grace: still runs */
    assert_int_equal(p.n_fires, 1);
    expect_fire(&p, 0, T0, CHIME_RUN_RUNNING, NULL);
    assert_int_equal(p.next_run, T0 + 3600 * SEC);
    chime_fire_plan_release(&p);
    plan(&job, T0 + 60 * SEC + 1, 0, &p); /* one microsecond beyond */
    assert_int_equal(p.n_fires, 1);
    expect_fire(&p, 0, T0, CHIME_RUN_MISSED, CHIME_FIRE_REASON_MISFIRE);
    assert_int_equal(p.next_run, T0 + 3600 * SEC);
    chime_fire_plan_release(&p);
    /* Unlimited grace (APScheduler's None): a day late still runs. */
    job.policy.grace_s = CHIME_GRACE_UNLIMITED;
    plan(&job, T0 + 3599 * SEC, 0, &p);
    expect_fire(&p, 0, T0, CHIME_RUN_RUNNING, NULL);
    chime_fire_plan_release(&p);
    chime_job_release(&job);
}

/* 10 s interval, 95 s overdue with grace 60: T0..T0+30 are beyond grace, T0+40..T0+90 within. */
static void test_several_overdue_without_coalesce(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_fire_plan p;
    make_job(&job, interval_trigger(10, T0), T0, 0, 60, 10);
    chime_utime now = T0 + 95 * SEC;
    plan(&job, now, 0, &p);
    assert_int_equal(p.n_fires, 10);
    for (int i = 0; i < 4; i++)
        expect_fire(&p, (size_t)i, T0 + i * 10 * SEC, CHIME_RUN_MISSED, CHIME_FIRE_REASON_MISFIRE);
    for (int i = 4; i < 10; i++)
        expect_fire(&p, (size_t)i, T0 + i * 10 * SEC, CHIME_RUN_RUNNING, NULL);
    assert_int_equal(p.next_run, T0 + 100 * SEC);
    chime_fire_plan_release(&p);
    /* max_instances 1: the due times of one plan run back to back in one instance
     * (APScheduler's run_times list), so all of them run... */
    job.policy.max_instances = 1;
    plan(&job, now, 0, &p);
    for (int i = 4; i < 10; i++)
        expect_fire(&p, (size_t)i, T0 + i * 10 * SEC, CHIME_RUN_RUNNING, NULL);
    chime_fire_plan_release(&p);
    /* ...and all are skipped while an instance is already running. */
    plan(&job, now, 1, &p);
    for (int i = 4; i < 10; i++)
        expect_fire(&p, (size_t)i, T0 + i * 10 * SEC, CHIME_RUN_SKIPPED,
                    CHIME_FIRE_REASON_MAX_INST);
    chime_fire_plan_release(&p);
    chime_job_release(&job);
}

static void test_several_overdue_with_coalesce_run_latest_once(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_fire_plan p;
    make_job(&job, interval_trigger(10, T0), T0, 1, 60, 10);
    plan(&job, T0 + 95 * SEC, 0, &p);
    assert_int_equal(p.n_fires, 10);
    for (int i = 0; i < 4; i++)
        expect_fire(&p, (size_t)i, T0 + i * 10 * SEC, CHIME_RUN_MISSED, CHIME_FIRE_REASON_MISFIRE);
    for (int i = 4; i < 9; i++)
        expect_fire(&p, (size_t)i, T0 + i * 10 * SEC, CHIME_RUN_MISSED,
                    CHIME_FIRE_REASON_COALESCED);
    expect_fire(&p, 9, T0 + 90 * SEC, CHIME_RUN_RUNNING, NULL);
    assert_int_equal(p.next_run, T0 + 100 * SEC);
    chime_fire_plan_release(&p);
    /* Coalesce from the defaults (true) when the job does not say. */
    job.policy.coalesce = -1;
    plan(&job, T0 + 95 * SEC, 0, &p);
    expect_fire(&p, 8, T0 + 80 * SEC, CHIME_RUN_MISSED, CHIME_FIRE_REASON_COALESCED);
    expect_fire(&p, 9, T0 + 90 * SEC, CHIME_RUN_RUNNING, NULL);
    chime_fire_plan_release(&p);
    chime_job_release(&job);
}

static void test_max_instances_counts_running_instances(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_fire_plan p;
    make_job(&job, interval_trigger(10, T0), T0, 0, 60, 1);
    plan(&job, T0, 1, &p);
    assert_int_equal(p.n_fires, 1);
    expect_fire(&p, 0, T0, CHIME_RUN_SKIPPED, CHIME_FIRE_REASON_MAX_INST);
    assert_int_equal(p.next_run, T0 + 10 * SEC);
    chime_fire_plan_release(&p);
    job.policy.max_instances = 3;
    plan(&job, T0 + 30 * SEC, 1, &p); /* four due times, one instance already running */
    assert_int_equal(p.n_fires, 4);
    for (int i = 0; i < 4; i++) /* one more instance fits: it runs all four in turn */
        expect_fire(&p, (size_t)i, T0 + i * 10 * SEC, CHIME_RUN_RUNNING, NULL);
    chime_fire_plan_release(&p);
    plan(&job, T0 + 30 * SEC, 3, &p); /* no instance free: all four skipped */
    for (int i = 0; i < 4; i++)
        expect_fire(&p, (size_t)i, T0 + i * 10 * SEC, CHIME_RUN_SKIPPED,
                    CHIME_FIRE_REASON_MAX_INST);
    chime_fire_plan_release(&p);
    /* Coalesced and at the limit: the one run left is skipped. */
    job.policy.coalesce = 1;
    plan(&job, T0 + 30 * SEC, 3, &p);
    expect_fire(&p, 2, T0 + 20 * SEC, CHIME_RUN_MISSED, CHIME_FIRE_REASON_COALESCED);
    expect_fire(&p, 3, T0 + 30 * SEC, CHIME_RUN_SKIPPED, CHIME_FIRE_REASON_MAX_INST);
    chime_fire_plan_release(&p);
    chime_job_release(&job);
}

static void test_date_trigger_fires_once_then_is_exhausted(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_fire_plan p;
    make_job(&job, date_trigger(T0), T0, -1, -1, -1);
    plan(&job, T0 + SEC, 0, &p);
    assert_int_equal(p.n_fires, 1);
    expect_fire(&p, 0, T0, CHIME_RUN_RUNNING, NULL);
    assert_int_equal(p.next_run, CHIME_UTIME_NONE);
    chime_fire_plan_release(&p);
    plan(&job, T0 + 3600 * SEC, 0, &p); /* came due while down, beyond grace */
    assert_int_equal(p.n_fires, 1);
    expect_fire(&p, 0, T0, CHIME_RUN_MISSED, CHIME_FIRE_REASON_MISFIRE);
    assert_int_equal(p.next_run, CHIME_UTIME_NONE);
    chime_fire_plan_release(&p);
    chime_job_release(&job);
}

static void test_not_due_or_paused_plans_nothing(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_fire_plan p;
    make_job(&job, interval_trigger(10, T0), T0 + 10 * SEC, -1, -1, -1);
    plan(&job, T0, 0, &p);
    assert_int_equal(p.n_fires, 0);
    assert_int_equal(p.next_run, T0 + 10 * SEC);
    /* Paused or finished: nothing planned, next_run left as the job has it. */
    job.paused = true;
    assert_int_equal(chime_fire_plan(&job, &defaults, T0 + 20 * SEC, 0, &p), 0);
    assert_int_equal(p.n_fires, 0);
    assert_null(p.fires);
    job.paused = false;
    job.next_run = CHIME_UTIME_NONE;
    assert_int_equal(chime_fire_plan(&job, &defaults, T0 + 20 * SEC, 0, &p), 0);
    assert_int_equal(p.n_fires, 0);
    assert_int_equal(p.next_run, CHIME_UTIME_NONE);
    chime_job_release(&job);
}

/* A cron job (every minute) down for five minutes, grace 60 s, coalesce: APScheduler runs once. */
static void test_cron_overdue_coalesces(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_fire_plan p;
    struct chime_trigger *t = NULL;
    struct chime_diag d;
    json_t *args = json_pack("{s:s, s:s}", "minute", "*", "timezone", "UTC");
    assert_int_equal(chime_trigger_parse("cron", args, chime_zone_utc(), T0 - SEC, &t, &d), 0);
    json_decref(args);
    make_job(&job, t, T0, 1, 60, 1);
    plan(&job, T0 + 5 * 60 * SEC + 30 * SEC, 0, &p);
    assert_int_equal(p.n_fires, 6);
    for (int i = 0; i < 5; i++)
        assert_int_equal(p.fires[i].status, CHIME_RUN_MISSED);
    expect_fire(&p, 4, T0 + 4 * 60 * SEC, CHIME_RUN_MISSED, CHIME_FIRE_REASON_MISFIRE);
    expect_fire(&p, 5, T0 + 5 * 60 * SEC, CHIME_RUN_RUNNING, NULL);
    assert_int_equal(p.next_run, T0 + 6 * 60 * SEC);
    chime_fire_plan_release(&p);
    chime_job_release(&job);
}

static size_t count(const struct chime_fire_plan *p, enum chime_run_status status)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_fires; i++)
        n += p->fires[i].status == status;
    return n;
}

/* A 1 s interval job down for a year, grace 60, coalesce: bounded, runs the latest time. */
static void test_year_overdue_interval_is_bounded_and_runs_latest(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_fire_plan p;
    chime_utime now = T0 + YEAR + 500000; /* mid-second */
    make_job(&job, interval_trigger(1, T0), T0, 1, 60, 1);
    plan(&job, now, 0, &p);
    /* Bounded work: at most the capped lists plus their overflow records. */
    assert_true(p.n_fires <= CHIME_FIRE_MAX_TIMES + 2);
    assert_int_equal(p.next_run, T0 + YEAR + SEC);
    assert_int_equal(count(&p, CHIME_RUN_RUNNING), 1);
    expect_fire(&p, p.n_fires - 1, T0 + YEAR, CHIME_RUN_RUNNING, NULL);
    expect_fire(&p, 0, T0, CHIME_RUN_MISSED, CHIME_FIRE_REASON_MISFIRE);
    size_t capped = 0;
    for (size_t i = 0; i < p.n_fires; i++)
        capped += p.fires[i].reason && !strcmp(p.fires[i].reason, CHIME_FIRE_REASON_CAPPED);
    assert_int_equal(capped, 1);
    /* The 60 times inside the grace window (-59 s .. 0 s) are all there: 59 coalesced, 1 run. */
    size_t coalesced = 0;
    for (size_t i = 0; i < p.n_fires; i++)
        coalesced += p.fires[i].reason && !strcmp(p.fires[i].reason, CHIME_FIRE_REASON_COALESCED);
    assert_int_equal(coalesced, 59);
    chime_fire_plan_release(&p);
    chime_job_release(&job);
}

/* The same with unlimited grace: without coalesce the listed times run in one instance. */
static void test_year_overdue_unlimited_grace_is_bounded(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_fire_plan p;
    chime_utime now = T0 + YEAR; /* exactly on a fire time: it is due, the next is after */
    make_job(&job, interval_trigger(1, T0), T0, 0, CHIME_GRACE_UNLIMITED, 1);
    plan(&job, now, 0, &p);
    /* Bounded: the listed times are capped, one record stands for the rest. */
    assert_true(p.n_fires <= CHIME_FIRE_MAX_TIMES + 2);
    assert_int_equal(p.next_run, now + SEC);
    /* The listed times run back to back in one instance; the overflow is missed. */
    assert_int_equal(count(&p, CHIME_RUN_RUNNING), p.n_fires - 1);
    expect_fire(&p, 0, T0, CHIME_RUN_RUNNING, NULL);
    expect_fire(&p, p.n_fires - 1, p.fires[p.n_fires - 1].scheduled, CHIME_RUN_MISSED,
                CHIME_FIRE_REASON_CAPPED);
    assert_int_equal(count(&p, CHIME_RUN_SKIPPED), 0);
    chime_fire_plan_release(&p);
    /* With coalesce the overflow record is the one run, standing for every later time. */
    job.policy.coalesce = 1;
    plan(&job, now, 0, &p);
    assert_int_equal(count(&p, CHIME_RUN_RUNNING), 1);
    assert_int_equal(p.fires[p.n_fires - 1].status, CHIME_RUN_RUNNING);
    assert_int_equal(count(&p, CHIME_RUN_MISSED), p.n_fires - 1);
    assert_int_equal(p.next_run, now + SEC);
    chime_fire_plan_release(&p);
    chime_job_release(&job);
}

static void test_allocation_failure_returns_enomem_and_no_plan(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_fire_plan p;
    make_job(&job, interval_trigger(1, T0), T0, 0, 60, 1);
    for (long n = 1;; n++) {
        chime_alloc_fail_after(n);
        int rc = chime_fire_plan(&job, &defaults, T0 + 100 * SEC, 0, &p);
        chime_alloc_fail_after(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, CHIME_ENOMEM);
        assert_null(p.fires);
        assert_int_equal(p.n_fires, 0);
        assert_true(n < 50);
    }
    assert_int_equal(p.n_fires, 101);
    chime_fire_plan_release(&p);
    chime_fire_plan_release(NULL);
    chime_job_release(&job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_on_time_runs_and_advances),
        cmocka_unit_test(test_late_within_grace_runs_beyond_grace_is_missed),
        cmocka_unit_test(test_several_overdue_without_coalesce),
        cmocka_unit_test(test_several_overdue_with_coalesce_run_latest_once),
        cmocka_unit_test(test_max_instances_counts_running_instances),
        cmocka_unit_test(test_date_trigger_fires_once_then_is_exhausted),
        cmocka_unit_test(test_not_due_or_paused_plans_nothing),
        cmocka_unit_test(test_cron_overdue_coalesces),
        cmocka_unit_test(test_year_overdue_interval_is_bounded_and_runs_latest),
        cmocka_unit_test(test_year_overdue_unlimited_grace_is_bounded),
        cmocka_unit_test(test_allocation_failure_returns_enomem_and_no_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
