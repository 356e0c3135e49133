/*
 * Scheduler events: listeners registered with a mask are called, outside
 * every scheduler lock, for job changes and run outcomes, and each event is
 * logged as one line. Listeners are only ever appended (at most 16) and
 * published with a release store of the count, so emitting takes no lock —
 * runs fire at hundreds of thousands per second.
 */
#include <inttypes.h>

#include "base/base.h"
#include "sched/sched_internal.h"
#include "time/tz.h"

const char *chime_sched_event_name(enum chime_sched_event_kind kind)
{
#define EV_NAME(name, bit, text)    \
    if (kind == CHIME_EVENT_##name) \
        return text;
    CHIME_SCHED_EVENT_MAP(EV_NAME)
#undef EV_NAME
    return NULL;
}

int chime_sched_add_listener(struct chime_sched *sched, unsigned mask, chime_sched_listener_fn fn,
                             void *ctx)
{
    int rc = 0;
    pthread_mutex_lock(&sched->mu); /* serializes writers only */
    size_t n = atomic_load_explicit(&sched->n_listeners, memory_order_relaxed);
    if (n == CHIME__SCHED_MAX_LISTENERS) {
        rc = CHIME_ENOMEM;
        goto out_unlock;
    }
    sched->listeners[n] = (struct chime__listener){ mask, fn, ctx };
    atomic_store_explicit(&sched->n_listeners, n + 1, memory_order_release);
out_unlock:
    pthread_mutex_unlock(&sched->mu);
    return rc;
}

bool chime__sched_wants(struct chime_sched *sched, unsigned mask)
{
    size_t n = atomic_load_explicit(&sched->n_listeners, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (sched->listeners[i].mask & mask)
            return true;
    return false;
}

static void log_run(const struct chime_sched_event *ev)
{
    const struct chime_run *run = ev->run;
    const char *what = chime_sched_event_name(ev->kind);
    if (ev->kind == CHIME_EVENT_RUN_STARTED) {
        chime__log(CHIME_LOG_DEBUG, "run %" PRId64 " of job %s started", run->id, ev->job_id);
    } else if (ev->kind == CHIME_EVENT_RUN_SUCCEEDED || ev->kind == CHIME_EVENT_RUN_FAILED) {
        chime__log(CHIME_LOG_INFO,
                   "run %" PRId64 " of job %s %s in %" PRId64 ".%03" PRId64 " ms%s%s", run->id,
                   ev->job_id, chime_run_status_name(run->status), ev->duration_us / 1000,
                   ev->duration_us % 1000, run->error ? ": " : "", run->error ? run->error : "");
    } else {
        char when[CHIME_TIME_FORMAT_MAX];
        chime__log(CHIME_LOG_WARN, "%s: run %" PRId64 " of job %s scheduled %s: %s", what, run->id,
                   ev->job_id, chime_time_format(run->scheduled, chime_zone_utc(), when),
                   run->error ? run->error : "");
    }
}

static void log_event(const struct chime_sched_event *ev)
{
    if (ev->run) {
        log_run(ev);
        return;
    }
    chime__log(CHIME_LOG_INFO, "%s: job %s%s%s", chime_sched_event_name(ev->kind), ev->job_id,
               ev->job && ev->job->name ? " " : "", ev->job && ev->job->name ? ev->job->name : "");
}

void chime__sched_emit(struct chime_sched *sched, enum chime_sched_event_kind kind,
                       const char *job_id, const struct chime_job *job, const struct chime_run *run,
                       int64_t duration_us)
{
    struct chime_sched_event ev = {
        .kind = kind,
        .job_id = job_id,
        .job = job,
        .run = run,
        .duration_us = duration_us,
    };
    log_event(&ev);
    size_t n = atomic_load_explicit(&sched->n_listeners, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (sched->listeners[i].mask & (unsigned)kind)
            sched->listeners[i].fn(&ev, sched->listeners[i].ctx);
}

void chime__sched_emit_final_claim(struct chime_sched *sched, const struct chime_claim *claim)
{
    enum chime_sched_event_kind kind;
    switch (claim->run.status) {
    case CHIME_RUN_MISSED:
        kind = CHIME_EVENT_RUN_MISSED;
        atomic_fetch_add(&sched->n_missed, 1);
        break;
    case CHIME_RUN_SKIPPED:
        kind = CHIME_EVENT_RUN_SKIPPED;
        atomic_fetch_add(&sched->n_skipped, 1);
        break;
    default:
        kind = CHIME_EVENT_RUN_FAILED;
        atomic_fetch_add(&sched->n_failed, 1);
        break;
    }
    chime__sched_emit(sched, kind, claim->job.id, &claim->job, &claim->run, 0);
}
