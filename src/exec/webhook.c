/*
 * Webhook calls (chime:http): checks the request's JSON description, then
 * performs it with a libcurl easy handle of its own — no signals (the
 * executor's threads must not get SIGALRM from the resolver), only http and
 * https both for the URL and for redirects, at most five redirects, one
 * timeout for the whole exchange. The response body is streamed into a
 * buffer that keeps only its tail, so a huge answer costs bounded memory.
 */
#include "exec/webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"

static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" };

/* ---- checking the kwargs ---- */

static int url_check(const json_t *v, struct chime_webhook_req *out, struct chime_diag *diag)
{
    const char *url = json_string_value(v);
    if (!url || (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0))
        return chime_diag_set(diag, CHIME_EINVAL, "kwargs.url",
                              "kwargs.url must be an http:// or https:// URL");
    CURLU *u = curl_url();
    if (!u)
        return CHIME_ENOMEM;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    curl_url_cleanup(u);
    if (uc != CURLUE_OK || strlen(url) > 8192)
        return chime_diag_set(diag, CHIME_EINVAL, "kwargs.url",
                              "kwargs.url is not a valid URL: %.200s", url);
    out->url = url;
    return 0;
}

static int method_check(const json_t *v, struct chime_webhook_req *out, struct chime_diag *diag)
{
    const char *m = json_is_null(v) || !v ? "POST" : json_string_value(v);
    for (size_t i = 0; m && i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcasecmp(m, methods[i]) == 0) {
            chime__strlcpy(out->method, methods[i], sizeof(out->method));
            return 0;
        }
    }
    return chime_diag_set(diag, CHIME_EINVAL, "kwargs.method",
                          "kwargs.method must be one of GET, POST, PUT, PATCH, DELETE, HEAD");
}

static bool header_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s <= ' ' || *s == ':' || *s == 0x7f)
            return false;
    }
    return true;
}

static int headers_check(const json_t *v, struct chime_webhook_req *out, struct chime_diag *diag)
{
    const char *key;
    json_t *value;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return chime_diag_set(diag, CHIME_EINVAL, "kwargs.headers",
                              "kwargs.headers must be an object of strings");
    json_object_foreach ((json_t *)v, key, value) {
        const char *text = json_string_value(value);
        if (!header_name_ok(key))
            return chime_diag_set(diag, CHIME_EINVAL, "kwargs.headers",
                                  "kwargs.headers: '%.100s' is not a header name", key);
        if (!text || strpbrk(text, "\r\n") || strlen(text) != json_string_length(value))
            return chime_diag_set(diag, CHIME_EINVAL, "kwargs.headers",
                                  "kwargs.headers: the value of '%.100s' must be a string "
                                  "without line breaks",
                                  key);
    }
    out->headers = v;
    return 0;
}

static int expect_one(const json_t *v, struct chime_webhook_req *out, struct chime_diag *diag)
{
    json_int_t s = json_integer_value(v);
    if (!json_is_integer(v) || s < 100 || s > 599)
        return chime_diag_set(diag, CHIME_EINVAL, "kwargs.expect_status",
                              "kwargs.expect_status must be an HTTP status (100-599) or an "
                              "array of them");
    out->expect[out->n_expect++] = (int)s;
    return 0;
}

static int expect_check(const json_t *v, struct chime_webhook_req *out, struct chime_diag *diag)
{
    size_t i;
    json_t *item;
    out->n_expect = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return expect_one(v, out, diag);
    if (json_array_size(v) == 0 || json_array_size(v) > CHIME_WEBHOOK_MAX_EXPECT)
        return chime_diag_set(diag, CHIME_EINVAL, "kwargs.expect_status",
                              "kwargs.expect_status must list 1 to %d statuses",
                              CHIME_WEBHOOK_MAX_EXPECT);
    json_array_foreach (v, i, item) {
        int rc = expect_one(item, out, diag);
        if (rc)
            return rc;
    }
    return 0;
}

int chime__webhook_parse(const json_t *kwargs, struct chime_webhook_req *out,
                         struct chime_diag *diag)
{
    memset(out, 0, sizeof(*out));
    int rc = url_check(json_object_get(kwargs, "url"), out, diag);
    if (rc == 0)
        rc = method_check(json_object_get(kwargs, "method"), out, diag);
    if (rc == 0)
        rc = headers_check(json_object_get(kwargs, "headers"), out, diag);
    if (rc == 0)
        rc = expect_check(json_object_get(kwargs, "expect_status"), out, diag);
    if (rc)
        return rc;
    const json_t *timeout = json_object_get(kwargs, "timeout");
    out->timeout_s = timeout && !json_is_null(timeout) ? json_number_value(timeout) : 30.0;
    if (!(json_is_number(timeout) || !timeout || json_is_null(timeout)) ||
        !(out->timeout_s > 0 && out->timeout_s <= CHIME_WEBHOOK_TIMEOUT_MAX))
        return chime_diag_set(diag, CHIME_EINVAL, "kwargs.timeout",
                              "kwargs.timeout must be a number of seconds above 0 and at most "
                              "86400");
    const json_t *body = json_object_get(kwargs, "body");
    out->body = json_is_null(body) ? NULL : body;
    return 0;
}

/* ---- UTF-8 tails ---- */

char *chime__text_tail(const char *s, size_t len, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    if (len > max) {
        p += len - max;
        len = max;
        while (len && (*p & 0xc0) == 0x80) {
            p++;
            len--;
        }
    }
    char *out = chime__malloc(len * 3 + 1);
    if (out)
        chime__utf8_repair((const char *)p, len, true, out);
    return out;
}

/* ---- the call ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int chime__webhook_global_init(void)
{
    pthread_once(&curl_once, curl_init_once);
    return curl_init_rc == CURLE_OK ? 0 : CHIME_EIO;
}

/* The response body, keeping the last CHIME_WEBHOOK_TAIL_BYTES. */
struct tail_buf {
    char *data;
    size_t len;
    bool nomem;
};

static size_t tail_write(char *ptr, size_t size, size_t nmemb, void *ctx)
{
    struct tail_buf *t = ctx;
    size_t n = size * nmemb, keep = CHIME_WEBHOOK_TAIL_BYTES;
    if (!t->data && !(t->data = chime__malloc(2 * keep))) {
        t->nomem = true;
        return 0;
    }
    if (n >= keep) {
        memcpy(t->data, ptr + n - keep, keep);
        t->len = keep;
        return n;
    }
    if (t->len + n > 2 * keep) {
        memmove(t->data, t->data + t->len - (keep - n), keep - n);
        t->len = keep - n;
    }
    memcpy(t->data + t->len, ptr, n);
    t->len += n;
    return n;
}

/* The header list: the caller's, plus JSON's content type and no Expect. */
static int headers_build(const struct chime_webhook_req *req, struct curl_slist **out)
{
    bool has_type = false;
    const char *key;
    json_t *value;
    char line[8192];
    struct curl_slist *list = curl_slist_append(NULL, "Expect:");
    json_object_foreach ((json_t *)req->headers, key, value) {
        const char *text = json_string_value(value);
        has_type = has_type || strcasecmp(key, "content-type") == 0;
        /* "Name;" sends an empty header; "Name:" would remove it. */
        if (*text)
            snprintf(line, sizeof(line), "%s: %s", key, text);
        else
            snprintf(line, sizeof(line), "%s;", key);
        struct curl_slist *next = list ? curl_slist_append(list, line) : NULL;
        if (!next)
            goto out_nomem;
        list = next;
    }
    if (req->body && !json_is_string(req->body) && !has_type) {
        struct curl_slist *next =
                list ? curl_slist_append(list, "Content-Type: application/json") : NULL;
        if (!next)
            goto out_nomem;
        list = next;
    }
    *out = list;
    return list ? 0 : CHIME_ENOMEM;
out_nomem:
    curl_slist_free_all(list);
    return CHIME_ENOMEM;
}

/* The body text (a string as is, other JSON compact); NULL body = none. */
static int body_text(const struct chime_webhook_req *req, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!req->body)
        return 0;
    if (json_is_string(req->body)) {
        *out_len = json_string_length(req->body);
        *out = chime__malloc(*out_len + 1);
        if (*out)
            memcpy(*out, json_string_value(req->body), *out_len + 1);
    } else {
        char *text = json_dumps(req->body, JSON_COMPACT | JSON_ENCODE_ANY);
        *out = chime__strdup(text);
        *out_len = *out ? strlen(*out) : 0;
        free(text); /* jansson's allocator */
    }
    return *out ? 0 : CHIME_ENOMEM;
}

static void method_set(CURL *h, const char *method, const char *body, size_t body_len)
{
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_NOBODY, method[0] == 'H' ? 1L : 0L);
    } else {
        /* POST semantics for the body; the verb itself for PUT/PATCH/DELETE. */
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
}

static void options_set(CURL *h, const struct chime_webhook_req *req, struct tail_buf *tail,
                        char *errbuf)
{
    long timeout_ms = (long)(req->timeout_s * 1000.0);
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)CHIME_WEBHOOK_MAX_REDIRS);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the string forms */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(h, CURLOPT_USERAGENT, "chime-webhook/1");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, tail_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, tail);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
}

static bool status_expected(const struct chime_webhook_req *req, long status)
{
    if (req->n_expect == 0)
        return status >= 200 && status <= 299;
    for (size_t i = 0; i < req->n_expect; i++) {
        if (req->expect[i] == status)
            return true;
    }
    return false;
}

/* "2xx" or "200, 204". */
static void expected_format(const struct chime_webhook_req *req, char *buf, size_t size)
{
    size_t used = 0;
    if (req->n_expect == 0) {
        chime__strlcpy(buf, "2xx", size);
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < req->n_expect && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%d", i ? ", " : "", req->expect[i]);
        used += n > 0 ? (size_t)n : 0;
    }
}

static char *error_format(const struct chime_webhook_req *req, CURLcode cc, long os_errno,
                          const char *errbuf)
{
    char text[512];
    const char *why = *errbuf ? errbuf : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        snprintf(text, sizeof(text), "%s: %s",
                 os_errno == ECONNREFUSED ? "connection refused" : "cannot connect", why);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(text, sizeof(text), "timed out after %g s", req->timeout_s);
        break;
    case CURLE_TOO_MANY_REDIRECTS:
        snprintf(text, sizeof(text), "too many redirects (more than %d)", CHIME_WEBHOOK_MAX_REDIRS);
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(text, sizeof(text), "cannot resolve host: %s", why);
        break;
    default:
        snprintf(text, sizeof(text), "request failed: %s", why);
        break;
    }
    return chime__strdup(text);
}

static int result_fill(CURL *h, const struct chime_webhook_req *req, CURLcode cc,
                       const char *errbuf, struct chime_webhook_result *out)
{
    long os_errno = 0;
    curl_off_t total_us = 0;
    char expected[256], text[320];
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total_us);
    out->duration_ms = (int64_t)total_us / 1000;
    if (cc != CURLE_OK) {
        out->timed_out = cc == CURLE_OPERATION_TIMEDOUT;
        out->error = error_format(req, cc, os_errno, errbuf);
        return out->error ? 0 : CHIME_ENOMEM;
    }
    out->ok = status_expected(req, out->status);
    if (out->ok)
        return 0;
    expected_format(req, expected, sizeof(expected));
    snprintf(text, sizeof(text), "HTTP %ld (expected %s)", out->status, expected);
    out->error = chime__strdup(text);
    return out->error ? 0 : CHIME_ENOMEM;
}

int chime__webhook_call(const struct chime_webhook_req *req, struct chime_webhook_result *out)
{
    struct tail_buf tail = { NULL, 0, false };
    struct curl_slist *headers = NULL;
    char errbuf[CURL_ERROR_SIZE] = "", *body = NULL;
    size_t body_len;
    memset(out, 0, sizeof(*out));
    if (chime__webhook_global_init() != 0)
        return CHIME_EIO;
    CURL *h = curl_easy_init();
    if (!h)
        return CHIME_EIO;
    int rc = headers_build(req, &headers);
    if (rc == 0)
        rc = body_text(req, &body, &body_len);
    if (rc)
        goto out_handle;
    options_set(h, req, &tail, errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    method_set(h, req->method, body, body_len);
    CURLcode cc = curl_easy_perform(h);
    rc = tail.nomem ? CHIME_ENOMEM : result_fill(h, req, cc, errbuf, out);
    if (rc == 0 && !(out->body_tail = chime__text_tail(tail.data ? tail.data : "", tail.len,
                                                       CHIME_WEBHOOK_TAIL_BYTES)))
        rc = CHIME_ENOMEM;
out_handle:
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    chime__free(body);
    chime__free(tail.data);
    return rc;
}

void chime__webhook_result_release(struct chime_webhook_result *res)
{
    if (!res)
        return;
    chime__free(res->body_tail);
    chime__free(res->error);
    res->body_tail = NULL;
    res->error = NULL;
}
