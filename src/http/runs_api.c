/*
 * Run history: GET /schedule/runs (every job, or ?job_id=) and
 * GET /schedule/jobs/{id}/runs, newest first, filtered by ?status=, paged by
 * ?limit= (default 100, at most 1000) and ?cursor= (the next_cursor of the
 * previous page). Read from the store's list_runs; the runs of a removed job
 * stay listed. A bad parameter is a 400 naming it.
 */
#include "base/base.h"
#include "http/http_internal.h"

#define RUNS_DEFAULT 100
#define RUNS_MAX     1000

struct runs_page {
    json_t *runs;
    size_t limit, n;
    int64_t last_id;
    bool failed;
};

static int runs_visit(const struct chime_run *run, void *ctx)
{
    struct runs_page *p = ctx;
    if (p->n++ == p->limit)
        return 1; /* one more than the page: there is a next page */
    if (json_array_append_new(p->runs, chime_run_to_json(run)) < 0)
        return p->failed = true, 1;
    p->last_id = run->id;
    return 0;
}

static const char *query(const struct chime__http_req *req, const char *key)
{
    return req->query ? req->query(req->query_ctx, key) : NULL;
}

/* Reads ?status, ?limit, ?cursor into filter; false with a 400 in rep. */
static bool runs_query(const struct chime__http_req *req, struct chime_run_filter *filter,
                       struct chime__http_reply *rep)
{
    const char *status = query(req, "status"), *limit = query(req, "limit");
    const char *cursor = query(req, "cursor");
    enum chime_run_status st;
    filter->status = -1;
    filter->limit = RUNS_DEFAULT;
    if (status && chime_run_status_parse(status, &st) < 0) {
        chime__http_reply_detail(rep, 400,
                                 "status must be one of running, succeeded, failed, timed_out, "
                                 "missed, skipped, lost, cancelled");
        return false;
    }
    if (status)
        filter->status = (int)st;
    if (limit && chime__http_parse_limit(limit, RUNS_MAX, &filter->limit) < 0) {
        chime__http_reply_detail(rep, 400, "limit must be an integer from 1 to %d", RUNS_MAX);
        return false;
    }
    if (cursor && chime__cursor_run_parse(cursor, &filter->before_id) < 0) {
        chime__http_reply_detail(rep, 400, "cursor is not a cursor this API returned");
        return false;
    }
    return true;
}

static void runs_answer(const struct chime__http_req *req, struct chime_run_filter *filter,
                        struct chime__http_reply *rep)
{
    struct chime_store *store = req->env->store;
    struct runs_page p = { .runs = json_array(), .limit = filter->limit };
    filter->limit++;
    int rc = p.runs ? store->ops->list_runs(store, filter, runs_visit, &p) : CHIME_ENOMEM;
    if (rc == 0 && p.failed)
        rc = CHIME_ENOMEM;
    char *cursor = NULL;
    if (rc == 0 && p.n > p.limit && !(cursor = chime__cursor_run_format(p.last_id)))
        rc = CHIME_ENOMEM;
    if (rc < 0) {
        json_decref(p.runs);
        chime__http_reply_error(rep, rc, NULL);
        return;
    }
    json_t *next = cursor ? json_string(cursor) : json_null();
    chime__free(cursor);
    chime__http_reply_json(rep, 200, json_pack("{s:o,s:o}", "runs", p.runs, "next_cursor", next));
}

void chime__http_runs_list(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    struct chime_run_filter filter = { 0 };
    if (!runs_query(req, &filter, rep))
        return;
    const char *job_id = query(req, "job_id");
    filter.job_id = job_id && job_id[0] ? job_id : NULL;
    runs_answer(req, &filter, rep);
}

void chime__http_job_runs(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    struct chime_run_filter filter = { 0 };
    if (!runs_query(req, &filter, rep))
        return;
    filter.job_id = req->id;
    runs_answer(req, &filter, rep);
}
