/*
 * Text -> value for each setting type (integers, booleans, durations, sizes,
 * enums, strings) and the validators the settings table names. Parsers are
 * strict: no blanks around numbers, no trailing garbage, overflow is an
 * error; a message says what form was expected.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "config/settings_internal.h"
#include "time/tz.h"

int chime__setting_parse_int(const char *text, int64_t *out)
{
    if (!*text || isspace((unsigned char)*text))
        return CHIME_EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*end)
        return CHIME_EINVAL;
    if (errno == ERANGE)
        return CHIME_ERANGE;
    *out = v;
    return 0;
}

int chime__setting_parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = { "true", "1", "yes", "on" };
    static const char *const no[] = { "false", "0", "no", "off" };
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(text, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(text, no[i])) {
            *out = false;
            return 0;
        }
    }
    return CHIME_EINVAL;
}

struct unit {
    const char *name;
    int64_t factor;
};

/* digits [blanks] unit, where unit is one of units (case-insensitive). */
static int parse_with_unit(const char *text, const struct unit *units, size_t n_units, int64_t *out)
{
    if (!isdigit((unsigned char)*text))
        return CHIME_EINVAL;
    int64_t v = 0;
    while (isdigit((unsigned char)*text)) {
        int d = *text++ - '0';
        if (v > (INT64_MAX - d) / 10)
            return CHIME_ERANGE;
        v = v * 10 + d;
    }
    while (*text == ' ')
        text++;
    for (size_t i = 0; i < n_units; i++) {
        if (strcasecmp(text, units[i].name) != 0)
            continue;
        if (v > INT64_MAX / units[i].factor)
            return CHIME_ERANGE;
        *out = v * units[i].factor;
        return 0;
    }
    return CHIME_EINVAL;
}

int chime__setting_parse_duration(const char *text, int64_t *out_s)
{
    static const struct unit units[] = {
        { "", 1 }, { "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 }, { "w", 604800 },
    };
    return parse_with_unit(text, units, sizeof(units) / sizeof(units[0]), out_s);
}

int chime__setting_parse_size(const char *text, int64_t *out)
{
    static const struct unit units[] = {
        { "", 1 },
        { "b", 1 },
        { "k", 1024 },
        { "kib", 1024 },
        { "kb", 1000 },
        { "m", 1024 * 1024 },
        { "mib", 1024 * 1024 },
        { "mb", 1000 * 1000 },
        { "g", 1024 * 1024 * 1024 },
        { "gib", 1024 * 1024 * 1024 },
        { "gb", 1000 * 1000 * 1000 },
    };
    return parse_with_unit(text, units, sizeof(units) / sizeof(units[0]), out);
}

int chime__setting_parse_enum(const char *choices, const char *text, int *out)
{
    size_t len = strlen(text);
    const char *p = choices;
    for (int index = 0; p && *p; index++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && len > 0 && strncasecmp(p, text, n) == 0) {
            *out = index;
            return 0;
        }
        p = bar ? bar + 1 : NULL;
    }
    return CHIME_EINVAL;
}

static int parse_string(const char *text, char **field)
{
    char *copy = chime__strdup(text);
    if (!copy)
        return CHIME_ENOMEM;
    chime__free(*field);
    *field = copy;
    return 0;
}

/* The message for a value the type's parser refused. */
static const char *type_problem(const struct chime_setting_desc *d, int err)
{
    if (err == CHIME_ERANGE)
        return "the number is too large";
    switch (d->type) {
    case CHIME_SETTING_INT:
        return "not an integer";
    case CHIME_SETTING_BOOL:
        return "not a boolean (true/false, 1/0, yes/no, on/off)";
    case CHIME_SETTING_DURATION:
        return "not a duration (seconds, or a number with s, m, h, d or w: 90s, 15m, 12h, 7d)";
    case CHIME_SETTING_SIZE:
        return "not a size (bytes, or a number with K/KiB, M/MiB, G/GiB, KB, MB or GB)";
    default:
        return "not a valid value";
    }
}

int chime__setting_parse(const struct chime_setting_desc *d, const char *text, void *field,
                         struct chime_diag *diag)
{
    int err;
    switch (d->type) {
    case CHIME_SETTING_STRING:
        return parse_string(text, field);
    case CHIME_SETTING_INT:
        err = chime__setting_parse_int(text, field);
        break;
    case CHIME_SETTING_BOOL:
        err = chime__setting_parse_bool(text, field);
        break;
    case CHIME_SETTING_DURATION:
        err = chime__setting_parse_duration(text, field);
        break;
    case CHIME_SETTING_SIZE:
        err = chime__setting_parse_size(text, field);
        break;
    case CHIME_SETTING_ENUM:
        err = chime__setting_parse_enum(d->choices, text, field);
        if (err)
            return chime_diag_set(diag, CHIME_EINVAL, d->env, "must be one of %s", d->choices);
        return 0;
    default:
        return chime_diag_set(diag, CHIME_EINVAL, d->env, "unknown setting type");
    }
    if (err)
        return chime_diag_set(diag, CHIME_EINVAL, d->env, "%s", type_problem(d, err));
    return 0;
}

/* --- validators named in the table ---------------------------------------- */

static int check_range(const struct chime_setting_desc *d, const void *v, int64_t lo, int64_t hi,
                       struct chime_diag *diag)
{
    int64_t x = *(const int64_t *)v;
    if (x < lo || x > hi)
        return chime_diag_set(diag, CHIME_EINVAL, d->env, "must be between %lld and %lld",
                              (long long)lo, (long long)hi);
    return 0;
}

int chime__setting_check_nonempty(const struct chime_setting_desc *d, const void *v,
                                  struct chime_diag *diag)
{
    const char *s = *(char *const *)v;
    if (!s || !*s)
        return chime_diag_set(diag, CHIME_EINVAL, d->env, "must not be empty");
    return 0;
}

int chime__setting_check_workers(const struct chime_setting_desc *d, const void *v,
                                 struct chime_diag *diag)
{
    return check_range(d, v, 1, 1024, diag);
}

int chime__setting_check_positive(const struct chime_setting_desc *d, const void *v,
                                  struct chime_diag *diag)
{
    if (*(const int64_t *)v <= 0)
        return chime_diag_set(diag, CHIME_EINVAL, d->env, "must be greater than 0");
    return 0;
}

int chime__setting_check_nonnegative(const struct chime_setting_desc *d, const void *v,
                                     struct chime_diag *diag)
{
    if (*(const int64_t *)v < 0)
        return chime_diag_set(diag, CHIME_EINVAL, d->env, "must not be negative");
    return 0;
}

int chime__setting_check_zone(const struct chime_setting_desc *d, const void *v,
                              struct chime_diag *diag)
{
    const char *name = *(char *const *)v;
    const struct chime_zone *zone;
    if (!name || !*name)
        return 0;
    int err = chime_zone_find(name, &zone);
    if (err == CHIME_ENOMEM)
        return err;
    if (err)
        return chime_diag_set(diag, CHIME_EINVAL, d->env,
                              "unknown time zone (use an IANA name such as Europe/Berlin or UTC)");
    return 0;
}

int chime__setting_check_port(const struct chime_setting_desc *d, const void *v,
                              struct chime_diag *diag)
{
    return check_range(d, v, 0, 65535, diag);
}

int chime__setting_check_body(const struct chime_setting_desc *d, const void *v,
                              struct chime_diag *diag)
{
    return check_range(d, v, 1, (int64_t)1 << 30, diag);
}

int chime__setting_check_connections(const struct chime_setting_desc *d, const void *v,
                                     struct chime_diag *diag)
{
    return check_range(d, v, 1, 65536, diag);
}
