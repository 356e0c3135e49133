/*
 * WAL checkpoints off the request path. SQLite's automatic checkpoint runs
 * inside the commit that crosses 1,000 WAL pages, so a job add would wait
 * for two fsyncs (4-13 ms each on a busy disk) while holding the store lock:
 * that was the latency tail of POST /schedule/jobs. Instead the main
 * connection's WAL hook wakes a checkpointer thread, which copies the WAL
 * into the database with its own connection (a PASSIVE checkpoint never
 * blocks the writer). Under sustained writes new frames arrive while it
 * copies, so the WAL could never be restarted and would grow without end:
 * once it is past RESTART_PAGES the checkpointer finishes the copy while
 * holding the store lock (the writer waits once), and the next commit
 * starts the WAL again from its beginning. Nearly all of that wait was the
 * final fsync of the database file: SQLite syncs the database only after a
 * checkpoint that copied the whole WAL, so every page copied by the
 * unlocked passes since the last restart was still dirty. So before taking
 * the lock the checkpointer catches up (passes until only a few pages are
 * left) and syncs the database file itself; the locked pass then copies and
 * syncs only the last few pages (held ~3 ms instead of ~11 ms; bench/README.md).
 * Durability is unchanged: commits still go to the WAL exactly as before,
 * and an extra fsync never weakens it.
 */
#include <string.h>

#include "base/base.h"
#include "store/store_sqlite.h"

/* Wake the checkpointer after this many new WAL pages (SQLite's own default). */
#define CKPT_AT_PAGES 1000
/* Past this many pages, finish the copy under the store lock (64 MiB of 4 KiB pages). */
#define RESTART_PAGES 16384
/* Before the locked pass: at most this many unlocked passes, until fewer
 * than CATCH_UP_REST pages are left to copy. */
#define CATCH_UP_PASSES 16
#define CATCH_UP_REST   16

/* Called by SQLite after each commit of the main connection (by a group
 * commit's leader without the store lock: the fields have their own mutex). */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int n_pages)
{
    (void)db;
    (void)name;
    struct sqlite_store *ss = arg;
    pthread_mutex_lock(&ss->ckpt_mu);
    ss->wal_pages = n_pages;
    if (n_pages < ss->ckpt_mark)
        ss->ckpt_mark = 0; /* the WAL was restarted */
    if (n_pages - ss->ckpt_mark >= CKPT_AT_PAGES && !ss->ckpt_wanted) {
        ss->ckpt_wanted = true;
        pthread_cond_signal(&ss->ckpt_wake);
    }
    pthread_mutex_unlock(&ss->ckpt_mu);
    return SQLITE_OK;
}

/* One PASSIVE checkpoint; the number of WAL frames copied so far. */
static int checkpoint(struct sqlite_store *ss, bool locked)
{
    int n_log = 0, n_done = 0;
    int rc = sqlite3_wal_checkpoint_v2(ss->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &n_log,
                                       &n_done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        chime__log(CHIME_LOG_WARN, "sqlite store: checkpoint%s failed: %s",
                   locked ? " (under the lock)" : "", sqlite3_errmsg(ss->ckpt_db));
    return n_done;
}

static int wal_pages_now(struct sqlite_store *ss)
{
    pthread_mutex_lock(&ss->ckpt_mu);
    int n = ss->wal_pages;
    pthread_mutex_unlock(&ss->ckpt_mu);
    return n;
}

/* Unlocked passes until the writer is only a few pages ahead. */
static void catch_up(struct sqlite_store *ss)
{
    for (int i = 0; i < CATCH_UP_PASSES; i++) {
        int n_done = checkpoint(ss, false);
        if (wal_pages_now(ss) - n_done < CATCH_UP_REST)
            return;
    }
}

/* fsync of the database file through the checkpointer's connection, so the
 * locked pass's own sync finds only the pages it copied itself. */
static void sync_db_file(struct sqlite_store *ss)
{
    sqlite3_file *file = NULL;
    if (sqlite3_file_control(ss->ckpt_db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
        !file || !file->pMethods)
        return;
    if (file->pMethods->xSync(file, SQLITE_SYNC_NORMAL) != SQLITE_OK)
        chime__log(CHIME_LOG_WARN, "sqlite store: syncing the database file failed");
}

/* One pass, then the final copy under the store lock if the WAL is too long. */
static void checkpoint_pass(struct sqlite_store *ss)
{
    checkpoint(ss, false);
    if (wal_pages_now(ss) < RESTART_PAGES)
        return;
    catch_up(ss);
    sync_db_file(ss);
    catch_up(ss); /* what was written during the sync */
    chime__sqlite_lock_db(ss);
    checkpoint(ss, true); /* no writer now: copies the rest, the WAL restarts */
    pthread_mutex_unlock(&ss->lock);
    pthread_mutex_lock(&ss->ckpt_mu);
    ss->wal_pages = ss->ckpt_mark = 0;
    pthread_mutex_unlock(&ss->ckpt_mu);
}

static void *ckpt_main(void *arg)
{
    struct sqlite_store *ss = arg;
    pthread_mutex_lock(&ss->ckpt_mu);
    while (!ss->ckpt_stop) {
        if (!ss->ckpt_wanted) {
            pthread_cond_wait(&ss->ckpt_wake, &ss->ckpt_mu);
            continue;
        }
        ss->ckpt_wanted = false;
        ss->ckpt_mark = ss->wal_pages; /* the next pass when as much again was written */
        pthread_mutex_unlock(&ss->ckpt_mu);
        checkpoint_pass(ss);
        pthread_mutex_lock(&ss->ckpt_mu);
    }
    pthread_mutex_unlock(&ss->ckpt_mu);
    return NULL;
}

int chime__sqlite_ckpt_start(struct sqlite_store *ss, const char *path)
{
    if (!*path || !strcmp(path, ":memory:"))
        return 0; /* no WAL: SQLite's own handling is all there is */
    if (sqlite3_open_v2(path, &ss->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        goto out_close;
    sqlite3_busy_timeout(ss->ckpt_db, 0);
    /* Reading the schema makes the connection see the WAL (else it checkpoints nothing). */
    if (sqlite3_exec(ss->ckpt_db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) !=
        SQLITE_OK)
        goto out_close;
    pthread_cond_init(&ss->ckpt_wake, NULL);
    if (pthread_create(&ss->ckpt, NULL, ckpt_main, ss) != 0) {
        pthread_cond_destroy(&ss->ckpt_wake);
        goto out_close;
    }
    ss->ckpt_started = true;
    sqlite3_wal_hook(ss->db, wal_hook, ss);
    return 0;
out_close:
    sqlite3_close(ss->ckpt_db);
    ss->ckpt_db = NULL;
    return 0; /* not fatal: SQLite's automatic checkpoint stays on */
}

void chime__sqlite_ckpt_stop(struct sqlite_store *ss)
{
    if (!ss->ckpt_started)
        return;
    pthread_mutex_lock(&ss->ckpt_mu);
    ss->ckpt_stop = true;
    pthread_cond_signal(&ss->ckpt_wake);
    pthread_mutex_unlock(&ss->ckpt_mu);
    pthread_join(ss->ckpt, NULL);
    pthread_cond_destroy(&ss->ckpt_wake);
    sqlite3_wal_hook(ss->db, NULL, NULL);
    sqlite3_close(ss->ckpt_db);
    ss->ckpt_db = NULL;
    ss->ckpt_started = false;
}
