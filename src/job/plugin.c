/*
 * The plugin loader: "module.sub:function" -> <plugin dir>/module/sub.so,
 * descriptor `chime_plugin_<function>`. Every name component must be an
 * identifier (so no "..", no "/", no absolute path can come from a client),
 * the file's real path must lie inside the directory's real path (a symlink
 * pointing out is refused), and the descriptor's ABI version and parameters
 * are checked before the function is handed to the registry. Objects are
 * loaded once (RTLD_NOW | RTLD_LOCAL) and never unloaded while running; the
 * resolved functions live in a list guarded by one mutex. A call runs through
 * a trampoline that builds the plugin's call context (include/chime/plugin.h).
 */
#include "job/plugin.h"

#include <chime/plugin.h>
#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "exec/webhook.h"

#define NAME_MAX_LEN    128   /* one name component */
#define PARAMS_MAX      64    /* declared parameters of one function */
#define FAIL_MAX        4096  /* bytes of a failure message */
#define OUTPUT_TAIL_MAX 65536 /* bytes of output kept */

struct plugin_lib {
    struct plugin_lib *next;
    char *path; /* real path */
    void *handle;
};

/* A resolved function; func is what the registry hands out. */
struct plugin_entry {
    struct chime_func func;
    struct plugin_entry *next;
    char *full; /* "module:function" */
    char *module;
    char *name;
    struct chime_param *params;
    const struct chime_plugin_func *desc;
};

static pthread_mutex_t plugin_lock = PTHREAD_MUTEX_INITIALIZER;
static char *plugin_dir; /* real path, or NULL */
static struct plugin_lib *plugin_libs;
static struct plugin_entry *plugin_entries;

static void plugin_run(const struct chime_call *call, struct chime_outcome *out);

static bool ident_ok(const char *s, size_t n)
{
    if (n == 0 || n > NAME_MAX_LEN ||
        !(s[0] == '_' || ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!(c == '_' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
            return false;
    }
    return true;
}

int chime__plugin_dir_set(const char *dir, struct chime_diag *diag)
{
    char *real = NULL;
    struct stat st;
    if (dir && *dir) {
        real = realpath(dir, NULL);
        if (!real || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
            free(real);
            return chime_diag_set(diag, CHIME_EINVAL, "plugin_dir",
                                  "plugin_dir: %.200s is not a directory", dir);
        }
    }
    char *copy = real ? chime__strdup(real) : NULL;
    free(real); /* realpath allocates with malloc */
    if (real && !copy)
        return chime_diag_set(diag, CHIME_ENOMEM, "plugin_dir", "out of memory");
    pthread_mutex_lock(&plugin_lock);
    chime__free(plugin_dir);
    plugin_dir = copy;
    pthread_mutex_unlock(&plugin_lock);
    return 0;
}

bool chime__plugin_enabled(void)
{
    pthread_mutex_lock(&plugin_lock);
    bool on = plugin_dir != NULL;
    pthread_mutex_unlock(&plugin_lock);
    return on;
}

/* <dir>/a/b.so for module "a.b", each component an identifier. Caller frees *out. */
static int module_path(const char *module, size_t mlen, char **out, struct chime_diag *diag)
{
    size_t dlen = strlen(plugin_dir);
    char *path = chime__malloc(dlen + 1 + mlen + sizeof(".so"));
    if (!path)
        return chime_diag_set(diag, CHIME_ENOMEM, "func", "out of memory");
    char *p = path + dlen;
    memcpy(path, plugin_dir, dlen);
    *p++ = '/';
    for (size_t start = 0, i = 0; i <= mlen; i++) {
        if (i < mlen && module[i] != '.')
            continue;
        if (!ident_ok(module + start, i - start)) {
            chime__free(path);
            return chime_diag_set(diag, CHIME_EFUNC, "func",
                                  "func: plugin module name '%.*s' is not a dotted name of "
                                  "identifiers",
                                  (int)(mlen > 200 ? 200 : mlen), module);
        }
        memcpy(p, module + start, i - start);
        p += i - start;
        *p++ = i < mlen ? '/' : '\0';
        start = i + 1;
    }
    memcpy(p - 1, ".so", sizeof(".so"));
    *out = path;
    return 0;
}

/* The real path of path if it lies inside the plugin directory. Caller frees (free). */
static int path_inside(const char *path, char **out, struct chime_diag *diag)
{
    char *real = realpath(path, NULL);
    size_t dlen = strlen(plugin_dir);
    if (!real)
        return chime_diag_set(diag, CHIME_EFUNC, "func", "func: no plugin module file %.250s",
                              path);
    if (strncmp(real, plugin_dir, dlen) != 0 || (dlen > 1 && real[dlen] != '/')) {
        free(real);
        return chime_diag_set(diag, CHIME_EFUNC, "func",
                              "func: plugin module file %.250s resolves outside the plugin "
                              "directory; refused",
                              path);
    }
    *out = real;
    return 0;
}

/* Loads (or finds loaded) the object at real path. Lock held. */
static int lib_open(const char *real, void **out, struct chime_diag *diag)
{
    for (struct plugin_lib *l = plugin_libs; l; l = l->next) {
        if (strcmp(l->path, real) == 0) {
            *out = l->handle;
            return 0;
        }
    }
    struct plugin_lib *lib = chime__calloc(1, sizeof(*lib));
    if (lib)
        lib->path = chime__strdup(real);
    if (!lib || !lib->path)
        goto out_nomem;
    lib->handle = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle) {
        const char *why = dlerror();
        chime__free(lib->path);
        chime__free(lib);
        return chime_diag_set(diag, CHIME_EFUNC, "func", "func: cannot load plugin %.150s: %.200s",
                              real, why ? why : "unknown error");
    }
    lib->next = plugin_libs;
    plugin_libs = lib;
    *out = lib->handle;
    return 0;
out_nomem:
    chime__free(lib);
    return chime_diag_set(diag, CHIME_ENOMEM, "func", "out of memory");
}

static int param_check(const struct chime_plugin_func *d, size_t i, struct chime_diag *diag)
{
    const struct chime_plugin_param *p = &d->params[i];
    json_t *dflt = NULL;
    if (!p->name || !ident_ok(p->name, strlen(p->name)) || p->type < CHIME_PLUGIN_ANY ||
        p->type > CHIME_PLUGIN_OBJECT)
        goto out_bad;
    for (size_t j = 0; j < i; j++) {
        if (strcmp(d->params[j].name, p->name) == 0)
            goto out_bad;
    }
    if (p->default_json) {
        dflt = json_loads(p->default_json, JSON_DECODE_ANY, NULL);
        if (!dflt)
            goto out_bad;
        json_decref(dflt);
    }
    return 0;
out_bad:
    return chime_diag_set(diag, CHIME_EFUNC, "func",
                          "func: plugin function '%s' declares an invalid parameter %zu", d->name,
                          i);
}

static int desc_check(const struct chime_plugin_func *d, const char *name, struct chime_diag *diag)
{
    if (d->abi_version != CHIME_PLUGIN_ABI_VERSION)
        return chime_diag_set(diag, CHIME_EFUNC, "func",
                              "func: plugin function '%s' was built for plugin ABI %u, chime "
                              "has %d; rebuild it against this chime",
                              name, d->abi_version, CHIME_PLUGIN_ABI_VERSION);
    if (!d->name || strcmp(d->name, name) != 0 || !d->fn || d->n_params > PARAMS_MAX ||
        (d->n_params && !d->params))
        return chime_diag_set(diag, CHIME_EFUNC, "func",
                              "func: plugin descriptor chime_plugin_%s is invalid", name);
    for (size_t i = 0; i < d->n_params; i++) {
        int rc = param_check(d, i, diag);
        if (rc)
            return rc;
    }
    return 0;
}

static void entry_free(struct plugin_entry *e)
{
    if (!e)
        return;
    chime__free(e->full);
    chime__free(e->module);
    chime__free(e->name);
    chime__free(e->params);
    chime__free(e);
}

static struct plugin_entry *entry_new(const char *full, size_t mlen,
                                      const struct chime_plugin_func *d)
{
    struct plugin_entry *e = chime__calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->full = chime__strdup(full);
    e->module = chime__strndup(full, mlen);
    e->name = chime__strdup(full + mlen + 1);
    e->params = d->n_params ? chime__calloc(d->n_params, sizeof(*e->params)) : NULL;
    if (!e->full || !e->module || !e->name || (d->n_params && !e->params)) {
        entry_free(e);
        return NULL;
    }
    for (size_t i = 0; i < d->n_params; i++) {
        e->params[i].name = d->params[i].name;
        e->params[i].type = (enum chime_param_type)d->params[i].type;
        e->params[i].default_json = d->params[i].default_json;
    }
    e->desc = d;
    e->func = (struct chime_func){ e->module, e->name,     plugin_run,
                                   e->params, d->n_params, d->var_kwargs != 0 };
    return e;
}

static struct plugin_entry *entry_find(const char *full)
{
    for (struct plugin_entry *e = plugin_entries; e; e = e->next) {
        if (strcmp(e->full, full) == 0)
            return e;
    }
    return NULL;
}

/* Loads module/name and adds its entry. Lock held. */
static int entry_load(const char *full, size_t mlen, struct plugin_entry **out,
                      struct chime_diag *diag)
{
    char *path = NULL, *real = NULL, symbol[NAME_MAX_LEN + 16];
    void *handle = NULL;
    const char *name = full + mlen + 1;
    if (!ident_ok(name, strlen(name)))
        return chime_diag_set(diag, CHIME_EFUNC, "func",
                              "func: plugin function name '%.200s' is not an identifier", name);
    int rc = module_path(full, mlen, &path, diag);
    if (rc == 0)
        rc = path_inside(path, &real, diag);
    if (rc == 0)
        rc = lib_open(real, &handle, diag);
    free(real);
    if (rc)
        goto out_path;
    snprintf(symbol, sizeof(symbol), "chime_plugin_%s", name);
    const struct chime_plugin_func *d = dlsym(handle, symbol);
    if (!d) {
        rc = chime_diag_set(diag, CHIME_EFUNC, "func",
                            "func: plugin module '%.*s' has no function '%s' (no symbol %s)",
                            (int)mlen, full, name, symbol);
        goto out_path;
    }
    rc = desc_check(d, name, diag);
    if (rc == 0 && !(*out = entry_new(full, mlen, d)))
        rc = chime_diag_set(diag, CHIME_ENOMEM, "func", "out of memory");
out_path:
    chime__free(path);
    return rc;
}

int chime__plugin_find(const char *module, size_t mlen, const char *name,
                       const struct chime_func **out, struct chime_diag *diag)
{
    size_t nlen = strlen(name);
    if (mlen > 1024 || nlen > NAME_MAX_LEN)
        return chime_diag_set(diag, CHIME_EFUNC, "func", "func: plugin name too long");
    char full[1024 + NAME_MAX_LEN + 2];
    memcpy(full, module, mlen);
    full[mlen] = ':';
    memcpy(full + mlen + 1, name, nlen + 1);
    int rc = 0;
    pthread_mutex_lock(&plugin_lock);
    struct plugin_entry *e = plugin_dir ? entry_find(full) : NULL;
    if (!plugin_dir)
        rc = chime_diag_set(diag, CHIME_EFUNC, "func",
                            "func names an unknown module '%.*s' (no plugin directory is set)",
                            (int)(mlen > 200 ? 200 : mlen), module);
    else if (!e && (rc = entry_load(full, mlen, &e, diag)) == 0) {
        e->next = plugin_entries;
        plugin_entries = e;
    }
    pthread_mutex_unlock(&plugin_lock);
    if (rc == 0)
        *out = &e->func;
    return rc;
}

void chime__plugin_reset(void)
{
    pthread_mutex_lock(&plugin_lock);
    while (plugin_entries) {
        struct plugin_entry *e = plugin_entries;
        plugin_entries = e->next;
        entry_free(e);
    }
    while (plugin_libs) {
        struct plugin_lib *l = plugin_libs;
        plugin_libs = l->next;
        dlclose(l->handle);
        chime__free(l->path);
        chime__free(l);
    }
    chime__free(plugin_dir);
    plugin_dir = NULL;
    pthread_mutex_unlock(&plugin_lock);
}

/* ---- the call context ---- */

struct plugin_host {
    const struct chime_call *call;
    const struct plugin_entry *entry;
    struct chime_outcome *out;
    char **texts; /* arg_json results, freed after the call */
    size_t n_texts, cap_texts;
};

static const json_t *arg_get(struct chime_plugin_ctx *ctx, const char *name)
{
    const struct plugin_host *h = ctx->host;
    const json_t *v = h->call->kwargs ? json_object_get(h->call->kwargs, name) : NULL;
    for (size_t i = 0; !v && name && i < h->entry->desc->n_params; i++) {
        if (strcmp(h->entry->desc->params[i].name, name) == 0)
            v = h->call->args ? json_array_get(h->call->args, i) : NULL;
    }
    return v;
}

static const char *arg_string(struct chime_plugin_ctx *ctx, const char *name, const char *dflt)
{
    const json_t *v = arg_get(ctx, name);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static int64_t arg_int(struct chime_plugin_ctx *ctx, const char *name, int64_t dflt)
{
    const json_t *v = arg_get(ctx, name);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && d >= -9.2e18 && d <= 9.2e18)
            return (int64_t)d;
    }
    return dflt;
}

static double arg_double(struct chime_plugin_ctx *ctx, const char *name, double dflt)
{
    const json_t *v = arg_get(ctx, name);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static int arg_bool(struct chime_plugin_ctx *ctx, const char *name, int dflt)
{
    const json_t *v = arg_get(ctx, name);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static const char *arg_json(struct chime_plugin_ctx *ctx, const char *name)
{
    struct plugin_host *h = ctx->host;
    const json_t *v = arg_get(ctx, name);
    if (!v || chime__grow((void **)&h->texts, &h->cap_texts, h->n_texts + 1, sizeof(char *)))
        return NULL;
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text)
        h->texts[h->n_texts++] = text;
    return text;
}

__attribute__((format(printf, 2, 0))) static void vfail(struct chime_plugin_ctx *ctx,
                                                        const char *fmt, va_list ap)
{
    struct plugin_host *h = ctx->host;
    char text[FAIL_MAX] = "failed";
    if (fmt)
        vsnprintf(text, sizeof(text), fmt, ap);
    h->out->ok = false;
    chime__free(h->out->error);
    h->out->error = chime__text_tail(text, strlen(text), FAIL_MAX);
}

static void output(struct chime_plugin_ctx *ctx, const char *text)
{
    struct plugin_host *h = ctx->host;
    chime__free(h->out->output);
    h->out->output = text ? chime__text_tail(text, strlen(text), OUTPUT_TAIL_MAX) : NULL;
}

static const struct chime_plugin_api plugin_api = {
    CHIME_PLUGIN_ABI_VERSION, arg_string, arg_int, arg_double, arg_bool, arg_json, vfail, output,
};

static void plugin_run(const struct chime_call *call, struct chime_outcome *out)
{
    pthread_mutex_lock(&plugin_lock);
    const struct plugin_entry *e = entry_find(call->func);
    pthread_mutex_unlock(&plugin_lock);
    if (!e) {
        out->ok = false;
        out->error = chime__strdup("plugin function is no longer loaded");
        return;
    }
    struct plugin_host host = { call, e, out, NULL, 0, 0 };
    struct chime_plugin_ctx ctx = {
        &plugin_api,  call->job_id,    call->job_name, call->func,
        call->run_id, call->scheduled, call->attempt,  &host,
    };
    out->ok = true;
    e->desc->fn(&ctx);
    for (size_t i = 0; i < host.n_texts; i++)
        free(host.texts[i]); /* json_dumps allocates with jansson's allocator (malloc) */
    chime__free(host.texts);
}
