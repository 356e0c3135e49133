/*
 * Metrics primitives and the Prometheus text exposition format (version
 * 0.0.4). Counters and histograms are plain atomics updated with relaxed
 * adds: no lock, no allocation, safe from any thread, cheap enough for the
 * run path (a histogram observation is a short bucket search and three
 * adds). Readers take snapshots at scrape time. The writer turns snapshots
 * into exposition text: one # HELP and # TYPE per family, label values
 * escaped, histogram buckets cumulative with +Inf, _sum and _count.
 */
#ifndef CHIME_METRICS_H
#define CHIME_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A count that only goes up. Zero-initialized storage is a valid counter. */
struct chime_counter {
    atomic_uint_fast64_t n;
};

/** Adds n. Lock-free, thread-safe. */
static inline void chime_counter_add(struct chime_counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->n, n, memory_order_relaxed);
}

/** The current count. Thread-safe. */
static inline uint64_t chime_counter_get(const struct chime_counter *c)
{
    return atomic_load_explicit(&c->n, memory_order_relaxed);
}

#define CHIME_HISTOGRAM_MAX_BOUNDS 24

/* A histogram of durations in microseconds over fixed, increasing upper
 * bounds (inclusive, as Prometheus' le). */
struct chime_histogram {
    const int64_t *bounds_us; /* borrowed (static tables) */
    size_t n_bounds;
    atomic_uint_fast64_t buckets[CHIME_HISTOGRAM_MAX_BOUNDS + 1]; /* not cumulative; last: +Inf */
    atomic_uint_fast64_t sum_us;
};

/**
 * Initializes h with n_bounds (<= CHIME_HISTOGRAM_MAX_BOUNDS, increasing)
 * upper bounds in microseconds; bounds_us is borrowed and must outlive h.
 * Not thread-safe (call before sharing h).
 */
void chime_histogram_init(struct chime_histogram *h, const int64_t *bounds_us, size_t n_bounds);

/** Records one value; negative values count as 0. Lock-free, thread-safe. */
void chime_histogram_observe_us(struct chime_histogram *h, int64_t value_us);

/* What a histogram held at one moment: counts are cumulative (counts[i] =
 * values <= bounds_us[i]; counts[n_bounds] = all = count). */
struct chime_histogram_snapshot {
    const int64_t *bounds_us;
    size_t n_bounds;
    uint64_t counts[CHIME_HISTOGRAM_MAX_BOUNDS + 1];
    uint64_t sum_us;
    uint64_t count;
};

/** Takes a snapshot of h into *out. Thread-safe (concurrent observations may be half in). */
void chime_histogram_snapshot(const struct chime_histogram *h,
                              struct chime_histogram_snapshot *out);

/** Adds snapshot b into *a (same bounds; false and nothing changed when they differ). */
bool chime_histogram_snapshot_add(struct chime_histogram_snapshot *a,
                                  const struct chime_histogram_snapshot *b);

/* A small, fixed-size set of counters keyed by a non-zero 32-bit key (a
 * packed tuple of label indexes), for families whose label combinations are
 * bounded but not known in advance (HTTP route x method x status). Insertion
 * claims a slot with a compare-and-swap; a full set counts into overflow. */
#define CHIME_COUNTER_SET_CAP 512

struct chime_counter_set {
    atomic_uint_fast32_t keys[CHIME_COUNTER_SET_CAP]; /* 0 = free */
    atomic_uint_fast64_t counts[CHIME_COUNTER_SET_CAP];
    atomic_uint_fast64_t overflow;
};

/** Adds n to the counter of key (!= 0). Lock-free, thread-safe. */
void chime_counter_set_add(struct chime_counter_set *set, uint32_t key, uint64_t n);

typedef void (*chime_counter_set_visit_fn)(uint32_t key, uint64_t count, void *ctx);

/** Calls visit for every key seen, in slot order. Thread-safe. */
void chime_counter_set_visit(const struct chime_counter_set *set, chime_counter_set_visit_fn visit,
                             void *ctx);

/* --- the text exposition format ------------------------------------------ */

enum chime_metric_type {
    CHIME_METRIC_COUNTER,
    CHIME_METRIC_GAUGE,
    CHIME_METRIC_HISTOGRAM,
};

struct chime_label {
    const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]*, not starting with __ */
    const char *value; /* any UTF-8; escaped by the writer */
};

/* An exposition being written into a growing buffer. The first error (out of
 * memory, a bad metric or label name) sticks and later writes do nothing. */
struct chime_expo {
    char *buf; /* NUL-terminated */
    size_t len, cap;
    int err;
};

#define CHIME_EXPO_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

void chime_expo_init(struct chime_expo *w);
void chime_expo_release(struct chime_expo *w);

/** Starts a family: its # HELP (escaped) and # TYPE lines. */
void chime_expo_family(struct chime_expo *w, const char *name, enum chime_metric_type type,
                       const char *help);

/** One sample line: name{labels} value (labels may be NULL when n_labels is 0). */
void chime_expo_sample(struct chime_expo *w, const char *name, const struct chime_label *labels,
                       size_t n_labels, double value);

/** chime_expo_sample for an integer value (exact beyond 2^53). */
void chime_expo_sample_u64(struct chime_expo *w, const char *name, const struct chime_label *labels,
                           size_t n_labels, uint64_t value);

/**
 * A histogram's samples under family name: name_bucket{labels,le=...} for
 * every bound (seconds) and +Inf, then name_sum (seconds) and name_count.
 * At most 7 labels besides le.
 */
void chime_expo_histogram(struct chime_expo *w, const char *name, const struct chime_label *labels,
                          size_t n_labels, const struct chime_histogram_snapshot *snap);

/** 0, or the first error: CHIME_ENOMEM, CHIME_EINVAL (a bad name). */
int chime_expo_error(const struct chime_expo *w);

#endif /* CHIME_METRICS_H */
