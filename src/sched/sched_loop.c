/*
 * The scheduler loop, Redis-ae short: claim and dispatch what is due, ask
 * the store for the next due time, sleep until then or until woken (an API
 * change, a clock move, stop), repeat. The sleep is a condition-variable
 * wait on CLOCK_MONOTONIC computed from the injected clock's "now" and
 * capped by max_wait_ms, so a store changed by other nodes is re-polled.
 */
#include <sys/prctl.h>
#include <time.h>

#include "base/base.h"
#include "sched/sched_internal.h"

static bool is_stopping(struct chime_sched *sched)
{
    pthread_mutex_lock(&sched->mu);
    bool stopping = sched->stopping;
    pthread_mutex_unlock(&sched->mu);
    return stopping;
}

/* One claim_due call; *out_n = claims it returned. */
static int claim_once(struct chime_sched *sched, size_t *out_n)
{
    struct chime_claim_batch batch = { 0 };
    struct chime_claim_request req = {
        .now = chime_clock_now(sched->clock),
        .limit = sched->config.claim_batch,
        .node = sched->config.node,
        .store_clock = sched->clock == chime_clock_system(),
    };
    int rc = sched->store->ops->claim_due(sched->store, &req, &batch);
    if (sched->store->ops->claim_retries) {
        size_t n_due = batch.n_claims;
        int rrc = sched->store->ops->claim_retries(sched->store, &req, &batch);
        if (rrc < 0)
            chime__log(CHIME_LOG_ERROR, "claiming due retries failed: %s", chime_strerror(rrc));
        if (batch.n_claims > n_due)
            rc = 0;
    }
    *out_n = batch.n_claims;
    if (rc < 0)
        chime__log(CHIME_LOG_ERROR, "claiming due jobs failed: %s", chime_strerror(rc));
    chime__sched_dispatch(sched, &batch);
    chime_claim_batch_release(&batch);
    return rc;
}

int chime_sched_run_due(struct chime_sched *sched, size_t *out_n_claims)
{
    size_t total = 0, n = 0;
    int rc = 0;
    do {
        if (is_stopping(sched)) {
            rc = CHIME_ESHUTDOWN;
            break;
        }
        rc = claim_once(sched, &n);
        total += n;
    } while (rc == 0 && n >= sched->config.claim_batch); /* a full batch: more may be due */
    if (out_n_claims)
        *out_n_claims = total;
    return rc;
}

void chime__sched_wake_if_before(struct chime_sched *sched, chime_utime t)
{
    if (t == CHIME_UTIME_NONE)
        return;
    pthread_mutex_lock(&sched->mu);
    if (t < sched->waiting_until) {
        sched->wake_pending = true;
        pthread_cond_signal(&sched->wake_cv);
    }
    pthread_mutex_unlock(&sched->mu);
}

void chime_sched_wake(struct chime_sched *sched)
{
    pthread_mutex_lock(&sched->mu);
    sched->wake_pending = true;
    pthread_cond_signal(&sched->wake_cv);
    pthread_mutex_unlock(&sched->mu);
}

/* Sleeps (locked) until due by the injected clock, a wake-up, or max_wait. */
static void wait_until(struct chime_sched *sched, chime_utime due)
{
    chime_utime now = chime_clock_now(sched->clock);
    if (due <= now)
        return;
    int64_t delay_us = sched->config.max_wait_ms * 1000;
    if (due - now < delay_us)
        delay_us = due - now;
    sched->waiting_until = due;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + (delay_us % 1000000) * 1000;
    ts.tv_sec += (time_t)(delay_us / 1000000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_cond_timedwait(&sched->wake_cv, &sched->mu, &ts);
    sched->waiting_until = INT64_MAX;
}

static chime_utime next_due_or_max(struct chime_sched *sched)
{
    chime_utime due, retry;
    int rc = sched->store->ops->next_due(sched->store, &due);
    if (rc == CHIME_ENOENT)
        due = INT64_MAX;
    else if (rc < 0) {
        chime__log(CHIME_LOG_ERROR, "reading the next due time failed: %s", chime_strerror(rc));
        due = INT64_MAX; /* retried after max_wait_ms */
    }
    if (sched->store->ops->next_retry && sched->store->ops->next_retry(sched->store, &retry) == 0 &&
        retry < due)
        due = retry;
    return due;
}

/* After a failed claim (disk full, read-only file, database down) the loop
 * retries after 50 ms, doubling up to max_wait_ms, instead of spinning on a
 * due job it cannot claim; the first success resets it. *backoff_us 0 = none. */
static chime_utime retry_due(struct chime_sched *sched, int rc, int64_t *backoff_us)
{
    atomic_store(&sched->store_error, rc < 0 && rc != CHIME_ESHUTDOWN ? rc : 0);
    if (rc >= 0 || rc == CHIME_ESHUTDOWN) {
        *backoff_us = 0;
        return INT64_MAX;
    }
    int64_t cap = sched->config.max_wait_ms * 1000;
    *backoff_us = *backoff_us ? *backoff_us * 2 : 50000;
    if (*backoff_us > cap)
        *backoff_us = cap;
    return chime_clock_now(sched->clock) + *backoff_us;
}

/* The claims' outcome, or while a store write has failed (an API write or an
 * earlier claim) and this pass wrote nothing that proves the store healed, the
 * store's write probe's: readiness stays false until writes work again. */
static int run_due_or_probe(struct chime_sched *sched)
{
    size_t n = 0;
    int rc = chime_sched_run_due(sched, &n);
    if (rc == 0 && n == 0 && atomic_load(&sched->store_error) && sched->store->ops->probe_write)
        rc = sched->store->ops->probe_write(sched->store);
    return rc;
}

void *chime__sched_loop_main(void *arg)
{
    struct chime_sched *sched = arg;
    int64_t backoff_us = 0;
    /* Linux lets a timed wait oversleep by the thread's timer slack (50 us by
     * default); the loop's wake-ups are the runs' start times, so ask for 1 us. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    for (;;) {
        chime_utime retry = retry_due(sched, run_due_or_probe(sched), &backoff_us);
        chime_utime due = retry != INT64_MAX ? retry : next_due_or_max(sched);
        pthread_mutex_lock(&sched->mu);
        if (!sched->stopping && !sched->wake_pending)
            wait_until(sched, due);
        sched->wake_pending = false;
        bool stopping = sched->stopping;
        pthread_mutex_unlock(&sched->mu);
        if (stopping)
            break;
    }
    return NULL;
}
