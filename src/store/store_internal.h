/*
 * What the store implementations share with store.c: their constructors.
 */
#ifndef CHIME_STORE_INTERNAL_H
#define CHIME_STORE_INTERNAL_H

#include "store/store.h"

/* How many runs the memory store keeps (a ring: older ones are dropped). */
#define CHIME_MEMORY_RUNS_KEPT 10000

int chime__store_memory_open(const struct chime_job_defaults *defaults, size_t runs_kept,
                             struct chime_store **out);
int chime__store_sqlite_open(const char *path, const struct chime_job_defaults *defaults,
                             struct chime_store **out, struct chime_diag *diag);

int chime__store_pg_open(const char *url, const struct chime_job_defaults *defaults,
                         const struct chime_store_options *opts, struct chime_store **out,
                         struct chime_diag *diag);

#endif /* CHIME_STORE_INTERNAL_H */
