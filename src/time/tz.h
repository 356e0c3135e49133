/*
 * Time zones and civil time. Zones are read from the system's TZif files
 * (v2+; the POSIX TZ footer answers for instants past the table), parsed
 * once, cached for the life of the process and immutable, so any thread may
 * use a zone pointer without locking. No setenv("TZ"), no localtime().
 */
#ifndef CHIME_TIME_TZ_H
#define CHIME_TIME_TZ_H

#include <chime/chime.h>

/* A broken-down wall-clock time (proleptic Gregorian, years 1..9999). */
struct chime_civil {
    int year;
    int month;  /* 1..12 */
    int day;    /* 1..31 */
    int hour;   /* 0..23 */
    int minute; /* 0..59 */
    int second; /* 0..59 */
    int usec;   /* 0..999999 */
};

#define CHIME_USEC_PER_SEC 1000000LL
#define CHIME_MIN_YEAR     1
#define CHIME_MAX_YEAR     9999

/* Days since 1970-01-01 of a civil date (no validation). */
int64_t chime_civil_days_from_date(int year, int month, int day);
/* Inverse of chime_civil_days_from_date. */
void chime_civil_date_from_days(int64_t days, int *out_year, int *out_month, int *out_day);
/* Day of week of a day number: 0 = Monday .. 6 = Sunday (APScheduler's numbering). */
int chime_civil_weekday(int64_t days);
/* Number of days in a month of a year. */
int chime_civil_days_in_month(int year, int month);
/* True for a Gregorian leap year. */
bool chime_civil_is_leap(int year);
/* Civil time of an instant at a fixed UTC offset (seconds). */
void chime_civil_from_utime(chime_utime t, int32_t offset_s, struct chime_civil *out);
/* Instant of a civil time at a fixed UTC offset. */
chime_utime chime_civil_to_utime(const struct chime_civil *c, int32_t offset_s);
/* 0 when every field is in range (day checked against the month), else CHIME_ERANGE. */
int chime_civil_check(const struct chime_civil *c);

struct chime_zone; /* immutable, process lifetime */

/**
 * Finds a zone by IANA name ("Europe/Berlin", "UTC", "Etc/GMT+5") under the
 * zoneinfo directory (TZDIR, else /usr/share/zoneinfo). Names with "..",
 * a leading "/", or characters outside [A-Za-z0-9/_+-] are refused (answered
 * CHIME_ENOENT, like an unknown zone, without touching the file system).
 * Returns 0 and a borrowed, never-freed zone in *out; CHIME_ENOENT for an
 * unknown zone; CHIME_EINVAL for a malformed file (or a leap-second "right/"
 * zone); CHIME_ENOMEM (nothing cached: a later call may succeed). "UTC" is
 * built in. Thread-safe (cached; concurrent first loads yield one zone).
 */
int chime_zone_find(const char *name, const struct chime_zone **out);

/**
 * Parses TZif data (RFC 8536, v1..v4) from memory into a new zone named name
 * (copied). The data is untrusted: every count and index is checked. The zone
 * is not cached; the caller owns it and frees it with chime_zone_free.
 * Returns 0, CHIME_EINVAL for malformed data (or leap-second data), CHIME_ENOMEM.
 * Borrows data. Thread-safe.
 */
int chime_zone_parse_tzif(const char *name, const unsigned char *data, size_t len,
                          struct chime_zone **out);

/** Frees a zone made by chime_zone_parse_tzif (never one from chime_zone_find). NULL is a no-op. */
void chime_zone_free(struct chime_zone *zone);

/** The UTC zone (never fails). */
const struct chime_zone *chime_zone_utc(void);

/**
 * The host's local zone: TZ if it names a zone (":Area/City", "Area/City", a
 * path under a zoneinfo directory) or is a POSIX TZ rule ("CET-1CEST,M3.5.0,
 * M10.5.0/3", a zone of that name); TZ="" is UTC; else /etc/localtime (its
 * link target gives the name; else /etc/timezone; else its content, named
 * "localtime"); else UTC. Cached after the first success. Thread-safe.
 */
const struct chime_zone *chime_zone_local(void);

/** The zone's IANA name ("UTC" for UTC). Borrowed, lives as long as the zone. */
const char *chime_zone_name(const struct chime_zone *zone);

/**
 * UTC offset in seconds in effect at instant t: a binary search over the
 * zone's transitions, the POSIX TZ footer past the last one. No allocation,
 * no locking; any thread.
 */
int32_t chime_zone_offset_at(const struct chime_zone *zone, chime_utime t);

/** Wall-clock time of instant t in the zone; offset in effect into *out_offset (may be NULL). */
void chime_zone_to_local(const struct chime_zone *zone, chime_utime t, struct chime_civil *out,
                         int32_t *out_offset);

enum chime_local_kind {
    CHIME_LOCAL_UNIQUE = 0, /* the wall time occurs once: earlier == later */
    /* Does not exist (spring forward): earlier = later = the wall time read with the offset
     * in effect before the transition, i.e. the wall time shifted forward by the gap's length
     * (Berlin 2026-03-29 02:30 -> 03:30+02:00). */
    CHIME_LOCAL_GAP = 1,
    CHIME_LOCAL_FOLD = 2, /* occurs twice (fall back): earlier = first occurrence, later = second */
};

struct chime_local_result {
    enum chime_local_kind kind;
    chime_utime earlier;
    chime_utime later;
    /* For CHIME_LOCAL_GAP: the instant the wall time would have with the offset before the
     * transition (pytz's is_dst=False reading), for callers that emulate that; it equals
     * earlier and later. For UNIQUE and FOLD it equals earlier. */
    chime_utime gap_pre_offset;
};

/**
 * Resolves a wall-clock time (fields in range, see chime_civil_check) in the
 * zone to instants (see enum chime_local_kind); the microseconds carry over.
 * No allocation, no locking; any thread.
 */
void chime_zone_from_local(const struct chime_zone *zone, const struct chime_civil *local,
                           struct chime_local_result *out);

/*
 * RFC 3339 / ISO 8601: "2026-11-28T16:52:15.767717+00:00", "...Z", the
 * space-separated "2026-11-28 16:52:15.767717+00:00", 1..6 fraction digits.
 */

/**
 * Parses a timestamp. With an offset or Z the instant is exact and *out_has_offset
 * = true. Without one ("2026-11-28T09:00:00", "2026-11-28" as midnight) the wall
 * time is read in default_zone (the gap moves forward, the fold takes the first
 * occurrence) and *out_has_offset = false; default_zone NULL makes a missing
 * offset an error. out_has_offset may be NULL. Returns 0, or CHIME_EINVAL with
 * diag naming field. Thread-safe.
 */
int chime_time_parse(const char *text, const struct chime_zone *default_zone, const char *field,
                     chime_utime *out, bool *out_has_offset, struct chime_diag *diag);

#define CHIME_TIME_FORMAT_MAX 40

/**
 * Formats t in zone as "YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM" (fraction only when
 * non-zero; "+00:00" for UTC, never "Z"; seconds in the offset only if non-zero,
 * as Python's isoformat()). buf must hold CHIME_TIME_FORMAT_MAX bytes.
 * Returns buf.
 */
char *chime_time_format(chime_utime t, const struct chime_zone *zone, char *buf);

#endif /* CHIME_TIME_TZ_H */
