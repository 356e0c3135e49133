/*
 * Finishing runs in the SQLite store with group commit: finish_run may be
 * called by many worker threads, and one transaction per finish would cap
 * throughput at the WAL's commit rate. A finish is checked and counted at
 * once (the job's running instances drop immediately), its row update is
 * queued, and the queue is written in one transaction: by the next claim
 * (inside the claim's own transaction), when it grows to FLUSH_AT, by any
 * read of the run history, or by a flusher thread at most FLUSH_DELAY_MS
 * after the first queued finish. Close writes what is left: a finish handed
 * in is never dropped silently (a failed write is logged and retried).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "store/store_sqlite.h"

#define FLUSH_AT       512
#define FLUSH_DELAY_MS 5

static void bind_opt(sqlite3_stmt *st, int i, chime_utime t)
{
    if (t == CHIME_UTIME_NONE)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, t);
}

static int update_run(struct sqlite_store *ss, const struct chime_run *run)
{
    sqlite3_stmt *st = ss->st[ST_FINISH_RUN];
    sqlite3_bind_int64(st, 1, run->id);
    sqlite3_bind_text(st, 2, chime_run_status_name(run->status), -1, SQLITE_STATIC);
    bind_opt(st, 3, run->finished);
    bind_opt(st, 4, run->started);
    sqlite3_bind_text(st, 5, run->error, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, run->output, -1, SQLITE_STATIC);
    if (run->exit_code >= 0)
        sqlite3_bind_int(st, 7, run->exit_code);
    else
        sqlite3_bind_null(st, 7);
    if (run->http_status > 0)
        sqlite3_bind_int(st, 8, run->http_status);
    else
        sqlite3_bind_null(st, 8);
    return chime__sqlite_exec_stmt(st) == SQLITE_OK ? 0 : CHIME_ESTORE;
}

int chime__sqlite_write_pending(struct sqlite_store *ss)
{
    for (size_t i = 0; i < ss->n_pending; i++) {
        const struct chime_run *run = &ss->pending[i];
        if (update_run(ss, run) < 0)
            return CHIME_ESTORE;
        if (run->retry_at != CHIME_UTIME_NONE && chime__sqlite_write_retry(ss, run) < 0)
            return CHIME_ESTORE;
    }
    return 0;
}

void chime__sqlite_pending_clear(struct sqlite_store *ss)
{
    for (size_t i = 0; i < ss->n_pending; i++)
        chime_run_release(&ss->pending[i]);
    ss->n_pending = 0;
}

int chime__sqlite_flush(struct sqlite_store *ss)
{
    chime__sqlite_wait_db(ss); /* a group of adds may be using the connection */
    if (!ss->n_pending)
        return 0;
    int rc = chime__sqlite_exec_stmt(ss->st[ST_BEGIN]) == SQLITE_OK ? 0 : CHIME_ESTORE;
    if (rc == 0)
        rc = chime__sqlite_write_pending(ss);
    if (rc == 0 && chime__sqlite_exec_stmt(ss->st[ST_COMMIT]) != SQLITE_OK)
        rc = CHIME_ESTORE;
    if (rc < 0) {
        chime__log(CHIME_LOG_ERROR, "sqlite store: writing %zu finished runs failed: %s",
                   ss->n_pending, sqlite3_errmsg(ss->db));
        if (!sqlite3_get_autocommit(ss->db))
            chime__sqlite_exec_stmt(ss->st[ST_ROLLBACK]);
        return rc;
    }
    chime__sqlite_pending_clear(ss);
    return 0;
}

static struct timespec deadline_in_ms(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

static void *flusher_main(void *arg)
{
    struct sqlite_store *ss = arg;
    pthread_mutex_lock(&ss->lock);
    while (!ss->stopping) {
        if (!ss->n_pending) {
            pthread_cond_wait(&ss->wake, &ss->lock);
            continue;
        }
        struct timespec deadline = deadline_in_ms(FLUSH_DELAY_MS);
        while (!ss->stopping && ss->n_pending &&
               pthread_cond_timedwait(&ss->wake, &ss->lock, &deadline) != ETIMEDOUT)
            ;
        chime__sqlite_flush(ss);
    }
    pthread_mutex_unlock(&ss->lock);
    return NULL;
}

int chime__sqlite_flusher_start(struct sqlite_store *ss)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&ss->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&ss->flusher, NULL, flusher_main, ss) != 0) {
        pthread_cond_destroy(&ss->wake);
        return CHIME_ENOMEM;
    }
    ss->flusher_started = true;
    return 0;
}

void chime__sqlite_flusher_stop(struct sqlite_store *ss)
{
    if (ss->flusher_started) {
        pthread_mutex_lock(&ss->lock);
        ss->stopping = true;
        pthread_cond_signal(&ss->wake);
        pthread_mutex_unlock(&ss->lock);
        pthread_join(ss->flusher, NULL);
        pthread_cond_destroy(&ss->wake);
        ss->flusher_started = false;
    }
    chime__sqlite_flush(ss);
    chime__sqlite_pending_clear(ss); /* logged by flush if it could not be written */
}

/* Queues a copy of the finish. 0 or CHIME_ENOMEM. */
static int queue_finish(struct sqlite_store *ss, const struct chime_run *run)
{
    int rc = chime__grow((void **)&ss->pending, &ss->cap_pending, ss->n_pending + 1,
                         sizeof(*ss->pending));
    if (rc == 0)
        rc = chime_run_copy(&ss->pending[ss->n_pending], run);
    if (rc < 0)
        return rc;
    if (++ss->n_pending == 1 && ss->flusher_started)
        pthread_cond_signal(&ss->wake);
    return 0;
}

/* finish_run with the lock held. */
static int finish_locked(struct sqlite_store *ss, const struct chime_run *run)
{
    if (!chime__run_set_remove(&ss->running, run->id))
        return CHIME_ENOENT; /* not a running run of this store */
    int rc = queue_finish(ss, run);
    if (rc < 0) {
        chime__run_set_add(&ss->running, run->id); /* the slot it just left */
        return rc;
    }
    struct chime__index_entry *e = run->job_id ? chime__index_find(&ss->idx, run->job_id) : NULL;
    if (e && e->n_running > 0)
        e->n_running--;
    if (chime__sqlite_queue_retry(ss, run) < 0)
        chime__log(CHIME_LOG_ERROR,
                   "sqlite store: out of memory: the retry of run %lld waits "
                   "for a restart",
                   (long long)run->id);
    if (ss->n_pending >= FLUSH_AT)
        chime__sqlite_flush(ss);
    return 0;
}

int chime__sqlite_finish_run(struct chime_store *store, const struct chime_run *run)
{
    struct sqlite_store *ss = (struct sqlite_store *)store;
    chime__sqlite_lock_db(ss);
    int rc = finish_locked(ss, run);
    pthread_mutex_unlock(&ss->lock);
    return rc;
}

int chime__sqlite_finish_runs(struct chime_store *store, const struct chime_run *const *runs,
                              size_t n, int *out_rcs)
{
    struct sqlite_store *ss = (struct sqlite_store *)store;
    int first = 0;
    chime__sqlite_lock_db(ss);
    for (size_t i = 0; i < n; i++) {
        int rc = finish_locked(ss, runs[i]);
        if (out_rcs)
            out_rcs[i] = rc;
        if (rc < 0 && first == 0)
            first = rc;
    }
    pthread_mutex_unlock(&ss->lock);
    return first;
}
