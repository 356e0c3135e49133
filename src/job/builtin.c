/*
 * The `chime` job module: built-in functions every chime has. `chime:noop`
 * does nothing as cheaply as possible (benchmarks run it millions of times);
 * `chime:fail` always fails with a message (tests of failure handling).
 */
#include "base/base.h"
#include "job/registry_modules.h"

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

static const struct chime_param fail_params[] = {
    { "message", CHIME_PARAM_STRING, "\"chime:fail always fails\"" },
};

/* Sorted by name. */
static const struct chime_func chime_funcs[] = {
    { "chime", "fail", fail_run, fail_params, 1, false },
    { "chime", "noop", noop_run, NULL, 0, false },
};

const struct chime__module chime__module_chime = {
    "chime",
    chime_funcs,
    sizeof(chime_funcs) / sizeof(chime_funcs[0]),
};
