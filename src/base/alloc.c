/*
 * Allocation wrappers: every allocation of the library goes through here so
 * an embedding program can install its own allocator and the tests can make
 * the N-th allocation fail (SQLite's approach to proving OOM paths).
 */
#include "base.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static void *libc_malloc(size_t size, void *ctx)
{
    (void)ctx;
    return malloc(size);
}

static void *libc_realloc(void *ptr, size_t size, void *ctx)
{
    (void)ctx;
    return realloc(ptr, size);
}

static void libc_free(void *ptr, void *ctx)
{
    (void)ctx;
    free(ptr);
}

static struct chime_allocator allocator = { libc_malloc, libc_realloc, libc_free, NULL };
static atomic_long fail_countdown;

void chime_allocator_set(const struct chime_allocator *a)
{
    if (a)
        allocator = *a;
    else
        allocator = (struct chime_allocator){ libc_malloc, libc_realloc, libc_free, NULL };
}

void chime_alloc_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
}

/* True when this allocation is the one the test asked to fail. */
static int injected_failure(void)
{
    long cur = atomic_load(&fail_countdown);
    while (cur > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &cur, cur - 1))
            return cur == 1;
    }
    return 0;
}

void *chime__malloc(size_t size)
{
    if (injected_failure())
        return NULL;
    return allocator.malloc_fn(size ? size : 1, allocator.ctx);
}

void *chime__calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = chime__malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *chime__realloc(void *ptr, size_t size)
{
    if (injected_failure())
        return NULL;
    return allocator.realloc_fn(ptr, size ? size : 1, allocator.ctx);
}

void chime__free(void *ptr)
{
    if (ptr)
        allocator.free_fn(ptr, allocator.ctx);
}

char *chime__strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    size_t len = strnlen(s, n);
    char *d = chime__malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *chime__strdup(const char *s)
{
    return s ? chime__strndup(s, strlen(s)) : NULL;
}

int chime__grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem)
            return CHIME_ENOMEM;
        ncap *= 2;
    }
    void *p = chime__realloc(*buf, ncap * elem);
    if (!p)
        return CHIME_ENOMEM;
    *buf = p;
    *cap = ncap;
    return 0;
}

size_t chime__strlcpy(char *dst, const char *src, size_t n)
{
    size_t len = strlen(src);
    if (n == 0)
        return 0;
    size_t c = len < n - 1 ? len : n - 1;
    memcpy(dst, src, c);
    dst[c] = '\0';
    return c;
}
