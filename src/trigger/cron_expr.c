/*
 * Cron field expressions: compiles APScheduler's per-field syntax ("*",
 * "*\/n", "a", "a-b", "a-b/n", "a/n", comma lists, month and weekday names,
 * and in the day field "last", "last fri", "1st".."5th mon") and the five
 * fields of a crontab(5) line into the bit sets of struct chime__cron. Every
 * rejected expression gets a diagnostic naming the field and the reason.
 */
#include "trigger/trigger_internal.h"

#include "base/base.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *const chime__cron_field_names[CHIME__CF_COUNT] = {
    "year", "month", "day", "week", "day_of_week", "hour", "minute", "second",
};

static const int field_min[CHIME__CF_COUNT] = { 1970, 1, 1, 1, 0, 0, 0, 0 };
static const int field_max[CHIME__CF_COUNT] = { 9999, 12, 31, 53, 6, 23, 59, 59 };

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul",
                                           "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const aps_weekdays[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL };
static const char *const cron_weekdays[] = {
    "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};
static const char *const positions[] = { "1st", "2nd", "3rd", "4th", "5th", "last", NULL };

/* How one field is written: value bounds, names, and which syntax applies. */
struct fsyntax {
    enum chime__cron_field f;
    int min, max;
    const char *const *names; /* NULL: numbers only */
    int name_base;            /* value of names[0] */
    bool crontab;             /* crontab(5): no "a/n", day-of-week 0..7 */
    const char *field;        /* diag field */
    const char *label;        /* how messages call the field */
};

/* One element of a comma list, after syntax, before range validation. */
struct elem {
    long first, last, step; /* last = -1: up to the field maximum; step 0 = none */
    bool star;
};

#define NUM_CAP 1000000000L

static bool read_num(const char **p, long *out)
{
    const char *s = *p;
    long v = 0;
    if (!isdigit((unsigned char)*s))
        return false;
    for (; isdigit((unsigned char)*s); s++)
        v = v >= NUM_CAP ? NUM_CAP : v * 10 + (*s - '0');
    *p = s;
    *out = v;
    return true;
}

/* Reads a name from names (case-insensitive); -1 when letters do not name one, -2: no letters. */
static int read_name(const char **p, const char *const *names, char *word, size_t n)
{
    size_t len = 0;
    const char *s = *p;
    while (isalpha((unsigned char)s[len]))
        len++;
    if (len == 0)
        return -2;
    chime__strlcpy(word, s, len + 1 < n ? len + 1 : n);
    *p = s + len;
    for (int i = 0; names && names[i]; i++)
        if (strlen(names[i]) == len && strncasecmp(names[i], s, len) == 0)
            return i;
    return -1;
}

static int bad_name(const struct fsyntax *fs, const char *word, struct chime_diag *diag)
{
    const char *what = fs->names == month_names ? "month" : "weekday";
    return chime_diag_set(diag, CHIME_EINVAL, fs->field, "%s: invalid %s name \"%s\".", fs->field,
                          what, word);
}

static int unrecognized(const struct fsyntax *fs, const char *expr, struct chime_diag *diag)
{
    return chime_diag_set(diag, CHIME_EINVAL, fs->field,
                          "%s: unrecognized expression \"%s\" for the %s field.", fs->field, expr,
                          fs->label);
}

/* A value: a number, or (when the field has names) a name. */
static int read_value(const struct fsyntax *fs, const char **p, long *out, struct chime_diag *diag)
{
    char word[32];
    if (read_num(p, out))
        return 0;
    int i = read_name(p, fs->names, word, sizeof(word));
    if (i == -2 || !fs->names)
        return 1; /* not a value: the caller reports the expression */
    if (i < 0)
        return bad_name(fs, word, diag);
    *out = i + fs->name_base;
    return 0;
}

static int read_step(const char **p, struct elem *e)
{
    if (**p != '/')
        return 0;
    (*p)++;
    return read_num(p, &e->step) ? 0 : 1;
}

/* Syntax of one element: "*[/n]" or "v[-v][/n]". 1 = unrecognized. */
static int elem_syntax(const struct fsyntax *fs, const char *s, struct elem *e,
                       struct chime_diag *diag)
{
    int rc;
    memset(e, 0, sizeof(*e));
    e->last = -1;
    if (*s == '*') {
        s++;
        e->star = true;
        e->step = -1;
        if (*s == '/' && (rc = read_step(&s, e)) != 0)
            return rc;
        return *s ? 1 : 0;
    }
    e->step = -1;
    if ((rc = read_value(fs, &s, &e->first, diag)) != 0)
        return rc;
    if (*s == '-') {
        s++;
        if ((rc = read_value(fs, &s, &e->last, diag)) != 0)
            return rc;
    }
    if (*s == '/' && (rc = read_step(&s, e)) != 0)
        return rc;
    if (e->last < 0 && e->step < 0)
        e->last = e->first;
    if (fs->crontab && e->last < 0)
        return 1; /* crontab(5) has no "a/n" */
    return *s ? 1 : 0;
}

static int range_error(const struct fsyntax *fs, const char *expr, struct chime_diag *diag,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int range_error(const struct fsyntax *fs, const char *expr, struct chime_diag *diag,
                       const char *fmt, ...)
{
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return chime_diag_set(diag, CHIME_EINVAL, fs->field, "%s: invalid expression \"%s\": %s.",
                          fs->field, expr, why);
}

/* APScheduler's checks, in its order (expressions.py validate_range). */
static int elem_validate(const struct fsyntax *fs, const char *expr, const struct elem *e,
                         struct chime_diag *diag)
{
    if (e->step == 0)
        return chime_diag_set(diag, CHIME_EINVAL, fs->field,
                              "%s: invalid expression \"%s\": the step must be higher than 0.",
                              fs->field, expr);
    if (!e->star && e->last >= 0 && e->first > e->last)
        return range_error(fs, expr, diag, "the range start (%ld) is higher than its end (%ld)",
                           e->first, e->last);
    long span = fs->max - fs->min;
    if (e->step > span)
        return range_error(fs, expr, diag, "the step (%ld) is larger than the field's range (%ld)",
                           e->step, span);
    if (e->star)
        return 0;
    if (e->first < fs->min)
        return range_error(fs, expr, diag, "the first value (%ld) is lower than the minimum (%d)",
                           e->first, fs->min);
    if (e->last > fs->max)
        return range_error(fs, expr, diag, "the last value (%ld) is higher than the maximum (%d)",
                           e->last, fs->max);
    if (e->first > fs->max)
        return range_error(fs, expr, diag, "the first value (%ld) is higher than the maximum (%d)",
                           e->first, fs->max);
    /* APS-COMPAT: APScheduler reads a range end of 0 as "no end" here ("0-0/1" is allowed). */
    span = (e->last > 0 ? e->last : fs->max) - e->first;
    if (e->step > span)
        return range_error(fs, expr, diag,
                           "the step (%ld) is larger than the expression's range (%ld)", e->step,
                           span);
    return 0;
}

static void set_bit(struct chime__cron *cron, const struct fsyntax *fs, long v)
{
    if (fs->f == CHIME__CF_YEAR) {
        long i = v - CHIME__CRON_YEAR_MIN;
        cron->years[i / 64] |= 1ULL << (i % 64);
        return;
    }
    if (fs->crontab && fs->f == CHIME__CF_DOW)
        v = (v + 6) % 7; /* crontab 0/7 = Sunday -> APScheduler 6 */
    cron->bits[fs->f] |= 1ULL << v;
}

/* Years first..last, a word at a time: "*" alone is 8030 years. */
static void years_set_range(struct chime__cron *cron, long first, long last)
{
    long i = first - CHIME__CRON_YEAR_MIN, j = last - CHIME__CRON_YEAR_MIN;
    for (long w = i / 64; w <= j / 64; w++) {
        uint64_t bits = ~0ULL;
        if (w == i / 64)
            bits &= ~0ULL << (i % 64);
        if (w == j / 64)
            bits &= ~0ULL >> (63 - j % 64);
        cron->years[w] |= bits;
    }
}

static void elem_apply(struct chime__cron *cron, const struct fsyntax *fs, const struct elem *e)
{
    long first = e->star ? fs->min : e->first;
    long last = (e->star || e->last < 0) ? fs->max : e->last;
    long step = e->step > 0 ? e->step : 1;
    if (fs->f == CHIME__CF_YEAR && step == 1) {
        years_set_range(cron, first, last);
        return;
    }
    for (long v = first; v <= last; v += step)
        set_bit(cron, fs, v);
}

/* Day-field specials (APScheduler only): "last", "<1st..5th|last> <weekday>". 1 = unrecognized. */
static int day_special(struct chime__cron *cron, const struct fsyntax *fs, const char *s,
                       struct chime_diag *diag)
{
    char word[32];
    const char *p = NULL;
    int pos;
    for (pos = 0; positions[pos]; pos++) {
        size_t n = strlen(positions[pos]);
        if (strncasecmp(s, positions[pos], n) == 0) {
            p = s + n;
            break;
        }
    }
    if (!p)
        return 1;
    if (*p == '\0' && pos == 5) {
        cron->day_last = true;
        return 0;
    }
    if (*p != ' ')
        return 1;
    while (*p == ' ')
        p++;
    size_t len = 0;
    while (isalnum((unsigned char)p[len]))
        len++;
    if (len == 0 || p[len])
        return 1;
    const char *q = p;
    int wd = read_name(&q, aps_weekdays, word, sizeof(word));
    if (wd < 0 || *q) {
        chime__strlcpy(word, p, sizeof(word));
        return chime_diag_set(diag, CHIME_EINVAL, fs->field, "%s: invalid weekday name \"%s\".",
                              fs->field, word);
    }
    cron->day_pos[wd] |= (uint8_t)(1u << pos);
    return 0;
}

static int elem_parse(struct chime__cron *cron, const struct fsyntax *fs, const char *s,
                      struct chime_diag *diag)
{
    struct elem e;
    int rc;
    if (fs->f == CHIME__CF_DAY && !fs->crontab && isalpha((unsigned char)*s))
        rc = day_special(cron, fs, s, diag);
    else if (fs->f == CHIME__CF_DAY && !fs->crontab && isdigit((unsigned char)s[0]) &&
             isalpha((unsigned char)s[1]))
        rc = day_special(cron, fs, s, diag);
    else if ((rc = elem_syntax(fs, s, &e, diag)) == 0 && (rc = elem_validate(fs, s, &e, diag)) == 0)
        elem_apply(cron, fs, &e);
    if (rc == 1)
        rc = unrecognized(fs, s, diag);
    return rc;
}

static int list_parse(struct chime__cron *cron, const struct fsyntax *fs, const char *expr,
                      struct chime_diag *diag)
{
    int rc = 0;
    char *copy = chime__strdup(expr);
    if (!copy)
        return chime_diag_set(diag, CHIME_ENOMEM, fs->field, "%s: out of memory.", fs->field);
    char *start = copy, *end = copy + strlen(copy);
    /* APS-COMPAT: APScheduler strips surrounding whitespace of the whole field. */
    while (isspace((unsigned char)*start))
        start++;
    while (end > start && isspace((unsigned char)end[-1]))
        *--end = '\0';
    for (char *item = start;; item++) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        if ((rc = elem_parse(cron, fs, item, diag)) != 0 || !comma)
            break;
        item = comma;
    }
    chime__free(copy);
    return rc;
}

int chime__cron_field_parse(struct chime__cron *cron, enum chime__cron_field f, const char *expr,
                            const char *field, struct chime_diag *diag)
{
    struct fsyntax fs = {
        .f = f,
        .min = field_min[f],
        .max = field_max[f],
        .field = field,
        .label = chime__cron_field_names[f],
    };
    if (f == CHIME__CF_MONTH) {
        fs.names = month_names;
        fs.name_base = 1;
    } else if (f == CHIME__CF_DOW) {
        fs.names = aps_weekdays;
    }
    return list_parse(cron, &fs, expr, diag);
}

static void cron_set_all(struct chime__cron *cron, enum chime__cron_field f)
{
    for (int v = field_min[f]; v <= field_max[f]; v++)
        cron->bits[f] |= 1ULL << v;
}

/* The five crontab(5) fields, in line order. */
static const struct {
    enum chime__cron_field f;
    int min, max;
    const char *label;
} crontab_fields[5] = {
    { CHIME__CF_MINUTE, 0, 59, "minute" },    { CHIME__CF_HOUR, 0, 23, "hour" },
    { CHIME__CF_DAY, 1, 31, "day-of-month" }, { CHIME__CF_MONTH, 1, 12, "month" },
    { CHIME__CF_DOW, 0, 7, "day-of-week" },
};

static const struct {
    const char *name, *line;
} crontab_macros[] = {
    { "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
    { "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
    { "@hourly", "0 * * * *" },
};

static int crontab_macro(const char *line, const char *field, const char **out,
                         struct chime_diag *diag)
{
    for (size_t i = 0; i < sizeof(crontab_macros) / sizeof(crontab_macros[0]); i++) {
        if (strcasecmp(line, crontab_macros[i].name) == 0) {
            *out = crontab_macros[i].line;
            return 0;
        }
    }
    if (strcasecmp(line, "@reboot") == 0)
        return chime_diag_set(diag, CHIME_EINVAL, field,
                              "%s: \"@reboot\" is not supported: a scheduler has no reboot to "
                              "run at.",
                              field);
    return chime_diag_set(diag, CHIME_EINVAL, field,
                          "%s: unknown macro \"%s\" (use @yearly, @annually, @monthly, @weekly, "
                          "@daily, @midnight or @hourly).",
                          field, line);
}

static int crontab_split(const char *line, char words[5][128], const char *field,
                         struct chime_diag *diag)
{
    int n = 0;
    const char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, " \t");
        if (n == 5 || len >= 128)
            return chime_diag_set(diag, CHIME_EINVAL, field,
                                  "%s: a crontab line has exactly 5 fields (minute hour "
                                  "day-of-month month day-of-week); \"%s\" is not one.",
                                  field, line);
        memcpy(words[n], p, len);
        words[n++][len] = '\0';
        p += len;
    }
    if (n != 5)
        return chime_diag_set(diag, CHIME_EINVAL, field,
                              "%s: a crontab line has exactly 5 fields (minute hour day-of-month "
                              "month day-of-week), \"%s\" has %d.",
                              field, line, n);
    return 0;
}

int chime__crontab_parse(struct chime__cron *cron, const char *line, const char *field,
                         struct chime_diag *diag)
{
    char words[5][128];
    char label[64];
    int rc;
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line == '@' && (rc = crontab_macro(line, field, &line, diag)) != 0)
        return rc;
    if ((rc = crontab_split(line, words, field, diag)) != 0)
        return rc;
    for (int i = 0; i < 5; i++) {
        snprintf(label, sizeof(label), "crontab %s", crontab_fields[i].label);
        struct fsyntax fs = {
            .f = crontab_fields[i].f,
            .min = crontab_fields[i].min,
            .max = crontab_fields[i].max,
            .crontab = true,
            .field = field,
            .label = label,
        };
        if (fs.f == CHIME__CF_MONTH) {
            fs.names = month_names;
            fs.name_base = 1;
        } else if (fs.f == CHIME__CF_DOW) {
            fs.names = cron_weekdays;
        }
        if ((rc = list_parse(cron, &fs, words[i], diag)) != 0)
            return rc;
    }
    /* crontab(5): when both day fields are restricted (neither starts with '*'), either matches. */
    cron->day_or_dow = words[2][0] != '*' && words[4][0] != '*';
    cron->bits[CHIME__CF_SECOND] = 1;
    cron_set_all(cron, CHIME__CF_WEEK);
    for (int i = 0; i < CHIME__CRON_YEAR_WORDS; i++)
        cron->years[i] = ~0ULL;
    return 0;
}
