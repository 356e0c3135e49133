/*
 * The job endpoints of the reference service and chime's additions: create
 * (POST /schedule/jobs), get, patch, delete, pause, resume and run now. A
 * create or patch body goes through the model check (422) before
 * chime_job_from_request's semantic validation (400); everything else is a
 * scheduler API call whose error maps to a status in reply.c. APS-COMPAT:
 * the answers of pause, resume and delete are {"status": "paused" |
 * "resumed" | "deleted"}.
 */
#include <string.h>

#include "base/base.h"
#include "http/http_internal.h"
#include "sched/sched.h"

chime_utime chime__http_now(const struct chime__http_env *env)
{
    return chime_clock_now(env->clock ? env->clock : chime_clock_system());
}

static void reply_job(struct chime__http_reply *rep, unsigned status, const struct chime_job *job)
{
    chime__http_reply_json(rep, status, chime_job_to_json(job));
}

static void add_job(const struct chime__http_env *env, const json_t *body,
                    struct chime__http_reply *rep)
{
    struct chime_job job;
    struct chime_diag diag;
    bool replace = false;
    chime_job_init(&job);
    chime_diag_clear(&diag);
    int rc = chime_job_from_request(body, env->defaults, chime__http_now(env), &job, &replace,
                                    &diag);
    if (rc == 0)
        rc = chime_sched_add_job(env->sched, &job, replace, &diag);
    if (rc == CHIME_EEXIST)
        chime__http_reply_detail(rep, 409, "Job '%s' already exists", job.id);
    else if (rc < 0)
        chime__http_reply_error(rep, rc, &diag);
    else
        reply_job(rep, 200, &job);
    chime_job_release(&job);
}

void chime__http_jobs_create(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    json_t *body = chime__http_body_object(req, rep);
    if (!body)
        return;
    if (chime__http_body_check_job(body, rep))
        add_job(req->env, body, rep);
    json_decref(body);
}

void chime__http_jobs_get(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    struct chime_job job;
    chime_job_init(&job);
    int rc = chime_sched_get_job(req->env->sched, req->id, &job);
    if (rc < 0)
        chime__http_reply_error(rep, rc, NULL);
    else
        reply_job(rep, 200, &job);
    chime_job_release(&job);
}

void chime__http_jobs_patch(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    json_t *body = chime__http_body_object(req, rep);
    if (!body)
        return;
    if (!chime__http_body_check_patch(body, rep)) {
        json_decref(body);
        return;
    }
    struct chime_job job;
    struct chime_diag diag;
    chime_job_init(&job);
    chime_diag_clear(&diag);
    int rc = chime_sched_modify_job(req->env->sched, req->id, body, &job, &diag);
    if (rc < 0)
        chime__http_reply_error(rep, rc, &diag);
    else
        reply_job(rep, 200, &job);
    chime_job_release(&job);
    json_decref(body);
}

void chime__http_jobs_delete(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    int rc = chime_sched_remove_job(req->env->sched, req->id);
    if (rc < 0)
        chime__http_reply_error(rep, rc, NULL);
    else
        chime__http_reply_status(rep, 200, "deleted");
}

void chime__http_jobs_pause(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    int rc = chime_sched_pause_job(req->env->sched, req->id, NULL);
    if (rc < 0)
        chime__http_reply_error(rep, rc, NULL);
    else
        chime__http_reply_status(rep, 200, "paused");
}

void chime__http_jobs_resume(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    int rc = chime_sched_resume_job(req->env->sched, req->id, NULL);
    if (rc < 0)
        chime__http_reply_error(rep, rc, NULL);
    else
        chime__http_reply_status(rep, 200, "resumed");
}

struct run_probe {
    int64_t id;
    int status;
    char error[256];
};

static int probe_visit(const struct chime_run *run, void *ctx)
{
    struct run_probe *p = ctx;
    if (run->id == p->id) {
        p->status = (int)run->status;
        chime__strlcpy(p->error, run->error ? run->error : "", sizeof(p->error));
    }
    return 1;
}

/* The status of run id of job_id (-1 when it cannot be read). */
static int run_status(struct chime_store *store, const char *job_id, int64_t id, char *error,
                      size_t size)
{
    struct run_probe probe = { .id = id, .status = -1 };
    struct chime_run_filter filter = {
        .job_id = job_id, .status = -1, .limit = 1, .before_id = id + 1
    };
    store->ops->list_runs(store, &filter, probe_visit, &probe);
    chime__strlcpy(error, probe.error, size);
    return probe.status;
}

void chime__http_jobs_run(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    int64_t run_id = 0;
    int rc = chime_sched_run_job_now(req->env->sched, req->id, &run_id);
    if (rc < 0) {
        chime__http_reply_error(rep, rc, NULL);
        return;
    }
    char error[256];
    if (run_status(req->env->store, req->id, run_id, error, sizeof(error)) == CHIME_RUN_SKIPPED) {
        chime__http_reply_json(rep, 409,
                               json_pack("{s:s+,s:I}", "detail",
                                         "Job is already running max_instances times; the run "
                                         "was recorded skipped: ",
                                         error, "run_id", (json_int_t)run_id));
        return;
    }
    chime__http_reply_json(
            rep, 202, json_pack("{s:s,s:I}", "status", "started", "run_id", (json_int_t)run_id));
}
