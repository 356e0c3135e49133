/*
 * Trigger sharing in the job index: entries whose triggers have the same
 * kind and normalized args point at one record holding one trigger, so a
 * million jobs on one cron spec cost one parsed trigger. Records are found by
 * key in an open-addressing table and freed when their last entry goes.
 */
#include <string.h>

#include "base/base.h"
#include "store/index.h"

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* "kind\x1fargs-json" of a trigger (chime__malloc'd), or NULL on out of memory. */
static char *trigger_key(const struct chime_trigger *trigger)
{
    json_t *args = chime_trigger_args_json(trigger);
    if (!args)
        return NULL;
    const char *kind = chime_trigger_kind_name(trigger);
    size_t lk = strlen(kind), n = json_dumpb(args, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS);
    char *key = n ? chime__malloc(lk + 1 + n + 1) : NULL;
    if (key) {
        memcpy(key, kind, lk);
        key[lk] = '\x1f';
        json_dumpb(args, key + lk + 1, n, JSON_COMPACT | JSON_SORT_KEYS);
        key[lk + 1 + n] = '\0';
    }
    json_decref(args);
    return key;
}

static size_t find_slot(const struct chime__index *idx, const char *key, uint64_t hash)
{
    size_t mask = idx->triggers_cap - 1, i = hash & mask;
    while (idx->triggers[i] &&
           !(idx->triggers[i]->hash == hash && !strcmp(idx->triggers[i]->key, key)))
        i = (i + 1) & mask;
    return i;
}

static int grow(struct chime__index *idx)
{
    size_t ncap = idx->triggers_cap ? idx->triggers_cap * 2 : 16;
    struct chime__shared_trigger **slots = chime__calloc(ncap, sizeof(*slots));
    if (!slots)
        return CHIME_ENOMEM;
    for (size_t i = 0; i < idx->triggers_cap; i++) {
        struct chime__shared_trigger *r = idx->triggers[i];
        if (!r)
            continue;
        size_t j = r->hash & (ncap - 1);
        while (slots[j])
            j = (j + 1) & (ncap - 1);
        slots[j] = r;
    }
    chime__free(idx->triggers);
    idx->triggers = slots;
    idx->triggers_cap = ncap;
    return 0;
}

static struct chime__shared_trigger *record_new(struct chime_trigger *trigger, char *key,
                                                uint64_t hash)
{
    struct chime__shared_trigger *r = chime__malloc(sizeof(*r));
    if (!r)
        return NULL;
    r->trigger = chime_trigger_ref(trigger);
    r->key = key;
    r->hash = hash;
    r->uses = 1;
    return r;
}

int chime__index_trigger_get(struct chime__index *idx, struct chime_trigger *trigger,
                             const char *key, struct chime__shared_trigger **out)
{
    char *own = key ? chime__strdup(key) : trigger_key(trigger);
    if (!own)
        return CHIME_ENOMEM;
    if ((idx->n_triggers + 1) * 2 > idx->triggers_cap && grow(idx) < 0)
        goto out_nomem;
    uint64_t hash = key_hash(own);
    size_t i = find_slot(idx, own, hash);
    if (idx->triggers[i]) {
        chime__free(own);
        idx->triggers[i]->uses++;
        *out = idx->triggers[i];
        return 0;
    }
    if (!(idx->triggers[i] = record_new(trigger, own, hash)))
        goto out_nomem;
    idx->n_triggers++;
    *out = idx->triggers[i];
    return 0;
out_nomem:
    chime__free(own);
    return CHIME_ENOMEM;
}

/* Backward-shift deletion, as in the id map. */
static void slot_clear(struct chime__index *idx, size_t i)
{
    size_t mask = idx->triggers_cap - 1, j = i;
    idx->triggers[i] = NULL;
    for (;;) {
        j = (j + 1) & mask;
        if (!idx->triggers[j])
            return;
        size_t home = idx->triggers[j]->hash & mask;
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            idx->triggers[i] = idx->triggers[j];
            idx->triggers[j] = NULL;
            i = j;
        }
    }
}

static void record_free(struct chime__shared_trigger *r)
{
    chime_trigger_unref(r->trigger);
    chime__free(r->key);
    chime__free(r);
}

void chime__index_trigger_put(struct chime__index *idx, struct chime__shared_trigger *shared)
{
    if (!shared || --shared->uses > 0)
        return;
    slot_clear(idx, find_slot(idx, shared->key, shared->hash));
    idx->n_triggers--;
    record_free(shared);
}

void chime__index_triggers_release(struct chime__index *idx)
{
    for (size_t i = 0; i < idx->triggers_cap; i++) {
        if (idx->triggers[i])
            record_free(idx->triggers[i]);
    }
    chime__free(idx->triggers);
    idx->triggers = NULL;
    idx->triggers_cap = 0;
    idx->n_triggers = 0;
}
