/*
 * The PostgreSQL store's connections: a small pool (one connection per
 * concurrent caller: the scheduler loop, the workers' finishes, the HTTP
 * threads), each connection opened lazily with the hot statements
 * prepared. A connection that fails is closed and reopened at its next
 * use; while the server is unreachable, attempts are spaced by a backoff
 * (100 ms doubling to 5 s) so callers fail fast instead of piling up on
 * connect timeouts. Errors are logged once per outage, not per call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "store/store_pg.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

int64_t chime__pg_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "relation already exists, skipping" and the like */
}

PGconn *chime__pg_connect(const char *conninfo, char *err, size_t n_err)
{
    PGconn *conn = PQconnectdb(conninfo);
    if (!conn) {
        chime__strlcpy(err, "out of memory", n_err);
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        chime__strlcpy(err, PQerrorMessage(conn), n_err);
        err[strcspn(err, "\n")] = '\0';
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, quiet_notice, NULL);
    /* Custom plans only: the prepared statements are planned on each execution with
     * the tables' current sizes. A generic plan is cached after five executions and
     * kept until the next ANALYZE of the table, so one made while runs was nearly
     * empty (a new database, the minute before autovacuum comes) scanned all of runs
     * for every batch of finishes. Planning costs well under a millisecond a batch.
     * No bitmap scans: chime's statements are key lookups and ordered range scans,
     * and a bitmap scan never marks the dead index entries it meets (a plain index
     * scan does, and later scans skip them). Every run adds an entry to the runs
     * indexes that its finish makes dead, so bitmap scans of them re-read every
     * run recorded since the last vacuum. */
    PGresult *res = PQexec(conn, "SET TIME ZONE 'UTC'; SET plan_cache_mode = force_custom_plan;"
                                 " SET enable_bitmapscan = off");
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        chime__strlcpy(err, PQerrorMessage(conn), n_err);
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

static int prepare_all(PGconn *conn, char *err, size_t n_err)
{
    for (int i = 0; i < PG_N_STMTS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "chime_%d", i);
        PGresult *res = PQprepare(conn, name, chime__pg_stmt_sql[i], 0, NULL);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            snprintf(err, n_err, "preparing statement %d: %s", i, PQresultErrorMessage(res));
        PQclear(res);
        if (!ok)
            return CHIME_ESTORE;
    }
    return 0;
}

static void mark_up(struct pg_store *ps)
{
    if (!atomic_exchange(&ps->up, true))
        chime__log(CHIME_LOG_INFO, "PostgreSQL store: connected");
}

void chime__pg_note_error(struct pg_store *ps, PGconn *conn, const char *what)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "%s: %s", what, conn ? PQerrorMessage(conn) : "no connection");
    msg[strcspn(msg, "\n")] = '\0';
    bool lost = !conn || PQstatus(conn) == CONNECTION_BAD;
    if (lost && atomic_exchange(&ps->up, false))
        chime__log(CHIME_LOG_ERROR, "PostgreSQL store unreachable: %s", msg);
    else if (!lost)
        chime__log(CHIME_LOG_ERROR, "PostgreSQL store: %s", msg);
    pthread_mutex_lock(&ps->mu);
    chime__strlcpy(ps->last_error, msg, sizeof(ps->last_error));
    pthread_mutex_unlock(&ps->mu);
}

/* Opens c's connection unless the backoff says not yet. Called with mu held, drops it. */
static int open_pooled(struct pg_store *ps, struct pg_conn *c)
{
    int64_t now = chime__pg_mono_ms();
    if (now < ps->retry_at_ms)
        return CHIME_ESTORE;
    pthread_mutex_unlock(&ps->mu);
    char err[256] = "";
    PGconn *conn = chime__pg_connect(ps->conninfo, err, sizeof(err));
    if (conn && prepare_all(conn, err, sizeof(err)) != 0) {
        PQfinish(conn);
        conn = NULL;
    }
    pthread_mutex_lock(&ps->mu);
    if (!conn) {
        ps->backoff_ms = ps->backoff_ms ? ps->backoff_ms * 2 : BACKOFF_MIN_MS;
        if (ps->backoff_ms > BACKOFF_MAX_MS)
            ps->backoff_ms = BACKOFF_MAX_MS;
        ps->retry_at_ms = chime__pg_mono_ms() + ps->backoff_ms;
        chime__strlcpy(ps->last_error, err, sizeof(ps->last_error));
        if (atomic_exchange(&ps->up, false))
            chime__log(CHIME_LOG_ERROR, "PostgreSQL store unreachable: %s", err);
        return CHIME_ESTORE;
    }
    ps->backoff_ms = 0;
    ps->retry_at_ms = 0;
    c->conn = conn;
    mark_up(ps);
    return 0;
}

/* A free slot, preferring a connected one; NULL when all are taken. */
static struct pg_conn *free_slot(struct pg_store *ps)
{
    struct pg_conn *empty = NULL;
    for (size_t i = 0; i < CHIME__PG_POOL_MAX; i++) {
        struct pg_conn *c = &ps->pool[i];
        if (c->in_use)
            continue;
        if (c->conn)
            return c;
        if (!empty)
            empty = c;
    }
    return empty;
}

struct pg_conn *chime__pg_acquire(struct pg_store *ps)
{
    if (!atomic_load(&ps->set_up))
        return NULL; /* the server was not reached yet (see chime__store_pg_open) */
    pthread_mutex_lock(&ps->mu);
    struct pg_conn *c;
    while (!(c = free_slot(ps)))
        pthread_cond_wait(&ps->freed, &ps->mu);
    c->in_use = true;
    if (!c->conn && open_pooled(ps, c) != 0) {
        c->in_use = false;
        pthread_cond_signal(&ps->freed);
        pthread_mutex_unlock(&ps->mu);
        return NULL;
    }
    pthread_mutex_unlock(&ps->mu);
    return c;
}

bool chime__pg_pool_adopt(struct pg_store *ps, PGconn *conn)
{
    char err[256];
    if (PQtransactionStatus(conn) != PQTRANS_IDLE || prepare_all(conn, err, sizeof(err)) != 0)
        return false;
    pthread_mutex_lock(&ps->mu);
    struct pg_conn *c = free_slot(ps);
    bool taken = c && !c->conn;
    if (taken)
        c->conn = conn;
    pthread_mutex_unlock(&ps->mu);
    return taken;
}

void chime__pg_release(struct pg_store *ps, struct pg_conn *c)
{
    if (!c)
        return;
    bool broken =
            PQstatus(c->conn) == CONNECTION_BAD || PQtransactionStatus(c->conn) != PQTRANS_IDLE;
    PGconn *drop = broken ? c->conn : NULL;
    pthread_mutex_lock(&ps->mu);
    if (broken)
        c->conn = NULL;
    c->in_use = false;
    pthread_cond_signal(&ps->freed);
    pthread_mutex_unlock(&ps->mu);
    if (drop)
        PQfinish(drop);
}

void chime__pg_pool_close(struct pg_store *ps)
{
    for (size_t i = 0; i < CHIME__PG_POOL_MAX; i++) {
        if (ps->pool[i].conn)
            PQfinish(ps->pool[i].conn);
        ps->pool[i].conn = NULL;
    }
}

/* Checks a result against want; on mismatch notes the error and clears it. */
static PGresult *check_result(struct pg_store *ps, PGconn *conn, PGresult *res, ExecStatusType want,
                              const char *what, int *rc)
{
    if (res && PQresultStatus(res) == want) {
        mark_up(ps);
        *rc = 0;
        return res;
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    *rc = state && !strncmp(state, "22", 2) ? CHIME_EINVAL : CHIME_ESTORE;
    chime__pg_note_error(ps, conn, what);
    PQclear(res);
    return NULL;
}

PGresult *chime__pg_exec(struct pg_store *ps, struct pg_conn *c, enum pg_stmt st, int n,
                         const char *const *params, ExecStatusType want, int *rc)
{
    char name[32];
    snprintf(name, sizeof(name), "chime_%d", (int)st);
    PGresult *res = PQexecPrepared(c->conn, name, n, params, NULL, NULL, 0);
    return check_result(ps, c->conn, res, want, name, rc);
}

/* Sends one step of a pipeline: SQL text without parameters, or a prepared statement. */
static int send_step(PGconn *conn, const struct pg_step *step)
{
    if (step->sql)
        return PQsendQueryParams(conn, step->sql, 0, NULL, NULL, NULL, NULL, 0);
    char name[32];
    snprintf(name, sizeof(name), "chime_%d", (int)step->stmt);
    return PQsendQueryPrepared(conn, name, step->n, step->params, NULL, NULL, 0);
}

/* Reads the results of n sent steps and the sync; res[i] as chime__pg_exec. */
static int read_steps(struct pg_store *ps, PGconn *conn, const struct pg_step *steps, size_t n,
                      PGresult **res)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        PGresult *r = PQgetResult(conn);
        if (!r) { /* the connection broke: nothing more will come */
            chime__pg_note_error(ps, conn, "pipeline");
            return CHIME_ESTORE;
        }
        PGresult *extra;
        while ((extra = PQgetResult(conn)) != NULL) /* up to the NULL ending this step */
            PQclear(extra);
        int step_rc = 0;
        if (PQresultStatus(r) == PGRES_PIPELINE_ABORTED) { /* skipped after an error */
            PQclear(r);
            step_rc = CHIME_ESTORE;
        } else {
            res[i] = check_result(ps, conn, r, steps[i].want, steps[i].sql ? "command" : "query",
                                  &step_rc);
        }
        rc = rc ? rc : step_rc;
    }
    PGresult *sync = PQgetResult(conn);
    if (PQresultStatus(sync) != PGRES_PIPELINE_SYNC)
        rc = CHIME_ESTORE;
    PQclear(sync);
    return rc;
}

int chime__pg_pipeline(struct pg_store *ps, struct pg_conn *c, const struct pg_step *steps,
                       size_t n, PGresult **res)
{
    for (size_t i = 0; i < n; i++)
        res[i] = NULL;
    if (!PQenterPipelineMode(c->conn)) {
        chime__pg_note_error(ps, c->conn, "pipeline");
        return CHIME_ESTORE;
    }
    bool sent = true;
    for (size_t i = 0; sent && i < n; i++)
        sent = send_step(c->conn, &steps[i]) == 1;
    int rc = sent && PQpipelineSync(c->conn) == 1 ? read_steps(ps, c->conn, steps, n, res)
                                                  : CHIME_ESTORE;
    if (!sent)
        chime__pg_note_error(ps, c->conn, "pipeline");
    if (!PQexitPipelineMode(c->conn)) /* results left unread: the connection is dropped */
        rc = CHIME_ESTORE;
    if (rc) {
        for (size_t i = 0; i < n; i++) {
            PQclear(res[i]);
            res[i] = NULL;
        }
    }
    return rc;
}

PGresult *chime__pg_exec_sql(struct pg_store *ps, PGconn *conn, const char *sql, int n,
                             const char *const *params, ExecStatusType want, int *rc)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    return check_result(ps, conn, res, want, "query", rc);
}

int chime__pg_command(struct pg_store *ps, PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql); /* may hold several statements */
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;
    if (st == PGRES_TUPLES_OK)
        PQclear(res);
    else if (!check_result(ps, conn, res, PGRES_COMMAND_OK, "command", &rc))
        return rc;
    else
        PQclear(res);
    return 0;
}

const char *chime__pg_i64(int64_t v, char buf[24])
{
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}

int64_t chime__pg_get_i64(const PGresult *res, int row, int col, int64_t def)
{
    if (PQgetisnull(res, row, col))
        return def;
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

char *chime__pg_get_str(const PGresult *res, int row, int col, bool *ok)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    char *s = chime__strdup(PQgetvalue(res, row, col));
    if (!s)
        *ok = false;
    return s;
}
