/*
 * chimed, the daemon: loads the settings, opens the store, starts the
 * scheduler, the history pruner and the HTTP API, then waits for SIGTERM or
 * SIGINT in a sigwait loop (both are blocked in every thread). On the first
 * signal it shuts down in order — not ready, stop HTTP, stop the scheduler
 * (running jobs get the shutdown grace), close the store — and exits 0; a
 * second signal during shutdown exits at once (128 + signal). Exit codes:
 * 0 ok, 1 start-up failure (store, bind), 2 bad settings or usage.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/base.h"
#include "cli/chimed.h"
#include "exec/webhook.h"
#include "job/plugin.h"
#include "job/registry.h"
#include "metrics/chime_metrics.h"
#include "time/tz.h"

extern char **environ;

#define EXIT_USAGE 2

/* Returns -1 to go on, or the exit code. */
static int load_settings(struct chimed *d, int argc, char **argv)
{
    struct chime_diag diag;
    if (chime_settings_load(argc, argv, environ, &d->settings, &diag) != 0) {
        fprintf(stderr, "chimed: %s\n", diag.message);
        return EXIT_USAGE;
    }
    if (d->settings.action == CHIME_SETTINGS_HELP) {
        chime_settings_usage(stdout);
        return 0;
    }
    if (d->settings.action == CHIME_SETTINGS_VERSION) {
        printf("chimed %s\n", CHIME_VERSION_STRING);
        return 0;
    }
    return -1;
}

static bool host_is_loopback(const char *host)
{
    unsigned char addr[16];
    if (!strcasecmp(host, "localhost"))
        return true;
    if (inet_pton(AF_INET, host, addr) == 1)
        return addr[0] == 127;
    if (inet_pton(AF_INET6, host, addr) == 1) {
        static const unsigned char one[16] = { [15] = 1 };
        static const unsigned char v4mapped[12] = { [10] = 0xff, [11] = 0xff };
        return !memcmp(addr, one, 16) || (!memcmp(addr, v4mapped, 12) && addr[12] == 127);
    }
    return false;
}

/* Refuses an exposed API without a token (unless told to). 0 or false. */
static bool listen_allowed(const struct chime_settings *s)
{
    if (*s->api_token || s->insecure_listen || host_is_loopback(s->host))
        return true;
    fprintf(stderr,
            "chimed: refusing to listen on non-loopback host %s without authentication: set "
            "CHIME_API_TOKEN, or pass --insecure-listen (CHIME_INSECURE_LISTEN=true) to "
            "allow it\n",
            s->host);
    return false;
}

/* The chime:exec gate (CHIME_ALLOW_EXEC, CHIME_EXEC_ALLOW), before any job is resolved. */
static int set_exec_gate(const struct chime_settings *s)
{
    struct chime_registry_config cfg = { .allow_exec = s->allow_exec, .exec_allow = s->exec_allow };
    struct chime_diag diag;
    chime_diag_clear(&diag);
    if (chime_registry_configure(&cfg, &diag) != 0) {
        fprintf(stderr, "chimed: %s\n", diag.message);
        return EXIT_USAGE;
    }
    if (s->allow_exec)
        chime__log(CHIME_LOG_INFO, "chime:exec jobs allowed (%s)",
                   *s->exec_allow ? s->exec_allow : "any executable");
    return 0;
}

/* Plugin directory (before any job is resolved) and libcurl (chime:http). */
static int set_job_targets(const struct chime_settings *s)
{
    struct chime_diag diag;
    chime_diag_clear(&diag);
    if (set_exec_gate(s) != 0)
        return EXIT_USAGE;
    if (chime__plugin_dir_set(s->plugin_dir, &diag) != 0) {
        fprintf(stderr, "chimed: CHIME_PLUGIN_DIR: %s\n", diag.message);
        return EXIT_USAGE;
    }
    if (*s->plugin_dir)
        chime__log(CHIME_LOG_INFO, "plugin modules from %s", s->plugin_dir);
    if (chime__webhook_global_init() != 0)
        chime__log(CHIME_LOG_WARN, "libcurl cannot be initialized: chime:http jobs will fail");
    return 0;
}

static int set_defaults(struct chimed *d)
{
    const struct chime_settings *s = &d->settings;
    d->defaults.coalesce = s->coalesce;
    d->defaults.grace_s = s->misfire_grace_s;
    d->defaults.max_instances = 1;
    d->defaults.zone = chime_zone_local();
    if (*s->timezone && chime_zone_find(s->timezone, &d->defaults.zone) != 0) {
        fprintf(stderr, "chimed: cannot load SCHEDULER_TIMEZONE %s\n", s->timezone);
        return EXIT_USAGE;
    }
    return set_job_targets(s);
}

/* Metrics: the store's operations are timed by a store wrapping it. */
static int time_store(struct chimed *d)
{
    struct chime_store *timed = NULL;
    int err = chime_metrics_new(&d->metrics);
    if (!err)
        err = chime_metrics_store_wrap(d->metrics, d->store, NULL, &timed);
    if (err) {
        chime_store_close(d->store);
        d->store = NULL;
        chime_metrics_free(d->metrics);
        d->metrics = NULL;
        return err;
    }
    d->store = timed;
    return 0;
}

static int open_store(struct chimed *d)
{
    struct chime_diag diag;
    chime_diag_clear(&diag);
    const struct chime_settings *s = &d->settings;
    struct chime_store_options opts = {
        .node = s->node_name,
        .heartbeat_ms = s->heartbeat_s * 1000,
        .node_timeout_ms = s->node_timeout_s * 1000,
        .wait_for_server = true, /* PostgreSQL down at start-up: wait, /readyz 503 */
    };
    int err = chime_store_open_named(s->database_url, s->jobstores, &d->defaults, &opts,
                                     &d->store, &diag);
    if (!err)
        err = time_store(d);
    if (!err) {
        const char *names[16];
        size_t n = chime_store_names(d->store, names, 16);
        err = chime_jobstores_set(names, n < 16 ? n : 16);
    }
    if (err) {
        chime__log(CHIME_LOG_ERROR, "cannot open the store: %s",
                   *diag.message ? diag.message : chime_strerror(err));
        return err;
    }
    return 0;
}

/* Creates the scheduler without starting its loop: nothing fires before the
 * API is listening (a port in use ends start-up before any job has run). */
static int new_sched(struct chimed *d)
{
    const struct chime_settings *s = &d->settings;
    struct chime_sched_config cfg = {
        .defaults = d->defaults,
        .max_workers = (int)s->max_workers,
        .store = d->store,
        .shutdown_grace_ms = s->shutdown_grace_s * 1000,
        .node = s->node_name,
    };
    /* The scheduler logs one line per job and run event itself. */
    int err = chime_sched_new(&cfg, &d->sched);
    if (!err)
        err = chime_sched_add_listener(d->sched, CHIME_METRICS_EVENTS, chime_metrics_on_event,
                                       d->metrics);
    if (err)
        chime__log(CHIME_LOG_ERROR, "cannot start the scheduler: %s", chime_strerror(err));
    return err;
}

static int start_sched(struct chimed *d)
{
    int err = chime_sched_start(d->sched);
    if (err)
        chime__log(CHIME_LOG_ERROR, "cannot start the scheduler: %s", chime_strerror(err));
    return err;
}

static bool ready_probe(void *ctx, const char **out_detail)
{
    struct chimed *d = ctx;
    if (!atomic_load(&d->ready)) {
        *out_detail = "chimed is starting or shutting down";
        return false;
    }
    struct chime_store *store = d->store;
    if (store->ops->healthy && !store->ops->healthy(store, out_detail))
        return false;
    struct chime_sched_stats st;
    chime_sched_stats(d->sched, &st);
    if (!st.store_error)
        return true;
    *out_detail = "the job store is failing (disk full, read-only or unreachable; see the log)";
    return false;
}

static int start_http(struct chimed *d)
{
    const struct chime_settings *s = &d->settings;
    struct chime_http_config cfg = {
        .host = s->host,
        .port = (uint16_t)s->port,
        .token = *s->api_token ? s->api_token : NULL,
        .max_body = (size_t)s->max_body,
        .request_timeout_s = (unsigned)s->request_timeout_s,
        .max_connections = (unsigned)s->max_connections,
        .n_threads = (unsigned)s->http_threads,
        .sched = d->sched,
        .store = d->store,
        .defaults = &d->defaults,
        .node = s->node_name,
        .ready = ready_probe,
        .ready_ctx = d,
        .metrics = d->metrics,
    };
    struct chime_diag diag;
    chime_diag_clear(&diag);
    int err = chime_http_start(&cfg, &d->http, &diag);
    if (err)
        chime__log(CHIME_LOG_ERROR, "cannot start the HTTP API on %s:%lld: %s", s->host,
                   (long long)s->port, *diag.message ? diag.message : chime_strerror(err));
    return err;
}

/* The store URL with any password masked, for the log. */
static void redact_url(const char *url, char *out, size_t n)
{
    chime__strlcpy(out, url, n);
    char *scheme = strstr(out, "://");
    char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
    if (at && colon && colon < at)
        snprintf(colon, n - (size_t)(colon - out), ":***%s", url + (at - out));
}

static void log_listening(const struct chimed *d)
{
    const char *host = d->settings.host;
    bool v6 = strchr(host, ':') != NULL;
    char url[256];
    redact_url(d->settings.database_url, url, sizeof(url));
    chime__log(CHIME_LOG_INFO, "chimed listening on http://%s%s%s:%u (%s, %zu jobs)", v6 ? "[" : "",
               host, v6 ? "]" : "", (unsigned)chime_http_port(d->http), url,
               d->store->ops->count_jobs(d->store));
}

/* --- signals and shutdown ---------------------------------------------------- */

static void signal_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

/* Blocks SIGTERM/SIGINT in this thread and every thread created after.
 * SIGXFSZ is ignored (as PostgreSQL does): a write past RLIMIT_FSIZE then
 * fails with EFBIG like a full disk, the store reports it, and chimed keeps
 * serving instead of dumping core. Jobs' children get both back at default. */
static void block_signals(void)
{
    sigset_t set;
    signal_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
}

static int wait_signal(void)
{
    sigset_t set;
    signal_set(&set);
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    return sig;
}

/* During shutdown: a second signal ends the process at once. */
static void *second_signal_main(void *arg)
{
    (void)arg;
    int sig = wait_signal();
    chime__log(CHIME_LOG_WARN, "second %s during shutdown: exiting at once",
               sig == SIGINT ? "SIGINT" : "SIGTERM");
    _exit(128 + sig);
}

static void watch_second_signal(void)
{
    pthread_t thread;
    if (pthread_create(&thread, NULL, second_signal_main, NULL) == 0)
        pthread_detach(thread);
}

static void stop_sched(struct chimed *d)
{
    size_t abandoned = chime_sched_stop(d->sched);
    if (abandoned)
        chime__log(CHIME_LOG_WARN,
                   "%zu runs still running after the %llds shutdown grace "
                   "were recorded lost",
                   abandoned, (long long)d->settings.shutdown_grace_s);
    /* Freeing joins the worker threads, abandoned ones included: with runs
     * abandoned, chimed exits without waiting for them (they can no longer
     * touch the store, and the process is ending). */
    if (!abandoned)
        chime_sched_free(d->sched);
    d->sched = NULL;
}

static int run(struct chimed *d)
{
    int rc = 1;
    if (open_store(d) != 0)
        return 1;
    if (new_sched(d) != 0)
        goto out_sched;
    if (start_http(d) != 0)
        goto out_sched;
    if (start_sched(d) != 0)
        goto out_http;
    if (chimed_pruner_start(&d->pruner, d->store, &d->settings) != 0)
        chime__log(CHIME_LOG_WARN, "cannot start the history pruner; runs are kept");
    atomic_store(&d->ready, true);
    log_listening(d);
    int sig = wait_signal();
    chime__log(CHIME_LOG_INFO, "%s: shutting down (running jobs get %llds)",
               sig == SIGINT ? "SIGINT" : "SIGTERM", (long long)d->settings.shutdown_grace_s);
    watch_second_signal();
    atomic_store(&d->ready, false);
    rc = 0;
out_http:
    chime_http_stop(d->http);
    chimed_pruner_stop(&d->pruner); /* a no-op unless it started */
out_sched:
    if (d->sched)
        stop_sched(d);
    chime_store_close(d->store);
    chime_metrics_free(d->metrics);
    if (rc == 0)
        chime__log(CHIME_LOG_INFO, "chimed stopped");
    return rc;
}

int main(int argc, char **argv)
{
    static struct chimed d;
    int rc = load_settings(&d, argc, argv);
    if (rc >= 0)
        goto out_settings;
    block_signals();
    chime__log_set_level((enum chime_log_level)d.settings.log_level);
    rc = EXIT_USAGE;
    if (!listen_allowed(&d.settings) || set_defaults(&d) != 0)
        goto out_settings;
    rc = run(&d);
out_settings:
    chime_settings_release(&d.settings);
    return rc;
}
