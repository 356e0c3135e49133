/*
 * This node in a PostgreSQL cluster of chimed processes. At open it
 * registers in the nodes table and marks lost the runs a previous process
 * of the same name left running. Then a maintenance thread with its own
 * connection: LISTEN for job changes made through any node (each wakes the
 * scheduler, which re-reads what is due), a heartbeat every heartbeat
 * interval, and, on each beat, the reaping of runs held by nodes whose
 * heartbeat is older than the node timeout (they end as lost), the claims
 * whose commit went unanswered, and the outcomes queued while the server
 * was away. The thread reconnects with backoff on its own and wakes the
 * scheduler after a reconnect, since notifications sent meanwhile are gone.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "store/store_pg.h"

#define RECONNECT_MAX_MS 5000

static int exec_node(struct pg_store *ps, PGconn *conn, const char *sql, int n,
                     const char *const *params, PGresult **out)
{
    int rc;
    PGresult *res = chime__pg_exec_sql(ps, conn, sql, n, params, PGRES_TUPLES_OK, &rc);
    if (!res)
        res = NULL;
    if (out)
        *out = res;
    else
        PQclear(res);
    return rc;
}

/* Warns when a live process already uses this node name (names must be unique). */
static void check_name_free(struct pg_store *ps, PGconn *conn, const char *timeout)
{
    const char *params[] = { ps->node, timeout };
    PGresult *res = NULL;
    if (exec_node(ps, conn,
                  "SELECT host, pid FROM nodes WHERE name = $1"
                  " AND heartbeat_at >= now() - $2::bigint * interval '1 millisecond'",
                  2, params, &res) == 0 &&
        PQntuples(res) > 0)
        chime__log(CHIME_LOG_WARN,
                   "node name %s was heartbeating until just now (pid %s on %s): if that "
                   "chimed still runs, give each node its own CHIME_NODE_NAME",
                   ps->node, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0));
    PQclear(res);
}

static int upsert_node(struct pg_store *ps, PGconn *conn)
{
    char host[256] = "", pid[24];
    gethostname(host, sizeof(host) - 1);
    const char *params[] = { ps->node, host, chime__pg_i64(getpid(), pid) };
    return exec_node(ps, conn,
                     "INSERT INTO nodes (name, host, pid, started_at, heartbeat_at)"
                     " VALUES ($1, $2, $3, now(), now()) ON CONFLICT (name) DO UPDATE SET"
                     " host = excluded.host, pid = excluded.pid, started_at = now(),"
                     " heartbeat_at = now() RETURNING name",
                     3, params, NULL);
}

/* Wakes every node (NOTIFY '0': due now) once when a run of rows (job_id) freed an
 * instance of a job whose fires wait in the queue. */
#define QUEUED_WAKE(rows)                                                              \
    "(SELECT count(pg_notify('" CHIME__PG_CHANNEL "', '0')) FROM (SELECT 1 FROM " rows \
    " WHERE EXISTS (SELECT 1 FROM retries q WHERE q.job_id = " rows ".job_id"          \
    " AND q.attempt = 1) LIMIT 1) AS one)"

/* The defaults LOST_RETRIED writes as SQL text. */
_Static_assert(CHIME_RETRY_BACKOFF_DEFAULT_S == 10, "LOST_RETRIED: retry_backoff default");
_Static_assert(CHIME_RETRY_DELAY_MAX_S == 86400, "LOST_RETRIED: the retry delay's cap");

/*
 * update (an UPDATE of runs r that marks runs lost) with the retry its job asks
 * for: a lost attempt N of a job with retries >= N gets attempt N + 1 in the
 * retries table, due after retry_backoff * 2^(N-1) s (at most a day) plus up to
 * retry_jitter s, as a failed run's retry (chime_job_retry_delay_us), announced to
 * every node. The options live in the job's spec (absent = the defaults). A lost
 * run of a job with queued fires (overlap queue/replace) frees an instance: that
 * is announced too, so a queued fire starts at once on any node. One row per run
 * marked lost: its id.
 */
#define LOST_RETRIED(update)                                                                  \
    "WITH l AS (" update " RETURNING r.id, r.job_id, r.scheduled_time, r.attempt, r.cause),"  \
    " w AS (INSERT INTO retries (job_id, scheduled_time, attempt, due_at, cause)"             \
    " SELECT l.job_id, l.scheduled_time, l.attempt + 1, now() + (least("                      \
    "coalesce((j.spec->>'retry_backoff')::float8, 10)"                                        \
    " * power(2::float8, least(l.attempt - 1, 30)), 86400)"                                   \
    " + random() * coalesce((j.spec->>'retry_jitter')::float8, 0)) * interval '1 second',"    \
    " l.cause FROM l JOIN jobs j ON j.id = l.job_id"                                          \
    " WHERE coalesce((j.spec->>'retries')::integer, 0) >= l.attempt"                          \
    " ON CONFLICT DO NOTHING RETURNING due_at)"                                               \
    " SELECT l.id, (SELECT count(pg_notify('" CHIME__PG_CHANNEL "', chime_us(due_at)::text))" \
    " FROM w), " QUEUED_WAKE("l") " FROM l"

int chime__pg_node_register(struct pg_store *ps, PGconn *conn, struct chime_diag *diag)
{
    char timeout[24];
    check_name_free(ps, conn, chime__pg_i64(ps->node_timeout_ms, timeout));
    const char *params[] = { ps->node };
    PGresult *res = NULL;
    int rc = upsert_node(ps, conn);
    if (rc == 0)
        rc = exec_node(
                ps, conn,
                LOST_RETRIED("UPDATE runs r SET status = 'lost', finished_at = now(),"
                             " error = 'chimed restarted on node ' || $1 || ' while this ran'"
                             " WHERE r.status = 'running' AND r.node = $1"),
                1, params, &res);
    if (rc)
        return chime_diag_set(diag, CHIME_ESTORE, "DATABASE_URL", "cannot register node %s: %s",
                              ps->node, ps->last_error);
    atomic_fetch_add_explicit(&ps->n_runs_lost, (uint64_t)PQntuples(res), memory_order_relaxed);
    if (PQntuples(res) > 0)
        chime__log(CHIME_LOG_WARN, "%d runs left running by a previous chimed on node %s: lost",
                   PQntuples(res), ps->node);
    PQclear(res);
    return 0;
}

static void call_wake(struct pg_store *ps, chime_utime due)
{
    pthread_mutex_lock(&ps->wake_mu);
    if (ps->wake_fn)
        ps->wake_fn(ps->wake_ctx, due);
    pthread_mutex_unlock(&ps->wake_mu);
}

void chime__pg_set_wake(struct chime_store *store, chime_store_wake_fn fn, void *ctx)
{
    struct pg_store *ps = chime__pg_of(store);
    pthread_mutex_lock(&ps->wake_mu);
    ps->wake_fn = fn;
    ps->wake_ctx = ctx;
    pthread_mutex_unlock(&ps->wake_mu);
}

/* Marks lost the runs of nodes whose heartbeat expired (not this node's own). */
static void reap_dead(struct pg_store *ps, PGconn *conn, const char *timeout)
{
    const char *params[] = { ps->node, timeout };
    PGresult *res = NULL;
    if (exec_node(ps, conn,
                  LOST_RETRIED(
                          "UPDATE runs r SET status = 'lost', finished_at = now(),"
                          " error = 'node ' || coalesce(r.node, '?') || ' stopped heartbeating'"
                          " WHERE r.status = 'running' AND r.node IS DISTINCT FROM $1"
                          " AND EXISTS (SELECT 1 FROM nodes n WHERE n.name = r.node"
                          " AND n.heartbeat_at < now() - $2::bigint * interval '1 millisecond')"),
                  2, params, &res) == 0 &&
        PQntuples(res) > 0) {
        atomic_fetch_add_explicit(&ps->n_runs_lost, (uint64_t)PQntuples(res), memory_order_relaxed);
        chime__log(CHIME_LOG_WARN, "%d runs of dead nodes marked lost", PQntuples(res));
    }
    PQclear(res);
    exec_node(ps, conn,
              "DELETE FROM nodes WHERE heartbeat_at < now() - interval '1 hour' RETURNING name", 0,
              NULL, NULL);
}

/* Marks lost what the claims with an unanswered COMMIT recorded. */
static void settle_orphans(struct pg_store *ps, PGconn *conn)
{
    pthread_mutex_lock(&ps->mu);
    int64_t tokens[CHIME__PG_MAX_ORPHANS];
    size_t n = ps->n_orphans;
    memcpy(tokens, ps->orphans, n * sizeof(*tokens));
    ps->n_orphans = 0;
    pthread_mutex_unlock(&ps->mu);
    for (size_t i = 0; i < n; i++) {
        char tok[24];
        const char *params[] = { chime__pg_i64(tokens[i], tok) };
        PGresult *res = NULL;
        if (exec_node(ps, conn,
                      "WITH l AS (UPDATE runs SET status = 'lost', finished_at = now(), error ="
                      " 'the claim''s commit went unanswered (connection lost): not run'"
                      " WHERE status = 'running' AND claim = $1::bigint RETURNING id, job_id)"
                      " SELECT l.id, " QUEUED_WAKE("l") " FROM l",
                      1, params, &res) == 0)
            atomic_fetch_add_explicit(&ps->n_runs_lost, (uint64_t)PQntuples(res),
                                      memory_order_relaxed);
        PQclear(res);
    }
}

/* overlap replace without the NOTIFY (sent before this node's LISTEN, or while its
 * maintenance connection was away): a running run of this node that another node
 * marked replaced makes the next claim stop it, within a heartbeat. */
static void check_replaced(struct pg_store *ps, PGconn *conn)
{
    const char *params[] = { ps->node };
    PGresult *res = NULL;
    if (exec_node(ps, conn,
                  "SELECT 1 FROM runs WHERE node = $1 AND status = 'running'"
                  " AND replaced_by IS NOT NULL LIMIT 1",
                  1, params, &res) == 0 &&
        PQntuples(res) > 0 && !atomic_exchange(&ps->replace_pending, true))
        call_wake(ps, CHIME_UTIME_NONE);
    PQclear(res);
}

/* One heartbeat; CHIME_ESTORE when the connection failed. */
static int beat(struct pg_store *ps, PGconn *conn)
{
    char pid[24], timeout[24];
    const char *params[] = { ps->node, chime__pg_i64(getpid(), pid) };
    PGresult *res = NULL;
    int rc = exec_node(ps, conn,
                       "UPDATE nodes SET heartbeat_at = now() WHERE name = $1 AND pid = $2"
                       " RETURNING name",
                       2, params, &res);
    if (rc == 0 && PQntuples(res) == 0)
        rc = upsert_node(ps, conn); /* our row was deleted or taken over */
    PQclear(res);
    if (rc)
        return rc;
    reap_dead(ps, conn, chime__pg_i64(ps->node_timeout_ms, timeout));
    check_replaced(ps, conn);
    settle_orphans(ps, conn);
    chime__pg_flush_pending(ps);
    return PQstatus(conn) == CONNECTION_OK ? 0 : CHIME_ESTORE;
}

static void drain_notifies(struct pg_store *ps, PGconn *conn)
{
    PGnotify *n;
    chime_utime earliest = INT64_MAX;
    while ((n = PQnotifies(conn))) {
        if (strcmp(n->extra, "replace") == 0)
            atomic_store(&ps->replace_pending, true);
        chime_utime due = strtoll(n->extra, NULL, 10); /* 'replace' reads 0: wake now */
        if (due < earliest)
            earliest = due;
        PQfreemem(n);
    }
    if (earliest != INT64_MAX)
        call_wake(ps, earliest - (chime_utime)atomic_load(&ps->offset_us));
}

static PGconn *maint_connect(struct pg_store *ps)
{
    char err[256];
    PGconn *conn = chime__pg_connect(ps->conninfo, err, sizeof(err));
    if (!conn)
        return NULL;
    if (chime__pg_command(ps, conn, "LISTEN " CHIME__PG_CHANNEL) != 0 || beat(ps, conn) != 0) {
        PQfinish(conn);
        return NULL;
    }
    /* What changed while we were not listening is unknown: runs replaced too. */
    atomic_store(&ps->replace_pending, true);
    call_wake(ps, CHIME_UTIME_NONE);
    return conn;
}

/* Waits for the connection's socket (if any), the stop pipe or timeout; true = stop. */
static bool wait_events(struct pg_store *ps, PGconn *conn, int64_t timeout_ms)
{
    struct pollfd fds[2] = { { ps->stop_pipe[0], POLLIN, 0 },
                             { conn ? PQsocket(conn) : -1, POLLIN, 0 } };
    int n = poll(fds, conn ? 2 : 1, (int)(timeout_ms < 0 ? 0 : timeout_ms));
    return n > 0 && (fds[0].revents & POLLIN);
}

/* Handles readable input; false when the connection is gone. */
static bool read_input(struct pg_store *ps, PGconn *conn)
{
    if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK) {
        chime__pg_note_error(ps, conn, "maintenance connection");
        return false;
    }
    drain_notifies(ps, conn);
    return true;
}

/* The setup the open could not do (server unreachable at start-up); true once done. */
static bool late_setup(struct pg_store *ps)
{
    if (atomic_load(&ps->set_up))
        return true;
    struct chime_diag diag;
    chime_diag_clear(&diag);
    bool unreachable = false;
    if (chime__pg_setup(ps, &diag, &unreachable) == 0) {
        chime__log(CHIME_LOG_INFO, "PostgreSQL store: connected, schema ready");
        return true;
    }
    if (!unreachable) {
        pthread_mutex_lock(&ps->mu);
        chime__strlcpy(ps->last_error, diag.message, sizeof(ps->last_error));
        pthread_mutex_unlock(&ps->mu);
    }
    return false;
}

static void *maint_main(void *arg)
{
    struct pg_store *ps = arg;
    PGconn *conn = NULL;
    int64_t next_beat = 0, backoff = 0;
    for (;;) {
        if (!conn && late_setup(ps) && (conn = maint_connect(ps)) != NULL) {
            backoff = 0;
            next_beat = chime__pg_mono_ms() + ps->heartbeat_ms;
        } else if (!conn) {
            backoff = backoff ? (backoff * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : backoff * 2)
                              : 100;
            if (wait_events(ps, NULL, backoff))
                break;
            continue;
        }
        int64_t now = chime__pg_mono_ms();
        if (now >= next_beat) {
            next_beat = now + ps->heartbeat_ms;
            if (beat(ps, conn) != 0)
                goto out_lost;
        }
        if (wait_events(ps, conn, next_beat - chime__pg_mono_ms()))
            break;
        if (read_input(ps, conn))
            continue;
    out_lost:
        PQfinish(conn);
        conn = NULL;
    }
    if (conn) { /* a clean stop: this node leaves the cluster */
        const char *params[] = { ps->node };
        exec_node(ps, conn, "DELETE FROM nodes WHERE name = $1 RETURNING name", 1, params, NULL);
        PQfinish(conn);
    }
    return NULL;
}

int chime__pg_maint_start(struct pg_store *ps)
{
    if (pipe(ps->stop_pipe) != 0)
        return CHIME_EIO;
    if (pthread_create(&ps->maint, NULL, maint_main, ps) != 0) {
        close(ps->stop_pipe[0]);
        close(ps->stop_pipe[1]);
        return CHIME_ENOMEM;
    }
    ps->maint_started = true;
    return 0;
}

void chime__pg_maint_stop(struct pg_store *ps)
{
    if (!ps->maint_started)
        return;
    ssize_t w;
    do
        w = write(ps->stop_pipe[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(ps->maint, NULL);
    close(ps->stop_pipe[0]);
    close(ps->stop_pipe[1]);
    ps->maint_started = false;
}

bool chime__pg_healthy(struct chime_store *store, const char **detail)
{
    struct pg_store *ps = chime__pg_of(store);
    if (atomic_load(&ps->up))
        return true;
    static _Thread_local char msg[320];
    pthread_mutex_lock(&ps->mu);
    snprintf(msg, sizeof(msg), "PostgreSQL unreachable: %s", ps->last_error);
    pthread_mutex_unlock(&ps->mu);
    *detail = msg;
    return false;
}

static int visit_node_row(const PGresult *res, int i, chime_node_visit_fn visit, void *ctx)
{
    struct chime_node_info info = {
        .name = PQgetvalue(res, i, 0),
        .host = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1),
        .pid = chime__pg_get_i64(res, i, 2, 0),
        .started_at = chime__pg_get_i64(res, i, 3, 0),
        .heartbeat_at = chime__pg_get_i64(res, i, 4, 0),
        .alive = !strcmp(PQgetvalue(res, i, 5), "t"),
    };
    return visit(&info, ctx);
}

int chime__pg_list_nodes(struct chime_store *store, chime_node_visit_fn visit, void *ctx)
{
    struct pg_store *ps = chime__pg_of(store);
    struct pg_conn *c = chime__pg_acquire(ps);
    if (!c)
        return CHIME_ESTORE;
    char timeout[24];
    const char *params[] = { chime__pg_i64(ps->node_timeout_ms, timeout) };
    PGresult *res = NULL;
    int rc = exec_node(ps, c->conn,
                       "SELECT name, host, pid, chime_us(started_at), chime_us(heartbeat_at),"
                       " heartbeat_at >= now() - $1::bigint * interval '1 millisecond'"
                       " FROM nodes ORDER BY name",
                       1, params, &res);
    for (int i = 0; rc == 0 && i < PQntuples(res); i++)
        if (visit_node_row(res, i, visit, ctx) != 0)
            break;
    PQclear(res);
    chime__pg_release(ps, c);
    return rc;
}
