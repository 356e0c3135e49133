/*
 * What the job model's files share: the field readers that a request body
 * and a stored job have in common, so both are validated by the same code.
 */
#ifndef CHIME_JOB_INTERNAL_H
#define CHIME_JOB_INTERNAL_H

#include "job/job.h"

/* Reads coalesce, misfire_grace_time, max_instances of obj (request spelling). */
int chime__job_read_policy(const json_t *obj, struct chime_job_policy *p, struct chime_diag *diag);
/* Reads timeout, retries, retry_backoff, retry_jitter, overlap of obj (job_options.c);
 * absent or null = the default. 0 or CHIME_EINVAL with diag naming the field. */
int chime__job_read_options(const json_t *obj, struct chime_job_policy *p,
                            struct chime_diag *diag);
/* Sets the options that differ from their defaults on o (0, or non-0 on OOM). */
int chime__job_set_options(json_t *o, const struct chime_job_policy *p);
/* Appends the same as ,"key":value text. 0 or CHIME_ENOMEM. */
int chime__job_put_options(struct chime_text *t, const struct chime_job_policy *p);
bool chime__job_options_equal(const struct chime_job_policy *a, const struct chime_job_policy *b);
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
