/*
 * Unit tests of the trigger module: argument validation (every bad input
 * gets a diag naming its field), cron field and crontab semantics, interval
 * and date triggers, chime's DST policy in zones with 1 h and 30 min shifts,
 * the cost of far searches (counted in steps, never timed), the month-mask
 * search against a brute-force day-by-day reference, normalized args, jitter
 * and allocation failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "trigger/trigger_internal.h"

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

/* Expected sequences computed by APScheduler 3.9.1's CronTrigger(**args) at the same now. */
static void test_cron_without_fields_fires_every_second(void **state)
{
    (void)state;
    const char *now = "2026-06-01T12:00:00.5Z";
    const char *every = "2026-06-01T12:00:01+00:00 2026-06-01T12:00:02+00:00 "
                        "2026-06-01T12:00:03+00:00";
    expect_fires("cron", "{}", now, 3, every);
    expect_fires("cron", "{\"timezone\": \"UTC\"}", now, 3, every);
    expect_fires("cron", "{\"hour\": null, \"week\": null, \"day_of_week\": null}", now, 3, every);
    expect_fires("cron", "{\"start_date\": null, \"end_date\": null, \"jitter\": null}", now, 3,
                 every);
    expect_fires("cron", "{\"timezone\": \"Europe/Berlin\"}", now, 2,
                 "2026-06-01T14:00:01+02:00 2026-06-01T14:00:02+02:00");
    expect_fires("cron", "{\"start_date\": \"2026-07-01T00:00:00Z\"}", now, 2,
                 "2026-07-01T00:00:00+00:00 2026-07-01T00:00:01+00:00");
    struct chime_trigger *trig = parse_ok("cron", "{}", now);
    char *text = chime_trigger_describe(trig);
    assert_string_equal(text, "cron: every second");
    chime__free(text);
    chime_trigger_unref(trig);
}

/* week and day_of_week default to "*" below a given field; a given "*" still counts as given. */
static void test_cron_week_and_dow_defaults(void **state)
{
    (void)state;
    const char *now = "2026-06-01T12:00:00.5Z";
    expect_fires("cron", "{\"week\": 3}", now, 2,
                 "2027-01-18T00:00:00+00:00 2027-01-19T00:00:00+00:00");
    expect_fires("cron", "{\"week\": 3, \"day_of_week\": null}", now, 2,
                 "2027-01-18T00:00:00+00:00 2027-01-19T00:00:00+00:00");
    expect_fires("cron", "{\"day_of_week\": \"mon\"}", now, 2,
                 "2026-06-08T00:00:00+00:00 2026-06-15T00:00:00+00:00");
    expect_fires("cron", "{\"week\": \"*\"}", now, 2,
                 "2026-06-02T00:00:00+00:00 2026-06-03T00:00:00+00:00");
    expect_fires("cron", "{\"day_of_week\": \"*\"}", now, 2,
                 "2026-06-02T00:00:00+00:00 2026-06-03T00:00:00+00:00");
}

/* JSON null is "not given", like a Python keyword argument left at None. */
static void test_null_args_mean_not_given(void **state)
{
    (void)state;
    const char *now = "2026-06-01T12:00:00.5Z";
    expect_fires("cron", "{\"day\": 5, \"hour\": null}", now, 2,
                 "2026-06-05T00:00:00+00:00 2026-07-05T00:00:00+00:00");
    expect_fires("cron", "{\"hour\": 3, \"day\": null, \"timezone\": null}", now, 2,
                 "2026-06-02T03:00:00+00:00 2026-06-03T03:00:00+00:00");
    expect_fires("cron", "{\"year\": null, \"second\": \"*/15\", \"crontab\": null}", now, 2,
                 "2026-06-01T12:00:15+00:00 2026-06-01T12:00:30+00:00");
    expect_fires("interval",
                 "{\"minutes\": 5, \"seconds\": null, \"weeks\": null, \"start_date\": null, "
                 "\"end_date\": null, \"timezone\": null, \"jitter\": null}",
                 now, 2, "2026-06-01T12:05:00.500000+00:00 2026-06-01T12:10:00.500000+00:00");
    expect_fires("date", "{\"run_date\": \"2026-07-01T12:00:00\", \"timezone\": null}", now, 2,
                 "2026-07-01T12:00:00+00:00");
    /* A null field is never the one blamed for a spec that cannot fire. */
    parse_bad("cron", "{\"day_of_week\": null, \"month\": 2, \"day\": 30}", CHIME_ENEVER,
              "trigger_args.day", "never");
    parse_bad("cron", "{\"day\": null, \"week\": null, \"month\": 2, \"year\": 2020}", CHIME_ENEVER,
              "trigger_args.month", "never");
}

/* DateTrigger(run_date=None) is datetime.now(tz): once, at creation time. */
static void test_date_without_run_date_runs_now(void **state)
{
    (void)state;
    const char *now = "2026-06-01T12:00:00.25Z";
    expect_fires("date", "{}", now, 3, "2026-06-01T12:00:00.250000+00:00");
    expect_fires("date", "{\"run_date\": null}", now, 3, "2026-06-01T12:00:00.250000+00:00");
    expect_fires("date", "{\"run_date\": null, \"timezone\": \"Asia/Tokyo\"}", now, 3,
                 "2026-06-01T21:00:00.250000+09:00");
    /* The normalized args keep that instant: a store reload does not move it. */
    struct chime_trigger *trig = parse_ok("date", "{}", now), *again = NULL;
    json_t *norm = chime_trigger_args_json(trig);
    assert_string_equal(json_string_value(json_object_get(norm, "run_date")),
                        "2026-06-01T12:00:00.250000+00:00");
    assert_int_equal(chime_trigger_parse("date", norm, chime_zone_utc(), T("2026-06-02T00:00:00Z"),
                                         &again, NULL),
                     0);
    assert_true(chime_trigger_next_exact(again, CHIME_UTIME_NONE, T("2026-06-02T00:00:00Z")) ==
                T(now));
    chime_trigger_unref(again);
    json_decref(norm);
    chime_trigger_unref(trig);
}

/* The zone a trigger gets from args under a Europe/Berlin default zone, or the error. */
static int zone_of(const char *kind, const char *args, const char **zone, struct chime_diag *diag)
{
    const struct chime_zone *berlin = NULL;
    struct chime_trigger *trig = NULL;
    json_t *a = json_loads(args, 0, NULL);
    assert_int_equal(chime_zone_find("Europe/Berlin", &berlin), 0);
    int rc = chime_trigger_parse(kind, a, berlin, T("2026-06-01T00:00:00Z"), &trig, diag);
    *zone = rc == 0 ? chime_zone_name(chime_trigger_zone(trig)) : NULL;
    chime_trigger_unref(trig);
    json_decref(a);
    return rc;
}

/*
 * timezone "" is falsy for CronTrigger and IntervalTrigger (`if timezone:`):
 * the default zone. DateTrigger calls astimezone("") -> pytz's
 * UnknownTimeZoneError: refused.
 */
static void test_empty_timezone(void **state)
{
    (void)state;
    struct chime_diag diag;
    const char *zone;
    assert_int_equal(zone_of("cron", "{\"hour\": 3, \"timezone\": \"\"}", &zone, &diag), 0);
    assert_string_equal(zone, "Europe/Berlin");
    assert_int_equal(zone_of("interval", "{\"hours\": 3, \"timezone\": \"\"}", &zone, &diag), 0);
    assert_string_equal(zone, "Europe/Berlin");
    assert_int_equal(zone_of("cron", "{\"timezone\": null}", &zone, &diag), 0);
    assert_string_equal(zone, "Europe/Berlin");
    assert_int_equal(zone_of("date", "{\"timezone\": \"\"}", &zone, &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "trigger_args.timezone");
    assert_non_null(strstr(diag.message, "unknown time zone"));
    expect_fires("cron", "{\"timezone\": \"\", \"minute\": 7}", "2026-06-01T00:00:00Z", 1,
                 "2026-06-01T00:07:00+00:00");
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
    /* A match inside the 30-minute gap (02:15) must not hide the first wall time after
     * the gap (02:30), which exists and matches. */
    expect_fires("cron", "{\"minute\": \"15,30\", \"timezone\": \"Australia/Lord_Howe\"}",
                 "2026-10-03T15:10:00Z", 3,
                 "2026-10-04T02:30:00+11:00 2026-10-04T03:15:00+11:00 2026-10-04T03:30:00+11:00");
    expect_fires("cron", "{\"minute\": \"*/20\", \"timezone\": \"America/New_York\"}",
                 "2027-03-14T06:50:00Z", 3,
                 "2027-03-14T03:00:00-04:00 2027-03-14T03:20:00-04:00 2027-03-14T03:40:00-04:00");
    expect_fires("cron", "{\"minute\": \"*/15\", \"timezone\": \"Australia/Lord_Howe\"}",
                 "2026-04-04T14:20:00Z", 4,
                 "2026-04-05T01:30:00+11:00 2026-04-05T01:45:00+11:00 2026-04-05T02:00:00+10:30 "
                 "2026-04-05T02:15:00+10:30");
}

/* The next fire time of a cron spec from now, adding the search's steps to *stats. */
static chime_utime next_counted(const char *args, const char *now, chime_utime prev,
                                struct chime__cron_stats *stats)
{
    struct chime_trigger *trig = parse_ok("cron", args, now);
    chime_utime t = chime__cron_next_counted(trig, prev, T(now), stats);
    chime_trigger_unref(trig);
    return t;
}

static void assert_steps(const struct chime__cron_stats *st, unsigned years, unsigned months,
                         unsigned rounds)
{
    if (st->years > years || st->months > months || st->rounds > rounds)
        fail_msg("search took %u years, %u months, %u rounds; bound %u, %u, %u", st->years,
                 st->months, st->rounds, years, months, rounds);
}

/* A cron spec compiled from the eight APScheduler field expressions (year .. second). */
static void cron_compile(struct chime__cron *cron, const char *const exprs[CHIME__CF_COUNT])
{
    struct chime_diag diag;
    memset(cron, 0, sizeof(*cron));
    for (int f = 0; f < CHIME__CF_COUNT; f++)
        if (chime__cron_field_parse(cron, (enum chime__cron_field)f, exprs[f], "t", &diag) != 0)
            fail_msg("%s=\"%s\": %s", chime__cron_field_names[f], exprs[f], diag.message);
}

static void test_cron_far_searches_jump(void **state)
{
    (void)state;
    struct chime__cron_stats st = { 0 };
    /*
     * Feb 29 on a Monday, from 2026-06-01: the next is 2044-02-29. The year
     * loop visits 2026..2044 (19 years) and scans at most February of each
     * (2026 has no February left): <= 19 years, <= 18 months, one round.
     */
    const char *feb29mon = "{\"month\": 2, \"day\": 29, \"day_of_week\": \"mon\"}";
    assert_true(next_counted(feb29mon, "2026-06-01T00:00:00Z", CHIME_UTIME_NONE, &st) ==
                T("2044-02-29T00:00:00Z"));
    assert_steps(&st, 19, 18, 1);
    /* From just after it, the next is 2072-02-29: 2044..2072 is 29 years, <= 29 Februaries. */
    st = (struct chime__cron_stats){ 0 };
    assert_true(next_counted(feb29mon, "2044-02-29T00:00:01Z", T("2044-02-29T00:00:00Z"), &st) ==
                T("2072-02-29T00:00:00Z"));
    assert_steps(&st, 29, 29, 1);
    /* Year 9999 alone: one bit scan reaches it, one month mask, one round. */
    const char *y9999 =
            "{\"year\": 9999, \"month\": 12, \"day\": 31, \"hour\": 23, \"minute\": 59, "
            "\"second\": \"58-59\"}";
    st = (struct chime__cron_stats){ 0 };
    assert_true(next_counted(y9999, "2026-06-01T00:00:00Z", CHIME_UTIME_NONE, &st) ==
                T("9999-12-31T23:59:58Z"));
    assert_steps(&st, 1, 1, 1);
    /* After its last second the search starts in year 10000: no year to visit, one round. */
    st = (struct chime__cron_stats){ 0 };
    assert_true(next_counted(y9999, "9999-12-31T23:59:59Z", T("9999-12-31T23:59:59Z"), &st) ==
                CHIME_UTIME_NONE);
    assert_steps(&st, 0, 0, 1);
    expect_fires("cron", y9999, "2026-06-01T00:00:00Z", 5,
                 "9999-12-31T23:59:58+00:00 9999-12-31T23:59:59+00:00");
    /* Refusing an impossible spec still works (the parse-time search). */
    parse_bad("cron", "{\"month\": 2, \"day\": 29, \"week\": 20}", CHIME_ENEVER, "trigger_args.day",
              "never");
}

/*
 * A spec that never matches ends once each of the 21 kinds of year (weekday
 * of Jan 1 x leap / after a leap year / neither) has failed once. From
 * 2026-06-01 all kinds occur by 2055: leap years 2028..2052 start on all 7
 * weekdays (+5 days every 4 years), the years after them 2029..2053 too, and
 * the years 2030, 2031, 2034, ... 2055 as well. So <= 30 years.
 */
static void test_cron_impossible_search_is_bounded(void **state)
{
    (void)state;
    static const char *const feb29w20[CHIME__CF_COUNT] = {
        "*", "2", "29", "20", "*", "0", "0", "0"
    };
    static const char *const mon2ndtue[CHIME__CF_COUNT] = { "*",   "*", "2nd tue", "*",
                                                            "mon", "0", "0",       "0" };
    struct chime__cron cron;
    struct chime_civil from = { 2026, 6, 1, 0, 0, 0, 0 }, out;
    struct chime__cron_stats st = { 0 };
    /* February 29 in ISO week 20: one February per kind of year, 21 months at most. */
    cron_compile(&cron, feb29w20);
    assert_false(chime__cron_find_counted(&cron, &from, &out, &st));
    assert_steps(&st, 30, 21, 0);
    assert_true(st.years >= 21); /* every kind had to be seen */
    /*
     * The 2nd Tuesday that is a Monday: every month is allowed and fails, so
     * 7 months of 2026 (June..December) plus 12 per kind: <= 7 + 21 * 12 = 259.
     */
    st = (struct chime__cron_stats){ 0 };
    cron_compile(&cron, mon2ndtue);
    assert_false(chime__cron_find_counted(&cron, &from, &out, &st));
    assert_steps(&st, 30, 7 + 21 * 12, 0);
}

/* Year ranges are set a 64-bit word at a time: exactly first..last, at every word edge. */
static void test_cron_year_ranges_set_exact_bits(void **state)
{
    (void)state;
    static const int ranges[][2] = { { 1970, 9999 }, { 1970, 1970 }, { 9999, 9999 }, { 2033, 2034 },
                                     { 2034, 2097 }, { 2033, 2098 }, { 2026, 2030 } };
    for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
        struct chime__cron cron;
        struct chime_diag diag;
        char expr[32];
        memset(&cron, 0, sizeof(cron));
        snprintf(expr, sizeof(expr), "%d-%d", ranges[r][0], ranges[r][1]);
        assert_int_equal(chime__cron_field_parse(&cron, CHIME__CF_YEAR, r ? expr : "*", "t", &diag),
                         0);
        for (int i = 0; i < CHIME__CRON_YEAR_WORDS * 64; i++) {
            int y = CHIME__CRON_YEAR_MIN + i;
            bool want = y >= ranges[r][0] && y <= ranges[r][1];
            if ((bool)((cron.years[i / 64] >> (i % 64)) & 1) != want)
                fail_msg("year \"%s\": bit of %d is %d", r ? expr : "*", y, !want);
        }
    }
}

/* A deterministic pseudo-random generator (xorshift64*) for the reference tests. */
static uint64_t rnd_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static int rnd_int(uint64_t *s, int lo, int hi)
{
    return lo + (int)(rnd_next(s) % (uint64_t)(hi - lo + 1));
}

/* The reference ISO week: the week of a date is the week of its Thursday. */
static int ref_iso_week(int64_t days)
{
    int64_t thursday = days + 3 - chime_civil_weekday(days);
    int y, m, d;
    chime_civil_date_from_days(thursday, &y, &m, &d);
    return (int)((thursday - chime_civil_days_from_date(y, 1, 1)) / 7) + 1;
}

#define ALL_WEEKS_BITS ((2ULL << 53) - 2)

static bool bit_set(uint64_t bits, int v)
{
    return (bits >> v) & 1;
}

/* The date rules written plainly, one date at a time. */
static bool ref_date_matches(const struct chime__cron *c, int y, int m, int d)
{
    int64_t days = chime_civil_days_from_date(y, m, d);
    int wd = chime_civil_weekday(days), dim = chime_civil_days_in_month(y, m);
    int i = y - CHIME__CRON_YEAR_MIN;
    if (!bit_set(c->years[i / 64], i % 64) || !bit_set(c->bits[CHIME__CF_MONTH], m))
        return false;
    bool dow = bit_set(c->bits[CHIME__CF_DOW], wd);
    bool dom = bit_set(c->bits[CHIME__CF_DAY], d) || (c->day_last && d == dim) ||
               bit_set(c->day_pos[wd], (d - 1) / 7) || (bit_set(c->day_pos[wd], 5) && d + 7 > dim);
    bool day_ok = c->day_or_dow ? (dom || dow) : (dom && dow);
    return day_ok && bit_set(c->bits[CHIME__CF_WEEK], ref_iso_week(days));
}

/* The first allowed time of day >= (h0, m0, s0), by plain nested loops. */
static bool ref_time(const struct chime__cron *c, int h0, int m0, int s0, struct chime_civil *out)
{
    for (int h = h0; h < 24; h++) {
        for (int mi = h == h0 ? m0 : 0; mi < 60 && bit_set(c->bits[CHIME__CF_HOUR], h); mi++) {
            bool same = h == h0 && mi == m0;
            for (int s = same ? s0 : 0; s < 60 && bit_set(c->bits[CHIME__CF_MINUTE], mi); s++) {
                if (bit_set(c->bits[CHIME__CF_SECOND], s)) {
                    out->hour = h;
                    out->minute = mi;
                    out->second = s;
                    return true;
                }
            }
        }
    }
    return false;
}

/* The brute-force search: day by day from from, for n_days days (and not past 9999). */
static bool ref_find(const struct chime__cron *c, const struct chime_civil *from, int n_days,
                     struct chime_civil *out)
{
    int64_t day0 = chime_civil_days_from_date(from->year, from->month, from->day);
    for (int64_t i = 0; i < n_days; i++) {
        chime_civil_date_from_days(day0 + i, &out->year, &out->month, &out->day);
        if (out->year > CHIME__CRON_YEAR_MAX)
            return false;
        if (!ref_date_matches(c, out->year, out->month, out->day))
            continue;
        out->usec = 0;
        if (i == 0 ? ref_time(c, from->hour, from->minute, from->second, out)
                   : ref_time(c, 0, 0, 0, out))
            return true;
    }
    return false;
}

#define REF_DAYS (5 * 366)

/*
 * Compares the mask search with the reference from one start; a reference
 * miss within REF_DAYS allows the search to find nothing or something later.
 * Returns whether the reference found a time.
 */
static bool compare_with_ref(const struct chime__cron *c, const struct chime_civil *from,
                             const char *what)
{
    struct chime_civil want, got;
    struct chime__cron_stats st = { 0 };
    bool ref = ref_find(c, from, REF_DAYS, &want);
    bool found = chime__cron_find_counted(c, from, &got, &st);
    if (ref && (!found || memcmp(&want, &got, sizeof(got)) != 0))
        fail_msg("%s from %04d-%02d-%02dT%02d:%02d:%02d: want %04d-%02d-%02dT%02d:%02d:%02d, got "
                 "%s %04d-%02d-%02dT%02d:%02d:%02d",
                 what, from->year, from->month, from->day, from->hour, from->minute, from->second,
                 want.year, want.month, want.day, want.hour, want.minute, want.second,
                 found ? "" : "(none)", got.year, got.month, got.day, got.hour, got.minute,
                 got.second);
    if (!ref && found) {
        int64_t limit = chime_civil_days_from_date(from->year, from->month, from->day) + REF_DAYS;
        assert_true(chime_civil_days_from_date(got.year, got.month, got.day) >= limit);
    }
    /* 22 years with months scanned at most, 12 months each (see chime__cron_find_counted). */
    assert_true(st.months <= 22 * 12);
    return ref;
}

static void random_from(uint64_t *rs, struct chime_civil *from)
{
    from->year = rnd_int(rs, 2024, 2032);
    from->month = rnd_int(rs, 1, 12);
    from->day = rnd_int(rs, 1, chime_civil_days_in_month(from->year, from->month));
    from->hour = rnd_int(rs, 0, 23);
    from->minute = rnd_int(rs, 0, 59);
    from->second = rnd_int(rs, 0, 59);
    from->usec = 0;
}

/* Specs that each exercise a day rule: day list, weekday, week, last, nth weekday, OR. */
static const char *const rule_specs[][CHIME__CF_COUNT] = {
    { "*", "*", "1,15,31", "*", "*", "9", "30", "0" },
    { "*", "*", "*", "*", "fri", "12", "0", "0" },
    { "*", "*", "*", "1,20,53", "*", "0", "0", "0" },
    { "*", "1,12", "*", "52,53,1", "*", "0", "0", "0" },
    { "*", "*", "last", "*", "*", "23", "59", "59" },
    { "*", "*", "last fri", "*", "*", "8", "0", "0" },
    { "*", "*", "3rd mon", "*", "*", "*/6", "0", "0" },
    { "*", "*", "5th sun,1st wed", "*", "*", "0", "0", "0" },
    { "*", "*", "last,2nd tue,last sat", "*", "sat,sun,tue", "0", "0", "*/20" },
    { "*", "*", "13", "*", "fri", "0", "0", "0" },
    { "*", "2", "29", "*", "*", "0", "0", "0" },
    { "2026-2030", "*", "*/10", "*/3", "tue-thu", "5", "5", "5" },
    { "*", "*", "4th thu,last", "40-53", "3-6", "18", "*/7", "30" },
};

static const char *const rule_crontabs[] = {
    "0 9 1 * mon",   "30 6 13 * 5", "0 0 1,15 * sat,sun", "0 0 31 * 1-5",
    "*/15 * 29 2 0", "0 12 * * 3",  "59 23 28-31 * 0",    "@weekly",
};

static void test_cron_day_rules_match_brute_force(void **state)
{
    (void)state;
    uint64_t rs = 0x9e3779b97f4a7c15ULL;
    struct chime__cron cron;
    struct chime_civil from;
    struct chime_diag diag;
    int hits = 0, n_specs = (int)(sizeof(rule_specs) / sizeof(rule_specs[0]));
    int n_tabs = (int)(sizeof(rule_crontabs) / sizeof(rule_crontabs[0]));
    for (int i = 0; i < n_specs + n_tabs; i++) {
        if (i < n_specs) {
            cron_compile(&cron, rule_specs[i]);
        } else {
            memset(&cron, 0, sizeof(cron));
            assert_int_equal(chime__crontab_parse(&cron, rule_crontabs[i - n_specs], "t", &diag),
                             0);
        }
        for (int k = 0; k < 60; k++) {
            random_from(&rs, &from);
            hits += compare_with_ref(&cron, &from,
                                     i < n_specs ? rule_specs[i][2] : rule_crontabs[i - n_specs]);
        }
    }
    /* Only the rare Feb 29 spec may miss within five years: the comparison is not vacuous. */
    assert_true(hits >= (n_specs + n_tabs - 1) * 60);
}

/* A random day rule set, as bits: any mix of day, weekday, week, positional and OR rules. */
static void random_cron(uint64_t *rs, struct chime__cron *c)
{
    memset(c, 0, sizeof(*c));
    for (int w = 0; w < CHIME__CRON_YEAR_WORDS; w++)
        c->years[w] = rnd_int(rs, 0, 3) ? ~0ULL : rnd_next(rs);
    c->bits[CHIME__CF_MONTH] = rnd_int(rs, 0, 1) ? 0x1ffe : (rnd_next(rs) & 0x1ffe) | 1ULL << 6;
    int density = rnd_int(rs, 0, 3);
    c->bits[CHIME__CF_DAY] =
            density == 0
                    ? 0
                    : rnd_next(rs) & (rnd_next(rs) | -(uint64_t)(density == 3)) & 0xfffffffeULL;
    c->bits[CHIME__CF_DOW] = rnd_int(rs, 0, 2) ? 0x7f : (rnd_next(rs) & 0x7f) | 1;
    c->bits[CHIME__CF_WEEK] = rnd_int(rs, 0, 1) ? ALL_WEEKS_BITS : rnd_next(rs) & ALL_WEEKS_BITS;
    c->day_last = rnd_int(rs, 0, 3) == 0;
    for (int w = 0; w < 7; w++)
        c->day_pos[w] = rnd_int(rs, 0, 2) == 0 ? (uint8_t)(rnd_next(rs) & 0x3f) : 0;
    c->day_or_dow = rnd_int(rs, 0, 2) == 0;
    c->bits[CHIME__CF_HOUR] = (rnd_next(rs) & 0xffffff) | 1ULL << rnd_int(rs, 0, 23);
    c->bits[CHIME__CF_MINUTE] = rnd_int(rs, 0, 1) ? 1 : rnd_next(rs) & 0x0fffffffffffffffULL;
    c->bits[CHIME__CF_SECOND] = rnd_int(rs, 0, 1) ? 1 : (rnd_next(rs) & 0x0fffffffffffffffULL) | 1;
    if (!c->bits[CHIME__CF_MINUTE])
        c->bits[CHIME__CF_MINUTE] = 1ULL << 59;
}

static void test_cron_random_specs_match_brute_force(void **state)
{
    (void)state;
    uint64_t rs = 0x2545f4914f6cdd1dULL;
    struct chime__cron cron;
    struct chime_civil from;
    int hits = 0;
    for (int i = 0; i < 1500; i++) {
        random_cron(&rs, &cron);
        for (int k = 0; k < 3; k++) {
            random_from(&rs, &from);
            hits += compare_with_ref(&cron, &from, "random spec");
        }
    }
    assert_true(hits >= 1500); /* most random specs match within five years */
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
        cmocka_unit_test(test_cron_without_fields_fires_every_second),
        cmocka_unit_test(test_cron_week_and_dow_defaults),
        cmocka_unit_test(test_null_args_mean_not_given),
        cmocka_unit_test(test_date_without_run_date_runs_now),
        cmocka_unit_test(test_empty_timezone),
        cmocka_unit_test(test_cron_skips_dst_gap_berlin),
        cmocka_unit_test(test_cron_fires_fold_once_berlin),
        cmocka_unit_test(test_cron_dst_new_york),
        cmocka_unit_test(test_cron_dst_lord_howe_half_hour),
        cmocka_unit_test(test_cron_far_searches_jump),
        cmocka_unit_test(test_cron_impossible_search_is_bounded),
        cmocka_unit_test(test_cron_year_ranges_set_exact_bits),
        cmocka_unit_test(test_cron_day_rules_match_brute_force),
        cmocka_unit_test(test_cron_random_specs_match_brute_force),
        cmocka_unit_test(test_cron_start_and_end_dates),
        cmocka_unit_test(test_args_json_round_trips),
        cmocka_unit_test(test_jitter_stays_within_bounds),
        cmocka_unit_test(test_describe_ref_kind),
        cmocka_unit_test(test_parse_survives_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
