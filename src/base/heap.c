/*
 * The min-heap of timed items (see heap.h): an array-backed binary heap
 * with sift-up/sift-down that tells the owner about every move, so removal
 * and key changes of arbitrary items stay O(log n).
 */
#include "base/heap.h"

#include <assert.h>

#include "base/base.h"

void chime__heap_init(struct chime_heap *heap, chime_heap_moved_fn moved)
{
    heap->nodes = NULL;
    heap->n = 0;
    heap->cap = 0;
    heap->next_seq = 0;
    heap->moved = moved;
}

void chime__heap_release(struct chime_heap *heap)
{
    chime__free(heap->nodes);
    heap->nodes = NULL;
    heap->n = 0;
    heap->cap = 0;
}

static bool node_less(const struct chime_heap_node *a, const struct chime_heap_node *b)
{
    if (a->key != b->key)
        return a->key < b->key;
    return a->seq < b->seq;
}

static void place(struct chime_heap *heap, size_t pos, struct chime_heap_node node)
{
    heap->nodes[pos] = node;
    heap->moved(node.item, (uint32_t)pos);
}

static void sift_up(struct chime_heap *heap, size_t pos)
{
    struct chime_heap_node node = heap->nodes[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (!node_less(&node, &heap->nodes[parent]))
            break;
        place(heap, pos, heap->nodes[parent]);
        pos = parent;
    }
    place(heap, pos, node);
}

static void sift_down(struct chime_heap *heap, size_t pos)
{
    struct chime_heap_node node = heap->nodes[pos];
    for (;;) {
        size_t child = 2 * pos + 1;
        if (child >= heap->n)
            break;
        if (child + 1 < heap->n && node_less(&heap->nodes[child + 1], &heap->nodes[child]))
            child++;
        if (!node_less(&heap->nodes[child], &node))
            break;
        place(heap, pos, heap->nodes[child]);
        pos = child;
    }
    place(heap, pos, node);
}

int chime__heap_reserve(struct chime_heap *heap, size_t n)
{
    if (n >= CHIME_HEAP_NOPOS)
        return CHIME_ENOMEM;
    return chime__grow((void **)&heap->nodes, &heap->cap, n, sizeof(*heap->nodes));
}

int chime__heap_push(struct chime_heap *heap, chime_utime key, void *item)
{
    int rc = chime__heap_reserve(heap, heap->n + 1);
    if (rc < 0)
        return rc;
    heap->nodes[heap->n] = (struct chime_heap_node){ key, heap->next_seq++, item };
    heap->n++;
    sift_up(heap, heap->n - 1);
    return 0;
}

const struct chime_heap_node *chime__heap_peek(const struct chime_heap *heap)
{
    return heap->n ? &heap->nodes[0] : NULL;
}

void *chime__heap_pop(struct chime_heap *heap)
{
    if (heap->n == 0)
        return NULL;
    void *item = heap->nodes[0].item;
    chime__heap_remove(heap, 0);
    return item;
}

void chime__heap_remove(struct chime_heap *heap, uint32_t pos)
{
    assert(pos < heap->n);
    void *item = heap->nodes[pos].item;
    heap->n--;
    if (pos != heap->n) {
        struct chime_heap_node last = heap->nodes[heap->n];
        bool up = node_less(&last, &heap->nodes[pos]);
        heap->nodes[pos] = last;
        if (up)
            sift_up(heap, pos);
        else
            sift_down(heap, pos);
    }
    heap->moved(item, CHIME_HEAP_NOPOS);
}

void chime__heap_update(struct chime_heap *heap, uint32_t pos, chime_utime key)
{
    assert(pos < heap->n);
    struct chime_heap_node *node = &heap->nodes[pos];
    bool up = key < node->key;
    node->key = key;
    node->seq = heap->next_seq++;
    if (up)
        sift_up(heap, pos);
    else
        sift_down(heap, pos);
}
