/*
 * The SQLite store's schedule and run history: claim_due takes the due jobs
 * off the index heap and records all their fires and next run times in ONE
 * transaction (prepared statements reused), then updates the index only
 * once the commit succeeded (a failed transaction puts the jobs back as they
 * were). finish_run updates the run row; list_runs and prune_runs query the
 * runs table (pruning deletes in small batches so writers never wait long).
 */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "store/store_sqlite.h"

#define PRUNE_BATCH 1000

static struct sqlite_store *ss_of(struct chime_store *store)
{
    return (struct sqlite_store *)store;
}

static const char *cause_name(enum chime_run_cause cause)
{
    return cause == CHIME_CAUSE_MANUAL ? "manual" : "schedule";
}

static void bind_opt(sqlite3_stmt *st, int i, chime_utime t)
{
    if (t == CHIME_UTIME_NONE)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, t);
}

/* Inserts the run; *out_kept false when it already exists (one run per scheduled time). */
static int insert_run(struct sqlite_store *ss, struct chime_run *run, bool *out_kept)
{
    sqlite3_stmt *st = ss->st[ST_INSERT_RUN];
    sqlite3_bind_text(st, 1, run->job_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, run->scheduled);
    bind_opt(st, 3, run->started);
    bind_opt(st, 4, run->finished);
    sqlite3_bind_text(st, 5, chime_run_status_name(run->status), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, cause_name(run->cause), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 7, run->attempt);
    sqlite3_bind_text(st, 8, run->node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, run->error, -1, SQLITE_STATIC);
    if (chime__sqlite_exec_stmt(st) != SQLITE_OK)
        return CHIME_ESTORE;
    *out_kept = sqlite3_changes(ss->db) > 0;
    run->id = *out_kept ? sqlite3_last_insert_rowid(ss->db) : 0;
    return 0;
}

int chime__sqlite_insert_run(struct sqlite_store *ss, struct chime_run *run)
{
    bool kept = false;
    int rc = insert_run(ss, run, &kept);
    return rc < 0 || !kept ? CHIME_ESTORE : 0;
}

/* Inserts the n claims at the batch tail, dropping duplicates; counts the kept ones. */
static int insert_claims(struct sqlite_store *ss, struct chime_claim_batch *out, size_t n,
                         int *out_running)
{
    if (n == 0)
        return 0;
    struct chime_claim *tail = out->claims + out->n_claims;
    size_t kept = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        bool ok = false;
        if (rc == 0)
            rc = insert_run(ss, &tail[i].run, &ok);
        if (!ok) {
            if (rc == 0)
                chime__log(CHIME_LOG_WARN, "sqlite store: job %s already has a run for %lld",
                           tail[i].run.job_id, (long long)tail[i].run.scheduled);
            chime_job_release(&tail[i].job);
            chime_run_release(&tail[i].run);
            continue;
        }
        if (tail[i].run.status == CHIME_RUN_RUNNING)
            (*out_running)++;
        if (kept != i)
            tail[kept] = tail[i];
        kept++;
    }
    out->n_claims += kept; /* on error the caller rolls the whole batch back */
    return rc;
}

static int write_next_run(struct sqlite_store *ss, const char *id, chime_utime next)
{
    sqlite3_stmt *st = ss->st[next == CHIME_UTIME_NONE ? ST_DELETE_JOB : ST_SET_NEXT];
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (next != CHIME_UTIME_NONE)
        sqlite3_bind_int64(st, 2, next);
    return chime__sqlite_exec_stmt(st) == SQLITE_OK ? 0 : CHIME_ESTORE;
}

struct claimed {
    struct chime__index_entry *entry;
    chime_utime old_next; /* to put it back when the claim fails */
    chime_utime new_next;
    int n_running;
    chime_utime *queued; /* overlap queue: the fires that wait (their rows written) */
    size_t n_queued;
    chime_utime *displaced; /* the fires that waited and were displaced (rows deleted) */
    size_t n_displaced;
};

/* Overlap queue: the plan's fires skipped at max_instances wait instead (bounded; with
 * coalesce the newest waits and displaces the fire that waited, recorded in the plan);
 * their rows are written and the displaced rows deleted in the claim's transaction, the
 * list follows at commit. */
static int queue_fires(struct sqlite_store *ss, struct claimed *c, const struct chime_job *job,
                       struct chime_fire_plan *plan, struct chime_claim_batch *out)
{
    if (job->policy.overlap == CHIME_OVERLAP_SKIP || plan->n_fires == 0)
        return 0;
    c->queued = chime__calloc(plan->n_fires + CHIME_QUEUE_MAX, sizeof(*c->queued));
    if (!c->queued)
        return CHIME_ENOMEM;
    c->displaced = c->queued + plan->n_fires;
    size_t n_waiting =
            chime__retry_list_times_of_job(&ss->queued, job->id, c->displaced, CHIME_QUEUE_MAX);
    int rc = chime__plan_take_queued(job, &ss->defaults, c->displaced, n_waiting, plan, c->queued,
                                     &c->n_queued, &c->n_displaced);
    for (size_t i = 0; rc == 0 && i < c->n_queued; i++) {
        struct chime__retry q = { job->id, c->queued[i], c->queued[i], 1, CHIME_CAUSE_SCHEDULE };
        rc = chime__sqlite_write_queued(ss, &q);
    }
    for (size_t i = 0; rc == 0 && i < c->n_displaced; i++) {
        struct chime__retry q = { job->id, c->displaced[i], c->displaced[i], 1,
                                  CHIME_CAUSE_SCHEDULE };
        rc = chime__sqlite_delete_retry(ss, &q);
    }
    if (rc == 0 && c->n_queued > 0 && job->policy.overlap == CHIME_OVERLAP_REPLACE)
        rc = chime__batch_add_replace(out, job->id, c->queued[c->n_queued - 1]);
    return rc;
}

/* Plans, builds and records one job's fires inside the open transaction. */
static int claim_one(struct sqlite_store *ss, struct claimed *c,
                     const struct chime_claim_request *req, struct chime_claim_batch *out)
{
    struct chime_job view;
    struct chime_fire_plan plan;
    chime__index_entry_view(c->entry, &view);
    int rc = chime_fire_plan(&view, &ss->defaults, req->now, c->entry->n_running, &plan);
    if (rc < 0)
        return rc;
    rc = queue_fires(ss, c, &view, &plan, out);
    if (rc == 0)
        rc = chime__claim_prepare(out, &view, &plan, req, CHIME_CAUSE_SCHEDULE);
    if (rc == 0)
        rc = insert_claims(ss, out, plan.n_fires, &c->n_running);
    if (rc == 0)
        rc = write_next_run(ss, view.id, plan.next_run);
    c->new_next = plan.next_run;
    chime_fire_plan_release(&plan);
    return rc;
}

/* Takes up to limit due entries off the heap. */
static int collect_due(struct sqlite_store *ss, const struct chime_claim_request *req,
                       struct claimed **out, size_t *out_n)
{
    size_t cap = 0;
    *out = NULL;
    *out_n = 0;
    for (;;) {
        struct chime__index_entry *e = chime__index_first(&ss->idx);
        if (!e || e->next_run > req->now || (req->limit && *out_n >= req->limit))
            return 0;
        if (chime__grow((void **)out, &cap, *out_n + 1, sizeof(**out)) < 0)
            return *out_n ? 0 : CHIME_ENOMEM;
        chime__heap_pop(&ss->idx.heap);
        (*out)[(*out_n)++] = (struct claimed){ e, e->next_run, e->next_run, 0, NULL, 0, NULL, 0 };
    }
}

static void rollback_batch(struct sqlite_store *ss, struct chime_claim_batch *out, size_t start,
                           size_t start_replaces)
{
    chime__sqlite_exec_stmt(ss->st[ST_ROLLBACK]);
    while (out->n_replaces > start_replaces) /* their fires were not queued */
        chime__free(out->replaces[--out->n_replaces].job_id);
    for (size_t i = start; i < out->n_claims; i++) {
        chime_job_release(&out->claims[i].job);
        chime_run_release(&out->claims[i].run);
    }
    out->n_claims = start;
}

/* After the commit: index and running set follow the table. */
static void apply_claims(struct sqlite_store *ss, struct claimed *c, size_t n_done,
                         struct chime_claim_batch *out, size_t start)
{
    for (size_t i = start; i < out->n_claims; i++) {
        if (out->claims[i].run.status == CHIME_RUN_RUNNING)
            chime__run_set_add(&ss->running, out->claims[i].run.id);
    }
    for (size_t i = 0; i < n_done; i++) {
        c[i].entry->n_running += c[i].n_running;
        for (size_t k = 0; k < c[i].n_queued; k++) {
            struct chime__retry q = { c[i].entry->strings, c[i].queued[k], c[i].queued[k], 1,
                                      CHIME_CAUSE_SCHEDULE };
            if (chime__retry_list_add(&ss->queued, &q) < 0) /* the row waits for a restart */
                chime__log(CHIME_LOG_ERROR, "sqlite store: out of memory queueing a fire");
        }
        for (size_t k = 0; k < c[i].n_displaced; k++)
            chime__retry_list_drop_one(&ss->queued, c[i].entry->strings, c[i].displaced[k]);
        if (c[i].new_next == CHIME_UTIME_NONE) {
            /* APS-COMPAT: a job with no next fire time is removed; its runs stay. */
            chime__index_unlink(&ss->idx, c[i].entry);
            chime__index_entry_free(&ss->idx, c[i].entry);
        } else {
            chime__index_set_next_run(&ss->idx, c[i].entry, c[i].new_next);
        }
    }
}

static int claim_all(struct sqlite_store *ss, struct claimed *c, size_t n, size_t *n_done,
                     const struct chime_claim_request *req, struct chime_claim_batch *out)
{
    int rc = chime__sqlite_write_pending(ss);
    for (*n_done = 0; rc == 0 && *n_done < n; (*n_done)++) {
        rc = claim_one(ss, &c[*n_done], req, out);
        if (rc < 0)
            break;
    }
    if (rc == CHIME_ENOMEM && *n_done > 0)
        rc = 0; /* commit the jobs claimed so far; the rest stay due */
    if (rc == 0)
        rc = chime__run_set_reserve(&ss->running, ss->running.n + out->n_claims);
    if (rc == 0 && chime__sqlite_exec_stmt(ss->st[ST_COMMIT]) != SQLITE_OK)
        rc = CHIME_ESTORE;
    return rc;
}

int chime__sqlite_claim_due(struct chime_store *store, const struct chime_claim_request *req,
                            struct chime_claim_batch *out)
{
    struct sqlite_store *ss = ss_of(store);
    struct claimed *c;
    size_t n, n_done = 0, start = out->n_claims, start_replaces = out->n_replaces;
    chime__sqlite_lock_db(ss);
    int rc = collect_due(ss, req, &c, &n);
    if (rc < 0 || n == 0)
        goto out_unlock;
    if (chime__sqlite_exec_stmt(ss->st[ST_BEGIN]) != SQLITE_OK)
        rc = CHIME_ESTORE;
    else
        rc = claim_all(ss, c, n, &n_done, req, out);
    if (rc < 0) {
        chime__log(CHIME_LOG_ERROR, "sqlite store: claim failed: %s", sqlite3_errmsg(ss->db));
        rollback_batch(ss, out, start, start_replaces);
        n_done = 0;
    } else {
        chime__sqlite_pending_clear(ss);
        apply_claims(ss, c, n_done, out, start);
    }
    for (size_t i = n_done; i < n; i++) /* untouched: back on the heap as they were */
        chime__index_set_next_run(&ss->idx, c[i].entry, c[i].old_next);
    for (size_t i = 0; i < n; i++)
        chime__free(c[i].queued);
out_unlock:
    chime__free(c);
    pthread_mutex_unlock(&ss->lock);
    return rc;
}

int chime__sqlite_claim_now(struct chime_store *store, const char *id,
                            const struct chime_claim_request *req, struct chime_claim_batch *out)
{
    struct sqlite_store *ss = ss_of(store);
    int rc = CHIME_ENOENT, n_running = 0;
    chime__sqlite_lock_db(ss);
    struct chime__index_entry *e = chime__index_find(&ss->idx, id);
    if (!e)
        goto out_unlock;
    struct chime_job view;
    chime__index_entry_view(e, &view);
    bool full = e->n_running >= chime_job_max_instances(&view, &ss->defaults);
    struct chime_fire fire = { req->now, full ? CHIME_RUN_SKIPPED : CHIME_RUN_RUNNING,
                               full ? CHIME_FIRE_REASON_MAX_INST : NULL };
    struct chime_fire_plan plan = { &fire, 1, e->next_run };
    rc = chime__claim_prepare(out, &view, &plan, req, CHIME_CAUSE_MANUAL);
    if (rc == 0)
        rc = chime__run_set_reserve(&ss->running, ss->running.n + 1);
    if (rc == 0)
        rc = insert_claims(ss, out, 1, &n_running);
    else
        chime__claim_prepare_undo(out, 1);
    if (rc == 0 && n_running) {
        chime__run_set_add(&ss->running, out->claims[out->n_claims - 1].run.id);
        e->n_running++;
    }
out_unlock:
    pthread_mutex_unlock(&ss->lock);
    return rc;
}

static chime_utime col_time(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? CHIME_UTIME_NONE
                                                     : sqlite3_column_int64(st, i);
}

/* The row as a run borrowing the row's text (valid until the next step). */
static void row_run(sqlite3_stmt *st, struct chime_run *run)
{
    chime_run_init(run);
    run->id = sqlite3_column_int64(st, 0);
    run->job_id = (char *)sqlite3_column_text(st, 1);
    run->scheduled = col_time(st, 2);
    run->started = col_time(st, 3);
    run->finished = col_time(st, 4);
    enum chime_run_status status = CHIME_RUN_LOST;
    chime_run_status_parse((const char *)sqlite3_column_text(st, 5), &status);
    run->status = status;
    const char *cause = (const char *)sqlite3_column_text(st, 6);
    run->cause = cause && !strcmp(cause, "manual") ? CHIME_CAUSE_MANUAL : CHIME_CAUSE_SCHEDULE;
    run->attempt = sqlite3_column_int(st, 7);
    run->node = (char *)sqlite3_column_text(st, 8);
    run->error = (char *)sqlite3_column_text(st, 9);
    run->output = (char *)sqlite3_column_text(st, 10);
    if (sqlite3_column_type(st, 11) != SQLITE_NULL)
        run->exit_code = sqlite3_column_int(st, 11);
    run->http_status = sqlite3_column_int(st, 12); /* NULL reads as 0 = none */
}

static int prepare_runs_query(struct sqlite_store *ss, const struct chime_run_filter *f,
                              sqlite3_stmt **out)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT id, job_id, scheduled_time, started_at, finished_at, status, cause, "
             "attempt, node, error, output, exit_code, http_status FROM runs WHERE 1%s%s%s ORDER "
             "BY id DESC LIMIT ?4",
             f->job_id ? " AND job_id = ?1" : "", f->status >= 0 ? " AND status = ?2" : "",
             f->before_id ? " AND id < ?3" : "");
    if (sqlite3_prepare_v2(ss->db, sql, -1, out, NULL) != SQLITE_OK)
        return CHIME_ESTORE;
    if (f->job_id)
        sqlite3_bind_text(*out, 1, f->job_id, -1, SQLITE_STATIC);
    if (f->status >= 0) {
        const char *name = chime_run_status_name((enum chime_run_status)f->status);
        sqlite3_bind_text(*out, 2, name ? name : "", -1, SQLITE_STATIC);
    }
    if (f->before_id)
        sqlite3_bind_int64(*out, 3, f->before_id);
    sqlite3_bind_int64(*out, 4, f->limit ? (sqlite3_int64)f->limit : -1);
    return 0;
}

int chime__sqlite_list_runs(struct chime_store *store, const struct chime_run_filter *filter,
                            chime_run_visit_fn visit, void *ctx)
{
    struct sqlite_store *ss = ss_of(store);
    sqlite3_stmt *st;
    chime__sqlite_lock_db(ss);
    chime__sqlite_flush(ss); /* the listing shows every finish handed in */
    int rc = prepare_runs_query(ss, filter, &st);
    if (rc < 0)
        goto out_unlock;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct chime_run run;
        row_run(st, &run);
        if (visit(&run, ctx))
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = CHIME_ESTORE;
    sqlite3_finalize(st);
out_unlock:
    pthread_mutex_unlock(&ss->lock);
    return rc;
}

/* Runs one batched DELETE until it deletes fewer than a batch. */
static int prune_batches(struct sqlite_store *ss, const char *sql, sqlite3_int64 arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ss->db, sql, -1, &st, NULL) != SQLITE_OK)
        return CHIME_ESTORE;
    int rc = 0, changes;
    do {
        sqlite3_bind_int64(st, 1, arg);
        sqlite3_bind_int(st, 2, PRUNE_BATCH);
        if (chime__sqlite_exec_stmt(st) != SQLITE_OK) {
            rc = CHIME_ESTORE;
            break;
        }
        changes = sqlite3_changes(ss->db);
    } while (changes >= PRUNE_BATCH);
    sqlite3_finalize(st);
    return rc;
}

int chime__sqlite_prune_runs(struct chime_store *store, chime_utime before, size_t keep_per_job)
{
    struct sqlite_store *ss = ss_of(store);
    chime__sqlite_lock_db(ss);
    chime__sqlite_flush(ss);
    int rc = prune_batches(ss,
                           "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE "
                           "scheduled_time < ?1 AND status <> 'running' LIMIT ?2)",
                           before);
    if (rc == 0 && keep_per_job)
        rc = prune_batches(ss,
                           "DELETE FROM runs WHERE id IN (SELECT id FROM (SELECT id, status, "
                           "row_number() OVER (PARTITION BY job_id ORDER BY id DESC) AS rn "
                           "FROM runs) WHERE rn > ?1 AND status <> 'running' LIMIT ?2)",
                           (sqlite3_int64)keep_per_job);
    pthread_mutex_unlock(&ss->lock);
    return rc;
}
