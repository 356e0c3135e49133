/*
 * The API view of a job written straight as compact JSON text, for listings
 * of thousands of jobs: the same bytes as json_dumps(chime_job_to_json(job),
 * JSON_COMPACT) (same key order, jansson's string escaping: '"' '\' and the
 * control characters escaped, \uXXXX in upper-case hex for those without a
 * short form, everything else — UTF-8 included — as is), without a json_t
 * per job. args/kwargs are stored as jansson's own compact dump
 * (chime__json_text), which jansson dumps back unchanged, so they are copied.
 */
#include "job/job.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "job/job_internal.h"
#include "time/tz.h"

int chime_text_append(struct chime_text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap && chime__grow((void **)&t->data, &t->cap, t->len + n + 1, 1) < 0)
        return CHIME_ENOMEM;
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
    return 0;
}

void chime_text_free(struct chime_text *t)
{
    chime__free(t->data);
    t->data = NULL;
    t->len = t->cap = 0;
}

static int put(struct chime_text *t, const char *s)
{
    return chime_text_append(t, s, strlen(s));
}

/* The escape of byte c as jansson writes it into esc (7 bytes). */
static const char *escape(unsigned char c, char esc[7])
{
    switch (c) {
    case '\\':
        return "\\\\";
    case '"':
        return "\\\"";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        snprintf(esc, 7, "\\u%04X", (unsigned)c);
        return esc;
    }
}

/* The bytes jansson escapes, and NUL (which ends the string). */
static const bool needs_escape[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
    [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
    [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
    [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
    [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1,
};

/* A JSON string, or null for NULL. */
static int put_string(struct chime_text *t, const char *s)
{
    if (!s)
        return put(t, "null");
    int rc = chime_text_append(t, "\"", 1);
    while (rc == 0 && *s) {
        size_t run = 0;
        while (!needs_escape[(unsigned char)s[run]])
            run++;
        rc = chime_text_append(t, s, run);
        s += run;
        if (rc == 0 && *s) {
            char esc[7];
            rc = put(t, escape((unsigned char)*s++, esc));
        }
    }
    return rc ? rc : chime_text_append(t, "\"", 1);
}

/* Writes v as width zero-padded decimal digits at p; returns the end. */
static char *digits(char *p, int v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

/*
 * The text of chime_time_format(when, zone) (RFC 3339, microseconds only
 * when not zero, seconds of the offset only when not zero), without printf:
 * three times a job, printf was a third of a listing.
 */
static size_t time_text(chime_utime when, const struct chime_zone *zone, char *buf)
{
    struct chime_civil c;
    int32_t off;
    chime_zone_to_local(zone, when, &c, &off);
    if (c.year < 0 || c.year > 9999)
        return strlen(chime_time_format(when, zone, buf));
    char *p = digits(buf, c.year, 4);
    *p++ = '-';
    p = digits(p, c.month, 2);
    *p++ = '-';
    p = digits(p, c.day, 2);
    *p++ = 'T';
    p = digits(p, c.hour, 2);
    *p++ = ':';
    p = digits(p, c.minute, 2);
    *p++ = ':';
    p = digits(p, c.second, 2);
    if (c.usec) {
        *p++ = '.';
        p = digits(p, c.usec, 6);
    }
    int32_t a = off < 0 ? -off : off;
    *p++ = off < 0 ? '-' : '+';
    p = digits(p, (int)(a / 3600 % 100), 2);
    *p++ = ':';
    p = digits(p, (int)(a / 60 % 60), 2);
    if (a % 60) {
        *p++ = ':';
        p = digits(p, (int)(a % 60), 2);
    }
    return (size_t)(p - buf);
}

static int put_time(struct chime_text *t, chime_utime when, const struct chime_zone *zone)
{
    char buf[CHIME_TIME_FORMAT_MAX + 2];
    if (when == CHIME_UTIME_NONE)
        return put(t, "null");
    buf[0] = '"';
    size_t n = time_text(when, zone, buf + 1);
    buf[n + 1] = '"';
    return chime_text_append(t, buf, n + 2);
}

static int put_int(struct chime_text *t, int64_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%" PRId64, v);
    return chime_text_append(t, buf, (size_t)n);
}

/* ,"key": for a literal key (no formatting: this runs 15 times a job). */
#define put_key(t, key) chime_text_append((t), ",\"" key "\":", sizeof(",\"" key "\":") - 1)

static int put_trigger(struct chime_text *t, const struct chime_trigger *trigger)
{
    const char *args = trigger ? chime_trigger_args_text(trigger) : "null";
    if (!args)
        return CHIME_ENOMEM;
    int rc = put_key(t, "trigger");
    if (rc == 0)
        rc = trigger ? put_string(t, chime_trigger_kind_name(trigger)) : put(t, "null");
    if (rc == 0)
        rc = put_key(t, "trigger_args");
    return rc ? rc : put(t, args);
}

/* The policies as a request spells them: a field left to the default is absent. */
static int put_policy(struct chime_text *t, const struct chime_job_policy *p)
{
    int rc = 0;
    if (p->coalesce >= 0 && (rc = put_key(t, "coalesce")) == 0)
        rc = put(t, p->coalesce ? "true" : "false");
    if (rc == 0 && p->grace_s == CHIME_GRACE_UNLIMITED &&
        (rc = put_key(t, "misfire_grace_time")) == 0)
        rc = put(t, "null");
    else if (rc == 0 && p->grace_s != CHIME_GRACE_DEFAULT &&
             (rc = put_key(t, "misfire_grace_time")) == 0)
        rc = put_int(t, p->grace_s);
    if (rc == 0 && p->max_instances >= 1 && (rc = put_key(t, "max_instances")) == 0)
        rc = put_int(t, p->max_instances);
    return rc ? rc : chime__job_put_options(t, p);
}

/* id .. trigger_args. */
static int put_head(struct chime_text *t, const struct chime_job *job)
{
    int rc = put(t, "{\"id\":");
    if (rc == 0 && (rc = put_string(t, job->id)) == 0 && (rc = put_key(t, "name")) == 0)
        rc = put_string(t, job->name);
    if (rc == 0 && (rc = put_key(t, "func")) == 0)
        rc = put_string(t, job->func);
    if (rc == 0 && (rc = put_key(t, "args")) == 0)
        rc = put(t, job->args ? job->args : "[]");
    if (rc == 0 && (rc = put_key(t, "kwargs")) == 0)
        rc = put(t, job->kwargs ? job->kwargs : "{}");
    return rc ? rc : put_trigger(t, job->trigger);
}

/* next_run_time .. updated_at. */
static int put_tail(struct chime_text *t, const struct chime_job *job)
{
    const struct chime_zone *zone =
            job->trigger ? chime_trigger_zone(job->trigger) : chime_zone_utc();
    int rc = put_key(t, "next_run_time");
    if (rc == 0)
        rc = put_time(t, job->paused ? CHIME_UTIME_NONE : job->next_run, zone);
    if (rc == 0 && (rc = put_key(t, "paused")) == 0)
        rc = put(t, job->paused ? "true" : "false");
    if (rc == 0 && (rc = put_key(t, "jobstore")) == 0)
        rc = put_string(t, job->jobstore ? job->jobstore : "default");
    if (rc == 0)
        rc = put_policy(t, &job->policy);
    if (rc == 0 && job->broken && (rc = put_key(t, "broken")) == 0)
        rc = put_string(t, job->broken);
    if (rc == 0 && (rc = put_key(t, "created_at")) == 0)
        rc = put_time(t, job->created_at, chime_zone_utc());
    if (rc == 0 && (rc = put_key(t, "updated_at")) == 0)
        rc = put_time(t, job->updated_at, chime_zone_utc());
    return rc ? rc : chime_text_append(t, "}", 1);
}

int chime_job_write_json(const struct chime_job *job, struct chime_text *out)
{
    size_t start = out->len;
    int rc = put_head(out, job);
    if (rc == 0)
        rc = put_tail(out, job);
    if (rc == 0)
        return 0;
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return CHIME_ENOMEM;
}
