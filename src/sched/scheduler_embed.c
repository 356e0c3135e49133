/*
 * The public embedding API (include/chime/scheduler.h): thin wrappers that
 * open a store from a URL, own a struct chime_sched over it with the system
 * clock, and translate JSON request text to jobs through the job module.
 */
#include <chime/scheduler.h>

#include "base/base.h"
#include "sched/sched.h"
#include "time/tz.h"

struct chime_scheduler {
    struct chime_store *store;
    struct chime_sched *sched;
    struct chime_job_defaults defaults;
};

static int settings_defaults(const struct chime_scheduler_settings *s, struct chime_job_defaults *d,
                             struct chime_diag *diag)
{
    d->coalesce = s->coalesce;
    d->grace_s = s->grace_s ? s->grace_s : 60;
    d->max_instances = 1;
    d->zone = chime_zone_local();
    if (s->timezone && chime_zone_find(s->timezone, &d->zone) < 0)
        return chime_diag_set(diag, CHIME_EINVAL, "timezone", "unknown time zone '%.100s'",
                              s->timezone);
    return 0;
}

CHIME_API int chime_scheduler_new(const struct chime_scheduler_settings *settings,
                                  struct chime_scheduler **out, struct chime_diag *diag)
{
    struct chime_scheduler *sc = chime__calloc(1, sizeof(*sc));
    if (!sc)
        return chime_diag_set(diag, CHIME_ENOMEM, "", "out of memory");
    int rc = settings_defaults(settings, &sc->defaults, diag);
    if (rc < 0)
        goto out_free;
    const char *url = settings->store_url ? settings->store_url : "memory://";
    rc = chime_store_open(url, &sc->defaults, &sc->store, diag);
    if (rc < 0)
        goto out_free;
    struct chime_sched_config config = {
        .defaults = sc->defaults,
        .max_workers = settings->max_workers > 0 ? settings->max_workers : 10,
        .store = sc->store,
        .shutdown_grace_ms = settings->shutdown_grace_ms,
    };
    rc = chime_sched_new(&config, &sc->sched);
    if (rc < 0) {
        chime_diag_set(diag, rc, "", "cannot create the scheduler: %s", chime_strerror(rc));
        goto out_close;
    }
    *out = sc;
    return 0;
out_close:
    chime_store_close(sc->store);
out_free:
    chime__free(sc);
    return rc;
}

CHIME_API void chime_scheduler_free(struct chime_scheduler *scheduler)
{
    if (!scheduler)
        return;
    chime_sched_free(scheduler->sched);
    chime_store_close(scheduler->store);
    chime__free(scheduler);
}

CHIME_API int chime_scheduler_start(struct chime_scheduler *scheduler)
{
    return chime_sched_start(scheduler->sched);
}

CHIME_API size_t chime_scheduler_stop(struct chime_scheduler *scheduler)
{
    return chime_sched_stop(scheduler->sched);
}

CHIME_API int chime_scheduler_add_job(struct chime_scheduler *scheduler, const char *request_json,
                                      char *id_out, size_t id_size, struct chime_diag *diag)
{
    json_error_t jerr;
    json_t *body = json_loads(request_json, 0, &jerr);
    if (!body)
        return chime_diag_set(diag, CHIME_EINVAL, "", "the request is not valid JSON: %s",
                              jerr.text);
    struct chime_job job;
    bool replace = false;
    chime_utime now = chime_clock_now(chime_clock_system());
    int rc = chime_job_from_request(body, &scheduler->defaults, now, &job, &replace, diag);
    json_decref(body);
    if (rc < 0)
        return rc;
    rc = chime_sched_add_job(scheduler->sched, &job, replace, diag);
    if (rc == 0 && id_out && id_size)
        chime__strlcpy(id_out, job.id, id_size);
    chime_job_release(&job);
    return rc;
}

CHIME_API int chime_scheduler_pause_job(struct chime_scheduler *scheduler, const char *id)
{
    return chime_sched_pause_job(scheduler->sched, id, NULL);
}

CHIME_API int chime_scheduler_resume_job(struct chime_scheduler *scheduler, const char *id)
{
    return chime_sched_resume_job(scheduler->sched, id, NULL);
}

CHIME_API int chime_scheduler_remove_job(struct chime_scheduler *scheduler, const char *id)
{
    return chime_sched_remove_job(scheduler->sched, id);
}

static int append_job(const struct chime_job *job, void *ctx)
{
    json_t *j = chime_job_to_json(job);
    return j ? json_array_append_new(ctx, j) : -1;
}

/* Dumps JSON into a chime__malloc'd string (so it is freed by chime__free). */
static char *dump_json(const json_t *value)
{
    size_t size = json_dumpb(value, NULL, 0, JSON_COMPACT);
    char *text = size ? chime__malloc(size + 1) : NULL;
    if (!text)
        return NULL;
    json_dumpb(value, text, size, JSON_COMPACT);
    text[size] = '\0';
    return text;
}

CHIME_API char *chime_scheduler_list_jobs(struct chime_scheduler *scheduler)
{
    json_t *list = json_array();
    struct chime_job_page page = { 0 };
    char *text = NULL;
    if (list && chime_sched_list_jobs(scheduler->sched, &page, append_job, list) == 0)
        text = dump_json(list);
    json_decref(list);
    return text;
}

CHIME_API void chime_scheduler_free_text(char *text)
{
    chime__free(text);
}
