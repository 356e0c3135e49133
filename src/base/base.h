/*
 * Internal basics shared by every module: allocation wrappers (which honour
 * the hooks and the fail-after test switch), string helpers, and the
 * logging entry point.
 */
#ifndef CHIME_BASE_H
#define CHIME_BASE_H

#include <chime/chime.h>
#include <stdarg.h>
#include <stddef.h>

/* Allocation: NULL on failure (never aborts). */
void *chime__malloc(size_t size);
void *chime__calloc(size_t n, size_t size);
void *chime__realloc(void *ptr, size_t size);
void chime__free(void *ptr);
/* Copies a NUL-terminated string; NULL in -> NULL out (not an error). */
char *chime__strdup(const char *s);
char *chime__strndup(const char *s, size_t n);
/* Grows *buf (element size elem) so it holds at least need elements; 0 or CHIME_ENOMEM. */
int chime__grow(void **buf, size_t *cap, size_t need, size_t elem);

/* Copies src into dst of size n, always NUL-terminated, truncating. Returns strlen(dst). */
size_t chime__strlcpy(char *dst, const char *src, size_t n);

/*
 * Copies len bytes of text into out (room for len * 3 + 1 bytes), replacing
 * every byte that does not start a valid UTF-8 sequence (and NUL bytes when
 * replace_nul) with U+FFFD; NUL-terminates. Returns the bytes written.
 */
size_t chime__utf8_repair(const char *text, size_t len, bool replace_nul, char *out);

/* Logging to stderr, one line per event. */
enum chime_log_level {
    CHIME_LOG_DEBUG = 0,
    CHIME_LOG_INFO = 1,
    CHIME_LOG_WARN = 2,
    CHIME_LOG_ERROR = 3,
    CHIME_LOG_OFF = 4,
};
void chime__log_set_level(enum chime_log_level level);
enum chime_log_level chime__log_get_level(void);
void chime__log(enum chime_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

#endif /* CHIME_BASE_H */
