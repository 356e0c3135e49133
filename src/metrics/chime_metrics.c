/*
 * chimed's metrics: the run listener and the writer of every family. Runs
 * are counted when their outcome is recorded (lost runs another node's
 * death left behind are counted by the store that marks them), lateness
 * when a run starts, duration when its call returns. The families are
 * listed, with their labels, in docs/metrics.md.
 */
#include <string.h>

#include "base/base.h"
#include "job/fire.h"
#include "metrics/chime_metrics.h"

#define MS(x) ((int64_t)((x)*1000.0))
#define S(x)  ((int64_t)((x)*1000000.0))

static const int64_t lateness_bounds[] = { MS(1),   MS(2.5), MS(5),   MS(10), MS(25), MS(50),
                                           MS(100), MS(250), MS(500), S(1),   S(2.5), S(5),
                                           S(10),   S(30),   S(60),   S(300) };
static const int64_t duration_bounds[] = { 100,     500,     MS(1),   MS(5),  MS(10), MS(50),
                                           MS(100), MS(500), S(1),    S(5),   S(10),  S(30),
                                           S(60),   S(300),  S(1800), S(3600) };
static const int64_t store_bounds[] = { 50,      100,    250,    500,    MS(1),   MS(2.5),
                                        MS(5),   MS(10), MS(25), MS(50), MS(100), MS(250),
                                        MS(500), S(1),   S(2.5), S(5),   S(10) };

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *const store_op_names[] = {
#define OP_NAME(name) #name,
    CHIME_METRICS_STORE_OP_MAP(OP_NAME)
#undef OP_NAME
};

static const char *const miss_names[] = {
#define MISS_NAME(name, label) label,
    CHIME_METRICS_MISS_MAP(MISS_NAME)
#undef MISS_NAME
};

int chime_metrics_new(struct chime_metrics **out)
{
    struct chime_metrics *m = chime__calloc(1, sizeof(*m));
    if (!m)
        return CHIME_ENOMEM;
    chime_histogram_init(&m->lateness, lateness_bounds, N_OF(lateness_bounds));
    chime_histogram_init(&m->duration, duration_bounds, N_OF(duration_bounds));
    for (size_t i = 0; i < CHIME_METRICS_N_STORE_OPS; i++)
        chime_histogram_init(&m->store_ops[i], store_bounds, N_OF(store_bounds));
    *out = m;
    return 0;
}

void chime_metrics_free(struct chime_metrics *m)
{
    chime__free(m);
}

static enum chime_metrics_miss miss_reason(const char *error)
{
    if (error && strcmp(error, CHIME_FIRE_REASON_COALESCED) == 0)
        return CHIME_METRICS_MISS_COALESCED;
    if (error && strncmp(error, "scheduler stopped", strlen("scheduler stopped")) == 0)
        return CHIME_METRICS_MISS_SHUTDOWN;
    return CHIME_METRICS_MISS_MISFIRE;
}

static bool status_ran(enum chime_run_status status)
{
    return status == CHIME_RUN_SUCCEEDED || status == CHIME_RUN_FAILED ||
           status == CHIME_RUN_TIMED_OUT;
}

void chime_metrics_on_event(const struct chime_sched_event *event, void *ctx)
{
    struct chime_metrics *m = ctx;
    const struct chime_run *run = event->run;
    if (!run)
        return;
    if (event->kind == CHIME_EVENT_RUN_STARTED) {
        if (run->started != CHIME_UTIME_NONE)
            chime_histogram_observe_us(&m->lateness, run->started - run->scheduled);
        return;
    }
    if ((unsigned)run->status < CHIME_METRICS_N_STATUS)
        chime_counter_add(&m->runs[run->status], 1);
    if (run->status == CHIME_RUN_MISSED)
        chime_counter_add(&m->misses[miss_reason(run->error)], 1);
    else if (run->status == CHIME_RUN_SKIPPED)
        chime_counter_add(&m->skips, 1);
    else if (status_ran(run->status) && run->started != CHIME_UTIME_NONE)
        chime_histogram_observe_us(&m->duration, event->duration_us);
}

/* --- the writer ------------------------------------------------------------ */

static void write_runs(struct chime_expo *w, const struct chime_metrics *m,
                       const struct chime_store_stats *stats)
{
    chime_expo_family(w, "chime_runs_total", CHIME_METRIC_COUNTER,
                      "Run records finished by this node, by outcome (lost includes the runs a "
                      "previous chimed left running, found at start-up, and the runs of dead "
                      "nodes this node marked lost).");
    for (int s = CHIME_RUN_SUCCEEDED; s < CHIME_METRICS_N_STATUS; s++) {
        struct chime_label l = { "status", chime_run_status_name((enum chime_run_status)s) };
        uint64_t n = m ? chime_counter_get(&m->runs[s]) : 0;
        if (s == CHIME_RUN_LOST)
            n += stats->runs_lost;
        chime_expo_sample_u64(w, "chime_runs_total", &l, 1, n);
    }
    if (!m)
        return;
    chime_expo_family(w, "chime_misses_total", CHIME_METRIC_COUNTER,
                      "Runs recorded missed, by reason.");
    for (size_t r = 0; r < CHIME_METRICS_N_MISS; r++) {
        struct chime_label l = { "reason", miss_names[r] };
        chime_expo_sample_u64(w, "chime_misses_total", &l, 1, chime_counter_get(&m->misses[r]));
    }
    chime_expo_family(w, "chime_skips_total", CHIME_METRIC_COUNTER,
                      "Runs recorded skipped because max_instances were running.");
    chime_expo_sample_u64(w, "chime_skips_total", NULL, 0, chime_counter_get(&m->skips));
}

static void write_histogram(struct chime_expo *w, const char *name, const char *help,
                            const struct chime_histogram *h)
{
    struct chime_histogram_snapshot snap;
    chime_histogram_snapshot(h, &snap);
    chime_expo_family(w, name, CHIME_METRIC_HISTOGRAM, help);
    chime_expo_histogram(w, name, NULL, 0, &snap);
}

static void write_store_ops(struct chime_expo *w, const struct chime_metrics *m)
{
    static const char name[] = "chime_store_operation_duration_seconds";
    chime_expo_family(w, name, CHIME_METRIC_HISTOGRAM,
                      "Time a job store operation took, by operation (listings include "
                      "building the reply).");
    for (size_t i = 0; i < CHIME_METRICS_N_STORE_OPS; i++) {
        struct chime_histogram_snapshot snap;
        chime_histogram_snapshot(&m->store_ops[i], &snap);
        struct chime_label l = { "op", store_op_names[i] };
        chime_expo_histogram(w, name, &l, 1, &snap);
    }
}

static void gauge(struct chime_expo *w, const char *name, const char *help, uint64_t value)
{
    chime_expo_family(w, name, CHIME_METRIC_GAUGE, help);
    chime_expo_sample_u64(w, name, NULL, 0, value);
}

static void write_executor(struct chime_expo *w, struct chime_sched *sched)
{
    struct chime_sched_stats st;
    chime_sched_stats(sched, &st);
    gauge(w, "chime_executor_queue_depth", "Runs queued for a worker of the executor.", st.queued);
    gauge(w, "chime_executor_busy_workers", "Executor workers running a job now.", st.busy);
    gauge(w, "chime_executor_workers", "Executor worker threads (SCHEDULER_MAX_WORKERS).",
          st.workers);
    gauge(w, "chime_runs_in_flight", "Runs dispatched and not yet recorded finished.",
          st.in_flight);
}

static void write_jobs(struct chime_expo *w, struct chime_store *store)
{
    size_t scheduled = 0, paused = 0;
    chime_expo_family(w, "chime_jobs", CHIME_METRIC_GAUGE,
                      "Jobs in the job stores, by state (paused: no next run time).");
    if (!store->ops->count_by_state || store->ops->count_by_state(store, &scheduled, &paused))
        return; /* store unreachable: no samples rather than wrong ones */
    struct chime_label l = { "state", "scheduled" };
    chime_expo_sample_u64(w, "chime_jobs", &l, 1, scheduled);
    l.value = "paused";
    chime_expo_sample_u64(w, "chime_jobs", &l, 1, paused);
}

static void counter(struct chime_expo *w, const char *name, const char *help, uint64_t value)
{
    chime_expo_family(w, name, CHIME_METRIC_COUNTER, help);
    chime_expo_sample_u64(w, name, NULL, 0, value);
}

static void write_claims(struct chime_expo *w, const struct chime_store_stats *st)
{
    counter(w, "chime_pg_claims_total",
            "PostgreSQL claim transactions this node committed with at least one due job.",
            st->claims);
    counter(w, "chime_pg_claimed_runs_total", "Run records created by this node's claims.",
            st->claimed_runs);
    counter(w, "chime_pg_claim_conflicts_total",
            "Fires a claim found already recorded (unique job, time, cause, attempt): "
            "dropped, not run.",
            st->claim_conflicts);
    counter(w, "chime_pg_claim_failures_total",
            "Claim transactions that failed and were rolled back.", st->claim_failures);
}

void chime_metrics_write(const struct chime_metrics_sources *src, struct chime_expo *w)
{
    struct chime_store_stats stats = { 0 };
    if (src->store && src->store->ops->stats)
        src->store->ops->stats(src->store, &stats);
    if (src->version) {
        struct chime_label v = { "version", src->version };
        chime_expo_family(w, "chime_build_info", CHIME_METRIC_GAUGE, "chimed's version (1).");
        chime_expo_sample_u64(w, "chime_build_info", &v, 1, 1);
    }
    write_runs(w, src->metrics, &stats);
    if (src->metrics) {
        write_histogram(w, "chime_run_lateness_seconds",
                        "How late runs started after their scheduled time.",
                        &src->metrics->lateness);
        write_histogram(w, "chime_run_duration_seconds",
                        "How long the job's function ran (runs that started).",
                        &src->metrics->duration);
        write_store_ops(w, src->metrics);
    }
    if (src->sched)
        write_executor(w, src->sched);
    if (src->store)
        write_jobs(w, src->store);
    if (stats.shared)
        write_claims(w, &stats);
}
