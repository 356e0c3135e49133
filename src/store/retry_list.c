/*
 * Retries waiting to start, kept in memory by the index-backed stores (the
 * SQLite store also persists them in its retries table), and the claim of a
 * due retry, which every store builds the same way: the retry is the same
 * scheduled time's next attempt, checked against the misfire grace (from
 * its due time) and max_instances like any fire.
 */
#include "store/retry_list.h"

#include <string.h>

#include "base/base.h"

#define REASON_RETRY_LATE  "misfire_grace_time exceeded (retry)"
#define REASON_QUEUED_LATE "misfire_grace_time exceeded (queued)"

void chime__retry_list_release(struct chime__retry_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        chime__free(list->items[i].job_id);
    chime__free(list->items);
    memset(list, 0, sizeof(*list));
}

int chime__retry_list_add(struct chime__retry_list *list, const struct chime__retry *retry)
{
    char *id = chime__strdup(retry->job_id);
    if (!id ||
        chime__grow((void **)&list->items, &list->cap, list->n + 1, sizeof(list->items[0])) < 0) {
        chime__free(id);
        return CHIME_ENOMEM;
    }
    size_t at = list->n;
    while (at > 0 && list->items[at - 1].due > retry->due)
        at--;
    memmove(list->items + at + 1, list->items + at, (list->n - at) * sizeof(list->items[0]));
    list->items[at] = *retry;
    list->items[at].job_id = id;
    list->n++;
    return 0;
}

/* A waiting fire of a paused job waits on: nothing of a paused job starts. */
static bool job_paused(struct chime__index *idx, const char *job_id)
{
    const struct chime__index_entry *e = chime__index_find(idx, job_id);
    return e && e->paused;
}

size_t chime__retry_list_due(const struct chime__retry_list *list, struct chime__index *idx,
                             chime_utime now, size_t start)
{
    for (size_t i = start; i < list->n && list->items[i].due <= now; i++) {
        if (!job_paused(idx, list->items[i].job_id))
            return i;
    }
    return list->n;
}

chime_utime chime__retry_list_next_due(const struct chime__retry_list *list,
                                       struct chime__index *idx)
{
    for (size_t i = 0; i < list->n; i++) {
        if (!job_paused(idx, list->items[i].job_id))
            return list->items[i].due;
    }
    return CHIME_UTIME_NONE;
}

void chime__retry_list_take(struct chime__retry_list *list, size_t i, struct chime__retry *out)
{
    *out = list->items[i];
    list->n--;
    memmove(list->items + i, list->items + i + 1, (list->n - i) * sizeof(list->items[0]));
}

size_t chime__retry_list_count_job(const struct chime__retry_list *list, const char *job_id)
{
    size_t n = 0;
    for (size_t i = 0; i < list->n; i++)
        n += strcmp(list->items[i].job_id, job_id) == 0;
    return n;
}

size_t chime__retry_list_times_of_job(const struct chime__retry_list *list, const char *job_id,
                                      chime_utime *times, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < list->n && n < max; i++) {
        if (strcmp(list->items[i].job_id, job_id) == 0)
            times[n++] = list->items[i].scheduled;
    }
    return n;
}

void chime__retry_list_drop_one(struct chime__retry_list *list, const char *job_id,
                                chime_utime scheduled)
{
    for (size_t i = 0; i < list->n; i++) {
        if (list->items[i].scheduled == scheduled && strcmp(list->items[i].job_id, job_id) == 0) {
            struct chime__retry gone;
            chime__retry_list_take(list, i, &gone);
            chime__free(gone.job_id);
            return;
        }
    }
}

size_t chime__queue_bound(const struct chime_job *job, const struct chime_job_defaults *defaults)
{
    if (job->policy.overlap == CHIME_OVERLAP_REPLACE)
        return 1;
    return chime_job_coalesce(job, defaults) ? 1 : CHIME_QUEUE_MAX;
}

int chime__batch_add_replace(struct chime_claim_batch *batch, const char *job_id,
                             chime_utime scheduled)
{
    char *id = chime__strdup(job_id);
    if (!id || chime__grow((void **)&batch->replaces, &batch->cap_replaces, batch->n_replaces + 1,
                           sizeof(batch->replaces[0])) < 0) {
        chime__free(id);
        return CHIME_ENOMEM;
    }
    batch->replaces[batch->n_replaces++] = (struct chime_replace){ id, scheduled };
    return 0;
}

static bool skipped_at_max(const struct chime_fire *f)
{
    return f->status == CHIME_RUN_SKIPPED && f->reason &&
           strcmp(f->reason, CHIME_FIRE_REASON_MAX_INST) == 0;
}

/* FIFO queue (no coalesce): the fires skipped at max_instances wait while there is room. */
static size_t take_in_order(size_t bound, size_t n_waiting, struct chime_fire_plan *plan,
                            chime_utime *queued)
{
    size_t taken = 0, kept = 0;
    for (size_t i = 0; i < plan->n_fires; i++) {
        struct chime_fire *f = &plan->fires[i];
        bool skipped = skipped_at_max(f);
        if (skipped && n_waiting + taken < bound) {
            queued[taken++] = f->scheduled;
            continue;
        }
        if (skipped)
            f->reason = CHIME_FIRE_REASON_QUEUE_FULL;
        plan->fires[kept++] = *f;
    }
    plan->n_fires = kept;
    return taken;
}

/* Room in plan->fires for n more fires. 0 or CHIME_ENOMEM. */
static int plan_reserve(struct chime_fire_plan *plan, size_t n)
{
    if (n == 0)
        return 0;
    struct chime_fire *fires =
            chime__realloc(plan->fires, (plan->n_fires + n) * sizeof(*plan->fires));
    if (!fires)
        return CHIME_ENOMEM;
    plan->fires = fires;
    return 0;
}

/* Inserts a MISSED (coalesced) fire at t into plan (room reserved), oldest first. */
static void plan_insert_coalesced(struct chime_fire_plan *plan, chime_utime t)
{
    struct chime_fire *fires = plan->fires;
    size_t at = plan->n_fires;
    while (at > 0 && fires[at - 1].scheduled > t)
        at--;
    memmove(fires + at + 1, fires + at, (plan->n_fires - at) * sizeof(*fires));
    fires[at] = (struct chime_fire){ t, CHIME_RUN_MISSED, CHIME_FIRE_REASON_COALESCED };
    plan->n_fires++;
}

/* Coalesced queue: the newest fire skipped at max_instances waits; the plan's older
 * skipped fires and the fires that were waiting are folded into it (MISSED). */
static int take_newest(const chime_utime *waiting, size_t n_waiting, struct chime_fire_plan *plan,
                       chime_utime *queued, size_t *n_queued, size_t *n_displaced)
{
    size_t newest = plan->n_fires;
    for (size_t i = 0; i < plan->n_fires; i++) {
        if (skipped_at_max(&plan->fires[i]))
            newest = i;
    }
    if (newest == plan->n_fires)
        return 0; /* nothing waits newly: the waiting fire stays */
    if (plan_reserve(plan, n_waiting) < 0)
        return CHIME_ENOMEM;
    size_t kept = 0;
    for (size_t i = 0; i < plan->n_fires; i++) {
        struct chime_fire f = plan->fires[i];
        if (i == newest) {
            queued[(*n_queued)++] = f.scheduled;
            continue;
        }
        if (skipped_at_max(&f))
            f = (struct chime_fire){ f.scheduled, CHIME_RUN_MISSED, CHIME_FIRE_REASON_COALESCED };
        plan->fires[kept++] = f;
    }
    plan->n_fires = kept;
    for (size_t k = 0; k < n_waiting; k++)
        plan_insert_coalesced(plan, waiting[k]);
    *n_displaced = n_waiting;
    return 0;
}

int chime__plan_take_queued(const struct chime_job *job, const struct chime_job_defaults *defaults,
                            const chime_utime *waiting, size_t n_waiting,
                            struct chime_fire_plan *plan, chime_utime *queued, size_t *n_queued,
                            size_t *n_displaced)
{
    *n_queued = 0;
    *n_displaced = 0;
    if (job->policy.overlap != CHIME_OVERLAP_QUEUE && job->policy.overlap != CHIME_OVERLAP_REPLACE)
        return 0;
    if (chime_job_coalesce(job, defaults))
        return take_newest(waiting, n_waiting, plan, queued, n_queued, n_displaced);
    *n_queued = take_in_order(chime__queue_bound(job, defaults), n_waiting, plan, queued);
    return 0;
}

chime_utime chime__queued_expiry(const struct chime_job *job,
                                 const struct chime_job_defaults *defaults, chime_utime t)
{
    int64_t grace_s = chime_job_grace_s(job, defaults);
    return grace_s >= 0 ? t + grace_s * CHIME_USEC_PER_SEC : CHIME_UTIME_NONE;
}

void chime__retry_list_drop_job(struct chime__retry_list *list, const char *job_id)
{
    size_t kept = 0;
    for (size_t i = 0; i < list->n; i++) {
        if (strcmp(list->items[i].job_id, job_id) == 0) {
            chime__free(list->items[i].job_id);
            continue;
        }
        list->items[kept++] = list->items[i];
    }
    list->n = kept;
}

struct chime__retry chime__retry_of_run(const struct chime_run *run)
{
    return (struct chime__retry){ run->job_id, run->scheduled, run->retry_at, run->attempt + 1,
                                  run->cause };
}

int chime__retry_claim_prepare(struct chime_claim_batch *batch, const struct chime_job *job,
                               int n_running, const struct chime__retry *retry,
                               const struct chime_job_defaults *defaults,
                               const struct chime_claim_request *req)
{
    int64_t grace_s = chime_job_grace_s(job, defaults);
    bool late = grace_s >= 0 && req->now - retry->due > grace_s * CHIME_USEC_PER_SEC;
    bool full = n_running >= chime_job_max_instances(job, defaults);
    struct chime_fire fire = { retry->scheduled, CHIME_RUN_RUNNING, NULL };
    if (late)
        fire = (struct chime_fire){ retry->scheduled, CHIME_RUN_MISSED,
                                    retry->attempt == 1 ? REASON_QUEUED_LATE : REASON_RETRY_LATE };
    else if (full)
        fire = (struct chime_fire){ retry->scheduled, CHIME_RUN_SKIPPED,
                                    CHIME_FIRE_REASON_MAX_INST };
    int rc = chime__claim_batch_reserve(batch, 1);
    if (rc == 0)
        rc = chime__claim_fill(&batch->claims[batch->n_claims], job, job->next_run, &fire, req,
                               retry->cause);
    if (rc == 0)
        batch->claims[batch->n_claims].run.attempt = retry->attempt;
    return rc;
}

/* When queued fire q can be claimed: its due time (now) when the job is gone or
 * has a free instance, else once it is past the grace; never while the job is
 * paused (it waits for the resume, then the grace decides). */
static chime_utime queued_due(const struct chime__retry *q, struct chime__index *idx,
                              const struct chime_job_defaults *defaults)
{
    struct chime__index_entry *e = chime__index_find(idx, q->job_id);
    if (!e)
        return q->due;
    if (e->paused)
        return CHIME_UTIME_NONE;
    struct chime_job view;
    chime__index_entry_view(e, &view);
    if (e->n_running < chime_job_max_instances(&view, defaults))
        return q->due;
    chime_utime expiry = chime__queued_expiry(&view, defaults, q->due);
    return expiry == CHIME_UTIME_NONE ? CHIME_UTIME_NONE : expiry + 1;
}

size_t chime__queue_ready(const struct chime__retry_list *queue, struct chime__index *idx,
                          const struct chime_job_defaults *defaults, chime_utime now, size_t start)
{
    for (size_t i = start; i < queue->n; i++) {
        chime_utime due = queued_due(&queue->items[i], idx, defaults);
        if (due != CHIME_UTIME_NONE && due <= now)
            return i;
    }
    return queue->n;
}

chime_utime chime__queue_next_due(const struct chime__retry_list *queue, struct chime__index *idx,
                                  const struct chime_job_defaults *defaults)
{
    chime_utime next = CHIME_UTIME_NONE;
    for (size_t i = 0; i < queue->n; i++) {
        chime_utime due = queued_due(&queue->items[i], idx, defaults);
        if (due != CHIME_UTIME_NONE && (next == CHIME_UTIME_NONE || due < next))
            next = due;
    }
    return next;
}
