/*
 * What the scheduler's files share: the scheduler struct, the in-flight run
 * items (allocated one block per dispatched batch) and the helpers between
 * the loop, the worker side, the API and the events.
 */
#ifndef CHIME_SCHED_INTERNAL_H
#define CHIME_SCHED_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "exec/pool.h"
#include "sched/sched.h"

#define CHIME__SCHED_MAX_LISTENERS 16

/* A dispatched run's state; the worker and the stopper race with CAS. */
enum chime__item_state {
    CHIME__ITEM_QUEUED = 0,
    CHIME__ITEM_RUNNING,
    CHIME__ITEM_FINISHING, /* the worker is recording its outcome */
    CHIME__ITEM_ABANDONED, /* the stopper recorded it (LOST, or MISSED if it never started);
                            * the worker must not touch the store */
};

struct chime__sched_block;

struct chime__sched_item {
    struct chime_sched *sched;
    struct chime__sched_block *block;
    struct chime_claim claim; /* owned */
    atomic_int state;
    int64_t duration_us;                /* how long the call took (once finished) */
    struct chime__sched_item *fin_next; /* link in the finished queue */
    /* APS-COMPAT: the due times one claim gave a job run back to back in one
     * instance (APScheduler's run_times list): the first is submitted to the
     * pool, its worker then runs chain_next and so on. */
    struct chime__sched_item *chain_next;
    bool chained; /* not the first of its chain: never submitted on its own */
    /* overlap replace: set (under sched->mu, replaced_by first) when a newer fire
     * replaces this run; the run then ends cancelled. */
    atomic_bool cancel;
    chime_utime replaced_by;
};

/* One allocation per dispatched batch of RUNNING claims, linked while live. */
struct chime__sched_block {
    struct chime__sched_block *prev;
    struct chime__sched_block *next;
    atomic_size_t n_live;
    size_t n_items;
    size_t n_heads; /* items that start a chain (submitted to the pool) */
    struct chime__sched_item items[];
};

struct chime__listener {
    unsigned mask;
    chime_sched_listener_fn fn;
    void *ctx;
};

struct chime_sched {
    struct chime_sched_config config; /* node points at node_copy */
    char *node_copy;
    const struct chime_clock *clock;
    struct chime_store *store;
    struct chime_pool *pool;

    pthread_mutex_t mu;
    pthread_cond_t wake_cv; /* the loop waits here (CLOCK_MONOTONIC) */
    pthread_cond_t done_cv; /* a run finished (drain, stop) */
    bool wake_pending;
    bool stopping;
    bool started;
    bool stopped;
    chime_utime waiting_until; /* the due time the loop sleeps for; INT64_MAX = none */
    size_t in_flight;          /* items dispatched and not released */
    size_t n_abandoned;        /* items abandoned at stop, still held by a worker */
    struct chime__sched_block *blocks;
    pthread_t thread;
    bool watching; /* registered with clock->watch */

    /* Finished runs waiting to be recorded: a worker appends its item and, unless
     * another worker is already recording, records the whole queue itself (flat
     * combining), so at most one worker at a time competes with the loop for the
     * store, and the others go back to running jobs at once. */
    pthread_mutex_t fin_mu;
    struct chime__sched_item *fin_head;
    struct chime__sched_item *fin_tail;
    bool fin_busy; /* a worker is recording the queue */

    struct chime__listener listeners[CHIME__SCHED_MAX_LISTENERS];
    atomic_size_t n_listeners;

    atomic_uint_fast64_t n_started;
    atomic_uint_fast64_t n_succeeded;
    atomic_uint_fast64_t n_failed;
    atomic_uint_fast64_t n_cancelled;
    atomic_uint_fast64_t n_missed;
    atomic_uint_fast64_t n_skipped;
    atomic_int store_error; /* see chime_sched_stats */
};

/* sched_events.c */
void chime__sched_emit(struct chime_sched *sched, enum chime_sched_event_kind kind,
                       const char *job_id, const struct chime_job *job, const struct chime_run *run,
                       int64_t duration_us);
bool chime__sched_wants(struct chime_sched *sched, unsigned mask);
/* Emits the event of a claim recorded final at claim time (MISSED / SKIPPED). */
void chime__sched_emit_final_claim(struct chime_sched *sched, const struct chime_claim *claim);

/* sched_dispatch.c */
/* Dispatches a claimed batch: RUNNING claims to the pool (moved out of batch),
 * MISSED/SKIPPED claims as events. The batch is left for the caller to release. */
void chime__sched_dispatch(struct chime_sched *sched, struct chime_claim_batch *batch);
/* The pool task running one item. */
void chime__sched_item_run(void *ctx);
/* Records an item that never started (status + reason) and releases it. */
/* chime__sched_item_unstarted for a chain head and every run chained after it. */
void chime__sched_chain_unstarted(struct chime__sched_item *head, enum chime_run_status status,
                                  const char *reason);
void chime__sched_item_unstarted(struct chime__sched_item *item, enum chime_run_status status,
                                 const char *reason);
/* Marks still-running items abandoned and records them LOST; returns how many. */
size_t chime__sched_abandon_running(struct chime_sched *sched);

/* sched_loop.c */
void *chime__sched_loop_main(void *arg);
/* Wakes the loop if t comes before what it waits for. */
void chime__sched_wake_if_before(struct chime_sched *sched, chime_utime t);

#endif /* CHIME_SCHED_INTERNAL_H */
