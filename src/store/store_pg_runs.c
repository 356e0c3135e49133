/*
 * Run records in PostgreSQL: outcomes are written in batches (one UPDATE
 * over jsonb_to_recordset for all the runs a worker hands over, guarded by
 * status = 'running' so a run is finished once — a run a surviving node
 * already marked lost stays lost). Outcomes that cannot be written because
 * the server is away are queued in memory and written once it is back (by
 * the next finish or by the maintenance thread), so a run's outcome is not
 * lost to a reconnect. History reads page by id, newest first; pruning
 * deletes in batches that skip rows another node is deleting.
 */
#include <string.h>

#include "base/base.h"
#include "store/store_pg.h"

#define PENDING_MAX 100000
#define LIST_CHUNK  1000
#define PRUNE_BATCH "1000"

int chime__pg_row_run(const PGresult *res, int row, int col, struct chime_run *run)
{
    bool ok = true;
    chime_run_init(run);
    run->id = chime__pg_get_i64(res, row, col, 0);
    run->job_id = chime__pg_get_str(res, row, col + 1, &ok);
    run->scheduled = chime__pg_get_i64(res, row, col + 2, 0);
    run->started = chime__pg_get_i64(res, row, col + 3, CHIME_UTIME_NONE);
    run->finished = chime__pg_get_i64(res, row, col + 4, CHIME_UTIME_NONE);
    if (chime_run_status_parse(PQgetvalue(res, row, col + 5), &run->status) != 0)
        run->status = CHIME_RUN_LOST;
    run->cause = !strcmp(PQgetvalue(res, row, col + 6), "manual") ? CHIME_CAUSE_MANUAL
                                                                  : CHIME_CAUSE_SCHEDULE;
    run->attempt = (int)chime__pg_get_i64(res, row, col + 7, 1);
    run->node = chime__pg_get_str(res, row, col + 8, &ok);
    run->error = chime__pg_get_str(res, row, col + 9, &ok);
    run->output = chime__pg_get_str(res, row, col + 10, &ok);
    run->exit_code = (int)chime__pg_get_i64(res, row, col + 11, CHIME_RUN_NO_EXIT_CODE);
    run->http_status = (int)chime__pg_get_i64(res, row, col + 12, 0);
    if (!ok || !run->job_id) {
        chime_run_release(run);
        return CHIME_ENOMEM;
    }
    return 0;
}

static json_t *times_json(chime_utime t)
{
    return t == CHIME_UTIME_NONE ? json_null() : json_integer(t);
}

static json_t *code_json(bool present, int code)
{
    return present ? json_integer(code) : json_null();
}

/* The finish rows; a retry's due time goes to the database's clock (offset_us). */
static json_t *finish_rows(const struct chime_run *const *runs, size_t n, int64_t offset_us)
{
    json_t *rows = json_array();
    for (size_t i = 0; rows && i < n; i++) {
        const struct chime_run *r = runs[i];
        bool retry = r->retry_at != CHIME_UTIME_NONE;
        json_t *row =
                json_pack("{s:I,s:s,s:o,s:o,s:s?,s:s?,s:o,s:o,s:o}", "i", (json_int_t)r->id, "st",
                          chime_run_status_name(r->status), "t0", times_json(r->started), "t1",
                          times_json(r->finished), "e", r->error, "o", r->output, "x",
                          code_json(r->exit_code >= 0, r->exit_code), "h",
                          code_json(r->http_status > 0, r->http_status), "ra",
                          retry ? json_integer(r->retry_at + offset_us) : json_null());
        if (!row || json_array_append_new(rows, row) != 0) {
            json_decref(rows);
            return NULL;
        }
    }
    return rows;
}

/* The runs' ids as a PostgreSQL array literal ({1,2,3}); NULL when out of memory. */
static char *id_array(const struct chime_run *const *runs, size_t n)
{
    size_t size = n * 21 + 3, used = 1;
    char *out = chime__malloc(size);
    if (!out)
        return NULL;
    out[0] = '{';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%lld", i ? "," : "",
                                 (long long)runs[i]->id);
    snprintf(out + used, size - used, "}");
    return out;
}

/* One UPDATE for the n runs; found[i] true for each run it finished. */
static int write_finishes(struct pg_store *ps, const struct chime_run *const *runs, size_t n,
                          bool *found)
{
    json_t *rows = finish_rows(runs, n, (int64_t)atomic_load(&ps->offset_us));
    char *text = rows ? json_dumps(rows, JSON_COMPACT) : NULL;
    char *ids = text ? id_array(runs, n) : NULL;
    json_decref(rows);
    if (!ids) {
        free(text);
        return CHIME_ENOMEM;
    }
    int rc = CHIME_ESTORE;
    struct pg_conn *c = chime__pg_acquire(ps);
    PGresult *res = NULL;
    const char *params[] = { text, ids };
    if (c)
        res = chime__pg_exec(ps, c, PG_FINISH_RUNS, 2, params, PGRES_TUPLES_OK, &rc);
    for (int r = 0; res && r < PQntuples(res); r++) {
        int64_t id = chime__pg_get_i64(res, r, 0, 0);
        for (size_t i = 0; i < n; i++)
            if (runs[i]->id == id)
                found[i] = true;
    }
    PQclear(res);
    chime__pg_release(ps, c);
    free(text);
    chime__free(ids);
    return rc;
}

/* Queues copies of runs whose outcome could not be written. */
static void queue_pending(struct pg_store *ps, const struct chime_run *const *runs, size_t n)
{
    pthread_mutex_lock(&ps->mu);
    size_t room = ps->n_pending < PENDING_MAX ? PENDING_MAX - ps->n_pending : 0;
    size_t take = n < room ? n : room;
    if (take && chime__grow((void **)&ps->pending, &ps->pending_cap, ps->n_pending + take,
                            sizeof(*ps->pending)) == 0) {
        for (size_t i = 0; i < take; i++)
            if (chime_run_copy(&ps->pending[ps->n_pending], runs[i]) == 0)
                ps->n_pending++;
    } else {
        take = 0;
    }
    pthread_mutex_unlock(&ps->mu);
    if (take < n)
        chime__log(CHIME_LOG_ERROR, "PostgreSQL store: %zu run outcomes dropped (queue full)",
                   n - take);
}

int chime__pg_flush_pending(struct pg_store *ps)
{
    pthread_mutex_lock(&ps->mu);
    struct chime_run *runs = ps->pending;
    size_t n = ps->n_pending;
    ps->pending = NULL;
    ps->n_pending = ps->pending_cap = 0;
    pthread_mutex_unlock(&ps->mu);
    if (!n)
        return 0;
    const struct chime_run **ptrs = chime__calloc(n, sizeof(*ptrs));
    bool *found = chime__calloc(n, sizeof(*found));
    int rc = ptrs && found ? 0 : CHIME_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        ptrs[i] = &runs[i];
    if (rc == 0)
        rc = write_finishes(ps, ptrs, n, found);
    if (rc)
        queue_pending(ps, ptrs ? ptrs : NULL, ptrs ? n : 0);
    else
        chime__log(CHIME_LOG_INFO, "PostgreSQL store: %zu queued run outcomes written", n);
    for (size_t i = 0; i < n; i++)
        chime_run_release(&runs[i]);
    chime__free(runs);
    chime__free(ptrs);
    chime__free(found);
    return rc;
}

int chime__pg_finish_runs(struct chime_store *store, const struct chime_run *const *runs, size_t n,
                          int *out_rcs)
{
    struct pg_store *ps = chime__pg_of(store);
    if (!n)
        return 0;
    chime__pg_flush_pending(ps);
    bool *found = chime__calloc(n, sizeof(*found));
    if (!found)
        return CHIME_ENOMEM;
    int rc = write_finishes(ps, runs, n, found);
    if (rc == CHIME_ESTORE) { /* kept for when the server is back */
        queue_pending(ps, runs, n);
        for (size_t i = 0; i < n; i++)
            found[i] = true;
        rc = 0;
    }
    int first = rc;
    for (size_t i = 0; i < n; i++) {
        int r = rc ? rc : found[i] ? 0 : CHIME_ENOENT;
        if (out_rcs)
            out_rcs[i] = r;
        if (!first)
            first = r;
    }
    chime__free(found);
    return first;
}

int chime__pg_finish_run(struct chime_store *store, const struct chime_run *run)
{
    const struct chime_run *runs[] = { run };
    int rc = 0;
    int first = chime__pg_finish_runs(store, runs, 1, &rc);
    return first ? first : rc;
}

static PGresult *runs_chunk(struct pg_store *ps, struct pg_conn *c,
                            const struct chime_run_filter *f, int64_t before, size_t n, int *rc)
{
    char b[24], lim[24];
    const char *params[] = { f->job_id, f->status >= 0 ? chime_run_status_name(f->status) : NULL,
                             before > 0 ? chime__pg_i64(before, b) : NULL,
                             chime__pg_i64((int64_t)n, lim) };
    return chime__pg_exec_sql(ps, c->conn,
                              "SELECT " CHIME__PG_RUN_COLS " FROM runs"
                              " WHERE ($1::text IS NULL OR job_id = $1)"
                              " AND ($2::text IS NULL OR status = $2)"
                              " AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
                              4, params, PGRES_TUPLES_OK, rc);
}

static int visit_runs(const PGresult *res, chime_run_visit_fn visit, void *ctx, size_t *left,
                      bool *stop, int64_t *last_id)
{
    for (int i = 0; i < PQntuples(res) && !*stop; i++) {
        struct chime_run run;
        int rc = chime__pg_row_run(res, i, 0, &run);
        if (rc)
            return rc;
        *last_id = run.id;
        *stop = visit(&run, ctx) != 0 || (*left > 0 && --*left == 0);
        chime_run_release(&run);
    }
    return 0;
}

int chime__pg_list_runs(struct chime_store *store, const struct chime_run_filter *filter,
                        chime_run_visit_fn visit, void *ctx)
{
    struct pg_store *ps = chime__pg_of(store);
    chime__pg_flush_pending(ps);
    struct pg_conn *c = chime__pg_acquire(ps);
    if (!c)
        return CHIME_ESTORE;
    size_t left = filter->limit;
    int64_t before = filter->before_id;
    bool stop = false;
    int rc = 0;
    while (!stop && rc == 0) {
        size_t n = left && left < LIST_CHUNK ? left : LIST_CHUNK;
        PGresult *res = runs_chunk(ps, c, filter, before, n, &rc);
        if (!res)
            break;
        int rows = PQntuples(res);
        rc = visit_runs(res, visit, ctx, &left, &stop, &before);
        PQclear(res);
        if ((size_t)rows < n)
            break;
    }
    chime__pg_release(ps, c);
    return rc;
}

/* Repeats a batched DELETE (params as given) until it deletes nothing. */
static int delete_batches(struct pg_store *ps, struct pg_conn *c, const char *sql,
                          const char *param)
{
    const char *params[] = { param };
    for (;;) {
        int rc;
        PGresult *res = chime__pg_exec_sql(ps, c->conn, sql, 1, params, PGRES_COMMAND_OK, &rc);
        if (!res)
            return rc;
        bool done = strcmp(PQcmdTuples(res), "0") == 0;
        PQclear(res);
        if (done)
            return 0;
    }
}

int chime__pg_prune_runs(struct chime_store *store, chime_utime before, size_t keep_per_job)
{
    struct pg_store *ps = chime__pg_of(store);
    struct pg_conn *c = chime__pg_acquire(ps);
    if (!c)
        return CHIME_ESTORE;
    char t[24], k[24];
    int rc = delete_batches(ps, c,
                            "DELETE FROM runs WHERE id IN (SELECT id FROM runs"
                            " WHERE status <> 'running' AND finished_at < chime_ts($1::bigint)"
                            " LIMIT " PRUNE_BATCH " FOR UPDATE SKIP LOCKED)",
                            chime__pg_i64(before, t));
    if (rc == 0 && keep_per_job > 0)
        rc = delete_batches(ps, c,
                            "DELETE FROM runs WHERE id IN (SELECT id FROM (SELECT id, status,"
                            " row_number() OVER (PARTITION BY job_id ORDER BY id DESC) AS n"
                            " FROM runs) AS x WHERE n > $1::bigint AND status <> 'running'"
                            " LIMIT " PRUNE_BATCH ")",
                            chime__pg_i64((int64_t)keep_per_job, k));
    chime__pg_release(ps, c);
    return rc;
}
