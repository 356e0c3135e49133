/*
 * The scheduler's lifecycle: new (settings, worker pool), start (the loop
 * thread, and a watch on the clock so a fake clock's moves wake it), stop
 * (no more claims; queued runs recorded, running ones given the grace
 * period, the rest recorded lost) and free; plus drain and the counters.
 */
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "sched/sched_internal.h"

#define DEFAULT_CLAIM_BATCH 256
#define DEFAULT_MAX_WAIT_MS 1000

static void sync_init(struct chime_sched *sched)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&sched->mu, NULL);
    pthread_mutex_init(&sched->fin_mu, NULL);
    pthread_cond_init(&sched->wake_cv, &attr);
    pthread_cond_init(&sched->done_cv, NULL);
    pthread_condattr_destroy(&attr);
}

static void config_apply(struct chime_sched *sched, const struct chime_sched_config *config)
{
    sched->config = *config;
    sched->config.node = sched->node_copy;
    if (sched->config.claim_batch == 0)
        sched->config.claim_batch = DEFAULT_CLAIM_BATCH;
    if (sched->config.max_wait_ms <= 0)
        sched->config.max_wait_ms = DEFAULT_MAX_WAIT_MS;
    sched->clock = config->clock ? config->clock : chime_clock_system();
    sched->store = config->store;
    sched->waiting_until = INT64_MAX;
}

int chime_sched_new(const struct chime_sched_config *config, struct chime_sched **out)
{
    if (!config->store || config->max_workers < 1)
        return CHIME_EINVAL;
    int rc = CHIME_ENOMEM;
    struct chime_sched *sched = chime__calloc(1, sizeof(*sched));
    if (!sched)
        return CHIME_ENOMEM;
    if (config->node && !(sched->node_copy = chime__strdup(config->node)))
        goto out_free;
    config_apply(sched, config);
    rc = chime_pool_new(config->max_workers, &sched->pool);
    if (rc < 0)
        goto out_free;
    sync_init(sched);
    *out = sched;
    return 0;
out_free:
    chime__free(sched->node_copy);
    chime__free(sched);
    return rc;
}

static void on_clock_moved(void *ctx)
{
    chime_sched_wake(ctx);
}

/* A shared store saw another node change a job: it may be due earlier. */
static void on_store_changed(void *ctx, chime_utime due)
{
    if (due == CHIME_UTIME_NONE)
        chime_sched_wake(ctx);
    else
        chime__sched_wake_if_before(ctx, due);
}

int chime_sched_start(struct chime_sched *sched)
{
    int rc = 0;
    pthread_mutex_lock(&sched->mu);
    if (sched->stopping) {
        rc = CHIME_ESHUTDOWN;
        goto out_unlock;
    }
    if (sched->started) {
        rc = CHIME_EBUSY;
        goto out_unlock;
    }
    if (sched->clock->watch && sched->clock->watch(sched->clock->ctx, on_clock_moved, sched) == 0)
        sched->watching = true;
    if (pthread_create(&sched->thread, NULL, chime__sched_loop_main, sched) != 0) {
        if (sched->watching)
            sched->clock->unwatch(sched->clock->ctx, on_clock_moved, sched);
        sched->watching = false;
        rc = CHIME_EIO;
        goto out_unlock;
    }
    sched->started = true;
out_unlock:
    pthread_mutex_unlock(&sched->mu);
    /* Outside mu: the store calls on_store_changed holding its own lock. */
    if (rc == 0 && sched->store->ops->set_wake)
        sched->store->ops->set_wake(sched->store, on_store_changed, sched);
    return rc;
}

/* Stops the loop thread and the clock watch; returns whether this call is the stopper. */
static bool stop_loop(struct chime_sched *sched)
{
    pthread_mutex_lock(&sched->mu);
    bool first = !sched->stopping;
    sched->stopping = true;
    bool started = sched->started;
    pthread_cond_signal(&sched->wake_cv);
    pthread_mutex_unlock(&sched->mu);
    if (!first)
        return false;
    if (started && sched->store->ops->set_wake)
        sched->store->ops->set_wake(sched->store, NULL, NULL);
    if (started)
        pthread_join(sched->thread, NULL);
    if (sched->watching)
        sched->clock->unwatch(sched->clock->ctx, on_clock_moved, sched);
    sched->watching = false;
    return true;
}

size_t chime_sched_stop(struct chime_sched *sched)
{
    if (!stop_loop(sched))
        return 0;
    struct chime_task *unrun = NULL;
    size_t n_unrun = 0;
    size_t still = chime_pool_stop(sched->pool, sched->config.shutdown_grace_ms, &unrun, &n_unrun);
    for (size_t i = 0; i < n_unrun; i++)
        chime__sched_chain_unstarted(unrun[i].ctx, CHIME_RUN_MISSED,
                                     "scheduler stopped before the run could start");
    chime__free(unrun);
    size_t abandoned = still ? chime__sched_abandon_running(sched) : 0;
    pthread_mutex_lock(&sched->mu);
    while (sched->in_flight > sched->n_abandoned) /* runs recording their outcome now */
        pthread_cond_wait(&sched->done_cv, &sched->mu);
    sched->stopped = true;
    pthread_mutex_unlock(&sched->mu);
    if (abandoned)
        chime__log(CHIME_LOG_WARN, "scheduler stopped with %zu runs still running", abandoned);
    return abandoned;
}

void chime_sched_free(struct chime_sched *sched)
{
    if (!sched)
        return;
    chime_sched_stop(sched);
    chime_pool_free(sched->pool); /* joins workers, abandoned ones included */
    pthread_cond_destroy(&sched->done_cv);
    pthread_cond_destroy(&sched->wake_cv);
    pthread_mutex_destroy(&sched->fin_mu);
    pthread_mutex_destroy(&sched->mu);
    chime__free(sched->node_copy);
    chime__free(sched);
}

void chime_sched_drain(struct chime_sched *sched)
{
    pthread_mutex_lock(&sched->mu);
    while (sched->in_flight > sched->n_abandoned)
        pthread_cond_wait(&sched->done_cv, &sched->mu);
    pthread_mutex_unlock(&sched->mu);
}

void chime_sched_stats(struct chime_sched *sched, struct chime_sched_stats *out)
{
    struct chime_pool_stats ps;
    chime_pool_stats(sched->pool, &ps);
    pthread_mutex_lock(&sched->mu);
    size_t in_flight = sched->in_flight - sched->n_abandoned;
    pthread_mutex_unlock(&sched->mu);
    *out = (struct chime_sched_stats){
        .in_flight = in_flight,
        .queued = ps.queued,
        .busy = ps.busy,
        .workers = ps.workers,
        .started = atomic_load(&sched->n_started),
        .succeeded = atomic_load(&sched->n_succeeded),
        .failed = atomic_load(&sched->n_failed),
        .cancelled = atomic_load(&sched->n_cancelled),
        .missed = atomic_load(&sched->n_missed),
        .skipped = atomic_load(&sched->n_skipped),
        .store_error = atomic_load(&sched->store_error),
    };
}
