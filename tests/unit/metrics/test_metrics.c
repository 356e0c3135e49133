/* Unit tests of src/metrics: histograms, counter sets and the text exposition writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "base/base.h"
#include "metrics/metrics.h"

static const int64_t bounds[] = { 1000, 5000, 250000, 1000000 }; /* 1 ms, 5 ms, 0.25 s, 1 s */

static void test_histogram_buckets_are_cumulative_with_inf(void **state)
{
    (void)state;
    struct chime_histogram h;
    chime_histogram_init(&h, bounds, 4);
    int64_t values[] = { 0, 1000, 1001, 4999, 250000, 999999, 1000001, 7000000, -5 };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        chime_histogram_observe_us(&h, values[i]);
    struct chime_histogram_snapshot s;
    chime_histogram_snapshot(&h, &s);
    /* le is inclusive: 1000 falls in le=0.001; -5 counts as 0. */
    assert_int_equal(s.counts[0], 3);
    assert_int_equal(s.counts[1], 5);
    assert_int_equal(s.counts[2], 6);
    assert_int_equal(s.counts[3], 7);
    assert_int_equal(s.counts[4], 9);
    assert_int_equal(s.count, 9);
    assert_int_equal(s.sum_us, 0 + 1000 + 1001 + 4999 + 250000 + 999999 + 1000001 + 7000000);
}

static void test_histogram_snapshot_add_needs_same_bounds(void **state)
{
    (void)state;
    static const int64_t other[] = { 1000, 2000 };
    struct chime_histogram a, b, c;
    chime_histogram_init(&a, bounds, 4);
    chime_histogram_init(&b, bounds, 4);
    chime_histogram_init(&c, other, 2);
    chime_histogram_observe_us(&a, 10);
    chime_histogram_observe_us(&b, 2000000);
    struct chime_histogram_snapshot sa, sb, sc;
    chime_histogram_snapshot(&a, &sa);
    chime_histogram_snapshot(&b, &sb);
    chime_histogram_snapshot(&c, &sc);
    assert_true(chime_histogram_snapshot_add(&sa, &sb));
    assert_int_equal(sa.count, 2);
    assert_int_equal(sa.counts[0], 1);
    assert_int_equal(sa.counts[4], 2);
    assert_int_equal(sa.sum_us, 2000010);
    assert_false(chime_histogram_snapshot_add(&sa, &sc));
    assert_int_equal(sa.count, 2);
}

static void expect_text(struct chime_expo *w, const char *want)
{
    assert_int_equal(chime_expo_error(w), 0);
    assert_non_null(w->buf);
    assert_string_equal(w->buf, want);
}

static void test_expo_family_and_samples(void **state)
{
    (void)state;
    struct chime_expo w;
    chime_expo_init(&w);
    chime_expo_family(&w, "chime_runs_total", CHIME_METRIC_COUNTER, "Runs recorded, by outcome.");
    struct chime_label ok[] = { { "status", "succeeded" } };
    chime_expo_sample_u64(&w, "chime_runs_total", ok, 1, 18446744073709551615ull);
    chime_expo_family(&w, "chime_up", CHIME_METRIC_GAUGE, "");
    chime_expo_sample(&w, "chime_up", NULL, 0, 1);
    chime_expo_sample(&w, "chime_up", NULL, 0, 0.1);
    chime_expo_sample(&w, "chime_up", NULL, 0, 1.0 / 0.0);
    chime_expo_sample(&w, "chime_up", NULL, 0, -1.0 / 0.0);
    chime_expo_sample(&w, "chime_up", NULL, 0, 0.0 / 0.0);
    expect_text(&w, "# HELP chime_runs_total Runs recorded, by outcome.\n"
                    "# TYPE chime_runs_total counter\n"
                    "chime_runs_total{status=\"succeeded\"} 18446744073709551615\n"
                    "# HELP chime_up \n"
                    "# TYPE chime_up gauge\n"
                    "chime_up 1\n"
                    "chime_up 0.1\n"
                    "chime_up +Inf\n"
                    "chime_up -Inf\n"
                    "chime_up NaN\n");
    chime_expo_release(&w);
}

static void test_expo_escapes_help_and_label_values(void **state)
{
    (void)state;
    struct chime_expo w;
    chime_expo_init(&w);
    chime_expo_family(&w, "m", CHIME_METRIC_COUNTER, "a \\ b\nc \"q\"");
    struct chime_label l[] = { { "a", "x\\y\"z\nw" }, { "b", "" }, { "c", "é" } };
    chime_expo_sample_u64(&w, "m", l, 3, 7);
    /* HELP escapes backslash and newline only; label values also the double quote. */
    expect_text(&w, "# HELP m a \\\\ b\\nc \"q\"\n"
                    "# TYPE m counter\n"
                    "m{a=\"x\\\\y\\\"z\\nw\",b=\"\",c=\"é\"} 7\n");
    chime_expo_release(&w);
}

static void test_expo_histogram_le_sum_count(void **state)
{
    (void)state;
    struct chime_histogram h;
    chime_histogram_init(&h, bounds, 4);
    chime_histogram_observe_us(&h, 500);
    chime_histogram_observe_us(&h, 3000);
    chime_histogram_observe_us(&h, 2500000);
    struct chime_histogram_snapshot s;
    chime_histogram_snapshot(&h, &s);
    struct chime_expo w;
    chime_expo_init(&w);
    chime_expo_family(&w, "chime_run_duration_seconds", CHIME_METRIC_HISTOGRAM, "Durations.");
    struct chime_label l[] = { { "op", "claim_due" } };
    chime_expo_histogram(&w, "chime_run_duration_seconds", l, 1, &s);
    expect_text(&w, "# HELP chime_run_duration_seconds Durations.\n"
                    "# TYPE chime_run_duration_seconds histogram\n"
                    "chime_run_duration_seconds_bucket{op=\"claim_due\",le=\"0.001\"} 1\n"
                    "chime_run_duration_seconds_bucket{op=\"claim_due\",le=\"0.005\"} 2\n"
                    "chime_run_duration_seconds_bucket{op=\"claim_due\",le=\"0.25\"} 2\n"
                    "chime_run_duration_seconds_bucket{op=\"claim_due\",le=\"1\"} 2\n"
                    "chime_run_duration_seconds_bucket{op=\"claim_due\",le=\"+Inf\"} 3\n"
                    "chime_run_duration_seconds_sum{op=\"claim_due\"} 2.5035\n"
                    "chime_run_duration_seconds_count{op=\"claim_due\"} 3\n");
    chime_expo_release(&w);
}

static void test_expo_histogram_without_labels_or_values(void **state)
{
    (void)state;
    struct chime_histogram h;
    chime_histogram_init(&h, bounds, 1);
    struct chime_histogram_snapshot s;
    chime_histogram_snapshot(&h, &s);
    struct chime_expo w;
    chime_expo_init(&w);
    chime_expo_histogram(&w, "h", NULL, 0, &s);
    expect_text(&w, "h_bucket{le=\"0.001\"} 0\n"
                    "h_bucket{le=\"+Inf\"} 0\n"
                    "h_sum 0\n"
                    "h_count 0\n");
    chime_expo_release(&w);
}

static void test_expo_refuses_bad_names(void **state)
{
    (void)state;
    const char *bad_metrics[] = { "", "1abc", "a-b", "a b", "é" };
    for (size_t i = 0; i < sizeof(bad_metrics) / sizeof(bad_metrics[0]); i++) {
        struct chime_expo w;
        chime_expo_init(&w);
        chime_expo_family(&w, bad_metrics[i], CHIME_METRIC_GAUGE, "x");
        assert_int_equal(chime_expo_error(&w), CHIME_EINVAL);
        chime_expo_sample(&w, "ok_after", NULL, 0, 1); /* the error sticks */
        assert_true(w.buf == NULL || strstr(w.buf, "ok_after") == NULL);
        chime_expo_release(&w);
    }
    const char *bad_labels[] = { "__reserved", "a:b", "9", "" };
    for (size_t i = 0; i < sizeof(bad_labels) / sizeof(bad_labels[0]); i++) {
        struct chime_expo w;
        chime_expo_init(&w);
        struct chime_label l = { bad_labels[i], "v" };
        chime_expo_sample_u64(&w, "ns:metric_1", &l, 1, 1);
        assert_int_equal(chime_expo_error(&w), CHIME_EINVAL);
        assert_null(w.buf);
        chime_expo_release(&w);
    }
}

static void test_expo_reports_out_of_memory(void **state)
{
    (void)state;
    struct chime_expo w;
    chime_expo_init(&w);
    chime_alloc_fail_after(1);
    chime_expo_family(&w, "m", CHIME_METRIC_GAUGE, "x");
    chime_alloc_fail_after(0);
    chime_expo_sample(&w, "m", NULL, 0, 1);
    assert_int_equal(chime_expo_error(&w), CHIME_ENOMEM);
    assert_null(w.buf);
    chime_expo_release(&w);
}

struct set_seen {
    uint64_t total;
    size_t keys;
};

static void count_visit(uint32_t key, uint64_t count, void *ctx)
{
    struct set_seen *seen = ctx;
    (void)key;
    seen->total += count;
    seen->keys++;
}

static struct chime_counter_set shared_set;

static void *set_adder(void *arg)
{
    uint32_t base = (uint32_t)(uintptr_t)arg;
    for (uint32_t i = 0; i < 20000; i++)
        chime_counter_set_add(&shared_set, base + i % 50 + 1, 1);
    return NULL;
}

static void test_counter_set_counts_concurrently(void **state)
{
    (void)state;
    memset(&shared_set, 0, sizeof(shared_set));
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, set_adder, (void *)(i % 2 * 25)), 0);
    for (size_t i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    struct set_seen seen = { 0 };
    chime_counter_set_visit(&shared_set, count_visit, &seen);
    assert_int_equal(seen.total, 80000);
    assert_int_equal(seen.keys, 75); /* keys 1..50 and 26..75 */
    assert_int_equal(atomic_load(&shared_set.overflow), 0);
}

static void test_counter_set_full_counts_overflow(void **state)
{
    (void)state;
    static struct chime_counter_set set;
    for (uint32_t k = 1; k <= CHIME_COUNTER_SET_CAP + 3; k++)
        chime_counter_set_add(&set, k, 2);
    struct set_seen seen = { 0 };
    chime_counter_set_visit(&set, count_visit, &seen);
    assert_int_equal(seen.keys, CHIME_COUNTER_SET_CAP);
    assert_int_equal(atomic_load(&set.overflow), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_buckets_are_cumulative_with_inf),
        cmocka_unit_test(test_histogram_snapshot_add_needs_same_bounds),
        cmocka_unit_test(test_expo_family_and_samples),
        cmocka_unit_test(test_expo_escapes_help_and_label_values),
        cmocka_unit_test(test_expo_histogram_le_sum_count),
        cmocka_unit_test(test_expo_histogram_without_labels_or_values),
        cmocka_unit_test(test_expo_refuses_bad_names),
        cmocka_unit_test(test_expo_reports_out_of_memory),
        cmocka_unit_test(test_counter_set_counts_concurrently),
        cmocka_unit_test(test_counter_set_full_counts_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
