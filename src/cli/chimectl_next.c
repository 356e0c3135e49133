/*
 * `chimectl next`: the next fire times of trigger specs, computed offline by
 * libchime exactly as the scheduler would (f1 = next after now, f(k+1) = next
 * after f(k)), without jitter. Specs come as JSON lines on stdin
 * ({"trigger", "trigger_args", "now", "count"}) or as one spec from flags;
 * each answer is one JSON line: {"fires": [...]} or {"error", "field"}.
 */
#include "cli/chimectl.h"

#include "base/base.h"
#include "trigger/trigger.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_COUNT 5
#define MAX_COUNT     10000

struct spec {
    const char *kind;
    json_t *args;    /* borrowed */
    const char *now; /* NULL: the current time */
    long count;
};

static const struct chime_zone *default_zone(void)
{
    const struct chime_zone *zone = NULL;
    const char *name = getenv("SCHEDULER_TIMEZONE");
    if (name && *name && chime_zone_find(name, &zone) == 0)
        return zone;
    return chime_zone_local();
}

static chime_utime wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (chime_utime)ts.tv_sec * CHIME_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static json_t *error_reply(const struct chime_diag *diag)
{
    return json_pack("{s:s, s:s}", "error", diag->message, "field", diag->field);
}

/* Computes the answer to one spec: {"fires": [...]} or {"error": ..., "field": ...}. */
static json_t *spec_answer(const struct spec *s)
{
    struct chime_diag diag;
    struct chime_trigger *trig = NULL;
    const struct chime_zone *zone = default_zone();
    chime_utime now = wall_now();
    chime_diag_clear(&diag);
    if (s->now && chime_time_parse(s->now, zone, "now", &now, NULL, &diag) != 0)
        return error_reply(&diag);
    if (s->count < 0 || s->count > MAX_COUNT) {
        chime_diag_set(&diag, CHIME_EINVAL, "count", "count must be between 0 and %d.", MAX_COUNT);
        return error_reply(&diag);
    }
    if (chime_trigger_parse(s->kind, s->args, zone, now, &trig, &diag) != 0)
        return error_reply(&diag);
    json_t *fires = json_array();
    chime_utime t = chime_trigger_next_exact(trig, CHIME_UTIME_NONE, now);
    for (long i = 0; fires && i < s->count && t != CHIME_UTIME_NONE; i++) {
        char buf[CHIME_TIME_FORMAT_MAX];
        json_array_append_new(fires,
                              json_string(chime_time_format(t, chime_trigger_zone(trig), buf)));
        t = chime_trigger_next_exact(trig, t, t);
    }
    chime_trigger_unref(trig);
    return json_pack("{s:o*}", "fires", fires);
}

static void print_answer(json_t *answer)
{
    char *text = answer ? json_dumps(answer, JSON_PRESERVE_ORDER) : NULL;
    puts(text ? text : "{\"error\": \"out of memory\", \"field\": \"\"}");
    free(text);
    json_decref(answer);
}

static json_t *line_error(long lineno, const char *field, const char *what)
{
    struct chime_diag diag;
    chime_diag_set(&diag, CHIME_EINVAL, field, "line %ld: %s", lineno, what);
    return error_reply(&diag);
}

/* One JSON line of stdin to its answer. */
static json_t *line_answer(const char *line, long lineno)
{
    json_error_t err;
    json_t *obj = json_loads(line, 0, &err), *answer;
    if (!json_is_object(obj)) {
        answer = line_error(lineno, "", obj ? "not a JSON object." : err.text);
        goto out_obj;
    }
    json_t *kind = json_object_get(obj, "trigger"), *now = json_object_get(obj, "now");
    json_t *count = json_object_get(obj, "count");
    struct spec s = { json_string_value(kind), json_object_get(obj, "trigger_args"),
                      json_string_value(now), DEFAULT_COUNT };
    if (kind && !json_is_string(kind))
        answer = line_error(lineno, "trigger", "trigger must be a string.");
    else if (now && !json_is_null(now) && !json_is_string(now))
        answer = line_error(lineno, "now", "now must be an RFC 3339 string.");
    else if (count && !json_is_null(count) && !json_is_integer(count))
        answer = line_error(lineno, "count", "count must be an integer.");
    else {
        if (count && json_is_integer(count))
            s.count = (long)json_integer_value(count);
        answer = spec_answer(&s);
    }
out_obj:
    json_decref(obj);
    return answer;
}

static int run_stdin(void)
{
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)n)
            continue;
        print_answer(line_answer(line, lineno));
        fflush(stdout);
    }
    free(line);
    return ferror(stdin) ? 1 : 0;
}

static void next_usage(FILE *out)
{
    fprintf(out,
            "usage: chimectl next [--trigger KIND --args JSON [--now T] [--count N]]\n"
            "\n"
            "Prints the next fire times of a trigger, offline. With --trigger, one spec\n"
            "from the flags; without, JSON lines on stdin, one answer line each:\n"
            "  {\"trigger\": \"cron\", \"trigger_args\": {...}, \"now\": \"RFC 3339\", \"count\": "
            "N}\n"
            "  -> {\"fires\": [\"RFC 3339\", ...]} or {\"error\": \"...\", \"field\": \"...\"}\n"
            "now defaults to the current time, count to %d; zone-less times are read in\n"
            "SCHEDULER_TIMEZONE, else the host's zone.\n",
            DEFAULT_COUNT);
}

static int parse_count(const char *text, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 0 || v > MAX_COUNT)
        return -1;
    *out = v;
    return 0;
}

static int run_flags(struct spec *s, const char *args_text)
{
    json_error_t err;
    s->args = NULL;
    if (args_text) {
        s->args = json_loads(args_text, 0, &err);
        if (!json_is_object(s->args)) {
            fprintf(stderr, "chimectl next: --args must be a JSON object: %s\n",
                    s->args ? "not an object" : err.text);
            json_decref(s->args);
            return 2;
        }
    }
    json_t *answer = spec_answer(s);
    int status = json_object_get(answer, "error") ? 1 : 0;
    if (status)
        fprintf(stderr, "chimectl next: %s\n", json_string_value(json_object_get(answer, "error")));
    print_answer(answer);
    json_decref(s->args);
    return status;
}

int chimectl_next(int argc, char **argv)
{
    static const struct option options[] = {
        { "trigger", required_argument, NULL, 't' }, { "args", required_argument, NULL, 'a' },
        { "now", required_argument, NULL, 'n' },     { "count", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
    };
    struct spec s = { NULL, NULL, NULL, DEFAULT_COUNT };
    const char *args_text = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "t:a:n:c:h", options, NULL)) != -1) {
        switch (opt) {
        case 't':
            s.kind = optarg;
            break;
        case 'a':
            args_text = optarg;
            break;
        case 'n':
            s.now = optarg;
            break;
        case 'c':
            if (parse_count(optarg, &s.count) != 0) {
                fprintf(stderr, "chimectl next: --count must be an integer 0..%d, not \"%s\"\n",
                        MAX_COUNT, optarg);
                return 2;
            }
            break;
        case 'h':
            next_usage(stdout);
            return 0;
        default:
            next_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "chimectl next: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (!s.kind && (args_text || s.now)) {
        fprintf(stderr, "chimectl next: --args and --now need --trigger\n");
        return 2;
    }
    return s.kind ? run_flags(&s, args_text) : run_stdin();
}
