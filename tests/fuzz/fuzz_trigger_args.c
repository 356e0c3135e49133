/*
 * libFuzzer target: arbitrary bytes as the JSON trigger args of each trigger
 * kind. Parsing must never crash or leak; when it succeeds, the next fire
 * times must be strictly increasing and the normalized args must parse again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trigger/trigger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_sequence(const struct chime_trigger *trig, chime_utime now)
{
    chime_utime prev = CHIME_UTIME_NONE;
    chime_utime t = chime_trigger_next_exact(trig, CHIME_UTIME_NONE, now);
    for (int i = 0; i < 8 && t != CHIME_UTIME_NONE; i++) {
        if (prev != CHIME_UTIME_NONE && t <= prev)
            abort();
        prev = t;
        t = chime_trigger_next_exact(trig, t, t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const kinds[] = { "cron", "interval", "date" };
    const chime_utime now = 1780000000LL * CHIME_USEC_PER_SEC;
    json_t *args = json_loadb((const char *)data, size, 0, NULL);
    if (!json_is_object(args)) {
        json_decref(args);
        return 0;
    }
    for (size_t k = 0; k < 3; k++) {
        struct chime_trigger *trig = NULL, *again = NULL;
        struct chime_diag diag;
        if (chime_trigger_parse(kinds[k], args, chime_zone_utc(), now, &trig, &diag) != 0)
            continue;
        check_sequence(trig, now);
        json_t *norm = chime_trigger_args_json(trig);
        if (chime_trigger_parse(kinds[k], norm, chime_zone_utc(), now, &again, &diag) != 0 &&
            chime_trigger_kind(trig) != CHIME_TRIGGER_INTERVAL)
            abort(); /* an interval's normalized start may be past its end_date later */
        chime_trigger_unref(again);
        json_decref(norm);
        chime_trigger_unref(trig);
    }
    json_decref(args);
    return 0;
}
