/*
 * An example chime plugin module, `report.disk`: built as
 * <plugin dir>/report/disk.so, it provides
 * report.disk:check(path, min_free_mb=100), which fails the run when the file
 * system holding `path` has less than `min_free_mb` MiB free for unprivileged
 * users, and otherwise records the free space as the run's output. It shows a
 * required parameter, an integer parameter with a default, and failures with
 * a reason (docs/plugins.md walks through it). Thread-safe: no global state.
 */
#include <chime/plugin.h>
#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>

static void check(struct chime_plugin_ctx *ctx)
{
    const char *path = chime_plugin_arg_string(ctx, "path", "/");
    int64_t min_free_mb = chime_plugin_arg_int(ctx, "min_free_mb", 100);
    struct statvfs fs;
    if (statvfs(path, &fs) != 0) {
        chime_plugin_fail(ctx, "report.disk:check: %s: %s", path, strerror(errno));
        return;
    }
    int64_t free_mb = (int64_t)((uint64_t)fs.f_bavail * fs.f_frsize / (1024 * 1024));
    if (free_mb < min_free_mb) {
        chime_plugin_fail(ctx, "%s: %lld MiB free, below %lld MiB", path, (long long)free_mb,
                          (long long)min_free_mb);
        return;
    }
    chime_plugin_outputf(ctx, "%s: %lld MiB free (run %lld of job %s)", path, (long long)free_mb,
                         (long long)ctx->run_id, ctx->job_id);
}

static const struct chime_plugin_param check_params[] = {
    { "path", CHIME_PLUGIN_STRING, NULL },          /* required */
    { "min_free_mb", CHIME_PLUGIN_INTEGER, "100" }, /* optional, default 100 */
};

CHIME_PLUGIN_FUNC(check, check_params);
