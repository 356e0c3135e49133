/*
 * What the HTTP module's files share: the environment handlers run in (the
 * scheduler, store, defaults, clock), a request as handlers see it (method,
 * decoded path parameter, query lookup, body bytes) and the reply they fill
 * (status, JSON or streamed body, extra headers). Nothing here depends on
 * libmicrohttpd: handlers can be driven without sockets (tests, fuzzers), and
 * only http.c turns requests and replies into MHD calls.
 */
#ifndef CHIME_HTTP_INTERNAL_H
#define CHIME_HTTP_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/http.h"
#include "metrics/metrics.h"

/* Methods the router knows: X(name, bit). */
#define CHIME__HTTP_METHOD_MAP(X) \
    X(GET, 0)                     \
    X(POST, 1)                    \
    X(PATCH, 2)                   \
    X(DELETE, 3)                  \
    X(PUT, 4)                     \
    X(HEAD, 5)                    \
    X(OPTIONS, 6)

enum chime__http_method {
#define CHIME__HTTP_METHOD_ENUM(name, bit) CHIME__HTTP_##name = 1u << (bit),
    CHIME__HTTP_METHOD_MAP(CHIME__HTTP_METHOD_ENUM)
#undef CHIME__HTTP_METHOD_ENUM
};

/* What handlers may use (borrowed for the server's life). */
struct chime__http_env {
    struct chime_sched *sched;
    struct chime_store *store;
    const struct chime_job_defaults *defaults;
    const struct chime_clock *clock;
    chime_http_ready_fn ready;
    void *ready_ctx;
    size_t max_body;
    const struct chime_metrics *metrics;      /* may be NULL */
    const struct chime_counter_set *requests; /* HTTP requests by route, method, status */
};

/* The key of a request in env->requests: route index + 2 (1 = no route,
 * 0 = the dashboard's files), method bit index (7 = other), status code (> 0). */
#define CHIME__HTTP_ROUTE_NONE (-1)
#define CHIME__HTTP_ROUTE_UI   (-2)
#define CHIME__HTTP_REQ_KEY(route, method_index, status) \
    ((uint32_t)((route) + 2) << 16 | (uint32_t)(method_index) << 10 | ((status)&0x3ffu))

typedef const char *(*chime__http_query_fn)(void *ctx, const char *key);

struct chime__http_req {
    const struct chime__http_env *env;
    unsigned method;          /* one enum chime__http_method bit; 0 = unknown */
    const char *path;         /* without the query */
    char id[256];             /* the {id} path segment, "" when the route has none */
    const char *content_type; /* NULL when absent */
    const char *body;         /* NUL-terminated copy of the body; NULL when empty */
    size_t body_len;
    chime__http_query_fn query; /* NULL = no query string */
    void *query_ctx;
    const char *target;        /* the request target as sent (raw path and query); NULL = unknown */
    const char *if_none_match; /* the If-None-Match header; NULL when absent */
};

/* A streamed body: fill buf with up to max bytes; returns the count, 0 at the
 * end, -1 on error (the connection is closed). Called on an MHD thread. */
typedef ssize_t (*chime__http_stream_fn)(void *ctx, char *buf, size_t max);

#define CHIME__HTTP_MAX_HEADERS 8

struct chime__http_reply {
    unsigned status;
    json_t *json;     /* owned; the body unless text or stream is set */
    const char *text; /* static body (e.g. the OpenAPI document) */
    size_t text_len;
    const char *content_type;     /* static; NULL = application/json */
    chime__http_stream_fn stream; /* streamed body */
    void *stream_ctx;
    void (*stream_free)(void *ctx);
    size_t n_headers;
    const char *header_names[CHIME__HTTP_MAX_HEADERS]; /* static strings */
    char *header_values[CHIME__HTTP_MAX_HEADERS];      /* owned */
};

/* reply.c */
void chime__http_reply_init(struct chime__http_reply *rep);
void chime__http_reply_release(struct chime__http_reply *rep);
/** Sets status and the JSON body (takes the reference; NULL = out of memory -> 503). */
void chime__http_reply_json(struct chime__http_reply *rep, unsigned status, json_t *body);
/** {"detail": "<printf>"} with status. */
void chime__http_reply_detail(struct chime__http_reply *rep, unsigned status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/** {"status": text} with status. */
void chime__http_reply_status(struct chime__http_reply *rep, unsigned status, const char *text);
/** Maps a library error (and its diag) to 400/404/409/503 with a detail. */
void chime__http_reply_error(struct chime__http_reply *rep, int err, const struct chime_diag *diag);
/** Adds a header (name static, value copied). 0 or CHIME_ENOMEM. */
int chime__http_reply_header(struct chime__http_reply *rep, const char *name, const char *value);
/** One pydantic v1 error entry {"loc": ["body", ...], "msg", "type"}; loc_key NULL = ["body"]. */
json_t *chime__http_error_entry(const char *loc_key, const char *msg, const char *type);
/** 422 {"detail": [entries]} (takes the array). */
void chime__http_reply_422(struct chime__http_reply *rep, json_t *entries);

/* router.c */
typedef void (*chime__http_handler_fn)(const struct chime__http_req *req,
                                       struct chime__http_reply *rep);
/** Routes the request: fills req->id and calls the handler, or answers 404 / 405 (+ Allow). */
void chime__http_route(struct chime__http_req *req, struct chime__http_reply *rep);
/** True when the path needs no authentication (probes). */
bool chime__http_path_is_open(const char *path);
/** Parses a method name; 0 when unknown. */
unsigned chime__http_method_parse(const char *name);
/**
 * The index of the route for path and method (metrics): the route itself, or
 * when only another method matches, the first route of that path; -1 when no
 * route matches the path.
 */
int chime__http_route_find(const char *path, unsigned method);
/** The path pattern of route index ("/schedule/jobs/{id}"); NULL when out of range. */
const char *chime__http_route_pattern(int index);

/* ui.c: the dashboard's static files (GET / and /ui/<file>), outside the API. */
struct chime__ui_asset {
    const char *path; /* "/ui/<file>"; NULL ends the table */
    const char *type; /* Content-Type */
    const char *data;
    size_t len;
    const char *etag; /* quoted strong validator */
};
/* The files of ui/, embedded at build time by cmake/embed_ui.cmake into
 * <build>/generated/ui_assets.c. */
extern const struct chime__ui_asset chime__ui_assets[];
/** True when path is one of the dashboard's (served without the token). */
bool chime__http_ui_path(const char *path);
/**
 * Answers a request for a dashboard path (the file with its headers, 304 when
 * If-None-Match matches, 405 for a method other than GET or HEAD) and returns
 * true; false when the path is not the dashboard's (rep untouched).
 */
bool chime__http_ui_route(const struct chime__http_req *req, struct chime__http_reply *rep);

/* body.c: the JSON body as FastAPI 0.92 / pydantic 1.10 would read it. */
/**
 * Decodes req's body as a JSON object. On a structural problem fills rep with
 * the 422 FastAPI answers and returns NULL; else a new reference.
 */
json_t *chime__http_body_object(const struct chime__http_req *req, struct chime__http_reply *rep);
/**
 * Checks the fields of the job request model (func, trigger required str;
 * trigger_args dict; name, jobstore str) coercing numbers to strings as
 * pydantic v1 does (body is changed in place). false with a 422 in rep.
 */
bool chime__http_body_check_job(json_t *body, struct chime__http_reply *rep);
/**
 * The same checks for a PATCH body: func, trigger, trigger_args, name, all
 * optional (a null name is kept). false with a 422 in rep.
 */
bool chime__http_body_check_patch(json_t *body, struct chime__http_reply *rep);

/* json_check.c: Python json.loads error messages. */
struct chime__json_error {
    const char *msg; /* "Expecting value", ... (static) */
    size_t pos;      /* character (code point) index */
    size_t line;     /* 1-based */
    size_t col;      /* 1-based */
};
/** Checks the syntax as Python's json module does. true when valid. */
bool chime__json_check(const char *text, size_t len, struct chime__json_error *out);

/* cursor.c: opaque page cursors (base64url). */
/** Formats a job cursor (next_run, id) into a new string; NULL on out of memory. */
char *chime__cursor_job_format(chime_utime next_run, const char *id);
/** Parses a job cursor; id_buf receives the id. 0 or CHIME_EINVAL. */
int chime__cursor_job_parse(const char *text, chime_utime *out_next_run, char *id_buf,
                            size_t id_size);
/** Formats a run cursor (continue before run id). */
char *chime__cursor_run_format(int64_t before_id);
int chime__cursor_run_parse(const char *text, int64_t *out_before_id);
/** Parses a positive decimal limit in [1, max]; 0 or CHIME_EINVAL. */
int chime__http_parse_limit(const char *text, size_t max, size_t *out);

/* The handlers (jobs_api.c, jobs_list.c, runs_api.c, preview_api.c, health_api.c, openapi.c). */
void chime__http_jobs_create(const struct chime__http_req *req, struct chime__http_reply *rep);
void chime__http_jobs_list(const struct chime__http_req *req, struct chime__http_reply *rep);
void chime__http_jobs_get(const struct chime__http_req *req, struct chime__http_reply *rep);
void chime__http_jobs_patch(const struct chime__http_req *req, struct chime__http_reply *rep);
void chime__http_jobs_delete(const struct chime__http_req *req, struct chime__http_reply *rep);
void chime__http_jobs_pause(const struct chime__http_req *req, struct chime__http_reply *rep);
void chime__http_jobs_resume(const struct chime__http_req *req, struct chime__http_reply *rep);
void chime__http_jobs_run(const struct chime__http_req *req, struct chime__http_reply *rep);
void chime__http_job_runs(const struct chime__http_req *req, struct chime__http_reply *rep);
void chime__http_runs_list(const struct chime__http_req *req, struct chime__http_reply *rep);
void chime__http_nodes_list(const struct chime__http_req *req, struct chime__http_reply *rep);
void chime__http_jobs_preview(const struct chime__http_req *req, struct chime__http_reply *rep);
void chime__http_healthz(const struct chime__http_req *req, struct chime__http_reply *rep);
void chime__http_readyz(const struct chime__http_req *req, struct chime__http_reply *rep);
void chime__http_openapi(const struct chime__http_req *req, struct chime__http_reply *rep);
void chime__http_metrics(const struct chime__http_req *req, struct chime__http_reply *rep);

/* conn_watch.c: the deadline for receiving a request (slowloris defence). */
struct chime__conn_watch;
struct chime__conn_watch_entry;
/** Starts the watchdog thread: requests must arrive within timeout_ms. 0 or CHIME_ENOMEM. */
int chime__conn_watch_start(unsigned timeout_ms, struct chime__conn_watch **out);
/** Stops the thread and frees (entries left are freed too). NULL is fine. */
void chime__conn_watch_stop(struct chime__conn_watch *w);
/**
 * A connection opened on socket fd: its first request must arrive from now.
 * Returns its entry; NULL (not watched) on out of memory or a NULL w.
 */
struct chime__conn_watch_entry *chime__conn_watch_add(struct chime__conn_watch *w, int fd);
/** The connection closes: call before its socket is closed. e may be NULL. */
void chime__conn_watch_remove(struct chime__conn_watch *w, struct chime__conn_watch_entry *e);
/** The next request may start arriving: the deadline is now + timeout. e may be NULL. */
void chime__conn_watch_reading(struct chime__conn_watch *w, struct chime__conn_watch_entry *e);
/** The request is being answered: no deadline until the next one. e may be NULL. */
void chime__conn_watch_answering(struct chime__conn_watch *w, struct chime__conn_watch_entry *e);
/** How many connections the watchdog has cut (tests). */
size_t chime__conn_watch_n_cut(struct chime__conn_watch *w);

/* The OpenAPI 3.1 document (JSON text, NUL-terminated): src/http/openapi.json,
 * embedded at build time by cmake/embed.cmake into <build>/generated/openapi_json.c. */
extern const char chime__openapi_json[];

/** Now from the env's clock. */
chime_utime chime__http_now(const struct chime__http_env *env);

#endif /* CHIME_HTTP_INTERNAL_H */
