/*
 * Tests of the running-run set under heavy churn (tombstones, compaction,
 * re-adding a removed id) and of the stores' batched finish_runs: every run
 * is finished once, a second finish is CHIME_ENOENT per run, and the job's
 * running count drops so max_instances lets the next fire run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/index.h"
#include "time/tz.h"

static void test_run_set_churn_oldest_first_then_random(void **state)
{
    (void)state;
    struct chime__run_set set = { 0 };
    enum { N = 20000 };
    assert_int_equal(chime__run_set_reserve(&set, N), 0);
    for (int64_t id = 1; id <= N; id++)
        chime__run_set_add(&set, id);
    assert_int_equal(set.n, N);
    for (int64_t id = 1; id <= N / 2; id++) /* oldest first, as workers finish */
        assert_true(chime__run_set_remove(&set, id));
    assert_int_equal(set.n, N / 2);
    assert_true(set.n_slots <= N); /* compacted along the way */
    for (int64_t id = 1; id <= N / 2; id++)
        assert_false(chime__run_set_remove(&set, id));
    for (int64_t id = N; id > N / 2; id -= 3) /* newest first, a stride */
        assert_true(chime__run_set_remove(&set, id));
    for (int64_t id = N / 2 + 1; id <= N; id++) {
        bool was_removed = (N - id) % 3 == 0;
        assert_int_equal(chime__run_set_remove(&set, id), !was_removed);
    }
    assert_int_equal(set.n, 0);
    chime__run_set_release(&set);
}

static void test_run_set_readd_removed_id_and_reserve_after_churn(void **state)
{
    (void)state;
    struct chime__run_set set = { 0 };
    assert_int_equal(chime__run_set_reserve(&set, 8), 0);
    for (int64_t id = 10; id <= 80; id += 10)
        chime__run_set_add(&set, id);
    assert_true(chime__run_set_remove(&set, 30));
    chime__run_set_add(&set, 30); /* back into the slot it left (a failed finish) */
    assert_true(chime__run_set_remove(&set, 30));
    assert_false(chime__run_set_remove(&set, 30));
    assert_true(chime__run_set_remove(&set, 50));
    /* Room for 7 more without growing past what compaction frees. */
    assert_int_equal(chime__run_set_reserve(&set, set.n + 7), 0);
    chime__run_set_add(&set, 45); /* an older id than the newest: inserted in order */
    for (int64_t id = 90; id <= 140; id += 10)
        chime__run_set_add(&set, id);
    assert_int_equal(set.n, 13);
    int64_t expect[] = { 10, 20, 40, 45, 60, 70, 80, 90, 100, 110, 120, 130, 140 };
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
        assert_true(chime__run_set_remove(&set, expect[i]));
    assert_int_equal(set.n, 0);
    chime__run_set_release(&set);
}

static const char *const STORE_URLS[] = { "memory://", NULL };

static void claim_all(struct chime_store *store, chime_utime now, struct chime_claim_batch *out)
{
    struct chime_claim_request req = { .now = now, .limit = 0, .node = NULL };
    assert_int_equal(store->ops->claim_due(store, &req, out), 0);
}

static void add_jobs(struct chime_store *store, const struct chime_job_defaults *d, int n,
                     chime_utime now)
{
    for (int i = 0; i < n; i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"id\":\"job%d\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
                 "\"trigger_args\":{\"seconds\":1}}",
                 i);
        json_t *req = json_loads(body, 0, NULL);
        struct chime_job job;
        struct chime_diag diag;
        assert_int_equal(chime_job_from_request(req, d, now, &job, NULL, &diag), 0);
        json_decref(req);
        assert_int_equal(store->ops->add_job(store, &job, false), 0);
        chime_job_release(&job);
    }
}

/* finish_runs on a store: each run once, per-run results, instances released. */
static void check_finish_runs(const char *url)
{
    struct chime_job_defaults d = { true, 60, 1, chime_zone_utc() };
    struct chime_store *store;
    struct chime_diag diag;
    assert_int_equal(chime_store_open(url, &d, &store, &diag), 0);
    chime_utime now = 1800000000000000;
    add_jobs(store, &d, 5, now);
    struct chime_claim_batch batch = { 0 };
    claim_all(store, now + 1000000, &batch);
    assert_int_equal(batch.n_claims, 5);
    const struct chime_run *runs[6];
    int rcs[6];
    for (size_t i = 0; i < 5; i++) {
        batch.claims[i].run.status = CHIME_RUN_SUCCEEDED;
        batch.claims[i].run.finished = now + 1000001;
        runs[i] = &batch.claims[i].run;
    }
    runs[5] = &batch.claims[2].run; /* finished twice in one batch */
    assert_int_equal(store->ops->finish_runs(store, runs, 6, rcs), CHIME_ENOENT);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(rcs[i], 0);
    assert_int_equal(rcs[5], CHIME_ENOENT);
    /* max_instances 1: the next fires run (not skipped) now that the runs finished. */
    struct chime_claim_batch next = { 0 };
    claim_all(store, now + 2000000, &next);
    assert_int_equal(next.n_claims, 5);
    for (size_t i = 0; i < next.n_claims; i++)
        assert_int_equal(next.claims[i].run.status, CHIME_RUN_RUNNING);
    chime_claim_batch_release(&next);
    chime_claim_batch_release(&batch);
    chime_store_close(store);
}

static void test_finish_runs_memory_and_sqlite(void **state)
{
    (void)state;
    for (size_t i = 0; STORE_URLS[i]; i++)
        check_finish_runs(STORE_URLS[i]);
    char url[128];
    snprintf(url, sizeof(url), "sqlite:////tmp/chime-test-run-set-%ld.db", (long)getpid());
    check_finish_runs(url);
    const char *path = url + strlen("sqlite:///");
    char side[160];
    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_set_churn_oldest_first_then_random),
        cmocka_unit_test(test_run_set_readd_removed_id_and_reserve_after_churn),
        cmocka_unit_test(test_finish_runs_memory_and_sqlite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
