/*
 * A job's JSON views: the API's (chime_job_to_json) and the stores' (the API
 * view plus exact microsecond times, state and version), and loading a job
 * back from what a store persisted. Loading re-parses the trigger from its
 * normalized args and re-resolves the function; a function that has gone
 * away marks the job broken instead of losing it.
 */
#include "job/job.h"

#include <string.h>

#include "base/base.h"
#include "job/job_internal.h"
#include "job/registry.h"

static json_t *time_json(chime_utime t, const struct chime_zone *zone)
{
    char buf[CHIME_TIME_FORMAT_MAX];
    if (t == CHIME_UTIME_NONE)
        return json_null();
    return json_string(chime_time_format(t, zone, buf));
}

static json_t *opt_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *text_json(const char *text, json_t *(*empty)(void))
{
    return text ? json_loads(text, JSON_DECODE_ANY, NULL) : empty();
}

/* Policies as a request spells them: a field left to the default is absent. */
static int set_policy(json_t *o, const struct chime_job_policy *p)
{
    int rc = 0;
    if (p->coalesce >= 0)
        rc |= json_object_set_new(o, "coalesce", json_boolean(p->coalesce));
    if (p->grace_s == CHIME_GRACE_UNLIMITED)
        rc |= json_object_set_new(o, "misfire_grace_time", json_null());
    else if (p->grace_s != CHIME_GRACE_DEFAULT)
        rc |= json_object_set_new(o, "misfire_grace_time", json_integer(p->grace_s));
    if (p->max_instances >= 1)
        rc |= json_object_set_new(o, "max_instances", json_integer(p->max_instances));
    return rc | chime__job_set_options(o, p);
}

static int set_trigger(json_t *o, const struct chime_trigger *trigger)
{
    if (!trigger)
        return json_object_set_new(o, "trigger", json_null()) |
               json_object_set_new(o, "trigger_args", json_null());
    json_t *args = chime_trigger_args_json(trigger);
    if (!args)
        return -1;
    return json_object_set_new(o, "trigger", json_string(chime_trigger_kind_name(trigger))) |
           json_object_set_new(o, "trigger_args", args);
}

json_t *chime_job_to_json(const struct chime_job *job)
{
    const struct chime_zone *zone =
            job->trigger ? chime_trigger_zone(job->trigger) : chime_zone_utc();
    json_t *o = json_object();
    if (!o)
        return NULL;
    int rc = json_object_set_new(o, "id", opt_str(job->id));
    rc |= json_object_set_new(o, "name", opt_str(job->name));
    rc |= json_object_set_new(o, "func", opt_str(job->func));
    rc |= json_object_set_new(o, "args", text_json(job->args, json_array));
    rc |= json_object_set_new(o, "kwargs", text_json(job->kwargs, json_object));
    rc |= set_trigger(o, job->trigger);
    rc |= json_object_set_new(o, "next_run_time",
                              time_json(job->paused ? CHIME_UTIME_NONE : job->next_run, zone));
    rc |= json_object_set_new(o, "paused", json_boolean(job->paused));
    rc |= json_object_set_new(o, "jobstore", opt_str(job->jobstore ? job->jobstore : "default"));
    rc |= set_policy(o, &job->policy);
    if (job->broken)
        rc |= json_object_set_new(o, "broken", json_string(job->broken));
    rc |= json_object_set_new(o, "created_at", time_json(job->created_at, chime_zone_utc()));
    rc |= json_object_set_new(o, "updated_at", time_json(job->updated_at, chime_zone_utc()));
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *chime_job_to_stored(const struct chime_job *job)
{
    json_t *o = chime_job_to_json(job);
    if (!o)
        return NULL;
    json_t *next = job->next_run == CHIME_UTIME_NONE ? json_null() : json_integer(job->next_run);
    int rc = json_object_set_new(o, "next_run_us", next);
    rc |= json_object_set_new(o, "broken", opt_str(job->broken));
    rc |= json_object_set_new(o, "version", json_integer(job->version));
    rc |= json_object_set_new(o, "created_at_us", json_integer(job->created_at));
    rc |= json_object_set_new(o, "updated_at_us", json_integer(job->updated_at));
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* An optional integer member: absent or null -> dflt. */
static int opt_int(const json_t *obj, const char *key, int64_t dflt, int64_t *out,
                   struct chime_diag *diag)
{
    const json_t *v = json_object_get(obj, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return chime_diag_set(diag, CHIME_EINVAL, key, "%s must be an integer", key);
    *out = json_integer_value(v);
    return 0;
}

/* next_run_us, paused, version, created_at_us, updated_at_us. */
static int read_state(const json_t *stored, struct chime_job *job, struct chime_diag *diag)
{
    const json_t *paused = json_object_get(stored, "paused");
    if (paused && !json_is_boolean(paused))
        return chime_diag_set(diag, CHIME_EINVAL, "paused", "paused must be true or false");
    job->paused = json_is_true(paused);
    int rc = opt_int(stored, "next_run_us", CHIME_UTIME_NONE, &job->next_run, diag);
    if (rc == 0)
        rc = opt_int(stored, "version", 1, &job->version, diag);
    if (rc == 0)
        rc = opt_int(stored, "created_at_us", 0, &job->created_at, diag);
    if (rc == 0)
        rc = opt_int(stored, "updated_at_us", job->created_at, &job->updated_at, diag);
    if (rc == 0 && job->paused)
        job->next_run = CHIME_UTIME_NONE;
    return rc;
}

/* args (array) and kwargs (object) into the job's texts. */
static int read_call(const json_t *stored, struct chime_job *job, struct chime_diag *diag)
{
    const json_t *args = json_object_get(stored, "args");
    const json_t *kwargs = json_object_get(stored, "kwargs");
    if (json_is_null(args))
        args = NULL;
    if (json_is_null(kwargs))
        kwargs = NULL;
    if (args && !json_is_array(args))
        return chime_diag_set(diag, CHIME_EINVAL, "args", "args must be a JSON array");
    if (kwargs && !json_is_object(kwargs))
        return chime_diag_set(diag, CHIME_EINVAL, "kwargs", "kwargs must be a JSON object");
    job->args = chime__json_text(args, "[]");
    job->kwargs = chime__json_text(kwargs, "{}");
    return job->args && job->kwargs ? 0 : CHIME_ENOMEM;
}

/* id, name, func, jobstore. */
static int read_names(const json_t *stored, struct chime_job *job, struct chime_diag *diag)
{
    const char *id, *name, *func, *jobstore;
    int rc = chime__job_req_string(stored, "id", &id, diag);
    if (rc == 0)
        rc = chime__job_req_string(stored, "name", &name, diag);
    if (rc == 0)
        rc = chime__job_req_string(stored, "func", &func, diag);
    if (rc == 0)
        rc = chime__job_opt_string(stored, "jobstore", &jobstore, diag);
    if (rc == 0)
        rc = chime__job_check_id_name(id, name, diag);
    if (rc)
        return rc;
    job->id = chime__strdup(id);
    job->name = chime__strdup(name);
    job->func = chime__strdup(func);
    job->jobstore = chime__strdup(jobstore ? jobstore : "default");
    return job->id && job->name && job->func && job->jobstore ? 0 : CHIME_ENOMEM;
}

/*
 * Re-resolves the function and re-binds the arguments; either failing marks
 * the job broken with the reason (the job is kept, its runs fail with it).
 */
static int resolve(struct chime_job *job)
{
    struct chime_diag why;
    const struct chime_func *fn;
    chime_diag_clear(&why);
    int rc = chime_registry_find(job->func, &fn, &why);
    if (rc == 0) {
        json_t *args = json_loads(job->args, 0, NULL);
        json_t *kwargs = json_loads(job->kwargs, 0, NULL);
        rc = args && kwargs ? chime_registry_bind(fn, args, kwargs, NULL, &why) : CHIME_ENOMEM;
        json_decref(args);
        json_decref(kwargs);
    }
    if (rc == CHIME_ENOMEM)
        return rc;
    if (rc == 0)
        return 0;
    job->broken = chime__strdup(why.message[0] ? why.message : chime_strerror(rc));
    return job->broken ? 0 : CHIME_ENOMEM;
}

/*
 * The trigger, parsed again from its stored (normalized) args as of the job's
 * creation, the moment the args were first accepted: a trigger whose end has
 * passed since still loads.
 */
static int read_trigger(const json_t *stored, const struct chime_job_defaults *defaults,
                        struct chime_job *job, struct chime_diag *diag)
{
    const char *kind;
    int rc = chime__job_req_string(stored, "trigger", &kind, diag);
    if (rc)
        return rc;
    const json_t *args = json_object_get(stored, "trigger_args");
    if (args && !json_is_object(args) && !json_is_null(args))
        return chime_diag_set(diag, CHIME_EINVAL, "trigger_args",
                              "trigger_args must be a JSON object");
    return chime_trigger_parse(kind, json_is_null(args) ? NULL : args,
                               chime__job_default_zone(defaults), job->created_at, &job->trigger,
                               diag);
}

int chime_job_from_stored(const json_t *stored, const struct chime_job_defaults *defaults,
                          struct chime_job *out, struct chime_diag *diag)
{
    chime_job_init(out);
    if (!json_is_object(stored))
        return chime_diag_set(diag, CHIME_EINVAL, "", "a stored job must be a JSON object");
    int rc = read_names(stored, out, diag);
    if (rc == 0)
        rc = read_call(stored, out, diag);
    if (rc == 0)
        rc = read_state(stored, out, diag);
    if (rc == 0)
        rc = chime__job_read_policy(stored, &out->policy, diag);
    if (rc == 0)
        rc = read_trigger(stored, defaults, out, diag);
    if (rc == 0)
        rc = resolve(out);
    if (rc == CHIME_ENOMEM)
        chime_diag_set(diag, rc, "", "out of memory loading job");
    if (rc)
        chime_job_release(out);
    return rc;
}
