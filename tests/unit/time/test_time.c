/*
 * Unit tests of src/time: civil arithmetic, RFC 3339 parse/format, TZif zones
 * with their POSIX footers (offsets checked against known truth), DST gap and
 * fold resolution, zone lookup safety, allocation failure and thread safety.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "time/tz.h"
#include "time/tz_internal.h"

#define H    3600
#define USEC CHIME_USEC_PER_SEC

/* Instant of a UTC civil time, through the code under test's own inverse checked elsewhere. */
static chime_utime utc(int y, int mo, int d, int h, int mi, int s)
{
    struct chime_civil c = { y, mo, d, h, mi, s, 0 };
    return chime_civil_to_utime(&c, 0);
}

static void test_civil_days_known_dates(void **state)
{
    (void)state;
    assert_int_equal(chime_civil_days_from_date(1970, 1, 1), 0);
    assert_int_equal(chime_civil_days_from_date(2000, 3, 1), 11017);
    assert_int_equal(chime_civil_days_from_date(1969, 12, 31), -1);
    assert_int_equal(chime_civil_days_from_date(1, 1, 1), -719162);
    assert_int_equal(chime_civil_days_from_date(9999, 12, 31), 2932896);
    /* 2026-11-28 is a Saturday (5 when Monday is 0); 1970-01-01 a Thursday. */
    assert_int_equal(chime_civil_weekday(chime_civil_days_from_date(2026, 11, 28)), 5);
    assert_int_equal(chime_civil_weekday(0), 3);
    assert_int_equal(chime_civil_weekday(chime_civil_days_from_date(1, 1, 1)), 0);
}

static void test_civil_round_trip_every_day_years_1_to_9999(void **state)
{
    (void)state;
    int64_t first = chime_civil_days_from_date(1, 1, 1);
    int64_t last = chime_civil_days_from_date(9999, 12, 31);
    int py = 0, pm = 12, pd = 31, wd = chime_civil_weekday(first);
    for (int64_t d = first; d <= last; d++) {
        int y, m, dd;
        chime_civil_date_from_days(d, &y, &m, &dd);
        assert_int_equal(chime_civil_days_from_date(y, m, dd), d);
        /* Each day follows the previous one in the calendar. */
        if (pd == chime_civil_days_in_month(py ? py : 1, pm)) {
            assert_int_equal(dd, 1);
            assert_int_equal(m, pm == 12 ? 1 : pm + 1);
            assert_int_equal(y, pm == 12 ? py + 1 : py);
        } else {
            assert_int_equal(dd, pd + 1);
        }
        assert_int_equal(chime_civil_weekday(d), wd);
        wd = (wd + 1) % 7;
        py = y, pm = m, pd = dd;
    }
    assert_int_equal(py, 9999);
}

static void test_civil_leap_years_and_month_lengths(void **state)
{
    (void)state;
    assert_true(chime_civil_is_leap(2000));
    assert_true(chime_civil_is_leap(2024));
    assert_false(chime_civil_is_leap(1900));
    assert_false(chime_civil_is_leap(2026));
    assert_int_equal(chime_civil_days_in_month(2024, 2), 29);
    assert_int_equal(chime_civil_days_in_month(2100, 2), 28);
    assert_int_equal(chime_civil_days_in_month(2026, 4), 30);
    assert_int_equal(chime_civil_days_in_month(2026, 12), 31);
}

static void test_civil_utime_round_trip_at_fixed_offsets(void **state)
{
    (void)state;
    const int32_t offs[] = { 0, 5 * H + 45 * 60, -3 * H, 12 * H + 45 * 60, -(25 * 60 + 21) };
    for (chime_utime t = -62135596800LL * USEC; t < 253402300799LL * USEC;
         t += 7777777777777LL + 123457) {
        for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
            struct chime_civil c;
            chime_civil_from_utime(t, offs[i], &c);
            assert_int_equal(chime_civil_to_utime(&c, offs[i]), t);
            assert_true(c.usec >= 0 && c.usec < 1000000);
        }
    }
    struct chime_civil c;
    chime_civil_from_utime(-1, 0, &c); /* one microsecond before the epoch */
    assert_int_equal(c.year, 1969);
    assert_int_equal(c.second, 59);
    assert_int_equal(c.usec, 999999);
    chime_civil_from_utime(utc(2026, 3, 29, 1, 0, 0), 2 * H, &c);
    assert_int_equal(c.hour, 3);
}

static void test_civil_check_rejects_out_of_range_fields(void **state)
{
    (void)state;
    struct chime_civil ok = { 2024, 2, 29, 23, 59, 59, 999999 };
    assert_int_equal(chime_civil_check(&ok), 0);
    struct chime_civil bad[] = {
        { 2026, 2, 29, 0, 0, 0, 0 }, { 2026, 13, 1, 0, 0, 0, 0 }, { 2026, 4, 31, 0, 0, 0, 0 },
        { 2026, 1, 1, 24, 0, 0, 0 }, { 2026, 1, 1, 0, 60, 0, 0 }, { 2026, 1, 1, 0, 0, 60, 0 },
        { 0, 1, 1, 0, 0, 0, 0 },     { 10000, 1, 1, 0, 0, 0, 0 }, { 2026, 1, 1, 0, 0, 0, 1000000 },
        { 2026, 0, 1, 0, 0, 0, 0 },  { 2026, 1, 0, 0, 0, 0, 0 },  { 2026, 1, 1, -1, 0, 0, 0 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(chime_civil_check(&bad[i]), CHIME_ERANGE);
}

static void assert_parses(const char *text, const struct chime_zone *zone, chime_utime want,
                          bool want_has_offset)
{
    chime_utime t = 0;
    bool has = !want_has_offset;
    struct chime_diag d;
    chime_diag_clear(&d);
    int rc = chime_time_parse(text, zone, "run_date", &t, &has, &d);
    if (rc != 0)
        fail_msg("%s: %s", text, d.message);
    assert_int_equal(t, want);
    assert_int_equal(has, want_has_offset);
}

static void test_time_parse_accepts_every_form(void **state)
{
    (void)state;
    chime_utime base = utc(2026, 11, 28, 16, 52, 15);
    assert_parses("2026-11-28T16:52:15Z", NULL, base, true);
    assert_parses("2026-11-28T16:52:15z", NULL, base, true);
    assert_parses("2026-11-28T16:52:15+00:00", NULL, base, true);
    assert_parses("2026-11-28 16:52:15+00:00", NULL, base, true);
    assert_parses("2026-11-28T22:37:15+05:45", NULL, base, true);
    assert_parses("2026-11-28T13:52:15-03:00", NULL, base, true);
    assert_parses("2026-11-28T16:52:15.767717+00:00", NULL, base + 767717, true);
    assert_parses("2026-11-28T16:52:15.7Z", NULL, base + 700000, true);
    assert_parses("2026-11-28T16:52:15.12Z", NULL, base + 120000, true);
    assert_parses("2026-11-28T16:52:15.123Z", NULL, base + 123000, true);
    assert_parses("2026-11-28T16:52:15.1234Z", NULL, base + 123400, true);
    assert_parses("2026-11-28T16:52:15.12345Z", NULL, base + 123450, true);
    assert_parses("2026-11-28T16:52:15.000001Z", NULL, base + 1, true);
    assert_parses("2026-11-28T16:26:54-00:25:21", NULL, base, true); /* as formatted for LMT */
    /* No offset: read in the default zone. */
    assert_parses("2026-11-28T16:52:15", chime_zone_utc(), base, false);
    assert_parses("2026-11-28", chime_zone_utc(), utc(2026, 11, 28, 0, 0, 0), false);
    assert_parses("2026-1-5 9:00:00", chime_zone_utc(), utc(2026, 1, 5, 9, 0, 0), false);
    assert_parses("2024-02-29T00:00:00Z", NULL, utc(2024, 2, 29, 0, 0, 0), true);
    assert_parses("0001-01-01T00:00:00Z", NULL, utc(1, 1, 1, 0, 0, 0), true);
    assert_parses("9999-12-31T23:59:59.999999Z", NULL, utc(9999, 12, 31, 23, 59, 59) + 999999,
                  true);
}

static void assert_rejects(const char *text, const struct chime_zone *zone, const char *what)
{
    chime_utime t = 42;
    struct chime_diag d;
    chime_diag_clear(&d);
    assert_int_equal(chime_time_parse(text, zone, "trigger_args.run_date", &t, NULL, &d),
                     CHIME_EINVAL);
    assert_int_equal(t, 42);
    assert_string_equal(d.field, "trigger_args.run_date");
    if (!strstr(d.message, "trigger_args.run_date") || !strstr(d.message, what))
        fail_msg("%s: message \"%s\" lacks \"%s\"", text, d.message, what);
}

static void test_time_parse_rejects_bad_input_naming_the_field(void **state)
{
    (void)state;
    const struct chime_zone *z = chime_zone_utc();
    assert_rejects("2026-13-01T00:00:00Z", z, "month 13");
    assert_rejects("2026-02-30T00:00:00Z", z, "day 30");
    assert_rejects("2026-02-29", z, "day 29");
    assert_rejects("2026-04-31", z, "day 31");
    assert_rejects("2026-01-01T24:00:00Z", z, "hour 24");
    assert_rejects("2026-01-01T23:60:00Z", z, "minute 60");
    assert_rejects("2026-01-01T23:59:60Z", z, "second 60");
    assert_rejects("garbage", z, "malformed date");
    assert_rejects("2026-01-01T00:00:00Zjunk", z, "trailing");
    assert_rejects("2026-01-01T00:00:00+00:00 ", z, "trailing");
    assert_rejects("2026-01-01x", z, "after the date");
    assert_rejects("2026-01-01T00:00:00+25:00", z, "offset hour 25");
    assert_rejects("2026-01-01T00:00:00+05:60", z, "offset minute 60");
    assert_rejects("2026-01-01T00:00:00+0500", z, "offset");
    assert_rejects("2026-01-01T00:00:00+05:00:6", z, "seconds of the UTC offset");
    assert_rejects("", z, "empty");
    assert_rejects("2026-01-01T00:00", z, "time of day");
    assert_rejects("2026-01-01T00:00:00.", z, "fraction");
    assert_rejects("2026-01-01T00:00:00.1234567Z", z, "fraction digits");
    assert_rejects("0000-01-01", z, "year 0");
    assert_rejects("0001-01-01T00:00:00+05:00", z, "outside years");
    assert_rejects("2026-01-01T00:00:00", NULL, "missing UTC offset");
    assert_rejects("26-01-01", z, "malformed date");
}

static void test_time_format_fraction_and_offsets(void **state)
{
    (void)state;
    char buf[CHIME_TIME_FORMAT_MAX];
    chime_utime t = utc(2026, 11, 28, 16, 52, 15);
    assert_string_equal(chime_time_format(t, chime_zone_utc(), buf), "2026-11-28T16:52:15+00:00");
    assert_string_equal(chime_time_format(t + 767717, NULL, buf),
                        "2026-11-28T16:52:15.767717+00:00");
    assert_string_equal(chime_time_format(t + 1, NULL, buf), "2026-11-28T16:52:15.000001+00:00");
    assert_string_equal(chime_time_format(utc(1, 1, 1, 0, 0, 0), NULL, buf),
                        "0001-01-01T00:00:00+00:00");
}

static void test_time_format_parse_round_trip(void **state)
{
    (void)state;
    char buf[CHIME_TIME_FORMAT_MAX];
    for (chime_utime t = utc(1, 1, 2, 0, 0, 0); t < utc(9999, 12, 30, 0, 0, 0);
         t += 3333333333333LL + 7) {
        chime_utime back = 0;
        bool has = false;
        assert_int_equal(
                chime_time_parse(chime_time_format(t, NULL, buf), NULL, "t", &back, &has, NULL), 0);
        assert_int_equal(back, t);
        assert_true(has);
    }
}

static const struct chime_zone *zone(const char *name)
{
    const struct chime_zone *z = NULL;
    int rc = chime_zone_find(name, &z);
    if (rc != 0)
        fail_msg("chime_zone_find(%s) = %d", name, rc);
    assert_string_equal(chime_zone_name(z), name);
    return z;
}

struct offset_truth {
    const char *zone;
    int y, mo, d, h, mi, s;
    int32_t off;
};

/* Offsets from Python's zoneinfo over the same tzdata (2025b). */
static const struct offset_truth truths[] = {
    { "Europe/Berlin", 2026, 3, 29, 1, 0, 0, 2 * H },
    { "Europe/Berlin", 2026, 3, 29, 0, 59, 59, 1 * H },
    { "Europe/Berlin", 2026, 10, 25, 0, 59, 59, 2 * H },
    { "Europe/Berlin", 2026, 10, 25, 1, 0, 0, 1 * H },
    { "Europe/Berlin", 2100, 3, 28, 1, 0, 0, 2 * H },
    { "Europe/Berlin", 2100, 3, 28, 0, 59, 59, 1 * H },
    { "Europe/Berlin", 9999, 7, 1, 0, 0, 0, 2 * H },
    { "Europe/Berlin", 9999, 12, 1, 0, 0, 0, 1 * H },
    { "America/New_York", 2026, 3, 8, 7, 0, 0, -4 * H },
    { "America/New_York", 2026, 3, 8, 6, 59, 59, -5 * H },
    { "America/New_York", 2100, 11, 7, 6, 0, 0, -5 * H },
    { "America/New_York", 2100, 11, 7, 5, 59, 59, -4 * H },
    { "Australia/Lord_Howe", 2026, 1, 15, 0, 0, 0, 11 * H },
    { "Australia/Lord_Howe", 2026, 7, 15, 0, 0, 0, 10 * H + 30 * 60 },
    { "Pacific/Chatham", 2026, 1, 15, 0, 0, 0, 13 * H + 45 * 60 },
    { "Pacific/Chatham", 2026, 7, 15, 0, 0, 0, 12 * H + 45 * 60 },
    { "Asia/Kolkata", 2026, 7, 1, 0, 0, 0, 5 * H + 30 * 60 },
    { "Asia/Kathmandu", 2026, 7, 1, 0, 0, 0, 5 * H + 45 * 60 },
    { "America/Sao_Paulo", 2026, 1, 15, 0, 0, 0, -3 * H },
    { "America/Sao_Paulo", 2018, 12, 1, 0, 0, 0, -2 * H },
    { "America/Sao_Paulo", 2100, 1, 15, 0, 0, 0, -3 * H },
    { "Europe/Dublin", 2026, 7, 1, 0, 0, 0, 1 * H },
    { "Europe/Dublin", 2026, 1, 15, 0, 0, 0, 0 },
    { "Europe/Dublin", 9999, 7, 1, 0, 0, 0, 1 * H },
    { "Europe/Dublin", 9999, 1, 15, 0, 0, 0, 0 },
    { "Europe/Dublin", 1900, 1, 1, 0, 0, 0, -(25 * 60 + 21) },
    { "America/Nuuk", 2050, 3, 27, 0, 59, 59, -2 * H },
    { "America/Nuuk", 2050, 3, 27, 1, 0, 0, -1 * H },
    { "America/Nuuk", 2050, 10, 30, 0, 59, 59, -1 * H },
    { "America/Nuuk", 2050, 10, 30, 1, 0, 0, -2 * H },
};

static void test_zone_offsets_match_known_truth(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(truths) / sizeof(truths[0]); i++) {
        const struct offset_truth *k = &truths[i];
        const struct chime_zone *z = zone(k->zone);
        chime_utime t = utc(k->y, k->mo, k->d, k->h, k->mi, k->s);
        int32_t got = chime_zone_offset_at(z, t);
        if (got != k->off)
            fail_msg("%s %04d-%02d-%02d %02d:%02d:%02dZ: offset %d, want %d", k->zone, k->y, k->mo,
                     k->d, k->h, k->mi, k->s, got, k->off);
        struct chime_civil c;
        int32_t off = 0;
        chime_zone_to_local(z, t + 5, &c, &off);
        assert_int_equal(off, k->off);
        assert_int_equal(chime_civil_to_utime(&c, off), t + 5);
    }
}

static void test_zone_extended_table_agrees_with_footer_rule(void **state)
{
    (void)state;
    const char *names[] = { "Europe/Berlin",   "America/New_York", "Australia/Lord_Howe",
                            "Pacific/Chatham", "Europe/Dublin",    "America/Nuuk" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const struct chime_zone *z = zone(names[i]);
        assert_true(z->has_rule);
        long changes = 0;
        int32_t prev = 0;
        for (int64_t s = 2145916800LL; s < 7289654400LL; s += 5 * 3600 + 13 * 60 + 7) {
            int32_t off = chime_zone_offset_at(z, s * USEC);
            if (off != chime__tz_rule_offset(&z->rule, s))
                fail_msg("%s at %lld: table %d, rule %d", names[i], (long long)s, off,
                         chime__tz_rule_offset(&z->rule, s));
            changes += off != prev;
            prev = off;
        }
        assert_true(changes > 2 * 160); /* DST every year 2038..2200 */
    }
}

static void test_zone_format_in_zone_offsets(void **state)
{
    (void)state;
    char buf[CHIME_TIME_FORMAT_MAX];
    chime_utime t = utc(2026, 7, 1, 0, 0, 0);
    assert_string_equal(chime_time_format(t, zone("Asia/Kathmandu"), buf),
                        "2026-07-01T05:45:00+05:45");
    assert_string_equal(chime_time_format(t, zone("Pacific/Chatham"), buf),
                        "2026-07-01T12:45:00+12:45");
    assert_string_equal(chime_time_format(t + 250000, zone("America/New_York"), buf),
                        "2026-06-30T20:00:00.250000-04:00");
    assert_string_equal(chime_time_format(utc(1900, 1, 1, 0, 0, 0), zone("Europe/Dublin"), buf),
                        "1899-12-31T23:34:39-00:25:21");
}

struct local_truth {
    const char *zone;
    int y, mo, d, h, mi;
    enum chime_local_kind kind;
    chime_utime earlier, later; /* filled from UTC civil below */
    int ey, emo, ed, eh, emi;   /* earlier, UTC */
    int ly, lmo, ld, lh, lmi;   /* later, UTC */
};

/* From Python's zoneinfo: fold=0 in a gap is the pre-transition reading. */
static const struct local_truth local_truths[] = {
    { "Europe/Berlin", 2026, 3, 29, 2, 30, CHIME_LOCAL_GAP, 0, 0, 2026, 3, 29, 1, 30, 2026, 3, 29,
      1, 30 },
    { "Europe/Berlin", 2026, 10, 25, 2, 30, CHIME_LOCAL_FOLD, 0, 0, 2026, 10, 25, 0, 30, 2026, 10,
      25, 1, 30 },
    { "Europe/Berlin", 2026, 7, 1, 12, 0, CHIME_LOCAL_UNIQUE, 0, 0, 2026, 7, 1, 10, 0, 2026, 7, 1,
      10, 0 },
    { "America/New_York", 2026, 3, 8, 2, 30, CHIME_LOCAL_GAP, 0, 0, 2026, 3, 8, 7, 30, 2026, 3, 8,
      7, 30 },
    { "America/New_York", 2026, 11, 1, 1, 30, CHIME_LOCAL_FOLD, 0, 0, 2026, 11, 1, 5, 30, 2026, 11,
      1, 6, 30 },
    { "Australia/Lord_Howe", 2026, 10, 4, 2, 15, CHIME_LOCAL_GAP, 0, 0, 2026, 10, 3, 15, 45, 2026,
      10, 3, 15, 45 },
    { "Australia/Lord_Howe", 2026, 4, 5, 1, 45, CHIME_LOCAL_FOLD, 0, 0, 2026, 4, 4, 14, 45, 2026, 4,
      4, 15, 15 },
    { "Australia/Lord_Howe", 2026, 4, 5, 2, 0, CHIME_LOCAL_UNIQUE, 0, 0, 2026, 4, 4, 15, 30, 2026,
      4, 4, 15, 30 },
    { "Pacific/Chatham", 2026, 9, 27, 3, 0, CHIME_LOCAL_GAP, 0, 0, 2026, 9, 26, 14, 15, 2026, 9, 26,
      14, 15 },
    { "Pacific/Chatham", 2026, 4, 5, 3, 0, CHIME_LOCAL_FOLD, 0, 0, 2026, 4, 4, 13, 15, 2026, 4, 4,
      14, 15 },
    { "Europe/Berlin", 2100, 3, 28, 2, 30, CHIME_LOCAL_GAP, 0, 0, 2100, 3, 28, 1, 30, 2100, 3, 28,
      1, 30 },
    { "Europe/Berlin", 2100, 10, 31, 2, 30, CHIME_LOCAL_FOLD, 0, 0, 2100, 10, 31, 0, 30, 2100, 10,
      31, 1, 30 },
    { "Europe/Berlin", 9999, 3, 28, 2, 30, CHIME_LOCAL_GAP, 0, 0, 9999, 3, 28, 1, 30, 9999, 3, 28,
      1, 30 },
    { "Europe/Berlin", 9999, 10, 31, 2, 30, CHIME_LOCAL_FOLD, 0, 0, 9999, 10, 31, 0, 30, 9999, 10,
      31, 1, 30 },
    { "America/New_York", 9999, 11, 7, 1, 30, CHIME_LOCAL_FOLD, 0, 0, 9999, 11, 7, 5, 30, 9999, 11,
      7, 6, 30 },
    /* Past 2037 the fat files' tables end: these come from the POSIX footers. */
    { "Australia/Lord_Howe", 2090, 10, 1, 2, 15, CHIME_LOCAL_GAP, 0, 0, 2090, 9, 30, 15, 45, 2090,
      9, 30, 15, 45 },
    { "Australia/Lord_Howe", 2090, 4, 2, 1, 45, CHIME_LOCAL_FOLD, 0, 0, 2090, 4, 1, 14, 45, 2090, 4,
      1, 15, 15 },
    { "Pacific/Chatham", 2090, 9, 24, 3, 0, CHIME_LOCAL_GAP, 0, 0, 2090, 9, 23, 14, 15, 2090, 9, 23,
      14, 15 },
    { "Pacific/Chatham", 2090, 4, 2, 3, 0, CHIME_LOCAL_FOLD, 0, 0, 2090, 4, 1, 13, 15, 2090, 4, 1,
      14, 15 },
    { "Europe/Dublin", 2026, 3, 29, 1, 30, CHIME_LOCAL_GAP, 0, 0, 2026, 3, 29, 1, 30, 2026, 3, 29,
      1, 30 },
    { "Europe/Dublin", 2026, 10, 25, 1, 30, CHIME_LOCAL_FOLD, 0, 0, 2026, 10, 25, 0, 30, 2026, 10,
      25, 1, 30 },
};

static void test_zone_from_local_gap_and_fold(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(local_truths) / sizeof(local_truths[0]); i++) {
        const struct local_truth *k = &local_truths[i];
        struct chime_civil c = { k->y, k->mo, k->d, k->h, k->mi, 0, 123 };
        struct chime_local_result r;
        chime_zone_from_local(zone(k->zone), &c, &r);
        chime_utime e = utc(k->ey, k->emo, k->ed, k->eh, k->emi, 0) + 123;
        chime_utime l = utc(k->ly, k->lmo, k->ld, k->lh, k->lmi, 0) + 123;
        if (r.kind != k->kind || r.earlier != e || r.later != l)
            fail_msg("%s %04d-%02d-%02d %02d:%02d: kind %d earlier %lld later %lld", k->zone, k->y,
                     k->mo, k->d, k->h, k->mi, (int)r.kind, (long long)(r.earlier - e),
                     (long long)(r.later - l));
        if (r.kind == CHIME_LOCAL_GAP)
            assert_int_equal(r.gap_pre_offset, e);
    }
}

static void test_zone_from_local_round_trips_every_hour_berlin_2026(void **state)
{
    (void)state;
    const struct chime_zone *z = zone("Europe/Berlin");
    int gaps = 0, folds = 0;
    for (chime_utime t = utc(2026, 1, 1, 0, 0, 0); t < utc(2027, 1, 1, 0, 0, 0); t += 900 * USEC) {
        struct chime_civil c;
        struct chime_local_result r;
        chime_zone_to_local(z, t, &c, NULL);
        chime_zone_from_local(z, &c, &r);
        assert_true(r.earlier == t || r.later == t);
        assert_int_not_equal(r.kind, CHIME_LOCAL_GAP);
        folds += r.kind == CHIME_LOCAL_FOLD;
        c.hour = 2; /* probe: 02:xx is a gap once a year */
        chime_zone_from_local(z, &c, &r);
        gaps += r.kind == CHIME_LOCAL_GAP;
    }
    assert_int_equal(folds, 8); /* 02:00..02:45 twice */
    /* Every probe made on the 23-hour day 2026-03-29 (92 quarter hours) hits the gap. */
    assert_int_equal(gaps, 92);
}

static void test_time_parse_without_offset_uses_default_zone(void **state)
{
    (void)state;
    const struct chime_zone *ber = zone("Europe/Berlin");
    /* Gap moves forward (02:30 -> 03:30+02:00), fold takes the first occurrence. */
    assert_parses("2026-03-29T02:30:00", ber, utc(2026, 3, 29, 1, 30, 0), false);
    assert_parses("2026-10-25T02:30:00", ber, utc(2026, 10, 25, 0, 30, 0), false);
    assert_parses("2026-11-28", ber, utc(2026, 11, 27, 23, 0, 0), false);
    assert_parses("2026-11-28T09:00:00+05:45", ber, utc(2026, 11, 28, 3, 15, 0), true);
}

static void test_zone_rule_forms_julian_negative_and_long_times(void **state)
{
    (void)state;
    static const struct {
        const char *rule;
        int y, mo, d, h, mi, s;
        int32_t off;
    } cases[] = {
        /* All-year DST (RFC 8536 3.3.1): always -4. */
        { "EST5EDT4,0/0,J365/25", 2026, 1, 1, 0, 30, 0, -4 * H },
        { "EST5EDT4,0/0,J365/25", 2026, 12, 31, 23, 30, 0, -4 * H },
        { "EST5EDT4,0/0,J365/25", 2028, 7, 1, 0, 0, 0, -4 * H },
        /* Jn never counts Feb 29: J60 is March 1 even in 2024. */
        { "XXX3YYY,J60/2,J300/2", 2024, 3, 1, 4, 59, 59, -3 * H },
        { "XXX3YYY,J60/2,J300/2", 2024, 3, 1, 5, 0, 0, -2 * H },
        /* n counts it: day 59 is Feb 29 in 2024, March 1 in 2026. */
        { "XXX3YYY,59/2,299/2", 2024, 2, 29, 4, 59, 59, -3 * H },
        { "XXX3YYY,59/2,299/2", 2024, 2, 29, 5, 0, 0, -2 * H },
        { "XXX3YYY,59/2,299/2", 2026, 2, 28, 5, 0, 0, -3 * H },
        { "XXX3YYY,59/2,299/2", 2026, 3, 1, 5, 0, 0, -2 * H },
        /* Over 24h: second Sunday of March 2026 (the 8th) at 26:00 = the 9th, 02:00. */
        { "XXX3YYY,M3.2.0/26,M11.1.0", 2026, 3, 9, 4, 59, 59, -3 * H },
        { "XXX3YYY,M3.2.0/26,M11.1.0", 2026, 3, 9, 5, 0, 0, -2 * H },
        /* Negative: last Sunday of March 2050 (the 27th) at -1:00 local. */
        { "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 2050, 3, 27, 0, 59, 59, -2 * H },
        { "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 2050, 3, 27, 1, 0, 0, -1 * H },
        { "<+0545>-5:45", 2026, 7, 1, 0, 0, 0, 5 * H + 45 * 60 },
        { "CET-1CEST,M3.5.0,M10.5.0/3", 2026, 3, 29, 1, 0, 0, 2 * H },
        { "EST5EDT", 2026, 3, 8, 7, 0, 0, -4 * H }, /* US rules by default */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct chime_zone *z = NULL;
        assert_int_equal(chime__zone_from_rule("test", cases[i].rule, &z), 0);
        chime_utime t =
                utc(cases[i].y, cases[i].mo, cases[i].d, cases[i].h, cases[i].mi, cases[i].s);
        if (chime_zone_offset_at(z, t) != cases[i].off)
            fail_msg("%s case %zu: %d", cases[i].rule, i, chime_zone_offset_at(z, t));
        chime_zone_free(z);
    }
    const char *bad[] = { "",
                          "X5",
                          "EST",
                          "EST5EDT,M13.1.0,M11.1.0",
                          "EST5EDT,M3.6.0,M11.1.0",
                          "EST5EDT,J0,J365",
                          "EST5EDT,366,0",
                          "EST25",
                          "<AB>5",
                          "EST5EDT,M3.2.0/168,M11.1.0",
                          "EST5EDT,M3.2.0,M11.1.0junk" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct chime__tz_rule r;
        if (chime__tz_rule_parse(bad[i], &r) != CHIME_EINVAL)
            fail_msg("rule \"%s\" accepted", bad[i]);
    }
}

static void test_zone_find_unknown_is_enoent(void **state)
{
    (void)state;
    const struct chime_zone *z = NULL;
    assert_int_equal(chime_zone_find("Mars/Olympus_Mons", &z), CHIME_ENOENT);
    assert_int_equal(chime_zone_find("Europe", &z), CHIME_ENOENT); /* a directory */
    assert_null(z);
    assert_int_equal(chime_zone_find("UTC", &z), 0);
    assert_ptr_equal(z, chime_zone_utc());
    assert_string_equal(chime_zone_name(z), "UTC");
}

static void test_zone_find_refuses_path_tricks(void **state)
{
    (void)state;
    const char *names[] = { "../../../etc/passwd",
                            "/etc/passwd",
                            "Europe/../../etc/passwd",
                            "..",
                            "Europe/Berlin\n",
                            "Europe/Berlin.",
                            "Europe Berlin",
                            "",
                            "Europe/Berlin;rm",
                            "zone.tab",
                            NULL };
    for (size_t i = 0; names[i]; i++) {
        const struct chime_zone *z = NULL;
        assert_int_equal(chime_zone_find(names[i], &z), CHIME_ENOENT);
        assert_null(z);
    }
    const struct chime_zone *z = NULL;
    assert_int_equal(chime_zone_find(NULL, &z), CHIME_ENOENT);
}

static void test_zone_find_malformed_file_is_einval(void **state)
{
    (void)state;
    const struct chime_zone *z = NULL;
    /* "leapseconds" is a valid name but a text file, not TZif. */
    assert_int_equal(chime_zone_find("leapseconds", &z), CHIME_EINVAL);
}

static void test_zone_find_returns_same_cached_zone(void **state)
{
    (void)state;
    const struct chime_zone *a = zone("Europe/Paris");
    const struct chime_zone *b = zone("Europe/Paris");
    assert_ptr_equal(a, b);
}

static void test_zone_find_honours_tzdir(void **state)
{
    (void)state;
    char dir[] = "/tmp/chime-tzdir-XXXXXX";
    char path[64], cmd[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/Test", dir);
    snprintf(cmd, sizeof(cmd), "mkdir -p %s && cp /usr/share/zoneinfo/Asia/Kathmandu %s/Zone", path,
             path);
    assert_int_equal(system(cmd), 0);
    setenv("TZDIR", dir, 1);
    const struct chime_zone *z = NULL;
    int rc = chime_zone_find("Test/Zone", &z);
    unsetenv("TZDIR");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(chime_zone_offset_at(z, utc(2026, 1, 1, 0, 0, 0)), 5 * H + 45 * 60);
}

static void test_zone_find_allocation_failure_is_enomem(void **state)
{
    (void)state;
    const struct chime_zone *z = NULL;
    int rc = CHIME_ENOMEM;
    long n;
    for (n = 1; n < 20; n++) {
        chime_alloc_fail_after(n);
        rc = chime_zone_find("Asia/Tokyo", &z);
        chime_alloc_fail_after(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, CHIME_ENOMEM);
    }
    assert_true(n > 1); /* at least the first allocation was refused */
    assert_int_equal(rc, 0);
    assert_int_equal(chime_zone_offset_at(z, utc(2026, 1, 1, 0, 0, 0)), 9 * H);
}

static unsigned char *file_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(1 << 16);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static void test_zone_parse_tzif_rejects_every_truncation(void **state)
{
    (void)state;
    size_t len;
    unsigned char *data = file_slurp("/usr/share/zoneinfo/Europe/Berlin", &len);
    struct chime_zone *z = NULL;
    for (size_t n = 0; n < len; n++) {
        if (chime_zone_parse_tzif("x", data, n, &z) != CHIME_EINVAL)
            fail_msg("prefix of %zu bytes accepted", n);
    }
    assert_int_equal(chime_zone_parse_tzif("Berlin", data, len, &z), 0);
    assert_int_equal(chime_zone_offset_at(z, utc(2026, 7, 1, 0, 0, 0)), 2 * H);
    chime_zone_free(z);
    data[4] = '1'; /* no such version */
    assert_int_equal(chime_zone_parse_tzif("x", data, len, &z), CHIME_EINVAL);
    free(data);
    data = file_slurp("/usr/share/zoneinfo/right/Europe/Berlin", &len);
    assert_int_equal(chime_zone_parse_tzif("x", data, len, &z), CHIME_EINVAL); /* leap seconds */
    free(data);
}

static void test_zone_parse_tzif_version1_only(void **state)
{
    (void)state;
    /* A hand-made v1 file: one transition at 2000-01-01Z from +01:00 to +02:00. */
    unsigned char d[44 + 4 + 1 + 12 + 8] = { 'T', 'Z', 'i', 'f', 0 };
    d[35] = 1; /* timecnt */
    d[39] = 2; /* typecnt */
    d[43] = 8; /* charcnt */
    unsigned char *p = d + 44;
    uint32_t t = 946684800;
    p[0] = t >> 24, p[1] = t >> 16, p[2] = t >> 8, p[3] = t;
    p[4] = 1;                                          /* index */
    p[5 + 2] = 0x0e, p[5 + 3] = 0x10;                  /* type 0: 3600 */
    p[11 + 2] = 0x1c, p[11 + 3] = 0x20, p[11 + 5] = 4; /* type 1: 7200 */
    memcpy(p + 17, "AAA\0BBB", 8);
    struct chime_zone *z = NULL;
    assert_int_equal(chime_zone_parse_tzif("v1", d, sizeof(d), &z), 0);
    assert_int_equal(chime_zone_offset_at(z, utc(1999, 12, 31, 23, 59, 59)), H);
    assert_int_equal(chime_zone_offset_at(z, utc(2000, 1, 1, 0, 0, 0)), 2 * H);
    assert_int_equal(chime_zone_offset_at(z, utc(2200, 1, 1, 0, 0, 0)), 2 * H);
    chime_zone_free(z);
    p[4] = 2; /* index out of range */
    assert_int_equal(chime_zone_parse_tzif("v1", d, sizeof(d), &z), CHIME_EINVAL);
}

#define N_THREADS 8

/* Zones no other test loads, so the threads race to load them first. */
static const char *const fresh_zones[] = { "Asia/Seoul",    "Africa/Cairo", "America/Chicago",
                                           "Europe/Madrid", "Asia/Tehran",  "Pacific/Auckland" };
#define N_FRESH (sizeof(fresh_zones) / sizeof(fresh_zones[0]))

struct thread_arg {
    int id;
    const struct chime_zone *got[N_FRESH];
    long bad;
};

static void *thread_main(void *p)
{
    struct thread_arg *arg = p;
    for (size_t i = 0; i < N_FRESH; i++) {
        size_t j = (i + (size_t)arg->id) % N_FRESH; /* each thread in its own order */
        arg->bad += chime_zone_find(fresh_zones[j], &arg->got[j]) != 0;
    }
    for (int round = 0; round < 2000; round++) {
        const struct offset_truth *k =
                &truths[(size_t)round % (sizeof(truths) / sizeof(truths[0]))];
        const struct chime_zone *z = NULL;
        if (chime_zone_find(k->zone, &z) != 0) {
            arg->bad++;
            continue;
        }
        struct chime_civil c;
        int32_t off;
        chime_zone_to_local(z, utc(k->y, k->mo, k->d, k->h, k->mi, k->s), &c, &off);
        arg->bad += off != k->off;
    }
    return NULL;
}

static void test_zone_find_and_to_local_from_many_threads(void **state)
{
    (void)state;
    pthread_t th[N_THREADS];
    struct thread_arg args[N_THREADS];
    memset(args, 0, sizeof(args));
    for (int i = 0; i < N_THREADS; i++) {
        args[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < N_THREADS; i++) {
        assert_int_equal(args[i].bad, 0);
        /* Every thread got the one cached zone of each name. */
        for (size_t j = 0; j < N_FRESH; j++)
            assert_ptr_equal(args[i].got[j], args[0].got[j]);
    }
}

static void test_zone_local_reads_tz_variable(void **state)
{
    (void)state;
    setenv("TZ", ":Europe/Berlin", 1);
    const struct chime_zone *z = chime_zone_local();
    unsetenv("TZ");
    assert_string_equal(chime_zone_name(z), "Europe/Berlin");
    assert_ptr_equal(chime_zone_local(), z); /* cached */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil_days_known_dates),
        cmocka_unit_test(test_civil_round_trip_every_day_years_1_to_9999),
        cmocka_unit_test(test_civil_leap_years_and_month_lengths),
        cmocka_unit_test(test_civil_utime_round_trip_at_fixed_offsets),
        cmocka_unit_test(test_civil_check_rejects_out_of_range_fields),
        cmocka_unit_test(test_time_parse_accepts_every_form),
        cmocka_unit_test(test_time_parse_rejects_bad_input_naming_the_field),
        cmocka_unit_test(test_time_format_fraction_and_offsets),
        cmocka_unit_test(test_time_format_parse_round_trip),
        cmocka_unit_test(test_zone_local_reads_tz_variable),
        cmocka_unit_test(test_zone_offsets_match_known_truth),
        cmocka_unit_test(test_zone_extended_table_agrees_with_footer_rule),
        cmocka_unit_test(test_zone_format_in_zone_offsets),
        cmocka_unit_test(test_zone_from_local_gap_and_fold),
        cmocka_unit_test(test_zone_from_local_round_trips_every_hour_berlin_2026),
        cmocka_unit_test(test_time_parse_without_offset_uses_default_zone),
        cmocka_unit_test(test_zone_rule_forms_julian_negative_and_long_times),
        cmocka_unit_test(test_zone_find_unknown_is_enoent),
        cmocka_unit_test(test_zone_find_refuses_path_tricks),
        cmocka_unit_test(test_zone_find_malformed_file_is_einval),
        cmocka_unit_test(test_zone_find_returns_same_cached_zone),
        cmocka_unit_test(test_zone_find_honours_tzdir),
        cmocka_unit_test(test_zone_find_allocation_failure_is_enomem),
        cmocka_unit_test(test_zone_parse_tzif_rejects_every_truncation),
        cmocka_unit_test(test_zone_parse_tzif_version1_only),
        cmocka_unit_test(test_zone_find_and_to_local_from_many_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
