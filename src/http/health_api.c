/*
 * Probes: GET /healthz answers while the process serves at all; GET /readyz
 * asks the daemon's readiness callback (store open, scheduler running, not
 * shutting down) and answers 503 with the reason when not ready. Both stay
 * open when a token is configured, for load balancers and orchestrators.
 */
#include "http/http_internal.h"

void chime__http_healthz(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    (void)req;
    chime__http_reply_status(rep, 200, "ok");
}

void chime__http_readyz(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    const char *detail = NULL;
    const struct chime__http_env *env = req->env;
    if (!env->ready || env->ready(env->ready_ctx, &detail)) {
        chime__http_reply_status(rep, 200, "ready");
        return;
    }
    chime__http_reply_json(
            rep, 503,
            json_pack("{s:s,s:s}", "status", "not ready", "detail", detail ? detail : "not ready"));
}
