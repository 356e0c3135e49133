/*
 * A fixed pool of worker threads running submitted tasks (a function and
 * its context) in FIFO order. The queue is unbounded but counted (its depth
 * and the busy workers are reported for metrics); submission takes one lock
 * per batch and allocates nothing per task (tasks live by value in a growing
 * ring). Stopping hands the still-queued tasks back to the caller, so the
 * scheduler can record them instead of dropping them silently.
 */
#ifndef CHIME_EXEC_POOL_H
#define CHIME_EXEC_POOL_H

#include <chime/chime.h>

typedef void (*chime_task_fn)(void *ctx);

struct chime_task {
    chime_task_fn fn;
    void *ctx;
};

struct chime_pool_stats {
    size_t workers;     /* threads in the pool */
    size_t busy;        /* workers running a task now */
    size_t queued;      /* tasks waiting for a worker */
    uint64_t submitted; /* tasks accepted since start */
    uint64_t completed; /* tasks that returned */
};

struct chime_pool;

/**
 * Starts a pool of max_workers (>= 1) threads. 0, CHIME_EINVAL for a bad
 * count, CHIME_ENOMEM, or CHIME_EIO when a thread cannot be created.
 */
int chime_pool_new(int max_workers, struct chime_pool **out);

/** Queues one task. 0, CHIME_ENOMEM, or CHIME_ESHUTDOWN once stopping. Thread-safe. */
int chime_pool_submit(struct chime_pool *pool, chime_task_fn fn, void *ctx);

/**
 * Queues n tasks (copied) under one lock: all or none. 0, CHIME_ENOMEM, or
 * CHIME_ESHUTDOWN once stopping. Thread-safe.
 */
int chime_pool_submit_batch(struct chime_pool *pool, const struct chime_task *tasks, size_t n);

/** A consistent snapshot of the counters. Thread-safe. */
void chime_pool_stats(struct chime_pool *pool, struct chime_pool_stats *out);

/**
 * Stops the pool: refuses new tasks, takes every task still queued out of the
 * queue and hands it back in *out_unrun (n in *out_n_unrun; caller frees the
 * array with chime__free; NULL when none; both out pointers may be NULL only
 * if the caller accepts dropping them), then waits up to grace_ms (< 0 =
 * forever) for running tasks to return. Returns how many are still running.
 * Safe to call more than once. Threads are joined by chime_pool_free.
 */
size_t chime_pool_stop(struct chime_pool *pool, int64_t grace_ms, struct chime_task **out_unrun,
                       size_t *out_n_unrun);

/**
 * Frees the pool. Without a prior stop, the queued tasks still run first.
 * Blocks until every running task has returned. NULL is fine.
 */
void chime_pool_free(struct chime_pool *pool);

#endif /* CHIME_EXEC_POOL_H */
