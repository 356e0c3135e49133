/*
 * A plugin module for the plugin loader's tests (tests/unit/job/test_plugin.c),
 * built as <build>/test-plugins/testmod/fixture.so: a function that reports
 * every accessor and context field it sees, one that fails, and descriptors
 * that must be refused (another ABI version, a bad parameter, a wrong name).
 */
#include <chime/plugin.h>

static void echo(struct chime_plugin_ctx *ctx)
{
    const char *extra = chime_plugin_arg_json(ctx, "extra");
    chime_plugin_outputf(ctx,
                         "text=%s times=%lld scale=%g loud=%d extra=%s job=%s name=%s func=%s "
                         "run=%lld at=%lld attempt=%d missing=%s",
                         chime_plugin_arg_string(ctx, "text", "?"),
                         (long long)chime_plugin_arg_int(ctx, "times", -1),
                         chime_plugin_arg_double(ctx, "scale", -1),
                         chime_plugin_arg_bool(ctx, "loud", -1), extra ? extra : "NULL",
                         ctx->job_id, ctx->job_name, ctx->func, (long long)ctx->run_id,
                         (long long)ctx->scheduled_us, ctx->attempt,
                         chime_plugin_arg_string(ctx, "nope", "dflt"));
}

static const struct chime_plugin_param echo_params[] = {
    { "text", CHIME_PLUGIN_STRING, NULL },   { "times", CHIME_PLUGIN_INTEGER, "1" },
    { "scale", CHIME_PLUGIN_NUMBER, "1.5" }, { "loud", CHIME_PLUGIN_BOOLEAN, "false" },
    { "extra", CHIME_PLUGIN_ANY, "null" },
};
CHIME_PLUGIN_FUNC(echo, echo_params);

static void boom(struct chime_plugin_ctx *ctx)
{
    chime_plugin_output(ctx, "partial output");
    chime_plugin_fail(ctx, "boom %d", 42);
}

static const struct chime_plugin_param no_params[1] = { { "unused", CHIME_PLUGIN_ANY, "null" } };

CHIME_PLUGIN_EXPORT const struct chime_plugin_func chime_plugin_boom = {
    CHIME_PLUGIN_ABI_VERSION, "boom", boom, no_params, 0, 0,
};

CHIME_PLUGIN_EXPORT const struct chime_plugin_func chime_plugin_old = {
    CHIME_PLUGIN_ABI_VERSION + 998, "old", boom, no_params, 0, 0,
};

static const struct chime_plugin_param bad_params[] = { { "x", 42, NULL } };
CHIME_PLUGIN_EXPORT const struct chime_plugin_func chime_plugin_badparam = {
    CHIME_PLUGIN_ABI_VERSION, "badparam", boom, bad_params, 1, 0,
};

CHIME_PLUGIN_EXPORT const struct chime_plugin_func chime_plugin_misnamed = {
    CHIME_PLUGIN_ABI_VERSION, "other", boom, no_params, 0, 0,
};
