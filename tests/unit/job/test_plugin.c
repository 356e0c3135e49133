/*
 * Tests of the plugin loader (src/job/plugin.c) through the registry, with
 * real shared objects copied into a temporary plugin directory: the example
 * greet.hello plugin and the test fixture testmod.fixture (built by CMake).
 * Covers resolution and caching, creation-time argument checks, the call
 * context and accessors, failure reporting, and every refused name or file:
 * "..", absolute paths, slashes, symlinks leading out of the directory, a
 * missing symbol, another ABI version, a bad descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "job/plugin.h"
#include "job/registry.h"

static char root[PATH_MAX];    /* temp root */
static char plugins[PATH_MAX]; /* root/plugins: the plugin dir */
static char outside[PATH_MAX]; /* root/outside: not in it */

static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    assert_true(in >= 0);
    assert_true(out >= 0);
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

static void path_join(char *out, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    assert_true(la + 1 + lb < PATH_MAX);
    memcpy(out, a, la);
    out[la] = '/';
    memcpy(out + la + 1, b, lb + 1);
}

static int setup(void **state)
{
    (void)state;
    char p[PATH_MAX], q[PATH_MAX];
    snprintf(root, sizeof(root), "/tmp/chime-plugin-test-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    path_join(plugins, root, "plugins");
    path_join(outside, root, "outside");
    mkdir(plugins, 0755);
    mkdir(outside, 0755);
    path_join(p, plugins, "greet");
    mkdir(p, 0755);
    path_join(p, plugins, "testmod");
    mkdir(p, 0755);
    path_join(p, plugins, "greet/hello.so");
    copy_file(CHIME_BINARY_DIR "/plugins/greet/hello.so", p);
    path_join(p, plugins, "testmod/fixture.so");
    copy_file(CHIME_BINARY_DIR "/test-plugins/testmod/fixture.so", p);
    path_join(p, outside, "hello.so");
    copy_file(CHIME_BINARY_DIR "/plugins/greet/hello.so", p);
    /* A directory symlink leading out, a file symlink leading out, one staying in. */
    path_join(q, plugins, "evil");
    assert_int_equal(symlink(outside, q), 0);
    path_join(q, plugins, "greet/link.so");
    assert_int_equal(symlink(p, q), 0);
    path_join(p, plugins, "greet");
    path_join(q, plugins, "alias");
    assert_int_equal(symlink(p, q), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    chime__plugin_reset();
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static int each_setup(void **state)
{
    (void)state;
    return chime__plugin_dir_set(plugins, NULL);
}

static int each_teardown(void **state)
{
    (void)state;
    chime__plugin_reset();
    return 0;
}

static const struct chime_func *find_ok(const char *name)
{
    const struct chime_func *fn = NULL;
    struct chime_diag diag;
    chime_diag_clear(&diag);
    int rc = chime_registry_find(name, &fn, &diag);
    if (rc != 0)
        fail_msg("%s: %s", name, diag.message);
    return fn;
}

/* The find fails with CHIME_EFUNC and a message containing what. */
static void find_refused(const char *name, const char *what)
{
    const struct chime_func *fn = NULL;
    struct chime_diag diag;
    chime_diag_clear(&diag);
    assert_int_equal(chime_registry_find(name, &fn, &diag), CHIME_EFUNC);
    assert_string_equal(diag.field, "func");
    if (!strstr(diag.message, what))
        fail_msg("%s: '%s' does not say '%s'", name, diag.message, what);
}

/* Binds args/kwargs texts and runs fn; the outcome is the caller's. */
static void run(const struct chime_func *fn, const char *args, const char *kwargs,
                struct chime_outcome *out)
{
    struct chime_diag diag;
    json_t *a = json_loads(args, 0, NULL), *k = json_loads(kwargs, 0, NULL), *bound = NULL;
    assert_int_equal(chime_registry_bind(fn, a, k, &bound, &diag), 0);
    char func[256];
    snprintf(func, sizeof(func), "%s:%s", fn->module, fn->name);
    struct chime_call call = { "job-7", "my job", func, 42, 1700000000000000, 2, a, bound, 0, NULL };
    memset(out, 0, sizeof(*out));
    fn->fn(&call, out);
    json_decref(bound);
    json_decref(a);
    json_decref(k);
}

static void test_plugin_example_say_runs_with_default_and_given_name(void **state)
{
    (void)state;
    const struct chime_func *fn = find_ok("greet.hello:say");
    assert_string_equal(fn->module, "greet.hello");
    assert_string_equal(fn->name, "say");
    assert_int_equal(fn->n_params, 1);
    struct chime_outcome out;
    run(fn, "[]", "{}", &out);
    assert_true(out.ok);
    assert_string_equal(out.output, "hello, world (job job-7, attempt 2)");
    chime_outcome_release(&out);
    run(fn, "[\"bob\"]", "{}", &out);
    assert_string_equal(out.output, "hello, bob (job job-7, attempt 2)");
    chime_outcome_release(&out);
    run(fn, "[]", "{\"name\": \"\"}", &out);
    assert_false(out.ok);
    assert_string_equal(out.error, "greet.hello:say: name must not be empty");
    chime_outcome_release(&out);
}

static void test_plugin_found_once_and_cached(void **state)
{
    (void)state;
    const struct chime_func *a = find_ok("greet.hello:say");
    const struct chime_func *b = find_ok("greet.hello:say");
    assert_ptr_equal(a, b);
    /* Through a symlink that stays inside the directory: the same object, a new name. */
    const struct chime_func *c = find_ok("alias.hello:say");
    assert_string_equal(c->module, "alias.hello");
}

static void test_plugin_arguments_checked_at_creation(void **state)
{
    (void)state;
    const struct chime_func *fn = find_ok("greet.hello:say");
    struct chime_diag diag;
    json_t *bad_type = json_pack("{s:i}", "name", 3), *unknown = json_pack("{s:s}", "nom", "x");
    json_t *too_many = json_pack("[s,s]", "a", "b");
    assert_int_equal(chime_registry_bind(fn, NULL, bad_type, NULL, &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "kwargs");
    assert_int_equal(chime_registry_bind(fn, NULL, unknown, NULL, &diag), CHIME_EINVAL);
    assert_non_null(strstr(diag.message, "nom"));
    assert_int_equal(chime_registry_bind(fn, too_many, NULL, NULL, &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "args");
    const struct chime_func *echo = find_ok("testmod.fixture:echo");
    json_t *empty = json_object();
    assert_int_equal(chime_registry_bind(echo, NULL, empty, NULL, &diag), CHIME_EINVAL);
    json_decref(empty);
    assert_non_null(strstr(diag.message, "'text'"));
    json_decref(bad_type);
    json_decref(unknown);
    json_decref(too_many);
}

static void test_plugin_accessors_and_context(void **state)
{
    (void)state;
    const struct chime_func *fn = find_ok("testmod.fixture:echo");
    struct chime_outcome out;
    run(fn, "[\"hi\"]", "{\"times\": 3, \"loud\": true, \"extra\": {\"k\": [1, 2]}}", &out);
    assert_true(out.ok);
    assert_string_equal(out.output,
                        "text=hi times=3 scale=1.5 loud=1 extra={\"k\":[1,2]} job=job-7 "
                        "name=my job func=testmod.fixture:echo run=42 at=1700000000000000 "
                        "attempt=2 missing=dflt");
    chime_outcome_release(&out);
    run(fn, "[]", "{\"text\": \"x\", \"scale\": 2}", &out);
    assert_string_equal(out.output,
                        "text=x times=1 scale=2 loud=0 extra=null job=job-7 name=my job "
                        "func=testmod.fixture:echo run=42 at=1700000000000000 attempt=2 "
                        "missing=dflt");
    chime_outcome_release(&out);
}

static void test_plugin_fail_reports_error_and_keeps_output(void **state)
{
    (void)state;
    struct chime_outcome out;
    run(find_ok("testmod.fixture:boom"), "[]", "{}", &out);
    assert_false(out.ok);
    assert_string_equal(out.error, "boom 42");
    assert_string_equal(out.output, "partial output");
    chime_outcome_release(&out);
}

static void test_plugin_path_tricks_refused(void **state)
{
    (void)state;
    find_refused("..greet.hello:say", "not a dotted name");
    find_refused("greet..hello:say", "not a dotted name");
    find_refused("../outside/hello:say", "not a dotted name");
    find_refused("/tmp/x:say", "not a dotted name");
    find_refused("greet/hello:say", "not a dotted name");
    find_refused("greet.hello.:say", "not a dotted name");
    find_refused("9greet.hello:say", "not a dotted name");
    find_refused("greet.hello:../say", "not an identifier");
    find_refused("greet.hello:say/x", "not an identifier");
    find_refused("evil.hello:say", "outside the plugin directory");
    find_refused("greet.link:say", "outside the plugin directory");
    find_refused("greet.nothere:say", "no plugin module file");
}

static void test_plugin_bad_symbols_refused(void **state)
{
    (void)state;
    find_refused("greet.hello:nothere", "no symbol chime_plugin_nothere");
    find_refused("testmod.fixture:old", "ABI 999");
    find_refused("testmod.fixture:badparam", "invalid parameter 0");
    find_refused("testmod.fixture:misnamed", "invalid");
    /* A refused function does not spoil the module's good ones. */
    find_ok("testmod.fixture:echo");
}

static void test_plugin_not_a_shared_object_refused(void **state)
{
    (void)state;
    char p[PATH_MAX];
    path_join(p, plugins, "greet/junk.so");
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("not an ELF file\n", f);
    fclose(f);
    find_refused("greet.junk:say", "cannot load plugin");
    unlink(p);
}

static void test_plugin_off_without_directory(void **state)
{
    (void)state;
    struct chime_diag diag;
    chime__plugin_reset();
    assert_false(chime__plugin_enabled());
    find_refused("greet.hello:say", "unknown module");
    assert_int_equal(chime__plugin_dir_set("/nonexistent/chime/plugins", &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "plugin_dir");
    assert_false(chime__plugin_enabled());
    /* Compiled-in modules never reach the plugin directory. */
    assert_int_equal(chime__plugin_dir_set(plugins, &diag), 0);
    assert_ptr_not_equal(find_ok("chime:noop")->fn, NULL);
    find_refused("chime:nothere", "no function");
}

static void *threads_main(void *arg)
{
    int *fails = arg;
    for (int i = 0; i < 50; i++) {
        const struct chime_func *fn = NULL;
        struct chime_outcome out;
        if (chime_registry_find(i % 2 ? "greet.hello:say" : "testmod.fixture:echo", &fn, NULL)) {
            (*fails)++;
            continue;
        }
        json_t *a = json_pack("[s]", "t"), *bound = NULL;
        chime_registry_bind(fn, a, NULL, &bound, NULL);
        struct chime_call call = { "j", "j",  i % 2 ? "greet.hello:say" : "testmod.fixture:echo",
                                   1,   0,    1,
                                   a,   bound, 0, NULL };
        memset(&out, 0, sizeof(out));
        fn->fn(&call, &out);
        *fails += !out.ok || !out.output;
        chime_outcome_release(&out);
        json_decref(bound);
        json_decref(a);
    }
    return NULL;
}

static void test_plugin_find_and_run_from_several_threads(void **state)
{
    (void)state;
    pthread_t t[8];
    int fails[8] = { 0 };
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, threads_main, &fails[i]), 0);
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(fails[i], 0);
    }
}

static void test_plugin_find_survives_allocation_failures(void **state)
{
    (void)state;
    for (long n = 1; n <= 12; n++) {
        const struct chime_func *fn = NULL;
        struct chime_diag diag;
        chime__plugin_reset();
        assert_int_equal(chime__plugin_dir_set(plugins, NULL), 0);
        chime_alloc_fail_after(n);
        int rc = chime_registry_find("greet.hello:say", &fn, &diag);
        chime_alloc_fail_after(0);
        assert_true(rc == 0 || rc == CHIME_ENOMEM);
        if (rc == CHIME_ENOMEM)
            rc = chime_registry_find("greet.hello:say", &fn, &diag);
        assert_int_equal(rc, 0);
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, each_setup, each_teardown)
    const struct CMUnitTest tests[] = {
        T(test_plugin_example_say_runs_with_default_and_given_name),
        T(test_plugin_found_once_and_cached),
        T(test_plugin_arguments_checked_at_creation),
        T(test_plugin_accessors_and_context),
        T(test_plugin_fail_reports_error_and_keeps_output),
        T(test_plugin_path_tricks_refused),
        T(test_plugin_bad_symbols_refused),
        T(test_plugin_not_a_shared_object_refused),
        T(test_plugin_off_without_directory),
        T(test_plugin_find_and_run_from_several_threads),
        T(test_plugin_find_survives_allocation_failures),
    };
#undef T
    return cmocka_run_group_tests(tests, setup, teardown);
}
