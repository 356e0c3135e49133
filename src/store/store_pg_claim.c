/*
 * Claiming due jobs from PostgreSQL, the step that makes every fire happen
 * once across nodes. One READ COMMITTED transaction: lock the due jobs by the
 * database clock with FOR UPDATE SKIP LOCKED (another node's claim skips them,
 * it never waits or takes them twice), then, in a second statement whose
 * snapshot is taken once the locks are held, read them with their running
 * instances over the whole cluster (read in the locking statement, the count
 * could miss a run another node committed just before the lock:
 * PG_CLAIM_LOCK); plan their fires with the same rules as every store
 * (chime_fire_plan), then one statement advances or deletes the jobs and
 * inserts the run records (unique on job, scheduled time, cause, attempt:
 * a conflicting run is dropped, not run), and commit. Only committed claims
 * are returned to be dispatched. Three round trips per batch of up to the
 * scheduler's claim size: BEGIN and the lock in one pipeline, the read, the
 * write and COMMIT in another (an idle poll: the first, then COMMIT).
 *
 * A COMMIT whose answer is lost leaves its runs' fate unknown: they are not
 * dispatched, and their claim token is kept so that, once the server is
 * back, the maintenance thread marks any of them that did commit as lost.
 */
#include <string.h>
#include <sys/random.h>

#include "base/base.h"
#include "store/index.h"
#include "store/retry_list.h"
#include "store/store_pg.h"

/* The rows a claim writes, built while planning. */
struct claim_write {
    json_t *replaced;  /* [{j, s}]: jobs whose running runs a fire replaces */
    json_t *jobs;      /* [{i, n, d}] */
    json_t *runs;      /* [{j, s, st, c, a, e, t}] */
    json_t *queued;    /* [{j, s, x}]: fires that wait (overlap queue) */
    json_t *displaced; /* [{j, s}]: queued fires displaced by a newer one (coalesce) */
    size_t first;      /* index in the batch of this transaction's first claim */
};

static int64_t claim_token(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != sizeof(v))
        v = (uint64_t)chime__pg_mono_ms() * 2654435761u;
    return (int64_t)(v >> 1);
}

static const char *cause_name(enum chime_run_cause cause)
{
    return cause == CHIME_CAUSE_MANUAL ? "manual" : "schedule";
}

static int add_run_row(json_t *runs, const struct chime_run *run)
{
    chime_utime t = run->status == CHIME_RUN_RUNNING ? run->started : run->finished;
    json_t *row = json_pack("{s:s,s:I,s:s,s:s,s:i,s:s?,s:I}", "j", run->job_id, "s",
                            (json_int_t)run->scheduled, "st", chime_run_status_name(run->status),
                            "c", cause_name(run->cause), "a", run->attempt, "e", run->error, "t",
                            (json_int_t)t);
    return row ? json_array_append_new(runs, row) : CHIME_ENOMEM;
}

/* The scheduled times of a job's queued fires, from the JSON array of column 5 (oldest
 * first; at most CHIME_QUEUE_MAX wait). */
static size_t waiting_times(const PGresult *res, int row, chime_utime *times)
{
    json_t *arr = json_loads(PQgetvalue(res, row, 5), 0, NULL);
    size_t n = 0, i;
    json_t *v;
    json_array_foreach (arr, i, v) {
        if (n < CHIME_QUEUE_MAX && json_is_integer(v))
            times[n++] = json_integer_value(v);
    }
    json_decref(arr);
    return n;
}

static int append_displaced(json_t *rows, const char *job_id, const chime_utime *times, size_t n)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *row = json_pack("{s:s,s:I}", "j", job_id, "s", (json_int_t)times[i]);
        rc = row ? json_array_append_new(rows, row) : CHIME_ENOMEM;
    }
    return rc;
}

/* Overlap queue: the plan's fires skipped at max_instances wait instead (bounded; with
 * coalesce the newest waits and displaces the fire that waited, recorded in the plan), as
 * rows of attempt 1 written with the claim. */
static int queue_fires(struct pg_store *ps, const struct chime_job *job, const PGresult *res,
                       int row, struct chime_fire_plan *plan, struct claim_write *w)
{
    if (job->policy.overlap == CHIME_OVERLAP_SKIP || plan->n_fires == 0)
        return 0;
    chime_utime *times = chime__calloc(plan->n_fires + CHIME_QUEUE_MAX, sizeof(*times));
    if (!times)
        return CHIME_ENOMEM;
    chime_utime *waiting = times + plan->n_fires;
    size_t n_waiting = waiting_times(res, row, waiting), n = 0, n_displaced = 0;
    int rc = chime__plan_take_queued(job, &ps->defaults, waiting, n_waiting, plan, times, &n,
                                     &n_displaced);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        chime_utime x = chime__queued_expiry(job, &ps->defaults, times[i]);
        json_t *q = json_pack("{s:s,s:I,s:o}", "j", job->id, "s", (json_int_t)times[i], "x",
                              x == CHIME_UTIME_NONE ? json_null() : json_integer(x));
        rc = q ? json_array_append_new(w->queued, q) : CHIME_ENOMEM;
    }
    if (rc == 0)
        rc = append_displaced(w->displaced, job->id, waiting, n_displaced);
    if (rc == 0 && n > 0 && job->policy.overlap == CHIME_OVERLAP_REPLACE) {
        json_t *r = json_pack("{s:s,s:I}", "j", job->id, "s", (json_int_t)times[n - 1]);
        rc = r ? json_array_append_new(w->replaced, r) : CHIME_ENOMEM;
    }
    chime__free(times);
    return rc;
}

/* Plans one selected row and appends its claims (counted) and rows to write. */
static int plan_row(struct pg_store *ps, const PGresult *res, int row,
                    const struct chime_claim_request *req, struct chime_claim_batch *out,
                    struct claim_write *w)
{
    struct chime_job job;
    int rc = chime__pg_row_job(ps, res, row, 0, &job);
    if (rc)
        return rc;
    struct chime_fire_plan plan = { 0 };
    int n_running = (int)chime__pg_get_i64(res, row, 3, 0);
    rc = chime_fire_plan(&job, &ps->defaults, req->now, n_running, &plan);
    if (rc == 0)
        rc = queue_fires(ps, &job, res, row, &plan, w);
    if (rc == 0)
        rc = chime__claim_prepare(out, &job, &plan, req, CHIME_CAUSE_SCHEDULE);
    if (rc == 0) {
        size_t base = out->n_claims;
        out->n_claims += plan.n_fires;
        for (size_t i = 0; rc == 0 && i < plan.n_fires; i++)
            rc = add_run_row(w->runs, &out->claims[base + i].run);
        bool done = plan.next_run == CHIME_UTIME_NONE;
        json_t *j = json_pack("{s:s,s:o,s:b}", "i", job.id, "n",
                              done ? json_null() : json_integer(plan.next_run), "d", done);
        if (rc == 0)
            rc = j ? json_array_append_new(w->jobs, j) : CHIME_ENOMEM;
    }
    chime_fire_plan_release(&plan);
    chime_job_release(&job);
    return rc;
}

static bool run_matches(const struct chime_run *run, const PGresult *res, int row)
{
    return chime__pg_get_i64(res, row, 2, 0) == run->scheduled &&
           chime__pg_get_i64(res, row, 4, 0) == run->attempt &&
           !strcmp(PQgetvalue(res, row, 3), cause_name(run->cause)) &&
           !strcmp(PQgetvalue(res, row, 1), run->job_id);
}

/* Gives each inserted run its id; the claims whose run conflicted are dropped. */
static size_t assign_ids(struct chime_claim_batch *out, size_t first, const PGresult *res)
{
    size_t n = out->n_claims - first, hint = 0;
    bool *found = chime__calloc(n ? n : 1, sizeof(*found));
    for (int r = 0; found && r < PQntuples(res); r++) {
        for (size_t k = 0; k < n; k++) { /* rows come back in insertion order: hint first */
            size_t i = (hint + k) % n;
            struct chime_run *run = &out->claims[first + i].run;
            if (!found[i] && run_matches(run, res, r)) {
                run->id = chime__pg_get_i64(res, r, 0, 0);
                found[i] = true;
                hint = i + 1;
                break;
            }
        }
    }
    size_t kept = first, dropped = 0;
    for (size_t i = 0; i < n; i++) {
        struct chime_claim *cl = &out->claims[first + i];
        if (found && found[i]) {
            out->claims[kept++] = *cl;
            continue;
        }
        chime_job_release(&cl->job);
        chime_run_release(&cl->run);
        dropped++;
    }
    out->n_claims = kept;
    chime__free(found);
    return dropped;
}

/* Keeps a token whose COMMIT went unanswered, for the maintenance thread. */
static void remember_orphan(struct pg_store *ps, int64_t token)
{
    pthread_mutex_lock(&ps->mu);
    if (ps->n_orphans < CHIME__PG_MAX_ORPHANS)
        ps->orphans[ps->n_orphans++] = token;
    pthread_mutex_unlock(&ps->mu);
    chime__log(CHIME_LOG_WARN,
               "PostgreSQL claim: the commit's outcome is unknown; its runs were not started "
               "and will be marked lost if they were recorded");
}

/*
 * The write and the COMMIT in one pipeline. A connection that broke after they
 * were sent leaves the outcome unknown (the server may have committed): the
 * token is kept for the maintenance thread. A statement the server refused
 * committed nothing (the COMMIT is skipped; the caller rolls back).
 */
static int write_commit(struct pg_store *ps, struct pg_conn *c, const char *node, int64_t token,
                        struct claim_write *w, struct chime_claim_batch *out)
{
    char *jobs = json_dumps(w->jobs, JSON_COMPACT), *runs = json_dumps(w->runs, JSON_COMPACT);
    char *queued = json_dumps(w->queued, JSON_COMPACT);
    char *replaced = json_dumps(w->replaced, JSON_COMPACT);
    char *displaced = json_dumps(w->displaced, JSON_COMPACT);
    char tok[24];
    const char *params[] = { jobs, runs, node, chime__pg_i64(token, tok), queued, displaced };
    const char *rparams[] = { replaced };
    /* overlap replace: the running runs of the replaced jobs are marked, whichever node
     * runs them (NOTIFY 'replace'; each node stops its own, see collect_replaced) */
    struct pg_step steps[3] = {
        { NULL, PG_CLAIM_WRITE, 6, params, PGRES_TUPLES_OK },
        { NULL, PG_MARK_REPLACED, 1, rparams, PGRES_TUPLES_OK },
        { "COMMIT", 0, 0, NULL, PGRES_COMMAND_OK },
    };
    size_t n_steps = 3;
    if (json_array_size(w->replaced) == 0) {
        steps[1] = steps[2];
        n_steps = 2;
    }
    PGresult *res[3];
    int rc = CHIME_ENOMEM;
    bool built = jobs && runs && queued && replaced && displaced;
    if (built)
        rc = chime__pg_pipeline(ps, c, steps, n_steps, res);
    if (rc == 0) {
        size_t dropped = assign_ids(out, w->first, res[0]);
        atomic_fetch_add_explicit(&ps->n_claim_conflicts, dropped, memory_order_relaxed);
        if (dropped)
            chime__log(CHIME_LOG_WARN, "PostgreSQL claim: %zu runs already recorded, not run",
                       dropped);
    } else if (built && PQstatus(c->conn) == CONNECTION_BAD) {
        remember_orphan(ps, token);
    }
    for (size_t i = 0; rc == 0 && i < n_steps; i++)
        PQclear(res[i]);
    free(jobs);
    free(runs);
    free(queued);
    free(replaced);
    free(displaced);
    return rc;
}

/* This node's running runs that some node's fire replaced, as replace requests in out
 * (the scheduler stops the runs it holds of those jobs). Only after a NOTIFY. */
static void collect_replaced(struct pg_store *ps, const char *node, struct chime_claim_batch *out)
{
    if (!atomic_exchange(&ps->replace_pending, false))
        return;
    struct pg_conn *c = chime__pg_acquire(ps);
    if (!c) {
        atomic_store(&ps->replace_pending, true);
        return;
    }
    int rc;
    const char *params[] = { node ? node : ps->node };
    PGresult *res = chime__pg_exec(ps, c, PG_REPLACED_RUNS, 1, params, PGRES_TUPLES_OK, &rc);
    for (int i = 0; res && i < PQntuples(res); i++)
        chime__batch_add_replace(out, PQgetvalue(res, i, 0), chime__pg_get_i64(res, i, 1, 0));
    if (!res)
        atomic_store(&ps->replace_pending, true);
    PQclear(res);
    chime__pg_release(ps, c);
}

/* Counts a claim transaction for metrics: n_runs run records committed. */
static void count_claim(struct pg_store *ps, int rc, int n_rows, size_t n_runs)
{
    if (rc) {
        atomic_fetch_add_explicit(&ps->n_claim_failures, 1, memory_order_relaxed);
    } else if (n_rows > 0) {
        atomic_fetch_add_explicit(&ps->n_claims, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&ps->n_claimed_runs, n_runs, memory_order_relaxed);
    }
}

static void undo_claims(struct chime_claim_batch *out, size_t first)
{
    while (out->n_claims > first) {
        struct chime_claim *cl = &out->claims[--out->n_claims];
        chime_job_release(&cl->job);
        chime_run_release(&cl->run);
    }
}

/* How a claim finds its rows: the statement that locks the jobs (returning their ids as a
 * JSON array), then the statement that reads them with read_params[ids_at] = those ids
 * (also when none was locked if read_always: the retries of removed jobs). */
struct claim_sql {
    enum pg_stmt lock;
    int n_lock;
    const char *const *lock_params;
    enum pg_stmt read;
    int n_read;
    const char **read_params;
    int ids_at;
    bool read_always;
};

typedef int (*plan_rows_fn)(struct pg_store *ps, const PGresult *res,
                            struct chime_claim_request *req, struct chime_claim_batch *out,
                            struct claim_write *w);

/* BEGIN and the lock in one pipeline, then the read (its own snapshot: see
 * PG_CLAIM_LOCK). The rows read, or NULL with *rc (0: nothing to read). */
static PGresult *lock_and_read(struct pg_store *ps, struct pg_conn *c, const struct claim_sql *sql,
                               int *rc)
{
    const struct pg_step steps[] = {
        { "BEGIN", 0, 0, NULL, PGRES_COMMAND_OK },
        { NULL, sql->lock, sql->n_lock, sql->lock_params, PGRES_TUPLES_OK },
    };
    PGresult *res[2] = { NULL, NULL };
    *rc = chime__pg_pipeline(ps, c, steps, 2, res);
    PGresult *rows = NULL;
    if (*rc == 0) {
        const char *ids = PQntuples(res[1]) > 0 ? PQgetvalue(res[1], 0, 0) : "[]";
        if (sql->read_always || strcmp(ids, "[]") != 0) {
            sql->read_params[sql->ids_at] = ids;
            rows = chime__pg_exec(ps, c, sql->read, sql->n_read, sql->read_params, PGRES_TUPLES_OK,
                                  rc);
            sql->read_params[sql->ids_at] = NULL;
        }
    }
    PQclear(res[0]);
    PQclear(res[1]);
    return rows;
}

/*
 * The shared body of every claim: BEGIN, lock, read (sql), plan each row with plan_fn,
 * write, COMMIT. *n_rows = rows read.
 */
static int run_claim(struct pg_store *ps, const struct claim_sql *sql,
                     struct chime_claim_request *req, plan_rows_fn plan_fn,
                     struct chime_claim_batch *out, int *n_rows)
{
    struct pg_conn *c = chime__pg_acquire(ps);
    if (!c)
        return CHIME_ESTORE;
    struct claim_write w = { json_array(), json_array(), json_array(),
                             json_array(), json_array(), out->n_claims };
    int64_t token = claim_token();
    int rc = CHIME_ENOMEM;
    PGresult *rows = NULL;
    if (w.replaced && w.jobs && w.runs && w.queued && w.displaced)
        rows = lock_and_read(ps, c, sql, &rc);
    *n_rows = rows ? PQntuples(rows) : 0;
    if (rows && *n_rows > 0)
        rc = plan_fn(ps, rows, req, out, &w);
    PQclear(rows);
    if (rc == 0 && *n_rows > 0)
        rc = write_commit(ps, c, req->node, token, &w, out);
    else if (rc == 0)
        rc = chime__pg_command(ps, c->conn, "COMMIT"); /* nothing claimed: nothing to lose */
    if (rc && PQstatus(c->conn) == CONNECTION_OK && PQtransactionStatus(c->conn) != PQTRANS_IDLE)
        chime__pg_command(ps, c->conn, "ROLLBACK");
    count_claim(ps, rc, *n_rows, rc ? 0 : out->n_claims - w.first);
    if (rc)
        undo_claims(out, w.first);
    json_decref(w.jobs);
    json_decref(w.runs);
    json_decref(w.queued);
    json_decref(w.replaced);
    json_decref(w.displaced);
    chime__pg_release(ps, c);
    return rc;
}

/* Takes the database's now from the first row (all rows carry the same). */
static void take_db_now(struct pg_store *ps, const PGresult *res, struct chime_claim_request *req)
{
    chime_utime db_now = chime__pg_get_i64(res, 0, 4, req->now);
    if (req->store_clock)
        atomic_store(&ps->offset_us, db_now - req->now);
    req->now = db_now;
}

static int plan_due_rows(struct pg_store *ps, const PGresult *res, struct chime_claim_request *req,
                         struct chime_claim_batch *out, struct claim_write *w)
{
    take_db_now(ps, res, req);
    int n = PQntuples(res);
    int rc = chime__claim_batch_reserve(out, (size_t)n);
    for (int i = 0; rc == 0 && i < n; i++)
        rc = plan_row(ps, res, i, req, out, w);
    return rc;
}

int chime__pg_claim_due(struct chime_store *store, const struct chime_claim_request *req,
                        struct chime_claim_batch *out)
{
    struct pg_store *ps = chime__pg_of(store);
    struct chime_claim_request local = *req;
    char now[24], lim[24];
    const char *at = req->store_clock ? NULL : chime__pg_i64(req->now, now);
    const char *params[] = { at, chime__pg_i64((int64_t)(req->limit ? req->limit : 256), lim) };
    const char *read[] = { at, NULL };
    const struct claim_sql sql = { PG_CLAIM_LOCK, 2, params, PG_CLAIM_SELECT, 2, read, 1, false };
    int n_rows;
    size_t start_replaces = out->n_replaces;
    int rc = run_claim(ps, &sql, &local, plan_due_rows, out, &n_rows);
    if (rc) /* rolled back: no run was marked */
        while (out->n_replaces > start_replaces)
            chime__free(out->replaces[--out->n_replaces].job_id);
    collect_replaced(ps, req->node, out);
    return rc;
}

/* The run-now claim of the one selected row: RUNNING, or SKIPPED at max_instances. */
static int plan_now_row(struct pg_store *ps, const PGresult *res, struct chime_claim_request *req,
                        struct chime_claim_batch *out, struct claim_write *w)
{
    take_db_now(ps, res, req);
    struct chime_job job;
    int rc = chime__pg_row_job(ps, res, 0, 0, &job);
    if (rc)
        return rc;
    bool full = chime__pg_get_i64(res, 0, 3, 0) >= chime_job_max_instances(&job, &ps->defaults);
    struct chime_fire fire = { req->now, full ? CHIME_RUN_SKIPPED : CHIME_RUN_RUNNING,
                               full ? CHIME_FIRE_REASON_MAX_INST : NULL };
    struct chime_fire_plan plan = { &fire, 1, job.next_run };
    rc = chime__claim_batch_reserve(out, 1);
    if (rc == 0)
        rc = chime__claim_prepare(out, &job, &plan, req, CHIME_CAUSE_MANUAL);
    if (rc == 0) {
        out->n_claims++;
        rc = add_run_row(w->runs, &out->claims[out->n_claims - 1].run);
    }
    chime_job_release(&job);
    return rc;
}

int chime__pg_claim_now(struct chime_store *store, const char *id,
                        const struct chime_claim_request *req, struct chime_claim_batch *out)
{
    struct pg_store *ps = chime__pg_of(store);
    struct chime_claim_request local = *req;
    char now[24];
    const char *params[] = { id };
    const char *read[] = { req->store_clock ? NULL : chime__pg_i64(req->now, now), NULL };
    const struct claim_sql sql = {
        PG_CLAIM_LOCK_ONE, 1, params, PG_CLAIM_SELECT, 2, read, 1, false
    };
    int n_rows;
    int rc = run_claim(ps, &sql, &local, plan_now_row, out, &n_rows);
    if (rc == 0 && n_rows == 0)
        return CHIME_ENOENT;
    return rc;
}

/* The claims of the selected due retries (columns 5..8: scheduled, attempt, due, cause). */
static int plan_retry_rows(struct pg_store *ps, const PGresult *res,
                           struct chime_claim_request *req, struct chime_claim_batch *out,
                           struct claim_write *w)
{
    take_db_now(ps, res, req);
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        struct chime_job job;
        if ((rc = chime__pg_row_job(ps, res, i, 0, &job)) != 0)
            break;
        struct chime__retry retry = {
            job.id,
            chime__pg_get_i64(res, i, 5, 0),
            chime__pg_get_i64(res, i, 7, 0),
            (int)chime__pg_get_i64(res, i, 6, 2),
            strcmp(PQgetvalue(res, i, 8), "manual") ? CHIME_CAUSE_SCHEDULE : CHIME_CAUSE_MANUAL,
        };
        int n_running = (int)chime__pg_get_i64(res, i, 3, 0);
        rc = chime__retry_claim_prepare(out, &job, n_running, &retry, &ps->defaults, req);
        if (rc == 0) {
            out->n_claims++;
            rc = add_run_row(w->runs, &out->claims[out->n_claims - 1].run);
        }
        chime_job_release(&job);
    }
    return rc;
}

static int64_t default_max_instances(const struct pg_store *ps)
{
    return ps->defaults.max_instances >= 1 ? ps->defaults.max_instances : 1;
}

int chime__pg_claim_retries(struct chime_store *store, const struct chime_claim_request *req,
                            struct chime_claim_batch *out)
{
    struct pg_store *ps = chime__pg_of(store);
    struct chime_claim_request local = *req;
    char now[24], lim[24], maxi[24];
    const char *at = req->store_clock ? NULL : chime__pg_i64(req->now, now);
    const char *params[] = { at };
    const char *read[] = { at, chime__pg_i64((int64_t)(req->limit ? req->limit : 256), lim),
                           chime__pg_i64(default_max_instances(ps), maxi), NULL };
    const struct claim_sql sql = {
        PG_CLAIM_LOCK_RETRIES, 1, params, PG_CLAIM_RETRIES, 4, read, 3, true
    };
    int n_rows;
    return run_claim(ps, &sql, &local, plan_retry_rows, out, &n_rows);
}

int chime__pg_next_retry(struct chime_store *store, chime_utime *out)
{
    struct pg_store *ps = chime__pg_of(store);
    struct pg_conn *c = chime__pg_acquire(ps);
    if (!c)
        return CHIME_ESTORE;
    int rc;
    char maxi[24];
    const char *params[] = { chime__pg_i64(default_max_instances(ps), maxi) };
    PGresult *res = chime__pg_exec(ps, c, PG_NEXT_RETRY, 1, params, PGRES_TUPLES_OK, &rc);
    if (res && (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)))
        rc = CHIME_ENOENT;
    else if (res) /* on this process's clock */
        *out = chime__pg_get_i64(res, 0, 0, 0) - (chime_utime)atomic_load(&ps->offset_us);
    PQclear(res);
    chime__pg_release(ps, c);
    return rc;
}
