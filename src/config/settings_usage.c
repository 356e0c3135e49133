/*
 * `chimed --help`: every setting of the table with its flag, environment
 * variable (also its .env key), default and doc, so the usage text can never
 * miss a setting (docs/configuration.md is checked against it by a test).
 */
#include <stdio.h>

#include "config/settings.h"

/* What a flag's value looks like, by type. */
static const char *metavar(const struct chime_setting_desc *d)
{
    switch (d->type) {
    case CHIME_SETTING_INT:
        return " N";
    case CHIME_SETTING_BOOL:
        return "[=BOOL]";
    case CHIME_SETTING_DURATION:
        return " DURATION";
    case CHIME_SETTING_SIZE:
        return " SIZE";
    case CHIME_SETTING_ENUM:
        return " LEVEL";
    default:
        return " VALUE";
    }
}

static void print_setting(FILE *out, const struct chime_setting_desc *d)
{
    if (d->flag)
        fprintf(out, "  %s%s, %s=", d->flag, metavar(d), d->env);
    else
        fprintf(out, "  %s= (no flag)", d->env);
    fprintf(out, "\n      %s", d->doc);
    if (d->choices)
        fprintf(out, "; one of %s", d->choices);
    if (*d->def)
        fprintf(out, " (default: %s)\n", d->def);
    else
        fprintf(out, " (default: none)\n");
}

void chime_settings_usage(FILE *out)
{
    fprintf(out,
            "usage: chimed [options]\n\n"
            "chime's job scheduler daemon: the REST API and the scheduler on one store.\n"
            "Each setting is a flag, an environment variable, or a line of the .env file;\n"
            "flags win over the environment, which wins over .env, which wins over defaults.\n"
            "Booleans: true/false, 1/0, yes/no, on/off; bare --flag = true, --no-flag = false.\n"
            "Durations: seconds or 90s, 15m, 12h, 7d, 2w. Sizes: bytes or 64K, 1MiB, 1MB.\n\n"
            "settings:\n");
    const struct chime_setting_desc *table = chime_settings_table();
    for (int i = 0; i < CHIME_SETTING_COUNT; i++)
        print_setting(out, &table[i]);
    fprintf(out, "\n  -h, --help\n      print this help and exit\n"
                 "  --version\n      print the version and exit\n");
}
