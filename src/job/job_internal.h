/*
 * What the job model's files share: the field readers that a request body
 * and a stored job have in common, so both are validated by the same code.
 */
#ifndef CHIME_JOB_INTERNAL_H
#define CHIME_JOB_INTERNAL_H

#include "job/job.h"

/* Reads coalesce, misfire_grace_time, max_instances of obj (request spelling). */
int chime__job_read_policy(const json_t *obj, struct chime_job_policy *p, struct chime_diag *diag);
/* Checks an id (NULL = none given) and a name (NULL = none given). */
int chime__job_check_id_name(const char *id, const char *name, struct chime_diag *diag);
/* Optional / required string members (absent or null = NULL). */
int chime__job_opt_string(const json_t *obj, const char *key, const char **out,
                          struct chime_diag *diag);
int chime__job_req_string(const json_t *obj, const char *key, const char **out,
                          struct chime_diag *diag);
/* Compact text of a JSON value (v NULL = empty) in a chime__malloc'd string; NULL on OOM. */
char *chime__json_text(const json_t *v, const char *empty);
/* defaults->zone, else the host's local zone. */
const struct chime_zone *chime__job_default_zone(const struct chime_job_defaults *d);

#endif /* CHIME_JOB_INTERNAL_H */
