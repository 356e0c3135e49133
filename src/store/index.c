/*
 * The in-memory job index (see index.h): packed entries, an open-addressing
 * hash map by id and a heap by next run; plus the small helpers the
 * index-backed stores share (running-run set, claim construction).
 */
#include "store/index.h"

#include <stdlib.h>
#include <string.h>

#include "base/base.h"

/* FNV-1a: ids are short; good enough spread for linear probing. */
static uint32_t id_hash(const char *id)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static void entry_moved(void *item, uint32_t pos)
{
    ((struct chime__index_entry *)item)->heap_pos = pos;
}

void chime__index_init(struct chime__index *idx)
{
    idx->slots = NULL;
    idx->cap = 0;
    idx->n = 0;
    idx->triggers = NULL;
    idx->triggers_cap = 0;
    idx->n_triggers = 0;
    chime__heap_init(&idx->heap, entry_moved);
}

void chime__index_release(struct chime__index *idx)
{
    for (size_t i = 0; i < idx->cap; i++)
        chime__index_entry_free(idx, idx->slots[i]);
    chime__free(idx->slots);
    chime__heap_release(&idx->heap);
    chime__index_triggers_release(idx);
    chime__index_init(idx);
}

static const char *job_str(const struct chime_job *job, int which)
{
    const char *s[CHIME_IDX_N_STR] = { job->name, job->func, job->args, job->kwargs,
                                       job->jobstore };
    const char *empty[CHIME_IDX_N_STR] = { "", "", "[]", "{}", "default" };
    return s[which] ? s[which] : empty[which];
}

static struct chime__index_entry *entry_pack(const struct chime_job *job);

static void entry_fill_fields(struct chime__index_entry *e, const struct chime_job *job)
{
    e->next_run = job->paused ? CHIME_UTIME_NONE : job->next_run;
    e->created_at = job->created_at;
    e->updated_at = job->updated_at;
    e->version = job->version;
    e->grace_s = job->policy.grace_s;
    e->max_instances = job->policy.max_instances;
    e->coalesce = (int8_t)job->policy.coalesce;
    e->timeout_s = job->policy.timeout_s;
    e->retries = job->policy.retries;
    e->retry_backoff_s = job->policy.retry_backoff_s;
    e->retry_jitter_s = job->policy.retry_jitter_s;
    e->overlap = (int8_t)job->policy.overlap;
    e->paused = job->paused;
    e->n_running = 0;
    e->heap_pos = CHIME_HEAP_NOPOS;
    e->hash = id_hash(job->id);
}

struct chime__index_entry *chime__index_entry_new(struct chime__index *idx,
                                                  const struct chime_job *job,
                                                  const char *trigger_key)
{
    struct chime__shared_trigger *shared;
    if (chime__index_trigger_get(idx, job->trigger, trigger_key, &shared) < 0)
        return NULL;
    struct chime__index_entry *e = entry_pack(job);
    if (!e) {
        chime__index_trigger_put(idx, shared);
        return NULL;
    }
    e->shared = shared;
    return e;
}

const char *chime__index_entry_trigger_args(const struct chime__index_entry *entry)
{
    return strchr(entry->shared->key, '\x1f') + 1;
}

static struct chime__index_entry *entry_pack(const struct chime_job *job)
{
    size_t len[CHIME_IDX_N_STR];
    size_t id_len = strlen(job->id) + 1, total = id_len;
    for (int i = 0; i < CHIME_IDX_N_STR; i++) {
        len[i] = strlen(job_str(job, i)) + 1;
        total += len[i];
    }
    if (total > UINT32_MAX)
        return NULL;
    struct chime__index_entry *e = chime__malloc(sizeof(*e) + total);
    if (!e)
        return NULL;
    e->broken = NULL;
    if (job->broken && !(e->broken = chime__strdup(job->broken))) {
        chime__free(e);
        return NULL;
    }
    memcpy(e->strings, job->id, id_len);
    size_t at = id_len;
    for (int i = 0; i < CHIME_IDX_N_STR; i++) {
        e->off[i] = (uint32_t)at;
        memcpy(e->strings + at, job_str(job, i), len[i]);
        at += len[i];
    }
    entry_fill_fields(e, job);
    return e;
}

void chime__index_entry_free(struct chime__index *idx, struct chime__index_entry *entry)
{
    if (!entry)
        return;
    chime__index_trigger_put(idx, entry->shared);
    chime__free(entry->broken);
    chime__free(entry);
}

void chime__index_entry_view(const struct chime__index_entry *e, struct chime_job *out)
{
    char *s = (char *)e->strings; /* borrowed: the view is never released */
    out->id = s;
    out->name = s + e->off[CHIME_IDX_NAME];
    out->func = s + e->off[CHIME_IDX_FUNC];
    out->args = s + e->off[CHIME_IDX_ARGS];
    out->kwargs = s + e->off[CHIME_IDX_KWARGS];
    out->jobstore = s + e->off[CHIME_IDX_JOBSTORE];
    out->trigger = e->shared->trigger;
    out->policy.coalesce = e->coalesce;
    out->policy.grace_s = e->grace_s;
    out->policy.max_instances = e->max_instances;
    out->policy.timeout_s = e->timeout_s;
    out->policy.retries = e->retries;
    out->policy.retry_backoff_s = e->retry_backoff_s;
    out->policy.retry_jitter_s = e->retry_jitter_s;
    out->policy.overlap = e->overlap;
    out->next_run = e->next_run;
    out->paused = e->paused;
    out->broken = e->broken;
    out->version = e->version;
    out->created_at = e->created_at;
    out->updated_at = e->updated_at;
}

int chime__index_entry_copy(const struct chime__index_entry *entry, struct chime_job *out)
{
    struct chime_job view;
    chime__index_entry_view(entry, &view);
    return chime_job_copy(out, &view);
}

bool chime__index_entry_scheduled(const struct chime__index_entry *entry)
{
    return !entry->paused && entry->next_run != CHIME_UTIME_NONE;
}

static size_t slot_of(const struct chime__index *idx, const char *id, uint32_t hash)
{
    size_t mask = idx->cap - 1, i = hash & mask;
    while (idx->slots[i] && !(idx->slots[i]->hash == hash && !strcmp(idx->slots[i]->strings, id)))
        i = (i + 1) & mask;
    return i;
}

struct chime__index_entry *chime__index_find(const struct chime__index *idx, const char *id)
{
    if (!idx->cap)
        return NULL;
    return idx->slots[slot_of(idx, id, id_hash(id))];
}

static int rehash(struct chime__index *idx, size_t ncap)
{
    struct chime__index_entry **old = idx->slots;
    size_t ocap = idx->cap;
    idx->slots = chime__calloc(ncap, sizeof(*idx->slots));
    if (!idx->slots) {
        idx->slots = old;
        return CHIME_ENOMEM;
    }
    idx->cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i])
            continue;
        size_t j = old[i]->hash & (ncap - 1);
        while (idx->slots[j])
            j = (j + 1) & (ncap - 1);
        idx->slots[j] = old[i];
    }
    chime__free(old);
    return 0;
}

int chime__index_reserve(struct chime__index *idx, size_t n)
{
    size_t ncap = idx->cap ? idx->cap : 16;
    while (ncap / 4 * 3 < n)
        ncap *= 2;
    if (ncap != idx->cap) {
        int rc = rehash(idx, ncap);
        if (rc < 0)
            return rc;
    }
    return chime__heap_reserve(&idx->heap, n);
}

void chime__index_link(struct chime__index *idx, struct chime__index_entry *entry)
{
    /* The id is known to be absent: the first empty slot is its place (no entry
     * is touched on the way, which matters when loading a million). */
    size_t mask = idx->cap - 1, i = entry->hash & mask;
    while (idx->slots[i])
        i = (i + 1) & mask;
    idx->slots[i] = entry;
    idx->n++;
    entry->heap_pos = CHIME_HEAP_NOPOS;
    if (chime__index_entry_scheduled(entry))
        (void)chime__heap_push(&idx->heap, entry->next_run, entry); /* reserved */
}

int chime__index_insert(struct chime__index *idx, struct chime__index_entry *entry)
{
    int rc = chime__index_reserve(idx, idx->n + 1);
    if (rc < 0)
        return rc;
    chime__index_link(idx, entry);
    return 0;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void slot_clear(struct chime__index *idx, size_t i)
{
    size_t mask = idx->cap - 1, j = i;
    idx->slots[i] = NULL;
    for (;;) {
        j = (j + 1) & mask;
        if (!idx->slots[j])
            return;
        size_t home = idx->slots[j]->hash & mask;
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            idx->slots[i] = idx->slots[j];
            idx->slots[j] = NULL;
            i = j;
        }
    }
}

void chime__index_unlink(struct chime__index *idx, struct chime__index_entry *entry)
{
    if (entry->heap_pos != CHIME_HEAP_NOPOS)
        chime__heap_remove(&idx->heap, entry->heap_pos);
    slot_clear(idx, slot_of(idx, entry->strings, entry->hash));
    idx->n--;
}

void chime__index_replace(struct chime__index *idx, struct chime__index_entry *old,
                          struct chime__index_entry *repl)
{
    repl->n_running = old->n_running;
    chime__index_unlink(idx, old);
    chime__index_link(idx, repl); /* the slot just freed guarantees room */
    chime__index_entry_free(idx, old);
}

void chime__index_set_next_run(struct chime__index *idx, struct chime__index_entry *entry,
                               chime_utime next_run)
{
    entry->next_run = next_run;
    bool want = chime__index_entry_scheduled(entry);
    if (entry->heap_pos != CHIME_HEAP_NOPOS) {
        if (want)
            chime__heap_update(&idx->heap, entry->heap_pos, next_run);
        else
            chime__heap_remove(&idx->heap, entry->heap_pos);
    } else if (want) {
        (void)chime__heap_push(&idx->heap, next_run, entry); /* heap cap >= n */
    }
}

struct chime__index_entry *chime__index_first(const struct chime__index *idx)
{
    const struct chime_heap_node *top = chime__heap_peek(&idx->heap);
    return top ? top->item : NULL;
}

/* Sort key: NONE sorts after every time. */
static int cmp_key(chime_utime a_run, const char *a_id, chime_utime b_run, const char *b_id)
{
    bool an = a_run == CHIME_UTIME_NONE, bn = b_run == CHIME_UTIME_NONE;
    if (an != bn)
        return an ? 1 : -1;
    if (a_run != b_run)
        return a_run < b_run ? -1 : 1;
    return strcmp(a_id, b_id);
}

static int cmp_entries(const void *a, const void *b)
{
    const struct chime__index_entry *x = *(const struct chime__index_entry *const *)a;
    const struct chime__index_entry *y = *(const struct chime__index_entry *const *)b;
    return cmp_key(x->next_run, x->strings, y->next_run, y->strings);
}

static bool after_cursor(const struct chime__index_entry *e, const struct chime_job_page *page)
{
    if (!page || !page->has_after)
        return true;
    return cmp_key(e->next_run, e->strings, page->after_next_run,
                   page->after_id ? page->after_id : "") > 0;
}

static int cmp_entry(const struct chime__index_entry *x, const struct chime__index_entry *y)
{
    return cmp_key(x->next_run, x->strings, y->next_run, y->strings);
}

/* Restores the max-heap property of the bounded selection from the root. */
static void sel_sift_down(struct chime__index_entry **sel, size_t n)
{
    size_t pos = 0;
    for (;;) {
        size_t c = 2 * pos + 1;
        if (c >= n)
            return;
        if (c + 1 < n && cmp_entry(sel[c + 1], sel[c]) > 0)
            c++;
        if (cmp_entry(sel[c], sel[pos]) <= 0)
            return;
        struct chime__index_entry *t = sel[c];
        sel[c] = sel[pos];
        sel[pos] = t;
        pos = c;
    }
}

static void sel_sift_up(struct chime__index_entry **sel, size_t pos)
{
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (cmp_entry(sel[pos], sel[parent]) <= 0)
            return;
        struct chime__index_entry *t = sel[parent];
        sel[parent] = sel[pos];
        sel[pos] = t;
        pos = parent;
    }
}

/*
 * The first `limit` entries after the cursor, in order: a bounded max-heap
 * keeps the smallest seen so far, so a page of 100 out of a million jobs
 * costs one pass, not a full sort.
 */
static size_t select_page(const struct chime__index *idx, const struct chime_job_page *page,
                          size_t limit, struct chime__index_entry **sel)
{
    size_t n = 0;
    for (size_t i = 0; i < idx->cap; i++) {
        struct chime__index_entry *e = idx->slots[i];
        if (!e || !after_cursor(e, page))
            continue;
        if (n < limit) {
            sel[n] = e;
            sel_sift_up(sel, n++);
        } else if (cmp_entry(e, sel[0]) < 0) {
            sel[0] = e;
            sel_sift_down(sel, n);
        }
    }
    qsort(sel, n, sizeof(*sel), cmp_entries);
    return n;
}

int chime__index_list(const struct chime__index *idx, const struct chime_job_page *page,
                      chime_job_visit_fn visit, void *ctx)
{
    size_t limit = page && page->limit && page->limit < idx->n ? page->limit : idx->n;
    struct chime__index_entry **sel = chime__malloc((limit ? limit : 1) * sizeof(*sel));
    if (!sel)
        return CHIME_ENOMEM;
    size_t n = select_page(idx, page, limit, sel);
    for (size_t i = 0; i < n; i++) {
        struct chime_job view;
        chime__index_entry_view(sel[i], &view);
        if (visit(&view, ctx))
            break;
    }
    chime__free(sel);
    return 0;
}

void chime__run_set_release(struct chime__run_set *set)
{
    chime__free(set->ids);
    set->ids = NULL;
    set->n = set->cap = set->n_slots = 0;
}

/* Drops the tombstones (O(n), at most once per n/2 removals). */
static void run_set_compact(struct chime__run_set *set)
{
    size_t k = 0;
    for (size_t i = 0; i < set->n_slots; i++)
        if (set->ids[i] > 0)
            set->ids[k++] = set->ids[i];
    set->n_slots = k;
}

int chime__run_set_reserve(struct chime__run_set *set, size_t n)
{
    size_t extra = n > set->n ? n - set->n : 0;
    if (set->n_slots + extra > set->cap && set->n_slots > set->n)
        run_set_compact(set);
    return chime__grow((void **)&set->ids, &set->cap, set->n_slots + extra, sizeof(*set->ids));
}

static int64_t run_id_abs(int64_t id)
{
    return id < 0 ? -id : id;
}

/* The first slot whose id (in the set or removed) is >= id. */
static size_t run_set_lower(const struct chime__run_set *set, int64_t id)
{
    size_t lo = 0, hi = set->n_slots;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (run_id_abs(set->ids[mid]) < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void chime__run_set_add(struct chime__run_set *set, int64_t id)
{
    set->n++;
    if (set->n_slots == 0 || run_id_abs(set->ids[set->n_slots - 1]) < id) {
        set->ids[set->n_slots++] = id; /* the common case: a newer run */
        return;
    }
    size_t at = run_set_lower(set, id);
    if (at < set->n_slots && set->ids[at] == -id) {
        set->ids[at] = id; /* back in the slot it left */
        return;
    }
    memmove(set->ids + at + 1, set->ids + at, (set->n_slots - at) * sizeof(*set->ids));
    set->ids[at] = id;
    set->n_slots++;
}

bool chime__run_set_remove(struct chime__run_set *set, int64_t id)
{
    size_t at = run_set_lower(set, id);
    if (id <= 0 || at == set->n_slots || set->ids[at] != id)
        return false;
    set->ids[at] = -id;
    set->n--;
    if ((set->n_slots - set->n) * 2 > set->n_slots)
        run_set_compact(set);
    return true;
}

int chime__claim_batch_reserve(struct chime_claim_batch *batch, size_t n)
{
    return chime__grow((void **)&batch->claims, &batch->cap, batch->n_claims + n,
                       sizeof(*batch->claims));
}

int chime__claim_fill(struct chime_claim *claim, const struct chime_job *job, chime_utime plan_next,
                      const struct chime_fire *fire, const struct chime_claim_request *req,
                      enum chime_run_cause cause)
{
    struct chime_run *run = &claim->run;
    chime_job_init(&claim->job);
    chime_run_init(run);
    run->scheduled = fire->scheduled;
    run->status = fire->status;
    run->cause = cause;
    run->attempt = 1;
    if (fire->status == CHIME_RUN_RUNNING)
        run->started = req->now;
    else
        run->finished = req->now;
    if (chime_job_copy(&claim->job, job) < 0)
        goto out_fail;
    claim->job.next_run = plan_next;
    run->job_id = chime__strdup(job->id);
    run->node = chime__strdup(req->node);
    run->error = chime__strdup(fire->reason);
    if (!run->job_id || (req->node && !run->node) || (fire->reason && !run->error))
        goto out_fail;
    return 0;
out_fail:
    chime_job_release(&claim->job);
    chime_run_release(run);
    return CHIME_ENOMEM;
}

int chime__claim_prepare(struct chime_claim_batch *batch, const struct chime_job *job,
                         const struct chime_fire_plan *plan, const struct chime_claim_request *req,
                         enum chime_run_cause cause)
{
    if (plan->n_fires == 0)
        return 0; /* nothing to record (every fire queued, overlap queue) */
    int rc = chime__claim_batch_reserve(batch, plan->n_fires);
    if (rc < 0)
        return rc;
    struct chime_claim *tail = batch->claims + batch->n_claims;
    for (size_t i = 0; i < plan->n_fires; i++) {
        rc = chime__claim_fill(&tail[i], job, plan->next_run, &plan->fires[i], req, cause);
        if (rc < 0) {
            while (i-- > 0) {
                chime_job_release(&tail[i].job);
                chime_run_release(&tail[i].run);
            }
            return rc;
        }
    }
    return 0;
}

int chime__index_prepare_put(struct chime__index *idx, const struct chime_job *job,
                             enum chime__put_mode mode, struct chime__index_entry **out_new,
                             struct chime__index_entry **out_old)
{
    *out_new = *out_old = NULL;
    if (!job->id || !*job->id || !job->trigger)
        return CHIME_EINVAL;
    struct chime__index_entry *old = chime__index_find(idx, job->id);
    if (old && mode == CHIME__PUT_ADD)
        return CHIME_EEXIST;
    if (!old && mode == CHIME__PUT_UPDATE)
        return CHIME_ENOENT;
    int rc = chime__index_reserve(idx, idx->n + 1);
    if (rc < 0)
        return rc;
    struct chime__index_entry *e = chime__index_entry_new(idx, job, NULL);
    if (!e)
        return CHIME_ENOMEM;
    if (old)
        e->version = old->version + 1;
    else if (e->version <= 0)
        e->version = 1;
    *out_new = e;
    *out_old = old;
    return 0;
}

void chime__index_commit_put(struct chime__index *idx, struct chime__index_entry *repl,
                             struct chime__index_entry *old)
{
    if (old)
        chime__index_replace(idx, old, repl);
    else
        chime__index_link(idx, repl);
}

void chime__claim_prepare_undo(struct chime_claim_batch *batch, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        chime_job_release(&batch->claims[batch->n_claims + i].job);
        chime_run_release(&batch->claims[batch->n_claims + i].run);
    }
}
