/*
 * Unit tests of chimed's metrics (src/metrics/chime_metrics.c, store_timed.c):
 * the run listener counts outcomes, misses by reason, lateness and duration;
 * the timed store passes every call through, keeps the wrapped store's
 * optional operations (and their absence), and counts each operation; the
 * writer's output for a real scheduler on the memory store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "job/fire.h"
#include "metrics/chime_metrics.h"

#define SEC 1000000LL
#define T0  1767225600000000LL /* 2026-01-01T00:00:00Z */

static struct chime_job_defaults defaults(void)
{
    return (struct chime_job_defaults){ true, 60, 1, chime_zone_utc() };
}

static void emit(struct chime_metrics *m, enum chime_sched_event_kind kind,
                 enum chime_run_status status, chime_utime started, const char *error,
                 int64_t duration_us)
{
    struct chime_run run;
    chime_run_init(&run);
    run.job_id = "j";
    run.scheduled = T0;
    run.started = started;
    run.status = status;
    run.error = (char *)error;
    struct chime_sched_event ev = { kind, "j", NULL, &run, duration_us };
    chime_metrics_on_event(&ev, m);
}

static char *write_text(const struct chime_metrics_sources *src)
{
    struct chime_expo w;
    chime_expo_init(&w);
    chime_metrics_write(src, &w);
    assert_int_equal(chime_expo_error(&w), 0);
    return w.buf;
}

static void expect_line(const char *text, const char *line)
{
    char want[256];
    snprintf(want, sizeof(want), "\n%s\n", line);
    if (!strstr(text, want))
        fail_msg("no line \"%s\" in:\n%s", line, text);
}

static void test_listener_counts_outcomes_reasons_and_times(void **state)
{
    (void)state;
    struct chime_metrics *m;
    assert_int_equal(chime_metrics_new(&m), 0);
    emit(m, CHIME_EVENT_RUN_STARTED, CHIME_RUN_RUNNING, T0 + 3000, NULL, 0);
    emit(m, CHIME_EVENT_RUN_SUCCEEDED, CHIME_RUN_SUCCEEDED, T0 + 3000, NULL, 2 * SEC);
    emit(m, CHIME_EVENT_RUN_STARTED, CHIME_RUN_RUNNING, T0 + 2 * SEC, NULL, 0);
    emit(m, CHIME_EVENT_RUN_FAILED, CHIME_RUN_FAILED, T0 + 2 * SEC, "boom", 400);
    emit(m, CHIME_EVENT_RUN_MISSED, CHIME_RUN_MISSED, CHIME_UTIME_NONE, CHIME_FIRE_REASON_MISFIRE,
         0);
    emit(m, CHIME_EVENT_RUN_MISSED, CHIME_RUN_MISSED, CHIME_UTIME_NONE, CHIME_FIRE_REASON_CAPPED,
         0);
    emit(m, CHIME_EVENT_RUN_MISSED, CHIME_RUN_MISSED, CHIME_UTIME_NONE, CHIME_FIRE_REASON_COALESCED,
         0);
    emit(m, CHIME_EVENT_RUN_MISSED, CHIME_RUN_MISSED, CHIME_UTIME_NONE,
         "scheduler stopped before the run could start", 0);
    emit(m, CHIME_EVENT_RUN_SKIPPED, CHIME_RUN_SKIPPED, CHIME_UTIME_NONE,
         CHIME_FIRE_REASON_MAX_INST, 0);
    emit(m, CHIME_EVENT_RUN_LOST, CHIME_RUN_LOST, T0, "gone", 0);
    /* A failed run that never started (could not be queued) has no duration. */
    emit(m, CHIME_EVENT_RUN_FAILED, CHIME_RUN_FAILED, CHIME_UTIME_NONE, "oom", 0);
    struct chime_metrics_sources src = { .metrics = m };
    char *text = write_text(&src);
    expect_line(text, "chime_runs_total{status=\"succeeded\"} 1");
    expect_line(text, "chime_runs_total{status=\"failed\"} 2");
    expect_line(text, "chime_runs_total{status=\"timed_out\"} 0");
    expect_line(text, "chime_runs_total{status=\"missed\"} 4");
    expect_line(text, "chime_runs_total{status=\"skipped\"} 1");
    expect_line(text, "chime_runs_total{status=\"lost\"} 1");
    expect_line(text, "chime_misses_total{reason=\"misfire_grace_time\"} 2");
    expect_line(text, "chime_misses_total{reason=\"coalesced\"} 1");
    expect_line(text, "chime_misses_total{reason=\"shutdown\"} 1");
    expect_line(text, "chime_skips_total 1");
    expect_line(text, "chime_run_lateness_seconds_bucket{le=\"0.001\"} 0");
    expect_line(text, "chime_run_lateness_seconds_bucket{le=\"0.005\"} 1");
    expect_line(text, "chime_run_lateness_seconds_bucket{le=\"1\"} 1");
    expect_line(text, "chime_run_lateness_seconds_bucket{le=\"2.5\"} 2");
    expect_line(text, "chime_run_lateness_seconds_sum 2.003");
    expect_line(text, "chime_run_lateness_seconds_count 2");
    expect_line(text, "chime_run_duration_seconds_bucket{le=\"0.0005\"} 1");
    expect_line(text, "chime_run_duration_seconds_bucket{le=\"1\"} 1");
    expect_line(text, "chime_run_duration_seconds_bucket{le=\"5\"} 2");
    expect_line(text, "chime_run_duration_seconds_sum 2.0004");
    expect_line(text, "chime_run_duration_seconds_count 2");
    /* No scheduler, no store: their families are left out. */
    assert_null(strstr(text, "chime_jobs"));
    assert_null(strstr(text, "chime_executor"));
    assert_null(strstr(text, "chime_pg_"));
    chime__free(text);
    chime_metrics_free(m);
}

static int count_visit(const struct chime_job *job, void *ctx)
{
    (void)job;
    (*(int *)ctx)++;
    return 0;
}

static uint64_t op_count(const struct chime_metrics *m, enum chime_metrics_store_op op)
{
    struct chime_histogram_snapshot snap;
    chime_histogram_snapshot(&m->store_ops[op], &snap);
    return snap.count;
}

static void add_job(struct chime_store *store, const char *id, const char *jobstore)
{
    struct chime_job job;
    struct chime_diag diag;
    json_t *req = json_pack("{s:s, s:s, s:s, s:{s:s}, s:s}", "id", id, "func", "chime:noop",
                            "trigger", "date", "trigger_args", "run_date",
                            "2031-01-01T00:00:00+00:00", "jobstore", jobstore);
    struct chime_job_defaults d = defaults();
    assert_int_equal(chime_job_from_request(req, &d, T0, &job, NULL, &diag), 0);
    json_decref(req);
    assert_int_equal(store->ops->add_job(store, &job, false), 0);
    chime_job_release(&job);
}

static void test_timed_store_passes_through_and_counts(void **state)
{
    (void)state;
    struct chime_metrics *m;
    struct chime_store *inner, *store;
    struct chime_diag diag;
    struct chime_job_defaults d = defaults();
    struct chime_fake_clock *fake;
    assert_int_equal(chime_fake_clock_new(T0, &fake), 0);
    assert_int_equal(chime_metrics_new(&m), 0);
    assert_int_equal(chime_store_open("memory://", &d, &inner, &diag), 0);
    assert_int_equal(chime_metrics_store_wrap(m, inner, chime_fake_clock_get(fake), &store), 0);
    assert_string_equal(store->ops->name, "memory");
    assert_null(store->ops->set_wake); /* absent in the memory store: absent here too */
    assert_null(store->ops->healthy);
    assert_null(store->ops->list_nodes);
    assert_null(store->ops->probe_write);
    /* Every operation the store has is passed on (retries: the scheduler needs both). */
    assert_non_null(store->ops->claim_retries);
    assert_non_null(store->ops->next_retry);
    chime_utime due;
    assert_int_equal(store->ops->next_retry(store, &due), CHIME_ENOENT);
    assert_int_equal(op_count(m, CHIME_METRICS_OP_next_retry), 1);
    add_job(store, "a", "default");
    add_job(store, "b", "default");
    struct chime_job job;
    assert_int_equal(store->ops->get_job(store, "a", &job), 0);
    chime_job_release(&job);
    assert_int_equal(store->ops->get_job(store, "nope", &job), CHIME_ENOENT);
    int n = 0;
    assert_int_equal(store->ops->list_jobs(store, NULL, count_visit, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store->ops->count_jobs(store), 2);
    assert_int_equal(op_count(m, CHIME_METRICS_OP_add_job), 2);
    assert_int_equal(op_count(m, CHIME_METRICS_OP_get_job), 2);
    assert_int_equal(op_count(m, CHIME_METRICS_OP_list_jobs), 1);
    assert_int_equal(op_count(m, CHIME_METRICS_OP_count_jobs), 1);
    assert_int_equal(op_count(m, CHIME_METRICS_OP_claim_due), 0);
    const char *names[4];
    assert_int_equal(chime_store_names(store, names, 4), 1);
    assert_string_equal(names[0], "default");
    chime_store_close(store); /* closes inner */
    chime_metrics_free(m);
    chime_fake_clock_free(fake);
}

static void test_timed_store_over_named_job_stores(void **state)
{
    (void)state;
    struct chime_metrics *m;
    struct chime_store *inner, *store;
    struct chime_diag diag;
    struct chime_job_defaults d = defaults();
    static const char *const job_stores[] = { "default", "volatile" };
    assert_int_equal(chime_jobstores_set(job_stores, 2), 0);
    assert_int_equal(chime_metrics_new(&m), 0);
    assert_int_equal(
            chime_store_open_named("memory://", "volatile=memory://", &d, NULL, &inner, &diag), 0);
    assert_int_equal(chime_metrics_store_wrap(m, inner, NULL, &store), 0);
    const char *names[4];
    assert_int_equal(chime_store_names(store, names, 4), 2);
    assert_string_equal(names[1], "volatile");
    add_job(store, "a", "default");
    add_job(store, "b", "volatile");
    add_job(store, "c", "volatile");
    struct chime_sched_config cfg = { .defaults = d, .max_workers = 3, .store = store };
    struct chime_sched *sched;
    assert_int_equal(chime_sched_new(&cfg, &sched), 0);
    assert_int_equal(chime_sched_pause_job(sched, "c", NULL), 0);
    struct chime_metrics_sources src = {
        .metrics = m, .sched = sched, .store = store, .version = "9.9"
    };
    char *text = write_text(&src);
    expect_line(text, "chime_build_info{version=\"9.9\"} 1");
    expect_line(text, "chime_jobs{state=\"scheduled\"} 2");
    expect_line(text, "chime_jobs{state=\"paused\"} 1");
    expect_line(text, "chime_executor_workers 3");
    expect_line(text, "chime_executor_queue_depth 0");
    expect_line(text, "chime_executor_busy_workers 0");
    expect_line(text, "chime_runs_in_flight 0");
    expect_line(text, "chime_store_operation_duration_seconds_count{op=\"add_job\"} 3");
    assert_null(strstr(text, "chime_pg_")); /* no shared store */
    chime__free(text);
    chime_sched_free(sched);
    chime_store_close(store);
    chime_metrics_free(m);
}

/* The timed store has an operation exactly where the store it wraps has one,
 * for every operation of the table (a new store operation the wrapper did not
 * learn would silently vanish behind it, as retries once did): the table is
 * read as the array of function pointers after its name. */
static void assert_same_ops(const struct chime_store *inner, const struct chime_store *timed)
{
    typedef void (*any_fn)(void);
    size_t n = (sizeof(struct chime_store_ops) - offsetof(struct chime_store_ops, close)) /
               sizeof(any_fn);
    const char *a = (const char *)inner->ops + offsetof(struct chime_store_ops, close);
    const char *b = (const char *)timed->ops + offsetof(struct chime_store_ops, close);
    for (size_t i = 0; i < n; i++) {
        any_fn fa, fb;
        memcpy(&fa, a + i * sizeof(any_fn), sizeof(fa));
        memcpy(&fb, b + i * sizeof(any_fn), sizeof(fb));
        if ((fa == NULL) != (fb == NULL))
            fail_msg("store %s: operation %zu of the table is %s in the timed store",
                     inner->ops->name, i, fa ? "missing" : "extra");
    }
}

static void test_timed_store_keeps_every_operation(void **state)
{
    (void)state;
    struct chime_job_defaults d = defaults();
    char path[] = "/tmp/chime-test-timed-XXXXXX";
    assert_non_null(mkdtemp(path));
    char db[96];
    snprintf(db, sizeof(db), "%s/t.db", path);
    const char *urls[] = { "memory://", db };
    for (size_t u = 0; u < 2; u++) {
        struct chime_metrics *m;
        struct chime_store *inner, *store;
        struct chime_diag diag;
        chime_diag_clear(&diag);
        assert_int_equal(chime_metrics_new(&m), 0);
        assert_int_equal(chime_store_open(urls[u], &d, &inner, &diag), 0);
        assert_int_equal(chime_metrics_store_wrap(m, inner, NULL, &store), 0);
        assert_same_ops(inner, store);
        chime_store_close(store);
        chime_metrics_free(m);
    }
    char f[128];
    const char *suffix[] = { "", "-wal", "-shm" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(f, sizeof(f), "%s%s", db, suffix[i]);
        unlink(f);
    }
    rmdir(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listener_counts_outcomes_reasons_and_times),
        cmocka_unit_test(test_timed_store_passes_through_and_counts),
        cmocka_unit_test(test_timed_store_over_named_job_stores),
        cmocka_unit_test(test_timed_store_keeps_every_operation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
