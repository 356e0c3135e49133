/*
 * Tests of chime:http (src/exec/webhook.c, src/job/builtin_http.c) against a
 * real HTTP endpoint: a small server on 127.0.0.1 in a thread of this test,
 * which records what it received (method, path, headers, body) and answers
 * by path — 200, 503, a redirect chain, a redirect to file://, a huge body,
 * invalid UTF-8, an answer that never comes (timeout) — plus a closed port
 * for a refused connection. Also the creation-time checks of the kwargs.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "exec/webhook.h"
#include "job/registry.h"

/* ---- the test server ---- */

struct server {
    int fd;
    int port;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t mu;
    int n_requests;
    char method[16];
    char path[256];
    char headers[8192];
    char body[8192];
    size_t body_len;
};

static struct server srv;

/* Reads the request head and body; 0 or -1. */
static int request_read(int c, char *buf, size_t cap, size_t *out_head, size_t *out_len)
{
    size_t len = 0;
    char *end = NULL;
    while (!end && len + 1 < cap) {
        ssize_t n = recv(c, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end)
        return -1;
    size_t head = (size_t)(end - buf) + 4, want = 0;
    const char *cl = strcasestr(buf, "\r\ncontent-length:");
    if (cl && cl < end)
        want = strtoul(cl + 17, NULL, 10);
    while (len < head + want && len + 1 < cap) {
        ssize_t n = recv(c, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
    }
    *out_head = head;
    *out_len = len;
    return 0;
}

static void request_record(const char *buf, size_t head, size_t len)
{
    pthread_mutex_lock(&srv.mu);
    srv.n_requests++;
    sscanf(buf, "%15s %255s", srv.method, srv.path);
    size_t hl = head < sizeof(srv.headers) ? head : sizeof(srv.headers) - 1;
    memcpy(srv.headers, buf, hl);
    srv.headers[hl] = '\0';
    srv.body_len = len - head < sizeof(srv.body) - 1 ? len - head : sizeof(srv.body) - 1;
    memcpy(srv.body, buf + head, srv.body_len);
    srv.body[srv.body_len] = '\0';
    pthread_mutex_unlock(&srv.mu);
}

static void reply(int c, int status, const char *extra, const char *body, size_t body_len)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d Test\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                     status, body_len, extra);
    send(c, head, (size_t)n, MSG_NOSIGNAL);
    size_t sent = 0;
    while (sent < body_len) {
        ssize_t k = send(c, body + sent, body_len - sent, MSG_NOSIGNAL);
        if (k <= 0)
            break;
        sent += (size_t)k;
    }
}

/* Waits until the client hangs up (it timed out), at most 10 s. */
static void never_answer(int c)
{
    struct pollfd p = { c, POLLIN, 0 };
    char b[256];
    for (int i = 0; i < 100 && poll(&p, 1, 100) >= 0; i++) {
        if ((p.revents & (POLLIN | POLLHUP)) && recv(c, b, sizeof(b), 0) <= 0)
            return;
    }
}

static void big_reply(int c)
{
    size_t n = 200000;
    char *body = malloc(n);
    memset(body, 'A', n);
    memcpy(body + n - 7, "THE-END", 7);
    reply(c, 200, "", body, n);
    free(body);
}

static void answer(int c, const char *path, const char *body, size_t body_len)
{
    char loc[128];
    int hops;
    if (strcmp(path, "/ok") == 0)
        reply(c, 200, "", "hello from the test", 19);
    else if (strcmp(path, "/created") == 0)
        reply(c, 201, "", "made", 4);
    else if (strcmp(path, "/status/503") == 0)
        reply(c, 503, "", "down for maintenance", 20);
    else if (strcmp(path, "/echo") == 0)
        reply(c, 200, "", body, body_len);
    else if (strcmp(path, "/slow") == 0)
        never_answer(c);
    else if (sscanf(path, "/redir/%d", &hops) == 1 && hops > 0) {
        snprintf(loc, sizeof(loc), "Location: /redir/%d\r\n", hops - 1);
        reply(c, 302, loc, "", 0);
    } else if (strcmp(path, "/redir/0") == 0)
        reply(c, 200, "", "landed", 6);
    else if (strcmp(path, "/to-file") == 0)
        reply(c, 302, "Location: file:///etc/passwd\r\n", "", 0);
    else if (strcmp(path, "/big") == 0)
        big_reply(c);
    else if (strcmp(path, "/binary") == 0)
        reply(c, 200, "", "ok \xff\xfe bytes \xc3", 13);
    else
        reply(c, 404, "", "no such path", 12);
}

static void *server_main(void *arg)
{
    (void)arg;
    static char buf[1 << 16];
    while (!atomic_load(&srv.stop)) {
        struct pollfd p = { srv.fd, POLLIN, 0 };
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(srv.fd, NULL, NULL);
        size_t head, len;
        if (c < 0)
            continue;
        if (request_read(c, buf, sizeof(buf), &head, &len) == 0) {
            request_record(buf, head, len);
            char method[16], path[256];
            sscanf(buf, "%15s %255s", method, path);
            answer(c, path, buf + head, len - head);
        }
        close(c);
    }
    return NULL;
}

static int listen_any(int *out_port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    socklen_t alen = sizeof(a);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0)
        return -1;
    getsockname(fd, (struct sockaddr *)&a, &alen);
    *out_port = ntohs(a.sin_port);
    return fd;
}

static int server_setup(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof(srv));
    pthread_mutex_init(&srv.mu, NULL);
    srv.fd = listen_any(&srv.port);
    if (srv.fd < 0 || pthread_create(&srv.thread, NULL, server_main, NULL) != 0)
        return -1;
    return chime__webhook_global_init();
}

static int server_teardown(void **state)
{
    (void)state;
    atomic_store(&srv.stop, 1);
    pthread_join(srv.thread, NULL);
    close(srv.fd);
    pthread_mutex_destroy(&srv.mu);
    return 0;
}

/* ---- helpers ---- */

/* kwargs text with every "%d" replaced by the server port. */
static json_t *kwargs_new(const char *fmt)
{
    char text[2048];
    size_t o = 0;
    for (const char *p = fmt; *p && o + 8 < sizeof(text); p++) {
        if (p[0] == '%' && p[1] == 'd') {
            o += (size_t)snprintf(text + o, sizeof(text) - o, "%d", srv.port);
            p++;
        } else {
            text[o++] = *p;
        }
    }
    text[o] = '\0';
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    assert_non_null(v);
    return v;
}

/* Binds kwargs text for chime:http and runs it; returns the parsed output. */
static json_t *http_run(const char *fmt, struct chime_outcome *out)
{
    const struct chime_func *fn;
    struct chime_diag diag;
    json_t *bound = NULL, *kwargs = kwargs_new(fmt), *args = json_array();
    assert_int_equal(chime_registry_find("chime:http", &fn, &diag), 0);
    assert_int_equal(chime_registry_bind(fn, args, kwargs, &bound, &diag), 0);
    struct chime_call call = { "job1", "job one", "chime:http", 7, 0, 1, args, bound, 0, NULL };
    memset(out, 0, sizeof(*out));
    fn->fn(&call, out);
    json_decref(bound);
    json_decref(kwargs);
    json_decref(args);
    if (!out->output)
        return NULL;
    json_t *o = json_loads(out->output, 0, NULL);
    assert_non_null(o);
    return o;
}

static long out_status(const json_t *o)
{
    const json_t *s = json_object_get(o, "status");
    return json_is_integer(s) ? (long)json_integer_value(s) : -1;
}

static const char *out_tail(const json_t *o)
{
    return json_string_value(json_object_get(o, "body_tail"));
}

/* ---- kwargs checks ---- */

static void expect_bind_error(const char *kwargs, const char *field)
{
    const struct chime_func *fn;
    struct chime_diag diag;
    chime_diag_clear(&diag);
    json_t *k = json_loads(kwargs, 0, NULL);
    assert_non_null(k);
    assert_int_equal(chime_registry_find("chime:http", &fn, &diag), 0);
    assert_int_equal(chime_registry_bind(fn, NULL, k, NULL, &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, field);
    assert_non_null(strstr(diag.message, field));
    json_decref(k);
}

static void test_http_bind_refuses_non_http_urls_naming_kwargs_url(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"url\": \"ftp://example.com/x\"}", "{\"url\": \"file:///etc/passwd\"}",
        "{\"url\": \"example.com\"}",         "{\"url\": \"\"}",
        "{\"url\": \"gopher://h/\"}",         "{\"url\": \"http://exa mple.com/\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_bind_error(bad[i], "kwargs.url");
}

static void test_http_bind_checks_method_headers_timeout_expect(void **state)
{
    (void)state;
    expect_bind_error("{\"url\": \"http://h/\", \"method\": \"TRACE\"}", "kwargs.method");
    expect_bind_error("{\"url\": \"http://h/\", \"headers\": {\"X-A\": \"a\\r\\nX-B: b\"}}",
                      "kwargs.headers");
    expect_bind_error("{\"url\": \"http://h/\", \"headers\": {\"X A\": \"a\"}}", "kwargs.headers");
    expect_bind_error("{\"url\": \"http://h/\", \"headers\": {\"X-A\": 3}}", "kwargs.headers");
    expect_bind_error("{\"url\": \"http://h/\", \"timeout\": 0}", "kwargs.timeout");
    expect_bind_error("{\"url\": \"http://h/\", \"timeout\": -1.5}", "kwargs.timeout");
    expect_bind_error("{\"url\": \"http://h/\", \"expect_status\": 99}", "kwargs.expect_status");
    expect_bind_error("{\"url\": \"http://h/\", \"expect_status\": \"200\"}",
                      "kwargs.expect_status");
    expect_bind_error("{\"url\": \"http://h/\", \"expect_status\": []}", "kwargs.expect_status");
    expect_bind_error("{\"url\": \"http://h/\", \"expect_status\": [200, 600]}",
                      "kwargs.expect_status");
}

static void test_http_bind_requires_url_and_fills_defaults(void **state)
{
    (void)state;
    const struct chime_func *fn;
    struct chime_diag diag;
    json_t *bound = NULL, *k = json_pack("{s:s}", "url", "HTTPS://example.com/hook");
    assert_int_equal(chime_registry_find("chime:http", &fn, &diag), 0);
    json_t *empty = json_object();
    assert_int_equal(chime_registry_bind(fn, NULL, empty, NULL, &diag), CHIME_EINVAL);
    json_decref(empty);
    assert_int_equal(chime_registry_bind(fn, NULL, k, &bound, &diag), 0);
    struct chime_webhook_req req;
    assert_int_equal(chime__webhook_parse(bound, &req, &diag), 0);
    assert_string_equal(req.method, "POST");
    assert_true(req.timeout_s == 30.0);
    assert_int_equal(req.n_expect, 0);
    assert_null(req.body);
    json_decref(bound);
    json_decref(k);
}

/* ---- calls ---- */

static void test_http_post_json_body_and_headers_reach_the_server(void **state)
{
    (void)state;
    struct chime_outcome out;
    json_t *o = http_run("{\"url\": \"http://127.0.0.1:%d/ok\", \"headers\": {\"X-Token\": "
                         "\"abc 123\"}, \"body\": {\"a\": 1, \"b\": [true]}}",
                         &out);
    assert_true(out.ok);
    assert_null(out.error);
    assert_int_equal(out_status(o), 200);
    assert_string_equal(out_tail(o), "hello from the test");
    assert_true(json_integer_value(json_object_get(o, "duration_ms")) >= 0);
    pthread_mutex_lock(&srv.mu);
    assert_string_equal(srv.method, "POST");
    assert_string_equal(srv.path, "/ok");
    assert_string_equal(srv.body, "{\"a\":1,\"b\":[true]}");
    assert_non_null(strcasestr(srv.headers, "\r\nX-Token: abc 123\r\n"));
    assert_non_null(strcasestr(srv.headers, "\r\nContent-Type: application/json\r\n"));
    pthread_mutex_unlock(&srv.mu);
    json_decref(o);
    chime_outcome_release(&out);
}

static void test_http_string_body_sent_as_is_with_given_content_type(void **state)
{
    (void)state;
    struct chime_outcome out;
    json_t *o =
            http_run("{\"url\": \"http://127.0.0.1:%d/echo\", \"method\": \"put\", "
                     "\"headers\": {\"content-type\": \"text/plain\"}, \"body\": \"raw {text}\"}",
                     &out);
    assert_true(out.ok);
    assert_string_equal(out_tail(o), "raw {text}");
    pthread_mutex_lock(&srv.mu);
    assert_string_equal(srv.method, "PUT");
    assert_string_equal(srv.body, "raw {text}");
    assert_non_null(strcasestr(srv.headers, "\r\ncontent-type: text/plain\r\n"));
    assert_null(strcasestr(srv.headers, "application/json"));
    pthread_mutex_unlock(&srv.mu);
    json_decref(o);
    chime_outcome_release(&out);
}

static void test_http_methods_get_patch_delete_head(void **state)
{
    (void)state;
    static const char *const methods[] = { "GET", "PATCH", "DELETE", "HEAD" };
    for (size_t i = 0; i < 4; i++) {
        char fmt[256];
        struct chime_outcome out;
        snprintf(fmt, sizeof(fmt), "{\"url\": \"http://127.0.0.1:%%d/ok\", \"method\": \"%s\"}",
                 methods[i]);
        json_t *o = http_run(fmt, &out);
        assert_true(out.ok);
        assert_int_equal(out_status(o), 200);
        pthread_mutex_lock(&srv.mu);
        assert_string_equal(srv.method, methods[i]);
        assert_int_equal(srv.body_len, 0);
        pthread_mutex_unlock(&srv.mu);
        /* HEAD reads no body. */
        assert_string_equal(out_tail(o), i == 3 ? "" : "hello from the test");
        json_decref(o);
        chime_outcome_release(&out);
    }
}

static void test_http_503_fails_with_status_unless_expected(void **state)
{
    (void)state;
    struct chime_outcome out;
    json_t *o = http_run("{\"url\": \"http://127.0.0.1:%d/status/503\"}", &out);
    assert_false(out.ok);
    assert_string_equal(out.error, "HTTP 503 (expected 2xx)");
    assert_int_equal(out_status(o), 503);
    assert_string_equal(out_tail(o), "down for maintenance");
    json_decref(o);
    chime_outcome_release(&out);

    o = http_run("{\"url\": \"http://127.0.0.1:%d/status/503\", \"expect_status\": [200, 503]}",
                 &out);
    assert_true(out.ok);
    assert_null(out.error);
    json_decref(o);
    chime_outcome_release(&out);

    o = http_run("{\"url\": \"http://127.0.0.1:%d/created\", \"expect_status\": 200}", &out);
    assert_false(out.ok);
    assert_string_equal(out.error, "HTTP 201 (expected 200)");
    json_decref(o);
    chime_outcome_release(&out);
}

static void test_http_timeout_reports_timed_out(void **state)
{
    (void)state;
    struct chime_outcome out;
    json_t *o = http_run("{\"url\": \"http://127.0.0.1:%d/slow\", \"timeout\": 0.5}", &out);
    assert_false(out.ok);
    assert_string_equal(out.error, "timed out after 0.5 s");
    assert_true(json_is_null(json_object_get(o, "status")));
    json_int_t ms = json_integer_value(json_object_get(o, "duration_ms"));
    assert_true(ms >= 400 && ms < 5000);
    json_decref(o);
    chime_outcome_release(&out);
}

static void test_http_follows_redirects_up_to_five(void **state)
{
    (void)state;
    struct chime_outcome out;
    pthread_mutex_lock(&srv.mu);
    int before = srv.n_requests;
    pthread_mutex_unlock(&srv.mu);
    json_t *o = http_run("{\"url\": \"http://127.0.0.1:%d/redir/5\", \"method\": \"GET\"}", &out);
    assert_true(out.ok);
    assert_int_equal(out_status(o), 200);
    assert_string_equal(out_tail(o), "landed");
    pthread_mutex_lock(&srv.mu);
    assert_int_equal(srv.n_requests - before, 6);
    assert_string_equal(srv.path, "/redir/0");
    pthread_mutex_unlock(&srv.mu);
    json_decref(o);
    chime_outcome_release(&out);

    o = http_run("{\"url\": \"http://127.0.0.1:%d/redir/6\", \"method\": \"GET\"}", &out);
    assert_false(out.ok);
    assert_string_equal(out.error, "too many redirects (more than 5)");
    json_decref(o);
    chime_outcome_release(&out);
}

static void test_http_redirect_to_file_scheme_refused(void **state)
{
    (void)state;
    struct chime_outcome out;
    json_t *o = http_run("{\"url\": \"http://127.0.0.1:%d/to-file\", \"method\": \"GET\"}", &out);
    assert_false(out.ok);
    assert_non_null(out.error);
    assert_null(strstr(out_tail(o), "root:"));
    json_decref(o);
    chime_outcome_release(&out);
}

static void test_http_connection_refused_on_closed_port(void **state)
{
    (void)state;
    int port, fd = listen_any(&port);
    assert_true(fd >= 0);
    close(fd);
    char fmt[128];
    snprintf(fmt, sizeof(fmt), "{\"url\": \"http://127.0.0.1:%d/x\"}", port);
    struct chime_outcome out;
    json_t *o = http_run(fmt, &out);
    assert_false(out.ok);
    assert_non_null(out.error);
    assert_memory_equal(out.error, "connection refused: ", 20);
    assert_true(json_is_null(json_object_get(o, "status")));
    json_decref(o);
    chime_outcome_release(&out);
}

static void test_http_keeps_last_64k_of_a_huge_body(void **state)
{
    (void)state;
    struct chime_outcome out;
    json_t *o = http_run("{\"url\": \"http://127.0.0.1:%d/big\", \"method\": \"GET\"}", &out);
    assert_true(out.ok);
    const char *tail = out_tail(o);
    assert_int_equal(strlen(tail), CHIME_WEBHOOK_TAIL_BYTES);
    assert_string_equal(tail + CHIME_WEBHOOK_TAIL_BYTES - 7, "THE-END");
    json_decref(o);
    chime_outcome_release(&out);
}

static void test_http_invalid_utf8_body_becomes_replacement_chars(void **state)
{
    (void)state;
    struct chime_outcome out;
    json_t *o = http_run("{\"url\": \"http://127.0.0.1:%d/binary\", \"method\": \"GET\"}", &out);
    assert_true(out.ok);
    assert_string_equal(out_tail(o), "ok \xef\xbf\xbd\xef\xbf\xbd bytes \xef\xbf\xbd");
    json_decref(o);
    chime_outcome_release(&out);
}

static void *concurrent_main(void *arg)
{
    int *fails = arg;
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", srv.port);
    json_t *k = json_pack("{s:s, s:s}", "url", url, "method", "GET");
    for (int i = 0; i < 5; i++) {
        struct chime_webhook_req req;
        struct chime_webhook_result res;
        if (chime__webhook_parse(k, &req, NULL) != 0 || chime__webhook_call(&req, &res) != 0 ||
            !res.ok || res.status != 200)
            (*fails)++;
        chime__webhook_result_release(&res);
    }
    json_decref(k);
    return NULL;
}

static void test_http_calls_from_several_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    int fails[4] = { 0 };
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, concurrent_main, &fails[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(fails[i], 0);
    }
}

static void test_http_call_survives_allocation_failures(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", srv.port);
    json_t *k = json_pack("{s:s, s:{s:i}}", "url", url, "body", "a", 1);
    struct chime_webhook_req req;
    assert_int_equal(chime__webhook_parse(k, &req, NULL), 0);
    int n_nomem = 0;
    for (long n = 1; n <= 8; n++) {
        struct chime_webhook_result res;
        chime_alloc_fail_after(n);
        int rc = chime__webhook_call(&req, &res);
        chime_alloc_fail_after(0);
        assert_true(rc == 0 || rc == CHIME_ENOMEM);
        if (rc == 0)
            assert_true(res.ok);
        n_nomem += rc == CHIME_ENOMEM;
        chime__webhook_result_release(&res);
    }
    assert_true(n_nomem >= 2);
    json_decref(k);
}

static void test_text_tail_never_splits_a_character(void **state)
{
    (void)state;
    /* "é" is 2 bytes: keeping 3 bytes of "aéé" must drop the split first char. */
    char *t = chime__text_tail("a\xc3\xa9\xc3\xa9", 5, 3);
    assert_string_equal(t, "\xc3\xa9");
    chime__free(t);
    t = chime__text_tail("abc", 3, 10);
    assert_string_equal(t, "abc");
    chime__free(t);
    t = chime__text_tail("a\0b\xed\xa0\x80", 6, 100); /* NUL and a surrogate */
    assert_string_equal(t, "a\xef\xbf\xbd"
                           "b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    chime__free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_bind_refuses_non_http_urls_naming_kwargs_url),
        cmocka_unit_test(test_http_bind_checks_method_headers_timeout_expect),
        cmocka_unit_test(test_http_bind_requires_url_and_fills_defaults),
        cmocka_unit_test(test_http_post_json_body_and_headers_reach_the_server),
        cmocka_unit_test(test_http_string_body_sent_as_is_with_given_content_type),
        cmocka_unit_test(test_http_methods_get_patch_delete_head),
        cmocka_unit_test(test_http_503_fails_with_status_unless_expected),
        cmocka_unit_test(test_http_timeout_reports_timed_out),
        cmocka_unit_test(test_http_follows_redirects_up_to_five),
        cmocka_unit_test(test_http_redirect_to_file_scheme_refused),
        cmocka_unit_test(test_http_connection_refused_on_closed_port),
        cmocka_unit_test(test_http_keeps_last_64k_of_a_huge_body),
        cmocka_unit_test(test_http_invalid_utf8_body_becomes_replacement_chars),
        cmocka_unit_test(test_http_calls_from_several_threads),
        cmocka_unit_test(test_http_call_survives_allocation_failures),
        cmocka_unit_test(test_text_tail_never_splits_a_character),
    };
    return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
