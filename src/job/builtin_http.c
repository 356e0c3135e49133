/*
 * chime:http, the webhook job function: url (required), method (POST),
 * headers, body (a string sent as is, any other JSON value sent as JSON),
 * timeout (30 s), expect_status (any 2xx). The kwargs are checked when the
 * job is created (a bad URL or scheme names kwargs.url) and again at each
 * run; the run's output is a JSON text {"status", "body_tail", "duration_ms"}
 * and its error says why a request failed. The HTTP work is src/exec/webhook.c.
 */
#include <stdlib.h>

#include "base/base.h"
#include "exec/webhook.h"
#include "job/registry_modules.h"

const struct chime_param chime__http_params[CHIME__HTTP_N_PARAMS] = {
    { "url", CHIME_PARAM_STRING, NULL },     { "method", CHIME_PARAM_STRING, "\"POST\"" },
    { "headers", CHIME_PARAM_OBJECT, "{}" }, { "body", CHIME_PARAM_ANY, "null" },
    { "timeout", CHIME_PARAM_NUMBER, "30" }, { "expect_status", CHIME_PARAM_ANY, "null" },
};

int chime__http_check(const json_t *bound, struct chime_diag *diag)
{
    struct chime_webhook_req req;
    return chime__webhook_parse(bound, &req, diag);
}

/* {"status": N|null, "body_tail": "...", "duration_ms": N}, chime__malloc'd. */
static char *result_json(const struct chime_webhook_result *res)
{
    json_t *o = json_pack("{s:o, s:s, s:I}", "status",
                          res->status ? json_integer(res->status) : json_null(), "body_tail",
                          res->body_tail ? res->body_tail : "", "duration_ms",
                          (json_int_t)res->duration_ms);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    char *copy = chime__strdup(text);
    free(text); /* jansson's allocator */
    json_decref(o);
    return copy;
}

void chime__http_run(const struct chime_call *call, struct chime_outcome *out)
{
    struct chime_webhook_req req;
    struct chime_webhook_result res;
    struct chime_diag diag;
    chime_diag_clear(&diag);
    out->ok = false;
    if (chime__webhook_parse(call->kwargs, &req, &diag) != 0) {
        out->error = chime__strdup(*diag.message ? diag.message : "chime:http: bad arguments");
        return;
    }
    /* The job's timeout bounds the exchange when it is shorter than kwargs.timeout. */
    if (call->timeout_ms > 0 && (double)call->timeout_ms / 1000.0 < req.timeout_s)
        req.timeout_s = (double)call->timeout_ms / 1000.0;
    int rc = chime__webhook_call(&req, &res);
    if (rc != 0) {
        out->error = chime__strdup(rc == CHIME_ENOMEM ? "chime:http: out of memory"
                                                      : "chime:http: libcurl is unusable");
        goto out_res;
    }
    out->ok = res.ok;
    out->http_status = (int)res.status;
    out->timed_out = res.timed_out;
    out->error = res.error;
    res.error = NULL;
    out->output = result_json(&res);
out_res:
    chime__webhook_result_release(&res);
}
