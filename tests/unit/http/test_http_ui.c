/*
 * Unit tests of the dashboard's static files (src/http/ui.c), through the
 * router without sockets: "/" is index.html, every embedded file has its
 * content type, ETag and security headers, If-None-Match gives a 304 without
 * a body, only GET and HEAD are allowed, unknown files and trailing slashes are
 * the router's 404, and the UI paths are the only new ones open without the
 * token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "http/http_internal.h"

static const char *reply_header(const struct chime__http_reply *rep, const char *name)
{
    for (size_t i = 0; i < rep->n_headers; i++)
        if (strcmp(rep->header_names[i], name) == 0)
            return rep->header_values[i];
    return NULL;
}

static void route(unsigned method, const char *path, const char *if_none_match,
                  struct chime__http_reply *rep)
{
    struct chime__http_req req = {
        .method = method, .path = path, .target = path, .if_none_match = if_none_match
    };
    chime__http_reply_init(rep);
    chime__http_route(&req, rep);
}

static const char *detail(const struct chime__http_reply *rep)
{
    return json_string_value(json_object_get(rep->json, "detail"));
}

static void test_ui_root_is_index_html(void **state)
{
    (void)state;
    struct chime__http_reply rep;
    route(CHIME__HTTP_GET, "/", NULL, &rep);
    assert_int_equal(rep.status, 200);
    assert_string_equal(rep.content_type, "text/html; charset=utf-8");
    assert_non_null(strstr(rep.text, "<!doctype html>"));
    assert_int_equal(rep.text_len, strlen(rep.text));
    assert_non_null(strstr(reply_header(&rep, "Content-Security-Policy"), "script-src 'self'"));
    assert_null(strstr(reply_header(&rep, "Content-Security-Policy"), "unsafe"));
    assert_string_equal(reply_header(&rep, "Cache-Control"), "no-cache");
    assert_string_equal(reply_header(&rep, "X-Content-Type-Options"), "nosniff");
    chime__http_reply_release(&rep);
}

static void test_ui_every_asset_has_type_and_etag(void **state)
{
    (void)state;
    size_t n = 0;
    for (const struct chime__ui_asset *a = chime__ui_assets; a->path; a++, n++) {
        struct chime__http_reply rep;
        route(CHIME__HTTP_GET, a->path, NULL, &rep);
        assert_int_equal(rep.status, 200);
        assert_ptr_equal(rep.text, a->data);
        assert_int_equal(rep.text_len, a->len);
        assert_string_equal(rep.content_type, a->type);
        assert_string_equal(reply_header(&rep, "ETag"), a->etag);
        assert_int_equal(strlen(a->etag), 18); /* 16 hex digits, quoted */
        assert_true(chime__http_path_is_open(a->path));
        chime__http_reply_release(&rep);
    }
    assert_true(n >= 4); /* index.html, app.css, app.js and its modules */
}

static void test_ui_if_none_match_is_304_without_body(void **state)
{
    (void)state;
    const struct chime__ui_asset *a = &chime__ui_assets[0];
    char list[64], weak[32];
    snprintf(list, sizeof(list), "\"0123456789abcdef\", %s", a->etag);
    snprintf(weak, sizeof(weak), "W/%s", a->etag);
    const char *matching[] = { a->etag, list, weak, "*" };
    for (size_t i = 0; i < sizeof(matching) / sizeof(matching[0]); i++) {
        struct chime__http_reply rep;
        route(CHIME__HTTP_GET, a->path, matching[i], &rep);
        assert_int_equal(rep.status, 304);
        assert_int_equal(rep.text_len, 0);
        assert_null(rep.content_type);
        assert_string_equal(reply_header(&rep, "ETag"), a->etag);
        chime__http_reply_release(&rep);
    }
    char prefix[32]; /* our tag with one more digit is another tag */
    snprintf(prefix, sizeof(prefix), "%.*s0\"", (int)strlen(a->etag) - 1, a->etag);
    const char *other[] = { "\"0123456789abcdef\"", prefix, "" };
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        struct chime__http_reply rep;
        route(CHIME__HTTP_GET, a->path, other[i], &rep);
        assert_int_equal(rep.status, 200);
        assert_int_equal(rep.text_len, a->len);
        chime__http_reply_release(&rep);
    }
}

static void test_ui_head_is_served_other_methods_are_405(void **state)
{
    (void)state;
    struct chime__http_reply rep;
    route(CHIME__HTTP_HEAD, "/ui/app.js", NULL, &rep);
    assert_int_equal(rep.status, 200);
    assert_string_equal(rep.content_type, "text/javascript; charset=utf-8");
    chime__http_reply_release(&rep);
    const unsigned methods[] = { CHIME__HTTP_POST, CHIME__HTTP_PUT, CHIME__HTTP_PATCH,
                                 CHIME__HTTP_DELETE };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        route(methods[i], "/", NULL, &rep);
        assert_int_equal(rep.status, 405);
        assert_string_equal(detail(&rep), "Method Not Allowed");
        assert_string_equal(reply_header(&rep, "Allow"), "GET, HEAD");
        chime__http_reply_release(&rep);
    }
}

static void test_ui_unknown_files_are_404_and_not_open(void **state)
{
    (void)state;
    const char *paths[] = { "/ui/nope.js", "/ui/",        "/ui",
                            "/ui/app.js/", "/index.html", "/ui/../ui/app.js" };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct chime__http_reply rep;
        route(CHIME__HTTP_GET, paths[i], NULL, &rep);
        assert_int_equal(rep.status, 404);
        assert_string_equal(detail(&rep), "Not Found");
        assert_false(chime__http_path_is_open(paths[i]));
        chime__http_reply_release(&rep);
    }
    assert_false(chime__http_path_is_open("/schedule/jobs"));
    assert_false(chime__http_path_is_open("/openapi.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ui_root_is_index_html),
        cmocka_unit_test(test_ui_every_asset_has_type_and_etag),
        cmocka_unit_test(test_ui_if_none_match_is_304_without_body),
        cmocka_unit_test(test_ui_head_is_served_other_methods_are_405),
        cmocka_unit_test(test_ui_unknown_files_are_404_and_not_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
