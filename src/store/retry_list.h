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
/** The earliest due time, or CHIME_UTIME_NONE when empty. */
chime_utime chime__retry_list_first_due(const struct chime__retry_list *list);
/** Removes the first retry into *out (the caller frees out->job_id). */
void chime__retry_list_pop(struct chime__retry_list *list, struct chime__retry *out);
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

#endif /* CHIME_STORE_RETRY_LIST_H */
