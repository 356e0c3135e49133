/*
 * Civil (proleptic Gregorian) calendar arithmetic: day numbers relative to
 * 1970-01-01 in the style of Howard Hinnant's days_from_civil algorithms
 * (400-year eras, March-based years so the leap day ends the year), and
 * conversions between instants and wall-clock times at a fixed UTC offset.
 * All arithmetic is int64, so any year the API allows (and far beyond) is
 * exact without overflow.
 */
#include "time/tz_internal.h"

#define DAYS_PER_ERA 146097 /* days in 400 Gregorian years */
#define EPOCH_SHIFT  719468 /* days from 0000-03-01 to 1970-01-01 */

int64_t chime_civil_days_from_date(int year, int month, int day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                    /* 0..399 */
    int64_t mp = month > 2 ? month - 3 : month + 9; /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + day - 1;     /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * DAYS_PER_ERA + doe - EPOCH_SHIFT;
}

void chime_civil_date_from_days(int64_t days, int *out_year, int *out_month, int *out_day)
{
    int64_t z = days + EPOCH_SHIFT;
    int64_t era = (z >= 0 ? z : z - (DAYS_PER_ERA - 1)) / DAYS_PER_ERA;
    int64_t doe = z - era * DAYS_PER_ERA;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;
    *out_day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *out_month = (int)month;
    *out_year = (int)(yoe + era * 400 + (month <= 2));
}

int chime_civil_weekday(int64_t days)
{
    /* 1970-01-01 was a Thursday (3 when Monday is 0). */
    int64_t r = (days + 3) % 7;
    return (int)(r < 0 ? r + 7 : r);
}

bool chime_civil_is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int chime_civil_days_in_month(int year, int month)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month < 1 || month > 12)
        return 0;
    if (month == 2 && chime_civil_is_leap(year))
        return 29;
    return days[month - 1];
}

int64_t chime__utime_to_s(chime_utime t)
{
    int64_t s = t / CHIME_USEC_PER_SEC;
    if (t % CHIME_USEC_PER_SEC < 0)
        s--;
    return s;
}

void chime_civil_from_utime(chime_utime t, int32_t offset_s, struct chime_civil *out)
{
    int64_t s = chime__utime_to_s(t);
    int64_t local = s + offset_s;
    int64_t days = local / CHIME__SEC_PER_DAY;
    int64_t sod = local % CHIME__SEC_PER_DAY;
    if (sod < 0) {
        sod += CHIME__SEC_PER_DAY;
        days--;
    }
    chime_civil_date_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(sod / 3600);
    out->minute = (int)(sod / 60 % 60);
    out->second = (int)(sod % 60);
    int64_t usec = t % CHIME_USEC_PER_SEC; /* t - s * 1e6 could overflow near INT64_MIN */
    out->usec = (int)(usec < 0 ? usec + CHIME_USEC_PER_SEC : usec);
}

chime_utime chime_civil_to_utime(const struct chime_civil *c, int32_t offset_s)
{
    int64_t days = chime_civil_days_from_date(c->year, c->month, c->day);
    int64_t s = days * CHIME__SEC_PER_DAY + (int64_t)c->hour * 3600 + (int64_t)c->minute * 60 +
                c->second - offset_s;
    return s * CHIME_USEC_PER_SEC + c->usec;
}

int chime_civil_check(const struct chime_civil *c)
{
    if (c->year < CHIME_MIN_YEAR || c->year > CHIME_MAX_YEAR)
        return CHIME_ERANGE;
    if (c->month < 1 || c->month > 12)
        return CHIME_ERANGE;
    if (c->day < 1 || c->day > chime_civil_days_in_month(c->year, c->month))
        return CHIME_ERANGE;
    if (c->hour < 0 || c->hour > 23 || c->minute < 0 || c->minute > 59)
        return CHIME_ERANGE;
    if (c->second < 0 || c->second > 59 || c->usec < 0 || c->usec > 999999)
        return CHIME_ERANGE;
    return 0;
}
