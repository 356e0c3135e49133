/*
 * The function registry: "module:function" -> a callable with declared
 * parameters. Compiled-in modules are `chime` (noop, ...) and the reference
 * service's `app.jobs.registry`. Plugins (dlopen) join later through the
 * same lookup. Lookups are read-only after start-up and thread-safe.
 */
#ifndef CHIME_JOB_REGISTRY_H
#define CHIME_JOB_REGISTRY_H

#include <stdatomic.h>
#include <chime/chime.h>
#include <jansson.h>

/* What a function gets when it runs: borrowed for the duration of the call. */
struct chime_call {
    const char *job_id;
    const char *job_name;
    const char *func;
    int64_t run_id;
    chime_utime scheduled;
    int attempt;          /* 1 for the first attempt */
    const json_t *args;   /* JSON array */
    const json_t *kwargs; /* JSON object, defaults of declared parameters filled in */
    int64_t timeout_ms;   /* the job's time limit for a run (its `timeout`), 0 = none */
    /* Set when the run is to stop (overlap replace); NULL = never. A runner that can
     * stop its work (chime:exec) watches it; the record ends cancelled either way. */
    const atomic_bool *cancel;
};

/* What it hands back. Strings are owned by the outcome (chime__malloc'd). */
struct chime_outcome {
    bool ok;
    char *error;  /* why it failed, or NULL */
    char *output; /* tail of what it printed/returned, or NULL */
    bool timed_out;     /* it failed because its time ran out (run status timed_out) */
    bool has_exit_code; /* a command exited: exit_code is its status */
    int exit_code;
    int http_status; /* a webhook's final HTTP status, or 0 = none */
};

typedef void (*chime_func_fn)(const struct chime_call *call, struct chime_outcome *out);

enum chime_param_type {
    CHIME_PARAM_ANY = 0,
    CHIME_PARAM_STRING,
    CHIME_PARAM_INTEGER,
    CHIME_PARAM_NUMBER,
    CHIME_PARAM_BOOLEAN,
    CHIME_PARAM_ARRAY,
    CHIME_PARAM_OBJECT,
};

struct chime_param {
    const char *name;
    enum chime_param_type type;
    const char *default_json; /* NULL = required */
};

struct chime_func {
    const char *module;
    const char *name;
    chime_func_fn fn;
    const struct chime_param *params;
    size_t n_params;
    bool var_kwargs; /* accepts any further keyword argument */
};

/**
 * Resolves "module:function". CHIME_EINVAL if the text is not of that form,
 * CHIME_EFUNC for an unknown module or function; diag (field "func") says which.
 */
int chime_registry_find(const char *func, const struct chime_func **out, struct chime_diag *diag);

/**
 * Binds args (array) and kwargs (object) to the function's parameters as
 * Python would: too many positionals, an unknown or duplicated keyword, a
 * missing required parameter or a wrong type is CHIME_EINVAL with diag
 * (field "args" / "kwargs"). On success *out_kwargs (new reference) holds every
 * parameter by name, defaults filled in; out_kwargs may be NULL to only check.
 */
int chime_registry_bind(const struct chime_func *fn, const json_t *args, const json_t *kwargs,
                        json_t **out_kwargs, struct chime_diag *diag);

/** Calls each registered function (module order, then name order); for listings. */
void chime_registry_foreach(void (*visit)(const struct chime_func *fn, void *ctx), void *ctx);

/*
 * Process-wide settings of the compiled-in functions. chimed sets them from
 * its settings at start-up, before any job is created or loaded; an embedder
 * that never calls chime_registry_configure gets the defaults (all false/NULL:
 * chime:exec disabled).
 */
struct chime_registry_config {
    bool allow_exec;        /* CHIME_ALLOW_EXEC: chime:exec jobs may be created and run */
    const char *exec_allow; /* CHIME_EXEC_ALLOW: comma-separated absolute paths of the only
                               executables chime:exec may run; NULL or "" = any */
};

/**
 * Replaces the registry configuration (copies config; NULL restores the
 * defaults). CHIME_EINVAL with diag (field "CHIME_EXEC_ALLOW") when the
 * allow-list holds a path that is not absolute, CHIME_ENOMEM; on error the
 * previous configuration stays. Thread-safe (a mutex); jobs already created
 * are checked against the new configuration when they next run.
 */
int chime_registry_configure(const struct chime_registry_config *config, struct chime_diag *diag);

/** Frees what an outcome owns. */
void chime_outcome_release(struct chime_outcome *out);

#endif /* CHIME_JOB_REGISTRY_H */
