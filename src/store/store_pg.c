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

/* The first connection: reachable, schema up to date, this node registered. */
static int pg_setup(struct pg_store *ps, struct chime_diag *diag)
{
    char err[256];
    PGconn *conn = chime__pg_connect(ps->conninfo, err, sizeof(err));
    if (!conn)
        return chime_diag_set(diag, CHIME_ESTORE, "DATABASE_URL",
                              "cannot connect to PostgreSQL: %s", err);
    int rc = chime__pg_migrate(ps, conn, diag);
    if (rc == 0)
        rc = chime__pg_node_register(ps, conn, diag);
    PQfinish(conn);
    return rc;
}

int chime__store_pg_open(const char *url, const struct chime_job_defaults *defaults,
                         const struct chime_store_options *opts, struct chime_store **out,
                         struct chime_diag *diag)
{
    struct pg_store *ps = pg_new(url, defaults, opts);
    if (!ps)
        return chime_diag_set(diag, CHIME_ENOMEM, "DATABASE_URL", "out of memory");
    int rc = pg_setup(ps, diag);
    if (rc == 0 && (rc = chime__pg_maint_start(ps)) != 0)
        chime_diag_set(diag, rc, "DATABASE_URL", "cannot start the PostgreSQL maintenance thread");
    if (rc) {
        pg_close(&ps->base);
        return rc;
    }
    atomic_store(&ps->up, true);
    *out = &ps->base;
    return 0;
}
