/*
 * Page cursors: opaque to clients, base64url (no padding) of a small text —
 * "j:<next_run_us>:<id>" for the job listing (ordered by next run then id,
 * paused jobs carry next_run "none") and "r:<run id>" for run history (newest
 * first: the next page holds the runs below that id). Anything that does not
 * decode to one of these is CHIME_EINVAL, so a bad cursor is a 400.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "http/http_internal.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64_encode(const char *src, size_t len)
{
    char *out = chime__malloc(len / 3 * 4 + 5);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)src[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)(unsigned char)src[i + 1] << 8;
        if (i + 2 < len)
            v |= (unsigned char)src[i + 2];
        size_t n = len - i >= 3 ? 4 : len - i + 1;
        for (size_t k = 0; k < n; k++)
            out[o++] = b64url[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
    return out;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

/* Decodes into buf (NUL-terminated); CHIME_EINVAL on a bad digit or length. */
static int b64_decode(const char *text, char *buf, size_t size)
{
    size_t len = strlen(text), o = 0;
    if (len % 4 == 1 || len / 4 * 3 + 3 >= size)
        return CHIME_EINVAL;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t v = 0;
        size_t n = len - i >= 4 ? 4 : len - i;
        for (size_t k = 0; k < 4; k++) {
            int d = k < n ? b64_value(text[i + k]) : 0;
            if (d < 0)
                return CHIME_EINVAL;
            v = v << 6 | (uint32_t)d;
        }
        for (size_t k = 0; k + 1 < n; k++)
            buf[o++] = (char)(v >> (16 - 8 * k));
    }
    buf[o] = '\0';
    return strlen(buf) == o ? 0 : CHIME_EINVAL;
}

char *chime__cursor_job_format(chime_utime next_run, const char *id)
{
    char buf[320];
    if (next_run == CHIME_UTIME_NONE)
        snprintf(buf, sizeof(buf), "j:none:%s", id);
    else
        snprintf(buf, sizeof(buf), "j:%" PRId64 ":%s", next_run, id);
    return b64_encode(buf, strlen(buf));
}

static int parse_i64(const char *text, const char *end, int64_t *out)
{
    char *stop;
    errno = 0;
    long long v = strtoll(text, &stop, 10);
    if (errno || stop != end || stop == text)
        return CHIME_EINVAL;
    *out = v;
    return 0;
}

int chime__cursor_job_parse(const char *text, chime_utime *out_next_run, char *id_buf,
                            size_t id_size)
{
    char buf[320];
    if (b64_decode(text, buf, sizeof(buf)) < 0 || strncmp(buf, "j:", 2) != 0)
        return CHIME_EINVAL;
    char *colon = strchr(buf + 2, ':');
    if (!colon || !colon[1] || strlen(colon + 1) >= id_size)
        return CHIME_EINVAL;
    if (colon - (buf + 2) == 4 && strncmp(buf + 2, "none", 4) == 0)
        *out_next_run = CHIME_UTIME_NONE;
    else if (buf[2] == ' ' || parse_i64(buf + 2, colon, out_next_run) < 0)
        return CHIME_EINVAL;
    chime__strlcpy(id_buf, colon + 1, id_size);
    return 0;
}

char *chime__cursor_run_format(int64_t before_id)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "r:%" PRId64, before_id);
    return b64_encode(buf, strlen(buf));
}

int chime__cursor_run_parse(const char *text, int64_t *out_before_id)
{
    char buf[64];
    if (b64_decode(text, buf, sizeof(buf)) < 0 || strncmp(buf, "r:", 2) != 0)
        return CHIME_EINVAL;
    if (buf[2] < '0' || buf[2] > '9' || parse_i64(buf + 2, buf + strlen(buf), out_before_id) < 0)
        return CHIME_EINVAL;
    return *out_before_id > 0 ? 0 : CHIME_EINVAL;
}

int chime__http_parse_limit(const char *text, size_t max, size_t *out)
{
    int64_t v;
    if (text[0] < '0' || text[0] > '9' || parse_i64(text, text + strlen(text), &v) < 0)
        return CHIME_EINVAL;
    if (v < 1 || (uint64_t)v > max)
        return CHIME_EINVAL;
    *out = (size_t)v;
    return 0;
}
