/*
 * Replies: every answer of the API is JSON, and every error is {"detail": ...}
 * (a string, or for request validation errors the list FastAPI 0.92 /
 * pydantic 1.10 produce). Library errors map to statuses in one place:
 * unknown -> 404, duplicate -> 409, invalid -> 400 with the diag's sentence,
 * and what the server cannot do right now -> 503 (never 500).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "base/base.h"
#include "http/http_internal.h"

void chime__http_reply_init(struct chime__http_reply *rep)
{
    *rep = (struct chime__http_reply){ .status = 200 };
}

void chime__http_reply_release(struct chime__http_reply *rep)
{
    json_decref(rep->json);
    rep->json = NULL;
    if (rep->stream_free && rep->stream_ctx)
        rep->stream_free(rep->stream_ctx);
    rep->stream = NULL;
    rep->stream_ctx = NULL;
    for (size_t i = 0; i < rep->n_headers; i++)
        chime__free(rep->header_values[i]);
    rep->n_headers = 0;
}

void chime__http_reply_json(struct chime__http_reply *rep, unsigned status, json_t *body)
{
    json_decref(rep->json);
    rep->json = body;
    rep->status = body ? status : 503;
}

/* Length of the valid UTF-8 sequence at s (as jansson checks it: no overlong
 * form, no surrogate, at most U+10FFFF), 0 when invalid. */
static size_t utf8_valid_len(const unsigned char *s)
{
    size_t n = s[0] < 0x80   ? 1
               : s[0] < 0xC2 ? 0
               : s[0] < 0xE0 ? 2
               : s[0] < 0xF0 ? 3
               : s[0] < 0xF5 ? 4
                             : 0;
    if (n < 2)
        return n;
    uint32_t cp = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Replaces every byte that does not start a valid UTF-8 sequence with '?':
 * a detail may quote client text, or be cut inside a character by a bounded
 * buffer (chime_diag, here), and jansson refuses invalid UTF-8. */
static void utf8_repair(char *text)
{
    unsigned char *s = (unsigned char *)text;
    while (*s) {
        size_t n = utf8_valid_len(s);
        if (n == 0) {
            *s++ = '?';
            continue;
        }
        s += n;
    }
}

void chime__http_reply_detail(struct chime__http_reply *rep, unsigned status, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    utf8_repair(buf);
    chime__http_reply_json(rep, status, json_pack("{s:s}", "detail", buf));
}

void chime__http_reply_status(struct chime__http_reply *rep, unsigned status, const char *text)
{
    chime__http_reply_json(rep, status, json_pack("{s:s}", "status", text));
}

static unsigned error_status(int err)
{
    switch (err) {
    case CHIME_ENOENT:
        return 404;
    case CHIME_EEXIST:
        return 409;
    case CHIME_EPERM:
        return 403;
    case CHIME_EINVAL:
    case CHIME_ENEVER:
    case CHIME_EFUNC:
    case CHIME_ERANGE:
        return 400;
    default:
        return 503;
    }
}

void chime__http_reply_error(struct chime__http_reply *rep, int err, const struct chime_diag *diag)
{
    unsigned status = error_status(err);
    if (status == 404) {
        chime__http_reply_detail(rep, 404, "Job not found");
        return;
    }
    if (diag && diag->message[0]) {
        chime__http_reply_detail(rep, status, "%s", diag->message);
        return;
    }
    chime__http_reply_detail(rep, status, "%s", chime_strerror(err));
}

int chime__http_reply_header(struct chime__http_reply *rep, const char *name, const char *value)
{
    if (rep->n_headers == CHIME__HTTP_MAX_HEADERS)
        return CHIME_ENOMEM;
    char *copy = chime__strdup(value);
    if (!copy)
        return CHIME_ENOMEM;
    rep->header_names[rep->n_headers] = name;
    rep->header_values[rep->n_headers++] = copy;
    return 0;
}

json_t *chime__http_error_entry(const char *loc_key, const char *msg, const char *type)
{
    json_t *loc = loc_key ? json_pack("[ss]", "body", loc_key) : json_pack("[s]", "body");
    if (!loc)
        return NULL;
    return json_pack("{s:o,s:s,s:s}", "loc", loc, "msg", msg, "type", type);
}

void chime__http_reply_422(struct chime__http_reply *rep, json_t *entries)
{
    if (!entries) {
        chime__http_reply_json(rep, 503, NULL);
        return;
    }
    chime__http_reply_json(rep, 422, json_pack("{s:o}", "detail", entries));
}
