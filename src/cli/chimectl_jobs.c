/*
 * `chimectl jobs`: manage the jobs of a running chimed over its REST API
 * (list, get, add, pause, resume, delete, run, runs, preview). Options may
 * come before `jobs` (--url, --json, see chimectl_global) or anywhere after
 * it; one table says which options each action takes. Exit status: 0 done,
 * 1 the server refused or could not be reached, 2 a usage error.
 */
#include "cli/chimectl_jobs.h"
#include "cli/chimectl.h"

#include "base/base.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PAGE "500"

enum opt {
    O_URL,
    O_JSON,
    O_FUNC,
    O_TRIGGER,
    O_ARGS,
    O_NAME,
    O_ID,
    O_KWARGS,
    O_JOB_ARGS,
    O_REPLACE,
    O_BODY,
    O_STATUS,
    O_LIMIT,
    O_CURSOR,
    O_COUNT,
    O_AFTER,
    O_HELP,
    O_COUNT_OF
};

#define BIT(o) (1u << (o))
#define COMMON (BIT(O_URL) | BIT(O_JSON) | BIT(O_HELP))
#define ADD_OPTS                                                                            \
    (BIT(O_FUNC) | BIT(O_TRIGGER) | BIT(O_ARGS) | BIT(O_NAME) | BIT(O_ID) | BIT(O_KWARGS) | \
     BIT(O_JOB_ARGS) | BIT(O_REPLACE) | BIT(O_BODY))
#define RUNS_OPTS (BIT(O_STATUS) | BIT(O_LIMIT) | BIT(O_CURSOR))

static const struct option long_options[] = {
    { "url", required_argument, NULL, O_URL },
    { "json", no_argument, NULL, O_JSON },
    { "func", required_argument, NULL, O_FUNC },
    { "trigger", required_argument, NULL, O_TRIGGER },
    { "args", required_argument, NULL, O_ARGS },
    { "name", required_argument, NULL, O_NAME },
    { "id", required_argument, NULL, O_ID },
    { "kwargs", required_argument, NULL, O_KWARGS },
    { "job-args", required_argument, NULL, O_JOB_ARGS },
    { "replace", no_argument, NULL, O_REPLACE },
    { "body", required_argument, NULL, O_BODY },
    { "status", required_argument, NULL, O_STATUS },
    { "limit", required_argument, NULL, O_LIMIT },
    { "cursor", required_argument, NULL, O_CURSOR },
    { "count", required_argument, NULL, O_COUNT },
    { "after", required_argument, NULL, O_AFTER },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 },
};

struct jobs {
    const char *opt[O_COUNT_OF]; /* option values ("" for flags), NULL when absent */
    unsigned given;              /* BIT(o) for every option given */
    const char *action;
    const char *id; /* the positional job id, or NULL */
    const char *token;
    struct chimectl_http http;
};

static int do_list(struct jobs *j);
static int do_get(struct jobs *j);
static int do_add(struct jobs *j);
static int do_pause(struct jobs *j);
static int do_resume(struct jobs *j);
static int do_delete(struct jobs *j);
static int do_run(struct jobs *j);
static int do_runs(struct jobs *j);
static int do_preview(struct jobs *j);

enum id_rule { NO_ID, NEEDS_ID, MAY_ID };

static const struct action {
    const char *name;
    enum id_rule id;
    unsigned options;
    int (*run)(struct jobs *j);
    const char *usage;
} actions[] = {
    { "list", NO_ID, 0, do_list, "list" },
    { "get", NEEDS_ID, 0, do_get, "get ID" },
    { "add", NO_ID, ADD_OPTS, do_add,
      "add --func F --trigger T [--args JSON] [--name N] [--id I] [--kwargs JSON]\n"
      "           [--job-args JSON] [--replace] | add --body JSON" },
    { "pause", NEEDS_ID, 0, do_pause, "pause ID" },
    { "resume", NEEDS_ID, 0, do_resume, "resume ID" },
    { "delete", NEEDS_ID, 0, do_delete, "delete ID" },
    { "run", NEEDS_ID, 0, do_run, "run ID" },
    { "runs", MAY_ID, RUNS_OPTS, do_runs, "runs [ID] [--status S] [--limit N] [--cursor C]" },
    { "preview", NEEDS_ID, BIT(O_COUNT) | BIT(O_AFTER), do_preview,
      "preview ID [--count N] [--after RFC3339]" },
};

#define N_ACTIONS (sizeof(actions) / sizeof(actions[0]))

static void jobs_usage(FILE *out)
{
    fprintf(out, "usage: chimectl [--url URL] [--json] jobs <action>\n\nactions:\n");
    for (size_t i = 0; i < N_ACTIONS; i++)
        fprintf(out, "  jobs %s\n", actions[i].usage);
    fprintf(out,
            "\n--url URL   the chimed server (default $CHIME_URL, else %s)\n"
            "--json      print the server's JSON as received\n"
            "The token for a server started with CHIME_API_TOKEN is read from the\n"
            "environment variable CHIME_API_TOKEN. See docs/cli.md.\n",
            CHIMECTL_DEFAULT_URL);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "chimectl jobs: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    jobs_usage(stderr);
    return 2;
}

/* Reads options (anywhere, GNU getopt permutes) and the positional action and id. */
static int parse_args(struct jobs *j, int argc, char **argv)
{
    int opt;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        if (opt == 'h')
            opt = O_HELP;
        if (opt == '?')
            return usage_error("unknown option \"%s\"", argv[optind - 1]);
        if (opt == ':')
            return usage_error("option \"%s\" needs a value", argv[optind - 1]);
        j->opt[opt] = optarg ? optarg : "";
        j->given |= BIT(opt);
    }
    return 0;
}

static const struct action *action_find(const char *name)
{
    for (size_t i = 0; i < N_ACTIONS; i++)
        if (strcmp(actions[i].name, name) == 0)
            return &actions[i];
    return NULL;
}

/* Checks the positional arguments and options against the action's row. */
static int check_args(struct jobs *j, const struct action *a, int n_pos, char **pos)
{
    if (a->id == NEEDS_ID && n_pos < 1)
        return usage_error("jobs %s needs a job ID", a->name);
    if (n_pos > (a->id == NO_ID ? 0 : 1))
        return usage_error("unexpected argument \"%s\"", pos[a->id == NO_ID ? 0 : 1]);
    j->id = n_pos > 0 ? pos[0] : NULL;
    if (j->id && !*j->id)
        return usage_error("%s: the job ID is empty", a->name);
    unsigned extra = j->given & ~(COMMON | a->options);
    for (int o = 0; o < O_COUNT_OF; o++)
        if (extra & BIT(o))
            return usage_error("this action does not take --%s", long_options[o].name);
    return 0;
}

static const char *server_url(const struct jobs *j)
{
    const char *env = getenv("CHIME_URL");
    if (j->opt[O_URL])
        return j->opt[O_URL];
    return env && *env ? env : CHIMECTL_DEFAULT_URL;
}

int chimectl_jobs(int argc, char **argv)
{
    struct jobs j = { 0 };
    int status = parse_args(&j, argc, argv);
    if (status != 0)
        return status;
    if (j.given & BIT(O_HELP)) {
        jobs_usage(stdout);
        return 0;
    }
    if (optind >= argc)
        return usage_error("%s", "missing action");
    const struct action *a = action_find(argv[optind]);
    if (!a)
        return usage_error("unknown action \"%s\"", argv[optind]);
    status = check_args(&j, a, argc - optind - 1, argv + optind + 1);
    if (status != 0)
        return status;
    if (!*server_url(&j))
        return usage_error("%s", "--url is empty");
    j.token = getenv("CHIME_API_TOKEN");
    if (chimectl_http_open(&j.http, server_url(&j), j.token) != 0)
        return 1;
    status = a->run(&j);
    chimectl_http_close(&j.http);
    return status;
}

/*
 * `chimectl --url URL --json jobs ...`: the global options come before the
 * command, so chimectl.c's table sends "--url" and "--json" here; they are
 * moved after the command name, where chimectl_jobs reads them.
 */
int chimectl_global(int argc, char **argv)
{
    int i = 0;
    while (i < argc && (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--url") == 0))
        i += strcmp(argv[i], "--url") == 0 ? 2 : 1;
    if (i > argc) {
        fprintf(stderr, "chimectl: option \"--url\" needs a value\n");
        return 2;
    }
    if (i == argc || strcmp(argv[i], "jobs") != 0) {
        fprintf(stderr, "chimectl: --url and --json go with the jobs command "
                        "(chimectl [--url URL] [--json] jobs ...)\n");
        return 2;
    }
    char **moved = chime__calloc((size_t)argc + 1, sizeof(char *));
    if (!moved) {
        fprintf(stderr, "chimectl: out of memory\n");
        return 1;
    }
    moved[0] = argv[i];
    memcpy(moved + 1, argv, (size_t)i * sizeof(char *));
    memcpy(moved + 1 + i, argv + i + 1, (size_t)(argc - i - 1) * sizeof(char *));
    int status = chimectl_jobs(argc, moved);
    chime__free(moved);
    return status;
}

/* --- requests ------------------------------------------------------------ */

/*
 * Sends a request; 0 with *reply filled for a 2xx answer. Otherwise prints
 * the error (HTTP detail or connection failure) and returns 1, *reply released.
 */
static int call(struct jobs *j, const char *method, const char *path, const char *body,
                struct chimectl_reply *reply)
{
    if (chimectl_http_request(&j->http, method, path, body, reply) != 0)
        return 1;
    if (reply->status >= 200 && reply->status < 300)
        return 0;
    chimectl_print_http_error(reply, j->token && *j->token);
    chimectl_reply_release(reply);
    return 1;
}

/* "/schedule/jobs/<escaped id><suffix>" into str. */
static void job_path(struct chimectl_str *str, const char *id, const char *suffix)
{
    char *escaped = chimectl_http_escape(id);
    if (!escaped) {
        str->failed = true;
        return;
    }
    chimectl_str_addf(str, "/schedule/jobs/%s%s", escaped, suffix);
    chime__free(escaped);
}

static json_t *reply_json(const struct chimectl_reply *reply)
{
    json_error_t err;
    json_t *root = json_loadb(reply->body, reply->len, 0, &err);
    if (!root)
        fprintf(stderr, "chimectl: the server's reply is not JSON: %s\n", err.text);
    return root;
}

/* Sends method to path; prints the reply verbatim (--json) or through human(). */
static int call_and_print(struct jobs *j, const char *method, struct chimectl_str *path,
                          const char *body, int (*human)(struct jobs *, json_t *))
{
    struct chimectl_reply reply;
    int status = 1;
    if (path->failed) {
        fprintf(stderr, "chimectl: out of memory\n");
        goto out_path;
    }
    status = call(j, method, path->s, body, &reply);
    if (status != 0)
        goto out_path;
    if (j->given & BIT(O_JSON)) {
        chimectl_print_verbatim(&reply);
    } else {
        json_t *root = reply_json(&reply);
        status = root ? human(j, root) : 1;
        json_decref(root);
    }
    chimectl_reply_release(&reply);
out_path:
    chimectl_str_release(path);
    return status;
}

/* --- actions ------------------------------------------------------------- */

static int print_job(struct jobs *j, json_t *job)
{
    (void)j;
    if (!json_is_object(job)) {
        fprintf(stderr, "chimectl: the server's reply is not a job object\n");
        return 1;
    }
    chimectl_print_fields(job);
    return 0;
}

static int do_get(struct jobs *j)
{
    struct chimectl_str path = { 0 };
    job_path(&path, j->id, "");
    return call_and_print(j, "GET", &path, NULL, print_job);
}

static int print_status(struct jobs *j, json_t *reply)
{
    const char *status = json_string_value(json_object_get(reply, "status"));
    json_t *run_id = json_object_get(reply, "run_id");
    if (json_is_integer(run_id))
        printf("job %s: %s (run %lld)\n", j->id, status ? status : "done",
               (long long)json_integer_value(run_id));
    else
        printf("job %s: %s\n", j->id, status ? status : "done");
    return 0;
}

static int job_action(struct jobs *j, const char *method, const char *suffix)
{
    struct chimectl_str path = { 0 };
    job_path(&path, j->id, suffix);
    return call_and_print(j, method, &path, NULL, print_status);
}

static int do_pause(struct jobs *j)
{
    return job_action(j, "POST", "/pause");
}

static int do_resume(struct jobs *j)
{
    return job_action(j, "POST", "/resume");
}

static int do_delete(struct jobs *j)
{
    return job_action(j, "DELETE", "");
}

static int do_run(struct jobs *j)
{
    return job_action(j, "POST", "/run");
}

static int print_fires(struct jobs *j, json_t *reply)
{
    size_t i;
    json_t *fire;
    (void)j;
    json_array_foreach (json_object_get(reply, "fires"), i, fire) {
        puts(json_is_string(fire) ? json_string_value(fire) : "?");
    }
    return 0;
}

/* Checks that a numeric option is a positive integer (the server checks its range). */
static int check_number(const struct jobs *j, enum opt o)
{
    const char *text = j->opt[o];
    char *end;
    if (!text)
        return 0;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < 0)
        return usage_error("--%s must be a non-negative integer", long_options[o].name);
    return 0;
}

static int do_preview(struct jobs *j)
{
    struct chimectl_str path = { 0 };
    if (check_number(j, O_COUNT) != 0)
        return 2;
    job_path(&path, j->id, "/preview");
    if (j->opt[O_COUNT])
        chimectl_str_add_query(&path, "count", j->opt[O_COUNT]);
    if (j->opt[O_AFTER])
        chimectl_str_add_query(&path, "after", j->opt[O_AFTER]);
    return call_and_print(j, "GET", &path, NULL, print_fires);
}

static int print_runs(struct jobs *j, json_t *reply)
{
    static const char *const headers[CHIMECTL_RUN_COLUMNS] = { "RUN",      "JOB",      "SCHEDULED",
                                                               "ATTEMPT",  "STATUS",   "RESULT",
                                                               "LATENESS", "DURATION", "ERROR" };
    struct chimectl_table t;
    size_t i;
    json_t *run;
    (void)j;
    chimectl_table_init(&t, headers, CHIMECTL_RUN_COLUMNS);
    json_array_foreach (json_object_get(reply, "runs"), i, run) {
        chimectl_run_row(&t, run);
    }
    int status = chimectl_table_print(&t) == 0 ? 0 : 1;
    chimectl_table_release(&t);
    const char *next = json_string_value(json_object_get(reply, "next_cursor"));
    if (next)
        fprintf(stderr, "chimectl: more runs: add --cursor %s\n", next);
    return status;
}

static int do_runs(struct jobs *j)
{
    struct chimectl_str path = { 0 };
    if (check_number(j, O_LIMIT) != 0)
        return 2;
    if (j->id)
        job_path(&path, j->id, "/runs");
    else
        chimectl_str_addf(&path, "/schedule/runs");
    if (j->opt[O_STATUS])
        chimectl_str_add_query(&path, "status", j->opt[O_STATUS]);
    if (j->opt[O_LIMIT])
        chimectl_str_add_query(&path, "limit", j->opt[O_LIMIT]);
    if (j->opt[O_CURSOR])
        chimectl_str_add_query(&path, "cursor", j->opt[O_CURSOR]);
    return call_and_print(j, "GET", &path, NULL, print_runs);
}

/* Parses an option's JSON text into body[key]; a usage error (2) when it is not JSON. */
static int set_json(json_t *body, const char *key, const struct jobs *j, enum opt o)
{
    json_error_t err;
    if (!j->opt[o])
        return 0;
    json_t *value = json_loads(j->opt[o], JSON_DECODE_ANY, &err);
    if (!value) {
        fprintf(stderr, "chimectl jobs: --%s is not valid JSON: %s\n", long_options[o].name,
                err.text);
        return 2;
    }
    return json_object_set_new(body, key, value) == 0 ? 0 : 1;
}

static int set_string(json_t *body, const char *key, const char *value)
{
    if (!value)
        return 0;
    return json_object_set_new(body, key, json_string(value)) == 0 ? 0 : 1;
}

static json_t *parse_body(const char *text)
{
    json_error_t err;
    if (!text)
        return json_object();
    json_t *body = json_loads(text, 0, &err);
    if (!json_is_object(body)) {
        fprintf(stderr, "chimectl jobs: --body must be a JSON object: %s\n",
                body ? "not an object" : err.text);
        json_decref(body);
        return NULL;
    }
    return body;
}

/* The request body: --body's object, then each flag's field over it. 0, 1 or 2. */
static int add_body(const struct jobs *j, json_t **out)
{
    int status;
    if (!j->opt[O_BODY] && (!j->opt[O_FUNC] || !j->opt[O_TRIGGER]))
        return usage_error("%s", "jobs add needs --func and --trigger (or --body JSON)");
    json_t *body = parse_body(j->opt[O_BODY]);
    if (!body)
        return 2;
    status = set_string(body, "func", j->opt[O_FUNC]);
    status = status ? status : set_string(body, "trigger", j->opt[O_TRIGGER]);
    status = status ? status : set_json(body, "trigger_args", j, O_ARGS);
    status = status ? status : set_string(body, "name", j->opt[O_NAME]);
    status = status ? status : set_string(body, "id", j->opt[O_ID]);
    status = status ? status : set_json(body, "kwargs", j, O_KWARGS);
    status = status ? status : set_json(body, "args", j, O_JOB_ARGS);
    if (!status && (j->given & BIT(O_REPLACE)))
        status = json_object_set_new(body, "replace_existing", json_true()) == 0 ? 0 : 1;
    if (status) {
        if (status == 1)
            fprintf(stderr, "chimectl: out of memory\n");
        json_decref(body);
        return status;
    }
    *out = body;
    return 0;
}

static int do_add(struct jobs *j)
{
    json_t *body = NULL;
    struct chimectl_str path = { 0 };
    int status = add_body(j, &body);
    if (status != 0)
        return status;
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        fprintf(stderr, "chimectl: out of memory\n");
        return 1;
    }
    chimectl_str_addf(&path, "/schedule/jobs");
    status = call_and_print(j, "POST", &path, text, print_job);
    free(text); /* jansson's allocation */
    return status;
}

/* --- list: every page of GET /schedule/jobs ------------------------------ */

struct list {
    struct chimectl_table table;
    size_t n_streamed; /* --json: elements printed so far */
    bool verbatim;     /* --json and the first page was the only one */
};

static void list_stream(struct list *l, json_t *page)
{
    size_t i;
    json_t *job;
    json_array_foreach (page, i, job) {
        char *text = json_dumps(job, JSON_COMPACT);
        printf("%s  %s", l->n_streamed ? ",\n" : "[\n", text ? text : "null");
        free(text); /* jansson's allocation */
        l->n_streamed++;
    }
}

/* Handles one page; 0 or 1. */
static int list_page(struct jobs *j, struct list *l, const struct chimectl_reply *reply, bool first)
{
    size_t i;
    json_t *job;
    bool json = j->given & BIT(O_JSON);
    if (json && first && !reply->next_cursor) {
        chimectl_print_verbatim(reply);
        l->verbatim = true;
        return 0;
    }
    json_t *page = reply_json(reply);
    if (page && !json_is_array(page))
        fprintf(stderr, "chimectl: the server's job list is not a JSON array\n");
    if (!json_is_array(page)) {
        json_decref(page);
        return 1;
    }
    if (json)
        list_stream(l, page);
    else
        json_array_foreach (page, i, job) {
            chimectl_job_row(&l->table, job);
        }
    json_decref(page);
    return 0;
}

static int list_finish(struct jobs *j, struct list *l)
{
    if (l->verbatim)
        return 0;
    if (j->given & BIT(O_JSON)) {
        printf(l->n_streamed ? "\n]\n" : "[]\n");
        return 0;
    }
    return chimectl_table_print(&l->table) == 0 ? 0 : 1;
}

/* Requests the page after cursor (NULL: the first); 0 with *reply filled, or 1. */
static int list_fetch(struct jobs *j, const char *cursor, struct chimectl_reply *reply)
{
    struct chimectl_str path = { 0 };
    chimectl_str_addf(&path, "/schedule/jobs?limit=" LIST_PAGE);
    if (cursor)
        chimectl_str_add_query(&path, "cursor", cursor);
    int status = 1;
    if (path.failed)
        fprintf(stderr, "chimectl: out of memory\n");
    else
        status = call(j, "GET", path.s, NULL, reply);
    chimectl_str_release(&path);
    return status;
}

static int do_list(struct jobs *j)
{
    static const char *const headers[] = { "ID", "NAME", "NEXT RUN", "TRIGGER", "STATE" };
    struct list l = { 0 };
    struct chimectl_reply reply;
    char *cursor = NULL;
    int status = 0;
    chimectl_table_init(&l.table, headers, 5);
    for (bool first = true; status == 0; first = false) {
        status = list_fetch(j, cursor, &reply);
        if (status != 0)
            break;
        status = list_page(j, &l, &reply, first);
        if (reply.next_cursor && cursor && strcmp(reply.next_cursor, cursor) == 0) {
            fprintf(stderr, "chimectl: the server repeated cursor %s\n", cursor);
            status = 1;
        }
        chime__free(cursor);
        cursor = reply.next_cursor;
        reply.next_cursor = NULL;
        chimectl_reply_release(&reply);
        if (!cursor)
            break;
    }
    chime__free(cursor);
    if (status == 0)
        status = list_finish(j, &l);
    chimectl_table_release(&l.table);
    return status;
}
