/*
 * chimectl's HTTP client (see chimectl_http.h): libcurl easy requests against
 * the chimed base URL. One handle is reused so `jobs list` paging keeps its
 * connection; every request is reset and bounded by CHIMECTL_TIMEOUT_S.
 */
#include "cli/chimectl_http.h"

#include "base/base.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CURSOR_HEADER "X-Next-Cursor:"

int chimectl_http_open(struct chimectl_http *http, const char *base_url, const char *token)
{
    memset(http, 0, sizeof(*http));
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        goto out_fail;
    http->curl = curl_easy_init();
    if (!http->curl) {
        curl_global_cleanup();
        goto out_fail;
    }
    http->base_url = base_url;
    http->token = token;
    return 0;
out_fail:
    fprintf(stderr, "chimectl: cannot initialise libcurl\n");
    return -1;
}

void chimectl_http_close(struct chimectl_http *http)
{
    if (!http->curl)
        return;
    curl_easy_cleanup(http->curl);
    curl_global_cleanup();
    http->curl = NULL;
}

void chimectl_reply_release(struct chimectl_reply *reply)
{
    chime__free(reply->body);
    chime__free(reply->next_cursor);
    memset(reply, 0, sizeof(*reply));
}

char *chimectl_http_escape(const char *s)
{
    char *escaped = curl_easy_escape(NULL, s, 0);
    char *copy = chime__strdup(escaped);
    curl_free(escaped);
    return copy;
}

struct sink {
    struct chimectl_reply *reply;
    size_t cap;
    int failed;
};

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    struct sink *sink = userdata;
    struct chimectl_reply *r = sink->reply;
    size_t len = size * n;
    if (chime__grow((void **)&r->body, &sink->cap, r->len + len + 1, 1) != 0) {
        sink->failed = 1;
        return 0;
    }
    memcpy(r->body + r->len, data, len);
    r->len += len;
    r->body[r->len] = '\0';
    return len;
}

/* Keeps the X-Next-Cursor header (the last one wins), trimmed. */
static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
    struct sink *sink = userdata;
    size_t len = size * n, skip = strlen(CURSOR_HEADER);
    if (len <= skip || strncasecmp(data, CURSOR_HEADER, skip) != 0)
        return len;
    while (skip < len && (data[skip] == ' ' || data[skip] == '\t'))
        skip++;
    size_t end = len;
    while (end > skip && strchr(" \t\r\n", data[end - 1]))
        end--;
    chime__free(sink->reply->next_cursor);
    sink->reply->next_cursor = end > skip ? chime__strndup(data + skip, end - skip) : NULL;
    return len;
}

static char *url_join(const char *base, const char *path)
{
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    size_t size = blen + strlen(path) + 1;
    char *url = chime__malloc(size);
    if (url)
        snprintf(url, size, "%.*s%s", (int)blen, base, path);
    return url;
}

static struct curl_slist *request_headers(const struct chimectl_http *http, const char *body)
{
    struct curl_slist *list = curl_slist_append(NULL, "Accept: application/json");
    /* No body: no Content-Type either (curl would send a form type for a bare POST). */
    if (list)
        list = curl_slist_append(list, body ? "Content-Type: application/json" : "Content-Type:");
    if (list && http->token && *http->token) {
        size_t size = strlen(http->token) + sizeof("Authorization: Bearer ");
        char *line = chime__malloc(size);
        if (!line)
            goto out_list;
        snprintf(line, size, "Authorization: Bearer %s", http->token);
        struct curl_slist *more = curl_slist_append(list, line);
        chime__free(line);
        if (!more)
            goto out_list;
        list = more;
    }
    return list;
out_list:
    curl_slist_free_all(list);
    return NULL;
}

static void setup(CURL *curl, const char *method, const char *url, const char *body,
                  struct sink *sink, char *errbuf)
{
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, CHIMECTL_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, CHIMECTL_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, sink);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (strcmp(method, "POST") != 0)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body || strcmp(method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
    }
}

static void report(CURLcode rc, const char *url, const char *errbuf)
{
    const char *why = *errbuf ? errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
        fprintf(stderr,
                "chimectl: cannot connect to chimed at %s: %s\n"
                "(is chimed running? set the server with --url or CHIME_URL)\n",
                url, why);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        fprintf(stderr, "chimectl: no answer from %s within %ld s\n", url, CHIMECTL_TIMEOUT_S);
    else
        fprintf(stderr, "chimectl: request to %s failed: %s\n", url, why);
}

int chimectl_http_request(struct chimectl_http *http, const char *method, const char *path,
                          const char *body, struct chimectl_reply *out)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct sink sink = { out, 0, 0 };
    int ret = -1;
    memset(out, 0, sizeof(*out));
    char *url = url_join(http->base_url, path);
    struct curl_slist *headers = url ? request_headers(http, body) : NULL;
    if (!headers) {
        fprintf(stderr, "chimectl: out of memory\n");
        goto out_url;
    }
    setup(http->curl, method, url, body, &sink, errbuf);
    curl_easy_setopt(http->curl, CURLOPT_HTTPHEADER, headers);
    CURLcode rc = curl_easy_perform(http->curl);
    if (rc != CURLE_OK || sink.failed) {
        if (sink.failed)
            fprintf(stderr, "chimectl: out of memory reading the reply from %s\n", url);
        else
            report(rc, http->base_url, errbuf);
        chimectl_reply_release(out);
        goto out_headers;
    }
    curl_easy_getinfo(http->curl, CURLINFO_RESPONSE_CODE, &out->status);
    if (!out->body)
        out->body = chime__calloc(1, 1);
    ret = out->body ? 0 : -1;
    if (ret != 0)
        fprintf(stderr, "chimectl: out of memory\n");
out_headers:
    curl_slist_free_all(headers);
out_url:
    chime__free(url);
    return ret;
}
