/*
 * The route table: every endpoint of the API as (method, path pattern,
 * handler), in one place. A pattern segment "{id}" matches one non-empty path
 * segment, copied into req->id. A path that some route matches with another
 * method is 405 with an Allow header listing the methods it has; a path no
 * route matches is 404, both with FastAPI's details, except that a path with
 * one trailing slash too many is redirected (307) to the path without it.
 * The dashboard's static files (ui.c) are not API routes: they are looked up
 * after the table, so no API path can be shadowed by them.
 */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "http/http_internal.h"

struct route {
    unsigned method;
    const char *pattern;
    chime__http_handler_fn handler;
};

#define ROUTE_TABLE(X)                                              \
    X(GET, "/healthz", chime__http_healthz)                         \
    X(GET, "/readyz", chime__http_readyz)                           \
    X(GET, "/openapi.json", chime__http_openapi)                    \
    X(GET, "/metrics", chime__http_metrics)                         \
    X(POST, "/schedule/jobs", chime__http_jobs_create)              \
    X(GET, "/schedule/jobs", chime__http_jobs_list)                 \
    X(GET, "/schedule/jobs/{id}", chime__http_jobs_get)             \
    X(PATCH, "/schedule/jobs/{id}", chime__http_jobs_patch)         \
    X(DELETE, "/schedule/jobs/{id}", chime__http_jobs_delete)       \
    X(POST, "/schedule/jobs/{id}/pause", chime__http_jobs_pause)    \
    X(POST, "/schedule/jobs/{id}/resume", chime__http_jobs_resume)  \
    X(POST, "/schedule/jobs/{id}/run", chime__http_jobs_run)        \
    X(GET, "/schedule/jobs/{id}/runs", chime__http_job_runs)        \
    X(GET, "/schedule/jobs/{id}/preview", chime__http_jobs_preview) \
    X(GET, "/schedule/runs", chime__http_runs_list)                 \
    X(GET, "/schedule/nodes", chime__http_nodes_list)

static const struct route routes[] = {
#define ROUTE_ENTRY(m, p, h) { CHIME__HTTP_##m, p, h },
    ROUTE_TABLE(ROUTE_ENTRY)
#undef ROUTE_ENTRY
};

static const struct {
    const char *name;
    unsigned bit;
} method_names[] = {
#define METHOD_ENTRY(name, bit) { #name, 1u << (bit) },
    CHIME__HTTP_METHOD_MAP(METHOD_ENTRY)
#undef METHOD_ENTRY
};

unsigned chime__http_method_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++)
        if (strcmp(name, method_names[i].name) == 0)
            return method_names[i].bit;
    return 0;
}

/* Matches path against pattern; the {id} segment goes into id (size bytes). */
static bool route_match(const char *pattern, const char *path, char *id, size_t size)
{
    while (*pattern && *path) {
        if (strncmp(pattern, "{id}", 4) == 0) {
            size_t n = strcspn(path, "/");
            if (n == 0 || n >= size)
                return false;
            memcpy(id, path, n);
            id[n] = '\0';
            pattern += 4;
            path += n;
            continue;
        }
        if (*pattern++ != *path++)
            return false;
    }
    return *pattern == '\0' && *path == '\0';
}

bool chime__http_path_is_open(const char *path)
{
    return strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0 ||
           chime__http_ui_path(path);
}

static void reply_not_allowed(struct chime__http_reply *rep, unsigned allowed)
{
    char allow[64] = "";
    size_t len = 0;
    for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++) {
        if (!(allowed & method_names[i].bit))
            continue;
        int n = snprintf(allow + len, sizeof(allow) - len, "%s%s", len ? ", " : "",
                         method_names[i].name);
        if (n > 0 && (size_t)n < sizeof(allow) - len)
            len += (size_t)n;
    }
    chime__http_reply_detail(rep, 405, "Method Not Allowed");
    if (chime__http_reply_header(rep, "Allow", allow) < 0)
        chime__http_reply_detail(rep, 503, "out of memory");
}

/* The method bits of the routes that match path (any method). */
static unsigned path_methods(const char *path)
{
    unsigned methods = 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        char id[sizeof(((struct chime__http_req *)0)->id)];
        if (route_match(routes[i].pattern, path, id, sizeof(id)))
            methods |= routes[i].method;
    }
    return methods;
}

/*
 * APS-COMPAT: FastAPI (Starlette's redirect_slashes) answers a path that
 * matches no route but would without its trailing slash with 307 to that path,
 * query kept, for every method (307 keeps the method and body). The Location
 * is built from the target as the client sent it (still percent-encoded, so a
 * decoded CR/LF can never reach the header) and is relative (RFC 9110 10.2.2).
 */
static bool slash_redirect(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    char path[512];
    size_t len = strlen(req->path);
    if (!req->target || len < 2 || len >= sizeof(path) || req->path[len - 1] != '/')
        return false;
    memcpy(path, req->path, len - 1);
    path[len - 1] = '\0';
    size_t raw_len = strcspn(req->target, "?");
    if (!path_methods(path) || raw_len < 2 || req->target[raw_len - 1] != '/')
        return false;
    char *location = chime__malloc(strlen(req->target));
    if (!location) {
        chime__http_reply_detail(rep, 503, "out of memory");
        return true;
    }
    memcpy(location, req->target, raw_len - 1);
    memcpy(location + raw_len - 1, req->target + raw_len, strlen(req->target + raw_len) + 1);
    if (chime__http_reply_header(rep, "Location", location) < 0) {
        chime__http_reply_detail(rep, 503, "out of memory");
    } else {
        rep->status = 307; /* Starlette's RedirectResponse: no body */
        rep->text = "";
        rep->text_len = 0;
    }
    chime__free(location);
    return true;
}

void chime__http_route(struct chime__http_req *req, struct chime__http_reply *rep)
{
    unsigned allowed = 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        char id[sizeof(req->id)] = "";
        if (!route_match(routes[i].pattern, req->path, id, sizeof(id)))
            continue;
        if (routes[i].method != req->method) {
            allowed |= routes[i].method;
            continue;
        }
        memcpy(req->id, id, sizeof(id));
        routes[i].handler(req, rep);
        return;
    }
    if (allowed)
        reply_not_allowed(rep, allowed);
    else if (!chime__http_ui_route(req, rep) && !slash_redirect(req, rep))
        chime__http_reply_detail(rep, 404, "Not Found");
}

int chime__http_route_find(const char *path, unsigned method)
{
    int first = -1;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        char id[sizeof(((struct chime__http_req *)0)->id)];
        if (!route_match(routes[i].pattern, path, id, sizeof(id)))
            continue;
        if (routes[i].method == method)
            return (int)i;
        if (first < 0)
            first = (int)i;
    }
    return first;
}

const char *chime__http_route_pattern(int index)
{
    if (index < 0 || (size_t)index >= sizeof(routes) / sizeof(routes[0]))
        return NULL;
    return routes[index].pattern;
}
