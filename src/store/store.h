/*
 * The job store interface, shaped for every backend (memory, SQLite, and
 * PostgreSQL where other nodes change jobs too): jobs are written through,
 * and the scheduler asks only two things of the schedule: next_due() (the
 * earliest next run) and claim_due() (the due jobs, their next run times
 * advanced by the fire rules and their run records created, in one atomic
 * step). The memory and SQLite stores answer these from an in-memory index
 * (heap by next run + hash by id); SQLite also persists every change.
 *
 * All operations are thread-safe (each store serializes internally). Visitors
 * of list_jobs/list_runs run under the store's lock: they must not call the
 * store, and what they are shown is borrowed for the call only.
 */
#ifndef CHIME_STORE_H
#define CHIME_STORE_H

#include "job/fire.h"
#include "job/job.h"
#include "job/run.h"

struct chime_store;

/* A page of the job listing, ordered by (next_run, id), paused/finished (NONE) last. */
struct chime_job_page {
    size_t limit;   /* 0 = all */
    bool has_after; /* continue after (after_next_run, after_id) */
    chime_utime after_next_run;
    const char *after_id;
};

/* A filter of the run history, newest (highest id) first. */
struct chime_run_filter {
    const char *job_id; /* NULL = every job */
    int status;         /* enum chime_run_status, or -1 = any */
    size_t limit;       /* 0 = all */
    int64_t before_id;  /* 0 = from the newest; else only runs with id < before_id */
};

struct chime_claim_request {
    chime_utime now;
    size_t limit;     /* at most this many jobs per claim */
    const char *node; /* recorded in the runs */
    /* The caller's clock is the system clock: a store shared by several nodes
     * (PostgreSQL) then decides what is due by the database's clock instead of
     * now, so that every node agrees. False with an injected (test) clock. */
    bool store_clock;
};

/* One claimed fire: the job as it was when claimed, and its run record. */
struct chime_claim {
    struct chime_job job;
    struct chime_run run; /* status RUNNING: to execute; MISSED/SKIPPED: already final */
};

/* A fire of an overlap-replace job that came due while the job runs: the running
 * runs of job_id are to be cancelled; the fire waits (queued) until they end. */
struct chime_replace {
    char *job_id; /* owned */
    chime_utime scheduled;
};

struct chime_claim_batch {
    struct chime_claim *claims;
    size_t n_claims;
    size_t cap;
    struct chime_replace *replaces; /* for the scheduler to act on (overlap replace) */
    size_t n_replaces;
    size_t cap_replaces;
};

void chime_claim_batch_release(struct chime_claim_batch *batch);

typedef int (*chime_job_visit_fn)(const struct chime_job *job, void *ctx); /* non-0 stops */
typedef int (*chime_run_visit_fn)(const struct chime_run *run, void *ctx); /* non-0 stops */

/* A node of a shared store (PostgreSQL): its name and heartbeats. */
struct chime_node_info {
    const char *name;
    const char *host; /* may be NULL */
    int64_t pid;
    chime_utime started_at;
    chime_utime heartbeat_at;
    bool alive; /* heartbeat within the node timeout */
};
typedef int (*chime_node_visit_fn)(const struct chime_node_info *node, void *ctx); /* non-0 stops */

/* Called by a shared store when another node may have made a job due earlier:
 * due is the earliest new due time (on this process's clock) or CHIME_UTIME_NONE
 * when unknown. Called from the store's own thread. */
typedef void (*chime_store_wake_fn)(void *ctx, chime_utime due);

/* What a store counts for metrics (added up over named job stores). */
struct chime_store_stats {
    bool shared;              /* a shared store (PostgreSQL): the claim counters are kept */
    uint64_t claims;          /* claim transactions committed with at least one fire */
    uint64_t claimed_runs;    /* run records those claims created */
    uint64_t claim_conflicts; /* fires found already recorded (unique key): dropped, not run */
    uint64_t claim_failures;  /* claim transactions that failed and were rolled back */
    uint64_t runs_lost;       /* runs the store marked lost (a dead node's, or left running) */
};

struct chime_store_ops {
    const char *name; /* "memory", "sqlite" */
    void (*close)(struct chime_store *store);
    /* EEXIST unless replace. The job is copied. */
    int (*add_job)(struct chime_store *store, const struct chime_job *job, bool replace);
    /* Replaces every field of the job with this id (version bumped by the store). ENOENT. */
    int (*update_job)(struct chime_store *store, const struct chime_job *job);
    /* ENOENT. Its run history is kept. */
    int (*remove_job)(struct chime_store *store, const char *id);
    /* Copy into *out (caller releases). ENOENT. */
    int (*get_job)(struct chime_store *store, const char *id, struct chime_job *out);
    int (*list_jobs)(struct chime_store *store, const struct chime_job_page *page,
                     chime_job_visit_fn visit, void *ctx);
    size_t (*count_jobs)(struct chime_store *store);
    /* Earliest next_run of an unpaused job; ENOENT when none. */
    int (*next_due)(struct chime_store *store, chime_utime *out);
    /* Claims due jobs (next_run <= req->now) with chime_fire_plan, in one transaction:
     * advances next_run (a job whose trigger is exhausted is removed, APS-COMPAT),
     * inserts one run per fire, appends the claims to out. If memory runs out part
     * way, the jobs claimed so far stay claimed and 0 is returned (the rest stay
     * due); an error is returned only when nothing was claimed. */
    int (*claim_due)(struct chime_store *store, const struct chime_claim_request *req,
                     struct chime_claim_batch *out);
    /* Run now, outside the schedule: a RUNNING run of cause MANUAL for job id, appended
     * to out (or SKIPPED when max_instances are running). ENOENT. */
    int (*claim_now)(struct chime_store *store, const char *id,
                     const struct chime_claim_request *req, struct chime_claim_batch *out);
    /* Records the outcome of a RUNNING run (status, finished, error, output, exit_code,
     * http_status) and, when run->retry_at is set, the retry it asks for: attempt + 1
     * of the same scheduled time, due at retry_at (claimed by claim_retries);
     * CHIME_ENOENT when run->id is not a running run of this store (finished twice).
     * SQLite queues the row update (group commit, written within milliseconds,
     * by the next claim or read of the history, and at close). */
    int (*finish_run)(struct chime_store *store, const struct chime_run *run);
    /* finish_run for n runs under one acquisition of the store's lock (the
     * scheduler's workers hand their outcomes over in batches). out_rcs (may be
     * NULL) receives finish_run's result for each run. Returns 0, or the first
     * error (the other runs are still recorded). */
    int (*finish_runs)(struct chime_store *store, const struct chime_run *const *runs, size_t n,
                       int *out_rcs);
    /* Claims retries due by req->now (at most req->limit): each becomes a run record of its
     * attempt, RUNNING (or MISSED beyond the misfire grace, SKIPPED at max_instances),
     * appended to out; a retry of a job that is gone is dropped. Atomic as claim_due. */
    int (*claim_retries)(struct chime_store *store, const struct chime_claim_request *req,
                         struct chime_claim_batch *out);
    /* The earliest due time of a waiting retry; ENOENT when none. */
    int (*next_retry)(struct chime_store *store, chime_utime *out);
    int (*list_runs)(struct chime_store *store, const struct chime_run_filter *filter,
                     chime_run_visit_fn visit, void *ctx);
    /* Deletes finished runs older than before, and beyond keep_per_job per job (0 = no cap). */
    int (*prune_runs)(struct chime_store *store, chime_utime before, size_t keep_per_job);
    /* Optional (NULL for local stores): sets the wake-up for changes made by other
     * nodes (fn NULL clears it; returns once no call of the old one is running). */
    void (*set_wake)(struct chime_store *store, chime_store_wake_fn fn, void *ctx);
    /* Optional: false with *detail (static or store-owned text) while the store
     * cannot serve (database unreachable). */
    bool (*healthy)(struct chime_store *store, const char **detail);
    /* Optional: a small write that fails while the store's writes fail (disk full,
     * read-only file, locked by another process); 0 or the store's error. The
     * scheduler loop calls it while a write has failed, so readiness follows the
     * store back (a claim with nothing due writes nothing and proves nothing). */
    int (*probe_write)(struct chime_store *store);
    /* Optional: the nodes sharing the store, by name. */
    int (*list_nodes)(struct chime_store *store, chime_node_visit_fn visit, void *ctx);
    /* Optional (metrics): the jobs with a next run time (scheduled) and without
     * (paused). 0 or the store's error. */
    int (*count_by_state)(struct chime_store *store, size_t *out_scheduled, size_t *out_paused);
    /* Optional (metrics): adds the store's counters into *out. */
    void (*stats)(struct chime_store *store, struct chime_store_stats *out);
    /* Optional: the job store names (chime_store_names); NULL = one, "default". */
    size_t (*names)(const struct chime_store *store, const char **names, size_t max);
};

struct chime_store {
    const struct chime_store_ops *ops;
};

/**
 * Opens a store by URL: "memory://", "sqlite:///relative/path.db", "sqlite:////absolute/path.db"
 * (SQLAlchemy's reading),
 * or a plain path ending in .db (SQLite). Opening applies migrations, marks
 * runs left RUNNING by a previous process LOST, and loads/indexes the jobs.
 * defaults are copied (used by claims). CHIME_EINVAL with diag for a bad URL,
 * CHIME_ESTORE for a database that cannot be opened.
 */
int chime_store_open(const char *url, const struct chime_job_defaults *defaults,
                     struct chime_store **out, struct chime_diag *diag);

/* What a store shared by several nodes needs to know about this one. */
struct chime_store_options {
    const char *node;        /* this node's name (NULL: the host name) */
    int64_t heartbeat_ms;    /* 0: 1000 */
    int64_t node_timeout_ms; /* a node silent this long is dead; 0: 3000 */
    /* PostgreSQL: a server that does not answer at open is waited for (the
     * store opens unready and sets itself up when the server comes) instead
     * of failing the open. chimed sets it; false for other callers. */
    bool wait_for_server;
};

/**
 * chime_store_open with node options (used by PostgreSQL: "postgresql://..." or
 * "postgres://...", a libpq URL; the tables live in the connection's schema).
 * opts may be NULL.
 */
int chime_store_open_opts(const char *url, const struct chime_job_defaults *defaults,
                          const struct chime_store_options *opts, struct chime_store **out,
                          struct chime_diag *diag);

/**
 * Opens the default store (url) and, when others is a non-empty list of
 * "name=url" entries separated by commas (CHIME_JOBSTORES), those beside it
 * as named job stores behind one store (a job's "jobstore" picks its store).
 */
int chime_store_open_named(const char *url, const char *others,
                           const struct chime_job_defaults *defaults,
                           const struct chime_store_options *opts, struct chime_store **out,
                           struct chime_diag *diag);
/** The job store names of a store ("default" first); returns how many there are. */
size_t chime_store_names(const struct chime_store *store, const char **names, size_t max);

/** Closes any store (NULL is fine). */
void chime_store_close(struct chime_store *store);

#endif /* CHIME_STORE_H */
