/*
 * libchime's embedding API: an in-process scheduler over a job store (as
 * APScheduler is in-process in Python). Jobs are added from the same JSON
 * request text the REST API takes; everything else is by job id. The
 * scheduler is opaque; no dependency type appears here. All functions are
 * thread-safe.
 */
#ifndef CHIME_SCHEDULER_H
#define CHIME_SCHEDULER_H

#include <chime/chime.h>

#ifdef __cplusplus
extern "C" {
#endif

struct chime_scheduler;

struct chime_scheduler_settings {
    const char *store_url;     /* "memory://", "sqlite:///relative.db", "sqlite:////abs/path.db"; NULL = "memory://" */
    int max_workers;           /* 0 = 10 */
    bool coalesce;             /* default coalesce of jobs */
    int64_t grace_s;           /* default misfire grace in seconds; 0 = 60 */
    int64_t shutdown_grace_ms; /* how long stop waits for running jobs */
    const char *timezone;      /* IANA name of the default zone; NULL = the host's */
};

/**
 * Opens the store and creates a scheduler (not started). 0, or CHIME_EINVAL /
 * CHIME_ESTORE / CHIME_ENOMEM with diag (may be NULL).
 */
CHIME_API int chime_scheduler_new(const struct chime_scheduler_settings *settings,
                                  struct chime_scheduler **out, struct chime_diag *diag);

/** Stops (if started), closes the store and frees. NULL is fine. */
CHIME_API void chime_scheduler_free(struct chime_scheduler *scheduler);

/** Starts the background thread. 0, CHIME_EBUSY, CHIME_ESHUTDOWN. */
CHIME_API int chime_scheduler_start(struct chime_scheduler *scheduler);

/** Stops claiming and waits for running jobs up to the grace. Returns runs abandoned. */
CHIME_API size_t chime_scheduler_stop(struct chime_scheduler *scheduler);

/**
 * Adds a job from a JSON request body ({"func", "trigger", "trigger_args", ...}).
 * The job id (33 bytes with the NUL, possibly truncated for client ids longer than
 * id_size - 1) is written to id_out if not NULL. 0, or CHIME_EINVAL / CHIME_ENEVER /
 * CHIME_EFUNC / CHIME_EEXIST with diag naming the field.
 */
CHIME_API int chime_scheduler_add_job(struct chime_scheduler *scheduler, const char *request_json,
                                      char *id_out, size_t id_size, struct chime_diag *diag);

/** Pauses / resumes / removes a job. 0 or CHIME_ENOENT. */
CHIME_API int chime_scheduler_pause_job(struct chime_scheduler *scheduler, const char *id);
CHIME_API int chime_scheduler_resume_job(struct chime_scheduler *scheduler, const char *id);
CHIME_API int chime_scheduler_remove_job(struct chime_scheduler *scheduler, const char *id);

/**
 * The jobs as a JSON array text (the REST API's listing), ordered by next run,
 * paused last. Caller frees with chime_scheduler_free_text. NULL on out of memory.
 */
CHIME_API char *chime_scheduler_list_jobs(struct chime_scheduler *scheduler);

/** Frees text returned by this API. */
CHIME_API void chime_scheduler_free_text(char *text);

#ifdef __cplusplus
}
#endif

#endif /* CHIME_SCHEDULER_H */
