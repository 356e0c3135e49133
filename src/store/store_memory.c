/*
 * The memory store (memory://): the job index and nothing else, behind one
 * mutex. Run history is kept in a ring of the last runs_kept runs (run id k
 * lives in slot (k - 1) % runs_kept), so the store never grows without bound;
 * a RUNNING run pushed out of the ring still finishes (its job's count of
 * running instances is kept right) but leaves no record.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "store/index.h"
#include "store/retry_list.h"
#include "store/store_internal.h"

struct memory_store {
    struct chime_store base;
    pthread_mutex_t lock;
    struct chime__index idx;
    struct chime_job_defaults defaults;
    struct chime_run *ring;
    size_t ring_cap;
    int64_t next_run_id; /* ids start at 1 */
    struct chime__run_set running;
    struct chime__retry_list retries; /* waiting to start */
    struct chime__retry_list queued;  /* fires of overlap-queue jobs waiting for an instance */
};

static struct memory_store *ms_of(struct chime_store *store)
{
    return (struct memory_store *)store;
}

static void memory_close(struct chime_store *store)
{
    struct memory_store *ms = ms_of(store);
    for (size_t i = 0; i < ms->ring_cap; i++)
        chime_run_release(&ms->ring[i]);
    chime__free(ms->ring);
    chime__index_release(&ms->idx);
    chime__run_set_release(&ms->running);
    chime__retry_list_release(&ms->retries);
    chime__retry_list_release(&ms->queued);
    pthread_mutex_destroy(&ms->lock);
    chime__free(ms);
}

static int memory_put(struct chime_store *store, const struct chime_job *job,
                      enum chime__put_mode mode)
{
    struct memory_store *ms = ms_of(store);
    struct chime__index_entry *repl, *old;
    pthread_mutex_lock(&ms->lock);
    int rc = chime__index_prepare_put(&ms->idx, job, mode, &repl, &old);
    if (rc == 0)
        chime__index_commit_put(&ms->idx, repl, old);
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

static int memory_add_job(struct chime_store *store, const struct chime_job *job, bool replace)
{
    return memory_put(store, job, replace ? CHIME__PUT_REPLACE : CHIME__PUT_ADD);
}

static int memory_update_job(struct chime_store *store, const struct chime_job *job)
{
    return memory_put(store, job, CHIME__PUT_UPDATE);
}

static int memory_remove_job(struct chime_store *store, const char *id)
{
    struct memory_store *ms = ms_of(store);
    pthread_mutex_lock(&ms->lock);
    struct chime__index_entry *e = chime__index_find(&ms->idx, id);
    if (e) {
        chime__index_unlink(&ms->idx, e);
        chime__index_entry_free(&ms->idx, e);
        chime__retry_list_drop_job(&ms->retries, id);
        chime__retry_list_drop_job(&ms->queued, id);
    }
    pthread_mutex_unlock(&ms->lock);
    return e ? 0 : CHIME_ENOENT;
}

static int memory_get_job(struct chime_store *store, const char *id, struct chime_job *out)
{
    struct memory_store *ms = ms_of(store);
    pthread_mutex_lock(&ms->lock);
    struct chime__index_entry *e = chime__index_find(&ms->idx, id);
    int rc = e ? chime__index_entry_copy(e, out) : CHIME_ENOENT;
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

static int memory_list_jobs(struct chime_store *store, const struct chime_job_page *page,
                            chime_job_visit_fn visit, void *ctx)
{
    struct memory_store *ms = ms_of(store);
    pthread_mutex_lock(&ms->lock);
    int rc = chime__index_list(&ms->idx, page, visit, ctx);
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

/* Scheduled jobs are the ones in the heap (unpaused, with a next run). */
static int memory_count_by_state(struct chime_store *store, size_t *out_scheduled,
                                 size_t *out_paused)
{
    struct memory_store *ms = ms_of(store);
    pthread_mutex_lock(&ms->lock);
    *out_scheduled = ms->idx.heap.n;
    *out_paused = ms->idx.n - ms->idx.heap.n;
    pthread_mutex_unlock(&ms->lock);
    return 0;
}

static size_t memory_count_jobs(struct chime_store *store)
{
    struct memory_store *ms = ms_of(store);
    pthread_mutex_lock(&ms->lock);
    size_t n = ms->idx.n;
    pthread_mutex_unlock(&ms->lock);
    return n;
}

static int memory_next_due(struct chime_store *store, chime_utime *out)
{
    struct memory_store *ms = ms_of(store);
    pthread_mutex_lock(&ms->lock);
    struct chime__index_entry *e = chime__index_first(&ms->idx);
    if (e)
        *out = e->next_run;
    pthread_mutex_unlock(&ms->lock);
    return e ? 0 : CHIME_ENOENT;
}

static void ring_put(struct memory_store *ms, struct chime_run *run)
{
    struct chime_run *slot = &ms->ring[(size_t)(run->id - 1) % ms->ring_cap];
    chime_run_release(slot);
    *slot = *run; /* takes ownership */
}

static struct chime_run *ring_find(struct memory_store *ms, int64_t id)
{
    if (id < 1)
        return NULL;
    struct chime_run *slot = &ms->ring[(size_t)(id - 1) % ms->ring_cap];
    return slot->id == id ? slot : NULL;
}

/* Records the claims just prepared at the batch tail: ids, ring copies, counts. */
static int commit_claims(struct memory_store *ms, struct chime__index_entry *e,
                         struct chime_claim_batch *out, size_t n)
{
    if (n == 0)
        return 0;
    struct chime_claim *tail = out->claims + out->n_claims;
    struct chime_run *copies = chime__calloc(n ? n : 1, sizeof(*copies));
    int rc = copies ? chime__run_set_reserve(&ms->running, ms->running.n + n) : CHIME_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        tail[i].run.id = ms->next_run_id + (int64_t)i;
        rc = chime_run_copy(&copies[i], &tail[i].run);
    }
    if (rc < 0) {
        for (size_t i = 0; copies && i < n; i++)
            chime_run_release(&copies[i]);
        chime__free(copies);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        if (copies[i].status == CHIME_RUN_RUNNING) {
            chime__run_set_add(&ms->running, copies[i].id);
            e->n_running++;
        }
        ring_put(ms, &copies[i]);
    }
    chime__free(copies);
    ms->next_run_id += (int64_t)n;
    out->n_claims += n;
    return 0;
}

/* Overlap queue: the plan's fires skipped at max_instances wait instead (bounded; with
 * coalesce the newest waits and displaces the fire that waited, recorded in the plan). */
static int queue_fires(struct memory_store *ms, const struct chime_job *job,
                       struct chime_fire_plan *plan, struct chime_claim_batch *out)
{
    if (job->policy.overlap == CHIME_OVERLAP_SKIP || plan->n_fires == 0)
        return 0;
    chime_utime *times = chime__calloc(plan->n_fires + CHIME_QUEUE_MAX, sizeof(*times));
    if (!times)
        return CHIME_ENOMEM;
    chime_utime *waiting = times + plan->n_fires;
    size_t n_waiting =
            chime__retry_list_times_of_job(&ms->queued, job->id, waiting, CHIME_QUEUE_MAX);
    size_t n = 0, n_displaced = 0;
    int rc = chime__plan_take_queued(job, &ms->defaults, waiting, n_waiting, plan, times, &n,
                                     &n_displaced);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct chime__retry q = { job->id, times[i], times[i], 1, CHIME_CAUSE_SCHEDULE };
        rc = chime__retry_list_add(&ms->queued, &q);
    }
    for (size_t i = 0; rc == 0 && i < n_displaced; i++)
        chime__retry_list_drop_one(&ms->queued, job->id, waiting[i]);
    if (rc == 0 && n > 0 && job->policy.overlap == CHIME_OVERLAP_REPLACE)
        rc = chime__batch_add_replace(out, job->id, times[n - 1]);
    chime__free(times);
    return rc;
}

/* Claims one entry's fires; the entry moves on or (exhausted) is removed. */
static int claim_entry(struct memory_store *ms, struct chime__index_entry *e,
                       const struct chime_claim_request *req, struct chime_claim_batch *out)
{
    struct chime_job view;
    struct chime_fire_plan plan;
    chime__index_entry_view(e, &view);
    int rc = chime_fire_plan(&view, &ms->defaults, req->now, e->n_running, &plan);
    if (rc < 0)
        return rc;
    rc = queue_fires(ms, &view, &plan, out);
    if (rc == 0)
        rc = chime__claim_prepare(out, &view, &plan, req, CHIME_CAUSE_SCHEDULE);
    if (rc == 0) {
        rc = commit_claims(ms, e, out, plan.n_fires);
        if (rc < 0)
            chime__claim_prepare_undo(out, plan.n_fires);
    }
    if (rc == 0 && plan.next_run == CHIME_UTIME_NONE) {
        /* APS-COMPAT: a job with no next fire time is removed; its runs stay. */
        chime__index_unlink(&ms->idx, e);
        chime__index_entry_free(&ms->idx, e);
    } else if (rc == 0) {
        chime__index_set_next_run(&ms->idx, e, plan.next_run);
    }
    chime_fire_plan_release(&plan);
    return rc;
}

static int memory_claim_due(struct chime_store *store, const struct chime_claim_request *req,
                            struct chime_claim_batch *out)
{
    struct memory_store *ms = ms_of(store);
    int rc = 0;
    size_t n_jobs = 0;
    pthread_mutex_lock(&ms->lock);
    size_t most = ms->idx.heap.n; /* each job at most once per claim */
    if (req->limit && req->limit < most)
        most = req->limit;
    while (n_jobs < most) {
        struct chime__index_entry *e = chime__index_first(&ms->idx);
        if (!e || e->next_run > req->now)
            break;
        rc = claim_entry(ms, e, req, out);
        if (rc < 0)
            break;
        n_jobs++;
    }
    pthread_mutex_unlock(&ms->lock);
    /* Claims made before a failure are committed: report them, not the error. */
    return n_jobs ? 0 : rc;
}

static int memory_claim_now(struct chime_store *store, const char *id,
                            const struct chime_claim_request *req, struct chime_claim_batch *out)
{
    struct memory_store *ms = ms_of(store);
    int rc = CHIME_ENOENT;
    pthread_mutex_lock(&ms->lock);
    struct chime__index_entry *e = chime__index_find(&ms->idx, id);
    if (!e)
        goto out_unlock;
    struct chime_job view;
    chime__index_entry_view(e, &view);
    bool full = e->n_running >= chime_job_max_instances(&view, &ms->defaults);
    struct chime_fire fire = { req->now, full ? CHIME_RUN_SKIPPED : CHIME_RUN_RUNNING,
                               full ? CHIME_FIRE_REASON_MAX_INST : NULL };
    struct chime_fire_plan plan = { &fire, 1, e->next_run };
    rc = chime__claim_prepare(out, &view, &plan, req, CHIME_CAUSE_MANUAL);
    if (rc == 0 && (rc = commit_claims(ms, e, out, 1)) < 0)
        chime__claim_prepare_undo(out, 1);
out_unlock:
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

/* Copies the outcome's strings first so a failure changes nothing. */
static int finish_record(struct chime_run *rec, const struct chime_run *run)
{
    char *error = chime__strdup(run->error), *output = chime__strdup(run->output);
    if ((run->error && !error) || (run->output && !output)) {
        chime__free(error);
        chime__free(output);
        return CHIME_ENOMEM;
    }
    chime__free(rec->error);
    chime__free(rec->output);
    rec->error = error;
    rec->output = output;
    rec->status = run->status;
    rec->finished = run->finished;
    rec->exit_code = run->exit_code;
    rec->http_status = run->http_status;
    if (run->started != CHIME_UTIME_NONE)
        rec->started = run->started;
    return 0;
}

/* finish_run with the lock held. */
static int finish_locked(struct memory_store *ms, const struct chime_run *run)
{
    int rc;
    struct chime_run *rec = ring_find(ms, run->id);
    if (rec && (rc = finish_record(rec, run)) < 0)
        return rc;
    if (!chime__run_set_remove(&ms->running, run->id))
        return CHIME_ENOENT; /* not a running run of this store */
    struct chime__index_entry *e = run->job_id ? chime__index_find(&ms->idx, run->job_id) : NULL;
    if (e && e->n_running > 0)
        e->n_running--;
    if (e && run->retry_at != CHIME_UTIME_NONE) {
        struct chime__retry retry = chime__retry_of_run(run);
        return chime__retry_list_add(&ms->retries, &retry);
    }
    return 0;
}

static int memory_finish_run(struct chime_store *store, const struct chime_run *run)
{
    struct memory_store *ms = ms_of(store);
    pthread_mutex_lock(&ms->lock);
    int rc = finish_locked(ms, run);
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

static int memory_finish_runs(struct chime_store *store, const struct chime_run *const *runs,
                              size_t n, int *out_rcs)
{
    struct memory_store *ms = ms_of(store);
    int first = 0;
    pthread_mutex_lock(&ms->lock);
    for (size_t i = 0; i < n; i++) {
        int rc = finish_locked(ms, runs[i]);
        if (out_rcs)
            out_rcs[i] = rc;
        if (rc < 0 && first == 0)
            first = rc;
    }
    pthread_mutex_unlock(&ms->lock);
    return first;
}

static bool run_matches(const struct chime_run *run, const struct chime_run_filter *f)
{
    if (f->before_id && run->id >= f->before_id)
        return false;
    if (f->status >= 0 && (int)run->status != f->status)
        return false;
    return !f->job_id || !strcmp(run->job_id, f->job_id);
}

static int memory_list_runs(struct chime_store *store, const struct chime_run_filter *filter,
                            chime_run_visit_fn visit, void *ctx)
{
    struct memory_store *ms = ms_of(store);
    size_t n = 0;
    pthread_mutex_lock(&ms->lock);
    int64_t oldest = ms->next_run_id - (int64_t)ms->ring_cap;
    for (int64_t id = ms->next_run_id - 1; id >= 1 && id >= oldest; id--) {
        struct chime_run *run = ring_find(ms, id);
        if (!run || !run_matches(run, filter))
            continue;
        if (filter->limit && n >= filter->limit)
            break;
        n++;
        if (visit(run, ctx))
            break;
    }
    pthread_mutex_unlock(&ms->lock);
    return 0;
}

/* Orders run slots by job id, newest first within a job. */
static int cmp_job_newest(const void *a, const void *b)
{
    const struct chime_run *x = *(const struct chime_run *const *)a;
    const struct chime_run *y = *(const struct chime_run *const *)b;
    int c = strcmp(x->job_id, y->job_id);
    if (c)
        return c;
    return x->id > y->id ? -1 : x->id < y->id;
}

static int prune_per_job(struct memory_store *ms, size_t keep)
{
    struct chime_run **runs = chime__malloc(ms->ring_cap * sizeof(*runs));
    if (!runs)
        return CHIME_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < ms->ring_cap; i++) {
        if (ms->ring[i].id)
            runs[n++] = &ms->ring[i];
    }
    qsort(runs, n, sizeof(*runs), cmp_job_newest);
    size_t seen = 0;
    const char *group = NULL; /* the job of the newest run in this group: always kept */
    for (size_t i = 0; i < n; i++) {
        bool same = group && !strcmp(runs[i]->job_id, group);
        seen = same ? seen + 1 : 1;
        if (!same)
            group = runs[i]->job_id;
        if (seen > keep && runs[i]->status != CHIME_RUN_RUNNING) {
            chime_run_release(runs[i]);
            chime_run_init(runs[i]);
        }
    }
    chime__free(runs);
    return 0;
}

static int memory_prune_runs(struct chime_store *store, chime_utime before, size_t keep_per_job)
{
    struct memory_store *ms = ms_of(store);
    pthread_mutex_lock(&ms->lock);
    for (size_t i = 0; i < ms->ring_cap; i++) {
        struct chime_run *run = &ms->ring[i];
        if (run->id && run->status != CHIME_RUN_RUNNING && run->scheduled < before) {
            chime_run_release(run);
            chime_run_init(run);
        }
    }
    int rc = keep_per_job ? prune_per_job(ms, keep_per_job) : 0;
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

/* Claims the queued fires that can start (or are past the grace) by req->now. */
static int claim_queued(struct memory_store *ms, const struct chime_claim_request *req,
                        struct chime_claim_batch *out, size_t *n)
{
    int rc = 0;
    size_t i = 0;
    while (rc == 0 && (!req->limit || *n < req->limit) &&
           (i = chime__queue_ready(&ms->queued, &ms->idx, &ms->defaults, req->now, i)) <
                   ms->queued.n) {
        struct chime__retry q;
        chime__retry_list_take(&ms->queued, i, &q);
        struct chime__index_entry *e = chime__index_find(&ms->idx, q.job_id);
        if (e) {
            struct chime_job view;
            chime__index_entry_view(e, &view);
            rc = chime__retry_claim_prepare(out, &view, e->n_running, &q, &ms->defaults, req);
            if (rc == 0 && (rc = commit_claims(ms, e, out, 1)) < 0)
                chime__claim_prepare_undo(out, 1);
            if (rc < 0)
                chime__retry_list_add(&ms->queued, &q);
            *n += rc == 0;
        }
        chime__free(q.job_id);
    }
    return rc;
}

static int memory_claim_retries(struct chime_store *store, const struct chime_claim_request *req,
                                struct chime_claim_batch *out)
{
    struct memory_store *ms = ms_of(store);
    int rc = 0;
    size_t n = 0;
    pthread_mutex_lock(&ms->lock);
    size_t i = 0;
    while (rc == 0 && (!req->limit || n < req->limit) &&
           (i = chime__retry_list_due(&ms->retries, &ms->idx, req->now, i)) < ms->retries.n) {
        struct chime__retry retry;
        chime__retry_list_take(&ms->retries, i, &retry);
        struct chime__index_entry *e = chime__index_find(&ms->idx, retry.job_id);
        if (e) {
            struct chime_job view;
            chime__index_entry_view(e, &view);
            rc = chime__retry_claim_prepare(out, &view, e->n_running, &retry, &ms->defaults, req);
            if (rc == 0 && (rc = commit_claims(ms, e, out, 1)) < 0)
                chime__claim_prepare_undo(out, 1);
            if (rc < 0) /* keep it for the next claim */
                chime__retry_list_add(&ms->retries, &retry);
            n += rc == 0;
        }
        chime__free(retry.job_id);
    }
    if (rc == 0)
        rc = claim_queued(ms, req, out, &n);
    pthread_mutex_unlock(&ms->lock);
    return n ? 0 : rc;
}

static int memory_next_retry(struct chime_store *store, chime_utime *out)
{
    struct memory_store *ms = ms_of(store);
    pthread_mutex_lock(&ms->lock);
    *out = chime__retry_list_next_due(&ms->retries, &ms->idx);
    chime_utime queued = chime__queue_next_due(&ms->queued, &ms->idx, &ms->defaults);
    if (queued != CHIME_UTIME_NONE && (*out == CHIME_UTIME_NONE || queued < *out))
        *out = queued;
    pthread_mutex_unlock(&ms->lock);
    return *out == CHIME_UTIME_NONE ? CHIME_ENOENT : 0;
}

static const struct chime_store_ops memory_ops = {
    .name = "memory",
    .close = memory_close,
    .add_job = memory_add_job,
    .update_job = memory_update_job,
    .remove_job = memory_remove_job,
    .get_job = memory_get_job,
    .list_jobs = memory_list_jobs,
    .count_jobs = memory_count_jobs,
    .count_by_state = memory_count_by_state,
    .next_due = memory_next_due,
    .claim_due = memory_claim_due,
    .claim_now = memory_claim_now,
    .finish_run = memory_finish_run,
    .finish_runs = memory_finish_runs,
    .claim_retries = memory_claim_retries,
    .next_retry = memory_next_retry,
    .list_runs = memory_list_runs,
    .prune_runs = memory_prune_runs,
};

int chime__store_memory_open(const struct chime_job_defaults *defaults, size_t runs_kept,
                             struct chime_store **out)
{
    struct memory_store *ms = chime__calloc(1, sizeof(*ms));
    if (!ms)
        return CHIME_ENOMEM;
    ms->ring_cap = runs_kept ? runs_kept : 1;
    ms->ring = chime__calloc(ms->ring_cap, sizeof(*ms->ring));
    if (!ms->ring) {
        chime__free(ms);
        return CHIME_ENOMEM;
    }
    for (size_t i = 0; i < ms->ring_cap; i++)
        chime_run_init(&ms->ring[i]);
    ms->base.ops = &memory_ops;
    pthread_mutex_init(&ms->lock, NULL);
    chime__index_init(&ms->idx);
    ms->defaults = *defaults;
    ms->next_run_id = 1;
    *out = &ms->base;
    return 0;
}
