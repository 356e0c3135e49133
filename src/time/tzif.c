/*
 * TZif reader (RFC 8536, versions 1 to 4). The input is untrusted (files on
 * disk, fuzzed bytes), so every count is checked against the bytes actually
 * present before anything is read, every index against its table, and the
 * transition times must ascend strictly (the binary search relies on it).
 * Version 2+ files are read from their 64-bit section and their POSIX TZ
 * footer; version 1 files from the 32-bit section alone. The footer's
 * transitions through 2200 are precomputed into the table at load time so
 * lookups stay a binary search (slim files end their tables early). Leap-second files
 * ("right/" zones) are refused: their times are not POSIX times.
 */
#include "time/tz_internal.h"

#include "base/base.h"

#include <string.h>

#define TZIF_HEADER_LEN 44
#define FOOTER_MAX      256
/* RFC 8536: utoff SHOULD be in [-89999, 93599] (just under -25h and +26h). */
#define UTOFF_MIN (-89999)
#define UTOFF_MAX 93599
/* The rule's transitions are precomputed into the table up to this year. */
#define RULE_TABLE_END_YEAR 2200
#define RULE_TABLE_FROM_S   (-2208988800LL) /* 1900-01-01T00:00:00Z */
#define RULE_TABLE_TO_S     7258118400LL    /* 2200-01-01T00:00:00Z */

struct tzif_header {
    int version; /* 1, 2, 3, ... */
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

/* The data block of one section, located and checked to fit. */
struct tzif_block {
    const unsigned char *times;   /* timecnt * time_size */
    const unsigned char *indices; /* timecnt */
    const unsigned char *types;   /* typecnt * 6 */
    size_t time_size;
    size_t len; /* whole block */
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be_time(const unsigned char *p, size_t size)
{
    if (size == 4)
        return (int32_t)be32(p);
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int header_read(const unsigned char *p, size_t len, struct tzif_header *h)
{
    if (len < TZIF_HEADER_LEN || memcmp(p, "TZif", 4) != 0)
        return CHIME_EINVAL;
    if (p[4] == 0)
        h->version = 1;
    else if (p[4] >= '2' && p[4] <= '9')
        h->version = p[4] - '0';
    else
        return CHIME_EINVAL;
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    if (h->typecnt == 0 || h->typecnt > 256 || h->leapcnt != 0)
        return CHIME_EINVAL;
    if ((h->isutcnt && h->isutcnt != h->typecnt) || (h->isstdcnt && h->isstdcnt != h->typecnt))
        return CHIME_EINVAL;
    return 0;
}

/* Locates the data block after a header at p; fails unless it fits in avail bytes. */
static int block_locate(const struct tzif_header *h, const unsigned char *p, size_t avail,
                        size_t time_size, struct tzif_block *b)
{
    /* Counts are 32-bit and size_t is 64-bit: these sums cannot overflow. */
    size_t n = h->timecnt;
    b->time_size = time_size;
    b->times = p;
    b->indices = p + n * time_size;
    b->types = b->indices + n;
    b->len = n * time_size + n + (size_t)h->typecnt * 6 + h->charcnt +
             (size_t)h->leapcnt * (time_size + 4) + h->isstdcnt + h->isutcnt;
    return b->len <= avail ? 0 : CHIME_EINVAL;
}

static int types_check(const struct tzif_header *h, const struct tzif_block *b)
{
    for (uint32_t i = 0; i < h->typecnt; i++) {
        const unsigned char *t = b->types + (size_t)i * 6;
        int32_t utoff = (int32_t)be32(t);
        if (utoff < UTOFF_MIN || utoff > UTOFF_MAX || t[4] > 1 || t[5] >= h->charcnt)
            return CHIME_EINVAL;
    }
    return 0;
}

static int transitions_check(const struct tzif_header *h, const struct tzif_block *b)
{
    for (uint32_t i = 0; i < h->timecnt; i++) {
        if (b->indices[i] >= h->typecnt)
            return CHIME_EINVAL;
        if (i > 0 && be_time(b->times + (size_t)i * b->time_size, b->time_size) <=
                             be_time(b->times + (size_t)(i - 1) * b->time_size, b->time_size))
            return CHIME_EINVAL;
    }
    return 0;
}

/* The footer "\n<POSIX TZ>\n" at p; an empty one means no rule. */
static int footer_read(const unsigned char *p, size_t avail, bool *has_rule,
                       struct chime__tz_rule *rule)
{
    char text[FOOTER_MAX];
    size_t n = 0;
    if (avail < 2 || p[0] != '\n')
        return CHIME_EINVAL;
    for (p++, avail--; n < avail && p[n] != '\n'; n++) {
        if (n + 1 >= sizeof(text) || p[n] == '\0')
            return CHIME_EINVAL;
        text[n] = (char)p[n];
    }
    if (n == avail)
        return CHIME_EINVAL;
    text[n] = '\0';
    *has_rule = n > 0;
    return n > 0 ? chime__tz_rule_parse(text, rule) : 0;
}

/* One allocation holds the zone, its two arrays and its name. */
static struct chime_zone *zone_alloc(const char *name, size_t n_trans)
{
    size_t name_len = strlen(name) + 1;
    struct chime_zone *z =
            chime__calloc(1, sizeof(*z) + n_trans * (sizeof(int64_t) + sizeof(int32_t)) + name_len);
    if (!z)
        return NULL;
    int64_t *trans_s = (int64_t *)(z + 1);
    int32_t *trans_off = (int32_t *)(trans_s + n_trans);
    char *z_name = (char *)(trans_off + n_trans);
    memcpy(z_name, name, name_len);
    z->name = z_name;
    z->n_trans = n_trans;
    z->trans_s = trans_s;
    z->trans_off = trans_off;
    return z;
}

static struct chime_zone *zone_build(const char *name, const struct tzif_header *h,
                                     const struct tzif_block *b, size_t extra)
{
    struct chime_zone *z = zone_alloc(name, h->timecnt + extra);
    if (!z)
        return NULL;
    int64_t *trans_s = (int64_t *)z->trans_s;
    int32_t *trans_off = (int32_t *)z->trans_off;
    for (uint32_t i = 0; i < h->timecnt; i++) {
        trans_s[i] = be_time(b->times + (size_t)i * b->time_size, b->time_size);
        trans_off[i] = (int32_t)be32(b->types + (size_t)b->indices[i] * 6);
    }
    z->n_trans = h->timecnt;
    z->initial_off = (int32_t)be32(b->types);
    return z;
}

/* Finds the section to use: the 64-bit one of a v2+ file, else the v1 one. */
static int section_find(const unsigned char *data, size_t len, struct tzif_header *h,
                        struct tzif_block *b, const unsigned char **end)
{
    int rc = header_read(data, len, h);
    if (rc < 0 || (rc = block_locate(h, data + TZIF_HEADER_LEN, len - TZIF_HEADER_LEN, 4, b)) < 0)
        return rc;
    const unsigned char *p = data + TZIF_HEADER_LEN + b->len;
    if (h->version >= 2) {
        size_t avail = len - (size_t)(p - data);
        if ((rc = header_read(p, avail, h)) < 0 || h->version < 2)
            return CHIME_EINVAL;
        rc = block_locate(h, p + TZIF_HEADER_LEN, avail - TZIF_HEADER_LEN, 8, b);
        if (rc < 0)
            return rc;
        p += TZIF_HEADER_LEN + b->len;
    }
    *end = p;
    return 0;
}

/*
 * Room for the rule's transitions from the end of the table through
 * RULE_TABLE_END_YEAR (two a year, and slack), or 0 when the table is not
 * extended (no DST in the rule, no table to extend, or a table ending before
 * 1900 or after that year).
 */
static size_t rule_extra(const struct tzif_header *h, const struct tzif_block *b, bool has_rule,
                         const struct chime__tz_rule *rule)
{
    if (!has_rule || !rule->has_dst || h->timecnt == 0)
        return 0;
    int64_t last = be_time(b->times + (size_t)(h->timecnt - 1) * b->time_size, b->time_size);
    if (last < RULE_TABLE_FROM_S || last > RULE_TABLE_TO_S)
        return 0;
    return 2 * (size_t)(RULE_TABLE_END_YEAR - chime__year_of_s(last) + 1) + 4;
}

/*
 * Appends the rule's transitions to the table, a year at a time, while they
 * fit in room: the hot path then answers any date a scheduler meets with a
 * binary search, and the rule itself only past the (new) end of the table.
 */
static void zone_extend(struct chime_zone *z, size_t room)
{
    int64_t *trans_s = (int64_t *)z->trans_s;
    int32_t *trans_off = (int32_t *)z->trans_off;
    int64_t after = trans_s[z->n_trans - 1];
    for (int y = chime__year_of_s(after); y <= RULE_TABLE_END_YEAR; y++) {
        struct chime__tz_segment seg[16];
        int64_t to = chime_civil_days_from_date(y + 1, 1, 1) * CHIME__SEC_PER_DAY;
        size_t k = chime__tz_rule_segments(&z->rule, after, to, seg, 16);
        if (k > room)
            return;
        for (size_t i = 0; i < k; i++, room--, z->n_trans++) {
            trans_s[z->n_trans] = seg[i].start_s;
            trans_off[z->n_trans] = seg[i].off;
        }
        after = to;
    }
}

int chime_zone_parse_tzif(const char *name, const unsigned char *data, size_t len,
                          struct chime_zone **out)
{
    struct tzif_header h;
    struct tzif_block b;
    struct chime__tz_rule rule;
    bool has_rule = false;
    const unsigned char *end;
    int rc = section_find(data, len, &h, &b, &end);
    if (rc < 0 || (rc = types_check(&h, &b)) < 0 || (rc = transitions_check(&h, &b)) < 0)
        return rc;
    if (h.version >= 2 && (rc = footer_read(end, len - (size_t)(end - data), &has_rule, &rule)) < 0)
        return rc;
    size_t extra = rule_extra(&h, &b, has_rule, &rule);
    struct chime_zone *z = zone_build(name, &h, &b, extra);
    if (!z)
        return CHIME_ENOMEM;
    if (has_rule) {
        z->has_rule = true;
        z->rule = rule;
    }
    if (extra)
        zone_extend(z, extra);
    *out = z;
    return 0;
}

int chime__zone_from_rule(const char *name, const char *rule_text, struct chime_zone **out)
{
    struct chime__tz_rule rule;
    if (chime__tz_rule_parse(rule_text, &rule) < 0)
        return CHIME_EINVAL;
    struct chime_zone *z = zone_alloc(name, 0);
    if (!z)
        return CHIME_ENOMEM;
    z->rule = rule;
    z->has_rule = true;
    z->initial_off = rule.std_off;
    *out = z;
    return 0;
}

void chime_zone_free(struct chime_zone *zone)
{
    chime__free(zone);
}
