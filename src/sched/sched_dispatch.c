/*
 * From claims to runs: a claimed batch's RUNNING fires become items (one
 * allocation per batch) submitted to the pool; a worker resolves the job's
 * function through the registry, binds its arguments, calls it, measures it
 * and records the outcome with the store's finish_run. A broken job's run
 * fails with the broken reason. Items that never start (the pool stopped)
 * are recorded, never dropped; items still running when the shutdown grace
 * ends are recorded LOST by the stopper and left to their worker.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "base/base.h"
#include "sched/sched_internal.h"
#include "time/tz.h"

#define SUBMIT_CHUNK 64
#define RECORD_CHUNK 64 /* finished runs recorded per store call */

static void fail_outcome(struct chime_outcome *out, const char *why)
{
    out->ok = false;
    chime__free(out->error);
    out->error = chime__strdup(why);
}

/* Parses stored JSON text; the common empty value skips the parser (hot path). */
static json_t *json_text_load(const char *text, const char *empty)
{
    if (!text || strcmp(text, empty) == 0)
        return empty[0] == '[' ? json_array() : json_object();
    return json_loads(text, 0, NULL);
}

/* Resolves, binds and calls the job's function. */
static void invoke_item(struct chime_sched *sched, struct chime__sched_item *item,
                        struct chime_outcome *out)
{
    const struct chime_job *job = &item->claim.job;
    const struct chime_func *fn = NULL;
    struct chime_diag diag;
    chime_diag_clear(&diag);
    if (job->broken) {
        fail_outcome(out, job->broken);
        return;
    }
    if (chime_registry_find(job->func, &fn, &diag) < 0) {
        fail_outcome(out, diag.message);
        return;
    }
    json_t *args = json_text_load(job->args, "[]");
    json_t *kwargs = json_text_load(job->kwargs, "{}");
    json_t *bound = NULL;
    if (!args || !kwargs)
        fail_outcome(out, "the job's args or kwargs are not valid JSON");
    else if (chime_registry_bind(fn, args, kwargs, &bound, &diag) < 0)
        fail_outcome(out, diag.message);
    if (bound) {
        struct chime_call call = {
            .job_id = job->id,
            .job_name = job->name,
            .func = job->func,
            .run_id = item->claim.run.id,
            .scheduled = item->claim.run.scheduled,
            .attempt = item->claim.run.attempt,
            .timeout_ms = (int64_t)job->policy.timeout_s * 1000,
            .cancel = job->policy.overlap == CHIME_OVERLAP_REPLACE ? &item->cancel : NULL,
            .args = args,
            .kwargs = bound,
        };
        if (sched->config.invoke)
            sched->config.invoke(fn, &call, out, sched->config.invoke_ctx);
        else
            fn->fn(&call, out);
    }
    json_decref(bound);
    json_decref(kwargs);
    json_decref(args);
}

/* Drops an item from the in-flight count (sched->mu held); frees its block with
 * the last one. */
static void item_unlink_locked(struct chime_sched *sched, struct chime__sched_item *item,
                               bool abandoned)
{
    struct chime__sched_block *block = item->block;
    sched->in_flight--;
    if (abandoned)
        sched->n_abandoned--;
    if (atomic_fetch_sub(&block->n_live, 1) == 1) {
        if (block->prev)
            block->prev->next = block->next;
        else
            sched->blocks = block->next;
        if (block->next)
            block->next->prev = block->prev;
        chime__free(block);
    }
}

/* Releases an item; frees its block with the last one; wakes drain/stop. */
static void item_done(struct chime__sched_item *item)
{
    struct chime_sched *sched = item->sched;
    bool abandoned = atomic_load(&item->state) == CHIME__ITEM_ABANDONED;
    chime_job_release(&item->claim.job);
    chime_run_release(&item->claim.run);
    pthread_mutex_lock(&sched->mu);
    item_unlink_locked(sched, item, abandoned);
    pthread_cond_broadcast(&sched->done_cv);
    pthread_mutex_unlock(&sched->mu);
}

/* item_done for a list of recorded items (linked by fin_next), under one lock. */
static void items_done(struct chime_sched *sched, struct chime__sched_item *list)
{
    for (struct chime__sched_item *it = list; it; it = it->fin_next) {
        chime_job_release(&it->claim.job);
        chime_run_release(&it->claim.run);
    }
    pthread_mutex_lock(&sched->mu);
    while (list) {
        struct chime__sched_item *next = list->fin_next; /* the block may go with list */
        item_unlink_locked(sched, list, false);
        list = next;
    }
    pthread_cond_broadcast(&sched->done_cv);
    pthread_mutex_unlock(&sched->mu);
}

static void log_unrecorded(const struct chime_run *run, int rc)
{
    chime__log(CHIME_LOG_ERROR, "run %lld of job %s: cannot record %s: %s", (long long)run->id,
               run->job_id, chime_run_status_name(run->status), chime_strerror(rc));
}

/* Counts a recorded run and tells the listeners (and the loop, of a retry it asked for). */
static void announce_final(struct chime_sched *sched, struct chime__sched_item *item,
                           int64_t duration_us)
{
    struct chime_run *run = &item->claim.run;
    chime__sched_wake_if_before(sched, run->retry_at);
    if (item->claim.job.policy.overlap == CHIME_OVERLAP_QUEUE && run->started != CHIME_UTIME_NONE)
        chime_sched_wake(sched); /* an instance is free: a queued fire may start */
    enum chime_sched_event_kind kind;
    if (run->status == CHIME_RUN_SUCCEEDED) {
        kind = CHIME_EVENT_RUN_SUCCEEDED;
        atomic_fetch_add(&sched->n_succeeded, 1);
    } else if (run->status == CHIME_RUN_MISSED) {
        kind = CHIME_EVENT_RUN_MISSED;
        atomic_fetch_add(&sched->n_missed, 1);
    } else { /* the event of a cancelled run is RUN_FAILED too; its run says cancelled */
        kind = CHIME_EVENT_RUN_FAILED;
        atomic_fetch_add(
                run->status == CHIME_RUN_CANCELLED ? &sched->n_cancelled : &sched->n_failed, 1);
    }
    chime__sched_emit(sched, kind, item->claim.job.id, &item->claim.job, run, duration_us);
}

/* Records a finished run with the store and tells the listeners. */
static void record_final(struct chime_sched *sched, struct chime__sched_item *item,
                         int64_t duration_us)
{
    int rc = sched->store->ops->finish_run(sched->store, &item->claim.run);
    if (rc < 0)
        log_unrecorded(&item->claim.run, rc);
    announce_final(sched, item, duration_us);
}

/* Records up to RECORD_CHUNK items from *at on with one store call; advances *at. */
static void record_chunk(struct chime_sched *sched, struct chime__sched_item **at)
{
    const struct chime_run *runs[RECORD_CHUNK] = { 0 };
    struct chime__sched_item *items[RECORD_CHUNK] = { 0 };
    int rcs[RECORD_CHUNK];
    size_t n = 0;
    for (struct chime__sched_item *it = *at; it && n < RECORD_CHUNK; it = it->fin_next) {
        items[n] = it;
        runs[n++] = &it->claim.run;
    }
    *at = items[n - 1]->fin_next;
    sched->store->ops->finish_runs(sched->store, runs, n, rcs);
    for (size_t i = 0; i < n; i++) {
        if (rcs[i] < 0)
            log_unrecorded(runs[i], rcs[i]);
        announce_final(sched, items[i], items[i]->duration_us);
    }
}

static void record_list(struct chime_sched *sched, struct chime__sched_item *list)
{
    if (sched->store->ops->finish_runs) {
        for (struct chime__sched_item *at = list; at;)
            record_chunk(sched, &at);
    } else {
        for (struct chime__sched_item *it = list; it; it = it->fin_next)
            record_final(sched, it, it->duration_us);
    }
    items_done(sched, list);
}

/* Queues a finished item; the first worker to find no one recording records the
 * queue (and what others append meanwhile) until it is empty. */
static void finished_push(struct chime_sched *sched, struct chime__sched_item *item)
{
    item->fin_next = NULL;
    pthread_mutex_lock(&sched->fin_mu);
    if (sched->fin_tail)
        sched->fin_tail->fin_next = item;
    else
        sched->fin_head = item;
    sched->fin_tail = item;
    if (sched->fin_busy)
        goto out_unlock;
    sched->fin_busy = true;
    while (sched->fin_head) {
        struct chime__sched_item *list = sched->fin_head;
        sched->fin_head = sched->fin_tail = NULL;
        pthread_mutex_unlock(&sched->fin_mu);
        record_list(sched, list);
        pthread_mutex_lock(&sched->fin_mu);
    }
    sched->fin_busy = false;
out_unlock:
    pthread_mutex_unlock(&sched->fin_mu);
}

static double random_unit(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != sizeof(v))
        return 0.5;
    return (double)v / 4294967296.0;
}

/* A failed or timed-out attempt of a job with retries left asks for the next one. */
static void plan_retry(struct chime_sched *sched, const struct chime_job *job,
                       struct chime_run *run)
{
    (void)sched;
    bool failed = run->status == CHIME_RUN_FAILED || run->status == CHIME_RUN_TIMED_OUT;
    if (!failed || job->broken || run->attempt > job->policy.retries)
        return;
    double draw = job->policy.retry_jitter_s > 0 ? random_unit() : 0.0;
    run->retry_at = run->finished + chime_job_retry_delay_us(&job->policy, run->attempt + 1, draw);
}

/* overlap replace: a replaced run ends cancelled, naming the run that replaced it
 * (and how its command was stopped, when it was one). */
static void mark_cancelled(struct chime__sched_item *item, struct chime_outcome *out)
{
    char when[CHIME_TIME_FORMAT_MAX], text[256];
    const char *how =
            out->error && strncmp(out->error, "cancelled (", 11) == 0 ? out->error + 9 : "";
    snprintf(text, sizeof(text), "replaced by the run of %s%s",
             chime_time_format(item->replaced_by, chime_zone_utc(), when), how);
    item->claim.run.status = CHIME_RUN_CANCELLED;
    chime__free(out->error);
    out->error = chime__strdup(text);
}

/* The CAS comes first: once the stopper has abandoned the item (and copied its
 * run), the worker must neither write the run nor touch the store. */
static void finish_item(struct chime_sched *sched, struct chime__sched_item *item,
                        struct chime_outcome *out, int64_t duration_us)
{
    struct chime_run *run = &item->claim.run;
    int expected = CHIME__ITEM_RUNNING;
    if (atomic_compare_exchange_strong(&item->state, &expected, CHIME__ITEM_FINISHING)) {
        run->status = out->ok          ? CHIME_RUN_SUCCEEDED
                      : out->timed_out ? CHIME_RUN_TIMED_OUT
                                       : CHIME_RUN_FAILED;
        run->exit_code = out->has_exit_code ? out->exit_code : CHIME_RUN_NO_EXIT_CODE;
        run->http_status = out->http_status;
        run->finished = chime_clock_now(sched->clock);
        if (atomic_load(&item->cancel))
            mark_cancelled(item, out);
        else
            plan_retry(sched, &item->claim.job, run);
        chime__free(run->error);
        chime__free(run->output);
        run->error = out->error;
        run->output = out->output;
        out->error = out->output = NULL;
        item->duration_us = duration_us;
        finished_push(sched, item);
        return;
    }
    item_done(item);
}

/*
 * A function that runs inside chimed (a built-in, a plugin) cannot be
 * interrupted safely: one that returns after the job's timeout is recorded
 * timed_out, whatever it answered. Commands and webhooks are stopped at the
 * limit by their runners (they get it in the call).
 */
static void check_time_limit(const struct chime_job *job, int64_t duration_us,
                             struct chime_outcome *out)
{
    int64_t limit_us = (int64_t)job->policy.timeout_s * CHIME_USEC_PER_SEC;
    if (limit_us <= 0 || out->timed_out || duration_us <= limit_us)
        return;
    char text[160];
    snprintf(text, sizeof(text), "timed out: ran %.3f s, the job's timeout is %d s",
             (double)duration_us / 1e6, (int)job->policy.timeout_s);
    out->ok = false;
    out->timed_out = true;
    chime__free(out->error);
    out->error = chime__strdup(text);
}

static void run_one(struct chime_sched *sched, struct chime__sched_item *item)
{
    if (item->claim.run.started == CHIME_UTIME_NONE)
        item->claim.run.started = chime_clock_now(sched->clock);
    atomic_fetch_add(&sched->n_started, 1);
    chime__sched_emit(sched, CHIME_EVENT_RUN_STARTED, item->claim.job.id, &item->claim.job,
                      &item->claim.run, 0);
    chime_mtime t0 = chime_clock_mono(sched->clock);
    struct chime_outcome out = { 0 };
    if (!atomic_load(&item->cancel)) /* replaced before it started: it does not run */
        invoke_item(sched, item, &out);
    int64_t duration_us = chime_clock_mono(sched->clock) - t0;
    check_time_limit(&item->claim.job, duration_us, &out);
    finish_item(sched, item, &out, duration_us);
    chime_outcome_release(&out);
}

/* True when a chained run's time has become older than the misfire grace while
 * the runs before it in its chain ran (APScheduler checks each run time). */
static bool chained_run_too_late(struct chime_sched *sched, const struct chime__sched_item *item)
{
    int64_t grace_s = chime_job_grace_s(&item->claim.job, &sched->config.defaults);
    if (grace_s < 0)
        return false;
    chime_utime late = chime_clock_now(sched->clock) - item->claim.run.scheduled;
    return late > grace_s * CHIME_USEC_PER_SEC;
}

/*
 * Takes the next run of a chain for this worker: true to run it. A run the
 * stopper abandoned (and recorded) is released; a run grown too late is
 * recorded missed. Either way the chain goes on with its next run.
 */
static bool chain_take(struct chime_sched *sched, struct chime__sched_item *item)
{
    int expected = CHIME__ITEM_QUEUED;
    pthread_mutex_lock(&sched->mu);
    bool stopping = sched->stopping;
    pthread_mutex_unlock(&sched->mu);
    bool late = !stopping && chained_run_too_late(sched, item);
    int to = stopping || late ? CHIME__ITEM_FINISHING : CHIME__ITEM_RUNNING;
    if (!atomic_compare_exchange_strong(&item->state, &expected, to)) {
        item_done(item); /* abandoned: the stopper recorded it */
        return false;
    }
    if (stopping || late) {
        chime__sched_item_unstarted(item, CHIME_RUN_MISSED,
                                    stopping ? "scheduler stopped before the run could start"
                                             : "misfire_grace_time exceeded while earlier "
                                               "overdue runs of this job ran");
        return false;
    }
    return true;
}

/* The next run of the chain after item that this worker takes, or NULL. */
static struct chime__sched_item *chain_next_taken(struct chime_sched *sched,
                                                  struct chime__sched_item *item)
{
    while (item) {
        /* Read first: releasing a run may free the block the chain lives in. */
        struct chime__sched_item *after = item->chain_next;
        if (chain_take(sched, item))
            return item;
        item = after;
    }
    return NULL;
}

void chime__sched_item_run(void *ctx)
{
    struct chime__sched_item *item = ctx;
    struct chime_sched *sched = item->sched;
    atomic_store(&item->state, CHIME__ITEM_RUNNING);
    while (item) {
        struct chime__sched_item *next = item->chain_next; /* item may go with its block */
        run_one(sched, item);
        item = chain_next_taken(sched, next);
    }
}

void chime__sched_item_unstarted(struct chime__sched_item *item, enum chime_run_status status,
                                 const char *reason)
{
    struct chime_sched *sched = item->sched;
    struct chime_run *run = &item->claim.run;
    atomic_store(&item->state, CHIME__ITEM_FINISHING);
    run->status = status;
    run->finished = chime_clock_now(sched->clock);
    chime__free(run->error);
    run->error = chime__strdup(reason);
    record_final(sched, item, 0);
    item_done(item);
}

void chime__sched_chain_unstarted(struct chime__sched_item *head, enum chime_run_status status,
                                  const char *reason)
{
    while (head) {
        struct chime__sched_item *next = head->chain_next; /* head may free the block */
        chime__sched_item_unstarted(head, status, reason);
        head = next;
    }
}

static bool claim_is_last_fire(const struct chime_claim *claim)
{
    if (claim->run.cause != CHIME_CAUSE_SCHEDULE || !claim->job.trigger)
        return false;
    chime_utime t = claim->run.scheduled;
    return chime_trigger_next_exact(claim->job.trigger, t, t) == CHIME_UTIME_NONE;
}

/* Events for claims recorded final by the store, and for jobs the claim finished. */
static size_t emit_claim_events(struct chime_sched *sched, struct chime_claim_batch *batch)
{
    size_t n_running = 0;
    bool want_removed = chime__sched_wants(sched, CHIME_EVENT_JOB_REMOVED);
    for (size_t i = 0; i < batch->n_claims; i++) {
        struct chime_claim *claim = &batch->claims[i];
        if (claim->run.status == CHIME_RUN_RUNNING)
            n_running++;
        else
            chime__sched_emit_final_claim(sched, claim);
        /* APS-COMPAT: a job whose trigger is exhausted is removed, with a removal event. */
        if (want_removed && claim_is_last_fire(claim))
            chime__sched_emit(sched, CHIME_EVENT_JOB_REMOVED, claim->job.id, &claim->job, NULL, 0);
    }
    return n_running;
}

/* Chains item after prev when both are scheduled runs of the same job. */
static void chain_link(struct chime__sched_item *prev, struct chime__sched_item *item)
{
    const struct chime_claim *a = &prev->claim, *b = &item->claim;
    if (a->run.cause != CHIME_CAUSE_SCHEDULE || b->run.cause != CHIME_CAUSE_SCHEDULE ||
        strcmp(a->job.id, b->job.id) != 0)
        return;
    prev->chain_next = item;
    item->chained = true;
}

/* Moves the RUNNING claims into a new linked block. NULL on out of memory. */
static struct chime__sched_block *block_take(struct chime_sched *sched,
                                             struct chime_claim_batch *batch, size_t n_running)
{
    struct chime__sched_block *block =
            chime__malloc(sizeof(*block) + n_running * sizeof(block->items[0]));
    if (!block)
        return NULL;
    block->prev = NULL;
    block->n_items = 0;
    block->n_heads = 0;
    atomic_init(&block->n_live, n_running);
    for (size_t i = 0; i < batch->n_claims; i++) {
        struct chime_claim *claim = &batch->claims[i];
        if (claim->run.status != CHIME_RUN_RUNNING)
            continue;
        struct chime__sched_item *item = &block->items[block->n_items++];
        item->sched = sched;
        item->block = block;
        item->claim = *claim; /* moved: the batch keeps an empty claim */
        atomic_init(&item->state, CHIME__ITEM_QUEUED);
        item->chain_next = NULL;
        item->chained = false;
        atomic_init(&item->cancel, false);
        item->replaced_by = CHIME_UTIME_NONE;
        chime_job_init(&claim->job);
        chime_run_init(&claim->run);
        if (block->n_items > 1)
            chain_link(&block->items[block->n_items - 2], item);
        block->n_heads += !item->chained;
    }
    pthread_mutex_lock(&sched->mu);
    block->next = sched->blocks;
    if (block->next)
        block->next->prev = block;
    sched->blocks = block;
    sched->in_flight += n_running;
    pthread_mutex_unlock(&sched->mu);
    return block;
}

/*
 * Submits up to SUBMIT_CHUNK chain heads from *at on; advances *at and
 * decrements *heads_left. Once the last head is submitted the block may be
 * freed at any time, so nothing reads it after that.
 */
static void submit_chunk(struct chime_sched *sched, struct chime__sched_item *items, size_t *at,
                         size_t *heads_left)
{
    struct chime_task tasks[SUBMIT_CHUNK];
    size_t n = 0;
    for (; n < *heads_left && n < SUBMIT_CHUNK; (*at)++) {
        if (!items[*at].chained)
            tasks[n++] = (struct chime_task){ chime__sched_item_run, &items[*at] };
    }
    *heads_left -= n;
    if (n == 0)
        return;
    int rc = chime_pool_submit_batch(sched->pool, tasks, n);
    if (rc == 0)
        return;
    for (size_t i = 0; i < n; i++)
        chime__sched_chain_unstarted(
                tasks[i].ctx, rc == CHIME_ESHUTDOWN ? CHIME_RUN_MISSED : CHIME_RUN_FAILED,
                rc == CHIME_ESHUTDOWN ? "scheduler stopped before the run could start"
                                      : "could not queue the run: out of memory");
}

static void submit_block(struct chime_sched *sched, struct chime__sched_block *block)
{
    /* Heads not yet submitted keep the block alive (they and their chains are live). */
    size_t heads_left = block->n_heads, at = 0;
    struct chime__sched_item *items = block->items;
    while (heads_left > 0)
        submit_chunk(sched, items, &at, &heads_left);
}

/* Without memory for a block, the runs are still recorded (failed), one by one. */
static void fail_unblocked(struct chime_sched *sched, struct chime_claim_batch *batch)
{
    for (size_t i = 0; i < batch->n_claims; i++) {
        struct chime_run *run = &batch->claims[i].run;
        if (run->status != CHIME_RUN_RUNNING)
            continue;
        run->status = CHIME_RUN_FAILED;
        run->finished = chime_clock_now(sched->clock);
        atomic_fetch_add(&sched->n_failed, 1);
        if (sched->store->ops->finish_run(sched->store, run) < 0)
            chime__log(CHIME_LOG_ERROR, "run %lld of job %s: cannot record failure",
                       (long long)run->id, run->job_id);
    }
    chime__log(CHIME_LOG_ERROR, "out of memory dispatching %zu claims", batch->n_claims);
}

/* overlap replace: the in-flight runs of each replaced job are asked to stop. */
static void request_replaces(struct chime_sched *sched, const struct chime_claim_batch *batch)
{
    if (batch->n_replaces == 0)
        return;
    pthread_mutex_lock(&sched->mu);
    for (struct chime__sched_block *b = sched->blocks; b; b = b->next) {
        for (size_t i = 0; i < b->n_items; i++) {
            struct chime__sched_item *item = &b->items[i];
            int state = atomic_load(&item->state);
            if ((state != CHIME__ITEM_QUEUED && state != CHIME__ITEM_RUNNING) ||
                atomic_load(&item->cancel) || !item->claim.job.id)
                continue;
            for (size_t r = 0; r < batch->n_replaces; r++) {
                if (strcmp(item->claim.job.id, batch->replaces[r].job_id) != 0)
                    continue;
                item->replaced_by = batch->replaces[r].scheduled;
                atomic_store(&item->cancel, true);
                chime__log(CHIME_LOG_INFO, "run %lld of job %s: replaced by a newer fire",
                           (long long)item->claim.run.id, item->claim.job.id);
                break;
            }
        }
    }
    pthread_mutex_unlock(&sched->mu);
}

void chime__sched_dispatch(struct chime_sched *sched, struct chime_claim_batch *batch)
{
    request_replaces(sched, batch);
    size_t n_running = emit_claim_events(sched, batch);
    if (n_running == 0)
        return;
    struct chime__sched_block *block = block_take(sched, batch, n_running);
    if (!block) {
        fail_unblocked(sched, batch);
        return;
    }
    submit_block(sched, block);
}

/*
 * Marks an item abandoned if a worker still holds it: a running item (it will
 * be recorded LOST) or a run chained behind one (it never starts: MISSED).
 * Returns the state it was taken from, or -1 when it was not taken.
 */
static int abandon_item(struct chime__sched_item *item)
{
    int expected = CHIME__ITEM_RUNNING;
    if (atomic_compare_exchange_strong(&item->state, &expected, CHIME__ITEM_ABANDONED))
        return CHIME__ITEM_RUNNING;
    expected = CHIME__ITEM_QUEUED;
    if (item->chained &&
        atomic_compare_exchange_strong(&item->state, &expected, CHIME__ITEM_ABANDONED))
        return CHIME__ITEM_QUEUED;
    return -1;
}

/* Copies the runs of abandoned items (sched->mu held); MISSED marks those never started. */
static int collect_abandoned(struct chime_sched *sched, struct chime_run **runs, size_t *n,
                             size_t *cap, size_t *n_lost)
{
    int rc = 0;
    for (struct chime__sched_block *b = sched->blocks; b; b = b->next) {
        for (size_t i = 0; i < b->n_items; i++) {
            int from = abandon_item(&b->items[i]);
            if (from < 0)
                continue;
            sched->n_abandoned++;
            *n_lost += from == CHIME__ITEM_RUNNING;
            if (rc == 0)
                rc = chime__grow((void **)runs, cap, *n + 1, sizeof(**runs));
            if (rc == 0 && chime_run_copy(&(*runs)[*n], &b->items[i].claim.run) == 0)
                (*runs)[(*n)++].status =
                        from == CHIME__ITEM_QUEUED ? CHIME_RUN_MISSED : CHIME_RUN_RUNNING;
        }
    }
    return rc;
}

size_t chime__sched_abandon_running(struct chime_sched *sched)
{
    struct chime_run *runs = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&sched->mu);
    size_t n_lost = 0;
    if (collect_abandoned(sched, &runs, &n, &cap, &n_lost) < 0)
        chime__log(CHIME_LOG_ERROR, "out of memory recording abandoned runs");
    pthread_mutex_unlock(&sched->mu);
    for (size_t i = 0; i < n; i++) {
        struct chime_run *run = &runs[i];
        bool never_started = run->status == CHIME_RUN_MISSED;
        run->status = never_started ? CHIME_RUN_MISSED : CHIME_RUN_LOST;
        run->finished = chime_clock_now(sched->clock);
        chime__free(run->error);
        run->error = chime__strdup(never_started ? "scheduler stopped before the run could start"
                                                 : "scheduler stopped before the run finished "
                                                   "(shutdown grace exceeded)");
        if (sched->store->ops->finish_run(sched->store, run) < 0)
            chime__log(CHIME_LOG_ERROR, "run %lld: cannot record %s", (long long)run->id,
                       chime_run_status_name(run->status));
        chime__sched_emit(sched, never_started ? CHIME_EVENT_RUN_MISSED : CHIME_EVENT_RUN_LOST,
                          run->job_id, NULL, run, 0);
        chime_run_release(run);
    }
    chime__free(runs);
    return n_lost;
}
