/*
 * The server: libmicrohttpd with its own thread pool (epoll), per-connection
 * limits (idle timeout, connection count, header memory), the request body
 * accumulated up to the configured limit (413 from Content-Length before
 * reading, or once a chunked body passes it), bearer-token authentication
 * compared in constant time (the probes stay open), and the translation of
 * a handler's reply (JSON, static text or a stream) into an MHD response.
 * Before any handler runs, a request is checked where MHD 0.9.75 is lenient
 * (RFC 9112 framing: exactly one Host in HTTP/1.1, one Content-Length value,
 * no Content-Length with Transfer-Encoding, only chunked) and answered 400
 * with the connection closed, so no front proxy can be made to read it in
 * another way; a request target too long or with too many query parameters
 * for MHD's header memory is answered 414. A watchdog (conn_watch.c) bounds
 * the time a request may take to arrive. One debug log line per request:
 * method, path, status, duration.
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
#define DEFAULT_URI_MAX      8192
#define MAX_QUERY_PARAMS     64

struct chime_http {
    struct MHD_Daemon *mhd;
    struct chime__conn_watch *watch;
    struct chime__http_env env;
    char *token;
    char *node;
    size_t uri_max; /* request target limit (bytes), a quarter of the header memory at most */
    uint16_t port;
    struct chime_counter_set requests; /* by route, method and status (GET /metrics) */
};

/* One request. Made by the URI callback (or the first handler call when that
 * ran out of memory), freed when MHD reports the request completed. */
struct conn_state {
    char *body;
    size_t len, cap;
    char *target; /* the raw request target; NULL when unknown */
    bool begun;   /* the handler was called for this request */
    bool uri_too_long;
    bool too_large;
    unsigned status;
    int route; /* chime__http_route_find's index, for metrics */
    unsigned method_index;
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

/* The connection's watchdog entry (its socket context). */
static struct chime__conn_watch_entry *conn_entry(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

static enum MHD_Result send_reply(struct chime_http *http, struct MHD_Connection *conn,
                                  struct conn_state *st, struct chime__http_reply *rep)
{
    struct MHD_Response *r = response_body(rep);
    enum MHD_Result ok = MHD_NO;
    if (!r)
        goto out_release;
    if (!rep->text || rep->text_len) /* an empty body (a redirect, a 304) has no type */
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                rep->content_type ? rep->content_type : "application/json");
    for (size_t i = 0; i < rep->n_headers; i++)
        MHD_add_response_header(r, rep->header_names[i], rep->header_values[i]);
    st->status = rep->status;
    chime__conn_watch_answering(http->watch, conn_entry(conn));
    ok = MHD_queue_response(conn, rep->status, r);
    MHD_destroy_response(r);
out_release:
    chime__http_reply_release(rep);
    return ok;
}

/* {"detail": detail}; header_name (e.g. WWW-Authenticate, Connection) may be NULL. */
static enum MHD_Result send_detail(struct chime_http *http, struct MHD_Connection *conn,
                                   struct conn_state *st, unsigned status, const char *detail,
                                   const char *header_name, const char *header_value)
{
    struct chime__http_reply rep;
    chime__http_reply_init(&rep);
    chime__http_reply_detail(&rep, status, "%s", detail);
    if (header_name)
        chime__http_reply_header(&rep, header_name, header_value);
    return send_reply(http, conn, st, &rep);
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
        .target = st->target,
        .if_none_match = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match"),
    };
    struct chime__http_reply rep;
    chime__http_reply_init(&rep);
    chime__http_route(&req, &rep);
    return send_reply(http, conn, st, &rep);
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

/* What the header fields say about the request's framing (RFC 9112). */
struct framing {
    unsigned n_host, n_length, n_coding;
    const char *length; /* the first Content-Length value */
    bool length_bad;    /* not digits, or two values that differ */
    bool coding_bad;    /* a Transfer-Encoding other than chunked */
};

/* Compares two decimal numbers written with digits only, leading zeros aside. */
static bool decimal_equal(const char *a, const char *b)
{
    a += strspn(a, "0");
    b += strspn(b, "0");
    return strcmp(a, b) == 0;
}

static enum MHD_Result framing_visit(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct framing *f = cls;
    if (strcasecmp(key, "Host") == 0) {
        f->n_host++;
    } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
        f->n_coding++;
        f->coding_bad |= !value || strcasecmp(value, "chunked") != 0;
    } else if (strcasecmp(key, "Content-Length") == 0) {
        bool digits = value && value[0] && value[strspn(value, "0123456789")] == '\0';
        f->length_bad |= !digits || (f->length && !decimal_equal(f->length, value));
        if (!f->length)
            f->length = value;
        f->n_length++;
    }
    return MHD_YES;
}

/*
 * RFC 9112 3.2 and 6: the framing problems MHD 0.9.75 lets through (it reads
 * the first Content-Length, and chunked over Content-Length). A front proxy
 * that picks the other reading would see a second, smuggled request in the
 * body. Returns the detail of the 400, or NULL when the framing is sound.
 */
static const char *framing_error(struct MHD_Connection *conn, const char *version)
{
    struct framing f = { 0 };
    MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_visit, &f);
    if (f.n_host > 1)
        return "more than one Host header";
    if (f.n_host == 0 && strcmp(version, MHD_HTTP_VERSION_1_1) == 0)
        return "Host header required (HTTP/1.1)";
    if (f.length_bad)
        return "conflicting or invalid Content-Length headers";
    if (f.n_coding && f.n_length)
        return "Content-Length together with Transfer-Encoding";
    if (f.n_coding > 1 || f.coding_bad)
        return "Transfer-Encoding other than chunked is not supported";
    return NULL;
}

/* The route template and method a request is counted under (bounded labels). */
static void note_route(struct conn_state *st, const char *url, const char *method)
{
    unsigned bit = chime__http_method_parse(method);
    st->method_index = bit ? (unsigned)__builtin_ctz(bit) : 7;
    st->route = chime__http_route_find(url, bit);
    if (st->route == CHIME__HTTP_ROUTE_NONE && chime__http_ui_path(url))
        st->route = CHIME__HTTP_ROUTE_UI;
}

/* The first call for a request: what can be answered before reading the body.
 * A framing error closes the connection: the rest of its bytes cannot be
 * trusted to start another request. */
static enum MHD_Result request_begin(struct chime_http *http, struct MHD_Connection *conn,
                                     struct conn_state *st, const char *url, const char *method,
                                     const char *version)
{
    char detail[96];
    st->begun = true;
    note_route(st, url, method);
    chime__strlcpy(st->method, method, sizeof(st->method));
    chime__strlcpy(st->path, url, sizeof(st->path));
    if (st->uri_too_long) {
        snprintf(detail, sizeof(detail), "request target exceeds %zu bytes or %d query parameters",
                 http->uri_max, MAX_QUERY_PARAMS);
        return send_detail(http, conn, st, 414, detail, "Connection", "close");
    }
    const char *bad = framing_error(conn, version);
    if (bad)
        return send_detail(http, conn, st, 400, bad, "Connection", "close");
    if (!authorized(http, conn, url))
        return send_detail(http, conn, st, 401, "Not authenticated", "WWW-Authenticate", "Bearer");
    if (content_length_too_big(http, conn)) {
        snprintf(detail, sizeof(detail), "request body exceeds %zu bytes", http->env.max_body);
        return send_detail(http, conn, st, 413, detail, NULL, NULL);
    }
    return MHD_YES;
}

static struct conn_state *conn_state_new(void)
{
    struct conn_state *st = chime__calloc(1, sizeof(*st));
    if (st)
        st->start_ns = mono_ns();
    return st;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct chime_http *http = cls;
    struct conn_state *st = *con_cls;
    if (!st && !(st = *con_cls = conn_state_new()))
        return MHD_NO;
    if (!st->begun)
        return request_begin(http, conn, st, url, method, version);
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
        return send_detail(http, conn, st, 413, detail, NULL, NULL);
    }
    return dispatch(http, conn, st, url, method);
}

/* The query parameters as MHD splits them (on '&'). */
static size_t query_params(const char *query)
{
    size_t n = 1;
    for (; *query; query++)
        n += *query == '&';
    return n;
}

/*
 * Called by MHD with the raw request target, before it parses the query.
 * MHD 0.9.75 keeps one record per query parameter in the connection's header
 * memory, and when that runs out while parsing the query it neither answers
 * nor closes: the client waits for the timeout. A target longer than uri_max
 * or with more than MAX_QUERY_PARAMS parameters is answered 414 instead: its
 * query is emptied here, in MHD's own buffer (uri points into it, writable,
 * and the query is parsed only after this returns), so MHD parses nothing.
 */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    struct chime_http *http = cls;
    char *query = strchr(uri, '?');
    bool too_long =
            strlen(uri) > http->uri_max || (query && query_params(query + 1) > MAX_QUERY_PARAMS);
    if (too_long && query)
        query[1] = '\0';
    struct conn_state *st = conn_state_new();
    if (!st)
        return NULL;
    st->uri_too_long = too_long;
    if (!too_long)
        st->target = chime__strdup(uri); /* NULL: no slash redirect, nothing else */
    return st;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct chime_http *http = cls;
    struct conn_state *st = *con_cls;
    chime__conn_watch_reading(http->watch, conn_entry(conn)); /* the next request's deadline */
    if (!st)
        return;
    if (st->begun && st->status)
        chime_counter_set_add(&http->requests,
                              CHIME__HTTP_REQ_KEY(st->route, st->method_index, st->status), 1);
    chime__log(CHIME_LOG_DEBUG, "http %s %s %u %.3fms%s", st->method, st->path, st->status,
               (double)(mono_ns() - st->start_ns) / 1e6,
               toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (not completed)");
    chime__free(st->body);
    chime__free(st->target);
    chime__free(st);
    *con_cls = NULL;
}

/* Connections open and close on the MHD worker thread that owns them; the
 * entry is removed before MHD closes the socket. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct chime_http *http = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = info ? chime__conn_watch_add(http->watch, info->connect_fd) : NULL;
        return;
    }
    chime__conn_watch_remove(http->watch, *socket_context);
    *socket_context = NULL;
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
        .metrics = cfg->metrics,
        .requests = &http->requests,
    };
    size_t header_limit = cfg->header_limit ? cfg->header_limit : DEFAULT_HEADER_LIMIT;
    http->uri_max = header_limit / 4 < DEFAULT_URI_MAX ? header_limit / 4 : DEFAULT_URI_MAX;
    unsigned timeout_s = cfg->request_timeout_s ? cfg->request_timeout_s : 10;
    if (chime__conn_watch_start(timeout_s * 1000, &http->watch) < 0)
        return CHIME_ENOMEM;
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
    return MHD_start_daemon(
            flags, cfg->port, NULL, NULL, on_request, http, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
            http, MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_THREAD_POOL_SIZE,
            (unsigned)(cfg->n_threads ? cfg->n_threads : 4), MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned)(cfg->request_timeout_s ? cfg->request_timeout_s : 10),
            MHD_OPTION_CONNECTION_LIMIT,
            (unsigned)(cfg->max_connections ? cfg->max_connections : 512),
            MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)(cfg->header_limit ? cfg->header_limit : DEFAULT_HEADER_LIMIT),
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, http, MHD_OPTION_NOTIFY_CONNECTION,
            on_connection, http, MHD_OPTION_URI_LOG_CALLBACK, on_uri, http, MHD_OPTION_END);
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
    chime__conn_watch_stop(http->watch);
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
    MHD_stop_daemon(http->mhd); /* closes every connection: the watch is empty after */
    chime__conn_watch_stop(http->watch);
    chime__free(http->token);
    chime__free(http->node);
    chime__free(http);
}
