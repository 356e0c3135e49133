/*
 * Unit tests of src/store/index: the id map under many inserts and removals
 * (backward-shift deletion must keep every other id findable), heap
 * membership following next_run/paused, trigger sharing, listing order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "store/index.h"

#define SEC 1000000LL
#define T0  1767225600000000LL

static struct chime_trigger *interval_s(int64_t seconds)
{
    struct chime_trigger *t = NULL;
    struct chime_diag d;
    json_t *args = json_pack("{s:I, s:s}", "seconds", (json_int_t)seconds, "start_date",
                             "2026-01-01T00:00:00+00:00");
    int rc = chime_trigger_parse("interval", args, chime_zone_utc(), T0, &t, &d);
    json_decref(args);
    if (rc)
        fail_msg("interval: %s", d.message);
    return t;
}

/* A job view over caller storage; trigger borrowed. */
static void job_view(struct chime_job *job, const char *id, struct chime_trigger *t,
                     chime_utime next_run)
{
    chime_job_init(job);
    job->id = (char *)id;
    job->name = (char *)id;
    job->func = "chime:noop";
    job->trigger = t;
    job->next_run = next_run;
    job->version = 1;
}

static void test_index_map_survives_many_inserts_and_removals(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct chime__index idx;
    chime__index_init(&idx);
    struct chime_trigger *t = interval_s(10);
    static bool present[N];
    char id[32];
    for (int i = 0; i < N; i++) {
        struct chime_job job;
        snprintf(id, sizeof(id), "job-%d", i);
        job_view(&job, id, t, T0 + (i % 97) * SEC);
        struct chime__index_entry *e = chime__index_entry_new(&idx, &job, NULL);
        assert_non_null(e);
        assert_int_equal(chime__index_insert(&idx, e), 0);
        present[i] = true;
    }
    srand(7);
    for (int k = 0; k < N; k++) {
        int i = rand() % N;
        snprintf(id, sizeof(id), "job-%d", i);
        struct chime__index_entry *e = chime__index_find(&idx, id);
        assert_true((e != NULL) == present[i]);
        if (e) {
            chime__index_unlink(&idx, e);
            chime__index_entry_free(&idx, e);
            present[i] = false;
        }
    }
    size_t n = 0;
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "job-%d", i);
        struct chime__index_entry *e = chime__index_find(&idx, id);
        assert_true((e != NULL) == present[i]);
        if (e) {
            assert_string_equal(e->strings, id);
            n++;
        }
    }
    assert_int_equal(idx.n, n);
    assert_int_equal(idx.heap.n, n);
    assert_int_equal(idx.n_triggers, 1); /* one trigger shared by all */
    chime__index_release(&idx);
    chime_trigger_unref(t);
}

static void test_index_equal_triggers_are_shared_and_freed(void **state)
{
    (void)state;
    struct chime__index idx;
    chime__index_init(&idx);
    struct chime_trigger *a = interval_s(10), *b = interval_s(10), *c = interval_s(20);
    struct chime_job ja, jb, jc;
    job_view(&ja, "a", a, T0);
    job_view(&jb, "b", b, T0);
    job_view(&jc, "c", c, T0);
    struct chime__index_entry *ea = chime__index_entry_new(&idx, &ja, NULL);
    struct chime__index_entry *eb = chime__index_entry_new(&idx, &jb, NULL);
    struct chime__index_entry *ec = chime__index_entry_new(&idx, &jc, NULL);
    assert_ptr_equal(ea->shared, eb->shared);
    assert_ptr_not_equal(ea->shared, ec->shared);
    assert_int_equal(idx.n_triggers, 2);
    assert_non_null(strstr(chime__index_entry_trigger_args(ea), "\"seconds\":10"));
    chime__index_entry_free(&idx, ea);
    assert_int_equal(idx.n_triggers, 2);
    chime__index_entry_free(&idx, eb);
    assert_int_equal(idx.n_triggers, 1);
    chime__index_entry_free(&idx, ec);
    assert_int_equal(idx.n_triggers, 0);
    chime__index_release(&idx);
    chime_trigger_unref(a);
    chime_trigger_unref(b);
    chime_trigger_unref(c);
}

static void test_index_heap_follows_next_run_and_pause(void **state)
{
    (void)state;
    struct chime__index idx;
    chime__index_init(&idx);
    struct chime_trigger *t = interval_s(10);
    struct chime_job ja, jb;
    job_view(&ja, "a", t, T0 + 20 * SEC);
    job_view(&jb, "b", t, T0 + 10 * SEC);
    struct chime__index_entry *ea = chime__index_entry_new(&idx, &ja, NULL);
    struct chime__index_entry *eb = chime__index_entry_new(&idx, &jb, NULL);
    assert_int_equal(chime__index_insert(&idx, ea), 0);
    assert_int_equal(chime__index_insert(&idx, eb), 0);
    assert_ptr_equal(chime__index_first(&idx), eb);
    chime__index_set_next_run(&idx, eb, T0 + 30 * SEC);
    assert_ptr_equal(chime__index_first(&idx), ea);
    chime__index_set_next_run(&idx, ea, CHIME_UTIME_NONE);
    assert_ptr_equal(chime__index_first(&idx), eb);
    chime__index_set_next_run(&idx, eb, CHIME_UTIME_NONE);
    assert_null(chime__index_first(&idx));
    /* A paused replacement never enters the heap. */
    struct chime_job jp;
    job_view(&jp, "a", t, T0);
    jp.paused = true;
    struct chime__index_entry *repl, *old;
    assert_int_equal(chime__index_prepare_put(&idx, &jp, CHIME__PUT_UPDATE, &repl, &old), 0);
    assert_ptr_equal(old, ea);
    ea->n_running = 2;
    chime__index_commit_put(&idx, repl, old);
    assert_int_equal(repl->n_running, 2);
    assert_int_equal(repl->version, 2);
    assert_null(chime__index_first(&idx));
    assert_int_equal(chime__index_prepare_put(&idx, &jp, CHIME__PUT_ADD, &repl, &old),
                     CHIME_EEXIST);
    job_view(&jp, "zz", t, T0);
    assert_int_equal(chime__index_prepare_put(&idx, &jp, CHIME__PUT_UPDATE, &repl, &old),
                     CHIME_ENOENT);
    chime__index_release(&idx);
    chime_trigger_unref(t);
}

struct page_seen {
    char ids[8][16];
    chime_utime next[8];
    size_t n;
};

static int page_visit(const struct chime_job *job, void *ctx)
{
    struct page_seen *p = ctx;
    snprintf(p->ids[p->n], sizeof(p->ids[0]), "%s", job->id);
    p->next[p->n++] = job->next_run;
    return 0;
}

/* Every page of 7 continues exactly where the previous ended; NONE (paused) last. */
static void test_index_pages_walk_every_job_in_order(void **state)
{
    (void)state;
    enum { N = 500 };
    struct chime__index idx;
    chime__index_init(&idx);
    struct chime_trigger *t = interval_s(10);
    char id[16];
    for (int i = 0; i < N; i++) {
        struct chime_job job;
        snprintf(id, sizeof(id), "j%03d", i);
        job_view(&job, id, t, i % 10 == 0 ? CHIME_UTIME_NONE : T0 + (i * 37 % 50) * SEC);
        job.paused = i % 10 == 0;
        struct chime__index_entry *e = chime__index_entry_new(&idx, &job, NULL);
        assert_int_equal(chime__index_insert(&idx, e), 0);
    }
    struct chime_job_page page = { 7, false, 0, NULL };
    char last_id[16] = "";
    chime_utime last = 0;
    size_t total = 0;
    for (;;) {
        struct page_seen seen = { 0 };
        assert_int_equal(chime__index_list(&idx, &page, page_visit, &seen), 0);
        if (!seen.n)
            break;
        for (size_t i = 0; i < seen.n; i++) {
            if (total + i > 0) {
                bool later_none = seen.next[i] == CHIME_UTIME_NONE && last != CHIME_UTIME_NONE;
                bool before_none = last == CHIME_UTIME_NONE;
                assert_false(before_none && seen.next[i] != CHIME_UTIME_NONE);
                assert_true(later_none || seen.next[i] > last ||
                            (seen.next[i] == last && strcmp(seen.ids[i], last_id) > 0));
            }
            last = seen.next[i];
            snprintf(last_id, sizeof(last_id), "%s", seen.ids[i]);
        }
        total += seen.n;
        page = (struct chime_job_page){ 7, true, last, last_id };
    }
    assert_int_equal(total, N);
    chime__index_release(&idx);
    chime_trigger_unref(t);
}

static void test_run_set_keeps_ids_sorted(void **state)
{
    (void)state;
    struct chime__run_set set = { 0 };
    int64_t ids[] = { 5, 1, 9, 3, 7 };
    assert_int_equal(chime__run_set_reserve(&set, 5), 0);
    for (int i = 0; i < 5; i++)
        chime__run_set_add(&set, ids[i]);
    for (size_t i = 1; i < set.n; i++)
        assert_true(set.ids[i - 1] < set.ids[i]);
    assert_true(chime__run_set_remove(&set, 3));
    assert_false(chime__run_set_remove(&set, 3));
    assert_false(chime__run_set_remove(&set, 4));
    assert_int_equal(set.n, 4);
    chime__run_set_release(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_map_survives_many_inserts_and_removals),
        cmocka_unit_test(test_index_equal_triggers_are_shared_and_freed),
        cmocka_unit_test(test_index_heap_follows_next_run_and_pause),
        cmocka_unit_test(test_index_pages_walk_every_job_in_order),
        cmocka_unit_test(test_run_set_keeps_ids_sorted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
