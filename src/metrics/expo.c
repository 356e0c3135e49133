/*
 * The Prometheus text exposition format, version 0.0.4: lines of
 * "# HELP name text", "# TYPE name type" and "name{label="value",...} value",
 * each ending in \n. HELP text escapes backslash and newline; label values
 * escape backslash, double quote and newline. Seconds are written from
 * integer microseconds as exact decimals (5000 us -> 0.005), so bucket
 * bounds read back as the same numbers. Names are checked: a bad one is a
 * programming error reported once through the sticky error, never written.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "metrics/metrics.h"

#define MAX_HISTOGRAM_LABELS 7

void chime_expo_init(struct chime_expo *w)
{
    *w = (struct chime_expo){ 0 };
}

void chime_expo_release(struct chime_expo *w)
{
    chime__free(w->buf);
    *w = (struct chime_expo){ 0 };
}

int chime_expo_error(const struct chime_expo *w)
{
    return w->err;
}

static void put_n(struct chime_expo *w, const char *s, size_t n)
{
    if (w->err)
        return;
    if (chime__grow((void **)&w->buf, &w->cap, w->len + n + 1, 1) < 0) {
        w->err = CHIME_ENOMEM;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void put(struct chime_expo *w, const char *s)
{
    put_n(w, s, strlen(s));
}

/* Writes s with the characters in special escaped (\\, \n, and \" when quote). */
static void put_escaped(struct chime_expo *w, const char *s, bool quote)
{
    while (*s) {
        size_t n = strcspn(s, quote ? "\\\n\"" : "\\\n");
        put_n(w, s, n);
        s += n;
        if (*s == '\\')
            put(w, "\\\\");
        else if (*s == '\n')
            put(w, "\\n");
        else if (*s == '"')
            put(w, "\\\"");
        if (*s)
            s++;
    }
}

static bool name_char(char c, bool first, bool colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':'))
        return true;
    return !first && c >= '0' && c <= '9';
}

/* Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names: [a-zA-Z_][a-zA-Z0-9_]*, no __. */
static bool name_valid(const char *name, bool metric)
{
    if (!name || !*name || (!metric && strncmp(name, "__", 2) == 0))
        return false;
    for (size_t i = 0; name[i]; i++)
        if (!name_char(name[i], i == 0, metric))
            return false;
    return true;
}

static bool check_name(struct chime_expo *w, const char *name, bool metric)
{
    if (name_valid(name, metric))
        return true;
    if (!w->err)
        w->err = CHIME_EINVAL;
    return false;
}

static const char *type_name(enum chime_metric_type type)
{
    switch (type) {
    case CHIME_METRIC_COUNTER:
        return "counter";
    case CHIME_METRIC_GAUGE:
        return "gauge";
    case CHIME_METRIC_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

void chime_expo_family(struct chime_expo *w, const char *name, enum chime_metric_type type,
                       const char *help)
{
    if (!check_name(w, name, true))
        return;
    put(w, "# HELP ");
    put(w, name);
    put(w, " ");
    put_escaped(w, help ? help : "", false);
    put(w, "\n# TYPE ");
    put(w, name);
    put(w, " ");
    put(w, type_name(type));
    put(w, "\n");
}

/* name{labels} (the space before the value is the caller's). */
static bool put_series(struct chime_expo *w, const char *name, const struct chime_label *labels,
                       size_t n_labels)
{
    if (!check_name(w, name, true))
        return false;
    for (size_t i = 0; i < n_labels; i++)
        if (!check_name(w, labels[i].name, false))
            return false;
    put(w, name);
    for (size_t i = 0; i < n_labels; i++) {
        put(w, i ? "," : "{");
        put(w, labels[i].name);
        put(w, "=\"");
        put_escaped(w, labels[i].value ? labels[i].value : "", true);
        put(w, "\"");
    }
    if (n_labels)
        put(w, "}");
    return true;
}

/* The shortest %g text that reads back as v; Prometheus' spellings of the specials. */
static void format_double(double v, char *buf, size_t n)
{
    if (isnan(v)) {
        chime__strlcpy(buf, "NaN", n);
    } else if (isinf(v)) {
        chime__strlcpy(buf, v > 0 ? "+Inf" : "-Inf", n);
    } else {
        snprintf(buf, n, "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, n, "%.17g", v);
    }
}

void chime_expo_sample(struct chime_expo *w, const char *name, const struct chime_label *labels,
                       size_t n_labels, double value)
{
    char text[40];
    if (!put_series(w, name, labels, n_labels))
        return;
    format_double(value, text, sizeof(text));
    put(w, " ");
    put(w, text);
    put(w, "\n");
}

void chime_expo_sample_u64(struct chime_expo *w, const char *name, const struct chime_label *labels,
                           size_t n_labels, uint64_t value)
{
    char text[24];
    if (!put_series(w, name, labels, n_labels))
        return;
    snprintf(text, sizeof(text), "%" PRIu64, value);
    put(w, " ");
    put(w, text);
    put(w, "\n");
}

/* Microseconds as exact decimal seconds: 5000 -> "0.005", 2000000 -> "2". */
static void format_seconds(uint64_t us, char *buf, size_t n)
{
    uint64_t frac = us % 1000000;
    if (frac == 0) {
        snprintf(buf, n, "%" PRIu64, us / 1000000);
        return;
    }
    snprintf(buf, n, "%" PRIu64 ".%06" PRIu64, us / 1000000, frac);
    size_t len = strlen(buf);
    while (buf[len - 1] == '0')
        buf[--len] = '\0';
}

/* A sample whose value is already text. */
static void put_sample_text(struct chime_expo *w, const char *name,
                            const struct chime_label *labels, size_t n_labels, const char *value)
{
    if (!put_series(w, name, labels, n_labels))
        return;
    put(w, " ");
    put(w, value);
    put(w, "\n");
}

/* name + suffix into buf; false (error set) when it does not fit. */
static bool suffixed(struct chime_expo *w, const char *name, const char *suffix, char *buf,
                     size_t n)
{
    int len = snprintf(buf, n, "%s%s", name, suffix);
    if (len < 0 || (size_t)len >= n) {
        if (!w->err)
            w->err = CHIME_EINVAL;
        return false;
    }
    return true;
}

static void put_buckets(struct chime_expo *w, const char *bucket_name,
                        const struct chime_label *labels, size_t n_labels,
                        const struct chime_histogram_snapshot *snap)
{
    struct chime_label with_le[MAX_HISTOGRAM_LABELS + 1];
    char le[32];
    if (n_labels)
        memcpy(with_le, labels, n_labels * sizeof(*labels));
    with_le[n_labels].name = "le";
    with_le[n_labels].value = le;
    for (size_t i = 0; i <= snap->n_bounds; i++) {
        if (i < snap->n_bounds)
            format_seconds((uint64_t)snap->bounds_us[i], le, sizeof(le));
        else
            chime__strlcpy(le, "+Inf", sizeof(le));
        chime_expo_sample_u64(w, bucket_name, with_le, n_labels + 1, snap->counts[i]);
    }
}

void chime_expo_histogram(struct chime_expo *w, const char *name, const struct chime_label *labels,
                          size_t n_labels, const struct chime_histogram_snapshot *snap)
{
    char series[128], sum[32];
    if (n_labels > MAX_HISTOGRAM_LABELS) {
        if (!w->err)
            w->err = CHIME_EINVAL;
        return;
    }
    if (!suffixed(w, name, "_bucket", series, sizeof(series)))
        return;
    put_buckets(w, series, labels, n_labels, snap);
    format_seconds(snap->sum_us, sum, sizeof(sum));
    if (suffixed(w, name, "_sum", series, sizeof(series)))
        put_sample_text(w, series, labels, n_labels, sum);
    if (suffixed(w, name, "_count", series, sizeof(series)))
        chime_expo_sample_u64(w, series, labels, n_labels, snap->count);
}
