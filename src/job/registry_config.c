/*
 * The registry's process-wide configuration (chime_registry_configure): the
 * one piece of state the compiled-in functions read that is not part of a
 * call, today the chime:exec gate. Guarded by a mutex; readers take a copy.
 */
#include <pthread.h>
#include <string.h>

#include "base/base.h"
#include "job/registry_modules.h"

static pthread_mutex_t config_mu = PTHREAD_MUTEX_INITIALIZER;
static bool config_allow_exec;
static char *config_exec_allow; /* NULL = any executable */

int chime_registry_configure(const struct chime_registry_config *config, struct chime_diag *diag)
{
    const char *list = config ? config->exec_allow : NULL;
    char *copy = NULL;
    int rc = chime__exec_allow_parse(list, diag);
    if (rc)
        return rc;
    if (list && *list && !(copy = chime__strdup(list)))
        return chime_diag_set(diag, CHIME_ENOMEM, "", "out of memory");
    pthread_mutex_lock(&config_mu);
    char *old = config_exec_allow;
    config_allow_exec = config && config->allow_exec;
    config_exec_allow = copy;
    pthread_mutex_unlock(&config_mu);
    chime__free(old);
    return 0;
}

int chime__registry_exec_policy(bool *out_enabled, char **out_allow)
{
    int rc = 0;
    pthread_mutex_lock(&config_mu);
    *out_enabled = config_allow_exec;
    *out_allow = NULL;
    if (config_exec_allow && !(*out_allow = chime__strdup(config_exec_allow)))
        rc = CHIME_ENOMEM;
    pthread_mutex_unlock(&config_mu);
    return rc;
}
