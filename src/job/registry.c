/*
 * The function registry: resolves "module:function" names against the static
 * table of compiled-in modules and binds a job's JSON args/kwargs to the
 * function's declared parameters the way Python binds a call, so a bad call
 * is refused when the job is created instead of failing at every run.
 * Modules that are not compiled in are looked up among the plugins
 * (src/job/plugin.c) when a plugin directory is set.
 */
#include "job/registry.h"

#include <string.h>

#include "base/base.h"
#include "job/plugin.h"
#include "job/registry_modules.h"

/* Module order of lookups and listings. */
static const struct chime__module *const modules[] = {
    &chime__module_chime,
    &chime__module_app_jobs_registry,
};

#define N_MODULES (sizeof(modules) / sizeof(modules[0]))

static const struct chime__module *module_find(const char *name, size_t len)
{
    for (size_t i = 0; i < N_MODULES; i++) {
        if (strlen(modules[i]->name) == len && memcmp(modules[i]->name, name, len) == 0)
            return modules[i];
    }
    return NULL;
}

int chime_registry_find(const char *func, const struct chime_func **out, struct chime_diag *diag)
{
    const char *colon = func ? strchr(func, ':') : NULL;
    if (!colon || colon == func || colon[1] == '\0' || strchr(colon + 1, ':'))
        return chime_diag_set(diag, CHIME_EINVAL, "func",
                              "func must name a function as 'module:function'");
    size_t mlen = (size_t)(colon - func);
    const struct chime__module *mod = module_find(func, mlen);
    if (!mod && chime__plugin_enabled())
        return chime__plugin_find(func, mlen, colon + 1, out, diag);
    if (!mod)
        return chime_diag_set(diag, CHIME_EFUNC, "func", "func names an unknown module '%.*s'",
                              (int)(mlen > 200 ? 200 : mlen), func);
    for (size_t i = 0; i < mod->n_funcs; i++) {
        if (strcmp(mod->funcs[i].name, colon + 1) == 0) {
            *out = &mod->funcs[i];
            return 0;
        }
    }
    return chime_diag_set(diag, CHIME_EFUNC, "func", "module '%s' has no function '%.200s'",
                          mod->name, colon + 1);
}

static const char *type_name(enum chime_param_type type)
{
    static const char *const names[] = { "any",       "a string", "an integer", "a number",
                                         "a boolean", "an array", "an object" };
    return (size_t)type < sizeof(names) / sizeof(names[0]) ? names[type] : "any";
}

static bool type_ok(enum chime_param_type type, const json_t *v)
{
    switch (type) {
    case CHIME_PARAM_STRING:
        return json_is_string(v);
    case CHIME_PARAM_INTEGER:
        return json_is_integer(v);
    case CHIME_PARAM_NUMBER:
        return json_is_number(v);
    case CHIME_PARAM_BOOLEAN:
        return json_is_boolean(v);
    case CHIME_PARAM_ARRAY:
        return json_is_array(v);
    case CHIME_PARAM_OBJECT:
        return json_is_object(v);
    default:
        return true;
    }
}

static int param_index(const struct chime_func *fn, const char *name)
{
    for (size_t i = 0; i < fn->n_params; i++) {
        if (strcmp(fn->params[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

/* Binds the positionals into bound (set entries by parameter name). */
static int bind_args(const struct chime_func *fn, const json_t *args, json_t *bound,
                     struct chime_diag *diag)
{
    size_t n = json_array_size(args);
    if (n > fn->n_params)
        return chime_diag_set(diag, CHIME_EINVAL, "args",
                              "args: %s:%s() takes %zu positional argument%s but %zu were given",
                              fn->module, fn->name, fn->n_params, fn->n_params == 1 ? "" : "s", n);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(args, i);
        const struct chime_param *p = &fn->params[i];
        if (!type_ok(p->type, v))
            return chime_diag_set(diag, CHIME_EINVAL, "args",
                                  "args: argument %zu ('%s') of %s:%s() must be %s", i, p->name,
                                  fn->module, fn->name, type_name(p->type));
        if (json_object_set(bound, p->name, (json_t *)v))
            return CHIME_ENOMEM;
    }
    return 0;
}

static int bind_kwargs(const struct chime_func *fn, const json_t *kwargs, json_t *bound,
                       struct chime_diag *diag)
{
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)kwargs, key, v) {
        int idx = param_index(fn, key);
        if (idx < 0 && !fn->var_kwargs)
            return chime_diag_set(diag, CHIME_EINVAL, "kwargs",
                                  "kwargs: %s:%s() got an unexpected keyword argument '%.100s'",
                                  fn->module, fn->name, key);
        if (json_object_get(bound, key))
            return chime_diag_set(diag, CHIME_EINVAL, "kwargs",
                                  "kwargs: %s:%s() got multiple values for argument '%.100s'",
                                  fn->module, fn->name, key);
        if (idx >= 0 && !type_ok(fn->params[idx].type, v))
            return chime_diag_set(diag, CHIME_EINVAL, "kwargs",
                                  "kwargs: argument '%s' of %s:%s() must be %s", key, fn->module,
                                  fn->name, type_name(fn->params[idx].type));
        if (json_object_set(bound, key, v))
            return CHIME_ENOMEM;
    }
    return 0;
}

/* Fills the defaults of the parameters not bound; a missing required one is an error. */
static int bind_defaults(const struct chime_func *fn, json_t *bound, struct chime_diag *diag)
{
    for (size_t i = 0; i < fn->n_params; i++) {
        const struct chime_param *p = &fn->params[i];
        if (json_object_get(bound, p->name))
            continue;
        if (!p->default_json)
            return chime_diag_set(diag, CHIME_EINVAL, "args",
                                  "args: %s:%s() is missing the required argument '%s'", fn->module,
                                  fn->name, p->name);
        json_t *d = json_loads(p->default_json, JSON_DECODE_ANY, NULL);
        if (!d || json_object_set_new(bound, p->name, d))
            return CHIME_ENOMEM;
    }
    return 0;
}

/* Value checks beyond the parameter types; only the `chime` module has any. */
static int bind_check(const struct chime_func *fn, const json_t *bound, struct chime_diag *diag)
{
    if (strcmp(fn->module, chime__module_chime.name) == 0)
        return chime__module_chime_check(fn, bound, diag);
    return 0;
}

int chime_registry_bind(const struct chime_func *fn, const json_t *args, const json_t *kwargs,
                        json_t **out_kwargs, struct chime_diag *diag)
{
    if (args && !json_is_array(args))
        return chime_diag_set(diag, CHIME_EINVAL, "args", "args must be a JSON array");
    if (kwargs && !json_is_object(kwargs))
        return chime_diag_set(diag, CHIME_EINVAL, "kwargs", "kwargs must be a JSON object");
    json_t *bound = json_object();
    if (!bound)
        return CHIME_ENOMEM;
    int rc = args ? bind_args(fn, args, bound, diag) : 0;
    if (rc == 0 && kwargs)
        rc = bind_kwargs(fn, kwargs, bound, diag);
    if (rc == 0)
        rc = bind_defaults(fn, bound, diag);
    if (rc == 0)
        rc = bind_check(fn, bound, diag);
    if (rc == CHIME_ENOMEM)
        chime_diag_set(diag, rc, "", "out of memory binding the arguments");
    if (rc == 0 && out_kwargs) {
        *out_kwargs = bound;
        return 0;
    }
    json_decref(bound);
    return rc;
}

void chime_registry_foreach(void (*visit)(const struct chime_func *fn, void *ctx), void *ctx)
{
    for (size_t m = 0; m < N_MODULES; m++) {
        for (size_t i = 0; i < modules[m]->n_funcs; i++)
            visit(&modules[m]->funcs[i], ctx);
    }
}

void chime_outcome_release(struct chime_outcome *out)
{
    if (!out)
        return;
    chime__free(out->error);
    chime__free(out->output);
    out->error = NULL;
    out->output = NULL;
}

const char *chime__call_str(const struct chime_call *call, size_t pos, const char *name,
                            const char *dflt)
{
    const json_t *v = call->kwargs ? json_object_get(call->kwargs, name) : NULL;
    if (!json_is_string(v))
        v = call->args ? json_array_get(call->args, pos) : NULL;
    return json_is_string(v) ? json_string_value(v) : dflt;
}
