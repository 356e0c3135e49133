/*
 * What chimed's files share: the daemon's state (settings, store, scheduler,
 * HTTP server, readiness) and the helpers main calls step by step (the
 * history pruner thread and the scheduler event log in chimed_pruner.c).
 */
#ifndef CHIME_CLI_CHIMED_H
#define CHIME_CLI_CHIMED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "config/settings.h"
#include "http/http.h"
#include "job/job.h"
#include "sched/sched.h"
#include "store/store.h"

struct chimed_pruner {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* on CLOCK_MONOTONIC */
    bool stop;
    bool started;
    struct chime_store *store; /* borrowed */
    int64_t max_age_s;         /* 0 = keep */
    int64_t max_runs;          /* per job; 0 = no cap */
    int64_t interval_s;        /* between passes */
};

struct chimed {
    struct chime_settings settings;
    struct chime_job_defaults defaults;
    struct chime_store *store;
    struct chime_sched *sched;
    struct chime_http *http;
    struct chime_metrics *metrics;
    struct chimed_pruner pruner;
    atomic_bool ready;
};

/** Starts the pruner thread (one pass at once, then every interval). 0 or CHIME_EIO. */
int chimed_pruner_start(struct chimed_pruner *p, struct chime_store *store,
                        const struct chime_settings *settings);

/** Stops and joins the pruner (a pass in progress finishes first). Idempotent. */
void chimed_pruner_stop(struct chimed_pruner *p);

/** One retention pass over store: 0 or the store's error (logged). */
int chimed_prune_once(struct chime_store *store, int64_t max_age_s, int64_t max_runs);


#endif /* CHIME_CLI_CHIMED_H */
