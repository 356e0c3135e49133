/*
 * What the trigger module's files share: the trigger object itself, the
 * compiled cron specification (one bit set per field), and the per-kind
 * parse and next-time functions that trigger.c dispatches to.
 */
#ifndef CHIME_TRIGGER_INTERNAL_H
#define CHIME_TRIGGER_INTERNAL_H

#include "trigger/trigger.h"

#include <stdatomic.h>

enum chime__cron_field {
    CHIME__CF_YEAR = 0,
    CHIME__CF_MONTH,
    CHIME__CF_DAY,
    CHIME__CF_WEEK,
    CHIME__CF_DOW,
    CHIME__CF_HOUR,
    CHIME__CF_MINUTE,
    CHIME__CF_SECOND,
    CHIME__CF_COUNT,
};

#define CHIME__CRON_YEAR_MIN   1970
#define CHIME__CRON_YEAR_MAX   9999
#define CHIME__CRON_YEAR_WORDS ((9999 - 1970) / 64 + 1)

/* A compiled cron spec: the wall times it matches. */
struct chime__cron {
    uint64_t bits[CHIME__CF_COUNT];         /* value v allowed <=> bit v (year uses years[]) */
    uint64_t years[CHIME__CRON_YEAR_WORDS]; /* bit (y - 1970) */
    bool day_last;                          /* day "last": the month's last day */
    uint8_t day_pos[7]; /* per weekday (0 = Monday): bit n = (n+1)th, bit 5 = last */
    bool day_or_dow;    /* crontab(5): day-of-month OR day-of-week */
};

struct chime_trigger {
    atomic_int refs;
    enum chime_trigger_kind kind;
    const struct chime_zone *zone;
    json_t *args;             /* normalized args while parsing only (NULL after) */
    chime_utime start;        /* cron/interval start_date, CHIME_UTIME_NONE if none */
    chime_utime end;          /* end_date, CHIME_UTIME_NONE if none */
    int64_t jitter_us;        /* 0 = none */
    int64_t interval_us;      /* interval */
    chime_utime run_date;     /* date */
    struct chime__cron *cron; /* cron (owned) */
    /*
     * The normalized args as compact JSON text (owned): made at the end of
     * the parse, after which the json_t is dropped. A jansson object of a
     * few keys costs ~600 bytes of small allocations; the text ~100.
     */
    char *args_text;
};

/* Names of the cron fields, in APScheduler's order ("year" .. "second"). */
extern const char *const chime__cron_field_names[CHIME__CF_COUNT];

/*
 * Compiles one APScheduler field expression (comma list) into cron; crontab
 * selects crontab(5) syntax for the five crontab fields. Errors name field.
 */
int chime__cron_field_parse(struct chime__cron *cron, enum chime__cron_field f, const char *expr,
                            const char *field, struct chime_diag *diag);

/* Compiles a crontab(5) line ("m h dom mon dow" or an @macro). */
int chime__crontab_parse(struct chime__cron *cron, const char *line, const char *field,
                         struct chime_diag *diag);

/* The smallest wall time >= from that the spec matches; false past year 9999. */
bool chime__cron_find(const struct chime__cron *cron, const struct chime_civil *from,
                      struct chime_civil *out);

/*
 * The cost of a search, in steps, so tests can bound it without timing:
 * the counted variants add to the caller's counters (zero them first).
 */
struct chime__cron_stats {
    unsigned years;  /* allowed years visited (a skipped dead year counts too) */
    unsigned months; /* month day masks computed */
    unsigned rounds; /* wall-time searches by chime__cron_next: 1 + one per DST gap stepped past */
};

/* chime__cron_find, counting its steps into *stats. */
bool chime__cron_find_counted(const struct chime__cron *cron, const struct chime_civil *from,
                              struct chime_civil *out, struct chime__cron_stats *stats);

/* Per kind: fill trig from args (trig->zone is set); exact next time. */
int chime__cron_parse(struct chime_trigger *trig, const json_t *args, chime_utime now,
                      struct chime_diag *diag);
chime_utime chime__cron_next(const struct chime_trigger *trig, chime_utime prev, chime_utime now);
/* chime__cron_next, counting the steps of its searches into *stats. */
chime_utime chime__cron_next_counted(const struct chime_trigger *trig, chime_utime prev,
                                     chime_utime now, struct chime__cron_stats *stats);
int chime__interval_parse(struct chime_trigger *trig, const json_t *args, chime_utime now,
                          struct chime_diag *diag);
chime_utime chime__interval_next(const struct chime_trigger *trig, chime_utime prev,
                                 chime_utime now);
int chime__date_parse(struct chime_trigger *trig, const json_t *args, chime_utime now,
                      struct chime_diag *diag);
chime_utime chime__date_next(const struct chime_trigger *trig, chime_utime prev);

/* Shared argument readers (trigger_args.c). field buffers name "trigger_args.<key>". */

/* Refuses any key of args not in allowed (NULL-terminated); kind names the trigger. */
int chime__targ_check_keys(const json_t *args, const char *kind, const char *const *allowed,
                           struct chime_diag *diag);
/* Reads an optional date argument (NULL/absent: *out = CHIME_UTIME_NONE). */
int chime__targ_date(const struct chime_trigger *trig, const json_t *args, const char *key,
                     chime_utime *out, struct chime_diag *diag);
/* Reads start_date and end_date into trig and checks their order. */
int chime__targ_dates(struct chime_trigger *trig, const json_t *args, struct chime_diag *diag);
/* Reads the optional jitter (seconds, >= 0) into trig->jitter_us. */
int chime__targ_jitter(struct chime_trigger *trig, const json_t *args, struct chime_diag *diag);
/* Adds the common normalized args (timezone, start/end dates, jitter) to trig->args. */
int chime__targ_normalize_common(struct chime_trigger *trig);
/* Sets key to an RFC 3339 string of t in the trigger's zone. */
int chime__targ_set_time(json_t *obj, const char *key, chime_utime t,
                         const struct chime_zone *zone);
/* The JSON type name of a value, for messages ("string", "array", ...). */
const char *chime__targ_type_name(const json_t *value);

#endif /* CHIME_TRIGGER_INTERNAL_H */
