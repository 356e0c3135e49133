/*
 * The scheduler: a background thread that sleeps until the store's earliest
 * due time (or a wake-up), claims the due fires in batches and hands the runs
 * to a thread pool, plus the API other threads use to add, change, pause,
 * resume, remove and run jobs. All job state lives in the store (written
 * through); the scheduler keeps only its loop state and in-flight runs.
 * Every "now" comes from the injected clock; tests drive a fake clock and
 * call chime_sched_run_due / chime_sched_drain instead of sleeping.
 */
#ifndef CHIME_SCHED_H
#define CHIME_SCHED_H

#include <chime/chime.h>
#include <jansson.h>

#include "base/clock.h"
#include "job/job.h"
#include "job/registry.h"
#include "store/store.h"

/* Events, as bits of a listener's mask: X(name, bit, text). */
#define CHIME_SCHED_EVENT_MAP(X)         \
    X(JOB_ADDED, 0, "job_added")         \
    X(JOB_MODIFIED, 1, "job_modified")   \
    X(JOB_REMOVED, 2, "job_removed")     \
    X(JOB_PAUSED, 3, "job_paused")       \
    X(JOB_RESUMED, 4, "job_resumed")     \
    X(RUN_STARTED, 5, "run_started")     \
    X(RUN_SUCCEEDED, 6, "run_succeeded") \
    X(RUN_FAILED, 7, "run_failed")       \
    X(RUN_MISSED, 8, "run_missed")       \
    X(RUN_SKIPPED, 9, "run_skipped")     \
    X(RUN_LOST, 10, "run_lost")

enum chime_sched_event_kind {
#define CHIME__SCHED_EV_ENUM(name, bit, text) CHIME_EVENT_##name = 1u << (bit),
    CHIME_SCHED_EVENT_MAP(CHIME__SCHED_EV_ENUM)
#undef CHIME__SCHED_EV_ENUM
};

#define CHIME_EVENT_ALL 0x7ffu

struct chime_sched_event {
    enum chime_sched_event_kind kind;
    const char *job_id;          /* always set */
    const struct chime_job *job; /* the job (after the change; as claimed for runs); may be NULL */
    const struct chime_run *run; /* run events only */
    int64_t duration_us;         /* RUN_SUCCEEDED / RUN_FAILED: how long the call took */
};

/* Called outside every scheduler lock, on the thread that caused the event
 * (an API caller, the loop, or a worker). Everything is borrowed for the call. */
typedef void (*chime_sched_listener_fn)(const struct chime_sched_event *event, void *ctx);

/* Calls the job's function: the default is fn->fn(call, out). Embedders and tests
 * may wrap it (to observe or hold a run). Runs on a worker thread. */
typedef void (*chime_sched_invoke_fn)(const struct chime_func *fn, const struct chime_call *call,
                                      struct chime_outcome *out, void *ctx);

struct chime_sched_config {
    struct chime_job_defaults defaults;
    int max_workers;                 /* >= 1 */
    const struct chime_clock *clock; /* borrowed; NULL = the system clock */
    struct chime_store *store;       /* borrowed, must outlive the scheduler */
    int64_t shutdown_grace_ms;       /* stop waits this long for running jobs; < 0 = forever */
    size_t claim_batch;              /* fires claimed per store call; 0 = 256 */
    const char *node;                /* recorded in runs; copied; NULL = none */
    int64_t max_wait_ms;             /* the loop re-reads next_due at least this often; 0 = 1000 */
    chime_sched_invoke_fn invoke;    /* NULL = call the function directly */
    void *invoke_ctx;
};

struct chime_sched_stats {
    size_t in_flight; /* runs dispatched and not finished */
    size_t queued;    /* runs waiting for a worker */
    size_t busy;      /* workers running a job */
    size_t workers;   /* threads in the worker pool */
    uint64_t started; /* runs started since new */
    uint64_t succeeded;
    uint64_t failed;    /* failed or timed out */
    uint64_t cancelled; /* stopped by overlap replace (not failed) */
    uint64_t missed;
    uint64_t skipped;
    int store_error; /* 0, or the error of the last failed store write of the loop
                      * or an add: CHIME_ESTORE, ...; cleared by the next write that
                      * succeeds (a claim, an add, or the loop's probe_write, tried
                      * within max_wait_ms while it is set) */
};

struct chime_sched;

/**
 * Creates a scheduler (and its worker pool; the loop thread starts with
 * chime_sched_start). config is copied; the store and clock are borrowed.
 * 0, CHIME_EINVAL (no store, max_workers < 1), CHIME_ENOMEM, CHIME_EIO.
 */
int chime_sched_new(const struct chime_sched_config *config, struct chime_sched **out);

/** Stops (if running) and frees. Blocks until every worker has returned. NULL is fine. */
void chime_sched_free(struct chime_sched *sched);

/** Starts the background loop thread. 0, CHIME_EBUSY if started, CHIME_ESHUTDOWN if stopped,
 * CHIME_EIO. */
int chime_sched_start(struct chime_sched *sched);

/**
 * Stops: no more claims; runs queued but not started are recorded MISSED
 * ("scheduler stopped before the run could start"); waits up to the shutdown
 * grace for running jobs, and records those still running LOST. After it
 * returns the scheduler never touches the store again. Idempotent. Returns
 * how many runs were left running (abandoned).
 */
size_t chime_sched_stop(struct chime_sched *sched);

/** Wakes the loop so it re-reads the store's next due time. Thread-safe, cheap. */
void chime_sched_wake(struct chime_sched *sched);

/**
 * One synchronous pass at the clock's now: claims everything due (batch after
 * batch) and dispatches it; *out_n_claims (may be NULL) = fires claimed. For
 * tests and for the loop. 0 or the store's error. Thread-safe.
 */
int chime_sched_run_due(struct chime_sched *sched, size_t *out_n_claims);

/** Waits until every dispatched run has finished (waits for work, not for time). */
void chime_sched_drain(struct chime_sched *sched);

/** Adds a listener for the events in mask. 0, or CHIME_ENOMEM when 16 are registered. Thread-safe.
 */
int chime_sched_add_listener(struct chime_sched *sched, unsigned mask, chime_sched_listener_fn fn,
                             void *ctx);

/** Counters for metrics. Thread-safe. */
void chime_sched_stats(struct chime_sched *sched, struct chime_sched_stats *out);

/**
 * Adds a built job (copied by the store). CHIME_EEXIST (with diag) unless
 * replace; wakes the loop when the job comes due before what it waits for.
 */
int chime_sched_add_job(struct chime_sched *sched, const struct chime_job *job, bool replace,
                        struct chime_diag *diag);

/** Copies job id into *out (caller releases). CHIME_ENOENT. */
int chime_sched_get_job(struct chime_sched *sched, const char *id, struct chime_job *out);

/** Visits a page of jobs ordered by next run (paused last). */
int chime_sched_list_jobs(struct chime_sched *sched, const struct chime_job_page *page,
                          chime_job_visit_fn visit, void *ctx);

/**
 * Applies a JSON patch (borrowed object) of name, trigger + trigger_args, args,
 * kwargs, coalesce, misfire_grace_time, max_instances, re-validated as a new
 * request would be. A new trigger reschedules (next run from now, unless
 * paused); otherwise the next run is kept. Any other key is CHIME_EINVAL.
 * On error diag names the field and nothing changes. *out (may be NULL)
 * receives the modified job. CHIME_ENOENT for an unknown id.
 */
int chime_sched_modify_job(struct chime_sched *sched, const char *id, const json_t *patch,
                           struct chime_job *out, struct chime_diag *diag);

/** Pauses: next run none. *out (may be NULL) receives the job. CHIME_ENOENT. */
int chime_sched_pause_job(struct chime_sched *sched, const char *id, struct chime_job *out);

/**
 * Resumes: next run recomputed from now (APScheduler semantics); a trigger that
 * never fires again removes the job (then *out is released, and 0 returned).
 * *out may be NULL. CHIME_ENOENT.
 */
int chime_sched_resume_job(struct chime_sched *sched, const char *id, struct chime_job *out);

/** Removes a job (its runs are kept). CHIME_ENOENT. */
int chime_sched_remove_job(struct chime_sched *sched, const char *id);

/**
 * Runs job id now, outside its schedule (its next run is unchanged): the run
 * id into *out_run_id (may be NULL). The run may be recorded SKIPPED when
 * max_instances are running. CHIME_ENOENT, CHIME_ESHUTDOWN once stopping.
 */
int chime_sched_run_job_now(struct chime_sched *sched, const char *id, int64_t *out_run_id);

/** The event's name ("job_added", ...), NULL for an unknown kind. */
const char *chime_sched_event_name(enum chime_sched_event_kind kind);

#endif /* CHIME_SCHED_H */
