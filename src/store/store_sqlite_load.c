/*
 * Loading the SQLite store's jobs into the index at open, fast enough for a
 * million rows: one SELECT, and caches so that a trigger spec or a function
 * (with its args) shared by many rows is parsed and resolved once. A row
 * whose function no longer resolves is loaded marked broken (never dropped);
 * a row whose trigger no longer parses stays in the table but is not
 * scheduled, and is logged.
 */
#include <string.h>

#include "base/base.h"
#include "job/registry.h"
#include "store/store_sqlite.h"

/* A string-keyed map (open addressing) used only while loading. */
struct cache_slot {
    char *key;
    struct chime_trigger *trigger; /* trigger cache: a reference, or NULL if it failed */
    char *text;                    /* the failure (trigger) or broken reason (func), or NULL */
};

struct cache {
    struct cache_slot *slots;
    size_t cap;
    size_t n;
};

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static void cache_release(struct cache *c)
{
    for (size_t i = 0; i < c->cap; i++) {
        chime__free(c->slots[i].key);
        chime_trigger_unref(c->slots[i].trigger);
        chime__free(c->slots[i].text);
    }
    chime__free(c->slots);
}

static struct cache_slot *cache_slot(const struct cache *c, const char *key)
{
    size_t mask = c->cap - 1, i = key_hash(key) & mask;
    while (c->slots[i].key && strcmp(c->slots[i].key, key))
        i = (i + 1) & mask;
    return &c->slots[i];
}

static int cache_grow(struct cache *c)
{
    struct cache old = *c;
    c->cap = old.cap ? old.cap * 2 : 64;
    c->slots = chime__calloc(c->cap, sizeof(*c->slots));
    if (!c->slots) {
        *c = old;
        return CHIME_ENOMEM;
    }
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slots[i].key)
            *cache_slot(c, old.slots[i].key) = old.slots[i];
    }
    chime__free(old.slots);
    return 0;
}

/* The slot for key; a new one (key copied) when absent, *fresh set. NULL: ENOMEM. */
static struct cache_slot *cache_get(struct cache *c, const char *key, bool *fresh)
{
    if ((c->n + 1) * 2 > c->cap && cache_grow(c) < 0)
        return NULL;
    struct cache_slot *s = cache_slot(c, key);
    *fresh = !s->key;
    if (*fresh) {
        if (!(s->key = chime__strdup(key)))
            return NULL;
        c->n++;
    }
    return s;
}

/* key = a \x1f b (\x1f c when c), in a growable scratch buffer: the trigger key
 * is the index's shared-trigger key (kind \x1f normalized args). */
static const char *join3(char **buf, size_t *cap, const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
    if (chime__grow((void **)buf, cap, la + lb + lc + 3, 1) < 0)
        return NULL;
    char *p = *buf;
    memcpy(p, a, la);
    p[la] = '\x1f';
    memcpy(p + la + 1, b, lb);
    p[la + 1 + lb] = '\0';
    if (c) {
        p[la + 1 + lb] = '\x1f';
        memcpy(p + la + lb + 2, c, lc + 1);
    }
    return *buf;
}

struct loader {
    struct sqlite_store *ss;
    struct cache triggers;
    struct cache funcs;
    char *key;
    size_t key_cap;
};

static void parse_trigger(struct loader *ld, struct cache_slot *s, const char *kind,
                          const char *args_text, chime_utime created)
{
    struct chime_diag diag;
    chime_diag_clear(&diag);
    json_t *args = json_loads(args_text, 0, NULL);
    int rc = args ? chime_trigger_parse(kind, args, ld->ss->defaults.zone, created, &s->trigger,
                                        &diag)
                  : chime_diag_set(&diag, CHIME_EINVAL, "trigger_args", "not JSON");
    json_decref(args);
    if (rc < 0)
        s->text = chime__strdup(diag.message[0] ? diag.message : chime_strerror(rc));
}

/* The trigger for (kind, args), parsed once per distinct text. *out NULL: it failed. */
static int find_trigger(struct loader *ld, const char *kind, const char *args, chime_utime created,
                        struct chime_trigger **out, const char **out_key, const char **out_error)
{
    bool fresh;
    const char *key = join3(&ld->key, &ld->key_cap, kind, args, NULL);
    struct cache_slot *s = key ? cache_get(&ld->triggers, key, &fresh) : NULL;
    if (!s)
        return CHIME_ENOMEM;
    if (fresh)
        parse_trigger(ld, s, kind, args, created);
    *out = s->trigger;
    *out_key = s->key;
    *out_error = s->text ? s->text : "out of memory";
    return 0;
}

static char *func_problem(const char *func, const char *args_text, const char *kwargs_text)
{
    struct chime_diag diag;
    const struct chime_func *fn;
    chime_diag_clear(&diag);
    int rc = chime_registry_find(func, &fn, &diag);
    if (rc == 0) {
        json_t *args = json_loads(args_text, 0, NULL), *kwargs = json_loads(kwargs_text, 0, NULL);
        rc = args && kwargs ? chime_registry_bind(fn, args, kwargs, NULL, &diag)
                            : chime_diag_set(&diag, CHIME_EINVAL, "args", "args are not JSON");
        json_decref(args);
        json_decref(kwargs);
    }
    return rc < 0 ? chime__strdup(diag.message[0] ? diag.message : chime_strerror(rc)) : NULL;
}

/* Why the job's func cannot run (NULL: it can), resolved once per (func, args, kwargs). */
static int find_broken(struct loader *ld, const struct chime_job *job, const char **out)
{
    bool fresh;
    const char *key = join3(&ld->key, &ld->key_cap, job->func, job->args, job->kwargs);
    struct cache_slot *s = key ? cache_get(&ld->funcs, key, &fresh) : NULL;
    if (!s)
        return CHIME_ENOMEM;
    if (fresh)
        s->text = func_problem(job->func, job->args, job->kwargs);
    *out = s->text;
    return 0;
}

static const char *col_text(sqlite3_stmt *st, int i, const char *dflt)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : dflt;
}

static int overlap_parse(const char *name)
{
    for (int i = CHIME_OVERLAP_SKIP; i <= CHIME_OVERLAP_REPLACE; i++) {
        if (strcmp(chime_overlap_name(i), name) == 0)
            return i;
    }
    return CHIME_OVERLAP_SKIP;
}

/* The row as a job view borrowing the row's text (valid until the next step). */
static void row_view(sqlite3_stmt *st, struct chime_job *j)
{
    chime_job_init(j);
    j->id = (char *)col_text(st, 0, "");
    j->name = (char *)col_text(st, 1, "");
    j->func = (char *)col_text(st, 2, "");
    j->args = (char *)col_text(st, 3, "[]");
    j->kwargs = (char *)col_text(st, 4, "{}");
    j->next_run = sqlite3_column_type(st, 7) == SQLITE_NULL ? CHIME_UTIME_NONE
                                                            : sqlite3_column_int64(st, 7);
    j->paused = sqlite3_column_int(st, 8) != 0;
    j->policy.coalesce = sqlite3_column_int(st, 9);
    j->policy.grace_s = sqlite3_column_int64(st, 10);
    j->policy.max_instances = sqlite3_column_int(st, 11);
    j->jobstore = (char *)col_text(st, 12, "default");
    j->version = sqlite3_column_int64(st, 14);
    j->created_at = sqlite3_column_int64(st, 15);
    j->updated_at = sqlite3_column_int64(st, 16);
    j->policy.timeout_s = sqlite3_column_int(st, 17);
    j->policy.retries = sqlite3_column_int(st, 18);
    j->policy.retry_backoff_s = sqlite3_column_int(st, 19);
    j->policy.retry_jitter_s = sqlite3_column_int(st, 20);
    j->policy.overlap = overlap_parse(col_text(st, 21, "skip"));
}

static int load_row(struct loader *ld, sqlite3_stmt *st)
{
    struct chime_job j;
    const char *trigger_error, *trigger_key, *broken;
    row_view(st, &j);
    int rc = find_trigger(ld, col_text(st, 5, ""), col_text(st, 6, "{}"), j.created_at, &j.trigger,
                          &trigger_key, &trigger_error);
    if (rc == 0 && !j.trigger) {
        chime__log(CHIME_LOG_ERROR, "sqlite store: job %s not scheduled: its trigger: %s", j.id,
                   trigger_error);
        return 0;
    }
    if (rc == 0)
        rc = find_broken(ld, &j, &broken);
    if (rc < 0)
        return rc;
    j.broken = (char *)broken;
    struct chime__index_entry *e = chime__index_entry_new(&ld->ss->idx, &j, trigger_key);
    if (!e)
        return CHIME_ENOMEM;
    rc = chime__index_insert(&ld->ss->idx, e);
    if (rc < 0)
        chime__index_entry_free(&ld->ss->idx, e);
    return rc;
}

static int reserve_rows(struct sqlite_store *ss)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ss->db, "SELECT count(*) FROM jobs", -1, &st, NULL) != SQLITE_OK)
        return CHIME_ESTORE;
    int rc = sqlite3_step(st) == SQLITE_ROW
                     ? chime__index_reserve(&ss->idx, (size_t)sqlite3_column_int64(st, 0))
                     : CHIME_ESTORE;
    sqlite3_finalize(st);
    return rc;
}

int chime__sqlite_load_jobs(struct sqlite_store *ss)
{
    struct loader ld = { .ss = ss };
    sqlite3_stmt *st;
    int rc = reserve_rows(ss);
    if (rc < 0)
        return rc;
    if (sqlite3_prepare_v2(ss->db,
                           "SELECT id, name, func, args, kwargs, trigger, trigger_args, "
                           "next_run_time, paused, coalesce, misfire_grace_time, max_instances, "
                           "jobstore, broken, version, created_at, updated_at, timeout, retries, "
                           "retry_backoff, retry_jitter, overlap FROM jobs",
                           -1, &st, NULL) != SQLITE_OK)
        return CHIME_ESTORE;
    int step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = load_row(&ld, st);
    if (rc == 0 && step != SQLITE_DONE)
        rc = CHIME_ESTORE;
    sqlite3_finalize(st);
    cache_release(&ld.triggers);
    cache_release(&ld.funcs);
    chime__free(ld.key);
    return rc;
}
