/*
 * A job's run options beyond APScheduler's policies: a time limit for each
 * run (`timeout`), retries of a failed or timed-out run with exponential
 * backoff and jitter (`retries`, `retry_backoff`, `retry_jitter`), and what
 * happens when the job comes due while it runs (`overlap`). Read from a
 * request or stored job, written in both JSON forms (json_t and text, byte
 * for byte the same); an option left at its default is absent.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "job/job_internal.h"

static const char *const overlap_names[] = { "skip", "queue", "replace" };
#define N_OVERLAP (sizeof(overlap_names) / sizeof(overlap_names[0]))

void chime_job_policy_options_init(struct chime_job_policy *p)
{
    p->timeout_s = 0;
    p->retries = 0;
    p->retry_backoff_s = CHIME_RETRY_BACKOFF_DEFAULT_S;
    p->retry_jitter_s = 0;
    p->overlap = CHIME_OVERLAP_SKIP;
}

const char *chime_overlap_name(int overlap)
{
    return overlap >= 0 && (size_t)overlap < N_OVERLAP ? overlap_names[overlap] : NULL;
}

int64_t chime_job_retry_delay_us(const struct chime_job_policy *p, int next_attempt,
                                 double jitter_draw)
{
    int64_t delay_s = p->retry_backoff_s;
    for (int a = 2; a < next_attempt && delay_s < CHIME_RETRY_DELAY_MAX_S; a++)
        delay_s *= 2;
    if (delay_s > CHIME_RETRY_DELAY_MAX_S)
        delay_s = CHIME_RETRY_DELAY_MAX_S;
    double jitter_us = jitter_draw * (double)p->retry_jitter_s * (double)CHIME_USEC_PER_SEC;
    return delay_s * CHIME_USEC_PER_SEC + (int64_t)jitter_us;
}

/* An optional integer member in [lo, hi]; absent or null leaves *out. */
static int opt_int(const json_t *obj, const char *key, int64_t lo, int64_t hi, int32_t *out,
                   struct chime_diag *diag)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return chime_diag_set(diag, CHIME_EINVAL, key,
                              "%s must be an integer from %" PRId64 " to %" PRId64, key, lo, hi);
    *out = (int32_t)json_integer_value(v);
    return 0;
}

/*
 * overlap: "skip" (APScheduler's behaviour), "queue" or "replace" (see
 * docs/semantics.md, "Timeouts and retries").
 */
static int read_overlap(const json_t *obj, int *out, struct chime_diag *diag)
{
    const json_t *v = json_object_get(obj, "overlap");
    if (!v || json_is_null(v))
        return 0;
    for (size_t i = 0; json_is_string(v) && i < N_OVERLAP; i++) {
        if (strcmp(json_string_value(v), overlap_names[i]) != 0)
            continue;
        *out = (int)i;
        return 0;
    }
    return chime_diag_set(diag, CHIME_EINVAL, "overlap",
                          "overlap must be one of 'skip', 'queue', 'replace'");
}

int chime__job_read_options(const json_t *obj, struct chime_job_policy *p, struct chime_diag *diag)
{
    chime_job_policy_options_init(p);
    int rc = opt_int(obj, "timeout", 1, CHIME_JOB_TIMEOUT_MAX_S, &p->timeout_s, diag);
    if (rc == 0)
        rc = opt_int(obj, "retries", 0, CHIME_JOB_RETRIES_MAX, &p->retries, diag);
    if (rc == 0)
        rc = opt_int(obj, "retry_backoff", 0, CHIME_RETRY_DELAY_MAX_S, &p->retry_backoff_s, diag);
    if (rc == 0)
        rc = opt_int(obj, "retry_jitter", 0, CHIME_RETRY_DELAY_MAX_S, &p->retry_jitter_s, diag);
    if (rc == 0)
        rc = read_overlap(obj, &p->overlap, diag);
    return rc;
}

int chime__job_set_options(json_t *o, const struct chime_job_policy *p)
{
    int rc = 0;
    if (p->timeout_s > 0)
        rc |= json_object_set_new(o, "timeout", json_integer(p->timeout_s));
    if (p->retries > 0)
        rc |= json_object_set_new(o, "retries", json_integer(p->retries));
    if (p->retry_backoff_s != CHIME_RETRY_BACKOFF_DEFAULT_S)
        rc |= json_object_set_new(o, "retry_backoff", json_integer(p->retry_backoff_s));
    if (p->retry_jitter_s > 0)
        rc |= json_object_set_new(o, "retry_jitter", json_integer(p->retry_jitter_s));
    if (p->overlap != CHIME_OVERLAP_SKIP)
        rc |= json_object_set_new(o, "overlap", json_string(chime_overlap_name(p->overlap)));
    return rc;
}

/* ,"key":value for one integer option. */
static int put_int_option(struct chime_text *t, const char *key, int64_t v)
{
    char buf[64];
    int n = snprintf(buf, sizeof(buf), ",\"%s\":%" PRId64, key, v);
    return chime_text_append(t, buf, (size_t)n);
}

int chime__job_put_options(struct chime_text *t, const struct chime_job_policy *p)
{
    int rc = 0;
    if (p->timeout_s > 0)
        rc = put_int_option(t, "timeout", p->timeout_s);
    if (rc == 0 && p->retries > 0)
        rc = put_int_option(t, "retries", p->retries);
    if (rc == 0 && p->retry_backoff_s != CHIME_RETRY_BACKOFF_DEFAULT_S)
        rc = put_int_option(t, "retry_backoff", p->retry_backoff_s);
    if (rc == 0 && p->retry_jitter_s > 0)
        rc = put_int_option(t, "retry_jitter", p->retry_jitter_s);
    if (rc == 0 && p->overlap != CHIME_OVERLAP_SKIP) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), ",\"overlap\":\"%s\"", chime_overlap_name(p->overlap));
        rc = chime_text_append(t, buf, (size_t)n);
    }
    return rc;
}

bool chime__job_options_equal(const struct chime_job_policy *a, const struct chime_job_policy *b)
{
    return a->timeout_s == b->timeout_s && a->retries == b->retries &&
           a->retry_backoff_s == b->retry_backoff_s && a->retry_jitter_s == b->retry_jitter_s &&
           a->overlap == b->overlap;
}
