/*
 * A job's JSON forms: the API request body (validated field by field, each
 * error naming its field), the API view, and the stored form the job stores
 * persist and load back. Loading never drops a job whose function has gone
 * away: it comes back marked broken (DESIGN.md "Run semantics").
 */
#include "job/job.h"

#include <string.h>

#include "base/base.h"
#include "job/job_internal.h"
#include "job/registry.h"

#define NAME_MAX_LEN 1024 /* bytes; a name is a label, not a document */
#define GRACE_MAX_S  INT32_MAX

/* The fields of a request body (all borrowed from the body). */
struct request {
    const char *func;
    const char *kind;
    const char *name;
    const char *id;
    const char *jobstore;
    const json_t *trigger_args;
    const json_t *args;
    const json_t *kwargs;
    const char *next_run_text; /* NULL: compute from the trigger (unless paused) */
    bool paused;               /* "next_run_time": null */
    bool replace;
    struct chime_job_policy policy;
};

const struct chime_zone *chime__job_default_zone(const struct chime_job_defaults *d)
{
    return d && d->zone ? d->zone : chime_zone_local();
}

/* A member that is absent or null reads as NULL. */
static const json_t *member(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

int chime__job_opt_string(const json_t *obj, const char *key, const char **out,
                          struct chime_diag *diag)
{
    const json_t *v = member(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return chime_diag_set(diag, CHIME_EINVAL, key, "%s must be a string", key);
    *out = json_string_value(v);
    return 0;
}

int chime__job_req_string(const json_t *obj, const char *key, const char **out,
                          struct chime_diag *diag)
{
    int rc = chime__job_opt_string(obj, key, out, diag);
    if (rc == 0 && !*out)
        rc = chime_diag_set(diag, CHIME_EINVAL, key, "%s is required", key);
    return rc;
}

static int opt_bool(const json_t *obj, const char *key, int *out, struct chime_diag *diag)
{
    const json_t *v = member(obj, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return chime_diag_set(diag, CHIME_EINVAL, key, "%s must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

static bool id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > CHIME_JOB_ID_MAX)
        return false;
    return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

int chime__job_check_id_name(const char *id, const char *name, struct chime_diag *diag)
{
    if (id && !id_valid(id))
        return chime_diag_set(diag, CHIME_EINVAL, "id",
                              "id must be 1 to %d characters of A-Z a-z 0-9 . _ : -",
                              CHIME_JOB_ID_MAX);
    if (name && (name[0] == '\0' || strlen(name) > NAME_MAX_LEN))
        return chime_diag_set(diag, CHIME_EINVAL, "name",
                              "name must be a non-empty string of at most %d bytes", NAME_MAX_LEN);
    return 0;
}

/*
 * The run policies, as the request spells them: absent = the scheduler's
 * default; misfire_grace_time null = unlimited (APS-COMPAT: None), a positive
 * integer otherwise; coalesce a bool; max_instances an integer >= 1; then
 * the run options (job_options.c).
 */
int chime__job_read_policy(const json_t *obj, struct chime_job_policy *p, struct chime_diag *diag)
{
    p->coalesce = -1;
    p->grace_s = CHIME_GRACE_DEFAULT;
    p->max_instances = -1;
    int rc = opt_bool(obj, "coalesce", &p->coalesce, diag);
    if (rc)
        return rc;
    const json_t *g = json_object_get(obj, "misfire_grace_time");
    if (json_is_null(g))
        p->grace_s = CHIME_GRACE_UNLIMITED;
    else if (g && (!json_is_integer(g) || json_integer_value(g) < 1 ||
                   json_integer_value(g) > GRACE_MAX_S))
        return chime_diag_set(diag, CHIME_EINVAL, "misfire_grace_time",
                              "misfire_grace_time must be a positive integer (seconds) or null");
    else if (g)
        p->grace_s = json_integer_value(g);
    const json_t *m = member(obj, "max_instances");
    if (m &&
        (!json_is_integer(m) || json_integer_value(m) < 1 || json_integer_value(m) > INT32_MAX))
        return chime_diag_set(diag, CHIME_EINVAL, "max_instances",
                              "max_instances must be an integer >= 1");
    if (m)
        p->max_instances = (int)json_integer_value(m);
    return chime__job_read_options(obj, p, diag);
}

/* func, trigger, name, id, jobstore: the string fields. */
static int read_strings(const json_t *body, struct request *r, struct chime_diag *diag)
{
    int rc = chime__job_req_string(body, "func", &r->func, diag);
    if (rc == 0)
        rc = chime__job_req_string(body, "trigger", &r->kind, diag);
    if (rc == 0 && strcmp(r->kind, "cron") && strcmp(r->kind, "interval") &&
        strcmp(r->kind, "date"))
        rc = chime_diag_set(diag, CHIME_EINVAL, "trigger",
                            "trigger must be one of 'cron', 'interval', 'date', not '%.64s'",
                            r->kind);
    if (rc == 0)
        rc = chime__job_opt_string(body, "name", &r->name, diag);
    if (rc == 0)
        rc = chime__job_opt_string(body, "id", &r->id, diag);
    if (rc == 0)
        rc = chime__job_check_id_name(r->id, r->name, diag);
    if (rc == 0)
        rc = chime__job_opt_string(body, "jobstore", &r->jobstore, diag);
    if (rc == 0 && r->jobstore && !chime_jobstore_known(r->jobstore))
        rc = chime_diag_set(diag, CHIME_EINVAL, "jobstore", "unknown jobstore '%.64s'",
                            r->jobstore);
    return rc;
}

/* trigger_args, args, kwargs, next_run_time, replace_existing. */
static int read_values(const json_t *body, struct request *r, struct chime_diag *diag)
{
    r->trigger_args = member(body, "trigger_args");
    if (r->trigger_args && !json_is_object(r->trigger_args))
        return chime_diag_set(diag, CHIME_EINVAL, "trigger_args",
                              "trigger_args must be a JSON object");
    r->args = member(body, "args");
    if (r->args && !json_is_array(r->args))
        return chime_diag_set(diag, CHIME_EINVAL, "args", "args must be a JSON array");
    r->kwargs = member(body, "kwargs");
    if (r->kwargs && !json_is_object(r->kwargs))
        return chime_diag_set(diag, CHIME_EINVAL, "kwargs", "kwargs must be a JSON object");
    const json_t *nrt = json_object_get(body, "next_run_time");
    r->paused = json_is_null(nrt);
    if (nrt && !r->paused && !json_is_string(nrt))
        return chime_diag_set(diag, CHIME_EINVAL, "next_run_time",
                              "next_run_time must be an RFC 3339 timestamp or null");
    r->next_run_text = json_string_value(nrt);
    int replace = 0;
    int rc = opt_bool(body, "replace_existing", &replace, diag);
    r->replace = replace != 0;
    return rc;
}

/* The text of a JSON value in a chime__malloc'd string; NULL on out of memory. */
char *chime__json_text(const json_t *v, const char *empty)
{
    if (!v)
        return chime__strdup(empty);
    size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    char *s = n ? chime__malloc(n + 1) : NULL;
    if (!s)
        return NULL;
    json_dumpb(v, s, n, JSON_COMPACT | JSON_ENCODE_ANY);
    s[n] = '\0';
    return s;
}

/* APS-COMPAT: the default name is the callable's name, the part after ':'. */
static const char *name_or_default(const struct request *r)
{
    return r->name ? r->name : strchr(r->func, ':') + 1;
}

static int fill_strings(struct chime_job *job, const struct request *r)
{
    char id[33];
    if (!r->id)
        chime_job_new_id(id);
    job->id = chime__strdup(r->id ? r->id : id);
    job->name = chime__strdup(name_or_default(r));
    job->func = chime__strdup(r->func);
    job->args = chime__json_text(r->args, "[]");
    job->kwargs = chime__json_text(r->kwargs, "{}");
    job->jobstore = chime__strdup(r->jobstore ? r->jobstore : "default");
    if (!job->id || !job->name || !job->func || !job->args || !job->kwargs || !job->jobstore)
        return CHIME_ENOMEM;
    return 0;
}

static int set_next_run(struct chime_job *job, const struct request *r, chime_utime now,
                        struct chime_diag *diag)
{
    job->paused = r->paused;
    if (r->paused)
        return 0;
    if (r->next_run_text)
        return chime_time_parse(r->next_run_text, chime_trigger_zone(job->trigger), "next_run_time",
                                &job->next_run, NULL, diag);
    job->next_run = chime_trigger_next(job->trigger, CHIME_UTIME_NONE, now);
    if (job->next_run == CHIME_UTIME_NONE)
        return chime_diag_set(diag, CHIME_ENEVER, "trigger", "the trigger can never fire");
    return 0;
}

int chime_job_from_request(const json_t *body, const struct chime_job_defaults *defaults,
                           chime_utime now, struct chime_job *out, bool *out_replace,
                           struct chime_diag *diag)
{
    struct request r;
    const struct chime_func *fn;
    memset(&r, 0, sizeof(r));
    chime_job_init(out);
    if (!json_is_object(body))
        return chime_diag_set(diag, CHIME_EINVAL, "", "the request body must be a JSON object");
    int rc = read_strings(body, &r, diag);
    if (rc == 0)
        rc = read_values(body, &r, diag);
    if (rc == 0)
        rc = chime__job_read_policy(body, &r.policy, diag);
    if (rc == 0)
        rc = chime_registry_find(r.func, &fn, diag);
    if (rc == 0)
        rc = chime_registry_bind(fn, r.args, r.kwargs, NULL, diag);
    if (rc == 0)
        rc = chime_trigger_parse(r.kind, r.trigger_args, chime__job_default_zone(defaults), now,
                                 &out->trigger, diag);
    if (rc == 0)
        rc = set_next_run(out, &r, now, diag);
    if (rc == 0 && (rc = fill_strings(out, &r)) != 0)
        chime_diag_set(diag, rc, "", "out of memory");
    if (rc)
        goto out_release;
    out->policy = r.policy;
    out->version = 1;
    out->created_at = out->updated_at = now;
    if (out_replace)
        *out_replace = r.replace;
    return 0;
out_release:
    chime_job_release(out);
    return rc;
}
