/*
 * Unit tests of the job model: API request validation field by field (each
 * bad input names its field and leaves nothing built), defaults, ids, the
 * API and stored JSON forms with a lossless round trip, broken functions on
 * load, deep copies, and allocation failure on every path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "job/job.h"

#define SEC CHIME_USEC_PER_SEC
#define NOW 1795884735767717LL /* 2026-11-28T16:52:15.767717Z */

static struct chime_job_defaults defaults;

static int setup(void **state)
{
    (void)state;
    defaults = (struct chime_job_defaults){ true, 60, 1, chime_zone_utc() };
    chime__log_set_level(CHIME_LOG_OFF);
    return 0;
}

static bool job_is_released(const struct chime_job *job)
{
    return !job->id && !job->name && !job->func && !job->args && !job->kwargs && !job->jobstore &&
           !job->trigger && !job->broken;
}

/* Builds a job from a request text; returns rc. */
static int from_text(const char *text, struct chime_job *job, bool *replace, struct chime_diag *d)
{
    json_error_t err;
    json_t *body = json_loads(text, JSON_DECODE_ANY, &err);
    if (!body)
        fail_msg("bad test JSON %s: %s", text, err.text);
    chime_diag_clear(d);
    int rc = chime_job_from_request(body, &defaults, NOW, job, replace, d);
    json_decref(body);
    if (rc)
        assert_true(job_is_released(job));
    return rc;
}

#define DIGEST   "\"func\": \"app.jobs.registry:send_daily_digest\""
#define EVERY10M "\"trigger\": \"interval\", \"trigger_args\": {\"minutes\": 10}"

static void test_minimal_request_gets_defaults(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_diag d;
    bool replace = true;
    assert_int_equal(from_text("{" DIGEST ", " EVERY10M "}", &job, &replace, &d), 0);
    assert_int_equal(strlen(job.id), 32);
    assert_int_equal(strspn(job.id, "0123456789abcdef"), 32);
    assert_string_equal(job.name, "send_daily_digest"); /* APS-COMPAT: callable name */
    assert_string_equal(job.func, "app.jobs.registry:send_daily_digest");
    assert_string_equal(job.args, "[]");
    assert_string_equal(job.kwargs, "{}");
    assert_string_equal(job.jobstore, "default");
    assert_int_equal(job.policy.coalesce, -1);
    assert_int_equal(job.policy.grace_s, CHIME_GRACE_DEFAULT);
    assert_int_equal(job.policy.max_instances, -1);
    assert_int_equal(job.next_run, NOW + 600 * SEC);
    assert_false(job.paused);
    assert_null(job.broken);
    assert_int_equal(job.version, 1);
    assert_int_equal(job.created_at, NOW);
    assert_int_equal(job.updated_at, NOW);
    assert_false(replace);
    assert_true(chime_job_coalesce(&job, &defaults));
    assert_int_equal(chime_job_grace_s(&job, &defaults), 60);
    assert_int_equal(chime_job_max_instances(&job, &defaults), 1);
    chime_job_release(&job);
    chime_job_release(&job); /* safe twice */
}

static void test_every_field_accepted(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_diag d;
    bool replace = false;
    assert_int_equal(from_text("{" DIGEST ", " EVERY10M ", \"name\": \"Digest\", \"id\": "
                               "\"digest.v1:daily_A-z\", \"args\": [\"vip\"], \"kwargs\": {}, "
                               "\"jobstore\": \"default\", \"coalesce\": false, "
                               "\"misfire_grace_time\": 300, \"max_instances\": 3, "
                               "\"next_run_time\": \"2030-01-01T00:00:00+01:00\", "
                               "\"replace_existing\": true, \"unknown_extra\": [1]}",
                               &job, &replace, &d),
                     0);
    assert_string_equal(job.id, "digest.v1:daily_A-z");
    assert_string_equal(job.name, "Digest");
    assert_string_equal(job.args, "[\"vip\"]");
    assert_int_equal(job.policy.coalesce, 0);
    assert_int_equal(job.policy.grace_s, 300);
    assert_int_equal(job.policy.max_instances, 3);
    assert_false(chime_job_coalesce(&job, &defaults));
    assert_int_equal(chime_job_grace_s(&job, &defaults), 300);
    assert_int_equal(chime_job_max_instances(&job, &defaults), 3);
    assert_int_equal(job.next_run, 1893452400LL * SEC); /* 2029-12-31T23:00:00Z */
    assert_true(replace);
    /* The run options left out are their defaults. */
    assert_int_equal(job.policy.timeout_s, 0);
    assert_int_equal(job.policy.retries, 0);
    assert_int_equal(job.policy.retry_backoff_s, CHIME_RETRY_BACKOFF_DEFAULT_S);
    assert_int_equal(job.policy.overlap, CHIME_OVERLAP_SKIP);
    chime_job_release(&job);
    assert_int_equal(from_text("{" DIGEST ", " EVERY10M ", \"timeout\": 30, \"retries\": 3, "
                               "\"retry_backoff\": 2, \"retry_jitter\": 1, \"overlap\": \"skip\"}",
                               &job, NULL, &d),
                     0);
    assert_int_equal(job.policy.timeout_s, 30);
    assert_int_equal(job.policy.retries, 3);
    assert_int_equal(job.policy.retry_backoff_s, 2);
    assert_int_equal(job.policy.retry_jitter_s, 1);
    assert_int_equal(job.policy.overlap, CHIME_OVERLAP_SKIP);
    /* Backoff doubles per attempt; jitter adds up to retry_jitter. */
    assert_int_equal(chime_job_retry_delay_us(&job.policy, 2, 0.0), 2 * SEC);
    assert_int_equal(chime_job_retry_delay_us(&job.policy, 3, 0.0), 4 * SEC);
    assert_int_equal(chime_job_retry_delay_us(&job.policy, 4, 0.5), 8 * SEC + SEC / 2);
    assert_int_equal(chime_job_retry_delay_us(&job.policy, 60, 0.0), 86400 * SEC);
    json_t *view = chime_job_to_json(&job);
    assert_int_equal(json_integer_value(json_object_get(view, "timeout")), 30);
    assert_null(json_object_get(view, "overlap")); /* the default is left out */
    json_decref(view);
    chime_job_release(&job);
    /* Nulls: misfire_grace_time null is unlimited, next_run_time null starts paused. */
    assert_int_equal(from_text("{" DIGEST ", " EVERY10M ", \"name\": null, \"id\": null, "
                               "\"args\": null, \"kwargs\": null, \"misfire_grace_time\": null, "
                               "\"next_run_time\": null}",
                               &job, NULL, &d),
                     0);
    assert_int_equal(job.policy.grace_s, CHIME_GRACE_UNLIMITED);
    assert_int_equal(chime_job_grace_s(&job, &defaults), CHIME_GRACE_UNLIMITED);
    assert_true(job.paused);
    assert_int_equal(job.next_run, CHIME_UTIME_NONE);
    assert_int_equal(strlen(job.id), 32);
    chime_job_release(&job);
}

struct bad_case {
    const char *body;
    int rc;
    const char *field;   /* exact, or a prefix when it ends with '.' */
    const char *message; /* a fragment of the message, or NULL */
};

static const struct bad_case bad_cases[] = {
    { "[]", CHIME_EINVAL, "", "JSON object" },
    { "{" EVERY10M "}", CHIME_EINVAL, "func", "func is required" },
    { "{\"func\": 5, " EVERY10M "}", CHIME_EINVAL, "func", "string" },
    { "{\"func\": \"send_daily_digest\", " EVERY10M "}", CHIME_EINVAL, "func", "module:function" },
    { "{\"func\": \"app.nope:x\", " EVERY10M "}", CHIME_EFUNC, "func",
      "unknown module 'app.nope'" },
    { "{\"func\": \"app.jobs.registry:x\", " EVERY10M "}", CHIME_EFUNC, "func", "no function 'x'" },
    { "{" DIGEST "}", CHIME_EINVAL, "trigger", "trigger is required" },
    { "{" DIGEST ", \"trigger\": 3}", CHIME_EINVAL, "trigger", "string" },
    { "{" DIGEST ", \"trigger\": \"weekly\"}", CHIME_EINVAL, "trigger", "'weekly'" },
    { "{" DIGEST ", \"trigger\": \"interval\", \"trigger_args\": [1]}", CHIME_EINVAL,
      "trigger_args", "object" },
    { "{" DIGEST ", \"trigger\": \"interval\", \"trigger_args\": {\"minutes\": -1}}", CHIME_EINVAL,
      "trigger_args.", NULL },
    { "{" DIGEST ", " EVERY10M ", \"name\": \"\"}", CHIME_EINVAL, "name", "non-empty" },
    { "{" DIGEST ", " EVERY10M ", \"name\": 7}", CHIME_EINVAL, "name", "string" },
    { "{" DIGEST ", " EVERY10M ", \"id\": \"\"}", CHIME_EINVAL, "id", NULL },
    { "{" DIGEST ", " EVERY10M ", \"id\": \"a b\"}", CHIME_EINVAL, "id", NULL },
    { "{" DIGEST ", " EVERY10M ", \"id\": \"a/b\"}", CHIME_EINVAL, "id", NULL },
    { "{" DIGEST ", " EVERY10M ", \"id\": 12}", CHIME_EINVAL, "id", "string" },
    { "{" DIGEST ", " EVERY10M ", \"args\": {}}", CHIME_EINVAL, "args", "array" },
    { "{" DIGEST ", " EVERY10M ", \"args\": [\"a\", \"b\"]}", CHIME_EINVAL, "args", "positional" },
    { "{" DIGEST ", " EVERY10M ", \"args\": [1]}", CHIME_EINVAL, "args", "string" },
    { "{" DIGEST ", " EVERY10M ", \"kwargs\": []}", CHIME_EINVAL, "kwargs", "object" },
    { "{" DIGEST ", " EVERY10M ", \"kwargs\": {\"x\": 1}}", CHIME_EINVAL, "kwargs", "'x'" },
    { "{" DIGEST ", " EVERY10M ", \"jobstore\": \"other\"}", CHIME_EINVAL, "jobstore",
      "unknown jobstore 'other'" },
    { "{" DIGEST ", " EVERY10M ", \"jobstore\": 1}", CHIME_EINVAL, "jobstore", "string" },
    { "{" DIGEST ", " EVERY10M ", \"coalesce\": \"yes\"}", CHIME_EINVAL, "coalesce", NULL },
    { "{" DIGEST ", " EVERY10M ", \"coalesce\": 1}", CHIME_EINVAL, "coalesce", NULL },
    { "{" DIGEST ", " EVERY10M ", \"misfire_grace_time\": 0}", CHIME_EINVAL, "misfire_grace_time",
      "positive" },
    { "{" DIGEST ", " EVERY10M ", \"misfire_grace_time\": -5}", CHIME_EINVAL, "misfire_grace_time",
      NULL },
    { "{" DIGEST ", " EVERY10M ", \"misfire_grace_time\": 1.5}", CHIME_EINVAL, "misfire_grace_time",
      NULL },
    { "{" DIGEST ", " EVERY10M ", \"misfire_grace_time\": \"60\"}", CHIME_EINVAL,
      "misfire_grace_time", NULL },
    { "{" DIGEST ", " EVERY10M ", \"misfire_grace_time\": 99999999999}", CHIME_EINVAL,
      "misfire_grace_time", NULL },
    { "{" DIGEST ", " EVERY10M ", \"max_instances\": 0}", CHIME_EINVAL, "max_instances", ">= 1" },
    { "{" DIGEST ", " EVERY10M ", \"max_instances\": \"2\"}", CHIME_EINVAL, "max_instances", NULL },
    { "{" DIGEST ", " EVERY10M ", \"max_instances\": 2.0}", CHIME_EINVAL, "max_instances", NULL },
    { "{" DIGEST ", " EVERY10M ", \"timeout\": 0}", CHIME_EINVAL, "timeout", "from 1 to" },
    { "{" DIGEST ", " EVERY10M ", \"timeout\": 1.5}", CHIME_EINVAL, "timeout", NULL },
    { "{" DIGEST ", " EVERY10M ", \"timeout\": 99999999}", CHIME_EINVAL, "timeout", NULL },
    { "{" DIGEST ", " EVERY10M ", \"retries\": -1}", CHIME_EINVAL, "retries", "from 0 to 100" },
    { "{" DIGEST ", " EVERY10M ", \"retries\": \"2\"}", CHIME_EINVAL, "retries", NULL },
    { "{" DIGEST ", " EVERY10M ", \"retry_backoff\": -1}", CHIME_EINVAL, "retry_backoff", NULL },
    { "{" DIGEST ", " EVERY10M ", \"retry_jitter\": 86401}", CHIME_EINVAL, "retry_jitter", NULL },
    { "{" DIGEST ", " EVERY10M ", \"overlap\": \"kill\"}", CHIME_EINVAL, "overlap",
      "'skip', 'queue', 'replace'" },
    { "{" DIGEST ", " EVERY10M ", \"overlap\": 1}", CHIME_EINVAL, "overlap", NULL },
    { "{" DIGEST ", " EVERY10M ", \"next_run_time\": 5}", CHIME_EINVAL, "next_run_time", NULL },
    { "{" DIGEST ", " EVERY10M ", \"next_run_time\": \"soon\"}", CHIME_EINVAL, "next_run_time",
      NULL },
    { "{" DIGEST ", " EVERY10M ", \"replace_existing\": \"true\"}", CHIME_EINVAL,
      "replace_existing", NULL },
};

static void test_each_bad_field_is_named(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct chime_job job;
        struct chime_diag d;
        int rc = from_text(c->body, &job, NULL, &d);
        size_t flen = strlen(c->field);
        bool prefix = flen && c->field[flen - 1] == '.';
        if (rc != c->rc ||
            (prefix ? strncmp(d.field, c->field, flen) : strcmp(d.field, c->field)) ||
            (c->message && !strstr(d.message, c->message)))
            fail_msg("case %zu %s: rc %d field '%s' message '%s'", i, c->body, rc, d.field,
                     d.message);
        assert_true(d.message[0] != '\0');
    }
}

static void test_id_limits(void **state)
{
    (void)state;
    char body[512], id[200];
    struct chime_job job;
    struct chime_diag d;
    memset(id, 'a', sizeof(id));
    id[CHIME_JOB_ID_MAX] = '\0';
    snprintf(body, sizeof(body), "{" DIGEST ", " EVERY10M ", \"id\": \"%s\"}", id);
    assert_int_equal(from_text(body, &job, NULL, &d), 0);
    assert_string_equal(job.id, id);
    chime_job_release(&job);
    id[CHIME_JOB_ID_MAX] = 'a';
    id[CHIME_JOB_ID_MAX + 1] = '\0';
    snprintf(body, sizeof(body), "{" DIGEST ", " EVERY10M ", \"id\": \"%s\"}", id);
    assert_int_equal(from_text(body, &job, NULL, &d), CHIME_EINVAL);
    assert_string_equal(d.field, "id");
}

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_new_ids_are_hex_and_distinct(void **state)
{
    (void)state;
    enum { N = 2000 };
    static char ids[N][33];
    for (int i = 0; i < N; i++) {
        chime_job_new_id(ids[i]);
        assert_int_equal(strlen(ids[i]), 32);
        assert_int_equal(strspn(ids[i], "0123456789abcdef"), 32);
    }
    qsort(ids, N, sizeof(ids[0]), cmp_ids);
    for (int i = 1; i < N; i++)
        assert_true(strcmp(ids[i - 1], ids[i]) != 0);
}

static void test_to_json_api_form(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_diag d;
    assert_int_equal(from_text("{" DIGEST ", \"trigger\": \"interval\", \"trigger_args\": "
                               "{\"seconds\": 30}, \"id\": \"j1\", \"kwargs\": "
                               "{\"user_segment\": \"vip\"}, \"misfire_grace_time\": null}",
                               &job, NULL, &d),
                     0);
    json_t *j = chime_job_to_json(&job);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "j1");
    assert_string_equal(json_string_value(json_object_get(j, "name")), "send_daily_digest");
    assert_string_equal(json_string_value(json_object_get(j, "next_run_time")),
                        "2026-11-28T16:52:45.767717+00:00");
    assert_string_equal(json_string_value(json_object_get(j, "trigger")), "interval");
    assert_true(json_is_object(json_object_get(j, "trigger_args")));
    assert_string_equal(
            json_string_value(json_object_get(json_object_get(j, "kwargs"), "user_segment")),
            "vip");
    assert_true(json_is_array(json_object_get(j, "args")));
    assert_true(json_is_null(json_object_get(j, "misfire_grace_time")));
    assert_null(json_object_get(j, "coalesce")); /* left to the default */
    assert_false(json_is_true(json_object_get(j, "paused")));
    assert_null(json_object_get(j, "broken"));
    assert_string_equal(json_string_value(json_object_get(j, "created_at")),
                        "2026-11-28T16:52:15.767717+00:00");
    json_decref(j);
    job.paused = true;
    job.next_run = CHIME_UTIME_NONE;
    j = chime_job_to_json(&job);
    assert_true(json_is_null(json_object_get(j, "next_run_time")));
    assert_true(json_is_true(json_object_get(j, "paused")));
    json_decref(j);
    chime_job_release(&job);
}

static void test_next_run_time_in_trigger_zone(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_diag d;
    assert_int_equal(from_text("{" DIGEST ", \"trigger\": \"date\", \"trigger_args\": "
                               "{\"run_date\": \"2027-07-01T09:00:00\", \"timezone\": "
                               "\"Europe/Berlin\"}}",
                               &job, NULL, &d),
                     0);
    json_t *j = chime_job_to_json(&job);
    assert_string_equal(json_string_value(json_object_get(j, "next_run_time")),
                        "2027-07-01T09:00:00+02:00");
    json_decref(j);
    chime_job_release(&job);
}

/* to_stored -> from_stored gives back an equal job. */
static void round_trip(const char *body)
{
    struct chime_job job, back;
    struct chime_diag d;
    assert_int_equal(from_text(body, &job, NULL, &d), 0);
    job.version = 7;
    job.updated_at = NOW + 5 * SEC;
    json_t *stored = chime_job_to_stored(&job);
    assert_non_null(stored);
    char *text = json_dumps(stored, 0); /* what a store writes */
    json_decref(stored);
    stored = json_loads(text, 0, NULL);
    free(text);
    chime_diag_clear(&d);
    int rc = chime_job_from_stored(stored, &defaults, &back, &d);
    if (rc)
        fail_msg("from_stored: %s (%s)", d.message, d.field);
    assert_true(chime_job_equal(&job, &back));
    assert_int_equal(back.next_run, job.next_run);
    assert_int_equal(back.version, 7);
    /* The trigger plans the same future after the round trip. */
    assert_int_equal(chime_trigger_next_exact(back.trigger, job.next_run, NOW),
                     chime_trigger_next_exact(job.trigger, job.next_run, NOW));
    json_decref(stored);
    chime_job_release(&job);
    chime_job_release(&back);
}

static void test_stored_round_trip_is_lossless(void **state)
{
    (void)state;
    round_trip("{" DIGEST ", " EVERY10M "}");
    round_trip("{" DIGEST ", " EVERY10M ", \"id\": \"x\", \"name\": \"n\", \"args\": [\"vip\"], "
               "\"coalesce\": false, \"misfire_grace_time\": null, \"max_instances\": 4}");
    round_trip("{" DIGEST ", " EVERY10M ", \"timeout\": 30, \"retries\": 2, \"retry_backoff\": 0, "
               "\"retry_jitter\": 5, \"overlap\": \"skip\"}");
    round_trip("{" DIGEST ", " EVERY10M ", \"retry_backoff\": 10}");
    round_trip("{\"func\": \"chime:noop\", \"trigger\": \"interval\", \"trigger_args\": "
               "{\"seconds\": 1}, \"next_run_time\": null, \"misfire_grace_time\": 5}");
    round_trip("{\"func\": \"chime:fail\", \"kwargs\": {\"message\": \"m\"}, \"trigger\": "
               "\"date\", \"trigger_args\": {\"run_date\": \"2027-01-01T00:00:00+00:00\"}}");
}

static void test_cron_round_trip(void **state)
{
    (void)state;
    round_trip("{\"func\": \"app.jobs.registry:generate_weekly_report\", \"trigger\": \"cron\", "
               "\"trigger_args\": {\"day_of_week\": \"mon\", \"hour\": 9, \"timezone\": "
               "\"UTC\"}}");
}

static json_t *stored_of(const char *body)
{
    struct chime_job job;
    struct chime_diag d;
    assert_int_equal(from_text(body, &job, NULL, &d), 0);
    json_t *stored = chime_job_to_stored(&job);
    chime_job_release(&job);
    assert_non_null(stored);
    return stored;
}

static void test_unresolvable_func_loads_as_broken(void **state)
{
    (void)state;
    struct chime_job job;
    struct chime_diag d;
    json_t *stored = stored_of("{" DIGEST ", " EVERY10M ", \"id\": \"b1\"}");
    json_object_set_new(stored, "func", json_string("app.jobs.registry:removed_in_v2"));
    assert_int_equal(chime_job_from_stored(stored, &defaults, &job, &d), 0);
    assert_non_null(job.broken);
    assert_non_null(strstr(job.broken, "removed_in_v2"));
    assert_string_equal(job.id, "b1");
    assert_true(job.next_run != CHIME_UTIME_NONE);
    json_t *api = chime_job_to_json(&job);
    assert_string_equal(json_string_value(json_object_get(api, "broken")), job.broken);
    json_decref(api);
    chime_job_release(&job);
    /* Arguments the function no longer accepts: broken too. */
    json_object_set_new(stored, "func", json_string("app.jobs.registry:send_daily_digest"));
    json_object_set_new(stored, "kwargs", json_pack("{s:i}", "segment", 1));
    assert_int_equal(chime_job_from_stored(stored, &defaults, &job, &d), 0);
    assert_non_null(strstr(job.broken, "segment"));
    chime_job_release(&job);
    /* A stored broken flag is re-evaluated: the function resolves again. */
    json_object_set_new(stored, "kwargs", json_object());
    json_object_set_new(stored, "broken", json_string("old reason"));
    assert_int_equal(chime_job_from_stored(stored, &defaults, &job, &d), 0);
    assert_null(job.broken);
    chime_job_release(&job);
    json_decref(stored);
}

static void test_bad_stored_jobs_are_errors(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        const char *value; /* JSON */
        const char *field;
    } cases[] = {
        { "id", "null", "id" },
        { "id", "\"a b\"", "id" },
        { "name", "3", "name" },
        { "func", "null", "func" },
        { "args", "{}", "args" },
        { "kwargs", "[]", "kwargs" },
        { "trigger", "\"weekly\"", "trigger" },
        { "trigger_args", "{\"minutes\": \"x\"}", "trigger_args." },
        { "trigger_args", "[]", "trigger_args" },
        { "next_run_us", "\"soon\"", "next_run_us" },
        { "paused", "1", "paused" },
        { "version", "1.5", "version" },
        { "max_instances", "0", "max_instances" },
        { "retries", "-2", "retries" },
        { "overlap", "\"sometimes\"", "overlap" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct chime_job job;
        struct chime_diag d;
        json_t *stored = stored_of("{" DIGEST ", " EVERY10M "}");
        json_object_set_new(stored, cases[i].key,
                            json_loads(cases[i].value, JSON_DECODE_ANY, NULL));
        chime_diag_clear(&d);
        int rc = chime_job_from_stored(stored, &defaults, &job, &d);
        size_t flen = strlen(cases[i].field);
        if (rc == 0 || strncmp(d.field, cases[i].field, flen) != 0)
            fail_msg("case %zu (%s): rc %d field '%s' %s", i, cases[i].key, rc, d.field, d.message);
        assert_true(job_is_released(&job));
        json_decref(stored);
    }
    struct chime_job job;
    struct chime_diag d;
    json_t *arr = json_array();
    assert_int_equal(chime_job_from_stored(arr, &defaults, &job, &d), CHIME_EINVAL);
    json_decref(arr);
}

static void test_copy_is_deep_and_shares_trigger(void **state)
{
    (void)state;
    struct chime_job job, copy;
    struct chime_diag d;
    assert_int_equal(from_text("{" DIGEST ", " EVERY10M ", \"args\": [\"x\"]}", &job, NULL, &d), 0);
    job.broken = chime__strdup("why");
    assert_int_equal(chime_job_copy(&copy, &job), 0);
    assert_true(chime_job_equal(&job, &copy));
    assert_ptr_not_equal(copy.id, job.id);
    assert_ptr_equal(copy.trigger, job.trigger);
    copy.version++;
    assert_false(chime_job_equal(&job, &copy));
    chime_job_release(&copy);
    for (long n = 1;; n++) {
        chime_alloc_fail_after(n);
        int rc = chime_job_copy(&copy, &job);
        chime_alloc_fail_after(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, CHIME_ENOMEM);
        assert_true(job_is_released(&copy));
        assert_true(n < 20);
    }
    assert_true(chime_job_equal(&job, &copy));
    chime_job_release(&copy);
    chime_job_release(&job); /* the trigger survived the copies' releases */
}

static void test_allocation_failure_from_request_and_stored(void **state)
{
    (void)state;
    const char *body = "{" DIGEST ", \"trigger\": \"cron\", \"trigger_args\": {\"hour\": 3}, "
                       "\"args\": [\"vip\"], \"name\": \"n\"}";
    struct chime_job job;
    struct chime_diag d;
    long n;
    for (n = 1;; n++) {
        chime_alloc_fail_after(n);
        int rc = from_text(body, &job, NULL, &d);
        chime_alloc_fail_after(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, CHIME_ENOMEM);
        assert_true(n < 200);
    }
    assert_true(n > 1);
    json_t *stored = chime_job_to_stored(&job);
    for (n = 1;; n++) {
        struct chime_job back;
        chime_alloc_fail_after(n);
        int rc = chime_job_from_stored(stored, &defaults, &back, &d);
        chime_alloc_fail_after(0);
        if (rc == 0) {
            assert_true(chime_job_equal(&job, &back));
            chime_job_release(&back);
            break;
        }
        assert_int_equal(rc, CHIME_ENOMEM);
        assert_true(job_is_released(&back));
        assert_true(n < 200);
    }
    json_decref(stored);
    chime_job_release(&job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_request_gets_defaults),
        cmocka_unit_test(test_every_field_accepted),
        cmocka_unit_test(test_each_bad_field_is_named),
        cmocka_unit_test(test_id_limits),
        cmocka_unit_test(test_new_ids_are_hex_and_distinct),
        cmocka_unit_test(test_to_json_api_form),
        cmocka_unit_test(test_next_run_time_in_trigger_zone),
        cmocka_unit_test(test_stored_round_trip_is_lossless),
        cmocka_unit_test(test_cron_round_trip),
        cmocka_unit_test(test_unresolvable_func_loads_as_broken),
        cmocka_unit_test(test_bad_stored_jobs_are_errors),
        cmocka_unit_test(test_copy_is_deep_and_shares_trigger),
        cmocka_unit_test(test_allocation_failure_from_request_and_stored),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
