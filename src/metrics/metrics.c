/*
 * Histograms and counter sets: relaxed atomics only. An observation finds
 * its bucket (bounds are few and sorted: a linear scan beats a binary
 * search at this size) and adds to the bucket and the sum; the count is the
 * sum of the buckets at snapshot time, so a snapshot's +Inf bucket and its
 * count always agree.
 */
#include "metrics/metrics.h"

#include <assert.h>
#include <string.h>

void chime_histogram_init(struct chime_histogram *h, const int64_t *bounds_us, size_t n_bounds)
{
    assert(n_bounds <= CHIME_HISTOGRAM_MAX_BOUNDS);
    h->bounds_us = bounds_us;
    h->n_bounds = n_bounds;
    for (size_t i = 0; i <= CHIME_HISTOGRAM_MAX_BOUNDS; i++)
        atomic_init(&h->buckets[i], 0);
    atomic_init(&h->sum_us, 0);
}

void chime_histogram_observe_us(struct chime_histogram *h, int64_t value_us)
{
    if (value_us < 0)
        value_us = 0;
    size_t i = 0;
    while (i < h->n_bounds && value_us > h->bounds_us[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, (uint64_t)value_us, memory_order_relaxed);
}

void chime_histogram_snapshot(const struct chime_histogram *h, struct chime_histogram_snapshot *out)
{
    memset(out, 0, sizeof(*out));
    out->bounds_us = h->bounds_us;
    out->n_bounds = h->n_bounds;
    uint64_t total = 0;
    for (size_t i = 0; i <= h->n_bounds; i++) {
        total += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        out->counts[i] = total;
    }
    out->count = total;
    out->sum_us = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
}

bool chime_histogram_snapshot_add(struct chime_histogram_snapshot *a,
                                  const struct chime_histogram_snapshot *b)
{
    if (a->n_bounds != b->n_bounds ||
        (a->n_bounds && memcmp(a->bounds_us, b->bounds_us, a->n_bounds * sizeof(int64_t)) != 0))
        return false;
    for (size_t i = 0; i <= a->n_bounds; i++)
        a->counts[i] += b->counts[i];
    a->sum_us += b->sum_us;
    a->count += b->count;
    return true;
}

/* Fibonacci hashing of the key to a first slot. */
static size_t slot_of(uint32_t key)
{
    return (size_t)(((uint64_t)key * 11400714819323198485ull) >> 55) % CHIME_COUNTER_SET_CAP;
}

void chime_counter_set_add(struct chime_counter_set *set, uint32_t key, uint64_t n)
{
    assert(key != 0);
    size_t at = slot_of(key);
    for (size_t probe = 0; probe < CHIME_COUNTER_SET_CAP; probe++) {
        size_t i = (at + probe) % CHIME_COUNTER_SET_CAP;
        uint_fast32_t seen = atomic_load_explicit(&set->keys[i], memory_order_acquire);
        if (seen == 0) {
            uint_fast32_t expected = 0;
            if (atomic_compare_exchange_strong_explicit(&set->keys[i], &expected, key,
                                                        memory_order_acq_rel, memory_order_acquire))
                seen = key;
            else
                seen = expected; /* another thread took the slot first */
        }
        if (seen == key) {
            atomic_fetch_add_explicit(&set->counts[i], n, memory_order_relaxed);
            return;
        }
    }
    atomic_fetch_add_explicit(&set->overflow, n, memory_order_relaxed);
}

void chime_counter_set_visit(const struct chime_counter_set *set, chime_counter_set_visit_fn visit,
                             void *ctx)
{
    for (size_t i = 0; i < CHIME_COUNTER_SET_CAP; i++) {
        uint_fast32_t key = atomic_load_explicit(&set->keys[i], memory_order_acquire);
        if (key)
            visit((uint32_t)key, atomic_load_explicit(&set->counts[i], memory_order_relaxed), ctx);
    }
}
