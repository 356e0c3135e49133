/*
 * Unit tests of the SQLite store's group commit of job adds and its
 * background WAL checkpointer: many threads adding at once (every add
 * answered exactly once, duplicates raced from several threads accepted
 * once and refused EEXIST otherwise, every accepted job in the index and,
 * after reopening, in the file), updates and removes running alongside,
 * and the checkpointer copying the WAL into the database file while the
 * store is open.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "store/store.h"

#define SEC     1000000LL
#define T0      1767225600000000LL /* 2026-01-01T00:00:00Z */
#define THREADS 8
#define PER     600
#define SHARED  100

struct fixture {
    char dir[64];
    char path[96];
    char url[128];
    struct chime_job_defaults defaults;
    struct chime_store *store;
};

struct worker {
    struct fixture *f;
    int index;
    int ok, exists, other;
    int shared_ok[SHARED];
};

static struct chime_trigger *interval_trigger(void)
{
    struct chime_trigger *t = NULL;
    struct chime_diag d;
    chime_diag_clear(&d);
    json_t *args = json_pack("{s:i, s:s, s:s}", "seconds", 60, "start_date",
                             "2026-01-01T00:00:00+00:00", "timezone", "UTC");
    int rc = chime_trigger_parse("interval", args, chime_zone_utc(), T0, &t, &d);
    json_decref(args);
    return rc ? NULL : t;
}

static int add_job(struct chime_store *store, const char *id, int64_t next)
{
    struct chime_job job;
    chime_job_init(&job);
    job.id = chime__strdup(id);
    job.name = chime__strdup(id);
    job.func = chime__strdup("chime:noop");
    job.args = chime__strdup("[]");
    job.kwargs = chime__strdup("{}");
    job.jobstore = chime__strdup("default");
    job.trigger = interval_trigger();
    job.next_run = next;
    job.created_at = job.updated_at = T0;
    int rc = store->ops->add_job(store, &job, false);
    chime_job_release(&job);
    return rc;
}

static void count(struct worker *w, int rc)
{
    if (rc == 0)
        w->ok++;
    else if (rc == CHIME_EEXIST)
        w->exists++;
    else
        w->other++;
}

static void *adder(void *arg)
{
    struct worker *w = arg;
    char id[64];
    for (int k = 0; k < PER; k++) {
        snprintf(id, sizeof(id), "j-%d-%d", w->index, k);
        count(w, add_job(w->f->store, id, T0 + (k + 1) * SEC));
        if (k < SHARED) {
            snprintf(id, sizeof(id), "shared-%d", k);
            int rc = add_job(w->f->store, id, T0 + SEC);
            w->shared_ok[k] = rc == 0;
            count(w, rc);
        }
    }
    return NULL;
}

/* Updates and removes its own jobs while the adders run (writes that do not group). */
static void *churner(void *arg)
{
    struct worker *w = arg;
    struct chime_store *s = w->f->store;
    char id[64];
    for (int k = 0; k < 200; k++) {
        snprintf(id, sizeof(id), "churn-%d", k);
        count(w, add_job(s, id, T0 + 5 * SEC));
        struct chime_job job;
        if (s->ops->get_job(s, id, &job) == 0) {
            job.next_run = T0 + 7 * SEC;
            count(w, s->ops->update_job(s, &job));
            chime_job_release(&job);
        }
        if (k % 2)
            count(w, s->ops->remove_job(s, id));
    }
    return NULL;
}

static int open_store(struct fixture *f)
{
    struct chime_diag d;
    chime_diag_clear(&d);
    int rc = chime_store_open(f->url, &f->defaults, &f->store, &d);
    if (rc)
        print_error("open %s: %s\n", f->url, d.message);
    return rc;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->defaults = (struct chime_job_defaults){ true, 60, 1, chime_zone_utc() };
    snprintf(f->dir, sizeof(f->dir), "/tmp/chime-group-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/chime.db", f->dir);
    snprintf(f->url, sizeof(f->url), "sqlite:///%s", f->path);
    *state = f;
    return open_store(f);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[160];
    if (f->store)
        chime_store_close(f->store);
    const char *suffix[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void run_workers(struct fixture *f, struct worker *w, struct worker *churn)
{
    pthread_t t[THREADS + 1];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){ .f = f, .index = i };
        assert_int_equal(pthread_create(&t[i], NULL, adder, &w[i]), 0);
    }
    *churn = (struct worker){ .f = f, .index = THREADS };
    assert_int_equal(pthread_create(&t[THREADS], NULL, churner, churn), 0);
    for (int i = 0; i <= THREADS; i++)
        pthread_join(t[i], NULL);
}

static void check_all_present(struct chime_store *s)
{
    char id[64];
    struct chime_job job;
    for (int i = 0; i < THREADS; i++)
        for (int k = 0; k < PER; k++) {
            snprintf(id, sizeof(id), "j-%d-%d", i, k);
            assert_int_equal(s->ops->get_job(s, id, &job), 0);
            assert_int_equal(job.next_run, T0 + (k + 1) * SEC);
            chime_job_release(&job);
        }
    for (int k = 0; k < SHARED; k++) {
        snprintf(id, sizeof(id), "shared-%d", k);
        assert_int_equal(s->ops->get_job(s, id, &job), 0);
        chime_job_release(&job);
    }
    assert_int_equal(s->ops->get_job(s, "churn-0", &job), 0);
    assert_int_equal(job.next_run, T0 + 7 * SEC); /* the update after the grouped add */
    chime_job_release(&job);
    assert_int_equal(s->ops->get_job(s, "churn-1", &job), CHIME_ENOENT);
}

static void test_concurrent_adds(void **state)
{
    struct fixture *f = *state;
    struct worker w[THREADS], churn;
    run_workers(f, w, &churn);
    int ok = 0, exists = 0;
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(w[i].other, 0);
        ok += w[i].ok;
        exists += w[i].exists;
    }
    assert_int_equal(churn.other + churn.exists, 0);
    assert_int_equal(ok, THREADS * PER + SHARED);
    assert_int_equal(exists, (THREADS - 1) * SHARED);
    for (int k = 0; k < SHARED; k++) {
        int winners = 0;
        for (int i = 0; i < THREADS; i++)
            winners += w[i].shared_ok[k];
        assert_int_equal(winners, 1);
    }
    size_t expected = (size_t)(THREADS * PER + SHARED + 100);
    assert_int_equal(f->store->ops->count_jobs(f->store), expected);
    check_all_present(f->store);
    chime_store_close(f->store);
    f->store = NULL;
    assert_int_equal(open_store(f), 0); /* what was answered 0 is in the file */
    assert_int_equal(f->store->ops->count_jobs(f->store), expected);
    check_all_present(f->store);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Writes enough for several checkpoints; the database file grows while open. */
static void test_checkpoint_in_background(void **state)
{
    struct fixture *f = *state;
    long before = file_size(f->path);
    char id[64];
    for (int k = 0; k < 6000; k++) {
        snprintf(id, sizeof(id), "ck-%d-with-a-longer-id-to-fill-pages", k);
        assert_int_equal(add_job(f->store, id, T0 + (k + 1) * SEC), 0);
    }
    long after = before;
    for (int i = 0; i < 500 && after <= before + 200 * 1024; i++) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        after = file_size(f->path);
    }
    assert_true(after > before + 200 * 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent_adds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_in_background, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
