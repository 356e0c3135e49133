/*
 * Zone lookup by IANA name. Interim version: only "UTC" is known until the
 * TZif reader lands; every other name answers CHIME_ENOENT.
 */
#include "time/tz_internal.h"

#include <string.h>

int chime_zone_find(const char *name, const struct chime_zone **out)
{
    if (name && strcmp(name, "UTC") == 0) {
        *out = chime_zone_utc();
        return 0;
    }
    return CHIME_ENOENT;
}

const struct chime_zone *chime_zone_local(void)
{
    return chime_zone_utc();
}
