/*
 * Reading trigger args: the checks every trigger kind shares (unknown keys,
 * JSON types, dates read in the trigger's zone, start/end order, jitter) and
 * the pieces of the normalized args a trigger keeps for stores to persist.
 * Every diagnostic names its field as "trigger_args.<key>".
 */
#include "trigger/trigger_internal.h"

#include "base/base.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *chime__targ_type_name(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

static bool key_allowed(const char *key, const char *const *allowed)
{
    for (int i = 0; allowed[i]; i++)
        if (strcmp(key, allowed[i]) == 0)
            return true;
    return false;
}

int chime__targ_check_keys(const json_t *args, const char *kind, const char *const *allowed,
                           struct chime_diag *diag)
{
    const char *key;
    json_t *value;
    json_object_foreach ((json_t *)args, key, value) {
        if (key_allowed(key, allowed))
            continue;
        char field[64], list[256] = "";
        snprintf(field, sizeof(field), "trigger_args.%s", key);
        for (int i = 0; allowed[i]; i++) {
            strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
            strncat(list, allowed[i], sizeof(list) - strlen(list) - 1);
        }
        return chime_diag_set(diag, CHIME_EINVAL, field,
                              "%s: unknown argument for a %s trigger (it takes %s).", field, kind,
                              list);
    }
    return 0;
}

int chime__targ_date(const struct chime_trigger *trig, const json_t *args, const char *key,
                     chime_utime *out, struct chime_diag *diag)
{
    char field[64];
    json_t *value = json_object_get(args, key);
    *out = CHIME_UTIME_NONE;
    if (!value || json_is_null(value))
        return 0;
    snprintf(field, sizeof(field), "trigger_args.%s", key);
    if (!json_is_string(value))
        return chime_diag_set(diag, CHIME_EINVAL, field,
                              "%s must be an RFC 3339 date-time string, not a %s.", field,
                              chime__targ_type_name(value));
    return chime_time_parse(json_string_value(value), trig->zone, field, out, NULL, diag);
}

int chime__targ_dates(struct chime_trigger *trig, const json_t *args, struct chime_diag *diag)
{
    int rc = chime__targ_date(trig, args, "start_date", &trig->start, diag);
    if (rc == 0)
        rc = chime__targ_date(trig, args, "end_date", &trig->end, diag);
    if (rc != 0 || trig->start == CHIME_UTIME_NONE || trig->end == CHIME_UTIME_NONE ||
        trig->end >= trig->start)
        return rc;
    char start[CHIME_TIME_FORMAT_MAX], end[CHIME_TIME_FORMAT_MAX];
    chime_time_format(trig->start, trig->zone, start);
    chime_time_format(trig->end, trig->zone, end);
    return chime_diag_set(diag, CHIME_EINVAL, "trigger_args.end_date",
                          "trigger_args.end_date (%s) is before trigger_args.start_date (%s).", end,
                          start);
}

/* Jitter above this many seconds is refused (it would dwarf any schedule). */
#define JITTER_MAX_S 31622400.0

int chime__targ_jitter(struct chime_trigger *trig, const json_t *args, struct chime_diag *diag)
{
    const char *field = "trigger_args.jitter";
    json_t *value = json_object_get(args, "jitter");
    trig->jitter_us = 0;
    if (!value || json_is_null(value))
        return 0;
    if (!json_is_number(value))
        return chime_diag_set(diag, CHIME_EINVAL, field,
                              "%s must be a number of seconds, not a %s.", field,
                              chime__targ_type_name(value));
    double s = json_number_value(value);
    if (!(s >= 0 && s <= JITTER_MAX_S))
        return chime_diag_set(diag, CHIME_EINVAL, field,
                              "%s must be between 0 and %.0f seconds, not %g.", field, JITTER_MAX_S,
                              s);
    trig->jitter_us = llround(s * (double)CHIME_USEC_PER_SEC);
    return 0;
}

int chime__targ_set_time(json_t *obj, const char *key, chime_utime t, const struct chime_zone *zone)
{
    char buf[CHIME_TIME_FORMAT_MAX];
    chime_time_format(t, zone, buf);
    return json_object_set_new(obj, key, json_string(buf)) == 0 ? 0 : CHIME_ENOMEM;
}

int chime__targ_normalize_common(struct chime_trigger *trig)
{
    json_t *a = trig->args;
    if (json_object_set_new(a, "timezone", json_string(chime_zone_name(trig->zone))) != 0)
        return CHIME_ENOMEM;
    if (trig->start != CHIME_UTIME_NONE &&
        chime__targ_set_time(a, "start_date", trig->start, trig->zone) != 0)
        return CHIME_ENOMEM;
    if (trig->end != CHIME_UTIME_NONE &&
        chime__targ_set_time(a, "end_date", trig->end, trig->zone) != 0)
        return CHIME_ENOMEM;
    if (trig->jitter_us > 0 &&
        json_object_set_new(a, "jitter", json_real((double)trig->jitter_us / 1e6)) != 0)
        return CHIME_ENOMEM;
    return 0;
}
