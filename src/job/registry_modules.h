/*
 * The compiled-in job modules the registry serves: each module is a table of
 * functions sorted by name, defined in its own file (src/job/builtin.c for
 * `chime`, jobs/app_jobs_registry.c for the reference service's
 * `app.jobs.registry`) and listed once in registry.c.
 */
#ifndef CHIME_JOB_REGISTRY_MODULES_H
#define CHIME_JOB_REGISTRY_MODULES_H

#include "job/registry.h"

struct chime__module {
    const char *name;
    const struct chime_func *funcs; /* sorted by name */
    size_t n_funcs;
};

/* `chime`: exec, fail, http, noop, sleep. */
extern const struct chime__module chime__module_chime;
/* `app.jobs.registry`: send_daily_digest, purge_expired_sessions, generate_weekly_report. */
extern const struct chime__module chime__module_app_jobs_registry;

/**
 * The string parameter `name` of a call: kwargs[name] if a string, else
 * args[pos] if a string, else dflt. Borrowed from the call.
 */
const char *chime__call_str(const struct chime_call *call, size_t pos, const char *name,
                            const char *dflt);

/* chime:http (src/job/builtin_http.c): the webhook function, its parameters
 * (url, method, headers, body, timeout, expect_status) and its value check. */
#define CHIME__HTTP_N_PARAMS 6
extern const struct chime_param chime__http_params[CHIME__HTTP_N_PARAMS];
void chime__http_run(const struct chime_call *call, struct chime_outcome *out);
int chime__http_check(const json_t *bound, struct chime_diag *diag);

/**
 * Checks the values of a bound call of a `chime` function beyond their JSON
 * types (chime:sleep's seconds must lie in 0..86400): 0, or CHIME_EINVAL with
 * diag naming the field ("kwargs.seconds"). Borrows fn and bound; thread-safe.
 */
int chime__module_chime_check(const struct chime_func *fn, const json_t *bound,
                              struct chime_diag *diag);

/* chime:exec (src/job/builtin_exec.c): its parameters, in positional order. */
#define CHIME__EXEC_N_PARAMS 6
extern const struct chime_param chime__exec_params[CHIME__EXEC_N_PARAMS];

/** Runs a bound chime:exec call (checks the gate again first). Thread-safe. */
void chime__exec_run(const struct chime_call *call, struct chime_outcome *out);

/**
 * Checks a bound chime:exec call: the gate (CHIME_EPERM, field "func", when
 * exec is disabled; CHIME_EPERM, field "kwargs.argv", when argv[0] is not on
 * the allow-list), then every value (CHIME_EINVAL naming "kwargs.<name>").
 * Borrows bound; thread-safe.
 */
int chime__exec_check(const json_t *bound, struct chime_diag *diag);

/** Checks a CHIME_EXEC_ALLOW text (absolute paths, comma-separated): 0 or CHIME_EINVAL. */
int chime__exec_allow_parse(const char *list, struct chime_diag *diag);

/**
 * The exec policy set by chime_registry_configure: *out_enabled, and a copy of
 * the allow-list (chime__malloc'd, NULL when none; the caller frees it).
 * 0 or CHIME_ENOMEM. Thread-safe.
 */
int chime__registry_exec_policy(bool *out_enabled, char **out_allow);

#endif /* CHIME_JOB_REGISTRY_MODULES_H */
