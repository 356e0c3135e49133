/*
 * Internals shared by the `chimectl jobs` files: a growable string, an
 * aligned text table, and the printers that turn chimed's JSON replies
 * (jobs, runs, error details) into human output.
 */
#ifndef CHIME_CLI_CHIMECTL_JOBS_H
#define CHIME_CLI_CHIMECTL_JOBS_H

#include "cli/chimectl_http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A growable NUL-terminated string; failed is set (and stays) on out of memory. */
struct chimectl_str {
    char *s;
    size_t len, cap;
    bool failed;
};
void chimectl_str_addf(struct chimectl_str *str, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Appends "<sep>key=<escaped value>" to a URL; sep is '?' for the first parameter, else '&'. */
void chimectl_str_add_query(struct chimectl_str *str, const char *key, const char *value);
void chimectl_str_release(struct chimectl_str *str);

/* A table of text cells printed with aligned columns (the last is not padded). */
struct chimectl_table {
    const char *const *headers; /* borrowed, n_cols entries */
    size_t n_cols, n_rows, cap;
    char **cells; /* n_rows * n_cols strings, owned */
    bool failed;
};
void chimectl_table_init(struct chimectl_table *t, const char *const *headers, size_t n_cols);
/* Adds a row of n_cols cells, each copied; NULL cells print as "-". */
void chimectl_table_add(struct chimectl_table *t, const char *const *cells);
/* Prints the header and rows to stdout; 0, or -1 if an earlier add ran out of memory. */
int chimectl_table_print(const struct chimectl_table *t);
void chimectl_table_release(struct chimectl_table *t);

/* The row of `jobs list` for one job object (cells written into cells[5], owned by the table). */
void chimectl_job_row(struct chimectl_table *t, const json_t *job);
/* The row of `jobs runs` for one run object: RUN JOB SCHEDULED ATTEMPT STATUS RESULT
 * LATENESS DURATION ERROR. */
#define CHIMECTL_RUN_COLUMNS 9
void chimectl_run_row(struct chimectl_table *t, const json_t *run);
/* Prints an object's members as aligned "key: value" lines. */
void chimectl_print_fields(const json_t *obj);

/**
 * Prints a non-2xx reply as `chimectl: <status>: <detail>` lines on stderr:
 * one line per item of a 422 list detail (loc and msg). has_token tells
 * whether a 401 needs the CHIME_API_TOKEN hint.
 */
void chimectl_print_http_error(const struct chimectl_reply *reply, bool has_token);

/** Writes the reply body to stdout as received, ending in a newline. */
void chimectl_print_verbatim(const struct chimectl_reply *reply);

#endif /* CHIME_CLI_CHIMECTL_JOBS_H */
