/*
 * Unit tests of the trigger module: argument validation (every bad input
 * gets a diag naming its field), cron field and crontab semantics, interval
 * and date triggers, chime's DST policy in zones with 1 h and 30 min shifts,
 * the cost of far searches, normalized args, jitter and allocation failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/base.h"
#include "trigger/trigger.h"

static chime_utime T(const char *s)
{
    chime_utime t;
    assert_int_equal(chime_time_parse(s, chime_zone_utc(), "t", &t, NULL, NULL), 0);
    return t;
}

static struct chime_trigger *parse_ok(const char *kind, const char *args, const char *now)
{
    struct chime_diag diag;
    struct chime_trigger *trig = NULL;
    json_t *a = json_loads(args, 0, NULL);
    assert_non_null(a);
    int rc = chime_trigger_parse(kind, a, chime_zone_utc(), T(now), &trig, &diag);
    if (rc != 0)
        fail_msg("%s %s refused: %s", kind, args, diag.message);
    json_decref(a);
    return trig;
}

/* Parses and expects failure with err, naming field, the message containing text. */
static void parse_bad(const char *kind, const char *args, int err, const char *field,
                      const char *text)
{
    struct chime_diag diag;
    struct chime_trigger *trig = (struct chime_trigger *)&diag;
    json_t *a = args ? json_loads(args, 0, NULL) : NULL;
    int rc =
            chime_trigger_parse(kind, a, chime_zone_utc(), T("2026-06-01T00:00:00Z"), &trig, &diag);
    if (rc != err || strcmp(diag.field, field) != 0 || !strstr(diag.message, text))
        fail_msg("%s %s: got %d field=%s message=%s; want %d %s \"%s\"", kind, args, rc, diag.field,
                 diag.message, err, field, text);
    assert_null(trig);
    assert_non_null(strstr(diag.message, field));
    json_decref(a);
}

/* The first n fire times from now, each written in the trigger's zone, space separated. */
static void fires(const struct chime_trigger *trig, const char *now, int n, char *out, size_t cap)
{
    chime_utime t = chime_trigger_next(trig, CHIME_UTIME_NONE, T(now));
    out[0] = '\0';
    for (int i = 0; i < n && t != CHIME_UTIME_NONE; i++) {
        char buf[CHIME_TIME_FORMAT_MAX];
        if (i)
            strncat(out, " ", cap - strlen(out) - 1);
        strncat(out, chime_time_format(t, chime_trigger_zone(trig), buf), cap - strlen(out) - 1);
        t = chime_trigger_next(trig, t, t);
    }
}

static void expect_fires(const char *kind, const char *args, const char *now, int n,
                         const char *want)
{
    char got[2048];
    struct chime_trigger *trig = parse_ok(kind, args, now);
    fires(trig, now, n, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("%s %s from %s:\n got  %s\n want %s", kind, args, now, got, want);
    chime_trigger_unref(trig);
}

static void test_parse_rejects_bad_kind_and_args(void **state)
{
    (void)state;
    parse_bad("weekly", "{}", CHIME_EINVAL, "trigger", "unknown");
    parse_bad(NULL, "{}", CHIME_EINVAL, "trigger", "required");
    parse_bad("cron", "[]", CHIME_EINVAL, "trigger_args", "JSON object");
    parse_bad("cron", "{\"hours\": 3}", CHIME_EINVAL, "trigger_args.hours", "unknown argument");
    parse_bad("interval", "{\"minute\": 3}", CHIME_EINVAL, "trigger_args.minute", "unknown");
    parse_bad("date", "{\"run_date\": \"2026-01-01\", \"jitter\": 3}", CHIME_EINVAL,
              "trigger_args.jitter", "unknown");
}

static void test_parse_rejects_bad_cron_fields(void **state)
{
    (void)state;
    parse_bad("cron", "{\"hour\": 25}", CHIME_EINVAL, "trigger_args.hour", "maximum (23)");
    parse_bad("cron", "{\"minute\": \"*/0\"}", CHIME_EINVAL, "trigger_args.minute", "step");
    parse_bad("cron", "{\"minute\": \"10-5\"}", CHIME_EINVAL, "trigger_args.minute", "range");
    parse_bad("cron", "{\"minute\": \"*/60\"}", CHIME_EINVAL, "trigger_args.minute", "step (60)");
    parse_bad("cron", "{\"day\": 0}", CHIME_EINVAL, "trigger_args.day", "minimum (1)");
    parse_bad("cron", "{\"year\": 1969}", CHIME_EINVAL, "trigger_args.year", "minimum (1970)");
    parse_bad("cron", "{\"week\": \"54\"}", CHIME_EINVAL, "trigger_args.week", "maximum (53)");
    parse_bad("cron", "{\"day_of_week\": \"funday\"}", CHIME_EINVAL, "trigger_args.day_of_week",
              "invalid weekday name \"funday\"");
    parse_bad("cron", "{\"month\": \"janx\"}", CHIME_EINVAL, "trigger_args.month",
              "invalid month name");
    parse_bad("cron", "{\"hour\": \"\"}", CHIME_EINVAL, "trigger_args.hour", "unrecognized");
    parse_bad("cron", "{\"hour\": \"1,\"}", CHIME_EINVAL, "trigger_args.hour", "unrecognized");
    parse_bad("cron", "{\"second\": \"-1\"}", CHIME_EINVAL, "trigger_args.second", "unrecognized");
    parse_bad("cron", "{\"minute\": \"5/\"}", CHIME_EINVAL, "trigger_args.minute", "unrecognized");
    parse_bad("cron", "{\"day\": \"6th mon\"}", CHIME_EINVAL, "trigger_args.day", "unrecognized");
    parse_bad("cron", "{\"day\": \"2nd funday\"}", CHIME_EINVAL, "trigger_args.day", "weekday");
    parse_bad("cron", "{\"day_of_week\": \"mon-fri/2x\"}", CHIME_EINVAL, "trigger_args.day_of_week",
              "unrecognized");
    parse_bad("cron", "{\"hour\": 3.5}", CHIME_EINVAL, "trigger_args.hour", "not a number");
    parse_bad("cron", "{\"hour\": true}", CHIME_EINVAL, "trigger_args.hour", "boolean");
    parse_bad("cron", "{\"minute\": 99999999999999}", CHIME_EINVAL, "trigger_args.minute",
              "maximum");
}

static void test_parse_rejects_bad_common_args(void **state)
{
    (void)state;
    parse_bad("cron", "{\"timezone\": \"Mars/Olympus_Mons\"}", CHIME_EINVAL,
              "trigger_args.timezone", "unknown time zone");
    parse_bad("cron", "{\"timezone\": 5}", CHIME_EINVAL, "trigger_args.timezone", "string");
    parse_bad("cron", "{\"start_date\": \"yesterday\"}", CHIME_EINVAL, "trigger_args.start_date",
              "");
    parse_bad("cron", "{\"end_date\": 12}", CHIME_EINVAL, "trigger_args.end_date", "RFC 3339");
    parse_bad("cron",
              "{\"start_date\": \"2027-01-02T00:00:00Z\", \"end_date\": \"2027-01-01T00:00:00Z\"}",
              CHIME_EINVAL, "trigger_args.end_date", "before");
    parse_bad("cron", "{\"jitter\": -1}", CHIME_EINVAL, "trigger_args.jitter", "between");
    parse_bad("cron", "{\"jitter\": \"5\"}", CHIME_EINVAL, "trigger_args.jitter", "number");
}

static void test_parse_rejects_never_firing(void **state)
{
    (void)state;
    parse_bad("cron", "{\"month\": 2, \"day\": 30}", CHIME_ENEVER, "trigger_args.day", "never");
    parse_bad("cron", "{\"month\": \"2,4\", \"day\": 31}", CHIME_ENEVER, "trigger_args.day",
              "never");
    parse_bad("cron", "{\"year\": 2999, \"month\": 2, \"day\": 29}", CHIME_ENEVER,
              "trigger_args.day", "never");
    parse_bad("cron", "{\"year\": 2020}", CHIME_ENEVER, "trigger_args.year", "never");
    parse_bad("cron", "{\"hour\": 3, \"end_date\": \"2026-01-01T00:00:00Z\"}", CHIME_ENEVER,
              "trigger_args.end_date", "never");
    parse_bad("interval", "{\"hours\": 1, \"end_date\": \"2026-01-01T00:00:00Z\"}", CHIME_ENEVER,
              "trigger_args.end_date", "never");
    parse_bad("cron", "{\"crontab\": \"0 0 31 2 *\"}", CHIME_ENEVER, "trigger_args.crontab",
              "never");
}

static void test_parse_rejects_bad_interval_and_date(void **state)
{
    (void)state;
    parse_bad("interval", "{}", CHIME_EINVAL, "trigger_args.seconds", "longer than zero");
    parse_bad("interval", "{\"minutes\": 0, \"seconds\": 0}", CHIME_EINVAL, "trigger_args.seconds",
              "longer than zero");
    parse_bad("interval", "{\"minutes\": -5}", CHIME_EINVAL, "trigger_args.minutes", "negative");
    parse_bad("interval", "{\"hours\": \"1\"}", CHIME_EINVAL, "trigger_args.hours", "number");
    parse_bad("interval", "{\"weeks\": 1e300}", CHIME_EINVAL, "trigger_args.weeks", "too large");
    parse_bad("interval", "{\"seconds\": 1e-9}", CHIME_EINVAL, "trigger_args.seconds", "zero");
    parse_bad("date", "{}", CHIME_EINVAL, "trigger_args.run_date", "required");
    parse_bad("date", "{\"run_date\": \"2026-13-01T00:00:00Z\"}", CHIME_EINVAL,
              "trigger_args.run_date", "");
}

static void test_parse_rejects_bad_crontab(void **state)
{
    (void)state;
    parse_bad("cron", "{\"crontab\": \"@reboot\"}", CHIME_EINVAL, "trigger_args.crontab",
              "@reboot");
    parse_bad("cron", "{\"crontab\": \"@often\"}", CHIME_EINVAL, "trigger_args.crontab", "macro");
    parse_bad("cron", "{\"crontab\": \"0 3 * *\"}", CHIME_EINVAL, "trigger_args.crontab", "has 4");
    parse_bad("cron", "{\"crontab\": \"0 3 * * * *\"}", CHIME_EINVAL, "trigger_args.crontab",
              "exactly 5");
    parse_bad("cron", "{\"crontab\": \"60 3 * * *\"}", CHIME_EINVAL, "trigger_args.crontab",
              "maximum (59)");
    parse_bad("cron", "{\"crontab\": \"0 3 * * 8\"}", CHIME_EINVAL, "trigger_args.crontab",
              "maximum (7)");
    parse_bad("cron", "{\"crontab\": \"0 3 * * 1\", \"hour\": 4}", CHIME_EINVAL,
              "trigger_args.crontab", "cannot be combined");
    parse_bad("cron", "{\"crontab\": 5}", CHIME_EINVAL, "trigger_args.crontab", "string");
    parse_bad("cron", "{\"crontab\": \"0 3 L * *\"}", CHIME_EINVAL, "trigger_args.crontab",
              "unrecognized");
}

static void test_cron_fills_defaults_below_given_fields(void **state)
{
    (void)state;
    expect_fires("cron", "{\"hour\": 3}", "2026-06-01T05:00:00Z", 2,
                 "2026-06-02T03:00:00+00:00 2026-06-03T03:00:00+00:00");
    expect_fires("cron", "{\"minute\": \"*/20\"}", "2026-06-01T05:00:01Z", 3,
                 "2026-06-01T05:20:00+00:00 2026-06-01T05:40:00+00:00 2026-06-01T06:00:00+00:00");
    expect_fires("cron", "{\"month\": \"jun\", \"day_of_week\": \"sat-sun\"}",
                 "2026-06-01T00:00:00Z", 2, "2026-06-06T00:00:00+00:00 2026-06-07T00:00:00+00:00");
    /* Only day_of_week given: it is the least significant given field. */
    expect_fires("cron", "{\"day_of_week\": \"fri\", \"hour\": \"9-10\"}", "2026-06-01T00:00:00Z",
                 3,
                 "2026-06-05T09:00:00+00:00 2026-06-05T10:00:00+00:00 2026-06-12T09:00:00+00:00");
}

static void test_cron_day_expressions(void **state)
{
    (void)state;
    expect_fires("cron", "{\"day\": \"last\"}", "2028-01-31T00:00:01Z", 2,
                 "2028-02-29T00:00:00+00:00 2028-03-31T00:00:00+00:00");
    expect_fires("cron", "{\"day\": \"last fri\"}", "2026-06-01T00:00:00Z", 2,
                 "2026-06-26T00:00:00+00:00 2026-07-31T00:00:00+00:00");
    expect_fires("cron", "{\"day\": \"2nd mon,5th sun\"}", "2026-06-01T00:00:00Z", 3,
                 "2026-06-08T00:00:00+00:00 2026-07-13T00:00:00+00:00 2026-08-10T00:00:00+00:00");
    expect_fires("cron", "{\"day\": \"5th sun\"}", "2026-06-01T00:00:00Z", 1,
                 "2026-08-30T00:00:00+00:00");
    /* day AND day_of_week. */
    expect_fires("cron", "{\"day\": 13, \"day_of_week\": \"fri\"}", "2026-06-01T00:00:00Z", 2,
                 "2026-11-13T00:00:00+00:00 2027-08-13T00:00:00+00:00");
    expect_fires("cron", "{\"week\": 53, \"day_of_week\": 0}", "2026-06-01T00:00:00Z", 2,
                 "2026-12-28T00:00:00+00:00 2032-12-27T00:00:00+00:00");
    expect_fires("cron", "{\"minute\": \"7/25\"}", "2026-06-01T00:00:00Z", 3,
                 "2026-06-01T00:07:00+00:00 2026-06-01T00:32:00+00:00 2026-06-01T00:57:00+00:00");
}

static void test_crontab_semantics(void **state)
{
    (void)state;
    /* Both day fields restricted: either matches (1st of the month OR a Monday). */
    expect_fires("cron", "{\"crontab\": \"0 9 1 * mon\"}", "2026-06-01T10:00:00Z", 3,
                 "2026-06-08T09:00:00+00:00 2026-06-15T09:00:00+00:00 2026-06-22T09:00:00+00:00");
    expect_fires("cron", "{\"crontab\": \"0 9 1,29 * 1\"}", "2026-06-23T00:00:00Z", 3,
                 "2026-06-29T09:00:00+00:00 2026-07-01T09:00:00+00:00 2026-07-06T09:00:00+00:00");
    /* 0 and 7 are Sunday; dom '*' means day-of-week alone decides. */
    expect_fires("cron", "{\"crontab\": \"30 6 * * 7\"}", "2026-06-01T00:00:00Z", 1,
                 "2026-06-07T06:30:00+00:00");
    expect_fires("cron", "{\"crontab\": \"30 6 * * 0\"}", "2026-06-01T00:00:00Z", 1,
                 "2026-06-07T06:30:00+00:00");
    expect_fires("cron", "{\"crontab\": \"0 0 * * 5-7\"}", "2026-06-01T00:00:00Z", 3,
                 "2026-06-05T00:00:00+00:00 2026-06-06T00:00:00+00:00 2026-06-07T00:00:00+00:00");
    expect_fires("cron", "{\"crontab\": \"@monthly\", \"timezone\": \"Europe/Berlin\"}",
                 "2026-06-01T00:00:00Z", 1, "2026-07-01T00:00:00+02:00");
    expect_fires("cron", "{\"crontab\": \"@hourly\"}", "2026-06-01T00:00:00Z", 2,
                 "2026-06-01T00:00:00+00:00 2026-06-01T01:00:00+00:00");
    expect_fires("cron", "{\"crontab\": \"*/15 9-17 * jan,jun *\"}", "2026-06-01T17:50:00Z", 1,
                 "2026-06-02T09:00:00+00:00");
}

static void test_interval_semantics(void **state)
{
    (void)state;
    /* Without start_date the first fire is creation + interval. */
    expect_fires("interval", "{\"minutes\": 10}", "2026-06-01T00:00:00.5Z", 2,
                 "2026-06-01T00:10:00.500000+00:00 2026-06-01T00:20:00.500000+00:00");
    /* now - start rounded up to whole intervals. */
    expect_fires("interval", "{\"hours\": 1, \"start_date\": \"2026-06-01T00:30:00Z\"}",
                 "2026-06-01T03:00:00Z", 2, "2026-06-01T03:30:00+00:00 2026-06-01T04:30:00+00:00");
    expect_fires("interval", "{\"seconds\": 1.5, \"start_date\": \"2026-06-01T00:00:00Z\"}",
                 "2026-06-01T00:00:01Z", 2,
                 "2026-06-01T00:00:01.500000+00:00 2026-06-01T00:00:03+00:00");
    /* Elapsed time across spring forward: 24 h later is 01:00 on the wall. */
    expect_fires("interval",
                 "{\"days\": 1, \"timezone\": \"Europe/Berlin\", \"start_date\": "
                 "\"2026-03-28T12:00:00\"}",
                 "2026-03-27T00:00:00Z", 2, "2026-03-28T12:00:00+01:00 2026-03-29T13:00:00+02:00");
    expect_fires("interval",
                 "{\"hours\": 1, \"start_date\": \"2026-06-01T00:00:00Z\", \"end_date\": "
                 "\"2026-06-01T02:00:00Z\"}",
                 "2026-05-01T00:00:00Z", 5,
                 "2026-06-01T00:00:00+00:00 2026-06-01T01:00:00+00:00 2026-06-01T02:00:00+00:00");
}

static void test_date_fires_once(void **state)
{
    (void)state;
    expect_fires("date", "{\"run_date\": \"2026-07-01T12:00:00\", \"timezone\": \"Asia/Tokyo\"}",
                 "2026-06-01T00:00:00Z", 3, "2026-07-01T12:00:00+09:00");
    /* A past run_date is accepted and comes due at once. */
    expect_fires("date", "{\"run_date\": \"2020-01-01T00:00:00Z\"}", "2026-06-01T00:00:00Z", 3,
                 "2020-01-01T00:00:00+00:00");
}

static void test_cron_skips_dst_gap_berlin(void **state)
{
    (void)state;
    /* 2026-03-29 02:00-03:00 does not exist in Berlin: 02:30 is skipped that day. */
    expect_fires("cron", "{\"hour\": 2, \"minute\": 30, \"timezone\": \"Europe/Berlin\"}",
                 "2026-03-28T12:00:00Z", 2, "2026-03-30T02:30:00+02:00 2026-03-31T02:30:00+02:00");
    expect_fires("cron", "{\"minute\": \"*/30\", \"timezone\": \"Europe/Berlin\"}",
                 "2026-03-29T00:10:00Z", 3,
                 "2026-03-29T01:30:00+01:00 2026-03-29T03:00:00+02:00 2026-03-29T03:30:00+02:00");
}

static void test_cron_fires_fold_once_berlin(void **state)
{
    (void)state;
    /* 2026-10-25 02:00-03:00 happens twice in Berlin: fire at the first occurrence only. */
    expect_fires("cron", "{\"hour\": 2, \"minute\": 30, \"timezone\": \"Europe/Berlin\"}",
                 "2026-10-24T12:00:00Z", 2, "2026-10-25T02:30:00+02:00 2026-10-26T02:30:00+01:00");
    expect_fires("cron", "{\"minute\": \"*/30\", \"timezone\": \"Europe/Berlin\"}",
                 "2026-10-24T23:10:00Z", 4,
                 "2026-10-25T01:30:00+02:00 2026-10-25T02:00:00+02:00 2026-10-25T02:30:00+02:00 "
                 "2026-10-25T03:00:00+01:00");
    /* Created during the second pass: the repeated wall times already had their turn. */
    expect_fires("cron", "{\"minute\": \"*/30\", \"timezone\": \"Europe/Berlin\"}",
                 "2026-10-25T01:10:00Z", 2, "2026-10-25T03:00:00+01:00 2026-10-25T03:30:00+01:00");
}

static void test_cron_dst_new_york(void **state)
{
    (void)state;
    expect_fires("cron", "{\"hour\": 2, \"timezone\": \"America/New_York\"}",
                 "2026-03-07T12:00:00Z", 2, "2026-03-09T02:00:00-04:00 2026-03-10T02:00:00-04:00");
    expect_fires("cron",
                 "{\"hour\": \"1\", \"minute\": \"0,59\", \"timezone\": "
                 "\"America/New_York\"}",
                 "2026-11-01T04:00:00Z", 3,
                 "2026-11-01T01:00:00-04:00 2026-11-01T01:59:00-04:00 2026-11-02T01:00:00-05:00");
    expect_fires("cron", "{\"crontab\": \"30 2 * * *\", \"timezone\": \"America/New_York\"}",
                 "2026-03-08T00:00:00Z", 1, "2026-03-09T02:30:00-04:00");
}

static void test_cron_dst_lord_howe_half_hour(void **state)
{
    (void)state;
    /* Lord Howe: 2026-10-04 02:00 -> 02:30 (+10:30 -> +11:00); 2026-04-05 02:00 -> 01:30. */
    expect_fires("cron", "{\"minute\": \"*/15\", \"timezone\": \"Australia/Lord_Howe\"}",
                 "2026-10-03T15:10:00Z", 3,
                 "2026-10-04T01:45:00+10:30 2026-10-04T02:30:00+11:00 2026-10-04T02:45:00+11:00");
    expect_fires("cron", "{\"minute\": \"*/15\", \"timezone\": \"Australia/Lord_Howe\"}",
                 "2026-04-04T14:20:00Z", 4,
                 "2026-04-05T01:30:00+11:00 2026-04-05T01:45:00+11:00 2026-04-05T02:00:00+10:30 "
                 "2026-04-05T02:15:00+10:30");
}

static double elapsed_ms(struct timespec a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
}

static void test_cron_far_searches_jump(void **state)
{
    (void)state;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    expect_fires("cron", "{\"year\": 2996, \"month\": 2, \"day\": 29, \"second\": 59}",
                 "2026-06-01T00:00:00Z", 2, "2996-02-29T00:00:59+00:00 2996-02-29T00:01:59+00:00");
    expect_fires("cron", "{\"month\": 2, \"day\": 29, \"day_of_week\": \"mon\"}",
                 "2026-06-01T00:00:00Z", 2, "2044-02-29T00:00:00+00:00 2072-02-29T00:00:00+00:00");
    expect_fires("cron",
                 "{\"year\": 9999, \"month\": 12, \"day\": 31, \"hour\": 23, \"minute\": 59, "
                 "\"second\": \"58-59\"}",
                 "2026-06-01T00:00:00Z", 5, "9999-12-31T23:59:58+00:00 9999-12-31T23:59:59+00:00");
    /* Refusing an impossible spec searches every year up to 9999, still quickly. */
    parse_bad("cron", "{\"month\": 2, \"day\": 29, \"week\": 20}", CHIME_ENEVER, "trigger_args.day",
              "never");
    double ms = elapsed_ms(start);
    if (ms > 2000)
        fail_msg("far searches took %.0f ms", ms);
}

static void test_cron_start_and_end_dates(void **state)
{
    (void)state;
    expect_fires("cron",
                 "{\"hour\": 12, \"start_date\": \"2026-07-01\", \"end_date\": "
                 "\"2026-07-02T12:00:00Z\"}",
                 "2026-06-01T00:00:00Z", 5, "2026-07-01T12:00:00+00:00 2026-07-02T12:00:00+00:00");
}

static void test_args_json_round_trips(void **state)
{
    (void)state;
    static const struct {
        const char *kind, *args;
    } cases[] = {
        { "cron",
          "{\"hour\": \"3\", \"day_of_week\": \"mon-fri\", \"timezone\": \"Europe/Berlin\"}" },
        { "cron", "{\"crontab\": \"0 9 1 * mon\", \"end_date\": \"2030-01-01T00:00:00Z\"}" },
        { "interval", "{\"minutes\": 7, \"jitter\": 2}" },
        { "date", "{\"run_date\": \"2026-07-01T12:00:00\", \"timezone\": \"Asia/Tokyo\"}" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct chime_trigger *a = parse_ok(cases[i].kind, cases[i].args, "2026-06-01T00:00:00Z");
        json_t *norm = chime_trigger_args_json(a);
        struct chime_trigger *b = NULL;
        assert_int_equal(chime_trigger_parse(cases[i].kind, norm, chime_zone_utc(),
                                             T("2026-06-05T00:00:00Z"), &b, NULL),
                         0);
        assert_string_equal(chime_zone_name(chime_trigger_zone(a)),
                            chime_zone_name(chime_trigger_zone(b)));
        chime_utime ta = CHIME_UTIME_NONE, tb = CHIME_UTIME_NONE;
        for (int k = 0; k < 4; k++) {
            ta = chime_trigger_next_exact(a, ta,
                                          ta == CHIME_UTIME_NONE ? T("2026-06-10T00:00:00Z") : ta);
            tb = chime_trigger_next_exact(b, tb,
                                          tb == CHIME_UTIME_NONE ? T("2026-06-10T00:00:00Z") : tb);
            assert_true(ta == tb);
        }
        json_decref(norm);
        chime_trigger_unref(a);
        chime_trigger_unref(b);
    }
}

static void test_jitter_stays_within_bounds(void **state)
{
    (void)state;
    struct chime_trigger *trig =
            parse_ok("cron", "{\"minute\": 0, \"jitter\": 30}", "2026-06-01T00:00:00Z");
    chime_utime exact = chime_trigger_next_exact(trig, CHIME_UTIME_NONE, T("2026-06-01T00:00:01Z"));
    bool moved = false;
    for (int i = 0; i < 200; i++) {
        chime_utime t = chime_trigger_next(trig, CHIME_UTIME_NONE, T("2026-06-01T00:00:01Z"));
        assert_true(t >= exact && t <= exact + 30 * CHIME_USEC_PER_SEC);
        moved |= t != exact;
    }
    assert_true(moved);
    chime_trigger_unref(trig);
}

static void test_describe_ref_kind(void **state)
{
    (void)state;
    struct chime_trigger *trig = parse_ok("interval", "{\"minutes\": 10}", "2026-06-01T00:00:00Z");
    char *text = chime_trigger_describe(trig);
    assert_string_equal(text, "every 10 minutes");
    chime__free(text);
    assert_int_equal(chime_trigger_kind(trig), CHIME_TRIGGER_INTERVAL);
    assert_string_equal(chime_trigger_kind_name(trig), "interval");
    assert_ptr_equal(chime_trigger_ref(trig), trig);
    chime_trigger_unref(trig);
    chime_trigger_unref(trig);
    chime_trigger_unref(NULL);
    trig = parse_ok("cron", "{\"minute\": 0, \"hour\": 3}", "2026-06-01T00:00:00Z");
    text = chime_trigger_describe(trig);
    assert_string_equal(text, "cron: minute=0 hour=3");
    chime__free(text);
    chime_trigger_unref(trig);
}

static void test_parse_survives_allocation_failure(void **state)
{
    (void)state;
    static const struct {
        const char *kind, *args;
    } cases[] = {
        { "cron", "{\"hour\": \"3,5\", \"day\": \"last\"}" },
        { "cron", "{\"crontab\": \"0 9 * * 1\"}" },
        { "interval", "{\"seconds\": 5}" },
        { "date", "{\"run_date\": \"2026-07-01T00:00:00Z\"}" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *a = json_loads(cases[i].args, 0, NULL);
        bool failed_once = false;
        for (long n = 1; n < 20; n++) {
            struct chime_trigger *trig = NULL;
            struct chime_diag diag;
            chime_alloc_fail_after(n);
            int rc = chime_trigger_parse(cases[i].kind, a, chime_zone_utc(),
                                         T("2026-06-01T00:00:00Z"), &trig, &diag);
            chime_alloc_fail_after(0);
            if (rc == CHIME_ENOMEM) {
                failed_once = true;
                assert_null(trig);
                assert_true(strlen(diag.message) > 0);
            } else {
                assert_int_equal(rc, 0);
                chime_trigger_unref(trig);
            }
        }
        assert_true(failed_once);
        json_decref(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_rejects_bad_kind_and_args),
        cmocka_unit_test(test_parse_rejects_bad_cron_fields),
        cmocka_unit_test(test_parse_rejects_bad_common_args),
        cmocka_unit_test(test_parse_rejects_never_firing),
        cmocka_unit_test(test_parse_rejects_bad_interval_and_date),
        cmocka_unit_test(test_parse_rejects_bad_crontab),
        cmocka_unit_test(test_cron_fills_defaults_below_given_fields),
        cmocka_unit_test(test_cron_day_expressions),
        cmocka_unit_test(test_crontab_semantics),
        cmocka_unit_test(test_interval_semantics),
        cmocka_unit_test(test_date_fires_once),
        cmocka_unit_test(test_cron_skips_dst_gap_berlin),
        cmocka_unit_test(test_cron_fires_fold_once_berlin),
        cmocka_unit_test(test_cron_dst_new_york),
        cmocka_unit_test(test_cron_dst_lord_howe_half_hour),
        cmocka_unit_test(test_cron_far_searches_jump),
        cmocka_unit_test(test_cron_start_and_end_dates),
        cmocka_unit_test(test_args_json_round_trips),
        cmocka_unit_test(test_jitter_stays_within_bounds),
        cmocka_unit_test(test_describe_ref_kind),
        cmocka_unit_test(test_parse_survives_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
