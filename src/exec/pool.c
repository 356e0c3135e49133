/*
 * The thread pool: one mutex guards a ring buffer of tasks and the
 * counters; workers sleep on a "work" condition variable and the stopper on
 * an "idle" one. A worker takes one task per lock acquisition, and a task's
 * completion and the next take share that acquisition. Timed waits use
 * CLOCK_MONOTONIC so a wall-clock step cannot stretch the grace period.
 */
#include "exec/pool.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "base/base.h"

struct chime_pool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* queue not empty, or closing */
    pthread_cond_t idle; /* a task finished */
    struct chime_task *ring;
    size_t cap;  /* power of two, or 0 */
    size_t head; /* index of the oldest task */
    size_t len;
    size_t busy;
    size_t waiting; /* workers blocked on work */
    uint64_t submitted;
    uint64_t completed;
    bool closing; /* no new tasks; workers exit when the queue is empty */
    pthread_t *threads;
    size_t n_threads;
};

static int ring_reserve(struct chime_pool *pool, size_t extra)
{
    if (pool->len + extra <= pool->cap)
        return 0;
    size_t cap = pool->cap ? pool->cap : 64;
    while (cap < pool->len + extra)
        cap *= 2;
    struct chime_task *ring = chime__malloc(cap * sizeof(*ring));
    if (!ring)
        return CHIME_ENOMEM;
    for (size_t i = 0; i < pool->len; i++)
        ring[i] = pool->ring[(pool->head + i) & (pool->cap - 1)];
    chime__free(pool->ring);
    pool->ring = ring;
    pool->cap = cap;
    pool->head = 0;
    return 0;
}

static void wake_workers(struct chime_pool *pool, size_t n)
{
    if (n >= pool->waiting)
        pthread_cond_broadcast(&pool->work);
    else
        for (size_t i = 0; i < n; i++)
            pthread_cond_signal(&pool->work);
}

int chime_pool_submit_batch(struct chime_pool *pool, const struct chime_task *tasks, size_t n)
{
    int rc = 0;
    pthread_mutex_lock(&pool->mu);
    if (pool->closing) {
        rc = CHIME_ESHUTDOWN;
        goto out_unlock;
    }
    rc = ring_reserve(pool, n);
    if (rc < 0)
        goto out_unlock;
    for (size_t i = 0; i < n; i++)
        pool->ring[(pool->head + pool->len + i) & (pool->cap - 1)] = tasks[i];
    pool->len += n;
    pool->submitted += n;
    if (pool->waiting)
        wake_workers(pool, n);
out_unlock:
    pthread_mutex_unlock(&pool->mu);
    return rc;
}

int chime_pool_submit(struct chime_pool *pool, chime_task_fn fn, void *ctx)
{
    struct chime_task task = { fn, ctx };
    return chime_pool_submit_batch(pool, &task, 1);
}

static void *worker_main(void *arg)
{
    struct chime_pool *pool = arg;
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (pool->len == 0 && !pool->closing) {
            pool->waiting++;
            pthread_cond_wait(&pool->work, &pool->mu);
            pool->waiting--;
        }
        if (pool->len == 0)
            break;
        struct chime_task task = pool->ring[pool->head];
        pool->head = (pool->head + 1) & (pool->cap - 1);
        pool->len--;
        pool->busy++;
        pthread_mutex_unlock(&pool->mu);
        task.fn(task.ctx);
        pthread_mutex_lock(&pool->mu);
        pool->busy--;
        pool->completed++;
        if (pool->closing)
            pthread_cond_broadcast(&pool->idle);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

static void pool_join(struct chime_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    pool->closing = true;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->mu);
    for (size_t i = 0; i < pool->n_threads; i++)
        pthread_join(pool->threads[i], NULL);
    pool->n_threads = 0;
}

static void pool_destroy(struct chime_pool *pool)
{
    pthread_cond_destroy(&pool->idle);
    pthread_cond_destroy(&pool->work);
    pthread_mutex_destroy(&pool->mu);
    chime__free(pool->threads);
    chime__free(pool->ring);
    chime__free(pool);
}

static int pool_sync_init(struct chime_pool *pool)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->work, NULL);
    pthread_cond_init(&pool->idle, &attr);
    pthread_condattr_destroy(&attr);
    return 0;
}

int chime_pool_new(int max_workers, struct chime_pool **out)
{
    if (max_workers < 1)
        return CHIME_EINVAL;
    struct chime_pool *pool = chime__calloc(1, sizeof(*pool));
    if (!pool)
        return CHIME_ENOMEM;
    pool->threads = chime__calloc((size_t)max_workers, sizeof(pthread_t));
    if (!pool->threads) {
        chime__free(pool);
        return CHIME_ENOMEM;
    }
    pool_sync_init(pool);
    for (int i = 0; i < max_workers; i++) {
        if (pthread_create(&pool->threads[i], NULL, worker_main, pool) != 0) {
            pool_join(pool);
            pool_destroy(pool);
            return CHIME_EIO;
        }
        pool->n_threads++;
    }
    *out = pool;
    return 0;
}

void chime_pool_stats(struct chime_pool *pool, struct chime_pool_stats *out)
{
    pthread_mutex_lock(&pool->mu);
    *out = (struct chime_pool_stats){
        .workers = pool->n_threads,
        .busy = pool->busy,
        .queued = pool->len,
        .submitted = pool->submitted,
        .completed = pool->completed,
    };
    pthread_mutex_unlock(&pool->mu);
}

static void reverse(struct chime_task *t, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        struct chime_task tmp = t[i];
        t[i] = t[n - 1 - i];
        t[n - 1 - i] = tmp;
    }
}

/* Rotates the ring in place so the queued tasks start at index 0 (no allocation). */
static void ring_linearize(struct chime_pool *pool)
{
    if (pool->len == 0 || pool->head == 0)
        return;
    reverse(pool->ring, pool->head);
    reverse(pool->ring + pool->head, pool->cap - pool->head);
    reverse(pool->ring, pool->cap);
    pool->head = 0;
}

/* Takes the queued tasks out (the ring itself is handed over). Called locked. */
static void take_queued(struct chime_pool *pool, struct chime_task **out, size_t *out_n)
{
    if (!out || !out_n || pool->len == 0) {
        if (out)
            *out = NULL;
        if (out_n)
            *out_n = 0;
        pool->len = 0;
        return;
    }
    ring_linearize(pool);
    *out = pool->ring;
    *out_n = pool->len;
    pool->ring = NULL;
    pool->cap = pool->head = pool->len = 0;
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

size_t chime_pool_stop(struct chime_pool *pool, int64_t grace_ms, struct chime_task **out_unrun,
                       size_t *out_n_unrun)
{
    struct timespec deadline;
    deadline_after(&deadline, grace_ms < 0 ? 0 : grace_ms);
    pthread_mutex_lock(&pool->mu);
    pool->closing = true;
    take_queued(pool, out_unrun, out_n_unrun);
    pthread_cond_broadcast(&pool->work);
    while (pool->busy > 0) {
        if (grace_ms < 0)
            pthread_cond_wait(&pool->idle, &pool->mu);
        else if (pthread_cond_timedwait(&pool->idle, &pool->mu, &deadline) != 0)
            break;
    }
    size_t busy = pool->busy;
    pthread_mutex_unlock(&pool->mu);
    return busy;
}

void chime_pool_free(struct chime_pool *pool)
{
    if (!pool)
        return;
    pool_join(pool);
    pool_destroy(pool);
}
