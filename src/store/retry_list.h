/*
 * The retries waiting to start, as the memory and SQLite stores keep them
 * in memory: (job, scheduled time, attempt, cause) due at a time, ordered by
 * due time. Retries are rare (a failed run of a job with `retries`), so a
 * sorted array is enough. Not thread-safe: the store serializes.
 */
#ifndef CHIME_STORE_RETRY_LIST_H
#define CHIME_STORE_RETRY_LIST_H

#include "store/index.h"

struct chime__retry {
    char *job_id; /* owned */
    chime_utime scheduled;
    chime_utime due;
    int attempt; /* the attempt to start (2 for the first retry) */
    enum chime_run_cause cause;
};

struct chime__retry_list {
    struct chime__retry *items; /* ascending by due */
    size_t n, cap;
};

void chime__retry_list_release(struct chime__retry_list *list);
/** Adds a copy (job_id copied). 0 or CHIME_ENOMEM (nothing changed). */
int chime__retry_list_add(struct chime__retry_list *list, const struct chime__retry *retry);
/**
 * The index of the first retry of list, from start, due by now whose job is
 * not paused (a paused job's retries wait for the resume; a removed job's are
 * returned, to be dropped); list->n when none.
 */
size_t chime__retry_list_due(const struct chime__retry_list *list, struct chime__index *idx,
                             chime_utime now, size_t start);
/** The earliest due time of a retry whose job is not paused, or CHIME_UTIME_NONE. */
chime_utime chime__retry_list_next_due(const struct chime__retry_list *list,
                                       struct chime__index *idx);
/** Drops every retry of a job (it was removed). */
void chime__retry_list_drop_job(struct chime__retry_list *list, const char *job_id);

/** The retry a finished run asks for (run->retry_at set), as a list item borrowing job_id. */
struct chime__retry chime__retry_of_run(const struct chime_run *run);

/**
 * Builds the claim of a due retry of the job (entry's view) at the batch tail
 * without counting it: RUNNING, or MISSED when it is older than the misfire
 * grace, or SKIPPED when max_instances are running. 0 or CHIME_ENOMEM.
 */
int chime__retry_claim_prepare(struct chime_claim_batch *batch, const struct chime_job *job,
                               int n_running, const struct chime__retry *retry,
                               const struct chime_job_defaults *defaults,
                               const struct chime_claim_request *req);

/*
 * Queued fires (overlap `queue`): a fire of such a job that comes due while
 * max_instances of its runs are running waits as a list item of attempt 1
 * (retries are attempt 2 and up), due at its scheduled time, until a run of
 * the job ends (then it is claimed RUNNING) or it is older than the misfire
 * grace (then it is recorded MISSED). Bounded per job: one waiting fire with
 * coalesce (the newest: a newer fire displaces it, which is then recorded
 * MISSED, coalesced), CHIME_QUEUE_MAX without (a fire beyond the bound is
 * recorded SKIPPED, CHIME_FIRE_REASON_QUEUE_FULL). Overlap replace queues its fire the
 * same way (bound 1) and asks the scheduler to cancel the running runs.
 */
#define CHIME_QUEUE_MAX              100
#define CHIME_FIRE_REASON_QUEUE_FULL "max_instances reached and the queue is full"

/** How many fires the job may have waiting (1 with coalesce, CHIME_QUEUE_MAX without). */
size_t chime__queue_bound(const struct chime_job *job, const struct chime_job_defaults *defaults);
/**
 * For a job with overlap queue or replace, the fires that wait. waiting: the
 * scheduled times of the job's fires waiting already (n_waiting, oldest
 * first). The fires of plan skipped at max_instances that are to wait are
 * removed from plan into queued (room for plan->n_fires; *n_queued of them).
 * With coalesce one fire waits and it is the newest: the plan's older skipped
 * fires become MISSED (CHIME_FIRE_REASON_COALESCED), and when a fire is newly
 * queued every fire of waiting is displaced: added to plan as MISSED
 * (coalesced), *n_displaced = n_waiting, and the store removes them from its
 * queue in the claim's transaction. Without coalesce the queue keeps its
 * order: fires wait while fewer than chime__queue_bound are waiting, the
 * others stay SKIPPED with CHIME_FIRE_REASON_QUEUE_FULL. Nothing for any other
 * policy. 0 or CHIME_ENOMEM (plan may have been changed: release it).
 */
int chime__plan_take_queued(const struct chime_job *job, const struct chime_job_defaults *defaults,
                            const chime_utime *waiting, size_t n_waiting,
                            struct chime_fire_plan *plan, chime_utime *queued, size_t *n_queued,
                            size_t *n_displaced);
/** Appends a replace request (overlap replace) to batch. 0 or CHIME_ENOMEM. */
int chime__batch_add_replace(struct chime_claim_batch *batch, const char *job_id,
                             chime_utime scheduled);
/** When a queued fire of job scheduled at t is past the grace (CHIME_UTIME_NONE: never). */
chime_utime chime__queued_expiry(const struct chime_job *job,
                                 const struct chime_job_defaults *defaults, chime_utime t);
/** The scheduled times of up to max items of job_id in list, in list order; how many. */
size_t chime__retry_list_times_of_job(const struct chime__retry_list *list, const char *job_id,
                                      chime_utime *times, size_t max);
/** Removes the item of job_id scheduled at scheduled, if there is one. */
void chime__retry_list_drop_one(struct chime__retry_list *list, const char *job_id,
                                chime_utime scheduled);
/** The number of items of job_id in list. */
size_t chime__retry_list_count_job(const struct chime__retry_list *list, const char *job_id);
/** Removes item i into *out (the caller frees out->job_id). */
void chime__retry_list_take(struct chime__retry_list *list, size_t i, struct chime__retry *out);

/**
 * The index of the first queued fire of queue, from start, that can be
 * claimed by now: its job is gone (to drop), has a free instance, or the fire
 * is past the grace (never while the job is paused); queue->n when none.
 */
size_t chime__queue_ready(const struct chime__retry_list *queue, struct chime__index *idx,
                          const struct chime_job_defaults *defaults, chime_utime now, size_t start);
/** When the next queued fire can be claimed (see chime__queue_ready); CHIME_UTIME_NONE. */
chime_utime chime__queue_next_due(const struct chime__retry_list *queue, struct chime__index *idx,
                                  const struct chime_job_defaults *defaults);

#endif /* CHIME_STORE_RETRY_LIST_H */
