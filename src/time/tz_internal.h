/*
 * Internals shared by the files of src/time: the in-memory shape of a zone
 * (a transition table plus an optional POSIX TZ rule for instants past it),
 * the rule parser and evaluator, and the TZif reader. Every time inside is
 * whole UTC seconds (int64); microseconds only appear at the public API.
 */
#ifndef CHIME_TIME_TZ_INTERNAL_H
#define CHIME_TIME_TZ_INTERNAL_H

#include "time/tz.h"

#define CHIME__SEC_PER_DAY 86400

/* One end of a DST period in a POSIX TZ rule ("M3.5.0/3", "J60", "59/-1"). */
struct chime__tz_date {
    enum { CHIME__TZ_JULIAN1, CHIME__TZ_JULIAN0, CHIME__TZ_MWD } kind;
    int day;        /* Jn: 1..365 (no Feb 29); n: 0..365 */
    int month;      /* Mm.w.d: 1..12 */
    int week;       /* 1..5, 5 = last */
    int wday;       /* 0 = Sunday .. 6 */
    int32_t time_s; /* local time of day, -167h..+167h (RFC 8536 extension) */
};

/* A POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3"), offsets east of UTC. */
struct chime__tz_rule {
    int32_t std_off;
    int32_t dst_off;
    bool has_dst;
    struct chime__tz_date start; /* standard -> DST, in standard local time */
    struct chime__tz_date end;   /* DST -> standard, in DST local time */
};

struct chime_zone {
    struct chime_zone *cache_next; /* chain of the zone cache (zone_find.c) */
    const char *name;
    size_t n_trans;
    const int64_t *trans_s;   /* ascending UTC seconds */
    const int32_t *trans_off; /* offset in effect from trans_s[i] on */
    int32_t initial_off;      /* before the first transition (time type 0) */
    bool has_rule;            /* rule answers at and after the last transition */
    struct chime__tz_rule rule;
};

/* A stretch of time with one offset: [start_s, next segment's start_s). */
struct chime__tz_segment {
    int64_t start_s;
    int32_t off;
};

/* Floor division of microseconds to seconds. */
int64_t chime__utime_to_s(chime_utime t);

/* Proleptic Gregorian year of UTC second s. */
int chime__year_of_s(int64_t s);

/* Parses a POSIX TZ string (whole string). 0 or CHIME_EINVAL. */
int chime__tz_rule_parse(const char *text, struct chime__tz_rule *out);
/* Offset of the rule at UTC second s. */
int32_t chime__tz_rule_offset(const struct chime__tz_rule *rule, int64_t s);
/*
 * Rule transitions in (after_s, to_s], appended to seg as segments (offset
 * from that instant on); at most max. Returns how many were written.
 */
size_t chime__tz_rule_segments(const struct chime__tz_rule *rule, int64_t after_s, int64_t to_s,
                               struct chime__tz_segment *seg, size_t max);

/* A zone with no table, only a POSIX TZ rule (TZ="CET-1CEST,..."). 0, EINVAL, ENOMEM. */
int chime__zone_from_rule(const char *name, const char *rule_text, struct chime_zone **out);

/* Offset at UTC second s (the same answer as chime_zone_offset_at). */
int32_t chime__zone_offset_s(const struct chime_zone *zone, int64_t s);

#endif /* CHIME_TIME_TZ_INTERNAL_H */
