/* Unit tests of src/base/heap: ordering, FIFO ties, removal, key changes, random ops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/heap.h"

struct item {
    chime_utime key;
    uint64_t order; /* insertion order, for the reference */
    uint32_t pos;
    bool in;
};

static void item_moved(void *p, uint32_t pos)
{
    struct item *it = p;
    it->pos = pos;
    it->in = pos != CHIME_HEAP_NOPOS;
}

static void test_heap_pops_in_key_order(void **state)
{
    (void)state;
    struct chime_heap h;
    chime__heap_init(&h, item_moved);
    chime_utime keys[] = { 50, 10, 40, 20, 30, -5, 100 };
    struct item items[7];
    for (int i = 0; i < 7; i++) {
        items[i] = (struct item){ .key = keys[i] };
        assert_int_equal(chime__heap_push(&h, keys[i], &items[i]), 0);
    }
    chime_utime want[] = { -5, 10, 20, 30, 40, 50, 100 };
    for (int i = 0; i < 7; i++) {
        assert_int_equal(chime__heap_peek(&h)->key, want[i]);
        struct item *it = chime__heap_pop(&h);
        assert_int_equal(it->key, want[i]);
        assert_false(it->in);
    }
    assert_null(chime__heap_pop(&h));
    assert_null(chime__heap_peek(&h));
    chime__heap_release(&h);
}

static void test_heap_equal_keys_come_out_fifo(void **state)
{
    (void)state;
    struct chime_heap h;
    chime__heap_init(&h, item_moved);
    struct item items[20];
    for (int i = 0; i < 20; i++) {
        items[i] = (struct item){ .key = i % 2 ? 7 : 3, .order = (uint64_t)i };
        assert_int_equal(chime__heap_push(&h, items[i].key, &items[i]), 0);
    }
    for (int i = 0; i < 20; i++) {
        struct item *it = chime__heap_pop(&h);
        int expect = i < 10 ? 2 * i : 2 * (i - 10) + 1;
        assert_int_equal(it->order, expect);
    }
    chime__heap_release(&h);
}

static void test_heap_remove_middle_keeps_order(void **state)
{
    (void)state;
    struct chime_heap h;
    chime__heap_init(&h, item_moved);
    struct item items[15];
    for (int i = 0; i < 15; i++) {
        items[i] = (struct item){ .key = (i * 7) % 15 };
        assert_int_equal(chime__heap_push(&h, items[i].key, &items[i]), 0);
    }
    /* Remove the items with keys 4, 9 and 0 wherever they sit. */
    for (int i = 0; i < 15; i++) {
        if (items[i].key == 4 || items[i].key == 9 || items[i].key == 0) {
            assert_true(items[i].in);
            assert_ptr_equal(h.nodes[items[i].pos].item, &items[i]);
            chime__heap_remove(&h, items[i].pos);
            assert_false(items[i].in);
        }
    }
    assert_int_equal(h.n, 12);
    chime_utime last = -1;
    while (h.n) {
        struct item *it = chime__heap_pop(&h);
        assert_true(it->key > last);
        assert_true(it->key != 4 && it->key != 9 && it->key != 0);
        last = it->key;
    }
    chime__heap_release(&h);
}

static void test_heap_update_moves_item_both_ways(void **state)
{
    (void)state;
    struct chime_heap h;
    chime__heap_init(&h, item_moved);
    struct item a = { .key = 10 }, b = { .key = 20 }, c = { .key = 30 };
    assert_int_equal(chime__heap_push(&h, 10, &a), 0);
    assert_int_equal(chime__heap_push(&h, 20, &b), 0);
    assert_int_equal(chime__heap_push(&h, 30, &c), 0);
    chime__heap_update(&h, c.pos, 5); /* up */
    assert_ptr_equal(chime__heap_peek(&h)->item, &c);
    chime__heap_update(&h, c.pos, 25); /* down */
    assert_ptr_equal(chime__heap_pop(&h), &a);
    assert_ptr_equal(chime__heap_pop(&h), &b);
    assert_ptr_equal(chime__heap_pop(&h), &c);
    /* An update to an equal key queues after the others. */
    a.key = b.key = 1;
    assert_int_equal(chime__heap_push(&h, 1, &a), 0);
    assert_int_equal(chime__heap_push(&h, 1, &b), 0);
    chime__heap_update(&h, a.pos, 1);
    assert_ptr_equal(chime__heap_pop(&h), &b);
    assert_ptr_equal(chime__heap_pop(&h), &a);
    chime__heap_release(&h);
}

static void test_heap_push_reports_enomem_and_stays_intact(void **state)
{
    (void)state;
    struct chime_heap h;
    chime__heap_init(&h, item_moved);
    struct item items[9];
    for (int i = 0; i < 8; i++) {
        items[i] = (struct item){ .key = 8 - i };
        assert_int_equal(chime__heap_push(&h, items[i].key, &items[i]), 0);
    }
    items[8] = (struct item){ .key = 0 };
    chime_alloc_fail_after(1);
    assert_int_equal(chime__heap_push(&h, 0, &items[8]), CHIME_ENOMEM);
    chime_alloc_fail_after(0);
    assert_int_equal(h.n, 8);
    assert_int_equal(chime__heap_peek(&h)->key, 1);
    chime__heap_release(&h);
}

/* The reference: the live items, the minimum found by a linear scan of (key, seq). */
struct ref_item {
    struct item it;
    uint64_t seq;
};

static struct ref_item *ref_min(struct ref_item *items, size_t n)
{
    struct ref_item *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!items[i].it.in)
            continue;
        if (!best || items[i].it.key < best->it.key ||
            (items[i].it.key == best->it.key && items[i].seq < best->seq))
            best = &items[i];
    }
    return best;
}

static void test_heap_100k_random_ops_match_reference(void **state)
{
    (void)state;
    enum { N_ITEMS = 512, N_OPS = 100000 };
    struct ref_item *items = calloc(N_ITEMS, sizeof(*items));
    assert_non_null(items);
    struct chime_heap h;
    chime__heap_init(&h, item_moved);
    uint64_t seq = 0;
    srand(12345);
    for (int op = 0; op < N_OPS; op++) {
        struct ref_item *r = &items[rand() % N_ITEMS];
        chime_utime key = rand() % 64;
        int kind = rand() % 4;
        if (!r->it.in) {
            r->it.key = key;
            r->seq = seq++;
            assert_int_equal(chime__heap_push(&h, key, &r->it), 0);
        } else if (kind == 0) {
            chime__heap_remove(&h, r->it.pos);
        } else if (kind == 1) {
            r->it.key = key;
            r->seq = seq++;
            chime__heap_update(&h, r->it.pos, key);
        } else if (kind == 2) {
            struct ref_item *m = ref_min(items, N_ITEMS);
            assert_ptr_equal(chime__heap_pop(&h), &m->it);
        }
        struct ref_item *m = ref_min(items, N_ITEMS);
        const struct chime_heap_node *top = chime__heap_peek(&h);
        if (!m)
            assert_null(top);
        else
            assert_ptr_equal(top->item, &m->it);
    }
    chime__heap_release(&h);
    free(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_pops_in_key_order),
        cmocka_unit_test(test_heap_equal_keys_come_out_fifo),
        cmocka_unit_test(test_heap_remove_middle_keeps_order),
        cmocka_unit_test(test_heap_update_moves_item_both_ways),
        cmocka_unit_test(test_heap_push_reports_enomem_and_stays_intact),
        cmocka_unit_test(test_heap_100k_random_ops_match_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
