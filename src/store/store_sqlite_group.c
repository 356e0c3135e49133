/*
 * Group commit of job adds in the SQLite store. One transaction per add
 * capped POST /schedule/jobs at the WAL's commit rate, and the store lock
 * was held through every commit, so a second HTTP thread could not even
 * parse its job meanwhile. An add now queues its prepared index entry; the
 * first adder that finds no write in flight becomes the leader: it takes
 * the whole queue, releases the lock, writes every row in ONE transaction,
 * relocks, and links the rows that were written into the index (a row
 * refused by the table, e.g. a duplicate id raced in by a concurrent add,
 * answers EEXIST). Adders wait until their own add is decided, so no add is
 * answered before its row is committed. While a group is written, every
 * other use of the connection waits (chime__sqlite_lock_db); index reads
 * (get, list, next_due) go on, and the group's jobs appear in them only
 * once committed.
 */
#include "base/base.h"
#include "store/store_sqlite.h"

struct chime__sqlite_add {
    struct chime__index_entry *entry;
    int rc;
    bool done;
    struct chime__sqlite_add *next;
};

void chime__sqlite_lock_db(struct sqlite_store *ss)
{
    pthread_mutex_lock(&ss->lock);
    chime__sqlite_wait_db(ss);
}

void chime__sqlite_wait_db(struct sqlite_store *ss)
{
    while (ss->writing)
        pthread_cond_wait(&ss->idle, &ss->lock);
}

/* Inserts one queued row inside the open transaction; its answer. */
static int write_row(struct sqlite_store *ss, struct chime__sqlite_add *a)
{
    sqlite3_stmt *st = ss->st[ST_INSERT_JOB];
    chime__sqlite_bind_entry(st, a->entry);
    int rc = chime__sqlite_exec_stmt(st);
    if (rc == SQLITE_OK)
        return 0;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return CHIME_EEXIST;
    chime__log(CHIME_LOG_ERROR, "sqlite store: writing a job: %s", sqlite3_errmsg(ss->db));
    return CHIME_ESTORE;
}

/* Writes the group in one transaction, without the store lock. */
static void write_group(struct sqlite_store *ss, struct chime__sqlite_add *group)
{
    if (chime__sqlite_exec_stmt(ss->st[ST_BEGIN]) != SQLITE_OK)
        goto out_fail;
    for (struct chime__sqlite_add *a = group; a; a = a->next)
        if (a->rc == 0)
            a->rc = write_row(ss, a);
    if (chime__sqlite_exec_stmt(ss->st[ST_COMMIT]) == SQLITE_OK)
        return;
out_fail:
    chime__log(CHIME_LOG_ERROR, "sqlite store: writing a group of jobs failed: %s",
               sqlite3_errmsg(ss->db));
    if (!sqlite3_get_autocommit(ss->db))
        chime__sqlite_exec_stmt(ss->st[ST_ROLLBACK]);
    for (struct chime__sqlite_add *a = group; a; a = a->next)
        a->rc = CHIME_ESTORE;
}

/* Room in the index for every add of the group, so linking cannot fail. */
static void reserve_group(struct sqlite_store *ss, struct chime__sqlite_add *group)
{
    size_t n = 0;
    for (struct chime__sqlite_add *a = group; a; a = a->next)
        n++;
    if (chime__index_reserve(&ss->idx, ss->idx.n + n) < 0)
        for (struct chime__sqlite_add *a = group; a; a = a->next)
            a->rc = CHIME_ENOMEM;
}

/* Leader: writes the whole queue as one group (lock held on entry and exit). */
static void lead_group(struct sqlite_store *ss)
{
    struct chime__sqlite_add *group = ss->adds;
    ss->adds = NULL;
    ss->adds_tail = &ss->adds;
    ss->writing = true;
    reserve_group(ss, group);
    pthread_mutex_unlock(&ss->lock);
    write_group(ss, group);
    pthread_mutex_lock(&ss->lock);
    for (struct chime__sqlite_add *a = group, *next; a; a = next) {
        next = a->next; /* a belongs to its adder once done is set */
        if (a->rc == 0)
            chime__index_commit_put(&ss->idx, a->entry, NULL);
        else
            chime__index_entry_free(&ss->idx, a->entry);
        a->done = true;
    }
    ss->writing = false;
    pthread_cond_broadcast(&ss->idle);
}

int chime__sqlite_add_grouped(struct sqlite_store *ss, struct chime__index_entry *entry)
{
    struct chime__sqlite_add *add = chime__calloc(1, sizeof(*add));
    if (!add) {
        chime__index_entry_free(&ss->idx, entry);
        return CHIME_ENOMEM;
    }
    add->entry = entry;
    *ss->adds_tail = add;
    ss->adds_tail = &add->next;
    while (!add->done) {
        if (ss->writing)
            pthread_cond_wait(&ss->idle, &ss->lock);
        else
            lead_group(ss);
    }
    int rc = add->rc;
    chime__free(add);
    return rc;
}
