/*
 * Unit tests of the function registry: "module:function" lookup with its two
 * distinct failures, Python-style binding of args/kwargs, listing order, and
 * the shipped functions themselves (chime:noop, chime:fail, chime:sleep,
 * app.jobs.registry), including chime:sleep's range check at bind time and its
 * real sleeping (fractional seconds, signals that interrupt it).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <cmocka.h>

#include "base/base.h"
#include "job/registry.h"

static const struct chime_func *find_ok(const char *name)
{
    const struct chime_func *fn = NULL;
    struct chime_diag d;
    chime_diag_clear(&d);
    assert_int_equal(chime_registry_find(name, &fn, &d), 0);
    assert_non_null(fn);
    return fn;
}

static void test_find_resolves_every_shipped_function(void **state)
{
    (void)state;
    static const char *names[] = { "chime:noop",
                                   "chime:fail",
                                   "chime:sleep",
                                   "app.jobs.registry:send_daily_digest",
                                   "app.jobs.registry:purge_expired_sessions",
                                   "app.jobs.registry:generate_weekly_report" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const struct chime_func *fn = find_ok(names[i]);
        const char *colon = strchr(names[i], ':');
        assert_int_equal(strlen(fn->module), (size_t)(colon - names[i]));
        assert_memory_equal(fn->module, names[i], strlen(fn->module));
        assert_string_equal(fn->name, colon + 1);
        assert_non_null(fn->fn);
    }
}

static void test_find_rejects_malformed_names(void **state)
{
    (void)state;
    static const char *bad[] = { "noop", ":noop", "chime:", "chime:noop:x", "", "::" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const struct chime_func *fn = NULL;
        struct chime_diag d;
        chime_diag_clear(&d);
        assert_int_equal(chime_registry_find(bad[i], &fn, &d), CHIME_EINVAL);
        assert_string_equal(d.field, "func");
        assert_null(fn);
    }
}

static void test_find_unknown_module_and_function_differ(void **state)
{
    (void)state;
    const struct chime_func *fn = NULL;
    struct chime_diag d;
    chime_diag_clear(&d);
    assert_int_equal(chime_registry_find("app.jobs.nope:send_daily_digest", &fn, &d), CHIME_EFUNC);
    assert_string_equal(d.field, "func");
    assert_non_null(strstr(d.message, "unknown module 'app.jobs.nope'"));
    chime_diag_clear(&d);
    assert_int_equal(chime_registry_find("app.jobs.registry:send_weekly", &fn, &d), CHIME_EFUNC);
    assert_string_equal(d.field, "func");
    assert_non_null(strstr(d.message, "has no function 'send_weekly'"));
    assert_non_null(strstr(d.message, "app.jobs.registry"));
    /* A module name that is a prefix of a real one is not that module. */
    assert_int_equal(chime_registry_find("chim:noop", &fn, &d), CHIME_EFUNC);
    assert_null(fn);
}

/* Binds JSON texts; returns rc, *out the bound kwargs text (or NULL). */
static int bind_text(const struct chime_func *fn, const char *args, const char *kwargs, char **out,
                     struct chime_diag *d)
{
    json_t *a = args ? json_loads(args, 0, NULL) : NULL;
    json_t *k = kwargs ? json_loads(kwargs, 0, NULL) : NULL;
    json_t *bound = NULL;
    chime_diag_clear(d);
    int rc = chime_registry_bind(fn, a, k, &bound, d);
    *out = bound ? json_dumps(bound, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (rc)
        assert_null(bound);
    json_decref(bound);
    json_decref(a);
    json_decref(k);
    return rc;
}

static void expect_bound(const struct chime_func *fn, const char *args, const char *kwargs,
                         const char *want)
{
    struct chime_diag d;
    char *got = NULL;
    assert_int_equal(bind_text(fn, args, kwargs, &got, &d), 0);
    assert_string_equal(got, want);
    free(got); /* jansson's allocation */
}

static void expect_refused(const struct chime_func *fn, const char *args, const char *kwargs,
                           const char *field, const char *fragment)
{
    struct chime_diag d;
    char *got = NULL;
    assert_int_equal(bind_text(fn, args, kwargs, &got, &d), CHIME_EINVAL);
    assert_null(got);
    assert_string_equal(d.field, field);
    if (!strstr(d.message, fragment))
        fail_msg("message '%s' lacks '%s'", d.message, fragment);
}

static void test_bind_fills_defaults_positional_and_keyword(void **state)
{
    (void)state;
    const struct chime_func *fn = find_ok("app.jobs.registry:send_daily_digest");
    expect_bound(fn, NULL, NULL, "{\"user_segment\":\"all\"}");
    expect_bound(fn, "[]", "{}", "{\"user_segment\":\"all\"}");
    expect_bound(fn, "[\"vip\"]", NULL, "{\"user_segment\":\"vip\"}");
    expect_bound(fn, NULL, "{\"user_segment\":\"trial\"}", "{\"user_segment\":\"trial\"}");
    expect_bound(find_ok("chime:noop"), "[]", "{}", "{}");
}

static void test_bind_refuses_python_errors(void **state)
{
    (void)state;
    const struct chime_func *fn = find_ok("app.jobs.registry:send_daily_digest");
    expect_refused(fn, "[\"a\",\"b\"]", NULL, "args", "takes 1 positional argument but 2");
    expect_refused(find_ok("app.jobs.registry:purge_expired_sessions"), "[1]", NULL, "args",
                   "takes 0 positional arguments but 1");
    expect_refused(fn, "[\"a\"]", "{\"user_segment\":\"b\"}", "kwargs",
                   "multiple values for argument 'user_segment'");
    expect_refused(fn, NULL, "{\"segment\":\"b\"}", "kwargs",
                   "unexpected keyword argument 'segment'");
    expect_refused(fn, "[7]", NULL, "args", "must be a string");
    expect_refused(fn, NULL, "{\"user_segment\":null}", "kwargs", "must be a string");
    expect_refused(fn, "{}", NULL, "args", "args must be a JSON array");
    expect_refused(fn, NULL, "[]", "kwargs", "kwargs must be a JSON object");
}

static void ignore_call(const struct chime_call *call, struct chime_outcome *out)
{
    (void)call;
    out->ok = true;
}

static const struct chime_param test_params[] = {
    { "count", CHIME_PARAM_INTEGER, NULL },   { "ratio", CHIME_PARAM_NUMBER, "0.5" },
    { "flag", CHIME_PARAM_BOOLEAN, "false" }, { "items", CHIME_PARAM_ARRAY, "[]" },
    { "opts", CHIME_PARAM_OBJECT, "{}" },     { "anything", CHIME_PARAM_ANY, "null" },
};

static const struct chime_func test_fn = { "t", "f", ignore_call, test_params, 6, false };
static const struct chime_func test_fn_var = { "t", "g", ignore_call, test_params, 6, true };

static void test_bind_required_types_and_var_kwargs(void **state)
{
    (void)state;
    expect_refused(&test_fn, NULL, NULL, "args", "missing the required argument 'count'");
    expect_refused(&test_fn, "[1.5]", NULL, "args", "must be an integer");
    expect_refused(&test_fn, "[1, \"x\"]", NULL, "args", "must be a number");
    expect_refused(&test_fn, "[1]", "{\"flag\": 1}", "kwargs", "must be a boolean");
    expect_refused(&test_fn, "[1]", "{\"items\": {}}", "kwargs", "must be an array");
    expect_refused(&test_fn, "[1]", "{\"opts\": []}", "kwargs", "must be an object");
    expect_refused(&test_fn, "[1]", "{\"extra\": 1}", "kwargs", "unexpected keyword");
    expect_bound(&test_fn, "[1, 2, true, [1], {\"a\": 1}, \"z\"]", NULL,
                 "{\"anything\":\"z\",\"count\":1,\"flag\":true,\"items\":[1],\"opts\":{\"a\":1},"
                 "\"ratio\":2}");
    expect_bound(&test_fn_var, NULL, "{\"count\": 3, \"extra\": \"e\"}",
                 "{\"anything\":null,\"count\":3,\"extra\":\"e\",\"flag\":false,\"items\":[],"
                 "\"opts\":{},\"ratio\":0.5}");
    /* out_kwargs NULL only checks. */
    struct chime_diag d;
    json_t *args = json_loads("[4]", 0, NULL);
    assert_int_equal(chime_registry_bind(&test_fn, args, NULL, NULL, &d), 0);
    json_decref(args);
}

struct listing {
    char names[16][80];
    size_t n;
};

static void collect(const struct chime_func *fn, void *ctx)
{
    struct listing *l = ctx;
    assert_true(l->n < 16);
    snprintf(l->names[l->n++], sizeof(l->names[0]), "%s:%s", fn->module, fn->name);
}

static void test_foreach_lists_modules_in_order_names_sorted(void **state)
{
    (void)state;
    struct listing l;
    memset(&l, 0, sizeof(l));
    chime_registry_foreach(collect, &l);
    assert_true(l.n >= 6);
    assert_string_equal(l.names[0], "chime:exec");
    /* The chime module's functions are listed (others may join between them). */
    static const char *const listed[] = { "chime:fail", "chime:http", "chime:noop",
                                          "chime:sleep" };
    for (size_t k = 0; k < sizeof(listed) / sizeof(listed[0]); k++) {
        bool found = false;
        for (size_t i = 0; i < l.n; i++)
            found = found || strcmp(l.names[i], listed[k]) == 0;
        assert_true(found);
    }
    for (size_t i = 1; i < l.n; i++) {
        const char *a = l.names[i - 1], *b = l.names[i];
        size_t ma = (size_t)(strchr(a, ':') - a), mb = (size_t)(strchr(b, ':') - b);
        if (ma == mb && memcmp(a, b, ma) == 0)
            assert_true(strcmp(a, b) < 0);
    }
    /* Every listed function resolves to itself. */
    for (size_t i = 0; i < l.n; i++)
        find_ok(l.names[i]);
}

/* Runs fn with args/kwargs texts; the outcome is the caller's to release. */
static void call(const char *func, const char *args, const char *kwargs, struct chime_outcome *out)
{
    const struct chime_func *fn = find_ok(func);
    json_t *a = json_loads(args, 0, NULL);
    json_t *k = json_loads(kwargs, 0, NULL);
    struct chime_call c = { "job1", "name", func, 1, 0, 1, a, k, 0, NULL };
    memset(out, 0, sizeof(*out));
    out->ok = !fn; /* the function must set it */
    fn->fn(&c, out);
    json_decref(a);
    json_decref(k);
}

static void test_shipped_functions_run(void **state)
{
    (void)state;
    struct chime_outcome o;
    chime__log_set_level(CHIME_LOG_OFF);
    call("chime:noop", "[]", "{}", &o);
    assert_true(o.ok);
    assert_null(o.error);
    assert_null(o.output);
    call("chime:fail", "[]", "{}", &o);
    assert_false(o.ok);
    assert_string_equal(o.error, "chime:fail always fails");
    chime_outcome_release(&o);
    assert_null(o.error);
    call("chime:fail", "[]", "{\"message\": \"boom\"}", &o);
    assert_string_equal(o.error, "boom");
    chime_outcome_release(&o);
    call("app.jobs.registry:send_daily_digest", "[]", "{\"user_segment\": \"all\"}", &o);
    assert_true(o.ok);
    assert_string_equal(o.output, "sending daily digest to segment 'all'");
    chime_outcome_release(&o);
    call("app.jobs.registry:send_daily_digest", "[\"vip\"]", "{}", &o);
    assert_string_equal(o.output, "sending daily digest to segment 'vip'");
    chime_outcome_release(&o);
    call("app.jobs.registry:generate_weekly_report", "[]", "{}", &o);
    assert_string_equal(o.output, "generating weekly report 'revenue'");
    chime_outcome_release(&o);
    call("app.jobs.registry:purge_expired_sessions", "[]", "{}", &o);
    assert_true(o.ok);
    assert_string_equal(o.output, "purging expired sessions");
    chime_outcome_release(&o);
}

static void test_fail_under_allocation_failure_still_fails(void **state)
{
    (void)state;
    struct chime_outcome o;
    chime_alloc_fail_after(1);
    call("chime:fail", "[]", "{}", &o);
    chime_alloc_fail_after(0);
    assert_false(o.ok);
    assert_null(o.error);
    chime_outcome_release(&o);
    chime_outcome_release(NULL);
}

static void test_sleep_binds_seconds_in_range(void **state)
{
    (void)state;
    const struct chime_func *fn = find_ok("chime:sleep");
    expect_bound(fn, NULL, NULL, "{\"seconds\":1}");
    expect_bound(fn, "[0.25]", NULL, "{\"seconds\":0.25}");
    expect_bound(fn, NULL, "{\"seconds\": 0}", "{\"seconds\":0}");
    expect_bound(fn, NULL, "{\"seconds\": 86400}", "{\"seconds\":86400}");
    expect_bound(fn, "[2]", "{}", "{\"seconds\":2}");
    expect_refused(fn, NULL, "{\"seconds\": -1}", "kwargs.seconds", "kwargs.seconds");
    expect_refused(fn, NULL, "{\"seconds\": -0.001}", "kwargs.seconds", "0 to 86400 seconds");
    expect_refused(fn, NULL, "{\"seconds\": 86400.5}", "kwargs.seconds", "got 86400.5");
    expect_refused(fn, "[100000]", NULL, "kwargs.seconds", "got 100000");
    expect_refused(fn, NULL, "{\"seconds\": \"1\"}", "kwargs", "must be a number");
    expect_refused(fn, "[1, 2]", NULL, "args", "takes 1 positional argument but 2");
    expect_refused(fn, NULL, "{\"secs\": 1}", "kwargs", "unexpected keyword argument 'secs'");
    /* Other functions have no value checks: a negative number passes their types. */
    expect_bound(&test_fn, "[-5]", NULL,
                 "{\"anything\":null,\"count\":-5,\"flag\":false,\"items\":[],\"opts\":{},"
                 "\"ratio\":0.5}");
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Calls chime:sleep with kwargs text; returns the seconds it took. */
static double timed_sleep(const char *kwargs, struct chime_outcome *o)
{
    double t0 = mono_s();
    call("chime:sleep", "[]", kwargs, o);
    return mono_s() - t0;
}

static void test_sleep_sleeps_fractional_seconds(void **state)
{
    (void)state;
    struct chime_outcome o;
    double took = timed_sleep("{\"seconds\": 0.3}", &o);
    assert_true(o.ok);
    assert_null(o.error);
    assert_string_equal(o.output, "slept 0.3 s");
    assert_true(took >= 0.3);
    assert_true(took < 2.0);
    chime_outcome_release(&o);
    took = timed_sleep("{\"seconds\": 0}", &o);
    assert_true(o.ok);
    assert_string_equal(o.output, "slept 0 s");
    assert_true(took < 0.2);
    chime_outcome_release(&o);
    /* Called without binding (a value the bind check refuses): fails at once. */
    took = timed_sleep("{\"seconds\": -3}", &o);
    assert_false(o.ok);
    assert_non_null(strstr(o.error, "between 0 and 86400"));
    assert_null(o.output);
    assert_true(took < 0.2);
    chime_outcome_release(&o);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void test_sleep_sleeps_through_signals(void **state)
{
    (void)state;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm; /* no SA_RESTART: nanosleep returns EINTR */
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    struct itimerval every = { { 0, 50000 }, { 0, 50000 } }, off;
    memset(&off, 0, sizeof(off));
    alarms = 0;
    assert_int_equal(setitimer(ITIMER_REAL, &every, NULL), 0);
    struct chime_outcome o;
    double took = timed_sleep("{\"seconds\": 0.4}", &o);
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old, NULL);
    assert_true(alarms >= 3);
    assert_true(o.ok);
    assert_true(took >= 0.4);
    chime_outcome_release(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_resolves_every_shipped_function),
        cmocka_unit_test(test_find_rejects_malformed_names),
        cmocka_unit_test(test_find_unknown_module_and_function_differ),
        cmocka_unit_test(test_bind_fills_defaults_positional_and_keyword),
        cmocka_unit_test(test_bind_refuses_python_errors),
        cmocka_unit_test(test_bind_required_types_and_var_kwargs),
        cmocka_unit_test(test_foreach_lists_modules_in_order_names_sorted),
        cmocka_unit_test(test_shipped_functions_run),
        cmocka_unit_test(test_fail_under_allocation_failure_still_fails),
        cmocka_unit_test(test_sleep_binds_seconds_in_range),
        cmocka_unit_test(test_sleep_sleeps_fractional_seconds),
        cmocka_unit_test(test_sleep_sleeps_through_signals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
