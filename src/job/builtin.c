/*
 * The `chime` job module: built-in functions every chime has. `chime:noop`
 * does nothing as cheaply as possible (benchmarks run it millions of times);
 * `chime:fail` always fails with a message (tests of failure handling);
 * `chime:sleep` sleeps for a while (tests of runs that take real time:
 * shutdown grace, max_instances, lost runs); `chime:http` calls a webhook
 * (src/job/builtin_http.c); `chime:exec` runs a command (src/job/builtin_exec.c).
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "base/base.h"
#include "job/registry_modules.h"

#define SLEEP_MAX_S 86400.0 /* one day: longer is a mistake, not a test */

static void noop_run(const struct chime_call *call, struct chime_outcome *out)
{
    (void)call;
    out->ok = true;
}

static void fail_run(const struct chime_call *call, struct chime_outcome *out)
{
    out->ok = false;
    out->error = chime__strdup(chime__call_str(call, 0, "message", "chime:fail always fails"));
}

/* The bound `seconds` of a chime:sleep call (1 if absent, as declared). */
static double sleep_seconds(const json_t *kwargs)
{
    const json_t *v = kwargs ? json_object_get(kwargs, "seconds") : NULL;
    return json_is_number(v) ? json_number_value(v) : 1.0;
}

/* Sleeps the whole span even if signals interrupt it. */
static void sleep_for(double seconds)
{
    struct timespec left = { (time_t)seconds, 0 };
    left.tv_nsec = (long)((seconds - (double)left.tv_sec) * 1e9);
    if (left.tv_nsec > 999999999L)
        left.tv_nsec = 999999999L;
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}

static void sleep_run(const struct chime_call *call, struct chime_outcome *out)
{
    double seconds = sleep_seconds(call->kwargs);
    char text[64];
    if (!(seconds >= 0 && seconds <= SLEEP_MAX_S)) {
        out->ok = false;
        out->error = chime__strdup("chime:sleep: seconds must be between 0 and 86400");
        return;
    }
    sleep_for(seconds);
    snprintf(text, sizeof(text), "slept %g s", seconds);
    out->ok = true;
    out->output = chime__strdup(text);
}

static const struct chime_param fail_params[] = {
    { "message", CHIME_PARAM_STRING, "\"chime:fail always fails\"" },
};

static const struct chime_param sleep_params[] = {
    { "seconds", CHIME_PARAM_NUMBER, "1" },
};

/* Sorted by name. */
static const struct chime_func chime_funcs[] = {
    { "chime", "exec", chime__exec_run, chime__exec_params, CHIME__EXEC_N_PARAMS, false },
    { "chime", "fail", fail_run, fail_params, 1, false },
    { "chime", "http", chime__http_run, chime__http_params, CHIME__HTTP_N_PARAMS, false },
    { "chime", "noop", noop_run, NULL, 0, false },
    { "chime", "sleep", sleep_run, sleep_params, 1, false },
};

const struct chime__module chime__module_chime = {
    "chime",
    chime_funcs,
    sizeof(chime_funcs) / sizeof(chime_funcs[0]),
};

int chime__module_chime_check(const struct chime_func *fn, const json_t *bound,
                              struct chime_diag *diag)
{
    if (fn->fn == chime__http_run)
        return chime__http_check(bound, diag);
    if (fn->fn == chime__exec_run)
        return chime__exec_check(bound, diag);
    if (fn->fn != sleep_run)
        return 0;
    double seconds = sleep_seconds(bound);
    if (!(seconds >= 0 && seconds <= SLEEP_MAX_S))
        return chime_diag_set(diag, CHIME_EINVAL, "kwargs.seconds",
                              "kwargs.seconds: chime:sleep() takes 0 to 86400 seconds, got %g",
                              seconds);
    return 0;
}
