/*
 * The .env reader (see dotenv.h for the syntax). One pass over the text, one
 * scratch buffer as large as the text for every line's key and value, and a
 * diagnostic "<file>:<line>: <problem>" for the first malformed line. The
 * input is untrusted: every read is bounded by the line's end.
 */
#include "config/dotenv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"

#define DOTENV_MAX_BYTES (1024 * 1024)

struct dotenv_line {
    const char *file;
    int line;
    const char *p;   /* cursor */
    const char *end; /* end of the line (no newline, no trailing CR) */
    struct chime_diag *diag;
};

static int line_fail(const struct dotenv_line *l, const char *problem)
{
    return chime_diag_set(l->diag, CHIME_EINVAL, "CHIME_ENV_FILE", "%.200s:%d: %s", l->file,
                          l->line, problem);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static void skip_blanks(struct dotenv_line *l)
{
    while (l->p < l->end && is_blank(*l->p))
        l->p++;
}

static bool is_key_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_key_char(char c)
{
    return is_key_start(c) || (c >= '0' && c <= '9');
}

/* Skips an `export ` prefix (a key named "export" stays a key). */
static void skip_export(struct dotenv_line *l)
{
    if (l->end - l->p > 6 && memcmp(l->p, "export", 6) == 0 && is_blank(l->p[6])) {
        l->p += 6;
        skip_blanks(l);
    }
}

/* Copies the key into out (NUL-terminated) and consumes `KEY =`. */
static int parse_key(struct dotenv_line *l, char *out)
{
    if (l->p >= l->end || !is_key_start(*l->p))
        return line_fail(l, "expected KEY=VALUE (a key starts with a letter or '_')");
    size_t n = 0;
    while (l->p < l->end && is_key_char(*l->p))
        out[n++] = *l->p++;
    out[n] = '\0';
    skip_blanks(l);
    if (l->p >= l->end || *l->p != '=')
        return line_fail(l, "expected '=' after the key (keys hold letters, digits and '_')");
    l->p++;
    skip_blanks(l);
    return 0;
}

/* An unquoted value: up to a '#' that follows a blank, trailing blanks trimmed. */
static void parse_unquoted(struct dotenv_line *l, char *out)
{
    const char *q = l->p;
    while (q < l->end && !(*q == '#' && is_blank(q[-1])))
        q++;
    while (q > l->p && is_blank(q[-1]))
        q--;
    size_t n = (size_t)(q - l->p);
    memcpy(out, l->p, n);
    out[n] = '\0';
    l->p = l->end;
}

/* The character a double-quoted escape stands for; 0 if not an escape. */
static char unescape(char c)
{
    switch (c) {
    case 'n':
        return '\n';
    case 't':
        return '\t';
    case 'r':
        return '\r';
    case '"':
    case '\\':
    case '$':
        return c;
    default:
        return 0;
    }
}

/* A quoted value; only blanks and a comment may follow the closing quote. */
static int parse_quoted(struct dotenv_line *l, char *out)
{
    char quote = *l->p++;
    size_t n = 0;
    for (;;) {
        if (l->p >= l->end)
            return line_fail(l, quote == '"' ? "unterminated double quote"
                                             : "unterminated single quote");
        char c = *l->p++;
        if (c == quote)
            break;
        if (quote == '"' && c == '\\' && l->p < l->end && unescape(*l->p))
            c = unescape(*l->p++);
        out[n++] = c;
    }
    out[n] = '\0';
    skip_blanks(l);
    if (l->p < l->end && *l->p != '#')
        return line_fail(l, "unexpected text after the closing quote");
    return 0;
}

/* One line: 0 and *out_assign = whether it assigned key/value, or an error.
 * The key fills the start of scratch and the value follows it: together they
 * are never longer than the line, so scratch needs the line's length + 2. */
static int parse_line(struct dotenv_line *l, char *scratch, char **out_value, bool *out_assign)
{
    *out_assign = false;
    if (l->end > l->p && memchr(l->p, '\0', (size_t)(l->end - l->p)))
        return line_fail(l, "NUL byte in the line");
    skip_blanks(l);
    if (l->p >= l->end || *l->p == '#')
        return 0;
    skip_export(l);
    int err = parse_key(l, scratch);
    if (err)
        return err;
    char *value = scratch + strlen(scratch) + 1;
    *out_value = value;
    if (l->p < l->end && (*l->p == '"' || *l->p == '\''))
        err = parse_quoted(l, value);
    else
        parse_unquoted(l, value);
    *out_assign = (err == 0);
    return err;
}

int chime_dotenv_parse(const char *text, size_t len, const char *filename,
                       chime_dotenv_visit_fn visit, void *ctx, struct chime_diag *diag)
{
    char *scratch = chime__malloc(len + 2);
    if (!scratch)
        return chime_diag_set(diag, CHIME_ENOMEM, "CHIME_ENV_FILE", "out of memory");
    struct dotenv_line l = { .file = filename ? filename : ".env", .diag = diag };
    const char *p = text, *end = text + len;
    int err = 0;
    while (!err && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        l.line++;
        l.p = p;
        l.end = (eol > p && eol[-1] == '\r') ? eol - 1 : eol;
        bool assign;
        char *value = NULL;
        err = parse_line(&l, scratch, &value, &assign);
        if (!err && assign)
            err = visit(scratch, value, l.line, ctx);
        p = nl ? nl + 1 : end;
    }
    chime__free(scratch);
    return err;
}

static int read_all(int fd, const char *path, char **out, size_t *out_len, struct chime_diag *diag)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return chime_diag_set(diag, CHIME_EIO, "CHIME_ENV_FILE", "%.200s: %s", path,
                              strerror(errno));
    if (!S_ISREG(st.st_mode) || st.st_size > DOTENV_MAX_BYTES)
        return chime_diag_set(diag, CHIME_EINVAL, "CHIME_ENV_FILE",
                              "%.200s: not a regular file of at most 1 MiB", path);
    char *buf = chime__malloc((size_t)st.st_size + 1);
    if (!buf)
        return chime_diag_set(diag, CHIME_ENOMEM, "CHIME_ENV_FILE", "out of memory");
    size_t n = 0;
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

int chime_dotenv_load(const char *path, bool required, chime_dotenv_visit_fn visit, void *ctx,
                      struct chime_diag *diag)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !required)
        return 0;
    if (fd < 0)
        return chime_diag_set(diag, errno == ENOENT ? CHIME_ENOENT : CHIME_EIO, "CHIME_ENV_FILE",
                              "cannot open the .env file %.200s: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0;
    int err = read_all(fd, path, &text, &len, diag);
    close(fd);
    if (err)
        return err;
    err = chime_dotenv_parse(text, len, path, visit, ctx, diag);
    chime__free(text);
    return err;
}
