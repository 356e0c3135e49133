/*
 * The reference service's job module `app.jobs.registry`, compiled in so its
 * documented requests work unchanged: send_daily_digest(user_segment="all"),
 * purge_expired_sessions(), generate_weekly_report(report_type="revenue").
 * Each logs what it does and reports it as a one-line output.
 */
#include <stdio.h>

#include "base/base.h"
#include "job/registry_modules.h"

/* Sets a successful outcome whose output is line (also logged). */
static void succeed(const struct chime_call *call, struct chime_outcome *out, const char *line)
{
    chime__log(CHIME_LOG_INFO, "job %s: %s", call->job_id ? call->job_id : "-", line);
    out->ok = true;
    out->output = chime__strdup(line);
}

static void send_daily_digest(const struct chime_call *call, struct chime_outcome *out)
{
    const char *segment = chime__call_str(call, 0, "user_segment", "all");
    char line[256];
    snprintf(line, sizeof(line), "sending daily digest to segment '%.200s'", segment);
    succeed(call, out, line);
}

static void purge_expired_sessions(const struct chime_call *call, struct chime_outcome *out)
{
    succeed(call, out, "purging expired sessions");
}

static void generate_weekly_report(const struct chime_call *call, struct chime_outcome *out)
{
    const char *type = chime__call_str(call, 0, "report_type", "revenue");
    char line[256];
    snprintf(line, sizeof(line), "generating weekly report '%.200s'", type);
    succeed(call, out, line);
}

static const struct chime_param digest_params[] = {
    { "user_segment", CHIME_PARAM_STRING, "\"all\"" },
};

static const struct chime_param report_params[] = {
    { "report_type", CHIME_PARAM_STRING, "\"revenue\"" },
};

/* Sorted by name. */
static const struct chime_func app_funcs[] = {
    { "app.jobs.registry", "generate_weekly_report", generate_weekly_report, report_params, 1,
      false },
    { "app.jobs.registry", "purge_expired_sessions", purge_expired_sessions, NULL, 0, false },
    { "app.jobs.registry", "send_daily_digest", send_daily_digest, digest_params, 1, false },
};

const struct chime__module chime__module_app_jobs_registry = {
    "app.jobs.registry",
    app_funcs,
    sizeof(app_funcs) / sizeof(app_funcs[0]),
};
