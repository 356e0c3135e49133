/*
 * Unit tests of src/config: the settings table and loader (precedence flags >
 * environment > .env > defaults, every type's parsing and errors naming the
 * setting), the .env reader (quotes, export, comments, errors with
 * file:line), the usage text, and docs/configuration.md against the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "config/dotenv.h"
#include "config/settings.h"
#include "config/settings_internal.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static char tmpdir[] = "/tmp/chime-settings-XXXXXX";
static char envfile_var[600]; /* "CHIME_ENV_FILE=<tmpdir>/.env" */
static char envfile_path[512];

static int group_setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(envfile_path, sizeof(envfile_path), "%s/.env", tmpdir);
    snprintf(envfile_var, sizeof(envfile_var), "CHIME_ENV_FILE=%s", envfile_path);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(envfile_path);
    rmdir(tmpdir);
    return 0;
}

static void write_envfile(const char *text)
{
    FILE *f = fopen(envfile_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Loads with argv and envp (envp always points CHIME_ENV_FILE at the test's file). */
static int load(int argc, char **argv, char **envp, struct chime_settings *s,
                struct chime_diag *diag)
{
    char *env[32];
    size_t n = 0;
    env[n++] = envfile_var;
    for (size_t i = 0; envp && envp[i] && n < 31; i++)
        env[n++] = envp[i];
    env[n] = NULL;
    return chime_settings_load(argc, argv, env, s, diag);
}

/* Loads with one environment variable and no flags; returns the error. */
static int load_env1(char *var, struct chime_settings *s, struct chime_diag *diag)
{
    char *argv[] = { "chimed", NULL };
    char *envp[] = { var, NULL };
    write_envfile("");
    return load(1, argv, envp, s, diag);
}

static void test_settings_defaults_from_the_table(void **state)
{
    (void)state;
    char *argv[] = { "chimed", NULL };
    struct chime_settings s;
    struct chime_diag diag;
    /* The default ./.env may be missing: run where there is none. */
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    unlink(envfile_path);
    assert_int_equal(chdir(tmpdir), 0);
    int err = chime_settings_load(1, argv, NULL, &s, &diag);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(err, 0);
    assert_int_equal(s.action, CHIME_SETTINGS_RUN);
    assert_string_equal(s.database_url, "sqlite:///chime.db");
    assert_int_equal(s.max_workers, 10);
    assert_int_equal(s.misfire_grace_s, 60);
    assert_true(s.coalesce);
    assert_string_equal(s.timezone, "");
    assert_string_equal(s.host, "127.0.0.1");
    assert_int_equal(s.port, 8000);
    assert_string_equal(s.api_token, "");
    assert_false(s.insecure_listen);
    assert_int_equal(s.log_level, 1);
    assert_int_equal(s.history_max_age_s, 7 * 86400);
    assert_int_equal(s.history_max_runs, 1000);
    assert_int_equal(s.shutdown_grace_s, 30);
    assert_int_equal(s.max_body, 1024 * 1024);
    assert_int_equal(s.request_timeout_s, 10);
    assert_int_equal(s.max_connections, 512);
    assert_true(strlen(s.node_name) > 0); /* the host name */
    assert_int_equal(s.sources[CHIME_SETTING_CHIME_PORT], CHIME_SOURCE_DEFAULT);
    chime_settings_release(&s);
}

static void test_settings_precedence_flags_env_dotenv_defaults(void **state)
{
    (void)state;
    write_envfile("CHIME_PORT=1\nSCHEDULER_MAX_WORKERS=3\nCHIME_HOST=10.0.0.1\n"
                  "CHIME_LOG_LEVEL=debug\nCHIME_SHUTDOWN_GRACE=5s\n");
    char *envp[] = { "CHIME_PORT=2", "SCHEDULER_MAX_WORKERS=4", "CHIME_SHUTDOWN_GRACE=6s", NULL };
    char *argv[] = { "chimed", "--port", "3", "--shutdown-grace=7s", NULL };
    struct chime_settings s;
    struct chime_diag diag;
    assert_int_equal(load(ARGC(argv), argv, envp, &s, &diag), 0);
    assert_int_equal(s.port, 3);
    assert_int_equal(s.sources[CHIME_SETTING_CHIME_PORT], CHIME_SOURCE_FLAG);
    assert_int_equal(s.shutdown_grace_s, 7);
    assert_int_equal(s.max_workers, 4);
    assert_int_equal(s.sources[CHIME_SETTING_SCHEDULER_MAX_WORKERS], CHIME_SOURCE_ENV);
    assert_string_equal(s.host, "10.0.0.1");
    assert_int_equal(s.sources[CHIME_SETTING_CHIME_HOST], CHIME_SOURCE_DOTENV);
    assert_int_equal(s.log_level, 0);
    assert_int_equal(s.misfire_grace_s, 60);
    assert_int_equal(s.sources[CHIME_SETTING_SCHEDULER_MISFIRE_GRACE_TIME], CHIME_SOURCE_DEFAULT);
    chime_settings_release(&s);
}

static void test_settings_env_file_flag_wins_and_missing_named_file_fails(void **state)
{
    (void)state;
    write_envfile("CHIME_PORT=1234\n");
    char flag[600];
    snprintf(flag, sizeof(flag), "--env-file=%s", envfile_path);
    char *argv[] = { "chimed", flag, NULL };
    char *envp[] = { "CHIME_ENV_FILE=/nonexistent/.env", NULL };
    struct chime_settings s;
    struct chime_diag diag;
    assert_int_equal(chime_settings_load(ARGC(argv), argv, envp, &s, &diag), 0);
    assert_int_equal(s.port, 1234);
    chime_settings_release(&s);
    char *argv2[] = { "chimed", NULL };
    assert_int_equal(chime_settings_load(1, argv2, envp, &s, &diag), CHIME_ENOENT);
    assert_non_null(strstr(diag.message, "/nonexistent/.env"));
}

static void test_settings_flag_forms_and_bare_booleans(void **state)
{
    (void)state;
    write_envfile("SCHEDULER_COALESCE=false\n");
    char *argv[] = {
        "chimed", "--coalesce", "--insecure-listen", "--host", "::1", "--port=0", NULL
    };
    struct chime_settings s;
    struct chime_diag diag;
    assert_int_equal(load(ARGC(argv), argv, NULL, &s, &diag), 0);
    assert_true(s.coalesce);
    assert_true(s.insecure_listen);
    assert_string_equal(s.host, "::1");
    assert_int_equal(s.port, 0);
    chime_settings_release(&s);
    char *argv2[] = { "chimed", "--no-coalesce", "--insecure-listen=off", NULL };
    assert_int_equal(load(ARGC(argv2), argv2, NULL, &s, &diag), 0);
    assert_false(s.coalesce);
    assert_false(s.insecure_listen);
    chime_settings_release(&s);
}

static void test_settings_bool_accepts_the_six_words_in_any_case(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool value;
    } cases[] = { { "true", true }, { "TRUE", true },   { "1", true },  { "yes", true },
                  { "On", true },   { "false", false }, { "0", false }, { "No", false },
                  { "OFF", false }, { "fAlSe", false } };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char var[64];
        snprintf(var, sizeof(var), "SCHEDULER_COALESCE=%s", cases[i].text);
        struct chime_settings s;
        struct chime_diag diag;
        assert_int_equal(load_env1(var, &s, &diag), 0);
        assert_int_equal(s.coalesce, cases[i].value);
        chime_settings_release(&s);
    }
    struct chime_settings s;
    struct chime_diag diag;
    assert_int_equal(load_env1("SCHEDULER_COALESCE=maybe", &s, &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "SCHEDULER_COALESCE");
    assert_non_null(strstr(diag.message, "SCHEDULER_COALESCE"));
    assert_non_null(strstr(diag.message, "maybe"));
}

static void test_settings_int_errors_name_the_setting_and_source(void **state)
{
    (void)state;
    struct chime_settings s;
    struct chime_diag diag;
    assert_int_equal(load_env1("SCHEDULER_MAX_WORKERS=abc", &s, &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "SCHEDULER_MAX_WORKERS");
    assert_non_null(strstr(diag.message, "SCHEDULER_MAX_WORKERS \"abc\""));
    assert_non_null(strstr(diag.message, "environment"));
    assert_non_null(strstr(diag.message, "not an integer"));
    assert_int_equal(load_env1("SCHEDULER_MAX_WORKERS=0", &s, &diag), CHIME_EINVAL);
    assert_non_null(strstr(diag.message, "between 1 and 1024"));
    assert_int_equal(load_env1("SCHEDULER_MAX_WORKERS=99999999999999999999", &s, &diag),
                     CHIME_EINVAL);
    assert_non_null(strstr(diag.message, "too large"));
    assert_int_equal(load_env1("CHIME_MAX_CONNECTIONS= 5", &s, &diag), CHIME_EINVAL);
    char *argv[] = { "chimed", "--port", "70000", NULL };
    assert_int_equal(load(ARGC(argv), argv, NULL, &s, &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "CHIME_PORT");
    assert_non_null(strstr(diag.message, "--port"));
    assert_non_null(strstr(diag.message, "CHIME_PORT"));
    assert_non_null(strstr(diag.message, "70000"));
    assert_non_null(strstr(diag.message, "between 0 and 65535"));
}

static void test_settings_duration_units_and_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t seconds;
    } ok[] = { { "90s", 90 },     { "15m", 900 }, { "12h", 43200 }, { "7d", 604800 },
               { "2w", 1209600 }, { "60", 60 },   { "0", 0 },       { "3H", 10800 } };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        assert_int_equal(chime__setting_parse_duration(ok[i].text, &v), 0);
        assert_int_equal(v, ok[i].seconds);
    }
    static const char *const bad[] = { "", "5x", "-1", "1.5h", "h", "s5", " 5", "5 s x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v;
        assert_int_not_equal(chime__setting_parse_duration(bad[i], &v), 0);
    }
    int64_t v;
    assert_int_equal(chime__setting_parse_duration("99999999999999999w", &v), CHIME_ERANGE);
    struct chime_settings s;
    struct chime_diag diag;
    assert_int_equal(load_env1("CHIME_HISTORY_MAX_AGE=5 fortnights", &s, &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "CHIME_HISTORY_MAX_AGE");
    assert_non_null(strstr(diag.message, "not a duration"));
    assert_int_equal(load_env1("SCHEDULER_MISFIRE_GRACE_TIME=0", &s, &diag), CHIME_EINVAL);
    assert_non_null(strstr(diag.message, "greater than 0"));
    assert_int_equal(load_env1("SCHEDULER_MISFIRE_GRACE_TIME=2m", &s, &diag), 0);
    assert_int_equal(s.misfire_grace_s, 120);
    chime_settings_release(&s);
}

static void test_settings_size_units_and_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t bytes;
    } ok[] = { { "512", 512 },         { "64K", 65536 },     { "64kib", 65536 },
               { "1MiB", 1048576 },    { "1 MiB", 1048576 }, { "1MB", 1000000 },
               { "2G", 2147483648LL }, { "3kb", 3000 },      { "7b", 7 } };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        assert_int_equal(chime__setting_parse_size(ok[i].text, &v), 0);
        assert_int_equal(v, ok[i].bytes);
    }
    static const char *const bad[] = { "", "K", "1XB", "-5", "1.5M", "1Mi" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v;
        assert_int_not_equal(chime__setting_parse_size(bad[i], &v), 0);
    }
    struct chime_settings s;
    struct chime_diag diag;
    assert_int_equal(load_env1("CHIME_MAX_BODY=lots", &s, &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "CHIME_MAX_BODY");
    assert_non_null(strstr(diag.message, "not a size"));
    assert_int_equal(load_env1("CHIME_MAX_BODY=0", &s, &diag), CHIME_EINVAL);
    assert_int_equal(load_env1("CHIME_MAX_BODY=2GiB", &s, &diag), CHIME_EINVAL);
    assert_int_equal(load_env1("CHIME_MAX_BODY=64K", &s, &diag), 0);
    assert_int_equal(s.max_body, 65536);
    chime_settings_release(&s);
}

static void test_settings_enum_zone_and_string_checks(void **state)
{
    (void)state;
    struct chime_settings s;
    struct chime_diag diag;
    assert_int_equal(load_env1("CHIME_LOG_LEVEL=WARN", &s, &diag), 0);
    assert_int_equal(s.log_level, 2);
    chime_settings_release(&s);
    assert_int_equal(load_env1("CHIME_LOG_LEVEL=verbose", &s, &diag), CHIME_EINVAL);
    assert_non_null(strstr(diag.message, "one of debug|info|warn|error"));
    assert_int_equal(load_env1("SCHEDULER_TIMEZONE=Europe/Berlin", &s, &diag), 0);
    assert_string_equal(s.timezone, "Europe/Berlin");
    chime_settings_release(&s);
    assert_int_equal(load_env1("SCHEDULER_TIMEZONE=Mars/Olympus", &s, &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "SCHEDULER_TIMEZONE");
    assert_non_null(strstr(diag.message, "unknown time zone"));
    assert_int_equal(load_env1("DATABASE_URL=", &s, &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "DATABASE_URL");
    assert_int_equal(load_env1("CHIME_NODE_NAME=node-7", &s, &diag), 0);
    assert_string_equal(s.node_name, "node-7");
    chime_settings_release(&s);
}

static void test_settings_command_line_errors(void **state)
{
    (void)state;
    struct chime_settings s;
    struct chime_diag diag;
    write_envfile("");
    char *unknown[] = { "chimed", "--bogus=1", NULL };
    assert_int_equal(load(ARGC(unknown), unknown, NULL, &s, &diag), CHIME_EINVAL);
    assert_non_null(strstr(diag.message, "unknown option \"--bogus\""));
    char *token[] = { "chimed", "--api-token", "secret", NULL };
    assert_int_equal(load(ARGC(token), token, NULL, &s, &diag), CHIME_EINVAL);
    assert_non_null(strstr(diag.message, "unknown option"));
    char *positional[] = { "chimed", "serve", NULL };
    assert_int_equal(load(ARGC(positional), positional, NULL, &s, &diag), CHIME_EINVAL);
    assert_non_null(strstr(diag.message, "unexpected argument"));
    char *novalue[] = { "chimed", "--port", NULL };
    assert_int_equal(load(ARGC(novalue), novalue, NULL, &s, &diag), CHIME_EINVAL);
    assert_non_null(strstr(diag.message, "--port needs a value"));
    char *nobool[] = { "chimed", "--no-port", NULL };
    assert_int_equal(load(ARGC(nobool), nobool, NULL, &s, &diag), CHIME_EINVAL);
}

static void test_settings_help_and_version_skip_validation(void **state)
{
    (void)state;
    struct chime_settings s;
    struct chime_diag diag;
    char *envp[] = { "SCHEDULER_MAX_WORKERS=abc", NULL };
    char *help[] = { "chimed", "--port", "1", "-h", NULL };
    assert_int_equal(load(ARGC(help), help, envp, &s, &diag), 0);
    assert_int_equal(s.action, CHIME_SETTINGS_HELP);
    chime_settings_release(&s);
    char *version[] = { "chimed", "--version", NULL };
    assert_int_equal(load(ARGC(version), version, envp, &s, &diag), 0);
    assert_int_equal(s.action, CHIME_SETTINGS_VERSION);
    chime_settings_release(&s);
}

/* --- .env -------------------------------------------------------------------- */

struct collected {
    char text[2048];
    int lines[16];
    int n;
};

static int collect(const char *key, const char *value, int line, void *ctx)
{
    struct collected *c = ctx;
    size_t len = strlen(c->text);
    snprintf(c->text + len, sizeof(c->text) - len, "%s=[%s];", key, value);
    if (c->n < 16)
        c->lines[c->n] = line;
    c->n++;
    return 0;
}

static void test_dotenv_syntax(void **state)
{
    (void)state;
    static const char text[] = "# a comment\n"
                               "\n"
                               "PLAIN=value\n"
                               "  SPACED = padded value   \n"
                               "export EXPORTED=yes\n"
                               "INLINE=abc # comment\n"
                               "HASH=a#b\n"
                               "SINGLE='it is # not a comment'\n"
                               "SQ='lit $x \\n'  # trailing\n"
                               "DQ=\"tab\\there \\\"q\\\" \\\\ \\$HOME \\z\"\n"
                               "EMPTY=\n"
                               "CRLF=win\r\n"
                               "export=1\n"
                               "LAST=no newline";
    struct collected c = { .n = 0 };
    struct chime_diag diag;
    assert_int_equal(chime_dotenv_parse(text, sizeof(text) - 1, "t.env", collect, &c, &diag), 0);
    assert_string_equal(c.text,
                        "PLAIN=[value];SPACED=[padded value];EXPORTED=[yes];"
                        "INLINE=[abc];HASH=[a#b];SINGLE=[it is # not a comment];SQ=[lit $x \\n];"
                        "DQ=[tab\there \"q\" \\ $HOME \\z];EMPTY=[];CRLF=[win];"
                        "export=[1];LAST=[no newline];");
    assert_int_equal(c.lines[0], 3);
    assert_int_equal(c.lines[11], 14);
}

static void test_dotenv_errors_name_file_and_line(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        { "A=1\nnot an assignment\n", "bad.env:2: expected '='" },
        { "A=1\nB=2\n=3\n", "bad.env:3: expected KEY=VALUE" },
        { "A=\"open\n", "bad.env:1: unterminated double quote" },
        { "\n\nA='open\n", "bad.env:3: unterminated single quote" },
        { "A=\"x\" y\n", "bad.env:1: unexpected text after the closing quote" },
        { "A-B=1\n", "bad.env:1: expected '='" },
        { "9A=1\n", "bad.env:1: expected KEY=VALUE" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct collected c = { .n = 0 };
        struct chime_diag diag;
        int err = chime_dotenv_parse(cases[i].text, strlen(cases[i].text), "bad.env", collect, &c,
                                     &diag);
        assert_int_equal(err, CHIME_EINVAL);
        assert_string_equal(diag.field, "CHIME_ENV_FILE");
        if (!strstr(diag.message, cases[i].message))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, diag.message, cases[i].message);
    }
    static const char nul[] = "A=1\nB=x\0y\n";
    struct collected c = { .n = 0 };
    struct chime_diag diag;
    assert_int_equal(chime_dotenv_parse(nul, sizeof(nul) - 1, "nul.env", collect, &c, &diag),
                     CHIME_EINVAL);
    assert_non_null(strstr(diag.message, "nul.env:2: NUL byte"));
}

static void test_settings_dotenv_errors_carry_file_and_line(void **state)
{
    (void)state;
    struct chime_settings s;
    struct chime_diag diag;
    char *argv[] = { "chimed", NULL };
    write_envfile("# settings\nCHIME_PORT=8001\nSCHEDULER_MAX_WORKERS=many\n");
    assert_int_equal(load(1, argv, NULL, &s, &diag), CHIME_EINVAL);
    assert_string_equal(diag.field, "SCHEDULER_MAX_WORKERS");
    char where[600];
    snprintf(where, sizeof(where), "%s:3", envfile_path);
    assert_non_null(strstr(diag.message, where));
    assert_non_null(strstr(diag.message, "\"many\""));
    write_envfile("OTHER_APP=1\nCHIME_PORT='8001\n");
    assert_int_equal(load(1, argv, NULL, &s, &diag), CHIME_EINVAL);
    snprintf(where, sizeof(where), "%s:2: unterminated single quote", envfile_path);
    assert_non_null(strstr(diag.message, where));
    write_envfile("OTHER_APP=1\nexport CHIME_PORT=\"8002\"  # dev\n");
    assert_int_equal(load(1, argv, NULL, &s, &diag), 0);
    assert_int_equal(s.port, 8002);
    chime_settings_release(&s);
}

/* --- usage and docs -------------------------------------------------------- */

static char *usage_text(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    chime_settings_usage(f);
    fclose(f);
    return buf;
}

static void test_usage_lists_every_setting_flag_and_default(void **state)
{
    (void)state;
    char *text = usage_text();
    const struct chime_setting_desc *t = chime_settings_table();
    for (int i = 0; i < CHIME_SETTING_COUNT; i++) {
        char env[80], def[120];
        snprintf(env, sizeof(env), "%s=", t[i].env);
        snprintf(def, sizeof(def), "(default: %s)", *t[i].def ? t[i].def : "none");
        if (!strstr(text, env) || (t[i].flag && !strstr(text, t[i].flag)) || !strstr(text, def))
            fail_msg("usage lacks %s / %s / %s", env, t[i].flag ? t[i].flag : "-", def);
    }
    assert_non_null(strstr(text, "--help"));
    free(text);
}

/* docs/configuration.md has one table row per setting starting
 * | `--flag` | `ENV` | `default` |   ((none) for no flag or no default). */
static void test_docs_configuration_lists_every_setting(void **state)
{
    (void)state;
    FILE *f = fopen(CHIME_SOURCE_DIR "/docs/configuration.md", "r");
    assert_non_null(f);
    char line[2048];
    int found[CHIME_SETTING_COUNT] = { 0 };
    const struct chime_setting_desc *t = chime_settings_table();
    while (fgets(line, sizeof(line), f)) {
        for (int i = 0; i < CHIME_SETTING_COUNT; i++) {
            char flag[80], def[120], row[400];
            snprintf(flag, sizeof(flag), "`%s`", t[i].flag ? t[i].flag : "");
            snprintf(def, sizeof(def), "`%s`", t[i].def);
            if (!t[i].flag)
                strcpy(flag, "(none)");
            if (!*t[i].def)
                strcpy(def, "(none)");
            snprintf(row, sizeof(row), "| %s | `%s` | %s |", flag, t[i].env, def);
            if (strncmp(line, row, strlen(row)) == 0)
                found[i]++;
        }
    }
    fclose(f);
    for (int i = 0; i < CHIME_SETTING_COUNT; i++)
        if (found[i] != 1)
            fail_msg("docs/configuration.md: %d rows \"| flag | `%s` | default |\" (want 1)",
                     found[i], t[i].env);
}

static void test_settings_load_survives_every_allocation_failure(void **state)
{
    (void)state;
    write_envfile("CHIME_HOST=127.0.0.2\nCHIME_PLUGIN_DIR=/tmp\n");
    char *argv[] = { "chimed", "--node-name", "n1", NULL };
    for (long n = 1; n < 200; n++) {
        struct chime_settings s;
        struct chime_diag diag;
        chime_alloc_fail_after(n);
        int err = load(ARGC(argv), argv, NULL, &s, &diag);
        chime_alloc_fail_after(0);
        if (err == 0) {
            assert_string_equal(s.host, "127.0.0.2");
            chime_settings_release(&s);
            return;
        }
        assert_int_equal(err, CHIME_ENOMEM);
    }
    fail_msg("settings load never succeeded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings_defaults_from_the_table),
        cmocka_unit_test(test_settings_precedence_flags_env_dotenv_defaults),
        cmocka_unit_test(test_settings_env_file_flag_wins_and_missing_named_file_fails),
        cmocka_unit_test(test_settings_flag_forms_and_bare_booleans),
        cmocka_unit_test(test_settings_bool_accepts_the_six_words_in_any_case),
        cmocka_unit_test(test_settings_int_errors_name_the_setting_and_source),
        cmocka_unit_test(test_settings_duration_units_and_errors),
        cmocka_unit_test(test_settings_size_units_and_errors),
        cmocka_unit_test(test_settings_enum_zone_and_string_checks),
        cmocka_unit_test(test_settings_command_line_errors),
        cmocka_unit_test(test_settings_help_and_version_skip_validation),
        cmocka_unit_test(test_dotenv_syntax),
        cmocka_unit_test(test_dotenv_errors_name_file_and_line),
        cmocka_unit_test(test_settings_dotenv_errors_carry_file_and_line),
        cmocka_unit_test(test_usage_lists_every_setting_flag_and_default),
        cmocka_unit_test(test_docs_configuration_lists_every_setting),
        cmocka_unit_test(test_settings_load_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
