/*
 * Unit tests of src/http: the real server on port 0 over a memory store and
 * a scheduler on a fake clock, driven over real sockets by a tiny HTTP/1.1
 * client (connect, send, read status, headers and body, chunked or not).
 * Every endpoint, status code and bad input of docs/api.md, and that a
 * rejected request stores nothing; the HTTP hardening: a request dripped in
 * past the request timeout is cut, framing errors (Host, Content-Length,
 * Transfer-Encoding) are 400 with the connection closed, too many query
 * parameters are 414 at once, a trailing slash too many is a 307.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "http/http.h"
#include "sched/sched.h"
#include "time/tz.h"

#define SEC 1000000LL
#define T0  1767225600000000LL /* 2026-01-01T00:00:00Z */

struct fixture {
    struct chime_fake_clock *fake;
    struct chime_store *store;
    struct chime_sched *sched;
    struct chime_job_defaults defaults;
    struct chime_http *http;
    bool ready;
};

struct resp {
    int status;
    char headers[4096];
    char *body;
    json_t *json;
};

static bool test_ready(void *ctx, const char **out_detail)
{
    struct fixture *f = ctx;
    if (!f->ready)
        *out_detail = "shutting down";
    return f->ready;
}

static int start_http(struct fixture *f, const char *token, size_t max_body)
{
    struct chime_http_config cfg = {
        .host = "127.0.0.1",
        .token = token,
        .max_body = max_body,
        .sched = f->sched,
        .store = f->store,
        .defaults = &f->defaults,
        .clock = chime_fake_clock_get(f->fake),
        .ready = test_ready,
        .ready_ctx = f,
    };
    struct chime_diag diag;
    return chime_http_start(&cfg, &f->http, &diag);
}

/* Replaces the server with one whose request timeout is timeout_s. */
static void restart_http(struct fixture *f, unsigned timeout_s)
{
    chime_http_stop(f->http);
    struct chime_http_config cfg = {
        .host = "127.0.0.1",
        .request_timeout_s = timeout_s,
        .sched = f->sched,
        .store = f->store,
        .defaults = &f->defaults,
        .clock = chime_fake_clock_get(f->fake),
    };
    struct chime_diag diag;
    assert_int_equal(chime_http_start(&cfg, &f->http, &diag), 0);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

static int setup(void **state)
{
    struct fixture *f = chime__calloc(1, sizeof(*f));
    *state = f;
    struct chime_diag diag;
    f->ready = true;
    f->defaults = (struct chime_job_defaults){ true, 60, 1, chime_zone_utc() };
    if (!f || chime_fake_clock_new(T0, &f->fake) < 0)
        return -1;
    if (chime_store_open("memory://", &f->defaults, &f->store, &diag) < 0)
        return -1;
    struct chime_sched_config config = {
        .defaults = f->defaults,
        .max_workers = 2,
        .clock = chime_fake_clock_get(f->fake),
        .store = f->store,
        .shutdown_grace_ms = 60000,
    };
    if (chime_sched_new(&config, &f->sched) < 0)
        return -1;
    return start_http(f, NULL, 4096);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    chime_http_stop(f->http);
    chime_sched_free(f->sched);
    f->store->ops->close(f->store);
    chime_fake_clock_free(f->fake);
    chime__free(f);
    return 0;
}

/* ---- the tiny HTTP client ---- */

static int connect_to(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* the server may close early (413, 401) */
        data += n;
        len -= (size_t)n;
    }
}

static char *read_all(int fd, size_t *out_len)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out_len = len;
    return buf;
}

/* Decodes a chunked body in place. */
static void dechunk(char *body)
{
    char *in = body, *out = body;
    for (;;) {
        size_t n = strtoul(in, &in, 16);
        in = strstr(in, "\r\n") + 2;
        if (n == 0)
            break;
        memmove(out, in, n);
        out += n;
        in += n + 2;
    }
    *out = '\0';
}

static void parse_response(char *raw, struct resp *r)
{
    char *end = strstr(raw, "\r\n\r\n");
    assert_non_null(end);
    *end = '\0';
    assert_int_equal(sscanf(raw, "HTTP/1.%*d %d", &r->status), 1);
    chime__strlcpy(r->headers, raw, sizeof(r->headers));
    r->body = strdup(end + 4);
    if (strcasestr(r->headers, "Transfer-Encoding: chunked"))
        dechunk(r->body);
    json_error_t err;
    r->json = json_loads(r->body, JSON_DECODE_ANY, &err);
}

static void resp_free(struct resp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

/* Sends one request (Connection: close) and reads the whole answer. */
static int http_raw(struct fixture *f, const char *head, const char *body, size_t body_len,
                    struct resp *r)
{
    memset(r, 0, sizeof(*r));
    int fd = connect_to(chime_http_port(f->http));
    send_all(fd, head, strlen(head));
    if (body)
        send_all(fd, body, body_len);
    size_t len;
    char *raw = read_all(fd, &len);
    close(fd);
    if (len == 0) {
        free(raw);
        return -1;
    }
    parse_response(raw, r);
    free(raw);
    return r->status;
}

static int http_req(struct fixture *f, const char *method, const char *path, const char *extra,
                    const char *body, struct resp *r)
{
    char head[8192];
    bool has_ct = extra && strcasestr(extra, "Content-Type:");
    snprintf(head, sizeof(head),
             "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s%s"
             "Content-Length: %zu\r\n\r\n",
             method, path, extra ? extra : "",
             body && !has_ct ? "Content-Type: application/json\r\n" : "", body ? strlen(body) : 0);
    return http_raw(f, head, body, body ? strlen(body) : 0, r);
}

static const char *header(const struct resp *r, const char *name, char *buf, size_t size)
{
    char key[64];
    snprintf(key, sizeof(key), "\r\n%s: ", name);
    const char *p = strcasestr(r->headers, key);
    if (!p)
        return NULL;
    p += strlen(key);
    size_t n = strcspn(p, "\r\n");
    snprintf(buf, size, "%.*s", (int)n, p);
    return buf;
}

static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static size_t n_jobs(struct fixture *f)
{
    return f->store->ops->count_jobs(f->store);
}

/* Adds a job through the API; returns its id (static buffer). */
static const char *add_job(struct fixture *f, const char *body)
{
    static char id[256];
    struct resp r;
    assert_int_equal(http_req(f, "POST", "/schedule/jobs", NULL, body, &r), 200);
    chime__strlcpy(id, jstr(r.json, "id"), sizeof(id));
    resp_free(&r);
    return id;
}

#define INTERVAL_BODY \
    "{\"func\":\"chime:noop\",\"trigger\":\"interval\",\"trigger_args\":{\"seconds\":30}"

/* ---- tests ---- */

static void test_http_probes_and_openapi(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    assert_int_equal(http_req(f, "GET", "/healthz", NULL, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "status"), "ok");
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/readyz", NULL, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "status"), "ready");
    resp_free(&r);
    f->ready = false;
    assert_int_equal(http_req(f, "GET", "/readyz", NULL, NULL, &r), 503);
    assert_string_equal(jstr(r.json, "status"), "not ready");
    assert_string_equal(jstr(r.json, "detail"), "shutting down");
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/openapi.json", NULL, NULL, &r), 200);
    assert_non_null(r.json);
    assert_string_equal(jstr(r.json, "openapi"), "3.1.0");
    static const char *const ops[][2] = {
        { "/schedule/jobs", "post" },
        { "/schedule/jobs", "get" },
        { "/schedule/jobs/{job_id}", "get" },
        { "/schedule/jobs/{job_id}", "patch" },
        { "/schedule/jobs/{job_id}", "delete" },
        { "/schedule/jobs/{job_id}/pause", "post" },
        { "/schedule/jobs/{job_id}/resume", "post" },
        { "/schedule/jobs/{job_id}/run", "post" },
        { "/schedule/jobs/{job_id}/runs", "get" },
        { "/schedule/jobs/{job_id}/preview", "get" },
        { "/schedule/runs", "get" },
        { "/schedule/nodes", "get" },
        { "/healthz", "get" },
        { "/readyz", "get" },
        { "/openapi.json", "get" },
        { "/metrics", "get" },
    };
    json_t *paths = json_object_get(r.json, "paths");
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        json_t *op = json_object_get(json_object_get(paths, ops[i][0]), ops[i][1]);
        if (!op)
            fail_msg("openapi.json lacks %s %s", ops[i][1], ops[i][0]);
        assert_non_null(json_object_get(op, "responses"));
    }
    assert_int_equal(json_object_size(paths), 13);
    resp_free(&r);
}

/* GET /metrics: Prometheus text; requests counted by route template, not raw path. */
static void test_http_metrics_counts_requests_by_route(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    char buf[128];
    add_job(f, INTERVAL_BODY "}");
    assert_int_equal(http_req(f, "GET", "/schedule/jobs/nope", NULL, NULL, &r), 404);
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/schedule/jobs/other", NULL, NULL, &r), 404);
    resp_free(&r);
    assert_int_equal(http_req(f, "PUT", "/schedule/jobs", NULL, NULL, &r), 405);
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/no/such/path", NULL, NULL, &r), 404);
    resp_free(&r);
    /* A request is counted once the server has finished with it, which may come just
     * after the client has its answer: scrape until the last one shows. */
    for (int tries = 0;; tries++) {
        assert_int_equal(http_req(f, "GET", "/metrics", NULL, NULL, &r), 200);
        if (strstr(r.body, "route=\"unmatched\"") || tries == 100)
            break;
        resp_free(&r);
        sleep_ms(10);
    }
    assert_string_equal(header(&r, "Content-Type", buf, sizeof(buf)),
                        "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body, "# TYPE chime_http_requests_total counter\n"));
    assert_non_null(strstr(r.body, "\nchime_http_requests_total{route=\"/schedule/jobs/"
                                   "{id}\",method=\"GET\",code=\"404\"} 2\n"));
    assert_non_null(strstr(r.body, "\nchime_http_requests_total{route=\"/schedule/"
                                   "jobs\",method=\"PUT\",code=\"405\"} 1\n"));
    assert_non_null(strstr(
            r.body,
            "\nchime_http_requests_total{route=\"unmatched\",method=\"GET\",code=\"404\"} 1\n"));
    assert_null(strstr(r.body, "nope"));
    assert_non_null(strstr(r.body, "\nchime_jobs{state=\"scheduled\"} 1\n"));
    assert_non_null(strstr(r.body, "\nchime_executor_workers 2\n"));
    resp_free(&r);
}

static void test_http_create_get_list(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    assert_int_equal(http_req(f, "POST", "/schedule/jobs", NULL,
                              "{\"func\":\"app.jobs.registry:send_daily_digest\","
                              "\"trigger\":\"interval\",\"trigger_args\":{\"hours\":1},"
                              "\"name\":\"digest\",\"jobstore\":\"default\"}",
                              &r),
                     200);
    char buf[128];
    assert_string_equal(header(&r, "Content-Type", buf, sizeof(buf)), "application/json");
    const char *id = jstr(r.json, "id");
    assert_int_equal(strlen(id), 32);
    assert_string_equal(jstr(r.json, "name"), "digest");
    assert_string_equal(jstr(r.json, "next_run_time"), "2026-01-01T01:00:00+00:00");
    char path[128];
    snprintf(path, sizeof(path), "/schedule/jobs/%s", id);
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", path, NULL, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "name"), "digest");
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/schedule/jobs", NULL, NULL, &r), 200);
    assert_true(json_is_array(r.json));
    assert_int_equal(json_array_size(r.json), 1);
    assert_string_equal(jstr(json_array_get(r.json, 0), "name"), "digest");
    resp_free(&r);
}

static void expect_422(struct fixture *f, const char *extra, const char *body, const char *loc1,
                       const char *type)
{
    struct resp r;
    assert_int_equal(http_req(f, "POST", "/schedule/jobs", extra, body, &r), 422);
    json_t *e = json_array_get(json_object_get(r.json, "detail"), 0);
    assert_non_null(e);
    json_t *loc = json_object_get(e, "loc");
    assert_string_equal(json_string_value(json_array_get(loc, 0)), "body");
    if (loc1)
        assert_string_equal(json_string_value(json_array_get(loc, 1)), loc1);
    assert_string_equal(jstr(e, "type"), type);
    resp_free(&r);
}

static void test_http_structural_errors_are_422(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    assert_int_equal(http_req(f, "POST", "/schedule/jobs", NULL, "{", &r), 422);
    json_t *e = json_array_get(json_object_get(r.json, "detail"), 0);
    assert_string_equal(jstr(e, "msg"),
                        "Expecting property name enclosed in double quotes: line 1 column 2 "
                        "(char 1)");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(e, "loc"), 1)), 1);
    resp_free(&r);
    assert_int_equal(http_req(f, "POST", "/schedule/jobs", NULL, "{\"func\": \"a\"", &r), 422);
    e = json_array_get(json_object_get(r.json, "detail"), 0);
    assert_string_equal(jstr(e, "msg"), "Expecting ',' delimiter: line 1 column 13 (char 12)");
    resp_free(&r);
    expect_422(f, NULL, "[1,2]", NULL, "type_error.dict");
    expect_422(f, "Content-Type: text/plain\r\n", "{\"func\":\"chime:noop\",\"trigger\":\"date\"}",
               NULL, "type_error.dict");
    expect_422(f, NULL, "{\"trigger\":\"date\"}", "func", "value_error.missing");
    expect_422(f, NULL, "{\"func\":\"chime:noop\"}", "trigger", "value_error.missing");
    expect_422(f, NULL, "{\"func\":\"chime:noop\",\"trigger\":\"interval\",\"trigger_args\":[1]}",
               "trigger_args", "type_error.dict");
    expect_422(f, NULL, "{\"func\":\"chime:noop\",\"trigger\":{}}", "trigger", "type_error.str");
    expect_422(f, NULL, "{\"func\":\"chime:noop\",\"trigger\":\"date\",\"jobstore\":null}",
               "jobstore", "type_error.none.not_allowed");
    /* An empty body is a missing body. */
    assert_int_equal(http_req(f, "POST", "/schedule/jobs", NULL, "", &r), 422);
    assert_string_equal(jstr(json_array_get(json_object_get(r.json, "detail"), 0), "type"),
                        "value_error.missing");
    resp_free(&r);
    /* Both missing fields are reported, in model order. */
    assert_int_equal(http_req(f, "POST", "/schedule/jobs", NULL, "{}", &r), 422);
    assert_int_equal(json_array_size(json_object_get(r.json, "detail")), 2);
    resp_free(&r);
    assert_int_equal(n_jobs(f), 0);
}

static void test_http_name_number_is_coerced(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    assert_int_equal(
            http_req(f, "POST", "/schedule/jobs", NULL, INTERVAL_BODY ",\"name\":1.5}", &r), 200);
    assert_string_equal(jstr(r.json, "name"), "1.5");
    resp_free(&r);
    assert_int_equal(http_req(f, "POST", "/schedule/jobs", NULL, INTERVAL_BODY ",\"name\":42}", &r),
                     200);
    assert_string_equal(jstr(r.json, "name"), "42");
    resp_free(&r);
    assert_int_equal(
            http_req(f, "POST", "/schedule/jobs", NULL, INTERVAL_BODY ",\"name\":null}", &r), 200);
    assert_string_equal(jstr(r.json, "name"), "noop"); /* APS-COMPAT: func.__name__ */
    resp_free(&r);
}

static void expect_400(struct fixture *f, const char *body, const char *needle)
{
    struct resp r;
    assert_int_equal(http_req(f, "POST", "/schedule/jobs", NULL, body, &r), 400);
    const char *detail = jstr(r.json, "detail");
    assert_non_null(detail);
    if (!strstr(detail, needle))
        fail_msg("detail '%s' does not name '%s'", detail, needle);
    resp_free(&r);
}

static void test_http_semantic_errors_are_400_and_store_nothing(void **state)
{
    struct fixture *f = *state;
    expect_400(f, "{\"func\":\"chime:nope\",\"trigger\":\"date\"}", "func");
    expect_400(f, "{\"func\":\"no.such.module:f\",\"trigger\":\"date\"}", "func");
    expect_400(f, INTERVAL_BODY ",\"jobstore\":\"other\"}", "jobstore");
    expect_400(f, INTERVAL_BODY ",\"name\":\"\"}", "name");
    expect_400(f, "{\"func\":\"chime:noop\",\"trigger\":\"weekly\"}", "trigger");
    expect_400(f,
               "{\"func\":\"chime:noop\",\"trigger\":\"interval\",\"trigger_args\":"
               "{\"seconds\":-5}}",
               "seconds");
    expect_400(f,
               "{\"func\":\"chime:noop\",\"trigger\":\"cron\",\"trigger_args\":"
               "{\"month\":2,\"day\":31}}",
               "");
    assert_int_equal(n_jobs(f), 0);
}

static void test_http_duplicate_id_is_409(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    add_job(f, INTERVAL_BODY ",\"id\":\"dup\"}");
    assert_int_equal(
            http_req(f, "POST", "/schedule/jobs", NULL, INTERVAL_BODY ",\"id\":\"dup\"}", &r), 409);
    assert_string_equal(jstr(r.json, "detail"), "Job 'dup' already exists");
    resp_free(&r);
    assert_int_equal(n_jobs(f), 1);
}

static void test_http_unknown_id_is_404(void **state)
{
    struct fixture *f = *state;
    static const char *const reqs[][2] = {
        { "GET", "/schedule/jobs/nope" },        { "DELETE", "/schedule/jobs/nope" },
        { "POST", "/schedule/jobs/nope/pause" }, { "POST", "/schedule/jobs/nope/resume" },
        { "POST", "/schedule/jobs/nope/run" },   { "GET", "/schedule/jobs/nope/preview" },
    };
    struct resp r;
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        assert_int_equal(http_req(f, reqs[i][0], reqs[i][1], NULL, NULL, &r), 404);
        assert_string_equal(jstr(r.json, "detail"), "Job not found");
        resp_free(&r);
    }
    assert_int_equal(http_req(f, "PATCH", "/schedule/jobs/nope", NULL, "{\"name\":\"x\"}", &r),
                     404);
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/no/such/path", NULL, NULL, &r), 404);
    assert_string_equal(jstr(r.json, "detail"), "Not Found");
    resp_free(&r);
}

static void test_http_wrong_method_is_405_with_allow(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    char buf[64];
    assert_int_equal(http_req(f, "PUT", "/schedule/jobs", NULL, NULL, &r), 405);
    assert_string_equal(jstr(r.json, "detail"), "Method Not Allowed");
    assert_string_equal(header(&r, "Allow", buf, sizeof(buf)), "GET, POST");
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/schedule/jobs/x/pause", NULL, NULL, &r), 405);
    assert_string_equal(header(&r, "Allow", buf, sizeof(buf)), "POST");
    resp_free(&r);
}

static void test_http_big_body_is_413(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    char *big = malloc(5000);
    memset(big, ' ', 4999);
    big[0] = '{';
    big[4998] = '}';
    big[4999] = '\0';
    assert_int_equal(http_req(f, "POST", "/schedule/jobs", NULL, big, &r), 413);
    assert_string_equal(jstr(r.json, "detail"), "request body exceeds 4096 bytes");
    resp_free(&r);
    /* Chunked: no Content-Length, the limit applies while reading. */
    char head[] = "POST /schedule/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    char *chunked = malloc(6000);
    int n = snprintf(chunked, 6000, "%x\r\n%s\r\n0\r\n\r\n", 4999, big);
    char *all = malloc(strlen(head) + (size_t)n + 1);
    strcpy(all, head);
    strcat(all, chunked);
    assert_int_equal(http_raw(f, all, NULL, 0, &r), 413);
    resp_free(&r);
    free(all);
    free(chunked);
    free(big);
    assert_int_equal(n_jobs(f), 0);
}

static void test_http_token_required_except_probes(void **state)
{
    struct fixture *f = *state;
    chime_http_stop(f->http);
    assert_int_equal(start_http(f, "s3cret", 0), 0);
    struct resp r;
    char buf[64];
    assert_int_equal(http_req(f, "GET", "/schedule/jobs", NULL, NULL, &r), 401);
    assert_string_equal(jstr(r.json, "detail"), "Not authenticated");
    assert_string_equal(header(&r, "WWW-Authenticate", buf, sizeof(buf)), "Bearer");
    resp_free(&r);
    assert_int_equal(
            http_req(f, "GET", "/schedule/jobs", "Authorization: Bearer s3cre\r\n", NULL, &r), 401);
    resp_free(&r);
    assert_int_equal(http_req(f, "POST", "/schedule/jobs", "Authorization: Bearer wrong!\r\n",
                              INTERVAL_BODY "}", &r),
                     401);
    resp_free(&r);
    assert_int_equal(n_jobs(f), 0);
    assert_int_equal(
            http_req(f, "GET", "/schedule/jobs", "Authorization: Bearer s3cret\r\n", NULL, &r),
            200);
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/healthz", NULL, NULL, &r), 200);
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/readyz", NULL, NULL, &r), 200);
    resp_free(&r);
}

static void test_http_pause_resume_delete(void **state)
{
    struct fixture *f = *state;
    char path[128], id[64];
    struct resp r;
    chime__strlcpy(id, add_job(f, INTERVAL_BODY ",\"id\":\"a\"}"), sizeof(id));
    add_job(f,
            "{\"func\":\"chime:noop\",\"trigger\":\"interval\",\"trigger_args\":{\"seconds\":60},"
            "\"id\":\"b\"}");
    snprintf(path, sizeof(path), "/schedule/jobs/%s/pause", id);
    assert_int_equal(http_req(f, "POST", path, NULL, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "status"), "paused");
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/schedule/jobs", NULL, NULL, &r), 200);
    assert_string_equal(jstr(json_array_get(r.json, 0), "id"), "b");
    assert_string_equal(jstr(json_array_get(r.json, 1), "id"), "a"); /* paused last */
    assert_true(json_is_null(json_object_get(json_array_get(r.json, 1), "next_run_time")));
    resp_free(&r);
    snprintf(path, sizeof(path), "/schedule/jobs/%s/resume", id);
    assert_int_equal(http_req(f, "POST", path, NULL, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "status"), "resumed");
    resp_free(&r);
    snprintf(path, sizeof(path), "/schedule/jobs/%s", id);
    assert_int_equal(http_req(f, "DELETE", path, NULL, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "status"), "deleted");
    resp_free(&r);
    assert_int_equal(n_jobs(f), 1);
}

static void test_http_patch(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    add_job(f, INTERVAL_BODY ",\"id\":\"p\"}");
    assert_int_equal(http_req(f, "PATCH", "/schedule/jobs/p", NULL, "{\"name\":\"renamed\"}", &r),
                     200);
    assert_string_equal(jstr(r.json, "name"), "renamed");
    resp_free(&r);
    assert_int_equal(http_req(f, "PATCH", "/schedule/jobs/p", NULL, "{\"bogus\":1}", &r), 400);
    resp_free(&r);
    assert_int_equal(http_req(f, "PATCH", "/schedule/jobs/p", NULL, "{", &r), 422);
    resp_free(&r);
}

/* A PATCH whose body has a structural error answers POST's 422 entry; the job is unchanged. */
static void expect_patch_422(struct fixture *f, const char *body, const char *loc1,
                             const char *type)
{
    struct resp r;
    assert_int_equal(http_req(f, "PATCH", "/schedule/jobs/p", NULL, body, &r), 422);
    json_t *detail = json_object_get(r.json, "detail");
    assert_int_equal(json_array_size(detail), 1);
    json_t *e = json_array_get(detail, 0);
    json_t *loc = json_object_get(e, "loc");
    assert_string_equal(json_string_value(json_array_get(loc, 0)), "body");
    if (loc1)
        assert_string_equal(json_string_value(json_array_get(loc, 1)), loc1);
    else
        assert_int_equal(json_array_size(loc), 1);
    assert_string_equal(jstr(e, "type"), type);
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/schedule/jobs/p", NULL, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "name"), "orig");
    assert_string_equal(jstr(r.json, "trigger"), "interval");
    resp_free(&r);
}

static void test_http_patch_structural_errors_are_422_as_post(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    add_job(f, INTERVAL_BODY ",\"id\":\"p\",\"name\":\"orig\"}");
    expect_patch_422(f, "{\"trigger_args\":[1]}", "trigger_args", "type_error.dict");
    expect_patch_422(f, "{\"trigger_args\":null}", "trigger_args", "type_error.none.not_allowed");
    expect_patch_422(f, "{\"trigger\":{}}", "trigger", "type_error.str");
    expect_patch_422(f, "{\"func\":[]}", "func", "type_error.str");
    expect_patch_422(f, "{\"name\":{\"a\":1}}", "name", "type_error.str");
    expect_patch_422(f, "[1]", NULL, "type_error.dict");
    /* The same entry as POST's for the same error. */
    assert_int_equal(http_req(f, "POST", "/schedule/jobs", NULL,
                              "{\"func\":\"chime:noop\",\"trigger\":\"interval\","
                              "\"trigger_args\":[1]}",
                              &r),
                     422);
    json_t *post = json_incref(r.json);
    resp_free(&r);
    assert_int_equal(http_req(f, "PATCH", "/schedule/jobs/p", NULL, "{\"trigger_args\":[1]}", &r),
                     422);
    assert_true(json_equal(post, r.json));
    json_decref(post);
    resp_free(&r);
    /* Every wrong field is reported, in model order, and checked before the job is looked up. */
    assert_int_equal(http_req(f, "PATCH", "/schedule/jobs/nope", NULL,
                              "{\"name\":[],\"trigger_args\":1}", &r),
                     422);
    json_t *detail = json_object_get(r.json, "detail");
    assert_int_equal(json_array_size(detail), 2);
    assert_string_equal(
            json_string_value(json_array_get(json_object_get(json_array_get(detail, 0), "loc"), 1)),
            "trigger_args");
    resp_free(&r);
    /* Numbers are coerced to a str field as on create; a null name resets it to the default. */
    assert_int_equal(http_req(f, "PATCH", "/schedule/jobs/p", NULL, "{\"name\":7}", &r), 200);
    assert_string_equal(jstr(r.json, "name"), "7");
    resp_free(&r);
    assert_int_equal(http_req(f, "PATCH", "/schedule/jobs/p", NULL, "{\"name\":null}", &r), 200);
    assert_string_equal(jstr(r.json, "name"), "noop");
    resp_free(&r);
    /* Semantic errors stay 400, as on create. */
    assert_int_equal(http_req(f, "PATCH", "/schedule/jobs/p", NULL, "{\"args\":{}}", &r), 400);
    resp_free(&r);
}

/* Walks the paged listing; returns the number of jobs seen, all distinct and in order. */
static size_t walk_pages(struct fixture *f, size_t limit, size_t *out_pages)
{
    char path[512], cursor[256] = "", link[512];
    size_t seen = 0;
    *out_pages = 0;
    for (;;) {
        struct resp r;
        snprintf(path, sizeof(path), "/schedule/jobs?limit=%zu%s%s", limit,
                 cursor[0] ? "&cursor=" : "", cursor);
        assert_int_equal(http_req(f, "GET", path, NULL, NULL, &r), 200);
        (*out_pages)++;
        assert_true(json_array_size(r.json) <= limit);
        for (size_t i = 0; i < json_array_size(r.json); i++) {
            char want[16];
            snprintf(want, sizeof(want), "j%02zu", seen++);
            assert_string_equal(jstr(json_array_get(r.json, i), "id"), want);
        }
        bool more = header(&r, "X-Next-Cursor", cursor, sizeof(cursor)) != NULL;
        if (more) {
            assert_non_null(header(&r, "Link", link, sizeof(link)));
            assert_non_null(strstr(link, cursor));
            assert_non_null(strstr(link, "rel=\"next\""));
        }
        resp_free(&r);
        if (!more)
            return seen;
    }
}

static void test_http_cursor_paging(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 7; i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"func\":\"chime:noop\",\"trigger\":\"interval\",\"trigger_args\":"
                 "{\"seconds\":%d},\"id\":\"j%02d\"}",
                 10 + i, i);
        add_job(f, body);
    }
    size_t pages;
    assert_int_equal(walk_pages(f, 3, &pages), 7);
    assert_int_equal(pages, 3);
    assert_int_equal(walk_pages(f, 7, &pages), 7);
    assert_int_equal(pages, 1);
    struct resp r;
    assert_int_equal(http_req(f, "GET", "/schedule/jobs?limit=0", NULL, NULL, &r), 400);
    assert_non_null(strstr(jstr(r.json, "detail"), "limit"));
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/schedule/jobs?limit=2&cursor=zzz!", NULL, NULL, &r), 400);
    assert_non_null(strstr(jstr(r.json, "detail"), "cursor"));
    resp_free(&r);
}

static void test_http_streamed_listing_of_many_jobs(void **state)
{
    struct fixture *f = *state;
    chime_utime now = T0;
    for (int i = 0; i < 600; i++) {
        struct chime_job job;
        struct chime_diag diag;
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"func\":\"chime:noop\",\"trigger\":\"interval\",\"trigger_args\":"
                 "{\"seconds\":%d},\"id\":\"s%03d\"}",
                 100 + i, i);
        json_t *j = json_loads(body, 0, NULL);
        assert_int_equal(chime_job_from_request(j, &f->defaults, now, &job, NULL, &diag), 0);
        assert_int_equal(chime_sched_add_job(f->sched, &job, false, &diag), 0);
        chime_job_release(&job);
        json_decref(j);
    }
    struct resp r;
    assert_int_equal(http_req(f, "GET", "/schedule/jobs", NULL, NULL, &r), 200);
    assert_non_null(r.json);
    assert_int_equal(json_array_size(r.json), 600);
    for (size_t i = 0; i < 600; i++) {
        char want[16];
        snprintf(want, sizeof(want), "s%03zu", i);
        assert_string_equal(jstr(json_array_get(r.json, i), "id"), want);
    }
    resp_free(&r);
}

static void test_http_preview(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    add_job(f, INTERVAL_BODY ",\"id\":\"pv\"}");
    assert_int_equal(http_req(f, "GET", "/schedule/jobs/pv/preview?count=3", NULL, NULL, &r), 200);
    json_t *fires = json_object_get(r.json, "fires");
    assert_int_equal(json_array_size(fires), 3);
    assert_string_equal(json_string_value(json_array_get(fires, 0)), "2026-01-01T00:00:30+00:00");
    assert_string_equal(json_string_value(json_array_get(fires, 2)), "2026-01-01T00:01:30+00:00");
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/schedule/jobs/pv/preview", NULL, NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "fires")), 5);
    resp_free(&r);
    /* Strictly after: a fire time equal to `after` is left out. */
    assert_int_equal(http_req(f, "GET",
                              "/schedule/jobs/pv/preview?count=1&after=2026-01-01T00:01:00Z", NULL,
                              NULL, &r),
                     200);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r.json, "fires"), 0)),
                        "2026-01-01T00:01:30+00:00");
    resp_free(&r);
    assert_int_equal(http_req(f, "GET",
                              "/schedule/jobs/pv/preview?count=1&after=2026-01-01T00:01:10Z", NULL,
                              NULL, &r),
                     200);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r.json, "fires"), 0)),
                        "2026-01-01T00:01:30+00:00");
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/schedule/jobs/pv/preview?count=0", NULL, NULL, &r), 400);
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/schedule/jobs/pv/preview?after=garbage", NULL, NULL, &r),
                     400);
    assert_non_null(strstr(jstr(r.json, "detail"), "after"));
    resp_free(&r);
}

static void test_http_run_now_and_runs(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    add_job(f, INTERVAL_BODY ",\"id\":\"rn\"}");
    int64_t ids[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(http_req(f, "POST", "/schedule/jobs/rn/run", NULL, NULL, &r), 202);
        assert_string_equal(jstr(r.json, "status"), "started");
        ids[i] = json_integer_value(json_object_get(r.json, "run_id"));
        assert_true(ids[i] > 0);
        resp_free(&r);
        chime_sched_drain(f->sched);
    }
    assert_int_equal(http_req(f, "GET", "/schedule/runs", NULL, NULL, &r), 200);
    json_t *runs = json_object_get(r.json, "runs");
    assert_int_equal(json_array_size(runs), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(runs, 0), "id")), ids[2]);
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    resp_free(&r);
    /* Paged by 2: the second page holds the oldest run. */
    assert_int_equal(http_req(f, "GET", "/schedule/jobs/rn/runs?limit=2", NULL, NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "runs")), 2);
    char path[256];
    snprintf(path, sizeof(path), "/schedule/jobs/rn/runs?limit=2&cursor=%s",
             jstr(r.json, "next_cursor"));
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", path, NULL, NULL, &r), 200);
    runs = json_object_get(r.json, "runs");
    assert_int_equal(json_array_size(runs), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(runs, 0), "id")), ids[0]);
    resp_free(&r);
    assert_int_equal(
            http_req(f, "GET", "/schedule/runs?status=succeeded&job_id=rn", NULL, NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "runs")), 3);
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/schedule/runs?status=failed", NULL, NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "runs")), 0);
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/schedule/runs?status=bogus", NULL, NULL, &r), 400);
    assert_non_null(strstr(jstr(r.json, "detail"), "status"));
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/schedule/runs?limit=1001", NULL, NULL, &r), 400);
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/schedule/runs?cursor=AAAA", NULL, NULL, &r), 400);
    resp_free(&r);
}

/* ---- hardening ---- */

/* Reads until needle arrives (true) or the peer closes / wait_ms pass (false). */
static bool recv_until(int fd, const char *needle, int wait_ms)
{
    char buf[8192];
    size_t len = 0;
    int64_t end = now_ms() + wait_ms;
    while (len + 1 < sizeof(buf) && now_ms() < end) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, (int)(end - now_ms())) != 1)
            break;
        ssize_t n = recv(fd, buf + len, sizeof(buf) - len - 1, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, needle))
            return true;
    }
    return false;
}

/* True when the server has closed fd (end of stream or reset). */
static bool peer_closed(int fd)
{
    char c;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, 0) != 1)
        return false;
    return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

static void test_http_dripped_headers_are_cut_at_request_timeout(void **state)
{
    struct fixture *f = *state;
    restart_http(f, 1);
    static const char drip[] =
            "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: zzzzzzzzzzzzzzzzzzzzzzzz"
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz";
    int fd = connect_to(chime_http_port(f->http));
    int64_t t0 = now_ms();
    bool closed = false;
    for (size_t i = 0; i < sizeof(drip) - 1 && !closed && now_ms() - t0 < 5000; i++) {
        closed = send(fd, drip + i, 1, MSG_NOSIGNAL) != 1 || peer_closed(fd);
        sleep_ms(100); /* each gap far below MHD's idle timeout */
    }
    int64_t took = now_ms() - t0;
    close(fd);
    assert_true(closed);
    assert_true(took >= 900);
    assert_true(took < 2600);
    struct resp r;
    assert_int_equal(http_req(f, "GET", "/healthz", NULL, NULL, &r), 200);
    resp_free(&r);
}

static void test_http_keep_alive_deadline_restarts_per_request(void **state)
{
    struct fixture *f = *state;
    restart_http(f, 1);
    int fd = connect_to(chime_http_port(f->http));
    for (int i = 0; i < 3; i++) { /* 1.8 s on one connection, each request in time */
        static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
        send_all(fd, req, sizeof(req) - 1);
        assert_true(recv_until(fd, "{\"status\":\"ok\"}", 2000));
        sleep_ms(600);
    }
    close(fd);
}

static void test_http_streamed_answer_outlives_request_timeout(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 300; i++)
        add_job(f, INTERVAL_BODY "}");
    restart_http(f, 1);
    int fd = connect_to(chime_http_port(f->http));
    static const char req[] = "GET /schedule/jobs HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(fd, req, sizeof(req) - 1);
    assert_true(recv_until(fd, "HTTP/1.1 200", 2000));
    sleep_ms(1500); /* the answer is being sent (or sent): never cut */
    size_t len;
    char *rest = read_all(fd, &len); /* up to the idle close after the last chunk */
    assert_non_null(strstr(rest, "0\r\n\r\n"));
    free(rest);
    close(fd);
}

static void test_http_framing_errors_are_400_and_close(void **state)
{
    struct fixture *f = *state;
    static const char *const heads[] = {
        "POST /schedule/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: "
        "64\r\n\r\n",
        "POST /schedule/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 64\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        "POST /schedule/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
        "GET /healthz HTTP/1.1\r\n\r\n",
    };
    static const char *const details[] = { "Content-Length", "Transfer-Encoding",
                                           "Transfer-Encoding", "Host", "Host" };
    const char *body = INTERVAL_BODY "}";
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        struct resp r;
        char buf[128];
        assert_int_equal(http_raw(f, heads[i], body, strlen(body), &r), 400);
        assert_non_null(strstr(jstr(r.json, "detail"), details[i]));
        assert_string_equal(header(&r, "Connection", buf, sizeof(buf)), "close");
        resp_free(&r);
    }
    assert_int_equal(n_jobs(f), 0);
    struct resp r; /* the same value twice is one length; HTTP/1.0 needs no Host */
    char head[256];
    snprintf(head, sizeof(head),
             "POST /schedule/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
             strlen(body), strlen(body));
    assert_int_equal(http_raw(f, head, body, strlen(body), &r), 200);
    resp_free(&r);
    assert_int_equal(http_raw(f, "GET /healthz HTTP/1.0\r\n\r\n", NULL, 0, &r), 200);
    resp_free(&r);
}

/* GET path (any length), Connection: close. */
static int http_get_long(struct fixture *f, const char *path, struct resp *r)
{
    size_t size = strlen(path) + 128;
    char *head = chime__malloc(size);
    assert_non_null(head);
    snprintf(head, size, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    int status = http_raw(f, head, NULL, 0, r);
    chime__free(head);
    return status;
}

static void test_http_too_many_query_parameters_are_414_at_once(void **state)
{
    struct fixture *f = *state;
    size_t cap = 3000 * 8 + 128;
    char *path = chime__malloc(cap);
    assert_non_null(path);
    size_t len = (size_t)snprintf(path, cap, "/schedule/jobs?limit=1");
    for (int i = 2; i <= 3000; i++)
        len += (size_t)snprintf(path + len, cap - len, "&limit=%d", i % 9 + 1);
    struct resp r;
    int64_t t0 = now_ms();
    assert_int_equal(http_get_long(f, path, &r), 414);
    assert_true(now_ms() - t0 < 1000);
    assert_non_null(strstr(jstr(r.json, "detail"), "query parameters"));
    resp_free(&r);
    path[strlen("/schedule/jobs?limit=1") + 63 * strlen("&limit=N")] = '\0'; /* 64: fine */
    assert_int_equal(http_get_long(f, path, &r), 200);
    resp_free(&r);
    memset(path, 'a', 9000); /* a long path, no query */
    memcpy(path, "/schedule/jobs/", 15);
    path[9000] = '\0';
    assert_int_equal(http_get_long(f, path, &r), 414);
    resp_free(&r);
    chime__free(path);
}

static void test_http_too_many_headers_are_431(void **state)
{
    struct fixture *f = *state;
    char *head = chime__malloc(64 * 1024);
    assert_non_null(head);
    size_t len = (size_t)sprintf(head, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 2000; i++)
        len += (size_t)sprintf(head + len, "A%d: b\r\n", i);
    memcpy(head + len, "\r\n", 3);
    struct resp r;
    assert_int_equal(http_raw(f, head, NULL, 0, &r), 431);
    resp_free(&r);
    chime__free(head);
}

static void test_http_trailing_slash_redirects(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    char buf[256];
    assert_int_equal(http_req(f, "GET", "/schedule/jobs/?limit=2&x=%2F", NULL, NULL, &r), 307);
    assert_string_equal(header(&r, "Location", buf, sizeof(buf)), "/schedule/jobs?limit=2&x=%2F");
    assert_null(header(&r, "Content-Type", buf, sizeof(buf)));
    resp_free(&r);
    assert_int_equal(http_req(f, "POST", "/schedule/jobs/a%20b/pause/", NULL, NULL, &r), 307);
    assert_string_equal(header(&r, "Location", buf, sizeof(buf)), "/schedule/jobs/a%20b/pause");
    resp_free(&r);
    assert_int_equal(http_req(f, "GET", "/healthz/", NULL, NULL, &r), 307);
    resp_free(&r);
    static const char *const not_found[] = { "/nope/", "/schedule/jobs//", "/ui/", "/schedule/" };
    for (size_t i = 0; i < sizeof(not_found) / sizeof(not_found[0]); i++) {
        assert_int_equal(http_req(f, "GET", not_found[i], NULL, NULL, &r), 404);
        assert_string_equal(jstr(r.json, "detail"), "Not Found");
        resp_free(&r);
    }
}

static void test_http_detail_cut_inside_a_character_is_still_400(void **state)
{
    struct fixture *f = *state;
    for (int odd = 0; odd < 2; odd++) { /* one of the two cuts the diag inside a 2-byte "é" */
        char body[1024];
        size_t len =
                (size_t)snprintf(body, sizeof(body),
                                 "{\"func\":\"chime:noop\",\"trigger\":\"cron\",\"trigger_args\":"
                                 "{\"minute\":\"*\",\"timezone\":\"Europe/%s",
                                 odd ? "x" : "");
        for (int i = 0; i < 300; i++)
            len += (size_t)snprintf(body + len, sizeof(body) - len, "\xc3\xa9");
        snprintf(body + len, sizeof(body) - len, "\"}}");
        struct resp r;
        assert_int_equal(http_req(f, "POST", "/schedule/jobs", NULL, body, &r), 400);
        assert_non_null(jstr(r.json, "detail"));
        resp_free(&r);
    }
    assert_int_equal(n_jobs(f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_http_probes_and_openapi),
        T(test_http_metrics_counts_requests_by_route),
        T(test_http_create_get_list),
        T(test_http_structural_errors_are_422),
        T(test_http_name_number_is_coerced),
        T(test_http_semantic_errors_are_400_and_store_nothing),
        T(test_http_duplicate_id_is_409),
        T(test_http_unknown_id_is_404),
        T(test_http_wrong_method_is_405_with_allow),
        T(test_http_big_body_is_413),
        T(test_http_token_required_except_probes),
        T(test_http_pause_resume_delete),
        T(test_http_patch),
        T(test_http_patch_structural_errors_are_422_as_post),
        T(test_http_cursor_paging),
        T(test_http_streamed_listing_of_many_jobs),
        T(test_http_preview),
        T(test_http_run_now_and_runs),
        T(test_http_dripped_headers_are_cut_at_request_timeout),
        T(test_http_keep_alive_deadline_restarts_per_request),
        T(test_http_streamed_answer_outlives_request_timeout),
        T(test_http_framing_errors_are_400_and_close),
        T(test_http_too_many_query_parameters_are_414_at_once),
        T(test_http_too_many_headers_are_431),
        T(test_http_trailing_slash_redirects),
        T(test_http_detail_cut_inside_a_character_is_still_400),
#undef T
    };
    chime__log_set_level(CHIME_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
