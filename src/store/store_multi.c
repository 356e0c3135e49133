/*
 * Several named job stores behind one store interface (APScheduler's
 * add_jobstore): "default" (DATABASE_URL) and the stores of CHIME_JOBSTORES,
 * e.g. a memory:// store for jobs that need not survive a restart beside
 * PostgreSQL. A job lives in the store its "jobstore" field names; a job id
 * is unique over all of them. The scheduler sees one schedule: next_due is
 * the earliest of all, a claim claims from each. Run ids are made unique by
 * folding the store's index into the low bits (id * MULTI_MAX + index), so
 * finishing a run finds its store again. Listings merge the stores' sorted
 * streams (jobs by next run and id, runs newest first).
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "store/store_internal.h"

#define MULTI_MAX 16

struct multi_store {
    struct chime_store base;
    size_t n;
    char *names[MULTI_MAX];
    struct chime_store *stores[MULTI_MAX]; /* [0] is "default" */
};

static struct multi_store *mu_of(struct chime_store *store)
{
    return (struct multi_store *)store;
}

static int64_t global_run_id(int64_t id, size_t i)
{
    return id * MULTI_MAX + (int64_t)i;
}

static void multi_close(struct chime_store *store)
{
    struct multi_store *m = mu_of(store);
    for (size_t i = 0; i < m->n; i++) {
        chime_store_close(m->stores[i]);
        chime__free(m->names[i]);
    }
    chime__free(m);
}

/* The index of the store holding job id, or -1. */
static int find_job(struct multi_store *m, const char *id)
{
    for (size_t i = 0; i < m->n; i++) {
        struct chime_job job;
        if (m->stores[i]->ops->get_job(m->stores[i], id, &job) == 0) {
            chime_job_release(&job);
            return (int)i;
        }
    }
    return -1;
}

static int store_named(struct multi_store *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->names[i], name ? name : "default"))
            return (int)i;
    return -1;
}

static int multi_add_job(struct chime_store *store, const struct chime_job *job, bool replace)
{
    struct multi_store *m = mu_of(store);
    int to = store_named(m, job->jobstore);
    if (to < 0)
        return CHIME_EINVAL;
    int at = find_job(m, job->id);
    if (at >= 0 && at != to) { /* the id is taken in another store */
        if (!replace)
            return CHIME_EEXIST;
        int rc = m->stores[at]->ops->remove_job(m->stores[at], job->id);
        if (rc)
            return rc;
    }
    return m->stores[to]->ops->add_job(m->stores[to], job, replace);
}

static int multi_update_job(struct chime_store *store, const struct chime_job *job)
{
    struct multi_store *m = mu_of(store);
    int at = find_job(m, job->id);
    return at < 0 ? CHIME_ENOENT : m->stores[at]->ops->update_job(m->stores[at], job);
}

static int multi_remove_job(struct chime_store *store, const char *id)
{
    struct multi_store *m = mu_of(store);
    int at = find_job(m, id);
    return at < 0 ? CHIME_ENOENT : m->stores[at]->ops->remove_job(m->stores[at], id);
}

static int multi_get_job(struct chime_store *store, const char *id, struct chime_job *out)
{
    struct multi_store *m = mu_of(store);
    for (size_t i = 0; i < m->n; i++) {
        int rc = m->stores[i]->ops->get_job(m->stores[i], id, out);
        if (rc != CHIME_ENOENT)
            return rc;
    }
    return CHIME_ENOENT;
}

/* Jobs collected from the stores, to be merged. */
struct job_list {
    struct chime_job *jobs;
    size_t n, cap;
};

static int collect_job(const struct chime_job *job, void *ctx)
{
    struct job_list *l = ctx;
    if (chime__grow((void **)&l->jobs, &l->cap, l->n + 1, sizeof(*l->jobs)) != 0)
        return CHIME_ENOMEM;
    if (chime_job_copy(&l->jobs[l->n], job) != 0)
        return CHIME_ENOMEM;
    l->n++;
    return 0;
}

/* (next_run, id) order, unscheduled (NONE) last. */
static int job_order(const void *a, const void *b)
{
    const struct chime_job *x = a, *y = b;
    bool xn = x->next_run == CHIME_UTIME_NONE, yn = y->next_run == CHIME_UTIME_NONE;
    if (xn != yn)
        return xn ? 1 : -1;
    if (!xn && x->next_run != y->next_run)
        return x->next_run < y->next_run ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int multi_list_jobs(struct chime_store *store, const struct chime_job_page *page,
                           chime_job_visit_fn visit, void *ctx)
{
    struct multi_store *m = mu_of(store);
    struct job_list l = { 0 };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < m->n; i++)
        rc = m->stores[i]->ops->list_jobs(m->stores[i], page, collect_job, &l);
    if (rc == 0 && l.n)
        qsort(l.jobs, l.n, sizeof(*l.jobs), job_order);
    size_t limit = page && page->limit ? page->limit : l.n;
    for (size_t i = 0; rc == 0 && i < l.n && i < limit; i++)
        if (visit(&l.jobs[i], ctx) != 0)
            break;
    for (size_t i = 0; i < l.n; i++)
        chime_job_release(&l.jobs[i]);
    chime__free(l.jobs);
    return rc;
}

static size_t multi_count_jobs(struct chime_store *store)
{
    struct multi_store *m = mu_of(store);
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        n += m->stores[i]->ops->count_jobs(m->stores[i]);
    return n;
}

static int multi_next_due(struct chime_store *store, chime_utime *out)
{
    struct multi_store *m = mu_of(store);
    int result = CHIME_ENOENT;
    for (size_t i = 0; i < m->n; i++) {
        chime_utime due;
        int rc = m->stores[i]->ops->next_due(m->stores[i], &due);
        if (rc == CHIME_ENOENT)
            continue;
        if (rc < 0)
            return rc;
        if (result != 0 || due < *out)
            *out = due;
        result = 0;
    }
    return result;
}

static void fold_run_ids(struct chime_claim_batch *out, size_t from, size_t i)
{
    for (size_t k = from; k < out->n_claims; k++)
        out->claims[k].run.id = global_run_id(out->claims[k].run.id, i);
}

static int multi_claim_due(struct chime_store *store, const struct chime_claim_request *req,
                           struct chime_claim_batch *out)
{
    struct multi_store *m = mu_of(store);
    int first = 0;
    for (size_t i = 0; i < m->n; i++) {
        size_t from = out->n_claims;
        int rc = m->stores[i]->ops->claim_due(m->stores[i], req, out);
        fold_run_ids(out, from, i);
        if (rc && !first)
            first = rc; /* the other stores still claim */
    }
    return out->n_claims ? 0 : first;
}

static int multi_claim_retries(struct chime_store *store, const struct chime_claim_request *req,
                               struct chime_claim_batch *out)
{
    struct multi_store *m = mu_of(store);
    int first = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (!m->stores[i]->ops->claim_retries)
            continue;
        size_t from = out->n_claims;
        int rc = m->stores[i]->ops->claim_retries(m->stores[i], req, out);
        fold_run_ids(out, from, i);
        if (rc && !first)
            first = rc;
    }
    return out->n_claims ? 0 : first;
}

static int multi_next_retry(struct chime_store *store, chime_utime *out)
{
    struct multi_store *m = mu_of(store);
    int result = CHIME_ENOENT;
    for (size_t i = 0; i < m->n; i++) {
        chime_utime due;
        if (!m->stores[i]->ops->next_retry ||
            m->stores[i]->ops->next_retry(m->stores[i], &due) != 0)
            continue;
        if (result != 0 || due < *out)
            *out = due;
        result = 0;
    }
    return result;
}

static int multi_claim_now(struct chime_store *store, const char *id,
                           const struct chime_claim_request *req, struct chime_claim_batch *out)
{
    struct multi_store *m = mu_of(store);
    int at = find_job(m, id);
    if (at < 0)
        return CHIME_ENOENT;
    size_t from = out->n_claims;
    int rc = m->stores[at]->ops->claim_now(m->stores[at], id, req, out);
    fold_run_ids(out, from, (size_t)at);
    return rc;
}

/* finish_runs for the runs of one store (ids unfolded into copies). */
static int finish_in(struct multi_store *m, size_t i, const struct chime_run *const *runs,
                     size_t n, int *out_rcs)
{
    int first = 0;
    for (size_t k = 0; k < n; k++) {
        if (runs[k]->id % MULTI_MAX != (int64_t)i)
            continue;
        struct chime_run local = *runs[k];
        local.id = runs[k]->id / MULTI_MAX;
        int rc = m->stores[i]->ops->finish_run(m->stores[i], &local);
        if (out_rcs)
            out_rcs[k] = rc;
        if (rc && !first)
            first = rc;
    }
    return first;
}

static int multi_finish_runs(struct chime_store *store, const struct chime_run *const *runs,
                             size_t n, int *out_rcs)
{
    struct multi_store *m = mu_of(store);
    int first = 0;
    for (size_t i = 0; i < m->n; i++) {
        int rc = finish_in(m, i, runs, n, out_rcs);
        if (rc && !first)
            first = rc;
    }
    return first;
}

static int multi_finish_run(struct chime_store *store, const struct chime_run *run)
{
    int rc = 0;
    const struct chime_run *runs[] = { run };
    int first = multi_finish_runs(store, runs, 1, &rc);
    return first ? first : rc;
}

struct run_list {
    struct chime_run *runs;
    size_t n, cap;
    size_t index; /* the store being collected */
};

static int collect_run(const struct chime_run *run, void *ctx)
{
    struct run_list *l = ctx;
    if (chime__grow((void **)&l->runs, &l->cap, l->n + 1, sizeof(*l->runs)) != 0 ||
        chime_run_copy(&l->runs[l->n], run) != 0)
        return CHIME_ENOMEM;
    l->runs[l->n++].id = global_run_id(run->id, l->index);
    return 0;
}

static int run_order(const void *a, const void *b) /* newest first */
{
    const struct chime_run *x = a, *y = b;
    return x->id == y->id ? 0 : x->id > y->id ? -1 : 1;
}

static int multi_list_runs(struct chime_store *store, const struct chime_run_filter *filter,
                           chime_run_visit_fn visit, void *ctx)
{
    struct multi_store *m = mu_of(store);
    struct run_list l = { 0 };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < m->n; i++) {
        struct chime_run_filter f = *filter;
        if (filter->before_id > 0) /* global < before  <=>  local < ceil((before - i) / MAX) */
            f.before_id = (filter->before_id - (int64_t)i + MULTI_MAX - 1) / MULTI_MAX;
        if (filter->before_id > 0 && f.before_id <= 0)
            continue;
        l.index = i;
        rc = m->stores[i]->ops->list_runs(m->stores[i], &f, collect_run, &l);
    }
    if (rc == 0 && l.n)
        qsort(l.runs, l.n, sizeof(*l.runs), run_order);
    size_t limit = filter->limit ? filter->limit : l.n;
    for (size_t i = 0; rc == 0 && i < l.n && i < limit; i++)
        if (visit(&l.runs[i], ctx) != 0)
            break;
    for (size_t i = 0; i < l.n; i++)
        chime_run_release(&l.runs[i]);
    chime__free(l.runs);
    return rc;
}

static int multi_prune_runs(struct chime_store *store, chime_utime before, size_t keep)
{
    struct multi_store *m = mu_of(store);
    int first = 0;
    for (size_t i = 0; i < m->n; i++) {
        int rc = m->stores[i]->ops->prune_runs(m->stores[i], before, keep);
        if (rc && !first)
            first = rc;
    }
    return first;
}

static void multi_set_wake(struct chime_store *store, chime_store_wake_fn fn, void *ctx)
{
    struct multi_store *m = mu_of(store);
    for (size_t i = 0; i < m->n; i++)
        if (m->stores[i]->ops->set_wake)
            m->stores[i]->ops->set_wake(m->stores[i], fn, ctx);
}

static bool multi_healthy(struct chime_store *store, const char **detail)
{
    struct multi_store *m = mu_of(store);
    for (size_t i = 0; i < m->n; i++)
        if (m->stores[i]->ops->healthy && !m->stores[i]->ops->healthy(m->stores[i], detail))
            return false;
    return true;
}

static int multi_probe_write(struct chime_store *store)
{
    struct multi_store *m = mu_of(store);
    for (size_t i = 0; i < m->n; i++) {
        struct chime_store *s = m->stores[i];
        int rc = s->ops->probe_write ? s->ops->probe_write(s) : 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int multi_list_nodes(struct chime_store *store, chime_node_visit_fn visit, void *ctx)
{
    struct multi_store *m = mu_of(store);
    for (size_t i = 0; i < m->n; i++)
        if (m->stores[i]->ops->list_nodes)
            return m->stores[i]->ops->list_nodes(m->stores[i], visit, ctx);
    return CHIME_ENOENT;
}

static int multi_count_by_state(struct chime_store *store, size_t *out_scheduled,
                                size_t *out_paused)
{
    struct multi_store *m = mu_of(store);
    *out_scheduled = *out_paused = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct chime_store *s = m->stores[i];
        size_t scheduled = 0, paused = 0;
        int rc = s->ops->count_by_state ? s->ops->count_by_state(s, &scheduled, &paused)
                                        : CHIME_EINVAL;
        if (rc)
            return rc;
        *out_scheduled += scheduled;
        *out_paused += paused;
    }
    return 0;
}

static void multi_stats(struct chime_store *store, struct chime_store_stats *out)
{
    struct multi_store *m = mu_of(store);
    for (size_t i = 0; i < m->n; i++)
        if (m->stores[i]->ops->stats)
            m->stores[i]->ops->stats(m->stores[i], out);
}

static size_t multi_names(const struct chime_store *store, const char **names, size_t max)
{
    const struct multi_store *m = (const struct multi_store *)store;
    for (size_t i = 0; i < m->n && i < max; i++)
        names[i] = m->names[i];
    return m->n;
}

static const struct chime_store_ops multi_ops = {
    .name = "multi",
    .close = multi_close,
    .add_job = multi_add_job,
    .update_job = multi_update_job,
    .remove_job = multi_remove_job,
    .get_job = multi_get_job,
    .list_jobs = multi_list_jobs,
    .count_jobs = multi_count_jobs,
    .next_due = multi_next_due,
    .claim_due = multi_claim_due,
    .claim_now = multi_claim_now,
    .claim_retries = multi_claim_retries,
    .next_retry = multi_next_retry,
    .finish_run = multi_finish_run,
    .finish_runs = multi_finish_runs,
    .list_runs = multi_list_runs,
    .prune_runs = multi_prune_runs,
    .set_wake = multi_set_wake,
    .healthy = multi_healthy,
    .probe_write = multi_probe_write,
    .list_nodes = multi_list_nodes,
    .count_by_state = multi_count_by_state,
    .stats = multi_stats,
    .names = multi_names,
};

/* Parses "name=url" (one entry of CHIME_JOBSTORES) into a name copy and url. */
static int parse_entry(const char *entry, size_t len, char **name, char **url,
                       struct chime_diag *diag)
{
    const char *eq = memchr(entry, '=', len);
    size_t nlen = eq ? (size_t)(eq - entry) : 0;
    if (!eq || nlen == 0 || nlen >= 64 || eq + 1 == entry + len)
        return chime_diag_set(diag, CHIME_EINVAL, "CHIME_JOBSTORES",
                              "CHIME_JOBSTORES entry \"%.*s\" is not name=url", (int)len, entry);
    *name = chime__strndup(entry, nlen);
    *url = chime__strndup(eq + 1, len - nlen - 1);
    if (!*name || !*url) {
        chime__free(*name);
        chime__free(*url);
        return chime_diag_set(diag, CHIME_ENOMEM, "CHIME_JOBSTORES", "out of memory");
    }
    return 0;
}

static int add_named(struct multi_store *m, char *name, struct chime_store *s,
                     struct chime_diag *diag)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->names[i], name)) {
            chime_diag_set(diag, CHIME_EINVAL, "CHIME_JOBSTORES",
                           "job store \"%s\" is named twice", name);
            chime__free(name);
            chime_store_close(s);
            return CHIME_EINVAL;
        }
    if (m->n == MULTI_MAX) {
        chime__free(name);
        chime_store_close(s);
        return chime_diag_set(diag, CHIME_ERANGE, "CHIME_JOBSTORES", "at most %d job stores",
                              MULTI_MAX);
    }
    m->names[m->n] = name;
    m->stores[m->n++] = s;
    return 0;
}

static int open_entry(struct multi_store *m, const char *entry, size_t len,
                      const struct chime_job_defaults *defaults,
                      const struct chime_store_options *opts, struct chime_diag *diag)
{
    char *name = NULL, *url = NULL;
    int rc = parse_entry(entry, len, &name, &url, diag);
    if (rc)
        return rc;
    struct chime_store *s = NULL;
    rc = chime_store_open_opts(url, defaults, opts, &s, diag);
    chime__free(url);
    if (rc) {
        chime__free(name);
        return rc;
    }
    return add_named(m, name, s, diag);
}

int chime_store_open_named(const char *url, const char *others,
                           const struct chime_job_defaults *defaults,
                           const struct chime_store_options *opts, struct chime_store **out,
                           struct chime_diag *diag)
{
    if (!others || !*others)
        return chime_store_open_opts(url, defaults, opts, out, diag);
    struct multi_store *m = chime__calloc(1, sizeof(*m));
    if (!m)
        return chime_diag_set(diag, CHIME_ENOMEM, "CHIME_JOBSTORES", "out of memory");
    m->base.ops = &multi_ops;
    struct chime_store *first = NULL;
    char *def = chime__strdup("default");
    int rc = def ? chime_store_open_opts(url, defaults, opts, &first, diag) : CHIME_ENOMEM;
    if (rc == 0)
        rc = add_named(m, def, first, diag);
    else
        chime__free(def);
    for (const char *p = others; rc == 0 && *p;) {
        size_t len = strcspn(p, ",");
        if (len)
            rc = open_entry(m, p, len, defaults, opts, diag);
        p += len + (p[len] == ',');
    }
    if (rc) {
        multi_close(&m->base);
        return rc;
    }
    *out = &m->base;
    return 0;
}

size_t chime_store_names(const struct chime_store *store, const char **names, size_t max)
{
    if (store->ops->names)
        return store->ops->names(store, names, max);
    if (max)
        names[0] = "default";
    return 1;
}
