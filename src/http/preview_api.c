/*
 * GET /schedule/jobs/{id}/preview?count=N&after=<RFC 3339>: the job's next
 * fire times as its trigger computes them (without jitter), in the trigger's
 * zone. Without after the preview starts at the job's next run (what the
 * scheduler will do), or at now for a paused job. count defaults to 5, at
 * most 1000; a trigger that ends gives fewer.
 */
#include "base/base.h"
#include "http/http_internal.h"
#include "sched/sched.h"
#include "time/tz.h"

#define PREVIEW_DEFAULT 5
#define PREVIEW_MAX     1000

static json_t *preview_fires(const struct chime_job *job, chime_utime first, size_t count)
{
    const struct chime_zone *zone = chime_trigger_zone(job->trigger);
    json_t *fires = json_array();
    chime_utime t = first;
    for (size_t i = 0; fires && i < count && t != CHIME_UTIME_NONE; i++) {
        char buf[CHIME_TIME_FORMAT_MAX];
        if (json_array_append_new(fires, json_string(chime_time_format(t, zone, buf))) < 0) {
            json_decref(fires);
            return NULL;
        }
        t = chime_trigger_next_exact(job->trigger, t, t);
    }
    return fires;
}

/* Reads ?count and ?after; false with a 400 in rep. */
static bool preview_query(const struct chime__http_req *req, size_t *count, chime_utime *after,
                          struct chime__http_reply *rep)
{
    const char *c = req->query ? req->query(req->query_ctx, "count") : NULL;
    const char *a = req->query ? req->query(req->query_ctx, "after") : NULL;
    struct chime_diag diag;
    *count = PREVIEW_DEFAULT;
    *after = CHIME_UTIME_NONE;
    if (c && chime__http_parse_limit(c, PREVIEW_MAX, count) < 0) {
        chime__http_reply_detail(rep, 400, "count must be an integer from 1 to %d", PREVIEW_MAX);
        return false;
    }
    if (a && chime_time_parse(a, chime_zone_utc(), "after", after, NULL, &diag) < 0) {
        chime__http_reply_detail(rep, 400, "%s", diag.message);
        return false;
    }
    return true;
}

void chime__http_jobs_preview(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    size_t count;
    chime_utime after, first;
    if (!preview_query(req, &count, &after, rep))
        return;
    struct chime_job job;
    chime_job_init(&job);
    int rc = chime_sched_get_job(req->env->sched, req->id, &job);
    if (rc < 0) {
        chime__http_reply_error(rep, rc, NULL);
        return;
    }
    if (after != CHIME_UTIME_NONE) {
        /* Strictly after: a fire time equal to `after` is not part of the preview. */
        first = chime_trigger_next_exact(job.trigger, CHIME_UTIME_NONE, after);
        if (first == after)
            first = chime_trigger_next_exact(job.trigger, first, first);
    } else if (!job.paused && job.next_run != CHIME_UTIME_NONE)
        first = job.next_run;
    else
        first = chime_trigger_next_exact(job.trigger, CHIME_UTIME_NONE, chime__http_now(req->env));
    json_t *fires = preview_fires(&job, first, count);
    chime__http_reply_json(rep, 200, fires ? json_pack("{s:o}", "fires", fires) : NULL);
    chime_job_release(&job);
}
