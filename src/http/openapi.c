/*
 * GET /openapi.json: the OpenAPI 3.1 document of the API, embedded in the
 * binary as text (openapi_doc.c) and served as is.
 */
#include <string.h>

#include "http/http_internal.h"

void chime__http_openapi(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    (void)req;
    rep->status = 200;
    rep->text = chime__openapi_json;
    rep->text_len = strlen(chime__openapi_json);
}
