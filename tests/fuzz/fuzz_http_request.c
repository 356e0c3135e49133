/*
 * libFuzzer target for the POST /schedule/jobs handler without sockets:
 * arbitrary bytes as the request body (the first byte picks the
 * Content-Type) through the whole handler (JSON decoding with Python's
 * error positions, the pydantic model check, chime_job_from_request and the
 * scheduler's add). It must never crash and never answer 5xx; every answer
 * is a JSON object with a "detail" unless it is the 200 job. Fuzz targets
 * link libchime only, so the handler's MHD-free sources are compiled in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/http/body.c"
#include "../../src/http/jobs_api.c"
#include "../../src/http/json_check.c"
#include "../../src/http/model.c"
#include "../../src/http/reply.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct chime_job_defaults defaults;
static struct chime_store *store;
static struct chime_sched *sched;
static struct chime__http_env env;

static void fuzz_setup(void)
{
    struct chime_diag diag;
    chime__log_set_level(CHIME_LOG_OFF);
    defaults = (struct chime_job_defaults){ true, 60, 1, chime_zone_utc() };
    if (chime_store_open("memory://", &defaults, &store, &diag) < 0)
        abort();
    struct chime_sched_config config = { .defaults = defaults, .max_workers = 1, .store = store };
    if (chime_sched_new(&config, &sched) < 0)
        abort();
    env = (struct chime__http_env){
        .sched = sched, .store = store, .defaults = &defaults, .max_body = 1 << 20
    };
}

static void check_reply(const struct chime__http_reply *rep)
{
    if (rep->status >= 500 || !json_is_object(rep->json))
        abort();
    if (rep->status == 200) {
        const char *id = json_string_value(json_object_get(rep->json, "id"));
        if (!id || chime_sched_remove_job(sched, id) != 0)
            abort(); /* an accepted job was stored; keep the store small */
        return;
    }
    if (rep->status != 400 && rep->status != 409 && rep->status != 422)
        abort();
    if (!json_object_get(rep->json, "detail"))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = { "application/json", NULL, "text/plain",
                                         "application/vnd.x+json; charset=utf-8" };
    if (!sched)
        fuzz_setup();
    if (size == 0)
        return 0;
    char *body = malloc(size);
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    struct chime__http_req req = { .env = &env,
                                   .method = CHIME__HTTP_POST,
                                   .path = "/schedule/jobs",
                                   .content_type = types[data[0] % 4],
                                   .body = size > 1 ? body : NULL,
                                   .body_len = size - 1 };
    struct chime__http_reply rep;
    chime__http_reply_init(&rep);
    chime__http_jobs_create(&req, &rep);
    check_reply(&rep);
    chime__http_reply_release(&rep);
    free(body);
    return 0;
}
