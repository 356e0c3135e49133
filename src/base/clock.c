/*
 * Clocks: the system clock (CLOCK_REALTIME for wall time, CLOCK_MONOTONIC
 * for durations) and the fake clock tests drive by hand. The fake clock keeps
 * a small list of watchers it calls after every move, outside its own lock,
 * so a watcher may read the clock or take other locks.
 */
#include "base/clock.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "base/base.h"

#define FAKE_MAX_WATCHERS 16

static int64_t timespec_us(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000 + ts->tv_nsec / 1000;
}

static chime_utime system_now(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return timespec_us(&ts);
}

static chime_mtime system_mono(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return timespec_us(&ts);
}

static const struct chime_clock system_clock = {
    .now = system_now,
    .mono = system_mono,
};

const struct chime_clock *chime_clock_system(void)
{
    return &system_clock;
}

struct fake_watcher {
    chime_clock_moved_fn fn;
    void *ctx;
};

struct chime_fake_clock {
    struct chime_clock clock;
    pthread_mutex_t mu;
    chime_utime wall;
    chime_mtime mono;
    struct fake_watcher watchers[FAKE_MAX_WATCHERS];
    size_t n_watchers;
};

static chime_utime fake_now(void *ctx)
{
    struct chime_fake_clock *fake = ctx;
    pthread_mutex_lock(&fake->mu);
    chime_utime t = fake->wall;
    pthread_mutex_unlock(&fake->mu);
    return t;
}

static chime_mtime fake_mono(void *ctx)
{
    struct chime_fake_clock *fake = ctx;
    pthread_mutex_lock(&fake->mu);
    chime_mtime t = fake->mono;
    pthread_mutex_unlock(&fake->mu);
    return t;
}

static int fake_watch(void *ctx, chime_clock_moved_fn fn, void *fn_ctx)
{
    struct chime_fake_clock *fake = ctx;
    int rc = 0;
    pthread_mutex_lock(&fake->mu);
    if (fake->n_watchers == FAKE_MAX_WATCHERS)
        rc = CHIME_ENOMEM;
    else
        fake->watchers[fake->n_watchers++] = (struct fake_watcher){ fn, fn_ctx };
    pthread_mutex_unlock(&fake->mu);
    return rc;
}

static void fake_unwatch(void *ctx, chime_clock_moved_fn fn, void *fn_ctx)
{
    struct chime_fake_clock *fake = ctx;
    pthread_mutex_lock(&fake->mu);
    for (size_t i = 0; i < fake->n_watchers; i++) {
        if (fake->watchers[i].fn == fn && fake->watchers[i].ctx == fn_ctx) {
            fake->watchers[i] = fake->watchers[--fake->n_watchers];
            break;
        }
    }
    pthread_mutex_unlock(&fake->mu);
}

int chime_fake_clock_new(chime_utime start, struct chime_fake_clock **out)
{
    struct chime_fake_clock *fake = chime__calloc(1, sizeof(*fake));
    if (!fake)
        return CHIME_ENOMEM;
    pthread_mutex_init(&fake->mu, NULL);
    fake->wall = start;
    fake->clock = (struct chime_clock){
        .now = fake_now,
        .mono = fake_mono,
        .watch = fake_watch,
        .unwatch = fake_unwatch,
        .ctx = fake,
    };
    *out = fake;
    return 0;
}

void chime_fake_clock_free(struct chime_fake_clock *fake)
{
    if (!fake)
        return;
    pthread_mutex_destroy(&fake->mu);
    chime__free(fake);
}

const struct chime_clock *chime_fake_clock_get(struct chime_fake_clock *fake)
{
    return &fake->clock;
}

/* Moves the clock under its lock, then calls a snapshot of the watchers unlocked. */
static void fake_move(struct chime_fake_clock *fake, bool absolute, int64_t value)
{
    struct fake_watcher snap[FAKE_MAX_WATCHERS];
    pthread_mutex_lock(&fake->mu);
    int64_t delta = absolute ? value - fake->wall : value;
    fake->wall += delta;
    if (delta > 0)
        fake->mono += delta;
    size_t n = fake->n_watchers;
    memcpy(snap, fake->watchers, n * sizeof(snap[0]));
    pthread_mutex_unlock(&fake->mu);
    for (size_t i = 0; i < n; i++)
        snap[i].fn(snap[i].ctx);
}

void chime_fake_clock_set(struct chime_fake_clock *fake, chime_utime t)
{
    fake_move(fake, true, t);
}

void chime_fake_clock_advance(struct chime_fake_clock *fake, int64_t delta_us)
{
    fake_move(fake, false, delta_us < 0 ? 0 : delta_us);
}
