/*
 * chimed's metrics: what the daemon counts as it goes (runs by outcome,
 * misses by reason, skips, run lateness and duration, store operation
 * latency) and the writer of every family GET /metrics serves, which adds
 * what is read at scrape time (jobs by state from the store, the executor's
 * queue and workers from the scheduler, the PostgreSQL claim counters from
 * the store). Runs are counted by a scheduler listener and store latency by
 * a store that wraps the real one and times each call: neither the
 * scheduler nor the stores know about metrics, and the run path pays a few
 * relaxed atomic adds per run.
 */
#ifndef CHIME_METRICS_CHIME_METRICS_H
#define CHIME_METRICS_CHIME_METRICS_H

#include "base/clock.h"
#include "metrics/metrics.h"
#include "sched/sched.h"
#include "store/store.h"

/* The store operations timed: X(name). */
#define CHIME_METRICS_STORE_OP_MAP(X) \
    X(add_job)                        \
    X(update_job)                     \
    X(remove_job)                     \
    X(get_job)                        \
    X(list_jobs)                      \
    X(count_jobs)                     \
    X(count_by_state)                 \
    X(next_due)                       \
    X(claim_due)                      \
    X(claim_now)                      \
    X(claim_retries)                  \
    X(next_retry)                     \
    X(finish_run)                     \
    X(finish_runs)                    \
    X(list_runs)                      \
    X(prune_runs)                     \
    X(probe_write)                    \
    X(list_nodes)

enum chime_metrics_store_op {
#define CHIME__METRICS_OP_ENUM(name) CHIME_METRICS_OP_##name,
    CHIME_METRICS_STORE_OP_MAP(CHIME__METRICS_OP_ENUM)
#undef CHIME__METRICS_OP_ENUM
            CHIME_METRICS_N_STORE_OPS,
};

/* Why a run was missed: X(name, label). */
#define CHIME_METRICS_MISS_MAP(X)    \
    X(MISFIRE, "misfire_grace_time") \
    X(COALESCED, "coalesced")        \
    X(SHUTDOWN, "shutdown")

enum chime_metrics_miss {
#define CHIME__METRICS_MISS_ENUM(name, label) CHIME_METRICS_MISS_##name,
    CHIME_METRICS_MISS_MAP(CHIME__METRICS_MISS_ENUM)
#undef CHIME__METRICS_MISS_ENUM
            CHIME_METRICS_N_MISS,
};

#define CHIME_METRICS_N_STATUS 8 /* enum chime_run_status values */

struct chime_metrics {
    struct chime_counter runs[CHIME_METRICS_N_STATUS]; /* by enum chime_run_status */
    struct chime_counter misses[CHIME_METRICS_N_MISS];
    struct chime_counter skips;
    struct chime_histogram lateness; /* started - scheduled */
    struct chime_histogram duration; /* the call's duration */
    struct chime_histogram store_ops[CHIME_METRICS_N_STORE_OPS];
    chime_utime started_at; /* process start (wall) */
};

/* The scheduler events the listener needs. */
#define CHIME_METRICS_EVENTS                                                        \
    (CHIME_EVENT_RUN_STARTED | CHIME_EVENT_RUN_SUCCEEDED | CHIME_EVENT_RUN_FAILED | \
     CHIME_EVENT_RUN_MISSED | CHIME_EVENT_RUN_SKIPPED | CHIME_EVENT_RUN_LOST)

/** Allocates zeroed metrics with their histogram bounds. 0 or CHIME_ENOMEM. */
int chime_metrics_new(struct chime_metrics **out);

/** Frees (NULL is fine). Nothing may still record into m. */
void chime_metrics_free(struct chime_metrics *m);

/**
 * The scheduler listener (ctx: the struct chime_metrics): register it with
 * chime_sched_add_listener(sched, CHIME_METRICS_EVENTS, chime_metrics_on_event, m).
 * Lock-free; called on the thread of the event.
 */
void chime_metrics_on_event(const struct chime_sched_event *event, void *ctx);

/**
 * Wraps inner in a store that times each of its operations into m (with the
 * monotonic reading of clock; NULL = the system clock) and otherwise passes
 * every call through unchanged. The wrapper takes inner (closing it closes
 * inner); m and clock are borrowed and must outlive it. 0 or CHIME_ENOMEM
 * (inner is then left open, still the caller's).
 */
int chime_metrics_store_wrap(struct chime_metrics *m, struct chime_store *inner,
                             const struct chime_clock *clock, struct chime_store **out);

/* What the writer reads at scrape time (each may be NULL: its families are left out). */
struct chime_metrics_sources {
    const struct chime_metrics *metrics;
    struct chime_sched *sched;
    struct chime_store *store;
    const char *version; /* chime_build_info's version label */
};

/**
 * Writes every family of src into w: counters and histograms of metrics, the
 * scheduler's executor gauges, the store's jobs by state and (a shared store)
 * its claim counters. Runs on an HTTP thread; thread-safe.
 */
void chime_metrics_write(const struct chime_metrics_sources *src, struct chime_expo *w);

#endif /* CHIME_METRICS_CHIME_METRICS_H */
