/*
 * The job value: lifecycle (init, release, deep copy), random ids, the
 * effective run policies (a job's own, else the scheduler's defaults) and
 * field-by-field equality. JSON forms live in job_json.c.
 */
#include "job/job.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/base.h"
#include "job/job_internal.h"

void chime_job_init(struct chime_job *job)
{
    memset(job, 0, sizeof(*job));
    job->policy.coalesce = -1;
    job->policy.grace_s = CHIME_GRACE_DEFAULT;
    job->policy.max_instances = -1;
    chime_job_policy_options_init(&job->policy);
    job->next_run = CHIME_UTIME_NONE;
}

void chime_job_release(struct chime_job *job)
{
    if (!job)
        return;
    chime__free(job->id);
    chime__free(job->name);
    chime__free(job->func);
    chime__free(job->args);
    chime__free(job->kwargs);
    chime__free(job->jobstore);
    chime__free(job->broken);
    chime_trigger_unref(job->trigger);
    chime_job_init(job);
}

static int dup_field(char **dst, const char *src)
{
    *dst = chime__strdup(src);
    return (src && !*dst) ? CHIME_ENOMEM : 0;
}

int chime_job_copy(struct chime_job *dst, const struct chime_job *src)
{
    *dst = *src;
    dst->id = dst->name = dst->func = dst->args = dst->kwargs = NULL;
    dst->jobstore = dst->broken = NULL;
    dst->trigger = src->trigger ? chime_trigger_ref(src->trigger) : NULL;
    if (dup_field(&dst->id, src->id) || dup_field(&dst->name, src->name) ||
        dup_field(&dst->func, src->func) || dup_field(&dst->args, src->args) ||
        dup_field(&dst->kwargs, src->kwargs) || dup_field(&dst->jobstore, src->jobstore) ||
        dup_field(&dst->broken, src->broken)) {
        chime_job_release(dst);
        return CHIME_ENOMEM;
    }
    return 0;
}

/* Fallback when getrandom() is unavailable: splitmix64 over the clock and a counter. */
static void fallback_random(unsigned char *buf, size_t n)
{
    static atomic_uint_fast64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&ts;
    x += atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        buf[i] = (unsigned char)(z ^ (z >> 31));
    }
}

void chime_job_new_id(char buf[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fallback_random(raw + got, sizeof(raw) - got);
            break;
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(raw); i++) {
        buf[2 * i] = hex[raw[i] >> 4];
        buf[2 * i + 1] = hex[raw[i] & 15];
    }
    buf[32] = '\0';
}

bool chime_job_coalesce(const struct chime_job *job, const struct chime_job_defaults *d)
{
    if (job->policy.coalesce >= 0)
        return job->policy.coalesce != 0;
    return d ? d->coalesce : true;
}

int64_t chime_job_grace_s(const struct chime_job *job, const struct chime_job_defaults *d)
{
    if (job->policy.grace_s != CHIME_GRACE_DEFAULT)
        return job->policy.grace_s;
    return d ? d->grace_s : 60;
}

int chime_job_max_instances(const struct chime_job *job, const struct chime_job_defaults *d)
{
    if (job->policy.max_instances >= 1)
        return job->policy.max_instances;
    return d && d->max_instances >= 1 ? d->max_instances : 1;
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Compares two JSON texts as values (key order does not matter). */
static bool json_text_eq(const char *a, const char *b)
{
    if (str_eq(a, b))
        return true;
    json_t *ja = a ? json_loads(a, JSON_DECODE_ANY, NULL) : NULL;
    json_t *jb = b ? json_loads(b, JSON_DECODE_ANY, NULL) : NULL;
    bool eq = ja && jb && json_equal(ja, jb);
    json_decref(ja);
    json_decref(jb);
    return eq;
}

static bool trigger_eq(const struct chime_trigger *a, const struct chime_trigger *b)
{
    if (a == b)
        return true;
    if (!a || !b || chime_trigger_kind(a) != chime_trigger_kind(b))
        return false;
    json_t *ja = chime_trigger_args_json(a);
    json_t *jb = chime_trigger_args_json(b);
    bool eq = ja && jb && json_equal(ja, jb);
    json_decref(ja);
    json_decref(jb);
    return eq;
}

bool chime_job_equal(const struct chime_job *a, const struct chime_job *b)
{
    return str_eq(a->id, b->id) && str_eq(a->name, b->name) && str_eq(a->func, b->func) &&
           json_text_eq(a->args, b->args) && json_text_eq(a->kwargs, b->kwargs) &&
           str_eq(a->jobstore, b->jobstore) && str_eq(a->broken, b->broken) &&
           a->policy.coalesce == b->policy.coalesce && a->policy.grace_s == b->policy.grace_s &&
           a->policy.max_instances == b->policy.max_instances &&
           chime__job_options_equal(&a->policy, &b->policy) && a->next_run == b->next_run &&
           a->paused == b->paused && a->version == b->version && a->created_at == b->created_at &&
           a->updated_at == b->updated_at && trigger_eq(a->trigger, b->trigger);
}
