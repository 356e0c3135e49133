/*
 * What the settings files share: the layered raw texts the loader collects
 * before parsing, and the per-type value parsers (settings_parse.c).
 */
#ifndef CHIME_CONFIG_SETTINGS_INTERNAL_H
#define CHIME_CONFIG_SETTINGS_INTERNAL_H

#include "config/settings.h"

/* Each setting's winning text so far and its source; .env values are owned copies. */
struct chime__settings_layers {
    const char *text[CHIME_SETTING_COUNT]; /* NULL while the default holds */
    enum chime_setting_source source[CHIME_SETTING_COUNT];
    char *dotenv[CHIME_SETTING_COUNT]; /* owned */
    int dotenv_line[CHIME_SETTING_COUNT];
    const char *env_file; /* the .env path used */
};

/* Index of the setting whose environment variable is name[0..len), or -1. */
int chime__settings_find_env(const char *name, size_t len);

/* Scans argv for --help/--version (into *action), else every option into ly. */
int chime__settings_parse_argv(struct chime__settings_layers *ly, int argc, char **argv,
                               enum chime_settings_action *action, struct chime_diag *diag);

/*
 * Parses text by d's type into field (a STRING field receives an owned copy,
 * freeing what it held). CHIME_EINVAL with diag->message saying what is wrong
 * (the caller prefixes the setting), CHIME_ENOMEM.
 */
int chime__setting_parse(const struct chime_setting_desc *d, const char *text, void *field,
                         struct chime_diag *diag);

/* Value parsers, also for tests and the fuzzer: 0 or CHIME_EINVAL/CHIME_ERANGE (no diag). */
int chime__setting_parse_int(const char *text, int64_t *out);
int chime__setting_parse_bool(const char *text, bool *out);
int chime__setting_parse_duration(const char *text, int64_t *out_s);
int chime__setting_parse_size(const char *text, int64_t *out);
int chime__setting_parse_enum(const char *choices, const char *text, int *out);

#endif /* CHIME_CONFIG_SETTINGS_INTERNAL_H */
