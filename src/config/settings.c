/*
 * The settings loader: collects each setting's text from the four layers
 * (defaults, the .env file, the environment, the command line), keeps the
 * highest one, then parses it by its type into struct chime_settings and runs
 * its validator. Errors name the setting (environment variable and flag), the
 * value and where it came from, so an operator can find the bad line.
 */
#include "config/settings.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "config/dotenv.h"
#include "config/settings_internal.h"

static const struct chime_setting_desc table[CHIME_SETTING_COUNT] = {
#define CHIME__SETTING_ROW(field, env, flag, type, def, choices, check, doc) \
    { #field, #env,    flag, CHIME_SETTING_##type,                           \
      def,    choices, doc,  offsetof(struct chime_settings, field),         \
      check },
    CHIME_SETTINGS_MAP(CHIME__SETTING_ROW)
#undef CHIME__SETTING_ROW
};

const struct chime_setting_desc *chime_settings_table(void)
{
    return table;
}

const char *chime_setting_source_name(enum chime_setting_source source)
{
    static const char *const names[] = { "default", ".env", "environment", "flag" };
    return (unsigned)source < 4 ? names[source] : "?";
}

int chime__settings_find_env(const char *name, size_t len)
{
    for (int i = 0; i < CHIME_SETTING_COUNT; i++)
        if (strlen(table[i].env) == len && memcmp(table[i].env, name, len) == 0)
            return i;
    return -1;
}

static int find_flag(const char *name, size_t len)
{
    for (int i = 0; i < CHIME_SETTING_COUNT; i++)
        if (table[i].flag && strlen(table[i].flag) == len && memcmp(table[i].flag, name, len) == 0)
            return i;
    return -1;
}

/* --- the layers ------------------------------------------------------------ */

static void layers_release(struct chime__settings_layers *ly)
{
    for (int i = 0; i < CHIME_SETTING_COUNT; i++)
        chime__free(ly->dotenv[i]);
    memset(ly, 0, sizeof(*ly));
}

static int flag_set(struct chime__settings_layers *ly, int id, const char *value)
{
    ly->text[id] = value;
    ly->source[id] = CHIME_SOURCE_FLAG;
    return 0;
}

/* A bare boolean flag or its --no- form; -1 when arg is neither. */
static int bool_flag(struct chime__settings_layers *ly, const char *arg)
{
    int id = find_flag(arg, strlen(arg));
    if (id >= 0 && table[id].type == CHIME_SETTING_BOOL)
        return flag_set(ly, id, "true");
    if (strncmp(arg, "--no-", 5) != 0)
        return -1;
    char name[64];
    int n = snprintf(name, sizeof(name), "--%s", arg + 5);
    id = (n > 0 && (size_t)n < sizeof(name)) ? find_flag(name, (size_t)n) : -1;
    if (id >= 0 && table[id].type == CHIME_SETTING_BOOL)
        return flag_set(ly, id, "false");
    return -1;
}

/* One option at argv[*i] (advancing *i past a separate value). */
static int parse_option(struct chime__settings_layers *ly, int argc, char **argv, int *i,
                        struct chime_diag *diag)
{
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
        return chime_diag_set(diag, CHIME_EINVAL, "", "unexpected argument \"%.100s\" (see --help)",
                              arg);
    const char *eq = strchr(arg, '=');
    if (!eq && bool_flag(ly, arg) == 0)
        return 0;
    int id = find_flag(arg, eq ? (size_t)(eq - arg) : strlen(arg));
    if (id < 0)
        return chime_diag_set(diag, CHIME_EINVAL, "", "unknown option \"%.*s\" (see --help)",
                              eq ? (int)(eq - arg) : 100, arg);
    if (eq)
        return flag_set(ly, id, eq + 1);
    if (*i + 1 >= argc)
        return chime_diag_set(diag, CHIME_EINVAL, table[id].env, "%s needs a value (%s)",
                              table[id].flag, table[id].env);
    *i += 1;
    return flag_set(ly, id, argv[*i]);
}

int chime__settings_parse_argv(struct chime__settings_layers *ly, int argc, char **argv,
                               enum chime_settings_action *action, struct chime_diag *diag)
{
    *action = CHIME_SETTINGS_RUN;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            *action = CHIME_SETTINGS_HELP;
            return 0;
        }
        if (!strcmp(argv[i], "--version")) {
            *action = CHIME_SETTINGS_VERSION;
            return 0;
        }
    }
    for (int i = 1; i < argc; i++) {
        int err = parse_option(ly, argc, argv, &i, diag);
        if (err)
            return err;
    }
    return 0;
}

static void parse_envp(struct chime__settings_layers *ly, char **envp)
{
    for (size_t k = 0; envp && envp[k]; k++) {
        const char *eq = strchr(envp[k], '=');
        int id = eq ? chime__settings_find_env(envp[k], (size_t)(eq - envp[k])) : -1;
        if (id >= 0 && ly->source[id] < CHIME_SOURCE_ENV) {
            ly->text[id] = eq + 1;
            ly->source[id] = CHIME_SOURCE_ENV;
        }
    }
}

static int dotenv_visit(const char *key, const char *value, int line, void *ctx)
{
    struct chime__settings_layers *ly = ctx;
    int id = chime__settings_find_env(key, strlen(key));
    if (id < 0 || id == CHIME_SETTING_CHIME_ENV_FILE)
        return 0; /* other programs' keys share .env files */
    char *copy = chime__strdup(value);
    if (!copy)
        return CHIME_ENOMEM;
    chime__free(ly->dotenv[id]);
    ly->dotenv[id] = copy;
    ly->dotenv_line[id] = line;
    if (ly->source[id] <= CHIME_SOURCE_DOTENV) {
        ly->text[id] = copy;
        ly->source[id] = CHIME_SOURCE_DOTENV;
    }
    return 0;
}

static int load_dotenv(struct chime__settings_layers *ly, struct chime_diag *diag)
{
    const int id = CHIME_SETTING_CHIME_ENV_FILE;
    const char *path = ly->source[id] == CHIME_SOURCE_DEFAULT ? table[id].def : ly->text[id];
    ly->env_file = path;
    if (!*path)
        return 0; /* --env-file= : read none */
    int err =
            chime_dotenv_load(path, ly->source[id] != CHIME_SOURCE_DEFAULT, dotenv_visit, ly, diag);
    if (err == CHIME_ENOMEM)
        chime_diag_set(diag, err, "", "out of memory");
    return err;
}

/* --- load ------------------------------------------------------------------ */

/* Replaces diag's message with "<where>: <message>" naming the setting and source. */
static int name_setting(const struct chime__settings_layers *ly, int id, int err,
                        struct chime_diag *diag)
{
    char where[512];
    const struct chime_setting_desc *d = &table[id];
    enum chime_setting_source src = ly->source[id];
    if (src == CHIME_SOURCE_FLAG)
        snprintf(where, sizeof(where), "invalid %s (%s) \"%.80s\"", d->flag, d->env, ly->text[id]);
    else if (src == CHIME_SOURCE_DOTENV)
        snprintf(where, sizeof(where), "invalid %s \"%.80s\" (%.160s:%d)", d->env, ly->text[id],
                 ly->env_file, ly->dotenv_line[id]);
    else
        snprintf(where, sizeof(where), "invalid %s \"%.80s\" (from the %s)", d->env,
                 ly->text[id] ? ly->text[id] : d->def, chime_setting_source_name(src));
    char msg[sizeof(diag->message)];
    chime__strlcpy(msg, diag ? diag->message : "", sizeof(msg));
    return chime_diag_set(diag, err, d->env, "%s: %s", where, msg);
}

static int apply_all(const struct chime__settings_layers *ly, struct chime_settings *out,
                     struct chime_diag *diag)
{
    for (int id = 0; id < CHIME_SETTING_COUNT; id++) {
        const struct chime_setting_desc *d = &table[id];
        const char *text = ly->source[id] == CHIME_SOURCE_DEFAULT ? d->def : ly->text[id];
        void *field = (char *)out + d->offset;
        out->sources[id] = ly->source[id];
        int err = chime__setting_parse(d, text, field, diag);
        if (!err && d->check)
            err = d->check(d, field, diag);
        if (err == CHIME_ENOMEM)
            return chime_diag_set(diag, err, d->env, "out of memory");
        if (err)
            return name_setting(ly, id, err, diag);
    }
    return 0;
}

static int default_node_name(struct chime_settings *out)
{
    if (out->node_name && *out->node_name)
        return 0;
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0 || !*host)
        chime__strlcpy(host, "localhost", sizeof(host));
    char *copy = chime__strdup(host);
    if (!copy)
        return CHIME_ENOMEM;
    chime__free(out->node_name);
    out->node_name = copy;
    return 0;
}

int chime_settings_load(int argc, char **argv, char **envp, struct chime_settings *out,
                        struct chime_diag *diag)
{
    struct chime__settings_layers ly;
    memset(&ly, 0, sizeof(ly));
    memset(out, 0, sizeof(*out));
    chime_diag_clear(diag);
    int err = chime__settings_parse_argv(&ly, argc, argv, &out->action, diag);
    if (err || out->action != CHIME_SETTINGS_RUN)
        goto out_layers;
    parse_envp(&ly, envp);
    err = load_dotenv(&ly, diag);
    if (err)
        goto out_layers;
    err = apply_all(&ly, out, diag);
    if (!err && default_node_name(out) != 0)
        err = chime_diag_set(diag, CHIME_ENOMEM, "CHIME_NODE_NAME", "out of memory");
out_layers:
    layers_release(&ly);
    if (err)
        chime_settings_release(out);
    return err;
}

void chime_settings_release(struct chime_settings *settings)
{
    if (!settings)
        return;
    for (int id = 0; id < CHIME_SETTING_COUNT; id++) {
        if (table[id].type != CHIME_SETTING_STRING)
            continue;
        char **field = (char **)(void *)((char *)settings + table[id].offset);
        chime__free(*field);
        *field = NULL;
    }
}
