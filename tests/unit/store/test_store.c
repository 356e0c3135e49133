/*
 * Unit tests of src/store: one behavioural suite run against the memory and
 * the SQLite store (a temporary file under /tmp), then SQLite-only checks of
 * what persists (restart, lost runs, broken jobs, migrations, readable
 * columns), URL handling, and allocation-failure paths of the memory store.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "base/base.h"
#include "store/store.h"
#include "store/store_pg.h"
#include "store/store_sqlite.h"

#define SEC 1000000LL
#define T0  1767225600000000LL /* 2026-01-01T00:00:00Z */

struct fixture {
    bool sqlite;
    bool pg; /* PostgreSQL: url names a fresh schema of CHIME_TEST_PG_URL */
    char schema[64];
    char dir[64];
    char path[96];
    char url[1024];
    struct chime_job_defaults defaults;
    struct chime_store *store;
};

/* ---- helpers ---- */

static struct chime_trigger *make_trigger(const char *kind, json_t *args)
{
    struct chime_trigger *t = NULL;
    struct chime_diag d;
    chime_diag_clear(&d);
    int rc = chime_trigger_parse(kind, args, chime_zone_utc(), T0, &t, &d);
    json_decref(args);
    if (rc)
        fail_msg("%s trigger: %s", kind, d.message);
    return t;
}

static struct chime_trigger *interval_s(int64_t seconds)
{
    char buf[CHIME_TIME_FORMAT_MAX];
    return make_trigger("interval",
                        json_pack("{s:I, s:s, s:s}", "seconds", (json_int_t)seconds, "start_date",
                                  chime_time_format(T0, chime_zone_utc(), buf), "timezone", "UTC"));
}

/* A job firing every `seconds` from T0 (first at T0 + seconds). */
static void make_job(struct chime_job *job, const char *id, int64_t seconds)
{
    chime_job_init(job);
    job->id = chime__strdup(id);
    job->name = chime__strdup(id);
    job->func = chime__strdup("chime:noop");
    job->args = chime__strdup("[]");
    job->kwargs = chime__strdup("{}");
    job->jobstore = chime__strdup("default");
    job->trigger = interval_s(seconds);
    job->next_run = T0 + seconds * SEC;
    job->created_at = job->updated_at = T0;
}

static void add(struct fixture *f, const char *id, int64_t seconds)
{
    struct chime_job job;
    make_job(&job, id, seconds);
    assert_int_equal(f->store->ops->add_job(f->store, &job, false), 0);
    chime_job_release(&job);
}

static int open_store(struct fixture *f)
{
    struct chime_diag d;
    chime_diag_clear(&d);
    int rc = chime_store_open(f->sqlite || f->pg ? f->url : "memory://", &f->defaults, &f->store,
                              &d);
    if (rc)
        print_error("open %s: %s\n", f->url, d.message);
    return rc;
}

static void reopen(struct fixture *f)
{
    chime_store_close(f->store);
    f->store = NULL;
    assert_int_equal(open_store(f), 0);
}

static int setup(void **state, bool sqlite)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->sqlite = sqlite;
    f->defaults = (struct chime_job_defaults){ true, 60, 1, chime_zone_utc() };
    snprintf(f->dir, sizeof(f->dir), "/tmp/chime-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/chime.db", f->dir);
    snprintf(f->url, sizeof(f->url), "sqlite:///%s", f->path);
    *state = f;
    return open_store(f);
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Runs one SQL command on the test cluster's database (CHIME_TEST_PG_URL). */
static int pg_admin(const char *sql)
{
    const char *base = getenv("CHIME_TEST_PG_URL");
    PGconn *conn = PQconnectdb(base);
    PQsetNoticeProcessor(conn, quiet, NULL);
    int rc = PQstatus(conn) == CONNECTION_OK ? 0 : -1;
    if (rc == 0) {
        PGresult *res = PQexec(conn, sql);
        rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
        if (rc)
            print_error("%s: %s\n", sql, PQresultErrorMessage(res));
        PQclear(res);
    } else {
        print_error("connect %s: %s\n", base, PQerrorMessage(conn));
    }
    PQfinish(conn);
    return rc;
}

/* PostgreSQL: a schema of its own per test, named in the URL's search_path. */
static int setup_pg(void **state)
{
    const char *base = getenv("CHIME_TEST_PG_URL");
    if (!base || !*base) {
        print_error("CHIME_TEST_PG_URL is not set: run the tests with make test "
                    "(scripts/with_pg.sh starts a throw-away PostgreSQL)\n");
        return -1;
    }
    static int n;
    struct fixture *f = calloc(1, sizeof(*f));
    f->pg = true;
    f->defaults = (struct chime_job_defaults){ true, 60, 1, chime_zone_utc() };
    snprintf(f->schema, sizeof(f->schema), "t_store_%d_%d", (int)getpid(), ++n);
    snprintf(f->url, sizeof(f->url), "%s%soptions=-csearch_path%%3D%s", base,
             strchr(base, '?') ? "&" : "?", f->schema);
    snprintf(f->dir, sizeof(f->dir), "/tmp/chime-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/chime.db", f->dir);
    *state = f;
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->schema);
    if (pg_admin(sql) != 0)
        return -1;
    return open_store(f);
}

static int setup_memory(void **state)
{
    return setup(state, false);
}

static int setup_sqlite(void **state)
{
    return setup(state, true);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[160];
    chime_store_close(f->store);
    if (f->pg) {
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", f->schema);
        pg_admin(sql);
    }
    const char *suffix[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static chime_utime next_run_of(struct fixture *f, const char *id)
{
    struct chime_job job;
    chime_job_init(&job);
    if (f->store->ops->get_job(f->store, id, &job))
        return -1;
    chime_utime t = job.next_run;
    chime_job_release(&job);
    return t;
}

static int claim(struct fixture *f, chime_utime now, size_t limit, struct chime_claim_batch *b)
{
    struct chime_claim_request req = { now, limit, "node-a", false };
    memset(b, 0, sizeof(*b));
    return f->store->ops->claim_due(f->store, &req, b);
}

/* Collects listings into arrays of ids / runs. */
struct ids {
    char ids[16][32];
    chime_utime next[16];
    size_t n;
};

static int collect_id(const struct chime_job *job, void *ctx)
{
    struct ids *c = ctx;
    snprintf(c->ids[c->n], sizeof(c->ids[0]), "%s", job->id);
    c->next[c->n++] = job->next_run;
    return c->n == 16;
}

struct runs {
    struct chime_run runs[64];
    size_t n;
};

static int collect_run(const struct chime_run *run, void *ctx)
{
    struct runs *c = ctx;
    assert_int_equal(chime_run_copy(&c->runs[c->n++], run), 0);
    return c->n == 64;
}

static void runs_release(struct runs *r)
{
    for (size_t i = 0; i < r->n; i++)
        chime_run_release(&r->runs[i]);
    r->n = 0;
}

static void list_runs(struct fixture *f, const char *job_id, int status, size_t limit,
                      int64_t before_id, struct runs *out)
{
    struct chime_run_filter filter = { job_id, status, limit, before_id };
    out->n = 0;
    assert_int_equal(f->store->ops->list_runs(f->store, &filter, collect_run, out), 0);
}

/* ---- the shared suite ---- */

static void test_store_add_get_roundtrip(void **state)
{
    struct fixture *f = *state;
    add(f, "alpha", 10);
    struct chime_job got;
    chime_job_init(&got);
    assert_int_equal(f->store->ops->get_job(f->store, "alpha", &got), 0);
    assert_string_equal(got.id, "alpha");
    assert_string_equal(got.func, "chime:noop");
    assert_string_equal(got.args, "[]");
    assert_int_equal(got.next_run, T0 + 10 * SEC);
    assert_int_equal(got.version, 1);
    assert_non_null(got.trigger);
    chime_job_release(&got);
    assert_int_equal(f->store->ops->get_job(f->store, "nope", &got), CHIME_ENOENT);
    assert_int_equal(f->store->ops->count_jobs(f->store), 1);
}

static void assert_options(struct fixture *f, const char *id, int timeout_s, int retries,
                           int backoff_s, int jitter_s, int overlap)
{
    struct chime_job got;
    chime_job_init(&got);
    assert_int_equal(f->store->ops->get_job(f->store, id, &got), 0);
    assert_int_equal(got.policy.timeout_s, timeout_s);
    assert_int_equal(got.policy.retries, retries);
    assert_int_equal(got.policy.retry_backoff_s, backoff_s);
    assert_int_equal(got.policy.retry_jitter_s, jitter_s);
    assert_int_equal(got.policy.overlap, overlap);
    chime_job_release(&got);
}

/* The run options are stored with the job, kept by an update, and survive a reopen. */
static void test_store_keeps_run_options(void **state)
{
    struct fixture *f = *state;
    struct chime_job job;
    make_job(&job, "opts", 10);
    job.policy.timeout_s = 30;
    job.policy.retries = 3;
    job.policy.retry_backoff_s = 2;
    job.policy.retry_jitter_s = 1;
    assert_int_equal(f->store->ops->add_job(f->store, &job, false), 0);
    add(f, "plain", 10);
    assert_options(f, "opts", 30, 3, 2, 1, CHIME_OVERLAP_SKIP);
    assert_options(f, "plain", 0, 0, CHIME_RETRY_BACKOFF_DEFAULT_S, 0, CHIME_OVERLAP_SKIP);
    job.policy.retries = 0;
    job.policy.timeout_s = 7;
    assert_int_equal(f->store->ops->update_job(f->store, &job), 0);
    chime_job_release(&job);
    assert_options(f, "opts", 7, 0, 2, 1, CHIME_OVERLAP_SKIP);
    if (f->sqlite || f->pg) {
        reopen(f);
        assert_options(f, "opts", 7, 0, 2, 1, CHIME_OVERLAP_SKIP);
        assert_options(f, "plain", 0, 0, CHIME_RETRY_BACKOFF_DEFAULT_S, 0, CHIME_OVERLAP_SKIP);
    }
}

static int claim_retries(struct fixture *f, chime_utime now, struct chime_claim_batch *b)
{
    struct chime_claim_request req = { now, 0, "node-b", false };
    memset(b, 0, sizeof(*b));
    return f->store->ops->claim_retries(f->store, &req, b);
}

static chime_utime next_retry(struct fixture *f)
{
    chime_utime t = CHIME_UTIME_NONE;
    int rc = f->store->ops->next_retry(f->store, &t);
    assert_true(rc == 0 || rc == CHIME_ENOENT);
    return rc == 0 ? t : CHIME_UTIME_NONE;
}

/* Fails the claimed run, asking for a retry at retry_at. */
static void fail_with_retry(struct fixture *f, const struct chime_run *run, chime_utime finished,
                            chime_utime retry_at)
{
    struct chime_run done = *run;
    done.status = CHIME_RUN_FAILED;
    done.finished = finished;
    done.error = "boom";
    done.retry_at = retry_at;
    assert_int_equal(f->store->ops->finish_run(f->store, &done), 0);
}

/* A failed run's retry is stored with its outcome, survives a reopen, and is claimed
 * once when due as the same scheduled time's next attempt. */
static void test_store_retry_claimed_when_due(void **state)
{
    struct fixture *f = *state;
    add(f, "r", 10);
    add(f, "gone", 10);
    struct chime_claim_batch b;
    assert_int_equal(claim(f, T0 + 10 * SEC, 0, &b), 0);
    assert_int_equal(b.n_claims, 2);
    assert_int_equal(next_retry(f), CHIME_UTIME_NONE);
    for (size_t i = 0; i < 2; i++)
        fail_with_retry(f, &b.claims[i].run, T0 + 11 * SEC, T0 + 15 * SEC);
    chime_claim_batch_release(&b);
    assert_int_equal(next_retry(f), T0 + 15 * SEC);
    assert_int_equal(f->store->ops->remove_job(f->store, "gone"), 0);
    assert_int_equal(claim_retries(f, T0 + 14 * SEC, &b), 0);
    assert_int_equal(b.n_claims, 0);
    chime_claim_batch_release(&b);
    if (f->sqlite || f->pg) {
        reopen(f);
        assert_int_equal(next_retry(f), T0 + 15 * SEC);
    }
    assert_int_equal(claim_retries(f, T0 + 15 * SEC, &b), 0);
    assert_int_equal(b.n_claims, 1); /* the removed job's retry is dropped */
    struct chime_run *run = &b.claims[0].run;
    assert_string_equal(run->job_id, "r");
    assert_int_equal(run->status, CHIME_RUN_RUNNING);
    assert_int_equal(run->attempt, 2);
    assert_int_equal(run->scheduled, T0 + 10 * SEC);
    assert_true(run->id > 0);
    assert_int_equal(next_retry(f), CHIME_UTIME_NONE);
    struct chime_claim_batch again;
    assert_int_equal(claim_retries(f, T0 + 16 * SEC, &again), 0);
    assert_int_equal(again.n_claims, 0); /* claimed once */
    chime_claim_batch_release(&again);
    /* The attempt counts as a running instance and finishes like any run. */
    struct chime_run done = *run;
    done.status = CHIME_RUN_SUCCEEDED;
    done.finished = T0 + 17 * SEC;
    assert_int_equal(f->store->ops->finish_run(f->store, &done), 0);
    chime_claim_batch_release(&b);
    struct runs r;
    list_runs(f, "r", -1, 0, 0, &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.runs[0].attempt, 2);
    assert_int_equal(r.runs[0].status, CHIME_RUN_SUCCEEDED);
    assert_int_equal(r.runs[1].attempt, 1);
    assert_int_equal(r.runs[1].status, CHIME_RUN_FAILED);
    runs_release(&r);
}

/* A retry due while max_instances runs are running is recorded skipped; one past the
 * misfire grace is recorded missed. */
static void test_store_retry_skipped_or_missed(void **state)
{
    struct fixture *f = *state;
    add(f, "r", 10);
    struct chime_claim_batch b, now_b = { 0 };
    assert_int_equal(claim(f, T0 + 10 * SEC, 0, &b), 0);
    fail_with_retry(f, &b.claims[0].run, T0 + 11 * SEC, T0 + 12 * SEC);
    struct chime_claim_request req = { T0 + 11 * SEC, 0, NULL, false };
    assert_int_equal(f->store->ops->claim_now(f->store, "r", &req, &now_b), 0);
    assert_int_equal(now_b.claims[0].run.status, CHIME_RUN_RUNNING);
    struct chime_claim_batch rb;
    assert_int_equal(claim_retries(f, T0 + 12 * SEC, &rb), 0);
    assert_int_equal(rb.n_claims, 1);
    assert_int_equal(rb.claims[0].run.status, CHIME_RUN_SKIPPED);
    assert_string_equal(rb.claims[0].run.error, "max_instances reached");
    chime_claim_batch_release(&rb);
    fail_with_retry(f, &now_b.claims[0].run, T0 + 12 * SEC, T0 + 13 * SEC);
    assert_int_equal(claim_retries(f, T0 + 200 * SEC, &rb), 0); /* grace is 60 s */
    assert_int_equal(rb.n_claims, 1);
    assert_int_equal(rb.claims[0].run.status, CHIME_RUN_MISSED);
    assert_int_equal(rb.claims[0].run.attempt, 2);
    chime_claim_batch_release(&rb);
    chime_claim_batch_release(&now_b);
    chime_claim_batch_release(&b);
}

static void add_queue_job(struct fixture *f, const char *id, int coalesce)
{
    struct chime_job job;
    make_job(&job, id, 10);
    job.policy.overlap = CHIME_OVERLAP_QUEUE;
    job.policy.coalesce = coalesce;
    assert_int_equal(f->store->ops->add_job(f->store, &job, false), 0);
    chime_job_release(&job);
}

static void finish_ok(struct fixture *f, const struct chime_run *run, chime_utime finished)
{
    struct chime_run done = *run;
    done.status = CHIME_RUN_SUCCEEDED;
    done.finished = finished;
    assert_int_equal(f->store->ops->finish_run(f->store, &done), 0);
}

/* Overlap queue: a fire due while the job runs leaves no record but waits (surviving a
 * reopen); it starts, as attempt 1 of its scheduled time, once the run ends. With
 * coalesce one fire waits, the newest: a further one takes its place and the one that
 * waited is recorded missed (coalesced), as APScheduler's coalesce runs the latest. */
static void test_store_queue_waits_for_a_free_instance(void **state)
{
    struct fixture *f = *state;
    add_queue_job(f, "q", 1);
    struct chime_claim_batch b1, b2, rb;
    assert_int_equal(claim(f, T0 + 10 * SEC, 0, &b1), 0);
    assert_int_equal(b1.n_claims, 1);
    assert_int_equal(b1.claims[0].run.status, CHIME_RUN_RUNNING);
    assert_int_equal(claim(f, T0 + 20 * SEC, 0, &b2), 0);
    assert_int_equal(b2.n_claims, 0); /* queued, not skipped */
    chime_claim_batch_release(&b2);
    assert_int_equal(next_retry(f), T0 + 80 * SEC + 1); /* its grace (60 s) ends */
    assert_int_equal(claim_retries(f, T0 + 21 * SEC, &rb), 0);
    assert_int_equal(rb.n_claims, 0); /* the job still runs */
    chime_claim_batch_release(&rb);
    assert_int_equal(claim(f, T0 + 30 * SEC, 0, &b2), 0);
    assert_int_equal(b2.n_claims, 1); /* 30 s waits now; 20 s is folded into it */
    assert_int_equal(b2.claims[0].run.status, CHIME_RUN_MISSED);
    assert_int_equal(b2.claims[0].run.scheduled, T0 + 20 * SEC);
    assert_string_equal(b2.claims[0].run.error, "coalesced");
    chime_claim_batch_release(&b2);
    assert_int_equal(next_retry(f), T0 + 90 * SEC + 1); /* the grace of the 30 s fire */
    if (f->sqlite || f->pg) {
        chime_claim_batch_release(&b1);
        reopen(f); /* sqlite: its run is lost at open, freeing the instance */
        assert_int_equal(claim_retries(f, T0 + 31 * SEC, &rb), 0);
    } else {
        finish_ok(f, &b1.claims[0].run, T0 + 31 * SEC);
        chime_claim_batch_release(&b1);
        assert_int_equal(next_retry(f), T0 + 30 * SEC);
        assert_int_equal(claim_retries(f, T0 + 31 * SEC, &rb), 0);
    }
    if (f->pg) { /* PostgreSQL keeps the running run (its node may live): finish it */
        assert_int_equal(rb.n_claims, 0);
        chime_claim_batch_release(&rb);
        struct runs r;
        list_runs(f, "q", CHIME_RUN_RUNNING, 0, 0, &r);
        assert_int_equal(r.n, 1);
        finish_ok(f, &r.runs[0], T0 + 31 * SEC);
        runs_release(&r);
        assert_int_equal(claim_retries(f, T0 + 31 * SEC, &rb), 0);
    }
    assert_int_equal(rb.n_claims, 1);
    assert_int_equal(rb.claims[0].run.status, CHIME_RUN_RUNNING);
    assert_int_equal(rb.claims[0].run.scheduled, T0 + 30 * SEC); /* the newest waited */
    assert_int_equal(rb.claims[0].run.attempt, 1);
    assert_true(rb.claims[0].run.id > 0);
    assert_int_equal(next_retry(f), CHIME_UTIME_NONE);
    finish_ok(f, &rb.claims[0].run, T0 + 32 * SEC);
    chime_claim_batch_release(&rb);
    struct runs r;
    list_runs(f, "q", -1, 0, 0, &r);
    assert_int_equal(r.n, 3); /* one record per due time: 10 s, 20 s (coalesced), 30 s (queued) */
    runs_release(&r);
}

/* Pauses (paused) or resumes (next run at next) job id of interval_s with overlap. */
static void set_paused(struct fixture *f, const char *id, int overlap, bool paused,
                       chime_utime next)
{
    struct chime_job job;
    make_job(&job, id, 10);
    job.policy.overlap = overlap;
    job.paused = paused;
    job.next_run = paused ? CHIME_UTIME_NONE : next;
    assert_int_equal(f->store->ops->update_job(f->store, &job), 0);
    chime_job_release(&job);
}

static const struct chime_run *run_of(const struct chime_claim_batch *b, const char *job_id)
{
    for (size_t i = 0; i < b->n_claims; i++) {
        if (strcmp(b->claims[i].run.job_id, job_id) == 0)
            return &b->claims[i].run;
    }
    fail_msg("no claim of %s", job_id);
    return NULL;
}

/* Nothing of a paused job starts: its waiting retry and queued fire wait (across a
 * reopen) and are claimed after the resume. */
static void test_store_paused_job_retries_and_queue_wait(void **state)
{
    struct fixture *f = *state;
    add(f, "r", 10);
    add_queue_job(f, "q", 1);
    struct chime_claim_batch b1, b2, rb;
    assert_int_equal(claim(f, T0 + 10 * SEC, 0, &b1), 0);
    assert_int_equal(b1.n_claims, 2);
    assert_int_equal(claim(f, T0 + 20 * SEC, 0, &b2), 0); /* r skipped, q's fire queued */
    assert_int_equal(b2.n_claims, 1);
    assert_int_equal(run_of(&b2, "r")->status, CHIME_RUN_SKIPPED);
    chime_claim_batch_release(&b2);
    fail_with_retry(f, run_of(&b1, "r"), T0 + 21 * SEC, T0 + 25 * SEC);
    finish_ok(f, run_of(&b1, "q"), T0 + 21 * SEC);
    chime_claim_batch_release(&b1);
    set_paused(f, "r", CHIME_OVERLAP_SKIP, true, 0);
    set_paused(f, "q", CHIME_OVERLAP_QUEUE, true, 0);
    assert_int_equal(next_retry(f), CHIME_UTIME_NONE);
    assert_int_equal(claim_retries(f, T0 + 26 * SEC, &rb), 0);
    assert_int_equal(rb.n_claims, 0);
    chime_claim_batch_release(&rb);
    if (f->sqlite || f->pg) {
        reopen(f);
        assert_int_equal(next_retry(f), CHIME_UTIME_NONE);
        assert_int_equal(claim_retries(f, T0 + 27 * SEC, &rb), 0);
        assert_int_equal(rb.n_claims, 0);
        chime_claim_batch_release(&rb);
    }
    set_paused(f, "r", CHIME_OVERLAP_SKIP, false, T0 + 40 * SEC);
    set_paused(f, "q", CHIME_OVERLAP_QUEUE, false, T0 + 40 * SEC);
    assert_int_equal(next_retry(f), T0 + 20 * SEC); /* q's queued fire, then r's retry */
    assert_int_equal(claim_retries(f, T0 + 28 * SEC, &rb), 0);
    assert_int_equal(rb.n_claims, 2);
    const struct chime_run *q = run_of(&rb, "q"), *r = run_of(&rb, "r");
    assert_int_equal(q->status, CHIME_RUN_RUNNING);
    assert_int_equal(q->scheduled, T0 + 20 * SEC);
    assert_int_equal(q->attempt, 1);
    assert_int_equal(r->status, CHIME_RUN_RUNNING);
    assert_int_equal(r->scheduled, T0 + 10 * SEC);
    assert_int_equal(r->attempt, 2);
    chime_claim_batch_release(&rb);
    assert_int_equal(next_retry(f), CHIME_UTIME_NONE);
}

/* Without coalesce every fire waits; a fire past the misfire grace is recorded missed. */
static void test_store_queue_unbounded_fires_expire(void **state)
{
    struct fixture *f = *state;
    add_queue_job(f, "q", 0);
    struct chime_claim_batch b1, b2, rb;
    assert_int_equal(claim(f, T0 + 10 * SEC, 0, &b1), 0);
    assert_int_equal(b1.n_claims, 1);
    assert_int_equal(claim(f, T0 + 30 * SEC, 0, &b2), 0); /* 20 s and 30 s wait */
    assert_int_equal(b2.n_claims, 0);
    chime_claim_batch_release(&b2);
    assert_int_equal(next_retry(f), T0 + 80 * SEC + 1);
    assert_int_equal(claim_retries(f, T0 + 85 * SEC, &rb), 0); /* 20 s is past its grace */
    assert_int_equal(rb.n_claims, 1);
    assert_int_equal(rb.claims[0].run.status, CHIME_RUN_MISSED);
    assert_int_equal(rb.claims[0].run.scheduled, T0 + 20 * SEC);
    assert_string_equal(rb.claims[0].run.error, "misfire_grace_time exceeded (queued)");
    chime_claim_batch_release(&rb);
    finish_ok(f, &b1.claims[0].run, T0 + 86 * SEC);
    chime_claim_batch_release(&b1);
    assert_int_equal(claim_retries(f, T0 + 86 * SEC, &rb), 0);
    assert_int_equal(rb.n_claims, 1);
    assert_int_equal(rb.claims[0].run.status, CHIME_RUN_RUNNING);
    assert_int_equal(rb.claims[0].run.scheduled, T0 + 30 * SEC);
    chime_claim_batch_release(&rb);
    assert_int_equal(f->store->ops->remove_job(f->store, "q"), 0);
    assert_int_equal(next_retry(f), CHIME_UTIME_NONE);
}

/* overlap replace across nodes: a fire claimed by node b marks the run node a holds;
 * node a's next claim (after the NOTIFY) hands its scheduler the replace request. */
static void test_pg_replace_reaches_the_node_running_it(void **state)
{
    struct fixture *f = *state;
    struct chime_store *other = NULL;
    struct chime_diag d;
    struct chime_store_options opts = { .node = "node-b" };
    assert_int_equal(chime_store_open_opts(f->url, &f->defaults, &opts, &other, &d), 0);
    struct chime_job job;
    make_job(&job, "rp", 10);
    job.policy.overlap = CHIME_OVERLAP_REPLACE;
    assert_int_equal(f->store->ops->add_job(f->store, &job, false), 0);
    chime_job_release(&job);
    struct chime_claim_batch a, b = { 0 };
    assert_int_equal(claim(f, T0 + 10 * SEC, 0, &a), 0); /* node a runs it */
    assert_int_equal(a.n_claims, 1);
    struct chime_claim_request req = { T0 + 20 * SEC, 0, "node-b", false };
    assert_int_equal(other->ops->claim_due(other, &req, &b), 0);
    assert_int_equal(b.n_claims, 0); /* the fire waits for the replaced run */
    chime_claim_batch_release(&b);
    struct chime_claim_batch got = { 0 };
    for (int i = 0; i < 250 && got.n_replaces == 0; i++) { /* 5 s: a heartbeat at least */
        chime_claim_batch_release(&got);
        usleep(20000);
        assert_int_equal(claim(f, T0 + 21 * SEC, 0, &got), 0);
    }
    assert_int_equal(got.n_replaces, 1);
    assert_string_equal(got.replaces[0].job_id, "rp");
    assert_int_equal(got.replaces[0].scheduled, T0 + 20 * SEC);
    chime_claim_batch_release(&got);
    /* node a ends the run (cancelled); the fire starts on whichever node claims it */
    struct chime_run done = a.claims[0].run;
    done.status = CHIME_RUN_CANCELLED;
    done.finished = T0 + 21 * SEC;
    assert_int_equal(f->store->ops->finish_run(f->store, &done), 0);
    chime_claim_batch_release(&a);
    req.now = T0 + 21 * SEC;
    assert_int_equal(other->ops->claim_retries(other, &req, &b), 0);
    assert_int_equal(b.n_claims, 1);
    assert_int_equal(b.claims[0].run.status, CHIME_RUN_RUNNING);
    assert_int_equal(b.claims[0].run.scheduled, T0 + 20 * SEC);
    chime_claim_batch_release(&b);
    chime_store_close(other);
}

/* The earliest due time a store's wake-up was called with (its LISTEN thread). */
struct wake_record {
    pthread_mutex_t mu;
    chime_utime earliest;
};

static void record_wake(void *ctx, chime_utime due)
{
    struct wake_record *w = ctx;
    pthread_mutex_lock(&w->mu);
    if (due < w->earliest)
        w->earliest = due;
    pthread_mutex_unlock(&w->mu);
}

static chime_utime wake_earliest(struct wake_record *w)
{
    pthread_mutex_lock(&w->mu);
    chime_utime t = w->earliest;
    pthread_mutex_unlock(&w->mu);
    return t;
}

/* A run found lost (its node restarted) frees an instance of a job with a queued fire:
 * every node is told at once (NOTIFY, due now), not at its next check. */
static void test_pg_lost_run_wakes_nodes_for_queued_fires(void **state)
{
    struct fixture *f = *state;
    struct chime_store *watcher = NULL, *restarted = NULL;
    struct chime_diag d;
    struct chime_store_options opts = { .node = "watcher" };
    assert_int_equal(chime_store_open_opts(f->url, &f->defaults, &opts, &watcher, &d), 0);
    struct wake_record w = { PTHREAD_MUTEX_INITIALIZER, INT64_MAX };
    watcher->ops->set_wake(watcher, record_wake, &w);
    add_queue_job(f, "q", 1);
    struct chime_claim_batch b1, b2;
    assert_int_equal(claim(f, T0 + 10 * SEC, 0, &b1), 0); /* runs on node-a */
    assert_int_equal(b1.n_claims, 1);
    assert_int_equal(claim(f, T0 + 20 * SEC, 0, &b2), 0); /* queued */
    assert_int_equal(b2.n_claims, 0);
    chime_claim_batch_release(&b1);
    chime_claim_batch_release(&b2);
    usleep(300000); /* the add's NOTIFY is in */
    pthread_mutex_lock(&w.mu);
    w.earliest = INT64_MAX;
    pthread_mutex_unlock(&w.mu);
    opts.node = "node-a"; /* node-a comes back: its running run is lost */
    assert_int_equal(chime_store_open_opts(f->url, &f->defaults, &opts, &restarted, &d), 0);
    for (int i = 0; i < 250 && wake_earliest(&w) > 0; i++)
        usleep(20000);
    assert_true(wake_earliest(&w) <= 0);
    struct chime_claim_request req = { T0 + 21 * SEC, 0, "watcher", false };
    struct chime_claim_batch rb = { 0 };
    assert_int_equal(watcher->ops->claim_retries(watcher, &req, &rb), 0);
    assert_int_equal(rb.n_claims, 1);
    assert_int_equal(rb.claims[0].run.status, CHIME_RUN_RUNNING);
    assert_int_equal(rb.claims[0].run.scheduled, T0 + 20 * SEC);
    chime_claim_batch_release(&rb);
    watcher->ops->set_wake(watcher, NULL, NULL);
    chime_store_close(restarted);
    chime_store_close(watcher);
}

/* Runs sql on conn, which must answer with status want. */
static void pg_exec_ok(PGconn *conn, const char *sql, ExecStatusType want)
{
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != want)
        fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
}

/* A due retry waits while another transaction holds its job's row (as a claim of the
 * job's scheduled fire on another node does), and is claimed once the row is free. */
static void test_pg_retry_claim_skips_a_locked_job(void **state)
{
    struct fixture *f = *state;
    add(f, "r", 10);
    struct chime_claim_batch b;
    assert_int_equal(claim(f, T0 + 10 * SEC, 0, &b), 0);
    fail_with_retry(f, &b.claims[0].run, T0 + 11 * SEC, T0 + 12 * SEC);
    chime_claim_batch_release(&b);
    PGconn *other = PQconnectdb(f->url);
    assert_int_equal(PQstatus(other), CONNECTION_OK);
    pg_exec_ok(other, "BEGIN", PGRES_COMMAND_OK);
    pg_exec_ok(other, "SELECT 1 FROM jobs WHERE id = 'r' FOR UPDATE", PGRES_TUPLES_OK);
    int rc = claim_retries(f, T0 + 12 * SEC, &b);
    size_t n_while_locked = b.n_claims;
    chime_claim_batch_release(&b);
    pg_exec_ok(other, "COMMIT", PGRES_COMMAND_OK); /* before any assert: teardown drops */
    PQfinish(other);
    assert_int_equal(rc, 0);
    assert_int_equal(n_while_locked, 0); /* the job's row was busy: the retry waited */
    assert_int_equal(claim_retries(f, T0 + 12 * SEC, &b), 0);
    assert_int_equal(b.n_claims, 1);
    assert_int_equal(b.claims[0].run.attempt, 2);
    chime_claim_batch_release(&b);
}

struct claim_now_call {
    struct fixture *f;
    struct chime_claim_batch b;
    int rc;
};

static void *claim_now_thread(void *arg)
{
    struct claim_now_call *call = arg;
    struct chime_claim_request req = { T0 + 11 * SEC, 0, NULL, false };
    memset(&call->b, 0, sizeof(call->b));
    call->rc = call->f->store->ops->claim_now(call->f->store, "n", &req, &call->b);
    return NULL;
}

/* Waits (10 s at most) until a backend of the database waits for a lock. */
static bool some_backend_waits_for_a_lock(const char *url)
{
    PGconn *watch = PQconnectdb(url);
    bool waits = false;
    for (int i = 0; i < 1000 && !waits && PQstatus(watch) == CONNECTION_OK; i++) {
        PGresult *res = PQexec(watch, "SELECT count(*) FROM pg_locks WHERE NOT granted");
        waits = PQresultStatus(res) == PGRES_TUPLES_OK && atoi(PQgetvalue(res, 0, 0)) > 0;
        PQclear(res);
        if (!waits)
            usleep(10000);
    }
    PQfinish(watch);
    return waits;
}

/* max_instances holds across nodes: a claim that has to wait for the job's row while
 * another node's claim of the job commits a running run counts that run (the counts are
 * read after the lock, not at the start of the locking statement). Fails on a claim that
 * counts in the statement that locks: it would start a second instance. */
static void test_pg_claim_counts_runs_committed_while_it_waited(void **state)
{
    struct fixture *f = *state;
    add(f, "n", 10);
    PGconn *other = PQconnectdb(f->url);
    assert_int_equal(PQstatus(other), CONNECTION_OK);
    pg_exec_ok(other, "BEGIN", PGRES_COMMAND_OK);
    pg_exec_ok(other, "SELECT 1 FROM jobs WHERE id = 'n' FOR UPDATE", PGRES_TUPLES_OK);
    pg_exec_ok(other,
               "INSERT INTO runs (job_id, scheduled_time, started_at, status, cause, node)"
               " VALUES ('n', now(), now(), 'running', 'manual', 'node-x')",
               PGRES_COMMAND_OK);
    struct claim_now_call call = { f, { 0 }, -1 };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, claim_now_thread, &call), 0);
    bool waited = some_backend_waits_for_a_lock(f->url);
    pg_exec_ok(other, "COMMIT", PGRES_COMMAND_OK); /* before any assert: the thread ends */
    PQfinish(other);
    pthread_join(th, NULL);
    assert_true(waited);
    assert_int_equal(call.rc, 0);
    assert_int_equal(call.b.n_claims, 1);
    assert_int_equal(call.b.claims[0].run.status, CHIME_RUN_SKIPPED); /* max_instances 1 */
    assert_string_equal(call.b.claims[0].run.error, "max_instances reached");
    chime_claim_batch_release(&call.b);
}

/* overlap replace without coalesce: one fire waits, a further one is recorded skipped
 * (the queue is full). */
static void test_store_replace_without_coalesce_keeps_one_waiting(void **state)
{
    struct fixture *f = *state;
    struct chime_job job;
    make_job(&job, "rp", 10);
    job.policy.overlap = CHIME_OVERLAP_REPLACE;
    job.policy.coalesce = 0;
    assert_int_equal(f->store->ops->add_job(f->store, &job, false), 0);
    chime_job_release(&job);
    struct chime_claim_batch b1, b2;
    assert_int_equal(claim(f, T0 + 10 * SEC, 0, &b1), 0);
    assert_int_equal(b1.n_claims, 1);
    assert_int_equal(claim(f, T0 + 20 * SEC, 0, &b2), 0);
    assert_int_equal(b2.n_claims, 0); /* waits for the replaced run */
    chime_claim_batch_release(&b2);
    assert_int_equal(claim(f, T0 + 30 * SEC, 0, &b2), 0);
    assert_int_equal(b2.n_claims, 1);
    assert_int_equal(b2.claims[0].run.status, CHIME_RUN_SKIPPED);
    assert_int_equal(b2.claims[0].run.scheduled, T0 + 30 * SEC);
    assert_string_equal(b2.claims[0].run.error, "max_instances reached and the queue is full");
    chime_claim_batch_release(&b2);
    chime_claim_batch_release(&b1);
}

/* Two nodes on one database: each due retry is claimed by exactly one of them. */
static void test_pg_retry_claimed_once_across_nodes(void **state)
{
    struct fixture *f = *state;
    struct chime_store *other = NULL;
    struct chime_diag d;
    struct chime_store_options opts = { .node = "node-b" };
    assert_int_equal(chime_store_open_opts(f->url, &f->defaults, &opts, &other, &d), 0);
    char id[8];
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof(id), "r%d", i);
        add(f, id, 10);
    }
    struct chime_claim_batch b;
    assert_int_equal(claim(f, T0 + 10 * SEC, 0, &b), 0);
    assert_int_equal(b.n_claims, 6);
    for (size_t i = 0; i < b.n_claims; i++)
        fail_with_retry(f, &b.claims[i].run, T0 + 11 * SEC, T0 + 12 * SEC);
    chime_claim_batch_release(&b);
    chime_utime due = CHIME_UTIME_NONE;
    assert_int_equal(other->ops->next_retry(other, &due), 0); /* the other node sees them */
    assert_int_equal(due, T0 + 12 * SEC);
    struct chime_claim_request req = { T0 + 12 * SEC, 4, "node-b", false };
    struct chime_claim_batch ob = { 0 };
    assert_int_equal(other->ops->claim_retries(other, &req, &ob), 0);
    assert_int_equal(ob.n_claims, 4); /* its limit */
    assert_int_equal(claim_retries(f, T0 + 12 * SEC, &b), 0);
    assert_int_equal(b.n_claims, 2); /* the rest, none twice */
    for (size_t i = 0; i < b.n_claims; i++)
        for (size_t k = 0; k < ob.n_claims; k++)
            assert_string_not_equal(b.claims[i].run.job_id, ob.claims[k].run.job_id);
    chime_claim_batch_release(&b);
    chime_claim_batch_release(&ob);
    assert_int_equal(claim_retries(f, T0 + 13 * SEC, &b), 0);
    assert_int_equal(b.n_claims, 0);
    chime_claim_batch_release(&b);
    chime_store_close(other);
}

static void test_store_add_existing_is_eexist_unless_replace(void **state)
{
    struct fixture *f = *state;
    add(f, "alpha", 10);
    struct chime_job job;
    make_job(&job, "alpha", 30);
    assert_int_equal(f->store->ops->add_job(f->store, &job, false), CHIME_EEXIST);
    assert_int_equal(next_run_of(f, "alpha"), T0 + 10 * SEC);
    chime__free(job.name);
    job.name = chime__strdup("renamed");
    assert_int_equal(f->store->ops->add_job(f->store, &job, true), 0);
    chime_job_release(&job);
    chime_job_init(&job);
    assert_int_equal(f->store->ops->get_job(f->store, "alpha", &job), 0);
    assert_string_equal(job.name, "renamed");
    assert_int_equal(job.next_run, T0 + 30 * SEC);
    assert_int_equal(job.version, 2);
    chime_job_release(&job);
    assert_int_equal(f->store->ops->count_jobs(f->store), 1);
}

static void test_store_update_and_remove(void **state)
{
    struct fixture *f = *state;
    struct chime_job job;
    make_job(&job, "alpha", 10);
    assert_int_equal(f->store->ops->update_job(f->store, &job), CHIME_ENOENT);
    assert_int_equal(f->store->ops->add_job(f->store, &job, false), 0);
    job.paused = true;
    job.next_run = CHIME_UTIME_NONE;
    assert_int_equal(f->store->ops->update_job(f->store, &job), 0);
    chime_job_release(&job);
    assert_int_equal(next_run_of(f, "alpha"), CHIME_UTIME_NONE);
    chime_utime due;
    assert_int_equal(f->store->ops->next_due(f->store, &due), CHIME_ENOENT);
    assert_int_equal(f->store->ops->remove_job(f->store, "alpha"), 0);
    assert_int_equal(f->store->ops->remove_job(f->store, "alpha"), CHIME_ENOENT);
    assert_int_equal(next_run_of(f, "alpha"), -1);
    assert_int_equal(f->store->ops->count_jobs(f->store), 0);
}

static void test_store_list_orders_by_next_run_paused_last_and_pages(void **state)
{
    struct fixture *f = *state;
    add(f, "c", 30);
    add(f, "a", 10);
    add(f, "b2", 20);
    add(f, "b1", 20);
    struct chime_job job;
    make_job(&job, "p", 5);
    job.paused = true;
    job.next_run = CHIME_UTIME_NONE;
    assert_int_equal(f->store->ops->add_job(f->store, &job, false), 0);
    chime_job_release(&job);
    struct ids all = { 0 };
    assert_int_equal(f->store->ops->list_jobs(f->store, NULL, collect_id, &all), 0);
    const char *want[] = { "a", "b1", "b2", "c", "p" };
    assert_int_equal(all.n, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(all.ids[i], want[i]);
    /* Pages of two, each continuing after the last one seen. */
    struct chime_job_page page = { 2, false, 0, NULL };
    size_t seen = 0;
    for (int round = 0; round < 4; round++) {
        struct ids part = { 0 };
        assert_int_equal(f->store->ops->list_jobs(f->store, &page, collect_id, &part), 0);
        for (size_t i = 0; i < part.n; i++)
            assert_string_equal(part.ids[i], want[seen + i]);
        seen += part.n;
        if (!part.n)
            break;
        static char last[32];
        snprintf(last, sizeof(last), "%s", part.ids[part.n - 1]);
        page = (struct chime_job_page){ 2, true, part.next[part.n - 1], last };
    }
    assert_int_equal(seen, 5);
}

static void test_store_claim_due_creates_runs_and_advances(void **state)
{
    struct fixture *f = *state;
    add(f, "a", 10);
    add(f, "b", 20);
    chime_utime due;
    assert_int_equal(f->store->ops->next_due(f->store, &due), 0);
    assert_int_equal(due, T0 + 10 * SEC);
    struct chime_claim_batch b;
    assert_int_equal(claim(f, T0 + 9 * SEC, 0, &b), 0);
    assert_int_equal(b.n_claims, 0);
    chime_claim_batch_release(&b);
    assert_int_equal(claim(f, T0 + 10 * SEC, 0, &b), 0);
    assert_int_equal(b.n_claims, 1);
    assert_string_equal(b.claims[0].job.id, "a");
    assert_int_equal(b.claims[0].run.status, CHIME_RUN_RUNNING);
    assert_int_equal(b.claims[0].run.scheduled, T0 + 10 * SEC);
    assert_string_equal(b.claims[0].run.node, "node-a");
    assert_true(b.claims[0].run.id > 0);
    int64_t first_id = b.claims[0].run.id;
    chime_claim_batch_release(&b);
    assert_int_equal(next_run_of(f, "a"), T0 + 20 * SEC);
    assert_int_equal(claim(f, T0 + 20 * SEC, 1, &b), 0);
    assert_int_equal(b.n_claims, 1); /* the limit */
    chime_claim_batch_release(&b);
    assert_int_equal(claim(f, T0 + 20 * SEC, 0, &b), 0);
    assert_int_equal(b.n_claims, 1);
    assert_true(b.claims[0].run.id > first_id);
    chime_claim_batch_release(&b);
    struct runs r;
    list_runs(f, NULL, -1, 0, 0, &r);
    assert_int_equal(r.n, 3);
    assert_true(r.runs[0].id > r.runs[1].id && r.runs[1].id > r.runs[2].id);
    runs_release(&r);
}

static void test_store_claims_match_recorded_runs_when_late(void **state)
{
    struct fixture *f = *state;
    add(f, "a", 10);
    struct chime_claim_batch b;
    assert_int_equal(claim(f, T0 + 300 * SEC, 0, &b), 0);
    assert_true(b.n_claims >= 1);
    struct runs r;
    list_runs(f, "a", -1, 0, 0, &r);
    assert_int_equal(r.n, b.n_claims);
    for (size_t i = 0; i < b.n_claims; i++) {
        const struct chime_run *c = &b.claims[i].run, *s = &r.runs[b.n_claims - 1 - i];
        assert_int_equal(c->id, s->id);
        assert_int_equal(c->status, s->status);
        assert_int_equal(c->scheduled, s->scheduled);
        if (c->status != CHIME_RUN_RUNNING)
            assert_non_null(s->error);
    }
    assert_true(next_run_of(f, "a") > T0 + 300 * SEC);
    runs_release(&r);
    chime_claim_batch_release(&b);
}

static void test_store_date_job_removed_after_its_fire_runs_kept(void **state)
{
    struct fixture *f = *state;
    char buf[CHIME_TIME_FORMAT_MAX];
    struct chime_job job;
    make_job(&job, "once", 10);
    chime_trigger_unref(job.trigger);
    job.trigger =
            make_trigger("date", json_pack("{s:s}", "run_date",
                                           chime_time_format(T0 + 5 * SEC, chime_zone_utc(), buf)));
    job.next_run = T0 + 5 * SEC;
    assert_int_equal(f->store->ops->add_job(f->store, &job, false), 0);
    chime_job_release(&job);
    struct chime_claim_batch b;
    assert_int_equal(claim(f, T0 + 5 * SEC, 0, &b), 0);
    assert_int_equal(b.n_claims, 1);
    assert_int_equal(b.claims[0].job.next_run, CHIME_UTIME_NONE);
    chime_claim_batch_release(&b);
    assert_int_equal(next_run_of(f, "once"), -1);
    assert_int_equal(f->store->ops->count_jobs(f->store), 0);
    struct runs r;
    list_runs(f, "once", -1, 0, 0, &r);
    assert_int_equal(r.n, 1);
    runs_release(&r);
}

static void test_store_list_runs_filters(void **state)
{
    struct fixture *f = *state;
    add(f, "a", 10);
    add(f, "b", 10);
    struct chime_claim_batch b;
    for (int k = 1; k <= 3; k++) {
        assert_int_equal(claim(f, T0 + k * 10 * SEC, 0, &b), 0);
        assert_int_equal(b.n_claims, 2);
        for (size_t i = 0; i < b.n_claims; i++) {
            struct chime_run done = b.claims[i].run;
            done.status = CHIME_RUN_SUCCEEDED;
            done.finished = T0 + k * 10 * SEC + 1;
            assert_int_equal(f->store->ops->finish_run(f->store, &done), 0);
        }
        chime_claim_batch_release(&b);
    }
    struct runs r;
    list_runs(f, "a", -1, 0, 0, &r);
    assert_int_equal(r.n, 3);
    for (size_t i = 0; i < r.n; i++)
        assert_string_equal(r.runs[i].job_id, "a");
    int64_t newest = r.runs[0].id;
    runs_release(&r);
    list_runs(f, NULL, CHIME_RUN_SUCCEEDED, 2, 0, &r);
    assert_int_equal(r.n, 2);
    runs_release(&r);
    list_runs(f, NULL, CHIME_RUN_FAILED, 0, 0, &r);
    assert_int_equal(r.n, 0);
    list_runs(f, "a", -1, 0, newest, &r);
    assert_int_equal(r.n, 2);
    assert_true(r.runs[0].id < newest);
    runs_release(&r);
}

static void test_store_finish_run_and_max_instances(void **state)
{
    struct fixture *f = *state;
    add(f, "a", 10);
    struct chime_claim_request req = { T0 + SEC, 0, NULL, false };
    struct chime_claim_batch b = { 0 };
    assert_int_equal(f->store->ops->claim_now(f->store, "nope", &req, &b), CHIME_ENOENT);
    assert_int_equal(f->store->ops->claim_now(f->store, "a", &req, &b), 0);
    assert_int_equal(b.n_claims, 1);
    assert_int_equal(b.claims[0].run.status, CHIME_RUN_RUNNING);
    assert_int_equal(b.claims[0].run.cause, CHIME_CAUSE_MANUAL);
    /* max_instances is 1: a second run now is skipped. */
    assert_int_equal(f->store->ops->claim_now(f->store, "a", &req, &b), 0);
    assert_int_equal(b.n_claims, 2);
    assert_int_equal(b.claims[1].run.status, CHIME_RUN_SKIPPED);
    struct chime_run done = b.claims[0].run;
    done.status = CHIME_RUN_FAILED;
    done.finished = T0 + 2 * SEC;
    done.error = "boom";
    done.output = "tail";
    done.exit_code = 3;
    done.http_status = 502;
    assert_int_equal(f->store->ops->finish_run(f->store, &done), 0);
    assert_int_equal(f->store->ops->finish_run(f->store, &done), CHIME_ENOENT);
    assert_int_equal(f->store->ops->claim_now(f->store, "a", &req, &b), 0);
    assert_int_equal(b.claims[2].run.status, CHIME_RUN_RUNNING);
    struct runs r;
    list_runs(f, "a", CHIME_RUN_FAILED, 0, 0, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.runs[0].error, "boom");
    assert_string_equal(r.runs[0].output, "tail");
    assert_int_equal(r.runs[0].exit_code, 3);
    assert_int_equal(r.runs[0].http_status, 502);
    assert_int_equal(r.runs[0].finished, T0 + 2 * SEC);
    runs_release(&r);
    /* A run without them reads back as none (NULL columns), not 0. */
    list_runs(f, "a", CHIME_RUN_SKIPPED, 0, 0, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.runs[0].exit_code, CHIME_RUN_NO_EXIT_CODE);
    assert_int_equal(r.runs[0].http_status, 0);
    runs_release(&r);
    assert_int_equal(next_run_of(f, "a"), T0 + 10 * SEC); /* run-now leaves the schedule */
    chime_claim_batch_release(&b);
}

static void test_store_prune_runs(void **state)
{
    struct fixture *f = *state;
    add(f, "a", 10);
    struct chime_claim_batch b;
    for (int k = 1; k <= 6; k++) {
        assert_int_equal(claim(f, T0 + k * 10 * SEC, 0, &b), 0);
        struct chime_run done = b.claims[0].run;
        done.status = CHIME_RUN_SUCCEEDED;
        done.finished = T0 + k * 10 * SEC;
        if (k < 6) /* the last stays running: never pruned */
            assert_int_equal(f->store->ops->finish_run(f->store, &done), 0);
        chime_claim_batch_release(&b);
    }
    assert_int_equal(f->store->ops->prune_runs(f->store, T0 + 25 * SEC, 0), 0);
    struct runs r;
    list_runs(f, NULL, -1, 0, 0, &r);
    assert_int_equal(r.n, 4); /* 10 s and 20 s gone */
    runs_release(&r);
    assert_int_equal(f->store->ops->prune_runs(f->store, T0, 2), 0);
    list_runs(f, NULL, -1, 0, 0, &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.runs[0].status, CHIME_RUN_RUNNING);
    assert_int_equal(r.runs[1].scheduled, T0 + 50 * SEC);
    runs_release(&r);
}

/* ---- SQLite only ---- */

static sqlite3 *raw_open(struct fixture *f)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void raw_text(sqlite3 *db, const char *sql, char *out, size_t n)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(out, n, "%s", t ? (const char *)t : "(null)");
    sqlite3_finalize(st);
}

static void test_sqlite_restart_keeps_jobs(void **state)
{
    struct fixture *f = *state;
    add(f, "a", 10);
    add(f, "b", 20);
    struct chime_claim_batch b;
    assert_int_equal(claim(f, T0 + 10 * SEC, 0, &b), 0);
    chime_claim_batch_release(&b);
    reopen(f);
    assert_int_equal(f->store->ops->count_jobs(f->store), 2);
    assert_int_equal(next_run_of(f, "a"), T0 + 20 * SEC);
    assert_int_equal(next_run_of(f, "b"), T0 + 20 * SEC);
    struct chime_job job;
    chime_job_init(&job);
    assert_int_equal(f->store->ops->get_job(f->store, "b", &job), 0);
    assert_string_equal(job.name, "b");
    assert_null(job.broken);
    assert_int_equal(chime_trigger_kind(job.trigger), CHIME_TRIGGER_INTERVAL);
    assert_int_equal(chime_trigger_next_exact(job.trigger, T0 + 20 * SEC, T0 + 20 * SEC),
                     T0 + 40 * SEC);
    chime_job_release(&job);
    /* The restarted store schedules: both are due at 20 s. */
    assert_int_equal(claim(f, T0 + 20 * SEC, 0, &b), 0);
    assert_int_equal(b.n_claims, 2);
    chime_claim_batch_release(&b);
}

static void test_sqlite_running_runs_are_lost_on_reopen(void **state)
{
    struct fixture *f = *state;
    add(f, "a", 10);
    struct chime_claim_batch b;
    assert_int_equal(claim(f, T0 + 10 * SEC, 0, &b), 0);
    int64_t id = b.claims[0].run.id;
    chime_claim_batch_release(&b);
    reopen(f);
    struct runs r;
    list_runs(f, "a", -1, 0, 0, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.runs[0].id, id);
    assert_int_equal(r.runs[0].status, CHIME_RUN_LOST);
    assert_string_equal(r.runs[0].error, "chimed stopped while it ran");
    assert_true(r.runs[0].finished != CHIME_UTIME_NONE);
    runs_release(&r);
    /* Its instance no longer counts: a manual run starts. */
    struct chime_claim_request req = { T0 + 11 * SEC, 0, NULL, false };
    memset(&b, 0, sizeof(b));
    assert_int_equal(f->store->ops->claim_now(f->store, "a", &req, &b), 0);
    assert_int_equal(b.claims[0].run.status, CHIME_RUN_RUNNING);
    chime_claim_batch_release(&b);
}

static void test_sqlite_finishes_are_written_by_close(void **state)
{
    struct fixture *f = *state;
    add(f, "a", 10);
    struct chime_claim_batch b;
    assert_int_equal(claim(f, T0 + 10 * SEC, 0, &b), 0);
    struct chime_run done = b.claims[0].run;
    done.status = CHIME_RUN_SUCCEEDED;
    done.finished = T0 + 11 * SEC;
    done.output = "ok";
    done.exit_code = 0;
    assert_int_equal(f->store->ops->finish_run(f->store, &done), 0);
    chime_claim_batch_release(&b);
    reopen(f); /* no listing in between: the close must write the finish */
    struct runs r;
    list_runs(f, "a", -1, 0, 0, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.runs[0].status, CHIME_RUN_SUCCEEDED);
    assert_string_equal(r.runs[0].output, "ok");
    assert_int_equal(r.runs[0].exit_code, 0);
    runs_release(&r);
}

static void test_sqlite_unknown_func_is_kept_broken(void **state)
{
    struct fixture *f = *state;
    add(f, "a", 10);
    chime_store_close(f->store);
    f->store = NULL;
    sqlite3 *db = raw_open(f);
    raw_exec(db, "INSERT INTO jobs SELECT 'gone', name, 'gone.module:fn', args, kwargs, trigger,"
                 " trigger_args, next_run_time, paused, coalesce, misfire_grace_time,"
                 " max_instances, jobstore, NULL, version, created_at, updated_at, timeout,"
                 " retries, retry_backoff, retry_jitter, overlap FROM jobs WHERE id = 'a'");
    sqlite3_close(db);
    assert_int_equal(open_store(f), 0);
    assert_int_equal(f->store->ops->count_jobs(f->store), 2);
    struct chime_job job;
    chime_job_init(&job);
    assert_int_equal(f->store->ops->get_job(f->store, "gone", &job), 0);
    assert_non_null(job.broken);
    assert_string_equal(job.func, "gone.module:fn");
    chime_job_release(&job);
    assert_int_equal(f->store->ops->get_job(f->store, "a", &job), 0);
    assert_null(job.broken);
    chime_job_release(&job);
    reopen(f);
    assert_int_equal(f->store->ops->count_jobs(f->store), 2);
}

static void test_sqlite_migrates_from_version_1(void **state)
{
    struct fixture *f = *state;
    chime_store_close(f->store);
    f->store = NULL;
    unlink(f->path);
    sqlite3 *db = raw_open(f);
    raw_exec(db, "CREATE TABLE schema_version (version INTEGER NOT NULL);"
                 "INSERT INTO schema_version VALUES (1)");
    raw_exec(db, chime__sqlite_migrations[0]);
    raw_exec(db, "INSERT INTO jobs (id, name, func, trigger, trigger_args, next_run_time,"
                 " created_at, updated_at) VALUES ('old', 'old', 'chime:noop', 'interval',"
                 " '{\"seconds\":10,\"start_date\":\"2026-01-01T00:00:00+00:00\","
                 "\"timezone\":\"UTC\"}', 1767225610000000, 1767225600000000,"
                 " 1767225600000000)");
    sqlite3_close(db);
    assert_true(chime__sqlite_n_migrations >= 2);
    assert_int_equal(open_store(f), 0);
    assert_int_equal(next_run_of(f, "old"), T0 + 10 * SEC);
    db = raw_open(f);
    assert_int_equal(raw_int(db, "SELECT max(version) FROM schema_version"),
                     chime__sqlite_n_migrations);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'runs_readable'"),
                     1);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM jobs_readable"), 1);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM runs_readable WHERE exit_code IS NULL"
                                 " AND http_status IS NULL"),
                     0);
    sqlite3_close(db);
}

static void test_sqlite_columns_are_readable(void **state)
{
    struct fixture *f = *state;
    add(f, "a", 10);
    struct chime_claim_batch b;
    assert_int_equal(claim(f, T0 + 10 * SEC, 0, &b), 0);
    chime_claim_batch_release(&b);
    sqlite3 *db = raw_open(f);
    char text[256];
    raw_text(db, "SELECT trigger FROM jobs WHERE id = 'a'", text, sizeof(text));
    assert_string_equal(text, "interval");
    raw_text(db, "SELECT json_extract(trigger_args, '$.seconds') FROM jobs", text, sizeof(text));
    assert_string_equal(text, "10");
    raw_text(db, "SELECT func || ' ' || args || ' ' || kwargs FROM jobs", text, sizeof(text));
    assert_string_equal(text, "chime:noop [] {}");
    assert_int_equal(raw_int(db, "SELECT next_run_time FROM jobs"), T0 + 20 * SEC);
    raw_text(db, "SELECT next_run_time FROM jobs_readable", text, sizeof(text));
    assert_string_equal(text, "2026-01-01T00:00:20.000Z");
    raw_text(db, "SELECT status || ' ' || cause || ' ' || node FROM runs", text, sizeof(text));
    assert_string_equal(text, "running schedule node-a");
    raw_text(db, "SELECT scheduled_time FROM runs_readable", text, sizeof(text));
    assert_string_equal(text, "2026-01-01T00:00:10.000Z");
    raw_text(db, "PRAGMA journal_mode", text, sizeof(text));
    assert_string_equal(text, "wal");
    sqlite3_close(db);
}

/* ---- URLs ---- */

static void expect_bad_url(const char *url, const char *needle)
{
    struct chime_job_defaults d = { true, 60, 1, chime_zone_utc() };
    struct chime_store *s = (struct chime_store *)1;
    struct chime_diag diag;
    chime_diag_clear(&diag);
    assert_int_equal(chime_store_open(url, &d, &s, &diag), CHIME_EINVAL);
    assert_null(s);
    assert_string_equal(diag.field, "DATABASE_URL");
    if (!strstr(diag.message, needle))
        fail_msg("\"%s\" lacks \"%s\"", diag.message, needle);
}

static void test_store_open_rejects_bad_urls(void **state)
{
    (void)state;
    expect_bad_url("foo://bar", "foo://bar");
    expect_bad_url("", "empty");
    expect_bad_url("sqlite://", "no SQLite file");
    expect_bad_url("sqlite:///", "no SQLite file");
    expect_bad_url("sqlite://host/x.db", "no host part");
    expect_bad_url("chime.sqlite3", "not supported");
}

static void test_store_open_accepts_path_ending_in_db(void **state)
{
    struct fixture *f = *state;
    struct chime_store *s = NULL;
    struct chime_diag diag;
    chime_diag_clear(&diag);
    char path[200];
    snprintf(path, sizeof(path), "%s.other.db", f->path);
    assert_int_equal(chime_store_open(path, &f->defaults, &s, &diag), 0);
    assert_string_equal(s->ops->name, "sqlite");
    chime_store_close(s);
    unlink(path);
    assert_int_equal(chime_store_open("memory://", &f->defaults, &s, &diag), 0);
    assert_string_equal(s->ops->name, "memory");
    chime_store_close(s);
}

/* One store per SQLite file: a second open of a file in use is refused with a
 * message naming it (two schedulers on one file would fire every job twice);
 * once the first is closed, the file opens again. */
static void test_sqlite_file_in_use_is_refused(void **state)
{
    struct fixture *f = *state;
    struct chime_store *s = NULL;
    struct chime_diag diag;
    chime_diag_clear(&diag);
    add(f, "kept", 10);
    assert_int_equal(chime_store_open(f->path, &f->defaults, &s, &diag), CHIME_ESTORE);
    assert_null(s);
    assert_non_null(strstr(diag.message, "in use by another process"));
    assert_non_null(strstr(diag.message, f->path));
    assert_int_equal(f->store->ops->count_jobs(f->store), 1);
    chime_store_close(f->store);
    f->store = NULL;
    chime_diag_clear(&diag);
    assert_int_equal(chime_store_open(f->path, &f->defaults, &f->store, &diag), 0);
    assert_int_equal(f->store->ops->count_jobs(f->store), 1);
}

/* ---- allocation failure (memory store) ---- */

static void test_memory_store_survives_allocation_failures(void **state)
{
    struct fixture *f = *state;
    add(f, "a", 10);
    struct chime_job job;
    make_job(&job, "b", 10);
    int rc = CHIME_ENOMEM;
    for (long n = 1; rc == CHIME_ENOMEM; n++) {
        chime_alloc_fail_after(n);
        rc = f->store->ops->add_job(f->store, &job, false);
        chime_alloc_fail_after(0);
        assert_int_equal(f->store->ops->count_jobs(f->store), rc == 0 ? 2 : 1);
    }
    assert_int_equal(rc, 0);
    chime_job_release(&job);
    struct chime_claim_batch b;
    rc = CHIME_ENOMEM;
    for (long n = 1; rc == CHIME_ENOMEM; n++) {
        chime_alloc_fail_after(n);
        rc = claim(f, T0 + 10 * SEC, 1, &b);
        chime_alloc_fail_after(0);
        if (rc == CHIME_ENOMEM) {
            assert_int_equal(b.n_claims, 0);
            assert_int_equal(next_run_of(f, "a"), T0 + 10 * SEC);
            assert_int_equal(next_run_of(f, "b"), T0 + 10 * SEC);
        }
        chime_claim_batch_release(&b);
    }
    assert_int_equal(rc, 0);
    struct runs r;
    list_runs(f, NULL, -1, 0, 0, &r);
    assert_int_equal(r.n, 1); /* failed attempts left no record */
    struct chime_run done;
    assert_int_equal(chime_run_copy(&done, &r.runs[0]), 0);
    runs_release(&r);
    done.status = CHIME_RUN_FAILED;
    done.error = chime__strdup("boom");
    rc = CHIME_ENOMEM;
    for (long n = 1; rc == CHIME_ENOMEM; n++) {
        chime_alloc_fail_after(n);
        rc = f->store->ops->finish_run(f->store, &done);
        chime_alloc_fail_after(0);
    }
    assert_int_equal(rc, 0);
    chime_run_release(&done);
    list_runs(f, NULL, CHIME_RUN_FAILED, 0, 0, &r);
    assert_int_equal(r.n, 1);
    runs_release(&r);
}

/* Jobs by state (metrics): scheduled have a next run, paused have none. */
static void test_store_count_by_state(void **state)
{
    struct fixture *f = *state;
    size_t scheduled = 9, paused = 9;
    assert_int_equal(f->store->ops->count_by_state(f->store, &scheduled, &paused), 0);
    assert_int_equal(scheduled, 0);
    assert_int_equal(paused, 0);
    add(f, "a", 10);
    add(f, "b", 20);
    add(f, "c", 30);
    struct chime_job job;
    make_job(&job, "b", 20);
    job.paused = true;
    job.next_run = CHIME_UTIME_NONE;
    assert_int_equal(f->store->ops->update_job(f->store, &job), 0);
    chime_job_release(&job);
    assert_int_equal(f->store->ops->count_by_state(f->store, &scheduled, &paused), 0);
    assert_int_equal(scheduled, 2);
    assert_int_equal(paused, 1);
    assert_int_equal(f->store->ops->remove_job(f->store, "a"), 0);
    assert_int_equal(f->store->ops->count_by_state(f->store, &scheduled, &paused), 0);
    assert_int_equal(scheduled, 1);
    assert_int_equal(paused, 1);
}

/* ---- PostgreSQL: statements the planner must run well on a big table ---- */

/* The first column of every row of sql's result on the fixture's database, one a
 * line, into out (or "" on error). params: n text parameters. */
static void pg_text(struct fixture *f, const char *sql, int n, const char *const *params, char *out,
                    size_t size)
{
    PGconn *conn = PQconnectdb(f->url);
    PQsetNoticeProcessor(conn, quiet, NULL);
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    size_t used = 0;
    out[0] = '\0';
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        print_error("%s: %s\n", sql, PQresultErrorMessage(res));
    for (int i = 0; PQresultStatus(res) == PGRES_TUPLES_OK && i < PQntuples(res); i++)
        used += (size_t)snprintf(out + used, used < size ? size - used : 0, "%s\n",
                                 PQgetvalue(res, i, 0));
    PQclear(res);
    PQfinish(conn);
}

/* chime_ts and chime_us convert exactly and are inlined into the statements that
 * use them (a non-inlined SQL function is a function call per row). */
static void test_pg_time_functions_exact_and_inlined(void **state)
{
    struct fixture *f = *state;
    char out[4096];
    pg_text(f,
            "SELECT bool_and(chime_us(chime_ts(v)) = v) AND chime_ts(0) = 'epoch'::timestamptz"
            " AND chime_us('2026-01-01 00:00:00.000001+00') = 1767225600000001"
            " FROM (VALUES (1767225600123456::bigint), (0), (-1), (4102444800000001)) x(v)",
            0, NULL, out, sizeof(out));
    assert_string_equal(out, "t\n");
    pg_text(f,
            "EXPLAIN (VERBOSE, COSTS OFF) SELECT chime_us(chime_ts(v)) FROM"
            " generate_series(1::bigint, 2) v",
            0, NULL, out, sizeof(out));
    assert_non_null(strstr(out, "timezone"));
    assert_null(strstr(out, "chime_"));
}

/* Finishing runs finds them by id (the primary key), whatever the statistics say
 * about running runs: the partial index of running runs also holds the entries of
 * every run finished since the last vacuum. */
static void test_pg_finish_finds_runs_by_primary_key(void **state)
{
    struct fixture *f = *state;
    char out[8192];
    pg_text(f,
            "WITH i AS (INSERT INTO runs (job_id, scheduled_time, status, finished_at)"
            " SELECT 'j' || (g % 50), chime_ts(g), CASE WHEN g % 1000 = 0 THEN 'running'"
            " ELSE 'succeeded' END, chime_ts(g) FROM generate_series(1, 20000) g RETURNING 1)"
            " SELECT count(*) FROM i",
            0, NULL, out, sizeof(out));
    assert_string_equal(out, "20000\n");
    PGconn *conn = PQconnectdb(f->url);
    PQclear(PQexec(conn, "ANALYZE runs"));
    PQfinish(conn);
    char sql[2048];
    snprintf(sql, sizeof(sql), "EXPLAIN (COSTS OFF) %s", chime__pg_stmt_sql[PG_FINISH_RUNS]);
    const char *params[] = { "[{\"i\": 1000, \"st\": \"succeeded\", \"t1\": 5},"
                             " {\"i\": 2000, \"st\": \"failed\", \"t1\": 6}]",
                             "{1000,2000}" };
    pg_text(f, sql, 2, params, out, sizeof(out));
    assert_non_null(strstr(out, "runs_pkey"));
    assert_null(strstr(out, "runs_running"));
    assert_null(strstr(out, "Seq Scan on runs"));
}

#define BOTH(t)                                                 \
    cmocka_unit_test_setup_teardown(t, setup_memory, teardown), \
            cmocka_unit_test_setup_teardown(t, setup_sqlite, teardown), \
            cmocka_unit_test_setup_teardown(t, setup_pg, teardown)
#define SQLITE(t) cmocka_unit_test_setup_teardown(t, setup_sqlite, teardown)
#define PG(t)     cmocka_unit_test_setup_teardown(t, setup_pg, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_store_add_get_roundtrip),
        BOTH(test_store_add_existing_is_eexist_unless_replace),
        BOTH(test_store_keeps_run_options),
        BOTH(test_store_retry_claimed_when_due),
        BOTH(test_store_retry_skipped_or_missed),
        BOTH(test_store_queue_waits_for_a_free_instance),
        BOTH(test_store_paused_job_retries_and_queue_wait),
        BOTH(test_store_queue_unbounded_fires_expire),
        cmocka_unit_test_setup_teardown(test_pg_replace_reaches_the_node_running_it, setup_pg,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pg_retry_claim_skips_a_locked_job, setup_pg,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pg_lost_run_wakes_nodes_for_queued_fires, setup_pg,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pg_retry_claimed_once_across_nodes, setup_pg,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pg_claim_counts_runs_committed_while_it_waited,
                                        setup_pg, teardown),
        BOTH(test_store_replace_without_coalesce_keeps_one_waiting),
        BOTH(test_store_update_and_remove),
        BOTH(test_store_list_orders_by_next_run_paused_last_and_pages),
        BOTH(test_store_claim_due_creates_runs_and_advances),
        BOTH(test_store_claims_match_recorded_runs_when_late),
        BOTH(test_store_date_job_removed_after_its_fire_runs_kept),
        BOTH(test_store_list_runs_filters),
        BOTH(test_store_finish_run_and_max_instances),
        BOTH(test_store_prune_runs),
        BOTH(test_store_count_by_state),
        SQLITE(test_sqlite_restart_keeps_jobs),
        SQLITE(test_sqlite_running_runs_are_lost_on_reopen),
        SQLITE(test_sqlite_finishes_are_written_by_close),
        SQLITE(test_sqlite_unknown_func_is_kept_broken),
        SQLITE(test_sqlite_migrates_from_version_1),
        SQLITE(test_sqlite_columns_are_readable),
        PG(test_pg_time_functions_exact_and_inlined),
        PG(test_pg_finish_finds_runs_by_primary_key),
        cmocka_unit_test(test_store_open_rejects_bad_urls),
        SQLITE(test_store_open_accepts_path_ending_in_db),
        SQLITE(test_sqlite_file_in_use_is_refused),
        cmocka_unit_test_setup_teardown(test_memory_store_survives_allocation_failures,
                                        setup_memory, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
