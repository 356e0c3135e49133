/*
 * Runs every trigger vector computed by the real APScheduler 3.9
 * (tests/vectors/triggers-*.jsonl files) through the trigger module: the fire sequences
 * must agree as RFC 3339 strings, except (a) dst_sensitive cases, which may
 * differ only where chime's DST policy says (a repeated wall time fires once,
 * a non-existent one is skipped), and (b) interval fire times, which
 * APScheduler writes in start_date's fixed offset: those must be the same
 * instants. Rejected specs must be refused with a diag naming their field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "trigger/trigger.h"

#define COUNT 6

static int n_exact, n_relabelled, n_dst, n_never, n_rejected;

/* The UTC offset written at the end of an RFC 3339 string, in seconds. */
static int32_t text_offset(const char *s)
{
    size_t n = strlen(s);
    if (n < 6 || s[n - 1] == 'Z')
        return 0;
    const char *o = s + n - 6;
    int32_t v = ((o[1] - '0') * 10 + (o[2] - '0')) * 3600 + ((o[4] - '0') * 10 + (o[5] - '0')) * 60;
    return o[0] == '-' ? -v : v;
}

static chime_utime instant(const char *s)
{
    chime_utime t;
    assert_int_equal(chime_time_parse(s, chime_zone_utc(), "fire", &t, NULL, NULL), 0);
    return t;
}

static void format_fixed(chime_utime t, int32_t offset, char *buf)
{
    struct chime_civil c;
    chime_civil_from_utime(t, offset, &c);
    int n = sprintf(buf, "%04d-%02d-%02dT%02d:%02d:%02d", c.year, c.month, c.day, c.hour, c.minute,
                    c.second);
    if (c.usec)
        n += sprintf(buf + n, ".%06d", c.usec);
    int32_t a = offset < 0 ? -offset : offset;
    sprintf(buf + n, "%c%02d:%02d", offset < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

/* How a wall time written in s resolves in zone. */
static void resolve(const struct chime_zone *zone, const char *s, struct chime_local_result *r)
{
    struct chime_civil c;
    chime_civil_from_utime(instant(s), text_offset(s), &c);
    chime_zone_from_local(zone, &c, r);
}

/* APScheduler fired s at a DST transition where chime's policy does not: a gap, or a repeat. */
static bool aps_dst_extra(const struct chime_zone *zone, const char *s)
{
    struct chime_local_result r;
    chime_utime t = instant(s);
    resolve(zone, s, &r);
    if (chime_zone_offset_at(zone, t) != text_offset(s) || r.kind == CHIME_LOCAL_GAP)
        return true;
    return r.kind == CHIME_LOCAL_FOLD && t == r.later;
}

static bool in_list(json_t *list, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (list, i, v)
        if (strcmp(json_string_value(v), s) == 0)
            return true;
    return false;
}

/* The check for dst_sensitive cases; returns a reason, NULL when they agree. */
static const char *dst_differs(const struct chime_zone *zone, json_t *aps, json_t *got)
{
    chime_utime horizon = INT64_MAX;
    size_t i;
    json_t *v;
    if (json_array_size(aps) == COUNT)
        horizon = instant(json_string_value(json_array_get(aps, COUNT - 1)));
    if (json_array_size(got) == COUNT) {
        chime_utime h = instant(json_string_value(json_array_get(got, COUNT - 1)));
        horizon = h < horizon ? h : horizon;
    }
    json_array_foreach (aps, i, v) {
        const char *s = json_string_value(v);
        if (instant(s) <= horizon && !in_list(got, s) && !aps_dst_extra(zone, s))
            return "APScheduler fires a time chime misses outside a DST exception";
    }
    json_array_foreach (got, i, v) {
        const char *s = json_string_value(v);
        if (instant(s) > horizon || in_list(aps, s))
            continue;
        bool same_instant_gap = false, same_wall_fold = false;
        size_t j;
        json_t *w;
        struct chime_local_result r;
        resolve(zone, s, &r);
        json_array_foreach (aps, j, w) {
            const char *a = json_string_value(w);
            same_instant_gap |= instant(a) == instant(s) && aps_dst_extra(zone, a);
            same_wall_fold |=
                    r.kind == CHIME_LOCAL_FOLD && instant(s) == r.earlier && strncmp(a, s, 19) == 0;
        }
        if (!same_instant_gap && !same_wall_fold)
            return "chime fires a time APScheduler does not outside a DST exception";
    }
    return NULL;
}

static json_t *sequence(const struct chime_trigger *trig, chime_utime now)
{
    json_t *out = json_array();
    chime_utime t = chime_trigger_next(trig, CHIME_UTIME_NONE, now);
    for (int i = 0; i < COUNT && t != CHIME_UTIME_NONE; i++) {
        char buf[CHIME_TIME_FORMAT_MAX];
        json_array_append_new(out,
                              json_string(chime_time_format(t, chime_trigger_zone(trig), buf)));
        t = chime_trigger_next(trig, t, t);
    }
    return out;
}

static bool relabelled_equal(json_t *aps, json_t *got, const char *start_date)
{
    size_t i;
    json_t *v;
    if (json_array_size(aps) != json_array_size(got))
        return false;
    json_array_foreach (got, i, v) {
        char buf[64];
        format_fixed(instant(json_string_value(v)), text_offset(start_date), buf);
        if (strcmp(buf, json_string_value(json_array_get(aps, i))) != 0)
            return false;
    }
    return true;
}

static void check_valid(json_t *c, int lineno)
{
    struct chime_diag diag;
    struct chime_trigger *trig = NULL;
    json_t *args = json_object_get(c, "trigger_args"), *want = json_object_get(c, "fires");
    chime_utime now = instant(json_string_value(json_object_get(c, "now")));
    int rc = chime_trigger_parse(json_string_value(json_object_get(c, "trigger")), args,
                                 chime_zone_utc(), now, &trig, &diag);
    if (rc != 0) {
        /* Never firing is refused at creation: ENEVER, or end_date before start_date. */
        if (json_array_size(want) == 0 &&
            (rc == CHIME_ENEVER || strcmp(diag.field, "trigger_args.end_date") == 0)) {
            n_never++;
            return;
        }
        fail_msg("line %d: refused (%s) but APScheduler fires", lineno, diag.message);
    }
    json_t *got = sequence(trig, now);
    json_t *start = json_object_get(args, "start_date");
    if (json_equal(got, want)) {
        n_exact++;
    } else if (chime_trigger_kind(trig) == CHIME_TRIGGER_INTERVAL && start &&
               relabelled_equal(want, got, json_string_value(start))) {
        n_relabelled++;
    } else if (json_is_true(json_object_get(c, "dst_sensitive"))) {
        const char *why = dst_differs(chime_trigger_zone(trig), want, got);
        if (why)
            fail_msg("line %d: %s", lineno, why);
        n_dst++;
    } else {
        char *g = json_dumps(got, 0), *w = json_dumps(want, 0);
        print_error("line %d: got %s\n  want %s\n", lineno, g, w);
        fail();
    }
    json_decref(got);
    chime_trigger_unref(trig);
}

static void check_rejected(json_t *c, int lineno)
{
    struct chime_diag diag;
    struct chime_trigger *trig = NULL;
    json_t *args = json_object_get(c, "trigger_args");
    int rc = chime_trigger_parse(json_string_value(json_object_get(c, "trigger")), args,
                                 chime_zone_utc(), 1800000000LL * CHIME_USEC_PER_SEC, &trig, &diag);
    if (rc == 0)
        fail_msg("line %d: accepted a spec APScheduler rejects", lineno);
    assert_null(trig);
    assert_int_equal(strncmp(diag.field, "trigger_args.", 13), 0);
    assert_non_null(json_object_get(args, diag.field + 13));
    assert_non_null(strstr(diag.message, diag.field));
    n_rejected++;
}

static void run_file(const char *name, void (*check)(json_t *, int))
{
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/vectors/%s", CHIME_SOURCE_DIR, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[16384];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        json_error_t err;
        json_t *c = json_loads(line, 0, &err);
        lineno++;
        assert_non_null(c);
        check(c, lineno);
        json_decref(c);
    }
    fclose(f);
    assert_true(lineno > 0);
}

static void test_vectors_utc(void **state)
{
    (void)state;
    run_file("triggers-utc.jsonl", check_valid);
}

static void test_vectors_zones(void **state)
{
    (void)state;
    run_file("triggers-zones.jsonl", check_valid);
}

static void test_vectors_rejected(void **state)
{
    (void)state;
    run_file("triggers-rejected.jsonl", check_rejected);
}

/* The DST check itself must be able to fail: a missing ordinary fire is caught. */
static void test_dst_check_catches_missing_fire(void **state)
{
    (void)state;
    const struct chime_zone *berlin;
    assert_int_equal(chime_zone_find("Europe/Berlin", &berlin), 0);
    json_t *aps = json_pack("[ss]", "2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00");
    json_t *ok = json_pack("[s]", "2026-10-25T02:30:00+02:00");
    json_t *bad = json_pack("[s]", "2026-10-25T02:30:00+01:00");
    json_t *aps2 = json_pack("[ss]", "2026-07-01T10:00:00+02:00", "2026-07-01T11:00:00+02:00");
    json_t *miss = json_pack("[s]", "2026-07-01T11:00:00+02:00");
    assert_null(dst_differs(berlin, aps, ok));
    assert_non_null(dst_differs(berlin, aps, bad));
    assert_non_null(dst_differs(berlin, aps2, miss));
    json_decref(aps);
    json_decref(ok);
    json_decref(bad);
    json_decref(aps2);
    json_decref(miss);
}

static int print_counts(void **state)
{
    (void)state;
    printf("vectors: %d exact, %d interval relabelled (same instants), %d dst policy, %d never "
           "(refused), %d rejected\n",
           n_exact, n_relabelled, n_dst, n_never, n_rejected);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_utc),
        cmocka_unit_test(test_vectors_zones),
        cmocka_unit_test(test_vectors_rejected),
        cmocka_unit_test(test_dst_check_catches_missing_fire),
    };
    return cmocka_run_group_tests(tests, NULL, print_counts);
}
