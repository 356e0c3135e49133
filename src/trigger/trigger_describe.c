/*
 * Short English descriptions of triggers for listings and logs: "every 10
 * minutes", "cron: minute=0 hour=3", "crontab: 0 3 * * *", "once at ...".
 */
#include "trigger/trigger_internal.h"

#include "base/base.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void append(char *buf, size_t n, const char *text)
{
    size_t len = strlen(buf);
    if (len < n)
        chime__strlcpy(buf + len, text, n - len);
}

static void describe_interval(const struct chime_trigger *trig, char *buf, size_t n)
{
    static const struct {
        int64_t us;
        const char *unit;
    } units[] = {
        { 604800LL * CHIME_USEC_PER_SEC, "week" }, { 86400LL * CHIME_USEC_PER_SEC, "day" },
        { 3600LL * CHIME_USEC_PER_SEC, "hour" },   { 60LL * CHIME_USEC_PER_SEC, "minute" },
        { CHIME_USEC_PER_SEC, "second" },
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (trig->interval_us % units[i].us == 0) {
            int64_t k = trig->interval_us / units[i].us;
            if (k == 1)
                snprintf(buf, n, "every %s", units[i].unit);
            else
                snprintf(buf, n, "every %" PRId64 " %ss", k, units[i].unit);
            return;
        }
    }
    snprintf(buf, n, "every %.6f seconds", (double)trig->interval_us / 1e6);
}

static void describe_cron_fields(const json_t *args, char *buf, size_t n)
{
    json_t *line = json_object_get(args, "crontab");
    if (line) {
        snprintf(buf, n, "crontab: %s", json_string_value(line));
        return;
    }
    snprintf(buf, n, "cron:");
    for (int f = CHIME__CF_COUNT - 1; f >= 0; f--) {
        json_t *v = json_object_get(args, chime__cron_field_names[f]);
        char item[160];
        if (!v)
            continue;
        if (json_is_string(v))
            snprintf(item, sizeof(item), " %s=%s", chime__cron_field_names[f],
                     json_string_value(v));
        else
            snprintf(item, sizeof(item), " %s=%" JSON_INTEGER_FORMAT, chime__cron_field_names[f],
                     json_integer_value(v));
        append(buf, n, item);
    }
    if (strcmp(buf, "cron:") == 0)
        append(buf, n, " every second");
}

/* The trigger keeps its args as text only: read them back for the description. */
static void describe_cron(const struct chime_trigger *trig, char *buf, size_t n)
{
    json_t *args = chime_trigger_args_json(trig);
    describe_cron_fields(args, buf, n);
    json_decref(args);
}

char *chime_trigger_describe(const struct chime_trigger *trigger)
{
    char buf[512], when[CHIME_TIME_FORMAT_MAX];
    switch (trigger->kind) {
    case CHIME_TRIGGER_INTERVAL:
        describe_interval(trigger, buf, sizeof(buf));
        break;
    case CHIME_TRIGGER_CRON:
        describe_cron(trigger, buf, sizeof(buf));
        break;
    default:
        snprintf(buf, sizeof(buf), "once at %s",
                 chime_time_format(trigger->run_date, trigger->zone, when));
        break;
    }
    if (trigger->kind != CHIME_TRIGGER_DATE)
        append(buf, sizeof(buf), strcmp(chime_zone_name(trigger->zone), "UTC") ? " (" : "");
    if (trigger->kind != CHIME_TRIGGER_DATE && strcmp(chime_zone_name(trigger->zone), "UTC")) {
        append(buf, sizeof(buf), chime_zone_name(trigger->zone));
        append(buf, sizeof(buf), ")");
    }
    return chime__strdup(buf);
}
