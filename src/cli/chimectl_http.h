/*
 * chimectl's small HTTP client for the chimed REST API, on libcurl: one
 * blocking request at a time against a base URL, with the bearer token from
 * the environment, a 10 s timeout, and the reply body and X-Next-Cursor
 * header collected for the caller.
 */
#ifndef CHIME_CLI_CHIMECTL_HTTP_H
#define CHIME_CLI_CHIMECTL_HTTP_H

#include <stddef.h>

#define CHIMECTL_DEFAULT_URL "http://127.0.0.1:8000"
#define CHIMECTL_TIMEOUT_S   10L

struct chimectl_http {
    const char *base_url; /* borrowed; no trailing slash needed */
    const char *token;    /* borrowed; NULL or empty = no Authorization header */
    void *curl;           /* CURL *, owned */
};

struct chimectl_reply {
    long status;       /* HTTP status */
    char *body;        /* NUL-terminated, owned */
    size_t len;        /* bytes in body */
    char *next_cursor; /* X-Next-Cursor header value, or NULL; owned */
};

/**
 * Opens a client for base_url (borrowed, must outlive the client) with the
 * token (borrowed, may be NULL). Returns 0, or -1 after printing why.
 */
int chimectl_http_open(struct chimectl_http *http, const char *base_url, const char *token);
void chimectl_http_close(struct chimectl_http *http);

/**
 * Sends method path (path starts with '/', already escaped) with an optional
 * JSON body (borrowed, may be NULL) and waits for the whole reply (*out, which
 * the caller releases). Returns 0 for any HTTP answer, whatever its status,
 * or -1 after printing a message naming the URL when there is no answer
 * (connection refused, timeout, bad URL).
 */
int chimectl_http_request(struct chimectl_http *http, const char *method, const char *path,
                          const char *body, struct chimectl_reply *out);
void chimectl_reply_release(struct chimectl_reply *reply);

/** Percent-escapes s for a path segment or query value; NULL on out of memory. Free with
 * chime__free. */
char *chimectl_http_escape(const char *s);

#endif /* CHIME_CLI_CHIMECTL_HTTP_H */
