/*
 * Reading a request body as FastAPI 0.92 does before validating it: an empty
 * body is a missing body; a body whose Content-Type is absent or
 * application/json (or application/<x>+json) is decoded as JSON, with
 * Python's decoder errors (json_check.c); any other Content-Type leaves the
 * body as bytes, which the model rejects as "value is not a valid dict".
 * APS-COMPAT: the answers are the reference service's 422 shapes verbatim
 * (the ctx of a content-type error is chime's, naming the type).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "http/http_internal.h"

/* True when the media type is absent, application/json or application/<x>+json. */
static bool content_type_is_json(const char *ct)
{
    if (!ct)
        return true;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "application/", 12) != 0)
        return false;
    const char *sub = ct + 12;
    size_t n = strcspn(sub, "; \t");
    if (n == 4 && strncasecmp(sub, "json", 4) == 0)
        return true;
    return n >= 5 && strncasecmp(sub + n - 5, "+json", 5) == 0;
}

static void reply_not_dict(struct chime__http_reply *rep, const char *ct)
{
    json_t *entry = chime__http_error_entry(NULL, "value is not a valid dict", "type_error.dict");
    if (entry && ct && json_object_set_new(entry, "ctx", json_pack("{s:s}", "content_type", ct)))
        json_decref(entry), entry = NULL;
    chime__http_reply_422(rep, entry ? json_pack("[o]", entry) : NULL);
}

/* The document as Python saw it; "" when it is not UTF-8 (it then failed at 0). */
static json_t *doc_string(const struct chime__http_req *req)
{
    json_t *doc = json_stringn(req->body, req->body_len);
    return doc ? doc : json_string("");
}

static void reply_decode_error(const struct chime__http_req *req, struct chime__http_reply *rep,
                               const struct chime__json_error *e)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "%s: line %zu column %zu (char %zu)", e->msg, e->line, e->col,
             e->pos);
    json_t *entry = json_pack(
            "{s:[s,I],s:s,s:s,s:{s:s,s:o,s:I,s:I,s:I}}", "loc", "body", (json_int_t)e->pos, "msg",
            msg, "type", "value_error.jsondecode", "ctx", "msg", e->msg, "doc", doc_string(req),
            "pos", (json_int_t)e->pos, "lineno", (json_int_t)e->line, "colno", (json_int_t)e->col);
    chime__http_reply_422(rep, entry ? json_pack("[o]", entry) : NULL);
}

/* Python accepted it but jansson did not (a huge number, NaN, a NUL in a string). */
static void reply_jansson_error(struct chime__http_reply *rep, const json_error_t *err)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "%s: line %d column %d (char %d)", err->text, err->line, err->column,
             err->position);
    json_t *entry = json_pack("{s:[s,i],s:s,s:s}", "loc", "body", err->position, "msg", msg, "type",
                              "value_error.jsondecode");
    chime__http_reply_422(rep, entry ? json_pack("[o]", entry) : NULL);
}

json_t *chime__http_body_object(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    if (!req->body || req->body_len == 0) {
        chime__http_reply_422(rep,
                              json_pack("[o]", chime__http_error_entry(NULL, "field required",
                                                                       "value_error.missing")));
        return NULL;
    }
    if (!content_type_is_json(req->content_type)) {
        reply_not_dict(rep, req->content_type);
        return NULL;
    }
    struct chime__json_error jerr;
    if (!chime__json_check(req->body, req->body_len, &jerr)) {
        reply_decode_error(req, rep, &jerr);
        return NULL;
    }
    json_error_t err;
    json_t *body = json_loadb(req->body, req->body_len, JSON_DECODE_ANY, &err);
    if (!body) {
        reply_jansson_error(rep, &err);
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        reply_not_dict(rep, NULL);
        return NULL;
    }
    return body;
}
