/*
 * GET /openapi.json: the OpenAPI 3.1 document of the API, served as is. The
 * document is src/http/openapi.json, embedded in the binary at build time as
 * the string chime__openapi_json (cmake/embed.cmake, see CMakeLists.txt).
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
