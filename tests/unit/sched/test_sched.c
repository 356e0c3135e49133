/*
 * Unit tests of src/sched: the scheduler over the memory store, driven by a
 * fake clock. Tests advance the clock and call chime_sched_run_due, then
 * chime_sched_drain (which waits for dispatched work, never for a schedule),
 * and check the run records and events exactly. A test invoke hook lets a
 * job block on a gate the test opens, to hold instances running.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "base/base.h"
#include "sched/sched.h"
#include "time/tz.h"

#define SEC 1000000LL
#define T0  1767225600000000LL /* 2026-01-01T00:00:00Z */

/* A gate: jobs whose id starts with "block" wait in the invoke hook until opened. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
    int entered;
};

#define MAX_EVENTS 256

struct recorder {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t n;
    enum chime_sched_event_kind kinds[MAX_EVENTS];
    char job_ids[MAX_EVENTS][64];
    int statuses[MAX_EVENTS];
    char errors[MAX_EVENTS][128];
};

struct fixture {
    struct chime_fake_clock *fake;
    struct chime_store *store;
    struct chime_sched *sched;
    struct chime_job_defaults defaults;
    struct gate gate;
    struct recorder rec;
};

static void test_invoke(const struct chime_func *fn, const struct chime_call *call,
                        struct chime_outcome *out, void *ctx)
{
    struct gate *g = ctx;
    if (strncmp(call->job_id, "slow", 4) == 0) { /* takes 5 s of the fake clock */
        struct fixture *f = (struct fixture *)((char *)g - offsetof(struct fixture, gate));
        chime_fake_clock_advance(f->fake, 5 * SEC);
    }
    if (strncmp(call->job_id, "block", 5) == 0) {
        pthread_mutex_lock(&g->mu);
        g->entered++;
        pthread_cond_broadcast(&g->cv);
        while (!g->open)
            pthread_cond_wait(&g->cv, &g->mu);
        pthread_mutex_unlock(&g->mu);
    }
    fn->fn(call, out);
}

static void gate_wait_entered(struct gate *g, int n)
{
    pthread_mutex_lock(&g->mu);
    while (g->entered < n)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void record_event(const struct chime_sched_event *ev, void *ctx)
{
    struct recorder *r = ctx;
    pthread_mutex_lock(&r->mu);
    if (r->n < MAX_EVENTS) {
        r->kinds[r->n] = ev->kind;
        chime__strlcpy(r->job_ids[r->n], ev->job_id, sizeof(r->job_ids[0]));
        r->statuses[r->n] = ev->run ? (int)ev->run->status : -1;
        chime__strlcpy(r->errors[r->n], ev->run && ev->run->error ? ev->run->error : "",
                       sizeof(r->errors[0]));
        r->n++;
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static size_t rec_count(struct recorder *r, enum chime_sched_event_kind kind)
{
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++)
        n += r->kinds[i] == kind;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Waits for events (work), never for time. */
static bool rec_has_error(struct recorder *r, const char *prefix)
{
    pthread_mutex_lock(&r->mu);
    bool found = false;
    for (size_t i = 0; i < r->n && !found; i++)
        found = strncmp(r->errors[i], prefix, strlen(prefix)) == 0;
    pthread_mutex_unlock(&r->mu);
    return found;
}

static void rec_wait(struct recorder *r, enum chime_sched_event_kind kind, size_t n)
{
    pthread_mutex_lock(&r->mu);
    for (;;) {
        size_t have = 0;
        for (size_t i = 0; i < r->n; i++)
            have += r->kinds[i] == kind;
        if (have >= n)
            break;
        pthread_cond_wait(&r->cv, &r->mu);
    }
    pthread_mutex_unlock(&r->mu);
}

static struct chime_sched_config base_config(struct fixture *f)
{
    return (struct chime_sched_config){
        .defaults = f->defaults,
        .max_workers = 4,
        .clock = chime_fake_clock_get(f->fake),
        .store = f->store,
        .shutdown_grace_ms = 60000,
        .claim_batch = 2,
        .node = "test-node",
        .invoke = test_invoke,
        .invoke_ctx = &f->gate,
    };
}

static int fixture_open(struct fixture *f, int max_workers, int64_t grace_ms)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->gate.mu, NULL);
    pthread_cond_init(&f->gate.cv, NULL);
    pthread_mutex_init(&f->rec.mu, NULL);
    pthread_cond_init(&f->rec.cv, NULL);
    f->defaults = (struct chime_job_defaults){ true, 60, 1, chime_zone_utc() };
    if (chime_fake_clock_new(T0, &f->fake) < 0)
        return -1;
    struct chime_diag diag;
    if (chime_store_open("memory://", &f->defaults, &f->store, &diag) < 0)
        return -1;
    struct chime_sched_config config = base_config(f);
    config.max_workers = max_workers;
    config.shutdown_grace_ms = grace_ms;
    if (chime_sched_new(&config, &f->sched) < 0)
        return -1;
    return chime_sched_add_listener(f->sched, CHIME_EVENT_ALL, record_event, &f->rec);
}

static int setup(void **state)
{
    struct fixture *f = chime__calloc(1, sizeof(*f));
    *state = f;
    return f ? fixture_open(f, 4, 60000) : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    gate_open(&f->gate);
    chime_sched_free(f->sched);
    chime_store_close(f->store);
    chime_fake_clock_free(f->fake);
    chime__free(f);
    return 0;
}

static chime_utime now_of(struct fixture *f)
{
    return chime_clock_now(chime_fake_clock_get(f->fake));
}

static void add_job(struct fixture *f, const char *json)
{
    json_error_t jerr;
    json_t *body = json_loads(json, 0, &jerr);
    assert_non_null(body);
    struct chime_job job;
    struct chime_diag diag;
    chime_diag_clear(&diag);
    int rc = chime_job_from_request(body, &f->defaults, now_of(f), &job, NULL, &diag);
    if (rc < 0)
        fail_msg("job rejected: %s", diag.message);
    assert_int_equal(chime_sched_add_job(f->sched, &job, false, &diag), 0);
    chime_job_release(&job);
    json_decref(body);
}

static size_t run_due(struct fixture *f)
{
    size_t n = 0;
    assert_int_equal(chime_sched_run_due(f->sched, &n), 0);
    chime_sched_drain(f->sched);
    return n;
}

/* The runs of a job, oldest first. */
struct runs {
    size_t n;
    int status[64];
    chime_utime scheduled[64];
    int cause[64];
    int attempt[64];
    char error[64][128];
};

static int collect_run(const struct chime_run *run, void *ctx)
{
    struct runs *r = ctx;
    if (r->n < 64) {
        r->status[r->n] = (int)run->status;
        r->scheduled[r->n] = run->scheduled;
        r->cause[r->n] = (int)run->cause;
        r->attempt[r->n] = run->attempt;
        chime__strlcpy(r->error[r->n], run->error ? run->error : "", sizeof(r->error[0]));
        r->n++;
    }
    return 0;
}

static void runs_of(struct fixture *f, const char *job_id, struct runs *out)
{
    memset(out, 0, sizeof(*out));
    struct chime_run_filter filter = { job_id, -1, 0, 0 };
    assert_int_equal(f->store->ops->list_runs(f->store, &filter, collect_run, out), 0);
    for (size_t i = 0; i < out->n / 2; i++) { /* newest first -> oldest first */
        size_t j = out->n - 1 - i;
        int s = out->status[i], c = out->cause[i], a = out->attempt[i];
        chime_utime t = out->scheduled[i];
        char e[128];
        memcpy(e, out->error[i], sizeof(e));
        out->status[i] = out->status[j], out->cause[i] = out->cause[j];
        out->attempt[i] = out->attempt[j], out->attempt[j] = a;
        out->scheduled[i] = out->scheduled[j];
        memcpy(out->error[i], out->error[j], sizeof(e));
        out->status[j] = s, out->cause[j] = c, out->scheduled[j] = t;
        memcpy(out->error[j], e, sizeof(e));
    }
}

static size_t count_status(const struct runs *r, enum chime_run_status status)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->status[i] == (int)status;
    return n;
}

static chime_utime next_run_of(struct fixture *f, const char *id)
{
    struct chime_job job;
    assert_int_equal(chime_sched_get_job(f->sched, id, &job), 0);
    chime_utime t = job.next_run;
    chime_job_release(&job);
    return t;
}

static void advance(struct fixture *f, int64_t us)
{
    chime_fake_clock_advance(f->fake, us);
}

static void test_sched_interval_job_fires_once_per_tick(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"j1\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10}}");
    assert_int_equal(next_run_of(f, "j1"), T0 + 10 * SEC);
    assert_int_equal(run_due(f), 0); /* not due yet */
    for (int tick = 1; tick <= 3; tick++) {
        advance(f, 10 * SEC);
        assert_int_equal(run_due(f), 1);
        assert_int_equal(run_due(f), 0); /* a second pass at the same now claims nothing */
    }
    struct runs r;
    runs_of(f, "j1", &r);
    assert_int_equal(r.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(r.status[i], CHIME_RUN_SUCCEEDED);
        assert_int_equal(r.scheduled[i], T0 + (int64_t)(i + 1) * 10 * SEC);
        assert_int_equal(r.cause[i], CHIME_CAUSE_SCHEDULE);
    }
    assert_int_equal(next_run_of(f, "j1"), T0 + 40 * SEC);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_RUN_STARTED), 3);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_RUN_SUCCEEDED), 3);
}

static void test_sched_claims_every_job_across_batches(void **state)
{
    struct fixture *f = *state; /* claim_batch is 2: five due jobs take three claims */
    for (int i = 0; i < 5; i++) {
        char json[160];
        snprintf(json, sizeof(json),
                 "{\"id\":\"m%d\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
                 "\"trigger_args\":{\"seconds\":10}}",
                 i);
        add_job(f, json);
    }
    advance(f, 10 * SEC);
    assert_int_equal(run_due(f), 5);
    struct chime_sched_stats st;
    chime_sched_stats(f->sched, &st);
    assert_int_equal(st.started, 5);
    assert_int_equal(st.succeeded, 5);
    assert_int_equal(st.in_flight, 0);
}

static void test_sched_misfire_beyond_grace_records_missed(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"late\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10},\"misfire_grace_time\":1,\"coalesce\":false}");
    advance(f, 15 * SEC); /* 5 s late, grace 1 s */
    assert_int_equal(run_due(f), 1);
    struct runs r;
    runs_of(f, "late", &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.status[0], CHIME_RUN_MISSED);
    assert_int_equal(r.scheduled[0], T0 + 10 * SEC);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_RUN_MISSED), 1);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_RUN_STARTED), 0);
    advance(f, 5 * SEC); /* on time for T0+20s */
    assert_int_equal(run_due(f), 1);
    runs_of(f, "late", &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.status[1], CHIME_RUN_SUCCEEDED);
}

static void test_sched_coalesce_runs_latest_and_records_the_rest(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"co\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10},\"misfire_grace_time\":null,"
               "\"coalesce\":true}");
    advance(f, 50 * SEC); /* T0+10 .. T0+50: five due times */
    run_due(f);
    struct runs r;
    runs_of(f, "co", &r);
    assert_int_equal(r.n, 5);
    assert_int_equal(count_status(&r, CHIME_RUN_SUCCEEDED), 1);
    assert_int_equal(count_status(&r, CHIME_RUN_MISSED), 4);
    assert_int_equal(r.status[4], CHIME_RUN_SUCCEEDED);
    assert_int_equal(r.scheduled[4], T0 + 50 * SEC);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_RUN_SUCCEEDED), 1);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_RUN_MISSED), 4);
    assert_int_equal(next_run_of(f, "co"), T0 + 60 * SEC);
}

static void test_sched_no_coalesce_runs_each_overdue_time(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"nc\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10},\"misfire_grace_time\":null,"
               "\"coalesce\":false,\"max_instances\":5}");
    advance(f, 50 * SEC);
    assert_int_equal(run_due(f), 5);
    struct runs r;
    runs_of(f, "nc", &r);
    assert_int_equal(r.n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(r.status[i], CHIME_RUN_SUCCEEDED);
        assert_int_equal(r.scheduled[i], T0 + (int64_t)(i + 1) * 10 * SEC);
    }
}

static void test_sched_max_instances_skips_while_running(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"block-mi\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10},\"max_instances\":1}");
    advance(f, 10 * SEC);
    size_t n = 0;
    assert_int_equal(chime_sched_run_due(f->sched, &n), 0);
    assert_int_equal(n, 1);
    gate_wait_entered(&f->gate, 1); /* the first run is running and held */
    advance(f, 10 * SEC);
    assert_int_equal(chime_sched_run_due(f->sched, &n), 0);
    assert_int_equal(n, 1);
    struct runs r;
    runs_of(f, "block-mi", &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.status[0], CHIME_RUN_RUNNING);
    assert_int_equal(r.status[1], CHIME_RUN_SKIPPED);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_RUN_SKIPPED), 1);
    gate_open(&f->gate);
    chime_sched_drain(f->sched);
    runs_of(f, "block-mi", &r);
    assert_int_equal(r.status[0], CHIME_RUN_SUCCEEDED);
    advance(f, 10 * SEC); /* the instance is free again */
    assert_int_equal(run_due(f), 1);
    runs_of(f, "block-mi", &r);
    assert_int_equal(r.status[2], CHIME_RUN_SUCCEEDED);
}

/* overlap queue: the fire due while the job runs leaves no record, waits, and starts
 * (its own scheduled time, attempt 1) as soon as the running one ends. */
static void test_sched_queue_starts_when_the_run_ends(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"block-q\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10},\"overlap\":\"queue\"}");
    advance(f, 10 * SEC);
    size_t n = 0;
    assert_int_equal(chime_sched_run_due(f->sched, &n), 0);
    assert_int_equal(n, 1);
    gate_wait_entered(&f->gate, 1);
    advance(f, 10 * SEC);
    assert_int_equal(chime_sched_run_due(f->sched, &n), 0);
    assert_int_equal(n, 0); /* queued: no record yet */
    struct runs r;
    runs_of(f, "block-q", &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_RUN_SKIPPED), 0);
    advance(f, 2 * SEC);
    gate_open(&f->gate);
    chime_sched_drain(f->sched);
    assert_int_equal(run_due(f), 1); /* the instance is free: the queued fire starts */
    runs_of(f, "block-q", &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.status[0], CHIME_RUN_SUCCEEDED);
    assert_int_equal(r.status[1], CHIME_RUN_SUCCEEDED);
    assert_int_equal(r.scheduled[1], T0 + 20 * SEC);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_RUN_SKIPPED), 0);
}

/* overlap replace: a fire due while the job runs asks the running run to stop; a
 * function running inside chimed cannot be stopped, so its record ends cancelled when
 * it returns (its outcome dropped) and the new fire waits for it, then starts. */
static void test_sched_replace_cancels_the_running_run(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"block-r\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10},\"overlap\":\"replace\"}");
    advance(f, 10 * SEC);
    size_t n = 0;
    assert_int_equal(chime_sched_run_due(f->sched, &n), 0);
    assert_int_equal(n, 1);
    gate_wait_entered(&f->gate, 1);
    advance(f, 10 * SEC);
    assert_int_equal(chime_sched_run_due(f->sched, &n), 0);
    assert_int_equal(n, 0); /* the new fire waits for the replaced run to end */
    gate_open(&f->gate);
    chime_sched_drain(f->sched);
    struct runs r;
    runs_of(f, "block-r", &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.status[0], CHIME_RUN_CANCELLED);
    assert_int_equal(run_due(f), 1); /* then it starts */
    runs_of(f, "block-r", &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.status[1], CHIME_RUN_SUCCEEDED);
    assert_int_equal(r.scheduled[1], T0 + 20 * SEC);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_RUN_SKIPPED), 0);
    assert_true(rec_has_error(&f->rec, "replaced by the run of 2026-01-01T00:00:20"));
    struct chime_sched_stats st;
    chime_sched_stats(f->sched, &st);
    assert_int_equal(st.cancelled, 1); /* not counted failed */
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.succeeded, 1);
}

static void test_sched_pause_stops_fires_resume_restarts(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"p\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10}}");
    struct chime_job job;
    assert_int_equal(chime_sched_pause_job(f->sched, "p", &job), 0);
    assert_true(job.paused);
    assert_int_equal(job.next_run, CHIME_UTIME_NONE);
    chime_job_release(&job);
    advance(f, 35 * SEC);
    assert_int_equal(run_due(f), 0);
    struct runs r;
    runs_of(f, "p", &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(chime_sched_resume_job(f->sched, "p", &job), 0);
    assert_false(job.paused);
    assert_int_equal(job.next_run, T0 + 40 * SEC); /* the next on the grid after now */
    chime_job_release(&job);
    assert_int_equal(run_due(f), 0);
    advance(f, 5 * SEC);
    assert_int_equal(run_due(f), 1);
    runs_of(f, "p", &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.scheduled[0], T0 + 40 * SEC);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_JOB_PAUSED), 1);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_JOB_RESUMED), 1);
    assert_int_equal(chime_sched_pause_job(f->sched, "nope", NULL), CHIME_ENOENT);
    assert_int_equal(chime_sched_resume_job(f->sched, "nope", NULL), CHIME_ENOENT);
}

static void test_sched_remove_job_stops_it(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"rm\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10}}");
    assert_int_equal(chime_sched_remove_job(f->sched, "rm"), 0);
    struct chime_job job;
    assert_int_equal(chime_sched_get_job(f->sched, "rm", &job), CHIME_ENOENT);
    assert_int_equal(chime_sched_remove_job(f->sched, "rm"), CHIME_ENOENT);
    advance(f, 10 * SEC);
    assert_int_equal(run_due(f), 0);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_JOB_REMOVED), 1);
}

static void test_sched_run_now_outside_schedule(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"rn\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"hours\":1}}");
    int64_t run_id = 0;
    assert_int_equal(chime_sched_run_job_now(f->sched, "rn", &run_id), 0);
    assert_true(run_id > 0);
    chime_sched_drain(f->sched);
    struct runs r;
    runs_of(f, "rn", &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.status[0], CHIME_RUN_SUCCEEDED);
    assert_int_equal(r.cause[0], CHIME_CAUSE_MANUAL);
    assert_int_equal(r.scheduled[0], T0);
    assert_int_equal(next_run_of(f, "rn"), T0 + 3600 * SEC); /* schedule unchanged */
    assert_int_equal(chime_sched_run_job_now(f->sched, "missing", &run_id), CHIME_ENOENT);
}

static void test_sched_date_job_fires_once_and_is_gone(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"once\",\"func\":\"chime:noop\",\"trigger\":\"date\","
               "\"trigger_args\":{\"run_date\":\"2026-01-01T00:00:05+00:00\"}}");
    advance(f, 5 * SEC);
    assert_int_equal(run_due(f), 1);
    struct chime_job job;
    assert_int_equal(chime_sched_get_job(f->sched, "once", &job), CHIME_ENOENT);
    advance(f, 60 * SEC);
    assert_int_equal(run_due(f), 0);
    struct runs r;
    runs_of(f, "once", &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.status[0], CHIME_RUN_SUCCEEDED);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_JOB_REMOVED), 1);
}

static void test_sched_failed_and_broken_jobs_record_failure(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"bad\",\"func\":\"chime:fail\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10},\"kwargs\":{\"message\":\"boom\"}}");
    json_t *body = json_loads("{\"id\":\"broken\",\"func\":\"chime:noop\",\"trigger\":"
                              "\"interval\",\"trigger_args\":{\"seconds\":10}}",
                              0, NULL);
    struct chime_job job;
    struct chime_diag diag;
    assert_int_equal(chime_job_from_request(body, &f->defaults, T0, &job, NULL, &diag), 0);
    job.broken = chime__strdup("module gone.mod is not installed");
    assert_int_equal(chime_sched_add_job(f->sched, &job, false, &diag), 0);
    assert_int_equal(chime_sched_add_job(f->sched, &job, false, &diag), CHIME_EEXIST);
    assert_string_equal(diag.field, "id");
    chime_job_release(&job);
    json_decref(body);
    advance(f, 10 * SEC);
    assert_int_equal(run_due(f), 2);
    struct runs r;
    runs_of(f, "bad", &r);
    assert_int_equal(r.status[0], CHIME_RUN_FAILED);
    assert_string_equal(r.error[0], "boom");
    runs_of(f, "broken", &r);
    assert_int_equal(r.status[0], CHIME_RUN_FAILED);
    assert_string_equal(r.error[0], "module gone.mod is not installed");
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_RUN_FAILED), 2);
}

static void test_sched_events_delivered_in_order_with_mask(void **state)
{
    struct fixture *f = *state;
    struct recorder only_runs = { 0 };
    pthread_mutex_init(&only_runs.mu, NULL);
    pthread_cond_init(&only_runs.cv, NULL);
    assert_int_equal(
            chime_sched_add_listener(f->sched, CHIME_EVENT_RUN_SUCCEEDED, record_event, &only_runs),
            0);
    add_job(f, "{\"id\":\"ev\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10}}");
    advance(f, 10 * SEC);
    run_due(f);
    assert_int_equal(chime_sched_remove_job(f->sched, "ev"), 0);
    const enum chime_sched_event_kind want[] = { CHIME_EVENT_JOB_ADDED, CHIME_EVENT_RUN_STARTED,
                                                 CHIME_EVENT_RUN_SUCCEEDED,
                                                 CHIME_EVENT_JOB_REMOVED };
    assert_int_equal(f->rec.n, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(f->rec.kinds[i], want[i]);
        assert_string_equal(f->rec.job_ids[i], "ev");
    }
    assert_int_equal(f->rec.statuses[2], CHIME_RUN_SUCCEEDED);
    assert_int_equal(only_runs.n, 1);
    assert_int_equal(only_runs.kinds[0], CHIME_EVENT_RUN_SUCCEEDED);
    assert_string_equal(chime_sched_event_name(CHIME_EVENT_RUN_SKIPPED), "run_skipped");
}

static int modify(struct fixture *f, const char *id, const char *patch_json,
                  struct chime_diag *diag)
{
    json_t *patch = json_loads(patch_json, 0, NULL);
    assert_non_null(patch);
    chime_diag_clear(diag);
    int rc = chime_sched_modify_job(f->sched, id, patch, NULL, diag);
    json_decref(patch);
    return rc;
}

static void test_sched_modify_job_revalidates_and_reschedules(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"mod\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10},\"max_instances\":3}");
    advance(f, 3 * SEC);
    struct chime_diag diag;
    assert_int_equal(modify(f, "mod", "{\"name\":\"renamed\",\"coalesce\":false}", &diag), 0);
    struct chime_job job;
    assert_int_equal(chime_sched_get_job(f->sched, "mod", &job), 0);
    assert_string_equal(job.name, "renamed");
    assert_int_equal(job.next_run, T0 + 10 * SEC); /* same trigger: next run kept */
    assert_int_equal(job.policy.coalesce, 0);
    assert_int_equal(job.policy.max_instances, 3); /* not in the patch: kept */
    chime_job_release(&job);
    assert_int_equal(
            modify(f, "mod", "{\"trigger\":\"interval\",\"trigger_args\":{\"minutes\":1}}", &diag),
            0);
    assert_int_equal(next_run_of(f, "mod"), T0 + 63 * SEC); /* rescheduled from now */
    /* Errors change nothing and name the field. */
    assert_int_equal(modify(f, "mod", "{\"trigger_args\":{\"seconds\":-5}}", &diag), CHIME_EINVAL);
    assert_true(strncmp(diag.field, "trigger_args", 12) == 0);
    assert_int_equal(modify(f, "mod", "{\"kwargs\":{\"nope\":1}}", &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "kwargs");
    assert_int_equal(modify(f, "mod", "{\"id\":\"other\"}", &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "id");
    assert_int_equal(modify(f, "missing", "{\"name\":\"x\"}", &diag), CHIME_ENOENT);
    assert_int_equal(chime_sched_get_job(f->sched, "mod", &job), 0);
    assert_string_equal(job.name, "renamed");
    assert_int_equal(job.next_run, T0 + 63 * SEC);
    assert_string_equal(job.kwargs, "{}");
    chime_job_release(&job);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_JOB_MODIFIED), 2);
}

struct stop_arg {
    struct chime_sched *sched;
    size_t abandoned;
};

static void *stop_thread(void *arg)
{
    struct stop_arg *s = arg;
    s->abandoned = chime_sched_stop(s->sched);
    return NULL;
}

static void test_sched_graceful_stop_waits_for_running_job(void **state)
{
    struct fixture *f = *state; /* grace 60 s */
    add_job(f, "{\"id\":\"block-stop\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10}}");
    advance(f, 10 * SEC);
    assert_int_equal(chime_sched_run_due(f->sched, NULL), 0);
    gate_wait_entered(&f->gate, 1);
    struct stop_arg s = { f->sched, 99 };
    pthread_t t;
    pthread_create(&t, NULL, stop_thread, &s);
    gate_open(&f->gate); /* the stopper returns once the run is done, well within grace */
    pthread_join(t, NULL);
    assert_int_equal(s.abandoned, 0);
    struct runs r;
    runs_of(f, "block-stop", &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.status[0], CHIME_RUN_SUCCEEDED);
    assert_int_equal(chime_sched_run_due(f->sched, NULL), CHIME_ESHUTDOWN);
    assert_int_equal(chime_sched_run_job_now(f->sched, "block-stop", NULL), CHIME_ESHUTDOWN);
    assert_int_equal(chime_sched_stop(f->sched), 0); /* idempotent */
}

/* APS-COMPAT: overdue times of one claim run back to back in ONE instance, so
 * max_instances=1 does not skip them and they never overlap. */
static void test_sched_catch_up_runs_back_to_back_in_one_instance(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"block-catchup\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10},\"coalesce\":false,"
               "\"misfire_grace_time\":3600,\"max_instances\":1}");
    advance(f, 50 * SEC); /* due: 10 s .. 50 s, five times */
    assert_int_equal(chime_sched_run_due(f->sched, NULL), 0);
    gate_wait_entered(&f->gate, 1);
    struct chime_sched_stats st;
    chime_sched_stats(f->sched, &st);
    assert_int_equal(st.in_flight, 5); /* all five dispatched... */
    assert_int_equal(st.busy, 1);      /* ...one running, the others chained behind it, */
    assert_int_equal(st.queued, 0);    /* not waiting in the pool for another worker */
    gate_open(&f->gate);
    chime_sched_drain(f->sched);
    struct runs r;
    runs_of(f, "block-catchup", &r);
    assert_int_equal(r.n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(r.status[i], CHIME_RUN_SUCCEEDED);
        assert_int_equal(r.scheduled[i], T0 + (chime_utime)(i + 1) * 10 * SEC);
    }
    assert_int_equal(f->gate.entered, 5);
}

/* Each chained time is checked against the grace when its turn comes. */
static void test_sched_catch_up_rechecks_misfire_grace(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"block-late\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10},\"coalesce\":false,"
               "\"misfire_grace_time\":30}");
    advance(f, 30 * SEC); /* due: 10 s, 20 s, 30 s, all within 30 s of now */
    assert_int_equal(chime_sched_run_due(f->sched, NULL), 0);
    gate_wait_entered(&f->gate, 1);
    advance(f, 25 * SEC); /* the first run takes 25 s: 20 s is now 35 s late, 30 s 25 s */
    gate_open(&f->gate);
    chime_sched_drain(f->sched);
    struct runs r;
    runs_of(f, "block-late", &r);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.status[0], CHIME_RUN_SUCCEEDED);
    assert_int_equal(r.status[1], CHIME_RUN_MISSED);
    assert_non_null(strstr(r.error[1], "misfire_grace_time"));
    assert_int_equal(r.status[2], CHIME_RUN_SUCCEEDED);
}

/* Stopping during a catch-up: the running time is lost, the chained ones never start. */
static void test_sched_stop_during_catch_up_records_the_rest_missed(void **state)
{
    struct fixture *f = *state;
    teardown(state); /* reopen with no shutdown grace */
    f = chime__calloc(1, sizeof(*f));
    *state = f;
    assert_int_equal(fixture_open(f, 2, 0), 0);
    add_job(f, "{\"id\":\"block-stop\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10},\"coalesce\":false,"
               "\"misfire_grace_time\":3600}");
    advance(f, 30 * SEC);
    assert_int_equal(chime_sched_run_due(f->sched, NULL), 0);
    gate_wait_entered(&f->gate, 1);
    assert_int_equal(chime_sched_stop(f->sched), 1);
    struct runs r;
    runs_of(f, "block-stop", &r);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.status[0], CHIME_RUN_LOST);
    assert_int_equal(r.status[1], CHIME_RUN_MISSED);
    assert_int_equal(r.status[2], CHIME_RUN_MISSED);
    gate_open(&f->gate); /* the abandoned run returns; nothing is recorded twice */
    chime_sched_free(f->sched);
    f->sched = NULL;
    runs_of(f, "block-stop", &r);
    assert_int_equal(r.status[0], CHIME_RUN_LOST);
    assert_int_equal(r.status[1], CHIME_RUN_MISSED);
    assert_int_equal(r.status[2], CHIME_RUN_MISSED);
    assert_int_equal(f->gate.entered, 1);
}

static void test_sched_stop_records_lost_and_unstarted_runs(void **state)
{
    struct fixture *f = *state;
    teardown(state); /* reopen with one worker and no grace */
    f = chime__calloc(1, sizeof(*f));
    *state = f;
    assert_int_equal(fixture_open(f, 1, 0), 0);
    add_job(f, "{\"id\":\"block-a\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10}}");
    add_job(f, "{\"id\":\"block-b\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10}}");
    advance(f, 10 * SEC);
    assert_int_equal(chime_sched_run_due(f->sched, NULL), 0);
    gate_wait_entered(&f->gate, 1); /* one runs (held), the other waits for the only worker */
    assert_int_equal(chime_sched_stop(f->sched), 1);
    struct runs a, b;
    runs_of(f, "block-a", &a);
    runs_of(f, "block-b", &b);
    assert_int_equal(a.n, 1);
    assert_int_equal(b.n, 1);
    int sa = a.status[0], sb = b.status[0];
    assert_true((sa == CHIME_RUN_LOST && sb == CHIME_RUN_MISSED) ||
                (sa == CHIME_RUN_MISSED && sb == CHIME_RUN_LOST));
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_RUN_LOST), 1);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_RUN_MISSED), 1);
    gate_open(&f->gate); /* the abandoned run returns; its outcome is not recorded again */
    chime_sched_free(f->sched);
    f->sched = NULL;
    runs_of(f, "block-a", &a);
    runs_of(f, "block-b", &b);
    assert_int_equal(a.status[0], sa);
    assert_int_equal(b.status[0], sb);
}

static void test_sched_background_thread_runs_after_wake(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(chime_sched_start(f->sched), 0);
    assert_int_equal(chime_sched_start(f->sched), CHIME_EBUSY);
    /* Due at the fake now: adding it wakes the loop, which runs it. */
    add_job(f, "{\"id\":\"bg\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10},"
               "\"next_run_time\":\"2026-01-01T00:00:00+00:00\"}");
    rec_wait(&f->rec, CHIME_EVENT_RUN_SUCCEEDED, 1);
    /* Moving the fake clock wakes the loop for the next tick. */
    advance(f, 10 * SEC);
    rec_wait(&f->rec, CHIME_EVENT_RUN_SUCCEEDED, 2);
    advance(f, 10 * SEC);
    rec_wait(&f->rec, CHIME_EVENT_RUN_SUCCEEDED, 3);
    assert_int_equal(chime_sched_stop(f->sched), 0);
    struct runs r;
    runs_of(f, "bg", &r);
    assert_int_equal(r.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(r.status[i], CHIME_RUN_SUCCEEDED);
        assert_int_equal(r.scheduled[i], T0 + (int64_t)i * 10 * SEC);
    }
    assert_int_equal(chime_sched_start(f->sched), CHIME_ESHUTDOWN);
}

struct list_ctx {
    size_t n;
    char ids[8][16];
};

static int list_visit(const struct chime_job *job, void *ctx)
{
    struct list_ctx *l = ctx;
    if (l->n < 8)
        chime__strlcpy(l->ids[l->n++], job->id, sizeof(l->ids[0]));
    return 0;
}

static void test_sched_list_jobs_orders_paused_last(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"l1\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":30}}");
    add_job(f, "{\"id\":\"l2\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10}}");
    add_job(f, "{\"id\":\"l3\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":5}}");
    assert_int_equal(chime_sched_pause_job(f->sched, "l3", NULL), 0);
    struct chime_job_page page = { 0 };
    struct list_ctx l = { 0 };
    assert_int_equal(chime_sched_list_jobs(f->sched, &page, list_visit, &l), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.ids[0], "l2");
    assert_string_equal(l.ids[1], "l1");
    assert_string_equal(l.ids[2], "l3");
}

static void test_sched_new_rejects_bad_config(void **state)
{
    struct fixture *f = *state;
    struct chime_sched_config config = base_config(f);
    struct chime_sched *s = NULL;
    config.max_workers = 0;
    assert_int_equal(chime_sched_new(&config, &s), CHIME_EINVAL);
    config = base_config(f);
    config.store = NULL;
    assert_int_equal(chime_sched_new(&config, &s), CHIME_EINVAL);
    config = base_config(f);
    chime_alloc_fail_after(1);
    assert_int_equal(chime_sched_new(&config, &s), CHIME_ENOMEM);
    assert_null(s);
}

/* Clock steps (documented in docs/reliability.md): a wall clock stepped an
 * hour forward is an outage of an hour, handled by the misfire rules: the
 * times beyond the grace are recorded missed, and of the ones inside it only
 * the latest runs (coalesce on) — one run, not a burst of sixty. */
static void test_sched_clock_step_forward_runs_once_not_a_burst(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"fw\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"minutes\":1}}");
    chime_fake_clock_set(f->fake, T0 + 3600 * SEC);
    run_due(f);
    struct runs r;
    runs_of(f, "fw", &r);
    assert_int_equal(r.n, 60);
    assert_int_equal(count_status(&r, CHIME_RUN_SUCCEEDED), 1);
    assert_int_equal(count_status(&r, CHIME_RUN_MISSED), 59);
    assert_int_equal(r.scheduled[59], T0 + 3600 * SEC);
    assert_int_equal(next_run_of(f, "fw"), T0 + 3660 * SEC);
    assert_int_equal(run_due(f), 0); /* nothing more due at the same instant */
}

/* Stepped back: nothing that already ran runs again; the job keeps its next
 * run time and fires when the clock reaches it again (delayed by the step). */
static void test_sched_clock_step_back_no_duplicate_runs(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"bw\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10}}");
    advance(f, 10 * SEC);
    assert_int_equal(run_due(f), 1);
    chime_fake_clock_set(f->fake, T0 - 3600 * SEC);
    assert_int_equal(run_due(f), 0);
    assert_int_equal(next_run_of(f, "bw"), T0 + 20 * SEC);
    chime_fake_clock_set(f->fake, T0 + 19 * SEC);
    assert_int_equal(run_due(f), 0);
    chime_fake_clock_set(f->fake, T0 + 20 * SEC);
    assert_int_equal(run_due(f), 1);
    struct runs r;
    runs_of(f, "bw", &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.scheduled[0], T0 + 10 * SEC);
    assert_int_equal(r.scheduled[1], T0 + 20 * SEC);
    assert_int_equal(count_status(&r, CHIME_RUN_SUCCEEDED), 2);
}

/* The loop thread waiting for a due time does not stall when the clock is
 * stepped back then forward: each move wakes it, and it runs the job once. */
static void test_sched_loop_follows_clock_steps(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"lp\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"seconds\":10}}");
    assert_int_equal(chime_sched_start(f->sched), 0);
    chime_fake_clock_set(f->fake, T0 - 3600 * SEC);
    chime_fake_clock_set(f->fake, T0 + 10 * SEC);
    rec_wait(&f->rec, CHIME_EVENT_RUN_SUCCEEDED, 1);
    chime_fake_clock_set(f->fake, T0 + 5 * SEC);
    chime_fake_clock_set(f->fake, T0 + 20 * SEC);
    rec_wait(&f->rec, CHIME_EVENT_RUN_SUCCEEDED, 2);
    assert_int_equal(chime_sched_stop(f->sched), 0);
    struct runs r;
    runs_of(f, "lp", &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.scheduled[1], T0 + 20 * SEC);
}

/* A job's timeout: an in-process function that returns after it is recorded timed_out. */
static void test_sched_job_timeout_records_timed_out(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"slow-t\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"hours\":1},\"timeout\":2}");
    add_job(f, "{\"id\":\"slow-ok\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"hours\":1},\"timeout\":30}");
    advance(f, 3600 * SEC); /* each run takes 5 s of the clock: nothing comes due again */
    assert_int_equal(run_due(f), 2);
    struct runs r;
    runs_of(f, "slow-t", &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.status[0], CHIME_RUN_TIMED_OUT);
    assert_non_null(strstr(r.error[0], "the job's timeout is 2 s"));
    runs_of(f, "slow-ok", &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.status[0], CHIME_RUN_SUCCEEDED);
    assert_int_equal(rec_count(&f->rec, CHIME_EVENT_RUN_FAILED), 1);
}

static chime_utime next_retry_of(struct fixture *f)
{
    chime_utime t = CHIME_UTIME_NONE;
    f->store->ops->next_retry(f->store, &t);
    return t;
}

/* retries 2, backoff 5 s: attempts at +0, +5 s, +15 s, each its own failed record. */
static void test_sched_retries_with_backoff_on_the_fake_clock(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"flaky\",\"func\":\"chime:fail\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"hours\":1},\"retries\":2,\"retry_backoff\":5}");
    add_job(f, "{\"id\":\"fine\",\"func\":\"chime:noop\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"hours\":1},\"retries\":2,\"retry_backoff\":5}");
    chime_utime fire = T0 + 3600 * SEC;
    advance(f, 3600 * SEC);
    assert_int_equal(run_due(f), 2);
    assert_int_equal(next_retry_of(f), fire + 5 * SEC); /* only the failed one retries */
    advance(f, 4 * SEC);
    assert_int_equal(run_due(f), 0); /* not before its backoff */
    advance(f, 1 * SEC);
    assert_int_equal(run_due(f), 1);
    assert_int_equal(next_retry_of(f), fire + 15 * SEC); /* doubled */
    advance(f, 10 * SEC);
    assert_int_equal(run_due(f), 1);
    assert_int_equal(next_retry_of(f), CHIME_UTIME_NONE); /* retries used up */
    struct runs r;
    runs_of(f, "flaky", &r);
    assert_int_equal(r.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r.status[i], CHIME_RUN_FAILED);
        assert_int_equal(r.attempt[i], i + 1);
        assert_int_equal(r.scheduled[i], fire); /* all attempts of the same fire */
    }
    runs_of(f, "fine", &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.attempt[0], 1);
    assert_int_equal(next_run_of(f, "flaky"), fire + 3600 * SEC); /* the schedule is unchanged */
}

/* Jitter stays within retry_jitter; a removed job's retry is dropped. */
static void test_sched_retry_jitter_and_removed_job(void **state)
{
    struct fixture *f = *state;
    add_job(f, "{\"id\":\"jit\",\"func\":\"chime:fail\",\"trigger\":\"interval\","
               "\"trigger_args\":{\"hours\":1},\"retries\":1,\"retry_backoff\":2,"
               "\"retry_jitter\":3}");
    advance(f, 3600 * SEC);
    assert_int_equal(run_due(f), 1);
    chime_utime due = next_retry_of(f);
    assert_true(due >= now_of(f) + 2 * SEC && due <= now_of(f) + 5 * SEC);
    assert_int_equal(chime_sched_remove_job(f->sched, "jit"), 0);
    advance(f, 10 * SEC);
    assert_int_equal(run_due(f), 0);
    struct runs r;
    runs_of(f, "jit", &r);
    assert_int_equal(r.n, 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    chime__log_set_level(CHIME_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        T(test_sched_interval_job_fires_once_per_tick),
        T(test_sched_clock_step_forward_runs_once_not_a_burst),
        T(test_sched_clock_step_back_no_duplicate_runs),
        T(test_sched_loop_follows_clock_steps),
        T(test_sched_claims_every_job_across_batches),
        T(test_sched_misfire_beyond_grace_records_missed),
        T(test_sched_coalesce_runs_latest_and_records_the_rest),
        T(test_sched_no_coalesce_runs_each_overdue_time),
        T(test_sched_max_instances_skips_while_running),
        T(test_sched_queue_starts_when_the_run_ends),
        T(test_sched_replace_cancels_the_running_run),
        T(test_sched_catch_up_runs_back_to_back_in_one_instance),
        T(test_sched_catch_up_rechecks_misfire_grace),
        T(test_sched_stop_during_catch_up_records_the_rest_missed),
        T(test_sched_pause_stops_fires_resume_restarts),
        T(test_sched_remove_job_stops_it),
        T(test_sched_run_now_outside_schedule),
        T(test_sched_date_job_fires_once_and_is_gone),
        T(test_sched_failed_and_broken_jobs_record_failure),
        T(test_sched_events_delivered_in_order_with_mask),
        T(test_sched_modify_job_revalidates_and_reschedules),
        T(test_sched_graceful_stop_waits_for_running_job),
        T(test_sched_stop_records_lost_and_unstarted_runs),
        T(test_sched_background_thread_runs_after_wake),
        T(test_sched_list_jobs_orders_paused_last),
        T(test_sched_new_rejects_bad_config),
        T(test_sched_job_timeout_records_timed_out),
        T(test_sched_retries_with_backoff_on_the_fake_clock),
        T(test_sched_retry_jitter_and_removed_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
