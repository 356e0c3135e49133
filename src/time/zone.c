/*
 * Zone queries: the UTC offset at an instant (a binary search over the
 * transition table, then the POSIX rule past its end), instant -> wall time,
 * and wall time -> instants with the DST gap and fold made explicit. These
 * are on the scheduler's hot path: no allocation, no locking (zones are
 * immutable once built).
 */
#include "time/tz_internal.h"

/* Resolving a wall time looks at transitions within this many seconds of it. */
#define FROM_LOCAL_WINDOW_S (2 * CHIME__SEC_PER_DAY)
#define FROM_LOCAL_SEGMENTS 32

static const struct chime_zone utc_zone = { .name = "UTC" };

const struct chime_zone *chime_zone_utc(void)
{
    return &utc_zone;
}

const char *chime_zone_name(const struct chime_zone *zone)
{
    return zone->name;
}

/* Index of the first transition strictly after s (n_trans if none). */
static size_t first_after(const struct chime_zone *zone, int64_t s)
{
    size_t lo = 0, hi = zone->n_trans;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (zone->trans_s[mid] <= s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int32_t chime__zone_offset_s(const struct chime_zone *zone, int64_t s)
{
    size_t n = zone->n_trans;
    if (n == 0)
        return zone->has_rule ? chime__tz_rule_offset(&zone->rule, s) : zone->initial_off;
    if (s >= zone->trans_s[n - 1] && zone->has_rule)
        return chime__tz_rule_offset(&zone->rule, s);
    size_t i = first_after(zone, s);
    return i == 0 ? zone->initial_off : zone->trans_off[i - 1];
}

int32_t chime_zone_offset_at(const struct chime_zone *zone, chime_utime t)
{
    return chime__zone_offset_s(zone, chime__utime_to_s(t));
}

void chime_zone_to_local(const struct chime_zone *zone, chime_utime t, struct chime_civil *out,
                         int32_t *out_offset)
{
    int32_t off = chime_zone_offset_at(zone, t);
    chime_civil_from_utime(t, off, out);
    if (out_offset)
        *out_offset = off;
}

/*
 * The offsets in effect over [lo, hi]: seg[0] holds from before lo, every
 * later entry from its own start. Returns the number of segments (>= 1).
 */
static size_t zone_segments(const struct chime_zone *zone, int64_t lo, int64_t hi,
                            struct chime__tz_segment *seg, size_t max)
{
    size_t n = zone->n_trans, k = 1;
    seg[0].start_s = lo;
    seg[0].off = chime__zone_offset_s(zone, lo);
    for (size_t i = first_after(zone, lo); i < n && zone->trans_s[i] <= hi && k < max; i++) {
        seg[k].start_s = zone->trans_s[i];
        seg[k].off = chime__zone_offset_s(zone, zone->trans_s[i]);
        k++;
    }
    if (zone->has_rule) {
        int64_t after = n > 0 && zone->trans_s[n - 1] > lo ? zone->trans_s[n - 1] : lo;
        k += chime__tz_rule_segments(&zone->rule, after, hi, seg + k, max - k);
    }
    return k;
}

/* A wall time in no segment: the transition whose gap holds it, read with its pre-offset. */
static int64_t gap_resolve(const struct chime__tz_segment *seg, size_t n, int64_t wall)
{
    for (size_t k = 1; k < n; k++) {
        int64_t t = seg[k].start_s;
        if (wall - seg[k - 1].off >= t && wall - seg[k].off < t)
            return wall - seg[k - 1].off;
    }
    return wall - seg[0].off; /* unreachable with sane data */
}

void chime_zone_from_local(const struct chime_zone *zone, const struct chime_civil *local,
                           struct chime_local_result *out)
{
    struct chime__tz_segment seg[FROM_LOCAL_SEGMENTS];
    int64_t wall =
            chime_civil_days_from_date(local->year, local->month, local->day) * CHIME__SEC_PER_DAY +
            (int64_t)local->hour * 3600 + local->minute * 60 + local->second;
    size_t n = zone_segments(zone, wall - FROM_LOCAL_WINDOW_S, wall + FROM_LOCAL_WINDOW_S, seg,
                             FROM_LOCAL_SEGMENTS);
    int found = 0;
    int64_t first = 0, last = 0;
    for (size_t k = 0; k < n; k++) {
        int64_t u = wall - seg[k].off;
        if ((k > 0 && u < seg[k].start_s) || (k + 1 < n && u >= seg[k + 1].start_s))
            continue;
        if (found++ == 0)
            first = u;
        last = u;
    }
    if (found == 0) {
        /* Spring forward: the wall time moves forward by the gap's length. */
        first = last = gap_resolve(seg, n, wall);
        out->kind = CHIME_LOCAL_GAP;
    } else {
        out->kind = found == 1 ? CHIME_LOCAL_UNIQUE : CHIME_LOCAL_FOLD;
    }
    out->earlier = first * CHIME_USEC_PER_SEC + local->usec;
    out->later = last * CHIME_USEC_PER_SEC + local->usec;
    out->gap_pre_offset = out->earlier;
}
