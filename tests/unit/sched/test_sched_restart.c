/*
 * Restart through the scheduler on a real SQLite file, driven by a fake
 * clock: jobs come back with their ids, names and next run times, and the
 * runs that came due while the process was down follow the misfire and
 * coalesce rules (one record per due time, nothing dropped silently).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/clock.h"
#include "sched/sched.h"
#include "store/store.h"
#include "time/tz.h"

#define SEC 1000000LL
#define T0  1767225600000000LL /* 2026-01-01T00:00:00Z */

struct node {
    struct chime_store *store;
    struct chime_sched *sched;
};

struct world {
    char dir[64];
    char url[128];
    struct chime_fake_clock *fake;
    struct chime_job_defaults defaults;
    struct node node;
};

static void node_open(struct world *w)
{
    struct chime_diag diag;
    chime_diag_clear(&diag);
    int rc = chime_store_open(w->url, &w->defaults, &w->node.store, &diag);
    if (rc < 0)
        fail_msg("store open: %s", diag.message);
    struct chime_sched_config config = {
        .defaults = w->defaults,
        .max_workers = 2,
        .clock = chime_fake_clock_get(w->fake),
        .store = w->node.store,
        .shutdown_grace_ms = 10000,
        .claim_batch = 16,
        .node = "restart-test",
    };
    assert_int_equal(chime_sched_new(&config, &w->node.sched), 0);
}

static void node_close(struct world *w)
{
    chime_sched_free(w->node.sched);
    chime_store_close(w->node.store);
    memset(&w->node, 0, sizeof(w->node));
}

static int setup(void **state)
{
    struct world *w = chime__calloc(1, sizeof(*w));
    if (!w)
        return -1;
    snprintf(w->dir, sizeof(w->dir), "/tmp/chime-restart-XXXXXX");
    if (!mkdtemp(w->dir))
        return -1;
    snprintf(w->url, sizeof(w->url), "sqlite:///%s/chime.db", w->dir);
    w->defaults = (struct chime_job_defaults){ true, 60, 1, chime_zone_utc() };
    if (chime_fake_clock_new(T0, &w->fake) < 0)
        return -1;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    if (w->node.sched)
        node_close(w);
    chime_fake_clock_free(w->fake);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", w->dir);
    chime__free(w);
    return 0;
}

static chime_utime now_of(struct world *w)
{
    return chime_clock_now(chime_fake_clock_get(w->fake));
}

static void add_job(struct world *w, const char *json)
{
    json_t *body = json_loads(json, 0, NULL);
    assert_non_null(body);
    struct chime_job job;
    struct chime_diag diag;
    chime_diag_clear(&diag);
    if (chime_job_from_request(body, &w->defaults, now_of(w), &job, NULL, &diag) < 0)
        fail_msg("job rejected: %s", diag.message);
    assert_int_equal(chime_sched_add_job(w->node.sched, &job, false, &diag), 0);
    chime_job_release(&job);
    json_decref(body);
}

static void run_due(struct world *w)
{
    assert_int_equal(chime_sched_run_due(w->node.sched, NULL), 0);
    chime_sched_drain(w->node.sched);
}

struct tally {
    size_t by_status[8];
    size_t n;
    chime_utime latest_succeeded;
};

static int tally_run(const struct chime_run *run, void *ctx)
{
    struct tally *t = ctx;
    t->by_status[run->status]++;
    t->n++;
    if (run->status == CHIME_RUN_SUCCEEDED && run->scheduled > t->latest_succeeded)
        t->latest_succeeded = run->scheduled;
    return 0;
}

static void tally_of(struct world *w, const char *job_id, struct tally *out)
{
    memset(out, 0, sizeof(*out));
    struct chime_run_filter filter = { job_id, -1, 0, 0 };
    struct chime_store *s = w->node.store;
    assert_int_equal(s->ops->list_runs(s, &filter, tally_run, out), 0);
}

static void expect_job(struct world *w, const char *id, const char *name, chime_utime next_run,
                       bool paused)
{
    struct chime_job job;
    assert_int_equal(chime_sched_get_job(w->node.sched, id, &job), 0);
    assert_string_equal(job.id, id);
    assert_string_equal(job.name, name);
    assert_int_equal(job.next_run, next_run);
    assert_int_equal(job.paused, paused);
    chime_job_release(&job);
}

static void add_three_jobs(struct world *w)
{
    add_job(w, "{\"id\": \"coalesced\", \"name\": \"digest\", \"func\": "
               "\"app.jobs.registry:send_daily_digest\", \"trigger\": \"interval\", "
               "\"trigger_args\": {\"minutes\": 1}}");
    add_job(w, "{\"id\": \"every\", \"name\": \"purge\", \"func\": "
               "\"app.jobs.registry:purge_expired_sessions\", \"trigger\": \"interval\", "
               "\"trigger_args\": {\"minutes\": 1}, \"coalesce\": false, "
               "\"misfire_grace_time\": 3600}");
    add_job(w, "{\"id\": \"report\", \"func\": \"app.jobs.registry:generate_weekly_report\", "
               "\"trigger\": \"cron\", \"trigger_args\": {\"day_of_week\": \"mon\", \"hour\": 6}}");
    assert_int_equal(chime_sched_pause_job(w->node.sched, "report", NULL), 0);
}

static void test_restart_keeps_jobs_and_applies_misfire_rules(void **state)
{
    struct world *w = *state;
    node_open(w);
    add_three_jobs(w);
    chime_fake_clock_advance(w->fake, 60 * SEC);
    run_due(w);
    node_close(w);

    /* Down for ten minutes: due times T0+120 s .. T0+660 s (ten of them) pass. */
    chime_fake_clock_advance(w->fake, 600 * SEC);
    node_open(w);
    expect_job(w, "coalesced", "digest", T0 + 120 * SEC, false);
    expect_job(w, "every", "purge", T0 + 120 * SEC, false);
    expect_job(w, "report", "generate_weekly_report", CHIME_UTIME_NONE, true);
    run_due(w);

    struct tally t;
    tally_of(w, "coalesced", &t);
    /* Coalesce: only the latest overdue time runs; the nine others leave missed records. */
    assert_int_equal(t.by_status[CHIME_RUN_SUCCEEDED], 2);
    assert_int_equal(t.by_status[CHIME_RUN_MISSED], 9);
    assert_int_equal(t.latest_succeeded, T0 + 660 * SEC);
    tally_of(w, "every", &t);
    /* No coalesce, an hour of grace: every overdue time runs. */
    assert_int_equal(t.by_status[CHIME_RUN_SUCCEEDED], 11);
    assert_int_equal(t.n, 11);
    tally_of(w, "report", &t);
    assert_int_equal(t.n, 0);
    expect_job(w, "coalesced", "digest", T0 + 720 * SEC, false);
    expect_job(w, "every", "purge", T0 + 720 * SEC, false);
}

static void test_restart_after_long_outage_records_misses(void **state)
{
    struct world *w = *state;
    node_open(w);
    add_job(w, "{\"id\": \"nocoalesce\", \"func\": \"chime:noop\", \"trigger\": \"interval\", "
               "\"trigger_args\": {\"seconds\": 30}, \"coalesce\": false}");
    node_close(w);

    /* Down 10 minutes with a 60 s grace and no coalescing: 20 due times; the three
     * not older than the grace (540 s, 570 s, 600 s) run, the other 17 are missed. */
    chime_fake_clock_advance(w->fake, 600 * SEC);
    node_open(w);
    run_due(w);
    struct tally t;
    tally_of(w, "nocoalesce", &t);
    assert_int_equal(t.n, 20);
    assert_int_equal(t.by_status[CHIME_RUN_SUCCEEDED], 3);
    assert_int_equal(t.by_status[CHIME_RUN_MISSED], 17);
    expect_job(w, "nocoalesce", "noop", T0 + 630 * SEC, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restart_keeps_jobs_and_applies_misfire_rules, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restart_after_long_outage_records_misses, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
