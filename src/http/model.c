/*
 * The job request model of the reference service (pydantic 1.10):
 * func: str, trigger: str (required), trigger_args: dict = {},
 * name: Optional[str] = None, jobstore: str = "default". Checked field by
 * field in that order, collecting every error as pydantic does, before the
 * semantic validation of chime_job_from_request. A PATCH body goes through
 * the same checks with every field optional, so a structural error answers
 * the same 422 on both. APS-COMPAT: pydantic v1 coerces numbers and booleans
 * to str fields (1 -> "1", 1.5 -> "1.5", true -> "True"), so chime does too,
 * in place in the body.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "http/http_internal.h"

enum field_kind { FIELD_STR, FIELD_DICT };

/* What a null value does: refused (422), dropped (= absent), or kept as is. */
enum field_null { NULL_REFUSED, NULL_DROPPED, NULL_KEPT };

struct field {
    const char *name;
    enum field_kind kind;
    bool required;
    enum field_null null;
};

static const struct field job_fields[] = {
    { "func", FIELD_STR, true, NULL_REFUSED },
    { "trigger", FIELD_STR, true, NULL_REFUSED },
    { "trigger_args", FIELD_DICT, false, NULL_REFUSED },
    { "name", FIELD_STR, false, NULL_DROPPED },
    { "jobstore", FIELD_STR, false, NULL_REFUSED },
};

/* The model fields a PATCH may change (other keys are the scheduler's to
 * refuse); a null name stays in the patch: it resets the name to the
 * default, as on create. */
static const struct field patch_fields[] = {
    { "func", FIELD_STR, false, NULL_REFUSED },
    { "trigger", FIELD_STR, false, NULL_REFUSED },
    { "trigger_args", FIELD_DICT, false, NULL_REFUSED },
    { "name", FIELD_STR, false, NULL_KEPT },
};

/* Python's repr() of a float: the shortest digits that read back the same. */
static void float_repr(double v, char *buf, size_t size)
{
    char e[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec, v);
        if (strtod(e, NULL) == v)
            break;
    }
    char digits[24];
    size_t nd = 0;
    const char *p = e + (e[0] == '-');
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    int exp10 = atoi(p + 1);
    const char *sign = v < 0 ? "-" : "";
    if (exp10 < -4 || exp10 >= 16) {
        snprintf(buf, size, "%s%c%s%s%se%c%02d", sign, digits[0], nd > 1 ? "." : "", digits + 1, "",
                 exp10 < 0 ? '-' : '+', abs(exp10));
    } else if (exp10 < 0) {
        snprintf(buf, size, "%s0.%.*s%s", sign, -exp10 - 1, "0000", digits);
    } else if ((size_t)exp10 + 1 >= nd) {
        snprintf(buf, size, "%s%s%.*s.0", sign, digits, (int)((size_t)exp10 + 1 - nd),
                 "0000000000000000");
    } else {
        snprintf(buf, size, "%s%.*s.%s", sign, exp10 + 1, digits, digits + exp10 + 1);
    }
}

/* The str pydantic v1 makes of a number or bool; NULL when it would not. */
static json_t *coerce_str(const json_t *v)
{
    char buf[64];
    if (json_is_integer(v))
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v) && isfinite(json_real_value(v)))
        float_repr(json_real_value(v), buf, sizeof(buf));
    else if (json_is_boolean(v))
        snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "True" : "False");
    else
        return NULL;
    return json_string(buf);
}

/* Checks one field; appends an error entry to errors when it is wrong. */
static int check_field(json_t *body, const struct field *f, json_t *errors)
{
    json_t *v = json_object_get(body, f->name);
    const char *msg = NULL, *type = NULL;
    if (!v) {
        if (f->required)
            msg = "field required", type = "value_error.missing";
    } else if (json_is_null(v)) {
        if (f->null == NULL_KEPT)
            return 0;
        if (f->null == NULL_DROPPED)
            return json_object_del(body, f->name) < 0 ? CHIME_ENOMEM : 0;
        msg = "none is not an allowed value", type = "type_error.none.not_allowed";
    } else if (f->kind == FIELD_DICT) {
        if (!json_is_object(v))
            msg = "value is not a valid dict", type = "type_error.dict";
    } else if (!json_is_string(v)) {
        json_t *s = coerce_str(v);
        if (s)
            return json_object_set_new(body, f->name, s) < 0 ? CHIME_ENOMEM : 0;
        msg = "str type expected", type = "type_error.str";
    }
    if (!msg)
        return 0;
    json_t *entry = chime__http_error_entry(f->name, msg, type);
    return entry && json_array_append_new(errors, entry) == 0 ? 0 : CHIME_ENOMEM;
}

/* Checks body against fields, collecting every error; false with a 422 (or 503) in rep. */
static bool check_model(json_t *body, const struct field *fields, size_t n_fields,
                        struct chime__http_reply *rep)
{
    json_t *errors = json_array();
    int rc = errors ? 0 : CHIME_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n_fields; i++)
        rc = check_field(body, &fields[i], errors);
    if (rc < 0) {
        json_decref(errors);
        chime__http_reply_json(rep, 503, NULL);
        return false;
    }
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return true;
    }
    chime__http_reply_422(rep, errors);
    return false;
}

bool chime__http_body_check_job(json_t *body, struct chime__http_reply *rep)
{
    return check_model(body, job_fields, sizeof(job_fields) / sizeof(job_fields[0]), rep);
}

bool chime__http_body_check_patch(json_t *body, struct chime__http_reply *rep)
{
    return check_model(body, patch_fields, sizeof(patch_fields) / sizeof(patch_fields[0]), rep);
}
