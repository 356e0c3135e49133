/*
 * The PostgreSQL store's job operations. A job travels as its stored JSON
 * (chime_job_to_stored) in one parameter; the statements spread it into the
 * readable columns and keep it whole in spec. Reads rebuild the job from
 * spec with the columns the store itself writes (next_run_time, version)
 * laid over it. Writes that give a job a next run NOTIFY every node in the
 * same statement, so the change and its announcement commit together.
 * Listings walk the (next_run_time, id) index in chunks, so "all jobs" of
 * a million never sits in memory at once.
 */
#include <string.h>

#include "base/base.h"
#include "store/store_pg.h"

#define LIST_CHUNK 500

int chime__pg_row_job(struct pg_store *ps, const PGresult *res, int row, int col,
                      struct chime_job *out)
{
    json_error_t jerr;
    json_t *spec = json_loads(PQgetvalue(res, row, col), 0, &jerr);
    if (!json_is_object(spec)) {
        json_decref(spec);
        chime__log(CHIME_LOG_ERROR, "PostgreSQL store: a job's spec is not a JSON object");
        return CHIME_ESTORE;
    }
    json_t *next = PQgetisnull(res, row, col + 1)
                           ? json_null()
                           : json_integer(chime__pg_get_i64(res, row, col + 1, 0));
    int rc = json_object_set_new(spec, "next_run_us", next) |
             json_object_set_new(spec, "version",
                                 json_integer(chime__pg_get_i64(res, row, col + 2, 1)));
    struct chime_diag diag;
    chime_diag_clear(&diag);
    if (rc == 0)
        rc = chime_job_from_stored(spec, &ps->defaults, out, &diag);
    else
        rc = CHIME_ENOMEM;
    json_decref(spec);
    if (rc == CHIME_EINVAL) {
        chime__log(CHIME_LOG_ERROR, "PostgreSQL store: a stored job does not load: %s",
                   diag.message);
        rc = CHIME_ESTORE;
    }
    return rc;
}

/* Runs a job write (the job's stored JSON as $1); *version = the new version or 0. */
static int write_job(struct pg_store *ps, enum pg_stmt st, const struct chime_job *job,
                     int64_t *version)
{
    json_t *stored = chime_job_to_stored(job);
    char *text = stored ? json_dumps(stored, JSON_COMPACT) : NULL;
    json_decref(stored);
    if (!text)
        return CHIME_ENOMEM;
    int rc = CHIME_ESTORE;
    struct pg_conn *c = chime__pg_acquire(ps);
    if (c) {
        const char *params[] = { text };
        PGresult *res = chime__pg_exec(ps, c, st, 1, params, PGRES_TUPLES_OK, &rc);
        if (res)
            *version = chime__pg_get_i64(res, 0, 0, 0);
        PQclear(res);
        chime__pg_release(ps, c);
    }
    free(text);
    return rc;
}

int chime__pg_add_job(struct chime_store *store, const struct chime_job *job, bool replace)
{
    if (!job->id || !job->trigger)
        return CHIME_EINVAL;
    int64_t version = 0;
    int rc = write_job(chime__pg_of(store), replace ? PG_UPSERT_JOB : PG_INSERT_JOB, job, &version);
    if (rc == 0 && version == 0)
        return CHIME_EEXIST;
    return rc;
}

int chime__pg_update_job(struct chime_store *store, const struct chime_job *job)
{
    if (!job->id || !job->trigger)
        return CHIME_EINVAL;
    int64_t version = 0;
    int rc = write_job(chime__pg_of(store), PG_UPDATE_JOB, job, &version);
    if (rc == 0 && version == 0)
        return CHIME_ENOENT;
    return rc;
}

int chime__pg_remove_job(struct chime_store *store, const char *id)
{
    struct pg_store *ps = chime__pg_of(store);
    struct pg_conn *c = chime__pg_acquire(ps);
    if (!c)
        return CHIME_ESTORE;
    int rc;
    const char *params[] = { id };
    PGresult *res = chime__pg_exec(ps, c, PG_DELETE_JOB, 1, params, PGRES_COMMAND_OK, &rc);
    if (res && strcmp(PQcmdTuples(res), "0") == 0)
        rc = CHIME_ENOENT;
    PQclear(res);
    chime__pg_release(ps, c);
    return rc;
}

int chime__pg_get_job(struct chime_store *store, const char *id, struct chime_job *out)
{
    struct pg_store *ps = chime__pg_of(store);
    struct pg_conn *c = chime__pg_acquire(ps);
    if (!c)
        return CHIME_ESTORE;
    int rc;
    const char *params[] = { id };
    PGresult *res = chime__pg_exec(ps, c, PG_GET_JOB, 1, params, PGRES_TUPLES_OK, &rc);
    if (res)
        rc = PQntuples(res) == 0 ? CHIME_ENOENT : chime__pg_row_job(ps, res, 0, 0, out);
    PQclear(res);
    chime__pg_release(ps, c);
    return rc;
}

/* Where a listing is: in the scheduled jobs (by next run, id), then the unscheduled (by id). */
struct list_pos {
    bool unscheduled;
    chime_utime next_run; /* of the last job shown (scheduled part) */
    char *id;             /* of the last job shown; NULL before the first */
};

static PGresult *list_chunk(struct pg_store *ps, struct pg_conn *c, const struct list_pos *pos,
                            size_t n, int *rc)
{
    char t[24], lim[24];
    chime__pg_i64((int64_t)n, lim);
    if (!pos->unscheduled) {
        const char *params[] = { pos->id ? chime__pg_i64(pos->next_run, t) : NULL,
                                 pos->id ? pos->id : "", lim };
        return chime__pg_exec_sql(ps, c->conn,
                                  "SELECT spec, chime_us(next_run_time), version, id FROM jobs"
                                  " WHERE next_run_time IS NOT NULL AND ($1::bigint IS NULL"
                                  " OR (next_run_time, id) > (chime_ts($1::bigint), $2))"
                                  " ORDER BY next_run_time, id LIMIT $3",
                                  3, params, PGRES_TUPLES_OK, rc);
    }
    const char *params[] = { pos->id ? pos->id : "", lim };
    return chime__pg_exec_sql(ps, c->conn,
                              "SELECT spec, chime_us(next_run_time), version, id FROM jobs"
                              " WHERE next_run_time IS NULL AND id > $1 ORDER BY id LIMIT $2",
                              2, params, PGRES_TUPLES_OK, rc);
}

/* Visits the rows of one chunk; *stop when the visitor stopped or the limit is reached. */
static int visit_chunk(struct pg_store *ps, const PGresult *res, chime_job_visit_fn visit,
                       void *ctx, size_t *left, bool *stop)
{
    for (int i = 0; i < PQntuples(res) && !*stop; i++) {
        struct chime_job job;
        int rc = chime__pg_row_job(ps, res, i, 0, &job);
        if (rc)
            return rc;
        *stop = visit(&job, ctx) != 0 || (*left > 0 && --*left == 0);
        chime_job_release(&job);
    }
    return 0;
}

static int remember_last(const PGresult *res, struct list_pos *pos)
{
    int last = PQntuples(res) - 1;
    char *id = chime__strdup(PQgetvalue(res, last, 3));
    if (!id)
        return CHIME_ENOMEM;
    chime__free(pos->id);
    pos->id = id;
    pos->next_run = chime__pg_get_i64(res, last, 1, 0);
    return 0;
}

static int start_pos(const struct chime_job_page *page, struct list_pos *pos)
{
    memset(pos, 0, sizeof(*pos));
    if (!page || !page->has_after)
        return 0;
    pos->unscheduled = page->after_next_run == CHIME_UTIME_NONE;
    pos->next_run = page->after_next_run;
    pos->id = chime__strdup(page->after_id ? page->after_id : "");
    return pos->id ? 0 : CHIME_ENOMEM;
}

static int list_all(struct pg_store *ps, struct pg_conn *c, struct list_pos *pos, size_t left,
                    chime_job_visit_fn visit, void *ctx)
{
    bool stop = false;
    int rc = 0;
    while (!stop && rc == 0) {
        size_t n = left && left < LIST_CHUNK ? left : LIST_CHUNK;
        PGresult *res = list_chunk(ps, c, pos, n, &rc);
        if (!res)
            break;
        int rows = PQntuples(res);
        rc = visit_chunk(ps, res, visit, ctx, &left, &stop);
        if (rc == 0 && rows > 0)
            rc = remember_last(res, pos);
        PQclear(res);
        if (rc == 0 && (size_t)rows < n) { /* this part is done */
            if (pos->unscheduled)
                break;
            pos->unscheduled = true;
            chime__free(pos->id);
            pos->id = NULL;
        }
    }
    return rc;
}

int chime__pg_list_jobs(struct chime_store *store, const struct chime_job_page *page,
                        chime_job_visit_fn visit, void *ctx)
{
    struct pg_store *ps = chime__pg_of(store);
    struct list_pos pos;
    int rc = start_pos(page, &pos);
    if (rc)
        return rc;
    struct pg_conn *c = chime__pg_acquire(ps);
    if (!c)
        rc = CHIME_ESTORE;
    else
        rc = list_all(ps, c, &pos, page ? page->limit : 0, visit, ctx);
    chime__pg_release(ps, c);
    chime__free(pos.id);
    return rc;
}

size_t chime__pg_count_jobs(struct chime_store *store)
{
    struct pg_store *ps = chime__pg_of(store);
    struct pg_conn *c = chime__pg_acquire(ps);
    if (!c)
        return 0;
    int rc;
    PGresult *res = chime__pg_exec_sql(ps, c->conn, "SELECT count(*) FROM jobs", 0, NULL,
                                       PGRES_TUPLES_OK, &rc);
    size_t n = res ? (size_t)chime__pg_get_i64(res, 0, 0, 0) : 0;
    PQclear(res);
    chime__pg_release(ps, c);
    return n;
}

/* One scan of the jobs table (a scrape's worth; the table holds one row per job). */
int chime__pg_count_by_state(struct chime_store *store, size_t *out_scheduled, size_t *out_paused)
{
    struct pg_store *ps = chime__pg_of(store);
    struct pg_conn *c = chime__pg_acquire(ps);
    if (!c)
        return CHIME_ESTORE;
    int rc;
    PGresult *res = chime__pg_exec_sql(ps, c->conn,
                                       "SELECT count(*) FILTER (WHERE next_run_time IS NOT NULL),"
                                       " count(*) FILTER (WHERE next_run_time IS NULL) FROM jobs",
                                       0, NULL, PGRES_TUPLES_OK, &rc);
    if (res) {
        *out_scheduled = (size_t)chime__pg_get_i64(res, 0, 0, 0);
        *out_paused = (size_t)chime__pg_get_i64(res, 0, 1, 0);
    }
    PQclear(res);
    chime__pg_release(ps, c);
    return rc;
}

void chime__pg_stats(struct chime_store *store, struct chime_store_stats *out)
{
    struct pg_store *ps = chime__pg_of(store);
    out->shared = true;
    out->claims += atomic_load_explicit(&ps->n_claims, memory_order_relaxed);
    out->claimed_runs += atomic_load_explicit(&ps->n_claimed_runs, memory_order_relaxed);
    out->claim_conflicts += atomic_load_explicit(&ps->n_claim_conflicts, memory_order_relaxed);
    out->claim_failures += atomic_load_explicit(&ps->n_claim_failures, memory_order_relaxed);
    out->runs_lost += atomic_load_explicit(&ps->n_runs_lost, memory_order_relaxed);
}

int chime__pg_next_due(struct chime_store *store, chime_utime *out)
{
    struct pg_store *ps = chime__pg_of(store);
    struct pg_conn *c = chime__pg_acquire(ps);
    if (!c)
        return CHIME_ESTORE;
    int rc;
    PGresult *res = chime__pg_exec(ps, c, PG_NEXT_DUE, 0, NULL, PGRES_TUPLES_OK, &rc);
    if (res && PQntuples(res) == 0)
        rc = CHIME_ENOENT;
    else if (res) /* on this process's clock */
        *out = chime__pg_get_i64(res, 0, 0, 0) - (chime_utime)atomic_load(&ps->offset_us);
    PQclear(res);
    chime__pg_release(ps, c);
    return rc;
}
