/*
 * The server: libmicrohttpd with its own thread pool (epoll), per-connection
 * limits (idle timeout, connection count, header memory), the request body
 * accumulated up to the configured limit (413 from Content-Length before
 * reading, or once a chunked body passes it), bearer-token authentication
 * compared in constant time (the probes stay open), and the translation of
 * a handler's reply (JSON, static text or a stream) into an MHD response.
 * One debug log line per request: method, path, status, duration.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/base.h"
#include "http/http_internal.h"

#define DEFAULT_MAX_BODY     (1024 * 1024)
#define DEFAULT_HEADER_LIMIT (32 * 1024)
#define DISCARD_FACTOR       16 /* a chunked body past the limit is read this far, then cut */

struct chime_http {
    struct MHD_Daemon *mhd;
    struct chime__http_env env;
    char *token;
    char *node;
    uint16_t port;
};

struct conn_state {
    char *body;
    size_t len, cap;
    bool too_large;
    unsigned status;
    int64_t start_ns;
    char method[12];
    char path[160];
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Compares in time that depends only on the expected token's length. */
static bool token_equal(const char *given, const char *expected)
{
    size_t gl = strlen(given), el = strlen(expected);
    unsigned diff = (unsigned)(gl != el);
    for (size_t i = 0; i < el; i++)
        diff |= (unsigned char)(i < gl ? given[i] : 0) ^ (unsigned char)expected[i];
    return diff == 0;
}

static bool authorized(const struct chime_http *http, struct MHD_Connection *conn, const char *url)
{
    if (!http->token || chime__http_path_is_open(url))
        return true;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    return token_equal(auth + 7, http->token);
}

struct stream_box {
    chime__http_stream_fn fn;
    void *ctx;
    void (*free_fn)(void *ctx);
};

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream_box *box = cls;
    ssize_t n = box->fn(box->ctx, buf, max);
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR : n;
}

static void stream_box_free(void *cls)
{
    struct stream_box *box = cls;
    if (box->free_fn)
        box->free_fn(box->ctx);
    chime__free(box);
}

static struct MHD_Response *response_stream(struct chime__http_reply *rep)
{
    struct stream_box *box = chime__malloc(sizeof(*box));
    if (!box)
        return NULL;
    *box = (struct stream_box){ rep->stream, rep->stream_ctx, rep->stream_free };
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024,
                                                               stream_reader, box, stream_box_free);
    if (!r) {
        chime__free(box);
        return NULL;
    }
    rep->stream_ctx = NULL; /* the response owns it now */
    return r;
}

static struct MHD_Response *response_body(struct chime__http_reply *rep)
{
    if (rep->stream)
        return response_stream(rep);
    if (rep->text)
        return MHD_create_response_from_buffer(rep->text_len, (void *)rep->text,
                                               MHD_RESPMEM_PERSISTENT);
    char *text = rep->json ? json_dumps(rep->json, JSON_COMPACT) : NULL;
    if (!text) {
        static const char oom[] = "{\"detail\":\"out of memory\"}";
        rep->status = 503;
        return MHD_create_response_from_buffer(sizeof(oom) - 1, (void *)oom,
                                               MHD_RESPMEM_PERSISTENT);
    }
    return MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct conn_state *st,
                                  struct chime__http_reply *rep)
{
    struct MHD_Response *r = response_body(rep);
    enum MHD_Result ok = MHD_NO;
    if (!r)
        goto out_release;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    for (size_t i = 0; i < rep->n_headers; i++)
        MHD_add_response_header(r, rep->header_names[i], rep->header_values[i]);
    st->status = rep->status;
    ok = MHD_queue_response(conn, rep->status, r);
    MHD_destroy_response(r);
out_release:
    chime__http_reply_release(rep);
    return ok;
}

static enum MHD_Result send_detail(struct MHD_Connection *conn, struct conn_state *st,
                                   unsigned status, const char *detail, const char *www_auth)
{
    struct chime__http_reply rep;
    chime__http_reply_init(&rep);
    chime__http_reply_detail(&rep, status, "%s", detail);
    if (www_auth)
        chime__http_reply_header(&rep, "WWW-Authenticate", www_auth);
    return send_reply(conn, st, &rep);
}

static const char *query_lookup(void *ctx, const char *key)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result dispatch(struct chime_http *http, struct MHD_Connection *conn,
                                struct conn_state *st, const char *url, const char *method)
{
    struct chime__http_req req = {
        .env = &http->env,
        .method = chime__http_method_parse(method),
        .path = url,
        .content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"),
        .body = st->body,
        .body_len = st->len,
        .query = query_lookup,
        .query_ctx = conn,
    };
    struct chime__http_reply rep;
    chime__http_reply_init(&rep);
    chime__http_route(&req, &rep);
    return send_reply(conn, st, &rep);
}

/* Appends upload data; past the limit the body is dropped (and the request cut
 * when it keeps coming far beyond). false = close the connection. */
static bool body_append(struct chime_http *http, struct conn_state *st, const char *data, size_t n)
{
    if (st->too_large || st->len + n > http->env.max_body) {
        st->too_large = true;
        st->len += n;
        return st->len / DISCARD_FACTOR <= http->env.max_body;
    }
    if (chime__grow((void **)&st->body, &st->cap, st->len + n + 1, 1) < 0)
        return false;
    memcpy(st->body + st->len, data, n);
    st->len += n;
    st->body[st->len] = '\0';
    return true;
}

static bool content_length_too_big(const struct chime_http *http, struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    return cl && strtoull(cl, NULL, 10) > http->env.max_body;
}

/* The first call for a request: what can be answered before reading the body. */
static enum MHD_Result request_begin(struct chime_http *http, struct MHD_Connection *conn,
                                     const char *url, const char *method, void **con_cls)
{
    struct conn_state *st = chime__calloc(1, sizeof(*st));
    if (!st)
        return MHD_NO;
    st->start_ns = mono_ns();
    chime__strlcpy(st->method, method, sizeof(st->method));
    chime__strlcpy(st->path, url, sizeof(st->path));
    *con_cls = st;
    if (!authorized(http, conn, url))
        return send_detail(conn, st, 401, "Not authenticated", "Bearer");
    if (content_length_too_big(http, conn)) {
        char detail[64];
        snprintf(detail, sizeof(detail), "request body exceeds %zu bytes", http->env.max_body);
        return send_detail(conn, st, 413, detail, NULL);
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct chime_http *http = cls;
    struct conn_state *st = *con_cls;
    if (!st)
        return request_begin(http, conn, url, method, con_cls);
    if (st->status)
        return (*upload_data_size = 0), MHD_YES; /* already answered: drop the body */
    if (*upload_data_size) {
        bool ok = body_append(http, st, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return ok ? MHD_YES : MHD_NO;
    }
    if (st->too_large) {
        char detail[64];
        snprintf(detail, sizeof(detail), "request body exceeds %zu bytes", http->env.max_body);
        return send_detail(conn, st, 413, detail, NULL);
    }
    return dispatch(http, conn, st, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    struct conn_state *st = *con_cls;
    if (!st)
        return;
    chime__log(CHIME_LOG_DEBUG, "http %s %s %u %.3fms%s", st->method, st->path, st->status,
               (double)(mono_ns() - st->start_ns) / 1e6,
               toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (not completed)");
    chime__free(st->body);
    chime__free(st);
    *con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[256];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    chime__log(CHIME_LOG_DEBUG, "http: %s", buf);
}

/* Resolves host (numeric or a name) into addr with port. */
static int resolve(const char *host, uint16_t port, struct sockaddr_storage *addr,
                   struct chime_diag *diag)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE };
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return chime_diag_set(diag, CHIME_EINVAL, "host", "host '%s' cannot be resolved", host);
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (addr->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)addr)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)addr)->sin_port = htons(port);
    return 0;
}

static int http_init(struct chime_http *http, const struct chime_http_config *cfg)
{
    http->env = (struct chime__http_env){
        .sched = cfg->sched,
        .store = cfg->store,
        .defaults = cfg->defaults,
        .clock = cfg->clock,
        .ready = cfg->ready,
        .ready_ctx = cfg->ready_ctx,
        .max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY,
    };
    if (cfg->token && cfg->token[0] && !(http->token = chime__strdup(cfg->token)))
        return CHIME_ENOMEM;
    if (cfg->node && !(http->node = chime__strdup(cfg->node)))
        return CHIME_ENOMEM;
    return 0;
}

static struct MHD_Daemon *daemon_start(struct chime_http *http, const struct chime_http_config *cfg,
                                       const struct sockaddr_storage *addr)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (addr->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    return MHD_start_daemon(flags, cfg->port, NULL, NULL, on_request, http, MHD_OPTION_SOCK_ADDR,
                            addr, MHD_OPTION_THREAD_POOL_SIZE,
                            (unsigned)(cfg->n_threads ? cfg->n_threads : 2),
                            MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)(cfg->request_timeout_s ? cfg->request_timeout_s : 10),
                            MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)(cfg->max_connections ? cfg->max_connections : 512),
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                            (size_t)(cfg->header_limit ? cfg->header_limit : DEFAULT_HEADER_LIMIT),
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, http,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, http, MHD_OPTION_END);
}

int chime_http_start(const struct chime_http_config *cfg, struct chime_http **out,
                     struct chime_diag *diag)
{
    struct sockaddr_storage addr;
    if (!cfg->sched || !cfg->store || !cfg->defaults)
        return chime_diag_set(diag, CHIME_EINVAL, "", "HTTP server needs a scheduler and store");
    int rc = resolve(cfg->host ? cfg->host : "127.0.0.1", cfg->port, &addr, diag);
    if (rc < 0)
        return rc;
    struct chime_http *http = chime__calloc(1, sizeof(*http));
    if (!http)
        return CHIME_ENOMEM;
    rc = http_init(http, cfg);
    if (rc < 0)
        goto out_free;
    http->mhd = daemon_start(http, cfg, &addr);
    if (!http->mhd) {
        rc = chime_diag_set(diag, CHIME_EIO, "port", "cannot listen on %s port %u",
                            cfg->host ? cfg->host : "127.0.0.1", (unsigned)cfg->port);
        goto out_free;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(http->mhd, MHD_DAEMON_INFO_BIND_PORT);
    http->port = info ? info->port : cfg->port;
    *out = http;
    return 0;
out_free:
    chime__free(http->token);
    chime__free(http->node);
    chime__free(http);
    return rc;
}

uint16_t chime_http_port(const struct chime_http *http)
{
    return http->port;
}

void chime_http_stop(struct chime_http *http)
{
    if (!http)
        return;
    MHD_stop_daemon(http->mhd);
    chime__free(http->token);
    chime__free(http->node);
    chime__free(http);
}
