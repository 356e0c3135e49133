/*
 * Next fire time of a cron spec. The search runs on wall-clock (civil) time
 * in the trigger's zone and jumps field by field: the next allowed year (a
 * bit scan), then for each allowed month the set of matching days as one
 * 32-bit mask (day, weekday, ISO week and positional rules combined with bit
 * operations), whose lowest bit at or after the current day is the next date,
 * then hour, minute and second by bit scans. Nothing loops per day, minute or
 * second, and years whose calendar already failed are skipped, so the cost is
 * bounded up to year 9999 (chime__cron_find_counted reports it in steps). The
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

/* The first allowed year >= year, or -1 when none up to 9999. */
static int next_year(const struct chime__cron *cron, int year)
{
    int i = year < CHIME__CRON_YEAR_MIN ? 0 : year - CHIME__CRON_YEAR_MIN;
    for (int w = i / 64; w < CHIME__CRON_YEAR_WORDS; w++) {
        uint64_t bits = cron->years[w];
        if (w == i / 64)
            bits &= ~0ULL << (i % 64);
        if (bits) {
            int y = CHIME__CRON_YEAR_MIN + w * 64 + __builtin_ctzll(bits);
            return y <= CHIME__CRON_YEAR_MAX ? y : -1;
        }
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

/* Bits first..last (1 <= first <= last <= 31) of a day mask. */
static uint32_t day_range(int first, int last)
{
    return (uint32_t)((2ULL << last) - (1ULL << first));
}

/* The days of a month whose weekday is in wd (bit 0 = Monday); w1 is the 1st's weekday. */
static uint32_t weekday_days(unsigned wd, int w1, int dim)
{
    /* Bit k of pat: the weekday of day k + 1, i.e. (w1 + k) % 7, is in wd. */
    uint64_t pat = ((wd >> w1) | (wd << (7 - w1))) & 0x7f;
    uint64_t rep = pat | pat << 7 | pat << 14 | pat << 21 | pat << 28;
    return (uint32_t)(rep << 1) & day_range(1, dim);
}

/* "1st".."5th <weekday>" and "last <weekday>": the nth (or last) such weekday of the month. */
static uint32_t position_days(const struct chime__cron *cron, int w1, int dim)
{
    uint32_t days = 0;
    for (int w = 0; w < 7; w++) {
        unsigned pos = cron->day_pos[w];
        if (!pos)
            continue;
        int n = 0;
        for (int d = (w - w1 + 7) % 7 + 1; d <= dim; d += 7, n++)
            if (((pos >> n) & 1) || ((pos & 0x20) && d + 7 > dim))
                days |= 1u << d;
    }
    return days;
}

#define ALL_WEEKS ((2ULL << 53) - 2) /* ISO weeks 1..53 */

/* The days of the month whose ISO week is allowed; day1 is the 1st as a day number. */
static uint32_t week_days(const struct chime__cron *cron, int year, int64_t day1, int w1, int dim)
{
    uint64_t weeks = cron->bits[CHIME__CF_WEEK];
    if ((weeks & ALL_WEEKS) == ALL_WEEKS)
        return day_range(1, dim);
    uint32_t days = 0;
    /* The month in runs of days sharing a week: from the 1st, then from each Monday. */
    for (int d = 1, wd = w1; d <= dim; d += 7 - wd, wd = 0) {
        int last = d + 6 - wd < dim ? d + 6 - wd : dim;
        if ((weeks >> iso_week(year, day1 + d - 1, wd)) & 1)
            days |= day_range(d, last);
    }
    return days;
}

/* The days of (year, month) that the year/month/day/week/day_of_week fields match: bit d = day d.
 */
static uint32_t month_days(const struct chime__cron *cron, int year, int month)
{
    int dim = chime_civil_days_in_month(year, month);
    int64_t day1 = chime_civil_days_from_date(year, month, 1);
    int w1 = chime_civil_weekday(day1);
    uint32_t dow = weekday_days((unsigned)cron->bits[CHIME__CF_DOW] & 0x7f, w1, dim);
    uint32_t dom = ((uint32_t)cron->bits[CHIME__CF_DAY] & day_range(1, dim)) |
                   position_days(cron, w1, dim);
    if (cron->day_last)
        dom |= 1u << dim;
    /* The day fields must all match, except crontab(5)'s rule: day-of-month OR day-of-week. */
    uint32_t days = cron->day_or_dow ? (dom | dow) : (dom & dow);
    return days ? days & week_days(cron, year, day1, w1, dim) : 0;
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

/* Searches c->year from (month, day, time) on; fills c on success. */
static bool find_in_year(const struct chime__cron *cron, struct chime_civil *c,
                         struct chime__cron_stats *stats)
{
    for (int m = next_bit(cron->bits[CHIME__CF_MONTH], c->month, 12); m > 0;
         m = next_bit(cron->bits[CHIME__CF_MONTH], m + 1, 12)) {
        if (m != c->month) {
            c->month = m;
            c->day = 1;
            reset_time(c);
        }
        stats->months++;
        uint32_t days = month_days(cron, c->year, m) & (uint32_t)(~0ULL << c->day);
        /* At most two rounds: only the starting day can have no allowed time left. */
        for (; days; days &= days - 1) {
            int d = __builtin_ctz(days);
            if (d != c->day) {
                c->day = d;
                reset_time(c);
            }
            if (find_time(cron, c))
                return true;
        }
    }
    return false;
}

/*
 * Which dates of year y the date fields match depends only on the year's
 * calendar: the weekday of January 1st, whether y is a leap year, and (for
 * the ISO weeks of early January) whether y - 1 was: 7 * 3 kinds of year.
 */
static int year_kind(int year)
{
    int jan1 = chime_civil_weekday(chime_civil_days_from_date(year, 1, 1));
    int leap = chime_civil_is_leap(year) ? 1 : chime_civil_is_leap(year - 1) ? 2 : 0;
    return jan1 * 3 + leap;
}

#define ALL_YEAR_KINDS ((1u << 21) - 1)

/*
 * A year searched from its first second that has no match marks its kind
 * dead: later years of that kind are skipped without a month scan, and once
 * all 21 kinds are dead nothing can ever match. So at most 22 years get their
 * months scanned (the first, partial one and one per kind), whatever the
 * horizon.
 */
bool chime__cron_find_counted(const struct chime__cron *cron, const struct chime_civil *from,
                              struct chime_civil *out, struct chime__cron_stats *stats)
{
    uint32_t dead = 0; /* bit k: years of kind k have no matching date */
    struct chime_civil c = *from;
    c.usec = 0;
    for (int y = next_year(cron, c.year); y > 0 && dead != ALL_YEAR_KINDS;
         y = next_year(cron, c.year + 1)) {
        stats->years++;
        if (y != c.year) {
            c.year = y;
            c.month = c.day = 1;
            reset_time(&c);
        }
        bool whole = c.month == 1 && c.day == 1 && c.hour == 0 && c.minute == 0 && c.second == 0;
        uint32_t kind = 1u << year_kind(y);
        if (whole && (dead & kind))
            continue;
        if (find_in_year(cron, &c, stats)) {
            *out = c;
            return true;
        }
        if (whole)
            dead |= kind;
    }
    return false;
}

bool chime__cron_find(const struct chime__cron *cron, const struct chime_civil *from,
                      struct chime_civil *out)
{
    struct chime__cron_stats stats = { 0 };
    return chime__cron_find_counted(cron, from, out, &stats);
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

/*
 * The first instant after the DST gap holding the wall time `wall`, whose
 * reading with the offset before the transition is pre_reading: the
 * transition lies within one gap length before that reading (the offset
 * changes there), found by bisection on the zone's offset.
 */
static chime_utime gap_end(const struct chime_zone *zone, const struct chime_civil *wall,
                           chime_utime pre_reading)
{
    int32_t off_post = chime_zone_offset_at(zone, pre_reading);
    chime_utime off_pre_us = chime_civil_to_utime(wall, 0) - pre_reading;
    chime_utime gap_us = (chime_utime)off_post * CHIME_USEC_PER_SEC - off_pre_us;
    if (gap_us <= 0)
        return pre_reading;
    chime_utime lo = pre_reading - gap_us, hi = pre_reading;
    while (hi - lo > 1) {
        chime_utime mid = lo + (hi - lo) / 2;
        if (chime_zone_offset_at(zone, mid) == off_post)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
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

chime_utime chime__cron_next_counted(const struct chime_trigger *trig, chime_utime prev,
                                     chime_utime now, struct chime__cron_stats *stats)
{
    chime_utime t = search_start(trig, prev, now);
    if (t >= LATEST_START)
        return CHIME_UTIME_NONE;
    t = skip_second_pass(trig->zone, ceil_second(t));
    /* Each round either returns or steps past one DST gap or fold. */
    for (int round = 0; round < 100000; round++) {
        struct chime_civil local, wall;
        struct chime_local_result r;
        stats->rounds++;
        chime_zone_to_local(trig->zone, t, &local, NULL);
        if (!chime__cron_find_counted(trig->cron, &local, &wall, stats))
            return CHIME_UTIME_NONE;
        chime_zone_from_local(trig->zone, &wall, &r);
        if (r.kind == CHIME_LOCAL_GAP) {
            /* The wall time does not exist today: go on from the first instant after
             * the gap, where wall times that do exist may still match. */
            chime_utime end = gap_end(trig->zone, &wall, r.gap_pre_offset);
            t = end > t ? end : t + CHIME_USEC_PER_SEC;
            continue;
        }
        if (r.earlier < t) {
            t += CHIME_USEC_PER_SEC;
            continue;
        }
        if (trig->end != CHIME_UTIME_NONE && r.earlier > trig->end)
            return CHIME_UTIME_NONE;
        return r.earlier;
    }
    return CHIME_UTIME_NONE;
}

chime_utime chime__cron_next(const struct chime_trigger *trig, chime_utime prev, chime_utime now)
{
    struct chime__cron_stats stats = { 0 };
    return chime__cron_next_counted(trig, prev, now, &stats);
}
