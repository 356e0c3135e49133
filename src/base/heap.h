/*
 * A binary min-heap of timed items (the libuv timer heap's idea): each node
 * is (key, seq, item), ordered by key and, for equal keys, by insertion
 * sequence so ties come out first-in first-out. The heap reports every move
 * of an item through a callback, so the owner can keep the item's position
 * and remove it or change its key in O(log n). Not thread-safe: the owner
 * serializes access.
 */
#ifndef CHIME_BASE_HEAP_H
#define CHIME_BASE_HEAP_H

#include <chime/chime.h>

/* Where an item is not in the heap. */
#define CHIME_HEAP_NOPOS UINT32_MAX

struct chime_heap_node {
    chime_utime key;
    uint64_t seq;
    void *item;
};

/* Called whenever item lands at position pos (or CHIME_HEAP_NOPOS when it leaves). */
typedef void (*chime_heap_moved_fn)(void *item, uint32_t pos);

struct chime_heap {
    struct chime_heap_node *nodes;
    size_t n;
    size_t cap;
    uint64_t next_seq;
    chime_heap_moved_fn moved;
};

/** Initializes an empty heap; moved may not be NULL. */
void chime__heap_init(struct chime_heap *heap, chime_heap_moved_fn moved);
/** Frees the node array (items are the owner's; no callbacks). */
void chime__heap_release(struct chime_heap *heap);
/** Inserts item with key (after every equal key). 0 or CHIME_ENOMEM (heap unchanged). */
int chime__heap_push(struct chime_heap *heap, chime_utime key, void *item);
/** The smallest node, or NULL when empty (borrowed, valid until the next change). */
const struct chime_heap_node *chime__heap_peek(const struct chime_heap *heap);
/** Removes and returns the smallest item, or NULL when empty. */
void *chime__heap_pop(struct chime_heap *heap);
/** Removes the item at pos (as reported by moved). */
void chime__heap_remove(struct chime_heap *heap, uint32_t pos);
/** Changes the key of the item at pos; it queues after every equal key (a new seq). */
void chime__heap_update(struct chime_heap *heap, uint32_t pos, chime_utime key);
/** Reserves room for n nodes in total. 0 or CHIME_ENOMEM. */
int chime__heap_reserve(struct chime_heap *heap, size_t n);

#endif /* CHIME_BASE_HEAP_H */
