/*
 * Triggers decide when a job fires: cron (APScheduler keyword fields, or a
 * crontab(5) line), interval and date. A trigger is parsed once from the
 * JSON trigger args of the API, is immutable afterwards, and is shared by
 * reference count between copies of a job, so any thread may use it.
 */
#ifndef CHIME_TRIGGER_H
#define CHIME_TRIGGER_H

#include <chime/chime.h>
#include <jansson.h>

#include "time/tz.h"

struct chime_trigger; /* immutable, reference counted */

enum chime_trigger_kind {
    CHIME_TRIGGER_CRON = 0,
    CHIME_TRIGGER_INTERVAL = 1,
    CHIME_TRIGGER_DATE = 2,
};

/**
 * Parses trigger kind ("cron" | "interval" | "date") and its args (a JSON
 * object, borrowed; NULL = {}) into a new trigger in *out (caller owns one
 * reference). default_zone applies when args have no "timezone". now is the
 * creation time: the interval's first fire is now + interval without a
 * start_date, and a trigger that can never fire after now (an end_date in the
 * past, month=2 day=30) is refused with CHIME_ENEVER. A date trigger whose
 * run_date is past is accepted, as in APScheduler (it comes due at once and the
 * misfire rules decide).
 *
 * Every bad input fills diag with field "trigger" or "trigger_args.<name>" and
 * a sentence naming the problem, and returns CHIME_EINVAL / CHIME_ENEVER /
 * CHIME_ENOMEM. Thread-safe.
 */
int chime_trigger_parse(const char *kind, const json_t *args, const struct chime_zone *default_zone,
                        chime_utime now, struct chime_trigger **out, struct chime_diag *diag);

/**
 * APScheduler's get_next_fire_time(previous_fire_time, now): the next fire
 * time after prev (CHIME_UTIME_NONE = the trigger has not fired yet) at
 * wall time now; CHIME_UTIME_NONE when it never fires again. Jitter, if
 * configured, is added (random, bounded). Cost is bounded: no per-second or
 * per-minute loop. Thread-safe.
 */
chime_utime chime_trigger_next(const struct chime_trigger *trigger, chime_utime prev,
                               chime_utime now);

/** The same without jitter (previews, tests). */
chime_utime chime_trigger_next_exact(const struct chime_trigger *trigger, chime_utime prev,
                                     chime_utime now);

enum chime_trigger_kind chime_trigger_kind(const struct chime_trigger *trigger);
/** "cron" | "interval" | "date". */
const char *chime_trigger_kind_name(const struct chime_trigger *trigger);
/** The zone fire times are expressed in (borrowed). */
const struct chime_zone *chime_trigger_zone(const struct chime_trigger *trigger);

/**
 * The trigger's args as a new JSON object (caller owns the reference),
 * normalized so that chime_trigger_parse(kind, args, ...) gives back an
 * equal trigger: this is what stores persist. NULL on out of memory.
 */
json_t *chime_trigger_args_json(const struct chime_trigger *trigger);

/**
 * The same args as compact JSON text (json_dumps(args, JSON_COMPACT)), made
 * by the parse and kept by the trigger (freed with it; the trigger keeps no
 * json_t): borrowed, valid while the caller holds a reference. Never NULL.
 */
const char *chime_trigger_args_text(const struct chime_trigger *trigger);

/** A short English description ("every 10 minutes", "cron: minute=0 hour=3"). Caller frees with chime__free. */
char *chime_trigger_describe(const struct chime_trigger *trigger);

/** Takes another reference (atomic). Returns trigger. */
struct chime_trigger *chime_trigger_ref(struct chime_trigger *trigger);
/** Drops a reference; frees on the last one. NULL is fine. */
void chime_trigger_unref(struct chime_trigger *trigger);

#endif /* CHIME_TRIGGER_H */
