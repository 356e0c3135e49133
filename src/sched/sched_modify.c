/*
 * modify_job: a JSON patch of a job's name, function, trigger and trigger
 * args, args, kwargs and run policies. The patched job is rebuilt as a new
 * API request would be (the job module validates every field, resolves the
 * function and binds the arguments), so a patch can never store what an add
 * would refuse; on error nothing changes. A new trigger reschedules from now
 * (APS-COMPAT: reschedule_job); otherwise the next run time is kept.
 */
#include <string.h>

#include "base/base.h"
#include "sched/sched_internal.h"

static const char *const patchable[] = {
    "name",          "func",    "trigger",  "trigger_args",
    "args",          "kwargs",  "coalesce", "misfire_grace_time",
    "max_instances", "timeout", "retries",  "retry_backoff",
    "retry_jitter",  "overlap",
};

static int check_keys(const json_t *patch, struct chime_diag *diag)
{
    const char *key;
    const json_t *value;
    if (!json_is_object(patch))
        return chime_diag_set(diag, CHIME_EINVAL, "", "the patch must be a JSON object");
    json_object_foreach ((json_t *)patch, key, value) {
        bool ok = false;
        for (size_t i = 0; i < sizeof(patchable) / sizeof(patchable[0]) && !ok; i++)
            ok = strcmp(key, patchable[i]) == 0;
        if (!ok)
            return chime_diag_set(diag, CHIME_EINVAL, key, "%s cannot be modified", key);
    }
    return 0;
}

/* The current job as a request body (without policies: those are kept as they are). */
static json_t *job_as_request(const struct chime_job *job)
{
    json_t *body =
            json_pack("{s:s, s:s, s:s, s:s, s:o?, s:o?, s:o?}", "id", job->id, "name", job->name,
                      "func", job->func, "trigger", chime_trigger_kind_name(job->trigger),
                      "trigger_args", chime_trigger_args_json(job->trigger), "args",
                      json_loads(job->args ? job->args : "[]", 0, NULL), "kwargs",
                      json_loads(job->kwargs ? job->kwargs : "{}", 0, NULL));
    if (body && job->paused)
        json_object_set_new(body, "next_run_time", json_null());
    return body;
}

static json_t *patched_request(const struct chime_job *job, const json_t *patch)
{
    json_t *body = job_as_request(job);
    if (!body)
        return NULL;
    if (json_object_get(patch, "trigger") && !json_object_get(patch, "trigger_args"))
        json_object_set_new(body, "trigger_args", json_object()); /* a new trigger, new args */
    if (json_object_update(body, (json_t *)patch) < 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* The run options the patch does not name stay as they were (null resets one). */
static void keep_unpatched_options(struct chime_job_policy *p, const struct chime_job_policy *old,
                                   const json_t *patch)
{
    if (!json_object_get(patch, "timeout"))
        p->timeout_s = old->timeout_s;
    if (!json_object_get(patch, "retries"))
        p->retries = old->retries;
    if (!json_object_get(patch, "retry_backoff"))
        p->retry_backoff_s = old->retry_backoff_s;
    if (!json_object_get(patch, "retry_jitter"))
        p->retry_jitter_s = old->retry_jitter_s;
    if (!json_object_get(patch, "overlap"))
        p->overlap = old->overlap;
}

/* Carries over from old what the patch does not change. */
static void keep_unpatched(struct chime_job *job, const struct chime_job *old, const json_t *patch,
                           chime_utime now)
{
    if (!json_object_get(patch, "coalesce"))
        job->policy.coalesce = old->policy.coalesce;
    if (!json_object_get(patch, "misfire_grace_time"))
        job->policy.grace_s = old->policy.grace_s;
    if (!json_object_get(patch, "max_instances"))
        job->policy.max_instances = old->policy.max_instances;
    keep_unpatched_options(&job->policy, &old->policy, patch);
    bool new_trigger = json_object_get(patch, "trigger") || json_object_get(patch, "trigger_args");
    if (!new_trigger)
        job->next_run = old->next_run;
    job->paused = old->paused;
    if (job->paused)
        job->next_run = CHIME_UTIME_NONE;
    job->version = old->version;
    job->created_at = old->created_at;
    job->updated_at = now;
    chime__free(job->jobstore);
    job->jobstore = old->jobstore ? chime__strdup(old->jobstore) : NULL;
}

static int build_modified(struct chime_sched *sched, const struct chime_job *old,
                          const json_t *patch, struct chime_job *out, struct chime_diag *diag)
{
    chime_utime now = chime_clock_now(sched->clock);
    json_t *body = patched_request(old, patch);
    if (!body) {
        chime_job_init(out);
        return chime_diag_set(diag, CHIME_ENOMEM, "", "out of memory");
    }
    int rc = chime_job_from_request(body, &sched->config.defaults, now, out, NULL, diag);
    json_decref(body);
    if (rc < 0)
        return rc;
    keep_unpatched(out, old, patch, now);
    if (old->jobstore && !out->jobstore) {
        chime_job_release(out);
        return chime_diag_set(diag, CHIME_ENOMEM, "", "out of memory");
    }
    return 0;
}

int chime_sched_modify_job(struct chime_sched *sched, const char *id, const json_t *patch,
                           struct chime_job *out, struct chime_diag *diag)
{
    int rc = check_keys(patch, diag);
    if (rc < 0)
        return rc;
    struct chime_job old, job;
    rc = sched->store->ops->get_job(sched->store, id, &old);
    if (rc < 0)
        return rc == CHIME_ENOENT ? chime_diag_set(diag, rc, "id", "Job not found") : rc;
    rc = build_modified(sched, &old, patch, &job, diag);
    chime_job_release(&old);
    if (rc < 0)
        return rc;
    rc = sched->store->ops->update_job(sched->store, &job);
    if (rc < 0) {
        chime_job_release(&job);
        return chime_diag_set(diag, rc, "", "the job could not be stored: %s", chime_strerror(rc));
    }
    chime__sched_wake_if_before(sched, job.next_run);
    chime__sched_emit(sched, CHIME_EVENT_JOB_MODIFIED, job.id, &job, NULL, 0);
    if (out)
        *out = job;
    else
        chime_job_release(&job);
    return 0;
}
