/*
 * The in-memory job index shared by the memory and SQLite stores: a hash
 * map id -> entry (open addressing, linear probing, backward-shift delete)
 * and a min-heap by next run of the unpaused jobs that have one. An entry
 * keeps a job packed in one allocation (its strings side by side after the
 * fixed fields) to stay small at a million jobs; chime__index_entry_view()
 * lends it out as a struct chime_job. Not thread-safe: the store serializes.
 */
#ifndef CHIME_STORE_INDEX_H
#define CHIME_STORE_INDEX_H

#include "base/heap.h"
#include "job/job.h"
#include "store/store.h"

enum chime__index_str {
    CHIME_IDX_NAME,
    CHIME_IDX_FUNC,
    CHIME_IDX_ARGS,
    CHIME_IDX_KWARGS,
    CHIME_IDX_JOBSTORE,
    CHIME_IDX_N_STR,
};

/*
 * A trigger shared by every entry with the same (kind, normalized args): a
 * million jobs on one cron spec hold one trigger. key is "kind\x1fargs-json".
 */
struct chime__shared_trigger {
    struct chime_trigger *trigger; /* one reference */
    char *key;
    uint64_t hash;
    size_t uses; /* entries pointing here */
};

struct chime__index_entry {
    struct chime__shared_trigger *shared;
    char *broken; /* NULL, or owned text */
    chime_utime next_run;
    chime_utime created_at;
    chime_utime updated_at;
    int64_t version;
    int64_t grace_s;
    int32_t max_instances;
    int32_t n_running; /* RUNNING runs of this job */
    int32_t timeout_s; /* the run options (struct chime_job_policy) */
    int32_t retries;
    int32_t retry_backoff_s;
    int32_t retry_jitter_s;
    uint32_t heap_pos; /* CHIME_HEAP_NOPOS when not scheduled */
    uint32_t hash;
    uint32_t off[CHIME_IDX_N_STR]; /* offsets into strings[] */
    int8_t coalesce;
    int8_t overlap;
    bool paused;
    char strings[]; /* id, then the others at off[] */
};

struct chime__index {
    struct chime__index_entry **slots;
    size_t cap; /* power of two, or 0 */
    size_t n;
    struct chime_heap heap;
    struct chime__shared_trigger **triggers; /* open addressing by key */
    size_t triggers_cap;
    size_t n_triggers;
};

void chime__index_init(struct chime__index *idx);
/** Frees every entry and the tables. */
void chime__index_release(struct chime__index *idx);

/**
 * A packed copy of job, n_running 0, its trigger shared with every entry of idx
 * with the same key (trigger_key: "kind\x1fargs-json" when the caller has it,
 * else NULL to compute it). NULL on out of memory. The entry is not linked.
 */
struct chime__index_entry *chime__index_entry_new(struct chime__index *idx,
                                                  const struct chime_job *job,
                                                  const char *trigger_key);
/** Frees an entry (unlinked, or never linked) of idx. NULL is fine. */
void chime__index_entry_free(struct chime__index *idx, struct chime__index_entry *entry);
/** The trigger's normalized args text of an entry (borrowed). */
const char *chime__index_entry_trigger_args(const struct chime__index_entry *entry);
/** The entry as a job whose pointers borrow from it: never release *out. */
void chime__index_entry_view(const struct chime__index_entry *entry, struct chime_job *out);
/** A deep copy as a job (caller releases). 0 or CHIME_ENOMEM. */
int chime__index_entry_copy(const struct chime__index_entry *entry, struct chime_job *out);
/** True when the entry belongs in the heap. */
bool chime__index_entry_scheduled(const struct chime__index_entry *entry);

/**
 * The shared record for trigger (key: "kind\x1fargs-json", or NULL to compute
 * it), with one more use; a new record takes a reference to trigger.
 * 0 or CHIME_ENOMEM.
 */
int chime__index_trigger_get(struct chime__index *idx, struct chime_trigger *trigger,
                             const char *key, struct chime__shared_trigger **out);
/** Drops one use; the last one frees the record and its trigger reference. */
void chime__index_trigger_put(struct chime__index *idx, struct chime__shared_trigger *shared);
/** Frees every record (at index release). */
void chime__index_triggers_release(struct chime__index *idx);

/** The entry with this id, or NULL. */
struct chime__index_entry *chime__index_find(const struct chime__index *idx, const char *id);
/** Makes room for n entries in total so that link cannot fail. 0 or CHIME_ENOMEM. */
int chime__index_reserve(struct chime__index *idx, size_t n);
/** Adds an entry whose id is not indexed yet (reserve first, then it cannot fail). */
void chime__index_link(struct chime__index *idx, struct chime__index_entry *entry);
/** Reserves and links. 0 or CHIME_ENOMEM (nothing changed). */
int chime__index_insert(struct chime__index *idx, struct chime__index_entry *entry);
/** Takes the entry out of the map and heap (the caller frees it). */
void chime__index_unlink(struct chime__index *idx, struct chime__index_entry *entry);
/** Puts repl in old's place (repl inherits n_running; old is freed). */
void chime__index_replace(struct chime__index *idx, struct chime__index_entry *old,
                          struct chime__index_entry *repl);
/** Changes the next run, moving the entry in or out of the heap. Cannot fail. */
void chime__index_set_next_run(struct chime__index *idx, struct chime__index_entry *entry,
                               chime_utime next_run);
/** The scheduled entry with the earliest next run, or NULL. */
struct chime__index_entry *chime__index_first(const struct chime__index *idx);

enum chime__put_mode {
    CHIME__PUT_ADD,     /* CHIME_EEXIST when the id is indexed */
    CHIME__PUT_REPLACE, /* add, or replace the indexed job */
    CHIME__PUT_UPDATE,  /* CHIME_ENOENT unless the id is indexed */
};
/**
 * First half of a change: checks the id against mode, builds the new entry
 * (version: the old one's + 1 on replace, else job's or 1) and reserves room,
 * so that chime__index_commit_put() cannot fail. *out_old is the entry to
 * replace or NULL. 0, CHIME_EINVAL (no id/trigger), EEXIST, ENOENT, ENOMEM.
 */
int chime__index_prepare_put(struct chime__index *idx, const struct chime_job *job,
                             enum chime__put_mode mode, struct chime__index_entry **out_new,
                             struct chime__index_entry **out_old);
/** Second half: links repl in old's place (old freed) or as a new entry. */
void chime__index_commit_put(struct chime__index *idx, struct chime__index_entry *repl,
                             struct chime__index_entry *old);

/** Visits jobs in (next_run, id) order, NONE last, from the page's cursor. */
int chime__index_list(const struct chime__index *idx, const struct chime_job_page *page,
                      chime_job_visit_fn visit, void *ctx);

/*
 * A sorted set of RUNNING run ids (so a run is finished at most once). Ids are
 * claimed in increasing order, so adding is an append; a removed id leaves a
 * tombstone (its negation) and the array is compacted once half of it is
 * tombstones, so removing is O(log n) amortized even with 100,000 runs in
 * flight (a memmove per removal was 90% of a burst's instructions).
 */
struct chime__run_set {
    int64_t *ids; /* ids[0..n_slots), ascending by absolute value; negative = removed */
    size_t n;     /* ids in the set */
    size_t cap;
    size_t n_slots; /* slots used, tombstones included */
};
void chime__run_set_release(struct chime__run_set *set);
/** Makes room for n ids in total so that adding cannot fail. 0 or CHIME_ENOMEM. */
int chime__run_set_reserve(struct chime__run_set *set, size_t n);
/** Adds id (reserve first: cannot fail then). */
void chime__run_set_add(struct chime__run_set *set, int64_t id);
/** Removes id; false when it was not there. */
bool chime__run_set_remove(struct chime__run_set *set, int64_t id);

/* Claim helpers shared by the index-backed stores. */
/** Makes room for n more claims in the batch. 0 or CHIME_ENOMEM. */
int chime__claim_batch_reserve(struct chime_claim_batch *batch, size_t n);
/**
 * Fills claim (job copy with next_run = plan_next, run record for fire) without
 * touching the batch count; run id left 0. 0 or CHIME_ENOMEM (claim released).
 */
int chime__claim_fill(struct chime_claim *claim, const struct chime_job *job, chime_utime plan_next,
                      const struct chime_fire *fire, const struct chime_claim_request *req,
                      enum chime_run_cause cause);

/**
 * Builds the claims of a planned job at the batch's tail without counting them
 * (the store assigns run ids and then adds plan->n_fires to n_claims). 0 or
 * CHIME_ENOMEM (nothing left behind).
 */
int chime__claim_prepare(struct chime_claim_batch *batch, const struct chime_job *job,
                         const struct chime_fire_plan *plan, const struct chime_claim_request *req,
                         enum chime_run_cause cause);
/** Releases the n claims chime__claim_prepare built at the batch tail. */
void chime__claim_prepare_undo(struct chime_claim_batch *batch, size_t n);

#endif /* CHIME_STORE_INDEX_H */
