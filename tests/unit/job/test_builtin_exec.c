/*
 * Unit tests of chime:exec through the registry, with real child processes:
 * the gate (refused with CHIME_EPERM naming CHIME_ALLOW_EXEC while disabled,
 * at binding and again at run time; the CHIME_EXEC_ALLOW allow-list after the
 * PATH lookup), the value checks of every keyword, the defaults, and the
 * outcome of a run (ok only for exit 0; the error sentence for an exit
 * status, a signal and a timeout; the output JSON with both tails made valid
 * UTF-8), the environment given to the child, and concurrent runs while the
 * configuration changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "job/registry.h"

static void configure(bool allow, const char *list)
{
    struct chime_registry_config cfg = { allow, list };
    struct chime_diag diag;
    chime_diag_clear(&diag);
    assert_int_equal(chime_registry_configure(&cfg, &diag), 0);
}

static const struct chime_func *exec_fn(void)
{
    const struct chime_func *fn = NULL;
    struct chime_diag diag;
    assert_int_equal(chime_registry_find("chime:exec", &fn, &diag), 0);
    return fn;
}

/* Binds kwargs text; returns the code, diag filled, *out the bound kwargs (or NULL). */
static int bind(const char *kwargs, json_t **out, struct chime_diag *diag)
{
    json_t *k = json_loads(kwargs, JSON_ALLOW_NUL, NULL);
    assert_non_null(k);
    chime_diag_clear(diag);
    *out = NULL;
    int rc = chime_registry_bind(exec_fn(), NULL, k, out, diag);
    json_decref(k);
    return rc;
}

static void expect_refused(const char *kwargs, int err, const char *field, const char *text)
{
    struct chime_diag diag;
    json_t *bound;
    assert_int_equal(bind(kwargs, &bound, &diag), err);
    assert_null(bound);
    assert_string_equal(diag.field, field);
    if (!strstr(diag.message, text))
        fail_msg("diag '%s' lacks '%s'", diag.message, text);
}

/* Binds and runs; the outcome is the caller's to release; *out_json its parsed output. */
static void run(const char *kwargs, struct chime_outcome *out, json_t **out_json)
{
    struct chime_diag diag;
    json_t *bound;
    if (bind(kwargs, &bound, &diag) != 0)
        fail_msg("bind %s: %s", kwargs, diag.message);
    struct chime_call call = { "job1", "name", "chime:exec", 1, 0, 1, NULL, bound, 0, NULL };
    memset(out, 0, sizeof(*out));
    exec_fn()->fn(&call, out);
    json_decref(bound);
    *out_json = out->output ? json_loads(out->output, 0, NULL) : NULL;
    if (out->output)
        assert_non_null(*out_json);
}

static int setup_enabled(void **state)
{
    (void)state;
    configure(true, NULL);
    return 0;
}

static void test_disabled_exec_is_refused_naming_the_setting(void **state)
{
    (void)state;
    configure(false, NULL);
    expect_refused("{\"argv\":[\"/bin/echo\",\"hi\"]}", CHIME_EPERM, "func",
                   "chime:exec is disabled: set CHIME_ALLOW_EXEC=true to allow command jobs");
    chime_registry_configure(NULL, NULL); /* the defaults: disabled too */
    expect_refused("{\"argv\":[\"/bin/echo\"]}", CHIME_EPERM, "func", "CHIME_ALLOW_EXEC");
}

static void test_enabled_exec_binds_with_defaults(void **state)
{
    (void)state;
    struct chime_diag diag;
    json_t *bound;
    assert_int_equal(bind("{\"argv\":[\"/bin/echo\",\"hi\"]}", &bound, &diag), 0);
    json_t *want = json_loads("{\"argv\":[\"/bin/echo\",\"hi\"],\"env\":{},\"cwd\":null,"
                              "\"timeout\":3600,\"stdin\":\"\",\"kill_grace\":5}",
                              0, NULL);
    assert_true(json_equal(bound, want));
    json_decref(want);
    json_decref(bound);
    json_t *args = json_loads("[[\"true\"], {\"A\":\"b\"}, \"/tmp\", 2.5]", 0, NULL);
    assert_int_equal(chime_registry_bind(exec_fn(), args, NULL, &bound, &diag), 0);
    assert_true(json_number_value(json_object_get(bound, "timeout")) == 2.5);
    assert_string_equal(json_string_value(json_object_get(bound, "cwd")), "/tmp");
    json_decref(bound);
    json_decref(args);
}

static void test_exec_values_are_checked(void **state)
{
    (void)state;
    expect_refused("{}", CHIME_EINVAL, "args", "missing the required argument 'argv'");
    expect_refused("{\"argv\":\"ls\"}", CHIME_EINVAL, "kwargs", "must be an array");
    expect_refused("{\"argv\":[]}", CHIME_EINVAL, "kwargs.argv", "non-empty array");
    expect_refused("{\"argv\":[\"\"]}", CHIME_EINVAL, "kwargs.argv", "argv[0]");
    expect_refused("{\"argv\":[\"ls\", 3]}", CHIME_EINVAL, "kwargs.argv", "argv[1]");
    expect_refused("{\"argv\":[\"ls\", \"a\\u0000b\"]}", CHIME_EINVAL, "kwargs.argv", "NUL");
    expect_refused("{\"argv\":[\"ls\"],\"env\":{\"A\":1}}", CHIME_EINVAL, "kwargs.env", "'A'");
    expect_refused("{\"argv\":[\"ls\"],\"env\":{\"A=B\":\"x\"}}", CHIME_EINVAL, "kwargs.env",
                   "not a valid variable name");
    expect_refused("{\"argv\":[\"ls\"],\"env\":{\"\":\"x\"}}", CHIME_EINVAL, "kwargs.env", "valid");
    expect_refused("{\"argv\":[\"ls\"],\"env\":[]}", CHIME_EINVAL, "kwargs", "an object");
    expect_refused("{\"argv\":[\"ls\"],\"cwd\":5}", CHIME_EINVAL, "kwargs.cwd", "cwd");
    expect_refused("{\"argv\":[\"ls\"],\"cwd\":\"\"}", CHIME_EINVAL, "kwargs.cwd", "cwd");
    expect_refused("{\"argv\":[\"ls\"],\"timeout\":0}", CHIME_EINVAL, "kwargs.timeout",
                   "more than 0");
    expect_refused("{\"argv\":[\"ls\"],\"timeout\":-3}", CHIME_EINVAL, "kwargs.timeout", "-3");
    expect_refused("{\"argv\":[\"ls\"],\"timeout\":\"5\"}", CHIME_EINVAL, "kwargs", "a number");
    expect_refused("{\"argv\":[\"ls\"],\"timeout\":1e9}", CHIME_EINVAL, "kwargs.timeout",
                   "at most");
    expect_refused("{\"argv\":[\"ls\"],\"kill_grace\":-1}", CHIME_EINVAL, "kwargs.kill_grace",
                   "at least 0");
    expect_refused("{\"argv\":[\"ls\"],\"stdin\":1}", CHIME_EINVAL, "kwargs", "a string");
    expect_refused("{\"argv\":[\"ls\"],\"shell\":true}", CHIME_EINVAL, "kwargs",
                   "unexpected keyword argument 'shell'");
}

static void test_allow_list_after_path_lookup(void **state)
{
    (void)state;
    struct chime_diag diag;
    json_t *bound;
    configure(true, "/usr/bin/echo, /usr/bin/true");
    assert_int_equal(bind("{\"argv\":[\"echo\",\"x\"]}", &bound, &diag), 0);
    json_decref(bound);
    assert_int_equal(bind("{\"argv\":[\"/usr/bin/true\"]}", &bound, &diag), 0);
    json_decref(bound);
    expect_refused("{\"argv\":[\"cat\"]}", CHIME_EPERM, "kwargs.argv",
                   "'/usr/bin/cat' is not an allowed executable");
    expect_refused("{\"argv\":[\"echo\"],\"env\":{\"PATH\":\"/nonexistent\"}}", CHIME_EPERM,
                   "kwargs.argv", "'echo' is not an allowed executable");
    expect_refused("{\"argv\":[\"chime-no-such-cmd\"]}", CHIME_EPERM, "kwargs.argv",
                   "CHIME_EXEC_ALLOW");
    /* A relative list is refused and the previous configuration stays. */
    struct chime_registry_config bad = { true, "/usr/bin/echo,bin/cat" };
    chime_diag_clear(&diag);
    assert_int_equal(chime_registry_configure(&bad, &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "CHIME_EXEC_ALLOW");
    assert_non_null(strstr(diag.message, "bin/cat"));
    expect_refused("{\"argv\":[\"cat\"]}", CHIME_EPERM, "kwargs.argv", "not an allowed");
    configure(true, "");
    assert_int_equal(bind("{\"argv\":[\"cat\"]}", &bound, &diag), 0);
    json_decref(bound);
}

static void test_allow_list_matches_the_same_file_through_symlinks(void **state)
{
    (void)state;
    struct chime_diag diag;
    json_t *bound;
    char exe[4096];
    /* /bin/sh is usually a symlink (to dash); the entry names its real file. */
    assert_non_null(realpath("/bin/sh", exe));
    configure(true, exe);
    assert_int_equal(bind("{\"argv\":[\"/bin/sh\",\"-c\",\"true\"]}", &bound, &diag), 0);
    json_decref(bound);
    configure(true, NULL);
}

static void test_run_success_outputs_json(void **state)
{
    (void)state;
    struct chime_outcome o;
    json_t *j;
    run("{\"argv\":[\"/bin/echo\",\"hello\"]}", &o, &j);
    assert_true(o.ok);
    assert_null(o.error);
    assert_int_equal(json_integer_value(json_object_get(j, "exit_status")), 0);
    assert_true(json_is_null(json_object_get(j, "signal")));
    assert_string_equal(json_string_value(json_object_get(j, "stdout_tail")), "hello\n");
    assert_string_equal(json_string_value(json_object_get(j, "stderr_tail")), "");
    assert_true(json_is_false(json_object_get(j, "timed_out")));
    assert_true(json_is_integer(json_object_get(j, "duration_ms")));
    assert_int_equal(json_object_size(j), 6);
    json_decref(j);
    chime_outcome_release(&o);
}

static void test_run_failure_exit_status(void **state)
{
    (void)state;
    struct chime_outcome o;
    json_t *j;
    run("{\"argv\":[\"sh\",\"-c\",\"echo bad >&2; exit 3\"]}", &o, &j);
    assert_false(o.ok);
    assert_string_equal(o.error, "exit status 3");
    assert_int_equal(json_integer_value(json_object_get(j, "exit_status")), 3);
    assert_string_equal(json_string_value(json_object_get(j, "stderr_tail")), "bad\n");
    json_decref(j);
    chime_outcome_release(&o);
}

static void test_run_killed_by_signal(void **state)
{
    (void)state;
    struct chime_outcome o;
    json_t *j;
    run("{\"argv\":[\"sh\",\"-c\",\"kill -9 $$\"]}", &o, &j);
    assert_false(o.ok);
    assert_string_equal(o.error, "killed by signal 9");
    assert_true(json_is_null(json_object_get(j, "exit_status")));
    assert_int_equal(json_integer_value(json_object_get(j, "signal")), 9);
    json_decref(j);
    chime_outcome_release(&o);
}

static void test_run_timeout_kills_after_grace(void **state)
{
    (void)state;
    struct chime_outcome o;
    json_t *j;
    run("{\"argv\":[\"sh\",\"-c\",\"trap '' TERM; sleep 30\"],\"timeout\":0.3,"
        "\"kill_grace\":0.2}",
        &o, &j);
    assert_false(o.ok);
    assert_string_equal(o.error, "timed out after 0.3 s (SIGTERM, then SIGKILL after 0.2 s)");
    assert_true(json_is_true(json_object_get(j, "timed_out")));
    assert_int_equal(json_integer_value(json_object_get(j, "signal")), SIGKILL);
    assert_true(json_integer_value(json_object_get(j, "duration_ms")) >= 500);
    json_decref(j);
    chime_outcome_release(&o);
    run("{\"argv\":[\"sleep\",\"30\"],\"timeout\":0.2}", &o, &j);
    assert_string_equal(o.error, "timed out after 0.2 s (SIGTERM)");
    json_decref(j);
    chime_outcome_release(&o);
}

/* The job's own timeout (the call's timeout_ms) stops a command whose kwargs allow longer. */
static void test_job_timeout_bounds_the_command(void **state)
{
    (void)state;
    struct chime_diag diag;
    json_t *bound;
    assert_int_equal(bind("{\"argv\":[\"sh\",\"-c\",\"trap '' TERM; sleep 30\"],"
                          "\"kill_grace\":0.2}",
                          &bound, &diag),
                     0);
    struct chime_call call = { "job1", "name", "chime:exec", 1, 0, 1, NULL, bound, 300, NULL };
    struct chime_outcome o = { 0 };
    exec_fn()->fn(&call, &o);
    assert_false(o.ok);
    assert_true(o.timed_out);
    assert_false(o.has_exit_code);
    assert_string_equal(o.error, "timed out after 0.3 s (SIGTERM, then SIGKILL after 0.2 s)");
    chime_outcome_release(&o);
    /* A command that ends in time keeps its exit status. */
    call.timeout_ms = 5000;
    json_decref(bound);
    assert_int_equal(bind("{\"argv\":[\"sh\",\"-c\",\"exit 4\"]}", &bound, &diag), 0);
    call.kwargs = bound;
    memset(&o, 0, sizeof(o));
    exec_fn()->fn(&call, &o);
    assert_false(o.timed_out);
    assert_true(o.has_exit_code);
    assert_int_equal(o.exit_code, 4);
    assert_string_equal(o.error, "exit status 4");
    chime_outcome_release(&o);
    json_decref(bound);
}

static void test_run_missing_command_or_cwd_fails_cleanly(void **state)
{
    (void)state;
    struct chime_outcome o;
    json_t *j;
    run("{\"argv\":[\"chime-no-such-command\"]}", &o, &j);
    assert_false(o.ok);
    assert_non_null(strstr(o.error, "'chime-no-such-command' was not found in PATH /usr/bin:/bin"));
    assert_null(j);
    chime_outcome_release(&o);
    run("{\"argv\":[\"true\"],\"cwd\":\"/nonexistent/chime\"}", &o, &j);
    assert_false(o.ok);
    assert_non_null(strstr(o.error, "working directory '/nonexistent/chime' does not exist"));
    chime_outcome_release(&o);
}

static void test_run_env_cwd_stdin(void **state)
{
    (void)state;
    struct chime_outcome o;
    json_t *j;
    run("{\"argv\":[\"sh\",\"-c\",\"echo \\\"$FOO:$PATH:${HOME-none}\\\"; pwd -P; cat\"],"
        "\"env\":{\"FOO\":\"bar\"},\"cwd\":\"/\",\"stdin\":\"from stdin\"}",
        &o, &j);
    assert_true(o.ok);
    assert_string_equal(json_string_value(json_object_get(j, "stdout_tail")),
                        "bar:/usr/bin:/bin:none\n/\nfrom stdin");
    json_decref(j);
    chime_outcome_release(&o);
    run("{\"argv\":[\"sh\",\"-c\",\"echo $PATH\"],\"env\":{\"PATH\":\"/bin\"}}", &o, &j);
    assert_string_equal(json_string_value(json_object_get(j, "stdout_tail")), "/bin\n");
    json_decref(j);
    chime_outcome_release(&o);
}

static void test_run_output_is_made_valid_utf8(void **state)
{
    (void)state;
    struct chime_outcome o;
    json_t *j;
    run("{\"argv\":[\"printf\",\"\\\\377ok\\\\303\\\\251\\\\303\"]}", &o, &j);
    assert_true(o.ok);
    assert_string_equal(json_string_value(json_object_get(j, "stdout_tail")),
                        "\xef\xbf\xbdok\xc3\xa9\xef\xbf\xbd");
    json_decref(j);
    chime_outcome_release(&o);
}

static void test_run_rechecks_the_gate(void **state)
{
    (void)state;
    struct chime_diag diag;
    json_t *bound;
    assert_int_equal(bind("{\"argv\":[\"/bin/echo\",\"x\"]}", &bound, &diag), 0);
    configure(false, NULL);
    struct chime_call call = { "job1", "name", "chime:exec", 1, 0, 1, NULL, bound, 0, NULL };
    struct chime_outcome o = { 0 };
    exec_fn()->fn(&call, &o);
    assert_false(o.ok);
    assert_non_null(strstr(o.error, "CHIME_ALLOW_EXEC"));
    assert_null(o.output);
    chime_outcome_release(&o);
    configure(true, "/usr/bin/true");
    exec_fn()->fn(&call, &o);
    assert_false(o.ok);
    assert_non_null(strstr(o.error, "not an allowed executable"));
    chime_outcome_release(&o);
    json_decref(bound);
    configure(true, NULL);
}

/* Calls chime:exec with already bound kwargs. */
static void call_bound(json_t *bound, struct chime_outcome *out)
{
    struct chime_call call = { "job1", "name", "chime:exec", 1, 0, 1, NULL, bound, 0, NULL };
    memset(out, 0, sizeof(*out));
    exec_fn()->fn(&call, out);
}

static void test_configure_and_run_survive_allocation_failure(void **state)
{
    (void)state;
    struct chime_registry_config cfg = { true, "/usr/bin/true" };
    struct chime_diag diag;
    json_t *bound;
    chime_alloc_fail_after(1);
    assert_int_equal(chime_registry_configure(&cfg, &diag), CHIME_ENOMEM);
    chime_alloc_fail_after(0);
    assert_int_equal(bind("{\"argv\":[\"/bin/echo\",\"x\"],\"env\":{\"A\":\"b\"}}", &bound, &diag),
                     0);
    for (long n = 1; n < 40; n++) {
        struct chime_outcome o;
        chime_alloc_fail_after(n);
        call_bound(bound, &o);
        chime_alloc_fail_after(0);
        bool done = o.ok && o.output; /* ok with no output: out of memory for it */
        if (done) {
            assert_non_null(strstr(o.output, "\"x\\n\""));
            assert_null(o.error);
        }
        chime_outcome_release(&o);
        if (done) {
            json_decref(bound);
            return;
        }
    }
    fail_msg("still failing after 40 allocations");
}

#define N_THREADS 8

struct runner {
    json_t *bound;
    int ok;
};

static void *runner_main(void *arg)
{
    struct runner *r = arg;
    for (int i = 0; i < 3; i++) {
        struct chime_outcome o;
        call_bound(r->bound, &o);
        if (o.ok ? strstr(o.output, "hi\\n") != NULL
                 : o.error && strstr(o.error, "not an allowed executable"))
            r->ok++;
        chime_outcome_release(&o);
    }
    return NULL;
}

static void test_concurrent_runs_while_reconfigured(void **state)
{
    (void)state;
    pthread_t threads[N_THREADS];
    struct runner r[N_THREADS];
    struct chime_diag diag;
    for (int i = 0; i < N_THREADS; i++) {
        r[i].ok = 0;
        assert_int_equal(bind("{\"argv\":[\"sh\",\"-c\",\"echo hi\"]}", &r[i].bound, &diag), 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, runner_main, &r[i]), 0);
    for (int i = 0; i < 50; i++)
        configure(true, i % 2 ? "/usr/bin/true" : "");
    configure(true, NULL);
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(r[i].ok, 3);
        json_decref(r[i].bound);
    }
}

int main(void)
{
    chime__log_set_level(CHIME_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disabled_exec_is_refused_naming_the_setting),
        cmocka_unit_test_setup(test_enabled_exec_binds_with_defaults, setup_enabled),
        cmocka_unit_test_setup(test_exec_values_are_checked, setup_enabled),
        cmocka_unit_test_setup(test_allow_list_after_path_lookup, setup_enabled),
        cmocka_unit_test_setup(test_allow_list_matches_the_same_file_through_symlinks,
                               setup_enabled),
        cmocka_unit_test_setup(test_run_success_outputs_json, setup_enabled),
        cmocka_unit_test_setup(test_run_failure_exit_status, setup_enabled),
        cmocka_unit_test_setup(test_run_killed_by_signal, setup_enabled),
        cmocka_unit_test_setup(test_run_timeout_kills_after_grace, setup_enabled),
        cmocka_unit_test_setup(test_job_timeout_bounds_the_command, setup_enabled),
        cmocka_unit_test_setup(test_run_missing_command_or_cwd_fails_cleanly, setup_enabled),
        cmocka_unit_test_setup(test_run_env_cwd_stdin, setup_enabled),
        cmocka_unit_test_setup(test_run_output_is_made_valid_utf8, setup_enabled),
        cmocka_unit_test_setup(test_run_rechecks_the_gate, setup_enabled),
        cmocka_unit_test_setup(test_configure_and_run_survive_allocation_failure, setup_enabled),
        cmocka_unit_test_setup(test_concurrent_runs_while_reconfigured, setup_enabled),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    chime_registry_configure(NULL, NULL);
    return rc;
}
