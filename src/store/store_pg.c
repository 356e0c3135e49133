/*
 * The PostgreSQL store: opening (connect, migrate, register this node,
 * start the maintenance thread) and closing, and its operations table.
 * DATABASE_URL is handed to libpq as it is, so every libpq URL form works
 * (postgresql://user:password@host:5432/db?sslmode=require, a Unix socket
 * with ?host=/run/postgresql, PG* environment variables for what it omits).
 */
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "store/store_internal.h"
#include "store/store_pg.h"

static void pg_close(struct chime_store *store)
{
    struct pg_store *ps = chime__pg_of(store);
    chime__pg_maint_stop(ps);
    if (chime__pg_flush_pending(ps) != 0)
        chime__log(CHIME_LOG_ERROR, "PostgreSQL store: %zu run outcomes could not be written",
                   ps->n_pending);
    for (size_t i = 0; i < ps->n_pending; i++)
        chime_run_release(&ps->pending[i]);
    chime__free(ps->pending);
    chime__pg_pool_close(ps);
    pthread_mutex_destroy(&ps->mu);
    pthread_mutex_destroy(&ps->wake_mu);
    pthread_cond_destroy(&ps->freed);
    chime__free(ps->conninfo);
    chime__free(ps->node);
    chime__free(ps);
}

const struct chime_store_ops chime__pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .add_job = chime__pg_add_job,
    .update_job = chime__pg_update_job,
    .remove_job = chime__pg_remove_job,
    .get_job = chime__pg_get_job,
    .list_jobs = chime__pg_list_jobs,
    .count_jobs = chime__pg_count_jobs,
    .next_due = chime__pg_next_due,
    .claim_retries = chime__pg_claim_retries,
    .next_retry = chime__pg_next_retry,
    .claim_due = chime__pg_claim_due,
    .claim_now = chime__pg_claim_now,
    .finish_run = chime__pg_finish_run,
    .finish_runs = chime__pg_finish_runs,
    .list_runs = chime__pg_list_runs,
    .prune_runs = chime__pg_prune_runs,
    .set_wake = chime__pg_set_wake,
    .healthy = chime__pg_healthy,
    .list_nodes = chime__pg_list_nodes,
    .count_by_state = chime__pg_count_by_state,
    .stats = chime__pg_stats,
};

static char *default_node(void)
{
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0 || !*host)
        chime__strlcpy(host, "localhost", sizeof(host));
    return chime__strdup(host);
}

static struct pg_store *pg_new(const char *url, const struct chime_job_defaults *defaults,
                               const struct chime_store_options *opts)
{
    struct pg_store *ps = chime__calloc(1, sizeof(*ps));
    if (!ps)
        return NULL;
    ps->base.ops = &chime__pg_ops;
    ps->defaults = *defaults;
    ps->conninfo = chime__strdup(url);
    ps->node = opts && opts->node && *opts->node ? chime__strdup(opts->node) : default_node();
    ps->heartbeat_ms = opts && opts->heartbeat_ms > 0 ? opts->heartbeat_ms : 1000;
    ps->node_timeout_ms = opts && opts->node_timeout_ms > 0 ? opts->node_timeout_ms : 3000;
    pthread_mutex_init(&ps->mu, NULL);
    pthread_mutex_init(&ps->wake_mu, NULL);
    pthread_cond_init(&ps->freed, NULL);
    if (!ps->conninfo || !ps->node) {
        pg_close(&ps->base);
        return NULL;
    }
    return ps;
}

/* No server answers at conninfo (libpq's ping: down, starting up or shutting
 * down), as against one that answers and refuses (authentication, no such
 * database) or a conninfo libpq cannot use. */
static bool server_unreachable(const char *conninfo)
{
    PGPing ping = PQping(conninfo);
    return ping == PQPING_NO_RESPONSE || ping == PQPING_REJECT;
}

int chime__pg_setup(struct pg_store *ps, struct chime_diag *diag, bool *unreachable)
{
    char err[256];
    *unreachable = false;
    PGconn *conn = chime__pg_connect(ps->conninfo, err, sizeof(err));
    if (!conn) {
        *unreachable = server_unreachable(ps->conninfo);
        pthread_mutex_lock(&ps->mu);
        chime__strlcpy(ps->last_error, err, sizeof(ps->last_error));
        pthread_mutex_unlock(&ps->mu);
        return chime_diag_set(diag, CHIME_ESTORE, "DATABASE_URL",
                              "cannot connect to PostgreSQL (DATABASE_URL): %s", err);
    }
    int rc = chime__pg_migrate(ps, conn, diag);
    if (rc == 0)
        rc = chime__pg_node_register(ps, conn, diag);
    /* Kept as the pool's first connection: one server round of connecting
     * less before the first claim. */
    if (rc != 0 || !chime__pg_pool_adopt(ps, conn))
        PQfinish(conn);
    if (rc == 0) {
        atomic_store(&ps->replace_pending, true); /* runs replaced while it was away */
        atomic_store(&ps->set_up, true);
    }
    return rc;
}

/*
 * Opens the store. With opts->wait_for_server (chimed), a server that does
 * not answer at all is waited for: the store opens not set up (every
 * operation fails with CHIME_ESTORE, healthy() is false with the connection
 * error, so /readyz is 503) and the maintenance thread retries the setup
 * with backoff until the server answers. Any other failure (bad URL,
 * authentication, no such database, schema) fails the open: waiting would
 * not heal it.
 */
int chime__store_pg_open(const char *url, const struct chime_job_defaults *defaults,
                         const struct chime_store_options *opts, struct chime_store **out,
                         struct chime_diag *diag)
{
    struct pg_store *ps = pg_new(url, defaults, opts);
    if (!ps)
        return chime_diag_set(diag, CHIME_ENOMEM, "DATABASE_URL", "out of memory");
    bool unreachable = false;
    struct chime_diag first;
    chime_diag_clear(&first);
    int rc = chime__pg_setup(ps, &first, &unreachable);
    if (rc && unreachable && opts && opts->wait_for_server) {
        chime__log(CHIME_LOG_ERROR,
                   "%s; waiting for the server (retrying with backoff; /readyz answers 503 "
                   "until it is reached)",
                   first.message);
        rc = 0;
    } else if (rc) {
        chime_diag_set(diag, rc, "DATABASE_URL", "%s", first.message);
    }
    if (rc == 0 && (rc = chime__pg_maint_start(ps)) != 0)
        chime_diag_set(diag, rc, "DATABASE_URL", "cannot start the PostgreSQL maintenance thread");
    if (rc) {
        pg_close(&ps->base);
        return rc;
    }
    atomic_store(&ps->up, atomic_load(&ps->set_up));
    *out = &ps->base;
    return 0;
}
