/*
 * Human output of `chimectl jobs`: aligned tables of jobs and runs, "key:
 * value" views of one job, and error details (a string, or FastAPI's 422
 * list of {loc, msg}) turned into `chimectl: <status>: ...` lines.
 */
#include "cli/chimectl_jobs.h"

#include "base/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERROR_CELL_MAX   80
#define TRIGGER_CELL_MAX 60

void chimectl_str_addf(struct chimectl_str *str, const char *fmt, ...)
{
    va_list ap;
    if (str->failed)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || chime__grow((void **)&str->s, &str->cap, str->len + (size_t)n + 1, 1) != 0) {
        str->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(str->s + str->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    str->len += (size_t)n;
}

void chimectl_str_add_query(struct chimectl_str *str, const char *key, const char *value)
{
    char *escaped = chimectl_http_escape(value);
    if (!escaped) {
        str->failed = true;
        return;
    }
    bool first = !str->s || !strchr(str->s, '?');
    chimectl_str_addf(str, "%c%s=%s", first ? '?' : '&', key, escaped);
    chime__free(escaped);
}

void chimectl_str_release(struct chimectl_str *str)
{
    chime__free(str->s);
    memset(str, 0, sizeof(*str));
}

void chimectl_table_init(struct chimectl_table *t, const char *const *headers, size_t n_cols)
{
    memset(t, 0, sizeof(*t));
    t->headers = headers;
    t->n_cols = n_cols;
}

void chimectl_table_add(struct chimectl_table *t, const char *const *cells)
{
    if (t->failed)
        return;
    size_t base = t->n_rows * t->n_cols;
    if (chime__grow((void **)&t->cells, &t->cap, base + t->n_cols, sizeof(char *)) != 0) {
        t->failed = true;
        return;
    }
    for (size_t c = 0; c < t->n_cols; c++) {
        t->cells[base + c] = chime__strdup(cells[c] ? cells[c] : "-");
        if (!t->cells[base + c])
            t->failed = true;
    }
    t->n_rows++;
}

/* Display width of UTF-8 text: code points, not bytes. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void print_row(const struct chimectl_table *t, const char *const *cells, const size_t *w)
{
    for (size_t c = 0; c < t->n_cols; c++) {
        const char *cell = cells[c] ? cells[c] : "-";
        if (c + 1 == t->n_cols)
            printf("%s\n", cell);
        else
            printf("%s%*s", cell, (int)(w[c] - text_width(cell) + 2), "");
    }
}

int chimectl_table_print(const struct chimectl_table *t)
{
    size_t w[16] = { 0 };
    if (t->failed || t->n_cols > 16) {
        fprintf(stderr, "chimectl: out of memory\n");
        return -1;
    }
    for (size_t c = 0; c < t->n_cols; c++)
        w[c] = text_width(t->headers[c]);
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++) {
        size_t cw = text_width(t->cells[i]);
        if (cw > w[i % t->n_cols])
            w[i % t->n_cols] = cw;
    }
    print_row(t, (const char *const *)t->headers, w);
    for (size_t r = 0; r < t->n_rows; r++)
        print_row(t, (const char *const *)t->cells + r * t->n_cols, w);
    return 0;
}

void chimectl_table_release(struct chimectl_table *t)
{
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        chime__free(t->cells[i]);
    chime__free(t->cells);
    memset(t, 0, sizeof(*t));
}

/* A JSON value as cell text: strings bare, null as NULL ("-"), others compact JSON. */
static char *value_text(const json_t *v)
{
    if (!v || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return chime__strdup(json_string_value(v));
    char *dumped = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *copy = chime__strdup(dumped);
    free(dumped); /* jansson's allocation */
    return copy;
}

/*
 * Arguments the TRIGGER column leaves out: the server fills them in (the zone,
 * an interval's start), NEXT RUN already shows the zone's offset, and `get`
 * shows them all.
 */
static bool trigger_arg_hidden(const char *key)
{
    return strcmp(key, "timezone") == 0 || strcmp(key, "start_date") == 0;
}

/* "cron[minute=*\/5, hour=3]": the trigger kind and its arguments, cut at TRIGGER_CELL_MAX. */
static char *trigger_text(const json_t *job)
{
    struct chimectl_str str = { 0 };
    const char *kind = json_string_value(json_object_get(job, "trigger"));
    const char *key, *sep = "[";
    json_t *value, *args = json_object_get(job, "trigger_args");
    chimectl_str_addf(&str, "%s", kind ? kind : "?");
    json_object_foreach (args, key, value) {
        if (trigger_arg_hidden(key))
            continue;
        char *text = value_text(value);
        chimectl_str_addf(&str, "%s%s=%s", sep, key, text ? text : "null");
        chime__free(text);
        sep = ", ";
    }
    if (*sep == ',')
        chimectl_str_addf(&str, "]");
    if (!str.failed && str.len > TRIGGER_CELL_MAX) {
        memcpy(str.s + TRIGGER_CELL_MAX - 4, "...]", 5);
        str.len = TRIGGER_CELL_MAX;
    }
    if (str.failed)
        chimectl_str_release(&str);
    return str.s;
}

static const char *job_state(const json_t *job)
{
    const json_t *broken = json_object_get(job, "broken");
    if (broken && !json_is_null(broken) && !json_is_false(broken))
        return "broken";
    return json_is_true(json_object_get(job, "paused")) ? "paused" : "scheduled";
}

void chimectl_job_row(struct chimectl_table *t, const json_t *job)
{
    char *cells[5] = {
        value_text(json_object_get(job, "id")),
        value_text(json_object_get(job, "name")),
        value_text(json_object_get(job, "next_run_time")),
        trigger_text(job),
        chime__strdup(job_state(job)),
    };
    chimectl_table_add(t, (const char *const *)cells);
    for (size_t i = 0; i < 5; i++)
        chime__free(cells[i]);
}

/* Milliseconds as "850ms", "12.3s", "5m03s" or "2h05m"; NULL for null. */
static char *ms_text(const json_t *v)
{
    char buf[48];
    if (!json_is_number(v))
        return NULL;
    double ms = json_number_value(v);
    long long s = (long long)(ms / 1000);
    if (ms < 1000 && ms > -1000)
        snprintf(buf, sizeof(buf), "%.0fms", ms);
    else if (ms < 60000 && ms > -60000)
        snprintf(buf, sizeof(buf), "%.1fs", ms / 1000);
    else if (s < 3600)
        snprintf(buf, sizeof(buf), "%lldm%02llds", s / 60, s % 60);
    else
        snprintf(buf, sizeof(buf), "%lldh%02lldm", s / 3600, s / 60 % 60);
    return chime__strdup(buf);
}

/* The first line of an error message, cut at ERROR_CELL_MAX bytes. */
static char *error_text(const json_t *v)
{
    const char *s = json_string_value(v);
    if (!s || !*s)
        return NULL;
    size_t n = strcspn(s, "\r\n");
    bool cut = n > ERROR_CELL_MAX || s[n] != '\0';
    if (n > ERROR_CELL_MAX)
        n = ERROR_CELL_MAX - 3;
    char *text = chime__malloc(n + 4);
    if (text)
        snprintf(text, n + 4, "%.*s%s", (int)n, s, cut ? "..." : "");
    return text;
}

/* What the target answered: "exit 3" (chime:exec), "HTTP 503" (chime:http); NULL. */
static char *result_text(const json_t *run)
{
    char buf[40];
    const json_t *exit_code = json_object_get(run, "exit_code");
    const json_t *http_status = json_object_get(run, "http_status");
    if (json_is_integer(exit_code))
        snprintf(buf, sizeof(buf), "exit %lld", (long long)json_integer_value(exit_code));
    else if (json_is_integer(http_status))
        snprintf(buf, sizeof(buf), "HTTP %lld", (long long)json_integer_value(http_status));
    else
        return NULL;
    return chime__strdup(buf);
}

void chimectl_run_row(struct chimectl_table *t, const json_t *run)
{
    char *cells[CHIMECTL_RUN_COLUMNS] = {
        value_text(json_object_get(run, "id")),
        value_text(json_object_get(run, "job_id")),
        value_text(json_object_get(run, "scheduled_time")),
        value_text(json_object_get(run, "attempt")),
        value_text(json_object_get(run, "status")),
        result_text(run),
        ms_text(json_object_get(run, "lateness_ms")),
        ms_text(json_object_get(run, "duration_ms")),
        error_text(json_object_get(run, "error")),
    };
    chimectl_table_add(t, (const char *const *)cells);
    for (size_t i = 0; i < CHIMECTL_RUN_COLUMNS; i++)
        chime__free(cells[i]);
}

void chimectl_print_fields(const json_t *obj)
{
    const char *key;
    json_t *value;
    size_t width = 0;
    json_object_foreach ((json_t *)obj, key, value) {
        if (strlen(key) > width)
            width = strlen(key);
    }
    json_object_foreach ((json_t *)obj, key, value) {
        char *text = value_text(value);
        printf("%s:%*s%s\n", key, (int)(width - strlen(key) + 1), "", text ? text : "-");
        chime__free(text);
    }
}

/* One 422 item: "body.trigger_args: value is not a valid dict". */
static void print_detail_item(long status, const json_t *item)
{
    struct chimectl_str loc = { 0 };
    size_t i;
    json_t *part;
    json_array_foreach (json_object_get(item, "loc"), i, part) {
        char *text = value_text(part);
        chimectl_str_addf(&loc, "%s%s", i ? "." : "", text ? text : "null");
        chime__free(text);
    }
    const char *msg = json_string_value(json_object_get(item, "msg"));
    if (loc.s && !loc.failed)
        fprintf(stderr, "chimectl: %ld: %s: %s\n", status, loc.s, msg ? msg : "invalid");
    else
        fprintf(stderr, "chimectl: %ld: %s\n", status, msg ? msg : "invalid");
    chimectl_str_release(&loc);
}

static void print_detail(long status, const json_t *detail, const char *body)
{
    size_t i;
    json_t *item;
    if (json_is_string(detail)) {
        fprintf(stderr, "chimectl: %ld: %s\n", status, json_string_value(detail));
    } else if (json_is_array(detail) && json_array_size(detail) > 0) {
        json_array_foreach ((json_t *)detail, i, item) {
            print_detail_item(status, item);
        }
    } else if (detail) {
        char *text = value_text(detail);
        fprintf(stderr, "chimectl: %ld: %s\n", status, text ? text : "(no detail)");
        chime__free(text);
    } else {
        int n = (int)strcspn(body, "\r\n");
        fprintf(stderr, "chimectl: %ld: %.*s\n", status, n > 200 ? 200 : n,
                n ? body : "(empty reply)");
    }
}

void chimectl_print_http_error(const struct chimectl_reply *reply, bool has_token)
{
    json_t *root = json_loadb(reply->body, reply->len, 0, NULL);
    print_detail(reply->status, json_object_get(root, "detail"), reply->body);
    if (reply->status == 401 && !has_token)
        fprintf(stderr, "chimectl: the server needs a token: set CHIME_API_TOKEN\n");
    json_decref(root);
}

void chimectl_print_verbatim(const struct chimectl_reply *reply)
{
    fwrite(reply->body, 1, reply->len, stdout);
    if (reply->len == 0 || reply->body[reply->len - 1] != '\n')
        putchar('\n');
}
