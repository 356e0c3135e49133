/*
 * Webhook calls for the chime:http job function: one HTTP(S) request per
 * run with libcurl (an easy handle per call, so any number of executor
 * threads may call at once), redirects followed a few times and only to
 * http/https, a whole-request timeout, and the response status plus the tail
 * of the body recorded. Also the checks of the request's JSON description
 * (the function's kwargs), shared by job creation and the call itself.
 */
#ifndef CHIME_EXEC_WEBHOOK_H
#define CHIME_EXEC_WEBHOOK_H

#include <chime/chime.h>
#include <jansson.h>

#define CHIME_WEBHOOK_MAX_EXPECT  32      /* expected statuses listed */
#define CHIME_WEBHOOK_MAX_REDIRS  5       /* redirects followed */
#define CHIME_WEBHOOK_TAIL_BYTES  65536   /* response body bytes kept */
#define CHIME_WEBHOOK_TIMEOUT_MAX 86400.0 /* seconds */

/* A checked request; the JSON values are borrowed from the kwargs it came from. */
struct chime_webhook_req {
    const char *url;       /* http:// or https:// */
    char method[8];        /* GET, POST, PUT, PATCH, DELETE or HEAD */
    const json_t *headers; /* object of strings, or NULL */
    const json_t *body;    /* NULL: none; a string: sent as is; else sent as JSON */
    double timeout_s;      /* > 0 */
    int expect[CHIME_WEBHOOK_MAX_EXPECT];
    size_t n_expect; /* 0 = any 2xx */
};

struct chime_webhook_result {
    bool ok;         /* the status is an expected one */
    long status;     /* HTTP status of the last response, 0 if none */
    char *body_tail; /* last CHIME_WEBHOOK_TAIL_BYTES of the body, valid UTF-8; never NULL on 0 */
    int64_t duration_ms; /* whole request, redirects included */
    char *error;         /* NULL when ok, else why ("HTTP 503 (expected 2xx)", ...) */
    bool timed_out;      /* the timeout expired before the exchange ended */
};

/**
 * Checks a chime:http call's bound kwargs (url, method, headers, body,
 * timeout, expect_status) and fills *out (borrowing from kwargs). 0, or
 * CHIME_EINVAL with diag naming the field ("kwargs.url", ...). Thread-safe.
 */
int chime__webhook_parse(const json_t *kwargs, struct chime_webhook_req *out,
                         struct chime_diag *diag);

/** Initializes libcurl once per process (later calls do nothing). 0 or CHIME_EIO. Thread-safe. */
int chime__webhook_global_init(void);

/**
 * Makes the request. Returns 0 when a result was produced — the request may
 * still have failed (out->ok false, out->error says why) — or CHIME_ENOMEM /
 * CHIME_EIO (libcurl unusable); release out in every case. Thread-safe.
 */
int chime__webhook_call(const struct chime_webhook_req *req, struct chime_webhook_result *out);

/** Frees what a result owns. Safe on a zeroed result and twice. */
void chime__webhook_result_release(struct chime_webhook_result *res);

/**
 * The last max bytes of s (len bytes) as a new NUL-terminated valid UTF-8
 * string: the cut never splits a character, invalid bytes and NULs become
 * U+FFFD. chime__malloc'd; NULL on out of memory. Thread-safe.
 */
char *chime__text_tail(const char *s, size_t len, size_t max);

#endif /* CHIME_EXEC_WEBHOOK_H */
