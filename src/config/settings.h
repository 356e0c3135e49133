/*
 * chimed's settings: ONE table (CHIME_SETTINGS_MAP) names every setting once
 * with its environment variable (which is also its .env key), its command-line
 * flag, its type, its default, its documentation and its validator. The
 * loader, the struct, `chimed --help` and docs/configuration.md all come from
 * it. Precedence: flags > environment > .env file > defaults. The reference
 * service's names (DATABASE_URL, SCHEDULER_*) are kept verbatim (APS-COMPAT).
 */
#ifndef CHIME_CONFIG_SETTINGS_H
#define CHIME_CONFIG_SETTINGS_H

#include <chime/chime.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Value types. STRING: text as given. INT: decimal integer. BOOL: true/false,
 * 1/0, yes/no, on/off (any case); as a flag also bare (`--coalesce`) or negated
 * (`--no-coalesce`). DURATION: whole seconds, a bare number or with a unit
 * (90s, 15m, 12h, 7d, 2w). SIZE: bytes, a bare number or with a unit (K/KiB,
 * M/MiB, G/GiB = powers of 1024; KB/MB/GB = powers of 1000). ENUM: one of the
 * `|`-separated choices, stored as its index.
 */
enum chime_setting_type {
    CHIME_SETTING_STRING,
    CHIME_SETTING_INT,
    CHIME_SETTING_BOOL,
    CHIME_SETTING_DURATION,
    CHIME_SETTING_SIZE,
    CHIME_SETTING_ENUM,
};

/* C types of the struct fields, by setting type. */
#define CHIME__SETTING_CTYPE_STRING   char *
#define CHIME__SETTING_CTYPE_INT      int64_t
#define CHIME__SETTING_CTYPE_BOOL     bool
#define CHIME__SETTING_CTYPE_DURATION int64_t /* seconds */
#define CHIME__SETTING_CTYPE_SIZE     int64_t /* bytes */
#define CHIME__SETTING_CTYPE_ENUM     int     /* index into the choices */

/*
 * X(field, ENV, "--flag" or NULL, TYPE, "default", "choices" or NULL, check, "doc")
 * field: member of struct chime_settings. ENV: environment variable and .env
 * key. An empty default string means "none" (the doc says what that means).
 * check: a validator run on the parsed value (NULL = any value of the type).
 */
#define CHIME_SETTINGS_MAP(X)                                                                      \
    X(database_url, DATABASE_URL, "--database-url", STRING, "sqlite:///chime.db", NULL,           \
      chime__setting_check_nonempty,                                                               \
      "job store: memory://, sqlite:///rel/path.db, sqlite:////abs/path.db, a path ending in .db, " \
      "or postgresql://user:password@host:5432/db (several nodes share it)") \
    X(jobstores, CHIME_JOBSTORES, "--jobstores", STRING, "", NULL, NULL,                           \
      "more named job stores beside DATABASE_URL's \"default\": name=url,name=url (e.g. "         \
      "volatile=memory://); a job's jobstore field picks one")                                    \
    X(max_workers, SCHEDULER_MAX_WORKERS, "--max-workers", INT, "10", NULL,                        \
      chime__setting_check_workers, "worker threads running jobs (1..1024)")                       \
    X(misfire_grace_s, SCHEDULER_MISFIRE_GRACE_TIME, "--misfire-grace-time", DURATION, "60", NULL, \
      chime__setting_check_positive,                                                               \
      "default misfire grace: a run that cannot start this long after its time is missed")         \
    X(coalesce, SCHEDULER_COALESCE, "--coalesce", BOOL, "true", NULL, NULL,                        \
      "default coalesce: of several overdue run times only the latest runs")                       \
    X(timezone, SCHEDULER_TIMEZONE, "--timezone", STRING, "", NULL, chime__setting_check_zone,     \
      "default time zone of triggers (IANA name); empty = the host's zone")                        \
    X(host, CHIME_HOST, "--host", STRING, "127.0.0.1", NULL, chime__setting_check_nonempty,        \
      "address the HTTP API listens on")                                                           \
    X(port, CHIME_PORT, "--port", INT, "8000", NULL, chime__setting_check_port,                    \
      "TCP port of the HTTP API; 0 = pick a free port (logged at start)")                          \
    X(api_token, CHIME_API_TOKEN, NULL, STRING, "", NULL, NULL,                                    \
      "bearer token required on every request but /healthz and /readyz; empty = none "             \
      "(environment or .env only: secrets stay out of argv)")                                      \
    X(insecure_listen, CHIME_INSECURE_LISTEN, "--insecure-listen", BOOL, "false", NULL, NULL,      \
      "allow a non-loopback host without CHIME_API_TOKEN")                                         \
    X(log_level, CHIME_LOG_LEVEL, "--log-level", ENUM, "info", "debug|info|warn|error", NULL,      \
      "least severe log level written to stderr")                                                  \
    X(history_max_age_s, CHIME_HISTORY_MAX_AGE, "--history-max-age", DURATION, "7d", NULL,         \
      chime__setting_check_nonnegative, "delete finished runs older than this; 0 = keep")          \
    X(history_max_runs, CHIME_HISTORY_MAX_RUNS, "--history-max-runs", INT, "1000", NULL,           \
      chime__setting_check_nonnegative,                                                            \
      "keep at most this many finished runs per job; 0 = no cap")                                  \
    X(plugin_dir, CHIME_PLUGIN_DIR, "--plugin-dir", STRING, "", NULL, NULL,                        \
      "directory of plugin job modules (module.name -> DIR/module/name.so); empty = none")         \
    X(shutdown_grace_s, CHIME_SHUTDOWN_GRACE, "--shutdown-grace", DURATION, "30s", NULL,           \
      chime__setting_check_nonnegative,                                                            \
      "on SIGTERM/SIGINT, wait this long for running jobs before exiting")                         \
    X(node_name, CHIME_NODE_NAME, "--node-name", STRING, "", NULL, NULL,                           \
      "node name recorded in runs; empty = the host name")                                         \
    X(heartbeat_s, CHIME_HEARTBEAT_INTERVAL, "--heartbeat-interval", DURATION, "1s", NULL,         \
      chime__setting_check_positive,                                                               \
      "PostgreSQL mode: how often this node writes its heartbeat")                                 \
    X(node_timeout_s, CHIME_NODE_TIMEOUT, "--node-timeout", DURATION, "3s", NULL,                  \
      chime__setting_check_positive,                                                               \
      "PostgreSQL mode: a node silent this long is dead; its running runs end as lost")          \
    X(max_body, CHIME_MAX_BODY, "--max-body", SIZE, "1MiB", NULL, chime__setting_check_body,       \
      "largest request body accepted (larger: 413)")                                               \
    X(request_timeout_s, CHIME_REQUEST_TIMEOUT, "--request-timeout", DURATION, "10s", NULL,        \
      chime__setting_check_positive, "idle timeout of an HTTP connection (slow clients)")          \
    X(max_connections, CHIME_MAX_CONNECTIONS, "--max-connections", INT, "512", NULL,               \
      chime__setting_check_connections, "most concurrent HTTP connections (1..65536)")             \
    X(http_threads, CHIME_HTTP_THREADS, "--http-threads", INT, "4", NULL,                          \
      chime__setting_check_workers,                                                                \
      "threads answering HTTP requests (1..1024); more let more job adds share one commit")      \
    X(allow_exec, CHIME_ALLOW_EXEC, "--allow-exec", BOOL, "false", NULL, NULL,                     \
      "allow chime:exec jobs (commands run as chimed's user); off = creating one is refused (403)") \
    X(exec_allow, CHIME_EXEC_ALLOW, "--exec-allow", STRING, "", NULL, NULL,                        \
      "comma-separated absolute paths of the only executables chime:exec may run; empty = any")  \
    X(env_file, CHIME_ENV_FILE, "--env-file", STRING, "./.env", NULL, NULL,                        \
      "the .env file read for settings (a missing default file is fine; a missing named "          \
      "file is an error)")

/* Indexes into the table: CHIME_SETTING_<ENV>. */
enum chime_setting_id {
#define CHIME__SETTING_ID(field, env, flag, type, def, choices, check, doc) CHIME_SETTING_##env,
    CHIME_SETTINGS_MAP(CHIME__SETTING_ID)
#undef CHIME__SETTING_ID
            CHIME_SETTING_COUNT
};

/* Where a setting's value came from. */
enum chime_setting_source {
    CHIME_SOURCE_DEFAULT,
    CHIME_SOURCE_DOTENV,
    CHIME_SOURCE_ENV,
    CHIME_SOURCE_FLAG,
};

/* What the command line asked for. */
enum chime_settings_action {
    CHIME_SETTINGS_RUN,     /* start the daemon */
    CHIME_SETTINGS_HELP,    /* --help / -h: print chime_settings_usage, exit 0 */
    CHIME_SETTINGS_VERSION, /* --version: print CHIME_VERSION_STRING, exit 0 */
};

#define CHIME_VERSION_STRING "0.1.0"

/* Every setting's value (typed), plus what was asked and where values came from. */
struct chime_settings {
#define CHIME__SETTING_FIELD(field, env, flag, type, def, choices, check, doc) \
    CHIME__SETTING_CTYPE_##type field;
    CHIME_SETTINGS_MAP(CHIME__SETTING_FIELD)
#undef CHIME__SETTING_FIELD
    enum chime_settings_action action;
    enum chime_setting_source sources[CHIME_SETTING_COUNT];
};

/* One row of the table, for tools (usage, docs check, tests). */
struct chime_setting_desc {
    const char *field; /* "max_workers" */
    const char *env;   /* "SCHEDULER_MAX_WORKERS" */
    const char *flag;  /* "--max-workers", or NULL */
    enum chime_setting_type type;
    const char *def;     /* default as text ("" = none) */
    const char *choices; /* ENUM: "debug|info|warn|error"; else NULL */
    const char *doc;
    size_t offset; /* offsetof(struct chime_settings, field) */
    int (*check)(const struct chime_setting_desc *desc, const void *value, struct chime_diag *diag);
};

/* Validators named in the table (value points at the struct field). */
int chime__setting_check_nonempty(const struct chime_setting_desc *d, const void *v,
                                  struct chime_diag *diag);
int chime__setting_check_workers(const struct chime_setting_desc *d, const void *v,
                                 struct chime_diag *diag);
int chime__setting_check_positive(const struct chime_setting_desc *d, const void *v,
                                  struct chime_diag *diag);
int chime__setting_check_nonnegative(const struct chime_setting_desc *d, const void *v,
                                     struct chime_diag *diag);
int chime__setting_check_zone(const struct chime_setting_desc *d, const void *v,
                              struct chime_diag *diag);
int chime__setting_check_port(const struct chime_setting_desc *d, const void *v,
                              struct chime_diag *diag);
int chime__setting_check_body(const struct chime_setting_desc *d, const void *v,
                              struct chime_diag *diag);
int chime__setting_check_connections(const struct chime_setting_desc *d, const void *v,
                                     struct chime_diag *diag);

/** The table: CHIME_SETTING_COUNT rows, static. */
const struct chime_setting_desc *chime_settings_table(void);

/**
 * Loads every setting: flags (argv[1..argc-1]: `--flag value`, `--flag=value`,
 * bare / `--no-` booleans, `--help`/`-h`, `--version`) > environment (envp, a
 * NULL-terminated "KEY=VALUE" array; NULL = none) > the .env file (path from
 * --env-file / CHIME_ENV_FILE, default ./.env) > defaults. Then parses and
 * validates each value. On --help / --version, out->action says so and 0 is
 * returned without reading the .env file or validating anything.
 * Node name "" becomes the host name. Returns 0 (out filled; release it with
 * chime_settings_release) or CHIME_EINVAL with diag naming the setting (its env
 * variable in diag->field; the message names the setting, the bad value and its
 * source, or file:line for a malformed .env), CHIME_EIO for an unreadable
 * .env file, CHIME_ENOMEM. On error *out holds nothing to release.
 */
int chime_settings_load(int argc, char **argv, char **envp, struct chime_settings *out,
                        struct chime_diag *diag);

/** Frees the strings of settings (NULL is fine); the struct can be loaded again. */
void chime_settings_release(struct chime_settings *settings);

/**
 * Prints chimed's usage: every setting from the table (flag, env variable,
 * default, doc), plus --help, --version.
 */
void chime_settings_usage(FILE *out);

/** Name of a setting source ("default", ".env", "environment", "flag"). */
const char *chime_setting_source_name(enum chime_setting_source source);

#endif /* CHIME_CONFIG_SETTINGS_H */
