/*
 * The names of the job stores a job may name in its "jobstore" field:
 * "default" always, plus those the daemon configured (CHIME_JOBSTORES).
 * Set once at start-up, before any request is parsed; read-only after.
 */
#include <string.h>

#include "base/base.h"
#include "job/job.h"

#define MAX_NAMES 16

static char names[MAX_NAMES][64];
static size_t n_names;

int chime_jobstores_set(const char *const *list, size_t n)
{
    if (n > MAX_NAMES)
        return CHIME_ERANGE;
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) >= sizeof(names[0]))
            return CHIME_ERANGE;
    for (size_t i = 0; i < n; i++)
        chime__strlcpy(names[i], list[i], sizeof(names[0]));
    n_names = n;
    return 0;
}

bool chime_jobstore_known(const char *name)
{
    if (!strcmp(name, "default"))
        return true;
    for (size_t i = 0; i < n_names; i++)
        if (!strcmp(names[i], name))
            return true;
    return false;
}
