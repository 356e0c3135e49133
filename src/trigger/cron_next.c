/*
 * Next fire time of a cron spec. The search runs on wall-clock (civil) time
 * in the trigger's zone and jumps field by field: the next allowed year, then
 * month, day, hour, minute and second, each found with a bit scan, so its
 * cost is bounded (no per-second or per-minute loop) up to year 9999. The
 * wall time found is then resolved to an instant under chime's DST policy: a
 * wall time inside a spring-forward gap does not exist and is skipped; a wall
 * time that occurs twice (fall back) fires once, at its first occurrence.
 */
#include "trigger/trigger_internal.h"

static int next_bit(uint64_t bits, int v, int max)
{
    if (v > max || v > 63)
        return -1;
    uint64_t masked = bits & (~0ULL << v);
    if (!masked)
        return -1;
    int b = __builtin_ctzll(masked);
    return b <= max ? b : -1;
}

static int next_year(const struct chime__cron *cron, int year)
{
    int i = year < CHIME__CRON_YEAR_MIN ? 0 : year - CHIME__CRON_YEAR_MIN;
    for (int w = i / 64; w < CHIME__CRON_YEAR_WORDS; w++) {
        uint64_t bits = cron->years[w];
        if (w == i / 64)
            bits &= ~0ULL << (i % 64);
        if (bits)
            return CHIME__CRON_YEAR_MIN + w * 64 + __builtin_ctzll(bits);
    }
    return -1;
}

static int iso_weeks_in_year(int year)
{
    int jan1 = chime_civil_weekday(chime_civil_days_from_date(year, 1, 1));
    return (jan1 == 3 || (jan1 == 2 && chime_civil_is_leap(year))) ? 53 : 52;
}

static int iso_week(int year, int64_t days, int weekday)
{
    int doy = (int)(days - chime_civil_days_from_date(year, 1, 1)) + 1;
    int week = (doy - (weekday + 1) + 10) / 7;
    if (week < 1)
        return iso_weeks_in_year(year - 1);
    if (week > iso_weeks_in_year(year))
        return 1;
    return week;
}

static bool day_field_matches(const struct chime__cron *cron, int day, int dim, int weekday)
{
    if ((cron->bits[CHIME__CF_DAY] >> day) & 1)
        return true;
    if (cron->day_last && day == dim)
        return true;
    uint8_t pos = cron->day_pos[weekday];
    if ((pos >> ((day - 1) / 7)) & 1)
        return true;
    return (pos & 0x20) && day + 7 > dim;
}

bool chime__cron_date_matches(const struct chime__cron *cron, int year, int month, int day)
{
    int64_t days = chime_civil_days_from_date(year, month, day);
    int weekday = chime_civil_weekday(days);
    bool dow = (cron->bits[CHIME__CF_DOW] >> weekday) & 1;
    if (!dow && !cron->day_or_dow)
        return false;
    bool dom = day_field_matches(cron, day, chime_civil_days_in_month(year, month), weekday);
    if (!(cron->day_or_dow ? (dom || dow) : dom))
        return false;
    return (cron->bits[CHIME__CF_WEEK] >> iso_week(year, days, weekday)) & 1;
}

/* The smallest allowed time of day >= (h, m, s); false if none that day. */
static bool find_time(const struct chime__cron *cron, struct chime_civil *c)
{
    int h = c->hour, m = c->minute, s = c->second;
    for (;;) {
        int nh = next_bit(cron->bits[CHIME__CF_HOUR], h, 23);
        if (nh < 0)
            return false;
        if (nh != h) {
            h = nh;
            m = s = 0;
        }
        int nm = next_bit(cron->bits[CHIME__CF_MINUTE], m, 59);
        if (nm < 0) {
            h++;
            m = s = 0;
            continue;
        }
        if (nm != m) {
            m = nm;
            s = 0;
        }
        int ns = next_bit(cron->bits[CHIME__CF_SECOND], s, 59);
        if (ns < 0) {
            m++;
            s = 0;
            continue;
        }
        c->hour = h;
        c->minute = m;
        c->second = ns;
        return true;
    }
}

static void reset_time(struct chime_civil *c)
{
    c->hour = c->minute = c->second = 0;
}

/* False when no day of a month with dim days can match the day field (e.g. day=30 in Feb). */
static bool month_may_match(const struct chime__cron *cron, int dim)
{
    if (cron->day_or_dow || cron->day_last)
        return true;
    for (int w = 0; w < 7; w++)
        if (cron->day_pos[w])
            return true;
    return (cron->bits[CHIME__CF_DAY] & ((2ULL << dim) - 2)) != 0;
}

/* Searches c->year from (month, day, time) on; fills c on success. */
static bool find_in_year(const struct chime__cron *cron, struct chime_civil *c)
{
    for (int m = next_bit(cron->bits[CHIME__CF_MONTH], c->month, 12); m > 0;
         m = next_bit(cron->bits[CHIME__CF_MONTH], m + 1, 12)) {
        if (m != c->month) {
            c->month = m;
            c->day = 1;
            reset_time(c);
        }
        int dim = chime_civil_days_in_month(c->year, m);
        for (; c->day <= dim && month_may_match(cron, dim); c->day++) {
            if (chime__cron_date_matches(cron, c->year, m, c->day) && find_time(cron, c))
                return true;
            reset_time(c);
        }
    }
    return false;
}

/*
 * The Gregorian calendar repeats every 400 years (146097 days, a whole number
 * of weeks), so a year whose every date fails the date fields fails again 400
 * years later: such years are remembered and skipped, which bounds a search
 * that finds nothing to 400 year scans whatever the horizon.
 */
bool chime__cron_find(const struct chime__cron *cron, const struct chime_civil *from,
                      struct chime_civil *out)
{
    uint64_t dead[7] = { 0 }; /* bit y % 400: year y has no matching date */
    struct chime_civil c = *from;
    c.usec = 0;
    for (int y = next_year(cron, c.year); y > 0; y = next_year(cron, c.year + 1)) {
        if (y != c.year) {
            c.year = y;
            c.month = c.day = 1;
            reset_time(&c);
        }
        bool whole = c.month == 1 && c.day == 1 && c.hour == 0 && c.minute == 0 && c.second == 0;
        int k = y % 400;
        if (whole && ((dead[k / 64] >> (k % 64)) & 1)) {
            c.month = 13;
            continue;
        }
        if (find_in_year(cron, &c)) {
            *out = c;
            return true;
        }
        if (whole)
            dead[k / 64] |= 1ULL << (k % 64);
        c.month = 13; /* the year is exhausted: move on */
    }
    return false;
}

/* 1969-12-30T00:00:00Z: no cron match (years >= 1970 in any zone) comes earlier. */
#define EARLIEST_START (-2 * 86400 * CHIME_USEC_PER_SEC)
/* 10000-01-01T00:00:00Z plus a day: every instant of year 9999 in any zone is earlier. */
#define LATEST_START (253402387200LL * CHIME_USEC_PER_SEC)

static chime_utime ceil_second(chime_utime t)
{
    chime_utime r = t % CHIME_USEC_PER_SEC;
    if (r == 0)
        return t;
    return r > 0 ? t - r + CHIME_USEC_PER_SEC : t - r;
}

/*
 * When t lies in the second pass of a fall-back fold, every wall time from
 * here to the fold's end already had its first occurrence: move t to the end
 * of the fold. The transition is found by bisection on the zone's offset.
 */
static chime_utime skip_second_pass(const struct chime_zone *zone, chime_utime t)
{
    struct chime_civil c;
    struct chime_local_result r;
    chime_zone_to_local(zone, t, &c, NULL);
    c.usec = 0;
    chime_zone_from_local(zone, &c, &r);
    if (r.kind != CHIME_LOCAL_FOLD || t < r.later)
        return t;
    chime_utime delta = r.later - r.earlier;
    chime_utime lo = t - delta, hi = t;
    int32_t off_hi = chime_zone_offset_at(zone, hi);
    while (hi - lo > 1) {
        chime_utime mid = lo + (hi - lo) / 2;
        if (chime_zone_offset_at(zone, mid) == off_hi)
            hi = mid;
        else
            lo = mid;
    }
    return hi + delta;
}

static chime_utime search_start(const struct chime_trigger *trig, chime_utime prev, chime_utime now)
{
    chime_utime start;
    if (prev != CHIME_UTIME_NONE) {
        /* APS-COMPAT: start = min(now, prev + 1 µs), never prev itself. */
        start = prev < LATEST_START && prev + 1 < now ? prev + 1 : now;
        if (start == prev)
            start++;
    } else {
        start = trig->start != CHIME_UTIME_NONE && trig->start > now ? trig->start : now;
    }
    return start < EARLIEST_START ? EARLIEST_START : start;
}

chime_utime chime__cron_next(const struct chime_trigger *trig, chime_utime prev, chime_utime now)
{
    chime_utime t = search_start(trig, prev, now);
    if (t >= LATEST_START)
        return CHIME_UTIME_NONE;
    t = skip_second_pass(trig->zone, ceil_second(t));
    /* Each round either returns or steps past one DST gap or fold. */
    for (int round = 0; round < 100000; round++) {
        struct chime_civil local, wall;
        struct chime_local_result r;
        chime_zone_to_local(trig->zone, t, &local, NULL);
        if (!chime__cron_find(trig->cron, &local, &wall))
            return CHIME_UTIME_NONE;
        chime_zone_from_local(trig->zone, &wall, &r);
        if (r.kind == CHIME_LOCAL_GAP || r.earlier < t) {
            /* A gap: the wall time does not exist today; go on from the gap's end. */
            t = r.earlier > t ? r.earlier : t + CHIME_USEC_PER_SEC;
            continue;
        }
        if (trig->end != CHIME_UTIME_NONE && r.earlier > trig->end)
            return CHIME_UTIME_NONE;
        return r.earlier;
    }
    return CHIME_UTIME_NONE;
}
