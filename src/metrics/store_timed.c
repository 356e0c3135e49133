/*
 * A store that times another: every operation is passed to the wrapped
 * store unchanged, between two monotonic clock readings whose difference
 * goes into that operation's latency histogram. The operations table is the
 * wrapped store's with each present entry replaced by its timed twin, so
 * optional operations stay absent, the name stays the same, and untimed
 * ones (wake-ups, health, statistics, names) are passed through as they
 * are. Batched calls (claim_due, finish_runs) are timed once per call.
 */
#include "base/base.h"
#include "metrics/chime_metrics.h"

struct timed_store {
    struct chime_store base;
    struct chime_store_ops ops;
    struct chime_store *inner;
    struct chime_metrics *m;
    const struct chime_clock *clock;
};

static struct timed_store *ts_of(struct chime_store *store)
{
    return (struct timed_store *)store;
}

static chime_mtime op_begin(const struct timed_store *ts)
{
    return chime_clock_mono(ts->clock);
}

static void op_end(struct timed_store *ts, enum chime_metrics_store_op op, chime_mtime t0)
{
    chime_histogram_observe_us(&ts->m->store_ops[op], chime_clock_mono(ts->clock) - t0);
}

static void timed_close(struct chime_store *store)
{
    struct timed_store *ts = ts_of(store);
    chime_store_close(ts->inner);
    chime__free(ts);
}

static int timed_add_job(struct chime_store *store, const struct chime_job *job, bool replace)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->add_job(ts->inner, job, replace);
    op_end(ts, CHIME_METRICS_OP_add_job, t0);
    return rc;
}

static int timed_update_job(struct chime_store *store, const struct chime_job *job)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->update_job(ts->inner, job);
    op_end(ts, CHIME_METRICS_OP_update_job, t0);
    return rc;
}

static int timed_remove_job(struct chime_store *store, const char *id)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->remove_job(ts->inner, id);
    op_end(ts, CHIME_METRICS_OP_remove_job, t0);
    return rc;
}

static int timed_get_job(struct chime_store *store, const char *id, struct chime_job *out)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->get_job(ts->inner, id, out);
    op_end(ts, CHIME_METRICS_OP_get_job, t0);
    return rc;
}

static int timed_list_jobs(struct chime_store *store, const struct chime_job_page *page,
                           chime_job_visit_fn visit, void *ctx)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->list_jobs(ts->inner, page, visit, ctx);
    op_end(ts, CHIME_METRICS_OP_list_jobs, t0);
    return rc;
}

static size_t timed_count_jobs(struct chime_store *store)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    size_t n = ts->inner->ops->count_jobs(ts->inner);
    op_end(ts, CHIME_METRICS_OP_count_jobs, t0);
    return n;
}

static int timed_count_by_state(struct chime_store *store, size_t *out_scheduled,
                                size_t *out_paused)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->count_by_state(ts->inner, out_scheduled, out_paused);
    op_end(ts, CHIME_METRICS_OP_count_by_state, t0);
    return rc;
}

static int timed_next_due(struct chime_store *store, chime_utime *out)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->next_due(ts->inner, out);
    op_end(ts, CHIME_METRICS_OP_next_due, t0);
    return rc;
}

static int timed_claim_due(struct chime_store *store, const struct chime_claim_request *req,
                           struct chime_claim_batch *out)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->claim_due(ts->inner, req, out);
    op_end(ts, CHIME_METRICS_OP_claim_due, t0);
    return rc;
}

static int timed_claim_now(struct chime_store *store, const char *id,
                           const struct chime_claim_request *req, struct chime_claim_batch *out)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->claim_now(ts->inner, id, req, out);
    op_end(ts, CHIME_METRICS_OP_claim_now, t0);
    return rc;
}

static int timed_claim_retries(struct chime_store *store, const struct chime_claim_request *req,
                               struct chime_claim_batch *out)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->claim_retries(ts->inner, req, out);
    op_end(ts, CHIME_METRICS_OP_claim_retries, t0);
    return rc;
}

static int timed_next_retry(struct chime_store *store, chime_utime *out)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->next_retry(ts->inner, out);
    op_end(ts, CHIME_METRICS_OP_next_retry, t0);
    return rc;
}

static int timed_finish_run(struct chime_store *store, const struct chime_run *run)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->finish_run(ts->inner, run);
    op_end(ts, CHIME_METRICS_OP_finish_run, t0);
    return rc;
}

static int timed_finish_runs(struct chime_store *store, const struct chime_run *const *runs,
                             size_t n, int *out_rcs)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->finish_runs(ts->inner, runs, n, out_rcs);
    op_end(ts, CHIME_METRICS_OP_finish_runs, t0);
    return rc;
}

static int timed_list_runs(struct chime_store *store, const struct chime_run_filter *filter,
                           chime_run_visit_fn visit, void *ctx)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->list_runs(ts->inner, filter, visit, ctx);
    op_end(ts, CHIME_METRICS_OP_list_runs, t0);
    return rc;
}

static int timed_prune_runs(struct chime_store *store, chime_utime before, size_t keep_per_job)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->prune_runs(ts->inner, before, keep_per_job);
    op_end(ts, CHIME_METRICS_OP_prune_runs, t0);
    return rc;
}

static int timed_list_nodes(struct chime_store *store, chime_node_visit_fn visit, void *ctx)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->list_nodes(ts->inner, visit, ctx);
    op_end(ts, CHIME_METRICS_OP_list_nodes, t0);
    return rc;
}

static int timed_probe_write(struct chime_store *store)
{
    struct timed_store *ts = ts_of(store);
    chime_mtime t0 = op_begin(ts);
    int rc = ts->inner->ops->probe_write(ts->inner);
    op_end(ts, CHIME_METRICS_OP_probe_write, t0);
    return rc;
}

static void passed_set_wake(struct chime_store *store, chime_store_wake_fn fn, void *ctx)
{
    struct chime_store *inner = ts_of(store)->inner;
    inner->ops->set_wake(inner, fn, ctx);
}

static bool passed_healthy(struct chime_store *store, const char **detail)
{
    struct chime_store *inner = ts_of(store)->inner;
    return inner->ops->healthy(inner, detail);
}

static void passed_stats(struct chime_store *store, struct chime_store_stats *out)
{
    struct chime_store *inner = ts_of(store)->inner;
    inner->ops->stats(inner, out);
}

static size_t passed_names(const struct chime_store *store, const char **names, size_t max)
{
    const struct chime_store *inner = ((const struct timed_store *)store)->inner;
    return inner->ops->names(inner, names, max);
}

/* Every operation must be handled below, or the wrapped store silently loses it (a
 * new optional op would read as absent): a new member of struct chime_store_ops
 * changes the size and stops the build here until ops_fill handles it. */
#define STORE_OPS_MEMBERS 24 /* name + 23 operations */
_Static_assert(sizeof(struct chime_store_ops) == STORE_OPS_MEMBERS * sizeof(void *),
               "struct chime_store_ops changed: time or pass the new operation in ops_fill");

/* Each operation inner has, timed (or passed through); the ones it lacks stay NULL. */
static void ops_fill(struct chime_store_ops *ops, const struct chime_store_ops *in)
{
    *ops = (struct chime_store_ops){
        .name = in->name,
        .close = timed_close,
        .add_job = in->add_job ? timed_add_job : NULL,
        .update_job = in->update_job ? timed_update_job : NULL,
        .remove_job = in->remove_job ? timed_remove_job : NULL,
        .get_job = in->get_job ? timed_get_job : NULL,
        .list_jobs = in->list_jobs ? timed_list_jobs : NULL,
        .count_jobs = in->count_jobs ? timed_count_jobs : NULL,
        .next_due = in->next_due ? timed_next_due : NULL,
        .claim_due = in->claim_due ? timed_claim_due : NULL,
        .claim_now = in->claim_now ? timed_claim_now : NULL,
        .claim_retries = in->claim_retries ? timed_claim_retries : NULL,
        .next_retry = in->next_retry ? timed_next_retry : NULL,
        .finish_run = in->finish_run ? timed_finish_run : NULL,
        .finish_runs = in->finish_runs ? timed_finish_runs : NULL,
        .list_runs = in->list_runs ? timed_list_runs : NULL,
        .prune_runs = in->prune_runs ? timed_prune_runs : NULL,
        .set_wake = in->set_wake ? passed_set_wake : NULL,
        .healthy = in->healthy ? passed_healthy : NULL,
        .probe_write = in->probe_write ? timed_probe_write : NULL,
        .list_nodes = in->list_nodes ? timed_list_nodes : NULL,
        .count_by_state = in->count_by_state ? timed_count_by_state : NULL,
        .stats = in->stats ? passed_stats : NULL,
        .names = in->names ? passed_names : NULL,
    };
}

int chime_metrics_store_wrap(struct chime_metrics *m, struct chime_store *inner,
                             const struct chime_clock *clock, struct chime_store **out)
{
    struct timed_store *ts = chime__calloc(1, sizeof(*ts));
    if (!ts)
        return CHIME_ENOMEM;
    ops_fill(&ts->ops, inner->ops);
    ts->base.ops = &ts->ops;
    ts->inner = inner;
    ts->m = m;
    ts->clock = clock ? clock : chime_clock_system();
    *out = &ts->base;
    return 0;
}
