/*
 * chimed's REST API: an HTTP/1.1 server on libmicrohttpd (internal thread
 * pool, epoll) serving the job management API of the reference service
 * (APScheduler 3 + FastAPI 0.92) plus chime's run history, previews, probes
 * and its OpenAPI document. Handlers only call the scheduler API and, for run
 * history, the store's list_runs; they never touch the scheduler's state.
 */
#ifndef CHIME_HTTP_H
#define CHIME_HTTP_H

#include <chime/chime.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"
#include "job/job.h"
#include "sched/sched.h"
#include "store/store.h"

/* Asked by GET /readyz: true when the daemon is ready to serve. On false,
 * *out_detail (may be left NULL) is a static text saying why. Called on an
 * HTTP worker thread; must be thread-safe. */
typedef bool (*chime_http_ready_fn)(void *ctx, const char **out_detail);

struct chime_http_config {
    const char *host;  /* address to bind, e.g. "127.0.0.1", "::1", "0.0.0.0"; NULL = 127.0.0.1 */
    uint16_t port;     /* 0 = pick a free port (see chime_http_port) */
    const char *token; /* bearer token; NULL or "" = no authentication */
    size_t max_body;   /* request body limit in bytes; 0 = 1 MiB */
    unsigned request_timeout_s; /* per-connection idle timeout; 0 = 10 */
    unsigned max_connections;   /* 0 = 512 */
    size_t header_limit;        /* per-connection memory for headers (MHD); 0 = 32 KiB */
    unsigned n_threads;         /* MHD thread pool size; 0 = 4 */
    struct chime_sched *sched;  /* borrowed, required */
    struct chime_store *store;  /* borrowed, required (run history) */
    const struct chime_job_defaults *defaults; /* borrowed, required (job requests) */
    const struct chime_clock *clock;           /* borrowed; NULL = system clock */
    const char *node;                          /* node name (copied), NULL = none */
    chime_http_ready_fn ready;                 /* NULL = always ready */
    void *ready_ctx;
    const struct chime_metrics *metrics; /* borrowed (GET /metrics); NULL = runs not counted */
};

struct chime_http;
struct chime_metrics;

/**
 * Starts serving: binds host:port and runs the server on its own threads.
 * cfg is copied (the strings too); the pointers it holds are borrowed and must
 * outlive the server. 0; CHIME_EINVAL (missing sched/store/defaults, bad host)
 * or CHIME_EIO (cannot bind/listen) with diag; CHIME_ENOMEM.
 */
int chime_http_start(const struct chime_http_config *cfg, struct chime_http **out,
                     struct chime_diag *diag);

/** The port actually bound (useful with port 0). Thread-safe. */
uint16_t chime_http_port(const struct chime_http *http);

/**
 * Stops accepting, closes every connection, waits for the server threads and
 * frees. Handlers running are finished first. NULL is fine.
 */
void chime_http_stop(struct chime_http *http);

#endif /* CHIME_HTTP_H */
