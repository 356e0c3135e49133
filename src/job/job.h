/*
 * The job model: what a job is (id, name, target function and its
 * arguments, trigger, run policies, next run, state), how it is validated,
 * and its JSON form (the API's and the stores'). A struct chime_job is a
 * value: copies are independent, except the trigger, which is immutable and
 * shared by reference count.
 */
#ifndef CHIME_JOB_H
#define CHIME_JOB_H

#include <chime/chime.h>
#include <jansson.h>

#include "trigger/trigger.h"

#define CHIME_JOB_ID_MAX 191 /* bytes, without the NUL */

/* Run policies; -1 / CHIME_GRACE_DEFAULT mean "from the scheduler settings". */
#define CHIME_GRACE_UNLIMITED (-2) /* APScheduler's misfire_grace_time=None */
#define CHIME_GRACE_DEFAULT   (-1)

/* What a job does when it comes due while an instance of it runs (max_instances reached). */
enum chime_overlap {
    CHIME_OVERLAP_SKIP = 0, /* the new run is recorded skipped (APScheduler's behaviour) */
    CHIME_OVERLAP_QUEUE,    /* the new run starts once a running one ends */
    CHIME_OVERLAP_REPLACE,  /* the running one is cancelled, then the new one starts */
};

#define CHIME_RETRY_BACKOFF_DEFAULT_S 10
#define CHIME_JOB_TIMEOUT_MAX_S       (30 * 86400)
#define CHIME_JOB_RETRIES_MAX         100
#define CHIME_RETRY_DELAY_MAX_S       86400

struct chime_job_policy {
    int coalesce;      /* 1 / 0, or -1 = default */
    int64_t grace_s;   /* misfire grace in seconds, CHIME_GRACE_DEFAULT or CHIME_GRACE_UNLIMITED */
    int max_instances; /* >= 1, or -1 = default (1) */
    int32_t timeout_s; /* a run's time limit, 0 = none */
    int32_t retries;   /* extra attempts after a failed or timed-out run */
    int32_t retry_backoff_s; /* delay before attempt 2; doubles for each further attempt */
    int32_t retry_jitter_s;  /* up to this much random delay added to each retry */
    int overlap;             /* enum chime_overlap */
};

struct chime_job {
    char *id;                      /* 32 lowercase hex chars, or client-given */
    char *name;                    /* non-empty; defaults to func */
    char *func;                    /* "module:function" */
    char *args;                    /* JSON array text, "[]" when none */
    char *kwargs;                  /* JSON object text, "{}" when none */
    char *jobstore;                /* "default" unless given */
    struct chime_trigger *trigger; /* one reference owned */
    struct chime_job_policy policy;
    chime_utime next_run; /* CHIME_UTIME_NONE when paused or finished */
    bool paused;
    char *broken;    /* NULL, or why the func cannot be resolved (kept, runs fail) */
    int64_t version; /* bumped by every change */
    chime_utime created_at;
    chime_utime updated_at;
};

/** Initializes an empty job (all NULL / defaults). */
void chime_job_init(struct chime_job *job);
/** Frees what the job owns; the struct itself is the caller's. Safe twice. */
void chime_job_release(struct chime_job *job);
/** Deep copy (trigger shared by reference). 0 or CHIME_ENOMEM (dst left released). */
int chime_job_copy(struct chime_job *dst, const struct chime_job *src);
/** A new random 32-lowercase-hex id into buf (33 bytes). Thread-safe. */
void chime_job_new_id(char buf[33]);

/* Scheduler-wide defaults applied to a job's -1 policies. */
struct chime_job_defaults {
    bool coalesce;                 /* SCHEDULER_COALESCE, true */
    int64_t grace_s;               /* SCHEDULER_MISFIRE_GRACE_TIME, 60 (or CHIME_GRACE_UNLIMITED) */
    int max_instances;             /* 1 */
    const struct chime_zone *zone; /* SCHEDULER_TIMEZONE, else host local */
};

/** The run options' defaults: no timeout, no retries, 10 s backoff, no jitter, skip. */
void chime_job_policy_options_init(struct chime_job_policy *p);
/** "skip", "queue", "replace"; NULL for an out-of-range value. */
const char *chime_overlap_name(int overlap);
/**
 * The delay before attempt `next_attempt` (2 for the first retry) in
 * microseconds: retry_backoff_s * 2^(next_attempt - 2), at most
 * CHIME_RETRY_DELAY_MAX_S, plus jitter_draw (0..1) * retry_jitter_s.
 */
int64_t chime_job_retry_delay_us(const struct chime_job_policy *p, int next_attempt,
                                 double jitter_draw);

/* Effective policies (defaults applied). */
bool chime_job_coalesce(const struct chime_job *job, const struct chime_job_defaults *d);
int64_t chime_job_grace_s(const struct chime_job *job, const struct chime_job_defaults *d);
int chime_job_max_instances(const struct chime_job *job, const struct chime_job_defaults *d);

/**
 * Builds a job from an API request body (a JSON object, borrowed):
 * func (required), trigger (required), trigger_args, name, id, args, kwargs,
 * jobstore, coalesce, misfire_grace_time, max_instances, next_run_time,
 * replace_existing (reported in *out_replace, may be NULL). Unknown fields are
 * ignored (APS-COMPAT: FastAPI/pydantic ignore extras). Validates every field,
 * resolves func through the registry (unknown module/function = error) and
 * checks args/kwargs against its parameters; computes next_run from now.
 * On error: CHIME_EINVAL/CHIME_ENEVER/CHIME_EFUNC with diag naming the field;
 * *out is left released. Thread-safe.
 */
int chime_job_from_request(const json_t *body, const struct chime_job_defaults *defaults,
                           chime_utime now, struct chime_job *out, bool *out_replace,
                           struct chime_diag *diag);

/**
 * The job as the API shows it: {id, name, func, args, kwargs, trigger,
 * trigger_args, next_run_time (RFC 3339 in the trigger's zone, or null),
 * paused, coalesce, misfire_grace_time, max_instances, jobstore, broken?,
 * created_at, updated_at}. The policies are spelled as in a request: a policy
 * left to the scheduler default is absent (use chime_job_coalesce() & co. for
 * effective values), misfire_grace_time null = unlimited; broken only when set;
 * created_at/updated_at RFC 3339 UTC. New reference; NULL on out of memory.
 */
json_t *chime_job_to_json(const struct chime_job *job);

/**
 * Rebuilds a job from its stored JSON form (chime_job_to_stored's output; stored
 * is borrowed). A func that no longer resolves (or whose args no longer bind)
 * does not fail: the job comes back with broken = the reason. A missing or
 * mistyped field, or trigger args that no longer parse, is CHIME_EINVAL with
 * diag; *out is left released. The stored next_run_us is kept as is (a trigger
 * whose end is past parses as long as it has stored args). Used by the stores.
 */
int chime_job_from_stored(const json_t *stored, const struct chime_job_defaults *defaults,
                          struct chime_job *out, struct chime_diag *diag);

/**
 * The job as the stores persist it (for chime_job_from_stored): the fields of
 * chime_job_to_json plus "next_run_us" (integer UTC microseconds, or null when
 * paused/finished), "paused" (bool), "broken" (string or null), "version",
 * "created_at_us", "updated_at_us" (integers), and "trigger_args" normalized
 * by chime_trigger_args_json. Args and kwargs are embedded as JSON values.
 * New reference (caller owns it); NULL on out of memory. Thread-safe.
 */
json_t *chime_job_to_stored(const struct chime_job *job);

/** Sets the job store names jobs may name besides "default" (at start-up). 0 or ERANGE. */
int chime_jobstores_set(const char *const *names, size_t n);
/** True for "default" and the names set. */
bool chime_jobstore_known(const char *name);

/* A growable text buffer; data is NUL-terminated once anything was appended. */
struct chime_text {
    char *data;
    size_t len, cap;
};

/** Appends n bytes of s. 0 or CHIME_ENOMEM (the text is unchanged). */
int chime_text_append(struct chime_text *t, const char *s, size_t n);
/** Frees the buffer and empties t. */
void chime_text_free(struct chime_text *t);

/**
 * Appends the API view of the job as compact JSON text: byte for byte what
 * json_dumps(chime_job_to_json(job), JSON_COMPACT) gives, without building a
 * json_t (the trigger's args text is cached by the trigger). 0, or
 * CHIME_ENOMEM with out left as it was. Thread-safe for distinct outs.
 */
int chime_job_write_json(const struct chime_job *job, struct chime_text *out);

/**
 * True when two jobs are equal field by field (triggers compared by kind and
 * normalized args, args/kwargs compared as JSON values). For tests and stores.
 */
bool chime_job_equal(const struct chime_job *a, const struct chime_job *b);

#endif /* CHIME_JOB_H */
