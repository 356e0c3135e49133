/*
 * A .env file reader: the `KEY=VALUE` files docker-compose, python-dotenv and
 * pydantic's BaseSettings read (APS-COMPAT: the reference service reads its
 * settings from one). Lines are `KEY=VALUE`, `export KEY=VALUE`, blank, or
 * `# comments`; values are unquoted (trimmed, ` #` starts a comment),
 * 'single-quoted' (literal) or "double-quoted" (\n \t \r \" \\ \$ escapes).
 * A quoted value ends on its own line (no multi-line values). A malformed line
 * is an error naming file:line. The text is untrusted (fuzzed).
 */
#ifndef CHIME_CONFIG_DOTENV_H
#define CHIME_CONFIG_DOTENV_H

#include <chime/chime.h>
#include <stdbool.h>
#include <stddef.h>

/* Called once per assignment, in file order; key and value are borrowed for
 * the call. A non-0 return stops the parse and is returned by it. */
typedef int (*chime_dotenv_visit_fn)(const char *key, const char *value, int line, void *ctx);

/**
 * Parses len bytes of .env text (need not be NUL-terminated; a NUL byte is an
 * error). filename is only used in messages. Returns 0, the visitor's non-0
 * return, CHIME_EINVAL with diag "<filename>:<line>: <problem>" (field
 * "CHIME_ENV_FILE"), or CHIME_ENOMEM. Thread-safe.
 */
int chime_dotenv_parse(const char *text, size_t len, const char *filename,
                       chime_dotenv_visit_fn visit, void *ctx, struct chime_diag *diag);

/**
 * Reads and parses the file at path. A missing file is 0 (nothing visited)
 * unless required, then CHIME_ENOENT with diag; an unreadable one CHIME_EIO.
 * Files over 1 MiB are refused (CHIME_EINVAL). Otherwise as chime_dotenv_parse.
 */
int chime_dotenv_load(const char *path, bool required, chime_dotenv_visit_fn visit, void *ctx,
                      struct chime_diag *diag);

#endif /* CHIME_CONFIG_DOTENV_H */
