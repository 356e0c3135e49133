/*
 * Retries in the SQLite store: a retry a finished run asks for joins the
 * in-memory list at once and its row in the retries table is written with
 * the run's outcome (the same group-commit transaction), so the outcome and
 * its retry are durable together. claim_retries turns due retries into run
 * records and deletes their rows in one transaction; open loads the rows
 * back, so a retry waiting across a restart still runs.
 */
#include <string.h>

#include "base/base.h"
#include "store/retry_list.h"
#include "store/store_sqlite.h"

static const char *cause_name(enum chime_run_cause cause)
{
    return cause == CHIME_CAUSE_MANUAL ? "manual" : "schedule";
}

/* Runs one row statement on a retry: INSERT (with due and cause) or DELETE. */
static int retry_row(struct sqlite_store *ss, const char *sql, const struct chime__retry *r)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ss->db, sql, -1, &st, NULL) != SQLITE_OK)
        return CHIME_ESTORE;
    sqlite3_bind_text(st, 1, r->job_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->scheduled);
    sqlite3_bind_int(st, 3, r->attempt);
    if (sqlite3_bind_parameter_count(st) >= 5) {
        sqlite3_bind_int64(st, 4, r->due);
        sqlite3_bind_text(st, 5, cause_name(r->cause), -1, SQLITE_STATIC);
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : CHIME_ESTORE;
}

int chime__sqlite_write_retry(struct sqlite_store *ss, const struct chime_run *run)
{
    struct chime__retry r = chime__retry_of_run(run);
    return retry_row(ss,
                     "INSERT OR IGNORE INTO retries (job_id, scheduled_time, attempt, due_at,"
                     " cause) VALUES (?1, ?2, ?3, ?4, ?5)",
                     &r);
}

int chime__sqlite_write_queued(struct sqlite_store *ss, const struct chime__retry *q)
{
    return retry_row(ss,
                     "INSERT OR IGNORE INTO retries (job_id, scheduled_time, attempt, due_at,"
                     " cause) VALUES (?1, ?2, ?3, ?4, ?5)",
                     q);
}

int chime__sqlite_delete_retry(struct sqlite_store *ss, const struct chime__retry *q)
{
    return retry_row(ss,
                     "DELETE FROM retries WHERE job_id = ?1 AND scheduled_time = ?2"
                     " AND attempt = ?3",
                     q);
}

int chime__sqlite_queue_retry(struct sqlite_store *ss, const struct chime_run *run)
{
    if (run->retry_at == CHIME_UTIME_NONE || !chime__index_find(&ss->idx, run->job_id))
        return 0;
    struct chime__retry r = chime__retry_of_run(run);
    return chime__retry_list_add(&ss->retries, &r);
}

int chime__sqlite_load_retries(struct sqlite_store *ss)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ss->db,
                           "SELECT job_id, scheduled_time, attempt, due_at, cause FROM retries", -1,
                           &st, NULL) != SQLITE_OK)
        return CHIME_ESTORE;
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cause = (const char *)sqlite3_column_text(st, 4);
        struct chime__retry r = {
            (char *)sqlite3_column_text(st, 0),
            sqlite3_column_int64(st, 1),
            sqlite3_column_int64(st, 3),
            sqlite3_column_int(st, 2),
            cause && !strcmp(cause, "manual") ? CHIME_CAUSE_MANUAL : CHIME_CAUSE_SCHEDULE,
        };
        rc = chime__retry_list_add(r.attempt == 1 ? &ss->queued : &ss->retries, &r);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = CHIME_ESTORE;
    sqlite3_finalize(st);
    return rc;
}

/* Claims one due retry inside the open transaction: its run row, its retry row deleted. */
static int claim_one_retry(struct sqlite_store *ss, const struct chime__retry *r,
                           const struct chime_claim_request *req, struct chime_claim_batch *out)
{
    int rc = chime__sqlite_delete_retry(ss, r);
    struct chime__index_entry *e = chime__index_find(&ss->idx, r->job_id);
    if (rc < 0 || !e)
        return rc; /* a removed job's retry just goes */
    struct chime_job view;
    chime__index_entry_view(e, &view);
    rc = chime__retry_claim_prepare(out, &view, e->n_running, r, &ss->defaults, req);
    if (rc < 0)
        return rc;
    rc = chime__sqlite_insert_run(ss, &out->claims[out->n_claims].run);
    if (rc < 0) {
        chime__claim_prepare_undo(out, 1);
        return rc;
    }
    out->n_claims++;
    return 0;
}

static bool taken_job(const struct chime__retry *taken, size_t n, const char *job_id)
{
    for (size_t i = 0; i < n; i++) {
        if (taken[i].attempt == 1 && strcmp(taken[i].job_id, job_id) == 0)
            return true;
    }
    return false;
}

/* Takes the queued fires that can be claimed, one per job (the instance counts
 * move only at commit), after the n retries taken; returns the new count. */
static size_t take_queued(struct sqlite_store *ss, const struct chime_claim_request *req,
                          struct chime__retry **out, size_t n, size_t *cap)
{
    size_t i = 0;
    while ((!req->limit || n < req->limit) &&
           (i = chime__queue_ready(&ss->queued, &ss->idx, &ss->defaults, req->now, i)) <
                   ss->queued.n) {
        if (taken_job(*out, n, ss->queued.items[i].job_id)) {
            i++;
            continue;
        }
        if (chime__grow((void **)out, cap, n + 1, sizeof(**out)) < 0)
            break;
        chime__retry_list_take(&ss->queued, i, &(*out)[n++]);
    }
    return n;
}

/* Takes the due retries off the list (at most limit; a paused job's wait). */
static size_t take_due(struct sqlite_store *ss, const struct chime_claim_request *req,
                       struct chime__retry **out)
{
    size_t n = 0, cap = 0, i = 0;
    *out = NULL;
    while ((!req->limit || n < req->limit) &&
           (i = chime__retry_list_due(&ss->retries, &ss->idx, req->now, i)) < ss->retries.n &&
           chime__grow((void **)out, &cap, n + 1, sizeof(**out)) == 0)
        chime__retry_list_take(&ss->retries, i, &(*out)[n++]);
    return take_queued(ss, req, out, n, &cap);
}

static int claim_taken(struct sqlite_store *ss, const struct chime__retry *taken, size_t n,
                       const struct chime_claim_request *req, struct chime_claim_batch *out)
{
    if (chime__sqlite_exec_stmt(ss->st[ST_BEGIN]) != SQLITE_OK)
        return CHIME_ESTORE;
    int rc = chime__sqlite_write_pending(ss);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = claim_one_retry(ss, &taken[i], req, out);
    if (rc == 0)
        rc = chime__run_set_reserve(&ss->running, ss->running.n + out->n_claims);
    if (rc == 0 && chime__sqlite_exec_stmt(ss->st[ST_COMMIT]) != SQLITE_OK)
        rc = CHIME_ESTORE;
    if (rc < 0)
        chime__sqlite_exec_stmt(ss->st[ST_ROLLBACK]);
    return rc;
}

int chime__sqlite_claim_retries(struct chime_store *store, const struct chime_claim_request *req,
                                struct chime_claim_batch *out)
{
    struct sqlite_store *ss = (struct sqlite_store *)store;
    struct chime__retry *taken;
    size_t start = out->n_claims;
    chime__sqlite_lock_db(ss);
    size_t n = take_due(ss, req, &taken);
    int rc = n ? claim_taken(ss, taken, n, req, out) : 0;
    if (rc < 0) { /* rolled back: the retries wait for the next claim */
        chime__log(CHIME_LOG_ERROR, "sqlite store: claiming retries failed: %s",
                   sqlite3_errmsg(ss->db));
        while (out->n_claims > start) {
            struct chime_claim *cl = &out->claims[--out->n_claims];
            chime_job_release(&cl->job);
            chime_run_release(&cl->run);
        }
        for (size_t i = 0; i < n; i++)
            chime__retry_list_add(taken[i].attempt == 1 ? &ss->queued : &ss->retries, &taken[i]);
    } else if (n) {
        chime__sqlite_pending_clear(ss);
    }
    for (size_t i = start; rc == 0 && i < out->n_claims; i++) {
        struct chime_run *run = &out->claims[i].run;
        struct chime__index_entry *e = chime__index_find(&ss->idx, run->job_id);
        if (run->status != CHIME_RUN_RUNNING)
            continue;
        chime__run_set_add(&ss->running, run->id);
        if (e)
            e->n_running++;
    }
    for (size_t i = 0; i < n; i++)
        chime__free(taken[i].job_id);
    chime__free(taken);
    pthread_mutex_unlock(&ss->lock);
    return rc;
}

int chime__sqlite_next_retry(struct chime_store *store, chime_utime *out)
{
    struct sqlite_store *ss = (struct sqlite_store *)store;
    pthread_mutex_lock(&ss->lock);
    *out = chime__retry_list_next_due(&ss->retries, &ss->idx);
    chime_utime queued = chime__queue_next_due(&ss->queued, &ss->idx, &ss->defaults);
    if (queued != CHIME_UTIME_NONE && (*out == CHIME_UTIME_NONE || queued < *out))
        *out = queued;
    pthread_mutex_unlock(&ss->lock);
    return *out == CHIME_UTIME_NONE ? CHIME_ENOENT : 0;
}
