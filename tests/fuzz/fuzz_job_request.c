/*
 * libFuzzer target for the job request parser: arbitrary bytes as an API
 * body through chime_job_from_request; an accepted job must render to the
 * API form and survive the stored round trip (to_stored -> from_stored)
 * unchanged.
 */
#include <stdint.h>
#include <stdlib.h>

#include "base/base.h"
#include "job/job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1795884735767717LL /* 2026-11-28T16:52:15.767717Z */

static void round_trip(const struct chime_job *job, const struct chime_job_defaults *defaults)
{
    json_t *api = chime_job_to_json(job);
    if (!api)
        abort();
    json_decref(api);
    json_t *stored = chime_job_to_stored(job);
    if (!stored)
        abort();
    struct chime_job back;
    struct chime_diag diag;
    if (chime_job_from_stored(stored, defaults, &back, &diag) != 0)
        abort(); /* an accepted job must load back */
    if (!chime_job_equal(job, &back))
        abort();
    chime_job_release(&back);
    json_decref(stored);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chime_job_defaults defaults = { true, 60, 1, chime_zone_utc() };
    chime__log_set_level(CHIME_LOG_OFF);
    json_t *body = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!body)
        return 0;
    struct chime_job job;
    struct chime_diag diag;
    bool replace = false;
    if (chime_job_from_request(body, &defaults, NOW, &job, &replace, &diag) == 0) {
        round_trip(&job, &defaults);
        chime_job_release(&job);
    }
    json_decref(body);
    return 0;
}
