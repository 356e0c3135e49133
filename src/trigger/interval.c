/*
 * The interval trigger: fires every weeks/days/hours/minutes/seconds of
 * elapsed time from its start (start_date, or creation time + one interval),
 * in UTC arithmetic so DST never stretches or shrinks an interval.
 */
#include "trigger/trigger_internal.h"

#include "base/base.h"

#include <math.h>
#include <stdio.h>

static const char *const interval_keys[] = {
    "weeks",      "days",     "hours",    "minutes", "seconds",
    "start_date", "end_date", "timezone", "jitter",  NULL,
};

static const struct {
    const char *name;
    double seconds;
} units[] = {
    { "weeks", 604800.0 }, { "days", 86400.0 }, { "hours", 3600.0 },
    { "minutes", 60.0 },   { "seconds", 1.0 },
};

/* The longest interval accepted: 10,000 years of seconds. */
#define INTERVAL_MAX_S 315576000000.0
/* 9999-12-31T23:59:59.999999Z, the last instant chime schedules. */
#define UTIME_LAST (253402300800LL * CHIME_USEC_PER_SEC - 1)

static int interval_unit(const json_t *args, int i, double *total, struct chime_diag *diag)
{
    char field[64];
    json_t *value = json_object_get(args, units[i].name);
    if (!value || json_is_null(value))
        return 0;
    snprintf(field, sizeof(field), "trigger_args.%s", units[i].name);
    if (!json_is_number(value))
        return chime_diag_set(diag, CHIME_EINVAL, field, "%s must be a number, not a %s.", field,
                              chime__targ_type_name(value));
    double v = json_number_value(value);
    if (v < 0)
        return chime_diag_set(diag, CHIME_EINVAL, field,
                              "%s must not be negative (got %g): an interval runs forward.", field,
                              v);
    if (v > INTERVAL_MAX_S / units[i].seconds)
        return chime_diag_set(diag, CHIME_EINVAL, field, "%s is too large (%g).", field, v);
    *total += v * units[i].seconds;
    return 0;
}

static int interval_length(struct chime_trigger *trig, const json_t *args, struct chime_diag *diag)
{
    double total = 0;
    int rc;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if ((rc = interval_unit(args, (int)i, &total, diag)) != 0)
            return rc;
        json_t *value = json_object_get(args, units[i].name);
        if (value && !json_is_null(value) && json_object_set(trig->args, units[i].name, value))
            return chime_diag_set(diag, CHIME_ENOMEM, "trigger_args", "Out of memory.");
    }
    if (total > INTERVAL_MAX_S)
        return chime_diag_set(diag, CHIME_EINVAL, "trigger_args",
                              "trigger_args: the interval is too long (over 10,000 years).");
    /* APS-COMPAT: APScheduler turns a zero interval into one second; chime refuses it. */
    trig->interval_us = llround(total * (double)CHIME_USEC_PER_SEC);
    if (trig->interval_us <= 0)
        return chime_diag_set(diag, CHIME_EINVAL, "trigger_args.seconds",
                              "trigger_args.seconds: the interval must be longer than zero: give "
                              "weeks, days, hours, minutes or seconds.");
    return 0;
}

int chime__interval_parse(struct chime_trigger *trig, const json_t *args, chime_utime now,
                          struct chime_diag *diag)
{
    int rc = chime__targ_check_keys(args, "interval", interval_keys, diag);
    if (rc == 0)
        rc = interval_length(trig, args, diag);
    if (rc == 0)
        rc = chime__targ_dates(trig, args, diag);
    if (rc == 0)
        rc = chime__targ_jitter(trig, args, diag);
    if (rc != 0)
        return rc;
    if (trig->start == CHIME_UTIME_NONE) {
        if (now > UTIME_LAST - trig->interval_us)
            return chime_diag_set(diag, CHIME_ENEVER, "trigger_args",
                                  "trigger_args: the first fire would be after year 9999.");
        trig->start = now + trig->interval_us;
        if (trig->end != CHIME_UTIME_NONE && trig->end < trig->start)
            return chime_diag_set(diag, CHIME_ENEVER, "trigger_args.end_date",
                                  "trigger_args.end_date is before the first fire time (now + "
                                  "the interval): this trigger can never fire.");
    }
    if (chime__targ_normalize_common(trig) != 0)
        return chime_diag_set(diag, CHIME_ENOMEM, "trigger_args", "Out of memory.");
    if (chime__interval_next(trig, CHIME_UTIME_NONE, now) == CHIME_UTIME_NONE)
        return chime_diag_set(diag, CHIME_ENEVER, "trigger_args.end_date",
                              "trigger_args.end_date is already past: this interval trigger can "
                              "never fire.");
    return 0;
}

chime_utime chime__interval_next(const struct chime_trigger *trig, chime_utime prev,
                                 chime_utime now)
{
    chime_utime next, iv = trig->interval_us;
    if (prev != CHIME_UTIME_NONE) {
        if (prev > UTIME_LAST - iv)
            return CHIME_UTIME_NONE;
        next = prev + iv;
    } else if (trig->start > now) {
        next = trig->start;
    } else {
        /* APS-COMPAT: start + ceil((now - start) / interval) * interval. */
        if (now > UTIME_LAST)
            return CHIME_UTIME_NONE;
        chime_utime n = (now - trig->start + iv - 1) / iv;
        if (n > (UTIME_LAST - trig->start) / iv)
            return CHIME_UTIME_NONE;
        next = trig->start + n * iv;
    }
    if (next > UTIME_LAST || (trig->end != CHIME_UTIME_NONE && next > trig->end))
        return CHIME_UTIME_NONE;
    return next;
}
