/*
 * The dashboard: the static files of ui/ (HTML, CSS, JavaScript), embedded in
 * chimed at build time (cmake/embed_ui.cmake), served at GET / (index.html)
 * and GET /ui/<file>. They are not API routes and not in the OpenAPI
 * document; they need no token (they hold no data: the page asks for the
 * token and sends it with its API calls). Each answer has its content type, a
 * strong ETag (304 on a matching If-None-Match), Cache-Control: no-cache (a
 * browser revalidates, so a new chimed's files are seen at once) and a strict
 * Content-Security-Policy: scripts, styles, images and API calls from this
 * origin only, no inline script or style, no framing.
 */
#include <string.h>

#include "http/http_internal.h"

#define UI_CSP                                                                  \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const struct {
    const char *name;
    const char *value;
} ui_headers[] = {
    { "Cache-Control", "no-cache" },         { "Content-Security-Policy", UI_CSP },
    { "X-Content-Type-Options", "nosniff" }, { "Referrer-Policy", "no-referrer" },
    { "X-Frame-Options", "DENY" },
};

/* The asset served at path ("/" is index.html); NULL when none. */
static const struct chime__ui_asset *asset_find(const char *path)
{
    if (strcmp(path, "/") == 0)
        path = "/ui/index.html";
    for (const struct chime__ui_asset *a = chime__ui_assets; a->path; a++)
        if (strcmp(a->path, path) == 0)
            return a;
    return NULL;
}

bool chime__http_ui_path(const char *path)
{
    return asset_find(path) != NULL;
}

/* RFC 9110 13.1.2: "*" or a list of entity tags, one of which is ours (weak
 * comparison: a W/ prefix is ignored). */
static bool etag_matches(const char *if_none_match, const char *etag)
{
    if (!if_none_match)
        return false;
    if (strcmp(if_none_match, "*") == 0)
        return true;
    size_t n = strlen(etag);
    for (const char *p = strstr(if_none_match, etag); p; p = strstr(p + 1, etag)) {
        bool starts = p == if_none_match || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/';
        bool ends = p[n] == '\0' || p[n] == ',' || p[n] == ' ';
        if (starts && ends)
            return true;
    }
    return false;
}

static bool add_headers(struct chime__http_reply *rep, const struct chime__ui_asset *a)
{
    if (chime__http_reply_header(rep, "ETag", a->etag) < 0)
        return false;
    for (size_t i = 0; i < sizeof(ui_headers) / sizeof(ui_headers[0]); i++)
        if (chime__http_reply_header(rep, ui_headers[i].name, ui_headers[i].value) < 0)
            return false;
    return true;
}

bool chime__http_ui_route(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    const struct chime__ui_asset *a = asset_find(req->path);
    if (!a)
        return false;
    if (req->method != CHIME__HTTP_GET && req->method != CHIME__HTTP_HEAD) {
        chime__http_reply_detail(rep, 405, "Method Not Allowed");
        if (chime__http_reply_header(rep, "Allow", "GET, HEAD") < 0)
            chime__http_reply_detail(rep, 503, "out of memory");
        return true;
    }
    if (!add_headers(rep, a)) {
        chime__http_reply_detail(rep, 503, "out of memory");
        return true;
    }
    json_decref(rep->json);
    rep->json = NULL;
    if (etag_matches(req->if_none_match, a->etag)) {
        rep->status = 304;
        rep->text = "";
        rep->text_len = 0;
        return true;
    }
    rep->status = 200;
    rep->text = a->data;
    rep->text_len = a->len;
    rep->content_type = a->type;
    return true;
}
