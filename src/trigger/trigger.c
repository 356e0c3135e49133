/*
 * The trigger object: parsing dispatch by kind, reference counting, the
 * next-fire entry points (exact, and with APScheduler's random jitter), and
 * the normalized args and short description that stores and the API show.
 */
#include "trigger/trigger_internal.h"

#include "base/base.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const struct {
    const char *name;
    enum chime_trigger_kind kind;
    int (*parse)(struct chime_trigger *trig, const json_t *args, chime_utime now,
                 struct chime_diag *diag);
} kinds[] = {
    { "cron", CHIME_TRIGGER_CRON, chime__cron_parse },
    { "interval", CHIME_TRIGGER_INTERVAL, chime__interval_parse },
    { "date", CHIME_TRIGGER_DATE, chime__date_parse },
};

static int find_kind(const char *kind, struct chime_diag *diag)
{
    for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kind, kinds[i].name) == 0)
            return (int)i;
    if (!kind)
        return chime_diag_set(diag, CHIME_EINVAL, "trigger",
                              "trigger is required: \"cron\", \"interval\" or \"date\".");
    return chime_diag_set(diag, CHIME_EINVAL, "trigger",
                          "trigger \"%.64s\" is unknown: use \"cron\", \"interval\" or \"date\".",
                          kind);
}

/*
 * APS-COMPAT: CronTrigger and IntervalTrigger test `if timezone:`, so null and
 * "" both mean the default zone; DateTrigger passes "" to pytz, which raises
 * UnknownTimeZoneError: chime refuses "" for a date trigger.
 */
static int resolve_zone(struct chime_trigger *trig, const json_t *args,
                        const struct chime_zone *default_zone, struct chime_diag *diag)
{
    const char *field = "trigger_args.timezone";
    json_t *value = json_object_get(args, "timezone");
    trig->zone = default_zone ? default_zone : chime_zone_utc();
    if (!value || json_is_null(value))
        return 0;
    if (!json_is_string(value))
        return chime_diag_set(diag, CHIME_EINVAL, field,
                              "%s must be an IANA time zone name string, not a %s.", field,
                              chime__targ_type_name(value));
    if (json_string_length(value) == 0 && trig->kind != CHIME_TRIGGER_DATE)
        return 0;
    int rc = chime_zone_find(json_string_value(value), &trig->zone);
    if (rc == CHIME_ENOENT || rc == CHIME_EINVAL)
        return chime_diag_set(diag, CHIME_EINVAL, field,
                              "%s: unknown time zone \"%.100s\" (use an IANA name such as "
                              "\"Europe/Berlin\" or \"UTC\").",
                              field, json_string_value(value));
    if (rc != 0)
        return chime_diag_set(diag, rc, field, "%s: cannot load time zone \"%.100s\": %s.", field,
                              json_string_value(value), chime_strerror(rc));
    return 0;
}

/* The args dumped compact into a chime__malloc'd string; NULL on out of memory. */
static char *args_dump(const json_t *args)
{
    size_t n = json_dumpb(args, NULL, 0, JSON_COMPACT);
    char *s = n ? chime__malloc(n + 1) : NULL;
    if (!s)
        return NULL;
    json_dumpb(args, s, n, JSON_COMPACT);
    s[n] = '\0';
    return s;
}

/* Parses into trig->args, then keeps only its text (trig->args_text). */
static int parse_args(struct chime_trigger *trig, int k, const json_t *args,
                      const struct chime_zone *default_zone, chime_utime now,
                      struct chime_diag *diag)
{
    int rc = resolve_zone(trig, args, default_zone, diag);
    if (rc != 0)
        return rc;
    trig->args = json_object();
    if (!trig->args)
        return chime_diag_set(diag, CHIME_ENOMEM, "trigger_args", "Out of memory.");
    rc = kinds[k].parse(trig, args, now, diag);
    if (rc == 0 && !(trig->args_text = args_dump(trig->args)))
        rc = chime_diag_set(diag, CHIME_ENOMEM, "trigger_args", "Out of memory.");
    json_decref(trig->args);
    trig->args = NULL;
    return rc;
}

int chime_trigger_parse(const char *kind, const json_t *args, const struct chime_zone *default_zone,
                        chime_utime now, struct chime_trigger **out, struct chime_diag *diag)
{
    int k = find_kind(kind, diag), rc;
    *out = NULL;
    if (k < 0)
        return k;
    if (args && !json_is_object(args))
        return chime_diag_set(diag, CHIME_EINVAL, "trigger_args",
                              "trigger_args must be a JSON object, not a %s.",
                              chime__targ_type_name(args));
    json_t *empty = args ? NULL : json_object();
    if (!args && !empty)
        return chime_diag_set(diag, CHIME_ENOMEM, "trigger_args", "Out of memory.");
    struct chime_trigger *trig = chime__calloc(1, sizeof(*trig));
    if (!trig) {
        rc = chime_diag_set(diag, CHIME_ENOMEM, "trigger_args", "Out of memory.");
        goto out_empty;
    }
    atomic_init(&trig->refs, 1);
    trig->kind = kinds[k].kind;
    trig->start = trig->end = trig->run_date = CHIME_UTIME_NONE;
    rc = parse_args(trig, k, args ? args : empty, default_zone, now, diag);
    if (rc != 0) {
        chime_trigger_unref(trig);
        goto out_empty;
    }
    *out = trig;
out_empty:
    json_decref(empty);
    return rc;
}

chime_utime chime_trigger_next_exact(const struct chime_trigger *trigger, chime_utime prev,
                                     chime_utime now)
{
    switch (trigger->kind) {
    case CHIME_TRIGGER_CRON:
        return chime__cron_next(trigger, prev, now);
    case CHIME_TRIGGER_INTERVAL:
        return chime__interval_next(trigger, prev, now);
    case CHIME_TRIGGER_DATE:
        return chime__date_next(trigger, prev);
    }
    return CHIME_UTIME_NONE;
}

/* A per-thread splitmix64 generator, seeded from the clock and the thread. */
static uint64_t random_u64(void)
{
    static _Thread_local uint64_t state;
    if (state == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        state = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
                (uint64_t)(uintptr_t)&state;
        state |= 1;
    }
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

chime_utime chime_trigger_next(const struct chime_trigger *trigger, chime_utime prev,
                               chime_utime now)
{
    chime_utime next = chime_trigger_next_exact(trigger, prev, now);
    if (next == CHIME_UTIME_NONE || trigger->jitter_us <= 0)
        return next;
    /* APS-COMPAT: jitter adds uniform(0, jitter) seconds. */
    next += (chime_utime)(random_u64() % (uint64_t)(trigger->jitter_us + 1));
    if (trigger->end == CHIME_UTIME_NONE || next <= trigger->end)
        return next;
    /* APS-COMPAT: a jittered cron time is clamped to end_date; an interval one is dropped. */
    return trigger->kind == CHIME_TRIGGER_CRON ? trigger->end : CHIME_UTIME_NONE;
}

enum chime_trigger_kind chime_trigger_kind(const struct chime_trigger *trigger)
{
    return trigger->kind;
}

const char *chime_trigger_kind_name(const struct chime_trigger *trigger)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kinds[i].kind == trigger->kind)
            return kinds[i].name;
    return "unknown";
}

const struct chime_zone *chime_trigger_zone(const struct chime_trigger *trigger)
{
    return trigger->zone;
}

json_t *chime_trigger_args_json(const struct chime_trigger *trigger)
{
    /* The text is what jansson dumped: loading it gives back an equal object (same key order). */
    return json_loads(trigger->args_text, 0, NULL);
}

const char *chime_trigger_args_text(const struct chime_trigger *trigger)
{
    return trigger->args_text;
}

struct chime_trigger *chime_trigger_ref(struct chime_trigger *trigger)
{
    atomic_fetch_add_explicit(&trigger->refs, 1, memory_order_relaxed);
    return trigger;
}

void chime_trigger_unref(struct chime_trigger *trigger)
{
    if (!trigger || atomic_fetch_sub_explicit(&trigger->refs, 1, memory_order_acq_rel) != 1)
        return;
    json_decref(trigger->args);
    chime__free(trigger->args_text);
    chime__free(trigger->cron);
    chime__free(trigger);
}
