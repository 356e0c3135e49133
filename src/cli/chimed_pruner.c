/*
 * chimed's background helpers: the history pruner (a thread applying the
 * retention settings CHIME_HISTORY_MAX_AGE / CHIME_HISTORY_MAX_RUNS through
 * the store's prune_runs once at start and then every minute, stoppable at
 * once through a condition variable) and the scheduler event log (one line per
 * job change or finished run; successes at debug level so a busy node's log
 * stays readable).
 */
#include <errno.h>
#include <time.h>

#include "base/base.h"
#include "base/clock.h"
#include "cli/chimed.h"

int chimed_prune_once(struct chime_store *store, int64_t max_age_s, int64_t max_runs)
{
    if ((max_age_s <= 0 && max_runs <= 0) || !store->ops->prune_runs)
        return 0;
    chime_utime before = INT64_MIN; /* 0 = keep every age */
    if (max_age_s > 0)
        before = chime_clock_now(chime_clock_system()) - max_age_s * 1000000;
    int err = store->ops->prune_runs(store, before, max_runs > 0 ? (size_t)max_runs : 0);
    if (err)
        chime__log(CHIME_LOG_WARN, "history retention: pruning runs failed: %s",
                   chime_strerror(err));
    else
        chime__log(CHIME_LOG_DEBUG, "history retention: pruned runs");
    return err;
}

static void *pruner_main(void *arg)
{
    struct chimed_pruner *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        pthread_mutex_unlock(&p->mu);
        chimed_prune_once(p->store, p->max_age_s, p->max_runs);
        pthread_mutex_lock(&p->mu);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += p->interval_s;
        while (!p->stop && pthread_cond_timedwait(&p->cond, &p->mu, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int pruner_init_sync(struct chimed_pruner *p)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return CHIME_EIO;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&p->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return CHIME_EIO;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        pthread_cond_destroy(&p->cond);
        return CHIME_EIO;
    }
    return 0;
}

int chimed_pruner_start(struct chimed_pruner *p, struct chime_store *store,
                        const struct chime_settings *settings)
{
    p->store = store;
    p->max_age_s = settings->history_max_age_s;
    p->max_runs = settings->history_max_runs;
    p->interval_s = 60;
    p->stop = false;
    int err = pruner_init_sync(p);
    if (err)
        return err;
    if (pthread_create(&p->thread, NULL, pruner_main, p) != 0) {
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->mu);
        return CHIME_EIO;
    }
    p->started = true;
    return 0;
}

void chimed_pruner_stop(struct chimed_pruner *p)
{
    if (!p->started)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->mu);
    p->started = false;
}
