/*
 * The SQLite store (sqlite:///path): one connection in WAL mode behind one
 * mutex; the job index answers every read and the schedule, and every job
 * change is written through (its own transaction) before the index changes,
 * so the index always mirrors the jobs table. Opening applies migrations,
 * marks runs a previous process left RUNNING as LOST, and loads the jobs.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/clock.h"
#include "store/store_internal.h"
#include "store/store_sqlite.h"

#define JOB_COLUMNS                                                                          \
    "id, name, func, args, kwargs, trigger, trigger_args, next_run_time, paused, coalesce, " \
    "misfire_grace_time, max_instances, jobstore, broken, version, created_at, updated_at, " \
    "timeout, retries, retry_backoff, retry_jitter, overlap"

static const char *const stmt_sql[ST_N] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_INSERT_JOB] =
            "INSERT INTO jobs (" JOB_COLUMNS ") VALUES "
            "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
            "?18, ?19, ?20, ?21, ?22)",
    [ST_UPDATE_JOB] = "UPDATE jobs SET name = ?2, func = ?3, args = ?4, kwargs = ?5, trigger = ?6, "
                      "trigger_args = ?7, next_run_time = ?8, paused = ?9, coalesce = ?10, "
                      "misfire_grace_time = ?11, max_instances = ?12, jobstore = ?13, "
                      "broken = ?14, version = ?15, created_at = ?16, updated_at = ?17, "
                      "timeout = ?18, retries = ?19, retry_backoff = ?20, retry_jitter = ?21, "
                      "overlap = ?22 WHERE id = ?1",
    [ST_DELETE_JOB] = "DELETE FROM jobs WHERE id = ?1",
    [ST_SET_NEXT] = "UPDATE jobs SET next_run_time = ?2 WHERE id = ?1",
    [ST_INSERT_RUN] = "INSERT OR IGNORE INTO runs (job_id, scheduled_time, started_at, "
                      "finished_at, status, cause, attempt, node, error) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_FINISH_RUN] = "UPDATE runs SET status = ?2, finished_at = ?3, "
                      "started_at = coalesce(?4, started_at), error = ?5, output = ?6, "
                      "exit_code = ?7, http_status = ?8 WHERE id = ?1",
};

static struct sqlite_store *ss_of(struct chime_store *store)
{
    return (struct sqlite_store *)store;
}

int chime__sqlite_exec_stmt(sqlite3_stmt *st)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void sqlite_close(struct chime_store *store)
{
    struct sqlite_store *ss = ss_of(store);
    chime__sqlite_ckpt_stop(ss);
    if (ss->st[ST_FINISH_RUN])
        chime__sqlite_flusher_stop(ss);
    for (int i = 0; i < ST_N; i++)
        sqlite3_finalize(ss->st[i]);
    sqlite3_close(ss->db);
    chime__index_release(&ss->idx);
    chime__run_set_release(&ss->running);
    chime__retry_list_release(&ss->retries);
    chime__retry_list_release(&ss->queued);
    chime__free(ss->pending);
    if (ss->lock_fd >= 0)
        close(ss->lock_fd);
    pthread_cond_destroy(&ss->idle);
    pthread_mutex_destroy(&ss->ckpt_mu);
    pthread_mutex_destroy(&ss->lock);
    chime__free(ss);
}

static void bind_opt_time(sqlite3_stmt *st, int i, chime_utime t)
{
    if (t == CHIME_UTIME_NONE)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, t);
}

/* Binds ?1..?22 of ST_INSERT_JOB / ST_UPDATE_JOB from an entry. */
void chime__sqlite_bind_entry(sqlite3_stmt *st, const struct chime__index_entry *e)
{
    struct chime_job j;
    chime__index_entry_view(e, &j);
    sqlite3_bind_text(st, 1, j.id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, j.name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, j.func, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, j.args, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, j.kwargs, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, chime_trigger_kind_name(j.trigger), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, chime__index_entry_trigger_args(e), -1, SQLITE_STATIC);
    bind_opt_time(st, 8, j.next_run);
    sqlite3_bind_int(st, 9, j.paused);
    sqlite3_bind_int(st, 10, j.policy.coalesce);
    sqlite3_bind_int64(st, 11, j.policy.grace_s);
    sqlite3_bind_int(st, 12, j.policy.max_instances);
    sqlite3_bind_text(st, 13, j.jobstore, -1, SQLITE_STATIC);
    if (j.broken)
        sqlite3_bind_text(st, 14, j.broken, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 15, j.version);
    sqlite3_bind_int64(st, 16, j.created_at);
    sqlite3_bind_int64(st, 17, j.updated_at);
    sqlite3_bind_int(st, 18, j.policy.timeout_s);
    sqlite3_bind_int(st, 19, j.policy.retries);
    sqlite3_bind_int(st, 20, j.policy.retry_backoff_s);
    sqlite3_bind_int(st, 21, j.policy.retry_jitter_s);
    sqlite3_bind_text(st, 22, chime_overlap_name(j.policy.overlap), -1, SQLITE_STATIC);
}

static int store_error(struct sqlite_store *ss, const char *what)
{
    chime__log(CHIME_LOG_ERROR, "sqlite store: %s: %s", what, sqlite3_errmsg(ss->db));
    return CHIME_ESTORE;
}

static int sqlite_put(struct chime_store *store, const struct chime_job *job,
                      enum chime__put_mode mode)
{
    struct sqlite_store *ss = ss_of(store);
    struct chime__index_entry *repl, *old;
    pthread_mutex_lock(&ss->lock);
    if (mode != CHIME__PUT_ADD)
        chime__sqlite_wait_db(ss); /* before old is looked up: waiting unlocks */
    int rc = chime__index_prepare_put(&ss->idx, job, mode, &repl, &old);
    if (rc < 0)
        goto out_unlock;
    if (!old && mode == CHIME__PUT_ADD) {
        rc = chime__sqlite_add_grouped(ss, repl);
        goto out_unlock;
    }
    sqlite3_stmt *st = ss->st[old ? ST_UPDATE_JOB : ST_INSERT_JOB];
    chime__sqlite_bind_entry(st, repl);
    if (chime__sqlite_exec_stmt(st) != SQLITE_OK)
        rc = store_error(ss, "writing a job");
    if (rc == 0)
        chime__index_commit_put(&ss->idx, repl, old);
    else
        chime__index_entry_free(&ss->idx, repl);
out_unlock:
    pthread_mutex_unlock(&ss->lock);
    return rc;
}

static int sqlite_add_job(struct chime_store *store, const struct chime_job *job, bool replace)
{
    return sqlite_put(store, job, replace ? CHIME__PUT_REPLACE : CHIME__PUT_ADD);
}

static int sqlite_update_job(struct chime_store *store, const struct chime_job *job)
{
    return sqlite_put(store, job, CHIME__PUT_UPDATE);
}

static int sqlite_remove_job(struct chime_store *store, const char *id)
{
    struct sqlite_store *ss = ss_of(store);
    int rc = CHIME_ENOENT;
    chime__sqlite_lock_db(ss);
    struct chime__index_entry *e = chime__index_find(&ss->idx, id);
    if (!e)
        goto out_unlock;
    sqlite3_bind_text(ss->st[ST_DELETE_JOB], 1, id, -1, SQLITE_STATIC);
    rc = chime__sqlite_exec_stmt(ss->st[ST_DELETE_JOB]) == SQLITE_OK
                 ? 0
                 : store_error(ss, "removing a job");
    if (rc == 0) {
        chime__index_unlink(&ss->idx, e);
        chime__index_entry_free(&ss->idx, e);
        chime__retry_list_drop_job(&ss->retries, id); /* their rows go at the next claim */
        chime__retry_list_drop_job(&ss->queued, id);
    }
out_unlock:
    pthread_mutex_unlock(&ss->lock);
    return rc;
}

static int sqlite_get_job(struct chime_store *store, const char *id, struct chime_job *out)
{
    struct sqlite_store *ss = ss_of(store);
    pthread_mutex_lock(&ss->lock);
    struct chime__index_entry *e = chime__index_find(&ss->idx, id);
    int rc = e ? chime__index_entry_copy(e, out) : CHIME_ENOENT;
    pthread_mutex_unlock(&ss->lock);
    return rc;
}

static int sqlite_list_jobs(struct chime_store *store, const struct chime_job_page *page,
                            chime_job_visit_fn visit, void *ctx)
{
    struct sqlite_store *ss = ss_of(store);
    pthread_mutex_lock(&ss->lock);
    int rc = chime__index_list(&ss->idx, page, visit, ctx);
    pthread_mutex_unlock(&ss->lock);
    return rc;
}

/* Metrics: the runs found running at open and marked lost (the one count SQLite keeps). */
static void sqlite_stats(struct chime_store *store, struct chime_store_stats *out)
{
    out->runs_lost += ss_of(store)->n_lost_at_open;
}

/* Scheduled jobs are the ones in the heap (unpaused, with a next run). */
static int sqlite_count_by_state(struct chime_store *store, size_t *out_scheduled,
                                 size_t *out_paused)
{
    struct sqlite_store *ss = ss_of(store);
    pthread_mutex_lock(&ss->lock);
    *out_scheduled = ss->idx.heap.n;
    *out_paused = ss->idx.n - ss->idx.heap.n;
    pthread_mutex_unlock(&ss->lock);
    return 0;
}

static size_t sqlite_count_jobs(struct chime_store *store)
{
    struct sqlite_store *ss = ss_of(store);
    pthread_mutex_lock(&ss->lock);
    size_t n = ss->idx.n;
    pthread_mutex_unlock(&ss->lock);
    return n;
}

static int sqlite_next_due(struct chime_store *store, chime_utime *out)
{
    struct sqlite_store *ss = ss_of(store);
    pthread_mutex_lock(&ss->lock);
    struct chime__index_entry *e = chime__index_first(&ss->idx);
    if (e)
        *out = e->next_run;
    pthread_mutex_unlock(&ss->lock);
    return e ? 0 : CHIME_ENOENT;
}

/* Rewrites the schema version row unchanged: a real commit, so it fails as the
 * store's other writes do (SQLITE_FULL, SQLITE_READONLY, SQLITE_BUSY). */
static int sqlite_probe_write(struct chime_store *store)
{
    struct sqlite_store *ss = ss_of(store);
    chime__sqlite_lock_db(ss);
    int rc = sqlite3_exec(ss->db, "UPDATE schema_version SET version = version", NULL, NULL, NULL) ==
                             SQLITE_OK
                     ? 0
                     : store_error(ss, "probing a write");
    pthread_mutex_unlock(&ss->lock);
    return rc;
}

static const struct chime_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sqlite_close,
    .add_job = sqlite_add_job,
    .update_job = sqlite_update_job,
    .remove_job = sqlite_remove_job,
    .get_job = sqlite_get_job,
    .list_jobs = sqlite_list_jobs,
    .count_jobs = sqlite_count_jobs,
    .count_by_state = sqlite_count_by_state,
    .stats = sqlite_stats,
    .next_due = sqlite_next_due,
    .claim_due = chime__sqlite_claim_due,
    .claim_now = chime__sqlite_claim_now,
    .finish_run = chime__sqlite_finish_run,
    .finish_runs = chime__sqlite_finish_runs,
    .claim_retries = chime__sqlite_claim_retries,
    .next_retry = chime__sqlite_next_retry,
    .list_runs = chime__sqlite_list_runs,
    .prune_runs = chime__sqlite_prune_runs,
    .probe_write = sqlite_probe_write,
};

/* The retry a job asks for when its run is lost, as for a failed run (attempt N of a
 * job with retries >= N: attempt N + 1, due after retry_backoff * 2^(N-1) s, at most
 * a day, plus up to retry_jitter s); loaded with the other retries afterwards. */
static int retry_lost(struct sqlite_store *ss, chime_utime now)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(
            ss->db,
            "INSERT OR IGNORE INTO retries (job_id, scheduled_time, attempt, due_at, cause)"
            " SELECT r.job_id, r.scheduled_time, r.attempt + 1, ?1 + (min(j.retry_backoff *"
            " (1 << min(r.attempt - 1, 30)), 86400) + abs(random() % (j.retry_jitter + 1)))"
            " * 1000000, r.cause FROM runs r JOIN jobs j ON j.id = r.job_id"
            " WHERE r.status = 'running' AND j.retries >= r.attempt",
            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_int64(st, 1, now);
    rc = chime__sqlite_exec_stmt(st);
    sqlite3_finalize(st);
    return rc;
}

/* Runs a previous process left RUNNING cannot finish any more. */
static int mark_lost(struct sqlite_store *ss)
{
    sqlite3_stmt *st;
    int rc = retry_lost(ss, chime_clock_now(chime_clock_system()));
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_prepare_v2(ss->db,
                            "UPDATE runs SET status = 'lost', finished_at = ?1, "
                            "error = 'chimed stopped while it ran' WHERE status = 'running'",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_int64(st, 1, chime_clock_now(chime_clock_system()));
    rc = chime__sqlite_exec_stmt(st);
    if (rc == SQLITE_OK)
        ss->n_lost_at_open = (uint64_t)sqlite3_changes(ss->db);
    sqlite3_finalize(st);
    return rc;
}

static int db_connect(struct sqlite_store *ss, const char *path, struct chime_diag *diag)
{
    int rc = sqlite3_open_v2(
            path, &ss->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(ss->db,
                          "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                          "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = OFF;"
                          "PRAGMA cache_size = -16384; PRAGMA journal_size_limit = 67108864;"
                          "PRAGMA temp_store = MEMORY",
                          NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return chime_diag_set(diag, CHIME_ESTORE, "DATABASE_URL",
                              "cannot open the SQLite database \"%.200s\": %s", path,
                              ss->db ? sqlite3_errmsg(ss->db) : sqlite3_errstr(rc));
    return chime__sqlite_migrate(ss->db, diag);
}

static int prepare_all(struct sqlite_store *ss, struct chime_diag *diag)
{
    for (int i = 0; i < ST_N; i++) {
        if (sqlite3_prepare_v3(ss->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &ss->st[i],
                               NULL) != SQLITE_OK)
            return chime_diag_set(diag, CHIME_ESTORE, "DATABASE_URL",
                                  "preparing a statement failed: %s", sqlite3_errmsg(ss->db));
    }
    return 0;
}

int chime__store_sqlite_open(const char *path, const struct chime_job_defaults *defaults,
                             struct chime_store **out, struct chime_diag *diag)
{
    struct sqlite_store *ss = chime__calloc(1, sizeof(*ss));
    if (!ss)
        return CHIME_ENOMEM;
    ss->base.ops = &sqlite_ops;
    pthread_mutex_init(&ss->lock, NULL);
    pthread_mutex_init(&ss->ckpt_mu, NULL);
    pthread_cond_init(&ss->idle, NULL);
    ss->adds_tail = &ss->adds;
    chime__index_init(&ss->idx);
    ss->defaults = *defaults;
    int rc = chime__sqlite_lock_file(path, &ss->lock_fd, diag);
    if (rc == 0)
        rc = db_connect(ss, path, diag);
    if (rc == 0 && mark_lost(ss) != SQLITE_OK)
        rc = chime_diag_set(diag, CHIME_ESTORE, "DATABASE_URL", "marking lost runs failed: %s",
                            sqlite3_errmsg(ss->db));
    if (rc == 0)
        rc = prepare_all(ss, diag);
    if (rc == 0 &&
        ((rc = chime__sqlite_load_jobs(ss)) < 0 || (rc = chime__sqlite_load_retries(ss)) < 0))
        chime_diag_set(diag, rc, "DATABASE_URL", "loading the jobs failed: %s",
                       rc == CHIME_ENOMEM ? "out of memory" : sqlite3_errmsg(ss->db));
    if (rc == 0 && (rc = chime__sqlite_flusher_start(ss)) < 0)
        chime_diag_set(diag, rc, "DATABASE_URL", "cannot start the run writer thread");
    if (rc == 0)
        rc = chime__sqlite_ckpt_start(ss, path);
    if (rc < 0) {
        sqlite_close(&ss->base);
        return rc;
    }
    *out = &ss->base;
    return 0;
}
