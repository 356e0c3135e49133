/*
 * The date trigger: fires once, at run_date (read in the trigger's zone when
 * it has no offset), or at creation time without one. A run_date in the past
 * is accepted, as in APScheduler: it comes due at once and the scheduler's
 * misfire rules decide.
 */
#include "trigger/trigger_internal.h"

static const char *const date_keys[] = { "run_date", "timezone", NULL };

int chime__date_parse(struct chime_trigger *trig, const json_t *args, chime_utime now,
                      struct chime_diag *diag)
{
    int rc = chime__targ_check_keys(args, "date", date_keys, diag);
    if (rc == 0)
        rc = chime__targ_date(trig, args, "run_date", &trig->run_date, diag);
    if (rc != 0)
        return rc;
    /*
     * APS-COMPAT: DateTrigger(run_date=None) runs at datetime.now(tz); the
     * normalized args keep that instant, so a reload does not move it.
     */
    if (trig->run_date == CHIME_UTIME_NONE)
        trig->run_date = now;
    if (json_object_set_new(trig->args, "timezone", json_string(chime_zone_name(trig->zone))) ||
        chime__targ_set_time(trig->args, "run_date", trig->run_date, trig->zone))
        return chime_diag_set(diag, CHIME_ENOMEM, "trigger_args", "Out of memory.");
    return 0;
}

chime_utime chime__date_next(const struct chime_trigger *trig, chime_utime prev)
{
    return prev == CHIME_UTIME_NONE ? trig->run_date : CHIME_UTIME_NONE;
}
