/*
 * libchime public API: error codes, diagnostics, time scalars, and the
 * embeddable scheduler (jobs, triggers, stores, executors). Every type is
 * opaque except the small value structs callers fill in; no dependency type
 * (jansson, SQLite, libpq, libmicrohttpd) appears here.
 */
#ifndef CHIME_CHIME_H
#define CHIME_CHIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#    define CHIME_API __attribute__((visibility("default")))
#else
#    define CHIME_API
#endif

/* UTC microseconds since the Unix epoch. */
typedef int64_t chime_utime;
/* Monotonic microseconds (arbitrary origin). */
typedef int64_t chime_mtime;

/* "No time": a paused job's next run, a trigger that never fires again. */
#define CHIME_UTIME_NONE INT64_MIN

/* Error codes: 0 is success, every failure is a negative CHIME_E*. */
#define CHIME_ERRNO_MAP(X)                                                     \
    X(EINVAL, -1, "invalid argument")                                          \
    X(ENOMEM, -2, "out of memory")                                             \
    X(ENOENT, -3, "not found")                                                 \
    X(EEXIST, -4, "already exists")                                            \
    X(ERANGE, -5, "value out of range")                                        \
    X(EIO, -6, "input/output error")                                           \
    X(ESTORE, -7, "job store error")                                           \
    X(ENEVER, -8, "trigger can never fire")                                    \
    X(EBUSY, -9, "resource busy")                                              \
    X(ESHUTDOWN, -10, "scheduler is shutting down")                            \
    X(ETIMEDOUT, -11, "timed out")                                             \
    X(EPERM, -12, "operation not permitted")                                   \
    X(EFUNC, -13, "function cannot be resolved")

enum chime_errno {
#define CHIME__ERRNO_ENUM(name, value, text) CHIME_##name = (value),
    CHIME_ERRNO_MAP(CHIME__ERRNO_ENUM)
#undef CHIME__ERRNO_ENUM
};

/** Returns a static English description of a CHIME_E* code (or "unknown error"). */
CHIME_API const char *chime_strerror(int err);

/*
 * A user-facing diagnostic: which field is wrong and what is wrong with it.
 * Caller-allocated; functions that take one fill it on failure. The HTTP layer
 * turns it into the "detail" of a 400/422 answer.
 */
struct chime_diag {
    char field[64];   /* dotted path, e.g. "trigger_args.minute"; "" if none */
    char message[384]; /* full sentence naming the field and the problem */
};

/** Clears a diagnostic (both strings empty). */
CHIME_API void chime_diag_clear(struct chime_diag *diag);

/*
 * Fills a diagnostic; message is printf-style. Safe with diag == NULL (does
 * nothing). Always returns err so callers can write `return chime_diag_set(...)`.
 */
CHIME_API int chime_diag_set(struct chime_diag *diag, int err, const char *field, const char *fmt,
                             ...) __attribute__((format(printf, 4, 5)));

/*
 * Allocation hooks. All library allocation goes through these. Tests use
 * chime_alloc_fail_after() to make the N-th allocation from now fail.
 */
struct chime_allocator {
    void *(*malloc_fn)(size_t size, void *ctx);
    void *(*realloc_fn)(void *ptr, size_t size, void *ctx);
    void (*free_fn)(void *ptr, void *ctx);
    void *ctx;
};

/** Installs allocation hooks (NULL restores libc). Not thread-safe: call before any other use. */
CHIME_API void chime_allocator_set(const struct chime_allocator *allocator);

/**
 * Test hook: the n-th allocation from now (1 = the next one) fails and every
 * later one succeeds again; n = 0 disables. Thread-safe (atomic counter).
 */
CHIME_API void chime_alloc_fail_after(long n);

#ifdef __cplusplus
}
#endif

#endif /* CHIME_CHIME_H */
