/*
 * Internals of the SQLite store shared by its files: the store struct (one
 * connection behind one mutex, the job index mirroring the jobs table, the
 * prepared statements reused by every call) and the numbered migrations.
 */
#ifndef CHIME_STORE_SQLITE_H
#define CHIME_STORE_SQLITE_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/index.h"
#include "store/retry_list.h"
#include "store/store.h"

/* The schema, one step per entry: migration i (1-based) is chime__sqlite_migrations[i - 1]. */
extern const char *const chime__sqlite_migrations[];
extern const int chime__sqlite_n_migrations;

enum sqlite_stmt {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_INSERT_JOB,
    ST_UPDATE_JOB,
    ST_DELETE_JOB,
    ST_SET_NEXT,
    ST_INSERT_RUN,
    ST_FINISH_RUN,
    ST_N,
};

struct sqlite_store {
    struct chime_store base;
    pthread_mutex_t lock;
    sqlite3 *db;
    sqlite3_stmt *st[ST_N];
    struct chime__index idx;
    struct chime_job_defaults defaults;
    struct chime__run_set running;
    struct chime__retry_list retries; /* waiting to start (store_sqlite_retry.c) */
    struct chime__retry_list queued;  /* overlap-queue fires waiting (attempt 1 rows) */
    /* Finished runs not yet written (group commit; see store_sqlite_finish.c). */
    struct chime_run *pending;
    size_t n_pending;
    size_t cap_pending;
    pthread_cond_t wake;
    pthread_t flusher;
    bool flusher_started;
    bool stopping;
    /* Job adds waiting for the next group commit (see store_sqlite_group.c). */
    struct chime__sqlite_add *adds, **adds_tail;
    bool writing;        /* a group is being written: the connection is busy */
    pthread_cond_t idle; /* broadcast when a group is decided */
    /* WAL checkpoints in a thread of their own (see store_sqlite_ckpt.c). */
    sqlite3 *ckpt_db;
    pthread_t ckpt;
    pthread_cond_t ckpt_wake;
    pthread_mutex_t ckpt_mu; /* guards the checkpoint fields below and ckpt_wake */
    int wal_pages;           /* pages in the WAL after the last commit */
    int ckpt_mark;           /* wal_pages when the last checkpoint pass started */
    bool ckpt_started, ckpt_wanted, ckpt_stop;
    uint64_t n_lost_at_open; /* runs a previous process left running, marked lost at open */
    int lock_fd;             /* the file's flock while open (store_sqlite_lock.c); -1: none */
};

/** Takes the exclusive flock of the database file into *out_fd (-1 when the file
 * or its file system allows none). CHIME_ESTORE with diag when another process
 * holds it. */
int chime__sqlite_lock_file(const char *path, int *out_fd, struct chime_diag *diag);

/** Applies the migrations the file lacks, in one transaction. 0 or CHIME_ESTORE. */
int chime__sqlite_migrate(sqlite3 *db, struct chime_diag *diag);
/** Loads every job row into the index. 0, CHIME_ENOMEM or CHIME_ESTORE. */
int chime__sqlite_load_jobs(struct sqlite_store *ss);
/** Runs one prepared statement to completion and resets it; SQLite's code. */
int chime__sqlite_exec_stmt(sqlite3_stmt *st);

/* Schedule and run operations (store_sqlite_runs.c). */
int chime__sqlite_claim_due(struct chime_store *store, const struct chime_claim_request *req,
                            struct chime_claim_batch *out);
int chime__sqlite_claim_now(struct chime_store *store, const char *id,
                            const struct chime_claim_request *req, struct chime_claim_batch *out);
/* Group commit of finished runs (store_sqlite_finish.c). */
int chime__sqlite_flusher_start(struct sqlite_store *ss);
/** Stops the flusher thread and writes what is pending. Call without the lock. */
void chime__sqlite_flusher_stop(struct sqlite_store *ss);
/** Writes the pending finishes inside the caller's open transaction. 0 or CHIME_ESTORE. */
int chime__sqlite_write_pending(struct sqlite_store *ss);
/** Forgets the pending finishes once the transaction that wrote them committed. */
void chime__sqlite_pending_clear(struct sqlite_store *ss);
/** Writes the pending finishes in their own transaction (lock held). 0 or CHIME_ESTORE. */
int chime__sqlite_flush(struct sqlite_store *ss);
/* Group commit of adds (store_sqlite_group.c). Lock the store with lock_db
 * (or call wait_db with the lock held) before using the connection. */
void chime__sqlite_lock_db(struct sqlite_store *ss);
void chime__sqlite_wait_db(struct sqlite_store *ss);
/** Queues a prepared new entry and returns once its row is committed (0, linked
 * into the index) or refused (EEXIST, ESTORE, ENOMEM; entry freed). Lock held. */
int chime__sqlite_add_grouped(struct sqlite_store *ss, struct chime__index_entry *entry);
void chime__sqlite_bind_entry(sqlite3_stmt *st, const struct chime__index_entry *e);
/* Background WAL checkpoints (store_sqlite_ckpt.c). Start never fails the open:
 * without the thread SQLite's automatic checkpoint stays on. Stop without the lock. */
int chime__sqlite_ckpt_start(struct sqlite_store *ss, const char *path);
void chime__sqlite_ckpt_stop(struct sqlite_store *ss);
int chime__sqlite_finish_run(struct chime_store *store, const struct chime_run *run);
int chime__sqlite_finish_runs(struct chime_store *store, const struct chime_run *const *runs,
                              size_t n, int *out_rcs);
int chime__sqlite_list_runs(struct chime_store *store, const struct chime_run_filter *filter,
                            chime_run_visit_fn visit, void *ctx);
/* Retries (store_sqlite_retry.c). */
int chime__sqlite_claim_retries(struct chime_store *store, const struct chime_claim_request *req,
                                struct chime_claim_batch *out);
int chime__sqlite_next_retry(struct chime_store *store, chime_utime *out);
/** Adds the retry a finishing run asks for (if any) to the list. 0 or CHIME_ENOMEM. */
int chime__sqlite_queue_retry(struct sqlite_store *ss, const struct chime_run *run);
/** Writes a finished run's retry row (inside the open transaction). 0 or CHIME_ESTORE. */
int chime__sqlite_write_retry(struct sqlite_store *ss, const struct chime_run *run);
/* Inside the open transaction: the row of a queued fire (overlap queue, attempt 1). */
int chime__sqlite_write_queued(struct sqlite_store *ss, const struct chime__retry *q);
/* Inside the open transaction: deletes the retries row of q (a claimed retry, a displaced
 * queued fire). */
int chime__sqlite_delete_retry(struct sqlite_store *ss, const struct chime__retry *q);
/** Loads the retries table into the list (at open). */
int chime__sqlite_load_retries(struct sqlite_store *ss);
/** Inserts a claimed run row (its id set). 0 or CHIME_ESTORE (also for a duplicate). */
int chime__sqlite_insert_run(struct sqlite_store *ss, struct chime_run *run);
int chime__sqlite_prune_runs(struct chime_store *store, chime_utime before, size_t keep_per_job);

#endif /* CHIME_STORE_SQLITE_H */
