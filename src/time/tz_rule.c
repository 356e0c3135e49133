/*
 * POSIX TZ rules, as found in the footer of TZif v2+ files (RFC 8536 section
 * 3.3) and in the TZ environment variable: "CET-1CEST,M3.5.0,M10.5.0/3",
 * "<+0545>-5:45", "EST5EDT,M3.2.0,M11.1.0". They answer for every instant past
 * a zone's transition table, which is how far-future dates (2100, 9999) get
 * the right offset. Transition times may be negative or beyond 24h (the
 * RFC 8536 extension, up to 167h); offsets are stored east of UTC, the
 * opposite sign of the POSIX text.
 */
#include "time/tz_internal.h"

#include <string.h>

/* Reads 1..max_digits decimal digits into *out. 0 or CHIME_EINVAL. */
static int parse_num(const char **p, int max_digits, int *out)
{
    int n = 0, v = 0;
    while (**p >= '0' && **p <= '9' && n < max_digits) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    if (n == 0 || (**p >= '0' && **p <= '9'))
        return CHIME_EINVAL;
    *out = v;
    return 0;
}

/* A zone abbreviation: three or more letters, or <...> of [A-Za-z0-9+-]. */
static int parse_name(const char **p)
{
    const char *s = *p;
    size_t n = 0;
    if (*s == '<') {
        s++;
        while (s[n] && s[n] != '>') {
            if (!strchr("+-", s[n]) && !(s[n] >= '0' && s[n] <= '9') &&
                !((s[n] | 0x20) >= 'a' && (s[n] | 0x20) <= 'z'))
                return CHIME_EINVAL;
            n++;
        }
        if (s[n] != '>' || n < 3)
            return CHIME_EINVAL;
        *p = s + n + 1;
        return 0;
    }
    while ((s[n] | 0x20) >= 'a' && (s[n] | 0x20) <= 'z')
        n++;
    if (n < 3)
        return CHIME_EINVAL;
    *p = s + n;
    return 0;
}

/* [+-]h[h[h]][:mm[:ss]] with hours up to max_hours, in seconds (sign as written). */
static int parse_hms(const char **p, int max_hours, int32_t *out)
{
    int sign = 1, h = 0, m = 0, s = 0;
    if (**p == '+' || **p == '-')
        sign = *(*p)++ == '-' ? -1 : 1;
    if (parse_num(p, 3, &h) < 0 || h > max_hours)
        return CHIME_EINVAL;
    if (**p == ':') {
        (*p)++;
        if (parse_num(p, 2, &m) < 0 || m > 59)
            return CHIME_EINVAL;
        if (**p == ':') {
            (*p)++;
            if (parse_num(p, 2, &s) < 0 || s > 59)
                return CHIME_EINVAL;
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return 0;
}

static int parse_mwd(const char **p, struct chime__tz_date *d)
{
    d->kind = CHIME__TZ_MWD;
    if (parse_num(p, 2, &d->month) < 0 || d->month < 1 || d->month > 12 || *(*p)++ != '.')
        return CHIME_EINVAL;
    if (parse_num(p, 1, &d->week) < 0 || d->week < 1 || d->week > 5 || *(*p)++ != '.')
        return CHIME_EINVAL;
    if (parse_num(p, 1, &d->wday) < 0 || d->wday > 6)
        return CHIME_EINVAL;
    return 0;
}

/* Jn, n or Mm.w.d, then an optional /time (default 02:00:00). */
static int parse_date(const char **p, struct chime__tz_date *d)
{
    int rc;
    memset(d, 0, sizeof(*d));
    if (**p == 'M') {
        (*p)++;
        rc = parse_mwd(p, d);
    } else if (**p == 'J') {
        (*p)++;
        d->kind = CHIME__TZ_JULIAN1;
        rc = parse_num(p, 3, &d->day) < 0 || d->day < 1 || d->day > 365 ? CHIME_EINVAL : 0;
    } else {
        d->kind = CHIME__TZ_JULIAN0;
        rc = parse_num(p, 3, &d->day) < 0 || d->day > 365 ? CHIME_EINVAL : 0;
    }
    if (rc < 0)
        return rc;
    d->time_s = 2 * 3600;
    if (**p == '/') {
        (*p)++;
        return parse_hms(p, 167, &d->time_s);
    }
    return 0;
}

/* ",start[/time],end[/time]" */
static int parse_rules(const char **p, struct chime__tz_rule *out)
{
    if (*(*p)++ != ',' || parse_date(p, &out->start) < 0)
        return CHIME_EINVAL;
    if (*(*p)++ != ',' || parse_date(p, &out->end) < 0)
        return CHIME_EINVAL;
    return **p == '\0' ? 0 : CHIME_EINVAL;
}

/* The part after the standard offset: DST name, optional offset, rules. */
static int parse_dst(const char **p, struct chime__tz_rule *out)
{
    int32_t off;
    if (parse_name(p) < 0)
        return CHIME_EINVAL;
    out->has_dst = true;
    out->dst_off = out->std_off + 3600;
    if (**p && **p != ',') {
        if (parse_hms(p, 24, &off) < 0)
            return CHIME_EINVAL;
        out->dst_off = -off;
    }
    if (**p == '\0') {
        /* No rules given: the US rules, as glibc and tzcode assume. */
        const char *us = ",M3.2.0,M11.1.0";
        return parse_rules(&us, out);
    }
    return parse_rules(p, out);
}

int chime__tz_rule_parse(const char *text, struct chime__tz_rule *out)
{
    const char *p = text;
    int32_t off;
    memset(out, 0, sizeof(*out));
    if (parse_name(&p) < 0 || parse_hms(&p, 24, &off) < 0)
        return CHIME_EINVAL;
    out->std_off = -off;
    out->dst_off = out->std_off;
    if (*p == '\0')
        return 0;
    return parse_dst(&p, out);
}

/* Local second (at the offset the rule's time is written in) of a rule date in a year. */
static int64_t date_local_s(const struct chime__tz_date *d, int year)
{
    int64_t jan1 = chime_civil_days_from_date(year, 1, 1);
    int64_t day;
    if (d->kind == CHIME__TZ_JULIAN1) {
        /* Jn never counts February 29. */
        day = jan1 + d->day - 1 + (chime_civil_is_leap(year) && d->day >= 60);
    } else if (d->kind == CHIME__TZ_JULIAN0) {
        day = jan1 + d->day;
    } else {
        int64_t first = chime_civil_days_from_date(year, d->month, 1);
        int wd_sun = (chime_civil_weekday(first) + 1) % 7; /* 0 = Sunday */
        day = first + (d->wday - wd_sun + 7) % 7 + (int64_t)(d->week - 1) * 7;
        if (day - first >= chime_civil_days_in_month(year, d->month))
            day -= 7;
    }
    return day * CHIME__SEC_PER_DAY + d->time_s;
}

int chime__year_of_s(int64_t s)
{
    int64_t days = s / CHIME__SEC_PER_DAY - (s % CHIME__SEC_PER_DAY < 0);
    int y, m, d;
    chime_civil_date_from_days(days, &y, &m, &d);
    return y;
}

/*
 * The two transitions of a year as segments: ev[0] starts DST, ev[1] ends it.
 * Listed year by year in this order, a later entry wins a tie: a zero-length
 * DST period ends at once, and all-year DST (end of Y == start of Y+1, as in
 * "EST5EDT4,0/0,J365/25") stays DST.
 */
static void year_events(const struct chime__tz_rule *rule, int year, struct chime__tz_segment ev[2])
{
    ev[0].start_s = date_local_s(&rule->start, year) - rule->std_off;
    ev[0].off = rule->dst_off;
    ev[1].start_s = date_local_s(&rule->end, year) - rule->dst_off;
    ev[1].off = rule->std_off;
}

int32_t chime__tz_rule_offset(const struct chime__tz_rule *rule, int64_t s)
{
    if (!rule->has_dst)
        return rule->std_off;
    int year = chime__year_of_s(s + rule->std_off);
    int64_t best_at = INT64_MIN;
    int32_t best_off = rule->std_off;
    for (int y = year - 1; y <= year + 1; y++) {
        struct chime__tz_segment ev[2];
        year_events(rule, y, ev);
        for (int i = 0; i < 2; i++) {
            if (ev[i].start_s <= s && ev[i].start_s >= best_at) {
                best_at = ev[i].start_s;
                best_off = ev[i].off;
            }
        }
    }
    return best_off;
}

#define RULE_EVENTS_MAX 16

size_t chime__tz_rule_segments(const struct chime__tz_rule *rule, int64_t after_s, int64_t to_s,
                               struct chime__tz_segment *seg, size_t max)
{
    struct chime__tz_segment ev[RULE_EVENTS_MAX];
    size_t n = 0;
    if (!rule->has_dst || to_s <= after_s)
        return 0;
    int y_to = chime__year_of_s(to_s) + 1;
    for (int y = chime__year_of_s(after_s) - 1; y <= y_to && n + 2 <= RULE_EVENTS_MAX; y++) {
        struct chime__tz_segment two[2];
        year_events(rule, y, two);
        for (int i = 0; i < 2; i++) {
            if (two[i].start_s > after_s && two[i].start_s <= to_s)
                ev[n++] = two[i];
        }
    }
    /* Stable insertion sort by instant keeps the tie order of year_events. */
    for (size_t i = 1; i < n; i++) {
        struct chime__tz_segment x = ev[i];
        size_t j = i;
        for (; j > 0 && ev[j - 1].start_s > x.start_s; j--)
            ev[j] = ev[j - 1];
        ev[j] = x;
    }
    if (n > max)
        n = max;
    memcpy(seg, ev, n * sizeof(*seg));
    return n;
}
