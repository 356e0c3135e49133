/*
 * Internals of the PostgreSQL store shared by its files: the store struct
 * (a small pool of libpq connections, each with the hot statements
 * prepared, reconnected with backoff when the server goes away), the
 * maintenance connection (LISTEN for job changes made through any node,
 * the heartbeat of this node, the reaping of runs held by dead nodes), and
 * the helpers every file uses. Unlike the memory and SQLite stores it keeps
 * no job in memory: the database answers every read and decides what is
 * due (its clock, FOR UPDATE SKIP LOCKED), because other nodes change the
 * same rows. Times cross the wire as integer UTC microseconds; the schema's
 * chime_ts()/chime_us() turn them into timestamptz columns and back.
 */
#ifndef CHIME_STORE_PG_H
#define CHIME_STORE_PG_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#include "store/store.h"

#define CHIME__PG_POOL_MAX    8
#define CHIME__PG_CHANNEL     "chime_jobs"
#define CHIME__PG_MAX_ORPHANS 64

/* The statements prepared on every pooled connection (named "chime_<index>"). */
#define CHIME__PG_STMT_MAP(X) \
    X(PG_GET_JOB)             \
    X(PG_INSERT_JOB)          \
    X(PG_UPSERT_JOB)          \
    X(PG_UPDATE_JOB)          \
    X(PG_DELETE_JOB)          \
    X(PG_NEXT_DUE)            \
    X(PG_CLAIM_LOCK)          \
    X(PG_CLAIM_SELECT)        \
    X(PG_CLAIM_LOCK_ONE)      \
    X(PG_CLAIM_WRITE)         \
    X(PG_FINISH_RUNS)         \
    X(PG_CLAIM_LOCK_RETRIES)  \
    X(PG_CLAIM_RETRIES)       \
    X(PG_NEXT_RETRY)          \
    X(PG_MARK_REPLACED)       \
    X(PG_REPLACED_RUNS)

enum pg_stmt {
#define CHIME__PG_STMT_ENUM(name) name,
    CHIME__PG_STMT_MAP(CHIME__PG_STMT_ENUM)
#undef CHIME__PG_STMT_ENUM
            PG_N_STMTS,
};

struct pg_conn {
    PGconn *conn; /* NULL: connect before use */
    bool in_use;
};

struct pg_store {
    struct chime_store base;
    char *conninfo; /* the URL given to libpq */
    char *node;     /* this node's name (runs, heartbeats) */
    int64_t heartbeat_ms;
    int64_t node_timeout_ms;
    struct chime_job_defaults defaults;

    pthread_mutex_t mu; /* guards the pool, the backoff and last_error */
    pthread_cond_t freed;
    struct pg_conn pool[CHIME__PG_POOL_MAX];
    int64_t retry_at_ms; /* monotonic: no new connection attempt before this */
    int64_t backoff_ms;
    char last_error[256];
    int64_t orphans[CHIME__PG_MAX_ORPHANS]; /* claim tokens of unanswered COMMITs */
    size_t n_orphans;
    struct chime_run *pending; /* outcomes not yet written (server away) */
    size_t n_pending, pending_cap;

    atomic_bool up;                /* the last round trip reached the server */
    atomic_bool set_up;            /* schema migrated and node registered (see open) */
    atomic_int_fast64_t offset_us; /* database clock minus local clock, at the last claim */
    /* A run was marked replaced (overlap replace, NOTIFY 'replace'): the next claim looks
     * for this node's running runs to stop. Set at open (runs marked while away). */
    atomic_bool replace_pending;

    /* Metrics (chime__pg_stats): relaxed counters. */
    atomic_uint_fast64_t n_claims, n_claimed_runs, n_claim_conflicts, n_claim_failures;
    atomic_uint_fast64_t n_runs_lost;

    /* Maintenance thread (store_pg_node.c). */
    pthread_t maint;
    bool maint_started;
    int stop_pipe[2];
    pthread_mutex_t wake_mu; /* guards wake_fn/wake_ctx against set_wake */
    chime_store_wake_fn wake_fn;
    void *wake_ctx;
};

static inline struct pg_store *chime__pg_of(struct chime_store *store)
{
    return (struct pg_store *)store;
}

/* --- connections (store_pg_conn.c) --- */

/** Opens one connection and sets it up (UTC, quiet notices); NULL with err filled. */
PGconn *chime__pg_connect(const char *conninfo, char *err, size_t n_err);
/** A pooled connection, connected and prepared; NULL (store marked down) when unreachable. */
struct pg_conn *chime__pg_acquire(struct pg_store *ps);
/** Makes conn (connected, idle) a prepared pooled connection; false: not taken (still yours). */
bool chime__pg_pool_adopt(struct pg_store *ps, PGconn *conn);
/** Gives the connection back; a broken one is closed (reconnected at next acquire). */
void chime__pg_release(struct pg_store *ps, struct pg_conn *c);
/** Closes every pooled connection (at store close). */
void chime__pg_pool_close(struct pg_store *ps);
/**
 * Runs prepared statement st (text params, NULL = SQL NULL) and returns its result when
 * the status is want; otherwise logs, records the error, clears and returns NULL with
 * *rc CHIME_ESTORE (CHIME_EINVAL for data the server refused, SQLSTATE class 22).
 */
PGresult *chime__pg_exec(struct pg_store *ps, struct pg_conn *c, enum pg_stmt st, int n,
                         const char *const *params, ExecStatusType want, int *rc);
/** One statement of a pipeline: sql (text, no parameters) or else prepared stmt. */
struct pg_step {
    const char *sql;
    enum pg_stmt stmt;
    int n;
    const char *const *params;
    ExecStatusType want;
};
/**
 * Sends the n steps in one pipeline (one round trip) and reads their results:
 * res[i] is step i's result when every step answered its want; otherwise every
 * res[i] is NULL and the error is CHIME_ESTORE (or CHIME_EINVAL as above). The
 * steps after a failed one are skipped by the server. When the connection broke,
 * PQstatus is CONNECTION_BAD and any step may or may not have run.
 */
int chime__pg_pipeline(struct pg_store *ps, struct pg_conn *c, const struct pg_step *steps,
                       size_t n, PGresult **res);
/** The same for SQL text (unprepared, for the rare statements). */
PGresult *chime__pg_exec_sql(struct pg_store *ps, PGconn *conn, const char *sql, int n,
                             const char *const *params, ExecStatusType want, int *rc);
/** Runs commands without parameters or rows (BEGIN, COMMIT...); 0 or CHIME_ESTORE. */
int chime__pg_command(struct pg_store *ps, PGconn *conn, const char *sql);
/** Records a failure seen on conn (logged once per outage) and marks the store down. */
void chime__pg_note_error(struct pg_store *ps, PGconn *conn, const char *what);

/* --- schema (store_pg_schema.c) --- */

/** Applies the missing migrations under an advisory lock. 0 or CHIME_ESTORE with diag. */
int chime__pg_migrate(struct pg_store *ps, PGconn *conn, struct chime_diag *diag);
/** The SQL of the prepared statements. */
extern const char *const chime__pg_stmt_sql[PG_N_STMTS];

/* --- jobs (store_pg_jobs.c) --- */

/** Rebuilds a job from a row's spec (col), next run (col+1) and version (col+2). */
int chime__pg_row_job(struct pg_store *ps, const PGresult *res, int row, int col,
                      struct chime_job *out);
extern const struct chime_store_ops chime__pg_ops;
int chime__pg_add_job(struct chime_store *store, const struct chime_job *job, bool replace);
int chime__pg_update_job(struct chime_store *store, const struct chime_job *job);
int chime__pg_remove_job(struct chime_store *store, const char *id);
int chime__pg_get_job(struct chime_store *store, const char *id, struct chime_job *out);
int chime__pg_list_jobs(struct chime_store *store, const struct chime_job_page *page,
                        chime_job_visit_fn visit, void *ctx);
size_t chime__pg_count_jobs(struct chime_store *store);
int chime__pg_next_due(struct chime_store *store, chime_utime *out);
int chime__pg_count_by_state(struct chime_store *store, size_t *out_scheduled,
                             size_t *out_paused);
void chime__pg_stats(struct chime_store *store, struct chime_store_stats *out);

/* --- claims (store_pg_claim.c) --- */
int chime__pg_claim_due(struct chime_store *store, const struct chime_claim_request *req,
                        struct chime_claim_batch *out);
int chime__pg_claim_now(struct chime_store *store, const char *id,
                        const struct chime_claim_request *req, struct chime_claim_batch *out);
int chime__pg_claim_retries(struct chime_store *store, const struct chime_claim_request *req,
                            struct chime_claim_batch *out);
int chime__pg_next_retry(struct chime_store *store, chime_utime *out);

/* --- runs (store_pg_runs.c) --- */
int chime__pg_finish_runs(struct chime_store *store, const struct chime_run *const *runs, size_t n,
                          int *out_rcs);
int chime__pg_finish_run(struct chime_store *store, const struct chime_run *run);
int chime__pg_list_runs(struct chime_store *store, const struct chime_run_filter *filter,
                        chime_run_visit_fn visit, void *ctx);
int chime__pg_prune_runs(struct chime_store *store, chime_utime before, size_t keep_per_job);
/** Writes the queued outcomes, if any; 0 or the error (they stay queued). */
int chime__pg_flush_pending(struct pg_store *ps);
/** Fills run from a row of the runs columns (CHIME__PG_RUN_COLS) from col. */
int chime__pg_row_run(const PGresult *res, int row, int col, struct chime_run *run);
#define CHIME__PG_RUN_COLS                                                                        \
    "id, job_id, chime_us(scheduled_time), chime_us(started_at), chime_us(finished_at), status, " \
    "cause, attempt, node, error, output, exit_code, http_status"

/* --- opening (store_pg.c) --- */
/**
 * The first round trip: reachable, schema up to date, this node registered; sets
 * ps->set_up. 0, or CHIME_ESTORE with diag and *unreachable true when no server
 * answered at all (down, starting, shutting down: waiting can heal that), false
 * for any other failure (bad URL, authentication, no such database, schema).
 */
int chime__pg_setup(struct pg_store *ps, struct chime_diag *diag, bool *unreachable);

/* --- nodes (store_pg_node.c) --- */
/** Registers this node and marks the runs a previous process of it left running lost. */
int chime__pg_node_register(struct pg_store *ps, PGconn *conn, struct chime_diag *diag);
int chime__pg_maint_start(struct pg_store *ps);
void chime__pg_maint_stop(struct pg_store *ps);
void chime__pg_set_wake(struct chime_store *store, chime_store_wake_fn fn, void *ctx);
bool chime__pg_healthy(struct chime_store *store, const char **detail);
int chime__pg_list_nodes(struct chime_store *store, chime_node_visit_fn visit, void *ctx);

/* --- text helpers (store_pg_conn.c) --- */
/** Decimal text of v into buf. */
const char *chime__pg_i64(int64_t v, char buf[24]);
/** An integer column; def when NULL. */
int64_t chime__pg_get_i64(const PGresult *res, int row, int col, int64_t def);
/** A text column copied (NULL when SQL NULL); *ok false on out of memory. */
char *chime__pg_get_str(const PGresult *res, int row, int col, bool *ok);
/** Monotonic milliseconds. */
int64_t chime__pg_mono_ms(void);

#endif /* CHIME_STORE_PG_H */
