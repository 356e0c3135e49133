/*
 * Claiming due jobs from PostgreSQL, the step that makes every fire happen
 * once across nodes. One transaction: select the due jobs by the database
 * clock with FOR UPDATE SKIP LOCKED (another node's claim skips them, it
 * never waits or takes them twice), count their running instances over the
 * whole cluster, plan their fires with the same rules as every store
 * (chime_fire_plan), then one statement advances or deletes the jobs and
 * inserts the run records (unique on job, scheduled time, cause, attempt:
 * a conflicting run is dropped, not run), and commit. Only committed claims
 * are returned to be dispatched. Two round trips per batch of up to the
 * scheduler's claim size: BEGIN and the select in one pipeline, the write and
 * COMMIT in another.
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
    json_t *jobs; /* [{i, n, d}] */
    json_t *runs; /* [{j, s, st, c, a, e, t}] */
    size_t first; /* index in the batch of this transaction's first claim */
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
    char tok[24];
    const char *params[] = { jobs, runs, node, chime__pg_i64(token, tok) };
    const struct pg_step steps[] = {
        { NULL, PG_CLAIM_WRITE, 4, params, PGRES_TUPLES_OK },
        { "COMMIT", 0, 0, NULL, PGRES_COMMAND_OK },
    };
    PGresult *res[2];
    int rc = CHIME_ENOMEM;
    if (jobs && runs)
        rc = chime__pg_pipeline(ps, c, steps, 2, res);
    if (rc == 0) {
        size_t dropped = assign_ids(out, w->first, res[0]);
        atomic_fetch_add_explicit(&ps->n_claim_conflicts, dropped, memory_order_relaxed);
        if (dropped)
            chime__log(CHIME_LOG_WARN, "PostgreSQL claim: %zu runs already recorded, not run",
                       dropped);
    } else if (jobs && runs && PQstatus(c->conn) == CONNECTION_BAD) {
        remember_orphan(ps, token);
    }
    if (rc == 0) {
        PQclear(res[0]);
        PQclear(res[1]);
    }
    free(jobs);
    free(runs);
    return rc;
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

/*
 * The shared body of both claims: BEGIN, the select (sel with its params),
 * plan each row with plan_fn, write, COMMIT. *n_rows = rows selected.
 */
typedef int (*plan_rows_fn)(struct pg_store *ps, const PGresult *res,
                            struct chime_claim_request *req, struct chime_claim_batch *out,
                            struct claim_write *w);

static int run_claim(struct pg_store *ps, enum pg_stmt sel, const char *const *params,
                     struct chime_claim_request *req, plan_rows_fn plan_fn,
                     struct chime_claim_batch *out, int *n_rows)
{
    struct pg_conn *c = chime__pg_acquire(ps);
    if (!c)
        return CHIME_ESTORE;
    struct claim_write w = { json_array(), json_array(), out->n_claims };
    int64_t token = claim_token();
    const struct pg_step steps[] = {
        { "BEGIN", 0, 0, NULL, PGRES_COMMAND_OK },
        { NULL, sel, 2, params, PGRES_TUPLES_OK },
    };
    PGresult *res[2] = { NULL, NULL };
    int rc = w.jobs && w.runs ? chime__pg_pipeline(ps, c, steps, 2, res) : CHIME_ENOMEM;
    *n_rows = res[1] ? PQntuples(res[1]) : 0;
    if (res[1] && *n_rows > 0)
        rc = plan_fn(ps, res[1], req, out, &w);
    PQclear(res[0]);
    PQclear(res[1]);
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
    const char *params[] = { req->store_clock ? NULL : chime__pg_i64(req->now, now),
                             chime__pg_i64((int64_t)(req->limit ? req->limit : 256), lim) };
    int n_rows;
    return run_claim(ps, PG_CLAIM_SELECT, params, &local, plan_due_rows, out, &n_rows);
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
    const char *params[] = { req->store_clock ? NULL : chime__pg_i64(req->now, now), id };
    int n_rows;
    int rc = run_claim(ps, PG_CLAIM_ONE, params, &local, plan_now_row, out, &n_rows);
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

int chime__pg_claim_retries(struct chime_store *store, const struct chime_claim_request *req,
                            struct chime_claim_batch *out)
{
    struct pg_store *ps = chime__pg_of(store);
    struct chime_claim_request local = *req;
    char now[24], lim[24];
    const char *params[] = { req->store_clock ? NULL : chime__pg_i64(req->now, now),
                             chime__pg_i64((int64_t)(req->limit ? req->limit : 256), lim) };
    int n_rows;
    return run_claim(ps, PG_CLAIM_RETRIES, params, &local, plan_retry_rows, out, &n_rows);
}

int chime__pg_next_retry(struct chime_store *store, chime_utime *out)
{
    struct pg_store *ps = chime__pg_of(store);
    struct pg_conn *c = chime__pg_acquire(ps);
    if (!c)
        return CHIME_ESTORE;
    int rc;
    PGresult *res = chime__pg_exec(ps, c, PG_NEXT_RETRY, 0, NULL, PGRES_TUPLES_OK, &rc);
    if (res && (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)))
        rc = CHIME_ENOENT;
    else if (res) /* on this process's clock */
        *out = chime__pg_get_i64(res, 0, 0, 0) - (chime_utime)atomic_load(&ps->offset_us);
    PQclear(res);
    chime__pg_release(ps, c);
    return rc;
}
