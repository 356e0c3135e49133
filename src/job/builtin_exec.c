/*
 * `chime:exec`: runs a command (argv, no shell) through the process runner
 * (src/exec/process.h). Binding checks every keyword beyond its JSON type,
 * and the gate: command jobs are refused unless CHIME_ALLOW_EXEC is on, and
 * when CHIME_EXEC_ALLOW lists executables, argv[0] (after the PATH lookup)
 * must be one of them. The gate is checked when a job is created, when it is
 * loaded and again when it runs (settings may change across a restart). The
 * outcome's output is a JSON object text: exit status or signal, the output
 * tails (made valid UTF-8), whether it timed out and how long it took.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "exec/process.h"
#include "job/registry_modules.h"

#define TIMEOUT_MAX_S 2592000.0 /* 30 days */
#define GRACE_MAX_S   86400.0

const struct chime_param chime__exec_params[CHIME__EXEC_N_PARAMS] = {
    { "argv", CHIME_PARAM_ARRAY, NULL },     { "env", CHIME_PARAM_OBJECT, "{}" },
    { "cwd", CHIME_PARAM_ANY, "null" },      { "timeout", CHIME_PARAM_NUMBER, "3600" },
    { "stdin", CHIME_PARAM_STRING, "\"\"" }, { "kill_grace", CHIME_PARAM_NUMBER, "5" },
};

/* A JSON string usable as a C string: no NUL inside. */
static bool plain_string(const json_t *v)
{
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

static int check_argv(const json_t *argv, struct chime_diag *diag)
{
    size_t i;
    const json_t *v;
    if (!json_is_array(argv) || json_array_size(argv) == 0)
        return chime_diag_set(diag, CHIME_EINVAL, "kwargs.argv",
                              "kwargs.argv must be a non-empty array of strings");
    json_array_foreach (argv, i, v) {
        if (!plain_string(v) || (i == 0 && !*json_string_value(v)))
            return chime_diag_set(diag, CHIME_EINVAL, "kwargs.argv",
                                  "kwargs.argv[%zu] must be a %sstring without NUL characters", i,
                                  i == 0 ? "non-empty " : "");
    }
    return 0;
}

static int check_env(const json_t *env, struct chime_diag *diag)
{
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)env, key, v) {
        if (!*key || strchr(key, '='))
            return chime_diag_set(diag, CHIME_EINVAL, "kwargs.env",
                                  "kwargs.env: '%.100s' is not a valid variable name", key);
        if (!plain_string(v))
            return chime_diag_set(diag, CHIME_EINVAL, "kwargs.env",
                                  "kwargs.env: the value of '%.100s' must be a string without "
                                  "NUL characters",
                                  key);
    }
    return 0;
}

static int check_number(const json_t *bound, const char *name, double lo, bool lo_open, double hi,
                        struct chime_diag *diag)
{
    double v = json_number_value(json_object_get(bound, name));
    if ((lo_open ? v > lo : v >= lo) && v <= hi)
        return 0;
    return chime_diag_set(diag, CHIME_EINVAL,
                          name[0] == 't' ? "kwargs.timeout" : "kwargs.kill_grace",
                          "kwargs.%s must be %s %g and at most %g seconds, got %g", name,
                          lo_open ? "more than" : "at least", lo, hi, v);
}

static int check_values(const json_t *bound, struct chime_diag *diag)
{
    const json_t *cwd = json_object_get(bound, "cwd");
    int rc = check_argv(json_object_get(bound, "argv"), diag);
    if (rc == 0)
        rc = check_env(json_object_get(bound, "env"), diag);
    if (rc == 0 && !json_is_null(cwd) && !(plain_string(cwd) && *json_string_value(cwd)))
        rc = chime_diag_set(diag, CHIME_EINVAL, "kwargs.cwd",
                            "kwargs.cwd must be a non-empty path without NUL characters, or null");
    if (rc == 0)
        rc = check_number(bound, "timeout", 0, true, TIMEOUT_MAX_S, diag);
    if (rc == 0)
        rc = check_number(bound, "kill_grace", 0, false, GRACE_MAX_S, diag);
    return rc;
}

/* --- the gate ------------------------------------------------------------------- */

int chime__exec_allow_parse(const char *list, struct chime_diag *diag)
{
    for (const char *p = list ? list : ""; *p;) {
        size_t n = strcspn(p, ",");
        size_t lead = strspn(p, " \t");
        if (lead < n && p[lead] != '/')
            return chime_diag_set(diag, CHIME_EINVAL, "CHIME_EXEC_ALLOW",
                                  "CHIME_EXEC_ALLOW must list absolute paths separated by commas; "
                                  "'%.*s' is not one",
                                  (int)(n > 200 ? 200 : n), p);
        p += n + (p[n] == ',');
    }
    return 0;
}

/* Is exe (resolved) the list entry [p, p+n)? By text, or as the same real file. */
static bool allow_entry_matches(const char *exe, const char *p, size_t n)
{
    char entry[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
    p += strspn(p, " \t");
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= sizeof(entry))
        return false;
    memcpy(entry, p, n);
    entry[n] = '\0';
    if (strcmp(entry, exe) == 0)
        return true;
    return realpath(entry, a) && realpath(exe, b) && strcmp(a, b) == 0;
}

static bool allow_list_has(const char *list, const char *exe)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (allow_entry_matches(exe, p, n))
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

static const char *bound_path(const json_t *bound)
{
    const json_t *v = json_object_get(json_object_get(bound, "env"), "PATH");
    return plain_string(v) ? json_string_value(v) : CHIME_PROCESS_DEFAULT_PATH;
}

static int check_allowed(const json_t *bound, const char *list, struct chime_diag *diag)
{
    const char *name = json_string_value(json_array_get(json_object_get(bound, "argv"), 0));
    char *exe = NULL;
    int rc = chime_process_resolve(name, bound_path(bound), &exe);
    if (rc == CHIME_ENOMEM)
        return chime_diag_set(diag, rc, "", "out of memory");
    if (rc != 0 || !allow_list_has(list, exe))
        rc = chime_diag_set(diag, CHIME_EPERM, "kwargs.argv",
                            "kwargs.argv: '%.200s' is not an allowed executable (set "
                            "CHIME_EXEC_ALLOW to allow it)",
                            exe ? exe : name);
    chime__free(exe);
    return rc;
}

int chime__exec_check(const json_t *bound, struct chime_diag *diag)
{
    bool enabled = false;
    char *list = NULL;
    if (chime__registry_exec_policy(&enabled, &list) != 0)
        return chime_diag_set(diag, CHIME_ENOMEM, "", "out of memory");
    int rc = 0;
    if (!enabled)
        rc = chime_diag_set(diag, CHIME_EPERM, "func",
                            "chime:exec is disabled: set CHIME_ALLOW_EXEC=true to allow command "
                            "jobs");
    if (rc == 0)
        rc = check_values(bound, diag);
    if (rc == 0 && list && *list)
        rc = check_allowed(bound, list, diag);
    chime__free(list);
    return rc;
}

/* --- running ---------------------------------------------------------------------- */

/* The command's argv and environment as NULL-terminated arrays. */
struct command {
    const char **argv;
    char **envp;
    size_t n_env;
};

static void command_release(struct command *cmd)
{
    for (size_t i = 0; cmd->envp && i < cmd->n_env; i++)
        chime__free(cmd->envp[i]);
    chime__free(cmd->envp);
    chime__free(cmd->argv);
}

static char *env_entry(const char *key, const char *value)
{
    size_t k = strlen(key), v = strlen(value);
    char *s = chime__malloc(k + v + 2);
    if (s) {
        memcpy(s, key, k);
        s[k] = '=';
        memcpy(s + k + 1, value, v + 1);
    }
    return s;
}

/* Only the given variables, plus PATH=CHIME_PROCESS_DEFAULT_PATH unless given. */
static int command_env(struct command *cmd, const json_t *env)
{
    const char *key;
    const json_t *v;
    cmd->envp = chime__calloc(json_object_size(env) + 2, sizeof(char *));
    if (!cmd->envp)
        return CHIME_ENOMEM;
    json_object_foreach ((json_t *)env, key, v) {
        if (!(cmd->envp[cmd->n_env++] = env_entry(key, json_string_value(v))))
            return CHIME_ENOMEM;
    }
    if (!json_object_get(env, "PATH") &&
        !(cmd->envp[cmd->n_env++] = env_entry("PATH", CHIME_PROCESS_DEFAULT_PATH)))
        return CHIME_ENOMEM;
    return 0;
}

static int command_init(struct command *cmd, const json_t *bound)
{
    const json_t *argv = json_object_get(bound, "argv");
    size_t i;
    const json_t *v;
    memset(cmd, 0, sizeof(*cmd));
    cmd->argv = chime__calloc(json_array_size(argv) + 1, sizeof(char *));
    if (!cmd->argv)
        return CHIME_ENOMEM;
    json_array_foreach (argv, i, v)
        cmd->argv[i] = json_string_value(v);
    return command_env(cmd, json_object_get(bound, "env"));
}

static int64_t seconds_ms(const json_t *bound, const char *name)
{
    return (int64_t)(json_number_value(json_object_get(bound, name)) * 1000.0 + 0.5);
}

/* The bytes as a JSON string: a character cut at the tail's start dropped,
 * every invalid byte replaced by U+FFFD. NULL: out of memory. */
static json_t *utf8_json(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t skip = 0;
    while (skip < n && skip < 3 && (s[skip] & 0xc0) == 0x80)
        skip++;
    char *buf = chime__malloc((n - skip) * 3 + 1);
    if (!buf)
        return NULL;
    size_t o = chime__utf8_repair(text + skip, n - skip, false, buf);
    json_t *j = json_stringn(buf, o);
    chime__free(buf);
    return j;
}

static json_t *int_or_null(bool present, int v)
{
    return present ? json_integer(v) : json_null();
}

/* The outcome's output: {"exit_status", "signal", "stdout_tail", "stderr_tail",
 * "timed_out", "duration_ms"} as JSON text. */
static char *result_json(const struct chime_process_result *res)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad =
            json_object_set_new(o, "exit_status", int_or_null(res->signal == 0, res->exit_status));
    bad |= json_object_set_new(o, "signal", int_or_null(res->signal != 0, res->signal));
    bad |= json_object_set_new(o, "stdout_tail", utf8_json(res->stdout_tail, res->stdout_len));
    bad |= json_object_set_new(o, "stderr_tail", utf8_json(res->stderr_tail, res->stderr_len));
    bad |= json_object_set_new(o, "timed_out", json_boolean(res->timed_out));
    if (res->cancelled)
        bad |= json_object_set_new(o, "cancelled", json_boolean(true));
    bad |= json_object_set_new(o, "duration_ms", json_integer(res->duration_ms));
    char *text = bad ? NULL : json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char *copy = chime__strdup(text);
    free(text);
    return copy;
}

static char *result_error(const struct chime_process_result *res, const json_t *bound,
                          int64_t timeout_ms)
{
    char text[160];
    double timeout = (double)timeout_ms / 1000.0;
    double grace = json_number_value(json_object_get(bound, "kill_grace"));
    if (res->cancelled && res->killed)
        snprintf(text, sizeof(text), "cancelled (SIGTERM, then SIGKILL after %g s)", grace);
    else if (res->cancelled)
        snprintf(text, sizeof(text), "cancelled (SIGTERM)");
    else if (res->timed_out && res->killed)
        snprintf(text, sizeof(text), "timed out after %g s (SIGTERM, then SIGKILL after %g s)",
                 timeout, grace);
    else if (res->timed_out)
        snprintf(text, sizeof(text), "timed out after %g s (SIGTERM)", timeout);
    else if (res->signal)
        snprintf(text, sizeof(text), "killed by signal %d", res->signal);
    else if (res->exit_status != 0)
        snprintf(text, sizeof(text), "exit status %d", res->exit_status);
    else
        return NULL;
    return chime__strdup(text);
}

static void fail_with(struct chime_outcome *out, const char *why)
{
    out->ok = false;
    out->error = chime__strdup(why);
}

/* The command's time limit: kwargs.timeout, or the job's timeout when that is shorter. */
static int64_t effective_timeout_ms(const json_t *bound, int64_t job_timeout_ms)
{
    int64_t ms = seconds_ms(bound, "timeout");
    if (job_timeout_ms > 0 && job_timeout_ms < ms)
        ms = job_timeout_ms;
    return ms < 1 ? 1 : ms;
}

static void run_command(const json_t *bound, int64_t job_timeout_ms, const atomic_bool *cancel,
                        struct chime_outcome *out)
{
    struct command cmd;
    struct chime_process_result res;
    struct chime_diag diag;
    chime_diag_clear(&diag);
    const json_t *cwd = json_object_get(bound, "cwd"), *in = json_object_get(bound, "stdin");
    int rc = command_init(&cmd, bound);
    if (rc == 0) {
        struct chime_process_spec spec = {
            .argv = cmd.argv,
            .envp = (const char *const *)cmd.envp,
            .cwd = json_is_string(cwd) ? json_string_value(cwd) : NULL,
            .stdin_data = json_string_value(in),
            .stdin_len = json_string_length(in),
            .timeout_ms = effective_timeout_ms(bound, job_timeout_ms),
            .kill_grace_ms = seconds_ms(bound, "kill_grace"),
            .cancel = cancel,
        };
        rc = chime_process_run(&spec, &res, &diag);
    }
    command_release(&cmd);
    if (rc) {
        fail_with(out, diag.message[0] ? diag.message : chime_strerror(rc));
        return;
    }
    out->error = result_error(&res, bound, effective_timeout_ms(bound, job_timeout_ms));
    out->ok = !res.timed_out && res.signal == 0 && res.exit_status == 0;
    out->timed_out = res.timed_out;
    out->has_exit_code = res.signal == 0;
    out->exit_code = res.exit_status;
    out->output = result_json(&res);
    chime_process_result_release(&res);
}

void chime__exec_run(const struct chime_call *call, struct chime_outcome *out)
{
    struct chime_diag diag;
    chime_diag_clear(&diag);
    int rc = chime__exec_check(call->kwargs, &diag);
    if (rc) {
        fail_with(out, diag.message[0] ? diag.message : chime_strerror(rc));
        return;
    }
    run_command(call->kwargs, call->timeout_ms, call->cancel, out);
}
