/*
 * The cron trigger from its JSON args: APScheduler's keyword fields (year ..
 * second) with its default filling, or a crontab(5) line under "crontab";
 * plus start_date, end_date, timezone and jitter. A spec that can never fire
 * after the creation time is refused here rather than stored.
 */
#include "trigger/trigger_internal.h"

#include "base/base.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const cron_keys[] = {
    "year",   "month",      "day",      "week",     "day_of_week", "hour",    "minute",
    "second", "start_date", "end_date", "timezone", "jitter",      "crontab", NULL,
};

/* APS-COMPAT: DEFAULT_VALUES of APScheduler's CronTrigger. */
static const char *const field_defaults[CHIME__CF_COUNT] = {
    "*", "1", "1", "*", "*", "0", "0", "0",
};

/* The field's expression as text: a JSON string, or an integer written in decimal. */
static int field_text(const json_t *value, const char *field, char *buf, size_t n, const char **out,
                      struct chime_diag *diag)
{
    if (json_is_string(value)) {
        *out = json_string_value(value);
        return 0;
    }
    if (json_is_integer(value)) {
        snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        *out = buf;
        return 0;
    }
    return chime_diag_set(diag, CHIME_EINVAL, field,
                          "%s must be a cron expression string or an integer, not a %s.", field,
                          chime__targ_type_name(value));
}

/* Whether args has key with a value other than null (null = not given). */
static bool given(const json_t *args, const char *key)
{
    json_t *v = json_object_get(args, key);
    return v && !json_is_null(v);
}

static int last_given_field(const json_t *args)
{
    int last = -1;
    for (int f = 0; f < CHIME__CF_COUNT; f++)
        if (given(args, chime__cron_field_names[f]))
            last = f;
    return last;
}

/*
 * APScheduler's keyword fields; given ones are copied into trig->args.
 * APS-COMPAT: CronTrigger.__init__ gives the DEFAULT_VALUES only to fields
 * after the last given (non-None) one and "*" to all others, so with no field
 * given every field is "*": the trigger fires every second.
 */
static int cron_fields(struct chime_trigger *trig, const json_t *args, struct chime_diag *diag)
{
    int last = last_given_field(args);
    for (int f = 0; f < CHIME__CF_COUNT; f++) {
        const char *name = chime__cron_field_names[f];
        json_t *value = json_object_get(args, name);
        char field[64], num[32];
        const char *expr = last >= 0 && f > last ? field_defaults[f] : "*";
        int rc;
        snprintf(field, sizeof(field), "trigger_args.%s", name);
        if (value && json_is_null(value))
            value = NULL;
        if (value && (rc = field_text(value, field, num, sizeof(num), &expr, diag)) != 0)
            return rc;
        if ((rc = chime__cron_field_parse(trig->cron, (enum chime__cron_field)f, expr, field,
                                          diag)) != 0)
            return rc;
        if (value && json_object_set(trig->args, name, value) != 0)
            return CHIME_ENOMEM;
    }
    return 0;
}

static int crontab_line(struct chime_trigger *trig, const json_t *args, struct chime_diag *diag)
{
    const char *field = "trigger_args.crontab";
    json_t *value = json_object_get(args, "crontab");
    for (int f = 0; f < CHIME__CF_COUNT; f++) {
        if (given(args, chime__cron_field_names[f]))
            return chime_diag_set(diag, CHIME_EINVAL, field,
                                  "%s cannot be combined with trigger_args.%s: give either a "
                                  "crontab line or keyword fields.",
                                  field, chime__cron_field_names[f]);
    }
    if (!json_is_string(value))
        return chime_diag_set(diag, CHIME_EINVAL, field,
                              "%s must be a crontab line string (\"m h dom mon dow\"), not a %s.",
                              field, chime__targ_type_name(value));
    int rc = chime__crontab_parse(trig->cron, json_string_value(value), field, diag);
    if (rc == 0 && json_object_set(trig->args, "crontab", value) != 0)
        rc = CHIME_ENOMEM;
    return rc;
}

/* The field a never-firing spec is blamed on: end_date if it is the cause, else a date field. */
static const char *never_field(struct chime_trigger *trig, const json_t *args, chime_utime now)
{
    static const char *const date_fields[] = {
        "trigger_args.day",   "trigger_args.day_of_week", "trigger_args.week",
        "trigger_args.month", "trigger_args.year",
    };
    static const int date_field_ids[] = { CHIME__CF_DAY, CHIME__CF_DOW, CHIME__CF_WEEK,
                                          CHIME__CF_MONTH, CHIME__CF_YEAR };
    chime_utime end = trig->end;
    trig->end = CHIME_UTIME_NONE;
    bool fires_without_end = chime__cron_next(trig, CHIME_UTIME_NONE, now) != CHIME_UTIME_NONE;
    trig->end = end;
    if (fires_without_end)
        return "trigger_args.end_date";
    if (given(args, "crontab"))
        return "trigger_args.crontab";
    for (int i = 0; i < 5; i++)
        if (given(args, chime__cron_field_names[date_field_ids[i]]))
            return date_fields[i];
    return "trigger_args";
}

int chime__cron_parse(struct chime_trigger *trig, const json_t *args, chime_utime now,
                      struct chime_diag *diag)
{
    int rc = chime__targ_check_keys(args, "cron", cron_keys, diag);
    if (rc == 0)
        rc = chime__targ_dates(trig, args, diag);
    if (rc == 0)
        rc = chime__targ_jitter(trig, args, diag);
    if (rc != 0)
        return rc;
    trig->cron = chime__calloc(1, sizeof(*trig->cron));
    if (!trig->cron)
        return chime_diag_set(diag, CHIME_ENOMEM, "trigger_args", "Out of memory.");
    if (given(args, "crontab"))
        rc = crontab_line(trig, args, diag);
    else
        rc = cron_fields(trig, args, diag);
    if (rc == CHIME_ENOMEM || (rc == 0 && chime__targ_normalize_common(trig) != 0))
        return chime_diag_set(diag, CHIME_ENOMEM, "trigger_args", "Out of memory.");
    if (rc != 0 || chime__cron_next(trig, CHIME_UTIME_NONE, now) != CHIME_UTIME_NONE)
        return rc;
    const char *field = never_field(trig, args, now);
    return chime_diag_set(diag, CHIME_ENEVER, field,
                          "%s: this cron trigger can never fire: no time after now matches it%s.",
                          field,
                          strcmp(field, "trigger_args.end_date") == 0 ? " before its end_date"
                                                                      : " (up to year 9999)");
}
