/*
 * Error codes and user-facing diagnostics: the one table of CHIME_E* texts,
 * and the helpers that fill a struct chime_diag.
 */
#include "base.h"

#include <stdio.h>

const char *chime_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define CHIME__ERRNO_TEXT(name, value, text)                                                       \
    case (value):                                                                                  \
        return text;
        CHIME_ERRNO_MAP(CHIME__ERRNO_TEXT)
#undef CHIME__ERRNO_TEXT
    default:
        return "unknown error";
    }
}

void chime_diag_clear(struct chime_diag *diag)
{
    if (!diag)
        return;
    diag->field[0] = '\0';
    diag->message[0] = '\0';
}

int chime_diag_set(struct chime_diag *diag, int err, const char *field, const char *fmt, ...)
{
    if (!diag)
        return err;
    chime__strlcpy(diag->field, field ? field : "", sizeof(diag->field));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(diag->message, sizeof(diag->message), fmt, ap);
    va_end(ap);
    return err;
}
