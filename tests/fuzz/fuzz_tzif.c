/*
 * libFuzzer target for the TZif reader (and, through the footer, the POSIX
 * TZ rule parser): arbitrary bytes must be refused or yield a zone whose
 * queries (offset_at, to_local, from_local) run without fault or overflow
 * at any instant.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "time/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void query(const struct chime_zone *z, chime_utime t)
{
    struct chime_civil c;
    int32_t off = chime_zone_offset_at(z, t);
    chime_zone_to_local(z, t, &c, &off);
    if (chime_civil_check(&c) != 0)
        return;
    struct chime_local_result r;
    chime_zone_from_local(z, &c, &r);
    if (r.earlier > r.later)
        abort();
    char buf[CHIME_TIME_FORMAT_MAX];
    chime_time_format(t, z, buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chime_zone *z = NULL;
    if (chime_zone_parse_tzif("fuzz", data, size, &z) != 0)
        return 0;
    static const chime_utime fixed[] = {
        INT64_MIN,
        INT64_MAX,
        0,
        -62135596800LL * 1000000,
        253402300799LL * 1000000,
        1795000000LL * 1000000,
        4102444800LL * 1000000,
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        query(z, fixed[i]);
    if (size >= 8) {
        uint64_t v;
        memcpy(&v, data + size - 8, 8);
        /* Keep it within years 1..9999 so from_local is exercised too. */
        query(z, (chime_utime)(v % (315537897600ULL * 1000000)) - 62135596800LL * 1000000);
    }
    chime_zone_free(z);
    return 0;
}
