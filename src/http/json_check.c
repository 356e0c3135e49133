/*
 * A JSON syntax check that fails exactly where Python's json module fails,
 * with its messages ("Expecting value", "Expecting ',' delimiter", ...) and
 * its position in characters, so a malformed body gets the 422 FastAPI 0.92
 * answers ({"loc": ["body", pos], "msg": "Expecting value: line 1 column 1
 * (char 0)"}). APS-COMPAT: the reference service decodes with json.loads;
 * the body itself is then parsed by jansson. Nesting is capped (Python would
 * fail with a RecursionError, a 500).
 */
#include <string.h>

#include "http/http_internal.h"

#define MAX_DEPTH 512

struct scan {
    const unsigned char *s;
    size_t len;
    const char *msg; /* first error */
    size_t pos;      /* byte offset of the error */
};

static bool fail(struct scan *sc, const char *msg, size_t pos)
{
    sc->msg = msg;
    sc->pos = pos;
    return false;
}

static size_t skip_ws(const struct scan *sc, size_t i)
{
    while (i < sc->len && strchr(" \t\n\r", sc->s[i]) && sc->s[i])
        i++;
    return i;
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool hex4(const struct scan *sc, size_t at)
{
    for (size_t k = 0; k < 4; k++)
        if (!is_hex(sc->s[at + k]))
            return false;
    return true;
}

/* A \u escape; i at the 'u'. Returns the index after it, 0 on error. */
static size_t scan_uescape(struct scan *sc, size_t i)
{
    if (i + 5 > sc->len || (i + 5 == sc->len))
        return fail(sc, "Invalid \\uXXXX escape", i), 0;
    if (!hex4(sc, i + 1))
        return fail(sc, "Invalid \\uXXXX escape", i), 0;
    bool high = (sc->s[i + 1] == 'd' || sc->s[i + 1] == 'D') && strchr("89abAB", sc->s[i + 2]);
    i += 5;
    if (high && i + 6 < sc->len && sc->s[i] == '\\' && sc->s[i + 1] == 'u') {
        if (!hex4(sc, i + 2))
            return fail(sc, "Invalid \\uXXXX escape", i + 1), 0;
        i += 6;
    }
    return i;
}

/* A string; i just after the opening quote. Returns the index after it, 0 on error. */
static size_t scan_string(struct scan *sc, size_t i)
{
    size_t begin = i - 1;
    for (;;) {
        while (i < sc->len && sc->s[i] != '"' && sc->s[i] != '\\') {
            if (sc->s[i] < 0x20)
                return fail(sc, "Invalid control character at", i), 0;
            i++;
        }
        if (i >= sc->len || (sc->s[i] == '\\' && i + 1 >= sc->len))
            return fail(sc, "Unterminated string starting at", begin), 0;
        if (sc->s[i] == '"')
            return i + 1;
        unsigned char c = sc->s[i + 1];
        if (c == 'u') {
            i = scan_uescape(sc, i + 1);
            if (!i)
                return 0;
            continue;
        }
        if (!c || !strchr("\"\\/bfnrt", c))
            return fail(sc, "Invalid \\escape", i), 0;
        i += 2;
    }
}

static size_t digits(const struct scan *sc, size_t i)
{
    while (i < sc->len && sc->s[i] >= '0' && sc->s[i] <= '9')
        i++;
    return i;
}

/* Python's NUMBER_RE: (-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?; 0 when none matches. */
static size_t scan_number(const struct scan *sc, size_t i)
{
    size_t j = i + (sc->s[i] == '-');
    if (j >= sc->len || sc->s[j] < '0' || sc->s[j] > '9')
        return 0;
    j = sc->s[j] == '0' ? j + 1 : digits(sc, j);
    if (j + 1 < sc->len && sc->s[j] == '.' && digits(sc, j + 1) > j + 1)
        j = digits(sc, j + 1);
    if (j < sc->len && (sc->s[j] == 'e' || sc->s[j] == 'E')) {
        size_t k = j + 1 + (j + 1 < sc->len && (sc->s[j + 1] == '+' || sc->s[j + 1] == '-'));
        if (digits(sc, k) > k)
            j = digits(sc, k);
    }
    return j;
}

static size_t scan_value(struct scan *sc, size_t i, int depth);

static size_t scan_array(struct scan *sc, size_t i, int depth)
{
    i = skip_ws(sc, i);
    if (i < sc->len && sc->s[i] == ']')
        return i + 1;
    for (;;) {
        i = scan_value(sc, i, depth + 1);
        if (!i)
            return 0;
        i = skip_ws(sc, i);
        if (i < sc->len && sc->s[i] == ']')
            return i + 1;
        if (i >= sc->len || sc->s[i] != ',')
            return fail(sc, "Expecting ',' delimiter", i), 0;
        i = skip_ws(sc, i + 1);
    }
}

static size_t scan_member(struct scan *sc, size_t i, int depth)
{
    if (i >= sc->len || sc->s[i] != '"')
        return fail(sc, "Expecting property name enclosed in double quotes", i), 0;
    i = scan_string(sc, i + 1);
    if (!i)
        return 0;
    i = skip_ws(sc, i);
    if (i >= sc->len || sc->s[i] != ':')
        return fail(sc, "Expecting ':' delimiter", i), 0;
    return scan_value(sc, skip_ws(sc, i + 1), depth + 1);
}

static size_t scan_object(struct scan *sc, size_t i, int depth)
{
    i = skip_ws(sc, i);
    if (i < sc->len && sc->s[i] == '}')
        return i + 1;
    for (;;) {
        i = scan_member(sc, i, depth);
        if (!i)
            return 0;
        i = skip_ws(sc, i);
        if (i < sc->len && sc->s[i] == '}')
            return i + 1;
        if (i >= sc->len || sc->s[i] != ',')
            return fail(sc, "Expecting ',' delimiter", i), 0;
        i = skip_ws(sc, i + 1);
    }
}

static bool word_at(const struct scan *sc, size_t i, const char *word)
{
    size_t n = strlen(word);
    return i + n <= sc->len && memcmp(sc->s + i, word, n) == 0;
}

static size_t scan_value(struct scan *sc, size_t i, int depth)
{
    static const char *const words[] = { "null", "true", "false", "NaN", "Infinity", "-Infinity" };
    if (depth > MAX_DEPTH)
        return fail(sc, "Nesting too deep", i), 0;
    if (i >= sc->len)
        return fail(sc, "Expecting value", i), 0;
    if (sc->s[i] == '"')
        return scan_string(sc, i + 1);
    if (sc->s[i] == '{')
        return scan_object(sc, i + 1, depth);
    if (sc->s[i] == '[')
        return scan_array(sc, i + 1, depth);
    for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++)
        if (word_at(sc, i, words[k]))
            return i + strlen(words[k]);
    size_t end = scan_number(sc, i);
    return end ? end : (fail(sc, "Expecting value", i), 0);
}

/* Byte offset -> character index, line and column (as Python counts them). */
static void locate(const unsigned char *s, size_t pos, struct chime__json_error *out)
{
    size_t chars = 0, line = 1, line_start = 0;
    for (size_t i = 0; i < pos; i++) {
        if ((s[i] & 0xc0) == 0x80)
            continue;
        chars++;
        if (s[i] == '\n') {
            line++;
            line_start = chars;
        }
    }
    out->pos = chars;
    out->line = line;
    out->col = chars - line_start + 1;
}

bool chime__json_check(const char *text, size_t len, struct chime__json_error *out)
{
    struct scan sc = { (const unsigned char *)text, len, NULL, 0 };
    size_t end = scan_value(&sc, skip_ws(&sc, 0), 0);
    if (end) {
        end = skip_ws(&sc, end);
        if (end == len)
            return true;
        fail(&sc, "Extra data", end);
    }
    out->msg = sc.msg;
    locate(sc.s, sc.pos, out);
    return false;
}
