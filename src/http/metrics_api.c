/*
 * GET /metrics: every metric in the Prometheus text exposition format
 * (text/plain; version=0.0.4), behind the API token like every route. The
 * run, store and executor families come from src/metrics; this file adds
 * the HTTP requests counted by the server, labelled by route template (never
 * the raw path, so the label set stays bounded), method and status code.
 * The text is built whole, then streamed out of its buffer.
 */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "config/settings.h"
#include "http/http_internal.h"
#include "metrics/chime_metrics.h"

static const char *const method_names[8] = {
#define METHOD_NAME(name, bit) [bit] = #name,
    CHIME__HTTP_METHOD_MAP(METHOD_NAME)
#undef METHOD_NAME
};

static void write_request(uint32_t key, uint64_t count, void *ctx)
{
    struct chime_expo *w = ctx;
    int index = (int)(key >> 16) - 2;
    const char *route = index == CHIME__HTTP_ROUTE_UI ? "dashboard"
                                                      : chime__http_route_pattern(index);
    const char *method = method_names[(key >> 10) & 7];
    char code[8];
    snprintf(code, sizeof(code), "%u", (unsigned)(key & 0x3ff));
    struct chime_label l[] = {
        { "route", route ? route : "unmatched" },
        { "method", method ? method : "other" },
        { "code", code },
    };
    chime_expo_sample_u64(w, "chime_http_requests_total", l, 3, count);
}

static void write_http(struct chime_expo *w, const struct chime_counter_set *requests)
{
    chime_expo_family(w, "chime_http_requests_total", CHIME_METRIC_COUNTER,
                      "HTTP requests answered, by route template (dashboard: its files; "
                      "unmatched: no route), method and status code.");
    chime_counter_set_visit(requests, write_request, w);
    chime_expo_family(w, "chime_http_requests_uncounted_total", CHIME_METRIC_COUNTER,
                      "HTTP requests answered but not counted by route (too many label sets).");
    chime_expo_sample_u64(w, "chime_http_requests_uncounted_total", NULL, 0,
                          atomic_load_explicit(&requests->overflow, memory_order_relaxed));
}

struct text_stream {
    char *buf;
    size_t len, pos;
};

static ssize_t text_read(void *ctx, char *buf, size_t max)
{
    struct text_stream *t = ctx;
    size_t n = t->len - t->pos < max ? t->len - t->pos : max;
    memcpy(buf, t->buf + t->pos, n);
    t->pos += n;
    return (ssize_t)n;
}

static void text_free(void *ctx)
{
    struct text_stream *t = ctx;
    chime__free(t->buf);
    chime__free(t);
}

void chime__http_metrics(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    const struct chime__http_env *env = req->env;
    struct chime_metrics_sources src = {
        .metrics = env->metrics,
        .sched = env->sched,
        .store = env->store,
        .version = CHIME_VERSION_STRING,
    };
    struct chime_expo w;
    chime_expo_init(&w);
    chime_metrics_write(&src, &w);
    if (env->requests)
        write_http(&w, env->requests);
    struct text_stream *t = chime_expo_error(&w) ? NULL : chime__malloc(sizeof(*t));
    if (!t) {
        chime_expo_release(&w);
        chime__http_reply_detail(rep, 503, "out of memory");
        return;
    }
    *t = (struct text_stream){ w.buf, w.len, 0 };
    rep->status = 200;
    rep->content_type = CHIME_EXPO_CONTENT_TYPE;
    rep->stream = text_read;
    rep->stream_ctx = t;
    rep->stream_free = text_free;
}
