/*
 * The SQLite store's schema as numbered migrations, and the code that
 * applies them at open. The schema_version table holds the number of the
 * last migration applied; a file with a lower number gets the missing ones,
 * all in one transaction (a failed step leaves the file as it was).
 * Columns are readable by a person with the sqlite3 shell: times are
 * integer UTC microseconds, and the *_readable views show them as ISO 8601.
 */
#include <stdio.h>

#include "base/base.h"
#include "store/store_sqlite.h"

const char *const chime__sqlite_migrations[] = {
    /* 1: jobs and runs. */
    "CREATE TABLE jobs ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " name TEXT NOT NULL,"
    " func TEXT NOT NULL,"
    " args TEXT NOT NULL DEFAULT '[]',"
    " kwargs TEXT NOT NULL DEFAULT '{}',"
    " trigger TEXT NOT NULL,"
    " trigger_args TEXT NOT NULL,"
    " next_run_time INTEGER,"
    " paused INTEGER NOT NULL DEFAULT 0,"
    " coalesce INTEGER NOT NULL DEFAULT -1,"
    " misfire_grace_time INTEGER NOT NULL DEFAULT -1,"
    " max_instances INTEGER NOT NULL DEFAULT -1,"
    " jobstore TEXT NOT NULL DEFAULT 'default',"
    " broken TEXT,"
    " version INTEGER NOT NULL DEFAULT 1,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX jobs_next_run_time ON jobs(next_run_time);"
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " job_id TEXT NOT NULL,"
    " scheduled_time INTEGER NOT NULL,"
    " started_at INTEGER,"
    " finished_at INTEGER,"
    " status TEXT NOT NULL,"
    " cause TEXT NOT NULL DEFAULT 'schedule',"
    " attempt INTEGER NOT NULL DEFAULT 1,"
    " node TEXT,"
    " error TEXT,"
    " output TEXT);"
    "CREATE INDEX runs_job ON runs(job_id, id);"
    "CREATE INDEX runs_status ON runs(status);",
    /* 2: views for people: the same columns with times as ISO 8601 UTC text. */
    "CREATE VIEW jobs_readable AS SELECT id, name, func, args, kwargs, trigger, trigger_args,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', next_run_time / 1000000.0, 'unixepoch') AS next_run_time,"
    " paused, coalesce, misfire_grace_time, max_instances, jobstore, broken, version,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000000.0, 'unixepoch') AS created_at,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', updated_at / 1000000.0, 'unixepoch') AS updated_at"
    " FROM jobs;"
    "CREATE VIEW runs_readable AS SELECT id, job_id,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', scheduled_time / 1000000.0, 'unixepoch') AS scheduled_time,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', started_at / 1000000.0, 'unixepoch') AS started_at,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', finished_at / 1000000.0, 'unixepoch') AS finished_at,"
    " status, cause, attempt, node, error, output FROM runs;",
    /* 3: what a run's command exited with, and a webhook's HTTP status. */
    "ALTER TABLE runs ADD COLUMN exit_code INTEGER;"
    "ALTER TABLE runs ADD COLUMN http_status INTEGER;"
    "DROP VIEW runs_readable;"
    "CREATE VIEW runs_readable AS SELECT id, job_id,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', scheduled_time / 1000000.0, 'unixepoch') AS scheduled_time,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', started_at / 1000000.0, 'unixepoch') AS started_at,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', finished_at / 1000000.0, 'unixepoch') AS finished_at,"
    " status, cause, attempt, node, error, output, exit_code, http_status FROM runs;",
    /* 4: the run options: time limit, retries with backoff and jitter, overlap. */
    "ALTER TABLE jobs ADD COLUMN timeout INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN retry_backoff INTEGER NOT NULL DEFAULT 10;"
    "ALTER TABLE jobs ADD COLUMN retry_jitter INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN overlap TEXT NOT NULL DEFAULT 'skip';"
    "DROP VIEW jobs_readable;"
    "CREATE VIEW jobs_readable AS SELECT id, name, func, args, kwargs, trigger, trigger_args,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', next_run_time / 1000000.0, 'unixepoch') AS next_run_time,"
    " paused, coalesce, misfire_grace_time, max_instances, timeout, retries, retry_backoff,"
    " retry_jitter, overlap, jobstore, broken, version,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000000.0, 'unixepoch') AS created_at,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', updated_at / 1000000.0, 'unixepoch') AS updated_at"
    " FROM jobs;",
    /* 5: retries waiting to start: the next attempt of a scheduled time, due at due_at. */
    "CREATE TABLE retries ("
    " job_id TEXT NOT NULL,"
    " scheduled_time INTEGER NOT NULL,"
    " attempt INTEGER NOT NULL,"
    " due_at INTEGER NOT NULL,"
    " cause TEXT NOT NULL DEFAULT 'schedule',"
    " PRIMARY KEY (job_id, scheduled_time, attempt));",
};

const int chime__sqlite_n_migrations =
        (int)(sizeof(chime__sqlite_migrations) / sizeof(chime__sqlite_migrations[0]));

static int current_version(sqlite3 *db, int *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &st,
                                NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

static int apply_from(sqlite3 *db, int version)
{
    int rc = SQLITE_OK;
    for (int i = version; rc == SQLITE_OK && i < chime__sqlite_n_migrations; i++) {
        rc = sqlite3_exec(db, chime__sqlite_migrations[i], NULL, NULL, NULL);
        if (rc == SQLITE_OK) {
            char sql[96];
            snprintf(sql, sizeof(sql),
                     "DELETE FROM schema_version; INSERT INTO schema_version VALUES (%d)", i + 1);
            rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        }
    }
    return rc;
}

int chime__sqlite_migrate(sqlite3 *db, struct chime_diag *diag)
{
    int version = 0;
    int rc = sqlite3_exec(db,
                          "BEGIN IMMEDIATE;"
                          "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
                          NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = current_version(db, &version);
    if (rc == SQLITE_OK && version > chime__sqlite_n_migrations) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return chime_diag_set(diag, CHIME_ESTORE, "DATABASE_URL",
                              "the database has schema version %d, newer than this chime (%d)",
                              version, chime__sqlite_n_migrations);
    }
    if (rc == SQLITE_OK)
        rc = apply_from(db, version);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return 0;
    const char *msg = sqlite3_errmsg(db);
    chime_diag_set(diag, CHIME_ESTORE, "DATABASE_URL", "migrating the database failed: %s", msg);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return CHIME_ESTORE;
}
