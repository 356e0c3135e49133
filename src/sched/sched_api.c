/*
 * The scheduler API other threads call (the HTTP layer, embedders): each
 * operation writes through to the store (which serializes internally),
 * wakes the loop when a job may now come due earlier than it waits for, and
 * emits its event once the change is made, outside every scheduler lock.
 */
#include "base/base.h"
#include "sched/sched_internal.h"

int chime_sched_add_job(struct chime_sched *sched, const struct chime_job *job, bool replace,
                        struct chime_diag *diag)
{
    int rc = sched->store->ops->add_job(sched->store, job, replace);
    atomic_store(&sched->store_error, rc == CHIME_ESTORE || rc == CHIME_EIO ? rc : 0);
    if (rc == CHIME_EEXIST)
        return chime_diag_set(diag, rc, "id", "a job with id '%s' already exists", job->id);
    if (rc < 0)
        return chime_diag_set(diag, rc, "", "the job could not be stored: %s", chime_strerror(rc));
    chime__sched_wake_if_before(sched, job->next_run);
    chime__sched_emit(sched, CHIME_EVENT_JOB_ADDED, job->id, job, NULL, 0);
    return 0;
}

int chime_sched_get_job(struct chime_sched *sched, const char *id, struct chime_job *out)
{
    return sched->store->ops->get_job(sched->store, id, out);
}

int chime_sched_list_jobs(struct chime_sched *sched, const struct chime_job_page *page,
                          chime_job_visit_fn visit, void *ctx)
{
    return sched->store->ops->list_jobs(sched->store, page, visit, ctx);
}

/* Hands the job to *out, or releases it when out is NULL. */
static void job_give(struct chime_job *job, struct chime_job *out)
{
    if (out)
        *out = *job;
    else
        chime_job_release(job);
}

int chime_sched_pause_job(struct chime_sched *sched, const char *id, struct chime_job *out)
{
    struct chime_job job;
    int rc = sched->store->ops->get_job(sched->store, id, &job);
    if (rc < 0)
        return rc;
    /* APS-COMPAT: pause_job is modify_job(next_run_time=None). */
    job.paused = true;
    job.next_run = CHIME_UTIME_NONE;
    job.updated_at = chime_clock_now(sched->clock);
    rc = sched->store->ops->update_job(sched->store, &job);
    if (rc < 0) {
        chime_job_release(&job);
        return rc;
    }
    chime__sched_emit(sched, CHIME_EVENT_JOB_PAUSED, job.id, &job, NULL, 0);
    job_give(&job, out);
    return 0;
}

int chime_sched_remove_job(struct chime_sched *sched, const char *id)
{
    int rc = sched->store->ops->remove_job(sched->store, id);
    if (rc < 0)
        return rc;
    chime__sched_emit(sched, CHIME_EVENT_JOB_REMOVED, id, NULL, NULL, 0);
    return 0;
}

int chime_sched_resume_job(struct chime_sched *sched, const char *id, struct chime_job *out)
{
    struct chime_job job;
    int rc = sched->store->ops->get_job(sched->store, id, &job);
    if (rc < 0)
        return rc;
    /* APS-COMPAT: resume_job computes get_next_fire_time(None, now); a trigger
     * that never fires again removes the job. */
    chime_utime now = chime_clock_now(sched->clock);
    chime_utime next = chime_trigger_next(job.trigger, CHIME_UTIME_NONE, now);
    if (next == CHIME_UTIME_NONE) {
        chime_job_release(&job);
        if (out)
            chime_job_init(out);
        return chime_sched_remove_job(sched, id);
    }
    job.paused = false;
    job.next_run = next;
    job.updated_at = now;
    rc = sched->store->ops->update_job(sched->store, &job);
    if (rc < 0) {
        chime_job_release(&job);
        return rc;
    }
    chime__sched_wake_if_before(sched, next);
    chime__sched_emit(sched, CHIME_EVENT_JOB_RESUMED, job.id, &job, NULL, 0);
    job_give(&job, out);
    return 0;
}

int chime_sched_run_job_now(struct chime_sched *sched, const char *id, int64_t *out_run_id)
{
    pthread_mutex_lock(&sched->mu);
    bool stopping = sched->stopping;
    pthread_mutex_unlock(&sched->mu);
    if (stopping)
        return CHIME_ESHUTDOWN;
    struct chime_claim_batch batch = { 0 };
    struct chime_claim_request req = {
        .now = chime_clock_now(sched->clock),
        .limit = 1,
        .node = sched->config.node,
        .store_clock = sched->clock == chime_clock_system(),
    };
    int rc = sched->store->ops->claim_now(sched->store, id, &req, &batch);
    if (rc == 0 && batch.n_claims == 0)
        rc = CHIME_EIO; /* the store broke its contract */
    if (rc == 0) {
        if (out_run_id)
            *out_run_id = batch.claims[0].run.id;
        chime__sched_dispatch(sched, &batch);
    }
    chime_claim_batch_release(&batch);
    return rc;
}
