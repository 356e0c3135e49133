/*
 * libFuzzer target for RFC 3339 parsing: any input either parses, or fails
 * with a diagnostic naming the field; whatever parses must format and parse
 * back to the same instant (in UTC always, in the default zone whenever the
 * local year still has four digits).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "time/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct chime_zone *pick_zone(uint8_t selector)
{
    static const char *const names[] = { "Europe/Berlin", "Australia/Lord_Howe",
                                         "America/New_York" };
    const struct chime_zone *z = chime_zone_utc();
    if (selector % 4 < 3)
        (void)chime_zone_find(names[selector % 4], &z);
    return z;
}

static void check_round_trip(chime_utime t, const struct chime_zone *zone)
{
    char buf[CHIME_TIME_FORMAT_MAX];
    chime_utime back = 0;
    bool has = false;
    chime_time_format(t, zone, buf);
    bool four_digit_year = buf[0] != '-' && buf[4] == '-' && strncmp(buf, "0000", 4) != 0;
    if (!four_digit_year)
        return;
    if (chime_time_parse(buf, NULL, "fuzz", &back, &has, NULL) != 0 || back != t || !has)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 256)
        return 0;
    const struct chime_zone *zone = pick_zone(data[0]);
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    struct chime_diag diag;
    chime_diag_clear(&diag);
    chime_utime t = 0;
    bool has = false;
    int rc = chime_time_parse(text, data[0] & 0x80 ? NULL : zone, "fuzz", &t, &has, &diag);
    if (rc == 0) {
        check_round_trip(t, chime_zone_utc());
        check_round_trip(t, zone);
    } else if (rc != CHIME_EINVAL || strcmp(diag.field, "fuzz") != 0 ||
               strstr(diag.message, "fuzz") == NULL) {
        abort();
    }
    free(text);
    return 0;
}
