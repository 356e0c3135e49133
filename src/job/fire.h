/*
 * The run rules of DESIGN.md in one pure function: given a due job, the
 * time now and how many of its instances are running, which scheduled
 * times run, which are missed (older than the misfire grace), which are
 * skipped (max_instances), and what the next run time becomes. Coalesce
 * folds several overdue times into the latest one. Stores call this inside
 * their claim step so every node applies the same rules.
 */
#ifndef CHIME_JOB_FIRE_H
#define CHIME_JOB_FIRE_H

#include "job/job.h"
#include "job/run.h"

/* At most this many overdue times are enumerated per claim; the rest are
 * counted as missed in one record (a job 10 years overdue does not loop). */
#define CHIME_FIRE_MAX_TIMES 1024

struct chime_fire {
    chime_utime scheduled;
    enum chime_run_status status; /* RUNNING (to start), MISSED or SKIPPED */
    const char *reason;           /* static text for the run's error: why MISSED/SKIPPED
                                   * (see CHIME_FIRE_REASON_*); NULL when RUNNING */
};

/* The reasons chime_fire_plan gives (static strings, compare by value). */
#define CHIME_FIRE_REASON_MISFIRE   "misfire_grace_time exceeded"
#define CHIME_FIRE_REASON_COALESCED "coalesced"
#define CHIME_FIRE_REASON_MAX_INST  "max_instances reached"
#define CHIME_FIRE_REASON_CAPPED \
    "overdue beyond the enumeration cap; this record stands for the rest"

struct chime_fire_plan {
    struct chime_fire *fires; /* chime__malloc'd, n_fires entries, oldest first */
    size_t n_fires;
    chime_utime next_run; /* CHIME_UTIME_NONE: the trigger is exhausted */
};

/**
 * Plans the fires of job (which must be due: next_run <= now, not paused)
 * with n_running instances already running. Pure: touches nothing but out.
 * 0, or CHIME_ENOMEM. Free with chime_fire_plan_release.
 */
int chime_fire_plan(const struct chime_job *job, const struct chime_job_defaults *defaults,
                    chime_utime now, int n_running, struct chime_fire_plan *out);

void chime_fire_plan_release(struct chime_fire_plan *plan);

#endif /* CHIME_JOB_FIRE_H */
