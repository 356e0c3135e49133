/*
 * The C ABI of chime plugin modules: what a shared object must export to
 * provide job functions, and what a function may ask of chime while it runs.
 * A job whose func is "module.sub:function" (a module chime does not have
 * compiled in) runs <plugin dir>/module/sub.so: chimed loads it once with
 * dlopen(RTLD_NOW | RTLD_LOCAL) from the configured plugin directory only
 * (CHIME_PLUGIN_DIR / --plugin-dir), looks up the exported descriptor
 * `chime_plugin_<function>` with dlsym and checks its ABI version. The
 * descriptor declares the parameters, so a job with bad arguments is refused
 * when it is created, as for the built-in functions. A plugin needs no chime
 * library at link time: every service comes through the call context's
 * function table, wrapped by the static inline functions below.
 *
 * A minimal plugin (build with `cc -shared -fPIC -I<chime>/include`):
 *
 *     #include <chime/plugin.h>
 *
 *     static void say(struct chime_plugin_ctx *ctx)
 *     {
 *         const char *name = chime_plugin_arg_string(ctx, "name", "world");
 *         if (!*name) {
 *             chime_plugin_fail(ctx, "name must not be empty");
 *             return;
 *         }
 *         chime_plugin_outputf(ctx, "hello, %s", name);
 *     }
 *
 *     static const struct chime_plugin_param say_params[] = {
 *         { "name", CHIME_PLUGIN_STRING, "\"world\"" },
 *     };
 *     CHIME_PLUGIN_FUNC(say, say_params);
 *
 * Rules for plugin functions: they run on the executor's worker threads, so
 * several runs (of one job or of several) may call a function at the same time
 * — keep no unguarded global state. They must not call exit(), install signal
 * handlers or fork without exec. A plugin is never unloaded while chimed runs.
 */
#ifndef CHIME_PLUGIN_H
#define CHIME_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The ABI version of this header. chime refuses a descriptor whose
 * abi_version differs from its own, so a plugin built against another layout
 * is rejected at load instead of crashing. Bumped on any incompatible change.
 */
#define CHIME_PLUGIN_ABI_VERSION 1

/* Parameter types: a job's argument must be a JSON value of this type. */
enum chime_plugin_type {
    CHIME_PLUGIN_ANY = 0,
    CHIME_PLUGIN_STRING = 1,
    CHIME_PLUGIN_INTEGER = 2,
    CHIME_PLUGIN_NUMBER = 3, /* integer or real */
    CHIME_PLUGIN_BOOLEAN = 4,
    CHIME_PLUGIN_ARRAY = 5,
    CHIME_PLUGIN_OBJECT = 6,
};

/* One declared parameter, in positional order. */
struct chime_plugin_param {
    const char *name;         /* an identifier, unique within the function */
    int type;                 /* enum chime_plugin_type */
    const char *default_json; /* JSON text of the default, or NULL = required */
};

struct chime_plugin_ctx;

/* A plugin function: runs one run of a job. Reports through ctx; succeeds unless it fails. */
typedef void (*chime_plugin_fn)(struct chime_plugin_ctx *ctx);

/*
 * The descriptor a plugin exports, one per function, under the symbol
 * `chime_plugin_<function>` (use CHIME_PLUGIN_FUNC). Static data: chime
 * borrows it for as long as the plugin is loaded.
 */
struct chime_plugin_func {
    unsigned abi_version; /* CHIME_PLUGIN_ABI_VERSION */
    const char *name;     /* the function name, as in the symbol */
    chime_plugin_fn fn;
    const struct chime_plugin_param *params;
    size_t n_params;
    int var_kwargs; /* nonzero: accepts keyword arguments beyond params */
};

/*
 * Services chime offers a running function. Call them through the inline
 * wrappers below; the pointers are valid during the call only.
 */
struct chime_plugin_api {
    unsigned abi_version;
    const char *(*arg_string)(struct chime_plugin_ctx *ctx, const char *name, const char *dflt);
    int64_t (*arg_int)(struct chime_plugin_ctx *ctx, const char *name, int64_t dflt);
    double (*arg_double)(struct chime_plugin_ctx *ctx, const char *name, double dflt);
    int (*arg_bool)(struct chime_plugin_ctx *ctx, const char *name, int dflt);
    const char *(*arg_json)(struct chime_plugin_ctx *ctx, const char *name);
    void (*vfail)(struct chime_plugin_ctx *ctx, const char *fmt, va_list ap);
    void (*output)(struct chime_plugin_ctx *ctx, const char *text);
};

/*
 * The call context: which run this is. Borrowed for the duration of the
 * call; copy what must outlive it.
 */
struct chime_plugin_ctx {
    const struct chime_plugin_api *api;
    const char *job_id;
    const char *job_name;
    const char *func; /* "module.sub:function" */
    int64_t run_id;
    int64_t scheduled_us; /* scheduled time, UTC microseconds since the epoch */
    int attempt;          /* 1 for the first attempt */
    void *host;           /* chime's own state: do not touch */
};

#if defined(__GNUC__)
#    define CHIME_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#    define CHIME_PLUGIN_EXPORT
#endif

/*
 * Exports the descriptor of function `fname` (implemented by a function of
 * the same name) with the parameter array `params` (a static array).
 */
#define CHIME_PLUGIN_FUNC(fname, params)                                                          \
    CHIME_PLUGIN_EXPORT const struct chime_plugin_func chime_plugin_##fname = {                   \
        CHIME_PLUGIN_ABI_VERSION, #fname, fname, params, sizeof(params) / sizeof((params)[0]), 0, \
    }

/*
 * Arguments. A parameter's value comes from the job's kwargs or, by position,
 * its args, with the declared default filled in; the accessors look it up by
 * name and return dflt when it is absent, null or not of the asked type (a
 * declared type is checked when the job is created). Strings are borrowed
 * from the call.
 */
static inline const char *chime_plugin_arg_string(struct chime_plugin_ctx *ctx, const char *name,
                                                  const char *dflt)
{
    return ctx->api->arg_string(ctx, name, dflt);
}

/** An integer argument (a real with an integral value counts too). */
static inline int64_t chime_plugin_arg_int(struct chime_plugin_ctx *ctx, const char *name,
                                           int64_t dflt)
{
    return ctx->api->arg_int(ctx, name, dflt);
}

/** A number argument (integer or real). */
static inline double chime_plugin_arg_double(struct chime_plugin_ctx *ctx, const char *name,
                                             double dflt)
{
    return ctx->api->arg_double(ctx, name, dflt);
}

/** A boolean argument: 1 or 0, or dflt. */
static inline int chime_plugin_arg_bool(struct chime_plugin_ctx *ctx, const char *name, int dflt)
{
    return ctx->api->arg_bool(ctx, name, dflt);
}

/**
 * The JSON text of any argument (arrays, objects...), compact; NULL when
 * absent. Owned by the context, valid until the call returns.
 */
static inline const char *chime_plugin_arg_json(struct chime_plugin_ctx *ctx, const char *name)
{
    return ctx->api->arg_json(ctx, name);
}

/*
 * Outcome. A call succeeds unless it calls chime_plugin_fail; the run's error
 * is the (last) failure message, up to 4 KiB. Output is what the run record
 * keeps (the last 64 KiB); each call replaces the previous output.
 */
static inline void chime_plugin_vfail(struct chime_plugin_ctx *ctx, const char *fmt, va_list ap)
{
    ctx->api->vfail(ctx, fmt, ap);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static inline void
chime_plugin_fail(struct chime_plugin_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ctx->api->vfail(ctx, fmt, ap);
    va_end(ap);
}

static inline void chime_plugin_output(struct chime_plugin_ctx *ctx, const char *text)
{
    ctx->api->output(ctx, text);
}

/** printf-style chime_plugin_output, up to 4 KiB. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static inline void
chime_plugin_outputf(struct chime_plugin_ctx *ctx, const char *fmt, ...)
{
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    ctx->api->output(ctx, text);
}

#ifdef __cplusplus
}
#endif

#endif /* CHIME_PLUGIN_H */
