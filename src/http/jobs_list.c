/*
 * GET /schedule/jobs: the job listing, ordered by next run time, paused jobs
 * last (the store's order). Without a query the whole listing is streamed,
 * page by page of the store, each job written as text by chime_job_write_json
 * (no json_t per job), so a hundred thousand jobs never make one big
 * json_t (a job changed while the listing streams may be seen at its old or
 * new place). With ?limit=N[&cursor=C] one page is answered (still an array)
 * and the next page's cursor is in X-Next-Cursor and a Link rel="next" header.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "http/http_internal.h"
#include "sched/sched.h"

/* Jobs per store call while streaming: each call is one pass over the index
 * (with the job text written directly, selecting is ~40% of a listing), so
 * fewer, larger pages are faster; 4096 jobs is ~1.7 MB of page text. */
#define STREAM_PAGE  4096
#define LIST_MAX     1000
#define LIST_DEFAULT 100

struct list_stream {
    const struct chime__http_env *env;
    struct chime_text text; /* pending text */
    size_t off;
    size_t n_page;
    bool started, done, failed;
    struct chime_job_page page;
    chime_utime last_run;
    char last_id[CHIME_JOB_ID_MAX + 1];
};

static chime_utime job_order_key(const struct chime_job *job)
{
    return job->paused ? CHIME_UTIME_NONE : job->next_run;
}

static int stream_visit(const struct chime_job *job, void *ctx)
{
    struct list_stream *s = ctx;
    int rc = 0;
    if (s->started || s->n_page)
        rc = chime_text_append(&s->text, ",", 1);
    /* Written straight into the page text: no json_t per job. */
    if (rc == 0)
        rc = chime_job_write_json(job, &s->text);
    if (rc < 0)
        return s->failed = true, 1;
    s->n_page++;
    s->last_run = job_order_key(job);
    chime__strlcpy(s->last_id, job->id, sizeof(s->last_id));
    return 0;
}

/* Appends the next page of the listing to the pending text. */
static int stream_fill(struct list_stream *s)
{
    s->text.len = s->off = 0;
    if (!s->started && chime_text_append(&s->text, "[", 1) < 0)
        return CHIME_ENOMEM;
    s->n_page = 0;
    s->page.limit = STREAM_PAGE;
    int rc = chime_sched_list_jobs(s->env->sched, &s->page, stream_visit, s);
    if (rc < 0 || s->failed)
        return rc < 0 ? rc : CHIME_ENOMEM;
    s->started = true;
    s->page.has_after = true;
    s->page.after_next_run = s->last_run;
    s->page.after_id = s->last_id;
    if (s->n_page < STREAM_PAGE) {
        s->done = true;
        return chime_text_append(&s->text, "]", 1);
    }
    return 0;
}

static ssize_t stream_read(void *ctx, char *out, size_t max)
{
    struct list_stream *s = ctx;
    while (s->off == s->text.len) {
        if (s->done)
            return 0;
        if (stream_fill(s) < 0)
            return -1;
    }
    size_t n = s->text.len - s->off < max ? s->text.len - s->off : max;
    memcpy(out, s->text.data + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void stream_free(void *ctx)
{
    struct list_stream *s = ctx;
    chime_text_free(&s->text);
    chime__free(s);
}

static void list_streamed(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    struct list_stream *s = chime__calloc(1, sizeof(*s));
    if (!s) {
        chime__http_reply_detail(rep, 503, "out of memory");
        return;
    }
    s->env = req->env;
    /* The first page before the status: a store that fails now (unreachable,
     * disk error) is a 503 with its detail, not a 200 with a truncated body. */
    int rc = stream_fill(s);
    if (rc < 0) {
        stream_free(s);
        chime__http_reply_detail(rep, 503, "the jobs could not be listed: %s", chime_strerror(rc));
        return;
    }
    rep->status = 200;
    rep->stream = stream_read;
    rep->stream_ctx = s;
    rep->stream_free = stream_free;
}

struct list_page {
    struct chime_text text;
    size_t limit, n;
    chime_utime last_run;
    char last_id[CHIME_JOB_ID_MAX + 1];
    bool failed;
};

static int page_visit(const struct chime_job *job, void *ctx)
{
    struct list_page *p = ctx;
    if (p->n++ == p->limit)
        return 1; /* one more than the page: there is a next page */
    int rc = chime_text_append(&p->text, p->n > 1 ? "," : "[", 1);
    if (rc == 0)
        rc = chime_job_write_json(job, &p->text);
    if (rc < 0)
        return p->failed = true, 1;
    p->last_run = job_order_key(job);
    chime__strlcpy(p->last_id, job->id, sizeof(p->last_id));
    return 0;
}

static int page_headers(struct chime__http_reply *rep, const struct list_page *p)
{
    char *cursor = chime__cursor_job_format(p->last_run, p->last_id);
    if (!cursor)
        return CHIME_ENOMEM;
    char link[512];
    snprintf(link, sizeof(link), "</schedule/jobs?limit=%zu&cursor=%s>; rel=\"next\"", p->limit,
             cursor);
    int rc = chime__http_reply_header(rep, "X-Next-Cursor", cursor);
    if (rc == 0)
        rc = chime__http_reply_header(rep, "Link", link);
    chime__free(cursor);
    return rc;
}

/* Reads ?limit and ?cursor into page; false with a 400 in rep. */
static bool page_query(const struct chime__http_req *req, struct chime_job_page *page, char *id_buf,
                       size_t id_size, struct chime__http_reply *rep)
{
    const char *limit = req->query(req->query_ctx, "limit");
    const char *cursor = req->query(req->query_ctx, "cursor");
    page->limit = LIST_DEFAULT;
    if (limit && chime__http_parse_limit(limit, LIST_MAX, &page->limit) < 0) {
        chime__http_reply_detail(rep, 400, "limit must be an integer from 1 to %d", LIST_MAX);
        return false;
    }
    if (cursor && chime__cursor_job_parse(cursor, &page->after_next_run, id_buf, id_size) < 0) {
        chime__http_reply_detail(rep, 400, "cursor is not a cursor this API returned");
        return false;
    }
    page->has_after = cursor != NULL;
    page->after_id = id_buf;
    return true;
}

/* The page's text, closed, answered as a stream that is done at once. */
static int page_reply(struct list_page *p, struct chime__http_reply *rep)
{
    int rc = chime_text_append(&p->text, p->n ? "]" : "[]", p->n ? 1 : 2);
    struct list_stream *s = rc == 0 ? chime__calloc(1, sizeof(*s)) : NULL;
    if (!s)
        return CHIME_ENOMEM;
    s->text = p->text;
    p->text = (struct chime_text){ 0 };
    s->started = s->done = true;
    rep->status = 200;
    rep->stream = stream_read;
    rep->stream_ctx = s;
    rep->stream_free = stream_free;
    return 0;
}

static void list_page(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    struct chime_job_page page = { 0 };
    char after_id[CHIME_JOB_ID_MAX + 1];
    if (!page_query(req, &page, after_id, sizeof(after_id), rep))
        return;
    struct list_page p = { .limit = page.limit };
    page.limit++;
    int rc = chime_sched_list_jobs(req->env->sched, &page, page_visit, &p);
    if (rc == 0 && p.failed)
        rc = CHIME_ENOMEM;
    if (rc == 0 && p.n > p.limit)
        rc = page_headers(rep, &p);
    if (rc == 0)
        rc = page_reply(&p, rep);
    chime_text_free(&p.text);
    if (rc < 0)
        chime__http_reply_error(rep, rc, NULL);
}

void chime__http_jobs_list(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    bool paged = req->query &&
                 (req->query(req->query_ctx, "limit") || req->query(req->query_ctx, "cursor"));
    if (paged)
        list_page(req, rep);
    else
        list_streamed(req, rep);
}
