/*
 * The fire rules (DESIGN.md "Run semantics", APScheduler 3's _process_jobs
 * and Job._get_run_times), as one pure function the stores call while they
 * claim a due job. Every due time gets one planned fire: RUNNING (to start),
 * MISSED (older than the misfire grace, or folded away by coalesce) or
 * SKIPPED (max_instances). The work is bounded however long the job was
 * overdue: at most CHIME_FIRE_MAX_TIMES / 2 times are enumerated beyond the
 * grace window and as many inside it; each overflow is one record standing
 * for the times it hides, and the trigger is asked directly for the first
 * time past the gap. docs/semantics.md has the rules with examples.
 */
#include "job/fire.h"

#include "base/base.h"

#define PHASE_BUDGET (CHIME_FIRE_MAX_TIMES / 2)

struct plan_builder {
    struct chime_fire *fires;
    size_t n;
    size_t cap;
};

static int push(struct plan_builder *b, chime_utime t, enum chime_run_status status,
                const char *reason)
{
    if (chime__grow((void **)&b->fires, &b->cap, b->n + 1, sizeof(*b->fires)))
        return CHIME_ENOMEM;
    b->fires[b->n++] = (struct chime_fire){ t, status, reason };
    return 0;
}

/* The start of the grace window: times before it are missed. INT64_MIN when unlimited. */
static chime_utime window_start(chime_utime now, int64_t grace_s)
{
    if (grace_s < 0 || grace_s >= INT64_MAX / CHIME_USEC_PER_SEC)
        return INT64_MIN;
    int64_t grace_us = grace_s * CHIME_USEC_PER_SEC;
    return now < INT64_MIN + 1 + grace_us ? INT64_MIN + 1 : now - grace_us;
}

static bool due(chime_utime t, chime_utime now)
{
    return t != CHIME_UTIME_NONE && t <= now;
}

/*
 * The first fire time at or after from that is strictly after last: the jump
 * over a gap of times that one record stands for. A trigger asked with
 * prev = NONE answers the first fire at or after its "now" (APScheduler).
 */
static chime_utime skip_to(const struct chime_trigger *trigger, chime_utime last, chime_utime from,
                           chime_utime now)
{
    chime_utime u = chime_trigger_next(trigger, CHIME_UTIME_NONE, from);
    for (int i = 0; i < 16 && u != CHIME_UTIME_NONE && u <= last; i++)
        u = chime_trigger_next(trigger, u, now);
    if (u != CHIME_UTIME_NONE && u <= last)
        u = chime_trigger_next(trigger, last, now);
    return u;
}

/* Times older than the grace window: all missed; returns the first time not handled. */
static int plan_missed(const struct chime_job *job, chime_utime now, chime_utime start,
                       struct plan_builder *b, chime_utime *t)
{
    for (int i = 0; i < PHASE_BUDGET && due(*t, now) && *t < start; i++) {
        if (push(b, *t, CHIME_RUN_MISSED, CHIME_FIRE_REASON_MISFIRE))
            return CHIME_ENOMEM;
        *t = chime_trigger_next(job->trigger, *t, now);
    }
    if (!due(*t, now) || *t >= start)
        return 0;
    if (push(b, *t, CHIME_RUN_MISSED, CHIME_FIRE_REASON_CAPPED))
        return CHIME_ENOMEM;
    *t = skip_to(job->trigger, *t, start, now);
    return 0;
}

/* Times inside the grace window: candidates to run (statuses decided later). */
static int plan_due(const struct chime_job *job, chime_utime now, bool coalesce,
                    struct plan_builder *b, chime_utime *t)
{
    for (int i = 0; i < PHASE_BUDGET && due(*t, now); i++) {
        if (push(b, *t, CHIME_RUN_RUNNING, NULL))
            return CHIME_ENOMEM;
        *t = chime_trigger_next(job->trigger, *t, now);
    }
    if (!due(*t, now))
        return 0;
    /* Overflow: with coalesce this run stands for every later due time (that is what
     * coalescing means); without it, the hidden times are one missed record. */
    if (push(b, *t, coalesce ? CHIME_RUN_RUNNING : CHIME_RUN_MISSED,
             coalesce ? NULL : CHIME_FIRE_REASON_CAPPED))
        return CHIME_ENOMEM;
    *t = skip_to(job->trigger, now, now, now);
    return 0;
}

/*
 * Coalesce keeps the latest candidate. APS-COMPAT: the due times of one plan
 * run back to back in ONE instance (APScheduler submits a job once with the
 * list of its run times), so together they count once against max_instances:
 * all run when an instance is free, all are skipped when none is.
 */
static void decide(struct plan_builder *b, size_t first, bool coalesce, int max_inst, int n_running)
{
    bool room = (n_running > 0 ? n_running : 0) < max_inst;
    size_t last = b->n;
    for (size_t i = b->n; i > first; i--) {
        if (b->fires[i - 1].status == CHIME_RUN_RUNNING) {
            last = i - 1;
            break;
        }
    }
    for (size_t i = first; i < b->n; i++) {
        struct chime_fire *f = &b->fires[i];
        if (f->status != CHIME_RUN_RUNNING)
            continue;
        if (coalesce && i != last) {
            f->status = CHIME_RUN_MISSED;
            f->reason = CHIME_FIRE_REASON_COALESCED;
        } else if (!room) {
            f->status = CHIME_RUN_SKIPPED;
            f->reason = CHIME_FIRE_REASON_MAX_INST;
        }
    }
}

int chime_fire_plan(const struct chime_job *job, const struct chime_job_defaults *defaults,
                    chime_utime now, int n_running, struct chime_fire_plan *out)
{
    struct plan_builder b = { NULL, 0, 0 };
    out->fires = NULL;
    out->n_fires = 0;
    out->next_run = job->next_run;
    if (job->paused || !job->trigger || !due(job->next_run, now))
        return 0;
    bool coalesce = chime_job_coalesce(job, defaults);
    chime_utime t = job->next_run;
    int rc = plan_missed(job, now, window_start(now, chime_job_grace_s(job, defaults)), &b, &t);
    size_t first_due = b.n;
    if (rc == 0)
        rc = plan_due(job, now, coalesce, &b, &t);
    if (rc) {
        chime__free(b.fires);
        return rc;
    }
    decide(&b, first_due, coalesce, chime_job_max_instances(job, defaults), n_running);
    out->fires = b.fires;
    out->n_fires = b.n;
    out->next_run = t;
    return 0;
}

void chime_fire_plan_release(struct chime_fire_plan *plan)
{
    if (!plan)
        return;
    chime__free(plan->fires);
    plan->fires = NULL;
    plan->n_fires = 0;
}
