/*
 * Opening a store by URL (the DATABASE_URL setting) and the few functions
 * every store shares: close and the claim batch release.
 */
#include <string.h>

#include "base/base.h"
#include "store/store_internal.h"

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int open_sqlite_path(const char *url, const char *path,
                            const struct chime_job_defaults *defaults, struct chime_store **out,
                            struct chime_diag *diag)
{
    if (!*path)
        return chime_diag_set(diag, CHIME_EINVAL, "DATABASE_URL",
                              "DATABASE_URL \"%s\" names no SQLite file", url);
    return chime__store_sqlite_open(path, defaults, out, diag);
}

/*
 * APS-COMPAT: SQLite URLs read as SQLAlchemy reads them, so the reference
 * service's DATABASE_URL means the same file: "sqlite:///chime.db" and
 * "sqlite:///./chime.db" are relative to the working directory,
 * "sqlite:////var/lib/chime.db" (four slashes) is absolute. A host part
 * ("sqlite://host/x.db") is refused, as SQLAlchemy refuses it.
 */
static int open_sqlite_url(const char *url, const struct chime_job_defaults *defaults,
                           struct chime_store **out, struct chime_diag *diag)
{
    const char *rest = url + strlen("sqlite://");
    if (*rest == '\0')
        return open_sqlite_path(url, rest, defaults, out, diag);
    if (*rest != '/')
        return chime_diag_set(diag, CHIME_EINVAL, "DATABASE_URL",
                              "DATABASE_URL \"%.200s\": a sqlite URL has no host part: use "
                              "sqlite:///relative/path.db or sqlite:////absolute/path.db",
                              url);
    return open_sqlite_path(url, rest + 1, defaults, out, diag);
}

int chime_store_open(const char *url, const struct chime_job_defaults *defaults,
                     struct chime_store **out, struct chime_diag *diag)
{
    return chime_store_open_opts(url, defaults, NULL, out, diag);
}

int chime_store_open_opts(const char *url, const struct chime_job_defaults *defaults,
                          const struct chime_store_options *opts, struct chime_store **out,
                          struct chime_diag *diag)
{
    *out = NULL;
    if (!url || !*url)
        return chime_diag_set(diag, CHIME_EINVAL, "DATABASE_URL", "DATABASE_URL is empty");
    if (!strcmp(url, "memory://"))
        return chime__store_memory_open(defaults, CHIME_MEMORY_RUNS_KEPT, out);
    if (has_prefix(url, "sqlite://"))
        return open_sqlite_url(url, defaults, out, diag);
    if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://"))
        return chime__store_pg_open(url, defaults, opts, out, diag);
    if (!strstr(url, "://") && has_suffix(url, ".db"))
        return open_sqlite_path(url, url, defaults, out, diag);
    return chime_diag_set(
            diag, CHIME_EINVAL, "DATABASE_URL",
            "DATABASE_URL \"%.200s\" is not supported: use memory://, "
            "sqlite:///relative/file.db, sqlite:////absolute/file.db, a path ending in .db "
            "or postgresql://user:password@host:port/database",
            url);
}

void chime_store_close(struct chime_store *store)
{
    if (store)
        store->ops->close(store);
}

void chime_claim_batch_release(struct chime_claim_batch *batch)
{
    if (!batch)
        return;
    for (size_t i = 0; i < batch->n_claims; i++) {
        chime_job_release(&batch->claims[i].job);
        chime_run_release(&batch->claims[i].run);
    }
    chime__free(batch->claims);
    batch->claims = NULL;
    batch->n_claims = 0;
    batch->cap = 0;
    for (size_t i = 0; i < batch->n_replaces; i++)
        chime__free(batch->replaces[i].job_id);
    chime__free(batch->replaces);
    batch->replaces = NULL;
    batch->n_replaces = batch->cap_replaces = 0;
}
