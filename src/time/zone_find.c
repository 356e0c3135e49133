/*
 * Zone lookup by IANA name: names are checked (no "..", no leading "/", only
 * [A-Za-z0-9/_+-]) before they touch the file system, files are read from
 * TZDIR or /usr/share/zoneinfo, and each zone is parsed once and kept in a
 * mutex-protected hash for the life of the process (zones are immutable and
 * never freed, so callers use them without locking). Also finds the host's
 * local zone without ever calling setenv("TZ") or localtime().
 */
#include "time/tz_internal.h"

#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_LEN   255
#define FILE_MAX_BYTES (1 << 20) /* real TZif files are a few KiB */
#define CACHE_BUCKETS  64

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct chime_zone *cache[CACHE_BUCKETS];

static size_t name_hash(const char *name)
{
    size_t h = 5381;
    for (; *name; name++)
        h = h * 33 + (unsigned char)*name;
    return h % CACHE_BUCKETS;
}

/* The cached zone of that name, or NULL. Caller holds cache_lock. */
static struct chime_zone *cache_lookup(const char *name)
{
    for (struct chime_zone *z = cache[name_hash(name)]; z; z = z->cache_next) {
        if (strcmp(z->name, name) == 0)
            return z;
    }
    return NULL;
}

/* Caches z unless another thread got there first; returns the zone to use. */
static const struct chime_zone *cache_insert(struct chime_zone *z)
{
    pthread_mutex_lock(&cache_lock);
    struct chime_zone *have = cache_lookup(z->name);
    if (!have) {
        size_t b = name_hash(z->name);
        z->cache_next = cache[b];
        cache[b] = z;
        have = z;
    }
    pthread_mutex_unlock(&cache_lock);
    if (have != z)
        chime_zone_free(z);
    return have;
}

static bool name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_LEN || name[0] == '/' || strstr(name, ".."))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && c != '/' && c != '_' && c != '+' && c != '-')
            return false;
    }
    return true;
}

/* Reads a whole regular file into a new buffer. 0, ENOENT, EIO, EINVAL (too big), ENOMEM. */
static int file_read(const char *path, unsigned char **out, size_t *out_len)
{
    struct stat st;
    unsigned char *buf;
    size_t len = 0;
    ssize_t got = 1;
    int rc = CHIME_ENOENT;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? CHIME_ENOENT : CHIME_EIO;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        goto out_close;
    rc = CHIME_EINVAL;
    if (st.st_size > FILE_MAX_BYTES)
        goto out_close;
    rc = CHIME_ENOMEM;
    if (!(buf = chime__malloc((size_t)st.st_size)))
        goto out_close;
    while (len < (size_t)st.st_size && (got = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
        len += (size_t)got;
    rc = CHIME_EIO;
    if (got < 0)
        goto out_free;
    *out = buf;
    *out_len = len;
    rc = 0;
    goto out_close;
out_free:
    chime__free(buf);
out_close:
    close(fd);
    return rc;
}

/* Loads, parses and caches the TZif file at path under name. */
static int zone_load(const char *path, const char *name, const struct chime_zone **out)
{
    unsigned char *data;
    size_t len;
    struct chime_zone *z;
    int rc = file_read(path, &data, &len);
    if (rc < 0)
        return rc;
    rc = chime_zone_parse_tzif(name, data, len, &z);
    chime__free(data);
    if (rc < 0)
        return rc;
    *out = cache_insert(z);
    return 0;
}

static const char *zone_dir(void)
{
    const char *dir = getenv("TZDIR");
    return dir && *dir ? dir : "/usr/share/zoneinfo";
}

int chime_zone_find(const char *name, const struct chime_zone **out)
{
    char path[4096];
    if (!name || !name_valid(name))
        return CHIME_ENOENT;
    if (strcmp(name, "UTC") == 0) {
        *out = chime_zone_utc();
        return 0;
    }
    pthread_mutex_lock(&cache_lock);
    const struct chime_zone *z = cache_lookup(name);
    pthread_mutex_unlock(&cache_lock);
    if (z) {
        *out = z;
        return 0;
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", zone_dir(), name) >= sizeof(path))
        return CHIME_ENOENT;
    return zone_load(path, name, out);
}

/* The zone name inside a path ".../zoneinfo/Area/City", or NULL. */
static const char *name_in_path(const char *path)
{
    const char *p = strstr(path, "zoneinfo/");
    return p ? p + strlen("zoneinfo/") : NULL;
}

/* TZ="Area/City", ":Area/City", ":/path/to/zoneinfo/Area/City" or a POSIX TZ rule. */
static int local_from_tz(const char *tz, const struct chime_zone **out)
{
    const char *name = tz[0] == ':' ? tz + 1 : tz;
    const char *in_path = name_in_path(name);
    struct chime_zone *z;
    if (*name == '\0')
        return CHIME_ENOENT;
    if (in_path && chime_zone_find(in_path, out) == 0)
        return 0;
    if (name[0] == '/')
        return zone_load(name, name, out);
    int rc = chime_zone_find(name, out);
    if (rc != CHIME_ENOENT || tz[0] == ':')
        return rc;
    pthread_mutex_lock(&cache_lock);
    *out = cache_lookup(tz);
    pthread_mutex_unlock(&cache_lock);
    if (*out)
        return 0;
    if ((rc = chime__zone_from_rule(tz, tz, &z)) < 0)
        return rc;
    *out = cache_insert(z);
    return 0;
}

/* /etc/localtime: its symlink target names the zone; else /etc/timezone; else its content. */
static int local_from_etc(const struct chime_zone **out)
{
    char target[4096];
    ssize_t n = readlink("/etc/localtime", target, sizeof(target) - 1);
    if (n > 0) {
        target[n] = '\0';
        const char *name = name_in_path(target);
        if (name && chime_zone_find(name, out) == 0)
            return 0;
    }
    FILE *f = fopen("/etc/timezone", "re");
    if (f) {
        char line[NAME_MAX_LEN + 2] = "";
        char *ok = fgets(line, sizeof(line), f);
        fclose(f);
        line[strcspn(line, "\r\n")] = '\0';
        if (ok && chime_zone_find(line, out) == 0)
            return 0;
    }
    return zone_load("/etc/localtime", "localtime", out);
}

const struct chime_zone *chime_zone_local(void)
{
    static _Atomic(const struct chime_zone *) local;
    const struct chime_zone *z = atomic_load(&local);
    if (z)
        return z;
    const char *tz = getenv("TZ");
    int rc;
    if (tz && *tz == '\0') {
        z = chime_zone_utc(); /* TZ="" means UTC, as in glibc */
        rc = 0;
    } else {
        rc = tz ? local_from_tz(tz, &z) : CHIME_ENOENT;
        if (rc < 0 && rc != CHIME_ENOMEM)
            rc = local_from_etc(&z);
    }
    if (rc < 0) {
        /* Out of memory is not remembered: a later call may still find the zone. */
        return chime_zone_utc();
    }
    atomic_store(&local, z);
    return z;
}
