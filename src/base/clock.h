/*
 * The injectable clock: every "now" in the scheduler comes from a struct
 * chime_clock, a pair of function pointers (wall UTC time and monotonic time)
 * with a context, so tests can swap in a fake clock and never sleep. A clock
 * may also announce its own moves to watchers (the fake clock does, so a
 * scheduler waiting for a due time wakes when a test advances it); the system
 * clock has no watch hooks and waiters fall back to real timed waits.
 */
#ifndef CHIME_BASE_CLOCK_H
#define CHIME_BASE_CLOCK_H

#include <chime/chime.h>

/* Called (on the thread that moved the clock) after the clock moved. */
typedef void (*chime_clock_moved_fn)(void *ctx);

struct chime_clock {
    chime_utime (*now)(void *ctx);  /* wall time, UTC microseconds */
    chime_mtime (*mono)(void *ctx); /* monotonic microseconds */
    /* Optional (NULL for real clocks): registers / removes a callback run after
     * every move. watch returns 0 or CHIME_ENOMEM. */
    int (*watch)(void *ctx, chime_clock_moved_fn fn, void *fn_ctx);
    void (*unwatch)(void *ctx, chime_clock_moved_fn fn, void *fn_ctx);
    void *ctx;
};

/** Wall time now from clock. */
static inline chime_utime chime_clock_now(const struct chime_clock *clock)
{
    return clock->now(clock->ctx);
}

/** Monotonic time now from clock. */
static inline chime_mtime chime_clock_mono(const struct chime_clock *clock)
{
    return clock->mono(clock->ctx);
}

/** The process-wide system clock (CLOCK_REALTIME / CLOCK_MONOTONIC). Static, never freed. */
const struct chime_clock *chime_clock_system(void);

/* A fake clock for tests: starts at a given wall time; set/advance are thread-safe
 * and move the wall and monotonic readings together, then call the watchers. */
struct chime_fake_clock;

/** New fake clock at wall time start (monotonic starts at 0). 0 or CHIME_ENOMEM. */
int chime_fake_clock_new(chime_utime start, struct chime_fake_clock **out);
/** Frees the fake clock (NULL is fine). No watcher may still be registered in use. */
void chime_fake_clock_free(struct chime_fake_clock *fake);
/** The clock interface of the fake clock (borrowed, lives as long as fake). */
const struct chime_clock *chime_fake_clock_get(struct chime_fake_clock *fake);
/** Sets wall time to t (the monotonic reading moves by the same delta, never back). */
void chime_fake_clock_set(struct chime_fake_clock *fake, chime_utime t);
/** Moves both readings forward by delta_us (>= 0). */
void chime_fake_clock_advance(struct chime_fake_clock *fake, int64_t delta_us);

#endif /* CHIME_BASE_CLOCK_H */
