/* Unit tests of src/exec/pool: every task runs, max_workers holds, stop with grace hands queued
 * tasks back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "base/base.h"
#include "exec/pool.h"

static void count_task(void *ctx)
{
    atomic_fetch_add((atomic_long *)ctx, 1);
}

static void test_pool_runs_every_task(void **state)
{
    (void)state;
    struct chime_pool *pool;
    assert_int_equal(chime_pool_new(4, &pool), 0);
    atomic_long n = 0;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(chime_pool_submit(pool, count_task, &n), 0);
    struct chime_task batch[100];
    for (int i = 0; i < 100; i++)
        batch[i] = (struct chime_task){ count_task, &n };
    for (int i = 0; i < 10; i++)
        assert_int_equal(chime_pool_submit_batch(pool, batch, 100), 0);
    chime_pool_free(pool); /* without stop: queued tasks still run */
    assert_int_equal(atomic_load(&n), 2000);
}

/* A gate tasks block on until the test opens it; counts concurrent holders. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
    int inside;
    int max_inside;
    int entered;
    int done;
};

static void gate_init(struct gate *g)
{
    *g = (struct gate){ 0 };
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
}

static void gate_task(void *ctx)
{
    struct gate *g = ctx;
    pthread_mutex_lock(&g->mu);
    g->inside++;
    g->entered++;
    if (g->inside > g->max_inside)
        g->max_inside = g->inside;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    g->inside--;
    g->done++;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
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

static void test_pool_honours_max_workers_and_reports_depth(void **state)
{
    (void)state;
    struct chime_pool *pool;
    assert_int_equal(chime_pool_new(3, &pool), 0);
    struct gate g;
    gate_init(&g);
    for (int i = 0; i < 10; i++)
        assert_int_equal(chime_pool_submit(pool, gate_task, &g), 0);
    gate_wait_entered(&g, 3);
    struct chime_pool_stats st;
    chime_pool_stats(pool, &st);
    assert_int_equal(st.workers, 3);
    assert_int_equal(st.busy, 3);
    assert_int_equal(st.queued, 7);
    assert_int_equal(st.submitted, 10);
    gate_open(&g);
    chime_pool_free(pool);
    assert_int_equal(g.done, 10);
    assert_int_equal(g.max_inside, 3);
}

static void test_pool_stop_hands_back_queued_in_order(void **state)
{
    (void)state;
    struct chime_pool *pool;
    assert_int_equal(chime_pool_new(1, &pool), 0);
    struct gate g;
    gate_init(&g);
    assert_int_equal(chime_pool_submit(pool, gate_task, &g), 0);
    gate_wait_entered(&g, 1);
    static int marks[100];
    for (int i = 0; i < 100; i++)
        assert_int_equal(chime_pool_submit(pool, count_task, &marks[i]), 0);
    struct chime_task *unrun = NULL;
    size_t n_unrun = 0;
    size_t still = chime_pool_stop(pool, 0, &unrun, &n_unrun);
    assert_int_equal(still, 1); /* the gated task is still running */
    assert_int_equal(n_unrun, 100);
    for (int i = 0; i < 100; i++)
        assert_ptr_equal(unrun[i].ctx, &marks[i]);
    chime__free(unrun);
    assert_int_equal(chime_pool_submit(pool, count_task, &marks[0]), CHIME_ESHUTDOWN);
    gate_open(&g);
    chime_pool_free(pool);
    assert_int_equal(g.done, 1);
}

struct stopper {
    struct chime_pool *pool;
    size_t still;
};

static void *stop_with_long_grace(void *arg)
{
    struct stopper *s = arg;
    s->still = chime_pool_stop(s->pool, 60000, NULL, NULL);
    return NULL;
}

static void test_pool_stop_waits_for_running_within_grace(void **state)
{
    (void)state;
    struct stopper s = { 0 };
    assert_int_equal(chime_pool_new(2, &s.pool), 0);
    struct gate g;
    gate_init(&g);
    assert_int_equal(chime_pool_submit(s.pool, gate_task, &g), 0);
    gate_wait_entered(&g, 1);
    pthread_t t;
    pthread_create(&t, NULL, stop_with_long_grace, &s);
    gate_open(&g); /* the stopper returns as soon as the task is done, not after 60 s */
    pthread_join(t, NULL);
    assert_int_equal(s.still, 0);
    assert_int_equal(g.done, 1);
    chime_pool_free(s.pool);
}

/* Rotation of a wrapped ring: the oldest task comes back first. */
static void test_pool_stop_linearizes_wrapped_ring(void **state)
{
    (void)state;
    struct chime_pool *pool;
    assert_int_equal(chime_pool_new(1, &pool), 0);
    atomic_long n = 0;
    for (int i = 0; i < 40; i++) /* move the head past the middle of the 64-slot ring */
        assert_int_equal(chime_pool_submit(pool, count_task, &n), 0);
    while (atomic_load(&n) < 40)
        sched_yield();
    struct gate g;
    gate_init(&g);
    assert_int_equal(chime_pool_submit(pool, gate_task, &g), 0);
    gate_wait_entered(&g, 1);
    static int marks[50];
    for (int i = 0; i < 50; i++)
        assert_int_equal(chime_pool_submit(pool, count_task, &marks[i]), 0);
    struct chime_task *unrun = NULL;
    size_t n_unrun = 0;
    assert_int_equal(chime_pool_stop(pool, 0, &unrun, &n_unrun), 1);
    assert_int_equal(n_unrun, 50);
    for (int i = 0; i < 50; i++)
        assert_ptr_equal(unrun[i].ctx, &marks[i]);
    chime__free(unrun);
    gate_open(&g);
    chime_pool_free(pool);
}

struct producer {
    struct chime_pool *pool;
    atomic_long *n;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    struct chime_task batch[10];
    for (int i = 0; i < 10; i++)
        batch[i] = (struct chime_task){ count_task, p->n };
    for (int i = 0; i < 500; i++) {
        assert_int_equal(chime_pool_submit(p->pool, count_task, p->n), 0);
        assert_int_equal(chime_pool_submit_batch(p->pool, batch, 10), 0);
    }
    return NULL;
}

static void test_pool_many_producers(void **state)
{
    (void)state;
    struct chime_pool *pool;
    assert_int_equal(chime_pool_new(4, &pool), 0);
    atomic_long n = 0;
    struct producer p = { pool, &n };
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, produce, &p);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    struct chime_task *unrun = NULL;
    size_t n_unrun = 0;
    assert_int_equal(chime_pool_stop(pool, -1, &unrun, &n_unrun), 0);
    chime_pool_free(pool);
    chime__free(unrun);
    /* every task either ran or came back: none is lost */
    assert_int_equal(atomic_load(&n) + (long)n_unrun, 8 * 500 * 11);
    struct chime_pool *pool2;
    assert_int_equal(chime_pool_new(4, &pool2), 0);
    atomic_long n2 = 0;
    struct producer p2 = { pool2, &n2 };
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, produce, &p2);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    chime_pool_free(pool2);
    assert_int_equal(atomic_load(&n2), 8 * 500 * 11);
}

static void test_pool_rejects_bad_count_and_enomem(void **state)
{
    (void)state;
    struct chime_pool *pool = NULL;
    assert_int_equal(chime_pool_new(0, &pool), CHIME_EINVAL);
    chime_alloc_fail_after(1);
    assert_int_equal(chime_pool_new(2, &pool), CHIME_ENOMEM);
    assert_int_equal(chime_pool_new(1, &pool), 0);
    atomic_long n = 0;
    chime_alloc_fail_after(1); /* the first submit grows the ring */
    assert_int_equal(chime_pool_submit(pool, count_task, &n), CHIME_ENOMEM);
    assert_int_equal(chime_pool_submit(pool, count_task, &n), 0);
    chime_pool_free(pool);
    assert_int_equal(atomic_load(&n), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_runs_every_task),
        cmocka_unit_test(test_pool_honours_max_workers_and_reports_depth),
        cmocka_unit_test(test_pool_stop_hands_back_queued_in_order),
        cmocka_unit_test(test_pool_stop_waits_for_running_within_grace),
        cmocka_unit_test(test_pool_stop_linearizes_wrapped_ring),
        cmocka_unit_test(test_pool_many_producers),
        cmocka_unit_test(test_pool_rejects_bad_count_and_enomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
