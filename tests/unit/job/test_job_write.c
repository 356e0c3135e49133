/*
 * Unit tests of chime_job_write_json: over hundreds of jobs mixing every
 * trigger kind (and none), paused and broken jobs, client and generated ids,
 * names with quotes, backslashes, control characters and UTF-8, nested
 * args/kwargs and every policy spelling, its text must equal
 * json_dumps(chime_job_to_json(job), JSON_COMPACT) byte for byte. Also: the
 * text appends after what the buffer holds, allocation failure leaves the
 * buffer as it was, and the trigger's cached args text is made once.
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
#include "job/job_internal.h"
#include "time/tz.h"

#define NOW    1795884735767717LL /* 2026-11-28T16:52:15.767717Z */
#define N_JOBS 600

static const char *const names[] = {
    "plain",
    "quote\" and back\\slash",
    "ctl \x01\x02\x1f del\x7f",
    "tab\tnl\nret\rbs\bff\f",
    ("\xc3\xbcn\xc3\xaf c\xc3\xb8"
     "d\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"), /* "d" split off the \xb8 escape */
    "sl/ash </script>",
    "\x1b[31m escape",
};
static const char *const ids[] = { NULL, "client.id:1-A_b", "x" };
static const char *const args[] = {
    NULL,
    "[]",
    "[1,2.5,\"x\",null,true,false]",
    "[ {\"a\" : [1, {\"b\": \"\\u0001\\\"q\\\\\"}]}, -0.0, 1e300, 12345678901234 ]",
    "[\"\\u00e9\\ud83d\\ude00\", [], {}]",
};
static const char *const kwargs[] = {
    NULL,
    "{}",
    "{\"to\":\"ops@example.com\",\"n\":3}",
    "{ \"z\": 1, \"a\": {\"nested\": [true, null, 0.1]}, \"\\t\": \"tab key\" }",
};
static const struct {
    const char *kind, *args;
} triggers[] = {
    { NULL, NULL },
    { "interval", "{\"minutes\": 10}" },
    { "interval", "{\"hours\": 2, \"start_date\": \"2026-01-01T00:00:00+01:00\", \"jitter\": 5, "
                  "\"timezone\": \"Europe/Berlin\"}" },
    { "cron", "{\"hour\": \"3\", \"minute\": \"0,30\", \"day_of_week\": \"mon-fri\"}" },
    { "cron", "{\"crontab\": \"*/5 * * * *\", \"timezone\": \"America/New_York\"}" },
    { "date", "{\"run_date\": \"2027-03-01T12:00:00.5+05:30\"}" },
};
static const struct chime_job_policy policies[] = {
    { -1, CHIME_GRACE_DEFAULT, -1, 0, 0, CHIME_RETRY_BACKOFF_DEFAULT_S, 0, CHIME_OVERLAP_SKIP },
    { 1, CHIME_GRACE_UNLIMITED, 3, 30, 2, 5, 3, CHIME_OVERLAP_QUEUE },
    { 0, 120, -1, 0, 1, 0, 0, CHIME_OVERLAP_REPLACE },
    { -1, 1, 1, 3600, 0, CHIME_RETRY_BACKOFF_DEFAULT_S, 0, CHIME_OVERLAP_SKIP },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int setup(void **state)
{
    (void)state;
    chime__log_set_level(CHIME_LOG_OFF);
    return 0;
}

/* args/kwargs text as the job model stores it (jansson's compact dump). */
static char *stored_text(const char *text, const char *empty)
{
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    if (text && !v)
        fail_msg("bad test JSON %s", text);
    char *s = chime__json_text(v, empty);
    json_decref(v);
    assert_non_null(s);
    return s;
}

static struct chime_trigger *make_trigger(size_t i)
{
    struct chime_trigger *t = NULL;
    struct chime_diag d;
    if (!triggers[i].kind)
        return NULL;
    json_t *a = json_loads(triggers[i].args, 0, NULL);
    assert_non_null(a);
    int rc = chime_trigger_parse(triggers[i].kind, a, chime_zone_utc(), NOW, &t, &d);
    json_decref(a);
    if (rc)
        fail_msg("trigger %zu: %s", i, d.message);
    return t;
}

/* Job number i of the mix (the list sizes are coprime-ish: many combinations). */
static void make_job(size_t i, struct chime_job *job)
{
    char gen[33];
    chime_job_new_id(gen);
    chime_job_init(job);
    const char *id = ids[i % COUNT(ids)];
    job->id = chime__strdup(id ? id : gen);
    job->name = chime__strdup(names[i % COUNT(names)]);
    job->func = chime__strdup(i % 5 ? "app.jobs.registry:send_daily_digest" : "mod\"x:f\\n");
    job->args = stored_text(args[i % COUNT(args)], "[]");
    job->kwargs = stored_text(kwargs[i % COUNT(kwargs)], "{}");
    job->jobstore = i % 11 ? chime__strdup("default") : NULL;
    job->trigger = make_trigger(i % COUNT(triggers));
    job->policy = policies[i % COUNT(policies)];
    job->paused = i % 3 == 1;
    job->next_run = i % 7 == 0 ? CHIME_UTIME_NONE : NOW + (int64_t)i * 1234567;
    if (i % 13 == 5) /* whole seconds: no fraction written */
        job->next_run = (NOW / CHIME_USEC_PER_SEC + (int64_t)i) * CHIME_USEC_PER_SEC;
    if (i % 17 == 3) /* 1850: local mean time, offsets with seconds (+00:53:28 in Berlin) */
        job->next_run = -3786825600LL * CHIME_USEC_PER_SEC + (int64_t)i * 1000001;
    job->broken = i % 4 == 2 ? chime__strdup("no function \"gone\"\n(removed)") : NULL;
    job->version = (int64_t)i;
    job->created_at = NOW - (int64_t)i;
    job->updated_at = i % 9 ? NOW + (int64_t)i * 17 : CHIME_UTIME_NONE;
}

static char *jansson_text(const struct chime_job *job)
{
    json_t *o = chime_job_to_json(job);
    assert_non_null(o);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_non_null(s);
    return s;
}

static void test_same_bytes_as_jansson(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_JOBS; i++) {
        struct chime_job job;
        struct chime_text t = { 0 };
        make_job(i, &job);
        char *want = jansson_text(&job);
        assert_int_equal(chime_job_write_json(&job, &t), 0);
        if (strcmp(t.data, want) != 0)
            fail_msg("job %zu:\n want %s\n got  %s", i, want, t.data);
        assert_int_equal(t.len, strlen(want));
        free(want);
        chime_text_free(&t);
        chime_job_release(&job);
    }
}

static void test_appends_after_existing_text(void **state)
{
    (void)state;
    struct chime_job a, b;
    struct chime_text t = { 0 };
    make_job(3, &a);
    make_job(8, &b);
    char *wa = jansson_text(&a), *wb = jansson_text(&b);
    assert_int_equal(chime_text_append(&t, "[", 1), 0);
    assert_int_equal(chime_job_write_json(&a, &t), 0);
    assert_int_equal(chime_text_append(&t, ",", 1), 0);
    assert_int_equal(chime_job_write_json(&b, &t), 0);
    size_t na = strlen(wa);
    assert_int_equal(t.len, 1 + na + 1 + strlen(wb));
    assert_memory_equal(t.data + 1, wa, na);
    assert_string_equal(t.data + 2 + na, wb);
    free(wa);
    free(wb);
    chime_text_free(&t);
    assert_null(t.data);
    chime_job_release(&a);
    chime_job_release(&b);
}

/* Every allocation failing in turn: CHIME_ENOMEM and the text unchanged. */
static void test_alloc_failure_leaves_text(void **state)
{
    (void)state;
    bool succeeded = false;
    for (long n = 1; n < 64 && !succeeded; n++) {
        struct chime_job job;
        struct chime_text t = { 0 };
        make_job(4, &job); /* a cron trigger: its args text is made lazily */
        assert_int_equal(chime_text_append(&t, "[", 1), 0);
        chime_alloc_fail_after(n);
        int rc = chime_job_write_json(&job, &t);
        chime_alloc_fail_after(0);
        if (rc == 0) {
            succeeded = true;
            char *want = jansson_text(&job);
            assert_string_equal(t.data + 1, want);
            free(want);
        } else {
            assert_int_equal(rc, CHIME_ENOMEM);
            assert_int_equal(t.len, 1);
            assert_string_equal(t.data, "[");
        }
        chime_text_free(&t);
        chime_job_release(&job);
    }
    assert_true(succeeded);
}

static void test_trigger_args_text_cached(void **state)
{
    (void)state;
    for (size_t i = 1; i < COUNT(triggers); i++) {
        struct chime_trigger *t = make_trigger(i);
        const char *text = chime_trigger_args_text(t);
        assert_non_null(text);
        json_t *a = chime_trigger_args_json(t);
        char *want = json_dumps(a, JSON_COMPACT);
        assert_string_equal(text, want);
        assert_ptr_equal(chime_trigger_args_text(t), text); /* made once */
        free(want);
        json_decref(a);
        chime_trigger_unref(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_as_jansson),
        cmocka_unit_test(test_appends_after_existing_text),
        cmocka_unit_test(test_alloc_failure_leaves_text),
        cmocka_unit_test(test_trigger_args_text_cached),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
