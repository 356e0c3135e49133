/*
 * Run records: every scheduled time that comes due leaves exactly one, with
 * its outcome. Runs are created by a store's claim (running, missed or
 * skipped), and finished by the executor's outcome.
 */
#ifndef CHIME_JOB_RUN_H
#define CHIME_JOB_RUN_H

#include <chime/chime.h>
#include <jansson.h>

#define CHIME_RUN_STATUS_MAP(X)                                                                    \
    X(RUNNING, "running")                                                                          \
    X(SUCCEEDED, "succeeded")                                                                      \
    X(FAILED, "failed")                                                                            \
    X(TIMED_OUT, "timed_out")                                                                      \
    X(MISSED, "missed")                                                                            \
    X(SKIPPED, "skipped")                                                                          \
    X(LOST, "lost")                                                                                \
    X(CANCELLED, "cancelled")

enum chime_run_status {
#define CHIME__RUN_ENUM(name, text) CHIME_RUN_##name,
    CHIME_RUN_STATUS_MAP(CHIME__RUN_ENUM)
#undef CHIME__RUN_ENUM
};

/* Why a run exists: its schedule, or a run-now request. */
enum chime_run_cause {
    CHIME_CAUSE_SCHEDULE = 0,
    CHIME_CAUSE_MANUAL = 1,
};

struct chime_run {
    int64_t id;           /* store-assigned, increasing */
    char *job_id;
    chime_utime scheduled;
    chime_utime started;  /* CHIME_UTIME_NONE unless it started */
    chime_utime finished; /* CHIME_UTIME_NONE until it ends */
    enum chime_run_status status;
    enum chime_run_cause cause;
    int attempt;          /* 1-based */
    char *node;           /* node name that ran it (NULL = this process) */
    char *error;          /* NULL or why it failed / was missed / skipped */
    char *output;         /* NULL or output tail */
    int exit_code;        /* a command's exit status, or CHIME_RUN_NO_EXIT_CODE */
    int http_status;      /* a webhook's final HTTP status, or 0 = none */
    /* Set by the scheduler on a failed or timed-out run that is retried: when the
     * next attempt is due. finish_run records that retry with the outcome, in the
     * same step. CHIME_UTIME_NONE otherwise (never stored in the run record). */
    chime_utime retry_at;
};

#define CHIME_RUN_NO_EXIT_CODE (-1)

/** "running", "succeeded", ...; NULL for an out-of-range value. */
const char *chime_run_status_name(enum chime_run_status status);
/** Parses a status name; 0 or CHIME_EINVAL. */
int chime_run_status_parse(const char *name, enum chime_run_status *out);

void chime_run_init(struct chime_run *run);
void chime_run_release(struct chime_run *run);
int chime_run_copy(struct chime_run *dst, const struct chime_run *src);
/** The run as the API shows it (times RFC 3339 UTC, lateness_ms, duration_ms,
 * exit_code and http_status null when unset). */
json_t *chime_run_to_json(const struct chime_run *run);

#endif /* CHIME_JOB_RUN_H */
