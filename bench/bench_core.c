/*
 * The core benchmarks of libchime, one executable with a mode per
 * measurement: memory held per job (RSS delta and bytes counted through the
 * allocation hooks), a burst of jobs all due at once (runs started and
 * completed per second), a steady load of interval jobs on the real clock
 * (lateness of run starts), and restarting on a SQLite file of a million
 * jobs (time until the scheduler can claim again). Every job is created the
 * way the API creates it: a JSON request body through chime_job_from_request,
 * then chime_sched_add_job into the store. Each mode prints "RESULT key value"
 * lines that bench/run collects; see bench/README.md.
 */
#include <getopt.h>
#include <libpq-fe.h>
#include <malloc.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/clock.h"
#include "metrics/chime_metrics.h"
#include "sched/sched.h"
#include "store/store.h"
#include "time/tz.h"

struct opts {
    const char *mode;
    long jobs;
    int workers;
    const char *store;  /* URL */
    bool distinct;      /* memory: 1,440 distinct cron specs instead of one */
    double duration_s;  /* steady: how long to run */
    double interval_s;  /* steady: the jobs' interval (and the spread of their starts) */
    size_t claim_batch; /* 0 = the scheduler's default */
    const char *db;     /* restart: the SQLite file */
    bool reuse;         /* restart: keep an existing database file */
    bool metrics;       /* burst, steady: chimed's metrics (run listener, timed store) */
};

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_core MODE [options]\n"
               "modes:\n"
               "  memory   add --jobs cron jobs, report bytes held per job (RSS and allocator)\n"
               "  burst    add --jobs jobs all due now, start the scheduler, report runs/s\n"
               "  steady   --jobs interval jobs spread over --interval s, run --duration s on\n"
               "           the real clock, report lateness (run start - scheduled) p50/p99/max\n"
               "  restart  build a SQLite file of --jobs jobs, then time open + first claim\n"
               "  metrics  --workers threads count runs with chimed's metrics listener:\n"
               "           the cost per run (ns) of /metrics on the run path\n"
               "  timer    no scheduler: a bare timed wait until each of steady's due times\n"
               "           (--jobs per --interval, for --duration), the machine's floor\n"
               "options:\n"
               "  --jobs N          job count (memory 1000000, burst 100000, steady 100000,\n"
               "                    restart 1000000)\n"
               "  --workers N       worker threads (default 2)\n"
               "  --store URL       memory:// (default) or sqlite:////abs/path.db (burst, steady)\n"
               "  --distinct        memory: 1,440 distinct cron specs (minute=i%%60, hour=i%%24)\n"
               "  --duration S      steady: seconds to run (default 30)\n"
               "  --interval S      steady: job interval and start spread (default 10)\n"
               "  --batch N         claims per store call (default: the scheduler's, 256)\n"
               "  --db PATH         restart: database file (default /tmp/chime-bench-restart.db);\n"
               "                    restart --store postgresql://...: that (empty) database instead\n"
               "  --reuse           restart: reuse --db if it already holds the jobs\n"
               "  --metrics         count runs and time the store as chimed does (/metrics)\n"
               "  --help            this text\n");
}

static long default_jobs(const char *mode)
{
    if (!strcmp(mode, "burst") || !strcmp(mode, "steady") || !strcmp(mode, "timer"))
        return 100000;
    return 1000000;
}

static int opts_parse(int argc, char **argv, struct opts *o)
{
    static const struct option longs[] = {
        { "jobs", required_argument, NULL, 'j' },     { "workers", required_argument, NULL, 'w' },
        { "store", required_argument, NULL, 's' },    { "distinct", no_argument, NULL, 'd' },
        { "duration", required_argument, NULL, 't' }, { "interval", required_argument, NULL, 'i' },
        { "batch", required_argument, NULL, 'b' },    { "db", required_argument, NULL, 'f' },
        { "reuse", no_argument, NULL, 'r' },          { "metrics", no_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
    };
    *o = (struct opts){ .workers = 2,
                        .store = "memory://",
                        .duration_s = 30,
                        .interval_s = 10,
                        .db = "/tmp/chime-bench-restart.db" };
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'j':
            o->jobs = atol(optarg);
            break;
        case 'w':
            o->workers = atoi(optarg);
            break;
        case 's':
            o->store = optarg;
            break;
        case 'd':
            o->distinct = true;
            break;
        case 't':
            o->duration_s = atof(optarg);
            break;
        case 'i':
            o->interval_s = atof(optarg);
            break;
        case 'b':
            o->claim_batch = (size_t)atol(optarg);
            break;
        case 'f':
            o->db = optarg;
            break;
        case 'r':
            o->reuse = true;
            break;
        case 'm':
            o->metrics = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc - 1)
        return -1;
    o->mode = argv[optind];
    if (o->jobs <= 0)
        o->jobs = default_jobs(o->mode);
    return o->workers >= 1 ? 0 : -1;
}

/* ---- clocks, memory ---- */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static chime_utime wall_us(void)
{
    return chime_clock_now(chime_clock_system());
}

static long rss_bytes(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

/* Bytes held through the allocation hooks (libchime and jansson): usable sizes. */
static atomic_llong live_bytes;
static atomic_llong live_chunks;

static void *count_malloc(size_t size, void *ctx)
{
    (void)ctx;
    void *p = malloc(size);
    if (p) {
        atomic_fetch_add(&live_bytes, (long long)malloc_usable_size(p));
        atomic_fetch_add(&live_chunks, 1);
    }
    return p;
}

static void count_free(void *p, void *ctx)
{
    (void)ctx;
    if (!p)
        return;
    atomic_fetch_sub(&live_bytes, (long long)malloc_usable_size(p));
    atomic_fetch_sub(&live_chunks, 1);
    free(p);
}

static void *count_realloc(void *p, size_t size, void *ctx)
{
    size_t old = p ? malloc_usable_size(p) : 0;
    void *q = realloc(p, size);
    if (!q)
        return NULL;
    atomic_fetch_add(&live_bytes, (long long)malloc_usable_size(q) - (long long)old);
    if (!p)
        atomic_fetch_add(&live_chunks, 1);
    (void)ctx;
    return q;
}

static void *json_count_malloc(size_t size)
{
    return count_malloc(size, NULL);
}

static void json_count_free(void *p)
{
    count_free(p, NULL);
}

static void counting_install(void)
{
    static const struct chime_allocator a = { count_malloc, count_realloc, count_free, NULL };
    chime_allocator_set(&a);
    json_set_alloc_funcs(json_count_malloc, json_count_free);
}

/* ---- jobs through the API path ---- */

struct env {
    struct chime_job_defaults defaults;
    struct chime_store *store;
    struct chime_sched *sched;
    struct chime_metrics *metrics; /* NULL without --metrics */
};

/* --metrics: the store timed and the runs counted, exactly as chimed sets them up. */
static int env_metrics(struct env *env)
{
    struct chime_store *timed;
    int rc = chime_metrics_new(&env->metrics);
    if (rc == 0)
        rc = chime_metrics_store_wrap(env->metrics, env->store, NULL, &timed);
    if (rc == 0)
        env->store = timed;
    return rc;
}

static int env_open(struct env *env, const struct opts *o)
{
    struct chime_diag diag;
    env->defaults = (struct chime_job_defaults){ true, 60, 1, chime_zone_utc() };
    int rc = chime_store_open(o->store, &env->defaults, &env->store, &diag);
    if (rc < 0) {
        fprintf(stderr, "store %s: %s\n", o->store, diag.message);
        return rc;
    }
    env->metrics = NULL;
    if (o->metrics && env_metrics(env) < 0)
        return CHIME_ENOMEM;
    struct chime_sched_config cfg = {
        .defaults = env->defaults,
        .max_workers = o->workers,
        .store = env->store,
        .shutdown_grace_ms = 10000,
        .claim_batch = o->claim_batch,
    };
    rc = chime_sched_new(&cfg, &env->sched);
    if (rc == 0 && env->metrics)
        rc = chime_sched_add_listener(env->sched, CHIME_METRICS_EVENTS, chime_metrics_on_event,
                                      env->metrics);
    if (rc < 0)
        chime_store_close(env->store);
    return rc;
}

static void env_close(struct env *env)
{
    chime_sched_free(env->sched);
    chime_store_close(env->store);
    chime_metrics_free(env->metrics);
}

/* Parses body, builds the job as the API does and adds it. */
static int add_request(struct env *env, const char *body, chime_utime now)
{
    json_error_t jerr;
    struct chime_diag diag;
    struct chime_job job;
    json_t *req = json_loads(body, 0, &jerr);
    if (!req) {
        fprintf(stderr, "bad body %s: %s\n", body, jerr.text);
        return CHIME_EINVAL;
    }
    int rc = chime_job_from_request(req, &env->defaults, now, &job, NULL, &diag);
    json_decref(req);
    if (rc == 0) {
        rc = chime_sched_add_job(env->sched, &job, false, &diag);
        chime_job_release(&job);
    }
    if (rc < 0)
        fprintf(stderr, "add %s: %s (%s)\n", body, chime_strerror(rc), diag.message);
    return rc;
}

typedef void (*body_fn)(long i, const void *ctx, char *buf, size_t size);

/* Adds n jobs whose bodies body() writes; returns the rate (jobs/s) or -1. */
static double add_jobs(struct env *env, long n, body_fn body, const void *ctx)
{
    char buf[512];
    int64_t t0 = mono_us();
    for (long i = 0; i < n; i++) {
        body(i, ctx, buf, sizeof(buf));
        if (add_request(env, buf, wall_us()) < 0)
            return -1;
    }
    int64_t dt = mono_us() - t0;
    return dt > 0 ? (double)n * 1e6 / (double)dt : 0;
}

/* ---- memory ---- */

static void cron_body(long i, const void *ctx, char *buf, size_t size)
{
    const bool *distinct = ctx;
    if (*distinct)
        snprintf(buf, size,
                 "{\"func\":\"chime:noop\",\"trigger\":\"cron\",\"name\":\"j%ld\","
                 "\"trigger_args\":{\"minute\":%ld,\"hour\":%ld}}",
                 i, i % 60, i % 24);
    else
        snprintf(buf, size,
                 "{\"func\":\"chime:noop\",\"trigger\":\"cron\",\"name\":\"j%ld\","
                 "\"trigger_args\":{\"minute\":\"*/5\"}}",
                 i);
}

static int run_memory(const struct opts *o)
{
    struct env env;
    counting_install();
    chime__log_set_level(CHIME_LOG_WARN);
    if (env_open(&env, o) < 0)
        return 1;
    malloc_trim(0);
    long rss0 = rss_bytes();
    long long bytes0 = atomic_load(&live_bytes), chunks0 = atomic_load(&live_chunks);
    double rate = add_jobs(&env, o->jobs, cron_body, &o->distinct);
    if (rate < 0)
        return 1;
    malloc_trim(0);
    long rss1 = rss_bytes();
    long long bytes1 = atomic_load(&live_bytes), chunks1 = atomic_load(&live_chunks);
    size_t held = env.store->ops->count_jobs(env.store);
    double n = (double)o->jobs;
    printf("RESULT jobs_held %zu\n", held);
    printf("RESULT add_rate_jobs_per_s %.0f\n", rate);
    printf("RESULT alloc_bytes_per_job %.1f\n", (double)(bytes1 - bytes0) / n);
    printf("RESULT alloc_bytes_with_chunk_headers_per_job %.1f\n",
           (double)(bytes1 - bytes0 + 8 * (chunks1 - chunks0)) / n);
    printf("RESULT alloc_chunks_per_job %.2f\n", (double)(chunks1 - chunks0) / n);
    printf("RESULT rss_bytes_per_job %.1f\n", (double)(rss1 - rss0) / n);
    env_close(&env);
    return held == (size_t)o->jobs ? 0 : 1;
}

/* ---- burst ---- */

struct due_ctx {
    char when[CHIME_TIME_FORMAT_MAX];
};

/* Due when the adding began, with no misfire limit: on a loaded machine adding
 * 100k jobs to PostgreSQL can take longer than the default grace (60 s), which
 * turned all but the first claim of the burst into misfires. */
static void due_body(long i, const void *ctx, char *buf, size_t size)
{
    const struct due_ctx *d = ctx;
    snprintf(buf, size,
             "{\"func\":\"chime:noop\",\"trigger\":\"interval\",\"name\":\"b%ld\","
             "\"trigger_args\":{\"hours\":1},\"next_run_time\":\"%s\","
             "\"misfire_grace_time\":null}",
             i, d->when);
}

static void sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

/* Polls the counters until every run started, then finished; times from t0. */
static void burst_wait(struct chime_sched *sched, uint64_t n, int64_t t0, int64_t *t_started,
                       int64_t *t_done, struct chime_sched_stats *st)
{
    *t_started = *t_done = 0;
    for (;;) {
        chime_sched_stats(sched, st);
        int64_t now = mono_us();
        if (!*t_started && st->started + st->missed + st->skipped >= n)
            *t_started = now - t0;
        if (st->succeeded + st->failed + st->missed + st->skipped >= n) {
            *t_done = now - t0;
            return;
        }
        if (now - t0 > 120 * 1000000LL) {
            fprintf(stderr, "burst: timed out\n");
            return;
        }
        sleep_us(200);
    }
}

/* The file of a "sqlite:///rel.db" / "sqlite:////abs.db" URL (SQLAlchemy's forms). */
static const char *sqlite_path(const char *url)
{
    return url + strlen("sqlite:///");
}

static long sqlite_count(const char *url, const char *sql)
{
    const char *path = sqlite_path(url);
    sqlite3 *db;
    long n = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(db);
    return n;
}

static void sqlite_unlink(const char *url)
{
    if (strncmp(url, "sqlite://", 9) != 0)
        return;
    char path[512];
    const char *suffixes[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s%s", sqlite_path(url), suffixes[i]);
        unlink(path);
    }
}

static int run_burst(const struct opts *o)
{
    struct env env;
    struct due_ctx due;
    chime__log_set_level(CHIME_LOG_WARN);
    sqlite_unlink(o->store);
    if (env_open(&env, o) < 0)
        return 1;
    chime_time_format(wall_us(), chime_zone_utc(), due.when);
    double rate = add_jobs(&env, o->jobs, due_body, &due);
    if (rate < 0)
        return 1;
    struct chime_sched_stats st;
    int64_t t_started, t_done, t0 = mono_us();
    chime_sched_start(env.sched);
    burst_wait(env.sched, (uint64_t)o->jobs, t0, &t_started, &t_done, &st);
    chime_sched_stop(env.sched);
    printf("RESULT add_rate_jobs_per_s %.0f\n", rate);
    printf("RESULT runs_started %llu\n", (unsigned long long)st.started);
    printf("RESULT runs_succeeded %llu\n", (unsigned long long)st.succeeded);
    printf("RESULT runs_missed %llu\n", (unsigned long long)(st.missed + st.skipped + st.failed));
    printf("RESULT started_per_s %.0f\n", t_started ? (double)o->jobs * 1e6 / t_started : 0);
    printf("RESULT completed_per_s %.0f\n", t_done ? (double)o->jobs * 1e6 / t_done : 0);
    env_close(&env);
    if (!strncmp(o->store, "sqlite://", 9))
        printf("RESULT run_records_succeeded %ld\n",
               sqlite_count(o->store, "SELECT count(*) FROM runs WHERE status = 'succeeded'"));
    return st.succeeded == (uint64_t)o->jobs ? 0 : 1;
}

/* ---- steady ---- */

struct lateness {
    int64_t *samples;
    size_t cap;
    atomic_size_t n;
    atomic_size_t n_missed;
};

static void on_run(const struct chime_sched_event *ev, void *ctx)
{
    struct lateness *l = ctx;
    if (ev->kind != CHIME_EVENT_RUN_STARTED) {
        atomic_fetch_add(&l->n_missed, 1);
        return;
    }
    size_t i = atomic_fetch_add(&l->n, 1);
    if (i < l->cap)
        l->samples[i] = ev->run->started - ev->run->scheduled;
}

struct spread_ctx {
    chime_utime start;
    int64_t interval_us;
    long n;
};

static void spread_body(long i, const void *ctx, char *buf, size_t size)
{
    const struct spread_ctx *s = ctx;
    char when[CHIME_TIME_FORMAT_MAX];
    chime_time_format(s->start + (int64_t)((double)s->interval_us * (double)i / (double)s->n),
                      chime_zone_utc(), when);
    snprintf(buf, size,
             "{\"func\":\"chime:noop\",\"trigger\":\"interval\",\"name\":\"s%ld\","
             "\"trigger_args\":{\"seconds\":%.6f,\"start_date\":\"%s\"}}",
             i, (double)s->interval_us / 1e6, when);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void lateness_report(struct lateness *l)
{
    size_t n = atomic_load(&l->n);
    if (n > l->cap)
        n = l->cap;
    qsort(l->samples, n, sizeof(int64_t), cmp_i64);
    printf("RESULT runs_started %zu\n", n);
    printf("RESULT runs_missed %zu\n", atomic_load(&l->n_missed));
    if (n == 0)
        return;
    printf("RESULT lateness_p50_us %lld\n", (long long)l->samples[n / 2]);
    printf("RESULT lateness_p99_us %lld\n", (long long)l->samples[(size_t)((double)n * 0.99)]);
    printf("RESULT lateness_p999_us %lld\n", (long long)l->samples[(size_t)((double)n * 0.999)]);
    printf("RESULT lateness_max_us %lld\n", (long long)l->samples[n - 1]);
}

static int run_steady(const struct opts *o)
{
    struct env env;
    struct lateness l = { 0 };
    chime__log_set_level(CHIME_LOG_WARN);
    sqlite_unlink(o->store);
    if (env_open(&env, o) < 0)
        return 1;
    l.cap = (size_t)((double)o->jobs * (o->duration_s / o->interval_s + 2));
    l.samples = malloc(l.cap * sizeof(int64_t));
    chime_sched_add_listener(
            env.sched, CHIME_EVENT_RUN_STARTED | CHIME_EVENT_RUN_MISSED | CHIME_EVENT_RUN_SKIPPED,
            on_run, &l);
    /* Starts a whole second (plus an add margin) ahead so every job is in before it is due. */
    struct spread_ctx s = { (wall_us() / 1000000 + 4) * 1000000, (int64_t)(o->interval_s * 1e6),
                            o->jobs };
    double rate = add_jobs(&env, o->jobs, spread_body, &s);
    if (rate < 0 || wall_us() >= s.start)
        fprintf(stderr, "steady: adding took too long (%.0f jobs/s)\n", rate);
    chime_sched_start(env.sched);
    chime_utime end = s.start + (int64_t)(o->duration_s * 1e6);
    while (wall_us() < end)
        sleep_us(100000);
    chime_sched_stop(env.sched);
    printf("RESULT add_rate_jobs_per_s %.0f\n", rate);
    lateness_report(&l);
    env_close(&env);
    free(l.samples);
    return 0;
}

/* ---- timer: the machine's own wake-up lateness, for comparison with steady ---- */

/* Sleeps as the scheduler loop does (a condition-variable wait on CLOCK_MONOTONIC)
 * until each of the steady load's due times in turn, on the wall clock, and
 * records how late each wake-up is: the floor under the steady lateness. */
static int run_timer(const struct opts *o)
{
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &attr);
    struct lateness l = { 0 };
    int64_t step = (int64_t)(o->interval_s * 1e6 / (double)o->jobs);
    l.cap = (size_t)(o->duration_s * 1e6 / (double)(step > 0 ? step : 1)) + 1;
    l.samples = malloc(l.cap * sizeof(int64_t));
    chime_utime start = wall_us() + 100000;
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0); /* as the scheduler loop does */
    pthread_mutex_lock(&mu);
    for (size_t k = 0; k < l.cap; k++) {
        chime_utime due = start + (int64_t)k * step, now = wall_us();
        if (due > now) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t ns = ts.tv_nsec + (due - now) * 1000;
            ts.tv_sec += (time_t)(ns / 1000000000);
            ts.tv_nsec = (long)(ns % 1000000000);
            pthread_cond_timedwait(&cv, &mu, &ts);
        }
        l.samples[k] = wall_us() - due;
    }
    pthread_mutex_unlock(&mu);
    atomic_store(&l.n, l.cap);
    lateness_report(&l);
    free(l.samples);
    pthread_cond_destroy(&cv);
    return 0;
}

/* ---- metrics: what counting a run costs ---- */

#define METRICS_RUNS 5000000L

/* One worker's share: a started and a succeeded event per run, as the scheduler emits. */
static void *metrics_worker(void *arg)
{
    struct chime_metrics *m = arg;
    struct chime_run run;
    chime_run_init(&run);
    run.job_id = "j";
    run.scheduled = 1000000;
    for (long i = 0; i < METRICS_RUNS; i++) {
        run.started = run.scheduled + i % 5000;
        run.status = CHIME_RUN_RUNNING;
        struct chime_sched_event ev = { CHIME_EVENT_RUN_STARTED, "j", NULL, &run, 0 };
        chime_metrics_on_event(&ev, m);
        run.status = CHIME_RUN_SUCCEEDED;
        ev = (struct chime_sched_event){ CHIME_EVENT_RUN_SUCCEEDED, "j", NULL, &run, i % 20000 };
        chime_metrics_on_event(&ev, m);
    }
    return NULL;
}

/* --workers threads count METRICS_RUNS runs each into one struct chime_metrics (the
 * listener chimed registers): the cost per run, contention on the shared counters
 * included. */
static int run_metrics(const struct opts *o)
{
    struct chime_metrics *m;
    pthread_t threads[64];
    int n = o->workers < 64 ? o->workers : 64;
    if (chime_metrics_new(&m) < 0)
        return 1;
    int64_t t0 = mono_us();
    for (int i = 0; i < n; i++)
        pthread_create(&threads[i], NULL, metrics_worker, m);
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    int64_t dt = mono_us() - t0;
    printf("RESULT runs_counted %ld\n", METRICS_RUNS * n);
    printf("RESULT ns_per_run_per_thread %.1f\n", (double)dt * 1000.0 / (double)METRICS_RUNS);
    printf("RESULT runs_counted_per_s %.0f\n", (double)(METRICS_RUNS * n) * 1e6 / (double)dt);
    chime_metrics_free(m);
    return 0;
}

/* ---- restart ---- */

static void restart_body(long i, const void *ctx, char *buf, size_t size)
{
    (void)ctx;
    snprintf(buf, size,
             "{\"func\":\"chime:noop\",\"trigger\":\"cron\",\"name\":\"r%ld\","
             "\"trigger_args\":{\"minute\":%ld,\"hour\":%ld}}",
             i, i % 60, i % 24);
}

/* Copies the 1,440 template rows until the table holds n jobs (one transaction);
 * one job in a thousand is due now, so the restarted scheduler has work at once. */
static int replicate_rows(const char *path, long n, chime_utime now)
{
    sqlite3 *db;
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "BEGIN;"
             "WITH RECURSIVE c(i) AS (SELECT 1440 UNION ALL SELECT i + 1 FROM c WHERE i < %ld)"
             " INSERT INTO jobs (id, name, func, args, kwargs, trigger, trigger_args,"
             " next_run_time, paused, coalesce, misfire_grace_time, max_instances, jobstore,"
             " broken, version, created_at, updated_at)"
             " SELECT printf('%%032x', c.i), 'r' || c.i, t.func, t.args, t.kwargs, t.trigger,"
             " t.trigger_args, CASE WHEN c.i %% 1000 = 0 THEN %lld ELSE t.next_run_time END,"
             " t.paused, t.coalesce, t.misfire_grace_time, t.max_instances, t.jobstore,"
             " t.broken, t.version, t.created_at, t.updated_at"
             " FROM c JOIN jobs t ON t.name = 'r' || (c.i %% 1440);"
             "COMMIT;",
             n - 1, (long long)now);
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        fprintf(stderr, "replicate: %s\n", sqlite3_errmsg(db));
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static int restart_build(const struct opts *o, const char *url)
{
    struct opts t = *o;
    struct env env;
    t.store = url;
    sqlite_unlink(url);
    if (env_open(&env, &t) < 0)
        return -1;
    long n_templates = o->jobs < 1440 ? o->jobs : 1440;
    int64_t t0 = mono_us();
    double rate = add_jobs(&env, n_templates, restart_body, NULL);
    env_close(&env);
    if (rate < 0 || (o->jobs > 1440 && replicate_rows(o->db, o->jobs, wall_us()) < 0))
        return -1;
    printf("RESULT build_s %.2f\n", (double)(mono_us() - t0) / 1e6);
    return 0;
}

struct first_claim {
    atomic_llong at; /* mono us of the first run event, 0 before */
};

static void on_first(const struct chime_sched_event *ev, void *ctx)
{
    (void)ev;
    struct first_claim *f = ctx;
    long long zero = 0;
    atomic_compare_exchange_strong(&f->at, &zero, (long long)mono_us());
}

static int restart_measure(const struct opts *o, const char *url)
{
    struct env env;
    struct opts t = *o;
    struct first_claim f = { 0 };
    chime_utime due = 0;
    t.store = url;
    int64_t t0 = mono_us();
    if (env_open(&env, &t) < 0)
        return 1;
    int64_t t_open = mono_us() - t0;
    int rc = env.store->ops->next_due(env.store, &due);
    int64_t t_next = mono_us() - t0;
    chime_sched_add_listener(env.sched, CHIME_EVENT_ALL, on_first, &f);
    chime_sched_start(env.sched);
    while (!atomic_load(&f.at) && mono_us() - t0 < 60 * 1000000LL)
        sleep_us(100);
    long long first = atomic_load(&f.at);
    printf("RESULT jobs_loaded %zu\n", env.store->ops->count_jobs(env.store));
    printf("RESULT open_s %.3f\n", (double)t_open / 1e6);
    printf("RESULT next_due_s %.3f\n", rc == 0 ? (double)t_next / 1e6 : -1.0);
    printf("RESULT first_claim_s %.3f\n", first ? (double)(first - t0) / 1e6 : -1.0);
    printf("RESULT rss_mb %.1f\n", (double)rss_bytes() / 1048576.0);
    env_close(&env);
    return first ? 0 : 1;
}

/* A reused file's due jobs ran in the previous restart: makes one in a
 * thousand due again, as the build left them (outside the timed part). */
static int restart_mark_due(const char *path, chime_utime now)
{
    sqlite3 *db;
    char sql[160];
    snprintf(sql, sizeof(sql), "UPDATE jobs SET next_run_time = %lld WHERE rowid %% 1000 = 0",
             (long long)now);
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        fprintf(stderr, "mark due: %s\n", sqlite3_errmsg(db));
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

/* ---- restart on PostgreSQL ---- */

static int pg_sql(const char *url, const char *sql)
{
    PGconn *conn = PQconnectdb(url);
    int rc = -1;
    if (PQstatus(conn) == CONNECTION_OK) {
        PGresult *res = PQexec(conn, sql);
        ExecStatusType st = PQresultStatus(res);
        rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
        if (rc)
            fprintf(stderr, "postgres: %s", PQresultErrorMessage(res));
        PQclear(res);
    } else {
        fprintf(stderr, "postgres: %s", PQerrorMessage(conn));
    }
    PQfinish(conn);
    return rc;
}

/* The 1,440 templates through the API path, then copied by one INSERT ... SELECT
 * over generate_series to n rows (ids and names in the row and in its spec), one
 * in a thousand due now, as the SQLite build. The database must be empty
 * (bench/run gives every run a fresh one). */
static int restart_build_pg(const struct opts *o)
{
    struct opts t = *o;
    struct env env;
    if (env_open(&env, &t) < 0)
        return -1;
    long n_templates = o->jobs < 1440 ? o->jobs : 1440;
    int64_t t0 = mono_us();
    double rate = add_jobs(&env, n_templates, restart_body, NULL);
    env_close(&env);
    char sql[1536];
    snprintf(sql, sizeof(sql),
             "INSERT INTO jobs (id, name, func, trigger, trigger_args, args, kwargs,"
             " next_run_time, paused, jobstore, version, created_at, updated_at, spec)"
             " SELECT lpad(to_hex(g), 32, '0'), 'r' || g, t.func, t.trigger, t.trigger_args,"
             " t.args, t.kwargs, CASE WHEN g %% 1000 = 0 THEN now() ELSE t.next_run_time END,"
             " t.paused, t.jobstore, t.version, t.created_at, t.updated_at,"
             " jsonb_set(jsonb_set(t.spec, '{id}', to_jsonb(lpad(to_hex(g), 32, '0'))),"
             " '{name}', to_jsonb('r' || g))"
             " FROM generate_series(1440, %ld) g JOIN jobs t ON t.name = 'r' || (g %% 1440);"
             "ANALYZE jobs",
             o->jobs - 1);
    if (rate < 0 || (o->jobs > 1440 && pg_sql(o->store, sql) < 0))
        return -1;
    printf("RESULT build_s %.2f\n", (double)(mono_us() - t0) / 1e6);
    return 0;
}

static int run_restart(const struct opts *o)
{
    if (!strncmp(o->store, "postgres", 8)) { /* always rebuilt: --reuse is ignored */
        chime__log_set_level(CHIME_LOG_ERROR);
        return restart_build_pg(o) < 0 ? 1 : restart_measure(o, o->store);
    }
    char url[600];
    snprintf(url, sizeof(url), "sqlite:///%s", o->db); /* four slashes for an absolute path */
    chime__log_set_level(CHIME_LOG_ERROR);
    bool have = o->reuse && access(o->db, R_OK) == 0 &&
                sqlite_count(url, "SELECT count(*) FROM jobs") == o->jobs;
    if (!have && restart_build(o, url) < 0)
        return 1;
    if (have && restart_mark_due(o->db, wall_us()) < 0)
        return 1;
    return restart_measure(o, url);
}

int main(int argc, char **argv)
{
    struct opts o;
    if (opts_parse(argc, argv, &o) < 0) {
        usage(stderr);
        return 2;
    }
    printf("RESULT jobs %ld\n", o.jobs);
    if (!strcmp(o.mode, "memory"))
        return run_memory(&o);
    if (!strcmp(o.mode, "burst"))
        return run_burst(&o);
    if (!strcmp(o.mode, "metrics"))
        return run_metrics(&o);
    if (!strcmp(o.mode, "steady"))
        return run_steady(&o);
    if (!strcmp(o.mode, "restart"))
        return run_restart(&o);
    if (!strcmp(o.mode, "timer"))
        return run_timer(&o);
    usage(stderr);
    return 2;
}
