/*
 * Run records: the status names (one X-macro table), the lifecycle of a
 * struct chime_run, and its API JSON form with times in RFC 3339 UTC and the
 * derived lateness and duration.
 */
#include "job/run.h"

#include <string.h>

#include "base/base.h"
#include "time/tz.h"

static const char *const status_names[] = {
#define CHIME__RUN_NAME(name, text) text,
    CHIME_RUN_STATUS_MAP(CHIME__RUN_NAME)
#undef CHIME__RUN_NAME
};

#define N_STATUS (sizeof(status_names) / sizeof(status_names[0]))

const char *chime_run_status_name(enum chime_run_status status)
{
    return (size_t)status < N_STATUS ? status_names[status] : NULL;
}

int chime_run_status_parse(const char *name, enum chime_run_status *out)
{
    for (size_t i = 0; name && i < N_STATUS; i++) {
        if (strcmp(status_names[i], name) == 0) {
            *out = (enum chime_run_status)i;
            return 0;
        }
    }
    return CHIME_EINVAL;
}

void chime_run_init(struct chime_run *run)
{
    memset(run, 0, sizeof(*run));
    run->scheduled = CHIME_UTIME_NONE;
    run->started = CHIME_UTIME_NONE;
    run->finished = CHIME_UTIME_NONE;
    run->status = CHIME_RUN_RUNNING;
    run->cause = CHIME_CAUSE_SCHEDULE;
    run->attempt = 1;
    run->exit_code = CHIME_RUN_NO_EXIT_CODE;
    run->retry_at = CHIME_UTIME_NONE;
}

void chime_run_release(struct chime_run *run)
{
    if (!run)
        return;
    chime__free(run->job_id);
    chime__free(run->node);
    chime__free(run->error);
    chime__free(run->output);
    run->job_id = NULL;
    run->node = NULL;
    run->error = NULL;
    run->output = NULL;
}

/* Copies an optional string: 0, or CHIME_ENOMEM. */
static int copy_str(char **dst, const char *src)
{
    *dst = chime__strdup(src);
    return (src && !*dst) ? CHIME_ENOMEM : 0;
}

int chime_run_copy(struct chime_run *dst, const struct chime_run *src)
{
    *dst = *src;
    dst->job_id = dst->node = dst->error = dst->output = NULL;
    if (copy_str(&dst->job_id, src->job_id) || copy_str(&dst->node, src->node) ||
        copy_str(&dst->error, src->error) || copy_str(&dst->output, src->output)) {
        chime_run_release(dst);
        return CHIME_ENOMEM;
    }
    return 0;
}

static json_t *time_json(chime_utime t)
{
    char buf[CHIME_TIME_FORMAT_MAX];
    if (t == CHIME_UTIME_NONE)
        return json_null();
    return json_string(chime_time_format(t, chime_zone_utc(), buf));
}

/* Whole milliseconds from a to b, or null unless both are set. */
static json_t *ms_json(chime_utime a, chime_utime b)
{
    if (a == CHIME_UTIME_NONE || b == CHIME_UTIME_NONE)
        return json_null();
    return json_integer((b - a) / 1000);
}

static json_t *str_json(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *chime_run_to_json(const struct chime_run *run)
{
    const char *status = chime_run_status_name(run->status);
    json_t *o = json_object();
    if (!o)
        return NULL;
    int rc = json_object_set_new(o, "id", json_integer(run->id));
    rc |= json_object_set_new(o, "job_id", str_json(run->job_id));
    rc |= json_object_set_new(o, "scheduled_time", time_json(run->scheduled));
    rc |= json_object_set_new(o, "started_at", time_json(run->started));
    rc |= json_object_set_new(o, "finished_at", time_json(run->finished));
    rc |= json_object_set_new(o, "status", str_json(status ? status : "unknown"));
    rc |= json_object_set_new(
            o, "cause", json_string(run->cause == CHIME_CAUSE_MANUAL ? "manual" : "schedule"));
    rc |= json_object_set_new(o, "attempt", json_integer(run->attempt));
    rc |= json_object_set_new(o, "node", str_json(run->node));
    rc |= json_object_set_new(o, "error", str_json(run->error));
    rc |= json_object_set_new(o, "output", str_json(run->output));
    rc |= json_object_set_new(o, "exit_code",
                              run->exit_code >= 0 ? json_integer(run->exit_code) : json_null());
    rc |= json_object_set_new(o, "http_status",
                              run->http_status > 0 ? json_integer(run->http_status) : json_null());
    rc |= json_object_set_new(o, "lateness_ms", ms_json(run->scheduled, run->started));
    rc |= json_object_set_new(o, "duration_ms", ms_json(run->started, run->finished));
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}
