/*
 * Logging: one line per event on stderr, "<UTC time> <level> <message>".
 * The level is process-wide and atomic; lines are written with one fputs so
 * concurrent threads do not interleave within a line.
 */
#include "base.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static atomic_int log_level = CHIME_LOG_INFO;

void chime__log_set_level(enum chime_log_level level)
{
    atomic_store(&log_level, (int)level);
}

enum chime_log_level chime__log_get_level(void)
{
    return (enum chime_log_level)atomic_load(&log_level);
}

static const char *level_name(enum chime_log_level level)
{
    static const char *const names[] = { "DEBUG", "INFO", "WARN", "ERROR", "OFF" };
    return names[level];
}

void chime__log(enum chime_log_level level, const char *fmt, ...)
{
    if ((int)level < atomic_load(&log_level))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm); /* style-ok: before src/time existed */
    char line[1024];
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_name(level));
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
