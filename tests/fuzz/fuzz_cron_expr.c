/*
 * libFuzzer target: arbitrary bytes as one cron field expression, tried in
 * every APScheduler cron field and as a crontab line. Parsing must never
 * crash; an accepted spec must give strictly increasing fire times.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trigger/trigger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void try_spec(const char *key, const char *expr)
{
    const chime_utime now = 1780000000LL * CHIME_USEC_PER_SEC;
    struct chime_trigger *trig = NULL;
    struct chime_diag diag;
    json_t *args = json_pack("{s:s}", key, expr);
    if (!args)
        return; /* not UTF-8 */
    if (chime_trigger_parse("cron", args, chime_zone_utc(), now, &trig, &diag) == 0) {
        chime_utime t = chime_trigger_next_exact(trig, CHIME_UTIME_NONE, now);
        for (int i = 0; i < 5 && t != CHIME_UTIME_NONE; i++) {
            chime_utime next = chime_trigger_next_exact(trig, t, t);
            if (next != CHIME_UTIME_NONE && next <= t)
                abort();
            t = next;
        }
        chime_trigger_unref(trig);
    } else if (diag.field[0] == '\0' || !strstr(diag.message, "trigger_args")) {
        abort(); /* every refusal names its field */
    }
    json_decref(args);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = { "year", "month",  "day",    "week",   "day_of_week",
                                        "hour", "minute", "second", "crontab" };
    if (size > 256)
        return 0;
    char expr[257];
    memcpy(expr, data, size);
    expr[size] = '\0';
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        try_spec(keys[i], expr);
    return 0;
}
