/*
 * RFC 3339 / ISO 8601 timestamps as the reference service reads and writes
 * them: "2026-11-28T16:52:15.767717+00:00", "...Z", a space instead of "T",
 * 1..6 fraction digits, and (read in a default zone) no offset or no time at
 * all. Output always carries a numeric offset and a fraction only when
 * non-zero, as Python's datetime.isoformat() does. Errors name the field.
 */
#include "time/tz_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tparse {
    const char *text;
    const char *p;
    const char *field;
    struct chime_diag *diag;
};

static int fail(struct tparse *tp, const char *what)
{
    return chime_diag_set(tp->diag, CHIME_EINVAL, tp->field,
                          "%s: %s in \"%.48s\" (expected an RFC 3339 time such as "
                          "2026-11-28T09:00:00+00:00)",
                          tp->field, what, tp->text);
}

static int fail_range(struct tparse *tp, const char *name, int value, int lo, int hi)
{
    return chime_diag_set(tp->diag, CHIME_EINVAL, tp->field,
                          "%s: %s %d is out of range (%d..%d) in \"%.48s\"", tp->field, name, value,
                          lo, hi, tp->text);
}

/* min..max decimal digits. Returns the number of digits read, or 0. */
static int digits(struct tparse *tp, int min, int max, int *out)
{
    int n = 0, v = 0;
    while (n < max && tp->p[n] >= '0' && tp->p[n] <= '9') {
        v = v * 10 + (tp->p[n] - '0');
        n++;
    }
    if (n < min)
        return 0;
    tp->p += n;
    *out = v;
    return n;
}

static int expect(struct tparse *tp, char c)
{
    if (*tp->p != c)
        return 0;
    tp->p++;
    return 1;
}

/* APS-COMPAT: like APScheduler's date regex, month, day, hour, minute and second take 1 or 2
 * digits. */
static int parse_date(struct tparse *tp, struct chime_civil *c)
{
    if (!digits(tp, 4, 4, &c->year) || !expect(tp, '-') || !digits(tp, 1, 2, &c->month) ||
        !expect(tp, '-') || !digits(tp, 1, 2, &c->day))
        return fail(tp, "malformed date");
    if (c->year < CHIME_MIN_YEAR)
        return fail_range(tp, "year", c->year, CHIME_MIN_YEAR, CHIME_MAX_YEAR);
    if (c->month < 1 || c->month > 12)
        return fail_range(tp, "month", c->month, 1, 12);
    int dim = chime_civil_days_in_month(c->year, c->month);
    if (c->day < 1 || c->day > dim)
        return fail_range(tp, "day", c->day, 1, dim);
    return 0;
}

static int parse_fraction(struct tparse *tp, struct chime_civil *c)
{
    int n = digits(tp, 1, 6, &c->usec);
    if (n == 0)
        return fail(tp, "malformed fraction of a second");
    if (*tp->p >= '0' && *tp->p <= '9')
        return fail(tp, "more than 6 fraction digits");
    for (; n < 6; n++)
        c->usec *= 10;
    return 0;
}

static int parse_clock(struct tparse *tp, struct chime_civil *c)
{
    if (!digits(tp, 1, 2, &c->hour) || !expect(tp, ':') || !digits(tp, 1, 2, &c->minute) ||
        !expect(tp, ':') || !digits(tp, 1, 2, &c->second))
        return fail(tp, "malformed time of day");
    if (c->hour > 23)
        return fail_range(tp, "hour", c->hour, 0, 23);
    if (c->minute > 59)
        return fail_range(tp, "minute", c->minute, 0, 59);
    if (c->second > 59)
        return fail_range(tp, "second", c->second, 0, 59);
    if (expect(tp, '.'))
        return parse_fraction(tp, c);
    return 0;
}

/*
 * "Z" or "+HH:MM" / "-HH:MM", and "+HH:MM:SS" as chime_time_format writes for
 * offsets with seconds (local mean time); *has = false when absent.
 */
static int parse_offset(struct tparse *tp, bool *has, int32_t *off)
{
    int sign, h, m, s = 0;
    *has = false;
    if (expect(tp, 'Z') || expect(tp, 'z')) {
        *has = true;
        *off = 0;
        return 0;
    }
    if (*tp->p != '+' && *tp->p != '-')
        return 0;
    sign = *tp->p++ == '-' ? -1 : 1;
    if (!digits(tp, 2, 2, &h) || !expect(tp, ':') || !digits(tp, 2, 2, &m))
        return fail(tp, "malformed UTC offset");
    if (h > 23)
        return fail_range(tp, "offset hour", h, 0, 23);
    if (m > 59)
        return fail_range(tp, "offset minute", m, 0, 59);
    if (expect(tp, ':') && (!digits(tp, 2, 2, &s) || s > 59))
        return fail(tp, "malformed seconds of the UTC offset");
    *has = true;
    *off = sign * (h * 3600 + m * 60 + s);
    return 0;
}

/* Date, then optionally a separator, clock and offset; nothing may follow. */
static int parse_text(struct tparse *tp, struct chime_civil *c, bool *has_off, int32_t *off)
{
    int rc = parse_date(tp, c);
    *has_off = false;
    if (rc < 0 || *tp->p == '\0')
        return rc;
    if (*tp->p != 'T' && *tp->p != 't' && *tp->p != ' ')
        return fail(tp, "unexpected characters after the date");
    tp->p++;
    if ((rc = parse_clock(tp, c)) < 0 || (rc = parse_offset(tp, has_off, off)) < 0)
        return rc;
    if (*tp->p != '\0')
        return fail(tp, "unexpected trailing characters");
    return 0;
}

int chime_time_parse(const char *text, const struct chime_zone *default_zone, const char *field,
                     chime_utime *out, bool *out_has_offset, struct chime_diag *diag)
{
    struct tparse tp = { text ? text : "", text ? text : "", field ? field : "time", diag };
    struct chime_civil c = { 0 };
    bool has_off;
    int32_t off = 0;
    if (*tp.text == '\0')
        return chime_diag_set(diag, CHIME_EINVAL, tp.field, "%s: empty time", tp.field);
    int rc = parse_text(&tp, &c, &has_off, &off);
    if (rc < 0)
        return rc;
    if (!has_off && !default_zone)
        return fail(&tp, "missing UTC offset");
    chime_utime t;
    if (has_off) {
        t = chime_civil_to_utime(&c, off);
    } else {
        /* The gap moves forward, the fold takes its first occurrence. */
        struct chime_local_result r;
        chime_zone_from_local(default_zone, &c, &r);
        t = r.earlier;
    }
    struct chime_civil utc;
    chime_civil_from_utime(t, 0, &utc);
    if (utc.year < CHIME_MIN_YEAR || utc.year > CHIME_MAX_YEAR)
        return fail(&tp, "instant outside years 1..9999 UTC");
    *out = t;
    if (out_has_offset)
        *out_has_offset = has_off;
    return 0;
}

char *chime_time_format(chime_utime t, const struct chime_zone *zone, char *buf)
{
    struct chime_civil c;
    int32_t off;
    chime_zone_to_local(zone ? zone : chime_zone_utc(), t, &c, &off);
    int n = snprintf(buf, CHIME_TIME_FORMAT_MAX, "%04d-%02d-%02dT%02d:%02d:%02d", c.year, c.month,
                     c.day, c.hour, c.minute, c.second);
    if (c.usec)
        n += snprintf(buf + n, CHIME_TIME_FORMAT_MAX - (size_t)n, ".%06d", c.usec);
    char sign = off < 0 ? '-' : '+';
    int32_t a = off < 0 ? -off : off;
    n += snprintf(buf + n, CHIME_TIME_FORMAT_MAX - (size_t)n, "%c%02d:%02d", sign, (int)(a / 3600),
                  (int)(a / 60 % 60));
    if (a % 60)
        snprintf(buf + n, CHIME_TIME_FORMAT_MAX - (size_t)n, ":%02d", (int)(a % 60));
    return buf;
}
