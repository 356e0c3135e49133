/*
 * An example chime plugin module, `greet.hello`: built as
 * <plugin dir>/greet/hello.so, it provides greet.hello:say(name="world"),
 * which answers "hello, <name>" as the run's output and fails on an empty
 * name. It uses nothing but include/chime/plugin.h; start chimed with
 * --plugin-dir pointing at the directory holding greet/ to run it.
 */
#include <chime/plugin.h>

static void say(struct chime_plugin_ctx *ctx)
{
    const char *name = chime_plugin_arg_string(ctx, "name", "world");
    if (!*name) {
        chime_plugin_fail(ctx, "greet.hello:say: name must not be empty");
        return;
    }
    chime_plugin_outputf(ctx, "hello, %s (job %s, attempt %d)", name, ctx->job_id, ctx->attempt);
}

static const struct chime_plugin_param say_params[] = {
    { "name", CHIME_PLUGIN_STRING, "\"world\"" },
};

CHIME_PLUGIN_FUNC(say, say_params);
