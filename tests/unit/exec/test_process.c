/*
 * Unit tests of the process runner with real child processes: output capture
 * (and only its tail, with bounded memory, for a child printing megabytes),
 * exit statuses and signals, a missing executable or working directory, the
 * timeout with a child that ignores SIGTERM (SIGKILL to the whole group after
 * the grace, grandchildren included), exact environment and working
 * directory, stdin delivered (or refused by the child without SIGPIPE here),
 * default signal dispositions and no inherited descriptors in the child,
 * PATH lookup, allocation failures and many concurrent runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "exec/process.h"

static const char *const default_env[] = { "PATH=/usr/bin:/bin", NULL };

/* Runs argv (NULL-terminated) with the default environment and timeout 10 s. */
static int run_argv(const char *const *argv, struct chime_process_result *res)
{
    struct chime_process_spec spec = {
        .argv = argv, .envp = default_env, .timeout_ms = 10000, .kill_grace_ms = 1000
    };
    struct chime_diag diag;
    chime_diag_clear(&diag);
    return chime_process_run(&spec, res, &diag);
}

static int run_sh(const char *script, struct chime_process_result *res)
{
    const char *argv[] = { "sh", "-c", script, NULL };
    return run_argv(argv, res);
}

static void test_run_echo_captures_stdout(void **state)
{
    (void)state;
    struct chime_process_result res;
    const char *argv[] = { "/bin/echo", "hello", "world", NULL };
    assert_int_equal(run_argv(argv, &res), 0);
    assert_int_equal(res.exit_status, 0);
    assert_int_equal(res.signal, 0);
    assert_false(res.timed_out);
    assert_string_equal(res.stdout_tail, "hello world\n");
    assert_int_equal(res.stdout_len, 12);
    assert_string_equal(res.stderr_tail, "");
    assert_true(res.duration_ms >= 0 && res.duration_ms < 5000);
    chime_process_result_release(&res);
}

static void test_run_reports_exit_status_and_stderr(void **state)
{
    (void)state;
    struct chime_process_result res;
    assert_int_equal(run_sh("echo out; echo oops >&2; exit 3", &res), 0);
    assert_int_equal(res.exit_status, 3);
    assert_int_equal(res.signal, 0);
    assert_string_equal(res.stdout_tail, "out\n");
    assert_string_equal(res.stderr_tail, "oops\n");
    chime_process_result_release(&res);
}

static void test_run_reports_terminating_signal(void **state)
{
    (void)state;
    struct chime_process_result res;
    assert_int_equal(run_sh("kill -9 $$", &res), 0);
    assert_int_equal(res.exit_status, -1);
    assert_int_equal(res.signal, SIGKILL);
    assert_false(res.timed_out);
    chime_process_result_release(&res);
}

static void test_run_missing_executable_is_enoent(void **state)
{
    (void)state;
    struct chime_process_result res;
    struct chime_diag diag;
    const char *argv[] = { "chime-no-such-command-xyz", NULL };
    struct chime_process_spec spec = { .argv = argv, .envp = default_env, .timeout_ms = 1000 };
    chime_diag_clear(&diag);
    assert_int_equal(chime_process_run(&spec, &res, &diag), CHIME_ENOENT);
    assert_string_equal(diag.field, "kwargs.argv");
    assert_non_null(strstr(diag.message, "chime-no-such-command-xyz"));
    assert_null(res.stdout_tail);

    const char *abs_argv[] = { "/nonexistent/dir/prog", NULL };
    spec.argv = abs_argv;
    chime_diag_clear(&diag);
    assert_int_equal(chime_process_run(&spec, &res, &diag), CHIME_ENOENT);
    assert_non_null(strstr(diag.message, "/nonexistent/dir/prog"));

    const char *dir_argv[] = { "/tmp", NULL }; /* not executable: a directory */
    spec.argv = dir_argv;
    assert_true(chime_process_run(&spec, &res, &diag) < 0);
}

static void test_run_missing_cwd_is_enoent(void **state)
{
    (void)state;
    struct chime_process_result res;
    struct chime_diag diag;
    const char *argv[] = { "true", NULL };
    struct chime_process_spec spec = {
        .argv = argv, .envp = default_env, .cwd = "/nonexistent/chime-cwd", .timeout_ms = 1000
    };
    chime_diag_clear(&diag);
    assert_int_equal(chime_process_run(&spec, &res, &diag), CHIME_ENOENT);
    assert_string_equal(diag.field, "kwargs.cwd");
    assert_non_null(strstr(diag.message, "/nonexistent/chime-cwd"));
}

/* Allocation accounting for the bounded-memory test. */
static size_t alloc_total;
static void *count_malloc(size_t n, void *ctx)
{
    (void)ctx;
    alloc_total += n;
    return malloc(n);
}
static void *count_realloc(void *p, size_t n, void *ctx)
{
    (void)ctx;
    alloc_total += n;
    return realloc(p, n);
}
static void count_free(void *p, void *ctx)
{
    (void)ctx;
    free(p);
}

/* Checks text holds consecutive decimal lines ending with "<last>\n". */
static void assert_tail_of_seq(const char *text, size_t len, long last)
{
    const char *p = memchr(text, '\n', len); /* the first line may be cut */
    assert_non_null(p);
    long prev = -1;
    for (p++; p < text + len;) {
        char *end;
        long v = strtol(p, &end, 10);
        assert_int_equal(*end, '\n');
        if (prev >= 0)
            assert_int_equal(v, prev + 1);
        prev = v;
        p = end + 1;
    }
    assert_int_equal(prev, last);
}

static void test_run_keeps_only_the_tail_of_huge_output(void **state)
{
    (void)state;
    struct chime_allocator counting = { count_malloc, count_realloc, count_free, NULL };
    struct chime_process_result res;
    alloc_total = 0;
    chime_allocator_set(&counting);
    /* About 10.9 MB on stdout and 6.9 MB on stderr, interleaved. */
    int rc = run_sh("seq 1 1500000; seq 1 1000000 >&2", &res);
    chime_allocator_set(NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(res.exit_status, 0);
    assert_int_equal(res.stdout_len, CHIME_PROCESS_TAIL_DEFAULT);
    assert_int_equal(res.stderr_len, CHIME_PROCESS_TAIL_DEFAULT);
    assert_int_equal(strlen(res.stdout_tail), res.stdout_len);
    assert_tail_of_seq(res.stdout_tail, res.stdout_len, 1500000);
    assert_tail_of_seq(res.stderr_tail, res.stderr_len, 1000000);
    /* Two rings, two copies and small change: never the megabytes printed. */
    assert_true(alloc_total < 5 * CHIME_PROCESS_TAIL_DEFAULT);
    chime_process_result_release(&res);
}

static void test_run_tail_max_is_honoured(void **state)
{
    (void)state;
    struct chime_process_result res;
    struct chime_diag diag;
    const char *argv[] = { "sh", "-c", "printf 0123456789abcdef", NULL };
    struct chime_process_spec spec = {
        .argv = argv, .envp = default_env, .timeout_ms = 5000, .tail_max = 5
    };
    assert_int_equal(chime_process_run(&spec, &res, &diag), 0);
    assert_string_equal(res.stdout_tail, "bcdef");
    chime_process_result_release(&res);
}

/* True once pid is gone (or a zombie nobody reaps yet). */
static bool process_gone(long pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

static bool wait_gone(long pid, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (process_gone(pid))
            return true;
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return process_gone(pid);
}

static void test_timeout_kills_group_that_ignores_sigterm(void **state)
{
    (void)state;
    struct chime_process_result res;
    struct chime_diag diag;
    /* sh and its background sleep both ignore SIGTERM; the sleep is a grandchild. */
    const char *argv[] = { "sh", "-c", "trap '' TERM; sleep 30 & echo $!; wait; wait", NULL };
    struct chime_process_spec spec = {
        .argv = argv, .envp = default_env, .timeout_ms = 300, .kill_grace_ms = 400
    };
    assert_int_equal(chime_process_run(&spec, &res, &diag), 0);
    assert_true(res.timed_out);
    assert_true(res.killed);
    assert_int_equal(res.signal, SIGKILL);
    assert_int_equal(res.exit_status, -1);
    assert_true(res.duration_ms >= 650);
    assert_true(res.duration_ms < 5000);
    long grandchild = strtol(res.stdout_tail, NULL, 10);
    assert_true(grandchild > 1);
    assert_true(wait_gone(grandchild, 2000));
    chime_process_result_release(&res);
}

static void test_timeout_sigterm_is_enough_for_a_normal_child(void **state)
{
    (void)state;
    struct chime_process_result res;
    struct chime_diag diag;
    const char *argv[] = { "sleep", "30", NULL };
    struct chime_process_spec spec = {
        .argv = argv, .envp = default_env, .timeout_ms = 200, .kill_grace_ms = 5000
    };
    assert_int_equal(chime_process_run(&spec, &res, &diag), 0);
    assert_true(res.timed_out);
    assert_false(res.killed);
    assert_int_equal(res.signal, SIGTERM);
    assert_true(res.duration_ms >= 200 && res.duration_ms < 4000);
    chime_process_result_release(&res);
}

static void test_child_exit_does_not_wait_for_background_output(void **state)
{
    (void)state;
    struct chime_process_result res;
    /* The background sleep keeps stdout open; the leader's end is what counts. */
    assert_int_equal(run_sh("sleep 3 & echo started", &res), 0);
    assert_int_equal(res.exit_status, 0);
    assert_string_equal(res.stdout_tail, "started\n");
    assert_true(res.duration_ms < 2500);
    chime_process_result_release(&res);
}

static void test_env_is_exactly_the_given_one(void **state)
{
    (void)state;
    struct chime_process_result res;
    struct chime_diag diag;
    setenv("CHIME_TEST_LEAK", "leaked", 1);
    const char *env[] = { "FOO=bar baz", "PATH=/usr/bin:/bin", NULL };
    const char *argv[] = { "sh", "-c", "echo \"$FOO|${CHIME_TEST_LEAK-unset}|$PATH\"", NULL };
    struct chime_process_spec spec = { .argv = argv, .envp = env, .timeout_ms = 5000 };
    assert_int_equal(chime_process_run(&spec, &res, &diag), 0);
    assert_string_equal(res.stdout_tail, "bar baz|unset|/usr/bin:/bin\n");
    chime_process_result_release(&res);
}

static void *cancel_after_start(void *arg)
{
    atomic_bool *cancel = arg;
    struct timespec ts = { 0, 200 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    atomic_store(cancel, true);
    return NULL;
}

/* A cancelled run (overlap replace) is stopped as at a timeout: SIGTERM to the group,
 * SIGKILL after the grace for one that ignores SIGTERM; the result says cancelled. */
static void test_cancel_stops_the_group(void **state)
{
    (void)state;
    struct chime_process_result res;
    struct chime_diag diag;
    atomic_bool cancel = false;
    const char *argv[] = { "sh", "-c", "trap '' TERM; sleep 30", NULL };
    struct chime_process_spec spec = { .argv = argv,
                                       .envp = default_env,
                                       .timeout_ms = 60000,
                                       .kill_grace_ms = 100,
                                       .cancel = &cancel };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, cancel_after_start, &cancel), 0);
    assert_int_equal(chime_process_run(&spec, &res, &diag), 0);
    pthread_join(t, NULL);
    assert_true(res.cancelled);
    assert_true(res.killed);
    assert_false(res.timed_out);
    assert_int_equal(res.signal, SIGKILL);
    chime_process_result_release(&res);
}

static void test_argv0_is_looked_up_in_the_child_path(void **state)
{
    (void)state;
    struct chime_process_result res;
    struct chime_diag diag;
    char dir[] = "/tmp/chime-path-XXXXXX", script[PATH_MAX];
    assert_non_null(mkdtemp(dir));
    snprintf(script, sizeof(script), "%s/chime-hello", dir);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\necho from-path\n", f);
    fclose(f);
    chmod(script, 0755);
    char path_var[PATH_MAX + 16];
    snprintf(path_var, sizeof(path_var), "PATH=%s:/usr/bin:/bin", dir);
    const char *env[] = { path_var, NULL };
    const char *argv[] = { "chime-hello", NULL };
    struct chime_process_spec spec = { .argv = argv, .envp = env, .timeout_ms = 5000 };
    assert_int_equal(chime_process_run(&spec, &res, &diag), 0);
    assert_string_equal(res.stdout_tail, "from-path\n");
    chime_process_result_release(&res);
    spec.envp = default_env; /* not in the default PATH */
    assert_int_equal(chime_process_run(&spec, &res, &diag), CHIME_ENOENT);
    unlink(script);
    rmdir(dir);
}

static void test_cwd_is_honoured(void **state)
{
    (void)state;
    struct chime_process_result res;
    struct chime_diag diag;
    char dir[] = "/tmp/chime-cwd-XXXXXX", real[PATH_MAX], want[PATH_MAX + 2];
    assert_non_null(mkdtemp(dir));
    assert_non_null(realpath(dir, real));
    const char *argv[] = { "/bin/sh", "-c", "pwd -P", NULL };
    struct chime_process_spec spec = {
        .argv = argv, .envp = default_env, .cwd = dir, .timeout_ms = 5000
    };
    assert_int_equal(chime_process_run(&spec, &res, &diag), 0);
    snprintf(want, sizeof(want), "%s\n", real);
    assert_string_equal(res.stdout_tail, want);
    chime_process_result_release(&res);
    rmdir(dir);
}

static void test_stdin_is_delivered_then_closed(void **state)
{
    (void)state;
    struct chime_process_result res;
    struct chime_diag diag;
    const char *argv[] = { "cat", NULL };
    const char text[] = "line one\nline two";
    struct chime_process_spec spec = { .argv = argv,
                                       .envp = default_env,
                                       .stdin_data = text,
                                       .stdin_len = sizeof(text) - 1,
                                       .timeout_ms = 5000 };
    assert_int_equal(chime_process_run(&spec, &res, &diag), 0);
    assert_string_equal(res.stdout_tail, text);
    chime_process_result_release(&res);
    spec.stdin_data = NULL; /* no stdin: EOF at once, cat ends */
    assert_int_equal(chime_process_run(&spec, &res, &diag), 0);
    assert_int_equal(res.stdout_len, 0);
    chime_process_result_release(&res);
}

/* Megabytes through cat: stdin must be fed while output is read, or both block. */
static void test_large_stdin_round_trips_without_deadlock(void **state)
{
    (void)state;
    struct chime_process_result res;
    struct chime_diag diag;
    size_t n = 3u << 20;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    const char *argv[] = { "cat", NULL };
    struct chime_process_spec spec = {
        .argv = argv, .envp = default_env, .stdin_data = big, .stdin_len = n, .timeout_ms = 10000
    };
    assert_int_equal(chime_process_run(&spec, &res, &diag), 0);
    assert_false(res.timed_out);
    assert_int_equal(res.stdout_len, CHIME_PROCESS_TAIL_DEFAULT);
    assert_memory_equal(res.stdout_tail, big + n - CHIME_PROCESS_TAIL_DEFAULT,
                        CHIME_PROCESS_TAIL_DEFAULT);
    chime_process_result_release(&res);
    free(big);
}

static void test_stdin_refused_by_child_raises_no_sigpipe(void **state)
{
    (void)state;
    struct chime_process_result res;
    struct chime_diag diag;
    size_t n = 4u << 20;
    char *big = calloc(1, n);
    assert_non_null(big);
    signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would end this test process */
    const char *argv[] = { "true", NULL };
    struct chime_process_spec spec = {
        .argv = argv, .envp = default_env, .stdin_data = big, .stdin_len = n, .timeout_ms = 10000
    };
    assert_int_equal(chime_process_run(&spec, &res, &diag), 0);
    assert_int_equal(res.exit_status, 0);
    chime_process_result_release(&res);
    free(big);
}

/* Bits of a hexadecimal signal set line of /proc/<pid>/status. */
static unsigned long long sigline(const char *text, const char *name)
{
    const char *p = strstr(text, name);
    assert_non_null(p);
    return strtoull(p + strlen(name), NULL, 16);
}

/* Reads the child's own /proc entries with grep and cut run directly (a shell
 * would be a bad witness: dash blocks every signal for a moment at times). */
static void test_child_gets_default_signals_and_own_group(void **state)
{
    (void)state;
    struct chime_process_result res, ids;
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old); /* as chimed does in every thread */
    signal(SIGPIPE, SIG_IGN);
    const char *grep[] = { "grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status", NULL };
    const char *cut[] = { "cut", "-d", " ", "-f1,5", "/proc/self/stat", NULL };
    int rc = run_argv(grep, &res);
    int rc_ids = run_argv(cut, &ids);
    signal(SIGPIPE, SIG_DFL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(rc_ids, 0);
    assert_int_equal(sigline(res.stdout_tail, "SigBlk:"), 0);
    assert_int_equal(sigline(res.stdout_tail, "SigIgn:") & (1ull << (SIGPIPE - 1)), 0);
    long pgid = 0, pid = 0;
    assert_int_equal(sscanf(ids.stdout_tail, "%ld %ld", &pid, &pgid), 2);
    assert_int_equal(pgid, pid);
    assert_true(pgid != (long)getpgrp());
    chime_process_result_release(&res);
    chime_process_result_release(&ids);
}

static void test_child_inherits_no_other_descriptors(void **state)
{
    (void)state;
    struct chime_process_result res;
    int fd = open("/dev/null", O_RDONLY); /* not close-on-exec */
    assert_true(fd > 2);
    char script[128];
    snprintf(script, sizeof(script), "test -e /proc/$$/fd/%d && echo leaked || echo clean", fd);
    assert_int_equal(run_sh(script, &res), 0);
    assert_string_equal(res.stdout_tail, "clean\n");
    chime_process_result_release(&res);
    close(fd);
}

static void test_resolve_follows_path_rules(void **state)
{
    (void)state;
    char *exe = NULL;
    assert_int_equal(chime_process_resolve("sh", "/nonexistent:/bin", &exe), 0);
    assert_string_equal(exe, "/bin/sh");
    chime__free(exe);
    assert_int_equal(chime_process_resolve("sh", "bin:.::/usr/bin", &exe), 0);
    assert_string_equal(exe, "/usr/bin/sh"); /* relative and empty entries skipped */
    chime__free(exe);
    assert_int_equal(chime_process_resolve("./x/y", NULL, &exe), 0);
    assert_string_equal(exe, "./x/y");
    chime__free(exe);
    assert_int_equal(chime_process_resolve("sh", "", &exe), CHIME_ENOENT);
    assert_int_equal(chime_process_resolve("", NULL, &exe), CHIME_ENOENT);
    assert_int_equal(chime_process_resolve("passwd", "/etc", &exe), CHIME_ENOENT); /* not +x */
    assert_null(exe);
}

static void test_run_survives_every_allocation_failure(void **state)
{
    (void)state;
    for (long n = 1; n < 20; n++) {
        struct chime_process_result res;
        struct chime_diag diag;
        const char *argv[] = { "echo", "hi", NULL };
        struct chime_process_spec spec = { .argv = argv, .envp = default_env, .timeout_ms = 5000 };
        chime_alloc_fail_after(n);
        int rc = chime_process_run(&spec, &res, &diag);
        chime_alloc_fail_after(0);
        if (rc == 0) {
            assert_string_equal(res.stdout_tail, "hi\n");
            chime_process_result_release(&res);
            return;
        }
        assert_int_equal(rc, CHIME_ENOMEM);
        assert_null(res.stdout_tail);
    }
    fail_msg("still failing after 20 allocations");
}

#define N_CONCURRENT 20

struct concurrent {
    int index;
    int rc;
    struct chime_process_result res;
};

static void *concurrent_main(void *arg)
{
    struct concurrent *c = arg;
    char env_n[32];
    snprintf(env_n, sizeof(env_n), "N=%d", c->index);
    const char *env[] = { env_n, "PATH=/usr/bin:/bin", NULL };
    const char *argv[] = { "sh", "-c", "sleep 0.3; echo run-$N; echo err-$N >&2; exit $N", NULL };
    struct chime_process_spec spec = { .argv = argv, .envp = env, .timeout_ms = 20000 };
    struct chime_diag diag;
    c->rc = chime_process_run(&spec, &c->res, &diag);
    return NULL;
}

static void test_concurrent_runs_are_independent(void **state)
{
    (void)state;
    struct concurrent c[N_CONCURRENT];
    pthread_t threads[N_CONCURRENT];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < N_CONCURRENT; i++) {
        c[i].index = i;
        assert_int_equal(pthread_create(&threads[i], NULL, concurrent_main, &c[i]), 0);
    }
    for (int i = 0; i < N_CONCURRENT; i++)
        pthread_join(threads[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (int i = 0; i < N_CONCURRENT; i++) {
        char want[32];
        assert_int_equal(c[i].rc, 0);
        assert_int_equal(c[i].res.exit_status, i);
        snprintf(want, sizeof(want), "run-%d\n", i);
        assert_string_equal(c[i].res.stdout_tail, want);
        snprintf(want, sizeof(want), "err-%d\n", i);
        assert_string_equal(c[i].res.stderr_tail, want);
        chime_process_result_release(&c[i].res);
    }
    /* 20 x 0.3 s one after another would take 6 s. */
    assert_true(t1.tv_sec - t0.tv_sec < 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_echo_captures_stdout),
        cmocka_unit_test(test_run_reports_exit_status_and_stderr),
        cmocka_unit_test(test_run_reports_terminating_signal),
        cmocka_unit_test(test_run_missing_executable_is_enoent),
        cmocka_unit_test(test_run_missing_cwd_is_enoent),
        cmocka_unit_test(test_run_keeps_only_the_tail_of_huge_output),
        cmocka_unit_test(test_run_tail_max_is_honoured),
        cmocka_unit_test(test_timeout_kills_group_that_ignores_sigterm),
        cmocka_unit_test(test_timeout_sigterm_is_enough_for_a_normal_child),
        cmocka_unit_test(test_child_exit_does_not_wait_for_background_output),
        cmocka_unit_test(test_env_is_exactly_the_given_one),
        cmocka_unit_test(test_argv0_is_looked_up_in_the_child_path),
        cmocka_unit_test(test_cwd_is_honoured),
        cmocka_unit_test(test_stdin_is_delivered_then_closed),
        cmocka_unit_test(test_large_stdin_round_trips_without_deadlock),
        cmocka_unit_test(test_stdin_refused_by_child_raises_no_sigpipe),
        cmocka_unit_test(test_child_gets_default_signals_and_own_group),
        cmocka_unit_test(test_child_inherits_no_other_descriptors),
        cmocka_unit_test(test_resolve_follows_path_rules),
        cmocka_unit_test(test_run_survives_every_allocation_failure),
        cmocka_unit_test(test_concurrent_runs_are_independent),
        cmocka_unit_test(test_cancel_stops_the_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
